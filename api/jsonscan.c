/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * JSON in front of xmlrpc-c's parser, which is kept for the parse itself
 * but needs two guards: it recurses without a depth limit (2 KB of '['
 * overflow a handler thread's stack), so input is measured first; and it
 * misreads \uXXXX escapes, so those are decoded here beforehand.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include <xmlrpc-c/json.h>

#include "xbt/wire.h"

xbt_error *xbt_json_prescan(const char *s, size_t len, size_t max_depth)
{
	size_t depth = 0;
	bool in_string = false;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < len && !why; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '[': case '{':
			if (++depth > max_depth)
				why = "nested too deeply";
			break;
		case ']': case '}':
			if (depth == 0)
				why = "unbalanced brackets";
			else
				depth--;
			break;
		case '\0':
			why = "NUL byte";
			break;
		default:
			break;
		}
	}
	if (!why && in_string)
		why = "unterminated string";
	if (!why && depth)
		why = "unbalanced brackets";

	xbt_error *err = NULL;
	if (why) {
		char msg[96];
		snprintf(msg, sizeof(msg), "json: %s at byte %zu", why,
			 i ? i - 1 : 0);
		err = XBT_RAISE("INTERNAL_ERROR", msg);
	}
	return err;
}

static int hex4(const char *p)
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

/* Appends code point cp as JSON string text xmlrpc-c reads correctly. */
static void json_codepoint(xbt_buf *out, uint32_t cp)
{
	switch (cp) {
	case '"': xbt_buf_addstr(out, "\\\""); return;
	case '\\': xbt_buf_addstr(out, "\\\\"); return;
	case '\t': xbt_buf_addstr(out, "\\t"); return;
	case '\n': xbt_buf_addstr(out, "\\n"); return;
	case '\r': xbt_buf_addstr(out, "\\r"); return;
	default: break;
	}
	if (cp < 0x20) {
		/* NUL cannot reach xmlrpc-c raw: spell it, and the other
		 * control characters, as the text-safety rule would. */
		xbt_buf_addf(out, "\\\\x%02x", (unsigned)cp);
	} else if (cp < 0x80) {
		xbt_buf_addch(out, (char)cp);
	} else if (cp < 0x800) {
		xbt_buf_addch(out, (char)(0xc0 | (cp >> 6)));
		xbt_buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		/* A lone surrogate too: not UTF-8, escaped when written. */
		xbt_buf_addch(out, (char)(0xe0 | (cp >> 12)));
		xbt_buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		xbt_buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		xbt_buf_addch(out, (char)(0xf0 | (cp >> 18)));
		xbt_buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		xbt_buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		xbt_buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/*
 * Copies s into out (NUL-terminated for xmlrpc-c) with every \uXXXX escape
 * decoded here: xmlrpc-c 1.33 converts the four digits without a
 * terminator (the result depends on stale stack bytes) and would encode
 * the halves of a surrogate pair separately, which is not UTF-8. Surrogate
 * pairs become one character; NUL and the other control characters become
 * the text "\xNN" (DESIGN.md "Text"). Other escapes are left to xmlrpc-c.
 */
static void json_prepare(const char *s, size_t len, xbt_buf *out)
{
	bool in_str = false;
	size_t i = 0, run = 0;

	xbt_buf_grow(out, len);
	while (i < len) {
		char c = s[i];
		int hi, lo;
		uint32_t cp;

		if (!in_str || c != '\\') {
			if (c == '"')
				in_str = !in_str;
			i++;
			continue;
		}
		if (i + 6 > len || s[i + 1] != 'u' || (hi = hex4(s + i + 2)) < 0) {
			i += 2; /* the escaped byte cannot end the string */
			continue;
		}
		xbt_buf_add(out, s + run, i - run);
		cp = (uint32_t)hi;
		i += 6;
		if (hi >= 0xd800 && hi <= 0xdbff && i + 6 <= len &&
		    s[i] == '\\' && s[i + 1] == 'u' &&
		    (lo = hex4(s + i + 2)) >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) +
			     (uint32_t)(lo - 0xdc00);
			i += 6;
		}
		json_codepoint(out, cp);
		run = i;
	}
	xbt_buf_add(out, s + run, len - run);
}


xbt_error *xbt_json_parse(const char *s, size_t len, size_t max_depth,
			  xmlrpc_value **out)
{
	xbt_buf text = XBT_BUF_INIT;
	xmlrpc_env env;
	xbt_error *err;

	*out = NULL;
	xmlrpc_env_init(&env);
	err = XBT_PROPAGATE(xbt_json_prescan(s, len, max_depth));
	if (err)
		goto out;
	json_prepare(s, len, &text);
	*out = xmlrpc_parse_json(&env, text.buf);
	if (env.fault_occurred || !*out) {
		char msg[200];
		snprintf(msg, sizeof(msg), "json: %s",
			 env.fault_occurred ? env.fault_string : "no value");
		*out = NULL;
		err = XBT_RAISE("INTERNAL_ERROR", msg);
	}
out:
	xbt_buf_release(&text);
	xmlrpc_env_clean(&env);
	return err;
}
