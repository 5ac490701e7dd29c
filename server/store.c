/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The object store: every object of every class, addressed by ref and by
 * uuid through per-class hash tables, in creation order for get_all. One
 * mutex guards it all: handlers hold it for microseconds, and one lock makes
 * multi-object changes (VM + VBDs + host) atomic for event readers.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "xbtd.h"

struct obj {
	char ref[64];
	char uuid[40];
	void *rec;
	struct obj *next_ref;
	struct obj *next_uuid;
	TAILQ_ENTRY(obj) link;
};
TAILQ_HEAD(obj_list, obj);

struct class_table {
	const xbt_class_desc *c;
	const xbt_field_desc *uuid_field; /* NULL for classes without one */
	struct obj **by_ref;
	struct obj **by_uuid;
	size_t nbuckets;
	size_t n;
	struct obj_list all;
};

static pthread_mutex_t store_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct class_table *store_tables;

int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

void store_new_uuid(char *buf)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0 && errno != EINTR)
			xbt_fatalx("getrandom: %s", strerror(errno));
		if (r > 0)
			got += (size_t)r;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static size_t store_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct class_table *store_table(const xbt_class_desc *c)
{
	for (size_t i = 0; i < xbt_nclasses; i++)
		if (store_tables[i].c == c)
			return &store_tables[i];
	xbt_fatalx("store: class %s is not in the model", c->name);
}

static char **store_uuid_member(struct class_table *t, void *rec)
{
	return (char **)((char *)rec + t->uuid_field->offset);
}

void store_init(void)
{
	store_tables = xbt_calloc(xbt_nclasses, sizeof(*store_tables));
	for (size_t i = 0; i < xbt_nclasses; i++) {
		struct class_table *t = &store_tables[i];
		t->c = xbt_classes[i];
		t->uuid_field = xbt_field_find(t->c, "uuid");
		t->nbuckets = 64;
		t->by_ref = xbt_calloc(t->nbuckets, sizeof(struct obj *));
		t->by_uuid = xbt_calloc(t->nbuckets, sizeof(struct obj *));
		TAILQ_INIT(&t->all);
	}
}

void store_shutdown(void)
{
	if (!store_tables)
		return;
	for (size_t i = 0; i < xbt_nclasses; i++) {
		struct class_table *t = &store_tables[i];
		struct obj *o;
		while ((o = TAILQ_FIRST(&t->all))) {
			TAILQ_REMOVE(&t->all, o, link);
			xbt_record_release(t->c, o->rec);
			free(o->rec);
			free(o);
		}
		free(t->by_ref);
		free(t->by_uuid);
	}
	free(store_tables);
	store_tables = NULL;
}

void store_lock(void)
{
	pthread_mutex_lock(&store_mutex);
}

void store_unlock(void)
{
	pthread_mutex_unlock(&store_mutex);
	event_publish(); /* wakes event waiters once the lock is free */
}

static struct obj *store_find(struct class_table *t, const char *ref)
{
	struct obj *o = t->by_ref[store_hash(ref) % t->nbuckets];

	while (o && strcmp(o->ref, ref) != 0)
		o = o->next_ref;
	return o;
}

void *store_get(const xbt_class_desc *c, const char *ref)
{
	struct obj *o = store_find(store_table(c), ref);
	return o ? o->rec : NULL;
}

xbt_error *store_need(const xbt_class_desc *c, const char *ref, void **rec)
{
	xbt_error *err = NULL;

	*rec = store_get(c, ref);
	if (!*rec)
		err = XBT_RAISE(XBT_ERR_HANDLE_INVALID, c->name, ref);
	return err;
}

static void store_rehash(struct class_table *t)
{
	size_t nb = t->nbuckets * 2;
	struct obj **by_ref = xbt_calloc(nb, sizeof(*by_ref));
	struct obj **by_uuid = xbt_calloc(nb, sizeof(*by_uuid));
	struct obj *o;

	TAILQ_FOREACH(o, &t->all, link) {
		size_t r = store_hash(o->ref) % nb, u = store_hash(o->uuid) % nb;
		o->next_ref = by_ref[r];
		by_ref[r] = o;
		o->next_uuid = by_uuid[u];
		by_uuid[u] = o;
	}
	free(t->by_ref);
	free(t->by_uuid);
	t->by_ref = by_ref;
	t->by_uuid = by_uuid;
	t->nbuckets = nb;
}

const char *store_add(const xbt_class_desc *c, void *rec)
{
	struct class_table *t = store_table(c);
	struct obj *o = xbt_calloc(1, sizeof(*o));
	char uuid[40];

	store_new_uuid(uuid);
	snprintf(o->ref, sizeof(o->ref), "OpaqueRef:%s", uuid);
	if (t->uuid_field) {
		char **member = store_uuid_member(t, rec);
		if (!*member || !**member) {
			free(*member);
			*member = xbt_strdup(uuid);
		}
		snprintf(o->uuid, sizeof(o->uuid), "%s", *member);
	}
	o->rec = rec;
	if (t->n + 1 > t->nbuckets * 2)
		store_rehash(t);
	size_t r = store_hash(o->ref) % t->nbuckets;
	size_t u = store_hash(o->uuid) % t->nbuckets;
	o->next_ref = t->by_ref[r];
	t->by_ref[r] = o;
	o->next_uuid = t->by_uuid[u];
	t->by_uuid[u] = o;
	TAILQ_INSERT_TAIL(&t->all, o, link);
	t->n++;
	event_record(c, o->ref, EVENT_ADD, rec);
	return o->ref;
}

void store_del(const xbt_class_desc *c, const char *ref)
{
	struct class_table *t = store_table(c);
	struct obj *o = store_find(t, ref);
	struct obj **pp;

	if (!o)
		return;
	for (pp = &t->by_ref[store_hash(o->ref) % t->nbuckets]; *pp != o;
	     pp = &(*pp)->next_ref)
		;
	*pp = o->next_ref;
	for (pp = &t->by_uuid[store_hash(o->uuid) % t->nbuckets]; *pp != o;
	     pp = &(*pp)->next_uuid)
		;
	*pp = o->next_uuid;
	TAILQ_REMOVE(&t->all, o, link);
	t->n--;
	event_record(c, o->ref, EVENT_DEL, NULL);
	xbt_record_release(c, o->rec);
	free(o->rec);
	free(o);
}

void store_touch(const xbt_class_desc *c, const char *ref)
{
	struct obj *o = store_find(store_table(c), ref);

	if (o)
		event_record(c, o->ref, EVENT_MOD, o->rec);
}

const char *store_ref_by_uuid(const xbt_class_desc *c, const char *uuid)
{
	struct class_table *t = store_table(c);
	struct obj *o = t->by_uuid[store_hash(uuid) % t->nbuckets];

	while (o && strcmp(o->uuid, uuid) != 0)
		o = o->next_uuid;
	return o ? o->ref : NULL;
}

size_t store_count(const xbt_class_desc *c)
{
	return store_table(c)->n;
}

void store_foreach(const xbt_class_desc *c,
		   void (*fn)(const char *ref, void *rec, void *ctx), void *ctx)
{
	struct class_table *t = store_table(c);
	struct obj *o, *next;

	for (o = TAILQ_FIRST(&t->all); o; o = next) {
		next = TAILQ_NEXT(o, link);
		fn(o->ref, o->rec, ctx);
	}
}
