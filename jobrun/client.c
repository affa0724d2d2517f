/* client.c - the clients of `jobrun serve`: submit, status, list, wait, cancel, drain,
 * metrics. A client opens every file of the job itself, with its own rights, and passes the
 * descriptors (SCM_RIGHTS); the supervisor never opens a path a client names. */
#define _GNU_SOURCE
#include "serve.h"
#include "callerpath.h"
#include "conf.h"
#include "job-fetch.h"
#include "result.h"
#include "sproto.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct client {
	const char *socket;
	int fd;
	char *buf;
	size_t len, cap;
};

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("jobrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* The socket: --socket, else $JOBRUN_SOCKET, else jobrun.conf's serve { socket }, else the
 * default. */
static const char *socket_path(const char *opt)
{
	static char *from_conf;
	const char *env = getenv("JOBRUN_SOCKET");
	struct jr_conf conf;
	struct jr_err err;

	if (opt)
		return opt;
	if (env && *env)
		return env;
	if (!from_conf && access(JR_CONF_DEFAULT_PATH, R_OK) == 0 &&
	    jr_conf_load(NULL, &conf, &err) == 0) {
		if (conf.serve.socket)
			from_conf = strdup(conf.serve.socket);
		jr_conf_free(&conf);
	}
	return from_conf ? from_conf : JR_SERVE_DEFAULT_SOCKET;
}

static void client_connect(struct client *cl)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(cl->socket) >= sizeof(sa.sun_path))
		die(2, "socket %s: the path is too long", cl->socket);
	strcpy(sa.sun_path, cl->socket);
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cl->fd < 0 || connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(2, "cannot reach jobrun serve at %s: %s (is it running? --socket PATH or "
		       "JOBRUN_SOCKET names another)", cl->socket, strerror(errno));
}

/* Send one request line with its descriptors in one message. */
static void client_send(struct client *cl, json_t *req, const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * JR_SERVE_MAX_FDS)];
	} cbuf;
	char *text = json_dumps(req, JSON_COMPACT), *line;
	struct msghdr msg;
	struct iovec iov;
	size_t len, off = 0;

	json_decref(req);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		die(2, "out of memory");
	free(text);
	len = strlen(line);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = line;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	while (off < len) {
		ssize_t n = sendmsg(cl->fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(2, "send to jobrun serve: %s", strerror(errno));
		off += (size_t)n;
		iov.iov_base = line + off;
		iov.iov_len = len - off;
		msg.msg_control = NULL;   /* the descriptors went with the first bytes */
		msg.msg_controllen = 0;
	}
	free(line);
}

/* The next reply line, parsed; exits when the supervisor went away. */
static json_t *client_recv(struct client *cl)
{
	for (;;) {
		char *nl = cl->len ? memchr(cl->buf, '\n', cl->len) : NULL;
		ssize_t n;

		if (nl) {
			json_error_t je;
			size_t l = (size_t)(nl - cl->buf);
			json_t *o = json_loadb(cl->buf, l, 0, &je);

			memmove(cl->buf, nl + 1, cl->len - l - 1);
			cl->len -= l + 1;
			if (!o)
				die(2, "a reply that is not JSON: %s", je.text);
			return o;
		}
		if (cl->cap - cl->len < 65536) {
			cl->cap = cl->cap ? cl->cap * 2 : 65536;
			if (!(cl->buf = realloc(cl->buf, cl->cap)))
				die(2, "out of memory");
		}
		n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(2, "jobrun serve closed the connection without a reply%s%s",
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		cl->len += (size_t)n;
	}
}

/* An error reply ends the client: exit status 2, the supervisor's message. */
static json_t *expect_ok(json_t *reply, const char *what)
{
	if (!json_is_true(json_object_get(reply, "ok")))
		die(2, "%s: %s", what, json_string_value(json_object_get(reply, "error"))
					  ? json_string_value(json_object_get(reply, "error"))
					  : "refused");
	return reply;
}

static json_t *request(const char *op)
{
	return json_pack("{s:i, s:s}", "v", JR_PROTO_VERSION, "op", op);
}

/* Write text to path: a temporary file beside it, fsync, rename (the client's own rights). */
static void write_file(const char *opt, const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	f = fopen(tmp, "wex");
	if (!f)
		die(2, "%s %s: %s", opt, path, strerror(errno));
	if (fputs(text, f) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f) ||
	    rename(tmp, path) < 0) {
		unlink(tmp);
		die(2, "%s %s: %s", opt, path, strerror(errno));
	}
}

/* Print a result like `jobrun run` (indented JSON, then a newline) to stdout or a file, and
 * isolate's meta file made from it (meta_file, when not NULL); returns the exit status of
 * `jobrun run` for it. */
static int print_result(json_t *reply, const char *result_file, const char *meta_file)
{
	json_t *res = json_object_get(reply, "result");
	int status = (int)json_integer_value(json_object_get(reply, "exit_status"));
	char *text = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	FILE *f = stdout;

	if (!text)
		die(2, "a reply without a result");
	if (meta_file) {
		char *meta = jr_result_meta_from_json(text);

		if (!meta)
			die(2, "--meta %s: the reply's result is not one", meta_file);
		write_file("--meta", meta_file, meta);
		free(meta);
	}
	if (result_file) {
		char tmp[4096];

		snprintf(tmp, sizeof(tmp), "%s.tmp%d", result_file, (int)getpid());
		f = fopen(tmp, "wex");
		if (!f)
			die(2, "--result %s: %s", result_file, strerror(errno));
		if (fprintf(f, "%s\n", text) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f) ||
		    rename(tmp, result_file) < 0) {
			unlink(tmp);
			die(2, "--result %s: %s", result_file, strerror(errno));
		}
	} else if (printf("%s\n", text) < 0 || fflush(stdout)) {
		die(2, "write the result: %s", strerror(errno));
	}
	free(text);
	return status;
}

static bool is_archive_name(const char *s)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2",
					   ".tar.xz", ".txz", ".tar.zst", ".tzst", ".zip" };
	size_t n = strlen(s), i;

	if (!strcmp(s, "-") || jr_fetch_is_url(s) || !strncasecmp(s, "file://", 7))
		return true; /* a URL whatever its name (README: Job tarballs by URL) */
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && !strcmp(s + n - e, ext[i]))
			return true;
	}
	return false;
}

struct submit {
	json_t *options;
	int fds[JR_SERVE_MAX_FDS];
	unsigned nfds;
	json_t *fdmap;
};

static void add_fd(struct submit *sb, const char *name, int fd)
{
	if (json_object_get(sb->fdmap, name))
		die(2, "--%s given twice", name);
	if (sb->nfds >= JR_SERVE_MAX_FDS)
		die(2, "too many files");
	sb->fds[sb->nfds] = fd;
	json_object_set_new(sb->fdmap, name, json_integer(sb->nfds));
	sb->nfds++;
}

static int open_or_die(const char *opt, const char *path, int flags)
{
	int fd;

	if (!strcmp(path, "-") && !strcmp(opt, "archive"))
		return 0;
	/* /dev/stdin, /dev/fd/N: the client's own descriptor, passed as it is (as `jobrun run`
	 * takes them; a system without /dev/fd has them all the same) */
	if ((fd = jr_cp_own_fd(path)) >= 0) {
		if (fcntl(fd, F_GETFD) < 0)
			die(2, "%s %s: %s", opt, path, strerror(errno));
		return fd;
	}
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		die(2, "%s %s: %s", opt, path, strerror(errno));
	return fd;
}

static void add_option(struct submit *sb, const char *name, const char *value)
{
	enum jr_sopt_class cls = jr_sopt_class(name, true);
	json_t *v = json_object_get(sb->options, name);
	char *env = NULL;

	if (cls == JR_SOPT_NO)
		die(2, "--%s: not an option of jobrun submit (jobrun submit --help)", name);
	if (!strcmp(name, "env") && !strchr(value, '=')) { /* NAME alone: the client's value */
		const char *e = getenv(value);

		if (!e)
			die(2, "--env %s: not set in this environment", value);
		if (asprintf(&env, "%s=%s", value, e) < 0)
			die(2, "out of memory");
		value = env;
	}
	if (cls == JR_SOPT_LIST) {
		if (!v)
			json_object_set_new(sb->options, name, v = json_array());
		json_array_append_new(v, json_string(value));
	} else {
		if (v)
			die(2, "--%s given twice", name);
		json_object_set_new(sb->options, name, json_string(value));
	}
	free(env);
}

static const char submit_usage[] =
	"usage: jobrun submit [--wait] [--priority N] [--socket PATH] [--result FILE] [--meta FILE]\n"
	"                     [RUN OPTIONS] JOB.tar.gz|URL|- [-- CMD...] | [--] CMD...\n"
	"Give a job to jobrun serve. Without --wait: print its id. With --wait: print its result\n"
	"as `jobrun run` does and exit with the same status (0 OK, 1 another verdict, 2 XX or an\n"
	"error). The run options are those of `jobrun run` (jobrun run --help); --stdin,\n"
	"--stdout, --stderr, --job-conf, --dir and the archive are opened here, with your own\n"
	"rights, and passed to the supervisor as descriptors; an https:// URL is fetched by the\n"
	"supervisor where its jobrun.conf allows that host (fetch { allow }). Without --wait,\n"
	"a job's stdout and stderr default to files in the supervisor's state directory.\n"
	"  --wait            wait for the result\n"
	"  --priority N      -1000..1000: higher runs first (default 0)\n"
	"  --socket PATH     the supervisor's socket (default $JOBRUN_SOCKET, jobrun.conf's\n"
	"                    serve { socket }, " JR_SERVE_DEFAULT_SOCKET ")\n"
	"  --result FILE     with --wait: write the result there instead of stdout\n"
	"  --meta FILE       with --wait: also write it in isolate's meta-file format there\n";

static int cmd_submit(int argc, char **argv)
{
	struct submit sb = { .options = json_object(), .fdmap = json_object() };
	const char *sock = NULL, *result_file = NULL, *meta_file = NULL, *id = NULL;
	const char *archive_url = NULL;
	bool wait = false, have_stdout = false, have_stderr = false;
	json_t *req, *command = NULL, *reply;
	long prio = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		char name[64];
		size_t nl;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(submit_usage, stdout);
			return 0;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			if (jr_fetch_is_url(a)) { /* the supervisor fetches it */
				if (archive_url || json_object_get(sb.fdmap, "archive"))
					die(2, "one job tarball only");
				archive_url = a;
				continue;
			}
			if (is_archive_name(a)) {
				char *path = NULL;

				/* file://: the local path, opened here with your rights */
				if (jr_fetch_file_path(a, &path) < 0)
					die(2, "archive '%s': a file:// URL must name a local path "
					    "(file:///PATH)", a);
				if (archive_url)
					die(2, "one job tarball only");
				add_fd(&sb, "archive", open_or_die("archive", path ? path : a,
								   O_RDONLY));
				free(path);
				continue;
			}
			break; /* the command, without "--" */
		}
		if (!strcmp(a, "--wait")) {
			wait = true;
			continue;
		}
		nl = strcspn(a + 2, "=");
		if (nl >= sizeof(name))
			die(2, "unknown option '%s'", a);
		memcpy(name, a + 2, nl);
		name[nl] = '\0';
		if (a[2 + nl] == '=') {
			val = a + 3 + nl;
		} else {
			if (i + 1 >= argc)
				die(2, "--%s needs a value", name);
			val = argv[++i];
		}
		if (!strcmp(name, "socket"))
			sock = val;
		else if (!strcmp(name, "result"))
			result_file = val;
		else if (!strcmp(name, "meta"))
			meta_file = val;
		else if (!strcmp(name, "priority")) {
			char *end;

			errno = 0;
			prio = strtol(val, &end, 10);
			if (errno || *end || end == val || prio < -1000 || prio > 1000)
				die(2, "--priority: '%s' is not a number from -1000 to 1000", val);
		} else if (!strcmp(name, "id")) {
			id = val;
		} else if (!strcmp(name, "stdin") || !strcmp(name, "job-conf")) {
			add_fd(&sb, name, open_or_die(name, val, O_RDONLY));
		} else if (!strcmp(name, "stdout") || !strcmp(name, "stderr")) {
			add_fd(&sb, name, open_or_die(name, val, O_WRONLY | O_CREAT | O_TRUNC));
			*(name[3] == 'o' ? &have_stdout : &have_stderr) = true;
		} else if (!strcmp(name, "dir")) {
			add_fd(&sb, name, open_or_die(name, val, O_RDONLY | O_DIRECTORY));
		} else {
			add_option(&sb, name, val);
		}
	}
	if (i < argc) {
		command = json_array();
		for (; i < argc; i++)
			json_array_append_new(command, json_string(argv[i]));
	}
	if (result_file && !wait)
		die(2, "--result needs --wait (without it, `jobrun wait ID` gives the result)");
	if (meta_file && !wait)
		die(2, "--meta needs --wait");
	/* with --wait, like `jobrun run`: the job's output is the caller's own */
	if (wait && !have_stdout)
		add_fd(&sb, "stdout", result_file ? 1 : 2);
	if (wait && !have_stderr)
		add_fd(&sb, "stderr", 2);
	req = request("submit");
	json_object_set_new(req, "options", sb.options);
	json_object_set_new(req, "fds", sb.fdmap);
	if (command)
		json_object_set_new(req, "command", command);
	if (archive_url)
		json_object_set_new(req, "archive_url", json_string(archive_url));
	if (id)
		json_object_set_new(req, "id", json_string(id));
	json_object_set_new(req, "priority", json_integer(prio));
	json_object_set_new(req, "wait", json_boolean(wait));
	{
		struct client cl = { .socket = socket_path(sock), .fd = -1 };

		client_connect(&cl);
		client_send(&cl, req, sb.fds, sb.nfds);
		reply = expect_ok(client_recv(&cl), "submit");
		if (!wait) {
			printf("%s\n", json_string_value(json_object_get(reply, "id")));
			return 0;
		}
		return print_result(reply, result_file, meta_file);
	}
}

static void print_jobs(json_t *jobs)
{
	size_t i;
	json_t *j;

	printf("%-14s %-9s %-8s %-8s %-6s %-10s %s\n", "ID", "STATE", "VERDICT", "PROFILE", "UID",
	       "PRIORITY", "SUBMITTED");
	json_array_foreach(jobs, i, j) {
		const char *v = json_string_value(json_object_get(j, "verdict"));
		const char *p = json_string_value(json_object_get(j, "profile"));

		printf("%-14s %-9s %-8s %-8s %-6lld %-10lld %s\n",
		       json_string_value(json_object_get(j, "id")),
		       json_string_value(json_object_get(j, "state")), v ? v : "-", p ? p : "-",
		       (long long)json_integer_value(
			       json_object_get(json_object_get(j, "submitter"), "uid")),
		       (long long)json_integer_value(json_object_get(j, "priority")),
		       json_string_value(json_object_get(j, "submitted")));
	}
}

static const char other_usage[] =
	"usage: jobrun status [--json] [ID]     the supervisor (slots, queue, verdicts), or a job\n"
	"       jobrun list [--json] [--all]    jobs queued and running (--all: and finished)\n"
	"       jobrun wait ID                  the job's result, as `jobrun run` prints it\n"
	"       jobrun cancel ID                stop the job (verdict XX)\n"
	"       jobrun drain [--exit]           take no new jobs (--exit: then stop when idle)\n"
	"       jobrun metrics                  counters in the Prometheus text format\n"
	"Each takes --socket PATH (default $JOBRUN_SOCKET, jobrun.conf's serve { socket }, "
	JR_SERVE_DEFAULT_SOCKET ").\n";

int jr_cmd_client(int argc, char **argv)
{
	const char *op = argv[0], *sock = NULL, *id = NULL;
	bool as_json = false, all = false, exit_idle = false;
	struct client cl = { .fd = -1 };
	json_t *req, *reply;
	int i;

	if (!strcmp(op, "submit"))
		return cmd_submit(argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (!strcmp(argv[i], "--all"))
			all = true;
		else if (!strcmp(argv[i], "--exit"))
			exit_idle = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strncmp(argv[i], "--socket=", 9))
			sock = argv[i] + 9;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(other_usage, stdout);
			return 0;
		} else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			die(2, "%s: unexpected '%s'\n%s", op, argv[i], other_usage);
	}
	if ((!strcmp(op, "wait") || !strcmp(op, "cancel")) && !id)
		die(2, "%s: which job? (jobrun %s ID)", op, op);
	req = request(!strcmp(op, "metrics") ? "metrics" : op);
	if (id)
		json_object_set_new(req, "id", json_string(id));
	if (all)
		json_object_set_new(req, "all", json_true());
	if (exit_idle)
		json_object_set_new(req, "exit", json_true());
	cl.socket = socket_path(sock);
	client_connect(&cl);
	client_send(&cl, req, NULL, 0);
	reply = expect_ok(client_recv(&cl), op);
	if (!strcmp(op, "wait"))
		return print_result(reply, NULL, NULL);
	if (!strcmp(op, "metrics")) {
		fputs(json_string_value(json_object_get(reply, "text")), stdout);
		return 0;
	}
	if (as_json || !strcmp(op, "cancel") || !strcmp(op, "drain") ||
	    (!strcmp(op, "status") && id)) {
		json_object_del(reply, "v");
		json_object_del(reply, "ok");
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return 0;
	}
	if (!strcmp(op, "list")) {
		print_jobs(json_object_get(reply, "jobs"));
		return 0;
	}
	/* status of the supervisor, for people */
	{
		json_t *v = json_object_get(reply, "verdicts");
		const char *k;
		json_t *n;

		printf("jobrun serve pid %lld, up %.0fs, config %s\n",
		       (long long)json_integer_value(json_object_get(reply, "pid")),
		       json_real_value(json_object_get(reply, "uptime_seconds")),
		       json_string_value(json_object_get(reply, "config")));
		printf("slots: %lld busy of %lld; queued: %lld%s%s\n",
		       (long long)json_integer_value(json_object_get(reply, "busy")),
		       (long long)json_integer_value(json_object_get(reply, "slots")),
		       (long long)json_integer_value(json_object_get(reply, "queued")),
		       json_is_true(json_object_get(reply, "draining")) ? "; draining" : "",
		       json_is_true(json_object_get(reply, "stopping")) ? "; stopping" : "");
		printf("submitted: %lld, refused: %lld; finished:",
		       (long long)json_integer_value(json_object_get(reply, "submitted")),
		       (long long)json_integer_value(json_object_get(reply, "refused")));
		json_object_foreach(v, k, n)
			printf(" %s %lld", k, (long long)json_integer_value(n));
		putchar('\n');
	}
	return 0;
}
