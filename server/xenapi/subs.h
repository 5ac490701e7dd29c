/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Event subscriptions: "*", "<class>" or "<class>/<ref>", as event.from,
 * event.register and event.unregister take them (server/xenapi/subs.c).
 */
#ifndef XBTD_SUBS_H
#define XBTD_SUBS_H

#include "evlog.h"
#include "xbtd.h"

#define EVENT_MAX_SUBS 1024        /* subscriptions in one call or session */
#define EVENT_MAX_SUB_LEN 256      /* bytes of one subscription string */

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

/*
 * Parses a set of subscription strings into out (subs_release frees it).
 * At most EVENT_MAX_SUBS of at most EVENT_MAX_SUB_LEN bytes, else
 * EVENT_SUBSCRIPTION_PARSE_FAILURE [why]. Unknown classes and classes
 * without events subscribe to nothing, as in xapi.
 */
xbt_error *subs_parse(xmlrpc_value *set, struct subs *out);
void subs_release(struct subs *s);
/* Whether s wants an event of class index ci on ref. */
bool subs_match(const struct subs *s, size_t ci, const char *ref);
/* subs_match as an evlog_match_fn (ctx: the struct subs). */
bool subs_match_event(const struct evlog_event *e, const void *ctx);
/* Whether s wants any object of class index ci. */
bool subs_want_class(const struct subs *s, size_t ci);

#endif
