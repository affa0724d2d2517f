/* log.c - logging to stderr. Never called between clone and exec. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum jr_log_level max_level = JR_LOG_WARN;

void jr_log_set_level(enum jr_log_level level)
{
	max_level = level;
}

void jr_log(enum jr_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "jobrun: %s: %s\n", names[level], line);
}
