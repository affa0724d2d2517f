/* seccomp.h - the job's seccomp filter, built in the parent, handed over as BPF in a memfd. */
#ifndef JR_SECCOMP_H
#define JR_SECCOMP_H

#include "err.h"

/* Build the deny-list filter and export it as a BPF program into a sealed memfd (O_CLOEXEC).
 * Returns the fd or -errno. libseccomp's own seccomp_load() allocates, so the child never calls
 * libseccomp: jobrun-init loads the exported program with prctl(PR_SET_SECCOMP). */
int jr_seccomp_export(struct jr_err *err);

#endif
