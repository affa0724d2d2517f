/* sweep.h - what a killed jobrun left on the host, found by its lease and removed.
 *
 * While a job holds its uid lease (uidpool.h), the lease file <runtime_dir>/uids/<slot>
 * records what the job owns on the host, one "kind value" line each:
 *   pid <jobrun's pid>
 *   uid <the job's uid>
 *   job <the job's id>
 *   scratch <the caller's --scratch>/jobrun-<id>-<slot>   (its uid has a user quota there)
 *   cgroup <inode> <directory>      one a hierarchy: <mount>/.../jobrun/job-<uid>
 *   ws <runtime_dir>/ws/<slot>      a tarball job's workspace mount
 * It is written while the flock is held (one pwrite after the cgroups are made, one more
 * before a workspace is mounted) and emptied when the lease is released. The kernel drops the
 * flock of a jobrun that dies: a lease file that can be flocked and is not empty names what a
 * dead jobrun's job left. jr_sweep_slot removes it, touching only what the record names and
 * only when it is still what the record says:
 *   - a cgroup: an absolute path ending in /jobrun/job-<the recorded uid>, a directory on a
 *     cgroup or cgroup2 file system with the recorded inode (a later job of another runtime
 *     dir may have made a new cgroup of that name: never touched). Its processes are killed
 *     (v2 cgroup.kill, v1 SIGKILL of cgroup.procs until empty; at most JR_SWEEP_KILL_MS),
 *     then it is removed (and jobrun/ above it when empty);
 *   - the workspace: <runtime_dir>/ws/<slot> of the runtime dir swept (the record must name a
 *     path ending in /ws/<slot>), unmounted (MNT_DETACH) and removed;
 *   - the scratch directory: absolute, named jobrun-...-<slot>, reached by the caller-path
 *     rule (callerpath.h), removed without following symlinks, and the uid's quota cleared.
 * Lines it does not understand, or that fail these checks, are reported and left alone.
 * When everything named is gone the record is emptied (and the slot's quarantine marker
 * removed if its leftover is gone too); else the slot is quarantined (uidpool.h), naming what
 * is left, and the record kept for another try.
 *
 * Who sweeps: jr_uid_acquire, for a free slot it is about to take (so the next job there
 * cleans up, at the cost of one fstat when there is nothing to clean); `jobrun check --clean`
 * and `jobrun serve` at start-up, for every slot (jr_sweep_all), skipping the held ones. */
#ifndef JR_SWEEP_H
#define JR_SWEEP_H

#include "cgroup.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How long a recorded cgroup may take to empty once killed. */
#define JR_SWEEP_KILL_MS 2000
/* The most of a lease file that is read. */
#define JR_SWEEP_REC_MAX 65536
#define JR_SWEEP_JOB_MAX 64

/* What one slot's sweep found and did. */
struct jr_sweep_report {
	unsigned slot;
	long pid;              /* the jobrun that held the lease; 0: not recorded */
	uid_t uid;
	bool have_uid;
	char job[JR_SWEEP_JOB_MAX + 1]; /* the job's id; "": not recorded */
	unsigned killed;       /* processes killed */
	unsigned removed;      /* cgroups, mounts, directories and quotas removed */
	bool complete;         /* nothing the record names is left: the record is emptied */
	char **lines;          /* what was done or left, one line each ("removed cgroup X") */
	size_t nlines;
};

void jr_sweep_report_init(struct jr_sweep_report *r, unsigned slot);
void jr_sweep_report_free(struct jr_sweep_report *r);
/* Log the report (warnings: something abnormal happened): one line each. */
void jr_sweep_log(const struct jr_sweep_report *r);

/* Sweep one slot whose lease file is open at fd, flocked by the caller (dirfd:
 * <runtime_dir>/uids). 0 when nothing the record names is left (the file is emptied then),
 * -EBUSY when something is (the slot is quarantined), another -errno when the record could not
 * be read. */
int jr_sweep_slot(const char *runtime_dir, int dirfd, unsigned slot, int fd,
		  struct jr_sweep_report *r);

/* Sweep every slot of runtime_dir whose lease is free and whose record is not empty; found()
 * gets each report. A held lease (a live job) is never opened for more than a look at its
 * size and a failed flock. Returns how many records were swept (0: nothing was left behind;
 * a missing runtime dir has none), or -errno with err set when the uids directory cannot be
 * read. */
int jr_sweep_all(const char *runtime_dir,
		 void (*found)(void *data, const struct jr_sweep_report *r), void *data,
		 struct jr_err *err);

/* Record the job's cgroup directories ("cgroup <inode> <dir>", each distinct directory once)
 * in the lease, then write the record (jr_uid_lease_flush). */
struct jr_uid_lease;
void jr_sweep_note_cgroup(struct jr_uid_lease *lease, const struct jr_cgroup *cg);
/* Record the job's scratch directory (open at scratch_fd) by its absolute path, in memory. */
void jr_sweep_note_scratch(struct jr_uid_lease *lease, int scratch_fd);

/* ---- the record, parsed and checked (pure; for the unit tests too) ---- */
struct jr_lease_rec {
	long pid;
	uid_t uid;
	bool have_uid;
	char job[JR_SWEEP_JOB_MAX + 1];
	unsigned ncg;
	char *cg[JR_CG_N];
	unsigned long long cg_ino[JR_CG_N];
	char *ws;
	char *scratch;
	unsigned bad;          /* lines ignored: not understood, or failing the checks */
	char why[256];         /* the first of them: "line 3: ..." */
};

/* Parse text (len bytes) of slot's lease file. Each line that is not understood or fails
 * the checks below is counted in rec->bad (the first one explained in rec->why) and left
 * out; an incomplete last line too. Returns 0, or -ENOMEM. Free with jr_lease_rec_free. */
int jr_lease_rec_parse(const char *text, size_t len, unsigned slot, struct jr_lease_rec *rec);
void jr_lease_rec_free(struct jr_lease_rec *rec);

/* The shapes of recorded paths: absolute, no empty, "." or ".." component, no trailing
 * slash, and
 *   cgroup:  ending in /jobrun/job-<uid>, below something;
 *   ws:      ending in /ws/<slot>, below something;
 *   scratch: a last component jobrun-<something>-<slot>. */
bool jr_sweep_path_clean(const char *path);
bool jr_sweep_cgroup_path_ok(const char *path, uid_t uid);
bool jr_sweep_ws_path_ok(const char *path, unsigned slot);
bool jr_sweep_scratch_path_ok(const char *path, unsigned slot);

#endif
