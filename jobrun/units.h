/* units.h - the units people write: sizes (64M, 1.5G), durations (1.5s, 500ms, 2m), CPUs (0.5).
 * Pure functions; no libc number parser is used (strtoul reads "010" as 8 in base 0 and skips
 * leading blanks and signs). Each returns 0 or -EINVAL (syntax) / -ERANGE (overflow). */
#ifndef JR_UNITS_H
#define JR_UNITS_H

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

/* Human form of a size for messages: "64M", "1536K", "100". buf of at least 32 bytes. */
const char *jr_format_size(uint64_t bytes, char *buf, unsigned len);

#endif
