/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * doc/design.md, "Text": XML 1.0 cannot carry most control bytes nor invalid
 * UTF-8, and clients' parsers reject them. This is a hand-written UTF-8
 * validator because the rule (which bytes to keep, how to spell the others)
 * is ours; iconv would stop at the first bad byte.
 */
#include "config.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
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

/* ---- text inside xmlrpc-c values --------------------------------------- */

/*
 * xmlrpc-c 1.33 refuses to build (and aborts on reading back) a string with
 * a character outside the Basic Multilingual Plane, so text crossing into
 * its values is encoded reversibly within the BMP (doc/design.md,
 * "Unicode"). The private-use block below U+E800 carries the 20 bits of a
 * supplementary character, and U+E800 escapes a literal character of that
 * block, so every valid UTF-8 string has exactly one encoding. The XML
 * parser's input also carries CR references this way (BMP_CR).
 */
#define BMP_HIGH 0xe000u /* + the upper 10 bits of cp - 0x10000 */
#define BMP_LOW 0xe400u  /* + the lower 10 bits */
#define BMP_ESC 0xe800u  /* the next character is itself */
#define BMP_CR 0xe801u   /* after BMP_ESC: a CR (xmlrpc-c's XML parser
			  * turns a CR from "&#13;" into LF) */

/* Length of the valid UTF-8 sequence at s and its code point, or 0. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t need;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && v < 0x800) || (need == 4 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return need;
}

void xbt_buf_add_utf8(xbt_buf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	xbt_buf_add(b, u, n);
}

bool xbt__bmp_needs_encoding(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	/* 0xee leads U+E000..U+EFFF, 0xf0-0xf4 the supplementary planes. */
	for (size_t i = 0; i < len; i++)
		if (p[i] == 0xee || p[i] >= 0xf0)
			return true;
	return false;
}

void xbt__bmp_encode(xbt_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		uint32_t cp = 0;
		size_t k;

		if (p[i] != 0xee && p[i] < 0xf0) {
			i++;
			continue;
		}
		k = utf8_decode(p + i, len - i, &cp);
		if (k == 0 || !xbt__bmp_maps(cp)) {
			i += k ? k : 1; /* not ours: passes unchanged */
			continue;
		}
		xbt_buf_add(out, s + run, i - run);
		xbt__bmp_encode_cp(out, cp);
		i += k;
		run = i;
	}
	xbt_buf_add(out, s + run, len - run);
}

bool xbt__bmp_needs_decoding(const char *s, size_t len)
{
	return memchr(s, 0xee, len) != NULL;
}

void xbt__bmp_decode(xbt_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		uint32_t a = 0, b = 0;
		size_t k, k2 = 0;
		bool escaped, pair;

		if (p[i] != 0xee) {
			i++;
			continue;
		}
		k = utf8_decode(p + i, len - i, &a);
		if (k && (a == BMP_ESC || (a >= BMP_HIGH && a < BMP_LOW)))
			k2 = utf8_decode(p + i + k, len - i - k, &b);
		escaped = k2 && a == BMP_ESC && b >= BMP_HIGH && b <= BMP_CR;
		pair = k2 && a < BMP_LOW && b >= BMP_LOW && b < BMP_ESC;
		if (!escaped && !pair) {
			/* Not our encoding (xmlrpc-c's own text): as it is. */
			i += k ? k : 1;
			continue;
		}
		xbt_buf_add(out, s + run, i - run);
		if (escaped)
			xbt_buf_add_utf8(out, b == BMP_CR ? '\r' : b);
		else
			xbt_buf_add_utf8(out, 0x10000 + ((a - BMP_HIGH) << 10) +
						      (b - BMP_LOW));
		i += k + k2;
		run = i;
	}
	xbt_buf_add(out, s + run, len - run);
}

size_t xbt__utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	return len ? utf8_decode((const unsigned char *)s, len, cp) : 0;
}

bool xbt__bmp_maps(uint32_t cp)
{
	return cp >= 0x10000 || (cp >= BMP_HIGH && cp <= BMP_ESC);
}

void xbt__bmp_encode_cp(xbt_buf *out, uint32_t cp)
{
	if (cp >= 0x10000) {
		cp -= 0x10000;
		xbt_buf_add_utf8(out, BMP_HIGH + (cp >> 10));
		xbt_buf_add_utf8(out, BMP_LOW + (cp & 0x3ff));
	} else if (cp >= BMP_HIGH && cp <= BMP_ESC) {
		xbt_buf_add_utf8(out, BMP_ESC);
		xbt_buf_add_utf8(out, cp);
	} else if (cp == '\r') {
		xbt_buf_add_utf8(out, BMP_ESC);
		xbt_buf_add_utf8(out, BMP_CR);
	} else {
		xbt_buf_add_utf8(out, cp);
	}
}

/* ---- numbers ------------------------------------------------------------- */

static locale_t text_c_locale;
static pthread_once_t text_locale_once = PTHREAD_ONCE_INIT;

static void text_locale_init(void)
{
	text_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!text_c_locale)
		xbt_fatalx("newlocale(C) failed");
}

double xbt__strtod(const char *s, char **end)
{
	pthread_once(&text_locale_once, text_locale_init);
	return strtod_l(s, end, text_c_locale);
}
