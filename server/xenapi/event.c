/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event class: event.from, event.inject, and the legacy event.register
 * / next / unregister, reading the event log (evlog.c).
 *
 * - Tokens have xapi's form "%020d,%020d": the id of the newest event the
 *   caller has seen, then xapi's message generation (always 0 here). ""
 *   asks for the current state: an "add" event for every object.
 * - Classes with events="false" in the IDL (sessions: a session ref is a
 *   credential, as xapi's gen_events=false) have no events and no
 *   subscriptions.
 * - A waiting call ends with SESSION_INVALID when its session ends:
 *   session.c bumps its generation and pokes the log, and the waiter asks
 *   session.c whether its own session still lives.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evlog.h"
#include "subs.h"
#include "xbtd.h"

#define EVENT_FROM_MAX 1000        /* events in one reply; the rest next call */
#define EVENT_MAX_TIMEOUT 3600.0   /* seconds one event.from may wait */

/* The event.register state of one session. */
struct reg {
	char *session;
	uint64_t last;            /* newest id handed out to this session */
	struct subs subs;
	LIST_ENTRY(reg) link;
};

static pthread_mutex_t event_regs_mutex = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, reg) event_regs = LIST_HEAD_INITIALIZER(event_regs);

/* valid_ref_counts as of evlog_counts_version, shared by the readers. */
static pthread_mutex_t event_counts_cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static xmlrpc_value *event_counts_cache;
static uint64_t event_counts_cache_version;

/* ---- tokens and time ------------------------------------------------------- */

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
		err = XBT_RAISE_EVENT_FROM_TOKEN_PARSE_FAILURE(token);
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

/* ---- sessions of waiting calls ---------------------------------------------- */

/*
 * Whether the waiting call's session ended: asked of session.c only when a
 * session somewhere ended since *gen.
 */
static bool event_session_ended(const char *session, unsigned *gen)
{
	unsigned now = session_generation();

	if (now == *gen)
		return false;
	*gen = now;
	return !session_alive(session);
}

/* ---- event.from ---------------------------------------------------------------- */

struct snap_ctx {
	const struct subs *subs;
	const xbt_class_desc *c;
	struct evlog_list *out;
	uint64_t id;
};

static void event_snap_one(const char *ref, const void *rec, void *ctx)
{
	struct snap_ctx *k = ctx;

	if (subs_match(k->subs, k->c->index, ref))
		evlog_list_add(k->out, evlog_snapshot(k->c, ref, rec, k->id));
}

/*
 * The token "": an "add" event for every live object the caller watches,
 * all as of the newest event, whose id they carry.
 */
static void event_everything(const struct subs *s, struct evlog_list *out,
			     uint64_t *cursor, int64_t *counts,
			     uint64_t *counts_version)
{
	struct snap_ctx k = { .subs = s, .out = out };
	bool current;

	/* Nothing is appended while we hold the store lock. */
	store_lock();
	evlog_read_begin();
	*cursor = k.id = evlog_last();
	evlog_counts_at(*cursor, counts, &current);
	*counts_version = evlog_counts_version();
	evlog_read_end();
	for (size_t i = 0; i < xbt_nclasses; i++) {
		if (!xbt_classes[i]->events || !subs_want_class(s, i))
			continue;
		k.c = xbt_classes[i];
		store_foreach(k.c, event_snap_one, &k);
	}
	store_unlock();
}

static xmlrpc_value *event_counts_build(const int64_t *counts)
{
	xmlrpc_value *st = xbt_value_struct();

	for (size_t i = 0; i < xbt_nclasses; i++) {
		int64_t n = counts[i];
		if (!xbt_classes[i]->events)
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
	struct evlog_list got = { 0 };
	struct timespec deadline;
	double timeout = call->argv[2].d;
	int64_t *counts = NULL;
	bool everything = false, have_counts = false;
	uint64_t cursor = 0, counts_version = UINT64_MAX;
	/* Not the current generation: the first look asks session.c. */
	unsigned gen = session_generation() - 1;
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
	counts = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1, sizeof(*counts));
	if (everything) {
		event_everything(&subs, &got, &cursor, counts,
				 &counts_version);
		have_counts = got.n > 0;
	}
	/* Like xapi, an empty answer only when the time is up. */
	while (!got.n || !have_counts) {
		unsigned seen = evlog_seq();
		bool done, current;

		if (event_session_ended(call->session, &gen)) {
			err = XBT_RAISE_SESSION_INVALID(call->session);
			break;
		}
		evlog_read_begin();
		if (evlog_lost(cursor)) {
			evlog_read_end();
			err = XBT_RAISE_EVENTS_LOST();
			break;
		}
		if (!got.n)
			evlog_collect(subs_match_event, &subs, &cursor, &got,
				      EVENT_FROM_MAX);
		done = got.n || evlog_stopping() || event_past(&deadline);
		if (done && !have_counts) {
			evlog_counts_at(cursor, counts, &current);
			counts_version = current ? evlog_counts_version()
						 : UINT64_MAX;
			have_counts = true;
		}
		evlog_read_end();
		if (done)
			break;
		evlog_wait(seen, &deadline);
	}
	if (err)
		goto out;
	*result = xbt_value_struct();
	xmlrpc_value *events = xbt_value_array();
	for (size_t i = 0; i < got.n; i++)
		xbt_value_push(events, evlog_event_value(got.v[i]));
	xbt_value_put(*result, "events", events);
	xbt_value_put(*result, "valid_ref_counts",
		      event_counts_value(counts, counts_version));
	event_token_format(token, sizeof(token), cursor);
	xbt_value_put(*result, "token", xbt_value_string(token));
out:
	evlog_list_release(&got);
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
	char token[48];
	void *rec;
	xbt_error *err = NULL;

	store_lock();
	if (!c) {
		err = XBT_RAISE_HANDLE_INVALID(cls, ref);
		goto out;
	}
	/* A change with nothing changed: its event comes at store_unlock. */
	if ((err = XBT_PROPAGATE(store_need_edit(c, ref, &rec))))
		goto out;
	/* The token just before the injected event, so event.from sees it. */
	evlog_read_begin();
	event_token_format(token, sizeof(token), evlog_last());
	evlog_read_end();
	*result = xbt_value_string(token);
out:
	store_unlock();
	return err;
}

/* ---- legacy: event.register / next / unregister ------------------------------ */

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

xbt_error *event_register(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	struct subs add = { 0 };
	struct reg *r;
	xbt_error *err;

	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &add))))
		goto out;
	pthread_mutex_lock(&event_regs_mutex);
	r = event_reg_find(call->session);
	if (!r) {
		r = xbt_calloc(1, sizeof(*r));
		r->session = xbt_strdup(call->session);
		evlog_read_begin();
		r->last = evlog_last();
		evlog_read_end();
		LIST_INSERT_HEAD(&event_regs, r, link);
	}
	if (r->subs.n + add.n > EVENT_MAX_SUBS) {
		char why[64];
		snprintf(why, sizeof(why), "more than %d subscriptions",
			 EVENT_MAX_SUBS);
		err = XBT_RAISE_EVENT_SUBSCRIPTION_PARSE_FAILURE(why);
	} else {
		r->subs.v = xbt_reallocarray(r->subs.v, r->subs.n + add.n + 1,
					     sizeof(*r->subs.v));
		memcpy(r->subs.v + r->subs.n, add.v, add.n * sizeof(*add.v));
		r->subs.n += add.n;
		add.n = 0;
	}
	pthread_mutex_unlock(&event_regs_mutex);
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
	pthread_mutex_lock(&event_regs_mutex);
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
	pthread_mutex_unlock(&event_regs_mutex);
out:
	subs_release(&del);
	return err;
}

xbt_error *event_next(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct evlog_list got = { 0 };
	unsigned gen = session_generation() - 1; /* the first look asks */
	struct reg *r;
	xbt_error *err = NULL;

	/* Blocks until an event matches, as xapi's does: no timeout. */
	for (;;) {
		unsigned seen = evlog_seq();

		if (event_session_ended(call->session, &gen)) {
			err = XBT_RAISE_SESSION_INVALID(call->session);
			break;
		}
		pthread_mutex_lock(&event_regs_mutex);
		evlog_read_begin();
		r = event_reg_find(call->session);
		if (!r) {
			err = XBT_RAISE_SESSION_NOT_REGISTERED(call->session);
		} else if (evlog_lost(r->last)) {
			/* The range is consumed: the next call goes on. */
			r->last = evlog_last();
			err = XBT_RAISE_EVENTS_LOST();
		} else {
			/* Concurrent callers of one session: disjoint ranges. */
			evlog_collect(subs_match_event, &r->subs, &r->last, &got,
				      EVENT_FROM_MAX);
		}
		evlog_read_end();
		pthread_mutex_unlock(&event_regs_mutex);
		if (err || got.n || evlog_stopping())
			break;
		evlog_wait(seen, NULL);
	}
	if (err)
		goto out;
	*result = xbt_value_array();
	for (size_t i = 0; i < got.n; i++)
		xbt_value_push(*result, evlog_event_value(got.v[i]));
out:
	evlog_list_release(&got);
	return err;
}

/* ---- housekeeping and shutdown ------------------------------------------------- */

void event_gc(void)
{
	struct reg *r, *next;

	pthread_mutex_lock(&event_regs_mutex);
	for (r = LIST_FIRST(&event_regs); r; r = next) {
		next = LIST_NEXT(r, link);
		if (!session_alive(r->session))
			event_reg_free(r);
	}
	pthread_mutex_unlock(&event_regs_mutex);
}

void event_shutdown(void)
{
	struct reg *r;

	pthread_mutex_lock(&event_regs_mutex);
	while ((r = LIST_FIRST(&event_regs)))
		event_reg_free(r);
	pthread_mutex_unlock(&event_regs_mutex);
	pthread_mutex_lock(&event_counts_cache_mutex);
	if (event_counts_cache)
		xmlrpc_DECREF(event_counts_cache);
	event_counts_cache = NULL;
	pthread_mutex_unlock(&event_counts_cache_mutex);
}
