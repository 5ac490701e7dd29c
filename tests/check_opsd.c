/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbt-opsd in process (doc/opsd.md, idl/xenops.xml): the task table and
 * TASK.stat's record, TASK.cancel/destroy/list, --task-max, UPDATES.get
 * (tokens, change order, waiting and waking), dispatch errors, and VM jobs
 * run through a fixture plugin (tests/plugins/VMTESTSR: what each command
 * does comes from device_config "mode", "command=action;..."; unlisted
 * commands succeed). Calls go through opsd_dispatch_call as the HTTP
 * front makes them. Each test runs in its own process (Check's fork
 * mode), so the table starts empty and task ids start at 1.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "opsd.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"

#define HOST "check-host"
#define OPSD_PROCESS "xbt-opsd @ " HOST
#define PLUGIN_PROCESS "VMTEST @ " HOST
/* Waiting for a task: generous, for sanitizer builds on a loaded machine. */
#define TASK_DEADLINE_S 60

/* ---- values ------------------------------------------------------------ */

/* An array of strings from a NULL-terminated list. */
static xmlrpc_value *strs(const char *first, ...)
{
	xmlrpc_value *a = xbt_value_array();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		xbt_value_push(a, xbt_value_string(s));
	va_end(ap);
	return a;
}

static char *text_of(xmlrpc_value *v)
{
	char *s = xbt_value_text(v, NULL);

	ck_assert_msg(s != NULL, "not a string");
	return s;
}

/* The string member key of st (caller frees). */
static char *member_text(xmlrpc_value *st, const char *key)
{
	xmlrpc_value *v = xbt_value_get(st, key);
	char *s;

	ck_assert_msg(v != NULL, "no member %s", key);
	s = text_of(v);
	xmlrpc_DECREF(v);
	return s;
}

/* ---- calls --------------------------------------------------------------- */

/* Calls method; params are consumed. Success expected: the result. */
static xmlrpc_value *call_ok(const char *method, xmlrpc_value *params)
{
	xmlrpc_value *result = NULL;
	xbt_error *e = opsd_dispatch_call(method, params, NULL, &result);

	if (e) {
		char *sum = xbt_error_summary(e);
		ck_abort_msg("%s failed: %s", method, sum);
	}
	ck_assert_ptr_nonnull(result);
	xmlrpc_DECREF(params);
	return result;
}

/* As call_ok for a void message: the result is "". */
static void call_void(const char *method, xmlrpc_value *params)
{
	xmlrpc_value *r = call_ok(method, params);
	char *s = text_of(r);

	ck_assert_str_eq(s, "");
	free(s);
	xmlrpc_DECREF(r);
}

/* Checks e is code [params...] (n of them) and frees it. */
static void check_error(xbt_error *e, const char *code, size_t n, ...)
{
	va_list ap;

	ck_assert_msg(e != NULL, "no error, want %s", code);
	ck_assert_str_eq(e->code, code);
	ck_assert_uint_eq(e->nparams, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(e->params[i], va_arg(ap, const char *));
	va_end(ap);
	ck_assert_uint_ge(e->bt.n, 1);
	xbt_error_free(e);
}

/* Calls method expecting failure with exactly code and n params. */
static void call_fails(const char *method, xmlrpc_value *params,
		       const char *code, size_t n, ...)
{
	xmlrpc_value *result = NULL;
	xbt_error *e = opsd_dispatch_call(method, params, NULL, &result);
	va_list ap;

	ck_assert_msg(e != NULL, "%s succeeded", method);
	ck_assert_ptr_null(result);
	ck_assert_str_eq(e->code, code);
	ck_assert_uint_eq(e->nparams, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(e->params[i], va_arg(ap, const char *));
	va_end(ap);
	ck_assert_uint_ge(e->bt.n, 1);
	xbt_error_free(e);
	xmlrpc_DECREF(params);
}

/* TASK.stat's raw value (caller decrefs). */
static xmlrpc_value *stat_value(const char *id)
{
	return call_ok("TASK.stat", strs("dbg-stat", id, NULL));
}

/* TASK.stat read into rec (caller releases). */
static void stat_rec(const char *id, struct xops_task_record *rec)
{
	xmlrpc_value *v = stat_value(id);
	xbt_error *e;

	xbt_record_init(&xops_class_task, rec);
	e = xbt_record_from_value(&xops_class_task, v, rec);
	ck_assert_msg(e == NULL, "TASK.stat %s: not a TASK record", id);
	xmlrpc_DECREF(v);
}

/* UPDATES.get; *token gets the next token, the ids joined by ",". */
static char *updates(int64_t last, int64_t timeout, int64_t *token)
{
	xmlrpc_value *p = xbt_value_array(), *r;
	struct xops_updates_record u;
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *e;

	xbt_value_push(p, xbt_value_string("dbg-updates"));
	xbt_value_push(p, xbt_value_int(last));
	xbt_value_push(p, xbt_value_int(timeout));
	r = call_ok("UPDATES.get", p);
	ck_assert_uint_eq(xbt_value_size(r), 2);
	xbt_record_init(&xops_class_updates, &u);
	e = xbt_record_from_value(&xops_class_updates, r, &u);
	ck_assert_msg(e == NULL, "UPDATES.get: not an UPDATES record");
	xmlrpc_DECREF(r);
	*token = u.id;
	xbt_buf_addstr(&b, "");
	for (size_t i = 0; i < u.tasks.n; i++)
		xbt_buf_addf(&b, "%s%s", i ? "," : "", u.tasks.v[i]);
	xbt_record_release(&xops_class_updates, &u);
	return xbt_buf_detach(&b, NULL);
}

/* TASK.wait(id, seen, timeout) into *rec (initialised here). */
static void wait_rec(const char *id, double seen, int64_t timeout,
		     struct xops_task_record *rec)
{
	xmlrpc_value *p = xbt_value_array(), *r;
	xbt_error *e;

	xbt_value_push(p, xbt_value_string("dbg-wait"));
	xbt_value_push(p, xbt_value_string(id));
	xbt_value_push(p, xbt_value_float(seen));
	xbt_value_push(p, xbt_value_int(timeout));
	r = call_ok("TASK.wait", p);
	xbt_record_init(&xops_class_task, rec);
	e = xbt_record_from_value(&xops_class_task, r, rec);
	ck_assert_msg(e == NULL, "TASK.wait: not a TASK record");
	xmlrpc_DECREF(r);
}

/* The ids of TASK.list, in order, joined by ",". */
static char *list_ids(void)
{
	xmlrpc_value *r = call_ok("TASK.list", strs("dbg-list", NULL));
	xbt_buf b = XBT_BUF_INIT;
	size_t n = xbt_value_size(r);

	xbt_buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		xmlrpc_value *t = xbt_value_item(r, i);
		char *id = member_text(t, "id");
		xbt_buf_addf(&b, "%s%s", i ? "," : "", id);
		free(id);
		xmlrpc_DECREF(t);
	}
	xmlrpc_DECREF(r);
	return xbt_buf_detach(&b, NULL);
}

/* "k=v;" for each entry of a map, in its order. */
static char *map_str(const xbt_map *m)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addstr(&b, "");
	for (size_t i = 0; i < m->n; i++)
		xbt_buf_addf(&b, "%s=%s;", m->keys[i], m->vals[i]);
	return xbt_buf_detach(&b, NULL);
}

static void check_map(const xbt_map *m, const char *want)
{
	char *s = map_str(m);

	ck_assert_str_eq(s, want);
	free(s);
}

/* error as "code|p1|p2". */
static void check_strv(const xbt_strv *v, const char *want)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addstr(&b, "");
	for (size_t i = 0; i < v->n; i++)
		xbt_buf_addf(&b, "%s%s", i ? "|" : "", v->v[i]);
	ck_assert_str_eq(b.buf, want);
	xbt_buf_release(&b);
}

static void check_eq_free(char *got, const char *want)
{
	ck_assert_str_eq(got, want);
	free(got);
}

/* ---- fixture -------------------------------------------------------------- */

static void setup(void)
{
	char *argv[] = {
		(char *)"xbt-opsd", (char *)"--state-dir", (char *)"/nonexistent/x",
		(char *)"--task-max", (char *)"4", (char *)"--hostname",
		(char *)HOST, (char *)"--sm-dir", (char *)SM_FIXTURE_DIR,
		(char *)"--plugin-timeout", (char *)"120", (char *)"--workers",
		(char *)"4", NULL
	};

	ck_assert_int_eq(opsd_config_parse(13, argv), 0);
	ck_assert_str_eq(opsd_conf.hostname, HOST);
	ck_assert_uint_eq(opsd_conf.task_max, 4);
	/* As main.c does before its threads start. */
	xbt_set_process("xbt-opsd", opsd_conf.hostname);
	opsd_task_init();
	worker_start(opsd_conf.workers, 0);
}

static void teardown(void)
{
	opsd_task_cancel_all();
	worker_stop();
	opsd_vm_shutdown_all();
	opsd_task_shutdown();
}

/* A new pending task; its id must be want_id. */
static struct opsd_task *new_task(const char *dbg, const char *want_id)
{
	struct opsd_task *t = NULL;
	char *id = NULL;
	xbt_error *e = opsd_task_new(dbg, "start", "vm-uuid", &t, &id);

	ck_assert_msg(e == NULL, "opsd_task_new failed");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(id, want_id);
	free(id);
	return t;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the task table and TASK.stat ------------------------------------------ */

START_TEST(test_task_record_every_field)
{
	struct opsd_task *t;
	struct xops_task_record r;
	xmlrpc_value *v;
	xbt_error *err;
	double before = wall_now(), after;
	char *s;

	err = opsd_task_new("OpaqueRef:dbg-1", "start", "vm-uuid-1", &t, &s);
	ck_assert_ptr_null(err);
	check_eq_free(s, "1");
	after = wall_now();
	ck_assert_str_eq(opsd_task_dbg(t), "OpaqueRef:dbg-1");

	/* Pending, as made: the raw value has exactly the 12 fields. */
	v = stat_value("1");
	ck_assert_uint_eq(xbt_value_size(v), 12);
	check_eq_free(member_text(v, "state"), "pending");
	xmlrpc_DECREF(v);
	stat_rec("1", &r);
	ck_assert_str_eq(r.id, "1");
	ck_assert_str_eq(r.dbg, "OpaqueRef:dbg-1");
	ck_assert(r.ctime >= before - 1 && r.ctime <= after + 1);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_PENDING);
	ck_assert(r.progress == 0.0);
	ck_assert(r.duration == 0.0);
	ck_assert_str_eq(r.result, "");
	ck_assert_uint_eq(r.error.n, 0);
	ck_assert_str_eq(r.backtrace, "()");
	ck_assert_uint_eq(r.subtasks.n, 0);
	check_map(&r.debug_info, "operation=start;vm=vm-uuid-1;");
	ck_assert(r.cancellable);
	xbt_record_release(&xops_class_task, &r);

	/* Steps and progress as a job records them. */
	opsd_task_step(t, "vdi_attach a", XOPS_TASK_STATE_PENDING);
	stat_rec("1", &r);
	check_map(&r.subtasks, "vdi_attach a=pending;");
	xbt_record_release(&xops_class_task, &r);
	opsd_task_step(t, "vdi_attach a", XOPS_TASK_STATE_COMPLETED);
	opsd_task_progress(t, 0.25);
	opsd_task_step(t, "vdi_activate a", XOPS_TASK_STATE_FAILED);
	stat_rec("1", &r);
	check_map(&r.subtasks,
		  "vdi_attach a=completed;vdi_activate a=failed;");
	ck_assert(r.progress == 0.25);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_PENDING);
	ck_assert(r.cancellable);
	xbt_record_release(&xops_class_task, &r);

	/* Failed: error is code then params, backtrace the exact sexp of the
	 * error's frames (one of them needs quoting), innermost first. */
	err = xbt_error_raise("/srv/my plugin/FOOSR", 12, "open_it",
			      "SR_BACKEND_FAILURE_44", "", "it \"broke\"",
			      "stderr\n", (const char *)NULL);
	err = xbt_error_called_from(err, "server/xenops/vm.c", 34, "vm_step");
	opsd_task_end(t, err);
	xbt_error_free(err);
	v = stat_value("1");
	check_eq_free(member_text(v, "state"), "failed");
	xmlrpc_DECREF(v);
	stat_rec("1", &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_FAILED);
	check_strv(&r.error, "SR_BACKEND_FAILURE_44||it \"broke\"|stderr\n");
	ck_assert_str_eq(r.backtrace,
		"(((process\"xbt-opsd @ check-host\")"
		"(filename\"/srv/my plugin/FOOSR\")(line 12)(chars_start 0)"
		"(chars_end 0)(name open_it)(is_inline false)(is_raise true))"
		"((process\"xbt-opsd @ check-host\")"
		"(filename server/xenops/vm.c)(line 34)(chars_start 0)"
		"(chars_end 0)(name vm_step)(is_inline false)"
		"(is_raise false)))");
	ck_assert(r.duration >= 0.0);
	ck_assert(r.progress == 0.25);
	ck_assert_str_eq(r.result, "");
	ck_assert(!r.cancellable);
	check_map(&r.subtasks,
		  "vdi_attach a=completed;vdi_activate a=failed;");
	check_map(&r.debug_info, "operation=start;vm=vm-uuid-1;");
	ck_assert_str_eq(r.id, "1");
	ck_assert_str_eq(r.dbg, "OpaqueRef:dbg-1");
	xbt_record_release(&xops_class_task, &r);

	/* Completed: progress 1, no error, an empty backtrace. */
	t = new_task("dbg-2", "2");
	opsd_task_progress(t, 0.5);
	opsd_task_end(t, NULL);
	v = stat_value("2");
	ck_assert_uint_eq(xbt_value_size(v), 12);
	check_eq_free(member_text(v, "state"), "completed");
	xmlrpc_DECREF(v);
	stat_rec("2", &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	ck_assert(r.progress == 1.0);
	ck_assert(r.duration >= 0.0);
	ck_assert_uint_eq(r.error.n, 0);
	ck_assert_str_eq(r.backtrace, "()");
	ck_assert_str_eq(r.result, "");
	ck_assert_uint_eq(r.subtasks.n, 0);
	ck_assert(!r.cancellable);
	xbt_record_release(&xops_class_task, &r);
}
END_TEST

START_TEST(test_unknown_ids_destroy_and_list)
{
	struct opsd_task *t1, *t2, *t3;

	call_fails("TASK.stat", strs("d", "nope", NULL), XBT_ERR_HANDLE_INVALID,
		   2, "TASK", "nope");
	call_fails("TASK.cancel", strs("d", "nope", NULL),
		   XBT_ERR_HANDLE_INVALID, 2, "TASK", "nope");
	call_fails("TASK.destroy", strs("d", "", NULL), XBT_ERR_HANDLE_INVALID,
		   2, "TASK", "");
	check_eq_free(list_ids(), "");

	t1 = new_task("d1", "1");
	t2 = new_task("d2", "2");
	t3 = new_task("d3", "3");
	check_eq_free(list_ids(), "1,2,3");
	/* A running task cannot be destroyed. */
	call_fails("TASK.destroy", strs("d", "2", NULL),
		   XBT_ERR_OPERATION_NOT_ALLOWED, 1, "Task is pending");
	opsd_task_end(t2, NULL);
	call_void("TASK.destroy", strs("d", "2", NULL));
	call_fails("TASK.stat", strs("d", "2", NULL), XBT_ERR_HANDLE_INVALID,
		   2, "TASK", "2");
	call_fails("TASK.destroy", strs("d", "2", NULL),
		   XBT_ERR_HANDLE_INVALID, 2, "TASK", "2");
	call_fails("TASK.cancel", strs("d", "2", NULL),
		   XBT_ERR_HANDLE_INVALID, 2, "TASK", "2");
	check_eq_free(list_ids(), "1,3");
	/* Ids are not reused; the list stays oldest first. */
	opsd_task_end(new_task("d4", "4"), NULL);
	check_eq_free(list_ids(), "1,3,4");
	opsd_task_end(t1, NULL);
	opsd_task_end(t3, NULL);
	call_void("TASK.destroy", strs("d", "1", NULL));
	check_eq_free(list_ids(), "3,4");
	{
		/* The list's records are TASK records. */
		xmlrpc_value *r = call_ok("TASK.list", strs("d", NULL));
		xmlrpc_value *first = xbt_value_item(r, 0);
		ck_assert_uint_eq(xbt_value_size(first), 12);
		check_eq_free(member_text(first, "dbg"), "d3");
		check_eq_free(member_text(first, "state"), "completed");
		xmlrpc_DECREF(first);
		xmlrpc_DECREF(r);
	}
}
END_TEST

START_TEST(test_cancel_fires_the_switch)
{
	struct opsd_task *t = new_task("OpaqueRef:c", "1"), *done;
	struct xops_task_record r;

	ck_assert(!sm_cancel_fired(opsd_task_cancel_switch(t)));
	call_void("TASK.cancel", strs("d", "1", NULL));
	ck_assert(sm_cancel_fired(opsd_task_cancel_switch(t)));
	/* Cancelling only fires the switch: the job ends the task. */
	stat_rec("1", &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_PENDING);
	xbt_record_release(&xops_class_task, &r);
	call_void("TASK.cancel", strs("d", "1", NULL)); /* again: no error */

	/* An ended task is left as it is. */
	done = new_task("OpaqueRef:e", "2");
	opsd_task_end(done, NULL);
	call_void("TASK.cancel", strs("d", "2", NULL));
	/* Its job is over: no switch to fire (its eventfd is closed). */
	ck_assert_ptr_null(opsd_task_cancel_switch(done));
	stat_rec("2", &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	check_strv(&r.error, "");
	xbt_record_release(&xops_class_task, &r);
	opsd_task_end(t, NULL);
}
END_TEST

START_TEST(test_task_max)
{
	struct opsd_task *t[4], *x = NULL;
	char *id = NULL;
	xbt_error *e;

	/* --task-max 4, all running: no room. */
	for (int i = 0; i < 4; i++) {
		char want[4];
		snprintf(want, sizeof(want), "%d", i + 1);
		t[i] = new_task("d", want);
	}
	e = opsd_task_new("d", "start", "vm", &x, &id);
	check_error(e, XBT_ERR_OPERATION_NOT_ALLOWED, 1,
		    "too many tasks: destroy ended ones first");
	ck_assert_ptr_null(x);
	ck_assert_ptr_null(id);
	check_eq_free(list_ids(), "1,2,3,4");

	/* Ended ones make room, the oldest ended first. */
	opsd_task_end(t[2], NULL);
	opsd_task_end(t[1], NULL);
	x = new_task("d", "5");
	check_eq_free(list_ids(), "1,3,4,5");
	call_fails("TASK.stat", strs("d", "2", NULL), XBT_ERR_HANDLE_INVALID,
		   2, "TASK", "2");
	new_task("d", "6");
	check_eq_free(list_ids(), "1,4,5,6");
	/* Full of running tasks again. */
	e = opsd_task_new("d", "start", "vm", &x, &id);
	check_error(e, XBT_ERR_OPERATION_NOT_ALLOWED, 1,
		    "too many tasks: destroy ended ones first");
	check_eq_free(list_ids(), "1,4,5,6");
}
END_TEST

/* ---- UPDATES.get ------------------------------------------------------------ */

START_TEST(test_updates_tokens_and_order)
{
	struct opsd_task *t1, *t2, *t3;
	int64_t tok, tok2, tok3;

	/* Nothing yet: at once, no tasks. */
	check_eq_free(updates(0, 0, &tok), "");
	t1 = new_task("d", "1");
	t2 = new_task("d", "2");
	t3 = new_task("d", "3");
	/* last 0: every live task at once, oldest change first. */
	check_eq_free(updates(0, 30, &tok), "1,2,3");
	ck_assert_int_gt(tok, 0);
	/* Nothing changed since tok: timeout 0 returns at once, same token. */
	check_eq_free(updates(tok, 0, &tok2), "");
	ck_assert_int_eq(tok2, tok);
	/* Changes: exactly the changed ids, in the order of their last change. */
	opsd_task_progress(t3, 0.1);
	opsd_task_step(t1, "vdi_attach x", XOPS_TASK_STATE_PENDING);
	opsd_task_progress(t3, 0.2);
	check_eq_free(updates(tok, 30, &tok2), "1,3");
	ck_assert_int_gt(tok2, tok);
	opsd_task_end(t2, NULL);
	check_eq_free(updates(tok2, 30, &tok3), "2");
	ck_assert_int_gt(tok3, tok2);
	/* The old token still reads every change since. */
	check_eq_free(updates(tok, 30, &tok2), "1,3,2");
	ck_assert_int_eq(tok2, tok3);
	/* A token from the future (another run of opsd) reads as 0. */
	check_eq_free(updates(tok3 + 1000, 30, &tok2), "1,3,2");
	ck_assert_int_eq(tok2, tok3);
	check_eq_free(updates(-5, 30, &tok2), "1,3,2");
	/* Destroyed tasks are not reported. */
	call_void("TASK.destroy", strs("d", "2", NULL));
	check_eq_free(updates(0, 30, &tok2), "1,3");
	check_eq_free(updates(tok, 30, &tok2), "1,3");
	opsd_task_end(t1, NULL);
	opsd_task_end(t3, NULL);
}
END_TEST

struct waiter {
	pthread_t th;
	int64_t last;
	int64_t timeout;
	char *ids;
	int64_t token;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;

	w->ids = updates(w->last, w->timeout, &w->token);
	return NULL;
}

/*
 * A waiter sleeps until a change. Its timeout is opsd's maximum (60 s),
 * beyond this test case's Check timeout: a waiter the change did not wake
 * fails the test by outliving it, without any time being asserted.
 */
START_TEST(test_updates_waiter_is_woken)
{
	struct opsd_task *t1, *t2;
	struct waiter w = { .timeout = 60 };

	t1 = new_task("d", "1");
	t2 = new_task("d", "2");
	check_eq_free(updates(0, 0, &w.last), "1,2");
	ck_assert_int_eq(pthread_create(&w.th, NULL, waiter_run, &w), 0);
	usleep(200 * 1000); /* likely asleep by now; correct either way */
	opsd_task_progress(t2, 0.5);
	ck_assert_int_eq(pthread_join(w.th, NULL), 0);
	check_eq_free(w.ids, "2");
	ck_assert_int_gt(w.token, w.last);
	opsd_task_end(t1, NULL);
	opsd_task_end(t2, NULL);
}
END_TEST

START_TEST(test_cancel_all_wakes_and_refuses)
{
	struct opsd_task *t1, *x = NULL;
	struct waiter w = { .timeout = 60 };
	char *id = NULL;
	int64_t tok;

	t1 = new_task("d", "1");
	check_eq_free(updates(0, 0, &w.last), "1");
	ck_assert_int_eq(pthread_create(&w.th, NULL, waiter_run, &w), 0);
	usleep(200 * 1000);
	opsd_task_cancel_all();
	ck_assert_int_eq(pthread_join(w.th, NULL), 0);
	/* Woken without a change: nothing to report. */
	check_eq_free(w.ids, "");
	ck_assert_int_eq(w.token, w.last);
	/* The running task's switch fired; new tasks are refused. */
	ck_assert(sm_cancel_fired(opsd_task_cancel_switch(t1)));
	check_error(opsd_task_new("d", "start", "vm", &x, &id),
		    XBT_ERR_OPERATION_NOT_ALLOWED, 1, "xbt-opsd is stopping");
	ck_assert_ptr_null(x);
	/* A new waiter returns at once too. */
	check_eq_free(updates(w.last, 60, &tok), "");
	opsd_task_end(t1, NULL);
	check_eq_free(updates(w.last, 60, &tok), "1");
}
END_TEST

/* ---- TASK.wait ----------------------------------------------------------------- */

struct task_waiter {
	pthread_t th;
	const char *id;
	double seen;
	struct xops_task_record rec;
};

static void *task_waiter_run(void *arg)
{
	struct task_waiter *w = arg;

	wait_rec(w->id, w->seen, 60, &w->rec);
	return NULL;
}

START_TEST(test_task_wait)
{
	struct opsd_task *t = new_task("OpaqueRef:w", "1"), *old;
	struct task_waiter w = { .id = "1", .seen = 0.0 };
	struct xops_task_record r;

	/* Nothing moved and timeout 0: at once, as it is. */
	wait_rec("1", 0.0, 0, &r);
	ck_assert_str_eq(r.id, "1");
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_PENDING);
	xbt_record_release(&xops_class_task, &r);
	/* A waiter (60 s: beyond the Check timeout, so one the end does not
	 * wake fails the case) returns the ended task. */
	ck_assert_int_eq(pthread_create(&w.th, NULL, task_waiter_run, &w), 0);
	usleep(100 * 1000); /* likely asleep by now; correct either way */
	opsd_task_end(t, NULL);
	ck_assert_int_eq(pthread_join(w.th, NULL), 0);
	ck_assert_int_eq(w.rec.state, XOPS_TASK_STATE_COMPLETED);
	ck_assert(w.rec.progress == 1.0);
	xbt_record_release(&xops_class_task, &w.rec);
	/* An ended task: at once, whatever was seen. */
	wait_rec("1", 1.0, 60, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	xbt_record_release(&xops_class_task, &r);

	/* Progress returns once the task has run 0.2 s, at once after. */
	old = new_task("OpaqueRef:o", "2");
	usleep(250 * 1000);
	opsd_task_progress(old, 0.4);
	wait_rec("2", 0.0, 60, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_PENDING);
	ck_assert(r.progress == 0.4);
	xbt_record_release(&xops_class_task, &r);
	opsd_task_end(old, NULL);

	call_fails("TASK.wait", strs("d", "9", NULL),
		   XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, 3, "TASK.wait", "4",
		   "2");
}
END_TEST

START_TEST(test_task_wait_unknown)
{
	xmlrpc_value *p = xbt_value_array();

	xbt_value_push(p, xbt_value_string("d"));
	xbt_value_push(p, xbt_value_string("nope"));
	xbt_value_push(p, xbt_value_float(0.0));
	xbt_value_push(p, xbt_value_int(0));
	call_fails("TASK.wait", p, XBT_ERR_HANDLE_INVALID, 2, "TASK", "nope");
}
END_TEST

/* ---- dispatch ------------------------------------------------------------------ */

/*
 * A disk record value for VMTESTSR, attached "RW": plugin_mode is its
 * "command=action;..." list ("" for all fine), then more device_config
 * keys and values, NULL-terminated.
 */
static xmlrpc_value *disk(const char *vdi, const char *plugin_mode, ...)
{
	xmlrpc_value *d = xbt_value_struct(), *dc = xbt_value_struct();
	char buf[128];
	va_list ap;

	xbt_value_put(dc, "mode", xbt_value_string(plugin_mode));
	va_start(ap, plugin_mode);
	for (const char *k = va_arg(ap, const char *); k;
	     k = va_arg(ap, const char *))
		xbt_value_put(dc, k, xbt_value_string(va_arg(ap, const char *)));
	va_end(ap);
	xbt_value_put(d, "sr_type", xbt_value_string("VMTEST"));
	xbt_value_put(d, "device_config", dc);
	xbt_value_put(d, "host_ref", xbt_value_string("OpaqueRef:host"));
	xbt_value_put(d, "sr_ref", xbt_value_string("OpaqueRef:sr"));
	xbt_value_put(d, "sr_uuid", xbt_value_string("sr-uuid"));
	snprintf(buf, sizeof(buf), "OpaqueRef:%s", vdi);
	xbt_value_put(d, "vdi_ref", xbt_value_string(buf));
	xbt_value_put(d, "vdi_uuid", xbt_value_string(vdi));
	snprintf(buf, sizeof(buf), "loc-%s", vdi);
	xbt_value_put(d, "vdi_location", xbt_value_string(buf));
	xbt_value_put(d, "mode", xbt_value_string("RW"));
	return d;
}

static xmlrpc_value *start_params(const char *dbg, const char *vm,
				  xmlrpc_value *disks)
{
	xmlrpc_value *p = strs(dbg, vm, "OpaqueRef:session", NULL);

	xbt_value_push(p, disks);
	return p;
}

static xmlrpc_value *disks_of(xmlrpc_value *first, ...)
{
	xmlrpc_value *a = xbt_value_array();
	va_list ap;

	va_start(ap, first);
	for (xmlrpc_value *d = first; d; d = va_arg(ap, xmlrpc_value *))
		xbt_value_push(a, d);
	va_end(ap);
	return a;
}

START_TEST(test_dispatch_errors)
{
	xmlrpc_value *p;

	call_fails("VM.reboot", strs("d", NULL), XBT_ERR_MESSAGE_METHOD_UNKNOWN,
		   1, "VM.reboot");
	call_fails("Async.VM.start", start_params("d", "vm", disks_of(NULL)),
		   XBT_ERR_MESSAGE_METHOD_UNKNOWN, 1, "Async.VM.start");
	call_fails("session.login_with_password", strs("root", "xbt", NULL),
		   XBT_ERR_MESSAGE_METHOD_UNKNOWN, 1,
		   "session.login_with_password");
	call_fails("", strs(NULL), XBT_ERR_MESSAGE_METHOD_UNKNOWN, 1, "");
	/* Arity: [method, expected, received]; there is no session. */
	call_fails("TASK.stat", strs("d", NULL),
		   XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, 3, "TASK.stat",
		   "2", "1");
	call_fails("TASK.list", strs(NULL),
		   XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, 3, "TASK.list",
		   "1", "0");
	call_fails("UPDATES.get", strs("d", "0", "1", "2", NULL),
		   XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, 3, "UPDATES.get",
		   "3", "4");
	p = start_params("d", "vm", disks_of(NULL));
	xbt_value_push(p, xbt_value_bool(true));
	call_fails("VM.start", p, XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, 3,
		   "VM.start", "4", "5");
	call_fails("VM.shutdown", start_params("d", "vm", disks_of(NULL)),
		   XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, 3, "VM.shutdown",
		   "5", "4");
	/* Types. */
	p = strs("d", "vm", "OpaqueRef:session", "not an array", NULL);
	call_fails("VM.start", p, XBT_ERR_XMLRPC_UNMARSHAL_FAILURE, 2,
		   "set (record disk)", "string \"not an array\"");
	{
		xmlrpc_value *bad = disk("vdi-a", "", NULL);
		xbt_value_put(bad, "mode", xbt_value_string("XX"));
		call_fails("VM.start",
			   start_params("d", "vm", disks_of(disk("vdi-0", "",
							NULL), bad, NULL)),
			   XBT_ERR_XMLRPC_UNMARSHAL_FAILURE, 2,
			   "enum disk_mode",
			   "string \"XX\" at field \"mode\" in element 1");
	}
	call_fails("UPDATES.get", strs("d", "zero", "1", NULL),
		   XBT_ERR_XMLRPC_UNMARSHAL_FAILURE, 2, "int", "string \"zero\"");
	/* Nothing was started by any of these. */
	check_eq_free(list_ids(), "");
}
END_TEST

START_TEST(test_list_methods)
{
	static const char *const want[] = {
		"system.listMethods", "VM.start", "VM.shutdown", "VM.destroy",
		"VM.list", "TASK.stat", "TASK.wait", "TASK.cancel",
		"TASK.destroy", "TASK.list", "UPDATES.get",
	};
	xmlrpc_value *r = call_ok("system.listMethods", strs(NULL));

	ck_assert_uint_eq(xbt_value_size(r), 11);
	for (size_t i = 0; i < 11; i++) {
		xmlrpc_value *v = xbt_value_item(r, i);
		check_eq_free(text_of(v), want[i]);
		xmlrpc_DECREF(v);
	}
	xmlrpc_DECREF(r);
}
END_TEST

/* ---- VM jobs through the fixture plugin ---------------------------------------- */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Submits VM.start or VM.shutdown; returns the task id (caller frees). */
static char *submit(const char *method, xmlrpc_value *params)
{
	xmlrpc_value *r = call_ok(method, params);
	char *id = text_of(r);

	xmlrpc_DECREF(r);
	return id;
}

/* Waits through UPDATES.get until task id has ended; *rec gets it. */
static void wait_ended(const char *id, struct xops_task_record *rec)
{
	double deadline = mono_now() + TASK_DEADLINE_S;
	int64_t last = 0;

	for (;;) {
		char *ids;
		stat_rec(id, rec);
		if (rec->state != XOPS_TASK_STATE_PENDING)
			return;
		xbt_record_release(&xops_class_task, rec);
		ck_assert_msg(mono_now() < deadline, "task %s still pending", id);
		ids = updates(last, 5, &last);
		free(ids);
	}
}

/* Waits until task id's subtask `step` is pending (a plugin runs it). */
static void wait_step_pending(const char *id, const char *step)
{
	double deadline = mono_now() + TASK_DEADLINE_S;

	for (;;) {
		struct xops_task_record r;
		const char *s;
		bool there;
		stat_rec(id, &r);
		s = xbt_map_get(&r.subtasks, step);
		there = s && strcmp(s, "pending") == 0;
		ck_assert_int_eq(r.state, XOPS_TASK_STATE_PENDING);
		xbt_record_release(&xops_class_task, &r);
		if (there)
			return;
		ck_assert_msg(mono_now() < deadline, "%s never ran", step);
		usleep(20 * 1000);
	}
}

/* A journal file for VMTESTSR (caller frees the path and unlinks it). */
static char *journal_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xbt_calloc(1, 4096);
	int fd;

	snprintf(path, 4096, "%s/check_opsd-journal-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	return path;
}

/* The journal's lines, unlinked after reading. */
static char *journal_take(char *path)
{
	xbt_buf b = XBT_BUF_INIT;
	char line[512];
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	xbt_buf_addstr(&b, "");
	while (fgets(line, sizeof(line), f))
		xbt_buf_addstr(&b, line);
	fclose(f);
	unlink(path);
	free(path);
	return xbt_buf_detach(&b, NULL);
}

START_TEST(test_vm_start_two_disks)
{
	struct xops_task_record r;
	xmlrpc_value *p, *ro;
	char *id, *journal = journal_new();

	/* The second disk read-only: its attach gets "false". */
	ro = disk("vdi-b", "", "journal", journal, NULL);
	xbt_value_put(ro, "mode", xbt_value_string("RO"));
	id = submit("VM.start", start_params("OpaqueRef:xapi-task", "vm-1",
		    disks_of(disk("vdi-a", "", "journal", journal, NULL), ro,
			     NULL)));
	ck_assert_str_eq(id, "1");
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	ck_assert_str_eq(r.id, "1");
	ck_assert_str_eq(r.dbg, "OpaqueRef:xapi-task");
	ck_assert(r.progress == 1.0);
	ck_assert(r.duration >= 0.0);
	ck_assert_uint_eq(r.error.n, 0);
	ck_assert_str_eq(r.backtrace, "()");
	ck_assert_str_eq(r.result, "");
	ck_assert(!r.cancellable);
	check_map(&r.subtasks,
		  "vdi_attach vdi-a=completed;vdi_activate vdi-a=completed;"
		  "vdi_attach vdi-b=completed;vdi_activate vdi-b=completed;");
	check_map(&r.debug_info, "operation=start;vm=vm-1;");
	xbt_record_release(&xops_class_task, &r);
	free(id);

	/* The VM is free again: shutdown, last disk first. */
	p = start_params("OpaqueRef:xapi-task-2", "vm-1",
			 disks_of(disk("vdi-a", "", "journal", journal, NULL),
				  disk("vdi-b", "", "journal", journal, NULL),
				  NULL));
	xbt_value_push(p, xbt_value_bool(false));
	id = submit("VM.shutdown", p);
	ck_assert_str_eq(id, "2");
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	check_map(&r.subtasks,
		  "vdi_deactivate vdi-b=completed;vdi_detach vdi-b=completed;"
		  "vdi_deactivate vdi-a=completed;vdi_detach vdi-a=completed;");
	check_map(&r.debug_info, "operation=clean_shutdown;vm=vm-1;");
	xbt_record_release(&xops_class_task, &r);
	free(id);
	check_eq_free(journal_take(journal),
		      "vdi_attach loc-vdi-a true\n"
		      "vdi_activate loc-vdi-a\n"
		      "vdi_attach loc-vdi-b false\n"
		      "vdi_activate loc-vdi-b\n"
		      "vdi_deactivate loc-vdi-b\n"
		      "vdi_detach loc-vdi-b\n"
		      "vdi_deactivate loc-vdi-a\n"
		      "vdi_detach loc-vdi-a\n");
}
END_TEST

/* One expected frame of a backtrace; line 0: any positive line. */
struct want {
	const char *process;
	const char *file;
	int line;
	const char *name;
	bool is_raise;
};

static int line_of(const char *path, const char *needle)
{
	char line[1024];
	int n = 0, found = 0;
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (!found && fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, needle))
			found = n;
	}
	fclose(f);
	ck_assert_msg(found, "%s: no line with %s", path, needle);
	return found;
}

static void check_frames(const char *sexp, const struct want *w, size_t n)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_error *e = xbt_backtrace_from_sexp(sexp, strlen(sexp), &bt);

	ck_assert_msg(e == NULL, "backtrace does not parse: %s", sexp);
	ck_assert_uint_eq(bt.n, n);
	for (size_t i = 0; i < n; i++) {
		const xbt_frame *f = &bt.frames[i];
		ck_assert_str_eq(f->process, w[i].process);
		ck_assert_str_eq(f->filename, w[i].file);
		if (w[i].line)
			ck_assert_int_eq(f->line, w[i].line);
		else
			ck_assert_int_gt(f->line, 0);
		if (w[i].name)
			ck_assert_str_eq(f->name, w[i].name);
		else
			ck_assert_ptr_null(f->name);
		ck_assert_int_eq(f->is_raise, w[i].is_raise);
		ck_assert_int_eq(f->is_inline, false);
	}
	xbt_backtrace_release(&bt);
}

#define OPSD_FRAME(file, fn, raise) \
	{ OPSD_PROCESS, "server/" file, 0, fn, raise }

START_TEST(test_vm_start_plugin_failure)
{
	const char *plugin = SM_FIXTURE_DIR "/VMTESTSR";
	const char *kit = SM_FIXTURE_DIR "/xbtsm.py";
	struct xops_task_record r;
	xmlrpc_value *p;
	char *id;

	/* The second disk's attach fails: the first one is undone. */
	id = submit("VM.start", start_params("OpaqueRef:xapi-task", "vm-1",
		    disks_of(disk("vdi-a", "", NULL),
			     disk("vdi-b", "vdi_attach=backend:46", NULL),
			     NULL)));
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_FAILED);
	ck_assert_str_eq(r.dbg, "OpaqueRef:xapi-task");
	check_strv(&r.error,
		   "SR_BACKEND_FAILURE_46||backend 46 in vdi_attach|");
	check_map(&r.subtasks,
		  "vdi_attach vdi-a=completed;vdi_activate vdi-a=completed;"
		  "vdi_attach vdi-b=failed;vdi_deactivate vdi-a=completed;"
		  "vdi_detach vdi-a=completed;");
	ck_assert(!r.cancellable);
	ck_assert(r.duration >= 0.0);
	ck_assert_str_eq(r.result, "");
	{
		struct want w[] = {
			/* The plugin's Python frames, innermost first. */
			{ PLUGIN_PROCESS, plugin,
			  line_of(plugin, "# frame: backend_inner"), NULL,
			  true },
			{ PLUGIN_PROCESS, plugin,
			  line_of(plugin, "# frame: backend_outer"), NULL,
			  false },
			{ PLUGIN_PROCESS, plugin,
			  line_of(plugin, "backend_outer(arg, "), NULL, false },
			{ PLUGIN_PROCESS, kit,
			  line_of(kit, "# xbtsm: the plugin's frames start here"),
			  NULL, false },
			/* opsd's: the decoder, the runner, the job. */
			OPSD_FRAME("common/sm_decode.c", "sm_decode_wbt", true),
			OPSD_FRAME("common/sm_decode.c", "sm_decode_failure",
				   false),
			OPSD_FRAME("common/sm_decode.c", "sm_decode_value", false),
			OPSD_FRAME("common/sm_decode.c", "sm_decode", false),
			OPSD_FRAME("common/sm_run.c", "sm_call", false),
			OPSD_FRAME("common/vmops.c", "vmops_step", false),
			OPSD_FRAME("common/vmops.c", "vmops_start", false),
			OPSD_FRAME("xenops/vm.c", "vm_job_steps", false),
			OPSD_FRAME("xenops/vm.c", "vm_job_run", false),
		};
		check_frames(r.backtrace, w, sizeof(w) / sizeof(w[0]));
	}
	xbt_record_release(&xops_class_task, &r);
	free(id);

	/* A plain fault: SR_BACKEND_FAILURE_<N> ["", faultString, stderr];
	 * the failing activate is undone by a detach. */
	id = submit("VM.start", start_params("d", "vm-1",
		    disks_of(disk("vdi-a", "vdi_activate=fault:77", NULL),
			     NULL)));
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_FAILED);
	check_strv(&r.error, "SR_BACKEND_FAILURE_77||fault 77 in vdi_activate|"
		   "stderr of fault 77\n");
	check_map(&r.subtasks, "vdi_attach vdi-a=completed;"
		  "vdi_activate vdi-a=failed;vdi_detach vdi-a=completed;");
	{
		struct want w[] = {
			OPSD_FRAME("common/sm_decode.c", "sm_decode_fault", true),
			OPSD_FRAME("common/sm_decode.c", "sm_decode", false),
			OPSD_FRAME("common/sm_run.c", "sm_call", false),
			OPSD_FRAME("common/vmops.c", "vmops_step", false),
			OPSD_FRAME("common/vmops.c", "vmops_start", false),
			OPSD_FRAME("xenops/vm.c", "vm_job_steps", false),
			OPSD_FRAME("xenops/vm.c", "vm_job_run", false),
		};
		check_frames(r.backtrace, w, sizeof(w) / sizeof(w[0]));
	}
	xbt_record_release(&xops_class_task, &r);
	free(id);

	/* No such plugin. */
	p = disk("vdi-a", "", NULL);
	xbt_value_put(p, "sr_type", xbt_value_string("NOSUCH"));
	id = submit("VM.start", start_params("d", "vm-1", disks_of(p, NULL)));
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_FAILED);
	check_strv(&r.error, "SR_UNKNOWN_DRIVER|NOSUCH");
	check_map(&r.subtasks, "vdi_attach vdi-a=failed;");
	xbt_record_release(&xops_class_task, &r);
	free(id);
}
END_TEST

START_TEST(test_vm_shutdown_clean_stops_hard_goes_on)
{
	struct xops_task_record r;
	xmlrpc_value *p;
	char *id;

	/* Clean: the last disk goes first, and its failure stops it. */
	p = start_params("d", "vm-1", disks_of(disk("vdi-a", "", NULL),
		disk("vdi-b", "*=fault:5", NULL), NULL));
	xbt_value_push(p, xbt_value_bool(false));
	id = submit("VM.shutdown", p);
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_FAILED);
	check_strv(&r.error, "SR_BACKEND_FAILURE_5||fault 5 in vdi_deactivate|"
		   "stderr of fault 5\n");
	check_map(&r.subtasks, "vdi_deactivate vdi-b=failed;");
	check_map(&r.debug_info, "operation=clean_shutdown;vm=vm-1;");
	xbt_record_release(&xops_class_task, &r);
	free(id);

	/* Hard: failures are logged and it goes on to the end. */
	p = start_params("d", "vm-1", disks_of(disk("vdi-a", "", NULL),
		disk("vdi-b", "*=fault:5", NULL), NULL));
	xbt_value_push(p, xbt_value_bool(true));
	id = submit("VM.shutdown", p);
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	check_strv(&r.error, "");
	ck_assert_str_eq(r.backtrace, "()");
	check_map(&r.subtasks,
		  "vdi_deactivate vdi-b=failed;vdi_detach vdi-b=failed;"
		  "vdi_deactivate vdi-a=completed;vdi_detach vdi-a=completed;");
	check_map(&r.debug_info, "operation=hard_shutdown;vm=vm-1;");
	xbt_record_release(&xops_class_task, &r);
	free(id);
}
END_TEST

START_TEST(test_vm_busy_then_cancel)
{
	struct xops_task_record r;
	xmlrpc_value *p;
	char *id, *other;

	/* The first disk comes up, the second's attach hangs. */
	id = submit("VM.start", start_params("OpaqueRef:xapi-hang", "vm-1",
		    disks_of(disk("vdi-a", "", NULL),
			     disk("vdi-b", "vdi_attach=hang", NULL), NULL)));
	ck_assert_str_eq(id, "1");
	wait_step_pending(id, "vdi_attach vdi-b");

	/* One operation per VM: start and shutdown are refused. */
	call_fails("VM.start", start_params("d2", "vm-1",
		   disks_of(disk("vdi-a", "", NULL), NULL)),
		   XBT_ERR_OTHER_OPERATION_IN_PROGRESS, 4, "VM", "vm-1", "start",
		   id);
	p = start_params("d3", "vm-1", disks_of(NULL));
	xbt_value_push(p, xbt_value_bool(true));
	call_fails("VM.shutdown", p, XBT_ERR_OTHER_OPERATION_IN_PROGRESS, 4,
		   "VM", "vm-1", "start", id);
	/* No task was made for them; another VM is not held up. */
	check_eq_free(list_ids(), "1");
	other = submit("VM.start", start_params("d4", "vm-2",
		       disks_of(disk("vdi-c", "", NULL), NULL)));
	ck_assert_str_eq(other, "2");
	wait_ended(other, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	xbt_record_release(&xops_class_task, &r);
	free(other);
	call_fails("TASK.destroy", strs("d", id, NULL),
		   XBT_ERR_OPERATION_NOT_ALLOWED, 1, "Task is pending");

	/* Cancel: the plugin is killed, the first disk undone. */
	call_void("TASK.cancel", strs("d", id, NULL));
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_FAILED);
	check_strv(&r.error, "TASK_CANCELLED|OpaqueRef:xapi-hang");
	check_map(&r.subtasks,
		  "vdi_attach vdi-a=completed;vdi_activate vdi-a=completed;"
		  "vdi_attach vdi-b=failed;vdi_deactivate vdi-a=completed;"
		  "vdi_detach vdi-a=completed;");
	ck_assert(!r.cancellable);
	{
		xbt_backtrace bt = XBT_BACKTRACE_INIT;
		ck_assert_ptr_null(xbt_backtrace_from_sexp(
			r.backtrace, strlen(r.backtrace), &bt));
		ck_assert_uint_ge(bt.n, 3);
		for (size_t i = 0; i < bt.n; i++)
			ck_assert_str_eq(bt.frames[i].process, OPSD_PROCESS);
		ck_assert(bt.frames[0].is_raise);
		ck_assert_str_eq(bt.frames[0].filename,
				 "server/common/sm_run.c");
		ck_assert_str_eq(bt.frames[bt.n - 1].name, "vm_job_run");
		xbt_backtrace_release(&bt);
	}
	xbt_record_release(&xops_class_task, &r);

	/* The VM is free again; the ended task can go. */
	call_void("TASK.destroy", strs("d", id, NULL));
	free(id);
	id = submit("VM.start", start_params("d5", "vm-1",
		    disks_of(disk("vdi-a", "", NULL), NULL)));
	wait_ended(id, &r);
	ck_assert_int_eq(r.state, XOPS_TASK_STATE_COMPLETED);
	xbt_record_release(&xops_class_task, &r);
	free(id);
}
END_TEST

/* A start made after opsd_task_cancel_all is refused before any work. */
START_TEST(test_vm_start_while_stopping)
{
	opsd_task_cancel_all();
	call_fails("VM.start", start_params("d", "vm-1",
		   disks_of(disk("vdi-a", "", NULL), NULL)),
		   XBT_ERR_OPERATION_NOT_ALLOWED, 1, "xbt-opsd is stopping");
	/* The VM was not left claimed. */
	check_eq_free(list_ids(), "");
}
END_TEST

static Suite *opsd_suite(void)
{
	Suite *s = suite_create("opsd");
	TCase *table = tcase_create("table");
	TCase *upd = tcase_create("updates");
	TCase *disp = tcase_create("dispatch");
	TCase *jobs = tcase_create("jobs");

	tcase_add_checked_fixture(table, setup, teardown);
	tcase_set_timeout(table, 30);
	tcase_add_test(table, test_task_record_every_field);
	tcase_add_test(table, test_unknown_ids_destroy_and_list);
	tcase_add_test(table, test_cancel_fires_the_switch);
	tcase_add_test(table, test_task_max);
	suite_add_tcase(s, table);

	tcase_add_checked_fixture(upd, setup, teardown);
	tcase_set_timeout(upd, 30);
	tcase_add_test(upd, test_updates_tokens_and_order);
	tcase_add_test(upd, test_updates_waiter_is_woken);
	tcase_add_test(upd, test_task_wait);
	tcase_add_test(upd, test_task_wait_unknown);
	tcase_add_test(upd, test_cancel_all_wakes_and_refuses);
	suite_add_tcase(s, upd);

	tcase_add_checked_fixture(disp, setup, teardown);
	tcase_set_timeout(disp, 30);
	tcase_add_test(disp, test_dispatch_errors);
	tcase_add_test(disp, test_list_methods);
	suite_add_tcase(s, disp);

	tcase_add_checked_fixture(jobs, setup, teardown);
	tcase_set_timeout(jobs, 120);
	tcase_add_test(jobs, test_vm_start_two_disks);
	tcase_add_test(jobs, test_vm_start_plugin_failure);
	tcase_add_test(jobs, test_vm_shutdown_clean_stops_hard_goes_on);
	tcase_add_test(jobs, test_vm_busy_then_cancel);
	tcase_add_test(jobs, test_vm_start_while_stopping);
	suite_add_tcase(s, jobs);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	log_init("check_opsd", LOG_LEVEL_ERROR, false);
	sm_init(NULL);
	sr = srunner_create(opsd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
