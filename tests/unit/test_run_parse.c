/* test_run_parse.c - `jobrun run` options into a spec (jr_run_parse in run.c). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "log.h"
#include "run.h"
#include "spec.h"
#include "units.h"

/* getopt keeps a pointer into the last argv it parsed, so every argv handed to jr_run_parse
 * lives until the end of the program (freed by the group teardown). */
static struct jr_strv arena;
static char **argvs[256];
static size_t nargvs;

/* The host the checks see: CPUs 0-3, nothing else limited (host_limits() limits it). */
static struct jr_host_caps host = {
	.nofile = 1048576, .stack = JR_UNLIMITED, .fsize = JR_UNLIMITED,
	.cpu_secs = JR_UNLIMITED, .swap_accounted = true,
};

static int setup_group(void **state)
{
	(void)state;
	host.cpus.bits[0] = 0xf;
	jr_host_caps_set(&host);
	return 0;
}

static int teardown_group(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < nargvs; i++)
		free(argvs[i]);
	jr_strv_free(&arena);
	jr_log_set_level(JR_LOG_WARN);
	return 0;
}

/* Build a writable argv {"run", args..., NULL} from a NULL-terminated list. */
static int make_argv(char ***out, const char *first, va_list ap)
{
	char **v = calloc(64, sizeof(*v));
	const char *a;
	int n = 0;

	assert_non_null(v);
	assert_true(nargvs < sizeof(argvs) / sizeof(argvs[0]));
	argvs[nargvs++] = v;
	assert_int_equal(jr_strv_push(&arena, "run"), 0);
	v[n++] = arena.v[arena.n - 1];
	for (a = first; a; a = va_arg(ap, const char *)) {
		assert_true(n < 63);
		assert_int_equal(jr_strv_push(&arena, a), 0);
		v[n++] = arena.v[arena.n - 1];
	}
	v[n] = NULL;
	*out = v;
	return n;
}

/* jr_run_parse(spec, "run" args...) with environ_ env; NULL ends the list. */
static int parse_env(struct jr_spec *spec, struct jr_err *err, char **env, const char *first,
		     ...)
{
	va_list ap;
	char **argv;
	int argc;

	va_start(ap, first);
	argc = make_argv(&argv, first, ap);
	va_end(ap);
	jr_err_clear(err);
	return jr_run_parse(argc, argv, spec, env, err);
}

#define parse(spec, err, ...) parse_env(spec, err, NULL, __VA_ARGS__, (const char *)NULL)
#define parse_with_env(spec, err, env, ...) \
	parse_env(spec, err, env, __VA_ARGS__, (const char *)NULL)

/* Parse into a fresh spec and expect a failure with a message holding both strings. */
static void expect_error(const char *want1, const char *want2, ...)
{
	struct jr_spec spec;
	struct jr_err err;
	va_list ap;
	char **argv;
	const char *first;
	int argc, r;

	va_start(ap, want2);
	first = va_arg(ap, const char *);
	argc = make_argv(&argv, first, ap);
	va_end(ap);
	jr_spec_init(&spec);
	jr_err_clear(&err);
	r = jr_run_parse(argc, argv, &spec, NULL, &err);
	if (r >= 0 || !strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		print_error("argv[1]='%s' argv[2]='%s': r=%d msg='%s', want '%s' and '%s'\n",
			    argv[1] ? argv[1] : "", argv[1] && argv[2] ? argv[2] : "", r, err.msg,
			    want1, want2 ? want2 : "");
	assert_true(r < 0);
	assert_non_null(strstr(err.msg, want1));
	if (want2)
		assert_non_null(strstr(err.msg, want2));
	jr_spec_free(&spec);
}

#define RESET(spec) (jr_spec_free(spec), jr_spec_init(spec))

#define expect_err(w1, w2, ...) expect_error(w1, w2, __VA_ARGS__, (const char *)NULL)

static const char *env_get(const struct jr_spec *spec, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < spec->env.n; i++)
		if (!strncmp(spec->env.v[i], name, n) && spec->env.v[i][n] == '=')
			return spec->env.v[i] + n + 1;
	return NULL;
}

/* ---- defaults and the command ---------------------------------------------------------- */

static void defaults(void **state)
{
	struct jr_spec spec, ref;
	struct jr_err err;
	size_t i;

	(void)state;
	jr_spec_init(&spec);
	jr_spec_init(&ref);
	assert_int_equal(parse(&spec, &err, "true"), 0);
	assert_int_equal(spec.argv.n, 1);
	assert_string_equal(spec.argv.v[0], "true");
	assert_null(spec.argv.v[1]);
	/* the default environment, in order */
	assert_int_equal(spec.env.n, 3);
	assert_string_equal(spec.env.v[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(spec.env.v[1], "HOME=/job");
	assert_string_equal(spec.env.v[2], "LANG=C.UTF-8");
	assert_null(spec.env.v[3]);
	/* a random id: 12 hex digits */
	assert_non_null(spec.id);
	assert_int_equal(strlen(spec.id), 12);
	assert_int_equal(strspn(spec.id, "0123456789abcdef"), 12);
	/* nothing else moved */
	assert_int_equal(spec.wall_usec, ref.wall_usec);
	assert_int_equal(spec.output_limit, ref.output_limit);
	assert_int_equal(spec.disk_bytes, ref.disk_bytes);
	assert_int_equal(spec.open_files, ref.open_files);
	assert_int_equal(spec.stack_bytes, ref.stack_bytes);
	assert_int_equal(spec.file_size, ref.file_size);
	assert_int_equal(spec.uid_base, ref.uid_base);
	assert_int_equal(spec.uid_count, ref.uid_count);
	assert_string_equal(spec.hostname, ref.hostname);
	assert_string_equal(spec.runtime_dir, ref.runtime_dir);
	assert_null(spec.workdir);
	assert_null(spec.stdin_path);
	assert_null(spec.stdout_path);
	assert_null(spec.stderr_path);
	assert_null(spec.result_path);
	assert_int_equal(spec.sys_binds.n, ref.sys_binds.n);
	for (i = 0; i < ref.sys_binds.n; i++)
		assert_string_equal(spec.sys_binds.v[i], ref.sys_binds.v[i]);
	jr_spec_free(&spec);

	/* two jobs, two ids */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "true"), 0);
	ref.id = strdup(spec.id);
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "true"), 0);
	assert_string_not_equal(spec.id, ref.id);
	jr_spec_free(&spec);
	jr_spec_free(&ref);
}

static void command_after_double_dash(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--wall-time", "1s", "--", "--env", "X=1", "-v"), 0);
	assert_int_equal(spec.argv.n, 3);
	assert_string_equal(spec.argv.v[0], "--env");
	assert_string_equal(spec.argv.v[1], "X=1");
	assert_string_equal(spec.argv.v[2], "-v");
	assert_int_equal(spec.env.n, 3);    /* "--env X=1" was the command's, not ours */
	assert_int_equal(spec.wall_usec, 1000000);
	jr_spec_free(&spec);

	/* "--" then a "--" of the command */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--", "sh", "--", "x"), 0);
	assert_int_equal(spec.argv.n, 3);
	assert_string_equal(spec.argv.v[0], "sh");
	assert_string_equal(spec.argv.v[1], "--");
	assert_string_equal(spec.argv.v[2], "x");
	jr_spec_free(&spec);
}

/* Options stop at the first non-option: the command's own options are not permuted into
 * jobrun's (GNU getopt would, without the '+'). */
static void command_after_first_non_option(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--wall-time", "2s", "python3", "--wall-time", "5s",
			       "-v", "--", "--env", "A=b"), 0);
	assert_int_equal(spec.wall_usec, 2000000);
	assert_int_equal(spec.env.n, 3);
	assert_int_equal(spec.argv.n, 7);
	assert_string_equal(spec.argv.v[0], "python3");
	assert_string_equal(spec.argv.v[1], "--wall-time");
	assert_string_equal(spec.argv.v[2], "5s");
	assert_string_equal(spec.argv.v[3], "-v");
	assert_string_equal(spec.argv.v[4], "--");
	assert_string_equal(spec.argv.v[6], "A=b");
	jr_spec_free(&spec);

	/* "-" first is the job's archive, on stdin; a command follows after "--" */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "-", "--", "x"), 0);
	assert_string_equal(spec.archive, "-");
	assert_int_equal(spec.argv.n, 1);
	assert_string_equal(spec.argv.v[0], "x");
	jr_spec_free(&spec);

	/* without "--", a word after the archive is refused, never silently run */
	jr_spec_init(&spec);
	assert_true(parse(&spec, &err, "job.tar.gz", "extra-arg") < 0);
	assert_non_null(strstr(err.msg, "'extra-arg' after the archive"));
	jr_spec_free(&spec);

	/* an archive name after "--" is a command, not an archive */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--", "job.tar", "y"), 0);
	assert_null(spec.archive);
	assert_int_equal(spec.argv.n, 2);
	assert_string_equal(spec.argv.v[0], "job.tar");
	jr_spec_free(&spec);
}

static void no_command(void **state)
{
	(void)state;
	expect_err("no command given", NULL, NULL);
	expect_err("no command given", NULL, "--wall-time", "1s");
	expect_err("no command given", NULL, "--");
	expect_err("no command given", NULL, "-v", "--output-limit", "1M", "--");
}

static void help_and_unknown(void **state)
{
	(void)state;
	expect_err("help", NULL, "-h");
	expect_err("help", NULL, "--help", "true");
	expect_err("--bogus", NULL, "--bogus", "true");
	expect_err("--bogus=1", NULL, "--bogus=1", "true");
	expect_err("-x", NULL, "-x", "true");
	/* a missing value names the option */
	expect_err("--wall-time", NULL, "--wall-time");
	expect_err("--env", NULL, "--env");
	/* --verbose takes no value */
	expect_err("--verbose", NULL, "--verbose=yes", "true");
}

static void verbose(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "-v", "--verbose", "true"), 0);
	assert_int_equal(spec.argv.n, 1);
	jr_spec_free(&spec);
	jr_log_set_level(JR_LOG_WARN);
}

/* ---- options land in the spec ---------------------------------------------------------- */

static void limits(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--wall-time", "1.5s", "--output-limit", "512K",
			       "--disk", "1G", "--open-files", "1024", "--stack", "8M",
			       "--file-size", "2G", "true"), 0);
	assert_int_equal(spec.wall_usec, 1500000);
	assert_int_equal(spec.output_limit, 512 << 10);
	assert_int_equal(spec.disk_bytes, 1ULL << 30);
	assert_int_equal(spec.open_files, 1024);
	assert_int_equal(spec.stack_bytes, 8 << 20);
	assert_int_equal(spec.file_size, 2ULL << 30);
	jr_spec_free(&spec);

	/* --opt=value, the last one wins, decimal not octal, unlimited */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--wall-time=2m", "--wall-time", "500ms",
			       "--open-files=010", "--stack=unlimited", "--file-size", "unlimited",
			       "--output-limit=0", "--disk", "64K", "true"), 0);
	assert_int_equal(spec.wall_usec, 500000);
	assert_int_equal(spec.open_files, 10);
	assert_int_equal(spec.stack_bytes, JR_UNLIMITED);
	assert_int_equal(spec.file_size, JR_UNLIMITED);
	assert_int_equal(spec.output_limit, 0);
	assert_int_equal(spec.disk_bytes, 65536);
	jr_spec_free(&spec);

	/* bounds that are accepted */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--open-files", "4", "--stack", "64K",
			       "--file-size", "0", "--wall-time", "1us", "true"), 0);
	assert_int_equal(spec.open_files, 4);
	assert_int_equal(spec.stack_bytes, 65536);
	assert_int_equal(spec.file_size, 0);
	assert_int_equal(spec.wall_usec, 1);
	jr_spec_free(&spec);
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--open-files", "1048576", "true"), 0);
	assert_int_equal(spec.open_files, 1048576);
	jr_spec_free(&spec);
}

static void bad_values_name_option_and_value(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	/* the exact message and code for one of them */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--wall-time", "soon", "true"), -EINVAL);
	assert_string_equal(err.msg,
			    "--wall-time: 'soon' is not a duration (1.5s, 500ms, 2m, 1h, 1d)");
	assert_int_equal(err.code, 0);
	jr_spec_free(&spec);

	expect_err("--wall-time", "'soon'", "--wall-time", "soon", "true");
	expect_err("--wall-time", "'0'", "--wall-time", "0", "true");    /* positive */
	expect_err("--wall-time", "'0ms'", "--wall-time", "0ms", "true");
	expect_err("--wall-time", "'-1s'", "--wall-time", "-1s", "true");
	expect_err("--wall-time", "''", "--wall-time=", "true");
	expect_err("--wall-time", "'1.5x'", "--wall-time=1.5x", "true");
	expect_err("--output-limit", "'64Q'", "--output-limit", "64Q", "true");
	expect_err("--output-limit", "'unlimited'", "--output-limit", "unlimited", "true");
	expect_err("--output-limit", "'1.5'", "--output-limit", "1.5", "true");
	expect_err("--disk", "'65535'", "--disk", "65535", "true");      /* below 64K */
	expect_err("--disk", "'lots'", "--disk", "lots", "true");
	expect_err("--open-files", "'3'", "--open-files", "3", "true");
	expect_err("--open-files", "'1048577'", "--open-files", "1048577", "true");
	expect_err("--open-files", "'1K'", "--open-files", "1K", "true");
	expect_err("--open-files", "'0x40'", "--open-files", "0x40", "true");
	expect_err("--stack", "'0'", "--stack", "0", "true");
	expect_err("--stack", "'65535'", "--stack", "65535", "true");
	expect_err("--stack", "'big'", "--stack", "big", "true");
	expect_err("--file-size", "'-1'", "--file-size", "-1", "true");
	expect_err("--file-size", "'Unlimited'", "--file-size", "Unlimited", "true");
}

static void paths(void **state)
{
	struct jr_spec spec;
	struct jr_err err;
	size_t nbinds;

	(void)state;
	jr_spec_init(&spec);
	nbinds = spec.sys_binds.n;
	assert_int_equal(parse(&spec, &err, "--stdin", "in.txt", "--stdout", "/o", "--stderr",
			       "e", "--result", "r.json", "--hostname", "box", "--runtime-dir",
			       "/var/run/jr", "--id", "job-42", "--ro-bind", "/usr/share",
			       "--ro-bind", "/etc", "true"), 0);
	assert_string_equal(spec.stdin_path, "in.txt");
	assert_string_equal(spec.stdout_path, "/o");
	assert_string_equal(spec.stderr_path, "e");
	assert_string_equal(spec.result_path, "r.json");
	assert_string_equal(spec.hostname, "box");
	assert_string_equal(spec.runtime_dir, "/var/run/jr");
	assert_string_equal(spec.id, "job-42");
	/* --ro-bind adds to the default binds, in order */
	assert_int_equal(spec.sys_binds.n, nbinds + 2);
	assert_string_equal(spec.sys_binds.v[0], "/usr");
	assert_string_equal(spec.sys_binds.v[nbinds], "/usr/share");
	assert_string_equal(spec.sys_binds.v[nbinds + 1], "/etc");
	assert_null(spec.sys_binds.v[nbinds + 2]);
	jr_spec_free(&spec);

	expect_err("--ro-bind", "'usr'", "--ro-bind", "usr", "true");
	expect_err("--ro-bind", "'./x'", "--ro-bind", "./x", "true");
	expect_err("--ro-bind", "''", "--ro-bind=", "true");
	/* unlike a default bind, one asked for must exist */
	expect_err("--ro-bind", "/nonexistent/jobrun-test", "--ro-bind",
		   "/nonexistent/jobrun-test", "true");
	expect_err("--runtime-dir", "'run/jobrun'", "--runtime-dir", "run/jobrun", "true");
}

/* A temporary directory for one test, removed by its teardown even when the test fails. */
static char tmp_dir[64], tmp_cwd[PATH_MAX];

static int make_tmp_dir(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/jobrun-test-run.XXXXXX");
	if (!getcwd(tmp_cwd, sizeof(tmp_cwd)) || !mkdtemp(tmp_dir))
		return -1;
	return 0;
}

static int remove_tmp_dir(void **state)
{
	char sub[PATH_MAX];

	(void)state;
	if (chdir(tmp_cwd) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s/w", tmp_dir);
	rmdir(sub);
	rmdir(tmp_dir);
	return 0;
}

static void workdir(void **state)
{
	char sub[PATH_MAX], dotted[PATH_MAX];
	const char *dir = tmp_dir;
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/w", dir);
	assert_int_equal(mkdir(sub, 0755), 0);

	/* kept as given: resolved once when the job starts, by callerpath.h's rule (realpath()
	 * would follow a symlink a job planted) */
	snprintf(dotted, sizeof(dotted), "%s/./w/../w/", dir);
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--dir", dotted, "true"), 0);
	assert_string_equal(spec.workdir, dotted);
	jr_spec_free(&spec);
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--dir", "w", "true"), 0);
	assert_string_equal(spec.workdir, "w");
	jr_spec_free(&spec);

	/* an empty path: named */
	jr_spec_init(&spec);
	assert_true(parse(&spec, &err, "--dir", "", "true") < 0);
	assert_non_null(strstr(err.msg, "--dir"));
	jr_spec_free(&spec);
	assert_int_equal(rmdir(sub), 0);
}

static void cgroup_options(void **state)
{
	const char *dir = tmp_dir;
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(spec.cg.memory, 0);
	assert_int_equal(spec.cg.swap, 0);   /* no swap unless asked for */
	assert_int_equal(parse(&spec, &err, "--memory", "512M", "--swap", "1G", "--cpus", "0.5",
			       "--cpu-weight", "200", "--cpuset", "0-1,3", "--cpu-time", "2m",
			       "--pids", "64", "--io-read-bps", "10M", "--io-write-bps=5M",
			       "--io-read-iops", "1000", "--io-write-iops", "010",
			       "--cgroup-parent", "/jobs/slurm", "true"), 0);
	assert_int_equal(spec.cg.memory, 512ULL << 20);
	assert_int_equal(spec.cg.swap, 1ULL << 30);
	assert_int_equal(spec.cg.cpus_milli, 500);
	assert_int_equal(spec.cg.cpu_weight, 200);
	assert_string_equal(spec.cg.cpuset, "0-1,3");
	assert_int_equal(spec.cpu_time_usec, 120000000);
	assert_int_equal(spec.cg.pids, 64);
	assert_int_equal(spec.cg.io_rbps, 10 << 20);
	assert_int_equal(spec.cg.io_wbps, 5 << 20);
	assert_int_equal(spec.cg.io_riops, 1000);
	assert_int_equal(spec.cg.io_wiops, 10);
	assert_string_equal(spec.cgroup_parent, "/jobs/slurm");
	assert_int_equal(spec.wall_usec, 0);   /* --cpu-time is not --wall-time */
	RESET(&spec);

	/* the bounds that are accepted */
	assert_int_equal(parse(&spec, &err, "--memory", "1M", "--swap", "unlimited", "--cpus",
			       "0.01", "--cpu-weight", "10000", "--pids", "4194304", "true"), 0);
	assert_int_equal(spec.cg.memory, 1 << 20);
	assert_int_equal(spec.cg.swap, JR_UNLIMITED);
	assert_int_equal(spec.cg.cpus_milli, 10);
	assert_int_equal(spec.cg.cpu_weight, 10000);
	assert_int_equal(spec.cg.pids, 4194304);
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--cpus", "1000", "--cpu-weight", "1", "--pids", "2",
			       "--swap", "0", "--io-read-bps", "2", "--io-write-iops", "4294967294",
			       "true"), 0);
	assert_int_equal(spec.cg.cpus_milli, 1000000);
	assert_int_equal(spec.cg.cpu_weight, 1);
	assert_int_equal(spec.cg.pids, 2);
	assert_int_equal(spec.cg.io_rbps, 2);
	assert_int_equal(spec.cg.io_wiops, 4294967294ULL);
	assert_int_equal(spec.cg.swap, 0);
	RESET(&spec);

	/* --scratch: kept as given (resolved when the job starts) */
	assert_int_equal(parse(&spec, &err, "--scratch", dir, "true"), 0);
	assert_string_equal(spec.scratch, dir);
	jr_spec_free(&spec);

	expect_err("--memory", "'512K'", "--memory", "512K", "true");      /* below 1M */
	expect_err("--memory", "'lots'", "--memory", "lots", "true");
	expect_err("--swap", "'-1'", "--swap", "-1", "true");
	expect_err("--cpus", "'0.001'", "--cpus", "0.001", "true");         /* below 0.01 */
	expect_err("--cpus", "'0'", "--cpus", "0", "true");
	expect_err("--cpus", "'1000.001'", "--cpus", "1000.001", "true");
	expect_err("--cpus", "'0.1234'", "--cpus", "0.1234", "true");
	expect_err("--cpus", "'50%'", "--cpus", "50%", "true");
	expect_err("--cpu-weight", "'0'", "--cpu-weight", "0", "true");
	expect_err("--cpu-weight", "'10001'", "--cpu-weight", "10001", "true");
	expect_err("--cpuset", "''", "--cpuset=", "true");
	expect_err("--cpuset", "'0;1'", "--cpuset", "0;1", "true");
	expect_err("--cpuset", "'all'", "--cpuset", "all", "true");
	expect_err("--cpu-time", "'0'", "--cpu-time", "0", "true");
	expect_err("--cpu-time", "'forever'", "--cpu-time", "forever", "true");
	expect_err("--pids", "'0'", "--pids", "0", "true");
	expect_err("--pids: '1' is below the minimum 2", NULL, "--pids", "1", "true");
	expect_err("--io-read-iops: '4294967295' is above 4294967294, the most jobrun accepts", NULL,
		   "--io-read-iops", "4294967295", "true");
	expect_err("--io-write-bps: '1' is below the minimum 2", NULL, "--io-write-bps", "1", "true");
	expect_err("--pids", "'4194305'", "--pids", "4194305", "true");
	expect_err("--io-read-bps", "'0'", "--io-read-bps", "0", "true");
	expect_err("--io-write-bps", "'fast'", "--io-write-bps", "fast", "true");
	expect_err("--io-read-iops", "'1K'", "--io-read-iops", "1K", "true");
	expect_err("--io-write-iops", "'0'", "--io-write-iops", "0", "true");
	expect_err("--cgroup-parent", "'jobs'", "--cgroup-parent", "jobs", "true");
	expect_err("--cgroup-parent", "'/'", "--cgroup-parent", "/", "true");
	expect_err("--cgroup-parent", "'/a/../b'", "--cgroup-parent", "/a/../b", "true");
}

/* --cpuset: a CPU list, of CPUs online and in jobrun's own cpuset (here 0-3). */
static void cpuset_validated(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--cpuset", "3", "true"), 0);
	assert_string_equal(spec.cg.cpuset, "3");
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--cpuset", "0-3", "--cpuset", "2,0-1", "true"), 0);
	assert_string_equal(spec.cg.cpuset, "2,0-1");        /* as given: the kernel reads it */
	jr_spec_free(&spec);
	expect_err("--cpuset: '5-2' has a reversed range (write the lower CPU first: 2-5, not 5-2)",
		   NULL, "--cpuset", "5-2", "true");
	expect_err("--cpuset: '4' names CPU 4, which is not online or not in jobrun's own cpuset "
		   "(it may use 0-3)", NULL, "--cpuset", "4", "true");
	expect_err("--cpuset: '1,3-9' names CPU 4", NULL, "--cpuset", "1,3-9", "true");
	expect_err("--cpuset: '99999' names a CPU beyond the 8192 jobrun knows", NULL,
		   "--cpuset", "99999", "true");
	expect_err("--cpuset: '0,,1' is not a CPU list (0-3,8)", NULL, "--cpuset", "0,,1", "true");
	expect_err("--cpuset: '0,' is not a CPU list", NULL, "--cpuset", "0,", "true");
	expect_err("--cpuset: '-1' is not a CPU list", NULL, "--cpuset", "-1", "true");
	expect_err("--cpuset: '1-' is not a CPU list", NULL, "--cpuset", "1-", "true");
	expect_err("--cpuset: ' 1' is not a CPU list", NULL, "--cpuset", " 1", "true");
	expect_err("--cpuset: '0-1:2/4' is not a CPU list", NULL, "--cpuset", "0-1:2/4", "true");
	expect_err("--cpuset: '1\n' is not a CPU list", NULL, "--cpuset", "1\n", "true");
	expect_err("--cpuset: '' is empty", NULL, "--cpuset=", "true");
}

/* What jobrun-init cannot set for the command (soft = hard above jobrun's own hard limit,
 * without CAP_SYS_RESOURCE) is refused where it is given. */
static void host_limits(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	host.nofile = 300;
	host.stack = 8 << 20;
	host.fsize = 1ULL << 30;
	host.cpu_secs = 30;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--open-files", "300", "--stack", "8M", "--file-size",
			       "1G", "--cpu-time", "28s", "true"), 0);
	assert_int_equal(spec.open_files, 300);
	assert_int_equal(spec.stack_bytes, 8 << 20);
	assert_int_equal(spec.file_size, 1ULL << 30);
	assert_int_equal(spec.cpu_time_usec, 28000000);
	jr_spec_free(&spec);
	expect_err("--open-files: '301' is above 300, the most open files jobrun may give here (its "
		   "own hard RLIMIT_NOFILE)", NULL, "--open-files", "301", "true");
	expect_err("--stack: '9M' is more than jobrun may give here: its own hard RLIMIT_STACK is 8M",
		   NULL, "--stack", "9M", "true");
	expect_err("--stack: 'unlimited' is more than jobrun may give here", NULL, "--stack",
		   "unlimited", "true");
	expect_err("--file-size: 'unlimited' is more than jobrun may give here: its own hard "
		   "RLIMIT_FSIZE is 1G", NULL, "--file-size", "unlimited", "true");
	expect_err("--cpu-time: '29s' is more than jobrun may give here: its own hard RLIMIT_CPU is "
		   "30 s", NULL, "--cpu-time", "29s", "true");
	/* a value equal to "unlimited" is not a size */
	host.stack = JR_UNLIMITED;
	expect_err("--stack: '18446744073709551615' is not a size", NULL, "--stack",
		   "18446744073709551615", "true");
	host.nofile = 1048576;
	host.fsize = JR_UNLIMITED;
	host.cpu_secs = JR_UNLIMITED;
}

static void job_id(void **state)
{
	char id64[65], id65[66];
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	memset(id64, 'i', 64);
	id64[64] = '\0';
	memset(id65, 'i', 65);
	id65[65] = '\0';
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--id", "Job_42.retry-1", "true"), 0);
	assert_string_equal(spec.id, "Job_42.retry-1");
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--id", id64, "true"), 0);
	assert_string_equal(spec.id, id64);
	jr_spec_free(&spec);
	/* it names files and cgroups: no separators, no dot names, no blanks */
	expect_err("--id", "''", "--id=", "true");
	expect_err("--id", "'.'", "--id", ".", "true");
	expect_err("--id", "'..'", "--id", "..", "true");
	expect_err("--id", "'a/b'", "--id", "a/b", "true");
	expect_err("--id", "'a b'", "--id", "a b", "true");
	expect_err("--id", "'a\nb'", "--id", "a\nb", "true");
	expect_err("--id", id65, "--id", id65, "true");
}

/* ---- the environment ------------------------------------------------------------------- */

static void env_set_and_override(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--env", "PATH=/opt/bin", "--env", "FOO=bar",
			       "--env", "EMPTY=", "--env", "EQ=a=b", "--env", "FOO=baz",
			       "--env=_x1=y", "true"), 0);
	/* PATH replaced where it was, not appended */
	assert_string_equal(spec.env.v[0], "PATH=/opt/bin");
	assert_string_equal(spec.env.v[1], "HOME=/job");
	assert_string_equal(spec.env.v[2], "LANG=C.UTF-8");
	/* FOO once, with the last value */
	assert_string_equal(spec.env.v[3], "FOO=baz");
	assert_string_equal(spec.env.v[4], "EMPTY=");
	assert_string_equal(spec.env.v[5], "EQ=a=b");
	assert_string_equal(spec.env.v[6], "_x1=y");
	assert_int_equal(spec.env.n, 7);
	assert_null(spec.env.v[7]);
	jr_spec_free(&spec);

	/* a name that is a prefix of another is a different variable */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--env", "PAT=x", "--env", "PATHS=y", "--env",
			       "HOME=/root", "true"), 0);
	assert_int_equal(spec.env.n, 5);
	assert_string_equal(env_get(&spec, "PATH"), "/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(env_get(&spec, "PAT"), "x");
	assert_string_equal(env_get(&spec, "PATHS"), "y");
	assert_string_equal(spec.env.v[1], "HOME=/root");
	jr_spec_free(&spec);
}

static void env_from_environ(void **state)
{
	char *environ_[] = {
		"NAMEX=other", "NAME=from-jobrun", "HOME=/home/me", "WEIRD==eq", "EMPTY=", "NAM",
		NULL,
	};
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse_with_env(&spec, &err, environ_, "--env", "NAME", "--env", "HOME",
					"--env", "MISSING", "--env", "NA", "--env", "WEIRD",
					"--env", "EMPTY", "--env", "NAM", "true"), 0);
	assert_string_equal(env_get(&spec, "NAME"), "from-jobrun");   /* not NAMEX's value */
	assert_string_equal(spec.env.v[1], "HOME=/home/me");           /* overrides the default */
	assert_null(env_get(&spec, "MISSING"));                        /* not set: skipped */
	assert_null(env_get(&spec, "NA"));                             /* only a prefix */
	assert_null(env_get(&spec, "NAM"));                            /* "NAM" has no '=' */
	assert_string_equal(env_get(&spec, "WEIRD"), "=eq");
	assert_string_equal(env_get(&spec, "EMPTY"), "");
	assert_int_equal(spec.env.n, 6);   /* PATH HOME LANG NAME WEIRD EMPTY */
	jr_spec_free(&spec);

	/* no environ at all: NAME alone is skipped, NAME=VALUE still works */
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--env", "NAME", "--env", "A=1", "true"), 0);
	assert_int_equal(spec.env.n, 4);
	assert_null(env_get(&spec, "NAME"));
	assert_string_equal(env_get(&spec, "A"), "1");
	jr_spec_free(&spec);
}

static void env_bad_names(void **state)
{
	(void)state;
	expect_err("--env", "'1X=y'", "--env", "1X=y", "true");
	expect_err("--env", "'A-B=c'", "--env", "A-B=c", "true");
	expect_err("--env", "'=x'", "--env", "=x", "true");
	expect_err("--env", "''", "--env=", "true");
	expect_err("--env", "'A B=c'", "--env", "A B=c", "true");
	expect_err("--env", "'A.B'", "--env", "A.B", "true");
	expect_err("--env", "'9'", "--env", "9", "true");
	expect_err("--env", "'\xc3\xa9=x'", "--env", "\xc3\xa9=x", "true");
}

/* ---- host name and uids ---------------------------------------------------------------- */

static void hostname(void **state)
{
	char h64[65], h65[66];
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	memset(h64, 'a', 64);
	h64[64] = '\0';
	memset(h65, 'b', 65);
	h65[65] = '\0';
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--hostname", "web-1.Example.ORG", "true"), 0);
	assert_string_equal(spec.hostname, "web-1.Example.ORG");
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--hostname", h64, "true"), 0);
	assert_string_equal(spec.hostname, h64);
	jr_spec_free(&spec);

	expect_err("--hostname", h65, "--hostname", h65, "true");
	expect_err("--hostname", "''", "--hostname", "", "true");
	expect_err("--hostname", "'a_b'", "--hostname", "a_b", "true");
	expect_err("--hostname", "'a b'", "--hostname", "a b", "true");
	expect_err("--hostname", "'a/b'", "--hostname", "a/b", "true");
	expect_err("--hostname", "'h\xc3\xb6st'", "--hostname", "h\xc3\xb6st", "true");
}

static void uid_range(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "--uid-range", "100000:1000", "true"), 0);
	assert_int_equal(spec.uid_base, 100000);
	assert_int_equal(spec.uid_count, 1000);
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--uid-range=1:1", "true"), 0);
	assert_int_equal(spec.uid_base, 1);
	assert_int_equal(spec.uid_count, 1);
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--uid-range", "010:020", "true"), 0);
	assert_int_equal(spec.uid_base, 10);    /* decimal */
	assert_int_equal(spec.uid_count, 20);
	/* the top: BASE + 2*COUNT < 2^32 - 1 (uid -1 is "no uid") */
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--uid-range", "4294967292:1", "true"), 0);
	assert_int_equal(spec.uid_base, 4294967292U);
	assert_int_equal(spec.uid_count, 1);
	RESET(&spec);
	assert_int_equal(parse(&spec, &err, "--uid-range", "2147483647:1073741823", "true"), 0);
	assert_int_equal(spec.uid_base, 2147483647U);
	assert_int_equal(spec.uid_count, 1073741823U);
	jr_spec_free(&spec);

	expect_err("--uid-range", "'0:10'", "--uid-range", "0:10", "true");     /* root */
	expect_err("--uid-range", "'10:0'", "--uid-range", "10:0", "true");
	expect_err("--uid-range", "'4294967293:1'", "--uid-range", "4294967293:1", "true");
	expect_err("--uid-range", "'2147483647:1073741824'", "--uid-range",
		   "2147483647:1073741824", "true");
	expect_err("--uid-range", "'4294967296:1'", "--uid-range", "4294967296:1", "true");
	expect_err("--uid-range", "'1000'", "--uid-range", "1000", "true");
	expect_err("--uid-range", "'1000:'", "--uid-range", "1000:", "true");
	expect_err("--uid-range", "':1000'", "--uid-range", ":1000", "true");
	expect_err("--uid-range", "'1:2:3'", "--uid-range", "1:2:3", "true");
	expect_err("--uid-range", "'-1:5'", "--uid-range", "-1:5", "true");
	expect_err("--uid-range", "'+1:5'", "--uid-range", "+1:5", "true");
	expect_err("--uid-range", "' 1:5'", "--uid-range", " 1:5", "true");
	expect_err("--uid-range", "'1:5 '", "--uid-range", "1:5 ", "true");
	expect_err("--uid-range", "'0x10:5'", "--uid-range", "0x10:5", "true");
	expect_err("--uid-range", "'1.5:5'", "--uid-range", "1.5:5", "true");
	expect_err("--uid-range", "BASE:COUNT", "--uid-range",
		   "000000000000000000000000000000000001:5", "true");
}

/* BASE and COUNT are read as 64-bit numbers: BASE + 2*COUNT must not wrap around into an
 * accepted range (BASE 2^64-1 would become uid 4294967295, COUNT 2^63 a count of 0). */
static void uid_range_overflow(void **state)
{
	(void)state;
	expect_err("--uid-range", "'18446744073709551615:1'", "--uid-range",
		   "18446744073709551615:1", "true");
	expect_err("--uid-range", "'1:9223372036854775808'", "--uid-range",
		   "1:9223372036854775808", "true");
	expect_err("--uid-range", "'1:9223372036854775813'", "--uid-range",
		   "1:9223372036854775813", "true");
	expect_err("--uid-range", "'18446744073709551000:400'", "--uid-range",
		   "18446744073709551000:400", "true");
}

/* ---- getopt state between calls -------------------------------------------------------- */

/* Put glibc's getopt back in its initial state, so one test's parse cannot leak into the
 * next one's. */
static int reset_getopt(void **state)
{
	char *argv[] = { "reset", NULL };

	(void)state;
	optind = 0;
	opterr = 0;
	return getopt(1, argv, "+") == -1 ? 0 : -1;
}

/* An unknown option inside a cluster names itself, not argv[0] ("run"). */
static void unknown_short_in_cluster(void **state)
{
	(void)state;
	expect_err("x'", NULL, "-vx", "true");   /* '-vx' or '-x' */
	expect_err("-x", NULL, "-xv", "true");
	/* the teardown resets getopt: this parse stopped inside "-xv" */
}

/* jr_run_parse must start afresh each time: a parse that stopped inside "-hv" must not leak
 * its pending "v" into the next parse (optind = 1 does not reset glibc's getopt, 0 does). */
static void parse_restarts_getopt(void **state)
{
	struct jr_spec spec;
	struct jr_err err;

	(void)state;
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "-hv", "true"), -EINVAL);
	assert_string_equal(err.msg, "help");
	jr_spec_free(&spec);
	jr_spec_init(&spec);
	assert_int_equal(parse(&spec, &err, "echo", "hi"), 0);
	assert_int_equal(spec.argv.n, 2);
	assert_string_equal(spec.argv.v[0], "echo");
	jr_spec_free(&spec);
	jr_log_set_level(JR_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(command_after_double_dash),
		cmocka_unit_test(command_after_first_non_option),
		cmocka_unit_test(no_command),
		cmocka_unit_test(help_and_unknown),
		cmocka_unit_test(verbose),
		cmocka_unit_test(limits),
		cmocka_unit_test(bad_values_name_option_and_value),
		cmocka_unit_test(paths),
		cmocka_unit_test_setup_teardown(workdir, make_tmp_dir, remove_tmp_dir),
		cmocka_unit_test_setup_teardown(cgroup_options, make_tmp_dir, remove_tmp_dir),
		cmocka_unit_test(cpuset_validated),
		cmocka_unit_test(host_limits),
		cmocka_unit_test(job_id),
		cmocka_unit_test(env_set_and_override),
		cmocka_unit_test(env_from_environ),
		cmocka_unit_test(env_bad_names),
		cmocka_unit_test(hostname),
		cmocka_unit_test(uid_range),
		cmocka_unit_test(uid_range_overflow),
		cmocka_unit_test_teardown(unknown_short_in_cluster, reset_getopt),
		cmocka_unit_test(parse_restarts_getopt),
	};

	return cmocka_run_group_tests_name("run_parse", tests, setup_group, teardown_group);
}
