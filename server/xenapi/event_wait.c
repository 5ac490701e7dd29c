/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The thread that answers parked event waits.
 *
 * A wait costs no thread while it is parked: its connection is suspended
 * in the HTTP front, its state is an event_wait here. This thread sleeps
 * until the event log wakes it (a change, a session's end, the stop: the
 * log's wake hook), a wait is parked, a client goes (the front's on_gone
 * hook) or the earliest deadline passes. Then it looks again for every
 * wait the wake concerns, outside its lock, and answers those that are
 * done. A wait whose client went is dropped: its connection closes.
 *
 * Parked waits count against the connection limits like any connection.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "event_wait.h"
#include "evlog.h"
#include "log.h"
#include "xbtd.h"

TAILQ_HEAD(event_wait_list, event_wait);

static pthread_mutex_t ew_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ew_cond;          /* CLOCK_MONOTONIC */
static struct event_wait_list ew_waits = TAILQ_HEAD_INITIALIZER(ew_waits);
static atomic_uint ew_count;            /* parked: the hook's fast path */
static bool ew_events;                  /* the log changed */
static bool ew_gone;                    /* a client went */
static bool ew_fresh;                   /* a wait was parked */
static bool ew_stopping;
static bool ew_running;
static pthread_t ew_thread;

static bool ew_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static bool ew_has_deadline(const struct event_wait *w)
{
	return w->deadline.tv_sec || w->deadline.tv_nsec;
}

/* The log's wake hook: on every publish, poke and stop. */
static void ew_wake_events(void)
{
	if (!atomic_load_explicit(&ew_count, memory_order_relaxed))
		return;
	pthread_mutex_lock(&ew_lock);
	ew_events = true;
	pthread_cond_signal(&ew_cond);
	pthread_mutex_unlock(&ew_lock);
}

/* The front's on_gone hook. */
static void ew_wake_gone(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&ew_lock);
	ew_gone = true;
	pthread_cond_signal(&ew_cond);
	pthread_mutex_unlock(&ew_lock);
}

void event_wait_park(struct event_wait *w)
{
	rpc_park_on_gone(w->park, ew_wake_gone, NULL);
	w->fresh = true;
	pthread_mutex_lock(&ew_lock);
	TAILQ_INSERT_TAIL(&ew_waits, w, link);
	atomic_fetch_add(&ew_count, 1);
	ew_fresh = true;
	pthread_cond_signal(&ew_cond);
	pthread_mutex_unlock(&ew_lock);
}

unsigned event_wait_count(void)
{
	return atomic_load(&ew_count);
}

/* Answers w (or drops it, its client gone) and frees it. */
static void ew_end(struct event_wait *w, bool drop, xmlrpc_value *result,
		   xbt_error *err)
{
	atomic_fetch_sub(&ew_count, 1);
	if (drop)
		rpc_park_drop(w->park);
	else
		rpc_park_finish(w->park, result, err);
	w->release(w);
}

/*
 * One pass over batch, no lock held: what each wake concerns. Waits not
 * done stay in batch.
 */
static void ew_pass(struct event_wait_list *batch, bool events, bool gone,
		    const struct timespec *now)
{
	struct event_wait *w, *next;

	for (w = TAILQ_FIRST(batch); w; w = next) {
		xmlrpc_value *result = NULL;
		xbt_error *err = NULL;
		bool due = ew_has_deadline(w) && !ew_before(now, &w->deadline);

		next = TAILQ_NEXT(w, link);
		/* At the stop every wait is answered, gone or not. */
		if (gone && !evlog_stopping() && rpc_park_gone(w->park)) {
			TAILQ_REMOVE(batch, w, link);
			ew_end(w, true, NULL, NULL);
			continue;
		}
		if (!(events || w->fresh || due || evlog_stopping()))
			continue;
		w->fresh = false;
		if (w->look(w, &result, &err)) {
			TAILQ_REMOVE(batch, w, link);
			ew_end(w, false, result, err);
		}
	}
}

static void *ew_main(void *unused)
{
	struct event_wait_list batch = TAILQ_HEAD_INITIALIZER(batch);

	(void)unused;
	log_set_thread_name("event-wait");
	pthread_mutex_lock(&ew_lock);
	for (;;) {
		struct timespec now, earliest = { 0, 0 };
		struct event_wait *w;
		bool events = ew_events, gone = ew_gone, fresh = ew_fresh;

		clock_gettime(CLOCK_MONOTONIC, &now);
		TAILQ_FOREACH(w, &ew_waits, link)
			if (ew_has_deadline(w) &&
			    (!(earliest.tv_sec || earliest.tv_nsec) ||
			     ew_before(&w->deadline, &earliest)))
				earliest = w->deadline;
		if (!events && !gone && !fresh &&
		    !(evlog_stopping() && !TAILQ_EMPTY(&ew_waits)) &&
		    !((earliest.tv_sec || earliest.tv_nsec) &&
		      !ew_before(&now, &earliest))) {
			if (ew_stopping && TAILQ_EMPTY(&ew_waits))
				break;
			if (earliest.tv_sec || earliest.tv_nsec)
				pthread_cond_timedwait(&ew_cond, &ew_lock,
						       &earliest);
			else
				pthread_cond_wait(&ew_cond, &ew_lock);
			continue;
		}
		ew_events = ew_gone = ew_fresh = false;
		TAILQ_CONCAT(&batch, &ew_waits, link);
		pthread_mutex_unlock(&ew_lock);
		ew_pass(&batch, events, gone, &now);
		pthread_mutex_lock(&ew_lock);
		/* Parked meanwhile go after those already waiting. */
		TAILQ_CONCAT(&batch, &ew_waits, link);
		TAILQ_CONCAT(&ew_waits, &batch, link);
	}
	pthread_mutex_unlock(&ew_lock);
	return NULL;
}

void event_wait_start(void)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ew_cond, &ca);
	pthread_condattr_destroy(&ca);
	ew_events = ew_gone = ew_fresh = ew_stopping = false;
	evlog_set_wake_hook(ew_wake_events);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ew_thread, NULL, ew_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		xbt_fatalx("event waits: pthread_create: %s", strerror(rc));
	ew_running = true;
}

void event_wait_stop(void)
{
	if (!ew_running)
		return;
	pthread_mutex_lock(&ew_lock);
	ew_stopping = true;
	pthread_cond_signal(&ew_cond);
	pthread_mutex_unlock(&ew_lock);
	pthread_join(ew_thread, NULL);
	evlog_set_wake_hook(NULL);
	pthread_cond_destroy(&ew_cond);
	ew_running = false;
}
