/* helper.h - jobrun's helper programs (jobrun-init, jobrun-unpack). */
#ifndef JR_HELPER_H
#define JR_HELPER_H

#include "err.h"

/* Open helper `name` for execveat: beside the jobrun binary (a build tree, or an install into
 * one directory), else in JR_LIBEXECDIR. It must be a regular file owned by root and writable
 * by nobody else. Returns an O_CLOEXEC fd or -errno. */
int jr_helper_open(const char *name, struct jr_err *err);

#endif
