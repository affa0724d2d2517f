/* cgroup.c - host detection, and one job's cgroup across hierarchies (dispatching each
 * controller to the v1 or v2 backend it lives on). */
#define _GNU_SOURCE
#include "cgroup-internal.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static const char *const v1_names[JR_CG_N] = {
	[JR_CG_MEMORY] = "memory", [JR_CG_CPU] = "cpu", [JR_CG_CPUACCT] = "cpuacct",
	[JR_CG_PIDS] = "pids", [JR_CG_IO] = "blkio", [JR_CG_CPUSET] = "cpuset",
};

static const char *const v2_names[JR_CG_N] = {
	[JR_CG_MEMORY] = "memory", [JR_CG_CPU] = "cpu", [JR_CG_CPUACCT] = NULL,
	[JR_CG_PIDS] = "pids", [JR_CG_IO] = "io", [JR_CG_CPUSET] = "cpuset",
};

const char *jr_cg_ctrl_name(enum jr_ctrl c)
{
	return c < JR_CG_N ? v1_names[c] : "?";
}

const struct jr_cg_ops *jr_cg_ops_of(int version)
{
	return version == 2 ? &jr_cg_v2_ops : &jr_cg_v1_ops;
}

/* ---- small file helpers ---- */

int jr_cg_write(const char *dir, const char *name, const char *fmt, ...)
{
	char path[4096], buf[1024];
	va_list ap;
	int fd, n, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* memory.limit_in_bytes may reclaim before it returns: a signal (a tracer's) can
	 * interrupt it, and the write is then simply made again */
	for (;;) {
		ssize_t w = write(fd, buf, (size_t)n);

		if (w == n)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		r = w < 0 ? -errno : -EIO;
		break;
	}
	close(fd);
	return r;
}

/* cgroupfs, procfs and sysfs files are seq_file (or one-buffer sysfs) reads: a read returns
 * all that is asked for, and stops short only at the end of the file or where the next record
 * would overflow seq_file's own buffer (a page at least; the records of the files read here are
 * lines well under 2 KiB, or the whole file as one record). A read that returns less than
 * JR_CG_SHORT is therefore the whole rest of the file: no second read just to see the end. */
#define JR_CG_SHORT 2048

int jr_cg_read_fd(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1) {
		n = pread(fd, buf + got, len - 1 - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf[got] = '\0';
			return -errno;
		}
		got += (size_t)n;
		if (n < JR_CG_SHORT)
			break;
	}
	buf[got] = '\0';
	return 0;
}

int jr_cg_read_text(const char *dir, const char *name, char *buf, size_t len)
{
	char path[4096];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = jr_cg_read_fd(fd, buf, len);
	close(fd);
	return r;
}

int jr_cg_read_u64(const char *dir, const char *name, uint64_t *v)
{
	char buf[64];
	int r = jr_cg_read_text(dir, name, buf, sizeof(buf));

	return r < 0 ? r : jr_acct_value(buf, v);
}

int jr_cg_exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int jr_cg_kill_procs(const char *dir)
{
	char buf[65536], *line, *save = NULL, *nl;
	int any = 0, r;
	size_t len;

	r = jr_cg_read_text(dir, "cgroup.procs", buf, sizeof(buf));
	if (r < 0)
		return r;
	/* A full buffer may end in the first digits of a pid ("12345" read as "123"): drop the
	 * cut line, or an unrelated process gets SIGKILL. The callers loop until empty. */
	len = strlen(buf);
	if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
		nl = strrchr(buf, '\n');
		*(nl ? nl + 1 : buf) = '\0';
		any = 1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atoi(line);

		if (pid > 0) {
			kill(pid, SIGKILL);
			any = 1;
		}
	}
	return any;
}

const struct jr_cg_limits jr_cg_no_limits = { .swap = JR_UNLIMITED };

bool jr_cg_requested(enum jr_ctrl c, const struct jr_cg_limits *lim)
{
	switch (c) {
	case JR_CG_MEMORY: return lim->memory != 0;
	case JR_CG_CPU: return lim->cpus_milli || lim->cpu_weight;
	case JR_CG_PIDS: return lim->pids != 0;
	case JR_CG_IO: return lim->io_rbps || lim->io_wbps || lim->io_riops || lim->io_wiops;
	case JR_CG_CPUSET: return lim->cpuset != NULL;
	case JR_CG_CPUACCT:
	case JR_CG_N:
		return false;
	}
	return false;
}

uint64_t jr_cg_mem_max(const struct jr_cg_limits *lim)
{
	return lim->memory ? lim->memory : JR_UNLIMITED;
}

uint64_t jr_cg_memsw_max(const struct jr_cg_limits *lim)
{
	if (!lim->memory || lim->swap == JR_UNLIMITED)
		return JR_UNLIMITED;
	if (lim->swap >= JR_UNLIMITED - lim->memory) /* far above any RAM: the kernel's max */
		return JR_UNLIMITED;
	return lim->memory + lim->swap;
}

uint64_t jr_cg_io_value(const struct jr_cg_limits *lim, const struct jr_io_dev *d, int k)
{
	const uint64_t v[4] = { lim->io_rbps, lim->io_wbps, lim->io_riops, lim->io_wiops };
	unsigned i;

	for (i = 0; i < lim->ndevs; i++)
		if (lim->devs[i].major == d->major && lim->devs[i].minor == d->minor)
			return v[k];
	return 0;
}

const char *jr_cg_mib(uint64_t bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	return buf;
}

bool jr_cg_host_has_swap(void)
{
	char buf[256];

	/* a header line, then one line per swap area */
	return jr_cg_read_text("/proc", "swaps", buf, sizeof(buf)) == 0 && strchr(buf, '\n') &&
	       strchr(buf, '\n')[1];
}

int jr_cg_apply_pids(const char *dir, const struct jr_cg_limits *old,
		     const struct jr_cg_limits *lim, struct jr_err *err)
{
	int r;

	if (lim->pids == old->pids)
		return 0;
	r = lim->pids ? jr_cg_write(dir, "pids.max", "%llu", (unsigned long long)lim->pids)
		      : jr_cg_write(dir, "pids.max", "max");
	return r < 0 ? jr_err_set(err, -r, "%s/pids.max", dir) : 0;
}

/* ---- detection ---- */

static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n + 1 && s[i + 1] >= '0' && s[i + 1] <= '3') {
			*o++ = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
				      (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Split line into space-separated fields (up to max); returns the count. */
static int fields(const char *line, const char *eol, const char **f, size_t *len, int max)
{
	int n = 0;
	const char *p = line;

	while (p < eol && n < max) {
		const char *sp = memchr(p, ' ', (size_t)(eol - p));
		const char *end = sp ? sp : eol;

		f[n] = p;
		len[n++] = (size_t)(end - p);
		p = end + 1;
	}
	return n;
}

static int ctrl_of(const char *name, size_t len)
{
	int c;

	for (c = 0; c < JR_CG_N; c++)
		if (strlen(v1_names[c]) == len && !strncmp(v1_names[c], name, len))
			return c;
	return -1;
}

static int has_opt(const char *opts, size_t len, const char *opt)
{
	size_t ol = strlen(opt);
	const char *p = opts, *end = opts + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;

		if ((size_t)(e - p) == ol && !strncmp(p, opt, ol))
			return 1;
		p = e + 1;
	}
	return 0;
}

/* own = mount + (path - root) */
static char *join_own(const char *mount, const char *root, const char *path)
{
	size_t rl = strlen(root);
	char *s;

	if (!strcmp(root, "/"))
		rl = 0;
	else if (strncmp(path, root, rl) || (path[rl] && path[rl] != '/'))
		rl = strlen(path); /* our cgroup is not below the mount's root: use its root */
	if (asprintf(&s, "%s%s", mount, !strcmp(path + rl, "/") ? "" : path + rl) < 0)
		return NULL;
	return s;
}

struct mnt_seen {
	char *mount, *root;
};

static void parse_mount_line(struct jr_cg_host *h, struct mnt_seen *seen, struct mnt_seen *v2,
			     const char *line, const char *eol)
{
	const char *f[32];
	size_t len[32];
	int n = fields(line, eol, f, len, 32), sep, c;

	for (sep = 6; sep < n; sep++)
		if (len[sep] == 1 && f[sep][0] == '-')
			break;
	if (sep + 3 >= n)
		return;
	if (len[sep + 1] == 7 && !strncmp(f[sep + 1], "cgroup2", 7)) {
		if (!v2->mount) {
			v2->mount = unescape(f[4], len[4]);
			v2->root = unescape(f[3], len[3]);
			h->v2_mount_opts = strndup(f[sep + 3], len[sep + 3]);
		}
		return;
	}
	if (len[sep + 1] != 6 || strncmp(f[sep + 1], "cgroup", 6))
		return;
	if (has_opt(f[sep + 3], len[sep + 3], "favordynmods"))
		h->v1_favordynmods = true;
	for (c = 0; c < JR_CG_N; c++) {
		if (seen[c].mount || !has_opt(f[sep + 3], len[sep + 3], v1_names[c]))
			continue;
		seen[c].mount = unescape(f[4], len[4]);
		seen[c].root = unescape(f[3], len[3]);
	}
}

int jr_cg_parse(struct jr_cg_host *h, const char *mountinfo, const char *self_cgroup,
		struct jr_err *err)
{
	struct mnt_seen seen[JR_CG_N], v2 = { NULL, NULL };
	char *paths[JR_CG_N], *v2_path = NULL;
	const char *p, *eol;
	int c;

	memset(h, 0, sizeof(*h));
	memset(seen, 0, sizeof(seen));
	memset(paths, 0, sizeof(paths));
	for (p = mountinfo; p && *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		parse_mount_line(h, seen, &v2, p, eol);
	}
	for (p = self_cgroup; p && *p; p = *eol ? eol + 1 : eol) {
		const char *c1, *c2;

		eol = strchrnul(p, '\n');
		c1 = memchr(p, ':', (size_t)(eol - p));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (!c2)
			continue;
		if (c2 == c1 + 1 && c1 - p == 1 && *p == '0') {
			free(v2_path);
			v2_path = strndup(c2 + 1, (size_t)(eol - c2 - 1));
			continue;
		}
		for (const char *q = c1 + 1; q < c2;) {
			const char *comma = memchr(q, ',', (size_t)(c2 - q));
			const char *e = comma ? comma : c2;

			c = ctrl_of(q, (size_t)(e - q));
			if (c >= 0 && !paths[c])
				paths[c] = strndup(c2 + 1, (size_t)(eol - c2 - 1));
			q = e + 1;
		}
	}
	if (v2.mount && v2_path) {
		h->v2_mount = strdup(v2.mount);
		h->v2_own = join_own(v2.mount, v2.root, v2_path);
	}
	for (c = 0; c < JR_CG_N; c++) {
		struct jr_cg_ctrl *x = &h->ctrl[c];

		if (seen[c].mount && paths[c]) {
			x->version = 1;
			x->mount = strdup(seen[c].mount);
			x->own = join_own(seen[c].mount, seen[c].root, paths[c]);
		} else if (h->v2_own) {
			x->version = 2; /* tentative: jr_cg_detect checks cgroup.controllers */
			x->mount = strdup(h->v2_mount);
			x->own = strdup(h->v2_own);
		}
		free(seen[c].mount);
		free(seen[c].root);
		free(paths[c]);
	}
	free(v2.mount);
	free(v2.root);
	free(v2_path);
	for (c = 0; c < JR_CG_N; c++)
		if (h->ctrl[c].version && (!h->ctrl[c].mount || !h->ctrl[c].own))
			return jr_err_set(err, ENOMEM, "cgroup detection");
	return 0;
}

static int read_whole(const char *path, char **out, struct jr_err *err)
{
	size_t cap = 65536, got = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	if (!buf)
		return jr_err_set(err, ENOMEM, "read %s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return jr_err_set(err, errno, "open %s", path);
	}
	while ((n = read(fd, buf + got, cap - got - 1)) > 0) {
		got += (size_t)n;
		if (got == cap - 1) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	return 0;
}

static int v2_offers(const char *own, const char *name)
{
	char buf[512], *tok, *save = NULL;

	if (jr_cg_read_text(own, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, name))
			return 1;
	return 0;
}

int jr_cg_detect(struct jr_cg_host *h, struct jr_err *err)
{
	char *mi = NULL, *sc = NULL;
	int c, r;

	r = read_whole("/proc/self/mountinfo", &mi, err);
	if (r == 0)
		r = read_whole("/proc/self/cgroup", &sc, err);
	if (r == 0)
		r = jr_cg_parse(h, mi, sc, err);
	free(mi);
	free(sc);
	if (r < 0)
		return r;
	for (c = 0; c < JR_CG_N; c++) {
		struct jr_cg_ctrl *x = &h->ctrl[c];

		if (x->version != 2 || !v2_names[c] || v2_offers(x->own, v2_names[c]))
			continue;
		x->version = 0;
		free(x->mount);
		free(x->own);
		x->mount = x->own = NULL;
	}
	/* v1 swap accounting: the memsw files are in every memory cgroup, or in none */
	h->v1_memsw = h->ctrl[JR_CG_MEMORY].version == 1 &&
		      jr_cg_exists(h->ctrl[JR_CG_MEMORY].mount, "memory.memsw.limit_in_bytes");
	return 0;
}

void jr_cg_host_free(struct jr_cg_host *h)
{
	int c;

	for (c = 0; c < JR_CG_N; c++) {
		free(h->ctrl[c].mount);
		free(h->ctrl[c].own);
	}
	free(h->v2_mount);
	free(h->v2_own);
	free(h->v2_mount_opts);
	memset(h, 0, sizeof(*h));
}

/* The whole disk holding path, for io.max / blkio (they refuse partitions). 0, or -ENODEV when
 * path is not on a block device (tmpfs, overlay, 9p...). */
int jr_cg_io_dev_of(const char *path, struct jr_io_dev *dev)
{
	char sys[128], buf[64];
	struct stat st;
	unsigned maj, min;

	if (stat(path, &st) < 0)
		return -errno;
	maj = major(st.st_dev);
	min = minor(st.st_dev);
	if (maj == 0)
		return -ENODEV;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", maj, min);
	if (access(sys, F_OK) == 0) {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/..", maj, min);
		if (jr_cg_read_text(sys, "dev", buf, sizeof(buf)) < 0 ||
		    sscanf(buf, "%u:%u", &maj, &min) != 2)
			return -ENODEV;
	} else {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
		if (access(sys, F_OK) < 0)
			return -ENODEV;
	}
	dev->major = maj;
	dev->minor = min;
	return 0;
}
