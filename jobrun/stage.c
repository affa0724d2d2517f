/* stage.c - spawn jobrun-unpack. Between clone and execve: no malloc, only system calls. */
#define _GNU_SOURCE
#include "stage.h"
#include "fetch-proto.h"
#include "unpack-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BPF_MAX 4096

struct child_args {
	const struct jr_stage *st;
	struct sock_fprog prog;
	int report_w;
	char *const *argv;
};

/* Into the job's cgroup (v1), the job's uid, no capabilities, no_new_privs, and the seccomp
 * program when there is one (prog NULL: jobrun-fetch, which needs the network). */
static void drop_privileges(const struct jr_cgroup *cg, uid_t uid, gid_t gid,
			    const struct sock_fprog *prog)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	unsigned i;
	int cap;

	for (i = 0; i < cg->nv1; i++)
		if (write(cg->v1_procs[i], "0", 1) != 1)
			_exit(JR_UNPACK_EXIT_CGROUP);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		_exit(JR_UNPACK_EXIT_UID);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the uid change cleared it */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    (prog && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0))
		_exit(JR_UNPACK_EXIT_PRIVS);
}

/* Not jobrun's oom_score_adj -1000 (run.c: protect_self): when the files do not fit in the
 * job's memory, the OOM killer must be able to kill the helper, or the cgroup reclaims forever
 * ("Out of memory and no killable processes"). 0, as the job's command gets; where this
 * fails, jobrun never had -1000 either. */
static void be_killable(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, "0", 1);
	(void)n;
	close(fd);
}

static __attribute__((noreturn)) void child(const struct child_args *a)
{
	static char *const empty_env[] = { NULL };
	const struct jr_stage *st = a->st;
	struct sigaction sa;
	sigset_t none;
	int fds[4], i, sig, helper;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	be_killable();
	drop_privileges(st->cg, st->uid, st->gid, &a->prog);
	/* move every fd we pass above the targets first, then into place */
	fds[0] = st->archive_fd >= 0 ? st->archive_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = st->ws_fd;
	fds[2] = a->report_w;
	fds[3] = st->conf_fd;
	for (i = 0; i < 4; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD, 10)) < 0)
			_exit(JR_UNPACK_EXIT_FDS);
	/* the helper's own fd too: a low one (3-5) would be overwritten by the dup2s below */
	helper = fcntl(st->helper_fd, F_DUPFD_CLOEXEC, 10);
	/* stdout is jobrun's result channel: not the untrusted helper's to write on */
	if (helper < 0 || dup2(fds[0], JR_UNPACK_FD_ARCHIVE) < 0 ||
	    dup2(fds[1], JR_UNPACK_FD_WS) < 0 || dup2(fds[2], JR_UNPACK_FD_REPORT) < 0 ||
	    (fds[3] >= 0 && dup2(fds[3], JR_UNPACK_FD_CONF) < 0) ||
	    (i = open("/dev/null", O_WRONLY)) < 0 || dup2(i, 1) < 0)
		_exit(JR_UNPACK_EXIT_FDS);
	if (fds[3] < 0)
		close(JR_UNPACK_FD_CONF);
	close_range(JR_UNPACK_FD_FIRST_FREE, ~0U, CLOSE_RANGE_CLOEXEC);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	syscall(SYS_execveat, helper, "", a->argv, empty_env, AT_EMPTY_PATH);
	_exit(JR_UNPACK_EXIT_EXEC);
}

static int read_prog(int fd, struct sock_filter **buf, unsigned short *len, struct jr_err *err)
{
	ssize_t n;

	*buf = malloc(BPF_MAX * sizeof(**buf));
	if (!*buf)
		return jr_err_set(err, ENOMEM, "seccomp program");
	n = pread(fd, *buf, BPF_MAX * sizeof(**buf), 0);
	if (n <= 0 || n % (ssize_t)sizeof(**buf)) {
		free(*buf);
		return jr_err_set(err, n < 0 ? errno : EINVAL, "read the seccomp program");
	}
	*len = (unsigned short)(n / (ssize_t)sizeof(**buf));
	return 0;
}

/* jobrun-fetch's child: the job's cgroup and uid like the unpack helper, but the host's
 * network and no seccomp program (it opens sockets; it parses only what libcurl parses). */
static __attribute__((noreturn)) void fetch_child(const struct jr_fetch_spawn *fs, int report_w)
{
	static char *const empty_env[] = { NULL };
	struct sigaction sa;
	sigset_t none;
	int fds[3], i, sig, helper, null;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	be_killable();
	drop_privileges(fs->cg, fs->uid, fs->gid, NULL);
	fds[0] = fs->out_fd;
	fds[1] = report_w;
	fds[2] = fs->ca_fd;
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD, 10)) < 0)
			_exit(JR_UNPACK_EXIT_FDS);
	helper = fcntl(fs->helper_fd, F_DUPFD_CLOEXEC, 10);
	null = open("/dev/null", O_RDWR);
	if (helper < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    dup2(fds[0], JR_FETCH_FD_OUT) < 0 || dup2(fds[1], JR_FETCH_FD_REPORT) < 0 ||
	    (fds[2] >= 0 && dup2(fds[2], JR_FETCH_FD_CA) < 0))
		_exit(JR_UNPACK_EXIT_FDS);
	if (fds[2] < 0)
		close(JR_FETCH_FD_CA);
	close_range(JR_FETCH_FD_FIRST_FREE, ~0U, CLOSE_RANGE_CLOEXEC);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	syscall(SYS_execveat, helper, "", fs->argv, empty_env, AT_EMPTY_PATH);
	_exit(JR_UNPACK_EXIT_EXEC);
}

int jr_stage_spawn_fetch(const struct jr_fetch_spawn *fs, int *pidfd, int *report_fd,
			 struct jr_err *err)
{
	struct clone_args ca;
	sigset_t all, old;
	int pipefd[2], r, pfd = -1;
	long pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return jr_err_set(err, errno, "pipe");
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	/* PID 1 of its own pid namespace: its threads (the resolver's) die with it */
	ca.flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pfd;
	if (fs->cg->v2_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)fs->cg->v2_fd;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		fetch_child(fs, pipefd[1]);
	r = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return jr_err_set(err, r, "start jobrun-fetch");
	}
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	*pidfd = pfd;
	*report_fd = pipefd[0];
	return 0;
}

static const char *exit_reason(int code)
{
	switch (code) {
	case JR_UNPACK_EXIT_CGROUP: return "could not enter the job's cgroup";
	case JR_UNPACK_EXIT_UID: return "could not take the job's uid";
	case JR_UNPACK_EXIT_PRIVS: return "could not drop privileges or load seccomp";
	case JR_UNPACK_EXIT_FDS: return "could not set up its file descriptors";
	case JR_UNPACK_EXIT_EXEC: return "could not be executed";
	default: return "said nothing";
	}
}

int jr_stage_spawn(const struct jr_stage *st, int *pidfd, int *report_fd, struct jr_err *err)
{
	char a_entries[32], a_bytes[32], a_name[32];
	char *argv[] = { "jobrun-unpack", "--max-entries", a_entries, "--max-bytes", a_bytes,
			 "--max-name", a_name, st->archive_fd < 0 ? "--no-archive" : NULL, NULL };
	struct sock_filter *bpf = NULL;
	struct clone_args ca;
	struct child_args a;
	sigset_t all, old;
	int pipefd[2], r, pfd = -1;
	long pid;

	snprintf(a_entries, sizeof(a_entries), "%llu", (unsigned long long)st->max_entries);
	snprintf(a_bytes, sizeof(a_bytes), "%llu", (unsigned long long)st->max_bytes);
	snprintf(a_name, sizeof(a_name), "%llu", (unsigned long long)st->max_name);
	memset(&a, 0, sizeof(a));
	a.st = st;
	a.argv = argv;
	r = read_prog(st->seccomp_fd, &bpf, &a.prog.len, err);
	if (r < 0)
		return r;
	a.prog.filter = bpf;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(bpf);
		return jr_err_set(err, errno, "pipe");
	}
	a.report_w = pipefd[1];
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	/* Its own pid namespace (PID 1: when it exits, whatever it left running dies, and the
	 * report pipe reaches EOF), no network, no host IPC: an archive parser is attack surface. */
	ca.flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pfd;
	if (st->cg->v2_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)st->cg->v2_fd;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		child(&a);
	r = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	free(bpf);
	if (pid < 0) {
		close(pipefd[0]);
		return jr_err_set(err, r, "start jobrun-unpack");
	}
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	*pidfd = pfd;
	*report_fd = pipefd[0];
	return 0;
}

const char *jr_stage_exit_reason(int code)
{
	return exit_reason(code);
}

int jr_stage_outcome(const char *report, int wstatus, struct jr_err *err)
{
	if (report && report[0])
		return 0;
	if (WIFEXITED(wstatus))
		return jr_err_set(err, 0, "jobrun-unpack %s (exit status %d)",
				  exit_reason(WEXITSTATUS(wstatus)), WEXITSTATUS(wstatus));
	return jr_err_set(err, 0, "jobrun-unpack was killed by signal %d%s", WTERMSIG(wstatus),
			  WTERMSIG(wstatus) == SIGKILL ? " (out of memory in the job's cgroup?)" : "");
}
