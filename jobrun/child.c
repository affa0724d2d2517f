/* child.c - between clone3 and execve: no malloc, no stdio, no logging, no locks. Every step
 * was prepared by the parent (plan.c); a failure is written to the status pipe as
 * {stage, step, errno} and the child exits. */
#define _GNU_SOURCE
#include "child.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NS_FLAGS (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS)

static __attribute__((noreturn)) void die(const struct jr_launch *l, int stage, int step,
					  int err)
{
	struct jr_msg m = { .kind = JR_MSG_SETUP_FAILED, .stage = stage, .step = step,
			    .err = err };

	if (write(l->status_fd, &m, sizeof(m)) < 0) {
		/* nothing more can be done: jobrun sees an exit without a record */
	}
	_exit(127);
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int s, r;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

static int write_file(const struct jr_step *s)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	fd = open(s->dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, s->mode);
	if (fd < 0)
		return -1;
	while (done < s->len) {
		n = write(fd, s->src + done, s->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	if (fchmod(fd, s->mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int bind_mount(const struct jr_step *s)
{
	struct mount_attr attr = { .attr_set = s->attr, .propagation = MS_PRIVATE };
	unsigned int rec = s->rec ? AT_RECURSIVE : 0;
	int fd, r;

	if (s->src_fd >= 0 && s->detached) { /* resolved once by the parent, copied there */
		fd = s->src_fd;
	} else if (s->src_fd >= 0) {
		errno = EBADF; /* jr_plan_detach was not called: never fall back to the path */
		return -1;
	} else {
		fd = open_tree(AT_FDCWD, s->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	}
	if (fd < 0)
		return -1;
	r = mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr));
	if (r == 0)
		r = move_mount(fd, "", AT_FDCWD, s->dst, MOVE_MOUNT_F_EMPTY_PATH);
	if (fd != s->src_fd)
		close(fd);
	return r;
}

static int pivot(const struct jr_step *s)
{
	if (chdir(s->dst) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}

static int run_step(const struct jr_step *s)
{
	struct mount_attr attr;

	switch (s->kind) {
	case JR_STEP_PRIVATE:
		return mount(NULL, s->dst, NULL, MS_REC | MS_PRIVATE, NULL);
	case JR_STEP_HOSTNAME:
		return sethostname(s->src, strlen(s->src));
	case JR_STEP_LOOPBACK:
		return loopback_up();
	case JR_STEP_TMPFS:
		return mount("tmpfs", s->dst, "tmpfs", s->flags, s->data);
	case JR_STEP_PROC:
		return mount("proc", s->dst, "proc", s->flags, s->data);
	case JR_STEP_MKDIR:
		if (mkdir(s->dst, s->mode) < 0 && errno != EEXIST)
			return -1;
		if (chmod(s->dst, s->mode) < 0) /* mkdir applies the umask */
			return -1;
		return (s->uid || s->gid) ? chown(s->dst, s->uid, s->gid) : 0;
	case JR_STEP_FILE:
		return write_file(s);
	case JR_STEP_SYMLINK:
		return symlink(s->src, s->dst);
	case JR_STEP_MKNOD:
		if (mknod(s->dst, S_IFCHR | s->mode, s->rdev) < 0)
			return -1;
		return chmod(s->dst, s->mode); /* mknod applies the umask */
	case JR_STEP_BIND:
		return bind_mount(s);
	case JR_STEP_PIVOT:
		return pivot(s);
	case JR_STEP_SETATTR:
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = s->attr;
		return mount_setattr(AT_FDCWD, s->dst, 0, &attr, sizeof(attr));
	}
	errno = EINVAL;
	return -1;
}

/* Give jobrun-init exactly fds 0-4: stdio, the status pipe (3) and the seccomp program (4). */
static void setup_fds(const struct jr_launch *l)
{
	int status, prog;

	if (dup2(l->stdin_fd, 0) < 0 || dup2(l->stdout_fd, 1) < 0 || dup2(l->stderr_fd, 2) < 0)
		die(l, JR_STAGE_STDIO, 0, errno);
	status = fcntl(l->status_fd, F_DUPFD, 10);
	prog = fcntl(l->seccomp_fd, F_DUPFD, 10);
	if (status < 0 || prog < 0)
		die(l, JR_STAGE_FDS, 0, errno);
	if (dup2(status, JR_INIT_STATUS_FD) < 0)
		die(l, JR_STAGE_FDS, 0, errno);
	if (dup2(prog, JR_INIT_SECCOMP_FD) < 0)
		die(l, JR_STAGE_FDS, 0, errno);
	if (close_range(JR_INIT_SECCOMP_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die(l, JR_STAGE_FDS, 0, errno);
}

/* On v1 the child moves itself into the job's cgroup (v2: it was cloned there); then the
 * cgroup namespace, rooted at the job's cgroup. */
static void enter_cgroup(const struct jr_launch *l)
{
	unsigned i;

	for (i = 0; i < l->nv1; i++)
		if (write(l->v1_procs[i], "0", 1) != 1)
			die(l, JR_STAGE_CGROUP_ATTACH, (int)i, errno);
	if (syscall(SYS_unshare, CLONE_NEWCGROUP) < 0)
		die(l, JR_STAGE_CGROUP_NS, 0, errno);
}

static __attribute__((noreturn)) void child_main(const struct jr_launch *l)
{
	struct sigaction sa;
	sigset_t none;
	size_t i;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* fails harmlessly for SIGKILL, SIGSTOP, RT internals */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(l, JR_STAGE_PDEATHSIG, 0, errno);
	enter_cgroup(l);
	for (i = 0; i < l->plan->n; i++)
		if (run_step(&l->plan->steps[i]) < 0)
			die(l, JR_STAGE_PLAN, (int)i, errno);
	setup_fds(l);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		die(l, JR_STAGE_SIGNALS, 0, errno);
	syscall(SYS_execveat, l->init_fd, "", l->init_argv, l->init_envp, AT_EMPTY_PATH);
	die(l, JR_STAGE_EXEC_INIT, 0, errno);
}

static int child_entry(void *arg)
{
	child_main(arg);
}

/* The child's stack when it shares jobrun's memory: used by one child at a time (the parent
 * waits until it has exec'd jobrun-init or died). */
#define CHILD_STACK (256 << 10)

/* Without CLONE_INTO_CGROUP (cgroup v1, or no cgroup): clone(CLONE_VM | CLONE_VFORK), the way
 * posix_spawn does it. The child runs on a stack of its own in jobrun's memory and jobrun
 * waits until it has exec'd: no copy of jobrun's page tables, no copy-on-write faults in
 * either process, no TLB shootdowns (a fork of a resident supervisor cost ~25% of a trivial
 * job's CPU in page faults and IPIs, measured with perf). The child touches nothing but its
 * stack and the kernel: no malloc, no locks, no errno read by the parent meanwhile. */
static void *child_stack(int *e);

static pid_t spawn_vm(const struct jr_launch *l, int *pidfd, int *e)
{
	void *stack = child_stack(e);
	int pfd = -1;
	pid_t pid;

	if (!stack)
		return -1;
	pid = clone(child_entry, (char *)stack + CHILD_STACK,
		    NS_FLAGS | CLONE_PIDFD | CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)l, &pfd);
	*e = errno;
	if (pid > 0)
		*pidfd = pfd;
	return pid;
}

#if defined(__x86_64__)
static __attribute__((noreturn, used)) void child_main_entry(const struct jr_launch *l)
{
	child_main(l);
}

/* clone3 with CLONE_VM | CLONE_VFORK (cgroup v2: CLONE_INTO_CGROUP needs clone3, which glibc
 * does not wrap): the child starts on its own stack right after the syscall instruction, so it
 * must not return through any C frame: it calls child_main_entry at once. */
static long clone3_vm(struct clone_args *args, const struct jr_launch *l)
{
	register long rax __asm__("rax") = SYS_clone3;
	register long rdi __asm__("rdi") = (long)args;
	register long rsi __asm__("rsi") = (long)sizeof(*args);
	register long rdx __asm__("rdx") = (long)l;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%rdx, %%rdi\n\t"
			 "call child_main_entry\n\t"
			 "hlt\n"
			 "1:"
			 : "+r"(rax)
			 : "r"(rdi), "r"(rsi), "r"(rdx)
			 : "rcx", "r11", "memory");
	return rax;
}
#endif

static void *child_stack(int *e)
{
	static void *stack;

	if (!stack) {
		stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			stack = NULL;
			*e = errno;
		}
	}
	return stack;
}

pid_t jr_child_spawn(const struct jr_launch *l, int *pidfd, struct jr_err *err)
{
	struct clone_args args;
	sigset_t all, old;
	long pid;
	int e;

	if (l->cgroup_fd < 0) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pid = spawn_vm(l, pidfd, &e);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (pid < 0)
			return jr_err_set(err, e, "clone into new namespaces");
		return (pid_t)pid;
	}
	memset(&args, 0, sizeof(args));
	args.flags = NS_FLAGS | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (l->cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)l->cgroup_fd;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
#if defined(__x86_64__)
	args.flags |= CLONE_VM | CLONE_VFORK; /* as spawn_vm, on a stack of its own */
	args.stack = (uint64_t)(uintptr_t)child_stack(&e);
	args.stack_size = CHILD_STACK;
	if (!args.stack) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return jr_err_set(err, e, "clone3 into new namespaces: a stack");
	}
	pid = clone3_vm(&args, l);
	e = pid < 0 ? (int)-pid : 0;
	if (pid < 0)
		pid = -1;
#else
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		child_main(l);
	e = errno;
#endif
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return jr_err_set(err, e, "clone3 into new namespaces");
	return (pid_t)pid;
}
