/* quota.h - the job's share of a --scratch file system: a per-uid user quota.
 *
 * The rule: a job's uid is unique among running jobs, every file it creates on the scratch
 * file system is owned by that uid, and it has no capability to chown one away or to exceed a
 * limit (CAP_SYS_RESOURCE). So a user quota for that uid on the file system holding the scratch
 * directory bounds what the job can put there, whatever directory it writes in:
 *   blocks: the job's disk limit (spec->disk_bytes), rounded up to 1 KiB quota blocks;
 *   inodes: disk_bytes / 4096 + 1024 (the formula of the job's tmpfs).
 * Hard and soft limits are the same: the soft limit's grace period never starts.
 *
 * Set before the job starts (jr_quota_set), cleared once its scratch tree is removed
 * (jr_quota_clear). Usage is the kernel's: files the uid owns elsewhere on the same file system
 * (a --dir there, a tree a crashed jobrun left) count against the limit too; the scratch
 * directory itself counts one inode and one block.
 *
 * A file system that does not enforce user quotas is refused: the limit cannot be applied, and
 * a job with unbounded scratch could fill a disk others share. Enforcing means accounting plus
 * limits: ext4 with the quota feature (mkfs.ext4 -O quota -E quotatype=usrquota, or
 * tune2fs -O quota) mounted with -o usrquota (without it the kernel only counts), ext4 with
 * journaled quota files and quotaon, XFS mounted with uquota. The kernel needs quotactl_fd
 * (Linux 5.14) and, for ext4, the quota_v2 format (CONFIG_QFMT_V2, module quota_v2). */
#ifndef JR_QUOTA_H
#define JR_QUOTA_H

#include "err.h"

#include <stdint.h>
#include <sys/types.h>

/* 0 when the file system holding dir_fd (any fd, O_PATH too) enforces user quotas. Otherwise
 * -ENOTSUP with err saying so without an errno text ("its file system has no user quota
 * enabled (...): the job's use of it could not be limited": the caller prefixes
 * "--scratch DIR"; the caller's choice of file system, a verdict RJ), -ENOSYS when this kernel
 * has no quotactl_fd (the host's fault), or another -errno. */
int jr_quota_enforced(int dir_fd, struct jr_err *err);

/* Check jr_quota_enforced, then set uid's hard and soft limits there to bytes (rounded up to
 * 1 KiB) and inodes, and read them back. Neither may be 0 (0 means "no limit" to the kernel):
 * -EINVAL. Returns 0 or -errno with err set (-ENOTSUP and -ENOSYS as above). */
int jr_quota_set(int dir_fd, uid_t uid, uint64_t bytes, uint64_t inodes, struct jr_err *err);

/* Remove uid's limits there (all zero: with no usage left the kernel drops its entry). */
int jr_quota_clear(int dir_fd, uid_t uid, struct jr_err *err);

#endif
