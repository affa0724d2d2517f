/* jobreq.h - what a job asks for, as its job config states it: untrusted data.
 *
 * The job config (job.conf at the root of a job tarball, or --job-conf FILE) is parsed by the
 * unprivileged unpack helper (never by root), which hands this structure to jobrun as JSON.
 * Values stay strings exactly as written, with their line numbers: jobrun parses the units and
 * checks them against the profile's maxima itself (conf.c), so that every error can name the
 * key, the value, the maximum and file:line. */
#ifndef JR_JOBREQ_H
#define JR_JOBREQ_H

#include "err.h"
#include "spec.h"

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

/* The key's name in config files and messages ("memory", "cpu_time"...). */
const char *jr_limit_name(enum jr_limit_key k);

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
	struct jr_req_value limits[JR_L_N];
};

void jr_jobreq_free(struct jr_jobreq *req);

#endif
