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

/* Run it to the end. Returns 0 with *report set to the helper's JSON report (caller frees),
 * or -errno with err set when the helper could not be run or said nothing. The report itself
 * says whether the archive was accepted. */
int jr_stage_run(const struct jr_stage *st, char **report, struct jr_err *err);

#endif
