/* fetch-proto.h - the contract between jobrun (job-fetch.c, stage.c) and jobrun-fetch
 * (fetch.c), built and installed together: the helper's arguments, descriptors, exit statuses
 * and its report. Both sides use these names.
 *
 *   jobrun-fetch --max-bytes N --connect-timeout-ms N --timeout-ms N [--allow-http] [--ca-fd]
 *                --allow HOST[:PORT]... -- URL
 *
 * The body is written to JR_FETCH_FD_OUT (jobrun's memfd: nothing lands on a disk, and
 * nothing is left behind whatever happens); one line goes to JR_FETCH_FD_REPORT: "ok BYTES",
 * or the reason the fetch failed (curl's words: "Connection refused", "redirect to host
 * evil.example not allowed"). */
#ifndef JR_FETCH_PROTO_H
#define JR_FETCH_PROTO_H

#define JR_FETCH_FD_OUT        3  /* the body (a memfd of jobrun's, empty) */
#define JR_FETCH_FD_REPORT     4  /* one line */
#define JR_FETCH_FD_CA         5  /* with --ca-fd: the CA certificates (PEM), read to the end */
#define JR_FETCH_FD_FIRST_FREE 6

/* Exit statuses; those of the set-up before its exec are unpack-proto.h's (120-124). */
enum jr_fetch_exit {
	JR_FETCH_EXIT_OK = 0,         /* the body is in FD_OUT */
	JR_FETCH_EXIT_FAILED = 1,     /* the fetch failed: the reason is the report line */
	JR_FETCH_EXIT_INTERNAL = 2,   /* usage or internal error (report line says which) */
	JR_FETCH_EXIT_TOO_BIG = 3,    /* the body is larger than --max-bytes (none is kept) */
};

#define JR_FETCH_MAX_HOPS   5      /* redirects followed at most */
#define JR_FETCH_MAX_URL    4096   /* bytes of a URL */
#define JR_FETCH_MAX_CA     (1 << 20) /* bytes of the CA file */
#define JR_FETCH_REPORT_MAX 1024   /* bytes of the report line */

#endif
