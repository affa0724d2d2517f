/* job.h - one job's life on a libuv loop: prepare, launch, watch, finish (one path). */
#ifndef JR_JOB_H
#define JR_JOB_H

#include "err.h"
#include "plan.h"
#include "pump.h"
#include "result.h"
#include "spec.h"
#include "uidpool.h"

#include <stdbool.h>
#include <uv.h>

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
		  jr_job_done_cb done_cb);

/* Stop a running job: kill it and finish with verdict XX and this message. */
void jr_job_cancel(struct jr_job *job, const char *why);

#endif
