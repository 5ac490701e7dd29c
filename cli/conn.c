/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xe's session with the server: connect, log in, wait for tasks, log out.
 * Calls go through libxbt's generated client stubs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xbt/client.h"
#include "xbt/xenapi.h"
#include "xe.h"

/* One call may take this long; VM operations run as tasks, so calls are
 * short and this only guards against a server that stopped answering. */
#define XE_CALL_TIMEOUT_MS 120000
/* Task polling: start fast (most tasks finish in milliseconds), back off. */
#define XE_POLL_FIRST_MS 5
#define XE_POLL_MAX_MS 200

static char *make_url(const char *server, unsigned port)
{
	xbt_buf b = XBT_BUF_INIT;
	bool v6 = strchr(server, ':') && server[0] != '[';

	xbt_buf_addf(&b, "http://%s%s%s:%u/", v6 ? "[" : "", server,
		     v6 ? "]" : "", port);
	return xbt_buf_detach(&b, NULL);
}

/* The string a call returned (refs, mostly); NULL when it is not one. */
static char *value_string(xmlrpc_value *v)
{
	return xbt_value_text(v, NULL);
}

static xbt_error *need_string(xmlrpc_value *v, const char *what, char **out)
{
	*out = value_string(v);
	return *out ? NULL
		    : XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, what,
				"expected a string");
}

xbt_error *xe_connect(const struct xe_opts *o, struct xe_conn *conn)
{
	xmlrpc_value *v = NULL;
	xbt_error *err;

	memset(conn, 0, sizeof(*conn));
	conn->url = make_url(o->server, o->port);
	err = xbt_client_open(conn->url, XE_CALL_TIMEOUT_MS, &conn->c);
	if (err)
		goto out;
	err = xbt_session_login_with_password(conn->c, o->user, o->password,
					      "1.0", "xe", &v);
	if (err)
		goto out;
	err = need_string(v, "session.login_with_password", &conn->session);
out:
	if (v)
		xmlrpc_DECREF(v);
	return err;
}

void xe_disconnect(struct xe_conn *conn)
{
	xmlrpc_value *v = NULL;

	if (conn->c && conn->session) {
		xbt_error_free(xbt_session_logout(conn->c, conn->session, &v));
		if (v)
			xmlrpc_DECREF(v);
	}
	if (conn->c)
		xbt_client_close(conn->c);
	free(conn->session);
	free(conn->url);
	memset(conn, 0, sizeof(*conn));
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The task's record; on success the caller releases *rec. */
static xbt_error *task_record(struct xe_conn *conn, const char *task,
			      struct xbt_task_record *rec)
{
	xmlrpc_value *v = NULL;
	xbt_error *err;

	xbt_record_init(&xbt_class_task, rec);
	err = xbt_task_get_record(conn->c, conn->session, task, &v);
	if (!err)
		err = xbt_record_from_value(&xbt_class_task, v, rec);
	if (err)
		xbt_record_release(&xbt_class_task, rec);
	if (v)
		xmlrpc_DECREF(v);
	return err;
}

/*
 * The task's error as an xbt_error whose frames are the task's backtrace,
 * one for one: the frame XBT_RAISE records here is replaced.
 */
static xbt_error *task_error(const char *task, struct xbt_task_record *t)
{
	xbt_error *err;
	xbt_error *bad;

	if (t->error_info.n == 0) {
		xbt_buf msg = XBT_BUF_INIT;
		xbt_buf_addf(&msg, "Task failed but no error recorded: %s",
			     task);
		err = XBT_RAISE(XE_ERR_FAILURE, msg.buf);
		xbt_buf_release(&msg);
	} else {
		err = xbt_error_raisev(XBT_HERE, t->error_info.v[0],
				       t->error_info.n - 1,
				       (const char *const *)t->error_info.v + 1);
	}
	xbt_backtrace_release(&err->bt);
	bad = xbt_backtrace_from_sexp(t->backtrace, strlen(t->backtrace),
				      &err->bt);
	if (bad) {
		/* The primary error stands; say why its trace is missing. */
		char *why = xbt_error_summary(bad);
		fprintf(stderr, "xe: the task's backtrace is unreadable: %s\n",
			why);
		free(why);
		xbt_error_free(bad);
	}
	return err;
}

xbt_error *xe_wait_task(struct xe_conn *conn, const char *task)
{
	struct xbt_task_record t;
	unsigned delay = XE_POLL_FIRST_MS;
	xmlrpc_value *v = NULL;
	xbt_error *err;

	for (;;) {
		err = task_record(conn, task, &t);
		if (err)
			goto out;
		if (t.status != XBT_TASK_STATUS_TYPE_PENDING &&
		    t.status != XBT_TASK_STATUS_TYPE_CANCELLING)
			break;
		xbt_record_release(&xbt_class_task, &t);
		sleep_ms(delay);
		delay = delay * 2 > XE_POLL_MAX_MS ? XE_POLL_MAX_MS : delay * 2;
	}
	if (t.status == XBT_TASK_STATUS_TYPE_CANCELLED)
		err = XBT_RAISE(XBT_ERR_TASK_CANCELLED, task);
	else if (t.status == XBT_TASK_STATUS_TYPE_FAILURE)
		err = task_error(task, &t);
	xbt_record_release(&xbt_class_task, &t);
	/* As upstream's CLI: the task was ours, it goes once read. */
	xbt_error_free(xbt_task_destroy(conn->c, conn->session, task, &v));
	if (v)
		xmlrpc_DECREF(v);
out:
	return err;
}
