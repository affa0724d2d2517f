/* callerpath.h - the caller's paths, resolved once into file descriptors.
 *
 * Every path a caller hands to jobrun (the archive, --job-conf, --dir, --scratch, --stdin,
 * --stdout, --stderr, --result, --output-dir, --ro-bind) may lie in a directory that some job
 * could write, now or in an earlier run. jobrun is root: were it to follow what a job planted
 * there, the job would reach the host. So each path is resolved once, here, and only the file
 * descriptor is used afterwards (binds are made from it, files created relative to it).
 *
 * The rule:
 * - The path is walked one component at a time (openat O_PATH|O_NOFOLLOW from "/" or the
 *   working directory), never by the kernel's own lookup of the whole string.
 * - A symlink on the way (or at the end) is followed only when it belongs to root AND the
 *   directory holding it belongs to root and is not writable by group or others, or is sticky
 *   (then nobody but root can replace a link of root's there). Any other symlink is refused:
 *   "not followed". At most 40 symlinks are followed.
 * - The object found is checked with fstat on its descriptor: a regular file where a file is
 *   read, a directory where a directory is wanted. FIFOs and character devices are accepted
 *   only where they are root's in a directory as trusted as above (/dev/null, a FIFO the
 *   caller made in /run); sockets and block devices never. Opening never blocks (O_NONBLOCK)
 *   and happens only after the type is known (an O_PATH descriptor reopened through
 *   /proc/self/fd), so a device is never opened by surprise.
 * - "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd/N" and "/proc/self/fd/N" name the
 *   caller's own open descriptor N: it is duplicated, whatever it is (a pipe, a terminal).
 * - Files jobrun writes (--stdout, --stderr, --result) are created relative to the directory's
 *   descriptor under an unpredictable temporary name with O_CREAT|O_EXCL|O_NOFOLLOW and
 *   renamed into place. What is already at the destination must be absent, a regular file of
 *   root's, or a FIFO or character device accepted as above; anything else (a symlink, a file
 *   of another uid, a directory, a socket) is refused, never followed and never blocked on. */
#ifndef JR_CALLERPATH_H
#define JR_CALLERPATH_H

#include "err.h"

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

enum jr_cp_want {
	JR_CP_FILE,      /* a regular file to read (or /dev/null-like device, FIFO: see above) */
	JR_CP_DIR,       /* a directory: an O_PATH descriptor */
	JR_CP_ANY,       /* a bind source: a directory or a file, an O_PATH descriptor */
};

/* Open opt's path (opt names the option in messages: "--stdin", "archive"). JR_CP_FILE gives
 * an O_RDONLY descriptor (blocking mode restored), the others O_PATH ones. Returns the fd, or
 * -errno with err set ("--dir 'W/x': 'W/x' is a symlink of uid 1500000003 in a directory
 * others can write: not followed"). */
int jr_cp_open(const char *opt, const char *path, enum jr_cp_want want, struct jr_err *err);

/* A bind source (--ro-bind, the profile's system binds): the path is walked by the rule, but
 * a trusted symlink at its very end is not followed: 1 with its target in target (the plan
 * mirrors it as a symlink inside the job's root, where it resolves: /bin -> usr/bin); an
 * untrusted one is refused like any other. Else 0 with *fd an O_PATH descriptor
 * of a directory, a regular file, or an accepted FIFO or device, and *st its fstat. */
int jr_cp_bind_source(const char *opt, const char *path, int *fd, struct stat *st,
		      char *target, size_t tsz, struct jr_err *err);

/* For a resident caller (jobrun serve): remember the bind sources resolved (on), so that the
 * next job's same system binds cost one lstat each, which must still name the same object
 * (else the path is walked again). jr_cp_bind_cache(true) again forgets them all (SIGHUP);
 * off: no cache (jobrun run). */
void jr_cp_bind_cache(bool on);

/* jobrun's own directories that it then uses by name (--runtime-dir: mount points, leases):
 * every directory from / to path itself must be trusted (root's, not writable by others, or
 * sticky), so that no job can replace any part of it. 0 or -errno with err set. */
int jr_cp_check_private_dir(const char *opt, const char *path, struct jr_err *err);

/* Does path name the caller's own descriptor ("/dev/stdin", "/dev/fd/N", ...)? */
bool jr_cp_is_own_fd(const char *path);

/* That descriptor's number, or -1. */
int jr_cp_own_fd(const char *path);

/* "a regular file", "a FIFO", ... for messages. */
const char *jr_cp_type_name(mode_t m);

/* Is the directory open at dirfd trusted to hold a symlink or a FIFO of root's (root's, not
 * writable by group or others, or sticky)? */
bool jr_cp_dir_trusted(int dirfd);

/* Where jobrun writes a file of the caller's. */
struct jr_cp_dest {
	int dirfd;          /* the directory (O_PATH), or -1 */
	char *name;         /* the entry in it */
	int fd;             /* a descriptor to write through instead (stdio, FIFO, device), or -1 */
	const char *opt;
};

/* Resolve the directory of path and check what is at its end now (the check is repeated when
 * writing). */
int jr_cp_dest_init(struct jr_cp_dest *d, const char *opt, const char *path,
		    struct jr_err *err);

/* What is at the destination now: 0 nothing or a regular file of root's (it will be
 * replaced), 1 a FIFO or device of the caller's (written through), or -errno with err set. */
int jr_cp_dest_check(const struct jr_cp_dest *d, struct jr_err *err);

/* Do two destinations name the same entry (--stdout f --stderr f)? */
bool jr_cp_dest_same(const struct jr_cp_dest *a, const struct jr_cp_dest *b);

/* An fd to stream into (--stdout, --stderr): a new regular file renamed into place, or a
 * duplicate of the accepted FIFO, device or stdio descriptor, O_NONBLOCK where it is not a
 * regular file and not the caller's own description. */
int jr_cp_dest_stream(struct jr_cp_dest *d, struct jr_err *err);

/* Write buf atomically (temporary file, fsync, rename) or through the accepted descriptor. */
int jr_cp_dest_write(struct jr_cp_dest *d, const char *buf, size_t len, struct jr_err *err);

void jr_cp_dest_free(struct jr_cp_dest *d);

/* Write all of buf to fd (waiting with poll when a descriptor of the caller's own is
 * non-blocking): 0 or -errno. */
int jr_cp_write_all(int fd, const char *buf, size_t len);

/* A directory jobrun made (to remove again when nothing was put in it). */
struct jr_cp_made {
	int parent_fd;               /* -1: it was there already */
	char name[NAME_MAX + 1];
};

/* Open (creating it when missing, mode 0755) the directory at path for --output-dir: the
 * directory itself may be one a job can write, but it must be reached by the rule above.
 * Returns an O_PATH|O_DIRECTORY fd or -errno; *made says whether it was created. */
int jr_cp_open_dir_create(const char *opt, const char *path, struct jr_cp_made *made,
			  struct jr_err *err);

/* Remove the directory jr_cp_open_dir_create made if it is still empty (never its content);
 * true when it is gone. */
bool jr_cp_unmake(struct jr_cp_made *made);

/* A sink fd that is a pipe, FIFO, socket or terminal shared with the caller: a descriptor of
 * its own in non-blocking mode (reopened through /proc/self/fd), so that jobrun never blocks
 * on it nor changes the caller's file status flags. Others: fd itself. Consumes fd. */
int jr_cp_nonblocking(int fd);

#endif
