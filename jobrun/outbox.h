/* outbox.h - results waiting to be POSTed to a report target of jobrun.conf.
 *
 * A job whose report target is set (--report NAME, report = "NAME" in its job config, or
 * `jobrun submit --report NAME`) has its result written to STATE_DIR/outbox/ once its result
 * file is written, and before any attempt to send it:
 *   STATE_DIR/outbox/TARGET@SECONDS.NANOSECONDS-PID-N.json   (mode 0600, fsynced, renamed)
 * holding the result exactly as it is POSTed. jobrun-report (report.c: libcurl's multi
 * interface on a libuv loop, the only program that links libcurl) delivers it and removes it
 * only after a 2xx answer; after the target's give_up it moves to STATE_DIR/dead-letter/ with a
 * NAME.why beside it. One reporter delivers at a time: it holds STATE_DIR/outbox/.lock.
 * `jobrun serve` keeps one running; `jobrun run` starts one (--drain: it exits when the outbox
 * is empty) when none holds the lock. Nothing here waits for the network: a job's result never
 * waits for its report. */
#ifndef JR_OUTBOX_H
#define JR_OUTBOX_H

#include "err.h"

#include <stdbool.h>

#define JR_OUTBOX_DIR  "outbox"
#define JR_DEADLETTER_DIR "dead-letter"
#define JR_OUTBOX_LOCK ".lock"

/* Write json (a result) to STATE_DIR/outbox for target: durable when it returns 0. -errno with
 * err set otherwise. */
int jr_outbox_put(const char *state_dir, const char *target, const char *json,
		  struct jr_err *err);

/* Does a reporter hold STATE_DIR/outbox/.lock now? */
bool jr_outbox_reporter_running(const char *state_dir);

/* Start `jobrun-report --drain --config CONFIG` detached (its own session, stdio on /dev/null,
 * its log appended to STATE_DIR/outbox/report.log) unless a reporter holds the lock. Waits only
 * for the intermediate fork. 0, or -errno with err set. */
int jr_outbox_kick(const char *state_dir, const char *config, struct jr_err *err);

#endif
