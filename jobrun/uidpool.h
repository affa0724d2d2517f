/* uidpool.h - a uid per running job, from a range that exists nowhere on the host.
 *
 * Leases are flock()s on files under <runtime_dir>/uids/, so they are shared by every jobrun
 * process on the host and released by the kernel when the holder dies. */
#ifndef JR_UIDPOOL_H
#define JR_UIDPOOL_H

#include "err.h"

#include <sys/types.h>

struct jr_uid_lease {
	int fd;          /* the held lock, -1 when none */
	unsigned slot;
	uid_t uid;       /* the job's uid (and gid) */
	uid_t init_uid;  /* jobrun-init's uid (and gid): uid + count */
};

int jr_uid_acquire(const char *runtime_dir, uid_t base, unsigned count,
		   struct jr_uid_lease *lease, struct jr_err *err);
void jr_uid_release(struct jr_uid_lease *lease);

/* The job of this lease left something behind (a cgroup that would not empty, named by
 * leftover): no job gets this uid again while leftover exists. */
void jr_uid_quarantine(const char *runtime_dir, const struct jr_uid_lease *lease,
		       const char *leftover);

#endif
