/* isolate.h - `jobrun isolate ...` (and jobrun started as `isolate`): isolate's command line
 * (--init, --run, --cleanup and their options) translated into a `jobrun run` job of the same
 * engine. Every option, what it maps to and what is refused: docs/isolate.md. */
#ifndef JR_ISOLATE_H
#define JR_ISOLATE_H

/* Where boxes live and which uids they run as: jobrun.conf's isolate { box_root first_uid
 * num_boxes } (struct jr_isolate_conf, conf.h; docs/isolate.md). */

/* argv[0] is the program's name ("isolate" or "jobrun isolate"); exit status as isolate's:
 * 0 the program ran and succeeded, 1 it failed (RE SG TO and jobrun's ML OL), 2 an error of
 * the sandbox or of the command line. */
int jr_cmd_isolate(int argc, char **argv);

#endif
