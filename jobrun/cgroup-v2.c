/* cgroup-v2.c - the cgroup v2 backend: one hierarchy, controllers enabled top-down through
 * cgroup.subtree_control, no processes in inner cgroups (except the root). */
#define _GNU_SOURCE
#include "cgroup-internal.h"
#include "spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *v2_name(enum jr_ctrl c)
{
	switch (c) {
	case JR_CG_MEMORY: return "memory";
	case JR_CG_CPU: return "cpu";
	case JR_CG_PIDS: return "pids";
	case JR_CG_IO: return "io";
	case JR_CG_CPUSET: return "cpuset";
	case JR_CG_CPUACCT:
	case JR_CG_N:
		return NULL;
	}
	return NULL;
}

/* The subtree_control of jobrun's own cgroup and of jobrun/, as read (and then written) for the
 * job being created: every v2 controller of a job asks about the same two directories, which
 * are read once per job (jr_cg_v2_forget at the start of each jr_cg_create) rather than twice
 * per controller. */
static struct {
	char dir[4096];
	char list[512]; /* " memory cpu " */
} seen[2];
static unsigned nseen;

void jr_cg_v2_forget(void)
{
	nseen = 0;
}

static char *subtree_of(const char *dir)
{
	char buf[512], *tok, *save = NULL;
	size_t n = 0;
	unsigned i;

	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i].dir, dir))
			return seen[i].list;
	if (jr_cg_read_text(dir, "cgroup.subtree_control", buf, sizeof(buf)) < 0)
		return NULL;
	if (nseen == sizeof(seen) / sizeof(seen[0]) || strlen(dir) >= sizeof(seen[0].dir))
		return NULL; /* not cached: enabled() reads it itself */
	i = nseen++;
	snprintf(seen[i].dir, sizeof(seen[i].dir), "%s", dir);
	seen[i].list[n++] = ' ';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		n += (size_t)snprintf(seen[i].list + n, n < sizeof(seen[i].list) ?
				      sizeof(seen[i].list) - n : 0, "%s ", tok);
	if (n >= sizeof(seen[i].list)) { /* cannot happen (a dozen controllers): do not cache */
		nseen--;
		return NULL;
	}
	return seen[i].list;
}

static int enabled(const char *dir, const char *name)
{
	char buf[512], *tok, *save = NULL, *list = subtree_of(dir);
	char word[64];

	if (list) {
		snprintf(word, sizeof(word), " %s ", name);
		return strstr(list, word) != NULL;
	}
	if (jr_cg_read_text(dir, "cgroup.subtree_control", buf, sizeof(buf)) < 0)
		return 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, name))
			return 1;
	return 0;
}

/* name is enabled in dir now: keep the cached list in step. */
static void note_enabled(const char *dir, const char *name)
{
	unsigned i;
	size_t n;

	for (i = 0; i < nseen; i++) {
		if (strcmp(seen[i].dir, dir))
			continue;
		n = strlen(seen[i].list);
		if (n + strlen(name) + 2 > sizeof(seen[i].list))
			seen[i] = seen[--nseen]; /* no room: forget this one */
		else
			snprintf(seen[i].list + n, sizeof(seen[i].list) - n, "%s ", name);
		return;
	}
}

/* Only jobrun's own process is in dir: it may move itself into a leaf to free dir. */
static int only_us(const char *dir)
{
	char buf[4096], *line, *save = NULL;
	int n = 0;

	if (jr_cg_read_text(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (atoi(line) != getpid())
			return 0;
		n++;
	}
	return n == 1;
}

/* Enable controller name in dir's subtree_control. The no-internal-processes rule: a
 * non-root cgroup with processes cannot enable controllers for its children. When the only
 * process there is jobrun itself, it moves into the leaf <dir>/supervisor first. */
static int enable(const char *dir, const char *name, struct jr_err *err)
{
	char leaf[4096];
	int r;

	if (enabled(dir, name))
		return 0;
	r = jr_cg_write(dir, "cgroup.subtree_control", "+%s", name);
	if (r == -EBUSY && only_us(dir)) {
		snprintf(leaf, sizeof(leaf), "%s/supervisor", dir);
		if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
			return jr_err_set(err, errno, "create %s", leaf);
		r = jr_cg_write(leaf, "cgroup.procs", "0");
		if (r < 0)
			return jr_err_set(err, -r, "move jobrun into %s", leaf);
		r = jr_cg_write(dir, "cgroup.subtree_control", "+%s", name);
	}
	if (r == -EBUSY)
		return jr_err_set(err, EBUSY, "cannot enable the %s controller in %s: other "
				  "processes live there (give jobrun a delegated cgroup: "
				  "--cgroup-parent, or systemd Delegate=yes)", name, dir);
	if (r < 0)
		return jr_err_set(err, -r, "enable %s in %s/cgroup.subtree_control", name, dir);
	note_enabled(dir, name);
	return 0;
}

static int v2_prepare_parent(const char *own, const char *parent, enum jr_ctrl c,
			     struct jr_err *err)
{
	const char *name = v2_name(c);

	if (!name)
		return 0;
	if (enable(own, name, err) < 0 || enable(parent, name, err) < 0)
		return -err->code;
	return 0;
}

/* io.max: "MAJ:MIN rbps=N wbps=max ...", only the keys that change. */
static int v2_io_dev(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, const struct jr_io_dev *d, struct jr_err *err)
{
	static const char *const keys[4] = { "rbps", "wbps", "riops", "wiops" };
	char line[256];
	uint64_t v;
	size_t n;
	int i, r, any = 0;

	n = (size_t)snprintf(line, sizeof(line), "%u:%u", d->major, d->minor);
	for (i = 0; i < 4; i++) {
		v = jr_cg_io_value(lim, d, i);
		if (v == jr_cg_io_value(old, d, i))
			continue;
		any = 1;
		if (v)
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu", keys[i],
					      (unsigned long long)v);
		else
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=max", keys[i]);
	}
	if (!any)
		return 0;
	r = jr_cg_write(dir, "io.max", "%s", line);
	return r < 0 ? jr_err_set(err, -r, "%s/io.max '%s'", dir, line) : 0;
}

static int v2_io(const char *dir, const struct jr_cg_limits *old,
		 const struct jr_cg_limits *lim, struct jr_err *err)
{
	unsigned d;
	int r;

	for (d = 0; d < lim->ndevs; d++)
		if ((r = v2_io_dev(dir, old, lim, &lim->devs[d], err)) < 0)
			return r;
	for (d = 0; d < old->ndevs; d++) /* devices no longer limited */
		if ((r = v2_io_dev(dir, old, lim, &old->devs[d], err)) < 0)
			return r;
	return 0;
}

/* v2 takes memory.max below memory.current: it reclaims what it can, then calls the OOM
 * killer, which finds nothing to kill in a cgroup where nothing runs, and the limit stays
 * below the usage (the job's first allocation would then kill it). So ask for the reclaim
 * first (memory.reclaim, 5.19+), and refuse a limit the cgroup still does not fit in: 0 it
 * fits, -EBUSY it does not, 1 not known before memory.max is written (no memory.reclaim). */
static int v2_fits(const char *dir, uint64_t max, struct jr_err *err)
{
	uint64_t cur;

	if (jr_cg_read_u64(dir, "memory.current", &cur) < 0 || cur <= max)
		return 0;
	if (jr_cg_write(dir, "memory.reclaim", "%llu", (unsigned long long)(cur - max)) == -ENOENT)
		return 1;
	if (jr_cg_read_u64(dir, "memory.current", &cur) < 0 || cur <= max)
		return 0;
	return jr_err_set(err, EBUSY, "%s/memory.max: %llu bytes in use", dir,
			  (unsigned long long)cur);
}

static int v2_memory(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, struct jr_err *err)
{
	uint64_t om = jr_cg_mem_max(old), nm = jr_cg_mem_max(lim);
	uint64_t os = om == JR_UNLIMITED ? JR_UNLIMITED : old->swap;
	uint64_t ns = nm == JR_UNLIMITED ? JR_UNLIMITED : lim->swap;
	int r, fits;

	if (nm != om) {
		fits = nm < om ? v2_fits(dir, nm, err) : 0;
		if (fits < 0)
			return fits;
		r = nm == JR_UNLIMITED ? jr_cg_write(dir, "memory.max", "max")
				       : jr_cg_write(dir, "memory.max", "%llu",
						     (unsigned long long)nm);
		if (r < 0)
			return jr_err_set(err, -r, "%s/memory.max", dir);
		/* (the write reclaimed what it could) */
		if (fits > 0 && (r = v2_fits(dir, nm, err)) != 0)
			return r < 0 ? r : jr_err_set(err, EBUSY, "%s/memory.max", dir);
	}
	if (ns != os) {
		r = ns == JR_UNLIMITED ? jr_cg_write(dir, "memory.swap.max", "max")
				       : jr_cg_write(dir, "memory.swap.max", "%llu",
						     (unsigned long long)ns);
		if (r == -ENOENT) {
			/* no swap accounting: as on v1, only honest on a host without swap */
			if (ns != JR_UNLIMITED && jr_cg_host_has_swap())
				return jr_err_set(err, ENOTSUP, "swap limit: the host has swap but no "
						  "memory.swap.max (swap accounting is off)");
		} else if (r < 0) {
			return jr_err_set(err, -r, "%s/memory.swap.max", dir);
		}
	}
	/* the job dies as one: a partial kill leaves a job in a state nobody asked for (no
	 * memory.oom.group before Linux 4.19: ENOENT) */
	if (nm != JR_UNLIMITED && om == JR_UNLIMITED) {
		r = jr_cg_write(dir, "memory.oom.group", "1");
		if (r < 0 && r != -ENOENT)
			return jr_err_set(err, -r, "%s/memory.oom.group", dir);
	}
	return 0;
}

static int v2_cpu(const char *dir, const struct jr_cg_limits *old,
		  const struct jr_cg_limits *lim, struct jr_err *err)
{
	int r;

	if (lim->cpus_milli != old->cpus_milli) {
		r = lim->cpus_milli ? jr_cg_write(dir, "cpu.max", "%llu 100000",
						  (unsigned long long)lim->cpus_milli * 100)
				    : jr_cg_write(dir, "cpu.max", "max 100000");
		if (r < 0)
			return jr_err_set(err, -r, "%s/cpu.max", dir);
	}
	if (lim->cpu_weight != old->cpu_weight) {
		r = jr_cg_write(dir, "cpu.weight", "%llu",
				(unsigned long long)(lim->cpu_weight ? lim->cpu_weight : 100));
		if (r < 0)
			return jr_err_set(err, -r, "%s/cpu.weight", dir);
	}
	return 0;
}

static int v2_apply(const char *dir, enum jr_ctrl c, const struct jr_cg_limits *old,
		    const struct jr_cg_limits *lim, struct jr_err *err)
{
	int r;

	switch (c) {
	case JR_CG_MEMORY:
		return v2_memory(dir, old, lim, err);
	case JR_CG_CPU:
		return v2_cpu(dir, old, lim, err);
	case JR_CG_PIDS:
		return jr_cg_apply_pids(dir, old, lim, err);
	case JR_CG_IO:
		return v2_io(dir, old, lim, err);
	case JR_CG_CPUSET:
		if ((lim->cpuset && old->cpuset && !strcmp(lim->cpuset, old->cpuset)) ||
		    (!lim->cpuset && !old->cpuset))
			return 0;
		/* empty: the parent's CPUs */
		r = jr_cg_write(dir, "cpuset.cpus", "%s", lim->cpuset ? lim->cpuset : "\n");
		if (r < 0)
			return jr_err_set(err, -r, "%s/cpuset.cpus '%s'", dir,
					  lim->cpuset ? lim->cpuset : "");
		return 0;
	case JR_CG_CPUACCT:
	case JR_CG_N:
		return 0;
	}
	return 0;
}

static void v2_read(const char *dir, enum jr_ctrl c, struct jr_usage *u)
{
	char buf[4096];
	uint64_t v;

	switch (c) {
	case JR_CG_MEMORY:
		if (jr_cg_read_u64(dir, "memory.peak", &v) == 0) {
			u->have_mem_peak = true;
			u->mem_peak = v;
		}
		if (jr_cg_read_text(dir, "memory.events", buf, sizeof(buf)) == 0) {
			if (jr_acct_keyed(buf, "oom", &v) == 0) {
				u->have_oom = true;
				u->oom = v;
			}
			if (jr_acct_keyed(buf, "oom_kill", &v) == 0) {
				u->have_oom_kill = true;
				u->oom_kill = v;
			}
		}
		return;
	case JR_CG_CPUACCT:
		if (jr_cg_read_text(dir, "cpu.stat", buf, sizeof(buf)) == 0 &&
		    jr_acct_keyed(buf, "usage_usec", &u->cpu_usec) == 0) {
			u->have_cpu = true;
			if (jr_acct_keyed(buf, "user_usec", &u->user_usec) == 0 &&
			    jr_acct_keyed(buf, "system_usec", &u->sys_usec) == 0)
				u->have_cpu_split = true;
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
		if (jr_cg_read_text(dir, "io.stat", buf, sizeof(buf)) == 0)
			jr_acct_io_stat(buf, u);
		return;
	case JR_CG_CPU:
	case JR_CG_CPUSET:
	case JR_CG_N:
		return;
	}
}

static int v2_cpu_usec(const char *dir, uint64_t *usec)
{
	char buf[1024];
	int r = jr_cg_read_text(dir, "cpu.stat", buf, sizeof(buf));

	return r < 0 ? r : jr_acct_keyed(buf, "usage_usec", usec);
}

static int v2_kill(const char *dir)
{
	char buf[64];
	uint64_t populated = 1;

	if (jr_cg_read_text(dir, "cgroup.events", buf, sizeof(buf)) == 0)
		jr_acct_keyed(buf, "populated", &populated);
	if (!populated)
		return 0;
	if (jr_cg_write(dir, "cgroup.kill", "1") < 0)
		jr_cg_kill_procs(dir); /* before 5.14 */
	return 1;
}

const struct jr_cg_ops jr_cg_v2_ops = {
	.prepare_parent = v2_prepare_parent,
	.apply = v2_apply,
	.read = v2_read,
	.cpu_usec = v2_cpu_usec,
	.kill = v2_kill,
};
