/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The threads that run calls. A call may take long (a plugin, a login's
 * delay), so there is no fixed pool that long calls could fill; but most
 * calls that come here are short (an event wait parks in microseconds),
 * and a burst of them should not make a thread each. So:
 * - a call that finds no idle thread gets a new one while there are fewer
 *   than HTTP_CALL_EAGER;
 * - past that, a monitor thread adds one when a call has waited
 *   HTTP_CALL_PATIENCE_MS with no idle thread, at most one per
 *   HTTP_CALL_PATIENCE_MS, up to max_threads (the connection limit):
 *   threads busy with long calls never hold others back for long;
 * - a thread idle for HTTP_CALL_IDLE_S ends unless it is one of the
 *   HTTP_CALL_KEEP kept for the next burst.
 * Call threads are detached; stop waits for the count to reach zero.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "http_priv.h"
#include "log.h"

#define HTTP_CALL_IDLE_S 10
#define HTTP_CALL_KEEP 4
#define HTTP_CALL_EAGER 16
#define HTTP_CALL_PATIENCE_MS 2

static void *http_call_thread(void *arg)
{
	struct http_calls *c = arg;

	log_name_thread("http-call");
	pthread_mutex_lock(&c->lock);
	c->nstarting--;
	for (;;) {
		struct http_call *call;
		bool timed_out = false;

		while (!c->stopping && STAILQ_EMPTY(&c->queue) && !timed_out) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += HTTP_CALL_IDLE_S;
			c->nidle++;
			timed_out = pthread_cond_timedwait(&c->work, &c->lock,
							   &until) == ETIMEDOUT;
			c->nidle--;
		}
		if (STAILQ_EMPTY(&c->queue) &&
		    (c->stopping || c->nthreads > HTTP_CALL_KEEP))
			break;
		if (STAILQ_EMPTY(&c->queue))
			continue;
		call = STAILQ_FIRST(&c->queue);
		STAILQ_REMOVE_HEAD(&c->queue, link);
		c->nqueued--;
		pthread_mutex_unlock(&c->lock);
		call->run(call);
		pthread_mutex_lock(&c->lock);
	}
	c->nthreads--;
	pthread_cond_broadcast(&c->gone);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* A thread with every asynchronous signal blocked (main sigwaits them). */
static int http_calls_spawn(pthread_t *t, void *(*fn)(void *), void *arg,
			    size_t stack, bool detached)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Under c->lock. Calls wait in the queue if no thread can be made. */
static void http_calls_grow(struct http_calls *c)
{
	pthread_t t;
	int rc = http_calls_spawn(&t, http_call_thread, c, c->stack_size, true);

	if (rc == 0) {
		c->nthreads++;
		c->nstarting++;
	}
	else if (c->nthreads == 0)
		xbt_fatalx("http: no thread can run calls: %s", strerror(rc));
	else
		log_warn("http: a call waits for a thread: %s", strerror(rc));
}

/* Under c->lock: a queued call has no idle (or starting) thread. */
static bool http_calls_short(const struct http_calls *c)
{
	return c->nqueued > c->nidle + c->nstarting &&
	       c->nthreads < c->max_threads;
}

static void *http_calls_monitor(void *arg)
{
	struct http_calls *c = arg;

	int64_t grown_ms = 0;

	log_name_thread("http-calls");
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		struct timespec until;
		int64_t now, wait_ms;

		if (!http_calls_short(c)) {
			pthread_cond_wait(&c->more, &c->lock);
			continue;
		}
		/* One more thread per HTTP_CALL_PATIENCE_MS at most: more
		 * threads do not help calls that wait for a busy CPU. */
		now = http_now_ms();
		wait_ms = HTTP_CALL_PATIENCE_MS -
			(now - STAILQ_FIRST(&c->queue)->queued_ms);
		if (wait_ms < HTTP_CALL_PATIENCE_MS - (now - grown_ms))
			wait_ms = HTTP_CALL_PATIENCE_MS - (now - grown_ms);
		if (wait_ms <= 0) {
			http_calls_grow(c);
			grown_ms = now;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += wait_ms * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->more, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void http_calls_init(struct http_calls *c, unsigned max_threads,
		     size_t stack_size)
{
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->work, &ca);
	pthread_cond_init(&c->more, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&c->gone, NULL);
	STAILQ_INIT(&c->queue);
	c->nthreads = c->nidle = c->nqueued = c->nstarting = 0;
	c->max_threads = max_threads ? max_threads : 1;
	c->stack_size = stack_size;
	c->stopping = false;
	rc = http_calls_spawn(&c->monitor, http_calls_monitor, c, 0, false);
	if (rc != 0)
		xbt_fatalx("http: pthread_create: %s", strerror(rc));
}

void http_calls_submit(struct http_calls *c, struct http_call *call)
{
	call->queued_ms = http_now_ms();
	pthread_mutex_lock(&c->lock);
	STAILQ_INSERT_TAIL(&c->queue, call, link);
	/* An idle or starting thread takes one call each. */
	if (c->nidle + c->nstarting >= ++c->nqueued)
		pthread_cond_signal(&c->work);
	else if (c->nthreads < HTTP_CALL_EAGER &&
		 c->nthreads < c->max_threads)
		http_calls_grow(c);
	else
		pthread_cond_signal(&c->more);
	pthread_mutex_unlock(&c->lock);
}

void http_calls_stop(struct http_calls *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->work);
	pthread_cond_signal(&c->more);
	while (c->nthreads > 0)
		pthread_cond_wait(&c->gone, &c->lock);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->monitor, NULL);
	pthread_cond_destroy(&c->gone);
	pthread_cond_destroy(&c->more);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
}
