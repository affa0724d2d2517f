/* result.h - what happened to a job, the verdict rule, and the JSON contract (README.md). */
#ifndef JR_RESULT_H
#define JR_RESULT_H

#include "acct.h"
#include "collect.h"
#include "spec.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define JR_RESULT_VERSION 1

enum jr_verdict {
	JR_OK,
	JR_RE, /* nonzero exit */
	JR_SG, /* killed by a signal */
	JR_OL, /* output limit */
	JR_ML, /* memory limit: the job's own limit made the kernel kill a process of it */
	JR_TO, /* time limit */
	JR_RJ, /* rejected: could not start (bad input, command not found) */
	JR_XX, /* internal error: jobrun's fault */
};

/* What the unpack helper reported for a tarball job. */
struct jr_unpacked {
	bool done;
	uint64_t entries, bytes, stripped_setid;
	uint64_t cpu_usec, wall_usec; /* what unpacking took (not in the job's cpu or wall) */
};

struct jr_stream {
	uint64_t bytes;   /* everything the job wrote, including what was discarded */
	uint64_t limit;
	bool truncated;
	uint64_t undelivered; /* accepted bytes its destination never took (a stalled reader) */
};

/* Facts gathered while the job ran; the verdict is derived from them. */
struct jr_outcome {
	bool internal_error;    /* with message */
	bool rejected;          /* with message */
	bool exec_failed;       /* the command could not be executed */
	int exec_errno;
	bool timed_out_wall;
	bool timed_out_cpu;     /* the CPU-time budget was used up */
	bool oom_own;           /* a process was OOM-killed because of the job's memory limit */
	bool oom_host;          /* a process was OOM-killed by a host-wide (or ancestor) OOM */
	bool have_status;       /* wstatus is the command's */
	int wstatus;
	char message[512];
};

/* The rusage jobrun got when it reaped the job's PID 1 (jobrun-init): init's own and that of
 * every process of the job reaped in its pid namespace (by init, or by the kernel when the
 * namespace ended). */
struct jr_rusage {
	bool have;
	uint64_t user_usec, sys_usec;
	uint64_t max_rss_kib;   /* the largest of those processes' peak RSS */
	uint64_t nvcsw, nivcsw; /* voluntary and forced context switches, summed */
};

/* Who submitted the job to `jobrun serve` (its peer credentials). */
struct jr_submitter {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

struct jr_result {
	enum jr_verdict verdict;
	char message[512];
	bool exited;
	int exit_code;          /* valid when exited */
	int signal;             /* 0 when not killed by a signal */
	const char *limit;      /* "wall", "cpu", "memory", "output", or NULL */
	uint64_t wall_usec;
	struct timespec start, end;
	struct jr_stream out, err;
	uid_t uid;
	gid_t gid;
	int cg_version;         /* 0 when the job had no cgroup, 1, 2, 3 = mixed */
	struct jr_usage usage;
	const struct jr_outputs *outputs;   /* collected outputs, or NULL */
	const struct jr_unpacked *unpacked; /* a tarball job's unpacking, or NULL */
	const struct jr_submitter *submitter; /* a job of `jobrun serve`, or NULL */
	struct jr_rusage rusage;
};

const char *jr_verdict_name(enum jr_verdict v);

/* Classify OOM kills from the counters: the job's own limit (ML) or a host-wide (or ancestor
 * cgroup's) OOM. memory_limit: the job's limit in bytes, 0 when it had none. */
void jr_oom_classify(const struct jr_usage *u, uint64_t memory_limit, bool *own, bool *host);

/* Apply the verdict rule (first that applies wins: XX RJ TO ML OL SG RE OK) to an outcome. */
void jr_result_decide(struct jr_result *r, const struct jr_outcome *o);

/* Exit status of `jobrun run`: 0 OK, 1 any job verdict, 2 XX. */
int jr_result_exit_status(const struct jr_result *r);

/* The result as JSON text (caller frees), or NULL on allocation failure. */
char *jr_result_json(const struct jr_result *r, const struct jr_spec *spec);

/* The result in isolate's meta-file format (`key:value` lines: time, time-wall, max-rss,
 * csw-voluntary, csw-forced, cg-mem, cg-oom-killed, exitcode, exitsig, killed, status,
 * message; docs/result.md maps each verdict), caller frees; NULL on allocation failure. It is
 * made from the JSON result, so that both give the same figures. */
char *jr_result_meta(const struct jr_result *r, const struct jr_spec *spec);

/* The same from a result's JSON text (a client of `jobrun serve` has only that); NULL when
 * json is not a result object or on allocation failure. */
char *jr_result_meta_from_json(const char *json);

#endif
