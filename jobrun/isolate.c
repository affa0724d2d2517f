/* isolate.c - the isolate-compatible front: isolate's command line, boxes that persist across
 * runs, and its meta file and exit statuses, over the engine of `jobrun run` (jr_run_main).
 * No second sandbox: a --run is a `jobrun run` job whose spec says where the box is bound
 * (/box), which uid runs it (the box's, leased like any job uid) and the caller's -d binds. */
#define _GNU_SOURCE
#include "isolate.h"
#include "callerpath.h"
#include "conf.h"
#include "result.h"
#include "run.h"
#include "uidpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef JR_VERSION
#define JR_VERSION "0.1.0"
#endif

enum iso_mode { M_NONE, M_INIT, M_RUN, M_CLEANUP, M_VERSION, M_PRINT_CG_ROOT, M_CHECK_CONFIG };

enum {
	O_CG = 256, O_CG_MEM, O_CG_TIMING, O_NO_CG_TIMING, O_INIT, O_RUN, O_CLEANUP, O_VERSION,
	O_PRINT_CG_ROOT, O_CHECK_CONFIG, O_SHARE_NET, O_INHERIT_FDS, O_STDERR_TO_STDOUT,
	O_TTY_HACK, O_SPECIAL_FILES, O_CORE, O_WAIT, O_AS_UID, O_AS_GID, O_CONFIG,
};

static const struct option iso_options[] = {
	{ "as-uid", required_argument, NULL, O_AS_UID },
	{ "as-gid", required_argument, NULL, O_AS_GID },
	{ "box-id", required_argument, NULL, 'b' },
	{ "chdir", required_argument, NULL, 'c' },
	{ "cg", no_argument, NULL, O_CG },
	{ "cg-mem", required_argument, NULL, O_CG_MEM },
	{ "cg-timing", no_argument, NULL, O_CG_TIMING },
	{ "no-cg-timing", no_argument, NULL, O_NO_CG_TIMING },
	{ "check-config", no_argument, NULL, O_CHECK_CONFIG },
	{ "cleanup", no_argument, NULL, O_CLEANUP },
	{ "config", required_argument, NULL, O_CONFIG }, /* jobrun's own: not isolate's */
	{ "core", required_argument, NULL, O_CORE },
	{ "dir", required_argument, NULL, 'd' },
	{ "no-default-dirs", no_argument, NULL, 'D' },
	{ "fsize", required_argument, NULL, 'f' },
	{ "env", required_argument, NULL, 'E' },
	{ "extra-time", required_argument, NULL, 'x' },
	{ "full-env", no_argument, NULL, 'e' },
	{ "inherit-fds", no_argument, NULL, O_INHERIT_FDS },
	{ "init", no_argument, NULL, O_INIT },
	{ "mem", required_argument, NULL, 'm' },
	{ "meta", required_argument, NULL, 'M' },
	{ "processes", optional_argument, NULL, 'p' },
	{ "quota", required_argument, NULL, 'q' },
	{ "run", no_argument, NULL, O_RUN },
	{ "share-net", no_argument, NULL, O_SHARE_NET },
	{ "silent", no_argument, NULL, 's' },
	{ "stack", required_argument, NULL, 'k' },
	{ "open-files", required_argument, NULL, 'n' },
	{ "print-cg-root", no_argument, NULL, O_PRINT_CG_ROOT },
	{ "special-files", no_argument, NULL, O_SPECIAL_FILES },
	{ "stderr", required_argument, NULL, 'r' },
	{ "stderr-to-stdout", no_argument, NULL, O_STDERR_TO_STDOUT },
	{ "stdin", required_argument, NULL, 'i' },
	{ "stdout", required_argument, NULL, 'o' },
	{ "time", required_argument, NULL, 't' },
	{ "tty-hack", no_argument, NULL, O_TTY_HACK },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, O_VERSION },
	{ "wait", no_argument, NULL, O_WAIT },
	{ "wall-time", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

#define MAX_RULES JR_MAX_BINDS

struct dir_rule {
	char *inside, *outside; /* outside NULL: a tmp/fs rule */
	unsigned flags;         /* JR_BIND_* */
	bool maybe;
};

struct iso {
	const char *prog;
	enum iso_mode mode;
	unsigned box;
	bool cg, silent, wait, full_env, err_to_out;
	bool keep_special;              /* --special-files: leave what is not a file or a dir */
	int verbose;
	const char *meta, *in, *out, *err, *cwd;
	const char *config;             /* --config (jobrun's); NULL: /etc/jobrun/jobrun.conf */
	double t, w, x;                 /* seconds; 0: none */
	unsigned long long cg_mem_kb;   /* 0: none */
	long long stack_kb, fsize_kb;   /* -1: not given */
	long long open_files;           /* isolate's default 64; 0: unlimited */
	long long processes;            /* isolate's default 1; 0: unlimited */
	long long q_blocks, q_inodes;   /* -q, -1: not given */
	struct dir_rule rules[MAX_RULES];
	size_t nrules;
	char **env_rules;               /* -E, in order */
	size_t nenv;
	/* --run, filled in before the job */
	char boxdir[PATH_MAX];
	struct jr_strv env;             /* the job's whole environment */
	char *cwd_abs;
	int box_fd;                     /* BOXDIR/box, O_PATH */
	int lock_fd;
	const struct jr_isolate_conf *ic; /* jobrun.conf's isolate { } (or its defaults) */
};

/* A usage error: isolate's exit status 2, nothing run. */
static int usage(struct iso *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(struct iso *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", s->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(docs/isolate.md lists the options jobrun's isolate front takes)\n");
	return 2;
}

/* An option jobrun cannot honour: refused, never ignored. */
static int refuse(struct iso *s, const char *opt, const char *why)
{
	return usage(s, "%s is not supported: %s", opt, why);
}

/* The sandbox's own error (isolate's die): status XX in the meta file, exit 2. */
static int die(struct iso *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(struct iso *s, const char *fmt, ...)
{
	char buf[1024], *meta;
	struct jr_cp_dest d = { .dirfd = -1, .fd = -1 };
	struct jr_err err;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", buf);
	if (s->meta && s->mode == M_RUN &&
	    asprintf(&meta, "status:XX\nmessage:%s\n", buf) >= 0) {
		if (!strcmp(s->meta, "-"))
			fputs(meta, stdout);
		else if (jr_cp_dest_init(&d, "--meta", s->meta, &err) == 0)
			jr_cp_dest_write(&d, meta, strlen(meta), &err);
		jr_cp_dest_free(&d);
		free(meta);
	}
	return 2;
}

/* isolate's numbers: an unsigned integer that fits an int. */
static int opt_uint(struct iso *s, const char *val, long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-')
		return usage(s, "Invalid numeric parameter: %s", val);
	if (v > INT_MAX)
		return usage(s, "Numeric parameter out of range: %s", val);
	*out = (long long)v;
	return 0;
}

static int opt_time(struct iso *s, const char *val, double *out)
{
	char *end;
	double v = strtod(val, &end);

	if (end == val || *end || !(v >= 0 && v <= 1e6)) /* NaN too */
		return usage(s, "Invalid time: %s", val);
	*out = v;
	return 0;
}

/* -d in=out:opts | in:opts | in= */
static int dir_rule(struct iso *s, const char *arg)
{
	char *a = strdup(arg), *colon, *eq, *opt, *save = NULL;
	struct dir_rule r = { 0 };
	size_t i;
	int rc = 0;

	if (!a)
		return usage(s, "out of memory");
	colon = strchr(a, ':');
	if (colon)
		*colon = '\0';
	eq = strchr(a, '=');
	if (eq) {
		*eq = '\0';
		if (!eq[1]) {
			rc = refuse(s, "--dir IN= (removing a rule)", "jobrun's default directories "
				    "(/box /bin /dev /lib /lib64 /usr /proc /tmp) cannot be removed");
			goto out;
		}
	}
	if (a[0] != '/') { /* isolate: an inside path relative to / */
		char *abs;

		if (asprintf(&abs, "/%s", a) < 0)
			goto nomem;
		r.inside = abs;
	} else if (!(r.inside = strdup(a))) {
		goto nomem;
	}
	r.outside = strdup(eq ? eq + 1 : r.inside);
	if (!r.outside)
		goto nomem;
	for (opt = colon ? strtok_r(colon + 1, ",", &save) : NULL; opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (!strcmp(opt, "rw")) {
			r.flags |= JR_BIND_RW;
		} else if (!strcmp(opt, "noexec")) {
			r.flags |= JR_BIND_NOEXEC;
		} else if (!strcmp(opt, "norec")) {
			r.flags |= JR_BIND_NOREC;
		} else if (!strcmp(opt, "maybe")) {
			r.maybe = true;
		} else if (!strcmp(opt, "tmp")) {
			if (strcmp(r.inside, "/tmp") && strcmp(r.inside, "/dev/shm")) {
				rc = refuse(s, "--dir IN:tmp", "jobrun gives every job a private, "
					    "empty /tmp and /dev/shm (one tmpfs); a temporary "
					    "directory elsewhere is not supported");
				goto out;
			}
			free(r.outside);
			r.outside = NULL; /* what jobrun does anyway */
		} else if (!strcmp(opt, "fs")) {
			if (strcmp(r.inside, "/proc") || (eq && strcmp(eq + 1, "proc"))) {
				rc = refuse(s, "--dir IN:fs", "jobrun mounts only its own /proc "
					    "(subset=pid); no other file system");
				goto out;
			}
			free(r.outside);
			r.outside = NULL;
		} else if (!strcmp(opt, "dev")) {
			if (strcmp(r.inside, "/dev")) {
				rc = refuse(s, "--dir IN:dev", "jobs get jobrun's minimal /dev (null "
					    "zero full random urandom, shm), never host devices");
				goto out;
			}
			free(r.outside);
			r.outside = NULL; /* isolate's default /dev rule: jobrun's own /dev */
		} else {
			rc = usage(s, "Invalid directory rule '%s': Unknown directory option %s", arg,
				   opt);
			goto out;
		}
	}
	if (r.outside && (!strcmp(r.inside, "/dev") || !strcmp(r.inside, "/proc") ||
			  !strncmp(r.inside, "/dev/", 5) || !strncmp(r.inside, "/proc/", 6) ||
			  !strcmp(r.inside, "/box") || !strncmp(r.inside, "/box/", 5) ||
			  !strcmp(r.inside, "/"))) {
		rc = refuse(s, "--dir", "binding a host directory at /, /box, /dev or /proc "
			    "(jobrun's own) is not supported");
		goto out;
	}
	/* a rule for the same inside path replaces the earlier one */
	for (i = 0; i < s->nrules; i++)
		if (!strcmp(s->rules[i].inside, r.inside))
			break;
	if (i == s->nrules && s->nrules == MAX_RULES) {
		rc = usage(s, "too many --dir rules (at most %d)", MAX_RULES);
		goto out;
	}
	if (i < s->nrules) {
		free(s->rules[i].inside);
		free(s->rules[i].outside);
	} else {
		s->nrules++;
	}
	s->rules[i] = r;
	free(a);
	return 0;
nomem:
	rc = usage(s, "out of memory");
out:
	free(r.inside);
	free(r.outside);
	free(a);
	return rc;
}

static int parse(struct iso *s, int argc, char **argv)
{
	long long v;
	int c, rc;
	bool require_cg = false;

	s->stack_kb = s->fsize_kb = s->q_blocks = s->q_inodes = -1;
	s->open_files = 64;
	s->processes = 1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+b:c:d:DeE:f:i:k:m:M:n:o:p::q:r:st:vw:x:", iso_options,
				NULL)) != -1) {
		rc = 0;
		switch (c) {
		case 'b':
			if ((rc = opt_uint(s, optarg, &v)))
				return rc;
			s->box = (unsigned)v;
			break;
		case 'c': s->cwd = optarg; break;
		case O_CG: s->cg = true; break;
		case 'd': rc = dir_rule(s, optarg); break;
		case 'D':
			return refuse(s, "-D/--no-default-dirs", "jobrun's root (read-only /usr /bin "
				      "/lib..., its own /dev /proc /tmp) is not optional");
		case 'e': s->full_env = true; break;
		case 'E': {
			char **n = realloc(s->env_rules, (s->nenv + 1) * sizeof(*n));

			if (!n)
				return usage(s, "out of memory");
			s->env_rules = n;
			if (!optarg[0] || optarg[0] == '=')
				return usage(s, "Invalid environment specified: %s", optarg);
			s->env_rules[s->nenv++] = optarg;
			break;
		}
		case 'f': rc = opt_uint(s, optarg, &s->fsize_kb); break;
		case 'k': rc = opt_uint(s, optarg, &s->stack_kb); break;
		case 'n': rc = opt_uint(s, optarg, &s->open_files); break;
		case 'i': s->in = optarg; break;
		case 'o': s->out = optarg; break;
		case 'r': s->err = optarg; s->err_to_out = false; break;
		case O_STDERR_TO_STDOUT: s->err = NULL; s->err_to_out = true; break;
		case 'm':
			return refuse(s, "-m/--mem", "jobrun limits the memory of the whole job "
				      "(its cgroup), not each process's address space: use "
				      "--cg-mem");
		case 'M': s->meta = optarg; break;
		case 'p':
			if (optarg)
				rc = opt_uint(s, optarg, &s->processes);
			else
				s->processes = 0;
			break;
		case 'q': {
			const char *comma = strchr(optarg, ',');
			char blocks[32];

			if (!comma || (size_t)(comma - optarg) >= sizeof(blocks))
				return usage(s, "Invalid quota specified: %s", optarg);
			memcpy(blocks, optarg, (size_t)(comma - optarg));
			blocks[comma - optarg] = '\0';
			if ((rc = opt_uint(s, blocks, &s->q_blocks)) ||
			    (rc = opt_uint(s, comma + 1, &s->q_inodes)))
				return rc;
			break;
		}
		case 's': s->silent = true; break;
		case 't': rc = opt_time(s, optarg, &s->t); break;
		case 'w': rc = opt_time(s, optarg, &s->w); break;
		case 'x': rc = opt_time(s, optarg, &s->x); break;
		case 'v': s->verbose++; break;
		case O_CG_MEM:
			if ((rc = opt_uint(s, optarg, &v)))
				return rc;
			s->cg_mem_kb = (unsigned long long)v;
			require_cg = true;
			break;
		case O_CG_TIMING: break; /* isolate 1.x; jobrun always times the whole cgroup */
		case O_NO_CG_TIMING:
			return refuse(s, "--no-cg-timing", "jobrun's CPU time is always that of all "
				      "the job's processes (its cgroup), never one process's");
		case O_SHARE_NET:
			return refuse(s, "--share-net", "jobs get their own network namespace with "
				      "loopback only");
		case O_INHERIT_FDS:
			return refuse(s, "--inherit-fds", "jobs get descriptors 0, 1 and 2 only");
		case O_TTY_HACK:
			return refuse(s, "--tty-hack", "jobs run in a new session without a "
				      "controlling terminal");
		case O_SPECIAL_FILES: s->keep_special = true; break;
		case O_CORE:
			if ((rc = opt_uint(s, optarg, &v)))
				return rc;
			if (v)
				return refuse(s, "--core with a size", "core dumps are always off");
			break;
		case O_AS_UID:
		case O_AS_GID:
			return refuse(s, "--as-uid/--as-gid", "jobrun's isolate front runs as root "
				      "only; box files stay the box uid's");
		case O_WAIT: s->wait = true; break;
		case O_CONFIG: s->config = optarg; break;
		case O_INIT: case O_RUN: case O_CLEANUP: case O_VERSION: case O_PRINT_CG_ROOT:
		case O_CHECK_CONFIG: {
			enum iso_mode m = c == O_INIT ? M_INIT : c == O_RUN ? M_RUN :
					  c == O_CLEANUP ? M_CLEANUP : c == O_VERSION ? M_VERSION :
					  c == O_PRINT_CG_ROOT ? M_PRINT_CG_ROOT : M_CHECK_CONFIG;

			if (s->mode && s->mode != m)
				return usage(s, "Only one command is allowed.");
			s->mode = m;
			break;
		}
		default:
			if (optopt > 0 && optopt < 256)
				return usage(s, "unknown option or missing value: -%c", optopt);
			return usage(s, "unknown option or missing value: '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (!s->mode)
		return usage(s, "Please specify an isolate command (e.g. --init, --run).");
	if (require_cg && !s->cg)
		return usage(s, "Options related to control groups require --cg to be set.");
	if (s->mode == M_RUN && optind >= argc)
		return usage(s, "--run mode requires a command to run");
	if (s->mode != M_RUN && optind < argc)
		return usage(s, "this mode takes no parameters");
	if (s->mode != M_INIT && s->q_blocks >= 0)
		return usage(s, "--quota is given to --init only");
	return 0;
}

/* ---- boxes ----------------------------------------------------------------------------- */

static uid_t box_uid(const struct iso *s)
{
	return s->ic->first_uid + s->box;
}

/* The box root and the directories above it that are missing (root's, 0755), as mkdir -p. */
static int make_box_root(const char *path)
{
	char p[PATH_MAX], *c;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return errno = ENAMETOOLONG, -1;
	for (c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* The box's lock (isolate's: one command at a time per box), held until exit. */
static int lock_box(struct iso *s, const char *rt)
{
	char path[PATH_MAX];

	if (mkdir(rt, 0700) < 0 && errno != EEXIST)
		return die(s, "Cannot create %s: %s", rt, strerror(errno));
	if (jr_cp_check_private_dir("runtime dir", rt, &(struct jr_err){ 0 }) < 0)
		return die(s, "%s is not a private directory of root's", rt);
	snprintf(path, sizeof(path), "%s/box-%u.lock", rt, s->box);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0)
		return die(s, "Cannot open %s: %s", path, strerror(errno));
	if (flock(s->lock_fd, LOCK_EX | (s->wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EWOULDBLOCK)
			return die(s, "This box is currently in use by another process");
		return die(s, "Cannot lock %s: %s", path, strerror(errno));
	}
	return 0;
}

/* What a killed grader's run left (its cgroups: jobrun's own lease record, sweep.h) is
 * removed by leasing the box's uid slot once. */
static int sweep_box(struct iso *s, const char *rt)
{
	struct jr_uid_lease lease;
	struct jr_err err;

	if (jr_uid_acquire_slot(rt, s->ic->first_uid, s->ic->num_boxes, s->box, &lease, &err) < 0)
		return die(s, "Cannot clean up what the box's last run left: %s", err.msg);
	jr_uid_release(&lease);
	return 0;
}

/* The box directory is a tmpfs of its own mounted at BOX_ROOT/N (its size is -q's): its removal
 * is one unmount, which follows nothing the job planted in it. */
static int remove_box(struct iso *s)
{
	struct stat st, root;

	if (lstat(s->boxdir, &st) < 0)
		return errno == ENOENT ? 0 : die(s, "Cannot stat %s: %s", s->boxdir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return die(s, "%s is not a directory: not removed", s->boxdir);
	if (s->verbose)
		fprintf(stderr, "Removing box directory\n");
	while (stat(s->ic->box_root, &root) == 0 && lstat(s->boxdir, &st) == 0 &&
	       st.st_dev != root.st_dev) {
		if (umount2(s->boxdir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return die(s, "Cannot unmount %s: %s", s->boxdir, strerror(errno));
	}
	if (rmdir(s->boxdir) < 0 && errno != ENOENT)
		return die(s, "Cannot remove %s: %s (not a box of jobrun's?)", s->boxdir,
			   strerror(errno));
	return 0;
}

static int cmd_init(struct iso *s, const char *rt)
{
	char opts[128], box[PATH_MAX + 8];
	unsigned long long size = 1ULL << 30, inodes;
	int rc;

	if ((rc = lock_box(s, rt)) || (rc = sweep_box(s, rt)) || (rc = remove_box(s)))
		return rc;
	if (s->verbose)
		fprintf(stderr, "Preparing sandbox\n");
	if (s->q_blocks >= 0) {
		size = (unsigned long long)s->q_blocks * 1024;
		inodes = (unsigned long long)s->q_inodes;
	} else {
		inodes = size / 4096 + 1024;
	}
	if (make_box_root(s->ic->box_root) < 0)
		return die(s, "Cannot create %s: %s", s->ic->box_root, strerror(errno));
	if (jr_cp_check_private_dir("box root", s->ic->box_root, &(struct jr_err){ 0 }) < 0)
		return die(s, "%s must be root's and writable by root only", s->ic->box_root);
	if (mkdir(s->boxdir, 0755) < 0)
		return die(s, "Cannot create %s: %s", s->boxdir, strerror(errno));
	snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=%llu,mode=0755", size ? size : 4096,
		 inodes ? inodes : 1);
	if (mount("jobrun-isolate", s->boxdir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		rc = errno;
		rmdir(s->boxdir);
		return die(s, "Cannot mount the box's tmpfs on %s: %s", s->boxdir, strerror(rc));
	}
	snprintf(box, sizeof(box), "%s/box", s->boxdir);
	if (mkdir(box, 0700) < 0 || chown(box, box_uid(s), box_uid(s)) < 0) {
		rc = errno;
		remove_box(s);
		return die(s, "Cannot create box: %s", strerror(rc));
	}
	puts(s->boxdir);
	return fflush(stdout) == 0 ? 0 : 2;
}

static int cmd_cleanup(struct iso *s, const char *rt)
{
	int rc;

	if ((rc = lock_box(s, rt)))
		return rc;
	if (access(s->boxdir, F_OK) < 0) {
		if (s->verbose)
			fprintf(stderr, "Nothing to do -- box did not exist\n");
		return sweep_box(s, rt);
	}
	if (s->verbose)
		fprintf(stderr, "Deleting sandbox\n");
	if ((rc = sweep_box(s, rt)))
		return rc;
	return remove_box(s);
}

/* ---- --run ----------------------------------------------------------------------------- */

/* Files the caller put in the box (root's: a job's uid never makes a file of root's) become
 * the box uid's, as isolate chowns the box before a run, so the job may change them. Only
 * root's directories are entered (a tree the job made is never walked), symlinks are never
 * followed (fchownat AT_SYMLINK_NOFOLLOW), a file with several links is left alone (it might
 * be a host file linked in), and at most 16 levels deep. */
static void give_to_box(int dirfd, uid_t uid, int depth)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int fd;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != 0)
			continue;
		if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
			if (fchownat(dirfd, e->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0)
				continue; /* left as it is: the job may still read it */
		} else if (S_ISDIR(st.st_mode) && depth < 16) {
			int sub = openat(dirfd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				give_to_box(sub, uid, depth + 1);
				if (fchown(sub, uid, uid) < 0)
					(void)0; /* likewise */
				close(sub);
			}
		}
	}
	closedir(d);
}

/* isolate's rule after every run: what the job left in the box that is not a regular file or
 * a directory (symlinks, FIFOs, sockets, device nodes) is removed, so that the grader, who
 * reads the box as root, is never led out of it by a job's symlink nor blocked on its FIFO
 * (--special-files keeps them). No process of the job is alive (its pid namespace is gone)
 * and the box is locked: nothing changes the tree meanwhile. The walk holds at most
 * WALK_DEPTH directories open: a directory deeper than that is moved up to the box's top
 * level (renameat2 NOREPLACE, as .jobrun-deep-N) and walked from there, so every level of
 * any tree is reached. Returns 0, or -1 with why set. */
#define WALK_DEPTH 48

static int walk_fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int walk_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

struct walk {
	int root_fd;            /* BOXDIR/box */
	dev_t dev;
	unsigned *moved;        /* the N of each .jobrun-deep-N made, in order */
	size_t nmoved, cap;
	unsigned counter;
	size_t removed;
	char *why;
	size_t whylen;
};

static int walk_move_up(struct walk *w, int dirfd, const char *name)
{
	char to[32];

	if (w->nmoved == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		unsigned *m = realloc(w->moved, cap * sizeof(*m));

		if (!m)
			return walk_fail(w->why, w->whylen, "out of memory");
		w->moved = m;
		w->cap = cap;
	}
	for (;; w->counter++) {
		snprintf(to, sizeof(to), ".jobrun-deep-%u", w->counter);
		if (syscall(SYS_renameat2, dirfd, name, w->root_fd, to, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST || w->counter == UINT_MAX)
			return walk_fail(w->why, w->whylen, "cannot move a deep directory of the "
					 "box up: %s", strerror(errno));
	}
	w->moved[w->nmoved++] = w->counter++;
	return 0;
}

/* One entry of an open directory: kept, removed, walked into (pushed), or moved up. */
static int walk_entry(struct walk *w, DIR **stack, size_t *depth, const char *name)
{
	int dfd = dirfd(stack[*depth - 1]), fd;
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : walk_fail(w->why, w->whylen, "cannot stat %s in the "
						      "box: %s", name, strerror(errno));
	if (S_ISREG(st.st_mode) || st.st_dev != w->dev)
		return 0; /* (nothing is mounted in a box: jobs cannot mount) */
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return walk_fail(w->why, w->whylen, "Cannot unlink special file %s: %s",
					 name, strerror(errno));
		w->removed++;
		return 0;
	}
	if (*depth == WALK_DEPTH)
		return walk_move_up(w, dfd, name);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(stack[*depth] = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return walk_fail(w->why, w->whylen, "cannot open %s in the box: %s", name,
				 strerror(errno));
	}
	++*depth;
	return 0;
}

/* One tree: top (an open directory, taken over) and everything below it. */
static int walk_tree(struct walk *w, int top)
{
	DIR *stack[WALK_DEPTH];
	size_t depth = 0;
	struct dirent *e;
	int rc = 0;

	if (!(stack[0] = fdopendir(top))) {
		close(top);
		return walk_fail(w->why, w->whylen, "cannot read the box: %s", strerror(errno));
	}
	depth = 1;
	while (depth > 0 && rc == 0) {
		errno = 0;
		if (!(e = readdir(stack[depth - 1]))) {
			if (errno)
				rc = walk_fail(w->why, w->whylen, "cannot read the box: %s",
					       strerror(errno));
			closedir(stack[--depth]);
			continue;
		}
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = walk_entry(w, stack, &depth, e->d_name);
	}
	while (depth > 0)
		closedir(stack[--depth]);
	return rc;
}

static int remove_special_files(struct iso *s, size_t *removed, char *why, size_t whylen)
{
	struct walk w = { .root_fd = -1, .why = why, .whylen = whylen };
	struct stat st;
	char name[32];
	size_t i;
	int rc, fd;

	w.root_fd = openat(s->box_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.root_fd < 0 || fstat(w.root_fd, &st) < 0) {
		rc = walk_fail(why, whylen, "cannot open the box: %s", strerror(errno));
		if (w.root_fd >= 0)
			close(w.root_fd);
		return rc;
	}
	w.dev = st.st_dev;
	fd = fcntl(w.root_fd, F_DUPFD_CLOEXEC, 3);
	rc = fd < 0 ? walk_fail(why, whylen, "cannot open the box: %s", strerror(errno))
		    : walk_tree(&w, fd);
	/* the directories moved up, each a tree of its own (which may move more) */
	for (i = 0; rc == 0 && i < w.nmoved; i++) {
		snprintf(name, sizeof(name), ".jobrun-deep-%u", w.moved[i]);
		fd = openat(w.root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = fd < 0 ? walk_fail(why, whylen, "cannot open %s in the box: %s", name,
					strerror(errno))
			    : walk_tree(&w, fd);
	}
	*removed = w.removed;
	free(w.moved);
	close(w.root_fd);
	return rc;
}

/* An -i/-o/-r path is inside the sandbox: under /box (or relative to it), under a -d rule's
 * inside path (then in that host directory), or /dev/null. Resolved beneath that directory
 * without following any symlink, without crossing a mount. Returns an fd, or -1 (message set). */
static int open_inside(struct iso *s, const char *what, const char *path, bool out,
		       char *why, size_t whylen)
{
	struct open_how how = { .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	const char *rel = path;
	int base = s->box_fd, own = -1, fd;
	struct stat st;
	size_t i, n;

	if (!strcmp(path, "/dev/null"))
		return open("/dev/null", (out ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (path[0] == '/') {
		if (!strncmp(path, "/box/", 5)) {
			rel = path + 5;
		} else {
			base = -1;
			for (i = 0; i < s->nrules && base < 0; i++) {
				n = strlen(s->rules[i].inside);
				if (!s->rules[i].outside || strncmp(path, s->rules[i].inside, n) ||
				    path[n] != '/')
					continue;
				own = base = jr_cp_open(what, s->rules[i].outside, JR_CP_DIR,
							&(struct jr_err){ 0 });
				rel = path + n + 1;
			}
			if (base < 0) {
				snprintf(why, whylen, "%s is outside /box and the --dir binds", path);
				return -1;
			}
		}
	}
	how.flags = out ? O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
			: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	how.mode = out ? 0644 : 0;
	fd = (int)syscall(SYS_openat2, base, rel, &how, sizeof(how));
	if (own >= 0)
		close(own);
	if (fd < 0) {
		snprintf(why, whylen, "open(\"%s\"): %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (out && ftruncate(fd, 0) < 0)) {
		close(fd);
		snprintf(why, whylen, "open(\"%s\"): not a regular file of the box", path);
		return -1;
	}
	/* isolate opens it as the box's uid: the job (and the next run) may change it */
	if (out && fchown(fd, box_uid(s), box_uid(s)) < 0) {
		close(fd);
		snprintf(why, whylen, "chown(\"%s\"): %s", path, strerror(errno));
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

/* isolate's environment: empty (or the caller's with -e), LIBC_FATAL_STDERR_=1, then the -E
 * rules in order: VAR inherits, VAR=value sets, VAR= removes. */
static int set_env(struct jr_strv *env, const char *name, size_t nlen, const char *val)
{
	size_t i;
	char *kv = NULL;

	for (i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], name, nlen) && env->v[i][nlen] == '=')
			break;
	if (val && asprintf(&kv, "%.*s=%s", (int)nlen, name, val) < 0)
		return -ENOMEM;
	if (i < env->n) {
		free(env->v[i]);
		if (kv) {
			env->v[i] = kv;
		} else {
			memmove(&env->v[i], &env->v[i + 1], (env->n - i) * sizeof(char *));
			env->n--;
		}
		return 0;
	}
	return kv ? jr_strv_push_take(env, kv) : 0;
}

static int build_env(struct iso *s)
{
	extern char **environ;
	size_t i;
	char **e;

	if (s->full_env)
		for (e = environ; *e; e++)
			if (strchr(*e, '=') && jr_strv_push(&s->env, *e) < 0)
				return -ENOMEM;
	if (set_env(&s->env, "LIBC_FATAL_STDERR_", 18, "1") < 0)
		return -ENOMEM;
	for (i = 0; i < s->nenv; i++) {
		const char *r = s->env_rules[i], *eq = strchr(r, '=');

		if (eq) {
			if (set_env(&s->env, r, (size_t)(eq - r), eq[1] ? eq + 1 : NULL) < 0)
				return -ENOMEM;
		} else if (set_env(&s->env, r, strlen(r), getenv(r)) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* After `jobrun run`'s admission: what its options cannot say. */
static int tweak(struct jr_spec *spec, void *arg, struct jr_err *err)
{
	struct iso *s = arg;
	size_t i;

	spec->uid_slot = (int)s->box;
	free(spec->job_mount);
	spec->job_mount = strdup("/box");
	free(spec->cwd_abs);
	spec->cwd_abs = s->cwd_abs ? strdup(s->cwd_abs) : NULL;
	jr_strv_free(&spec->env);
	for (i = 0; i < s->env.n; i++)
		if (jr_strv_push(&spec->env, s->env.v[i]) < 0)
			return jr_err_set(err, ENOMEM, "environment");
	for (i = 0; i < s->nrules; i++) {
		const struct dir_rule *r = &s->rules[i];
		struct stat st;

		if (!r->outside)
			continue; /* /tmp, /dev/shm, /dev, /proc: jobrun's own */
		if (r->maybe && lstat(r->outside, &st) < 0)
			continue;
		if (jr_spec_add_bind(spec, r->inside, r->outside, r->flags) < 0)
			return jr_err_set(err, ENOMEM, "--dir");
	}
	if (!spec->job_mount)
		return jr_err_set(err, ENOMEM, "spec");
	return 0;
}

/* isolate's --extra-time: the program is killed at time + extra, but a run over --time is a
 * time-out all the same (isolate reports its real time). */
static char *apply_extra_time(struct iso *s, const char *json)
{
	json_t *o = json_loads(json, 0, NULL), *cpu;
	const char *v;
	char *out;

	if (!o)
		return NULL;
	v = json_string_value(json_object_get(o, "verdict"));
	cpu = json_object_get(json_object_get(o, "cpu"), "seconds");
	if (s->t > 0 && s->x > 0 && v && json_is_number(cpu) && json_number_value(cpu) > s->t &&
	    (!strcmp(v, "OK") || !strcmp(v, "RE") || !strcmp(v, "SG") || !strcmp(v, "OL"))) {
		json_object_set_new(o, "verdict", json_string("TO"));
		json_object_set_new(o, "limit", json_string("cpu"));
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static int meta_value(const char *meta, const char *key, char *buf, size_t len)
{
	const char *p = meta;
	size_t k = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, k) && p[k] == ':') {
			size_t n = strcspn(p + k + 1, "\n");

			snprintf(buf, len, "%.*s", (int)n, p + k + 1);
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static int push(struct jr_strv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int push(struct jr_strv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : jr_strv_push_take(a, s);
}

static int cmd_run(struct iso *s, const struct jr_conf *conf, const char *rt, int argc,
		   char **argv)
{
	struct jr_cp_dest md = { .dirfd = -1, .fd = -1 };
	struct jr_run_hooks hooks = { .prog = s->prog, .tweak = tweak, .arg = s, .conf = conf,
				      .verdict = -1 };
	struct jr_strv a = { 0 };
	struct jr_err err;
	char path[PATH_MAX + 8], why[512], *json = NULL, *meta = NULL;
	int rc, st, in = -1, out = -1, errfd = -1, i;
	bool admin;

	if ((rc = lock_box(s, rt)))
		return rc;
	snprintf(path, sizeof(path), "%s/box", s->boxdir);
	s->box_fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->box_fd < 0)
		return die(s, "Box not found, did you run `%s%s --init'?", s->prog,
			   s->cg ? " --cg" : "");
	/* the meta file: resolved (and checked) before the job, like run's --meta */
	if (s->meta && strcmp(s->meta, "-") &&
	    (jr_cp_dest_init(&md, "--meta", s->meta, &err) < 0 || jr_cp_dest_check(&md, &err) < 0)) {
		jr_cp_dest_free(&md);
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	give_to_box(s->box_fd, box_uid(s), 0);
	if (s->cwd) {
		if (s->cwd[0] == '/')
			s->cwd_abs = strdup(s->cwd);
		else if (asprintf(&s->cwd_abs, "/box/%s", s->cwd) < 0)
			s->cwd_abs = NULL;
		if (!s->cwd_abs) {
			rc = die(s, "out of memory");
			goto out;
		}
	}
	/* isolate opens these inside the sandbox: jobrun opens them beneath their directory
	 * before the job and hands them over as its own descriptors */
	if ((s->in && (in = open_inside(s, "--stdin", s->in, false, why, sizeof(why))) < 0) ||
	    (s->out && (out = open_inside(s, "--stdout", s->out, true, why, sizeof(why))) < 0) ||
	    (s->err && (errfd = open_inside(s, "--stderr", s->err, true, why, sizeof(why))) < 0)) {
		rc = die(s, "%s", why);
		goto out;
	}
	if (build_env(s) < 0) {
		rc = die(s, "out of memory");
		goto out;
	}
	rc = -ENOMEM;
	admin = jr_conf_profile(conf, "isolate") != NULL;
	/* the built-in hpc profile: no CPU bandwidth limit, as isolate has none; the admin's
	 * isolate profile: its own defaults, cpus included */
	if (jr_strv_push(&a, "isolate") < 0 || push(&a, "--runtime-dir=%s", rt) < 0 ||
	    push(&a, "--uid-range=%u:%u", s->ic->first_uid, s->ic->num_boxes) < 0 ||
	    push(&a, "--profile=%s", admin ? "isolate" : "hpc") < 0 ||
	    push(&a, "--id=isolate-box-%u", s->box) < 0 ||
	    push(&a, "--dir=%s/box", s->boxdir) < 0 ||
	    (!admin && push(&a, "--cpus=unlimited") < 0) ||
	    (in >= 0 ? push(&a, "--stdin=/dev/fd/%d", in) : push(&a, "--stdin=/dev/stdin")) < 0)
		goto nomem;
	if ((out >= 0 ? push(&a, "--stdout=/dev/fd/%d", out) : push(&a, "--stdout=/dev/stdout")) < 0)
		goto nomem;
	if (s->err_to_out)
		st = out >= 0 ? push(&a, "--stderr=/dev/fd/%d", out) : push(&a, "--stderr=/dev/stdout");
	else
		st = errfd >= 0 ? push(&a, "--stderr=/dev/fd/%d", errfd)
				: push(&a, "--stderr=/dev/stderr");
	if (st < 0)
		goto nomem;
	if (s->t > 0 && push(&a, "--cpu-time=%.3fs", s->t + s->x) < 0)
		goto nomem;
	if (s->w > 0 && push(&a, "--wall-time=%.3fs", s->w) < 0)
		goto nomem;
	if (s->cg_mem_kb && push(&a, "--memory=%lluK", s->cg_mem_kb) < 0)
		goto nomem;
	/* jobrun-init is one of the job's processes: isolate's N is N + 1 here */
	if (s->processes && push(&a, "--pids=%lld", s->processes + 1) < 0)
		goto nomem;
	if (s->open_files && push(&a, "--open-files=%lld", s->open_files) < 0)
		goto nomem;
	if (s->stack_kb >= 0 && push(&a, "--stack=%lldK", s->stack_kb) < 0)
		goto nomem;
	if (s->fsize_kb >= 0 && push(&a, "--file-size=%lldK", s->fsize_kb) < 0)
		goto nomem;
	if (s->verbose && jr_strv_push(&a, "-v") < 0)
		goto nomem;
	if (jr_strv_push(&a, "--") < 0)
		goto nomem;
	for (i = optind; i < argc; i++)
		if (jr_strv_push(&a, argv[i]) < 0)
			goto nomem;
	st = jr_run_main((int)a.n, a.v, &hooks);
	if (hooks.json && !s->keep_special) { /* a job ran: what it left for the grader */
		size_t n = 0;

		if (remove_special_files(s, &n, why, sizeof(why)) < 0) {
			rc = die(s, "%s", why);
			goto out;
		}
		if (n && s->verbose)
			fprintf(stderr, "Removed %zu special files from the box\n", n);
	}
	if (!hooks.json) { /* refused before the job: jobrun said why on stderr */
		rc = die(s, "%s", hooks.error[0] ? hooks.error : "the job could not be started");
		goto out;
	}
	json = apply_extra_time(s, hooks.json);
	meta = json ? jr_result_meta_from_json(json) : NULL;
	if (!meta) {
		rc = die(s, "cannot format the result");
		goto out;
	}
	if (s->meta && !strcmp(s->meta, "-"))
		fputs(meta, stdout);
	else if (s->meta && jr_cp_dest_write(&md, meta, strlen(meta), &err) < 0)
		fprintf(stderr, "%s\n", err.msg), st = 2;
	/* isolate's status line on stderr */
	{
		char status[8] = "", msg[600] = "", t[32] = "0.000", w[32] = "0.000";

		meta_value(meta, "status", status, sizeof(status));
		meta_value(meta, "message", msg, sizeof(msg));
		meta_value(meta, "time", t, sizeof(t));
		meta_value(meta, "time-wall", w, sizeof(w));
		if (!status[0]) {
			rc = 0;
			if (!s->silent)
				fprintf(stderr, "OK (%s sec real, %s sec wall)\n", t, w);
		} else if (!strcmp(status, "XX")) {
			rc = 2;
			fprintf(stderr, "%s\n", msg);
		} else {
			rc = 1;
			if (!s->silent)
				fprintf(stderr, "%s\n", msg);
		}
	}
	if (st == 2 && rc < 2)
		rc = 2;
	goto out;
nomem:
	rc = die(s, "out of memory");
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (errfd >= 0)
		close(errfd);
	jr_cp_dest_free(&md);
	jr_strv_free(&a);
	free(hooks.json);
	free(json);
	free(meta);
	return rc;
}

int jr_cmd_isolate(int argc, char **argv)
{
	struct iso s;
	struct jr_conf conf;
	struct jr_err err;
	char rt[PATH_MAX];
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.prog = argv[0];
	s.box_fd = s.lock_fd = -1;
	rc = parse(&s, argc, argv);
	if (rc)
		goto out;
	if (s.mode == M_VERSION) {
		printf("jobrun %s: isolate's command line (docs/isolate.md)\n", JR_VERSION);
		goto out;
	}
	if (s.mode == M_PRINT_CG_ROOT) {
		rc = refuse(&s, "--print-cg-root", "jobrun makes a fresh cgroup for every run, "
			    "below its own cgroup (README: Cgroups); there is no fixed root");
		goto out;
	}
	if (geteuid() != 0) {
		rc = die(&s, "Must be started as root");
		goto out;
	}
	memset(&conf, 0, sizeof(conf));
	if (jr_conf_load(s.config, &conf, &err) < 0) {
		rc = die(&s, "jobrun.conf: %s", err.msg);
		goto out;
	}
	s.ic = &conf.isolate;
	snprintf(rt, sizeof(rt), "%s/isolate", conf.runtime_dir);
	snprintf(s.boxdir, sizeof(s.boxdir), "%s/%u", s.ic->box_root, s.box);
	if (s.box >= s.ic->num_boxes) {
		rc = usage(&s, "Sandbox ID out of range (allowed: 0-%u; jobrun.conf: isolate { "
			   "num_boxes })", s.ic->num_boxes - 1);
	} else if (mkdir(conf.runtime_dir, 0700) < 0 && errno != EEXIST) {
		rc = die(&s, "Cannot create %s: %s", conf.runtime_dir, strerror(errno));
	} else if (s.mode == M_CHECK_CONFIG) {
		printf("box_root=%s\nfirst_uid=%u\nfirst_gid=%u\nnum_boxes=%u\nruntime_dir=%s\n"
		       "profile=%s\n", s.ic->box_root, s.ic->first_uid, s.ic->first_uid,
		       s.ic->num_boxes, rt, jr_conf_profile(&conf, "isolate") ? "isolate" : "hpc");
		rc = 0;
	} else if (s.mode == M_INIT) {
		rc = cmd_init(&s, rt);
	} else if (s.mode == M_CLEANUP) {
		rc = cmd_cleanup(&s, rt);
	} else {
		rc = cmd_run(&s, &conf, rt, argc, argv);
	}
	jr_conf_free(&conf);
out:
	for (i = 0; i < s.nrules; i++) {
		free(s.rules[i].inside);
		free(s.rules[i].outside);
	}
	free(s.env_rules);
	free(s.cwd_abs);
	jr_strv_free(&s.env);
	if (s.box_fd >= 0)
		close(s.box_fd);
	if (s.lock_fd >= 0)
		close(s.lock_fd);
	return rc;
}
