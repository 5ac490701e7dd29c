/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The task class. A task is where an Async call's outcome lives: on success
 * `result` holds the XML-RPC-serialised value; on failure `error_info` holds
 * code and params and `backtrace` the error's frames as an s-expression.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xbt/wire.h"
#include "xbtd.h"

static const char *task_status_name(int status)
{
	return xbt_enum_task_status_type.values[status];
}

static bool task_is_finished(const struct xbt_task_record *t)
{
	return t->status != XBT_TASK_STATUS_TYPE_PENDING &&
	       t->status != XBT_TASK_STATUS_TYPE_CANCELLING;
}

static void task_set_string(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

/* allowed_operations follows the status: cancel while running. */
static void task_update_allowed(struct xbt_task_record *t)
{
	xbt_strv_clear(&t->allowed_operations);
	if (t->status == XBT_TASK_STATUS_TYPE_PENDING)
		xbt_strv_add(&t->allowed_operations,
			     XBT_TASK_ALLOWED_OPERATIONS_CANCEL_NAME);
	else if (task_is_finished(t))
		xbt_strv_add(&t->allowed_operations,
			     XBT_TASK_ALLOWED_OPERATIONS_DESTROY_NAME);
}

/* Under the store lock. */
static const char *task_add(const char *label, const char *description)
{
	struct xbt_task_record *t = xbt_calloc(1, sizeof(*t));

	xbt_record_init(&xbt_class_task, t);
	task_set_string(&t->name_label, label);
	task_set_string(&t->name_description, description);
	task_set_string(&t->resident_on, host_self());
	t->created = now_seconds();
	t->status = XBT_TASK_STATUS_TYPE_PENDING;
	task_update_allowed(t);
	return store_add(&xbt_class_task, t);
}

/*
 * The tasks task.create made, by ref: one still pending when its session
 * ends is one nobody will finish, and goes with the session. Async tasks
 * finish by themselves and then follow the finished tasks' limits. Under
 * the store lock; every deletion of a task here takes it out.
 */
#define TASK_MADE_BUCKETS 4096

struct task_made {
	struct task_made *next;
	char ref[64];
};
static struct task_made *task_made[TASK_MADE_BUCKETS];

static struct task_made **task_made_find(const char *ref)
{
	size_t h = 2166136261u;
	struct task_made **p;

	for (const char *c = ref; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (p = &task_made[h % TASK_MADE_BUCKETS]; *p; p = &(*p)->next)
		if (strcmp((*p)->ref, ref) == 0)
			break;
	return p;
}

static void task_made_add(const char *ref)
{
	struct task_made **p = task_made_find(ref);

	if (*p)
		return;
	*p = xbt_calloc(1, sizeof(**p));
	snprintf((*p)->ref, sizeof((*p)->ref), "%s", ref);
}

/* Takes ref out; whether it was in. */
static bool task_made_take(const char *ref)
{
	struct task_made **p = task_made_find(ref), *m = *p;

	if (m) {
		*p = m->next;
		free(m);
	}
	return m != NULL;
}

/* Every deletion of a task goes here. */
static void task_del(const char *ref)
{
	task_made_take(ref);
	store_del(&xbt_class_task, ref);
}

void task_note_session(const char *task, const char *session)
{
	struct xbt_session_record *s;

	if (!session || !(s = store_edit(&xbt_class_session, session)))
		return;
	/* Now and then, the refs of tasks gone since (destroyed, collected)
	 * go: a long-lived session's list stays as long as its live tasks. */
	if (s->tasks.n >= 64 && (s->tasks.n & (s->tasks.n - 1)) == 0) {
		xbt_strv live = { 0 };

		for (size_t i = 0; i < s->tasks.n; i++)
			if (store_get(&xbt_class_task, s->tasks.v[i]))
				xbt_strv_add(&live, s->tasks.v[i]);
		xbt_strv_clear(&s->tasks);
		s->tasks = live;
	}
	xbt_strv_add(&s->tasks, task);
}

bool task_any_pending(const xbt_strv *tasks)
{
	for (size_t i = 0; i < tasks->n; i++) {
		const struct xbt_task_record *t =
			store_get(&xbt_class_task, tasks->v[i]);

		if (t && !task_is_finished(t))
			return true;
	}
	return false;
}

void task_orphan(const xbt_strv *tasks)
{
	for (size_t i = 0; i < tasks->n; i++) {
		const struct xbt_task_record *t =
			store_get(&xbt_class_task, tasks->v[i]);

		if (t && !task_is_finished(t) && task_made_take(tasks->v[i]))
			store_del(&xbt_class_task, tasks->v[i]);
	}
}

char *task_new(const char *label, const char *session)
{
	char *ref;

	store_lock();
	ref = xbt_strdup(task_add(label, ""));
	task_note_session(ref, session);
	store_unlock();
	return ref;
}

void task_finish(const char *ref, xmlrpc_value *result, const xbt_error *err)
{
	struct xbt_task_record *t;

	store_lock();
	t = store_edit(&xbt_class_task, ref);
	if (!t)
		goto out; /* destroyed while running: nobody is waiting */
	if (err) {
		xbt_buf bt = XBT_BUF_INIT;
		t->status = strcmp(err->code, XBT_ERR_TASK_CANCELLED) == 0
				    ? XBT_TASK_STATUS_TYPE_CANCELLED
				    : XBT_TASK_STATUS_TYPE_FAILURE;
		xbt_strv_clear(&t->error_info);
		xbt_strv_add(&t->error_info, err->code);
		for (size_t i = 0; i < err->nparams; i++)
			xbt_strv_add(&t->error_info, err->params[i]);
		xbt_backtrace_to_sexp(&err->bt, &bt);
		free(t->backtrace);
		t->backtrace = xbt_buf_detach(&bt, NULL);
	} else {
		xbt_buf v = XBT_BUF_INIT;
		if (result)
			xbt_wire_xml_value(&v, result);
		free(t->result);
		t->result = xbt_buf_detach(&v, NULL);
		t->status = XBT_TASK_STATUS_TYPE_SUCCESS;
	}
	t->progress = 1.0;
	t->finished = now_seconds();
	task_update_allowed(t);
	log_debug("task %s %s", ref, task_status_name(t->status));
out:
	store_unlock();
}

bool task_cancelling(const char *ref)
{
	const struct xbt_task_record *t;
	bool result;

	store_lock();
	t = store_get(&xbt_class_task, ref);
	result = t && t->status == XBT_TASK_STATUS_TYPE_CANCELLING;
	store_unlock();
	return result;
}

xbt_error *task_check_cancel(const char *ref)
{
	xbt_error *err = NULL;

	if (task_cancelling(ref))
		err = XBT_RAISE_TASK_CANCELLED(ref);
	return err;
}

void task_set_resident_on(const char *ref, const char *host)
{
	struct xbt_task_record *t;

	store_lock();
	if ((t = store_edit(&xbt_class_task, ref)))
		task_set_string(&t->resident_on, host);
	store_unlock();
}

void task_progress(const char *ref, double progress)
{
	const struct xbt_task_record *t;

	store_lock();
	t = store_get(&xbt_class_task, ref);
	/* Only a change is an event. */
	if (t && t->progress != progress)
		((struct xbt_task_record *)store_edit(&xbt_class_task, ref))
			->progress = progress;
	store_unlock();
}

/* ---- garbage collection --------------------------------------------- */

/*
 * Reads a view of the tasks (doc/design.md, "Big reads"): with many of
 * them, two walks under the lock every second would hold it for tens of
 * milliseconds. Only the deletions take it again.
 */
void task_shutdown(void)
{
	for (size_t b = 0; b < TASK_MADE_BUCKETS; b++) {
		while (task_made[b]) {
			struct task_made *m = task_made[b];

			task_made[b] = m->next;
			free(m);
		}
	}
}

/* Under the lock: a task found stale in a view is still so. */
static bool task_still_stale(const char *ref, int64_t now)
{
	const struct xbt_task_record *t = store_get(&xbt_class_task, ref);

	if (!t)
		return false;
	if (task_is_finished(t))
		return true;  /* past a finished task's limits */
	return xbtd_conf.pending_timeout_s &&
	       now - store_edited(&xbt_class_task, ref) >
	       (int64_t)xbtd_conf.pending_timeout_s;
}

void task_gc(int64_t now)
{
	struct store_view view;
	xbt_strv drop = { 0 };
	size_t finished = 0;

	store_lock();
	store_view_take(&xbt_class_task, &view);
	store_unlock();
	for (size_t i = 0; i < view.n; i++)
		if (task_is_finished(store_view_rec(&view, i)))
			finished++;
	for (size_t i = 0; i < view.n; i++) {
		const struct xbt_task_record *t = store_view_rec(&view, i);

		if (!task_is_finished(t)) {
			/* As xapi's timeout_tasks: hung, not merely old. */
			if (xbtd_conf.pending_timeout_s &&
			    now - store_view_edited(&view, i) >
			    (int64_t)xbtd_conf.pending_timeout_s)
				xbt_strv_add(&drop, store_view_ref(&view, i));
			continue;
		}
		if (xbtd_conf.task_max_age_s &&
		    now - t->finished > (int64_t)xbtd_conf.task_max_age_s) {
			xbt_strv_add(&drop, store_view_ref(&view, i));
		} else if (finished > xbtd_conf.task_max) {
			/* Oldest first: the view is in creation order. */
			finished--;
			xbt_strv_add(&drop, store_view_ref(&view, i));
		}
	}
	store_view_release(&view);
	if (!drop.n)
		return;
	store_lock();
	for (size_t i = 0; i < drop.n; i++) {
		const struct xbt_task_record *t;

		/* Changed meanwhile (a client's doing): left for next time. */
		if (!task_still_stale(drop.v[i], now))
			continue;
		t = store_get(&xbt_class_task, drop.v[i]);
		if (!task_is_finished(t))
			log_warn("task %s (%.80s) collected: pending and "
				 "unchanged for over %u s", drop.v[i],
				 t->name_label, xbtd_conf.pending_timeout_s);
		task_del(drop.v[i]);
	}
	store_unlock();
	xbt_strv_clear(&drop);
}

/* ---- messages ------------------------------------------------------------ */

xbt_error *task_create(struct call *call, xmlrpc_value *const *args,
		       xmlrpc_value **result)
{
	const char *ref;

	store_lock();
	ref = task_add(call->argv[0].s, call->argv[1].s);
	task_made_add(ref);
	task_note_session(ref, call->session);
	*result = xbt_value_string(ref);
	store_unlock();
	return NULL;
}

xbt_error *task_destroy(struct call *call, xmlrpc_value *const *args,
			xmlrpc_value **result)
{
	const void *rec;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(store_need(&xbt_class_task, call->argv[0].s, &rec));
	if (!err)
		task_del(call->argv[0].s);
	store_unlock();
	return err;
}

xbt_error *task_cancel(struct call *call, xmlrpc_value *const *args,
		       xmlrpc_value **result)
{
	struct xbt_task_record *t;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(store_need(&xbt_class_task, call->argv[0].s,
				       (const void **)&t));
	if (!err && t->status != XBT_TASK_STATUS_TYPE_PENDING)
		err = XBT_RAISE_OPERATION_NOT_ALLOWED("Task is not pending");
	if (!err) {
		/* The running operation sees this at its next step. */
		t = store_edit(&xbt_class_task, call->argv[0].s);
		t->status = XBT_TASK_STATUS_TYPE_CANCELLING;
		task_update_allowed(t);
	}
	store_unlock();
	/* A step running in xbt-opsd (or in xbtd) stops now, not at its end. */
	if (!err && xbtd_conf.storage_in_process)
		vm_local_cancel(call->argv[0].s);
	else if (!err)
		ops_cancel(call->argv[0].s);
	return err;
}

static void task_cancel_one(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_task_record *t = rec;
	struct xbt_task_record *e;

	(void)ctx;
	if (t->status != XBT_TASK_STATUS_TYPE_PENDING)
		return;
	e = store_edit(&xbt_class_task, ref);
	e->status = XBT_TASK_STATUS_TYPE_CANCELLING;
	task_update_allowed(e);
}

void task_cancel_all(void)
{
	store_lock();
	store_foreach(&xbt_class_task, task_cancel_one, NULL);
	store_unlock();
}

/* Runs fn on the task named by the first argument, under the lock. */
static xbt_error *task_edit(struct call *call,
			    void (*fn)(struct xbt_task_record *, struct call *))
{
	struct xbt_task_record *t;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(store_need_edit(&xbt_class_task, call->argv[0].s,
					    (void **)&t));
	if (!err)
		fn(t, call);
	store_unlock();
	return err;
}

static void task_edit_status(struct xbt_task_record *t, struct call *call)
{
	t->status = xbt_enum_index(&xbt_enum_task_status_type, call->argv[1].s);
	if (task_is_finished(t) && !t->finished)
		t->finished = now_seconds();
	task_update_allowed(t);
}

static void task_edit_progress(struct xbt_task_record *t, struct call *call)
{
	t->progress = call->argv[1].d;
}

static void task_edit_result(struct xbt_task_record *t, struct call *call)
{
	task_set_string(&t->result, call->argv[1].s);
}

static void task_edit_error_info(struct xbt_task_record *t, struct call *call)
{
	/* Checked as a set of strings by dispatch: cannot fail here. */
	xbt_error_free(xbt_field_from_value(
		xbt_field_find(&xbt_class_task, "error_info"), call->argv[1].v, t));
}

xbt_error *task_set_status(struct call *call, xmlrpc_value *const *args,
			   xmlrpc_value **result)
{
	return XBT_PROPAGATE(task_edit(call, task_edit_status));
}

xbt_error *task_set_progress(struct call *call, xmlrpc_value *const *args,
			     xmlrpc_value **result)
{
	return XBT_PROPAGATE(task_edit(call, task_edit_progress));
}

xbt_error *task_set_result(struct call *call, xmlrpc_value *const *args,
			   xmlrpc_value **result)
{
	return XBT_PROPAGATE(task_edit(call, task_edit_result));
}

xbt_error *task_set_error_info(struct call *call, xmlrpc_value *const *args,
			       xmlrpc_value **result)
{
	return XBT_PROPAGATE(task_edit(call, task_edit_error_info));
}
