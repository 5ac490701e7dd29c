/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Records of the generated model: defaults, copies, and the marshalling
 * between C records and xmlrpc-c values, all by walking the descriptors.
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

/* xmlrpc-c reports only exhausted memory or misuse here: both fatal. */
static void env_check(xmlrpc_env *env)
{
	if (env->fault_occurred)
		xbt_fatalx("xmlrpc-c: %s", env->fault_string);
}

/* ---- records -------------------------------------------------------------------- */

#define MEMBER(rec, f, T) ((T *)((char *)(rec) + (f)->offset))
#define CMEMBER(rec, f, T) ((const T *)((const char *)(rec) + (f)->offset))

/*
 * A set's default is "a,b", a map's "k=v,k=v" (the IDL's spelling, vetted
 * by idl/gen): the elements in their stored text form.
 */
static void collection_default(const xbt_field_desc *f, const char *d,
			       void *rec)
{
	char *copy = xbt_strdup(d), *save = NULL;

	for (char *w = strtok_r(copy, ",", &save); w;
	     w = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(w, '=');

		if (f->type->kind == XBT_T_SET) {
			xbt_strv_add(MEMBER(rec, f, xbt_strv), w);
		} else {
			if (!eq)
				xbt_fatalx("model: bad map default of %s", f->name);
			*eq = '\0';
			xbt_map_set(MEMBER(rec, f, xbt_map), w, eq + 1);
		}
	}
	free(copy);
}

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
		if (d && !xbt__parse_int(d, strlen(d), &i))
			xbt_fatalx("model: bad int default of %s", f->name);
		*MEMBER(rec, f, int64_t) = d ? i : 0;
		break;
	case XBT_T_FLOAT: {
		double x = 0;

		if (d && !xbt__parse_float(d, strlen(d), &x))
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
		if (d)
			collection_default(f, d, rec);
		break;
	case XBT_T_MAP:
		MEMBER(rec, f, xbt_map)->keys = NULL;
		MEMBER(rec, f, xbt_map)->vals = NULL;
		MEMBER(rec, f, xbt_map)->n = 0;
		if (d)
			collection_default(f, d, rec);
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
			xbt__strv_copy(MEMBER(dst, f, xbt_strv),
				  CMEMBER(src, f, xbt_strv));
			break;
		case XBT_T_MAP:
			xbt__map_copy(MEMBER(dst, f, xbt_map),
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
	case XBT_T_SET: {
		const xbt_strv *sv = CMEMBER(rec, f, xbt_strv);

		v = xbt_value_array();
		for (size_t i = 0; i < sv->n; i++)
			xbt_value_push(v, xbt__elem_value(f->type->elem,
							  sv->v[i]));
		break;
	}
	case XBT_T_MAP: {
		const xbt_map *m = CMEMBER(rec, f, xbt_map);

		v = xbt_value_struct();
		for (size_t i = 0; i < m->n; i++)
			xbt_value_put(v, m->keys[i],
				      xbt__elem_value(f->type->elem,
						      m->vals[i]));
		break;
	}
	default:
		xbt_fatalx("model: field %s has a result-only type", f->name);
	}
	return v;
}

xmlrpc_value *xbt__elem_value(const xbt_type *t, const char *text)
{
	int64_t i = 0;
	double d = 0;

	switch (t->kind) {
	case XBT_T_INT:
		if (!xbt__parse_int(text, strlen(text), &i))
			xbt_fatalx("model: stored int \"%s\" unreadable", text);
		return xbt_value_i8(i);
	case XBT_T_FLOAT:
		if (!xbt__parse_float(text, strlen(text), &d))
			xbt_fatalx("model: stored float \"%s\" unreadable", text);
		return xbt_value_float(d);
	case XBT_T_SET:
	case XBT_T_MAP:
		xbt_fatalx("model: a collection inside a collection is kept "
			   "empty");
	default:
		return xbt_value_string(text);
	}
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

		xbt__datetime_secs(v, &secs);
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

		xbt__datetime_secs(v, &secs);
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
		/*
		 * Maps of collections (VM_metrics.VCPUs_flags) are read-only
		 * and always empty in xbt (no vCPU runs): the store keeps
		 * strings only, so their contents are not stored.
		 */
		if (f->type->elem->kind == XBT_T_SET ||
		    f->type->elem->kind == XBT_T_MAP)
			n = 0;
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

	err = XBT_PROPAGATE(xbt__check(f->type, v, &norm, NULL));
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
		err = XBT__MISMATCH(want.buf, v, NULL);
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
			xbt__loc here = { NULL, "field", k, klen, 0 };

			err = XBT_PROPAGATE(xbt__check(f->type, val, &norm, &here));
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
