/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A bounded pool of threads running queued jobs (Async calls in xbtd).
 * Start-up and shutdown happen on one thread; worker_submit on any.
 */
#ifndef XBT_WORKER_H
#define XBT_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#define WORKER_DEFAULT_THREADS 32
#define WORKER_DEFAULT_QUEUE 16384

typedef void (*worker_fn)(void *arg);

/* queue_max: jobs waiting for a thread at most (0: the default). */
void worker_start(unsigned nthreads, size_t queue_max);
/* Runs what is queued, then joins the threads. */
void worker_stop(void);
/* Queues fn(arg); false when the queue is full or stopping (the caller
 * says so in its daemon's words). */
bool worker_submit(worker_fn fn, void *arg);

#endif
