/* run.c - the `run` subcommand: options, one job, its result. */
#define _GNU_SOURCE
#include "run.h"
#include "callerpath.h"
#include "conf.h"
#include "job.h"
#include "job-fetch.h"
#include "jobreq.h"
#include "log.h"
#include "outbox.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_DIR = 256, OPT_STDIN, OPT_STDOUT, OPT_STDERR, OPT_RESULT, OPT_ENV, OPT_HOSTNAME,
	OPT_STACK, OPT_FSIZE, OPT_RO_BIND, OPT_UID_RANGE, OPT_RUNTIME_DIR, OPT_ID, OPT_CPUSET,
	OPT_SCRATCH, OPT_CGROUP_PARENT, OPT_CONFIG, OPT_PROFILE, OPT_JOB_CONF, OPT_OUTPUT_DIR,
	OPT_REPORT, OPT_META,
	OPT_LIMIT = 512, /* + the limit's key: one option each, named by jr_limit_defs */
};

/* The options that are not limits; the limits' are added from jr_limit_defs (options()). */
static const struct option fixed_options[] = {
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "stdin", required_argument, NULL, OPT_STDIN },
	{ "stdout", required_argument, NULL, OPT_STDOUT },
	{ "stderr", required_argument, NULL, OPT_STDERR },
	{ "result", required_argument, NULL, OPT_RESULT },
	{ "meta", required_argument, NULL, OPT_META },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "stack", required_argument, NULL, OPT_STACK },
	{ "file-size", required_argument, NULL, OPT_FSIZE },
	{ "ro-bind", required_argument, NULL, OPT_RO_BIND },
	{ "uid-range", required_argument, NULL, OPT_UID_RANGE },
	{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
	{ "id", required_argument, NULL, OPT_ID },
	{ "cpuset", required_argument, NULL, OPT_CPUSET },
	{ "scratch", required_argument, NULL, OPT_SCRATCH },
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "job-conf", required_argument, NULL, OPT_JOB_CONF },
	{ "output-dir", required_argument, NULL, OPT_OUTPUT_DIR },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};

#define NFIXED (sizeof(fixed_options) / sizeof(fixed_options[0]))

static const struct option *options(void)
{
	static struct option all[NFIXED + JR_L_N + 1];
	int k;

	if (!all[0].name) {
		memcpy(all, fixed_options, sizeof(fixed_options));
		for (k = 0; k < JR_L_N; k++) {
			all[NFIXED + k].name = jr_limit_defs[k].option;
			all[NFIXED + k].has_arg = required_argument;
			all[NFIXED + k].val = OPT_LIMIT + k;
		}
	}
	return all;
}

static const char usage[] =
	"usage: jobrun run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"       jobrun run [OPTIONS] JOB.tar[.gz|.bz2|.xz|.zst]|.tgz|.tbz2|.txz|.tzst|JOB.zip|-\n"
	"                  [-- COMMAND [ARGS...]]\n"
	"       jobrun run [OPTIONS] https://HOST/JOB.tar.gz|file:///PATH [-- COMMAND [ARGS...]]\n"
	"                  (fetched where jobrun.conf's fetch { allow } lets it)\n"
	"       jobrun run [OPTIONS] --job-conf FILE [-- COMMAND [ARGS...]]\n"
	"Limits default to the profile's (built-in grader: default / most allowed).\n"
	"  --config FILE         jobrun.conf (default /etc/jobrun/jobrun.conf, else built in)\n"
	"  --profile NAME        the profile whose defaults and maxima apply (default grader)\n"
	"  --job-conf FILE       the job config (wins over the archive's job.conf)\n"
	"  --output-dir DIR      where the job's outputs are copied (default STATE_DIR/ID)\n"
	"  --dir DIR             host directory bound read-write at /job (default: a fresh tmpfs)\n"
	"  --wall-time T         wall-clock limit (1.5s, 500ms, 2m; grader 30s / 5m)\n"
	"  --output-limit SIZE   cap on stdout, on stderr, on all outputs (grader 64M / 256M)\n"
	"  --disk SIZE           the tmpfs holding /job, /tmp, /dev/shm (grader 256M / 1G)\n"
	"  --stdin FILE          the job's stdin (default /dev/null)\n"
	"  --stdout FILE         where the job's stdout goes (default: jobrun's stdout, or its\n"
	"                        stderr when the result goes to stdout)\n"
	"  --stderr FILE         where the job's stderr goes (default: jobrun's stderr)\n"
	"  --result FILE         write the JSON result there (default: stdout, after the job)\n"
	"  --meta FILE           also write the result in isolate's meta-file format there\n"
	"  --report NAME         also POST the result to jobrun.conf's report target NAME\n"
	"                        (through the outbox: jobrun-report delivers it, retrying)\n"
	"  --env NAME[=VALUE]    add to the job's environment (NAME alone: jobrun's value)\n"
	"  --hostname NAME       the job's hostname (default jobrun)\n"
	"  --open-files N        RLIMIT_NOFILE (grader 256 / 4096)\n"
	"  --stack SIZE          RLIMIT_STACK, or 'unlimited' (default: unchanged)\n"
	"  --file-size SIZE      RLIMIT_FSIZE, or 'unlimited' (default unlimited)\n"
	"  --ro-bind PATH        also bind host PATH read-only at the same place\n"
	"  --uid-range BASE:N    job uids BASE..BASE+N-1, init uids the next N (1500000000:10000)\n"
	"  --runtime-dir DIR     jobrun's mount points and uid leases (default /run/jobrun)\n"
	"  --id ID               job id in the result (default: random)\n"
	"  --memory SIZE         memory limit of the job's cgroup, tmpfs pages included\n"
	"                        (grader 256M / 2G)\n"
	"  --swap SIZE           swap on top of --memory, or 'unlimited' (grader 0 / 0)\n"
	"  --cpus N              CPU bandwidth in CPUs (0.5, 2; grader 1 / 2)\n"
	"  --cpu-weight W        CPU weight 1..10000 (default: unchanged, 100)\n"
	"  --cpuset LIST         pin to CPUs (0-1,3): online ones jobrun itself may use\n"
	"  --cpu-time T          CPU time over the job's processes, not unpacking's (TO, limit\n"
	"                        cpu; grader 10s / 60s)\n"
	"  --pids N              most processes/threads at once (fork bombs; grader 64 / 512)\n"
	"  --io-read-bps SIZE, --io-write-bps SIZE, --io-read-iops N, --io-write-iops N\n"
	"                        I/O limits on the disks under the binds, --dir and --scratch\n"
	"  --scratch DIR         a per-job directory in DIR (on disk, with user quotas) at\n"
	"                        /scratch, held to --disk, removed after\n"
	"  --cgroup-parent PATH  put job cgroups below PATH in each hierarchy (default: jobrun's own)\n"
	"  -v, --verbose         log what happens to stderr\n"
	"  -h, --help            this text\n";

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

/* "--opt: 'val' why" (why: "is below the minimum 1M", from the rules every layer shares). */
static int refuse(struct jr_err *err, const char *opt, const char *val, const char *why)
{
	return jr_err_set(err, 0, "--%s: '%s' %s", opt, val, why);
}

/* A limit the profile's layers have too (conf.h): the same rules as in a job config
 * (jr_limit_parse), and what this host lets jobrun give (jr_limit_host_check). The maxima are
 * checked at admission, with the profile. */
static int parse_limit(struct jr_spec *spec, enum jr_limit_key k, const char *opt,
		       const char *val, struct jr_err *err)
{
	char why[192];
	uint64_t v;

	if (jr_limit_parse(k, val, 0, &v, why, sizeof(why)) < 0 ||
	    jr_limit_host_check(k, v, why, sizeof(why)) < 0)
		return refuse(err, opt, val, why);
	jr_spec_set_limit(spec, k, v);
	return 0;
}

/* --stack, --file-size: a size (at least min) or "unlimited", within what jobrun may give
 * (jobrun-init sets soft = hard: above jobrun's own hard limit only with CAP_SYS_RESOURCE). */
static int parse_rlimit(uint64_t *out, const char *opt, const char *val, uint64_t min,
			uint64_t host_max, const char *rlimit, struct jr_err *err)
{
	char why[192], b[32];
	uint64_t v = JR_UNLIMITED;

	if (strcmp(val, "unlimited") && (jr_parse_size(val, &v) < 0 || v == JR_UNLIMITED)) {
		snprintf(why, sizeof(why), "is not a size (8M, 1G) or 'unlimited'");
		return refuse(err, opt, val, why);
	}
	if (v < min) {
		snprintf(why, sizeof(why), "is below the minimum %s",
			 jr_format_size(min, b, sizeof(b)));
		return refuse(err, opt, val, why);
	}
	if (host_max != JR_UNLIMITED && v > host_max) {
		snprintf(why, sizeof(why), "is more than jobrun may give here: its own hard %s is %s",
			 rlimit, jr_format_size(host_max, b, sizeof(b)));
		return refuse(err, opt, val, why);
	}
	*out = v;
	return 0;
}

/* --cpuset: a CPU list of online CPUs that jobrun itself may use (its cpuset): one the
 * kernel would refuse is refused here, naming the CPU. */
static int parse_cpuset(struct jr_spec *spec, const char *val, struct jr_err *err)
{
	const struct jr_host_caps *h;
	struct jr_cpuset set;
	const char *why;
	char why2[192], list[96];
	int c;

	if (jr_parse_cpulist(val, &set, &why) < 0 || strchr(val, '\n'))
		return refuse(err, "cpuset", val, strchr(val, '\n') ? "is not a CPU list (0-3,8)"
								   : why);
	h = jr_host_caps(JR_HOST_CPUS);
	c = jr_cpuset_first_missing(&set, &h->cpus);
	if (c >= 0) {
		snprintf(why2, sizeof(why2), "names CPU %d, which is not online or not in jobrun's "
			 "own cpuset (it may use %s)", c,
			 jr_format_cpulist(&h->cpus, list, sizeof(list)));
		return refuse(err, "cpuset", val, why2);
	}
	return set_str(&spec->cg.cpuset, val);
}

/* A caller's path is kept as given: it is resolved once, when the job starts, by the rule of
 * callerpath.h (never realpath(), which follows whatever symlink a job planted). */
static int caller_path(char **dst, const char *opt, const char *val, struct jr_err *err)
{
	if (!*val)
		return bad(err, opt, val, "a path");
	return set_str(dst, val);
}

static int parse_one(struct jr_spec *spec, int opt, const char *val, char **environ_,
		     struct jr_err *err)
{
	struct stat st;

	switch (opt) {
	case OPT_DIR: return caller_path(&spec->workdir, "dir", val, err);
	case OPT_STDIN: return set_str(&spec->stdin_path, val);
	case OPT_STDOUT: return set_str(&spec->stdout_path, val);
	case OPT_STDERR: return set_str(&spec->stderr_path, val);
	case OPT_RESULT: return set_str(&spec->result_path, val);
	case OPT_META: return caller_path(&spec->meta_path, "meta", val, err);
	case OPT_ENV: return parse_env(spec, val, environ_, err);
	case OPT_HOSTNAME:
		if (!jr_valid_hostname(val))
			return bad(err, "hostname", val, "a host name (letters, digits, '-', '.')");
		return set_str(&spec->hostname, val);
	case OPT_STACK:
		return parse_rlimit(&spec->stack_bytes, "stack", val, 65536,
				    jr_host_caps(JR_HOST_RLIMITS)->stack, "RLIMIT_STACK", err);
	case OPT_FSIZE:
		return parse_rlimit(&spec->file_size, "file-size", val, 0,
				    jr_host_caps(JR_HOST_RLIMITS)->fsize, "RLIMIT_FSIZE", err);
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
	case OPT_CPUSET: return parse_cpuset(spec, val, err);
	case OPT_SCRATCH: return caller_path(&spec->scratch, "scratch", val, err);
	case OPT_REPORT:
		if (jr_check_profile_name(val))
			return bad(err, "report", val, "the name of a report target of jobrun.conf");
		return 0; /* recorded by jr_run_parse_cli */
	case OPT_CONFIG:
	case OPT_PROFILE:
		return 0; /* recorded by jr_run_parse_cli */
	case OPT_JOB_CONF: return caller_path(&spec->job_conf, "job-conf", val, err);
	case OPT_OUTPUT_DIR:
		if (val[0] != '/')
			return bad(err, "output-dir", val, "an absolute path");
		return set_str(&spec->output_dir, val);
	case OPT_CGROUP_PARENT:
		if (val[0] != '/' || strstr(val, "..") || strlen(val) < 2)
			return bad(err, "cgroup-parent", val, "an absolute cgroup path like /jobs");
		return set_str(&spec->cgroup_parent, val);
	default:
		if (opt >= OPT_LIMIT && opt < OPT_LIMIT + JR_L_N)
			return parse_limit(spec, (enum jr_limit_key)(opt - OPT_LIMIT),
					   jr_limit_defs[opt - OPT_LIMIT].option, val, err);
		return jr_err_set(err, 0, "unknown option");
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

/* The limit a command-line option sets, as a job config key: the command line is merged
 * like a job config, within the profile's maxima. -1: not a limit. */
static int limit_of(int opt)
{
	return opt >= OPT_LIMIT && opt < OPT_LIMIT + JR_L_N ? opt - OPT_LIMIT : -1;
}

static int dup_into(char **dst, const char *val)
{
	char *t = val ? strdup(val) : NULL;

	if (val && !t)
		return -ENOMEM;
	free(*dst);
	*dst = t;
	return 0;
}

/* What the command line asked for, kept apart from spec (which the merge of the layers
 * rewrites): the admission merges these again, never parsing argv a second time. Called after
 * parse_one accepted the option, so spec holds its parsed value. */
static int record(struct jr_run_cli *cli, int opt, const char *val, const struct jr_spec *spec,
		  char **environ_)
{
	struct jr_req_value *v = NULL;
	size_t i, nlen;
	int k;

	if (!cli)
		return 0;
	switch (opt) {
	case OPT_CONFIG:
		return set_str(&cli->config, val);
	case OPT_PROFILE:
		v = &cli->req.profile;
		break;
	case OPT_REPORT:
		v = &cli->req.report;
		break;
	case OPT_HOSTNAME:
		return dup_into(&cli->hostname, spec->hostname);
	case OPT_RUNTIME_DIR:
		return dup_into(&cli->runtime_dir, spec->runtime_dir);
	case OPT_CGROUP_PARENT:
		return dup_into(&cli->cgroup_parent, spec->cgroup_parent);
	case OPT_STDIN:
		return dup_into(&cli->stdin_path, spec->stdin_path);
	case OPT_UID_RANGE:
		cli->uid_range = true;
		cli->uid_base = spec->uid_base;
		cli->uid_count = spec->uid_count;
		return 0;
	case OPT_RO_BIND:
		return jr_strv_push(&cli->ro_binds, val);
	case OPT_ENV:
		if (strchr(val, '='))
			return jr_strv_push(&cli->req.env, val);
		nlen = strlen(val); /* NAME alone: jobrun's value, when it has one */
		for (i = 0; environ_ && environ_[i]; i++)
			if (!strncmp(environ_[i], val, nlen) && environ_[i][nlen] == '=')
				return jr_strv_push(&cli->req.env, environ_[i]);
		return 0;
	default:
		if ((k = limit_of(opt)) >= 0)
			v = &cli->req.limits[k];
		break;
	}
	if (!v)
		return 0;
	free(v->value);
	v->value = strdup(val);
	v->line = 0;
	return v->value ? 0 : -ENOMEM;
}

/* After the merge (jr_conf_apply, which sets the conf's host values): the command line's. */
static int apply_host_options(const struct jr_run_cli *cli, struct jr_spec *spec)
{
	size_t i;

	if ((cli->hostname && dup_into(&spec->hostname, cli->hostname) < 0) ||
	    (cli->runtime_dir && dup_into(&spec->runtime_dir, cli->runtime_dir) < 0) ||
	    (cli->cgroup_parent && dup_into(&spec->cgroup_parent, cli->cgroup_parent) < 0) ||
	    (cli->stdin_path && dup_into(&spec->stdin_path, cli->stdin_path) < 0))
		return -ENOMEM;
	if (cli->uid_range) {
		spec->uid_base = cli->uid_base;
		spec->uid_count = cli->uid_count;
	}
	for (i = 0; i < cli->ro_binds.n; i++)
		if (jr_strv_push(&spec->sys_binds, cli->ro_binds.v[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int is_archive_name(const char *s)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2",
					   ".tar.xz", ".txz", ".tar.zst", ".tzst", ".zip" };
	size_t n = strlen(s), i, e;

	if (!strcmp(s, "-") || jr_fetch_is_url(s) || !strncasecmp(s, "file://", 7))
		return 1; /* a URL is an archive whatever its name (README: Job tarballs by URL) */
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		e = strlen(ext[i]);
		if (n > e && !strcmp(s + n - e, ext[i]))
			return 1;
	}
	return 0;
}

static int parse_positional(int argc, char **argv, struct jr_spec *spec, struct jr_run_cli *cli,
			    struct jr_err *err)
{
	int i = optind;

	/* "jobrun run JOB.tar [-- CMD]": an archive comes first, unless "--" was seen */
	if (i < argc && strcmp(argv[i - 1], "--") && is_archive_name(argv[i])) {
		char *path;
		int r = jr_fetch_file_path(argv[i], &path); /* file://: the path, as it is */

		if (r < 0)
			return jr_err_set(err, -r, "archive '%s': a file:// URL must name a local "
					  "path (file:///PATH)", argv[i]);
		if (r > 0) {
			free(spec->archive);
			spec->archive = path;
		} else if (set_str(&spec->archive, argv[i]) < 0) {
			return jr_err_set(err, ENOMEM, "archive");
		}
		i++;
		if (i < argc && !strcmp(argv[i], "--"))
			i++;
		else if (i < argc) /* "job.tar.gz extra": a typo, or a command without "--" */
			return jr_err_set(err, 0, "'%s' after the archive: a command that replaces the "
					  "job config's goes after '--'", argv[i]);
	}
	if (i >= argc) {
		if (!spec->archive && !spec->job_conf && !spec->argv.n)
			return jr_err_set(err, 0, "no command given");
		return 0;
	}
	jr_strv_free(&spec->argv); /* the command line's command replaces any other */
	if (cli)
		jr_strv_free(&cli->req.argv);
	for (; i < argc; i++)
		if (jr_strv_push(&spec->argv, argv[i]) < 0 ||
		    (cli && jr_strv_push(&cli->req.argv, argv[i]) < 0))
			return jr_err_set(err, ENOMEM, "command");
	return 0;
}

int jr_run_parse_cli(int argc, char **argv, struct jr_spec *spec, struct jr_run_cli *cli,
		     char **environ_, struct jr_err *err)
{
	int opt, r;

	if (!spec->env.n && default_env(spec) < 0)
		return jr_err_set(err, ENOMEM, "environment");
	optind = 0; /* glibc, musl: start afresh, forgetting a half-read "-abc" of a last call */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+vh", options(), NULL)) != -1) {
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
		if (r == 0)
			r = record(cli, opt, optarg, spec, environ_);
		if (r < 0)
			return r == -ENOMEM ? jr_err_set(err, ENOMEM, "options") : r;
	}
	r = parse_positional(argc, argv, spec, cli, err);
	if (r < 0)
		return r;
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

int jr_run_parse(int argc, char **argv, struct jr_spec *spec, char **environ_,
		 struct jr_err *err)
{
	return jr_run_parse_cli(argc, argv, spec, NULL, environ_, err);
}

void jr_run_cli_free(struct jr_run_cli *cli)
{
	free(cli->config);
	free(cli->hostname);
	free(cli->runtime_dir);
	free(cli->cgroup_parent);
	free(cli->stdin_path);
	jr_strv_free(&cli->ro_binds);
	jr_jobreq_free(&cli->req);
	memset(cli, 0, sizeof(*cli));
}

/* Write the result: on stdout, or atomically through the destination resolved before the
 * job (callerpath.h: a temporary file beside it, fsync, rename; never through a job's link). */
static int write_result(struct jr_cp_dest *dest, const char *json, struct jr_err *err)
{
	size_t len = strlen(json);
	char *line;
	int r;

	if (!dest) {
		if (fwrite(json, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
		    fflush(stdout) == EOF)
			return jr_err_set(err, errno, "write the result to stdout");
		return 0;
	}
	if (asprintf(&line, "%s\n", json) < 0)
		return jr_err_set(err, ENOMEM, "the result");
	r = jr_cp_dest_write(dest, line, len + 1, err);
	free(line);
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

/* The result of a job with a report target goes to the outbox, once its result file is
 * written; a reporter delivers it in the background (outbox.h): jobrun does not wait. A
 * failure here is the caller's to know (a warning and exit status 2), the result file is
 * written either way. */
static int report_result(const struct jr_conf *conf, const struct jr_spec *spec,
			 const char *json)
{
	struct jr_err err;

	if (!spec->report)
		return 0;
	if (jr_outbox_put(conf->state_dir, spec->report, json, &err) < 0) {
		fprintf(stderr, "jobrun: report %s: %s\n", spec->report, err.msg);
		return -1;
	}
	if (jr_outbox_kick(conf->state_dir, conf->file, &err) < 0)
		fprintf(stderr, "jobrun: report %s: the result waits in the outbox: %s\n",
			spec->report, err.msg);
	return 0;
}

static int run_job(struct jr_spec *spec, const struct jr_host *host,
		   const struct jr_admit *admit, const struct jr_conf *conf,
		   struct jr_cp_dest *result, struct jr_cp_dest *meta, struct jr_run_hooks *hooks)
{
	static const int signums[3] = { SIGINT, SIGTERM, SIGHUP };
	struct run_ctx ctx;
	struct jr_err err;
	uv_loop_t loop;
	char *json, *meta_text = NULL;
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
	jr_job_start(&ctx.job, &loop, spec, host, admit, job_done_cb);
	ctx.job.data = &ctx;
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) < 0)
		jr_warn("job=%s the event loop did not close clean", spec->id);

	status = jr_result_exit_status(&ctx.job.result);
	json = jr_result_json(&ctx.job.result, spec);
	if (json && meta)
		meta_text = jr_result_meta(&ctx.job.result, spec);
	jr_outputs_free(&ctx.job.outputs);
	if (!json || (meta && !meta_text)) {
		fprintf(stderr, "jobrun: cannot format the result\n");
		free(json);
		return 2;
	}
	if (hooks) { /* the front writes what it needs from the result */
		hooks->json = json;
		hooks->verdict = (int)ctx.job.result.verdict;
		if (report_result(conf, spec, json) < 0)
			status = 2;
		return status;
	}
	if (write_result(result, json, &err) < 0) {
		fprintf(stderr, "jobrun: %s\n", err.msg);
		status = 2;
	}
	/* isolate's meta file: written like --result (callerpath.h), after it */
	if (meta && jr_cp_dest_write(meta, meta_text, strlen(meta_text), &err) < 0) {
		fprintf(stderr, "jobrun: %s\n", err.msg);
		status = 2;
	}
	free(meta_text);
	if (report_result(conf, spec, json) < 0)
		status = 2;
	free(json);
	return status;
}

/* profile defaults < job config < command line, within the profile's maxima (conf.c); then
 * the command line's host options again, which win over jobrun.conf's. */
static int admit_cb(void *data, const struct jr_jobreq *req, struct jr_spec *spec,
		    struct jr_err *err)
{
	struct jr_admission *ad = data;
	struct jr_job_extra extra;
	int r;

	memset(&extra, 0, sizeof(extra));
	if (ad->placeholder && ad->admitted) { /* the stand-in never reaches a job */
		jr_strv_free(&spec->argv);
		ad->placeholder = false;
	}
	ad->admitted = true;
	free(spec->stdin_path); /* the command line's (a host file) comes back below */
	spec->stdin_path = NULL;
	r = jr_conf_apply(ad->conf, req, &ad->cli.req, spec, &extra, err);
	if (r < 0)
		return r;
	free(spec->stdin_job);
	spec->stdin_job = spec->stdin_path; /* the job config's: a file inside /job */
	spec->stdin_path = NULL;
	free(spec->cwd_job);
	spec->cwd_job = extra.cwd;
	extra.cwd = NULL;
	jr_strv_free(&spec->outputs);
	spec->outputs = extra.outputs;
	memset(&extra.outputs, 0, sizeof(extra.outputs));
	free(spec->profile);
	spec->profile = extra.profile;
	extra.profile = NULL;
	spec->max_entries = extra.max_entries;
	spec->max_name = extra.max_name;
	free(spec->report);
	spec->report = extra.report;
	extra.report = NULL;
	jr_job_extra_free(&extra);
	if (apply_host_options(&ad->cli, spec) < 0)
		return jr_err_set(err, ENOMEM, "options");
	if (spec->outputs.n && !spec->output_dir &&
	    asprintf(&spec->output_dir, "%s/%s", ad->conf->state_dir, spec->id) < 0)
		return jr_err_set(err, ENOMEM, "output directory");
	if (spec->outputs.n && !strncmp(spec->output_dir, ad->conf->state_dir,
					strlen(ad->conf->state_dir)) &&
	    mkdir(ad->conf->state_dir, 0755) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "create %s", ad->conf->state_dir);
	return 0;
}

/* The workspace must hold whatever the job may ask for: the profile's maximum disk. */
static uint64_t stage_bytes(const struct jr_admission *ad, const struct jr_spec *spec)
{
	const char *name = ad->cli.req.profile.value ? ad->cli.req.profile.value
						     : ad->conf->default_profile;
	const struct jr_profile *p = jr_conf_profile(ad->conf, name);

	if (ad->cli.req.limits[JR_L_DISK].value || !p || !p->maxima[JR_L_DISK].text ||
	    p->maxima[JR_L_DISK].value == JR_LIMIT_UNLIMITED)
		return spec->disk_bytes;
	return p->maxima[JR_L_DISK].value;
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

/* Admit what is known before the job starts: the profile's defaults and the command line (a
 * tarball's own config comes later, from jobrun-unpack). */
int jr_admission_start(struct jr_admission *ad, struct jr_spec *spec, struct jr_admit *admit,
		       struct jr_err *err)
{
	bool staged = spec->archive || spec->job_conf;

	if (staged && !spec->argv.n) {
		if (jr_strv_push(&spec->argv, "/bin/true") < 0)
			return jr_err_set(err, ENOMEM, "command");
		ad->placeholder = true;
	}
	if (admit_cb(ad, NULL, spec, err) < 0)
		return -EINVAL;
	admit->fn = admit_cb;
	admit->data = ad;
	admit->stage_bytes = stage_bytes(ad, spec);
	admit->fetch = &ad->conf->fetch;
	return 0;
}

void jr_admission_free(struct jr_admission *ad)
{
	jr_run_cli_free(&ad->cli);
}

void jr_host_init(struct jr_host *host)
{
	struct jr_err err;

	protect_self(host);
	if (jr_cg_detect(&host->cg, &err) < 0) {
		jr_warn("cgroups: %s: jobs get no cgroup", err.msg);
		memset(&host->cg, 0, sizeof(host->cg));
	}
}

int jr_cmd_run(int argc, char **argv)
{
	return jr_run_main(argc, argv, NULL);
}

/* Why no job ran: on stderr, or to a front, which says it its own way (isolate's meta file). */
static void refused(struct jr_run_hooks *hooks, const char *prog, const struct jr_err *err)
{
	if (hooks)
		snprintf(hooks->error, sizeof(hooks->error), "%s", err->msg);
	else
		fprintf(stderr, "%s: %s\n", prog, err->msg);
}

int jr_run_main(int argc, char **argv, struct jr_run_hooks *hooks)
{
	extern char **environ;
	const char *prog = hooks ? hooks->prog : "jobrun run";
	struct jr_admission ad;
	struct jr_conf conf;
	struct jr_cp_dest result = { .dirfd = -1, .fd = -1 };
	struct jr_cp_dest meta = { .dirfd = -1, .fd = -1 };
	struct jr_admit admit;
	struct jr_host host;
	struct jr_spec spec;
	struct jr_err err;
	int status, log_fd;

	jr_err_clear(&err);
	jr_spec_init(&spec);
	memset(&ad, 0, sizeof(ad));
	memset(&conf, 0, sizeof(conf));
	jr_jobreq_init(&ad.cli.req);
	ad.cli.req.file = strdup("command line");
	ad.argc = argc;
	ad.argv = argv;
	ad.conf = &conf;
	ad.environ_ = environ;
	if (jr_run_parse_cli(argc, argv, &spec, &ad.cli, environ, &err) < 0) {
		status = !strcmp(err.msg, "help") ? 0 : 2;
		if (status && hooks)
			refused(hooks, prog, &err);
		else if (status)
			fprintf(stderr, "%s: %s\n(jobrun run --help lists the options)\n",
				prog, err.msg);
		else
			fputs(usage, stdout);
		goto out;
	}
	status = 2;
	if (hooks && hooks->conf) /* the isolate front read it already */
		ad.conf = hooks->conf;
	if ((ad.conf == &conf && jr_conf_load(ad.cli.config, &conf, &err) < 0) ||
	    jr_admission_start(&ad, &spec, &admit, &err) < 0) {
		refused(hooks, prog, &err);
		goto out;
	}
	status = 0;
	if (geteuid() != 0) {
		jr_err_set(&err, EPERM, "must run as root (it creates namespaces and mounts)");
		refused(hooks, prog, &err);
		status = 2;
		goto out;
	}
	sanitize_stdio();
	/* jobrun's own stderr may be a pipe its reader stopped reading: never block on it */
	log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (log_fd >= 0)
		jr_log_set_fd(jr_cp_nonblocking(log_fd));
	signal(SIGPIPE, SIG_IGN);
	/* An inherited SIG_IGN for SIGCHLD makes the kernel reap PID 1 by itself: waitid on its
	 * pidfd would then fail with ECHILD forever while the pidfd stays readable. */
	signal(SIGCHLD, SIG_DFL);
	if (mkdir(spec.runtime_dir, 0700) < 0 && errno != EEXIST) {
		jr_err_set(&err, errno, "cannot create %s", spec.runtime_dir);
		refused(hooks, prog, &err);
		status = 2;
		goto out;
	}
	/* jobrun mounts and leases there by name: no job may be able to touch any part of it */
	if (jr_cp_check_private_dir("--runtime-dir", spec.runtime_dir, &err) < 0) {
		refused(hooks, prog, &err);
		status = 2;
		goto out;
	}
	/* where the result goes, resolved before the job can touch it; checked again at the end */
	if (spec.result_path && (jr_cp_dest_init(&result, "--result", spec.result_path, &err) < 0 ||
				 jr_cp_dest_check(&result, &err) < 0)) {
		refused(hooks, prog, &err);
		status = 2;
		goto out;
	}
	if (spec.meta_path && (jr_cp_dest_init(&meta, "--meta", spec.meta_path, &err) < 0 ||
			       jr_cp_dest_check(&meta, &err) < 0)) {
		refused(hooks, prog, &err);
		status = 2;
		goto out;
	}
	if (hooks && hooks->tweak && hooks->tweak(&spec, hooks->arg, &err) < 0) {
		refused(hooks, prog, &err);
		status = 2;
		goto out;
	}
	jr_host_init(&host);
	host.teardown_on_loop = true; /* one job: nothing else on the loop to keep it free for */
	status = run_job(&spec, &host, &admit, ad.conf, spec.result_path ? &result : NULL,
			 spec.meta_path ? &meta : NULL, hooks);
	jr_cg_host_free(&host.cg);
out:
	jr_cp_dest_free(&result);
	jr_cp_dest_free(&meta);
	jr_spec_free(&spec);
	jr_conf_free(&conf);
	jr_admission_free(&ad);
	return status;
}
