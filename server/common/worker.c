/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A bounded pool of threads for Async calls. The queue is bounded too: a
 * flood of Async calls gets an error instead of unbounded memory.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "worker.h"
#include "xbt/buf.h"

#define WORKER_STACK (2u * 1024 * 1024)

struct job {
	worker_fn fn;
	void *arg;
	STAILQ_ENTRY(job) link;
};

static STAILQ_HEAD(, job) worker_queue = STAILQ_HEAD_INITIALIZER(worker_queue);
static pthread_mutex_t worker_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_cond = PTHREAD_COND_INITIALIZER;
static size_t worker_queued, worker_queue_max = WORKER_DEFAULT_QUEUE;
static bool worker_stopping;
static pthread_t *worker_threads;
static unsigned worker_n;

static void *worker_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&worker_mutex);
	for (;;) {
		struct job *j;
		while (!worker_stopping && STAILQ_EMPTY(&worker_queue))
			pthread_cond_wait(&worker_cond, &worker_mutex);
		if (STAILQ_EMPTY(&worker_queue))
			break; /* stopping, queue drained */
		j = STAILQ_FIRST(&worker_queue);
		STAILQ_REMOVE_HEAD(&worker_queue, link);
		worker_queued--;
		pthread_mutex_unlock(&worker_mutex);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&worker_mutex);
	}
	pthread_mutex_unlock(&worker_mutex);
	return NULL;
}

void worker_start(unsigned nthreads, size_t queue_max)
{
	pthread_attr_t attr;

	worker_queue_max = queue_max ? queue_max : WORKER_DEFAULT_QUEUE;
	worker_n = nthreads ? nthreads : 1;
	worker_threads = xbt_calloc(worker_n, sizeof(pthread_t));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (unsigned i = 0; i < worker_n; i++)
		if (pthread_create(&worker_threads[i], &attr, worker_main, NULL))
			xbt_fatalx("cannot start worker thread %u", i);
	pthread_attr_destroy(&attr);
}

void worker_stop(void)
{
	pthread_mutex_lock(&worker_mutex);
	worker_stopping = true;
	pthread_cond_broadcast(&worker_cond);
	pthread_mutex_unlock(&worker_mutex);
	for (unsigned i = 0; i < worker_n; i++)
		pthread_join(worker_threads[i], NULL);
	free(worker_threads);
	worker_threads = NULL;
	worker_n = 0;
	worker_stopping = false;
}

bool worker_submit(worker_fn fn, void *arg)
{
	bool queued = false;

	pthread_mutex_lock(&worker_mutex);
	if (worker_queued < worker_queue_max && !worker_stopping) {
		queued = true;
		struct job *j = xbt_malloc(sizeof(*j));
		j->fn = fn;
		j->arg = arg;
		STAILQ_INSERT_TAIL(&worker_queue, j, link);
		worker_queued++;
		pthread_cond_signal(&worker_cond);
	}
	pthread_mutex_unlock(&worker_mutex);
	return queued;
}
