/* cgroup-job.c - one job's cgroup: create (fresh, limits written), read, kill, remove. */
#define _GNU_SOURCE
#include "cgroup-internal.h"
#include "spec.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Remove a job directory left by a jobrun that died: its job died with it (parent-death
 * signal), so the directory empties on its own. One that stays busy is a live job of another
 * jobrun whose uid range overlaps ours with another --runtime-dir. Never kill it. */
static int remove_leftover(const char *dir, int version, struct jr_err *err)
{
	char buf[64];
	int i;

	(void)version;
	for (i = 0; i < 200; i++) {
		if (jr_cg_read_text(dir, "cgroup.procs", buf, sizeof(buf)) < 0 || !buf[0])
			break;
		sleep_ms(5);
	}
	if (i == 200)
		return jr_err_set(err, EBUSY, "cgroup %s holds a running job (of a jobrun with "
				  "another --runtime-dir?)", dir);
	if (rmdir(dir) < 0 && errno != ENOENT) /* ENOENT: its own jobrun removed it just now */
		return jr_err_set(err, errno, "remove leftover cgroup %s", dir);
	return 0;
}

/* The job's directory first: jobrun/ is usually there (other jobs, or the leftovers of earlier
 * ones), and is made only when the first mkdir says it is missing. */
static int make_job_dir(const char *parent, const char *dir, int version, struct jr_err *err)
{
	int attempt;

	for (attempt = 0; attempt < 4; attempt++) {
		if (mkdir(dir, 0755) == 0)
			return 0;
		if (errno == EEXIST) {
			if (remove_leftover(dir, version, err) < 0)
				return -err->code;
			continue;
		}
		if (errno != ENOENT)
			return jr_err_set(err, errno, "create %s", dir);
		/* no jobrun/: the first job here, or the last one removed it when idle (maybe
		 * just now: then the next mkdir of dir fails with ENOENT again, and we retry) */
		if (mkdir(parent, 0755) == 0 || errno == EEXIST)
			continue;
		if (errno == ENOENT) /* jobrun's own cgroup exists: only a cgroup parent can not */
			return jr_err_set(err, ENOENT, "create %s: the cgroup parent (--cgroup-parent, "
					  "jobrun.conf's cgroup_parent) must exist in every hierarchy",
					  parent);
		return jr_err_set(err, errno, "create %s", parent);
	}
	return jr_err_set(err, EAGAIN, "create %s", dir);
}

/* The same directory already used by another controller (comounted v1, or v2)? */
static int shared_dir(const struct jr_cgroup *cg, const char *dir)
{
	int c;

	for (c = 0; c < JR_CG_N; c++)
		if (cg->dir[c] && !strcmp(cg->dir[c], dir))
			return 1;
	return 0;
}

static int create_one(struct jr_cgroup *cg, const struct jr_cg_host *h, const char *parent_rel,
		      unsigned slot, enum jr_ctrl c, const struct jr_cg_limits *lim,
		      struct jr_err *err)
{
	const struct jr_cg_ctrl *x = &h->ctrl[c];
	char *own = NULL, *parent = NULL, *dir = NULL;
	int r;

	if (parent_rel)
		r = asprintf(&own, "%s%s", x->mount, parent_rel);
	else
		r = asprintf(&own, "%s", x->own);
	if (r < 0 || asprintf(&parent, "%s/jobrun", own) < 0 ||
	    asprintf(&dir, "%s/job-%u", parent, slot) < 0) {
		r = jr_err_set(err, ENOMEM, "cgroup paths");
		goto out;
	}
	if (!shared_dir(cg, dir)) {
		r = make_job_dir(parent, dir, x->version, err);
		if (r < 0)
			goto out;
	}
	cg->dir[c] = dir;
	dir = NULL;
	r = jr_cg_ops_of(x->version)->prepare_parent(own, parent, c, err);
	if (r == 0)
		r = jr_cg_ops_of(x->version)->apply(cg->dir[c], c, &jr_cg_no_limits, lim, err);
out:
	free(own);
	free(parent);
	free(dir);
	return r;
}

static int open_entry(struct jr_cgroup *cg, const struct jr_cg_host *h, struct jr_err *err)
{
	char path[4096];
	int c, d, seen_v1 = 0, seen_v2 = 0;

	for (c = 0; c < JR_CG_N; c++) {
		if (!cg->dir[c])
			continue;
		if (h->ctrl[c].version == 2) {
			seen_v2 = 1;
			if (cg->v2_fd < 0) {
				cg->v2_fd = open(cg->dir[c], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (cg->v2_fd < 0)
					return jr_err_set(err, errno, "open %s", cg->dir[c]);
			}
			continue;
		}
		seen_v1 = 1;
		for (d = 0; d < c; d++)
			if (cg->dir[d] && !strcmp(cg->dir[d], cg->dir[c]))
				break;
		if (d < c)
			continue; /* comounted: one write moves the process in both */
		/* read-write: the child writes itself in; jr_cg_kill_wait reads it afterwards */
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[c]);
		cg->v1_procs[cg->nv1] = open(path, O_RDWR | O_CLOEXEC);
		if (cg->v1_procs[cg->nv1] < 0)
			return jr_err_set(err, errno, "open %s", path);
		cg->nv1++;
	}
	cg->version = seen_v1 && seen_v2 ? 3 : seen_v2 ? 2 : seen_v1 ? 1 : 0; /* 0: no cgroup */
	return 0;
}

int jr_cg_create(struct jr_cgroup *cg, const struct jr_cg_host *h, const char *parent,
		 unsigned slot, const struct jr_cg_limits *lim, struct jr_err *err)
{
	struct jr_cg_limits eff = *lim; /* while a staged job is unpacked: memory_unpack */
	int c, r;

	memset(cg, 0, sizeof(*cg));
	jr_cg_v2_forget();
	cg->v2_fd = -1;
	cg->applied = jr_cg_no_limits;
	for (c = 0; c < JR_CG_N; c++)
		cg->v1_procs[c] = -1;
	if (lim->memory_unpack)
		eff.memory = lim->memory_unpack == JR_UNLIMITED ? 0 : lim->memory_unpack;
	eff.memory_unpack = 0;
	if (lim->cpuset && !(eff.cpuset = cg->cpuset = strdup(lim->cpuset)))
		return jr_err_set(err, ENOMEM, "cgroup limits");
	for (c = 0; c < JR_CG_N; c++) {
		if (!h->ctrl[c].version) {
			if (jr_cg_requested(c, lim) || jr_cg_requested(c, &eff)) {
				r = jr_err_set(err, ENOTSUP, "cannot enforce the %s limit: no %s "
					       "controller is available to jobrun here (see jobrun "
					       "check)", jr_cg_ctrl_name(c), jr_cg_ctrl_name(c));
				goto fail;
			}
			continue;
		}
		if (c == JR_CG_CPUSET && !lim->cpuset)
			continue;
		r = create_one(cg, h, parent, slot, (enum jr_ctrl)c, &eff, err);
		if (r < 0)
			goto fail;
	}
	r = open_entry(cg, h, err);
	if (r < 0)
		goto fail;
	cg->applied = eff;
	return 0;
fail:
	jr_cg_destroy(cg, NULL);
	return r;
}

void jr_cg_read(const struct jr_cgroup *cg, const struct jr_cg_host *h, struct jr_usage *u)
{
	int c;

	memset(u, 0, sizeof(*u));
	for (c = 0; c < JR_CG_N; c++)
		if (cg->dir[c])
			jr_cg_ops_of(h->ctrl[c].version)->read(cg->dir[c], (enum jr_ctrl)c, u);
	/* v1 with a memsw limit: a charge is tried on memsw first, and failing there it never
	 * reaches memory.failcnt (and 6.x keeps no memory.memsw.failcnt): not a count of hits */
	if (cg->dir[JR_CG_MEMORY] && h->ctrl[JR_CG_MEMORY].version == 1 && h->v1_memsw &&
	    jr_cg_memsw_max(&cg->applied) != JR_UNLIMITED)
		u->have_failcnt = false;
	/* v1 blkio counts only where throttling is at work (6.1: in a cgroup with a rule of its
	 * own; later kernels: on a disk where some cgroup has one): a job with I/O limits has
	 * rules on every disk under its binds, --dir and --scratch; else 0 proves nothing */
	if (cg->dir[JR_CG_IO] && h->ctrl[JR_CG_IO].version == 1 &&
	    !(cg->applied.ndevs && jr_cg_requested(JR_CG_IO, &cg->applied)))
		u->have_io = false;
}

int jr_cg_unpack_oom(const struct jr_cgroup *cg, const struct jr_cg_host *h, struct jr_err *err)
{
	char lim[32], peak[32];
	struct jr_usage u;
	bool own;

	if (!cg->dir[JR_CG_MEMORY] || !cg->applied.memory)
		return 0;
	jr_cg_read(cg, h, &u);
	if (!u.have_oom_kill || !u.oom_kill)
		return 0;
	if (u.have_oom) /* v2: the cgroup's own limit invoked the OOM killer */
		own = u.oom > 0;
	else /* v1: the peak reached the limit (the kernel says no more) */
		own = !u.have_mem_peak || u.mem_peak + 65536 >= cg->applied.memory;
	if (!own)
		return 0;
	jr_format_size(cg->applied.memory, lim, sizeof(lim));
	if (u.have_mem_peak)
		return jr_err_set(err, 0, "the unpacked files do not fit in the job's memory limit "
				  "while unpacking (%s): the kernel OOM-killed jobrun-unpack at %s",
				  lim, jr_cg_mib(u.mem_peak, peak, sizeof(peak)));
	return jr_err_set(err, 0, "the unpacked files do not fit in the job's memory limit while "
			  "unpacking (%s): the kernel OOM-killed jobrun-unpack", lim);
}

int jr_cg_cpu_usec(const struct jr_cgroup *cg, const struct jr_cg_host *h, uint64_t *usec)
{
	if (!cg->dir[JR_CG_CPUACCT])
		return -ENOENT;
	return jr_cg_ops_of(h->ctrl[JR_CG_CPUACCT].version)->cpu_usec(cg->dir[JR_CG_CPUACCT], usec);
}

int jr_cg_ops_kill(const char *dir, int version)
{
	return jr_cg_ops_of(version)->kill(dir);
}

/* All v1: is every directory empty, by its cgroup.procs fd (one pread each, no open)? */
static bool v1_all_empty(const struct jr_cgroup *cg)
{
	char buf[64];
	unsigned i;

	if (cg->version != 1)
		return false;
	for (i = 0; i < cg->nv1; i++)
		if (cg->v1_procs[i] < 0 || jr_cg_read_fd(cg->v1_procs[i], buf, sizeof(buf)) < 0 ||
		    buf[0])
			return false;
	return true;
}

int jr_cg_kill_once(const struct jr_cgroup *cg, const struct jr_cg_host *h)
{
	int c, left = -1;

	/* the usual case: PID 1 is dead, and every process of its namespace with it */
	if (v1_all_empty(cg))
		return -1;
	for (c = 0; c < JR_CG_N; c++)
		if (cg->dir[c] && jr_cg_ops_kill(cg->dir[c], h->ctrl[c].version) > 0)
			left = c;
	return left;
}

int jr_cg_busy_error(const struct jr_cgroup *cg, int left, int waited_ms, struct jr_err *err)
{
	char buf[256];
	int c;

	if (jr_cg_read_text(cg->dir[left], "cgroup.procs", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	for (c = 0; buf[c]; c++)
		if (buf[c] == '\n')
			buf[c] = ' ';
	return jr_err_set(err, EBUSY, "cgroup %s still holds processes after %d ms: %s",
			  cg->dir[left], waited_ms, buf);
}

int jr_cg_kill_wait(const struct jr_cgroup *cg, const struct jr_cg_host *h, int timeout_ms,
		    struct jr_err *err)
{
	int waited = 0, left;

	for (;;) {
		left = jr_cg_kill_once(cg, h);
		if (left < 0)
			return 0;
		if (waited >= timeout_ms)
			break;
		sleep_ms(waited < 20 ? 1 : 10);
		waited += waited < 20 ? 1 : 10;
	}
	return jr_cg_busy_error(cg, left, timeout_ms, err);
}

static bool keep_parents;

void jr_cg_keep_parents(bool keep)
{
	keep_parents = keep;
}

int jr_cg_destroy(struct jr_cgroup *cg, struct jr_err *err)
{
	int c, d, r = 0;

	/* Page cache the job left behind (files it wrote to --dir or --scratch, files it read
	 * first) stays charged to its memcg, and a removed memcg with charges lingers as a dying
	 * cgroup (with its parent) until the pages are reclaimed: two per job, without bound.
	 * Reclaim first: v1 memory.force_empty, v2 memory.reclaim (5.19+). Best effort.
	 * It is the dearest step of a job's cgroup (~0.5 ms on v1 even when nothing is left: the
	 * kernel retries 16 times while the job's last kernel objects, freed after an RCU grace
	 * period, keep the counter above zero). Measured and rejected: memory.limit_in_bytes 0
	 * (one reclaim pass, no per-CPU LRU drain: it left a dying memcg after most jobs that read
	 * a small file) and running it in a thread while the other directories go (slower on two
	 * busy vCPUs). Not tried: skipping it when memory.stat shows no pages, as those counters
	 * are flushed lazily (zeros there are no proof). */
	if (cg->dir[JR_CG_MEMORY] &&
	    jr_cg_write(cg->dir[JR_CG_MEMORY], "memory.force_empty", "0") == -ENOENT)
		jr_cg_write(cg->dir[JR_CG_MEMORY], "memory.reclaim", "%llu", 1ULL << 40);
	for (c = JR_CG_N - 1; c >= 0; c--) {
		char *slash;

		if (!cg->dir[c])
			continue;
		for (d = 0; d < c; d++)
			if (cg->dir[d] && !strcmp(cg->dir[d], cg->dir[c]))
				break;
		if (d == c) {
			if (rmdir(cg->dir[c]) < 0 && errno != ENOENT && r == 0)
				r = jr_err_set(err, errno, "remove cgroup %s", cg->dir[c]);
			/* and jobrun/ when no other job uses it (EBUSY/ENOTEMPTY otherwise); never
			 * for a supervisor, whose next job may be making its cgroup there now */
			slash = keep_parents ? NULL : strrchr(cg->dir[c], '/');
			if (slash) {
				*slash = '\0';
				rmdir(cg->dir[c]);
				*slash = '/';
			}
		}
	}
	jr_cg_release(cg);
	return r;
}

void jr_cg_release(struct jr_cgroup *cg)
{
	int c;

	for (c = 0; c < JR_CG_N; c++) {
		free(cg->dir[c]);
		cg->dir[c] = NULL;
		if (cg->v1_procs[c] >= 0)
			close(cg->v1_procs[c]);
		cg->v1_procs[c] = -1;
	}
	if (cg->v2_fd >= 0)
		close(cg->v2_fd);
	cg->v2_fd = -1;
	cg->nv1 = 0;
	free(cg->cpuset);
	cg->cpuset = NULL;
	cg->applied = jr_cg_no_limits;
}
