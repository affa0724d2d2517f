/* collect.h - copy a job's output files out of its workspace, once its PID 1 is dead. */
#ifndef JR_COLLECT_H
#define JR_COLLECT_H

#include "err.h"
#include "spec.h"

#include <stdbool.h>
#include <stdint.h>

struct jr_output {
	char *name;        /* as the job config lists it, relative to /job */
	uint64_t bytes;    /* copied and delivered (0 when error is set) */
	bool truncated;    /* cut short: the budget ran out before the file's end */
	char *error;       /* why it was not collected, or NULL */
};

struct jr_outputs {
	struct jr_output *v;
	size_t n;
};

/* The temp files jr_collect writes before renaming them into place: TMP_PREFIX + 16 random
 * hex digits + ".tmp", in the output's destination directory. None is left behind. */
#define JR_COLLECT_TMP_PREFIX ".jobrun-output-"

/* Copy each name from the workspace (ws_fd: a directory fd of its root) to the same relative
 * path beneath dest_fd (an open directory fd: the caller resolves --output-dir safely;
 * nothing here opens a path string from the root directory).
 *
 * The job controls the workspace, and perhaps the destination directory too (it could have
 * planted symlinks, FIFOs or hardlinks there in an earlier run). So every path is resolved one
 * component at a time with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV):
 * - a source is opened O_NOFOLLOW | O_NONBLOCK and must be a regular file (a symlink to
 *   /etc/shadow or a FIFO is refused, not followed or blocked on);
 * - parent directories are made with mkdirat, mode 0755; an existing one that is
 *   a symlink, not a directory, or a mount point is refused, not followed;
 * - the data goes to a new temp file in the destination directory (O_CREAT | O_EXCL |
 *   O_NOFOLLOW, an unpredictable name from getrandom), made 0644, then renamed into place.
 *   An entry already at the destination (fstatat AT_SYMLINK_NOFOLLOW, before the copy and
 *   again before the rename) must be a regular file owned by jobrun's own uid (geteuid(): root
 *   in production), else the output is refused ("destination exists and is a FIFO: not
 *   replaced") and the temp file removed. Nothing is ever written through an existing entry.
 *
 * budget: one cap on the bytes written for all outputs together (the job's output limit),
 * counted as logical bytes copied (a sparse file costs its length; each hardlink its own
 * copy; bytes written for an output that is then removed stay counted). An output cut short
 * gets truncated = true; once the budget is spent, a later non-empty output gets 0 bytes and
 * truncated = true (an empty file, delivered).
 *
 * deadline_ms: a bound on the wall-clock time of the whole collection, in milliseconds from
 * the call (CLOCK_MONOTONIC), checked before each output and between chunks of 64 KiB. An
 * output not done by then gets error "output collection took too long (N ms)" (N:
 * deadline_ms) and is not renamed into place (its temp file is removed); 0: every output gets
 * it; UINT64_MAX: no bound.
 *
 * out->v gets one jr_output per name (in order; free with jr_outputs_free, on error too).
 * Problems of the job's making (missing, not a regular file, a symlink on the way, a bad name,
 * something planted at the destination, too slow) only set that output's error: returns 0.
 * A failure on jobrun's side (writing, creating or renaming at the destination: ENOSPC, EIO,
 * EDQUOT...; dest_fd not a directory; out of memory) sets that output's error and err, marks
 * the outputs after it "not collected: ..." and returns -errno (verdict XX for the caller). */
int jr_collect(int ws_fd, const struct jr_strv *names, int dest_fd, uint64_t budget,
	       uint64_t deadline_ms, struct jr_outputs *out, struct jr_err *err);

void jr_outputs_free(struct jr_outputs *out);

#endif
