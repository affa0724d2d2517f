/* extract.c - libarchive reader -> a writer beneath a directory fd (see extract.h).
 *
 * Syscalls per regular file in a directory already open: openat2 (O_CREAT|O_EXCL), write(s),
 * futimens, close. The parent directory's O_PATH fd is cached (the last one used), so an
 * archive in the usual order opens each directory once. Directories are created 0755 as they
 * are met (explicitly or as an implied parent) and get their own mode and mtime at the end,
 * deepest first, so that a read-only directory can still be filled. */
#define _GNU_SOURCE
#include "extract.h"
#include "pathcheck.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | \
		       RESOLVE_NO_XDEV)
#ifndef IN_BUF
#define IN_BUF    (1u << 20)   /* reads of the archive fd */
#endif
#define CHUNK     (256u << 10) /* inflated data handed from the inflater thread */
#define NCHUNK    8
#define PEEK      6            /* bytes needed to tell a compressed stream */
#define PER_ENTRY (16u << 10)  /* metadata allowed per entry in an inflated stream, + 2*max_name */
#define SLACK     (8u << 20)   /* and in all (read-ahead included) */
#define MODE_MASK 0755         /* kept mode bits: the owner's, and read/search for the rest */
#define COPY_MIN  (256u << 10) /* a file this large in a plain tar file is copied in-kernel */

/* ---- the inflater: compressed input -> chunks of the plain archive ----
 * Compressed input is inflated by a libarchive reader of its own (the "raw" format and the four
 * filters) into chunks, which the tar/zip reader takes as its input. Nothing is inflated that
 * the tar/zip reader has not asked for, give or take the ring: in a second thread (inflation
 * and file creation overlap), at most NCHUNK chunks ahead; without one (no thread to be had,
 * or --no-thread), one chunk at a time, on demand. Every chunk is counted on its way in
 * (account()), so metadata that inflates past the cap stops the archive too. */

struct chunk {
	unsigned char *data;
	size_t len;
};

struct inflater {
	struct archive *a;  /* raw format + filters */
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk ch[NCHUNK];
	uint64_t filled;    /* chunks published */
	uint64_t taken;     /* chunks handed to the reader */
	uint64_t released;  /* chunks the reader is done with */
	int done;           /* 1: end of stream, -1: error (msg) */
	int cancel;
	int exiting;        /* the thread touches nothing of ours any more but the mutex */
	pthread_t thread;
	char msg[256];
	/* its input: the bytes already peeked, then the fd */
	int fd;
	unsigned char *buf;
	size_t pre;
};

/* ---- extraction state ---- */

struct dfix {          /* a directory entry's mode and mtime, applied at the end */
	char *path;
	size_t seq;            /* its place in the archive: the last entry for a path wins */
	unsigned depth;
	mode_t mode;
	bool has_mtime;
	struct timespec mtime;
};

struct xs {
	const struct jr_extract_opts *o;
	struct jr_extract_result *r;
	struct jr_err *err;
	struct archive *a;
	int root;
	/* input */
	int in_fd;
	unsigned char *inbuf;
	size_t pre;            /* peeked bytes at inbuf not yet handed to libarchive */
	off_t in_start;        /* in_fd's offset when we started (seekable input) */
	bool seekable;         /* in_fd is a regular file, read directly (no inflater) */
	struct inflater *inf;  /* NULL: direct */
	bool holding;          /* the reader holds chunk taken-1 */
	bool inflated;         /* the stream libarchive parses was inflated: cap it */
	bool capped;           /* the cap stopped the stream */
	uint64_t in_bytes;     /* bytes handed to libarchive */
	/* counters */
	uint64_t data;         /* file data counted against max_bytes */
	/* the current entry */
	const char *cur;       /* raw name, for the report */
	/* the last parent directory used */
	int dfd;
	size_t dlen;
	char dpath[JR_PATH_MAX];
	/* deferred directory modes */
	struct dfix *fix;
	size_t nfix, capfix;
};

static int xopenat2(int dirfd, const char *path, uint64_t flags, uint64_t mode)
{
	struct open_how how;
	long r;
	int tries = 0;

	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.mode = mode;
	how.resolve = RESOLVE_FLAGS;
	do
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (r < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 8)));
	return (int)r;
}

static void set_entry(struct xs *x)
{
	struct jr_extract_result *r = x->r;

	if (!x->cur) {
		r->has_entry = 0;
		r->entry[0] = '\0';
		return;
	}
	r->has_entry = 1;
	jr_path_printable(x->cur, strlen(x->cur), r->entry, sizeof(r->entry));
}

/* Refuse the archive: the current entry (if any) and a reason. Returns 1. */
static int __attribute__((format(printf, 2, 3))) refuse(struct xs *x, const char *fmt, ...)
{
	char tmp[sizeof(x->r->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	jr_path_printable(tmp, strlen(tmp), x->r->reason, sizeof(x->r->reason));
	set_entry(x);
	return 1;
}

/* A name fit for a reason (static buffers: at most two per message). */
static const char *pname(const char *s, size_t len, int slot)
{
	static char buf[2][300];

	jr_path_printable(s, len, buf[slot], sizeof(buf[slot]));
	return buf[slot];
}

/* The workspace is full (ENOSPC, EDQUOT, EFBIG) or another errno: refusal or internal error. */
static int write_error(struct xs *x, int e, const char *what)
{
	if (e == ENOSPC || e == EDQUOT)
		return refuse(x, "the workspace is full (%s): the archive does not fit in the job's "
			      "disk", strerror(e));
	if (e == EFBIG)
		return refuse(x, "file too large for the workspace (%s)", strerror(e));
	if (e == EMLINK)
		return refuse(x, "too many links (%s)", strerror(e));
	return jr_err_set(x->err, e, "%s '%s'", what, pname(x->cur, strlen(x->cur), 0));
}

/* ---- input ---- */

static uint64_t stream_cap(const struct xs *x)
{
	uint64_t per = PER_ENTRY + 2 * (uint64_t)x->o->max_name, n = x->r->entries + 1;
	uint64_t cap = x->o->max_bytes;

	if (n > (UINT64_MAX - SLACK) / per)
		return UINT64_MAX;
	if (cap > UINT64_MAX - SLACK - n * per)
		return UINT64_MAX;
	return cap + n * per + SLACK;
}

/* Count what libarchive parses. An inflated stream may not hold more than the file data
 * allowed plus a metadata allowance per entry: a bomb made of headers (long names, pax
 * records, padding) stops here, at most one read-ahead past the cap. */
static la_ssize_t account(struct xs *x, struct archive *a, size_t n)
{
	char msg[200];

	x->in_bytes += n;
	if (x->inflated && x->in_bytes > stream_cap(x)) {
		x->capped = true;
		/* (archive_set_error's own printf knows no %llu) */
		snprintf(msg, sizeof(msg), "the archive inflates to more than --max-bytes (%llu) of "
			 "data plus its metadata allowance (%llu bytes after %llu entries): stopped",
			 (unsigned long long)x->o->max_bytes, (unsigned long long)stream_cap(x),
			 (unsigned long long)x->r->entries);
		archive_set_error(a, EFBIG, "%s", msg);
		return -1;
	}
	return (la_ssize_t)n;
}

/* The plain archive straight from the fd (not compressed: nothing is inflated). */
static la_ssize_t fd_read(struct archive *a, void *p, const void **out)
{
	struct xs *x = p;
	ssize_t n;

	*out = x->inbuf;
	if (x->pre) {
		n = (ssize_t)x->pre;
		x->pre = 0;
		return n;
	}
	do
		n = read(x->in_fd, x->inbuf, IN_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read the archive: %s", strerror(errno));
		return -1;
	}
	return n;
}

static la_int64_t fd_seek(struct archive *a, void *p, la_int64_t off, int whence)
{
	struct xs *x = p;
	off_t r;

	(void)a;
	if (whence == SEEK_SET)
		r = lseek(x->in_fd, x->in_start + off, SEEK_SET);
	else if (whence == SEEK_CUR)
		r = lseek(x->in_fd, off - (off_t)x->pre, SEEK_CUR);
	else
		r = lseek(x->in_fd, off, whence);
	x->pre = 0;
	if (r < 0)
		return ARCHIVE_FATAL;
	return r - x->in_start;
}

/* Skip forward in a regular file (after an in-kernel copy of an entry's data). */
static la_int64_t fd_skip(struct archive *a, void *p, la_int64_t request)
{
	struct xs *x = p;

	(void)a;
	if (x->pre || request <= 0)
		return 0;  /* libarchive reads instead */
	if (lseek(x->in_fd, request, SEEK_CUR) < 0)
		return 0;
	return request;
}

static la_ssize_t inf_input(struct archive *a, void *p, const void **out)
{
	struct inflater *f = p;
	ssize_t n;

	*out = f->buf;
	if (f->pre) {
		n = (ssize_t)f->pre;
		f->pre = 0;
		return n;
	}
	do
		n = read(f->fd, f->buf, IN_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read the archive: %s", strerror(errno));
		return -1;
	}
	return n;
}

static void inf_error(struct inflater *f, const char *what)
{
	snprintf(f->msg, sizeof(f->msg), "decompression: %s", what ? what : "unreadable data");
}

/* Open the inflating reader on the peeked bytes and the fd: 0, or -1 with f->msg. */
static int inf_open(struct inflater *f)
{
	struct archive_entry *e;
	int r;

	f->a = archive_read_new();
	if (!f->a) {
		inf_error(f, "out of memory");
		return -1;
	}
	/* ARCHIVE_WARN would mean "an external program will do it": never. */
	if (archive_read_support_format_raw(f->a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(f->a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(f->a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(f->a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(f->a) != ARCHIVE_OK) {
		inf_error(f, "libarchive lacks a built-in filter");
		return -1;
	}
	if (archive_read_open(f->a, f, NULL, inf_input, NULL) != ARCHIVE_OK ||
	    (r = archive_read_next_header(f->a, &e)) < ARCHIVE_WARN) {
		inf_error(f, archive_error_string(f->a));
		return -1;
	}
	return r == ARCHIVE_EOF ? 1 : 0;
}

/* Fill c with up to CHUNK inflated bytes: 1 (more may follow), 0 (the end), -1 (f->msg). */
static int inf_fill(struct inflater *f, struct chunk *c)
{
	la_ssize_t n = 1;

	c->len = 0;
	while (c->len < CHUNK && (n = archive_read_data(f->a, c->data + c->len, CHUNK - c->len)) > 0)
		c->len += (size_t)n;
	if (n < 0) {
		inf_error(f, archive_error_string(f->a));
		return -1;
	}
	return n > 0;
}

static void *inflater_main(void *p)
{
	struct inflater *f = p;
	struct chunk *c;
	int r, done;

	r = inf_open(f);
	done = r < 0 ? -1 : r > 0 ? 1 : 0;
	while (!done) {
		pthread_mutex_lock(&f->mu);
		while (f->filled - f->released >= NCHUNK && !f->cancel)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->cancel) {
			pthread_mutex_unlock(&f->mu);
			break;
		}
		c = &f->ch[f->filled % NCHUNK];
		pthread_mutex_unlock(&f->mu);
		r = inf_fill(f, c);
		if (r <= 0)
			done = r < 0 ? -1 : 1;
		pthread_mutex_lock(&f->mu);
		if (c->len)
			f->filled++;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
	}
	if (f->a)
		archive_read_free(f->a);
	f->a = NULL;
	pthread_mutex_lock(&f->mu);
	if (!f->done)
		f->done = done ? done : 1;
	f->exiting = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* The tar/zip reader's input when the archive is compressed. */
static la_ssize_t ring_read(struct archive *a, void *p, const void **out)
{
	struct xs *x = p;
	struct inflater *f = x->inf;
	struct chunk *c;
	int r;

	if (!f->threaded) {
		if (f->done == 0) {
			r = inf_fill(f, &f->ch[0]);
			if (r <= 0)
				f->done = r < 0 ? -1 : 1;
			if (r >= 0 && f->ch[0].len) {
				*out = f->ch[0].data;
				return account(x, a, f->ch[0].len);
			}
		}
	} else {
		pthread_mutex_lock(&f->mu);
		if (x->holding) {
			f->released++;
			x->holding = false;
			pthread_cond_broadcast(&f->cv);
		}
		while (f->taken == f->filled && !f->done)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->taken < f->filled) {
			c = &f->ch[f->taken % NCHUNK];
			f->taken++;
			x->holding = true;
			pthread_mutex_unlock(&f->mu);
			*out = c->data;
			return account(x, a, c->len);
		}
		pthread_mutex_unlock(&f->mu);
	}
	if (f->done < 0) {
		archive_set_error(a, EINVAL, "%s", f->msg);
		return -1;
	}
	return 0;
}

static bool compressed_magic(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return true;                                    /* gzip */
	if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return true;                                    /* bzip2 */
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return true;                                    /* xz */
	if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return true;                                    /* zstd */
	return false;
}

/* Start inflating from the peeked bytes: in a thread when threaded and one can be had, else
 * on demand. 0, 1 (refused: the stream does not open), or -errno. */
static int inflater_start(struct xs *x, bool threaded)
{
	struct inflater *f = calloc(1, sizeof(*f));
	unsigned i, n = threaded ? NCHUNK : 1;
	int r;

	if (!f)
		return jr_err_set(x->err, ENOMEM, "inflater");
	for (i = 0; i < n; i++)
		if (!(f->ch[i].data = malloc(CHUNK))) {
			while (i--)
				free(f->ch[i].data);
			free(f);
			return jr_err_set(x->err, ENOMEM, "inflater");
		}
	f->fd = x->in_fd;
	f->buf = x->inbuf;
	f->pre = x->pre;
	x->pre = 0;
	x->inf = f;
	x->inflated = true;
	if (threaded) {
		pthread_mutex_init(&f->mu, NULL);
		pthread_cond_init(&f->cv, NULL);
		if (pthread_create(&f->thread, NULL, inflater_main, f) == 0) {
			f->threaded = true;
			return 0;
		}
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
	}
	r = inf_open(f);  /* one thread: the chunk ring is one chunk, filled on demand */
	if (r < 0)
		return refuse(x, "not a readable archive: %s", f->msg);
	if (r > 0)
		f->done = 1;
	return 0;
}

/* The reader is done: stop the inflater, and free it once it has stopped. It stops at once
 * when it waits for room in the ring or has finished; when it is blocked reading a pipe that
 * never ends, it is left there after 100 ms with its memory (the process exits soon after). */
static void inflater_stop(struct xs *x)
{
	struct inflater *f = x->inf;
	struct timespec dl;
	unsigned i;
	int gone = 1;

	if (!f)
		return;
	if (f->threaded) {
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 100 * 1000 * 1000;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&f->mu);
		f->cancel = 1;
		pthread_cond_broadcast(&f->cv);
		while (!f->exiting && pthread_cond_timedwait(&f->cv, &f->mu, &dl) == 0)
			;
		gone = f->exiting;
		pthread_mutex_unlock(&f->mu);
		if (!gone) {
			pthread_detach(f->thread);
			return;
		}
		pthread_join(f->thread, NULL);
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
	} else if (f->a) {
		archive_read_free(f->a);
	}
	for (i = 0; i < NCHUNK; i++)
		free(f->ch[i].data);
	free(f);
	x->inf = NULL;
	free(x->inbuf);
	x->inbuf = NULL;
}

/* ---- directories ---- */

/* Walk (and with create, make) the directories of path[0..plen) from the root, one component
 * at a time: nothing but real directories is ever passed through. Returns 0 with *out (an
 * O_PATH fd, or x->root when plen is 0), 1 when refused, or -errno. */
static int walk_dirs(struct xs *x, const char *path, size_t plen, bool create, int *out)
{
	char comp[JR_PATH_NAME_MAX + 1];
	struct stat st;
	int cur = x->root, fd, e;
	size_t i = 0, s;

	while (i < plen) {
		s = i;
		while (i < plen && path[i] != '/')
			i++;
		memcpy(comp, path + s, i - s);
		comp[i - s] = '\0';
		fd = xopenat2(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				e = errno;
				if (cur != x->root)
					close(cur);
				return write_error(x, e, "mkdir for");
			}
			x->r->dirs++;
			fd = xopenat2(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		}
		if (fd < 0) {
			e = errno;
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
				st.st_mode = 0;
			if (cur != x->root)
				close(cur);
			if (e == ELOOP || S_ISLNK(st.st_mode))
				return refuse(x, "'%s' is a symlink (an earlier entry): nothing is "
					      "written through a symlink (ELOOP)",
					      pname(path, i, 0));
			if (e == ENOTDIR)
				return refuse(x, "'%s' is not a directory", pname(path, i, 0));
			if (e == ENOENT)
				return refuse(x, "'%s' does not exist", pname(path, i, 0));
			if (e == EXDEV)
				return refuse(x, "'%s' crosses a mount point (EXDEV)",
					      pname(path, i, 0));
			return write_error(x, e, "open a directory for");
		}
		if (cur != x->root)
			close(cur);
		cur = fd;
		i++;
	}
	*out = cur;
	return 0;
}

/* The directory that holds name[0..plen): cached, opened, or made. 0 with *pfd (owned by the
 * cache, or the root), 1 refused, -errno. */
static int parent_dir(struct xs *x, const char *name, size_t plen, int *pfd)
{
	char path[JR_PATH_MAX];
	int fd, r;

	if (plen == 0) {
		*pfd = x->root;
		return 0;
	}
	if (x->dfd >= 0 && plen == x->dlen && !memcmp(name, x->dpath, plen)) {
		*pfd = x->dfd;
		return 0;
	}
	memcpy(path, name, plen);
	path[plen] = '\0';
	fd = xopenat2(x->root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		r = walk_dirs(x, path, plen, true, &fd);
		if (r)
			return r;
	}
	if (x->dfd >= 0)
		close(x->dfd);
	x->dfd = fd;
	x->dlen = plen;
	memcpy(x->dpath, path, plen + 1);
	*pfd = fd;
	return 0;
}

static const char *kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISLNK(m))
		return "a symlink";
	return "a special file";
}

static int exists_error(struct xs *x, int pfd, const char *base)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return refuse(x, "duplicate entry: it already exists");
	return refuse(x, "duplicate entry: it already exists (%s, from an earlier entry)",
		      kind(st.st_mode));
}

static int add_fix(struct xs *x, const char *name, size_t len, mode_t mode,
		   struct archive_entry *e)
{
	struct dfix *f;
	size_t i;

	if (x->nfix == x->capfix) {
		size_t cap = x->capfix ? 2 * x->capfix : 64;
		struct dfix *nf = realloc(x->fix, cap * sizeof(*nf));
		if (!nf)
			return jr_err_set(x->err, ENOMEM, "directory list");
		x->fix = nf;
		x->capfix = cap;
	}
	f = &x->fix[x->nfix];
	f->path = strndup(name, len);
	if (!f->path)
		return jr_err_set(x->err, ENOMEM, "directory list");
	f->seq = x->nfix;
	f->depth = 0;
	for (i = 0; i < len; i++)
		f->depth += name[i] == '/';
	f->mode = mode;
	f->has_mtime = archive_entry_mtime_is_set(e);
	f->mtime.tv_sec = archive_entry_mtime(e);
	f->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	x->nfix++;
	return 0;
}

/* Deepest first; one path's entries together, the last one first. */
static int cmp_depth(const void *a, const void *b)
{
	const struct dfix *p = a, *q = b;
	int c;

	if (p->depth != q->depth)
		return p->depth < q->depth ? 1 : -1;
	c = strcmp(p->path, q->path);
	if (c)
		return c;
	return p->seq < q->seq ? 1 : p->seq > q->seq ? -1 : 0;
}

/* Directory modes and times, deepest first (a parent's mode may forbid what its children
 * need). The directories are ours: each is opened beneath the root, no symlink followed. */
static int apply_fixes(struct xs *x)
{
	struct timespec ts[2];
	size_t i;
	int fd;

	if (x->dfd >= 0) {
		close(x->dfd);
		x->dfd = -1;
	}
	if (x->nfix)
		qsort(x->fix, x->nfix, sizeof(*x->fix), cmp_depth);
	for (i = 0; i < x->nfix; i++) {
		struct dfix *f = &x->fix[i];

		/* a directory given twice gets the last entry's mode, applied once (a mode without
		 * read or search would keep a second pass out) */
		if (i > 0 && !strcmp(f->path, x->fix[i - 1].path))
			continue;
		fd = xopenat2(x->root, f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0)
			return jr_err_set(x->err, errno, "reopen directory '%s'",
					  pname(f->path, strlen(f->path), 0));
		if (fchmod(fd, f->mode) < 0) {
			int e = errno;
			close(fd);
			return jr_err_set(x->err, e, "chmod directory '%s'",
					  pname(f->path, strlen(f->path), 0));
		}
		if (f->has_mtime) {
			ts[0].tv_sec = 0;
			ts[0].tv_nsec = UTIME_OMIT;
			ts[1] = f->mtime;
			futimens(fd, ts);  /* best effort: a time out of range is no reason to fail */
		}
		close(fd);
	}
	return 0;
}

/* ---- entries ---- */

static mode_t keep_mode(struct xs *x, struct archive_entry *e)
{
	mode_t m = archive_entry_mode(e) & 07777;

	if (m & 07000)
		x->r->stripped_setid++;
	return m & MODE_MASK;
}

/* Read (and count) what is left of the entry's data: a hardlink or a directory with a body.
 * Counted like file data, so that no data is ever inflated uncounted. */
static int drain(struct xs *x)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	for (;;) {
		r = archive_read_data_block(x->a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return refuse(x, "cannot read the entry's data: %s",
				      archive_error_string(x->a) ? archive_error_string(x->a) :
				      "unknown error");
		if (size > x->o->max_bytes - x->data)
			return refuse(x, "more than --max-bytes (%llu) of data",
				      (unsigned long long)x->o->max_bytes);
		x->data += size;
	}
}

static int pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;
	ssize_t w;

	while (n) {
		w = pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* A large file in a plain (uncompressed) tar read from a regular file: its data lies in one
 * piece in the input, so the kernel copies it (copy_file_range, else sendfile: one copy
 * instead of read + write) and libarchive skips it. Returns 0 done, 1 refused, -errno, or 2:
 * not possible here (nothing copied), go the ordinary way. */
static int copy_data(struct xs *x, struct archive_entry *e, int fd, uint64_t size)
{
	la_int64_t pos;
	loff_t in, out = 0;
	ssize_t n;
	bool cfr = true;

	if (!x->seekable || size < COPY_MIN || archive_entry_sparse_count(e) > 0 ||
	    archive_filter_count(x->a) != 1 ||
	    (archive_format(x->a) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR)
		return 2;
	pos = archive_filter_bytes(x->a, 0);  /* what the tar reader consumed: the data's start */
	if (pos < 0)
		return 2;
	in = x->in_start + pos;
	while ((uint64_t)out < size) {
		if (cfr) {
			n = copy_file_range(x->in_fd, &in, fd, &out, size - (uint64_t)out, 0);
			if (n < 0 && out == 0 && (errno == EXDEV || errno == EINVAL ||
						  errno == EOPNOTSUPP || errno == ENOSYS)) {
				cfr = false;
				continue;
			}
		} else {
			n = sendfile(fd, x->in_fd, &in, size - (uint64_t)out);
			if (n > 0)
				out += n;
			if (n < 0 && out == 0 && (errno == EINVAL || errno == ENOSYS))
				return 2;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return write_error(x, errno, "copy");
		}
		if (n == 0)
			return refuse(x, "the archive is truncated: %llu of the entry's %llu bytes",
				      (unsigned long long)out, (unsigned long long)size);
	}
	if (archive_read_data_skip(x->a) != ARCHIVE_OK)
		return refuse(x, "cannot skip the entry's data: %s",
			      archive_error_string(x->a) ? archive_error_string(x->a) :
			      "unknown error");
	return 0;
}

static int do_file(struct xs *x, struct archive_entry *e, int pfd, const char *base, bool conf)
{
	uint64_t left = x->o->max_bytes - x->data, end = 0, declared = 0;
	struct timespec ts[2];
	const void *buf;
	size_t size;
	la_int64_t off;
	mode_t mode;
	int fd, r;

	if (archive_entry_size_is_set(e)) {
		la_int64_t s = archive_entry_size(e);
		if (s < 0)
			return refuse(x, "negative size");
		declared = (uint64_t)s;
		if (declared > left)
			return refuse(x, "a file of %llu bytes: more than the %llu left of --max-bytes "
				      "(%llu)", (unsigned long long)declared,
				      (unsigned long long)left, (unsigned long long)x->o->max_bytes);
		if (conf && declared > x->o->conf_max)
			return refuse(x, "the job config is larger than %zu bytes", x->o->conf_max);
	}
	mode = keep_mode(x, e);
	fd = xopenat2(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return exists_error(x, pfd, base);
		return write_error(x, errno, "create");
	}
	if (conf && !x->r->conf) {
		x->r->conf = malloc(x->o->conf_max + 1);
		if (!x->r->conf) {
			close(fd);
			return jr_err_set(x->err, ENOMEM, "job config");
		}
		x->r->conf_len = 0;
	}
	if (!conf && declared) {
		r = copy_data(x, e, fd, declared);
		if (r != 2) {
			if (r) {
				close(fd);
				return r;
			}
			end = declared;
			goto done;
		}
	}
	for (;;) {
		r = archive_read_data_block(x->a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			close(fd);
			if (x->capped)
				return refuse(x, "%s", archive_error_string(x->a));
			return refuse(x, "cannot read the entry's data: %s",
				      archive_error_string(x->a) ? archive_error_string(x->a) :
				      "unknown error");
		}
		if (off < 0 || (uint64_t)off > left || size > left - (uint64_t)off) {
			close(fd);
			return refuse(x, "more than --max-bytes (%llu) of file data: stopped",
				      (unsigned long long)x->o->max_bytes);
		}
		if (size && (r = pwrite_all(fd, buf, size, off)) < 0) {
			close(fd);
			return write_error(x, -r, "write");
		}
		if (conf) {
			if ((uint64_t)off + size > x->o->conf_max) {
				close(fd);
				return refuse(x, "the job config is larger than %zu bytes",
					      x->o->conf_max);
			}
			if ((size_t)off > x->r->conf_len)  /* a hole */
				memset(x->r->conf + x->r->conf_len, 0, (size_t)off - x->r->conf_len);
			memcpy(x->r->conf + off, buf, size);
			if ((size_t)off + size > x->r->conf_len)
				x->r->conf_len = (size_t)off + size;
		}
		if ((uint64_t)off + size > end)
			end = (uint64_t)off + size;
	}
	if (declared > end) {  /* a trailing hole */
		if (ftruncate(fd, (off_t)declared) < 0) {
			r = errno;
			close(fd);
			return write_error(x, r, "truncate");
		}
		if (conf) {
			memset(x->r->conf + x->r->conf_len, 0, declared - x->r->conf_len);
			x->r->conf_len = declared;
		}
		end = declared;
	}
	if (conf)
		x->r->conf[x->r->conf_len] = '\0';
done:
	if (archive_entry_mtime_is_set(e)) {
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
		futimens(fd, ts);  /* best effort */
	}
	if (close(fd) < 0 && errno != EINTR)
		return write_error(x, errno, "close");
	x->data += end;
	x->r->bytes += end;
	x->r->files++;
	return 0;
}

static int do_dir(struct xs *x, struct archive_entry *e, const char *name, size_t len,
		  int pfd, const char *base)
{
	struct stat st;
	mode_t mode = keep_mode(x, e);

	if (mkdirat(pfd, base, 0755) < 0) {
		if (errno != EEXIST)
			return write_error(x, errno, "mkdir");
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return jr_err_set(x->err, errno, "stat '%s'", pname(name, len, 0));
		if (!S_ISDIR(st.st_mode))
			return refuse(x, "duplicate entry: it already exists (%s, from an earlier "
				      "entry)", kind(st.st_mode));
	} else {
		x->r->dirs++;
	}
	return add_fix(x, name, len, mode, e);
}

static int do_symlink(struct xs *x, struct archive_entry *e, const char *name, int pfd,
		      const char *base)
{
	const char *target = archive_entry_symlink(e), *why;

	if (!target)
		target = archive_entry_symlink_utf8(e);
	if (!target)
		return refuse(x, "a symlink without a target");
	if (jr_path_check_link(name, target, &why) < 0)
		return refuse(x, "symlink to '%s': %s", pname(target, strlen(target), 0), why);
	if (symlinkat(target, pfd, base) < 0) {
		if (errno == EEXIST)
			return exists_error(x, pfd, base);
		return write_error(x, errno, "symlink");
	}
	x->r->symlinks++;
	return 0;
}

/* A hardlink to an earlier regular file: linkat(2) between two directories opened beneath
 * the root (no symlink on either path, and linkat does not follow the old name). */
static int do_hardlink(struct xs *x, const char *target, int pfd, const char *base)
{
	char tname[JR_PATH_MAX];
	const char *why, *tbase;
	struct stat st;
	long tlen;
	size_t tplen;
	int tpfd = -1, r, e;

	tlen = jr_path_clean(target, strlen(target), x->o->max_name, tname, sizeof(tname), &why);
	if (tlen < 0)
		return refuse(x, "hardlink to '%s': %s", pname(target, strlen(target), 0), why);
	if (tlen == 0)
		return refuse(x, "hardlink to the workspace root");
	tbase = strrchr(tname, '/');
	tplen = tbase ? (size_t)(tbase - tname) : 0;
	tbase = tbase ? tbase + 1 : tname;
	if (tplen == 0) {
		tpfd = x->root;
	} else if (x->dfd >= 0 && tplen == x->dlen && !memcmp(tname, x->dpath, tplen)) {
		tpfd = x->dfd;
	} else {
		tname[tplen] = '\0';
		r = walk_dirs(x, tname, tplen, false, &tpfd);
		tname[tplen] = '/';
		if (r == 1)
			return refuse(x, "hardlink to '%s', which is not an earlier regular file "
				      "(%s)", pname(tname, (size_t)tlen, 1), x->r->reason);
		if (r)
			return r;
	}
	e = 0;
	if (fstatat(tpfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		e = errno;
		st.st_mode = 0;
	}
	if (!S_ISREG(st.st_mode)) {
		r = refuse(x, "hardlink to '%s', which is not an earlier regular file (%s)",
			   pname(tname, (size_t)tlen, 1),
			   S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) ? kind(st.st_mode) :
			   e == ENOENT ? "no such entry" : "not a regular file");
		goto out;
	}
	if (linkat(tpfd, tbase, pfd, base, 0) < 0) {
		e = errno;
		r = e == EEXIST ? exists_error(x, pfd, base) : write_error(x, e, "link");
		goto out;
	}
	x->r->hardlinks++;
	r = 0;
out:
	if (tpfd >= 0 && tpfd != x->root && tpfd != x->dfd)
		close(tpfd);
	return r;
}

static int one_entry(struct xs *x, struct archive_entry *e)
{
	char name[JR_PATH_MAX];
	const char *raw, *why, *hl, *base;
	size_t rawlen, plen;
	long len;
	bool conf;
	int pfd, r;
	mode_t type;

	raw = archive_entry_pathname(e);
	if (!raw)
		raw = archive_entry_pathname_utf8(e);
	if (!raw)
		return refuse(x, "an entry without a readable name");
	x->cur = raw;
	rawlen = strlen(raw);
	if (rawlen > x->o->max_name)
		return refuse(x, "a name of %zu bytes: longer than --max-name (%zu)", rawlen,
			      x->o->max_name);
	len = jr_path_clean(raw, rawlen, x->o->max_name, name, sizeof(name), &why);
	if (len < 0)
		return refuse(x, "%s", why);
	hl = archive_entry_hardlink(e);
	type = archive_entry_filetype(e);
	if (len == 0) {
		if (!hl && type == AE_IFDIR)
			return drain(x);  /* "./": the workspace root itself, left as it is */
		return refuse(x, "names the workspace root");
	}
	conf = x->o->conf_name && !strcmp(name, x->o->conf_name);
	if (conf && (hl || type != AE_IFREG))
		return refuse(x, "the job config must be a regular file");
	base = strrchr(name, '/');
	plen = base ? (size_t)(base - name) : 0;
	base = base ? base + 1 : name;
	if (!hl) {
		switch (type) {
		case AE_IFREG:
		case AE_IFDIR:
		case AE_IFLNK:
			break;
		case AE_IFCHR:
			return refuse(x, "a character device: device nodes are refused");
		case AE_IFBLK:
			return refuse(x, "a block device: device nodes are refused");
		case AE_IFIFO:
			return refuse(x, "a FIFO: FIFOs are refused");
		case AE_IFSOCK:
			return refuse(x, "a socket: sockets are refused");
		default:
			return refuse(x, "an entry of unknown type (mode 0%o)", (unsigned)type);
		}
	}
	r = parent_dir(x, name, plen, &pfd);
	if (r)
		return r;
	if (hl) {
		r = do_hardlink(x, hl, pfd, base);
		return r ? r : drain(x);
	}
	switch (type) {
	case AE_IFREG:
		return do_file(x, e, pfd, base, conf);
	case AE_IFDIR:
		r = do_dir(x, e, name, (size_t)len, pfd, base);
		return r ? r : drain(x);
	default:
		r = do_symlink(x, e, name, pfd, base);
		return r ? r : drain(x);
	}
}

int jr_extract(int in_fd, int root_fd, const struct jr_extract_opts *o,
	       struct jr_extract_result *r, struct jr_err *err)
{
	struct xs x;
	struct archive_entry *e;
	struct stat st;
	ssize_t n;
	size_t i;
	int ret, ar;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.r = r;
	x.err = err;
	x.root = root_fd;
	x.in_fd = in_fd;
	x.dfd = -1;
	x.inbuf = malloc(IN_BUF);
	if (!x.inbuf)
		return jr_err_set(err, ENOMEM, "input buffer");

	/* What comes in: compressed (inflate in a second thread) or not. */
	x.in_start = lseek(in_fd, 0, SEEK_CUR);
	while (x.pre < PEEK) {
		n = read(in_fd, x.inbuf + x.pre, IN_BUF - x.pre);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = jr_err_set(err, errno, "read the archive");
			goto out;
		}
		if (n == 0)
			break;
		x.pre += (size_t)n;
	}
	if (x.pre == 0) {
		ret = refuse(&x, "empty input: not an archive");
		goto out;
	}
	if (compressed_magic(x.inbuf, x.pre)) {
		ret = inflater_start(&x, o->threads != 0);
		if (ret)
			goto out;
	}

	x.a = archive_read_new();
	if (!x.a) {
		ret = jr_err_set(err, ENOMEM, "archive_read_new");
		goto out;
	}
	/* tar (ustar, pax, GNU, v7: one reader) and zip (seekable and streamed); no filter: what
	 * comes in compressed was inflated above */
	if (archive_read_support_format_tar(x.a) != ARCHIVE_OK ||
	    archive_read_support_format_zip(x.a) != ARCHIVE_OK) {
		ret = jr_err_set(err, 0, "libarchive: %s", archive_error_string(x.a) ?
				 archive_error_string(x.a) : "a format is not built in");
		goto out;
	}
	archive_read_set_callback_data(x.a, &x);
	if (x.inf) {
		archive_read_set_read_callback(x.a, ring_read);
	} else {
		archive_read_set_read_callback(x.a, fd_read);
		/* zip reads its central directory when it can seek (a regular file) */
		if (x.in_start >= 0 && fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode)) {
			x.seekable = true;
			archive_read_set_seek_callback(x.a, fd_seek);
			archive_read_set_skip_callback(x.a, fd_skip);
		}
	}
	if (archive_read_open1(x.a) != ARCHIVE_OK) {
		ret = refuse(&x, "not a tar or zip archive (or a compression other than gzip, "
			     "bzip2, xz, zstd): %s", archive_error_string(x.a) ?
			     archive_error_string(x.a) : "unknown error");
		goto out;
	}
	for (;;) {
		ar = archive_read_next_header(x.a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		x.cur = NULL;
		if (ar < ARCHIVE_WARN) {
			const char *m = archive_error_string(x.a);
			if (r->entries == 0 && !x.capped)
				ret = refuse(&x, "not a tar or zip archive (or a compression other than "
					     "gzip, bzip2, xz, zstd): %s", m ? m : "unknown error");
			else
				ret = refuse(&x, "%s", m ? m : "unreadable archive");
			goto out;
		}
		if (r->entries >= o->max_entries) {
			x.cur = archive_entry_pathname(e);
			ret = refuse(&x, "more than --max-entries (%llu) entries",
				     (unsigned long long)o->max_entries);
			goto out;
		}
		r->entries++;
		ret = one_entry(&x, e);
		if (ret)
			goto out;
	}
	x.cur = NULL;
	ret = apply_fixes(&x);
out:
	if (x.a)
		archive_read_free(x.a);
	inflater_stop(&x);
	if (x.dfd >= 0)
		close(x.dfd);
	for (i = 0; i < x.nfix; i++)
		free(x.fix[i].path);
	free(x.fix);
	if (!x.inf)
		free(x.inbuf);  /* else the inflater, left blocked, may still read into it */
	return ret;
}

void jr_extract_result_free(struct jr_extract_result *r)
{
	free(r->conf);
	r->conf = NULL;
	r->conf_len = 0;
}
