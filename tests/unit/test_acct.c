/* Unit tests: parsers of cgroup accounting files (acct.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "acct.h"

static void test_keyed(void **state)
{
	const char *cpu = "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n"
			  "nr_periods 0\n";
	const char *oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
	uint64_t v;

	(void)state;
	assert_int_equal(jr_acct_keyed(cpu, "usage_usec", &v), 0);
	assert_int_equal(v, 1234567);
	assert_int_equal(jr_acct_keyed(cpu, "system_usec", &v), 0);
	assert_int_equal(v, 234567);
	/* a key that is a prefix of another must not match it */
	assert_int_equal(jr_acct_keyed(oom, "oom_kill", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(jr_acct_keyed("oom_kill_disable 1\n", "oom_kill", &v), -ENOENT);
	assert_int_equal(jr_acct_keyed(cpu, "usage", &v), -ENOENT);
	assert_int_equal(jr_acct_keyed("low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n", "max", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(jr_acct_keyed("max x\n", "max", &v), -EINVAL);
	assert_int_equal(jr_acct_keyed("", "max", &v), -ENOENT);
}

static void test_value(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(jr_acct_value("123\n", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(jr_acct_value("max\n", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(jr_acct_value("12 3\n", &v), -EINVAL);
	assert_int_equal(jr_acct_value("", &v), -EINVAL);
	assert_int_equal(jr_acct_value("99999999999999999999999\n", &v), -EINVAL);
}

static void test_io_stat(void **state)
{
	struct jr_usage u;

	(void)state;
	memset(&u, 0, sizeof(u));
	jr_acct_io_stat("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
			"254:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n", &u);
	assert_true(u.have_io);
	assert_int_equal(u.io_rbytes, 4196);
	assert_int_equal(u.io_wbytes, 8392);
	assert_int_equal(u.io_rios, 4);
	assert_int_equal(u.io_wios, 6);
	memset(&u, 0, sizeof(u));
	jr_acct_io_stat("", &u);
	assert_true(u.have_io);
	assert_int_equal(u.io_rbytes + u.io_wbytes, 0);
}

static void test_blkio(void **state)
{
	uint64_t r, w;

	(void)state;
	assert_int_equal(jr_acct_blkio("8:0 Read 4096\n8:0 Write 1048576\n8:0 Sync 0\n"
				       "8:0 Async 1052672\n8:0 Discard 0\n8:0 Total 1052672\n"
				       "8:16 Read 10\n8:16 Write 20\nTotal 1052702\n", &r, &w), 0);
	assert_int_equal(r, 4106);
	assert_int_equal(w, 1048596);
	assert_int_equal(jr_acct_blkio("Total 0\n", &r, &w), 0);
	assert_int_equal(r + w, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyed),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_io_stat),
		cmocka_unit_test(test_blkio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
