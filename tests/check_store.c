/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The object store and the event log below it, in process: hash tables
 * that grow, deletion, iteration, change tracking (one event per changed
 * record at unlock, with its final state), and the ring (wrap-around,
 * lost cursors, counts).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog.h"
#include "xbtd.h"

static void setup_small(void)
{
	evlog_init(16);
	store_init();
}

static void teardown(void)
{
	store_shutdown();
	evlog_shutdown();
}

/* A task record labelled `label`, as the store takes it. */
static struct xbt_task_record *task_rec(const char *label)
{
	struct xbt_task_record *t = xbt_calloc(1, sizeof(*t));

	xbt_record_init(&xbt_class_task, t);
	free(t->name_label);
	t->name_label = xbt_strdup(label);
	return t;
}

static bool match_all(const struct evlog_event *e, const void *ctx)
{
	(void)e;
	(void)ctx;
	return true;
}

/* The events after cursor: "op class ref-or-label" lines. */
static char *events_after(uint64_t cursor)
{
	struct evlog_list l = { 0 };
	xbt_buf b = XBT_BUF_INIT;
	static const char *const ops[] = { "add", "mod", "del" };

	evlog_read_begin();
	ck_assert(!evlog_lost(cursor));
	evlog_collect(match_all, NULL, &cursor, &l, 1000);
	evlog_read_end();
	for (size_t i = 0; i < l.n; i++) {
		const struct evlog_event *e = l.v[i];

		xbt_buf_addf(&b, "%s %s", ops[e->op], e->c->lower);
		if (e->rec && e->c == &xbt_class_task)
			xbt_buf_addf(&b, " %s",
				((const struct xbt_task_record *)e->rec)->name_label);
		xbt_buf_addch(&b, ';');
	}
	evlog_list_release(&l);
	return xbt_buf_detach(&b, NULL);
}

START_TEST(test_hash_growth_and_lookup)
{
	enum { N = 5000 };
	char **refs = xbt_calloc(N, sizeof(*refs));

	store_lock();
	for (int i = 0; i < N; i++) {
		char label[32];

		snprintf(label, sizeof(label), "t%d", i);
		refs[i] = xbt_strdup(store_add(&xbt_class_task, task_rec(label)));
	}
	ck_assert_uint_eq(store_count(&xbt_class_task), N);
	for (int i = 0; i < N; i += 7) {
		const struct xbt_task_record *t = store_get(&xbt_class_task,
							    refs[i]);
		char label[32];

		snprintf(label, sizeof(label), "t%d", i);
		ck_assert_ptr_nonnull(t);
		ck_assert_str_eq(t->name_label, label);
		/* The ref is the uuid's, found by uuid too. */
		ck_assert_str_eq(refs[i] + strlen("OpaqueRef:"), t->uuid);
		ck_assert_str_eq(store_ref_by_uuid(&xbt_class_task, t->uuid),
				 refs[i]);
	}
	ck_assert_ptr_null(store_get(&xbt_class_task, "OpaqueRef:nope"));
	store_unlock();
	for (int i = 0; i < N; i++)
		free(refs[i]);
	free(refs);
}
END_TEST

struct walk {
	xbt_buf seen;
	const char *drop;  /* deleted when met */
};

static void walk_one(const char *ref, const void *rec, void *ctx)
{
	struct walk *w = ctx;
	const struct xbt_task_record *t = rec;

	xbt_buf_addf(&w->seen, "%s,", t->name_label);
	if (w->drop && strcmp(t->name_label, w->drop) == 0)
		store_del(&xbt_class_task, ref);
}

START_TEST(test_delete_and_foreach)
{
	struct walk w = { XBT_BUF_INIT, "b" };
	const char *a, *c;

	store_lock();
	a = store_add(&xbt_class_task, task_rec("a"));
	store_add(&xbt_class_task, task_rec("b"));
	c = store_add(&xbt_class_task, task_rec("c"));
	/* Creation order; the callback may delete what it is given. */
	store_foreach(&xbt_class_task, walk_one, &w);
	ck_assert_str_eq(w.seen.buf, "a,b,c,");
	ck_assert_uint_eq(store_count(&xbt_class_task), 2);
	xbt_buf_reset(&w.seen);
	w.drop = NULL;
	store_foreach(&xbt_class_task, walk_one, &w);
	ck_assert_str_eq(w.seen.buf, "a,c,");
	store_del(&xbt_class_task, a);
	store_del(&xbt_class_task, "OpaqueRef:absent"); /* no-op */
	ck_assert_ptr_nonnull(store_get(&xbt_class_task, c));
	ck_assert_uint_eq(store_count(&xbt_class_task), 1);
	store_unlock();
	xbt_buf_release(&w.seen);
}
END_TEST

/* One event per changed object, with its state at unlock. */
START_TEST(test_changes_at_unlock)
{
	const char *r;
	char ref[64], *got;
	uint64_t start;
	struct xbt_task_record *t;

	store_lock();
	r = store_add(&xbt_class_task, task_rec("first"));
	snprintf(ref, sizeof(ref), "%s", r);
	/* Changed after the add, in the same section: one add, final state. */
	t = store_edit(&xbt_class_task, ref);
	free(t->name_label);
	t->name_label = xbt_strdup("final");
	store_unlock();
	got = events_after(0);
	ck_assert_str_eq(got, "add task final;");
	free(got);

	start = evlog_last();
	store_lock();
	for (int i = 0; i < 3; i++) {
		t = store_edit(&xbt_class_task, ref);
		t->progress = i;
	}
	store_unlock();
	got = events_after(start);
	ck_assert_str_eq(got, "mod task final;");
	free(got);

	/* Added and deleted in one section: nobody saw it, no event. */
	start = evlog_last();
	store_lock();
	r = store_add(&xbt_class_task, task_rec("ghost"));
	store_del(&xbt_class_task, r);
	/* Changed, then deleted: only the deletion. */
	store_edit(&xbt_class_task, ref);
	store_del(&xbt_class_task, ref);
	store_unlock();
	got = events_after(start);
	ck_assert_str_eq(got, "del task;");
	free(got);
	ck_assert_uint_eq(store_count(&xbt_class_task), 0);
}
END_TEST

/* Classes with events="false" (sessions) never reach the log. */
START_TEST(test_silent_class)
{
	struct xbt_session_record *s = xbt_calloc(1, sizeof(*s));
	uint64_t start = evlog_last();
	const char *r;

	ck_assert(!xbt_class_session.events);
	ck_assert(xbt_class_task.events);
	xbt_record_init(&xbt_class_session, s);
	store_lock();
	r = store_add(&xbt_class_session, s);
	store_edit(&xbt_class_session, r);
	store_del(&xbt_class_session, r);
	store_unlock();
	ck_assert_uint_eq(evlog_last(), start);
}
END_TEST

/* Events keep the order of the changes of each section, across sections. */
START_TEST(test_order_of_first_change)
{
	char a[64], b[64], *got;
	uint64_t start;

	store_lock();
	snprintf(a, sizeof(a), "%s", store_add(&xbt_class_task, task_rec("a")));
	snprintf(b, sizeof(b), "%s", store_add(&xbt_class_task, task_rec("b")));
	store_unlock();
	start = evlog_last();
	store_lock();
	store_edit(&xbt_class_task, b);
	store_edit(&xbt_class_task, a);
	store_edit(&xbt_class_task, b);
	store_unlock();
	got = events_after(start);
	ck_assert_str_eq(got, "mod task b;mod task a;");
	free(got);
}
END_TEST

/* A ring of 16: the 17th event drops the first; old cursors are lost. */
START_TEST(test_ring_wraps)
{
	char ref[64];
	int64_t counts[64];
	bool current;

	store_lock();
	snprintf(ref, sizeof(ref), "%s", store_add(&xbt_class_task,
						    task_rec("w")));
	store_unlock();
	for (int i = 0; i < 40; i++) {
		store_lock();
		store_edit(&xbt_class_task, ref);
		store_unlock();
	}
	ck_assert_uint_eq(evlog_last(), 41);
	evlog_read_begin();
	ck_assert(evlog_lost(0));
	ck_assert(evlog_lost(24));   /* event 25 is gone */
	ck_assert(!evlog_lost(25));  /* 26..41 are held */
	ck_assert(!evlog_lost(41));
	ck_assert(evlog_lost(42));   /* from the future */
	/* The counts after event 30 are those of now: only mods since. */
	ck_assert_uint_le(xbt_nclasses, 64);
	evlog_counts_at(30, counts, &current);
	ck_assert(!current);
	ck_assert_int_eq(counts[xbt_class_task.index], 1);
	evlog_counts_at(41, counts, &current);
	ck_assert(current);
	evlog_read_end();
	char *got = events_after(38);
	ck_assert_str_eq(got, "mod task w;mod task w;mod task w;");
	free(got);
}
END_TEST

START_TEST(test_counts_follow_adds_and_deletes)
{
	int64_t counts[64];
	bool current;
	uint64_t before, v0 = evlog_counts_version();
	char ref[64];

	store_lock();
	snprintf(ref, sizeof(ref), "%s", store_add(&xbt_class_task,
						    task_rec("x")));
	store_add(&xbt_class_task, task_rec("y"));
	store_unlock();
	before = evlog_last();
	store_lock();
	store_del(&xbt_class_task, ref);
	store_unlock();
	ck_assert_uint_eq(evlog_counts_version(), v0 + 3);
	evlog_read_begin();
	evlog_counts_at(before, counts, &current);
	ck_assert_int_eq(counts[xbt_class_task.index], 2);
	evlog_counts_at(evlog_last(), counts, &current);
	ck_assert_int_eq(counts[xbt_class_task.index], 1);
	evlog_read_end();
}
END_TEST

/* An event's wire value is shared while it is recent, and right. */
START_TEST(test_event_value)
{
	struct evlog_list l = { 0 };
	uint64_t cursor = 0;
	xmlrpc_value *v1, *v2, *snap;
	char *s;

	store_lock();
	store_add(&xbt_class_task, task_rec("\xf0\x9f\x98\x80"));
	store_unlock();
	evlog_read_begin();
	evlog_collect(match_all, NULL, &cursor, &l, 10);
	evlog_read_end();
	ck_assert_uint_eq(l.n, 1);
	v1 = evlog_event_value(l.v[0]);
	v2 = evlog_event_value(l.v[0]);
	ck_assert_ptr_eq(v1, v2);
	snap = xbt_value_get(v1, "snapshot");
	ck_assert_ptr_nonnull(snap);
	xmlrpc_value *label = xbt_value_get(snap, "name_label");
	s = xbt_value_text(label, NULL);
	ck_assert_str_eq(s, "\xf0\x9f\x98\x80");
	free(s);
	xmlrpc_DECREF(label);
	xmlrpc_DECREF(snap);
	xmlrpc_DECREF(v1);
	xmlrpc_DECREF(v2);
	evlog_list_release(&l);
}
END_TEST

/* A view keeps the records as they were when taken: later edits copy
 * them, deletions leave them, and neither changes what the view reads. */
START_TEST(test_view_is_a_snapshot)
{
	struct store_view v;
	struct xbt_task_record *e;
	const void *before;
	char *a, *b;

	store_lock();
	a = xbt_strdup(store_add(&xbt_class_task, task_rec("a")));
	b = xbt_strdup(store_add(&xbt_class_task, task_rec("b")));
	store_view_take(&xbt_class_task, &v);
	before = store_get(&xbt_class_task, a);
	e = store_edit(&xbt_class_task, a);
	/* Shared with the view: the edit got a copy of the record. */
	ck_assert_ptr_ne(e, before);
	ck_assert_str_eq(e->name_label, "a");
	free(e->name_label);
	e->name_label = xbt_strdup("a2");
	/* Once unshared, edits in the same section change it in place. */
	ck_assert_ptr_eq(store_edit(&xbt_class_task, a), e);
	/* The record from before the edit lives to the end of the section. */
	ck_assert_str_eq(((const struct xbt_task_record *)before)->name_label,
			 "a");
	store_del(&xbt_class_task, b);
	store_add(&xbt_class_task, task_rec("c"));
	store_unlock();

	ck_assert_uint_eq(v.n, 2);
	ck_assert_str_eq(store_view_ref(&v, 0), a);
	ck_assert_str_eq(store_view_ref(&v, 1), b);
	ck_assert_str_eq(((const struct xbt_task_record *)
			  store_view_rec(&v, 0))->name_label, "a");
	ck_assert_str_eq(((const struct xbt_task_record *)
			  store_view_rec(&v, 1))->name_label, "b");
	store_view_release(&v);
	ck_assert_uint_eq(v.n, 0);

	store_lock();
	e = store_edit(&xbt_class_task, a);
	ck_assert_str_eq(e->name_label, "a2");
	/* No view holds it now: an edit changes it in place. */
	ck_assert_ptr_eq(store_get(&xbt_class_task, a), e);
	store_view_take(&xbt_class_task, &v);
	store_unlock();
	ck_assert_uint_eq(v.n, 2);
	ck_assert_str_eq(((const struct xbt_task_record *)
			  store_view_rec(&v, 1))->name_label, "c");
	/* A view outlives the objects it holds. */
	store_lock();
	store_del(&xbt_class_task, a);
	store_unlock();
	ck_assert_str_eq(store_view_ref(&v, 0), a);
	ck_assert_str_eq(((const struct xbt_task_record *)
			  store_view_rec(&v, 0))->name_label, "a2");
	store_view_release(&v);
	free(a);
	free(b);
}
END_TEST

/* An empty class gives an empty view. */
START_TEST(test_view_of_nothing)
{
	struct store_view v;

	store_lock();
	store_view_take(&xbt_class_task, &v);
	store_unlock();
	ck_assert_uint_eq(v.n, 0);
	ck_assert_ptr_null(v.v);
	store_view_release(&v);
}
END_TEST

START_TEST(test_uuids)
{
	char a[40], b[40];

	world_uuid(a, "vm", "demo-ok");
	world_uuid(b, "vm", "demo-ok");
	ck_assert_str_eq(a, b);
	ck_assert(store_uuid_valid(a));
	ck_assert_int_eq(a[14], '8'); /* RFC 9562 version 8 */
	world_uuid(b, "vm", "demo-fail");
	ck_assert_str_ne(a, b);
	world_uuid(b, "vdi", "demo-ok");
	ck_assert_str_ne(a, b);
	/* kind and name cannot run into each other */
	world_uuid(a, "vmx", "y");
	world_uuid(b, "vm", "xy");
	ck_assert_str_ne(a, b);
	store_new_uuid(a);
	ck_assert(store_uuid_valid(a));
	ck_assert(!store_uuid_valid("12345678-1234-1234-1234-12345678901"));
	ck_assert(!store_uuid_valid("12345678-1234-1234-1234-1234567890ab0"));
	ck_assert(!store_uuid_valid("12345678-1234-1234-1234-1234567890AB"));
	ck_assert(!store_uuid_valid("12345678x1234-1234-1234-1234567890ab"));
	ck_assert(store_uuid_valid("12345678-1234-1234-1234-1234567890ab"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *t = tcase_create("store");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(t, setup_small, teardown);
	tcase_add_test(t, test_hash_growth_and_lookup);
	tcase_add_test(t, test_delete_and_foreach);
	tcase_add_test(t, test_changes_at_unlock);
	tcase_add_test(t, test_silent_class);
	tcase_add_test(t, test_order_of_first_change);
	tcase_add_test(t, test_ring_wraps);
	tcase_add_test(t, test_counts_follow_adds_and_deletes);
	tcase_add_test(t, test_event_value);
	tcase_add_test(t, test_uuids);
	tcase_add_test(t, test_view_is_a_snapshot);
	tcase_add_test(t, test_view_of_nothing);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
