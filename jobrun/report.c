/* report.c - jobrun-report: delivers the results in STATE_DIR/outbox to their report targets
 * (outbox.h). The only program of jobrun that links libcurl, so that `jobrun run` does not pay
 * for it at every start.
 *
 * One libuv loop drives libcurl's multi interface (curl_multi_socket_action with a uv_poll_t a
 * socket and one uv_timer_t): no thread a request, nothing blocks, any number of reports in
 * flight. The outbox directory is watched (inotify through uv_fs_event) and read again after
 * each event. Each entry is POSTed with its job id as Idempotency-Key; a 2xx removes it; any
 * other answer, or none, is retried after retry_min, doubled each time up to retry_max, each
 * gap drawn from [gap/2, gap) (jitter: reports of jobs that ended together do not come back
 * together); 4xx other than 408, 425 and 429 will never succeed and go to the dead-letter
 * directory at once; so does an entry older than give_up (its age counts from when it was
 * written, so a restart does not extend it), with the reason in NAME.why and in the log.
 *
 *   jobrun-report [--config FILE] [--drain] [--log FILE] [-v]
 * --drain: exit once the outbox is empty (what `jobrun run` starts); without it, run until
 * SIGTERM (what `jobrun serve` keeps running). SIGHUP reads jobrun.conf again (a broken file
 * keeps the old one). One reporter at a time holds STATE_DIR/outbox/.lock; another waits for
 * it (or, with --drain, leaves the work to it). */
#define _GNU_SOURCE
#include "conf.h"
#include "err.h"
#include "log.h"
#include "outbox.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_BODY (64u << 20)  /* a result is a few KiB: a bigger entry is not one of ours */

struct entry {
	struct entry *next;
	char name[NAME_MAX + 1];
	char target[JR_REQ_MAX_PROFILE + 1];
	char id[128];
	char *body;
	size_t len;
	time_t born;            /* when it was written: give_up counts from there */
	unsigned attempts;
	uv_timer_t timer;       /* the next attempt */
	CURL *easy;             /* an attempt in flight, else NULL (its timer waits) */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char last[300];         /* why the last attempt failed */
};

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
};

static struct {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t curl_timer, lock_timer;
	uv_fs_event_t watch;
	uv_signal_t sigterm, sigint, sighup;
	struct jr_conf conf;
	const char *config;
	char outbox[PATH_MAX], dead[PATH_MAX];
	int outbox_fd, lock_fd;
	bool drain, locked, stopping;
	struct entry *entries;
	unsigned nentries;
} R;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void entry_closed(uv_handle_t *h)
{
	struct entry *e = h->data;

	free(e->body);
	free(e);
}

static void entry_drop(struct entry *e)
{
	struct entry **pp;

	for (pp = &R.entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	R.nentries--;
	if (e->easy) {
		curl_multi_remove_handle(R.multi, e->easy);
		curl_easy_cleanup(e->easy);
		e->easy = NULL;
	}
	curl_slist_free_all(e->hdrs);
	e->hdrs = NULL;
	uv_close((uv_handle_t *)&e->timer, entry_closed);
}

static void maybe_done(void);

/* Delivered: remove it, durably. */
static void entry_delivered(struct entry *e, long status)
{
	if (unlinkat(R.outbox_fd, e->name, 0) < 0 && errno != ENOENT)
		jr_error("report: %s: delivered to %s but cannot remove it: %s", e->name, e->target,
			 strerror(errno));
	fsync(R.outbox_fd);
	jr_info("report: delivered job %s to %s (HTTP %ld, attempt %u)", e->id, e->target, status,
		e->attempts);
	entry_drop(e);
	maybe_done();
}

/* Given up: STATE_DIR/dead-letter/NAME, with NAME.why. */
static void entry_dead(struct entry *e, const char *why)
{
	char path[PATH_MAX + NAME_MAX + 8];
	int fd;

	mkdir(R.dead, 0700);
	snprintf(path, sizeof(path), "%s/%s.why", R.dead, e->name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s\n", why);
		fsync(fd);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s", R.dead, e->name);
	if (renameat(R.outbox_fd, e->name, AT_FDCWD, path) < 0 && errno != ENOENT)
		jr_error("report: %s: cannot move it to %s: %s", e->name, R.dead, strerror(errno));
	fsync(R.outbox_fd);
	jr_error("report: gave up on job %s for %s after %u attempt(s): %s; the result is in %s",
		 e->id, e->target, e->attempts, why, path);
	entry_drop(e);
	maybe_done();
}

static void attempt(uv_timer_t *t);

/* Failed: try again later, or give up. */
static void entry_failed(struct entry *e, bool permanent)
{
	const struct jr_report_target *t = jr_conf_report(&R.conf, e->target);
	uint64_t gap, age;
	unsigned shift;
	uint32_t rnd = 0;

	jr_warn("report: job %s to %s: attempt %u failed: %s", e->id, e->target, e->attempts,
		e->last);
	if (permanent) {
		entry_dead(e, e->last);
		return;
	}
	age = now_usec() - (uint64_t)e->born * 1000000u;
	if (t && age >= t->give_up_usec) {
		char why[400];

		snprintf(why, sizeof(why), "older than give_up (%llu s); last: %s",
			 (unsigned long long)(t->give_up_usec / 1000000u), e->last);
		entry_dead(e, why);
		return;
	}
	shift = e->attempts > 30 ? 30 : e->attempts - 1;
	gap = t ? t->retry_min_usec << shift : 1000000u;
	if (t && (gap > t->retry_max_usec || gap >> shift != t->retry_min_usec))
		gap = t->retry_max_usec;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)now_usec();
	gap = gap / 2 + (uint64_t)((double)(gap / 2) * (rnd / 4294967296.0));
	if (t && age + gap > t->give_up_usec) /* the last try at give_up, not after it */
		gap = t->give_up_usec - age;
	uv_timer_start(&e->timer, attempt, gap / 1000 + 1, 0);
}

static size_t discard(char *p, size_t size, size_t n, void *data)
{
	(void)p;
	(void)data;
	return size * n;
}

/* The first line of the admin's token file. */
static int read_token(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -ENODATA;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n ? 0 : -ENODATA;
}

static void attempt(uv_timer_t *tm)
{
	struct entry *e = tm->data;
	const struct jr_report_target *t = jr_conf_report(&R.conf, e->target);
	char h[1200];
	CURL *c;

	if (R.stopping)
		return;
	e->attempts++;
	if (!t) {
		snprintf(e->last, sizeof(e->last), "no report target %s in %s", e->target,
			 R.conf.file ? R.conf.file : "the built-in configuration");
		entry_failed(e, true);
		return;
	}
	c = e->easy = curl_easy_init();
	if (!c) {
		snprintf(e->last, sizeof(e->last), "curl_easy_init failed");
		entry_failed(e, false);
		return;
	}
	curl_slist_free_all(e->hdrs);
	e->hdrs = NULL;
	e->hdrs = curl_slist_append(e->hdrs, "Content-Type: application/json");
	snprintf(h, sizeof(h), "Idempotency-Key: %s", e->id);
	e->hdrs = curl_slist_append(e->hdrs, h);
	e->hdrs = curl_slist_append(e->hdrs, "Expect:");
	if (t->bearer_token_file) {
		char tok[1024];
		int r = read_token(t->bearer_token_file, tok, sizeof(tok));

		if (r < 0) {
			snprintf(e->last, sizeof(e->last), "bearer_token_file %s: %s",
				 t->bearer_token_file, r == -ENODATA ? "empty" : strerror(-r));
			curl_easy_cleanup(c);
			e->easy = NULL;
			entry_failed(e, false);
			return;
		}
		snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
		e->hdrs = curl_slist_append(e->hdrs, h);
		explicit_bzero(tok, sizeof(tok));
	}
	e->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");   /* never a proxy from the environment */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, e->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jobrun-report/" JR_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(t->connect_timeout_usec / 1000));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t->timeout_usec / 1000));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, t->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, t->tls_verify ? 2L : 0L);
	if (t->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	if (t->client_cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, t->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, t->client_key ? t->client_key : t->client_cert);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->errbuf);
	curl_easy_setopt(c, CURLOPT_PRIVATE, e);
	if (curl_multi_add_handle(R.multi, c) != CURLM_OK) {
		snprintf(e->last, sizeof(e->last), "curl_multi_add_handle failed");
		curl_easy_cleanup(c);
		e->easy = NULL;
		entry_failed(e, false);
	}
}

static const char *t_url(const struct entry *e)
{
	const struct jr_report_target *t = jr_conf_report(&R.conf, e->target);

	return t ? t->url : e->target;
}

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(R.multi, &left))) {
		struct entry *e = NULL;
		long status = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&e);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (m->data.result != CURLE_OK)
			snprintf(e->last, sizeof(e->last), "%s: %s", t_url(e),
				 e->errbuf[0] ? e->errbuf : curl_easy_strerror(m->data.result));
		curl_multi_remove_handle(R.multi, e->easy);
		curl_easy_cleanup(e->easy);
		e->easy = NULL;
		if (m->data.result == CURLE_OK && status >= 200 && status < 300) {
			entry_delivered(e, status);
			continue;
		}
		if (m->data.result == CURLE_OK)
			snprintf(e->last, sizeof(e->last), "%s answered HTTP %ld", t_url(e), status);
		/* a 4xx the receiver will answer again (but timeouts and rate limits) */
		entry_failed(e, m->data.result == CURLE_OK && status >= 400 && status < 500 &&
				status != 408 && status != 425 && status != 429);
	}
}

/* libcurl's sockets and timer on the loop */
static void poll_cb(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(R.multi, s->fd, flags, &running);
	check_done();
}

static void sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sock *s = socketp;
	int ev = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, sock_closed);
			curl_multi_assign(R.multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->fd = fd;
		if (uv_poll_init_socket(R.loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		curl_multi_assign(R.multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, poll_cb);
	return 0;
}

static void curl_timer_cb(uv_timer_t *t)
{
	int running;

	(void)t;
	curl_multi_socket_action(R.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int timer_cb(CURLM *multi, long ms, void *userp)
{
	(void)multi;
	(void)userp;
	if (ms < 0)
		uv_timer_stop(&R.curl_timer);
	else
		uv_timer_start(&R.curl_timer, curl_timer_cb, (uint64_t)ms, 0);
	return 0;
}

/* One new file of the outbox: read it and send it now. */
static void entry_new(const char *name)
{
	struct entry *e;
	struct stat st;
	const char *at = strchr(name, '@');
	json_t *o;
	ssize_t n;
	int fd;

	if (!at || (size_t)(at - name) > JR_REQ_MAX_PROFILE || at == name)
		return; /* not one of ours: left alone */
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	snprintf(e->name, sizeof(e->name), "%s", name);
	memcpy(e->target, name, (size_t)(at - name));
	fd = openat(R.outbox_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_BODY ||
	    !(e->body = malloc((size_t)st.st_size + 1))) {
		if (fd >= 0)
			close(fd);
		free(e);
		return;
	}
	n = read(fd, e->body, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(e->body);
		free(e);
		return;
	}
	e->len = (size_t)n;
	e->body[n] = '\0';
	e->born = st.st_mtime;
	o = json_loadb(e->body, e->len, 0, NULL);
	snprintf(e->id, sizeof(e->id), "%s",
		 o && json_is_string(json_object_get(o, "id")) &&
		 json_string_length(json_object_get(o, "id")) ?
		 json_string_value(json_object_get(o, "id")) : name);
	json_decref(o);
	e->id[strcspn(e->id, "\r\n")] = '\0';
	uv_timer_init(R.loop, &e->timer);
	e->timer.data = e;
	e->next = R.entries;
	R.entries = e;
	R.nentries++;
	jr_info("report: job %s for %s: queued (%s)", e->id, e->target, name);
	uv_timer_start(&e->timer, attempt, 0, 0);
}

/* An entry of the outbox: NAME.json, not a hidden (temporary) file. */
static bool entry_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n >= 6 && !strcmp(name + n - 5, ".json");
}

/* Read the outbox: every entry not known yet is sent. */
static void scan(void)
{
	struct entry *e;
	struct dirent *d;
	DIR *dir;
	int fd;

	if (!R.locked || R.stopping)
		return;
	fd = openat(R.outbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		if (!entry_name(d->d_name))
			continue;
		for (e = R.entries; e; e = e->next)
			if (!strcmp(e->name, d->d_name))
				break;
		if (!e)
			entry_new(d->d_name);
	}
	closedir(dir);
}

static void watch_cb(uv_fs_event_t *h, const char *name, int events, int status)
{
	(void)h;
	(void)events;
	(void)status;
	/* the reporter's own log and lock live there too: only an entry's name is worth a scan
	 * (no name: the kernel's queue overflowed, so look) */
	if (!name || entry_name(name))
		scan();
}

static void stop(void)
{
	struct entry *e;

	if (R.stopping)
		return;
	R.stopping = true;
	while ((e = R.entries))
		entry_drop(e);
	uv_fs_event_stop(&R.watch);
	uv_close((uv_handle_t *)&R.watch, NULL);
	uv_close((uv_handle_t *)&R.curl_timer, NULL);
	uv_close((uv_handle_t *)&R.lock_timer, NULL);
	uv_close((uv_handle_t *)&R.sigterm, NULL);
	uv_close((uv_handle_t *)&R.sigint, NULL);
	uv_close((uv_handle_t *)&R.sighup, NULL);
}

static bool take_lock(void)
{
	if (flock(R.lock_fd, LOCK_EX | LOCK_NB) < 0)
		return false;
	R.locked = true;
	if (ftruncate(R.lock_fd, 0) == 0) { /* the holder's pid, for the admin */
		char pid[24];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

		if (pwrite(R.lock_fd, pid, (size_t)n, 0) != n)
			jr_warn("report: cannot write the pid to %s/" JR_OUTBOX_LOCK, R.outbox);
	}
	return true;
}

/* --drain: the outbox is empty. Drop the lock first, then look once more: a `jobrun run`
 * that wrote an entry and found the lock held counts on this last look. */
static void maybe_done(void)
{
	if (!R.drain || R.nentries || R.stopping)
		return;
	flock(R.lock_fd, LOCK_UN);
	R.locked = false;
	if (take_lock()) {
		scan();
		if (R.nentries)
			return;
		flock(R.lock_fd, LOCK_UN);
		R.locked = false;
	}
	stop();
}

static void lock_timer_cb(uv_timer_t *t)
{
	if (!take_lock())
		return;
	uv_timer_stop(t);
	jr_info("report: delivering from %s", R.outbox);
	scan();
	maybe_done();
}

static void signal_cb(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGHUP) {
		struct jr_conf c;
		struct jr_err err;

		if (jr_conf_load(R.config, &c, &err) < 0) {
			jr_error("report: SIGHUP: %s: keeping the configuration read before", err.msg);
			return;
		}
		jr_conf_free(&R.conf);
		R.conf = c;
		jr_info("report: SIGHUP: %s read again", R.conf.file ? R.conf.file : "jobrun.conf");
		return;
	}
	jr_info("report: stopping (signal %d); %u result(s) stay in the outbox", signum,
		R.nentries);
	stop();
}

static const char usage[] =
	"usage: jobrun-report [--config FILE] [--drain] [--log FILE] [-v] | --version\n"
	"Deliver the results in STATE_DIR/outbox to jobrun.conf's report targets.\n"
	"  --config FILE  jobrun.conf (default /etc/jobrun/jobrun.conf)\n"
	"  --drain        exit once the outbox is empty (else: run until SIGTERM)\n"
	"  --log FILE     append the log there (default: stderr)\n"
	"  -v             log every attempt\n"
	"  --version      print the version and libcurl's, and exit\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "drain", no_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'l' },    { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct jr_err err;
	char lock[PATH_MAX + 8];
	int c, r;

	jr_log_set_level(JR_LOG_INFO);
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'c': R.config = optarg; break;
		case 'd': R.drain = true; break;
		case 'v': jr_log_set_level(JR_LOG_DEBUG); break;
		case 'l': {
			int fd = open(optarg, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
				      0600);

			if (fd < 0) {
				fprintf(stderr, "jobrun-report: --log %s: %s\n", optarg,
					strerror(errno));
				return 2;
			}
			dup2(fd, 2);
			close(fd);
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("jobrun-report " JR_VERSION " (%s)\n", curl_version()); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (jr_conf_load(R.config, &R.conf, &err) < 0) {
		jr_error("report: %s", err.msg);
		return 2;
	}
	snprintf(R.outbox, sizeof(R.outbox), "%s/" JR_OUTBOX_DIR, R.conf.state_dir);
	snprintf(R.dead, sizeof(R.dead), "%s/" JR_DEADLETTER_DIR, R.conf.state_dir);
	mkdir(R.conf.state_dir, 0755);
	mkdir(R.outbox, 0700);
	R.outbox_fd = open(R.outbox, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (R.outbox_fd < 0) {
		jr_error("report: %s: %s", R.outbox, strerror(errno));
		return 2;
	}
	snprintf(lock, sizeof(lock), "%s/" JR_OUTBOX_LOCK, R.outbox);
	R.lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (R.lock_fd < 0) {
		jr_error("report: %s: %s", lock, strerror(errno));
		return 2;
	}
	if (!take_lock() && R.drain)
		return 0; /* another reporter delivers: it sees every entry */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		jr_error("report: curl_global_init failed");
		return 2;
	}
	R.loop = uv_default_loop();
	R.multi = curl_multi_init();
	curl_multi_setopt(R.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(R.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	/* many in flight, but not a connection storm against one receiver: the rest queue */
	curl_multi_setopt(R.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	uv_timer_init(R.loop, &R.curl_timer);
	uv_timer_init(R.loop, &R.lock_timer);
	uv_fs_event_init(R.loop, &R.watch);
	if ((r = uv_fs_event_start(&R.watch, watch_cb, R.outbox, 0)) < 0) {
		jr_error("report: watching %s: %s", R.outbox, uv_strerror(r));
		return 2;
	}
	uv_signal_init(R.loop, &R.sigterm);
	uv_signal_init(R.loop, &R.sigint);
	uv_signal_init(R.loop, &R.sighup);
	uv_signal_start(&R.sigterm, signal_cb, SIGTERM);
	uv_signal_start(&R.sigint, signal_cb, SIGINT);
	uv_signal_start(&R.sighup, signal_cb, SIGHUP);
	if (R.locked) {
		jr_info("report: delivering from %s", R.outbox);
		scan();
		maybe_done();
	} else {
		jr_info("report: another reporter holds %s: waiting for it", lock);
		uv_timer_start(&R.lock_timer, lock_timer_cb, 500, 500);
	}
	uv_run(R.loop, UV_RUN_DEFAULT);
	curl_multi_cleanup(R.multi);
	curl_global_cleanup();
	uv_loop_close(R.loop);
	jr_conf_free(&R.conf);
	return 0;
}
