/* run.c - the `run` subcommand: options, one job, its result. */
#define _GNU_SOURCE
#include "run.h"
#include "job.h"
#include "log.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_DIR = 256, OPT_WALL, OPT_OUTPUT, OPT_DISK, OPT_STDIN, OPT_STDOUT, OPT_STDERR,
	OPT_RESULT, OPT_ENV, OPT_HOSTNAME, OPT_NOFILE, OPT_STACK, OPT_FSIZE, OPT_RO_BIND,
	OPT_UID_RANGE, OPT_RUNTIME_DIR, OPT_ID, OPT_MEMORY, OPT_SWAP, OPT_CPUS, OPT_CPU_WEIGHT,
	OPT_CPUSET, OPT_CPU_TIME, OPT_PIDS, OPT_IO_RBPS, OPT_IO_WBPS, OPT_IO_RIOPS, OPT_IO_WIOPS,
	OPT_SCRATCH, OPT_CGROUP_PARENT,
};

static const struct option options[] = {
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "wall-time", required_argument, NULL, OPT_WALL },
	{ "output-limit", required_argument, NULL, OPT_OUTPUT },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "stdin", required_argument, NULL, OPT_STDIN },
	{ "stdout", required_argument, NULL, OPT_STDOUT },
	{ "stderr", required_argument, NULL, OPT_STDERR },
	{ "result", required_argument, NULL, OPT_RESULT },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "open-files", required_argument, NULL, OPT_NOFILE },
	{ "stack", required_argument, NULL, OPT_STACK },
	{ "file-size", required_argument, NULL, OPT_FSIZE },
	{ "ro-bind", required_argument, NULL, OPT_RO_BIND },
	{ "uid-range", required_argument, NULL, OPT_UID_RANGE },
	{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
	{ "id", required_argument, NULL, OPT_ID },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "swap", required_argument, NULL, OPT_SWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },
	{ "cpuset", required_argument, NULL, OPT_CPUSET },
	{ "cpu-time", required_argument, NULL, OPT_CPU_TIME },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "io-read-bps", required_argument, NULL, OPT_IO_RBPS },
	{ "io-write-bps", required_argument, NULL, OPT_IO_WBPS },
	{ "io-read-iops", required_argument, NULL, OPT_IO_RIOPS },
	{ "io-write-iops", required_argument, NULL, OPT_IO_WIOPS },
	{ "scratch", required_argument, NULL, OPT_SCRATCH },
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char usage[] =
	"usage: jobrun run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"  --dir DIR             host directory bound read-write at /job (default: a fresh tmpfs)\n"
	"  --wall-time T         wall-clock limit (1.5s, 500ms, 2m; default: none)\n"
	"  --output-limit SIZE   cap on stdout and on stderr, each (default 64M)\n"
	"  --disk SIZE           size of the tmpfs holding /job, /tmp and /dev/shm (default 256M)\n"
	"  --stdin FILE          the job's stdin (default /dev/null)\n"
	"  --stdout FILE         where the job's stdout goes (default: jobrun's stdout, or its\n"
	"                        stderr when the result goes to stdout)\n"
	"  --stderr FILE         where the job's stderr goes (default: jobrun's stderr)\n"
	"  --result FILE         write the JSON result there (default: stdout, after the job)\n"
	"  --env NAME[=VALUE]    add to the job's environment (NAME alone: jobrun's value)\n"
	"  --hostname NAME       the job's hostname (default jobrun)\n"
	"  --open-files N        RLIMIT_NOFILE (default 256)\n"
	"  --stack SIZE          RLIMIT_STACK, or 'unlimited' (default: unchanged)\n"
	"  --file-size SIZE      RLIMIT_FSIZE, or 'unlimited' (default unlimited)\n"
	"  --ro-bind PATH        also bind host PATH read-only at the same place\n"
	"  --uid-range BASE:N    job uids BASE..BASE+N-1, init uids the next N (1500000000:10000)\n"
	"  --runtime-dir DIR     jobrun's mount points and uid leases (default /run/jobrun)\n"
	"  --id ID               job id in the result (default: random)\n"
	"  --memory SIZE         memory limit of the job's cgroup (tmpfs pages included)\n"
	"  --swap SIZE           swap on top of --memory, or 'unlimited' (default 0)\n"
	"  --cpus N              CPU bandwidth in CPUs (0.5, 2)\n"
	"  --cpu-weight W        CPU weight 1..10000 (default: unchanged, 100)\n"
	"  --cpuset LIST         pin to CPUs (0-1,3)\n"
	"  --cpu-time T          CPU time over all the job's processes (TO, limit cpu)\n"
	"  --pids N              most processes/threads at once (fork bombs hit it)\n"
	"  --io-read-bps SIZE, --io-write-bps SIZE, --io-read-iops N, --io-write-iops N\n"
	"                        I/O limits on the block devices under the binds and --scratch\n"
	"  --scratch DIR         make a per-job directory in DIR (on disk) at /scratch, removed after\n"
	"  --cgroup-parent PATH  put job cgroups below PATH in each hierarchy (default: jobrun's own)\n"
	"  -v, --verbose         log what happens to stderr\n";

static int bad(struct jr_err *err, const char *opt, const char *val, const char *what)
{
	return jr_err_set(err, 0, "--%s: '%s' is not %s", opt, val, what);
}

static int set_str(char **dst, const char *val)
{
	free(*dst);
	*dst = strdup(val);
	return *dst ? 0 : -ENOMEM;
}

static int parse_limit_size(const char *val, uint64_t *out)
{
	if (!strcmp(val, "unlimited")) {
		*out = JR_UNLIMITED;
		return 0;
	}
	return jr_parse_size(val, out);
}

static int env_set(struct jr_strv *env, const char *name, size_t nlen, const char *value)
{
	char *kv;
	size_t i;

	if (asprintf(&kv, "%.*s=%s", (int)nlen, name, value) < 0)
		return -ENOMEM;
	for (i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], name, nlen) && env->v[i][nlen] == '=') {
			free(env->v[i]);
			env->v[i] = kv;
			return 0;
		}
	}
	return jr_strv_push_take(env, kv);
}

static int parse_env(struct jr_spec *spec, const char *val, char **environ_, struct jr_err *err)
{
	const char *eq = strchr(val, '=');
	size_t nlen = eq ? (size_t)(eq - val) : strlen(val);
	size_t i;

	if (nlen == 0)
		return bad(err, "env", val, "NAME=VALUE or NAME");
	for (i = 0; i < nlen; i++)
		if (!(val[i] == '_' || (val[i] >= 'A' && val[i] <= 'Z') ||
		      (val[i] >= 'a' && val[i] <= 'z') || (i && val[i] >= '0' && val[i] <= '9')))
			return bad(err, "env", val, "a valid variable name");
	if (eq)
		return env_set(&spec->env, val, nlen, eq + 1);
	for (i = 0; environ_ && environ_[i]; i++)
		if (!strncmp(environ_[i], val, nlen) && environ_[i][nlen] == '=')
			return env_set(&spec->env, val, nlen, environ_[i] + nlen + 1);
	return 0; /* not set here: not passed, as `docker run -e NAME` does */
}

static int valid_hostname(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static int parse_uid_range(struct jr_spec *spec, const char *val, struct jr_err *err)
{
	char base_s[32];
	const char *colon = strchr(val, ':');
	uint64_t base, count;

	if (!colon || (size_t)(colon - val) >= sizeof(base_s))
		return bad(err, "uid-range", val, "BASE:COUNT");
	memcpy(base_s, val, (size_t)(colon - val));
	base_s[colon - val] = '\0';
	if (jr_parse_uint(base_s, &base) < 0 || jr_parse_uint(colon + 1, &count) < 0 ||
	    count == 0 || base == 0 || base >= UINT32_MAX || count >= UINT32_MAX ||
	    base + 2 * count >= UINT32_MAX)
		return bad(err, "uid-range", val, "BASE:COUNT with BASE > 0 and BASE+2*COUNT < 2^32");
	spec->uid_base = (uid_t)base;
	spec->uid_count = (unsigned)count;
	return 0;
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int parse_io(const char *val, const char *opt, int is_size, uint64_t *out,
		    struct jr_err *err)
{
	int r = is_size ? jr_parse_size(val, out) : jr_parse_uint(val, out);

	if (r < 0 || *out == 0)
		return bad(err, opt, val, is_size ? "a positive size per second (10M)"
						  : "a positive number of operations per second");
	return 0;
}

static int abs_path(char **dst, const char *opt, const char *val, struct jr_err *err)
{
	char *p = realpath(val, NULL);

	if (!p)
		return jr_err_set(err, errno, "--%s: '%s'", opt, val);
	free(*dst);
	*dst = p;
	return 0;
}

static int parse_one(struct jr_spec *spec, int opt, const char *val, char **environ_,
		     struct jr_err *err)
{
	struct stat st;
	uint64_t v;

	switch (opt) {
	case OPT_DIR: return abs_path(&spec->workdir, "dir", val, err);
	case OPT_WALL:
		if (jr_parse_duration(val, &spec->wall_usec) < 0 || !spec->wall_usec)
			return bad(err, "wall-time", val, "a positive duration (1.5s, 500ms, 2m)");
		return 0;
	case OPT_OUTPUT:
		if (jr_parse_size(val, &spec->output_limit) < 0)
			return bad(err, "output-limit", val, "a size (64M, 512K, 1G)");
		return 0;
	case OPT_DISK:
		if (jr_parse_size(val, &spec->disk_bytes) < 0 || spec->disk_bytes < 65536)
			return bad(err, "disk", val, "a size of at least 64K");
		return 0;
	case OPT_STDIN: return set_str(&spec->stdin_path, val);
	case OPT_STDOUT: return set_str(&spec->stdout_path, val);
	case OPT_STDERR: return set_str(&spec->stderr_path, val);
	case OPT_RESULT: return set_str(&spec->result_path, val);
	case OPT_ENV: return parse_env(spec, val, environ_, err);
	case OPT_HOSTNAME:
		if (!valid_hostname(val))
			return bad(err, "hostname", val, "a host name (letters, digits, '-', '.')");
		return set_str(&spec->hostname, val);
	case OPT_NOFILE:
		if (jr_parse_uint(val, &v) < 0 || v < 4 || v > 1048576)
			return bad(err, "open-files", val, "a number from 4 to 1048576");
		spec->open_files = v;
		return 0;
	case OPT_STACK:
		if (parse_limit_size(val, &spec->stack_bytes) < 0 || spec->stack_bytes < 65536)
			return bad(err, "stack", val, "a size of at least 64K, or 'unlimited'");
		return 0;
	case OPT_FSIZE:
		if (parse_limit_size(val, &spec->file_size) < 0)
			return bad(err, "file-size", val, "a size, or 'unlimited'");
		return 0;
	case OPT_RO_BIND:
		if (val[0] != '/')
			return bad(err, "ro-bind", val, "an absolute path");
		/* the plan skips missing system binds (/lib32...): a bind asked for must exist */
		if (lstat(val, &st) < 0)
			return jr_err_set(err, errno, "--ro-bind: '%s'", val);
		return jr_strv_push(&spec->sys_binds, val);
	case OPT_UID_RANGE: return parse_uid_range(spec, val, err);
	case OPT_RUNTIME_DIR:
		if (val[0] != '/')
			return bad(err, "runtime-dir", val, "an absolute path");
		return set_str(&spec->runtime_dir, val);
	case OPT_ID:
		if (!valid_id(val))
			return bad(err, "id", val, "an id (letters, digits, '.', '_', '-'; 64 at most)");
		return set_str(&spec->id, val);
	case OPT_MEMORY:
		if (jr_parse_size(val, &spec->cg.memory) < 0 || spec->cg.memory < (1 << 20))
			return bad(err, "memory", val, "a size of at least 1M");
		return 0;
	case OPT_SWAP:
		if (parse_limit_size(val, &spec->cg.swap) < 0)
			return bad(err, "swap", val, "a size, or 'unlimited'");
		return 0;
	case OPT_CPUS:
		if (jr_parse_cpus(val, &spec->cg.cpus_milli) < 0 || spec->cg.cpus_milli < 10 ||
		    spec->cg.cpus_milli > 1000000)
			return bad(err, "cpus", val, "a number of CPUs from 0.01 to 1000");
		return 0;
	case OPT_CPU_WEIGHT:
		if (jr_parse_uint(val, &spec->cg.cpu_weight) < 0 || spec->cg.cpu_weight < 1 ||
		    spec->cg.cpu_weight > 10000)
			return bad(err, "cpu-weight", val, "a weight from 1 to 10000");
		return 0;
	case OPT_CPUSET:
		if (!val[0] || strspn(val, "0123456789,-") != strlen(val))
			return bad(err, "cpuset", val, "a CPU list (0-1,3)");
		return set_str(&spec->cg.cpuset, val);
	case OPT_CPU_TIME:
		if (jr_parse_duration(val, &spec->cpu_time_usec) < 0 || !spec->cpu_time_usec)
			return bad(err, "cpu-time", val, "a positive duration (1.5s, 500ms, 2m)");
		return 0;
	case OPT_PIDS:
		if (jr_parse_uint(val, &spec->cg.pids) < 0 || spec->cg.pids < 1 ||
		    spec->cg.pids > 4194304)
			return bad(err, "pids", val, "a number from 1 to 4194304");
		return 0;
	case OPT_IO_RBPS: return parse_io(val, "io-read-bps", 1, &spec->cg.io_rbps, err);
	case OPT_IO_WBPS: return parse_io(val, "io-write-bps", 1, &spec->cg.io_wbps, err);
	case OPT_IO_RIOPS: return parse_io(val, "io-read-iops", 0, &spec->cg.io_riops, err);
	case OPT_IO_WIOPS: return parse_io(val, "io-write-iops", 0, &spec->cg.io_wiops, err);
	case OPT_SCRATCH: return abs_path(&spec->scratch, "scratch", val, err);
	case OPT_CGROUP_PARENT:
		if (val[0] != '/' || strstr(val, "..") || strlen(val) < 2)
			return bad(err, "cgroup-parent", val, "an absolute cgroup path like /jobs");
		return set_str(&spec->cgroup_parent, val);
	default: return jr_err_set(err, 0, "unknown option");
	}
}

static int default_env(struct jr_spec *spec)
{
	if (jr_strv_push(&spec->env, "PATH=/usr/local/bin:/usr/bin:/bin") < 0 ||
	    jr_strv_push(&spec->env, "HOME=/job") < 0 ||
	    jr_strv_push(&spec->env, "LANG=C.UTF-8") < 0)
		return -ENOMEM;
	return 0;
}

int jr_run_parse(int argc, char **argv, struct jr_spec *spec, char **environ_,
		 struct jr_err *err)
{
	int opt, r, i;

	if (!spec->env.n && default_env(spec) < 0)
		return jr_err_set(err, ENOMEM, "environment");
	optind = 0; /* glibc, musl: start afresh, forgetting a half-read "-abc" of a last call */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+vh", options, NULL)) != -1) {
		if (opt == 'v') {
			jr_log_set_level(JR_LOG_DEBUG);
			continue;
		}
		if (opt == 'h')
			return jr_err_set(err, 0, "help");
		if (opt == '?' || opt == ':') {
			const char *arg = argv[optind - 1];

			/* a short option: arg may be a cluster ("-vx"), or not it at all ("-xv") */
			if (strncmp(arg, "--", 2) && optopt > 0)
				return jr_err_set(err, 0, "unknown option '-%c'", optopt);
			return jr_err_set(err, 0, "unknown option or missing value: '%s'", arg);
		}
		r = parse_one(spec, opt, optarg, environ_, err);
		if (r < 0)
			return r == -ENOMEM ? jr_err_set(err, ENOMEM, "options") : r;
	}
	if (optind >= argc)
		return jr_err_set(err, 0, "no command given");
	for (i = optind; i < argc; i++)
		if (jr_strv_push(&spec->argv, argv[i]) < 0)
			return jr_err_set(err, ENOMEM, "command");
	if (!spec->id) {
		unsigned char rnd[6];
		char id[16];

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return jr_err_set(err, errno, "getrandom");
		snprintf(id, sizeof(id), "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
			 rnd[4], rnd[5]);
		if (set_str(&spec->id, id) < 0)
			return jr_err_set(err, ENOMEM, "id");
	}
	return 0;
}

/* Write the result atomically: a temporary file beside it, fsync, rename. */
static int write_result(const char *path, const char *json, struct jr_err *err)
{
	char tmp[PATH_MAX];
	size_t len = strlen(json);
	struct stat st;
	int fd, r = 0;

	if (!path) {
		if (fwrite(json, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
		    fflush(stdout) == EOF)
			return jr_err_set(err, errno, "write the result to stdout");
		return 0;
	}
	/* written after the job, possibly into a directory the job could write */
	if (jr_path_trusted(path, "result file", err) < 0)
		return -EPERM;
	/* A device, FIFO or symlink (/dev/null, /dev/stdout) is written through, never renamed
	 * over: the rename would replace it with a regular file. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0)
			return jr_err_set(err, errno, "open %s", path);
		if (write(fd, json, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
			r = jr_err_set(err, errno ? errno : EIO, "write %s", path);
		if (close(fd) < 0 && !r)
			r = jr_err_set(err, errno, "close %s", path);
		return r;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return jr_err_set(err, errno, "create %s", tmp);
	if (write(fd, json, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		r = jr_err_set(err, errno ? errno : EIO, "write %s", tmp);
	if (close(fd) < 0 && !r)
		r = jr_err_set(err, errno, "close %s", tmp);
	if (!r && rename(tmp, path) < 0)
		r = jr_err_set(err, errno, "rename %s to %s", tmp, path);
	if (r)
		unlink(tmp);
	return r;
}

struct run_ctx {
	uv_signal_t sigs[3];
	struct jr_job job;
};

static void signal_cb(uv_signal_t *s, int signum)
{
	struct run_ctx *ctx = s->data;
	char why[64];

	snprintf(why, sizeof(why), "jobrun was interrupted by %s", sigabbrev_np(signum));
	jr_job_cancel(&ctx->job, why);
}

static void job_done_cb(struct jr_job *job)
{
	struct run_ctx *ctx = job->data;
	size_t i;

	for (i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&ctx->sigs[i], NULL);
}

/* Make sure fds 0-2 exist, so no file of ours lands on them. */
static void sanitize_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int run_job(struct jr_spec *spec, const struct jr_host *host)
{
	static const int signums[3] = { SIGINT, SIGTERM, SIGHUP };
	struct run_ctx ctx;
	struct jr_err err;
	uv_loop_t loop;
	char *json;
	size_t i;
	int status;

	memset(&ctx, 0, sizeof(ctx));
	if (uv_loop_init(&loop) < 0) {
		fprintf(stderr, "jobrun: cannot create the event loop\n");
		return 2;
	}
	for (i = 0; i < 3; i++) {
		uv_signal_init(&loop, &ctx.sigs[i]);
		ctx.sigs[i].data = &ctx;
		uv_signal_start(&ctx.sigs[i], signal_cb, signums[i]);
	}
	jr_job_start(&ctx.job, &loop, spec, host, job_done_cb);
	ctx.job.data = &ctx;
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) < 0)
		jr_warn("job=%s the event loop did not close clean", spec->id);

	status = jr_result_exit_status(&ctx.job.result);
	json = jr_result_json(&ctx.job.result, spec);
	if (!json) {
		fprintf(stderr, "jobrun: cannot format the result\n");
		return 2;
	}
	if (write_result(spec->result_path, json, &err) < 0) {
		fprintf(stderr, "jobrun: %s\n", err.msg);
		status = 2;
	}
	free(json);
	return status;
}

/* The supervisor must outlive its jobs when memory runs out: oom_score_adj -1000 where the
 * host allows it (CAP_SYS_RESOURCE). The job's command gets back the value jobrun had, or one
 * more than jobrun's when jobrun could not lower its own, so that an OOM kill inside the job
 * picks the job's processes before its PID 1 (which keeps jobrun's value). */
static void protect_self(struct jr_host *host)
{
	char old[16] = "";
	ssize_t n;
	long v;
	int fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);

	host->job_oom_adj[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, old, sizeof(old) - 1);
	if (n <= 0) {
		close(fd);
		return;
	}
	old[n] = '\0';
	v = strtol(old, NULL, 10);
	if (write(fd, "-1000", 5) == 5) {
		snprintf(host->job_oom_adj, sizeof(host->job_oom_adj), "%ld", v);
	} else {
		jr_info("cannot set oom_score_adj -1000 (CAP_SYS_RESOURCE?): %s", strerror(errno));
		if (v < 1000)
			snprintf(host->job_oom_adj, sizeof(host->job_oom_adj), "%ld", v + 1);
	}
	close(fd);
}

int jr_cmd_run(int argc, char **argv)
{
	extern char **environ;
	struct jr_host host;
	struct jr_spec spec;
	struct jr_err err;
	int status;

	jr_err_clear(&err);
	jr_spec_init(&spec);
	if (jr_run_parse(argc, argv, &spec, environ, &err) < 0) {
		if (!strcmp(err.msg, "help")) {
			fputs(usage, stdout);
			jr_spec_free(&spec);
			return 0;
		}
		fprintf(stderr, "jobrun run: %s\n%s", err.msg, usage);
		jr_spec_free(&spec);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "jobrun run: must run as root (it creates namespaces and mounts)\n");
		jr_spec_free(&spec);
		return 2;
	}
	sanitize_stdio();
	signal(SIGPIPE, SIG_IGN);
	/* An inherited SIG_IGN for SIGCHLD makes the kernel reap PID 1 by itself: waitid on its
	 * pidfd would then fail with ECHILD forever while the pidfd stays readable. */
	signal(SIGCHLD, SIG_DFL);
	if (mkdir(spec.runtime_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "jobrun run: cannot create %s: %s\n", spec.runtime_dir,
			strerror(errno));
		jr_spec_free(&spec);
		return 2;
	}
	protect_self(&host);
	if (jr_cg_detect(&host.cg, &err) < 0) {
		jr_warn("cgroups: %s: jobs get no cgroup", err.msg);
		memset(&host.cg, 0, sizeof(host.cg));
	}
	status = run_job(&spec, &host);
	jr_cg_host_free(&host.cg);
	jr_spec_free(&spec);
	return status;
}
