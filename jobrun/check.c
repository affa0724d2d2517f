/* check.c - `jobrun check`: report jobrun's helper programs (found, trusted, and running),
 * the host's cgroup layout per controller, namespaces, seccomp, swap, delegation,
 * favordynmods and pivot_root; exit 1 when jobrun cannot run jobs or enforce its limits here,
 * 0 otherwise. Every line is "name: value" so scripts can grep it.
 * `jobrun check --clean`: remove what killed jobruns left behind (sweep.h), a line each. */
#define _GNU_SOURCE
#include "check.h"
#include "callerpath.h"
#include "cgroup.h"
#include "conf.h"
#include "helper.h"
#include "spec.h"
#include "sweep.h"

#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int problems;
static int broken_helpers;

static void line(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%-22s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int try_unshare(int flag)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(unshare(flag) < 0 ? 1 : 0);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void check_namespaces(void)
{
	static const struct { const char *name; int flag; } ns[] = {
		{ "pid", CLONE_NEWPID }, { "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS },
		{ "ipc", CLONE_NEWIPC }, { "mnt", CLONE_NEWNS }, { "cgroup", CLONE_NEWCGROUP },
	};
	char buf[128] = "";
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int ok = try_unshare(ns[i].flag) == 0;

		strcat(buf, ns[i].name);
		strcat(buf, ok ? "=yes " : "=NO ");
		bad |= !ok;
	}
	line("namespaces:", "%s", buf);
	if (bad)
		problems++;
}

static void check_seccomp(void)
{
	int ok = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;

	line("seccomp:", "%s", ok ? "yes (filters load with prctl)" : "NO");
	if (!ok)
		problems++;
}

static void check_swap(void)
{
	FILE *f = fopen("/proc/swaps", "re");
	char buf[512];
	int n = 0;

	if (f) {
		while (fgets(buf, sizeof(buf), f))
			n++;
		fclose(f);
	}
	line("swap:", "%s", n > 1 ? "yes (jobs get none unless --swap)" : "none on this host");
}

static void check_pivot_root(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char buf[4096];
	int rootfs = 0;

	while (f && fgets(buf, sizeof(buf), f)) {
		char *mp = buf, *sep;
		int i;

		for (i = 0; i < 4 && mp; i++)
			mp = strchr(mp, ' ') ? strchr(mp, ' ') + 1 : NULL;
		sep = strstr(buf, " - ");
		if (mp && !strncmp(mp, "/ ", 2) && sep && !strncmp(sep + 3, "rootfs ", 7))
			rootfs = 1;
	}
	if (f)
		fclose(f);
	line("pivot_root:", "%s", rootfs ? "NO: / is rootfs (initramfs); boot with a real root"
					 : "yes");
	if (rootfs)
		problems++;
}

/* Can jobrun create (and remove) a cgroup where it would put jobs? */
static int try_delegate(const struct jr_cg_ctrl *x, char *why, size_t len)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/jobrun-check-%d", x->own, (int)getpid());
	if (mkdir(dir, 0755) < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	rmdir(dir);
	return 0;
}

static int any_v1(const struct jr_cg_host *h)
{
	int c;

	for (c = 0; c < JR_CG_N; c++)
		if (h->ctrl[c].version == 1)
			return 1;
	return 0;
}

static void check_cgroups(void)
{
	static const enum jr_ctrl required[] = { JR_CG_MEMORY, JR_CG_CPU, JR_CG_CPUACCT, JR_CG_PIDS };
	struct jr_cg_host h;
	struct jr_err err;
	char why[256];
	int c;
	size_t i;

	if (jr_cg_detect(&h, &err) < 0) {
		line("cgroups:", "NO: %s", err.msg);
		problems++;
		return;
	}
	for (c = 0; c < JR_CG_N; c++) {
		const struct jr_cg_ctrl *x = &h.ctrl[c];
		char name[32];

		snprintf(name, sizeof(name), "cgroup %s:", jr_cg_ctrl_name((enum jr_ctrl)c));
		if (!x->version) {
			line(name, "not available");
			continue;
		}
		if (try_delegate(x, why, sizeof(why)) < 0)
			line(name, "v%d at %s, but jobrun cannot create cgroups there: %s",
			     x->version, x->own, why);
		else
			line(name, "v%d, jobs under %s/jobrun", x->version, x->own);
	}
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const struct jr_cg_ctrl *x = &h.ctrl[required[i]];

		if (!x->version || try_delegate(x, why, sizeof(why)) < 0) {
			line("cgroups:", "NO: jobrun cannot enforce %s limits here",
			     jr_cg_ctrl_name(required[i]));
			problems++;
		}
	}
	if (h.v2_mount)
		line("cgroup2 mount:", "%s (%s)", h.v2_mount, h.v2_mount_opts ? h.v2_mount_opts : "");
	if ((h.v2_mount_opts && strstr(h.v2_mount_opts, "favordynmods")) || h.v1_favordynmods)
		line("favordynmods:", "on (cgroup migrations do not wait for RCU)");
	else if (any_v1(&h))
		line("favordynmods:", "off: each v1 attach after an idle gap waits 5-25 ms for an "
		     "RCU grace period (mount option favordynmods removes the wait)");
	else
		line("favordynmods:", "off (not needed: on v2 jobs are cloned straight into "
		     "their cgroup, no migration)");
	jr_cg_host_free(&h);
}

/* One uid range (and the same gids) must exist nowhere on the host: no local user or group in
 * it. Returns 1 on a clash. */
static int check_range(const char *what, const char *desc, unsigned long lo, unsigned long hi)
{
	static const char *const files[] = { "/etc/passwd", "/etc/group" };
	unsigned long id;
	char buf[1024];
	size_t i;
	int clash = 0;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "re");

		while (f && fgets(buf, sizeof(buf), f)) {
			char *c = strchr(buf, ':');

			c = c ? strchr(c + 1, ':') : NULL;
			if (!c)
				continue;
			id = strtoul(c + 1, NULL, 10);
			if (id >= lo && id < hi) {
				line(what, "NO: %s has id %lu inside jobrun's range %lu-%lu",
				     files[i], id, lo, hi - 1);
				clash = 1;
			}
		}
		if (f)
			fclose(f);
	}
	if (!clash)
		line(what, "%lu-%lu (%s), unused by local users and groups", lo, hi - 1, desc);
	return clash;
}

/* jobrun.conf (a broken one is a problem: nothing would run), then the uids it gives jobs and
 * the isolate front's boxes: no local user or group may have one. */
static void check_conf_uids(const char *config)
{
	struct jr_conf conf;
	struct jr_err err;
	int clash;

	jr_err_clear(&err);
	if (jr_conf_load(config, &conf, &err) < 0) {
		line("config:", "NO: %s", err.msg);
		problems++;
		if (jr_conf_builtin(&conf, &err) < 0)
			return;
	} else {
		line("config:", "%s", conf.file ? conf.file : "built in (no " JR_CONF_DEFAULT_PATH ")");
	}
	clash = check_range("uid range:", "jobs, then their PID 1", conf.uid_base,
			    conf.uid_base + 2UL * conf.uid_count);
	clash |= check_range("box uids:", "jobrun isolate's boxes, then their PID 1",
			     conf.isolate.first_uid,
			     conf.isolate.first_uid + 2UL * conf.isolate.num_boxes);
	if (clash)
		problems++;
	jr_conf_free(&conf);
}

/* jobrun-init (every job), jobrun-unpack (tarball jobs), jobrun-report (report targets) and
 * jobrun-fetch (tarballs by URL): where jobrun takes them from, and a trial run of each
 * (helper.c). A missing or broken one: jobrun cannot run jobs, deliver their reports, or fetch
 * their tarballs. */
static void check_helpers(void)
{
	static const char *const names[] = { "jobrun-init", "jobrun-unpack", "jobrun-report",
					     "jobrun-fetch" };
	char dir[PATH_MAX], what[PATH_MAX + 128], label[32];
	struct jr_err err;
	size_t i;
	int fd;

	jr_err_clear(&err);
	fd = jr_helper_dir_open(dir, sizeof(dir), &err);
	if (fd < 0) {
		line("helpers:", "NO: %s", err.msg);
		broken_helpers++;
		return;
	}
	close(fd);
	line("helpers:", "%s", dir);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(label, sizeof(label), "%s:", names[i]);
		jr_err_clear(&err);
		if (jr_helper_check(names[i], what, sizeof(what), &err) < 0) {
			line(label, "NO: %s", err.msg);
			broken_helpers++;
		} else {
			line(label, "%s", what);
		}
	}
}

/* ---- jobrun check --clean ---- */

static int clean_left;

static void clean_found(void *data, const struct jr_sweep_report *r)
{
	char who[160];
	size_t i;

	(void)data;
	snprintf(who, sizeof(who), "uid slot %u, job %s of jobrun pid %ld (dead)", r->slot,
		 r->job[0] ? r->job : "?", r->pid);
	if (!r->nlines)
		printf("clean: %s: nothing of it was left; its record is cleared\n", who);
	for (i = 0; i < r->nlines; i++)
		printf("clean: %s: %s\n", who, r->lines[i]);
	if (!r->complete)
		clean_left++;
}

/* Every free lease of the runtime dir with a record: what it names is removed. Exit 1 when
 * something could not be (its slot stays quarantined), 2 on errors, else 0. */
static int check_clean(const char *runtime_dir, const char *config)
{
	struct jr_conf conf;
	struct jr_err err;
	bool have_conf = false;
	const char *dir = runtime_dir;
	int n, status = 2;

	jr_err_clear(&err);
	if (!dir) { /* the admin's jobrun.conf says where, else /run/jobrun */
		if (jr_conf_load(config, &conf, &err) < 0) {
			fprintf(stderr, "jobrun check: %s\n", err.msg);
			return 2;
		}
		have_conf = true;
		dir = conf.runtime_dir;
	}
	/* paths below it are used by name: no job may be able to touch any part of it */
	if (access(dir, F_OK) == 0 && jr_cp_check_private_dir("--runtime-dir", dir, &err) < 0) {
		fprintf(stderr, "jobrun check: %s\n", err.msg);
		goto out;
	}
	n = jr_sweep_all(dir, clean_found, NULL, &err);
	if (n >= 0) { /* and the isolate front's runs (isolate.c: DIR/isolate/uids) */
		char iso[PATH_MAX];
		int m;

		snprintf(iso, sizeof(iso), "%s/isolate", dir);
		m = access(iso, F_OK) < 0 ? 0
		    : jr_cp_check_private_dir("--runtime-dir", iso, &err) < 0
			? -1 : jr_sweep_all(iso, clean_found, NULL, &err);
		n = m < 0 ? m : n + m;
	}
	if (n < 0) {
		fprintf(stderr, "jobrun check: %s\n", err.msg);
		goto out;
	}
	if (n == 0)
		printf("clean: nothing left behind\n");
	fflush(stdout);
	status = clean_left ? 1 : 0;
out:
	if (have_conf)
		jr_conf_free(&conf);
	return status;
}

static const char check_usage[] =
	"usage: jobrun check [--config FILE] [--clean [--runtime-dir DIR]]\n";

int jr_cmd_check(int argc, char **argv)
{
	const char *runtime_dir = NULL, *config = NULL;
	bool clean = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--clean")) {
			clean = true;
		} else if (!strcmp(argv[i], "--runtime-dir") && i + 1 < argc) {
			runtime_dir = argv[++i];
		} else if (!strncmp(argv[i], "--runtime-dir=", 14)) {
			runtime_dir = argv[i] + 14;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			config = argv[i] + 9;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(check_usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "jobrun check: unknown option '%s'\n%s", argv[i], check_usage);
			return 2;
		}
	}
	if (!clean && runtime_dir) {
		fprintf(stderr, "jobrun check: --runtime-dir goes with --clean\n%s", check_usage);
		return 2;
	}
	if (runtime_dir && runtime_dir[0] != '/') {
		fprintf(stderr, "jobrun check: --runtime-dir: '%s' is not an absolute path\n",
			runtime_dir);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "jobrun check: run it as root, as jobrun runs\n");
		return 2;
	}
	if (clean)
		return check_clean(runtime_dir, config);
	check_helpers();
	check_namespaces();
	check_seccomp();
	check_swap();
	check_pivot_root();
	check_conf_uids(config);
	check_cgroups();
	if (broken_helpers)
		line("verdict:", "jobrun CANNOT run jobs: %s", problems ?
		     "a helper program is missing or broken, and it cannot enforce its limits here" :
		     "a helper program is missing or broken (reinstall jobrun: make install)");
	else
		line("verdict:", "%s", problems ? "jobrun CANNOT enforce its limits here"
					       : "jobrun can isolate and limit jobs here");
	return problems || broken_helpers ? 1 : 0;
}
