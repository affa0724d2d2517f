/* test_plan.c - the sandbox plan (plan.c): which steps, in which order, with what. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "plan.h"
#include "spec.h"

#define ROOT "/x/root"
#define SCRATCH "/x/scratch"
#define UID 1500000042u
#define GID 1500000043u

#define A_RO (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define A_RW (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define A_DEV (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)

/* The fixture: T/d/ (with T/d/sub/), T/f, T/l -> d/sub, T/abs -> /nonexistent/target,
 * T/etcfile, and T/missing, which is not created. */
static char T[PATH_MAX];

static void path(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s/%s", T, rel);
}

static void in_root(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s%s/%s", ROOT, T, rel);
}

static void write_file(const char *rel, const char *content)
{
	char p[PATH_MAX];
	FILE *f;

	path(p, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static int setup_group(void **state)
{
	char p[PATH_MAX];

	(void)state;
	/* not under /tmp: the job's /tmp is a mount of its own (see binds_are_not_hidden) */
	snprintf(T, sizeof(T), "%s", access("/var/tmp", W_OK) == 0
					     ? "/var/tmp/jobrun-test-plan.XXXXXX"
					     : "/tmp/jobrun-test-plan.XXXXXX");
	if (!mkdtemp(T))
		return -1;
	path(p, "d");
	if (mkdir(p, 0755) < 0)
		return -1;
	path(p, "d/sub");
	if (mkdir(p, 0755) < 0)
		return -1;
	write_file("f", "a file\n");
	write_file("etcfile", "x=1\n");
	path(p, "l");
	if (symlink("d/sub", p) < 0)
		return -1;
	path(p, "abs");
	if (symlink("/nonexistent/target", p) < 0)
		return -1;
	return 0;
}

static int teardown_group(void **state)
{
	static const char *const files[] = { "abs", "l", "etcfile", "f", "d/sub", "d", NULL };
	char p[PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; files[i]; i++) {
		path(p, files[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	return rmdir(T);
}

/* A spec whose host paths are all in the fixture. */
static void fixture_spec(struct jr_spec *spec)
{
	char p[PATH_MAX];

	jr_spec_init(spec);
	jr_strv_free(&spec->sys_binds);
	jr_strv_free(&spec->etc_files);
	path(p, "d");
	jr_strv_push(&spec->sys_binds, p);
	path(p, "f");
	jr_strv_push(&spec->sys_binds, p);
	path(p, "l");
	jr_strv_push(&spec->sys_binds, p);
	path(p, "missing");
	jr_strv_push(&spec->sys_binds, p);
	path(p, "abs");
	jr_strv_push(&spec->sys_binds, p);
	path(p, "etcfile");
	jr_strv_push(&spec->etc_files, p);
	path(p, "missing-etc");
	jr_strv_push(&spec->etc_files, p);
}

static void build(struct jr_plan *plan, const struct jr_spec *spec)
{
	struct jr_ids ids = { .uid = UID, .gid = GID };
	struct jr_err err;
	int r;

	jr_err_clear(&err);
	r = jr_plan_build(plan, spec, &ids, ROOT, SCRATCH, &err);
	if (r < 0)
		print_error("jr_plan_build: %d %s\n", r, err.msg);
	assert_int_equal(r, 0);
	assert_true(plan->n > 0);
}

/* Index of the first step of kind with dst (and src, when given); -1 when there is none. */
static long find(const struct jr_plan *plan, enum jr_step_kind kind, const char *dst,
		 const char *src)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct jr_step *s = &plan->steps[i];

		if (s->kind == kind && s->dst && !strcmp(s->dst, dst) &&
		    (!src || (s->src && !strcmp(s->src, src))))
			return (long)i;
	}
	return -1;
}

static long must_find(const struct jr_plan *plan, enum jr_step_kind kind, const char *dst,
		      const char *src)
{
	long i = find(plan, kind, dst, src);

	if (i < 0)
		print_error("no step of kind %d at %s (src %s)\n", (int)kind, dst, src ? src : "-");
	assert_true(i >= 0);
	return i;
}

static size_t count(const struct jr_plan *plan, enum jr_step_kind kind, const char *dst)
{
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++)
		if (plan->steps[i].kind == kind && plan->steps[i].dst &&
		    !strcmp(plan->steps[i].dst, dst))
			n++;
	return n;
}

static int is_mount(enum jr_step_kind k)
{
	return k == JR_STEP_TMPFS || k == JR_STEP_PROC || k == JR_STEP_BIND;
}

/* dst is below dir ("/a/b" below "/a", not below "/ab") */
static int below(const char *dst, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(dst, dir, n) && dst[n] == '/';
}

/* ---- the shape of a plan ---------------------------------------------------------------- */

static void first_and_last_steps(void **state)
{
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);

	s = &plan.steps[0];
	assert_int_equal(s->kind, JR_STEP_PRIVATE);
	assert_string_equal(s->dst, "/");
	s = &plan.steps[1];
	assert_int_equal(s->kind, JR_STEP_HOSTNAME);
	assert_string_equal(s->src, "jobrun");
	assert_int_equal(plan.steps[2].kind, JR_STEP_LOOPBACK);
	/* the scratch tmpfs: 256M, one inode per 4K plus 1024 */
	s = &plan.steps[3];
	assert_int_equal(s->kind, JR_STEP_TMPFS);
	assert_string_equal(s->dst, SCRATCH);
	assert_string_equal(s->data, "size=268435456,nr_inodes=66560,mode=0755");
	assert_int_equal(s->flags, MS_NOSUID | MS_NODEV);
	/* the root tmpfs comes after the scratch directories, before anything under the root */
	assert_int_equal(count(&plan, JR_STEP_TMPFS, ROOT), 1);
	s = &plan.steps[must_find(&plan, JR_STEP_TMPFS, ROOT, NULL)];
	assert_string_equal(s->data, "size=1m,nr_inodes=4096,mode=0755");
	assert_int_equal(s->flags, MS_NOSUID | MS_NODEV);
	assert_true(must_find(&plan, JR_STEP_TMPFS, ROOT, NULL) >
		    must_find(&plan, JR_STEP_MKDIR, SCRATCH "/shm", NULL));
	assert_true(must_find(&plan, JR_STEP_TMPFS, ROOT, NULL) <
		    must_find(&plan, JR_STEP_MKDIR, ROOT "/etc", NULL));

	/* pivot, then /dev read-only, then / read-only: the last three */
	assert_true(plan.n > 10);
	s = &plan.steps[plan.n - 3];
	assert_int_equal(s->kind, JR_STEP_PIVOT);
	assert_string_equal(s->dst, ROOT);
	s = &plan.steps[plan.n - 2];
	assert_int_equal(s->kind, JR_STEP_SETATTR);
	assert_string_equal(s->dst, "/dev");
	assert_int_equal(s->attr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	s = &plan.steps[plan.n - 1];
	assert_int_equal(s->kind, JR_STEP_SETATTR);
	assert_string_equal(s->dst, "/");
	assert_int_equal(s->attr, A_RO);
	/* one of each */
	assert_int_equal(count(&plan, JR_STEP_PIVOT, ROOT), 1);
	assert_int_equal(count(&plan, JR_STEP_PRIVATE, "/"), 1);
	jr_plan_free(&plan);
	assert_null(plan.steps);
	assert_int_equal(plan.n, 0);
	jr_spec_free(&spec);
}

static void scratch_sizes_follow_disk(void **state)
{
	struct jr_plan plan;
	struct jr_spec spec;

	(void)state;
	fixture_spec(&spec);
	spec.disk_bytes = 1ULL << 30;
	free(spec.hostname);
	spec.hostname = strdup("box-7");
	build(&plan, &spec);
	assert_string_equal(plan.steps[3].data, "size=1073741824,nr_inodes=263168,mode=0755");
	assert_string_equal(plan.steps[1].src, "box-7");
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

/* Every step that creates something under the root or the scratch finds its parent made by an
 * earlier step (or the parent is the root or scratch itself). */
static void parents_before_children(void **state)
{
	struct jr_plan plan;
	struct jr_spec spec;
	size_t i, j;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	for (i = 0; i < plan.n; i++) {
		const struct jr_step *s = &plan.steps[i];
		char parent[PATH_MAX];
		char *slash;
		int found = 0;

		if (!s->dst || s->kind == JR_STEP_SETATTR || s->kind == JR_STEP_PIVOT ||
		    (!below(s->dst, ROOT) && !below(s->dst, SCRATCH)))
			continue;
		snprintf(parent, sizeof(parent), "%s", s->dst);
		slash = strrchr(parent, '/');
		*slash = '\0';
		if (!strcmp(parent, ROOT) || !strcmp(parent, SCRATCH))
			continue;
		for (j = 0; j < i && !found; j++)
			if (plan.steps[j].dst && !strcmp(plan.steps[j].dst, parent) &&
			    (plan.steps[j].kind == JR_STEP_MKDIR ||
			     plan.steps[j].kind == JR_STEP_TMPFS))
				found = 1;
		if (!found)
			print_error("step %zu (%s): parent %s not made before\n", i, s->dst, parent);
		assert_true(found);
	}
	/* and no directory is planned twice */
	for (i = 0; i < plan.n; i++)
		if (plan.steps[i].kind == JR_STEP_MKDIR)
			assert_int_equal(count(&plan, JR_STEP_MKDIR, plan.steps[i].dst), 1);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

/* ---- host paths mirrored under the root ------------------------------------------------- */

static void bind_directory(void **state)
{
	char src[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX], parent[PATH_MAX];
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;
	long mk, b;
	char *slash;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	path(src, "d");
	in_root(dst, "d");
	mk = must_find(&plan, JR_STEP_MKDIR, dst, NULL);
	b = must_find(&plan, JR_STEP_BIND, dst, src);
	assert_true(mk < b);
	s = &plan.steps[b];
	assert_int_equal(s->rec, 1);   /* a directory: recursively */
	assert_int_equal(s->attr, A_RO);
	assert_int_equal(plan.steps[mk].mode, 0755);
	assert_int_equal(count(&plan, JR_STEP_BIND, dst), 1);
	/* every parent of the mount point, from the top, planned before the bind */
	snprintf(parent, sizeof(parent), "%s", dst);
	while ((slash = strrchr(parent, '/')) && slash > parent + strlen(ROOT)) {
		*slash = '\0';
		assert_true(must_find(&plan, JR_STEP_MKDIR, parent, NULL) < b);
	}
	/* the subdirectory comes with the recursive bind: no step of its own */
	in_root(sub, "d/sub");
	assert_int_equal(find(&plan, JR_STEP_MKDIR, sub, NULL), -1);
	assert_int_equal(find(&plan, JR_STEP_BIND, sub, NULL), -1);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

static void bind_file(void **state)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;
	long f, b;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	path(src, "f");
	in_root(dst, "f");
	f = must_find(&plan, JR_STEP_FILE, dst, NULL);
	b = must_find(&plan, JR_STEP_BIND, dst, src);
	assert_true(f < b);              /* the mount point first */
	s = &plan.steps[f];
	assert_int_equal(s->len, 0);     /* an empty file to bind on */
	assert_int_equal(s->mode, 0444);
	s = &plan.steps[b];
	assert_int_equal(s->rec, 0);     /* a file: not recursive */
	assert_int_equal(s->attr, A_RO);
	assert_int_equal(find(&plan, JR_STEP_MKDIR, dst, NULL), -1);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

static void symlinks_stay_symlinks(void **state)
{
	char dst[PATH_MAX], dst2[PATH_MAX];
	struct jr_plan plan;
	struct jr_spec spec;
	long l;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	/* relative target, kept as written (like /bin -> usr/bin) */
	in_root(dst, "l");
	l = must_find(&plan, JR_STEP_SYMLINK, dst, "d/sub");
	assert_int_equal(find(&plan, JR_STEP_BIND, dst, NULL), -1);
	assert_int_equal(find(&plan, JR_STEP_MKDIR, dst, NULL), -1);
	assert_int_equal(find(&plan, JR_STEP_FILE, dst, NULL), -1);
	/* after its parent directory */
	snprintf(dst2, sizeof(dst2), "%s%s", ROOT, T);
	assert_true(must_find(&plan, JR_STEP_MKDIR, dst2, NULL) < l);
	/* absolute and dangling: mirrored all the same */
	in_root(dst2, "abs");
	must_find(&plan, JR_STEP_SYMLINK, dst2, "/nonexistent/target");
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

static void missing_optional_paths_skipped(void **state)
{
	char dst[PATH_MAX];
	struct jr_plan plan;
	struct jr_spec spec;
	size_t i;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	for (i = 0; i < plan.n; i++) {
		const struct jr_step *s = &plan.steps[i];

		assert_true(!s->dst || !strstr(s->dst, "missing"));
		assert_true(!s->src || !strstr(s->src, "missing"));
	}
	/* a plan of only missing paths still builds */
	jr_plan_free(&plan);
	jr_strv_free(&spec.sys_binds);
	jr_strv_free(&spec.etc_files);
	jr_strv_push(&spec.sys_binds, "/nonexistent-jobrun-test/lib32");
	build(&plan, &spec);
	assert_int_equal(find(&plan, JR_STEP_MKDIR, ROOT "/nonexistent-jobrun-test", NULL), -1);
	in_root(dst, "d");
	assert_int_equal(find(&plan, JR_STEP_BIND, dst, NULL), -1);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

/* ---- /etc, /dev, /proc, /job, /tmp ------------------------------------------------------ */

static const struct jr_step *file_step(const struct jr_plan *plan, const char *dst)
{
	const struct jr_step *s = &plan->steps[must_find(plan, JR_STEP_FILE, dst, NULL)];

	assert_non_null(s->src);
	assert_int_equal(s->len, strlen(s->src));
	return s;
}

static void etc_files(void **state)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;
	long etc;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	etc = must_find(&plan, JR_STEP_MKDIR, ROOT "/etc", NULL);

	s = file_step(&plan, ROOT "/etc/passwd");
	assert_true(must_find(&plan, JR_STEP_FILE, ROOT "/etc/passwd", NULL) > etc);
	assert_int_equal(s->mode, 0444);
	assert_non_null(strstr(s->src, "\njob:x:1500000042:1500000043:job:/job:/bin/sh\n"));
	assert_true(!strncmp(s->src, "root:x:0:0:", 11));
	assert_non_null(strstr(s->src, "\nnobody:x:65534:65534:"));

	s = file_step(&plan, ROOT "/etc/group");
	assert_int_equal(s->mode, 0444);
	assert_non_null(strstr(s->src, "\njob:x:1500000043:\n"));

	s = file_step(&plan, ROOT "/etc/hosts");
	assert_non_null(strstr(s->src, "127.0.0.1\tlocalhost\n"));
	assert_non_null(strstr(s->src, "127.0.1.1\tjobrun\n"));

	/* an etc file from the spec: bound read-only, not recursive */
	path(src, "etcfile");
	in_root(dst, "etcfile");
	s = &plan.steps[must_find(&plan, JR_STEP_BIND, dst, src)];
	assert_int_equal(s->rec, 0);
	assert_int_equal(s->attr, A_RO);
	jr_plan_free(&plan);

	/* other ids, other host name */
	{
		struct jr_ids ids = { .uid = 7, .gid = 8 };
		struct jr_err err;

		free(spec.hostname);
		spec.hostname = strdup("h2");
		assert_int_equal(jr_plan_build(&plan, &spec, &ids, ROOT, SCRATCH, &err), 0);
		s = file_step(&plan, ROOT "/etc/passwd");
		assert_non_null(strstr(s->src, "\njob:x:7:8:"));
		assert_null(strstr(s->src, "1500000042"));
		s = file_step(&plan, ROOT "/etc/hosts");
		assert_non_null(strstr(s->src, "127.0.1.1\th2\n"));
		s = &plan.steps[must_find(&plan, JR_STEP_MKDIR, SCRATCH "/job", NULL)];
		assert_int_equal(s->uid, 7);
		assert_int_equal(s->gid, 8);
		jr_plan_free(&plan);
	}
	jr_spec_free(&spec);
}

static void dev(void **state)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	char src[64], dst[64];
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;
	long mk, fs, f, b;
	size_t i;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	mk = must_find(&plan, JR_STEP_MKDIR, ROOT "/dev", NULL);
	fs = must_find(&plan, JR_STEP_TMPFS, ROOT "/dev", NULL);
	assert_true(mk < fs);
	s = &plan.steps[fs];
	assert_int_equal(s->flags, MS_NOSUID | MS_NOEXEC);
	assert_non_null(strstr(s->data, "size=64k"));
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		static const unsigned minors[] = { 3, 5, 7, 8, 9 };

		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), ROOT "/dev/%s", nodes[i]);
		/* a node of its own on /dev's tmpfs, not a bind of the host's devtmpfs */
		f = must_find(&plan, JR_STEP_MKNOD, dst, NULL);
		assert_true(fs < f);
		assert_int_equal(plan.steps[f].mode, 0666);
		assert_int_equal(major(plan.steps[f].rdev), 1);
		assert_int_equal(minor(plan.steps[f].rdev), minors[i]);
		assert_int_equal(find(&plan, JR_STEP_BIND, dst, src), -1);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(dst, sizeof(dst), ROOT "/dev/%s", links[i][0]);
		assert_true(must_find(&plan, JR_STEP_SYMLINK, dst, links[i][1]) > fs);
	}
	/* /dev/shm is the scratch's shm, writable */
	b = must_find(&plan, JR_STEP_BIND, ROOT "/dev/shm", SCRATCH "/shm");
	assert_true(must_find(&plan, JR_STEP_MKDIR, ROOT "/dev/shm", NULL) < b);
	assert_int_equal(plan.steps[b].attr, A_RW);
	/* nothing else of the host's /dev */
	for (i = 0; i < plan.n; i++) {
		s = &plan.steps[i];
		if (s->kind == JR_STEP_BIND)
			assert_true(strncmp(s->src, "/dev/", 5) != 0);
	}
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

static void proc(void **state)
{
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;
	long mk, p;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	mk = must_find(&plan, JR_STEP_MKDIR, ROOT "/proc", NULL);
	p = must_find(&plan, JR_STEP_PROC, ROOT "/proc", NULL);
	assert_true(mk < p);
	assert_int_equal(plan.steps[mk].mode, 0555);
	s = &plan.steps[p];
	assert_string_equal(s->data, "subset=pid,hidepid=invisible");
	assert_int_equal(s->flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	assert_true(p < (long)plan.n - 3);   /* before the pivot */
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

static void job_and_tmp(void **state)
{
	struct jr_plan plan;
	struct jr_spec spec;
	const struct jr_step *s;
	long mk, b;

	(void)state;
	/* no workdir: /job is a directory of the scratch, owned by the job */
	fixture_spec(&spec);
	build(&plan, &spec);
	mk = must_find(&plan, JR_STEP_MKDIR, SCRATCH "/job", NULL);
	s = &plan.steps[mk];
	assert_int_equal(s->uid, UID);
	assert_int_equal(s->gid, GID);
	assert_int_equal(s->mode, 0755);
	assert_true(mk > 3);   /* after the scratch tmpfs */
	b = must_find(&plan, JR_STEP_BIND, ROOT "/job", SCRATCH "/job");
	assert_true(must_find(&plan, JR_STEP_MKDIR, ROOT "/job", NULL) < b);
	assert_int_equal(plan.steps[b].rec, 1);
	assert_int_equal(plan.steps[b].attr, A_RW);
	assert_int_equal(count(&plan, JR_STEP_BIND, ROOT "/job"), 1);
	/* /tmp: the scratch's, sticky and world-writable */
	s = &plan.steps[must_find(&plan, JR_STEP_MKDIR, SCRATCH "/tmp", NULL)];
	assert_int_equal(s->mode, 01777);
	assert_int_equal(s->uid, 0);
	s = &plan.steps[must_find(&plan, JR_STEP_MKDIR, SCRATCH "/shm", NULL)];
	assert_int_equal(s->mode, 01777);
	b = must_find(&plan, JR_STEP_BIND, ROOT "/tmp", SCRATCH "/tmp");
	assert_int_equal(plan.steps[b].attr, A_RW);
	assert_true(b < (long)plan.n - 3);
	jr_plan_free(&plan);

	/* a workdir: bound at /job instead; no scratch/job */
	spec.workdir = strdup("/srv/work dir");
	build(&plan, &spec);
	assert_int_equal(find(&plan, JR_STEP_MKDIR, SCRATCH "/job", NULL), -1);
	assert_int_equal(find(&plan, JR_STEP_BIND, ROOT "/job", SCRATCH "/job"), -1);
	b = must_find(&plan, JR_STEP_BIND, ROOT "/job", "/srv/work dir");
	assert_int_equal(plan.steps[b].rec, 1);
	assert_int_equal(plan.steps[b].attr, A_RW);
	assert_int_equal(count(&plan, JR_STEP_BIND, ROOT "/job"), 1);
	/* the spec's string is copied: the plan outlives changes to the spec */
	assert_ptr_not_equal(plan.steps[b].src, spec.workdir);
	must_find(&plan, JR_STEP_MKDIR, SCRATCH "/tmp", NULL);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

/* Nothing is mounted over what an earlier step put in place: a later mount at or above an
 * earlier step's path would hide it (only the mount point itself may come first). */
static void check_nothing_hidden(const struct jr_plan *plan)
{
	size_t i, j;

	for (j = 0; j < plan->n; j++) {
		const struct jr_step *m = &plan->steps[j];

		if (!is_mount(m->kind))
			continue;
		for (i = 0; i < j; i++) {
			const struct jr_step *s = &plan->steps[i];
			int hidden;

			if (!s->dst || s->kind == JR_STEP_PRIVATE)
				continue;
			hidden = below(s->dst, m->dst) ||
				 (!strcmp(s->dst, m->dst) && is_mount(s->kind));
			if (hidden)
				print_error("step %zu (kind %d at %s) is hidden by step %zu (kind %d "
					    "at %s)\n", i, (int)s->kind, s->dst, j, (int)m->kind,
					    m->dst);
			assert_false(hidden);
		}
	}
}

static void nothing_hidden(void **state)
{
	struct jr_plan plan;
	struct jr_spec spec;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	check_nothing_hidden(&plan);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

/* A bind asked for under /tmp (--ro-bind /tmp/data) must be visible in the job, not covered
 * by the job's own /tmp mounted after it; the same for /job, /dev and /proc. */
static void binds_are_not_hidden(void **state)
{
	char dir[] = "/tmp/jobrun-test-plan-tmp.XXXXXX";
	struct jr_plan plan;
	struct jr_spec spec;
	struct jr_ids ids = { .uid = UID, .gid = GID };
	struct jr_err err;
	int r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fixture_spec(&spec);
	jr_strv_push(&spec.sys_binds, dir);
	r = jr_plan_build(&plan, &spec, &ids, ROOT, SCRATCH, &err);
	rmdir(dir);
	/* either refused with a message, or planned so that it stays visible */
	if (r < 0) {
		assert_non_null(strstr(err.msg, dir));
	} else {
		check_nothing_hidden(&plan);
		jr_plan_free(&plan);
	}
	jr_spec_free(&spec);
}

/* ---- rejected sources -------------------------------------------------------------------- */

static void expect_rejected(const char *bind, int as_etc)
{
	struct jr_plan plan;
	struct jr_spec spec;
	struct jr_ids ids = { .uid = UID, .gid = GID };
	struct jr_err err;
	char quoted[PATH_MAX + 2];
	int r;

	fixture_spec(&spec);
	jr_strv_push(as_etc ? &spec.etc_files : &spec.sys_binds, bind);
	memset(&plan, 0x55, sizeof(plan));
	jr_err_clear(&err);
	r = jr_plan_build(&plan, &spec, &ids, ROOT, SCRATCH, &err);
	snprintf(quoted, sizeof(quoted), "'%s'", bind);
	if (r >= 0 || !strstr(err.msg, quoted))
		print_error("bind '%s': r=%d msg='%s'\n", bind, r, err.msg);
	assert_true(r < 0);
	assert_non_null(strstr(err.msg, quoted));
	assert_non_null(strstr(err.msg, "absolute"));
	/* nothing left to free */
	assert_null(plan.steps);
	assert_int_equal(plan.n, 0);
	assert_null(plan.strings.v);
	jr_spec_free(&spec);
}

static void rejects_relative_and_dotdot(void **state)
{
	char p[PATH_MAX];

	(void)state;
	expect_rejected("usr", 0);
	expect_rejected("./usr", 0);
	expect_rejected("../usr", 0);
	expect_rejected("", 0);
	expect_rejected("/usr/../etc", 0);
	expect_rejected("/./usr", 0);
	expect_rejected("etc/ld.so.cache", 1);
	snprintf(p, sizeof(p), "%s/d/../f", T);    /* exists, but not a normal path */
	expect_rejected(p, 0);
	snprintf(p, sizeof(p), "%s/./d", T);
	expect_rejected(p, 1);
}

/* "/a/b/.." and "/a/." end in a dot component: the same path trickery as "/a/../b". Left
 * through, "<T>/d/.." is the host's <T> bound at "<root><T>/d/.." (the root's <T>): a bind
 * of something other than what the plan names. */
static void rejects_trailing_dot_components(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(p, sizeof(p), "%s/d/..", T);
	expect_rejected(p, 0);
	snprintf(p, sizeof(p), "%s/d/.", T);
	expect_rejected(p, 0);
	expect_rejected("/usr/..", 0);
	expect_rejected("/..", 0);
}

static void too_long_fails_cleanly(void **state)
{
	static char root[PATH_MAX + 16];
	struct jr_plan plan;
	struct jr_spec spec;
	struct jr_ids ids = { .uid = UID, .gid = GID };
	struct jr_err err;

	(void)state;
	memset(root, 'r', sizeof(root) - 1);
	root[0] = '/';
	root[PATH_MAX - 8] = '\0';   /* room for the root, not for root + a host path */
	fixture_spec(&spec);
	jr_err_clear(&err);
	assert_true(jr_plan_build(&plan, &spec, &ids, root, SCRATCH, &err) < 0);
	assert_true(strlen(err.msg) > 0);
	assert_null(plan.steps);
	assert_int_equal(plan.n, 0);
	jr_spec_free(&spec);
}

/* ---- describe ---------------------------------------------------------------------------- */

static void describe(void **state)
{
	char src[PATH_MAX], dst[PATH_MAX], want[3 * PATH_MAX], buf[3 * PATH_MAX];
	struct jr_plan plan;
	struct jr_spec spec;
	char small[8];
	size_t i;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	jr_plan_describe(&plan, 0, buf, sizeof(buf));
	assert_string_equal(buf, "make mounts private");
	jr_plan_describe(&plan, 1, buf, sizeof(buf));
	assert_string_equal(buf, "set hostname 'jobrun'");
	jr_plan_describe(&plan, 2, buf, sizeof(buf));
	assert_string_equal(buf, "bring up loopback");
	jr_plan_describe(&plan, 3, buf, sizeof(buf));
	assert_string_equal(buf,
			    "mount tmpfs at " SCRATCH " (size=268435456,nr_inodes=66560,mode=0755)");
	jr_plan_describe(&plan, (size_t)must_find(&plan, JR_STEP_MKDIR, SCRATCH "/job", NULL), buf,
			 sizeof(buf));
	assert_string_equal(buf, "create directory " SCRATCH "/job");
	path(src, "d");
	in_root(dst, "d");
	jr_plan_describe(&plan, (size_t)must_find(&plan, JR_STEP_BIND, dst, src), buf,
			 sizeof(buf));
	snprintf(want, sizeof(want), "bind %s at %s", src, dst);
	assert_string_equal(buf, want);
	in_root(dst, "l");
	jr_plan_describe(&plan, (size_t)must_find(&plan, JR_STEP_SYMLINK, dst, NULL), buf,
			 sizeof(buf));
	snprintf(want, sizeof(want), "symlink %s -> d/sub", dst);
	assert_string_equal(buf, want);
	jr_plan_describe(&plan, (size_t)must_find(&plan, JR_STEP_FILE, ROOT "/etc/passwd", NULL),
			 buf, sizeof(buf));
	assert_string_equal(buf, "create file " ROOT "/etc/passwd");
	jr_plan_describe(&plan, (size_t)must_find(&plan, JR_STEP_PROC, ROOT "/proc", NULL), buf,
			 sizeof(buf));
	assert_string_equal(buf, "mount proc at " ROOT "/proc");
	jr_plan_describe(&plan, plan.n - 3, buf, sizeof(buf));
	assert_string_equal(buf, "pivot_root into " ROOT);
	jr_plan_describe(&plan, plan.n - 1, buf, sizeof(buf));
	assert_string_equal(buf, "set mount attributes on /");
	/* every step has a description */
	for (i = 0; i < plan.n; i++) {
		buf[0] = '\0';
		jr_plan_describe(&plan, i, buf, sizeof(buf));
		assert_true(strlen(buf) > 0);
	}
	/* out of range: the index */
	jr_plan_describe(&plan, plan.n + 5, buf, sizeof(buf));
	snprintf(want, sizeof(want), "step %zu", plan.n + 5);
	assert_string_equal(buf, want);
	/* a short buffer is truncated, terminated */
	memset(small, 'x', sizeof(small));
	jr_plan_describe(&plan, 0, small, sizeof(small));
	assert_string_equal(small, "make mo");
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

static void deterministic(void **state)
{
	struct jr_plan a, b;
	struct jr_spec spec;
	size_t i;

	(void)state;
	fixture_spec(&spec);
	build(&a, &spec);
	build(&b, &spec);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_int_equal(a.steps[i].kind, b.steps[i].kind);
		if (a.steps[i].dst)
			assert_string_equal(a.steps[i].dst, b.steps[i].dst);
		else
			assert_null(b.steps[i].dst);
	}
	jr_plan_free(&a);
	jr_plan_free(&b);
	jr_spec_free(&spec);
}

/* --scratch: the per-job directory on disk, bound read-write at /scratch, only when given. */
static void scratch_dir(void **state)
{
	struct jr_ids ids = { .uid = UID, .gid = GID, .scratch_dir = "/srv/disk/jobrun-j1-3" };
	struct jr_plan plan;
	struct jr_spec spec;
	struct jr_err err;
	long mk, b;

	(void)state;
	fixture_spec(&spec);
	build(&plan, &spec);
	assert_int_equal(find(&plan, JR_STEP_MKDIR, ROOT "/scratch", NULL), -1);
	assert_int_equal(find(&plan, JR_STEP_BIND, ROOT "/scratch", NULL), -1);
	jr_plan_free(&plan);

	assert_int_equal(jr_plan_build(&plan, &spec, &ids, ROOT, SCRATCH, &err), 0);
	mk = must_find(&plan, JR_STEP_MKDIR, ROOT "/scratch", NULL);
	b = must_find(&plan, JR_STEP_BIND, ROOT "/scratch", "/srv/disk/jobrun-j1-3");
	assert_true(mk < b);
	assert_true(b < (long)plan.n - 3);   /* before the pivot */
	assert_int_equal(plan.steps[b].attr, A_RW);
	assert_int_equal(plan.steps[b].rec, 0);
	assert_int_equal(plan.steps[mk].uid, 0);
	assert_ptr_not_equal(plan.steps[b].src, ids.scratch_dir);   /* copied */
	check_nothing_hidden(&plan);
	jr_plan_free(&plan);
	jr_spec_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_and_last_steps),
		cmocka_unit_test(scratch_sizes_follow_disk),
		cmocka_unit_test(parents_before_children),
		cmocka_unit_test(bind_directory),
		cmocka_unit_test(bind_file),
		cmocka_unit_test(symlinks_stay_symlinks),
		cmocka_unit_test(missing_optional_paths_skipped),
		cmocka_unit_test(etc_files),
		cmocka_unit_test(dev),
		cmocka_unit_test(proc),
		cmocka_unit_test(job_and_tmp),
		cmocka_unit_test(scratch_dir),
		cmocka_unit_test(nothing_hidden),
		cmocka_unit_test(binds_are_not_hidden),
		cmocka_unit_test(rejects_relative_and_dotdot),
		cmocka_unit_test(rejects_trailing_dot_components),
		cmocka_unit_test(too_long_fails_cleanly),
		cmocka_unit_test(describe),
		cmocka_unit_test(deterministic),
	};

	return cmocka_run_group_tests_name("plan", tests, setup_group, teardown_group);
}
