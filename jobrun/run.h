/* run.h - `jobrun run`: one job in the foreground, on a loop of its own. */
#ifndef JR_RUN_H
#define JR_RUN_H

#include "err.h"
#include "jobreq.h"
#include "spec.h"

#include <stdbool.h>

/* Parse `run` options into spec (initialised with defaults by the caller). Returns 0, or
 * -EINVAL with a message naming the option and the bad value. Pure: no side effects beyond
 * spec (used by the unit tests). environ supplies values for `--env NAME`. */
int jr_run_parse(int argc, char **argv, struct jr_spec *spec, char **environ_,
		 struct jr_err *err);

/* What the command line says beyond struct jr_spec: the jobrun.conf to read, and its profile
 * and limit options as a job request (file "command line"), merged like a job config within
 * the profile's maxima. */
struct jr_run_cli {
	char *config;
	struct jr_jobreq req;      /* the profile, the limits, the command, --env NAME=VALUE */
	/* the host options, which win over jobrun.conf's (applied after the merge) */
	char *hostname, *runtime_dir, *cgroup_parent;
	char *stdin_path;          /* --stdin: a host file (a job config's stdin is inside /job) */
	bool uid_range;
	uid_t uid_base;
	unsigned uid_count;
	struct jr_strv ro_binds;
};

/* jr_run_parse, also recording cli (may be NULL). A command after the options replaces
 * spec->argv; an archive name (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .tar.zst, .zip, or -
 * for stdin) first, before any "--", is the job's archive. */
int jr_run_parse_cli(int argc, char **argv, struct jr_spec *spec, struct jr_run_cli *cli,
		     char **environ_, struct jr_err *err);
void jr_run_cli_free(struct jr_run_cli *cli);

/* Everything a caller knows to turn a job request into the job's spec: its options (argv, as
 * `run` takes them), jobrun.conf and what the options asked for. The admission lives as long as
 * its job: a tarball's job config is admitted later, when jobrun-unpack has read it. */
struct jr_conf;
struct jr_admit;
struct jr_host;
struct jr_admission {
	int argc;
	char **argv;
	char **environ_;            /* for --env NAME (NULL: none) */
	const struct jr_conf *conf;
	struct jr_run_cli cli;
	bool placeholder;   /* spec->argv holds a stand-in until the job config names one */
	bool admitted;      /* admit_cb ran once already */
};

/* Admit what is known before the job starts (argv parsed into spec and cli already, conf set):
 * fills admit. -EINVAL with err set: the request is refused. */
int jr_admission_start(struct jr_admission *ad, struct jr_spec *spec, struct jr_admit *admit,
		       struct jr_err *err);
void jr_admission_free(struct jr_admission *ad);

/* What jobrun learns about its host once: its own oom_score_adj lowered, the cgroups. */
void jr_host_init(struct jr_host *host);

int jr_cmd_run(int argc, char **argv);

/* `jobrun run` for another front (the isolate front, isolate.c): argv holds run's options and
 * command, parsed by jr_run_parse_cli; then tweak (if set) adjusts the admitted spec (what
 * run's options cannot say), and the job runs through the same path as `jobrun run`. The
 * result is not written: *json gets it (caller frees; NULL when no job ran) and *verdict its
 * verdict. Returns run's exit status (0, 1, 2); messages on stderr start with prog. */
struct jr_run_hooks {
	const char *prog;
	int (*tweak)(struct jr_spec *spec, void *arg, struct jr_err *err);
	void *arg;
	const struct jr_conf *conf; /* jobrun.conf as the caller read it (not read again); or NULL */
	char *json;
	int verdict;       /* enum jr_verdict, -1 when no job ran */
	char error[JR_ERR_MAX]; /* why no job ran (not printed: the front says it) */
};
int jr_run_main(int argc, char **argv, struct jr_run_hooks *hooks);

#endif
