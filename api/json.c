/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * JSON (RFC 8259) into xmlrpc-c values, by hand. xmlrpc-c 1.33's parser is
 * the one at hand but reads JSON that is not JSON ("-0.", "// comments")
 * and refuses JSON that is (1e-07); it recurses without a depth limit, reads
 * stale bytes after a \uXXXX escape, and builds strings that its own
 * serialiser then aborts on. Values here are built through api/value.c,
 * like every other value, so text comes out as it went in.
 *
 * Mapping: object -> struct (a repeated name: the last wins), array ->
 * array, string -> string, true/false -> bool, null -> nil, a number
 * without fraction or exponent within int64 -> i8, any other number ->
 * double. Strings: \uXXXX pairs give one character; a lone surrogate,
 * NUL and other control characters, and bytes that are not UTF-8 are made
 * safe as the text "\xNN" (xbt_buf_add_safe); a raw control character is
 * an error, as JSON says.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

struct json {
	const char *s;
	size_t len;
	size_t pos;
	size_t max_depth;
	const char *why;   /* the first error */
	xbt_buf text;      /* scratch for strings */
};

static void json_skip_ws(struct json *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				   j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

static bool json_fail(struct json *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return false;
}

static int json_hex4(const char *p)
{
	int v = 0;

	for (int k = 0; k < 4; k++) {
		char c = p[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* A \uXXXX escape at j->pos (after the backslash and 'u'); -1 if bad. */
static long json_escape_u(struct json *j)
{
	int hi, lo;

	if (j->len - j->pos < 4 || (hi = json_hex4(j->s + j->pos)) < 0)
		return -1;
	j->pos += 4;
	if (hi >= 0xd800 && hi <= 0xdbff && j->len - j->pos >= 6 &&
	    j->s[j->pos] == '\\' && j->s[j->pos + 1] == 'u' &&
	    (lo = json_hex4(j->s + j->pos + 2)) >= 0xdc00 && lo <= 0xdfff) {
		j->pos += 6;
		return 0x10000 + ((long)(hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	return hi;
}

/* The string at j->pos (its opening quote) into j->text. */
static bool json_string(struct json *j)
{
	size_t run, esc;

	xbt_buf_reset(&j->text);
	run = ++j->pos;
	while (j->pos < j->len) {
		unsigned char c = (unsigned char)j->s[j->pos];
		long cp;

		if (c == '"') {
			xbt_buf_add(&j->text, j->s + run, j->pos - run);
			j->pos++;
			return true;
		}
		if (c < 0x20)
			return json_fail(j, "control character in a string");
		if (c != '\\') {
			j->pos++;
			continue;
		}
		xbt_buf_add(&j->text, j->s + run, j->pos - run);
		esc = j->pos;
		if (++j->pos >= j->len)
			break;
		c = (unsigned char)j->s[j->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			xbt_buf_addch(&j->text, (char)c);
			break;
		case 'b': xbt_buf_addch(&j->text, '\b'); break;
		case 'f': xbt_buf_addch(&j->text, '\f'); break;
		case 'n': xbt_buf_addch(&j->text, '\n'); break;
		case 'r': xbt_buf_addch(&j->text, '\r'); break;
		case 't': xbt_buf_addch(&j->text, '\t'); break;
		case 'u':
			if ((cp = json_escape_u(j)) < 0) {
				j->pos = esc;
				return json_fail(j, "bad \\u escape");
			}
			if (cp >= 0xd800 && cp <= 0xdfff) {
				/* A lone surrogate: its three bytes, which the
				 * text-safety rule spells as \xNN. */
				xbt_buf_addch(&j->text, (char)(0xe0 | (cp >> 12)));
				xbt_buf_addch(&j->text,
					      (char)(0x80 | ((cp >> 6) & 0x3f)));
				xbt_buf_addch(&j->text, (char)(0x80 | (cp & 0x3f)));
			} else {
				xbt_buf_add_utf8(&j->text, (uint32_t)cp);
			}
			break;
		default:
			j->pos = esc;
			return json_fail(j, "unknown escape in a string");
		}
		run = j->pos;
	}
	return json_fail(j, "unterminated string");
}

/* Skips the digits at s[i..len); returns where they end. */
static size_t json_digits(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* The number at j->pos (a '-' or a digit), by JSON's grammar. */
static bool json_number(struct json *j, xmlrpc_value **out)
{
	const char *s = j->s;
	size_t start = j->pos, i = j->pos, len = j->len, d;
	bool integral = true;
	char buf[64];

	i += s[i] == '-';
	d = i < len && s[i] == '0' ? i + 1 : json_digits(s, i, len);
	if (d == i)
		goto bad;
	i = d;
	if (i < len && s[i] == '.') {
		integral = false;
		d = json_digits(s, ++i, len);
		if (d == i)
			goto bad;
		i = d;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		integral = false;
		i++;
		i += i < len && (s[i] == '+' || s[i] == '-');
		d = json_digits(s, i, len);
		if (d == i)
			goto bad;
		i = d;
	}
	j->pos = i;
	if (i - start >= sizeof(buf))
		return json_fail(j, "number too long");
	memcpy(buf, s + start, i - start);
	buf[i - start] = '\0';
	errno = 0;
	if (integral) {
		long long v = strtoll(buf, NULL, 10);

		if (errno == 0) {
			*out = xbt_value_i8(v);
			return true;
		}
	}
	double x = xbt__strtod(buf, NULL);
	if (!isfinite(x))
		return json_fail(j, "number out of range");
	*out = xbt_value_float(x);
	return true;
bad:
	j->pos = i;
	return json_fail(j, "bad number");
}

static bool json_literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if (j->len - j->pos < n || memcmp(j->s + j->pos, word, n) != 0)
		return json_fail(j, "unexpected character");
	j->pos += n;
	return true;
}

static bool json_value(struct json *j, size_t depth, xmlrpc_value **out);

static bool json_array(struct json *j, size_t depth, xmlrpc_value **out)
{
	xmlrpc_value *a = xbt_value_array();

	j->pos++;
	json_skip_ws(j);
	if (j->pos < j->len && j->s[j->pos] == ']') {
		j->pos++;
		*out = a;
		return true;
	}
	for (;;) {
		xmlrpc_value *item;

		if (!json_value(j, depth + 1, &item))
			break;
		xbt_value_push(a, item);
		json_skip_ws(j);
		if (j->pos < j->len && j->s[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == ']') {
			j->pos++;
			*out = a;
			return true;
		}
		json_fail(j, "expected ',' or ']'");
		break;
	}
	xmlrpc_DECREF(a);
	return false;
}

static bool json_object(struct json *j, size_t depth, xmlrpc_value **out)
{
	xmlrpc_value *st = xbt_value_struct();

	j->pos++;
	json_skip_ws(j);
	if (j->pos < j->len && j->s[j->pos] == '}') {
		j->pos++;
		*out = st;
		return true;
	}
	for (;;) {
		xmlrpc_value *key, *val;

		json_skip_ws(j);
		if (j->pos >= j->len || j->s[j->pos] != '"') {
			json_fail(j, "expected a member name");
			break;
		}
		if (!json_string(j))
			break;
		key = xbt_value_string_len(j->text.buf, j->text.len);
		json_skip_ws(j);
		if (j->pos >= j->len || j->s[j->pos] != ':') {
			xmlrpc_DECREF(key);
			json_fail(j, "expected ':'");
			break;
		}
		j->pos++;
		if (!json_value(j, depth + 1, &val)) {
			xmlrpc_DECREF(key);
			break;
		}
		xbt_value_put_v(st, key, val);
		xmlrpc_DECREF(key);
		json_skip_ws(j);
		if (j->pos < j->len && j->s[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == '}') {
			j->pos++;
			*out = st;
			return true;
		}
		json_fail(j, "expected ',' or '}'");
		break;
	}
	xmlrpc_DECREF(st);
	return false;
}

static bool json_value(struct json *j, size_t depth, xmlrpc_value **out)
{
	bool ok = false;

	*out = NULL;
	json_skip_ws(j);
	if (j->pos >= j->len)
		return json_fail(j, "unexpected end");
	if ((j->s[j->pos] == '[' || j->s[j->pos] == '{') && depth > j->max_depth)
		return json_fail(j, "nested too deeply");
	switch (j->s[j->pos]) {
	case '{':
		ok = json_object(j, depth, out);
		break;
	case '[':
		ok = json_array(j, depth, out);
		break;
	case '"':
		if ((ok = json_string(j)))
			*out = xbt_value_string_len(j->text.buf, j->text.len);
		break;
	case 't':
		if ((ok = json_literal(j, "true")))
			*out = xbt_value_bool(true);
		break;
	case 'f':
		if ((ok = json_literal(j, "false")))
			*out = xbt_value_bool(false);
		break;
	case 'n':
		if ((ok = json_literal(j, "null")))
			*out = xbt_value_nil();
		break;
	default:
		if (j->s[j->pos] == '-' ||
		    (j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			ok = json_number(j, out);
		else
			ok = json_fail(j, "unexpected character");
		break;
	}
	return ok;
}

xbt_error *xbt_json_parse(const char *s, size_t len, size_t max_depth,
			  xmlrpc_value **out)
{
	struct json j = { s, len, 0, max_depth, NULL, XBT_BUF_INIT };
	xbt_error *err = NULL;

	*out = NULL;
	if (json_value(&j, 1, out)) {
		json_skip_ws(&j);
		if (j.pos < j.len) {
			json_fail(&j, "text after the value");
			xmlrpc_DECREF(*out);
			*out = NULL;
		}
	}
	if (j.why) {
		char msg[96];

		snprintf(msg, sizeof(msg), "json: %s at byte %zu", j.why,
			 j.pos);
		err = XBT_RAISE_INTERNAL_ERROR(msg);
	}
	xbt_buf_release(&j.text);
	return err;
}
