/* plan.h - the sandbox as data: a flat list of steps built (and allocated) in the parent,
 * executed by the clone child without allocating (child.c). A failing step is reported by its
 * index, so jobrun can name exactly what failed ("bind /usr -> /usr: ENOENT"). */
#ifndef JR_PLAN_H
#define JR_PLAN_H

#include "err.h"
#include "spec.h"

#include <stddef.h>
#include <sys/types.h>

enum jr_step_kind {
	JR_STEP_PRIVATE,   /* make the whole mount tree private (MS_REC|MS_PRIVATE) */
	JR_STEP_HOSTNAME,  /* sethostname(src) */
	JR_STEP_LOOPBACK,  /* bring lo up */
	JR_STEP_TMPFS,     /* mount a tmpfs at dst with options data, mount flags */
	JR_STEP_PROC,      /* mount procfs at dst with options data */
	JR_STEP_MKDIR,     /* mkdir dst mode, chown uid:gid */
	JR_STEP_FILE,      /* create dst (mode) holding len bytes of src */
	JR_STEP_SYMLINK,   /* symlink dst -> src */
	JR_STEP_MKNOD,     /* character device dst (mode), number rdev */
	JR_STEP_BIND,      /* bind src at dst (recursive if rec), mount attributes attr */
	JR_STEP_PIVOT,     /* pivot_root into dst, detach the old root */
	JR_STEP_SETATTR,   /* set mount attributes attr on the mount at dst (not recursive) */
};

struct jr_step {
	enum jr_step_kind kind;
	const char *src;
	const char *dst;
	const char *data;
	size_t len;
	unsigned long flags;
	unsigned long long attr;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int rec;
	dev_t rdev;        /* JR_STEP_MKNOD */
	int src_fd;        /* JR_STEP_BIND: bind from this O_PATH descriptor (not src), or -1 */
	int detached;      /* ... which jr_plan_detach made a detached mount tree */
};

struct jr_plan {
	struct jr_step *steps;
	size_t n, cap;
	struct jr_strv strings; /* owns every string the steps point to */
	int *fds;               /* owns the bind sources' descriptors */
	size_t nfds;
};

/* Identity of the job inside the sandbox. */
struct jr_ids {
	uid_t uid;
	gid_t gid;
	const char *scratch_dir; /* host directory bound at /scratch, or NULL (for messages) */
	/* Descriptors (O_PATH) the binds are made from; only one above 2 counts (0-2 are stdio,
	 * never ours), else the path string is bound (the unit tests, without root). */
	int scratch_fd;          /* of scratch_dir */
	int workdir_fd;          /* of spec->workdir, the caller's --dir bound at /job */
	const int *bind_fds;     /* of spec->binds (NULL: bind the path strings) */
	const char *storage;     /* a mounted workspace holding job/, tmp/, shm/ (a tarball
				  * job's): used instead of a new tmpfs; or NULL */
};

/* Build the plan for spec: root and scratch are empty host directories to mount on (inside the
 * child's private mount namespace only). Host paths are resolved here, once, into descriptors
 * (callerpath.h: a job's symlink is never followed), so the plan mirrors symlinks like
 * /bin -> usr/bin, binds from descriptors, and skips default binds that do not exist. */
int jr_plan_build(struct jr_plan *plan, const struct jr_spec *spec, const struct jr_ids *ids,
		  const char *root, const char *scratch, struct jr_err *err);

/* Before the clone: turn every bind from a descriptor into a detached copy of its mount tree
 * (open_tree OPEN_TREE_CLONE, root only), which the child moves into place. */
int jr_plan_detach(struct jr_plan *plan, struct jr_err *err);

/* The place under the job's root that jobrun makes itself and that host path would cover or
 * be hidden by (/, /etc and its generated files, /tmp, /job, /dev, /proc, /scratch when the
 * job has one), or NULL. */
const char *jr_plan_own_path(const char *host, int with_scratch);

/* Describe step i for messages: "bind /usr at /usr". */
void jr_plan_describe(const struct jr_plan *plan, size_t i, char *buf, size_t len);

void jr_plan_free(struct jr_plan *plan);

#endif
