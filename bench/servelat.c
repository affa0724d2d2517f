/* bench/servelat.c - a tiny client of `jobrun serve` for bench/serve.sh.
 *
 *   servelat tput SOCKET N DEPTH
 *       One connection; N submits of /bin/true with "wait", DEPTH of them in flight at a time
 *       (the job's stdout and stderr: /dev/null, passed as descriptors like `jobrun submit`
 *       passes its own). Prints "<jobs> <ok> <seconds>"; exit status 1 if a job was not OK.
 *   servelat lat-serve SOCKET N GAP_MS
 *       One connection, kept open; N times: sleep GAP_MS after the previous reply, read
 *       CLOCK_REALTIME, sendmsg a submit of `/bin/date +%s.%N` (its stdout: a pipe of ours),
 *       wait for the reply, read the job's clock reading from the pipe. Prints one line per
 *       sample: "<ms from just before sendmsg to the job's clock reading> <ms from just before
 *       sendmsg to the result's start_time>" (start_time: jobrun's clock reading right before
 *       it clones the job, after the request is admitted and the job's cgroups are made; -1
 *       when the reply has none).
 *   servelat lat-spawn N GAP_MS CMD [ARGS...]
 *       N times: sleep GAP_MS, read CLOCK_REALTIME, posix_spawn CMD (its stdout: a pipe), read
 *       the first "SECONDS.NANOSECONDS" line it prints, wait for it. Prints the same lines.
 *       With CMD = /bin/date +%s.%N: what /bin/date's own start costs (spawn, exec, loader);
 *       with CMD = jobrun run --result /dev/null -- /bin/date +%s.%N: jobrun run launched fresh.
 *   servelat lines SOCKET
 *       Sends every line of stdin (requests without descriptors) on one connection, then
 *       prints as many reply lines.
 *
 * Plain C and libc only (built by bench/serve.sh with $CC); replies are matched by substring,
 * not parsed: serve's reply lines are compact JSON of a known shape.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what)
{
	fprintf(stderr, "servelat: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "servelat: socket path too long\n");
		exit(2);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(path);
	return fd;
}

/* One request line with up to two descriptors, in one sendmsg. */
static void send_req(int sock, const char *line, const int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} cbuf;
	struct msghdr msg;
	struct iovec iov;
	size_t len = strlen(line), off = 0;

	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)line;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *cm;

		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	while (off < len) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("sendmsg");
		off += (size_t)n;
		iov.iov_base = (char *)line + off;
		iov.iov_len = len - off;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
}

/* Reply lines: a growing buffer, one line handed out at a time. */
static char *rbuf;
static size_t rlen, rcap;

static char *next_line(int sock)
{
	static size_t consumed;

	if (consumed) {
		memmove(rbuf, rbuf + consumed, rlen - consumed);
		rlen -= consumed;
		consumed = 0;
	}
	for (;;) {
		char *nl = rlen ? memchr(rbuf, '\n', rlen) : NULL;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			consumed = (size_t)(nl - rbuf) + 1;
			return rbuf;
		}
		if (rcap - rlen < 65536) {
			rcap = rcap ? rcap * 2 : 131072;
			if (!(rbuf = realloc(rbuf, rcap)))
				die("realloc");
		}
		n = read(sock, rbuf + rlen, rcap - rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0) {
			fprintf(stderr, "servelat: jobrun serve closed the connection\n");
			exit(2);
		}
		rlen += (size_t)n;
	}
}

/* A job's reply that says OK with exit status 0. */
static int reply_ok(const char *line)
{
	const char *e = strstr(line, "\"exit_status\":");

	return strstr(line, "\"ok\":true") && e && e[14] == '0' && (e[15] < '0' || e[15] > '9') &&
	       strstr(line, "\"verdict\":\"OK\"");
}

/* "SECONDS.NANOSECONDS" at the start of s, as ns; -1 if it is not that. */
static int64_t parse_clock(const char *s)
{
	int64_t sec = 0, ns = 0;
	int digits = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9')
		sec = sec * 10 + (*s++ - '0');
	if (*s++ != '.')
		return -1;
	while (*s >= '0' && *s <= '9' && digits < 9) {
		ns = ns * 10 + (*s++ - '0');
		digits++;
	}
	if (digits != 9)
		return -1;
	return sec * 1000000000 + ns;
}

/* The result's "start_time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ" as ns since the epoch; -1 if none. */
static int64_t start_time(const char *line)
{
	const char *s = strstr(line, "\"start_time\":\"");
	struct tm tm;
	long us;
	char *end;

	if (!s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	s += 14;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || *end != '.')
		return -1;
	us = strtol(end + 1, &end, 10);
	if (*end != 'Z')
		return -1;
	return (int64_t)timegm(&tm) * 1000000000 + (int64_t)us * 1000;
}

/* The first line that comes out of a pipe, within timeout_ms. */
static int64_t read_clock(int fd, int timeout_ms)
{
	char buf[256];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	return parse_clock(buf);
}

static int cmd_tput(const char *sockpath, long n, long depth)
{
	static const char req[] = "{\"v\":1,\"op\":\"submit\",\"command\":[\"/bin/true\"],"
				  "\"wait\":true,\"fds\":{\"stdout\":0,\"stderr\":1}}\n";
	int sock = connect_to(sockpath), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int fds[2] = { null, null };
	long sent = 0, done = 0, ok = 0, fails = 0;
	int64_t t0;

	if (null < 0)
		die("/dev/null");
	t0 = now_ns(CLOCK_MONOTONIC);
	while (done < n) {
		while (sent < n && sent - done < depth) {
			send_req(sock, req, fds, 2);
			sent++;
		}
		{
			char *line = next_line(sock);

			done++;
			if (reply_ok(line))
				ok++;
			else if (++fails <= 5) /* the first few failures only */
				fprintf(stderr, "servelat: not OK: %.300s\n", line);
		}
	}
	printf("%ld %ld %.6f\n", n, ok, (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	return ok == n ? 0 : 1;
}

static int cmd_lat_serve(const char *sockpath, long n, int gap_ms)
{
	static const char req[] = "{\"v\":1,\"op\":\"submit\",\"command\":[\"/bin/date\",\"+%s.%N\"],"
				  "\"wait\":true,\"fds\":{\"stdout\":0,\"stderr\":1}}\n";
	int sock = connect_to(sockpath), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	long i;
	int bad = 0;

	if (null < 0)
		die("/dev/null");
	for (i = 0; i < n; i++) {
		int p[2], fds[2];
		int64_t t0, t1, ts;
		char *line;

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		fds[0] = p[1];
		fds[1] = null;
		sleep_ms(gap_ms);
		t0 = now_ns(CLOCK_REALTIME);
		send_req(sock, req, fds, 2);
		close(p[1]);
		line = next_line(sock);
		if (!reply_ok(line)) {
			fprintf(stderr, "servelat: not OK: %.300s\n", line);
			bad = 1;
			close(p[0]);
			continue;
		}
		ts = start_time(line);
		t1 = read_clock(p[0], 2000);
		close(p[0]);
		if (t1 < 0) {
			fprintf(stderr, "servelat: the job printed no clock reading\n");
			bad = 1;
			continue;
		}
		printf("%.3f %.3f\n", (double)(t1 - t0) / 1e6, ts < 0 ? -1.0 : (double)(ts - t0) / 1e6);
		fflush(stdout);
	}
	return bad;
}

static int cmd_lat_spawn(long n, int gap_ms, char **argv)
{
	long i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		posix_spawn_file_actions_t fa;
		int p[2], st;
		int64_t t0, t1;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		sleep_ms(gap_ms);
		t0 = now_ns(CLOCK_REALTIME);
		errno = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
		if (errno)
			die(argv[0]);
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		t1 = read_clock(p[0], 10000);
		close(p[0]);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (t1 < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "servelat: %s: no clock reading, or status %d\n", argv[0], st);
			bad = 1;
			continue;
		}
		printf("%.3f\n", (double)(t1 - t0) / 1e6);
		fflush(stdout);
	}
	return bad;
}

static int cmd_lines(const char *sockpath)
{
	int sock = connect_to(sockpath);
	char *line = NULL;
	size_t cap = 0;
	long sent = 0, i;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] != '\n')
			continue;
		send_req(sock, line, NULL, 0);
		sent++;
	}
	free(line);
	for (i = 0; i < sent; i++)
		puts(next_line(sock));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "tput"))
		return cmd_tput(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "lat-serve"))
		return cmd_lat_serve(argv[2], atol(argv[3]), atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "lat-spawn"))
		return cmd_lat_spawn(atol(argv[2]), atoi(argv[3]), argv + 4);
	if (argc == 3 && !strcmp(argv[1], "lines"))
		return cmd_lines(argv[2]);
	fprintf(stderr, "usage: servelat tput SOCKET N DEPTH | lat-serve SOCKET N GAP_MS |\n"
			"       lat-spawn N GAP_MS CMD [ARGS...] | lines SOCKET\n");
	return 2;
}
