/* conf.c - jobrun.conf, the built-in profiles, limit values, and the merge of a job's requests
 * into its jr_spec (conf.h). */
#define _GNU_SOURCE
#include "conf.h"
#include "callerpath.h"
#include "plan.h"
#include "cfgparse.h"
#include "units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- limit values --------------------------------------------------------------------- */

/* The limits themselves (kind, range, where they land): jr_limit_defs (jobreq.c). */
static const char *const kind_example[] = {
	[JR_LK_SIZE] = "is not a size (256M, 1.5G)",
	[JR_LK_DURATION] = "is not a duration (1.5s, 500ms, 2m, 1h, 1d)",
	[JR_LK_CPUS] = "is not a number of CPUs (0.5, 2; three decimals at most)",
	[JR_LK_COUNT] = "is not a whole number (64)",
};

static uint64_t ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return 0;
	return (uint64_t)pages * (uint64_t)size;
}

static const char *format_duration(uint64_t us, char *buf, size_t len)
{
	static const struct { uint64_t mult; const char *name; } u[] = {
		{ 3600000000ULL, "h" }, { 60000000ULL, "m" }, { 1000000ULL, "s" },
		{ 1000ULL, "ms" }, { 1ULL, "us" },
	};
	size_t i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (us && us % u[i].mult == 0)
			break;
	if (i == sizeof(u) / sizeof(u[0]))
		i = 4;
	snprintf(buf, len, "%llu%s", (unsigned long long)(us / u[i].mult), u[i].name);
	return buf;
}

/* A value of key k in the units people write ("2G", "1.5" CPUs, "10s"). */
static const char *format_value(enum jr_limit_key k, uint64_t v, char *buf, size_t len)
{
	if (v == JR_LIMIT_UNLIMITED) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	switch (jr_limit_defs[k].kind) {
	case JR_LK_SIZE: return jr_format_size(v, buf, (unsigned)len);
	case JR_LK_DURATION: return format_duration(v, buf, len);
	case JR_LK_CPUS:
		if (v % 1000 == 0)
			snprintf(buf, len, "%llu", (unsigned long long)(v / 1000));
		else if (v % 100 == 0)
			snprintf(buf, len, "%llu.%llu", (unsigned long long)(v / 1000),
				 (unsigned long long)(v % 1000 / 100));
		else if (v % 10 == 0)
			snprintf(buf, len, "%llu.%02llu", (unsigned long long)(v / 1000),
				 (unsigned long long)(v % 1000 / 10));
		else
			snprintf(buf, len, "%llu.%03llu", (unsigned long long)(v / 1000),
				 (unsigned long long)(v % 1000));
		return buf;
	case JR_LK_COUNT:
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static int parse_percent(const char *text, uint64_t *value)
{
	char num[16];
	size_t n = strlen(text);
	uint64_t pct, ram;

	if (n < 2 || n - 1 >= sizeof(num) || text[n - 1] != '%')
		return -EINVAL;
	memcpy(num, text, n - 1);
	num[n - 1] = '\0';
	if (jr_parse_uint(num, &pct) < 0 || pct < 1 || pct > 100)
		return -EINVAL;
	ram = ram_bytes();
	if (!ram)
		return -EINVAL;
	*value = (uint64_t)((unsigned __int128)ram * pct / 100);
	return 0;
}

int jr_limit_parse(enum jr_limit_key k, const char *text, int flags, uint64_t *value,
		   char *why, size_t whylen)
{
	const struct jr_limit_def *ru;
	char b[32];
	uint64_t v = 0;
	int r;

	if ((unsigned)k >= JR_L_N || !text) {
		snprintf(why, whylen, "is not a limit");
		return -EINVAL;
	}
	ru = &jr_limit_defs[k];
	if (!strcmp(text, "unlimited")) {
		if (!ru->unlimited_ok && !(flags & JR_LIMIT_MAXIMUM)) {
			snprintf(why, whylen, "cannot be unlimited (%s needs a value)",
				 jr_limit_name(k));
			return -EINVAL;
		}
		*value = JR_LIMIT_UNLIMITED;
		return 0;
	}
	if (text[0] == '-') {
		snprintf(why, whylen, "is negative");
		return -EINVAL;
	}
	if ((flags & JR_LIMIT_ADMIN) && ru->kind == JR_LK_SIZE && text[0] &&
	    text[strlen(text) - 1] == '%') {
		if (parse_percent(text, &v) < 0) {
			snprintf(why, whylen, "is not a share of the host's RAM (1%% to 100%%)");
			return -EINVAL;
		}
		r = 0;
	} else {
		switch (ru->kind) {
		case JR_LK_SIZE: r = jr_parse_size(text, &v); break;
		case JR_LK_DURATION: r = jr_parse_duration(text, &v); break;
		case JR_LK_CPUS: r = jr_parse_cpus(text, &v); break;
		case JR_LK_COUNT: r = jr_parse_uint(text, &v); break;
		default: r = -EINVAL; break;
		}
	}
	if (r == -ERANGE || (r == 0 && v == JR_LIMIT_UNLIMITED)) {
		snprintf(why, whylen, "is too large");
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(why, whylen, "%s", kind_example[ru->kind]);
		return -EINVAL;
	}
	if (v < ru->min) {
		snprintf(why, whylen, "is below the minimum %s", format_value(k, ru->min, b, sizeof(b)));
		return -EINVAL;
	}
	if (ru->max && v > ru->max) {
		snprintf(why, whylen, "is above %s, the most jobrun accepts",
			 format_value(k, ru->max, b, sizeof(b)));
		return -EINVAL;
	}
	*value = v;
	return 0;
}

/* ---- what the host lets jobrun give ---------------------------------------------------- */

static struct jr_host_caps host;
static unsigned host_probed;         /* JR_HOST_* parts of host filled in */
static const struct jr_host_caps *host_given; /* a test's */

void jr_host_caps_set(const struct jr_host_caps *caps)
{
	host_given = caps;
	host_probed = 0;
}

/* A small file of /proc or /sys, NUL-terminated; 0 or -errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int r, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return r;
}

static bool have_cap_sys_resource(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_SYS_RESOURCE / 32].effective & (1U << (CAP_SYS_RESOURCE % 32));
}

/* jobrun-init sets soft = hard = v: above its own hard limit only with CAP_SYS_RESOURCE. */
static uint64_t rlimit_max(int resource, bool cap)
{
	struct rlimit rl;

	if (cap || getrlimit(resource, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
		return JR_UNLIMITED;
	return rl.rlim_max;
}

static void probe_rlimits(struct jr_host_caps *h)
{
	bool cap = have_cap_sys_resource();
	char buf[32];
	uint64_t v;

	h->stack = rlimit_max(RLIMIT_STACK, cap);
	h->fsize = rlimit_max(RLIMIT_FSIZE, cap);
	h->cpu_secs = rlimit_max(RLIMIT_CPU, cap);
	h->nofile = rlimit_max(RLIMIT_NOFILE, false); /* never above fs.nr_open */
	/* (at the most jobrun accepts already: no need to ask) */
	if (cap && h->nofile < jr_limit_defs[JR_L_OPEN_FILES].max &&
	    read_small("/proc/sys/fs/nr_open", buf, sizeof(buf)) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (jr_parse_uint(buf, &v) == 0 && v > h->nofile)
			h->nofile = v;
	}
}

/* Field n (0-based, space-separated) of a mountinfo line, unescaped ("\040" is a blank), in
 * out; the super options are field sep + 3 after the " - " separator. */
static bool mi_field(const char *line, int n, char *out, size_t len)
{
	const char *p = line;
	size_t o = 0;

	for (; n > 0 && p; n--) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return false;
	for (; *p && *p != ' ' && *p != '\n' && o + 1 < len; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
			out[o++] = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 3;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return true;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/* v2: memory.swap.max in jobrun's cgroup, or in any child of the root when jobrun is there
 * (the root has none). No child to ask: v2 accounts swap unless the kernel was told not to. */
static bool v2_swap_files(const char *mnt)
{
	char own[1024] = "", path[4096];
	struct dirent *d;
	bool found = true;
	DIR *dir;

	if (read_small("/proc/self/cgroup", own, sizeof(own)) == 0 && !strncmp(own, "0::", 3)) {
		memmove(own, own + 3, strlen(own + 3) + 1);
		own[strcspn(own, "\n")] = '\0';
	} else {
		own[0] = '\0';
	}
	if (own[0] && strcmp(own, "/")) {
		snprintf(path, sizeof(path), "%s%s/memory.swap.max", mnt, own);
		return access(path, F_OK) == 0;
	}
	dir = opendir(mnt);
	if (!dir)
		return true;
	while ((d = readdir(dir))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/memory.swap.max", mnt, d->d_name);
		found = access(path, F_OK) == 0;
		break;
	}
	closedir(dir);
	return found;
}

/* Does the memory controller count swap per cgroup? v1: the memsw files at the root of the
 * memory hierarchy; v2: memory.swap.max. */
static bool probe_swap_accounted(void)
{
	char *buf = malloc(1 << 16), mnt[4096], type[64], opts[1024], path[4200];
	char v2[4096] = "";
	bool found = false, v1 = false;
	char *line, *eol;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (!buf)
		return true;
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && got < (1 << 16) - 1 &&
	       (n = read(fd, buf + got, (1 << 16) - 1 - got)) > 0)
		got += (size_t)n;
	if (fd >= 0)
		close(fd);
	buf[got] = '\0';
	for (line = buf; *line && !v1; line = eol ? eol + 1 : line + strlen(line)) {
		const char *sep;

		eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		sep = strstr(line, " - ");
		if (!sep || !mi_field(line, 4, mnt, sizeof(mnt)) ||
		    !mi_field(sep + 3, 0, type, sizeof(type)) ||
		    !mi_field(sep + 3, 2, opts, sizeof(opts)))
			continue;
		if (!strcmp(type, "cgroup") && has_word(opts, "memory")) {
			v1 = true;
			snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", mnt);
			found = access(path, F_OK) == 0;
		} else if (!strcmp(type, "cgroup2") && !v2[0]) {
			snprintf(v2, sizeof(v2), "%s", mnt);
		}
	}
	free(buf);
	if (v1)
		return found;
	return v2[0] ? v2_swap_files(v2) : true; /* no memory controller: nothing to limit */
}

static void probe_swap(struct jr_host_caps *h)
{
	char buf[512];

	/* the header line, then one line a swap area */
	h->swap = read_small("/proc/swaps", buf, sizeof(buf)) == 0 && strchr(buf, '\n') &&
		  strchr(buf, '\n')[1];
	h->swap_accounted = h->swap ? probe_swap_accounted() : true;
}

static void probe_cpus(struct jr_host_caps *h)
{
	size_t size = CPU_ALLOC_SIZE(JR_CPUS_MAX);
	struct jr_cpuset online;
	cpu_set_t *aff = CPU_ALLOC(JR_CPUS_MAX);
	char buf[4096];
	unsigned c;

	memset(&h->cpus, 0, sizeof(h->cpus));
	if (aff && sched_getaffinity(0, size, aff) == 0) {
		for (c = 0; c < JR_CPUS_MAX; c++)
			if (CPU_ISSET_S(c, size, aff))
				h->cpus.bits[c / 64] |= 1ULL << (c % 64);
	} else {
		memset(&h->cpus, 0xff, sizeof(h->cpus));
	}
	if (aff)
		CPU_FREE(aff);
	if (read_small("/sys/devices/system/cpu/online", buf, sizeof(buf)) == 0 &&
	    jr_parse_cpulist(buf, &online, NULL) == 0)
		for (c = 0; c < JR_CPUS_MAX / 64; c++)
			h->cpus.bits[c] &= online.bits[c];
}

const struct jr_host_caps *jr_host_caps(unsigned what)
{
	if (host_given)
		return host_given;
	if ((what & JR_HOST_RLIMITS) && !(host_probed & JR_HOST_RLIMITS))
		probe_rlimits(&host);
	if ((what & JR_HOST_SWAP) && !(host_probed & JR_HOST_SWAP))
		probe_swap(&host);
	if ((what & JR_HOST_CPUS) && !(host_probed & JR_HOST_CPUS))
		probe_cpus(&host);
	host_probed |= what;
	return &host;
}

int jr_limit_host_check(enum jr_limit_key k, uint64_t v, char *why, size_t whylen)
{
	const struct jr_host_caps *h;
	uint64_t secs;

	switch (k) {
	case JR_L_OPEN_FILES:
		h = jr_host_caps(JR_HOST_RLIMITS);
		if (h->nofile == JR_UNLIMITED || v <= h->nofile)
			return 0;
		snprintf(why, whylen, "is above %llu, the most open files jobrun may give here (its "
			 "own hard RLIMIT_NOFILE)", (unsigned long long)h->nofile);
		return -EINVAL;
	case JR_L_CPU_TIME:
		/* jobrun-init sets RLIMIT_CPU to the limit + 2 s, a backstop for each process */
		h = jr_host_caps(JR_HOST_RLIMITS);
		if (v == JR_LIMIT_UNLIMITED || h->cpu_secs == JR_UNLIMITED)
			return 0;
		secs = v / 1000000 + 2;
		if (secs <= h->cpu_secs)
			return 0;
		snprintf(why, whylen, "is more than jobrun may give here: its own hard RLIMIT_CPU is "
			 "%llu s, and a CPU-time limit needs 2 s more than itself there",
			 (unsigned long long)h->cpu_secs);
		return -EINVAL;
	case JR_L_MEMORY:
	case JR_L_SWAP:
	case JR_L_CPUS:
	case JR_L_CPU_WEIGHT:
	case JR_L_WALL_TIME:
	case JR_L_PIDS:
	case JR_L_DISK:
	case JR_L_OUTPUT:
	case JR_L_IO_RBPS:
	case JR_L_IO_WBPS:
	case JR_L_IO_RIOPS:
	case JR_L_IO_WIOPS:
	case JR_L_N:
		return 0;
	}
	return 0;
}

/* ---- the built-in configuration -------------------------------------------------------- */

static const struct builtin_profile {
	const char *name;
	const char *limits[JR_L_N][2]; /* { default, maximum }; NULL: none */
	uint64_t max_entries, max_name;
} builtin_profiles[] = {
	{ "grader", {
		[JR_L_MEMORY] = { "256M", "2G" },
		[JR_L_SWAP] = { "0", "0" },
		[JR_L_CPUS] = { "1", "2" },
		[JR_L_CPU_WEIGHT] = { NULL, "100" },
		[JR_L_CPU_TIME] = { "10s", "60s" },
		[JR_L_WALL_TIME] = { "30s", "5m" },
		[JR_L_PIDS] = { "64", "512" },
		[JR_L_DISK] = { "256M", "1G" },
		[JR_L_OUTPUT] = { "64M", "256M" },
		[JR_L_OPEN_FILES] = { "256", "4096" },
	}, 10000, 255 },
	/* A stub of the future HPC profile: today only its limits differ from grader's. */
	{ "hpc", {
		[JR_L_MEMORY] = { "4G", "100%" },
		[JR_L_SWAP] = { "0", NULL },
		[JR_L_CPUS] = { "1", NULL },
		[JR_L_CPU_WEIGHT] = { NULL, "100" },
		[JR_L_WALL_TIME] = { "24h", "168h" },
		[JR_L_PIDS] = { "4096", "65536" },
		[JR_L_DISK] = { "1G", "16G" },
		[JR_L_OUTPUT] = { "256M", "1G" },
		[JR_L_OPEN_FILES] = { "1024", "65536" },
	}, 100000, 255 },
};

static const char *const builtin_sys_binds[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
};

static const char *const builtin_etc_files[] = {
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
	"/etc/localtime", "/etc/nsswitch.conf", "/etc/locale.alias", "/etc/mime.types",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void limit_free(struct jr_limit *l)
{
	free(l->text);
	memset(l, 0, sizeof(*l));
}

static int limit_set(struct jr_limit *l, const char *text, uint64_t value, int line)
{
	char *t = text ? strdup(text) : NULL;

	if (text && !t)
		return -ENOMEM;
	free(l->text);
	l->text = t;
	l->value = value;
	l->line = line;
	return 0;
}

static void profile_free(struct jr_profile *p)
{
	int k;

	free(p->name);
	for (k = 0; k < JR_L_N; k++) {
		limit_free(&p->defaults[k]);
		limit_free(&p->maxima[k]);
	}
	jr_strv_free(&p->system_binds);
	jr_strv_free(&p->etc_files);
	jr_strv_free(&p->job_profiles);
	free(p->network);
	memset(p, 0, sizeof(*p));
}

static int strv_copy(struct jr_strv *dst, const struct jr_strv *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (jr_strv_push(dst, src->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int profile_copy(struct jr_profile *dst, const struct jr_profile *src, const char *name)
{
	int k, r = 0;

	memset(dst, 0, sizeof(*dst));
	dst->name = strdup(name);
	dst->network = strdup(src->network);
	if (!dst->name || !dst->network)
		r = -ENOMEM;
	for (k = 0; k < JR_L_N && !r; k++) {
		r |= limit_set(&dst->defaults[k], src->defaults[k].text, src->defaults[k].value,
			       src->defaults[k].line);
		r |= limit_set(&dst->maxima[k], src->maxima[k].text, src->maxima[k].value,
			       src->maxima[k].line);
	}
	if (!r)
		r = strv_copy(&dst->system_binds, &src->system_binds);
	if (!r)
		r = strv_copy(&dst->etc_files, &src->etc_files);
	/* job_profiles is not inherited: by default a profile's jobs may name only it */
	if (!r)
		r = jr_strv_push(&dst->job_profiles, name);
	dst->max_entries = src->max_entries;
	dst->max_name = src->max_name;
	if (r)
		profile_free(dst);
	return r ? -ENOMEM : 0;
}

static struct jr_profile *profile_add(struct jr_conf *conf)
{
	struct jr_profile *v = realloc(conf->profiles, (conf->nprofiles + 1) * sizeof(*v));

	if (!v)
		return NULL;
	conf->profiles = v;
	memset(&v[conf->nprofiles], 0, sizeof(*v));
	return &v[conf->nprofiles++];
}

static int builtin_profile(struct jr_profile *p, const struct builtin_profile *b)
{
	char why[128];
	size_t i;
	int k;

	p->name = strdup(b->name);
	p->network = strdup("none");
	if (!p->name || !p->network)
		return -ENOMEM;
	for (k = 0; k < JR_L_N; k++) {
		const char *d = b->limits[k][0], *m = b->limits[k][1];
		uint64_t v = 0;

		/* the tables above are correct by construction; a failure here is a bug */
		if (d && jr_limit_parse((enum jr_limit_key)k, d, JR_LIMIT_ADMIN, &v, why,
					sizeof(why)) < 0)
			return -EINVAL;
		if (d && limit_set(&p->defaults[k], d, v, 0) < 0)
			return -ENOMEM;
		if (m && jr_limit_parse((enum jr_limit_key)k, m, JR_LIMIT_ADMIN | JR_LIMIT_MAXIMUM,
					&v, why, sizeof(why)) < 0)
			return -EINVAL;
		if (m && limit_set(&p->maxima[k], m, v, 0) < 0)
			return -ENOMEM;
		/* hpc's 4G on a host with less RAM than that (its maximum, 100%): the maximum, or
		 * no jobrun.conf could be loaded there (check_profiles) */
		if (d && m && p->defaults[k].value > p->maxima[k].value &&
		    limit_set(&p->defaults[k], m, p->maxima[k].value, 0) < 0)
			return -ENOMEM;
	}
	for (i = 0; i < NELEM(builtin_sys_binds); i++)
		if (jr_strv_push(&p->system_binds, builtin_sys_binds[i]) < 0)
			return -ENOMEM;
	for (i = 0; i < NELEM(builtin_etc_files); i++)
		if (jr_strv_push(&p->etc_files, builtin_etc_files[i]) < 0)
			return -ENOMEM;
	if (jr_strv_push(&p->job_profiles, b->name) < 0)
		return -ENOMEM;
	p->max_entries = b->max_entries;
	p->max_name = b->max_name;
	return 0;
}

void jr_conf_free(struct jr_conf *conf)
{
	size_t i;

	free(conf->file);
	free(conf->runtime_dir);
	free(conf->state_dir);
	free(conf->cgroup_parent);
	free(conf->hostname);
	free(conf->default_profile);
	for (i = 0; i < conf->nprofiles; i++)
		profile_free(&conf->profiles[i]);
	free(conf->profiles);
	free(conf->serve.socket);
	free(conf->serve.spool);
	for (i = 0; i < conf->serve.nclients; i++) {
		free(conf->serve.clients[i].name);
		free(conf->serve.clients[i].uids);
		free(conf->serve.clients[i].gids);
		jr_strv_free(&conf->serve.clients[i].profiles);
	}
	free(conf->serve.clients);
	jr_strv_free(&conf->fetch.allow);
	free(conf->fetch.ca_file);
	free(conf->isolate.box_root);
	for (i = 0; i < conf->nreports; i++) {
		struct jr_report_target *t = &conf->reports[i];

		free(t->name);
		free(t->url);
		free(t->bearer_token_file);
		free(t->client_cert);
		free(t->client_key);
		free(t->ca_file);
	}
	free(conf->reports);
	memset(conf, 0, sizeof(*conf));
}

int jr_conf_builtin(struct jr_conf *conf, struct jr_err *err)
{
	size_t i;
	int r = 0;

	memset(conf, 0, sizeof(*conf));
	conf->runtime_dir = strdup("/run/jobrun");
	conf->state_dir = strdup("/var/lib/jobrun");
	conf->hostname = strdup("jobrun");
	conf->default_profile = strdup("grader");
	conf->uid_base = 1500000000;
	conf->uid_count = 10000;
	conf->serve.queue_max = 1000;
	conf->serve.grace_usec = 30 * 1000000ULL;
	conf->serve.keep_results = 1000;
	conf->fetch.connect_timeout_usec = 5 * 1000000ULL;
	conf->fetch.timeout_usec = 60 * 1000000ULL;
	conf->isolate.box_root = strdup("/var/lib/jobrun/isolate");
	conf->isolate.first_uid = 1400000000;
	conf->isolate.num_boxes = 100000;
	if (!conf->runtime_dir || !conf->state_dir || !conf->hostname || !conf->default_profile ||
	    !conf->isolate.box_root)
		r = -ENOMEM;
	for (i = 0; i < NELEM(builtin_profiles) && !r; i++) {
		struct jr_profile *p = profile_add(conf);

		r = p ? builtin_profile(p, &builtin_profiles[i]) : -ENOMEM;
	}
	if (r) {
		jr_conf_free(conf);
		return r == -ENOMEM ? jr_err_set(err, ENOMEM, "built-in configuration")
				    : jr_err_set(err, 0, "built-in configuration: a bad limit "
							 "(the host's RAM unknown?)");
	}
	return 0;
}

const struct jr_profile *jr_conf_profile(const struct jr_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; name && i < conf->nprofiles; i++)
		if (!strcmp(conf->profiles[i].name, name))
			return &conf->profiles[i];
	return NULL;
}

/* ---- jobrun.conf ------------------------------------------------------------------------ */

#define STR(name) CFG_STR_CB(name, NULL, CFGF_NODEFAULT, jr_cfgp_value_cb)
#define LIST(name) CFG_STR_LIST_CB(name, NULL, CFGF_NODEFAULT, jr_cfgp_value_cb)
#define SEC_CB(name, opts, flags, cb) \
	{ name, 0, CFGT_SEC, 0, 0, flags, opts, { 0, 0, cfg_false, 0, 0 }, 0, { 0 }, 0, cb, 0, 0, 0 }

static int profile_section_cb(cfg_t *cfg, cfg_opt_t *opt);

static cfg_opt_t conf_limit_opts[JR_L_N + 1]; /* jr_cfgp_limit_opts: from jr_limit_defs */

static cfg_opt_t profile_opts[] = {
	LIST("system_binds"),
	LIST("etc_files"),
	STR("network"),
	STR("max_entries"),
	STR("max_name"),
	LIST("job_profiles"),
	SEC_CB("defaults", conf_limit_opts, CFGF_NODEFAULT, jr_cfgp_section_cb),
	SEC_CB("maxima", conf_limit_opts, CFGF_NODEFAULT, jr_cfgp_section_cb),
	CFG_END(),
};

static cfg_opt_t client_opts[] = {
	LIST("users"),
	LIST("groups"),
	LIST("profiles"),
	CFG_END(),
};

static int client_section_cb(cfg_t *cfg, cfg_opt_t *opt);

static cfg_opt_t serve_opts[] = {
	STR("socket"),
	STR("spool"),
	STR("slots"),
	STR("queue_max"),
	STR("grace"),
	STR("keep_results"),
	SEC_CB("client", client_opts,
	       CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES | CFGF_NODEFAULT, client_section_cb),
	CFG_END(),
};

static cfg_opt_t report_opts[] = {
	STR("url"),
	STR("bearer_token_file"),
	STR("client_cert"),
	STR("client_key"),
	STR("ca_file"),
	STR("tls_verify"),
	STR("connect_timeout"),
	STR("timeout"),
	STR("retry_min"),
	STR("retry_max"),
	STR("give_up"),
	CFG_END(),
};

static int report_section_cb(cfg_t *cfg, cfg_opt_t *opt);

static cfg_opt_t fetch_opts[] = {
	LIST("allow"),
	STR("allow_http"),
	STR("connect_timeout"),
	STR("timeout"),
	STR("ca_file"),
	CFG_END(),
};

static cfg_opt_t isolate_opts[] = {
	STR("box_root"),
	STR("first_uid"),
	STR("num_boxes"),
	CFG_END(),
};

static cfg_opt_t conf_opts[] = {
	STR("runtime_dir"),
	STR("state_dir"),
	STR("cgroup_parent"),
	STR("hostname"),
	STR("uid_base"),
	STR("uid_count"),
	STR("default_profile"),
	SEC_CB("profile", profile_opts,
	       CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES | CFGF_NODEFAULT, profile_section_cb),
	SEC_CB("serve", serve_opts, CFGF_NODEFAULT, jr_cfgp_section_cb),
	SEC_CB("fetch", fetch_opts, CFGF_NODEFAULT, jr_cfgp_section_cb),
	SEC_CB("isolate", isolate_opts, CFGF_NODEFAULT, jr_cfgp_section_cb),
	SEC_CB("report", report_opts,
	       CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES | CFGF_NODEFAULT, report_section_cb),
	CFG_END(),
};

/* The parse under way, for profile_section_cb (libconfuse gives callbacks no user pointer). */
static struct jr_cfgp *conf_parse;

/* The title of the section just read (profile NAME, client NAME): a plain name. */
static int titled_section(cfg_t *cfg, cfg_opt_t *opt, const char *what)
{
	unsigned n = cfg_opt_size(opt);
	cfg_t *sec = n ? cfg_opt_getnsec(opt, n - 1) : NULL;
	const char *title = sec ? cfg_title(sec) : NULL;
	const char *why = jr_check_profile_name(title);
	char q[96];

	if (why)
		return jr_cfgp_fail(conf_parse, cfg->line, "%s %s: the name %s", what,
				    jr_quote_value(title, q, sizeof(q)), why);
	return 0;
}

static int profile_section_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	return titled_section(cfg, opt, "profile");
}

/* client NAME { }: one section a name, any number of names. */
static int client_section_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	return titled_section(cfg, opt, "serve: client");
}

/* report NAME { }: a report target. */
static int report_section_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	return titled_section(cfg, opt, "report");
}

static int absolute_path_ok(const char *s)
{
	const char *p;
	size_t n = strlen(s);

	if (n < 1 || n > JR_REQ_MAX_PATH || s[0] != '/')
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	for (p = s; *p;) {
		size_t c;

		while (*p == '/')
			p++;
		c = strcspn(p, "/");
		if (c == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += c;
	}
	return 1;
}

/* Per value, with its line, while libconfuse reads it. */
static int conf_check_value(struct jr_cfgp *p, cfg_t *sec, cfg_opt_t *opt, const char *value,
			    int line)
{
	const char *key = opt->name, *s = cfg_name(sec);
	const char *prof = strcmp(s, "profile") ? NULL : cfg_title(sec);
	char q[96];

	jr_quote_value(value, q, sizeof(q));
	if (!strcmp(key, "system_binds")) {
		const char *own = jr_plan_own_path(value, 1);

		if (!absolute_path_ok(value))
			return jr_cfgp_fail(p, line, "profile %s: system_binds entry %s: must be an "
					    "absolute path without '..'", prof, q);
		if (own)
			return jr_cfgp_fail(p, line, "profile %s: system_binds entry %s: jobrun "
					    "makes %s itself", prof, q, own);
	} else if (!strcmp(key, "etc_files")) {
		if (!absolute_path_ok(value) || strncmp(value, "/etc/", 5) || !value[5])
			return jr_cfgp_fail(p, line, "profile %s: etc_files entry %s: must be a "
					    "path below /etc/ without '..'", prof, q);
		if (jr_plan_own_path(value, 1))
			return jr_cfgp_fail(p, line, "profile %s: etc_files entry %s: jobrun writes "
					    "that file itself", prof, q);
		if (strstr(value, "shadow") || !strncmp(value, "/etc/sudoers", 12) ||
		    !strncmp(value, "/etc/ssh", 8))
			return jr_cfgp_fail(p, line, "profile %s: etc_files entry %s: a secret of the "
					    "host: never bound into jobs", prof, q);
	} else if (!strcmp(key, "job_profiles")) {
		const char *why = jr_check_profile_name(value);

		if (why)
			return jr_cfgp_fail(p, line, "profile %s: job_profiles entry %s: %s", prof, q,
					    why);
	}
	return 0;
}

static int conf_fail(struct jr_cfgp *p, int line, const char *key, const char *value,
		     const char *why)
{
	char q[96];

	return jr_cfgp_fail(p, line, "%s = %s: %s", key, jr_quote_value(value, q, sizeof(q)), why);
}

static int set_str(char **dst, const char *s)
{
	char *t = strdup(s);

	if (!t)
		return -ENOMEM;
	free(*dst);
	*dst = t;
	return 0;
}

static int read_globals(struct jr_cfgp *p, cfg_t *cfg, struct jr_conf *conf)
{
	static const char *const dirs[] = { "runtime_dir", "state_dir" };
	uint64_t base = conf->uid_base, count = conf->uid_count;
	const char *s;
	size_t i;
	int line;

	for (i = 0; i < NELEM(dirs); i++) {
		s = cfg_getstr(cfg, dirs[i]);
		if (!s)
			continue;
		line = jr_cfgp_line(p, cfg, dirs[i]);
		if (!absolute_path_ok(s))
			return conf_fail(p, line, dirs[i], s, "must be an absolute path without '..'");
		if (set_str(i == 0 ? &conf->runtime_dir : &conf->state_dir, s) < 0)
			return -ENOMEM;
	}
	if ((s = cfg_getstr(cfg, "cgroup_parent"))) {
		line = jr_cfgp_line(p, cfg, "cgroup_parent");
		if (!absolute_path_ok(s) || strlen(s) < 2)
			return conf_fail(p, line, "cgroup_parent", s,
					 "must be an absolute cgroup path like /jobs, without '..'");
		if (set_str(&conf->cgroup_parent, s) < 0)
			return -ENOMEM;
	}
	if ((s = cfg_getstr(cfg, "hostname"))) {
		line = jr_cfgp_line(p, cfg, "hostname");
		if (!jr_valid_hostname(s))
			return conf_fail(p, line, "hostname", s,
					 "must be a host name (letters, digits, '-', '.'; 64 at most)");
		if (set_str(&conf->hostname, s) < 0)
			return -ENOMEM;
	}
	if ((s = cfg_getstr(cfg, "uid_base"))) {
		line = jr_cfgp_line(p, cfg, "uid_base");
		if (jr_parse_uint(s, &base) < 0 || base == 0 || base >= UINT32_MAX)
			return conf_fail(p, line, "uid_base", s, "must be a uid above 0");
	}
	if ((s = cfg_getstr(cfg, "uid_count"))) {
		line = jr_cfgp_line(p, cfg, "uid_count");
		if (jr_parse_uint(s, &count) < 0 || count == 0 || count >= UINT32_MAX)
			return conf_fail(p, line, "uid_count", s, "must be a count above 0");
	}
	if (base + 2 * count >= UINT32_MAX) {
		line = jr_cfgp_line(p, cfg, "uid_count");
		if (!line)
			line = jr_cfgp_line(p, cfg, "uid_base");
		return jr_cfgp_fail(p, line, "uid_base + 2 * uid_count must stay below 2^32 (jobs "
					     "use uid_count uids from uid_base, jobrun-init the next "
					     "uid_count)");
	}
	conf->uid_base = (uid_t)base;
	conf->uid_count = (unsigned)count;
	if ((s = cfg_getstr(cfg, "default_profile"))) {
		const char *why = jr_check_profile_name(s);

		line = jr_cfgp_line(p, cfg, "default_profile");
		if (why)
			return conf_fail(p, line, "default_profile", s, why);
		if (set_str(&conf->default_profile, s) < 0)
			return -ENOMEM;
		conf->default_profile_line = line;
	}
	return 0;
}

static int read_limits(struct jr_cfgp *p, cfg_t *psec, const char *secname,
		       struct jr_profile *prof)
{
	int maxima = !strcmp(secname, "maxima");
	cfg_t *sec = cfg_size(psec, secname) ? cfg_getsec(psec, secname) : NULL;
	int k;

	for (k = 0; sec && k < JR_L_N; k++) {
		const char *name = jr_limit_name((enum jr_limit_key)k);
		const char *s = cfg_getstr(sec, name);
		int line = jr_cfgp_line(p, sec, name);
		struct jr_limit *l = maxima ? &prof->maxima[k] : &prof->defaults[k];
		char why[128], q[96];
		uint64_t v;

		if (!s)
			continue;
		if (jr_limit_parse((enum jr_limit_key)k, s,
				   JR_LIMIT_ADMIN | (maxima ? JR_LIMIT_MAXIMUM : 0), &v, why,
				   sizeof(why)) < 0)
			return jr_cfgp_fail(p, line, "profile %s: %s: %s = %s %s", prof->name,
					    secname, name, jr_quote_value(s, q, sizeof(q)), why);
		/* a maximum of "unlimited" is no maximum */
		if (limit_set(l, maxima && v == JR_LIMIT_UNLIMITED ? NULL : s, v, line) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A list the section gives replaces the whole list. */
static int read_list(cfg_t *sec, const char *key, struct jr_strv *list)
{
	unsigned i, n = cfg_size(sec, key);

	if (!n)
		return 0;
	jr_strv_free(list);
	for (i = 0; i < n; i++)
		if (jr_strv_push(list, cfg_getnstr(sec, key, i)) < 0)
			return -ENOMEM;
	return 0;
}

static int read_profile(struct jr_cfgp *p, cfg_t *sec, struct jr_conf *conf,
			const struct jr_conf *builtin)
{
	const char *name = cfg_title(sec);
	struct jr_profile *prof = (struct jr_profile *)jr_conf_profile(conf, name);
	const char *s;
	int line, r;

	if (!prof) {
		const struct jr_profile *base = jr_conf_profile(builtin, name);

		if (!base)
			base = jr_conf_profile(builtin, "grader");
		prof = profile_add(conf);
		if (!prof || profile_copy(prof, base, name) < 0) {
			if (prof)
				conf->nprofiles--;
			return -ENOMEM;
		}
	}
	if (read_list(sec, "system_binds", &prof->system_binds) < 0 ||
	    read_list(sec, "etc_files", &prof->etc_files) < 0 ||
	    read_list(sec, "job_profiles", &prof->job_profiles) < 0)
		return -ENOMEM;
	if (cfg_size(sec, "job_profiles"))
		prof->job_profiles_line = jr_cfgp_line(p, sec, "job_profiles");
	if ((s = cfg_getstr(sec, "network"))) {
		line = jr_cfgp_line(p, sec, "network");
		if (strcmp(s, "none")) {
			char q[96];

			return jr_cfgp_fail(p, line, "profile %s: network = %s: only \"none\" is "
					    "supported for now (the job's own network namespace, "
					    "with lo only)", name, jr_quote_value(s, q, sizeof(q)));
		}
		if (set_str(&prof->network, s) < 0)
			return -ENOMEM;
	}
	if ((s = cfg_getstr(sec, "max_entries"))) {
		uint64_t v;

		line = jr_cfgp_line(p, sec, "max_entries");
		if (jr_parse_uint(s, &v) < 0 || v < 1 || v > 100000000)
			return jr_cfgp_fail(p, line, "profile %s: max_entries must be a number from 1 "
					    "to 100000000", name);
		prof->max_entries = v;
	}
	if ((s = cfg_getstr(sec, "max_name"))) {
		uint64_t v;

		line = jr_cfgp_line(p, sec, "max_name");
		if (jr_parse_uint(s, &v) < 0 || v < 1 || v > 4096)
			return jr_cfgp_fail(p, line, "profile %s: max_name must be a number of bytes "
					    "from 1 to 4096", name);
		prof->max_name = v;
	}
	r = read_limits(p, sec, "defaults", prof);
	if (!r)
		r = read_limits(p, sec, "maxima", prof);
	return r;
}

/* Every default within its maximum; every job_profiles entry a profile. */
static int check_profiles(struct jr_cfgp *p, const struct jr_conf *conf)
{
	size_t i, j;
	int k;

	for (i = 0; i < conf->nprofiles; i++) {
		const struct jr_profile *prof = &conf->profiles[i];

		for (j = 0; j < prof->job_profiles.n; j++)
			if (!jr_conf_profile(conf, prof->job_profiles.v[j]))
				return jr_cfgp_fail(p, prof->job_profiles_line,
						    "profile %s: job_profiles entry %s: no such "
						    "profile", prof->name, prof->job_profiles.v[j]);
		for (k = 0; k < JR_L_N; k++) {
			const struct jr_limit *d = &prof->defaults[k], *m = &prof->maxima[k];

			if (d->text && m->text && d->value > m->value)
				return jr_cfgp_fail(p, d->line ? d->line : m->line,
						    "profile %s: the default %s = %s is above its "
						    "maximum %s", prof->name,
						    jr_limit_name((enum jr_limit_key)k), d->text,
						    m->text);
		}
	}
	return 0;
}

/* The id of name in an /etc/passwd-like file (name:x:ID:...), or a number as it is. */
static int lookup_id(const char *file, const char *name, uint64_t *id)
{
	char line[1024];
	size_t n = strlen(name);
	FILE *f;
	int r = -ENOENT;

	if (jr_parse_uint(name, id) == 0)
		return *id < UINT32_MAX ? 0 : -ERANGE;
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (r && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, name, n) || line[n] != ':' || !(p = strchr(line + n + 1, ':')))
			continue;
		errno = 0;
		*id = strtoull(p + 1, &end, 10);
		if (end != p + 1 && *end == ':' && !errno && *id < UINT32_MAX)
			r = 0;
	}
	fclose(f);
	return r;
}

static int read_ids(struct jr_cfgp *p, cfg_t *sec, const char *key, const char *file,
		    uint32_t **ids, size_t *nids)
{
	unsigned i, n = cfg_size(sec, key);
	int line = jr_cfgp_line(p, sec, key);

	if (!n)
		return 0;
	*ids = calloc(n, sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *s = cfg_getnstr(sec, key, i);
		uint64_t id;
		char q[96];

		if (lookup_id(file, s, &id) < 0)
			return jr_cfgp_fail(p, line, "serve: client %s: %s entry %s: no such %s in %s "
					    "(a number is taken as it is)", cfg_title(sec), key,
					    jr_quote_value(s, q, sizeof(q)),
					    !strcmp(key, "users") ? "user" : "group", file);
		(*ids)[(*nids)++] = (uint32_t)id;
	}
	return 0;
}

static int read_serve_number(struct jr_cfgp *p, cfg_t *sec, const char *key, uint64_t min,
			     uint64_t max, unsigned *out)
{
	const char *s = cfg_getstr(sec, key);
	uint64_t v;

	if (!s)
		return 0;
	if (jr_parse_uint(s, &v) < 0 || v < min || v > max) {
		char why[96];

		snprintf(why, sizeof(why), "must be a number from %llu to %llu",
			 (unsigned long long)min, (unsigned long long)max);
		return conf_fail(p, jr_cfgp_line(p, sec, key), key, s, why);
	}
	*out = (unsigned)v;
	return 0;
}

static int read_serve(struct jr_cfgp *p, cfg_t *cfg, struct jr_conf *conf)
{
	struct jr_serve_conf *sc = &conf->serve;
	cfg_t *sec = cfg_size(cfg, "serve") ? cfg_getsec(cfg, "serve") : NULL;
	const char *s;
	unsigned i, j, n;
	int r;

	if (!sec)
		return 0;
	if ((s = cfg_getstr(sec, "socket"))) {
		if (!absolute_path_ok(s) || strlen(s) >= 108)
			return conf_fail(p, jr_cfgp_line(p, sec, "socket"), "socket", s,
					 "must be an absolute path without '..', shorter than 108 "
					 "bytes (a UNIX socket's address)");
		if (set_str(&sc->socket, s) < 0)
			return -ENOMEM;
	}
	if ((s = cfg_getstr(sec, "spool"))) {
		if (!absolute_path_ok(s) || strlen(s) < 2)
			return conf_fail(p, jr_cfgp_line(p, sec, "spool"), "spool", s,
					 "must be an absolute path without '..'");
		if (set_str(&sc->spool, s) < 0)
			return -ENOMEM;
	}
	if ((r = read_serve_number(p, sec, "slots", 0, 4096, &sc->slots)) < 0 ||
	    (r = read_serve_number(p, sec, "queue_max", 0, 1000000, &sc->queue_max)) < 0 ||
	    (r = read_serve_number(p, sec, "keep_results", 0, 1000000, &sc->keep_results)) < 0)
		return r;
	if ((s = cfg_getstr(sec, "grace"))) {
		char why[128];
		uint64_t v;

		if (jr_limit_parse(JR_L_WALL_TIME, s, 0, &v, why, sizeof(why)) < 0 ||
		    v == JR_LIMIT_UNLIMITED)
			return conf_fail(p, jr_cfgp_line(p, sec, "grace"), "grace", s,
					 "must be a duration (30s, 2m)");
		sc->grace_usec = v;
	}
	n = cfg_size(sec, "client");
	if (n && !(sc->clients = calloc(n, sizeof(*sc->clients))))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cfg_t *c = cfg_getnsec(sec, "client", i);
		struct jr_serve_client *cl = &sc->clients[sc->nclients++];
		unsigned np = cfg_size(c, "profiles");

		cl->line = c->line;
		if (!(cl->name = strdup(cfg_title(c))))
			return -ENOMEM;
		if ((r = read_ids(p, c, "users", "/etc/passwd", (uint32_t **)&cl->uids,
				  &cl->nuids)) < 0 ||
		    (r = read_ids(p, c, "groups", "/etc/group", (uint32_t **)&cl->gids,
				  &cl->ngids)) < 0)
			return r;
		if (!cl->nuids && !cl->ngids)
			return jr_cfgp_fail(p, c->line, "serve: client %s: names no users and no "
					    "groups", cl->name);
		if (!np)
			return jr_cfgp_fail(p, c->line, "serve: client %s: profiles = {...} is "
					    "missing (the profiles its jobs may use)", cl->name);
		for (j = 0; j < np; j++) {
			const char *prof = cfg_getnstr(c, "profiles", j);

			if (!jr_conf_profile(conf, prof))
				return jr_cfgp_fail(p, jr_cfgp_line(p, c, "profiles"),
						    "serve: client %s: profiles entry %s: no such "
						    "profile", cl->name, prof);
			if (jr_strv_push(&cl->profiles, prof) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* A duration key of a report section: 0 when absent (*out unchanged). */
static int read_report_time(struct jr_cfgp *p, cfg_t *sec, const char *name, const char *key,
			    uint64_t *out)
{
	const char *s = cfg_getstr(sec, key);
	char why[128], q[96];
	uint64_t v;

	if (!s)
		return 0;
	if (jr_limit_parse(JR_L_WALL_TIME, s, 0, &v, why, sizeof(why)) < 0 ||
	    v == JR_LIMIT_UNLIMITED)
		return jr_cfgp_fail(p, jr_cfgp_line(p, sec, key), "report %s: %s = %s: must be a "
				    "duration (500ms, 30s, 2m, 24h)", name, key,
				    jr_quote_value(s, q, sizeof(q)));
	*out = v;
	return 0;
}

/* A path key of a report section (a file of the admin's). */
static int read_report_path(struct jr_cfgp *p, cfg_t *sec, const char *name, const char *key,
			    char **out)
{
	const char *s = cfg_getstr(sec, key);
	char q[96];

	if (!s)
		return 0;
	if (!absolute_path_ok(s))
		return jr_cfgp_fail(p, jr_cfgp_line(p, sec, key), "report %s: %s = %s: must be an "
				    "absolute path without '..'", name, key,
				    jr_quote_value(s, q, sizeof(q)));
	return set_str(out, s);
}

/* http:// or https://, a host, no credentials, no whitespace or control characters. */
static const char *report_url_why(const char *u)
{
	const char *h, *p;

	if (!strncmp(u, "https://", 8))
		h = u + 8;
	else if (!strncmp(u, "http://", 7))
		h = u + 7;
	else
		return "must start with https:// or http://";
	if (strlen(u) > 2048)
		return "is longer than 2048 bytes";
	for (p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return "holds a space or a control character";
	if (!*h || *h == '/' || *h == ':')
		return "names no host";
	if (memchr(h, '@', strcspn(h, "/?#")))
		return "holds credentials (user@host): use bearer_token_file or client_cert";
	return NULL;
}

static int read_reports(struct jr_cfgp *p, cfg_t *cfg, struct jr_conf *conf)
{
	unsigned i, n = cfg_size(cfg, "report");
	int r;

	if (n && !(conf->reports = calloc(n, sizeof(*conf->reports))))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cfg_t *c = cfg_getnsec(cfg, "report", i);
		struct jr_report_target *t = &conf->reports[conf->nreports++];
		const char *url = cfg_getstr(c, "url"), *v = cfg_getstr(c, "tls_verify"), *why;
		char q[96];

		t->line = c->line;
		t->tls_verify = true;
		t->connect_timeout_usec = 5 * 1000000ULL;
		t->timeout_usec = 30 * 1000000ULL;
		t->retry_min_usec = 1000000ULL;
		t->retry_max_usec = 300 * 1000000ULL;
		t->give_up_usec = 24 * 3600 * 1000000ULL;
		if (!(t->name = strdup(cfg_title(c))))
			return -ENOMEM;
		if (!url)
			return jr_cfgp_fail(p, c->line, "report %s: url = \"https://...\" is missing",
					    t->name);
		if ((why = report_url_why(url)))
			return jr_cfgp_fail(p, jr_cfgp_line(p, c, "url"), "report %s: url = %s %s",
					    t->name, jr_quote_value(url, q, sizeof(q)), why);
		if ((r = set_str(&t->url, url)) < 0 ||
		    (r = read_report_path(p, c, t->name, "bearer_token_file",
					  &t->bearer_token_file)) < 0 ||
		    (r = read_report_path(p, c, t->name, "client_cert", &t->client_cert)) < 0 ||
		    (r = read_report_path(p, c, t->name, "client_key", &t->client_key)) < 0 ||
		    (r = read_report_path(p, c, t->name, "ca_file", &t->ca_file)) < 0 ||
		    (r = read_report_time(p, c, t->name, "connect_timeout",
					  &t->connect_timeout_usec)) < 0 ||
		    (r = read_report_time(p, c, t->name, "timeout", &t->timeout_usec)) < 0 ||
		    (r = read_report_time(p, c, t->name, "retry_min", &t->retry_min_usec)) < 0 ||
		    (r = read_report_time(p, c, t->name, "retry_max", &t->retry_max_usec)) < 0 ||
		    (r = read_report_time(p, c, t->name, "give_up", &t->give_up_usec)) < 0)
			return r;
		if (v && !strcmp(v, "no"))
			t->tls_verify = false;
		else if (v && strcmp(v, "yes"))
			return jr_cfgp_fail(p, jr_cfgp_line(p, c, "tls_verify"), "report %s: "
					    "tls_verify = %s: must be \"yes\" or \"no\"", t->name,
					    jr_quote_value(v, q, sizeof(q)));
		if (t->client_key && !t->client_cert)
			return jr_cfgp_fail(p, jr_cfgp_line(p, c, "client_key"), "report %s: "
					    "client_key without client_cert", t->name);
		if (t->retry_max_usec < t->retry_min_usec)
			return jr_cfgp_fail(p, jr_cfgp_line(p, c, "retry_max"), "report %s: "
					    "retry_max is below retry_min", t->name);
	}
	return 0;
}

const struct jr_report_target *jr_conf_report(const struct jr_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; name && i < conf->nreports; i++)
		if (!strcmp(conf->reports[i].name, name))
			return &conf->reports[i];
	return NULL;
}

/* An allow entry of fetch { }: a host name or address, with an optional port. */
static const char *fetch_allow_why(const char *e)
{
	const char *port = NULL, *h = e, *end;
	uint64_t v;

	if (strchr(e, '/'))
		return "must be a host name or address, with an optional :PORT (not a URL)";
	if (e[0] == '[') { /* [v6addr] or [v6addr]:port */
		end = strchr(e, ']');
		if (!end || end == e + 1 || strspn(e + 1, "0123456789abcdefABCDEF:.") !=
						    (size_t)(end - e - 1))
			return "must be an IPv6 address in brackets";
		if (end[1] && end[1] != ':')
			return "has something after the ']' that is not :PORT";
		port = end[1] ? end + 2 : NULL;
	} else {
		size_t hl = strcspn(h, ":");

		if (!hl || strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				     ".-") != hl)
			return "must be a host name or address, with an optional :PORT (no scheme, "
			       "path or '*')";
		port = h[hl] ? h + hl + 1 : NULL;
	}
	if (port && (jr_parse_uint(port, &v) < 0 || v < 1 || v > 65535))
		return "has a port that is not a number from 1 to 65535";
	return NULL;
}

static int read_fetch_time(struct jr_cfgp *p, cfg_t *sec, const char *key, uint64_t *out)
{
	const char *s = cfg_getstr(sec, key);
	char why[128];
	uint64_t v;

	if (!s)
		return 0;
	if (jr_limit_parse(JR_L_WALL_TIME, s, 0, &v, why, sizeof(why)) < 0 ||
	    v == JR_LIMIT_UNLIMITED || v < 1000 || v > 24 * 3600 * 1000000ULL)
		return conf_fail(p, jr_cfgp_line(p, sec, key), key, s,
				 "must be a duration from 1ms to 24h (5s, 2m)");
	*out = v;
	return 0;
}

static int read_fetch(struct jr_cfgp *p, cfg_t *cfg, struct jr_conf *conf)
{
	struct jr_fetch_conf *fc = &conf->fetch;
	cfg_t *sec = cfg_size(cfg, "fetch") ? cfg_getsec(cfg, "fetch") : NULL;
	const char *s;
	unsigned i, n;
	int r;

	if (!sec)
		return 0;
	n = cfg_size(sec, "allow");
	for (i = 0; i < n; i++) {
		const char *e = cfg_getnstr(sec, "allow", i), *why = fetch_allow_why(e);
		char q[96];

		if (why)
			return jr_cfgp_fail(p, jr_cfgp_line(p, sec, "allow"), "fetch: allow entry %s: "
					    "%s", jr_quote_value(e, q, sizeof(q)), why);
		if (jr_strv_push(&fc->allow, e) < 0)
			return -ENOMEM;
	}
	if ((s = cfg_getstr(sec, "allow_http"))) {
		if (strcmp(s, "true") && strcmp(s, "false"))
			return conf_fail(p, jr_cfgp_line(p, sec, "allow_http"), "allow_http", s,
					 "must be true or false");
		fc->allow_http = !strcmp(s, "true");
	}
	if ((r = read_fetch_time(p, sec, "connect_timeout", &fc->connect_timeout_usec)) < 0 ||
	    (r = read_fetch_time(p, sec, "timeout", &fc->timeout_usec)) < 0)
		return r;
	if ((s = cfg_getstr(sec, "ca_file"))) {
		if (!absolute_path_ok(s))
			return conf_fail(p, jr_cfgp_line(p, sec, "ca_file"), "ca_file", s,
					 "must be an absolute path without '..'");
		if (set_str(&fc->ca_file, s) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* isolate { box_root first_uid num_boxes }: the box uids [first_uid, first_uid + 2 * num_boxes)
 * (boxes, then their jobrun-inits) stay below 2^32 and apart from the jobs' [uid_base,
 * uid_base + 2 * uid_count): a box and a `jobrun run` job never share a uid. */
static int read_isolate(struct jr_cfgp *p, cfg_t *cfg, struct jr_conf *conf)
{
	struct jr_isolate_conf *ic = &conf->isolate;
	cfg_t *sec = cfg_size(cfg, "isolate") ? cfg_getsec(cfg, "isolate") : NULL;
	uint64_t first = ic->first_uid, n = ic->num_boxes;
	uint64_t jb = conf->uid_base, je = jb + 2ULL * conf->uid_count;
	const char *s;
	int line;

	if (sec && (s = cfg_getstr(sec, "box_root"))) {
		if (!absolute_path_ok(s) || strlen(s) < 2 || strlen(s) > 200)
			return conf_fail(p, jr_cfgp_line(p, sec, "box_root"), "box_root", s,
					 "must be an absolute path without '..', 200 bytes at most, "
					 "not /");
		if (set_str(&ic->box_root, s) < 0)
			return -ENOMEM;
	}
	if (sec && (s = cfg_getstr(sec, "first_uid")) &&
	    (jr_parse_uint(s, &first) < 0 || first == 0 || first >= UINT32_MAX))
		return conf_fail(p, jr_cfgp_line(p, sec, "first_uid"), "first_uid", s,
				 "must be a uid above 0");
	if (sec && (s = cfg_getstr(sec, "num_boxes")) &&
	    (jr_parse_uint(s, &n) < 0 || n == 0 || n > 1000000))
		return conf_fail(p, jr_cfgp_line(p, sec, "num_boxes"), "num_boxes", s,
				 "must be a count from 1 to 1000000");
	line = sec ? jr_cfgp_line(p, sec, "first_uid") : 0;
	if (!line && sec)
		line = jr_cfgp_line(p, sec, "num_boxes");
	if (!line)
		line = jr_cfgp_line(p, cfg, "uid_base");
	if (!line)
		line = jr_cfgp_line(p, cfg, "uid_count");
	if (first + 2 * n >= UINT32_MAX)
		return jr_cfgp_fail(p, line, "isolate: first_uid + 2 * num_boxes must stay below "
					     "2^32 (boxes use num_boxes uids from first_uid, their "
					     "jobrun-inits the next num_boxes)");
	if (first < je && jb < first + 2 * n)
		return jr_cfgp_fail(p, line, "isolate: the box uids %llu-%llu overlap the job uids "
				    "%llu-%llu (uid_base, uid_count): a box and a job would share a "
				    "uid", (unsigned long long)first,
				    (unsigned long long)(first + 2 * n - 1), (unsigned long long)jb,
				    (unsigned long long)(je - 1));
	ic->first_uid = (uid_t)first;
	ic->num_boxes = (unsigned)n;
	return 0;
}

static bool client_matches(const struct jr_serve_client *cl, uid_t uid, gid_t gid,
			   const gid_t *groups, size_t ngroups)
{
	size_t i, j;

	for (i = 0; i < cl->nuids; i++)
		if (cl->uids[i] == uid)
			return true;
	for (i = 0; i < cl->ngids; i++) {
		if (cl->gids[i] == gid)
			return true;
		for (j = 0; j < ngroups; j++)
			if (cl->gids[i] == groups[j])
				return true;
	}
	return false;
}

bool jr_conf_client_known(const struct jr_conf *conf, uid_t uid, gid_t gid,
			  const gid_t *groups, size_t ngroups)
{
	return jr_conf_client_may(conf, uid, gid, groups, ngroups, NULL);
}

bool jr_conf_client_may(const struct jr_conf *conf, uid_t uid, gid_t gid, const gid_t *groups,
			size_t ngroups, const char *profile)
{
	size_t i, j;

	if (uid == 0)
		return true;
	for (i = 0; i < conf->serve.nclients; i++) {
		const struct jr_serve_client *cl = &conf->serve.clients[i];

		if (!client_matches(cl, uid, gid, groups, ngroups))
			continue;
		if (!profile)
			return true;
		for (j = 0; j < cl->profiles.n; j++)
			if (!strcmp(cl->profiles.v[j], profile))
				return true;
	}
	return false;
}

int jr_conf_parse(const char *text, size_t len, const char *file, struct jr_conf *conf,
		  struct jr_err *err)
{
	struct jr_conf c, builtin;
	struct jr_cfgp p;
	cfg_t *cfg;
	unsigned i, n;
	int r;

	if (!file)
		file = "jobrun.conf";
	r = jr_conf_builtin(&c, err);
	if (r < 0)
		return r;
	r = jr_conf_builtin(&builtin, err);
	if (r < 0) {
		jr_conf_free(&c);
		return r;
	}
	memset(&p, 0, sizeof(p));
	p.file = file;
	p.err = err;
	p.check = conf_check_value;
	p.max_list = 1024;
	jr_cfgp_limit_opts(conf_limit_opts);
	cfg = cfg_init(conf_opts, CFGF_NONE);
	if (!cfg) {
		r = jr_err_set(err, ENOMEM, "%s", file);
		goto out;
	}
	conf_parse = &p;
	r = jr_cfgp_parse(&p, cfg, text, len, JR_CONF_MAX_BYTES);
	conf_parse = NULL;
	if (r == 0)
		r = read_globals(&p, cfg, &c);
	n = r == 0 ? cfg_size(cfg, "profile") : 0;
	for (i = 0; i < n && r == 0; i++)
		r = read_profile(&p, cfg_getnsec(cfg, "profile", i), &c, &builtin);
	if (r == 0 && !jr_conf_profile(&c, c.default_profile))
		r = jr_cfgp_fail(&p, c.default_profile_line, "default_profile = %s: no such profile",
				 c.default_profile);
	if (r == 0)
		r = check_profiles(&p, &c);
	if (r == 0)
		r = read_serve(&p, cfg, &c);
	if (r == 0)
		r = read_fetch(&p, cfg, &c);
	if (r == 0)
		r = read_isolate(&p, cfg, &c);
	if (r == 0)
		r = read_reports(&p, cfg, &c);
	if (r == 0 && !(c.file = strdup(file)))
		r = -ENOMEM;
	if (r == -ENOMEM && !p.failed)
		jr_err_set(err, ENOMEM, "%s", file);
	if (r < 0 && r != -ENOMEM)
		r = -EINVAL;
	cfg_free(cfg);
out:
	jr_cfgp_free(&p);
	jr_conf_free(&builtin);
	if (r < 0) {
		jr_conf_free(&c);
		return r;
	}
	*conf = c;
	return 0;
}

int jr_conf_load(const char *path, struct jr_conf *conf, struct jr_err *err)
{
	const char *file = path ? path : JR_CONF_DEFAULT_PATH;
	struct stat st;
	char *buf;
	size_t n = 0;
	int fd, r;

	/* the caller-path rule (callerpath.h): never through a symlink a job planted, never
	 * blocked on a FIFO */
	fd = jr_cp_open("--config", file, JR_CP_FILE, err);
	if (fd < 0) {
		if (!path && err->code == ENOENT)
			return jr_conf_builtin(conf, err);
		return fd;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = jr_err_set(err, errno ? errno : EINVAL, "%s: not a regular file", file);
		close(fd);
		return r;
	}
	/* the admin's: whoever can write it decides every profile (as sshd's StrictModes) */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return jr_err_set(err, 0, "%s: must belong to root and not be writable by group or "
				  "others (owner uid %u, mode %04o)", file, (unsigned)st.st_uid,
				  (unsigned)(st.st_mode & 07777));
	}
	if (st.st_size > JR_CONF_MAX_BYTES) {
		close(fd);
		return jr_err_set(err, 0, "%s: more than %d bytes", file, JR_CONF_MAX_BYTES);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return jr_err_set(err, ENOMEM, "%s", file);
	}
	while (n <= (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = jr_err_set(err, errno, "read %s", file);
			close(fd);
			free(buf);
			return r;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n > (size_t)st.st_size) { /* it grew while being read */
		free(buf);
		return jr_err_set(err, 0, "%s: changed while being read", file);
	}
	r = jr_conf_parse(buf, n, file, conf, err);
	free(buf);
	return r;
}

/* ---- the merge -------------------------------------------------------------------------- */

static const char *where(const struct jr_jobreq *req, int line, char *buf, size_t len)
{
	const char *file = req->file ? req->file : "job config";

	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s", file);
	return buf;
}

static const char *format_max(enum jr_limit_key k, const struct jr_limit *m, char *buf,
			      size_t len)
{
	char b[32];

	if (strchr(m->text, '%'))
		snprintf(buf, len, "%s of RAM (%s)", m->text, format_value(k, m->value, b, sizeof(b)));
	else
		snprintf(buf, len, "%s", m->text);
	return buf;
}

void jr_spec_set_limit(struct jr_spec *spec, enum jr_limit_key k, uint64_t v)
{
	const struct jr_limit_def *d;
	uint64_t *field;

	if ((unsigned)k >= JR_L_N)
		return;
	d = &jr_limit_defs[k];
	field = (uint64_t *)((char *)spec + d->spec_offset);
	if (v != JR_LIMIT_UNLIMITED || d->none == JR_LN_NEVER)
		*field = v;
	else
		*field = d->none == JR_LN_MAX ? JR_UNLIMITED : 0;
}

/* The value spec holds for key k, as jr_limit_parse gives it (no limit: JR_LIMIT_UNLIMITED). */
static uint64_t spec_get_limit(const struct jr_spec *spec, enum jr_limit_key k)
{
	const struct jr_limit_def *d = &jr_limit_defs[k];
	uint64_t v = *(const uint64_t *)((const char *)spec + d->spec_offset);

	switch (d->none) {
	case JR_LN_ZERO:
		return v ? v : JR_LIMIT_UNLIMITED;
	case JR_LN_MAX:
		return v == JR_UNLIMITED ? JR_LIMIT_UNLIMITED : v;
	case JR_LN_NEVER:
		break;
	}
	return v;
}

/* Where a merged limit came from, for a message about it: "job.conf:4", "command line",
 * "jobrun.conf:12: profile grader: defaults", "built-in profile grader: defaults", or
 * jobrun's own default. */
static const char *limit_origin(const struct jr_conf *conf, const struct jr_profile *prof,
				const struct jr_jobreq *from, enum jr_limit_key k, char *buf,
				size_t len)
{
	const struct jr_limit *d = &prof->defaults[k];

	if (from)
		return where(from, from->limits[k].line, buf, len);
	if (d->text && d->line > 0)
		snprintf(buf, len, "%s:%d: profile %s: defaults",
			 conf->file ? conf->file : "jobrun.conf", d->line, prof->name);
	else if (d->text)
		snprintf(buf, len, "built-in profile %s: defaults", prof->name);
	else
		snprintf(buf, len, "jobrun's default");
	return buf;
}

/* A merged limit as its origin wrote it. */
static const char *value_text(const struct jr_profile *prof, const struct jr_jobreq *from,
			      enum jr_limit_key k, uint64_t v, char *buf, size_t len)
{
	if (from)
		return jr_quote_value(from->limits[k].value, buf, len);
	if (prof->defaults[k].text)
		return jr_quote_value(prof->defaults[k].text, buf, len);
	return format_value(k, v, buf, len);
}

/* The merged limits against what the host lets jobrun give (jr_limit_host_check), and swap:
 * a limit on it (v1: memory.memsw) needs a memory controller that counts swap, unless the
 * host has none. src[k]: the request that set key k, NULL for the profile's default (or
 * jobrun's own, when set[k] is 0). */
static int host_check(const struct jr_conf *conf, const struct jr_profile *prof,
		      const struct jr_spec *spec, const uint64_t *val, const int *set,
		      const struct jr_jobreq *const *src, struct jr_err *err)
{
	static const enum jr_limit_key keys[] = { JR_L_OPEN_FILES, JR_L_CPU_TIME };
	char why[192], w[JR_ERR_MAX / 2], q[96];
	const struct jr_host_caps *h;
	uint64_t v, mem, swap;
	enum jr_limit_key k;
	size_t i;

	for (i = 0; i < NELEM(keys); i++) {
		k = keys[i];
		v = set[k] ? val[k] : spec_get_limit(spec, k);
		if (jr_limit_host_check(k, v, why, sizeof(why)) == 0)
			continue;
		return jr_err_set(err, 0, "%s: %s = %s %s",
				  limit_origin(conf, prof, set[k] ? src[k] : NULL, k, w, sizeof(w)),
				  jr_limit_name(k), value_text(prof, set[k] ? src[k] : NULL, k, v, q,
							       sizeof(q)), why);
	}
	mem = set[JR_L_MEMORY] ? val[JR_L_MEMORY] : spec_get_limit(spec, JR_L_MEMORY);
	swap = set[JR_L_SWAP] ? val[JR_L_SWAP] : spec_get_limit(spec, JR_L_SWAP);
	if (mem == JR_LIMIT_UNLIMITED || swap == JR_LIMIT_UNLIMITED)
		return 0;
	h = jr_host_caps(JR_HOST_SWAP);
	if (!h->swap || h->swap_accounted)
		return 0;
	k = JR_L_SWAP;
	return jr_err_set(err, 0, "%s: swap = %s cannot be enforced here: the host has swap, and "
				  "its memory controller does not count it per cgroup (no "
				  "memory.memsw.* or memory.swap.max: swap accounting is off); "
				  "ask for swap = unlimited",
			  limit_origin(conf, prof, set[k] ? src[k] : NULL, k, w, sizeof(w)),
			  value_text(prof, set[k] ? src[k] : NULL, k, swap, q, sizeof(q)));
}

static int env_set(struct jr_strv *env, const char *kv)
{
	size_t nlen = strcspn(kv, "="), i;

	for (i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], kv, nlen) && env->v[i][nlen] == '=') {
			char *t = strdup(kv);

			if (!t)
				return -ENOMEM;
			free(env->v[i]);
			env->v[i] = t;
			return 0;
		}
	}
	return jr_strv_push(env, kv);
}

static int has_command(const struct jr_jobreq *r)
{
	return r && (r->argv.n || r->shell.value);
}

static int dup_opt(char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* from: the request that named it; NULL: conf's default_profile. */
static int no_such_profile(const struct jr_conf *conf, const struct jr_jobreq *from,
			   const char *name, struct jr_err *err)
{
	char names[256] = "", q[96], w[JR_ERR_MAX / 2];
	size_t i, o = 0;

	for (i = 0; i < conf->nprofiles && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
				      conf->profiles[i].name);
	if (!from) /* jr_conf_parse refuses this: a conf built by hand */
		return jr_err_set(err, 0, "%s: default_profile = %s: no such profile",
				  conf->file ? conf->file : "configuration",
				  name ? jr_quote_value(name, q, sizeof(q)) : "(none)");
	return jr_err_set(err, 0, "%s: profile = %s: no such profile (%s)",
			  where(from, from->profile.line, w, sizeof(w)),
			  jr_quote_value(name, q, sizeof(q)), names);
}

/* May a job config of a job admitted under caller name profile name? */
static int profile_allows(const struct jr_profile *caller, const char *name)
{
	size_t i;

	if (!strcmp(caller->name, name))
		return 1;
	for (i = 0; i < caller->job_profiles.n; i++)
		if (!strcmp(caller->job_profiles.v[i], name))
			return 1;
	return 0;
}

/* The caller decides: the command line's profile, else the conf's default. The job config
 * may name another only when the caller's profile lists it in job_profiles. */
static int pick_profile(const struct jr_conf *conf, const struct jr_jobreq *req,
			const struct jr_jobreq *cli, const struct jr_profile **prof,
			struct jr_err *err)
{
	const struct jr_jobreq *caller = cli && cli->profile.value ? cli : NULL;
	const char *cname = caller ? caller->profile.value : conf->default_profile;
	const struct jr_profile *cp = jr_conf_profile(conf, cname), *jp;
	char w[JR_ERR_MAX / 2];

	if (!cp)
		return no_such_profile(conf, caller, cname, err);
	*prof = cp;
	if (!req || !req->profile.value)
		return 0;
	jp = jr_conf_profile(conf, req->profile.value);
	if (!jp)
		return no_such_profile(conf, req, req->profile.value, err);
	/* (a checked profile name: [A-Za-z0-9._-], nothing to escape) */
	if (!profile_allows(cp, jp->name))
		return jr_err_set(err, 0, "%s: profile = \"%s\" is not allowed for jobs of the %s "
					  "profile (jobrun.conf: job_profiles)",
				  where(req, req->profile.line, w, sizeof(w)), jp->name, cp->name);
	*prof = jp;
	return 0;
}

/* Fit for a message and for a request's file (jr_jobreq_check): UTF-8, no control character. */
static int plain_name(const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return jr_is_utf8(s);
}

int jr_conf_apply(const struct jr_conf *conf, const struct jr_jobreq *req,
		  const struct jr_jobreq *cli, struct jr_spec *spec, struct jr_job_extra *extra,
		  struct jr_err *err)
{
	const struct jr_jobreq *layers[2];
	const struct jr_jobreq *cmd_from;
	struct jr_jobreq named;
	char jcname[JR_REQ_MAX_PATH + 1];
	const struct jr_profile *prof = NULL;
	const struct jr_jobreq *src[JR_L_N];
	uint64_t val[JR_L_N], memory_unpack = 0;
	int set[JR_L_N];
	struct jr_strv argv = { 0 }, env = { 0 }, binds = { 0 }, etc = { 0 }, outputs = { 0 };
	char *stdin_path = NULL, *hostname = NULL, *runtime_dir = NULL, *cgroup_parent = NULL;
	char *cwd = NULL, *profile_name = NULL, *report_name = NULL;
	const char *report = NULL;
	char w[JR_ERR_MAX / 2];
	size_t i, l;
	int k, r;

	if (!conf || !spec || !extra)
		return jr_err_set(err, EINVAL, "jr_conf_apply");
	/* a --job-conf file is named by its path, as in its parse errors (job-stage.c) */
	if (req && req->file && !strcmp(req->file, "--job-conf") && spec->job_conf &&
	    (size_t)snprintf(jcname, sizeof(jcname), "--job-conf %s", spec->job_conf) < sizeof(jcname) &&
	    plain_name(jcname)) {
		named = *req;
		named.file = jcname;
		req = &named;
	}
	layers[0] = req;
	layers[1] = cli;
	for (l = 0; l < 2; l++)
		if (layers[l] && (r = jr_jobreq_check(layers[l], err)) < 0)
			return r;

	r = pick_profile(conf, req, cli, &prof, err);
	if (r < 0)
		return r;

	/* limits: the profile's defaults, then each layer, each within the maximum */
	for (k = 0; k < JR_L_N; k++) {
		set[k] = prof->defaults[k].text != NULL;
		val[k] = prof->defaults[k].value;
		src[k] = NULL;
	}
	for (l = 0; l < 2; l++) {
		const struct jr_jobreq *lr = layers[l];

		for (k = 0; lr && k < JR_L_N; k++) {
			const struct jr_req_value *rv = &lr->limits[k];
			const struct jr_limit *m = &prof->maxima[k];
			const char *name = jr_limit_name((enum jr_limit_key)k);
			char why[128], q[96], mb[96];
			uint64_t v;

			if (!rv->value)
				continue;
			jr_quote_value(rv->value, q, sizeof(q));
			if (jr_limit_parse((enum jr_limit_key)k, rv->value, 0, &v, why,
					   sizeof(why)) < 0)
				return jr_err_set(err, 0, "%s: %s = %s %s",
						  where(lr, rv->line, w, sizeof(w)), name, q, why);
			if (m->text && v > m->value)
				return jr_err_set(err, 0, "%s: %s = %s is above the %s profile's "
							  "maximum %s",
						  where(lr, rv->line, w, sizeof(w)), name, q,
						  prof->name, format_max((enum jr_limit_key)k, m, mb,
									 sizeof(mb)));
			set[k] = 1;
			val[k] = v;
			src[k] = lr;
		}
	}
	r = host_check(conf, prof, spec, val, set, src, err);
	if (r < 0)
		return r;
	/* the report target: by name only, one jobrun.conf has */
	for (l = 2; l-- > 0;) {
		const struct jr_req_value *rv = layers[l] ? &layers[l]->report : NULL;
		char q[96];

		if (!rv || !rv->value)
			continue;
		if (!jr_conf_report(conf, rv->value))
			return jr_err_set(err, 0, "%s: report = %s: no such report target in %s",
					  where(layers[l], rv->line, w, sizeof(w)),
					  jr_quote_value(rv->value, q, sizeof(q)),
					  conf->file ? conf->file : "jobrun.conf (built in: none)");
		report = rv->value;
		break;
	}
	/* a staged job is unpacked before its job config is read: under the most memory that
	 * config may ask for (as its workspace is sized at the profile's maximum disk), lowered
	 * to its own limit afterwards (jr_cg_update) */
	if ((spec->archive || spec->job_conf) && !(cli && cli->limits[JR_L_MEMORY].value))
		memory_unpack = prof->maxima[JR_L_MEMORY].text ? prof->maxima[JR_L_MEMORY].value
							       : JR_UNLIMITED;

	/* the command */
	cmd_from = has_command(cli) ? cli : has_command(req) ? req : NULL;
	if (!cmd_from && !spec->argv.n) {
		const char *f = req && req->file ? req->file : cli && cli->file ? cli->file
						  : "job config";

		return jr_err_set(err, 0, "%s: no command: give command = {\"prog\", \"arg\"...} or "
					  "shell = \"...\"", f);
	}

	r = 0;
	if (cmd_from && cmd_from->argv.n) {
		r |= strv_copy(&argv, &cmd_from->argv);
	} else if (cmd_from) {
		r |= jr_strv_push(&argv, "/bin/sh");
		r |= jr_strv_push(&argv, "-c");
		r |= jr_strv_push(&argv, cmd_from->shell.value);
	}
	r |= jr_strv_push(&env, "PATH=/usr/local/bin:/usr/bin:/bin");
	r |= jr_strv_push(&env, "HOME=/job");
	r |= jr_strv_push(&env, "LANG=C.UTF-8");
	for (l = 0; l < 2; l++)
		for (i = 0; layers[l] && i < layers[l]->env.n && !r; i++)
			r |= env_set(&env, layers[l]->env.v[i]);
	if (cli && cli->stdin_file.value)
		r |= dup_opt(&stdin_path, cli->stdin_file.value);
	else if (req && req->stdin_file.value)
		r |= dup_opt(&stdin_path, req->stdin_file.value);
	if (cli && cli->workdir.value)
		r |= dup_opt(&cwd, cli->workdir.value);
	else if (req && req->workdir.value)
		r |= dup_opt(&cwd, req->workdir.value);
	if (cli && cli->outputs.n)
		r |= strv_copy(&outputs, &cli->outputs);
	else if (req && req->outputs.n)
		r |= strv_copy(&outputs, &req->outputs);
	r |= strv_copy(&binds, &prof->system_binds);
	r |= strv_copy(&etc, &prof->etc_files);
	r |= dup_opt(&hostname, conf->hostname);
	r |= dup_opt(&runtime_dir, conf->runtime_dir);
	r |= dup_opt(&cgroup_parent, conf->cgroup_parent);
	r |= dup_opt(&profile_name, prof->name);
	r |= dup_opt(&report_name, report);
	if (r) {
		jr_strv_free(&argv);
		jr_strv_free(&env);
		jr_strv_free(&binds);
		jr_strv_free(&etc);
		jr_strv_free(&outputs);
		free(stdin_path);
		free(cwd);
		free(hostname);
		free(runtime_dir);
		free(cgroup_parent);
		free(profile_name);
		free(report_name);
		return jr_err_set(err, ENOMEM, "job configuration");
	}

	/* commit: nothing fails from here on */
	for (k = 0; k < JR_L_N; k++)
		if (set[k])
			jr_spec_set_limit(spec, (enum jr_limit_key)k, val[k]);
	spec->cg.memory_unpack = memory_unpack;
	/* "unlimited", the default, where jobrun's own hard limit says otherwise: the most it
	 * may give (a value above it is refused where it is given: --file-size) */
	if (spec->file_size > jr_host_caps(JR_HOST_RLIMITS)->fsize)
		spec->file_size = jr_host_caps(JR_HOST_RLIMITS)->fsize;
	if (cmd_from) {
		jr_strv_free(&spec->argv);
		spec->argv = argv;
	}
	jr_strv_free(&spec->env);
	spec->env = env;
	if (stdin_path) {
		free(spec->stdin_path);
		spec->stdin_path = stdin_path;
	}
	jr_strv_free(&spec->sys_binds);
	spec->sys_binds = binds;
	jr_strv_free(&spec->etc_files);
	spec->etc_files = etc;
	if (hostname) {
		free(spec->hostname);
		spec->hostname = hostname;
	}
	if (runtime_dir) {
		free(spec->runtime_dir);
		spec->runtime_dir = runtime_dir;
	}
	if (cgroup_parent) {
		free(spec->cgroup_parent);
		spec->cgroup_parent = cgroup_parent;
	}
	spec->uid_base = conf->uid_base;
	spec->uid_count = conf->uid_count;

	jr_job_extra_free(extra);
	extra->profile = profile_name;
	extra->cwd = cwd;
	extra->outputs = outputs;
	extra->max_entries = prof->max_entries;
	extra->max_name = prof->max_name;
	extra->report = report_name;
	return 0;
}

void jr_job_extra_free(struct jr_job_extra *extra)
{
	free(extra->profile);
	free(extra->cwd);
	jr_strv_free(&extra->outputs);
	free(extra->report);
	memset(extra, 0, sizeof(*extra));
}
