/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bounded backtraces. Frames are stored innermost first, so propagating an
 * error (the common case) appends at the end in O(1); gluing a remote
 * backtrace in front is rare and may move memory.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/backtrace.h"

/* Owned strings of a backtrace: a list of chunks, newest first. */
struct xbt_strpool {
	struct xbt_strpool *next;
	const char *last;   /* last interned string: frames repeat process names */
	size_t used;
	size_t cap;
	char data[];
};

#define POOL_CHUNK 2048

/* ---- start-up configuration ------------------------------------------- */

/* Every process name ever set stays reachable: old frames may point at it. */
struct process_name {
	struct process_name *prev;
	char name[];
};
static struct process_name *process_names;
static const char *process_current = "xbt @ localhost";
static size_t limit_frames = XBT_DEFAULT_MAX_FRAMES;
static size_t limit_bytes = XBT_DEFAULT_MAX_BYTES;

void xbt_set_process(const char *program, const char *hostname)
{
	size_t len = strlen(program) + strlen(hostname) + sizeof(" @ ");
	struct process_name *p = xbt_malloc(sizeof(*p) + len);

	snprintf(p->name, len, "%s @ %s", program, hostname);
	p->prev = process_names;
	process_names = p;
	process_current = p->name;
}

const char *xbt_process(void)
{
	return process_current;
}

void xbt_set_limits(size_t max_frames, size_t max_bytes)
{
	if (max_frames)
		limit_frames = max_frames < 3 ? 3 : max_frames;
	if (max_bytes)
		limit_bytes = max_bytes;
}

size_t xbt_max_frames(void)
{
	return limit_frames;
}

size_t xbt_max_bytes(void)
{
	return limit_bytes;
}

/* ---- strings ------------------------------------------------------------- */

const char *xbt_backtrace_intern(xbt_backtrace *bt, const char *s, size_t len)
{
	struct xbt_strpool *p = bt->pool;
	char *copy;

	if (len > XBT_MAX_ATOM) {
		/* Cut on a character boundary: safe text stays valid UTF-8. */
		len = XBT_MAX_ATOM;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	if (p && p->last && strncmp(p->last, s, len) == 0 &&
	    p->last[len] == '\0')
		return p->last;
	if (!p || p->cap - p->used < len + 1) {
		size_t cap = len + 1 > POOL_CHUNK ? len + 1 : POOL_CHUNK;
		p = xbt_malloc(sizeof(*p) + cap);
		p->next = bt->pool;
		p->last = NULL;
		p->used = 0;
		p->cap = cap;
		bt->pool = p;
	}
	copy = p->data + p->used;
	memcpy(copy, s, len);
	copy[len] = '\0';
	p->used += len + 1;
	p->last = copy;
	return copy;
}

static void pool_free(struct xbt_strpool *p)
{
	while (p) {
		struct xbt_strpool *next = p->next;
		free(p);
		p = next;
	}
}

/* Moves every chunk of from's pool into to's (pool order does not matter). */
static void pool_take(xbt_backtrace *to, xbt_backtrace *from)
{
	struct xbt_strpool *tail = from->pool;

	if (!tail)
		return;
	while (tail->next)
		tail = tail->next;
	tail->next = to->pool;
	to->pool = from->pool;
	from->pool = NULL;
}

/* ---- frames ------------------------------------------------------------- */

void xbt_backtrace_init(xbt_backtrace *bt)
{
	memset(bt, 0, sizeof(*bt));
}

void xbt_backtrace_release(xbt_backtrace *bt)
{
	free(bt->frames);
	pool_free(bt->pool);
	xbt_backtrace_init(bt);
}

size_t xbt_frame_cost(const xbt_frame *f)
{
	/* Fixed text of the eight fields plus the variable parts. */
	size_t cost = 112;

	cost += f->process ? strlen(f->process) : 0;
	cost += strlen(f->filename);
	cost += f->name ? strlen(f->name) + 8 : 0;
	return cost;
}

static bool frame_same_place(const xbt_frame *a, const xbt_frame *b)
{
	return !a->elided && !b->elided && a->line == b->line &&
	       a->chars_start == b->chars_start &&
	       a->chars_end == b->chars_end &&
	       (a->process == b->process || strcmp(a->process, b->process) == 0) &&
	       (a->filename == b->filename ||
		strcmp(a->filename, b->filename) == 0);
}

static void bt_reserve(xbt_backtrace *bt, size_t extra)
{
	size_t need = bt->n + extra;

	if (need <= bt->alloc)
		return;
	size_t alloc = bt->alloc ? bt->alloc * 2 : 16;
	while (alloc < need)
		alloc *= 2;
	bt->frames = xbt_reallocarray(bt->frames, alloc, sizeof(xbt_frame));
	bt->alloc = alloc;
}

/* Gives an elision frame its file name, "(N frames elided)". */
static void bt_name_elision(xbt_backtrace *bt, xbt_frame *f)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "(%zu frames elided)", f->elided);

	bt->bytes -= xbt_frame_cost(f);
	f->filename = xbt_backtrace_intern(bt, name, (size_t)n);
	bt->bytes += xbt_frame_cost(f);
}

/* Turns frames[i] into an elision frame standing for itself. */
static void bt_make_elision(xbt_backtrace *bt, size_t i)
{
	xbt_frame *f = &bt->frames[i];

	bt->bytes -= xbt_frame_cost(f);
	*f = (xbt_frame){ .process = f->process, .filename = f->filename,
			  .elided = f->elided ? f->elided : 1 };
	bt->bytes += xbt_frame_cost(f);
	bt_name_elision(bt, f);
}

/* The elision frame at e absorbs frames[from], which is next to it. */
static void bt_absorb(xbt_backtrace *bt, size_t e, size_t from)
{
	xbt_frame *el = &bt->frames[e];
	const xbt_frame *f = &bt->frames[from];

	el->elided += f->elided ? f->elided : 1;
	if (from < e)
		el->process = f->process; /* the first dropped frame's */
	bt->bytes -= xbt_frame_cost(f);
	memmove(&bt->frames[from], &bt->frames[from + 1],
		(bt->n - from - 1) * sizeof(xbt_frame));
	bt->n--;
	bt_name_elision(bt, &bt->frames[from < e ? e - 1 : e]);
}

static bool bt_over(const xbt_backtrace *bt)
{
	return bt->n > limit_frames || (bt->bytes > limit_bytes && bt->n > 3);
}

/*
 * Keeps the innermost half and the outermost frames; the middle collapses
 * into one elision frame (filename "(N frames elided)", line 0), which
 * upstream's frame type still reads. At most one elision frame remains.
 */
static void bt_enforce_bounds(xbt_backtrace *bt)
{
	size_t e = SIZE_MAX;

	if (!bt_over(bt))
		return;
	size_t last = SIZE_MAX;
	for (size_t i = 0; i < bt->n; i++) {
		if (bt->frames[i].elided) {
			if (e == SIZE_MAX)
				e = i;
			last = i;
		}
	}
	/* Two elision frames (after a glue): the span between them joins. */
	if (e != SIZE_MAX)
		for (size_t k = e; k < last; k++)
			bt_absorb(bt, e, e + 1);
	while (bt_over(bt)) {
		if (e == SIZE_MAX) {
			e = limit_frames / 2;
			if (e > bt->n - 3)
				e = bt->n - 3;
			bt_make_elision(bt, e);
		} else if (e + 2 < bt->n) {
			bt_absorb(bt, e, e + 1);
		} else if (e > 1) {
			bt_absorb(bt, e, e - 1);
			e--;
		} else {
			break; /* only raise point, elision and last frame left */
		}
	}
}

void xbt_backtrace_push(xbt_backtrace *bt, const xbt_frame *f)
{
	if (bt->n && frame_same_place(&bt->frames[bt->n - 1], f))
		return;
	bt_reserve(bt, 1);
	bt->frames[bt->n++] = *f;
	bt->bytes += xbt_frame_cost(f);
	bt_enforce_bounds(bt);
}

void xbt_backtrace_push_copy(xbt_backtrace *bt, const xbt_frame *f)
{
	xbt_frame copy = *f;

	copy.process = xbt_backtrace_intern(bt, f->process, strlen(f->process));
	if (f->filename)
		copy.filename = xbt_backtrace_intern(bt, f->filename,
						     strlen(f->filename));
	if (f->name)
		copy.name = xbt_backtrace_intern(bt, f->name, strlen(f->name));
	xbt_backtrace_push(bt, &copy);
}

/*
 * Joins two backtraces: with front, other's frames go before bt's (a glued
 * remote), otherwise after (frames read from the wire appended in order).
 */
static void bt_splice(xbt_backtrace *bt, xbt_backtrace *other, bool front)
{
	size_t skip = 0;

	bt_reserve(bt, other->n);
	if (front) {
		/* The remote's outermost frame may repeat our innermost. */
		if (other->n && bt->n &&
		    frame_same_place(&other->frames[other->n - 1], &bt->frames[0]))
			skip = 1;
		if (bt->n)
			memmove(&bt->frames[other->n - skip], bt->frames,
				bt->n * sizeof(xbt_frame));
		if (other->n)
			memcpy(bt->frames, other->frames,
			       (other->n - skip) * sizeof(xbt_frame));
	} else {
		if (other->n && bt->n &&
		    frame_same_place(&bt->frames[bt->n - 1], &other->frames[0]))
			skip = 1;
		if (other->n)
			memcpy(&bt->frames[bt->n], other->frames + skip,
			       (other->n - skip) * sizeof(xbt_frame));
	}
	if (skip)
		other->bytes -= xbt_frame_cost(front ?
			&other->frames[other->n - 1] : &other->frames[0]);
	bt->n += other->n - skip;
	bt->bytes += other->bytes;
	pool_take(bt, other);
	free(other->frames);
	xbt_backtrace_init(other);
	bt_enforce_bounds(bt);
}

void xbt_backtrace_glue_remote(xbt_backtrace *bt, xbt_backtrace *remote)
{
	bt_splice(bt, remote, true);
}

void xbt__backtrace_append(xbt_backtrace *bt, xbt_backtrace *more)
{
	bt_splice(bt, more, false);
}
