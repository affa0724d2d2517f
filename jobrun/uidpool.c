/* uidpool.c - lease job uids with flock. */
#define _GNU_SOURCE
#include "uidpool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* A quarantine marker names what the slot's last job left behind; once that is gone, the
 * marker goes too and the slot is usable again. */
static int quarantined(int dirfd, unsigned slot)
{
	char name[32], path[4096];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%u.dirty", slot);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	n = read(fd, path, sizeof(path) - 1);
	close(fd);
	if (n > 0) {
		path[n] = '\0';
		if (access(path, F_OK) == 0)
			return 1;
	}
	unlinkat(dirfd, name, 0);
	return 0;
}

void jr_uid_quarantine(const char *runtime_dir, const struct jr_uid_lease *lease,
		       const char *leftover)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/uids/%u.dirty", runtime_dir, lease->slot);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (write(fd, leftover, strlen(leftover)) < 0) {
		/* nothing better to do: the slot stays usable */
	}
	close(fd);
}

int jr_uid_acquire(const char *runtime_dir, uid_t base, unsigned count,
		   struct jr_uid_lease *lease, struct jr_err *err)
{
	char path[4096];
	unsigned i, start = 0, slot;
	int dirfd, fd;

	lease->fd = -1;
	if (!count || (uint64_t)base + 2ULL * count > (uid_t)-1)
		return jr_err_set(err, 0, "uid range %u+2*%u does not fit", (unsigned)base, count);
	snprintf(path, sizeof(path), "%s/uids", runtime_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "create %s", path);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return jr_err_set(err, errno, "open %s", path);
	/* Start at a random slot so concurrent jobrun processes rarely contend. */
	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (unsigned)getpid();
	for (i = 0; i < count; i++) {
		char name[16];

		slot = (start + i) % count;
		snprintf(name, sizeof(name), "%u", slot);
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			int e = errno;

			close(dirfd);
			return jr_err_set(err, e, "open uid lock %s/%s", path, name);
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && !quarantined(dirfd, slot)) {
			close(dirfd);
			lease->fd = fd;
			lease->slot = slot;
			lease->uid = base + slot;
			lease->init_uid = base + count + slot;
			return 0;
		}
		close(fd);
	}
	close(dirfd);
	return jr_err_set(err, EAGAIN, "all %u job uids from %u are in use", count,
			  (unsigned)base);
}

void jr_uid_release(struct jr_uid_lease *lease)
{
	if (lease->fd >= 0)
		close(lease->fd);
	lease->fd = -1;
}
