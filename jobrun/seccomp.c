/* seccomp.c - what a batch job never needs, denied with EPERM.
 *
 * A deny list (not an allow list) so that any program a job brings runs unchanged. Denied calls
 * fail with EPERM so programs report an error rather than die. Two exceptions:
 *   - clone3 fails with ENOSYS: seccomp cannot look inside clone3's struct, and EPERM would break
 *     pthread_create and posix_spawn in glibc; ENOSYS makes glibc fall back to clone, whose flags
 *     (arg0) the filter checks for CLONE_NEW*.
 *   - system calls of a foreign architecture (i386 int 0x80, x32) kill the process with SIGSYS:
 *     the job ends with verdict SG, signal 31. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const denied[] = {
	/* file systems and namespaces */
	"mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"open_by_handle_at", "name_to_handle_at", "quotactl", "quotactl_fd",
	/* kernel attack surface a batch job does not need */
	"keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "lookup_dcookie",
	/* debugging and reading other processes */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	/* the machine itself */
	"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "init_module",
	"finit_module", "delete_module", "acct", "settimeofday", "clock_settime", "clock_adjtime",
	"adjtimex", "syslog", "iopl", "ioperm", "uselib", "vhangup", "nfsservctl",
};

static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	CLONE_NEWNET,
};

/* System calls that set a file's mode, and the argument holding it. No setuid or setgid bit:
 * a file the job leaves in its --dir on a host file system mounted without nosuid would let any
 * host user become the job's uid, which a later job gets again (and a host process with that
 * uid can signal and ptrace it). openat2 hides its mode in a struct: ENOSYS, glibc falls back. */
static const struct {
	const char *name;
	unsigned arg;
} mode_calls[] = {
	{ "chmod", 1 }, { "fchmod", 1 }, { "fchmodat", 2 }, { "fchmodat2", 2 }, { "creat", 1 },
	{ "open", 2 }, { "openat", 3 }, { "mknod", 1 }, { "mknodat", 2 },
};

static int add_mode_rules(scmp_filter_ctx ctx, struct jr_err *err)
{
	static const scmp_datum_t bits[] = { S_ISUID, S_ISGID };
	size_t i, b;
	int r, nr;

	for (i = 0; i < sizeof(mode_calls) / sizeof(mode_calls[0]); i++) {
		nr = seccomp_syscall_resolve_name(mode_calls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		for (b = 0; b < 2; b++) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					     SCMP_CMP(mode_calls[i].arg, SCMP_CMP_MASKED_EQ, bits[b],
						      bits[b]));
			if (r < 0)
				return jr_err_set(err, -r, "seccomp rule for %s", mode_calls[i].name);
		}
	}
	nr = seccomp_syscall_resolve_name("openat2");
	if (nr != __NR_SCMP_ERROR && (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0)
		return jr_err_set(err, -r, "seccomp rule for openat2");
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, struct jr_err *err)
{
	size_t i;
	int r, nr;

	r = add_mode_rules(ctx, err);
	if (r < 0)
		return r;

	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return jr_err_set(err, -r, "seccomp rule for %s", denied[i]);
	}
	for (i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]));
		if (r < 0)
			return jr_err_set(err, -r, "seccomp rule for clone");
	}
	/* vsock is not network-namespaced: in a VM it reaches the hypervisor host (CID 2), on a
	 * host running VMs it reaches the guests, whatever the job's network namespace says */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
	if (r < 0)
		return jr_err_set(err, -r, "seccomp rule for socket(AF_VSOCK)");
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return jr_err_set(err, -r, "seccomp rule for clone3");
	/* The kernel reads ioctl's request as 32 bits: compare only those (CVE-2019-10063). */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCSTI));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCLINUX));
	if (r < 0)
		return jr_err_set(err, -r, "seccomp rule for ioctl");
	return 0;
}

int jr_seccomp_export(struct jr_err *err)
{
	scmp_filter_ctx ctx;
	int fd, r;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return jr_err_set(err, ENOMEM, "seccomp_init");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0) {
		jr_err_set(err, -r, "seccomp: foreign architecture action");
		goto out_release;
	}
	r = add_rules(ctx, err);
	if (r < 0)
		goto out_release;
	fd = memfd_create("jobrun-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		r = jr_err_set(err, errno, "memfd_create");
		goto out_release;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0) {
		jr_err_set(err, -r, "seccomp_export_bpf");
		close(fd);
		goto out_release;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	r = fd;
out_release:
	seccomp_release(ctx);
	return r;
}
