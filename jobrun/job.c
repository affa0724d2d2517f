/* job.c - the job state machine. */
#define _GNU_SOURCE
#include "job.h"
#include "callerpath.h"
#include "child.h"
#include "helper.h"
#include "log.h"
#include "proto.h"
#include "quota.h"
#include "scratch.h"
#include "seccomp.h"
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void finish(struct jr_job *job);

static void fail_internal(struct jr_job *job, struct jr_err *err)
{
	job->outcome.internal_error = true;
	snprintf(job->outcome.message, sizeof(job->outcome.message), "%s", err->msg);
}

static void reject(struct jr_job *job, struct jr_err *err)
{
	job->outcome.rejected = true;
	snprintf(job->outcome.message, sizeof(job->outcome.message), "%s", err->msg);
}

static int make_dir(const char *path, struct jr_err *err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "create %s", path);
	return 0;
}

static int build_init_argv(struct jr_job *job)
{
	const struct jr_spec *spec = job->spec;
	struct jr_strv *a = &job->init_argv;
	char buf[64];
	size_t i;
	int r = 0;

#define PUSHF(...) (snprintf(buf, sizeof(buf), __VA_ARGS__), jr_strv_push(a, buf))
	r |= jr_strv_push(a, "jobrun-init");
	r |= PUSHF("%u", (unsigned)job->lease.uid);
	r |= PUSHF("%u", (unsigned)job->lease.uid);
	r |= PUSHF("%u", (unsigned)job->lease.init_uid);
	r |= PUSHF("%u", (unsigned)job->lease.init_uid);
	r |= PUSHF("%llu", (unsigned long long)spec->open_files);
	if (spec->stack_bytes == 0)
		r |= jr_strv_push(a, "-");
	else if (spec->stack_bytes == JR_UNLIMITED)
		r |= jr_strv_push(a, "inf");
	else
		r |= PUSHF("%llu", (unsigned long long)spec->stack_bytes);
	if (spec->file_size == JR_UNLIMITED)
		r |= jr_strv_push(a, "inf");
	else
		r |= PUSHF("%llu", (unsigned long long)spec->file_size);
	/* RLIMIT_CPU is only a per-process backstop; the cgroup timer enforces the budget */
	if (spec->cpu_time_usec)
		r |= PUSHF("%llu", (unsigned long long)(spec->cpu_time_usec / 1000000 + 2));
	else
		r |= jr_strv_push(a, "-");
	r |= jr_strv_push(a, job->host->job_oom_adj[0] ? job->host->job_oom_adj : "-");
	if (spec->cwd_abs) {
		r |= jr_strv_push(a, spec->cwd_abs);
	} else if (spec->cwd_job) {
		char *cwd;

		r |= asprintf(&cwd, "%s/%s", spec->job_mount ? spec->job_mount : "/job",
			      spec->cwd_job) < 0 ? -1 : jr_strv_push_take(a, cwd);
	} else {
		r |= jr_strv_push(a, spec->job_mount ? spec->job_mount : "/job");
	}
	r |= jr_strv_push(a, "--");
#undef PUSHF
	for (i = 0; i < spec->argv.n; i++)
		r |= jr_strv_push(a, spec->argv.v[i]);
	return r ? -ENOMEM : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_launch_fds(struct jr_launch_fds *f)
{
	close_fd(&f->init);
	close_fd(&f->seccomp);
	close_fd(&f->in);
	close_fd(&f->status[0]);
	close_fd(&f->status[1]);
	close_fd(&f->out[0]);
	close_fd(&f->out[1]);
	close_fd(&f->err[0]);
	close_fd(&f->err[1]);
}

/* Where the job's stdout and stderr go: files of the caller's (callerpath.h: created beside
 * and renamed into place, never through a job's symlink), or jobrun's own descriptors; one
 * file named twice is written once, in order (as `>f 2>&1`). */
static int open_sinks(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	struct jr_cp_dest out = { .dirfd = -1, .fd = -1 }, errd = { .dirfd = -1, .fd = -1 };
	int r;

	/* When the result goes to jobrun's stdout, the job's stdout must not: a job could print
	 * a forged result before the real one, or half a JSON document that spoils it. */
	r = jr_cp_dest_init(&out, "--stdout", spec->stdout_path ? spec->stdout_path :
					      spec->result_path ? "/dev/stdout" : "/dev/stderr", err);
	if (r == 0)
		r = jr_cp_dest_init(&errd, "--stderr",
				    spec->stderr_path ? spec->stderr_path : "/dev/stderr", err);
	if (r == 0)
		r = job->out_dest = jr_cp_dest_stream(&out, err);
	if (r >= 0 && jr_cp_dest_same(&out, &errd)) {
		r = job->err_dest = fcntl(job->out_dest, F_DUPFD_CLOEXEC, 3);
		if (r < 0)
			jr_err_set(err, errno, "--stderr");
	} else if (r >= 0) {
		r = job->err_dest = jr_cp_dest_stream(&errd, err);
	}
	jr_cp_dest_free(&out);
	jr_cp_dest_free(&errd);
	return r < 0 ? r : 0;
}

/* Caller's files: a problem with them rejects the job (RJ), it is not jobrun's fault. Each
 * path is resolved once (callerpath.h); only descriptors are used from here on. */
static int open_caller_files(struct jr_job *job, struct jr_launch_fds *f, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	struct stat st;

	f->in = jr_cp_open("--stdin", spec->stdin_path ? spec->stdin_path : "/dev/null",
			   JR_CP_FILE, err);
	if (f->in < 0)
		return f->in;
	if (fstat(f->in, &st) < 0 || S_ISDIR(st.st_mode))
		return jr_err_set(err, EISDIR, "--stdin '%s'", spec->stdin_path);
	if (spec->workdir) {
		job->workdir_fd = jr_cp_open("--dir", spec->workdir, JR_CP_DIR, err);
		if (job->workdir_fd < 0)
			return job->workdir_fd;
	}
	for (size_t i = 0; i < spec->nbinds; i++) {
		job->bind_fds[i] = jr_cp_open("--dir", spec->binds[i].host, JR_CP_DIR, err);
		if (job->bind_fds[i] < 0)
			return job->bind_fds[i];
	}
	if (spec->scratch) {
		job->scratch_base_fd = jr_cp_open("--scratch", spec->scratch, JR_CP_DIR, err);
		if (job->scratch_base_fd < 0)
			return job->scratch_base_fd;
	}
	return open_sinks(job, err);
}

static void add_io_dev(struct jr_job *job, const char *path)
{
	struct jr_io_dev d;
	unsigned k;

	if (jr_cg_io_dev_of(path, &d) < 0)
		return;
	for (k = 0; k < job->lim.ndevs; k++)
		if (job->lim.devs[k].major == d.major && job->lim.devs[k].minor == d.minor)
			return;
	if (k < JR_IO_MAX_DEVS)
		job->lim.devs[job->lim.ndevs++] = d;
}

/* The whole disks under the system binds, the --dir and the scratch directory: what I/O
 * limits govern (a tmpfs has no block device). The caller's directories by descriptor. */
static int find_io_devs(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	const int fds[2] = { job->workdir_fd, job->scratch_fd };
	char fdpath[64];
	size_t i;

	for (i = 0; i < spec->sys_binds.n; i++)
		add_io_dev(job, spec->sys_binds.v[i]);
	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[i]);
		add_io_dev(job, fdpath);
	}
	if (!job->lim.ndevs)
		return jr_err_set(err, ENODEV, "I/O limits: no block device under the system binds, "
				  "--dir or the scratch directory (a tmpfs has none)");
	return 0;
}

static unsigned count_cpus(const char *list)
{
	unsigned n = 0, a, b;
	const char *p = list;

	while (p && *p) {
		if (sscanf(p, "%u-%u", &a, &b) == 2 && b >= a)
			n += b - a + 1;
		else if (sscanf(p, "%u", &a) == 1)
			n++;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return n;
}

/* A fresh cgroup with the limits written; how many CPUs the job can burn at once. */
static int compute_limits(struct jr_job *job, struct jr_err *err);
static int check_cgroup(struct jr_job *job, struct jr_err *err);

static int prepare_cgroup(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	int r;

	r = compute_limits(job, err);
	if (r < 0)
		return r;
	/* Named after the job's uid, not its slot: slot numbers are only unique within one
	 * --runtime-dir, uids are unique among all jobs whose ranges do not overlap. */
	r = jr_cg_create(&job->cg, job->cgh, spec->cgroup_parent, (unsigned)job->lease.uid,
			 &job->lim, err);
	if (r < 0)
		return r;
	job->have_cg = true;
	jr_sweep_note_cgroup(&job->lease, &job->cg); /* the lease records it (one pwrite) */
	return check_cgroup(job, err);
}

/* The limits to write: the spec's, plus the devices I/O limits apply to. */
static int compute_limits(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;

	job->lim = spec->cg;
	job->lim.ndevs = 0;
	if (spec->cg.io_rbps || spec->cg.io_wbps || spec->cg.io_riops || spec->cg.io_wiops)
		return find_io_devs(job, err);
	return 0;
}

/* What the cgroup made can enforce, and how many CPUs the job can burn at once. */
static int check_cgroup(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n;

	/* the budget is read from the cgroup; RLIMIT_CPU alone is per process (N processes get N
	 * times the budget, plus 2 s each) and ends in SG, not TO: refuse rather than pretend */
	if (spec->cpu_time_usec && !job->cg.dir[JR_CG_CPUACCT])
		return jr_err_set(err, ENOTSUP, "cannot enforce --cpu-time: no cpuacct (v1) or "
				  "cgroup v2 hierarchy is available to jobrun here (see jobrun check)");
	job->ncpu = online > 0 ? (unsigned)online : 1;
	if (spec->cg.cpus_milli && (spec->cg.cpus_milli + 999) / 1000 < job->ncpu)
		job->ncpu = (unsigned)((spec->cg.cpus_milli + 999) / 1000);
	if (spec->cg.cpuset && (n = count_cpus(spec->cg.cpuset)) && n < job->ncpu)
		job->ncpu = n;
	return 0;
}

/* A tarball job, once unpacked (into the workspace, inside the job's cgroup): admit its
 * config, then write the limits it ends up with. What unpacking used is not the command's: the
 * CPU time so far is the base of the job's CPU budget. */
static int stage_finish(struct jr_job *job, struct jr_err *err)
{
	bool had_cpuset = job->spec->cg.cpuset != NULL;
	int r;

	if (job->have_cg && jr_cg_cpu_usec(&job->cg, job->cgh, &job->cpu_base_usec) == 0)
		job->unpacked.cpu_usec = job->cpu_base_usec;
	r = jr_job_stage_finish(job, &job->lf.in, err);
	if (r < 0)
		return r;
	if (!had_cpuset && job->spec->cg.cpuset)
		return jr_err_set(err, ENOTSUP, "a cpuset cannot come from a job config");
	r = compute_limits(job, err);
	if (r == 0) {
		r = jr_cg_update(&job->cg, job->cgh, &job->lim, err);
		/* what the job config asks for does not fit: the job's doing */
		job->outcome.rejected = r < 0 && err->code == 0;
	}
	/* the job config's output limit (the pumps start at launch) */
	job->result.out.limit = job->result.err.limit = job->spec->output_limit;
	if (r == 0)
		r = check_cgroup(job, err);
	return r;
}

/* The job's directory in the caller's --scratch, limited to the job's disk limit by a user
 * quota for its uid (quota.h): a file system without quotas is refused (RJ). */
static int make_scratch(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	int r;

	job->scratch_fd = jr_scratch_create(job->scratch_base_fd, spec->id, job->lease.slot,
					    job->lease.uid, job->lease.uid, job->scratch_name,
					    sizeof(job->scratch_name), err);
	if (job->scratch_fd < 0)
		return job->scratch_fd;
	if (asprintf(&job->scratch_dir, "%s/%s", spec->scratch, job->scratch_name) < 0) {
		job->scratch_dir = NULL;
		return jr_err_set(err, ENOMEM, "scratch");
	}
	r = jr_quota_set(job->scratch_fd, job->lease.uid, spec->disk_bytes,
			 spec->disk_bytes / 4096 + 1024, err);
	job->scratch_quota = r == 0;
	if (r < 0) {
		jr_err_wrap(err, "--scratch '%s'", spec->scratch);
		job->outcome.rejected = r == -ENOTSUP;
	}
	return r;
}

/* Before a tarball job's unpacking: its uid, its scratch directory, its cgroup. */
static int prepare_early(struct jr_job *job, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	int r;

	r = spec->uid_slot >= 0 ?
		jr_uid_acquire_slot(spec->runtime_dir, spec->uid_base, spec->uid_count,
				    (unsigned)spec->uid_slot, &job->lease, err) :
		jr_uid_acquire(spec->runtime_dir, spec->uid_base, spec->uid_count, &job->lease, err);
	if (r < 0)
		return r;
	jr_uid_lease_note(&job->lease, "job", spec->id);
	if (spec->scratch) {
		r = make_scratch(job, err);
		if (r < 0)
			return r;
		jr_sweep_note_scratch(&job->lease, job->scratch_fd);
	}
	return prepare_cgroup(job, err);
}

/* Everything the launch needs: the plan (binds from descriptors), jobrun-init's arguments
 * and descriptor, the seccomp program, the pipes. */
static int prepare_late(struct jr_job *job, struct jr_launch_fds *f, struct jr_err *err)
{
	const struct jr_spec *spec = job->spec;
	char root[PATH_MAX], scratch[PATH_MAX];
	struct jr_ids ids;
	int r;

	snprintf(root, sizeof(root), "%s/root", spec->runtime_dir);
	snprintf(scratch, sizeof(scratch), "%s/scratch", spec->runtime_dir);
	if (make_dir(root, err) < 0 || make_dir(scratch, err) < 0)
		return -err->code;
	memset(&ids, 0, sizeof(ids));
	ids.uid = job->lease.uid;
	ids.gid = job->lease.uid;
	ids.workdir_fd = job->workdir_fd;
	ids.bind_fds = job->bind_fds;
	ids.scratch_dir = job->scratch_dir;
	ids.scratch_fd = job->scratch_fd;
	ids.storage = job->ws; /* a tarball job: /job, /tmp, /dev/shm in the workspace's tmpfs */
	r = jr_plan_build(&job->plan, spec, &ids, root, scratch, err);
	if (r < 0) {
		/* no errno: the caller asked for a bind that cannot be (RJ), not jobrun's fault */
		job->outcome.rejected = err->code == 0;
		return r;
	}
	r = jr_plan_detach(&job->plan, err);
	if (r < 0)
		return r;
	if (build_init_argv(job) < 0)
		return jr_err_set(err, ENOMEM, "jobrun-init arguments");
	f->init = jr_helper_open("jobrun-init", err);
	if (f->init < 0)
		return f->init;
	f->seccomp = jr_seccomp_export(JR_SECCOMP_JOB, err);
	if (f->seccomp < 0)
		return f->seccomp;
	if (pipe2(f->status, O_CLOEXEC) < 0 || pipe2(f->out, O_CLOEXEC) < 0 ||
	    pipe2(f->err, O_CLOEXEC) < 0)
		return jr_err_set(err, errno, "pipe");
	fcntl(f->status[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static void describe_msg(struct jr_job *job, const struct jr_msg *m)
{
	struct jr_outcome *o = &job->outcome;
	char step[256];

	switch (m->kind) {
	case JR_MSG_SETUP_FAILED:
		o->internal_error = true;
		if (m->stage == JR_STAGE_PLAN)
			jr_plan_describe(&job->plan, (size_t)m->step, step, sizeof(step));
		else
			snprintf(step, sizeof(step), "%s", jr_stage_name(m->stage));
		snprintf(o->message, sizeof(o->message), "sandbox set-up failed: %s: %s", step,
			 strerror(m->err));
		break;
	case JR_MSG_INIT_FAILED:
		o->internal_error = true;
		snprintf(o->message, sizeof(o->message), "jobrun-init failed: %s: %s",
			 jr_stage_name(m->stage), strerror(m->err));
		break;
	case JR_MSG_EXEC_FAILED:
		o->exec_failed = true;
		o->exec_errno = m->err;
		snprintf(o->message, sizeof(o->message), "cannot execute '%s': %s",
			 job->spec->argv.v[0], strerror(m->err));
		break;
	case JR_MSG_EXITED:
		o->have_status = true;
		o->wstatus = m->wstatus;
		break;
	default:
		o->internal_error = true;
		snprintf(o->message, sizeof(o->message), "unknown status record %d", m->kind);
	}
}

static void read_status(struct jr_job *job)
{
	struct jr_msg m;
	ssize_t n;

	for (;;) {
		n = read(job->status_fd, &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			break;
		describe_msg(job, &m);
	}
}

static void maybe_finish(struct jr_job *job)
{
	if (job->state == JR_JOB_DRAINING && job->settled && job->out.eof && job->err.eof)
		finish(job);
}

static void pump_eof_cb(struct jr_pump *p)
{
	maybe_finish(p->data);
}

/* How long the cgroup may take to empty after PID 1 is gone (a process in an uninterruptible
 * sleep), waited for on the loop: 1 ms steps, then 10 ms. */
#define SETTLE_MS 2000

/* The cgroup is empty (or given up on): read the final counters and judge CPU and OOM. */
static void settle_read(struct jr_job *job)
{
	const struct jr_spec *spec = job->spec;

	job->settled = true;
	if (!job->have_cg)
		return;
	jr_cg_read(&job->cg, job->cgh, &job->result.usage);
	job->result.cg_version = job->cg.version;
	/* the command's CPU time; unpacking's is reported apart (archive.unpack_cpu_seconds) */
	if (job->result.usage.have_cpu)
		job->result.usage.cpu_usec = job->result.usage.cpu_usec > job->cpu_base_usec ?
					     job->result.usage.cpu_usec - job->cpu_base_usec : 0;
	if (spec->cpu_time_usec && job->result.usage.have_cpu &&
	    job->result.usage.cpu_usec >= spec->cpu_time_usec)
		job->outcome.timed_out_cpu = true;
	jr_oom_classify(&job->result.usage, spec->cg.memory, &job->outcome.oom_own,
			&job->outcome.oom_host);
}

static void settle_cb(uv_timer_t *t)
{
	struct jr_job *job = t->data;
	struct jr_err err;
	int left = jr_cg_kill_once(&job->cg, job->cgh);

	if (left >= 0 && job->settle_waited_ms < SETTLE_MS) {
		int step = job->settle_waited_ms < 20 ? 1 : 10;

		job->settle_waited_ms += step;
		uv_timer_start(&job->settle_timer, settle_cb, (uint64_t)step, 0);
		return;
	}
	if (left >= 0) {
		jr_err_clear(&err);
		jr_cg_busy_error(&job->cg, left, job->settle_waited_ms, &err);
		jr_error("job=%s %s", job->spec->id, err.msg);
		job->cg_dirty = true;
		job->outcome.internal_error = true;
		snprintf(job->outcome.message, sizeof(job->outcome.message), "%s", err.msg);
	}
	settle_read(job);
	maybe_finish(job);
}

/* PID 1 is dead, so is its pid namespace. Make sure the cgroup is empty too (it holds
 * exactly the job's processes) before its counters are read: at once in the usual case,
 * else on the loop (settle_cb), never by sleeping on it. */
static void settle_cgroup(struct jr_job *job)
{
	if (job->have_cg && jr_cg_kill_once(&job->cg, job->cgh) >= 0) {
		job->settle_timer.data = job;
		job->settle_waited_ms = 1;
		uv_timer_start(&job->settle_timer, settle_cb, 1, 0);
		return;
	}
	settle_read(job);
}

/* After the job's PID 1 is dead, what its pipes still hold goes out within this time; a
 * destination that does not take it (a FIFO nobody reads) is given up on (undelivered_bytes
 * in the result), so that a caller's stalled reader never holds the job's result back. */
#define DRAIN_MS 2000

static void drain_cb(uv_timer_t *t)
{
	struct jr_job *job = t->data;

	if (job->state != JR_JOB_DRAINING)
		return;
	jr_warn("job=%s its output's destination did not take the rest for %d ms: given up",
		job->spec->id, DRAIN_MS);
	jr_pump_abandon(&job->out); /* each calls maybe_finish through pump_eof_cb */
	jr_pump_abandon(&job->err);
}

static void exit_cb(uv_poll_t *h, int status, int events)
{
	struct jr_job *job = h->data;
	struct rusage ru;
	siginfo_t si;

	(void)status;
	(void)events;
	memset(&si, 0, sizeof(si));
	memset(&ru, 0, sizeof(ru));
	/* the raw system call: it also gives PID 1's rusage, its reaped descendants' included */
	if (syscall(SYS_waitid, P_PIDFD, job->pidfd, &si, WEXITED | WNOHANG, &ru) < 0) {
		if (errno != ECHILD)
			return;
		/* already reaped (SIGCHLD ignored): the readable pidfd says it is gone, and
		 * the status pipe still carries the command's wait status */
	} else if (si.si_pid == 0) {
		return; /* spurious */
	} else {
		job->result.rusage.have = true;
		job->result.rusage.user_usec = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
					       (uint64_t)ru.ru_utime.tv_usec;
		job->result.rusage.sys_usec = (uint64_t)ru.ru_stime.tv_sec * 1000000 +
					      (uint64_t)ru.ru_stime.tv_usec;
		job->result.rusage.max_rss_kib = (uint64_t)ru.ru_maxrss;
		job->result.rusage.nvcsw = (uint64_t)ru.ru_nvcsw;
		job->result.rusage.nivcsw = (uint64_t)ru.ru_nivcsw;
	}
	uv_poll_stop(h);
	uv_timer_stop(&job->timer);
	uv_timer_stop(&job->cpu_timer);
	job->result.wall_usec = (uv_hrtime() - job->t0) / 1000;
	clock_gettime(CLOCK_REALTIME, &job->result.end);
	read_status(job);
	job->state = JR_JOB_DRAINING;
	settle_cgroup(job);
	if (!(job->out.eof && job->err.eof)) /* a destination that does not take the rest */
		uv_timer_start(&job->timer, drain_cb, DRAIN_MS, 0);
	maybe_finish(job);
}

static void kill_job(struct jr_job *job)
{
	if (job->pidfd >= 0 && job->state == JR_JOB_RUNNING &&
	    syscall(SYS_pidfd_send_signal, job->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		jr_error("job=%s kill: %s", job->spec->id, strerror(errno));
}

static void cpu_cb(uv_timer_t *t);

static void wall_cb(uv_timer_t *t)
{
	struct jr_job *job = t->data;

	if (job->state != JR_JOB_RUNNING) { /* a start that failed: finish from the loop */
		finish(job);
		return;
	}
	job->outcome.timed_out_wall = true;
	jr_info("job=%s wall-clock limit reached: killing", job->spec->id);
	kill_job(job);
}

/* Arm the CPU-time check for the earliest moment the budget could run out: the job burns at
 * most ncpu CPU-seconds per second. Re-armed each time, never a fixed busy poll. */
static void arm_cpu_timer(struct jr_job *job, uint64_t used_usec)
{
	uint64_t left = job->spec->cpu_time_usec - used_usec; /* used: the command's */
	uint64_t ms = left / job->ncpu / 1000 + 1;

	uv_timer_start(&job->cpu_timer, cpu_cb, ms < 2 ? 2 : ms, 0);
}

static void cpu_cb(uv_timer_t *t)
{
	struct jr_job *job = t->data;
	uint64_t used;

	if (job->state != JR_JOB_RUNNING)
		return;
	if (jr_cg_cpu_usec(&job->cg, job->cgh, &used) < 0) {
		jr_warn("job=%s cannot read CPU usage: the RLIMIT_CPU backstop remains",
			job->spec->id);
		return;
	}
	used = used > job->cpu_base_usec ? used - job->cpu_base_usec : 0;
	if (used < job->spec->cpu_time_usec) {
		arm_cpu_timer(job, used);
		return;
	}
	job->outcome.timed_out_cpu = true;
	jr_info("job=%s CPU-time limit reached (%llu us): killing", job->spec->id,
		(unsigned long long)used);
	kill_job(job);
}

/* v2: memory.events changed. The verdict is taken from the final counters; this is for the
 * log, as it happens. */
static void oom_cb(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct jr_job *job = h->data;
	struct jr_usage u;

	(void)name;
	(void)events;
	(void)status;
	memset(&u, 0, sizeof(u));
	jr_cg_read(&job->cg, job->cgh, &u);
	if (u.have_oom_kill && u.oom_kill)
		jr_info("job=%s OOM: %llu process(es) killed (oom events %llu)", job->spec->id,
			(unsigned long long)u.oom_kill, (unsigned long long)u.oom);
}

static void start_watches(struct jr_job *job)
{
	char path[4096];

	if (job->spec->cpu_time_usec && job->have_cg)
		arm_cpu_timer(job, 0);
	if (job->have_cg && job->cg.dir[JR_CG_MEMORY] &&
	    job->cgh->ctrl[JR_CG_MEMORY].version == 2) {
		snprintf(path, sizeof(path), "%s/memory.events", job->cg.dir[JR_CG_MEMORY]);
		if (uv_fs_event_init(job->loop, &job->oom_watch) == 0) {
			job->oom_watch.data = job;
			uv_fs_event_start(&job->oom_watch, oom_cb, path, 0);
		}
	}
}

void jr_job_cancel(struct jr_job *job, const char *why)
{
	if (job->state != JR_JOB_RUNNING && job->state != JR_JOB_STAGING)
		return;
	job->outcome.internal_error = true;
	snprintf(job->outcome.message, sizeof(job->outcome.message), "%s", why);
	if (job->state == JR_JOB_STAGING) { /* stop unpacking at once, start nothing */
		job->cancelled = true;
		jr_job_stage_kill(job);
		return;
	}
	kill_job(job);
}

static int launch(struct jr_job *job, struct jr_launch_fds *f, struct jr_err *err)
{
	struct jr_launch l = {
		.plan = &job->plan, .init_argv = job->init_argv.v, .init_envp = job->spec->env.v,
		.init_fd = f->init, .status_fd = f->status[1], .seccomp_fd = f->seccomp,
		.stdin_fd = f->in, .stdout_fd = f->out[1], .stderr_fd = f->err[1],
		.cgroup_fd = job->have_cg ? job->cg.v2_fd : -1,
		.v1_procs = job->cg.v1_procs, .nv1 = job->have_cg ? job->cg.nv1 : 0,
	};
	static char *const empty_env[] = { NULL };
	int r;

	if (!l.init_envp)
		l.init_envp = empty_env;
	clock_gettime(CLOCK_REALTIME, &job->result.start);
	job->t0 = uv_hrtime();
	job->pid = jr_child_spawn(&l, &job->pidfd, err);
	if (job->pid < 0)
		return job->pid;
	job->state = JR_JOB_RUNNING;
	job->status_fd = f->status[0];
	f->status[0] = -1;
	r = jr_pump_start(&job->out, job->loop, f->out[0], job->out_dest, &job->result.out,
			  pump_eof_cb, err);
	f->out[0] = -1;
	if (r == 0) {
		r = jr_pump_start(&job->err, job->loop, f->err[0], job->err_dest, &job->result.err,
				  pump_eof_cb, err);
		f->err[0] = -1; /* taken over (closed on failure); else close_launch_fds closes it */
	}
	if (r == 0)
		r = uv_poll_init(job->loop, &job->exit_poll, job->pidfd);
	if (r == 0)
		r = uv_poll_start(&job->exit_poll, UV_READABLE, exit_cb);
	if (r < 0) {
		siginfo_t si;

		kill_job(job);
		waitid((idtype_t)P_PIDFD, (id_t)job->pidfd, &si, WEXITED);
		job->state = JR_JOB_NEW;
		return jr_err_set(err, -r, "watching the job");
	}
	if (job->spec->wall_usec) {
		/* The loop's clock was last read before the set-up: refresh it, or the limit runs
		 * from then and kills the job early; +1 for its rounding down to whole ms. */
		uv_update_time(job->loop);
		uv_timer_start(&job->timer, wall_cb, (job->spec->wall_usec + 999) / 1000 + 1, 0);
	}
	start_watches(job);
	return 0;
}

/* The start ends here: launched, or failed (then the one finish path runs from the loop). */
static void start_end(struct jr_job *job, int r, struct jr_err *err)
{
	if (r < 0 && !job->outcome.internal_error) {
		if (job->outcome.rejected)
			reject(job, err);
		else
			fail_internal(job, err);
	}
	close_launch_fds(&job->lf);
	if (job->state != JR_JOB_RUNNING) {
		job->state = JR_JOB_NEW;
		clock_gettime(CLOCK_REALTIME, &job->result.start);
		job->result.end = job->result.start;
		uv_timer_start(&job->timer, wall_cb, 0, 0);
	}
}

/* A tarball job's helper is done (or was killed): admit, then launch, unless cancelled. */
static void staged_cb(struct jr_job *job)
{
	struct jr_err err;
	int r;

	jr_err_clear(&err);
	if (job->cancelled) {
		start_end(job, -ECANCELED, &err); /* the message is the cancel's */
		return;
	}
	r = stage_finish(job, &err);
	if (r == 0)
		r = prepare_late(job, &job->lf, &err);
	if (r == 0)
		r = launch(job, &job->lf, &err);
	start_end(job, r, &err);
}

void jr_job_start(struct jr_job *job, uv_loop_t *loop, struct jr_spec *spec,
		  const struct jr_host *host, const struct jr_admit *admit, jr_job_done_cb done_cb)
{
	const struct jr_launch_fds none = { -1, -1, -1, { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct jr_err err;
	int r;

	memset(job, 0, sizeof(*job));
	jr_err_clear(&err);
	job->loop = loop;
	job->spec = spec;
	job->host = host;
	job->cgh = &host->cg;
	job->done_cb = done_cb;
	job->pidfd = job->status_fd = job->out_dest = job->err_dest = -1;
	job->lease.fd = -1;
	job->ws_fd = job->workdir_fd = job->out_dir_fd = -1;
	for (size_t i = 0; i < JR_MAX_BINDS; i++)
		job->bind_fds[i] = -1;
	job->scratch_base_fd = job->scratch_fd = -1;
	job->out_dir_made.parent_fd = -1;
	job->stg.pidfd = job->stg.report_fd = -1;
	job->stg.fetch.pidfd = job->stg.fetch.report_fd = job->stg.fetch.out_fd = -1;
	job->lf = none;
	job->admit = admit;
	job->out.data = job->err.data = job;
	job->result.out.limit = job->result.err.limit = spec->output_limit;
	uv_timer_init(loop, &job->timer);
	job->timer.data = job;
	uv_timer_init(loop, &job->cpu_timer);
	uv_timer_init(loop, &job->settle_timer);
	job->cpu_timer.data = job;
	job->exit_poll.data = job;

	r = open_caller_files(job, &job->lf, &err);
	if (r < 0) {
		job->outcome.rejected = true;
		start_end(job, r, &err);
		return;
	}
	r = prepare_early(job, &err);
	if (r == 0 && job->admit && (spec->archive || spec->job_conf)) {
		r = jr_job_stage_start(job, staged_cb, &err);
		if (r == 0) {
			job->state = JR_JOB_STAGING; /* staged_cb goes on from the loop */
			return;
		}
	}
	if (r == 0)
		r = prepare_late(job, &job->lf, &err);
	if (r == 0)
		r = launch(job, &job->lf, &err);
	start_end(job, r, &err);
}

/* The job's writes and the removal of its scratch tree dirty the disk's metadata (bitmaps,
 * inode tables, journal) in pages charged to the job's memcg. Dirty pages cannot be reclaimed
 * before the rmdir, and the removed memcg would linger as a dying one (measured: every other
 * --scratch job): write them back first. */
static void release_scratch(struct jr_job *job)
{
	struct jr_err err;
	char fdpath[64];
	int fd;

	jr_err_clear(&err);
	if (job->scratch_fd >= 0) {
		close_fd(&job->scratch_fd);
		if (jr_scratch_remove(job->scratch_base_fd, job->scratch_name, &err) < 0)
			jr_error("job=%s %s", job->spec->id, err.msg);
		if (job->scratch_quota &&
		    jr_quota_clear(job->scratch_base_fd, job->lease.uid, &err) < 0)
			jr_error("job=%s %s", job->spec->id, err.msg);
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", job->scratch_base_fd);
		fd = open(fdpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && syncfs(fd) < 0)
			jr_warn("sync %s: %s", job->spec->scratch, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	close_fd(&job->scratch_base_fd);
	free(job->scratch_dir);
	job->scratch_dir = NULL;
}

/* Last: the scratch directory (its page cache is charged to the job), then the cgroup. A
 * cgroup that would not empty is kept and its uid quarantined until it is gone. */
static void release_cgroup(struct jr_job *job)
{
	struct jr_err err;

	jr_err_clear(&err);
	release_scratch(job);
	if (!job->have_cg)
		return;
	if (job->cg_dirty) {
		int c;

		for (c = 0; c < JR_CG_N && !job->cg.dir[c]; c++)
			;
		if (c < JR_CG_N)
			jr_uid_quarantine(job->spec->runtime_dir, &job->lease, job->cg.dir[c]);
		jr_cg_release(&job->cg);
	} else {
		char *dirs[JR_CG_N] = { NULL };
		int c;

		for (c = 0; c < JR_CG_N; c++)
			if (job->cg.dir[c])
				dirs[c] = strdup(job->cg.dir[c]);
		if (jr_cg_destroy(&job->cg, &err) < 0) {
			/* a directory that would not go: quarantined, its record kept, so the
			 * next sweep (the slot's next lease, check --clean, serve's start) retries */
			jr_error("job=%s %s", job->spec->id, err.msg);
			for (c = 0; c < JR_CG_N; c++)
				if (dirs[c] && access(dirs[c], F_OK) == 0) {
					jr_uid_quarantine(job->spec->runtime_dir, &job->lease, dirs[c]);
					break;
				}
		}
		for (c = 0; c < JR_CG_N; c++)
			free(dirs[c]);
	}
	job->have_cg = false;
}

/* The workspace (its pages are the job's: before its cgroup goes), the cgroup, then the uid
 * lease, which lets another job have the uid. Thread pool: syscalls on the job's own state. */
static void teardown_work(uv_work_t *w)
{
	struct jr_job *job = w->data;

	jr_job_unstage(job);
	release_cgroup(job);
	jr_uid_release(&job->lease);
}

static void teardown_done(uv_work_t *w, int status)
{
	struct jr_job *job = w->data;

	(void)status;
	if (job->released_cb)
		job->released_cb(job);
}

static void closed_cb(uv_handle_t *h)
{
	struct jr_job *job = h->data;

	if (--job->closing > 0)
		return;
	close_fd(&job->pidfd);
	close_fd(&job->status_fd);
	close_fd(&job->out_dest);
	close_fd(&job->err_dest);
	close_fd(&job->workdir_fd);
	for (size_t i = 0; i < JR_MAX_BINDS; i++)
		close_fd(&job->bind_fds[i]);
	/* an output directory made for outputs that never came goes before the result names it */
	close_fd(&job->out_dir_fd);
	if (jr_cp_unmake(&job->out_dir_made)) {
		free(job->spec->output_dir);
		job->spec->output_dir = NULL;
	}
	jr_plan_free(&job->plan);
	jr_strv_free(&job->init_argv);
	job->state = JR_JOB_DONE;
	job->teardown.data = job;
	job->done_cb(job);
	/* the result is out: what the job leaves on the host goes now, off the loop thread */
	if (job->host->teardown_on_loop ||
	    uv_queue_work(job->loop, &job->teardown, teardown_work, teardown_done) < 0) {
		teardown_work(&job->teardown);
		teardown_done(&job->teardown, 0);
	}
}

static void close_handle(struct jr_job *job, uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h)) {
		h->data = job;
		job->closing++;
		uv_close(h, closed_cb);
	}
}

static void close_pump(struct jr_job *job, struct jr_pump *p)
{
	p->pipe.data = job;
	job->closing += jr_pump_close(p, closed_cb);
}

static void finish_decide(struct jr_job *job);

static void collect_work(uv_work_t *w)
{
	jr_job_collect(w->data);
}

static void collect_done(uv_work_t *w, int status)
{
	(void)status;
	finish_decide(w->data);
}

/* The one finish path: the outputs (copied off the loop thread: up to 30 s of file work),
 * decide, then release everything; done_cb when the last handle closed. */
static void finish(struct jr_job *job)
{
	if (job->state == JR_JOB_COLLECTING || job->state >= JR_JOB_CLOSING)
		return;
	job->state = JR_JOB_COLLECTING;
	job->teardown.data = job;
	if (job->ws_fd >= 0 && job->out_dir_fd >= 0 && job->spec->outputs.n && job->pid > 0 &&
	    uv_queue_work(job->loop, &job->teardown, collect_work, collect_done) == 0)
		return;
	jr_job_collect(job); /* nothing to copy (or no thread to do it) */
	finish_decide(job);
}

static void finish_decide(struct jr_job *job)
{
	job->result.outputs = &job->outputs;
	job->result.unpacked = &job->unpacked;
	job->result.uid = job->lease.uid;
	job->result.gid = job->lease.uid;
	/* output the job wrote but jobrun could not deliver (disk full, EIO): the counts and the
	 * verdict would vouch for a file that lacks it. jobrun's fault: XX. */
	if ((job->out.write_errno || job->err.write_errno) && !job->outcome.internal_error) {
		job->outcome.internal_error = true;
		snprintf(job->outcome.message, sizeof(job->outcome.message),
			 "writing the job's %s failed: %s", job->out.write_errno ? "stdout" : "stderr",
			 strerror(job->out.write_errno ? job->out.write_errno : job->err.write_errno));
	}
	jr_result_decide(&job->result, &job->outcome);
	jr_info("job=%s finished: %s %s", job->spec->id, jr_verdict_name(job->result.verdict),
		job->result.message);
	job->state = JR_JOB_CLOSING;
	/* close callbacks always run later, from the loop: counting here cannot race them */
	close_handle(job, (uv_handle_t *)&job->timer); /* always initialised: closing >= 1 */
	close_handle(job, (uv_handle_t *)&job->cpu_timer);
	close_handle(job, (uv_handle_t *)&job->settle_timer);
	close_handle(job, (uv_handle_t *)&job->exit_poll);
	close_handle(job, (uv_handle_t *)&job->oom_watch);
	job->closing += jr_job_stage_close(job, closed_cb);
	close_pump(job, &job->out);
	close_pump(job, &job->err);
}
