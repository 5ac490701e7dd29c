/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Events: a bounded log of every change the store makes, and the calls that
 * read it: event.from, event.inject, and the legacy event.register / next /
 * unregister.
 *
 * - The store calls event_record with its lock held. The record is copied
 *   into one flat allocation (one malloc, no per-string allocation), given
 *   the next id and put in a ring of the newest `--event-history` events.
 *   The wire value of an event is built from that copy outside every lock,
 *   once, and shared by the readers while the event is recent.
 * - Readers scan the ring under a read lock (event_record takes it for
 *   writing inside the store lock, never the other way round) and sleep on
 *   a futex word that every change bumps; store_unlock wakes them
 *   (event_publish), so the lock is never held while a hundred threads
 *   wake. Woken, they share the read lock: no convoy on a mutex (a
 *   condition variable's mutex made 100 waiters queue for it, one
 *   scheduler hand-off each). doc/performance.md has the figures.
 * - Tokens have xapi's form "%020d,%020d": the id of the newest event the
 *   caller has seen, then xapi's message generation (always 0 here). ""
 *   asks for the current state: an "add" event for every object.
 * - Sessions are not events (xapi: gen_events=false; a session ref is a
 *   credential). Deleting one wakes its waiters with SESSION_INVALID and
 *   forgets its event.register subscriptions.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xbtd.h"

#define EVENT_HISTORY_DEFAULT 10000
#define EVENT_FROM_MAX 1000        /* events in one reply; the rest next call */
#define EVENT_MAX_SUBS 1024        /* subscriptions in one call or session */
#define EVENT_MAX_SUB_LEN 256      /* bytes of one subscription string */
#define EVENT_MAX_TIMEOUT 3600.0   /* seconds one event.from may wait */
#define EVENT_VALUE_WINDOW 64      /* newest events whose wire value is kept */
#define EVENT_DEFER_MAX 32         /* frees put off until store_unlock */

enum sub_kind { SUB_NONE, SUB_ALL, SUB_CLASS, SUB_OBJECT };

/* One subscription: "*", "<class>" or "<class>/<ref>". */
struct sub {
	enum sub_kind kind;
	size_t ci;    /* class index (CLASS, OBJECT) */
	char *ref;    /* OBJECT */
	char *text;   /* normalised ("vm/OpaqueRef:..."), for unregister */
};

struct subs {
	struct sub *v;
	size_t n;
};

/* An event and its record's copy, in one allocation. */
struct event {
	uint64_t id;
	struct timespec ts;       /* CLOCK_REALTIME */
	const xbt_class_desc *c;
	size_t ci;
	enum event_op op;
	atomic_uint refs;         /* the ring's and readers' */
	bool in_ring;
	char ref[64];
	void *rec;                /* flat copy; NULL for a deletion */
	pthread_mutex_t vlock;    /* guards val */
	xmlrpc_value *val;        /* the wire value, built once, shared */
};

struct evlist {
	struct event **v;
	size_t n, cap;
};

/* A call that waits (event.from, event.next). */
struct waiter {
	const char *session;
	atomic_bool session_gone;
	LIST_ENTRY(waiter) link;
};

/* The event.register state of one session. */
struct reg {
	char *session;
	uint64_t last;            /* newest id handed out to this session */
	struct subs subs;
	LIST_ENTRY(reg) link;
};

static pthread_once_t event_once = PTHREAD_ONCE_INIT;
/* The ring, the counts and the registrations. */
static pthread_rwlock_t event_lock;
static struct event **event_ring;
static size_t event_cap;
static uint64_t event_first = 1;   /* oldest id still held */
static uint64_t event_last;        /* newest id; 0: none yet */
static int64_t *event_counts;      /* live objects per class index */
static bool *event_silent;         /* per class index: no events (const) */
static LIST_HEAD(, reg) event_regs = LIST_HEAD_INITIALIZER(event_regs);
/* Waiting calls, for session deletion. */
static pthread_mutex_t event_waiters_mutex = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, waiter) event_waiters = LIST_HEAD_INITIALIZER(event_waiters);
/*
 * Waiters sleep on this futex word, which every change bumps: woken, they
 * take the ring's lock shared, so a hundred of them wake without a convoy.
 */
static atomic_uint event_seq;
static atomic_uint event_sleepers;
static atomic_bool event_stopping;
static atomic_bool event_unpublished; /* recorded, sleepers not yet woken */
static atomic_uint_fast64_t event_newest; /* event_last, read without lock */
static uint64_t event_counts_version;  /* bumped by every add and del */

/* valid_ref_counts as of event_counts_version, shared by the readers. */
static pthread_mutex_t event_counts_cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static xmlrpc_value *event_counts_cache;
static uint64_t event_counts_cache_version;

/*
 * What event_record drops (an event leaving the ring, a shared wire value
 * leaving the window) is freed by event_publish, after store_unlock.
 */
static __thread struct event *event_defer_ev[EVENT_DEFER_MAX];
static __thread xmlrpc_value *event_defer_val[EVENT_DEFER_MAX];
static __thread unsigned event_ndefer_ev, event_ndefer_val;

/* What event_record costs its caller (who holds the store lock). */
static atomic_uint_fast64_t event_stat_n, event_stat_ns, event_stat_max_ns;

/* ---- small helpers ----------------------------------------------------- */

static void event_token_format(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, "%020" PRIu64 ",%020" PRIu64, id, (uint64_t)0);
}

/* An unsigned decimal of at least one digit, no sign, no overflow. */
static bool event_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * "" (everything, as "add" events) or "<id>,<message generation>", as
 * xapi writes them. EVENT_FROM_TOKEN_PARSE_FAILURE [token] otherwise.
 */
static xbt_error *event_token_parse(const char *token, uint64_t *id,
				    bool *everything)
{
	const char *comma = strchr(token, ',');
	uint64_t msg;
	xbt_error *err = NULL;

	*everything = token[0] == '\0';
	*id = 0;
	if (*everything)
		goto out;
	if (!comma || !event_parse_u64(token, (size_t)(comma - token), id) ||
	    !event_parse_u64(comma + 1, strlen(comma + 1), &msg))
		err = XBT_RAISE(XBT_ERR_EVENT_FROM_TOKEN_PARSE_FAILURE, token);
out:
	return err;
}

static void event_deadline(double timeout, struct timespec *deadline)
{
	double whole;
	double frac = modf(timeout, &whole);

	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += (time_t)whole;
	deadline->tv_nsec += (long)(frac * 1e9);
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

static bool event_past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
		now.tv_nsec >= deadline->tv_nsec);
}

/* ---- set-up ------------------------------------------------------------- */

static void event_init(void)
{
	pthread_rwlockattr_t attr;

	/* The writer holds the store lock: readers must not starve it. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&event_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	event_cap = xbtd_conf.event_history ? xbtd_conf.event_history
					    : EVENT_HISTORY_DEFAULT;
	event_ring = xbt_calloc(event_cap, sizeof(*event_ring));
	event_counts = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1,
				  sizeof(*event_counts));
	event_silent = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1,
				  sizeof(*event_silent));
	/* Sessions are credentials; events are not objects. */
	for (size_t i = 0; i < xbt_nclasses; i++)
		event_silent[i] = strcmp(xbt_classes[i]->name, "session") == 0 ||
				  strcmp(xbt_classes[i]->name, "event") == 0;
}

static size_t event_class_index(const xbt_class_desc *c)
{
	for (size_t i = 0; i < xbt_nclasses; i++)
		if (xbt_classes[i] == c)
			return i;
	xbt_fatalx("event: class %s is not in the model", c->name);
}

/* ---- flat copies of records -------------------------------------------- */

#define EVENT_ALIGN(n) (((n) + 7) & ~(size_t)7)

static const char *event_nonnull(const char *s)
{
	return s ? s : "";
}

static char *event_put(char **pool, const char *s)
{
	size_t len = strlen(s) + 1;
	char *dst = *pool;

	memcpy(dst, s, len);
	*pool += len;
	return dst;
}

/*
 * The event and a copy of rec in one allocation: the record struct, then
 * the pointer arrays of its sets and maps, then every string. Freed with
 * one free(); never passed to xbt_record_release.
 */
static struct event *event_alloc(const xbt_class_desc *c, size_t ci,
				 const char *ref, enum event_op op,
				 const void *rec)
{
	size_t head = EVENT_ALIGN(sizeof(struct event));
	size_t body = rec ? EVENT_ALIGN(c->record_size) : 0;
	size_t nptrs = 0, nbytes = 0;
	struct event *e;
	char **ptrs;
	char *pool;

	for (size_t i = 0; rec && i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];
		const char *src = (const char *)rec + f->offset;
		switch (f->type->kind) {
		case XBT_T_STRING: case XBT_T_REF:
			nbytes += strlen(event_nonnull(*(char *const *)src)) + 1;
			break;
		case XBT_T_SET: {
			const xbt_strv *s = (const xbt_strv *)src;
			nptrs += s->n;
			for (size_t k = 0; k < s->n; k++)
				nbytes += strlen(event_nonnull(s->v[k])) + 1;
			break;
		}
		case XBT_T_MAP: {
			const xbt_map *m = (const xbt_map *)src;
			nptrs += 2 * m->n;
			for (size_t k = 0; k < m->n; k++)
				nbytes += strlen(event_nonnull(m->keys[k])) +
					  strlen(event_nonnull(m->vals[k])) + 2;
			break;
		}
		default:
			break;
		}
	}
	e = xbt_malloc(head + body + nptrs * sizeof(char *) + nbytes);
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->vlock, NULL);
	e->c = c;
	e->ci = ci;
	e->op = op;
	atomic_init(&e->refs, 1);
	snprintf(e->ref, sizeof(e->ref), "%s", ref);
	clock_gettime(CLOCK_REALTIME, &e->ts);
	if (!rec)
		goto out;
	e->rec = (char *)e + head;
	memcpy(e->rec, rec, c->record_size);
	ptrs = (char **)((char *)e->rec + body);
	pool = (char *)(ptrs + nptrs);
	for (size_t i = 0; i < c->nfields; i++) {
		const xbt_field_desc *f = &c->fields[i];
		const char *src = (const char *)rec + f->offset;
		char *dst = (char *)e->rec + f->offset;
		switch (f->type->kind) {
		case XBT_T_STRING: case XBT_T_REF:
			*(char **)dst = event_put(&pool,
					event_nonnull(*(char *const *)src));
			break;
		case XBT_T_SET: {
			const xbt_strv *s = (const xbt_strv *)src;
			xbt_strv *d = (xbt_strv *)dst;
			d->v = s->n ? ptrs : NULL;
			for (size_t k = 0; k < s->n; k++)
				*ptrs++ = event_put(&pool, event_nonnull(s->v[k]));
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
				d->keys[k] = event_put(&pool,
						       event_nonnull(m->keys[k]));
				d->vals[k] = event_put(&pool,
						       event_nonnull(m->vals[k]));
			}
			break;
		}
		default:
			break;
		}
	}
out:
	return e;
}

static void event_unref(struct event *e)
{
	if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	if (e->val)
		xmlrpc_DECREF(e->val);
	pthread_mutex_destroy(&e->vlock);
	free(e);
}

static void evlist_add(struct evlist *l, struct event *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xbt_reallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = e;
}

static void evlist_release(struct evlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		event_unref(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* The wire form: {id, timestamp, class, operation, ref, snapshot}. */
static xmlrpc_value *event_build(const struct event *e, uint64_t id)
{
	static const char *const ops[] = { "add", "mod", "del" };
	xmlrpc_value *st = xbt_value_struct();
	char buf[64];

	snprintf(buf, sizeof(buf), "%" PRIu64, id);
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

/*
 * A new reference to e's wire value. Built once and shared by every reader
 * while e is among the newest EVENT_VALUE_WINDOW events (a hundred waiters
 * woken by one change build it once); older ones are built per reader, so
 * the memory of values stays bounded.
 */
static xmlrpc_value *event_value(struct event *e)
{
	xmlrpc_value *v;

	if (!e->in_ring ||
	    e->id + EVENT_VALUE_WINDOW <= atomic_load(&event_newest))
		return event_build(e, e->id);
	pthread_mutex_lock(&e->vlock);
	if (!e->val)
		e->val = event_build(e, e->id);
	v = e->val;
	xmlrpc_INCREF(v);
	pthread_mutex_unlock(&e->vlock);
	return v;
}

/* ---- subscriptions ---------------------------------------------------------- */

static void subs_release(struct subs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].ref);
		free(s->v[i].text);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void sub_parse(const char *text, struct sub *out)
{
	const char *slash = strchr(text, '/');
	size_t clen = slash ? (size_t)(slash - text) : strlen(text);
	char *cls = xbt_strndup(text, clen);
	const xbt_class_desc *c;
	xbt_buf norm = XBT_BUF_INIT;

	memset(out, 0, sizeof(*out));
	if (strcmp(text, "*") == 0) {
		out->kind = SUB_ALL;
		out->text = xbt_strdup("*");
		goto out;
	}
	for (char *p = cls; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	xbt_buf_addstr(&norm, cls);
	if (slash) {
		xbt_buf_addch(&norm, '/');
		xbt_buf_addstr(&norm, slash + 1);
	}
	out->text = xbt_buf_detach(&norm, NULL);
	/* As in xapi, an unknown class subscribes to nothing. */
	c = xbt_class_find(cls);
	if (!c)
		goto out;
	out->ci = event_class_index(c);
	if (event_silent[out->ci])
		goto out;
	out->kind = slash ? SUB_OBJECT : SUB_CLASS;
	if (slash)
		out->ref = xbt_strdup(slash + 1);
out:
	free(cls);
}

/*
 * Parses a set of subscription strings. At most EVENT_MAX_SUBS of at most
 * EVENT_MAX_SUB_LEN bytes, else EVENT_SUBSCRIPTION_PARSE_FAILURE [why].
 */
static xbt_error *subs_parse(xmlrpc_value *set, struct subs *out)
{
	xbt_error *err = NULL;
	size_t n;

	pthread_once(&event_once, event_init);
	memset(out, 0, sizeof(*out));
	n = xbt_value_size(set);
	if (n > EVENT_MAX_SUBS) {
		char why[64];
		snprintf(why, sizeof(why), "more than %d subscriptions",
			 EVENT_MAX_SUBS);
		err = XBT_RAISE(XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, why);
		goto out;
	}
	out->v = xbt_calloc(n ? n : 1, sizeof(*out->v));
	for (size_t i = 0; i < n; i++) {
		xmlrpc_value *item = xbt_value_item(set, i);
		size_t len = 0;
		char *s = xbt_value_text(item, &len);

		xmlrpc_DECREF(item);
		if (!s)
			xbt_fatalx("event: a checked subscription is not a string");
		if (len > EVENT_MAX_SUB_LEN || strlen(s) != len) {
			char why[96];
			snprintf(why, sizeof(why),
				 "subscription %zu: longer than %d bytes or has NUL",
				 i, EVENT_MAX_SUB_LEN);
			free(s);
			err = XBT_RAISE(XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE,
					why);
			goto out;
		}
		sub_parse(s, &out->v[out->n++]);
		free(s);
	}
out:
	if (err)
		subs_release(out);
	return err;
}

static bool subs_match(const struct subs *s, size_t ci, const char *ref)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sub *u = &s->v[i];
		if (u->kind == SUB_ALL ||
		    (u->kind == SUB_CLASS && u->ci == ci) ||
		    (u->kind == SUB_OBJECT && u->ci == ci &&
		     strcmp(u->ref, ref) == 0))
			return true;
	}
	return false;
}

static bool subs_want_class(const struct subs *s, size_t ci)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == SUB_ALL ||
		    ((s->v[i].kind == SUB_CLASS || s->v[i].kind == SUB_OBJECT) &&
		     s->v[i].ci == ci))
			return true;
	return false;
}

/* ---- the log (event_lock held unless said) --------------------------------- */

static bool event_lost(uint64_t cursor)
{
	return cursor + 1 < event_first || cursor > event_last;
}

/*
 * Adds the events after *cursor that match s to out (taking a reference on
 * each), at most `max` in all, and moves *cursor past what it looked at.
 * Shared lock enough: references are atomic, and *cursor is the caller's.
 */
static void event_collect(const struct subs *s, uint64_t *cursor,
			  struct evlist *out, size_t max)
{
	while (*cursor < event_last && out->n < max) {
		struct event *e = event_ring[(*cursor + 1) % event_cap];
		(*cursor)++;
		if (subs_match(s, e->ci, e->ref)) {
			atomic_fetch_add(&e->refs, 1);
			evlist_add(out, e);
		}
	}
}

/* Live objects per class as they were right after event `at`. */
static void event_counts_at(uint64_t at, int64_t *out)
{
	memcpy(out, event_counts, xbt_nclasses * sizeof(*out));
	for (uint64_t id = at + 1; id <= event_last && id >= event_first; id++) {
		const struct event *e = event_ring[id % event_cap];
		if (e->op == EVENT_ADD)
			out[e->ci]--;
		else if (e->op == EVENT_DEL)
			out[e->ci]++;
	}
}

/* ---- sleeping and waking (no lock held) --------------------------------------- */

static void event_wake_sleepers(void)
{
	if (atomic_load(&event_sleepers))
		syscall(SYS_futex, &event_seq, FUTEX_WAKE_PRIVATE, INT_MAX,
			NULL, NULL, 0);
}

static void event_wake(void)
{
	atomic_fetch_add(&event_seq, 1);
	event_wake_sleepers();
}

/*
 * event_record only bumps event_seq (a waiter about to sleep sees it and
 * does not): the futex wake, which lets the woken threads run and may
 * preempt us, happens here, after store_unlock.
 */
void event_publish(void)
{
	if (atomic_load_explicit(&event_unpublished, memory_order_relaxed) &&
	    atomic_exchange(&event_unpublished, false))
		event_wake_sleepers();
	while (event_ndefer_val)
		xmlrpc_DECREF(event_defer_val[--event_ndefer_val]);
	while (event_ndefer_ev)
		event_unref(event_defer_ev[--event_ndefer_ev]);
}

/*
 * Sleeps until event_seq moves from `seen` (at once if it already has) or
 * the CLOCK_MONOTONIC deadline (NULL: none) passes.
 */
static void event_wait(unsigned seen, const struct timespec *deadline)
{
	atomic_fetch_add(&event_sleepers, 1);
	syscall(SYS_futex, &event_seq, FUTEX_WAIT_BITSET_PRIVATE, seen,
		deadline, NULL, FUTEX_BITSET_MATCH_ANY);
	atomic_fetch_sub(&event_sleepers, 1);
}

static void event_waiter_add(struct waiter *w, const char *session)
{
	w->session = session;
	atomic_init(&w->session_gone, false);
	pthread_mutex_lock(&event_waiters_mutex);
	LIST_INSERT_HEAD(&event_waiters, w, link);
	pthread_mutex_unlock(&event_waiters_mutex);
}

static void event_waiter_remove(struct waiter *w)
{
	pthread_mutex_lock(&event_waiters_mutex);
	LIST_REMOVE(w, link);
	pthread_mutex_unlock(&event_waiters_mutex);
}

/*
 * SESSION_INVALID unless the session lives. Checked after the caller is
 * listed as a waiter, so a deletion either fails this or marks the waiter.
 */
static xbt_error *event_check_session(const char *session)
{
	xbt_error *err = NULL;

	store_lock();
	if (!store_get(&xbt_class_session, session))
		err = XBT_RAISE(XBT_ERR_SESSION_INVALID, session);
	store_unlock();
	return err;
}

static struct reg *event_reg_find(const char *session)
{
	struct reg *r;

	LIST_FOREACH(r, &event_regs, link)
		if (strcmp(r->session, session) == 0)
			break;
	return r;
}

static void event_reg_free(struct reg *r)
{
	LIST_REMOVE(r, link);
	subs_release(&r->subs);
	free(r->session);
	free(r);
}

/*
 * A session was deleted (event_record, store lock held): forget its
 * registration, end its waits.
 */
static void event_session_gone(const char *session)
{
	struct waiter *w;
	struct reg *r;
	bool wake = false;

	pthread_rwlock_wrlock(&event_lock);
	if ((r = event_reg_find(session)))
		event_reg_free(r);
	pthread_rwlock_unlock(&event_lock);
	pthread_mutex_lock(&event_waiters_mutex);
	LIST_FOREACH(w, &event_waiters, link) {
		if (strcmp(w->session, session) == 0) {
			atomic_store(&w->session_gone, true);
			wake = true;
		}
	}
	pthread_mutex_unlock(&event_waiters_mutex);
	if (wake) {  /* under the store lock: store_unlock publishes */
		atomic_fetch_add(&event_seq, 1);
		atomic_store(&event_unpublished, true);
	}
}

/* ---- the store's hook ------------------------------------------------------- */

void event_record(const xbt_class_desc *c, const char *ref, enum event_op op,
		  const void *rec)
{
	struct timespec t0, t1;
	struct event *e, *old = NULL;
	uint_fast64_t ns, max;
	size_t ci;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_once(&event_once, event_init);
	ci = event_class_index(c);
	if (event_silent[ci]) {
		if (op == EVENT_DEL)
			event_session_gone(ref);
		return;
	}
	e = event_alloc(c, ci, ref, op, op == EVENT_DEL ? NULL : rec);
	e->in_ring = true;
	pthread_rwlock_wrlock(&event_lock);
	e->id = ++event_last;
	atomic_store(&event_newest, e->id);
	old = event_ring[e->id % event_cap];
	event_ring[e->id % event_cap] = e;
	if (old)
		event_first = old->id + 1;
	if (op != EVENT_MOD) {
		event_counts[ci] += op == EVENT_ADD ? 1 : -1;
		event_counts_version++;
	}
	/* The event leaving the window gives up its shared value. */
	if (e->id > EVENT_VALUE_WINDOW &&
	    e->id - EVENT_VALUE_WINDOW >= event_first) {
		struct event *w = event_ring[(e->id - EVENT_VALUE_WINDOW) %
					     event_cap];
		/* Never wait for a reader building it: it goes with w then. */
		if (pthread_mutex_trylock(&w->vlock) == 0) {
			xmlrpc_value *v = w->val;
			w->val = NULL;
			pthread_mutex_unlock(&w->vlock);
			if (v && event_ndefer_val < EVENT_DEFER_MAX)
				event_defer_val[event_ndefer_val++] = v;
			else if (v)
				xmlrpc_DECREF(v);
		}
	}
	pthread_rwlock_unlock(&event_lock);
	atomic_fetch_add(&event_seq, 1);
	atomic_store(&event_unpublished, true);
	if (old && event_ndefer_ev < EVENT_DEFER_MAX)
		event_defer_ev[event_ndefer_ev++] = old;
	else
		event_unref(old);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (uint_fast64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L +
			     (t1.tv_nsec - t0.tv_nsec));
	atomic_fetch_add_explicit(&event_stat_n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&event_stat_ns, ns, memory_order_relaxed);
	max = atomic_load_explicit(&event_stat_max_ns, memory_order_relaxed);
	while (ns > max &&
	       !atomic_compare_exchange_weak_explicit(&event_stat_max_ns, &max,
						      ns, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* ---- event.from ---------------------------------------------------------------- */

struct snap_ctx {
	const struct subs *subs;
	const xbt_class_desc *c;
	size_t ci;
	struct evlist *out;
	uint64_t id;
};

static void event_snap_one(const char *ref, void *rec, void *ctx)
{
	struct snap_ctx *k = ctx;
	struct event *e;

	if (!subs_match(k->subs, k->ci, ref))
		return;
	e = event_alloc(k->c, k->ci, ref, EVENT_ADD, rec);
	e->id = k->id;
	evlist_add(k->out, e);
}

/*
 * The token "": an "add" event for every live object the caller watches,
 * all as of the newest event, whose id they carry.
 */
static void event_everything(const struct subs *s, struct evlist *out,
			     uint64_t *cursor, int64_t *counts,
			     uint64_t *counts_version)
{
	struct snap_ctx k = { .subs = s, .out = out };

	/* No event can be recorded while we hold the store lock. */
	store_lock();
	pthread_rwlock_rdlock(&event_lock);
	*cursor = k.id = event_last;
	memcpy(counts, event_counts, xbt_nclasses * sizeof(*counts));
	*counts_version = event_counts_version;
	pthread_rwlock_unlock(&event_lock);
	for (size_t i = 0; i < xbt_nclasses; i++) {
		if (event_silent[i] || !subs_want_class(s, i))
			continue;
		k.c = xbt_classes[i];
		k.ci = i;
		store_foreach(k.c, event_snap_one, &k);
	}
	store_unlock();
}

static xmlrpc_value *event_counts_build(const int64_t *counts)
{
	xmlrpc_value *st = xbt_value_struct();

	for (size_t i = 0; i < xbt_nclasses; i++) {
		int64_t n = counts[i];
		if (event_silent[i])
			continue;
		/* xapi sends these as int32: <i4> on XML-RPC. */
		xbt_value_put(st, xbt_classes[i]->lower,
			      xbt_value_i4(n > INT32_MAX ? INT32_MAX
					   : n < 0 ? 0 : (int32_t)n));
	}
	return st;
}

/*
 * valid_ref_counts as a new reference. `version` is event_counts_version
 * when counts are the current ones (shared by every reader of that
 * version), or UINT64_MAX for counts of an older point (built here).
 */
static xmlrpc_value *event_counts_value(const int64_t *counts,
					uint64_t version)
{
	xmlrpc_value *v;

	if (version == UINT64_MAX)
		return event_counts_build(counts);
	pthread_mutex_lock(&event_counts_cache_mutex);
	if (!event_counts_cache || event_counts_cache_version != version) {
		if (event_counts_cache)
			xmlrpc_DECREF(event_counts_cache);
		event_counts_cache = event_counts_build(counts);
		event_counts_cache_version = version;
	}
	v = event_counts_cache;
	xmlrpc_INCREF(v);
	pthread_mutex_unlock(&event_counts_cache_mutex);
	return v;
}

xbt_error *event_from(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct subs subs = { 0 };
	struct evlist got = { 0 };
	struct waiter w;
	struct timespec deadline;
	double timeout = call->argv[2].d;
	int64_t *counts = NULL;
	bool everything = false, waiting = false, have_counts = false;
	uint64_t cursor = 0, counts_version = UINT64_MAX;
	char token[48];
	xbt_error *err;

	if ((err = XBT_PROPAGATE(event_token_parse(call->argv[1].s, &cursor,
						   &everything))))
		goto out;
	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &subs))))
		goto out;
	if (!(timeout > 0))  /* negative or NaN */
		timeout = 0;
	if (timeout > EVENT_MAX_TIMEOUT)
		timeout = EVENT_MAX_TIMEOUT;
	event_deadline(timeout, &deadline);
	pthread_once(&event_once, event_init);
	counts = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1, sizeof(*counts));
	if (everything) {
		event_everything(&subs, &got, &cursor, counts,
				 &counts_version);
		have_counts = got.n > 0;
	}
	event_waiter_add(&w, call->session);
	waiting = true;
	if ((err = XBT_PROPAGATE(event_check_session(call->session))))
		goto out;
	/* Like xapi, an empty answer only when the time is up. */
	while (!got.n || !have_counts) {
		unsigned seen = atomic_load(&event_seq);
		bool done;
		if (atomic_load(&w.session_gone)) {
			err = XBT_RAISE(XBT_ERR_SESSION_INVALID, call->session);
			break;
		}
		pthread_rwlock_rdlock(&event_lock);
		if (event_lost(cursor)) {
			pthread_rwlock_unlock(&event_lock);
			err = XBT_RAISE(XBT_ERR_EVENTS_LOST);
			break;
		}
		if (!got.n)
			event_collect(&subs, &cursor, &got, EVENT_FROM_MAX);
		done = got.n || atomic_load(&event_stopping) ||
		       event_past(&deadline);
		if (done && !have_counts) {
			event_counts_at(cursor, counts);
			counts_version = cursor == event_last
					 ? event_counts_version : UINT64_MAX;
			have_counts = true;
		}
		pthread_rwlock_unlock(&event_lock);
		if (done)
			break;
		event_wait(seen, &deadline);
	}
	if (err)
		goto out;
	*result = xbt_value_struct();
	xmlrpc_value *events = xbt_value_array();
	for (size_t i = 0; i < got.n; i++)
		xbt_value_push(events, event_value(got.v[i]));
	xbt_value_put(*result, "events", events);
	xbt_value_put(*result, "valid_ref_counts",
		     event_counts_value(counts, counts_version));
	event_token_format(token, sizeof(token), cursor);
	xbt_value_put(*result, "token", xbt_value_string(token));
out:
	if (waiting)
		event_waiter_remove(&w);
	evlist_release(&got);
	subs_release(&subs);
	free(counts);
	return err;
}

/* ---- event.inject ---------------------------------------------------------------- */

xbt_error *event_inject(struct call *call, xmlrpc_value *const *args,
			xmlrpc_value **result)
{
	const char *cls = call->argv[0].s, *ref = call->argv[1].s;
	const xbt_class_desc *c = xbt_class_find(cls);
	uint64_t id;
	void *rec;
	char token[48];
	xbt_error *err = NULL;

	pthread_once(&event_once, event_init);
	store_lock();
	if (!c) {
		err = XBT_RAISE(XBT_ERR_HANDLE_INVALID, cls, ref);
		goto out;
	}
	if ((err = XBT_PROPAGATE(store_need(c, ref, &rec))))
		goto out;
	store_touch(c, ref);
	pthread_rwlock_rdlock(&event_lock);
	/* The token just before the injected event, so event.from sees it. */
	id = event_last;
	if (!event_silent[event_class_index(c)])
		id--;
	pthread_rwlock_unlock(&event_lock);
	event_token_format(token, sizeof(token), id);
	*result = xbt_value_string(token);
out:
	store_unlock();
	return err;
}

/* ---- legacy: event.register / next / unregister ------------------------------ */

xbt_error *event_register(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	struct subs add = { 0 };
	struct reg *r;
	xbt_error *err;

	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &add))))
		goto out;
	pthread_once(&event_once, event_init);
	pthread_rwlock_wrlock(&event_lock);
	r = event_reg_find(call->session);
	if (!r) {
		r = xbt_calloc(1, sizeof(*r));
		r->session = xbt_strdup(call->session);
		r->last = event_last;
		LIST_INSERT_HEAD(&event_regs, r, link);
	}
	if (r->subs.n + add.n > EVENT_MAX_SUBS) {
		char why[64];
		snprintf(why, sizeof(why), "more than %d subscriptions",
			 EVENT_MAX_SUBS);
		err = XBT_RAISE(XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, why);
	} else {
		r->subs.v = xbt_reallocarray(r->subs.v, r->subs.n + add.n + 1,
					     sizeof(*r->subs.v));
		memcpy(r->subs.v + r->subs.n, add.v, add.n * sizeof(*add.v));
		r->subs.n += add.n;
		add.n = 0;
	}
	pthread_rwlock_unlock(&event_lock);
	/* Deleted meanwhile? Then its registration must not outlive it. */
	if (!err && (err = XBT_PROPAGATE(event_check_session(call->session)))) {
		pthread_rwlock_wrlock(&event_lock);
		if ((r = event_reg_find(call->session)))
			event_reg_free(r);
		pthread_rwlock_unlock(&event_lock);
	}
out:
	subs_release(&add);
	return err;
}

xbt_error *event_unregister(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	struct subs del = { 0 };
	struct reg *r;
	xbt_error *err;

	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &del))))
		goto out;
	pthread_once(&event_once, event_init);
	pthread_rwlock_wrlock(&event_lock);
	r = event_reg_find(call->session);
	for (size_t i = 0; r && i < r->subs.n;) {
		bool drop = false;
		for (size_t k = 0; k < del.n && !drop; k++)
			drop = strcmp(r->subs.v[i].text, del.v[k].text) == 0;
		if (!drop) {
			i++;
			continue;
		}
		free(r->subs.v[i].ref);
		free(r->subs.v[i].text);
		r->subs.v[i] = r->subs.v[--r->subs.n];
	}
	pthread_rwlock_unlock(&event_lock);
out:
	subs_release(&del);
	return err;
}

xbt_error *event_next(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct evlist got = { 0 };
	struct waiter w;
	struct reg *r;
	xbt_error *err;

	pthread_once(&event_once, event_init);
	event_waiter_add(&w, call->session);
	if ((err = XBT_PROPAGATE(event_check_session(call->session))))
		goto out;
	/* Blocks until an event matches, as xapi's does: no timeout. */
	for (;;) {
		unsigned seen = atomic_load(&event_seq);
		if (atomic_load(&w.session_gone)) {
			err = XBT_RAISE(XBT_ERR_SESSION_INVALID, call->session);
			break;
		}
		pthread_rwlock_wrlock(&event_lock);
		r = event_reg_find(call->session);
		if (!r) {
			err = XBT_RAISE(XBT_ERR_SESSION_NOT_REGISTERED,
					call->session);
		} else if (event_lost(r->last)) {
			/* The range is consumed: the next call goes on. */
			r->last = event_last;
			err = XBT_RAISE(XBT_ERR_EVENTS_LOST);
		} else {
			/* Concurrent callers of one session: disjoint ranges. */
			event_collect(&r->subs, &r->last, &got, EVENT_FROM_MAX);
		}
		pthread_rwlock_unlock(&event_lock);
		if (err || got.n || atomic_load(&event_stopping))
			break;
		event_wait(seen, NULL);
	}
	if (err)
		goto out;
	*result = xbt_value_array();
	for (size_t i = 0; i < got.n; i++)
		xbt_value_push(*result, event_value(got.v[i]));
out:
	event_waiter_remove(&w);
	evlist_release(&got);
	return err;
}

/* ---- shutdown ------------------------------------------------------------------------ */

void event_stop(void)
{
	atomic_store(&event_stopping, true);
	event_wake();
}

void event_shutdown(void)
{
	uint64_t n = atomic_load(&event_stat_n);
	struct reg *r;

	if (n)
		log_info("events: %" PRIu64 " recorded; event_record took "
			 "%.2f us on average, %.2f us at most",
			 (uint64_t)n,
			 (double)atomic_load(&event_stat_ns) / (double)n / 1e3,
			 (double)atomic_load(&event_stat_max_ns) / 1e3);
	pthread_once(&event_once, event_init);
	pthread_rwlock_wrlock(&event_lock);
	for (size_t i = 0; i < event_cap; i++) {
		event_unref(event_ring[i]);
		event_ring[i] = NULL;
	}
	while ((r = LIST_FIRST(&event_regs)))
		event_reg_free(r);
	pthread_rwlock_unlock(&event_lock);
	event_publish();
	pthread_mutex_lock(&event_counts_cache_mutex);
	if (event_counts_cache)
		xmlrpc_DECREF(event_counts_cache);
	event_counts_cache = NULL;
	pthread_mutex_unlock(&event_counts_cache_mutex);
}
