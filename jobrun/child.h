/* child.h - clone3 into new namespaces and run the plan; the child never allocates. */
#ifndef JR_CHILD_H
#define JR_CHILD_H

#include "err.h"
#include "plan.h"

#include <sys/types.h>

/* Everything the child needs, prepared by the parent. */
struct jr_launch {
	const struct jr_plan *plan;
	char *const *init_argv;  /* jobrun-init's arguments (proto.h) */
	char *const *init_envp;  /* the command's environment */
	int init_fd;             /* jobrun-init, opened by the parent (executed with execveat) */
	int status_fd;           /* write end of the status pipe */
	int seccomp_fd;          /* memfd with the BPF program */
	int stdin_fd, stdout_fd, stderr_fd;
	int cgroup_fd;           /* -1, or a cgroup v2 directory for CLONE_INTO_CGROUP */
	const int *v1_procs;     /* cgroup.procs of each v1 hierarchy: the child writes "0" */
	unsigned nv1;
};

/* Clone the job's PID 1 in new pid, net, uts, ipc, mount and cgroup namespaces (the cgroup
 * namespace is made by the child once it is in the job's cgroup, so that the job sees that
 * cgroup as its root on v1 and v2 alike). Returns its pid
 * and sets *pidfd, or returns -errno with err set. All signals are blocked around clone3. The
 * child reports a failure as a JR_MSG_SETUP_FAILED record on status_fd and exits 127. */
pid_t jr_child_spawn(const struct jr_launch *l, int *pidfd, struct jr_err *err);

#endif
