/* scratch.h - a per-job directory on a real disk (where I/O limits apply), bound at /scratch
 * and removed after the job. */
#ifndef JR_SCRATCH_H
#define JR_SCRATCH_H

#include "err.h"

#include <stddef.h>
#include <sys/types.h>

/* Create jobrun-<id>-<slot> (name, nsz >= 128) in the directory open at base_fd (the
 * caller's --scratch, resolved by callerpath.h's rule), mode 0700, owned by uid:gid; a dead
 * jobrun's leftover of that name is removed first. Returns an O_PATH descriptor of it, or
 * -errno with err set. */
int jr_scratch_create(int base_fd, const char *id, unsigned slot, uid_t uid, gid_t gid,
		      char *name, size_t nsz, struct jr_err *err);

/* Remove base_fd/name and its tree without following any symlink the job left there
 * (openat/unlinkat on directory fds, O_NOFOLLOW). */
int jr_scratch_remove(int base_fd, const char *name, struct jr_err *err);

#endif
