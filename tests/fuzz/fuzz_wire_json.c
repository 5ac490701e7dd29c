/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: xbt_wire_parse_jsonrpc (xbt_json_parse, api/json.c)
 * on arbitrary bytes.
 * Properties checked besides "no crash, leak, hang or UB":
 * - a rejected input gives XMLRPC_UNMARSHAL_FAILURE ["JSON-RPC request",
 *   reason] with the outputs left NULL and v2 false;
 * - everything written (params in both encodings, envelopes) is safe text;
 * - an accepted request, written back as a request, parses to the same
 *   method, id and version, and its params are a fixed point of
 *   write(parse(...)): numbers, exponents included, and every string.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "xbt/wire.h"
#include "fuzz_stack.h"

#define EXPECTED "JSON-RPC request"

static void check_safe(const xbt_buf *b)
{
	FUZZ_CHECK(strlen(b->buf) == b->len, "NUL in output");
	FUZZ_CHECK(xbt_text_is_safe(b->buf, b->len), "unsafe: %s", b->buf);
}

/* The JSON string literal of the safe form of s. */
static void json_string(xbt_buf *out, const char *s)
{
	char *safe = xbt_text_safe_dup(s, strlen(s));

	xbt_buf_addch(out, '"');
	for (const char *p = safe; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			xbt_buf_addf(out, "\\%c", c);
		else if (c < 0x20)
			xbt_buf_addf(out, "\\u%04x", c);
		else
			xbt_buf_addch(out, (char)c);
	}
	xbt_buf_addch(out, '"');
	free(safe);
}

static void one(const uint8_t *data, size_t size)
{
	char *m1 = NULL, *id1 = NULL, *m2 = NULL, *id2 = NULL, *safe;
	xmlrpc_value *p1 = NULL, *p2 = NULL;
	bool v2a = true, v2b = false;
	xbt_buf j1 = XBT_BUF_INIT, j2 = XBT_BUF_INIT, req = XBT_BUF_INIT,
		out = XBT_BUF_INIT;
	xbt_error *e;

	e = xbt_wire_parse_jsonrpc((const char *)data, size, &m1, &p1, &id1,
				   &v2a);
	if (e) {
		FUZZ_CHECK(!strcmp(e->code, "XMLRPC_UNMARSHAL_FAILURE"),
			   "code %s", e->code);
		FUZZ_CHECK(e->nparams == 2 && !strcmp(e->params[0], EXPECTED),
			   "params");
		FUZZ_CHECK(!m1 && !p1 && !id1 && !v2a, "outputs set on error");
		xbt_wire_jsonrpc_failure(&out, true, NULL, e);
		xbt_wire_xml_failure(&out, e);
		check_safe(&out);
		xbt_error_free(e);
		goto out;
	}
	FUZZ_CHECK(xmlrpc_value_type(p1) == XMLRPC_TYPE_ARRAY, "params type");
	xbt_wire_json_value(&j1, p1);
	check_safe(&j1);
	xbt_wire_jsonrpc_success(&out, v2a, id1, p1);
	xbt_wire_jsonrpc_success(&out, !v2a, id1, p1);
	xbt_wire_xml_call(&out, m1, p1);
	xbt_wire_xml_success(&out, p1);
	xbt_buf_addstr(&out, id1);
	check_safe(&out);

	xbt_buf_addstr(&req, v2a ? "{\"jsonrpc\":\"2.0\",\"method\":" :
				   "{\"method\":");
	json_string(&req, m1);
	xbt_buf_addf(&req, ",\"params\":%s,\"id\":%s}", j1.buf, id1);
	e = xbt_wire_parse_jsonrpc(req.buf, req.len, &m2, &p2, &id2, &v2b);
	FUZZ_CHECK(!e, "own request rejected: %s\n%s",
		   e && e->nparams > 1 ? e->params[1] : "", req.buf);
	safe = xbt_text_safe_dup(m1, strlen(m1));
	FUZZ_CHECK(!strcmp(safe, m2), "method %s, then %s", safe, m2);
	free(safe);
	FUZZ_CHECK(!strcmp(id1, id2), "id %s, then %s", id1, id2);
	FUZZ_CHECK(v2a == v2b, "version changed");
	xbt_wire_json_value(&j2, p2);
	FUZZ_CHECK(j1.len == j2.len && !memcmp(j1.buf, j2.buf, j1.len),
		   "not a fixed point:\n%s\n%s", j1.buf, j2.buf);
out:
	free(m1);
	free(m2);
	free(id1);
	free(id2);
	if (p1)
		xmlrpc_DECREF(p1);
	if (p2)
		xmlrpc_DECREF(p2);
	xbt_buf_release(&j1);
	xbt_buf_release(&j2);
	xbt_buf_release(&req);
	xbt_buf_release(&out);
}

FUZZ_TARGET(one)
