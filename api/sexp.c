/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sexplib "machine" form of upstream's Backtrace.t, by hand: no C
 * library writes sexplib's quoting rules, and the byte-exact form is the
 * wire contract (doc/design.md, "Backtraces"). The reader knows the schema (a list of frames,
 * each a list of (field value) pairs), so its depth is bounded by
 * construction and every input byte is checked against the grammar.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/backtrace.h"
#include "xbt/xenapi.h"



/* ---- writer ---------------------------------------------------------- */

static bool sexp_must_quote(const char *s, size_t len)
{
	if (len == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c >= 127 || c == '"' || c == '(' || c == ')' ||
		    c == ';' || c == '\\')
			return true;
		if (i > 0 && ((c == '|' && s[i - 1] == '#') ||
			      (c == '#' && s[i - 1] == '|')))
			return true;
	}
	return false;
}

void xbt_sexp_atom(xbt_buf *out, const char *s, size_t len)
{
	if (!sexp_must_quote(s, len)) {
		xbt_buf_add(out, s, len);
		return;
	}
	xbt_buf_addch(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': xbt_buf_addstr(out, "\\\""); break;
		case '\\': xbt_buf_addstr(out, "\\\\"); break;
		case '\n': xbt_buf_addstr(out, "\\n"); break;
		case '\t': xbt_buf_addstr(out, "\\t"); break;
		case '\r': xbt_buf_addstr(out, "\\r"); break;
		case '\b': xbt_buf_addstr(out, "\\b"); break;
		default:
			if (c >= 32 && c < 127)
				xbt_buf_addch(out, (char)c);
			else
				xbt_buf_addf(out, "\\%03u", c);
		}
	}
	xbt_buf_addch(out, '"');
}

/* "(key value)": a space only when the value is an unquoted atom. */
static void sexp_pair(xbt_buf *out, const char *key, const char *val,
		      size_t len)
{
	xbt_buf_addch(out, '(');
	xbt_buf_addstr(out, key);
	if (!sexp_must_quote(val, len))
		xbt_buf_addch(out, ' ');
	xbt_sexp_atom(out, val, len);
	xbt_buf_addch(out, ')');
}

static void sexp_int_pair(xbt_buf *out, const char *key, int v)
{
	xbt_buf_addf(out, "(%s %d)", key, v);
}

void xbt_frame_to_sexp(const xbt_frame *f, xbt_buf *out)
{
	const char *filename = f->filename;

	xbt_buf_addch(out, '(');
	sexp_pair(out, "process", f->process, strlen(f->process));
	sexp_pair(out, "filename", filename, strlen(filename));
	sexp_int_pair(out, "line", f->line);
	sexp_int_pair(out, "chars_start", f->chars_start);
	sexp_int_pair(out, "chars_end", f->chars_end);
	if (f->name)
		sexp_pair(out, "name", f->name, strlen(f->name));
	xbt_buf_addstr(out, f->is_inline ? "(is_inline true)"
					 : "(is_inline false)");
	xbt_buf_addstr(out, f->is_raise ? "(is_raise true)"
					: "(is_raise false)");
	xbt_buf_addch(out, ')');
}

void xbt_backtrace_to_sexp(const xbt_backtrace *bt, xbt_buf *out)
{
	xbt_buf_grow(out, bt->bytes + 2);
	xbt_buf_addch(out, '(');
	for (size_t i = 0; i < bt->n; i++)
		xbt_frame_to_sexp(&bt->frames[i], out);
	xbt_buf_addch(out, ')');
}

/* ---- reader ---------------------------------------------------------- */

struct sexp_reader {
	const char *s;
	size_t len;
	size_t pos;
	const char *why;  /* set on the first error */
	xbt_buf atom;
};

static bool rd_fail(struct sexp_reader *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return false;
}

/* Skips blanks and ';' line comments. */
static void rd_blank(struct sexp_reader *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f') {
			r->pos++;
		} else if (c == ';') {
			while (r->pos < r->len && r->s[r->pos] != '\n')
				r->pos++;
		} else {
			break;
		}
	}
}

static bool rd_expect(struct sexp_reader *r, char c, const char *why)
{
	rd_blank(r);
	if (r->pos >= r->len || r->s[r->pos] != c)
		return rd_fail(r, why);
	r->pos++;
	return true;
}

static bool rd_peek(struct sexp_reader *r, char c)
{
	rd_blank(r);
	return r->pos < r->len && r->s[r->pos] == c;
}

static bool rd_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int rd_hex(char c)
{
	if (rd_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One escape after a backslash inside quotes (OCaml's lexical rules). */
static bool rd_escape(struct sexp_reader *r)
{
	const char *s = r->s;
	char c;

	if (r->pos >= r->len)
		return rd_fail(r, "unterminated string");
	c = s[r->pos++];
	switch (c) {
	case 'n': xbt_buf_addch(&r->atom, '\n'); break;
	case 't': xbt_buf_addch(&r->atom, '\t'); break;
	case 'r': xbt_buf_addch(&r->atom, '\r'); break;
	case 'b': xbt_buf_addch(&r->atom, '\b'); break;
	case '\\': case '"': case '\'': case ' ':
		xbt_buf_addch(&r->atom, c);
		break;
	case '\n':
		/* Line continuation: leading blanks of the next line go. */
		while (r->pos < r->len &&
		       (s[r->pos] == ' ' || s[r->pos] == '\t'))
			r->pos++;
		break;
	case 'x':
		if (r->pos + 2 > r->len || rd_hex(s[r->pos]) < 0 ||
		    rd_hex(s[r->pos + 1]) < 0)
			return rd_fail(r, "bad \\x escape");
		xbt_buf_addch(&r->atom, (char)(rd_hex(s[r->pos]) * 16 +
					       rd_hex(s[r->pos + 1])));
		r->pos += 2;
		break;
	default:
		if (rd_digit(c)) {
			if (r->pos + 2 > r->len || !rd_digit(s[r->pos]) ||
			    !rd_digit(s[r->pos + 1]))
				return rd_fail(r, "bad decimal escape");
			int v = (c - '0') * 100 + (s[r->pos] - '0') * 10 +
				(s[r->pos + 1] - '0');
			if (v > 255)
				return rd_fail(r, "decimal escape above 255");
			xbt_buf_addch(&r->atom, (char)v);
			r->pos += 2;
		} else {
			/* Nothing we write produces one: refuse, not guess. */
			return rd_fail(r, "unknown escape");
		}
	}
	return true;
}

/* Reads one atom into r->atom. */
static bool rd_atom(struct sexp_reader *r)
{
	const char *s = r->s;

	xbt_buf_reset(&r->atom);
	rd_blank(r);
	if (r->pos >= r->len)
		return rd_fail(r, "unexpected end of input");
	if (s[r->pos] == '"') {
		r->pos++;
		for (;;) {
			if (r->pos >= r->len)
				return rd_fail(r, "unterminated string");
			char c = s[r->pos++];
			if (c == '"')
				break;
			if (c == '\\') {
				if (!rd_escape(r))
					return false;
			} else if (r->atom.len <= XBT_MAX_ATOM) {
				/* Longer atoms are cut (by intern) but read. */
				xbt_buf_addch(&r->atom, c);
			}
		}
		return true;
	}
	size_t start = r->pos;
	while (r->pos < r->len) {
		char c = s[r->pos];
		if (c == '(' || c == ')' || c == '"' || c == ';' || c == ' ' ||
		    c == '\t' || c == '\n' || c == '\r' || c == '\f')
			break;
		if (c == '\0')
			return rd_fail(r, "NUL byte outside quotes");
		if (c == '\\')
			return rd_fail(r, "backslash outside quotes");
		if (r->pos > start && ((c == '|' && s[r->pos - 1] == '#') ||
				       (c == '#' && s[r->pos - 1] == '|')))
			return rd_fail(r, "block comment marker in atom");
		r->pos++;
	}
	if (r->pos == start)
		return rd_fail(r, s[r->pos] == '(' ? "list where an atom was expected"
						   : "expected an atom");
	xbt_buf_add(&r->atom, s + start, r->pos - start);
	return true;
}

static bool rd_int(struct sexp_reader *r, int *out)
{
	const char *a = r->atom.buf;
	size_t i = a[0] == '-' ? 1 : 0;
	long long v = 0;

	if (r->atom.len <= i)
		return rd_fail(r, "expected an integer");
	for (; i < r->atom.len; i++) {
		if (!rd_digit(a[i]))
			return rd_fail(r, "expected an integer");
		v = v * 10 + (a[i] - '0');
		if (v > (long long)INT_MAX + 1)
			return rd_fail(r, "integer out of range");
	}
	if (a[0] == '-')
		return rd_fail(r, "negative line or character position");
	if (v > INT_MAX)
		return rd_fail(r, "integer out of range");
	*out = (int)v;
	return true;
}

static bool rd_bool(struct sexp_reader *r, bool *out)
{
	if (strcmp(r->atom.buf, "true") == 0 && r->atom.len == 4)
		*out = true;
	else if (strcmp(r->atom.buf, "false") == 0 && r->atom.len == 5)
		*out = false;
	else
		return rd_fail(r, "expected true or false");
	return true;
}

enum {
	F_PROCESS, F_FILENAME, F_LINE, F_CHARS_START, F_CHARS_END, F_NAME,
	F_IS_INLINE, F_IS_RAISE, F_COUNT
};
static const char *const sexp_fields[F_COUNT] = {
	"process", "filename", "line", "chars_start", "chars_end", "name",
	"is_inline", "is_raise",
};

/* "(N frames elided)" at line 0 is an elision frame of ours. */
static size_t rd_elided(const char *filename, int line)
{
	size_t n = 0;
	int used = 0;

	if (line != 0 || filename[0] != '(')
		return 0;
	if (sscanf(filename, "(%zu frames elided)%n", &n, &used) != 1 ||
	    filename[used] != '\0' || !rd_digit(filename[1]))
		return 0;
	return n;
}

static bool rd_frame(struct sexp_reader *r, xbt_backtrace *bt)
{
	xbt_frame f = { 0 };
	bool seen[F_COUNT] = { false };

	if (!rd_expect(r, '(', "expected a frame"))
		return false;
	while (!rd_peek(r, ')')) {
		int k;
		if (!rd_expect(r, '(', "expected a (field value) pair") ||
		    !rd_atom(r))
			return false;
		for (k = 0; k < F_COUNT; k++)
			if (strcmp(r->atom.buf, sexp_fields[k]) == 0 &&
			    r->atom.len == strlen(sexp_fields[k]))
				break;
		if (k == F_COUNT)
			return rd_fail(r, "unknown field");
		if (seen[k])
			return rd_fail(r, "duplicate field");
		seen[k] = true;
		if (!rd_atom(r))
			return false;
		bool ok = true;
		switch (k) {
		case F_PROCESS:
			f.process = xbt_backtrace_intern(bt, r->atom.buf, r->atom.len);
			break;
		case F_FILENAME:
			f.filename = xbt_backtrace_intern(bt, r->atom.buf, r->atom.len);
			break;
		case F_NAME:
			f.name = xbt_backtrace_intern(bt, r->atom.buf, r->atom.len);
			break;
		case F_LINE: ok = rd_int(r, &f.line); break;
		case F_CHARS_START: ok = rd_int(r, &f.chars_start); break;
		case F_CHARS_END: ok = rd_int(r, &f.chars_end); break;
		case F_IS_INLINE: ok = rd_bool(r, &f.is_inline); break;
		case F_IS_RAISE: ok = rd_bool(r, &f.is_raise); break;
		}
		if (!ok || !rd_expect(r, ')', "expected ) after a field value"))
			return false;
	}
	r->pos++;
	if (!seen[F_PROCESS] || !seen[F_FILENAME] || !seen[F_LINE])
		return rd_fail(r, "frame lacks process, filename or line");
	f.elided = rd_elided(f.filename, f.line);
	/* Not xbt_backtrace_push: bounds apply once, to the whole result. */
	if (bt->n == bt->alloc) {
		bt->alloc = bt->alloc ? bt->alloc * 2 : 16;
		bt->frames = xbt_reallocarray(bt->frames, bt->alloc, sizeof(f));
	}
	bt->frames[bt->n++] = f;
	bt->bytes += xbt_frame_cost(&f);
	return true;
}

xbt_error *xbt_backtrace_from_sexp(const char *s, size_t len,
				   xbt_backtrace *out)
{
	struct sexp_reader r = { .s = s, .len = len, .atom = XBT_BUF_INIT };
	xbt_backtrace tmp = XBT_BACKTRACE_INIT;
	xbt_error *err = NULL;

	if (len > XBT_MAX_SEXP_INPUT) {
		rd_fail(&r, "input too large");
		goto out;
	}
	if (!rd_expect(&r, '(', "expected ( at the start"))
		goto out;
	while (!rd_peek(&r, ')')) {
		if (r.pos >= r.len) {
			rd_fail(&r, "unbalanced parentheses");
			goto out;
		}
		if (!rd_frame(&r, &tmp))
			goto out;
	}
	r.pos++;
	rd_blank(&r);
	if (r.pos != r.len)
		rd_fail(&r, "trailing bytes after the backtrace");
out:
	if (r.why) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "backtrace s-expression: %s at byte %zu", r.why,
			 r.pos);
		err = XBT_RAISE_INTERNAL_ERROR(msg);
		xbt_backtrace_release(&tmp);
	} else {
		xbt__backtrace_append(out, &tmp);
	}
	xbt_buf_release(&r.atom);
	return err;
}
