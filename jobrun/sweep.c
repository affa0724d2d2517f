/* sweep.c - remove what a dead jobrun's job left on the host, as its lease records it
 * (sweep.h has the record and the rules). */
#define _GNU_SOURCE
#include "sweep.h"
#include "callerpath.h"
#include "cgroup-internal.h"
#include "log.h"
#include "quota.h"
#include "scratch.h"
#include "uidpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

/* ---- the record ---------------------------------------------------------------------------- */

bool jr_sweep_path_clean(const char *path)
{
	const char *c, *e;
	size_t n;

	if (!path || path[0] != '/')
		return false;
	for (c = path + 1;; c = e + 1) {
		e = strchr(c, '/');
		n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!e)
			return true;
	}
}

/* path ends in suffix, with something before it */
static bool ends_in(const char *path, const char *suffix)
{
	size_t p = strlen(path), s = strlen(suffix);

	return p > s && !strcmp(path + p - s, suffix);
}

bool jr_sweep_cgroup_path_ok(const char *path, uid_t uid)
{
	char suffix[64];

	snprintf(suffix, sizeof(suffix), "/jobrun/job-%u", (unsigned)uid);
	return jr_sweep_path_clean(path) && ends_in(path, suffix);
}

bool jr_sweep_ws_path_ok(const char *path, unsigned slot)
{
	char suffix[32];

	snprintf(suffix, sizeof(suffix), "/ws/%u", slot);
	return jr_sweep_path_clean(path) && ends_in(path, suffix);
}

bool jr_sweep_scratch_path_ok(const char *path, unsigned slot)
{
	const char *name;
	char suffix[32];

	if (!jr_sweep_path_clean(path))
		return false;
	name = strrchr(path, '/') + 1;
	snprintf(suffix, sizeof(suffix), "-%u", slot);
	return !strncmp(name, "jobrun-", 7) && strlen(name) > 7 + strlen(suffix) &&
	       ends_in(name, suffix);
}

/* A decimal number, digits only (no sign, no space), at most max. */
static bool parse_num(const char *s, unsigned long long max, unsigned long long *v)
{
	unsigned long long x = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 20 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (x > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

static bool valid_job_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= JR_SWEEP_JOB_MAX && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void bad_line(struct jr_lease_rec *rec, unsigned lineno, const char *why)
{
	if (!rec->bad++)
		snprintf(rec->why, sizeof(rec->why), "line %u: %s", lineno, why);
}

/* One complete line (no newline). cg_lines: the line number of each cgroup kept. */
static int parse_line(struct jr_lease_rec *rec, unsigned lineno, char *line, unsigned slot,
		      unsigned *cg_lines)
{
	unsigned long long v;
	char *val = strchr(line, ' '), *path, **dst = NULL;
	unsigned i;

	if (!val) {
		bad_line(rec, lineno, "not 'kind value'");
		return 0;
	}
	*val++ = '\0';
	if (!strcmp(line, "pid")) {
		if (rec->pid || !parse_num(val, INT_MAX, &v) || !v)
			bad_line(rec, lineno, "a bad or second pid");
		else
			rec->pid = (long)v;
	} else if (!strcmp(line, "uid")) {
		if (rec->have_uid || !parse_num(val, (uid_t)-2, &v)) {
			bad_line(rec, lineno, "a bad or second uid");
		} else {
			rec->uid = (uid_t)v;
			rec->have_uid = true;
		}
	} else if (!strcmp(line, "job")) {
		if (rec->job[0] || !valid_job_id(val))
			bad_line(rec, lineno, "a bad or second job id");
		else
			snprintf(rec->job, sizeof(rec->job), "%s", val);
	} else if (!strcmp(line, "cgroup")) {
		path = strchr(val, ' ');
		if (path)
			*path++ = '\0';
		if (!path || !parse_num(val, ULLONG_MAX, &v) || !v || !jr_sweep_path_clean(path)) {
			bad_line(rec, lineno, "a bad cgroup entry");
			return 0;
		}
		for (i = 0; i < rec->ncg; i++)
			if (!strcmp(rec->cg[i], path))
				return 0; /* once is enough */
		if (rec->ncg == JR_CG_N) {
			bad_line(rec, lineno, "more cgroups than hierarchies");
			return 0;
		}
		if (!(rec->cg[rec->ncg] = strdup(path)))
			return -ENOMEM;
		rec->cg_ino[rec->ncg] = v;
		cg_lines[rec->ncg++] = lineno;
	} else if (!strcmp(line, "ws") || !strcmp(line, "scratch")) {
		bool ws = line[0] == 'w';

		dst = ws ? &rec->ws : &rec->scratch;
		if (*dst || !(ws ? jr_sweep_ws_path_ok(val, slot) : jr_sweep_scratch_path_ok(val, slot)))
			bad_line(rec, lineno, ws ? "a bad or second workspace path"
						 : "a bad or second scratch path");
		else if (!(*dst = strdup(val)))
			return -ENOMEM;
	} else {
		bad_line(rec, lineno, "an unknown kind of entry");
	}
	return 0;
}

int jr_lease_rec_parse(const char *text, size_t len, unsigned slot, struct jr_lease_rec *rec)
{
	const char *p = text, *end = text + len, *nl;
	unsigned lineno = 0, cg_lines[JR_CG_N], i, k;
	char *line;
	int r = 0;

	memset(rec, 0, sizeof(*rec));
	while (p < end && r == 0) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			bad_line(rec, lineno, "an incomplete last line");
			break;
		}
		if (memchr(p, '\0', (size_t)(nl - p))) {
			bad_line(rec, lineno, "a NUL byte");
		} else {
			line = strndup(p, (size_t)(nl - p));
			r = line ? parse_line(rec, lineno, line, slot, cg_lines) : -ENOMEM;
			free(line);
		}
		p = nl + 1;
	}
	/* a cgroup is the job's only by the name its uid gives it */
	for (i = k = 0; i < rec->ncg; i++) {
		if (rec->have_uid && jr_sweep_cgroup_path_ok(rec->cg[i], rec->uid)) {
			rec->cg[k] = rec->cg[i];
			rec->cg_ino[k++] = rec->cg_ino[i];
			continue;
		}
		bad_line(rec, cg_lines[i], rec->have_uid ? "a cgroup not named after the job's uid"
							 : "a cgroup, but no uid");
		free(rec->cg[i]);
	}
	for (i = k; i < rec->ncg; i++)
		rec->cg[i] = NULL;
	rec->ncg = k;
	if (r < 0)
		jr_lease_rec_free(rec);
	return r;
}

void jr_lease_rec_free(struct jr_lease_rec *rec)
{
	unsigned i;

	for (i = 0; i < JR_CG_N; i++) {
		free(rec->cg[i]);
		rec->cg[i] = NULL;
	}
	free(rec->ws);
	free(rec->scratch);
	rec->ws = rec->scratch = NULL;
	rec->ncg = 0;
}

/* ---- writing it ---------------------------------------------------------------------------- */

void jr_sweep_note_cgroup(struct jr_uid_lease *lease, const struct jr_cgroup *cg)
{
	char line[4200];
	struct stat st;
	int c, d;

	for (c = 0; c < JR_CG_N; c++) {
		if (!cg->dir[c])
			continue;
		for (d = 0; d < c; d++)
			if (cg->dir[d] && !strcmp(cg->dir[d], cg->dir[c]))
				break;
		if (d < c || stat(cg->dir[c], &st) < 0)
			continue;
		if ((size_t)snprintf(line, sizeof(line), "%llu %s", (unsigned long long)st.st_ino,
				     cg->dir[c]) < sizeof(line))
			jr_uid_lease_note(lease, "cgroup", line);
	}
	jr_uid_lease_flush(lease);
}

void jr_sweep_note_scratch(struct jr_uid_lease *lease, int scratch_fd)
{
	char fdpath[64], path[PATH_MAX];
	ssize_t n;

	/* the kernel's absolute path of it: --scratch may have been given relative */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", scratch_fd);
	n = readlink(fdpath, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return;
	path[n] = '\0';
	jr_uid_lease_note(lease, "scratch", path);
}

/* ---- the report ---------------------------------------------------------------------------- */

void jr_sweep_report_init(struct jr_sweep_report *r, unsigned slot)
{
	memset(r, 0, sizeof(*r));
	r->slot = slot;
}

void jr_sweep_report_free(struct jr_sweep_report *r)
{
	size_t i;

	for (i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	r->lines = NULL;
	r->nlines = 0;
}

static void say(struct jr_sweep_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct jr_sweep_report *r, const char *fmt, ...)
{
	char **n, *line;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n = realloc(r->lines, (r->nlines + 1) * sizeof(*n));
	if (!n) {
		free(line);
		return;
	}
	r->lines = n;
	r->lines[r->nlines++] = line;
}

void jr_sweep_log(const struct jr_sweep_report *r)
{
	size_t i;

	if (!r->nlines)
		jr_info("uid slot %u: job %s of jobrun pid %ld, which died: nothing of it was left",
			r->slot, r->job[0] ? r->job : "?", r->pid);
	for (i = 0; i < r->nlines; i++)
		jr_warn("uid slot %u: job %s of jobrun pid %ld, which died: %s", r->slot,
			r->job[0] ? r->job : "?", r->pid, r->lines[i]);
}

/* ---- sweeping ------------------------------------------------------------------------------ */

static unsigned count_procs(const char *dir)
{
	char buf[65536];
	unsigned n = 0;
	char *p;

	if (jr_cg_read_text(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

/* The recorded cgroups that are still the job's, into cg (the memory one first: jr_cg_destroy
 * reclaims it there) with h saying each one's version. Returns how many. */
static int own_cgroups(const struct jr_lease_rec *rec, struct jr_cgroup *cg,
		       struct jr_cg_host *h, struct jr_sweep_report *r)
{
	struct statfs sf;
	struct stat st;
	unsigned i;
	int n = 0, c;

	memset(cg, 0, sizeof(*cg));
	memset(h, 0, sizeof(*h));
	cg->v2_fd = -1;
	for (c = 0; c < JR_CG_N; c++)
		cg->v1_procs[c] = -1;
	cg->applied = jr_cg_no_limits;
	for (i = 0; i < rec->ncg; i++) {
		const char *dir = rec->cg[i];

		if (lstat(dir, &st) < 0) {
			if (errno != ENOENT)
				say(r, "left alone: cgroup %s: %s", dir, strerror(errno));
			continue; /* ENOENT: removed already (a later job of its uid did) */
		}
		if (!S_ISDIR(st.st_mode) || statfs(dir, &sf) < 0 ||
		    (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC)) {
			say(r, "left alone: %s is not a cgroup", dir);
			continue;
		}
		if ((unsigned long long)st.st_ino != rec->cg_ino[i]) {
			/* a job of another runtime dir with the same uid made a new one since */
			say(r, "left alone: cgroup %s is not the job's (inode %llu, recorded %llu): "
			    "another was made under that name since", dir,
			    (unsigned long long)st.st_ino, rec->cg_ino[i]);
			continue;
		}
		cg->dir[n] = strdup(dir);
		if (!cg->dir[n])
			continue;
		h->ctrl[n].version = sf.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
		if (n > 0 && (jr_cg_exists(dir, "memory.force_empty") ||
			      jr_cg_exists(dir, "memory.reclaim"))) {
			char *t = cg->dir[0];
			int v = h->ctrl[0].version;

			cg->dir[0] = cg->dir[n];
			h->ctrl[0].version = h->ctrl[n].version;
			cg->dir[n] = t;
			h->ctrl[n].version = v;
		}
		n++;
	}
	return n;
}

/* Kill what the cgroups hold, wait until they are empty: 0, or -EBUSY with busy naming a
 * directory that still holds processes. */
static int empty_cgroups(struct jr_cgroup *cg, struct jr_cg_host *h, int n,
			 struct jr_sweep_report *r, char *busy, size_t bsz)
{
	struct jr_err err;
	unsigned k;
	int c;

	for (c = 0; c < n; c++) {
		k = count_procs(cg->dir[c]);
		if (k > r->killed)
			r->killed = k;
	}
	jr_err_clear(&err);
	/* cg->version 0: jr_cg_kill_wait reads each directory (no v1 fds are open here) */
	if (jr_cg_kill_wait(cg, h, JR_SWEEP_KILL_MS, &err) < 0) {
		say(r, "left: %s", err.msg);
		for (c = 0; c < n; c++)
			if (count_procs(cg->dir[c]) || c == n - 1) {
				snprintf(busy, bsz, "%s", cg->dir[c]);
				break;
			}
		return -EBUSY;
	}
	if (r->killed)
		say(r, "killed %u process%s left in the job's cgroups", r->killed,
		    r->killed == 1 ? "" : "es");
	return 0;
}

static void sweep_ws(const char *runtime_dir, unsigned slot, struct jr_sweep_report *r)
{
	char ws[PATH_MAX];
	int mounts = 0;

	/* the runtime dir swept, not the string recorded: the same directory by its lease */
	snprintf(ws, sizeof(ws), "%s/ws/%u", runtime_dir, slot);
	while (umount2(ws, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		mounts++;
	if (mounts) {
		say(r, "unmounted the workspace %s", ws);
		r->removed++;
	}
	if (rmdir(ws) < 0 && errno != ENOENT)
		say(r, "could not remove the workspace mount point %s: %s", ws, strerror(errno));
}

static void sweep_scratch(const struct jr_lease_rec *rec, struct jr_sweep_report *r)
{
	char *base = strdup(rec->scratch), *name;
	struct jr_err err;
	struct stat st;
	int fd;

	if (!base)
		return;
	name = strrchr(base, '/');
	*name++ = '\0';
	jr_err_clear(&err);
	/* the caller's --scratch, reached by the caller-path rule (a job could write there) */
	fd = jr_cp_open("scratch", base[0] ? base : "/", JR_CP_DIR, &err);
	if (fd < 0) {
		if (fd != -ENOENT)
			say(r, "left alone: %s", err.msg);
		free(base);
		return;
	}
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(st.st_mode))
			say(r, "left alone: %s is not a directory", rec->scratch);
		else if (jr_scratch_remove(fd, name, &err) < 0)
			say(r, "could not remove the scratch directory: %s", err.msg);
		else {
			say(r, "removed the scratch directory %s", rec->scratch);
			r->removed++;
		}
	}
	if (rec->have_uid) {
		jr_err_clear(&err);
		if (jr_quota_clear(fd, rec->uid, &err) < 0) {
			say(r, "could not clear the quota of uid %u on %s: %s", (unsigned)rec->uid,
			    base[0] ? base : "/", err.msg);
		} else {
			say(r, "cleared the user quota of uid %u on %s", (unsigned)rec->uid,
			    base[0] ? base : "/");
			r->removed++;
		}
	}
	close(fd);
	free(base);
}

/* Remove the emptied cgroups: 0, or -EBUSY with busy naming one that is left. */
static int remove_cgroups(struct jr_cgroup *cg, int n, struct jr_sweep_report *r, char *busy,
			  size_t bsz)
{
	char *dirs[JR_CG_N];
	struct jr_err err;
	int c, rc = 0;

	for (c = 0; c < n; c++)
		dirs[c] = strdup(cg->dir[c]);
	jr_err_clear(&err);
	jr_cg_destroy(cg, &err); /* and jobrun/ above each, when no other job uses it */
	for (c = 0; c < n; c++) {
		if (!dirs[c])
			continue;
		if (access(dirs[c], F_OK) < 0 && errno == ENOENT) {
			say(r, "removed cgroup %s", dirs[c]);
			r->removed++;
		} else {
			say(r, "could not remove cgroup %s: %s", dirs[c],
			    err.msg[0] ? err.msg : "it is still there");
			if (!rc)
				snprintf(busy, bsz, "%s", dirs[c]);
			rc = -EBUSY;
		}
		free(dirs[c]);
	}
	return rc;
}

int jr_sweep_slot(const char *runtime_dir, int dirfd, unsigned slot, int fd,
		  struct jr_sweep_report *r)
{
	char busy[PATH_MAX] = "", marker[32];
	struct jr_lease_rec rec;
	struct jr_cg_host h;
	struct jr_cgroup cg;
	ssize_t len;
	char *text;
	int n, rc = 0;

	r->slot = slot;
	text = malloc(JR_SWEEP_REC_MAX);
	if (!text)
		return -ENOMEM;
	len = pread(fd, text, JR_SWEEP_REC_MAX, 0);
	if (len < 0) {
		rc = -errno;
		say(r, "cannot read the lease's record: %s", strerror(errno));
		free(text);
		return rc;
	}
	rc = jr_lease_rec_parse(text, (size_t)len, slot, &rec);
	free(text);
	if (rc < 0)
		return rc;
	r->pid = rec.pid;
	r->uid = rec.uid;
	r->have_uid = rec.have_uid;
	snprintf(r->job, sizeof(r->job), "%s", rec.job);
	if (rec.bad)
		say(r, "left alone: %u line%s of the record (%s)", rec.bad, rec.bad == 1 ? "" : "s",
		    rec.why);
	/* the order of a job's own end: its processes, its workspace (its pages are the job's),
	 * its scratch directory, then its cgroups */
	n = own_cgroups(&rec, &cg, &h, r);
	if (n > 0)
		rc = empty_cgroups(&cg, &h, n, r, busy, sizeof(busy));
	if (rec.ws)
		sweep_ws(runtime_dir, slot, r);
	if (rec.scratch)
		sweep_scratch(&rec, r);
	if (n > 0 && rc == 0)
		rc = remove_cgroups(&cg, n, r, busy, sizeof(busy));
	else
		jr_cg_release(&cg);
	jr_lease_rec_free(&rec);
	if (rc < 0) {
		jr_uid_quarantine_slot(runtime_dir, slot, busy);
		say(r, "uid slot %u quarantined while %s is left", slot, busy);
		return rc;
	}
	if (ftruncate(fd, 0) < 0) {
		say(r, "cannot empty the lease's record: %s", strerror(errno));
		return -EIO;
	}
	r->complete = true;
	snprintf(marker, sizeof(marker), "%u.dirty", slot);
	if (faccessat(dirfd, marker, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !jr_uid_quarantined(dirfd, slot))
		say(r, "lifted the quarantine of uid slot %u: what it named is gone", slot);
	return 0;
}

/* A lease file's name: a slot number, nothing else ("3", not "03" nor "3.dirty"). */
static bool slot_name(const char *s, unsigned *slot)
{
	unsigned long long v;

	if (!parse_num(s, UINT_MAX - 1, &v))
		return false;
	*slot = (unsigned)v;
	return true;
}

int jr_sweep_all(const char *runtime_dir,
		 void (*found)(void *data, const struct jr_sweep_report *r), void *data,
		 struct jr_err *err)
{
	struct jr_sweep_report r;
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	int dirfd, fd, n = 0;
	unsigned slot;
	DIR *d;

	snprintf(path, sizeof(path), "%s/uids", runtime_dir);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return errno == ENOENT ? 0 : jr_err_set(err, errno, "open %s", path);
	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e2 = errno;

		if (fd >= 0)
			close(fd);
		close(dirfd);
		return jr_err_set(err, e2, "read %s", path);
	}
	while ((e = readdir(d))) {
		if (!slot_name(e->d_name, &slot))
			continue;
		fd = openat(dirfd, e->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			continue;
		/* an empty record, or a held lease (a live job): not ours to look at */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
		    flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
			close(fd);
			continue;
		}
		jr_sweep_report_init(&r, slot);
		jr_sweep_slot(runtime_dir, dirfd, slot, fd, &r);
		close(fd);
		n++;
		if (found)
			found(data, &r);
		jr_sweep_report_free(&r);
	}
	closedir(d);
	close(dirfd);
	return n;
}
