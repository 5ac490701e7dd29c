/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checking incoming arguments against their IDL types (xbt_value_check):
 * what the XenAPI dialect accepts, normalised, or XMLRPC_UNMARSHAL_FAILURE
 * [expected, received] saying where in a nested value it went wrong.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/buf.h"
#include "xbt/model.h"
#include "xbt/xenapi.h"

#define QUOTE_MAX 64

/* xmlrpc-c reports only exhausted memory or misuse here: both fatal. */
static void env_check(xmlrpc_env *env)
{
	if (env->fault_occurred)
		xbt_fatalx("xmlrpc-c: %s", env->fault_string);
}

/* ---- checking incoming values ----------------------------------------------------- */

/* Appends s[0..len) quoted, cut after QUOTE_MAX bytes at a UTF-8 boundary. */
static void add_quoted(xbt_buf *b, const char *s, size_t len)
{
	size_t n = len;
	bool cut = false;

	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		cut = true;
	}
	xbt_buf_addch(b, '"');
	for (size_t i = 0; i < n; i++) {
		/* a NUL would end the error parameter early */
		if (s[i] == '\0') {
			xbt_buf_addstr(b, "\\x00");
			continue;
		}
		if (s[i] == '"' || s[i] == '\\')
			xbt_buf_addch(b, '\\');
		xbt_buf_addch(b, s[i]);
	}
	xbt_buf_addch(b, '"');
	if (cut)
		xbt_buf_addstr(b, "...");
}

static void describe(xbt_buf *b, xmlrpc_value *v)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT: {
		int i;

		xmlrpc_read_int(&env, v, &i);
		xbt_buf_addf(b, "int %d", i);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;

		xmlrpc_read_i8(&env, v, &i);
		xbt_buf_addf(b, "int %lld", (long long)i);
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool x;

		xmlrpc_read_bool(&env, v, &x);
		xbt_buf_addstr(b, x ? "bool true" : "bool false");
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d;

		xmlrpc_read_double(&env, v, &d);
		xbt_buf_addf(b, "double %g", d);
		break;
	}
	case XMLRPC_TYPE_DATETIME: {
		xmlrpc_datetime dt;

		xmlrpc_read_datetime(&env, v, &dt);
		if (!env.fault_occurred)
			xbt_buf_addf(b, "datetime %04u%02u%02uT%02u:%02u:%02uZ",
				     dt.Y, dt.M, dt.D, dt.h, dt.m, dt.s);
		else
			xbt_buf_addstr(b, "datetime");
		break;
	}
	case XMLRPC_TYPE_STRING: {
		size_t len;
		char *s = xbt_value_text(v, &len);

		xbt_buf_addstr(b, "string ");
		add_quoted(b, s, len);
		free(s);
		break;
	}
	case XMLRPC_TYPE_ARRAY:
		xbt_buf_addstr(b, "array");
		break;
	case XMLRPC_TYPE_STRUCT:
		xbt_buf_addstr(b, "struct");
		break;
	case XMLRPC_TYPE_NIL:
		xbt_buf_addstr(b, "nil");
		break;
	case XMLRPC_TYPE_BASE64:
		xbt_buf_addstr(b, "base64");
		break;
	default:
		xbt_buf_addstr(b, "value");
	}
	xmlrpc_env_clean(&env);
}

xbt_error *xbt__mismatch_at(const char *file, int line, const char *func,
			    const char *expected, xmlrpc_value *in,
			    const xbt__loc *where)
{
	xbt_buf received = XBT_BUF_INIT;
	xbt_error *err;

	describe(&received, in);
	for (const xbt__loc *l = where; l; l = l->up) {
		xbt_buf_addstr(&received, l == where ? " at " : " in ");
		xbt_buf_addstr(&received, l->what);
		if (l->name) {
			xbt_buf_addch(&received, ' ');
			add_quoted(&received, l->name, l->len);
		} else {
			xbt_buf_addf(&received, " %zu", l->index);
		}
	}
	err = xbt_error_raise(file, line, func, XBT_ERR_XMLRPC_UNMARSHAL_FAILURE,
			      expected, received.buf, (const char *)NULL);
	xbt_buf_release(&received);
	return err;
}

/*
 * Strict decimal integer: optional sign, digits, nothing else, in range.
 * (strtoll alone would take leading blanks, and 0x with base 0.)
 */
bool xbt__parse_int(const char *s, size_t len, int64_t *out)
{
	char buf[32];
	char *end;
	long long v;
	size_t i = 0;

	if (len == 0 || len >= sizeof(buf))
		return false;
	if (s[0] == '-' || s[0] == '+')
		i = 1;
	if (i == len)
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Strict decimal floating point, finite. */
bool xbt__parse_float(const char *s, size_t len, double *out)
{
	char buf[128];
	char *end;
	double d;

	if (len == 0 || len >= sizeof(buf) ||
	    strspn(s, "0123456789+-.eE") < len)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (*end || end == buf || !isfinite(d) || (errno && d != 0))
		return false;
	*out = d;
	return true;
}

/* Reads a string value; *s owned by the caller (free). */
static bool read_lp(xmlrpc_value *v, const char **s, size_t *len)
{
	*s = xbt_value_text(v, len);
	return *s != NULL;
}

/* Whether a map key (a struct member name) is a valid key of type t. */
static bool key_ok(const xbt_type *t, const char *s, size_t len)
{
	int64_t i;
	double d;

	switch (t->kind) {
	case XBT_T_STRING:
	case XBT_T_REF:
		return true;
	case XBT_T_INT:
		return xbt__parse_int(s, len, &i);
	case XBT_T_FLOAT:
		return xbt__parse_float(s, len, &d);
	case XBT_T_BOOL:
		return (len == 4 && memcmp(s, "true", 4) == 0) ||
		       (len == 5 && memcmp(s, "false", 5) == 0);
	case XBT_T_DATETIME:
		return xbt_datetime_parse(s, len, &i);
	case XBT_T_ENUM:
		return strlen(s) == len && xbt_enum_index(t->enum_desc, s) >= 0;
	default:
		return false;
	}
}


static xbt_error *check_set(const xbt_type *t, xmlrpc_value *in,
			    xmlrpc_value **out, const xbt__loc *where)
{
	xmlrpc_env env;
	xmlrpc_value *a = xbt_value_array();
	xbt_error *err = NULL;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, in);
	env_check(&env);
	for (int i = 0; i < n && !err; i++) {
		xmlrpc_value *item, *norm = NULL;
		xbt__loc here = { where, "element", NULL, 0, (size_t)i };

		xmlrpc_array_read_item(&env, in, (unsigned)i, &item);
		env_check(&env);
		err = XBT_PROPAGATE(xbt__check(t->elem, item, &norm, &here));
		xmlrpc_DECREF(item);
		if (!err)
			xbt_value_push(a, norm);
	}
	if (err)
		xmlrpc_DECREF(a);
	else
		*out = a;
	return err;
}

/* MAP and RECORD: both arrive as structs. */
static xbt_error *check_struct(const xbt_type *t, xmlrpc_value *in,
			       xmlrpc_value **out, const xbt__loc *where)
{
	xmlrpc_value *st = xbt_value_struct();
	const xbt_class_desc *cls = NULL;
	xbt_error *err = NULL;
	size_t n;

	if (t->kind == XBT_T_RECORD)
		cls = t->cls_desc;
	n = xbt_value_size(in);
	for (size_t i = 0; i < n && !err; i++) {
		xmlrpc_value *key, *val, *norm = NULL;
		char *k = NULL;
		size_t klen = 0;
		const xbt_field_desc *f = NULL;

		xbt_value_member_at(in, i, &k, &klen, &val);
		key = xbt_value_string_len(k, klen);
		if (t->kind == XBT_T_MAP) {
			xbt__loc here = { where, "member", k, klen, 0 };

			if (!key_ok(t->key, k, klen)) {
				xbt__loc kl = { where, "key", k, klen, 0 };

				err = XBT__MISMATCH(t->key->text, key, &kl);
			} else {
				err = XBT_PROPAGATE(xbt__check(t->elem, val, &norm,
							  &here));
			}
		} else if (cls && strlen(k) == klen &&
			   (f = xbt_field_find(cls, k))) {
			xbt__loc here = { where, "field", k, klen, 0 };

			err = XBT_PROPAGATE(xbt__check(f->type, val, &norm, &here));
		} else {
			xmlrpc_INCREF(val);
			norm = val;
		}
		if (!err)
			xbt_value_put_v(st, key, norm);
		free(k);
		xmlrpc_DECREF(key);
		xmlrpc_DECREF(val);
	}
	if (err)
		xmlrpc_DECREF(st);
	else
		*out = st;
	return err;
}

xbt_error *xbt__check(const xbt_type *t, xmlrpc_value *in,
			xmlrpc_value **out, const xbt__loc *where)
{
	xmlrpc_type vt = xmlrpc_value_type(in);
	xmlrpc_env env;
	xbt_error *err = NULL;
	const char *s = NULL;
	size_t len = 0;

	xmlrpc_env_init(&env);
	*out = NULL;
	switch (t->kind) {
	case XBT_T_STRING:
	case XBT_T_REF:
		if (vt == XMLRPC_TYPE_STRING) {
			xmlrpc_INCREF(in);
			*out = in;
		}
		break;
	case XBT_T_ENUM:
		if (vt == XMLRPC_TYPE_STRING && read_lp(in, &s, &len) &&
		    strlen(s) == len && xbt_enum_index(t->enum_desc, s) >= 0) {
			xmlrpc_INCREF(in);
			*out = in;
		}
		break;
	case XBT_T_INT: {
		int64_t i;
		int i4;
		double d;

		if (vt == XMLRPC_TYPE_I8) {
			xmlrpc_INCREF(in);
			*out = in;
		} else if (vt == XMLRPC_TYPE_INT) {
			xmlrpc_read_int(&env, in, &i4);
			env_check(&env);
			*out = xbt_value_i8(i4);
		} else if (vt == XMLRPC_TYPE_DOUBLE) {
			/* JSON has one number type: 7.0 and 7e0 are the int 7. */
			xmlrpc_read_double(&env, in, &d);
			env_check(&env);
			if (d == trunc(d) && d >= -0x1p63 && d < 0x1p63)
				*out = xbt_value_i8((int64_t)d);
		} else if (vt == XMLRPC_TYPE_STRING && read_lp(in, &s, &len) &&
			   xbt__parse_int(s, len, &i)) {
			*out = xbt_value_i8(i);
		}
		break;
	}
	case XBT_T_FLOAT: {
		double d;
		int i4;
		xmlrpc_int64 i8;

		if (vt == XMLRPC_TYPE_DOUBLE) {
			xmlrpc_read_double(&env, in, &d);
			env_check(&env);
			if (isfinite(d)) {
				xmlrpc_INCREF(in);
				*out = in;
			}
		} else if (vt == XMLRPC_TYPE_INT) {
			xmlrpc_read_int(&env, in, &i4);
			env_check(&env);
			*out = xbt_value_float(i4);
		} else if (vt == XMLRPC_TYPE_I8) {
			xmlrpc_read_i8(&env, in, &i8);
			env_check(&env);
			*out = xbt_value_float((double)i8);
		} else if (vt == XMLRPC_TYPE_STRING && read_lp(in, &s, &len) &&
			   xbt__parse_float(s, len, &d)) {
			*out = xbt_value_float(d);
		}
		break;
	}
	case XBT_T_BOOL:
		if (vt == XMLRPC_TYPE_BOOL) {
			xmlrpc_INCREF(in);
			*out = in;
		}
		break;
	case XBT_T_DATETIME: {
		int64_t secs;

		if ((vt == XMLRPC_TYPE_DATETIME && xbt__datetime_secs(in, &secs)) ||
		    (vt == XMLRPC_TYPE_STRING && read_lp(in, &s, &len) &&
		     xbt_datetime_parse(s, len, &secs)))
			*out = xbt_value_datetime(secs);
		break;
	}
	case XBT_T_SET:
		if (vt == XMLRPC_TYPE_ARRAY)
			err = XBT_PROPAGATE(check_set(t, in, out, where));
		break;
	case XBT_T_MAP:
	case XBT_T_RECORD:
		if (vt == XMLRPC_TYPE_STRUCT)
			err = XBT_PROPAGATE(check_struct(t, in, out, where));
		break;
	case XBT_T_ANY:
		xmlrpc_INCREF(in);
		*out = in;
		break;
	case XBT_T_VOID:
		if (vt == XMLRPC_TYPE_NIL ||
		    (vt == XMLRPC_TYPE_STRING && read_lp(in, &s, &len) &&
		     len == 0)) {
			xmlrpc_INCREF(in);
			*out = in;
		}
		break;
	}
	free((void *)s);
	xmlrpc_env_clean(&env);
	if (!err && !*out)
		err = XBT__MISMATCH(t->text, in, where);
	return err;
}

xbt_error *xbt_value_check(const xbt_type *t, xmlrpc_value *in,
			   xmlrpc_value **out)
{
	return XBT_PROPAGATE(xbt__check(t, in, out, NULL));
}

xmlrpc_value *xbt_param_default(const xbt_param_desc *p)
{
	const char *d = p->default_value;
	xmlrpc_value *v = NULL;
	int64_t i;
	double x;

	if (!d)
		return NULL;
	switch (p->type->kind) {
	case XBT_T_STRING:
	case XBT_T_REF:
	case XBT_T_ENUM:
		v = xbt_value_string(d);
		break;
	case XBT_T_INT:
		if (!xbt__parse_int(d, strlen(d), &i))
			xbt_fatalx("model: bad int default of %s", p->name);
		v = xbt_value_i8(i);
		break;
	case XBT_T_FLOAT:
		if (!xbt__parse_float(d, strlen(d), &x))
			xbt_fatalx("model: bad float default of %s", p->name);
		v = xbt_value_float(x);
		break;
	case XBT_T_BOOL:
		v = xbt_value_bool(strcmp(d, "true") == 0);
		break;
	case XBT_T_DATETIME:
		if (!xbt_datetime_parse(d, strlen(d), &i))
			xbt_fatalx("model: bad datetime default of %s", p->name);
		v = xbt_value_datetime(i);
		break;
	default:
		/* idl/gen refuses defaults for sets and maps */
		xbt_fatalx("model: parameter %s cannot have a default", p->name);
	}
	return v;
}

