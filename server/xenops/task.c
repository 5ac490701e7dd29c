/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opsd's task table and the TASK and UPDATES messages. A task is
 * xenopsd's Task.t (idl/xenops.xml): the job that runs it fills in
 * progress, steps and, at its end, the result or the error and its
 * backtrace. Every change bumps one generation counter; UPDATES.get
 * sleeps on it, so xbtd waits for its task without polling.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "opsd.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"

struct opsd_task {
	TAILQ_ENTRY(opsd_task) link;
	struct xops_task_record rec;
	uint64_t gen;            /* of its last change */
	struct sm_cancel *cancel;
	bool running;            /* its job holds it: no destroy */
	struct timespec started; /* CLOCK_MONOTONIC, for duration */
	int64_t ended;           /* wall seconds at its end; 0 while pending */
};

static TAILQ_HEAD(, opsd_task) task_list = TAILQ_HEAD_INITIALIZER(task_list);
static pthread_mutex_t task_lock = PTHREAD_MUTEX_INITIALIZER;
/* Two conditions, so that a step does not wake every TASK.wait: */
static pthread_cond_t task_changed;  /* any change: UPDATES.get */
static pthread_cond_t task_moved;    /* progress or end: TASK.wait */
static unsigned task_updates_waiters, task_wait_waiters;
static uint64_t task_gen;        /* last generation handed out */
static uint64_t task_next_id = 1;
static size_t task_count;
static bool task_stopping;       /* waiters return at once */

void opsd_task_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&task_changed, &a);
	pthread_cond_init(&task_moved, &a);
	pthread_condattr_destroy(&a);
}

static double task_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Under the lock: the task changed; moved: its progress or its end. */
static void task_touch(struct opsd_task *t, bool moved)
{
	t->gen = ++task_gen;
	if (task_updates_waiters)
		pthread_cond_broadcast(&task_changed);
	if (moved && task_wait_waiters)
		pthread_cond_broadcast(&task_moved);
}

static void task_free(struct opsd_task *t)
{
	xbt_record_release(&xops_class_task, &t->rec);
	sm_cancel_free(t->cancel);
	free(t);
}

/* Under the lock. */
static struct opsd_task *task_find(const char *id)
{
	struct opsd_task *t;

	TAILQ_FOREACH(t, &task_list, link)
		if (strcmp(t->rec.id, id) == 0)
			return t;
	return NULL;
}

static xbt_error *task_need(const char *id, struct opsd_task **out)
{
	xbt_error *err = NULL;

	*out = task_find(id);
	if (!*out)
		err = XBT_RAISE_HANDLE_INVALID("TASK", id);
	return err;
}

/* Under the lock: drops ended tasks older than the age limit, then the
 * oldest ended ones while more than `keep` tasks remain. */
static void task_drop_ended(int64_t now, size_t keep)
{
	struct opsd_task *t, *next;

	for (t = TAILQ_FIRST(&task_list); t; t = next) {
		bool old;
		next = TAILQ_NEXT(t, link);
		if (t->running || !t->ended)
			continue;
		old = opsd_conf.task_max_age_s &&
		      now - t->ended > (int64_t)opsd_conf.task_max_age_s;
		if (old || task_count > keep) {
			TAILQ_REMOVE(&task_list, t, link);
			task_count--;
			task_free(t);
		}
	}
}

void opsd_task_gc(int64_t now)
{
	pthread_mutex_lock(&task_lock);
	task_drop_ended(now, opsd_conf.task_max);
	pthread_mutex_unlock(&task_lock);
}

xbt_error *opsd_task_new(const char *dbg, const char *op, const char *vm,
			 struct opsd_task **out, char **id)
{
	struct opsd_task *t = NULL;
	char idbuf[32];
	xbt_error *err = NULL;

	pthread_mutex_lock(&task_lock);
	if (task_stopping) {
		err = XBT_RAISE_OPERATION_NOT_ALLOWED("xbt-opsd is stopping");
		goto out;
	}
	if (task_count >= opsd_conf.task_max)
		task_drop_ended((int64_t)task_wall_now(),
				opsd_conf.task_max ? opsd_conf.task_max - 1 : 0);
	if (task_count >= opsd_conf.task_max) {
		err = XBT_RAISE_OPERATION_NOT_ALLOWED(
			"too many tasks: destroy ended ones first");
		goto out;
	}
	t = xbt_calloc(1, sizeof(*t));
	xbt_record_init(&xops_class_task, &t->rec);
	snprintf(idbuf, sizeof(idbuf), "%llu",
		 (unsigned long long)task_next_id++);
	free(t->rec.id);
	t->rec.id = xbt_strdup(idbuf);
	free(t->rec.dbg);
	t->rec.dbg = xbt_strdup(dbg);
	t->rec.ctime = task_wall_now();
	t->rec.state = XOPS_TASK_STATE_PENDING;
	t->rec.cancellable = true;
	xbt_map_set(&t->rec.debug_info, "operation", op);
	xbt_map_set(&t->rec.debug_info, "vm", vm);
	t->cancel = sm_cancel_new(dbg);
	t->running = true;
	clock_gettime(CLOCK_MONOTONIC, &t->started);
	TAILQ_INSERT_TAIL(&task_list, t, link);
	task_count++;
	task_touch(t, false);
	*out = t;
	*id = xbt_strdup(idbuf);
out:
	pthread_mutex_unlock(&task_lock);
	return err;
}

const char *opsd_task_dbg(const struct opsd_task *t)
{
	return t->rec.dbg; /* never changes after opsd_task_new */
}

struct sm_cancel *opsd_task_cancel_switch(struct opsd_task *t)
{
	return t->cancel;
}

void opsd_task_progress(struct opsd_task *t, double progress)
{
	pthread_mutex_lock(&task_lock);
	t->rec.progress = progress;
	task_touch(t, true);
	pthread_mutex_unlock(&task_lock);
}

void opsd_task_step(struct opsd_task *t, const char *name, int state)
{
	pthread_mutex_lock(&task_lock);
	xbt_map_set(&t->rec.subtasks, name, xops_enum_task_state.values[state]);
	task_touch(t, false);
	pthread_mutex_unlock(&task_lock);
}

void opsd_task_end(struct opsd_task *t, const xbt_error *err)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&task_lock);
	t->rec.duration = (double)(now.tv_sec - t->started.tv_sec) +
			  (double)(now.tv_nsec - t->started.tv_nsec) / 1e9;
	if (err) {
		xbt_buf bt = XBT_BUF_INIT;
		t->rec.state = XOPS_TASK_STATE_FAILED;
		xbt_strv_clear(&t->rec.error);
		xbt_strv_add(&t->rec.error, err->code);
		for (size_t i = 0; i < err->nparams; i++)
			xbt_strv_add(&t->rec.error, err->params[i]);
		xbt_backtrace_to_sexp(&err->bt, &bt);
		free(t->rec.backtrace);
		t->rec.backtrace = xbt_buf_detach(&bt, NULL);
	} else {
		t->rec.state = XOPS_TASK_STATE_COMPLETED;
		t->rec.progress = 1.0;
	}
	t->rec.cancellable = false;
	t->running = false;
	/* Its job is over: the switch (an eventfd) is no longer needed. */
	sm_cancel_free(t->cancel);
	t->cancel = NULL;
	t->ended = (int64_t)task_wall_now();
	if (t->ended <= 0)
		t->ended = 1;
	task_touch(t, true);
	pthread_mutex_unlock(&task_lock);
}

void opsd_task_cancel_all(void)
{
	struct opsd_task *t;

	pthread_mutex_lock(&task_lock);
	task_stopping = true;
	TAILQ_FOREACH(t, &task_list, link)
		if (t->running)
			sm_cancel_fire(t->cancel);
	pthread_cond_broadcast(&task_changed);
	pthread_cond_broadcast(&task_moved);
	pthread_mutex_unlock(&task_lock);
}

void opsd_task_shutdown(void)
{
	struct opsd_task *t;

	pthread_mutex_lock(&task_lock);
	while ((t = TAILQ_FIRST(&task_list))) {
		TAILQ_REMOVE(&task_list, t, link);
		task_free(t);
	}
	task_count = 0;
	pthread_mutex_unlock(&task_lock);
	pthread_cond_destroy(&task_changed);
	pthread_cond_destroy(&task_moved);
}

/* ---- messages ------------------------------------------------------------ */

xbt_error *opsd_task_stat(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	struct opsd_task *t;
	xbt_error *err;

	pthread_mutex_lock(&task_lock);
	err = XBT_PROPAGATE(task_need(call->argv[1].s, &t));
	if (!err)
		*result = xbt_record_to_value(&xops_class_task, &t->rec);
	pthread_mutex_unlock(&task_lock);
	return err;
}

static double task_age(const struct opsd_task *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->started.tv_sec) +
	       (double)(now.tv_nsec - t->started.tv_nsec) / 1e9;
}

static struct timespec task_at(const struct timespec *base, double after)
{
	struct timespec at = *base;
	long long ns = at.tv_nsec + (long long)(after * 1e9);

	at.tv_sec += (time_t)(ns / 1000000000LL);
	at.tv_nsec = (long)(ns % 1000000000LL);
	return at;
}

xbt_error *opsd_task_wait(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	const char *id = call->argv[1].s;
	double seen = call->argv[2].d;
	int64_t timeout = call->argv[3].i;
	struct timespec now, deadline;
	struct opsd_task *t;
	xbt_error *err;

	if (timeout < 0)
		timeout = 0;
	if (timeout > OPSD_UPDATES_MAX_WAIT_S)
		timeout = OPSD_UPDATES_MAX_WAIT_S;
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = task_at(&now, (double)timeout);
	pthread_mutex_lock(&task_lock);
	for (;;) {
		struct timespec wake = deadline;
		bool moved;
		int rc;
		/* Destroyed by someone else while we slept: say so. */
		if ((err = XBT_PROPAGATE(task_need(id, &t))))
			break;
		moved = t->rec.progress != seen;
		if (!t->running || task_stopping ||
		    (moved && task_age(t) >= OPSD_WAIT_PROGRESS_AFTER_S))
			break;
		if (moved) {
			struct timespec at = task_at(&t->started,
						     OPSD_WAIT_PROGRESS_AFTER_S);
			if (at.tv_sec < wake.tv_sec ||
			    (at.tv_sec == wake.tv_sec && at.tv_nsec < wake.tv_nsec))
				wake = at;
		}
		task_wait_waiters++;
		rc = pthread_cond_timedwait(&task_moved, &task_lock, &wake);
		task_wait_waiters--;
		if (rc == ETIMEDOUT &&
		    wake.tv_sec == deadline.tv_sec &&
		    wake.tv_nsec == deadline.tv_nsec)
			break;
	}
	if (!err)
		*result = xbt_record_to_value(&xops_class_task, &t->rec);
	pthread_mutex_unlock(&task_lock);
	return err;
}

xbt_error *opsd_task_cancel(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	struct opsd_task *t;
	xbt_error *err;

	pthread_mutex_lock(&task_lock);
	err = XBT_PROPAGATE(task_need(call->argv[1].s, &t));
	if (!err && t->running) {
		log_info("task %s (%s): cancelling", t->rec.id, t->rec.dbg);
		sm_cancel_fire(t->cancel);
	}
	pthread_mutex_unlock(&task_lock);
	return err;
}

xbt_error *opsd_task_destroy(struct call *call, xmlrpc_value *const *args,
			     xmlrpc_value **result)
{
	struct opsd_task *t;
	xbt_error *err;

	pthread_mutex_lock(&task_lock);
	err = XBT_PROPAGATE(task_need(call->argv[1].s, &t));
	if (!err && t->running)
		err = XBT_RAISE_OPERATION_NOT_ALLOWED("Task is pending");
	if (!err) {
		TAILQ_REMOVE(&task_list, t, link);
		task_count--;
		task_free(t);
	}
	pthread_mutex_unlock(&task_lock);
	return err;
}

xbt_error *opsd_task_list(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	struct opsd_task *t;

	pthread_mutex_lock(&task_lock);
	*result = xbt_value_array();
	TAILQ_FOREACH(t, &task_list, link)
		xbt_value_push(*result,
			       xbt_record_to_value(&xops_class_task, &t->rec));
	pthread_mutex_unlock(&task_lock);
	return NULL;
}

static int task_by_gen(const void *a, const void *b)
{
	const struct opsd_task *x = *(struct opsd_task *const *)a;
	const struct opsd_task *y = *(struct opsd_task *const *)b;

	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

xbt_error *opsd_updates_get(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	int64_t last = call->argv[1].i, timeout = call->argv[2].i;
	struct xops_updates_record u;
	struct opsd_task **changed = NULL, *t;
	struct timespec until;
	size_t n = 0;

	if (timeout < 0)
		timeout = 0;
	if (timeout > OPSD_UPDATES_MAX_WAIT_S)
		timeout = OPSD_UPDATES_MAX_WAIT_S;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)timeout;
	pthread_mutex_lock(&task_lock);
	/* A token from another run of opsd (or none) reads as 0. */
	if (last < 0 || (uint64_t)last > task_gen)
		last = 0;
	task_updates_waiters++;
	while (!task_stopping && task_gen <= (uint64_t)last &&
	       pthread_cond_timedwait(&task_changed, &task_lock, &until) !=
		       ETIMEDOUT)
		;
	task_updates_waiters--;
	changed = xbt_calloc(task_count ? task_count : 1, sizeof(*changed));
	TAILQ_FOREACH(t, &task_list, link)
		if (t->gen > (uint64_t)last)
			changed[n++] = t;
	qsort(changed, n, sizeof(*changed), task_by_gen);
	xbt_record_init(&xops_class_updates, &u);
	u.id = (int64_t)task_gen;
	for (size_t i = 0; i < n; i++)
		xbt_strv_add(&u.tasks, changed[i]->rec.id);
	pthread_mutex_unlock(&task_lock);
	*result = xbt_record_to_value(&xops_class_updates, &u);
	xbt_record_release(&xops_class_updates, &u);
	free(changed);
	return NULL;
}
