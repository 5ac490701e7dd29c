/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Classes, records and selection. What a record shows comes from the
 * generated field descriptors (names, types, read-write flags); the values
 * from records decoded with xbt_record_from_value.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xbt/client.h"
#include "xbt/xenapi.h"
#include "xe.h"

/* What xe prints for a ref it cannot resolve, as xe's records do. */
#define XE_NOT_IN_DATABASE "<not in database>"
#define XE_NULL_REF "OpaqueRef:NULL"

/* ---- the classes xe knows ------------------------------------------------ */

/* Default fields of <class>-list, as upstream's xe chooses them; names a
 * class does not have are skipped. */
static const char *const vm_list[] = { "name-label", "uuid", "power-state",
				       NULL };
static const char *const vm_filters[] = { "is-a-template=false", NULL };
static const char *const sr_list[] = { "uuid", "name-label",
				       "name-description", "host", "type",
				       "content-type", NULL };
static const char *const vdi_list[] = { "uuid", "name-label",
					"name-description", "virtual-size",
					"read-only", "sharable", "sr-uuid",
					NULL };
static const char *const vbd_list[] = { "uuid", "vm-uuid", "vm-name-label",
					"vdi-uuid", "device", "empty", NULL };
static const char *const host_list[] = { "uuid", "name-label",
					 "name-description", NULL };
static const char *const task_list[] = { "uuid", "name-label",
					 "name-description", "status",
					 "progress", NULL };
static const char *const pbd_list[] = { "uuid", "host-uuid", "sr-uuid",
					"device-config", "currently-attached",
					NULL };
static const char *const pool_list[] = { "uuid", "name-label",
					 "name-description", "master",
					 "default-SR", NULL };

#define XE_CLASS(cli, lc, fields, filters) \
	{ cli, &xbt_class_##lc, xbt_##lc##_get_all_records, \
	  xbt_##lc##_get_by_uuid, xbt_##lc##_get_record, fields, filters }

static const struct xe_class xe_classes[] = {
	XE_CLASS("vm", vm, vm_list, vm_filters),
	XE_CLASS("sr", sr, sr_list, NULL),
	XE_CLASS("vdi", vdi, vdi_list, NULL),
	XE_CLASS("vbd", vbd, vbd_list, NULL),
	XE_CLASS("host", host, host_list, NULL),
	XE_CLASS("task", task, task_list, NULL),
	XE_CLASS("pbd", pbd, pbd_list, NULL),
	XE_CLASS("pool", pool, pool_list, NULL),
};
#define XE_NCLASSES (sizeof(xe_classes) / sizeof(xe_classes[0]))

const struct xe_class *xe_class_find(const char *cli)
{
	for (size_t i = 0; i < XE_NCLASSES; i++)
		if (strcmp(xe_classes[i].cli, cli) == 0)
			return &xe_classes[i];
	return NULL;
}

const struct xe_class *xe_class_by_desc(const xbt_class_desc *d)
{
	for (size_t i = 0; i < XE_NCLASSES; i++)
		if (xe_classes[i].desc == d)
			return &xe_classes[i];
	return NULL;
}

/* ---- views: the printed fields of a class ------------------------------ */

static const char *qualifier(const xbt_field_desc *f)
{
	switch (f->type->kind) {
	case XBT_T_SET:
		return f->rw ? "(SRW)" : "(SRO)";
	case XBT_T_MAP:
		return f->rw ? "(MRW)" : "(MRO)";
	default:
		return f->rw ? "( RW)" : "( RO)";
	}
}

static char *dashed(const char *name)
{
	char *s = xbt_strdup(name);

	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = '-';
	return s;
}

static void view_add(struct xe_view *v, char *name, const char *qual,
		     const xbt_field_desc *f, enum xe_show show)
{
	v->cols = xbt_reallocarray(v->cols, v->n + 1, sizeof(*v->cols));
	v->cols[v->n].name = name;
	v->cols[v->n].qual = qual;
	v->cols[v->n].field = f;
	v->cols[v->n].show = show;
	v->n++;
}

static bool is_leading(const char *name)
{
	return strcmp(name, "uuid") == 0 || strcmp(name, "name_label") == 0 ||
	       strcmp(name, "name_description") == 0;
}

/* The fields in the order xe shows them: uuid, name_label and
 * name_description first, as every record of upstream's xe, then the
 * others in the data model's order. */
static size_t view_order(const xbt_class_desc *desc, size_t *order)
{
	static const char *const lead[] = { "uuid", "name_label",
					    "name_description" };
	size_t n = 0;

	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < desc->nfields; i++)
			if (strcmp(desc->fields[i].name, lead[k]) == 0)
				order[n++] = i;
	for (size_t i = 0; i < desc->nfields; i++)
		if (!is_leading(desc->fields[i].name))
			order[n++] = i;
	return n;
}

void xe_view_init(struct xe_view *v, const xbt_class_desc *desc)
{
	size_t *order = xbt_calloc(desc->nfields ? desc->nfields : 1,
				   sizeof(*order));
	size_t n = view_order(desc, order);

	memset(v, 0, sizeof(*v));
	v->desc = desc;
	for (size_t k = 0; k < n; k++) {
		const xbt_field_desc *f = &desc->fields[order[k]];
		const xbt_class_desc *target = NULL;
		xbt_buf b = XBT_BUF_INIT;

		if (f->type->kind == XBT_T_REF && f->type->cls &&
		    strcasecmp(f->name, f->type->cls) == 0)
			target = xbt_class_find(f->type->cls);
		if (!target) {
			view_add(v, dashed(f->name), qualifier(f), f,
				 XE_SHOW_FIELD);
			continue;
		}
		xbt_buf_addf(&b, "%s-uuid", target->lower);
		view_add(v, xbt_buf_detach(&b, NULL), qualifier(f), f,
			 XE_SHOW_REF_UUID);
		if (xbt_field_find(target, "name_label")) {
			xbt_buf_addf(&b, "%s-name-label", target->lower);
			view_add(v, xbt_buf_detach(&b, NULL), "( RO)", f,
				 XE_SHOW_REF_NAME);
		}
	}
	free(order);
}

void xe_view_release(struct xe_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->cols[i].name);
	free(v->cols);
	memset(v, 0, sizeof(*v));
}

const struct xe_col *xe_view_col(const struct xe_view *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->cols[i].name, name) == 0)
			return &v->cols[i];
	return NULL;
}

/* ---- refs to uuids and names -------------------------------------------- */

struct xe_known {
	char *ref, *uuid, *name;
};

struct xe_refs_class {
	const xbt_class_desc *desc;
	struct xe_known *v;
	size_t n;
};

struct xe_refs {
	struct xe_conn *conn;
	struct xe_refs_class *cls;
	size_t n;
};

struct xe_refs *xe_refs_new(struct xe_conn *conn)
{
	struct xe_refs *r = xbt_calloc(1, sizeof(*r));

	r->conn = conn;
	return r;
}

void xe_refs_free(struct xe_refs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		for (size_t k = 0; k < r->cls[i].n; k++) {
			free(r->cls[i].v[k].ref);
			free(r->cls[i].v[k].uuid);
			free(r->cls[i].v[k].name);
		}
		free(r->cls[i].v);
	}
	free(r->cls);
	free(r);
}

/* A string member of a struct; NULL when absent or not a string. */
static char *member_string(xmlrpc_value *s, const char *name)
{
	xmlrpc_value *m = xbt_value_get(s, name);
	char *result = xbt_value_text(m, NULL);

	if (m)
		xmlrpc_DECREF(m);
	return result;
}

/* Reads one member of a struct: key (caller frees) and value (new ref). */
static bool struct_member(xmlrpc_value *s, unsigned i, char **key,
			  xmlrpc_value **val)
{
	return xbt_value_member_at(s, i, key, NULL, val);
}

static int struct_size(xmlrpc_value *s)
{
	xmlrpc_env env;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_value_type(s) == XMLRPC_TYPE_STRUCT
		    ? xmlrpc_struct_size(&env, s) : -1;
	if (env.fault_occurred)
		n = -1;
	xmlrpc_env_clean(&env);
	return n;
}

/* Loads uuids and names of one class. A failure leaves it empty: its refs
 * then print as not in the database, which is what they are to xe. */
static void refs_load(struct xe_refs *r, struct xe_refs_class *rc)
{
	const struct xe_class *cls = xe_class_by_desc(rc->desc);
	xmlrpc_value *all = NULL;
	xbt_error *err;
	int n;

	if (!cls || !r->conn || !r->conn->c)
		goto out;
	err = cls->get_all_records(r->conn->c, r->conn->session, &all);
	if (err) {
		xbt_error_free(err);
		goto out;
	}
	n = struct_size(all);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *rec;
		char *ref;

		if (!struct_member(all, (unsigned)i, &ref, &rec))
			continue;
		rc->v = xbt_reallocarray(rc->v, rc->n + 1, sizeof(*rc->v));
		rc->v[rc->n].ref = ref;
		rc->v[rc->n].uuid = member_string(rec, "uuid");
		rc->v[rc->n].name = member_string(rec, "name_label");
		rc->n++;
		xmlrpc_DECREF(rec);
	}
out:
	if (all)
		xmlrpc_DECREF(all);
}

/* The uuids and names of a class, fetched on first use. */
static struct xe_refs_class *refs_class(struct xe_refs *r,
					const xbt_class_desc *desc)
{
	struct xe_refs_class *rc = NULL;

	for (size_t i = 0; i < r->n && !rc; i++)
		if (r->cls[i].desc == desc)
			rc = &r->cls[i];
	if (!rc) {
		r->cls = xbt_reallocarray(r->cls, r->n + 1, sizeof(*r->cls));
		rc = &r->cls[r->n++];
		memset(rc, 0, sizeof(*rc));
		rc->desc = desc;
		refs_load(r, rc);
	}
	return rc;
}

/* Appends what xe prints for a ref to class cls. */
static void add_ref(xbt_buf *out, const char *cls, const char *ref,
		    bool want_name, struct xe_refs *refs)
{
	const xbt_class_desc *desc = cls ? xbt_class_find(cls) : NULL;
	const char *text = XE_NOT_IN_DATABASE;

	if (strcmp(ref, XE_NULL_REF) == 0) {
		;
	} else if (!refs || !desc || !xe_class_by_desc(desc)) {
		text = ref;
	} else {
		struct xe_refs_class *rc = refs_class(refs, desc);
		for (size_t i = 0; i < rc->n; i++) {
			const char *v = want_name ? rc->v[i].name
						  : rc->v[i].uuid;
			if (strcmp(rc->v[i].ref, ref) == 0 && v) {
				text = v;
				break;
			}
		}
	}
	xbt_buf_addstr(out, text);
}

/* ---- values --------------------------------------------------------------- */

static void add_scalar(xbt_buf *out, const xbt_type *t, const char *s,
		       struct xe_refs *refs)
{
	if (t && t->kind == XBT_T_REF)
		add_ref(out, t->cls, s, false, refs);
	else
		xbt_buf_addstr(out, s);
}

char *xe_col_value(const struct xe_col *c, const void *rec,
		   struct xe_refs *refs)
{
	const xbt_field_desc *f = c->field;
	const char *p = (const char *)rec + f->offset;
	xbt_buf out = XBT_BUF_INIT;

	switch (f->type->kind) {
	case XBT_T_STRING:
		xbt_buf_addstr(&out, *(char *const *)p);
		break;
	case XBT_T_REF:
		if (c->show == XE_SHOW_FIELD || c->show == XE_SHOW_REF_UUID)
			add_ref(&out, f->type->cls, *(char *const *)p, false,
				refs);
		else
			add_ref(&out, f->type->cls, *(char *const *)p, true,
				refs);
		break;
	case XBT_T_INT:
		xbt_buf_addf(&out, "%lld", (long long)*(const int64_t *)p);
		break;
	case XBT_T_FLOAT:
		xe_format_float(*(const double *)p, &out);
		break;
	case XBT_T_BOOL:
		xbt_buf_addstr(&out, *(const bool *)p ? "true" : "false");
		break;
	case XBT_T_DATETIME:
		xe_format_datetime(*(const int64_t *)p, &out);
		break;
	case XBT_T_ENUM: {
		int i = *(const int *)p;
		const xbt_enum_desc *e = f->type->enum_desc;
		if (!e || i < 0 || (size_t)i >= e->n)
			break;
		xbt_buf_addstr(&out, e->values[i]);
		/* xe prints power states in lower case (halted, running). */
		if (strcmp(f->name, "power_state") == 0)
			for (char *s = out.buf; *s; s++)
				*s = (char)tolower((unsigned char)*s);
		break;
	}
	case XBT_T_SET: {
		const xbt_strv *s = (const xbt_strv *)p;
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				xbt_buf_addstr(&out, "; ");
			add_scalar(&out, f->type->elem, s->v[i], refs);
		}
		break;
	}
	case XBT_T_MAP: {
		const xbt_map *m = (const xbt_map *)p;
		for (size_t i = 0; i < m->n; i++) {
			if (i)
				xbt_buf_addstr(&out, "; ");
			add_scalar(&out, f->type->key, m->keys[i], refs);
			xbt_buf_addstr(&out, ": ");
			add_scalar(&out, f->type->elem, m->vals[i], refs);
		}
		break;
	}
	default:
		break;
	}
	return xbt_buf_detach(&out, NULL);
}

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
	n = struct_size(all);
	if (n < 0) {
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, conn->url,
				"get_all_records did not return a struct");
		goto out;
	}
	for (int i = 0; i < n && !err; i++) {
		struct xe_obj o = { NULL, NULL };
		xmlrpc_value *v;

		if (!struct_member(all, (unsigned)i, &o.ref, &v)) {
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
			add_scalar(&b, m->col->field->type->elem, set->v[i],
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

		for (size_t k = 0; k < v->n; k++) {
			char *val;

			if (!col_wanted(v->cols[k].name, params, dflt))
				continue;
			val = xe_col_value(&v->cols[k], objs->v[i].rec, refs);
			xe_record_add(&r, v->cols[k].name, v->cols[k].qual,
				      val);
			free(val);
		}
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
