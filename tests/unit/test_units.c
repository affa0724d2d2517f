/* test_units.c - sizes, durations, CPU counts and plain integers (units.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "units.h"

typedef int (*parser_fn)(const char *s, uint64_t *out);

/* Parse s, expect success and the value want. The output is preset to a sentinel so a parser
 * that "succeeds" without writing is caught too. */
static void ok_value(parser_fn fn, const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeefULL;
	int r = fn(s, &v);

	if (r != 0 || v != want)
		print_error("input '%s': r=%d value=%llu, want 0 and %llu\n", s, r,
			    (unsigned long long)v, (unsigned long long)want);
	assert_int_equal(r, 0);
	assert_int_equal(v, want);
}

/* Expect the error code want (-EINVAL or -ERANGE) and the output left untouched. */
static void rejects(parser_fn fn, const char *s, int want)
{
	uint64_t v = 0xdeadbeefULL;
	int r = fn(s, &v);

	if (r != want)
		print_error("input '%s': r=%d value=%llu, want r=%d\n", s ? s : "(null)", r,
			    (unsigned long long)v, want);
	assert_int_equal(r, want);
	assert_int_equal(v, 0xdeadbeefULL);
}

/* ---- sizes ---------------------------------------------------------------------------- */

static void size_suffixes(void **state)
{
	(void)state;
	ok_value(jr_parse_size, "100", 100);
	ok_value(jr_parse_size, "0", 0);
	ok_value(jr_parse_size, "100B", 100);
	ok_value(jr_parse_size, "512K", 512ULL << 10);
	ok_value(jr_parse_size, "64M", 64ULL << 20);
	ok_value(jr_parse_size, "3G", 3ULL << 30);
	ok_value(jr_parse_size, "2T", 2ULL << 40);
	ok_value(jr_parse_size, "2GiB", 2ULL << 30);
	ok_value(jr_parse_size, "2GB", 2ULL << 30);
	ok_value(jr_parse_size, "1mb", 1ULL << 20);
	ok_value(jr_parse_size, "1KiB", 1024);
	ok_value(jr_parse_size, "7TiB", 7ULL << 40);
}

static void size_case_insensitive(void **state)
{
	(void)state;
	ok_value(jr_parse_size, "64m", 64ULL << 20);
	ok_value(jr_parse_size, "64M", 64ULL << 20);
	ok_value(jr_parse_size, "1gib", 1ULL << 30);
	ok_value(jr_parse_size, "1GIB", 1ULL << 30);
	ok_value(jr_parse_size, "1gIb", 1ULL << 30);
	ok_value(jr_parse_size, "5k", 5120);
	ok_value(jr_parse_size, "5Kb", 5120);
}

static void size_fractions(void **state)
{
	(void)state;
	ok_value(jr_parse_size, "1.5G", 3ULL << 29);
	ok_value(jr_parse_size, "1.5g", 3ULL << 29);
	ok_value(jr_parse_size, "0.5K", 512);
	ok_value(jr_parse_size, "2.25M", (2ULL << 20) + (1ULL << 18));
	ok_value(jr_parse_size, "0.001K", 1);        /* 1.024 rounded down */
	ok_value(jr_parse_size, "0.0001K", 0);       /* 0.1024 rounded down */
	ok_value(jr_parse_size, "1.999K", 2046);     /* 2046.976 rounded down, not up */
	ok_value(jr_parse_size, "1.5B", 1);          /* a suffix makes the fraction legal */
	ok_value(jr_parse_size, "0.5T", 1ULL << 39);
}

/* Many fraction digits: fpart * mult no longer fits in 64 bits; the value must still be exact
 * (rounded down), not the wrapped product. */
static void long_fractions(void **state)
{
	(void)state;
	/* 3.6e9 + floor(0.12345678901 * 3.6e9) */
	ok_value(jr_parse_duration, "1.12345678901h", 4044444440ULL);
	ok_value(jr_parse_duration, "0.999999999999999999h", 3600000000ULL - 1);
	ok_value(jr_parse_duration, "1.1234567890123s", 1123456);
	/* 2^30 + floor(123456789012 * 2^30 / 10^12) */
	ok_value(jr_parse_size, "1.123456789012G", 1206302541ULL);
	/* 2^40 + floor(999999999999 * 2^40 / 10^12) */
	ok_value(jr_parse_size, "1.999999999999T", 2199023255550ULL);
	/* 18 nines: just below 2T */
	ok_value(jr_parse_size, "1.999999999999999999T", (2ULL << 40) - 1);
	/* more than 18 fraction digits: the rest are ignored, the value still rounds down */
	ok_value(jr_parse_size, "1.50000000000000000000000009K", 1536);
	ok_value(jr_parse_size, "0.999999999999999999999M", (1ULL << 20) - 1);
}

static void size_leading_zeros_are_decimal(void **state)
{
	(void)state;
	/* not octal: strtoul(s, 0) and libconfuse read "010" as 8 */
	ok_value(jr_parse_size, "010", 10);
	ok_value(jr_parse_size, "010M", 10ULL << 20);
	ok_value(jr_parse_size, "0008", 8);
	ok_value(jr_parse_size, "09", 9);
}

static void size_rejects_syntax(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+5", " 5", "5 ", "5\n", "\t5", "0x40", "0X40", "1.", ".5", "1.5",
		"12Q", "1e3", "1E3", "NaN", "nan", "inf", "M", "K5", "5KK", "5 K", "5MiBs", "5i",
		"5iB", "1,5G", "1.5.5G", "5_000", "1..5G", "--1", "1-", "5s",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(jr_parse_size, bad[i], -EINVAL);
	rejects(jr_parse_size, NULL, -EINVAL);
}

static void size_overflow(void **state)
{
	(void)state;
	rejects(jr_parse_size, "99999999999999999999", -ERANGE);
	rejects(jr_parse_size, "18446744073709551616", -ERANGE);   /* 2^64 */
	rejects(jr_parse_size, "16777216T", -ERANGE);              /* 2^24 * 2^40 = 2^64 */
	rejects(jr_parse_size, "17179869184G", -ERANGE);           /* 2^34 * 2^30 */
	ok_value(jr_parse_size, "18446744073709551615", UINT64_MAX);
	ok_value(jr_parse_size, "16777215T", UINT64_MAX - ((1ULL << 40) - 1));
}

/* ---- durations ------------------------------------------------------------------------ */

static void duration_values(void **state)
{
	(void)state;
	ok_value(jr_parse_duration, "1.5s", 1500000);
	ok_value(jr_parse_duration, "500ms", 500000);
	ok_value(jr_parse_duration, "2m", 120000000);
	ok_value(jr_parse_duration, "2min", 120000000);
	ok_value(jr_parse_duration, "1h", 3600000000ULL);
	ok_value(jr_parse_duration, "10", 10000000);        /* none = seconds */
	ok_value(jr_parse_duration, "1.5", 1500000);        /* fraction allowed without suffix */
	ok_value(jr_parse_duration, "250us", 250);
	ok_value(jr_parse_duration, "0", 0);
	ok_value(jr_parse_duration, "0.5ms", 500);
	ok_value(jr_parse_duration, "1.5us", 1);            /* rounded down */
	ok_value(jr_parse_duration, "0.25h", 900000000);
	ok_value(jr_parse_duration, "010", 10000000);       /* decimal, not octal */
	ok_value(jr_parse_duration, "1.000001s", 1000001);
	ok_value(jr_parse_duration, "1.0000009s", 1000000);
	/* case */
	ok_value(jr_parse_duration, "500MS", 500000);
	ok_value(jr_parse_duration, "3S", 3000000);
	ok_value(jr_parse_duration, "1H", 3600000000ULL);
	ok_value(jr_parse_duration, "7US", 7);
}

static void duration_rejects(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+5", " 5", "5 ", "0x40", "1.", ".5", "12Q", "1e3", "NaN", "s", "5 s",
		"5sec", "5w", "5ns", "5M5", "1.5.s", "5msx", "1h30m",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(jr_parse_duration, bad[i], -EINVAL);
	rejects(jr_parse_duration, NULL, -EINVAL);
	rejects(jr_parse_duration, "99999999999999999999", -ERANGE);
	rejects(jr_parse_duration, "18446744073710s", -ERANGE);    /* * 10^6 > 2^64 */
	rejects(jr_parse_duration, "5124095576030432h", -ERANGE);
	ok_value(jr_parse_duration, "18446744073709us", 18446744073709ULL);
}

/* ---- CPUs ----------------------------------------------------------------------------- */

static void cpus_values(void **state)
{
	(void)state;
	ok_value(jr_parse_cpus, "0.5", 500);
	ok_value(jr_parse_cpus, "2", 2000);
	ok_value(jr_parse_cpus, "0.125", 125);
	ok_value(jr_parse_cpus, "1.25", 1250);
	ok_value(jr_parse_cpus, "0.001", 1);
	ok_value(jr_parse_cpus, "0.1", 100);
	ok_value(jr_parse_cpus, "0.10", 100);
	ok_value(jr_parse_cpus, "0.100", 100);
	ok_value(jr_parse_cpus, "010", 10000);
	ok_value(jr_parse_cpus, "64", 64000);
}

static void cpus_rejects(void **state)
{
	static const char *const bad[] = {
		"", "0.1234", "0.0001", "1.0000", "-1", "+1", " 1", "1 ", "1.", ".5", "0x2", "1e3",
		"NaN", "1m", "1s", "1K", "2cpu", "0.5.5",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(jr_parse_cpus, bad[i], -EINVAL);
	rejects(jr_parse_cpus, NULL, -EINVAL);
	rejects(jr_parse_cpus, "99999999999999999999", -ERANGE);
	rejects(jr_parse_cpus, "18446744073709552", -ERANGE);      /* * 1000 > 2^64 */
	/* the whole part fits, the fraction carries it past 2^64 - 1 */
	rejects(jr_parse_cpus, "18446744073709551.616", -ERANGE);
	ok_value(jr_parse_cpus, "18446744073709551.615", UINT64_MAX);
}

/* ---- plain integers ------------------------------------------------------------------- */

static void uint_values(void **state)
{
	(void)state;
	ok_value(jr_parse_uint, "0", 0);
	ok_value(jr_parse_uint, "7", 7);
	ok_value(jr_parse_uint, "010", 10);
	ok_value(jr_parse_uint, "00", 0);
	ok_value(jr_parse_uint, "4294967296", 4294967296ULL);
	ok_value(jr_parse_uint, "18446744073709551615", UINT64_MAX);
}

static void uint_rejects(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+5", " 5", "5 ", "0x40", "1.", ".5", "1.5", "1.0", "12Q", "1e3", "NaN",
		"5K", "5s", "0b1", "1_000",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(jr_parse_uint, bad[i], -EINVAL);
	rejects(jr_parse_uint, NULL, -EINVAL);
	rejects(jr_parse_uint, "18446744073709551616", -ERANGE);
	rejects(jr_parse_uint, "99999999999999999999", -ERANGE);
}

/* ---- formatting ----------------------------------------------------------------------- */

static void format_size(void **state)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 100, "100" },
		{ 1023, "1023" },
		{ 1024, "1K" },
		{ 1536, "1536" },
		{ 1536ULL << 10, "1536K" },
		{ 64ULL << 20, "64M" },
		{ 1ULL << 20, "1M" },
		{ 3ULL << 29, "1536M" },
		{ 2ULL << 30, "2G" },
		{ 1ULL << 40, "1T" },
		{ 1ULL << 50, "1024T" },
		{ (1ULL << 30) + 1, "1073741825" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_ptr_equal(jr_format_size(cases[i].v, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void format_size_round_trips(void **state)
{
	static const uint64_t values[] = {
		0, 1, 999, 1024, 4096, 65536, 64ULL << 20, 3ULL << 29, 5ULL << 40, 12345678,
		UINT64_MAX,
	};
	char buf[32];
	uint64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		jr_format_size(values[i], buf, sizeof(buf));
		assert_int_equal(jr_parse_size(buf, &back), 0);
		assert_int_equal(back, values[i]);
	}
}

static void format_size_short_buffer(void **state)
{
	char buf[4];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	jr_format_size(123456, buf, sizeof(buf));
	assert_int_equal(buf[3], '\0');   /* truncated, still terminated */
	assert_string_equal(buf, "123");
}

/* ---- CPU lists ---------------------------------------------------------------------------- */

static void cpulist_ok(const char *s, const char *canonical, unsigned count)
{
	struct jr_cpuset set;
	const char *why = NULL;
	char buf[128];
	int r = jr_parse_cpulist(s, &set, &why);

	if (r != 0)
		print_error("'%s': %s\n", s, why);
	assert_int_equal(r, 0);
	assert_string_equal(jr_format_cpulist(&set, buf, sizeof(buf)), canonical);
	assert_int_equal(jr_cpuset_count(&set), count);
}

static void cpulist_bad(const char *s, const char *why_want)
{
	struct jr_cpuset set;
	const char *why = NULL;

	assert_int_equal(jr_parse_cpulist(s, &set, &why), -EINVAL);
	assert_non_null(why);
	if (strcmp(why, why_want))
		print_error("'%s': why='%s', want '%s'\n", s, why, why_want);
	assert_string_equal(why, why_want);
}

static void cpulist_values(void **state)
{
	(void)state;
	cpulist_ok("0", "0", 1);
	cpulist_ok("0-3", "0-3", 4);
	cpulist_ok("3,0-1", "0-1,3", 3);
	cpulist_ok("0-1,1-2", "0-2", 3);           /* overlaps are the kernel's business too */
	cpulist_ok("2-2", "2", 1);
	cpulist_ok("010", "10", 1);                 /* decimal */
	cpulist_ok("0-3,8,10-11\n", "0-3,8,10-11", 7); /* as sysfs writes it */
	cpulist_ok("8191", "8191", 1);
	cpulist_ok("0-8191", "0-8191", 8192);
}

static void cpulist_rejects(void **state)
{
	(void)state;
	cpulist_bad("5-2", "has a reversed range (write the lower CPU first: 2-5, not 5-2)");
	cpulist_bad("", "is empty");
	cpulist_bad("\n", "is empty");
	cpulist_bad(",", "is not a CPU list (0-3,8)");
	cpulist_bad("0,", "is not a CPU list (0-3,8)");
	cpulist_bad("0,,1", "is not a CPU list (0-3,8)");
	cpulist_bad("-1", "is not a CPU list (0-3,8)");
	cpulist_bad("1-", "is not a CPU list (0-3,8)");
	cpulist_bad("1--2", "is not a CPU list (0-3,8)");
	cpulist_bad("1-2-3", "is not a CPU list (0-3,8)");
	cpulist_bad(" 1", "is not a CPU list (0-3,8)");
	cpulist_bad("1 ", "is not a CPU list (0-3,8)");
	cpulist_bad("+1", "is not a CPU list (0-3,8)");
	cpulist_bad("0x1", "is not a CPU list (0-3,8)");
	cpulist_bad("0-7:2/4", "is not a CPU list (0-3,8)");   /* the kernel's strides: not here */
	cpulist_bad("1\n\n", "is not a CPU list (0-3,8)");
	cpulist_bad("8192", "names a CPU beyond the 8192 jobrun knows");
	cpulist_bad("99999999999999999999", "names a CPU beyond the 8192 jobrun knows");
	cpulist_bad("0-8192", "names a CPU beyond the 8192 jobrun knows");
}

static void cpuset_ops(void **state)
{
	struct jr_cpuset a, b;
	char buf[8];

	(void)state;
	assert_int_equal(jr_parse_cpulist("1,3,70", &a, NULL), 0);
	assert_int_equal(jr_parse_cpulist("0-3", &b, NULL), 0);
	assert_true(jr_cpuset_has(&a, 70));
	assert_false(jr_cpuset_has(&a, 2));
	assert_false(jr_cpuset_has(&a, 100000));
	assert_int_equal(jr_cpuset_first_missing(&a, &b), 70);
	assert_int_equal(jr_cpuset_first_missing(&b, &a), 0);
	assert_int_equal(jr_parse_cpulist("1,3", &a, NULL), 0);
	assert_int_equal(jr_cpuset_first_missing(&a, &b), -1);
	/* a buffer too small: cut, marked, terminated */
	assert_int_equal(jr_parse_cpulist("0,2,4,6,8,10", &a, NULL), 0);
	assert_string_equal(jr_format_cpulist(&a, buf, sizeof(buf)), "0,2,...");
	memset(&a, 0, sizeof(a));
	assert_string_equal(jr_format_cpulist(&a, buf, sizeof(buf)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_suffixes),
		cmocka_unit_test(size_case_insensitive),
		cmocka_unit_test(size_fractions),
		cmocka_unit_test(long_fractions),
		cmocka_unit_test(size_leading_zeros_are_decimal),
		cmocka_unit_test(size_rejects_syntax),
		cmocka_unit_test(size_overflow),
		cmocka_unit_test(duration_values),
		cmocka_unit_test(duration_rejects),
		cmocka_unit_test(cpus_values),
		cmocka_unit_test(cpus_rejects),
		cmocka_unit_test(uint_values),
		cmocka_unit_test(uint_rejects),
		cmocka_unit_test(format_size),
		cmocka_unit_test(format_size_round_trips),
		cmocka_unit_test(format_size_short_buffer),
		cmocka_unit_test(cpulist_values),
		cmocka_unit_test(cpulist_rejects),
		cmocka_unit_test(cpuset_ops),
	};

	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
