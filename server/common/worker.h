/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A bounded pool of threads running queued jobs (Async calls in xbtd).
 * Start-up and shutdown happen on one thread; worker_submit on any.
 */
#ifndef XBT_WORKER_H
#define XBT_WORKER_H

#include "xbt/backtrace.h"

#define WORKER_DEFAULT_THREADS 32

typedef void (*worker_fn)(void *arg);

void worker_start(unsigned nthreads);
/* Runs what is queued, then joins the threads. */
void worker_stop(void);
/* Queues fn(arg); INTERNAL_ERROR when the queue is full or stopping. */
xbt_error *worker_submit(worker_fn fn, void *arg);

#endif
