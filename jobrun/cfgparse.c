/* cfgparse.c - libconfuse for untrusted text: a pre-pass, line numbers, duplicates, errors.
 * See cfgparse.h for what each part works around in libconfuse 3.3. */
#define _GNU_SOURCE
#include "cfgparse.h"
#include "jobreq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* libconfuse callbacks carry no user pointer: the parse under way (its scanner is global, so
 * there is only ever one). */
static struct jr_cfgp *current;
static int current_last_line = 1;

int jr_cfgp_fail(struct jr_cfgp *p, int line, const char *fmt, ...)
{
	char msg[JR_ERR_MAX];
	va_list ap;

	if (!p || p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* messages may quote the input: no control character, nothing but UTF-8 gets through */
	jr_sanitize_message(msg);
	if (line > 0)
		jr_err_set(p->err, 0, "%s:%d: %s", p->file, line, msg);
	else
		jr_err_set(p->err, 0, "%s: %s", p->file, msg);
	p->failed = 1;
	return -1;
}

static struct jr_cfgp_seen *seen_find(const struct jr_cfgp *p, const cfg_t *sec,
				      const char *name)
{
	size_t i;

	for (i = 0; i < p->nseen; i++)
		if (p->seen[i].sec == sec && !strcmp(p->seen[i].name, name))
			return &p->seen[i];
	return NULL;
}

static int seen_add(struct jr_cfgp *p, const cfg_t *sec, const char *name, int line)
{
	if (p->nseen == p->capseen) {
		size_t cap = p->capseen ? 2 * p->capseen : 32;
		struct jr_cfgp_seen *v = realloc(p->seen, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->seen = v;
		p->capseen = cap;
	}
	p->seen[p->nseen].sec = sec;
	p->seen[p->nseen].name = name;
	p->seen[p->nseen].line = line;
	p->nseen++;
	return 0;
}

int jr_cfgp_line(const struct jr_cfgp *p, const cfg_t *sec, const char *name)
{
	const struct jr_cfgp_seen *s = seen_find(p, sec, name);

	return s ? s->line : 0;
}

static int clamp_line(int line)
{
	/* the scanner may be past the text's last line (at the end of the input) */
	return line > current_last_line ? current_last_line : line;
}

int jr_cfgp_value_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct jr_cfgp *p = current;
	int line = clamp_line(cfg->line);

	if (!p || !value)
		return -1;
	if (p->failed)
		return -1;
	if (strlen(value) > 65536)
		return jr_cfgp_fail(p, line, "%s: a value longer than 65536 bytes", opt->name);
	/* libconfuse has just cleared the option when this value starts an assignment ('='),
	 * so nvalues is 1 then; an append ('+=') to a list given before has more */
	if (opt->nvalues <= 1) {
		const struct jr_cfgp_seen *s = seen_find(p, cfg, opt->name);

		if (s)
			return jr_cfgp_fail(p, line, "%s is given twice (first on line %d)",
					    opt->name, s->line);
		if (seen_add(p, cfg, opt->name, line) < 0) {
			jr_cfgp_fail(p, line, "out of memory");
			p->err->code = ENOMEM;
			return -1;
		}
	}
	if (p->max_list && opt->nvalues > p->max_list)
		return jr_cfgp_fail(p, line, "%s: more than %u values", opt->name, p->max_list);
	if (p->check && p->check(p, cfg, opt, value, line) != 0)
		return jr_cfgp_fail(p, line, "%s: refused", opt->name); /* if check said nothing */
	*(const char **)result = value;
	return 0;
}

int jr_cfgp_section_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	struct jr_cfgp *p = current;
	const struct jr_cfgp_seen *s;
	int line = clamp_line(cfg->line);

	if (!p)
		return -1;
	s = seen_find(p, cfg, opt->name);
	if (s)
		return jr_cfgp_fail(p, line, "section %s is given twice (the first one ends on line %d)",
				    opt->name, s->line);
	if (seen_add(p, cfg, opt->name, line) < 0)
		return jr_cfgp_fail(p, line, "out of memory");
	return 0;
}

__attribute__((format(printf, 2, 0)))
static void errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct jr_cfgp *p = current;
	char msg[JR_ERR_MAX];
	va_list aq;
	int line;

	if (!p || p->failed)
		return;
	line = clamp_line(cfg ? cfg->line : 0);
	va_copy(aq, ap);
	if (!strcmp(fmt, "no such option '%s'")) {
		const char *name = va_arg(aq, const char *);
		const char *sec = cfg && cfg->name && strcmp(cfg->name, "root") ? cfg->name : NULL;
		const char *hint = !strcmp(name, "include") ? " (there is no include)" : "";

		if (sec)
			jr_cfgp_fail(p, line, "unknown key '%s' in section %s%s", name, sec, hint);
		else
			jr_cfgp_fail(p, line, "unknown key '%s'%s", name, hint);
	} else if (!strcmp(fmt, "found duplicate title '%s'")) {
		const char *title = va_arg(aq, const char *);

		jr_cfgp_fail(p, line, "a section titled '%s' is given twice", title);
	} else {
		vsnprintf(msg, sizeof(msg), fmt, aq);
		jr_cfgp_fail(p, line, "%s", msg);
	}
	va_end(aq);
}

int jr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A backslash escape inside double quotes at s[i] (s[i] == '\\', i + 1 < len): refuse the ones
 * that make a NUL (libconfuse reads "\0", "\00", "\000", "\x0", "\x00" as a NUL and cuts the
 * value there; four digits or an 8 or 9 are a "bad escape" error of its own). */
static int nul_escape(const char *s, size_t len, size_t i)
{
	size_t k = i + 1, nd = 0;
	unsigned v = 0;
	int octal = 1;

	if (s[k] >= '0' && s[k] <= '9') {
		for (; k < len && s[k] >= '0' && s[k] <= '9'; k++, nd++) {
			if (s[k] > '7')
				octal = 0;
			if (nd < 4)
				v = v * 8 + (unsigned)(s[k] - '0');
		}
		return octal && nd <= 3 && v == 0;
	}
	if (s[k] == 'x') {
		for (k++; k < len && nd < 2 && jr_hexval(s[k]) >= 0; k++, nd++)
			v = v * 16 + (unsigned)jr_hexval(s[k]);
		return nd > 0 && v == 0;
	}
	return 0;
}

#define JR_CFGP_MAX_DEPTH 16

enum pstate { P_NORMAL, P_DQ, P_SQ, P_LINE_COMMENT, P_BLOCK_COMMENT };

/* A backslash and the character it escapes, inside a string (dq: double quotes, where NUL
 * escapes are refused too). 0 copied, 1 the input ends after the backslash, -1 refused. */
static int copy_escape(struct jr_cfgp *p, const char *s, size_t len, size_t *i, char *o,
		       size_t *n, int *line, int dq)
{
	if (*i + 1 >= len)
		return 1;
	if (s[*i + 1] == '\0') {
		jr_cfgp_fail(p, *line, "a NUL byte");
		return -1;
	}
	if (dq && nul_escape(s, len, *i)) {
		jr_cfgp_fail(p, *line, "a NUL escape (\\0, \\x00) in a string: "
				       "a value cannot hold a NUL byte");
		return -1;
	}
	if (s[*i + 1] == '\n')
		(*line)++;
	o[(*n)++] = s[*i];
	o[(*n)++] = s[*i + 1];
	*i += 2;
	return 0;
}

/* The pre-pass (cfgparse.h). Writes at most len * 3 / 2 + 2 bytes. */
static int prepass(struct jr_cfgp *p, const char *s, size_t len, char **outp, size_t *outlen)
{
	enum pstate st = P_NORMAL;
	char *o = malloc(len + len / 2 + 2);
	char sig1 = 0, sig2 = 0; /* the last two significant characters outside strings */
	int open_lines[JR_CFGP_MAX_DEPTH]; /* where each '{' still open was */
	size_t i = 0, n = 0, depth = 0;
	int line = 1, start = 0, r;

	if (!o) {
		jr_cfgp_fail(p, 0, "out of memory");
		p->err->code = ENOMEM;
		return -ENOMEM;
	}
	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0') {
			jr_cfgp_fail(p, line, "a NUL byte");
			goto fail;
		}
		switch (st) {
		case P_LINE_COMMENT:
			if (c == '\n') {
				st = P_NORMAL;
				continue; /* the newline itself is handled as P_NORMAL */
			}
			i++;
			continue;
		case P_BLOCK_COMMENT:
			if (c == '*' && i + 1 < len && s[i + 1] == '/') {
				o[n++] = ' '; /* a comment still separates what surrounds it */
				i += 2;
				st = P_NORMAL;
				continue;
			}
			if (c == '\n') {
				o[n++] = '\n';
				line++;
			}
			i++;
			continue;
		case P_DQ:
			if (c == '"') {
				st = P_NORMAL;
			} else if (c == '\n') {
				line++;
			} else if (c == '$' && i + 1 < len && s[i + 1] == '{') {
				/* "$\{" is "${" to libconfuse, and no expansion */
				o[n++] = '$';
				o[n++] = '\\';
				o[n++] = '{';
				i += 2;
				continue;
			} else if (c == '\\') {
				r = copy_escape(p, s, len, &i, o, &n, &line, 1);
				if (r < 0)
					goto fail;
				if (r > 0)
					break; /* unterminated: reported below */
				continue;
			}
			o[n++] = (char)c;
			i++;
			continue;
		case P_SQ:
			if (c == '\'') {
				st = P_NORMAL;
			} else if (c == '\n') {
				line++;
			} else if (c == '\\') {
				r = copy_escape(p, s, len, &i, o, &n, &line, 0);
				if (r < 0)
					goto fail;
				if (r > 0)
					break;
				continue;
			}
			o[n++] = (char)c;
			i++;
			continue;
		case P_NORMAL:
			break;
		}
		if (st != P_NORMAL) { /* a lone backslash at the very end of a string */
			i++;
			continue;
		}
		if (c == '\n') {
			o[n++] = '\n';
			line++;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			o[n++] = (char)c;
			i++;
			continue;
		}
		if (c == '#' || (c == '/' && i + 1 < len && s[i + 1] == '/')) {
			st = P_LINE_COMMENT;
			i++;
			continue;
		}
		if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			st = P_BLOCK_COMMENT;
			start = line;
			i += 2;
			continue;
		}
		if (c == '$' && i + 1 < len && s[i + 1] == '{') {
			jr_cfgp_fail(p, line, "'${' outside quotes: jobrun expands no variables (write "
					      "\"${...}\" in quotes to keep it as it is)");
			goto fail;
		}
		if (c < 0x20 || c == 0x7f) {
			jr_cfgp_fail(p, line, "a control character (0x%02x) outside quotes", c);
			goto fail;
		}
		if (c == '*') {
			jr_cfgp_fail(p, line, "unexpected '*' (quote the value)");
			goto fail;
		}
		if (c == '+' && !(i + 1 < len && s[i + 1] == '=')) {
			jr_cfgp_fail(p, line, "unexpected '+' (quote the value; '+=' appends to a list)");
			goto fail;
		}
		if (c == '}' && sig1 == '{' && sig2 == '=') {
			jr_cfgp_fail(p, line, "an empty list {}: leave the key out instead");
			goto fail;
		}
		if (c == '"' || c == '\'') {
			st = c == '"' ? P_DQ : P_SQ;
			start = line;
		}
		/* libconfuse takes the end of the input for the end of an open section */
		if (c == '{') {
			if (depth == JR_CFGP_MAX_DEPTH) {
				jr_cfgp_fail(p, line, "braces nested more than %d deep",
					     JR_CFGP_MAX_DEPTH);
				goto fail;
			}
			open_lines[depth++] = line;
		} else if (c == '}') {
			if (depth == 0) {
				jr_cfgp_fail(p, line, "a '}' that closes nothing");
				goto fail;
			}
			depth--;
		}
		sig2 = sig1;
		sig1 = (char)c;
		o[n++] = (char)c;
		i++;
	}
	if (st == P_DQ || st == P_SQ) {
		jr_cfgp_fail(p, start, "a string that is not closed (it starts on this line)");
		goto fail;
	}
	if (st == P_BLOCK_COMMENT) {
		jr_cfgp_fail(p, start, "a /* comment that is not closed (it starts on this line)");
		goto fail;
	}
	if (depth) {
		jr_cfgp_fail(p, open_lines[depth - 1], "a '{' that is not closed");
		goto fail;
	}
	/* the last line that holds anything, for messages about the end of the input */
	current_last_line = (len > 0 && s[len - 1] == '\n' && line > 1) ? line - 1 : line;
	o[n++] = '\n';
	o[n] = '\0';
	*outp = o;
	*outlen = n;
	return 0;
fail:
	free(o);
	return -EINVAL;
}

int jr_cfgp_parse(struct jr_cfgp *p, cfg_t *cfg, const char *text, size_t len, size_t max_len)
{
	static char *empty_env[1] = { NULL };
	char **saved_env;
	char *buf = NULL;
	size_t n = 0;
	FILE *fp;
	int r;

	p->failed = 0;
	if (!text)
		len = 0;
	if (len > max_len) {
		jr_cfgp_fail(p, 0, "%zu bytes: more than the %zu bytes this file may have", len,
			     max_len);
		return -EINVAL;
	}
	r = prepass(p, text ? text : "", len, &buf, &n);
	if (r < 0)
		return r;
	fp = fmemopen(buf, n, "r");
	if (!fp) {
		jr_cfgp_fail(p, 0, "fmemopen: %s", strerror(errno));
		free(buf);
		return -ENOMEM;
	}
	cfg_set_error_function(cfg, errfunc);
	free(cfg->filename);
	cfg->filename = strdup(p->file);
	/* no variable can be expanded after the pre-pass; an empty environment all the same */
	saved_env = environ;
	environ = empty_env;
	current = p;
	r = cfg_parse_fp(cfg, fp);
	current = NULL;
	environ = saved_env;
	fclose(fp);
	free(buf);
	if (r != CFG_SUCCESS || p->failed) {
		if (!p->failed)
			jr_cfgp_fail(p, 0, "cannot be parsed");
		return p->err->code == ENOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

void jr_cfgp_free(struct jr_cfgp *p)
{
	free(p->seen);
	p->seen = NULL;
	p->nseen = p->capseen = 0;
}

void jr_cfgp_limit_opts(cfg_opt_t *opts)
{
	int k;

	for (k = 0; k < JR_L_N; k++) {
		cfg_opt_t o = CFG_STR_CB(jr_limit_defs[k].name, NULL, CFGF_NODEFAULT,
					 jr_cfgp_value_cb);

		opts[k] = o;
	}
	{
		cfg_opt_t end = CFG_END();

		opts[JR_L_N] = end;
	}
}
