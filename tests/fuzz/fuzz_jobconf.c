/* fuzz_jobconf.c - libFuzzer target: jr_jobconf_parse on arbitrary bytes.
 * What it checks besides "no crash, no leak, no UB": an accepted config passes
 * jr_jobreq_check, survives the JSON round trip unchanged (what the unpack helper hands to
 * jobrun is what it read), and merges (jr_conf_apply) without crashing.
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Ijobrun \
 *       -o build/fuzz_jobconf tests/fuzz/fuzz_jobconf.c jobrun/jobconf.c jobrun/cfgparse.c \
 *       jobrun/jobreq.c jobrun/conf.c jobrun/err.c jobrun/spec.c jobrun/units.c \
 *       $(pkg-config --libs libconfuse jansson)
 *   mkdir -p build/corpus-jobconf
 *   build/fuzz_jobconf -max_total_time=30 -max_len=4096 -dict=tests/fuzz/jobconf.dict \
 *       build/corpus-jobconf conf/examples
 *
 * Built with -DJR_FUZZ_STANDALONE (any compiler, no libFuzzer) it runs the files named on its
 * command line once each, to replay a crash or a corpus in CI. */
#include "conf.h"
#include "jobreq.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_value(const struct jr_req_value *a, const struct jr_req_value *b)
{
	if ((a->value == NULL) != (b->value == NULL))
		abort();
	if (a->value && (strcmp(a->value, b->value) || a->line != b->line))
		abort();
}

static void same_list(const struct jr_strv *a, const struct jr_strv *b)
{
	size_t i;

	if (a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jr_conf conf;
	static int have_conf;
	struct jr_jobreq req, back;
	struct jr_job_extra extra;
	struct jr_spec spec;
	struct jr_err err;
	json_t *j;
	char *text;
	int k;

	if (!have_conf) {
		if (jr_conf_builtin(&conf, &err) < 0)
			abort();
		have_conf = 1;
	}
	jr_err_clear(&err);
	if (jr_jobconf_parse((const char *)data, size, "fuzz.conf", &req, &err) < 0) {
		if (!err.msg[0] || req.file || req.argv.n)
			abort(); /* an error always says something, and leaves req empty */
		return 0;
	}
	if (jr_jobreq_check(&req, &err) < 0)
		abort();
	j = jr_jobreq_to_json(&req);
	if (!j)
		abort();
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		abort();
	if (jr_jobreq_from_json(text, &back, &err) < 0)
		abort();
	free(text);
	same_value(&req.profile, &back.profile);
	same_value(&req.shell, &back.shell);
	same_value(&req.stdin_file, &back.stdin_file);
	same_value(&req.workdir, &back.workdir);
	same_list(&req.argv, &back.argv);
	same_list(&req.env, &back.env);
	same_list(&req.outputs, &back.outputs);
	for (k = 0; k < JR_L_N; k++)
		same_value(&req.limits[k], &back.limits[k]);
	jr_jobreq_free(&back);

	memset(&extra, 0, sizeof(extra));
	jr_spec_init(&spec);
	if (jr_conf_apply(&conf, &req, NULL, &spec, &extra, &err) < 0 && !err.msg[0])
		abort();
	jr_spec_free(&spec);
	jr_job_extra_free(&extra);
	jr_jobreq_free(&req);
	return 0;
}

#include "standalone.h"
