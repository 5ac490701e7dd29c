/* SPDX-License-Identifier: BSD-2-Clause */
/* The human form of a backtrace, as `xe --trace` and the logs print it. */
#include "config.h"

#include <string.h>

#include "xbt/backtrace.h"

/*
 * Remote strings could carry terminal escapes or line breaks: print them
 * safely, and keep one line per frame (TAB, LF, CR become \xNN too).
 */
static void human_str(xbt_buf *out, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		size_t run = strcspn(s, "\t\n\r");
		xbt_buf_add_safe(out, s, run);
		if (run == len)
			break;
		xbt_buf_addf(out, "\\x%02x", (unsigned char)s[run]);
		s += run + 1;
		len -= run + 1;
	}
}

void xbt_frame_to_human(const xbt_frame *f, size_t index, size_t total,
			xbt_buf *out)
{
	const char *verb = index == 1 ? "Raised at"
			 : f->is_raise ? "Re-raised at" : "Called from";

	xbt_buf_addf(out, "%zu/%zu ", index, total);
	human_str(out, f->process);
	xbt_buf_addf(out, " %s ", verb);
	if (f->name) {
		human_str(out, f->name);
		xbt_buf_addstr(out, " in ");
	}
	xbt_buf_addstr(out, "file \"");
	human_str(out, f->filename);
	xbt_buf_addch(out, '"');
	if (f->is_inline)
		xbt_buf_addstr(out, " (inlined)");
	xbt_buf_addf(out, ", line %d", f->line);
	if (f->chars_start > 0)
		xbt_buf_addf(out, ", characters %d-%d", f->chars_start,
			     f->chars_end);
	xbt_buf_addch(out, '\n');
}

void xbt_backtrace_to_human(const xbt_backtrace *bt, xbt_buf *out)
{
	for (size_t i = 0; i < bt->n; i++)
		xbt_frame_to_human(&bt->frames[i], i + 1, bt->n, out);
}
