/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A nesting pre-scan for JSON. xmlrpc-c's JSON parser recurses without a
 * depth limit (2 KB of '[' overflow a handler thread's stack), so input is
 * measured here first; the parse itself stays xmlrpc-c's.
 */
#include "config.h"

#include <stdio.h>

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
