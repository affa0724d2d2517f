/* collect.c - output files, read beneath the workspace and written beneath the destination
 * directory without following anything: one byte budget, one time bound, temp file + rename
 * (collect.h). */
#define _GNU_SOURCE
#include "collect.h"
#include "callerpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | \
			RESOLVE_NO_XDEV)
#define CHUNK   65536
#define REFUSED 1     /* not collected, the job's doing: the reason is in o->error */

struct collect {
	int ws_fd, dest_fd;
	uint64_t left;            /* of the budget */
	uint64_t start_ms, limit_ms;
	uid_t owner;              /* who may own an entry that an output replaces */
	struct jr_err *err;
};

static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = { .flags = (uint64_t)flags, .mode = mode,
				.resolve = RESOLVE_STRICT };

	return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int too_late(const struct collect *c)
{
	return now_ms() - c->start_ms >= c->limit_ms;
}

/* Record why o was not collected (the first reason wins); returns REFUSED. */
static int __attribute__((format(printf, 2, 3))) refuse(struct jr_output *o, const char *fmt,
							  ...)
{
	char msg[JR_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!o->error)
		o->error = strdup(msg);
	return REFUSED;
}

/* jobrun's failure to deliver o: err and o->error set; returns -e. */
static int host_fail(struct collect *c, struct jr_output *o, int e, const char *what)
{
	refuse(o, "%s: %s", what, strerror(e));
	return jr_err_set(c->err, e, "output %s: %s", o->name, what);
}

static int late(const struct collect *c, struct jr_output *o)
{
	return refuse(o, "output collection took too long (%llu ms)",
		      (unsigned long long)c->limit_ms);
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
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!p[n])
			return 1;
		p += n + 1;
	}
}

static int open_source(struct collect *c, struct jr_output *o, int *fd)
{
	struct stat st;
	int e;

	*fd = open_beneath(c->ws_fd, o->name,
			   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
	if (*fd < 0) {
		e = errno;
		if (e == ENOMEM || e == EMFILE || e == ENFILE)
			return host_fail(c, o, e, "open");
		return refuse(o, "%s", e == ELOOP ? "a symlink on the way (not followed)"
				       : e == EXDEV ? "leaves the workspace" : strerror(e));
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return refuse(o, "not a regular file");
	}
	return 0;
}

/* Enter (making it when missing) the directory comp beneath fd; path: o->name up to comp's
 * end, for messages. */
static int enter_dir(struct collect *c, struct jr_output *o, int fd, const char *comp,
		     int pathlen, int *next)
{
	struct stat st;
	int made = 1, e;

	*next = -1;
	if (mkdirat(fd, comp, 0755) < 0) {
		if (errno != EEXIST)
			return host_fail(c, o, errno, "create its directory");
		made = 0;
	}
	*next = open_beneath(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (*next >= 0 && made && fchmod(*next, 0755) < 0) {
		e = errno;
		close(*next);
		*next = -1;
		return host_fail(c, o, e, "create its directory");
	}
	if (*next >= 0)
		return 0;
	e = errno;
	if (e != ELOOP && e != ENOTDIR && e != EXDEV)
		return host_fail(c, o, e, "open its directory");
	if (e == EXDEV)
		return refuse(o, "destination directory %.*s is a mount point: not entered",
			      pathlen, o->name);
	if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
		st.st_mode = 0;
	if (S_ISLNK(st.st_mode))
		return refuse(o, "destination directory %.*s is a symlink: not followed",
			      pathlen, o->name);
	return refuse(o, "destination directory %.*s exists and is %s, not a directory",
		      pathlen, o->name, jr_cp_type_name(st.st_mode));
}

/* An fd of the directory that is to hold o beneath dest_fd, parents made; *base: the last
 * component of o->name. */
static int open_parent(struct collect *c, struct jr_output *o, int *pfd, const char **base)
{
	const char *p = o->name, *slash;
	char comp[NAME_MAX + 1];
	int fd, next = -1, r;

	fd = fcntl(c->dest_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return host_fail(c, o, errno, "output directory");
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);   /* 1..NAME_MAX: normal_rel */

		memcpy(comp, p, n);
		comp[n] = '\0';
		r = enter_dir(c, o, fd, comp, (int)(slash - o->name), &next);
		close(fd);
		if (r)
			return r;
		fd = next;
		p = slash + 1;
	}
	*pfd = fd;
	*base = p;
	return 0;
}

/* What is at the destination now may be replaced: nothing, or a regular file of ours. */
static int check_dest(struct collect *c, struct jr_output *o, int parent, const char *base)
{
	struct stat st;

	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : host_fail(c, o, errno, "look at its destination");
	if (!S_ISREG(st.st_mode))
		return refuse(o, "destination exists and is %s: not replaced",
			      jr_cp_type_name(st.st_mode));
	if (st.st_uid != c->owner)
		return refuse(o, "destination exists and is a regular file of uid %u: not "
				 "replaced", (unsigned)st.st_uid);
	return 0;
}

/* A new temp file beneath parent, its name in tmp. */
static int make_temp(struct collect *c, struct jr_output *o, int parent, char *tmp,
		     size_t len)
{
	unsigned long long rnd;
	int i, fd = -1;

	for (i = 0; i < 8 && fd < 0; i++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return host_fail(c, o, errno ? errno : EIO, "name a temp file");
		snprintf(tmp, len, "%s%016llx.tmp", JR_COLLECT_TMP_PREFIX, rnd);
		fd = open_beneath(parent, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				  O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return host_fail(c, o, errno, "create a temp file");
	if (fchmod(fd, 0644) < 0) {
		int r = host_fail(c, o, errno, "make its temp file 0644");

		close(fd);
		unlinkat(parent, tmp, 0);
		return r;
	}
	return fd;
}

/* Copy in to out within what is left of the budget and the time. */
static int copy_data(struct collect *c, struct jr_output *o, int in, int out)
{
	char buf[CHUNK];
	ssize_t n;
	size_t want;
	int r;

	for (;;) {
		if (too_late(c))
			return late(c, o);
		/* one byte past the budget tells whether the file goes on */
		want = c->left < sizeof(buf) ? (size_t)c->left + 1 : sizeof(buf);
		n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return refuse(o, "read: %s", strerror(errno));
		if (n == 0)
			return 0;
		if ((uint64_t)n > c->left) {
			n = (ssize_t)c->left;
			o->truncated = true;
		}
		if (n > 0 && (r = jr_cp_write_all(out, buf, (size_t)n)) < 0)
			return host_fail(c, o, -r, "write");
		o->bytes += (uint64_t)n;
		c->left -= (uint64_t)n;
		if (o->truncated)
			return 0;
	}
}

/* Write in to a temp file beside base, then rename it to base. */
static int deliver(struct collect *c, struct jr_output *o, int in, int parent,
		   const char *base)
{
	char tmp[64];
	int out, r;

	r = check_dest(c, o, parent, base);
	if (r)
		return r;
	out = make_temp(c, o, parent, tmp, sizeof(tmp));
	if (out < 0)
		return out;
	r = copy_data(c, o, in, out);
	if (close(out) < 0 && !r)
		r = host_fail(c, o, errno, "write");
	if (!r)
		r = check_dest(c, o, parent, base);
	if (!r && renameat(parent, tmp, parent, base) < 0) {
		if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST || errno == EBUSY)
			r = refuse(o, "destination changed while being written: not replaced");
		else
			r = host_fail(c, o, errno, "rename into place");
	}
	if (r)
		unlinkat(parent, tmp, 0);
	return r;
}

static int collect_one(struct collect *c, struct jr_output *o)
{
	const char *base = NULL;
	int in = -1, parent = -1, r;

	if (too_late(c))
		return late(c, o);
	if (!normal_rel(o->name))
		return refuse(o, "not a plain relative path (no '.', '..' or empty component)");
	r = open_source(c, o, &in);
	if (r)
		return r;
	r = open_parent(c, o, &parent, &base);
	if (!r) {
		r = deliver(c, o, in, parent, base);
		close(parent);
	}
	close(in);
	return r;
}

int jr_collect(int ws_fd, const struct jr_strv *names, int dest_fd, uint64_t budget,
	       uint64_t deadline_ms, struct jr_outputs *out, struct jr_err *err)
{
	struct collect c = { .ws_fd = ws_fd, .dest_fd = dest_fd, .left = budget,
			     .start_ms = now_ms(), .limit_ms = deadline_ms, .owner = geteuid(),
			     .err = err };
	struct stat st;
	size_t i;
	int r, failed = 0;

	out->v = calloc(names->n ? names->n : 1, sizeof(*out->v));
	out->n = 0;
	if (!out->v)
		return jr_err_set(err, ENOMEM, "outputs");
	for (; out->n < names->n; out->n++)
		if (!(out->v[out->n].name = strdup(names->v[out->n])))
			return jr_err_set(err, ENOMEM, "outputs");
	jr_err_clear(err);
	if (out->n && fstat(dest_fd, &st) < 0)
		failed = jr_err_set(err, errno, "output directory");
	else if (out->n && !S_ISDIR(st.st_mode))
		failed = jr_err_set(err, ENOTDIR, "output directory");
	for (i = 0; i < out->n; i++) {
		struct jr_output *o = &out->v[i];

		if (failed) {
			refuse(o, "not collected: jobrun could not write the outputs");
			continue;
		}
		r = collect_one(&c, o);
		if (r) {
			o->bytes = 0;
			o->truncated = false;
		}
		if (r < 0)
			failed = r;
	}
	return failed;
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
