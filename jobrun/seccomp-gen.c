/* seccomp-gen.c - build-time generator of the job's seccomp filter (not installed).
 *
 *   seccomp-gen OUT.h
 *
 * Builds the filter below with libseccomp and writes the BPF program it exports as a C array
 * (seccomp.c includes it), so that jobrun neither links libseccomp nor builds the filter for
 * every job. The program is for the architecture this generator runs on (libseccomp's native
 * one): the header records it, and seccomp.c refuses to compile for another target (no
 * cross-compiling of jobrun without running the generator on the target's architecture).
 *
 * What a batch job never needs, denied with EPERM.
 *
 * A deny list (not an allow list) so that any program a job brings runs unchanged. Denied calls
 * fail with EPERM so programs report an error rather than die. Two exceptions:
 *   - clone3 fails with ENOSYS: seccomp cannot look inside clone3's struct, and EPERM would break
 *     pthread_create and posix_spawn in glibc; ENOSYS makes glibc fall back to clone, whose flags
 *     (arg0) the filter checks for CLONE_NEW*.
 *   - system calls of a foreign architecture (i386 int 0x80, x32) kill the process with SIGSYS:
 *     the job ends with verdict SG, signal 31. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void fail(const char *what, int r)
{
	fprintf(stderr, "seccomp-gen: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static void add_mode_rules(scmp_filter_ctx ctx, int for_unpack)
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
				fail(mode_calls[i].name, r);
		}
	}
	if (for_unpack)
		return; /* jobrun-unpack needs openat2 and sets every mode itself (no setid bits) */
	nr = seccomp_syscall_resolve_name("openat2");
	if (nr != __NR_SCMP_ERROR && (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0)
		fail("openat2", r);
}

static void add_rules(scmp_filter_ctx ctx, int for_unpack)
{
	size_t i;
	int r, nr;

	add_mode_rules(ctx, for_unpack);
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			fail(denied[i], r);
	}
	for (i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]));
		if (r < 0)
			fail("clone", r);
	}
	/* vsock is not network-namespaced: in a VM it reaches the hypervisor host (CID 2), on a
	 * host running VMs it reaches the guests, whatever the job's network namespace says */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
	if (r < 0)
		fail("socket(AF_VSOCK)", r);
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		fail("clone3", r);
	/* The kernel reads ioctl's request as 32 bits: compare only those (CVE-2019-10063). */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCSTI));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCLINUX));
	if (r < 0)
		fail("ioctl", r);
}

/* Build one variant of the filter; returns its BPF program (n instructions). */
static struct sock_filter *build(int for_unpack, size_t *n)
{
	struct sock_filter *prog;
	scmp_filter_ctx ctx;
	off_t size;
	int fd, r;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		fail("seccomp_init", ENOMEM);
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		fail("foreign architecture action", r);
	add_rules(ctx, for_unpack);
	fd = memfd_create("seccomp-gen", MFD_CLOEXEC);
	if (fd < 0)
		fail("memfd_create", errno);
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		fail("seccomp_export_bpf", r);
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(*prog) || size / (off_t)sizeof(*prog) > 4096)
		fail("exported program size", EINVAL);
	*n = (size_t)size / sizeof(*prog);
	prog = malloc((size_t)size);
	if (!prog || pread(fd, prog, (size_t)size, 0) != (ssize_t)size)
		fail("read the exported program", prog ? errno : ENOMEM);
	close(fd);
	seccomp_release(ctx);
	return prog;
}

static void write_array(FILE *out, const char *name, const struct sock_filter *prog, size_t n)
{
	size_t i;

	fprintf(out, "static const struct sock_filter %s[%zu] = {\n", name, n);
	for (i = 0; i < n; i++)
		fprintf(out, "\t{ 0x%04x, %u, %u, 0x%08x },\n", prog[i].code, prog[i].jt, prog[i].jf,
			prog[i].k);
	fprintf(out, "};\n");
}

int main(int argc, char **argv)
{
	const struct scmp_version *v = seccomp_version();
	struct sock_filter *job, *unpack;
	size_t njob, nunpack;
	char tmp[4096];
	FILE *out;

	if (argc != 2) {
		fprintf(stderr, "usage: seccomp-gen OUT.h\n");
		return 2;
	}
	job = build(0, &njob);
	unpack = build(1, &nunpack);
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	out = fopen(tmp, "w");
	if (!out)
		fail(tmp, errno);
	fprintf(out, "/* Generated by seccomp-gen (jobrun/seccomp-gen.c, libseccomp %u.%u.%u): the "
		"rules are\n * there. Do not edit. For audit architecture 0x%08x only. */\n",
		v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, seccomp_arch_native());
	fprintf(out, "#define JR_SECCOMP_AUDIT_ARCH 0x%08xU\n", seccomp_arch_native());
	write_array(out, "jr_seccomp_bpf", job, njob);
	write_array(out, "jr_seccomp_unpack_bpf", unpack, nunpack);
	if (fclose(out) != 0 || rename(tmp, argv[1]) < 0)
		fail(argv[1], errno);
	free(job);
	free(unpack);
	return 0;
}
