/* unpack.c - jobrun-unpack: unpack a job's archive into its workspace, as the job's uid.
 *
 *   jobrun-unpack [--max-entries N] [--max-bytes N] [--max-name N] [--job-conf NAME]
 *                 [--no-thread]
 *
 *   fd 0  the archive: tar (ustar, pax, GNU, v7), bare or gzip/bzip2/xz/zstd-compressed, or zip
 *   fd 3  the workspace's root directory (empty): every entry is written beneath it
 *   fd 4  the report: one JSON object and a newline, written once, at the end
 *   fd 5  optional: a job config given to jobrun itself; when open, it wins over the archive's
 *
 * Options (decimal numbers only: "010" is ten): --max-entries (100000) counts every header,
 * "./" and directories included; --max-bytes (268435456) counts file data, holes of sparse
 * files included (their logical sizes); --max-name (1024, at most 4095) bytes of an entry's
 * raw name; --job-conf NAME (job.conf) the job config's name at the archive's root, "" for
 * none; --no-thread inflates in the one thread (for a job held to one CPU).
 *
 * The report: {"ok":true,"entries":N,"bytes":N,"stripped_setid":N,"job_conf":TEXT|null,
 * "job_conf_from":"archive"|"fd5"|null} or {"ok":false,"entry":NAME|null,"reason":TEXT}
 * (entry: the refused entry's name as the archive gives it, control characters and bytes that
 * are not UTF-8 written \xNN, cut at ~1 KiB; null when the refusal is about no one entry).
 * Exit status 0 accepted, 1 refused (the archive's fault: verdict RJ), 2 internal error or
 * usage (then too a report when fd 4 is usable, reason "internal error: ...", and a line on
 * stderr). On a refusal, what was written before the refused entry stays: discard the
 * workspace.
 *
 * The rules. Refused (exit 1): an absolute name; a ".." component anywhere; an empty name; a
 * NUL, a control character (C0, DEL, C1) or invalid UTF-8 in a name; a name longer than
 * --max-name or a component longer than 255 bytes; more than --max-entries entries; more than
 * --max-bytes of file data (a header that declares more is refused before anything is read; a
 * size not declared, as in a streamed zip, is counted while inflating and stopped at the
 * limit, no byte past it written); a compressed stream that inflates past --max-bytes plus a
 * metadata allowance (16 KiB + 2 x --max-name per entry, + 8 MiB: a bomb made of headers);
 * device nodes, FIFOs, sockets; a symlink whose target is empty, absolute, or leaves the
 * workspace when resolved from the link's directory (its ".." components may only come first:
 * "../x" from "a/l" stays inside, from "l" it leaves; "a/../b" is refused, since "a" may itself
 * be a symlink); a hardlink whose target is not an earlier regular file (name rules as above,
 * no symlink on its path); an entry that would be written through a symlink made by an
 * earlier entry (openat2 RESOLVE_NO_SYMLINKS gives ELOOP: "'l' is a symlink ... (ELOOP)");
 * a duplicate: an entry whose name already exists (O_EXCL: a regular file, a symlink or a
 * hardlink is never replaced; a directory entry for an existing directory is fine); a job
 * config that is not a regular file or is larger than 64 KiB; anything that is not a tar or
 * zip archive, or is compressed otherwise (lzma, lz4, compress...), or is damaged.
 * Kept, normalised: "./x", "x/./y", "a//b", "d/" are "x", "x/y", "a/b", "d"; "." or "./" is the
 * workspace root, left as it is (its mode and times are not touched). A backslash is an
 * ordinary character. Hardlinks are made (linkat between directories opened beneath fd 3,
 * never following a symlink). Symlinks are made as written (after the check).
 * Modes: setuid, setgid and sticky bits are dropped and counted (stripped_setid); group and
 * other write are dropped (mode & 0755): the job owns its files, nobody else writes them.
 * Everything belongs to the uid the helper runs as. Directories are made 0755 as they are met
 * (implied parents too, in any order) and get their own mode and mtime at the end, deepest
 * first, so that a read-only directory is filled before it becomes read-only. Regular files
 * get their mtime (futimens on the open fd); symlinks keep the time of unpacking. A zip read
 * from a regular file is read by its central directory; through a pipe, by its local headers.
 *
 * How it writes: never by a path string resolved from '/' or the cwd. Every file is created
 * with openat2(dirfd, name, O_CREAT|O_EXCL|O_NOFOLLOW|O_WRONLY, RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) relative to a directory fd
 * that was itself opened that way beneath fd 3 (the last one is cached), directories with
 * mkdirat on such a fd. It opens no path at all: the dynamic loader's opens before main are the
 * only ones (no locale, no time zone file: see the libc overrides below). It needs no
 * privilege and no environment. Compressed input is inflated in a second thread (see
 * extract.c); a large file in a plain tar on a regular file is copied in the kernel
 * (copy_file_range or sendfile). The system calls it makes after start-up (strace), for a
 * seccomp allow-list should one be wanted: read write pwrite64 lseek fcntl newfstatat openat2
 * mkdirat symlinkat linkat fchmod utimensat ftruncate copy_file_range sendfile close umask
 * getpid getrandom sysinfo prlimit64 brk mmap munmap mremap mprotect madvise futex clone3
 * (ENOSYS is fine: glibc falls back to clone) clone set_robust_list rseq rt_sigprocmask
 * rt_sigaction clock_gettime exit exit_group.
 *
 * Built apart from jobrun: it links libarchive, which the hot binary must not. */
#define _GNU_SOURCE
#include "err.h"
#include "extract.h"
#include "unpack-proto.h"
#include "pathcheck.h"
#ifdef JR_UNPACK_PARSE_JOBCONF
#include "jobreq.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IN_FD     JR_UNPACK_FD_ARCHIVE
#define WS_FD     JR_UNPACK_FD_WS
#define REPORT_FD JR_UNPACK_FD_REPORT
#define CONF_FD   JR_UNPACK_FD_CONF
#define CONF_MAX  65536  /* = JR_JOBCONF_MAX_BYTES (jobreq.h) */

#define DEF_MAX_ENTRIES 100000
#define DEF_MAX_BYTES   (256ull << 20)  /* jobrun's default --disk */
#define DEF_MAX_NAME    1024

static const char usage_text[] =
	"usage: jobrun-unpack [--max-entries N] [--max-bytes N] [--max-name N] "
	"[--job-conf NAME] [--no-thread] [--no-archive]\n"
	"  reads an archive (tar[.gz|.bz2|.xz|.zst], zip) on fd 0, unpacks it beneath the\n"
	"  directory open on fd 3, writes a JSON report on fd 4; fd 5, when open, is a job config\n"
	"  that wins over the archive's. Exit 0 accepted, 1 refused, 2 internal error.\n"
	"  --no-thread: inflate in the one thread (a job held to one CPU gains nothing from two)\n"
	"  defaults: --max-entries 100000 --max-bytes 268435456 --max-name 1024 "
	"--job-conf job.conf\n";

/* ==== libc functions libarchive calls, answered here: no locale, no time zone file ========
 * The helper runs with an empty environment, in the C locale, and must open no path. Two libc
 * calls inside libarchive would otherwise get in the way (the executable's definitions take
 * precedence over libc's for the shared libraries it links):
 * - nl_langinfo(CODESET) names the charset libarchive converts names to. In the C locale it
 *   is ASCII, and a UTF-8 name in a pax header or a zip entry (flag bit 11) then comes back as
 *   no name at all. Here it is "UTF-8": such names come through as their UTF-8 bytes (checked
 *   by libarchive's own UTF-8 code, and again by pathcheck.c), without setlocale() reading
 *   locale files. Everything else is the C locale's answer.
 * - mktime() converts a zip entry's MS-DOS local time; glibc loads /etc/localtime for it.
 *   Here the DOS time is taken as UTC (a zip from Info-ZIP or bsdtar also carries an exact
 *   UTC time, which libarchive prefers). */
char *nl_langinfo(nl_item item)
{
	if (item == CODESET)
		return (char *)"UTF-8";
	return nl_langinfo_l(item, LC_GLOBAL_LOCALE);
}

time_t mktime(struct tm *tm)
{
	/* days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
	 * days_from_civil), with tm's fields normalised the way mktime would */
	long long y = (long long)tm->tm_year + 1900, m = tm->tm_mon, d, era, yoe, doy, doe, t;

	y += m / 12;
	m %= 12;
	if (m < 0) {
		m += 12;
		y--;
	}
	m += 1;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm->tm_mday - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	d = era * 146097 + doe - 719468;
	t = ((d * 24 + tm->tm_hour) * 60 + tm->tm_min) * 60 + tm->tm_sec;
	return (time_t)t;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write the report; 0, or -1 (then the exit status is 2). */
static int emit(json_t *j)
{
	char *s;
	int r;

	if (!j)
		return -1;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return -1;
	r = write_all(REPORT_FD, s, strlen(s));
	if (r == 0)
		r = write_all(REPORT_FD, "\n", 1);
	free(s);
	return r;
}

static json_t *text_or_null(const char *s)
{
	char buf[1200];

	if (!s)
		return json_null();
	jr_path_printable(s, strlen(s), buf, sizeof(buf));
	return json_string(buf);
}

static json_t *refusal(const char *entry, const char *reason)
{
	return json_pack("{s:b, s:o, s:o}", JR_UR_OK, 0, JR_UR_ENTRY, text_or_null(entry),
			 JR_UR_REASON, text_or_null(reason));
}

/* An internal error: a line on stderr, the report if fd 4 takes it, exit status 2. */
static int __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char msg[1024], reason[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(2, "jobrun-unpack: %s\n", msg);
	snprintf(reason, sizeof(reason), "internal error: %s", msg);
	emit(refusal(NULL, reason));
	exit(JR_UNPACK_EXIT_INTERNAL);
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* ==== HOOK: the job config ==================================================================
 * The one place where the job config (the archive's root file --job-conf NAME, or fd 5) becomes
 * the report's "job_conf". Today: its text, as a JSON string (it must be UTF-8). Built with
 * -DJR_UNPACK_PARSE_JOBCONF (and linked with jobconf.o jobreq.o cfgparse.o spec.o, -lconfuse),
 * it is parsed here instead, as the job's uid, with an empty environment, and "job_conf"
 * becomes jr_jobreq_to_json()'s object (jobreq.h); a config that does not parse refuses the
 * archive (exit 1) with entry = the config's name and reason = "file:line: what".
 * Returns 0 with *out (a new reference), 1 refused (reason set), -1 internal (out of memory). */
static int job_conf_value(const char *file, const char *text, size_t len, json_t **out,
			  char *reason, size_t rsz)
{
#ifdef JR_UNPACK_PARSE_JOBCONF
	struct jr_jobreq req;
	struct jr_err err;

	jr_err_clear(&err);
	if (jr_jobconf_parse(text, len, file, &req, &err) < 0) {
		snprintf(reason, rsz, "%s", err.msg);
		return 1;
	}
	*out = jr_jobreq_to_json(&req);
	jr_jobreq_free(&req);
	return *out ? 0 : -1;
#else
	(void)file;
	*out = json_stringn(text, len);
	if (*out)
		return 0;
	if (!jr_utf8_valid(text, len)) {
		snprintf(reason, rsz, "the job config is not UTF-8 text");
		return 1;
	}
	return -1;
#endif
}
/* ==== end of the hook ===================================================================== */

/* The job config on fd 5: 0 with *text (malloc, NUL-terminated), 1 too large, -1 error. */
static int read_conf_fd(char **text, size_t *len)
{
	char *buf = malloc(CONF_MAX + 2);
	size_t got = 0;
	ssize_t n;

	if (!buf)
		return -1;
	for (;;) {
		n = read(CONF_FD, buf + got, CONF_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > CONF_MAX) {
			free(buf);
			return 1;
		}
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}

int main(int argc, char **argv)
{
	struct jr_extract_opts o = {
		.max_entries = DEF_MAX_ENTRIES, .max_bytes = DEF_MAX_BYTES,
		.max_name = DEF_MAX_NAME, .conf_name = "job.conf", .conf_max = CONF_MAX,
		.threads = 1,
	};
	struct jr_extract_result res;
	struct jr_err err;
	struct timespec now;
	struct stat st;
	char *conf_text = NULL, reason[1100];
	const char *conf_from = NULL, *conf_file = NULL, *why;
	size_t conf_len = 0;
	json_t *conf_json, *rep;
	uint64_t v;
	int i, r, fl, no_archive = 0;

	signal(SIGPIPE, SIG_IGN);
	umask(0);  /* modes are given explicitly, whatever the caller's umask */
	/* jansson seeds its hash from /dev/urandom unless given a seed: no path is opened here */
	clock_gettime(CLOCK_MONOTONIC, &now);
	json_object_seed(((size_t)now.tv_nsec ^ (size_t)getpid() << 16) | 1);

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = NULL, *eq = strchr(opt, '=');
		size_t olen = eq ? (size_t)(eq - opt) : strlen(opt);

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(opt, "--no-thread")) {
			o.threads = 0;
			continue;
		}
		if (!strcmp(opt, "--no-archive")) { /* a job with a config and no tarball */
			no_archive = 1;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			fail("option '%s' needs a value (see --help)", opt);
#define IS(name) (olen == strlen(name) && !strncmp(opt, name, olen))
		if (IS("--max-entries")) {
			if (parse_u64(val, &v) < 0)
				fail("--max-entries: '%s' is not a decimal number", val);
			o.max_entries = v;
		} else if (IS("--max-bytes")) {
			if (parse_u64(val, &v) < 0)
				fail("--max-bytes: '%s' is not a decimal number of bytes", val);
			o.max_bytes = v;
		} else if (IS("--max-name")) {
			if (parse_u64(val, &v) < 0 || v < 1 || v > JR_PATH_MAX - 1)
				fail("--max-name: '%s' is not a number from 1 to %d", val,
				     JR_PATH_MAX - 1);
			o.max_name = (size_t)v;
		} else if (IS("--job-conf")) {
			if (!*val) {
				o.conf_name = NULL;
			} else if (jr_path_check_entry(val, JR_PATH_NAME_MAX, &why) < 0 ||
				   strchr(val, '/') || !strcmp(val, ".")) {
				fail("--job-conf: '%s' is not a plain file name", val);
			} else {
				o.conf_name = val;
			}
		} else {
			fail("unknown option '%.*s' (see --help)", (int)olen, opt);
		}
#undef IS
	}

	if (fstat(WS_FD, &st) < 0 || !S_ISDIR(st.st_mode))
		fail("fd 3 is not an open directory (the workspace)");
	fl = fcntl(REPORT_FD, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
		dprintf(2, "jobrun-unpack: fd 4 (the report) is not open for writing\n");
		return JR_UNPACK_EXIT_INTERNAL;
	}
	if (fcntl(CONF_FD, F_GETFD) >= 0) {
		r = read_conf_fd(&conf_text, &conf_len);
		if (r < 0)
			fail("read the job config on fd 5: %s", strerror(errno));
		if (r > 0) {
			snprintf(reason, sizeof(reason), "the job config given to jobrun is larger "
				 "than %d bytes", CONF_MAX);
			if (emit(refusal(NULL, reason)) < 0)
				return JR_UNPACK_EXIT_INTERNAL;
			return JR_UNPACK_EXIT_REFUSED;
		}
		conf_from = "fd5";
		conf_file = "--job-conf";
		o.conf_name = NULL;  /* the archive's job.conf is an ordinary file then */
	}

	jr_err_clear(&err);
	memset(&res, 0, sizeof(res));
	r = no_archive ? 0 : jr_extract(IN_FD, WS_FD, &o, &res, &err);
	if (r < 0)
		fail("%s", err.msg);
	if (r > 0) {
		if (emit(refusal(res.has_entry ? res.entry : NULL, res.reason)) < 0)
			return JR_UNPACK_EXIT_INTERNAL;
		return JR_UNPACK_EXIT_REFUSED;
	}
	if (res.conf) {
		conf_text = res.conf;
		conf_len = res.conf_len;
		res.conf = NULL;
		conf_from = "archive";
		conf_file = o.conf_name;
	}
	conf_json = json_null();
	if (conf_text) {
		r = job_conf_value(conf_file, conf_text, conf_len, &conf_json, reason,
				   sizeof(reason));
		if (r < 0)
			fail("job config: out of memory");
		if (r > 0) {
			if (emit(refusal(conf_from[0] == 'a' ? conf_file : NULL, reason)) < 0)
				return JR_UNPACK_EXIT_INTERNAL;
			return JR_UNPACK_EXIT_REFUSED;
		}
	}
	rep = json_pack("{s:b, s:I, s:I, s:I, s:o, s:o}", JR_UR_OK, 1,
			JR_UR_ENTRIES, (json_int_t)res.entries, JR_UR_BYTES, (json_int_t)res.bytes,
			JR_UR_STRIPPED_SETID, (json_int_t)res.stripped_setid,
			JR_UR_JOB_CONF, conf_json, JR_UR_JOB_CONF_FROM, text_or_null(conf_from));
	free(conf_text);
	jr_extract_result_free(&res);
	if (emit(rep) < 0) {
		dprintf(2, "jobrun-unpack: write the report on fd 4: %s\n", strerror(errno));
		return JR_UNPACK_EXIT_INTERNAL;
	}
	return JR_UNPACK_EXIT_OK;
}
