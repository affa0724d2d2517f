/* manyjobs.c - N jobs at once on one libuv loop in one process, through the job lifecycle
 * (job.h) that `jobrun run` drives for one job: each must end with its own right verdict, and
 * the loop must close clean (uv_loop_close() == 0) with no descriptor left open. TAP on stdout.
 *
 *   manyjobs N RUNTIME_DIR UID_BASE UID_COUNT     (as root; UID_COUNT >= N)
 *
 * Job i runs `/bin/sh -c 'echo job-i; exit $((i % 3))'` with its stdout in /dev/null: verdict
 * OK for i % 3 == 0, else RE with exit code i % 3; every fifth job also gets a wall-clock limit
 * of 100 ms and sleeps past it (verdict TO). */
#define _GNU_SOURCE
#include "job.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct slot {
	struct jr_job job;
	struct jr_spec spec;
	int index;
	bool done;
};

static unsigned finished;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

static void done_cb(struct jr_job *job)
{
	struct slot *s = job->data;

	s->done = true;
	finished++;
}

static int make_spec(struct slot *s, int i, const char *rt, unsigned base, unsigned count)
{
	char cmd[128], id[32];
	struct jr_spec *spec = &s->spec;

	jr_spec_init(spec);
	snprintf(id, sizeof(id), "many-%d", i);
	if (i % 5 == 4) {
		snprintf(cmd, sizeof(cmd), "echo job-%d; sleep 5", i);
		spec->wall_usec = 100000;
	} else {
		snprintf(cmd, sizeof(cmd), "echo job-%d; exit %d", i, i % 3);
	}
	free(spec->runtime_dir);
	spec->runtime_dir = strdup(rt);
	spec->id = strdup(id);
	spec->stdout_path = strdup("/dev/null");
	spec->stderr_path = strdup("/dev/null");
	spec->uid_base = base;
	spec->uid_count = count;
	spec->cg.pids = 16;
	spec->cg.memory = 64 << 20;
	if (!spec->runtime_dir || !spec->id || !spec->stdout_path || !spec->stderr_path ||
	    jr_strv_push(&spec->env, "PATH=/usr/bin:/bin") < 0 ||
	    jr_strv_push(&spec->argv, "/bin/sh") < 0 || jr_strv_push(&spec->argv, "-c") < 0 ||
	    jr_strv_push(&spec->argv, cmd) < 0)
		return -ENOMEM;
	s->index = i;
	return 0;
}

/* The verdict job i must get. */
static void want(int i, enum jr_verdict *v, int *code)
{
	*code = i % 3;
	if (i % 5 == 4)
		*v = JR_TO;
	else
		*v = *code ? JR_RE : JR_OK;
}

static int check(struct slot *slots, int n)
{
	int i, bad = 0, code;
	enum jr_verdict v;

	for (i = 0; i < n; i++) {
		const struct jr_result *r = &slots[i].job.result;

		want(i, &v, &code);
		if (!slots[i].done || r->verdict != v ||
		    (v != JR_TO && r->exit_code != code)) {
			printf("# job %d: done %d, verdict %s (%s), exit %d; want %s, exit %d\n", i,
			       slots[i].done, jr_verdict_name(r->verdict), r->message, r->exit_code,
			       jr_verdict_name(v), code);
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct rlimit nofile;
	struct jr_host host;
	struct slot *slots;
	struct jr_err err;
	uv_loop_t loop;
	int n, i, fds0, fds1, bad, rc;

	if (argc != 5) {
		fprintf(stderr, "usage: manyjobs N RUNTIME_DIR UID_BASE UID_COUNT\n");
		return 2;
	}
	n = atoi(argv[1]);
	/* ~20 descriptors a job while it starts: 50 jobs need more than a 1024 soft limit */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	memset(&host, 0, sizeof(host));
	jr_err_clear(&err);
	if (mkdir(argv[2], 0700) < 0 && errno != EEXIST) {
		printf("Bail out! mkdir %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (jr_cg_detect(&host.cg, &err) < 0)
		memset(&host.cg, 0, sizeof(host.cg));
	/* libuv's process-wide signal pipe is made by the first loop and stays: make it first */
	if (uv_loop_init(&loop) < 0 || uv_loop_close(&loop) < 0)
		return 1;
	fds0 = count_fds(); /* before the loop: its own descriptors go with uv_loop_close() */
	slots = calloc((size_t)n, sizeof(*slots));
	if (!slots || uv_loop_init(&loop) < 0)
		return 1;
	for (i = 0; i < n; i++)
		if (make_spec(&slots[i], i, argv[2], (unsigned)atol(argv[3]),
			      (unsigned)atol(argv[4])) < 0)
			return 1;
	for (i = 0; i < n; i++) { /* all started before the loop runs: all at once */
		jr_job_start(&slots[i].job, &loop, &slots[i].spec, &host, NULL, done_cb);
		slots[i].job.data = &slots[i];
	}
	if (getenv("MANY_DEBUG"))
		jr_log_set_level(JR_LOG_DEBUG);
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&loop);
	fds1 = count_fds();
	printf("1..4\n");
	printf("%s 1 - %d jobs started at once on one loop, %u finished\n",
	       finished == (unsigned)n ? "ok" : "not ok", n, finished);
	bad = check(slots, n);
	printf("%s 2 - each got its own right verdict and exit code (%d wrong)\n",
	       bad ? "not ok" : "ok", bad);
	printf("%s 3 - uv_loop_close() == 0 (%d)\n", rc == 0 ? "ok" : "not ok", rc);
	printf("%s 4 - no descriptor left open (%d before, %d after)\n",
	       fds0 == fds1 ? "ok" : "not ok", fds0, fds1);
	if (fds0 != fds1 && getenv("MANY_DEBUG"))
		if (system("ls -l /proc/$PPID/fd >&2") != 0)
			puts("# cannot list the descriptors");
	for (i = 0; i < n; i++) {
		jr_outputs_free(&slots[i].job.outputs);
		jr_spec_free(&slots[i].spec);
	}
	free(slots);
	jr_cg_host_free(&host.cg);
	return finished == (unsigned)n && !bad && rc == 0 && fds0 == fds1 ? 0 : 1;
}
