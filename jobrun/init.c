/* init.c - jobrun-init, PID 1 of every job (a small static program).
 *
 * It starts the job's command, which drops to the job's uid/gid, clears every capability
 * (bounding and ambient too), sets no_new_privs, loads the seccomp program and execs. Then
 * jobrun-init drops to a uid of its own (not the job's: the job can neither signal it nor ptrace
 * it), becomes non-dumpable, reaps orphans, and reports the command's wait status to jobrun over
 * fd 3. When it exits, the kernel kills every process left in the job's pid namespace.
 *
 * PID 1 of a pid namespace ignores signals it has no handler for, even SIGKILL sent from
 * inside, so this program installs none: only jobrun (outside the namespace) can kill it. */
#define _GNU_SOURCE
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_BPF_INSNS 4096

static struct sock_filter bpf[MAX_BPF_INSNS];
static struct sock_fprog prog;

static void report(int kind, int stage, int err, int wstatus)
{
	struct jr_msg m = { .kind = kind, .stage = stage, .err = err, .wstatus = wstatus };
	ssize_t r;

	do
		r = write(JR_INIT_STATUS_FD, &m, sizeof(m));
	while (r < 0 && errno == EINTR);
}

static __attribute__((noreturn)) void fail(int kind, int stage)
{
	report(kind, stage, errno, 0);
	_exit(127);
}

/* "inf" -> RLIM_INFINITY, "-" -> leave unchanged (returns 1), number -> value. */
static int parse_limit(const char *s, rlim_t *v)
{
	char *end;

	if (!strcmp(s, "-"))
		return 1;
	if (!strcmp(s, "inf")) {
		*v = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	return 0;
}

static int parse_id(const char *s, unsigned *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || x >= (unsigned)-1)
		return -1;
	*v = (unsigned)x;
	return 0;
}

static int set_limit(int resource, const char *arg)
{
	struct rlimit rl;
	rlim_t v;
	int r = parse_limit(arg, &v);

	if (r > 0)
		return 0;
	if (r < 0) {
		errno = EINVAL;
		return -1;
	}
	rl.rlim_cur = rl.rlim_max = v;
	return setrlimit(resource, &rl);
}

static int read_seccomp(void)
{
	size_t got = 0;
	ssize_t r;

	while (got < sizeof(bpf)) {
		r = pread(JR_INIT_SECCOMP_FD, (char *)bpf + got, sizeof(bpf) - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == 0 || got % sizeof(bpf[0]) || got == sizeof(bpf)) {
		errno = EINVAL;
		return -1;
	}
	prog.len = (unsigned short)(got / sizeof(bpf[0]));
	prog.filter = bpf;
	close(JR_INIT_SECCOMP_FD);
	return 0;
}

/* Clear the bounding set (needs CAP_SETPCAP, so before the uid change) and the ambient set. */
static int drop_bounding(void)
{
	int cap;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	for (cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return -1;
		}
	}
	return 0;
}

/* After the uid change the effective and permitted sets are empty; clear inheritable too. */
static int clear_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* The bounding and ambient sets were cleared before the fork (drop_bounding in main). */
static int become(unsigned uid, unsigned gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0)
		return JR_STAGE_CMD_SETGID;
	if (setresuid(uid, uid, uid) < 0)
		return JR_STAGE_CMD_SETUID;
	if (clear_caps() < 0)
		return JR_STAGE_CMD_CAPS;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return JR_STAGE_CMD_NO_NEW_PRIVS;
	return 0;
}

/* Raising oom_score_adj needs no privilege. */
static int set_oom_adj(const char *value)
{
	size_t len = strlen(value);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -1;
	if (write(fd, value, len) != (ssize_t)len)
		r = -1;
	close(fd);
	return r;
}

static __attribute__((noreturn)) void run_command(char **argv, unsigned uid, unsigned gid)
{
	extern char **environ;
	int stage;

	if (setsid() < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_SETSID);
	if (set_limit(RLIMIT_NOFILE, argv[JR_IARG_NOFILE]) < 0 ||
	    set_limit(RLIMIT_STACK, argv[JR_IARG_STACK]) < 0 ||
	    set_limit(RLIMIT_FSIZE, argv[JR_IARG_FSIZE]) < 0 ||
	    set_limit(RLIMIT_CPU, argv[JR_IARG_CPU]) < 0 ||
	    set_limit(RLIMIT_CORE, "0") < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_RLIMIT);
	if (strcmp(argv[JR_IARG_OOM_ADJ], "-") && set_oom_adj(argv[JR_IARG_OOM_ADJ]) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_OOM_ADJ);
	if (chdir(argv[JR_IARG_CWD]) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_CHDIR);
	stage = become(uid, gid);
	if (stage)
		fail(JR_MSG_INIT_FAILED, stage);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_SECCOMP);
	execvpe(argv[JR_IARG_CMD], argv + JR_IARG_CMD, environ);
	fail(JR_MSG_EXEC_FAILED, JR_STAGE_NONE);
}

int main(int argc, char **argv)
{
	unsigned uid, gid, init_uid, init_gid;
	pid_t cmd;
	int st;

	if (fcntl(JR_INIT_STATUS_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 126; /* not started by jobrun: nobody to tell */
	if (argc <= JR_IARG_CMD || strcmp(argv[JR_IARG_SEP], "--") ||
	    parse_id(argv[JR_IARG_UID], &uid) || parse_id(argv[JR_IARG_GID], &gid) ||
	    parse_id(argv[JR_IARG_INIT_UID], &init_uid) ||
	    parse_id(argv[JR_IARG_INIT_GID], &init_gid)) {
		errno = EINVAL;
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_ARGS);
	}
	if (read_seccomp() < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_SECCOMP_READ);

	if (drop_bounding() < 0) /* once, for the command and for us */
		fail(JR_MSG_INIT_FAILED, JR_STAGE_CMD_CAPS);
	cmd = fork();
	if (cmd < 0)
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_FORK);
	if (cmd == 0)
		run_command(argv, uid, gid);

	/* Only the command and its descendants keep the job's stdio open. */
	close(0);
	close(1);
	close(2);
	if (become(init_uid, init_gid) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		/* our exit takes the command with it */
		fail(JR_MSG_INIT_FAILED, JR_STAGE_INIT_DROP);
	}
	/* A parent-death signal set after the parent died never comes: jobrun may have died
	 * before the clone child's PR_SET_PDEATHSIG, or before ours (the uid change cleared it).
	 * jobrun holds the only read end of the status pipe: POLLERR on ours means it is gone. */
	{
		struct pollfd pfd = { .fd = JR_INIT_STATUS_FD, .events = POLLOUT };

		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR))
			_exit(127);
	}
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);

		if (p == cmd) {
			report(JR_MSG_EXITED, JR_STAGE_NONE, 0, st);
			_exit(0);
		}
		if (p < 0 && errno == ECHILD)
			_exit(0); /* cannot happen: the command is our child */
	}
}
