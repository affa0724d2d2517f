/* test_jobreq.c - a job's request (jobreq.c): names, checks, and the JSON form that the unpack
 * helper hands to jobrun, read as hostile input. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobreq.h"

static void limit_names(void **state)
{
	int k;

	(void)state;
	assert_string_equal(jr_limit_name(JR_L_MEMORY), "memory");
	assert_string_equal(jr_limit_name(JR_L_IO_WIOPS), "io_write_iops");
	assert_null(jr_limit_name(JR_L_N));
	assert_null(jr_limit_name((enum jr_limit_key)-1));
	for (k = 0; k < JR_L_N; k++) {
		assert_non_null(jr_limit_name((enum jr_limit_key)k));
		assert_int_equal(jr_limit_key(jr_limit_name((enum jr_limit_key)k)), k);
	}
	assert_int_equal(jr_limit_key("Memory"), -1);
	assert_int_equal(jr_limit_key(""), -1);
	assert_int_equal(jr_limit_key(NULL), -1);
}

static void relpaths(void **state)
{
	static const char *const good[] = { "a", "a/b.txt", "./x", "..a", "a..", "a/...",
					    "x/./y", "a//b", "é.txt" };
	char big[5000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (jr_check_relpath(good[i], 1))
			print_error("%s: %s\n", good[i], jr_check_relpath(good[i], 1));
		assert_null(jr_check_relpath(good[i], 1));
	}
	assert_null(jr_check_relpath(".", 0));
	assert_null(jr_check_relpath("dir/", 0));
	assert_string_equal(jr_check_relpath("", 0), "is empty");
	assert_string_equal(jr_check_relpath(NULL, 0), "is empty");
	assert_string_equal(jr_check_relpath("/etc/passwd", 1),
			    "must be a path inside /job, relative to it (no leading '/')");
	assert_string_equal(jr_check_relpath("..", 0), "must not have a '..' component");
	assert_string_equal(jr_check_relpath("a/../b", 0), "must not have a '..' component");
	assert_string_equal(jr_check_relpath("a/..", 0), "must not have a '..' component");
	assert_string_equal(jr_check_relpath("a//../b", 0), "must not have a '..' component");
	assert_string_equal(jr_check_relpath("a\nb", 0), "has a control character");
	assert_string_equal(jr_check_relpath("a\x7f", 0), "has a control character");
	assert_string_equal(jr_check_relpath(".", 1), "must name a file (it ends in '/' or '.')");
	assert_string_equal(jr_check_relpath("a/", 1), "must name a file (it ends in '/' or '.')");
	assert_string_equal(jr_check_relpath("a/.", 1), "must name a file (it ends in '/' or '.')");
	memset(big, 'a', 256);
	big[256] = '\0';
	assert_string_equal(jr_check_relpath(big, 1), "has a component longer than 255 bytes");
	for (i = 0; i < 4096; i++)
		big[i] = i % 2 ? '/' : 'a';
	big[4096] = '\0';
	assert_string_equal(jr_check_relpath(big, 0), "is longer than 4095 bytes");
}

static void env_entries(void **state)
{
	char big[300];

	(void)state;
	assert_null(jr_check_env("A=1"));
	assert_null(jr_check_env("_=x"));
	assert_null(jr_check_env("a1_B=="));
	assert_null(jr_check_env("A="));
	assert_string_equal(jr_check_env("A"), "must be NAME=VALUE");
	assert_string_equal(jr_check_env("=1"), "must be NAME=VALUE with a NAME");
	assert_non_null(jr_check_env("1A=1"));
	assert_non_null(jr_check_env("A-B=1"));
	assert_non_null(jr_check_env("A.B=1"));
	memset(big, 'A', 256);
	strcpy(big + 256, "=1");
	assert_string_equal(jr_check_env(big), "has a NAME longer than 255 bytes");
}

static void profile_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_null(jr_check_profile_name("grader"));
	assert_null(jr_check_profile_name("hpc-2.big_x"));
	assert_non_null(jr_check_profile_name(""));
	assert_non_null(jr_check_profile_name(NULL));
	assert_non_null(jr_check_profile_name("a b"));
	assert_non_null(jr_check_profile_name("../x"));
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_non_null(jr_check_profile_name(long_name));
	long_name[64] = '\0';
	assert_null(jr_check_profile_name(long_name));
}

static void quoting(void **state)
{
	char b[96], big[200];

	(void)state;
	assert_string_equal(jr_quote_value("256M", b, sizeof(b)), "256M");
	assert_string_equal(jr_quote_value("logs/run.log", b, sizeof(b)), "logs/run.log");
	assert_string_equal(jr_quote_value("", b, sizeof(b)), "\"\"");
	assert_string_equal(jr_quote_value("a b", b, sizeof(b)), "\"a b\"");
	assert_string_equal(jr_quote_value("a\"b\\", b, sizeof(b)), "\"a\\\"b\\\\\"");
	assert_string_equal(jr_quote_value("\x1b[2J\n", b, sizeof(b)), "\"\\x1b[2J\\n\"");
	assert_string_equal(jr_quote_value(NULL, b, sizeof(b)), "\"(null)\"");
	memset(big, 'x', 150);
	big[150] = '\0';
	jr_quote_value(big, b, sizeof(b));
	assert_int_equal(strlen(b), 64 + 2 + 3);
	assert_string_equal(b + 66, "...");
	/* UTF-8 is kept, other high bytes escaped, a sequence cut by the bound escaped too */
	assert_string_equal(jr_quote_value("h\xc3\xa9 x", b, sizeof(b)), "\"h\xc3\xa9 x\"");
	assert_string_equal(jr_quote_value("a\xff", b, sizeof(b)), "\"a\\xff\"");
	memset(big, 'x', 63);
	memcpy(big + 63, "\xc3\xa9", 3);
	jr_quote_value(big, b, sizeof(b));
	assert_string_equal(b + 64, "\\xc3\"...");
	/* a buffer too small for quoting is left empty, never overrun */
	assert_string_equal(jr_quote_value("a b", b, 8), "");
}

static void utf8(void **state)
{
	char m[] = "ok \xc3\xa9 \xff \x1b[1m \xe2\x82 end";

	(void)state;
	assert_true(jr_is_utf8(""));
	assert_true(jr_is_utf8("plain"));
	assert_true(jr_is_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
	assert_false(jr_is_utf8("\xff"));
	assert_false(jr_is_utf8("\xc0\xaf"));             /* overlong */
	assert_false(jr_is_utf8("\xe0\x80\xaf"));         /* overlong */
	assert_false(jr_is_utf8("\xed\xa0\x80"));         /* surrogate */
	assert_false(jr_is_utf8("\xf4\x90\x80\x80"));     /* above U+10FFFF */
	assert_false(jr_is_utf8("\xe2\x82"));             /* cut short */
	assert_false(jr_is_utf8("\x80"));
	assert_string_equal(jr_sanitize_message(m), "ok \xc3\xa9 ? ?[1m ?? end");
	assert_true(jr_is_utf8(m));
}

static void check_request(void **state)
{
	struct jr_jobreq req;
	struct jr_err err;

	(void)state;
	jr_jobreq_init(&req);
	req.file = strdup("job.conf");
	jr_strv_push(&req.argv, "./a.out");
	req.argv_line = 2;
	assert_int_equal(jr_jobreq_check(&req, &err), 0);
	req.shell.value = strdup("make");
	req.shell.line = 5;
	assert_int_equal(jr_jobreq_check(&req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf:5: shell: command is given too (line 2): give one "
				     "of them");
	free(req.shell.value);
	req.shell.value = NULL;
	jr_strv_push(&req.env, "OK=1");
	jr_strv_push(&req.env, "BAD");
	req.env_line = 3;
	assert_int_equal(jr_jobreq_check(&req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf:3: env entry BAD: must be NAME=VALUE");
	jr_strv_free(&req.env);
	req.limits[JR_L_MEMORY].value = strdup("1G\n");
	req.limits[JR_L_MEMORY].line = 0;
	assert_int_equal(jr_jobreq_check(&req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf: memory = \"1G\\n\": has a control character");
	jr_jobreq_free(&req);
	assert_null(req.file);
	assert_null(req.limits[JR_L_MEMORY].value);
}

static void req_equal(const struct jr_jobreq *a, const struct jr_jobreq *b)
{
	const struct jr_req_value *va[4] = { &a->profile, &a->shell, &a->stdin_file, &a->workdir };
	const struct jr_req_value *vb[4] = { &b->profile, &b->shell, &b->stdin_file, &b->workdir };
	const struct jr_strv *la[3] = { &a->argv, &a->env, &a->outputs };
	const struct jr_strv *lb[3] = { &b->argv, &b->env, &b->outputs };
	size_t i, j;
	int k;

	assert_string_equal(a->file, b->file);
	for (i = 0; i < 4; i++) {
		assert_true((va[i]->value == NULL) == (vb[i]->value == NULL));
		if (va[i]->value) {
			assert_string_equal(va[i]->value, vb[i]->value);
			assert_int_equal(va[i]->line, vb[i]->line);
		}
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(la[i]->n, lb[i]->n);
		for (j = 0; j < la[i]->n; j++)
			assert_string_equal(la[i]->v[j], lb[i]->v[j]);
	}
	assert_int_equal(a->argv_line, b->argv_line);
	assert_int_equal(a->env_line, b->env_line);
	assert_int_equal(a->outputs_line, b->outputs_line);
	for (k = 0; k < JR_L_N; k++) {
		assert_true((a->limits[k].value == NULL) == (b->limits[k].value == NULL));
		if (a->limits[k].value) {
			assert_string_equal(a->limits[k].value, b->limits[k].value);
			assert_int_equal(a->limits[k].line, b->limits[k].line);
		}
	}
}

static void round_trip(const char *conf)
{
	struct jr_jobreq a, b;
	struct jr_err err;
	json_t *j;
	char *text;

	jr_err_clear(&err);
	if (jr_jobconf_parse(conf, strlen(conf), "job.conf", &a, &err) < 0)
		print_error("%s\n", err.msg);
	assert_string_equal(err.msg, "");
	j = jr_jobreq_to_json(&a);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	json_decref(j);
	if (jr_jobreq_from_json(text, &b, &err) < 0)
		print_error("%s\n%s\n", text, err.msg);
	assert_string_equal(err.msg, "");
	req_equal(&a, &b);
	free(text);
	jr_jobreq_free(&a);
	jr_jobreq_free(&b);
}

static void json_round_trip(void **state)
{
	(void)state;
	round_trip("profile = grader\n"
		   "command = {\"./a.out\", \"arg with spaces\", \"\\\"quoted\\\"\", \"é\", \"\"}\n"
		   "env = {\"A=1\", \"B=${HOME}\", \"C=x\\ny\"}\n"
		   "stdin = \"in.txt\"\n"
		   "outputs = {\"out.txt\", \"logs/run.log\"}\n"
		   "workdir = sub/dir\n"
		   "limits {\n memory = 256M\n cpu_time = 1.5s\n wall_time = 10s\n cpus = 0.5\n"
		   " pids = 010\n disk = 512M\n output = 16M\n open_files = 256\n swap = 0\n"
		   " cpu_weight = 100\n io_read_bps = 10M\n io_write_bps = 10M\n"
		   " io_read_iops = 1000\n io_write_iops = 1000\n}\n");
	round_trip("shell = \"make && ./run\"\n");
	round_trip("");
}

/* The JSON a job request may arrive as, hostile: each is refused, never a crash, and the
 * request is left empty. */
static void json_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"null",
		"\"job.conf\"",
		"{}",                                                   /* no file */
		"{\"file\": 1}",
		"{\"file\": \"a\\u0000b\"}",
		"{\"file\": \"job.conf\", \"bogus\": 1}",
		"{\"file\": \"job.conf\", \"file\": \"x\"}",           /* duplicate key */
		"{\"file\": \"job.conf\", \"shell\": \"x\"}",           /* not {value, line} */
		"{\"file\": \"job.conf\", \"shell\": {\"value\": 1, \"line\": 1}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"x\"}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"x\", \"line\": -1}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"x\", \"line\": 1.5}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"x\", \"line\": 99999999999}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"x\", \"line\": 1, \"x\": 1}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"a\\u0000b\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"command\": {\"value\": \"./a.out\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"command\": {\"value\": [], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"command\": {\"value\": [1], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"command\": {\"value\": [[\"x\"]], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"command\": {\"value\": [\"\"], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"command\": {\"value\": [\"a\"], \"line\": 1},"
		" \"shell\": {\"value\": \"b\", \"line\": 2}}",
		"{\"file\": \"job.conf\", \"env\": {\"value\": [\"1=x\"], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"env\": {\"value\": [], \"line\": 5}}",
		"{\"file\": \"job.conf\", \"outputs\": {\"value\": [], \"line\": 5}}",
		"{\"file\": \"job.conf\", \"env\": {\"value\": [null], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"stdin\": {\"value\": \"/etc/shadow\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"workdir\": {\"value\": \"../..\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"outputs\": {\"value\": [\"a/../../x\"], \"line\": 1}}",
		"{\"file\": \"job.conf\", \"profile\": {\"value\": \"a/b\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"limits\": []}",
		"{\"file\": \"job.conf\", \"limits\": {\"bogus\": {\"value\": \"1\", \"line\": 1}}}",
		"{\"file\": \"job.conf\", \"limits\": {\"memory\": \"1G\"}}",
		"{\"file\": \"job.conf\", \"limits\": {\"memory\": {\"value\": \"\", \"line\": 1}}}",
		"{\"file\": \"job.conf\", \"limits\": {\"memory\": {\"value\": "
		"\"1111111111111111111111111111111111111111111111111111111111111111G\", \"line\": 1}}}",
		"{\"file\": \"job.conf\", \"limits\": {\"memory\": {\"value\": \"1G\", \"line\": 1},"
		" \"memory\": {\"value\": \"9G\", \"line\": 2}}}",
		"{\"file\": \"job.conf\"} trailing",
		"{\"file\": \"job.conf\"",
		"{\"file\": \"job\\u001b[2J.conf\"}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"\xff\", \"line\": 1}}",
		"{\"file\": \"job.conf\", \"shell\": {\"value\": \"\\ud800\", \"line\": 1}}",
	};
	struct jr_jobreq req;
	struct jr_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		jr_err_clear(&err);
		r = jr_jobreq_from_json(bad[i], &req, &err);
		if (r != -EINVAL || !err.msg[0])
			print_error("accepted or no message: %s -> %d %s\n", bad[i], r, err.msg);
		assert_int_equal(r, -EINVAL);
		assert_true(err.msg[0] != '\0');
		assert_null(req.file);
		assert_int_equal(req.argv.n, 0);
		assert_null(req.shell.value);
		assert_null(req.limits[JR_L_MEMORY].value);
	}
	assert_int_equal(jr_jobreq_from_json(NULL, &req, &err), -EINVAL);
	/* messages about the request itself */
	assert_int_equal(jr_jobreq_from_json("{\"file\": \"job.conf\", \"stdin\": "
					     "{\"value\": \"/etc/shadow\", \"line\": 4}}",
					     &req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf:4: stdin = /etc/shadow: must be a path inside /job, "
				     "relative to it (no leading '/')");
}

static void json_huge(void **state)
{
	struct jr_jobreq req;
	struct jr_err err;
	size_t n = 2u << 20, i, o;
	char *big = malloc(n + 64);

	(void)state;
	assert_non_null(big);
	/* more than JR_JOBREQ_JSON_MAX bytes */
	memset(big, ' ', n);
	big[n] = '\0';
	assert_int_equal(jr_jobreq_from_json(big, &req, &err), -EINVAL);
	assert_string_equal(err.msg, "job request: more than 1048576 bytes");
	/* deep nesting: jansson stops at its depth limit */
	for (i = 0; i < 500000; i++)
		big[i] = '[';
	big[i] = '\0';
	assert_int_equal(jr_jobreq_from_json(big, &req, &err), -EINVAL);
	for (i = 0; i < 100000; i++)
		memcpy(big + 5 * i, "{\"a\":", 5);
	big[5 * i] = '\0';
	assert_int_equal(jr_jobreq_from_json(big, &req, &err), -EINVAL);
	/* a list longer than allowed */
	o = (size_t)sprintf(big, "{\"file\": \"j\", \"command\": {\"line\": 1, \"value\": [");
	for (i = 0; i < JR_REQ_MAX_ARGS + 1; i++)
		o += (size_t)sprintf(big + o, "%s\"a\"", i ? "," : "");
	strcpy(big + o, "]}}");
	assert_int_equal(jr_jobreq_from_json(big, &req, &err), -EINVAL);
	assert_string_equal(err.msg, "job request: command: more than 4096 values");
	/* just at the bound: fine */
	o = (size_t)sprintf(big, "{\"file\": \"j\", \"command\": {\"line\": 1, \"value\": [");
	for (i = 0; i < JR_REQ_MAX_ARGS; i++)
		o += (size_t)sprintf(big + o, "%s\"a\"", i ? "," : "");
	strcpy(big + o, "]}}");
	assert_int_equal(jr_jobreq_from_json(big, &req, &err), 0);
	assert_int_equal(req.argv.n, JR_REQ_MAX_ARGS);
	jr_jobreq_free(&req);
	/* a string longer than allowed */
	o = (size_t)sprintf(big, "{\"file\": \"j\", \"shell\": {\"line\": 1, \"value\": \"");
	memset(big + o, 'x', JR_REQ_MAX_STRING + 1);
	strcpy(big + o + JR_REQ_MAX_STRING + 1, "\"}}");
	assert_int_equal(jr_jobreq_from_json(big, &req, &err), -EINVAL);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_names),
		cmocka_unit_test(relpaths),
		cmocka_unit_test(env_entries),
		cmocka_unit_test(profile_names),
		cmocka_unit_test(quoting),
		cmocka_unit_test(utf8),
		cmocka_unit_test(check_request),
		cmocka_unit_test(json_round_trip),
		cmocka_unit_test(json_hostile),
		cmocka_unit_test(json_huge),
	};

	return cmocka_run_group_tests_name("jobreq", tests, NULL, NULL);
}
