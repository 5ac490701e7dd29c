/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Events: a bounded log of every change the store makes, and the calls that
 * read it: event.from, event.inject, and the legacy event.register / next /
 * unregister.
 *
 * - The store calls event_record with its lock held. The record is copied
 *   into one flat allocation (one malloc, no per-string allocation), given
 *   the next id and put in a ring of the newest `--event-history` events.
 *   The wire value of an event is built from that copy by each reader,
 *   outside every lock.
 * - Readers scan the ring under event_mutex (taken inside the store lock by
 *   event_record, never the other way round) and sleep on one condition
 *   variable. A change broadcasts only when someone sleeps who has not been
 *   woken yet, so a burst of changes costs one wake-up.
 * - Tokens have xapi's form "%020d,%020d": the id of the newest event the
 *   caller has seen, then xapi's message generation (always 0 here). ""
 *   asks for the current state: an "add" event for every object.
 * - Sessions are not events (xapi: gen_events=false; a session ref is a
 *   credential). Deleting one wakes its waiters with SESSION_INVALID and
 *   forgets its event.register subscriptions.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xbtd.h"

#define EVENT_HISTORY_DEFAULT 10000
#define EVENT_FROM_MAX 1000        /* events in one reply; the rest next call */
#define EVENT_MAX_SUBS 1024        /* subscriptions in one call or session */
#define EVENT_MAX_SUB_LEN 256      /* bytes of one subscription string */
#define EVENT_MAX_TIMEOUT 3600.0   /* seconds one event.from may wait */

/* xapi's code for a subscription it cannot read. */
#ifndef XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE
#define XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE \
	"EVENT_SUBSCRIPTION_PARSE_FAILURE"
#endif

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
	char ref[64];
	void *rec;                /* flat copy; NULL for a deletion */
};

struct evlist {
	struct event **v;
	size_t n, cap;
};

/* A call that waits (event.from, event.next). */
struct waiter {
	const char *session;
	bool session_gone;
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
static pthread_mutex_t event_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t event_cond;
static struct event **event_ring;
static size_t event_cap;
static uint64_t event_first = 1;   /* oldest id still held */
static uint64_t event_last;        /* newest id; 0: none yet */
static int64_t *event_counts;      /* live objects per class index */
static bool *event_silent;         /* per class index: no events */
static unsigned event_sleepers;
static bool event_woken;           /* every sleeper has been woken */
static bool event_stopping;
static LIST_HEAD(, waiter) event_waiters = LIST_HEAD_INITIALIZER(event_waiters);
static LIST_HEAD(, reg) event_regs = LIST_HEAD_INITIALIZER(event_regs);

/* What event_record costs its caller (who holds the store lock). */
static atomic_uint_fast64_t event_stat_n, event_stat_ns, event_stat_max_ns;

/* ---- small helpers ----------------------------------------------------- */

static void event_fatal_env(xmlrpc_env *env, const char *what)
{
	if (env->fault_occurred)
		xbt_fatalx("%s: %s", what, env->fault_string);
}

static xmlrpc_value *event_str(const char *s)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = xmlrpc_string_new(&env, s);
	event_fatal_env(&env, "xmlrpc_string_new");
	xmlrpc_env_clean(&env);
	return v;
}

/* Sets st[key] = v and drops our reference to v. */
static void event_member(xmlrpc_value *st, const char *key, xmlrpc_value *v)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_struct_set_value(&env, st, key, v);
	event_fatal_env(&env, "xmlrpc_struct_set_value");
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
}

static void event_append(xmlrpc_value *array, xmlrpc_value *v)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_array_append_item(&env, array, v);
	event_fatal_env(&env, "xmlrpc_array_append_item");
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
}

static xmlrpc_value *event_new_struct(void)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = xmlrpc_struct_new(&env);
	event_fatal_env(&env, "xmlrpc_struct_new");
	xmlrpc_env_clean(&env);
	return v;
}

static xmlrpc_value *event_new_array(void)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = xmlrpc_array_new(&env);
	event_fatal_env(&env, "xmlrpc_array_new");
	xmlrpc_env_clean(&env);
	return v;
}

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
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&event_cond, &attr);
	pthread_condattr_destroy(&attr);
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
	if (e && atomic_fetch_sub(&e->refs, 1) == 1)
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
static xmlrpc_value *event_value(const struct event *e, uint64_t id)
{
	static const char *const ops[] = { "add", "mod", "del" };
	xmlrpc_value *st = event_new_struct();
	char buf[64];

	snprintf(buf, sizeof(buf), "%" PRIu64, id);
	event_member(st, "id", event_str(buf));
	snprintf(buf, sizeof(buf), "%lld.%06ld", (long long)e->ts.tv_sec,
		 e->ts.tv_nsec / 1000);
	event_member(st, "timestamp", event_str(buf));
	event_member(st, "class", event_str(e->c->lower));
	event_member(st, "operation", event_str(ops[e->op]));
	event_member(st, "ref", event_str(e->ref));
	if (e->rec)
		event_member(st, "snapshot", xbt_record_to_value(e->c, e->rec));
	return st;
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
	xmlrpc_env env;
	xbt_error *err = NULL;
	int n;

	xmlrpc_env_init(&env);
	memset(out, 0, sizeof(*out));
	n = xmlrpc_array_size(&env, set);
	event_fatal_env(&env, "subscriptions");
	if (n > EVENT_MAX_SUBS) {
		char why[64];
		snprintf(why, sizeof(why), "more than %d subscriptions",
			 EVENT_MAX_SUBS);
		err = XBT_RAISE(XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, why);
		goto out;
	}
	out->v = xbt_calloc(n > 0 ? (size_t)n : 1, sizeof(*out->v));
	for (int i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		const char *s = NULL;
		size_t len = 0;
		xmlrpc_array_read_item(&env, set, i, &item);
		xmlrpc_read_string_lp(&env, item, &len, &s);
		xmlrpc_DECREF(item);
		event_fatal_env(&env, "subscription");
		if (len > EVENT_MAX_SUB_LEN || strlen(s) != len) {
			char why[96];
			snprintf(why, sizeof(why),
				 "subscription %d: longer than %d bytes or has NUL",
				 i, EVENT_MAX_SUB_LEN);
			free((char *)s);
			err = XBT_RAISE(XBT_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE,
					why);
			goto out;
		}
		sub_parse(s, &out->v[out->n++]);
		free((char *)s);
	}
out:
	if (err)
		subs_release(out);
	xmlrpc_env_clean(&env);
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

/* ---- the log (event_mutex held unless said) ----------------------------- */

static bool event_lost(uint64_t cursor)
{
	return cursor + 1 < event_first || cursor > event_last;
}

/*
 * Adds the events after *cursor that match s to out (taking a reference on
 * each), at most `max` in all, and moves *cursor past what it looked at.
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

static void event_wake_all(void)
{
	if (event_sleepers && !event_woken) {
		pthread_cond_broadcast(&event_cond);
		event_woken = true;
	}
}

/* Sleeps until woken or the deadline (NULL: none). */
static void event_sleep(const struct timespec *deadline)
{
	event_woken = false;
	event_sleepers++;
	if (deadline)
		pthread_cond_timedwait(&event_cond, &event_mutex, deadline);
	else
		pthread_cond_wait(&event_cond, &event_mutex);
	event_sleepers--;
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

static void event_session_gone(const char *session)
{
	struct waiter *w;
	struct reg *r = event_reg_find(session);
	bool wake = false;

	if (r)
		event_reg_free(r);
	LIST_FOREACH(w, &event_waiters, link) {
		if (strcmp(w->session, session) == 0) {
			w->session_gone = true;
			wake = true;
		}
	}
	if (wake) {
		pthread_cond_broadcast(&event_cond);
		event_woken = true;
	}
}

/*
 * Takes event_mutex for the caller's session: SESSION_INVALID if it is gone
 * (dispatch checked it, but it may have expired since). Unlocked on error.
 */
static xbt_error *event_lock_session(const char *session)
{
	xbt_error *err = NULL;

	pthread_once(&event_once, event_init);
	store_lock();
	if (!store_get(&xbt_class_session, session))
		err = XBT_RAISE(XBT_ERR_SESSION_INVALID, session);
	else
		pthread_mutex_lock(&event_mutex);
	store_unlock();
	return err;
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
		if (op == EVENT_DEL) {
			pthread_mutex_lock(&event_mutex);
			event_session_gone(ref);
			pthread_mutex_unlock(&event_mutex);
		}
		return;
	}
	e = event_alloc(c, ci, ref, op, op == EVENT_DEL ? NULL : rec);
	pthread_mutex_lock(&event_mutex);
	e->id = ++event_last;
	old = event_ring[e->id % event_cap];
	event_ring[e->id % event_cap] = e;
	if (old)
		event_first = old->id + 1;
	if (op == EVENT_ADD)
		event_counts[ci]++;
	else if (op == EVENT_DEL)
		event_counts[ci]--;
	event_wake_all();
	pthread_mutex_unlock(&event_mutex);
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
			     uint64_t *cursor, int64_t *counts)
{
	struct snap_ctx k = { .subs = s, .out = out };

	/* No event can be recorded while we hold the store lock. */
	store_lock();
	pthread_mutex_lock(&event_mutex);
	*cursor = k.id = event_last;
	memcpy(counts, event_counts, xbt_nclasses * sizeof(*counts));
	pthread_mutex_unlock(&event_mutex);
	for (size_t i = 0; i < xbt_nclasses; i++) {
		if (event_silent[i] || !subs_want_class(s, i))
			continue;
		k.c = xbt_classes[i];
		k.ci = i;
		store_foreach(k.c, event_snap_one, &k);
	}
	store_unlock();
}

static xmlrpc_value *event_counts_value(const int64_t *counts)
{
	xmlrpc_value *st = event_new_struct();
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	for (size_t i = 0; i < xbt_nclasses; i++) {
		int64_t n = counts[i];
		if (event_silent[i])
			continue;
		/* xapi sends these as int32: <i4> on XML-RPC. */
		event_member(st, xbt_classes[i]->lower,
			     xmlrpc_int_new(&env, n > INT32_MAX ? INT32_MAX
						  : n < 0 ? 0 : (int)n));
		event_fatal_env(&env, "xmlrpc_int_new");
	}
	xmlrpc_env_clean(&env);
	return st;
}

xbt_error *event_from(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct subs subs = { 0 };
	struct evlist got = { 0 };
	struct waiter w = { .session = call->session };
	struct timespec deadline;
	double timeout = call->argv[2].d;
	int64_t *counts = NULL;
	bool everything = false, locked = false, have_counts = false;
	uint64_t cursor = 0;
	char token[48];
	xbt_error *err;

	(void)args;
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
		event_everything(&subs, &got, &cursor, counts);
		have_counts = got.n > 0;
	}
	if ((err = XBT_PROPAGATE(event_lock_session(call->session))))
		goto out;
	locked = true;
	LIST_INSERT_HEAD(&event_waiters, &w, link);
	/* Like xapi, an empty answer only when the time is up. */
	while (!got.n) {
		if (w.session_gone) {
			err = XBT_RAISE(XBT_ERR_SESSION_INVALID, call->session);
			break;
		}
		if (event_lost(cursor)) {
			err = XBT_RAISE(XBT_ERR_EVENTS_LOST);
			break;
		}
		event_collect(&subs, &cursor, &got, EVENT_FROM_MAX);
		if (got.n || event_stopping || event_past(&deadline))
			break;
		event_sleep(&deadline);
	}
	LIST_REMOVE(&w, link);
	if (!err && !have_counts)
		event_counts_at(cursor, counts);
	pthread_mutex_unlock(&event_mutex);
	locked = false;
	if (err)
		goto out;
	*result = event_new_struct();
	xmlrpc_value *events = event_new_array();
	for (size_t i = 0; i < got.n; i++)
		event_append(events, event_value(got.v[i], got.v[i]->id));
	event_member(*result, "events", events);
	event_member(*result, "valid_ref_counts", event_counts_value(counts));
	event_token_format(token, sizeof(token), cursor);
	event_member(*result, "token", event_str(token));
out:
	if (locked)
		pthread_mutex_unlock(&event_mutex);
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

	(void)args;
	pthread_once(&event_once, event_init);
	store_lock();
	if (!c) {
		err = XBT_RAISE(XBT_ERR_HANDLE_INVALID, cls, ref);
		goto out;
	}
	if ((err = XBT_PROPAGATE(store_need(c, ref, &rec))))
		goto out;
	store_touch(c, ref);
	pthread_mutex_lock(&event_mutex);
	/* The token just before the injected event, so event.from sees it. */
	id = event_last;
	if (!event_silent[event_class_index(c)])
		id--;
	pthread_mutex_unlock(&event_mutex);
	event_token_format(token, sizeof(token), id);
	*result = event_str(token);
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

	(void)args;
	(void)result;
	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &add))))
		goto out;
	if ((err = XBT_PROPAGATE(event_lock_session(call->session))))
		goto out;
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
	pthread_mutex_unlock(&event_mutex);
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

	(void)args;
	(void)result;
	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &del))))
		goto out;
	if ((err = XBT_PROPAGATE(event_lock_session(call->session))))
		goto out;
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
	pthread_mutex_unlock(&event_mutex);
out:
	subs_release(&del);
	return err;
}

xbt_error *event_next(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct evlist got = { 0 };
	struct waiter w = { .session = call->session };
	struct reg *r;
	xbt_error *err;

	(void)args;
	if ((err = XBT_PROPAGATE(event_lock_session(call->session))))
		goto out;
	if (!event_reg_find(call->session)) {
		err = XBT_RAISE(XBT_ERR_SESSION_NOT_REGISTERED, call->session);
		pthread_mutex_unlock(&event_mutex);
		goto out;
	}
	LIST_INSERT_HEAD(&event_waiters, &w, link);
	/* Blocks until an event matches, as xapi's does: no timeout. */
	for (;;) {
		if (w.session_gone) {
			err = XBT_RAISE(XBT_ERR_SESSION_INVALID, call->session);
			break;
		}
		r = event_reg_find(call->session);
		if (!r) {
			err = XBT_RAISE(XBT_ERR_SESSION_NOT_REGISTERED,
					call->session);
			break;
		}
		if (event_lost(r->last)) {
			/* The range is consumed: the next call goes on. */
			r->last = event_last;
			err = XBT_RAISE(XBT_ERR_EVENTS_LOST);
			break;
		}
		/* Concurrent callers on one session get disjoint ranges. */
		event_collect(&r->subs, &r->last, &got, EVENT_FROM_MAX);
		if (got.n || event_stopping)
			break;
		event_sleep(NULL);
	}
	LIST_REMOVE(&w, link);
	pthread_mutex_unlock(&event_mutex);
	if (err)
		goto out;
	*result = event_new_array();
	for (size_t i = 0; i < got.n; i++)
		event_append(*result, event_value(got.v[i], got.v[i]->id));
out:
	evlist_release(&got);
	return err;
}

/* ---- shutdown ------------------------------------------------------------------------ */

void event_stop(void)
{
	pthread_once(&event_once, event_init);
	pthread_mutex_lock(&event_mutex);
	event_stopping = true;
	pthread_cond_broadcast(&event_cond);
	pthread_mutex_unlock(&event_mutex);
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
	pthread_mutex_lock(&event_mutex);
	for (size_t i = 0; event_ring && i < event_cap; i++) {
		event_unref(event_ring[i]);
		event_ring[i] = NULL;
	}
	while ((r = LIST_FIRST(&event_regs)))
		event_reg_free(r);
	pthread_mutex_unlock(&event_mutex);
}
