/* cgroup-update.c - write new limits into a job's cgroup (after its job config was read). */
#define _GNU_SOURCE
#include "cgroup-internal.h"
#include "spec.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cgroup did not fit in the lower memory limit (-EBUSY from the backend): what unpacking
 * left there is the job's own doing. Say which limit, and by how much. */
static int over_memory(const struct jr_cgroup *cg, const struct jr_cg_host *h,
		       const struct jr_cg_limits *lim, struct jr_err *err)
{
	const char *dir = cg->dir[JR_CG_MEMORY];
	bool v1 = h->ctrl[JR_CG_MEMORY].version == 1;
	char used[32], over[32], max[32];
	uint64_t use, memsw = jr_cg_memsw_max(lim);

	if (jr_cg_read_u64(dir, v1 ? "memory.usage_in_bytes" : "memory.current", &use) < 0)
		return -err->code;
	if (use > lim->memory)
		return jr_err_set(err, 0, "the unpacked files use %s of memory, %s above the job's "
				  "memory limit of %s", jr_cg_mib(use, used, sizeof(used)),
				  jr_cg_mib(use - lim->memory, over, sizeof(over)),
				  jr_format_size(lim->memory, max, sizeof(max)));
	if (v1 && memsw != JR_UNLIMITED &&
	    jr_cg_read_u64(dir, "memory.memsw.usage_in_bytes", &use) == 0 && use > memsw)
		return jr_err_set(err, 0, "the unpacked files use %s of memory and swap, %s above "
				  "the job's memory + swap limit of %s", jr_cg_mib(use, used, sizeof(used)),
				  jr_cg_mib(use - memsw, over, sizeof(over)),
				  jr_format_size(memsw, max, sizeof(max)));
	return -err->code; /* it fits now: the backend's own message */
}

int jr_cg_update(struct jr_cgroup *cg, const struct jr_cg_host *h,
		 const struct jr_cg_limits *lim, struct jr_err *err)
{
	struct jr_cg_limits next = *lim;
	char *cpuset = NULL;
	int c, r;

	next.memory_unpack = 0;
	if (lim->cpuset && !cg->dir[JR_CG_CPUSET])
		return jr_err_set(err, 0, "a cpuset can only be given on the command line");
	if (lim->cpuset && (!cg->cpuset || strcmp(lim->cpuset, cg->cpuset))) {
		cpuset = strdup(lim->cpuset);
		if (!cpuset)
			return jr_err_set(err, ENOMEM, "cgroup limits");
	}
	next.cpuset = cpuset ? cpuset : lim->cpuset ? cg->cpuset : NULL;
	for (c = 0; c < JR_CG_N; c++) {
		if (!cg->dir[c]) {
			/* a limit only the job config asks for: jr_cg_create checked the others */
			if (!jr_cg_requested((enum jr_ctrl)c, &next))
				continue;
			free(cpuset);
			return jr_err_set(err, 0, "cannot enforce the %s limit: no %s controller is "
					  "available to jobrun here (see jobrun check)",
					  jr_cg_ctrl_name((enum jr_ctrl)c),
					  jr_cg_ctrl_name((enum jr_ctrl)c));
		}
		r = jr_cg_ops_of(h->ctrl[c].version)->apply(cg->dir[c], (enum jr_ctrl)c,
							    &cg->applied, &next, err);
		if (r == -EBUSY && c == JR_CG_MEMORY)
			r = over_memory(cg, h, &next, err);
		if (r < 0) {
			free(cpuset);
			return r;
		}
	}
	if (cpuset || !next.cpuset) {
		free(cg->cpuset);
		cg->cpuset = cpuset;
	}
	cg->applied = next;
	cg->applied.cpuset = cg->cpuset;
	return 0;
}
