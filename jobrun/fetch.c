/* fetch.c - jobrun-fetch: downloads a job tarball by URL into a descriptor jobrun gives it
 * (fetch-proto.h). The only program besides jobrun-report that links libcurl: `jobrun run`
 * with a local tarball never loads it (start-up cost, README).
 *
 * jobrun starts it as the job's uid, inside the job's cgroup (the body's memfd pages are the
 * job's), with no capabilities, no_new_privs, an empty environment and its own pid, IPC and
 * UTS namespaces (stage.c). What it enforces, whatever the server says:
 * - the size cap while downloading: CURLOPT_MAXFILESIZE_LARGE refuses a Content-Length above
 *   it, and the write callback stops the transfer the moment the body would pass it (a
 *   Content-Length may lie or be absent);
 * - connect and total timeouts (the total covers every redirect);
 * - https only (http too with --allow-http), TLS verification always on, the CA certificates
 *   from --ca-fd when given (read by jobrun as root: the file need not be readable here);
 * - the host allow-list, for the first URL and for every redirect: redirects are followed here,
 *   not by libcurl, at most JR_FETCH_MAX_HOPS, and each Location is parsed with libcurl's own
 *   URL parser and handed to the transfer as that parsed handle (CURLOPT_CURLU), so the host
 *   checked is the host connected to;
 * - no proxy (the environment is empty and CURLOPT_PROXY ""), no .netrc, no cookies. */
#define _GNU_SOURCE
#include "fetch-proto.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct fetch {
	uint64_t max_bytes, got;
	long connect_ms, timeout_ms;
	bool allow_http, ca_fd, too_big;
	int write_errno;
	char **allow;
	size_t nallow;
	char *ca;
	size_t ca_len;
};

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	char line[JR_FETCH_REPORT_MAX];
	va_list ap;
	size_t n;
	char *p;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	for (p = line; *p; p++) /* one line, whatever a server put in a message */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = strlen(line);
	while (n && line[n - 1] == ' ')
		n--;
	line[n++] = '\n';
	if (write(JR_FETCH_FD_REPORT, line, n) < 0) {
		/* nothing to tell it with: the exit status says enough */
	}
}

static __attribute__((noreturn)) void fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static __attribute__((noreturn)) void fail(int code, const char *fmt, ...)
{
	char msg[JR_FETCH_REPORT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report("%s", msg);
	_exit(code);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct fetch *f = userdata;
	size_t len = size * n, off = 0;

	if (f->max_bytes && (len > f->max_bytes || f->got > f->max_bytes - len)) {
		f->too_big = true;
		return 0; /* CURLE_WRITE_ERROR: the transfer stops here */
	}
	while (off < len) {
		ssize_t w = write(JR_FETCH_FD_OUT, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->write_errno = w < 0 ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	f->got += len;
	return len;
}

/* "host" allows every port of host; "host:port" and "[v6addr]:port" that port only. */
static bool entry_matches(const char *e, const char *host, const char *port)
{
	const char *colon = e[0] == '[' ? strstr(e, "]:") : strrchr(e, ':');
	size_t hl;

	if (e[0] == '[' && colon)
		colon++;
	else if (e[0] != '[' && colon && strchr(e, ':') != colon)
		colon = NULL; /* an IPv6 address without brackets: a host alone */
	hl = colon ? (size_t)(colon - e) : strlen(e);
	if (strlen(host) != hl || strncasecmp(e, host, hl))
		return false;
	return !colon || !strcmp(colon + 1, port);
}

/* Parse url into a CURLU and check it: scheme, host on the allow-list. NULL with the reason
 * reported (exit) when refused. what: "" for the first URL, "redirect to " for a Location. */
static CURLU *check_url(const struct fetch *f, const char *url, const char *what)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *given_port = NULL;
	CURLU *u = curl_url();
	CURLUcode uc;
	size_t i;

	if (!u)
		fail(JR_FETCH_EXIT_INTERNAL, "out of memory");
	if (strlen(url) > JR_FETCH_MAX_URL)
		fail(JR_FETCH_EXIT_FAILED, "%sa URL longer than %d bytes", what, JR_FETCH_MAX_URL);
	uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK)
		fail(JR_FETCH_EXIT_FAILED, "%sa bad URL: %s", what, curl_url_strerror(uc));
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		fail(JR_FETCH_EXIT_FAILED, "%sa URL without a host", what);
	if (!strcasecmp(scheme, "http") && !f->allow_http)
		fail(JR_FETCH_EXIT_FAILED, "%shttp:// not allowed (jobrun.conf: fetch { allow_http "
		     "= true })", what);
	if (strcasecmp(scheme, "https") && strcasecmp(scheme, "http"))
		fail(JR_FETCH_EXIT_FAILED, "%s%s:// not allowed (https:// only)", what, scheme);
	for (i = 0; i < f->nallow && !entry_matches(f->allow[i], host, port); i++)
		;
	if (i == f->nallow) {
		bool given = curl_url_get(u, CURLUPART_PORT, &given_port, 0) == CURLUE_OK;

		fail(JR_FETCH_EXIT_FAILED, "%shost %s%s%s not allowed (jobrun.conf: fetch { allow })",
		     what, host, given ? ":" : "", given ? given_port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return u;
}

static void read_ca(struct fetch *f)
{
	size_t cap = 65536;
	ssize_t n;

	f->ca = malloc(cap);
	while (f->ca) {
		if (f->ca_len == cap) {
			if (cap >= JR_FETCH_MAX_CA)
				fail(JR_FETCH_EXIT_INTERNAL, "the CA file is larger than %d bytes",
				     JR_FETCH_MAX_CA);
			cap *= 2;
			f->ca = realloc(f->ca, cap);
			continue;
		}
		n = read(JR_FETCH_FD_CA, f->ca + f->ca_len, cap - f->ca_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(JR_FETCH_EXIT_INTERNAL, "read the CA file: %s", strerror(errno));
		if (n == 0)
			return;
		f->ca_len += (size_t)n;
	}
	fail(JR_FETCH_EXIT_INTERNAL, "out of memory");
}

static void setup(CURL *h, struct fetch *f, char *errbuf)
{
	const char *protos = f->allow_http ? "http,https" : "https";
	CURLcode c = CURLE_OK;

	c |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	c |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protos);
	c |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	c |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	c |= curl_easy_setopt(h, CURLOPT_PROXY, "");
	c |= curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	c |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	c |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	c |= curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	c |= curl_easy_setopt(h, CURLOPT_USERAGENT, "jobrun-fetch/" JR_VERSION);
	c |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, f->connect_ms);
	c |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	c |= curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	if (f->max_bytes)
		c |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
	if (f->ca_fd) {
		struct curl_blob blob = { .data = f->ca, .len = f->ca_len,
					  .flags = CURL_BLOB_COPY };

		c |= curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
		c |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* that CA only */
	}
	if (c != CURLE_OK)
		fail(JR_FETCH_EXIT_INTERNAL, "libcurl %s lacks an option jobrun-fetch needs",
		     curl_version_info(CURLVERSION_NOW)->version);
}

/* curl's reason, in the fewest words: the system's for a refused connection. */
static void fail_transfer(CURL *h, const struct fetch *f, CURLcode res, const char *errbuf)
{
	long oserr = 0;

	if (f->too_big || res == CURLE_FILESIZE_EXCEEDED)
		fail(JR_FETCH_EXIT_TOO_BIG, "larger than the limit");
	if (f->write_errno)
		fail(JR_FETCH_EXIT_INTERNAL, "write the body: %s", strerror(f->write_errno));
	if (res == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr)
		fail(JR_FETCH_EXIT_FAILED, "%s", strerror((int)oserr));
	fail(JR_FETCH_EXIT_FAILED, "%s", errbuf[0] ? errbuf : curl_easy_strerror(res));
}

/* The transfer, redirect after redirect, each Location checked before it is followed. */
static void run(struct fetch *f, const char *url)
{
	char errbuf[CURL_ERROR_SIZE];
	uint64_t deadline = now_ms() + (uint64_t)f->timeout_ms;
	CURLU *u = check_url(f, url, "");
	CURL *h = curl_easy_init();
	unsigned hops;

	if (!h)
		fail(JR_FETCH_EXIT_INTERNAL, "libcurl: cannot start");
	setup(h, f, errbuf);
	for (hops = 0;; hops++) {
		uint64_t t = now_ms();
		long code = 0;
		char *loc = NULL;
		CURLcode res;

		if (t >= deadline)
			fail(JR_FETCH_EXIT_FAILED, "timed out after %ld ms", f->timeout_ms);
		errbuf[0] = '\0';
		if (curl_easy_setopt(h, CURLOPT_CURLU, u) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline - t)) != CURLE_OK)
			fail(JR_FETCH_EXIT_INTERNAL, "libcurl: cannot set the URL");
		res = curl_easy_perform(h);
		if (res != CURLE_OK)
			fail_transfer(h, f, res, errbuf);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300)
			break;
		if (code < 300 || code >= 400 ||
		    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
			fail(JR_FETCH_EXIT_FAILED, "the server answered HTTP %ld", code);
		if (hops >= JR_FETCH_MAX_HOPS)
			fail(JR_FETCH_EXIT_FAILED, "more than %d redirects", JR_FETCH_MAX_HOPS);
		/* a redirect's own body is not the archive */
		if (ftruncate(JR_FETCH_FD_OUT, 0) < 0 || lseek(JR_FETCH_FD_OUT, 0, SEEK_SET) < 0)
			fail(JR_FETCH_EXIT_INTERNAL, "empty the body: %s", strerror(errno));
		f->got = 0;
		{
			CURLU *next = check_url(f, loc, "redirect to ");

			curl_url_cleanup(u);
			u = next;
		}
	}
	curl_easy_cleanup(h);
	curl_url_cleanup(u);
	report("ok %llu", (unsigned long long)f->got);
}

static long parse_ms(const char *s, const char *opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > 86400000L)
		fail(JR_FETCH_EXIT_INTERNAL, "%s: '%s' is not a number of ms", opt, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "connect-timeout-ms", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "allow-http", no_argument, NULL, 'H' },
		{ "ca-fd", no_argument, NULL, 'C' },
		{ "allow", required_argument, NULL, 'a' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct fetch f = { .connect_ms = 5000, .timeout_ms = 60000 };
	char *end;
	int opt;

	f.allow = calloc((size_t)argc, sizeof(*f.allow));
	if (!f.allow)
		fail(JR_FETCH_EXIT_INTERNAL, "out of memory");
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			errno = 0;
			f.max_bytes = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg)
				fail(JR_FETCH_EXIT_INTERNAL, "--max-bytes: '%s' is not a number",
				     optarg);
			break;
		case 'c': f.connect_ms = parse_ms(optarg, "--connect-timeout-ms"); break;
		case 't': f.timeout_ms = parse_ms(optarg, "--timeout-ms"); break;
		case 'H': f.allow_http = true; break;
		case 'C': f.ca_fd = true; break;
		case 'a': f.allow[f.nallow++] = optarg; break;
		case 'V': /* jobrun check: it starts, its libraries load */
			printf("jobrun-fetch " JR_VERSION " (%s)\n", curl_version());
			return 0;
		default:
			fail(JR_FETCH_EXIT_INTERNAL, "usage: jobrun-fetch [options] -- URL "
			     "(fetch-proto.h)");
		}
	}
	if (optind != argc - 1)
		fail(JR_FETCH_EXIT_INTERNAL, "usage: jobrun-fetch [options] -- URL (fetch-proto.h)");
	if (f.ca_fd)
		read_ca(&f);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fail(JR_FETCH_EXIT_INTERNAL, "libcurl: cannot start");
	run(&f, argv[optind]);
	return JR_FETCH_EXIT_OK;
}
