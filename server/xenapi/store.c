/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The object store: every object of every class, addressed by ref and by
 * uuid through per-class hash tables, in creation order for get_all. One
 * mutex guards it all: handlers hold it for microseconds, and one lock makes
 * multi-object changes (VM + VBDs + host) atomic for event readers.
 *
 * Change tracking (doc/design.md, "Store and events"): records change only
 * through store_add, store_edit and store_del, which note the object in the
 * section's list of changes; store_unlock turns that list into events, one
 * per changed object and with its state at the end of the section, before
 * it lets go of the lock. Objects added and deleted within one section
 * make no event at all.
 *
 * Big reads (doc/design.md, "Big reads"): a record lives in a reference
 * counted box. store_view_take counts the class's boxes under the lock and
 * the reader serialises them without it; store_edit of a record a view
 * holds copies it first (copy on write), so the reader's copy never
 * changes. The box an edit replaced stays alive until store_unlock: a
 * pointer the section got from store_get before the edit stays valid.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "evlog.h"
#include "xbtd.h"

/* A record and its holders: the store (while the object lives with this
 * version of it) and every view taken since. */
struct store_rec {
	atomic_uint refs;
	const xbt_class_desc *c;
	void *rec;
	int64_t edited;           /* seconds: its object's last add or edit */
	char ref[64];             /* a copy: a view outlives the object */
};

struct obj {
	char ref[64];
	char uuid[40];
	struct store_rec *box;
	size_t change;          /* 1 + its index in store_changes; 0: none */
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

/* One change of the current locked section; obj NULL for a deletion. */
struct change {
	const xbt_class_desc *c;  /* NULL: cancelled */
	struct obj *obj;
	enum evlog_op op;
	char ref[64];
};

static pthread_mutex_t store_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct class_table *store_tables;
static struct change *store_changes;
static size_t store_nchanges, store_capchanges;
/* Boxes store_edit replaced in this section, released at store_unlock. */
static struct store_rec **store_retired;
static size_t store_nretired, store_capretired;

/* The box of rec (taken), holding one reference. */
static struct store_rec *store_rec_new(const xbt_class_desc *c,
				       const char *ref, void *rec)
{
	struct store_rec *b = xbt_malloc(sizeof(*b));

	atomic_init(&b->refs, 1);
	b->c = c;
	b->rec = rec;
	b->edited = now_seconds();
	snprintf(b->ref, sizeof(b->ref), "%s", ref);
	return b;
}

/* Drops one reference: the last frees the record. No lock needed. The
 * release order makes a reader's last use happen before a writer that
 * then finds the box unshared edits it in place (store_edit). */
static void store_rec_unref(struct store_rec *b)
{
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	xbt_record_release(b->c, b->rec);
	free(b->rec);
	free(b);
}

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
		/* Only EFAULT, EINVAL or ENOSYS, none of them possible here. */
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

bool store_uuid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 36 && s[i]; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return i == 36 && !s[i];
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
	return &store_tables[c->index];
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
			store_rec_unref(o->box);
			free(o);
		}
		free(t->by_ref);
		free(t->by_uuid);
	}
	free(store_tables);
	store_tables = NULL;
	free(store_changes);
	store_changes = NULL;
	store_nchanges = store_capchanges = 0;
	free(store_retired);
	store_retired = NULL;
	store_nretired = store_capretired = 0;
}

void store_lock(void)
{
	pthread_mutex_lock(&store_mutex);
}

bool store_trylock(void)
{
	return pthread_mutex_trylock(&store_mutex) == 0;
}

/* Notes a change of o (or, with o NULL, the deletion of ref). */
static void store_note(const xbt_class_desc *c, struct obj *o,
		       enum evlog_op op, const char *ref)
{
	struct change *ch;

	if (!c->events || (o && o->change))
		return;
	if (store_nchanges == store_capchanges) {
		store_capchanges = store_capchanges ? 2 * store_capchanges : 64;
		store_changes = xbt_reallocarray(store_changes, store_capchanges,
						 sizeof(*store_changes));
	}
	ch = &store_changes[store_nchanges++];
	ch->c = c;
	ch->obj = o;
	ch->op = op;
	snprintf(ch->ref, sizeof(ch->ref), "%s", ref);
	if (o)
		o->change = store_nchanges;
}

/* Hands the section's changes of persisted classes to db.c, each with a
 * reference to its box: the record then stays as the section left it
 * (store_edit copies a shared box), and db.c writes it without the lock
 * (doc/design.md, "Persistence"). */
static void store_persist(void)
{
	static struct db_change *v;
	static size_t cap;
	size_t n = 0;

	for (size_t i = 0; i < store_nchanges; i++) {
		struct change *ch = &store_changes[i];

		if (!ch->c || !db_persisted(ch->c))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xbt_reallocarray(v, cap, sizeof(*v));
		}
		v[n].c = ch->c;
		v[n].box = ch->obj ? ch->obj->box : NULL;
		if (v[n].box)
			atomic_fetch_add_explicit(&v[n].box->refs, 1,
						  memory_order_relaxed);
		snprintf(v[n].ref, sizeof(v[n].ref), "%s", ch->ref);
		n++;
	}
	if (n)
		db_enqueue(v, n);
}

void store_unlock(void)
{
	struct evlog_garbage g = { 0 };
	struct store_rec **retired = store_retired;
	size_t nretired = store_nretired;

	if (store_nchanges && db_recording())
		store_persist();
	for (size_t i = 0; i < store_nchanges; i++) {
		struct change *ch = &store_changes[i];

		if (!ch->c)
			continue;
		evlog_append(ch->c, ch->ref, ch->op,
			     ch->obj ? ch->obj->box->rec : NULL, &g);
		if (ch->obj)
			ch->obj->change = 0;
	}
	store_nchanges = 0;
	if (nretired) {
		store_retired = NULL;
		store_nretired = store_capretired = 0;
	}
	pthread_mutex_unlock(&store_mutex);
	for (size_t i = 0; i < nretired; i++)
		store_rec_unref(retired[i]);
	if (nretired)
		free(retired);
	evlog_garbage_release(&g);
	evlog_publish(); /* wakes event readers once the lock is free */
}

static struct obj *store_find(struct class_table *t, const char *ref)
{
	struct obj *o = t->by_ref[store_hash(ref) % t->nbuckets];

	while (o && strcmp(o->ref, ref) != 0)
		o = o->next_ref;
	return o;
}

const void *store_get(const xbt_class_desc *c, const char *ref)
{
	struct obj *o = store_find(store_table(c), ref);

	return o ? o->box->rec : NULL;
}

xbt_error *store_need(const xbt_class_desc *c, const char *ref,
		      const void **rec)
{
	xbt_error *err = NULL;

	*rec = store_get(c, ref);
	if (!*rec)
		err = XBT_RAISE_HANDLE_INVALID(c->name, ref);
	return err;
}

/* The object gets a copy of its record that no view holds. */
static void store_unshare(const xbt_class_desc *c, struct obj *o)
{
	void *copy;

	if (atomic_load_explicit(&o->box->refs, memory_order_acquire) == 1)
		return;
	copy = xbt_malloc(c->record_size);
	xbt_record_copy(c, copy, o->box->rec);
	if (store_nretired == store_capretired) {
		store_capretired = store_capretired ? 2 * store_capretired : 16;
		store_retired = xbt_reallocarray(store_retired, store_capretired,
						 sizeof(*store_retired));
	}
	store_retired[store_nretired++] = o->box;
	o->box = store_rec_new(c, o->ref, copy);
}

void *store_edit(const xbt_class_desc *c, const char *ref)
{
	struct obj *o = store_find(store_table(c), ref);

	if (!o)
		return NULL;
	store_note(c, o, EVLOG_MOD, o->ref);
	store_unshare(c, o);
	o->box->edited = now_seconds();
	return o->box->rec;
}

int64_t store_edited(const xbt_class_desc *c, const char *ref)
{
	struct obj *o = store_find(store_table(c), ref);

	return o ? o->box->edited : -1;
}

xbt_error *store_need_edit(const xbt_class_desc *c, const char *ref,
			   void **rec)
{
	xbt_error *err = NULL;

	*rec = store_edit(c, ref);
	if (!*rec)
		err = XBT_RAISE_HANDLE_INVALID(c->name, ref);
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
	if (t->uuid_field) {
		char **member = store_uuid_member(t, rec);

		if (!*member || !**member) {
			free(*member);
			*member = xbt_strdup(uuid);
		}
		/* Callers give well-formed, unused uuids (world.c checks). */
		if (!store_uuid_valid(*member) ||
		    store_ref_by_uuid(c, *member))
			xbt_fatalx("store: bad or duplicate %s uuid %s", c->name,
				   *member);
		snprintf(o->uuid, sizeof(o->uuid), "%s", *member);
	} else {
		snprintf(o->uuid, sizeof(o->uuid), "%s", uuid);
	}
	/* The ref is derived from the uuid: fixed uuids give fixed refs. */
	snprintf(o->ref, sizeof(o->ref), "OpaqueRef:%s", o->uuid);
	o->box = store_rec_new(c, o->ref, rec);
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
	store_note(c, o, EVLOG_ADD, o->ref);
	return o->ref;
}

void store_del(const xbt_class_desc *c, const char *ref)
{
	struct class_table *t = store_table(c);
	struct obj *o = store_find(t, ref);
	struct obj **pp;
	bool added_here = false;

	if (!o)
		return;
	if (o->change) {
		struct change *ch = &store_changes[o->change - 1];

		added_here = ch->op == EVLOG_ADD;
		ch->c = NULL;  /* its last state is gone with it */
		o->change = 0;
	}
	if (!added_here)
		store_note(c, NULL, EVLOG_DEL, o->ref);
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
	store_rec_unref(o->box);
	free(o);
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
		   void (*fn)(const char *ref, const void *rec, void *ctx),
		   void *ctx)
{
	struct class_table *t = store_table(c);
	struct obj *o, *next;

	for (o = TAILQ_FIRST(&t->all); o; o = next) {
		next = TAILQ_NEXT(o, link);
		fn(o->ref, o->box->rec, ctx);
	}
}

const void *store_box_rec(const struct store_rec *b)
{
	return b->rec;
}

void store_box_release(struct store_rec *b)
{
	store_rec_unref(b);
}

/* ---- views ----------------------------------------------------------------- */

void store_view_take(const xbt_class_desc *c, struct store_view *view)
{
	struct class_table *t = store_table(c);
	struct obj *o;
	size_t i = 0;

	view->c = c;
	view->n = t->n;
	view->v = t->n ? xbt_reallocarray(NULL, t->n, sizeof(*view->v)) : NULL;
	TAILQ_FOREACH(o, &t->all, link) {
		/* The lock orders this with every store_edit's check. */
		atomic_fetch_add_explicit(&o->box->refs, 1, memory_order_relaxed);
		view->v[i++] = o->box;
	}
}

void store_view_release(struct store_view *view)
{
	for (size_t i = 0; i < view->n; i++)
		store_rec_unref(view->v[i]);
	free(view->v);
	view->v = NULL;
	view->n = 0;
}

const char *store_view_ref(const struct store_view *view, size_t i)
{
	return view->v[i]->ref;
}

const void *store_view_rec(const struct store_view *view, size_t i)
{
	return view->v[i]->rec;
}

int64_t store_view_edited(const struct store_view *view, size_t i)
{
	return view->v[i]->edited;
}
