/* probe.c - reports from inside a jobrun sandbox, for tests/integration.
 *
 *   probe SUBCOMMAND [ARGS...]
 *
 * Every report is a `key=value` line on stdout (easy to grep); an errno is printed by its name
 * (EPERM), a success as OK. Where the kernel would give a different errno than seccomp's EPERM
 * (bad flags, a bad fd, a missing pid), the probe passes such arguments on purpose, so EPERM can
 * only come from the filter: run outside the sandbox the same subcommand shows the difference.
 * The probe never sends traffic anywhere but loopback: connect() in an empty network namespace
 * fails locally (ENETUNREACH), and `net` tries it only when lo is the only interface and there
 * is no route (else it prints not-tried), towards documentation addresses (192.0.2.1,
 * 2001:db8::1) that no real host answers. `probe` alone lists the subcommands. Built static
 * (the job's root may have no libc), C11 with GNU extensions. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *ename(int e)
{
	const char *n;

	if (e == 0)
		return "OK";
	n = strerrorname_np(e);
	return n ? n : "E?";
}

/* Result of a raw system call as "OK" or the errno's name. */
static const char *res(long r)
{
	return ename(r < 0 ? errno : 0);
}

static void die(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	exit(100);
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "probe: '%s' is not a number\n", s);
		exit(100);
	}
	return v;
}

/* A size: a number with an optional K, M or G suffix (powers of 1024). */
static long long size_arg(const char *s)
{
	char buf[64];
	size_t n = strlen(s);
	long long mul = 1;

	if (n > 0 && n < sizeof(buf) && strchr("KMG", s[n - 1])) {
		mul = s[n - 1] == 'K' ? 1LL << 10 : s[n - 1] == 'M' ? 1LL << 20 : 1LL << 30;
		memcpy(buf, s, n - 1);
		buf[n - 1] = '\0';
		return num(buf) * mul;
	}
	return num(s);
}

/* ---- identity, capabilities ---- */

static int cmd_ids(int argc, char **argv)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[64];
	int n, i;

	(void)argc;
	(void)argv;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("uid=%u\neuid=%u\nsuid=%u\n", r, e, s);
	printf("gid=%u\negid=%u\nsgid=%u\n", rg, eg, sg);
	n = getgroups(64, groups);
	printf("groups=");
	for (i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	printf("\n");
	printf("setuid0=%s\n", res(setuid(0)));
	printf("setgid0=%s\n", res(setgid(0)));
	printf("setgroups=%s\n", res(setgroups(0, NULL)));
	return 0;
}

/* Lines of a /proc file whose key is in keys, as key=value. */
static void status_keys(const char *path, const char *const *keys)
{
	char line[512];
	FILE *f = fopen(path, "r");
	size_t i;

	if (!f)
		die(path);
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *v;

		if (!colon)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\n")] = '\0';
		for (i = 0; keys[i]; i++)
			if (!strcmp(line, keys[i]))
				printf("%s=%s\n", line, v);
	}
	fclose(f);
}

static int cmd_caps(int argc, char **argv)
{
	static const char *const keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
					    "NoNewPrivs", "Seccomp", "Seccomp_filters", NULL };

	(void)argc;
	(void)argv;
	status_keys("/proc/self/status", keys);
	printf("dumpable=%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	return 0;
}

/* ---- system calls the filter denies (and a few it must allow) ---- */

static long try_mount(void)
{
	/* bad source pointer: EFAULT from the kernel, before any privilege check */
	return mount((const char *)1, "/tmp", "tmpfs", 0, NULL);
}

static long try_mount_real(void) { return mount("none", "/tmp", "tmpfs", 0, NULL); }
/* unknown flags: EINVAL from the kernel */
static long try_umount2(void) { return umount2("/", 0x7ff00000); }
static long try_pivot_root(void) { return syscall(SYS_pivot_root, "/nonexistent", "/nonexistent"); }
/* a missing path: ENOENT from the kernel before the capability check */
static long try_chroot(void) { return chroot("/nonexistent"); }
/* an unprivileged user namespace: allowed by the kernel here */
static long try_unshare_user(void) { return unshare(CLONE_NEWUSER); }
/* a flag unshare does not know: EINVAL from the kernel */
static long try_unshare_bad(void) { return unshare(0x1); }
static long try_setns(void) { return setns(-1, 0); } /* EBADF from the kernel */
static long try_keyctl(void)
{
	return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
}
static long try_add_key(void) { return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0); }
static long try_bpf(void) { return syscall(SYS_bpf, 9999, NULL, 0); } /* EINVAL */
static long try_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long try_userfaultfd(void) { return syscall(SYS_userfaultfd, 0x3); } /* EINVAL */
static long try_io_uring(void) { return syscall(SYS_io_uring_setup, 1, NULL); } /* EFAULT */
static long try_ptrace_nopid(void) { return ptrace(PTRACE_ATTACH, 0x3ffffff0, 0, 0); }
static long try_ptrace_init(void) { return ptrace(PTRACE_ATTACH, 1, 0, 0); }
static long try_ptrace_me(void)
{
	pid_t p = fork();
	int st;

	/* in a child, so a success cannot leave the probe itself traced */
	if (p == 0)
		_exit(ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0);
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
	return errno ? -1 : 0;
}
static long try_process_vm_readv(void)
{
	char src[8] = "secret", dst[8];
	struct iovec l = { dst, sizeof(dst) }, r = { src, sizeof(src) };

	return syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0);
}
static long try_kcmp(void) { return syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0); }
static long try_pidfd_getfd(void) { return syscall(SYS_pidfd_getfd, -1, 0, 0); } /* EBADF */
static long try_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, "/nonexistent", 0); }
static long try_fsopen(void) { return syscall(SYS_fsopen, "tmpfs", 0); }
static long try_tiocsti(void)
{
	char c = 'x';

	return ioctl(0, TIOCSTI, &c); /* ENOTTY from the kernel: stdin is not a terminal */
}
static long try_clone_ns(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r < 0 ? -1 : 0;
}
/* CLONE_FS with a new user or mount namespace: EINVAL from the kernel */
static long try_clone_newuser(void) { return try_clone_ns(CLONE_NEWUSER | CLONE_FS); }
static long try_clone_newns(void) { return try_clone_ns(CLONE_NEWNS | CLONE_FS); }
static long try_clone_newpid(void) { return try_clone_ns(CLONE_NEWPID); }
static long try_clone_newnet(void) { return try_clone_ns(CLONE_NEWNET); }
static long try_clone3(void) { return syscall(SYS_clone3, NULL, 0); } /* EINVAL */
static long try_fork(void) { return try_clone_ns(0); }
static long try_reboot(void) { return syscall(SYS_reboot, 0, 0, 0, NULL); }
static long try_syslog(void) { return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0); }

static const struct {
	const char *name;
	long (*fn)(void);
} calls[] = {
	{ "mount", try_mount },
	{ "mount_real", try_mount_real },
	{ "umount2", try_umount2 },
	{ "pivot_root", try_pivot_root },
	{ "chroot", try_chroot },
	{ "unshare_user", try_unshare_user },
	{ "unshare_bad", try_unshare_bad },
	{ "setns", try_setns },
	{ "keyctl", try_keyctl },
	{ "add_key", try_add_key },
	{ "bpf", try_bpf },
	{ "perf_event_open", try_perf },
	{ "userfaultfd", try_userfaultfd },
	{ "io_uring_setup", try_io_uring },
	{ "ptrace_nopid", try_ptrace_nopid },
	{ "ptrace_init", try_ptrace_init },
	{ "ptrace_traceme", try_ptrace_me },
	{ "process_vm_readv", try_process_vm_readv },
	{ "kcmp", try_kcmp },
	{ "pidfd_getfd", try_pidfd_getfd },
	{ "open_tree", try_open_tree },
	{ "fsopen", try_fsopen },
	{ "tiocsti", try_tiocsti },
	{ "clone_newuser", try_clone_newuser },
	{ "clone_newns", try_clone_newns },
	{ "clone_newpid", try_clone_newpid },
	{ "clone_newnet", try_clone_newnet },
	{ "clone3", try_clone3 },
	{ "fork", try_fork },
	{ "reboot", try_reboot },
	{ "syslog", try_syslog },
};

/* Each call in a child of its own, so one that succeeds (unshare outside a sandbox) cannot
 * change what the next one finds. The child reports the errno as its exit status. */
static const char *run_isolated(long (*fn)(void))
{
	pid_t p;
	int st;

	fflush(stdout);
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		errno = 0;
		_exit(fn() < 0 ? (errno ? errno : 255) : 0);
	}
	if (waitpid(p, &st, 0) != p)
		die("waitpid");
	if (WIFSIGNALED(st))
		return strsignal(WTERMSIG(st)); /* not an errno: the test fails loudly */
	return ename(WEXITSTATUS(st));
}

static int cmd_syscalls(int argc, char **argv)
{
	size_t i;
	int j;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (argc > 1) { /* only the ones named */
			for (j = 1; j < argc && strcmp(argv[j], calls[i].name); j++)
				;
			if (j == argc)
				continue;
		}
		printf("%s=%s\n", calls[i].name, run_isolated(calls[i].fn));
	}
	return 0;
}

/* ---- threads and processes ---- */

static void *thread_fn(void *arg)
{
	volatile unsigned long x = 0;
	unsigned long i;

	for (i = 0; i < 100000; i++)
		x += i;
	*(unsigned long *)arg = x;
	return arg;
}

static int cmd_threads(int argc, char **argv)
{
	long n = argc > 1 ? num(argv[1]) : 8, i, good = 0;
	pthread_t t[256];
	unsigned long out[256];
	char *const spawn_argv[] = { "true", NULL };
	pid_t pid;
	int r, st;

	if (n < 1 || n > 256)
		n = 8;
	for (i = 0; i < n; i++) {
		r = pthread_create(&t[i], NULL, thread_fn, &out[i]);
		if (r) {
			printf("pthread_create=%s\n", ename(r));
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		void *ret;

		if (pthread_join(t[i], &ret) == 0 && ret == &out[i] && out[i] == 4999950000UL)
			good++;
	}
	printf("threads=%ld\n", good);
	/* posix_spawn uses clone3 first: it must fall back to clone on ENOSYS */
	r = posix_spawnp(&pid, "true", NULL, NULL, spawn_argv, environ);
	if (r == 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		printf("posix_spawn=%d\n", WEXITSTATUS(st));
	else
		printf("posix_spawn=%s\n", ename(r ? r : errno));
	pid = fork();
	if (pid == 0)
		_exit(7);
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		printf("fork=%d\n", WEXITSTATUS(st));
	else
		printf("fork=%s\n", ename(errno));
	return 0;
}

static int is_pid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int cmd_procs(int argc, char **argv)
{
	static const char *const host_wide[] = {
		"meminfo", "cpuinfo", "kallsyms", "interrupts", "sys", "stat", "uptime", "version",
		"modules", "mounts", "kcore", "sysrq-trigger", "keys", "kmsg", "vmstat", "loadavg",
		"config.gz", "net", "cgroups", "filesystems", "partitions", "swaps", "timer_list",
		"sched_debug", "kpagecount", "slabinfo", "zoneinfo", "buddyinfo", "bus", "fs", "irq",
		"tty", "acpi", "driver", "scsi", "sysvipc", "crypto", "devices", "diskstats",
		"locks", "misc", "pagetypeinfo", "consoles", "cmdline", "iomem", "ioports",
		"softirqs", "self", "thread-self", NULL,
	};
	struct dirent *d;
	DIR *dir;
	char pids[4096] = "", other[4096] = "", path[300];
	struct stat st;
	int i, count = 0;

	(void)argc;
	(void)argv;
	dir = opendir("/proc");
	if (!dir)
		die("/proc");
	while ((d = readdir(dir))) {
		char *list = is_pid(d->d_name) ? pids : other;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (list == pids)
			count++;
		if (strlen(list) + strlen(d->d_name) + 2 < sizeof(pids))
			snprintf(list + strlen(list), sizeof(pids) - strlen(list), "%s%s",
				 *list ? "," : "", d->d_name);
	}
	closedir(dir);
	printf("self=%d\n", (int)getpid());
	printf("ppid=%d\n", (int)getppid());
	printf("pids=%s\n", pids);
	printf("npids=%d\n", count);
	printf("entries=%s\n", other);
	for (i = 0; host_wide[i]; i++) {
		snprintf(path, sizeof(path), "/proc/%s", host_wide[i]);
		printf("proc_%s=%s\n", host_wide[i],
		       lstat(path, &st) == 0 ? "present" : ename(errno));
	}
	printf("proc_1=%s\n", stat("/proc/1", &st) == 0 ? "present" : ename(errno));
	printf("proc_1_status=%s\n", access("/proc/1/status", R_OK) == 0 ? "present" : ename(errno));
	return 0;
}

static int cmd_kill(int argc, char **argv)
{
	int sig = argc > 2 ? (int)num(argv[2]) : SIGKILL;

	if (argc < 2) {
		fprintf(stderr, "probe: kill PID [SIG]\n");
		return 100;
	}
	printf("kill=%s\n", res(kill((pid_t)num(argv[1]), sig)));
	return 0;
}

static int cmd_kill1(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("kill1_0=%s\n", res(kill(1, 0)));
	printf("kill1_TERM=%s\n", res(kill(1, SIGTERM)));
	printf("kill1_KILL=%s\n", res(kill(1, SIGKILL)));
	printf("kill1_STOP=%s\n", res(kill(1, SIGSTOP)));
	printf("sigqueue1=%s\n", res(sigqueue(1, SIGUSR1, (union sigval){ 0 })));
	printf("pidfd_open1=%s\n", res(syscall(SYS_pidfd_open, 1, 0)));
	printf("getppid=%d\n", (int)getppid());
	return 0;
}

/* kill(-1, SIGKILL) with a child of our own: the child must die (the call works), and nothing
 * outside the job may (the caller checks that). */
static int cmd_killall(int argc, char **argv)
{
	pid_t child;
	int st;

	(void)argc;
	(void)argv;
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		for (;;)
			pause();
	}
	usleep(20000);
	printf("kill_all=%s\n", res(kill(-1, SIGKILL)));
	if (waitpid(child, &st, 0) == child && WIFSIGNALED(st))
		printf("child=killed:%d\n", WTERMSIG(st));
	else
		printf("child=alive\n");
	/* now nothing else of ours is left: a second sweep finds nobody */
	printf("kill_all_again=%s\n", res(kill(-1, SIGKILL)));
	return 0;
}

/* ---- names, network ---- */

static int cmd_hostname(int argc, char **argv)
{
	struct utsname u;
	char h[256] = "";

	(void)argc;
	(void)argv;
	uname(&u);
	gethostname(h, sizeof(h) - 1);
	printf("hostname=%s\nnodename=%s\ndomainname=%s\n", h, u.nodename, u.domainname);
	printf("sethostname=%s\n", res(sethostname("evil", 4)));
	return 0;
}

static const char *try_connect(int family, int type, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s, r, e;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	}
	s = socket(family, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ename(errno);
	r = connect(s, (struct sockaddr *)&ss, len);
	e = r < 0 ? errno : 0;
	close(s);
	return ename(e);
}

/* A TCP round trip over 127.0.0.1: loopback works. */
static const char *loopback_tcp(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int l, c, s;
	char buf[4] = "";

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return ename(errno);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		return ename(errno);
	s = accept(l, NULL, NULL);
	if (s < 0 || write(c, "pong", 4) != 4 || read(s, buf, 4) != 4 || memcmp(buf, "pong", 4))
		return "EIO";
	close(s);
	close(c);
	close(l);
	return "OK";
}

static int cmd_net(int argc, char **argv)
{
	struct if_nameindex *ifs, *i;
	struct ifreq ifr;
	char line[512];
	FILE *f;
	int s, n = 0, only_lo = 1;

	(void)argc;
	(void)argv;
	ifs = if_nameindex();
	printf("ifaces=");
	for (i = ifs; i && i->if_index; i++) {
		printf("%s%s", i == ifs ? "" : ",", i->if_name);
		if (strcmp(i->if_name, "lo"))
			only_lo = 0;
	}
	printf("\n");
	if (!ifs)
		only_lo = 0;
	if (ifs)
		if_freenameindex(ifs);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		printf("lo_up=%d\n", !!(ifr.ifr_flags & IFF_UP));
		printf("lo_running=%d\n", !!(ifr.ifr_flags & IFF_RUNNING));
	} else {
		printf("lo_up=%s\n", ename(errno));
	}
	if (s >= 0)
		close(s);
	/* routes: the header line only when there is none */
	f = fopen("/proc/self/net/route", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			n++;
		fclose(f);
		printf("ipv4_routes=%d\n", n > 0 ? n - 1 : 0);
	} else {
		printf("ipv4_routes=%s\n", ename(errno));
	}
	/* Only where nothing can leave (lo alone, no route): a TCP connect elsewhere would send. */
	if (only_lo && n == 1) {
		printf("udp4_connect=%s\n", try_connect(AF_INET, SOCK_DGRAM, "192.0.2.1", 53));
		printf("tcp4_connect=%s\n", try_connect(AF_INET, SOCK_STREAM, "192.0.2.1", 53));
		printf("udp6_connect=%s\n",
		       try_connect(AF_INET6, SOCK_DGRAM, "2001:db8::1", 53));
		printf("tcp6_connect=%s\n",
		       try_connect(AF_INET6, SOCK_STREAM, "2001:db8::1", 53));
	} else {
		printf("udp4_connect=not-tried\ntcp4_connect=not-tried\n");
		printf("udp6_connect=not-tried\ntcp6_connect=not-tried\n");
	}
	printf("loopback_tcp=%s\n", loopback_tcp());
	return 0;
}

static int cmd_ipc(int argc, char **argv)
{
	struct msginfo mi;
	struct shm_info si;
	struct seminfo se;
	int key = argc > 1 ? (int)num(argv[1]) : 0;

	/* ipc KEY create: make a message queue with that key (the host side of a test) */
	if (key && argc > 2 && !strcmp(argv[2], "create")) {
		printf("msgget_create=%s\n", res(msgget(key, IPC_CREAT | IPC_EXCL | 0600)));
		return 0;
	}

	memset(&mi, 0, sizeof(mi));
	memset(&si, 0, sizeof(si));
	memset(&se, 0, sizeof(se));
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) >= 0)
		printf("msg_queues=%d\n", mi.msgpool);
	if (shmctl(0, SHM_INFO, (struct shmid_ds *)&si) >= 0)
		printf("shm_segments=%d\n", si.used_ids);
	if (semctl(0, 0, SEM_INFO, &se) >= 0)
		printf("sem_sets=%d\n", se.semusz);
	if (key)
		printf("msgget_key=%s\n", res(msgget(key, 0)));
	return 0;
}

static int cmd_cgroup(int argc, char **argv)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "r");

	(void)argc;
	(void)argv;
	if (!f)
		die("/proc/self/cgroup");
	while (fgets(line, sizeof(line), f))
		printf("cgroup=%s", line);
	fclose(f);
	return 0;
}

/* ---- file system ---- */

static int cmd_paths(int argc, char **argv)
{
	static const char *const defaults[] = {
		"/home", "/root", "/var", "/run", "/srv", "/mnt", "/opt", "/boot", "/sys", "/media",
		"/lost+found", "/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/hostname",
		"/etc/resolv.conf", "/etc/sudoers", "/etc/machine-id", "/dev/tty", "/dev/console",
		"/dev/mem", "/dev/kmsg", "/dev/pts", "/dev/mqueue", "/dev/vda", "/dev/sda",
		"/proc/1", "/usr", "/bin", "/etc/passwd", "/job", "/tmp", "/dev/null", NULL,
	};
	struct stat st;
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			printf("%s=%s\n", argv[i], lstat(argv[i], &st) == 0 ? "present" : ename(errno));
		return 0;
	}
	for (i = 0; defaults[i]; i++)
		printf("%s=%s\n", defaults[i], lstat(defaults[i], &st) == 0 ? "present" : ename(errno));
	return 0;
}

/* Can the job create (a directory) or write (a file) there? */
static int cmd_writable(int argc, char **argv)
{
	char path[PATH_MAX];
	struct stat st;
	int i, fd, e;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			printf("%s=%s\n", argv[i], ename(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(path, sizeof(path), "%s/.probe-%d", argv[i], (int)getpid());
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			e = fd < 0 ? errno : 0;
			if (fd >= 0) {
				close(fd);
				unlink(path);
			} else if (e == EACCES) {
				/* EACCES hides whether the mount is read-only: mkdir tells */
				snprintf(path, sizeof(path), "%s/.probe-d%d", argv[i], (int)getpid());
				if (mkdir(path, 0700) == 0) {
					rmdir(path);
					e = 0;
				} else if (errno == EROFS) {
					e = EROFS;
				}
			}
		} else {
			fd = open(argv[i], O_WRONLY | O_APPEND | O_CLOEXEC);
			e = fd < 0 ? errno : 0;
			if (fd >= 0) {
				if (S_ISCHR(st.st_mode) && write(fd, "", 0) < 0)
					e = errno;
				close(fd);
			}
		}
		printf("%s=%s\n", argv[i], ename(e));
	}
	return 0;
}

static int cmd_mounts(int argc, char **argv)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	(void)argc;
	(void)argv;
	if (!f)
		die("/proc/self/mountinfo");
	/* id parent major:minor root MOUNTPOINT OPTIONS [optional...] - FSTYPE SOURCE SUPER */
	while (fgets(line, sizeof(line), f)) {
		char *field[16], *sep, *tok, *save = NULL;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save))
			field[n++] = tok;
		if (n < 6)
			continue;
		printf("mount=%s %s %s\n", field[4], field[5], sep + 3);
	}
	fclose(f);
	return 0;
}

static void list_dir(const char *key, const char *path)
{
	struct dirent *d;
	DIR *dir = opendir(path);
	int first = 1;

	printf("%s=", key);
	if (!dir) {
		printf("%s\n", ename(errno));
		return;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		printf("%s%s", first ? "" : ",", d->d_name);
		first = 0;
	}
	closedir(dir);
	printf("\n");
}

static const char *make_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t n = strlen(content);

	if (fd < 0)
		return ename(errno);
	if (write(fd, content, n) != (ssize_t)n) {
		close(fd);
		return ename(errno);
	}
	return close(fd) < 0 ? ename(errno) : "OK";
}

/* tmp [NAME]: what /tmp and /dev/shm hold, then leave a file NAME in each. */
static int cmd_tmp(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "probe-mark";
	char path[PATH_MAX];
	struct stat st;

	list_dir("tmp_entries", "/tmp");
	list_dir("shm_entries", "/dev/shm");
	if (stat("/tmp", &st) == 0)
		printf("tmp_mode=%o\n", (unsigned)(st.st_mode & 07777));
	if (stat("/dev/shm", &st) == 0)
		printf("shm_mode=%o\n", (unsigned)(st.st_mode & 07777));
	snprintf(path, sizeof(path), "/tmp/%s", name);
	printf("tmp_create=%s\n", make_file(path, "from the job\n"));
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	printf("shm_create=%s\n", make_file(path, "from the job\n"));
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		list_dir(argv[i], argv[i]);
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "probe: write PATH CONTENT\n");
		return 100;
	}
	printf("write=%s\n", make_file(argv[1], argv[2]));
	return 0;
}

static int cmd_cat(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	int fd = argc > 1 ? open(argv[1], O_RDONLY | O_CLOEXEC) : 0;

	if (fd < 0) {
		printf("cat=%s\n", ename(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	return n < 0;
}

/* fill PATH BYTES: write up to BYTES, report how many went in and why it stopped. */
static int cmd_fill(int argc, char **argv)
{
	static char buf[65536];
	long long want, done = 0;
	int fd, e = 0;

	if (argc < 3) {
		fprintf(stderr, "probe: fill PATH BYTES\n");
		return 100;
	}
	want = num(argv[2]);
	signal(SIGXFSZ, SIG_IGN);
	memset(buf, 'x', sizeof(buf));
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		printf("fill=%s\nwritten=0\n", ename(errno));
		return 0;
	}
	while (done < want) {
		size_t n = want - done < (long long)sizeof(buf) ? (size_t)(want - done) : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			e = errno;
			break;
		}
		done += w;
	}
	if (!e && fsync(fd) < 0)
		e = errno;
	close(fd);
	printf("fill=%s\nwritten=%lld\n", ename(e), done);
	return 0;
}

/* ---- process environment ---- */

static int cmd_env(int argc, char **argv)
{
	char **e;

	(void)argc;
	(void)argv;
	for (e = environ; *e; e++)
		printf("%s\n", *e);
	return 0;
}

static int cmd_fds(int argc, char **argv)
{
	struct dirent *d;
	DIR *dir;
	char list[4096] = "", link[PATH_MAX], path[300];
	int self, first = 1;
	ssize_t n;

	(void)argc;
	(void)argv;
	dir = opendir("/proc/self/fd");
	if (!dir)
		die("/proc/self/fd");
	self = dirfd(dir);
	while ((d = readdir(dir))) {
		if (!is_pid(d->d_name) || atoi(d->d_name) == self)
			continue;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", first ? "" : ",",
			 d->d_name);
		first = 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		printf("fd%s=%s\n", d->d_name, link);
	}
	closedir(dir);
	printf("fds=%s\n", list);
	return 0;
}

static int cmd_tty(int argc, char **argv)
{
	char buf[1024], *p;
	int fd, tty_nr = -1, i;

	(void)argc;
	(void)argv;
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	printf("dev_tty=%s\n", fd < 0 ? ename(errno) : "OK");
	if (fd >= 0)
		close(fd);
	printf("pid=%d\nsid=%d\npgrp=%d\n", (int)getpid(), (int)getsid(0), (int)getpgrp());
	printf("isatty0=%d\nisatty1=%d\nisatty2=%d\n", isatty(0), isatty(1), isatty(2));
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		p = strrchr(buf, ')'); /* after comm: state ppid pgrp session tty_nr */
		for (i = 0; p && i < 5; i++)
			p = strchr(p + 1, ' ');
		if (p)
			tty_nr = atoi(p + 1);
	}
	printf("tty_nr=%d\n", tty_nr);
	return 0;
}

static int cmd_rlimits(int argc, char **argv)
{
	static const struct { const char *name; int res; } lim[] = {
		{ "nofile", RLIMIT_NOFILE }, { "stack", RLIMIT_STACK }, { "fsize", RLIMIT_FSIZE },
		{ "core", RLIMIT_CORE }, { "nproc", RLIMIT_NPROC }, { "as", RLIMIT_AS },
	};
	struct rlimit rl;
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		if (getrlimit(lim[i].res, &rl) < 0)
			continue;
		printf("%s=", lim[i].name);
		if (rl.rlim_cur == RLIM_INFINITY)
			printf("unlimited:");
		else
			printf("%llu:", (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			printf("unlimited\n");
		else
			printf("%llu\n", (unsigned long long)rl.rlim_max);
	}
	return 0;
}

/* ---- ends of a job ---- */

static int cmd_exit(int argc, char **argv)
{
	return argc > 1 ? (int)num(argv[1]) : 0;
}

static int cmd_segv(int argc, char **argv)
{
	volatile int *p = (int *)(uintptr_t)(argc > 1 ? num(argv[1]) : 0);

	fflush(stdout);
	*p = 1;
	return 0;
}

/* A system call through the i386 entry (int 0x80): the filter kills the process (SIGSYS). */
static int cmd_int80(int argc, char **argv)
{
	long r = -1;

	(void)argc;
	(void)argv;
	fflush(stdout);
#if defined(__x86_64__)
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) /* i386 getpid */ : "memory");
#endif
	printf("int80=%ld\n", r);
	return 0;
}

static int cmd_sleep(int argc, char **argv)
{
	double s = argc > 1 ? atof(argv[1]) : 1;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static void ignore_signals(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
}

static __attribute__((noreturn)) void linger(void)
{
	for (;;)
		pause();
}

/* Children that try to outlive the job: a daemon (setsid + double fork) holding stdout, one
 * that closed its stdio, one in a new process group, a process-group leader's child... then the
 * main process exits 0 at once. Everything must be gone when jobrun returns. */
static int cmd_orphans(int argc, char **argv)
{
	long n = argc > 1 ? num(argv[1]) : 3, i;
	pid_t p;

	(void)argv;
	for (i = 0; i < n; i++) {
		p = fork();
		if (p < 0)
			die("fork");
		if (p > 0) {
			waitpid(p, NULL, 0); /* the intermediate exits at once */
			continue;
		}
		ignore_signals();
		if (i % 3 == 0)
			setsid();
		else if (i % 3 == 1)
			setpgid(0, 0);
		p = fork();
		if (p != 0)
			_exit(p < 0);
		ignore_signals();
		if (i % 3 == 2) { /* one that no longer holds the job's output pipes */
			int fd = open("/dev/null", O_RDWR);

			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		linger();
	}
	printf("orphans=%ld\n", n);
	return 0;
}

/* flood BYTES [FD]: write exactly BYTES to FD (1 by default), in odd-sized pieces. */
static int cmd_flood(int argc, char **argv)
{
	static char buf[70001];
	long long want = argc > 1 ? num(argv[1]) : 1 << 20, done = 0;
	int fd = argc > 2 ? (int)num(argv[2]) : 1;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	while (done < want) {
		size_t n = want - done < (long long)sizeof(buf) ? (size_t)(want - done) : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "flood: %s after %lld\n", ename(errno), done);
			return 3;
		}
		done += w;
	}
	return 0;
}

/* ---- cgroup limits: memory, CPU, processes, I/O ---- */

/* Allocate BYTES of anonymous memory and write to every page (so it is really charged). */
static long long touch_mem(long long bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p;
	long long i;

	p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < bytes; i += page)
		p[i] = (char)(i / page + 1);
	return bytes;
}

/* mem BYTES: allocate and touch, report, exit 0 (an OOM kill ends it before the report). */
static int cmd_mem(int argc, char **argv)
{
	long long want, got;

	if (argc < 2) {
		fprintf(stderr, "probe: mem BYTES\n");
		return 100;
	}
	want = size_arg(argv[1]);
	got = touch_mem(want);
	if (got < 0) {
		printf("mem=%s\n", ename(errno));
		return 0;
	}
	printf("mem=OK\ntouched=%lld\n", got);
	return 0;
}

/* childmem BYTES: a child allocates and touches BYTES; the parent reports its fate, exits 0. */
static int cmd_childmem(int argc, char **argv)
{
	pid_t p;
	int st;

	if (argc < 2) {
		fprintf(stderr, "probe: childmem BYTES\n");
		return 100;
	}
	fflush(stdout);
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0)
		_exit(touch_mem(size_arg(argv[1])) < 0 ? 1 : 0);
	if (waitpid(p, &st, 0) != p)
		die("waitpid");
	if (WIFSIGNALED(st))
		printf("child=killed:%d\n", WTERMSIG(st));
	else
		printf("child=exited:%d\n", WEXITSTATUS(st));
	return 0;
}

static double process_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double burn_until; /* process CPU seconds; 0 = forever */

static void *burn_fn(void *arg)
{
	volatile unsigned long x = 0;
	unsigned long i;

	(void)arg;
	for (;;) {
		for (i = 0; i < 200000; i++) /* well under a millisecond between checks */
			x += i;
		if (burn_until > 0 && process_cpu() >= burn_until)
			return NULL;
	}
}

/* burn SECONDS [THREADS]: busy-loop in THREADS threads until the process has used SECONDS of
 * CPU time (0: forever); report the CPU time and the wall time it took. */
static int cmd_burn(int argc, char **argv)
{
	long n = argc > 2 ? num(argv[2]) : 1, i;
	pthread_t t[64];
	struct timespec a, b;

	if (argc < 2 || n < 1 || n > 64) {
		fprintf(stderr, "probe: burn SECONDS [THREADS (1-64)]\n");
		return 100;
	}
	burn_until = atof(argv[1]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 1; i < n; i++)
		if ((errno = pthread_create(&t[i], NULL, burn_fn, NULL)))
			die("pthread_create");
	burn_fn(NULL);
	for (i = 1; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("cpu=%.6f\nwall=%.6f\n", process_cpu(),
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}

/* forkbomb: fork until fork fails (the children pause), report, exit 0. */
static int cmd_forkbomb(int argc, char **argv)
{
	long ok = 0, refused = 0;
	int e = 0;
	pid_t p;

	(void)argc;
	(void)argv;
	fflush(stdout);
	for (;;) {
		p = fork();
		if (p == 0)
			linger();
		if (p > 0) {
			ok++;
			if (ok > 100000)
				break;
			continue;
		}
		e = errno;
		if (++refused >= 5) /* a few more tries: the limit holds, it is not a hiccup */
			break;
	}
	printf("forks_ok=%ld\nfork_errno=%s\n", ok, ename(e));
	return 0;
}

/* cpus: the CPUs this process may run on (sched_getaffinity), as a list. */
static int cmd_cpus(int argc, char **argv)
{
	cpu_set_t set;
	int i, first = 1;

	(void)argc;
	(void)argv;
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		printf("cpus=%s\n", ename(errno));
		return 0;
	}
	printf("cpus=");
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set)) {
			printf("%s%d", first ? "" : ",", i);
			first = 0;
		}
	printf("\n");
	return 0;
}

/* dio PATH BYTES [BS]: write BYTES with O_DIRECT in BS pieces (64K), fsync; report the time. */
static int cmd_dio(int argc, char **argv)
{
	long long want, done = 0;
	long bs = argc > 3 ? (long)size_arg(argv[3]) : 65536;
	struct timespec a, b;
	void *buf;
	int fd, e = 0;

	if (argc < 3 || bs < 512 || bs % 512) {
		fprintf(stderr, "probe: dio PATH BYTES [BS (a multiple of 512)]\n");
		return 100;
	}
	want = size_arg(argv[2]);
	if (posix_memalign(&buf, 4096, (size_t)bs))
		die("posix_memalign");
	memset(buf, 'd', (size_t)bs);
	clock_gettime(CLOCK_MONOTONIC, &a);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	if (fd < 0) {
		printf("dio=%s\nwritten=0\n", ename(errno));
		return 0;
	}
	while (done < want) {
		ssize_t w = write(fd, buf, (size_t)bs);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		done += w;
	}
	if (!e && fsync(fd) < 0)
		e = errno;
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("dio=%s\nwritten=%lld\nseconds=%.3f\n", ename(e), done,
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "ids", cmd_ids, "uid/gid/groups; setuid(0), setgid(0), setgroups" },
	{ "caps", cmd_caps, "Cap*, NoNewPrivs, Seccomp from /proc/self/status" },
	{ "syscalls", cmd_syscalls, "[NAME...] denied calls: errno name each" },
	{ "threads", cmd_threads, "[N] pthreads, posix_spawn, fork" },
	{ "procs", cmd_procs, "pids in /proc and which host-wide /proc files exist" },
	{ "kill", cmd_kill, "PID [SIG] kill() result" },
	{ "kill1", cmd_kill1, "signal PID 1 (jobrun-init) in every way" },
	{ "killall", cmd_killall, "kill(-1, SIGKILL) with a child of our own" },
	{ "hostname", cmd_hostname, "host and domain name; sethostname" },
	{ "net", cmd_net, "interfaces, lo flags, routes, connect out, loopback" },
	{ "ipc", cmd_ipc, "[KEY [create]] System V IPC objects visible (or make a queue)" },
	{ "cgroup", cmd_cgroup, "/proc/self/cgroup" },
	{ "paths", cmd_paths, "[PATH...] which paths exist" },
	{ "writable", cmd_writable, "PATH... create a file in (dir) or write to (file)" },
	{ "mounts", cmd_mounts, "mount points with options" },
	{ "tmp", cmd_tmp, "[NAME] /tmp and /dev/shm contents, then a file in each" },
	{ "ls", cmd_ls, "DIR... entries" },
	{ "write", cmd_write, "PATH CONTENT (create exclusively)" },
	{ "cat", cmd_cat, "[FILE] copy to stdout (stdin by default)" },
	{ "fill", cmd_fill, "PATH BYTES write until done or an error" },
	{ "env", cmd_env, "the environment, one per line" },
	{ "fds", cmd_fds, "open file descriptors" },
	{ "tty", cmd_tty, "controlling terminal, session" },
	{ "rlimits", cmd_rlimits, "resource limits" },
	{ "exit", cmd_exit, "N exit with status N" },
	{ "segv", cmd_segv, "die of SIGSEGV" },
	{ "int80", cmd_int80, "getpid through the i386 entry (x86-64 only)" },
	{ "sleep", cmd_sleep, "S sleep S seconds" },
	{ "orphans", cmd_orphans, "[N] leave N signal-ignoring daemons behind, exit 0" },
	{ "flood", cmd_flood, "BYTES [FD] write BYTES to FD" },
	{ "mem", cmd_mem, "BYTES allocate and touch anonymous memory, exit 0" },
	{ "childmem", cmd_childmem, "BYTES a child touches BYTES; report its fate, exit 0" },
	{ "burn", cmd_burn, "S [THREADS] busy-loop until S s of CPU time (0: forever)" },
	{ "forkbomb", cmd_forkbomb, "fork until fork fails (children pause), exit 0" },
	{ "dio", cmd_dio, "PATH BYTES [BS] O_DIRECT writes + fsync, timed" },
	{ "cpus", cmd_cpus, "CPUs this process may run on" },
};

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: probe SUBCOMMAND [ARGS...]\n");
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			fprintf(stderr, "  %-10s %s\n", cmds[i].name, cmds[i].help);
		return 100;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "probe: unknown subcommand '%s'\n", argv[1]);
	return 100;
}
