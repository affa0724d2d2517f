/* scratch.h - a per-job directory on a real disk (where I/O limits apply), bound at /scratch
 * and removed after the job. */
#ifndef JR_SCRATCH_H
#define JR_SCRATCH_H

#include "err.h"

#include <sys/types.h>

/* Create <base>/jobrun-<id>-<slot>, mode 0700, owned by uid:gid. Returns the path (caller
 * frees) or NULL with err set. */
char *jr_scratch_create(const char *base, const char *id, unsigned slot, uid_t uid, gid_t gid,
			struct jr_err *err);

/* Remove the tree without following any symlink the job left there (openat/unlinkat on
 * directory fds, O_NOFOLLOW). */
int jr_scratch_remove(const char *path, struct jr_err *err);

#endif
