/* cgroup-update.c - write new limits into a job's cgroup (after its job config was read). */
#include "cgroup-internal.h"

int jr_cg_update(struct jr_cgroup *cg, const struct jr_cg_host *h,
		 const struct jr_cg_limits *lim, struct jr_err *err)
{
	int c, r;

	for (c = 0; c < JR_CG_N; c++) {
		if (!cg->dir[c])
			continue;
		r = jr_cg_ops_of(h->ctrl[c].version)->apply(cg->dir[c], (enum jr_ctrl)c, lim, err);
		if (r < 0)
			return r;
	}
	return 0;
}
