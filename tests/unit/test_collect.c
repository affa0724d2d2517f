/* test_collect.c - output files (collect.c): one budget for all outputs, safe creation beneath
 * the destination fd, refusals of what a job could plant, the time bound, jobrun's own write
 * failures. No root: a workspace and a destination made with mkdtemp. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect.h"

#define MiB (1ULL << 20)
#define NO_DEADLINE UINT64_MAX

struct dirs {
	char ws[64], dest[64], other[64]; /* other: a victim outside both */
	int ws_fd, dest_fd;
	struct jr_outputs out;
	struct jr_err err;
};

/* ---- helpers ------------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(d);
	if (!tmp || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(d->ws, sizeof(d->ws), "%s/jr-ws-XXXXXX", tmp);
	snprintf(d->dest, sizeof(d->dest), "%s/jr-dest-XXXXXX", tmp);
	snprintf(d->other, sizeof(d->other), "%s/jr-other-XXXXXX", tmp);
	assert_non_null(mkdtemp(d->ws));
	assert_non_null(mkdtemp(d->dest));
	assert_non_null(mkdtemp(d->other));
	d->ws_fd = open(d->ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d->dest_fd = open(d->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d->ws_fd >= 0 && d->dest_fd >= 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;

	jr_outputs_free(&d->out);
	close(d->ws_fd);
	close(d->dest_fd);
	rm_rf(d->ws);
	rm_rf(d->dest);
	rm_rf(d->other);
	free(d);
	return 0;
}

/* A file of len bytes (a repeating pattern) at dir/name, its parents made. */
static void put(const char *dir, const char *name, size_t len)
{
	char path[512], *slash;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	for (i = 0; i < len; i++) {
		char c = (char)('a' + i % 26);

		assert_int_equal(write(fd, &c, 1), 1);
	}
	close(fd);
}

/* A big file fast: len bytes of 'x' in chunks. */
static void put_big(const char *dir, const char *name, size_t len)
{
	static char buf[65536];
	char path[512];
	int fd;

	memset(buf, 'x', sizeof(buf));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		len -= n;
	}
	close(fd);
}

/* dir/name in one of four rotating buffers (two may be used in one call) */
static char *path_of(const char *dir, const char *name)
{
	static char path[4][512];
	static unsigned n;
	char *p = path[n++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

/* -1: no such file */
static long long size_of(const char *dir, const char *name)
{
	struct stat st;

	return lstat(path_of(dir, name), &st) < 0 ? -1 : (long long)st.st_size;
}

static int collect(struct dirs *d, const char *const *names, uint64_t budget, uint64_t deadline)
{
	struct jr_strv v = { 0 };
	int r;

	for (; *names; names++)
		assert_int_equal(jr_strv_push(&v, *names), 0);
	jr_outputs_free(&d->out);
	jr_err_clear(&d->err);
	r = jr_collect(d->ws_fd, &v, d->dest_fd, budget, deadline, &d->out, &d->err);
	assert_int_equal(d->out.n, v.n);
	jr_strv_free(&v);
	return r;
}

static void output_is(const struct dirs *d, size_t i, uint64_t bytes, bool truncated,
		      const char *error)
{
	const struct jr_output *o = &d->out.v[i];

	if ((error == NULL) != (o->error == NULL) || (error && strcmp(error, o->error)) ||
	    o->bytes != bytes || o->truncated != truncated)
		print_error("output %s: bytes %llu truncated %d error %s; want %llu %d %s\n",
			    o->name, (unsigned long long)o->bytes, o->truncated,
			    o->error ? o->error : "-", (unsigned long long)bytes, truncated,
			    error ? error : "-");
	assert_int_equal(o->bytes, bytes);
	assert_int_equal(o->truncated, truncated);
	if (error)
		assert_string_equal(o->error, error);
	else
		assert_null(o->error);
}

static int temp_count;

static int count_temp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (!strncmp(path + ftw->base, JR_COLLECT_TMP_PREFIX, strlen(JR_COLLECT_TMP_PREFIX))) {
		print_error("temp file left behind: %s\n", path);
		temp_count++;
	}
	return 0;
}

static void no_temp_left(const struct dirs *d)
{
	temp_count = 0;
	assert_int_equal(nftw(d->dest, count_temp, 16, FTW_PHYS), 0);
	assert_int_equal(nftw(d->other, count_temp, 16, FTW_PHYS), 0);
	assert_int_equal(temp_count, 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* One budget for all outputs: the sum never passes it; the output that crosses it is cut,
 * later non-empty ones get nothing; all are truncated, an empty one is not. */
static void budget_across_outputs(void **state)
{
	static const char *const names[] = { "a", "sub/dir/b", "c", "empty", "e", NULL };
	struct dirs *d = *state;
	struct stat st;
	char buf[64];
	mode_t old = umask(077);
	int fd;

	put(d->ws, "a", 100);
	put(d->ws, "sub/dir/b", 100);
	put(d->ws, "c", 100);
	put(d->ws, "empty", 0);
	put(d->ws, "e", 50);
	assert_int_equal(collect(d, names, 250, NO_DEADLINE), 0);
	umask(old);
	output_is(d, 0, 100, false, NULL);
	output_is(d, 1, 100, false, NULL);
	output_is(d, 2, 50, true, NULL);
	output_is(d, 3, 0, false, NULL);
	output_is(d, 4, 0, true, NULL);
	assert_int_equal(size_of(d->dest, "a"), 100);
	assert_int_equal(size_of(d->dest, "sub/dir/b"), 100);
	assert_int_equal(size_of(d->dest, "c"), 50);
	assert_int_equal(size_of(d->dest, "empty"), 0);
	assert_int_equal(size_of(d->dest, "e"), 0);
	/* the cut output holds the file's beginning */
	fd = open(path_of(d->dest, "c"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 50);
	close(fd);
	assert_memory_equal(buf, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx", 50);
	/* 0644 files, 0755 directories, whatever the umask */
	assert_int_equal(lstat(path_of(d->dest, "c"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(lstat(path_of(d->dest, "sub/dir"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	no_temp_left(d);

	/* exactly the budget: nothing truncated; again, over the files of the first run */
	assert_int_equal(collect(d, (const char *const[]){ "a", "sub/dir/b", NULL }, 200,
				 NO_DEADLINE), 0);
	output_is(d, 0, 100, false, NULL);
	output_is(d, 1, 100, false, NULL);
	/* a budget of 0: every non-empty output truncated to nothing */
	assert_int_equal(collect(d, names, 0, NO_DEADLINE), 0);
	output_is(d, 0, 0, true, NULL);
	output_is(d, 3, 0, false, NULL);
	assert_int_equal(size_of(d->dest, "a"), 0);
	no_temp_left(d);
}

/* A sparse 1 GiB file costs its length: capped at the budget, and so is the disk it takes. */
static void sparse_file_capped(void **state)
{
	static const char *const names[] = { "sparse", "sparse2", NULL };
	struct dirs *d = *state;
	struct stat st;
	int fd;

	fd = open(path_of(d->ws, "sparse"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1LL << 30), 0);
	close(fd);
	assert_int_equal(link(path_of(d->ws, "sparse"), path_of(d->ws, "sparse2")), 0);
	assert_int_equal(collect(d, names, MiB, NO_DEADLINE), 0);
	output_is(d, 0, MiB, true, NULL);
	output_is(d, 1, 0, true, NULL);
	assert_int_equal(lstat(path_of(d->dest, "sparse"), &st), 0);
	assert_int_equal(st.st_size, MiB);
	assert_true((uint64_t)st.st_blocks * 512 <= MiB + 64 * 1024);
	assert_int_equal(lstat(path_of(d->dest, "sparse2"), &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_true((uint64_t)st.st_blocks * 512 <= 64 * 1024);
	no_temp_left(d);
}

/* Each hardlink is a copy of its own, counted against the one budget. */
static void hardlinks_counted(void **state)
{
	static const char *const names[] = { "f", "l1", "l2", "l3", NULL };
	struct dirs *d = *state;
	uint64_t sum = 0;
	size_t i;

	put_big(d->ws, "f", MiB);
	assert_int_equal(link(path_of(d->ws, "f"), path_of(d->ws, "l1")), 0);
	assert_int_equal(link(path_of(d->ws, "f"), path_of(d->ws, "l2")), 0);
	assert_int_equal(link(path_of(d->ws, "f"), path_of(d->ws, "l3")), 0);
	assert_int_equal(collect(d, names, 5 * MiB / 2, NO_DEADLINE), 0);
	output_is(d, 0, MiB, false, NULL);
	output_is(d, 1, MiB, false, NULL);
	output_is(d, 2, MiB / 2, true, NULL);
	output_is(d, 3, 0, true, NULL);
	for (i = 0; i < 4; i++)
		sum += (uint64_t)size_of(d->dest, names[i]);
	assert_int_equal(sum, 5 * MiB / 2);
	no_temp_left(d);
}

/* What may wait at a destination (planted by a job that can write there): a FIFO, a symlink,
 * a directory are refused without blocking or following; a regular file of ours is replaced
 * by rename (a hardlink to a victim leaves the victim as it was). */
static void planted_destinations(void **state)
{
	static const char *const names[] = { "fifo", "link", "dir", "mine", "hard", NULL };
	struct dirs *d = *state;
	char victim[512];
	size_t i;

	for (i = 0; names[i]; i++)
		put(d->ws, names[i], 10);
	snprintf(victim, sizeof(victim), "%s", path_of(d->other, "victim"));
	put(d->other, "victim", 3);
	assert_int_equal(mkfifo(path_of(d->dest, "fifo"), 0666), 0);
	assert_int_equal(symlink(victim, path_of(d->dest, "link")), 0);
	assert_int_equal(mkdir(path_of(d->dest, "dir"), 0755), 0);
	put(d->dest, "mine", 99);
	assert_int_equal(link(victim, path_of(d->dest, "hard")), 0);
	alarm(30); /* a FIFO opened would block: fail loudly instead */
	assert_int_equal(collect(d, names, MiB, NO_DEADLINE), 0);
	alarm(0);
	output_is(d, 0, 0, false, "destination exists and is a FIFO: not replaced");
	output_is(d, 1, 0, false, "destination exists and is a symlink: not replaced");
	output_is(d, 2, 0, false, "destination exists and is a directory: not replaced");
	output_is(d, 3, 10, false, NULL);
	output_is(d, 4, 10, false, NULL);
	assert_int_equal(size_of(d->dest, "mine"), 10);
	assert_int_equal(size_of(d->dest, "hard"), 10);
	assert_int_equal(size_of(d->other, "victim"), 3);     /* not written through */
	if (geteuid() == 0) {                                 /* a file of another uid */
		assert_int_equal(lchown(path_of(d->dest, "mine"), 12345, 12345), 0);
		assert_int_equal(collect(d, (const char *const[]){ "mine", NULL }, MiB,
					 NO_DEADLINE), 0);
		output_is(d, 0, 0, false, "destination exists and is a regular file of uid 12345: "
					  "not replaced");
	}
	no_temp_left(d);
}

/* A parent directory that is a symlink (or no directory) is refused, not followed. */
static void planted_parents(void **state)
{
	static const char *const names[] = { "sub/x", "plain/x", "ok/deeper/x", NULL };
	struct dirs *d = *state;
	struct stat st;

	put(d->ws, "sub/x", 5);
	put(d->ws, "plain/x", 5);
	put(d->ws, "ok/deeper/x", 5);
	assert_int_equal(symlink(d->other, path_of(d->dest, "sub")), 0);
	put(d->dest, "plain", 1);
	assert_int_equal(collect(d, names, MiB, NO_DEADLINE), 0);
	output_is(d, 0, 0, false, "destination directory sub is a symlink: not followed");
	output_is(d, 1, 0, false, "destination directory plain exists and is a regular file, "
				  "not a directory");
	output_is(d, 2, 5, false, NULL);
	assert_int_equal(size_of(d->other, "x"), -1);        /* nothing went to the target */
	assert_int_equal(lstat(path_of(d->dest, "sub"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* deeper down too */
	assert_int_equal(symlink(d->other, path_of(d->dest, "ok/deeper/link")), 0);
	put(d->ws, "ok/deeper/link/y", 5);
	assert_int_equal(collect(d, (const char *const[]){ "ok/deeper/link/y", NULL }, MiB,
				 NO_DEADLINE), 0);
	output_is(d, 0, 0, false, "destination directory ok/deeper/link is a symlink: not "
				  "followed");
	assert_int_equal(size_of(d->other, "y"), -1);
	no_temp_left(d);
}

/* The source side: the job's doing, only each output's error. */
static void bad_sources(void **state)
{
	static const char *const names[] = { "fifo", "link", "missing", "dir", "a/../b",
					     "through/f", "good", NULL };
	struct dirs *d = *state;

	assert_int_equal(mkfifo(path_of(d->ws, "fifo"), 0666), 0);
	assert_int_equal(symlink("/etc/passwd", path_of(d->ws, "link")), 0);
	assert_int_equal(mkdir(path_of(d->ws, "dir"), 0755), 0);
	assert_int_equal(symlink(d->other, path_of(d->ws, "through")), 0);
	put(d->other, "f", 4);
	put(d->ws, "good", 4);
	alarm(30);
	assert_int_equal(collect(d, names, MiB, NO_DEADLINE), 0);
	alarm(0);
	output_is(d, 0, 0, false, "not a regular file");
	output_is(d, 1, 0, false, "a symlink on the way (not followed)");
	output_is(d, 2, 0, false, "No such file or directory");
	output_is(d, 3, 0, false, "not a regular file");
	output_is(d, 4, 0, false, "not a plain relative path (no '.', '..' or empty component)");
	output_is(d, 5, 0, false, "a symlink on the way (not followed)");
	output_is(d, 6, 4, false, NULL);
	assert_int_equal(size_of(d->dest, "fifo"), -1);
	assert_int_equal(size_of(d->dest, "link"), -1);
	assert_int_equal(size_of(d->dest, "through"), -1);
	no_temp_left(d);
}

/* A deadline of 0: every output refused, nothing renamed into place, nothing left. */
static void deadline_zero(void **state)
{
	static const char *const names[] = { "a", "b/c", "empty", NULL };
	struct dirs *d = *state;
	size_t i;

	put(d->ws, "a", 10);
	put(d->ws, "b/c", 10);
	put(d->ws, "empty", 0);
	assert_int_equal(collect(d, names, MiB, 0), 0);
	for (i = 0; i < 3; i++)
		output_is(d, i, 0, false, "output collection took too long (0 ms)");
	for (i = 0; i < 3; i++)
		assert_int_equal(size_of(d->dest, names[i]), -1);
	no_temp_left(d);
}

/* A write failure at the destination is jobrun's: -errno and err, the output's error, and the
 * outputs after it not collected. (RLIMIT_FSIZE stands in for a full disk.) */
static void host_write_failure(void **state)
{
	static const char *const names[] = { "small", "big", "after", NULL };
	struct dirs *d = *state;
	struct rlimit old, lim;
	void (*oldsig)(int);
	int r;

	put(d->ws, "small", 100);
	put_big(d->ws, "big", 256 * 1024);
	put(d->ws, "after", 100);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = collect(d, names, MiB, NO_DEADLINE);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(r, -EFBIG);
	assert_int_equal(d->err.code, EFBIG);
	assert_string_equal(d->err.msg, "output big: write: File too large");
	output_is(d, 0, 100, false, NULL);
	output_is(d, 1, 0, false, "write: File too large");
	output_is(d, 2, 0, false, "not collected: jobrun could not write the outputs");
	assert_int_equal(size_of(d->dest, "small"), 100);
	assert_int_equal(size_of(d->dest, "big"), -1);
	assert_int_equal(size_of(d->dest, "after"), -1);
	no_temp_left(d);
}

/* No outputs: nothing to do; a destination fd that is no directory: jobrun's failure. */
static void edge_cases(void **state)
{
	static const char *const none[] = { NULL };
	struct dirs *d = *state;
	struct jr_strv v = { 0 };
	int fd;

	assert_int_equal(collect(d, none, MiB, NO_DEADLINE), 0);
	assert_int_equal(d->out.n, 0);
	put(d->ws, "a", 1);
	put(d->other, "file", 1);
	fd = open(path_of(d->other, "file"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(jr_strv_push(&v, "a"), 0);
	jr_outputs_free(&d->out);
	assert_int_equal(jr_collect(d->ws_fd, &v, fd, MiB, NO_DEADLINE, &d->out, &d->err),
			 -ENOTDIR);
	assert_int_equal(d->out.n, 1);
	assert_non_null(d->out.v[0].error);
	close(fd);
	jr_strv_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(budget_across_outputs, setup, teardown),
		cmocka_unit_test_setup_teardown(sparse_file_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(hardlinks_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(planted_destinations, setup, teardown),
		cmocka_unit_test_setup_teardown(planted_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(deadline_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(host_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(edge_cases, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
