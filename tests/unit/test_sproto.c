/* test_sproto.c - the protocol of `jobrun serve` (sproto.c, docs/protocol.md): one request line,
 * read as hostile input. Every operation parsed right; every kind of bad request refused with
 * -EINVAL and a message that says what is wrong, the request left empty; the options a client
 * may give turned into exactly the "--name=value" arguments of `run`, in order; the replies one
 * compact JSON line each. */
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
#include "sproto.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static int parse(const char *line, unsigned nfds, bool root, struct jr_sreq *req,
		 struct jr_err *err)
{
	jr_err_clear(err);
	return jr_sreq_parse(line, strlen(line), nfds, root, req, err);
}

/* A refused request leaves nothing behind: no id, no arguments, no command, no descriptor. */
static void assert_empty(const struct jr_sreq *req)
{
	int f;

	assert_null(req->id);
	assert_int_equal(req->args.n, 0);
	assert_null(req->args.v);
	assert_int_equal(req->command.n, 0);
	assert_null(req->command.v);
	for (f = 0; f < JR_SFD_N; f++)
		assert_int_equal(req->fd[f], -1);
	assert_false(req->wait);
	assert_false(req->root_options);
	assert_null(req->archive_url);
}

/* line (of len bytes) with nfds descriptors, from root or not, is refused with a message that
 * has want in it. */
static void refused_len(const char *line, size_t len, unsigned nfds, bool root, const char *want)
{
	struct jr_sreq req;
	struct jr_err err;
	int r;

	jr_err_clear(&err);
	r = jr_sreq_parse(line, len, nfds, root, &req, &err);
	if (r != -EINVAL || !strstr(err.msg, want))
		print_error("request %.*s (nfds %u, root %d): r=%d, message \"%s\", wanted \"%s\"\n",
			    (int)(len > 200 ? 200 : len), line, nfds, root, r, err.msg, want);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err.msg, want));
	assert_int_equal(err.code, 0);
	assert_empty(&req);
	jr_sreq_free(&req); /* harmless on a refused request */
}

static void refused(const char *line, unsigned nfds, bool root, const char *want)
{
	refused_len(line, strlen(line), nfds, root, want);
}

static void accepted(const char *line, unsigned nfds, bool root, struct jr_sreq *req)
{
	struct jr_err err;
	int r = parse(line, nfds, root, req, &err);

	if (r != 0)
		print_error("request %s (nfds %u, root %d): r=%d, message \"%s\"\n", line, nfds,
			    root, r, err.msg);
	assert_int_equal(r, 0);
}

/* The arguments of a parsed submit are exactly want (NULL-terminated), in order. */
static void assert_args(const struct jr_strv *sv, const char *const *want)
{
	size_t n = 0;

	while (want[n])
		n++;
	if (sv->n != n) {
		size_t i;

		print_error("%zu arguments, wanted %zu:\n", sv->n, n);
		for (i = 0; i < sv->n; i++)
			print_error("  %s\n", sv->v[i]);
	}
	assert_int_equal(sv->n, n);
	for (n = 0; want[n]; n++)
		assert_string_equal(sv->v[n], want[n]);
	if (n)
		assert_null(sv->v[n]); /* NULL-terminated, as jr_strv promises */
	else
		assert_null(sv->v);
}

static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	assert_non_null(s);
	return s;
}

/* A submit whose command is an array of n strings s. */
static char *submit_with_command(size_t n, const char *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(s));
	return dump(json_pack("{s:i, s:s, s:o}", "v", 1, "op", "submit", "command", a));
}

/* A submit of "true" whose option name is a list of n copies of value. */
static char *submit_with_list(const char *name, size_t n, const char *value)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(value));
	return dump(json_pack("{s:i, s:s, s:{s:o}, s:[s]}", "v", 1, "op", "submit", "options", name,
			      a, "command", "true"));
}

/* ---- the operations --------------------------------------------------------------------- */

static void op_hello_and_metrics(void **state)
{
	struct jr_sreq req;

	(void)state;
	accepted("{\"v\":1,\"op\":\"hello\"}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_HELLO);
	assert_empty(&req);
	jr_sreq_free(&req);
	/* key order does not matter; whitespace around the object is JSON's */
	accepted("  {\"op\":\"metrics\" , \"v\" : 1}\r\t", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_METRICS);
	assert_empty(&req);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"metrics\"}", 0, true, &req);
	assert_int_equal(req.op, JR_SOP_METRICS);
	jr_sreq_free(&req);
}

static void op_status_wait_cancel(void **state)
{
	struct jr_sreq req;

	(void)state;
	/* status without an id: the supervisor's */
	accepted("{\"v\":1,\"op\":\"status\"}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_STATUS);
	assert_null(req.id);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"status\",\"id\":\"a1b2c3\"}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_STATUS);
	assert_string_equal(req.id, "a1b2c3");
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"wait\",\"id\":\"job-1.x_y\"}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_WAIT);
	assert_string_equal(req.id, "job-1.x_y");
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"cancel\",\"id\":\"Z\"}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_CANCEL);
	assert_string_equal(req.id, "Z");
	jr_sreq_free(&req);
	/* wait and cancel need the id */
	refused("{\"v\":1,\"op\":\"wait\"}", 0, false, "id: op wait needs the job's id");
	refused("{\"v\":1,\"op\":\"cancel\"}", 0, true, "id: op cancel needs the job's id");
}

static void op_list_and_drain(void **state)
{
	struct jr_sreq req;

	(void)state;
	accepted("{\"v\":1,\"op\":\"list\"}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_LIST);
	assert_false(req.all);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"list\",\"all\":true}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_LIST);
	assert_true(req.all);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"list\",\"all\":false}", 0, false, &req);
	assert_false(req.all);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"drain\"}", 0, true, &req);
	assert_int_equal(req.op, JR_SOP_DRAIN);
	assert_false(req.exit_when_idle);
	jr_sreq_free(&req);
	/* the parse leaves who may drain to the supervisor: anyone's drain parses */
	accepted("{\"v\":1,\"op\":\"drain\",\"exit\":true}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_DRAIN);
	assert_true(req.exit_when_idle);
	jr_sreq_free(&req);
	refused("{\"v\":1,\"op\":\"list\",\"all\":1}", 0, false, "all: must be true or false");
	refused("{\"v\":1,\"op\":\"list\",\"all\":\"true\"}", 0, false, "all: must be true or false");
	refused("{\"v\":1,\"op\":\"list\",\"all\":null}", 0, false, "all: must be true or false");
	refused("{\"v\":1,\"op\":\"drain\",\"exit\":\"yes\"}", 0, true, "exit: must be true or false");
	refused("{\"v\":1,\"op\":\"drain\",\"exit\":0}", 0, true, "exit: must be true or false");
}

static void op_submit_minimal(void **state)
{
	static const char *const none[] = { NULL };
	struct jr_sreq req;
	int f;

	(void)state;
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"echo\",\"hi\"]}", 0, false, &req);
	assert_int_equal(req.op, JR_SOP_SUBMIT);
	assert_null(req.id);
	assert_args(&req.args, none);
	assert_int_equal(req.command.n, 2);
	assert_string_equal(req.command.v[0], "echo");
	assert_string_equal(req.command.v[1], "hi");
	assert_null(req.command.v[2]);
	for (f = 0; f < JR_SFD_N; f++)
		assert_int_equal(req.fd[f], -1);
	assert_int_equal(req.priority, 0);
	assert_false(req.wait);
	assert_false(req.root_options);
	jr_sreq_free(&req);
	/* empty strings after the first, UTF-8, quotes: as they are */
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"printf\",\"\",\"\\u00e9\\\"\\n\"]}", 0,
		 false, &req);
	assert_int_equal(req.command.n, 3);
	assert_string_equal(req.command.v[1], "");
	assert_string_equal(req.command.v[2], "\xc3\xa9\"\n");
	jr_sreq_free(&req);
}

static void op_submit_everything(void **state)
{
	static const char *const want[] = {
		"--memory=256M", "--env=A=1", "--env=B=x=y", "--env=C=", "--wall-time=10s",
		"--profile=grader", "--hostname=h", "--stack=8M", "--file-size=1M",
		"--cpuset=0-1", "--pids=64", "--cpus=0.5", "--cpu-time=2s", "--swap=0",
		"--cpu-weight=100", "--disk=64M", "--output-limit=1M", "--open-files=64",
		"--io-read-bps=1M", "--io-write-bps=1M", "--io-read-iops=100",
		"--io-write-iops=100", NULL
	};
	struct jr_sreq req;

	(void)state;
	accepted("{\"v\":1,\"op\":\"submit\",\"id\":\"my-job.1\","
		 "\"options\":{\"memory\":\"256M\",\"env\":[\"A=1\",\"B=x=y\",\"C=\"],"
		 "\"wall-time\":\"10s\",\"profile\":\"grader\",\"hostname\":\"h\",\"stack\":\"8M\","
		 "\"file-size\":\"1M\",\"cpuset\":\"0-1\",\"pids\":\"64\",\"cpus\":\"0.5\","
		 "\"cpu-time\":\"2s\",\"swap\":\"0\",\"cpu-weight\":\"100\",\"disk\":\"64M\","
		 "\"output-limit\":\"1M\",\"open-files\":\"64\",\"io-read-bps\":\"1M\","
		 "\"io-write-bps\":\"1M\",\"io-read-iops\":\"100\",\"io-write-iops\":\"100\"},"
		 "\"fds\":{\"stdout\":1,\"stderr\":0,\"stdin\":2},"
		 "\"command\":[\"sh\",\"-c\",\"cat\"],\"priority\":-7,\"wait\":true}",
		 3, false, &req);
	assert_int_equal(req.op, JR_SOP_SUBMIT);
	assert_string_equal(req.id, "my-job.1");
	assert_args(&req.args, want);
	assert_int_equal(req.command.n, 3);
	assert_string_equal(req.command.v[2], "cat");
	assert_int_equal(req.fd[JR_SFD_STDOUT], 1);
	assert_int_equal(req.fd[JR_SFD_STDERR], 0);
	assert_int_equal(req.fd[JR_SFD_STDIN], 2);
	assert_int_equal(req.fd[JR_SFD_ARCHIVE], -1);
	assert_int_equal(req.fd[JR_SFD_JOB_CONF], -1);
	assert_int_equal(req.fd[JR_SFD_DIR], -1);
	assert_int_equal(req.priority, -7);
	assert_true(req.wait);
	assert_false(req.root_options);
	jr_sreq_free(&req);
}

/* The arguments follow the order of the request's keys, a list's entries in order; a list
 * option given as one string is one entry; a value is passed as it is (the admission checks
 * it, as `jobrun run` does). */
static void submit_args_order(void **state)
{
	static const char *const want1[] = { "--env=Z=1", "--memory=1G", NULL };
	static const char *const want2[] = { "--wall-time=1s", "--env=X=1", "--env=Y=2",
					     "--env=Z=3", "--memory=", NULL };
	static const char *const want3[] = { "--hostname=a b\n--memory=9G", "--profile=\xc3\xa9",
					     NULL };
	static const char *const none[] = { NULL };
	struct jr_sreq req;

	(void)state;
	/* a list option given as one string: one entry ("env" twice in one object is a
	 * duplicate key: not_json) */
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":\"Z=1\",\"memory\":\"1G\"},"
		 "\"command\":[\"true\"]}", 0, false, &req);
	assert_args(&req.args, want1);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"wall-time\":\"1s\","
		 "\"env\":[\"X=1\",\"Y=2\",\"Z=3\"],\"memory\":\"\"},\"command\":[\"true\"]}", 0, false,
		 &req);
	assert_args(&req.args, want2);
	jr_sreq_free(&req);
	/* a value is one argument whatever is in it: it never becomes another option */
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"hostname\":\"a b\\n--memory=9G\","
		 "\"profile\":\"\\u00e9\"},\"command\":[\"true\"]}", 0, false, &req);
	assert_args(&req.args, want3);
	jr_sreq_free(&req);
	/* empty options, empty fds, an empty env list */
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{},\"fds\":{},\"command\":[\"true\"]}", 0,
		 false, &req);
	assert_args(&req.args, none);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":[]},\"command\":[\"true\"]}", 0,
		 false, &req);
	assert_args(&req.args, none);
	jr_sreq_free(&req);
}

/* A job tarball or a job config stands for the command. */
static void submit_without_command(void **state)
{
	struct jr_sreq req;

	(void)state;
	accepted("{\"v\":1,\"op\":\"submit\",\"fds\":{\"archive\":0}}", 1, false, &req);
	assert_int_equal(req.fd[JR_SFD_ARCHIVE], 0);
	assert_int_equal(req.command.n, 0);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"fds\":{\"job-conf\":0}}", 1, false, &req);
	assert_int_equal(req.fd[JR_SFD_JOB_CONF], 0);
	jr_sreq_free(&req);
	/* an archive and a command that replaces its own */
	accepted("{\"v\":1,\"op\":\"submit\",\"fds\":{\"archive\":1,\"job-conf\":0},"
		 "\"command\":[\"make\",\"test\"]}", 2, false, &req);
	assert_int_equal(req.fd[JR_SFD_ARCHIVE], 1);
	assert_int_equal(req.fd[JR_SFD_JOB_CONF], 0);
	assert_int_equal(req.command.n, 2);
	jr_sreq_free(&req);
	/* descriptors that are no job: still no command */
	refused("{\"v\":1,\"op\":\"submit\"}", 0, false, "no command given");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdin\":0,\"stdout\":1,\"stderr\":2}}", 3,
		false, "no command given (command, or a job tarball or job config in fds, or "
		"archive_url)");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"dir\":0}}", 1, true, "no command given");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":\"1G\"}}", 0, false,
		"no command given");
}

/* A job tarball by URL: http(s) only, one tarball, a source of the command. */
static void submit_archive_url(void **state)
{
	struct jr_sreq req;

	(void)state;
	accepted("{\"v\":1,\"op\":\"submit\",\"archive_url\":\"https://h.example/j.tar\"}", 0,
		 false, &req);
	assert_string_equal(req.archive_url, "https://h.example/j.tar");
	assert_int_equal(req.command.n, 0);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"archive_url\":\"HTTP://h/x\",\"command\":[\"a\"]}",
		 0, false, &req);
	assert_string_equal(req.archive_url, "HTTP://h/x");
	jr_sreq_free(&req);
	refused("{\"v\":1,\"op\":\"submit\",\"archive_url\":\"file:///etc/shadow\"}", 0, true,
		"archive_url: must be an http:// or https:// URL");
	refused("{\"v\":1,\"op\":\"submit\",\"archive_url\":\"/etc/shadow\"}", 0, true,
		"archive_url: must be an http:// or https:// URL");
	refused("{\"v\":1,\"op\":\"submit\",\"archive_url\":7}", 0, false,
		"archive_url: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"archive_url\":\"https://h/a b\"}", 0, false,
		"archive_url: holds a space");
	refused("{\"v\":1,\"op\":\"submit\",\"archive_url\":\"https://h/a\",\"fds\":"
		"{\"archive\":0}}", 1, false, "one job tarball only");
}

static void submit_priority(void **state)
{
	struct jr_sreq req;

	(void)state;
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":-1000}", 0, false,
		 &req);
	assert_int_equal(req.priority, -1000);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":1000}", 0, false,
		 &req);
	assert_int_equal(req.priority, 1000);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":0,\"wait\":false}",
		 0, false, &req);
	assert_int_equal(req.priority, 0);
	assert_false(req.wait);
	jr_sreq_free(&req);
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":1001}", 0, false,
		"priority: must be an integer from -1000 to 1000");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":-1001}", 0, false,
		"priority: must be an integer from -1000 to 1000");
	/* beyond int: never truncated into range */
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":4294967296}", 0, false,
		"priority: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":-9223372036854775808}",
		0, false, "priority: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":1.5}", 0, false,
		"priority: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":1e2}", 0, false,
		"priority: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":\"5\"}", 0, false,
		"priority: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"priority\":null}", 0, false,
		"priority: must be");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"wait\":1}", 0, false,
		"wait: must be true or false");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"wait\":\"true\"}", 0, false,
		"wait: must be true or false");
}

/* ---- what is refused -------------------------------------------------------------------- */

static void not_json(void **state)
{
	static const char nul_inside[] = "{\"v\":1,\0\"op\":\"hello\"}";

	(void)state;
	refused("", 0, false, "not JSON: ");
	refused("   ", 0, false, "not JSON: ");
	refused("{", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"hello\"", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"hello\"} {}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"hello\"}\n{\"v\":1,\"op\":\"hello\"}", 0, false, "not JSON: ");
	refused("{'v':1}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"hello\",}", 0, false, "not JSON: ");
	refused("{\"v\":01,\"op\":\"hello\"}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"hel\nlo\"}", 0, false, "not JSON: ");
	/* the column is in the message */
	refused("{\"v\":1,\"op\":\"hello\"", 0, false, "(column ");
	/* a key twice: refused, never "the last one wins" */
	refused("{\"v\":1,\"op\":\"hello\",\"op\":\"drain\"}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":\"A=1\",\"env\":\"B=2\"},"
		"\"command\":[\"x\"]}", 0, false, "not JSON: ");
	/* a raw NUL byte inside the line (len counts past it) */
	refused_len(nul_inside, sizeof(nul_inside) - 1, 0, false, "not JSON: ");
	/* the length given is what is read: a line cut short is not JSON */
	refused_len("{\"v\":1,\"op\":\"hello\"}", 10, 0, false, "not JSON: ");
	refused_len("{\"v\":1,\"op\":\"hello\"}", 0, 0, false, "not JSON: ");
}

static void not_utf8_nor_nul(void **state)
{
	(void)state;
	/* jansson refuses bytes that are not UTF-8, anywhere */
	refused("{\"v\":1,\"op\":\"hel\xfflo\"}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"\xc3\x28\"]}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"\xed\xa0\x80\"]}", 0, false,
		"not JSON: ");              /* a surrogate */
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"\xc0\xaf\"]}", 0, false,
		"not JSON: ");              /* an overlong '/' */
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":\"A=\xfe\"},\"command\":[\"x\"]}",
		0, false, "not JSON: ");
	refused("{\"v\":1,\"\x80\":1,\"op\":\"hello\"}", 0, false, "not JSON: ");
	/* a lone surrogate escape */
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"\\ud800\"]}", 0, false, "not JSON: ");
	/* \u0000 in any string: a C string cannot carry it (jansson refuses it without
	 * JSON_ALLOW_NUL; sproto.c would too) */
	refused("{\"v\":1,\"op\":\"hello\\u0000\"}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"ls\\u0000rm\"]}", 0, false,
		"not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":[\"A=1\\u0000B=2\"]},"
		"\"command\":[\"x\"]}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":\"1G\\u0000\"},"
		"\"command\":[\"x\"]}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"status\",\"id\":\"a\\u0000b\"}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"mem\\u0000ory\":\"1G\"},"
		"\"command\":[\"x\"]}", 0, false, "not JSON: ");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdout\\u0000\":0},\"command\":[\"x\"]}", 1,
		false, "not JSON: ");
}

static void not_an_object(void **state)
{
	(void)state;
	refused("[]", 0, false, "a request must be a JSON object");
	refused("[{\"v\":1,\"op\":\"hello\"}]", 0, false, "a request must be a JSON object");
	/* a bare value is not even read as JSON (no JSON_DECODE_ANY) */
	refused("\"hello\"", 0, false, "not JSON: '[' or '{' expected");
	refused("1", 0, false, "not JSON: '[' or '{' expected");
	refused("null", 0, false, "not JSON: '[' or '{' expected");
	refused("true", 0, false, "not JSON: '[' or '{' expected");
}

static void version(void **state)
{
	(void)state;
	refused("{}", 0, false, "\"v\": the protocol version (1) is missing");
	refused("{\"op\":\"hello\"}", 0, false, "\"v\": the protocol version (1) is missing");
	refused("{\"v\":\"1\",\"op\":\"hello\"}", 0, false, "\"v\": the protocol version (1)");
	refused("{\"v\":1.0,\"op\":\"hello\"}", 0, false, "\"v\": the protocol version (1)");
	refused("{\"v\":null,\"op\":\"hello\"}", 0, false, "\"v\": the protocol version (1)");
	refused("{\"v\":true,\"op\":\"hello\"}", 0, false, "\"v\": the protocol version (1)");
	refused("{\"v\":2,\"op\":\"hello\"}", 0, false,
		"protocol version 2 is not spoken here (this jobrun serve speaks 1)");
	refused("{\"v\":0,\"op\":\"hello\"}", 0, false, "protocol version 0 is not spoken here");
	refused("{\"v\":-1,\"op\":\"hello\"}", 0, false, "protocol version -1 is not spoken here");
	refused("{\"v\":4294967297,\"op\":\"hello\"}", 0, false,
		"protocol version 4294967297 is not spoken here");
	/* the version is checked before the operation */
	refused("{\"v\":2,\"op\":\"frob\"}", 0, false, "protocol version 2");
}

static void operation(void **state)
{
	(void)state;
	refused("{\"v\":1}", 0, false, "\"op\": the operation is missing or not a string");
	refused("{\"v\":1,\"op\":1}", 0, false, "\"op\": the operation is missing or not a string");
	refused("{\"v\":1,\"op\":null}", 0, false, "\"op\": the operation is missing");
	refused("{\"v\":1,\"op\":[\"hello\"]}", 0, false, "\"op\": the operation is missing");
	refused("{\"v\":1,\"op\":\"frob\"}", 0, false,
		"unknown operation frob (hello, submit, status, wait, cancel, list, drain, metrics)");
	refused("{\"v\":1,\"op\":\"\"}", 0, false, "unknown operation \"\"");
	refused("{\"v\":1,\"op\":\"HELLO\"}", 0, false, "unknown operation HELLO");
	refused("{\"v\":1,\"op\":\"hello \"}", 0, false, "unknown operation \"hello \"");
	refused("{\"v\":1,\"op\":\"run\"}", 0, false, "unknown operation run");
	/* longer than any operation (32 bytes): refused before it is looked up */
	refused("{\"v\":1,\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaa\"}", 0, false, "\"op\": the operation is missing or not a string");
	/* an odd name is quoted in the message */
	refused("{\"v\":1,\"op\":\"a\\nb\"}", 0, false, "unknown operation \"a\\nb\"");
}

static void unknown_keys(void **state)
{
	(void)state;
	refused("{\"v\":1,\"op\":\"hello\",\"id\":\"x\"}", 0, false, "unknown key id for op hello");
	refused("{\"v\":1,\"op\":\"metrics\",\"all\":true}", 0, false,
		"unknown key all for op metrics");
	refused("{\"v\":1,\"op\":\"status\",\"all\":true}", 0, false,
		"unknown key all for op status");
	refused("{\"v\":1,\"op\":\"wait\",\"id\":\"x\",\"timeout\":5}", 0, false,
		"unknown key timeout for op wait");
	refused("{\"v\":1,\"op\":\"cancel\",\"id\":\"x\",\"command\":[\"x\"]}", 0, false,
		"unknown key command for op cancel");
	refused("{\"v\":1,\"op\":\"list\",\"id\":\"x\"}", 0, false, "unknown key id for op list");
	refused("{\"v\":1,\"op\":\"drain\",\"all\":true}", 0, true, "unknown key all for op drain");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"exit\":true}", 0, false,
		"unknown key exit for op submit");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"args\":[]}", 0, false,
		"unknown key args for op submit");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"],\"Wait\":true}", 0, false,
		"unknown key Wait for op submit");
	/* an odd key is quoted in the message */
	refused("{\"v\":1,\"op\":\"hello\",\"a b\\\"c\":1}", 0, false,
		"unknown key \"a b\\\"c\" for op hello");
	refused("{\"v\":1,\"op\":\"hello\",\"\":1}", 0, false, "unknown key \"\" for op hello");
}

static void ids(void **state)
{
	static const char *const bad[] = {
		"\"\"", "\".x\"", "\"-x\"", "\"a/b\"", "\"..\"", "\".\"", "\"a b\"", "\"a\\nb\"",
		"\"\\u00e9\"", "\"a:b\"", "\"a*\"", "\"../x\"", "1", "null", "true", "[\"x\"]",
		"{}",
	};
	char line[512], id[80];
	struct jr_sreq req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"status\",\"id\":%s}", bad[i]);
		refused(line, 0, false, "id: must be 1 to 64 letters, digits, '.', '_' or '-', not "
			"starting with '.' or '-'");
		snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"submit\",\"id\":%s,\"command\":[\"x\"]}",
			 bad[i]);
		refused(line, 0, false, "id: must be 1 to 64");
	}
	/* 64 bytes: the longest */
	memset(id, 'a', 64);
	id[64] = '\0';
	snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"wait\",\"id\":\"%s\"}", id);
	accepted(line, 0, false, &req);
	assert_string_equal(req.id, id);
	jr_sreq_free(&req);
	id[64] = 'a';
	id[65] = '\0';
	snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"wait\",\"id\":\"%s\"}", id);
	refused(line, 0, false, "id: must be 1 to 64");
	/* '.', '_' and '-' inside, a leading '_' or digit */
	accepted("{\"v\":1,\"op\":\"cancel\",\"id\":\"_a.b-c_9\"}", 0, false, &req);
	assert_string_equal(req.id, "_a.b-c_9");
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"id\":\"0\",\"command\":[\"x\"]}", 0, false, &req);
	assert_string_equal(req.id, "0");
	jr_sreq_free(&req);
}

static void fds_rules(void **state)
{
	struct jr_sreq req;
	int f;

	(void)state;
	/* every name, every index up to JR_SERVE_MAX_FDS - 1 */
	accepted("{\"v\":1,\"op\":\"submit\",\"fds\":{\"archive\":7,\"job-conf\":6,\"stdin\":5,"
		 "\"stdout\":4,\"stderr\":3,\"dir\":2}}", JR_SERVE_MAX_FDS, true, &req);
	for (f = 0; f < JR_SFD_N; f++)
		assert_int_equal(req.fd[f], 7 - f);
	jr_sreq_free(&req);
	/* dir parses for anyone: the supervisor refuses it for a client that is not root */
	accepted("{\"v\":1,\"op\":\"submit\",\"fds\":{\"dir\":0},\"command\":[\"x\"]}", 1, false,
		 &req);
	assert_int_equal(req.fd[JR_SFD_DIR], 0);
	jr_sreq_free(&req);
	/* descriptors that came but are not named: the supervisor closes them */
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"]}", 3, false, &req);
	for (f = 0; f < JR_SFD_N; f++)
		assert_int_equal(req.fd[f], -1);
	jr_sreq_free(&req);

	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdout\":0},\"command\":[\"x\"]}", 0, false,
		"fds.stdout: must be the index of a descriptor sent with the request (0 came)");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdout\":2},\"command\":[\"x\"]}", 2, false,
		"fds.stdout: must be the index of a descriptor sent with the request (2 came)");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdin\":-1},\"command\":[\"x\"]}", 1, false,
		"fds.stdin: must be the index");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdin\":\"0\"},\"command\":[\"x\"]}", 1,
		false, "fds.stdin: must be the index");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdin\":0.0},\"command\":[\"x\"]}", 1, false,
		"fds.stdin: must be the index");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdin\":null},\"command\":[\"x\"]}", 1, false,
		"fds.stdin: must be the index");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdin\":4294967296},\"command\":[\"x\"]}", 1,
		false, "fds.stdin: must be the index");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdout\":0,\"stderr\":0},"
		"\"command\":[\"x\"]}", 1, false, "fds.stderr: descriptor 0 is named twice");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdout\":1,\"stderr\":0,\"stdin\":1},"
		"\"command\":[\"x\"]}", 2, false, "fds.stdin: descriptor 1 is named twice");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdot\":0},\"command\":[\"x\"]}", 1, false,
		"fds: stdot is not a descriptor a job takes (archive, job-conf, stdin, stdout, "
		"stderr, dir)");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"result\":0},\"command\":[\"x\"]}", 1, false,
		"fds: result is not a descriptor a job takes");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"job_conf\":0},\"command\":[\"x\"]}", 1, false,
		"fds: job_conf is not a descriptor a job takes");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":[0],\"command\":[\"x\"]}", 1, false,
		"fds: must be an object of name: index");
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":0,\"command\":[\"x\"]}", 1, false,
		"fds: must be an object of name: index");
	/* a name twice is a duplicate key */
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"stdout\":0,\"stdout\":1},"
		"\"command\":[\"x\"]}", 2, false, "not JSON: ");
}

static void descriptor_counts(void **state)
{
	struct jr_sreq req;

	(void)state;
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"]}", JR_SERVE_MAX_FDS + 1, false,
		"9 descriptors with one request: at most 8");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"]}", 1000, true,
		"1000 descriptors with one request: at most 8");
	/* checked before the line is even read */
	refused("not json", JR_SERVE_MAX_FDS + 1, false, "descriptors with one request: at most 8");
	accepted("{\"v\":1,\"op\":\"submit\",\"command\":[\"x\"]}", JR_SERVE_MAX_FDS, false, &req);
	jr_sreq_free(&req);
	/* no other operation takes any */
	refused("{\"v\":1,\"op\":\"hello\"}", 1, false, "descriptors came with op hello, which takes "
		"none");
	refused("{\"v\":1,\"op\":\"status\"}", 2, true, "descriptors came with op status");
	refused("{\"v\":1,\"op\":\"wait\",\"id\":\"x\"}", 1, false, "descriptors came with op wait");
	refused("{\"v\":1,\"op\":\"cancel\",\"id\":\"x\"}", 1, false,
		"descriptors came with op cancel");
	refused("{\"v\":1,\"op\":\"list\"}", 8, false, "descriptors came with op list");
	refused("{\"v\":1,\"op\":\"drain\"}", 1, true, "descriptors came with op drain");
	refused("{\"v\":1,\"op\":\"metrics\"}", 1, false, "descriptors came with op metrics");
}

/* Which options a client may give: the classification itself. */
static void option_classes(void **state)
{
	static const char *const values[] = {
		"profile", "hostname", "stack", "file-size", "cpuset", "memory", "swap", "cpus",
		"cpu-weight", "cpu-time", "wall-time", "pids", "disk", "output-limit", "open-files",
		"io-read-bps", "io-write-bps", "io-read-iops", "io-write-iops",
	};
	static const char *const never[] = {
		/* descriptors */
		"stdin", "stdout", "stderr", "dir", "job-conf", "archive",
		/* the supervisor's */
		"config", "runtime-dir", "uid-range", "result", "output-dir", "id",
		/* not options, or not spelled that way */
		"verbose", "help", "v", "", "wall_time", "Memory", "memory=1G", "--memory", "env ",
		"output", "cpu_time", "priority", "wait", "command",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(jr_sopt_class(values[i], false), JR_SOPT_VALUE);
		assert_int_equal(jr_sopt_class(values[i], true), JR_SOPT_VALUE);
	}
	/* every limit is an option, by its option name */
	for (i = 0; i < JR_L_N; i++)
		assert_int_equal(jr_sopt_class(jr_limit_defs[i].option, false), JR_SOPT_VALUE);
	assert_int_equal(jr_sopt_class("env", false), JR_SOPT_LIST);
	assert_int_equal(jr_sopt_class("env", true), JR_SOPT_LIST);
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_int_equal(jr_sopt_class(never[i], false), JR_SOPT_NO);
		assert_int_equal(jr_sopt_class(never[i], true), JR_SOPT_NO);
	}
	/* root's only */
	assert_int_equal(jr_sopt_class("ro-bind", false), JR_SOPT_NO);
	assert_int_equal(jr_sopt_class("ro-bind", true), JR_SOPT_LIST);
	assert_int_equal(jr_sopt_class("scratch", false), JR_SOPT_NO);
	assert_int_equal(jr_sopt_class("scratch", true), JR_SOPT_VALUE);
	assert_int_equal(jr_sopt_class("cgroup-parent", false), JR_SOPT_NO);
	assert_int_equal(jr_sopt_class("cgroup-parent", true), JR_SOPT_VALUE);

	for (i = 0; i < JR_SFD_N; i++)
		assert_non_null(jr_sfd_name((enum jr_sfd)i));
	assert_string_equal(jr_sfd_name(JR_SFD_ARCHIVE), "archive");
	assert_string_equal(jr_sfd_name(JR_SFD_JOB_CONF), "job-conf");
	assert_string_equal(jr_sfd_name(JR_SFD_STDIN), "stdin");
	assert_string_equal(jr_sfd_name(JR_SFD_STDOUT), "stdout");
	assert_string_equal(jr_sfd_name(JR_SFD_STDERR), "stderr");
	assert_string_equal(jr_sfd_name(JR_SFD_DIR), "dir");
	assert_null(jr_sfd_name(JR_SFD_N));
	assert_null(jr_sfd_name((enum jr_sfd)-1));
}

/* Paths come as descriptors, never as option values; the supervisor's settings are its own. */
static void options_refused(void **state)
{
	static const char *const as_fd[] = { "stdin", "stdout", "stderr", "dir", "job-conf",
					     "archive" };
	static const char *const theirs[] = { "config", "runtime-dir", "uid-range", "result",
					      "output-dir", "id", "verbose", "help", "bogus",
					      "wall_time", "" };
	char line[512], want[160];
	size_t i;
	int root;

	(void)state;
	for (root = 0; root <= 1; root++) {
		for (i = 0; i < sizeof(as_fd) / sizeof(as_fd[0]); i++) {
			snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"submit\",\"options\":{\"%s\":"
				 "\"/etc/shadow\"},\"command\":[\"x\"]}", as_fd[i]);
			snprintf(want, sizeof(want), "options: %s is given as a descriptor (fds.%s), "
				 "never as a path", as_fd[i], as_fd[i]);
			refused(line, 0, root, want);
		}
		for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++) {
			char q[96];

			snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"submit\",\"options\":{\"%s\":"
				 "\"/tmp/x\"},\"command\":[\"x\"]}", theirs[i]);
			snprintf(want, sizeof(want), "options: %s is not an option a client of jobrun "
				 "serve may give", jr_quote_value(theirs[i], q, sizeof(q)));
			refused(line, 0, root, want);
		}
	}
	/* refused wherever it is in the object, after options that were fine */
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":\"1G\",\"env\":[\"A=1\"],"
		"\"config\":\"/tmp/evil.conf\"},\"command\":[\"x\"]}", 0, true,
		"options: config is not an option");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":[\"--memory=1G\"],\"command\":[\"x\"]}", 0,
		false, "options: must be an object of option: value");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":\"--memory=1G\",\"command\":[\"x\"]}", 0,
		false, "options: must be an object of option: value");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":null,\"command\":[\"x\"]}", 0, false,
		"options: must be an object of option: value");
}

static void root_options(void **state)
{
	static const char *const want_bind[] = { "--ro-bind=/opt/a", "--ro-bind=/opt/b", NULL };
	static const char *const want_all[] = { "--memory=1G", "--scratch=/scratch",
						"--cgroup-parent=/sys/fs/cgroup/x",
						"--ro-bind=/data", NULL };
	static const char *const want_one[] = { "--memory=1G", NULL };
	struct jr_sreq req;

	(void)state;
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"ro-bind\":[\"/opt/a\"]},"
		"\"command\":[\"x\"]}", 0, false, "options: ro-bind: only root's clients may give it");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"ro-bind\":\"/opt/a\"},"
		"\"command\":[\"x\"]}", 0, false, "options: ro-bind: only root's clients may give it");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"scratch\":\"/scratch\"},"
		"\"command\":[\"x\"]}", 0, false, "options: scratch: only root's clients may give it");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"cgroup-parent\":\"/x\"},"
		"\"command\":[\"x\"]}", 0, false,
		"options: cgroup-parent: only root's clients may give it");

	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"ro-bind\":[\"/opt/a\",\"/opt/b\"]},"
		 "\"command\":[\"x\"]}", 0, true, &req);
	assert_args(&req.args, want_bind);
	assert_true(req.root_options);
	jr_sreq_free(&req);
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":\"1G\",\"scratch\":\"/scratch\","
		 "\"cgroup-parent\":\"/sys/fs/cgroup/x\",\"ro-bind\":\"/data\"},\"command\":[\"x\"]}",
		 0, true, &req);
	assert_args(&req.args, want_all);
	assert_true(req.root_options);
	jr_sreq_free(&req);
	/* root giving none of them: root_options stays false */
	accepted("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":\"1G\"},\"command\":[\"x\"]}", 0,
		 true, &req);
	assert_args(&req.args, want_one);
	assert_false(req.root_options);
	jr_sreq_free(&req);
	/* scratch and cgroup-parent take one value, not a list */
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"scratch\":[\"/a\"]},\"command\":[\"x\"]}",
		0, true, "options: scratch: must be a string");
}

static void option_types(void **state)
{
	(void)state;
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":5},\"command\":[\"x\"]}", 0,
		false, "options: memory: must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":[\"1G\"]},\"command\":[\"x\"]}",
		0, false, "options: memory: must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"memory\":null},\"command\":[\"x\"]}", 0,
		false, "options: memory: must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"profile\":true},\"command\":[\"x\"]}", 0,
		false, "options: profile: must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":5},\"command\":[\"x\"]}", 0, false,
		"options: env: must be a string or a list of at most 1024 strings");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":{\"A\":\"1\"}},\"command\":[\"x\"]}",
		0, false, "options: env: must be a string or a list");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":[\"A=1\",2]},\"command\":[\"x\"]}",
		0, false, "options: env: entry 1 must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":[[\"A=1\"]]},\"command\":[\"x\"]}",
		0, false, "options: env: entry 0 must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"ro-bind\":[\"/a\",null]},"
		"\"command\":[\"x\"]}", 0, true, "options: ro-bind: entry 1 must be a string");
	/* env is NAME=VALUE: the client resolves a bare NAME from its own environment */
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":\"HOME\"},\"command\":[\"x\"]}", 0,
		false, "options: env HOME: must be NAME=VALUE (the client resolves NAME from its "
		"own environment)");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":[\"A=1\",\"PATH\"]},"
		"\"command\":[\"x\"]}", 0, false, "options: env PATH: must be NAME=VALUE");
	refused("{\"v\":1,\"op\":\"submit\",\"options\":{\"env\":[\"\"]},\"command\":[\"x\"]}", 0,
		false, "options: env \"\": must be NAME=VALUE");
}

static void command_types(void **state)
{
	(void)state;
	refused("{\"v\":1,\"op\":\"submit\",\"command\":\"ls\"}", 0, false,
		"command: must be a list of 1 to 4096 strings");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[]}", 0, false,
		"command: must be a list of 1 to 4096 strings");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":null}", 0, false,
		"command: must be a list of 1 to 4096 strings");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":{\"0\":\"ls\"}}", 0, false,
		"command: must be a list");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[1]}", 0, false,
		"command: entry 0 must be a non-empty string");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"\"]}", 0, false,
		"command: entry 0 must be a non-empty string");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"ls\",null]}", 0, false,
		"command: entry 1 must be a string");
	refused("{\"v\":1,\"op\":\"submit\",\"command\":[\"ls\",[\"-l\"]]}", 0, false,
		"command: entry 1 must be a string");
	/* an empty command with an archive is still refused: it is not "no command" */
	refused("{\"v\":1,\"op\":\"submit\",\"fds\":{\"archive\":0},\"command\":[]}", 1, false,
		"command: must be a list of 1 to 4096 strings");
}

/* The bounds of lists and strings: at the bound accepted, one more refused. */
static void huge(void **state)
{
	struct jr_sreq req;
	char *line, *big;

	(void)state;
	line = submit_with_command(JR_REQ_MAX_ARGS, "x");
	accepted(line, 0, false, &req);
	assert_int_equal(req.command.n, JR_REQ_MAX_ARGS);
	jr_sreq_free(&req);
	free(line);
	line = submit_with_command(JR_REQ_MAX_ARGS + 1, "x");
	refused(line, 0, false, "command: must be a list of 1 to 4096 strings");
	free(line);
	line = submit_with_command(100000, "x");
	refused(line, 0, false, "command: must be a list of 1 to 4096 strings");
	free(line);

	line = submit_with_list("env", JR_REQ_MAX_ENV, "A=1");
	accepted(line, 0, false, &req);
	assert_int_equal(req.args.n, JR_REQ_MAX_ENV);
	assert_string_equal(req.args.v[JR_REQ_MAX_ENV - 1], "--env=A=1");
	jr_sreq_free(&req);
	free(line);
	line = submit_with_list("env", JR_REQ_MAX_ENV + 1, "A=1");
	refused(line, 0, false, "options: env: must be a string or a list of at most 1024 strings");
	free(line);
	line = submit_with_list("ro-bind", JR_REQ_MAX_ENV + 1, "/a");
	refused(line, 0, true, "options: ro-bind: must be a string or a list of at most 1024");
	free(line);

	/* one string: JR_REQ_MAX_STRING bytes at most */
	big = malloc(JR_REQ_MAX_STRING + 2);
	assert_non_null(big);
	memset(big, 'a', JR_REQ_MAX_STRING + 1);
	big[JR_REQ_MAX_STRING] = '\0';
	line = submit_with_command(1, big);
	accepted(line, 0, false, &req);
	assert_int_equal(strlen(req.command.v[0]), JR_REQ_MAX_STRING);
	jr_sreq_free(&req);
	free(line);
	big[JR_REQ_MAX_STRING] = 'a';
	big[JR_REQ_MAX_STRING + 1] = '\0';
	line = submit_with_command(1, big);
	refused(line, 0, false, "command: entry 0 must be a non-empty string");
	free(line);
	line = dump(json_pack("{s:i, s:s, s:{s:s}, s:[s]}", "v", 1, "op", "submit", "options",
			      "hostname", big, "command", "x"));
	refused(line, 0, false, "options: hostname: must be a string");
	free(line);
	line = dump(json_pack("{s:i, s:s, s:{s:[s]}, s:[s]}", "v", 1, "op", "submit", "options",
			      "env", big, "command", "x"));
	refused(line, 0, false, "options: env: entry 0 must be a string");
	free(line);
	/* a long unknown key or option: quoted and cut in the message */
	line = dump(json_pack("{s:i, s:s, s:i}", "v", 1, "op", "hello", big, 1));
	refused(line, 0, false, "aaaa\"... for op hello");
	free(line);
	line = dump(json_pack("{s:i, s:s, s:{s:s}, s:[s]}", "v", 1, "op", "submit", "options", big,
			      "1", "command", "x"));
	refused(line, 0, false, "aaaa\"... is not an option a client of jobrun serve may give");
	free(line);
	free(big);

	/* deep nesting: jansson's depth limit, no stack overflow */
	big = malloc(200001);
	assert_non_null(big);
	memset(big, '[', 100000);
	memset(big + 100000, ']', 100000);
	big[200000] = '\0';
	refused(big, 0, false, "not JSON: ");
	free(big);
}

/* The error message fits one reply: bounded, whatever the request. */
static void messages_bounded(void **state)
{
	struct jr_sreq req;
	struct jr_err err;
	char *line;
	json_t *a = json_array();
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		json_array_append_new(a, json_string("\n\t\x01\xc3\xa9\"\\"));
	line = dump(json_pack("{s:i, s:s, s:{s:o}, s:[s]}", "v", 1, "op", "submit", "options",
			      "\x01\xc3\xa9\"\\\n", a, "command", "x"));
	assert_int_equal(parse(line, 0, false, &req, &err), -EINVAL);
	assert_true(strlen(err.msg) < JR_ERR_MAX);
	assert_null(strchr(err.msg, '\n'));
	assert_null(strchr(err.msg, '\x01'));
	assert_true(jr_is_utf8(err.msg));
	free(line);
}

/* ---- the replies ------------------------------------------------------------------------ */

/* s is one line: it ends in its only newline; it reads back as a JSON object. */
static json_t *one_line(const char *s)
{
	size_t n;
	json_t *o;

	assert_non_null(s);
	n = strlen(s);
	assert_true(n > 1);
	assert_int_equal(s[n - 1], '\n');
	assert_ptr_equal(strchr(s, '\n'), s + n - 1);
	o = json_loadb(s, n - 1, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_true(json_is_object(o));
	assert_int_equal(json_integer_value(json_object_get(o, "v")), JR_PROTO_VERSION);
	return o;
}

static void replies(void **state)
{
	char *s;
	json_t *o;

	(void)state;
	s = jr_sreply_error("unknown operation frob");
	assert_non_null(s);
	assert_string_equal(s, "{\"v\":1,\"ok\":false,\"error\":\"unknown operation frob\"}\n");
	free(s);
	/* a message with newlines, quotes, backslashes, UTF-8: escaped, still one line */
	s = jr_sreply_error("a\nb\"c\\d\xc3\xa9\te");
	assert_string_equal(s, "{\"v\":1,\"ok\":false,\"error\":\"a\\nb\\\"c\\\\d\xc3\xa9\\te\"}\n");
	o = json_loadb(s, strlen(s) - 1, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "error")), "a\nb\"c\\d\xc3\xa9\te");
	assert_true(json_is_false(json_object_get(o, "ok")));
	json_decref(o);
	free(s);
	s = jr_sreply_error("");
	assert_string_equal(s, "{\"v\":1,\"ok\":false,\"error\":\"\"}\n");
	free(s);
	/* not UTF-8: no reply (the supervisor sanitizes its messages first) */
	assert_null(jr_sreply_error("\xff"));
	{
		char msg[] = "bad \xff byte\x01";

		s = jr_sreply_error(jr_sanitize_message(msg));
		assert_string_equal(s, "{\"v\":1,\"ok\":false,\"error\":\"bad ? byte?\"}\n");
		free(s);
	}

	s = jr_sreply_ok(json_pack("{s:s, s:s}", "id", "a1", "state", "queued"));
	assert_string_equal(s, "{\"id\":\"a1\",\"state\":\"queued\",\"v\":1,\"ok\":true}\n");
	free(s);
	s = jr_sreply_ok(json_object());
	assert_string_equal(s, "{\"v\":1,\"ok\":true}\n");
	free(s);
	/* "v" and "ok" are the protocol's: a caller's are replaced */
	s = jr_sreply_ok(json_pack("{s:i, s:b, s:s}", "v", 7, "ok", 0, "x", "y"));
	o = one_line(s);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_int_equal(json_object_size(o), 3);
	json_decref(o);
	free(s);
	/* nested, with text that has newlines: one line (metrics' text) */
	s = jr_sreply_ok(json_pack("{s:s, s:{s:[i,i]}}", "text", "# HELP a\na 1\n", "job", "n", 1,
				   2));
	o = one_line(s);
	assert_string_equal(json_string_value(json_object_get(o, "text")), "# HELP a\na 1\n");
	json_decref(o);
	free(s);
	/* nothing to send: NULL, nothing leaked */
	assert_null(jr_sreply_ok(NULL));
	assert_null(jr_sreply_ok(json_array())); /* not an object: stolen and freed */
}

/* A request refused leaves req as initialised; a request accepted after a refused one with the
 * same struct starts clean. */
static void reuse(void **state)
{
	struct jr_sreq req;
	struct jr_err err;

	(void)state;
	assert_int_equal(parse("{\"v\":1,\"op\":\"submit\",\"id\":\"x\",\"options\":{\"memory\":\"1G\","
			       "\"env\":[\"A=1\",\"B\"]},\"fds\":{\"stdout\":0},\"command\":[\"a\",\"b\"]}",
			       1, false, &req, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "env B"));
	assert_empty(&req);
	/* refused late: after id, options, fds and command were taken */
	assert_int_equal(parse("{\"v\":1,\"op\":\"submit\",\"id\":\"x\",\"options\":{\"memory\":\"1G\"},"
			       "\"fds\":{\"stdout\":0},\"command\":[\"a\",\"b\"],\"priority\":5000}",
			       1, false, &req, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "priority"));
	assert_empty(&req);
	assert_int_equal(parse("{\"v\":1,\"op\":\"submit\",\"id\":\"x\",\"options\":{\"memory\":\"1G\"},"
			       "\"fds\":{\"stdout\":0},\"command\":[\"a\",\"b\"],\"wait\":\"no\"}",
			       1, false, &req, &err), -EINVAL);
	assert_empty(&req);
	assert_int_equal(parse("{\"v\":1,\"op\":\"status\",\"id\":\"x\"}", 0, false, &req, &err), 0);
	assert_string_equal(req.id, "x");
	assert_int_equal(req.args.n, 0);
	jr_sreq_free(&req);
	assert_null(req.id);
	jr_sreq_free(&req); /* twice: harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(op_hello_and_metrics),
		cmocka_unit_test(op_status_wait_cancel),
		cmocka_unit_test(op_list_and_drain),
		cmocka_unit_test(op_submit_minimal),
		cmocka_unit_test(op_submit_everything),
		cmocka_unit_test(submit_args_order),
		cmocka_unit_test(submit_without_command),
		cmocka_unit_test(submit_archive_url),
		cmocka_unit_test(submit_priority),
		cmocka_unit_test(not_json),
		cmocka_unit_test(not_utf8_nor_nul),
		cmocka_unit_test(not_an_object),
		cmocka_unit_test(version),
		cmocka_unit_test(operation),
		cmocka_unit_test(unknown_keys),
		cmocka_unit_test(ids),
		cmocka_unit_test(fds_rules),
		cmocka_unit_test(descriptor_counts),
		cmocka_unit_test(option_classes),
		cmocka_unit_test(options_refused),
		cmocka_unit_test(root_options),
		cmocka_unit_test(option_types),
		cmocka_unit_test(command_types),
		cmocka_unit_test(huge),
		cmocka_unit_test(messages_bounded),
		cmocka_unit_test(replies),
		cmocka_unit_test(reuse),
	};

	return cmocka_run_group_tests_name("sproto", tests, NULL, NULL);
}
