/* units.c - parsers for sizes, durations and CPU counts. */
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct suffix {
	const char *name;
	uint64_t mult;
};

/* Multiply a decimal number "ipart.fpart" (fpart given as digits and their count) by mult,
 * rounding down, checking for overflow. */
static int scale(uint64_t ipart, uint64_t fpart, unsigned fdigits, uint64_t mult,
		 uint64_t *out)
{
	uint64_t pow10 = 1, whole, frac;
	unsigned i;

	if (ipart && mult > UINT64_MAX / ipart)
		return -ERANGE;
	whole = ipart * mult;
	for (i = 0; i < fdigits; i++)
		pow10 *= 10;
	/* fpart < pow10 <= 10^18, so the quotient is below mult; the product needs 128 bits */
	frac = (uint64_t)((unsigned __int128)fpart * mult / pow10);
	if (whole > UINT64_MAX - frac)
		return -ERANGE;
	*out = whole + frac;
	return 0;
}

/* Read "digits[.digits]" from *sp. At most 18 fraction digits are kept. */
static int read_decimal(const char **sp, uint64_t *ipart, uint64_t *fpart, unsigned *fdigits,
			int *has_dot)
{
	const char *s = *sp;
	uint64_t v = 0;
	int any = 0;

	*fpart = 0;
	*fdigits = 0;
	*has_dot = 0;
	for (; *s >= '0' && *s <= '9'; s++, any = 1) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		int fany = 0;

		*has_dot = 1;
		for (s++; *s >= '0' && *s <= '9'; s++, fany = 1) {
			if (*fdigits < 18) {
				*fpart = *fpart * 10 + (uint64_t)(*s - '0');
				(*fdigits)++;
			}
		}
		if (!fany)
			return -EINVAL;
	}
	if (!any)
		return -EINVAL;
	*ipart = v;
	*sp = s;
	return 0;
}

static int parse_scaled(const char *s, const struct suffix *suffixes, uint64_t dflt,
			int frac_needs_suffix, uint64_t *out)
{
	uint64_t ipart, fpart, mult = dflt;
	unsigned fdigits;
	int has_dot, r;

	if (!s || !*s)
		return -EINVAL;
	r = read_decimal(&s, &ipart, &fpart, &fdigits, &has_dot);
	if (r < 0)
		return r;
	if (*s) {
		const struct suffix *x;

		for (x = suffixes; x->name; x++)
			if (!strcasecmp(s, x->name))
				break;
		if (!x->name)
			return -EINVAL;
		mult = x->mult;
	} else if (has_dot && frac_needs_suffix) {
		return -EINVAL;
	}
	return scale(ipart, fpart, fdigits, mult, out);
}

int jr_parse_size(const char *s, uint64_t *bytes)
{
	static const struct suffix sfx[] = {
		{ "b", 1 },
		{ "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kib", 1ULL << 10 },
		{ "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
		{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 },
		{ "t", 1ULL << 40 }, { "tb", 1ULL << 40 }, { "tib", 1ULL << 40 },
		{ NULL, 0 },
	};

	return parse_scaled(s, sfx, 1, 1, bytes);
}

int jr_parse_duration(const char *s, uint64_t *usec)
{
	static const struct suffix sfx[] = {
		{ "us", 1 },
		{ "ms", 1000 },
		{ "s", 1000000 },
		{ "m", 60ULL * 1000000 }, { "min", 60ULL * 1000000 },
		{ "h", 3600ULL * 1000000 },
		{ "d", 86400ULL * 1000000 },
		{ NULL, 0 },
	};

	return parse_scaled(s, sfx, 1000000, 0, usec);
}

int jr_parse_cpus(const char *s, uint64_t *millicpus)
{
	static const struct suffix none[] = { { NULL, 0 } };
	const char *dot = s ? strchr(s, '.') : NULL;

	if (dot && strlen(dot + 1) > 3)
		return -EINVAL;
	return parse_scaled(s, none, 1000, 0, millicpus);
}

int jr_parse_uint(const char *s, uint64_t *value)
{
	uint64_t ipart, fpart;
	unsigned fdigits;
	int has_dot, r;

	if (!s)
		return -EINVAL;
	r = read_decimal(&s, &ipart, &fpart, &fdigits, &has_dot);
	if (r < 0)
		return r;
	if (*s || has_dot)
		return -EINVAL;
	*value = ipart;
	return 0;
}

/* One CPU number of a list: digits only (no sign, no blank), below JR_CPUS_MAX. */
static int read_cpu(const char **sp, unsigned *cpu, const char **why)
{
	const char *s = *sp;
	unsigned v = 0;

	if (*s < '0' || *s > '9') {
		*why = "is not a CPU list (0-3,8)";
		return -EINVAL;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= JR_CPUS_MAX) {
			*why = "names a CPU beyond the 8192 jobrun knows";
			return -EINVAL;
		}
	}
	*cpu = v;
	*sp = s;
	return 0;
}

int jr_parse_cpulist(const char *s, struct jr_cpuset *set, const char **why)
{
	const char *dummy;
	unsigned a, b, c;

	if (!why)
		why = &dummy;
	memset(set, 0, sizeof(*set));
	if (!s || !*s || !strcmp(s, "\n")) {
		*why = "is empty";
		return -EINVAL;
	}
	for (;;) {
		if (read_cpu(&s, &a, why) < 0)
			return -EINVAL;
		b = a;
		if (*s == '-') {
			s++;
			if (read_cpu(&s, &b, why) < 0)
				return -EINVAL;
			if (b < a) {
				*why = "has a reversed range (write the lower CPU first: 2-5, not 5-2)";
				return -EINVAL;
			}
		}
		for (c = a; c <= b; c++)
			set->bits[c / 64] |= 1ULL << (c % 64);
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '\0' || (*s == '\n' && s[1] == '\0'))
			return 0;
		*why = "is not a CPU list (0-3,8)";
		return -EINVAL;
	}
}

int jr_cpuset_has(const struct jr_cpuset *set, unsigned cpu)
{
	return cpu < JR_CPUS_MAX && (set->bits[cpu / 64] >> (cpu % 64) & 1);
}

int jr_cpuset_first_missing(const struct jr_cpuset *a, const struct jr_cpuset *b)
{
	unsigned i;

	for (i = 0; i < JR_CPUS_MAX / 64; i++) {
		uint64_t m = a->bits[i] & ~b->bits[i];

		if (m)
			return (int)(i * 64 + (unsigned)__builtin_ctzll(m));
	}
	return -1;
}

unsigned jr_cpuset_count(const struct jr_cpuset *set)
{
	unsigned i, n = 0;

	for (i = 0; i < JR_CPUS_MAX / 64; i++)
		n += (unsigned)__builtin_popcountll(set->bits[i]);
	return n;
}

const char *jr_format_cpulist(const struct jr_cpuset *set, char *buf, size_t len)
{
	size_t o = 0;
	int n;
	unsigned a, b;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (a = 0; a < JR_CPUS_MAX; a = b + 1) {
		if (!jr_cpuset_has(set, a)) {
			b = a;
			continue;
		}
		for (b = a; b + 1 < JR_CPUS_MAX && jr_cpuset_has(set, b + 1); b++)
			;
		n = a == b ? snprintf(buf + o, len - o, "%s%u", o ? "," : "", a)
			   : snprintf(buf + o, len - o, "%s%u-%u", o ? "," : "", a, b);
		if (n < 0 || (size_t)n >= len - o) {
			if (len >= 4)
				snprintf(buf + (o < len - 4 ? o : len - 4), 4, "...");
			return buf;
		}
		o += (size_t)n;
	}
	return buf;
}

const char *jr_format_size(uint64_t bytes, char *buf, unsigned len)
{
	static const char units[] = "KMGT";
	int i;

	for (i = 3; i >= 0; i--) {
		uint64_t m = 1ULL << (10 * (i + 1));

		if (bytes && bytes % m == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(bytes / m), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}
