/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The C library's reading of one backtrace s-expression (stdin), for the
 * viewer's reader to be compared with (tests/test_viewer_trace.py):
 *
 *   error <why>                        when xbt_backtrace_from_sexp fails
 *   ok <frames>                        else, then per frame
 *   <line> <chars_start> <chars_end> <is_inline> <is_raise> <elided> <has name>
 *   and the human form (xbt_backtrace_to_human), which shows the strings.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"

int main(void)
{
	xbt_buf in = XBT_BUF_INIT, out = XBT_BUF_INIT;
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_error *e;
	char chunk[65536];
	size_t n;
	int status = 0;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		xbt_buf_add(&in, chunk, n);
	e = xbt_backtrace_from_sexp(in.buf ? in.buf : "", in.len, &bt);
	if (e) {
		const char *why = e->nparams ? e->params[0] : "?";
		const char *prefix = "backtrace s-expression: ";
		if (strncmp(why, prefix, strlen(prefix)) == 0)
			why += strlen(prefix);
		xbt_buf_addf(&out, "error %s\n", why);
		xbt_error_free(e);
	} else {
		xbt_buf_addf(&out, "ok %zu\n", bt.n);
		for (size_t i = 0; i < bt.n; i++) {
			const xbt_frame *f = &bt.frames[i];
			xbt_buf_addf(&out, "%d %d %d %d %d %zu %d\n", f->line,
				     f->chars_start, f->chars_end,
				     f->is_inline, f->is_raise, f->elided,
				     f->name != NULL);
		}
		xbt_backtrace_to_human(&bt, &out);
	}
	if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len)
		status = 1;
	xbt_backtrace_release(&bt);
	xbt_buf_release(&in);
	xbt_buf_release(&out);
	return status;
}
