/* spec.h - everything one job needs, validated, as plain data. */
#ifndef JR_SPEC_H
#define JR_SPEC_H

#include "cgroup.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JR_UNLIMITED UINT64_MAX

/* A string list (NULL-terminated array, owned). */
struct jr_strv {
	char **v;
	size_t n;
};

int jr_strv_push(struct jr_strv *sv, const char *s);
int jr_strv_push_take(struct jr_strv *sv, char *s);
void jr_strv_free(struct jr_strv *sv);

struct jr_bind;

struct jr_spec {
	char *id;
	struct jr_strv argv;     /* the command */
	struct jr_strv env;      /* NAME=VALUE, the job's whole environment */
	char *workdir;           /* host directory bound at /job; NULL: a fresh tmpfs */
	char *hostname;
	char *stdin_path;        /* NULL: /dev/null */
	char *stdout_path;       /* NULL: jobrun's own stdout */
	char *stderr_path;       /* NULL: jobrun's own stderr */
	char *result_path;       /* NULL: the result goes to stdout */
	char *meta_path;         /* --meta: isolate's meta file too, or NULL */
	char *runtime_dir;       /* jobrun's private mount points and uid locks */
	struct jr_strv sys_binds; /* host paths bound read-only at the same place */
	struct jr_strv etc_files; /* files under /etc bound read-only when present */

	uint64_t wall_usec;      /* 0: no limit */
	uint64_t output_limit;   /* bytes per stream */
	uint64_t disk_bytes;     /* size of the tmpfs holding /job, /tmp and /dev/shm */
	uint64_t open_files;     /* RLIMIT_NOFILE */
	uint64_t stack_bytes;    /* RLIMIT_STACK; JR_UNLIMITED = unlimited, 0 = unchanged */
	uint64_t file_size;      /* RLIMIT_FSIZE; JR_UNLIMITED = unlimited */

	struct jr_cg_limits cg;  /* cgroup limits (devs filled in at launch) */
	uint64_t cpu_time_usec;  /* CPU time over all the job's processes; 0: no limit */
	char *scratch;           /* host directory on disk: a per-job subdirectory at /scratch */
	char *cgroup_parent;     /* path below each hierarchy's root; NULL: jobrun's own cgroup */

	/* A job that comes as a tarball (jobrun-unpack), with a job config: */
	char *archive;           /* path, or "-" for stdin; NULL: no archive */
	char *job_conf;          /* a job config file of the caller's (wins over the archive's) */
	char *output_dir;        /* where the job's outputs are copied */
	char *stdin_job;         /* stdin: a file inside /job (from the job config) */
	char *cwd_job;           /* the working directory inside /job; NULL: /job */
	struct jr_strv outputs;  /* files inside /job to collect after the job */
	char *profile;           /* the profile the job ran under */
	char *report;            /* the report target of jobrun.conf its result goes to, or NULL */
	uint64_t max_entries;    /* archive limits of the profile */
	uint64_t max_name;

	uid_t uid_base;          /* job uids: [uid_base, uid_base + uid_count) */
	unsigned uid_count;      /* jobrun-init uids: the next uid_count uids */

	/* The isolate front (docs/isolate.md); jr_spec_init leaves them off: */
	int uid_slot;            /* lease this slot of the range only (a box's uid); -1: any */
	char *job_mount;         /* where the workdir (or the job's tmpfs dir) is mounted inside
				  * the job, an absolute path; NULL: /job */
	char *cwd_abs;           /* the working directory, an absolute path inside the job (wins
				  * over cwd_job); NULL: the job mount */
	struct jr_bind *binds;   /* more caller directories bound inside the job */
	size_t nbinds;
};

/* A caller's directory bound at `inside` (resolved by the caller-path rule when the job starts,
 * bound from its descriptor). `inside` /tmp replaces the job's private /tmp. */
#define JR_MAX_BINDS 32
#define JR_BIND_RW 1u      /* read-write (else read-only) */
#define JR_BIND_NOEXEC 2u
#define JR_BIND_NOREC 4u   /* not its submounts */
struct jr_bind {
	char *inside, *host;
	unsigned flags;
};
int jr_spec_add_bind(struct jr_spec *spec, const char *inside, const char *host, unsigned flags);

/* A host name jobs may get: 1-64 letters, digits, '-' and '.'. */
int jr_valid_hostname(const char *s);

/* Defaults documented in README.md and jobrun(1). */
void jr_spec_init(struct jr_spec *spec);
void jr_spec_free(struct jr_spec *spec);

#endif
