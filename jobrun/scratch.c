/* scratch.c - per-job scratch directories. */
#define _GNU_SOURCE
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jr_scratch_create(int base_fd, const char *id, unsigned slot, uid_t uid, gid_t gid,
		      char *name, size_t nsz, struct jr_err *err)
{
	struct stat st;
	int fd;

	snprintf(name, nsz, "jobrun-%s-%u", id, slot);
	if (fstatat(base_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    jr_scratch_remove(base_fd, name, err) < 0) /* a dead jobrun's */
		return -err->code;
	if (mkdirat(base_fd, name, 0700) < 0)
		return jr_err_set(err, errno, "create scratch directory %s", name);
	fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0) {
		jr_err_set(err, errno, "set up scratch directory %s", name);
		if (fd >= 0)
			close(fd);
		unlinkat(base_fd, name, AT_REMOVEDIR);
		return -err->code;
	}
	return fd;
}

/* Past this depth a subdirectory is not entered (each level holds an fd) but moved up into the
 * top directory, and emptied from there on a later pass: a job can nest directories deeper than
 * any fd limit, and its data must not outlive it. */
#define MAX_DEPTH 64

static int hoist(int from, const char *name, int top, unsigned *moved)
{
	static unsigned seq;
	char tmp[32];
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		snprintf(tmp, sizeof(tmp), ".jobrun-deep-%u", seq++);
		if (renameat2(from, name, top, tmp, RENAME_NOREPLACE) == 0) {
			(*moved)++;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Empty the directory open at dfd (consumed); top is the scratch directory itself. */
static int empty_dir(int dfd, int top, int depth, unsigned *moved)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	int r = 0;

	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((e = readdir(d))) {
		int sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = -errno;
			continue;
		}
		if (depth >= MAX_DEPTH) {
			int h = hoist(dirfd(d), e->d_name, top, moved);

			if (h < 0)
				r = h;
			continue;
		}
		sub = openat(dirfd(d), e->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (sub < 0) {
			r = -errno;
			continue;
		}
		if (empty_dir(sub, top, depth + 1, moved) < 0)
			r = -EIO;
		if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

int jr_scratch_remove(int base_fd, const char *name, struct jr_err *err)
{
	unsigned moved = 0, before;
	int fd, sub, r;

	fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : jr_err_set(err, errno, "open scratch %s", name);
	do { /* again while deep directories were moved up */
		before = moved;
		sub = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = sub < 0 ? -errno : empty_dir(sub, fd, 0, &moved);
	} while (moved != before && sub >= 0);
	close(fd);
	if (r < 0)
		return jr_err_set(err, -r, "empty scratch %s", name);
	if (unlinkat(base_fd, name, AT_REMOVEDIR) < 0)
		return jr_err_set(err, errno, "remove scratch %s", name);
	return 0;
}
