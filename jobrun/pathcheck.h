/* pathcheck.h - pure checks of archive entry names and link targets (no system calls, no
 * allocation): used by the unpack helper (extract.c) before anything touches the workspace,
 * unit-tested (tests/unit/test_pathcheck.c) and fuzzed (tests/fuzz/fuzz_pathcheck.c).
 *
 * The rules, in short (all of the unpack rules: the head of unpack.c):
 * - An entry name is a relative path of UTF-8 text. Refused: the empty name, an absolute name
 *   ("/x", "/"), any ".." component, a NUL byte, a control character (0x01-0x1f, 0x7f and
 *   U+0080-U+009F), invalid UTF-8 (overlong forms, surrogates, beyond U+10FFFF, cut
 *   sequences), a component longer than 255 bytes (NAME_MAX), more than max_name bytes in
 *   all, or more than 4095.
 * - Normalised, not refused: "." components and empty ones ("./x", "x/./y", "a//b", "x/")
 *   are dropped, as tar itself writes "./a" for `tar -C dir .`. "." or "./" is the workspace
 *   root itself (length 0). "...", ".x", "a..b", a backslash, any printable UTF-8 are
 *   ordinary names (a backslash is no separator on Linux: "..\\x" is one harmless name).
 * - A symlink target is checked against the link's own directory, lexically: it must be
 *   relative, and its ".." components may only come first ("../../x", never "a/../b"), and no
 *   more of them than the link's directory is deep. A ".." after a name is refused because
 *   the name could itself be a symlink (to "." or a parent), where lexical resolution lies.
 *   With that rule every accepted symlink, and every chain of them, resolves inside the
 *   workspace (each link's directory is a real directory: nothing is ever written through a
 *   symlink).
 * - A hardlink target names an earlier entry: it is checked like an entry name. */
#ifndef JR_PATHCHECK_H
#define JR_PATHCHECK_H

#include <stddef.h>

#define JR_PATH_MAX      4096   /* a normalised name, with its NUL, always fits in this */
#define JR_PATH_NAME_MAX 255    /* one component */

/* Check an entry name of len bytes (it may hold NUL bytes: they are refused) and write its
 * normalised form, NUL-terminated, to out (outsz >= len + 1, or >= JR_PATH_MAX: anything
 * accepted fits). Returns the normalised length (0: the workspace root itself), or -1 with
 * *why set to a static reason ("absolute name", "'..' component", ...). */
long jr_path_clean(const char *name, size_t len, size_t max_name, char *out, size_t outsz,
		   const char **why);

/* The same check on a C string, without the normalised form: 0 or -1 with *why set. */
int jr_path_check_entry(const char *name, size_t max_name, const char **why);

/* Check a symlink target for the entry `entry` (a normalised name, as jr_path_clean makes
 * it): 0 when it resolves inside the workspace, else -1 with *why set. */
int jr_path_check_link(const char *entry, const char *target, const char **why);

/* Text fit for a message or a JSON string: valid UTF-8 and no control characters. Control
 * characters (C0, DEL; C1 as the bytes of their UTF-8 form) and bytes that are not UTF-8
 * become "\xNN"; cut (on a character boundary, with
 * "...") to fit outsz (>= 8). Always NUL-terminated. Returns the length written. */
size_t jr_path_printable(const char *s, size_t len, char *out, size_t outsz);

/* Is s[0..len) valid UTF-8 (NUL bytes allowed)? 1 or 0. */
int jr_utf8_valid(const char *s, size_t len);

#endif
