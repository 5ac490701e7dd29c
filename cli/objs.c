/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Records fetched from the server (get_all_records, decoded with
 * xbt_record_from_value), selected by xe's filters and printed.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"
#include "xe.h"

/* ---- fetching and filtering -------------------------------------------- */

static void obj_free(const xbt_class_desc *desc, struct xe_obj *o)
{
	free(o->ref);
	if (o->rec) {
		xbt_record_release(desc, o->rec);
		free(o->rec);
	}
}

void xe_objs_release(struct xe_objs *o)
{
	for (size_t i = 0; i < o->n; i++)
		obj_free(o->desc, &o->v[i]);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

xbt_error *xe_objs_fetch(struct xe_conn *conn, const struct xe_class *cls,
			 struct xe_objs *out)
{
	xmlrpc_value *all = NULL;
	xbt_error *err;
	int n;

	memset(out, 0, sizeof(*out));
	out->desc = cls->desc;
	err = cls->get_all_records(conn->c, conn->session, &all);
	if (err)
		goto out;
	n = xmlrpc_value_type(all) == XMLRPC_TYPE_STRUCT ?
	    (int)xbt_value_size(all) : -1;
	if (n < 0) {
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, conn->url,
				"get_all_records did not return a struct");
		goto out;
	}
	for (int i = 0; i < n && !err; i++) {
		struct xe_obj o = { NULL, NULL };
		xmlrpc_value *v;

		if (!xbt_value_member_at(all, (size_t)i, &o.ref, NULL, &v)) {
			err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, conn->url,
					"unreadable record");
			break;
		}
		o.rec = xbt_calloc(1, cls->desc->record_size);
		xbt_record_init(cls->desc, o.rec);
		err = xbt_record_from_value(cls->desc, v, o.rec);
		xmlrpc_DECREF(v);
		if (err) {
			obj_free(cls->desc, &o);
			break;
		}
		out->v = xbt_reallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = o;
	}
out:
	if (all)
		xmlrpc_DECREF(all);
	if (err)
		xe_objs_release(out);
	return err;
}

void xe_objs_retain(struct xe_objs *objs,
		    bool (*keep)(const struct xe_obj *, const void *),
		    const void *ctx)
{
	size_t k = 0;

	for (size_t i = 0; i < objs->n; i++) {
		if (keep(&objs->v[i], ctx))
			objs->v[k++] = objs->v[i];
		else
			obj_free(objs->desc, &objs->v[i]);
	}
	objs->n = k;
}

struct match {
	const struct xe_col *col;
	const char *sub;    /* map key, or "contains" for a set */
	const char *value;
	struct xe_refs *refs;
};

static bool match_one(const struct xe_obj *o, const void *ctx)
{
	const struct match *m = ctx;
	const char *p = (const char *)o->rec + m->col->field->offset;
	bool result = false;

	if (!m->sub) {
		char *v = xe_col_value(m->col, o->rec, m->refs);
		result = strcmp(v, m->value) == 0;
		free(v);
	} else if (m->col->field->type->kind == XBT_T_MAP) {
		const xbt_map *map = (const xbt_map *)p;
		for (size_t i = 0; i < map->n && !result; i++)
			result = strcmp(map->keys[i], m->sub) == 0 &&
				 strcmp(map->vals[i], m->value) == 0;
	} else {
		/* Members compare as printed: refs as uuids. */
		const xbt_strv *set = (const xbt_strv *)p;
		xbt_buf b = XBT_BUF_INIT;
		for (size_t i = 0; i < set->n && !result; i++) {
			xbt_buf_reset(&b);
			xe_add_scalar(&b, m->col->field->type->elem, set->v[i],
				   m->refs);
			result = strcmp(b.buf, m->value) == 0;
		}
		xbt_buf_release(&b);
	}
	return result;
}

void xe_objs_keep(struct xe_objs *objs, const struct xe_view *view,
		  const char *name, const char *value, struct xe_refs *refs)
{
	struct match m = { xe_view_col(view, name), NULL, value, refs };

	if (m.col)
		xe_objs_retain(objs, match_one, &m);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; list && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* The filter a parameter stands for; XE_USAGE when it names no field. */
static xbt_error *make_match(const struct xe_view *view, const char *key,
			     struct match *m, char **name)
{
	const char *colon = strchr(key, ':');
	xbt_error *err = NULL;
	xbt_buf msg = XBT_BUF_INIT;

	*name = colon ? xbt_strndup(key, (size_t)(colon - key))
		      : xbt_strdup(key);
	m->col = xe_view_col(view, *name);
	m->sub = colon ? colon + 1 : NULL;
	if (!m->col || (m->sub && m->col->show != XE_SHOW_FIELD)) {
		xbt_buf_addf(&msg, "Unknown field '%s'", key);
	} else if (m->sub && m->col->field->type->kind == XBT_T_SET) {
		if (strcmp(m->sub, "contains") != 0)
			xbt_buf_addstr(&msg, "Invalid syntax for set filtering "
				       "(should be set-param:contains=key)");
	} else if (m->sub && m->col->field->type->kind != XBT_T_MAP) {
		xbt_buf_addf(&msg, "Field '%s' is not a set or map", *name);
	}
	if (msg.len)
		err = XBT_RAISE(XE_ERR_USAGE, msg.buf);
	xbt_buf_release(&msg);
	return err;
}

xbt_error *xe_objs_filter(struct xe_objs *objs, const struct xe_view *view,
			  const struct xe_opts *o, const char *const *ignore,
			  struct xe_refs *refs)
{
	xbt_error *err = NULL;

	for (size_t i = 0; i < o->nparams && !err; i++) {
		const struct xe_param *p = &o->params[i];
		struct match m = { NULL, NULL, p->val, refs };
		char *name;

		if (xe_param_is_std(p->key) || in_list(p->key, ignore))
			continue;
		err = make_match(view, p->key, &m, &name);
		if (!err)
			xe_objs_retain(objs, match_one, &m);
		free(name);
	}
	return err;
}

/* ---- printing --------------------------------------------------------------- */

/* Whether column name is printed: params=all, params=a,b, or dflt. */
static bool col_wanted(const char *name, const char *params,
		       const char *const *dflt)
{
	size_t len = strlen(name);

	if (!params)
		return !dflt || in_list(name, dflt);
	if (strcmp(params, "all") == 0)
		return true;
	for (const char *p = params; *p; ) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p += n + (end != NULL);
	}
	return false;
}

void xe_obj_record(const struct xe_view *v, const void *rec,
		   const char *params, const char *const *dflt,
		   struct xe_refs *refs, struct xe_record *r)
{
	for (size_t k = 0; k < v->n; k++) {
		char *val;

		if (!col_wanted(v->cols[k].name, params, dflt))
			continue;
		val = xe_col_value(&v->cols[k], rec, refs);
		xe_record_add(r, v->cols[k].name, v->cols[k].qual, val);
		free(val);
	}
}

xbt_error *xe_print_objs(const struct xe_objs *objs, const struct xe_view *v,
			 const struct xe_opts *o, const char *const *dflt,
			 struct xe_refs *refs, xbt_buf *out)
{
	const char *params = xe_param(o, "params");
	bool minimal;
	xbt_error *err = xe_param_bool(o, "minimal", false, &minimal);
	size_t printed = 0;

	if (err)
		return err;
	for (size_t i = 0; i < objs->n; i++) {
		struct xe_record r = { NULL, 0 };

		xe_obj_record(v, objs->v[i].rec, params, dflt, refs, &r);
		if (minimal && r.n) {
			/* xe --minimal: the first printed field of each. */
			if (printed++)
				xbt_buf_addch(out, ',');
			xe_minimal_escape(r.rows[0].val, out);
		} else if (!minimal) {
			xe_layout_record(&r, out);
		}
		xe_record_release(&r);
	}
	if (minimal)
		xbt_buf_addch(out, '\n');
	return NULL;
}
