/* fuzz_pathcheck.c - libFuzzer target for the archive path checks (pathcheck.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ijobrun \
 *       -o build/fuzz_pathcheck tests/fuzz/fuzz_pathcheck.c jobrun/pathcheck.c
 *   build/fuzz_pathcheck -max_total_time=60 -max_len=6000 [CORPUS_DIR]
 *
 * Built with -DJR_FUZZ_STANDALONE (any compiler, no libFuzzer) it runs the files named on its
 * command line once each, to replay a crash or a corpus in CI.
 *
 * Input: 2 bytes (little-endian) = the name's length L, 1 byte = max_name / 16, then L bytes
 * of entry name (NUL bytes included), then a symlink target (up to its first NUL).
 * Checked on every input, beyond "no crash, no sanitizer report":
 * - an accepted name is normalised: no empty, "." or ".." component, no leading or trailing
 *   '/', valid UTF-8 without control characters, components <= 255 bytes, not longer than the
 *   input, and cleaning it again gives it back unchanged;
 * - an accepted symlink target, resolved from the link's directory with every name in it
 *   taken to be a symlink to the root or to its own parent (the worst case), never goes above
 *   the root;
 * - jr_path_printable always gives NUL-terminated, valid UTF-8 without control characters. */
#include "pathcheck.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_pathcheck: invariant broken: %s\n", what);
		abort();
	}
}

static int has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 1;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0)
			return 1;
	}
	return 0;
}

static void check_clean_form(const char *out, long n, size_t inlen)
{
	size_t i, start;

	check((size_t)n == strlen(out), "length matches");
	check((size_t)n <= inlen, "not longer than the input");
	check(jr_utf8_valid(out, (size_t)n), "valid UTF-8");
	check(!has_control(out, (size_t)n), "no control character");
	if (n == 0)
		return;
	check(out[0] != '/' && out[n - 1] != '/', "no leading or trailing slash");
	for (i = 0; i <= (size_t)n;) {
		start = i;
		while (i < (size_t)n && out[i] != '/')
			i++;
		check(i > start, "no empty component");
		check(i - start <= JR_PATH_NAME_MAX, "component <= 255 bytes");
		check(!(i - start == 1 && out[start] == '.'), "no '.' component");
		check(!(i - start == 2 && out[start] == '.' && out[start + 1] == '.'),
		      "no '..' component");
		i++;
	}
}

/* Resolve target from the directory of entry, lexically, where any name may be a symlink
 * that takes us back to the root (depth 0) or keeps us where we are: the ".." that follow a
 * name are counted against the shallowest place it could lead to. Returns the lowest depth
 * reached (negative: above the root). */
static long worst_depth(const char *entry, const char *target)
{
	long depth = 0, low;
	size_t i, n = strlen(entry), start;
	int after_name = 0;

	for (i = 0; i < n; i++)
		depth += entry[i] == '/';
	low = depth;
	n = strlen(target);
	for (i = 0; i < n;) {
		while (i < n && target[i] == '/')
			i++;
		start = i;
		while (i < n && target[i] != '/')
			i++;
		if (i == start || (i - start == 1 && target[start] == '.'))
			continue;
		if (i - start == 2 && target[start] == '.' && target[start + 1] == '.') {
			depth = after_name ? -1 : depth - 1;  /* after a name: it may be the root */
			if (depth < low)
				low = depth;
			continue;
		}
		after_name = 1;
		depth++;
	}
	return low;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[JR_PATH_MAX], again[JR_PATH_MAX], pr[300], *name, *target;
	const char *why = NULL;
	size_t len, max_name, tlen;
	long n, n2;

	if (size < 3)
		return 0;
	len = (size_t)data[0] | (size_t)data[1] << 8;
	max_name = (size_t)data[2] * 16 + 1;
	data += 3;
	size -= 3;
	if (len > size)
		len = size;
	name = malloc(len + 1);
	tlen = size - len;
	target = malloc(tlen + 1);
	if (!name || !target)
		abort();
	memcpy(name, data, len);
	name[len] = '\0';
	memcpy(target, data + len, tlen);
	target[tlen] = '\0';

	n = jr_path_clean(name, len, max_name, out, sizeof(out), &why);
	if (n < 0) {
		check(why != NULL && why[0], "a refusal has a reason");
	} else {
		check(len <= max_name, "max_name holds");
		check_clean_form(out, n, len);
		if (n > 0) {  /* (0 is the root itself: "." or "./"; "" is refused) */
			n2 = jr_path_clean(out, (size_t)n, JR_PATH_MAX - 1, again, sizeof(again),
					   &why);
			check(n2 == n && !strcmp(again, out), "idempotent");
		}
		if (strlen(name) == len)
			check(jr_path_check_entry(name, max_name, &why) == 0, "C-string form agrees");
		if (n > 0 && jr_path_check_link(out, target, &why) == 0) {
			check(target[0] && target[0] != '/', "relative, not empty");
			check(worst_depth(out, target) >= 0, "the target stays inside");
		}
	}
	jr_path_printable(name, len, pr, sizeof(pr));
	check(strlen(pr) < sizeof(pr), "printable fits");
	check(jr_utf8_valid(pr, strlen(pr)) && !has_control(pr, strlen(pr)), "printable is clean");
	free(name);
	free(target);
	return 0;
}

#include "standalone.h"
