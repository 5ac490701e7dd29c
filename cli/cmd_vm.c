/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VM operations. As upstream's xe, VMs are selected by vm=<name or uuid>
 * and field filters; templates and control domains are never selected; an
 * operation on more than one VM needs --multiple. Each operation runs as an
 * Async call and its task, so errors and backtraces come from the task.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "xbt/client.h"
#include "xbt/xenapi.h"
#include "xe.h"

struct vm_ctx {
	const struct xe_view *view;
	const char *vm;   /* name or uuid */
	struct xe_refs *refs;
};

static bool col_is(const struct xe_view *view, const char *col,
		   const struct xe_obj *o, const char *value,
		   struct xe_refs *refs)
{
	const struct xe_col *c = xe_view_col(view, col);
	char *v;
	bool result;

	if (!c)
		return false;
	v = xe_col_value(c, o->rec, refs);
	result = strcmp(v, value) == 0;
	free(v);
	return result;
}

static bool named(const struct xe_obj *o, const void *ctx)
{
	const struct vm_ctx *c = ctx;

	return col_is(c->view, "uuid", o, c->vm, c->refs) ||
	       col_is(c->view, "name-label", o, c->vm, c->refs);
}

/* The operation on one VM: returns its error, if any. */
typedef xbt_error *(*vm_op)(struct xe_conn *conn, const char *ref,
			    const struct xe_opts *o);

/* Runs an Async call's task to its end. */
static xbt_error *run_task(struct xe_conn *conn, xbt_error *err,
			   xmlrpc_value *v)
{
	char *task;

	if (err)
		goto out;
	task = xbt_value_text(v, NULL);
	if (!task)
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, conn->url,
				"an Async call did not return a task");
	else
		err = xe_wait_task(conn, task);
	free(task);
out:
	if (v)
		xmlrpc_DECREF(v);
	return err;
}

static xbt_error *op_start(struct xe_conn *conn, const char *ref,
			   const struct xe_opts *o)
{
	xmlrpc_value *v = NULL;
	bool paused, force;
	xbt_error *err;

	if (!(err = xe_param_bool(o, "paused", false, &paused)) &&
	    !(err = xe_param_bool(o, "force", false, &force)))
		err = xbt_async_vm_start(conn->c, conn->session, ref, paused,
					 force, &v);
	return run_task(conn, err, v);
}

static xbt_error *op_shutdown(struct xe_conn *conn, const char *ref,
			      const struct xe_opts *o)
{
	xmlrpc_value *v = NULL;
	bool force;
	xbt_error *err;

	err = xe_param_bool(o, "force", false, &force);
	if (!err && force)
		err = xbt_async_vm_hard_shutdown(conn->c, conn->session, ref,
						 &v);
	else if (!err)
		err = xbt_async_vm_clean_shutdown(conn->c, conn->session, ref,
						  &v);
	return run_task(conn, err, v);
}

/* Upstream's one-line form of an error: "CODE: [ p1; p2 ]". */
static void add_failure(xbt_buf *out, const char *uuid, const xbt_error *e)
{
	xbt_buf_addf(out, "operation failed on %s: ", uuid);
	xbt_buf_add_safe(out, e->code, strlen(e->code));
	xbt_buf_addstr(out, ": [ ");
	for (size_t i = 0; i < e->nparams; i++) {
		if (i)
			xbt_buf_addstr(out, "; ");
		xbt_buf_add_safe(out, e->params[i], strlen(e->params[i]));
	}
	xbt_buf_addstr(out, " ]\n");
}

static xbt_error *do_vm_op(struct xe_opts *o, struct xe_conn *conn,
			   const char *const *ignore, vm_op op, xbt_buf *out)
{
	const struct xe_class *cls = xe_class_find("vm");
	struct xe_refs *refs = xe_refs_new(conn);
	struct vm_ctx ctx = { NULL, xe_param(o, "vm"), refs };
	const struct xe_col *uuid_col;
	struct xe_objs objs = { NULL, NULL, 0 };
	struct xe_view view;
	bool multiple;
	size_t failed = 0;
	xbt_error *err;

	xe_view_init(&view, cls->desc);
	ctx.view = &view;
	uuid_col = xe_view_col(&view, "uuid");
	if ((err = xe_param_bool(o, "multiple", false, &multiple)) ||
	    (err = xe_objs_fetch(conn, cls, &objs)))
		goto out;
	xe_objs_keep(&objs, &view, "is-a-template", "false", refs);
	xe_objs_keep(&objs, &view, "is-control-domain", "false", refs);
	if (ctx.vm)
		xe_objs_retain(&objs, named, &ctx);
	if ((err = xe_objs_filter(&objs, &view, o, ignore, refs)))
		goto out;
	if (objs.n == 0) {
		err = XBT_RAISE(XE_ERR_FAILURE, "No matching VMs found");
		goto out;
	}
	if (objs.n > 1 && !multiple) {
		err = XBT_RAISE(XE_ERR_FAILURE, "Multiple matches VMs found. "
				"--multiple required to complete the operation");
		goto out;
	}
	if (objs.n == 1) {
		err = op(conn, objs.v[0].ref, o);
		goto out;
	}
	for (size_t i = 0; i < objs.n; i++) {
		xbt_error *one = op(conn, objs.v[i].ref, o);
		char *uuid;

		if (!one)
			continue;
		uuid = xe_col_value(uuid_col, objs.v[i].rec, refs);
		add_failure(out, uuid, one);
		free(uuid);
		xbt_error_free(one);
		failed++;
	}
	if (failed)
		err = XBT_RAISE(XE_ERR_REPORTED);
out:
	xe_objs_release(&objs);
	xe_view_release(&view);
	xe_refs_free(refs);
	return err;
}

xbt_error *xe_cmd_vm_start(const struct xe_cmd *cmd, struct xe_opts *o,
			   struct xe_conn *conn, xbt_buf *out)
{
	static const char *const ignore[] = { "vm", "paused", NULL };

	return do_vm_op(o, conn, ignore, op_start, out);
}

xbt_error *xe_cmd_vm_shutdown(const struct xe_cmd *cmd, struct xe_opts *o,
			      struct xe_conn *conn, xbt_buf *out)
{
	static const char *const ignore[] = { "vm", NULL };

	return do_vm_op(o, conn, ignore, op_shutdown, out);
}
