/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XenAPI wire dialect, written (see xbt/wire.h and doc/design.md,
 * "Wire"): by hand, because xmlrpc-c types every string and integer, which
 * XenAPI clients do not expect. Reading is in api/wire_xml.c,
 * api/wire_jsonrpc.c and api/json.c.
 */
#include "config.h"

#include <math.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "xbt/value.h"
#include "xbt/wire.h"


/* ---- text --------------------------------------------------------------- */

/*
 * Appends s[0..len) with XML's &, < and > escaped (no attributes here),
 * and CR as a reference: a parser turns a raw CR into LF.
 */
static void xml_escape(xbt_buf *out, const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '\r': rep = "&#13;"; break;
		default: continue;
		}
		xbt_buf_add(out, s + run, i - run);
		xbt_buf_addstr(out, rep);
		run = i + 1;
	}
	xbt_buf_add(out, s + run, len - run);
}

/* Appends the JSON string literal of s[0..len), quotes included. */
static void json_escape(xbt_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	xbt_buf_addch(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
			break;
		}
		xbt_buf_add(out, s + run, i - run);
		xbt_buf_add(out, esc, n);
		run = i + 1;
	}
	xbt_buf_add(out, s + run, len - run);
	xbt_buf_addch(out, '"');
}

/* Text from anywhere, made safe (doc/design.md, "Text") then escaped. */
static void text_out(xbt_buf *out, const char *s, size_t len, bool json)
{
	xbt_buf tmp = XBT_BUF_INIT;

	if (!xbt_text_is_safe(s, len)) {
		xbt_buf_add_safe(&tmp, s, len);
		s = tmp.buf;
		len = tmp.len;
	}
	if (json)
		json_escape(out, s, len);
	else
		xml_escape(out, s, len);
	xbt_buf_release(&tmp);
}

/* ---- scalars ------------------------------------------------------------ */

/* The shortest %g form that reads back as d; "nan", "inf", "-inf". */
static void fmt_double(char *b, size_t n, double d)
{
	if (isnan(d)) {
		snprintf(b, n, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(b, n, d < 0 ? "-inf" : "inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(b, n, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
	/* A decimal comma from a caller's locale is not XML-RPC. */
	for (char *p = b; *p; p++)
		if (*p == ',')
			*p = '.';
}

static void fmt_datetime(char *b, size_t n, const xmlrpc_datetime *dt)
{
	snprintf(b, n, "%04u%02u%02uT%02u:%02u:%02uZ", dt->Y % 10000u,
		 dt->M % 100u, dt->D % 100u, dt->h % 100u, dt->m % 100u,
		 dt->s % 100u);
}

static void bool_body(xbt_buf *out, bool b, bool json)
{
	if (json)
		xbt_buf_addstr(out, b ? "true" : "false");
	else
		xbt_buf_addstr(out, b ? "<boolean>1</boolean>"
				      : "<boolean>0</boolean>");
}

static void double_body(xbt_buf *out, double d, bool json)
{
	char num[64];

	if (json && !isfinite(d)) {
		xbt_buf_addstr(out, "null");
		return;
	}
	fmt_double(num, sizeof(num), d);
	/* JSON: keep a double a double when read back ("-0.0"). */
	if (json && !strpbrk(num, ".e"))
		strcat(num, ".0");
	xbt_buf_addf(out, json ? "%s" : "<double>%s</double>", num);
}

static void datetime_body(xbt_buf *out, const xmlrpc_datetime *dt, bool json)
{
	char num[64];

	fmt_datetime(num, sizeof(num), dt);
	xbt_buf_addf(out, json ? "\"%s\"" :
		     "<dateTime.iso8601>%s</dateTime.iso8601>", num);
}

static void base64_out(xbt_buf *out, const unsigned char *p, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t k = len - i;
		char q[4];

		if (k > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = k > 1 ? tab[(v >> 6) & 63] : '=';
		q[3] = k > 2 ? tab[v & 63] : '=';
		xbt_buf_add(out, q, 4);
	}
}

/* ---- values, both encodings ---------------------------------------------- */

static void value_out(xbt_buf *out, xmlrpc_value *v, bool json);

static void string_value(xbt_buf *out, xmlrpc_value *v, bool json)
{
	size_t len = 0;
	char *s = xbt_value_text(v, &len);

	text_out(out, s ? s : "", len, json);
	free(s);
}

static void array_value(xbt_buf *out, xmlrpc_value *v, bool json)
{
	xmlrpc_env env;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, v);
	xbt_buf_addstr(out, json ? "[" : "<array><data>");
	for (int i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *item = NULL;

		xmlrpc_array_read_item(&env, v, (unsigned)i, &item);
		if (env.fault_occurred)
			break;
		if (json && i)
			xbt_buf_addch(out, ',');
		value_out(out, item, json);
		xmlrpc_DECREF(item);
	}
	xbt_buf_addstr(out, json ? "]" : "</data></array>");
	xmlrpc_env_clean(&env);
}

static void struct_value(xbt_buf *out, xmlrpc_value *v, bool json)
{
	size_t n = xbt_value_size(v);

	xbt_buf_addstr(out, json ? "{" : "<struct>");
	for (size_t i = 0; i < n; i++) {
		xmlrpc_value *val;
		char *key;
		size_t klen;

		if (!xbt_value_member_at(v, i, &key, &klen, &val))
			break;
		xbt_wire_struct_key(out, json, key, klen, i == 0);
		value_out(out, val, json);
		xbt_wire_struct_key_end(out, json);
		free(key);
		xmlrpc_DECREF(val);
	}
	xbt_buf_addstr(out, json ? "}" : "</struct>");
}

void xbt_wire_struct_key(xbt_buf *out, bool json, const char *key,
			 size_t len, bool first)
{
	if (json) {
		if (!first)
			xbt_buf_addch(out, ',');
		text_out(out, key, len, true);
		xbt_buf_addch(out, ':');
	} else {
		xbt_buf_addstr(out, "<member><name>");
		text_out(out, key, len, false);
		xbt_buf_addstr(out, "</name>");
	}
}

void xbt_wire_struct_key_end(xbt_buf *out, bool json)
{
	if (!json)
		xbt_buf_addstr(out, "</member>");
}

void xbt_wire_struct_open(xbt_buf *out, bool json)
{
	xbt_buf_addstr(out, json ? "{" : "<value><struct>");
}

void xbt_wire_struct_close(xbt_buf *out, bool json)
{
	xbt_buf_addstr(out, json ? "}" : "</struct></value>");
}

/*
 * Everything but the XML <value> wrapper, which the caller writes: in XML
 * a value's body, in JSON the whole value.
 */
static void value_body(xbt_buf *out, xmlrpc_value *v, bool json)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT: {
		xmlrpc_int i = 0;
		/* int32 (xapi's Int32, e.g. valid_ref_counts) is <i4>, as
		 * ocaml-rpc writes it; int64 fields are i8: untyped strings. */
		xmlrpc_read_int(&env, v, &i);
		xbt_buf_addf(out, json ? "%d" : "<i4>%d</i4>", i);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i = 0;
		xmlrpc_read_i8(&env, v, &i);
		xbt_buf_addf(out, "%lld", (long long)i);
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool b = 0;
		xmlrpc_read_bool(&env, v, &b);
		bool_body(out, b, json);
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d = 0;
		xmlrpc_read_double(&env, v, &d);
		double_body(out, d, json);
		break;
	}
	case XMLRPC_TYPE_DATETIME: {
		xmlrpc_datetime dt;
		memset(&dt, 0, sizeof(dt));
		xmlrpc_read_datetime(&env, v, &dt);
		datetime_body(out, &dt, json);
		break;
	}
	case XMLRPC_TYPE_STRING:
		string_value(out, v, json);
		break;
	case XMLRPC_TYPE_BASE64: {
		const unsigned char *p = NULL;
		size_t len = 0;
		xmlrpc_read_base64(&env, v, &len, &p);
		xbt_buf_addstr(out, json ? "\"" : "<base64>");
		if (!env.fault_occurred)
			base64_out(out, p, len);
		xbt_buf_addstr(out, json ? "\"" : "</base64>");
		free((void *)p);
		break;
	}
	case XMLRPC_TYPE_ARRAY:
		array_value(out, v, json);
		break;
	case XMLRPC_TYPE_STRUCT:
		struct_value(out, v, json);
		break;
	case XMLRPC_TYPE_NIL:
		if (json)
			xbt_buf_addstr(out, "null");
		break;
	default:
		/* C pointers and dead values have no wire form: void. */
		if (json)
			xbt_buf_addstr(out, "\"\"");
		break;
	}
	xmlrpc_env_clean(&env);
}

static void value_out(xbt_buf *out, xmlrpc_value *v, bool json)
{
	if (!json)
		xbt_buf_addstr(out, "<value>");
	value_body(out, v, json);
	if (!json)
		xbt_buf_addstr(out, "</value>");
}

void xbt_wire_xml_value(xbt_buf *out, xmlrpc_value *v)
{
	value_out(out, v, false);
}

void xbt_wire_json_value(xbt_buf *out, xmlrpc_value *v)
{
	value_out(out, v, true);
}

/* ---- records, straight from their structs ------------------------------- */

static void value_open(xbt_buf *out, bool json)
{
	if (!json)
		xbt_buf_addstr(out, "<value>");
}

static void value_close(xbt_buf *out, bool json)
{
	if (!json)
		xbt_buf_addstr(out, "</value>");
}

static void string_out(xbt_buf *out, const char *s, bool json)
{
	value_open(out, json);
	text_out(out, s ? s : "", s ? strlen(s) : 0, json);
	value_close(out, json);
}

void xbt_wire_string(xbt_buf *out, bool json, const char *s)
{
	string_out(out, s, json);
}

/* The way of xbt_field_to_value, for what the short way cannot match. */
static void field_via_value(xbt_buf *out, const xbt_field_desc *f,
			    const void *rec, bool json)
{
	xmlrpc_value *v = xbt_field_to_value(f, rec);

	value_out(out, v, json);
	xmlrpc_DECREF(v);
}

static void datetime_out(xbt_buf *out, const xbt_field_desc *f,
			 const void *rec, bool json)
{
	int64_t secs = *(const int64_t *)((const char *)rec + f->offset);
	xmlrpc_datetime dt;
	int64_t y;
	unsigned mo, d;

	if (secs > XBT_LAST_DATETIME)
		secs = XBT_LAST_DATETIME;  /* as xbt_value_datetime */
	if (secs < 0)
		secs = 0;  /* as xbt_value_datetime */
	xbt__civil_from_days(secs / 86400, &y, &mo, &d);
	memset(&dt, 0, sizeof(dt));
	dt.Y = (unsigned)y;
	dt.M = mo;
	dt.D = d;
	dt.h = (unsigned)(secs % 86400 / 3600);
	dt.m = (unsigned)(secs % 3600 / 60);
	dt.s = (unsigned)(secs % 60);
	value_open(out, json);
	datetime_body(out, &dt, json);
	value_close(out, json);
}

/* A set's element or a map's value as its type writes it (ints unquoted). */
static void elem_out(xbt_buf *out, const xbt_type *t, const char *text,
		     bool json)
{
	double d = 0;

	switch (t->kind) {
	case XBT_T_INT:
		/* stored by the model in canonical decimal */
		value_open(out, json);
		xbt_buf_addstr(out, text);
		value_close(out, json);
		break;
	case XBT_T_FLOAT:
		if (!xbt__parse_float(text, strlen(text), &d))
			xbt_fatalx("model: stored float \"%s\" unreadable", text);
		value_open(out, json);
		double_body(out, d, json);
		value_close(out, json);
		break;
	default:
		string_out(out, text, json);
	}
}

static void map_out(xbt_buf *out, const xbt_field_desc *f, const void *rec,
		    bool json)
{
	const xbt_map *m = (const xbt_map *)((const char *)rec + f->offset);

	/* Two keys made safe could become one, which a struct keeps once. */
	for (size_t i = 0; i < m->n; i++) {
		if (!m->keys[i] ||
		    !xbt_text_is_safe(m->keys[i], strlen(m->keys[i]))) {
			field_via_value(out, f, rec, json);
			return;
		}
	}
	value_open(out, json);
	xbt_buf_addstr(out, json ? "{" : "<struct>");
	for (size_t i = 0; i < m->n; i++) {
		xbt_wire_struct_key(out, json, m->keys[i], strlen(m->keys[i]),
				    i == 0);
		elem_out(out, f->type->elem, m->vals[i], json);
		xbt_wire_struct_key_end(out, json);
	}
	xbt_buf_addstr(out, json ? "}" : "</struct>");
	value_close(out, json);
}

static void field_out(xbt_buf *out, const xbt_field_desc *f, const void *rec,
		      bool json)
{
	const char *at = (const char *)rec + f->offset;

	switch (f->type->kind) {
	case XBT_T_STRING:
		string_out(out, *(char *const *)at, json);
		break;
	case XBT_T_REF: {
		const char *ref = *(char *const *)at;

		string_out(out, ref ? ref : XBT_REF_NULL, json);
		break;
	}
	case XBT_T_INT:
		value_open(out, json);
		xbt_buf_addf(out, "%lld", (long long)*(const int64_t *)at);
		value_close(out, json);
		break;
	case XBT_T_FLOAT:
		value_open(out, json);
		double_body(out, *(const double *)at, json);
		value_close(out, json);
		break;
	case XBT_T_BOOL:
		value_open(out, json);
		bool_body(out, *(const bool *)at, json);
		value_close(out, json);
		break;
	case XBT_T_DATETIME:
		datetime_out(out, f, rec, json);
		break;
	case XBT_T_ENUM: {
		int e = *(const int *)at;

		if (e < 0 || (size_t)e >= f->type->enum_desc->n)
			xbt_fatalx("model: %s holds %d, not a value of enum %s",
				   f->name, e, f->type->enum_desc->name);
		string_out(out, f->type->enum_desc->values[e], json);
		break;
	}
	case XBT_T_SET: {
		const xbt_strv *sv = (const xbt_strv *)at;

		value_open(out, json);
		xbt_buf_addstr(out, json ? "[" : "<array><data>");
		for (size_t i = 0; i < sv->n; i++) {
			if (json && i)
				xbt_buf_addch(out, ',');
			elem_out(out, f->type->elem, sv->v[i], json);
		}
		xbt_buf_addstr(out, json ? "]" : "</data></array>");
		value_close(out, json);
		break;
	}
	case XBT_T_MAP:
		map_out(out, f, rec, json);
		break;
	default:
		xbt_fatalx("model: field %s has a result-only type", f->name);
	}
}

void xbt_wire_record(xbt_buf *out, bool json, const xbt_class_desc *c,
		     const void *rec)
{
	value_open(out, json);
	xbt_buf_addstr(out, json ? "{" : "<struct>");
	for (size_t i = 0; i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];

		xbt_wire_struct_key(out, json, f->name, strlen(f->name), i == 0);
		field_out(out, f, rec, json);
		xbt_wire_struct_key_end(out, json);
	}
	xbt_buf_addstr(out, json ? "}" : "</struct>");
	value_close(out, json);
}

/* ---- XML envelopes --------------------------------------------------------- */

#define XML_DECL "<?xml version=\"1.0\"?>"
#define RESPONSE_HEAD XML_DECL "<methodResponse><params><param><value><struct>"
#define RESPONSE_TAIL "</struct></value></param></params></methodResponse>"

#define SUCCESS_HEAD RESPONSE_HEAD \
	"<member><name>Status</name><value>Success</value>" \
	"</member><member><name>Value</name>"
#define SUCCESS_TAIL "</member>" RESPONSE_TAIL

void xbt_wire_xml_success(xbt_buf *out, xmlrpc_value *v)
{
	xbt_buf_addstr(out, SUCCESS_HEAD);
	xbt_wire_xml_value(out, v);
	xbt_buf_addstr(out, SUCCESS_TAIL);
}

void xbt_wire_xml_success_head(xbt_buf *out)
{
	xbt_buf_addstr(out, SUCCESS_HEAD);
}

void xbt_wire_xml_success_tail(xbt_buf *out)
{
	xbt_buf_addstr(out, SUCCESS_TAIL);
}

void xbt_wire_xml_success_text(xbt_buf *out, const char *value, size_t len)
{
	xbt_buf_addstr(out, SUCCESS_HEAD);
	xbt_buf_add(out, value, len);
	xbt_buf_addstr(out, SUCCESS_TAIL);
}

void xbt_wire_xml_failure(xbt_buf *out, const xbt_error *e)
{
	xbt_buf_addstr(out, RESPONSE_HEAD
		       "<member><name>Status</name><value>Failure</value>"
		       "</member><member><name>ErrorDescription</name>"
		       "<value><array><data><value>");
	text_out(out, e->code, strlen(e->code), false);
	xbt_buf_addstr(out, "</value>");
	for (size_t i = 0; i < e->nparams; i++) {
		xbt_buf_addstr(out, "<value>");
		text_out(out, e->params[i], strlen(e->params[i]), false);
		xbt_buf_addstr(out, "</value>");
	}
	xbt_buf_addstr(out, "</data></array></value></member>" RESPONSE_TAIL);
}

void xbt_wire_xml_call(xbt_buf *out, const char *method,
		       xmlrpc_value *params)
{
	xmlrpc_env env;
	int n = 0;

	xmlrpc_env_init(&env);
	xbt_buf_addstr(out, XML_DECL "<methodCall><methodName>");
	text_out(out, method, strlen(method), false);
	xbt_buf_addstr(out, "</methodName><params>");
	if (params)
		n = xmlrpc_array_size(&env, params);
	for (int i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *p = NULL;

		xmlrpc_array_read_item(&env, params, (unsigned)i, &p);
		if (env.fault_occurred)
			break;
		xbt_buf_addstr(out, "<param>");
		xbt_wire_xml_value(out, p);
		xbt_buf_addstr(out, "</param>");
		xmlrpc_DECREF(p);
	}
	xbt_buf_addstr(out, "</params></methodCall>");
	xmlrpc_env_clean(&env);
}

/* ---- JSON-RPC envelopes ------------------------------------------------------ */

/* Field orders are those of xapi's (rpc-light's) Jsonrpc.json_of_response. */
void xbt_wire_jsonrpc_success_head(xbt_buf *out, bool v2)
{
	xbt_buf_addstr(out, v2 ? "{\"jsonrpc\":\"2.0\",\"result\":"
			       : "{\"result\":");
}

void xbt_wire_jsonrpc_success_tail(xbt_buf *out, bool v2, const char *id_json)
{
	if (!v2)
		xbt_buf_addstr(out, ",\"error\":null");
	xbt_buf_addf(out, ",\"id\":%s}", id_json ? id_json : "null");
}

void xbt_wire_jsonrpc_success(xbt_buf *out, bool v2, const char *id_json,
			      xmlrpc_value *v)
{
	xbt_wire_jsonrpc_success_head(out, v2);
	xbt_wire_json_value(out, v);
	xbt_wire_jsonrpc_success_tail(out, v2, id_json);
}

void xbt_wire_jsonrpc_success_text(xbt_buf *out, bool v2, const char *id_json,
				   const char *value, size_t len)
{
	xbt_wire_jsonrpc_success_head(out, v2);
	xbt_buf_add(out, value, len);
	xbt_wire_jsonrpc_success_tail(out, v2, id_json);
}

/*
 * v2 as xapi's api_server translates a failure: error.code is always 1
 * (some clients take 0 for "no error"), message the XenAPI code and data
 * the parameters.
 */
void xbt_wire_jsonrpc_failure(xbt_buf *out, bool v2, const char *id_json,
			      const xbt_error *e)
{
	if (v2) {
		xbt_buf_addstr(out, "{\"jsonrpc\":\"2.0\",\"error\":"
			       "{\"code\":1,\"message\":");
		text_out(out, e->code, strlen(e->code), true);
		xbt_buf_addstr(out, ",\"data\":[");
	} else {
		xbt_buf_addstr(out, "{\"result\":null,\"error\":[");
		text_out(out, e->code, strlen(e->code), true);
		if (e->nparams)
			xbt_buf_addch(out, ',');
	}
	for (size_t i = 0; i < e->nparams; i++) {
		if (i)
			xbt_buf_addch(out, ',');
		text_out(out, e->params[i], strlen(e->params[i]), true);
	}
	xbt_buf_addstr(out, v2 ? "]}" : "]");
	xbt_buf_addf(out, ",\"id\":%s}", id_json ? id_json : "null");
}

