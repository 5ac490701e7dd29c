/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Forwarding (doc/pools.md, "Forwarding"): the master has the host an
 * operation belongs to run it, as xapi's message_forwarding.ml does. The
 * master checks the host is live (HOST_OFFLINE before anything is sent),
 * logs in to it with the pool secret, sends the intra-pool Async message
 * with everything the host needs (a slave keeps no copy of the pool's
 * objects), and waits for the host's task. A failed task is relayed with
 * its code and params unchanged and its backtrace glued in front of the
 * master's frames (relay.c, as for xbt-opsd's tasks). A connection that fails or is
 * lost is CANNOT_CONTACT_HOST [host].
 *
 * The slave's side, host.run_vm_storage, is here too; host.run_sr_storage
 * is pbd.c's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenops.h"
#include "xbtd.h"

/* Every call to a slave answers within FWD_EVENT_WAIT_S (an Async call, a
 * task's state, one event.from), so a slave that stops answering is found
 * out within the call limit. */
#define FWD_CALL_TIMEOUT_MS 4000
#define FWD_EVENT_WAIT_S 0.25    /* also how soon a cancel is passed on */

/* ---- the master's side ------------------------------------------------------ */

struct fwd_conn {
	const char *host;        /* the host's ref */
	xbt_client *c;
	char *session;           /* a pool session on it */
};

/* The client's failures as CANNOT_CONTACT_HOST [host]; XenAPI ones kept. */
static xbt_error *fwd_lost(xbt_error *err, const char *host)
{
	if (err && (strcmp(err->code, XBT_CLIENT_CONNECT_FAILED) == 0 ||
		    strcmp(err->code, XBT_CLIENT_PROTOCOL_ERROR) == 0))
		err = XBT_RERAISE_CANNOT_CONTACT_HOST(err, host);
	return err;
}

/* Logs in to the host (live, else HOST_OFFLINE) with the pool secret. */
static xbt_error *fwd_open(struct fwd_conn *f)
{
	const struct xbt_host_record *h;
	const struct xbt_host_metrics_record *m;
	char *address = NULL;
	xmlrpc_value *v = NULL;
	xbt_error *err = NULL;

	store_lock();
	h = store_get(&xbt_class_host, f->host);
	m = h ? store_get(&xbt_class_host_metrics, h->metrics) : NULL;
	if (!h)
		err = XBT_RAISE_HANDLE_INVALID("host", f->host);
	else if (!m || !m->live || !h->address[0])
		err = XBT_RAISE_HOST_OFFLINE(f->host);
	else
		address = xbt_strdup(h->address);
	store_unlock();
	if (!err)
		err = fwd_lost(pool_client_open(address, FWD_CALL_TIMEOUT_MS,
						&f->c), f->host);
	if (!err)
		err = fwd_lost(xbt_session_slave_login(f->c, host_self(),
						       role_secret(), &v),
			       f->host);
	if (!err && !(f->session = xbt_value_take_text(v)))
		err = XBT_RAISE_CANNOT_CONTACT_HOST(f->host);
	else if (err && v)
		xmlrpc_DECREF(v);
	free(address);
	return err;
}

static void fwd_close(struct fwd_conn *f)
{
	if (f->c && f->session) {
		xmlrpc_value *v = NULL;
		xbt_error_free(xbt_session_logout(f->c, f->session, &v));
		if (v)
			xmlrpc_DECREF(v);
	}
	if (f->c)
		xbt_client_close(f->c);
	free(f->session);
}

/* The slave's failed task: its error_info and backtrace, relayed. */
static xbt_error *fwd_task_failure(struct fwd_conn *f, const char *task,
				   const char *master_task)
{
	xmlrpc_value *info = NULL, *bt = NULL;
	xbt_strv error = { 0 };
	char *sexp = NULL;
	xbt_error *err;

	err = fwd_lost(xbt_task_get_error_info(f->c, f->session, task, &info),
		       f->host);
	if (!err)
		err = fwd_lost(xbt_task_get_backtrace(f->c, f->session, task,
						      &bt), f->host);
	if (err)
		goto out;
	for (size_t i = 0; i < xbt_value_size(info); i++) {
		char *s = xbt_value_take_text(xbt_value_item(info, i));
		xbt_strv_add(&error, s ? s : "");
		free(s);
	}
	sexp = xbt_value_take_text(bt);
	bt = NULL;
	/* A cancelled task names the master's task, as its own would. */
	if (master_task && error.n == 2 &&
	    strcmp(error.v[0], XBT_ERR_TASK_CANCELLED) == 0) {
		free(error.v[1]);
		error.v[1] = xbt_strdup(master_task);
	}
	err = XBT_PROPAGATE(relay_task_failure(&error, sexp ? sexp : "",
					       "the slave"));
out:
	if (info)
		xmlrpc_DECREF(info);
	if (bt)
		xmlrpc_DECREF(bt);
	xbt_strv_clear(&error);
	free(sexp);
	return err;
}

/*
 * From one event.from reply on the slave: the token for the next call and
 * whether the task has ended (its snapshot's status is no longer pending
 * or cancelling; a task that is gone has ended too).
 */
static bool fwd_task_ended(xmlrpc_value *reply, char **token)
{
	xmlrpc_value *events = xbt_value_get(reply, "events");
	xmlrpc_value *t = xbt_value_get(reply, "token");
	bool ended = false;

	free(*token);
	*token = t ? xbt_value_text(t, NULL) : NULL;
	for (size_t i = 0; events && i < xbt_value_size(events); i++) {
		xmlrpc_value *e = xbt_value_item(events, i);
		xmlrpc_value *op = xbt_value_get(e, "operation");
		xmlrpc_value *snap = xbt_value_get(e, "snapshot");
		xmlrpc_value *st = snap ? xbt_value_get(snap, "status") : NULL;
		char *ops = op ? xbt_value_text(op, NULL) : NULL;
		char *status = st ? xbt_value_text(st, NULL) : NULL;

		if (ops && strcmp(ops, "del") == 0)
			ended = true;
		else if (status && strcmp(status, "pending") != 0 &&
			 strcmp(status, "cancelling") != 0)
			ended = true;
		free(ops);
		free(status);
		if (st)
			xmlrpc_DECREF(st);
		if (snap)
			xmlrpc_DECREF(snap);
		if (op)
			xmlrpc_DECREF(op);
		xmlrpc_DECREF(e);
	}
	if (events)
		xmlrpc_DECREF(events);
	if (t)
		xmlrpc_DECREF(t);
	return ended;
}

/*
 * Waits for the slave's task with event.from on it, as a XenAPI client
 * would (a poll would add its sleeps to every operation), passing the
 * master task's cancel on; then its failure, relayed, or NULL. The task
 * is destroyed either way.
 */
static xbt_error *fwd_wait(struct fwd_conn *f, const char *task,
			   const char *master_task)
{
	xbt_strv classes = { 0 };
	bool cancel_sent = false, ended = false;
	char *token = xbt_strdup(""), *status = NULL;
	char sub[128];
	xbt_error *err = NULL;

	snprintf(sub, sizeof(sub), "task/%s", task);
	xbt_strv_add(&classes, sub);
	while (!ended && !err) {
		xmlrpc_value *v = NULL;

		if (master_task && !cancel_sent && task_cancelling(master_task)) {
			/* It may have ended meanwhile: the status says. */
			xbt_error_free(xbt_task_cancel(f->c, f->session, task,
						       &v));
			if (v)
				xmlrpc_DECREF(v);
			v = NULL;
			cancel_sent = true;
		}
		err = fwd_lost(xbt_event_from(f->c, f->session, &classes,
					      token ? token : "",
					      FWD_EVENT_WAIT_S, &v), f->host);
		if (!err)
			ended = fwd_task_ended(v, &token);
		if (v)
			xmlrpc_DECREF(v);
	}
	if (!err) {
		xmlrpc_value *v = NULL;
		err = fwd_lost(xbt_task_get_status(f->c, f->session, task, &v),
			       f->host);
		status = err ? NULL : xbt_value_take_text(v);
	}
	if (!err && (!status || strcmp(status, "success") != 0))
		err = XBT_PROPAGATE(fwd_task_failure(f, task, master_task));
	if (!err || strcmp(err->code, XBT_ERR_CANNOT_CONTACT_HOST) != 0) {
		xmlrpc_value *v = NULL;
		xbt_error_free(xbt_task_destroy(f->c, f->session, task, &v));
		if (v)
			xmlrpc_DECREF(v);
	}
	xbt_strv_clear(&classes);
	free(token);
	free(status);
	return err;
}

static const char *fwd_op_name(const struct ops_op *op)
{
	if (op->kind == OPS_START)
		return "start";
	return op->hard ? "hard_shutdown" : "clean_shutdown";
}

xbt_error *fwd_vm_storage(const char *host, const struct ops_op *op)
{
	struct fwd_conn f = { .host = host };
	xmlrpc_value *disks = xbt_value_array(), *v = NULL;
	xbt_buf json = XBT_BUF_INIT;
	char *task = NULL;
	xbt_error *err;

	for (size_t i = 0; i < op->ndisks; i++)
		xbt_value_push(disks, xbt_record_to_value(&xops_class_disk,
							  &op->disks[i]));
	xbt_wire_json_value(&json, disks);
	if ((err = XBT_PROPAGATE(fwd_open(&f))))
		goto out;
	err = fwd_lost(xbt_async_host_run_vm_storage(f.c, f.session, host,
						     fwd_op_name(op), op->vm,
						     op->dbg, json.buf, &v),
		       host);
	if (!err && !(task = xbt_value_take_text(v)))
		err = XBT_RAISE_CANNOT_CONTACT_HOST(host);
	else if (err && v)
		xmlrpc_DECREF(v);
	if (!err)
		err = XBT_PROPAGATE(fwd_wait(&f, task, op->xapi_task));
out:
	fwd_close(&f);
	free(task);
	xbt_buf_release(&json);
	xmlrpc_DECREF(disks);
	return err;
}

xbt_error *fwd_sr_storage(const char *host, bool plug, const char *sr,
			  const char *sr_uuid, const char *sr_type,
			  const xbt_map *device_config, const char *master_task)
{
	struct fwd_conn f = { .host = host };
	xmlrpc_value *v = NULL;
	char *task = NULL;
	xbt_error *err;

	if ((err = XBT_PROPAGATE(fwd_open(&f))))
		goto out;
	err = fwd_lost(xbt_async_host_run_sr_storage(f.c, f.session, host,
						     plug, sr, sr_uuid,
						     sr_type, device_config,
						     &v), host);
	if (!err && !(task = xbt_value_take_text(v)))
		err = XBT_RAISE_CANNOT_CONTACT_HOST(host);
	else if (err && v)
		xmlrpc_DECREF(v);
	if (!err)
		err = XBT_PROPAGATE(fwd_wait(&f, task, master_task));
out:
	fwd_close(&f);
	free(task);
	return err;
}

void fwd_resync_host(const char *host)
{
	struct fwd_conn f = { .host = host };
	xmlrpc_value *v = NULL;
	xbt_strv running = { 0 };
	unsigned long generation = vm_ops_generation();
	xbt_error *err = XBT_PROPAGATE(fwd_open(&f));

	if (!err)
		err = fwd_lost(xbt_host_running_vms(f.c, f.session, host, &v),
			       host);
	for (size_t i = 0; !err && i < xbt_value_size(v); i++) {
		char *uuid = xbt_value_take_text(xbt_value_item(v, i));
		if (uuid)
			xbt_strv_add(&running, uuid);
		free(uuid);
	}
	if (!err)
		vm_resync_host(host, &running, generation);
	else
		log_backtrace(LOG_LEVEL_WARN, "resync with a slave", err);
	xbt_error_free(err);
	if (v)
		xmlrpc_DECREF(v);
	xbt_strv_clear(&running);
	fwd_close(&f);
}

/* ---- the slave's side ------------------------------------------------------- */

xbt_error *host_running_vms(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	xbt_strv running = { 0 };
	xbt_error *err = NULL;

	if (strcmp(call->argv[0].s, host_self()) != 0)
		err = XBT_RAISE_HANDLE_INVALID("host", call->argv[0].s);
	else if (xbtd_conf.storage_in_process)
		*result = xbt_value_array(); /* no opsd: nothing runs */
	else
		err = XBT_PROPAGATE(ops_running(&running));
	if (!err && !*result) {
		*result = xbt_value_array();
		for (size_t i = 0; i < running.n; i++)
			xbt_value_push(*result, xbt_value_string(running.v[i]));
	}
	xbt_strv_clear(&running);
	return err;
}


/* The disks the master sent: a JSON array of xbt-opsd disk records. */
static xbt_error *fwd_read_disks(const char *json, struct xops_disk_record **out,
				 size_t *n)
{
	xmlrpc_value *all = NULL;
	xbt_error *err;

	*out = NULL;
	*n = 0;
	err = XBT_PROPAGATE(xbt_json_parse(json, strlen(json), 8, &all));
	if (!err && xmlrpc_value_type(all) != XMLRPC_TYPE_ARRAY)
		err = XBT_RAISE_INTERNAL_ERROR("run_vm_storage: disks is not "
					       "an array");
	if (!err) {
		size_t count = xbt_value_size(all);
		*out = xbt_calloc(count ? count : 1, sizeof(**out));
		for (size_t i = 0; i < count && !err; i++) {
			xmlrpc_value *d = xbt_value_item(all, i);
			xbt_record_init(&xops_class_disk, &(*out)[i]);
			*n = i + 1;
			err = XBT_PROPAGATE(xbt_record_from_value(
				&xops_class_disk, d, &(*out)[i]));
			xmlrpc_DECREF(d);
		}
	}
	if (all)
		xmlrpc_DECREF(all);
	return err;
}

xbt_error *host_run_vm_storage(struct call *call, xmlrpc_value *const *args,
			       xmlrpc_value **result)
{
	const char *operation = call->argv[1].s;
	struct ops_op o = {
		.dbg = call->argv[3].s,
		.xapi_task = call->task,
		.vm = call->argv[2].s,
	};
	struct xops_disk_record *disks = NULL;
	size_t ndisks = 0;
	char *session = NULL;
	xbt_error *err = NULL;

	if (strcmp(call->argv[0].s, host_self()) != 0)
		err = XBT_RAISE_HANDLE_INVALID("host", call->argv[0].s);
	else if (strcmp(operation, "start") == 0)
		o.kind = OPS_START;
	else if (strcmp(operation, "clean_shutdown") == 0)
		o.kind = OPS_SHUTDOWN;
	else if (strcmp(operation, "hard_shutdown") == 0)
		o.kind = OPS_SHUTDOWN, o.hard = true;
	else
		err = XBT_RAISE_INTERNAL_ERROR("run_vm_storage: unknown "
					       "operation");
	if (!err)
		err = XBT_PROPAGATE(fwd_read_disks(call->argv[4].s, &disks,
						   &ndisks));
	if (err)
		goto out;
	session = session_open_internal("root", "SM");
	o.session_ref = session;
	o.disks = disks;
	o.ndisks = ndisks;
	if (xbtd_conf.storage_in_process)
		err = XBT_PROPAGATE(vm_local_run(&o)); /* measuring the split */
	else
		err = XBT_PROPAGATE(ops_run(&o));
out:
	if (session) {
		store_lock();
		session_destroy(session);
		store_unlock();
		free(session);
	}
	for (size_t i = 0; i < ndisks; i++)
		xbt_record_release(&xops_class_disk, &disks[i]);
	free(disks);
	return err;
}
