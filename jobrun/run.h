/* run.h - `jobrun run`: one job in the foreground, on a loop of its own. */
#ifndef JR_RUN_H
#define JR_RUN_H

#include "err.h"
#include "spec.h"

/* Parse `run` options into spec (initialised with defaults by the caller). Returns 0, or
 * -EINVAL with a message naming the option and the bad value. Pure: no side effects beyond
 * spec (used by the unit tests). environ supplies values for `--env NAME`. */
int jr_run_parse(int argc, char **argv, struct jr_spec *spec, char **environ_,
		 struct jr_err *err);

int jr_cmd_run(int argc, char **argv);

#endif
