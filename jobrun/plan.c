/* plan.c - build the list of steps that make a job's root. Runs in the parent. */
#define _GNU_SOURCE
#include "plan.h"
#include "callerpath.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define ATTR_RO (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define ATTR_RW (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define ATTR_DEV (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)

/* Made as device nodes on /dev's own tmpfs (not bound from the host's devtmpfs, whose mount
 * line in /proc/self/mountinfo would tell the job the host's memory size). */
static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
	{ "urandom", 1, 9 },
};

static const char *const dev_links[][2] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
};

static struct jr_step *push(struct jr_plan *plan, enum jr_step_kind kind)
{
	struct jr_step *s;

	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 64;

		s = realloc(plan->steps, cap * sizeof(*s));
		if (!s)
			return NULL;
		plan->steps = s;
		plan->cap = cap;
	}
	s = &plan->steps[plan->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->src_fd = -1;
	return s;
}

static const char *str(struct jr_plan *plan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *str(struct jr_plan *plan, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return NULL;
	if (jr_strv_push_take(&plan->strings, s) < 0)
		return NULL;
	return s;
}

static int nomem(struct jr_err *err)
{
	return jr_err_set(err, ENOMEM, "building the sandbox plan");
}

static int add_mkdir(struct jr_plan *plan, const char *dst, mode_t mode, uid_t uid, gid_t gid)
{
	struct jr_step *s = dst ? push(plan, JR_STEP_MKDIR) : NULL;

	if (!s)
		return -ENOMEM;
	s->dst = dst;
	s->mode = mode;
	s->uid = uid;
	s->gid = gid;
	return 0;
}

static int planned_dir(const struct jr_plan *plan, const char *dst)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (plan->steps[i].kind == JR_STEP_MKDIR && !strcmp(plan->steps[i].dst, dst))
			return 1;
	return 0;
}

/* Plan mkdir steps for every parent of `inside` (an absolute path) under root. */
static int add_parents(struct jr_plan *plan, const char *root, const char *inside)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s%s", root, inside) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		const char *d;

		*p = '\0';
		if (!planned_dir(plan, buf)) {
			d = str(plan, "%s", buf);
			if (!d || add_mkdir(plan, d, 0755, 0, 0) < 0)
				return -ENOMEM;
		}
		*p = '/';
	}
	return 0;
}

/* An absolute path with no "." or ".." component. */
static int normal_path(const char *p)
{
	if (p[0] != '/')
		return 0;
	while (*p) {
		size_t n = strcspn(++p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
	}
	return 1;
}

/* The job's own mounts, made after the host paths (a host path there would be hidden), and
 * what the plan writes itself (a bind there would cover it, or the whole root). */
const char *jr_plan_own_path(const char *host, int with_scratch)
{
	static const char *const own[] = { "/tmp", "/job", "/dev", "/proc", "/scratch" };
	static const char *const exact[] = { "/", "/etc", "/etc/passwd", "/etc/group", "/etc/hosts" };
	size_t i, n, nown = sizeof(own) / sizeof(own[0]) - (with_scratch ? 0 : 1);

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(host, exact[i]))
			return exact[i];
	for (i = 0; i < nown; i++) {
		n = strlen(own[i]);
		if (!strncmp(host, own[i], n) && (host[n] == '\0' || host[n] == '/'))
			return own[i];
	}
	return NULL;
}

/* Is host below the source of a recursive bind planned already? */
static int covered(const struct jr_plan *plan, const char *host)
{
	size_t i, n;

	for (i = 0; i < plan->n; i++) {
		const struct jr_step *s = &plan->steps[i];

		if (s->kind != JR_STEP_BIND || !s->rec || !s->src)
			continue;
		n = strlen(s->src);
		if (!strncmp(host, s->src, n) && (host[n] == '/' || host[n] == '\0'))
			return 1;
	}
	return 0;
}

/* The plan owns fd from now on. */
static int keep_fd(struct jr_plan *plan, int fd)
{
	int *v = realloc(plan->fds, (plan->nfds + 1) * sizeof(*v));

	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	plan->fds = v;
	plan->fds[plan->nfds++] = fd;
	return 0;
}

/* Mirror host path `host` at the same place under root: a symlink stays a symlink, a directory
 * is bound recursively, anything else is bound as a file. Missing and optional: skipped. The
 * path is resolved once into a descriptor by the caller-path rule (a symlink planted by a job
 * is never followed), and the bind is made from that descriptor. */
static int add_host_path(struct jr_plan *plan, const struct jr_ids *ids, const char *root,
			 const char *host, unsigned long long attr, int optional,
			 struct jr_err *err)
{
	char target[PATH_MAX];
	struct jr_step *s;
	const char *dst;
	struct stat st;
	const char *own;
	int fd, r;

	if (!normal_path(host))
		return jr_err_set(err, 0, "bind source '%s' must be an absolute, normal path", host);
	own = jr_plan_own_path(host, ids->scratch_dir != NULL);
	if (own)
		return jr_err_set(err, 0, "bind source '%s' would cover the job's own %s", host, own);
	if (covered(plan, host))
		return 0; /* already visible, read-only, through a bind of a parent directory */
	r = jr_cp_bind_source("--ro-bind (or system bind)", host, &fd, &st, target, sizeof(target), err);
	if (r < 0) {
		if (err->code == ENOENT && optional)
			return 0;
		if (err->code != ENOENT && err->code != ENOTDIR)
			err->code = 0; /* refused by the rule: the caller's doing (RJ) */
		return r;
	}
	if (fd >= 0 && keep_fd(plan, fd) < 0)
		return nomem(err);
	if (add_parents(plan, root, host) < 0 || !(dst = str(plan, "%s%s", root, host)))
		return nomem(err);
	if (r == 1) {
		s = push(plan, JR_STEP_SYMLINK);
		if (!s || !(s->src = str(plan, "%s", target)))
			return nomem(err);
		s->dst = dst;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!planned_dir(plan, dst) && add_mkdir(plan, dst, 0755, 0, 0) < 0)
			return nomem(err);
	} else {
		s = push(plan, JR_STEP_FILE);
		if (!s)
			return nomem(err);
		s->dst = dst;
		s->src = "";
		s->mode = 0444;
	}
	s = push(plan, JR_STEP_BIND);
	if (!s || !(s->src = str(plan, "%s", host)))
		return nomem(err);
	s->src_fd = fd;
	s->dst = dst;
	s->attr = attr;
	s->rec = S_ISDIR(st.st_mode);
	return 0;
}

static int add_file(struct jr_plan *plan, const char *dst, const char *content, mode_t mode)
{
	struct jr_step *s = push(plan, JR_STEP_FILE);

	if (!s || !dst || !content)
		return -ENOMEM;
	s->dst = dst;
	s->src = content;
	s->len = strlen(content);
	s->mode = mode;
	return 0;
}

static int add_tmpfs(struct jr_plan *plan, const char *dst, const char *data,
		     unsigned long flags)
{
	struct jr_step *s = push(plan, JR_STEP_TMPFS);

	if (!s || !dst || !data)
		return -ENOMEM;
	s->dst = dst;
	s->data = data;
	s->flags = flags;
	return 0;
}

static int add_bind(struct jr_plan *plan, const char *src, const char *dst,
		    unsigned long long attr, int rec)
{
	struct jr_step *s = push(plan, JR_STEP_BIND);

	if (!s || !src || !dst)
		return -ENOMEM;
	s->src = src;
	s->src_fd = -1;
	s->dst = dst;
	s->attr = attr;
	s->rec = rec;
	return 0;
}

static int add_simple(struct jr_plan *plan, enum jr_step_kind kind, const char *src,
		      const char *dst, unsigned long long attr)
{
	struct jr_step *s = push(plan, kind);
	int needs_dst = kind != JR_STEP_HOSTNAME && kind != JR_STEP_LOOPBACK;

	if (!s || (needs_dst && !dst) || (kind == JR_STEP_SYMLINK && !src))
		return -ENOMEM;
	s->src = src;
	s->dst = dst;
	s->attr = attr;
	return 0;
}

/* The writable storage: one tmpfs (one size limit) holding the workspace, /tmp and /dev/shm. */
static int plan_scratch(struct jr_plan *plan, const struct jr_spec *spec,
			const struct jr_ids *ids, const char *scratch)
{
	unsigned long long inodes = spec->disk_bytes / 4096 + 1024;

	if (ids->storage)
		return 0; /* the workspace: one tmpfs of the job's disk limit, job/ tmp/ shm/ made */
	if (add_tmpfs(plan, scratch,
		      str(plan, "size=%llu,nr_inodes=%llu,mode=0755",
			  (unsigned long long)spec->disk_bytes, inodes),
		      MS_NOSUID | MS_NODEV) < 0)
		return -ENOMEM;
	if (!spec->workdir &&
	    add_mkdir(plan, str(plan, "%s/job", scratch), 0755, ids->uid, ids->gid) < 0)
		return -ENOMEM;
	if (add_mkdir(plan, str(plan, "%s/tmp", scratch), 01777, 0, 0) < 0 ||
	    add_mkdir(plan, str(plan, "%s/shm", scratch), 01777, 0, 0) < 0)
		return -ENOMEM;
	return 0;
}

static int plan_etc(struct jr_plan *plan, const struct jr_spec *spec, const struct jr_ids *ids,
		    const char *root, struct jr_err *err)
{
	size_t i;
	int r;

	if (add_mkdir(plan, str(plan, "%s/etc", root), 0755, 0, 0) < 0 ||
	    add_file(plan, str(plan, "%s/etc/passwd", root),
		     str(plan, "root:x:0:0:root:/root:/usr/sbin/nologin\n"
			       "job:x:%u:%u:job:%s:/bin/sh\n"
			       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
			 (unsigned)ids->uid, (unsigned)ids->gid,
			 spec->job_mount ? spec->job_mount : "/job"), 0444) < 0 ||
	    add_file(plan, str(plan, "%s/etc/group", root),
		     str(plan, "root:x:0:\njob:x:%u:\nnogroup:x:65534:\n", (unsigned)ids->gid),
		     0444) < 0 ||
	    add_file(plan, str(plan, "%s/etc/hosts", root),
		     str(plan, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost\n",
			 spec->hostname), 0444) < 0)
		return nomem(err);
	for (i = 0; i < spec->etc_files.n; i++) {
		r = add_host_path(plan, ids, root, spec->etc_files.v[i], ATTR_RO, 1, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int plan_dev(struct jr_plan *plan, const char *root, const char *scratch)
{
	size_t i;

	if (add_mkdir(plan, str(plan, "%s/dev", root), 0755, 0, 0) < 0 ||
	    add_tmpfs(plan, str(plan, "%s/dev", root), "size=64k,nr_inodes=64,mode=0755",
		      MS_NOSUID | MS_NOEXEC) < 0)
		return -ENOMEM;
	for (i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		struct jr_step *s = push(plan, JR_STEP_MKNOD);

		if (!s || !(s->dst = str(plan, "%s/dev/%s", root, dev_nodes[i].name)))
			return -ENOMEM;
		s->mode = 0666;
		s->rdev = makedev(dev_nodes[i].major, dev_nodes[i].minor);
	}
	for (i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		if (add_simple(plan, JR_STEP_SYMLINK, dev_links[i][1],
			       str(plan, "%s/dev/%s", root, dev_links[i][0]), 0) < 0)
			return -ENOMEM;
	if (add_mkdir(plan, str(plan, "%s/dev/shm", root), 0755, 0, 0) < 0 ||
	    add_bind(plan, str(plan, "%s/shm", scratch), str(plan, "%s/dev/shm", root), ATTR_RW,
		     0) < 0)
		return -ENOMEM;
	return 0;
}

static int plan_root(struct jr_plan *plan, const struct jr_spec *spec, const struct jr_ids *ids,
		     const char *root, const char *scratch, struct jr_err *err)
{
	const char *mnt;
	int own_tmp = 1;
	size_t i;
	int r;

	if (add_tmpfs(plan, root, "size=1m,nr_inodes=4096,mode=0755", MS_NOSUID | MS_NODEV) < 0)
		return nomem(err);
	for (i = 0; i < spec->sys_binds.n; i++) {
		r = add_host_path(plan, ids, root, spec->sys_binds.v[i], ATTR_RO, 1, err);
		if (r < 0)
			return r;
	}
	r = plan_etc(plan, spec, ids, root, err);
	if (r < 0)
		return r;
	if (plan_dev(plan, root, scratch) < 0)
		return nomem(err);
	if (add_mkdir(plan, str(plan, "%s/proc", root), 0555, 0, 0) < 0 ||
	    add_simple(plan, JR_STEP_PROC, NULL, str(plan, "%s/proc", root), 0) < 0)
		return nomem(err);
	plan->steps[plan->n - 1].data = "subset=pid,hidepid=invisible";
	plan->steps[plan->n - 1].flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	mnt = spec->job_mount ? spec->job_mount : "/job";
	if (add_parents(plan, root, mnt) < 0 ||
	    add_mkdir(plan, str(plan, "%s%s", root, mnt), 0755, 0, 0) < 0 ||
	    add_bind(plan, spec->workdir ? str(plan, "%s", spec->workdir)
					 : str(plan, "%s/job", scratch),
		     str(plan, "%s%s", root, mnt), ATTR_RW, 1) < 0)
		return nomem(err);
	if (spec->workdir)
		plan->steps[plan->n - 1].src_fd = ids->workdir_fd > 2 ? ids->workdir_fd : -1;
	for (i = 0; i < spec->nbinds; i++)
		if (!strcmp(spec->binds[i].inside, "/tmp"))
			own_tmp = 0;
	if (add_mkdir(plan, str(plan, "%s/tmp", root), 0755, 0, 0) < 0 ||
	    (own_tmp && add_bind(plan, str(plan, "%s/tmp", scratch), str(plan, "%s/tmp", root),
				 ATTR_RW, 0) < 0))
		return nomem(err);
	for (i = 0; i < spec->nbinds; i++) {
		const struct jr_bind *b = &spec->binds[i];
		const char *dst = str(plan, "%s%s", root, b->inside);

		if (!normal_path(b->inside) || !strcmp(b->inside, "/"))
			return jr_err_set(err, 0, "bind target '%s' must be an absolute, normal path",
					  b->inside);
		if (!dst || add_parents(plan, root, b->inside) < 0 ||
		    (!planned_dir(plan, dst) && add_mkdir(plan, dst, 0755, 0, 0) < 0) ||
		    add_bind(plan, str(plan, "%s", b->host), dst,
			     (b->flags & JR_BIND_RW ? ATTR_RW : ATTR_RO) |
			     (b->flags & JR_BIND_NOEXEC ? MOUNT_ATTR_NOEXEC : 0),
			     !(b->flags & JR_BIND_NOREC)) < 0)
			return nomem(err);
		plan->steps[plan->n - 1].src_fd =
			ids->bind_fds && ids->bind_fds[i] > 2 ? ids->bind_fds[i] : -1;
	}
	if (ids->scratch_dir &&
	    (add_mkdir(plan, str(plan, "%s/scratch", root), 0755, 0, 0) < 0 ||
	     add_bind(plan, str(plan, "%s", ids->scratch_dir), str(plan, "%s/scratch", root),
		      ATTR_RW, 0) < 0))
		return nomem(err);
	if (ids->scratch_dir)
		plan->steps[plan->n - 1].src_fd = ids->scratch_fd > 2 ? ids->scratch_fd : -1;
	return 0;
}

int jr_plan_build(struct jr_plan *plan, const struct jr_spec *spec, const struct jr_ids *ids,
		  const char *root, const char *scratch, struct jr_err *err)
{
	int r;

	memset(plan, 0, sizeof(*plan));
	/* Steps keep pointers: root and scratch are the caller's (stack) buffers, gone by the
	 * time the clone child runs the plan. The plan owns a copy. */
	root = str(plan, "%s", root);
	scratch = ids->storage ? str(plan, "%s", ids->storage) : str(plan, "%s", scratch);
	if (!root || !scratch) {
		r = nomem(err);
		goto out_free;
	}
	if (add_simple(plan, JR_STEP_PRIVATE, NULL, "/", 0) < 0 ||
	    add_simple(plan, JR_STEP_HOSTNAME, spec->hostname, NULL, 0) < 0 ||
	    add_simple(plan, JR_STEP_LOOPBACK, NULL, NULL, 0) < 0 ||
	    plan_scratch(plan, spec, ids, scratch) < 0) {
		r = nomem(err);
		goto out_free;
	}
	r = plan_root(plan, spec, ids, root, scratch, err);
	if (r < 0)
		goto out_free;
	if (add_simple(plan, JR_STEP_PIVOT, NULL, root, 0) < 0 ||
	    add_simple(plan, JR_STEP_SETATTR, NULL, "/dev", MOUNT_ATTR_RDONLY | ATTR_DEV) < 0 ||
	    add_simple(plan, JR_STEP_SETATTR, NULL, "/", ATTR_RO) < 0) {
		r = nomem(err);
		goto out_free;
	}
	return 0;
out_free:
	jr_plan_free(plan);
	return r;
}

/* Each bind from a descriptor: a detached copy of the tree, made here in jobrun's own mount
 * namespace (open_tree clones only mounts of the caller's namespace: the clone child, in a
 * new one, could not), moved into place by the child. */
int jr_plan_detach(struct jr_plan *plan, struct jr_err *err)
{
	size_t i;
	int fd;

	for (i = 0; i < plan->n; i++) {
		struct jr_step *s = &plan->steps[i];

		if (s->kind != JR_STEP_BIND || s->src_fd < 0)
			continue;
		fd = open_tree(s->src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
					      (s->rec ? AT_RECURSIVE : 0));
		if (fd < 0)
			return jr_err_set(err, errno, "copy the mount tree of %s", s->src);
		if (keep_fd(plan, fd) < 0)
			return nomem(err);
		s->src_fd = fd;
		s->detached = 1;
	}
	return 0;
}

void jr_plan_describe(const struct jr_plan *plan, size_t i, char *buf, size_t len)
{
	const struct jr_step *s;

	if (i >= plan->n) {
		snprintf(buf, len, "step %zu", i);
		return;
	}
	s = &plan->steps[i];
	switch (s->kind) {
	case JR_STEP_PRIVATE: snprintf(buf, len, "make mounts private"); break;
	case JR_STEP_HOSTNAME: snprintf(buf, len, "set hostname '%s'", s->src); break;
	case JR_STEP_LOOPBACK: snprintf(buf, len, "bring up loopback"); break;
	case JR_STEP_TMPFS: snprintf(buf, len, "mount tmpfs at %s (%s)", s->dst, s->data); break;
	case JR_STEP_PROC: snprintf(buf, len, "mount proc at %s", s->dst); break;
	case JR_STEP_MKDIR: snprintf(buf, len, "create directory %s", s->dst); break;
	case JR_STEP_FILE: snprintf(buf, len, "create file %s", s->dst); break;
	case JR_STEP_SYMLINK: snprintf(buf, len, "symlink %s -> %s", s->dst, s->src); break;
	case JR_STEP_MKNOD: snprintf(buf, len, "create device %s", s->dst); break;
	case JR_STEP_BIND: snprintf(buf, len, "bind %s at %s", s->src, s->dst); break;
	case JR_STEP_PIVOT: snprintf(buf, len, "pivot_root into %s", s->dst); break;
	case JR_STEP_SETATTR: snprintf(buf, len, "set mount attributes on %s", s->dst); break;
	}
}

void jr_plan_free(struct jr_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nfds; i++)
		close(plan->fds[i]);
	free(plan->fds);
	free(plan->steps);
	jr_strv_free(&plan->strings);
	memset(plan, 0, sizeof(*plan));
}
