/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parked event waits (server/xenapi/event_wait.c): an event.from or
 * event.next with nothing to answer yet hands its state here and frees
 * its thread; one thread looks again when the log changes, a deadline
 * passes or a client goes, and answers through rpc_park_finish.
 * doc/design.md, "Store and events".
 */
#ifndef XBTD_EVENT_WAIT_H
#define XBTD_EVENT_WAIT_H

#include <stdbool.h>
#include <sys/queue.h>
#include <time.h>

#include <xmlrpc-c/base.h>

#include "rpc.h"
#include "xbt/backtrace.h"

struct event_wait {
	TAILQ_ENTRY(event_wait) link;
	struct rpc_park *park;
	struct timespec deadline;  /* CLOCK_MONOTONIC; zero: none */
	bool fresh;                /* not looked at since it was parked */
	/*
	 * One look at the log: true when the call is done, with *result or
	 * *err set; it must be done once the log stops (evlog_stopping).
	 */
	bool (*look)(struct event_wait *w, xmlrpc_value **result,
		     xbt_error **err);
	void (*release)(struct event_wait *w);
};

/*
 * Takes w, whose call looked once and found nothing (w->park taken with
 * rpc_park_take), and answers its park later. Called from the handler.
 */
void event_wait_park(struct event_wait *w);
/* Parked waits now (tests, benchmarks). */
unsigned event_wait_count(void);

#endif
