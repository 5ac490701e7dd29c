/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd's calls to xbt-opsd, its backend for the storage steps of the VM
 * lifecycle (doc/opsd.md); ops_proc.c keeps the process running.
 *
 * ops_run is upstream's success_task (ocaml/xapi/xapi_xenops.ml): send
 * the work, wait for the task through UPDATES.get, read it with
 * TASK.stat, and always TASK.destroy it. A Failed task's error is relayed
 * with its code and params, opsd's backtrace glued in front of xbtd's
 * frames; a backtrace that cannot be read is logged and never replaces
 * the error (the lesson of xenopsd#526).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "child.h"
#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/xenops.h"
#include "xbtd.h"

/* A call to opsd fails after --opsd-timeout; one TASK.wait asks for half
 * of it, so that a wait always answers in time. */
#define OPS_WAIT_S (xbtd_conf.opsd_timeout_s / 2)
#define OPS_CALL_TIMEOUT_MS (xbtd_conf.opsd_timeout_s * 1000)

/* Operations in flight, for task.cancel: XenAPI task -> opsd task. */
struct ops_link {
	LIST_ENTRY(ops_link) link;
	char *xapi_task;
	char *opsd_task;
};
static LIST_HEAD(, ops_link) ops_links = LIST_HEAD_INITIALIZER(ops_links);
static pthread_mutex_t ops_links_lock = PTHREAD_MUTEX_INITIALIZER;
/* Stopping, past the grace: every operation is cancelled (ops_cancel_all). */
static atomic_bool ops_all_cancelled;


/*
 * A call to opsd that failed (not its task: that is ops_failure), as the one
 * error xbtd raises for it, INTERNAL_ERROR ["xbt-opsd: ..."]: opsd out of
 * reach or not speaking HTTP ("<why>: <socket>"), an error of the call
 * itself ("<method> failed: CODE [params]"), a reply of the wrong shape
 * ("<method>: unexpected reply: ..."). Nothing of opsd's interface reaches
 * the client as if it were the client's own mistake.
 */
static xbt_error *ops_call_failed(xbt_error *err, const char *method,
				  bool reply)
{
	xbt_buf msg = XBT_BUF_INIT;

	if (!err)
		goto out;
	if (strcmp(err->code, XBT_CLIENT_CONNECT_FAILED) == 0 ||
	    strcmp(err->code, XBT_CLIENT_PROTOCOL_ERROR) == 0) {
		xbt_buf_addf(&msg, "xbt-opsd: %s: %s",
			     err->nparams > 1 ? err->params[1] : err->code,
			     ops_socket_path());
	} else {
		char *summary = xbt_error_summary(err);
		xbt_buf_addf(&msg, "xbt-opsd: %s%s: %s", method,
			     reply ? ": unexpected reply" : " failed", summary);
		free(summary);
	}
	err = XBT_RERAISE_INTERNAL_ERROR(err, msg.buf);
out:
	xbt_buf_release(&msg);
	return err;
}

/*
 * Idle connections to opsd, kept for the next operation: a new one costs
 * opsd a thread (Abyss runs one per connection) and a connect. One that
 * died with its opsd is noticed by libcurl, which connects again.
 */
#define OPS_POOL_MAX 16
static pthread_mutex_t ops_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static xbt_client *ops_pool[OPS_POOL_MAX];
static size_t ops_pool_n;

/* A client of opsd, once one serves: an idle one, else a new one. */
static xbt_error *ops_client(xbt_client **c)
{
	xbt_error *err = XBT_PROPAGATE(ops_ensure());

	*c = NULL;
	if (err)
		goto out;
	pthread_mutex_lock(&ops_pool_lock);
	if (ops_pool_n)
		*c = ops_pool[--ops_pool_n];
	pthread_mutex_unlock(&ops_pool_lock);
	if (!*c)
		err = ops_call_failed(xbt_client_open(ops_url(),
						      OPS_CALL_TIMEOUT_MS, c),
				      "connect", false);
out:
	return err;
}

/* Gives a client back: kept when its last exchange went well. */
static void ops_client_done(xbt_client *c, bool healthy)
{
	if (!c)
		return;
	pthread_mutex_lock(&ops_pool_lock);
	if (healthy && ops_pool_n < OPS_POOL_MAX) {
		ops_pool[ops_pool_n++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&ops_pool_lock);
	if (c)
		xbt_client_close(c);
}

void ops_pool_drain(void)
{
	pthread_mutex_lock(&ops_pool_lock);
	while (ops_pool_n)
		xbt_client_close(ops_pool[--ops_pool_n]);
	pthread_mutex_unlock(&ops_pool_lock);
}

/* ---- cancel ------------------------------------------------------------------- */

static void ops_link_add(const char *xapi_task, const char *opsd_task)
{
	struct ops_link *l = xbt_calloc(1, sizeof(*l));

	l->xapi_task = xbt_strdup(xapi_task);
	l->opsd_task = xbt_strdup(opsd_task);
	pthread_mutex_lock(&ops_links_lock);
	LIST_INSERT_HEAD(&ops_links, l, link);
	pthread_mutex_unlock(&ops_links_lock);
}

static void ops_link_del(const char *xapi_task)
{
	struct ops_link *l;

	pthread_mutex_lock(&ops_links_lock);
	LIST_FOREACH(l, &ops_links, link)
		if (strcmp(l->xapi_task, xapi_task) == 0)
			break;
	if (l)
		LIST_REMOVE(l, link);
	pthread_mutex_unlock(&ops_links_lock);
	if (l) {
		free(l->xapi_task);
		free(l->opsd_task);
		free(l);
	}
}

/* Sends TASK.cancel; a task that has ended or gone is no error here. */
static void ops_send_cancel(const char *dbg, const char *opsd_task)
{
	xbt_client *c = NULL;
	xmlrpc_value *r = NULL;
	xbt_error *err = XBT_PROPAGATE(ops_client(&c));
	bool healthy;

	if (!err)
		err = XBT_PROPAGATE(xops_task_cancel(c, dbg, opsd_task, &r));
	healthy = !err;
	if (err) {
		log_backtrace(LOG_LEVEL_WARN, "cancel in xbt-opsd", err);
		xbt_error_free(err);
	}
	if (r)
		xmlrpc_DECREF(r);
	ops_client_done(c, healthy);
}

void ops_cancel(const char *xapi_task)
{
	struct ops_link *l;
	char *id = NULL;

	pthread_mutex_lock(&ops_links_lock);
	LIST_FOREACH(l, &ops_links, link)
		if (strcmp(l->xapi_task, xapi_task) == 0)
			id = xbt_strdup(l->opsd_task);
	pthread_mutex_unlock(&ops_links_lock);
	if (id)
		ops_send_cancel(xapi_task, id);
	free(id);
}

void ops_cancel_all(void)
{
	struct ops_link *l;
	xbt_strv dbgs = { 0 }, ids = { 0 };

	atomic_store(&ops_all_cancelled, true);
	pthread_mutex_lock(&ops_links_lock);
	LIST_FOREACH(l, &ops_links, link) {
		xbt_strv_add(&dbgs, l->xapi_task);
		xbt_strv_add(&ids, l->opsd_task);
	}
	pthread_mutex_unlock(&ops_links_lock);
	for (size_t i = 0; i < ids.n; i++)
		ops_send_cancel(dbgs.v[i], ids.v[i]);
	xbt_strv_clear(&dbgs);
	xbt_strv_clear(&ids);
}

/* ---- running an operation ------------------------------------------------------- */

/* Reads a record-valued result into rec (initialised by the caller). */
static xbt_error *ops_read(const xbt_class_desc *c, xmlrpc_value *v,
			   void *rec)
{
	return XBT_PROPAGATE(xbt_record_from_value(c, v, rec));
}

/*
 * Waits until task id has ended (*t gets its record), forwarding its
 * progress: TASK.wait returns at the end, or on progress once the task has
 * run a while, so a short operation costs one call.
 */
static xbt_error *ops_wait(xbt_client *c, const char *dbg, const char *id,
			   const char *xapi_task, struct xops_task_record *t)
{
	double seen = 0.0;
	xbt_error *err = NULL;

	for (;;) {
		xmlrpc_value *v = NULL;

		err = ops_call_failed(xops_task_wait(c, dbg, id, seen,
						     OPS_WAIT_S, &v),
				      "TASK.wait", false);
		if (!err) {
			xbt_record_release(&xops_class_task, t);
			xbt_record_init(&xops_class_task, t);
			err = ops_call_failed(ops_read(&xops_class_task, v, t),
					      "TASK.wait", true);
		}
		if (v)
			xmlrpc_DECREF(v);
		if (err || t->state != XOPS_TASK_STATE_PENDING)
			break;
		if (xapi_task && t->progress != seen)
			task_progress(xapi_task, t->progress);
		seen = t->progress;
	}
	return err;
}

xbt_error *ops_run(const struct ops_op *op)
{
	struct xops_task_record t;
	xbt_client *c = NULL;
	xmlrpc_value *disks = xbt_value_array(), *v = NULL;
	char *id = NULL;
	xbt_error *err, *failed = NULL;

	xbt_record_init(&xops_class_task, &t);
	for (size_t i = 0; i < op->ndisks; i++)
		xbt_value_push(disks, xbt_record_to_value(&xops_class_disk,
							  &op->disks[i]));
	if (atomic_load(&ops_all_cancelled) && op->kind != OPS_DESTROY) {
		err = XBT_RAISE_TASK_CANCELLED(op->dbg);
		goto out;
	}
	if ((err = XBT_PROPAGATE(ops_client(&c))))
		goto out;
	switch (op->kind) {
	case OPS_START:
		err = ops_call_failed(xops_vm_start(c, op->dbg, op->vm,
						    op->session_ref, disks, &v),
				      "VM.start", false);
		break;
	case OPS_SHUTDOWN:
		err = ops_call_failed(xops_vm_shutdown(c, op->dbg, op->vm,
						       op->session_ref, disks,
						       op->hard, &v),
				      "VM.shutdown", false);
		break;
	case OPS_DESTROY:
		err = ops_call_failed(xops_vm_destroy(c, op->dbg, op->vm, &v),
				      "VM.destroy", false);
		break;
	}
	if (!err && !(id = xbt_value_text(v, NULL)))
		err = XBT_RAISE_INTERNAL_ERROR("xbt-opsd: task id is not a string");
	if (err)
		goto out;
	/* A synchronous operation is linked by its dbg, for ops_cancel_all. */
	ops_link_add(op->xapi_task ? op->xapi_task : op->dbg, id);
	/* A cancel that came before the link was made. */
	if ((op->xapi_task && task_cancelling(op->xapi_task)) ||
	    atomic_load(&ops_all_cancelled))
		ops_send_cancel(op->dbg, id);
	err = XBT_PROPAGATE(ops_wait(c, op->dbg, id, op->xapi_task, &t));
	ops_link_del(op->xapi_task ? op->xapi_task : op->dbg);
	if (!err && t.state == XOPS_TASK_STATE_FAILED)
		failed = XBT_PROPAGATE(relay_task_failure(&t.error, t.backtrace,
							   "xbt-opsd"));
	{
		/* Always, as upstream's success_task does. */
		xmlrpc_value *r = NULL;
		xbt_error *derr = xops_task_destroy(c, op->dbg, id, &r);
		if (derr) {
			log_backtrace(LOG_LEVEL_WARN, "TASK.destroy in xbt-opsd",
				      derr);
			xbt_error_free(derr);
		}
		if (r)
			xmlrpc_DECREF(r);
	}
out:
	/* A failed task is opsd's answer; a failed call may have broken
	 * the connection. */
	ops_client_done(c, !err);
	if (!err)
		err = failed;
	else
		xbt_error_free(failed);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_DECREF(disks);
	xbt_record_release(&xops_class_task, &t);
	free(id);
	return err;
}

/* ---- resync ------------------------------------------------------------------------ */

static xbt_error *ops_list(xbt_strv *running, xbt_strv *known);

xbt_error *ops_running(xbt_strv *running)
{
	xbt_strv known = { 0 };
	xbt_error *err = XBT_PROPAGATE(ops_list(running, &known));

	xbt_strv_clear(&known);
	return err;
}

/* opsd's VMs: uuids (caller frees) of the running ones and of all. */
static xbt_error *ops_list(xbt_strv *running, xbt_strv *known)
{
	xbt_client *c = NULL;
	xmlrpc_value *v = NULL;
	xbt_error *err = XBT_PROPAGATE(ops_client(&c));
	size_t n;

	if (!err)
		err = ops_call_failed(xops_vm_list(c, "resync", &v), "VM.list",
				      false);
	if (!err && xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
		err = XBT_RAISE_INTERNAL_ERROR("xbt-opsd: VM.list: not a list");
	n = err ? 0 : xbt_value_size(v);
	for (size_t i = 0; i < n && !err; i++) {
		xmlrpc_value *item = xbt_value_item(v, i);
		struct xops_vm_record r;
		xbt_record_init(&xops_class_vm, &r);
		err = ops_call_failed(ops_read(&xops_class_vm, item, &r),
				      "VM.list", true);
		if (!err) {
			xbt_strv_add(known, r.uuid);
			if (r.state == XOPS_VM_STATE_RUNNING)
				xbt_strv_add(running, r.uuid);
		}
		xbt_record_release(&xops_class_vm, &r);
		xmlrpc_DECREF(item);
	}
	if (v)
		xmlrpc_DECREF(v);
	ops_client_done(c, !err);
	return err;
}

void ops_resync(void)
{
	xbt_strv running = { 0 }, known = { 0 }, destroy = { 0 };
	xbt_error *err = NULL;

	/* A slave keeps no VMs: what its opsd runs is the master's to
	 * know (doc/pools.md), and a master that is down leaves them be. */
	if (role_is_slave())
		goto out;
	err = XBT_PROPAGATE(ops_list(&running, &known));
	if (err) {
		log_backtrace(LOG_LEVEL_WARN, "resync with xbt-opsd: VM.list",
			      err);
		xbt_error_free(err);
		goto out;
	}
	vm_resync(&running, &known, &destroy);
	for (size_t i = 0; i < destroy.n; i++) {
		struct ops_op op = { .kind = OPS_DESTROY, .dbg = "resync",
				     .vm = destroy.v[i] };
		log_info("resync: VM %s runs in xbt-opsd but not here: "
			 "destroying it there", destroy.v[i]);
		if ((err = XBT_PROPAGATE(ops_run(&op)))) {
			log_backtrace(LOG_LEVEL_WARN, "resync: VM.destroy", err);
			xbt_error_free(err);
		}
	}
out:
	xbt_strv_clear(&running);
	xbt_strv_clear(&known);
	xbt_strv_clear(&destroy);
}
