/* bench/cgroup-ops.c - what a job's cgroup costs jobrun, without the rest of the job.
 *
 * Builds against the objects of a build directory (root; cgroups of this host):
 *   cc -O2 -iquote jobrun -o /tmp/cgroup-ops bench/cgroup-ops.c \
 *      BUILD/cgroup.o BUILD/cgroup-v1.o BUILD/cgroup-v2.o BUILD/cgroup-job.o BUILD/acct.o BUILD/err.o
 *   /tmp/cgroup-ops [N]        (N jobs, default 300)
 *
 * Each iteration is one job's cgroup life as jobrun lives it, with the same limits as the bench's
 * "limits" row (--memory 256M --pids 64 --cpus 1): jr_cg_create, a child that enters it the way
 * the clone child does (a write to each v1 cgroup.procs; on v2 it forks from a process already
 * inside, which is close enough) and exits at once, jr_cg_kill_wait, jr_cg_read, jr_cg_destroy.
 * Prints the medians in microseconds. The child runs nothing, so the memory cgroup holds less
 * than after a real job and the reclaim before removal (memory.force_empty) is cheaper here than
 * in a job (~0.5 ms there). Within one process and one minute the figures move by a few per cent:
 * fit for comparing two builds of the cgroup code, where the whole-job bench (run.sh, ab.sh)
 * cannot see tens of microseconds. The job cgroups are named job-<4000000000 + pid % 1000>. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 10000

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	static double create[MAX_N], wait_[MAX_N], readc[MAX_N], destroy[MAX_N], total[MAX_N];
	int n = argc > 1 ? atoi(argv[1]) : 300, i, st;
	struct jr_cg_limits lim;
	struct jr_cg_host h;
	struct jr_cgroup cg;
	struct jr_usage u;
	struct jr_err err;
	unsigned k;

	if (n < 1 || n > MAX_N) {
		fprintf(stderr, "usage: cgroup-ops [N (1..%d)]\n", MAX_N);
		return 2;
	}
	if (jr_cg_detect(&h, &err) < 0) {
		fprintf(stderr, "cgroup-ops: %s\n", err.msg);
		return 1;
	}
	memset(&lim, 0, sizeof(lim));
	lim.memory = 256ULL << 20;
	lim.swap = 0;
	lim.cpus_milli = 1000;
	lim.pids = 64;
	for (i = 0; i < n; i++) {
		double t0, t1, t2, t3, t4, t5;
		pid_t c;

		t0 = now_us();
		if (jr_cg_create(&cg, &h, NULL, 4000000000U + (unsigned)(getpid() % 1000), &lim,
				 &err) < 0) {
			fprintf(stderr, "cgroup-ops: create: %s\n", err.msg);
			return 1;
		}
		t1 = now_us();
		c = fork();
		if (c == 0) {
			for (k = 0; k < cg.nv1; k++)
				if (write(cg.v1_procs[k], "0", 1) != 1)
					_exit(3);
			_exit(0);
		}
		if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "cgroup-ops: the child could not enter the cgroup\n");
			jr_cg_destroy(&cg, NULL);
			return 1;
		}
		t2 = now_us();
		if (jr_cg_kill_wait(&cg, &h, 2000, &err) < 0)
			fprintf(stderr, "cgroup-ops: %s\n", err.msg);
		t3 = now_us();
		jr_cg_read(&cg, &h, &u);
		t4 = now_us();
		if (jr_cg_destroy(&cg, &err) < 0)
			fprintf(stderr, "cgroup-ops: %s\n", err.msg);
		t5 = now_us();
		create[i] = t1 - t0;
		wait_[i] = t3 - t2;
		readc[i] = t4 - t3;
		destroy[i] = t5 - t4;
		total[i] = (t1 - t0) + (t5 - t2);
	}
	printf("%d jobs, median us: create %.0f, kill_wait %.0f, read %.0f, destroy %.0f; "
	       "total %.0f\n", n, median(create, n), median(wait_, n), median(readc, n),
	       median(destroy, n), median(total, n));
	jr_cg_host_free(&h);
	return 0;
}
