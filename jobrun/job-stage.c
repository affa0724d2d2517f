/* job-stage.c - a tarball job: its workspace, the unpack helper's report, the job config it
 * carried (parsed by the helper, never by root), admission, and its outputs afterwards. */
#define _GNU_SOURCE
#include "job.h"
#include "callerpath.h"
#include "helper.h"
#include "log.h"
#include "seccomp.h"
#include "stage.h"
#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The job's own doing (its archive, its config): verdict RJ. */
static int refuse(struct jr_job *job, int r)
{
	job->outcome.rejected = true;
	return r;
}

/* A file of the caller's that root reads for the job: resolved by callerpath.h's rule, and a
 * regular file (a FIFO would block the unpack helper, a device would be read forever). */
static int open_regular(const char *opt, const char *path, struct jr_err *err)
{
	struct stat st;
	int fd = jr_cp_open(opt, path, JR_CP_FILE, err);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return jr_err_set(err, EINVAL, "%s '%s' is not a regular file", opt, path);
	}
	return fd;
}

static int open_inputs(struct jr_job *job, struct jr_stage *st, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;

	st->archive_fd = st->conf_fd = -1;
	if (spec->archive && !strcmp(spec->archive, "-")) {
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

/* Run the helper; its report in *rep. Problems with the caller's files are RJ. */
static int unpack(struct jr_job *job, json_t **rep, struct jr_err *err)
{
	struct jr_stage st;
	json_error_t jerr;
	char *report = NULL;
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
	st.helper_fd = jr_helper_open("jobrun-unpack", err);
	r = st.helper_fd;
	if (r >= 0)
		r = st.seccomp_fd = jr_seccomp_export(JR_SECCOMP_UNPACK, err);
	if (r >= 0)
		r = jr_stage_run(&st, &report, err);
	if (r >= 0) {
		*rep = json_loads(report, 0, &jerr);
		if (!*rep)
			r = jr_err_set(err, EPROTO, "jobrun-unpack's report: %s", jerr.text);
	}
out:
	free(report);
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
	json_t *conf = json_object_get(rep, "job_conf");
	char *text;
	int r;

	if (!json_is_true(json_object_get(rep, "ok"))) {
		const char *entry = json_string_value(json_object_get(rep, "entry"));
		const char *why = json_string_value(json_object_get(rep, "reason"));

		if (entry)
			return refuse(job, jr_err_set(err, 0, "archive refused: entry '%s': %s",
						      entry, why ? why : "?"));
		return refuse(job, jr_err_set(err, 0, "archive refused: %s", why ? why : "?"));
	}
	job->unpacked.done = job->spec->archive != NULL; /* a config alone unpacks nothing */
	job->unpacked.entries = (uint64_t)json_integer_value(json_object_get(rep, "entries"));
	job->unpacked.bytes = (uint64_t)json_integer_value(json_object_get(rep, "bytes"));
	job->unpacked.stripped_setid =
		(uint64_t)json_integer_value(json_object_get(rep, "stripped_setid"));
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

int jr_job_stage(struct jr_job *job, int *stdin_fd, struct jr_err *err)
{
	struct jr_spec *spec = job->spec;
	char job_dir[4096];
	struct jr_jobreq req;
	bool have_req = false;
	json_t *rep = NULL;
	int r;

	jr_jobreq_init(&req);
	job->ws = jr_ws_create(spec->runtime_dir, job->lease.slot, job->admit->stage_bytes,
			       job->lease.uid, job->lease.uid, err);
	if (!job->ws)
		return -err->code;
	snprintf(job_dir, sizeof(job_dir), "%s/job", job->ws);
	job->ws_fd = open(job_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (job->ws_fd < 0)
		return jr_err_set(err, errno, "open %s", job_dir);
	r = unpack(job, &rep, err);
	if (r == 0)
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
		job->out_dir_fd = jr_cp_open_dir_create("--output-dir", spec->output_dir, err);
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

	if (job->ws_fd < 0 || job->out_dir_fd < 0 || !spec->outputs.n || job->outputs.v)
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
	jr_err_clear(&err);
	if (job->ws && jr_ws_destroy(job->ws, &err) < 0)
		jr_error("job=%s %s", job->spec->id, err.msg);
	free(job->ws);
	job->ws = NULL;
}
