/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the XML side of the wire dialect on arbitrary bytes,
 * read both as a methodCall and as a methodResponse.
 * Properties checked besides "no crash, leak, hang or UB":
 * - a rejected input gives XMLRPC_UNMARSHAL_FAILURE [expected, reason]
 *   with the outputs left NULL;
 * - everything written (values, envelopes, errors) is safe text;
 * - an accepted call is a fixed point once written:
 *   write(parse(write(parse(input)))) == write(parse(input));
 * - a parsed response decodes to a value, a XenAPI error, or "bad".
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "xbt/client.h"
#include "xbt/wire.h"
#include "fuzz_stack.h"

static void check_unmarshal(const xbt_error *e, const char *expected)
{
	FUZZ_CHECK(!strcmp(e->code, "XMLRPC_UNMARSHAL_FAILURE"), "code %s",
		   e->code);
	FUZZ_CHECK(e->nparams == 2, "%zu params", e->nparams);
	FUZZ_CHECK(!strcmp(e->params[0], expected), "expected %s",
		   e->params[0]);
}

static void check_safe(const xbt_buf *b)
{
	FUZZ_CHECK(strlen(b->buf) == b->len, "NUL in output");
	FUZZ_CHECK(xbt_text_is_safe(b->buf, b->len), "unsafe: %s", b->buf);
}

/* Writes an error every way the server can. */
static void write_error(const xbt_error *e)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_wire_xml_failure(&b, e);
	xbt_wire_jsonrpc_failure(&b, false, "1", e);
	xbt_wire_jsonrpc_failure(&b, true, NULL, e);
	check_safe(&b);
	xbt_buf_release(&b);
}

static void as_call(const char *s, size_t len)
{
	char *m1 = NULL, *m2 = NULL;
	xmlrpc_value *p1 = NULL, *p2 = NULL;
	xbt_buf w1 = XBT_BUF_INIT, w2 = XBT_BUF_INIT, j = XBT_BUF_INIT;
	xbt_error *e;

	e = xbt_wire_parse_call(s, len, &m1, &p1);
	if (e) {
		check_unmarshal(e, "methodCall");
		FUZZ_CHECK(!m1 && !p1, "outputs set on error");
		write_error(e);
		xbt_error_free(e);
		return;
	}
	xbt_wire_xml_call(&w1, m1, p1);
	check_safe(&w1);
	xbt_wire_json_value(&j, p1);
	xbt_wire_xml_success(&j, p1);
	check_safe(&j);
	e = xbt_wire_parse_call(w1.buf, w1.len, &m2, &p2);
	FUZZ_CHECK(!e, "own call rejected: %s\n%s",
		   e && e->nparams > 1 ? e->params[1] : "", w1.buf);
	xbt_wire_xml_call(&w2, m2, p2);
	FUZZ_CHECK(w1.len == w2.len && !memcmp(w1.buf, w2.buf, w1.len),
		   "not a fixed point:\n%s\n%s", w1.buf, w2.buf);
	free(m1);
	free(m2);
	xmlrpc_DECREF(p1);
	xmlrpc_DECREF(p2);
	xbt_buf_release(&w1);
	xbt_buf_release(&w2);
	xbt_buf_release(&j);
}

static void as_response(const char *s, size_t len)
{
	xmlrpc_value *r = NULL, *v = NULL;
	char *fault = NULL;
	const char *why = NULL;
	int code = 0;
	xbt_error *e;

	e = xbt_wire_parse_response(s, len, &r, &code, &fault);
	if (e) {
		check_unmarshal(e, "methodResponse");
		FUZZ_CHECK(!r && !fault, "outputs set on error");
		xbt_error_free(e);
		return;
	}
	if (!r) {
		FUZZ_CHECK(fault != NULL, "neither result nor fault");
		free(fault);
		return;
	}
	e = xbt_client_decode_response_why(r, &v, &why);
	if (e) {
		FUZZ_CHECK(!v && !why, "error with a value or a reason");
		FUZZ_CHECK(xbt_text_is_safe(e->code, strlen(e->code)),
			   "unsafe code");
		for (size_t i = 0; i < e->nparams; i++)
			FUZZ_CHECK(xbt_text_is_safe(e->params[i],
						    strlen(e->params[i])),
				   "unsafe param %zu", i);
		write_error(e);
		xbt_error_free(e);
	} else if (v) {
		FUZZ_CHECK(!why, "value with a reason");
		xmlrpc_DECREF(v);
	} else {
		FUZZ_CHECK(why != NULL, "nothing decoded");
	}
	xmlrpc_DECREF(r);
}

static void one(const uint8_t *data, size_t size)
{
	as_call((const char *)data, size);
	as_response((const char *)data, size);
}

FUZZ_TARGET(one)
