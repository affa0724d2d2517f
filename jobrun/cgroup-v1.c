/* cgroup-v1.c - the cgroup v1 backend: one hierarchy per controller (or comounted).
 * Pitfalls (measured): write memory.limit_in_bytes before memory.memsw.limit_in_bytes; a new
 * cpuset cgroup refuses tasks until cpuset.cpus and cpuset.mems are written; there is no
 * cgroup.events (poll cgroup.procs); user/system times are ticks; buffered writeback is
 * neither throttled nor charged by blkio. */
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

static int v1_memory(const char *dir, const struct jr_cg_limits *lim, struct jr_err *err)
{
	int r;

	if (!lim->memory)
		return 0;
	r = jr_cg_write(dir, "memory.limit_in_bytes", "%llu", (unsigned long long)lim->memory);
	if (r < 0)
		return jr_err_set(err, -r, "%s/memory.limit_in_bytes", dir);
	if (lim->swap == JR_UNLIMITED)
		return 0;
	r = jr_cg_write(dir, "memory.memsw.limit_in_bytes", "%llu",
			(unsigned long long)(lim->memory + lim->swap));
	if (r == -ENOENT) {
		/* no swap accounting (swapaccount=0): only possible to honour without swap */
		char buf[256];

		if (jr_cg_read_text("/proc", "swaps", buf, sizeof(buf)) == 0 &&
		    strchr(buf, '\n') && strchr(buf, '\n')[1])
			return jr_err_set(err, ENOTSUP, "swap limit: the host has swap but no "
					  "memory.memsw (boot with swapaccount=1)");
		return 0;
	}
	return r < 0 ? jr_err_set(err, -r, "%s/memory.memsw.limit_in_bytes", dir) : 0;
}

static int v1_io(const char *dir, const struct jr_cg_limits *lim, struct jr_err *err)
{
	static const char *const files[4] = {
		"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
		"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
	};
	uint64_t vals[4] = { lim->io_rbps, lim->io_wbps, lim->io_riops, lim->io_wiops };
	unsigned d, i;
	int r;

	for (d = 0; d < lim->ndevs; d++)
		for (i = 0; i < 4; i++) {
			if (!vals[i])
				continue;
			r = jr_cg_write(dir, files[i], "%u:%u %llu", lim->devs[d].major,
					lim->devs[d].minor, (unsigned long long)vals[i]);
			if (r < 0)
				return jr_err_set(err, -r, "%s/%s %u:%u", dir, files[i],
						  lim->devs[d].major, lim->devs[d].minor);
		}
	return 0;
}

static int v1_apply(const char *dir, enum jr_ctrl c, const struct jr_cg_limits *lim,
		    struct jr_err *err)
{
	int r = 0;

	switch (c) {
	case JR_CG_MEMORY:
		return v1_memory(dir, lim, err);
	case JR_CG_CPU:
		/* per 100 ms: the period every new cpu cgroup starts with (the kernel's default,
		 * not inherited), so it is not written */
		if (lim->cpus_milli)
			r = jr_cg_write(dir, "cpu.cfs_quota_us", "%llu",
					(unsigned long long)lim->cpus_milli * 100);
		if (r == 0 && lim->cpu_weight)
			r = jr_cg_write(dir, "cpu.shares", "%llu",
					(unsigned long long)(lim->cpu_weight * 1024 / 100 ?
							     lim->cpu_weight * 1024 / 100 : 2));
		return r < 0 ? jr_err_set(err, -r, "%s: cpu limits", dir) : 0;
	case JR_CG_PIDS:
		return jr_cg_apply_pids(dir, lim, err);
	case JR_CG_IO:
		return v1_io(dir, lim, err);
	case JR_CG_CPUSET:
		if (!lim->cpuset)
			return 0;
		if ((r = jr_cg_write(dir, "cpuset.cpus", "%s", lim->cpuset)) < 0)
			return jr_err_set(err, -r, "%s/cpuset.cpus '%s'", dir, lim->cpuset);
		return copy_mems_from_parent(dir, err);
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
