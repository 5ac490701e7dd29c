/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Dispatch: method name -> generated message descriptor -> arity, session
 * and type checks -> a hand-written handler (XBT_MSG_CUSTOM) or one of the
 * generic ones below (getters, setters, map edits, records, lookups).
 * Async.<message> runs the same call on the worker pool under a task.
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "xbt/wire.h"
#include "xbtd.h"

#define ASYNC_PREFIX "Async."

/* ---- generic handlers of implicit messages ------------------------------ */

/*
 * get_all, get_by_name_label and get_all_records read a view of the class
 * (store_view_take): the lock is held while the records are counted, not
 * while the answer is built. A quick call does not read more than
 * DISPATCH_QUICK_RECORDS of them on an event thread.
 */
#define DISPATCH_QUICK_RECORDS 512

/*
 * get_all_records written straight to the answer's text: no value tree
 * of every record (xmlrpc-c's struct finds each new member by a linear
 * search, which made big reads quadratic), the same bytes.
 */
static void write_records(const struct store_view *view, xbt_buf *out,
			  bool json)
{
	xbt_wire_struct_open(out, json);
	for (size_t i = 0; i < view->n; i++) {
		const char *ref = store_view_ref(view, i);

		xbt_wire_struct_key(out, json, ref, strlen(ref), i == 0);
		xbt_wire_record(out, json, view->c, store_view_rec(view, i));
		xbt_wire_struct_key_end(out, json);
	}
	xbt_wire_struct_close(out, json);
}

static xmlrpc_value *records_value(const struct store_view *view)
{
	xmlrpc_value *out = xbt_value_struct();

	for (size_t i = 0; i < view->n; i++)
		xbt_value_put(out, store_view_ref(view, i),
			      xbt_record_to_value(view->c,
						  store_view_rec(view, i)));
	return out;
}

/* The refs, of the objects named name_label when it is not NULL. */
static xmlrpc_value *refs_value(const struct store_view *view,
				const char *name_label)
{
	const xbt_field_desc *f = name_label ?
		xbt_field_find(view->c, "name_label") : NULL;
	xmlrpc_value *out = xbt_value_array();

	for (size_t i = 0; i < view->n; i++) {
		const char *rec = store_view_rec(view, i);

		if (f && strcmp(*(char *const *)(rec + f->offset),
				name_label) != 0)
			continue;
		xbt_value_push(out, xbt_value_string(store_view_ref(view, i)));
	}
	return out;
}

static void generic_read_all(struct call *call, bool held,
			     xmlrpc_value **result)
{
	const xbt_message_desc *m = call->msg;
	struct store_view view;
	xbt_buf *raw;

	if (!held)
		store_lock();
	if (held && store_count(m->cls) > DISPATCH_QUICK_RECORDS) {
		rpc_later(call);
		return;
	}
	store_view_take(m->cls, &view);
	if (!held)
		store_unlock();
	if (m->kind == XBT_MSG_GET_ALL)
		*result = refs_value(&view, NULL);
	else if (m->kind == XBT_MSG_GET_BY_NAME_LABEL)
		*result = refs_value(&view, call->argv[0].s);
	else if ((raw = rpc_raw_result(call)))
		write_records(&view, raw, rpc_answer_json(call));
	else
		*result = records_value(&view);
	store_view_release(&view);
}

static xbt_map *map_field(const xbt_field_desc *f, void *rec)
{
	return (xbt_map *)((char *)rec + f->offset);
}

static const xbt_map *map_field_c(const xbt_field_desc *f, const void *rec)
{
	return (const xbt_map *)((const char *)rec + f->offset);
}

static xbt_error *generic_call(struct call *call, xmlrpc_value **result)
{
	const xbt_message_desc *m = call->msg;
	const xbt_class_desc *c = m->cls;
	const xbt_field_desc *f = m->field >= 0 ? &c->fields[m->field] : NULL;
	const char *ref = call->argc ? call->argv[0].s : NULL;
	xbt_error *err = NULL;
	const void *rec = NULL;

	/* A quick call holds the store's lock already (dispatch_call). */
	bool held = rpc_must_not_block(call);

	if (m->kind == XBT_MSG_GET_ALL || m->kind == XBT_MSG_GET_BY_NAME_LABEL ||
	    m->kind == XBT_MSG_GET_ALL_RECORDS) {
		generic_read_all(call, held, result);
		return NULL;
	}
	if (!held)
		store_lock();
	switch (m->kind) {
	case XBT_MSG_GET_FIELD:
		if (!(err = XBT_PROPAGATE(store_need(c, ref, &rec))))
			*result = xbt_field_to_value(f, rec);
		break;
	case XBT_MSG_SET_FIELD:
		/* The value was checked against the field's type already. */
		if (!(err = XBT_PROPAGATE(store_need(c, ref, &rec))))
			err = XBT_PROPAGATE(xbt_field_from_value(
				f, call->argv[1].v, store_edit(c, ref)));
		break;
	case XBT_MSG_ADD_TO_MAP:
		if ((err = XBT_PROPAGATE(store_need(c, ref, &rec))))
			break;
		if (xbt_map_get(map_field_c(f, rec), call->argv[1].s)) {
			err = XBT_RAISE_MAP_DUPLICATE_KEY(c->name,
					f->name, ref, call->argv[1].s);
			break;
		}
		xbt_map_set(map_field(f, store_edit(c, ref)), call->argv[1].s,
			    call->argv[2].s);
		break;
	case XBT_MSG_REMOVE_FROM_MAP:
		if ((err = XBT_PROPAGATE(store_need(c, ref, &rec))))
			break;
		if (xbt_map_get(map_field_c(f, rec), call->argv[1].s))
			xbt_map_remove(map_field(f, store_edit(c, ref)),
				       call->argv[1].s);
		break;
	case XBT_MSG_GET_RECORD: {
		xbt_buf *raw;

		if ((err = XBT_PROPAGATE(store_need(c, ref, &rec))))
			break;
		if ((raw = rpc_raw_result(call)))
			xbt_wire_record(raw, rpc_answer_json(call), c, rec);
		else
			*result = xbt_record_to_value(c, rec);
		break;
	}
	case XBT_MSG_GET_BY_UUID: {
		const char *found = store_ref_by_uuid(c, call->argv[0].s);

		if (found)
			*result = xbt_value_string(found);
		else
			err = XBT_RAISE_UUID_INVALID(c->name,
					call->argv[0].s);
		break;
	}
	case XBT_MSG_GET_BY_NAME_LABEL:
	case XBT_MSG_GET_ALL:
	case XBT_MSG_GET_ALL_RECORDS:
		break;  /* generic_read_all */
	case XBT_MSG_CUSTOM:
		xbt_fatalx("generic_call on custom message %s", m->wire_name);
	}
	if (!held)
		store_unlock();
	return err;
}

/* ---- stopping (doc/design.md, "Stopping") ------------------------------------- */

static atomic_bool dispatch_stop_flag;
/* Operations running: the hand-written messages that have an Async form
 * (VM.start, PBD.plug, pool.join, ...), called either way. Waits
 * (event.from) and logins are not operations. */
static atomic_uint dispatch_nrunning;

void dispatch_stop_begin(void)
{
	atomic_store(&dispatch_stop_flag, true);
}

bool dispatch_stopping(void)
{
	return atomic_load(&dispatch_stop_flag);
}

unsigned dispatch_running(void)
{
	return atomic_load(&dispatch_nrunning);
}

static xbt_error *call_run(struct call *call, xmlrpc_value **result)
{
	const xbt_message_desc *m = call->msg;
	xbt_error *err;

	if (m->kind == XBT_MSG_CUSTOM) {
		if (m->async)
			atomic_fetch_add(&dispatch_nrunning, 1);
		err = XBT_PROPAGATE(rpc_run(call, xbtd_handlers[m - xbt_messages],
					    result));
		if (m->async)
			atomic_fetch_sub(&dispatch_nrunning, 1);
	} else {
		*result = NULL;
		err = XBT_PROPAGATE(generic_call(call, result));
		if (!err && !*result)
			*result = xbt_value_string(""); /* void, as xapi */
	}
	return err;
}

/* ---- pool roles ---------------------------------------------------------- */

/*
 * What a slave serves (doc/pools.md, after xapi's session_check.ml and
 * xapi_session.ml): a login, any other session-less call but the
 * emergency ones, and any call made with a session that is not one of its
 * pool or local sessions get HOST_IS_SLAVE [master], before the session
 * or the password is looked at: a user's session lives on the master.
 */
static xbt_error *dispatch_slave_check(const xbt_message_desc *m,
				       xmlrpc_value *params)
{
	xbt_error *err = NULL;
	bool refused;

	if (!role_is_slave())
		return NULL;
	if (!m->session) {
		refused = !m->emergency;
	} else {
		xmlrpc_value *first = xmlrpc_value_type(params) ==
				      XMLRPC_TYPE_ARRAY &&
				      xbt_value_size(params) > 0 ?
				      xbt_value_item(params, 0) : NULL;
		char *session = first ? xbt_value_text(first, NULL) : NULL;

		/* Malformed calls go on, to get the errors they would. */
		refused = session && session_kind(session) == SESSION_USER;
		free(session);
		if (first)
			xmlrpc_DECREF(first);
	}
	if (refused)
		err = XBT_RAISE_HOST_IS_SLAVE(role_master());
	return err;
}

/*
 * An intra-pool message made with a user's session is an INTERNAL_ERROR
 * on any host, as xapi's Session_check.check ~intra_pool_only. Pool and
 * local sessions pass.
 */
static xbt_error *dispatch_pool_check(const xbt_message_desc *m,
				      const char *session)
{
	xbt_error *err = NULL;

	if (m->pool_only && session && session_kind(session) == SESSION_USER) {
		char msg[160];
		snprintf(msg, sizeof(msg), "Internal API \"%s\" call attempted "
			 "with non-pool (external) session", m->wire_name);
		err = XBT_RAISE_INTERNAL_ERROR(msg);
	}
	return err;
}

/* ---- Async ---------------------------------------------------------------- */

struct async_job {
	struct call call;
	char *session;
	char *task;
	char name[128];
};

static void async_run(void *arg)
{
	struct async_job *job = arg;
	xmlrpc_value *result = NULL;
	xbt_error *err = NULL;

	log_set_thread_name(job->task);
	/* Once xbtd is stopping, a queued call never starts. */
	if (dispatch_stopping())
		err = XBT_RAISE_TASK_CANCELLED(job->task);
	else
		err = XBT_PROPAGATE(task_check_cancel(job->task));
	if (!err)
		err = XBT_PROPAGATE(call_run(&job->call, &result));
	if (err) {
		/* The task boundary: the one place an async failure is logged. */
		char what[256];
		snprintf(what, sizeof(what), "task %s (%s) failed", job->task,
			 job->name);
		log_backtrace(LOG_LEVEL_ERROR, what, err);
	}
	db_wait(); /* the task says done once the change is durable */
	/* A void result is "" in the task, as xapi stores it. */
	task_finish(job->task,
		    job->call.msg->result->kind == XBT_T_VOID ? NULL : result,
		    err);
	if (result)
		xmlrpc_DECREF(result);
	xbt_error_free(err);
	rpc_release(&job->call);
	free(job->session);
	free(job->task);
	free(job);
	log_set_thread_name("");
}

/* ---- entry points ----------------------------------------------------------- */

/*
 * Messages an event thread may run (the store's own, of bounded cost):
 * get_all_records, custom messages and Async calls go to call threads.
 */
static bool dispatch_quick(const xbt_message_desc *m, bool async)
{
	switch (m->kind) {
	case XBT_MSG_SET_FIELD:
	case XBT_MSG_ADD_TO_MAP:
	case XBT_MSG_REMOVE_FROM_MAP:
		/* With --db the answer waits for the commit (db_wait). */
		return !async && !m->pool_only && !db_recording();
	case XBT_MSG_GET_FIELD:
	case XBT_MSG_GET_RECORD:
	case XBT_MSG_GET_BY_UUID:
	case XBT_MSG_GET_BY_NAME_LABEL:
	case XBT_MSG_GET_ALL:
		return !async && !m->pool_only;
	case XBT_MSG_GET_ALL_RECORDS:
	case XBT_MSG_CUSTOM:
		break;
	}
	return false;
}

xbt_error *dispatch_call(const char *method, xmlrpc_value *params,
			 struct rpc_park *park, xmlrpc_value **result)
{
	const char *name = method;
	bool async = false;
	struct call call = { .session = "", .park = park };
	char *session = NULL;
	bool locked = false;
	xbt_error *err = NULL;

	*result = NULL;
	if (strcmp(method, "system.listMethods") == 0) {
		*result = rpc_list_methods(&xbt_api, true);
		goto out;
	}
	if (strncmp(name, ASYNC_PREFIX, strlen(ASYNC_PREFIX)) == 0) {
		name += strlen(ASYNC_PREFIX);
		async = true;
	}
	call.msg = xbt_message_find(name);
	if (!call.msg || (async && !call.msg->async)) {
		err = XBT_RAISE_MESSAGE_METHOD_UNKNOWN(method);
		goto out;
	}
	/* On an event thread: a slave's checks may wait for the store. */
	if (rpc_must_not_block(&call) &&
	    (!dispatch_quick(call.msg, async) || role_is_slave())) {
		rpc_later(&call);
		goto out;
	}
	/* A slave the master does not know serves its emergency calls only. */
	if (!call.msg->emergency &&
	    (err = XBT_PROPAGATE(role_check_emergency())))
		goto out;
	if ((err = XBT_PROPAGATE(dispatch_slave_check(call.msg, params))))
		goto out;
	/*
	 * A quick call never waits for the store: it takes the lock now or
	 * goes to a call thread, and holds it to the end (one lock for the
	 * session's check and the call).
	 */
	if (rpc_must_not_block(&call)) {
		if (!store_trylock()) {
			rpc_later(&call);
			goto out;
		}
		locked = true;
	}
	if ((err = XBT_PROPAGATE(rpc_prepare(&call, method, params,
					     locked ? session_check_locked :
					     session_check, &session))))
		goto out;
	if (session)
		call.session = session;
	if ((err = XBT_PROPAGATE(dispatch_pool_check(call.msg, session))))
		goto out;
	if (async) {
		struct async_job *job = xbt_calloc(1, sizeof(*job));
		job->call = call;
		job->session = session;
		job->call.session = session ? session : "";
		job->task = task_new(method, job->call.session);
		job->call.task = job->task;
		job->call.park = NULL;  /* an Async call answers in its task */
		snprintf(job->name, sizeof(job->name), "%s", method);
		*result = xbt_value_string(job->task);
		session = NULL;
		call.argv = NULL;
		call.argc = 0;
		if (!worker_submit(async_run, job)) {
			/* As xapi when its queue of tasks is full. */
			err = XBT_RAISE_TOO_MANY_PENDING_TASKS();
			task_finish(job->task, NULL, err);
			rpc_release(&job->call);
			free(job->session);
			free(job->task);
			free(job);
			xmlrpc_DECREF(*result);
			*result = NULL;
		}
		goto out;
	}
	err = XBT_PROPAGATE(call_run(&call, result));
out:
	if (locked)
		store_unlock();
	/* An answer acknowledges only changes that are durable (db.c); an
	 * event thread made none (writers are not quick with --db). */
	if (!rpc_must_not_block(&call))
		db_wait();
	rpc_release(&call);
	free(session);
	return err;
}

bool dispatch_http(void *ctx, struct http_park *park, enum http_proto proto,
		   const char *body, size_t len, xbt_buf *out)
{
	(void)ctx;
	return rpc_http(dispatch_call, park, proto, body, len, out);
}

bool dispatch_http_quick(void *ctx, enum http_proto proto, const char *body,
			 size_t len, xbt_buf *out)
{
	(void)ctx;
	return rpc_http_quick(dispatch_call, proto, body, len, out);
}
