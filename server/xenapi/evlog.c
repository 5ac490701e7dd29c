/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event log (evlog.h): a ring of the newest events, each a flat copy of
 * its record made when the store's locked section ends.
 *
 * - The store appends with its lock held, so ids follow the order of the
 *   store's changes; evlog_append takes the ring's lock for writing, and
 *   readers take it shared (never the store's lock inside it).
 * - The wire value of an event is built from the copy outside every lock,
 *   once, and shared by the readers while the event is among the newest
 *   EVLOG_VALUE_WINDOW (a hundred waiters woken by one change build it
 *   once).
 * - Waiters sleep on a futex word that appends bump; the store wakes them
 *   after it unlocks (evlog_publish), so waking a hundred threads never
 *   holds its lock. Woken, they share the read lock: no convoy on a mutex.
 * - What an append drops (an event leaving the ring, a shared value leaving
 *   the window) goes to the caller's evlog_garbage, freed after unlocking.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "evlog.h"
#include "log.h"

#define EVLOG_VALUE_WINDOW 64  /* newest events whose wire value is kept */

static pthread_rwlock_t evlog_lock;
static struct evlog_event **evlog_ring;
static size_t evlog_cap;
static uint64_t evlog_first = 1;   /* oldest id still held */
static uint64_t evlog_newest;      /* newest id; 0: none yet */
static atomic_uint_fast64_t evlog_newest_atomic; /* evlog_newest, lock-free */
static int64_t *evlog_live;        /* live objects per class index */
static uint64_t evlog_live_version;

static atomic_uint evlog_seq_word;
static atomic_uint evlog_sleepers;
static atomic_bool evlog_unpublished;
static atomic_bool evlog_stopped;

/* What evlog_append costs its caller (who holds the store lock). */
static atomic_uint_fast64_t evlog_stat_n, evlog_stat_ns, evlog_stat_max_ns;

void evlog_init(size_t capacity)
{
	pthread_rwlockattr_t attr;

	/* The writer holds the store lock: readers must not starve it. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&evlog_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	evlog_cap = capacity ? capacity : EVLOG_DEFAULT_CAPACITY;
	evlog_ring = xbt_calloc(evlog_cap, sizeof(*evlog_ring));
	evlog_live = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1,
				sizeof(*evlog_live));
	evlog_first = 1;
	evlog_newest = 0;
	evlog_live_version = 0;
	atomic_store(&evlog_newest_atomic, 0);
	atomic_store(&evlog_stopped, false);
	atomic_store(&evlog_unpublished, false);
	atomic_store(&evlog_stat_n, 0);
	atomic_store(&evlog_stat_ns, 0);
	atomic_store(&evlog_stat_max_ns, 0);
}

/* ---- events ------------------------------------------------------------- */

#define EVLOG_ALIGN(n) (((n) + 7) & ~(size_t)7)

static const char *evlog_nonnull(const char *s)
{
	return s ? s : "";
}

static char *evlog_put(char **pool, const char *s)
{
	size_t len = strlen(s) + 1;
	char *dst = *pool;

	memcpy(dst, s, len);
	*pool += len;
	return dst;
}

/* Bytes of strings and pointers that the flat copy of rec needs. */
static void evlog_measure(const xbt_class_desc *c, const void *rec,
			  size_t *nptrs, size_t *nbytes)
{
	for (size_t i = 0; i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];
		const char *src = (const char *)rec + f->offset;

		switch (f->type->kind) {
		case XBT_T_STRING: case XBT_T_REF:
			*nbytes += strlen(evlog_nonnull(*(char *const *)src)) + 1;
			break;
		case XBT_T_SET: {
			const xbt_strv *s = (const xbt_strv *)src;

			*nptrs += s->n;
			for (size_t k = 0; k < s->n; k++)
				*nbytes += strlen(evlog_nonnull(s->v[k])) + 1;
			break;
		}
		case XBT_T_MAP: {
			const xbt_map *m = (const xbt_map *)src;

			*nptrs += 2 * m->n;
			for (size_t k = 0; k < m->n; k++)
				*nbytes += strlen(evlog_nonnull(m->keys[k])) +
					   strlen(evlog_nonnull(m->vals[k])) + 2;
			break;
		}
		default:
			break;
		}
	}
}

/* Copies rec's pointer members into ptrs and pool (sized by measure). */
static void evlog_fill(const xbt_class_desc *c, const void *rec, void *copy,
		       char **ptrs, char *pool)
{
	for (size_t i = 0; i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];
		const char *src = (const char *)rec + f->offset;
		char *dst = (char *)copy + f->offset;

		switch (f->type->kind) {
		case XBT_T_STRING: case XBT_T_REF:
			*(char **)dst = evlog_put(&pool,
					evlog_nonnull(*(char *const *)src));
			break;
		case XBT_T_SET: {
			const xbt_strv *s = (const xbt_strv *)src;
			xbt_strv *d = (xbt_strv *)dst;

			d->v = s->n ? ptrs : NULL;
			for (size_t k = 0; k < s->n; k++)
				*ptrs++ = evlog_put(&pool, evlog_nonnull(s->v[k]));
			break;
		}
		case XBT_T_MAP: {
			const xbt_map *m = (const xbt_map *)src;
			xbt_map *d = (xbt_map *)dst;

			d->keys = m->n ? ptrs : NULL;
			ptrs += m->n;
			d->vals = m->n ? ptrs : NULL;
			ptrs += m->n;
			for (size_t k = 0; k < m->n; k++) {
				d->keys[k] = evlog_put(&pool,
						       evlog_nonnull(m->keys[k]));
				d->vals[k] = evlog_put(&pool,
						       evlog_nonnull(m->vals[k]));
			}
			break;
		}
		default:
			break;
		}
	}
}

/*
 * The event and a copy of rec in one allocation: the record struct, then
 * the pointer arrays of its sets and maps, then every string. Freed with
 * one free(); never passed to xbt_record_release.
 */
static struct evlog_event *evlog_alloc(const xbt_class_desc *c,
				       const char *ref, enum evlog_op op,
				       const void *rec)
{
	size_t head = EVLOG_ALIGN(sizeof(struct evlog_event));
	size_t body = rec ? EVLOG_ALIGN(c->record_size) : 0;
	size_t nptrs = 0, nbytes = 0;
	struct evlog_event *e;

	if (rec)
		evlog_measure(c, rec, &nptrs, &nbytes);
	e = xbt_malloc(head + body + nptrs * sizeof(char *) + nbytes);
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->vlock, NULL);
	e->c = c;
	e->op = op;
	atomic_init(&e->refs, 1);
	snprintf(e->ref, sizeof(e->ref), "%s", ref);
	clock_gettime(CLOCK_REALTIME, &e->ts);
	if (rec) {
		char **ptrs;

		e->rec = (char *)e + head;
		memcpy(e->rec, rec, c->record_size);
		ptrs = (char **)((char *)e->rec + body);
		evlog_fill(c, rec, e->rec, ptrs, (char *)(ptrs + nptrs));
	}
	return e;
}

static void evlog_unref(struct evlog_event *e)
{
	if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	if (e->val)
		xmlrpc_DECREF(e->val);
	pthread_mutex_destroy(&e->vlock);
	free(e);
}

void evlog_list_add(struct evlog_list *l, struct evlog_event *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xbt_reallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = e;
}

void evlog_list_release(struct evlog_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		evlog_unref(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

struct evlog_event *evlog_snapshot(const xbt_class_desc *c, const char *ref,
				   const void *rec, uint64_t id)
{
	struct evlog_event *e = evlog_alloc(c, ref, EVLOG_ADD, rec);

	e->id = id;
	return e;
}

/* The wire form: {id, timestamp, class, operation, ref, snapshot}. */
static xmlrpc_value *evlog_build(const struct evlog_event *e)
{
	static const char *const ops[] = { "add", "mod", "del" };
	xmlrpc_value *st = xbt_value_struct();
	char buf[64];

	snprintf(buf, sizeof(buf), "%" PRIu64, e->id);
	xbt_value_put(st, "id", xbt_value_string(buf));
	snprintf(buf, sizeof(buf), "%lld.%06ld", (long long)e->ts.tv_sec,
		 e->ts.tv_nsec / 1000);
	xbt_value_put(st, "timestamp", xbt_value_string(buf));
	xbt_value_put(st, "class", xbt_value_string(e->c->lower));
	xbt_value_put(st, "operation", xbt_value_string(ops[e->op]));
	xbt_value_put(st, "ref", xbt_value_string(e->ref));
	if (e->rec)
		xbt_value_put(st, "snapshot", xbt_record_to_value(e->c, e->rec));
	return st;
}

xmlrpc_value *evlog_event_value(struct evlog_event *e)
{
	xmlrpc_value *v;

	/* Older events are built per reader: the values' memory stays bounded. */
	if (!e->in_ring ||
	    e->id + EVLOG_VALUE_WINDOW <= atomic_load(&evlog_newest_atomic))
		return evlog_build(e);
	pthread_mutex_lock(&e->vlock);
	if (!e->val)
		e->val = evlog_build(e);
	v = e->val;
	xmlrpc_INCREF(v);
	pthread_mutex_unlock(&e->vlock);
	return v;
}

/* ---- appending (the store's lock held) ------------------------------------ */

static void evlog_garbage_val(struct evlog_garbage *g, xmlrpc_value *v)
{
	if (g->nvals == g->capvals) {
		g->capvals = g->capvals ? 2 * g->capvals : 16;
		g->vals = xbt_reallocarray(g->vals, g->capvals, sizeof(*g->vals));
	}
	g->vals[g->nvals++] = v;
}

void evlog_garbage_release(struct evlog_garbage *g)
{
	for (size_t i = 0; i < g->nvals; i++)
		xmlrpc_DECREF(g->vals[i]);
	free(g->vals);
	g->vals = NULL;
	g->nvals = g->capvals = 0;
	evlog_list_release(&g->events);
}

static void evlog_stat(const struct timespec *t0)
{
	struct timespec t1;
	uint_fast64_t ns, max;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (uint_fast64_t)((t1.tv_sec - t0->tv_sec) * 1000000000L +
			     (t1.tv_nsec - t0->tv_nsec));
	atomic_fetch_add_explicit(&evlog_stat_n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&evlog_stat_ns, ns, memory_order_relaxed);
	max = atomic_load_explicit(&evlog_stat_max_ns, memory_order_relaxed);
	while (ns > max &&
	       !atomic_compare_exchange_weak_explicit(&evlog_stat_max_ns, &max,
						      ns, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

void evlog_append(const xbt_class_desc *c, const char *ref,
		  enum evlog_op op, const void *rec, struct evlog_garbage *g)
{
	struct timespec t0;
	struct evlog_event *e, *old;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = evlog_alloc(c, ref, op, op == EVLOG_DEL ? NULL : rec);
	e->in_ring = true;
	pthread_rwlock_wrlock(&evlog_lock);
	e->id = ++evlog_newest;
	atomic_store(&evlog_newest_atomic, e->id);
	old = evlog_ring[e->id % evlog_cap];
	evlog_ring[e->id % evlog_cap] = e;
	if (old)
		evlog_first = old->id + 1;
	if (op != EVLOG_MOD) {
		evlog_live[c->index] += op == EVLOG_ADD ? 1 : -1;
		evlog_live_version++;
	}
	/* The event leaving the window gives up its shared value. */
	if (e->id > EVLOG_VALUE_WINDOW &&
	    e->id - EVLOG_VALUE_WINDOW >= evlog_first) {
		struct evlog_event *w = evlog_ring[(e->id - EVLOG_VALUE_WINDOW) %
						   evlog_cap];

		/* Never wait for a reader building it: it goes with w then. */
		if (pthread_mutex_trylock(&w->vlock) == 0) {
			if (w->val)
				evlog_garbage_val(g, w->val);
			w->val = NULL;
			pthread_mutex_unlock(&w->vlock);
		}
	}
	pthread_rwlock_unlock(&evlog_lock);
	if (old)
		evlog_list_add(&g->events, old);
	evlog_poke();
	evlog_stat(&t0);
}

/* ---- reading -------------------------------------------------------------- */

void evlog_read_begin(void)
{
	pthread_rwlock_rdlock(&evlog_lock);
}

void evlog_read_end(void)
{
	pthread_rwlock_unlock(&evlog_lock);
}

uint64_t evlog_last(void)
{
	return evlog_newest;
}

bool evlog_lost(uint64_t cursor)
{
	return cursor + 1 < evlog_first || cursor > evlog_newest;
}

void evlog_collect(evlog_match_fn match, const void *ctx, uint64_t *cursor,
		   struct evlog_list *out, size_t max)
{
	while (*cursor < evlog_newest && out->n < max) {
		struct evlog_event *e = evlog_ring[(*cursor + 1) % evlog_cap];

		(*cursor)++;
		if (match(e, ctx)) {
			/* References are atomic: a shared lock is enough. */
			atomic_fetch_add(&e->refs, 1);
			evlog_list_add(out, e);
		}
	}
}

void evlog_counts_at(uint64_t at, int64_t *out, bool *current)
{
	memcpy(out, evlog_live, xbt_nclasses * sizeof(*out));
	for (uint64_t id = at + 1; id <= evlog_newest && id >= evlog_first;
	     id++) {
		const struct evlog_event *e = evlog_ring[id % evlog_cap];

		if (e->op == EVLOG_ADD)
			out[e->c->index]--;
		else if (e->op == EVLOG_DEL)
			out[e->c->index]++;
	}
	*current = at == evlog_newest;
}

uint64_t evlog_counts_version(void)
{
	return evlog_live_version;
}

/* ---- sleeping and waking ------------------------------------------------------ */

unsigned evlog_seq(void)
{
	return atomic_load(&evlog_seq_word);
}

void evlog_poke(void)
{
	atomic_fetch_add(&evlog_seq_word, 1);
	atomic_store(&evlog_unpublished, true);
}

static void (*_Atomic evlog_wake_hook)(void);

void evlog_set_wake_hook(void (*fn)(void))
{
	atomic_store(&evlog_wake_hook, fn);
}

static void evlog_wake_sleepers(void)
{
	void (*hook)(void) = atomic_load(&evlog_wake_hook);

	if (atomic_load(&evlog_sleepers))
		syscall(SYS_futex, &evlog_seq_word, FUTEX_WAKE_PRIVATE,
			INT_MAX, NULL, NULL, 0);
	if (hook)
		hook();
}

void evlog_publish(void)
{
	/* Only the futex wake, which may let the woken threads preempt us,
	 * is left for here, after the store's lock is free. */
	if (atomic_load_explicit(&evlog_unpublished, memory_order_relaxed) &&
	    atomic_exchange(&evlog_unpublished, false))
		evlog_wake_sleepers();
}

void evlog_wait(unsigned seen, const struct timespec *deadline)
{
	if (atomic_load(&evlog_stopped))
		return;
	atomic_fetch_add(&evlog_sleepers, 1);
	syscall(SYS_futex, &evlog_seq_word, FUTEX_WAIT_BITSET_PRIVATE, seen,
		deadline, NULL, FUTEX_BITSET_MATCH_ANY);
	atomic_fetch_sub(&evlog_sleepers, 1);
}

void evlog_stop(void)
{
	atomic_store(&evlog_stopped, true);
	atomic_fetch_add(&evlog_seq_word, 1);
	evlog_wake_sleepers();
}

bool evlog_stopping(void)
{
	return atomic_load(&evlog_stopped);
}

void evlog_shutdown(void)
{
	uint64_t n = atomic_load(&evlog_stat_n);

	if (!evlog_ring)
		return;
	if (n)
		log_info("events: %" PRIu64 " recorded; appending took "
			 "%.2f us on average, %.2f us at most", (uint64_t)n,
			 (double)atomic_load(&evlog_stat_ns) / (double)n / 1e3,
			 (double)atomic_load(&evlog_stat_max_ns) / 1e3);
	for (size_t i = 0; i < evlog_cap; i++)
		evlog_unref(evlog_ring[i]);
	free(evlog_ring);
	free(evlog_live);
	evlog_ring = NULL;
	evlog_live = NULL;
	pthread_rwlock_destroy(&evlog_lock);
}
