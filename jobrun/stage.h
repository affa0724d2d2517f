/* stage.h - run the unpack helper for a job: as the job's uid, inside the job's cgroup (the
 * unpacked pages are the job's), with an empty environment, no capabilities, no_new_privs and
 * the job's seccomp filter. Untrusted input (the archive, the job config) is never parsed by
 * root. */
#ifndef JR_STAGE_H
#define JR_STAGE_H

#include "cgroup.h"
#include "err.h"

#include <stdint.h>
#include <sys/types.h>

struct jr_stage {
	int helper_fd;        /* jobrun-unpack, opened by jr_helper_open */
	int archive_fd;       /* fd 0 of the helper; -1: no archive */
	int ws_fd;            /* fd 3: the workspace's root directory */
	int conf_fd;          /* fd 5: a job config given on the command line, or -1 */
	int seccomp_fd;       /* the BPF program (seccomp.c) */
	uid_t uid;
	gid_t gid;
	const struct jr_cgroup *cg;
	uint64_t max_entries, max_bytes, max_name;
};

/* Most a report may hold, and the time the helper gets (a helper that hangs, or is made to,
 * must not hold the job forever; the caller's loop enforces it). */
#define JR_STAGE_REPORT_MAX (1 << 20)
#define JR_STAGE_TIMEOUT_MS 120000

/* Start it: *pidfd (its exit), *report_fd (non-blocking: its JSON report, then EOF). The
 * caller waits for both on its loop, never blocking. */
int jr_stage_spawn(const struct jr_stage *st, int *pidfd, int *report_fd, struct jr_err *err);

/* jobrun-fetch (fetch-proto.h), started like the unpack helper (the job's cgroup and uid, no
 * capabilities, no_new_privs, an empty environment, its own pid namespace) but in the host's
 * network namespace and without a seccomp program. */
struct jr_fetch_spawn {
	int helper_fd;        /* jobrun-fetch, opened by jr_helper_open */
	int out_fd;           /* its fd 3: the body goes there */
	int ca_fd;            /* its fd 5, or -1 */
	uid_t uid;
	gid_t gid;
	const struct jr_cgroup *cg;
	char *const *argv;
};

int jr_stage_spawn_fetch(const struct jr_fetch_spawn *fs, int *pidfd, int *report_fd,
			 struct jr_err *err);

/* What an exit status of the set-up before a helper's exec means (unpack-proto.h: 120-124). */
const char *jr_stage_exit_reason(int code);

/* Once it has exited: 0 when it gave a report (which itself says whether the archive was
 * accepted), else -errno with err saying why it said nothing (its exit status or signal). */
int jr_stage_outcome(const char *report, int wstatus, struct jr_err *err);

#endif
