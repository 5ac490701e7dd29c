/* SPDX-License-Identifier: BSD-2-Clause */
/* Event subscriptions (subs.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subs.h"

void subs_release(struct subs *s)
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
	if (!c || !c->events)
		goto out;
	out->ci = c->index;
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
xbt_error *subs_parse(xmlrpc_value *set, struct subs *out)
{
	xbt_error *err = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	n = xbt_value_size(set);
	if (n > EVENT_MAX_SUBS) {
		char why[64];
		snprintf(why, sizeof(why), "more than %d subscriptions",
			 EVENT_MAX_SUBS);
		err = XBT_RAISE_EVENT_SUBSCRIPTION_PARSE_FAILURE(why);
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
			err = XBT_RAISE_EVENT_SUBSCRIPTION_PARSE_FAILURE(why);
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

bool subs_match(const struct subs *s, size_t ci, const char *ref)
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

/* An evlog_match_fn over a struct subs. */
bool subs_match_event(const struct evlog_event *e, const void *ctx)
{
	return subs_match(ctx, e->c->index, e->ref);
}

bool subs_want_class(const struct subs *s, size_t ci)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == SUB_ALL ||
		    ((s->v[i].kind == SUB_CLASS || s->v[i].kind == SUB_OBJECT) &&
		     s->v[i].ci == ci))
			return true;
	return false;
}

