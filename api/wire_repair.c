/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XML-RPC input, repaired before xmlrpc-c parses it (doc/design.md, "Wire",
 * "Unicode", "Numbers"): bounds it lacks (element depth, DOCTYPE), text it
 * cannot hold (characters beyond the BMP, CR references), doubles it reads
 * inexactly, datetimes it refuses, and bad <i8> text it crashes on.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "xbt/value.h"
#include "xbt/wire.h"

static bool has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(s, p, n) == 0;
}

static const char *find(const char *s, size_t len, const char *what)
{
	return memmem(s, len, what, strlen(what));
}

static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * When t[0..n) is an ISO 8601 datetime that xmlrpc-c would refuse but we
 * can read (blanks around it, a fraction with a zone, a +hh:mm offset),
 * writes the UTC form xmlrpc-c reads into out and returns true.
 */
static bool datetime_rewrite(const char *t, size_t n, char *out, size_t outsz)
{
	bool changed = false, ext;
	int f[6];
	const char *frac = NULL;
	size_t nfrac = 0, i = 0;
	long off = 0; /* minutes east of UTC */
	bool zulu = false;

	while (n && strchr(" \t\r\n", t[n - 1])) {
		n--;
		changed = true;
	}
	while (n && strchr(" \t\r\n", t[0])) {
		t++;
		n--;
		changed = true;
	}
	/* YYYY[-]MM[-]DD T HH[:]MM[:]SS */
	if (n < 15 || (f[0] = digits(t, 4)) < 0)
		return false;
	i = 4;
	ext = t[i] == '-';
	i += ext;
	if (i + 2 > n || (f[1] = digits(t + i, 2)) < 0)
		return false;
	i += 2;
	i += ext && i < n && t[i] == '-';
	if (i + 3 > n || (f[2] = digits(t + i, 2)) < 0)
		return false;
	i += 2;
	if (t[i] != 'T' && t[i] != 't')
		return false;
	i++;
	for (int k = 3; k < 6; k++) {
		if (k > 3 && i < n && t[i] == ':')
			i++;
		if (i + 2 > n || (f[k] = digits(t + i, 2)) < 0)
			return false;
		i += 2;
	}
	if (i < n && (t[i] == '.' || t[i] == ',')) {
		changed |= t[i] == ',';
		frac = t + ++i;
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
		nfrac = (size_t)(t + i - frac);
		if (!nfrac)
			return false;
	}
	if (i < n && (t[i] == 'Z' || t[i] == 'z')) {
		zulu = true;
		i++;
	} else if (i < n && (t[i] == '+' || t[i] == '-')) {
		int sign = t[i] == '-' ? -1 : 1;
		int hh, mm = 0;
		i++;
		if (i + 2 > n || (hh = digits(t + i, 2)) < 0 || hh > 23)
			return false;
		i += 2;
		if (i < n && t[i] == ':')
			i++;
		if (i < n) {
			if (i + 2 > n || (mm = digits(t + i, 2)) < 0 || mm > 59)
				return false;
			i += 2;
		}
		off = sign * (hh * 60L + mm);
		changed = true;
	}
	if (i != n)
		return false;
	changed |= frac && zulu;
	if (!changed)
		return false;
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
	    f[4] > 59 || f[5] > 59)
		return false;
	if (off) {
		int64_t s = xbt__days_from_civil(f[0], (unsigned)f[1],
						 (unsigned)f[2]) * 86400 +
			    f[3] * 3600 + f[4] * 60 + f[5] - off * 60;
		int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
		int64_t sod = s - days * 86400;
		int64_t y;
		unsigned m, d;

		xbt__civil_from_days(days, &y, &m, &d);
		if (y < 1 || y > 9999)
			return false;
		f[0] = (int)y;
		f[1] = (int)m;
		f[2] = (int)d;
		f[3] = (int)(sod / 3600);
		f[4] = (int)(sod / 60 % 60);
		f[5] = (int)(sod % 60);
	}
	if (nfrac > 6)
		nfrac = 6;
	snprintf(out, outsz, "%04d%02d%02dT%02d:%02d:%02d%s%.*s", f[0], f[1],
		 f[2], f[3], f[4], f[5], nfrac ? "." : "", (int)nfrac,
		 frac ? frac : "");
	return true;
}

/*
 * xmlrpc-c 1.33 reads a <double> by summing digit * 0.1^k, which is
 * inexact (0.75 becomes 0.75000000000000011), and hands only the text its
 * own reader refuses to strtod. So a decimal double ([+-]digits[.digits]
 * [e[+-]digits], or inf and nan as xapi writes them) is read here, exactly,
 * and rewritten as a hexadecimal float ("0x3p-2"), which only strtod reads,
 * exactly and in any locale. Other text is left for xmlrpc-c to judge.
 */
static bool double_rewrite(const char *t, size_t n, char *out, size_t outsz)
{
	char buf[128], *end;
	size_t i = 0, digits = 0;
	double d, m;
	int e;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, t, n);
	buf[n] = '\0';
	i += buf[0] == '-' || buf[0] == '+';
	if (!strcasecmp(buf + i, "inf") || !strcasecmp(buf + i, "nan")) {
		snprintf(out, outsz, "%.5s", buf);
		return true;
	}
	for (; buf[i] >= '0' && buf[i] <= '9'; i++)
		digits++;
	if (buf[i] == '.')
		for (i++; buf[i] >= '0' && buf[i] <= '9'; i++)
			digits++;
	if (digits && (buf[i] == 'e' || buf[i] == 'E')) {
		i++;
		i += buf[i] == '-' || buf[i] == '+';
		if (buf[i] < '0' || buf[i] > '9')
			return false;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++;
	}
	if (!digits || i != n)
		return false;
	d = xbt__strtod(buf, &end);
	if (*end || !isfinite(d))
		return false;
	/* d = mantissa * 2^e exactly, the mantissa an integer of 53 bits. */
	m = frexp(fabs(d), &e);
	snprintf(out, outsz, "%s0x%llxp%d", signbit(d) ? "-" : "",
		 (unsigned long long)ldexp(m, 53), d == 0 ? 0 : e - 53);
	return true;
}

/* [+-]?digits within int64: what an <i8> may hold. */
static bool i8_text_ok(const char *s, size_t n)
{
	char buf[24];
	char *end;
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t k = (buf[0] == '-' || buf[0] == '+'); k < n; k++)
		if (buf[k] < '0' || buf[k] > '9')
			return false;
	errno = 0;
	v = strtoll(buf, &end, 10);
	(void)v;
	return errno == 0 && *end == '\0' && end != buf;
}

/* A character reference "&#N;" or "&#xH;" at s: its length and *cp, or 0. */
static size_t char_ref(const char *s, size_t len, uint32_t *cp)
{
	size_t i = 2;
	bool hex;
	uint32_t v = 0;

	if (len < 4 || s[0] != '&' || s[1] != '#')
		return 0;
	hex = s[2] == 'x';
	i += hex;
	for (size_t start = i; i < len && s[i] != ';'; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (hex && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (hex && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return 0;
		v = v * (hex ? 16 : 10) + (uint32_t)d;
		if (v > 0x10ffff || i - start > 8)
			return 0;
	}
	if (i >= len || i == 2u + hex)
		return 0;
	*cp = v;
	return i + 1;
}

/* Where the prescan's copy stands: input bytes before `done` are in it. */
struct rewrite {
	xbt_buf *copy;
	size_t done;
};

static void rewrite(struct rewrite *rw, const char *s, size_t at, size_t n)
{
	xbt_buf_add(rw->copy, s + rw->done, at - rw->done);
	rw->done = at + n;
}

/*
 * Text content s[from..to): characters that xmlrpc-c cannot hold, raw or
 * as character references (not inside CDATA, where "&#" is text), are
 * written in their BMP encoding (api/text.c), and so is a CR reference,
 * which xmlrpc-c would read as LF. api/value.c decodes what it reads.
 */
static void text_rewrite(struct rewrite *rw, const char *s, size_t from,
			 size_t to, bool cdata)
{
	size_t i = from;

	while (i < to) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp = 0;
		size_t k = 0;

		if (c == '&' && !cdata)
			k = char_ref(s + i, to - i, &cp);
		else if (c == 0xee || c >= 0xf0)
			k = xbt__utf8_decode(s + i, to - i, &cp);
		if (k && (xbt__bmp_maps(cp) || (c == '&' && cp == '\r'))) {
			rewrite(rw, s, i, k);
			xbt__bmp_encode_cp(rw->copy, cp);
		}
		i += k ? k : 1;
	}
}

/*
 * Measures the element depth of xml and refuses declarations (<!DOCTYPE
 * ...>: xmlrpc-c expands entities) before xmlrpc-c builds its tree, which
 * it frees recursively. Text is rewritten into copy where xmlrpc-c needs
 * it: characters outside the BMP, doubles (which it reads inexactly),
 * and datetimes it cannot read (copy is left empty when the text can be
 * parsed as it is). Constructs that do not
 * end stop the scan: xmlrpc-c then reports them. Returns why the text is
 * refused, or NULL.
 */
const char *xbt__xml_prescan(const char *s, size_t len, xbt_buf *copy)
{
	size_t depth = 0, i = 0;
	const char *why = NULL;
	struct rewrite rw = { copy, 0 };

	while (i < len && !why) {
		const char *p = memchr(s + i, '<', len - i), *e;
		size_t rest, j, name, namelen;
		char q = 0;

		if (!p)
			break;
		text_rewrite(&rw, s, i, (size_t)(p - s), false);
		i = (size_t)(p - s);
		rest = len - i;
		if (has_prefix(p, rest, "<!--")) {
			if (!(e = find(p + 4, rest - 4, "-->")))
				break;
			i = (size_t)(e - s) + 3;
			continue;
		}
		if (has_prefix(p, rest, "<![CDATA[")) {
			if (!(e = find(p + 9, rest - 9, "]]>")))
				break;
			text_rewrite(&rw, s, i + 9, (size_t)(e - s), true);
			i = (size_t)(e - s) + 3;
			continue;
		}
		if (has_prefix(p, rest, "<?")) {
			if (!(e = find(p + 2, rest - 2, "?>")))
				break;
			i = (size_t)(e - s) + 2;
			continue;
		}
		if (has_prefix(p, rest, "<!")) {
			why = "DOCTYPE and other declarations are not accepted";
			break;
		}
		if (has_prefix(p, rest, "</")) {
			if (!(e = memchr(p, '>', rest)))
				break;
			if (depth)
				depth--;
			i = (size_t)(e - s) + 1;
			continue;
		}
		/* A start tag; '>' may hide in quoted attribute values. */
		name = j = i + 1;
		while (j < len && !strchr(" \t\r\n/>", s[j]))
			j++;
		namelen = j - name;
		for (; j < len; j++) {
			if (q) {
				if (s[j] == q)
					q = 0;
			} else if (s[j] == '"' || s[j] == '\'') {
				q = s[j];
			} else if (s[j] == '>') {
				break;
			}
		}
		if (j >= len)
			break;
		i = j + 1;
		if (s[j - 1] == '/')
			continue; /* <empty/> */
		if (++depth > XBT_WIRE_MAX_XML_DEPTH) {
			why = "XML nested too deeply";
			break;
		}
		if ((namelen == 2 && !memcmp(s + name, "i8", 2)) ||
		    (namelen == 5 && !memcmp(s + name, "ex:i8", 5))) {
			/* xmlrpc-c 1.33 crashes formatting the error for a bad
			 * <i8> (a format string with a missing argument). */
			const char *lt = memchr(s + i, '<', len - i);
			if (lt && !i8_text_ok(s + i, (size_t)(lt - (s + i))))
				why = "<i8> value is not a 64-bit integer";
			continue;
		}
		if ((namelen == 16 && !memcmp(s + name, "dateTime.iso8601", 16)) ||
		    (namelen == 6 && !memcmp(s + name, "double", 6))) {
			const char *lt = memchr(s + i, '<', len - i);
			char canon[64];
			size_t n;
			bool changed;

			if (!lt)
				break;
			n = (size_t)(lt - (s + i));
			changed = namelen == 6 ?
				double_rewrite(s + i, n, canon, sizeof(canon)) :
				datetime_rewrite(s + i, n, canon, sizeof(canon));
			if (changed) {
				rewrite(&rw, s, i, n);
				xbt_buf_addstr(copy, canon);
			}
			i += n;
		}
	}
	if (!why && i < len)
		text_rewrite(&rw, s, i, len, false);
	if (!why && rw.done)
		xbt_buf_add(copy, s + rw.done, len - rw.done);
	return why;
}

/*
 * When xml's methodName element is empty, copies xml into out with a
 * placeholder name in it and returns true.
 */
bool xbt__empty_method_name(const char *xml, size_t len, xbt_buf *out)
{
	static const char *const forms[] = { "<methodName></methodName>",
					     "<methodName/>" };
	static const char placeholder[] = "<methodName>-</methodName>";

	for (size_t k = 0; k < 2; k++) {
		const char *at = find(xml, len, forms[k]);
		if (at) {
			size_t off = (size_t)(at - xml), flen = strlen(forms[k]);
			xbt_buf_add(out, xml, off);
			xbt_buf_addstr(out, placeholder);
			xbt_buf_add(out, at + flen, len - off - flen);
			return true;
		}
	}
	return false;
}

