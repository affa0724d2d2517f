/* helper.c - find, open and (for jobrun check) try jobrun's helper programs: where they are
 * and how they are trusted is the head of helper.h. */
#define _GNU_SOURCE
#include "helper.h"
#include "callerpath.h"
#include "proto.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* LIBEXECDIR as seen from BINDIR (the Makefile's; the same for every PREFIX). */
#ifndef JR_LIBEXEC_REL
#define JR_LIBEXEC_REL "../libexec/jobrun"
#endif

#define CHECK_UID 65534          /* jobrun-unpack's trial run: nobody, as a job's uid would be */
#define CHECK_TIMEOUT_MS 10000   /* a trial run that does not end is a broken helper */

/* jobrun's own ELF header (defined by the linker): a helper must be for the same machine. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

/* A message that says it all, with the errno for the caller to classify (not in the text). */
static int fail(struct jr_err *err, int code)
{
	if (err)
		err->code = code;
	return -code;
}

/* ---- where ---- */

/* The directory of the running executable: the kernel's path, absolute and without symlinks. */
static int exe_dir(char *dir, size_t len, struct jr_err *err)
{
	ssize_t n = readlink("/proc/self/exe", dir, len);
	char *slash;

	if (n < 0)
		return jr_err_set(err, errno, "readlink /proc/self/exe (jobrun's helpers are found "
				  "from it)");
	if ((size_t)n >= len)
		return jr_err_set(err, ENAMETOOLONG, "readlink /proc/self/exe");
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (dir[0] != '/' || !slash)
		return jr_err_set(err, ENOENT, "/proc/self/exe is '%s', not a path", dir);
	slash[slash == dir] = '\0'; /* "/jobrun": keep "/" */
	return 0;
}

/* dir joined with rel, ".." taken lexically: right for dir, which holds no symlink. */
static int join(char *out, size_t len, const char *dir, const char *rel)
{
	const char *p = rel, *end;
	size_t n, k;

	n = (size_t)snprintf(out, len, "%s", rel[0] == '/' ? "/" : dir);
	if (n >= len)
		return -ENAMETOOLONG;
	while (*p) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		k = (size_t)(end - p);
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(out, '/');

			n = slash == out ? 1 : (size_t)(slash - out);
			out[n] = '\0';
		} else if (k && !(k == 1 && p[0] == '.')) {
			if (n + 1 + k >= len)
				return -ENAMETOOLONG;
			if (out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
			out[n] = '\0';
		}
		p = end;
	}
	return 0;
}

/* The directory at path, reached by the caller-path rule; root's, writable only by root. */
static int open_dir(const char *path, struct jr_err *err)
{
	struct stat st;
	int fd;

	fd = jr_cp_open("jobrun's helper directory", path, JR_CP_DIR, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return jr_err_set(err, e, "fstat %s", path);
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		jr_err_set(err, 0, "jobrun's helper directory %s is uid %u, mode %04o: it must be "
			   "root's and writable only by root", path, (unsigned)st.st_uid,
			   (unsigned)(st.st_mode & 07777));
		return fail(err, EPERM);
	}
	return fd;
}

/* The helper directory: EXEDIR/JR_LIBEXEC_REL when it exists, else EXEDIR. In note, for a
 * helper missing from EXEDIR, where else was looked. */
static int find_dir(char *dir, size_t len, char *note, size_t nlen, struct jr_err *err)
{
	char self[PATH_MAX];
	int fd, r;

	note[0] = '\0';
	r = exe_dir(self, sizeof(self), err);
	if (r < 0)
		return r;
	if (join(dir, len, self, JR_LIBEXEC_REL) < 0)
		return jr_err_set(err, ENAMETOOLONG, "%s/%s", self, JR_LIBEXEC_REL);
	fd = open_dir(dir, err);
	if (fd != -ENOENT || !strcmp(dir, self))
		return fd;
	snprintf(note, nlen, " (beside jobrun: there is no %s)", dir);
	if ((size_t)snprintf(dir, len, "%s", self) >= len)
		return jr_err_set(err, ENAMETOOLONG, "%s", self);
	return open_dir(dir, err);
}

int jr_helper_dir_open(char *dir, size_t len, struct jr_err *err)
{
	char note[PATH_MAX + 64];

	return find_dir(dir, len, note, sizeof(note), err);
}

/* ---- what ---- */

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "i386";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_RISCV: return "riscv";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	case EM_LOONGARCH: return "loongarch";
	default: return "another machine";
	}
}

/* A regular file of root's, writable only by root, an ELF executable for jobrun's machine. */
static int check_file(int fd, const char *path, struct jr_err *err)
{
	const ElfW(Ehdr) *self = &__ehdr_start;
	ElfW(Ehdr) eh;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return jr_err_set(err, errno, "fstat %s", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		jr_err_set(err, 0, "%s is uid %u, mode %06o: it must be a regular file of root's, "
			   "writable only by root", path, (unsigned)st.st_uid, (unsigned)st.st_mode);
		return fail(err, EPERM);
	}
	if (!(st.st_mode & S_IXUSR)) {
		jr_err_set(err, 0, "%s is not executable (mode %04o)", path,
			   (unsigned)(st.st_mode & 07777));
		return fail(err, EACCES);
	}
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		jr_err_set(err, 0, "%s is not an ELF executable", path);
		return fail(err, ENOEXEC);
	}
	if (eh.e_ident[EI_CLASS] != self->e_ident[EI_CLASS] ||
	    eh.e_ident[EI_DATA] != self->e_ident[EI_DATA] || eh.e_machine != self->e_machine) {
		jr_err_set(err, 0, "%s is an executable for %s (%u-bit), jobrun's machine is %s "
			   "(%u-bit)", path, machine_name(eh.e_machine),
			   eh.e_ident[EI_CLASS] == ELFCLASS64 ? 64 : 32,
			   machine_name(self->e_machine),
			   self->e_ident[EI_CLASS] == ELFCLASS64 ? 64 : 32);
		return fail(err, ENOEXEC);
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		jr_err_set(err, 0, "%s is an ELF file of type %u, not an executable", path,
			   (unsigned)eh.e_type);
		return fail(err, ENOEXEC);
	}
	return 0;
}

static int open_helper(const char *name, char *path, size_t len, struct jr_err *err)
{
	char dir[PATH_MAX], note[PATH_MAX + 64];
	int dirfd, fd, r;

	dirfd = find_dir(dir, sizeof(dir), note, sizeof(note), err);
	if (dirfd < 0)
		return dirfd;
	snprintf(path, len, "%s%s%s", dir, dir[1] ? "/" : "", name);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	r = fd < 0 ? errno : 0;
	close(dirfd);
	if (r == ELOOP) {
		jr_err_set(err, 0, "%s is a symlink: not followed (a helper must be a file of "
			   "root's)", path);
		return fail(err, ELOOP);
	}
	if (r)
		return jr_err_set(err, r, "open %s%s", path, note);
	r = check_file(fd, path, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int jr_helper_open(const char *name, struct jr_err *err)
{
	char path[PATH_MAX];

	return open_helper(name, path, sizeof(path), err);
}

/* ---- jobrun check: a trial run ---- */

struct trial {
	int fd;             /* the helper */
	char *const *argv;
	int in;             /* its fd 0 (-1: /dev/null) */
	int fd3, fd4;       /* its fds 3 and 4, or -1 */
	uid_t uid;          /* run as (0: as root, as jobrun-init is) */
	int status;         /* its wait status */
	char out[512];      /* the start of what it wrote on stdout and stderr */
};

/* Between fork and exec: fds 0-4 as asked, every other one closed at exec; the errno of a
 * failure on the exec pipe. */
static __attribute__((noreturn)) void trial_child(const struct trial *t, int out, int null,
						  int exec_pipe)
{
	const int want[5] = { t->in >= 0 ? t->in : null, out, out, t->fd3, t->fd4 };
	char *const envp[] = { NULL };
	int tmp[5], helper, i, e;

	/* above 0-4 first, the helper and the exec pipe too: any may be one of them now */
	exec_pipe = fcntl(exec_pipe, F_DUPFD_CLOEXEC, 10);
	helper = fcntl(t->fd, F_DUPFD_CLOEXEC, 10);
	if (exec_pipe < 0)
		_exit(127);
	if (helper < 0)
		goto fail;
	for (i = 0; i < 5; i++) {
		tmp[i] = want[i] < 0 ? -1 : fcntl(want[i], F_DUPFD, 10);
		if (want[i] >= 0 && tmp[i] < 0)
			goto fail;
	}
	for (i = 0; i < 5; i++) {
		if (tmp[i] < 0)
			close(i);
		else if (dup2(tmp[i], i) < 0)
			goto fail;
	}
	if (close_range(5, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	if (t->uid && (setgroups(0, NULL) < 0 || setgid(t->uid) < 0 || setuid(t->uid) < 0))
		goto fail;
	syscall(SYS_execveat, helper, "", t->argv, envp, AT_EMPTY_PATH);
fail:
	e = errno;
	if (write(exec_pipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int wait_bounded(pid_t pid, int *status)
{
	struct timespec tick = { 0, 2000000 };
	int waited = 0;
	pid_t w;

	while ((w = waitpid(pid, status, WNOHANG)) == 0 && waited < CHECK_TIMEOUT_MS) {
		nanosleep(&tick, NULL);
		waited += 2;
	}
	if (w == pid)
		return 0;
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -ETIMEDOUT;
}

/* Run it; 0 with t->status and t->out, or -errno with err set (it did not start, or hung). */
static int trial_run(struct trial *t, const char *path, struct jr_err *err)
{
	int out[2] = { -1, -1 }, ex[2] = { -1, -1 }, null, e = 0, i, r = 0;
	ssize_t n;
	pid_t pid;

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
		r = jr_err_set(err, errno, "%s: a trial run: pipe", path);
		goto out_close;
	}
	pid = fork();
	if (pid == 0)
		trial_child(t, out[1], null, ex[1]);
	close(out[1]);
	close(ex[1]);
	out[1] = ex[1] = -1;
	if (pid < 0) {
		r = jr_err_set(err, errno, "%s: a trial run: fork", path);
		goto out_close;
	}
	if (wait_bounded(pid, &t->status) < 0) {
		r = jr_err_set(err, ETIMEDOUT, "%s: a trial run did not end in %d s", path,
			       CHECK_TIMEOUT_MS / 1000);
		goto out_close;
	}
	if (read(ex[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		r = jr_err_set(err, e, "%s: cannot be executed", path);
		goto out_close;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	n = read(out[0], t->out, sizeof(t->out) - 1);
	t->out[n > 0 ? n : 0] = '\0';
	t->out[strcspn(t->out, "\n")] = '\0';
out_close:
	if (null >= 0)
		close(null);
	for (i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ex[i] >= 0)
			close(ex[i]);
	}
	return r;
}

static void describe(const struct trial *t, char *buf, size_t len)
{
	int n;

	if (WIFEXITED(t->status))
		n = snprintf(buf, len, "exited with status %d", WEXITSTATUS(t->status));
	else
		n = snprintf(buf, len, "was killed by signal %d", WTERMSIG(t->status));
	if (t->out[0] && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", saying '%s'", t->out);
}

/* jobrun-init given no arguments: a JR_MSG_INIT_FAILED record (JR_STAGE_INIT_ARGS, EINVAL) on
 * its status fd 3, exit status 127 (init.c). */
static int try_init(int fd, const char *path, struct jr_err *err)
{
	char *const argv[] = { (char *)"jobrun-init", NULL };
	struct trial t = { .fd = fd, .argv = argv, .in = -1, .fd3 = -1, .fd4 = -1 };
	struct jr_msg m;
	char how[700];
	int sp[2], r;
	ssize_t n;

	if (pipe2(sp, O_CLOEXEC) < 0)
		return jr_err_set(err, errno, "%s: a trial run: pipe", path);
	t.fd3 = sp[1];
	r = trial_run(&t, path, err);
	close(sp[1]);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	n = read(sp[0], &m, sizeof(m));
	close(sp[0]);
	if (r < 0)
		return r;
	if (WIFEXITED(t.status) && WEXITSTATUS(t.status) == 127 && n == (ssize_t)sizeof(m) &&
	    m.kind == JR_MSG_INIT_FAILED && m.stage == JR_STAGE_INIT_ARGS && m.err == EINVAL)
		return 0;
	describe(&t, how, sizeof(how));
	jr_err_set(err, 0, "%s does not answer as jobrun-init: given no arguments, it %s and %s "
		   "(jobrun-init reports bad arguments on fd 3 and exits 127)", path, how,
		   n == (ssize_t)sizeof(m) ? "reported something else" : "reported nothing");
	return fail(err, EPROTO);
}

/* jobrun-unpack, as an unprivileged uid, given an empty tar archive (two zero blocks): exit
 * status 0 and an ok report on fd 4. Its workspace (fd 3) is an O_PATH descriptor of "/": an
 * empty archive writes nothing, and uid nobody could write nothing there anyway. */
static int try_unpack(int fd, const char *path, struct jr_err *err)
{
	static const char empty_tar[1024];
	char *const argv[] = { (char *)"jobrun-unpack", (char *)"--no-thread", NULL };
	struct trial t = { .fd = fd, .argv = argv, .in = -1, .fd3 = -1, .fd4 = -1,
			   .uid = CHECK_UID };
	char rep[256], how[700];
	int in[2] = { -1, -1 }, rp[2] = { -1, -1 }, ws, i, r;
	ssize_t n;

	ws = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ws < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(rp, O_CLOEXEC) < 0) {
		r = jr_err_set(err, errno, "%s: a trial run: pipe", path);
		goto out_close;
	}
	if (write(in[1], empty_tar, sizeof(empty_tar)) != (ssize_t)sizeof(empty_tar)) {
		r = jr_err_set(err, errno, "%s: a trial run: write its input", path);
		goto out_close;
	}
	close(in[1]);
	in[1] = -1;
	t.in = in[0];
	t.fd3 = ws;
	t.fd4 = rp[1];
	r = trial_run(&t, path, err);
	close(rp[1]);
	rp[1] = -1;
	fcntl(rp[0], F_SETFL, O_NONBLOCK);
	n = read(rp[0], rep, sizeof(rep) - 1);
	rep[n > 0 ? n : 0] = '\0';
	rep[strcspn(rep, "\n")] = '\0';
	if (r < 0)
		goto out_close;
	if (!WIFEXITED(t.status) || WEXITSTATUS(t.status) != 0 ||
	    strncmp(rep, "{\"ok\":true", 10)) {
		describe(&t, how, sizeof(how));
		jr_err_set(err, 0, "%s does not unpack an empty tar archive as uid %d: it %s, "
			   "reporting '%s'", path, CHECK_UID, how, rep);
		r = fail(err, EPROTO);
	}
out_close:
	if (ws >= 0)
		close(ws);
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (rp[i] >= 0)
			close(rp[i]);
	}
	return r;
}

/* NAME --version: exit status 0, "NAME VERSION (libcurl ...)" on stdout (the helpers that link
 * libcurl: it and its TLS library load). */
static int try_version(const char *name, int fd, const char *path, struct jr_err *err)
{
	char *const argv[] = { (char *)name, (char *)"--version", NULL };
	struct trial t = { .fd = fd, .argv = argv, .in = -1, .fd3 = -1, .fd4 = -1 };
	char how[700], want[64];
	int r;

	r = trial_run(&t, path, err);
	if (r < 0)
		return r;
	snprintf(want, sizeof(want), "%s " JR_VERSION " ", name);
	if (WIFEXITED(t.status) && WEXITSTATUS(t.status) == 0 && !strncmp(t.out, want, strlen(want)))
		return 0;
	describe(&t, how, sizeof(how));
	jr_err_set(err, 0, "%s does not answer --version as %s " JR_VERSION " does: it %s", path,
		   name, how);
	return fail(err, EPROTO);
}

static int try_report(int fd, const char *path, struct jr_err *err)
{
	return try_version("jobrun-report", fd, path, err);
}

static int try_fetch(int fd, const char *path, struct jr_err *err)
{
	return try_version("jobrun-fetch", fd, path, err);
}

int jr_helper_check(const char *name, char *what, size_t len, struct jr_err *err)
{
	static const struct {
		const char *name;
		int (*try)(int fd, const char *path, struct jr_err *err);
		const char *how;
	} helpers[] = {
		{ "jobrun-init", try_init, "answers bad arguments as jobrun-init does" },
		{ "jobrun-unpack", try_unpack, "unpacks an empty archive as uid nobody" },
		{ "jobrun-report", try_report, "starts with its libcurl" },
		{ "jobrun-fetch", try_fetch, "starts with its libcurl" },
	};
	char path[PATH_MAX];
	size_t i;
	int fd, r = 0;

	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (!strcmp(helpers[i].name, name))
			break;
	if (i == sizeof(helpers) / sizeof(helpers[0]))
		return jr_err_set(err, 0, "%s: not one of jobrun's helpers", name);
	fd = open_helper(name, path, sizeof(path), err);
	if (fd < 0)
		return fd;
	r = helpers[i].try(fd, path, err);
	close(fd);
	if (r == 0)
		snprintf(what, len, "%s: %s executable, %s", path,
			 machine_name(__ehdr_start.e_machine), helpers[i].how);
	return r;
}
