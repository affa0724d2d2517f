/* test_conf.c - the job config (jobconf.c), jobrun.conf and the merge (conf.c), and the
 * libconfuse layer under both (cfgparse.c). No root, no files but conf/jobrun.conf. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgparse.h"
#include "conf.h"
#include "jobreq.h"
#include "units.h"

#ifndef JR_SRCDIR
#define JR_SRCDIR "."
#endif

#define HOME_MARKER "/home/MARKER-of-the-parser-environment"

/* ---- helpers ------------------------------------------------------------------------------ */

static int parse_job(const char *text, struct jr_jobreq *req, struct jr_err *err)
{
	jr_err_clear(err);
	return jr_jobconf_parse(text, strlen(text), "job.conf", req, err);
}

static void job_ok(const char *text, struct jr_jobreq *req)
{
	struct jr_err err;
	int r = parse_job(text, req, &err);

	if (r != 0)
		print_error("config:\n%s\nerror: %s\n", text, err.msg);
	assert_int_equal(r, 0);
}

/* The parse fails with exactly this message. */
static void job_fails(const char *text, const char *want)
{
	struct jr_jobreq req;
	struct jr_err err;
	int r = parse_job(text, &req, &err);

	if (r != -EINVAL || strcmp(err.msg, want))
		print_error("config:\n%s\nr=%d\ngot:  %s\nwant: %s\n", text, r, err.msg, want);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err.msg, want);
	/* and the request is left empty */
	assert_null(req.file);
	assert_int_equal(req.argv.n, 0);
	assert_null(req.shell.value);
}

/* The parse fails and the message starts with prefix. */
static void job_fails_with(const char *text, const char *prefix)
{
	struct jr_jobreq req;
	struct jr_err err;
	int r = parse_job(text, &req, &err);

	if (r != -EINVAL || strncmp(err.msg, prefix, strlen(prefix)))
		print_error("config:\n%s\nr=%d\ngot:  %s\nwant: %s...\n", text, r, err.msg, prefix);
	assert_int_equal(r, -EINVAL);
	assert_memory_equal(err.msg, prefix, strlen(prefix));
}

static void set_limit(struct jr_jobreq *req, enum jr_limit_key k, const char *v, int line)
{
	free(req->limits[k].value);
	req->limits[k].value = strdup(v);
	req->limits[k].line = line;
}

static void cli_init(struct jr_jobreq *cli)
{
	jr_jobreq_init(cli);
	cli->file = strdup("command line");
}

/* Apply and expect exactly this error. */
static void apply_fails(const struct jr_conf *conf, const struct jr_jobreq *req,
			const struct jr_jobreq *cli, const char *want)
{
	struct jr_job_extra extra;
	struct jr_spec spec;
	struct jr_err err;
	int r;

	memset(&extra, 0, sizeof(extra));
	jr_spec_init(&spec);
	jr_err_clear(&err);
	r = jr_conf_apply(conf, req, cli, &spec, &extra, &err);
	if (r != -EINVAL || strcmp(err.msg, want))
		print_error("r=%d\ngot:  %s\nwant: %s\n", r, err.msg, want);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err.msg, want);
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
}

/* The job config and the fixed example conf apply to spec. */
static void apply_ok(const struct jr_conf *conf, const struct jr_jobreq *req,
		     const struct jr_jobreq *cli, struct jr_spec *spec, struct jr_job_extra *extra)
{
	struct jr_err err;
	int r;

	jr_err_clear(&err);
	r = jr_conf_apply(conf, req, cli, spec, extra, &err);
	if (r != 0)
		print_error("apply: %s\n", err.msg);
	assert_int_equal(r, 0);
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	assert_int_equal(n, st.st_size);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* conf/jobrun.conf: from JR_SRCDIR, the working directory, or beside the test binary
 * (BUILD/tests/test_conf). */
static char *example_conf_path(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/conf/jobrun.conf", JR_SRCDIR);
	if (access(path, R_OK) == 0)
		return path;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(path, sizeof(path), "%s/../../conf/jobrun.conf", dirname(exe));
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

/* ---- the job config ---------------------------------------------------------------------- */

static void jobconf_full_example(void **state)
{
	static const char text[] =
		"# a job\n"                                   /* 1 */
		"profile = grader\n"                          /* 2 */
		"command = {\"./a.out\",\n"                   /* 3 */
		"           \"arg one\"}\n"                   /* 4 */
		"env = {\"A=1\", \"B=two words\"}\n"          /* 5 */
		"stdin = \"input.txt\"\n"                     /* 6 */
		"outputs = {\"out.txt\", \"logs/run.log\"}\n" /* 7 */
		"workdir = \"sub/dir\"\n"                     /* 8 */
		"limits {\n"                                  /* 9 */
		"  memory = \"256M\"\n"                       /* 10 */
		"  cpu_time = \"1.5s\"\n"                     /* 11 */
		"  wall_time = 10s\n"                         /* 12 */
		"  cpus = 0.5\n"                              /* 13 */
		"  pids = 64\n"                               /* 14 */
		"  disk = 512M\n"                             /* 15 */
		"  output = 16M\n"                            /* 16 */
		"  open_files = 256\n"                        /* 17 */
		"  swap = 0\n"                                /* 18 */
		"  cpu_weight = 100\n"                        /* 19 */
		"  io_read_bps = 10M\n"                       /* 20 */
		"  io_write_bps = 10M\n"                      /* 21 */
		"  io_read_iops = 1000\n"                     /* 22 */
		"  io_write_iops = 1000\n"                    /* 23 */
		"}\n";
	static const char *const want[JR_L_N] = {
		[JR_L_MEMORY] = "256M", [JR_L_CPU_TIME] = "1.5s", [JR_L_WALL_TIME] = "10s",
		[JR_L_CPUS] = "0.5", [JR_L_PIDS] = "64", [JR_L_DISK] = "512M",
		[JR_L_OUTPUT] = "16M", [JR_L_OPEN_FILES] = "256", [JR_L_SWAP] = "0",
		[JR_L_CPU_WEIGHT] = "100", [JR_L_IO_RBPS] = "10M", [JR_L_IO_WBPS] = "10M",
		[JR_L_IO_RIOPS] = "1000", [JR_L_IO_WIOPS] = "1000",
	};
	static const int want_line[JR_L_N] = {
		[JR_L_MEMORY] = 10, [JR_L_CPU_TIME] = 11, [JR_L_WALL_TIME] = 12, [JR_L_CPUS] = 13,
		[JR_L_PIDS] = 14, [JR_L_DISK] = 15, [JR_L_OUTPUT] = 16, [JR_L_OPEN_FILES] = 17,
		[JR_L_SWAP] = 18, [JR_L_CPU_WEIGHT] = 19, [JR_L_IO_RBPS] = 20, [JR_L_IO_WBPS] = 21,
		[JR_L_IO_RIOPS] = 22, [JR_L_IO_WIOPS] = 23,
	};
	struct jr_jobreq req;
	int k;

	(void)state;
	job_ok(text, &req);
	assert_string_equal(req.file, "job.conf");
	assert_string_equal(req.profile.value, "grader");
	assert_int_equal(req.profile.line, 2);
	assert_int_equal(req.argv.n, 2);
	assert_string_equal(req.argv.v[0], "./a.out");
	assert_string_equal(req.argv.v[1], "arg one");
	assert_null(req.argv.v[2]);
	assert_int_equal(req.argv_line, 3);
	assert_null(req.shell.value);
	assert_int_equal(req.env.n, 2);
	assert_string_equal(req.env.v[1], "B=two words");
	assert_int_equal(req.env_line, 5);
	assert_string_equal(req.stdin_file.value, "input.txt");
	assert_int_equal(req.stdin_file.line, 6);
	assert_int_equal(req.outputs.n, 2);
	assert_string_equal(req.outputs.v[1], "logs/run.log");
	assert_int_equal(req.outputs_line, 7);
	assert_string_equal(req.workdir.value, "sub/dir");
	assert_int_equal(req.workdir.line, 8);
	for (k = 0; k < JR_L_N; k++) {
		assert_non_null(req.limits[k].value);
		assert_string_equal(req.limits[k].value, want[k]);
		assert_int_equal(req.limits[k].line, want_line[k]);
	}
	jr_jobreq_free(&req);
	assert_null(req.file);
}

/* Every value is a string: 010 stays "010" (units.c reads it as ten), 0x40 stays "0x40". */
static void jobconf_values_stay_strings(void **state)
{
	struct jr_jobreq req;

	(void)state;
	job_ok("limits { pids = 010 memory = 0x40 cpus = \"0.5\" wall_time = 2m swap = '0' }\n"
	       "shell = make\n", &req);
	assert_string_equal(req.limits[JR_L_PIDS].value, "010");
	assert_string_equal(req.limits[JR_L_MEMORY].value, "0x40");
	assert_string_equal(req.limits[JR_L_CPUS].value, "0.5");
	assert_string_equal(req.limits[JR_L_WALL_TIME].value, "2m");
	assert_string_equal(req.limits[JR_L_SWAP].value, "0");
	assert_string_equal(req.shell.value, "make");
	jr_jobreq_free(&req);
}

/* libconfuse 3.3 counts a '#' comment as three lines and a C comment as one too many: the
 * pre-pass removes them, keeping their newlines. */
static void jobconf_lines_after_comments(void **state)
{
	static const char text[] =
		"# one\n"                  /* 1 */
		"// two\n"                 /* 2 */
		"/* three\n"               /* 3 */
		"   four */\n"             /* 4 */
		"profile = grader # five\n" /* 5 */
		"/* six */ shell = \"a\\\n" /* 6: a continued string */
		"b\"\n"                     /* 7 */
		"env = {'X=x\n"            /* 8: a string over two lines */
		"y'}\n"                    /* 9 */
		"workdir = w\r\n"          /* 10: CRLF */
		"\n"
		"limits { # twelve\n"      /* 12 */
		"  memory = 1G // thirteen\n" /* 13 */
		"}\n";
	struct jr_jobreq req;

	(void)state;
	job_ok(text, &req);
	assert_int_equal(req.profile.line, 5);
	assert_string_equal(req.shell.value, "ab");
	assert_int_equal(req.shell.line, 7);
	assert_string_equal(req.env.v[0], "X=x\ny");
	assert_int_equal(req.env_line, 9);
	assert_string_equal(req.workdir.value, "w");
	assert_int_equal(req.workdir.line, 10);
	assert_int_equal(req.limits[JR_L_MEMORY].line, 13);
	jr_jobreq_free(&req);
	/* an error after comments names the right line */
	job_fails("# 1\n# 2\n/* 3\n 4 */\nbogus = 1\n", "job.conf:5: unknown key 'bogus'");
}

/* ${VAR} is never expanded from jobrun's environment, quoted or not. */
static void jobconf_no_env_expansion(void **state)
{
	struct jr_jobreq req;
	size_t i;

	(void)state;
	assert_int_equal(setenv("HOME", HOME_MARKER, 1), 0);
	assert_int_equal(setenv("JR_SECRET", "s3cr3t", 1), 0);
	job_ok("shell = \"echo ${HOME} ${JR_SECRET} ${HOME:-x} $${HOME}\"\n"
	       "env = {\"A=${HOME}\", 'B=${JR_SECRET}', \"C=$\\{HOME}\", \"D=\\${HOME}\"}\n",
	       &req);
	assert_string_equal(req.shell.value, "echo ${HOME} ${JR_SECRET} ${HOME:-x} $${HOME}");
	assert_string_equal(req.env.v[0], "A=${HOME}");
	assert_string_equal(req.env.v[1], "B=${JR_SECRET}");
	assert_string_equal(req.env.v[2], "C=${HOME}");
	assert_string_equal(req.env.v[3], "D=${HOME}");
	for (i = 0; i < req.env.n; i++) {
		assert_null(strstr(req.env.v[i], "MARKER"));
		assert_null(strstr(req.env.v[i], "s3cr3t"));
	}
	assert_null(strstr(req.shell.value, "MARKER"));
	jr_jobreq_free(&req);

	/* unquoted, libconfuse would make the variable's value the whole value: refused */
	job_fails("shell = ${HOME}\n",
		  "job.conf:1: '${' outside quotes: jobrun expands no variables (write \"${...}\" "
		  "in quotes to keep it as it is)");
	job_fails("\nstdin = ${HOME:-x}\n",
		  "job.conf:2: '${' outside quotes: jobrun expands no variables (write \"${...}\" "
		  "in quotes to keep it as it is)");
	/* the environment is back afterwards */
	assert_string_equal(getenv("HOME"), HOME_MARKER);
	assert_string_equal(getenv("JR_SECRET"), "s3cr3t");
	unsetenv("JR_SECRET");
}

/* The second wall: during a parse the process environment is an empty one (seen from inside
 * a value callback of cfgparse.c), and it is back afterwards. */
static int env_seen_empty = -1;

static int check_env_empty(struct jr_cfgp *p, cfg_t *sec, cfg_opt_t *opt, const char *value,
			   int line)
{
	extern char **environ;

	(void)p, (void)sec, (void)opt, (void)value, (void)line;
	env_seen_empty = environ && environ[0] == NULL && getenv("HOME") == NULL;
	return 0;
}

static void cfgparse_empty_environment(void **state)
{
	cfg_opt_t opts[] = { CFG_STR_CB("k", NULL, CFGF_NODEFAULT, jr_cfgp_value_cb), CFG_END() };
	struct jr_cfgp p;
	struct jr_err err;
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(setenv("HOME", HOME_MARKER, 1), 0);
	memset(&p, 0, sizeof(p));
	p.file = "t.conf";
	p.err = &err;
	p.check = check_env_empty;
	assert_int_equal(jr_cfgp_parse(&p, cfg, "k = \"${HOME}\"", 13, 100), 0);
	assert_int_equal(env_seen_empty, 1);
	assert_string_equal(cfg_getstr(cfg, "k"), "${HOME}");
	assert_int_equal(jr_cfgp_line(&p, cfg, "k"), 1);
	assert_string_equal(getenv("HOME"), HOME_MARKER);
	cfg_free(cfg);
	jr_cfgp_free(&p);
}

/* libconfuse's include() exists only when an option table lists it: ours do not. */
static void jobconf_include_refused(void **state)
{
	(void)state;
	job_fails("shell = x\ninclude(\"/etc/shadow\")\n",
		  "job.conf:2: unknown key 'include' (there is no include)");
	job_fails("include \"/etc/passwd\"\n",
		  "job.conf:1: unknown key 'include' (there is no include)");
	job_fails("limits {\n include(\"/etc/shadow\")\n}\n",
		  "job.conf:2: unknown key 'include' in section limits (there is no include)");
}

static void jobconf_unknown_keys(void **state)
{
	(void)state;
	job_fails("shell = x\n\nbogus = 1\n", "job.conf:3: unknown key 'bogus'");
	/* a limit outside the limits section */
	job_fails("memory = 1G\n", "job.conf:1: unknown key 'memory'");
	job_fails("limits {\n  memory = 1G\n  memroy = 2G\n}\n",
		  "job.conf:3: unknown key 'memroy' in section limits");
	/* sections do not nest */
	job_fails("limits {\n limits { memory = 1G }\n}\n",
		  "job.conf:2: unknown key 'limits' in section limits");
	/* keys are case-sensitive */
	job_fails("Shell = x\n", "job.conf:1: unknown key 'Shell'");
}

static void jobconf_duplicates(void **state)
{
	struct jr_jobreq req;

	(void)state;
	job_fails("shell = a\nshell = b\n", "job.conf:2: shell is given twice (first on line 1)");
	job_fails("command = {\"a\"}\n\ncommand = {\"b\"}\n",
		  "job.conf:3: command is given twice (first on line 1)");
	job_fails("limits {\n memory = 1G\n memory = 2G\n}\n",
		  "job.conf:3: memory is given twice (first on line 2)");
	job_fails("limits { memory = 1G }\nlimits { pids = 2 }\n",
		  "job.conf:2: section limits is given twice (the first one ends on line 1)");
	/* the same key in one limits section given across two would be caught first */
	job_fails("limits { memory = 1G }\nlimits { memory = 2G }\n",
		  "job.conf:2: memory is given twice (first on line 1)");
	/* += appends to a list: allowed */
	job_ok("command = {\"a\"}\ncommand += {\"b\", \"c\"}\ncommand += \"d\"\n", &req);
	assert_int_equal(req.argv.n, 4);
	assert_string_equal(req.argv.v[3], "d");
	jr_jobreq_free(&req);
	job_fails_with("shell += x\n", "job.conf:1: attempt to append to non-list option 'shell'");
}

static void jobconf_wrong_types(void **state)
{
	(void)state;
	job_fails("shell = {\"a\", \"b\"}\n", "job.conf:1: unexpected token '{'");
	job_fails("limits = 5\n", "job.conf:1: missing opening brace for section 'limits'");
	job_fails("shell {\n", "job.conf:1: a '{' that is not closed");
	job_fails("shell { x = 1 }\n", "job.conf:1: missing equal sign after option 'shell'");
	job_fails("command = {\"cc\"}\nshell = \"make\"\n",
		  "job.conf:2: shell: command is given too (line 1): give one of them");
	job_fails("shell = \"\"\n", "job.conf:1: shell is empty");
	job_fails("command = {\"\", \"x\"}\n", "job.conf:1: command: the program name is empty");
	job_fails("env = {}\n", "job.conf:1: an empty list {}: leave the key out instead");
	job_fails("outputs += { }\n", "job.conf:1: an empty list {}: leave the key out instead");
	job_fails("shell = x*y\n", "job.conf:1: unexpected '*' (quote the value)");
	job_fails("shell = a+b\n",
		  "job.conf:1: unexpected '+' (quote the value; '+=' appends to a list)");
	job_fails("shell = \"x\" }\n", "job.conf:1: a '}' that closes nothing");
	job_fails("limits {\n memory = 1G\n", "job.conf:1: a '{' that is not closed");
	job_fails("shell =\n", "job.conf:1: premature end of file");
	job_fails("profile = \"a b\"\n",
		  "job.conf:1: profile = \"a b\": must be a profile name (1 to 64 of A-Z a-z "
		  "0-9 . _ -)");
	job_fails("limits {\n memory = \"\"\n}\n", "job.conf:2: memory = \"\": is empty");
}

static void jobconf_paths(void **state)
{
	struct jr_jobreq req;

	(void)state;
	job_fails("stdin = /etc/shadow\n",
		  "job.conf:1: stdin = /etc/shadow: must be a path inside /job, relative to it "
		  "(no leading '/')");
	job_fails("\nstdin = \"in/../../etc/passwd\"\n",
		  "job.conf:2: stdin = in/../../etc/passwd: must not have a '..' component");
	job_fails("workdir = ..\n", "job.conf:1: workdir = ..: must not have a '..' component");
	job_fails("outputs = {\"ok.txt\",\n  \"../x\"}\n",
		  "job.conf:2: outputs entry ../x: must not have a '..' component");
	job_fails("outputs = {\"logs/\"}\n",
		  "job.conf:1: outputs entry logs/: must name a file (it ends in '/' or '.')");
	job_fails("stdin = \"a\\nb\"\n", "job.conf:1: stdin = \"a\\nb\": has a control character");
	job_fails("stdin = \"\"\n", "job.conf:1: stdin = \"\": is empty");
	/* what is fine: '.' components, "..x" names, a workdir of "." */
	job_ok("stdin = \"./in/..x\"\nworkdir = \".\"\noutputs = {\"a/b/c.txt\", \"...\"}\n",
	       &req);
	assert_string_equal(req.stdin_file.value, "./in/..x");
	jr_jobreq_free(&req);
}

static void jobconf_env(void **state)
{
	struct jr_jobreq req;

	(void)state;
	job_fails("env = {\"A=1\",\n  \"1A=2\"}\n",
		  "job.conf:2: env entry 1A=2: must be NAME=VALUE with a NAME of letters, digits "
		  "and '_' (not starting with a digit)");
	job_fails("env = {\"NOVALUE\"}\n", "job.conf:1: env entry NOVALUE: must be NAME=VALUE");
	job_fails("env = {\"=x\"}\n", "job.conf:1: env entry =x: must be NAME=VALUE with a NAME");
	job_fails("env = {\"A B=x\"}\n",
		  "job.conf:1: env entry \"A B=x\": must be NAME=VALUE with a NAME of letters, "
		  "digits and '_' (not starting with a digit)");
	/* values are anything */
	job_ok("env = {\"A=\", \"_B2=x=y\", \"C=tab\\there\", \"LD_PRELOAD=/x.so\"}\n", &req);
	assert_string_equal(req.env.v[0], "A=");
	assert_string_equal(req.env.v[1], "_B2=x=y");
	assert_string_equal(req.env.v[2], "C=tab\there");
	jr_jobreq_free(&req);
}

static void jobconf_nul_bytes(void **state)
{
	static const char raw[] = "shell = \"a\"\nstdin = \"x\0y\"\n";
	struct jr_jobreq req;
	struct jr_err err;

	(void)state;
	jr_err_clear(&err);
	assert_int_equal(jr_jobconf_parse(raw, sizeof(raw) - 1, "job.conf", &req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf:2: a NUL byte");
	/* escapes that make a NUL would cut the value short in libconfuse */
	job_fails("shell = \"rm -rf /tmp/x\\0 /\"\n",
		  "job.conf:1: a NUL escape (\\0, \\x00) in a string: a value cannot hold a NUL byte");
	job_fails("shell = \"a\\x00\"\n",
		  "job.conf:1: a NUL escape (\\0, \\x00) in a string: a value cannot hold a NUL byte");
	job_fails("shell = \"a\\000\"\n",
		  "job.conf:1: a NUL escape (\\0, \\x00) in a string: a value cannot hold a NUL byte");
	/* other escapes are fine */
	job_ok("shell = \"a\\x41\\101\\\\0\"\n", &req);
	assert_string_equal(req.shell.value, "aAA\\0");
	jr_jobreq_free(&req);
	job_fails("shell = \"\\777\"\n", "job.conf:1: invalid octal number '\\777'");
	/* a NUL in a comment is a NUL too */
	assert_int_equal(jr_jobconf_parse("# a\0b\n", 6, "job.conf", &req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf:1: a NUL byte");
}

static void jobconf_control_characters(void **state)
{
	(void)state;
	job_fails("shell = x\x01y\n", "job.conf:1: a control character (0x01) outside quotes");
	job_fails("\x1b[2J\n", "job.conf:1: a control character (0x1b) outside quotes");
	/* messages quote what they show: no raw control character gets out */
	job_fails("profile = \"\x1b[31mred\"\n",
		  "job.conf:1: profile = \"\\x1b[31mred\": must be a profile name (1 to 64 of "
		  "A-Z a-z 0-9 . _ -)");
}

/* The request travels as JSON: every value is UTF-8, and so is every message. */
static void jobconf_utf8(void **state)
{
	struct jr_jobreq req;

	(void)state;
	job_ok("shell = \"echo h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"\n", &req);
	assert_string_equal(req.shell.value, "echo h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	jr_jobreq_free(&req);
	/* found by fuzz_jobconf: a Latin-1 byte in a limit made jr_jobreq_to_json fail */
	job_fails("limits {\n disk = 64\xafM\n}\n",
		  "job.conf:2: disk = \"64\\xafM\": is not valid UTF-8");
	job_fails("stdin = \"caf\xe9.txt\"\n",
		  "job.conf:1: stdin = \"caf\\xe9.txt\": is not valid UTF-8");
	job_fails("command = {\"./a\", \"\xc0\xaf\"}\n",      /* an overlong '/' */
		  "job.conf:1: command entry \"\\xc0\\xaf\": is not valid UTF-8");
	job_fails("env = {\"A=\xed\xa0\x80\"}\n",                /* a surrogate */
		  "job.conf:1: env entry \"A=\\xed\\xa0\\x80\": is not valid UTF-8");
	/* a message quoting a raw key: '?' for what is not UTF-8 */
	job_fails("b\xff" "d = 1\n", "job.conf:1: unknown key 'b?d'");
}

/* Hostile sizes and shapes: bounded, precise, no crash. */
static void jobconf_huge_and_deep(void **state)
{
	struct jr_jobreq req;
	struct jr_err err;
	size_t n = JR_JOBCONF_MAX_BYTES + 1, i, o;
	char *big = malloc(n + 64);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	jr_err_clear(&err);
	assert_int_equal(jr_jobconf_parse(big, n, "job.conf", &req, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf: 65537 bytes: more than the 65536 bytes this file "
				     "may have");
	/* just at the bound: fine */
	memcpy(big, "shell = x\n", 10);
	assert_int_equal(jr_jobconf_parse(big, JR_JOBCONF_MAX_BYTES, "job.conf", &req, &err), 0);
	jr_jobreq_free(&req);
	/* deep braces */
	for (i = 0; i < 1000; i++)
		big[i] = '{';
	big[i] = '\0';
	job_fails(big, "job.conf:1: braces nested more than 16 deep");
	/* a long value */
	o = (size_t)sprintf(big, "shell = \"");
	memset(big + o, 'x', 60000);
	strcpy(big + o + 60000, "\"\n");
	job_ok(big, &req);
	assert_int_equal(strlen(req.shell.value), 60000);
	jr_jobreq_free(&req);
	/* more list entries than allowed */
	o = (size_t)sprintf(big, "outputs = {");
	for (i = 0; i < JR_REQ_MAX_OUTPUTS + 1; i++)
		o += (size_t)sprintf(big + o, "%s\"f%zu\"", i ? "," : "", i);
	strcpy(big + o, "}\n");
	job_fails(big, "job.conf:1: outputs: more than 256 files");
	free(big);
}

static void jobconf_unterminated(void **state)
{
	char path[] = "/tmp/test_conf.XXXXXX";
	struct jr_jobreq req;
	struct jr_err err;
	struct stat st;
	int fd, saved;

	(void)state;
	job_fails("shell = \"abc\n\n", "job.conf:1: a string that is not closed (it starts on this "
					"line)");
	job_fails("\nshell = 'abc", "job.conf:2: a string that is not closed (it starts on this "
				    "line)");
	job_fails("shell = x\n/* open\n", "job.conf:2: a /* comment that is not closed (it starts "
					  "on this line)");
	/* libconfuse's scanner echoes a backslash unmatched at the end of the input to stdout:
	 * nothing may reach stdout (it may be a protocol pipe in the unpack helper) */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 1), 1);
	jr_err_clear(&err);
	(void)jr_jobconf_parse("shell = \"abc\\", 13, "job.conf", &req, &err);
	(void)jr_jobconf_parse("shell = 'abc\\", 13, "job.conf", &req, &err);
	fflush(stdout);
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	unlink(path);
	assert_string_equal(err.msg, "job.conf:1: a string that is not closed (it starts on this "
				     "line)");
}

static void jobconf_empty(void **state)
{
	struct jr_jobreq req;
	struct jr_err err;

	(void)state;
	jr_err_clear(&err);
	assert_int_equal(jr_jobconf_parse("", 0, "job.conf", &req, &err), 0);
	assert_string_equal(req.file, "job.conf");
	assert_int_equal(req.argv.n, 0);
	jr_jobreq_free(&req);
	assert_int_equal(jr_jobconf_parse(NULL, 0, NULL, &req, &err), 0);
	assert_string_equal(req.file, "job.conf");
	jr_jobreq_free(&req);
	job_ok("# nothing but a comment", &req);
	jr_jobreq_free(&req);
}

/* A parse after a failed one starts clean (libconfuse's scanner state is global). */
static void jobconf_after_failure(void **state)
{
	struct jr_jobreq req;

	(void)state;
	job_fails("shell = \"x\" bogus", "job.conf:1: unknown key 'bogus'");
	job_fails("shell = \"x\" profile", "job.conf:1: premature end of file");
	job_fails("limits { memory = \"1G }", "job.conf:1: a string that is not closed (it starts "
					      "on this line)");
	job_ok("shell = \"ok\"\n", &req);
	assert_string_equal(req.shell.value, "ok");
	assert_int_equal(req.shell.line, 1);
	jr_jobreq_free(&req);
}

/* The example job configs shipped in conf/examples parse. */
static void jobconf_examples_parse(void **state)
{
	static const char *const names[] = { "c-program.conf", "shell.conf", "hpc.conf" };
	char *conf = example_conf_path(), dir[PATH_MAX], path[PATH_MAX + 32];
	size_t i, len;

	(void)state;
	assert_non_null(conf);
	snprintf(dir, sizeof(dir), "%s", conf);
	*strrchr(dir, '/') = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct jr_jobreq req;
		struct jr_err err;
		char *text;

		snprintf(path, sizeof(path), "%s/examples/%s", dir, names[i]);
		text = read_file(path, &len);
		assert_non_null(text);
		jr_err_clear(&err);
		if (jr_jobconf_parse(text, len, names[i], &req, &err) < 0)
			print_error("%s: %s\n", path, err.msg);
		assert_string_equal(err.msg, "");
		assert_true(req.argv.n > 0 || req.shell.value);
		jr_jobreq_free(&req);
		free(text);
	}
}

/* ---- limit values ------------------------------------------------------------------------- */

static void limit_ok(enum jr_limit_key k, const char *text, int flags, uint64_t want)
{
	char why[128] = "";
	uint64_t v = 12345;
	int r = jr_limit_parse(k, text, flags, &v, why, sizeof(why));

	if (r || v != want)
		print_error("%s = %s: r=%d v=%llu why=%s\n", jr_limit_name(k), text, r,
			    (unsigned long long)v, why);
	assert_int_equal(r, 0);
	assert_int_equal(v, want);
}

static void limit_bad(enum jr_limit_key k, const char *text, int flags, const char *want)
{
	char why[128] = "";
	uint64_t v = 12345;
	int r = jr_limit_parse(k, text, flags, &v, why, sizeof(why));

	if (r != -EINVAL || strcmp(why, want))
		print_error("%s = %s: r=%d why=%s want=%s\n", jr_limit_name(k), text, r, why, want);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(why, want);
	assert_int_equal(v, 12345);
}

static void limit_units(void **state)
{
	(void)state;
	limit_ok(JR_L_PIDS, "010", 0, 10);                      /* never octal */
	limit_ok(JR_L_OPEN_FILES, "0100", 0, 100);
	limit_ok(JR_L_MEMORY, "1.5G", 0, 3ULL << 29);
	limit_ok(JR_L_MEMORY, "256M", 0, 256ULL << 20);
	limit_ok(JR_L_MEMORY, "010M", 0, 10ULL << 20);
	limit_ok(JR_L_CPU_TIME, "500ms", 0, 500000);
	limit_ok(JR_L_CPU_TIME, "1.5s", 0, 1500000);
	limit_ok(JR_L_WALL_TIME, "2m", 0, 120000000);
	limit_ok(JR_L_WALL_TIME, "10", 0, 10000000);
	limit_ok(JR_L_CPUS, "0.5", 0, 500);
	limit_ok(JR_L_CPUS, "2", 0, 2000);
	limit_ok(JR_L_SWAP, "0", 0, 0);
	limit_ok(JR_L_OUTPUT, "0", 0, 0);
	limit_ok(JR_L_IO_RBPS, "10M", 0, 10ULL << 20);
	limit_ok(JR_L_IO_WIOPS, "1000", 0, 1000);
	limit_ok(JR_L_CPU_WEIGHT, "10000", 0, 10000);
	limit_ok(JR_L_MEMORY, "unlimited", 0, JR_LIMIT_UNLIMITED);
	limit_ok(JR_L_DISK, "unlimited", JR_LIMIT_MAXIMUM, JR_LIMIT_UNLIMITED);

	limit_bad(JR_L_PIDS, "0x40", 0, "is not a whole number (64)");
	limit_bad(JR_L_MEMORY, "0x40", 0, "is not a size (256M, 1.5G)");
	limit_bad(JR_L_PIDS, "1.5", 0, "is not a whole number (64)");
	limit_bad(JR_L_PIDS, " 64", 0, "is not a whole number (64)");
	limit_bad(JR_L_PIDS, "+64", 0, "is not a whole number (64)");
	limit_bad(JR_L_WALL_TIME, "10x", 0, "is not a duration (1.5s, 500ms, 2m, 1h, 1d)");
	limit_bad(JR_L_CPUS, "0.0005", 0,
		  "is not a number of CPUs (0.5, 2; three decimals at most)");
	limit_bad(JR_L_MEMORY, "-1G", 0, "is negative");
	limit_bad(JR_L_PIDS, "-1", 0, "is negative");
	limit_bad(JR_L_MEMORY, "99999999999T", 0, "is too large");
	limit_bad(JR_L_IO_RIOPS, "18446744073709551616", 0, "is too large");
	limit_bad(JR_L_IO_RIOPS, "18446744073709551615", 0, "is too large"); /* = unlimited */
	limit_bad(JR_L_MEMORY, "0", 0, "is below the minimum 1M");
	limit_bad(JR_L_MEMORY, "512K", 0, "is below the minimum 1M");
	limit_bad(JR_L_PIDS, "0", 0, "is below the minimum 2");
	limit_bad(JR_L_PIDS, "1", 0, "is below the minimum 2");    /* jobrun-init and the command */
	limit_ok(JR_L_PIDS, "2", 0, 2);
	/* what every kernel takes: io.max refuses 1 on some, IOPS are 32 bits */
	limit_bad(JR_L_IO_RBPS, "1", 0, "is below the minimum 2");
	limit_bad(JR_L_IO_WIOPS, "1", 0, "is below the minimum 2");
	limit_bad(JR_L_IO_RIOPS, "4294967295", 0, "is above 4294967294, the most jobrun accepts");
	limit_bad(JR_L_IO_WIOPS, "4G", 0, "is not a whole number (64)");
	limit_ok(JR_L_IO_WIOPS, "4294967294", 0, 4294967294ULL);
	limit_ok(JR_L_IO_WBPS, "1T", 0, 1ULL << 40);
	limit_bad(JR_L_WALL_TIME, "0", 0, "is below the minimum 1us");
	limit_bad(JR_L_CPUS, "0", 0, "is below the minimum 0.01");
	limit_bad(JR_L_OPEN_FILES, "3", 0, "is below the minimum 4");
	limit_bad(JR_L_DISK, "1K", 0, "is below the minimum 64K");
	limit_bad(JR_L_CPU_WEIGHT, "10001", 0, "is above 10000, the most jobrun accepts");
	limit_bad(JR_L_PIDS, "4194305", 0, "is above 4194304, the most jobrun accepts");
	limit_bad(JR_L_CPUS, "1001", 0, "is above 1000, the most jobrun accepts");
	limit_bad(JR_L_DISK, "unlimited", 0, "cannot be unlimited (disk needs a value)");
	limit_bad(JR_L_OPEN_FILES, "unlimited", 0, "cannot be unlimited (open_files needs a value)");
	limit_bad(JR_L_MEMORY, "", 0, "is not a size (256M, 1.5G)");
	/* a share of RAM: only in jobrun.conf */
	limit_bad(JR_L_MEMORY, "50%", 0, "is not a size (256M, 1.5G)");
	limit_bad(JR_L_MEMORY, "0%", JR_LIMIT_ADMIN, "is not a share of the host's RAM (1% to 100%)");
	limit_bad(JR_L_MEMORY, "101%", JR_LIMIT_ADMIN,
		  "is not a share of the host's RAM (1% to 100%)");
	{
		char why[128];
		uint64_t half, all;

		assert_int_equal(jr_limit_parse(JR_L_MEMORY, "50%", JR_LIMIT_ADMIN, &half, why,
						sizeof(why)), 0);
		assert_int_equal(jr_limit_parse(JR_L_MEMORY, "100%", JR_LIMIT_ADMIN, &all, why,
						sizeof(why)), 0);
		assert_true(all > (64ULL << 20));
		assert_true(half == all / 2 || half + 1 == all / 2 || half == all / 2 + 1);
	}
}

/* ---- jobrun.conf ---------------------------------------------------------------------------- */

static void conf_equal(const struct jr_conf *a, const struct jr_conf *b)
{
	size_t i, j;
	int k;

	assert_string_equal(a->runtime_dir, b->runtime_dir);
	assert_string_equal(a->state_dir, b->state_dir);
	assert_true((a->cgroup_parent == NULL) == (b->cgroup_parent == NULL));
	if (a->cgroup_parent)
		assert_string_equal(a->cgroup_parent, b->cgroup_parent);
	assert_string_equal(a->hostname, b->hostname);
	assert_int_equal(a->uid_base, b->uid_base);
	assert_int_equal(a->uid_count, b->uid_count);
	assert_string_equal(a->isolate.box_root, b->isolate.box_root);
	assert_int_equal(a->isolate.first_uid, b->isolate.first_uid);
	assert_int_equal(a->isolate.num_boxes, b->isolate.num_boxes);
	assert_string_equal(a->default_profile, b->default_profile);
	assert_int_equal(a->nprofiles, b->nprofiles);
	for (i = 0; i < a->nprofiles; i++) {
		const struct jr_profile *p = &a->profiles[i], *q = &b->profiles[i];

		assert_string_equal(p->name, q->name);
		for (k = 0; k < JR_L_N; k++) {
			const struct jr_limit *l[4] = { &p->defaults[k], &q->defaults[k],
							&p->maxima[k], &q->maxima[k] };

			for (j = 0; j < 4; j += 2) {
				if ((l[j]->text == NULL) != (l[j + 1]->text == NULL))
					print_error("profile %s %s %s: %s vs %s\n", p->name,
						    j ? "maximum" : "default",
						    jr_limit_name((enum jr_limit_key)k),
						    l[j]->text ? l[j]->text : "-",
						    l[j + 1]->text ? l[j + 1]->text : "-");
				assert_true((l[j]->text == NULL) == (l[j + 1]->text == NULL));
				if (!l[j]->text)
					continue;
				assert_string_equal(l[j]->text, l[j + 1]->text);
				assert_int_equal(l[j]->value, l[j + 1]->value);
			}
		}
		assert_int_equal(p->system_binds.n, q->system_binds.n);
		for (j = 0; j < p->system_binds.n; j++)
			assert_string_equal(p->system_binds.v[j], q->system_binds.v[j]);
		assert_int_equal(p->etc_files.n, q->etc_files.n);
		for (j = 0; j < p->etc_files.n; j++)
			assert_string_equal(p->etc_files.v[j], q->etc_files.v[j]);
		assert_int_equal(p->job_profiles.n, q->job_profiles.n);
		for (j = 0; j < p->job_profiles.n; j++)
			assert_string_equal(p->job_profiles.v[j], q->job_profiles.v[j]);
		assert_string_equal(p->network, q->network);
		assert_int_equal(p->max_entries, q->max_entries);
		assert_int_equal(p->max_name, q->max_name);
	}
}

/* conf/jobrun.conf loads to exactly the built-in configuration, and names every key. */
static void conf_example_is_builtin(void **state)
{
	static const char *const keys[] = {
		"runtime_dir", "state_dir", "cgroup_parent", "hostname", "uid_base", "uid_count",
		"default_profile", "profile grader", "profile hpc", "system_binds", "etc_files",
		"network", "max_entries", "max_name", "job_profiles", "defaults", "maxima",
		"isolate {", "box_root", "first_uid", "num_boxes",
	};
	struct jr_conf file, builtin;
	struct jr_err err;
	const char *path = example_conf_path();
	size_t i, len;
	char *text;
	int k;

	(void)state;
	assert_non_null(path);
	jr_err_clear(&err);
	if (jr_conf_load(path, &file, &err) < 0)
		print_error("%s\n", err.msg);
	assert_string_equal(err.msg, "");
	assert_int_equal(jr_conf_builtin(&builtin, &err), 0);
	assert_string_equal(file.file, path);
	assert_null(builtin.file);
	conf_equal(&file, &builtin);
	text = read_file(path, &len);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(text, keys[i]))
			print_error("conf/jobrun.conf does not mention %s\n", keys[i]);
		assert_non_null(strstr(text, keys[i]));
	}
	for (k = 0; k < JR_L_N; k++)
		assert_non_null(strstr(text, jr_limit_name((enum jr_limit_key)k)));
	free(text);
	jr_conf_free(&file);
	jr_conf_free(&builtin);
}

static void conf_builtin_values(void **state)
{
	const struct jr_profile *g, *h;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	assert_string_equal(c.runtime_dir, "/run/jobrun");
	assert_string_equal(c.state_dir, "/var/lib/jobrun");
	assert_null(c.cgroup_parent);
	assert_string_equal(c.hostname, "jobrun");
	assert_int_equal(c.uid_base, 1500000000);
	assert_int_equal(c.uid_count, 10000);
	assert_string_equal(c.default_profile, "grader");
	g = jr_conf_profile(&c, "grader");
	h = jr_conf_profile(&c, "hpc");
	assert_non_null(g);
	assert_non_null(h);
	assert_null(jr_conf_profile(&c, "nope"));
	assert_int_equal(g->defaults[JR_L_MEMORY].value, 256ULL << 20);
	assert_int_equal(g->maxima[JR_L_MEMORY].value, 2ULL << 30);
	assert_int_equal(g->defaults[JR_L_SWAP].value, 0);
	assert_int_equal(g->maxima[JR_L_SWAP].value, 0);
	assert_int_equal(g->defaults[JR_L_CPUS].value, 1000);
	assert_int_equal(g->maxima[JR_L_CPUS].value, 2000);
	assert_int_equal(g->defaults[JR_L_CPU_TIME].value, 10000000);
	assert_int_equal(g->maxima[JR_L_CPU_TIME].value, 60000000);
	assert_int_equal(g->defaults[JR_L_WALL_TIME].value, 30000000);
	assert_int_equal(g->maxima[JR_L_WALL_TIME].value, 300000000);
	assert_int_equal(g->defaults[JR_L_PIDS].value, 64);
	assert_int_equal(g->maxima[JR_L_PIDS].value, 512);
	assert_int_equal(g->defaults[JR_L_DISK].value, 256ULL << 20);
	assert_int_equal(g->maxima[JR_L_DISK].value, 1ULL << 30);
	assert_int_equal(g->defaults[JR_L_OUTPUT].value, 64ULL << 20);
	assert_int_equal(g->maxima[JR_L_OUTPUT].value, 256ULL << 20);
	assert_int_equal(g->defaults[JR_L_OPEN_FILES].value, 256);
	assert_int_equal(g->maxima[JR_L_OPEN_FILES].value, 4096);
	assert_null(g->defaults[JR_L_IO_RBPS].text);
	assert_null(g->maxima[JR_L_IO_RBPS].text);
	assert_int_equal(g->max_entries, 10000);
	assert_int_equal(g->max_name, 255);
	assert_string_equal(g->network, "none");
	assert_string_equal(g->system_binds.v[0], "/usr");
	assert_int_equal(g->job_profiles.n, 1);              /* jobs may name grader only */
	assert_string_equal(g->job_profiles.v[0], "grader");
	assert_int_equal(h->job_profiles.n, 1);
	assert_string_equal(h->job_profiles.v[0], "hpc");
	assert_int_equal(h->defaults[JR_L_MEMORY].value, 4ULL << 30);
	assert_string_equal(h->maxima[JR_L_MEMORY].text, "100%");
	assert_int_equal(h->maxima[JR_L_MEMORY].value,
			 (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(h->defaults[JR_L_WALL_TIME].value, 24ULL * 3600 * 1000000);
	assert_int_equal(h->maxima[JR_L_WALL_TIME].value, 7ULL * 24 * 3600 * 1000000);
	jr_conf_free(&c);
}

static void conf_load_missing(void **state)
{
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	jr_err_clear(&err);
	/* a path given that does not exist: an error */
	assert_int_equal(jr_conf_load("/nonexistent/jobrun.conf", &c, &err), -ENOENT);
	assert_string_equal(err.msg, "--config '/nonexistent/jobrun.conf': 'nonexistent': No such "
				     "file or directory");
	/* the default path missing: the built-in configuration */
	if (access(JR_CONF_DEFAULT_PATH, F_OK) == 0) {
		print_message("# %s exists here: the built-in fallback is not tested\n",
			      JR_CONF_DEFAULT_PATH);
		return;
	}
	assert_int_equal(jr_conf_load(NULL, &c, &err), 0);
	assert_null(c.file);
	assert_non_null(jr_conf_profile(&c, "grader"));
	jr_conf_free(&c);
	/* a directory is not a configuration file */
	assert_true(jr_conf_load("/", &c, &err) < 0);
}

/* jobrun.conf decides every profile: whoever else can write it is refused (StrictModes). */
static void conf_load_strict_modes(void **state)
{
	const char *text = "default_profile = \"grader\"\n";
	char path[] = "/tmp/jobrun-test-conf.XXXXXX";
	struct jr_conf c;
	struct jr_err err;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	jr_err_clear(&err);
	assert_int_equal(jr_conf_load(path, &c, &err), 0);
	jr_conf_free(&c);
	assert_int_equal(chmod(path, 0666), 0);
	jr_err_clear(&err);
	assert_true(jr_conf_load(path, &c, &err) < 0);
	assert_non_null(strstr(err.msg, "not be writable by group or others"));
	unlink(path);
}

static int parse_conf(const char *text, struct jr_conf *c, struct jr_err *err)
{
	jr_err_clear(err);
	return jr_conf_parse(text, strlen(text), "jobrun.conf", c, err);
}

static void conf_fails(const char *text, const char *want)
{
	struct jr_conf c;
	struct jr_err err;
	int r = parse_conf(text, &c, &err);

	if (r != -EINVAL || strcmp(err.msg, want))
		print_error("conf:\n%s\nr=%d\ngot:  %s\nwant: %s\n", text, r, err.msg, want);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err.msg, want);
}

static void conf_errors(void **state)
{
	(void)state;
	conf_fails("profile grader {\n defaults {\n  memory = 1X\n }\n}\n",
		   "jobrun.conf:3: profile grader: defaults: memory = 1X is not a size (256M, 1.5G)");
	conf_fails("profile grader {\n defaults { memory = 4G }\n}\n",
		   "jobrun.conf:2: profile grader: the default memory = 4G is above its maximum 2G");
	conf_fails("default_profile = nope\n",
		   "jobrun.conf:1: default_profile = nope: no such profile");
	conf_fails("profile grader {\n network = host\n}\n",
		   "jobrun.conf:2: profile grader: network = host: only \"none\" is supported for "
		   "now (the job's own network namespace, with lo only)");
	conf_fails("profile a { }\nprofile a { }\n",
		   "jobrun.conf:2: a section titled 'a' is given twice");
	conf_fails("profile \"a b\" { }\n",
		   "jobrun.conf:1: profile \"a b\": the name must be a profile name (1 to 64 of A-Z "
		   "a-z 0-9 . _ -)");
	conf_fails("profile g {\n system_binds = {\"/usr\", \"/proc\"}\n}\n",
		   "jobrun.conf:2: profile g: system_binds entry /proc: jobrun makes /proc itself");
	conf_fails("profile g {\n system_binds = {\"usr\"}\n}\n",
		   "jobrun.conf:2: profile g: system_binds entry usr: must be an absolute path "
		   "without '..'");
	conf_fails("profile g {\n etc_files = {\"/etc/shadow\"}\n}\n",
		   "jobrun.conf:2: profile g: etc_files entry /etc/shadow: a secret of the host: "
		   "never bound into jobs");
	conf_fails("profile g {\n etc_files = {\"/etc/passwd\"}\n}\n",
		   "jobrun.conf:2: profile g: etc_files entry /etc/passwd: jobrun writes that file "
		   "itself");
	conf_fails("profile g {\n etc_files = {\"/usr/x\"}\n}\n",
		   "jobrun.conf:2: profile g: etc_files entry /usr/x: must be a path below /etc/ "
		   "without '..'");
	conf_fails("uid_base = 0100\nuid_count = 4294967295\n",
		   "jobrun.conf:2: uid_count = 4294967295: must be a count above 0");
	conf_fails("uid_base = 4000000000\nuid_count = 1000000000\n",
		   "jobrun.conf:2: uid_base + 2 * uid_count must stay below 2^32 (jobs use "
		   "uid_count uids from uid_base, jobrun-init the next uid_count)");
	conf_fails("runtime_dir = run/jobrun\n",
		   "jobrun.conf:1: runtime_dir = run/jobrun: must be an absolute path without '..'");
	conf_fails("state_dir = /var/../etc\n",
		   "jobrun.conf:1: state_dir = /var/../etc: must be an absolute path without '..'");
	conf_fails("hostname = \"a_b\"\n",
		   "jobrun.conf:1: hostname = a_b: must be a host name (letters, digits, '-', '.'; "
		   "64 at most)");
	conf_fails("cgroup_parent = /\n",
		   "jobrun.conf:1: cgroup_parent = /: must be an absolute cgroup path like /jobs, "
		   "without '..'");
	conf_fails("profile g {\n max_entries = 0\n}\n",
		   "jobrun.conf:2: profile g: max_entries must be a number from 1 to 100000000");
	conf_fails("profile g {\n maxima { pids = 0 }\n}\n",
		   "jobrun.conf:2: profile g: maxima: pids = 0 is below the minimum 2");
	conf_fails("profile g {\n defaults { disk = unlimited }\n}\n",
		   "jobrun.conf:2: profile g: defaults: disk = unlimited cannot be unlimited (disk "
		   "needs a value)");
	conf_fails("bogus = 1\n", "jobrun.conf:1: unknown key 'bogus'");
	conf_fails("profile g {\n defaults { memroy = 1G }\n}\n",
		   "jobrun.conf:2: unknown key 'memroy' in section defaults");
	conf_fails("profile g {\n defaults { }\n defaults { }\n}\n",
		   "jobrun.conf:3: section defaults is given twice (the first one ends on line 2)");
	conf_fails("hostname = a\nhostname = b\n",
		   "jobrun.conf:2: hostname is given twice (first on line 1)");
	conf_fails("include(\"/etc/jobrun/other.conf\")\n",
		   "jobrun.conf:1: unknown key 'include' (there is no include)");
	conf_fails("profile grader {\n network = none\n job_profiles = {\"grader\", \"hcp\"}\n}\n",
		   "jobrun.conf:3: profile grader: job_profiles entry hcp: no such profile");
	conf_fails("profile grader {\n job_profiles = {\"grader\",\n  \"a b\"}\n}\n",
		   "jobrun.conf:3: profile grader: job_profiles entry \"a b\": must be a profile "
		   "name (1 to 64 of A-Z a-z 0-9 . _ -)");
	conf_fails("profile grader {\n job_profiles = grader\n job_profiles = hpc\n}\n",
		   "jobrun.conf:3: job_profiles is given twice (first on line 2)");
}

/* fetch { }: the hosts a job tarball may be fetched from (README: Job tarballs by URL). */
static void conf_fetch(void **state)
{
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	assert_int_equal(parse_conf("runtime_dir = \"/run/x\"\n", &c, &err), 0);
	assert_int_equal(c.fetch.allow.n, 0); /* built in: no host */
	assert_false(c.fetch.allow_http);
	assert_int_equal(c.fetch.connect_timeout_usec, 5000000);
	assert_int_equal(c.fetch.timeout_usec, 60000000);
	assert_null(c.fetch.ca_file);
	jr_conf_free(&c);
	assert_int_equal(parse_conf("fetch {\n allow = {\"files.example\", \"127.0.0.1:8443\", "
				    "\"[::1]:443\"}\n allow_http = true\n connect_timeout = 2s\n"
				    " timeout = 5m\n ca_file = \"/etc/jobrun/ca.pem\"\n}\n", &c, &err),
			 0);
	assert_int_equal(c.fetch.allow.n, 3);
	assert_string_equal(c.fetch.allow.v[1], "127.0.0.1:8443");
	assert_true(c.fetch.allow_http);
	assert_int_equal(c.fetch.connect_timeout_usec, 2000000);
	assert_int_equal(c.fetch.timeout_usec, 300000000);
	assert_string_equal(c.fetch.ca_file, "/etc/jobrun/ca.pem");
	jr_conf_free(&c);
	conf_fails("fetch {\n allow = {\"https://h/\"}\n}\n",
		   "jobrun.conf:2: fetch: allow entry https://h/: must be a host name or address, "
		   "with an optional :PORT (not a URL)");
	conf_fails("fetch {\n\n allow = {\"h:70000\"}\n}\n",
		   "jobrun.conf:3: fetch: allow entry h:70000: has a port that is not a number "
		   "from 1 to 65535");
	conf_fails("fetch {\n allow_http = yes\n}\n",
		   "jobrun.conf:2: allow_http = yes: must be true or false");
	conf_fails("fetch {\n timeout = 0s\n}\n",
		   "jobrun.conf:2: timeout = 0s: must be a duration from 1ms to 24h (5s, 2m)");
	conf_fails("fetch {\n ca_file = \"ca.pem\"\n}\n",
		   "jobrun.conf:2: ca_file = ca.pem: must be an absolute path without '..'");
}

/* isolate { }: the isolate front's box root and uids (docs/isolate.md). */
static void conf_isolate(void **state)
{
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	assert_int_equal(parse_conf("hostname = h\n", &c, &err), 0);
	assert_string_equal(c.isolate.box_root, "/var/lib/jobrun/isolate");
	assert_int_equal(c.isolate.first_uid, 1400000000);
	assert_int_equal(c.isolate.num_boxes, 100000);
	jr_conf_free(&c);
	assert_int_equal(parse_conf("isolate {\n box_root = \"/srv/boxes\"\n first_uid = 60000\n"
				    " num_boxes = 64\n}\n", &c, &err), 0);
	assert_string_equal(c.isolate.box_root, "/srv/boxes");
	assert_int_equal(c.isolate.first_uid, 60000);
	assert_int_equal(c.isolate.num_boxes, 64);
	jr_conf_free(&c);
	/* the job uids moved next to the boxes: still apart */
	assert_int_equal(parse_conf("uid_base = 1400200000\n", &c, &err), 0);
	jr_conf_free(&c);
	conf_fails("isolate {\n box_root = \"boxes\"\n}\n",
		   "jobrun.conf:2: box_root = boxes: must be an absolute path without '..', 200 "
		   "bytes at most, not /");
	conf_fails("isolate {\n box_root = \"/\"\n}\n",
		   "jobrun.conf:2: box_root = /: must be an absolute path without '..', 200 bytes "
		   "at most, not /");
	conf_fails("isolate {\n box_root = \"/var/../etc\"\n}\n",
		   "jobrun.conf:2: box_root = /var/../etc: must be an absolute path without '..', "
		   "200 bytes at most, not /");
	conf_fails("isolate {\n\n first_uid = 0\n}\n",
		   "jobrun.conf:3: first_uid = 0: must be a uid above 0");
	conf_fails("isolate {\n first_uid = -5\n}\n",
		   "jobrun.conf:2: first_uid = -5: must be a uid above 0");
	conf_fails("isolate {\n num_boxes = 0\n}\n",
		   "jobrun.conf:2: num_boxes = 0: must be a count from 1 to 1000000");
	conf_fails("isolate {\n num_boxes = 1000001\n}\n",
		   "jobrun.conf:2: num_boxes = 1000001: must be a count from 1 to 1000000");
	conf_fails("isolate {\n first_uid = 4294000000\n num_boxes = 1000000\n}\n",
		   "jobrun.conf:2: isolate: first_uid + 2 * num_boxes must stay below 2^32 (boxes "
		   "use num_boxes uids from first_uid, their jobrun-inits the next num_boxes)");
	conf_fails("isolate {\n first_uid = 1500015000\n}\n",
		   "jobrun.conf:2: isolate: the box uids 1500015000-1500214999 overlap the job uids "
		   "1500000000-1500019999 (uid_base, uid_count): a box and a job would share a uid");
	/* a job range moved onto the default box uids: the line of uid_base */
	conf_fails("hostname = h\nuid_base = 1400100000\n",
		   "jobrun.conf:2: isolate: the box uids 1400000000-1400199999 overlap the job uids "
		   "1400100000-1400119999 (uid_base, uid_count): a box and a job would share a uid");
	conf_fails("isolate {\n boxroot = \"/x\"\n}\n",
		   "jobrun.conf:2: unknown key 'boxroot' in section isolate");
}

static void conf_profiles_inherit(void **state)
{
	const struct jr_profile *g, *ml;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	assert_int_equal(parse_conf("default_profile = ml\n"
				    "cgroup_parent = /jobs\n"
				    "profile grader {\n"
				    "  maxima { memory = 4G pids = unlimited }\n"
				    "}\n"
				    "profile ml {\n"
				    "  defaults { memory = 8G }\n"
				    "  maxima { memory = 32G }\n"
				    "  system_binds = {\"/usr\", \"/opt/cuda\"}\n"
				    "}\n", &c, &err), 0);
	assert_string_equal(c.default_profile, "ml");
	assert_string_equal(c.cgroup_parent, "/jobs");
	assert_int_equal(c.nprofiles, 3);
	g = jr_conf_profile(&c, "grader");
	assert_int_equal(g->maxima[JR_L_MEMORY].value, 4ULL << 30);
	assert_int_equal(g->maxima[JR_L_MEMORY].line, 4);
	assert_null(g->maxima[JR_L_PIDS].text);             /* unlimited: no maximum */
	assert_int_equal(g->defaults[JR_L_MEMORY].value, 256ULL << 20); /* kept */
	assert_int_equal(g->maxima[JR_L_CPUS].value, 2000);
	ml = jr_conf_profile(&c, "ml");                     /* a new name: grader's values */
	assert_int_equal(ml->defaults[JR_L_MEMORY].value, 8ULL << 30);
	assert_int_equal(ml->maxima[JR_L_MEMORY].value, 32ULL << 30);
	assert_int_equal(ml->maxima[JR_L_PIDS].value, 512); /* the built-in grader's */
	assert_int_equal(ml->system_binds.n, 2);
	assert_string_equal(ml->system_binds.v[1], "/opt/cuda");
	assert_int_equal(ml->etc_files.n, 8);
	assert_int_equal(ml->job_profiles.n, 1);            /* not inherited from grader */
	assert_string_equal(ml->job_profiles.v[0], "ml");
	jr_conf_free(&c);
}

/* ---- the merge ------------------------------------------------------------------------------ */

static void apply_profile_defaults(void **state)
{
	struct jr_job_extra extra;
	struct jr_jobreq req;
	struct jr_spec spec;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	job_ok("shell = \"make && ./run\"\n", &req);
	jr_spec_init(&spec);
	apply_ok(&c, &req, NULL, &spec, &extra);
	assert_int_equal(spec.cg.memory, 256ULL << 20);
	assert_int_equal(spec.cg.swap, 0);
	assert_int_equal(spec.cg.cpus_milli, 1000);
	assert_int_equal(spec.cg.cpu_weight, 0);            /* not set: unchanged */
	assert_int_equal(spec.cpu_time_usec, 10000000);
	assert_int_equal(spec.wall_usec, 30000000);
	assert_int_equal(spec.cg.pids, 64);
	assert_int_equal(spec.disk_bytes, 256ULL << 20);
	assert_int_equal(spec.output_limit, 64ULL << 20);
	assert_int_equal(spec.open_files, 256);
	assert_int_equal(spec.cg.io_rbps, 0);
	assert_int_equal(spec.argv.n, 3);
	assert_string_equal(spec.argv.v[0], "/bin/sh");
	assert_string_equal(spec.argv.v[1], "-c");
	assert_string_equal(spec.argv.v[2], "make && ./run");
	assert_int_equal(spec.env.n, 3);
	assert_string_equal(spec.env.v[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(spec.env.v[1], "HOME=/job");
	assert_string_equal(spec.env.v[2], "LANG=C.UTF-8");
	assert_null(spec.stdin_path);
	assert_string_equal(spec.hostname, "jobrun");
	assert_string_equal(spec.runtime_dir, "/run/jobrun");
	assert_null(spec.cgroup_parent);
	assert_int_equal(spec.uid_base, 1500000000);
	assert_int_equal(spec.uid_count, 10000);
	assert_int_equal(spec.sys_binds.n, 7);
	assert_int_equal(spec.etc_files.n, 8);
	assert_string_equal(extra.profile, "grader");
	assert_null(extra.cwd);
	assert_int_equal(extra.outputs.n, 0);
	assert_int_equal(extra.max_entries, 10000);
	assert_int_equal(extra.max_name, 255);
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
	jr_jobreq_free(&req);
	jr_conf_free(&c);
}

/* profile < job < command line, for limits, the command, env, stdin, workdir, outputs. */
static void apply_merge_order(void **state)
{
	struct jr_job_extra extra;
	struct jr_jobreq req, cli;
	struct jr_spec spec;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	job_ok("command = {\"./a.out\", \"x\"}\n"
	       "env = {\"HOME=/job/home\", \"A=job\", \"B=job\"}\n"
	       "stdin = in.txt\n"
	       "workdir = src\n"
	       "outputs = {\"out.txt\"}\n"
	       "limits {\n memory = 512M\n pids = 010\n wall_time = 1m\n cpus = 0.5\n}\n", &req);
	cli_init(&cli);
	set_limit(&cli, JR_L_MEMORY, "1G", 0);
	set_limit(&cli, JR_L_OUTPUT, "1M", 0);
	jr_strv_push(&cli.env, "B=cli");
	jr_strv_push(&cli.env, "C=cli");

	jr_spec_init(&spec);
	apply_ok(&c, &req, NULL, &spec, &extra);   /* profile < job */
	assert_int_equal(spec.cg.memory, 512ULL << 20);
	assert_int_equal(spec.cg.pids, 10);
	assert_int_equal(spec.wall_usec, 60000000);
	assert_int_equal(spec.cg.cpus_milli, 500);
	assert_int_equal(spec.cpu_time_usec, 10000000);   /* the profile's */
	assert_int_equal(spec.output_limit, 64ULL << 20);
	assert_string_equal(spec.argv.v[0], "./a.out");
	assert_string_equal(spec.stdin_path, "in.txt");
	assert_string_equal(extra.cwd, "src");
	assert_string_equal(extra.outputs.v[0], "out.txt");
	jr_spec_free(&spec);

	jr_spec_init(&spec);
	apply_ok(&c, &req, &cli, &spec, &extra);   /* profile < job < cli */
	assert_int_equal(spec.cg.memory, 1ULL << 30);
	assert_int_equal(spec.output_limit, 1ULL << 20);
	assert_int_equal(spec.cg.pids, 10);
	assert_int_equal(spec.env.n, 6);
	assert_string_equal(spec.env.v[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(spec.env.v[1], "HOME=/job/home");
	assert_string_equal(spec.env.v[2], "LANG=C.UTF-8");
	assert_string_equal(spec.env.v[3], "A=job");
	assert_string_equal(spec.env.v[4], "B=cli");
	assert_string_equal(spec.env.v[5], "C=cli");
	/* the command line's command, stdin, workdir, outputs win */
	jr_strv_push(&cli.argv, "/bin/true");
	cli.stdin_file.value = strdup("other.txt");
	cli.workdir.value = strdup("build");
	jr_strv_push(&cli.outputs, "result.json");
	apply_ok(&c, &req, &cli, &spec, &extra);
	assert_int_equal(spec.argv.n, 1);
	assert_string_equal(spec.argv.v[0], "/bin/true");
	assert_string_equal(spec.stdin_path, "other.txt");
	assert_string_equal(extra.cwd, "build");
	assert_int_equal(extra.outputs.n, 1);
	assert_string_equal(extra.outputs.v[0], "result.json");
	/* the command line's profile wins too */
	cli.profile.value = strdup("hpc");
	apply_ok(&c, &req, &cli, &spec, &extra);
	assert_string_equal(extra.profile, "hpc");
	assert_int_equal(extra.max_entries, 100000);
	assert_int_equal(spec.cpu_time_usec, 10000000); /* hpc sets none: kept from before */
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
	jr_jobreq_free(&cli);
	jr_jobreq_free(&req);
	jr_conf_free(&c);
}

/* Above a maximum: refused with key, value, maximum and file:line. Never clamped. */
static void apply_above_maximum(void **state)
{
	struct jr_jobreq req, cli;
	struct jr_conf c;
	struct jr_err err;
	char want[256], ram[32];

	(void)state;
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	job_ok("profile = grader\n"
	       "shell = \"./run\"\n"
	       "limits {\n"
	       "  cpus = 1\n"
	       "  pids = 64\n"
	       "\n"
	       "  memory = 4G\n"       /* line 7 */
	       "}\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf:7: memory = 4G is above the grader profile's maximum 2G");
	jr_jobreq_free(&req);

	job_ok("shell = x\nlimits { wall_time = 301s }\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf:2: wall_time = 301s is above the grader profile's maximum 5m");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { swap = 1M }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: swap = 1M is above the grader profile's maximum 0");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { memory = unlimited }\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf:2: memory = unlimited is above the grader profile's maximum 2G");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { cpu_weight = 10000 }\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf:2: cpu_weight = 10000 is above the grader profile's maximum 100");
	jr_jobreq_free(&req);
	/* exactly the maximum is fine */
	job_ok("shell = x\nlimits { memory = 2G pids = 512 }\n", &req);
	{
		struct jr_job_extra extra;
		struct jr_spec spec;

		memset(&extra, 0, sizeof(extra));
		jr_spec_init(&spec);
		apply_ok(&c, &req, NULL, &spec, &extra);
		assert_int_equal(spec.cg.memory, 2ULL << 30);
		jr_spec_free(&spec);
		jr_job_extra_free(&extra);
	}
	/* the command line too, within the same maxima */
	cli_init(&cli);
	set_limit(&cli, JR_L_CPUS, "4", 0);
	apply_fails(&c, &req, &cli,
		    "command line: cpus = 4 is above the grader profile's maximum 2");
	jr_jobreq_free(&cli);
	/* a job's request above a maximum is refused even when the command line overrides it */
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { memory = 3G }\n", &req);
	cli_init(&cli);
	set_limit(&cli, JR_L_MEMORY, "1G", 0);
	apply_fails(&c, &req, &cli,
		    "job.conf:2: memory = 3G is above the grader profile's maximum 2G");
	jr_jobreq_free(&cli);
	jr_jobreq_free(&req);
	/* a maximum given as a share of RAM is shown with its value */
	job_ok("profile = hpc\nshell = x\nlimits { memory = 1000T }\n", &req);
	snprintf(want, sizeof(want),
		 "job.conf:3: memory = 1000T is above the hpc profile's maximum 100%% of RAM (%s)",
		 jr_format_size((uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE),
				ram, sizeof(ram)));
	cli_init(&cli);
	cli.profile.value = strdup("hpc");      /* the caller's choice */
	apply_fails(&c, &req, &cli, want);
	jr_jobreq_free(&cli);
	jr_jobreq_free(&req);
	jr_conf_free(&c);
}

static void apply_bad_values(void **state)
{
	struct jr_jobreq req, cli;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	job_ok("shell = x\nlimits {\n pids = 0x40\n}\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:3: pids = 0x40 is not a whole number (64)");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { memory = \"-1G\" }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: memory = -1G is negative");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { disk = 99999999999999999999 }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: disk = 99999999999999999999 is too large");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { wall_time = 0 }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: wall_time = 0 is below the minimum 1us");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { memory = 0 }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: memory = 0 is below the minimum 1M");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { cpus = \"1 \" }\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf:2: cpus = \"1 \" is not a number of CPUs (0.5, 2; three decimals at "
		    "most)");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { wall_time = 1w }\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf:2: wall_time = 1w is not a duration (1.5s, 500ms, 2m, 1h, 1d)");
	jr_jobreq_free(&req);
	job_ok("shell = x\nlimits { memory = 50% }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: memory = 50% is not a size (256M, 1.5G)");
	jr_jobreq_free(&req);
	cli_init(&cli);
	set_limit(&cli, JR_L_OPEN_FILES, "2", 0);
	apply_fails(&c, NULL, &cli, "command line: open_files = 2 is below the minimum 4");
	jr_jobreq_free(&cli);
	/* profiles */
	job_ok("profile = nope\nshell = x\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:1: profile = nope: no such profile (grader, hpc)");
	jr_jobreq_free(&req);
	/* no command anywhere */
	job_ok("limits { memory = 1G }\n", &req);
	apply_fails(&c, &req, NULL,
		    "job.conf: no command: give command = {\"prog\", \"arg\"...} or shell = \"...\"");
	jr_jobreq_free(&req);
	/* what jr_jobreq_check refuses (a request built by hand or from JSON) */
	cli_init(&cli);
	cli.stdin_file.value = strdup("/etc/shadow");
	apply_fails(&c, NULL, &cli, "command line: stdin = /etc/shadow: must be a path inside /job, "
				    "relative to it (no leading '/')");
	jr_jobreq_free(&cli);
	jr_conf_free(&c);
}

/* "unlimited" where the profile allows it; a failed apply changes nothing. */
static void apply_unlimited_and_atomic(void **state)
{
	struct jr_job_extra extra;
	struct jr_jobreq req, cli;
	struct jr_spec spec;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	job_ok("profile = hpc\ncommand = {\"./sim\"}\n"
	       "limits { swap = unlimited cpus = unlimited cpu_time = unlimited memory = 16G }\n",
	       &req);
	cli_init(&cli);
	cli.profile.value = strdup("hpc");
	jr_spec_init(&spec);
	apply_ok(&c, &req, &cli, &spec, &extra);
	jr_jobreq_free(&cli);
	assert_int_equal(spec.cg.swap, JR_UNLIMITED);
	assert_int_equal(spec.cg.cpus_milli, 0);
	assert_int_equal(spec.cpu_time_usec, 0);
	assert_int_equal(spec.wall_usec, 24ULL * 3600 * 1000000);
	jr_jobreq_free(&req);

	/* a failing apply leaves spec and extra as they were */
	job_ok("shell = x\nenv = {\"X=1\"}\nworkdir = w\nlimits { memory = 1G pids = 9999 }\n",
	       &req);
	assert_int_equal(jr_conf_apply(&c, &req, NULL, &spec, &extra, &err), -EINVAL);
	assert_string_equal(err.msg, "job.conf:4: pids = 9999 is above the grader profile's "
				     "maximum 512");
	assert_int_equal(spec.cg.memory, 16ULL << 30);
	assert_string_equal(spec.argv.v[0], "./sim");
	assert_int_equal(spec.env.n, 3);
	assert_string_equal(extra.profile, "hpc");
	assert_null(extra.cwd);
	jr_jobreq_free(&req);
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
	jr_conf_free(&c);
}

/* Apply req (and cli) to a fresh spec, expect success under profile want, and check that
 * the job got that profile's settings. */
static void profile_picked(const struct jr_conf *c, const struct jr_jobreq *req,
			   const struct jr_jobreq *cli, const char *want)
{
	struct jr_job_extra extra;
	struct jr_spec spec;

	memset(&extra, 0, sizeof(extra));
	jr_spec_init(&spec);
	apply_ok(c, req, cli, &spec, &extra);
	assert_string_equal(extra.profile, want);
	assert_int_equal(extra.max_entries, jr_conf_profile(c, want)->max_entries);
	assert_int_equal(spec.disk_bytes, jr_conf_profile(c, want)->defaults[JR_L_DISK].value);
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
}

/* The caller decides the profile: a job config may only name one its caller's profile lists
 * in job_profiles (by default only the caller's own). */
static void apply_job_profiles(void **state)
{
	struct jr_jobreq req, own, cli;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	job_ok("shell = x\nlimits { memory = 1G }\nprofile = \"hpc\"\n", &req);
	job_ok("profile = grader\nshell = x\n", &own);
	/* hpc named by the job under the default (grader): refused, whatever it asks */
	apply_fails(&c, &req, NULL, "job.conf:3: profile = \"hpc\" is not allowed for jobs of the "
				    "grader profile (jobrun.conf: job_profiles)");
	/* the same with --profile grader on the command line */
	cli_init(&cli);
	cli.profile.value = strdup("grader");
	apply_fails(&c, &req, &cli, "job.conf:3: profile = \"hpc\" is not allowed for jobs of the "
				    "grader profile (jobrun.conf: job_profiles)");
	/* repeating the caller's own profile: allowed */
	profile_picked(&c, &own, NULL, "grader");
	profile_picked(&c, &own, &cli, "grader");
	jr_jobreq_free(&cli);
	/* --profile hpc on the command line (the caller's choice): allowed, and the job may
	 * repeat it but not step down to grader either (hpc lists only hpc) */
	cli_init(&cli);
	cli.profile.value = strdup("hpc");
	jr_strv_push(&cli.argv, "/bin/true");
	profile_picked(&c, NULL, &cli, "hpc");
	profile_picked(&c, &req, &cli, "hpc");
	apply_fails(&c, &own, &cli, "job.conf:1: profile = \"grader\" is not allowed for jobs of "
				    "the hpc profile (jobrun.conf: job_profiles)");
	jr_jobreq_free(&cli);
	jr_conf_free(&c);

	/* grader lists hpc: its jobs may pick hpc (and still grader) */
	assert_int_equal(parse_conf("profile grader {\n job_profiles = {\"grader\", \"hpc\"}\n}\n",
				    &c, &err), 0);
	assert_int_equal(jr_conf_profile(&c, "grader")->job_profiles_line, 2);
	profile_picked(&c, &req, NULL, "hpc");
	profile_picked(&c, &own, NULL, "grader");
	jr_conf_free(&c);

	/* a list without the profile itself still allows it; the default profile is the caller's */
	assert_int_equal(parse_conf("default_profile = hpc\n"
				    "profile ml { }\n"
				    "profile hpc {\n job_profiles = {\"ml\"}\n}\n", &c, &err), 0);
	profile_picked(&c, &req, NULL, "hpc");
	apply_fails(&c, &own, NULL, "job.conf:1: profile = \"grader\" is not allowed for jobs of "
				    "the hpc profile (jobrun.conf: job_profiles)");
	jr_jobreq_free(&own);
	job_ok("shell = x\nprofile = ml\n", &own);
	profile_picked(&c, &own, NULL, "ml");
	jr_jobreq_free(&own);
	/* a name that is no profile at all */
	job_ok("profile = nope\nshell = x\n", &own);
	apply_fails(&c, &own, NULL, "job.conf:1: profile = nope: no such profile (grader, hpc, ml)");
	jr_jobreq_free(&own);
	jr_jobreq_free(&req);
	jr_conf_free(&c);
}

/* The conf's host settings reach the spec. */
static void apply_conf_settings(void **state)
{
	struct jr_job_extra extra;
	struct jr_jobreq req;
	struct jr_spec spec;
	struct jr_conf c;
	struct jr_err err;

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(parse_conf("runtime_dir = /run/jr2\nhostname = node-x\n"
				    "uid_base = 2000000000\nuid_count = 100\n"
				    "cgroup_parent = /jobs\n"
				    "profile grader {\n etc_files = {\"/etc/localtime\"}\n"
				    " system_binds = {\"/usr\"}\n}\n", &c, &err), 0);
	job_ok("shell = x\n", &req);
	jr_spec_init(&spec);
	apply_ok(&c, &req, NULL, &spec, &extra);
	assert_string_equal(spec.runtime_dir, "/run/jr2");
	assert_string_equal(spec.hostname, "node-x");
	assert_int_equal(spec.uid_base, 2000000000);
	assert_int_equal(spec.uid_count, 100);
	assert_string_equal(spec.cgroup_parent, "/jobs");
	assert_int_equal(spec.sys_binds.n, 1);
	assert_string_equal(spec.sys_binds.v[0], "/usr");
	assert_int_equal(spec.etc_files.n, 1);
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
	jr_jobreq_free(&req);
	jr_conf_free(&c);
}

/* ---- what the host lets jobrun give ---------------------------------------------------------- */

/* A host that limits nothing (set for every test but the ones below). */
static const struct jr_host_caps generous = {
	.nofile = 1048576, .stack = JR_UNLIMITED, .fsize = JR_UNLIMITED,
	.cpu_secs = JR_UNLIMITED, .swap = false, .swap_accounted = true,
};

static int use_generous(void **state)
{
	(void)state;
	jr_host_caps_set(&generous);
	return 0;
}

static void host_limit_check(void **state)
{
	struct jr_host_caps h = generous;
	char why[192];

	(void)state;
	h.nofile = 1000;
	h.cpu_secs = 30;
	jr_host_caps_set(&h);
	assert_int_equal(jr_limit_host_check(JR_L_OPEN_FILES, 1000, why, sizeof(why)), 0);
	assert_int_equal(jr_limit_host_check(JR_L_OPEN_FILES, 1001, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "is above 1000, the most open files jobrun may give here (its "
				 "own hard RLIMIT_NOFILE)");
	/* RLIMIT_CPU is the limit + 2 s */
	assert_int_equal(jr_limit_host_check(JR_L_CPU_TIME, 28000000, why, sizeof(why)), 0);
	assert_int_equal(jr_limit_host_check(JR_L_CPU_TIME, 28999999, why, sizeof(why)), 0);
	assert_int_equal(jr_limit_host_check(JR_L_CPU_TIME, 29000000, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "is more than jobrun may give here: its own hard RLIMIT_CPU is "
				 "30 s, and a CPU-time limit needs 2 s more than itself there");
	assert_int_equal(jr_limit_host_check(JR_L_CPU_TIME, JR_LIMIT_UNLIMITED, why, sizeof(why)),
			 0);
	assert_int_equal(jr_limit_host_check(JR_L_MEMORY, 1ULL << 50, why, sizeof(why)), 0);
	jr_host_caps_set(&generous);
	/* the real host: probed, and sane */
	jr_host_caps_set(NULL);
	assert_true(jr_host_caps(JR_HOST_RLIMITS)->nofile >= 4);
	assert_true(jr_cpuset_count(&jr_host_caps(JR_HOST_CPUS)->cpus) >= 1);
	assert_true(jr_host_caps(JR_HOST_SWAP)->swap_accounted || jr_host_caps(0)->swap);
	jr_host_caps_set(&generous);
}

/* A merged limit the host cannot give is refused, naming the layer that set it. */
static void apply_host_caps(void **state)
{
	struct jr_host_caps h = generous;
	struct jr_job_extra extra;
	struct jr_jobreq req, cli;
	struct jr_spec spec;
	struct jr_conf c, f;
	struct jr_err err;

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	h.nofile = 1000;
	h.cpu_secs = 30;
	jr_host_caps_set(&h);
	job_ok("shell = x\nlimits {\n open_files = 2000\n}\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:3: open_files = 2000 is above 1000, the most open "
				    "files jobrun may give here (its own hard RLIMIT_NOFILE)");
	jr_jobreq_free(&req);
	cli_init(&cli);
	set_limit(&cli, JR_L_OPEN_FILES, "1001", 0);
	apply_fails(&c, NULL, &cli, "command line: open_files = 1001 is above 1000, the most open "
				    "files jobrun may give here (its own hard RLIMIT_NOFILE)");
	jr_jobreq_free(&cli);
	job_ok("shell = x\nlimits { cpu_time = 29s }\n", &req);
	apply_fails(&c, &req, NULL, "job.conf:2: cpu_time = 29s is more than jobrun may give here: "
				    "its own hard RLIMIT_CPU is 30 s, and a CPU-time limit needs 2 s "
				    "more than itself there");
	jr_jobreq_free(&req);
	/* a lower value of the command line wins over the job config's: nothing to refuse */
	job_ok("shell = x\nlimits { open_files = 2000 }\n", &req);
	cli_init(&cli);
	set_limit(&cli, JR_L_OPEN_FILES, "500", 0);
	jr_spec_init(&spec);
	apply_ok(&c, &req, &cli, &spec, &extra);
	assert_int_equal(spec.open_files, 500);
	jr_spec_free(&spec);
	jr_jobreq_free(&cli);
	jr_jobreq_free(&req);
	/* the profile's default: jobrun.conf's line, or the built-in profile */
	assert_int_equal(parse_conf("profile g {\n defaults {\n  open_files = 2048\n }\n}\n"
				    "default_profile = g\n", &f, &err), 0);
	job_ok("shell = x\n", &req);
	apply_fails(&f, &req, NULL, "jobrun.conf:3: profile g: defaults: open_files = 2048 is above "
				    "1000, the most open files jobrun may give here (its own hard "
				    "RLIMIT_NOFILE)");
	jr_conf_free(&f);
	h.nofile = 100;
	apply_fails(&c, &req, NULL, "built-in profile grader: defaults: open_files = 256 is above "
				    "100, the most open files jobrun may give here (its own hard "
				    "RLIMIT_NOFILE)");
	/* swap on a host with swap that its memory controller does not count */
	h = generous;
	h.swap = true;
	h.swap_accounted = false;
	apply_fails(&c, &req, NULL, "built-in profile grader: defaults: swap = 0 cannot be enforced "
				    "here: the host has swap, and its memory controller does not "
				    "count it per cgroup (no memory.memsw.* or memory.swap.max: swap "
				    "accounting is off); ask for swap = unlimited");
	jr_jobreq_free(&req);
	job_ok("profile = hpc\nshell = x\nlimits {\n swap = 1G\n}\n", &req);
	cli_init(&cli);
	cli.profile.value = strdup("hpc");
	apply_fails(&c, &req, &cli, "job.conf:4: swap = 1G cannot be enforced here: the host has "
				    "swap, and its memory controller does not count it per cgroup "
				    "(no memory.memsw.* or memory.swap.max: swap accounting is off); "
				    "ask for swap = unlimited");
	jr_jobreq_free(&req);
	job_ok("profile = hpc\nshell = x\nlimits { swap = unlimited }\n", &req);
	jr_spec_init(&spec);
	apply_ok(&c, &req, &cli, &spec, &extra);              /* no swap limit: nothing to count */
	assert_int_equal(spec.cg.swap, JR_UNLIMITED);
	jr_spec_free(&spec);
	jr_jobreq_free(&req);
	jr_jobreq_free(&cli);
	h.swap_accounted = true;
	job_ok("shell = x\n", &req);
	jr_spec_init(&spec);
	apply_ok(&c, &req, NULL, &spec, &extra);
	h.swap = false;
	h.swap_accounted = false;                            /* no swap at all: 0 holds anyway */
	apply_ok(&c, &req, NULL, &spec, &extra);
	jr_spec_free(&spec);
	/* the file size: "unlimited" (the default) becomes what jobrun may give */
	h = generous;
	h.fsize = 1ULL << 30;
	jr_spec_init(&spec);
	assert_int_equal(spec.file_size, JR_UNLIMITED);
	apply_ok(&c, &req, NULL, &spec, &extra);
	assert_int_equal(spec.file_size, 1ULL << 30);
	jr_spec_free(&spec);
	jr_jobreq_free(&req);
	jr_job_extra_free(&extra);
	jr_conf_free(&c);
	jr_host_caps_set(&generous);
}

/* A staged job is unpacked under the most memory its job config may ask for. */
static void apply_memory_unpack(void **state)
{
	struct jr_job_extra extra;
	struct jr_jobreq cli;
	struct jr_spec spec;
	struct jr_conf c, f;
	struct jr_err err;

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	cli_init(&cli);
	assert_int_equal(jr_strv_push(&cli.argv, "true"), 0);
	jr_spec_init(&spec);
	apply_ok(&c, NULL, &cli, &spec, &extra);
	assert_int_equal(spec.cg.memory_unpack, 0);           /* not staged */
	spec.job_conf = strdup("/x/job.conf");
	apply_ok(&c, NULL, &cli, &spec, &extra);
	assert_int_equal(spec.cg.memory, 256ULL << 20);
	assert_int_equal(spec.cg.memory_unpack, 2ULL << 30); /* grader's maximum */
	free(spec.job_conf);
	spec.job_conf = NULL;
	spec.archive = strdup("-");
	set_limit(&cli, JR_L_MEMORY, "300M", 0);
	apply_ok(&c, NULL, &cli, &spec, &extra);
	assert_int_equal(spec.cg.memory, 300ULL << 20);
	assert_int_equal(spec.cg.memory_unpack, 0);    /* the command line's: final already */
	jr_jobreq_free(&cli);
	assert_int_equal(parse_conf("profile g {\n maxima { memory = unlimited }\n}\n"
				    "default_profile = g\n", &f, &err), 0);
	cli_init(&cli);
	apply_ok(&f, NULL, &cli, &spec, &extra);
	assert_int_equal(spec.cg.memory, 256ULL << 20);
	assert_int_equal(spec.cg.memory_unpack, JR_UNLIMITED); /* no maximum: no limit */
	jr_jobreq_free(&cli);
	jr_conf_free(&f);
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
	jr_conf_free(&c);
}

/* A --job-conf file's messages name its path, as its parse errors do. */
static void apply_job_conf_named(void **state)
{
	struct jr_job_extra extra;
	struct jr_jobreq req;
	struct jr_spec spec;
	struct jr_conf c;
	struct jr_err err;
	const char *text = "shell = x\nlimits { memory = 4G }\n";

	(void)state;
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(jr_conf_builtin(&c, &err), 0);
	assert_int_equal(jr_jobconf_parse(text, strlen(text), "--job-conf", &req, &err), 0);
	jr_spec_init(&spec);
	spec.job_conf = strdup("/srv/jobs/a.conf");
	assert_int_equal(jr_conf_apply(&c, &req, NULL, &spec, &extra, &err), -EINVAL);
	assert_string_equal(err.msg, "--job-conf /srv/jobs/a.conf:2: memory = 4G is above the "
				     "grader profile's maximum 2G");
	free(spec.job_conf);
	spec.job_conf = strdup("/srv/jobs/\x01.conf");            /* not fit for a message */
	assert_int_equal(jr_conf_apply(&c, &req, NULL, &spec, &extra, &err), -EINVAL);
	assert_string_equal(err.msg, "--job-conf:2: memory = 4G is above the grader profile's "
				     "maximum 2G");
	jr_spec_free(&spec);
	jr_jobreq_free(&req);
	jr_job_extra_free(&extra);
	jr_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jobconf_full_example),
		cmocka_unit_test(jobconf_values_stay_strings),
		cmocka_unit_test(jobconf_lines_after_comments),
		cmocka_unit_test(jobconf_no_env_expansion),
		cmocka_unit_test(cfgparse_empty_environment),
		cmocka_unit_test(jobconf_include_refused),
		cmocka_unit_test(jobconf_unknown_keys),
		cmocka_unit_test(jobconf_duplicates),
		cmocka_unit_test(jobconf_wrong_types),
		cmocka_unit_test(jobconf_paths),
		cmocka_unit_test(jobconf_env),
		cmocka_unit_test(jobconf_nul_bytes),
		cmocka_unit_test(jobconf_control_characters),
		cmocka_unit_test(jobconf_utf8),
		cmocka_unit_test(jobconf_huge_and_deep),
		cmocka_unit_test(jobconf_unterminated),
		cmocka_unit_test(jobconf_empty),
		cmocka_unit_test(jobconf_after_failure),
		cmocka_unit_test(jobconf_examples_parse),
		cmocka_unit_test(limit_units),
		cmocka_unit_test(conf_example_is_builtin),
		cmocka_unit_test(conf_builtin_values),
		cmocka_unit_test(conf_load_missing),
		cmocka_unit_test(conf_load_strict_modes),
		cmocka_unit_test(conf_errors),
		cmocka_unit_test(conf_fetch),
		cmocka_unit_test(conf_isolate),
		cmocka_unit_test(conf_profiles_inherit),
		cmocka_unit_test(apply_profile_defaults),
		cmocka_unit_test(apply_merge_order),
		cmocka_unit_test(apply_above_maximum),
		cmocka_unit_test(apply_bad_values),
		cmocka_unit_test(apply_unlimited_and_atomic),
		cmocka_unit_test(apply_conf_settings),
		cmocka_unit_test(apply_job_profiles),
		cmocka_unit_test(host_limit_check),
		cmocka_unit_test(apply_host_caps),
		cmocka_unit_test(apply_memory_unpack),
		cmocka_unit_test(apply_job_conf_named),
	};

	return cmocka_run_group_tests_name("conf", tests, use_generous, NULL);
}
