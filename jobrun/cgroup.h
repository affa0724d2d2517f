/* cgroup.h - one interface to cgroups; a v1 and a v2 backend behind it, chosen per controller
 * at start-up from /proc/self/mountinfo (a cgroup2 mount that holds none of the controllers
 * jobrun needs must not make it choose v2: hybrid hosts exist).
 *
 * Layout: every job gets a fresh cgroup, never reused, nested under jobrun's own cgroup (or a
 * configured parent) so that jobrun stays inside what a scheduler or systemd gave it:
 *   v1: <own cgroup of each hierarchy>/jobrun/job-<uid>
 *   v2: <own>/jobrun/job-<uid>, controllers enabled in <own>/jobrun's subtree_control. */
#ifndef JR_CGROUP_H
#define JR_CGROUP_H

#include "acct.h"
#include "err.h"

#include <stdbool.h>
#include <stdint.h>

enum jr_ctrl {
	JR_CG_MEMORY,
	JR_CG_CPU,
	JR_CG_CPUACCT, /* v1 only: on v2, cpu.stat exists in every cgroup */
	JR_CG_PIDS,
	JR_CG_IO,      /* v1: blkio */
	JR_CG_CPUSET,
	JR_CG_N,
};

struct jr_cg_ctrl {
	int version;    /* 0: not available, 1, 2 */
	char *mount;    /* mount point of its hierarchy */
	char *own;      /* jobrun's own cgroup directory in that hierarchy */
};

struct jr_cg_host {
	struct jr_cg_ctrl ctrl[JR_CG_N];
	char *v2_mount;        /* the cgroup2 mount, if any */
	char *v2_own;          /* jobrun's cgroup in it */
	char *v2_mount_opts;   /* its super options (favordynmods?) */
	bool v1_favordynmods;  /* any v1 hierarchy mounted with favordynmods */
	bool v1_memsw;         /* v1 memory: swap is accounted (memory.memsw.* exist); set by
				* jr_cg_detect */
};

/* A device the I/O limits apply to (a whole disk). */
struct jr_io_dev {
	unsigned major, minor;
};

#define JR_IO_MAX_DEVS 16

struct jr_cg_limits {
	uint64_t memory;       /* bytes; 0 = none */
	uint64_t memory_unpack; /* a staged job: the memory limit jr_cg_create writes instead of
				 * memory, for unpacking (the most the job config may ask for;
				 * JR_UNLIMITED = none); jr_cg_update then writes memory.
				 * 0 = memory from the start */
	uint64_t swap;         /* bytes of swap on top of memory; JR_UNLIMITED = no limit */
	uint64_t cpus_milli;   /* bandwidth in thousandths of a CPU; 0 = none */
	uint64_t cpu_weight;   /* 1..10000; 0 = unchanged */
	char *cpuset;          /* "0-1,3"; NULL = unchanged */
	uint64_t pids;         /* 0 = none */
	uint64_t io_rbps, io_wbps, io_riops, io_wiops; /* 0 = none */
	struct jr_io_dev devs[JR_IO_MAX_DEVS];
	unsigned ndevs;
};

/* One job's cgroup: a directory per hierarchy it uses. */
struct jr_cgroup {
	char *dir[JR_CG_N];    /* NULL where the controller is not used */
	int v2_fd;             /* the v2 directory (CLONE_INTO_CGROUP), or -1 */
	int v1_procs[JR_CG_N]; /* cgroup.procs of each distinct v1 directory, or -1 */
	unsigned nv1;
	int version;           /* 1, 2, or 3 when mixed (for the result) */
	struct jr_cg_limits applied; /* what the kernel holds now (cpuset: the string below) */
	char *cpuset;          /* the cpuset written, or NULL */
};

/* Pure: parse mountinfo and /proc/self/cgroup text into h (ownership of strings in h). */
int jr_cg_parse(struct jr_cg_host *h, const char *mountinfo, const char *self_cgroup,
		struct jr_err *err);

/* Detect the host: read the two files, parse, then ask the v2 hierarchy which controllers it
 * really offers jobrun (cgroup.controllers of its own cgroup). */
int jr_cg_detect(struct jr_cg_host *h, struct jr_err *err);
void jr_cg_host_free(struct jr_cg_host *h);
const char *jr_cg_ctrl_name(enum jr_ctrl c);

/* Create the job's cgroup "job-<uid>" (the job's leased uid) under each hierarchy's jobrun/ directory (a leftover of
 * the same name, from a jobrun that died, is emptied and removed first), write the limits, and
 * open what the child needs to enter it. A limit that cannot be enforced is an error. */
int jr_cg_create(struct jr_cgroup *cg, const struct jr_cg_host *h, const char *parent,
		 unsigned slot, const struct jr_cg_limits *lim, struct jr_err *err);

/* Write lim into the cgroup made by jr_cg_create, once its job config is known (nothing runs
 * in it): only what differs from what the kernel holds, raising or lowering, to no limit too,
 * in the order the kernel accepts (v1: memory.memsw.limit_in_bytes never below
 * memory.limit_in_bytes, so memsw first when memory rises, memory first when it falls).
 * The job's doing, -EINVAL with err->code 0 (verdict RJ): a memory limit below what the
 * cgroup already uses ("the unpacked files use 80.5 MiB of memory, 16.5 MiB above the job's
 * memory limit of 64M"), a limit whose controller jobrun does not have here, a cpuset or CPU
 * bandwidth jobrun's own cgroup does not allow. Other errors: -errno (XX). */
int jr_cg_update(struct jr_cgroup *cg, const struct jr_cg_host *h,
		 const struct jr_cg_limits *lim, struct jr_err *err);

/* After a process of the cgroup (the unpack helper) was SIGKILLed: was it the OOM killer,
 * for the cgroup's own memory limit? Then -EINVAL with err->code 0 (the job's doing, RJ):
 * "the unpacked files do not fit in the job's memory limit while unpacking (256M): the
 * kernel OOM-killed jobrun-unpack at 255.9 MiB"; else 0. */
int jr_cg_unpack_oom(const struct jr_cgroup *cg, const struct jr_cg_host *h, struct jr_err *err);

/* Read the counters (after the job is dead and the cgroup is empty). A counter the kernel
 * does not keep in this configuration stays absent (null in the result): v1 memory.failcnt
 * when a memory.memsw limit is set (the memsw counter fails the charge first, and 6.x keeps
 * no memsw.failcnt), v1 blkio throttle statistics unless the job had I/O limits (the kernel
 * counts them only where throttling is at work: 6.1 in cgroups with a rule of their own,
 * later kernels on disks where some cgroup has one; elsewhere they read 0, measured). */
void jr_cg_read(const struct jr_cgroup *cg, const struct jr_cg_host *h, struct jr_usage *u);

/* CPU time used so far, in microseconds (exact total). */
int jr_cg_cpu_usec(const struct jr_cgroup *cg, const struct jr_cg_host *h, uint64_t *usec);

/* Kill what is left in the cgroup: -1 when every directory is empty, else the index of a
 * controller whose directory still holds processes (a caller that waits on its loop calls it
 * again later; jr_cg_busy_error makes the message when it gives up). */
int jr_cg_kill_once(const struct jr_cgroup *cg, const struct jr_cg_host *h);
int jr_cg_busy_error(const struct jr_cgroup *cg, int left, int waited_ms, struct jr_err *err);

/* Kill everything in the cgroup and wait (sleeping) until it is empty, at most timeout_ms: for
 * callers without a loop. Returns 0 when empty, -EBUSY (with the pids left in err) otherwise. */
int jr_cg_kill_wait(const struct jr_cgroup *cg, const struct jr_cg_host *h, int timeout_ms,
		    struct jr_err *err);

/* A resident supervisor (serve) keeps jobrun/ in each hierarchy between jobs: its teardown runs
 * in another thread while the next job's cgroup is made there. Set once, before any job. */
void jr_cg_keep_parents(bool keep);

/* Remove the directories (only once empty; the workspace is already unmounted). */
int jr_cg_destroy(struct jr_cgroup *cg, struct jr_err *err);

/* The whole disk under path (io limits refuse partitions); -ENODEV when not a block device. */
int jr_cg_io_dev_of(const char *path, struct jr_io_dev *dev);

/* Close fds and free paths without removing anything. */
void jr_cg_release(struct jr_cgroup *cg);

#endif
