/* job.h - one job's life on a libuv loop: prepare, launch, watch, finish (one path). */
#ifndef JR_JOB_H
#define JR_JOB_H

#include "callerpath.h"
#include "cgroup.h"
#include "collect.h"
#include "err.h"
#include "jobreq.h"
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
	/* The host's teardown runs on the loop thread, not in the thread pool: `jobrun run`, whose
	 * loop has nothing else to serve and waits for the teardown before it exits anyway (the
	 * pool's four threads cost it ~1 ms a job). serve keeps it off the loop. */
	bool teardown_on_loop;
};

/* How a job's request becomes its spec (run.c: profile defaults < job config < command line,
 * within the profile's maxima). Called once the job config is known (after unpacking).
 * -EINVAL: the request is refused (RJ). */
struct jr_admit {
	int (*fn)(void *data, const struct jr_jobreq *req, struct jr_spec *spec, struct jr_err *err);
	void *data;
	uint64_t stage_bytes;  /* the workspace's size while unpacking (the profile's max disk);
				* also the most a tarball fetched by URL may be */
	const struct jr_fetch_conf *fetch; /* jobrun.conf's fetch { }: an archive by URL */
};

struct jr_job;
struct jr_fetch_conf;
typedef void (*jr_job_done_cb)(struct jr_job *job);

enum jr_job_state {
	JR_JOB_NEW,
	JR_JOB_STAGING,   /* the unpack helper runs (a tarball job), watched on the loop */
	JR_JOB_RUNNING,   /* PID 1 alive */
	JR_JOB_DRAINING,  /* PID 1 gone, output pipes still open */
	JR_JOB_COLLECTING, /* its outputs are copied (thread pool) */
	JR_JOB_CLOSING,   /* handles closing */
	JR_JOB_DONE,
};

/* The descriptors a launch needs, gathered while the job is prepared. */
struct jr_launch_fds {
	int init, seccomp, in;
	int status[2], out[2], err[2];
};

/* A tarball by URL: jobrun-fetch, watched on the loop the same way before the unpack helper
 * starts (job-fetch.h). */
struct jr_fetching {
	int pidfd, report_fd, out_fd; /* out_fd: the memfd the body goes to */
	uv_poll_t exit_poll, report_poll;
	bool exit_open, report_open, exited, report_eof, running, timed_out;
	int wstatus;
	char report[1024];
	size_t len;
	int r;                        /* 0, or -errno: the fetch failed (err says why) */
	struct jr_err err;
	void (*done)(struct jr_job *job);
};

/* A tarball job's unpack helper, watched on the loop: its exit (pidfd) and its report (a pipe
 * read without blocking), under job->timer (JR_STAGE_TIMEOUT_MS). */
struct jr_staging {
	int pidfd, report_fd;
	uv_poll_t exit_poll, report_poll;
	bool exit_open, report_open;  /* the handles need closing */
	bool exited, report_eof, timed_out, too_big;
	int wstatus;
	char *report;
	size_t len, cap;
	uint64_t t0;                  /* uv_hrtime() at its start */
	void (*done)(struct jr_job *job);
	struct jr_fetching fetch;     /* an archive by URL: fetched first (job-fetch.c) */
};

struct jr_job {
	uv_loop_t *loop;
	struct jr_spec *spec;      /* the job's final spec is known only after its config */
	const struct jr_admit *admit;
	char *ws;              /* the workspace of a tarball job (host path), or NULL */
	int ws_fd;             /* its job/ directory (what the job sees at /job) */
	int workdir_fd;        /* the caller's --dir (O_PATH), or -1 */
	int bind_fds[JR_MAX_BINDS]; /* spec->binds' host directories (O_PATH), or -1 */
	int out_dir_fd;        /* the caller's --output-dir (O_PATH), or -1 */
	struct jr_cp_made out_dir_made; /* ... made by jobrun: removed again if left empty */
	struct jr_unpacked unpacked;
	struct jr_staging stg;
	struct jr_launch_fds lf;
	uint64_t cpu_base_usec; /* the cgroup's CPU time when the command starts (unpacking's) */
	bool cancelled;        /* jr_job_cancel during staging: start nothing */
	struct jr_outputs outputs;  /* freed by the owner after done_cb (jr_outputs_free) */
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
	uv_timer_t settle_timer; /* PID 1 is dead: waiting, on the loop, for its cgroup to empty */
	int settle_waited_ms;
	bool settled;          /* the cgroup is empty (or given up on) and its counters read */
	uv_work_t teardown;    /* after done_cb: unmount, cgroup removal, lease (thread pool) */
	jr_job_done_cb released_cb; /* optional: called when the teardown is over */
	uv_fs_event_t oom_watch; /* v2: memory.events changes (OOM noticed as it happens) */
	const struct jr_host *host;
	const struct jr_cg_host *cgh;
	struct jr_cgroup cg;
	bool have_cg;
	bool cg_dirty;         /* the cgroup would not empty: keep it, quarantine the uid */
	struct jr_cg_limits lim; /* spec's limits plus the devices found at launch */
	unsigned ncpu;         /* most CPUs the job can burn at once */
	char *scratch_dir;     /* base/name, for messages and the result */
	int scratch_base_fd;   /* the caller's --scratch (O_PATH), or -1 */
	int scratch_fd;        /* the job's directory in it, or -1 */
	char scratch_name[128];
	bool scratch_quota;    /* the job's uid has a quota there (cleared after) */
	struct jr_pump out, err;
	int closing;           /* handles whose close callback is pending */
	uint64_t t0;           /* uv_hrtime() at launch */
	struct jr_outcome outcome;
	struct jr_result result;
	jr_job_done_cb done_cb;
	void *data;
};

/* Start the job. Always ends in exactly one done_cb (from the loop, never from inside this
 * call), whether the job ran or could not start; job->result then holds the verdict. What
 * the job leaves on the host (its workspace mount, its cgroups, its uid lease) is released
 * after done_cb, in the thread pool, off the result's path: job (and its spec) must stay
 * valid until then; job->released_cb, when set (by done_cb at the latest), is called on the
 * loop when that is over. */
void jr_job_start(struct jr_job *job, uv_loop_t *loop, struct jr_spec *spec,
		  const struct jr_host *host, const struct jr_admit *admit, jr_job_done_cb done_cb);

/* job-stage.c: a tarball job's workspace: unpack (on the loop: done is called once the helper
 * has exited and its report is read, or it was killed), read its config, admit; after the
 * job, collect its outputs and remove the workspace. */
int jr_job_stage_start(struct jr_job *job, void (*done)(struct jr_job *job),
		       struct jr_err *err);
int jr_job_stage_finish(struct jr_job *job, int *stdin_fd, struct jr_err *err);
/* Kill the helper now (cancel): done follows when it is gone. */
void jr_job_stage_kill(struct jr_job *job);
/* Close the staging handles (data: the job); returns how many close_cb calls will follow. */
int jr_job_stage_close(struct jr_job *job, uv_close_cb close_cb);

/* Close one of a job's uv_poll_t handles when *open says it is open (it is not after); its
 * data becomes job, for close_cb. 1 when a close was started (close_cb will run), else 0. */
int jr_job_poll_close(struct jr_job *job, uv_poll_t *p, bool *open, uv_close_cb close_cb);
/* After the job's PID 1 is dead: copy its outputs (result: job->outputs). */
void jr_job_collect(struct jr_job *job);
void jr_job_unstage(struct jr_job *job);

/* Stop a running job: kill it and finish with verdict XX and this message. */
void jr_job_cancel(struct jr_job *job, const char *why);

#endif
