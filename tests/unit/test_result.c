/* test_result.c - the verdict rule, the exit status and the JSON result (result.c). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "result.h"
#include "spec.h"

/* A result whose fields hold garbage, as a reused struct would: decide must reset them. */
static void dirty(struct jr_result *r)
{
	memset(r, 0, sizeof(*r));
	r->verdict = JR_XX;
	r->exited = true;
	r->exit_code = 77;
	r->signal = 66;
	r->limit = "stale";
	strcpy(r->message, "stale message");
}

static enum jr_verdict decide(struct jr_result *r, const struct jr_outcome *o)
{
	jr_result_decide(r, o);
	return r->verdict;
}

/* ---- the verdict rule ------------------------------------------------------------------ */

/* Start with every fact true and remove them one by one, highest first. */
static void precedence_chain(void **state)
{
	struct jr_outcome o;
	struct jr_result r;

	(void)state;
	memset(&o, 0, sizeof(o));
	dirty(&r);
	r.out.truncated = true;
	r.err.truncated = true;
	o.internal_error = true;
	o.rejected = true;
	o.exec_failed = true;
	o.exec_errno = 2;
	o.timed_out_wall = true;
	o.timed_out_cpu = true;
	o.oom_own = true;
	o.oom_host = true;
	o.have_status = true;
	o.wstatus = SIGKILL;
	r.usage.have_oom_kill = true;
	r.usage.oom_kill = 1;
	strcpy(o.message, "the facts");

	assert_int_equal(decide(&r, &o), JR_XX);
	assert_string_equal(r.message, "the facts");
	o.internal_error = false;
	assert_int_equal(decide(&r, &o), JR_RJ);
	assert_string_equal(r.message, "the facts");
	o.rejected = false;
	assert_int_equal(decide(&r, &o), JR_RJ);  /* exec failed */
	assert_string_equal(r.message, "the facts");
	o.exec_failed = false;
	assert_int_equal(decide(&r, &o), JR_TO);
	assert_string_equal(r.limit, "wall");
	assert_string_equal(r.message, "wall-clock limit exceeded");
	o.timed_out_wall = false;
	assert_int_equal(decide(&r, &o), JR_TO);
	assert_string_equal(r.limit, "cpu");
	assert_string_equal(r.message, "CPU-time limit exceeded");
	o.timed_out_cpu = false;
	assert_int_equal(decide(&r, &o), JR_ML);
	assert_string_equal(r.limit, "memory");
	o.oom_own = false;
	assert_int_equal(decide(&r, &o), JR_XX);   /* a host-wide OOM: not the job's doing */
	assert_null(r.limit);
	assert_non_null(strstr(r.message, "host-wide OOM"));
	o.oom_host = false;
	o.have_status = false;
	assert_int_equal(decide(&r, &o), JR_XX);   /* no status */
	assert_non_null(strstr(r.message, "without a status"));
	o.have_status = true;
	assert_int_equal(decide(&r, &o), JR_OL);
	assert_string_equal(r.limit, "output");
	r.out.truncated = false;
	r.err.truncated = false;
	assert_int_equal(decide(&r, &o), JR_SG);
	assert_null(r.limit);
	o.wstatus = W_EXITCODE(3, 0);
	assert_int_equal(decide(&r, &o), JR_RE);
	o.wstatus = W_EXITCODE(0, 0);
	assert_int_equal(decide(&r, &o), JR_OK);
	assert_string_equal(r.message, "");
	assert_null(r.limit);
}

static void precedence_pairs(void **state)
{
	struct jr_outcome o;
	struct jr_result r;

	(void)state;
	/* RJ beats TO and OL and a nonzero exit */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.rejected = true;
	o.timed_out_wall = true;
	o.have_status = true;
	o.wstatus = W_EXITCODE(1, 0);
	r.out.truncated = true;
	assert_int_equal(decide(&r, &o), JR_RJ);
	assert_null(r.limit);

	/* XX beats everything even without a status */
	memset(&o, 0, sizeof(o));
	o.internal_error = true;
	o.exec_failed = true;
	strcpy(o.message, "cgroup setup failed");
	assert_int_equal(decide(&r, &o), JR_XX);
	assert_string_equal(r.message, "cgroup setup failed");

	/* TO beats OL */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.timed_out_wall = true;
	o.have_status = true;
	o.wstatus = SIGKILL;
	r.err.truncated = true;
	assert_int_equal(decide(&r, &o), JR_TO);
	assert_string_equal(r.limit, "wall");
	assert_int_equal(r.signal, SIGKILL);   /* the status is still reported */

	/* OL beats RE */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.have_status = true;
	o.wstatus = W_EXITCODE(1, 0);
	r.out.truncated = true;
	assert_int_equal(decide(&r, &o), JR_OL);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 1);

	/* OL even when the job exited 0 */
	o.wstatus = W_EXITCODE(0, 0);
	assert_int_equal(decide(&r, &o), JR_OL);

	/* ML beats OL, and holds even when the main process exited 0 */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.oom_own = true;
	o.have_status = true;
	o.wstatus = W_EXITCODE(0, 0);
	r.out.truncated = true;
	assert_int_equal(decide(&r, &o), JR_ML);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 0);

	/* TO (wall) beats TO (cpu) beats ML */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.timed_out_cpu = true;
	o.oom_own = true;
	o.have_status = true;
	o.wstatus = SIGKILL;
	assert_int_equal(decide(&r, &o), JR_TO);
	assert_string_equal(r.limit, "cpu");
	o.timed_out_wall = true;
	assert_int_equal(decide(&r, &o), JR_TO);
	assert_string_equal(r.limit, "wall");

	/* a time limit or an OOM of its own needs no status from init: the job was killed */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.timed_out_cpu = true;
	assert_int_equal(decide(&r, &o), JR_TO);
	memset(&o, 0, sizeof(o));
	o.oom_own = true;
	assert_int_equal(decide(&r, &o), JR_ML);
	assert_false(r.exited);
	assert_int_equal(r.signal, 0);
}

static void memory_limit_messages(void **state)
{
	struct jr_outcome o;
	struct jr_result r;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.oom_own = true;
	o.have_status = true;
	o.wstatus = SIGKILL;
	dirty(&r);
	r.usage.have_oom_kill = true;
	r.usage.oom_kill = 1;
	assert_int_equal(decide(&r, &o), JR_ML);
	assert_string_equal(r.message, "memory limit exceeded: the kernel killed 1 process of the job");
	assert_int_equal(r.signal, SIGKILL);
	dirty(&r);
	r.usage.have_oom_kill = true;
	r.usage.oom_kill = 3;
	assert_int_equal(decide(&r, &o), JR_ML);
	assert_string_equal(r.message,
			    "memory limit exceeded: the kernel killed 3 processes of the job");
}

static struct jr_usage usage_oom(uint64_t oom_kill)
{
	struct jr_usage u;

	memset(&u, 0, sizeof(u));
	u.have_oom_kill = true;
	u.oom_kill = oom_kill;
	return u;
}

static void oom_classify(void **state)
{
	struct jr_usage u;
	bool own, host;

	(void)state;
	/* no kill, or no counter: neither */
	u = usage_oom(0);
	own = host = true;
	jr_oom_classify(&u, 1 << 20, &own, &host);
	assert_false(own);
	assert_false(host);
	memset(&u, 0, sizeof(u));
	u.oom_kill = 5;   /* have_oom_kill false: the value is not to be trusted */
	own = host = true;
	jr_oom_classify(&u, 1 << 20, &own, &host);
	assert_false(own);
	assert_false(host);

	/* v2: memory.events "oom" says whether the job's own limit was the cause */
	u = usage_oom(2);
	u.have_oom = true;
	u.oom = 1;
	jr_oom_classify(&u, 1 << 20, &own, &host);
	assert_true(own);
	assert_false(host);
	u.oom = 0;
	jr_oom_classify(&u, 1 << 20, &own, &host);
	assert_false(own);
	assert_true(host);
	u.oom = 1;    /* the counter wins even without a limit passed in */
	jr_oom_classify(&u, 0, &own, &host);
	assert_true(own);

	/* v1, no limit of its own: the kill came from above */
	u = usage_oom(1);
	jr_oom_classify(&u, 0, &own, &host);
	assert_false(own);
	assert_true(host);

	/* v1 with a limit: failcnt, or a peak at the limit (within 64K), or no peak known */
	u = usage_oom(1);
	u.have_failcnt = true;
	u.failcnt = 4;
	u.have_mem_peak = true;
	u.mem_peak = 1 << 20;
	jr_oom_classify(&u, 64 << 20, &own, &host);
	assert_true(own);
	assert_false(host);
	u.failcnt = 0;
	jr_oom_classify(&u, 64 << 20, &own, &host);   /* peak far below the limit */
	assert_false(own);
	assert_true(host);
	u.mem_peak = (64 << 20) - 65536;
	jr_oom_classify(&u, 64 << 20, &own, &host);
	assert_true(own);
	u.mem_peak = (64 << 20) - 65537;
	jr_oom_classify(&u, 64 << 20, &own, &host);
	assert_false(own);
	assert_true(host);
	u.have_mem_peak = false;
	jr_oom_classify(&u, 64 << 20, &own, &host);
	assert_true(own);
	assert_false(host);
}

static void exit_codes(void **state)
{
	static const int codes[] = { 0, 1, 2, 42, 126, 127, 128, 137, 255 };
	struct jr_outcome o;
	struct jr_result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		memset(&o, 0, sizeof(o));
		dirty(&r);
		o.have_status = true;
		o.wstatus = W_EXITCODE(codes[i], 0);
		jr_result_decide(&r, &o);
		assert_true(r.exited);
		assert_int_equal(r.exit_code, codes[i]);
		assert_int_equal(r.signal, 0);
		assert_null(r.limit);
		if (codes[i] == 0) {
			assert_int_equal(r.verdict, JR_OK);
			assert_string_equal(r.message, "");
		} else {
			char want[64];

			snprintf(want, sizeof(want), "exited with status %d", codes[i]);
			assert_int_equal(r.verdict, JR_RE);
			assert_string_equal(r.message, want);
		}
	}
}

static void signals(void **state)
{
	static const struct {
		int wstatus, sig;
		const char *abbrev;
	} cases[] = {
		{ SIGKILL, SIGKILL, "KILL" },
		{ SIGSEGV, SIGSEGV, "SEGV" },
		{ SIGSEGV | 0x80, SIGSEGV, "SEGV" },   /* core dumped */
		{ SIGABRT | 0x80, SIGABRT, "ABRT" },
		{ SIGTERM, SIGTERM, "TERM" },
		{ SIGXFSZ, SIGXFSZ, "XFSZ" },
		{ SIGSYS, SIGSYS, "SYS" },
	};
	struct jr_outcome o;
	struct jr_result r;
	char want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&o, 0, sizeof(o));
		dirty(&r);
		o.have_status = true;
		o.wstatus = cases[i].wstatus;
		jr_result_decide(&r, &o);
		assert_int_equal(r.verdict, JR_SG);
		assert_false(r.exited);
		assert_int_equal(r.exit_code, 0);
		assert_int_equal(r.signal, cases[i].sig);
		assert_null(r.limit);
		snprintf(want, sizeof(want), "killed by signal %d (%s)", cases[i].sig,
			 cases[i].abbrev);
		assert_string_equal(r.message, want);
	}
}

static void no_status(void **state)
{
	struct jr_outcome o;
	struct jr_result r;

	(void)state;
	/* no status and no timeout: jobrun lost track of the job, its own fault */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.wstatus = W_EXITCODE(0, 0);   /* ignored: have_status is false */
	assert_int_equal(decide(&r, &o), JR_XX);
	assert_non_null(strstr(r.message, "status"));
	assert_false(r.exited);
	assert_int_equal(r.signal, 0);
	assert_null(r.limit);

	/* a wstatus that would be a signal is ignored as well */
	o.wstatus = SIGKILL;
	assert_int_equal(decide(&r, &o), JR_XX);
	assert_int_equal(r.signal, 0);

	/* no status but the wall clock ran out: TO (the job was killed, init never reported) */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	o.timed_out_wall = true;
	assert_int_equal(decide(&r, &o), JR_TO);
	assert_string_equal(r.limit, "wall");
	assert_string_equal(r.message, "wall-clock limit exceeded");
	assert_false(r.exited);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.signal, 0);

	/* no status, output truncated: still XX (OL needs a status) */
	memset(&o, 0, sizeof(o));
	dirty(&r);
	r.out.truncated = true;
	assert_int_equal(decide(&r, &o), JR_XX);
}

static void output_limit_messages(void **state)
{
	struct jr_outcome o;
	struct jr_result r;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.have_status = true;
	o.wstatus = W_EXITCODE(0, 0);

	dirty(&r);
	r.out.truncated = true;
	assert_int_equal(decide(&r, &o), JR_OL);
	assert_string_equal(r.limit, "output");
	assert_string_equal(r.message, "output limit exceeded on stdout");

	dirty(&r);
	r.err.truncated = true;
	assert_int_equal(decide(&r, &o), JR_OL);
	assert_string_equal(r.message, "output limit exceeded on stderr");

	dirty(&r);
	r.out.truncated = true;
	r.err.truncated = true;
	assert_int_equal(decide(&r, &o), JR_OL);
	assert_string_equal(r.message, "output limit exceeded on stdout and stderr");
}

static void messages_are_bounded(void **state)
{
	struct jr_outcome o;
	struct jr_result r;

	(void)state;
	memset(&o, 0, sizeof(o));
	dirty(&r);
	memset(o.message, 'm', sizeof(o.message) - 1);
	o.message[sizeof(o.message) - 1] = '\0';
	o.rejected = true;
	jr_result_decide(&r, &o);
	assert_int_equal(r.verdict, JR_RJ);
	assert_int_equal(strlen(r.message), sizeof(r.message) - 1);
}

static void exit_status(void **state)
{
	static const struct {
		enum jr_verdict v;
		int status;
		const char *name;
	} cases[] = {
		{ JR_OK, 0, "OK" }, { JR_RE, 1, "RE" }, { JR_SG, 1, "SG" }, { JR_OL, 1, "OL" },
		{ JR_ML, 1, "ML" }, { JR_TO, 1, "TO" }, { JR_RJ, 1, "RJ" }, { JR_XX, 2, "XX" },
	};
	struct jr_result r;
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.verdict = cases[i].v;
		assert_int_equal(jr_result_exit_status(&r), cases[i].status);
		assert_string_equal(jr_verdict_name(cases[i].v), cases[i].name);
	}
	/* an out-of-range verdict is jobrun's fault */
	r.verdict = (enum jr_verdict)99;
	assert_int_equal(jr_result_exit_status(&r), 2);
	assert_string_equal(jr_verdict_name((enum jr_verdict)99), "XX");
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* cmocka 1.1's assert_float_equal compares floats: too coarse for microseconds. */
#define assert_near(a, b) assert_true(near((a), (b)))

static int near(double a, double b)
{
	double d = a - b;

	if (d > 1e-9 || d < -1e-9)
		print_error("%.12f != %.12f\n", a, b);
	return d <= 1e-9 && d >= -1e-9;
}

static json_t *to_json(const struct jr_result *r, const struct jr_spec *spec)
{
	json_error_t jerr;
	char *text = jr_result_json(r, spec);
	json_t *j;

	assert_non_null(text);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		print_error("invalid JSON (%s, line %d):\n%s\n", jerr.text, jerr.line, text);
	free(text);
	assert_non_null(j);
	assert_true(json_is_object(j));
	return j;
}

static json_t *get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		print_error("missing key '%s'\n", key);
	assert_non_null(v);
	return v;
}

static json_int_t get_int(json_t *o, const char *key)
{
	json_t *v = get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *get_str(json_t *o, const char *key)
{
	json_t *v = get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void base_result(struct jr_result *r)
{
	memset(r, 0, sizeof(*r));
	r->uid = 1500000007;
	r->gid = 1500000007;
	r->wall_usec = 1234567;
	r->start.tv_sec = 1700000000;      /* 2023-11-14T22:13:20Z */
	r->start.tv_nsec = 5000;
	r->end.tv_sec = 1700000001;
	r->end.tv_nsec = 239567999;
	r->out.bytes = 11;
	r->out.limit = 64ULL << 20;
	r->err.bytes = 70000000;
	r->err.limit = 64ULL << 20;
	r->err.truncated = true;
}

static void json_exited(void **state)
{
	static const char *const top[] = {
		"version", "id", "verdict", "message", "exit_code", "signal", "limit", "wall_seconds",
		"start_time", "end_time", "stdout", "stderr", "host", "limits", "isolation", "cpu",
		"memory", "pids", "io", "rusage", "cgroup_version", "outputs", "output_dir", "profile",
		"submitter", "archive",
	};
	struct jr_outcome o;
	struct jr_result r;
	struct jr_spec spec;
	json_t *j, *s;
	const char *key;
	json_t *value;
	size_t i;

	(void)state;
	jr_spec_init(&spec);
	spec.id = strdup("job-1");
	base_result(&r);
	memset(&o, 0, sizeof(o));
	o.have_status = true;
	o.wstatus = W_EXITCODE(3, 0);
	r.err.truncated = false;
	jr_result_decide(&r, &o);
	assert_int_equal(r.verdict, JR_RE);

	j = to_json(&r, &spec);
	/* exactly the documented keys, in the documented order */
	assert_int_equal(json_object_size(j), sizeof(top) / sizeof(top[0]));
	i = 0;
	json_object_foreach(j, key, value) {
		assert_string_equal(key, top[i]);
		i++;
	}
	assert_int_equal(get_int(j, "version"), JR_RESULT_VERSION);
	assert_int_equal(get_int(j, "version"), 1);
	assert_string_equal(get_str(j, "id"), "job-1");
	assert_string_equal(get_str(j, "verdict"), "RE");
	assert_string_equal(get_str(j, "message"), "exited with status 3");
	assert_int_equal(get_int(j, "exit_code"), 3);
	assert_true(json_is_null(get(j, "signal")));
	assert_true(json_is_null(get(j, "limit")));
	assert_true(json_is_real(get(j, "wall_seconds")));
	assert_near(json_real_value(get(j, "wall_seconds")), 1.234567);
	assert_string_equal(get_str(j, "start_time"), "2023-11-14T22:13:20.000005Z");
	assert_string_equal(get_str(j, "end_time"), "2023-11-14T22:13:21.239567Z");
	assert_true(strlen(get_str(j, "host")) > 0);

	s = get(j, "stdout");
	assert_true(json_is_object(s));
	assert_int_equal(json_object_size(s), 4);
	assert_int_equal(get_int(s, "bytes"), 11);
	assert_int_equal(get_int(s, "limit"), 64 << 20);
	assert_true(json_is_false(get(s, "truncated")));
	assert_int_equal(get_int(s, "undelivered_bytes"), 0);
	s = get(j, "stderr");
	assert_int_equal(get_int(s, "bytes"), 70000000);
	assert_true(json_is_boolean(get(s, "truncated")));
	json_decref(j);

	/* exit 0: exit_code is 0, not null */
	o.wstatus = W_EXITCODE(0, 0);
	jr_result_decide(&r, &o);
	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "verdict"), "OK");
	assert_string_equal(get_str(j, "message"), "");
	assert_int_equal(get_int(j, "exit_code"), 0);
	assert_true(json_is_null(get(j, "signal")));
	json_decref(j);
	jr_spec_free(&spec);
}

static void json_signaled(void **state)
{
	struct jr_outcome o;
	struct jr_result r;
	struct jr_spec spec;
	json_t *j;

	(void)state;
	jr_spec_init(&spec);
	base_result(&r);
	r.err.truncated = false;
	memset(&o, 0, sizeof(o));
	o.have_status = true;
	o.wstatus = SIGSEGV | 0x80;
	jr_result_decide(&r, &o);

	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "verdict"), "SG");
	assert_true(json_is_null(get(j, "exit_code")));
	assert_int_equal(get_int(j, "signal"), SIGSEGV);
	assert_true(json_is_null(get(j, "limit")));
	assert_string_equal(get_str(j, "id"), "");   /* no id: empty, not missing */
	json_decref(j);
	jr_spec_free(&spec);
}

static void json_limits_and_streams(void **state)
{
	struct jr_outcome o;
	struct jr_result r;
	struct jr_spec spec;
	json_t *j, *s;

	(void)state;
	jr_spec_init(&spec);
	base_result(&r);
	memset(&o, 0, sizeof(o));
	o.have_status = true;
	o.wstatus = W_EXITCODE(0, 0);
	jr_result_decide(&r, &o);

	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "verdict"), "OL");
	assert_string_equal(get_str(j, "limit"), "output");
	assert_string_equal(get_str(j, "message"), "output limit exceeded on stderr");
	s = get(j, "stderr");
	assert_int_equal(get_int(s, "bytes"), 70000000);
	assert_int_equal(get_int(s, "limit"), 64 << 20);
	assert_true(json_is_true(get(s, "truncated")));
	assert_true(json_is_false(get(get(j, "stdout"), "truncated")));

	/* spec defaults: no wall limit, stack unchanged, file size unlimited */
	s = get(j, "limits");
	assert_int_equal(json_object_size(s), 18);
	assert_true(json_is_null(get(s, "wall_seconds")));
	assert_true(json_is_null(get(s, "cpu_seconds")));
	assert_int_equal(get_int(s, "output_bytes"), 64 << 20);
	assert_int_equal(get_int(s, "disk_bytes"), 256 << 20);
	assert_int_equal(get_int(s, "open_files"), 256);
	assert_true(json_is_null(get(s, "stack_bytes")));
	assert_true(json_is_null(get(s, "file_size_bytes")));
	{
		static const char *const none[] = {
			"memory_bytes", "swap_bytes", "cpus", "cpu_weight", "cpuset", "pids",
			"io_read_bps", "io_write_bps", "io_read_iops", "io_write_iops", "scratch",
		};
		size_t i;

		for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
			assert_true(json_is_null(get(s, none[i])));
	}
	json_decref(j);

	/* set limits */
	spec.wall_usec = 1500000;
	spec.output_limit = 1024;
	spec.disk_bytes = 1ULL << 30;
	spec.open_files = 64;
	spec.stack_bytes = 8ULL << 20;
	spec.file_size = 5ULL << 40;
	spec.cpu_time_usec = 2500000;
	spec.cg.memory = 512ULL << 20;
	spec.cg.swap = 0;
	spec.cg.cpus_milli = 500;
	spec.cg.cpu_weight = 200;
	spec.cg.cpuset = strdup("0-1,3");
	spec.cg.pids = 64;
	spec.cg.io_rbps = 10 << 20;
	spec.cg.io_wbps = 5 << 20;
	spec.cg.io_riops = 1000;
	spec.cg.io_wiops = 500;
	spec.scratch = strdup("/srv/scratch");
	j = to_json(&r, &spec);
	s = get(j, "limits");
	assert_true(json_is_real(get(s, "wall_seconds")));
	assert_near(json_real_value(get(s, "wall_seconds")), 1.5);
	assert_int_equal(get_int(s, "output_bytes"), 1024);
	assert_int_equal(get_int(s, "disk_bytes"), 1 << 30);
	assert_int_equal(get_int(s, "open_files"), 64);
	assert_int_equal(get_int(s, "stack_bytes"), 8 << 20);
	assert_int_equal(get_int(s, "file_size_bytes"), 5ULL << 40);
	assert_true(json_is_real(get(s, "cpu_seconds")));
	assert_near(json_real_value(get(s, "cpu_seconds")), 2.5);
	assert_int_equal(get_int(s, "memory_bytes"), 512 << 20);
	assert_int_equal(get_int(s, "swap_bytes"), 0);   /* memory set, no swap: 0, not null */
	assert_true(json_is_real(get(s, "cpus")));
	assert_near(json_real_value(get(s, "cpus")), 0.5);
	assert_int_equal(get_int(s, "cpu_weight"), 200);
	assert_string_equal(get_str(s, "cpuset"), "0-1,3");
	assert_int_equal(get_int(s, "pids"), 64);
	assert_int_equal(get_int(s, "io_read_bps"), 10 << 20);
	assert_int_equal(get_int(s, "io_write_bps"), 5 << 20);
	assert_int_equal(get_int(s, "io_read_iops"), 1000);
	assert_int_equal(get_int(s, "io_write_iops"), 500);
	assert_string_equal(get_str(s, "scratch"), "/srv/scratch");
	json_decref(j);

	/* unlimited swap on top of a memory limit: null; and so without a memory limit */
	spec.cg.swap = JR_UNLIMITED;
	j = to_json(&r, &spec);
	assert_true(json_is_null(get(get(j, "limits"), "swap_bytes")));
	json_decref(j);
	spec.cg.swap = 1 << 20;
	spec.cg.memory = 0;
	j = to_json(&r, &spec);
	assert_true(json_is_null(get(get(j, "limits"), "swap_bytes")));
	assert_true(json_is_null(get(get(j, "limits"), "memory_bytes")));
	json_decref(j);

	/* unlimited stack: null */
	spec.stack_bytes = JR_UNLIMITED;
	spec.file_size = JR_UNLIMITED;
	j = to_json(&r, &spec);
	s = get(j, "limits");
	assert_true(json_is_null(get(s, "stack_bytes")));
	assert_true(json_is_null(get(s, "file_size_bytes")));
	json_decref(j);
	jr_spec_free(&spec);
}

/* Usage: absent counters are null, present ones exact; cgroup_version 1, 2, "mixed", null. */
static void json_usage(void **state)
{
	static const char *const groups[][6] = {
		{ "cpu", "seconds", "user_seconds", "system_seconds", NULL },
		{ "memory", "peak_bytes", "limit_bytes", "oom", "oom_kill", "limit_hits" },
		{ "pids", "peak", "limit", "forks_refused", NULL },
		{ "io", "read_bytes", "write_bytes", "read_ops", "write_ops", NULL },
	};
	struct jr_result r;
	struct jr_spec spec;
	json_t *j, *g;
	size_t i, k, n;

	(void)state;
	jr_spec_init(&spec);
	base_result(&r);
	/* nothing known: every counter null, no cgroup */
	j = to_json(&r, &spec);
	for (i = 0; i < 4; i++) {
		g = get(j, groups[i][0]);
		assert_true(json_is_object(g));
		for (k = 1, n = 0; k < 6 && groups[i][k]; k++, n++)
			assert_true(json_is_null(get(g, groups[i][k])));
		assert_int_equal(json_object_size(g), n);
	}
	assert_true(json_is_null(get(j, "cgroup_version")));
	json_decref(j);

	/* everything known */
	r.usage.have_cpu = true;
	r.usage.cpu_usec = 1250000;
	r.usage.have_cpu_split = true;
	r.usage.user_usec = 1000000;
	r.usage.sys_usec = 250000;
	r.usage.have_mem_peak = true;
	r.usage.mem_peak = 123456789;
	r.usage.have_oom = true;
	r.usage.oom = 0;
	r.usage.have_oom_kill = true;
	r.usage.oom_kill = 2;
	r.usage.have_failcnt = true;
	r.usage.failcnt = 7;
	r.usage.have_pids_peak = true;
	r.usage.pids_peak = 33;
	r.usage.have_forks_refused = true;
	r.usage.forks_refused = 0;
	r.usage.have_io = true;
	r.usage.io_rbytes = 5ULL << 32;
	r.usage.io_wbytes = 4096;
	r.usage.io_rios = 10;
	r.usage.io_wios = 1;
	r.cg_version = 2;
	spec.cg.memory = 256ULL << 20;
	spec.cg.pids = 100;
	j = to_json(&r, &spec);
	g = get(j, "cpu");
	assert_near(json_real_value(get(g, "seconds")), 1.25);
	assert_near(json_real_value(get(g, "user_seconds")), 1.0);
	assert_near(json_real_value(get(g, "system_seconds")), 0.25);
	g = get(j, "memory");
	assert_int_equal(get_int(g, "peak_bytes"), 123456789);
	assert_int_equal(get_int(g, "limit_bytes"), 256 << 20);
	assert_int_equal(get_int(g, "oom"), 0);          /* known zero: 0, not null */
	assert_int_equal(get_int(g, "oom_kill"), 2);
	assert_int_equal(get_int(g, "limit_hits"), 7);
	g = get(j, "pids");
	assert_int_equal(get_int(g, "peak"), 33);
	assert_int_equal(get_int(g, "limit"), 100);
	assert_int_equal(get_int(g, "forks_refused"), 0);
	g = get(j, "io");
	assert_int_equal(get_int(g, "read_bytes"), 5LL << 32);
	assert_int_equal(get_int(g, "write_bytes"), 4096);
	assert_int_equal(get_int(g, "read_ops"), 10);
	assert_int_equal(get_int(g, "write_ops"), 1);
	assert_int_equal(get_int(j, "cgroup_version"), 2);
	json_decref(j);

	r.cg_version = 1;
	j = to_json(&r, &spec);
	assert_int_equal(get_int(j, "cgroup_version"), 1);
	json_decref(j);
	r.cg_version = 3;
	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "cgroup_version"), "mixed");
	json_decref(j);
	jr_spec_free(&spec);
}

/* --file-size 0 is a real limit (RLIMIT_FSIZE 0: the job may not write any file); the result
 * must not report it as null, which is what "unlimited" (the default) looks like. */
static void json_file_size_zero_is_a_limit(void **state)
{
	struct jr_result r;
	struct jr_spec spec;
	json_t *j;

	(void)state;
	jr_spec_init(&spec);
	base_result(&r);
	spec.file_size = 0;
	j = to_json(&r, &spec);
	assert_true(json_is_integer(get(get(j, "limits"), "file_size_bytes")));
	assert_int_equal(get_int(get(j, "limits"), "file_size_bytes"), 0);
	json_decref(j);
	jr_spec_free(&spec);
}

static void json_timeout(void **state)
{
	struct jr_outcome o;
	struct jr_result r;
	struct jr_spec spec;
	json_t *j;

	(void)state;
	jr_spec_init(&spec);
	spec.wall_usec = 250000;
	base_result(&r);
	memset(&o, 0, sizeof(o));
	o.timed_out_wall = true;
	o.have_status = true;
	o.wstatus = SIGKILL;
	jr_result_decide(&r, &o);
	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "verdict"), "TO");
	assert_string_equal(get_str(j, "limit"), "wall");
	assert_int_equal(get_int(j, "signal"), SIGKILL);
	assert_true(json_is_null(get(j, "exit_code")));
	assert_near(json_real_value(get(get(j, "limits"), "wall_seconds")), 0.25);
	json_decref(j);
	jr_spec_free(&spec);
}

static void json_isolation(void **state)
{
	static const char *const ns[] = { "pid", "net", "uts", "ipc", "mnt", "cgroup" };
	struct jr_result r;
	struct jr_spec spec;
	json_t *j, *iso, *a;
	size_t i;

	(void)state;
	jr_spec_init(&spec);
	base_result(&r);
	j = to_json(&r, &spec);
	iso = get(j, "isolation");
	assert_int_equal(json_object_size(iso), 9);
	a = get(iso, "namespaces");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), ns[i]);
	assert_int_equal(get_int(iso, "uid"), 1500000007);
	assert_int_equal(get_int(iso, "gid"), 1500000007);
	assert_string_equal(get_str(iso, "hostname"), "jobrun");
	assert_true(json_is_true(get(iso, "seccomp")));
	assert_true(json_is_true(get(iso, "no_new_privs")));
	assert_true(json_is_false(get(iso, "capabilities")));
	assert_string_equal(get_str(iso, "network"), "loopback");
	assert_string_equal(get_str(iso, "workdir"), "tmpfs");
	json_decref(j);

	free(spec.workdir);
	spec.workdir = strdup("/srv/jobs/42");
	free(spec.hostname);
	spec.hostname = strdup("box-7.example");
	r.uid = 4000000000U;    /* above 2^31: must not come out negative */
	j = to_json(&r, &spec);
	iso = get(j, "isolation");
	assert_string_equal(get_str(iso, "workdir"), "/srv/jobs/42");
	assert_string_equal(get_str(iso, "hostname"), "box-7.example");
	assert_int_equal(get_int(iso, "uid"), 4000000000LL);
	json_decref(j);
	jr_spec_free(&spec);
}

static void json_escapes_text(void **state)
{
	static const char nasty[] = "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9";
	struct jr_outcome o;
	struct jr_result r;
	struct jr_spec spec;
	json_t *j;

	(void)state;
	jr_spec_init(&spec);
	spec.id = strdup("id \"with\" quotes\n");
	base_result(&r);
	memset(&o, 0, sizeof(o));
	o.rejected = true;
	strcpy(o.message, nasty);
	jr_result_decide(&r, &o);
	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "verdict"), "RJ");
	assert_string_equal(get_str(j, "message"), nasty);
	assert_string_equal(get_str(j, "id"), "id \"with\" quotes\n");
	json_decref(j);
	jr_spec_free(&spec);
}

/* Text that is not UTF-8 (a command or a --dir path with a byte like \xff, a message cut by
 * snprintf in the middle of a multi-byte character) must still give a result: without one,
 * the caller learns nothing about the job. */
static void json_survives_invalid_utf8(void **state)
{
	struct jr_outcome o;
	struct jr_result r;
	struct jr_spec spec;
	char *text;
	json_t *j;

	(void)state;
	jr_spec_init(&spec);
	base_result(&r);
	memset(&o, 0, sizeof(o));
	o.exec_failed = true;
	strcpy(o.message, "cannot execute '\xff\xfeprog': No such file or directory");
	jr_result_decide(&r, &o);
	text = jr_result_json(&r, &spec);
	assert_non_null(text);
	free(text);
	j = to_json(&r, &spec);
	assert_string_equal(get_str(j, "verdict"), "RJ");
	assert_non_null(strstr(get_str(j, "message"), "cannot execute '"));
	assert_non_null(strstr(get_str(j, "message"), "prog': No such file or directory"));
	json_decref(j);

	/* a message truncated in the middle of "\xc3\xa9" */
	memset(&o, 0, sizeof(o));
	o.rejected = true;
	strcpy(o.message, "stdin file /data/caf\xc3");
	jr_result_decide(&r, &o);
	j = to_json(&r, &spec);
	assert_non_null(strstr(get_str(j, "message"), "stdin file /data/caf"));
	json_decref(j);

	/* --dir is a realpath(): any bytes a file name may hold */
	spec.workdir = strdup("/srv/\xff");
	j = to_json(&r, &spec);
	assert_non_null(strstr(get_str(get(j, "isolation"), "workdir"), "/srv/"));
	json_decref(j);
	/* and --scratch, a realpath() too */
	spec.scratch = strdup("/data/\xfe\xff");
	j = to_json(&r, &spec);
	assert_non_null(strstr(get_str(get(j, "limits"), "scratch"), "/data/"));
	json_decref(j);
	jr_spec_free(&spec);
}

/* ---- isolate's meta file ----------------------------------------------------------------- */

static char *meta_of(struct jr_result *r, int wstatus, bool have_status, struct jr_outcome *extra)
{
	struct jr_outcome o;
	struct jr_spec spec;
	char *m;

	memset(&o, 0, sizeof(o));
	if (extra)
		o = *extra;
	o.have_status = have_status;
	o.wstatus = wstatus;
	jr_result_decide(r, &o);
	jr_spec_init(&spec);
	spec.id = strdup("m1");
	m = jr_result_meta(r, &spec);
	assert_non_null(m);
	jr_spec_free(&spec);
	return m;
}

static void meta_base(struct jr_result *r)
{
	base_result(r);
	r->err.truncated = false;
	r->usage.have_cpu = true;
	r->usage.cpu_usec = 1234499;        /* 1.234 (rounded to ms) */
	r->usage.have_mem_peak = true;
	r->usage.mem_peak = 5 << 20;        /* 5120 KiB */
	r->usage.have_oom_kill = true;
	r->rusage.have = true;
	r->rusage.user_usec = 1000000;
	r->rusage.sys_usec = 200000;
	r->rusage.max_rss_kib = 3000;
	r->rusage.nvcsw = 17;
	r->rusage.nivcsw = 4;
}

static void meta_ok(void **state)
{
	struct jr_result r;
	char *m;

	(void)state;
	meta_base(&r);
	m = meta_of(&r, W_EXITCODE(0, 0), true, NULL);
	assert_string_equal(m, "time:1.234\ntime-wall:1.235\nmax-rss:3000\ncsw-voluntary:17\n"
			       "csw-forced:4\ncg-mem:5120\nexitcode:0\n");
	free(m);
}

static void meta_re_sg(void **state)
{
	struct jr_result r;
	char *m;

	(void)state;
	meta_base(&r);
	m = meta_of(&r, W_EXITCODE(3, 0), true, NULL);
	assert_non_null(strstr(m, "\nexitcode:3\nstatus:RE\nmessage:Exited with error status 3\n"));
	assert_null(strstr(m, "exitsig"));
	assert_null(strstr(m, "killed"));
	free(m);
	meta_base(&r);
	m = meta_of(&r, SIGSEGV, true, NULL);
	assert_non_null(strstr(m, "\nexitsig:11\nstatus:SG\nmessage:Caught fatal signal 11\n"));
	assert_null(strstr(m, "exitcode"));
	assert_null(strstr(m, "killed:"));
	free(m);
}

static void meta_to_ml(void **state)
{
	struct jr_outcome o;
	struct jr_result r;
	char *m;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.timed_out_cpu = true;
	meta_base(&r);
	m = meta_of(&r, SIGKILL, true, &o);
	assert_non_null(strstr(m, "\nkilled:1\nstatus:TO\nmessage:Time limit exceeded\n"));
	assert_null(strstr(m, "exitsig")); /* isolate reports neither for a time-out */
	assert_null(strstr(m, "exitcode"));
	free(m);

	/* ML: isolate's OOM kill, SG by SIGKILL with cg-oom-killed, even when main exited 0 */
	memset(&o, 0, sizeof(o));
	o.oom_own = true;
	meta_base(&r);
	r.usage.oom_kill = 1;
	m = meta_of(&r, W_EXITCODE(0, 0), true, &o);
	assert_int_equal(r.verdict, JR_ML);
	assert_non_null(strstr(m, "\ncg-mem:5120\ncg-oom-killed:1\nexitsig:9\nkilled:1\n"
				  "status:SG\nmessage:Caught fatal signal 9\n"));
	assert_null(strstr(m, "exitcode"));
	free(m);
}

static void meta_xx_rj_ol(void **state)
{
	struct jr_outcome o;
	struct jr_result r;
	char *m;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.exec_failed = true;
	strcpy(o.message, "cannot execute 'x': No such file\nor directory");
	meta_base(&r);
	m = meta_of(&r, W_EXITCODE(127, 0), true, &o);
	assert_int_equal(r.verdict, JR_RJ);
	/* isolate's execve text (Judge0 matches it); one line: the newline is a space */
	assert_non_null(strstr(m, "\nstatus:XX\nmessage:execve(\"x\"): No such file or directory\n"));
	assert_null(strstr(m, "exitcode"));
	free(m);

	memset(&o, 0, sizeof(o));
	o.internal_error = true;
	strcpy(o.message, "sandbox set-up failed");
	meta_base(&r);
	r.usage.have_cpu = false;       /* no cgroup: time from the rusage, user + system */
	r.usage.have_mem_peak = false;  /* no memory cgroup: no cg-mem */
	m = meta_of(&r, 0, false, &o);
	assert_string_equal(m, "time:1.200\ntime-wall:1.235\nmax-rss:3000\ncsw-voluntary:17\n"
			       "csw-forced:4\nstatus:XX\nmessage:sandbox set-up failed\n");
	free(m);

	meta_base(&r);
	r.out.truncated = true;
	m = meta_of(&r, W_EXITCODE(0, 0), true, NULL);
	assert_int_equal(r.verdict, JR_OL);
	assert_non_null(strstr(m, "\nexitcode:0\nstatus:RE\nmessage:output limit exceeded on stdout\n"));
	free(m);

	/* no rusage (the job never started): no max-rss, no csw */
	meta_base(&r);
	r.rusage.have = false;
	r.usage.have_cpu = false;
	m = meta_of(&r, 0, false, NULL);
	assert_null(strstr(m, "max-rss"));
	assert_null(strstr(m, "csw-"));
	assert_null(strstr(m, "time:"));
	free(m);
}

static void meta_from_json(void **state)
{
	struct jr_result r;
	struct jr_spec spec;
	char *json, *m1, *m2;

	(void)state;
	meta_base(&r);
	m1 = meta_of(&r, SIGSEGV, true, NULL);
	jr_spec_init(&spec);
	spec.id = strdup("m1");
	json = jr_result_json(&r, &spec);
	assert_non_null(json);
	m2 = jr_result_meta_from_json(json);
	assert_non_null(m2);
	assert_string_equal(m1, m2); /* a client of jobrun serve writes the same file */
	assert_null(jr_result_meta_from_json("[1]"));
	assert_null(jr_result_meta_from_json("{\"verdict\": \"OK\"}"));
	assert_null(jr_result_meta_from_json("not json"));
	free(json);
	free(m1);
	free(m2);
	jr_spec_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(precedence_chain),
		cmocka_unit_test(precedence_pairs),
		cmocka_unit_test(memory_limit_messages),
		cmocka_unit_test(oom_classify),
		cmocka_unit_test(exit_codes),
		cmocka_unit_test(signals),
		cmocka_unit_test(no_status),
		cmocka_unit_test(output_limit_messages),
		cmocka_unit_test(messages_are_bounded),
		cmocka_unit_test(exit_status),
		cmocka_unit_test(json_exited),
		cmocka_unit_test(json_signaled),
		cmocka_unit_test(json_limits_and_streams),
		cmocka_unit_test(json_usage),
		cmocka_unit_test(json_file_size_zero_is_a_limit),
		cmocka_unit_test(json_timeout),
		cmocka_unit_test(json_isolation),
		cmocka_unit_test(json_escapes_text),
		cmocka_unit_test(json_survives_invalid_utf8),
		cmocka_unit_test(meta_ok),
		cmocka_unit_test(meta_re_sg),
		cmocka_unit_test(meta_to_ml),
		cmocka_unit_test(meta_xx_rj_ol),
		cmocka_unit_test(meta_from_json),
	};

	return cmocka_run_group_tests_name("result", tests, NULL, NULL);
}
