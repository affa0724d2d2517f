/* extract.h - unpack a tar or zip archive beneath a directory fd, safely and under limits.
 *
 * Read with libarchive (tar in all its variants, zip; gzip, bzip2, xz and zstd compression;
 * nothing else is enabled), written by this code, entry by entry, relative to the directory
 * fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV): never a path string resolved from '/' or the cwd, never libarchive's
 * archive_write_disk. The rules (what is refused, stripped, normalised) are listed at the
 * head of unpack.c; the name checks are pathcheck.c. Compressed input is inflated by a
 * second thread, one chunk ring (2 MiB) ahead of the writer, so decompression and file
 * creation overlap; where a thread cannot be made (a pids limit) the same work runs in one
 * thread. */
#ifndef JR_EXTRACT_H
#define JR_EXTRACT_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define JR_EXTRACT_NAME_OUT 1100  /* the refused entry's printable name, cut with "..." */

struct jr_extract_opts {
	uint64_t max_entries;   /* headers of any kind, "." included */
	uint64_t max_bytes;     /* file data (logical sizes: holes count), read or written */
	size_t max_name;        /* bytes of a raw entry name (<= 4095 in any case) */
	const char *conf_name;  /* the job config at the archive's root ("job.conf"), or NULL */
	size_t conf_max;        /* its largest size in bytes */
	int threads;            /* 0: never inflate in a second thread */
};

struct jr_extract_result {
	uint64_t entries;        /* headers read */
	uint64_t bytes;          /* file data written (logical sizes) */
	uint64_t stripped_setid; /* files and directories whose setuid/setgid/sticky bits were dropped */
	uint64_t files, dirs, symlinks, hardlinks;
	char *conf;              /* the job config's text, NUL-terminated (malloc), or NULL */
	size_t conf_len;
	/* when refused (jr_extract returned 1): */
	int has_entry;           /* 0: the refusal concerns no one entry (not an archive...) */
	char entry[JR_EXTRACT_NAME_OUT]; /* the entry's name as the archive gives it, printable */
	char reason[1024];
};

/* Unpack the archive read from in_fd beneath the directory root_fd. Returns 0 when every entry
 * was written, 1 when the archive was refused (r->reason, r->entry: nothing more is written
 * after the refused entry; what was written before it stays, for the caller to discard with
 * the workspace), or -errno with err set on an internal error (jobrun's side: out of memory,
 * an unexpected errno). Free r with jr_extract_result_free. */
int jr_extract(int in_fd, int root_fd, const struct jr_extract_opts *o,
	       struct jr_extract_result *r, struct jr_err *err);

void jr_extract_result_free(struct jr_extract_result *r);

#endif
