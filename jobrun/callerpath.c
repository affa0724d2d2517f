/* callerpath.c - the caller's paths, resolved once into file descriptors (the rule: the head
 * of callerpath.h). */
#define _GNU_SOURCE
#include "callerpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool st_dir_trusted(const struct stat *d)
{
	return d->st_uid == 0 && (!(d->st_mode & (S_IWGRP | S_IWOTH)) || (d->st_mode & S_ISVTX));
}

bool jr_cp_dir_trusted(int dirfd)
{
	struct stat st;

	return fstat(dirfd, &st) == 0 && S_ISDIR(st.st_mode) && st_dir_trusted(&st);
}

/* "/dev/stdout", "/dev/fd/3", "/proc/self/fd/1": the caller's own descriptor, or -1. */
static int stdio_fd(const char *path);

bool jr_cp_is_own_fd(const char *path)
{
	return path && stdio_fd(path) >= 0;
}

int jr_cp_own_fd(const char *path)
{
	return path ? stdio_fd(path) : -1;
}

static int stdio_fd(const char *path)
{
	static const char *const prefixes[] = { "/dev/fd/", "/proc/self/fd/" };
	const char *p = NULL;
	char *end;
	size_t i;
	long n;

	if (!strcmp(path, "/dev/stdin"))
		return 0;
	if (!strcmp(path, "/dev/stdout"))
		return 1;
	if (!strcmp(path, "/dev/stderr"))
		return 2;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !p; i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			p = path + strlen(prefixes[i]);
	if (!p || *p < '0' || *p > '9')
		return -1;
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno || *end || n < 0 || n > INT_MAX)
		return -1;
	return (int)n;
}

static int dup_stdio(const char *opt, const char *path, int n, struct jr_err *err)
{
	int fd = fcntl(n, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return jr_err_set(err, errno, "%s '%s': descriptor %d", opt, path, n);
	return fd;
}

/* The symlink open (O_PATH) at lfd, found in the directory dirfd as name: may it be followed?
 * Then its target in target. */
static int follow_link(const char *opt, const char *path, int dirfd, int lfd,
		       const struct stat *lst, const char *name, char *target, size_t tsz,
		       struct jr_err *err)
{
	struct stat dst;
	ssize_t n;

	if (fstat(dirfd, &dst) < 0)
		return jr_err_set(err, errno, "%s '%s'", opt, path);
	if (lst->st_uid != 0)
		return jr_err_set(err, 0, "%s '%s': '%s' is a symlink of uid %u: not followed",
				  opt, path, name, (unsigned)lst->st_uid);
	if (!st_dir_trusted(&dst))
		return jr_err_set(err, 0, "%s '%s': '%s' is a symlink in a directory that uid "
				  "%u or others can write: not followed", opt, path, name,
				  (unsigned)dst.st_uid);
	n = readlinkat(lfd, "", target, tsz - 1);
	if (n < 0)
		return jr_err_set(err, errno, "%s '%s': readlink '%s'", opt, path, name);
	target[n] = '\0';
	return 0;
}

/* Replace the rest of the walk with target + "/" + rest. */
static int splice_link(char *buf, size_t bsz, const char *target, const char *rest)
{
	char tmp[2 * PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s%s%s", target, *rest ? "/" : "", rest);

	if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= bsz)
		return -ENAMETOOLONG;
	memcpy(buf, tmp, (size_t)n + 1);
	return 0;
}

/* Walk path. On success *dirfd is the directory holding the last component, copied to last
 * ("" when the path names that directory itself); the last component may not exist. Trusted
 * symlinks are followed, the last one too unless nofollow_last. */
static int walk(const char *opt, const char *path, bool nofollow_last, bool strict, int *dirfd,
		char *last, struct jr_err *err)
{
	char buf[2 * PATH_MAX], target[PATH_MAX];
	char *p = buf, *comp, *next;
	int cur, fd, links = 0, r;
	struct stat st;

	if (!*path)
		return jr_err_set(err, ENOENT, "%s: an empty path", opt);
	if (strlen(path) >= PATH_MAX)
		return jr_err_set(err, ENAMETOOLONG, "%s '%.64s...'", opt, path);
	memcpy(buf, path, strlen(path) + 1);
	cur = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return jr_err_set(err, errno, "%s '%s'", opt, path);
	for (;;) {
		while (*p == '/')
			p++;
		comp = p;
		next = p + strcspn(p, "/");
		if (*next)
			*next++ = '\0';
		while (*next == '/')
			next++;
		if (!*comp || (!strcmp(comp, ".") && !*next)) {
			last[0] = '\0';
			break;
		}
		if (!strcmp(comp, ".")) {
			p = next;
			continue;
		}
		if (strict && !jr_cp_dir_trusted(cur)) {
			r = jr_err_set(err, 0, "%s '%s': the directory holding '%s' is not root's or "
				       "others can write it", opt, path, comp);
			goto fail_cur;
		}
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && !*next) {
			snprintf(last, NAME_MAX + 1, "%s", comp);
			break;
		}
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = jr_err_set(err, errno, "%s '%s': '%s'", opt, path, comp);
			goto fail;
		}
		if (S_ISLNK(st.st_mode) && !(nofollow_last && !*next)) {
			r = follow_link(opt, path, cur, fd, &st, comp, target, sizeof(target), err);
			close(fd);
			if (r < 0)
				goto fail_cur;
			if (++links > MAX_LINKS) {
				r = jr_err_set(err, ELOOP, "%s '%s'", opt, path);
				goto fail_cur;
			}
			if (splice_link(buf, sizeof(buf), target, next) < 0) {
				r = jr_err_set(err, ENAMETOOLONG, "%s '%s'", opt, path);
				goto fail_cur;
			}
			p = buf;
			if (target[0] == '/') {
				close(cur);
				cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (cur < 0)
					return jr_err_set(err, errno, "%s '%s'", opt, path);
			}
			continue;
		}
		if (!*next) {
			close(fd);
			snprintf(last, NAME_MAX + 1, "%s", comp);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = jr_err_set(err, ENOTDIR, "%s '%s': '%s'", opt, path, comp);
			goto fail;
		}
		close(cur);
		cur = fd;
		p = next;
	}
	*dirfd = cur;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
fail_cur:
	close(cur);
	return r;
}

static int resolve(const char *opt, const char *path, int *dirfd, char *last,
		   struct jr_err *err)
{
	return walk(opt, path, false, false, dirfd, last, err);
}

const char *jr_cp_type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symlink";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	default: return "an unknown kind of file";
	}
}

/* A FIFO or character device of root's in a trusted directory: the caller's, not a job's. */
static bool special_ok(int dirfd, const struct stat *st)
{
	return (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode)) && st->st_uid == 0 &&
	       jr_cp_dir_trusted(dirfd);
}

static int check_type(const char *opt, const char *path, int dirfd, const struct stat *st,
		      enum jr_cp_want want, struct jr_err *err)
{
	bool ok;

	switch (want) {
	case JR_CP_DIR: ok = S_ISDIR(st->st_mode); break;
	case JR_CP_ANY:
		ok = S_ISDIR(st->st_mode) || S_ISREG(st->st_mode) || special_ok(dirfd, st);
		break;
	case JR_CP_FILE: ok = S_ISREG(st->st_mode) || special_ok(dirfd, st); break;
	default: ok = false;
	}
	if (ok)
		return 0;
	if (S_ISLNK(st->st_mode))
		return jr_err_set(err, 0, "%s '%s' is a symlink (it changed while jobrun "
				  "looked): not followed", opt, path);
	if ((S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode)) && want == JR_CP_FILE)
		return jr_err_set(err, 0, "%s '%s' is %s of uid %u or in a directory others "
				  "can write: refused", opt, path, jr_cp_type_name(st->st_mode),
				  (unsigned)st->st_uid);
	return jr_err_set(err, want == JR_CP_DIR ? ENOTDIR : EINVAL, "%s '%s' is %s, not %s", opt,
			  path, jr_cp_type_name(st->st_mode),
			  want == JR_CP_DIR ? "a directory" : want == JR_CP_FILE ? "a regular file"
										 : "a file or directory");
}

/* Reopen the O_PATH descriptor for reading, without blocking on a FIFO; blocking again after. */
static int reopen_read(int pfd)
{
	char proc[64];
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFL, 0);
	return fd;
}

int jr_cp_open(const char *opt, const char *path, enum jr_cp_want want, struct jr_err *err)
{
	char last[NAME_MAX + 1];
	struct stat st;
	int dirfd, fd, n, r;

	n = stdio_fd(path);
	if (n >= 0 && want == JR_CP_FILE)
		return dup_stdio(opt, path, n, err);
	r = resolve(opt, path, &dirfd, last, err);
	if (r < 0)
		return r;
	fd = openat(dirfd, last[0] ? last : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = jr_err_set(err, errno, "%s '%s'", opt, path);
		goto out;
	}
	r = check_type(opt, path, dirfd, &st, want, err);
	if (r < 0 || want != JR_CP_FILE)
		goto out;
	r = reopen_read(fd);
	if (r < 0)
		jr_err_set(err, -r, "%s '%s'", opt, path);
out:
	if (r < 0 || want == JR_CP_FILE)
		close_fd(&fd);
	close(dirfd);
	return r < 0 ? r : want == JR_CP_FILE ? r : fd;
}

/* The bind sources already resolved, for a resident caller (serve): the same profile's
 * system binds are asked for by every job. */
struct bind_ent {
	char *path;
	int fd;            /* O_PATH, or -1 for a trusted symlink (target) */
	struct stat st;
	char *target;
};

static struct {
	bool on;
	struct bind_ent *v;
	size_t n;
} bcache;

void jr_cp_bind_cache(bool on)
{
	size_t i;

	for (i = 0; i < bcache.n; i++) {
		free(bcache.v[i].path);
		free(bcache.v[i].target);
		if (bcache.v[i].fd >= 0)
			close(bcache.v[i].fd);
	}
	free(bcache.v);
	bcache.v = NULL;
	bcache.n = 0;
	bcache.on = on;
}

static void bind_cache_drop(size_t i)
{
	free(bcache.v[i].path);
	free(bcache.v[i].target);
	if (bcache.v[i].fd >= 0)
		close(bcache.v[i].fd);
	bcache.v[i] = bcache.v[--bcache.n];
}

/* A cached answer that still holds: the path names the same object now (lstat, which opens
 * nothing: were a link planted on the way since, it would name another object, or the same
 * one, which the descriptor already is). -1: not cached (or no longer right). */
static int bind_cache_get(const char *path, int *fd, struct stat *st, char *target, size_t tsz)
{
	struct stat now;
	size_t i;

	for (i = 0; i < bcache.n && strcmp(bcache.v[i].path, path); i++)
		;
	if (i == bcache.n)
		return -1;
	if (fstatat(AT_FDCWD, path, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    now.st_dev != bcache.v[i].st.st_dev || now.st_ino != bcache.v[i].st.st_ino ||
	    now.st_mode != bcache.v[i].st.st_mode || now.st_uid != bcache.v[i].st.st_uid) {
		bind_cache_drop(i);
		return -1;
	}
	if (bcache.v[i].target) {
		snprintf(target, tsz, "%s", bcache.v[i].target);
		return 1;
	}
	*fd = fcntl(bcache.v[i].fd, F_DUPFD_CLOEXEC, 3);
	if (*fd < 0)
		return -1;
	*st = now;
	return 0;
}

static void bind_cache_put(const char *path, int fd, const struct stat *st, const char *target)
{
	struct bind_ent *v, e = { .fd = -1, .st = *st };

	if (bcache.n >= 256 || !(e.path = strdup(path)) ||
	    (target && !(e.target = strdup(target))) ||
	    (!target && (e.fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) ||
	    !(v = realloc(bcache.v, (bcache.n + 1) * sizeof(*v)))) {
		free(e.path);
		free(e.target);
		if (e.fd >= 0)
			close(e.fd);
		return;
	}
	bcache.v = v;
	bcache.v[bcache.n++] = e;
}

int jr_cp_bind_source(const char *opt, const char *path, int *fd, struct stat *st,
		       char *target, size_t tsz, struct jr_err *err)
{
	char last[NAME_MAX + 1];
	ssize_t n;
	int dirfd, r;

	*fd = -1;
	if (bcache.on && (r = bind_cache_get(path, fd, st, target, tsz)) >= 0)
		return r;
	r = walk(opt, path, true, false, &dirfd, last, err);
	if (r < 0)
		return r;
	*fd = openat(dirfd, last[0] ? last : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0 || fstat(*fd, st) < 0) {
		r = jr_err_set(err, errno, "%s '%s'", opt, path);
		goto out;
	}
	if (S_ISLNK(st->st_mode)) {
		if (st->st_uid != 0 || !jr_cp_dir_trusted(dirfd)) {
			r = jr_err_set(err, 0, "%s '%s' is a symlink of uid %u or in a directory "
				       "others can write: not followed", opt, path,
				       (unsigned)st->st_uid);
			goto out;
		}
		n = readlinkat(*fd, "", target, tsz - 1);
		if (n < 0) {
			r = jr_err_set(err, errno, "%s '%s': readlink", opt, path);
			goto out;
		}
		target[n] = '\0';
		close_fd(fd);
		r = 1;
		goto out;
	}
	r = check_type(opt, path, dirfd, st, JR_CP_ANY, err);
out:
	if (r < 0)
		close_fd(fd);
	else if (bcache.on)
		bind_cache_put(path, *fd, st, r == 1 ? target : NULL);
	close(dirfd);
	return r;
}

int jr_cp_check_private_dir(const char *opt, const char *path, struct jr_err *err)
{
	char last[NAME_MAX + 1];
	int dirfd, fd, r;

	r = walk(opt, path, false, true, &dirfd, last, err);
	if (r < 0)
		return r;
	fd = openat(dirfd, last[0] ? last : ".", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		r = jr_err_set(err, errno, "%s '%s'", opt, path);
	else if (!jr_cp_dir_trusted(fd))
		r = jr_err_set(err, 0, "%s '%s' is not root's or others can write it", opt, path);
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return r;
}

int jr_cp_open_dir_create(const char *opt, const char *path, struct jr_cp_made *made,
			  struct jr_err *err)
{
	char last[NAME_MAX + 1];
	struct stat st;
	int dirfd, fd, r;

	made->parent_fd = -1;
	r = resolve(opt, path, &dirfd, last, err);
	if (r < 0)
		return r;
	if (last[0] && mkdirat(dirfd, last, 0755) == 0) {
		made->parent_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
		snprintf(made->name, sizeof(made->name), "%s", last);
	} else if (last[0] && errno != EEXIST) {
		r = jr_err_set(err, errno, "%s '%s': create it", opt, path);
		close(dirfd);
		return r;
	}
	fd = openat(dirfd, last[0] ? last : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		r = jr_err_set(err, errno, "%s '%s'", opt, path);
	else
		r = check_type(opt, path, dirfd, &st, JR_CP_DIR, err);
	close(dirfd);
	if (r < 0) {
		close_fd(&fd);
		jr_cp_unmake(made);
		return r;
	}
	return fd;
}

bool jr_cp_unmake(struct jr_cp_made *made)
{
	bool gone = false;

	if (made->parent_fd >= 0) {
		gone = unlinkat(made->parent_fd, made->name, AT_REMOVEDIR) == 0;
		close(made->parent_fd);
	}
	made->parent_fd = -1;
	return gone;
}

/* ---- destinations ---- */

int jr_cp_dest_init(struct jr_cp_dest *d, const char *opt, const char *path,
		    struct jr_err *err)
{
	char last[NAME_MAX + 1];
	int n, r;

	d->dirfd = d->fd = -1;
	d->name = NULL;
	d->opt = opt;
	n = stdio_fd(path);
	if (n >= 0) {
		d->fd = dup_stdio(opt, path, n, err);
		return d->fd < 0 ? d->fd : 0;
	}
	r = resolve(opt, path, &d->dirfd, last, err);
	if (r < 0)
		return r;
	if (!last[0] || !strcmp(last, "..") || !(d->name = strdup(last))) {
		r = last[0] && strcmp(last, "..") ? jr_err_set(err, ENOMEM, "%s", opt)
						  : jr_err_set(err, EISDIR, "%s '%s'", opt, path);
		jr_cp_dest_free(d);
		return r;
	}
	return 0;
}

bool jr_cp_dest_same(const struct jr_cp_dest *a, const struct jr_cp_dest *b)
{
	struct stat sa, sb;

	if (a->dirfd < 0 || b->dirfd < 0 || strcmp(a->name, b->name))
		return false;
	return fstat(a->dirfd, &sa) == 0 && fstat(b->dirfd, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* What is at the destination now: 0 absent or a regular file of root's (replace it), 1 a
 * FIFO or device of the caller's (write through it), or -errno with err set. */
static int dest_classify(const struct jr_cp_dest *d, struct jr_err *err)
{
	struct stat st;

	if (fstatat(d->dirfd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : jr_err_set(err, errno, "%s '%s'", d->opt, d->name);
	if (S_ISREG(st.st_mode)) {
		if (st.st_uid == 0)
			return 0;
		return jr_err_set(err, 0, "%s: '%s' exists and belongs to uid %u: not replaced",
				  d->opt, d->name, (unsigned)st.st_uid);
	}
	if (special_ok(d->dirfd, &st))
		return 1;
	if (S_ISLNK(st.st_mode))
		return jr_err_set(err, 0, "%s: '%s' is a symlink of uid %u or in a directory "
				  "others can write: not followed", d->opt, d->name,
				  (unsigned)st.st_uid);
	return jr_err_set(err, 0, "%s: '%s' exists and is %s of uid %u: not replaced", d->opt,
			  d->name, jr_cp_type_name(st.st_mode), (unsigned)st.st_uid);
}

int jr_cp_dest_check(const struct jr_cp_dest *d, struct jr_err *err)
{
	return d->fd >= 0 ? 1 : dest_classify(d, err);
}

static int open_through(const struct jr_cp_dest *d, struct jr_err *err)
{
	struct stat st;
	int fd;

	fd = openat(d->dirfd, d->name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENXIO)
		return jr_err_set(err, ENXIO, "%s: '%s' is a FIFO that nobody reads", d->opt,
				  d->name);
	if (fd < 0)
		return jr_err_set(err, errno, "%s: open '%s'", d->opt, d->name);
	if (fstat(fd, &st) < 0 || !special_ok(d->dirfd, &st)) { /* it changed meanwhile */
		close(fd);
		return jr_err_set(err, 0, "%s: '%s' changed while jobrun opened it", d->opt,
				  d->name);
	}
	return fd;
}

/* A new file beside the destination, under a name nobody can guess. */
static int create_tmp(const struct jr_cp_dest *d, char *tmp, size_t tsz, struct jr_err *err)
{
	unsigned long long rnd;
	int fd, tries;

	for (tries = 0; tries < 16; tries++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return jr_err_set(err, errno, "getrandom");
		snprintf(tmp, tsz, "%.200s.tmp.%016llx", d->name, rnd);
		fd = openat(d->dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd >= 0) {
			fchmod(fd, 0644);
			return fd;
		}
		if (errno != EEXIST)
			return jr_err_set(err, errno, "%s: create '%s'", d->opt, tmp);
	}
	return jr_err_set(err, EEXIST, "%s: create a temporary file beside '%s'", d->opt,
			  d->name);
}

static int put_in_place(const struct jr_cp_dest *d, const char *tmp, struct jr_err *err)
{
	if (renameat(d->dirfd, tmp, d->dirfd, d->name) == 0)
		return 0;
	jr_err_set(err, errno, "%s: rename '%s' to '%s'", d->opt, tmp, d->name);
	unlinkat(d->dirfd, tmp, 0);
	return -err->code;
}

int jr_cp_dest_stream(struct jr_cp_dest *d, struct jr_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd, r;

	if (d->fd >= 0) {
		fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return jr_err_set(err, errno, "%s", d->opt);
		return jr_cp_nonblocking(fd);
	}
	r = dest_classify(d, err);
	if (r < 0)
		return r;
	if (r == 1)
		return open_through(d, err);
	fd = create_tmp(d, tmp, sizeof(tmp), err);
	if (fd < 0)
		return fd;
	r = put_in_place(d, tmp, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int jr_cp_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) { /* the caller's own non-blocking descriptor */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int jr_cp_dest_write(struct jr_cp_dest *d, const char *buf, size_t len, struct jr_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd, r;

	if (d->fd >= 0) {
		r = jr_cp_write_all(d->fd, buf, len);
		return r < 0 ? jr_err_set(err, -r, "%s: write", d->opt) : 0;
	}
	r = dest_classify(d, err);
	if (r < 0)
		return r;
	if (r == 1) {
		fd = open_through(d, err);
		if (fd < 0)
			return fd;
		fcntl(fd, F_SETFL, 0); /* the caller's FIFO or device: the caller reads it */
		r = jr_cp_write_all(fd, buf, len);
		close(fd);
		return r < 0 ? jr_err_set(err, -r, "%s: write '%s'", d->opt, d->name) : 0;
	}
	fd = create_tmp(d, tmp, sizeof(tmp), err);
	if (fd < 0)
		return fd;
	r = jr_cp_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(d->dirfd, tmp, 0);
		return jr_err_set(err, -r, "%s: write '%s'", d->opt, tmp);
	}
	return put_in_place(d, tmp, err);
}

void jr_cp_dest_free(struct jr_cp_dest *d)
{
	close_fd(&d->dirfd);
	close_fd(&d->fd);
	free(d->name);
	d->name = NULL;
}

int jr_cp_nonblocking(int fd)
{
	char proc[64];
	struct stat st;
	int nfd;

	if (fstat(fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return fd; /* a regular file never blocks for long; a socket: send(MSG_DONTWAIT) */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = open(proc, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return fd;
	close(fd);
	return nfd;
}
