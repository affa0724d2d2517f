/* outbox.c - results waiting to be POSTed to a report target (outbox.h). */
#define _GNU_SOURCE
#include "outbox.h"
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* STATE_DIR/outbox as a directory fd, made when missing (0700, root's). */
static int outbox_dir(const char *state_dir, struct jr_err *err)
{
	int sd, fd;

	if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "create %s", state_dir);
	sd = open(state_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (sd < 0)
		return jr_err_set(err, errno, "open %s", state_dir);
	if (mkdirat(sd, JR_OUTBOX_DIR, 0700) < 0 && errno != EEXIST) {
		int e = errno;

		close(sd);
		return jr_err_set(err, e, "create %s/" JR_OUTBOX_DIR, state_dir);
	}
	fd = openat(sd, JR_OUTBOX_DIR, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		jr_err_set(err, errno, "open %s/" JR_OUTBOX_DIR, state_dir);
	close(sd);
	return fd < 0 ? -errno : fd;
}

int jr_outbox_put(const char *state_dir, const char *target, const char *json,
		  struct jr_err *err)
{
	static unsigned seq;
	char name[NAME_MAX + 1], tmp[NAME_MAX + 8];
	struct timespec ts;
	size_t len = strlen(json), off = 0;
	int dfd, fd, e = 0;

	dfd = outbox_dir(state_dir, err);
	if (dfd < 0)
		return dfd;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof(name), "%s@%lld.%09ld-%d-%u.json", target, (long long)ts.tv_sec,
		 ts.tv_nsec, (int)getpid(), __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, json + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!e && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
		e = errno ? errno : EIO;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && renameat(dfd, tmp, dfd, name) < 0)
		e = errno;
	if (e)
		unlinkat(dfd, tmp, 0);
	else if (fsync(dfd) < 0)
		e = errno;
out:
	close(dfd);
	if (e)
		return jr_err_set(err, e, "outbox %s/" JR_OUTBOX_DIR "/%s", state_dir, name);
	return 0;
}

bool jr_outbox_reporter_running(const char *state_dir)
{
	char path[PATH_MAX];
	bool held = false;
	int fd;

	snprintf(path, sizeof(path), "%s/" JR_OUTBOX_DIR "/" JR_OUTBOX_LOCK, state_dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	close(fd); /* drops the lock if it was taken here */
	return held;
}

int jr_outbox_kick(const char *state_dir, const char *config, struct jr_err *err)
{
	char log[PATH_MAX];
	pid_t pid;
	int helper, st;

	/* The entry was written before this check, and a draining reporter drops the lock before
	 * it looks at the outbox a last time: one of the two sees it. */
	if (jr_outbox_reporter_running(state_dir))
		return 0;
	helper = jr_helper_open("jobrun-report", err);
	if (helper < 0)
		return helper;
	snprintf(log, sizeof(log), "%s/" JR_OUTBOX_DIR "/report.log", state_dir);
	pid = fork();
	if (pid < 0) {
		close(helper);
		return jr_err_set(err, errno, "fork for jobrun-report");
	}
	if (pid == 0) {
		char *argv[] = { "jobrun-report", "--drain", "--log", log,
				 config ? "--config" : NULL, (char *)config, NULL };
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		int fd = open("/dev/null", O_RDWR);

		if (fd < 0 || setsid() < 0)
			_exit(127);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		/* everything else of jobrun's goes at the exec (helper is needed until then) */
		syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
		if (fork() != 0)
			_exit(0);
		syscall(SYS_execveat, helper, "", argv, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	close(helper);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}
