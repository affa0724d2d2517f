/* units.h - the units people write: sizes (64M, 1.5G), durations (1.5s, 500ms, 2m), CPUs (0.5).
 * Pure functions; no libc number parser is used (strtoul reads "010" as 8 in base 0 and skips
 * leading blanks and signs). Each returns 0 or -EINVAL (syntax) / -ERANGE (overflow). */
#ifndef JR_UNITS_H
#define JR_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes. Suffixes K M G T (powers of 1024), optionally followed by "B" or "iB"; none = bytes.
 * Case-insensitive. A fraction is allowed with a suffix ("1.5G"); the result is rounded down. */
int jr_parse_size(const char *s, uint64_t *bytes);

/* Microseconds. Suffixes us, ms, s, m, h; none = seconds. "1.5s", "500ms", "2m", "10". */
int jr_parse_duration(const char *s, uint64_t *usec);

/* Thousandths of a CPU: "0.5" -> 500, "2" -> 2000. At most three decimals. */
int jr_parse_cpus(const char *s, uint64_t *millicpus);

/* A plain non-negative decimal integer (no sign, no base prefix, no blanks). */
int jr_parse_uint(const char *s, uint64_t *value);

/* A set of CPUs by number, as the kernel's CPU lists name them. */
#define JR_CPUS_MAX 8192
struct jr_cpuset {
	uint64_t bits[JR_CPUS_MAX / 64];
};

/* A CPU list as the kernel writes and reads it: "0-3,8,10-11". Decimal CPU numbers and
 * ranges A-B with A <= B, separated by single commas; no blank, no empty element, no sign, no
 * stride. A trailing newline (sysfs) is allowed. Sets exactly those CPUs in *set. Returns 0, or
 * -EINVAL with *why (when why is not NULL) = "is not a CPU list (0-3,8)", "has a reversed
 * range (5-2: write 2-5)", "names CPU 9000, beyond the 8192 jobrun knows"... */
int jr_parse_cpulist(const char *s, struct jr_cpuset *set, const char **why);

/* Is cpu in set? The first CPU of a that is not in b, or -1 when a is a subset of b. The
 * number of CPUs in set. */
int jr_cpuset_has(const struct jr_cpuset *set, unsigned cpu);
int jr_cpuset_first_missing(const struct jr_cpuset *a, const struct jr_cpuset *b);
unsigned jr_cpuset_count(const struct jr_cpuset *set);

/* The CPU list of set ("0-3,8"; "" when empty), cut short with "..." when buf is too small. */
const char *jr_format_cpulist(const struct jr_cpuset *set, char *buf, size_t len);

/* Human form of a size for messages: "64M", "1536K", "100". buf of at least 32 bytes. */
const char *jr_format_size(uint64_t bytes, char *buf, unsigned len);

#endif
