/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data model at run time: lookups over the generated descriptors and
 * the generic marshalling between C records and xmlrpc-c values. Every
 * function here walks the descriptors; nothing is class-specific.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

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

/* ---- lookups ---------------------------------------------------------------- */

const xbt_class_desc *xbt_class_find(const char *name)
{
	const xbt_class_desc *r = NULL;

	for (size_t i = 0; name && i < xbt_nclasses; i++) {
		if (strcasecmp(xbt_classes[i]->name, name) == 0) {
			r = xbt_classes[i];
			break;
		}
	}
	return r;
}

const xbt_message_desc *xbt_message_find(const char *wire_name)
{
	const xbt_message_desc *r = NULL;
	size_t lo = 0, hi = xbt_nmessages;

	while (wire_name && !r && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const xbt_message_desc *m = &xbt_messages[xbt_messages_by_name[mid]];
		int c = strcmp(wire_name, m->wire_name);

		if (c == 0)
			r = m;
		else if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return r;
}

const xbt_field_desc *xbt_field_find(const xbt_class_desc *c, const char *name)
{
	const xbt_field_desc *r = NULL;

	for (size_t i = 0; c && name && i < c->nfields; i++) {
		if (strcmp(c->fields[i].name, name) == 0) {
			r = &c->fields[i];
			break;
		}
	}
	return r;
}

int xbt_enum_index(const xbt_enum_desc *e, const char *value)
{
	int r = -1;

	for (size_t i = 0; e && value && i < e->n; i++) {
		if (strcmp(e->values[i], value) == 0) {
			r = (int)i;
			break;
		}
	}
	return r;
}

/* ---- strv / map ----------------------------------------------------------------- */

void xbt_strv_add(xbt_strv *s, const char *v)
{
	s->v = xbt_reallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = xbt_strdup(v ? v : "");
}

bool xbt_strv_remove(xbt_strv *s, const char *v)
{
	size_t w = 0;
	bool found = false;

	for (size_t i = 0; i < s->n; i++) {
		if (v && strcmp(s->v[i], v) == 0) {
			free(s->v[i]);
			found = true;
		} else {
			s->v[w++] = s->v[i];
		}
	}
	s->n = w;
	return found;
}

bool xbt_strv_has(const xbt_strv *s, const char *v)
{
	bool r = false;

	for (size_t i = 0; v && !r && i < s->n; i++)
		r = strcmp(s->v[i], v) == 0;
	return r;
}

void xbt_strv_clear(xbt_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static ssize_t map_index(const xbt_map *m, const char *k)
{
	ssize_t r = -1;

	for (size_t i = 0; k && r < 0 && i < m->n; i++)
		if (strcmp(m->keys[i], k) == 0)
			r = (ssize_t)i;
	return r;
}

void xbt_map_set(xbt_map *m, const char *k, const char *v)
{
	ssize_t i = map_index(m, k ? k : "");
	char *nv = xbt_strdup(v ? v : "");

	if (i >= 0) {
		free(m->vals[i]);
		m->vals[i] = nv;
	} else {
		m->keys = xbt_reallocarray(m->keys, m->n + 1,
					   sizeof(*m->keys));
		m->vals = xbt_reallocarray(m->vals, m->n + 1,
					   sizeof(*m->vals));
		m->keys[m->n] = xbt_strdup(k ? k : "");
		m->vals[m->n] = nv;
		m->n++;
	}
}

bool xbt_map_remove(xbt_map *m, const char *k)
{
	ssize_t i = map_index(m, k);

	if (i >= 0) {
		size_t after = m->n - (size_t)i - 1;

		free(m->keys[i]);
		free(m->vals[i]);
		memmove(&m->keys[i], &m->keys[i + 1], after * sizeof(*m->keys));
		memmove(&m->vals[i], &m->vals[i + 1], after * sizeof(*m->vals));
		m->n--;
	}
	return i >= 0;
}

const char *xbt_map_get(const xbt_map *m, const char *k)
{
	ssize_t i = map_index(m, k);

	return i < 0 ? NULL : m->vals[i];
}

void xbt_map_clear(xbt_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->vals[i]);
	}
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->n = 0;
}

static void strv_copy(xbt_strv *dst, const xbt_strv *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		xbt_strv_add(dst, src->v[i]);
}

static void map_copy(xbt_map *dst, const xbt_map *src)
{
	dst->keys = dst->vals = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		xbt_map_set(dst, src->keys[i], src->vals[i]);
}

/* ---- datetimes ---------------------------------------------------------------- */

#define MIN_YEAR 1970
#define MAX_YEAR 9999

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return mdays[m - 1] + (m == 2 && is_leap(y));
}

/* Seconds since the epoch of a valid UTC date and time, years >= 1970. */
static int64_t civil_to_secs(unsigned y, unsigned mo, unsigned d, unsigned h,
			     unsigned mi, unsigned s)
{
	int64_t days = 0;

	for (unsigned yy = MIN_YEAR; yy < y; yy++)
		days += is_leap(yy) ? 366 : 365;
	for (unsigned mm = 1; mm < mo; mm++)
		days += days_in_month(y, mm);
	days += d - 1;
	return ((days * 24 + h) * 60 + mi) * 60 + s;
}

static bool civil_valid(unsigned y, unsigned mo, unsigned d, unsigned h,
			unsigned mi, unsigned s)
{
	return y >= MIN_YEAR && y <= MAX_YEAR && mo >= 1 && mo <= 12 &&
	       d >= 1 && d <= days_in_month(y, mo) && h <= 23 && mi <= 59 &&
	       s <= 59;
}

/* n decimal digits at s, or false. */
static bool digits(const char *s, int n, unsigned *v)
{
	unsigned r = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (unsigned)(s[i] - '0');
	}
	*v = r;
	return true;
}

bool xbt_datetime_parse(const char *s, size_t len, int64_t *secs)
{
	unsigned y, mo, d, h, mi, se;
	bool dashes;

	if (len > 0 && s[len - 1] == 'Z')
		len--;
	if (len == 17)
		dashes = false;
	else if (len == 19)
		dashes = true;
	else
		return false;
	if (dashes && (s[4] != '-' || s[7] != '-'))
		return false;
	if (!digits(s, 4, &y) || !digits(s + (dashes ? 5 : 4), 2, &mo) ||
	    !digits(s + (dashes ? 8 : 6), 2, &d))
		return false;
	s += dashes ? 10 : 8;
	if (s[0] != 'T' || s[3] != ':' || s[6] != ':' || !digits(s + 1, 2, &h) ||
	    !digits(s + 4, 2, &mi) || !digits(s + 7, 2, &se))
		return false;
	if (!civil_valid(y, mo, d, h, mi, se))
		return false;
	*secs = civil_to_secs(y, mo, d, h, mi, se);
	return true;
}

void xbt_datetime_format(int64_t secs, char *out)
{
	int64_t days, rem;
	unsigned y = MIN_YEAR, mo = 1;

	if (secs < 0)
		secs = 0;
	days = secs / 86400;
	rem = secs % 86400;
	while (y < MAX_YEAR && days >= (is_leap(y) ? 366 : 365)) {
		days -= is_leap(y) ? 366 : 365;
		y++;
	}
	while (mo < 12 && days >= days_in_month(y, mo)) {
		days -= days_in_month(y, mo);
		mo++;
	}
	snprintf(out, XBT_DATETIME_LEN + 1, "%04u%02u%02uT%02u:%02u:%02uZ",
		 y, mo, (unsigned)days + 1, (unsigned)(rem / 3600),
		 (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

/* Seconds of a datetime value; false before 1970 or after 9999. */
static bool datetime_secs(xmlrpc_value *v, int64_t *secs)
{
	xmlrpc_env env;
	xmlrpc_datetime dt;
	bool ok = false;

	xmlrpc_env_init(&env);
	xmlrpc_read_datetime(&env, v, &dt);
	if (!env.fault_occurred && civil_valid(dt.Y, dt.M, dt.D, dt.h, dt.m,
					       dt.s)) {
		*secs = civil_to_secs(dt.Y, dt.M, dt.D, dt.h, dt.m, dt.s);
		ok = true;
	}
	xmlrpc_env_clean(&env);
	return ok;
}

/* ---- checking incoming values ----------------------------------------------------- */

/* Where in a nested value a check is; innermost first, linked outwards. */
typedef struct loc {
	const struct loc *up;
	const char *what;      /* "element", "member", "key", "field" */
	const char *name;      /* member, key or field name; NULL: index */
	size_t len;            /* of name */
	size_t index;
} loc;

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

static xbt_error *mismatch(const char *expected, xmlrpc_value *in,
			   const loc *where)
{
	xbt_buf received = XBT_BUF_INIT;
	xbt_error *err;

	describe(&received, in);
	for (const loc *l = where; l; l = l->up) {
		xbt_buf_addstr(&received, l == where ? " at " : " in ");
		xbt_buf_addstr(&received, l->what);
		if (l->name) {
			xbt_buf_addch(&received, ' ');
			add_quoted(&received, l->name, l->len);
		} else {
			xbt_buf_addf(&received, " %zu", l->index);
		}
	}
	err = XBT_RAISE(XBT_ERR_XMLRPC_UNMARSHAL_FAILURE, expected,
			received.buf);
	xbt_buf_release(&received);
	return err;
}

/*
 * Strict decimal integer: optional sign, digits, nothing else, in range.
 * (strtoll alone would take leading blanks, and 0x with base 0.)
 */
static bool parse_int(const char *s, size_t len, int64_t *out)
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
static bool parse_float(const char *s, size_t len, double *out)
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
		return parse_int(s, len, &i);
	case XBT_T_FLOAT:
		return parse_float(s, len, &d);
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

static xbt_error *check(const xbt_type *t, xmlrpc_value *in,
			xmlrpc_value **out, const loc *where);

static xbt_error *check_set(const xbt_type *t, xmlrpc_value *in,
			    xmlrpc_value **out, const loc *where)
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
		loc here = { where, "element", NULL, 0, (size_t)i };

		xmlrpc_array_read_item(&env, in, (unsigned)i, &item);
		env_check(&env);
		err = XBT_PROPAGATE(check(t->elem, item, &norm, &here));
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
			       xmlrpc_value **out, const loc *where)
{
	xmlrpc_value *st = xbt_value_struct();
	const xbt_class_desc *cls = NULL;
	xbt_error *err = NULL;
	size_t n;

	if (t->kind == XBT_T_RECORD)
		cls = xbt_class_find(t->cls);
	n = xbt_value_size(in);
	for (size_t i = 0; i < n && !err; i++) {
		xmlrpc_value *key, *val, *norm = NULL;
		char *k = NULL;
		size_t klen = 0;
		const xbt_field_desc *f = NULL;

		xbt_value_member_at(in, i, &k, &klen, &val);
		key = xbt_value_string_len(k, klen);
		if (t->kind == XBT_T_MAP) {
			loc here = { where, "member", k, klen, 0 };

			if (!key_ok(t->key, k, klen)) {
				loc kl = { where, "key", k, klen, 0 };

				err = mismatch(t->key->text, key, &kl);
			} else {
				err = XBT_PROPAGATE(check(t->elem, val, &norm,
							  &here));
			}
		} else if (cls && strlen(k) == klen &&
			   (f = xbt_field_find(cls, k))) {
			loc here = { where, "field", k, klen, 0 };

			err = XBT_PROPAGATE(check(f->type, val, &norm, &here));
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

static xbt_error *check(const xbt_type *t, xmlrpc_value *in,
			xmlrpc_value **out, const loc *where)
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
			   parse_int(s, len, &i)) {
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
			   parse_float(s, len, &d)) {
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

		if ((vt == XMLRPC_TYPE_DATETIME && datetime_secs(in, &secs)) ||
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
		err = mismatch(t->text, in, where);
	return err;
}

xbt_error *xbt_value_check(const xbt_type *t, xmlrpc_value *in,
			   xmlrpc_value **out)
{
	return XBT_PROPAGATE(check(t, in, out, NULL));
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
		if (!parse_int(d, strlen(d), &i))
			xbt_fatalx("model: bad int default of %s", p->name);
		v = xbt_value_i8(i);
		break;
	case XBT_T_FLOAT:
		if (!parse_float(d, strlen(d), &x))
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

/* ---- records -------------------------------------------------------------------- */

#define MEMBER(rec, f, T) ((T *)((char *)(rec) + (f)->offset))
#define CMEMBER(rec, f, T) ((const T *)((const char *)(rec) + (f)->offset))

static void field_init(const xbt_field_desc *f, void *rec)
{
	const char *d = f->default_value;
	int64_t i;

	switch (f->type->kind) {
	case XBT_T_STRING:
		*MEMBER(rec, f, char *) = xbt_strdup(d ? d : "");
		break;
	case XBT_T_REF:
		*MEMBER(rec, f, char *) = xbt_strdup(d ? d : XBT_REF_NULL);
		break;
	case XBT_T_INT:
		if (d && !parse_int(d, strlen(d), &i))
			xbt_fatalx("model: bad int default of %s", f->name);
		*MEMBER(rec, f, int64_t) = d ? i : 0;
		break;
	case XBT_T_FLOAT: {
		double x = 0;

		if (d && !parse_float(d, strlen(d), &x))
			xbt_fatalx("model: bad float default of %s", f->name);
		*MEMBER(rec, f, double) = x;
		break;
	}
	case XBT_T_BOOL:
		*MEMBER(rec, f, bool) = d && strcmp(d, "true") == 0;
		break;
	case XBT_T_DATETIME:
		i = 0;
		if (d && !xbt_datetime_parse(d, strlen(d), &i))
			xbt_fatalx("model: bad datetime default of %s", f->name);
		*MEMBER(rec, f, int64_t) = i;
		break;
	case XBT_T_ENUM: {
		int e = d ? xbt_enum_index(f->type->enum_desc, d) : 0;

		if (e < 0)
			xbt_fatalx("model: bad enum default of %s", f->name);
		*MEMBER(rec, f, int) = e;
		break;
	}
	case XBT_T_SET:
		MEMBER(rec, f, xbt_strv)->v = NULL;
		MEMBER(rec, f, xbt_strv)->n = 0;
		break;
	case XBT_T_MAP:
		MEMBER(rec, f, xbt_map)->keys = NULL;
		MEMBER(rec, f, xbt_map)->vals = NULL;
		MEMBER(rec, f, xbt_map)->n = 0;
		break;
	default:
		xbt_fatalx("model: field %s has a result-only type", f->name);
	}
}

static void field_release(const xbt_field_desc *f, void *rec)
{
	switch (f->type->kind) {
	case XBT_T_STRING:
	case XBT_T_REF:
		free(*MEMBER(rec, f, char *));
		*MEMBER(rec, f, char *) = NULL;
		break;
	case XBT_T_SET:
		xbt_strv_clear(MEMBER(rec, f, xbt_strv));
		break;
	case XBT_T_MAP:
		xbt_map_clear(MEMBER(rec, f, xbt_map));
		break;
	default:
		break;
	}
}

void xbt_record_init(const xbt_class_desc *c, void *rec)
{
	memset(rec, 0, c->record_size);
	for (size_t i = 0; i < c->nfields; i++)
		field_init(&c->fields[i], rec);
}

void xbt_record_copy(const xbt_class_desc *c, void *dst, const void *src)
{
	memcpy(dst, src, c->record_size);
	for (size_t i = 0; i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];

		switch (f->type->kind) {
		case XBT_T_STRING:
		case XBT_T_REF: {
			const char *s = *CMEMBER(src, f, char *);

			*MEMBER(dst, f, char *) = xbt_strdup(s ? s : "");
			break;
		}
		case XBT_T_SET:
			strv_copy(MEMBER(dst, f, xbt_strv),
				  CMEMBER(src, f, xbt_strv));
			break;
		case XBT_T_MAP:
			map_copy(MEMBER(dst, f, xbt_map),
				 CMEMBER(src, f, xbt_map));
			break;
		default:
			break;
		}
	}
}

void xbt_record_release(const xbt_class_desc *c, void *rec)
{
	for (size_t i = 0; i < c->nfields; i++)
		field_release(&c->fields[i], rec);
}

xmlrpc_value *xbt_field_to_value(const xbt_field_desc *f, const void *rec)
{
	xmlrpc_value *v = NULL;

	switch (f->type->kind) {
	case XBT_T_STRING:
		v = xbt_value_string(*CMEMBER(rec, f, char *));
		break;
	case XBT_T_REF:
		v = xbt_value_ref(*CMEMBER(rec, f, char *));
		break;
	case XBT_T_INT:
		v = xbt_value_i8(*CMEMBER(rec, f, int64_t));
		break;
	case XBT_T_FLOAT:
		v = xbt_value_float(*CMEMBER(rec, f, double));
		break;
	case XBT_T_BOOL:
		v = xbt_value_bool(*CMEMBER(rec, f, bool));
		break;
	case XBT_T_DATETIME:
		v = xbt_value_datetime(*CMEMBER(rec, f, int64_t));
		break;
	case XBT_T_ENUM: {
		int e = *CMEMBER(rec, f, int);

		if (e < 0 || (size_t)e >= f->type->enum_desc->n)
			xbt_fatalx("model: %s holds %d, not a value of enum %s",
				   f->name, e, f->type->enum_desc->name);
		v = xbt_value_string(f->type->enum_desc->values[e]);
		break;
	}
	case XBT_T_SET:
		v = xbt_value_strv(CMEMBER(rec, f, xbt_strv));
		break;
	case XBT_T_MAP:
		v = xbt_value_map(CMEMBER(rec, f, xbt_map));
		break;
	default:
		xbt_fatalx("model: field %s has a result-only type", f->name);
	}
	return v;
}

xmlrpc_value *xbt_record_to_value(const xbt_class_desc *c, const void *rec)
{
	xmlrpc_value *st = xbt_value_struct();

	for (size_t i = 0; i < c->nfields; i++)
		xbt_value_put(st, c->fields[i].name,
			    xbt_field_to_value(&c->fields[i], rec));
	return st;
}

/* The stored string form of a checked scalar value (caller frees). */
static char *scalar_text(xmlrpc_value *v)
{
	xmlrpc_env env;
	char *r = NULL;

	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING: {
		size_t len;
		char *s = xbt_value_text(v, &len);

		r = xbt_text_safe_dup(s, len);
		free(s);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;
		xbt_buf b = XBT_BUF_INIT;

		xmlrpc_read_i8(&env, v, &i);
		env_check(&env);
		xbt_buf_addf(&b, "%lld", (long long)i);
		r = xbt_buf_detach(&b, NULL);
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d;
		xbt_buf b = XBT_BUF_INIT;

		xmlrpc_read_double(&env, v, &d);
		env_check(&env);
		xbt_buf_addf(&b, "%.17g", d);
		r = xbt_buf_detach(&b, NULL);
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool x;

		xmlrpc_read_bool(&env, v, &x);
		env_check(&env);
		r = xbt_strdup(x ? "true" : "false");
		break;
	}
	case XMLRPC_TYPE_DATETIME: {
		int64_t secs = 0;
		char buf[XBT_DATETIME_LEN + 1];

		datetime_secs(v, &secs);
		xbt_datetime_format(secs, buf);
		r = xbt_strdup(buf);
		break;
	}
	default:
		xbt_fatalx("model: no string form for a checked value");
	}
	xmlrpc_env_clean(&env);
	return r;
}

/* Stores a value already checked against f's type. */
static void field_store(const xbt_field_desc *f, xmlrpc_value *v, void *rec)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	switch (f->type->kind) {
	case XBT_T_STRING:
	case XBT_T_REF: {
		char *s = scalar_text(v);

		free(*MEMBER(rec, f, char *));
		*MEMBER(rec, f, char *) = s;
		break;
	}
	case XBT_T_INT: {
		xmlrpc_int64 i;

		xmlrpc_read_i8(&env, v, &i);
		env_check(&env);
		*MEMBER(rec, f, int64_t) = i;
		break;
	}
	case XBT_T_FLOAT:
		xmlrpc_read_double(&env, v, MEMBER(rec, f, double));
		env_check(&env);
		break;
	case XBT_T_BOOL: {
		xmlrpc_bool x;

		xmlrpc_read_bool(&env, v, &x);
		env_check(&env);
		*MEMBER(rec, f, bool) = x;
		break;
	}
	case XBT_T_DATETIME: {
		int64_t secs = 0;

		datetime_secs(v, &secs);
		*MEMBER(rec, f, int64_t) = secs;
		break;
	}
	case XBT_T_ENUM: {
		char *s = scalar_text(v);

		*MEMBER(rec, f, int) = xbt_enum_index(f->type->enum_desc, s);
		free(s);
		break;
	}
	case XBT_T_SET: {
		xbt_strv *sv = MEMBER(rec, f, xbt_strv);
		int n = xmlrpc_array_size(&env, v);

		env_check(&env);
		xbt_strv_clear(sv);
		for (int i = 0; i < n; i++) {
			xmlrpc_value *item;
			char *s;

			xmlrpc_array_read_item(&env, v, (unsigned)i, &item);
			env_check(&env);
			s = scalar_text(item);
			xbt_strv_add(sv, s);
			free(s);
			xmlrpc_DECREF(item);
		}
		break;
	}
	case XBT_T_MAP: {
		xbt_map *m = MEMBER(rec, f, xbt_map);
		size_t n = xbt_value_size(v);

		xbt_map_clear(m);
		for (size_t i = 0; i < n; i++) {
			xmlrpc_value *val;
			char *k, *safe, *s;
			size_t klen;

			xbt_value_member_at(v, i, &k, &klen, &val);
			safe = xbt_text_safe_dup(k, klen);
			s = scalar_text(val);
			xbt_map_set(m, safe, s);
			free(k);
			free(safe);
			free(s);
			xmlrpc_DECREF(val);
		}
		break;
	}
	default:
		xbt_fatalx("model: field %s has a result-only type", f->name);
	}
	xmlrpc_env_clean(&env);
}

xbt_error *xbt_field_from_value(const xbt_field_desc *f, xmlrpc_value *v,
				void *rec)
{
	xmlrpc_value *norm = NULL;
	xbt_error *err;

	err = XBT_PROPAGATE(check(f->type, v, &norm, NULL));
	if (!err) {
		field_store(f, norm, rec);
		xmlrpc_DECREF(norm);
	}
	return err;
}

xbt_error *xbt_record_from_value(const xbt_class_desc *c, xmlrpc_value *v,
				 void *rec)
{
	xbt_error *err = NULL;
	void *tmp = NULL;
	size_t n;

	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT) {
		xbt_buf want = XBT_BUF_INIT;

		xbt_buf_addf(&want, "record %s", c->name);
		err = mismatch(want.buf, v, NULL);
		xbt_buf_release(&want);
		goto out;
	}
	/* work on a copy so that a bad field leaves rec untouched */
	tmp = xbt_malloc(c->record_size ? c->record_size : 1);
	xbt_record_copy(c, tmp, rec);
	n = xbt_value_size(v);
	for (size_t i = 0; i < n && !err; i++) {
		xmlrpc_value *val, *norm = NULL;
		char *k = NULL;
		size_t klen = 0;
		const xbt_field_desc *f;

		xbt_value_member_at(v, i, &k, &klen, &val);
		f = strlen(k) == klen ? xbt_field_find(c, k) : NULL;
		if (f) {
			loc here = { NULL, "field", k, klen, 0 };

			err = XBT_PROPAGATE(check(f->type, val, &norm, &here));
			if (!err) {
				field_store(f, norm, tmp);
				xmlrpc_DECREF(norm);
			}
		}
		free(k);
		xmlrpc_DECREF(val);
	}
	if (err) {
		xbt_record_release(c, tmp);
	} else {
		xbt_record_release(c, rec);
		memcpy(rec, tmp, c->record_size);
	}
	free(tmp);
out:
	return err;
}
