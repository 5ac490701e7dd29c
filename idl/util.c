/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the memory arena, output buffers, string helpers, diagnostics
 * and lookups that the reader, the checks and the emitters share.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* ---- memory: everything is freed at exit ---------------------------------- */

static void **arena;
static size_t arena_n, arena_alloc;

void *die_oom(void)
{
	fprintf(stderr, "gen: out of memory\n");
	exit(2);
}

void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die_oom();
	if (arena_n == arena_alloc) {
		size_t na = arena_alloc ? 2 * arena_alloc : 256;
		void **nv = realloc(arena, na * sizeof(*nv));

		if (!nv)
			die_oom();
		arena = nv;
		arena_alloc = na;
	}
	arena[arena_n++] = p;
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = xalloc(n + 1);

	memcpy(p, s, n);
	return p;
}

void arena_free(void)
{
	for (size_t i = 0; i < arena_n; i++)
		free(arena[i]);
	free(arena);
	arena = NULL;
	arena_n = arena_alloc = 0;
}

void vec_push(vec *a, void *p)
{
	if (a->n == a->alloc) {
		size_t na = a->alloc ? 2 * a->alloc : 8;
		void **nv = xalloc(na * sizeof(*nv));

		if (a->n)
			memcpy(nv, a->v, a->n * sizeof(*nv));
		a->v = nv;
		a->alloc = na;
	}
	a->v[a->n++] = p;
}

/* ---- output buffers --------------------------------------------------------- */

void out_add(out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->alloc) {
		size_t na = o->alloc ? o->alloc : 4096;
		char *nb;

		while (na < o->len + n + 1)
			na *= 2;
		nb = realloc(o->buf, na);
		if (!nb)
			die_oom();
		o->buf = nb;
		o->alloc = na;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void out_s(out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

void out_f(out *o, const char *fmt, ...)
{
	va_list ap;
	char small[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		die_oom();
	if ((size_t)n < sizeof(small)) {
		out_add(o, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);

	if (!big)
		die_oom();
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out_add(o, big, (size_t)n);
	free(big);
}

/* NULL: the token NULL */
void out_cstr(out *o, const char *s)
{
	if (!s) {
		out_s(o, "NULL");
		return;
	}
	out_s(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': out_s(o, "\\\""); break;
		case '\\': out_s(o, "\\\\"); break;
		case '\n': out_s(o, "\\n"); break;
		case '\t': out_s(o, "\\t"); break;
		case '?':
			/* never form a trigraph */
			out_s(o, p[1] == '?' ? "?\"\"" : "?");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				out_f(o, "\\%03o", *p);
			else
				out_add(o, (const char *)p, 1);
		}
	}
	out_s(o, "\"");
}

void out_md(out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			out_s(o, "\\|");
		else if (*s == '\n')
			out_s(o, " ");
		else
			out_add(o, s, 1);
	}
}

/* ---- the model and diagnostics --------------------------------------------- */

struct api api;
const char *idl_path;
int nerrors;

/* clang's -Wformat-nonliteral wants the format attribute on a v-function. */
static void __attribute__((format(printf, 3, 0)))
vfail(const char *path, int line, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s:%d: error: ", path, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	nerrors++;
}

void fail(int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(idl_path, line, fmt, ap);
	va_end(ap);
}

void fail_in(const char *path, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(path, line, fmt, ap);
	va_end(ap);
}

/* ---- small string helpers --------------------------------------------------- */

char *str_lower(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

char *str_cident_upper(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p)
						: '_';
	return r;
}

char *str_printf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die_oom();
	r = xalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return r;
}

char *str_squash(const char *s)
{
	char *r = xalloc(strlen(s) + 1);
	char *w = r;
	bool space = false;

	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			space = w != r;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *s;
	}
	*w = '\0';
	return r;
}

char *cmt(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; (p = strstr(p, "*/")); p++)
		p[1] = '|';
	return r;
}

const char *const c_keywords[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do",
	"double", "else", "enum", "extern", "float", "for", "goto", "if",
	"inline", "int", "long", "register", "restrict", "return", "short",
	"signed", "sizeof", "static", "struct", "switch", "typedef", "union",
	"unsigned", "void", "volatile", "while", "_Bool", "_Complex",
	"_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic",
	"_Noreturn", "_Static_assert", "_Thread_local", "bool", "true", "false",
	NULL
};

const char *const cxx_keywords[] = {
	"asm", "catch", "class", "delete", "explicit", "export", "friend",
	"mutable", "namespace", "new", "operator", "private", "protected",
	"public", "template", "this", "throw", "try", "typeid", "typename",
	"using", "virtual", "and", "or", "not", "xor", "compl", "bitand",
	"bitor", "and_eq", "or_eq", "xor_eq", "not_eq", "nullptr",
	"noexcept", "decltype", "constexpr", "static_assert", "alignof",
	"alignas", "thread_local", "char16_t", "char32_t", "wchar_t",
	NULL
};

bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* ---- lookups --------------------------------------------------------------- */

enum_def *find_enum(const char *name)
{
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];

		if (strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

class_def *find_class(const char *name)
{
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

error_def *find_error(const char *code)
{
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		if (strcmp(e->code, code) == 0)
			return e;
	}
	return NULL;
}

int enum_value_index(const enum_def *e, const char *v)
{
	for (size_t i = 0; i < e->values.n; i++) {
		const enum_value *ev = e->values.v[i];

		if (strcmp(ev->name, v) == 0)
			return (int)i;
	}
	return -1;
}

field_def *find_field(const class_def *c, const char *name)
{
	for (size_t i = 0; i < c->fields.n; i++) {
		field_def *f = c->fields.v[i];

		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

msg_def *find_message(const class_def *c, const char *name)
{
	for (size_t i = 0; i < c->messages.n; i++) {
		msg_def *m = c->messages.v[i];

		if (strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

