/* sproto.c - parse the requests of `jobrun serve` (sproto.h, docs/protocol.md). */
#define _GNU_SOURCE
#include "sproto.h"
#include "jobreq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sfd_names[JR_SFD_N] = {
	[JR_SFD_ARCHIVE] = "archive", [JR_SFD_JOB_CONF] = "job-conf", [JR_SFD_STDIN] = "stdin",
	[JR_SFD_STDOUT] = "stdout", [JR_SFD_STDERR] = "stderr", [JR_SFD_DIR] = "dir",
};

const char *jr_sfd_name(enum jr_sfd f)
{
	return (unsigned)f < JR_SFD_N ? sfd_names[f] : NULL;
}

/* The options of `run` a client gives as values. Paths a client names are never opened by
 * the supervisor on its behalf: they come as descriptors (fds), except the three root's
 * clients may give, which root could give to `jobrun run` anyway. The supervisor's own
 * settings (config, runtime-dir, uid-range, result, output-dir) are not the client's. */
static const struct {
	const char *name;
	enum jr_sopt_class cls;
	bool root;
} sopts[] = {
	/* and every limit (jr_limit_defs: memory, wall-time, pids...), one value each */
	{ "profile", JR_SOPT_VALUE, false },    { "env", JR_SOPT_LIST, false },
	{ "hostname", JR_SOPT_VALUE, false },   { "stack", JR_SOPT_VALUE, false },
	{ "file-size", JR_SOPT_VALUE, false },  { "cpuset", JR_SOPT_VALUE, false },
	{ "ro-bind", JR_SOPT_LIST, true },      { "scratch", JR_SOPT_VALUE, true },
	{ "cgroup-parent", JR_SOPT_VALUE, true },
	{ "report", JR_SOPT_VALUE, false },
};

enum jr_sopt_class jr_sopt_class(const char *name, bool root)
{
	size_t i;

	if (jr_limit_by_option(name) >= 0)
		return JR_SOPT_VALUE;
	for (i = 0; i < NELEM(sopts); i++)
		if (!strcmp(sopts[i].name, name))
			return !sopts[i].root || root ? sopts[i].cls : JR_SOPT_NO;
	return JR_SOPT_NO;
}

static bool is_root_option(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(sopts); i++)
		if (!strcmp(sopts[i].name, name))
			return sopts[i].root;
	return false;
}

static const struct {
	const char *name;
	enum jr_sop op;
} ops[] = {
	{ "hello", JR_SOP_HELLO }, { "submit", JR_SOP_SUBMIT }, { "status", JR_SOP_STATUS },
	{ "wait", JR_SOP_WAIT },   { "cancel", JR_SOP_CANCEL }, { "list", JR_SOP_LIST },
	{ "drain", JR_SOP_DRAIN }, { "metrics", JR_SOP_METRICS },
};

/* A JSON string that is one C string: no NUL inside, valid UTF-8 (jansson checks), bounded. */
static const char *plain_string(json_t *v, size_t max)
{
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || strlen(s) > max)
		return NULL;
	return s;
}

static int valid_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > JR_SERVE_MAX_ID || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    s[i]))
			return 0;
	return 1;
}

static int push_option(struct jr_sreq *req, const char *name, const char *value,
		       struct jr_err *err)
{
	char *arg, q[96];

	if (!strcmp(name, "env") && !strchr(value, '='))
		return jr_err_set(err, 0, "options: env %s: must be NAME=VALUE (the client "
				  "resolves NAME from its own environment)",
				  jr_quote_value(value, q, sizeof(q)));
	if (asprintf(&arg, "--%s=%s", name, value) < 0)
		return jr_err_set(err, ENOMEM, "options");
	return jr_strv_push_take(&req->args, arg) < 0 ? jr_err_set(err, ENOMEM, "options") : 0;
}

static int parse_options(json_t *o, bool root, struct jr_sreq *req, struct jr_err *err)
{
	const char *name;
	json_t *v;
	char q[96];

	if (!json_is_object(o))
		return jr_err_set(err, 0, "options: must be an object of option: value");
	json_object_foreach(o, name, v) {
		enum jr_sopt_class cls = jr_sopt_class(name, root);
		const char *s;
		size_t i;

		jr_quote_value(name, q, sizeof(q));
		if (cls == JR_SOPT_NO) {
			int f;

			for (f = 0; f < JR_SFD_N; f++)
				if (!strcmp(name, sfd_names[f]))
					return jr_err_set(err, 0, "options: %s is given as a descriptor "
							  "(fds.%s), never as a path", q, q);
			if (is_root_option(name))
				return jr_err_set(err, 0, "options: %s: only root's clients may give "
						  "it", q);
			return jr_err_set(err, 0, "options: %s is not an option a client of jobrun "
					  "serve may give", q);
		}
		if (is_root_option(name))
			req->root_options = true;
		if (cls == JR_SOPT_VALUE || json_is_string(v)) {
			if (!(s = plain_string(v, JR_REQ_MAX_STRING)))
				return jr_err_set(err, 0, "options: %s: must be a string", q);
			if (push_option(req, name, s, err) < 0)
				return -EINVAL;
			continue;
		}
		if (!json_is_array(v) || json_array_size(v) > JR_REQ_MAX_ENV)
			return jr_err_set(err, 0, "options: %s: must be a string or a list of at most "
					  "%d strings", q, JR_REQ_MAX_ENV);
		for (i = 0; i < json_array_size(v); i++) {
			if (!(s = plain_string(json_array_get(v, i), JR_REQ_MAX_STRING)))
				return jr_err_set(err, 0, "options: %s: entry %zu must be a string", q,
						  i);
			if (push_option(req, name, s, err) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

static int parse_fds(json_t *o, unsigned nfds, struct jr_sreq *req, struct jr_err *err)
{
	bool used[JR_SERVE_MAX_FDS] = { false };
	const char *name;
	json_t *v;
	char q[96];

	if (!json_is_object(o))
		return jr_err_set(err, 0, "fds: must be an object of name: index");
	json_object_foreach(o, name, v) {
		json_int_t i;
		int f;

		for (f = 0; f < JR_SFD_N && strcmp(name, sfd_names[f]); f++)
			;
		if (f == JR_SFD_N)
			return jr_err_set(err, 0, "fds: %s is not a descriptor a job takes (archive, "
					  "job-conf, stdin, stdout, stderr, dir)",
					  jr_quote_value(name, q, sizeof(q)));
		if (!json_is_integer(v) || (i = json_integer_value(v)) < 0 || i >= (json_int_t)nfds)
			return jr_err_set(err, 0, "fds.%s: must be the index of a descriptor sent with "
					  "the request (%u came)", name, nfds);
		if (used[i])
			return jr_err_set(err, 0, "fds.%s: descriptor %d is named twice", name, (int)i);
		used[i] = true;
		req->fd[f] = (int)i;
	}
	return 0;
}

static int parse_submit(json_t *root, unsigned nfds, bool is_root, struct jr_sreq *req,
			struct jr_err *err)
{
	json_t *v;
	size_t i;

	if ((v = json_object_get(root, "options")) && parse_options(v, is_root, req, err) < 0)
		return -EINVAL;
	if ((v = json_object_get(root, "fds")) && parse_fds(v, nfds, req, err) < 0)
		return -EINVAL;
	if ((v = json_object_get(root, "command"))) {
		if (!json_is_array(v) || !json_array_size(v) ||
		    json_array_size(v) > JR_REQ_MAX_ARGS)
			return jr_err_set(err, 0, "command: must be a list of 1 to %d strings",
					  JR_REQ_MAX_ARGS);
		for (i = 0; i < json_array_size(v); i++) {
			const char *s = plain_string(json_array_get(v, i), JR_REQ_MAX_STRING);

			if (!s || (i == 0 && !*s))
				return jr_err_set(err, 0, "command: entry %zu must be a %sstring", i,
						  i ? "" : "non-empty ");
			if (jr_strv_push(&req->command, s) < 0)
				return jr_err_set(err, ENOMEM, "command");
		}
	}
	if ((v = json_object_get(root, "archive_url"))) {
		const char *s = plain_string(v, 4096), *p;

		if (!s || (strncasecmp(s, "https://", 8) && strncasecmp(s, "http://", 7)))
			return jr_err_set(err, 0, "archive_url: must be an http:// or https:// URL of "
					  "at most 4096 bytes");
		for (p = s; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				return jr_err_set(err, 0, "archive_url: holds a space or a control "
						  "character");
		if (req->fd[JR_SFD_ARCHIVE] >= 0)
			return jr_err_set(err, 0, "archive_url and fds.archive: one job tarball only");
		if (!(req->archive_url = strdup(s)))
			return jr_err_set(err, ENOMEM, "archive_url");
	}
	if (!req->command.n && req->fd[JR_SFD_ARCHIVE] < 0 && req->fd[JR_SFD_JOB_CONF] < 0 &&
	    !req->archive_url)
		return jr_err_set(err, 0, "no command given (command, or a job tarball or job "
				  "config in fds, or archive_url)");
	if ((v = json_object_get(root, "priority"))) {
		json_int_t p;

		if (!json_is_integer(v) || (p = json_integer_value(v)) < -1000 || p > 1000)
			return jr_err_set(err, 0, "priority: must be an integer from -1000 to 1000");
		req->priority = (int)p;
	}
	if ((v = json_object_get(root, "wait"))) {
		if (!json_is_boolean(v))
			return jr_err_set(err, 0, "wait: must be true or false");
		req->wait = json_is_true(v);
	}
	return 0;
}

/* Which keys each operation takes. */
static int check_keys(json_t *root, const char *const *allowed, struct jr_err *err)
{
	const char *key;
	json_t *v;
	char q[96];

	json_object_foreach(root, key, v) {
		const char *const *a;

		(void)v;
		for (a = allowed; *a && strcmp(*a, key); a++)
			;
		if (!*a)
			return jr_err_set(err, 0, "unknown key %s for op %s",
					  jr_quote_value(key, q, sizeof(q)),
					  json_string_value(json_object_get(root, "op")));
	}
	return 0;
}

int jr_sreq_parse(const char *line, size_t len, unsigned nfds, bool is_root, struct jr_sreq *req,
		  struct jr_err *err)
{
	static const char *const k_submit[] = { "v", "op", "id", "options", "fds", "command",
						"priority", "wait", "archive_url", NULL };
	static const char *const k_id[] = { "v", "op", "id", NULL };
	static const char *const k_list[] = { "v", "op", "all", NULL };
	static const char *const k_drain[] = { "v", "op", "exit", NULL };
	static const char *const k_none[] = { "v", "op", NULL };
	json_error_t jerr;
	json_t *root, *v;
	const char *op;
	size_t i;
	int r = -EINVAL, f;

	memset(req, 0, sizeof(*req));
	for (f = 0; f < JR_SFD_N; f++)
		req->fd[f] = -1;
	if (nfds > JR_SERVE_MAX_FDS)
		return jr_err_set(err, 0, "%u descriptors with one request: at most %d", nfds,
				  JR_SERVE_MAX_FDS);
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return jr_err_set(err, 0, "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (!json_is_object(root)) {
		jr_err_set(err, 0, "a request must be a JSON object");
		goto out;
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v)) {
		jr_err_set(err, 0, "\"v\": the protocol version (1) is missing");
		goto out;
	}
	if (json_integer_value(v) != JR_PROTO_VERSION) {
		jr_err_set(err, 0, "protocol version %lld is not spoken here (this jobrun serve "
			   "speaks %d)", (long long)json_integer_value(v), JR_PROTO_VERSION);
		goto out;
	}
	if (!(op = plain_string(json_object_get(root, "op"), 32))) {
		jr_err_set(err, 0, "\"op\": the operation is missing or not a string");
		goto out;
	}
	for (i = 0; i < NELEM(ops) && strcmp(ops[i].name, op); i++)
		;
	if (i == NELEM(ops)) {
		char q[96];

		jr_err_set(err, 0, "unknown operation %s (hello, submit, status, wait, cancel, "
			   "list, drain, metrics)", jr_quote_value(op, q, sizeof(q)));
		goto out;
	}
	req->op = ops[i].op;
	switch (req->op) {
	case JR_SOP_SUBMIT:
		r = check_keys(root, k_submit, err);
		break;
	case JR_SOP_STATUS:
	case JR_SOP_WAIT:
	case JR_SOP_CANCEL:
		r = check_keys(root, k_id, err);
		break;
	case JR_SOP_LIST:
		r = check_keys(root, k_list, err);
		break;
	case JR_SOP_DRAIN:
		r = check_keys(root, k_drain, err);
		break;
	case JR_SOP_HELLO:
	case JR_SOP_METRICS:
		r = check_keys(root, k_none, err);
		break;
	}
	if (r < 0)
		goto out;
	r = -EINVAL;
	if (req->op != JR_SOP_SUBMIT && nfds) {
		jr_err_set(err, 0, "descriptors came with op %s, which takes none", op);
		goto out;
	}
	if ((v = json_object_get(root, "id"))) {
		const char *s = plain_string(v, JR_SERVE_MAX_ID);

		if (!s || !valid_id(s)) {
			jr_err_set(err, 0, "id: must be 1 to %d letters, digits, '.', '_' or '-', not "
				   "starting with '.' or '-'", JR_SERVE_MAX_ID);
			goto out;
		}
		if (!(req->id = strdup(s))) {
			r = jr_err_set(err, ENOMEM, "id");
			goto out;
		}
	} else if (req->op == JR_SOP_WAIT || req->op == JR_SOP_CANCEL) {
		jr_err_set(err, 0, "id: op %s needs the job's id", op);
		goto out;
	}
	if ((v = json_object_get(root, "exit"))) {
		if (!json_is_boolean(v)) {
			jr_err_set(err, 0, "exit: must be true or false");
			goto out;
		}
		req->exit_when_idle = json_is_true(v);
	}
	if ((v = json_object_get(root, "all"))) {
		if (!json_is_boolean(v)) {
			jr_err_set(err, 0, "all: must be true or false");
			goto out;
		}
		req->all = json_is_true(v);
	}
	if (req->op == JR_SOP_SUBMIT && parse_submit(root, nfds, is_root, req, err) < 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	if (r < 0) {
		jr_sreq_free(req);
		for (f = 0; f < JR_SFD_N; f++)
			req->fd[f] = -1;
	}
	return r < 0 ? -EINVAL : 0;
}

void jr_sreq_free(struct jr_sreq *req)
{
	free(req->id);
	jr_strv_free(&req->args);
	jr_strv_free(&req->command);
	free(req->archive_url);
	memset(req, 0, sizeof(*req));
}

static char *dump_line(json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL, *line = NULL;

	json_decref(obj);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	free(s);
	return line;
}

char *jr_sreply_error(const char *msg)
{
	return dump_line(json_pack("{s:i, s:b, s:s}", "v", JR_PROTO_VERSION, "ok", 0, "error",
				   msg));
}

char *jr_sreply_ok(json_t *obj)
{
	if (!obj)
		return NULL;
	if (json_object_set_new(obj, "v", json_integer(JR_PROTO_VERSION)) < 0 ||
	    json_object_set_new(obj, "ok", json_true()) < 0) {
		json_decref(obj);
		return NULL;
	}
	return dump_line(obj);
}
