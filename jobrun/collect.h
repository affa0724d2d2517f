/* collect.h - copy a job's output files out of its workspace, once its PID 1 is dead. */
#ifndef JR_COLLECT_H
#define JR_COLLECT_H

#include "err.h"
#include "spec.h"

#include <stdbool.h>
#include <stdint.h>

struct jr_output {
	char *name;        /* as the job config lists it, relative to /job */
	uint64_t bytes;    /* copied */
	bool truncated;    /* the file was larger than the cap */
	char *error;       /* why it was not collected, or NULL */
};

struct jr_outputs {
	struct jr_output *v;
	size_t n;
};

/* Copy each name from the workspace (ws: an fd of its root directory) into dest_dir (created
 * if missing), keeping the relative path. The job controls the workspace: every name is opened
 * beneath ws with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV) and O_NOFOLLOW | O_NONBLOCK, regular files only (a symlink to /etc/shadow or
 * a FIFO is refused, not followed or blocked on), at most cap bytes each, written 0644. A file
 * that cannot be collected is recorded with its reason; only a failure on jobrun's side (the
 * destination) is an error. */
int jr_collect(int ws, const struct jr_strv *names, const char *dest_dir, uint64_t cap,
	       struct jr_outputs *out, struct jr_err *err);

void jr_outputs_free(struct jr_outputs *out);

#endif
