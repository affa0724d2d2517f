/* err.h - a caller-owned error that gathers context on its way up. */
#ifndef JR_ERR_H
#define JR_ERR_H

#include <stddef.h>

#define JR_ERR_MAX 512

struct jr_err {
	int code;              /* positive errno, 0 when none */
	char msg[JR_ERR_MAX];  /* "outer: inner: strerror" */
};

/* Record an error; returns -code so callers can `return jr_err_set(...)`.
 * A code of 0 records a message without an errno (returns -EINVAL). */
int jr_err_set(struct jr_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix context to an error already recorded ("context: old message"). */
int jr_err_wrap(struct jr_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void jr_err_clear(struct jr_err *err);

#endif
