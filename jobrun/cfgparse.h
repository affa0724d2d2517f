/* cfgparse.h - libconfuse 3.3, made fit for untrusted text and precise messages (internal to
 * jobconf.c and conf.c).
 *
 * What libconfuse 3.3 does on its own, and what this layer does about it:
 * - It expands ${VAR} and ${VAR:-default} from the process environment in unquoted and
 *   double-quoted strings. Here no variable is ever expanded: a pre-pass rewrites "${" inside
 *   double quotes to "$\{" (which libconfuse reads as the two characters "${"), refuses "${"
 *   outside quotes (libconfuse would make it a whole value), and the environment is an empty
 *   one during the parse all the same (a second wall).
 * - Its line counter is wrong after comments (a '#' comment counts three lines, a C comment
 *   one too many): the pre-pass removes comments (keeping their newlines), so cfg->line is
 *   right again.
 * - Values carry no line after parsing: every string option gets jr_cfgp_value_cb as its parse
 *   callback, which records the line of each key's first value (jr_cfgp_line).
 * - A key given twice silently keeps the last value: the callback refuses the second one.
 *   A plain section given twice is merged: jr_cfgp_section_cb refuses the second.
 * - The scanner echoes a backslash left unmatched at the end of the input to stdout: the
 *   pre-pass refuses unterminated strings, so that cannot happen.
 * - A '\0' or '\x00' escape cuts a value short silently: the pre-pass refuses them.
 * - Characters it does not understand outside strings ('*', a '+' not before '=', control
 *   characters) are skipped silently: the pre-pass refuses them.
 * - "key = {}" leaves no trace a callback could see: the pre-pass refuses empty lists.
 * - Its include() function only exists when an option table lists it: ours never do.
 * Not thread-safe: libconfuse's scanner state is global and environ is swapped during a parse. */
#ifndef JR_CFGPARSE_H
#define JR_CFGPARSE_H

#include "err.h"

#include <confuse.h>
#include <stddef.h>

struct jr_cfgp;

/* Called for each string value, with its line, before libconfuse stores it. sec is the section
 * being read (cfg_name(sec): "root", "limits", "profile"...). Return 0, or call jr_cfgp_fail
 * and return its result. */
typedef int (*jr_cfgp_check_fn)(struct jr_cfgp *p, cfg_t *sec, cfg_opt_t *opt,
				const char *value, int line);

struct jr_cfgp_seen {
	const cfg_t *sec;
	const char *name;   /* the option's name, owned by libconfuse's copy of the table */
	int line;
};

struct jr_cfgp {
	const char *file;          /* for messages */
	struct jr_err *err;
	int failed;                /* an error was recorded (the first one wins) */
	jr_cfgp_check_fn check;    /* may be NULL */
	void *data;                /* for check */
	unsigned max_list;         /* most values of one list option; 0: unbounded */
	struct jr_cfgp_seen *seen;
	size_t nseen, capseen;
};

/* Parse text (len bytes, NULs refused) of at most max_len bytes into cfg, which was made by
 * cfg_init() from a table whose string options use jr_cfgp_value_cb as parse callback (and
 * whose plain sections use jr_cfgp_section_cb as validation callback). Returns 0, or -EINVAL
 * (-ENOMEM) with p->err = "file:line: message". */
int jr_cfgp_parse(struct jr_cfgp *p, cfg_t *cfg, const char *text, size_t len, size_t max_len);

/* The line where option name of section sec got its first value; 0 if never given. */
int jr_cfgp_line(const struct jr_cfgp *p, const cfg_t *sec, const char *name);

/* Record an error "file:line: message" (line 0: "file: message") unless one is recorded
 * already. Returns -1 (what libconfuse callbacks return on error). */
int jr_cfgp_fail(struct jr_cfgp *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void jr_cfgp_free(struct jr_cfgp *p);

/* libconfuse callbacks: CFG_STR_CB / CFG_STR_LIST_CB parse callback for every string option,
 * and validation callback of sections that may appear once. */
int jr_cfgp_value_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);

/* Fill opts (JR_L_N + 1 entries) with one string key a limit (jr_limit_defs), then CFG_END:
 * the limits { } of a job config and the defaults { } and maxima { } of a profile. */
void jr_cfgp_limit_opts(cfg_opt_t *opts);
int jr_cfgp_section_cb(cfg_t *cfg, cfg_opt_t *opt);

/* The value of a hexadecimal digit, or -1 (the scanner's \xNN, a URL's %NN). */
int jr_hexval(char c);

#endif
