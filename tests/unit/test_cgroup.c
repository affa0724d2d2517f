/* Unit tests: cgroup layout detection from mountinfo and /proc/self/cgroup (cgroup.c); the
 * limits written into a job's cgroup and the counters read back (cgroup-v1.c, cgroup-v2.c,
 * cgroup-update.c, cgroup-job.c), on directories of plain files standing in for cgroupfs. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "spec.h"

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

/* ---- limits into a job's cgroup, on plain files ---------------------------------------------- */

#define UNTOUCHED "................................"
static char fake[64];      /* the job's "cgroup": one directory for every controller */

/* Make dir/name hold content (UNTOUCHED: a file no write reached). */
static void put(const char *name, const char *content)
{
	char path[256];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake, name);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return; /* made unwritable on purpose */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* What was written into name since put(name, UNTOUCHED) ("" for nothing), or what is there. */
static const char *got(const char *name)
{
	static char buf[256];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake, name);
	f = fopen(path, "r");
	if (!f)
		return "<none>";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* a write does not truncate: "-1" over the dots reads "-1.............." */
	buf[strcspn(buf, ".")] = '\0';
	return buf;
}

static const char *const v1_files[] = {
	"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cpu.cfs_quota_us", "cpu.shares",
	"pids.max", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device", "cpuset.cpus",
};
static const char *const v2_files[] = {
	"memory.max", "memory.swap.max", "memory.oom.group", "cpu.max", "cpu.weight", "pids.max",
	"io.max", "cpuset.cpus",
};

static void fake_cgroup(struct jr_cgroup *cg, struct jr_cg_host *h, int version)
{
	size_t i;
	int c;

	memset(cg, 0, sizeof(*cg));
	memset(h, 0, sizeof(*h));
	cg->v2_fd = -1;
	for (c = 0; c < JR_CG_N; c++) {
		cg->v1_procs[c] = -1;
		h->ctrl[c].version = version;
		cg->dir[c] = strdup(fake);
	}
	cg->applied = jr_cg_no_limits;
	h->v1_memsw = version == 1;
	if (version == 1)
		for (i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++)
			put(v1_files[i], UNTOUCHED);
	else
		for (i = 0; i < sizeof(v2_files) / sizeof(v2_files[0]); i++)
			put(v2_files[i], UNTOUCHED);
}

static void untouch(int version)
{
	size_t i;

	if (version == 1)
		for (i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++)
			put(v1_files[i], UNTOUCHED);
	else
		for (i = 0; i < sizeof(v2_files) / sizeof(v2_files[0]); i++)
			put(v2_files[i], UNTOUCHED);
}

static int make_fake(void **state)
{
	(void)state;
	snprintf(fake, sizeof(fake), "/tmp/jr-test-cg.XXXXXX");
	return mkdtemp(fake) ? 0 : -1;
}

static int remove_fake(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake);
	return system(cmd) == 0 ? 0 : -1;
}

static struct jr_cg_limits grader(void)
{
	struct jr_cg_limits l = jr_cg_no_limits;

	l.memory = 256 << 20;
	l.swap = 0;
	l.cpus_milli = 1000;
	l.pids = 64;
	return l;
}

/* v1: only what changes is written; raising memory writes memsw first, lowering memory first
 * (a memory.limit_in_bytes that cannot be written shows the order: a directory there). */
static void update_v1(void **state)
{
	struct jr_cg_limits lim = grader();
	struct jr_cgroup cg;
	struct jr_cg_host h;
	struct jr_err err;
	char path[256];

	(void)state;
	fake_cgroup(&cg, &h, 1);
	cg.applied = grader();
	/* raise memory (512M), swap 64M, cpus 2, weight 50; pids unchanged */
	lim.memory = 512 << 20;
	lim.swap = 64 << 20;
	lim.cpus_milli = 2000;
	lim.cpu_weight = 50;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.limit_in_bytes"), "536870912");
	assert_string_equal(got("memory.memsw.limit_in_bytes"), "603979776");
	assert_string_equal(got("cpu.cfs_quota_us"), "200000");
	assert_string_equal(got("cpu.shares"), "512");
	assert_string_equal(got("pids.max"), "");            /* unchanged: not written */
	assert_int_equal(cg.applied.memory, 512 << 20);
	/* the same again: nothing written */
	untouch(1);
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.limit_in_bytes"), "");
	assert_string_equal(got("memory.memsw.limit_in_bytes"), "");
	assert_string_equal(got("cpu.shares"), "");
	/* to no limit at all */
	untouch(1);
	lim = jr_cg_no_limits;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.limit_in_bytes"), "-1");
	assert_string_equal(got("memory.memsw.limit_in_bytes"), "-1");
	assert_string_equal(got("cpu.cfs_quota_us"), "-1");
	assert_string_equal(got("cpu.shares"), "1024");       /* the kernel's default weight */
	assert_string_equal(got("pids.max"), "max");

	/* the order: memory.limit_in_bytes unwritable */
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", fake);
	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	untouch(1);
	cg.applied = grader();
	lim = grader();
	lim.memory = 1ULL << 30;                               /* rising: memsw first */
	assert_true(jr_cg_update(&cg, &h, &lim, &err) < 0);
	assert_string_equal(got("memory.memsw.limit_in_bytes"), "1073741824");
	untouch(1);
	lim.memory = 128 << 20;                                /* falling: memory first */
	assert_true(jr_cg_update(&cg, &h, &lim, &err) < 0);
	assert_string_equal(got("memory.memsw.limit_in_bytes"), "");
	assert_non_null(strstr(err.msg, "memory.limit_in_bytes"));
	rmdir(path);
	jr_cg_release(&cg);
}

/* v2: the same, with "max"; a memory limit below memory.current is the job's doing (its
 * unpacked files), refused before memory.max is written. */
static void update_v2(void **state)
{
	struct jr_cg_limits lim = grader();
	struct jr_cgroup cg;
	struct jr_cg_host h;
	struct jr_err err;
	char path[256];

	(void)state;
	fake_cgroup(&cg, &h, 2);
	cg.applied = grader();
	lim.memory = 512 << 20;
	lim.swap = 64 << 20;
	lim.cpus_milli = 500;
	lim.cpu_weight = 300;
	lim.pids = 0;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.max"), "536870912");
	assert_string_equal(got("memory.swap.max"), "67108864");
	assert_string_equal(got("memory.oom.group"), "");      /* set when the cgroup was made */
	assert_string_equal(got("cpu.max"), "50000 100000");
	assert_string_equal(got("cpu.weight"), "300");
	assert_string_equal(got("pids.max"), "max");
	untouch(2);
	lim.memory = 0;
	lim.cpus_milli = 0;
	lim.cpu_weight = 0;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.max"), "max");
	assert_string_equal(got("memory.swap.max"), "max");   /* swap counts with memory only */
	assert_string_equal(got("cpu.max"), "max 100000");
	assert_string_equal(got("cpu.weight"), "100");
	/* from none to a limit: oom.group too */
	untouch(2);
	lim.memory = 64 << 20;
	lim.swap = 0;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.max"), "67108864");
	assert_string_equal(got("memory.swap.max"), "0");
	assert_string_equal(got("memory.oom.group"), "1");
	/* below what the cgroup holds (and memory.reclaim frees nothing): refused, unwritten */
	untouch(2);
	put("memory.current", "50331648\n");
	put("memory.reclaim", UNTOUCHED);
	lim.memory = 16 << 20;
	jr_err_clear(&err);
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), -EINVAL);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "the unpacked files use 48.0 MiB of memory, 32.0 MiB above "
				     "the job's memory limit of 16M");
	assert_string_equal(got("memory.reclaim"), "33554432");
	assert_string_equal(got("memory.max"), "");
	assert_int_equal(cg.applied.memory, 64 << 20);
	/* before 5.19 (no memory.reclaim): written (the kernel reclaims), then refused */
	snprintf(path, sizeof(path), "%s/memory.reclaim", fake);
	unlink(path);
	untouch(2);
	jr_err_clear(&err);
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), -EINVAL);
	assert_int_equal(err.code, 0);
	assert_non_null(strstr(err.msg, "the unpacked files use 48.0 MiB of memory"));
	assert_string_equal(got("memory.max"), "16777216");
	/* it fits: written */
	put("memory.current", "1048576\n");
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("memory.max"), "16777216");
	jr_cg_release(&cg);
}

/* I/O limits: per device, only what changes, removed when the job asks for none. */
static void update_io(void **state)
{
	struct jr_cg_limits lim = jr_cg_no_limits;
	struct jr_cgroup cg;
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	fake_cgroup(&cg, &h, 2);
	lim.ndevs = 1;
	lim.devs[0].major = 254;
	lim.devs[0].minor = 0;
	lim.io_rbps = 1 << 20;
	lim.io_wiops = 100;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("io.max"), "254:0 rbps=1048576 wiops=100");
	untouch(2);
	lim.io_rbps = 0;
	lim.io_wbps = 2 << 20;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("io.max"), "254:0 rbps=max wbps=2097152");
	jr_cg_release(&cg);

	fake_cgroup(&cg, &h, 1);
	cg.applied = lim;
	lim.ndevs = 0;                                        /* no I/O limit any more */
	lim.io_wbps = lim.io_wiops = 0;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), 0);
	assert_string_equal(got("blkio.throttle.write_bps_device"), "254:0 0");
	assert_string_equal(got("blkio.throttle.write_iops_device"), "254:0 0");
	assert_string_equal(got("blkio.throttle.read_bps_device"), "");
	jr_cg_release(&cg);
}

/* A limit whose controller the cgroup lacks, a cpuset added late: the job's doing (RJ). */
static void update_refused(void **state)
{
	struct jr_cg_limits lim = grader();
	struct jr_cgroup cg;
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	fake_cgroup(&cg, &h, 2);
	free(cg.dir[JR_CG_IO]);
	cg.dir[JR_CG_IO] = NULL;
	free(cg.dir[JR_CG_CPUSET]);
	cg.dir[JR_CG_CPUSET] = NULL;
	lim.io_rbps = 1 << 20;
	lim.ndevs = 1;
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), -EINVAL);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "cannot enforce the blkio limit: no blkio controller is "
				     "available to jobrun here (see jobrun check)");
	lim.io_rbps = 0;
	lim.cpuset = "0";
	assert_int_equal(jr_cg_update(&cg, &h, &lim, &err), -EINVAL);
	assert_string_equal(err.msg, "a cpuset can only be given on the command line");
	jr_cg_release(&cg);
}

/* Counters the kernel does not keep in this configuration are absent (null), not 0. */
static void read_counters(void **state)
{
	struct jr_cgroup cg;
	struct jr_cg_host h;
	struct jr_usage u;

	(void)state;
	fake_cgroup(&cg, &h, 1);
	put("memory.max_usage_in_bytes", "33554432\n");
	put("memory.failcnt", "0\n");
	put("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n");
	put("blkio.throttle.io_service_bytes_recursive", "254:0 Read 4096\nTotal 4096\n");
	put("blkio.throttle.io_serviced_recursive", "254:0 Read 1\nTotal 1\n");
	cg.applied = grader();                                 /* swap 0: a memsw limit */
	jr_cg_read(&cg, &h, &u);
	assert_true(u.have_oom_kill);
	assert_int_equal(u.oom_kill, 7);
	assert_false(u.have_failcnt);                          /* was "0 next to oom_kill 7" */
	assert_false(u.have_io);                               /* no throttle rule of its own */
	cg.applied.swap = JR_UNLIMITED;                        /* no memsw limit: failcnt counts */
	cg.applied.io_rbps = 1 << 20;
	cg.applied.ndevs = 1;
	jr_cg_read(&cg, &h, &u);
	assert_true(u.have_failcnt);
	assert_true(u.have_io);
	assert_int_equal(u.io_rbytes, 4096);
	h.v1_memsw = false;                                    /* no swap accounting at all */
	cg.applied.swap = 0;
	jr_cg_read(&cg, &h, &u);
	assert_true(u.have_failcnt);
	jr_cg_release(&cg);
}

/* The unpack helper SIGKILLed: by the OOM killer for the cgroup's own limit? */
static void unpack_oom(void **state)
{
	struct jr_cgroup cg;
	struct jr_cg_host h;
	struct jr_err err;

	(void)state;
	fake_cgroup(&cg, &h, 2);
	cg.applied.memory = 16 << 20;
	put("memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
	put("memory.peak", "16773120\n");
	jr_err_clear(&err);
	assert_int_equal(jr_cg_unpack_oom(&cg, &h, &err), -EINVAL);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "the unpacked files do not fit in the job's memory limit while "
				     "unpacking (16M): the kernel OOM-killed jobrun-unpack at 16.0 MiB");
	put("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n"); /* from above */
	assert_int_equal(jr_cg_unpack_oom(&cg, &h, &err), 0);
	put("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
	assert_int_equal(jr_cg_unpack_oom(&cg, &h, &err), 0);
	jr_cg_release(&cg);

	fake_cgroup(&cg, &h, 1);
	cg.applied.memory = 16 << 20;
	put("memory.oom_control", "oom_kill 1\n");
	put("memory.max_usage_in_bytes", "16777216\n");
	assert_int_equal(jr_cg_unpack_oom(&cg, &h, &err), -EINVAL);
	put("memory.max_usage_in_bytes", "1048576\n");          /* far below: not its limit */
	assert_int_equal(jr_cg_unpack_oom(&cg, &h, &err), 0);
	jr_cg_release(&cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_comounted),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_mount_root),
		cmocka_unit_test(test_none),
		cmocka_unit_test(update_v1),
		cmocka_unit_test(update_v2),
		cmocka_unit_test(update_io),
		cmocka_unit_test(update_refused),
		cmocka_unit_test(read_counters),
		cmocka_unit_test(unpack_oom),
	};

	return cmocka_run_group_tests(tests, make_fake, remove_fake);
}
