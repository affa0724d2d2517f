/* sproto.h - the protocol of `jobrun serve` (docs/protocol.md): one JSON object a line over a
 * UNIX stream socket, descriptors passed with SCM_RIGHTS alongside a request.
 *
 * A request is untrusted: any byte may come from any local user who can reach the socket.
 * jr_sreq_parse checks everything about it that needs no state of the supervisor (the
 * version, the operation, the types, the option names a client may give, the descriptor
 * indexes); the supervisor then checks what the peer may do. */
#ifndef JR_SPROTO_H
#define JR_SPROTO_H

#include "err.h"
#include "spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define JR_PROTO_VERSION   1
#define JR_SERVE_MAX_LINE  (1 << 20)  /* bytes of one request, its newline included */
#define JR_SERVE_MAX_FDS   8          /* descriptors with one request */
#define JR_SERVE_MAX_ID    64         /* bytes of a job id */

enum jr_sop {
	JR_SOP_HELLO,
	JR_SOP_SUBMIT,
	JR_SOP_STATUS,
	JR_SOP_WAIT,
	JR_SOP_CANCEL,
	JR_SOP_LIST,
	JR_SOP_DRAIN,
	JR_SOP_METRICS,
};

/* The descriptors a submit may carry, by their name in "fds". */
enum jr_sfd {
	JR_SFD_ARCHIVE,   /* the job tarball (read) */
	JR_SFD_JOB_CONF,  /* a job config (read) */
	JR_SFD_STDIN,     /* the job's stdin (read) */
	JR_SFD_STDOUT,    /* the job's stdout (write) */
	JR_SFD_STDERR,    /* the job's stderr (write) */
	JR_SFD_DIR,       /* a directory bound at /job (root's clients only) */
	JR_SFD_N,
};

const char *jr_sfd_name(enum jr_sfd f);

/* What an option of `run` is to a client of serve. */
enum jr_sopt_class {
	JR_SOPT_NO,       /* not an option a client may give (unknown, a path, the supervisor's) */
	JR_SOPT_VALUE,    /* one value */
	JR_SOPT_LIST,     /* a list of values (env, ro-bind) */
};

/* name: a `run` option without its dashes. root: the peer is root (ro-bind, scratch,
 * cgroup-parent are root's only: the supervisor opens those paths itself). */
enum jr_sopt_class jr_sopt_class(const char *name, bool root);

struct jr_sreq {
	enum jr_sop op;
	char *id;                 /* status, wait, cancel; submit: the id asked for, or NULL */
	/* submit */
	struct jr_strv args;      /* the options as `run` takes them: "--memory=256M", ... */
	struct jr_strv command;   /* the command, or empty (the job config's) */
	char *archive_url;        /* the job tarball by URL (http:// or https://), or NULL: the
				   * supervisor fetches it where jobrun.conf's fetch { allow } lets it */
	int fd[JR_SFD_N];         /* index into the descriptors received, or -1 */
	int priority;             /* -1000..1000, higher first */
	bool wait;                /* the reply is the result, when the job ends */
	bool root_options;        /* args holds an option only root may give */
	/* drain */
	bool exit_when_idle;
	/* status, list */
	bool all;
};

/* Parse one request line (len bytes, no newline) that came with nfds descriptors.
 * Returns 0, or -EINVAL with err saying what is wrong ("unknown operation 'frob'",
 * "options: 'dir' is given as a descriptor (fds.dir), never as a path"...). req is always
 * initialised; free it with jr_sreq_free. */
int jr_sreq_parse(const char *line, size_t len, unsigned nfds, bool root, struct jr_sreq *req,
		  struct jr_err *err);
void jr_sreq_free(struct jr_sreq *req);

/* {"v":1,"ok":false,"error":msg} with a newline (caller frees). */
char *jr_sreply_error(const char *msg);

/* obj with "v":1 and "ok":true added, compact, with a newline (caller frees; obj is stolen). */
char *jr_sreply_ok(json_t *obj);

#endif
