/* jobreq.c - a job's request: names, checks, and its JSON form (the unpack helper hands it to
 * jobrun that way). The JSON comes from a process that read untrusted input: it is checked as
 * if it were untrusted itself. */
#define _GNU_SOURCE
#include "jobreq.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC(field) offsetof(struct jr_spec, field)

const struct jr_limit_def jr_limit_defs[JR_L_N] = {
	[JR_L_MEMORY] = { "memory", "memory", JR_LK_SIZE, 1ULL << 20, 0, 1, SPEC(cg.memory),
			  JR_LN_ZERO },
	[JR_L_SWAP] = { "swap", "swap", JR_LK_SIZE, 0, 0, 1, SPEC(cg.swap), JR_LN_MAX },
	[JR_L_CPUS] = { "cpus", "cpus", JR_LK_CPUS, 10, 1000000, 1, SPEC(cg.cpus_milli),
			JR_LN_ZERO },
	[JR_L_CPU_WEIGHT] = { "cpu_weight", "cpu-weight", JR_LK_COUNT, 1, 10000, 0,
			      SPEC(cg.cpu_weight), JR_LN_NEVER },
	[JR_L_CPU_TIME] = { "cpu_time", "cpu-time", JR_LK_DURATION, 1, 0, 1, SPEC(cpu_time_usec),
			    JR_LN_ZERO },
	[JR_L_WALL_TIME] = { "wall_time", "wall-time", JR_LK_DURATION, 1, 0, 1, SPEC(wall_usec),
			     JR_LN_ZERO },
	/* jobrun-init and the command: 1 would fail jobrun-init's fork (the kernel's
	 * PID_MAX_LIMIT is the top) */
	[JR_L_PIDS] = { "pids", "pids", JR_LK_COUNT, 2, 4194304, 1, SPEC(cg.pids), JR_LN_ZERO },
	[JR_L_DISK] = { "disk", "disk", JR_LK_SIZE, 64ULL << 10, 0, 0, SPEC(disk_bytes),
			JR_LN_NEVER },
	[JR_L_OUTPUT] = { "output", "output-limit", JR_LK_SIZE, 0, 0, 0, SPEC(output_limit),
			  JR_LN_NEVER },
	[JR_L_OPEN_FILES] = { "open_files", "open-files", JR_LK_COUNT, 4, 1048576, 0,
			      SPEC(open_files), JR_LN_NEVER },
	/* io.max refuses 1 on some kernels ("&& val > 1" in tg_set_limit); the kernel keeps
	 * IOPS in 32 bits, where 2^32 - 1 means no limit (v1 cuts a larger value to 32 bits) */
	[JR_L_IO_RBPS] = { "io_read_bps", "io-read-bps", JR_LK_SIZE, 2, 0, 1, SPEC(cg.io_rbps),
			   JR_LN_ZERO },
	[JR_L_IO_WBPS] = { "io_write_bps", "io-write-bps", JR_LK_SIZE, 2, 0, 1, SPEC(cg.io_wbps),
			   JR_LN_ZERO },
	[JR_L_IO_RIOPS] = { "io_read_iops", "io-read-iops", JR_LK_COUNT, 2, 4294967294ULL, 1,
			    SPEC(cg.io_riops), JR_LN_ZERO },
	[JR_L_IO_WIOPS] = { "io_write_iops", "io-write-iops", JR_LK_COUNT, 2, 4294967294ULL, 1,
			    SPEC(cg.io_wiops), JR_LN_ZERO },
};

const char *jr_limit_name(enum jr_limit_key k)
{
	if ((unsigned)k >= JR_L_N)
		return NULL;
	return jr_limit_defs[k].name;
}

int jr_limit_key(const char *name)
{
	int k;

	for (k = 0; name && k < JR_L_N; k++)
		if (!strcmp(name, jr_limit_defs[k].name))
			return k;
	return -1;
}

int jr_limit_by_option(const char *option)
{
	int k;

	for (k = 0; option && k < JR_L_N; k++)
		if (!strcmp(option, jr_limit_defs[k].option))
			return k;
	return -1;
}

void jr_jobreq_init(struct jr_jobreq *req)
{
	memset(req, 0, sizeof(*req));
}

void jr_jobreq_free(struct jr_jobreq *req)
{
	int k;

	free(req->file);
	free(req->profile.value);
	jr_strv_free(&req->argv);
	free(req->shell.value);
	jr_strv_free(&req->env);
	free(req->stdin_file.value);
	jr_strv_free(&req->outputs);
	free(req->workdir.value);
	free(req->report.value);
	for (k = 0; k < JR_L_N; k++)
		free(req->limits[k].value);
	memset(req, 0, sizeof(*req));
}

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp, i, n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int jr_is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

char *jr_sanitize_message(char *msg)
{
	unsigned char *p = (unsigned char *)msg;

	while (*p) {
		size_t n = utf8_len(p);

		if (n == 1 && (*p < 0x20 || *p == 0x7f))
			*p = '?';
		if (!n) {
			*p = '?';
			n = 1;
		}
		p += n;
	}
	return msg;
}

const char *jr_quote_value(const char *s, char *buf, size_t size)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789._%+/:@,=-";
	size_t n, i, o = 0, len;

	if (!s)
		s = "(null)";
	len = strlen(s);
	if (len > 0 && len <= 64 && strspn(s, plain) == len) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
	if (size < 16) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	n = len > 64 ? 64 : len;
	buf[o++] = '"';
	for (i = 0; i < n && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else if (c >= 0x80) {
			size_t u = utf8_len((const unsigned char *)s + i), j;

			if (!u || i + u > n) { /* not UTF-8, or cut by the 64-byte bound */
				o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
				continue;
			}
			for (j = 0; j < u; j++)
				buf[o++] = s[i + j];
			i += u - 1;
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	if (i < len && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

const char *jr_check_relpath(const char *s, int is_file)
{
	size_t len, i;
	const char *p;

	if (!s || !*s)
		return "is empty";
	len = strlen(s);
	if (len > JR_REQ_MAX_PATH)
		return "is longer than 4095 bytes";
	if (s[0] == '/')
		return "must be a path inside /job, relative to it (no leading '/')";
	if (has_control(s))
		return "has a control character";
	for (p = s; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "must not have a '..' component";
		if (n > JR_REQ_MAX_NAME)
			return "has a component longer than 255 bytes";
		p += n;
		while (*p == '/')
			p++;
	}
	if (is_file) {
		i = len;
		if (s[i - 1] == '/' || (s[i - 1] == '.' && (i == 1 || s[i - 2] == '/')))
			return "must name a file (it ends in '/' or '.')";
	}
	return NULL;
}

const char *jr_check_env(const char *s)
{
	const char *eq;
	size_t i, n;

	if (!s)
		return "is empty";
	eq = strchr(s, '=');
	if (!eq)
		return "must be NAME=VALUE";
	n = (size_t)(eq - s);
	if (n == 0)
		return "must be NAME=VALUE with a NAME";
	if (n > JR_REQ_MAX_NAME)
		return "has a NAME longer than 255 bytes";
	for (i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (i && s[i] >= '0' && s[i] <= '9')))
			return "must be NAME=VALUE with a NAME of letters, digits and '_' "
			       "(not starting with a digit)";
	if (strlen(s) > JR_REQ_MAX_STRING)
		return "is longer than 65536 bytes";
	return NULL;
}

const char *jr_check_profile_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > JR_REQ_MAX_PROFILE ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return "must be a profile name (1 to 64 of A-Z a-z 0-9 . _ -)";
	return NULL;
}

static const char *file_of(const struct jr_jobreq *req)
{
	return req->file ? req->file : "job config";
}

/* "file:line: key = value: why" (line 0: "file: ..."). */
static int bad_value(struct jr_err *err, const struct jr_jobreq *req, int line, const char *key,
		     const char *value, const char *why)
{
	char q[96];

	jr_quote_value(value, q, sizeof(q));
	if (line > 0)
		return jr_err_set(err, 0, "%s:%d: %s = %s: %s", file_of(req), line, key, q, why);
	return jr_err_set(err, 0, "%s: %s = %s: %s", file_of(req), key, q, why);
}

/* "file:line: key entry value: why", for one element of a list. */
static int bad_entry(struct jr_err *err, const struct jr_jobreq *req, int line, const char *key,
		     const char *value, const char *why)
{
	char q[96];

	jr_quote_value(value, q, sizeof(q));
	if (line > 0)
		return jr_err_set(err, 0, "%s:%d: %s entry %s: %s", file_of(req), line, key, q, why);
	return jr_err_set(err, 0, "%s: %s entry %s: %s", file_of(req), key, q, why);
}

static int bad_key(struct jr_err *err, const struct jr_jobreq *req, int line, const char *key,
		   const char *why)
{
	if (line > 0)
		return jr_err_set(err, 0, "%s:%d: %s: %s", file_of(req), line, key, why);
	return jr_err_set(err, 0, "%s: %s: %s", file_of(req), key, why);
}

/* Every string of req is UTF-8 (it travels as JSON). */
static int check_utf8(const struct jr_jobreq *req, struct jr_err *err)
{
	const struct jr_req_value *v[5 + JR_L_N] = { &req->profile, &req->shell, &req->stdin_file,
						       &req->workdir, &req->report };
	const char *names[5 + JR_L_N] = { "profile", "shell", "stdin", "workdir", "report" };
	const struct jr_strv *l[3] = { &req->argv, &req->env, &req->outputs };
	const char *const lnames[3] = { "command", "env", "outputs" };
	const int llines[3] = { req->argv_line, req->env_line, req->outputs_line };
	size_t i, j;
	int k;

	for (k = 0; k < JR_L_N; k++) {
		v[5 + k] = &req->limits[k];
		names[5 + k] = jr_limit_defs[k].name;
	}
	for (i = 0; i < 5 + JR_L_N; i++)
		if (v[i]->value && !jr_is_utf8(v[i]->value))
			return bad_value(err, req, v[i]->line, names[i], v[i]->value,
					 "is not valid UTF-8");
	for (i = 0; i < 3; i++)
		for (j = 0; j < l[i]->n; j++)
			if (l[i]->v[j] && !jr_is_utf8(l[i]->v[j]))
				return bad_entry(err, req, llines[i], lnames[i], l[i]->v[j],
						 "is not valid UTF-8");
	return 0;
}

int jr_jobreq_check(const struct jr_jobreq *req, struct jr_err *err)
{
	const char *why;
	size_t i;
	int k;

	if (req->file && (strlen(req->file) > JR_REQ_MAX_PATH || has_control(req->file) ||
			  !jr_is_utf8(req->file)))
		return jr_err_set(err, 0, "job request: a file name with control characters, not "
					  "UTF-8, or longer than 4095 bytes");
	if (check_utf8(req, err) < 0)
		return -EINVAL;
	if (req->profile.value && (why = jr_check_profile_name(req->profile.value)))
		return bad_value(err, req, req->profile.line, "profile", req->profile.value, why);
	if (req->argv.n > JR_REQ_MAX_ARGS)
		return bad_key(err, req, req->argv_line, "command", "more than 4096 arguments");
	if (req->argv.n && (!req->argv.v || !req->argv.v[0] || !req->argv.v[0][0]))
		return bad_key(err, req, req->argv_line, "command", "the program name is empty");
	for (i = 0; i < req->argv.n; i++)
		if (!req->argv.v[i] || strlen(req->argv.v[i]) > JR_REQ_MAX_STRING)
			return bad_key(err, req, req->argv_line, "command",
				       "an argument longer than 65536 bytes");
	if (req->shell.value) {
		if (!req->shell.value[0])
			return bad_key(err, req, req->shell.line, "shell", "is empty");
		if (strlen(req->shell.value) > JR_REQ_MAX_STRING)
			return bad_key(err, req, req->shell.line, "shell", "longer than 65536 bytes");
		if (req->argv.n) {
			char why2[96];

			if (req->argv_line > 0)
				snprintf(why2, sizeof(why2),
					 "command is given too (line %d): give one of them",
					 req->argv_line);
			else
				snprintf(why2, sizeof(why2), "command is given too: give one of them");
			return bad_key(err, req, req->shell.line, "shell", why2);
		}
	}
	if (req->env.n > JR_REQ_MAX_ENV)
		return bad_key(err, req, req->env_line, "env", "more than 1024 entries");
	for (i = 0; i < req->env.n; i++)
		if ((why = jr_check_env(req->env.v[i])))
			return bad_entry(err, req, req->env_line, "env", req->env.v[i], why);
	if (req->stdin_file.value && (why = jr_check_relpath(req->stdin_file.value, 1)))
		return bad_value(err, req, req->stdin_file.line, "stdin", req->stdin_file.value, why);
	if (req->workdir.value && (why = jr_check_relpath(req->workdir.value, 0)))
		return bad_value(err, req, req->workdir.line, "workdir", req->workdir.value, why);
	if (req->report.value && (why = jr_check_profile_name(req->report.value)))
		return bad_value(err, req, req->report.line, "report", req->report.value, why);
	if (req->outputs.n > JR_REQ_MAX_OUTPUTS)
		return bad_key(err, req, req->outputs_line, "outputs", "more than 256 files");
	for (i = 0; i < req->outputs.n; i++)
		if ((why = jr_check_relpath(req->outputs.v[i], 1)))
			return bad_entry(err, req, req->outputs_line, "outputs", req->outputs.v[i],
					 why);
	for (k = 0; k < JR_L_N; k++) {
		const struct jr_req_value *v = &req->limits[k];

		if (!v->value)
			continue;
		if (!v->value[0])
			return bad_value(err, req, v->line, jr_limit_defs[k].name, v->value, "is empty");
		if (strlen(v->value) > JR_REQ_MAX_LIMIT)
			return bad_value(err, req, v->line, jr_limit_defs[k].name, v->value,
					 "is longer than 64 bytes");
		if (has_control(v->value))
			return bad_value(err, req, v->line, jr_limit_defs[k].name, v->value,
					 "has a control character");
	}
	return 0;
}

/* ---- JSON -------------------------------------------------------------------------------- */

static int put_value(json_t *o, const char *key, const struct jr_req_value *v)
{
	json_t *x;

	if (!v->value)
		return 0;
	x = json_pack("{s:s, s:i}", "value", v->value, "line", v->line);
	return x ? json_object_set_new(o, key, x) : -1;
}

static int put_list(json_t *o, const char *key, const struct jr_strv *sv, int line)
{
	json_t *a, *x;
	size_t i;

	if (!sv->n)
		return 0;
	a = json_array();
	if (!a)
		return -1;
	for (i = 0; i < sv->n; i++)
		if (json_array_append_new(a, json_string(sv->v[i])) < 0) {
			json_decref(a);
			return -1;
		}
	x = json_pack("{s:o, s:i}", "value", a, "line", line);
	return x ? json_object_set_new(o, key, x) : -1;
}

json_t *jr_jobreq_to_json(const struct jr_jobreq *req)
{
	json_t *o = json_object(), *lim = NULL;
	int k, r = 0;

	if (!o)
		return NULL;
	if (req->file)
		r |= json_object_set_new(o, "file", json_string(req->file));
	r |= put_value(o, "profile", &req->profile);
	r |= put_list(o, "command", &req->argv, req->argv_line);
	r |= put_value(o, "shell", &req->shell);
	r |= put_list(o, "env", &req->env, req->env_line);
	r |= put_value(o, "stdin", &req->stdin_file);
	r |= put_list(o, "outputs", &req->outputs, req->outputs_line);
	r |= put_value(o, "workdir", &req->workdir);
	r |= put_value(o, "report", &req->report);
	for (k = 0; k < JR_L_N && !r; k++) {
		if (!req->limits[k].value)
			continue;
		if (!lim) {
			lim = json_object();
			if (!lim || json_object_set_new(o, "limits", lim) < 0) {
				r = -1;
				break;
			}
		}
		r |= put_value(lim, jr_limit_defs[k].name, &req->limits[k]);
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A string of at most max bytes with no NUL. */
static int json_str(const json_t *v, size_t max, const char **out)
{
	const char *s;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (!s || json_string_length(v) != strlen(s) || json_string_length(v) > max)
		return -1;
	*out = s;
	return 0;
}

/* {"value": <string or array of strings>, "line": <int>}, nothing else. */
static int json_entry(const json_t *o, const char *key, int is_list, size_t max_items,
		      const json_t **value, int *line, struct jr_err *err)
{
	const json_t *l;
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return jr_err_set(err, 0, "job request: %s is not an object", key);
	json_object_foreach((json_t *)o, k, v) {
		if (strcmp(k, "value") && strcmp(k, "line"))
			return jr_err_set(err, 0, "job request: %s: unknown member", key);
	}
	*value = json_object_get(o, "value");
	l = json_object_get(o, "line");
	if (!*value || !l)
		return jr_err_set(err, 0, "job request: %s needs a value and a line", key);
	if (!json_is_integer(l) || json_integer_value(l) < 0 || json_integer_value(l) > INT_MAX)
		return jr_err_set(err, 0, "job request: %s: line is not a line number", key);
	*line = (int)json_integer_value(l);
	if (is_list) {
		if (!json_is_array(*value))
			return jr_err_set(err, 0, "job request: %s: value is not a list", key);
		if (json_array_size(*value) > max_items)
			return jr_err_set(err, 0, "job request: %s: more than %zu values", key,
					  max_items);
	} else if (!json_is_string(*value)) {
		return jr_err_set(err, 0, "job request: %s: value is not a string", key);
	}
	return 0;
}

static int get_value(const json_t *o, const char *key, size_t max, struct jr_req_value *out,
		     struct jr_err *err)
{
	const json_t *v;
	const char *s;
	int line, r;

	r = json_entry(o, key, 0, 0, &v, &line, err);
	if (r < 0)
		return r;
	if (json_str(v, max, &s) < 0)
		return jr_err_set(err, 0, "job request: %s: a NUL byte, or longer than %zu bytes",
				  key, max);
	out->value = strdup(s);
	out->line = line;
	return out->value ? 0 : jr_err_set(err, ENOMEM, "job request");
}

static int get_list(const json_t *o, const char *key, size_t max_items, size_t max,
		    struct jr_strv *out, int *out_line, struct jr_err *err)
{
	const json_t *v;
	size_t i;
	int line, r;

	r = json_entry(o, key, 1, max_items, &v, &line, err);
	if (r < 0)
		return r;
	if (json_array_size(v) == 0) /* as in a job config: an empty list is left out */
		return jr_err_set(err, 0, "job request: %s is empty", key);
	for (i = 0; i < json_array_size(v); i++) {
		const char *s;

		if (json_str(json_array_get(v, i), max, &s) < 0)
			return jr_err_set(err, 0, "job request: %s: value %zu is not a string "
						  "(or has a NUL byte, or is longer than %zu bytes)",
					  key, i, max);
		if (jr_strv_push(out, s) < 0)
			return jr_err_set(err, ENOMEM, "job request");
	}
	*out_line = line;
	return 0;
}

static int from_object(const json_t *root, struct jr_jobreq *req, struct jr_err *err)
{
	const char *key;
	json_t *v;
	int r = 0;

	if (!json_is_object(root))
		return jr_err_set(err, 0, "job request: not a JSON object");
	json_object_foreach((json_t *)root, key, v) {
		if (!strcmp(key, "file")) {
			const char *s;

			if (json_str(v, JR_REQ_MAX_PATH, &s) < 0)
				return jr_err_set(err, 0, "job request: file is not a file name");
			req->file = strdup(s);
			if (!req->file)
				return jr_err_set(err, ENOMEM, "job request");
		} else if (!strcmp(key, "profile")) {
			r = get_value(v, key, JR_REQ_MAX_PROFILE, &req->profile, err);
		} else if (!strcmp(key, "shell")) {
			r = get_value(v, key, JR_REQ_MAX_STRING, &req->shell, err);
		} else if (!strcmp(key, "stdin")) {
			r = get_value(v, key, JR_REQ_MAX_PATH, &req->stdin_file, err);
		} else if (!strcmp(key, "workdir")) {
			r = get_value(v, key, JR_REQ_MAX_PATH, &req->workdir, err);
		} else if (!strcmp(key, "report")) {
			r = get_value(v, key, JR_REQ_MAX_PROFILE, &req->report, err);
		} else if (!strcmp(key, "command")) {
			r = get_list(v, key, JR_REQ_MAX_ARGS, JR_REQ_MAX_STRING, &req->argv,
				     &req->argv_line, err);
		} else if (!strcmp(key, "env")) {
			r = get_list(v, key, JR_REQ_MAX_ENV, JR_REQ_MAX_STRING, &req->env,
				     &req->env_line, err);
		} else if (!strcmp(key, "outputs")) {
			r = get_list(v, key, JR_REQ_MAX_OUTPUTS, JR_REQ_MAX_PATH, &req->outputs,
				     &req->outputs_line, err);
		} else if (!strcmp(key, "limits")) {
			const char *lk;
			json_t *lv;

			if (!json_is_object(v))
				return jr_err_set(err, 0, "job request: limits is not an object");
			json_object_foreach(v, lk, lv) {
				int k = jr_limit_key(lk);

				if (k < 0)
					return jr_err_set(err, 0, "job request: unknown limit");
				r = get_value(lv, jr_limit_defs[k].name, JR_REQ_MAX_LIMIT, &req->limits[k],
					      err);
				if (r < 0)
					return r;
			}
		} else {
			return jr_err_set(err, 0, "job request: unknown key");
		}
		if (r < 0)
			return r;
	}
	if (!req->file)
		return jr_err_set(err, 0, "job request: no file");
	return jr_jobreq_check(req, err);
}

int jr_jobreq_from_json(const char *text, struct jr_jobreq *req, struct jr_err *err)
{
	json_error_t je;
	json_t *root;
	size_t len;
	int r;

	jr_jobreq_init(req);
	if (!text)
		return jr_err_set(err, 0, "job request: none");
	len = strnlen(text, (size_t)JR_JOBREQ_JSON_MAX + 1);
	if (len > JR_JOBREQ_JSON_MAX)
		return jr_err_set(err, 0, "job request: more than %d bytes", JR_JOBREQ_JSON_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		jr_sanitize_message(je.text); /* it may quote the input */
		return jr_err_set(err, 0, "job request: bad JSON at line %d, column %d: %.200s",
				  je.line, je.column, je.text);
	}
	r = from_object(root, req, err);
	json_decref(root);
	if (r < 0)
		jr_jobreq_free(req);
	return r;
}
