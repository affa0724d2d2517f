/* unpack-proto.h - the contract between jobrun (stage.c, job-stage.c) and jobrun-unpack
 * (unpack.c), which are built and installed together: the descriptors the helper gets, its
 * exit statuses, and the keys of its report. Both sides use these names; no number or key is
 * written twice. */
#ifndef JR_UNPACK_PROTO_H
#define JR_UNPACK_PROTO_H

/* The helper's descriptors. */
#define JR_UNPACK_FD_ARCHIVE 0  /* the archive (or /dev/null: a job config alone) */
#define JR_UNPACK_FD_WS      3  /* the workspace's root directory */
#define JR_UNPACK_FD_REPORT  4  /* the report: one JSON object and a newline */
#define JR_UNPACK_FD_CONF    5  /* optional: the caller's job config */
#define JR_UNPACK_FD_FIRST_FREE 6

/* Exit statuses: the helper's own, then those of the set-up before its exec (stage.c's
 * child, which has no other way to say what failed). */
enum jr_unpack_exit {
	JR_UNPACK_EXIT_OK = 0,        /* accepted */
	JR_UNPACK_EXIT_REFUSED = 1,   /* the archive's fault: verdict RJ */
	JR_UNPACK_EXIT_INTERNAL = 2,  /* internal error or usage */
	JR_UNPACK_EXIT_CGROUP = 120,  /* could not enter the job's cgroup */
	JR_UNPACK_EXIT_UID = 121,     /* could not take the job's uid */
	JR_UNPACK_EXIT_PRIVS = 122,   /* could not drop privileges or load seccomp */
	JR_UNPACK_EXIT_FDS = 123,     /* could not set up its descriptors */
	JR_UNPACK_EXIT_EXEC = 124,    /* could not be executed */
};

/* The report's keys: {"ok":true,"entries":N,"bytes":N,"stripped_setid":N,"job_conf":...,
 * "job_conf_from":"archive"|"fd5"|null} or {"ok":false,"entry":NAME|null,"reason":TEXT}. */
#define JR_UR_OK             "ok"
#define JR_UR_ENTRIES        "entries"
#define JR_UR_BYTES          "bytes"
#define JR_UR_STRIPPED_SETID "stripped_setid"
#define JR_UR_JOB_CONF       "job_conf"
#define JR_UR_JOB_CONF_FROM  "job_conf_from"
#define JR_UR_ENTRY          "entry"
#define JR_UR_REASON         "reason"

#endif
