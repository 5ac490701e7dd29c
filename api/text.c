/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DESIGN.md "Text": XML 1.0 cannot carry most control bytes nor invalid
 * UTF-8, and clients' parsers reject them. This is a hand-written UTF-8
 * validator because the rule (which bytes to keep, how to spell the others)
 * is ours; iconv would stop at the first bad byte.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "xbt/buf.h"

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes) that XML can
 * carry, or 0 when the byte at s must be escaped.
 */
static size_t text_valid_seq(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t cp;
	unsigned char c = s[0];
	size_t result = 0;

	if (c < 0x80) {
		if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
			result = 1;
		goto out;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		goto out;
	}
	if (n < need)
		goto out;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto out;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF, and XML's non-chars. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    cp == 0xfffe || cp == 0xffff)
		goto out;
	result = need;
out:
	return result;
}

void xbt_buf_add_safe(xbt_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	xbt_buf_grow(b, len);
	while (i < len) {
		size_t run = i;
		size_t k;
		/* Copy the longest safe run at once. */
		while (run < len && (k = text_valid_seq(p + run, len - run)))
			run += k;
		xbt_buf_add(b, p + i, run - i);
		i = run;
		if (i < len) {
			char esc[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
			xbt_buf_add(b, esc, sizeof(esc));
			i++;
		}
	}
}

bool xbt_text_is_safe(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	size_t k;

	while (i < len && (k = text_valid_seq(p + i, len - i)))
		i += k;
	return i == len;
}

char *xbt_text_safe_dup(const char *s, size_t len)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_add_safe(&b, s, len);
	return xbt_buf_detach(&b, NULL);
}
