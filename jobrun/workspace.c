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
	snprintf(data, sizeof(data), "size=%llu,nr_inodes=%llu,mode=0755,uid=%u,gid=%u",
		 (unsigned long long)bytes, inodes_for(bytes), (unsigned)uid, (unsigned)gid);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0) {
		jr_err_set(err, errno, "mount the workspace tmpfs at %s", path);
		goto fail;
	}
	if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0) {
		jr_err_set(err, errno, "make %s private", path);
		umount2(path, MNT_DETACH);
		goto fail;
	}
	return path;
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
