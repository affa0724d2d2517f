/* job-stage.c - a tarball job: its workspace, the unpack helper's report, the job config it
 * carried (parsed by the helper, never by root), admission, and its outputs afterwards. */
#define _GNU_SOURCE
#include "job.h"
#include "job-fetch.h"
#include "unpack-proto.h"
#include "callerpath.h"
#include "helper.h"
#include "log.h"
#include "seccomp.h"
#include "stage.h"
#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The job's own doing (its archive, its config): verdict RJ. */
static int refuse(struct jr_job *job, int r)
{
	job->outcome.rejected = true;
	return r;
}

/* A file of the caller's that root reads for the job: resolved by callerpath.h's rule, and a
 * regular file (a FIFO would block the unpack helper, a device would be read forever), unless
 * it is the caller's own descriptor (/dev/fd/N: a pipe of its own, like "-" for stdin). */
static int open_regular(const char *opt, const char *path, struct jr_err *err)
{
	struct stat st;
	int fd = jr_cp_open(opt, path, JR_CP_FILE, err);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) ||
	    (!S_ISREG(st.st_mode) && !jr_cp_is_own_fd(path))) {
		close(fd);
		return jr_err_set(err, EINVAL, "%s '%s' is not a regular file", opt, path);
	}
	return fd;
}

static int open_inputs(struct jr_job *job, struct jr_stage *st, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;

	st->archive_fd = st->conf_fd = -1;
	if (jr_fetch_is_url(spec->archive)) { /* fetched into a memfd (job-fetch.c) */
		st->archive_fd = fcntl(job->stg.fetch.out_fd, F_DUPFD_CLOEXEC, 3);
		if (st->archive_fd < 0)
			return jr_err_set(err, errno, "the fetched archive");
	} else if (spec->archive && !strcmp(spec->archive, "-")) {
		st->archive_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
		if (st->archive_fd < 0)
			return jr_err_set(err, errno, "archive on stdin");
	} else if (spec->archive) {
		st->archive_fd = open_regular("archive", spec->archive, err);
		if (st->archive_fd < 0)
			return st->archive_fd;
	}
	if (spec->job_conf) {
		st->conf_fd = open_regular("--job-conf", spec->job_conf, err);
		if (st->conf_fd < 0)
			return st->conf_fd;
	}
	return 0;
}

static void stage_done_maybe(struct jr_job *job)
{
	struct jr_staging *g = &job->stg;

	if (!g->exited || !g->report_eof || !g->done)
		return;
	uv_timer_stop(&job->timer);
	job->unpacked.wall_usec = (uv_hrtime() - g->t0) / 1000;
	g->done(job);
}

static void kill_helper(struct jr_job *job)
{
	if (job->stg.pidfd >= 0 && !job->stg.exited)
		syscall(SYS_pidfd_send_signal, job->stg.pidfd, SIGKILL, NULL, 0);
}

static void report_cb(uv_poll_t *h, int status, int events)
{
	struct jr_job *job = h->data;
	struct jr_staging *g = &job->stg;
	ssize_t n;

	(void)status;
	(void)events;
	for (;;) {
		if (g->len + 1 >= g->cap) {
			char *nb = g->cap * 2 <= JR_STAGE_REPORT_MAX ? realloc(g->report, g->cap * 2)
								     : NULL;
			if (!nb) { /* a report that large is not one: stop it */
				g->too_big = true;
				kill_helper(job);
				break;
			}
			g->report = nb;
			g->cap *= 2;
		}
		n = read(g->report_fd, g->report + g->len, g->cap - 1 - g->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		g->len += (size_t)n;
	}
	g->report[g->len] = '\0';
	uv_poll_stop(h);
	g->report_eof = true;
	stage_done_maybe(job);
}

static void helper_exit_cb(uv_poll_t *h, int status, int events)
{
	struct jr_job *job = h->data;
	struct jr_staging *g = &job->stg;
	siginfo_t si;

	(void)status;
	(void)events;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)g->pidfd, &si, WEXITED | WNOHANG) < 0 ||
	    si.si_pid == 0)
		return;
	g->wstatus = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
	uv_poll_stop(h);
	g->exited = true;
	stage_done_maybe(job);
}

static void stage_timeout_cb(uv_timer_t *t)
{
	struct jr_job *job = t->data;

	job->stg.timed_out = true;
	kill_helper(job);
}

void jr_job_stage_kill(struct jr_job *job)
{
	jr_job_fetch_kill(job);
	kill_helper(job);
}

int jr_job_poll_close(struct jr_job *job, uv_poll_t *p, bool *open, uv_close_cb close_cb)
{
	bool was = *open;

	*open = false;
	if (!was || uv_is_closing((uv_handle_t *)p))
		return 0;
	p->data = job;
	uv_close((uv_handle_t *)p, close_cb);
	return 1;
}

int jr_job_stage_close(struct jr_job *job, uv_close_cb close_cb)
{
	struct jr_staging *g = &job->stg;

	return jr_job_poll_close(job, &g->exit_poll, &g->exit_open, close_cb) +
	       jr_job_poll_close(job, &g->report_poll, &g->report_open, close_cb) +
	       jr_job_fetch_close(job, close_cb);
}

/* Start the helper and watch it; problems with the caller's files are RJ. */
static int unpack_start(struct jr_job *job, struct jr_err *err)
{
	struct jr_staging *g = &job->stg;
	struct jr_stage st;
	int r;

	memset(&st, 0, sizeof(st));
	st.helper_fd = st.seccomp_fd = -1;
	r = open_inputs(job, &st, err);
	if (r < 0) {
		job->outcome.rejected = true;
		goto out;
	}
	st.ws_fd = job->ws_fd;
	st.uid = job->lease.uid;
	st.gid = job->lease.uid;
	st.cg = &job->cg;
	st.max_entries = job->spec->max_entries;
	st.max_bytes = job->admit->stage_bytes;
	st.max_name = job->spec->max_name;
	g->cap = 4096;
	g->report = malloc(g->cap);
	r = g->report ? 0 : jr_err_set(err, ENOMEM, "unpack report");
	if (r == 0)
		r = st.helper_fd = jr_helper_open("jobrun-unpack", err);
	if (r >= 0)
		r = st.seccomp_fd = jr_seccomp_export(JR_SECCOMP_UNPACK, err);
	if (r >= 0)
		r = jr_stage_spawn(&st, &g->pidfd, &g->report_fd, err);
	if (r >= 0) {
		g->t0 = uv_hrtime();
		r = uv_poll_init(job->loop, &g->exit_poll, g->pidfd);
		g->exit_open = r == 0;
		if (r == 0)
			r = uv_poll_init(job->loop, &g->report_poll, g->report_fd);
		g->report_open = g->exit_open && r == 0;
		g->exit_poll.data = g->report_poll.data = job;
		if (r == 0)
			r = uv_poll_start(&g->exit_poll, UV_READABLE, helper_exit_cb);
		if (r == 0)
			r = uv_poll_start(&g->report_poll, UV_READABLE, report_cb);
		if (r < 0) {
			kill_helper(job);
			r = jr_err_set(err, -r, "watching jobrun-unpack");
		}
	}
out:
	/* the helper has its own copies */
	if (st.archive_fd >= 0)
		close(st.archive_fd);
	if (st.conf_fd >= 0)
		close(st.conf_fd);
	if (st.helper_fd >= 0)
		close(st.helper_fd);
	if (st.seccomp_fd >= 0)
		close(st.seccomp_fd);
	return r < 0 ? r : 0;
}

static int read_report(struct jr_job *job, json_t *rep, struct jr_jobreq *req, bool *have_req,
		       struct jr_err *err)
{
	json_t *conf = json_object_get(rep, JR_UR_JOB_CONF);
	char *text;
	int r;

	if (!json_is_true(json_object_get(rep, JR_UR_OK))) {
		const char *entry = json_string_value(json_object_get(rep, JR_UR_ENTRY));
		const char *why = json_string_value(json_object_get(rep, JR_UR_REASON));

		why = why ? why : "?";
		/* the job config's own error: "job.conf:4: ..." or "--job-conf:4: ..." */
		if (!entry && !strncmp(why, "--job-conf:", 11))
			return refuse(job, jr_err_set(err, 0, "--job-conf %s:%s", job->spec->job_conf,
						      why + 11));
		if (entry && !strncmp(why, entry, strlen(entry)) && why[strlen(entry)] == ':')
			return refuse(job, jr_err_set(err, 0, "job config refused: %s", why));
		if (entry)
			return refuse(job, jr_err_set(err, 0, "archive refused: entry '%s': %s",
						      entry, why));
		return refuse(job, jr_err_set(err, 0, "archive refused: %s", why));
	}
	job->unpacked.done = job->spec->archive != NULL; /* a config alone unpacks nothing */
	job->unpacked.entries = (uint64_t)json_integer_value(json_object_get(rep, JR_UR_ENTRIES));
	job->unpacked.bytes = (uint64_t)json_integer_value(json_object_get(rep, JR_UR_BYTES));
	job->unpacked.stripped_setid =
		(uint64_t)json_integer_value(json_object_get(rep, JR_UR_STRIPPED_SETID));
	*have_req = json_is_object(conf);
	if (!*have_req)
		return 0;
	text = json_dumps(conf, JSON_COMPACT);
	if (!text)
		return jr_err_set(err, ENOMEM, "job request");
	r = jr_jobreq_from_json(text, req, err);
	free(text);
	return r;
}

/* stdin named by the job config: a file the job controls, opened beneath the workspace. */
static int open_job_stdin(struct jr_job *job, int *stdin_fd, struct jr_err *err)
{
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	struct stat st;
	int fd;

	fd = (int)syscall(SYS_openat2, job->ws_fd, job->spec->stdin_job, &how, sizeof(how));
	if (fd < 0)
		return refuse(job, jr_err_set(err, errno, "stdin '%s'", job->spec->stdin_job));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(job, jr_err_set(err, 0, "stdin '%s': not a regular file",
					      job->spec->stdin_job));
	}
	fcntl(fd, F_SETFL, 0);
	if (*stdin_fd >= 0)
		close(*stdin_fd);
	*stdin_fd = fd;
	return 0;
}

/* The archive by URL is in its memfd (or the fetch failed: fetch.r): unpack it as any other,
 * unless the job was cancelled meanwhile. The memfd is the unpack helper's from then on. */
static void fetched_cb(struct jr_job *job)
{
	struct jr_fetching *f = &job->stg.fetch;

	if (f->r == 0 && !job->cancelled) {
		f->r = unpack_start(job, &f->err);
		if (f->r == 0) {
			close(f->out_fd);
			f->out_fd = -1;
			job->timer.data = job;
			uv_timer_start(&job->timer, stage_timeout_cb, JR_STAGE_TIMEOUT_MS, 0);
			return;
		}
	}
	job->stg.done(job);
}

int jr_job_stage_start(struct jr_job *job, void (*done)(struct jr_job *job),
		       struct jr_err *err)
{
	struct jr_spec *spec = job->spec;
	char job_dir[4096];
	int r;

	/* the lease records the workspace before it is mounted (sweep.h) */
	snprintf(job_dir, sizeof(job_dir), "%s/ws/%u", spec->runtime_dir, job->lease.slot);
	jr_uid_lease_note(&job->lease, "ws", job_dir);
	jr_uid_lease_flush(&job->lease);
	job->ws = jr_ws_create(spec->runtime_dir, job->lease.slot, job->admit->stage_bytes,
			       job->lease.uid, job->lease.uid, err);
	if (!job->ws)
		return -err->code;
	snprintf(job_dir, sizeof(job_dir), "%s/job", job->ws);
	job->ws_fd = open(job_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (job->ws_fd < 0)
		return jr_err_set(err, errno, "open %s", job_dir);
	job->stg.done = done;
	if (jr_fetch_is_url(spec->archive)) /* unpacked once fetched: fetched_cb */
		return jr_job_fetch_start(job, fetched_cb, err);
	r = unpack_start(job, err);
	if (r < 0)
		return r;
	job->timer.data = job;
	uv_timer_start(&job->timer, stage_timeout_cb, JR_STAGE_TIMEOUT_MS, 0);
	return 0;
}

/* The helper is gone and its report read: the job's config, admission, its disk limit, its
 * output directory and stdin. */
int jr_job_stage_finish(struct jr_job *job, int *stdin_fd, struct jr_err *err)
{
	struct jr_staging *g = &job->stg;
	struct jr_spec *spec = job->spec;
	struct jr_jobreq req;
	bool have_req = false;
	json_error_t jerr;
	json_t *rep = NULL;
	int r;

	if (g->fetch.r < 0) { /* the fetch failed, or the unpack helper did not start after it */
		*err = g->fetch.err;
		return g->fetch.r;
	}
	if (g->timed_out)
		return jr_err_set(err, ETIMEDOUT, "jobrun-unpack did not finish in %d s",
				  JR_STAGE_TIMEOUT_MS / 1000);
	if (g->too_big)
		return jr_err_set(err, EMSGSIZE, "jobrun-unpack's report is too large");
	r = jr_stage_outcome(g->report, g->wstatus, err);
	if (r < 0 && jr_cg_unpack_oom(&job->cg, job->cgh, err) < 0)
		return refuse(job, -EINVAL); /* the job's files did not fit its memory: RJ */
	if (r < 0)
		return r;
	rep = json_loads(g->report, 0, &jerr);
	if (!rep)
		return jr_err_set(err, EPROTO, "jobrun-unpack's report: %s", jerr.text);
	jr_jobreq_init(&req);
	r = read_report(job, rep, &req, &have_req, err);
	json_decref(rep);
	if (r == 0) {
		r = job->admit->fn(job->admit->data, have_req ? &req : NULL, spec, err);
		if (r == -EINVAL)
			job->outcome.rejected = true;
	}
	jr_jobreq_free(&req);
	if (r < 0)
		return r;
	r = jr_ws_resize(job->ws, spec->disk_bytes, err);
	if (r < 0) {
		job->outcome.rejected = r == -ENOSPC;
		return r;
	}
	if (spec->outputs.n) { /* the caller's directory, checked before the job runs */
		job->out_dir_fd = jr_cp_open_dir_create("--output-dir", spec->output_dir,
							&job->out_dir_made, err);
		if (job->out_dir_fd < 0)
			return refuse(job, job->out_dir_fd);
	}
	if (spec->stdin_job && !spec->stdin_path)
		return open_job_stdin(job, stdin_fd, err);
	return 0;
}

/* Outputs are collected within this bound (the job's wall time does not cover them). */
#define COLLECT_MS 30000

void jr_job_collect(struct jr_job *job)
{
	const struct jr_spec *spec = job->spec;
	struct jr_err err;

	if (job->ws_fd < 0 || job->out_dir_fd < 0 || !spec->outputs.n || job->outputs.v ||
	    job->pid <= 0) /* a job that never ran has no outputs */
		return;
	jr_err_clear(&err);
	if (jr_collect(job->ws_fd, &spec->outputs, job->out_dir_fd, spec->output_limit, COLLECT_MS,
		       &job->outputs, &err) < 0 && !job->outcome.internal_error) {
		job->outcome.internal_error = true;
		snprintf(job->outcome.message, sizeof(job->outcome.message), "outputs: %s",
			 err.msg);
	}
}

void jr_job_unstage(struct jr_job *job)
{
	struct jr_err err;

	if (job->ws_fd >= 0)
		close(job->ws_fd);
	job->ws_fd = -1;
	if (job->out_dir_fd >= 0)
		close(job->out_dir_fd);
	job->out_dir_fd = -1;
	/* made for outputs that never came (the job failed, or made none): nothing to keep, so
	 * STATE_DIR does not grow by an empty directory a job */
	if (jr_cp_unmake(&job->out_dir_made)) {
		free(job->spec->output_dir);
		job->spec->output_dir = NULL;
	}
	if (job->stg.pidfd >= 0 && !job->stg.exited) { /* a start that failed while it ran */
		siginfo_t si;

		kill_helper(job);
		waitid((idtype_t)P_PIDFD, (id_t)job->stg.pidfd, &si, WEXITED);
	}
	if (job->stg.pidfd >= 0)
		close(job->stg.pidfd);
	if (job->stg.report_fd >= 0)
		close(job->stg.report_fd);
	job->stg.pidfd = job->stg.report_fd = -1;
	jr_job_fetch_release(job);
	free(job->stg.report);
	job->stg.report = NULL;
	jr_err_clear(&err);
	if (job->ws && jr_ws_destroy(job->ws, &err) < 0)
		jr_error("job=%s %s", job->spec->id, err.msg);
	free(job->ws);
	job->ws = NULL;
}
