/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: xbt_backtrace_from_sexp on arbitrary bytes.
 * Properties checked besides "no crash, leak or UB":
 * - a rejected input gives INTERNAL_ERROR ["backtrace s-expression: ..."]
 *   and leaves *out as it was;
 * - an accepted input gives a bounded backtrace, and its written form is a
 *   fixed point: write(read(write(read(input)))) == write(read(input)).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "xbt/backtrace.h"
#include "fuzz_stack.h"

#define PREFIX "backtrace s-expression: "

static const xbt_frame pre = { "pre", "pre.c", 1, 0, 0, NULL, false, true, 0 };

static void check_error(const xbt_error *e)
{
	FUZZ_CHECK(e->code && strcmp(e->code, "INTERNAL_ERROR") == 0,
		   "code %s", e->code ? e->code : "(null)");
	FUZZ_CHECK(e->nparams == 1, "%zu params", e->nparams);
	FUZZ_CHECK(strncmp(e->params[0], PREFIX, strlen(PREFIX)) == 0,
		   "param \"%s\"", e->params[0]);
}

static size_t cost_sum(const xbt_backtrace *bt)
{
	size_t sum = 0;

	for (size_t i = 0; i < bt->n; i++)
		sum += xbt_frame_cost(&bt->frames[i]);
	return sum;
}

static void one(const uint8_t *data, size_t size)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT, again = XBT_BACKTRACE_INIT;
	xbt_buf s1 = XBT_BUF_INIT, s2 = XBT_BUF_INIT, human = XBT_BUF_INIT;
	xbt_error *e;

	e = xbt_backtrace_from_sexp((const char *)data, size, &bt);
	if (e) {
		check_error(e);
		FUZZ_CHECK(bt.n == 0, "%zu frames after an error", bt.n);
		xbt_error_free(e);
		/* Into a non-empty backtrace: left as it was. */
		xbt_backtrace_push(&bt, &pre);
		e = xbt_backtrace_from_sexp((const char *)data, size, &bt);
		FUZZ_CHECK(e != NULL, "accepted on the second try");
		FUZZ_CHECK(bt.n == 1 && bt.frames[0].line == 1,
			   "*out changed: %zu frames", bt.n);
		xbt_error_free(e);
		goto out;
	}
	FUZZ_CHECK(bt.n <= xbt_max_frames(), "%zu frames", bt.n);
	FUZZ_CHECK(bt.bytes == cost_sum(&bt), "bytes %zu, costs %zu",
		   bt.bytes, cost_sum(&bt));
	FUZZ_CHECK(bt.bytes <= xbt_max_bytes(), "bytes %zu", bt.bytes);
	xbt_backtrace_to_sexp(&bt, &s1);
	xbt_backtrace_to_human(&bt, &human);
	e = xbt_backtrace_from_sexp(s1.buf, s1.len, &again);
	FUZZ_CHECK(e == NULL, "own output rejected: %s",
		   e ? e->params[0] : "");
	FUZZ_CHECK(again.n == bt.n, "%zu frames, then %zu", bt.n, again.n);
	xbt_backtrace_to_sexp(&again, &s2);
	FUZZ_CHECK(s1.len == s2.len && memcmp(s1.buf, s2.buf, s1.len) == 0,
		   "not a fixed point:\n%s\n%s", s1.buf, s2.buf);
out:
	xbt_buf_release(&s1);
	xbt_buf_release(&s2);
	xbt_buf_release(&human);
	xbt_backtrace_release(&bt);
	xbt_backtrace_release(&again);
}

FUZZ_TARGET(one)
