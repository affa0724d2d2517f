/* fuzz_units.c - libFuzzer target: every unit parser (units.c) and jr_limit_parse (conf.c) on
 * arbitrary text. Besides "no crash, no UB": a size that parses prints (jr_format_size) to a
 * text that parses back to the same size; a value a parser refuses leaves its output alone.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Ijobrun \
 *       -o build/fuzz_units tests/fuzz/fuzz_units.c jobrun/units.c jobrun/conf.c \
 *       jobrun/cfgparse.c jobrun/jobreq.c jobrun/err.c jobrun/spec.c \
 *       $(pkg-config --libs libconfuse jansson)
 *   mkdir -p build/corpus-units
 *   build/fuzz_units -max_total_time=30 -max_len=64 build/corpus-units
 *
 * Built with -DJR_FUZZ_STANDALONE (any compiler, no libFuzzer) it runs the files named on its
 * command line once each, to replay a crash or a corpus in CI. */
#include "conf.h"
#include "units.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int (*const parsers[])(const char *, uint64_t *) = {
		jr_parse_size, jr_parse_duration, jr_parse_cpus, jr_parse_uint,
	};
	char *s, buf[32], why[128];
	uint64_t v, w;
	size_t i;
	int k, f, r;

	if (size > 256)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		v = 0x5a5a5a5a5a5a5a5aULL;
		r = parsers[i](s, &v);
		if (r != 0 && r != -EINVAL && r != -ERANGE)
			abort();
		if (r != 0 && v != 0x5a5a5a5a5a5a5a5aULL)
			abort(); /* a refused value leaves the output alone */
		if (r == 0 && i == 0) {
			jr_format_size(v, buf, sizeof(buf));
			if (jr_parse_size(buf, &w) != 0 || w != v)
				abort(); /* what is printed reads back */
		}
	}
	jr_format_size((uint64_t)size * 0x9e3779b97f4a7c15ULL, buf, (unsigned)(size % 40));
	for (k = 0; k < JR_L_N; k++)
		for (f = 0; f < 4; f++) {
			v = 0;
			r = jr_limit_parse((enum jr_limit_key)k, s, f, &v, why, sizeof(why));
			if (r != 0 && (r != -EINVAL || !why[0]))
				abort();
		}
	free(s);
	return 0;
}

#include "standalone.h"
