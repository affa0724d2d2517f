/* err.c - error messages with context. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jr_err_set(struct jr_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return code ? -code : -EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (code && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s",
			 strerror(code));
	err->code = code;
	return code ? -code : -EINVAL;
}

int jr_err_wrap(struct jr_err *err, const char *fmt, ...)
{
	char old[JR_ERR_MAX];
	va_list ap;
	int n;

	if (!err)
		return -EINVAL;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %.*s",
			 (int)(sizeof(old) - 1), old);
	return err->code ? -err->code : -EINVAL;
}

void jr_err_clear(struct jr_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}
