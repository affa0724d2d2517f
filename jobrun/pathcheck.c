/* pathcheck.c - pure checks of archive entry names and link targets (see pathcheck.h). */
#include "pathcheck.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)        /* a continuation byte, or an overlong 2-byte form */
		return 0;
	if (c < 0xe0) {
		if (n < 2 || (s[1] & 0xc0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)   /* overlong */
			return 0;
		if (c == 0xed && s[1] >= 0xa0)  /* UTF-16 surrogates */
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)   /* overlong */
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)  /* beyond U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

int jr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(p + i, len - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* NUL, control characters, UTF-8: NULL when fine, else the reason. */
static const char *text_check(const char *s, size_t len, const char *what_nul,
			      const char *what_ctl, const char *what_utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		if (p[i] < 0x80) {
			if (p[i] == 0)
				return what_nul;
			if (p[i] < 0x20 || p[i] == 0x7f)
				return what_ctl;
			i++;
			continue;
		}
		k = utf8_seq(p + i, len - i);
		if (!k)
			return what_utf8;
		if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)  /* C1 controls, U+0080-U+009F */
			return what_ctl;
		i += k;
	}
	return NULL;
}

long jr_path_clean(const char *name, size_t len, size_t max_name, char *out, size_t outsz,
		   const char **why)
{
	const char *bad;
	size_t i = 0, o = 0, start, clen;

	if (len == 0) {
		*why = "empty name";
		return -1;
	}
	if (len > max_name) {
		*why = "name longer than the limit (--max-name)";
		return -1;
	}
	if (len > JR_PATH_MAX - 1) {
		*why = "name longer than 4095 bytes";
		return -1;
	}
	if (outsz < len + 1 && outsz < JR_PATH_MAX) {
		*why = "internal: output buffer too small";
		return -1;
	}
	bad = text_check(name, len, "NUL byte in name", "control character in name",
			 "name is not valid UTF-8");
	if (bad) {
		*why = bad;
		return -1;
	}
	if (name[0] == '/') {
		*why = "absolute name";
		return -1;
	}
	while (i < len) {
		while (i < len && name[i] == '/')
			i++;
		start = i;
		while (i < len && name[i] != '/')
			i++;
		clen = i - start;
		if (clen == 0 || (clen == 1 && name[start] == '.'))
			continue;
		if (clen == 2 && name[start] == '.' && name[start + 1] == '.') {
			*why = "'..' component";
			return -1;
		}
		if (clen > JR_PATH_NAME_MAX) {
			*why = "path component longer than 255 bytes";
			return -1;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, name + start, clen);
		o += clen;
	}
	out[o] = '\0';
	return (long)o;
}

int jr_path_check_entry(const char *name, size_t max_name, const char **why)
{
	char buf[JR_PATH_MAX];
	size_t len = strnlen(name, JR_PATH_MAX);

	if (len >= JR_PATH_MAX) {
		*why = "name longer than 4095 bytes";
		return -1;
	}
	return jr_path_clean(name, len, max_name, buf, sizeof(buf), why) < 0 ? -1 : 0;
}

int jr_path_check_link(const char *entry, const char *target, const char **why)
{
	size_t depth = 0, len, i, start, clen;
	int seen_name = 0;
	const char *bad;

	/* the link's directory: every component of the entry but the last */
	if (entry[0] == '/') {
		*why = "the link's own name is not a clean relative name";
		return -1;
	}
	len = strlen(entry);
	for (i = 0; i < len;) {
		while (i < len && entry[i] == '/')
			i++;
		start = i;
		while (i < len && entry[i] != '/')
			i++;
		clen = i - start;
		if (clen == 0 || (clen == 1 && entry[start] == '.'))
			continue;
		if (clen == 2 && entry[start] == '.' && entry[start + 1] == '.') {
			*why = "the link's own name is not a clean relative name";
			return -1;
		}
		depth++;
	}
	if (depth == 0) {
		*why = "a link needs a name";
		return -1;
	}
	depth--;

	len = strnlen(target, JR_PATH_MAX);
	if (len == 0) {
		*why = "empty link target";
		return -1;
	}
	if (len >= JR_PATH_MAX) {
		*why = "link target longer than 4095 bytes";
		return -1;
	}
	bad = text_check(target, len, "NUL byte in link target",
			 "control character in link target", "link target is not valid UTF-8");
	if (bad) {
		*why = bad;
		return -1;
	}
	if (target[0] == '/') {
		*why = "absolute link target";
		return -1;
	}
	for (i = 0; i < len;) {
		while (i < len && target[i] == '/')
			i++;
		start = i;
		while (i < len && target[i] != '/')
			i++;
		clen = i - start;
		if (clen == 0 || (clen == 1 && target[start] == '.'))
			continue;
		if (clen == 2 && target[start] == '.' && target[start + 1] == '.') {
			if (seen_name) {
				*why = "'..' after a name in a link target";
				return -1;
			}
			if (depth == 0) {
				*why = "link target leaves the workspace";
				return -1;
			}
			depth--;
			continue;
		}
		seen_name = 1;
	}
	return 0;
}

size_t jr_path_printable(const char *s, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, k, room;

	if (outsz < 8) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	room = outsz - 4;  /* keep room for "..." and the NUL */
	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			k = 1;
		} else if (p[i] >= 0x80 && (k = utf8_seq(p + i, len - i)) != 0 &&
			   !(k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			;
		} else {
			if (o + 4 > room)
				goto cut;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 15];
			i++;
			continue;
		}
		if (o + k > room)
			goto cut;
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return o;
cut:
	memcpy(out + o, "...", 4);
	return o + 3;
}
