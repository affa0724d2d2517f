/* collect.c - output files, read beneath the workspace without following anything. */
#define _GNU_SOURCE
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | \
			RESOLVE_NO_XDEV)

static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = { .flags = (uint64_t)flags, .mode = mode,
				.resolve = RESOLVE_STRICT };

	return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

/* Create the parent directories of rel beneath dest; returns an fd of the parent. */
static int make_parents(int dest, const char *rel, const char **base)
{
	char buf[4096], *p, *slash;
	int fd = dup(dest);

	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%s", rel);
	p = buf;
	while ((slash = strchr(p, '/'))) {
		int next;

		*slash = '\0';
		if (*p && mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
			int e = errno;

			close(fd);
			return -e;
		}
		next = *p ? open_beneath(fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) : dup(fd);
		close(fd);
		if (next < 0)
			return -errno;
		fd = next;
		p = slash + 1;
	}
	*base = rel + (p - buf);
	return fd;
}

static int copy_fd(int in, int outfd, uint64_t cap, struct jr_output *o)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (o->bytes + (uint64_t)n > cap) {
			n = (ssize_t)(cap - o->bytes);
			o->truncated = true;
		}
		if (n > 0 && write(outfd, buf, (size_t)n) != n)
			return -(errno ? errno : EIO);
		o->bytes += (uint64_t)n;
		if (o->truncated)
			return 0;
	}
}

/* A relative path of plain components: no "", "." or ".." (the job writes the names; one like
 * "a/../b" resolves beneath the workspace but not beneath the destination, and that failure
 * must not count as jobrun's). */
static int normal_rel(const char *p)
{
	size_t n;

	if (!*p || *p == '/')
		return 0;
	for (;;) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!p[n])
			return 1;
		p += n + 1;
	}
}

static void collect_one(int ws, int dest, const char *name, uint64_t cap, struct jr_output *o,
			struct jr_err *err)
{
	const char *base = NULL;
	struct stat st;
	int in, parent, outfd, r;

	if (!normal_rel(name)) {
		o->error = strdup("not a plain relative path (no '.', '..' or empty component)");
		return;
	}
	in = open_beneath(ws, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
	if (in < 0) {
		o->error = strdup(errno == ELOOP ? "a symlink on the way (not followed)"
						 : errno == EXDEV ? "leaves the workspace"
								  : strerror(errno));
		return;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		o->error = strdup("not a regular file");
		close(in);
		return;
	}
	parent = make_parents(dest, name, &base);
	if (parent < 0) {
		jr_err_set(err, -parent, "create the directory of output %s", name);
		o->error = strdup(strerror(-parent));
		close(in);
		return;
	}
	outfd = open_beneath(parent, base, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			     0644);
	close(parent);
	if (outfd < 0) {
		jr_err_set(err, errno, "create output %s", name);
		o->error = strdup(strerror(errno));
		close(in);
		return;
	}
	r = copy_fd(in, outfd, cap, o);
	if (r < 0)
		o->error = strdup(strerror(-r));
	fchmod(outfd, 0644);
	close(outfd);
	close(in);
}

int jr_collect(int ws, const struct jr_strv *names, const char *dest_dir, uint64_t cap,
	       struct jr_outputs *out, struct jr_err *err)
{
	size_t i;
	int dest;

	out->v = calloc(names->n ? names->n : 1, sizeof(*out->v));
	out->n = 0;
	if (!out->v)
		return jr_err_set(err, ENOMEM, "outputs");
	if (!names->n)
		return 0;
	if (mkdir(dest_dir, 0755) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "create output directory %s", dest_dir);
	dest = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dest < 0)
		return jr_err_set(err, errno, "open output directory %s", dest_dir);
	jr_err_clear(err);
	for (i = 0; i < names->n; i++) {
		out->v[i].name = strdup(names->v[i]);
		out->n++;
		collect_one(ws, dest, names->v[i], cap, &out->v[i], err);
	}
	close(dest);
	return err->code ? -err->code : 0;
}

void jr_outputs_free(struct jr_outputs *out)
{
	size_t i;

	for (i = 0; i < out->n; i++) {
		free(out->v[i].name);
		free(out->v[i].error);
	}
	free(out->v);
	out->v = NULL;
	out->n = 0;
}
