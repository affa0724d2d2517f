/* fuzz_sproto.c - libFuzzer target: jr_sreq_parse (sproto.c) on arbitrary bytes, the request
 * line any local user may write to `jobrun serve`'s socket. The first byte chooses how many
 * descriptors came with the line (its low 4 bits: 0..15, so some are over JR_SERVE_MAX_FDS),
 * whether the peer is root (0x10) and how the rest is read (0x20): as the line itself, or as
 * choices of a request built with jansson (gen_request), which reaches deep into the parse
 * without a corpus or a dictionary (`make fuzz` gives neither).
 *
 * Besides "no crash, no leak, no UB":
 *   - a refused request has a message, leaves the request empty, and its error reply (after
 *     jr_sanitize_message, as serve.c does) is one JSON line that says it again;
 *   - an accepted one obeys every rule of the protocol: descriptors only with submit, each an
 *     index below nfds named once; an id of the allowed characters; every argument
 *     "--NAME=VALUE" with NAME an option the peer may give (root's only when root), env
 *     NAME=VALUE; a command or a job tarball or a job config; priority in -1000..1000;
 *   - an accepted submit, written back as a request, parses to the same request.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Ijobrun \
 *       -o build/fuzz_sproto tests/fuzz/fuzz_sproto.c jobrun/sproto.c jobrun/jobreq.c \
 *       jobrun/err.c jobrun/spec.c $(pkg-config --libs jansson)
 *   mkdir -p build/corpus-sproto
 *   build/fuzz_sproto -max_total_time=30 -max_len=4096 build/corpus-sproto
 *
 * Built with -DJR_FUZZ_STANDALONE (any compiler, no libFuzzer) it runs the files named on its
 * command line once each, to replay a crash or a corpus in CI. */
#include "jobreq.h"
#include "sproto.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The second way of reading an input: its bytes choose a request, built with jansson, so that
 * the JSON is well formed and the fuzzer's coverage (of sproto.c: jansson is not instrumented)
 * leads it through every key, operation, option and descriptor. */
struct gen {
	const uint8_t *p, *end;
};

static unsigned pick(struct gen *g, unsigned n)
{
	return g->p < g->end ? *g->p++ % n : 0;
}

static const char *const g_ops[] = { "hello", "submit", "status", "wait", "cancel", "list",
				     "drain", "metrics", "frob", "" };
static const char *const g_keys[] = { "id", "options", "fds", "command", "priority", "wait",
				      "all", "exit", "bogus", "v", "op" };
static const char *const g_opts[] = {
	"memory", "env", "wall-time", "profile", "hostname", "stack", "file-size", "cpuset",
	"ro-bind", "scratch", "cgroup-parent", "pids", "cpus", "io-read-iops", "stdin", "stdout",
	"stderr", "dir", "job-conf", "archive", "config", "runtime-dir", "uid-range", "result",
	"output-dir", "id", "wall_time", "",
};
static const char *const g_fds[] = { "archive", "job-conf", "stdin", "stdout", "stderr", "dir",
				     "result", "" };
static const char *const g_strings[] = {
	"job-1", "A=1", "B=x=y", "A", "", "256M", "/opt", "echo", "hi", ".x", "-x", "a/b", "_",
	"\xc3\xa9", "a\nb", "\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "=", "--memory=1G",
};
static const json_int_t g_ints[] = { 0, 1, 2, 7, 8, -1, 1000, -1000, 1001, -1001, 4294967296LL,
				     INT64_MAX, INT64_MIN };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *gen_value(struct gen *g, unsigned depth);

static json_t *gen_string(struct gen *g)
{
	return json_string(g_strings[pick(g, N(g_strings))]);
}

static json_t *gen_array_of_strings(struct gen *g)
{
	json_t *a = json_array();
	unsigned n = pick(g, 6), i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, pick(g, 8) ? gen_string(g) : gen_value(g, 1));
	return a;
}

/* Any value: the wrong types for every key. */
static json_t *gen_value(struct gen *g, unsigned depth)
{
	switch (pick(g, depth > 2 ? 6 : 8)) {
	case 0: return json_true();
	case 1: return json_false();
	case 2: return json_null();
	case 3: return json_integer(g_ints[pick(g, N(g_ints))]);
	case 4: return json_real(1.5);
	case 5: return gen_string(g);
	case 6: return gen_array_of_strings(g);
	default: {
		json_t *o = json_object();

		json_object_set_new(o, g_strings[pick(g, N(g_strings))], gen_value(g, depth + 1));
		return o;
	}
	}
}

static json_t *gen_for_key(struct gen *g, const char *key)
{
	json_t *o;
	unsigned n, i;

	if (!pick(g, 8)) /* now and then a value of any type */
		return gen_value(g, 0);
	if (!strcmp(key, "id"))
		return gen_string(g);
	if (!strcmp(key, "priority") || !strcmp(key, "v"))
		return json_integer(g_ints[pick(g, N(g_ints))]);
	if (!strcmp(key, "op"))
		return json_string(g_ops[pick(g, N(g_ops))]);
	if (!strcmp(key, "command"))
		return gen_array_of_strings(g);
	if (!strcmp(key, "options")) {
		o = json_object();
		n = pick(g, 5);
		for (i = 0; i < n; i++)
			json_object_set_new(o, g_opts[pick(g, N(g_opts))],
					    pick(g, 2) ? gen_string(g)
						       : pick(g, 4) ? gen_array_of_strings(g)
								    : gen_value(g, 1));
		return o;
	}
	if (!strcmp(key, "fds")) {
		o = json_object();
		n = pick(g, 5);
		for (i = 0; i < n; i++)
			json_object_set_new(o, g_fds[pick(g, N(g_fds))],
					    json_integer((json_int_t)pick(g, 11) - 1));
		return o;
	}
	return pick(g, 2) ? json_true() : json_false(); /* wait, all, exit, bogus */
}

static char *gen_request(const uint8_t *data, size_t size, size_t *len)
{
	struct gen g = { data, data + size };
	json_t *o = json_object();
	unsigned n, i;
	char *s;

	if (pick(&g, 8))
		json_object_set_new(o, "v", json_integer(pick(&g, 8) ? 1 : 2));
	if (pick(&g, 16))
		json_object_set_new(o, "op", json_string(g_ops[pick(&g, N(g_ops))]));
	n = pick(&g, 8);
	for (i = 0; i < n; i++) {
		const char *k = g_keys[pick(&g, N(g_keys))];

		json_object_set_new(o, k, gen_for_key(&g, k));
	}
	if (!pick(&g, 32)) { /* a request inside an array */
		json_t *a = json_array();

		json_array_append_new(a, o);
		o = a;
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	*len = s ? strlen(s) : 0;
	return s;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= JR_SERVE_MAX_ID && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* The option name of "--NAME=VALUE" in buf (size bytes), or NULL when arg is not of that
 * form. */
static const char *arg_name(const char *arg, char *buf, size_t size)
{
	const char *eq;

	if (strncmp(arg, "--", 2) || !(eq = strchr(arg + 2, '=')) || eq == arg + 2 ||
	    (size_t)(eq - arg - 2) >= size)
		return NULL;
	memcpy(buf, arg + 2, (size_t)(eq - arg - 2));
	buf[eq - arg - 2] = '\0';
	return buf;
}

static void check_refused(const struct jr_sreq *req, const struct jr_err *err)
{
	char msg[JR_ERR_MAX], *line;
	json_t *o;
	size_t n;
	int f;

	if (!err->msg[0] || strlen(err->msg) >= JR_ERR_MAX || req->id || req->args.n ||
	    req->args.v || req->command.n || req->command.v || req->wait || req->root_options)
		abort();
	for (f = 0; f < JR_SFD_N; f++)
		if (req->fd[f] != -1)
			abort();
	memcpy(msg, err->msg, sizeof(msg));
	line = jr_sreply_error(jr_sanitize_message(msg));
	if (!line)
		abort();
	n = strlen(line);
	if (n < 2 || line[n - 1] != '\n' || strchr(line, '\n') != line + n - 1)
		abort();
	o = json_loadb(line, n - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!o || !json_is_false(json_object_get(o, "ok")) ||
	    json_integer_value(json_object_get(o, "v")) != JR_PROTO_VERSION ||
	    !json_is_string(json_object_get(o, "error")) ||
	    strcmp(json_string_value(json_object_get(o, "error")), msg))
		abort();
	json_decref(o);
	free(line);
}

static void check_accepted(const struct jr_sreq *req, unsigned nfds, bool root)
{
	bool used[JR_SERVE_MAX_FDS] = { false };
	char name[128];
	size_t i;
	int f;

	if (nfds > JR_SERVE_MAX_FDS || (unsigned)req->op > JR_SOP_METRICS)
		abort();
	if (req->id && !valid_id(req->id))
		abort();
	if ((req->op == JR_SOP_WAIT || req->op == JR_SOP_CANCEL) && !req->id)
		abort();
	if (req->op != JR_SOP_SUBMIT) {
		if (nfds || req->args.n || req->command.n || req->wait || req->priority ||
		    req->root_options)
			abort();
		for (f = 0; f < JR_SFD_N; f++)
			if (req->fd[f] != -1)
				abort();
		if ((req->op != JR_SOP_STATUS && req->op != JR_SOP_WAIT &&
		     req->op != JR_SOP_CANCEL && req->op != JR_SOP_SUBMIT) && req->id)
			abort();
		if (req->op != JR_SOP_LIST && req->all)
			abort();
		if (req->op != JR_SOP_DRAIN && req->exit_when_idle)
			abort();
		return;
	}
	if (req->all || req->exit_when_idle)
		abort();
	for (f = 0; f < JR_SFD_N; f++) {
		if (req->fd[f] == -1)
			continue;
		if (req->fd[f] < 0 || (unsigned)req->fd[f] >= nfds || used[req->fd[f]])
			abort();
		used[req->fd[f]] = true;
	}
	if (!req->command.n && req->fd[JR_SFD_ARCHIVE] < 0 && req->fd[JR_SFD_JOB_CONF] < 0)
		abort();
	if (req->command.n && (!req->command.v[0][0] || req->command.v[req->command.n]))
		abort();
	for (i = 0; i < req->command.n; i++)
		if (!jr_is_utf8(req->command.v[i]) || strlen(req->command.v[i]) > JR_REQ_MAX_STRING)
			abort();
	if (req->priority < -1000 || req->priority > 1000)
		abort();
	if (req->root_options && !root)
		abort();
	for (i = 0; i < req->args.n; i++) {
		const char *a = req->args.v[i], *nm = arg_name(a, name, sizeof(name));

		if (!nm || jr_sopt_class(nm, root) == JR_SOPT_NO || !jr_is_utf8(a))
			abort();
		if (!strcmp(nm, "env") && !strchr(a + 6, '='))
			abort();
		if (jr_sopt_class(nm, false) == JR_SOPT_NO && !req->root_options)
			abort(); /* a root's option given, and not marked */
	}
}

/* The request req came from, written back: options grouped by name as they came (a name is
 * one key of the object, so its entries are consecutive). */
static char *write_back(const struct jr_sreq *req, bool root)
{
	json_t *o = json_pack("{s:i, s:s, s:i, s:b}", "v", JR_PROTO_VERSION, "op", "submit",
			      "priority", req->priority, "wait", req->wait);
	json_t *opts = json_object(), *fds = json_object();
	char name[128], *s;
	size_t i;
	int f;

	if (!o || !opts || !fds)
		abort();
	for (i = 0; i < req->args.n; i++) {
		const char *nm = arg_name(req->args.v[i], name, sizeof(name));
		const char *val = req->args.v[i] + 3 + strlen(nm);
		json_t *prev = json_object_get(opts, nm);

		if (jr_sopt_class(nm, root) == JR_SOPT_LIST) {
			if (!prev)
				json_object_set_new(opts, nm, prev = json_array());
			json_array_append_new(prev, json_string(val));
		} else {
			if (prev)
				abort(); /* a one-value option twice */
			json_object_set_new(opts, nm, json_string(val));
		}
	}
	json_object_set_new(o, "options", opts);
	for (f = 0; f < JR_SFD_N; f++)
		if (req->fd[f] >= 0)
			json_object_set_new(fds, jr_sfd_name((enum jr_sfd)f), json_integer(req->fd[f]));
	json_object_set_new(o, "fds", fds);
	if (req->command.n) {
		json_t *c = json_array();

		for (i = 0; i < req->command.n; i++)
			json_array_append_new(c, json_string(req->command.v[i]));
		json_object_set_new(o, "command", c);
	}
	if (req->id)
		json_object_set_new(o, "id", json_string(req->id));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		abort();
	return s;
}

static bool same_strv(const struct jr_strv *a, const struct jr_strv *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

/* Does args hold an option only root may give? (req->root_options says so too, and also for
 * an empty list of one: "ro-bind": [] gives no argument but sets it.) */
static bool has_root_arg(const struct jr_sreq *req)
{
	char name[128];
	size_t i;

	for (i = 0; i < req->args.n; i++)
		if (jr_sopt_class(arg_name(req->args.v[i], name, sizeof(name)), false) == JR_SOPT_NO)
			return true;
	return false;
}

static void check_round_trip(const struct jr_sreq *req, unsigned nfds, bool root)
{
	char *line = write_back(req, root);
	struct jr_sreq back;
	struct jr_err err;
	int f;

	jr_err_clear(&err);
	if (jr_sreq_parse(line, strlen(line), nfds, root, &back, &err) < 0)
		abort();
	if (back.op != JR_SOP_SUBMIT || !same_strv(&req->args, &back.args) ||
	    !same_strv(&req->command, &back.command) || back.priority != req->priority ||
	    back.wait != req->wait || back.root_options != has_root_arg(req) ||
	    (req->id == NULL) != (back.id == NULL) || (req->id && strcmp(req->id, back.id)))
		abort();
	for (f = 0; f < JR_SFD_N; f++)
		if (back.fd[f] != req->fd[f])
			abort();
	jr_sreq_free(&back);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_sreq req;
	struct jr_err err;
	unsigned nfds;
	bool root;
	char *line;
	size_t len;

	if (size < 1)
		return 0;
	nfds = data[0] & 0x0f;
	root = data[0] & 0x10;
	if (data[0] & 0x20) {
		if (!(line = gen_request(data + 1, size - 1, &len)))
			return 0;
	} else {
		len = size - 1;
		if (!(line = malloc(len ? len : 1)))
			return 0;
		memcpy(line, data + 1, len);
	}
	/* the line is not NUL-terminated: jr_sreq_parse reads len bytes, no more */
	jr_err_clear(&err);
	if (jr_sreq_parse(line, len, nfds, root, &req, &err) < 0) {
		check_refused(&req, &err);
	} else {
		check_accepted(&req, nfds, root);
		if (req.op == JR_SOP_SUBMIT)
			check_round_trip(&req, nfds, root);
		jr_sreq_free(&req);
	}
	free(line);
	return 0;
}

#include "standalone.h"
