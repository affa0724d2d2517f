/* log.c - logging to stderr. Never called between clone and exec. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static enum jr_log_level max_level = JR_LOG_WARN;
static int log_fd = 2;
static unsigned long dropped;

void jr_log_set_level(enum jr_log_level level)
{
	max_level = level;
}

void jr_log_set_fd(int fd)
{
	log_fd = fd;
}

/* One write a line: a line is whole or missing, never blocks on a log_fd that was made
 * non-blocking (a stderr pipe nobody reads drops lines, counted, instead of stopping jobs). */
void jr_log(enum jr_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024], out[1200];
	va_list ap;
	int n;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (dropped)
		n = snprintf(out, sizeof(out), "jobrun: %s: %s (and %lu line(s) dropped before)\n",
			     names[level], line, dropped);
	else
		n = snprintf(out, sizeof(out), "jobrun: %s: %s\n", names[level], line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out))
		n = sizeof(out) - 1;
	for (;;) {
		ssize_t w = write(log_fd, out, (size_t)n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			dropped++;
		else
			dropped = 0;
		return;
	}
}
