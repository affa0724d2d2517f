/* seccomp.h - the job's seccomp filter, compiled at build time (seccomp-gen.c), handed over as
 * BPF in a memfd. */
#ifndef JR_SECCOMP_H
#define JR_SECCOMP_H

#include "err.h"

/* Copy the deny-list filter's BPF program (generated at build time for the build machine's
 * architecture) into a sealed memfd (O_CLOEXEC). Returns the fd or -errno. The child never
 * builds anything: jobrun-init loads the program with prctl(PR_SET_SECCOMP). */
enum jr_seccomp_filter {
	JR_SECCOMP_JOB,    /* the job's command */
	JR_SECCOMP_UNPACK, /* jobrun-unpack: the same, but openat2 allowed (it sets every mode) */
};

int jr_seccomp_export(enum jr_seccomp_filter which, struct jr_err *err);

#endif
