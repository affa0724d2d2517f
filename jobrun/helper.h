/* helper.h - jobrun's helper programs (jobrun-init, jobrun-unpack).
 *
 * Where they are: found relative to the running jobrun executable (/proc/self/exe), so that an
 * install works wherever it was put (`make install PREFIX=...`, a package, a copied tree):
 *   1. EXEDIR/JR_LIBEXEC_REL: an install, BINDIR/../libexec/jobrun (the Makefile compiles in
 *      LIBEXECDIR as seen from BINDIR, the same whatever PREFIX is);
 *   2. else EXEDIR itself: the build tree, where the helpers are built beside jobrun.
 * The first directory that exists is the one: a helper missing from it is an error naming it,
 * never looked for elsewhere (a helper of another install could speak another protocol).
 *
 * How they are trusted: jobrun is root and executes them. The directory is reached by the
 * caller-path rule (callerpath.h: a symlink on the way is followed only when it is root's in a
 * directory only root can change) and must be root's and not writable by group or others; each
 * helper must be a regular file there (not a symlink), root's, not writable by group or others,
 * and an ELF executable for jobrun's own machine. It is opened once, and only that descriptor
 * is executed (execveat AT_EMPTY_PATH). */
#ifndef JR_HELPER_H
#define JR_HELPER_H

#include "err.h"

#include <stddef.h>

/* Open the helper directory (an O_PATH descriptor, O_CLOEXEC) and put its path in dir.
 * -errno with err set when there is none that may be used. */
int jr_helper_dir_open(char *dir, size_t len, struct jr_err *err);

/* Open helper `name` for execveat: an O_RDONLY|O_CLOEXEC fd, or -errno with err set
 * ("open /usr/local/libexec/jobrun/jobrun-unpack: No such file or directory"). */
int jr_helper_open(const char *name, struct jr_err *err);

/* For `jobrun check`: open helper `name` as jr_helper_open does and run it once the harmless
 * way jobrun's protocol allows (jobrun-init with no arguments must report "bad arguments" on
 * its status fd and exit 127; jobrun-unpack, as an unprivileged uid, must unpack an empty tar
 * archive and report ok). 0 with what it found in what ("/path: x86-64 executable, runs"), or
 * -errno with err set (missing, untrusted, another machine's, does not start, misbehaves). */
int jr_helper_check(const char *name, char *what, size_t len, struct jr_err *err);

#endif
