/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What xe prints, laid out as the real xe lays it out: records, --minimal
 * lists, values, and error reports with --trace.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xe.h"

void xe_record_add(struct xe_record *r, const char *name, const char *qual,
		   const char *val)
{
	xbt_buf key = XBT_BUF_INIT;

	xbt_buf_addstr(&key, name);
	if (qual && *qual)
		xbt_buf_addf(&key, " %s", qual);
	r->rows = xbt_reallocarray(r->rows, r->n + 1, sizeof(*r->rows));
	r->rows[r->n].key = xbt_buf_detach(&key, NULL);
	r->rows[r->n].val = xbt_strdup(val);
	r->n++;
}

void xe_record_release(struct xe_record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i].key);
		free(r->rows[i].val);
	}
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
}

static void add_spaces(xbt_buf *out, size_t n)
{
	while (n--)
		xbt_buf_addch(out, ' ');
}

/* Values come from the server: print them safely for a terminal. */
static void add_text(xbt_buf *out, const char *s)
{
	xbt_buf_add_safe(out, s, strlen(s));
}

void xe_layout_record(const struct xe_record *r, xbt_buf *out)
{
	size_t width = 0;

	for (size_t i = 0; i < r->n; i++) {
		size_t len = strlen(r->rows[i].key);
		if (len > width)
			width = len;
	}
	width += 4;
	for (size_t i = 0; i < r->n; i++) {
		size_t len = strlen(r->rows[i].key);
		if (i > 0)
			add_spaces(out, width - len);
		add_text(out, r->rows[i].key);
		if (i == 0)
			add_spaces(out, width - len);
		xbt_buf_addstr(out, ": ");
		add_text(out, r->rows[i].val);
		xbt_buf_addch(out, '\n');
	}
	xbt_buf_addstr(out, "\n\n");
}

void xe_minimal_escape(const char *s, xbt_buf *out)
{
	xbt_buf raw = XBT_BUF_INIT;

	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			xbt_buf_addch(&raw, '\\');
		xbt_buf_addch(&raw, *s);
	}
	add_text(out, raw.buf);
	xbt_buf_release(&raw);
}

void xe_format_float(double d, xbt_buf *out)
{
	char tmp[64];
	const char *p;

	snprintf(tmp, sizeof(tmp), "%.12g", d);
	/* OCaml marks a float that reads like an integer with a dot. */
	for (p = tmp; *p; p++)
		if (!(*p == '-' || (*p >= '0' && *p <= '9')))
			break;
	xbt_buf_addstr(out, tmp);
	if (!*p)
		xbt_buf_addch(out, '.');
}

void xe_format_datetime(int64_t t, xbt_buf *out)
{
	char tmp[XBT_DATETIME_LEN + 1];

	xbt_datetime_format(t, tmp);
	xbt_buf_addstr(out, tmp);
}

static void add_params(xbt_buf *out, const xbt_error *e, const char *sep)
{
	for (size_t i = 0; i < e->nparams; i++) {
		if (i)
			xbt_buf_addstr(out, sep);
		add_text(out, e->params[i]);
	}
}

void xe_format_error(const xbt_error *e, bool trace, xbt_buf *out)
{
	xbt_buf_addstr(out, "Error code: ");
	add_text(out, e->code);
	xbt_buf_addstr(out, "\nError parameters: ");
	add_params(out, e, ", ");
	xbt_buf_addch(out, '\n');
	if (!trace)
		return;
	/* The spelling of OCaml's printer for Server_error, as upstream. */
	xbt_buf_addstr(out, "Raised Server_error(");
	add_text(out, e->code);
	xbt_buf_addstr(out, ", [ ");
	add_params(out, e, "; ");
	xbt_buf_addstr(out, " ])\nBacktrace:\n");
	xbt_backtrace_to_human(&e->bt, out);
}
