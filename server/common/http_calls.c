/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The threads that run calls. A call may take long (a plugin, an event
 * wait), so there is no fixed pool that long calls could fill: a call that
 * finds no idle thread gets a new one, up to the connection limit, and a
 * thread idle for HTTP_CALL_IDLE_S ends unless it is one of the
 * HTTP_CALL_KEEP kept for the next burst. Threads are detached; stop waits
 * for the count to reach zero.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include "http_priv.h"
#include "log.h"

#define HTTP_CALL_IDLE_S 10
#define HTTP_CALL_KEEP 4

static void *http_call_thread(void *arg)
{
	struct http_calls *c = arg;

	log_set_thread_name("http-call");
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct http_call *call;
		bool timed_out = false;

		while (!c->stopping && STAILQ_EMPTY(&c->queue) && !timed_out) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
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

void http_calls_init(struct http_calls *c, unsigned max_threads,
		     size_t stack_size)
{
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->gone, NULL);
	STAILQ_INIT(&c->queue);
	c->nthreads = c->nidle = c->nqueued = 0;
	c->max_threads = max_threads ? max_threads : 1;
	c->stack_size = stack_size;
	c->stopping = false;
}

/* Under c->lock. Calls wait in the queue if no thread can be made. */
static void http_calls_grow(struct http_calls *c)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, c->stack_size);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Asynchronous signals are the main thread's (sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t, &attr, http_call_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		c->nthreads++;
	else if (c->nthreads == 0)
		xbt_fatalx("http: no thread can run calls: %s", strerror(rc));
	else
		log_warn("http: a call waits for a thread: %s", strerror(rc));
}

void http_calls_submit(struct http_calls *c, struct http_call *call)
{
	pthread_mutex_lock(&c->lock);
	STAILQ_INSERT_TAIL(&c->queue, call, link);
	/* An idle thread takes one call: more calls than idle threads grow. */
	if (c->nidle >= ++c->nqueued)
		pthread_cond_signal(&c->work);
	else if (c->nthreads < c->max_threads)
		http_calls_grow(c);
	pthread_mutex_unlock(&c->lock);
}

void http_calls_stop(struct http_calls *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->work);
	while (c->nthreads > 0)
		pthread_cond_wait(&c->gone, &c->lock);
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&c->gone);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
}
