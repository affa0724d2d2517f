/* cgroup-internal.h - what cgroup.c shares with its two backends. */
#ifndef JR_CGROUP_INTERNAL_H
#define JR_CGROUP_INTERNAL_H

#include "cgroup.h"

#include <stdbool.h>
#include <stddef.h>

struct jr_cg_ops {
	/* Make parent (jobrun/ under a hierarchy) ready to hold job cgroups using controller c. */
	int (*prepare_parent)(const char *own, const char *parent, enum jr_ctrl c,
			      struct jr_err *err);
	/* Write the limits of controller c into the job's directory, where they differ from old
	 * (what the kernel holds: jr_cg_no_limits in a new cgroup), in an order the kernel
	 * accepts. A memory limit below what the cgroup uses: -EBUSY, nothing written. */
	int (*apply)(const char *dir, enum jr_ctrl c, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, struct jr_err *err);
	/* Add what controller c counts to u. */
	void (*read)(const char *dir, enum jr_ctrl c, struct jr_usage *u);
	int (*cpu_usec)(const char *dir, uint64_t *usec);
	/* Kill every process in dir; 1 when some were left to kill, 0 when empty, <0 error. */
	int (*kill)(const char *dir);
};

extern const struct jr_cg_ops jr_cg_v1_ops;
extern const struct jr_cg_ops jr_cg_v2_ops;
/* v2: forget the subtree_control contents read for the previous job. */
void jr_cg_v2_forget(void);

/* Small file helpers: dir/name. Return 0 or -errno. */
int jr_cg_write(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int jr_cg_read_text(const char *dir, const char *name, char *buf, size_t len);
/* Read a cgroupfs/procfs/sysfs file from offset 0 through an open fd (pread: the fd can be read
 * again); one system call when the file is short. */
int jr_cg_read_fd(int fd, char *buf, size_t len);
int jr_cg_read_u64(const char *dir, const char *name, uint64_t *v);
int jr_cg_exists(const char *dir, const char *name);
/* The backend of a hierarchy version, and its kill. */
const struct jr_cg_ops *jr_cg_ops_of(int version);
int jr_cg_ops_kill(const char *dir, int version);
/* pids.max: the same file in v1 and v2. */
int jr_cg_apply_pids(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, struct jr_err *err);

/* What a new cgroup holds: no limit anywhere. */
extern const struct jr_cg_limits jr_cg_no_limits;

/* Does lim ask controller c for anything? */
bool jr_cg_requested(enum jr_ctrl c, const struct jr_cg_limits *lim);

/* The memory limit, and memory + swap (v1 memsw), JR_UNLIMITED for none (swap counts only
 * with a memory limit; the sum saturates). */
uint64_t jr_cg_mem_max(const struct jr_cg_limits *lim);
uint64_t jr_cg_memsw_max(const struct jr_cg_limits *lim);

/* The value of key k for I/O device d in lim (0: none): the four limits apply to each of
 * lim's devices. k: 0 rbps, 1 wbps, 2 riops, 3 wiops. */
uint64_t jr_cg_io_value(const struct jr_cg_limits *lim, const struct jr_io_dev *d, int k);

/* A byte count for messages: "80.5 MiB". */
const char *jr_cg_mib(uint64_t bytes, char *buf, size_t len);

/* Does the host have swap (/proc/swaps lists an area)? */
bool jr_cg_host_has_swap(void);
/* Kill every pid listed in dir/cgroup.procs; 1 when the list was not empty. */
int jr_cg_kill_procs(const char *dir);

#endif
