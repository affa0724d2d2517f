/* proto.c - names of set-up stages, for messages. Linked into jobrun and jobrun-init. */
#include "proto.h"

const char *jr_stage_name(enum jr_stage stage)
{
	switch (stage) {
	case JR_STAGE_NONE: return "none";
	case JR_STAGE_SIGNALS: return "reset signals";
	case JR_STAGE_PDEATHSIG: return "set parent-death signal";
	case JR_STAGE_CGROUP_ATTACH: return "enter the job's cgroup (v1)";
	case JR_STAGE_CGROUP_NS: return "new cgroup namespace";
	case JR_STAGE_PLAN: return "build the sandbox";
	case JR_STAGE_STDIO: return "set up stdin/stdout/stderr";
	case JR_STAGE_FDS: return "set up init's file descriptors";
	case JR_STAGE_EXEC_INIT: return "execute jobrun-init";
	case JR_STAGE_INIT_ARGS: return "jobrun-init arguments";
	case JR_STAGE_INIT_SECCOMP_READ: return "read the seccomp program";
	case JR_STAGE_INIT_FORK: return "fork the command";
	case JR_STAGE_INIT_DROP: return "drop jobrun-init's privileges";
	case JR_STAGE_CMD_SETSID: return "new session";
	case JR_STAGE_CMD_RLIMIT: return "set resource limits";
	case JR_STAGE_CMD_OOM_ADJ: return "set oom_score_adj";
	case JR_STAGE_CMD_CHDIR: return "enter the working directory";
	case JR_STAGE_CMD_CAPS: return "drop capabilities";
	case JR_STAGE_CMD_SETGID: return "set the job's gid";
	case JR_STAGE_CMD_SETUID: return "set the job's uid";
	case JR_STAGE_CMD_NO_NEW_PRIVS: return "set no_new_privs";
	case JR_STAGE_CMD_SECCOMP: return "load the seccomp filter";
	}
	return "unknown stage";
}
