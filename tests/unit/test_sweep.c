/* Unit tests: the lease's record of what a job owns (uidpool.c), its parsing and checks, and
 * the sweep of records that name nothing on the host (sweep.c). No root needed. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"
#include "uidpool.h"

#define CG "/sys/fs/cgroup/memory/slurm/uid_1000/job_7/step_0/jobrun/job-1500000003"

static void paths(void **state)
{
	(void)state;
	assert_true(jr_sweep_path_clean("/a"));
	assert_true(jr_sweep_path_clean("/a/b c/..d/.e"));
	assert_false(jr_sweep_path_clean(""));
	assert_false(jr_sweep_path_clean("/"));
	assert_false(jr_sweep_path_clean("a/b"));
	assert_false(jr_sweep_path_clean("/a//b"));
	assert_false(jr_sweep_path_clean("/a/b/"));
	assert_false(jr_sweep_path_clean("/a/./b"));
	assert_false(jr_sweep_path_clean("/a/../b"));
	assert_false(jr_sweep_path_clean("/a/.."));

	assert_true(jr_sweep_cgroup_path_ok(CG, 1500000003));
	assert_true(jr_sweep_cgroup_path_ok("/sys/fs/cgroup/jobrun/job-7", 7));
	assert_false(jr_sweep_cgroup_path_ok(CG, 1500000004));
	assert_false(jr_sweep_cgroup_path_ok(CG, 3)); /* job-1500000003 is not job-3 */
	assert_false(jr_sweep_cgroup_path_ok("/jobrun/job-7", 7)); /* nothing above it */
	assert_false(jr_sweep_cgroup_path_ok("/sys/fs/cgroup/x/job-7", 7));
	assert_false(jr_sweep_cgroup_path_ok("/sys/fs/cgroup/jobrun/job-70", 7));
	assert_false(jr_sweep_cgroup_path_ok("/sys/fs/cgroup/jobrun/job-7/", 7));
	assert_false(jr_sweep_cgroup_path_ok("/sys/fs/cgroup/../jobrun/job-7", 7));
	assert_false(jr_sweep_cgroup_path_ok("sys/fs/cgroup/jobrun/job-7", 7));

	assert_true(jr_sweep_ws_path_ok("/run/jobrun/ws/3", 3));
	assert_false(jr_sweep_ws_path_ok("/run/jobrun/ws/3", 4));
	assert_false(jr_sweep_ws_path_ok("/run/jobrun/ws/13", 3));
	assert_false(jr_sweep_ws_path_ok("/ws/3", 3));
	assert_false(jr_sweep_ws_path_ok("/run/jobrun/ws/../ws/3", 3));
	assert_false(jr_sweep_ws_path_ok("/etc", 3));

	assert_true(jr_sweep_scratch_path_ok("/scratch/jobrun-abc-3", 3));
	assert_true(jr_sweep_scratch_path_ok("/jobrun-a-b-3", 3));
	assert_false(jr_sweep_scratch_path_ok("/scratch/jobrun-abc-3", 4));
	assert_false(jr_sweep_scratch_path_ok("/scratch/jobrun-abc-13", 3));
	assert_false(jr_sweep_scratch_path_ok("/scratch/jobrun--3", 3));
	assert_false(jr_sweep_scratch_path_ok("/scratch/other-abc-3", 3));
	assert_false(jr_sweep_scratch_path_ok("scratch/jobrun-abc-3", 3));
	assert_false(jr_sweep_scratch_path_ok("/scratch/jobrun-abc-3/x", 3));
}

static void parse(const char *text, unsigned slot, struct jr_lease_rec *rec)
{
	assert_int_equal(jr_lease_rec_parse(text, strlen(text), slot, rec), 0);
}

static void good_record(void **state)
{
	struct jr_lease_rec rec;

	(void)state;
	parse("pid 4242\nuid 1500000003\njob grade-17.a\nscratch /scratch/jobrun-grade-17.a-3\n"
	      "cgroup 123 " CG "\n"
	      "cgroup 9 /sys/fs/cgroup/cpu,cpuacct/jobrun/job-1500000003\n"
	      "cgroup 123 " CG "\n" /* the same twice: once */
	      "ws /run/jobrun/ws/3\n", 3, &rec);
	assert_int_equal(rec.bad, 0);
	assert_int_equal(rec.pid, 4242);
	assert_true(rec.have_uid);
	assert_int_equal(rec.uid, 1500000003);
	assert_string_equal(rec.job, "grade-17.a");
	assert_int_equal(rec.ncg, 2);
	assert_string_equal(rec.cg[0], CG);
	assert_int_equal(rec.cg_ino[0], 123);
	assert_string_equal(rec.cg[1], "/sys/fs/cgroup/cpu,cpuacct/jobrun/job-1500000003");
	assert_int_equal(rec.cg_ino[1], 9);
	assert_string_equal(rec.ws, "/run/jobrun/ws/3");
	assert_string_equal(rec.scratch, "/scratch/jobrun-grade-17.a-3");
	jr_lease_rec_free(&rec);

	/* a path with spaces: the rest of the line */
	parse("uid 5\ncgroup 1 /sys/fs/cgroup/a b/jobrun/job-5\n", 0, &rec);
	assert_int_equal(rec.bad, 0);
	assert_int_equal(rec.ncg, 1);
	assert_string_equal(rec.cg[0], "/sys/fs/cgroup/a b/jobrun/job-5");
	jr_lease_rec_free(&rec);

	parse("", 0, &rec);
	assert_int_equal(rec.bad, 0);
	assert_int_equal(rec.ncg, 0);
	assert_null(rec.ws);
	jr_lease_rec_free(&rec);
}

/* text has exactly one bad line, explained with why_part; n cgroups are kept */
static void assert_one_bad(const char *text, unsigned slot, const char *why_part, unsigned ncg)
{
	struct jr_lease_rec rec;

	parse(text, slot, &rec);
	if (rec.bad != 1)
		fail_msg("'%s': %u bad lines (%s), want 1", text, rec.bad, rec.why);
	if (!strstr(rec.why, why_part))
		fail_msg("'%s': reason '%s' lacks '%s'", text, rec.why, why_part);
	assert_int_equal(rec.ncg, ncg);
	jr_lease_rec_free(&rec);
}

static void bad_records(void **state)
{
	static const char nul[] = "uid 1\nws /x/ws/0\0\nws /r/ws/0\n";
	struct jr_lease_rec rec;

	(void)state;
	assert_one_bad("uid 3\nws /run/jobrun/ws/3", 3, "line 2: an incomplete last line", 0);
	assert_one_bad("uid 3\nnoise\n", 3, "line 2: not 'kind value'", 0);
	assert_one_bad("frob /x\n", 3, "unknown kind", 0);
	assert_one_bad("pid 0\n", 3, "pid", 0);
	assert_one_bad("pid -1\n", 3, "pid", 0);
	assert_one_bad("pid 12x\n", 3, "pid", 0);
	assert_one_bad("pid 1\npid 2\n", 3, "line 2: a bad or second pid", 0);
	assert_one_bad("uid 1\nuid 2\n", 3, "second uid", 0);
	assert_one_bad("uid 99999999999\n", 3, "uid", 0);
	assert_one_bad("uid 007\n", 3, "uid", 0);
	assert_one_bad("job a/b\n", 3, "job id", 0);
	assert_one_bad("job ..\n", 3, "job id", 0);
	assert_one_bad("uid 7\ncgroup 1 /sys/fs/cgroup/jobrun/job-8\n", 0, "line 2: a cgroup not named", 0);
	assert_one_bad("cgroup 1 /sys/fs/cgroup/jobrun/job-8\n", 0, "no uid", 0);
	assert_one_bad("uid 8\ncgroup 0 /sys/fs/cgroup/jobrun/job-8\n", 0, "bad cgroup", 0);
	assert_one_bad("uid 8\ncgroup /sys/fs/cgroup/jobrun/job-8\n", 0, "bad cgroup", 0);
	assert_one_bad("uid 8\ncgroup 1 /sys/fs/cgroup/x/../jobrun/job-8\n", 0, "bad cgroup", 0);
	assert_one_bad("uid 8\ncgroup 1 /sys/fs/cgroup/jobrun/job-8\n"
		       "cgroup 2 /sys/fs/cgroup/jobrun/job-9\n", 0, "line 3", 1);
	assert_one_bad("ws /run/jobrun/ws/4\n", 3, "workspace", 0);
	assert_one_bad("ws /run/jobrun/ws/3\nws /run/jobrun/ws/3\n", 3, "line 2: a bad or second workspace", 0);
	assert_one_bad("scratch /s/jobrun-x-4\n", 3, "scratch", 0);
	assert_one_bad("uid 1\ncgroup 1 /a/jobrun/job-1\ncgroup 2 /b/jobrun/job-1\n"
		       "cgroup 3 /c/jobrun/job-1\ncgroup 4 /d/jobrun/job-1\ncgroup 5 /e/jobrun/job-1\n"
		       "cgroup 6 /f/jobrun/job-1\ncgroup 7 /g/jobrun/job-1\n", 0,
		       "line 8: more cgroups than hierarchies", 6);

	/* a NUL byte spoils its line only */
	assert_int_equal(jr_lease_rec_parse(nul, sizeof(nul) - 1, 0, &rec), 0);
	assert_int_equal(rec.bad, 1);
	assert_non_null(strstr(rec.why, "line 2: a NUL byte"));
	assert_string_equal(rec.ws, "/r/ws/0");
	jr_lease_rec_free(&rec);
}

/* ---- the lease file: written while held, emptied when released ---- */

static char rt[64];

static int setup_rt(void **state)
{
	(void)state;
	snprintf(rt, sizeof(rt), "/tmp/jobrun-test-sweep.XXXXXX");
	return mkdtemp(rt) ? 0 : -1;
}

static int teardown_rt(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rt);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void lease_record(void **state)
{
	struct jr_uid_lease lease;
	struct jr_err err;
	char path[128], want[256];
	size_t len;
	char *text;

	(void)state;
	memset(&lease, 0xff, sizeof(lease)); /* acquire sets every field */
	assert_int_equal(jr_uid_acquire(rt, 2000000000, 1, &lease, &err), 0);
	assert_int_equal(lease.slot, 0);
	snprintf(path, sizeof(path), "%s/uids/0", rt);
	/* nothing is written before the first flush */
	slurp(path, &len);
	assert_int_equal(len, 0);
	assert_int_equal(jr_uid_lease_note(&lease, "job", "j1"), 0);
	assert_int_equal(jr_uid_lease_note(&lease, "ws", "a\nb"), -EINVAL);
	assert_int_equal(jr_uid_lease_note(&lease, "scratch", NULL), 0);
	assert_int_equal(jr_uid_lease_flush(&lease), 0);
	text = slurp(path, &len);
	snprintf(want, sizeof(want), "pid %ld\nuid 2000000000\njob j1\n", (long)getpid());
	assert_string_equal(text, want);
	/* a second flush appends what was added since */
	assert_int_equal(jr_uid_lease_note(&lease, "ws", "/r/ws/0"), 0);
	assert_int_equal(jr_uid_lease_flush(&lease), 0);
	assert_int_equal(jr_uid_lease_flush(&lease), 0);
	text = slurp(path, &len);
	strcat(want, "ws /r/ws/0\n");
	assert_string_equal(text, want);
	/* held: no second lease of the one slot, and jr_sweep_all leaves it alone */
	{
		struct jr_uid_lease other;

		assert_true(jr_uid_acquire(rt, 2000000000, 1, &other, &err) < 0);
		assert_int_equal(jr_sweep_all(rt, NULL, NULL, &err), 0);
		text = slurp(path, &len);
		assert_string_equal(text, want);
	}
	jr_uid_release(&lease);
	assert_int_equal(lease.fd, -1);
	assert_null(lease.rec);
	slurp(path, &len);
	assert_int_equal(len, 0);
}

static void quarantine_keeps_record(void **state)
{
	struct jr_uid_lease lease;
	struct jr_err err;
	char path[128], marker[128];
	size_t len;

	(void)state;
	assert_int_equal(jr_uid_acquire(rt, 2000000000, 1, &lease, &err), 0);
	jr_uid_lease_note(&lease, "job", "q1");
	jr_uid_lease_flush(&lease);
	/* the leftover named exists (here: the runtime dir itself) */
	jr_uid_quarantine(rt, &lease, rt);
	jr_uid_release(&lease);
	snprintf(path, sizeof(path), "%s/uids/0", rt);
	slurp(path, &len);
	assert_true(len > 0);
	assert_true(jr_uid_acquire(rt, 2000000000, 1, &lease, &err) < 0); /* quarantined */
	/* once the leftover is gone, the next acquire removes the marker, sweeps, and leases */
	snprintf(marker, sizeof(marker), "%s/uids/0.dirty", rt);
	put(marker, "/nonexistent/jobrun/job-2000000000");
	assert_int_equal(jr_uid_acquire(rt, 2000000000, 1, &lease, &err), 0);
	assert_int_equal(access(marker, F_OK), -1);
	jr_uid_release(&lease);
	slurp(path, &len);
	assert_int_equal(len, 0);
}

struct seen {
	unsigned n;
	struct jr_sweep_report last;
	char first_line[512];
};

static void found(void *data, const struct jr_sweep_report *r)
{
	struct seen *s = data;

	s->n++;
	s->last = *r;
	s->last.lines = NULL;
	s->last.nlines = r->nlines;
	snprintf(s->first_line, sizeof(s->first_line), "%s", r->nlines ? r->lines[0] : "");
}

static void sweep_records(void **state)
{
	struct jr_uid_lease lease;
	struct seen s;
	struct jr_err err;
	char path[128];
	size_t len;

	(void)state;
	/* a dead jobrun's record that names nothing still there: cleared, reported */
	snprintf(path, sizeof(path), "%s/uids", rt);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/uids/0", rt);
	put(path, "pid 77\nuid 2000000000\njob dead-1\n"
		  "cgroup 5 /nonexistent/cgroup/jobrun/job-2000000000\n");
	snprintf(path, sizeof(path), "%s/uids/1", rt);
	put(path, "");
	snprintf(path, sizeof(path), "%s/uids/01", rt); /* not a slot's name: never opened */
	put(path, "pid 1\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(jr_sweep_all(rt, found, &s, &err), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last.slot, 0);
	assert_int_equal(s.last.pid, 77);
	assert_string_equal(s.last.job, "dead-1");
	assert_true(s.last.complete);
	assert_int_equal(s.last.nlines, 0);
	assert_int_equal(s.last.killed, 0);
	snprintf(path, sizeof(path), "%s/uids/0", rt);
	slurp(path, &len);
	assert_int_equal(len, 0);
	snprintf(path, sizeof(path), "%s/uids/01", rt);
	slurp(path, &len);
	assert_int_equal(len, 6);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jr_sweep_all(rt, found, &s, &err), 0);
	assert_int_equal(s.n, 0);

	/* lines that fail the checks are reported and left alone */
	snprintf(path, sizeof(path), "%s/uids/0", rt);
	put(path, "uid 2000000000\ncgroup 5 /etc/jobrun/job-1\nws /etc\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(jr_sweep_all(rt, found, &s, &err), 1);
	assert_true(s.last.complete);
	assert_non_null(strstr(s.first_line, "left alone: 2 lines of the record (line 3:"));

	/* jr_uid_acquire sweeps a free slot's record before it leases it */
	put(path, "pid 78\nuid 2000000000\njob dead-2\n");
	assert_int_equal(jr_uid_acquire(rt, 2000000000, 1, &lease, &err), 0);
	assert_int_equal(lease.rec_written, 0);
	jr_uid_release(&lease);
	slurp(path, &len);
	assert_int_equal(len, 0);

	/* a missing runtime dir has nothing left */
	assert_int_equal(jr_sweep_all("/nonexistent/jobrun-rt", found, &s, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paths),
		cmocka_unit_test(good_record),
		cmocka_unit_test(bad_records),
		cmocka_unit_test_setup_teardown(lease_record, setup_rt, teardown_rt),
		cmocka_unit_test_setup_teardown(quarantine_keeps_record, setup_rt, teardown_rt),
		cmocka_unit_test_setup_teardown(sweep_records, setup_rt, teardown_rt),
	};

	return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}
