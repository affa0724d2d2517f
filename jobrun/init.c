/* init.c - jobrun-init, PID 1 of every job (a small static program).
 *
 * It starts the job's command, which drops to the job's uid/gid, clears every capability
 * (bounding and ambient too), sets no_new_privs, loads the seccomp program and execs. Then
 * jobrun-init drops to a uid of its own (not the job's: the job can neither signal it nor ptrace
 * it), becomes non-dumpable, reaps orphans, and reports the command's wait status to jobrun over
 * fd 3. When it exits, the kernel kills every process left in the job's pid namespace.
 *
 * PID 1 of a pid namespace ignores signals it has no handler for, even SIGKILL sent from
 * inside, so this program installs none: only jobrun (outside the namespace) can kill it.
 *
 * Start-up cost: every job execs this program, so it is built without a C library on x86-64
 * (JR_INIT_NOLIBC, the Makefile's INIT_NOLIBC): its own _start, system calls made directly, no
 * libc initialisation. A static glibc program spends ~0.3 ms before main on these VMs, most of
 * it in CPUID instructions that trap to the hypervisor (glibc's CPU feature and cache
 * detection); this one starts in ~0.15 ms, like any exec. On other architectures (or with
 * INIT_NOLIBC= on the make command line) it links the C library as before and makes the same
 * system calls through syscall(2). Either way it only makes system calls: no
 * allocation, no stdio, no locale. */
#define _GNU_SOURCE
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The Makefile defines JR_INIT_NOLIBC (and links with -nostdlib) on x86-64. */
#if defined(JR_INIT_NOLIBC) && !(defined(__x86_64__) && !defined(__ILP32__))
#error "JR_INIT_NOLIBC: x86-64 only (build with INIT_NOLIBC= for the C library)"
#endif

#define MAX_BPF_INSNS 4096

static struct sock_filter bpf[MAX_BPF_INSNS];
static struct sock_fprog prog;

/* ---- system calls: return the result, or -errno ---- */

#ifdef JR_INIT_NOLIBC
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static __attribute__((noreturn)) void sys_exit(int status)
{
	for (;;)
		sys6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

static long sys_fork(void)
{
	return sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
}

static long sys_wait(int *status)
{
	return sys6(SYS_wait4, -1, (long)status, 0, 0, 0, 0);
}
#else
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);

	return r < 0 ? -errno : r;
}

static __attribute__((noreturn)) void sys_exit(int status)
{
	_exit(status);
}

static long sys_fork(void)
{
	pid_t p = fork();

	return p < 0 ? -errno : p;
}

static long sys_wait(int *status)
{
	pid_t p = waitpid(-1, status, 0);

	return p < 0 ? -errno : p;
}
#endif

#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static long sys_prctl(int op, unsigned long a)
{
	return sys5(SYS_prctl, op, a, 0, 0, 0);
}

/* ---- small string helpers (no libc) ---- */

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A decimal number, digits only, that fits in 64 bits: 0, or -1 when not one. */
static int parse_u64(const char *s, unsigned long long *v)
{
	unsigned long long x = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (~0ULL - (unsigned)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (unsigned)(*s - '0');
	}
	*v = x;
	return 0;
}

/* ---- reporting to jobrun ---- */

static void report(int kind, int stage, int err, int wstatus)
{
	struct jr_msg m = { .kind = kind, .stage = stage, .err = err, .wstatus = wstatus };
	long r;

	do
		r = sys3(SYS_write, JR_INIT_STATUS_FD, &m, sizeof(m));
	while (r == -EINTR);
}

/* err: a negative system call result (-errno) */
static __attribute__((noreturn)) void fail(int kind, int stage, long err)
{
	report(kind, stage, (int)-err, 0);
	sys_exit(127);
}

/* "inf" -> RLIM_INFINITY, "-" -> leave unchanged (returns 1), number -> value. */
static int parse_limit(const char *s, unsigned long long *v)
{
	if (str_eq(s, "-"))
		return 1;
	if (str_eq(s, "inf")) {
		*v = RLIM_INFINITY;
		return 0;
	}
	return parse_u64(s, v);
}

static int parse_id(const char *s, unsigned *v)
{
	unsigned long long x;

	if (parse_u64(s, &x) < 0 || x >= (unsigned)-1)
		return -1;
	*v = (unsigned)x;
	return 0;
}

static long set_limit(int resource, const char *arg)
{
	struct rlimit rl;
	unsigned long long v;
	int r = parse_limit(arg, &v);

	if (r > 0)
		return 0;
	if (r < 0)
		return -EINVAL;
	rl.rlim_cur = rl.rlim_max = v;
	return sys4(SYS_prlimit64, 0, resource, &rl, NULL);
}

static long read_seccomp(void)
{
	size_t got = 0;
	long r;

	while (got < sizeof(bpf)) {
		r = sys4(SYS_pread64, JR_INIT_SECCOMP_FD, (char *)bpf + got, sizeof(bpf) - got, got);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == 0 || got % sizeof(bpf[0]) || got == sizeof(bpf))
		return -EINVAL;
	prog.len = (unsigned short)(got / sizeof(bpf[0]));
	prog.filter = bpf;
	sys1(SYS_close, JR_INIT_SECCOMP_FD);
	return 0;
}

/* Clear the bounding set (needs CAP_SETPCAP, so before the uid change) and the ambient set. */
static long drop_bounding(void)
{
	long r;
	int cap;

	r = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
	if (r < 0 && r != -EINVAL)
		return r;
	for (cap = 0; cap <= 63; cap++) {
		r = sys_prctl(PR_CAPBSET_DROP, (unsigned long)cap);
		if (r == -EINVAL)
			break; /* past the kernel's last capability */
		if (r < 0)
			return r;
	}
	return 0;
}

/* After the uid change the effective and permitted sets are empty; clear inheritable too. */
static long clear_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };

	return sys2(SYS_capset, &hdr, data);
}

/* The bounding and ambient sets were cleared before the fork (drop_bounding in init_main).
 * Returns 0, or the failed stage with *err set. (Single-threaded: the raw set*id calls are
 * what glibc's wrappers make.) */
static int become(unsigned uid, unsigned gid, long *err)
{
	if ((*err = sys2(SYS_setgroups, 0, NULL)) < 0 ||
	    (*err = sys3(SYS_setresgid, gid, gid, gid)) < 0)
		return JR_STAGE_CMD_SETGID;
	if ((*err = sys3(SYS_setresuid, uid, uid, uid)) < 0)
		return JR_STAGE_CMD_SETUID;
	if ((*err = clear_caps()) < 0)
		return JR_STAGE_CMD_CAPS;
	if ((*err = sys_prctl(PR_SET_NO_NEW_PRIVS, 1)) < 0)
		return JR_STAGE_CMD_NO_NEW_PRIVS;
	return 0;
}

/* Raising oom_score_adj needs no privilege. */
static long set_oom_adj(const char *value)
{
	size_t len = str_len(value);
	long fd = sys4(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0);
	long r;

	if (fd < 0)
		return fd;
	r = sys3(SYS_write, fd, value, len);
	sys1(SYS_close, fd);
	return r < 0 ? r : (size_t)r != len ? -EIO : 0;
}

/* The value of NAME in envp, or NULL. */
static const char *env_get(char **envp, const char *name)
{
	size_t n = str_len(name), i;

	for (; *envp; envp++) {
		for (i = 0; i < n && (*envp)[i] == name[i]; i++)
			;
		if (i == n && (*envp)[n] == '=')
			return *envp + n + 1;
	}
	return NULL;
}

/* execve, and when the file is not an executable format (ENOEXEC) run it with /bin/sh, as
 * glibc's execvpe does. Returns -errno. */
static long exec_one(const char *path, char **argv, char **envp)
{
	long r = sys3(SYS_execve, path, argv, envp);
	size_t argc;

	if (r != -ENOEXEC)
		return r;
	for (argc = 0; argv[argc]; argc++)
		;
	{
		char *sh_argv[argc > 1 ? argc + 2 : 3];
		size_t i;

		sh_argv[0] = (char *)"/bin/sh";
		sh_argv[1] = (char *)path;
		for (i = 1; i < argc; i++)
			sh_argv[i + 1] = argv[i];
		sh_argv[argc > 1 ? argc + 1 : 2] = NULL;
		return sys3(SYS_execve, sh_argv[0], sh_argv, envp);
	}
}

/* glibc's execvpe: a name with a slash is executed as it is, any other is looked up in the
 * PATH of envp ("/bin:/usr/bin" without one; an empty entry is the working directory, an entry
 * of PATH_MAX or more is skipped); EACCES from any candidate wins over the last error. */
static long exec_path(const char *file, char **argv, char **envp)
{
	char buf[4096 + 256 + 1];
	const char *path, *p, *end;
	size_t flen = str_len(file), dlen, i;
	int eacces = 0;
	long r = -ENOENT;

	if (!flen)
		return -ENOENT;
	for (i = 0; i < flen; i++)
		if (file[i] == '/')
			return exec_one(file, argv, envp);
	if (flen > 255) /* NAME_MAX */
		return -ENAMETOOLONG;
	path = env_get(envp, "PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		for (end = p; *end && *end != ':'; end++)
			;
		dlen = (size_t)(end - p);
		if (dlen < 4095) {
			for (i = 0; i < dlen; i++)
				buf[i] = p[i];
			if (dlen)
				buf[dlen++] = '/';
			for (i = 0; i <= flen; i++)
				buf[dlen + i] = file[i];
			r = exec_one(buf, argv, envp);
			switch (r) {
			case -EACCES:
				eacces = 1;
				break;
			case -ENOENT:
			case -ESTALE:
			case -ENOTDIR:
			case -ENODEV:
			case -ETIMEDOUT:
				break;
			default:
				return r;
			}
		}
		if (!*end)
			break;
	}
	return eacces ? -EACCES : r;
}

static __attribute__((noreturn)) void run_command(char **argv, char **envp, unsigned uid,
						  unsigned gid)
{
	long r;
	int stage;

	if ((r = sys0(SYS_setsid)) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_SETSID, r);
	if ((r = set_limit(RLIMIT_NOFILE, argv[JR_IARG_NOFILE])) < 0 ||
	    (r = set_limit(RLIMIT_STACK, argv[JR_IARG_STACK])) < 0 ||
	    (r = set_limit(RLIMIT_FSIZE, argv[JR_IARG_FSIZE])) < 0 ||
	    (r = set_limit(RLIMIT_CPU, argv[JR_IARG_CPU])) < 0 ||
	    (r = set_limit(RLIMIT_CORE, "0")) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_RLIMIT, r);
	if (!str_eq(argv[JR_IARG_OOM_ADJ], "-") && (r = set_oom_adj(argv[JR_IARG_OOM_ADJ])) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_OOM_ADJ, r);
	if ((r = sys1(SYS_chdir, argv[JR_IARG_CWD])) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_CHDIR, r);
	stage = become(uid, gid, &r);
	if (stage)
		fail(JR_MSG_INIT_FAILED, stage, r);
	if ((r = sys3(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_SECCOMP, r);
	r = exec_path(argv[JR_IARG_CMD], argv + JR_IARG_CMD, envp);
	fail(JR_MSG_EXEC_FAILED, JR_STAGE_NONE, r);
}

static int init_main(int argc, char **argv, char **envp)
{
	unsigned uid, gid, init_uid, init_gid;
	long cmd, r;
	int st, stage;

	if (sys3(SYS_fcntl, JR_INIT_STATUS_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 126; /* not started by jobrun: nobody to tell */
	if (argc <= JR_IARG_CMD || !str_eq(argv[JR_IARG_SEP], "--") ||
	    parse_id(argv[JR_IARG_UID], &uid) || parse_id(argv[JR_IARG_GID], &gid) ||
	    parse_id(argv[JR_IARG_INIT_UID], &init_uid) ||
	    parse_id(argv[JR_IARG_INIT_GID], &init_gid))
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_ARGS, -EINVAL);
	if ((r = read_seccomp()) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_SECCOMP_READ, r);

	if ((r = drop_bounding()) < 0) /* once, for the command and for us */
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_CAPS, r);
	cmd = sys_fork();
	if (cmd < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_FORK, cmd);
	if (cmd == 0)
		run_command(argv, envp, uid, gid);

	/* Only the command and its descendants keep the job's stdio open. */
	sys1(SYS_close, 0);
	sys1(SYS_close, 1);
	sys1(SYS_close, 2);
	if ((stage = become(init_uid, init_gid, &r)) != 0 ||
	    (r = sys_prctl(PR_SET_DUMPABLE, 0)) < 0 ||
	    (r = sys_prctl(PR_SET_PDEATHSIG, SIGKILL)) < 0) {
		/* our exit takes the command with it */
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_DROP, r);
	}
	/* A parent-death signal set after the parent died never comes: jobrun may have died
	 * before the clone child's PR_SET_PDEATHSIG, or before ours (the uid change cleared it).
	 * jobrun holds the only read end of the status pipe: POLLERR on ours means it is gone. */
	{
		struct pollfd pfd = { .fd = JR_INIT_STATUS_FD, .events = POLLOUT };
		struct timespec now = { 0, 0 };

		if (sys5(SYS_ppoll, &pfd, 1, &now, NULL, 0) == 1 && (pfd.revents & POLLERR))
			sys_exit(127);
	}
	for (;;) {
		long p = sys_wait(&st);

		if (p == cmd) {
			report(JR_MSG_EXITED, JR_STAGE_NONE, 0, st);
			sys_exit(0);
		}
		if (p == -ECHILD)
			sys_exit(0); /* cannot happen: the command is our child */
	}
}

#ifdef JR_INIT_NOLIBC
/* What the compiler may call on its own (struct copies and initialisers). The Makefile builds
 * this file with -ffreestanding -fno-tree-loop-distribute-patterns, so that these loops (and
 * str_len) are not turned back into calls. */
void *memset(void *d, int c, size_t n);
void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n);
void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

/* The stack protector's canary lives at %fs:0x28: a thread pointer of our own, and the
 * kernel's AT_RANDOM bytes as the canary. */
static unsigned long tls_block[16] __attribute__((aligned(64)));

void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
	sys_exit(127);
}

__attribute__((noreturn, used, no_stack_protector)) void jr_init_start(long *sp);
__attribute__((noreturn, used, no_stack_protector)) void jr_init_start(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1, **e;
	unsigned long *auxv, canary = 0;

	for (e = envp; *e; e++)
		;
	for (auxv = (unsigned long *)(e + 1); auxv[0]; auxv += 2)
		if (auxv[0] == 25 /* AT_RANDOM */)
			canary = *(const unsigned long *)auxv[1];
	tls_block[0] = (unsigned long)tls_block; /* %fs:0 points at itself, as the ABI has it */
	tls_block[5] = canary & ~0xffUL;         /* %fs:0x28; a zero low byte stops string reads */
	if (sys2(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, tls_block) < 0)
		sys_exit(126);
	sys_exit(init_main(argc, argv, envp));
}

__asm__(".text\n"
	".global _start\n"
	".type _start, @function\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call jr_init_start\n"
	"	hlt\n");
#else
int main(int argc, char **argv, char **envp)
{
	return init_main(argc, argv, envp);
}
#endif
