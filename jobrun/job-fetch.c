/* job-fetch.c - a job tarball by URL: jobrun-fetch downloads it into a memfd, watched on the
 * loop like the unpack helper (its pidfd and its report pipe, under job->timer), before
 * job-stage.c unpacks that memfd exactly as it unpacks a file.
 *
 * Why a memfd: nothing lands on a disk or in a directory, so nothing is left behind however
 * the job ends (jobrun killed included); its pages are charged to the job's cgroup, where the
 * helper writes them, and are freed when the unpack helper, its last user, exits. The size cap
 * is the job's staging disk (jr_admit.stage_bytes: the profile's maximum disk, or --disk),
 * which is the most the unpacked files may use too: jobrun has no separate archive limit. */
#define _GNU_SOURCE
#include "job-fetch.h"
#include "cfgparse.h"
#include "conf.h"
#include "fetch-proto.h"
#include "helper.h"
#include "log.h"
#include "stage.h"
#include "units.h"
#include "unpack-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* jobrun's own bound on the helper, beyond the timeout it enforces itself. */
#define FETCH_GRACE_MS 10000

bool jr_fetch_is_url(const char *s)
{
	return s && (!strncasecmp(s, "https://", 8) || !strncasecmp(s, "http://", 7));
}

int jr_fetch_file_path(const char *s, char **path)
{
	const char *p;
	char *out, *o;

	*path = NULL;
	if (strncasecmp(s, "file://", 7))
		return 0;
	p = s + 7;
	if (!strncasecmp(p, "localhost/", 10))
		p += 9;
	if (*p != '/')
		return -EINVAL; /* file://otherhost/...: not this machine's */
	out = o = malloc(strlen(p) + 1);
	if (!out)
		return -ENOMEM;
	for (; *p && *p != '?' && *p != '#'; p++) {
		if (*p == '%') {
			int hi = jr_hexval(p[1]), lo = hi < 0 ? -1 : jr_hexval(p[2]);

			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return -EINVAL;
			}
			*o++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	if (*p) { /* a query or fragment means nothing for a file */
		free(out);
		return -EINVAL;
	}
	*path = out;
	return 1;
}

static void kill_fetch(struct jr_job *job)
{
	if (job->stg.fetch.pidfd >= 0 && !job->stg.fetch.exited)
		syscall(SYS_pidfd_send_signal, job->stg.fetch.pidfd, SIGKILL, NULL, 0);
}

/* The URL for a message: a long one is cut (with "...") so that the reason still fits. */
static const char *short_url(const char *url, char *buf, size_t len)
{
	if (strlen(url) < len)
		return url;
	snprintf(buf, len - 3, "%s", url);
	strcat(buf, "...");
	return buf;
}

/* The helper's outcome: 0, or -errno with the message in fetch.err (RJ when the fetch itself
 * failed: the job's URL; XX when jobrun-fetch could not do its work). */
static int outcome(struct jr_job *job)
{
	struct jr_fetching *f = &job->stg.fetch;
	char lim[32], ubuf[256];
	const char *url = short_url(job->spec->archive, ubuf, sizeof(ubuf));
	int ws = f->wstatus, code;

	while (f->len && (f->report[f->len - 1] == '\n' || f->report[f->len - 1] == ' '))
		f->report[--f->len] = '\0';
	if (f->timed_out) {
		job->outcome.rejected = true;
		return jr_err_set(&f->err, 0, "cannot fetch %s: no answer within %llu s", url,
				  (unsigned long long)(job->admit->fetch->timeout_usec / 1000000 +
						       FETCH_GRACE_MS / 1000));
	}
	if (!WIFEXITED(ws)) {
		job->outcome.rejected = !job->cancelled;
		return jr_err_set(&f->err, 0, "cannot fetch %s: jobrun-fetch was killed by signal "
				  "%d%s", url, WTERMSIG(ws), WTERMSIG(ws) == SIGKILL ?
				  " (out of the job's memory? the download is charged to it)" : "");
	}
	code = WEXITSTATUS(ws);
	switch (code) {
	case JR_FETCH_EXIT_OK:
		if (strncmp(f->report, "ok ", 3))
			return jr_err_set(&f->err, EPROTO, "jobrun-fetch: a report that is not one: "
					  "'%s'", f->report);
		return 0;
	case JR_FETCH_EXIT_FAILED:
		job->outcome.rejected = true;
		return jr_err_set(&f->err, 0, "cannot fetch %s: %s", url,
				  f->len ? f->report : "(no reason given)");
	case JR_FETCH_EXIT_TOO_BIG:
		job->outcome.rejected = true;
		return jr_err_set(&f->err, 0, "cannot fetch %s: larger than the archive limit %s "
				  "(the job's staging disk)", url,
				  jr_format_size(job->admit->stage_bytes, lim, sizeof(lim)));
	case JR_FETCH_EXIT_INTERNAL:
		return jr_err_set(&f->err, EIO, "jobrun-fetch: %s", f->len ? f->report : "failed");
	default:
		return jr_err_set(&f->err, EIO, "jobrun-fetch %s (exit status %d)",
				  jr_stage_exit_reason(code), code);
	}
}

static void done_maybe(struct jr_job *job)
{
	struct jr_fetching *f = &job->stg.fetch;

	if (!f->exited || !f->report_eof || !f->running)
		return;
	f->running = false;
	uv_timer_stop(&job->timer);
	f->r = outcome(job);
	if (f->r == 0 && lseek(f->out_fd, 0, SEEK_SET) < 0)
		f->r = jr_err_set(&f->err, errno, "the fetched archive");
	if (f->r < 0)
		jr_info("job=%s %s", job->spec->id, f->err.msg);
	f->done(job);
}

static void report_cb(uv_poll_t *h, int status, int events)
{
	struct jr_job *job = h->data;
	struct jr_fetching *f = &job->stg.fetch;
	ssize_t n;

	(void)status;
	(void)events;
	for (;;) {
		char sink[256];
		bool room = f->len + 1 < sizeof(f->report);

		n = room ? read(f->report_fd, f->report + f->len, sizeof(f->report) - 1 - f->len)
			 : read(f->report_fd, sink, sizeof(sink)); /* the rest is not read */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		if (room)
			f->len += (size_t)n;
	}
	f->report[f->len] = '\0';
	uv_poll_stop(h);
	f->report_eof = true;
	done_maybe(job);
}

static void exit_cb(uv_poll_t *h, int status, int events)
{
	struct jr_job *job = h->data;
	struct jr_fetching *f = &job->stg.fetch;
	siginfo_t si;

	(void)status;
	(void)events;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)f->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	f->wstatus = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
	uv_poll_stop(h);
	f->exited = true;
	done_maybe(job);
}

static void timeout_cb(uv_timer_t *t)
{
	struct jr_job *job = t->data;

	job->stg.fetch.timed_out = true;
	kill_fetch(job);
}

/* jobrun-fetch's argv (fetch-proto.h): what jobrun.conf allows, the cap, the URL. */
static int push_arg(struct jr_strv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int push_arg(struct jr_strv *v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? -ENOMEM : jr_strv_push_take(v, s);
}

static int make_argv(const struct jr_job *job, bool ca, struct jr_strv *v)
{
	const struct jr_fetch_conf *fc = job->admit->fetch;
	/* an unlimited disk: no cap of the fetch's own (the job's memory limit still holds) */
	uint64_t cap = job->admit->stage_bytes >= (1ULL << 62) ? 0 : job->admit->stage_bytes;
	size_t i;
	int r = 0;

	r |= push_arg(v, "jobrun-fetch");
	r |= push_arg(v, "--max-bytes=%llu", (unsigned long long)cap);
	r |= push_arg(v, "--connect-timeout-ms=%llu",
		      (unsigned long long)(fc->connect_timeout_usec + 999) / 1000);
	r |= push_arg(v, "--timeout-ms=%llu", (unsigned long long)(fc->timeout_usec + 999) / 1000);
	if (fc->allow_http)
		r |= push_arg(v, "--allow-http");
	if (ca)
		r |= push_arg(v, "--ca-fd");
	for (i = 0; i < fc->allow.n; i++)
		r |= push_arg(v, "--allow=%s", fc->allow.v[i]);
	r |= push_arg(v, "--");
	r |= push_arg(v, "%s", job->spec->archive);
	return r ? -ENOMEM : 0;
}

/* The admin's CA file, opened as root (jobrun-fetch, as the job's uid, may not read it). */
static int open_ca(const char *path, struct jr_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return jr_err_set(err, errno, "jobrun.conf: fetch { ca_file = \"%s\" }", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return jr_err_set(err, EINVAL, "jobrun.conf: fetch { ca_file = \"%s\" }: not a "
				  "regular file", path);
	}
	return fd;
}

static int spawn(struct jr_job *job, struct jr_err *err)
{
	struct jr_fetching *f = &job->stg.fetch;
	const struct jr_fetch_conf *fc = job->admit->fetch;
	struct jr_fetch_spawn fs = { .helper_fd = -1, .ca_fd = -1, .uid = job->lease.uid,
				     .gid = job->lease.uid, .cg = &job->cg };
	struct jr_strv argv = { 0 };
	int r;

	f->out_fd = memfd_create("jobrun-fetch", MFD_CLOEXEC);
	if (f->out_fd < 0)
		return jr_err_set(err, errno, "memfd for the fetched archive");
	fs.out_fd = f->out_fd;
	r = fc->ca_file ? (fs.ca_fd = open_ca(fc->ca_file, err)) : 0;
	if (r >= 0)
		r = fs.helper_fd = jr_helper_open("jobrun-fetch", err);
	if (r >= 0 && make_argv(job, fs.ca_fd >= 0, &argv) < 0)
		r = jr_err_set(err, ENOMEM, "jobrun-fetch's arguments");
	fs.argv = argv.v;
	if (r >= 0)
		r = jr_stage_spawn_fetch(&fs, &f->pidfd, &f->report_fd, err);
	if (fs.ca_fd >= 0)
		close(fs.ca_fd);
	if (fs.helper_fd >= 0)
		close(fs.helper_fd);
	jr_strv_free(&argv);
	return r < 0 ? r : 0;
}

int jr_job_fetch_start(struct jr_job *job, void (*done)(struct jr_job *job), struct jr_err *err)
{
	struct jr_fetching *f = &job->stg.fetch;
	const struct jr_fetch_conf *fc = job->admit->fetch;
	int r;

	f->done = done;
	if (!fc || !fc->allow.n) {
		job->outcome.rejected = true;
		char ubuf[256];

		return jr_err_set(err, 0, "cannot fetch %s: no host is allowed (jobrun.conf: fetch "
				  "{ allow = {...} })", short_url(job->spec->archive, ubuf,
								  sizeof(ubuf)));
	}
	r = spawn(job, err);
	if (r < 0)
		return r;
	f->running = true;
	r = uv_poll_init(job->loop, &f->exit_poll, f->pidfd);
	f->exit_open = r == 0;
	if (r == 0)
		r = uv_poll_init(job->loop, &f->report_poll, f->report_fd);
	f->report_open = f->exit_open && r == 0;
	f->exit_poll.data = f->report_poll.data = job;
	if (r == 0)
		r = uv_poll_start(&f->exit_poll, UV_READABLE, exit_cb);
	if (r == 0)
		r = uv_poll_start(&f->report_poll, UV_READABLE, report_cb);
	if (r < 0) {
		f->running = false;
		kill_fetch(job);
		return jr_err_set(err, -r, "watching jobrun-fetch");
	}
	job->timer.data = job;
	uv_timer_start(&job->timer, timeout_cb, fc->timeout_usec / 1000 + FETCH_GRACE_MS, 0);
	return 0;
}

void jr_job_fetch_kill(struct jr_job *job)
{
	kill_fetch(job);
}

int jr_job_fetch_close(struct jr_job *job, uv_close_cb close_cb)
{
	struct jr_fetching *f = &job->stg.fetch;

	return jr_job_poll_close(job, &f->exit_poll, &f->exit_open, close_cb) +
	       jr_job_poll_close(job, &f->report_poll, &f->report_open, close_cb);
}

void jr_job_fetch_release(struct jr_job *job)
{
	struct jr_fetching *f = &job->stg.fetch;

	if (f->pidfd >= 0 && !f->exited) {
		siginfo_t si;

		kill_fetch(job);
		waitid((idtype_t)P_PIDFD, (id_t)f->pidfd, &si, WEXITED);
	}
	if (f->pidfd >= 0)
		close(f->pidfd);
	if (f->report_fd >= 0)
		close(f->report_fd);
	if (f->out_fd >= 0)
		close(f->out_fd);
	f->pidfd = f->report_fd = f->out_fd = -1;
}
