/* workspace.h - a host-side tmpfs per job for jobs that come as a tarball: owned by the job's
 * uid's job/ directory, sized by its disk limit, unpacked into before the job (by the unprivileged unpack
 * helper, inside the job's cgroup, so the pages are charged to the job), bound at /job, and
 * read for outputs after the job. Private to jobrun: nothing else on the host sees it. */
#ifndef JR_WORKSPACE_H
#define JR_WORKSPACE_H

#include "err.h"

#include <stdint.h>
#include <sys/types.h>

/* Mount <runtime_dir>/ws/<slot> (a leftover mount there is detached first), holding job/
 * (owned by uid:gid: the job's /job), tmp/ and shm/ (the job's /tmp and /dev/shm): the three
 * share the one size limit. Returns the path (caller frees) or NULL with err set. */
char *jr_ws_create(const char *runtime_dir, unsigned slot, uint64_t bytes, uid_t uid, gid_t gid,
		   struct jr_err *err);

/* Change the size limit (the job's config may lower it): -ENOSPC when the files already there
 * do not fit. */
int jr_ws_resize(const char *path, uint64_t bytes, struct jr_err *err);

/* Unmount and remove the mount point. */
int jr_ws_destroy(const char *path, struct jr_err *err);

#endif
