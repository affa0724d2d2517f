/* jobconf.c - the job config (job.conf), an untrusted file, read with libconfuse through
 * cfgparse.c: no variable expansion, no include, a line for every value, every key once.
 *
 * Every value is a string (CFG_STR), so that "010" stays "010" for jobrun's own unit parser
 * (libconfuse reads integers in base 0); unquoted simple values (pids = 64, memory = 1.5G)
 * are strings to libconfuse as well. */
#define _GNU_SOURCE
#include "jobreq.h"
#include "cfgparse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STR(name) CFG_STR_CB(name, NULL, CFGF_NODEFAULT, jr_cfgp_value_cb)
#define LIST(name) CFG_STR_LIST_CB(name, NULL, CFGF_NODEFAULT, jr_cfgp_value_cb)
/* CFG_SEC with a validation callback (libconfuse has no such initializer) */
#define SEC_CB(name, opts, flags, cb) \
	{ name, 0, CFGT_SEC, 0, 0, flags, opts, { 0, 0, cfg_false, 0, 0 }, 0, { 0 }, 0, cb, 0, 0, 0 }

static cfg_opt_t limit_opts[JR_L_N + 1]; /* jr_cfgp_limit_opts: from jr_limit_defs */

static cfg_opt_t job_opts[] = {
	STR("profile"),
	LIST("command"),
	STR("shell"),
	LIST("env"),
	STR("stdin"),
	LIST("outputs"),
	STR("workdir"),
	STR("report"),
	SEC_CB("limits", limit_opts, CFGF_NODEFAULT, jr_cfgp_section_cb),
	CFG_END(),
};

struct jobconf_ctx {
	const char *file;
};

static int fail_value(struct jr_cfgp *p, int line, const char *key, const char *value,
		      const char *why, int entry)
{
	char q[96];

	jr_quote_value(value, q, sizeof(q));
	if (entry)
		return jr_cfgp_fail(p, line, "%s entry %s: %s", key, q, why);
	return jr_cfgp_fail(p, line, "%s = %s: %s", key, q, why);
}

/* Each value as it is read, with its own line (a list's entries may span lines). */
static int check_value(struct jr_cfgp *p, cfg_t *sec, cfg_opt_t *opt, const char *value,
		       int line)
{
	const char *key = opt->name, *why = NULL;
	unsigned n = opt->nvalues; /* this value included */

	if (!jr_is_utf8(value)) /* the request travels as JSON */
		return fail_value(p, line, key, value, "is not valid UTF-8",
				  opt->flags & CFGF_LIST ? 1 : 0);

	if (strcmp(cfg_name(sec), "root")) { /* limits */
		if (!value[0])
			why = "is empty";
		else if (strlen(value) > JR_REQ_MAX_LIMIT)
			why = "is longer than 64 bytes";
		return why ? fail_value(p, line, key, value, why, 0) : 0;
	}
	if (!strcmp(key, "profile") || !strcmp(key, "report")) {
		why = jr_check_profile_name(value);
	} else if (!strcmp(key, "command")) {
		if (n > JR_REQ_MAX_ARGS)
			return jr_cfgp_fail(p, line, "command: more than %d arguments",
					    JR_REQ_MAX_ARGS);
		if (n == 1 && !value[0])
			return jr_cfgp_fail(p, line, "command: the program name is empty");
		return 0;
	} else if (!strcmp(key, "shell")) {
		if (!value[0])
			return jr_cfgp_fail(p, line, "shell is empty");
		return 0;
	} else if (!strcmp(key, "env")) {
		if (n > JR_REQ_MAX_ENV)
			return jr_cfgp_fail(p, line, "env: more than %d entries", JR_REQ_MAX_ENV);
		why = jr_check_env(value);
		return why ? fail_value(p, line, key, value, why, 1) : 0;
	} else if (!strcmp(key, "outputs")) {
		if (n > JR_REQ_MAX_OUTPUTS)
			return jr_cfgp_fail(p, line, "outputs: more than %d files",
					    JR_REQ_MAX_OUTPUTS);
		why = jr_check_relpath(value, 1);
		return why ? fail_value(p, line, key, value, why, 1) : 0;
	} else if (!strcmp(key, "stdin")) {
		why = jr_check_relpath(value, 1);
	} else if (!strcmp(key, "workdir")) {
		why = jr_check_relpath(value, 0);
	}
	return why ? fail_value(p, line, key, value, why, 0) : 0;
}

static int copy_value(struct jr_cfgp *p, cfg_t *sec, const char *key, struct jr_req_value *out)
{
	const char *s = cfg_getstr(sec, key);

	if (!s)
		return 0;
	out->value = strdup(s);
	out->line = jr_cfgp_line(p, sec, key);
	return out->value ? 0 : -ENOMEM;
}

static int copy_list(struct jr_cfgp *p, cfg_t *sec, const char *key, struct jr_strv *out,
		     int *line)
{
	unsigned i, n = cfg_size(sec, key);

	for (i = 0; i < n; i++) {
		const char *s = cfg_getnstr(sec, key, i);

		if (!s || jr_strv_push(out, s) < 0)
			return -ENOMEM;
	}
	*line = n ? jr_cfgp_line(p, sec, key) : 0;
	return 0;
}

static int extract(struct jr_cfgp *p, cfg_t *cfg, struct jr_jobreq *req)
{
	cfg_t *lim;
	int r = 0, k;

	r |= copy_value(p, cfg, "profile", &req->profile);
	r |= copy_list(p, cfg, "command", &req->argv, &req->argv_line);
	r |= copy_value(p, cfg, "shell", &req->shell);
	r |= copy_list(p, cfg, "env", &req->env, &req->env_line);
	r |= copy_value(p, cfg, "stdin", &req->stdin_file);
	r |= copy_list(p, cfg, "outputs", &req->outputs, &req->outputs_line);
	r |= copy_value(p, cfg, "workdir", &req->workdir);
	r |= copy_value(p, cfg, "report", &req->report);
	lim = cfg_size(cfg, "limits") ? cfg_getsec(cfg, "limits") : NULL;
	for (k = 0; lim && k < JR_L_N; k++)
		r |= copy_value(p, lim, jr_limit_name((enum jr_limit_key)k), &req->limits[k]);
	return r ? -ENOMEM : 0;
}

int jr_jobconf_parse(const char *text, size_t len, const char *file, struct jr_jobreq *req,
		     struct jr_err *err)
{
	struct jobconf_ctx ctx = { .file = file ? file : "job.conf" };
	struct jr_cfgp p;
	cfg_t *cfg;
	int r;

	jr_jobreq_init(req);
	memset(&p, 0, sizeof(p));
	p.file = ctx.file;
	p.err = err;
	p.check = check_value;
	p.data = &ctx;
	p.max_list = JR_REQ_MAX_ARGS;
	jr_cfgp_limit_opts(limit_opts);
	cfg = cfg_init(job_opts, CFGF_NONE);
	if (!cfg)
		return jr_err_set(err, ENOMEM, "%s", ctx.file);
	r = jr_cfgp_parse(&p, cfg, text, len, JR_JOBCONF_MAX_BYTES);
	if (r == 0) {
		req->file = strdup(ctx.file);
		r = req->file ? extract(&p, cfg, req) : -ENOMEM;
		if (r < 0)
			jr_err_set(err, ENOMEM, "%s", ctx.file);
	}
	cfg_free(cfg);
	jr_cfgp_free(&p);
	if (r == 0)
		r = jr_jobreq_check(req, err);
	if (r < 0)
		jr_jobreq_free(req);
	return r;
}
