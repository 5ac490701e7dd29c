/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Building and reading xmlrpc-c values (xbt/value.h). Text goes in made
 * safe and encoded within the BMP, and comes out decoded (api/text.c), so
 * that no caller meets xmlrpc-c's limit on characters outside the BMP.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/buf.h"
#include "xbt/value.h"

/* xmlrpc-c reports only exhausted memory or misuse here: both fatal. */
static void value_env_check(xmlrpc_env *env, const char *what)
{
	if (env->fault_occurred)
		xbt_fatalx("xmlrpc-c: %s: %s", what, env->fault_string);
	xmlrpc_env_clean(env);
}

/*
 * xmlrpc-c's constructors take an env and return the value: one env per
 * thread, set up by value_env() for the call and checked by value_done().
 */
static __thread xmlrpc_env value_tenv;

static xmlrpc_env *value_env(void)
{
	xmlrpc_env_init(&value_tenv);
	return &value_tenv;
}

static xmlrpc_value *value_done(xmlrpc_value *v, const char *what)
{
	value_env_check(&value_tenv, what);
	return v;
}

xmlrpc_value *xbt_value_string_len(const char *s, size_t len)
{
	xbt_buf safe = XBT_BUF_INIT, enc = XBT_BUF_INIT;
	xmlrpc_env env;
	xmlrpc_value *v;

	if (!xbt_text_is_safe(s, len)) {
		xbt_buf_add_safe(&safe, s, len);
		s = safe.buf;
		len = safe.len;
	}
	if (xbt__bmp_needs_encoding(s, len)) {
		xbt__bmp_encode(&enc, s, len);
		s = enc.buf;
		len = enc.len;
	}
	xmlrpc_env_init(&env);
	/* _cr: CR is a character of the text, not a line end to rewrite. */
	v = xmlrpc_string_new_lp_cr(&env, len, s);
	value_env_check(&env, "string");
	xbt_buf_release(&safe);
	xbt_buf_release(&enc);
	return v;
}

xmlrpc_value *xbt_value_string(const char *s)
{
	return s ? xbt_value_string_len(s, strlen(s)) : xbt_value_string_len("", 0);
}

xmlrpc_value *xbt_value_ref(const char *s)
{
	return xbt_value_string(s ? s : XBT_REF_NULL);
}

xmlrpc_value *xbt_value_int(int64_t i)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, i);
	return xbt_value_string(buf);
}

xmlrpc_value *xbt_value_i8(int64_t i)
{
	return value_done(xmlrpc_i8_new(value_env(), i), "i8");
}

xmlrpc_value *xbt_value_i4(int32_t i)
{
	return value_done(xmlrpc_int_new(value_env(), i), "int");
}

xmlrpc_value *xbt_value_float(double d)
{
	return value_done(xmlrpc_double_new(value_env(), d), "double");
}

xmlrpc_value *xbt_value_bool(bool b)
{
	return value_done(xmlrpc_bool_new(value_env(), b), "bool");
}

xmlrpc_value *xbt_value_datetime(int64_t secs)
{
	/* The wire writes four-digit years; past them xmlrpc-c's calendar
	 * gives no stable answer. */
	time_t t = (time_t)(secs < 0 ? 0 : secs > XBT_LAST_DATETIME ?
			    XBT_LAST_DATETIME : secs);

	return value_done(xmlrpc_datetime_new_sec(value_env(), t), "datetime");
}

xmlrpc_value *xbt_value_nil(void)
{
	return value_done(xmlrpc_nil_new(value_env()), "nil");
}

xmlrpc_value *xbt_value_array(void)
{
	return value_done(xmlrpc_array_new(value_env()), "array");
}

xmlrpc_value *xbt_value_struct(void)
{
	return value_done(xmlrpc_struct_new(value_env()), "struct");
}

void xbt_value_push(xmlrpc_value *array, xmlrpc_value *item)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_array_append_item(&env, array, item);
	value_env_check(&env, "array append");
	xmlrpc_DECREF(item);
}

void xbt_value_put_v(xmlrpc_value *st, xmlrpc_value *key, xmlrpc_value *item)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_struct_set_value_v(&env, st, key, item);
	value_env_check(&env, "struct member");
	xmlrpc_DECREF(item);
}

void xbt_value_put(xmlrpc_value *st, const char *key, xmlrpc_value *item)
{
	xmlrpc_value *k = xbt_value_string(key);

	xbt_value_put_v(st, k, item);
	xmlrpc_DECREF(k);
}

xmlrpc_value *xbt_value_strv(const xbt_strv *s)
{
	xmlrpc_value *a = xbt_value_array();

	for (size_t i = 0; s && i < s->n; i++)
		xbt_value_push(a, xbt_value_string(s->v[i]));
	return a;
}

xmlrpc_value *xbt_value_map(const xbt_map *m)
{
	xmlrpc_value *st = xbt_value_struct();

	for (size_t i = 0; m && i < m->n; i++)
		xbt_value_put(st, m->keys[i], xbt_value_string(m->vals[i]));
	return st;
}

/* ---- readers ------------------------------------------------------------- */

char *xbt_value_take_text(xmlrpc_value *v)
{
	char *s = v ? xbt_value_text(v, NULL) : NULL;

	if (v)
		xmlrpc_DECREF(v);
	return s;
}

char *xbt_value_text(xmlrpc_value *v, size_t *len)
{
	xmlrpc_env env;
	const char *s = NULL;
	size_t n = 0;
	char *text = NULL;

	if (!v || xmlrpc_value_type(v) != XMLRPC_TYPE_STRING)
		goto out;
	xmlrpc_env_init(&env);
	/* _lp: the bytes as stored (NUL and CR included), never rewritten. */
	xmlrpc_read_string_lp(&env, v, &n, &s);
	value_env_check(&env, "read string");
	if (xbt__bmp_needs_decoding(s, n)) {
		xbt_buf b = XBT_BUF_INIT;

		xbt__bmp_decode(&b, s, n);
		free((void *)s);
		text = xbt_buf_detach(&b, &n);
	} else {
		text = (char *)s;
	}
out:
	if (len)
		*len = text ? n : 0;
	return text;
}

size_t xbt_value_size(xmlrpc_value *v)
{
	xmlrpc_env env;
	int n = 0;

	if (!v)
		return 0;
	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_ARRAY)
		n = xmlrpc_array_size(&env, v);
	else if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRUCT)
		n = xmlrpc_struct_size(&env, v);
	value_env_check(&env, "size");
	return n > 0 ? (size_t)n : 0;
}

xmlrpc_value *xbt_value_item(xmlrpc_value *array, size_t i)
{
	xmlrpc_env env;
	xmlrpc_value *item = NULL;

	if (i >= xbt_value_size(array) ||
	    xmlrpc_value_type(array) != XMLRPC_TYPE_ARRAY)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, array, (unsigned)i, &item);
	value_env_check(&env, "array item");
	return item;
}

bool xbt_value_member_at(xmlrpc_value *st, size_t i, char **key, size_t *klen,
			 xmlrpc_value **val)
{
	xmlrpc_env env;
	xmlrpc_value *k = NULL;

	*key = NULL;
	*val = NULL;
	if (i >= xbt_value_size(st) ||
	    xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return false;
	xmlrpc_env_init(&env);
	xmlrpc_struct_read_member(&env, st, (unsigned)i, &k, val);
	value_env_check(&env, "struct member");
	*key = xbt_value_text(k, klen);
	xmlrpc_DECREF(k);
	if (!*key)
		xbt_fatalx("xmlrpc-c: a struct member name is not a string");
	return true;
}

xmlrpc_value *xbt_value_get(xmlrpc_value *st, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL, *k;

	if (!st || xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return NULL;
	k = xbt_value_string(key);
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value_v(&env, st, k, &v);
	value_env_check(&env, "struct lookup");
	xmlrpc_DECREF(k);
	return v;
}
