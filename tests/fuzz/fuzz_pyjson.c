/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: xbt_backtrace_from_pyjson on arbitrary bytes.
 * Properties checked besides "no crash, leak or UB":
 * - a rejected input gives INTERNAL_ERROR ["python backtrace: ..."] and
 *   leaves every output untouched;
 * - an accepted input gives safe text, frames of the given process, the
 *   innermost (only) marked is_raise, no name, no characters, a bounded
 *   backtrace whose sexp form reads back to the same bytes.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "xbt/backtrace.h"
#include "fuzz_stack.h"

#define PREFIX "python backtrace: "
#define PROCESS "FAIL @ fuzz"

static void check_error(const xbt_error *e)
{
	FUZZ_CHECK(e->code && strcmp(e->code, "INTERNAL_ERROR") == 0,
		   "code %s", e->code ? e->code : "(null)");
	FUZZ_CHECK(e->nparams == 1, "%zu params", e->nparams);
	FUZZ_CHECK(strncmp(e->params[0], PREFIX, strlen(PREFIX)) == 0,
		   "param \"%s\"", e->params[0]);
}

static bool safe_str(const char *s)
{
	return s && xbt_text_is_safe(s, strlen(s));
}

static void check_frames(const xbt_backtrace *bt)
{
	size_t sum = 0;

	FUZZ_CHECK(bt->n <= xbt_max_frames(), "%zu frames", bt->n);
	for (size_t i = 0; i < bt->n; i++) {
		const xbt_frame *f = &bt->frames[i];

		sum += xbt_frame_cost(f);
		FUZZ_CHECK(f->process && strcmp(f->process, PROCESS) == 0,
			   "frame %zu process", i);
		if (f->elided)
			continue;
		FUZZ_CHECK(safe_str(f->filename), "frame %zu file unsafe", i);
		FUZZ_CHECK(f->line >= 0, "frame %zu line %d", i, f->line);
		FUZZ_CHECK(!f->name && f->chars_start == 0 &&
			   f->chars_end == 0 && !f->is_inline,
			   "frame %zu has extra fields", i);
		FUZZ_CHECK(f->is_raise == (i == 0), "frame %zu is_raise %d", i,
			   f->is_raise);
	}
	FUZZ_CHECK(bt->bytes == sum, "bytes %zu, costs %zu", bt->bytes, sum);
	FUZZ_CHECK(bt->bytes <= xbt_max_bytes(), "bytes %zu", bt->bytes);
}

static void one(const uint8_t *data, size_t size)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT, again = XBT_BACKTRACE_INIT;
	xbt_buf s1 = XBT_BUF_INIT, s2 = XBT_BUF_INIT;
	char sentinel[] = "untouched";
	char *text = sentinel;
	size_t dropped = 777;
	xbt_error *e;

	e = xbt_backtrace_from_pyjson((const char *)data, size, PROCESS, &bt,
				      &text, &dropped);
	if (e) {
		check_error(e);
		FUZZ_CHECK(bt.n == 0 && text == sentinel && dropped == 777,
			   "outputs touched on error");
		xbt_error_free(e);
		goto out;
	}
	FUZZ_CHECK(text != sentinel && safe_str(text), "error text");
	FUZZ_CHECK(dropped < size + 1, "dropped %zu", dropped);
	check_frames(&bt);
	xbt_backtrace_to_sexp(&bt, &s1);
	e = xbt_backtrace_from_sexp(s1.buf, s1.len, &again);
	FUZZ_CHECK(e == NULL, "sexp of it rejected: %s", e ? e->params[0] : "");
	xbt_backtrace_to_sexp(&again, &s2);
	FUZZ_CHECK(s1.len == s2.len && memcmp(s1.buf, s2.buf, s1.len) == 0,
		   "sexp not a fixed point:\n%s\n%s", s1.buf, s2.buf);
	free(text);
out:
	xbt_buf_release(&s1);
	xbt_buf_release(&s2);
	xbt_backtrace_release(&bt);
	xbt_backtrace_release(&again);
}

FUZZ_TARGET(one)
