/* SPDX-License-Identifier: BSD-2-Clause */
/* task-cancel and task-destroy (task-list and task-param-get are generic). */
#include "config.h"

#include <stdlib.h>

#include "xbt/client.h"
#include "xbt/xenapi.h"
#include "xe.h"

typedef xbt_error *(*task_fn)(xbt_client *c, const char *session,
			      const char *task, xmlrpc_value **result);

static xbt_error *on_task(struct xe_opts *o, struct xe_conn *conn,
			  task_fn fn)
{
	const char *uuid;
	char *ref = NULL;
	xmlrpc_value *v = NULL;
	xbt_error *err;

	if ((err = xe_param_need(o, "uuid", &uuid)) ||
	    (err = xe_ref_by_uuid(conn, xe_class_find("task"), uuid, &ref)))
		goto out;
	err = fn(conn->c, conn->session, ref, &v);
out:
	if (v)
		xmlrpc_DECREF(v);
	free(ref);
	return err;
}

xbt_error *xe_cmd_task_cancel(const struct xe_cmd *cmd, struct xe_opts *o,
			      struct xe_conn *conn, xbt_buf *out)
{
	return on_task(o, conn, xbt_task_cancel);
}

xbt_error *xe_cmd_task_destroy(const struct xe_cmd *cmd, struct xe_opts *o,
			       struct xe_conn *conn, xbt_buf *out)
{
	return on_task(o, conn, xbt_task_destroy);
}
