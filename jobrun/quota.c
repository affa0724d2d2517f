/* quota.c - a per-uid user quota on the scratch file system (quota.h has the rule). */
#define _GNU_SOURCE
#include "quota.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/dqblk_xfs.h>
#include <linux/quota.h>

#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443 /* the same number on every architecture */
#endif

#define NO_QUOTA_MSG "its file system has no user quota enabled (mount it with usrquota; an " \
	"ext4 needs the quota feature too: mkfs.ext4 -O quota or tune2fs -O quota): the job's " \
	"use of it could not be limited"

static int qctl(int fd, int cmd, uid_t id, void *addr)
{
	return (int)syscall(SYS_quotactl_fd, (unsigned)fd, (unsigned)QCMD(cmd, USRQUOTA),
			    (unsigned)id, addr);
}

/* The errors that mean "no quota here": no quota support in the file system (ENOSYS), no user
 * quota type (EINVAL), quotas off (ESRCH). */
static int no_quota(int e)
{
	return e == ENOSYS || e == EINVAL || e == ESRCH || e == ENOTSUP;
}

/* ENOSYS is also what a kernel without the system call answers: ask with a bad fd. */
static int no_syscall(void)
{
	return syscall(SYS_quotactl_fd, ~0u, (unsigned)QCMD(Q_XGETQSTAT, USRQUOTA), 0u,
		       NULL) < 0 && errno == ENOSYS;
}

static int refuse(struct jr_err *err, int e)
{
	if (e == ENOSYS && no_syscall())
		return jr_err_set(err, ENOSYS, "user quota: this kernel has no quotactl_fd "
				  "(Linux 5.14 or later, CONFIG_QUOTACTL)");
	jr_err_set(err, 0, NO_QUOTA_MSG);
	if (err)
		err->code = ENOTSUP; /* (no strerror text: the message says it all) */
	return -ENOTSUP;
}

int jr_quota_enforced(int dir_fd, struct jr_err *err)
{
	struct fs_quota_stat st;
	int e;

	/* Q_XGETQSTAT: accounting and enforcement per type, for ext4 and XFS alike (Q_GETINFO
	 * cannot tell ext4's accounting-only quota feature from enforcement) */
	memset(&st, 0, sizeof(st));
	if (qctl(dir_fd, Q_XGETQSTAT, 0, &st) < 0) {
		e = errno;
		if (no_quota(e))
			return refuse(err, e);
		return jr_err_set(err, e, "user quota: quotactl Q_XGETQSTAT");
	}
	if (!(st.qs_flags & FS_QUOTA_UDQ_ENFD))
		return refuse(err, ESRCH);
	return 0;
}

/* 0 or -errno */
static int set_limits(int dir_fd, uid_t uid, uint64_t blocks, uint64_t inodes)
{
	struct if_dqblk q;

	memset(&q, 0, sizeof(q));
	q.dqb_bhardlimit = blocks;
	q.dqb_bsoftlimit = blocks;
	q.dqb_ihardlimit = inodes;
	q.dqb_isoftlimit = inodes;
	q.dqb_valid = QIF_LIMITS;
	return qctl(dir_fd, Q_SETQUOTA, uid, &q) < 0 ? -errno : 0;
}

int jr_quota_set(int dir_fd, uid_t uid, uint64_t bytes, uint64_t inodes, struct jr_err *err)
{
	uint64_t blocks = bytes / QIF_DQBLKSIZE + (bytes % QIF_DQBLKSIZE != 0);
	struct if_dqblk q;
	int r;

	if (!bytes || !inodes)
		return jr_err_set(err, EINVAL, "user quota: a zero limit (the kernel's \"none\")");
	r = jr_quota_enforced(dir_fd, err);
	if (r < 0)
		return r;
	r = set_limits(dir_fd, uid, blocks, inodes);
	if (r < 0 && no_quota(-r)) /* switched off since the check */
		return refuse(err, -r);
	if (r < 0)
		return jr_err_set(err, -r, "user quota: set the limits of uid %u", (unsigned)uid);
	/* read back: a file system that took the call but not the limits must not pass */
	memset(&q, 0, sizeof(q));
	if (qctl(dir_fd, Q_GETQUOTA, uid, &q) < 0) {
		r = jr_err_set(err, errno, "user quota: read back the limits of uid %u",
			       (unsigned)uid);
		goto undo;
	}
	if ((q.dqb_valid & QIF_LIMITS) != QIF_LIMITS || q.dqb_bhardlimit != blocks ||
	    q.dqb_ihardlimit != inodes) {
		r = jr_err_set(err, EIO, "user quota: uid %u has limits %llu KiB, %llu inodes "
			       "after setting %llu KiB, %llu inodes", (unsigned)uid,
			       (unsigned long long)q.dqb_bhardlimit,
			       (unsigned long long)q.dqb_ihardlimit,
			       (unsigned long long)blocks, (unsigned long long)inodes);
		goto undo;
	}
	return 0;
undo:
	set_limits(dir_fd, uid, 0, 0);
	return r;
}

int jr_quota_clear(int dir_fd, uid_t uid, struct jr_err *err)
{
	int r = set_limits(dir_fd, uid, 0, 0);

	if (r < 0)
		return jr_err_set(err, -r, "user quota: clear the limits of uid %u", (unsigned)uid);
	return 0;
}
