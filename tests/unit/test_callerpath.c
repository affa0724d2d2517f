/* test_callerpath.c - the caller-path rule (callerpath.c): which symlinks are followed, which
 * types are accepted, destinations created beside and renamed, never blocked on a FIFO. Works
 * as any user: a symlink made by a user other than root is never followed, and one made by
 * root only in a directory that is root's and not writable by others (the tests say which
 * case they are in). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callerpath.h"

static char base[64];        /* 0700, the test's own: trusted when we are root */
static char pub[128];        /* 0777 inside it: a directory "a job could write" */
static char secret[128];     /* a file outside pub */

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/jobrun-test-cp.XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(pub, sizeof(pub), "%s/pub", base);
	snprintf(secret, sizeof(secret), "%s/secret", base);
	if (mkdir(pub, 0777) < 0 || chmod(pub, 0777) < 0)
		return -1;
	put(secret, "the secret\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static char *at(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

/* A symlink in a directory others can write is never followed, whoever made it. */
static void untrusted_symlink_refused(void **state)
{
	char link[192], via[192];
	struct jr_err err;
	int fd;

	(void)state;
	assert_int_equal(symlink(secret, at(link, sizeof(link), pub, "x")), 0);
	jr_err_clear(&err);
	fd = jr_cp_open("--stdin", link, JR_CP_FILE, &err);
	assert_true(fd < 0);
	assert_non_null(strstr(err.msg, "--stdin"));
	assert_non_null(strstr(err.msg, "not followed"));
	/* a symlinked directory in the middle of the path too */
	assert_int_equal(symlink(base, at(link, sizeof(link), pub, "d")), 0);
	jr_err_clear(&err);
	fd = jr_cp_open("--dir", at(via, sizeof(via), link, "pub"), JR_CP_DIR, &err);
	assert_true(fd < 0);
	assert_non_null(strstr(err.msg, "not followed"));
	/* a destination there: not written through the link, the target untouched */
	{
		struct jr_cp_dest d;

		int r;

		jr_err_clear(&err);
		r = jr_cp_dest_init(&d, "--result", at(link, sizeof(link), pub, "x"), &err);
		if (r == 0) { /* refused when resolved, or at the latest when written */
			r = jr_cp_dest_write(&d, "forged\n", 7, &err);
			jr_cp_dest_free(&d);
		}
		assert_true(r < 0);
		assert_non_null(strstr(err.msg, "not followed"));
	}
	{
		char got[64] = "";
		FILE *f = fopen(secret, "r");

		assert_non_null(fgets(got, sizeof(got), f));
		fclose(f);
		assert_string_equal(got, "the secret\n");
	}
}

/* A symlink of root's in a directory of root's that others cannot write: followed (only
 * when this test runs as root can it make one). */
static void trusted_symlink_followed(void **state)
{
	char link[192];
	struct jr_err err;
	struct stat st;
	int fd;

	(void)state;
	if (geteuid() != 0) {
		print_message("# not root: a trusted symlink cannot be made here\n");
		skip();
	}
	assert_int_equal(symlink("secret", at(link, sizeof(link), base, "ok")), 0);
	jr_err_clear(&err);
	fd = jr_cp_open("--stdin", link, JR_CP_FILE, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	/* the same link, once the directory is writable by others: refused */
	assert_int_equal(chmod(base, 0777), 0);
	jr_err_clear(&err);
	fd = jr_cp_open("--stdin", link, JR_CP_FILE, &err);
	assert_int_equal(chmod(base, 0700), 0);
	assert_true(fd < 0);
	assert_non_null(strstr(err.msg, "not followed"));
	/* sticky and root's (/tmp): followed again */
	assert_int_equal(chmod(base, 01777), 0);
	jr_err_clear(&err);
	fd = jr_cp_open("--stdin", link, JR_CP_FILE, &err);
	assert_int_equal(chmod(base, 0700), 0);
	assert_true(fd >= 0);
	close(fd);
}

/* A FIFO planted where jobrun reads or writes: refused at once, never blocked on. */
static void fifo_refused_without_blocking(void **state)
{
	char fifo[192];
	struct jr_cp_dest d;
	struct jr_err err;
	int fd;

	(void)state;
	assert_int_equal(mkfifo(at(fifo, sizeof(fifo), pub, "f"), 0666), 0);
	if (geteuid() == 0) /* as root: a FIFO of another uid's, as a job would leave */
		assert_int_equal(chown(fifo, 12345, 12345), 0);
	alarm(10); /* a blocking open would hang the test: fail it instead */
	jr_err_clear(&err);
	fd = jr_cp_open("--stdin", fifo, JR_CP_FILE, &err);
	assert_true(fd < 0);
	assert_non_null(strstr(err.msg, "FIFO"));
	jr_err_clear(&err);
	assert_int_equal(jr_cp_dest_init(&d, "--stdout", fifo, &err), 0);
	fd = jr_cp_dest_stream(&d, &err);
	assert_true(fd < 0);
	assert_non_null(strstr(err.msg, "FIFO"));
	jr_cp_dest_free(&d);
	alarm(0);
}

/* Destinations: a new file renamed into place; another uid's file is not replaced; nothing
 * temporary is left. */
static void dest_created_and_renamed(void **state)
{
	char path[192], got[64] = "";
	struct jr_cp_dest d;
	struct jr_err err;
	struct dirent *e;
	struct stat st;
	DIR *dir;
	FILE *f;

	(void)state;
	jr_err_clear(&err);
	assert_int_equal(jr_cp_dest_init(&d, "--result", at(path, sizeof(path), pub, "r.json"),
					 &err), 0);
	assert_int_equal(jr_cp_dest_write(&d, "{}\n", 3, &err), 0);
	jr_cp_dest_free(&d);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, "{}\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	dir = opendir(pub);
	assert_non_null(dir);
	while ((e = readdir(dir)))
		assert_null(strstr(e->d_name, ".tmp."));
	closedir(dir);
	if (geteuid() != 0)
		return;
	/* a regular file of another uid's there (a job's): not replaced */
	assert_int_equal(chown(path, 12345, 12345), 0);
	jr_err_clear(&err);
	assert_int_equal(jr_cp_dest_init(&d, "--result", path, &err), 0);
	assert_true(jr_cp_dest_write(&d, "x\n", 2, &err) < 0);
	assert_non_null(strstr(err.msg, "belongs to uid 12345"));
	jr_cp_dest_free(&d);
}

/* Types: a directory where a file is read, a file where a directory is wanted; stdio names. */
static void types_and_stdio(void **state)
{
	struct jr_err err;
	struct stat a, b;
	int fd;

	(void)state;
	jr_err_clear(&err);
	assert_true(jr_cp_open("--stdin", pub, JR_CP_FILE, &err) < 0);
	jr_err_clear(&err);
	assert_true(jr_cp_open("--dir", secret, JR_CP_DIR, &err) < 0);
	assert_non_null(strstr(err.msg, "not a directory"));
	jr_err_clear(&err);
	fd = jr_cp_open("--dir", base, JR_CP_DIR, &err);
	assert_true(fd >= 0);
	close(fd);
	/* /dev/fd/N: the caller's own descriptor, whatever it is */
	fd = jr_cp_open("--stdin", "/dev/stdin", JR_CP_FILE, &err);
	assert_true(fd > 2);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(0, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	/* /dev/null: root's character device in a trusted directory */
	fd = jr_cp_open("--stdin", "/dev/null", JR_CP_FILE, &err);
	assert_true(fd >= 0);
	close(fd);
	/* an empty path, a missing one */
	assert_true(jr_cp_open("--stdin", "", JR_CP_FILE, &err) < 0);
	assert_true(jr_cp_open("--stdin", "/nonexistent/x", JR_CP_FILE, &err) < 0);
	assert_int_equal(err.code, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(untrusted_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(trusted_symlink_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(fifo_refused_without_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(dest_created_and_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(types_and_stdio, setup, teardown),
	};

	return cmocka_run_group_tests_name("callerpath", tests, NULL, NULL);
}
