/* proto.h - what the sandboxed side tells jobrun over the status pipe.
 *
 * One pipe carries fixed-size records (smaller than PIPE_BUF, so each write is atomic) from the
 * clone child (setup failures), from jobrun-init (its own failures, the command's exec failure,
 * the command's wait status) to jobrun. jobrun reads them after PID 1 of the job has exited.
 * Shared by jobrun and jobrun-init, which are always built and installed together. */
#ifndef JR_PROTO_H
#define JR_PROTO_H

#include <stdint.h>

enum jr_msg_kind {
	JR_MSG_SETUP_FAILED = 1, /* the clone child failed: stage, step, err */
	JR_MSG_INIT_FAILED = 2,  /* jobrun-init or the command's set-up failed: stage, err */
	JR_MSG_EXEC_FAILED = 3,  /* execve of the command failed: err */
	JR_MSG_EXITED = 4,       /* the command ended: wstatus */
};

/* Where set-up stopped. Plan steps are reported as JR_STAGE_PLAN with their index in `step`. */
enum jr_stage {
	JR_STAGE_NONE = 0,
	JR_STAGE_SIGNALS,
	JR_STAGE_PDEATHSIG,
	JR_STAGE_CGROUP_ATTACH,
	JR_STAGE_CGROUP_NS,
	JR_STAGE_PLAN,
	JR_STAGE_STDIO,
	JR_STAGE_FDS,
	JR_STAGE_EXEC_INIT,
	/* stages of jobrun-init */
	JR_STAGE_INIT_ARGS,
	JR_STAGE_INIT_SECCOMP_READ,
	JR_STAGE_INIT_FORK,
	JR_STAGE_INIT_DROP,
	JR_STAGE_CMD_SETSID,
	JR_STAGE_CMD_RLIMIT,
	JR_STAGE_CMD_OOM_ADJ,
	JR_STAGE_CMD_CHDIR,
	JR_STAGE_CMD_CAPS,
	JR_STAGE_CMD_SETGID,
	JR_STAGE_CMD_SETUID,
	JR_STAGE_CMD_NO_NEW_PRIVS,
	JR_STAGE_CMD_SECCOMP,
};

struct jr_msg {
	int32_t kind;
	int32_t stage;
	int32_t step;
	int32_t err;     /* positive errno */
	int32_t wstatus; /* JR_MSG_EXITED */
	int32_t pad;
};

/* File descriptors jobrun-init receives (everything else is closed at exec). */
#define JR_INIT_STATUS_FD 3
#define JR_INIT_SECCOMP_FD 4

/* jobrun-init's argument vector, positional:
 *   jobrun-init UID GID INIT_UID INIT_GID NOFILE STACK FSIZE CPU OOM_ADJ CWD -- COMMAND...
 * Limits are decimal numbers, "inf" for unlimited, "-" for unchanged; OOM_ADJ is the command's
 * oom_score_adj ("-": unchanged). The environment of
 * jobrun-init is the command's environment. */
enum jr_init_arg {
	JR_IARG_UID = 1,
	JR_IARG_GID,
	JR_IARG_INIT_UID,
	JR_IARG_INIT_GID,
	JR_IARG_NOFILE,
	JR_IARG_STACK,
	JR_IARG_FSIZE,
	JR_IARG_CPU,
	JR_IARG_OOM_ADJ,
	JR_IARG_CWD,
	JR_IARG_SEP,
	JR_IARG_CMD,
};

const char *jr_stage_name(enum jr_stage stage);

#endif
