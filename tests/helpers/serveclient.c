/* serveclient.c - a raw client of `jobrun serve` for tests/integration/85-serve.sh: it speaks
 * the socket's protocol byte by byte, so that the tests can send what `jobrun submit` never
 * would (bad JSON, a line over 1 MiB, half a request, descriptors with the wrong operation, a
 * thousand idle connections, a client that never reads).
 *
 *   serveclient SOCKET ACTION...      the actions run in order on one connection
 *
 *   send TEXT         TEXT and a newline
 *   raw TEXT          TEXT as it is (no newline)
 *   junk N            N bytes of 'x', no newline (stops early when the server closes)
 *   sendfds N TEXT F1..FN   TEXT and a newline in one message with N descriptors:
 *                     r:PATH (read), w:PATH (write, created), pipe (the write end of a pipe
 *                     whose read end this process keeps open and never reads), null (/dev/null)
 *   recv              one reply line, printed ("EOF" when the server closed, "TIMEOUT" after
 *                     20 s without one)
 *   eof               print the reply lines until the server closes, then "EOF" ("TIMEOUT"
 *                     after 20 s)
 *   flood N TEXT      TEXT and a newline N times, never reading; prints "flooded K" (K lines
 *                     sent before the server stopped taking them for 5 s or closed)
 *   pause S           sleep S seconds (fractions allowed)
 *   block             sleep until killed, reading nothing
 *   hold N            open N more connections that send nothing, print "held N" and sleep
 *                     until killed
 *
 * Everything printed goes to stdout, one line each, flushed at once. Exit status 0, or 2 when
 * the socket cannot be reached or an action is malformed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 64

static char *inbuf;
static size_t inlen, incap;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "serveclient: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int connect_to(const char *path, int quiet)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (quiet)
			return -1;
		die("cannot connect: %s", strerror(errno));
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send len bytes, waiting at most timeout s for room. Returns the bytes sent (fewer when the
 * server closed or took nothing for that long). */
static size_t send_all(int fd, const char *buf, size_t len, double timeout)
{
	size_t off = 0;

	while (off < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&p, 1, (int)(timeout * 1000)) <= 0)
			break;
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			fprintf(stderr, "serveclient: send: %s\n", n < 0 ? strerror(errno) : "0");
			break;
		}
		off += (size_t)n;
	}
	return off;
}

static void send_line(int fd, const char *text, int newline)
{
	size_t n = strlen(text);
	char *b = malloc(n + 2);

	if (!b)
		die("%s", "out of memory");
	memcpy(b, text, n);
	if (newline)
		b[n++] = '\n';
	send_all(fd, b, n, 10);
	free(b);
}

static int open_spec(const char *spec)
{
	int fd, p[2];

	if (!strncmp(spec, "r:", 2))
		fd = open(spec + 2, O_RDONLY | O_CLOEXEC);
	else if (!strncmp(spec, "w:", 2))
		fd = open(spec + 2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	else if (!strcmp(spec, "null"))
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	else if (!strcmp(spec, "pipe")) {
		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe: %s", strerror(errno));
		fd = p[1]; /* p[0] stays open, never read */
	} else {
		die("bad descriptor spec %s (r:PATH, w:PATH, pipe, null)", spec);
	}
	if (fd < 0)
		die("open %s failed", spec);
	return fd;
}

static void send_fds(int fd, const char *text, int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} cbuf;
	size_t n = strlen(text), off;
	char *line = malloc(n + 2);
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t r;

	if (!line)
		die("%s", "out of memory");
	memcpy(line, text, n);
	line[n++] = '\n';
	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = line;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	do
		r = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("sendmsg: %s", strerror(errno));
	off = (size_t)r;
	if (off < n)
		send_all(fd, line + off, n - off, 10);
	free(line);
}

/* The next line (without its newline) into a new string; NULL at EOF (*eof set) or after
 * timeout seconds. */
static char *read_line(int fd, double timeout, int *eof)
{
	double end = now() + timeout;

	*eof = 0;
	for (;;) {
		char *nl = inlen ? memchr(inbuf, '\n', inlen) : NULL;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - inbuf);
			char *s = strndup(inbuf, l);

			memmove(inbuf, nl + 1, inlen - l - 1);
			inlen -= l + 1;
			return s;
		}
		left = end - now();
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return NULL;
		if (incap - inlen < 65536) {
			incap = incap ? incap * 2 : 65536;
			if (!(inbuf = realloc(inbuf, incap)))
				die("%s", "out of memory");
		}
		n = read(fd, inbuf + inlen, incap - inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* EOF, or ECONNRESET when the server closed with bytes unread */
			*eof = 1;
			return NULL;
		}
		inlen += (size_t)n;
	}
}

static void say(const char *s)
{
	printf("%s\n", s);
	fflush(stdout);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: serveclient SOCKET ACTION...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!strcmp(argv[2], "hold")) {
		long n, k;

		if (argc != 4 || (n = atol(argv[3])) < 1)
			die("%s", "hold N");
		for (k = 0; k < n; k++)
			if (connect_to(argv[1], 1) < 0) {
				printf("connect %ld failed: %s\n", k + 1, strerror(errno));
				fflush(stdout);
				return 2;
			}
		printf("held %ld\n", n);
		fflush(stdout);
		sleep_forever();
	}
	fd = connect_to(argv[1], 0);
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		int eof;
		char *line;

		if (!strcmp(a, "send") && i + 1 < argc) {
			send_line(fd, argv[++i], 1);
		} else if (!strcmp(a, "raw") && i + 1 < argc) {
			send_line(fd, argv[++i], 0);
		} else if (!strcmp(a, "junk") && i + 1 < argc) {
			size_t n = (size_t)atol(argv[++i]), sent;
			char *b = malloc(n);

			if (!b)
				die("%s", "out of memory");
			memset(b, 'x', n);
			sent = send_all(fd, b, n, 5);
			fprintf(stderr, "serveclient: junk: %zu of %zu bytes sent\n", sent, n);
			free(b);
		} else if (!strcmp(a, "sendfds") && i + 2 < argc) {
			int fds[MAX_FDS], n = atoi(argv[i + 1]), k;
			const char *text = argv[i + 2];

			if (n < 1 || n > MAX_FDS || i + 2 + n >= argc)
				die("%s", "sendfds N TEXT SPEC...");
			for (k = 0; k < n; k++)
				fds[k] = open_spec(argv[i + 3 + k]);
			send_fds(fd, text, fds, n);
			for (k = 0; k < n; k++)
				close(fds[k]);
			i += 2 + n;
		} else if (!strcmp(a, "recv")) {
			line = read_line(fd, 20, &eof);
			say(line ? line : eof ? "EOF" : "TIMEOUT");
			free(line);
		} else if (!strcmp(a, "eof")) {
			for (;;) {
				line = read_line(fd, 20, &eof);
				if (!line) {
					say(eof ? "EOF" : "TIMEOUT");
					break;
				}
				say(line);
				free(line);
			}
		} else if (!strcmp(a, "flood") && i + 2 < argc) {
			long n = atol(argv[i + 1]), k;
			const char *text = argv[i + 2];
			size_t l = strlen(text);
			char *b = malloc(l + 1);

			if (!b)
				die("%s", "out of memory");
			memcpy(b, text, l);
			b[l] = '\n';
			for (k = 0; k < n && send_all(fd, b, l + 1, 5) == l + 1; k++)
				;
			free(b);
			printf("flooded %ld\n", k);
			fflush(stdout);
			i += 2;
		} else if (!strcmp(a, "pause") && i + 1 < argc) {
			double s = atof(argv[++i]);
			struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		} else if (!strcmp(a, "block")) {
			sleep_forever();
		} else {
			die("bad action %s", a);
		}
	}
	close(fd);
	return 0;
}
