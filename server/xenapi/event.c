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

#include "event_wait.h"
#include "evlog.h"
#include "subs.h"
#include "xbt/wire.h"
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

/*
 * The token "": an "add" event for every live object the caller watches,
 * all as of the newest event, whose id they carry. The lock is held while
 * the classes' views are taken (store_view_take), not while the answer is
 * made of them.
 */
struct everything {
	struct store_view *views;  /* by class index; empty when unwatched */
	struct timespec ts;        /* the events' timestamp */
	size_t n;                  /* objects watched */
};

static void event_everything(const struct subs *s, struct everything *all,
			     uint64_t *cursor, int64_t *counts,
			     uint64_t *counts_version)
{
	bool current;

	all->views = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1,
				sizeof(*all->views));
	all->n = 0;
	/* Nothing is appended while we hold the store lock. */
	store_lock();
	evlog_read_begin();
	*cursor = evlog_last();
	evlog_counts_at(*cursor, counts, &current);
	*counts_version = evlog_counts_version();
	evlog_read_end();
	for (size_t i = 0; i < xbt_nclasses; i++)
		if (xbt_classes[i]->events && subs_want_class(s, i))
			store_view_take(xbt_classes[i], &all->views[i]);
	store_unlock();
	clock_gettime(CLOCK_REALTIME, &all->ts);
	for (size_t i = 0; i < xbt_nclasses; i++)
		for (size_t k = 0; k < all->views[i].n; k++)
			all->n += subs_match(s, i, store_view_ref(
						&all->views[i], k));
}

/* The events of everything, for a reply made of values. */
static void event_everything_list(const struct subs *s,
				  const struct everything *all, uint64_t id,
				  struct evlog_list *out)
{
	for (size_t i = 0; i < xbt_nclasses; i++) {
		for (size_t k = 0; k < all->views[i].n; k++) {
			const char *ref = store_view_ref(&all->views[i], k);

			if (subs_match(s, i, ref))
				evlog_list_add(out, evlog_snapshot(
					all->views[i].c, ref,
					store_view_rec(&all->views[i], k), id));
		}
	}
}

static void event_everything_release(struct everything *all)
{
	for (size_t i = 0; i < xbt_nclasses; i++)
		store_view_release(&all->views[i]);
	free(all->views);
	all->views = NULL;
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

/* One event.from call's state, kept while it waits parked. */
struct from_wait {
	struct event_wait w;       /* first */
	char *session;
	unsigned gen;              /* session_generation at the last look */
	struct subs subs;
	struct evlog_list got;
	int64_t *counts;
	bool have_counts;
	uint64_t cursor, counts_version;
};

static void from_release(struct event_wait *w)
{
	struct from_wait *f = (struct from_wait *)w;

	evlog_list_release(&f->got);
	subs_release(&f->subs);
	free(f->counts);
	free(f->session);
	free(f);
}

static xmlrpc_value *from_result(struct from_wait *f)
{
	xmlrpc_value *result = xbt_value_struct();
	xmlrpc_value *events = xbt_value_array();
	char token[48];

	for (size_t i = 0; i < f->got.n; i++)
		xbt_value_push(events, evlog_event_value(f->got.v[i]));
	xbt_value_put(result, "events", events);
	xbt_value_put(result, "valid_ref_counts",
		      event_counts_value(f->counts, f->counts_version));
	event_token_format(token, sizeof(token), f->cursor);
	xbt_value_put(result, "token", xbt_value_string(token));
	return result;
}

static void from_member(xbt_buf *out, bool json, const char *key,
			const char *value, bool first)
{
	xbt_wire_struct_key(out, json, key, strlen(key), first);
	xbt_wire_string(out, json, value);
	xbt_wire_struct_key_end(out, json);
}

/*
 * The reply to event.from "" written straight from the views: what
 * from_result writes (one timestamp for all the events aside), without a
 * copy and a value tree of every object, which took 7 to 20 times the
 * reply's size in memory.
 */
static void from_write_everything(xbt_buf *out, bool json,
				  const struct from_wait *f,
				  const struct everything *all)
{
	char id[32], ts[48], token[48];
	xmlrpc_value *counts;
	bool first = true;

	snprintf(id, sizeof(id), "%" PRIu64, f->cursor);
	snprintf(ts, sizeof(ts), "%lld.%06ld", (long long)all->ts.tv_sec,
		 all->ts.tv_nsec / 1000);
	xbt_wire_struct_open(out, json);
	xbt_wire_struct_key(out, json, "events", strlen("events"), true);
	xbt_buf_addstr(out, json ? "[" : "<value><array><data>");
	for (size_t i = 0; i < xbt_nclasses; i++) {
		const struct store_view *view = &all->views[i];

		for (size_t k = 0; k < view->n; k++) {
			const char *ref = store_view_ref(view, k);

			if (!subs_match(&f->subs, i, ref))
				continue;
			if (json && !first)
				xbt_buf_addch(out, ',');
			first = false;
			xbt_wire_struct_open(out, json);
			from_member(out, json, "id", id, true);
			from_member(out, json, "timestamp", ts, false);
			from_member(out, json, "class", view->c->lower, false);
			from_member(out, json, "operation", "add", false);
			from_member(out, json, "ref", ref, false);
			xbt_wire_struct_key(out, json, "snapshot",
					    strlen("snapshot"), false);
			xbt_wire_record(out, json, view->c,
					store_view_rec(view, k));
			xbt_wire_struct_key_end(out, json);
			xbt_wire_struct_close(out, json);
		}
	}
	xbt_buf_addstr(out, json ? "]" : "</data></array></value>");
	xbt_wire_struct_key_end(out, json);
	xbt_wire_struct_key(out, json, "valid_ref_counts",
			    strlen("valid_ref_counts"), false);
	counts = event_counts_value(f->counts, f->counts_version);
	if (json)
		xbt_wire_json_value(out, counts);
	else
		xbt_wire_xml_value(out, counts);
	xmlrpc_DECREF(counts);
	xbt_wire_struct_key_end(out, json);
	event_token_format(token, sizeof(token), f->cursor);
	from_member(out, json, "token", token, false);
	xbt_wire_struct_close(out, json);
}

/* Like xapi, an empty answer only when the time is up. */
static bool from_look(struct event_wait *w, xmlrpc_value **result,
		      xbt_error **err)
{
	struct from_wait *f = (struct from_wait *)w;
	bool done, current;

	if (event_session_ended(f->session, &f->gen)) {
		*err = XBT_RAISE_SESSION_INVALID(f->session);
		return true;
	}
	evlog_read_begin();
	if (evlog_lost(f->cursor)) {
		evlog_read_end();
		*err = XBT_RAISE_EVENTS_LOST();
		return true;
	}
	if (!f->got.n)
		evlog_collect(subs_match_event, &f->subs, &f->cursor, &f->got,
			      EVENT_FROM_MAX);
	done = f->got.n || evlog_stopping() || event_past(&w->deadline);
	if (done && !f->have_counts) {
		evlog_counts_at(f->cursor, f->counts, &current);
		f->counts_version = current ? evlog_counts_version()
					    : UINT64_MAX;
		f->have_counts = true;
	}
	evlog_read_end();
	if (done)
		*result = from_result(f);
	/* Events found answer every wait of the same cursor and subs. */
	w->shareable = done && f->got.n;
	return done;
}

static void from_key(const struct event_wait *w, xbt_buf *key)
{
	const struct from_wait *f = (const struct from_wait *)w;

	xbt_buf_addf(key, "%" PRIu64, f->cursor);
	for (size_t i = 0; i < f->subs.n; i++)
		xbt_buf_addf(key, "|%s", f->subs.v[i].text ?
			     f->subs.v[i].text : "");
}

static bool from_adopt(struct event_wait *w)
{
	struct from_wait *f = (struct from_wait *)w;

	return !event_session_ended(f->session, &f->gen);
}

/*
 * Looks, then waits: parked when the front can (no thread held; the
 * event-wait thread answers), else on this thread.
 */
static xbt_error *event_wait_for(struct call *call, struct event_wait *w,
				 const struct timespec *deadline,
				 xmlrpc_value **result, bool *parked)
{
	xbt_error *err = NULL;

	*parked = false;
	for (;;) {
		unsigned seen = evlog_seq();

		if (w->look(w, result, &err))
			break;
		if (rpc_can_park(call)) {
			w->park = rpc_park_take(call);
			event_wait_park(w);
			*parked = true;
			break;
		}
		evlog_wait(seen, deadline);
	}
	return err;
}

xbt_error *event_from(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct from_wait *f = xbt_calloc(1, sizeof(*f));
	double timeout = call->argv[2].d;
	bool everything = false, parked = false;
	xbt_error *err;

	f->w.look = from_look;
	f->w.release = from_release;
	f->w.key = from_key;
	f->w.adopt = from_adopt;
	f->session = xbt_strdup(call->session);
	/* Not the current generation: the first look asks session.c. */
	f->gen = session_generation() - 1;
	f->counts_version = UINT64_MAX;
	if ((err = XBT_PROPAGATE(event_token_parse(call->argv[1].s, &f->cursor,
						   &everything))))
		goto out;
	if ((err = XBT_PROPAGATE(subs_parse(call->argv[0].v, &f->subs))))
		goto out;
	if (!(timeout > 0))  /* negative or NaN */
		timeout = 0;
	if (timeout > EVENT_MAX_TIMEOUT)
		timeout = EVENT_MAX_TIMEOUT;
	event_deadline(timeout, &f->w.deadline);
	f->counts = xbt_calloc(xbt_nclasses ? xbt_nclasses : 1,
			       sizeof(*f->counts));
	if (everything) {
		struct everything all;
		xbt_buf *raw;

		event_everything(&f->subs, &all, &f->cursor, f->counts,
				 &f->counts_version);
		if (all.n && (raw = rpc_raw_result(call))) {
			from_write_everything(raw, rpc_answer_json(call), f,
					      &all);
			event_everything_release(&all);
			goto out;
		}
		event_everything_list(&f->subs, &all, f->cursor, &f->got);
		event_everything_release(&all);
		f->have_counts = f->got.n > 0;
	}
	if (f->got.n && f->have_counts)
		*result = from_result(f);
	else
		err = XBT_PROPAGATE(event_wait_for(call, &f->w, &f->w.deadline,
						   result, &parked));
out:
	if (!parked)
		from_release(&f->w);
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

/* One event.next call's state, kept while it waits parked. */
struct next_wait {
	struct event_wait w;       /* first */
	char *session;
	unsigned gen;
};

static void next_release(struct event_wait *w)
{
	struct next_wait *n = (struct next_wait *)w;

	free(n->session);
	free(n);
}

/* Until an event matches, as xapi's: no timeout. */
static bool next_look(struct event_wait *w, xmlrpc_value **result,
		      xbt_error **err)
{
	struct next_wait *n = (struct next_wait *)w;
	struct evlog_list got = { 0 };
	struct reg *r;

	if (event_session_ended(n->session, &n->gen)) {
		*err = XBT_RAISE_SESSION_INVALID(n->session);
		return true;
	}
	pthread_mutex_lock(&event_regs_mutex);
	evlog_read_begin();
	r = event_reg_find(n->session);
	if (!r) {
		*err = XBT_RAISE_SESSION_NOT_REGISTERED(n->session);
	} else if (evlog_lost(r->last)) {
		/* The range is consumed: the next call goes on. */
		r->last = evlog_last();
		*err = XBT_RAISE_EVENTS_LOST();
	} else {
		/* Concurrent callers of one session: disjoint ranges. */
		evlog_collect(subs_match_event, &r->subs, &r->last, &got,
			      EVENT_FROM_MAX);
	}
	evlog_read_end();
	pthread_mutex_unlock(&event_regs_mutex);
	if (*err || !(got.n || evlog_stopping()))
		goto out;
	*result = xbt_value_array();
	for (size_t i = 0; i < got.n; i++)
		xbt_value_push(*result, evlog_event_value(got.v[i]));
out:
	evlog_list_release(&got);
	return *err || *result;
}

xbt_error *event_next(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	struct next_wait *n = xbt_calloc(1, sizeof(*n));
	bool parked;
	xbt_error *err;

	n->w.look = next_look;
	n->w.release = next_release;
	n->session = xbt_strdup(call->session);
	n->gen = session_generation() - 1; /* the first look asks */
	err = XBT_PROPAGATE(event_wait_for(call, &n->w, NULL, result,
					   &parked));
	if (!parked)
		next_release(&n->w);
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
