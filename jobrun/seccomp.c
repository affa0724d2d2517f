/* seccomp.c - the job's seccomp filter, handed to the sandbox as BPF in a sealed memfd.
 *
 * The filter (a deny list: what a batch job never needs, denied with EPERM; the rules and their
 * reasons are in seccomp-gen.c) is compiled at build time: seccomp-gen links libseccomp, builds
 * it and writes the BPF program into $(BUILD)/seccomp-bpf.h. jobrun only copies that array into
 * a memfd, so it neither links libseccomp nor builds the filter for every job.
 *
 * The program is for the build machine's architecture (libseccomp's native one); it kills a
 * process that makes a system call of any other architecture. A build whose target differs
 * (cross-compiling) stops here with an error rather than install a filter for another machine. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seccomp-bpf.h" /* generated: JR_SECCOMP_AUDIT_ARCH, jr_seccomp_bpf[] */

#if defined(__x86_64__) && !defined(__ILP32__)
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARMEL__)
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__powerpc64__)
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_PPC64
#elif defined(__s390x__)
#define JR_TARGET_AUDIT_ARCH AUDIT_ARCH_S390X
#endif
#ifdef JR_TARGET_AUDIT_ARCH
_Static_assert(JR_SECCOMP_AUDIT_ARCH == JR_TARGET_AUDIT_ARCH,
	       "seccomp-bpf.h was generated for another architecture than this build's target");
#endif

int jr_seccomp_export(enum jr_seccomp_filter which, struct jr_err *err)
{
	const void *prog = which == JR_SECCOMP_UNPACK ? (const void *)jr_seccomp_unpack_bpf
						      : (const void *)jr_seccomp_bpf;
	const size_t size = which == JR_SECCOMP_UNPACK ? sizeof(jr_seccomp_unpack_bpf)
						       : sizeof(jr_seccomp_bpf);
	size_t done = 0;
	ssize_t n;
	int fd, r;

	fd = memfd_create("jobrun-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return jr_err_set(err, errno, "memfd_create");
	while (done < size) {
		n = write(fd, (const char *)prog + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = jr_err_set(err, n < 0 ? errno : EIO, "write the seccomp program");
			close(fd);
			return r;
		}
		done += (size_t)n;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	return fd;
}
