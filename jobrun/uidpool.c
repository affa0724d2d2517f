/* uidpool.c - lease job uids with flock; the lease file records what the job owns. */
#define _GNU_SOURCE
#include "uidpool.h"
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* A quarantine marker names what the slot's last job left behind; once that is gone, the
 * marker goes too and the slot is usable again. */
int jr_uid_quarantined(int dirfd, unsigned slot)
{
	char name[32], path[4096];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%u.dirty", slot);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	n = read(fd, path, sizeof(path) - 1);
	close(fd);
	if (n > 0) {
		path[n] = '\0';
		if (access(path, F_OK) == 0)
			return 1;
	}
	unlinkat(dirfd, name, 0);
	return 0;
}

void jr_uid_quarantine_slot(const char *runtime_dir, unsigned slot, const char *leftover)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/uids/%u.dirty", runtime_dir, slot);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (write(fd, leftover, strlen(leftover)) < 0) {
		/* nothing better to do: the slot stays usable */
	}
	close(fd);
}

void jr_uid_quarantine(const char *runtime_dir, struct jr_uid_lease *lease,
		       const char *leftover)
{
	jr_uid_quarantine_slot(runtime_dir, lease->slot, leftover);
	lease->keep_rec = true;
}

/* A free slot whose file still holds a record: its jobrun died. Remove what the record names
 * (sweep.h) before the slot is used: 0 when it can be, <0 when something is left (the slot is
 * quarantined then). Nothing to do costs one fstat. */
static int sweep_free_slot(const char *runtime_dir, int dirfd, unsigned slot, int fd)
{
	struct jr_sweep_report r;
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return 0;
	jr_sweep_report_init(&r, slot);
	rc = jr_sweep_slot(runtime_dir, dirfd, slot, fd, &r);
	jr_sweep_log(&r);
	jr_sweep_report_free(&r);
	return rc;
}

int jr_uid_lease_note(struct jr_uid_lease *lease, const char *kind, const char *value)
{
	size_t k, v, need;

	if (lease->fd < 0 || !value)
		return 0;
	if (strchr(value, '\n') || strchr(kind, ' ') || strchr(kind, '\n'))
		return -EINVAL;
	k = strlen(kind);
	v = strlen(value);
	need = lease->rec_len + k + v + 2;
	if (need > lease->rec_cap) {
		size_t cap = need < 512 ? 1024 : 2 * need;
		char *n = realloc(lease->rec, cap);

		if (!n)
			return -ENOMEM;
		lease->rec = n;
		lease->rec_cap = cap;
	}
	memcpy(lease->rec + lease->rec_len, kind, k);
	lease->rec[lease->rec_len + k] = ' ';
	memcpy(lease->rec + lease->rec_len + k + 1, value, v);
	lease->rec[need - 1] = '\n';
	lease->rec_len = need;
	return 0;
}

int jr_uid_lease_flush(struct jr_uid_lease *lease)
{
	ssize_t n;

	if (lease->fd < 0 || lease->rec_written >= lease->rec_len)
		return 0;
	n = pwrite(lease->fd, lease->rec + lease->rec_written, lease->rec_len - lease->rec_written,
		   (off_t)lease->rec_written);
	if (n < 0)
		return -errno;
	lease->rec_written += (size_t)n;
	return 0;
}

static int acquire(const char *runtime_dir, uid_t base, unsigned count, int only,
		   struct jr_uid_lease *lease, struct jr_err *err)
{
	char path[4096];
	unsigned i, start = 0, slot, tries = only >= 0 ? 1 : count;
	int dirfd, fd;

	lease->fd = -1;
	lease->rec = NULL;
	lease->rec_len = lease->rec_cap = lease->rec_written = 0;
	lease->keep_rec = false;
	if (!count || (uint64_t)base + 2ULL * count > (uid_t)-1)
		return jr_err_set(err, 0, "uid range %u+2*%u does not fit", (unsigned)base, count);
	snprintf(path, sizeof(path), "%s/uids", runtime_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return jr_err_set(err, errno, "create %s", path);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return jr_err_set(err, errno, "open %s", path);
	/* Start at a random slot so concurrent jobrun processes rarely contend. */
	if (only >= 0)
		start = (unsigned)only;
	else if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (unsigned)getpid();
	for (i = 0; i < tries; i++) {
		char name[16];

		slot = (start + i) % count;
		snprintf(name, sizeof(name), "%u", slot);
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			int e = errno;

			close(dirfd);
			return jr_err_set(err, e, "open uid lock %s/%s", path, name);
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && !jr_uid_quarantined(dirfd, slot) &&
		    sweep_free_slot(runtime_dir, dirfd, slot, fd) == 0) {
			char num[32];

			close(dirfd);
			lease->fd = fd;
			lease->slot = slot;
			lease->uid = base + slot;
			lease->init_uid = base + count + slot;
			snprintf(num, sizeof(num), "%ld", (long)getpid());
			jr_uid_lease_note(lease, "pid", num);
			snprintf(num, sizeof(num), "%u", (unsigned)lease->uid);
			jr_uid_lease_note(lease, "uid", num);
			return 0;
		}
		close(fd);
	}
	close(dirfd);
	if (only >= 0)
		return jr_err_set(err, EBUSY, "uid %u (slot %d) is in use or has a leftover that "
				  "cannot be removed", (unsigned)(base + (unsigned)only), only);
	return jr_err_set(err, EAGAIN, "all %u job uids from %u are in use", count,
			  (unsigned)base);
}

int jr_uid_acquire(const char *runtime_dir, uid_t base, unsigned count,
		   struct jr_uid_lease *lease, struct jr_err *err)
{
	return acquire(runtime_dir, base, count, -1, lease, err);
}

int jr_uid_acquire_slot(const char *runtime_dir, uid_t base, unsigned count, unsigned slot,
			struct jr_uid_lease *lease, struct jr_err *err)
{
	if (slot >= count)
		return jr_err_set(err, 0, "slot %u is outside the range of %u uids", slot, count);
	return acquire(runtime_dir, base, count, (int)slot, lease, err);
}

void jr_uid_release(struct jr_uid_lease *lease)
{
	if (lease->fd >= 0) {
		/* what the job owned is gone (or quarantined, then the record stays): the next
		 * holder finds an empty file and sweeps nothing */
		if (lease->rec_written && !lease->keep_rec && ftruncate(lease->fd, 0) < 0) {
			/* the next holder sweeps a record of things already gone: harmless */
		}
		close(lease->fd);
	}
	lease->fd = -1;
	free(lease->rec);
	lease->rec = NULL;
	lease->rec_len = lease->rec_cap = lease->rec_written = 0;
	lease->keep_rec = false;
}
