/* acct.c - parsers of cgroup accounting files. Pure: text in, numbers out. */
#include "acct.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int read_u64(const char **sp, uint64_t *v)
{
	const char *s = *sp;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	*sp = s;
	return 0;
}

int jr_acct_value(const char *text, uint64_t *v)
{
	const char *s = text;

	if (!strncmp(s, "max", 3) && (s[3] == '\0' || s[3] == '\n')) {
		*v = UINT64_MAX;
		return 0;
	}
	if (read_u64(&s, v) < 0)
		return -EINVAL;
	return (*s == '\0' || *s == '\n') ? 0 : -EINVAL;
}

int jr_acct_keyed(const char *text, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			const char *s = line + klen + 1;

			return read_u64(&s, v) == 0 ? 0 : -EINVAL;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int jr_acct_io_stat(const char *text, struct jr_usage *u)
{
	static const char *const keys[] = { "rbytes=", "wbytes=", "rios=", "wios=" };
	uint64_t *dst[4] = { &u->io_rbytes, &u->io_wbytes, &u->io_rios, &u->io_wios };
	const char *p = text;
	int i;

	u->io_rbytes = u->io_wbytes = u->io_rios = u->io_wios = 0;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);

		for (i = 0; i < 4; i++) {
			const char *k = p;
			size_t kl = strlen(keys[i]);

			while ((k = strstr(k, keys[i])) && k < end) {
				if (k == p || k[-1] == ' ') {
					const char *s = k + kl;
					uint64_t v;

					if (read_u64(&s, &v) == 0)
						*dst[i] += v;
					break;
				}
				k += kl;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	u->have_io = true;
	return 0;
}

int jr_acct_blkio(const char *text, uint64_t *read, uint64_t *write)
{
	const char *p = text;

	*read = *write = 0;
	while (p && *p) {
		const char *sp = strchr(p, ' ');
		const char *eol = strchr(p, '\n');

		/* "MAJ:MIN Op N"; the closing "Total N" line has no device */
		if (sp && (!eol || sp < eol) && strchr(p, ':') && strchr(p, ':') < sp) {
			const char *op = sp + 1;
			const char *num = strchr(op, ' ');
			uint64_t v;

			if (num && (!eol || num < eol)) {
				num++;
				if (read_u64(&num, &v) == 0) {
					if (!strncmp(op, "Read ", 5))
						*read += v;
					else if (!strncmp(op, "Write ", 6))
						*write += v;
				}
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}
