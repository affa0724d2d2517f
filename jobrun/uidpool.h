/* uidpool.h - a uid per running job, from a range that exists nowhere on the host.
 *
 * Leases are flock()s on files under <runtime_dir>/uids/, so they are shared by every jobrun
 * process on the host and released by the kernel when the holder dies. While it is held, the
 * lease file records what the job owns on the host (sweep.h: its cgroups, its workspace
 * mount, its scratch directory), so that what a killed jobrun left can be found and removed:
 * a lease file that can be flocked but is not empty belongs to a jobrun that died. */
#ifndef JR_UIDPOOL_H
#define JR_UIDPOOL_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct jr_uid_lease {
	int fd;          /* the held lock, -1 when none */
	unsigned slot;
	uid_t uid;       /* the job's uid (and gid) */
	uid_t init_uid;  /* jobrun-init's uid (and gid): uid + count */
	/* the record (sweep.h), "kind value\n" lines; rec_written bytes of it are in the file */
	char *rec;
	size_t rec_len, rec_cap, rec_written;
	bool keep_rec;   /* quarantined: the record stays for a later sweep */
};

/* Lease a free slot. A free slot whose file still holds a record (its jobrun died) is swept
 * first (sweep.h; logged); one whose leftovers cannot be removed is quarantined and skipped.
 * Costs one fstat a slot when there is nothing to sweep. The record then starts with "pid"
 * and "uid" (in memory: jr_uid_lease_flush writes it). */
int jr_uid_acquire(const char *runtime_dir, uid_t base, unsigned count,
		   struct jr_uid_lease *lease, struct jr_err *err);
/* The same for one slot only (the isolate front: a box's uid): EBUSY when it is held. */
int jr_uid_acquire_slot(const char *runtime_dir, uid_t base, unsigned count, unsigned slot,
			struct jr_uid_lease *lease, struct jr_err *err);
/* Empty the record (unless quarantined) and drop the lock. */
void jr_uid_release(struct jr_uid_lease *lease);

/* Add "kind value" to the record, in memory (a value NULL: nothing; one with a newline is
 * refused, -EINVAL). jr_uid_lease_flush writes what was added since the last flush: one
 * pwrite (no fsync: the runtime dir is a tmpfs, and a reboot clears what a job owned). */
int jr_uid_lease_note(struct jr_uid_lease *lease, const char *kind, const char *value);
int jr_uid_lease_flush(struct jr_uid_lease *lease);

/* The job of this lease left something behind (a cgroup that would not empty, named by
 * leftover): no job gets this uid again while leftover exists, and the lease keeps its
 * record (a later sweep tries again). */
void jr_uid_quarantine(const char *runtime_dir, struct jr_uid_lease *lease,
		       const char *leftover);

/* The same for a slot by number (the sweep: something it could not remove). */
void jr_uid_quarantine_slot(const char *runtime_dir, unsigned slot, const char *leftover);

/* Is the slot quarantined (dirfd: <runtime_dir>/uids)? A marker whose leftover is gone is
 * removed: 0 then. */
int jr_uid_quarantined(int dirfd, unsigned slot);

#endif
