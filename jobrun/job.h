/* job.h - one job's life on a libuv loop: prepare, launch, watch, finish (one path). */
#ifndef JR_JOB_H
#define JR_JOB_H

#include "cgroup.h"
#include "err.h"
#include "plan.h"
#include "pump.h"
#include "result.h"
#include "spec.h"
#include "uidpool.h"

#include <stdbool.h>
#include <uv.h>

/* What jobrun learned about its host once, at start-up, shared by all its jobs. */
struct jr_host {
	struct jr_cg_host cg;
	/* oom_score_adj of the job's command: higher than jobrun-init's (which keeps jobrun's),
	 * so that an OOM in the job's cgroup kills the job's processes, not its PID 1 */
	char job_oom_adj[16];
};

struct jr_job;
typedef void (*jr_job_done_cb)(struct jr_job *job);

enum jr_job_state {
	JR_JOB_NEW,
	JR_JOB_RUNNING,   /* PID 1 alive */
	JR_JOB_DRAINING,  /* PID 1 gone, output pipes still open */
	JR_JOB_CLOSING,   /* handles closing */
	JR_JOB_DONE,
};

struct jr_job {
	uv_loop_t *loop;
	const struct jr_spec *spec;
	enum jr_job_state state;
	struct jr_uid_lease lease;
	struct jr_plan plan;
	struct jr_strv init_argv;
	pid_t pid;
	int pidfd;
	int status_fd;         /* read end of the status pipe */
	int out_dest, err_dest;
	uv_poll_t exit_poll;
	uv_timer_t timer;      /* the wall-clock limit, or the deferred finish of a failed start */
	uv_timer_t cpu_timer;  /* the CPU-time limit: fires when the budget could first run out */
	uv_fs_event_t oom_watch; /* v2: memory.events changes (OOM noticed as it happens) */
	const struct jr_host *host;
	const struct jr_cg_host *cgh;
	struct jr_cgroup cg;
	bool have_cg;
	bool cg_dirty;         /* the cgroup would not empty: keep it, quarantine the uid */
	struct jr_cg_limits lim; /* spec's limits plus the devices found at launch */
	unsigned ncpu;         /* most CPUs the job can burn at once */
	char *scratch_dir;
	struct jr_pump out, err;
	int closing;           /* handles whose close callback is pending */
	uint64_t t0;           /* uv_hrtime() at launch */
	struct jr_outcome outcome;
	struct jr_result result;
	jr_job_done_cb done_cb;
	void *data;
};

/* Start the job. Always ends in exactly one done_cb (from the loop, never from inside this
 * call), whether the job ran or could not start; job->result then holds the verdict. */
void jr_job_start(struct jr_job *job, uv_loop_t *loop, const struct jr_spec *spec,
		  const struct jr_host *host, jr_job_done_cb done_cb);

/* A caller's file (--stdin, --stdout, --stderr, --result) may lie in a directory a job could
 * write (its --dir, in this run or an earlier one). 0 when every symlink along path, and the
 * file itself unless it is a regular file, belongs to root; else -EPERM with err set. */
int jr_path_trusted(const char *path, const char *what, struct jr_err *err);

/* Stop a running job: kill it and finish with verdict XX and this message. */
void jr_job_cancel(struct jr_job *job, const char *why);

#endif
