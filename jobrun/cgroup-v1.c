/* cgroup-v1.c - the cgroup v1 backend: one hierarchy per controller (or comounted).
 * Pitfalls (measured): memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes
 * (memory first when it falls, memsw first when it rises); lowering memory below what the
 * cgroup uses is EBUSY; a new cpuset cgroup refuses tasks until cpuset.cpus and cpuset.mems
 * are written; a cgroup's cfs quota may not exceed its ancestors'; there is no cgroup.events
 * (poll cgroup.procs); user/system times are ticks; buffered writeback is neither throttled
 * nor charged by blkio, whose statistics count only where a throttle rule is at work. */
#include "cgroup-internal.h"
#include "spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int copy_cpuset(const char *from, const char *to, const char *file, struct jr_err *err)
{
	char buf[1024];
	int r;

	if (jr_cg_read_text(to, file, buf, sizeof(buf)) == 0 && buf[0] && buf[0] != '\n')
		return 0;
	r = jr_cg_read_text(from, file, buf, sizeof(buf));
	if (r == 0)
		r = jr_cg_write(to, file, "%s", buf);
	return r < 0 ? jr_err_set(err, -r, "cpuset: copy %s from %s to %s", file, from, to) : 0;
}

static int copy_mems_from_parent(const char *dir, struct jr_err *err)
{
	char parent[4096], *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash)
		return jr_err_set(err, EINVAL, "cpuset: no parent for %s", dir);
	*slash = '\0';
	return copy_cpuset(parent, dir, "cpuset.mems", err);
}

static int v1_prepare_parent(const char *own, const char *parent, enum jr_ctrl c,
			     struct jr_err *err)
{
	if (c != JR_CG_CPUSET)
		return 0;
	if (copy_cpuset(own, parent, "cpuset.cpus", err) < 0 ||
	    copy_cpuset(own, parent, "cpuset.mems", err) < 0)
		return -err->code;
	return 0;
}

/* v1 takes "-1" for no limit. */
static int write_limit(const char *dir, const char *file, uint64_t v)
{
	if (v == JR_UNLIMITED)
		return jr_cg_write(dir, file, "-1");
	return jr_cg_write(dir, file, "%llu", (unsigned long long)v);
}

static int v1_mem(const char *dir, uint64_t v, struct jr_err *err)
{
	int r = write_limit(dir, "memory.limit_in_bytes", v);

	/* EBUSY: the cgroup uses more than v and the kernel could not reclaim it */
	return r < 0 ? jr_err_set(err, -r, "%s/memory.limit_in_bytes", dir) : 0;
}

static int v1_memsw(const char *dir, uint64_t old, uint64_t v, struct jr_err *err)
{
	int r;

	if (v == old)
		return 0;
	r = write_limit(dir, "memory.memsw.limit_in_bytes", v);
	if (r == -ENOENT) {
		/* no swap accounting (swapaccount=0): only possible to honour without swap
		 * (admission refuses a swap limit on a host with swap: jr_conf_apply) */
		if (v == JR_UNLIMITED || !jr_cg_host_has_swap())
			return 0;
		return jr_err_set(err, ENOTSUP, "swap limit: the host has swap but no "
				  "memory.memsw (boot with swapaccount=1)");
	}
	return r < 0 ? jr_err_set(err, -r, "%s/memory.memsw.limit_in_bytes", dir) : 0;
}

/* memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes (EINVAL): when memory
 * rises, memsw first; when it falls, memory first. */
static int v1_memory(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, struct jr_err *err)
{
	uint64_t om = jr_cg_mem_max(old), nm = jr_cg_mem_max(lim);
	uint64_t os = jr_cg_memsw_max(old), ns = jr_cg_memsw_max(lim);
	int r = 0;

	if (nm > om) {
		r = v1_memsw(dir, os, ns, err);
		if (r == 0)
			r = v1_mem(dir, nm, err);
		return r;
	}
	if (nm != om)
		r = v1_mem(dir, nm, err);
	if (r == 0)
		r = v1_memsw(dir, os, ns, err);
	return r;
}

/* Remove a rule with 0; the iops files are 32 bits (conf.c keeps values below 2^32 - 1). */
static int v1_io_dev(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, const struct jr_io_dev *d, struct jr_err *err)
{
	static const char *const files[4] = {
		"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
		"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
	};
	uint64_t v;
	int i, r;

	for (i = 0; i < 4; i++) {
		v = jr_cg_io_value(lim, d, i);
		if (v == jr_cg_io_value(old, d, i))
			continue;
		r = jr_cg_write(dir, files[i], "%u:%u %llu", d->major, d->minor,
				(unsigned long long)v);
		if (r < 0)
			return jr_err_set(err, -r, "%s/%s %u:%u", dir, files[i], d->major, d->minor);
	}
	return 0;
}

static int v1_io(const char *dir, const struct jr_cg_limits *old,
		 const struct jr_cg_limits *lim, struct jr_err *err)
{
	unsigned d;
	int r;

	for (d = 0; d < lim->ndevs; d++)
		if ((r = v1_io_dev(dir, old, lim, &lim->devs[d], err)) < 0)
			return r;
	for (d = 0; d < old->ndevs; d++) /* devices no longer limited */
		if ((r = v1_io_dev(dir, old, lim, &old->devs[d], err)) < 0)
			return r;
	return 0;
}

/* cpu.cfs_quota_us refused (EINVAL): a v1 cgroup's bandwidth may not exceed its ancestors'.
 * Name the ancestor that limits it, or give the kernel's word. */
static int v1_cpu_refused(const char *dir, uint64_t milli, struct jr_err *err)
{
	char path[4096], *slash;
	uint64_t q, p, best = JR_UNLIMITED;
	char where[4096] = "";

	snprintf(path, sizeof(path), "%s", dir);
	while ((slash = strrchr(path, '/')) && slash != path) {
		*slash = '\0';
		if (jr_cg_read_u64(path, "cpu.cfs_period_us", &p) < 0)
			break;
		if (jr_cg_read_u64(path, "cpu.cfs_quota_us", &q) < 0 || q == JR_UNLIMITED ||
		    (int64_t)q < 0 || !p)
			continue;
		if (q * 1000 / p < best) {
			best = q * 1000 / p;
			snprintf(where, sizeof(where), "%s", path);
		}
	}
	if (best == JR_UNLIMITED || milli <= best)
		return jr_err_set(err, EINVAL, "%s/cpu.cfs_quota_us", dir);
	return jr_err_set(err, 0, "cpus = %llu.%03llu is more than jobrun's own cgroup may use: "
			  "%s allows %llu.%03llu CPUs (cpu.cfs_quota_us / cpu.cfs_period_us)",
			  (unsigned long long)(milli / 1000), (unsigned long long)(milli % 1000),
			  where, (unsigned long long)(best / 1000),
			  (unsigned long long)(best % 1000));
}

static int v1_cpu(const char *dir, const struct jr_cg_limits *old,
		  const struct jr_cg_limits *lim, struct jr_err *err)
{
	uint64_t shares;
	int r;

	/* per 100 ms: the period every new cpu cgroup starts with (the kernel's default, not
	 * inherited), so it is not written */
	if (lim->cpus_milli != old->cpus_milli) {
		r = lim->cpus_milli ? jr_cg_write(dir, "cpu.cfs_quota_us", "%llu",
						  (unsigned long long)lim->cpus_milli * 100)
				    : jr_cg_write(dir, "cpu.cfs_quota_us", "-1");
		if (r == -EINVAL && lim->cpus_milli)
			return v1_cpu_refused(dir, lim->cpus_milli, err);
		if (r < 0)
			return jr_err_set(err, -r, "%s/cpu.cfs_quota_us", dir);
	}
	if (lim->cpu_weight != old->cpu_weight) {
		/* weight 100 is 1024 shares, the kernel's default; 2 is its least */
		shares = lim->cpu_weight ? lim->cpu_weight * 1024 / 100 : 1024;
		r = jr_cg_write(dir, "cpu.shares", "%llu",
				(unsigned long long)(shares < 2 ? 2 : shares));
		if (r < 0)
			return jr_err_set(err, -r, "%s/cpu.shares", dir);
	}
	return 0;
}

static int v1_cpuset(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, struct jr_err *err)
{
	char parent[4096], buf[1024], *slash;
	int r;

	if (lim->cpuset && old->cpuset && !strcmp(lim->cpuset, old->cpuset))
		return 0;
	if (lim->cpuset) {
		if ((r = jr_cg_write(dir, "cpuset.cpus", "%s", lim->cpuset)) < 0)
			return jr_err_set(err, -r, "%s/cpuset.cpus '%s'", dir, lim->cpuset);
		return copy_mems_from_parent(dir, err);
	}
	if (!old->cpuset)
		return 0;
	/* no cpuset any more: the parent's CPUs again */
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	r = slash ? jr_cg_read_text(parent, "cpuset.cpus", buf, sizeof(buf)) : -EINVAL;
	if (r == 0)
		r = jr_cg_write(dir, "cpuset.cpus", "%s", buf);
	return r < 0 ? jr_err_set(err, -r, "%s/cpuset.cpus", dir) : 0;
}

static int v1_apply(const char *dir, enum jr_ctrl c, const struct jr_cg_limits *old,
		    const struct jr_cg_limits *lim, struct jr_err *err)
{
	switch (c) {
	case JR_CG_MEMORY:
		return v1_memory(dir, old, lim, err);
	case JR_CG_CPU:
		return v1_cpu(dir, old, lim, err);
	case JR_CG_PIDS:
		return jr_cg_apply_pids(dir, old, lim, err);
	case JR_CG_IO:
		return v1_io(dir, old, lim, err);
	case JR_CG_CPUSET:
		return v1_cpuset(dir, old, lim, err);
	case JR_CG_CPUACCT:
	case JR_CG_N:
		return 0;
	}
	return 0;
}

static void v1_read(const char *dir, enum jr_ctrl c, struct jr_usage *u)
{
	char buf[4096];
	uint64_t v, user, sys;
	long tck = sysconf(_SC_CLK_TCK);

	switch (c) {
	case JR_CG_MEMORY:
		if (jr_cg_read_u64(dir, "memory.max_usage_in_bytes", &v) == 0) {
			u->have_mem_peak = true;
			u->mem_peak = v;
		}
		if (jr_cg_read_u64(dir, "memory.failcnt", &v) == 0) {
			u->have_failcnt = true;
			u->failcnt = v;
		}
		if (jr_cg_read_text(dir, "memory.oom_control", buf, sizeof(buf)) == 0 &&
		    jr_acct_keyed(buf, "oom_kill", &v) == 0) {
			u->have_oom_kill = true;
			u->oom_kill = v;
		}
		return;
	case JR_CG_CPUACCT:
		if (jr_cg_read_u64(dir, "cpuacct.usage", &v) == 0) {
			u->have_cpu = true;
			u->cpu_usec = v / 1000;
		}
		if (tck > 0 && jr_cg_read_text(dir, "cpuacct.stat", buf, sizeof(buf)) == 0 &&
		    jr_acct_keyed(buf, "user", &user) == 0 && jr_acct_keyed(buf, "system", &sys) == 0) {
			u->have_cpu_split = true;
			u->user_usec = user * 1000000 / (uint64_t)tck;
			u->sys_usec = sys * 1000000 / (uint64_t)tck;
		}
		return;
	case JR_CG_PIDS:
		if (jr_cg_read_u64(dir, "pids.peak", &v) == 0) {
			u->have_pids_peak = true;
			u->pids_peak = v;
		}
		if (jr_cg_read_text(dir, "pids.events", buf, sizeof(buf)) == 0 &&
		    jr_acct_keyed(buf, "max", &v) == 0) {
			u->have_forks_refused = true;
			u->forks_refused = v;
		}
		return;
	case JR_CG_IO:
		if (jr_cg_read_text(dir, "blkio.throttle.io_service_bytes_recursive", buf,
				    sizeof(buf)) == 0 &&
		    jr_acct_blkio(buf, &u->io_rbytes, &u->io_wbytes) == 0 &&
		    jr_cg_read_text(dir, "blkio.throttle.io_serviced_recursive", buf,
				    sizeof(buf)) == 0 &&
		    jr_acct_blkio(buf, &u->io_rios, &u->io_wios) == 0)
			u->have_io = true;
		return;
	case JR_CG_CPU:
	case JR_CG_CPUSET:
	case JR_CG_N:
		return;
	}
}

static int v1_cpu_usec(const char *dir, uint64_t *usec)
{
	uint64_t ns;
	int r = jr_cg_read_u64(dir, "cpuacct.usage", &ns);

	if (r == 0)
		*usec = ns / 1000;
	return r;
}

const struct jr_cg_ops jr_cg_v1_ops = {
	.prepare_parent = v1_prepare_parent,
	.apply = v1_apply,
	.read = v1_read,
	.cpu_usec = v1_cpu_usec,
	.kill = jr_cg_kill_procs,
};
