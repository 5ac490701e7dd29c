/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XenAPI wire dialect (see xbt/wire.h and doc/design.md, "Wire"). Serialising is
 * done by hand because xmlrpc-c types every string and integer, which
 * XenAPI clients do not expect; parsing is xmlrpc-c's, behind bounds that
 * xmlrpc-c lacks (element depth, DOCTYPE, JSON depth) and a few input
 * repairs (datetimes, UTF-16 surrogate pairs in JSON).
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

#define WIRE_UNMARSHAL "XMLRPC_UNMARSHAL_FAILURE"
#define WIRE_MAX_REASON 1024 /* bytes of a parser message kept in an error */

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
		if (json) {
			if (i)
				xbt_buf_addch(out, ',');
			text_out(out, key, klen, true);
			xbt_buf_addch(out, ':');
		} else {
			xbt_buf_addstr(out, "<member><name>");
			text_out(out, key, klen, false);
			xbt_buf_addstr(out, "</name>");
		}
		value_out(out, val, json);
		if (!json)
			xbt_buf_addstr(out, "</member>");
		free(key);
		xmlrpc_DECREF(val);
	}
	xbt_buf_addstr(out, json ? "}" : "</struct>");
}

/*
 * Everything but the XML <value> wrapper, which the caller writes: in XML
 * a value's body, in JSON the whole value.
 */
static void value_body(xbt_buf *out, xmlrpc_value *v, bool json)
{
	xmlrpc_env env;
	char num[64];

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
		if (json)
			xbt_buf_addstr(out, b ? "true" : "false");
		else
			xbt_buf_addstr(out, b ? "<boolean>1</boolean>"
					      : "<boolean>0</boolean>");
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d = 0;
		xmlrpc_read_double(&env, v, &d);
		if (json && !isfinite(d)) {
			xbt_buf_addstr(out, "null");
			break;
		}
		fmt_double(num, sizeof(num), d);
		/* JSON: keep a double a double when read back ("-0.0"). */
		if (json && !strpbrk(num, ".e"))
			strcat(num, ".0");
		xbt_buf_addf(out, json ? "%s" : "<double>%s</double>", num);
		break;
	}
	case XMLRPC_TYPE_DATETIME: {
		xmlrpc_datetime dt;
		memset(&dt, 0, sizeof(dt));
		xmlrpc_read_datetime(&env, v, &dt);
		fmt_datetime(num, sizeof(num), &dt);
		xbt_buf_addf(out, json ? "\"%s\"" :
			     "<dateTime.iso8601>%s</dateTime.iso8601>", num);
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

/* ---- XML envelopes --------------------------------------------------------- */

#define XML_DECL "<?xml version=\"1.0\"?>"
#define RESPONSE_HEAD XML_DECL "<methodResponse><params><param><value><struct>"
#define RESPONSE_TAIL "</struct></value></param></params></methodResponse>"

void xbt_wire_xml_success(xbt_buf *out, xmlrpc_value *v)
{
	xbt_buf_addstr(out, RESPONSE_HEAD
		       "<member><name>Status</name><value>Success</value>"
		       "</member><member><name>Value</name>");
	xbt_wire_xml_value(out, v);
	xbt_buf_addstr(out, "</member>" RESPONSE_TAIL);
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
void xbt_wire_jsonrpc_success(xbt_buf *out, bool v2, const char *id_json,
			      xmlrpc_value *v)
{
	xbt_buf_addstr(out, v2 ? "{\"jsonrpc\":\"2.0\",\"result\":"
			       : "{\"result\":");
	xbt_wire_json_value(out, v);
	if (!v2)
		xbt_buf_addstr(out, ",\"error\":null");
	xbt_buf_addf(out, ",\"id\":%s}", id_json ? id_json : "null");
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

/* ---- parse helpers ------------------------------------------------------------ */

/* A parser's message cut to WIRE_MAX_REASON bytes at a UTF-8 boundary. */
static xbt_error *unmarshal(const char *file, int line, const char *func,
			    const char *expected, const char *why)
{
	size_t n = strlen(why);
	char *cut;
	xbt_error *err;

	if (n > WIRE_MAX_REASON) {
		n = WIRE_MAX_REASON;
		while (n > 0 && ((unsigned char)why[n] & 0xc0) == 0x80)
			n--;
	}
	cut = xbt_strndup(why, n);
	err = xbt_error_raise(file, line, func, WIRE_UNMARSHAL, expected, cut,
			      (const char *)NULL);
	free(cut);
	return err;
}

#define UNMARSHAL(expected, why) unmarshal(XBT_HERE, (expected), (why))

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

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static long days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, long *m, long *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
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
		long long s = (long long)days_from_civil(f[0], f[1], f[2]) *
				      86400 + f[3] * 3600 + f[4] * 60 + f[5] -
			      off * 60;
		long days = (long)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
		long sod = (long)(s - (long long)days * 86400);
		long y, m, d;

		civil_from_days(days, &y, &m, &d);
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
static const char *xml_prescan(const char *s, size_t len, xbt_buf *copy)
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
static bool empty_method_name(const char *xml, size_t len, xbt_buf *out)
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

xbt_error *xbt_wire_parse_call(const char *xml, size_t len, char **method,
			       xmlrpc_value **params)
{
	xbt_error *err = NULL;
	xbt_buf copy = XBT_BUF_INIT;
	xmlrpc_env env;
	const char *name = NULL, *why;
	xmlrpc_value *p = NULL;
	xbt_buf renamed = XBT_BUF_INIT;
	bool empty_name;

	xmlrpc_env_init(&env);
	*method = NULL;
	*params = NULL;
	if (!xml || !len) {
		err = UNMARSHAL("methodCall", "empty request");
		goto out;
	}
	if ((why = xml_prescan(xml, len, &copy))) {
		err = UNMARSHAL("methodCall", why);
		goto out;
	}
	if (copy.len) {
		xml = copy.buf;
		len = copy.len;
	}
	/*
	 * An empty name is a name (dispatch answers MESSAGE_METHOD_UNKNOWN
	 * [""]), but xmlrpc-c refuses it: parse with a placeholder instead.
	 */
	empty_name = empty_method_name(xml, len, &renamed);
	if (empty_name) {
		xml = renamed.buf;
		len = renamed.len;
	}
	xmlrpc_parse_call(&env, xml, len, &name, &p);
	if (env.fault_occurred) {
		err = UNMARSHAL("methodCall", env.fault_string);
		goto out;
	}
	if (!name) {
		err = UNMARSHAL("methodCall", "no methodName");
		goto out;
	}
	*method = xbt_strdup(empty_name ? "" : name);
	*params = p;
	p = NULL;
out:
	if (p)
		xmlrpc_DECREF(p);
	free((void *)name);
	xmlrpc_env_clean(&env);
	xbt_buf_release(&copy);
	xbt_buf_release(&renamed);
	return err;
}

xbt_error *xbt_wire_parse_response(const char *xml, size_t len,
				   xmlrpc_value **result, int *fault_code,
				   char **fault_string)
{
	xbt_error *err = NULL;
	xbt_buf copy = XBT_BUF_INIT;
	xmlrpc_env env;
	const char *why, *fs = NULL;
	xmlrpc_value *r = NULL;
	int fc = 0;

	xmlrpc_env_init(&env);
	*result = NULL;
	*fault_code = 0;
	*fault_string = NULL;
	if (!xml || !len) {
		err = UNMARSHAL("methodResponse", "empty response");
		goto out;
	}
	if ((why = xml_prescan(xml, len, &copy))) {
		err = UNMARSHAL("methodResponse", why);
		goto out;
	}
	if (copy.len) {
		xml = copy.buf;
		len = copy.len;
	}
	xmlrpc_parse_response2(&env, xml, len, &r, &fc, &fs);
	if (env.fault_occurred) {
		err = UNMARSHAL("methodResponse", env.fault_string);
		goto out;
	}
	if (r) {
		*result = r;
	} else {
		*fault_code = fc;
		*fault_string = xbt_strdup(fs ? fs : "");
	}
out:
	free((void *)fs);
	xmlrpc_env_clean(&env);
	xbt_buf_release(&copy);
	return err;
}

/* ---- JSON-RPC ------------------------------------------------------------------- */

#define JSON_REQUEST "JSON-RPC request"

/* Reads member key of obj; NULL when absent. New reference. */
static xmlrpc_value *member(xmlrpc_value *obj, const char *key)
{
	return xbt_value_get(obj, key);
}

/* The string value of v (a copy, caller frees) or NULL; *len its length. */
static char *read_string(xmlrpc_value *v, size_t *len)
{
	return xbt_value_text(v, len);
}

/* The id re-serialised as JSON, or NULL with *why. */
static char *jsonrpc_id(xmlrpc_value *id, const char **why)
{
	xbt_buf b = XBT_BUF_INIT;
	char *s;
	size_t len;

	*why = NULL;
	if (!id) {
		*why = "no id (notifications are not supported)";
	} else if (xmlrpc_value_type(id) == XMLRPC_TYPE_NIL) {
		*why = "id is null (notifications are not supported)";
	} else if (xmlrpc_value_type(id) == XMLRPC_TYPE_I8 ||
		   xmlrpc_value_type(id) == XMLRPC_TYPE_INT) {
		value_body(&b, id, true);
	} else if ((s = read_string(id, &len))) {
		text_out(&b, s, len, true);
		free(s);
	} else {
		*why = "id is neither a string nor an integer";
	}
	if (*why) {
		xbt_buf_release(&b);
		return NULL;
	}
	return xbt_buf_detach(&b, NULL);
}

xbt_error *xbt_wire_parse_jsonrpc(const char *json, size_t len, char **method,
				  xmlrpc_value **params, char **id_json,
				  bool *v2)
{
	xbt_error *err = NULL;
	xmlrpc_env env;
	xmlrpc_value *req = NULL, *m = NULL, *ver = NULL, *p = NULL,
		     *id = NULL;
	const char *why = NULL;
	char *name = NULL, *vs = NULL, *idj = NULL;
	size_t n = 0;

	xmlrpc_env_init(&env);
	*method = NULL;
	*params = NULL;
	*id_json = NULL;
	*v2 = false;
	if (!json || !len) {
		why = "empty request";
		goto out;
	}
	if (memchr(json, '\0', len)) {
		why = "NUL byte in request";
		goto out;
	}
	err = xbt_json_parse(json, len, XBT_MAX_NESTING, &req);
	if (err) {
		char *reason = xbt_strdup(err->nparams ? err->params[0] : "");
		err = XBT_RERAISE(err, WIRE_UNMARSHAL, JSON_REQUEST, reason);
		free(reason);
		goto out;
	}
	if (xmlrpc_value_type(req) != XMLRPC_TYPE_STRUCT) {
		why = "request is not a JSON object";
		goto out;
	}
	if ((ver = member(req, "jsonrpc"))) {
		vs = read_string(ver, &n);
		if (!vs || strcmp(vs, "2.0") != 0 || n != 3) {
			why = "jsonrpc is not \"2.0\"";
			goto out;
		}
		*v2 = true;
	}
	m = member(req, "method");
	if (!m) {
		why = "no method";
		goto out;
	}
	if (!(name = read_string(m, &n))) {
		why = "method is not a string";
		goto out;
	}
	if (!n) {
		why = "empty method";
		goto out;
	}
	p = member(req, "params");
	if (!p || xmlrpc_value_type(p) == XMLRPC_TYPE_NIL) {
		if (p)
			xmlrpc_DECREF(p);
		p = xmlrpc_array_new(&env);
	} else if (*v2 && xmlrpc_value_type(p) == XMLRPC_TYPE_STRUCT) {
		/* By-name params: xapi passes the object as the one param. */
		xmlrpc_value *a = xmlrpc_array_new(&env);
		xmlrpc_array_append_item(&env, a, p);
		xmlrpc_DECREF(p);
		p = a;
	} else if (xmlrpc_value_type(p) != XMLRPC_TYPE_ARRAY) {
		why = "params is not an array";
		goto out;
	}
	if (env.fault_occurred) {
		err = UNMARSHAL(JSON_REQUEST, env.fault_string);
		goto out;
	}
	id = member(req, "id");
	if (!(idj = jsonrpc_id(id, &why)))
		goto out;
	*method = name;
	name = NULL;
	*params = p;
	p = NULL;
	*id_json = idj;
	idj = NULL;
out:
	if (why && !err)
		err = UNMARSHAL(JSON_REQUEST, why);
	if (err)
		*v2 = false;
	if (req)
		xmlrpc_DECREF(req);
	if (m)
		xmlrpc_DECREF(m);
	if (ver)
		xmlrpc_DECREF(ver);
	if (p)
		xmlrpc_DECREF(p);
	if (id)
		xmlrpc_DECREF(id);
	free(name);
	free(vs);
	free(idj);
	xmlrpc_env_clean(&env);
	return err;
}

/* ---- XenAPI response structs ------------------------------------------------------ */

/* The ErrorDescription's strings (safe copies) as a raised error. */
static xbt_error *remote_error(xmlrpc_value *ed, const char **why)
{
	xmlrpc_env env;
	xbt_error *err = NULL;
	char **v = NULL;
	int n, i;

	xmlrpc_env_init(&env);
	n = xmlrpc_value_type(ed) == XMLRPC_TYPE_ARRAY ?
		    xmlrpc_array_size(&env, ed) : 0;
	if (n <= 0) {
		*why = "ErrorDescription is not a non-empty array";
		goto out;
	}
	v = xbt_calloc((size_t)n, sizeof(*v));
	for (i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		char *s;
		size_t len = 0;

		xmlrpc_array_read_item(&env, ed, (unsigned)i, &item);
		if (env.fault_occurred)
			break;
		s = read_string(item, &len);
		xmlrpc_DECREF(item);
		if (!s)
			break;
		v[i] = xbt_text_safe_dup(s, len);
		free(s);
	}
	if (i < n) {
		*why = "ErrorDescription holds a non-string";
		goto out;
	}
	err = xbt_error_raisev(XBT_HERE, v[0], (size_t)n - 1,
			       (const char *const *)v + 1);
out:
	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	xmlrpc_env_clean(&env);
	return err;
}

xbt_error *xbt_wire_decode_response_why(xmlrpc_value *response,
					xmlrpc_value **value,
					const char **why)
{
	xbt_error *err = NULL;
	xmlrpc_value *status = NULL, *member_v = NULL;
	char *s = NULL;
	size_t n = 0;

	*value = NULL;
	*why = NULL;
	if (!response || xmlrpc_value_type(response) != XMLRPC_TYPE_STRUCT) {
		*why = "response is not a struct";
		goto out;
	}
	status = member(response, "Status");
	if (!(s = read_string(status, &n))) {
		*why = "no Status string";
		goto out;
	}
	if (!strcmp(s, "Success")) {
		if (!(member_v = member(response, "Value"))) {
			*why = "Success without Value";
			goto out;
		}
		*value = member_v;
		member_v = NULL;
	} else if (!strcmp(s, "Failure")) {
		if (!(member_v = member(response, "ErrorDescription"))) {
			*why = "Failure without ErrorDescription";
			goto out;
		}
		err = XBT_PROPAGATE(remote_error(member_v, why));
	} else {
		*why = "Status is neither Success nor Failure";
	}
out:
	if (status)
		xmlrpc_DECREF(status);
	if (member_v)
		xmlrpc_DECREF(member_v);
	free(s);
	return err;
}

xbt_error *xbt_wire_decode_response(xmlrpc_value *response,
				    xmlrpc_value **value)
{
	const char *why;
	xbt_error *err = XBT_PROPAGATE(
		xbt_wire_decode_response_why(response, value, &why));

	if (!err && why)
		err = XBT_RAISE("INTERNAL_ERROR", "bad XenAPI response");
	return err;
}
