/* workspace.c - per-job tmpfs workspaces on the host. */
#define _GNU_SOURCE
#include "workspace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long long inodes_for(uint64_t bytes)
{
	return (unsigned long long)(bytes / 4096 + 1024);
}

/* One tmpfs, one size limit: job/ (the job's, unpacked into), tmp/ and shm/ (sticky). The
 * root of the tmpfs is root's: the job cannot rename job/ away. */
static int make_dirs(const char *path, uid_t uid, gid_t gid, struct jr_err *err)
{
	static const char *const names[] = { "job", "tmp", "shm" };
	char sub[4096];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
		if (mkdir(sub, 0755) < 0 || chmod(sub, i ? 01777 : 0755) < 0 ||
		    (i == 0 && chown(sub, uid, gid) < 0))
			return jr_err_set(err, errno, "create %s", sub);
	}
	return 0;
}

char *jr_ws_create(const char *runtime_dir, unsigned slot, uint64_t bytes, uid_t uid, gid_t gid,
		   struct jr_err *err)
{
	char dir[4096], data[256], *path;

	snprintf(dir, sizeof(dir), "%s/ws", runtime_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		jr_err_set(err, errno, "create %s", dir);
		return NULL;
	}
	if (asprintf(&path, "%s/%u", dir, slot) < 0) {
		jr_err_set(err, ENOMEM, "workspace path");
		return NULL;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		jr_err_set(err, errno, "create %s", path);
		goto fail;
	}
	/* a jobrun that died left its workspace mounted: we hold the slot's lease now */
	while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		;
	snprintf(data, sizeof(data), "size=%llu,nr_inodes=%llu,mode=0755",
		 (unsigned long long)bytes, inodes_for(bytes));
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0) {
		jr_err_set(err, errno, "mount the workspace tmpfs at %s", path);
		goto fail;
	}
	if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0) {
		jr_err_set(err, errno, "make %s private", path);
		goto fail_umount;
	}
	if (make_dirs(path, uid, gid, err) < 0)
		goto fail_umount;
	return path;
fail_umount:
	umount2(path, MNT_DETACH);
fail:
	free(path);
	return NULL;
}

int jr_ws_resize(const char *path, uint64_t bytes, struct jr_err *err)
{
	char data[128];

	snprintf(data, sizeof(data), "size=%llu,nr_inodes=%llu", (unsigned long long)bytes,
		 inodes_for(bytes));
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, data) < 0) {
		int e = errno == EINVAL ? ENOSPC : errno;

		return jr_err_set(err, e, "the unpacked files do not fit the job's disk limit of "
				  "%llu bytes", (unsigned long long)bytes);
	}
	return 0;
}

int jr_ws_destroy(const char *path, struct jr_err *err)
{
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return jr_err_set(err, errno, "unmount workspace %s", path);
	if (rmdir(path) < 0 && errno != ENOENT)
		return jr_err_set(err, errno, "remove %s", path);
	return 0;
}
