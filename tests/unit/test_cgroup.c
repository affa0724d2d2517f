/* Unit tests: cgroup layout detection from mountinfo and /proc/self/cgroup (cgroup.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cgroup.h"

/* This development host: v1 per controller, cpu and cpuacct mounted apart, plus a cgroup2
 * mount holding none of the controllers (hybrid). The cgroup2 mount must not win. */
static const char hybrid_mi[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_cg[] =
	"9:name=systemd:/\n8:pids:/\n7:blkio:/\n4:memory:/process_api/abc\n3:cpuset:/\n"
	"2:cpuacct:/\n1:cpu:/\n0::/\n";

static void test_hybrid(void **state)
{
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_cg_parse(&h, hybrid_mi, hybrid_cg, &err), 0);
	assert_int_equal(h.ctrl[JR_CG_MEMORY].version, 1);
	assert_string_equal(h.ctrl[JR_CG_MEMORY].own, "/sys/fs/cgroup/memory/process_api/abc");
	assert_int_equal(h.ctrl[JR_CG_CPU].version, 1);
	assert_string_equal(h.ctrl[JR_CG_CPU].own, "/sys/fs/cgroup/cpu");
	assert_string_equal(h.ctrl[JR_CG_CPUACCT].own, "/sys/fs/cgroup/cpuacct");
	assert_string_equal(h.ctrl[JR_CG_IO].own, "/sys/fs/cgroup/blkio");
	assert_string_equal(h.ctrl[JR_CG_PIDS].mount, "/sys/fs/cgroup/pids");
	assert_string_equal(h.v2_mount, "/sys/fs/cgroup/unified");
	assert_false(h.v1_favordynmods);
	jr_cg_host_free(&h);
}

/* Most v1 distributions: cpu,cpuacct comounted (one directory for both). */
static void test_comounted(void **state)
{
	const char mi[] =
		"25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		"26 20 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory,favordynmods\n";
	const char cg[] = "3:cpu,cpuacct:/slurm/uid_1000/job_7\n2:memory:/slurm/uid_1000/job_7\n";
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_cg_parse(&h, mi, cg, &err), 0);
	assert_string_equal(h.ctrl[JR_CG_CPU].own, "/sys/fs/cgroup/cpu,cpuacct/slurm/uid_1000/job_7");
	assert_string_equal(h.ctrl[JR_CG_CPUACCT].own, h.ctrl[JR_CG_CPU].own);
	assert_int_equal(h.ctrl[JR_CG_PIDS].version, 0);
	assert_true(h.v1_favordynmods);
	jr_cg_host_free(&h);
}

/* Pure v2, jobrun inside a systemd service; the mount point has an escaped space. */
static void test_v2(void **state)
{
	const char mi[] = "30 22 0:26 / /sys/fs/cgroup\\040x rw - cgroup2 cgroup2 "
			  "rw,nsdelegate,memory_recursiveprot\n";
	const char cg[] = "0::/system.slice/jobrun.service\n";
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_cg_parse(&h, mi, cg, &err), 0);
	assert_string_equal(h.v2_mount, "/sys/fs/cgroup x");
	assert_string_equal(h.v2_own, "/sys/fs/cgroup x/system.slice/jobrun.service");
	assert_int_equal(h.ctrl[JR_CG_MEMORY].version, 2);
	assert_int_equal(h.ctrl[JR_CG_CPUACCT].version, 2);
	assert_string_equal(h.ctrl[JR_CG_PIDS].own, h.v2_own);
	assert_string_equal(h.v2_mount_opts, "rw,nsdelegate,memory_recursiveprot");
	jr_cg_host_free(&h);
}

/* Inside a container: the hierarchy's mount root is our own cgroup. */
static void test_mount_root(void **state)
{
	const char mi[] = "40 30 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	const char cg[] = "0::/docker/abc/inner\n";
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_cg_parse(&h, mi, cg, &err), 0);
	assert_string_equal(h.v2_own, "/sys/fs/cgroup/inner");
	jr_cg_host_free(&h);
}

static void test_none(void **state)
{
	struct jr_cg_host h;
	struct jr_err err;
	int c;

	(void)state;
	assert_int_equal(jr_cg_parse(&h, "", "", &err), 0);
	for (c = 0; c < JR_CG_N; c++)
		assert_int_equal(h.ctrl[c].version, 0);
	assert_null(h.v2_mount);
	jr_cg_host_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_comounted),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_mount_root),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
