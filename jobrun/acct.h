/* acct.h - usage accounting read from the kernel, and pure parsers of cgroup files. A counter
 * the kernel does not offer stays absent (have_* false): reported as null, never guessed. */
#ifndef JR_ACCT_H
#define JR_ACCT_H

#include <stdbool.h>
#include <stdint.h>

struct jr_usage {
	bool have_cpu;
	uint64_t cpu_usec;      /* exact total */
	bool have_cpu_split;
	uint64_t user_usec;     /* tick-sampled by the kernel */
	uint64_t sys_usec;

	bool have_mem_peak;
	uint64_t mem_peak;
	bool have_oom;          /* v2 memory.events "oom": the job's own limit invoked the OOM killer */
	uint64_t oom;
	bool have_oom_kill;
	uint64_t oom_kill;      /* processes of the job killed by any OOM */
	bool have_failcnt;      /* v1: times the limit was hit */
	uint64_t failcnt;

	bool have_pids_peak;
	uint64_t pids_peak;
	bool have_forks_refused;
	uint64_t forks_refused; /* pids.events "max" */

	bool have_io;
	uint64_t io_rbytes, io_wbytes, io_rios, io_wios;
};

/* Find "key value" in text made of such lines (cpu.stat, memory.events, memory.oom_control,
 * pids.events, cpuacct.stat). Returns 0 and sets *v, or -ENOENT. */
int jr_acct_keyed(const char *text, const char *key, uint64_t *v);

/* Sum a v2 io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N ...") over every device. */
int jr_acct_io_stat(const char *text, struct jr_usage *u);

/* Sum a v1 blkio throttle file ("MAJ:MIN Read N" ...): *read and *write over every device. */
int jr_acct_blkio(const char *text, uint64_t *read, uint64_t *write);

/* Parse a single unsigned decimal value ("123\n"); "max" gives UINT64_MAX. */
int jr_acct_value(const char *text, uint64_t *v);

#endif
