/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A field's value as xe prints it: refs resolved to uuids (or names), sets
 * and maps in xe's layout.
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

/* What xe prints for a ref it cannot resolve, as xe's records do. */
#define XE_NOT_IN_DATABASE "<not in database>"

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
	n = xmlrpc_value_type(all) == XMLRPC_TYPE_STRUCT ?
	    (int)xbt_value_size(all) : -1;
	for (int i = 0; i < n; i++) {
		xmlrpc_value *rec;
		char *ref;

		if (!xbt_value_member_at(all, (size_t)i, &ref, NULL, &rec))
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

	if (strcmp(ref, XBT_REF_NULL) == 0) {
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

void xe_add_scalar(xbt_buf *out, const xbt_type *t, const char *s,
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
		/* xe prints power states in lower case (halted, running) and
		 * console protocols in upper case (RFB, VT100). */
		if (strcmp(f->name, "power_state") == 0)
			for (char *s = out.buf; *s; s++)
				*s = (char)tolower((unsigned char)*s);
		if (strcmp(f->type->text, "enum console_protocol") == 0)
			for (char *s = out.buf; *s; s++)
				*s = (char)toupper((unsigned char)*s);
		break;
	}
	case XBT_T_SET: {
		const xbt_strv *s = (const xbt_strv *)p;
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				xbt_buf_addstr(&out, "; ");
			xe_add_scalar(&out, f->type->elem, s->v[i], refs);
		}
		break;
	}
	case XBT_T_MAP: {
		const xbt_map *m = (const xbt_map *)p;
		for (size_t i = 0; i < m->n; i++) {
			if (i)
				xbt_buf_addstr(&out, "; ");
			xe_add_scalar(&out, f->type->key, m->keys[i], refs);
			xbt_buf_addstr(&out, ": ");
			xe_add_scalar(&out, f->type->elem, m->vals[i], refs);
		}
		break;
	}
	default:
		break;
	}
	return xbt_buf_detach(&out, NULL);
}

