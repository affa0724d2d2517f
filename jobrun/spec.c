/* spec.c - job specification defaults and string lists. */
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int jr_strv_push_take(struct jr_strv *sv, char *s)
{
	char **v;

	if (!s)
		return -ENOMEM;
	v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	v[sv->n++] = s;
	v[sv->n] = NULL;
	sv->v = v;
	return 0;
}

int jr_strv_push(struct jr_strv *sv, const char *s)
{
	return jr_strv_push_take(sv, strdup(s));
}

void jr_strv_free(struct jr_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static const char *const default_sys_binds[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
};

/* What dynamically linked programs, locales and time zones need; nothing secret. */
static const char *const default_etc_files[] = {
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
	"/etc/localtime", "/etc/nsswitch.conf", "/etc/locale.alias", "/etc/mime.types",
};

void jr_spec_init(struct jr_spec *spec)
{
	size_t i;

	memset(spec, 0, sizeof(*spec));
	spec->output_limit = 64ULL << 20;
	spec->disk_bytes = 256ULL << 20;
	spec->open_files = 256;
	spec->stack_bytes = 0;
	spec->file_size = JR_UNLIMITED;
	spec->cg.swap = 0; /* no swap unless asked for */
	spec->max_entries = 100000;
	spec->max_name = 1024;
	spec->uid_base = 1500000000;
	spec->uid_count = 10000;
	spec->uid_slot = -1;
	spec->hostname = strdup("jobrun");
	spec->runtime_dir = strdup("/run/jobrun");
	for (i = 0; i < sizeof(default_sys_binds) / sizeof(default_sys_binds[0]); i++)
		jr_strv_push(&spec->sys_binds, default_sys_binds[i]);
	for (i = 0; i < sizeof(default_etc_files) / sizeof(default_etc_files[0]); i++)
		jr_strv_push(&spec->etc_files, default_etc_files[i]);
}

void jr_spec_free(struct jr_spec *spec)
{
	free(spec->id);
	jr_strv_free(&spec->argv);
	jr_strv_free(&spec->env);
	free(spec->workdir);
	free(spec->hostname);
	free(spec->stdin_path);
	free(spec->stdout_path);
	free(spec->stderr_path);
	free(spec->result_path);
	free(spec->meta_path);
	free(spec->runtime_dir);
	jr_strv_free(&spec->sys_binds);
	jr_strv_free(&spec->etc_files);
	free(spec->cg.cpuset);
	free(spec->scratch);
	free(spec->cgroup_parent);
	free(spec->archive);
	free(spec->job_conf);
	free(spec->output_dir);
	free(spec->stdin_job);
	free(spec->cwd_job);
	jr_strv_free(&spec->outputs);
	free(spec->profile);
	free(spec->report);
	free(spec->job_mount);
	free(spec->cwd_abs);
	for (size_t i = 0; i < spec->nbinds; i++) {
		free(spec->binds[i].inside);
		free(spec->binds[i].host);
	}
	free(spec->binds);
	memset(spec, 0, sizeof(*spec));
}

int jr_spec_add_bind(struct jr_spec *spec, const char *inside, const char *host, unsigned flags)
{
	struct jr_bind *v = realloc(spec->binds, (spec->nbinds + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	spec->binds = v;
	v[spec->nbinds].inside = strdup(inside);
	v[spec->nbinds].host = strdup(host);
	v[spec->nbinds].flags = flags;
	if (!v[spec->nbinds].inside || !v[spec->nbinds].host) {
		free(v[spec->nbinds].inside);
		free(v[spec->nbinds].host);
		return -ENOMEM;
	}
	spec->nbinds++;
	return 0;
}

int jr_valid_hostname(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}
