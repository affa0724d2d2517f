/* conf.h - jobrun.conf (the admin's file: trusted) and the merge of a job's requests into a
 * jr_spec: the profile's defaults, then the job config's requests, then the command line's,
 * each checked against the profile's maxima.
 *
 * jobrun.conf (default /etc/jobrun/jobrun.conf; conf/jobrun.conf documents every key):
 *   runtime_dir, state_dir, cgroup_parent, hostname, uid_base, uid_count, default_profile
 *   profile NAME { system_binds = {...} etc_files = {...} network = "none"
 *                  max_entries = 10000 max_name = 255 job_profiles = {"NAME", ...}
 *                  defaults { memory = 256M ... } maxima { memory = 2G ... } }
 * Every value is a string (so "010" is ten). A profile section starts from the built-in
 * profile of that name, or from the built-in "grader" for a new name; the keys it gives
 * replace those values (a list replaces the whole list). "unlimited" as a maximum removes it.
 * job_profiles is never inherited: a profile that does not give it has {its own name}.
 *
 * Errors of the caller's making (verdict RJ): everything jr_conf_apply returns -EINVAL for
 * that names the job config or the command line (an unknown profile, a bad unit, a request
 * above a maximum, a bad path or env entry, no command). -ENOMEM is jobrun's (XX). Errors of
 * jr_conf_load are the admin's: jobrun cannot run any job (exit status 2). */
#ifndef JR_CONF_H
#define JR_CONF_H

#include "err.h"
#include "jobreq.h"
#include "spec.h"
#include "units.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JR_CONF_DEFAULT_PATH "/etc/jobrun/jobrun.conf"
#define JR_CONF_MAX_BYTES    (1 << 20)
#define JR_LIMIT_UNLIMITED   UINT64_MAX

/* One limit value of a profile. */
struct jr_limit {
	char *text;       /* as written ("256M", "100%", "unlimited"); NULL: not set */
	uint64_t value;   /* bytes, microseconds, thousandths of a CPU or a count, by key;
			   * JR_LIMIT_UNLIMITED for "unlimited" */
	int line;         /* in conf->file; 0: built in */
};

struct jr_profile {
	char *name;
	/* defaults[k].text NULL: the job gets jobrun's own default for k (jr_spec_init: output
	 * 64M, disk 256M, open files 256, no other limit). maxima[k].text NULL: no maximum. */
	struct jr_limit defaults[JR_L_N];
	struct jr_limit maxima[JR_L_N];
	struct jr_strv system_binds;  /* bound read-only at the same place */
	struct jr_strv etc_files;     /* files of /etc bound read-only when present */
	char *network;                /* "none": only lo (the one value supported now) */
	uint64_t max_entries;         /* archive entries the unpack accepts */
	uint64_t max_name;            /* bytes of an archive entry's name */
	/* The profiles a job config of a job admitted under this profile (the caller's:
	 * --profile, else default_profile) may name with profile = "...". Never empty:
	 * {name} unless jobrun.conf says otherwise; every entry names a profile of the conf
	 * (jr_conf_parse checks). The profile itself is always allowed (naming the caller's
	 * own profile changes nothing), listed or not. */
	struct jr_strv job_profiles;
	int job_profiles_line;        /* in conf->file; 0: built in */
};

/* Who may submit to `jobrun serve` (besides root, who may use every profile): a client section
 * serve { client NAME { users = {"alice", "1001"} groups = {"graders"} profiles = {"grader"} } }
 * Names are resolved through /etc/passwd and /etc/group when the file is read; numbers are
 * taken as they are (users of a directory service). */
struct jr_serve_client {
	char *name;
	uid_t *uids;
	size_t nuids;
	gid_t *gids;
	size_t ngids;
	struct jr_strv profiles;   /* never empty; each a profile of the conf */
	int line;
};

/* `jobrun serve`'s settings (the serve { } section; all optional). */
struct jr_serve_conf {
	char *socket;            /* NULL: JR_SERVE_DEFAULT_SOCKET (serve.h) */
	char *spool;             /* the spool directory; NULL: none */
	unsigned slots;          /* jobs at once; 0: the CPUs jobrun may use */
	unsigned queue_max;      /* jobs waiting at most (1000) */
	uint64_t grace_usec;     /* SIGTERM: how long running jobs may go on (30 s) */
	unsigned keep_results;   /* finished jobs remembered in memory for status/wait (1000) */
	struct jr_serve_client *clients;
	size_t nclients;
};

/* A report target: report NAME { url = "https://..." ... } (README: Reporting). Jobs and
 * submitters choose one by name (report = "NAME", --report NAME), never by URL. */
struct jr_report_target {
	char *name;
	char *url;                /* http:// or https:// */
	char *bearer_token_file;  /* "Authorization: Bearer <its first line>"; NULL: none */
	char *client_cert;        /* TLS client certificate (PEM); NULL: none */
	char *client_key;         /* its key; NULL: in client_cert */
	char *ca_file;            /* CAs to verify the server with; NULL: the system's */
	bool tls_verify;          /* true unless jobrun.conf says tls_verify = "no" */
	uint64_t connect_timeout_usec; /* 5 s */
	uint64_t timeout_usec;    /* one attempt, all of it: 30 s */
	uint64_t retry_min_usec;  /* the first gap between attempts: 1 s, doubled each time */
	uint64_t retry_max_usec;  /* the longest gap: 5 min */
	uint64_t give_up_usec;    /* after this long in the outbox: dead-letter (24 h) */
	int line;
};

/* Job tarballs by URL: the fetch { } section (README: Job tarballs by URL). jobrun-fetch gets
 * these; the size cap is the job's staging disk (jr_admit.stage_bytes). */
struct jr_fetch_conf {
	struct jr_strv allow;     /* "host", "host:port", "[v6addr]:port"; empty: no URL fetched */
	bool allow_http;          /* http:// too; default https:// only */
	uint64_t connect_timeout_usec; /* 5 s */
	uint64_t timeout_usec;    /* the whole download, redirects included: 60 s */
	char *ca_file;            /* the CAs servers are verified with; NULL: the system's */
};

/* The isolate front's boxes: the isolate { } section (docs/isolate.md). Box N runs as uid
 * first_uid + N, its jobrun-init as first_uid + num_boxes + N. */
struct jr_isolate_conf {
	char *box_root;           /* /var/lib/jobrun/isolate: N is box N's directory */
	uid_t first_uid;          /* 1400000000 (the gid is the same) */
	unsigned num_boxes;       /* 100000: box ids 0 .. num_boxes - 1 */
};

struct jr_conf {
	char *file;             /* the file it came from; NULL: built in */
	char *runtime_dir;      /* /run/jobrun */
	char *state_dir;        /* /var/lib/jobrun: results and outputs by default */
	char *cgroup_parent;    /* NULL: below jobrun's own cgroup */
	char *hostname;         /* jobrun */
	uid_t uid_base;         /* 1500000000 */
	unsigned uid_count;     /* 10000 */
	char *default_profile;  /* grader */
	int default_profile_line;
	struct jr_profile *profiles;
	size_t nprofiles;
	struct jr_serve_conf serve;
	struct jr_fetch_conf fetch;
	struct jr_isolate_conf isolate;
	struct jr_report_target *reports;
	size_t nreports;
};

/* The report target called name, or NULL. */
const struct jr_report_target *jr_conf_report(const struct jr_conf *conf, const char *name);

/* May the peer (uid, primary gid, supplementary groups) submit jobs of profile (NULL: any)?
 * Root may always. */
bool jr_conf_client_may(const struct jr_conf *conf, uid_t uid, gid_t gid, const gid_t *groups,
			size_t ngroups, const char *profile);

/* May the peer submit at all (some client section names it)? */
bool jr_conf_client_known(const struct jr_conf *conf, uid_t uid, gid_t gid,
			  const gid_t *groups, size_t ngroups);

/* What the job asks for that struct jr_spec has no field for. (spec->workdir is the HOST
 * directory bound at /job: the job's working directory inside /job goes here instead.) */
struct jr_job_extra {
	char *profile;              /* the name of the profile used */
	char *cwd;                  /* directory inside /job to start in, relative and checked;
				     * NULL: /job itself */
	struct jr_strv outputs;     /* files inside /job to collect after the job (relative,
				     * checked): for jr_collect */
	uint64_t max_entries;       /* the profile's archive limits, for the unpack helper */
	uint64_t max_name;
	char *report;               /* the report target chosen (cli's, else req's), or NULL */
};

/* The built-in configuration: what a host with no jobrun.conf gets. Profiles "grader" (the
 * default) and "hpc" (a stub of the future HPC profile: today it differs from grader only in
 * its limits; its memory maximum is the host's RAM, its default 4G or the RAM when less).
 * Returns 0 or -ENOMEM. */
int jr_conf_builtin(struct jr_conf *conf, struct jr_err *err);

/* Load jobrun.conf. path NULL: JR_CONF_DEFAULT_PATH, and a missing file there means the
 * built-in configuration; a path given that does not exist is an error. Returns 0 or -errno
 * with err = "file:line: what". conf is filled only on success (free it with jr_conf_free). */
int jr_conf_load(const char *path, struct jr_conf *conf, struct jr_err *err);

/* The same from text in memory (tests, fuzzing). file names it in messages. */
int jr_conf_parse(const char *text, size_t len, const char *file, struct jr_conf *conf,
		  struct jr_err *err);

void jr_conf_free(struct jr_conf *conf);

const struct jr_profile *jr_conf_profile(const struct jr_conf *conf, const char *name);

/* Parse one limit value for key k: a size (256M), duration (1.5s), CPUs (0.5) or count (64)
 * by key, or "unlimited" where that means something (memory, swap, cpus, cpu_time,
 * wall_time, pids, io_*; for a maximum: every key). With JR_LIMIT_ADMIN a size may be N% of
 * the host's RAM (1..100). The value must lie in the range jobrun accepts for the key, which
 * is what every kernel takes (memory at least 1M, cpus 0.01..1000, cpu_weight 1..10000, pids
 * 2..4194304 (jobrun-init and the command), open_files 4..1048576, disk at least 64K, a
 * positive time, io_*_bps at least 2 (some kernels refuse 1), io_*_iops 2..4294967294 (the
 * kernel keeps them in 32 bits)...). Returns 0, or -EINVAL with why = "is not a size
 * (256M, 1.5G)", "is negative", "is too large", "is below the minimum 1M"... */
#define JR_LIMIT_ADMIN   1
#define JR_LIMIT_MAXIMUM 2
int jr_limit_parse(enum jr_limit_key k, const char *text, int flags, uint64_t *value,
		   char *why, size_t whylen);

/* What this host lets jobrun give a job, beyond the fixed ranges of jr_limit_parse: probed
 * from jobrun itself when first asked (jr_host_caps), or given by a test (jr_host_caps_set).
 * Each part is probed only when asked for (JR_HOST_*): the checks cost nothing a job does not
 * need. */
struct jr_host_caps {
	/* The most jobrun-init can set for the command (it sets soft = hard): its own hard limit,
	 * or any value with CAP_SYS_RESOURCE (open files: up to fs.nr_open). JR_UNLIMITED: any
	 * value, "unlimited" too. */
	uint64_t nofile, stack, fsize, cpu_secs;
	bool swap;            /* the host has swap (/proc/swaps) */
	bool swap_accounted;  /* and the memory controller counts it per cgroup (v1:
			       * memory.memsw.*, v2: memory.swap.max; swapaccount=0 removes them) */
	struct jr_cpuset cpus; /* CPUs a job may be pinned to: online, and in jobrun's own CPU
				* affinity (its cpuset) */
};

#define JR_HOST_RLIMITS 1
#define JR_HOST_SWAP    2
#define JR_HOST_CPUS    4

/* The host's capabilities, with at least the parts in what probed. Never NULL. */
const struct jr_host_caps *jr_host_caps(unsigned what);

/* Use caps instead of probing (unit tests); NULL: probe the real host again. */
void jr_host_caps_set(const struct jr_host_caps *caps);

/* Can this host give key k the value v (as parsed by jr_limit_parse)? 0, or -EINVAL with why
 * ("is above 20000, the most open files jobrun may give here (its own hard RLIMIT_NOFILE)").
 * Checks open_files and cpu_time (RLIMIT_CPU) against jobrun's rlimits; other keys are
 * checked against the host where they are merged (swap: jr_conf_apply). */
int jr_limit_host_check(enum jr_limit_key k, uint64_t v, char *why, size_t whylen);

/* Store v (as parsed by jr_limit_parse) for key k in spec (JR_LIMIT_UNLIMITED becomes "no
 * limit": 0 for most fields, JR_UNLIMITED for swap). */
void jr_spec_set_limit(struct jr_spec *spec, enum jr_limit_key k, uint64_t v);

/* Merge into spec: the profile, its defaults, then req's requests, then cli's (the command
 * line, as a jr_jobreq with file "command line"; its stdin, outputs and workdir are paths
 * inside /job too), each limit parsed and checked against the profile's maximum.
 * The profile: the caller decides, not the job. The caller's profile is cli's profile, else
 * conf's default_profile. req (the job config: untrusted) may name a profile only when the
 * caller's profile allows it (jr_profile.job_profiles; the caller's own one always); the job
 * then runs under the profile req names, else under the caller's. A profile req names that
 * is not allowed is refused: -EINVAL, err = "job.conf:3: profile = \"hpc\" is not allowed
 * for jobs of the grader profile (jobrun.conf: job_profiles)"; an unknown one: "job.conf:3:
 * profile = nope: no such profile (grader, hpc)".
 * A request above a maximum is refused: -EINVAL,
 * err = "job.conf:7: memory = 4G is above the grader profile's maximum 2G". req and cli may
 * be NULL. On success spec gets:
 *   wall_usec, cpu_time_usec, output_limit, disk_bytes, open_files, cg.memory, cg.swap,
 *   cg.cpus_milli, cg.cpu_weight, cg.pids, cg.io_*: for each key the profile or a request
 *     sets (others keep their value); each merged value is also checked against what the
 *     host lets jobrun give (jr_limit_host_check; swap: a host with swap must account it),
 *     and a refusal names the layer that set it ("job.conf:4: open_files = ...", or the
 *     profile's default: "jobrun.conf:12: profile grader: defaults: ...");
 *   file_size: lowered to what the host lets jobrun give (jobrun's own hard RLIMIT_FSIZE)
 *     when it is above it (the default, unlimited, on a host that limits jobrun);
 *   cg.memory_unpack: for a job that is staged (spec->archive or spec->job_conf): the memory
 *     limit while it is unpacked, the most its job config may ask for (the profile's maximum,
 *     JR_UNLIMITED when there is none; 0 when the command line sets memory, which no job
 *     config can change); 0 for other jobs;
 *   argv: cli's command (or shell), else req's, as given or {"/bin/sh", "-c", shell}; when
 *     neither has one, spec->argv is kept if it has one, else -EINVAL "no command";
 *   env: replaced: PATH, HOME, LANG (README's defaults), then req's env, then cli's (a later
 *     NAME replaces an earlier one);
 *   stdin_path: cli's, else req's stdin, AS GIVEN (relative to /job: the caller resolves it);
 *     kept when neither gives one;
 *   sys_binds, etc_files: replaced by the profile's;
 *   hostname, runtime_dir, uid_base, uid_count: replaced by the conf's; cgroup_parent: the
 *     conf's when it has one (else kept). Host options of the command line that override
 *     these must be applied after this call.
 * extra (required; zeroed before the first call, then freed with jr_job_extra_free) gets
 * the profile's name and archive limits, cwd (cli's workdir, else req's) and outputs (cli's
 * list, else req's). On error spec and extra are left as they were
 * and err is set; -ENOMEM is jobrun's failure, -EINVAL the caller's (RJ). */
int jr_conf_apply(const struct jr_conf *conf, const struct jr_jobreq *req,
		  const struct jr_jobreq *cli, struct jr_spec *spec, struct jr_job_extra *extra,
		  struct jr_err *err);

void jr_job_extra_free(struct jr_job_extra *extra);

#endif
