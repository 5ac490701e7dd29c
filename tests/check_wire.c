/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XenAPI wire dialect (api/wire.c) and the client (api/client.c): exact
 * bytes out, exact outcomes in, and the client against a tiny HTTP server
 * in a thread of this process that answers canned responses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/json.h>

#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

/* ---- helpers ---------------------------------------------------------------- */

static xmlrpc_env env;

static void env_setup(void)
{
	xmlrpc_env_init(&env);
}

static void env_teardown(void)
{
	ck_assert_msg(!env.fault_occurred, "xmlrpc-c: %s", env.fault_string);
	xmlrpc_env_clean(&env);
}

static xmlrpc_value *build(const char *fmt, ...)
{
	va_list ap;
	xmlrpc_value *v = NULL;
	const char *tail = NULL;

	va_start(ap, fmt);
	xmlrpc_build_value_va(&env, fmt, ap, &v, &tail);
	va_end(ap);
	ck_assert_msg(!env.fault_occurred, "build %s: %s", fmt,
		      env.fault_string);
	return v;
}

static xmlrpc_value *str_lp(const char *s, size_t len)
{
	xmlrpc_value *v = xmlrpc_string_new_lp(&env, len, s);
	ck_assert(!env.fault_occurred);
	return v;
}

/*
 * A string holding invalid UTF-8: xmlrpc-c's constructors refuse those,
 * but its JSON parser passes any byte through (as a client's JSON would).
 */
static xmlrpc_value *str_raw(const char *bytes)
{
	xbt_buf b = XBT_BUF_INIT;
	xmlrpc_value *v;

	xbt_buf_addf(&b, "\"%s\"", bytes);
	v = xmlrpc_parse_json(&env, b.buf);
	ck_assert_msg(!env.fault_occurred, "%s", env.fault_string);
	ck_assert_int_eq(xmlrpc_value_type(v), XMLRPC_TYPE_STRING);
	xbt_buf_release(&b);
	return v;
}

static char *xml_of(xmlrpc_value *v)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_wire_xml_value(&b, v);
	return xbt_buf_detach(&b, NULL);
}

static char *json_of(xmlrpc_value *v)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_wire_json_value(&b, v);
	return xbt_buf_detach(&b, NULL);
}

/* Checks both encodings of v, then drops v. */
static void check_value(xmlrpc_value *v, const char *xml, const char *json)
{
	char *x = xml_of(v), *j = json_of(v);
	ck_assert_str_eq(x, xml);
	ck_assert_str_eq(j, json);
	free(x);
	free(j);
	xmlrpc_DECREF(v);
}

static void check_error(const xbt_error *e, const char *code, size_t n, ...)
{
	va_list ap;

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, code);
	ck_assert_uint_eq(e->nparams, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);
		if (want) /* NULL: not checked here */
			ck_assert_str_eq(e->params[i], want);
	}
	va_end(ap);
}

static xmlrpc_value *dt(unsigned Y, unsigned M, unsigned D, unsigned h,
			unsigned m, unsigned s, unsigned u)
{
	xmlrpc_datetime d = { Y, M, D, h, m, s, u };
	xmlrpc_value *v = xmlrpc_datetime_new(&env, d);
	ck_assert(!env.fault_occurred);
	return v;
}

/* ---- values ----------------------------------------------------------------- */

START_TEST(test_value_strings)
{
	check_value(build("s", "a<b&c>d"), "<value>a&lt;b&amp;c&gt;d</value>",
		    "\"a<b&c>d\"");
	check_value(build("s", "]]>"), "<value>]]&gt;</value>", "\"]]>\"");
	check_value(build("s", ""), "<value></value>", "\"\"");
	/* Control bytes other than TAB, LF, CR become \xNN; TAB and LF stay. */
	check_value(build("s", "a\x01" "b\tc\nd\x1f"),
		    "<value>a\\x01b\tc\nd\\x1f</value>",
		    "\"a\\\\x01b\\tc\\nd\\\\x1f\"");
	/* Invalid UTF-8 is escaped, valid multi-byte UTF-8 kept. */
	check_value(str_raw("\xff" "\xc3\xa9" "\xc3"),
		    "<value>\\xff\xc3\xa9\\xc3</value>",
		    "\"\\\\xff\xc3\xa9\\\\xc3\"");
	check_value(str_lp("a\0b", 3), "<value>a\\x00b</value>",
		    "\"a\\\\x00b\"");
	/* JSON's own escapes; DEL is legal in both but escaped in JSON. */
	check_value(build("s", "q\"b\\s\x7f"), "<value>q\"b\\s\x7f</value>",
		    "\"q\\\"b\\\\s\\u007f\"");
	/* xmlrpc-c's string constructors turn CR and CRLF into LF. */
	check_value(build("s", "a\rb\r\nc"), "<value>a\nb\nc</value>",
		    "\"a\\nb\\nc\"");
	check_value(build("s", "OpaqueRef:NULL"), "<value>OpaqueRef:NULL</value>",
		    "\"OpaqueRef:NULL\"");
}
END_TEST

START_TEST(test_value_scalars)
{
	check_value(build("i", 42), "<value><i4>42</i4></value>", "42");
	check_value(build("i", -7), "<value><i4>-7</i4></value>", "-7");
	check_value(build("i", 0), "<value><i4>0</i4></value>", "0");
	check_value(build("I", (xmlrpc_int64)9223372036854775807LL),
		    "<value>9223372036854775807</value>",
		    "9223372036854775807");
	check_value(build("I", (xmlrpc_int64)(-9223372036854775807LL - 1)),
		    "<value>-9223372036854775808</value>",
		    "-9223372036854775808");
	check_value(build("b", 1), "<value><boolean>1</boolean></value>",
		    "true");
	check_value(build("b", 0), "<value><boolean>0</boolean></value>",
		    "false");
	check_value(build("d", 0.1), "<value><double>0.1</double></value>",
		    "0.1");
	/* In JSON a double keeps a '.' so that it reads back as one. */
	check_value(build("d", 1.0), "<value><double>1</double></value>", "1.0");
	check_value(build("d", -2.5), "<value><double>-2.5</double></value>",
		    "-2.5");
	check_value(build("d", 0.1 + 0.2),
		    "<value><double>0.30000000000000004</double></value>",
		    "0.30000000000000004");
	check_value(build("d", 1e300), "<value><double>1e+300</double></value>",
		    "1e+300");
	check_value(build("d", NAN), "<value><double>nan</double></value>",
		    "null");
	check_value(build("d", -INFINITY),
		    "<value><double>-inf</double></value>", "null");
	check_value(build("d", INFINITY),
		    "<value><double>inf</double></value>", "null");
	check_value(build("n"), "<value></value>", "null");
	check_value(build("6", "hi!h", (size_t)4),
		    "<value><base64>aGkhaA==</base64></value>",
		    "\"aGkhaA==\"");
	check_value(build("6", "", (size_t)0),
		    "<value><base64></base64></value>", "\"\"");
}
END_TEST

START_TEST(test_value_datetime)
{
	check_value(dt(2026, 1, 1, 0, 0, 0, 0),
		    "<value><dateTime.iso8601>20260101T00:00:00Z"
		    "</dateTime.iso8601></value>",
		    "\"20260101T00:00:00Z\"");
	/* "never", and microseconds dropped (xapi has none). */
	check_value(dt(1970, 1, 1, 0, 0, 0, 0),
		    "<value><dateTime.iso8601>19700101T00:00:00Z"
		    "</dateTime.iso8601></value>",
		    "\"19700101T00:00:00Z\"");
	check_value(dt(2025, 12, 31, 23, 59, 58, 999999),
		    "<value><dateTime.iso8601>20251231T23:59:58Z"
		    "</dateTime.iso8601></value>",
		    "\"20251231T23:59:58Z\"");
	check_value(dt(9999, 12, 31, 23, 59, 59, 0),
		    "<value><dateTime.iso8601>99991231T23:59:59Z"
		    "</dateTime.iso8601></value>",
		    "\"99991231T23:59:59Z\"");
}
END_TEST

START_TEST(test_value_compound)
{
	xmlrpc_value *v, *key, *empty;

	check_value(build("()"), "<value><array><data></data></array></value>",
		    "[]");
	check_value(build("{}"), "<value><struct></struct></value>", "{}");
	check_value(build("(s(si)n)", "a", "b", 1),
		    "<value><array><data><value>a</value><value><array><data>"
		    "<value>b</value><value><i4>1</i4></value></data></array></value>"
		    "<value></value></data></array></value>",
		    "[\"a\",[\"b\",1],null]");
	/* Members in insertion order; keys made safe and escaped. */
	v = build("{s:s,s:{s:b}}", "k<", "v", "n", "x", 1);
	key = str_raw("\xff");
	empty = build("()");
	xmlrpc_struct_set_value_v(&env, v, key, empty);
	xmlrpc_DECREF(key);
	xmlrpc_DECREF(empty);
	check_value(v,
		    "<value><struct><member><name>k&lt;</name><value>v</value>"
		    "</member><member><name>n</name><value><struct><member>"
		    "<name>x</name><value><boolean>1</boolean></value></member>"
		    "</struct></value></member><member><name>\\xff</name>"
		    "<value><array><data></data></array></value></member>"
		    "</struct></value>",
		    "{\"k<\":\"v\",\"n\":{\"x\":true},\"\\\\xff\":[]}");
}
END_TEST

/* ---- envelopes --------------------------------------------------------------- */

#define RESP_HEAD "<?xml version=\"1.0\"?><methodResponse><params><param>" \
	"<value><struct><member><name>Status</name>"
#define RESP_TAIL "</struct></value></param></params></methodResponse>"

static char *detach(xbt_buf *b)
{
	return xbt_buf_detach(b, NULL);
}

START_TEST(test_xml_success)
{
	xbt_buf b = XBT_BUF_INIT;
	xmlrpc_value *v = build("s", "OpaqueRef:a&b");
	char *s;

	xbt_wire_xml_success(&b, v);
	s = detach(&b);
	ck_assert_str_eq(s, RESP_HEAD "<value>Success</value></member>"
			 "<member><name>Value</name><value>OpaqueRef:a&amp;b"
			 "</value></member>" RESP_TAIL);
	free(s);
	xmlrpc_DECREF(v);

	v = build("n");
	xbt_wire_xml_success(&b, v);
	s = detach(&b);
	ck_assert_str_eq(s, RESP_HEAD "<value>Success</value></member>"
			 "<member><name>Value</name><value></value></member>"
			 RESP_TAIL);
	free(s);
	xmlrpc_DECREF(v);
}
END_TEST

START_TEST(test_xml_failure)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *e = XBT_RAISE("HANDLE_INVALID", "VM", "OpaqueRef:<x>\x01");
	char *s;

	xbt_wire_xml_failure(&b, e);
	s = detach(&b);
	ck_assert_str_eq(s, RESP_HEAD "<value>Failure</value></member>"
			 "<member><name>ErrorDescription</name><value><array>"
			 "<data><value>HANDLE_INVALID</value><value>VM</value>"
			 "<value>OpaqueRef:&lt;x&gt;\\x01</value></data>"
			 "</array></value></member>" RESP_TAIL);
	free(s);
	xbt_error_free(e);

	e = XBT_RAISE("SR_NOT_EMPTY");
	xbt_wire_xml_failure(&b, e);
	s = detach(&b);
	ck_assert_str_eq(s, RESP_HEAD "<value>Failure</value></member>"
			 "<member><name>ErrorDescription</name><value><array>"
			 "<data><value>SR_NOT_EMPTY</value></data></array>"
			 "</value></member>" RESP_TAIL);
	free(s);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_xml_call)
{
	xbt_buf b = XBT_BUF_INIT;
	xmlrpc_value *p = build("(si)", "OpaqueRef:s", 5);
	char *s;

	xbt_wire_xml_call(&b, "VM.start&", p);
	s = detach(&b);
	ck_assert_str_eq(s, "<?xml version=\"1.0\"?><methodCall><methodName>"
			 "VM.start&amp;</methodName><params><param><value>"
			 "OpaqueRef:s</value></param><param><value><i4>5</i4></value>"
			 "</param></params></methodCall>");
	free(s);
	xmlrpc_DECREF(p);

	xbt_wire_xml_call(&b, "system.listMethods", NULL);
	s = detach(&b);
	ck_assert_str_eq(s, "<?xml version=\"1.0\"?><methodCall><methodName>"
			 "system.listMethods</methodName><params></params>"
			 "</methodCall>");
	free(s);
}
END_TEST

START_TEST(test_jsonrpc_envelopes)
{
	xbt_buf b = XBT_BUF_INIT;
	xmlrpc_value *v = build("{s:i}", "a", 1);
	xbt_error *e = XBT_RAISE("SESSION_INVALID", "OpaqueRef:\"x\"");
	xbt_error *bare = XBT_RAISE("SR_NOT_EMPTY");
	char *s;

	xbt_wire_jsonrpc_success(&b, false, "1", v);
	s = detach(&b);
	ck_assert_str_eq(s, "{\"result\":{\"a\":1},\"error\":null,\"id\":1}");
	free(s);
	xbt_wire_jsonrpc_success(&b, true, "\"abc\"", v);
	s = detach(&b);
	ck_assert_str_eq(s, "{\"jsonrpc\":\"2.0\",\"result\":{\"a\":1},"
			 "\"id\":\"abc\"}");
	free(s);
	xbt_wire_jsonrpc_failure(&b, false, "7", e);
	s = detach(&b);
	ck_assert_str_eq(s, "{\"result\":null,\"error\":[\"SESSION_INVALID\","
			 "\"OpaqueRef:\\\"x\\\"\"],\"id\":7}");
	free(s);
	xbt_wire_jsonrpc_failure(&b, true, "7", e);
	s = detach(&b);
	ck_assert_str_eq(s, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,"
			 "\"message\":\"SESSION_INVALID\",\"data\":"
			 "[\"OpaqueRef:\\\"x\\\"\"]},\"id\":7}");
	free(s);
	xbt_wire_jsonrpc_failure(&b, false, NULL, bare);
	s = detach(&b);
	ck_assert_str_eq(s, "{\"result\":null,\"error\":[\"SR_NOT_EMPTY\"],"
			 "\"id\":null}");
	free(s);
	xbt_wire_jsonrpc_failure(&b, true, "\"i\"", bare);
	s = detach(&b);
	ck_assert_str_eq(s, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,"
			 "\"message\":\"SR_NOT_EMPTY\",\"data\":[]},"
			 "\"id\":\"i\"}");
	free(s);
	xbt_error_free(e);
	xbt_error_free(bare);
	xmlrpc_DECREF(v);
}
END_TEST

/* ---- parsing methodCalls ---------------------------------------------------------- */

#define CALL(params) "<methodCall><methodName>m</methodName><params>" \
	params "</params></methodCall>"
#define P(v) "<param><value>" v "</value></param>"
#define DTP(t) P("<dateTime.iso8601>" t "</dateTime.iso8601>")
#define DTV(t) "<value><dateTime.iso8601>" t "</dateTime.iso8601></value>"

struct call_case {
	const char *xml;
	const char *method;
	const char *params; /* re-serialised as XML, concatenated */
};

static const struct call_case good_calls[] = {
	{ "<?xml version=\"1.0\"?>" CALL(P("x")), "m", "<value>x</value>" },
	{ CALL(P("<string>a&amp;b</string>")), "m", "<value>a&amp;b</value>" },
	{ CALL(P("")), "m", "<value></value>" },
	{ CALL(P("<i4>-5</i4>") P("<int>6</int>") P("<i8>7</i8>")), "m",
	  "<value><i4>-5</i4></value><value><i4>6</i4></value><value>7</value>" },
	{ CALL(P("<boolean>1</boolean>") P("<double>2.5</double>")), "m",
	  "<value><boolean>1</boolean></value>"
	  "<value><double>2.5</double></value>" },
	{ CALL(P("<nil/>") P("<ex:nil/>")), "m",
	  "<value></value><value></value>" },
	{ CALL(DTP("20260101T00:00:00Z")), "m", DTV("20260101T00:00:00Z") },
	{ CALL(DTP("20260101T00:00:00")), "m", DTV("20260101T00:00:00Z") },
	{ CALL(DTP("2026-01-01T00:00:00Z")), "m", DTV("20260101T00:00:00Z") },
	{ CALL(DTP("20260101T000000")), "m", DTV("20260101T00:00:00Z") },
	/* Forms xmlrpc-c refuses, rewritten before it sees them. */
	{ CALL(DTP("2026-01-01T00:00:00.123456Z")), "m",
	  DTV("20260101T00:00:00Z") },
	{ CALL(DTP("20260101T01:30:00+01:30")), "m",
	  DTV("20260101T00:00:00Z") },
	{ CALL(DTP("2025-12-31T19:00:00-05:00")), "m",
	  DTV("20260101T00:00:00Z") },
	{ CALL(DTP("20260101T00:00:00+0000")), "m", DTV("20260101T00:00:00Z") },
	{ CALL(DTP(" 20260101T00:00:00Z\n")), "m", DTV("20260101T00:00:00Z") },
	/* Pretty-printed, with a comment, a PI, CDATA and a struct. */
	{ "<?xml version=\"1.0\"?>\n<!-- c -->\n<methodCall>\n"
	  "  <methodName>VM.start</methodName>\n  <params>\n"
	  "    <param>\n      <value><struct>\n        <member>\n"
	  "          <name>k</name>\n          <value><array><data>\n"
	  "            <value><![CDATA[<dateTime.iso8601> 1</dateTime.iso8601>]]>"
	  "</value>\n          </data></array></value>\n        </member>\n"
	  "      </struct></value>\n    </param>\n  </params>\n"
	  "<?pi x?></methodCall>\n",
	  "VM.start",
	  "<value><struct><member><name>k</name><value><array><data><value>"
	  "&lt;dateTime.iso8601&gt; 1&lt;/dateTime.iso8601&gt;</value></data>"
	  "</array></value></member></struct></value>" },
	{ "<methodCall><methodName>m</methodName></methodCall>", "m", "" },
	{ "<methodCall><methodName>a&amp;b</methodName><params/></methodCall>",
	  "a&b", "" },
	/* '>' inside an attribute value does not end the tag. */
	{ "<methodCall a=\"x>y\"><methodName>m</methodName></methodCall>", "m",
	  "" },
};

START_TEST(test_parse_call_good)
{
	const struct call_case *c = &good_calls[_i];
	char *method = NULL;
	xmlrpc_value *params = NULL;
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *e;
	int n;

	e = xbt_wire_parse_call(c->xml, strlen(c->xml), &method, &params);
	if (e)
		ck_abort_msg("case %d: %s [%s]", _i, e->code,
			     e->nparams > 1 ? e->params[1] : "");
	ck_assert_str_eq(method, c->method);
	n = xmlrpc_array_size(&env, params);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *p;
		xmlrpc_array_read_item(&env, params, (unsigned)i, &p);
		xbt_wire_xml_value(&b, p);
		xmlrpc_DECREF(p);
	}
	ck_assert_str_eq(b.buf, c->params);
	xbt_buf_release(&b);
	xmlrpc_DECREF(params);
	free(method);
}
END_TEST

struct bad_case {
	const char *xml;
	size_t len;       /* 0: strlen */
	const char *why;  /* exact, or with a leading '~' a substring */
};

#define LIT(s) s, sizeof(s) - 1

static const struct bad_case bad_calls[] = {
	{ "", 0, "empty request" },
	{ "garbage", 0, "~valid XML" },
	{ "<methodResponse></methodResponse>", 0, "~<methodCall>" },
	{ "<methodCall><params></params></methodCall>", 0,
	  "~child <methodName>" },
	/* xmlrpc-c 1.33 crashes on these unless the pre-scan refuses them. */
	{ CALL(P("<i8>12x</i8>")), 0, "<i8> value is not a 64-bit integer" },
	{ CALL(P("<i8>99999999999999999999</i8>")), 0,
	  "<i8> value is not a 64-bit integer" },
	{ CALL(P("<ex:i8>-</ex:i8>")), 0, "<i8> value is not a 64-bit integer" },
	{ CALL(P("<i4>x</i4>")), 0, "~non-numerical" },
	{ CALL(P("<i4>99999999999</i4>")), 0, "~" },
	{ CALL(P("<unknown>1</unknown>")), 0, "~unknown" },
	{ CALL(P("<double>1e400</double>")), 0, "~not a valid floating point" },
	{ CALL(P("<double>1.5x</double>")), 0, "~not a valid floating point" },
	{ CALL(DTP("yesterday")), 0, "~not of any form" },
	{ CALL(DTP("20261301T00:00:00")), 0, "~Month" },
	{ CALL(DTP("20260101T00:00:00+25:00")), 0, "~not of any form" },
	{ CALL(P("<value>x</value>")), 0, "~" },
	{ "<methodCall><methodName>m</methodName><params><param><value>", 0,
	  "~valid XML" },
	{ LIT("<methodCall><methodName>m\0</methodName></methodCall>"),
	  "~valid XML" },
	{ CALL(P("\xff")), 0, "~valid XML" },
	{ CALL(P("&#1;")), 0, "~valid XML" },
	{ "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>"
	  CALL(P("&a;")), 0,
	  "DOCTYPE and other declarations are not accepted" },
	{ "<methodCall><!ELEMENT x ANY></methodCall>", 0,
	  "DOCTYPE and other declarations are not accepted" },
};

static void check_reason(const xbt_error *e, const char *expected,
			 const char *why)
{
	check_error(e, "XMLRPC_UNMARSHAL_FAILURE", 2, expected, NULL);
	if (why[0] == '~')
		ck_assert_msg(strstr(e->params[1], why + 1), "[%s] lacks [%s]",
			      e->params[1], why + 1);
	else
		ck_assert_str_eq(e->params[1], why);
}

/* xmlrpc-c refuses an empty name; xapi answers MESSAGE_METHOD_UNKNOWN [""]. */
START_TEST(test_parse_call_empty_name)
{
	static const char *const calls[] = {
		"<methodCall><methodName></methodName><params></params></methodCall>",
		"<methodCall><methodName/></methodCall>",
	};

	for (size_t k = 0; k < 2; k++) {
		char *method = NULL;
		xmlrpc_value *params = NULL;
		xbt_error *e = xbt_wire_parse_call(calls[k], strlen(calls[k]),
						   &method, &params);
		ck_assert_ptr_null(e);
		ck_assert_str_eq(method, "");
		ck_assert_int_eq(xmlrpc_array_size(&env, params), 0);
		free(method);
		xmlrpc_DECREF(params);
	}
}
END_TEST

START_TEST(test_parse_call_bad)
{
	const struct bad_case *c = &bad_calls[_i];
	char *method = (char *)"untouched";
	xmlrpc_value *params = (xmlrpc_value *)&env;
	xbt_error *e;

	e = xbt_wire_parse_call(c->xml, c->len ? c->len : strlen(c->xml),
				&method, &params);
	check_reason(e, "methodCall", c->why);
	ck_assert_ptr_null(method);
	ck_assert_ptr_null(params);
	xbt_error_free(e);
}
END_TEST

/* k arrays around a string, as a whole methodCall. */
static char *nested_call(int k)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addstr(&b, "<methodCall><methodName>m</methodName><params>"
		       "<param>");
	for (int i = 0; i < k; i++)
		xbt_buf_addstr(&b, "<value><array><data>");
	xbt_buf_addstr(&b, "<value>x</value>");
	for (int i = 0; i < k; i++)
		xbt_buf_addstr(&b, "</data></array></value>");
	xbt_buf_addstr(&b, "</param></params></methodCall>");
	return xbt_buf_detach(&b, NULL);
}

START_TEST(test_parse_call_depth)
{
	/* methodCall, params, param, 3 per array, the innermost value. */
	int kmax = (XBT_WIRE_MAX_XML_DEPTH - 4) / 3;
	char *ok = nested_call(kmax), *deep = nested_call(kmax + 1);
	char *method = NULL;
	xmlrpc_value *params = NULL;
	xbt_error *e;
	xbt_buf b = XBT_BUF_INIT;

	ck_assert_int_ge(kmax, XBT_MAX_NESTING);
	e = xbt_wire_parse_call(ok, strlen(ok), &method, &params);
	ck_assert_ptr_null(e);
	xmlrpc_DECREF(params);
	free(method);
	e = xbt_wire_parse_call(deep, strlen(deep), &method, &params);
	check_reason(e, "methodCall", "XML nested too deeply");
	xbt_error_free(e);

	/* Deep non-XML-RPC elements: xmlrpc-c would free them recursively. */
	xbt_buf_addstr(&b, "<methodCall><methodName>m</methodName><params>");
	for (int i = 0; i < 100000; i++)
		xbt_buf_addstr(&b, "<a>");
	e = xbt_wire_parse_call(b.buf, b.len, &method, &params);
	check_reason(e, "methodCall", "XML nested too deeply");
	xbt_error_free(e);
	xbt_buf_release(&b);
	free(ok);
	free(deep);
}
END_TEST

/* xmlrpc-c alone reads 0.75 as 0.75000000000000011; every double here is exact. */
START_TEST(test_parse_call_doubles_exact)
{
	static const char *const texts[] = {
		"0.75", "0.1", "0.3", "1e-07", "1.5E3", "-0", "-0.0",
		"123456789.123456789", "5e-324", "2.2250738585072014e-308",
		"1.7976931348623157e308", ".5", "5.", "+2.5", "0x10", "inf",
		"-inf", "3.141592653589793238462643383279",
	};

	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		xbt_buf b = XBT_BUF_INIT;
		char *method = NULL;
		xmlrpc_value *params = NULL, *p;
		double got = 0, want = strtod(texts[k], NULL);
		xbt_error *e;

		xbt_buf_addf(&b, "<methodCall><methodName>m</methodName><params>"
			     "<param><value><double>%s</double></value></param>"
			     "</params></methodCall>", texts[k]);
		e = xbt_wire_parse_call(b.buf, b.len, &method, &params);
		ck_assert_msg(!e, "%s: %s", texts[k], e ? e->params[1] : "");
		p = xbt_value_item(params, 0);
		xmlrpc_read_double(&env, p, &got);
		ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0,
			      "%s: %.17g", texts[k], got);
		xmlrpc_DECREF(p);
		xmlrpc_DECREF(params);
		free(method);
		xbt_buf_release(&b);
	}
}
END_TEST

START_TEST(test_parse_call_reason_cut)
{
	xbt_buf b = XBT_BUF_INIT;
	char *method = NULL;
	xmlrpc_value *params = NULL;
	xbt_error *e;

	/* xmlrpc-c quotes the bad text; the reason is kept short. */
	xbt_buf_addstr(&b, "<methodCall><methodName>m</methodName><params>"
		       "<param><value><i4>");
	for (int i = 0; i < 5000; i++)
		xbt_buf_addstr(&b, "\xc3\xa9");
	xbt_buf_addstr(&b, "</i4></value></param></params></methodCall>");
	e = xbt_wire_parse_call(b.buf, b.len, &method, &params);
	check_reason(e, "methodCall", "~<int> value '\xc3\xa9");
	ck_assert_uint_le(strlen(e->params[1]), 1024);
	ck_assert(xbt_text_is_safe(e->params[1], strlen(e->params[1])));
	xbt_error_free(e);
	xbt_buf_release(&b);
}
END_TEST

/* ---- parsing JSON-RPC --------------------------------------------------------------- */

struct json_case {
	const char *json;
	size_t len;          /* 0: strlen */
	const char *method;
	const char *params;  /* each param as JSON, comma-separated */
	const char *id;
	bool v2;
};

static const struct json_case good_json[] = {
	{ "{\"method\":\"session.login_with_password\",\"params\":"
	  "[\"root\",\"xbt\"],\"id\":1}", 0,
	  "session.login_with_password", "\"root\",\"xbt\"", "1", false },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":\"abc\"}",
	  0, "m", "", "\"abc\"", true },
	{ " { \"id\" : -3 , \"method\" : \"m\" } ", 0, "m", "", "-3", false },
	{ "{\"method\":\"m\",\"params\":null,\"id\":0}", 0, "m", "", "0",
	  false },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":[1,true]},"
	  "\"id\":1}", 0, "m", "{\"a\":[1,true]}", "1", true },
	{ "{\"method\":\"m\",\"params\":[\"a\\u0000b\",1.5,null,false,{}],"
	  "\"id\":\"q\\\"\\u0001\"}", 0,
	  "m", "\"a\\\\x00b\",1.5,null,false,{}", "\"q\\\"\\\\x01\"", false },
	/* A surrogate pair becomes one UTF-8 character; a lone half not. */
	{ "{\"method\":\"m\",\"params\":[\"\\ud83d\\ude00\",\"\\ud800\","
	  "\"\\\\ud83d\\\\ude00\"],\"id\":1}", 0,
	  "m", "\"\xf0\x9f\x98\x80\",\"\\\\xed\\\\xa0\\\\x80\","
	  "\"\\\\ud83d\\\\ude00\"", "1", false },
	{ "{\"method\":\"m\",\"params\":[\"\xe2\x82\xac\xff\"],\"id\":1}", 0,
	  "m", "\"\xe2\x82\xac\\\\xff\"", "1", false },
	/* Every \u escape is decoded here (xmlrpc-c 1.33 reads stale stack
	 * bytes after the four digits), in keys too. */
	{ "{\"method\":\"m\",\"params\":[\"\\u00e9\\u20AC\\u0022\\u005c"
	  "\\u002f\\u0009\\u000a\\u000d\\u0041\\u001f\\n\\/\\\\\",{\"\\u006b\":1}],"
	  "\"id\":\"\\u0031\"}", 0,
	  "m", "\"\xc3\xa9\xe2\x82\xac\\\"\\\\/\\t\\n\\rA\\\\x1f\\n/\\\\\",{\"k\":1}",
	  "\"1\"", false },
	/* Every number form JSON has: integers within int64 are i8 (out
	 * of range: double), the rest doubles. */
	{ "{\"method\":\"m\",\"params\":[0,-0,1e-07,1E+2,-2.5e-3,0.5,-0.0,"
	  "9223372036854775807,-9223372036854775808,9223372036854775808],"
	  "\"id\":1}", 0, "m",
	  "0,0,1e-07,100.0,-0.0025,0.5,-0.0,9223372036854775807,"
	  "-9223372036854775808,9.223372036854776e+18", "1", false },
	/* Beyond the BMP, raw or escaped, and the private-use characters
	 * api/text.c encodes them with, all come back as they went in. */
	{ "{\"method\":\"m\",\"params\":[\"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\","
	  "\"\\uD83D\\uDE00\\ue000\\ue7ff\\ue800\xee\x80\x80\"],"
	  "\"id\":1}", 0, "m",
	  "\"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\",\"\xf0\x9f\x98\x80"
	  "\xee\x80\x80\xee\x9f\xbf\xee\xa0\x80\xee\x80\x80\"", "1", false },
	/* A NUL in a method name cannot cut it short. */
	{ "{\"method\":\"VM.start\\u0000x\",\"id\":1}", 0,
	  "VM.start\\x00x", "", "1", false },
};

START_TEST(test_parse_jsonrpc_good)
{
	const struct json_case *c = &good_json[_i];
	char *method = NULL, *id = NULL;
	xmlrpc_value *params = NULL;
	bool v2 = !c->v2;
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *e;
	int n;

	e = xbt_wire_parse_jsonrpc(c->json, c->len ? c->len : strlen(c->json),
				   &method, &params, &id, &v2);
	if (e)
		ck_abort_msg("case %d: %s [%s]", _i, e->code,
			     e->nparams > 1 ? e->params[1] : "");
	ck_assert_str_eq(method, c->method);
	ck_assert_str_eq(id, c->id);
	ck_assert(v2 == c->v2);
	n = xmlrpc_array_size(&env, params);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *p;
		if (i)
			xbt_buf_addch(&b, ',');
		xmlrpc_array_read_item(&env, params, (unsigned)i, &p);
		xbt_wire_json_value(&b, p);
		xmlrpc_DECREF(p);
	}
	ck_assert_str_eq(b.buf, c->params);
	xbt_buf_release(&b);
	xmlrpc_DECREF(params);
	free(method);
	free(id);
}
END_TEST

static const struct bad_case bad_json[] = {
	{ "", 0, "empty request" },
	{ LIT("{\"method\":\"m\",\"id\":1}\0x"), "NUL byte in request" },
	{ LIT("{\"method\":\"m\",\"params\":[\"a\0\"],\"id\":1}"),
	  "NUL byte in request" },
	{ "nonsense", 0, "json: unexpected character at byte 0" },
	{ "{\"method\":\"m\",\"id\":1} x", 0,
	  "json: text after the value at byte 22" },
	/* Not JSON, though xmlrpc-c 1.33 took them. */
	{ "{\"method\":\"m\",\"params\":[-0.],\"id\":1}", 0,
	  "json: bad number at byte 27" },
	{ "{\"method\":\"m\",\"params\":[01],\"id\":1}", 0,
	  "json: expected ',' or ']' at byte 25" },
	{ "{\"method\":\"m\",\"params\":[.5],\"id\":1}", 0,
	  "json: unexpected character at byte 24" },
	{ "{\"method\":\"m\",\"params\":[+1],\"id\":1}", 0,
	  "json: unexpected character at byte 24" },
	{ "{\"method\":\"m\",\"params\":[1e],\"id\":1}", 0,
	  "json: bad number at byte 26" },
	{ "{\"method\":\"m\",\"params\":[1e999],\"id\":1}", 0,
	  "json: number out of range at byte 29" },
	{ "// c\n{\"method\":\"m\",\"id\":1}", 0,
	  "json: unexpected character at byte 0" },
	{ "{\"method\":\"m\",\"params\":[\"a\tb\"],\"id\":1}", 0,
	  "json: control character in a string at byte 26" },
	{ "{\"method\":\"m\",\"params\":[\"\\q\"],\"id\":1}", 0,
	  "json: unknown escape in a string at byte 25" },
	{ "{\"method\":\"m\",\"params\":[\"\\u12\"],\"id\":1}", 0,
	  "json: bad \\u escape at byte 25" },
	{ "{\"method\":\"m\",\"params\":[tru],\"id\":1}", 0,
	  "json: unexpected character at byte 24" },
	{ "{\"method\":\"m\",\"params\":[1,],\"id\":1}", 0,
	  "json: unexpected character at byte 26" },
	{ "{\"method\":\"m\" \"id\":1}", 0,
	  "json: expected ',' or '}' at byte 14" },
	{ "[1]", 0, "request is not a JSON object" },
	{ "\"s\"", 0, "request is not a JSON object" },
	{ "{\"method\":\"m\",\"params\":[]}", 0,
	  "no id (notifications are not supported)" },
	{ "{\"method\":\"m\",\"params\":[],\"id\":null}", 0,
	  "id is null (notifications are not supported)" },
	{ "{\"method\":\"m\",\"id\":true}", 0,
	  "id is neither a string nor an integer" },
	{ "{\"method\":\"m\",\"id\":[1]}", 0,
	  "id is neither a string nor an integer" },
	{ "{\"method\":\"m\",\"id\":1.5}", 0,
	  "id is neither a string nor an integer" },
	{ "{\"method\":\"m\",\"params\":\"x\",\"id\":1}", 0,
	  "params is not an array" },
	{ "{\"method\":\"m\",\"params\":{},\"id\":1}", 0,
	  "params is not an array" },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":5,\"id\":1}", 0,
	  "params is not an array" },
	{ "{\"params\":[],\"id\":1}", 0, "no method" },
	{ "{\"method\":5,\"id\":1}", 0, "method is not a string" },
	{ "{\"method\":\"\",\"id\":1}", 0, "empty method" },
	{ "{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"id\":1}", 0,
	  "jsonrpc is not \"2.0\"" },
	{ "{\"jsonrpc\":2,\"method\":\"m\",\"id\":1}", 0,
	  "jsonrpc is not \"2.0\"" },
	{ "{\"method\":\"m\",\"id\":1", 0,
	  "json: expected ',' or '}' at byte 20" },
	{ "{\"method\":\"m\",\"id\":\"1}", 0,
	  "json: unterminated string at byte 22" },
};

START_TEST(test_parse_jsonrpc_bad)
{
	const struct bad_case *c = &bad_json[_i];
	char *method = (char *)"untouched", *id = (char *)"untouched";
	xmlrpc_value *params = (xmlrpc_value *)&env;
	bool v2 = true;
	xbt_error *e;

	e = xbt_wire_parse_jsonrpc(c->xml, c->len ? c->len : strlen(c->xml),
				   &method, &params, &id, &v2);
	check_reason(e, "JSON-RPC request", c->why);
	ck_assert_ptr_null(method);
	ck_assert_ptr_null(params);
	ck_assert_ptr_null(id);
	ck_assert(!v2);
	xbt_error_free(e);
}
END_TEST

static char *nested_json(size_t depth, bool closed)
{
	xbt_buf b = XBT_BUF_INIT;

	/* The request object and the params array count as two levels. */
	xbt_buf_addstr(&b, "{\"method\":\"m\",\"id\":1,\"params\":[");
	for (size_t i = 2; i < depth; i++)
		xbt_buf_addch(&b, '[');
	for (size_t i = 2; closed && i < depth; i++)
		xbt_buf_addch(&b, ']');
	if (closed)
		xbt_buf_addstr(&b, "]}");
	return xbt_buf_detach(&b, NULL);
}

START_TEST(test_parse_jsonrpc_depth)
{
	char *ok = nested_json(XBT_MAX_NESTING, true);
	char *deep = nested_json(XBT_MAX_NESTING + 1, true);
	char *huge = nested_json(100000, false);
	char *method = NULL, *id = NULL;
	xmlrpc_value *params = NULL;
	bool v2;
	xbt_error *e;

	e = xbt_wire_parse_jsonrpc(ok, strlen(ok), &method, &params, &id, &v2);
	ck_assert_ptr_null(e);
	xmlrpc_DECREF(params);
	free(method);
	free(id);
	e = xbt_wire_parse_jsonrpc(deep, strlen(deep), &method, &params, &id,
				   &v2);
	check_reason(e, "JSON-RPC request", "~json: nested too deeply");
	/* The prescan's frames are kept and the re-raise recorded. */
	ck_assert_uint_ge(e->bt.n, 2);
	ck_assert(e->bt.frames[e->bt.n - 1].is_raise);
	xbt_error_free(e);
	e = xbt_wire_parse_jsonrpc(huge, strlen(huge), &method, &params, &id,
				   &v2);
	check_reason(e, "JSON-RPC request", "~json: nested too deeply");
	xbt_error_free(e);
	free(ok);
	free(deep);
	free(huge);
}
END_TEST

/* ---- responses ------------------------------------------------------------------------ */

struct decode_case {
	const char *fmt;   /* xmlrpc_build_value format, no arguments */
	const char *why;   /* NULL: a good response */
};

static xmlrpc_value *build_response(int i);

START_TEST(test_decode_success)
{
	xmlrpc_value *r = build("{s:s,s:s}", "Status", "Success", "Value",
				"OpaqueRef:x");
	xmlrpc_value *v = NULL;
	char *s;
	xbt_error *e = xbt_client_decode_response(r, &v);

	ck_assert_ptr_null(e);
	s = xml_of(v);
	ck_assert_str_eq(s, "<value>OpaqueRef:x</value>");
	free(s);
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(r);

	r = build("{s:s,s:{s:(i)}}", "Status", "Success", "Value", "a", 1);
	e = xbt_client_decode_response(r, &v);
	ck_assert_ptr_null(e);
	s = json_of(v);
	ck_assert_str_eq(s, "{\"a\":[1]}");
	free(s);
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(r);
}
END_TEST

START_TEST(test_decode_failure)
{
	xmlrpc_value *bad = str_raw("\xff");
	xmlrpc_value *r = build("{s:s,s:(ssV)}", "Status", "Failure",
				"ErrorDescription", "HANDLE_INVALID", "VM",
				bad);
	xmlrpc_value *v = (xmlrpc_value *)&env;
	xbt_error *e = xbt_client_decode_response(r, &v);

	xmlrpc_DECREF(bad);
	check_error(e, "HANDLE_INVALID", 2, "VM", "\\xff");
	ck_assert_ptr_null(v);
	/* Raised in the decoder, then passed up. */
	ck_assert_uint_ge(e->bt.n, 2);
	ck_assert_str_eq(e->bt.frames[0].filename, "api/client.c");
	ck_assert(e->bt.frames[0].is_raise);
	xbt_error_free(e);
	xmlrpc_DECREF(r);

	r = build("{s:s,s:(s)}", "Status", "Failure", "ErrorDescription",
		  "SR_NOT_EMPTY");
	e = xbt_client_decode_response(r, &v);
	check_error(e, "SR_NOT_EMPTY", 0);
	xbt_error_free(e);
	xmlrpc_DECREF(r);
}
END_TEST

static const struct decode_case bad_responses[] = {
	{ "s", "response is not a struct" },
	{ "{}", "no Status string" },
	{ "{s:i}", "no Status string" },
	{ "{s:s}", "Status is neither Success nor Failure" },
	{ "{s:s}", "Success without Value" },
	{ "{s:s}", "Failure without ErrorDescription" },
	{ "{s:s,s:()}", "ErrorDescription is not a non-empty array" },
	{ "{s:s,s:s}", "ErrorDescription is not a non-empty array" },
	{ "{s:s,s:(si)}", "ErrorDescription holds a non-string" },
	{ "{s:s,s:(i)}", "ErrorDescription holds a non-string" },
};

static xmlrpc_value *build_response(int i)
{
	switch (i) {
	case 0: return build("s", "Success");
	case 1: return build("{}");
	case 2: return build("{s:i}", "Status", 1);
	case 3: return build("{s:s}", "Status", "success");
	case 4: return build("{s:s}", "Status", "Success");
	case 5: return build("{s:s}", "Status", "Failure");
	case 6: return build("{s:s,s:()}", "Status", "Failure",
			     "ErrorDescription");
	case 7: return build("{s:s,s:s}", "Status", "Failure",
			     "ErrorDescription", "X");
	case 8: return build("{s:s,s:(si)}", "Status", "Failure",
			     "ErrorDescription", "X", 1);
	default: return build("{s:s,s:(i)}", "Status", "Failure",
			      "ErrorDescription", 1);
	}
}

START_TEST(test_decode_bad)
{
	xmlrpc_value *r = build_response(_i);
	xmlrpc_value *v = (xmlrpc_value *)&env;
	const char *why = NULL;
	xbt_error *e = xbt_client_decode_response_why(r, &v, &why);

	ck_assert_ptr_null(e);
	ck_assert_ptr_null(v);
	ck_assert_str_eq(why, bad_responses[_i].why);
	v = (xmlrpc_value *)&env;
	e = xbt_client_decode_response(r, &v);
	check_error(e, "INTERNAL_ERROR", 1, "bad XenAPI response");
	ck_assert_ptr_null(v);
	xbt_error_free(e);
	xmlrpc_DECREF(r);
}
END_TEST

START_TEST(test_parse_response)
{
	const char *ok = "<?xml version=\"1.0\"?><methodResponse><params>"
		"<param><value><dateTime.iso8601>2026-01-01T02:00:00+02:00"
		"</dateTime.iso8601></value></param></params></methodResponse>";
	const char *fault = "<methodResponse><fault><value><struct><member>"
		"<name>faultCode</name><value><int>38</int></value></member>"
		"<member><name>faultString</name><value>vdi_attach</value>"
		"</member></struct></value></fault></methodResponse>";
	xmlrpc_value *r = NULL;
	int code = -1;
	char *fs = NULL, *s;
	xbt_error *e;

	e = xbt_wire_parse_response(ok, strlen(ok), &r, &code, &fs);
	ck_assert_ptr_null(e);
	ck_assert_ptr_null(fs);
	ck_assert_int_eq(code, 0);
	s = xml_of(r);
	ck_assert_str_eq(s, DTV("20260101T00:00:00Z"));
	free(s);
	xmlrpc_DECREF(r);

	e = xbt_wire_parse_response(fault, strlen(fault), &r, &code, &fs);
	ck_assert_ptr_null(e);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(code, 38);
	ck_assert_str_eq(fs, "vdi_attach");
	free(fs);

	e = xbt_wire_parse_response("oops", 4, &r, &code, &fs);
	check_reason(e, "methodResponse", "~valid XML");
	ck_assert_ptr_null(r);
	ck_assert_ptr_null(fs);
	xbt_error_free(e);
	e = xbt_wire_parse_response(CALL(""), strlen(CALL("")), &r, &code,
				    &fs);
	check_reason(e, "methodResponse", "~methodResponse");
	xbt_error_free(e);
	e = xbt_wire_parse_response("", 0, &r, &code, &fs);
	check_reason(e, "methodResponse", "empty response");
	xbt_error_free(e);
	e = xbt_wire_parse_response("<!DOCTYPE x><methodResponse/>", 29, &r,
				    &code, &fs);
	check_reason(e, "methodResponse",
		     "DOCTYPE and other declarations are not accepted");
	xbt_error_free(e);
}
END_TEST

/* Round trip: what the serialiser writes, xmlrpc-c reads back. */
START_TEST(test_round_trip)
{
	xmlrpc_value *v = build("({s:s,s:(ib)}d)", "k", "a<&>\xc3\xa9", "l",
				-5, 1, 0.25);
	xmlrpc_value *r;
	xbt_buf b = XBT_BUF_INIT, call = XBT_BUF_INIT;
	char *method = NULL, *s1, *s2;
	xmlrpc_value *params = NULL;
	int code;
	char *fs;

	xbt_wire_xml_success(&b, v);
	ck_assert_ptr_null(xbt_wire_parse_response(b.buf, b.len, &r, &code,
						   &fs));
	xmlrpc_value *val;
	ck_assert_ptr_null(xbt_client_decode_response(r, &val));
	s1 = json_of(val);
	ck_assert_str_eq(s1, "[{\"k\":\"a<&>\xc3\xa9\",\"l\":[-5,true]},"
			 "0.25]");
	xbt_wire_xml_call(&call, "m", val);
	ck_assert_ptr_null(xbt_wire_parse_call(call.buf, call.len, &method,
					       &params));
	s2 = json_of(params);
	ck_assert_str_eq(s2, s1);
	free(s1);
	free(s2);
	free(method);
	xmlrpc_DECREF(params);
	xmlrpc_DECREF(val);
	xmlrpc_DECREF(r);
	xmlrpc_DECREF(v);
	xbt_buf_release(&b);
	xbt_buf_release(&call);
}
END_TEST

/* ---- the client against a canned HTTP server ------------------------------------------- */

enum srv_mode {
	SRV_ANSWER, /* the canned response */
	SRV_HANG,   /* nothing, until the client closes */
	SRV_CLOSE,  /* close at once */
	SRV_ECHO,   /* Success, Value the request's first string */
	SRV_FILL,   /* 200 and o->fill bytes of 'x', then close */
};

struct srv_opts {
	bool unix_socket; /* a socket file in a temporary directory */
	int threads;      /* accepting threads; 0 is 1 */
	bool keep_alive;  /* every request on a connection, not just one */
	size_t fill;      /* SRV_FILL's body length */
	bool fill_length; /* SRV_FILL declares it (Content-Length) */
};

#define SRV_THREADS 8

struct srv {
	int fd;
	int port;
	char dir[64]; /* the socket's directory, when unix_socket */
	char *path;   /* the socket, when unix_socket */
	pthread_t threads[SRV_THREADS];
	int nthreads;
	enum srv_mode mode;
	struct srv_opts o;
	char *response;  /* whole HTTP response */
	size_t response_len;
	pthread_mutex_t lock; /* the rest */
	xbt_buf request; /* last request, headers and body */
	unsigned accepts, requests;
};

/* Reads one HTTP request (headers, then Content-Length bytes); false at
 * EOF or an error before it is whole. */
static bool srv_read_request(int c, xbt_buf *req)
{
	char buf[4096];
	size_t need = (size_t)-1, head = 0;

	xbt_buf_reset(req);
	while (req->len < need) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n <= 0)
			return false;
		xbt_buf_add(req, buf, (size_t)n);
		if (!head) {
			char *e = strstr(req->buf, "\r\n\r\n");
			char *cl;
			if (!e)
				continue;
			head = (size_t)(e - req->buf) + 4;
			cl = strcasestr(req->buf, "Content-Length:");
			need = head + (cl && cl < e ? strtoul(cl + 15, NULL, 10)
						    : 0);
		}
	}
	return true;
}

/* MSG_NOSIGNAL: a client that gave up must not kill the test with EPIPE. */
static bool srv_send(int c, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(c, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void srv_head(const struct srv *s, xbt_buf *r, const char *status,
		     size_t body_len)
{
	xbt_buf_addf(r, "HTTP/1.1 %s\r\nContent-Type: text/xml\r\n"
		     "Content-Length: %zu\r\n%s\r\n", status, body_len,
		     s->o.keep_alive ? "" : "Connection: close\r\n");
}

/* Success with the request's first <value> text (a plain string). */
static void srv_echo(const struct srv *s, int c, const xbt_buf *req)
{
	xbt_buf body = XBT_BUF_INIT, r = XBT_BUF_INIT;
	const char *v = strstr(req->buf, "<value>");
	const char *end = v ? strstr(v, "</value>") : NULL;

	xbt_buf_addstr(&body, RESP_HEAD "<value>Success</value></member>"
		       "<member><name>Value</name><value>");
	if (end)
		xbt_buf_add(&body, v + 7, (size_t)(end - v - 7));
	xbt_buf_addstr(&body, "</value></member>" RESP_TAIL);
	srv_head(s, &r, "200 OK", body.len);
	xbt_buf_add(&r, body.buf, body.len);
	srv_send(c, r.buf, r.len);
	xbt_buf_release(&body);
	xbt_buf_release(&r);
}

static void srv_fill(const struct srv *s, int c)
{
	char chunk[65536];
	xbt_buf r = XBT_BUF_INIT;
	size_t left = s->o.fill;

	xbt_buf_addstr(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n");
	if (s->o.fill_length)
		xbt_buf_addf(&r, "Content-Length: %zu\r\n", s->o.fill);
	xbt_buf_addstr(&r, "Connection: close\r\n\r\n");
	memset(chunk, 'x', sizeof(chunk));
	if (srv_send(c, r.buf, r.len))
		while (left) {
			size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
			if (!srv_send(c, chunk, n))
				break;
			left -= n;
		}
	xbt_buf_release(&r);
}

static void srv_serve(struct srv *s, int c)
{
	xbt_buf req = XBT_BUF_INIT;
	bool more = true;
	char b;

	while (more && srv_read_request(c, &req)) {
		pthread_mutex_lock(&s->lock);
		s->requests++;
		xbt_buf_reset(&s->request);
		xbt_buf_add(&s->request, req.buf, req.len);
		pthread_mutex_unlock(&s->lock);
		more = s->o.keep_alive;
		switch (s->mode) {
		case SRV_ANSWER:
			more &= srv_send(c, s->response, s->response_len);
			break;
		case SRV_ECHO:
			srv_echo(s, c, &req);
			break;
		case SRV_FILL:
			srv_fill(s, c);
			more = false;
			break;
		case SRV_HANG:
			/* Until the client gives up and closes. */
			while (read(c, &b, 1) > 0)
				;
			more = false;
			break;
		case SRV_CLOSE:
			more = false;
			break;
		}
	}
	xbt_buf_release(&req);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		pthread_mutex_lock(&s->lock);
		s->accepts++;
		pthread_mutex_unlock(&s->lock);
		srv_serve(s, c);
		close(c);
	}
	return NULL;
}

static void srv_listen_tcp(struct srv *s)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1;

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
}

/* As xbt-opsd's: a socket file, mode 0600, in a directory of its own. */
static void srv_listen_unix(struct srv *s)
{
	struct sockaddr_un a;
	xbt_buf p = XBT_BUF_INIT;

	strcpy(s->dir, "/tmp/check_wire.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	xbt_buf_addf(&p, "%s/opsd.sock", s->dir);
	s->path = xbt_buf_detach(&p, NULL);
	s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(s->path), sizeof(a.sun_path));
	strcpy(a.sun_path, s->path);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(chmod(s->path, 0600), 0);
}

static struct srv *srv_start_opts(enum srv_mode mode, const char *status,
				  const char *body, size_t body_len,
				  const struct srv_opts *o)
{
	struct srv *s = xbt_calloc(1, sizeof(*s));
	xbt_buf r = XBT_BUF_INIT;

	xbt_buf_init(&s->request);
	pthread_mutex_init(&s->lock, NULL);
	s->mode = mode;
	s->o = *o;
	srv_head(s, &r, status, body_len);
	xbt_buf_add(&r, body, body_len);
	s->response_len = r.len;
	s->response = xbt_buf_detach(&r, NULL);

	if (o->unix_socket)
		srv_listen_unix(s);
	else
		srv_listen_tcp(s);
	ck_assert_int_eq(listen(s->fd, SRV_THREADS), 0);
	s->nthreads = o->threads > 0 ? o->threads : 1;
	ck_assert_int_le(s->nthreads, SRV_THREADS);
	for (int i = 0; i < s->nthreads; i++)
		ck_assert_int_eq(pthread_create(&s->threads[i], NULL, srv_main,
						s), 0);
	return s;
}

static struct srv *srv_start(enum srv_mode mode, const char *status,
			     const char *body, size_t body_len)
{
	static const struct srv_opts o;

	return srv_start_opts(mode, status, body, body_len, &o);
}

/*
 * Stops the server once its clients are closed (a kept-alive connection
 * holds its thread); its last request stays readable until srv_free.
 */
static void srv_join(struct srv *s)
{
	shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
}

static void srv_free(struct srv *s)
{
	close(s->fd);
	if (s->path) {
		unlink(s->path);
		rmdir(s->dir);
		free(s->path);
	}
	xbt_buf_release(&s->request);
	pthread_mutex_destroy(&s->lock);
	free(s->response);
	free(s);
}

static char *srv_url(int port)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_buf_addf(&b, "http://127.0.0.1:%d/", port);
	return xbt_buf_detach(&b, NULL);
}

/* The server's URL, either kind. */
static char *srv_any_url(const struct srv *s)
{
	xbt_buf b = XBT_BUF_INIT;

	if (!s->path)
		return srv_url(s->port);
	xbt_buf_addf(&b, "unix:%s", s->path);
	return xbt_buf_detach(&b, NULL);
}

static void srv_stop(struct srv *s)
{
	srv_join(s);
	srv_free(s);
}

/* One call against a server answering status and body; *url_out: free. */
static xbt_error *call_canned(const char *status, const char *body,
			      size_t body_len, xmlrpc_value **result,
			      char **url_out)
{
	struct srv *s = srv_start(SRV_ANSWER, status, body, body_len);
	char *url = srv_url(s->port);
	xbt_client *c = NULL;
	xmlrpc_value *params = build("(s)", "OpaqueRef:s");
	xbt_error *e;

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	e = xbt_client_call(c, "host.get_API_version_major", params, result);
	xbt_client_close(c);
	srv_stop(s);
	xmlrpc_DECREF(params);
	*url_out = url;
	return e;
}

/* ---- records straight from their structs ----------------------------- */

#define RECORD_N(a) (sizeof(a) / sizeof((a)[0]))

/* Values that test the writer's every branch, hostile text included. */
static const char *const record_texts[] = {
	"", "plain", "<&>\"'\\", "cr\rlf\ntab\t", "\x01\x1f\x7f",
	"\xff\xfe not UTF-8", "\xed\xa0\x80 surrogate", "caf\xc3\xa9",
	"\xf0\x9f\x98\x80 outside the BMP", "\xee\x80\x80 private use",
	"\xef\xbf\xbf", "OpaqueRef:NULL", "]]>", "&#13;",
};
static const double record_doubles[] = {
	0.0, -0.0, 0.1, 1.0 / 3, 1e300, -1e-300, 12345678901234567.0, NAN,
	INFINITY, -INFINITY,
};
static const int64_t record_times[] = {
	-5, 0, 1, 86399, 86400, 951782400, 951868799, 1700000000,
	INT64_C(253402300799), INT64_C(253402300800), INT64_MAX,
};

static uint64_t record_seed;

static size_t record_pick(size_t n)
{
	record_seed = record_seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (size_t)((record_seed >> 33) % n);
}

static const char *record_text(void)
{
	/* Now and then none: the record's defaults hold "" there, a
	 * generated record may hold NULL. */
	return record_pick(16) ? record_texts[record_pick(RECORD_N(record_texts))]
			       : NULL;
}

/*
 * A set's element or a map's key or value: hostile text where the type
 * is text; numbers are stored in canonical form (the model's invariant:
 * only checked values get in), extremes included.
 */
static const char *record_elem(const xbt_type *t, char *buf, size_t len)
{
	double d;

	switch (t->kind) {
	case XBT_T_INT:
		snprintf(buf, len, "%lld", record_pick(2) ?
			 (long long)INT64_MIN + (long long)record_pick(9) :
			 (long long)(INT64_MAX - (int64_t)record_pick(9)));
		return buf;
	case XBT_T_FLOAT:
		d = record_doubles[record_pick(RECORD_N(record_doubles))];
		snprintf(buf, len, "%.17g", isfinite(d) ? d : 0.5);
		return buf;
	default:
		return record_text();
	}
}

static void record_fill(const xbt_class_desc *c, void *rec)
{
	char num[32];

	xbt_record_init(c, rec);
	for (size_t i = 0; i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];
		char *at = (char *)rec + f->offset;
		size_t n = record_pick(4);

		switch (f->type->kind) {
		case XBT_T_STRING:
		case XBT_T_REF: {
			const char *t = record_text();

			free(*(char **)at);
			*(char **)at = t ? xbt_strdup(t) : NULL;
			break;
		}
		case XBT_T_INT:
			*(int64_t *)at = record_pick(2) ? INT64_MIN + (int64_t)n
				       : INT64_MAX - (int64_t)record_pick(1000);
			break;
		case XBT_T_FLOAT:
			*(double *)at = record_doubles[record_pick(
				RECORD_N(record_doubles))];
			break;
		case XBT_T_BOOL:
			*(bool *)at = record_pick(2);
			break;
		case XBT_T_DATETIME:
			*(int64_t *)at = record_times[record_pick(
				RECORD_N(record_times))];
			break;
		case XBT_T_ENUM:
			*(int *)at = (int)record_pick(f->type->enum_desc->n);
			break;
		case XBT_T_SET:
			for (size_t k = 0; k < n; k++) {
				const char *t = record_elem(f->type->elem, num,
							    sizeof(num));
				xbt_strv_add((xbt_strv *)at, t ? t : "");
			}
			break;
		case XBT_T_MAP:
			/* maps of collections are kept empty by the model */
			if (f->type->elem->kind == XBT_T_SET ||
			    f->type->elem->kind == XBT_T_MAP)
				break;
			for (size_t k = 0; k < n; k++) {
				char knum[32];
				const char *key = record_elem(f->type->key, knum,
							      sizeof(knum));
				const char *v = record_elem(f->type->elem, num,
							    sizeof(num));
				xbt_map_set((xbt_map *)at, key ? key : "k",
					    v ? v : "");
			}
			break;
		default:
			break;
		}
	}
}

/* xbt_wire_record writes what the value tree would, for every class. */
START_TEST(test_record_straight_equals_value)
{
	record_seed = 20261129;
	for (int round = 0; round < 200; round++) {
		for (size_t ci = 0; ci < xbt_nclasses; ci++) {
			const xbt_class_desc *c = xbt_classes[ci];
			void *rec = xbt_calloc(1, c->record_size);
			xmlrpc_value *v;

			record_fill(c, rec);
			v = xbt_record_to_value(c, rec);
			for (int json = 0; json < 2; json++) {
				xbt_buf want = XBT_BUF_INIT, got = XBT_BUF_INIT;

				if (json)
					xbt_wire_json_value(&want, v);
				else
					xbt_wire_xml_value(&want, v);
				xbt_wire_record(&got, json, c, rec);
				ck_assert_msg(got.len == want.len &&
					      memcmp(got.buf, want.buf,
						     got.len) == 0,
					      "%s (%s), round %d:\n%s\nwant\n%s",
					      c->name, json ? "JSON" : "XML",
					      round, got.buf, want.buf);
				xbt_buf_release(&want);
				xbt_buf_release(&got);
			}
			xmlrpc_DECREF(v);
			xbt_record_release(c, rec);
			free(rec);
		}
	}
}
END_TEST

/* The dates the short way writes itself: the calendar's corners. */
START_TEST(test_record_datetimes)
{
	static const struct {
		int64_t secs;
		const char *text;
	} cases[] = {
		{ -1, "19700101T00:00:00Z" },
		{ 0, "19700101T00:00:00Z" },
		{ 951782400, "20000229T00:00:00Z" },
		{ 4107542399, "21000228T23:59:59Z" },
		{ INT64_C(253402300799), "99991231T23:59:59Z" },
		/* Past four-digit years: the last second (both ways). */
		{ INT64_C(253402300800), "99991231T23:59:59Z" },
		{ INT64_MAX, "99991231T23:59:59Z" },
	};
	const xbt_field_desc *f = xbt_field_find(&xbt_class_task, "created");

	for (size_t i = 0; i < RECORD_N(cases); i++) {
		struct xbt_task_record t;
		xbt_buf b = XBT_BUF_INIT;
		char want[64];

		xbt_record_init(&xbt_class_task, &t);
		*(int64_t *)((char *)&t + f->offset) = cases[i].secs;
		xbt_wire_record(&b, true, &xbt_class_task, &t);
		snprintf(want, sizeof(want), "\"created\":\"%s\"", cases[i].text);
		ck_assert_msg(strstr(b.buf, want), "%s in %s", want, b.buf);
		xbt_buf_release(&b);
		xbt_record_release(&xbt_class_task, &t);
	}
}
END_TEST

START_TEST(test_client_success)
{
	const char *body = RESP_HEAD "<value>Success</value></member><member>"
		"<name>Value</name><value>2</value></member>" RESP_TAIL;
	struct srv *s = srv_start(SRV_ANSWER, "200 OK", body, strlen(body));
	char *url = srv_url(s->port), *got;
	xbt_client *c = NULL;
	xmlrpc_value *params = build("(s)", "OpaqueRef:s"), *r = NULL;
	const char *bodyp;

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	ck_assert_ptr_null(xbt_client_call(c, "host.get_API_version_major",
					   params, &r));
	got = xml_of(r);
	ck_assert_str_eq(got, "<value>2</value>");
	free(got);
	xmlrpc_DECREF(r);
	xbt_client_close(c);
	srv_join(s);
	/* The request went out in the xapi dialect, as text/xml. */
	ck_assert_ptr_nonnull(strstr(s->request.buf, "POST / HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strcasestr(s->request.buf,
					 "Content-Type: text/xml\r\n"));
	bodyp = strstr(s->request.buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(bodyp);
	ck_assert_str_eq(bodyp + 4, "<?xml version=\"1.0\"?><methodCall>"
			 "<methodName>host.get_API_version_major</methodName>"
			 "<params><param><value>OpaqueRef:s</value></param>"
			 "</params></methodCall>");
	srv_free(s);
	xmlrpc_DECREF(params);
	free(url);
}
END_TEST

START_TEST(test_client_failure)
{
	const char *body = RESP_HEAD "<value>Failure</value></member><member>"
		"<name>ErrorDescription</name><value><array><data>"
		"<value>SESSION_INVALID</value><value>OpaqueRef:s</value>"
		"</data></array></value></member>" RESP_TAIL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	char *url;
	xbt_error *e = call_canned("200 OK", body, strlen(body), &r, &url);
	bool client_frame = false;

	check_error(e, "SESSION_INVALID", 1, "OpaqueRef:s");
	ck_assert_ptr_null(r);
	ck_assert_str_eq(e->bt.frames[0].filename, "api/client.c");
	for (size_t i = 0; i < e->bt.n; i++)
		client_frame |= !strcmp(e->bt.frames[i].filename,
					"api/client.c");
	ck_assert(client_frame);
	xbt_error_free(e);
	free(url);
}
END_TEST

struct client_bad {
	const char *status;
	const char *body;
	const char *why; /* exact, or '~' substring */
};

static const struct client_bad client_bad[] = {
	{ "200 OK", "hello", "~valid XML" },
	{ "200 OK", "", "~" },
	{ "500 Internal Server Error", "x", "HTTP response code is 500, not 200" },
	{ "200 OK", "<methodResponse><fault><value><struct><member><name>"
	  "faultCode</name><value><int>7</int></value></member><member><name>"
	  "faultString</name><value>boom</value></member></struct></value>"
	  "</fault></methodResponse>", "XML-RPC fault 7: boom" },
	{ "200 OK", "<methodResponse><params><param><value><i4>1</i4></value>"
	  "</param></params></methodResponse>",
	  "not a XenAPI response: response is not a struct" },
	{ "200 OK", RESP_HEAD "<value>Success</value></member>" RESP_TAIL,
	  "not a XenAPI response: Success without Value" },
	{ "200 OK", "<!DOCTYPE x><methodResponse/>",
	  "DOCTYPE and other declarations are not accepted" },
};

START_TEST(test_client_protocol_error)
{
	const struct client_bad *c = &client_bad[_i];
	xmlrpc_value *r = (xmlrpc_value *)&env;
	char *url;
	xbt_error *e = call_canned(c->status, c->body, strlen(c->body), &r,
				   &url);

	check_error(e, XBT_CLIENT_PROTOCOL_ERROR, 2, url, NULL);
	if (c->why[0] == '~')
		ck_assert_msg(strstr(e->params[1], c->why + 1), "[%s]",
			      e->params[1]);
	else
		ck_assert_str_eq(e->params[1], c->why);
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	free(url);
}
END_TEST

START_TEST(test_client_deep_response)
{
	xbt_buf b = XBT_BUF_INIT;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	char *url;
	xbt_error *e;

	xbt_buf_addstr(&b, "<methodResponse><params><param>");
	for (int i = 0; i < 50000; i++)
		xbt_buf_addstr(&b, "<a>");
	e = call_canned("200 OK", b.buf, b.len, &r, &url);
	check_error(e, XBT_CLIENT_PROTOCOL_ERROR, 2, url,
		    "XML nested too deeply");
	xbt_error_free(e);
	xbt_buf_release(&b);
	free(url);
}
END_TEST

/* Beyond xmlrpc-c's default 512 KiB limit, which the client raises. */
START_TEST(test_client_large_response)
{
	xbt_buf b = XBT_BUF_INIT;
	xmlrpc_value *r = NULL;
	char *url;
	size_t len = 0;
	const char *s = NULL;
	xbt_error *e;

	xbt_buf_addstr(&b, RESP_HEAD "<value>Success</value></member><member>"
		       "<name>Value</name><value>");
	for (int i = 0; i < 1024 * 1024; i++)
		xbt_buf_addch(&b, 'x');
	xbt_buf_addstr(&b, "</value></member>" RESP_TAIL);
	e = call_canned("200 OK", b.buf, b.len, &r, &url);
	ck_assert_ptr_null(e);
	xmlrpc_read_string_lp(&env, r, &len, &s);
	ck_assert_uint_eq(len, 1024 * 1024);
	ck_assert_uint_ge(xmlrpc_limit_get(XMLRPC_XML_SIZE_LIMIT_ID),
			  XBT_CLIENT_MAX_RESPONSE);
	free((void *)s);
	xmlrpc_DECREF(r);
	xbt_buf_release(&b);
	free(url);
}
END_TEST

START_TEST(test_client_refused)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	xbt_client *c = NULL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	char *url;
	xbt_error *e;

	/* A port that was just free and is closed again. */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	url = srv_url(ntohs(a.sin_port));
	close(fd);

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	e = xbt_client_call(c, "pool.get_all", NULL, &r);
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, url, NULL);
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	xbt_client_close(c);
	free(url);
}
END_TEST

START_TEST(test_client_dropped)
{
	struct srv *s = srv_start(SRV_CLOSE, "200 OK", "", 0);
	char *url = srv_url(s->port);
	xbt_client *c = NULL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	xbt_error *e;

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	e = xbt_client_call(c, "pool.get_all", NULL, &r);
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, url, NULL);
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	xbt_client_close(c);
	srv_stop(s);
	free(url);
}
END_TEST

START_TEST(test_client_timeout)
{
	struct srv *s = srv_start(SRV_HANG, "200 OK", "", 0);
	char *url = srv_url(s->port);
	xbt_client *c = NULL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	xbt_error *e;

	/* Milliseconds: were it seconds, the 20 s test timeout would fire. */
	ck_assert_ptr_null(xbt_client_open(url, 200, &c));
	e = xbt_client_call(c, "pool.get_all", NULL, &r);
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, url, NULL);
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	xbt_client_close(c);
	srv_stop(s);
	free(url);
}
END_TEST

START_TEST(test_client_bad_url)
{
	xbt_client *c = (xbt_client *)&env;
	xbt_error *e = xbt_client_open("ftp://h/", 0, &c);

	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, "ftp://h/",
		    "the URL must start with http:// or https://");
	ck_assert_ptr_null(c);
	xbt_error_free(e);
	e = xbt_client_open(NULL, 0, &c);
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, "", NULL);
	xbt_error_free(e);
}
END_TEST

/* ---- the client: a Unix socket, kept connections, the cap, threads ---- */

static const char success_2[] = RESP_HEAD "<value>Success</value></member>"
	"<member><name>Value</name><value>2</value></member>" RESP_TAIL;

/* HTTP on the socket, to http://localhost/, exactly as over TCP. */
START_TEST(test_client_unix)
{
	const struct srv_opts o = { .unix_socket = true };
	struct srv *s = srv_start_opts(SRV_ANSWER, "200 OK", success_2,
				       strlen(success_2), &o);
	char *url = srv_any_url(s), *got;
	xbt_client *c = NULL;
	xmlrpc_value *params = build("(s)", "OpaqueRef:s"), *r = NULL;
	const char *bodyp;

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	ck_assert_ptr_null(xbt_client_call(c, "host.get_API_version_major",
					   params, &r));
	got = xml_of(r);
	ck_assert_str_eq(got, "<value>2</value>");
	free(got);
	xmlrpc_DECREF(r);
	xbt_client_close(c);
	srv_join(s);
	ck_assert_ptr_nonnull(strstr(s->request.buf, "POST / HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(s->request.buf,
				     "\r\nHost: localhost\r\n"));
	ck_assert_ptr_nonnull(strcasestr(s->request.buf,
					 "Content-Type: text/xml\r\n"));
	bodyp = strstr(s->request.buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(bodyp);
	ck_assert_str_eq(bodyp + 4, "<?xml version=\"1.0\"?><methodCall>"
			 "<methodName>host.get_API_version_major</methodName>"
			 "<params><param><value>OpaqueRef:s</value></param>"
			 "</params></methodCall>");
	srv_free(s);
	xmlrpc_DECREF(params);
	free(url);
}
END_TEST

START_TEST(test_client_unix_missing)
{
	char dir[64] = "/tmp/check_wire.XXXXXX";
	xbt_buf u = XBT_BUF_INIT;
	xbt_client *c = NULL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	xbt_error *e;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	xbt_buf_addf(&u, "unix:%s/none.sock", dir);
	/* Opening does not connect; the call finds nothing there. */
	ck_assert_ptr_null(xbt_client_open(u.buf, 10000, &c));
	e = xbt_client_call(c, "pool.get_all", NULL, &r);
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, u.buf, NULL);
	ck_assert_str_eq(e->params[1], "cannot connect to the socket: "
			 "No such file or directory");
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	xbt_client_close(c);
	rmdir(dir);
	xbt_buf_release(&u);
}
END_TEST

START_TEST(test_client_bad_unix_url)
{
	xbt_buf u = XBT_BUF_INIT;
	xbt_client *c = (xbt_client *)&env;
	xbt_error *e = xbt_client_open("unix:opsd.sock", 0, &c);

	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, "unix:opsd.sock",
		    "a unix: URL needs an absolute path");
	ck_assert_ptr_null(c);
	xbt_error_free(e);
	/* sun_path holds 107 bytes and a NUL. */
	xbt_buf_addstr(&u, "unix:/");
	for (int i = 0; i < 107; i++)
		xbt_buf_addch(&u, 's');
	e = xbt_client_open(u.buf, 0, &c);
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, u.buf,
		    "the socket path is too long");
	xbt_error_free(e);
	xbt_buf_release(&u);
}
END_TEST

/* Two calls on one handle, one connection; _i: 0 TCP, 1 a Unix socket. */
START_TEST(test_client_reuse)
{
	const struct srv_opts o = { .unix_socket = _i, .keep_alive = true };
	struct srv *s = srv_start_opts(SRV_ANSWER, "200 OK", success_2,
				       strlen(success_2), &o);
	char *url = srv_any_url(s);
	xbt_client *c = NULL;
	xmlrpc_value *r = NULL;

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_null(xbt_client_call(c, "pool.get_all", NULL,
						   &r));
		xmlrpc_DECREF(r);
		r = NULL;
	}
	xbt_client_close(c);
	srv_join(s);
	ck_assert_uint_eq(s->requests, 2);
	ck_assert_uint_eq(s->accepts, 1);
	srv_free(s);
	free(url);
}
END_TEST

#define OVER_CAP "response larger than 67108864 bytes"

static const struct {
	size_t len;
	bool declared;
	const char *why; /* exact, or '~' substring */
} cap_cases[] = {
	/* Refused on the declared length, before the body. */
	{ XBT_CLIENT_MAX_RESPONSE + 1, true, OVER_CAP },
	/* No length (the body ends at close): refused while receiving. */
	{ XBT_CLIENT_MAX_RESPONSE + 1, false, OVER_CAP },
	/* Exactly the cap is received, and then is not XML. */
	{ XBT_CLIENT_MAX_RESPONSE, false, "~XML" },
};

START_TEST(test_client_cap)
{
	const struct srv_opts o = { .fill = cap_cases[_i].len,
				    .fill_length = cap_cases[_i].declared };
	const char *want = cap_cases[_i].why;
	struct srv *s = srv_start_opts(SRV_FILL, "200 OK", "", 0, &o);
	char *url = srv_any_url(s);
	xbt_client *c = NULL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	xbt_error *e;

	ck_assert_ptr_null(xbt_client_open(url, 10000, &c));
	e = xbt_client_call(c, "pool.get_all", NULL, &r);
	check_error(e, XBT_CLIENT_PROTOCOL_ERROR, 2, url, NULL);
	if (want[0] == '~')
		ck_assert_msg(strstr(e->params[1], want + 1) &&
			      !strstr(e->params[1], "larger"), "[%s]",
			      e->params[1]);
	else
		ck_assert_str_eq(e->params[1], want);
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	xbt_client_close(c);
	srv_stop(s);
	free(url);
}
END_TEST

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

START_TEST(test_client_unix_timeout)
{
	const struct srv_opts o = { .unix_socket = true };
	struct srv *s = srv_start_opts(SRV_HANG, "200 OK", "", 0, &o);
	char *url = srv_any_url(s);
	xbt_client *c = NULL;
	xmlrpc_value *r = (xmlrpc_value *)&env;
	xbt_error *e;
	double t0, ms;

	ck_assert_ptr_null(xbt_client_open(url, 200, &c));
	t0 = now_ms();
	e = xbt_client_call(c, "pool.get_all", NULL, &r);
	ms = now_ms() - t0;
	check_error(e, XBT_CLIENT_CONNECT_FAILED, 2, url, NULL);
	ck_assert_msg(ms >= 150 && ms < 5000, "%.0f ms", ms);
	ck_assert_ptr_null(r);
	xbt_error_free(e);
	xbt_client_close(c);
	srv_stop(s);
	free(url);
}
END_TEST

#define THREADS 8
#define THREAD_CALLS 50

struct caller {
	pthread_t thread;
	int id;
	const char *url;
	char *failure; /* NULL: every call came back with its own text */
};

/* Its own handle; each call's text must come back to it alone. */
static void *caller_main(void *arg)
{
	struct caller *k = arg;
	xmlrpc_env e;
	xbt_client *c = NULL;
	xbt_error *err;
	xbt_buf want = XBT_BUF_INIT;

	xmlrpc_env_init(&e);
	err = xbt_client_open(k->url, 10000, &c);
	for (int i = 0; !err && !k->failure && i < THREAD_CALLS; i++) {
		xmlrpc_value *params = xmlrpc_array_new(&e), *s, *r = NULL;
		char *got;

		xbt_buf_reset(&want);
		xbt_buf_addf(&want, "caller %d call %d", k->id, i);
		s = xmlrpc_string_new(&e, want.buf);
		xmlrpc_array_append_item(&e, params, s);
		xmlrpc_DECREF(s);
		err = xbt_client_call(c, "echo", params, &r);
		xmlrpc_DECREF(params);
		if (err)
			break;
		got = xbt_value_text(r, NULL);
		if (!got || strcmp(got, want.buf)) {
			xbt_buf f = XBT_BUF_INIT;
			xbt_buf_addf(&f, "%s: got %s", want.buf,
				     got ? got : "(not a string)");
			k->failure = xbt_buf_detach(&f, NULL);
		}
		free(got);
		xmlrpc_DECREF(r);
	}
	if (err) {
		k->failure = xbt_error_summary(err);
		xbt_error_free(err);
	}
	xbt_client_close(c);
	xbt_buf_release(&want);
	xmlrpc_env_clean(&e);
	return NULL;
}

START_TEST(test_client_threads)
{
	const struct srv_opts o = { .threads = THREADS, .keep_alive = true };
	struct srv *s = srv_start_opts(SRV_ECHO, "200 OK", "", 0, &o);
	char *url = srv_any_url(s);
	struct caller k[THREADS];

	for (int i = 0; i < THREADS; i++) {
		k[i] = (struct caller){ .id = i, .url = url };
		ck_assert_int_eq(pthread_create(&k[i].thread, NULL,
						caller_main, &k[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(k[i].thread, NULL);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_msg(!k[i].failure, "caller %d: %s", i, k[i].failure);
	}
	srv_join(s);
	ck_assert_uint_eq(s->requests, THREADS * THREAD_CALLS);
	/* One connection per handle, kept for all its calls. */
	ck_assert_uint_eq(s->accepts, THREADS);
	srv_free(s);
	free(url);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------- */

/* ---- Unicode across xmlrpc-c (api/text.c, api/value.c) ------------------------ */

/* Valid UTF-8 that must come back byte for byte. */
static const char *const unicode_texts[] = {
	"",
	"plain ascii",
	"\xf0\x9f\x98\x80",                         /* U+1F600 */
	"\xf0\xa0\x80\x80\xf0\xaa\x9b\x96",         /* CJK Ext B */
	"e\xcc\x81 Z\xcc\xa4\xcc\x88",              /* combining */
	"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
	"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",         /* a flag */
	"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",         /* U+10000, U+10FFFF */
	/* The private-use characters the encoding is made of (one string:
	 * the parentheses tell clang's -Wstring-concatenation so): */
	("\xee\x80\x80\xee\x8f\xbf\xee\x90\x80\xee\x9f\xbf\xee\xa0\x80"
	 "\xee\xa0\x81\xef\xa3\xbf"),
	"\xee\xa0\x80",                              /* U+E800 alone */
	"\xee\xa0\x80\xee\xa0\x81",                  /* U+E800 U+E801 */
	"\xee\x80\x80\xee\x90\x80",                  /* a pair's look-alike */
	"x\ry\r\nz\tw\n",
	"\xef\xbf\xbd\xc2\xa0\xe2\x82\xac",
};

START_TEST(test_unicode_value_round_trip)
{
	const char *t = unicode_texts[_i];
	xmlrpc_value *v = xbt_value_string(t);
	const char *raw = NULL;
	size_t len = 0, rlen = 0;
	char *back = xbt_value_text(v, &len);

	ck_assert_uint_eq(len, strlen(t));
	ck_assert_mem_eq(back, t, len);
	/* What xmlrpc-c holds has nothing beyond the BMP. */
	xmlrpc_read_string_lp(&env, v, &rlen, &raw);
	for (size_t k = 0; k < rlen; k++)
		ck_assert_uint_lt((unsigned char)raw[k], 0xf0);
	free((void *)raw);
	free(back);
	xmlrpc_DECREF(v);
}
END_TEST

/* Parses a response of one string through both encodings. */
static void check_wire_round_trip(const char *t)
{
	xmlrpc_value *v = xbt_value_string(t), *r = NULL;
	xbt_buf xml = XBT_BUF_INIT, json = XBT_BUF_INIT;
	xbt_error *e;
	char *fs = NULL, *back;
	int fc;
	size_t len;

	xbt_buf_addstr(&xml, "<methodResponse><params><param>");
	xbt_wire_xml_value(&xml, v);
	xbt_buf_addstr(&xml, "</param></params></methodResponse>");
	e = xbt_wire_parse_response(xml.buf, xml.len, &r, &fc, &fs);
	ck_assert_msg(!e, "%s", e ? e->params[1] : "");
	back = xbt_value_text(r, &len);
	ck_assert_uint_eq(len, strlen(t));
	ck_assert_mem_eq(back, t, len);
	free(back);
	xmlrpc_DECREF(r);

	xbt_wire_json_value(&json, v);
	ck_assert(!xbt_json_parse(json.buf, json.len, 4, &r));
	back = xbt_value_text(r, &len);
	ck_assert_uint_eq(len, strlen(t));
	ck_assert_mem_eq(back, t, len);
	free(back);
	xmlrpc_DECREF(r);
	xmlrpc_DECREF(v);
	xbt_buf_release(&xml);
	xbt_buf_release(&json);
}

START_TEST(test_unicode_wire_round_trip)
{
	check_wire_round_trip(unicode_texts[_i]);
}
END_TEST

/* Every code point XML can carry, in random strings, both encodings. */
START_TEST(test_unicode_random)
{
	unsigned long x = 12345;

	for (int round = 0; round < 2000; round++) {
		xbt_buf b = XBT_BUF_INIT;
		int n = 1 + round % 9;

		for (int k = 0; k < n; k++) {
			uint32_t cp;

			x = x * 6364136223846793005UL + 1442695040888963407UL;
			switch ((x >> 33) % 4) {
			case 0: cp = 0x20 + (uint32_t)(x >> 40) % 0x60; break;
			case 1: cp = 0xe000 + (uint32_t)(x >> 40) % 0x810; break;
			case 2: cp = 0x10000 + (uint32_t)(x >> 40) % 0x100000; break;
			default: cp = 0xa0 + (uint32_t)(x >> 40) % 0xd700; break;
			}
			if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
			    cp == 0xffff)
				cp = 'x';
			xbt_buf_add_utf8(&b, cp);
		}
		check_wire_round_trip(b.buf);
		xbt_buf_release(&b);
	}
}
END_TEST

/* What is not UTF-8, or not XML text, is made safe on the way in. */
START_TEST(test_unicode_unsafe_made_safe)
{
	xmlrpc_value *v = xbt_value_string_len("a\0b\xff\x01\xed\xa0\x80", 8);
	char *back = xbt_value_text(v, NULL);

	ck_assert_str_eq(back, "a\\x00b\\xff\\x01\\xed\\xa0\\x80");
	free(back);
	xmlrpc_DECREF(v);
}
END_TEST

/* Keys of structs cross xmlrpc-c the same way. */
START_TEST(test_unicode_struct_keys)
{
	xmlrpc_value *st = xbt_value_struct(), *got, *r = NULL;
	xbt_buf xml = XBT_BUF_INIT;
	char *key = NULL, *fs = NULL;
	size_t klen;
	int fc;

	xbt_value_put(st, "k\xf0\x9f\x98\x80", xbt_value_string("v"));
	got = xbt_value_get(st, "k\xf0\x9f\x98\x80");
	ck_assert_ptr_nonnull(got);
	xmlrpc_DECREF(got);
	xbt_wire_xml_value(&xml, st);
	ck_assert_ptr_nonnull(strstr(xml.buf,
			"<name>k\xf0\x9f\x98\x80</name>"));
	xbt_buf_reset(&xml);
	xbt_buf_addstr(&xml, "<methodResponse><params><param>");
	xbt_wire_xml_value(&xml, st);
	xbt_buf_addstr(&xml, "</param></params></methodResponse>");
	ck_assert(!xbt_wire_parse_response(xml.buf, xml.len, &r, &fc, &fs));
	ck_assert(xbt_value_member_at(r, 0, &key, &klen, &got));
	ck_assert_str_eq(key, "k\xf0\x9f\x98\x80");
	free(key);
	xmlrpc_DECREF(got);
	xmlrpc_DECREF(r);
	xmlrpc_DECREF(st);
	xbt_buf_release(&xml);
}
END_TEST

static char *first_param_text(const char *xml)
{
	char *method = NULL, *text;
	xmlrpc_value *params = NULL, *p;
	xbt_error *e = xbt_wire_parse_call(xml, strlen(xml), &method, &params);

	ck_assert_msg(!e, "%s", e ? e->params[1] : "");
	p = xbt_value_item(params, 0);
	text = xbt_value_text(p, NULL);
	xmlrpc_DECREF(p);
	xmlrpc_DECREF(params);
	free(method);
	return text;
}

/* Raw, by reference, in CDATA; CR references; text that only looks so. */
START_TEST(test_unicode_parse_call)
{
	static const struct {
		const char *value, *text;
	} cases[] = {
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
		{ "&#x1F600;&#128512;&#x1f600;", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		  "\xf0\x9f\x98\x80" },
		{ "&#xE000;&#xE801;\xee\xa0\x80", "\xee\x80\x80\xee\xa0\x81"
		  "\xee\xa0\x80" },
		{ "<string><![CDATA[\xf0\x9f\x98\x80&#x1F600;]]></string>",
		  "\xf0\x9f\x98\x80&#x1F600;" },
		{ "a&#13;b&#xd;c&#10;", "a\rb\rc\n" },
		{ "&#65;&#x42;&amp;#x1F600;", "AB&#x1F600;" },
		{ "<string>\xf4\x8f\xbf\xbf</string>", "\xf4\x8f\xbf\xbf" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		xbt_buf b = XBT_BUF_INIT;
		char *t;

		xbt_buf_addf(&b, "<?xml version=\"1.0\"?><methodCall><methodName>m"
			     "</methodName><params><param><value>%s</value>"
			     "</param></params></methodCall>", cases[k].value);
		t = first_param_text(b.buf);
		ck_assert_msg(strcmp(t, cases[k].text) == 0, "case %zu: [%s]",
			      k, t);
		free(t);
		xbt_buf_release(&b);
	}
}
END_TEST

/* A CR is written as a reference, which any XML reader keeps. */
START_TEST(test_unicode_cr_out)
{
	xmlrpc_value *v = xbt_value_string("a\rb\r\n");

	check_value(v, "<value>a&#13;b&#13;\n</value>", "\"a\\rb\\r\\n\"");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void)
{
	Suite *s = suite_create("wire");
	TCase *t;
	SRunner *sr;
	int failed;

	t = tcase_create("values");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_add_test(t, test_parse_call_empty_name);
	tcase_add_test(t, test_value_strings);
	tcase_add_test(t, test_value_scalars);
	tcase_add_test(t, test_value_datetime);
	tcase_add_test(t, test_value_compound);
	suite_add_tcase(s, t);

	t = tcase_create("envelopes");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_add_test(t, test_xml_success);
	tcase_add_test(t, test_xml_failure);
	tcase_add_test(t, test_xml_call);
	tcase_add_test(t, test_jsonrpc_envelopes);
	suite_add_tcase(s, t);

	t = tcase_create("parse");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_add_loop_test(t, test_parse_call_good, 0, N(good_calls));
	tcase_add_loop_test(t, test_parse_call_bad, 0, N(bad_calls));
	tcase_add_test(t, test_parse_call_depth);
	tcase_add_test(t, test_parse_call_reason_cut);
	tcase_add_test(t, test_parse_call_doubles_exact);
	tcase_add_loop_test(t, test_parse_jsonrpc_good, 0, N(good_json));
	tcase_add_loop_test(t, test_parse_jsonrpc_bad, 0, N(bad_json));
	tcase_add_test(t, test_parse_jsonrpc_depth);
	suite_add_tcase(s, t);

	t = tcase_create("responses");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_add_test(t, test_decode_success);
	tcase_add_test(t, test_decode_failure);
	tcase_add_loop_test(t, test_decode_bad, 0, N(bad_responses));
	tcase_add_test(t, test_parse_response);
	tcase_add_test(t, test_round_trip);
	suite_add_tcase(s, t);

	t = tcase_create("unicode");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_add_loop_test(t, test_unicode_value_round_trip, 0,
			    N(unicode_texts));
	tcase_add_loop_test(t, test_unicode_wire_round_trip, 0,
			    N(unicode_texts));
	tcase_add_test(t, test_unicode_random);
	tcase_add_test(t, test_unicode_unsafe_made_safe);
	tcase_add_test(t, test_unicode_struct_keys);
	tcase_add_test(t, test_unicode_parse_call);
	tcase_add_test(t, test_unicode_cr_out);
	suite_add_tcase(s, t);

	t = tcase_create("records");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_record_straight_equals_value);
	tcase_add_test(t, test_record_datetimes);
	suite_add_tcase(s, t);

	t = tcase_create("client");
	tcase_add_checked_fixture(t, env_setup, env_teardown);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, test_client_success);
	tcase_add_test(t, test_client_failure);
	tcase_add_loop_test(t, test_client_protocol_error, 0, N(client_bad));
	tcase_add_test(t, test_client_deep_response);
	tcase_add_test(t, test_client_large_response);
	tcase_add_test(t, test_client_refused);
	tcase_add_test(t, test_client_dropped);
	tcase_add_test(t, test_client_timeout);
	tcase_add_test(t, test_client_bad_url);
	tcase_add_test(t, test_client_unix);
	tcase_add_test(t, test_client_unix_missing);
	tcase_add_test(t, test_client_bad_unix_url);
	tcase_add_loop_test(t, test_client_reuse, 0, 2);
	tcase_add_loop_test(t, test_client_cap, 0, N(cap_cases));
	tcase_add_test(t, test_client_unix_timeout);
	tcase_add_test(t, test_client_threads);
	suite_add_tcase(s, t);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
