/* run.h - `jobrun run`: one job in the foreground, on a loop of its own. */
#ifndef JR_RUN_H
#define JR_RUN_H

#include "err.h"
#include "jobreq.h"
#include "spec.h"

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
	struct jr_jobreq req;
};

/* jr_run_parse, also recording cli (may be NULL). A command after the options replaces
 * spec->argv; an archive name (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .tar.zst, .zip, or -
 * for stdin) first, before any "--", is the job's archive. */
int jr_run_parse_cli(int argc, char **argv, struct jr_spec *spec, struct jr_run_cli *cli,
		     char **environ_, struct jr_err *err);
void jr_run_cli_free(struct jr_run_cli *cli);

int jr_cmd_run(int argc, char **argv);

#endif
