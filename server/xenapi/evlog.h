/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event log: a bounded ring of the store's changes, with the ids that
 * event tokens count, the live-object counts per class, and the futex
 * that waiting readers sleep on. It lies below the store (the store
 * appends at the end of each locked section) and never calls it.
 * doc/design.md, "Store and events".
 */
#ifndef XBTD_EVLOG_H
#define XBTD_EVLOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <xmlrpc-c/base.h>

#include "xbt/model.h"

enum evlog_op { EVLOG_ADD, EVLOG_MOD, EVLOG_DEL };

/* One event and a flat copy of its record, in one allocation. */
struct evlog_event {
	uint64_t id;
	struct timespec ts;       /* CLOCK_REALTIME */
	const xbt_class_desc *c;
	enum evlog_op op;
	atomic_uint refs;         /* the ring's and readers' */
	bool in_ring;             /* false: a snapshot made for one reader */
	char ref[64];
	void *rec;                /* read-only copy; NULL for a deletion */
	pthread_mutex_t vlock;    /* guards val */
	xmlrpc_value *val;        /* the wire value, built once, shared */
};

/* A list of events, each holding a reference. */
struct evlog_list {
	struct evlog_event **v;
	size_t n, cap;
};

/* What appending dropped, freed by the caller once it holds no lock. */
struct evlog_garbage {
	struct evlog_list events;
	xmlrpc_value **vals;
	size_t nvals, capvals;
};

/* Start-up and shutdown (main.c, tests): capacity 0 is the default. */
#define EVLOG_DEFAULT_CAPACITY 10000
void evlog_init(size_t capacity);
/* Frees the ring; logs what appending cost. After every reader is gone. */
void evlog_shutdown(void);

/*
 * Appends an event for the change of ref (rec NULL for EVLOG_DEL): the
 * store calls it at the end of a locked section, once per changed object
 * of a class with events. What leaves the ring goes into g.
 */
void evlog_append(const xbt_class_desc *c, const char *ref,
		  enum evlog_op op, const void *rec, struct evlog_garbage *g);
void evlog_garbage_release(struct evlog_garbage *g);
/* Wakes the sleepers if anything was appended or poked (no lock held). */
void evlog_publish(void);
/* Marks the waiters for waking by the next evlog_publish (any lock held). */
void evlog_poke(void);

/*
 * Reading. evlog_read_begin/end bracket a consistent view (a shared lock:
 * appends wait). Within one:
 * - evlog_last: the newest id (0: none yet);
 * - evlog_lost: whether events after cursor are no longer all held;
 * - evlog_collect: adds the events after *cursor that match (a reference
 *   each) to out, at most max in all, moving *cursor past what it saw;
 * - evlog_counts_at: live objects per class index right after event `at`,
 *   and *current true when `at` is the newest.
 */
typedef bool (*evlog_match_fn)(const struct evlog_event *e, const void *ctx);
void evlog_read_begin(void);
void evlog_read_end(void);
uint64_t evlog_last(void);
bool evlog_lost(uint64_t cursor);
void evlog_collect(evlog_match_fn match, const void *ctx, uint64_t *cursor,
		   struct evlog_list *out, size_t max);
void evlog_counts_at(uint64_t at, int64_t *out, bool *current);
/* Bumped by every add and delete: valid_ref_counts' cache key. */
uint64_t evlog_counts_version(void);

/* An "add" event for rec as it is now, for one reader (token ""). */
struct evlog_event *evlog_snapshot(const xbt_class_desc *c, const char *ref,
				   const void *rec, uint64_t id);
/* The event's wire struct {id, timestamp, class, operation, ref,
 * snapshot}, shared while the event is recent (new reference). */
xmlrpc_value *evlog_event_value(struct evlog_event *e);
void evlog_list_add(struct evlog_list *l, struct evlog_event *e);
void evlog_list_release(struct evlog_list *l);

/*
 * Waiting: read evlog_seq, look, then evlog_wait(seen) returns at once if
 * anything was appended or poked since, else sleeps until then or the
 * CLOCK_MONOTONIC deadline (NULL: none).
 */
unsigned evlog_seq(void);
void evlog_wait(unsigned seen, const struct timespec *deadline);
/* Wakes every sleeper now and for good (shutdown). */
void evlog_stop(void);
/*
 * fn is called wherever sleepers are woken (a publish with something new,
 * the stop), no lock held: the parked waits' thread (event_wait.c).
 */
void evlog_set_wake_hook(void (*fn)(void));
bool evlog_stopping(void);

#endif
