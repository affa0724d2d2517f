/* fuzz_jobreq_json.c - libFuzzer target: jr_jobreq_from_json on arbitrary bytes (the JSON the
 * unpack helper hands to jobrun). Besides "no crash, no leak, no UB": a request it accepts
 * passes jr_jobreq_check, and prints (jr_jobreq_to_json) to JSON that reads back to an equal
 * request.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Ijobrun \
 *       -o build/fuzz_jobreq_json tests/fuzz/fuzz_jobreq_json.c jobrun/jobreq.c jobrun/err.c \
 *       jobrun/spec.c $(pkg-config --libs jansson)
 *   mkdir -p build/corpus-jobreq-json
 *   build/fuzz_jobreq_json -max_total_time=30 -max_len=8192 build/corpus-jobreq-json
 *
 * Built with -DJR_FUZZ_STANDALONE (any compiler, no libFuzzer) it runs the files named on its
 * command line once each, to replay a crash or a corpus in CI. */
#include "jobreq.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_value(const struct jr_req_value *a, const struct jr_req_value *b)
{
	if ((a->value == NULL) != (b->value == NULL))
		return 0;
	return !a->value || (!strcmp(a->value, b->value) && a->line == b->line);
}

static int same_list(const struct jr_strv *a, const struct jr_strv *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_jobreq req, back;
	struct jr_err err;
	char *s, *text;
	json_t *j;
	int k;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	jr_err_clear(&err);
	if (jr_jobreq_from_json(s, &req, &err) < 0) {
		if (!err.msg[0] || req.file || req.argv.n || req.shell.value)
			abort();
		free(s);
		return 0;
	}
	free(s);
	if (jr_jobreq_check(&req, &err) < 0)
		abort();
	j = jr_jobreq_to_json(&req);
	if (!j)
		abort();
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text || jr_jobreq_from_json(text, &back, &err) < 0)
		abort();
	free(text);
	if (strcmp(req.file, back.file) || !same_value(&req.profile, &back.profile) ||
	    !same_value(&req.shell, &back.shell) || !same_value(&req.stdin_file, &back.stdin_file) ||
	    !same_value(&req.workdir, &back.workdir) || !same_list(&req.argv, &back.argv) ||
	    !same_list(&req.env, &back.env) || !same_list(&req.outputs, &back.outputs) ||
	    req.argv_line != back.argv_line || req.env_line != back.env_line ||
	    req.outputs_line != back.outputs_line)
		abort();
	for (k = 0; k < JR_L_N; k++)
		if (!same_value(&req.limits[k], &back.limits[k]))
			abort();
	jr_jobreq_free(&back);
	jr_jobreq_free(&req);
	return 0;
}

#include "standalone.h"
