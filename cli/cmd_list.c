/* SPDX-License-Identifier: BSD-2-Clause */
/* <class>-list and <class>-param-get, for every class xe knows. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "xbt/client.h"
#include "xe.h"

/* Applies a class's built-in filters ("is-a-template=false"). */
static void default_filters(const struct xe_class *cls, struct xe_objs *objs,
			    const struct xe_view *view, struct xe_refs *refs)
{
	for (const char *const *f = cls->list_filters; f && *f; f++) {
		const char *eq = strchr(*f, '=');
		char *name = xbt_strndup(*f, (size_t)(eq - *f));
		xe_objs_keep(objs, view, name, eq + 1, refs);
		free(name);
	}
}

xbt_error *xe_cmd_list(const struct xe_cmd *cmd, struct xe_opts *o,
		       struct xe_conn *conn, xbt_buf *out)
{
	const struct xe_class *cls = cmd->cls();
	struct xe_refs *refs = xe_refs_new(conn);
	struct xe_objs objs;
	struct xe_view view;
	xbt_error *err;

	xe_view_init(&view, cls->desc);
	err = xe_objs_fetch(conn, cls, &objs);
	if (err)
		goto out;
	default_filters(cls, &objs, &view, refs);
	err = xe_objs_filter(&objs, &view, o, NULL, refs);
	if (!err)
		err = xe_print_objs(&objs, &view, o, cls->list_fields, refs,
				    out);
	xe_objs_release(&objs);
out:
	xe_view_release(&view);
	xe_refs_free(refs);
	return err;
}

/* The string a call returned, or a protocol error. */
static xbt_error *result_string(struct xe_conn *conn, xmlrpc_value *v,
				char **out)
{
	xbt_error *err = NULL;

	*out = xbt_value_text(v, NULL);
	if (!*out)
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, conn->url,
				"expected a string result");
	return err;
}

xbt_error *xe_ref_by_uuid(struct xe_conn *conn, const struct xe_class *cls,
			  const char *uuid, char **ref)
{
	xmlrpc_value *v = NULL;
	xbt_error *err;

	*ref = NULL;
	err = cls->get_by_uuid(conn->c, conn->session, uuid, &v);
	if (!err)
		err = result_string(conn, v, ref);
	if (v)
		xmlrpc_DECREF(v);
	return err;
}

/* One object's record, decoded (*rec: the generated struct, released with
 * free_one), or the server's error (UUID_INVALID). */
static xbt_error *fetch_one(struct xe_conn *conn, const struct xe_class *cls,
			    const char *uuid, void **rec)
{
	xmlrpc_value *v = NULL;
	char *ref = NULL;
	xbt_error *err;

	*rec = NULL;
	if ((err = xe_ref_by_uuid(conn, cls, uuid, &ref)) ||
	    (err = cls->get_record(conn->c, conn->session, ref, &v)))
		goto out;
	*rec = xbt_calloc(1, cls->desc->record_size);
	xbt_record_init(cls->desc, *rec);
	err = xbt_record_from_value(cls->desc, v, *rec);
out:
	if (v)
		xmlrpc_DECREF(v);
	free(ref);
	return err;
}

static void free_one(const struct xe_class *cls, void *rec)
{
	if (rec) {
		xbt_record_release(cls->desc, rec);
		free(rec);
	}
}

xbt_error *xe_cmd_param_get(const struct xe_cmd *cmd, struct xe_opts *o,
			    struct xe_conn *conn, xbt_buf *out)
{
	const struct xe_class *cls = cmd->cls();
	struct xe_refs *refs = xe_refs_new(conn);
	const char *uuid, *name, *key = xe_param(o, "param-key");
	const struct xe_col *col;
	struct xe_view view;
	void *rec = NULL;
	char *val = NULL;
	bool minimal;
	xbt_error *err;

	xe_view_init(&view, cls->desc);
	if ((err = xe_param_need(o, "uuid", &uuid)) ||
	    (err = xe_param_need(o, "param-name", &name)) ||
	    (err = xe_param_bool(o, "minimal", false, &minimal)))
		goto out;
	col = xe_view_col(&view, name);
	if (!col) {
		xbt_buf msg = XBT_BUF_INIT;
		xbt_buf_addf(&msg, "Unknown field '%s'", name);
		err = XBT_RAISE(XE_ERR_USAGE, msg.buf);
		xbt_buf_release(&msg);
		goto out;
	}
	if ((err = fetch_one(conn, cls, uuid, &rec)))
		goto out;
	if (key && col->field->type->kind == XBT_T_MAP &&
	    col->show == XE_SHOW_FIELD) {
		const xbt_map *m = (const xbt_map *)((const char *)rec +
						     col->field->offset);
		const char *found = xbt_map_get(m, key);
		if (!found) {
			xbt_buf msg = XBT_BUF_INIT;
			xbt_buf_addf(&msg, "Key %s not found in map", key);
			err = XBT_RAISE(XE_ERR_FAILURE, msg.buf);
			xbt_buf_release(&msg);
			goto out;
		}
		val = xbt_strdup(found);
	} else {
		val = xe_col_value(col, rec, refs);
	}
	if (minimal)
		xe_minimal_escape(val, out);
	else
		xbt_buf_add_safe(out, val, strlen(val));
	xbt_buf_addch(out, '\n');
out:
	free_one(cls, rec);
	free(val);
	xe_view_release(&view);
	xe_refs_free(refs);
	return err;
}

/* Every field of one object, laid out as a list's record: upstream's
 * <class>-param-list shows all the fields its record has. */
xbt_error *xe_cmd_param_list(const struct xe_cmd *cmd, struct xe_opts *o,
			     struct xe_conn *conn, xbt_buf *out)
{
	const struct xe_class *cls = cmd->cls();
	struct xe_refs *refs = xe_refs_new(conn);
	struct xe_record r = { NULL, 0 };
	struct xe_view view;
	const char *uuid;
	void *rec = NULL;
	xbt_error *err;

	xe_view_init(&view, cls->desc);
	if ((err = xe_param_need(o, "uuid", &uuid)) ||
	    (err = fetch_one(conn, cls, uuid, &rec)))
		goto out;
	xe_obj_record(&view, rec, "all", NULL, refs, &r);
	xe_layout_record(&r, out);
	xe_record_release(&r);
out:
	free_one(cls, rec);
	xe_view_release(&view);
	xe_refs_free(refs);
	return err;
}
