/* serve.c - `jobrun serve`: the resident supervisor. One libuv loop: a UNIX socket that takes
 * line-delimited JSON requests with descriptors (sproto.h, docs/protocol.md), a queue ordered
 * by priority then arrival, N slots, each job driven by the same lifecycle as `jobrun run`
 * (job.h) and admitted by the same code (run.h: jr_admission). Each job's request is kept in
 * the state directory until its result is there (written to a temporary file, fsynced,
 * renamed): after a crash, what was running is reported XX and what can run again runs. */
#define _GNU_SOURCE
#include "serve.h"
#include "callerpath.h"
#include "conf.h"
#include "job.h"
#include "helper.h"
#include "log.h"
#include "outbox.h"
#include "run.h"
#include "sproto.h"
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS        4096
#define MAX_OUT_BYTES    (16u << 20)   /* replies a client has not read: then it is dropped */
#define IDLE_DROP_SEC    300           /* a connection with nothing to wait for, silent */
#define MAX_GROUPS       65536         /* NGROUPS_MAX */

struct sconf {
	struct jr_conf conf;
	unsigned refs;
};

struct conn {
	struct conn *prev, *next;
	uv_poll_t poll;
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *groups;      /* its supplementary groups (SO_PEERGROUPS) */
	size_t ngroups;
	char *in;
	size_t inlen, incap;
	/* descriptors received, each with the offset in `in` of the last byte of the read that
	 * brought it: the kernel ends a read with the message that carries descriptors, so they
	 * belong to the request that byte is part of (one sent before it may share the read) */
	int pend[2 * JR_SERVE_MAX_FDS];
	size_t pend_at[2 * JR_SERVE_MAX_FDS];
	unsigned npend;
	bool pend_overflow;
	char *out;
	size_t outlen, outoff;
	unsigned waits;     /* jobs whose result this connection waits for */
	unsigned inflight;  /* replies that wait for a request to be on disk */
	uint64_t last;      /* uv_now() of the last activity */
	bool eof, closing, want_write;
};

enum sjob_state { SJ_QUEUED, SJ_RUNNING, SJ_WRITING, SJ_DONE };

static const char *const sjob_state_names[] = { "queued", "running", "finishing", "done" };

struct sjob {
	struct sjob *prev, *next;   /* every job the supervisor remembers */
	struct sjob *qnext;         /* the queue */
	char id[JR_SERVE_MAX_ID + 1];
	enum sjob_state state;
	int prio;
	uint64_t seq;
	struct jr_submitter sub;
	struct sconf *conf;
	struct jr_strv args;        /* the client's options ("--memory=256M") */
	struct jr_strv command;
	char *archive_url;          /* the job tarball by URL, fetched by the job (job-fetch.c) */
	struct jr_strv argv;        /* what jr_run_parse_cli reads: args + descriptors + command */
	struct jr_spec spec;
	struct jr_admission ad;
	struct jr_admit admit;
	int fds[JR_SFD_N];
	bool restorable;            /* can run again after a restart (no descriptor but stdio) */
	struct jr_job *job;
	char *result;               /* the result, compact JSON */
	enum jr_verdict verdict;
	int exit_status;
	uint64_t t_submit, t_start, t_end; /* uv_hrtime() */
	struct timespec submitted;
	struct conn **waiters;
	size_t nwait;
	struct conn *ack;           /* a submit without wait: its reply once the request is on disk */
	bool cancelled;
	bool tearing;               /* its jr_job is still being released (job.h: released_cb) */
	unsigned io;                /* its writes in the thread pool: it is not freed meanwhile */
	char *result_text;          /* the result's file content, waiting for the request's write */
	gid_t *groups;              /* the submitter's supplementary groups (kept for a restart) */
	size_t ngroups;
	char *spool_name;           /* a job of the spool directory: its file's name in incoming/ */
};

/* Latency buckets (seconds) of the metrics. */
static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				  2.5, 5, 10, 30, 60, 300 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct histogram {
	uint64_t count[NBUCKETS + 1];
	double sum;
	uint64_t n;
};

static struct server {
	uv_loop_t *loop;
	const char *conf_path;
	struct sconf *conf;
	struct jr_host host;
	char *socket_path;
	char *jobs_dir;             /* <state_dir>/serve */
	int jobs_dirfd;
	int listen_fd;
	uv_poll_t listen_poll;
	bool listening;
	uv_signal_t sigs[4];
	uv_timer_t tick;            /* idle connections */
	uv_timer_t grace;
	struct conn *conns;
	unsigned nconns;
	struct sjob *jobs_head, *jobs_tail;
	struct sjob *queue;
	unsigned queued, busy, writing, tearing, done_kept, slots;
	uint64_t seq;
	bool draining, exit_when_idle, stopping, grace_over;
	/* the spool directory (serve { spool }): incoming/, active/, results/ */
	int spool_in_fd, spool_active_fd, spool_results_fd;
	char *spool_in;
	uv_fs_event_t spool_watch;
	bool spool_watching;
	int exit_status;
	/* metrics */
	uint64_t by_verdict[JR_XX + 1];
	uint64_t submitted, refused;
	struct histogram start_latency, run_time;
	uint64_t t0;
	/* jobrun-report, kept running while jobrun.conf has report targets (outbox.h) */
	uv_process_t reporter;
	bool reporter_running;
	uv_timer_t reporter_restart;
	unsigned reporter_starts;
} S;

static void conn_close(struct conn *c);
static void conn_send(struct conn *c, char *line);
static void dispatch(void);
static void maybe_exit(void);
static void spool_scan(void);
static void recover_requests(void);

/* ---- configuration ------------------------------------------------------------------------ */

static void conf_unref(struct sconf *sc)
{
	if (sc && --sc->refs == 0) {
		jr_conf_free(&sc->conf);
		free(sc);
	}
}

static struct sconf *conf_load(const char *path, struct jr_err *err)
{
	struct sconf *sc = calloc(1, sizeof(*sc));

	if (!sc) {
		jr_err_set(err, ENOMEM, "jobrun.conf");
		return NULL;
	}
	if (jr_conf_load(path, &sc->conf, err) < 0) {
		free(sc);
		return NULL;
	}
	sc->refs = 1;
	return sc;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static struct sjob *job_find(const char *id)
{
	struct sjob *sj;

	for (sj = S.jobs_head; sj; sj = sj->next)
		if (!strcmp(sj->id, id))
			return sj;
	return NULL;
}

static void job_link(struct sjob *sj)
{
	sj->prev = S.jobs_tail;
	sj->next = NULL;
	if (S.jobs_tail)
		S.jobs_tail->next = sj;
	else
		S.jobs_head = sj;
	S.jobs_tail = sj;
}

static void job_unlink(struct sjob *sj)
{
	if (sj->prev)
		sj->prev->next = sj->next;
	else
		S.jobs_head = sj->next;
	if (sj->next)
		sj->next->prev = sj->prev;
	else
		S.jobs_tail = sj->prev;
}

static void close_fds(struct sjob *sj)
{
	int f;

	for (f = 0; f < JR_SFD_N; f++)
		if (sj->fds[f] >= 0) {
			close(sj->fds[f]);
			sj->fds[f] = -1;
		}
}

static void job_free(struct sjob *sj)
{
	close_fds(sj);
	jr_spec_free(&sj->spec);
	jr_admission_free(&sj->ad);
	jr_strv_free(&sj->args);
	jr_strv_free(&sj->command);
	free(sj->archive_url);
	jr_strv_free(&sj->argv);
	conf_unref(sj->conf);
	free(sj->job);
	free(sj->result);
	free(sj->waiters);
	free(sj->spool_name);
	free(sj->result_text);
	free(sj->groups);
	free(sj);
}

static void queue_insert(struct sjob *sj)
{
	struct sjob **p = &S.queue;

	while (*p && ((*p)->prio > sj->prio || ((*p)->prio == sj->prio && (*p)->seq < sj->seq)))
		p = &(*p)->qnext;
	sj->qnext = *p;
	*p = sj;
	S.queued++;
}

static void queue_remove(struct sjob *sj)
{
	struct sjob **p;

	for (p = &S.queue; *p; p = &(*p)->qnext)
		if (*p == sj) {
			*p = sj->qnext;
			sj->qnext = NULL;
			S.queued--;
			return;
		}
}

static unsigned queue_position(const struct sjob *sj)
{
	const struct sjob *q;
	unsigned n = 1;

	for (q = S.queue; q && q != sj; q = q->qnext)
		n++;
	return n;
}

static void hist_add(struct histogram *h, double v)
{
	size_t i;

	for (i = 0; i < NBUCKETS && v > buckets[i]; i++)
		;
	h->count[i]++;
	h->sum += v;
	h->n++;
}

static void random_id(char *id, size_t size)
{
	unsigned char rnd[6] = { 0 };

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		uint64_t t = uv_hrtime() ^ (uint64_t)getpid() << 32;

		memcpy(rnd, &t, sizeof(rnd));
	}
	snprintf(id, size, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		 rnd[5]);
}

/* Is id taken: by a job in memory, or by a request or result in the state directory? */
static bool id_taken(const char *id)
{
	char name[JR_SERVE_MAX_ID + 8];
	struct stat st;

	if (job_find(id))
		return true;
	snprintf(name, sizeof(name), "%s.json", id);
	if (fstatat(S.jobs_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	snprintf(name, sizeof(name), "%s.req", id);
	return fstatat(S.jobs_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- the state directory: requests and results, written off the loop thread ----------------- */

/* Write name in the jobs directory atomically and durably: a temporary file, fsync, rename,
 * fsync of the directory. Runs in the thread pool. */
static int write_durable(int dirfd, const char *name, const char *text, size_t len)
{
	char tmp[JR_SERVE_MAX_ID + 32];
	size_t off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	else
		fsync(dirfd);
	return r;
}

struct fs_work {
	uv_work_t w;
	struct sjob *sj;
	char name[JR_SERVE_MAX_ID + 8];
	char *text;
	size_t len;
	bool remove_req;        /* the result is on disk: the request is done with */
	int r;
	struct jr_err report_err; /* the outbox could not take the result (report_r < 0) */
	int report_r;
};

/* A spool job's result, for its submitter: results/<name>.json, theirs (0600). One of another
 * uid by that name is never replaced: then results/<name>.<id>.json. */
static void spool_result(const struct sjob *sj, const char *text, size_t len)
{
	char name[NAME_MAX + 1], tmp[NAME_MAX + 1], active[NAME_MAX + 1];
	struct stat st;
	size_t off = 0;
	int fd;

	snprintf(name, sizeof(name), "%s.json", sj->spool_name);
	if (fstatat(S.spool_results_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_uid != sj->sub.uid || !S_ISREG(st.st_mode)))
		snprintf(name, sizeof(name), "%s.%s.json", sj->spool_name, sj->id);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", sj->id);
	fd = openat(S.spool_results_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off == len && fchown(fd, sj->sub.uid, sj->sub.gid) == 0 && fsync(fd) == 0 &&
	    renameat(S.spool_results_fd, tmp, S.spool_results_fd, name) == 0)
		fsync(S.spool_results_fd);
	else
		unlinkat(S.spool_results_fd, tmp, 0);
	close(fd);
	snprintf(active, sizeof(active), "%s.%s", sj->id, sj->spool_name);
	unlinkat(S.spool_active_fd, active, 0);
}

static void fs_work_cb(uv_work_t *w)
{
	struct fs_work *fw = w->data;

	fw->r = write_durable(S.jobs_dirfd, fw->name, fw->text, fw->len);
	if (!fw->r && fw->remove_req && fw->sj->spool_name)
		spool_result(fw->sj, fw->text, fw->len);
	/* the result is durable: now the outbox, for the reporter (never before the file) */
	if (!fw->r && fw->remove_req && fw->sj->spec.report)
		fw->report_r = jr_outbox_put(fw->sj->conf->conf.state_dir, fw->sj->spec.report,
					     fw->text, &fw->report_err);
	if (!fw->r && fw->remove_req) {
		char req[JR_SERVE_MAX_ID + 16];

		snprintf(req, sizeof(req), "%s.req", fw->sj->id);
		unlinkat(S.jobs_dirfd, req, 0);
		snprintf(req, sizeof(req), "%s.started", fw->sj->id);
		unlinkat(S.jobs_dirfd, req, 0);
	}
}

static int fs_queue(struct sjob *sj, const char *suffix, char *text, bool remove_req,
		    uv_after_work_cb after)
{
	struct fs_work *fw = calloc(1, sizeof(*fw));

	if (!fw) {
		free(text);
		return -ENOMEM;
	}
	fw->w.data = fw;
	fw->sj = sj;
	sj->io++;
	fw->text = text;
	fw->len = strlen(text);
	fw->remove_req = remove_req;
	snprintf(fw->name, sizeof(fw->name), "%s%s", sj->id, suffix);
	if (uv_queue_work(S.loop, &fw->w, fs_work_cb, after) < 0) {
		sj->io--;
		free(fw->text);
		free(fw);
		return -ENOMEM;
	}
	return 0;
}

static json_t *strv_json(const struct jr_strv *sv)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static char *timestamp(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000);
	return buf;
}

/* The request as it is kept on disk until the job has a result. */
static char *request_record(const struct sjob *sj)
{
	char ts[40], *s, *line = NULL;
	json_t *o;

	o = json_pack("{s:s, s:s, s:{s:I, s:I, s:I}, s:i, s:o, s:o, s:b}", "id", sj->id,
		      "submitted", timestamp(&sj->submitted, ts, sizeof(ts)), "submitter", "uid",
		      (json_int_t)sj->sub.uid, "gid", (json_int_t)sj->sub.gid, "pid",
		      (json_int_t)sj->sub.pid, "priority", sj->prio, "options", strv_json(&sj->args),
		      "command", strv_json(&sj->command), "restorable", sj->restorable);
	if (o && sj->spool_name)
		json_object_set_new(o, "spool", json_string(sj->spool_name));
	if (o && sj->archive_url)
		json_object_set_new(o, "archive_url", json_string(sj->archive_url));
	if (o && sj->spec.profile)
		json_object_set_new(o, "profile", json_string(sj->spec.profile));
	if (o) {
		json_t *g = json_array();
		size_t i;

		for (i = 0; g && i < sj->ngroups; i++)
			json_array_append_new(g, json_integer((json_int_t)sj->groups[i]));
		json_object_set_new(o, "groups", g);
	}
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	free(s);
	return line;
}

/* ---- replies ------------------------------------------------------------------------------- */

static json_t *job_summary(const struct sjob *sj)
{
	char ts[40];
	json_t *o = json_pack("{s:s, s:s, s:i, s:{s:I, s:I, s:I}, s:s}", "id", sj->id, "state",
			      sjob_state_names[sj->state], "priority", sj->prio, "submitter",
			      "uid", (json_int_t)sj->sub.uid, "gid", (json_int_t)sj->sub.gid,
			      "pid", (json_int_t)sj->sub.pid, "submitted",
			      timestamp(&sj->submitted, ts, sizeof(ts)));

	if (!o)
		return NULL;
	json_object_set_new(o, "profile", sj->spec.profile ? json_string(sj->spec.profile)
							   : json_null());
	if (sj->state == SJ_QUEUED)
		json_object_set_new(o, "position", json_integer(queue_position(sj)));
	if (sj->state == SJ_DONE)
		json_object_set_new(o, "verdict", json_string(jr_verdict_name(sj->verdict)));
	if (sj->state != SJ_QUEUED && sj->t_start)
		json_object_set_new(o, "wait_seconds",
				    json_real((double)(sj->t_start - sj->t_submit) / 1e9));
	return o;
}

/* The reply that carries a result: {"v":1,"ok":true,"id":..,"exit_status":N,"result":{..}}. */
static char *result_reply(const char *id, const char *result, int exit_status)
{
	char *line = NULL;

	if (asprintf(&line, "{\"v\":%d,\"ok\":true,\"id\":\"%s\",\"exit_status\":%d,\"result\":%s}\n",
		     JR_PROTO_VERSION, id, exit_status, result) < 0)
		return NULL;
	return line;
}

static void reply_error(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply_error(struct conn *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jr_sanitize_message(msg);
	conn_send(c, jr_sreply_error(msg));
}

static void waiter_add(struct sjob *sj, struct conn *c)
{
	struct conn **w = realloc(sj->waiters, (sj->nwait + 1) * sizeof(*w));

	if (!w) {
		reply_error(c, "out of memory");
		return;
	}
	sj->waiters = w;
	sj->waiters[sj->nwait++] = c;
	c->waits++;
}

/* A connection went away: it waits for nothing any more. */
static void waiters_forget(struct conn *c)
{
	struct sjob *sj;
	size_t i;

	for (sj = S.jobs_head; sj && c->waits; sj = sj->next) {
		for (i = 0; i < sj->nwait;) {
			if (sj->waiters[i] == c) {
				sj->waiters[i] = sj->waiters[--sj->nwait];
				c->waits--;
			} else {
				i++;
			}
		}
		if (sj->ack == c)
			sj->ack = NULL;
	}
	for (sj = S.jobs_head; sj && c->inflight; sj = sj->next)
		if (sj->ack == c) {
			sj->ack = NULL;
			c->inflight--;
		}
}

/* ---- finishing a job ----------------------------------------------------------------------- */

/* Forget the oldest finished jobs beyond keep_results (their results stay on disk). */
static void trim_done(void)
{
	struct sjob *sj, *next;
	unsigned keep = S.conf->conf.serve.keep_results;

	for (sj = S.jobs_head; sj && S.done_kept > keep; sj = next) {
		next = sj->next;
		if (sj->state == SJ_DONE && !sj->nwait && !sj->tearing && !sj->io) {
			job_unlink(sj);
			job_free(sj);
			S.done_kept--;
		}
	}
}

static void announce(struct sjob *sj)
{
	char *line;
	size_t i;

	sj->state = SJ_DONE;
	S.done_kept++;
	for (i = 0; i < sj->nwait; i++) {
		struct conn *c = sj->waiters[i];

		c->waits--;
		line = result_reply(sj->id, sj->result, sj->exit_status);
		if (line)
			conn_send(c, line);
		else
			reply_error(c, "out of memory");
	}
	sj->nwait = 0;
	trim_done();
}

static void result_written(uv_work_t *w, int status)
{
	struct fs_work *fw = w->data;
	struct sjob *sj = fw->sj;

	if (status == 0 && fw->r < 0)
		jr_error("job=%s cannot write its result in %s: %s", sj->id, S.jobs_dir,
			 strerror(-fw->r));
	if (status == 0 && fw->report_r < 0)
		jr_error("job=%s report %s: %s", sj->id, sj->spec.report, fw->report_err.msg);
	free(fw->text);
	free(fw);
	sj->io--;
	S.writing--;
	announce(sj);
	maybe_exit();
}

static void write_result(struct sjob *sj, char *text)
{
	if (fs_queue(sj, ".json", text, true, result_written) < 0) {
		S.writing--;
		announce(sj);
	}
}

/* The result is known: keep it, free the slot, then make it durable and announce it. */
static void job_finished(struct sjob *sj, char *result_json)
{
	const double wait_s = sj->t_start ? (double)(sj->t_start - sj->t_submit) / 1e9 : 0;
	char *text = NULL;

	sj->t_end = uv_hrtime();
	sj->result = result_json;
	close_fds(sj);
	S.by_verdict[sj->verdict]++;
	if (sj->t_start)
		hist_add(&S.run_time, (double)(sj->t_end - sj->t_start) / 1e9);
	jr_info("job=%s finished verdict=%s exit_status=%d waited=%.3fs ran=%.3fs", sj->id,
		jr_verdict_name(sj->verdict), sj->exit_status, wait_s,
		sj->t_start ? (double)(sj->t_end - sj->t_start) / 1e9 : 0.0);
	sj->state = SJ_WRITING;
	S.writing++;
	if (!result_json || asprintf(&text, "%s\n", result_json) < 0) {
		S.writing--;
		announce(sj);
		return;
	}
	if (sj->io) { /* the request is still being written: the result follows it (ack_written) */
		sj->result_text = text;
		return;
	}
	write_result(sj, text);
}

/* Compact JSON of the result, with the submitter. */
static char *result_text(struct jr_result *res, const struct jr_spec *spec)
{
	char *pretty = jr_result_json(res, spec), *s = NULL;
	json_t *o = pretty ? json_loads(pretty, 0, NULL) : NULL;

	if (o)
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	json_decref(o);
	free(pretty);
	return s;
}

/* What the job left on the host is gone: its jr_job can go. */
static void job_released_cb(struct jr_job *job)
{
	struct sjob *sj = job->data;

	sj->tearing = false;
	S.tearing--;
	free(sj->job);
	sj->job = NULL;
	trim_done();
	maybe_exit();
}

static void job_done_cb(struct jr_job *job)
{
	struct sjob *sj = job->data;

	job->released_cb = job_released_cb;
	sj->tearing = true;
	S.tearing++;

	job->result.submitter = &sj->sub;
	sj->verdict = job->result.verdict;
	sj->exit_status = jr_result_exit_status(&job->result);
	S.busy--;
	job_finished(sj, result_text(&job->result, &sj->spec));
	jr_outputs_free(&job->outputs);
	dispatch();
}

/* A job that never ran: cancelled in the queue, or not runnable after a restart (XX), or a
 * spool job refused (RJ). */
static void job_end(struct sjob *sj, enum jr_verdict verdict, const char *why)
{
	struct jr_result res;

	memset(&res, 0, sizeof(res));
	res.verdict = verdict;
	snprintf(res.message, sizeof(res.message), "%s", why);
	clock_gettime(CLOCK_REALTIME, &res.start);
	res.end = res.start;
	res.submitter = &sj->sub;
	sj->verdict = verdict;
	sj->exit_status = jr_result_exit_status(&res);
	job_finished(sj, result_text(&res, &sj->spec));
}

static void job_unrun(struct sjob *sj, const char *why)
{
	job_end(sj, JR_XX, why);
}

/* ---- starting jobs ------------------------------------------------------------------------- */

/* <id>.started beside its request: after a crash, a job that had started is reported, never
 * run twice. Made here, on the loop (an empty file, not fsynced: a reboot ends every job
 * anyway), so that it exists before the result's writer removes it. */
static void mark_started(struct sjob *sj)
{
	char name[JR_SERVE_MAX_ID + 16];
	int fd;

	snprintf(name, sizeof(name), "%s.started", sj->id);
	fd = openat(S.jobs_dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static void start_job(struct sjob *sj)
{
	sj->job = calloc(1, sizeof(*sj->job));
	if (!sj->job) {
		job_unrun(sj, "jobrun serve: out of memory");
		return;
	}
	sj->state = SJ_RUNNING;
	sj->t_start = uv_hrtime();
	S.busy++;
	if (sj->restorable)
		mark_started(sj);
	hist_add(&S.start_latency, (double)(sj->t_start - sj->t_submit) / 1e9);
	jr_job_start(sj->job, S.loop, &sj->spec, &S.host, &sj->admit, job_done_cb);
	sj->job->data = sj;
	sj->job->result.submitter = &sj->sub;
	jr_info("job=%s started profile=%s waited=%.3fs", sj->id,
		sj->spec.profile ? sj->spec.profile : "-",
		(double)(sj->t_start - sj->t_submit) / 1e9);
}

static void dispatch(void)
{
	while (S.queue && S.busy < S.slots && !S.stopping) {
		struct sjob *sj = S.queue;

		queue_remove(sj);
		start_job(sj);
	}
	maybe_exit();
}

/* ---- admission ----------------------------------------------------------------------------- */

static int push_fd_arg(struct jr_strv *argv, const char *opt, int fd)
{
	char *a;

	if (asprintf(&a, "--%s=/dev/fd/%d", opt, fd) < 0)
		return -ENOMEM;
	return jr_strv_push_take(argv, a);
}

static int push_state_file(struct jr_strv *argv, const char *opt, const char *id)
{
	char *a;

	if (asprintf(&a, "--%s=%s/%s.%s", opt, S.jobs_dir, id, opt) < 0)
		return -ENOMEM;
	return jr_strv_push_take(argv, a);
}

/* argv for jr_run_parse_cli: the client's options, the descriptors as /dev/fd/N (callerpath.h:
 * jobrun's own descriptor, duplicated as it is), stdout and stderr files in the state
 * directory where the client gave none, the id, the command. */
static int build_argv(struct sjob *sj)
{
	static const enum jr_sfd as_opt[] = { JR_SFD_JOB_CONF, JR_SFD_STDIN, JR_SFD_STDOUT,
					      JR_SFD_STDERR, JR_SFD_DIR };
	char *a;
	size_t i;

	if (jr_strv_push(&sj->argv, "serve") < 0)
		return -ENOMEM;
	for (i = 0; i < sj->args.n; i++)
		if (jr_strv_push(&sj->argv, sj->args.v[i]) < 0)
			return -ENOMEM;
	for (i = 0; i < sizeof(as_opt) / sizeof(as_opt[0]); i++)
		if (sj->fds[as_opt[i]] >= 0 &&
		    push_fd_arg(&sj->argv, jr_sfd_name(as_opt[i]), sj->fds[as_opt[i]]) < 0)
			return -ENOMEM;
	if ((sj->fds[JR_SFD_STDOUT] < 0 && push_state_file(&sj->argv, "stdout", sj->id) < 0) ||
	    (sj->fds[JR_SFD_STDERR] < 0 && push_state_file(&sj->argv, "stderr", sj->id) < 0))
		return -ENOMEM;
	if (asprintf(&a, "--id=%s", sj->id) < 0 || jr_strv_push_take(&sj->argv, a) < 0)
		return -ENOMEM;
	/* a job config's outputs: in the private state directory, never where others can read */
	if (asprintf(&a, "--output-dir=%s/%s.outputs", S.jobs_dir, sj->id) < 0 ||
	    jr_strv_push_take(&sj->argv, a) < 0)
		return -ENOMEM;
	/* a URL (sproto.c: http:// or https:// only) as `run` takes an archive: fetched */
	if (sj->archive_url && jr_strv_push(&sj->argv, sj->archive_url) < 0)
		return -ENOMEM;
	if (sj->command.n) {
		if (jr_strv_push(&sj->argv, "--") < 0)
			return -ENOMEM;
		for (i = 0; i < sj->command.n; i++)
			if (jr_strv_push(&sj->argv, sj->command.v[i]) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* The descriptors a client sent: each checked for what it is used for. */
static int check_fds(struct sjob *sj, bool root, struct jr_err *err)
{
	int f;

	for (f = 0; f < JR_SFD_N; f++) {
		struct stat st;
		int fl, fd = sj->fds[f];

		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || (fl = fcntl(fd, F_GETFL)) < 0)
			return jr_err_set(err, errno, "fds.%s", jr_sfd_name(f));
		switch ((enum jr_sfd)f) {
		case JR_SFD_DIR:
			if (!root)
				return jr_err_set(err, 0, "fds.dir: only root's clients may bind a "
						  "directory at /job");
			if (!S_ISDIR(st.st_mode))
				return jr_err_set(err, 0, "fds.dir: not a directory");
			break;
		case JR_SFD_ARCHIVE:
		case JR_SFD_JOB_CONF:
		case JR_SFD_STDIN:
			if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
				return jr_err_set(err, 0, "fds.%s: not open for reading",
						  jr_sfd_name(f));
			if (S_ISDIR(st.st_mode) || (S_ISSOCK(st.st_mode) && f != JR_SFD_STDIN))
				return jr_err_set(err, 0, "fds.%s: %s", jr_sfd_name(f),
						  jr_cp_type_name(st.st_mode));
			break;
		case JR_SFD_STDOUT:
		case JR_SFD_STDERR:
			if ((fl & O_PATH) || (fl & O_ACCMODE) == O_RDONLY)
				return jr_err_set(err, 0, "fds.%s: not open for writing",
						  jr_sfd_name(f));
			if (S_ISDIR(st.st_mode))
				return jr_err_set(err, 0, "fds.%s: a directory", jr_sfd_name(f));
			break;
		case JR_SFD_N:
			break;
		}
	}
	return 0;
}

/* Turn a job's options into its spec, as `jobrun run` does; the profile must be one the
 * submitter may use. */
static int admit(struct sjob *sj, bool root, const gid_t *groups, size_t ngroups,
		 struct jr_err *err)
{
	const struct jr_conf *conf = &sj->conf->conf;
	const char *profile;
	int r;

	jr_jobreq_init(&sj->ad.cli.req);
	if (!(sj->ad.cli.req.file = strdup("submit options")))
		return jr_err_set(err, ENOMEM, "request");
	if ((r = check_fds(sj, root, err)) < 0)
		return r;
	if (build_argv(sj) < 0)
		return jr_err_set(err, ENOMEM, "request");
	if (sj->fds[JR_SFD_ARCHIVE] >= 0 &&
	    asprintf(&sj->spec.archive, "/dev/fd/%d", sj->fds[JR_SFD_ARCHIVE]) < 0)
		return jr_err_set(err, ENOMEM, "request");
	sj->ad.argc = (int)sj->argv.n;
	sj->ad.argv = sj->argv.v;
	sj->ad.conf = conf;
	r = jr_run_parse_cli(sj->ad.argc, sj->ad.argv, &sj->spec, &sj->ad.cli, NULL, err);
	if (r < 0)
		return r;
	if (sj->ad.cli.config)
		return jr_err_set(err, 0, "--config is the supervisor's");
	profile = sj->ad.cli.req.profile.value ? sj->ad.cli.req.profile.value
					       : conf->default_profile;
	if (!jr_conf_client_may(conf, sj->sub.uid, sj->sub.gid, groups, ngroups, profile))
		return jr_err_set(err, 0, "uid %u may not submit jobs of the profile %s (jobrun.conf: "
				  "serve { client ... profiles })", (unsigned)sj->sub.uid, profile);
	return jr_admission_start(&sj->ad, &sj->spec, &sj->admit, err);
}

static struct sjob *job_new(const char *id, struct jr_err *err)
{
	struct sjob *sj = calloc(1, sizeof(*sj));
	int f;

	if (!sj) {
		jr_err_set(err, ENOMEM, "job");
		return NULL;
	}
	for (f = 0; f < JR_SFD_N; f++)
		sj->fds[f] = -1;
	jr_spec_init(&sj->spec);
	if (id) {
		if (id_taken(id)) {
			jr_err_set(err, 0, "id %s is taken (a job of that id is known)", id);
			jr_spec_free(&sj->spec);
			free(sj);
			return NULL;
		}
		snprintf(sj->id, sizeof(sj->id), "%s", id);
	} else {
		do
			random_id(sj->id, sizeof(sj->id));
		while (id_taken(sj->id));
	}
	sj->conf = S.conf;
	S.conf->refs++;
	sj->seq = ++S.seq;
	sj->t_submit = uv_hrtime();
	clock_gettime(CLOCK_REALTIME, &sj->submitted);
	sj->spec.id = strdup(sj->id); /* the admission gives it again (--id) */
	return sj;
}

static void ack_written(uv_work_t *w, int status)
{
	struct fs_work *fw = w->data;
	struct sjob *sj = fw->sj;
	struct conn *c = sj->ack;

	(void)status;
	if (fw->r < 0)
		jr_error("job=%s cannot write its request in %s: %s", sj->id, S.jobs_dir,
			 strerror(-fw->r));
	free(fw->text);
	free(fw);
	sj->io--;
	if (c) {
		sj->ack = NULL;
		c->inflight--;
		conn_send(c, jr_sreply_ok(json_pack("{s:s, s:s}", "id", sj->id, "state",
						   sjob_state_names[sj->state])));
	}
	if (sj->result_text && !sj->io) { /* it ended before its request was on disk */
		char *text = sj->result_text;

		sj->result_text = NULL;
		write_result(sj, text);
	}
	maybe_exit();
}

static void op_submit(struct conn *c, struct jr_sreq *req, int *fds, unsigned nfds)
{
	struct jr_err err;
	struct sjob *sj;
	bool root = c->uid == 0;
	int f;

	jr_err_clear(&err);
	if (S.draining || S.stopping) {
		S.refused++;
		reply_error(c, "jobrun serve is %s: it takes no new jobs",
			    S.stopping ? "stopping" : "draining");
		return;
	}
	if (S.queued >= S.conf->conf.serve.queue_max && S.busy >= S.slots) {
		S.refused++;
		reply_error(c, "queue full: %u jobs waiting", S.queued);
		return;
	}
	if (!(sj = job_new(req->id, &err))) {
		S.refused++;
		reply_error(c, "%s", err.msg);
		return;
	}
	sj->sub.uid = c->uid;
	sj->sub.gid = c->gid;
	sj->sub.pid = c->pid;
	if (c->ngroups && (sj->groups = malloc(sizeof(gid_t) * c->ngroups))) {
		memcpy(sj->groups, c->groups, sizeof(gid_t) * c->ngroups);
		sj->ngroups = c->ngroups;
	}
	sj->prio = req->priority;
	sj->args = req->args;
	sj->command = req->command;
	sj->archive_url = req->archive_url;
	memset(&req->args, 0, sizeof(req->args));
	memset(&req->command, 0, sizeof(req->command));
	req->archive_url = NULL;
	for (f = 0; f < JR_SFD_N; f++)
		if (req->fd[f] >= 0) {
			sj->fds[f] = fds[req->fd[f]];
			fds[req->fd[f]] = -1;
		}
	(void)nfds;
	sj->restorable = sj->fds[JR_SFD_ARCHIVE] < 0 && sj->fds[JR_SFD_JOB_CONF] < 0 &&
			 sj->fds[JR_SFD_STDIN] < 0 && sj->fds[JR_SFD_DIR] < 0;
	if (admit(sj, root, c->groups, c->ngroups, &err) < 0) {
		S.refused++;
		jr_info("refused a job of uid=%u pid=%d: %s", (unsigned)c->uid, (int)c->pid, err.msg);
		reply_error(c, "%s", err.msg);
		job_free(sj);
		return;
	}
	S.submitted++;
	job_link(sj);
	jr_info("job=%s submitted uid=%u gid=%u pid=%d profile=%s priority=%d", sj->id,
		(unsigned)c->uid, (unsigned)c->gid, (int)c->pid,
		sj->spec.profile ? sj->spec.profile : "-", sj->prio);
	if (req->wait) {
		waiter_add(sj, c);
	} else {
		sj->ack = c;
		c->inflight++;
	}
	sj->state = SJ_QUEUED;
	queue_insert(sj);
	/* the job starts now if a slot is free; its request reaches the disk meanwhile */
	if (fs_queue(sj, ".req", request_record(sj), false, ack_written) < 0 && sj->ack) {
		sj->ack = NULL;
		c->inflight--;
		conn_send(c, jr_sreply_ok(json_pack("{s:s}", "id", sj->id)));
	}
	dispatch();
}

/* ---- the other operations ------------------------------------------------------------------ */

static bool may_see(const struct conn *c, const struct sjob *sj)
{
	return c->uid == 0 || c->uid == sj->sub.uid;
}

/* A finished job the supervisor no longer holds in memory: its result from the disk. */
static char *result_from_disk(const char *id)
{
	char name[JR_SERVE_MAX_ID + 8], *buf;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%s.json", id);
	fd = openat(S.jobs_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 24) ||
	    !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return buf;
}

static void op_wait_or_status(struct conn *c, struct jr_sreq *req)
{
	struct sjob *sj = job_find(req->id);
	char *res;

	if (sj && !may_see(c, sj))
		sj = NULL;
	if (!sj) {
		json_t *o;
		json_int_t uid = -1;

		res = result_from_disk(req->id);
		if (res && (o = json_loads(res, 0, NULL))) {
			uid = json_integer_value(json_object_get(json_object_get(o, "submitter"),
								 "uid"));
			json_decref(o);
		}
		if (!res || (c->uid != 0 && uid != (json_int_t)c->uid)) {
			free(res);
			reply_error(c, "no job %s", req->id);
			return;
		}
		if (req->op == JR_SOP_WAIT) {
			json_t *r = json_loads(res, 0, NULL);
			const char *v = json_string_value(json_object_get(r, "verdict"));
			int st = !v ? 2 : !strcmp(v, "OK") ? 0 : !strcmp(v, "XX") ? 2 : 1;

			json_decref(r);
			conn_send(c, result_reply(req->id, res, st));
		} else {
			json_t *o2 = json_pack("{s:{s:s, s:s}}", "job", "id", req->id, "state", "done");
			json_t *r = json_loads(res, 0, NULL);

			if (o2 && r)
				json_object_set(json_object_get(o2, "job"), "verdict",
						json_object_get(r, "verdict"));
			json_decref(r);
			conn_send(c, jr_sreply_ok(o2));
		}
		free(res);
		return;
	}
	if (req->op == JR_SOP_STATUS) {
		conn_send(c, jr_sreply_ok(json_pack("{s:o}", "job", job_summary(sj))));
		return;
	}
	if (sj->state == SJ_DONE)
		conn_send(c, result_reply(sj->id, sj->result, sj->exit_status));
	else
		waiter_add(sj, c);
}

static void op_status_server(struct conn *c)
{
	json_t *v = json_object();
	int i;

	for (i = 0; i <= JR_XX; i++)
		json_object_set_new(v, jr_verdict_name((enum jr_verdict)i),
				    json_integer((json_int_t)S.by_verdict[i]));
	conn_send(c, jr_sreply_ok(json_pack(
		"{s:s, s:i, s:i, s:I, s:i, s:i, s:I, s:I, s:o, s:b, s:b, s:f, s:s}",
		"server", "jobrun serve", "protocol", JR_PROTO_VERSION, "pid", (json_int_t)getpid(),
		"slots", S.slots, "busy", S.busy, "queued", (json_int_t)S.queued, "submitted",
		(json_int_t)S.submitted, "refused", (json_int_t)S.refused, "verdicts", v, "draining",
		S.draining, "stopping", S.stopping, "uptime_seconds",
		(double)(uv_hrtime() - S.t0) / 1e9, "config",
		S.conf->conf.file ? S.conf->conf.file : "(built in)")));
}

static void op_list(struct conn *c, struct jr_sreq *req)
{
	json_t *a = json_array();
	struct sjob *sj;

	for (sj = S.jobs_head; sj; sj = sj->next)
		if (may_see(c, sj) && (req->all || sj->state != SJ_DONE))
			json_array_append_new(a, job_summary(sj));
	conn_send(c, jr_sreply_ok(json_pack("{s:o}", "jobs", a)));
}

static void op_cancel(struct conn *c, struct jr_sreq *req)
{
	struct sjob *sj = job_find(req->id);
	char why[128];

	if (!sj || !may_see(c, sj)) {
		reply_error(c, "no job %s", req->id);
		return;
	}
	snprintf(why, sizeof(why), "cancelled by uid %u", (unsigned)c->uid);
	switch (sj->state) {
	case SJ_QUEUED:
		queue_remove(sj);
		sj->cancelled = true;
		jr_info("job=%s cancelled in the queue by uid=%u", sj->id, (unsigned)c->uid);
		job_unrun(sj, why);
		break;
	case SJ_RUNNING:
		sj->cancelled = true;
		jr_info("job=%s cancelled by uid=%u", sj->id, (unsigned)c->uid);
		jr_job_cancel(sj->job, why);
		break;
	case SJ_WRITING:
	case SJ_DONE:
		break;
	}
	conn_send(c, jr_sreply_ok(json_pack("{s:s, s:s}", "id", sj->id, "state",
					   sjob_state_names[sj->state])));
}

static void append(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || !*buf)
		return;
	char *b = realloc(*buf, *len + (size_t)n + 1);
	if (b) {
		memcpy(b + *len, s, (size_t)n + 1);
		*len += (size_t)n;
		*buf = b;
	}
	free(s);
}

static void hist_text(char **buf, size_t *len, const char *name, const char *help,
		      const struct histogram *h)
{
	uint64_t cum = 0;
	size_t i;

	append(buf, len, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < NBUCKETS; i++) {
		cum += h->count[i];
		append(buf, len, "%s_bucket{le=\"%g\"} %llu\n", name, buckets[i],
		       (unsigned long long)cum);
	}
	cum += h->count[NBUCKETS];
	append(buf, len, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
	       (unsigned long long)cum, name, h->sum, name, (unsigned long long)h->n);
}

/* The Prometheus text format. */
static char *metrics_text(void)
{
	char *buf = strdup("");
	size_t len = 0;
	int i;

	append(&buf, &len, "# HELP jobrun_jobs_total Jobs finished, by verdict.\n"
			   "# TYPE jobrun_jobs_total counter\n");
	for (i = 0; i <= JR_XX; i++)
		append(&buf, &len, "jobrun_jobs_total{verdict=\"%s\"} %llu\n",
		       jr_verdict_name((enum jr_verdict)i), (unsigned long long)S.by_verdict[i]);
	append(&buf, &len,
	       "# HELP jobrun_submitted_total Jobs accepted.\n# TYPE jobrun_submitted_total counter\n"
	       "jobrun_submitted_total %llu\n"
	       "# HELP jobrun_refused_total Submissions refused (bad request, queue full, draining).\n"
	       "# TYPE jobrun_refused_total counter\njobrun_refused_total %llu\n"
	       "# HELP jobrun_queue_length Jobs waiting for a slot.\n# TYPE jobrun_queue_length gauge\n"
	       "jobrun_queue_length %u\n"
	       "# HELP jobrun_slots Jobs that may run at once.\n# TYPE jobrun_slots gauge\n"
	       "jobrun_slots %u\n"
	       "# HELP jobrun_slots_busy Jobs running.\n# TYPE jobrun_slots_busy gauge\n"
	       "jobrun_slots_busy %u\n"
	       "# HELP jobrun_connections Client connections open.\n"
	       "# TYPE jobrun_connections gauge\njobrun_connections %u\n",
	       (unsigned long long)S.submitted, (unsigned long long)S.refused, S.queued, S.slots,
	       S.busy, S.nconns);
	hist_text(&buf, &len, "jobrun_job_start_latency_seconds",
		  "From a job's submission to its start.", &S.start_latency);
	hist_text(&buf, &len, "jobrun_job_run_seconds", "From a job's start to its result.",
		  &S.run_time);
	return buf;
}

static void op_drain(struct conn *c, struct jr_sreq *req)
{
	if (c->uid != 0) {
		reply_error(c, "only root may drain jobrun serve");
		return;
	}
	if (!S.draining)
		jr_info("draining: no new jobs%s", req->exit_when_idle ? "; exits when idle" : "");
	S.draining = true;
	S.exit_when_idle |= req->exit_when_idle;
	conn_send(c, jr_sreply_ok(json_pack("{s:I, s:i}", "queued", (json_int_t)S.queued,
					   "running", S.busy)));
	maybe_exit();
}

static void handle_line(struct conn *c, const char *line, size_t len, int *fds, unsigned nfds)
{
	const struct jr_conf *conf = &S.conf->conf;
	struct jr_sreq req;
	struct jr_err err;

	jr_err_clear(&err);
	if (!jr_conf_client_known(conf, c->uid, c->gid, c->groups, c->ngroups)) {
		reply_error(c, "uid %u may not use jobrun serve (jobrun.conf: serve { client ... })",
			    (unsigned)c->uid);
		c->eof = true; /* then closed once the reply is out */
		return;
	}
	if (jr_sreq_parse(line, len, nfds, c->uid == 0, &req, &err) < 0) {
		reply_error(c, "%s", err.msg);
		return;
	}
	switch (req.op) {
	case JR_SOP_HELLO:
		conn_send(c, jr_sreply_ok(json_pack("{s:s, s:s, s:i, s:I}", "server", "jobrun serve",
						   "version", JR_VERSION, "protocol",
						   JR_PROTO_VERSION, "uid", (json_int_t)c->uid)));
		break;
	case JR_SOP_SUBMIT:
		op_submit(c, &req, fds, nfds);
		break;
	case JR_SOP_STATUS:
		if (req.id)
			op_wait_or_status(c, &req);
		else
			op_status_server(c);
		break;
	case JR_SOP_WAIT:
		op_wait_or_status(c, &req);
		break;
	case JR_SOP_CANCEL:
		op_cancel(c, &req);
		break;
	case JR_SOP_LIST:
		op_list(c, &req);
		break;
	case JR_SOP_DRAIN:
		op_drain(c, &req);
		break;
	case JR_SOP_METRICS: {
		char *t = metrics_text();

		conn_send(c, jr_sreply_ok(json_pack("{s:s}", "text", t ? t : "")));
		free(t);
		break;
	}
	}
	jr_sreq_free(&req);
}

/* ---- connections --------------------------------------------------------------------------- */

static void conn_update_poll(struct conn *c);

static void conn_freed_cb(uv_handle_t *h)
{
	struct conn *c = h->data;

	close(c->fd);
	free(c->in);
	free(c->out);
	free(c->groups);
	free(c);
	maybe_exit();
}

static void conn_close(struct conn *c)
{
	unsigned i;

	if (c->closing)
		return;
	c->closing = true;
	waiters_forget(c);
	for (i = 0; i < c->npend; i++)
		close(c->pend[i]);
	c->npend = 0;
	if (c->prev)
		c->prev->next = c->next;
	else
		S.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	S.nconns--;
	uv_close((uv_handle_t *)&c->poll, conn_freed_cb);
}

/* Send what is queued; 0, or -1 when the connection is gone. */
static int conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

static bool conn_idle(const struct conn *c)
{
	return !c->waits && !c->inflight && c->outoff >= c->outlen;
}

static void conn_send(struct conn *c, char *line)
{
	size_t n;

	if (!line || c->closing) {
		free(line);
		return;
	}
	n = strlen(line);
	if (c->outlen - c->outoff + n > MAX_OUT_BYTES) {
		jr_warn("client uid=%u pid=%d reads none of its replies: dropped", (unsigned)c->uid,
			(int)c->pid);
		free(line);
		conn_close(c);
		return;
	}
	if (c->outoff && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	{
		char *b = realloc(c->out, c->outlen + n);

		if (!b) {
			free(line);
			conn_close(c);
			return;
		}
		c->out = b;
	}
	memcpy(c->out + c->outlen, line, n);
	c->outlen += n;
	free(line);
	if (conn_flush(c) < 0) {
		conn_close(c);
		return;
	}
	if (c->eof && conn_idle(c)) {
		conn_close(c);
		return;
	}
	conn_update_poll(c);
}

/* Read what is there: bytes and descriptors. Returns -1 when the connection is to go. */
static int conn_read(struct conn *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * (JR_SERVE_MAX_FDS + 1))];
	} cbuf;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t n;

	if (c->incap - c->inlen < 65536) {
		size_t cap = c->incap ? c->incap * 2 : 65536;
		char *b;

		if (cap > JR_SERVE_MAX_LINE + 65536)
			cap = JR_SERVE_MAX_LINE + 65536;
		if (cap <= c->inlen)
			return -1;
		if (!(b = realloc(c->in, cap)))
			return -1;
		c->in = b;
		c->incap = cap;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = c->in + c->inlen;
	iov.iov_len = c->incap - c->inlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k, nfd;
		int *fdp;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fdp = (int *)CMSG_DATA(cm);
		for (k = 0; k < nfd; k++) {
			int fd;

			memcpy(&fd, fdp + k, sizeof(fd));
			if (c->npend < 2 * JR_SERVE_MAX_FDS && n > 0) {
				c->pend_at[c->npend] = c->inlen + (size_t)n - 1;
				c->pend[c->npend++] = fd;
			} else {
				close(fd);
				c->pend_overflow = true;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		c->pend_overflow = true;
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	c->inlen += (size_t)n;
	c->last = uv_now(S.loop);
	return 0;
}

static void conn_process(struct conn *c)
{
	size_t start = 0;

	while (!c->closing) {
		char *nl = memchr(c->in + start, '\n', c->inlen - start);
		int fds[JR_SERVE_MAX_FDS];
		unsigned nfds = c->npend, i;
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (c->in + start));
		/* this line's descriptors: those whose read ended within it */
		nfds = 0;
		for (i = 0; i < c->npend;) {
			if (c->pend_at[i] <= start + len) {
				if (nfds < JR_SERVE_MAX_FDS)
					fds[nfds++] = c->pend[i];
				else {
					close(c->pend[i]);
					c->pend_overflow = true;
				}
				c->npend--;
				memmove(c->pend + i, c->pend + i + 1, (c->npend - i) * sizeof(int));
				memmove(c->pend_at + i, c->pend_at + i + 1,
					(c->npend - i) * sizeof(size_t));
			} else {
				i++;
			}
		}
		if (c->pend_overflow) {
			c->pend_overflow = false;
			reply_error(c, "more than %d descriptors came with one request",
				    JR_SERVE_MAX_FDS);
		} else if (len > 0) {
			handle_line(c, c->in + start, len, fds, nfds);
		}
		for (i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		start += len + 1;
	}
	if (start) {
		unsigned i;

		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
		for (i = 0; i < c->npend; i++)
			c->pend_at[i] -= start;
	}
	if (!c->closing && c->inlen >= JR_SERVE_MAX_LINE) {
		reply_error(c, "a request longer than %d bytes", JR_SERVE_MAX_LINE);
		c->inlen = 0;
		c->eof = true;
		if (conn_idle(c))
			conn_close(c);
	}
}

static void conn_poll_cb(uv_poll_t *p, int status, int events)
{
	struct conn *c = p->data;

	if (status < 0) {
		conn_close(c);
		return;
	}
	if (events & UV_WRITABLE) {
		if (conn_flush(c) < 0) {
			conn_close(c);
			return;
		}
	}
	if ((events & (UV_READABLE | UV_DISCONNECT)) && !c->eof) {
		if (conn_read(c) < 0) {
			conn_close(c);
			return;
		}
		conn_process(c);
		if (c->closing)
			return;
	}
	if (c->eof && conn_idle(c)) {
		conn_close(c);
		return;
	}
	conn_update_poll(c);
}

static void conn_update_poll(struct conn *c)
{
	int ev = 0;

	if (c->closing)
		return;
	if (!c->eof)
		ev |= UV_READABLE;
	if (c->outoff < c->outlen)
		ev |= UV_WRITABLE;
	if (!ev) /* half-closed, waiting for a result: nothing to read or write meanwhile */
		uv_poll_stop(&c->poll);
	else
		uv_poll_start(&c->poll, ev, conn_poll_cb);
}

/* The peer's supplementary groups, however many (SO_PEERGROUPS says how much room it needs). */
static void peer_groups(struct conn *c)
{
	socklen_t len = 64 * sizeof(gid_t);

	for (int tries = 0; tries < 2; tries++) {
		gid_t *g = malloc(len ? len : sizeof(gid_t));

		if (!g)
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			c->groups = g;
			c->ngroups = len / sizeof(gid_t);
			return;
		}
		free(g);
		if (errno != ERANGE || len > MAX_GROUPS * sizeof(gid_t))
			return;
	}
}

static void accept_cb(uv_poll_t *p, int status, int events)
{
	(void)p;
	(void)events;
	if (status < 0)
		return;
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;
		int fd = accept4(S.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (S.nconns >= MAX_CONNS ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    !(c = calloc(1, sizeof(*c)))) {
			if (S.nconns >= MAX_CONNS)
				jr_warn("%u client connections: one more refused", S.nconns);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		peer_groups(c);
		c->last = uv_now(S.loop);
		if (uv_poll_init(S.loop, &c->poll, fd) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->poll.data = c;
		c->next = S.conns;
		if (S.conns)
			S.conns->prev = c;
		S.conns = c;
		S.nconns++;
		uv_poll_start(&c->poll, UV_READABLE, conn_poll_cb);
	}
}

/* Connections silent for IDLE_DROP_SEC with nothing to wait for are closed. */
static void tick_cb(uv_timer_t *t)
{
	struct conn *c, *next;
	uint64_t now = uv_now(S.loop);

	(void)t;
	for (c = S.conns; c; c = next) {
		next = c->next;
		if (conn_idle(c) && now - c->last > IDLE_DROP_SEC * 1000ULL)
			conn_close(c);
	}
	spool_scan(); /* what a missed event left */
}

/* ---- the spool directory ------------------------------------------------------------------ */

/* For callers that cannot speak the socket: a job tarball renamed into <spool>/incoming/ is a
 * submission by the file's owner (the directory is sticky and world-writable but not
 * readable: 1733). The file is moved to active/ (root's) while the job waits and runs; its
 * result goes to results/<name>.json, owned by the submitter. */

static bool spool_archive_name(const char *s)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2",
					   ".tar.xz", ".txz", ".tar.zst", ".tzst", ".zip" };
	size_t n = strlen(s), i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && !strcmp(s + n - e, ext[i]))
			return true;
	}
	return false;
}

static void spool_take(const char *name)
{
	char active[NAME_MAX + 1], why[600];
	struct jr_err err;
	struct sjob *sj;
	struct stat st;
	int fd;

	fd = openat(S.spool_in_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		/* a symlink, a FIFO, a hard link to someone's file: never a submission */
		jr_warn("spool: %s/%s is not a regular file of one link: removed", S.spool_in, name);
		if (fd >= 0)
			close(fd);
		unlinkat(S.spool_in_fd, name, 0);
		return;
	}
	jr_err_clear(&err);
	if (!(sj = job_new(NULL, &err))) {
		close(fd);
		return;
	}
	snprintf(active, sizeof(active), "%s.%s", sj->id, name);
	if (!(sj->spool_name = strdup(name)) ||
	    renameat(S.spool_in_fd, name, S.spool_active_fd, active) < 0) {
		jr_error("spool: cannot move %s/%s to active/: %s", S.spool_in, name,
			 strerror(errno));
		close(fd);
		job_free(sj);
		return;
	}
	if (fchmod(fd, 0400) < 0 || fchown(fd, 0, 0) < 0) /* root's now: no more changes */
		jr_warn("spool: %s: %s", name, strerror(errno));
	sj->sub.uid = st.st_uid;
	sj->sub.gid = st.st_gid;
	sj->fds[JR_SFD_ARCHIVE] = fd;
	sj->restorable = true;
	job_link(sj);
	S.submitted++;
	why[0] = '\0';
	if (!spool_archive_name(name))
		snprintf(why, sizeof(why), "spool: %s is not a job tarball (.tar, .tar.gz, .tgz, "
			 ".tar.bz2, .tar.xz, .tar.zst, .zip)", name);
	else if (!jr_conf_client_known(&S.conf->conf, st.st_uid, st.st_gid, NULL, 0))
		snprintf(why, sizeof(why), "uid %u may not submit jobs (jobrun.conf: serve { client "
			 "... })", (unsigned)st.st_uid);
	else if (admit(sj, st.st_uid == 0, NULL, 0, &err) < 0)
		snprintf(why, sizeof(why), "%s", err.msg);
	if (why[0]) {
		jr_info("spool: refused %s of uid=%u: %s", name, (unsigned)st.st_uid, why);
		job_end(sj, JR_RJ, why);
		return;
	}
	jr_info("job=%s submitted from the spool: %s uid=%u profile=%s", sj->id, name,
		(unsigned)st.st_uid, sj->spec.profile ? sj->spec.profile : "-");
	sj->state = SJ_QUEUED;
	queue_insert(sj);
	fs_queue(sj, ".req", request_record(sj), false, ack_written);
}

static void spool_scan(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (S.spool_in_fd < 0 || S.stopping || S.draining)
		return;
	if ((fd = dup(S.spool_in_fd)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) && S.queued < S.conf->conf.serve.queue_max)
		if (de->d_name[0] != '.')
			spool_take(de->d_name);
	closedir(d);
	dispatch();
}

static void spool_event_cb(uv_fs_event_t *h, const char *name, int events, int status)
{
	(void)h;
	(void)name;
	(void)events;
	if (status == 0)
		spool_scan();
}

/* A directory of root's, made when missing, with exactly mode. */
static int spool_dir(int parent, const char *name, mode_t mode, struct jr_err *err)
{
	struct stat st;
	int fd;

	if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "spool: create %s", name);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return jr_err_set(err, errno, "spool: open %s", name);
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || fchmod(fd, mode) < 0) {
		close(fd);
		return jr_err_set(err, 0, "spool: %s is not root's", name);
	}
	return fd;
}

static int spool_setup(const char *path, struct jr_err *err)
{
	int base;

	S.spool_in_fd = S.spool_active_fd = S.spool_results_fd = -1;
	if (!path)
		return 0;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "spool %s", path);
	if (jr_cp_check_private_dir("spool", path, err) < 0)
		return -EINVAL;
	base = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (base < 0)
		return jr_err_set(err, errno, "spool %s", path);
	S.spool_in_fd = spool_dir(base, "incoming", 01733, err);
	if (S.spool_in_fd >= 0)
		S.spool_active_fd = spool_dir(base, "active", 0700, err);
	if (S.spool_active_fd >= 0)
		S.spool_results_fd = spool_dir(base, "results", 0755, err);
	close(base);
	if (S.spool_results_fd < 0)
		return -EINVAL;
	if (asprintf(&S.spool_in, "%s/incoming", path) < 0)
		return jr_err_set(err, ENOMEM, "spool");
	uv_fs_event_init(S.loop, &S.spool_watch);
	if (uv_fs_event_start(&S.spool_watch, spool_event_cb, S.spool_in, 0) < 0)
		return jr_err_set(err, 0, "spool: cannot watch %s", S.spool_in);
	S.spool_watching = true;
	return 0;
}

/* ---- start-up, restart, signals, exit ------------------------------------------------------ */

static int listen_on(const char *path, struct jr_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return jr_err_set(err, 0, "socket %s: the path is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return jr_err_set(err, errno, "socket");
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return jr_err_set(err, 0, "socket %s: something else is there (a %s)", path,
					  jr_cp_type_name(st.st_mode));
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			return jr_err_set(err, 0, "socket %s: another jobrun serve listens there",
					  path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* a dead supervisor's */
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 512) < 0) {
		int e = errno;

		close(fd);
		return jr_err_set(err, e, "socket %s", path);
	}
	return fd;
}

static void stop_listening(void)
{
	if (!S.listening)
		return;
	S.listening = false;
	uv_close((uv_handle_t *)&S.listen_poll, NULL);
	close(S.listen_fd);
	unlink(S.socket_path);
}

static void reporter_stop(void);

static void close_all(void)
{
	struct conn *c, *next;
	int i;

	stop_listening();
	if (S.spool_watching) {
		S.spool_watching = false;
		uv_close((uv_handle_t *)&S.spool_watch, NULL);
	}
	for (c = S.conns; c; c = next) {
		next = c->next;
		/* the last replies: given a moment, never waited for long */
		if (c->outoff < c->outlen) {
			struct timeval tv = { 1, 0 };
			int fl = fcntl(c->fd, F_GETFL);

			setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
			while (c->outoff < c->outlen) {
				ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
						 MSG_NOSIGNAL);

				if (n <= 0)
					break;
				c->outoff += (size_t)n;
			}
		}
		c->waits = c->inflight = 0;
		conn_close(c);
	}
	for (i = 0; i < 4; i++)
		if (!uv_is_closing((uv_handle_t *)&S.sigs[i]))
			uv_close((uv_handle_t *)&S.sigs[i], NULL);
	if (!uv_is_closing((uv_handle_t *)&S.tick))
		uv_close((uv_handle_t *)&S.tick, NULL);
	reporter_stop();
	if (!uv_is_closing((uv_handle_t *)&S.grace))
		uv_close((uv_handle_t *)&S.grace, NULL);
}

static void maybe_exit(void)
{
	static bool exiting;

	if (exiting || !(S.stopping || (S.draining && S.exit_when_idle)))
		return;
	if (S.busy || S.writing || S.tearing || (S.queued && !S.stopping))
		return;
	exiting = true;
	jr_info("no job left: jobrun serve exits");
	close_all();
}

static void grace_cb(uv_timer_t *t)
{
	struct sjob *sj;

	(void)t;
	S.grace_over = true;
	for (sj = S.jobs_head; sj; sj = sj->next)
		if (sj->state == SJ_RUNNING)
			jr_job_cancel(sj->job, "jobrun serve stopped: the job did not end within the "
					       "grace period");
}

static void stop(int signum)
{
	struct sjob *sj, *next;

	if (S.stopping) {
		if (signum == SIGINT || signum == SIGTERM)
			grace_cb(&S.grace); /* a second signal: no more grace */
		return;
	}
	S.stopping = true;
	jr_info("%s: no new jobs; %u running get %.1fs to end; %u queued", sigabbrev_np(signum),
		S.busy, (double)S.conf->conf.serve.grace_usec / 1e6, S.queued);
	stop_listening();
	/* Queued jobs that can run again stay on disk for the next start; the others end here. */
	for (sj = S.queue; sj; sj = next) {
		next = sj->qnext;
		queue_remove(sj);
		if (sj->restorable) {
			size_t i;

			for (i = 0; i < sj->nwait; i++) {
				reply_error(sj->waiters[i], "jobrun serve stopped; job %s stays queued "
					    "and runs when jobrun serve starts again", sj->id);
				sj->waiters[i]->waits--;
			}
			sj->nwait = 0;
			sj->state = SJ_DONE; /* for this process */
			continue;
		}
		job_unrun(sj, "jobrun serve stopped before the job started");
	}
	uv_timer_start(&S.grace, grace_cb, S.conf->conf.serve.grace_usec / 1000 + 1, 0);
	uv_unref((uv_handle_t *)&S.grace);
	maybe_exit();
}

static void reporter_start(void);

static void reporter_restart_cb(uv_timer_t *t)
{
	(void)t;
	reporter_start();
}

static void reporter_closed(uv_handle_t *h)
{
	(void)h;
	S.reporter_running = false;
}

static void reporter_exit_cb(uv_process_t *p, int64_t status, int signum)
{
	jr_warn("jobrun-report (pid %d) ended: status %lld, signal %d%s", p->pid,
		(long long)status, signum, S.stopping ? "" : "; started again in 1 s");
	uv_close((uv_handle_t *)p, reporter_closed);
	if (!S.stopping)
		uv_timer_start(&S.reporter_restart, reporter_restart_cb, 1000, 0);
}

/* Keep one jobrun-report running while jobrun.conf names report targets. Its log goes to
 * jobrun serve's stderr. */
static void reporter_start(void)
{
	const struct jr_conf *conf = &S.conf->conf;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	uv_stdio_container_t stdio[3];
	uv_process_options_t o;
	struct jr_err err;
	char *args[5];
	int fd, r;

	if (S.reporter_running || S.stopping || !conf->nreports)
		return;
	fd = jr_helper_dir_open(dir, sizeof(dir), &err);
	if (fd >= 0) {
		close(fd);
		fd = jr_helper_open("jobrun-report", &err);
	}
	if (fd < 0) {
		jr_error("reports wait in the outbox: %s", err.msg);
		return;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/jobrun-report", dir);
	args[0] = path;
	args[1] = conf->file ? "--config" : NULL;
	args[2] = (char *)conf->file;
	args[3] = NULL;
	memset(&o, 0, sizeof(o));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_IGNORE;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	o.file = path;
	o.args = args;
	o.exit_cb = reporter_exit_cb;
	o.stdio = stdio;
	o.stdio_count = 3;
	r = uv_spawn(S.loop, &S.reporter, &o);
	if (r < 0) {
		jr_error("reports wait in the outbox: cannot start %s: %s", path, uv_strerror(r));
		uv_close((uv_handle_t *)&S.reporter, NULL);
		return;
	}
	S.reporter_running = true;
	S.reporter_starts++;
	jr_info("jobrun-report started (pid %d): it delivers %s/" JR_OUTBOX_DIR, S.reporter.pid,
		conf->state_dir);
}

static void reporter_stop(void)
{
	uv_timer_stop(&S.reporter_restart);
	if (!uv_is_closing((uv_handle_t *)&S.reporter_restart))
		uv_close((uv_handle_t *)&S.reporter_restart, NULL);
	if (S.reporter_running && !uv_is_closing((uv_handle_t *)&S.reporter)) {
		uv_process_kill(&S.reporter, SIGTERM);
		uv_close((uv_handle_t *)&S.reporter, reporter_closed);
	}
}

static void reload(void)
{
	struct jr_err err;
	struct sconf *sc = conf_load(S.conf_path, &err);

	if (!sc) {
		jr_error("SIGHUP: jobrun.conf not reloaded, the old one stays: %s", err.msg);
		return;
	}
	conf_unref(S.conf);
	S.conf = sc;
	jr_cp_bind_cache(true); /* the profiles' binds are looked up afresh */
	jr_info("SIGHUP: %s reloaded: it applies to new jobs", sc->conf.file ? sc->conf.file
									   : "jobrun.conf");
	if (S.reporter_running && !uv_is_closing((uv_handle_t *)&S.reporter))
		uv_process_kill(&S.reporter, SIGHUP);
	else
		reporter_start();
}

static void signal_cb(uv_signal_t *s, int signum)
{
	(void)s;
	if (signum == SIGHUP)
		reload();
	else
		stop(signum);
}

/* A request left in the state directory by an earlier supervisor: its job never got a result.
 * A job that can run again is queued; the others get verdict XX. */
static void recover_one(const char *name)
{
	char id[JR_SERVE_MAX_ID + 1], path[JR_SERVE_MAX_ID + 16], why[256];
	json_t *o = NULL, *v;
	struct jr_err err;
	struct sjob *sj;
	size_t n = strlen(name) - 4, i;
	int fd;

	if (n == 0 || n > JR_SERVE_MAX_ID)
		return;
	memcpy(id, name, n);
	id[n] = '\0';
	snprintf(path, sizeof(path), "%s.json", id);
	if (faccessat(S.jobs_dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(S.jobs_dirfd, name, 0); /* its result made it */
		return;
	}
	fd = openat(S.jobs_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		json_error_t je;
		FILE *f = fdopen(fd, "r");

		if (f) {
			o = json_loadf(f, 0, &je);
			fclose(f);
		} else {
			close(fd);
		}
	}
	jr_err_clear(&err);
	sj = calloc(1, sizeof(*sj));
	if (!sj) {
		json_decref(o);
		return;
	}
	for (i = 0; i < JR_SFD_N; i++)
		sj->fds[i] = -1;
	jr_spec_init(&sj->spec);
	snprintf(sj->id, sizeof(sj->id), "%s", id);
	sj->spec.id = strdup(id);
	sj->conf = S.conf;
	S.conf->refs++;
	sj->seq = ++S.seq;
	sj->t_submit = uv_hrtime();
	clock_gettime(CLOCK_REALTIME, &sj->submitted);
	v = json_object_get(o, "submitter");
	sj->sub.uid = (uid_t)json_integer_value(json_object_get(v, "uid"));
	sj->sub.gid = (gid_t)json_integer_value(json_object_get(v, "gid"));
	sj->sub.pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
	sj->prio = (int)json_integer_value(json_object_get(o, "priority"));
	if (json_is_string(json_object_get(o, "profile")))
		sj->spec.profile = strdup(json_string_value(json_object_get(o, "profile")));
	v = json_object_get(o, "groups");
	if (json_array_size(v) && json_array_size(v) <= MAX_GROUPS &&
	    (sj->groups = calloc(json_array_size(v), sizeof(gid_t))))
		for (i = 0; i < json_array_size(v); i++)
			if (json_is_integer(json_array_get(v, i)))
				sj->groups[sj->ngroups++] =
					(gid_t)json_integer_value(json_array_get(v, i));
	sj->restorable = json_is_true(json_object_get(o, "restorable"));
	v = json_object_get(o, "options");
	for (i = 0; i < json_array_size(v); i++)
		jr_strv_push(&sj->args, json_string_value(json_array_get(v, i)));
	v = json_object_get(o, "command");
	for (i = 0; i < json_array_size(v); i++)
		jr_strv_push(&sj->command, json_string_value(json_array_get(v, i)));
	if ((v = json_object_get(o, "archive_url")) && json_is_string(v))
		sj->archive_url = strdup(json_string_value(v));
	if ((v = json_object_get(o, "spool")) && json_is_string(v) && S.spool_active_fd >= 0 &&
	    !strchr(json_string_value(v), '/') && (sj->spool_name = strdup(json_string_value(v)))) {
		char active[NAME_MAX + 1];

		snprintf(active, sizeof(active), "%s.%s", sj->id, sj->spool_name);
		sj->fds[JR_SFD_ARCHIVE] = openat(S.spool_active_fd, active,
						 O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		sj->restorable = sj->fds[JR_SFD_ARCHIVE] >= 0;
	}
	job_link(sj);
	snprintf(path, sizeof(path), "%s.started", id);
	if (!o) {
		job_unrun(sj, "jobrun serve restarted; the job's request could not be read back");
	} else if (faccessat(S.jobs_dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		job_unrun(sj, "jobrun serve restarted while the job ran: the job was killed");
	} else if (!sj->restorable) {
		job_unrun(sj, "jobrun serve restarted before the job ended; its files (passed as "
			      "descriptors) are gone, so it cannot run again");
	} else if (admit(sj, sj->sub.uid == 0, sj->groups, sj->ngroups, &err) < 0) {
		snprintf(why, sizeof(why), "jobrun serve restarted; the job is no longer admitted: "
			 "%s", err.msg);
		job_unrun(sj, why);
	} else {
		jr_info("job=%s recovered from the state directory: queued again", sj->id);
		sj->state = SJ_QUEUED;
		queue_insert(sj);
	}
	json_decref(o);
}

/* What a killed supervisor's jobs left (cgroups, processes, workspace mounts, uid leases):
 * removed before any job runs; each removal is logged. */
static void sweep_found(void *data, const struct jr_sweep_report *r)
{
	(void)data;
	jr_sweep_log(r);
}

static void recover(void)
{
	struct jr_err err;
	int n;

	jr_err_clear(&err);
	n = jr_sweep_all(S.conf->conf.runtime_dir, sweep_found, NULL, &err);
	if (n < 0)
		jr_error("sweep of %s: %s", S.conf->conf.runtime_dir, err.msg);
	else if (n > 0)
		jr_info("swept what %d killed job(s) left in %s", n, S.conf->conf.runtime_dir);
	recover_requests();
}

static void recover_requests(void)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(S.jobs_dirfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 4 && !strcmp(de->d_name + n - 4, ".req") && de->d_name[0] != '.')
			recover_one(de->d_name);
	}
	closedir(d);
}

static unsigned online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static const char serve_usage[] =
	"usage: jobrun serve [--config FILE] [--socket PATH] [--slots N] [-v]\n"
	"Run jobs submitted over a UNIX socket (jobrun submit), N at a time.\n"
	"  --config FILE   jobrun.conf (default /etc/jobrun/jobrun.conf, else built in)\n"
	"  --socket PATH   where to listen (default: jobrun.conf's serve { socket }, else "
	JR_SERVE_DEFAULT_SOCKET ")\n"
	"  --slots N       jobs at once (default: serve { slots }, else the CPUs)\n"
	"  -q, --quiet     log only warnings and errors (default: one line per job event)\n"
	"Signals: TERM/INT stop (running jobs get serve { grace }), HUP reloads jobrun.conf.\n";

int jr_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
		{ "slots", required_argument, NULL, 'n' },  { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const int signums[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	const char *socket_opt = NULL;
	long slots_opt = -1;
	struct jr_err err;
	uv_loop_t loop;
	int opt, i, log_fd;

	jr_log_set_level(JR_LOG_INFO);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+qvh", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'c':
			S.conf_path = optarg;
			break;
		case 's':
			socket_opt = optarg;
			break;
		case 'n':
			errno = 0;
			slots_opt = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || slots_opt < 1 || slots_opt > 4096) {
				fprintf(stderr, "jobrun serve: --slots: '%s' is not a number from 1 to "
					"4096\n", optarg);
				return 2;
			}
			break;
		case 'q':
			jr_log_set_level(JR_LOG_WARN);
			break;
		case 'v':
			jr_log_set_level(JR_LOG_DEBUG);
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "jobrun serve: unknown option or missing value: '%s'\n%s",
				argv[optind - 1], serve_usage);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jobrun serve: unexpected '%s'\n%s", argv[optind], serve_usage);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "jobrun serve: must run as root (it creates namespaces and mounts)\n");
		return 2;
	}
	if (!(S.conf = conf_load(S.conf_path, &err))) {
		fprintf(stderr, "jobrun serve: %s\n", err.msg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (log_fd >= 0)
		jr_log_set_fd(jr_cp_nonblocking(log_fd));
	raise_nofile();
	{
		const struct jr_conf *conf = &S.conf->conf;

		if ((mkdir(conf->runtime_dir, 0700) < 0 && errno != EEXIST) ||
		    jr_cp_check_private_dir("runtime_dir", conf->runtime_dir, &err) < 0) {
			fprintf(stderr, "jobrun serve: runtime_dir %s: %s\n", conf->runtime_dir,
				err.msg[0] ? err.msg : strerror(errno));
			return 2;
		}
		if ((mkdir(conf->state_dir, 0755) < 0 && errno != EEXIST) ||
		    asprintf(&S.jobs_dir, "%s/serve", conf->state_dir) < 0 ||
		    (mkdir(S.jobs_dir, 0700) < 0 && errno != EEXIST) ||
		    jr_cp_check_private_dir("state_dir", S.jobs_dir, &err) < 0 ||
		    (S.jobs_dirfd = open(S.jobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "jobrun serve: state_dir %s: %s\n", conf->state_dir,
				err.msg[0] ? err.msg : strerror(errno));
			return 2;
		}
		S.socket_path = strdup(socket_opt ? socket_opt : conf->serve.socket ?
				       conf->serve.socket : JR_SERVE_DEFAULT_SOCKET);
		S.slots = slots_opt > 0 ? (unsigned)slots_opt : conf->serve.slots ? conf->serve.slots
										 : online_cpus();
	}
	if ((S.listen_fd = listen_on(S.socket_path, &err)) < 0) {
		fprintf(stderr, "jobrun serve: %s\n", err.msg);
		return 2;
	}
	jr_host_init(&S.host);
	jr_cp_bind_cache(true);
	jr_cg_keep_parents(true);
	if (uv_loop_init(&loop) < 0) {
		fprintf(stderr, "jobrun serve: cannot create the event loop\n");
		return 2;
	}
	S.loop = &loop;
	S.t0 = uv_hrtime();
	for (i = 0; i < 4; i++) {
		uv_signal_init(&loop, &S.sigs[i]);
		uv_signal_start(&S.sigs[i], signal_cb, signums[i]);
	}
	uv_timer_init(&loop, &S.tick);
	uv_timer_start(&S.tick, tick_cb, 10000, 10000);
	uv_unref((uv_handle_t *)&S.tick);
	uv_timer_init(&loop, &S.grace);
	uv_poll_init(&loop, &S.listen_poll, S.listen_fd);
	uv_poll_start(&S.listen_poll, UV_READABLE, accept_cb);
	S.listening = true;
	if (spool_setup(S.conf->conf.serve.spool, &err) < 0) {
		fprintf(stderr, "jobrun serve: %s\n", err.msg);
		return 2;
	}
	recover();
	spool_scan();
	uv_timer_init(&loop, &S.reporter_restart);
	reporter_start();
	jr_info("listening on %s: %u slots, a queue of %u at most, config %s", S.socket_path,
		S.slots, S.conf->conf.serve.queue_max,
		S.conf->conf.file ? S.conf->conf.file : "(built in)");
	dispatch();
	uv_run(&loop, UV_RUN_DEFAULT);
	/* what is left: jobs remembered (finished, or queued to run at the next start) */
	while (S.jobs_head) {
		struct sjob *sj = S.jobs_head;

		job_unlink(sj);
		job_free(sj);
	}
	if (uv_loop_close(&loop) < 0)
		jr_warn("the event loop did not close clean");
	close(S.jobs_dirfd);
	conf_unref(S.conf);
	jr_cg_host_free(&S.host.cg);
	jr_cp_bind_cache(false);
	free(S.socket_path);
	free(S.jobs_dir);
	return S.exit_status;
}
