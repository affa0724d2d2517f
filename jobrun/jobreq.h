/* jobreq.h - what a job asks for, as its job config states it: untrusted data.
 *
 * The job config (job.conf at the root of a job tarball, or --job-conf FILE) is parsed by the
 * unprivileged unpack helper (never by root), which hands this structure to jobrun as JSON.
 * Values stay strings exactly as written, with their line numbers: jobrun parses the units and
 * checks them against the profile's maxima itself (conf.c), so that every error can name the
 * key, the value, the maximum and file:line.
 *
 * Functions: jobreq.c (names, free, checks, JSON; needs jansson) and jobconf.c
 * (jr_jobconf_parse; needs libconfuse and cfgparse.c). Not thread-safe where noted. */
#ifndef JR_JOBREQ_H
#define JR_JOBREQ_H

#include "err.h"
#include "spec.h"

#include <jansson.h>
#include <stddef.h>

enum jr_limit_key {
	JR_L_MEMORY,      /* "memory"      size */
	JR_L_SWAP,        /* "swap"        size */
	JR_L_CPUS,        /* "cpus"        CPUs (0.5) */
	JR_L_CPU_WEIGHT,  /* "cpu_weight"  1..10000 */
	JR_L_CPU_TIME,    /* "cpu_time"    duration */
	JR_L_WALL_TIME,   /* "wall_time"   duration */
	JR_L_PIDS,        /* "pids"        count */
	JR_L_DISK,        /* "disk"        size (workspace tmpfs) */
	JR_L_OUTPUT,      /* "output"      size (per stream) */
	JR_L_OPEN_FILES,  /* "open_files"  count */
	JR_L_IO_RBPS,     /* "io_read_bps"   size/s */
	JR_L_IO_WBPS,     /* "io_write_bps"  size/s */
	JR_L_IO_RIOPS,    /* "io_read_iops"  count/s */
	JR_L_IO_WIOPS,    /* "io_write_iops" count/s */
	JR_L_N,
};

/* The limits, defined once (jobreq.c: jr_limit_defs): every layer reads this table, the
 * command line (run.c: one option each), jobrun.conf and the job config (cfgparse.c: one key
 * each), the parse and the merge (conf.c: kind, range, where the value lands in the spec),
 * the supervisor's protocol (sproto.c). */
enum jr_limit_kind {
	JR_LK_SIZE,      /* bytes: 256M, 1.5G */
	JR_LK_DURATION,  /* microseconds: 1.5s, 500ms */
	JR_LK_CPUS,      /* thousandths of a CPU: 0.5, 2 */
	JR_LK_COUNT,     /* a whole number */
};

/* How struct jr_spec stores "no limit" for a key. */
enum jr_limit_none {
	JR_LN_ZERO,      /* 0 */
	JR_LN_MAX,       /* JR_UNLIMITED */
	JR_LN_NEVER,     /* the key always has a value (disk, output, open files...) */
};

struct jr_limit_def {
	const char *name;        /* config files, messages: "io_read_iops" */
	const char *option;      /* the command line: "io-read-iops" (--io-read-iops) */
	enum jr_limit_kind kind;
	uint64_t min;            /* smallest value accepted */
	uint64_t max;            /* largest value accepted; 0: any */
	int unlimited_ok;        /* "unlimited" means something for this key */
	size_t spec_offset;      /* the uint64_t in struct jr_spec that holds it */
	enum jr_limit_none none;
};

extern const struct jr_limit_def jr_limit_defs[JR_L_N];

/* The key's name in config files and messages ("memory", "cpu_time"...); NULL when k is out of
 * range. */
const char *jr_limit_name(enum jr_limit_key k);

/* The key named name, or -1. */
int jr_limit_key(const char *name);

/* The key whose command-line option is option (without "--"), or -1. */
int jr_limit_by_option(const char *option);

/* One requested value: NULL when not given. */
struct jr_req_value {
	char *value;
	int line;
};

struct jr_jobreq {
	char *file;                  /* where it came from ("job.conf", "--job-conf /x", ...) */
	struct jr_req_value profile;
	struct jr_strv argv;         /* command = {"./a.out", "x"} */
	int argv_line;
	struct jr_req_value shell;   /* shell = "make && ./run": /bin/sh -c LINE */
	struct jr_strv env;          /* env = {"NAME=VALUE", ...} */
	int env_line;
	struct jr_req_value stdin_file; /* a path inside /job */
	struct jr_strv outputs;      /* paths inside /job collected after the job */
	int outputs_line;
	struct jr_req_value workdir; /* a directory inside /job (default: /job) */
	struct jr_req_value report;  /* a report target of jobrun.conf, by name */
	struct jr_req_value limits[JR_L_N];
};

/* Bounds on what a job config (or its JSON form) may hold. Anything beyond is an error. */
#define JR_JOBCONF_MAX_BYTES  65536   /* a job config file */
#define JR_JOBREQ_JSON_MAX    (1 << 20) /* its JSON form */
#define JR_REQ_MAX_ARGS       4096    /* command = {...} elements */
#define JR_REQ_MAX_ENV        1024    /* env = {...} elements */
#define JR_REQ_MAX_OUTPUTS    256     /* outputs = {...} elements */
#define JR_REQ_MAX_STRING     65536   /* one string value, NUL excluded */
#define JR_REQ_MAX_PATH       4095    /* stdin, outputs, workdir: bytes */
#define JR_REQ_MAX_NAME       255     /* one path component; an env variable's name */
#define JR_REQ_MAX_LIMIT      64      /* one limit value ("256M") */
#define JR_REQ_MAX_PROFILE    64      /* a profile name */

void jr_jobreq_init(struct jr_jobreq *req);      /* all empty (memset 0) */
void jr_jobreq_free(struct jr_jobreq *req);      /* frees everything; req is empty after */

/* Everything about req that needs no profile: file set; command and shell not both; argv[0]
 * not empty; env entries NAME=VALUE with a valid NAME; stdin, outputs and workdir relative
 * paths inside /job (no leading '/', no '..' component, no control character, bounded); a
 * profile name of [A-Za-z0-9._-]; bounds above. Units are checked by jr_conf_apply (conf.h).
 * Returns 0, or -EINVAL with err naming file:line, the key and the value. */
int jr_jobreq_check(const struct jr_jobreq *req, struct jr_err *err);

/* Single checks, shared with the parsers. Each returns NULL when s is fine, else the reason
 * ("must be relative to /job", ...). A file path (is_file) must also not end in '/' or '.'. */
const char *jr_check_relpath(const char *s, int is_file);
const char *jr_check_env(const char *s);
const char *jr_check_profile_name(const char *s);

/* Is s valid UTF-8 (no overlong form, no surrogate, nothing above U+10FFFF)? Every string of
 * a request must be: it travels as JSON. */
int jr_is_utf8(const char *s);

/* Make a message fit for a terminal and for JSON, in place: control characters and bytes that
 * are not part of valid UTF-8 become '?'. Returns msg. */
char *jr_sanitize_message(char *msg);

/* A value fit for a message: as is when it is short and plain ([A-Za-z0-9._%+/:@,=-]), else
 * in double quotes with control characters, quotes, backslashes and bytes that are not valid
 * UTF-8 escaped; cut at 64 bytes ("..." marks the cut). size >= 16. Returns buf. */
const char *jr_quote_value(const char *s, char *buf, size_t size);

/* JSON form (jansson), for the unpack helper to hand the request to jobrun:
 *   { "file": "job.conf", "profile": {"value": "grader", "line": 1},
 *     "command": {"value": ["./a.out", "x"], "line": 2}, "shell": {"value": "...", "line": 3},
 *     "env": {"value": ["A=1"], "line": 4}, "stdin": {...}, "outputs": {"value": [...], ...},
 *     "workdir": {...}, "report": {...}, "limits": { "memory": {"value": "256M", "line": 7}, ... } }
 * Keys not given are left out. Returns a new reference, or NULL (out of memory). */
json_t *jr_jobreq_to_json(const struct jr_jobreq *req);

/* Parse the JSON above. text is hostile: at most JR_JOBREQ_JSON_MAX bytes, duplicate keys,
 * unknown keys, wrong types, lines outside 0..INT_MAX, NUL in strings, empty lists, lists
 * beyond their bounds: -EINVAL with err set, never a crash. The result also passes jr_jobreq_check. req is
 * initialised here; on error it is left empty. */
int jr_jobreq_from_json(const char *text, struct jr_jobreq *req, struct jr_err *err);

/* Parse a job config (libconfuse syntax; see the examples in conf/examples/ and jobconf.c):
 *   profile = "grader"
 *   command = {"./a.out", "arg"}        or      shell = "make && ./run"   (not both)
 *   env = {"NAME=VALUE", ...}   stdin = "input.txt"   outputs = {"out.txt", "logs/run.log"}
 *   workdir = "sub/dir"   report = "grader"   (a report target of jobrun.conf, by name)
 *   limits { memory = "256M" cpu_time = "1.5s" pids = 64 ... }   (every value is a string)
 * text need not be NUL-terminated; file names it in messages ("job.conf"). The text is
 * untrusted: it is parsed with an empty environment and no variable is ever expanded
 * ("${HOME}" stays "${HOME}", for the job's shell to expand), there is no include function,
 * and any error (unknown key, key given twice, bad path, NUL byte, more than
 * JR_JOBCONF_MAX_BYTES...) is -EINVAL with err = "file:line: what". On success req is
 * filled (file = a copy of file) and passes jr_jobreq_check; on error it is left empty.
 * Not thread-safe: libconfuse's scanner is global, and the environment is swapped for an
 * empty one during the parse (call it from one thread; the unpack helper has only one). */
int jr_jobconf_parse(const char *text, size_t len, const char *file, struct jr_jobreq *req,
		     struct jr_err *err);

#endif
