/* result.c - the verdict rule and the JSON result. jansson is included here only. */
#define _GNU_SOURCE
#include "result.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *jr_verdict_name(enum jr_verdict v)
{
	switch (v) {
	case JR_OK: return "OK";
	case JR_RE: return "RE";
	case JR_SG: return "SG";
	case JR_OL: return "OL";
	case JR_ML: return "ML";
	case JR_TO: return "TO";
	case JR_RJ: return "RJ";
	case JR_XX: return "XX";
	}
	return "XX";
}

static void set_message(struct jr_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_message(struct jr_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void jr_result_decide(struct jr_result *r, const struct jr_outcome *o)
{
	r->exited = false;
	r->exit_code = 0;
	r->signal = 0;
	r->limit = NULL;
	if (o->have_status && WIFEXITED(o->wstatus)) {
		r->exited = true;
		r->exit_code = WEXITSTATUS(o->wstatus);
	} else if (o->have_status && WIFSIGNALED(o->wstatus)) {
		r->signal = WTERMSIG(o->wstatus);
	}

	if (o->internal_error) {
		r->verdict = JR_XX;
		set_message(r, "%s", o->message);
	} else if (o->rejected) {
		r->verdict = JR_RJ;
		set_message(r, "%s", o->message);
	} else if (o->exec_failed) {
		r->verdict = JR_RJ; /* the command never ran: no exit code of its own */
		r->exited = false;
		r->exit_code = 0;
		set_message(r, "%s", o->message);
	} else if (o->timed_out_wall) {
		r->verdict = JR_TO;
		r->limit = "wall";
		set_message(r, "wall-clock limit exceeded");
	} else if (o->timed_out_cpu) {
		r->verdict = JR_TO;
		r->limit = "cpu";
		set_message(r, "CPU-time limit exceeded");
	} else if (o->oom_own) {
		r->verdict = JR_ML;
		r->limit = "memory";
		set_message(r, "memory limit exceeded: the kernel killed %llu process%s of the job",
			    (unsigned long long)r->usage.oom_kill, r->usage.oom_kill == 1 ? "" : "es");
	} else if (o->oom_host) {
		r->verdict = JR_XX;
		set_message(r, "a process of the job was killed by a host-wide OOM, not by the "
			    "job's memory limit");
	} else if (!o->have_status) {
		r->verdict = JR_XX;
		set_message(r, "the job ended without a status from jobrun-init");
	} else if (r->out.truncated || r->err.truncated) {
		r->verdict = JR_OL;
		r->limit = "output";
		set_message(r, "output limit exceeded on %s",
			    r->out.truncated ? (r->err.truncated ? "stdout and stderr" : "stdout")
					     : "stderr");
	} else if (r->signal) {
		r->verdict = JR_SG;
		set_message(r, "killed by signal %d (%s)", r->signal, sigabbrev_np(r->signal) ?
			    sigabbrev_np(r->signal) : "?");
	} else if (r->exit_code) {
		r->verdict = JR_RE;
		set_message(r, "exited with status %d", r->exit_code);
	} else {
		r->verdict = JR_OK;
		r->message[0] = '\0';
	}
}

void jr_oom_classify(const struct jr_usage *u, uint64_t memory_limit, bool *own, bool *host)
{
	bool limit_hit;

	*own = *host = false;
	if (!u->have_oom_kill || u->oom_kill == 0)
		return;
	if (u->have_oom)
		limit_hit = u->oom > 0; /* v2: the job's own limit invoked the OOM killer */
	else if (!memory_limit)
		limit_hit = false;      /* no limit of its own: the kill came from above */
	else	/* v1 has no such counter (and failcnt stays 0 on 6.x): the peak reached it */
		limit_hit = (u->have_failcnt && u->failcnt > 0) ||
			    !u->have_mem_peak || u->mem_peak + 65536 >= memory_limit;
	*own = limit_hit;
	*host = !limit_hit;
}

int jr_result_exit_status(const struct jr_result *r)
{
	switch (r->verdict) {
	case JR_OK: return 0;
	case JR_XX: return 2;
	case JR_RE:
	case JR_SG:
	case JR_OL:
	case JR_ML:
	case JR_TO:
	case JR_RJ: return 1;
	}
	return 2;
}

static json_t *timestamp(const struct timespec *ts)
{
	char buf[64];
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000);
	return json_string(buf);
}

static json_t *stream_json(const struct jr_stream *s)
{
	return json_pack("{s:I, s:I, s:b, s:I}", "bytes", (json_int_t)s->bytes, "limit",
			 (json_int_t)s->limit, "truncated", s->truncated, "undelivered_bytes",
			 (json_int_t)s->undelivered);
}

static json_t *limit_or_null(uint64_t v)
{
	return (v == 0 || v == JR_UNLIMITED) ? json_null() : json_integer((json_int_t)v);
}

/* A JSON string from text that may not be UTF-8 (a path, argv[0] in a message, a message cut
 * short by snprintf): each byte that does not start a valid sequence becomes U+FFFD, so there
 * is always a result. */
static json_t *text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *j = json_string(s);
	char *buf, *o;

	if (j)
		return j;
	buf = malloc(3 * strlen(s) + 1);
	if (!buf)
		return NULL;
	for (o = buf; *p;) {
		unsigned char c = p[0];
		size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
			 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		size_t i;

		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		/* overlong, surrogate and beyond-U+10FFFF forms */
		if ((n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))) ||
		    (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))))
			n = 0;
		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		}
	}
	*o = '\0';
	j = json_string(buf);
	free(buf);
	return j;
}

static json_t *seconds_or_null(uint64_t usec)
{
	return usec ? json_real((double)usec / 1e6) : json_null();
}

static json_t *opt_u64(bool have, uint64_t v)
{
	return have ? json_integer((json_int_t)v) : json_null();
}

static json_t *limits_json(const struct jr_spec *spec)
{
	const struct jr_cg_limits *l = &spec->cg;

	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:o, s:o, s:o, s:o}",
			 "wall_seconds", seconds_or_null(spec->wall_usec),
			 "cpu_seconds", seconds_or_null(spec->cpu_time_usec),
			 "output_bytes", (json_int_t)spec->output_limit,
			 "disk_bytes", (json_int_t)spec->disk_bytes,
			 "open_files", (json_int_t)spec->open_files,
			 "stack_bytes", limit_or_null(spec->stack_bytes),
			 "file_size_bytes", spec->file_size == JR_UNLIMITED
						    ? json_null()
						    : json_integer((json_int_t)spec->file_size),
			 "memory_bytes", limit_or_null(l->memory),
			 "swap_bytes", l->memory ? (l->swap == JR_UNLIMITED ? json_null()
								   : json_integer((json_int_t)l->swap))
						 : json_null(),
			 "cpus", l->cpus_milli ? json_real((double)l->cpus_milli / 1000) : json_null(),
			 "cpu_weight", limit_or_null(l->cpu_weight),
			 "cpuset", l->cpuset ? json_string(l->cpuset) : json_null(),
			 "pids", limit_or_null(l->pids),
			 "io_read_bps", limit_or_null(l->io_rbps),
			 "io_write_bps", limit_or_null(l->io_wbps),
			 "io_read_iops", limit_or_null(l->io_riops),
			 "io_write_iops", limit_or_null(l->io_wiops),
			 "scratch", spec->scratch ? text(spec->scratch) : json_null());
}

/* Usage from the job's cgroup: exact totals; absent counters are null, never guessed. */
static json_t *usage_json(const struct jr_result *r, const struct jr_spec *spec)
{
	const struct jr_usage *u = &r->usage;

	return json_pack("{s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o}, "
			 "s:{s:o, s:o, s:o, s:o}}",
			 "cpu",
			 "seconds", u->have_cpu ? json_real((double)u->cpu_usec / 1e6) : json_null(),
			 "user_seconds", u->have_cpu_split ? json_real((double)u->user_usec / 1e6)
							   : json_null(),
			 "system_seconds", u->have_cpu_split ? json_real((double)u->sys_usec / 1e6)
							     : json_null(),
			 "memory",
			 "peak_bytes", opt_u64(u->have_mem_peak, u->mem_peak),
			 "limit_bytes", limit_or_null(spec->cg.memory),
			 "oom", opt_u64(u->have_oom, u->oom),
			 "oom_kill", opt_u64(u->have_oom_kill, u->oom_kill),
			 "limit_hits", opt_u64(u->have_failcnt, u->failcnt),
			 "pids",
			 "peak", opt_u64(u->have_pids_peak, u->pids_peak),
			 "limit", limit_or_null(spec->cg.pids),
			 "forks_refused", opt_u64(u->have_forks_refused, u->forks_refused),
			 "io",
			 "read_bytes", opt_u64(u->have_io, u->io_rbytes),
			 "write_bytes", opt_u64(u->have_io, u->io_wbytes),
			 "read_ops", opt_u64(u->have_io, u->io_rios),
			 "write_ops", opt_u64(u->have_io, u->io_wios));
}

static json_t *cgroup_version_json(int v)
{
	return v == 3 ? json_string("mixed") : v ? json_integer(v) : json_null();
}

static json_t *isolation_json(const struct jr_result *r, const struct jr_spec *spec)
{
	return json_pack("{s:[ssssss], s:I, s:I, s:o, s:b, s:b, s:b, s:s, s:o}",
			 "namespaces", "pid", "net", "uts", "ipc", "mnt", "cgroup",
			 "uid", (json_int_t)r->uid, "gid", (json_int_t)r->gid,
			 "hostname", text(spec->hostname),
			 "seccomp", 1, "no_new_privs", 1, "capabilities", 0,
			 "network", "loopback",
			 "workdir", text(spec->workdir ? spec->workdir : "tmpfs"));
}

/* A tarball job: what was unpacked, the profile, and the outputs collected. */
static int add_job_files(json_t *o, const struct jr_result *r, const struct jr_spec *spec)
{
	json_t *outs = json_array();
	size_t i;

	if (!outs)
		return -1;
	for (i = 0; r->outputs && i < r->outputs->n; i++) {
		const struct jr_output *x = &r->outputs->v[i];

		if (json_array_append_new(outs, json_pack("{s:o, s:I, s:b, s:o}",
				"name", text(x->name), "bytes", (json_int_t)x->bytes,
				"truncated", x->truncated,
				"error", x->error ? text(x->error) : json_null())) < 0) {
			json_decref(outs);
			return -1;
		}
	}
	if (json_object_set_new(o, "outputs", outs) < 0 ||
	    json_object_set_new(o, "output_dir", spec->output_dir && r->outputs && r->outputs->n ?
				text(spec->output_dir) : json_null()) < 0 ||
	    json_object_set_new(o, "profile", spec->profile ? text(spec->profile) : json_null()) < 0)
		return -1;
	if (json_object_set_new(o, "submitter", r->submitter ?
				json_pack("{s:I, s:I, s:I}", "uid", (json_int_t)r->submitter->uid,
					  "gid", (json_int_t)r->submitter->gid,
					  "pid", (json_int_t)r->submitter->pid) : json_null()) < 0)
		return -1;
	if (r->unpacked && r->unpacked->done)
		return json_object_set_new(o, "archive", json_pack("{s:I, s:I, s:I, s:f, s:f}",
				"entries", (json_int_t)r->unpacked->entries,
				"bytes", (json_int_t)r->unpacked->bytes,
				"stripped_setid", (json_int_t)r->unpacked->stripped_setid,
				"unpack_cpu_seconds", (double)r->unpacked->cpu_usec / 1e6,
				"unpack_wall_seconds", (double)r->unpacked->wall_usec / 1e6));
	return json_object_set_new(o, "archive", json_null());
}

static json_t *rusage_json(const struct jr_rusage *ru)
{
	if (!ru->have)
		return json_null();
	return json_pack("{s:f, s:f, s:I, s:I, s:I}",
			 "user_seconds", (double)ru->user_usec / 1e6,
			 "system_seconds", (double)ru->sys_usec / 1e6,
			 "max_rss_bytes", (json_int_t)(ru->max_rss_kib * 1024),
			 "voluntary_context_switches", (json_int_t)ru->nvcsw,
			 "involuntary_context_switches", (json_int_t)ru->nivcsw);
}

/* The result as a JSON object (docs/result.md, docs/result.schema.json), or NULL. */
static json_t *result_object(const struct jr_result *r, const struct jr_spec *spec)
{
	char host[256] = "";
	json_t *o, *usage;

	gethostname(host, sizeof(host) - 1);
	o = json_pack("{s:i, s:o, s:s, s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:o, s:o, s:o, s:o, "
		      "s:o}",
		      "version", JR_RESULT_VERSION,
		      "id", text(spec->id ? spec->id : ""),
		      "verdict", jr_verdict_name(r->verdict),
		      "message", text(r->message),
		      "exit_code", r->exited ? json_integer(r->exit_code) : json_null(),
		      "signal", r->signal ? json_integer(r->signal) : json_null(),
		      "limit", r->limit ? json_string(r->limit) : json_null(),
		      "wall_seconds", (double)r->wall_usec / 1e6,
		      "start_time", timestamp(&r->start),
		      "end_time", timestamp(&r->end),
		      "stdout", stream_json(&r->out),
		      "stderr", stream_json(&r->err),
		      "host", text(host),
		      "limits", limits_json(spec),
		      "isolation", isolation_json(r, spec));
	if (!o)
		return NULL;
	usage = usage_json(r, spec);
	if (!usage || json_object_update(o, usage) < 0 ||
	    json_object_set_new(o, "rusage", rusage_json(&r->rusage)) < 0 ||
	    json_object_set_new(o, "cgroup_version", cgroup_version_json(r->cg_version)) < 0) {
		json_decref(usage);
		json_decref(o);
		return NULL;
	}
	json_decref(usage);
	if (add_job_files(o, r, spec) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *jr_result_json(const struct jr_result *r, const struct jr_spec *spec)
{
	json_t *o = result_object(r, spec);
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	json_decref(o);
	return s;
}

/* ---- isolate's meta file ----------------------------------------------------------------
 * Made from the JSON result only (so that a client of `jobrun serve`, which has nothing else,
 * writes the same file): docs/result.md says how each verdict maps onto isolate's keys. */

struct meta_buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void meta_add(struct meta_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void meta_add(struct meta_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap ? b->cap : 256) + (size_t)n + 256;
			char *t = realloc(b->s, cap);

			if (!t) {
				b->failed = true;
				return;
			}
			b->s = t;
			b->cap = cap;
		}
	}
}

/* A number of the result (an integer or a real), or -1 when null or absent. */
static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

static void meta_seconds(struct meta_buf *b, const char *key, double s)
{
	/* isolate's %d.%03d: whole milliseconds, rounded */
	unsigned long long ms = (unsigned long long)(s * 1000 + 0.5);

	meta_add(b, "%s:%llu.%03llu\n", key, ms / 1000, ms % 1000);
}

static char *meta_from_object(json_t *o)
{
	struct meta_buf b = { 0 };
	json_t *cpu = json_object_get(o, "cpu"), *mem = json_object_get(o, "memory");
	json_t *ru = json_object_get(o, "rusage");
	const char *verdict = json_string_value(json_object_get(o, "verdict"));
	const char *msg = json_string_value(json_object_get(o, "message"));
	const char *status = NULL;
	double v, exit_code = num(o, "exit_code"), signal = num(o, "signal");
	bool killed = false;
	const char *p;

	if (!verdict || !json_is_object(cpu) || !json_is_object(mem))
		return NULL;
	/* time: the cgroup's exact CPU time, else what the wait of PID 1 reported */
	v = num(cpu, "seconds");
	if (v < 0 && json_is_object(ru) && num(ru, "user_seconds") >= 0)
		v = num(ru, "user_seconds") + num(ru, "system_seconds");
	if (v >= 0)
		meta_seconds(&b, "time", v);
	if ((v = num(o, "wall_seconds")) >= 0)
		meta_seconds(&b, "time-wall", v);
	if (json_is_object(ru)) {
		meta_add(&b, "max-rss:%.0f\n", num(ru, "max_rss_bytes") / 1024);
		meta_add(&b, "csw-voluntary:%.0f\n", num(ru, "voluntary_context_switches"));
		meta_add(&b, "csw-forced:%.0f\n", num(ru, "involuntary_context_switches"));
	}
	/* a memory cgroup was read: its peak (isolate's cg-mem is the whole group's) */
	if ((v = num(mem, "peak_bytes")) >= 0)
		meta_add(&b, "cg-mem:%.0f\n", v / 1024);
	if (num(mem, "oom_kill") > 0)
		meta_add(&b, "cg-oom-killed:1\n");

	if (!strcmp(verdict, "OK")) {
		status = NULL;
	} else if (!strcmp(verdict, "RE") || !strcmp(verdict, "OL")) {
		status = "RE";
	} else if (!strcmp(verdict, "SG")) {
		status = "SG";
	} else if (!strcmp(verdict, "TO")) {
		status = "TO";
		killed = true;
		exit_code = signal = -1; /* isolate reports neither for a time-out */
	} else if (!strcmp(verdict, "ML")) {
		status = "SG"; /* isolate: an OOM kill is a death by SIGKILL, with cg-oom-killed */
		killed = true;
		if (signal < 0) {
			exit_code = -1;
			signal = SIGKILL;
		}
	} else { /* XX, RJ: isolate's internal error; the command did not run (or not fully) */
		status = "XX";
		exit_code = signal = -1;
	}
	if (exit_code >= 0)
		meta_add(&b, "exitcode:%.0f\n", exit_code);
	else if (signal >= 0)
		meta_add(&b, "exitsig:%.0f\n", signal);
	if (killed)
		meta_add(&b, "killed:1\n");
	if (status) {
		const char *limit = json_string_value(json_object_get(o, "limit"));
		char own[64] = "", execve_msg[600];

		/* the texts isolate writes, which its callers match (CMS tells a wall-clock
		 * time-out by its message); jobrun's own sentence where isolate has none */
		if (!strcmp(verdict, "TO"))
			snprintf(own, sizeof(own), "Time limit exceeded%s",
				 limit && !strcmp(limit, "wall") ? " (wall clock)" : "");
		else if (!strcmp(verdict, "RE") && exit_code >= 0)
			snprintf(own, sizeof(own), "Exited with error status %.0f", exit_code);
		else if ((!strcmp(verdict, "SG") || !strcmp(verdict, "ML")) && signal >= 0)
			snprintf(own, sizeof(own), "Caught fatal signal %.0f", signal);
		/* a command that could not be executed: the text isolate once gave (and Judge0
		 * matches: ^execve\(.+\): No such file or directory$), `execve("NAME"): ERROR` */
		if (!strcmp(verdict, "RJ") && msg && !strncmp(msg, "cannot execute '", 16)) {
			const char *q = strstr(msg + 16, "': ");

			while (q && strstr(q + 1, "': "))
				q = strstr(q + 1, "': ");
			if (q) {
				snprintf(execve_msg, sizeof(execve_msg), "execve(\"%.*s\"): %s",
					 (int)(q - msg - 16), msg + 16, q + 3);
				msg = execve_msg;
			}
		}
		if (own[0])
			msg = own;
		meta_add(&b, "status:%s\n", status);
		meta_add(&b, "message:");
		/* one line: a newline or other control character of the message becomes a space */
		for (p = msg ? msg : ""; *p; p++)
			meta_add(&b, "%c", (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
		meta_add(&b, "\n");
	}
	if (b.failed || !b.s) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

char *jr_result_meta(const struct jr_result *r, const struct jr_spec *spec)
{
	json_t *o = result_object(r, spec);
	char *s;

	if (!o)
		return NULL;
	s = meta_from_object(o);
	json_decref(o);
	return s;
}

char *jr_result_meta_from_json(const char *json)
{
	json_t *o = json_loads(json, 0, NULL);
	char *s = json_is_object(o) ? meta_from_object(o) : NULL;

	json_decref(o);
	return s;
}
