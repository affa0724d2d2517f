/* Unit tests: archive entry names and link targets (pathcheck.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pathcheck.h"

/* Clean s (a C string) with max_name; returns the length, out holds the normalised name. */
static long clean(const char *s, size_t max_name, char *out, const char **why)
{
	*why = NULL;
	return jr_path_clean(s, strlen(s), max_name, out, JR_PATH_MAX, why);
}

static void assert_clean(const char *in, const char *want)
{
	char out[JR_PATH_MAX];
	const char *why;
	long n = clean(in, 4095, out, &why);

	if (n < 0)
		fail_msg("'%s' refused: %s", in, why);
	assert_string_equal(out, want);
	assert_int_equal(n, (long)strlen(want));
	assert_int_equal(jr_path_check_entry(in, 4095, &why), 0);
}

static void assert_refused(const char *in, size_t len, const char *why_part)
{
	char out[JR_PATH_MAX];
	const char *why = NULL;
	long n = jr_path_clean(in, len, 4095, out, sizeof(out), &why);

	if (n >= 0)
		fail_msg("'%.*s' accepted as '%s'", (int)len, in, out);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("'%.*s': reason '%s' lacks '%s'", (int)len, in, why, why_part);
}

#define REFUSED(s, part) assert_refused(s, sizeof(s) - 1, part)

static void plain_names(void **state)
{
	(void)state;
	assert_clean("a", "a");
	assert_clean("a/b/c.txt", "a/b/c.txt");
	assert_clean("...", "...");            /* three dots: an ordinary name */
	assert_clean(".../", "...");
	assert_clean(".hidden", ".hidden");
	assert_clean("..a", "..a");
	assert_clean("a..", "a..");
	assert_clean("a/..b/c", "a/..b/c");
	assert_clean("\\", "\\");              /* a backslash is no separator on Linux */
	assert_clean("..\\x", "..\\x");
	assert_clean("a\\..\\b", "a\\..\\b");
	assert_clean("C:/x", "C:/x");
	assert_clean("sp ace/t~ilde$", "sp ace/t~ilde$");
}

static void normalised_names(void **state)
{
	(void)state;
	assert_clean("./x", "x");              /* what `tar -C dir .` writes */
	assert_clean("x/./y", "x/y");
	assert_clean("././x/./././y/.", "x/y");
	assert_clean("a//b", "a/b");
	assert_clean("a///b//", "a/b");
	assert_clean("dir/", "dir");           /* a trailing slash */
	assert_clean("./dir/", "dir");
}

static void root_names(void **state)
{
	char out[JR_PATH_MAX];
	const char *why;

	(void)state;
	assert_int_equal(clean(".", 4095, out, &why), 0);
	assert_string_equal(out, "");
	assert_int_equal(clean("./", 4095, out, &why), 0);
	assert_int_equal(clean(".//./", 4095, out, &why), 0);
}

static void refused_names(void **state)
{
	(void)state;
	REFUSED("", "empty");
	REFUSED("/", "absolute");
	REFUSED("/etc/passwd", "absolute");
	REFUSED("//x", "absolute");
	REFUSED("..", "'..'");
	REFUSED("../x", "'..'");
	REFUSED("./../x", "'..'");
	REFUSED("a/..", "'..'");
	REFUSED("a/../b", "'..'");             /* even when it would stay inside */
	REFUSED("a/../../b", "'..'");
	REFUSED("x/../", "'..'");
	REFUSED("a/b/../../../etc", "'..'");
	REFUSED("a//..//b", "'..'");
}

static void control_and_nul(void **state)
{
	(void)state;
	REFUSED("a\nb", "control");
	REFUSED("a\rb", "control");
	REFUSED("\tx", "control");
	REFUSED("x\x1b[31m", "control");
	REFUSED("x\x7f", "control");
	REFUSED("x\x01", "control");
	REFUSED("a\0b", "NUL");                /* a NUL inside the given length */
	REFUSED("a/\0", "NUL");
}

static void utf8(void **state)
{
	(void)state;
	assert_clean("\xc3\xa9t\xc3\xa9/\xe2\x98\x83.txt", "\xc3\xa9t\xc3\xa9/\xe2\x98\x83.txt");
	assert_clean("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");            /* U+1F600 */
	assert_clean("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");            /* U+10FFFF */
	assert_clean("\xef\xbb\xbf" "bom", "\xef\xbb\xbf" "bom");
	REFUSED("\xff", "UTF-8");
	REFUSED("\x80", "UTF-8");                   /* a lone continuation byte */
	REFUSED("a\xc3", "UTF-8");                  /* cut sequence */
	REFUSED("\xe2\x98", "UTF-8");
	REFUSED("\xc0\xaf", "UTF-8");               /* overlong '/' */
	REFUSED("\xc1\xbf", "UTF-8");
	REFUSED("\xe0\x80\xaf", "UTF-8");           /* overlong '/' in 3 bytes */
	REFUSED("\xf0\x80\x80\xaf", "UTF-8");       /* ... and 4 */
	REFUSED("\xc0\xae\xc0\xae/x", "UTF-8");     /* overlong "..": never a '..' by stealth */
	REFUSED("\xed\xa0\x80", "UTF-8");           /* a surrogate */
	REFUSED("\xf4\x90\x80\x80", "UTF-8");       /* beyond U+10FFFF */
	REFUSED("\xf5\x80\x80\x80", "UTF-8");
	REFUSED("\xe2\x28\xa1", "UTF-8");
	/* C1 controls are valid UTF-8, and controls all the same (U+009B is a terminal's CSI) */
	REFUSED("\xc2\x85x", "control");
	REFUSED("\xc2\x9b" "31m", "control");
	assert_clean("\xc2\xa0nbsp", "\xc2\xa0nbsp");
}

static void lengths(void **state)
{
	char name[5000], out[JR_PATH_MAX];
	const char *why;
	size_t i;

	(void)state;
	/* max_name counts the raw name */
	assert_int_equal(clean("abcdef", 6, out, &why), 6);
	assert_true(clean("abcdef", 5, out, &why) < 0);
	assert_non_null(strstr(why, "--max-name"));
	assert_true(clean("./abc", 4, out, &why) < 0);  /* raw length 5 */

	/* a component of 255 bytes is fine, 256 is not (NAME_MAX) */
	memset(name, 'x', 255);
	name[255] = '\0';
	assert_int_equal(clean(name, 4095, out, &why), 255);
	memset(name, 'x', 256);
	name[256] = '\0';
	assert_true(clean(name, 4095, out, &why) < 0);
	assert_non_null(strstr(why, "255"));

	/* 4095 bytes in all (16 components of 255 = 4095 with slashes: 16*255+15 = 4095) */
	for (i = 0; i < 4095; i++)
		name[i] = (i % 256 == 255) ? '/' : 'y';
	name[4095] = '\0';
	assert_int_equal(clean(name, 4095, out, &why), 4095);
	name[4095] = 'z';
	name[4096] = '\0';
	assert_true(clean(name, 4096, out, &why) < 0);
	assert_non_null(strstr(why, "4095"));
	/* the C-string wrapper refuses anything longer than PATH_MAX without reading past it */
	memset(name, 'q', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(jr_path_check_entry(name, 4095, &why), -1);
}

static void assert_link(const char *entry, const char *target, int ok, const char *why_part)
{
	const char *why = NULL;
	int r = jr_path_check_link(entry, target, &why);

	if (ok && r != 0)
		fail_msg("%s -> %s refused: %s", entry, target, why);
	if (!ok && r == 0)
		fail_msg("%s -> %s accepted", entry, target);
	if (!ok && !strstr(why, why_part))
		fail_msg("%s -> %s: reason '%s' lacks '%s'", entry, target, why, why_part);
}

static void links(void **state)
{
	(void)state;
	/* "../x" from a/b resolves to x: inside; from a (the root's child) it leaves */
	assert_link("a/b", "../x", 1, NULL);
	assert_link("a", "../x", 0, "leaves");
	assert_link("a/b/c", "../../x", 1, NULL);
	assert_link("a/b/c", "../../../x", 0, "leaves");
	assert_link("a/b", "..", 1, NULL);          /* the root itself */
	assert_link("a", "..", 0, "leaves");
	assert_link("a/b", "./../x", 1, NULL);
	assert_link("a/b", ".././../x", 0, "leaves");
	assert_link("x", "y", 1, NULL);
	assert_link("x", ".", 1, NULL);
	assert_link("x", "./", 1, NULL);
	assert_link("x", "d//e/", 1, NULL);
	assert_link("d/x", "e/f/g", 1, NULL);
	assert_link("d/x", "...", 1, NULL);
	/* absolute targets */
	assert_link("a", "/etc", 0, "absolute");
	assert_link("a/b/c", "/", 0, "absolute");
	assert_link("a", "//etc/shadow", 0, "absolute");
	/* ".." after a name: refused, as the name may itself be a symlink */
	assert_link("a/b", "c/../x", 0, "after a name");
	assert_link("a/b/c", "../x/../y", 0, "after a name");
	assert_link("d/l", "a/../..", 0, "after a name");
	/* bad text */
	assert_link("a", "", 0, "empty");
	assert_link("a", "x\ny", 0, "control");
	assert_link("a", "\xff", 0, "UTF-8");
	/* a link needs a clean name of its own */
	assert_link("", "x", 0, "name");
	assert_link("/a", "x", 0, "clean");
	assert_link("../a", "x", 0, "clean");
}

static void long_link(void **state)
{
	char t[5000];

	(void)state;
	memset(t, 'a', 4095);
	t[4095] = '\0';
	assert_link("x", t, 1, NULL);
	memset(t, 'a', sizeof(t) - 1);
	t[sizeof(t) - 1] = '\0';
	assert_link("x", t, 0, "4095");
}

static void printable(void **state)
{
	char out[64], big[600];
	size_t n;

	(void)state;
	n = jr_path_printable("abc", 3, out, sizeof(out));
	assert_string_equal(out, "abc");
	assert_int_equal(n, 3);
	jr_path_printable("a\nb", 3, out, sizeof(out));
	assert_string_equal(out, "a\\x0ab");
	jr_path_printable("a\0b", 3, out, sizeof(out));
	assert_string_equal(out, "a\\x00b");
	jr_path_printable("\xff\xc3\xa9", 3, out, sizeof(out));
	assert_string_equal(out, "\\xff\xc3\xa9");
	jr_path_printable("\xc2\x9b", 2, out, sizeof(out));
	assert_string_equal(out, "\\xc2\\x9b");
	/* cut with "...", on a character boundary, NUL-terminated, valid UTF-8 */
	memset(big, 0, sizeof(big));
	for (n = 0; n + 2 <= 300; n += 2)
		memcpy(big + n, "\xc3\xa9", 2);
	n = jr_path_printable(big, 300, out, sizeof(out));
	assert_true(n < sizeof(out));
	assert_int_equal(strlen(out), n);
	assert_string_equal(out + n - 3, "...");
	assert_true(jr_utf8_valid(out, n));
	jr_path_printable("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"
			  "\x13\x14", 20, out, 16);
	assert_true(strlen(out) < 16);
	assert_string_equal(out + strlen(out) - 3, "...");
}

static void utf8_valid(void **state)
{
	(void)state;
	assert_true(jr_utf8_valid("", 0));
	assert_true(jr_utf8_valid("a\0b", 3));
	assert_true(jr_utf8_valid("\xe2\x98\x83", 3));
	assert_false(jr_utf8_valid("\xe2\x98", 2));
	assert_false(jr_utf8_valid("\xed\xbf\xbf", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_names),
		cmocka_unit_test(normalised_names),
		cmocka_unit_test(root_names),
		cmocka_unit_test(refused_names),
		cmocka_unit_test(control_and_nul),
		cmocka_unit_test(utf8),
		cmocka_unit_test(lengths),
		cmocka_unit_test(links),
		cmocka_unit_test(long_link),
		cmocka_unit_test(printable),
		cmocka_unit_test(utf8_valid),
	};

	return cmocka_run_group_tests_name("pathcheck", tests, NULL, NULL);
}
