/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: validates idl/xenapi.xml against idl/xenapi.rng, checks what the
 * schema cannot (names resolve, names are unique, defaults parse), adds the
 * implicit messages, and writes the generated sources:
 *
 *   api/xbt/xenapi.h         enums, record structs, descriptors, message
 *                            indexes, error codes, client stub prototypes
 *   api/xenapi.c             the descriptors (see api/xbt/model.h)
 *   api/xenapi_client.c      client stubs over xbt_client_call
 *   server/handlers.h        prototypes of the hand-written handlers
 *   server/dispatch_table.c  xbtd_handlers[], indexed like xbt_messages[]
 *   doc/api.md               the API reference
 *
 * Usage: gen --schema xenapi.rng [--check] [--out-dir DIR] xenapi.xml
 * Nothing is written when any check fails; every problem is reported as
 * "file:line: error: ..." and the exit status is 1.
 *
 * Runs at build time only; all memory lives until exit but is freed so that
 * sanitizer builds stay quiet.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

/* ---- memory: everything is freed at exit ---------------------------------- */

static void **arena;
static size_t arena_n, arena_alloc;

static void *die_oom(void)
{
	fprintf(stderr, "gen: out of memory\n");
	exit(2);
}

static void *xalloc(size_t n)
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

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = xalloc(n + 1);

	memcpy(p, s, n);
	return p;
}

static void arena_free(void)
{
	for (size_t i = 0; i < arena_n; i++)
		free(arena[i]);
	free(arena);
	arena = NULL;
	arena_n = arena_alloc = 0;
}

/* A growable array of pointers. */
typedef struct vec {
	void **v;
	size_t n, alloc;
} vec;

static void vec_push(vec *a, void *p)
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

typedef struct out {
	char *buf;
	size_t len, alloc;
} out;

static void out_add(out *o, const char *s, size_t n)
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

static void out_s(out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_f(out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void out_f(out *o, const char *fmt, ...)
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

/* A C string literal for s (NULL: the token NULL). */
static void out_cstr(out *o, const char *s)
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

/* Text for a Markdown table cell: pipes escaped, no line breaks. */
static void out_md(out *o, const char *s)
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

/* ---- the model ----------------------------------------------------------- */

enum kind {
	K_VOID, K_STRING, K_INT, K_FLOAT, K_BOOL, K_DATETIME, K_ENUM, K_REF,
	K_SET, K_MAP, K_RECORD, K_ANY
};

static const char *const kind_c[] = {
	"XBT_T_VOID", "XBT_T_STRING", "XBT_T_INT", "XBT_T_FLOAT", "XBT_T_BOOL",
	"XBT_T_DATETIME", "XBT_T_ENUM", "XBT_T_REF", "XBT_T_SET", "XBT_T_MAP",
	"XBT_T_RECORD", "XBT_T_ANY",
};

struct enum_def;
struct class_def;

typedef struct type {
	enum kind kind;
	char *text;
	char *name;              /* ENUM, REF, RECORD: what it names */
	struct type *elem, *key; /* SET: elem; MAP: key, elem (the value) */
	struct enum_def *en;
	struct class_def *cls;
	int id;                  /* -1 until emitted */
	bool used;               /* referenced by the model: emit it */
	int line;
} type;

typedef struct enum_value {
	char *name;
	char *doc;
} enum_value;

typedef struct enum_def {
	char *name;
	char *doc;
	vec values;              /* enum_value * */
	int line;
} enum_def;

typedef struct field_def {
	char *name;
	type *type;
	bool rw;
	char *def;               /* NULL: the type's zero */
	char *doc;
	int line;
} field_def;

typedef struct param_def {
	char *name;
	char *cname;             /* as a C identifier in stubs */
	type *type;
	char *def;
	char *doc;
} param_def;

enum msg_kind {
	M_CUSTOM, M_GET_FIELD, M_SET_FIELD, M_ADD_TO_MAP, M_REMOVE_FROM_MAP,
	M_GET_RECORD, M_GET_BY_UUID, M_GET_BY_NAME_LABEL, M_GET_ALL,
	M_GET_ALL_RECORDS
};

static const char *const msg_kind_c[] = {
	"XBT_MSG_CUSTOM", "XBT_MSG_GET_FIELD", "XBT_MSG_SET_FIELD",
	"XBT_MSG_ADD_TO_MAP", "XBT_MSG_REMOVE_FROM_MAP", "XBT_MSG_GET_RECORD",
	"XBT_MSG_GET_BY_UUID", "XBT_MSG_GET_BY_NAME_LABEL", "XBT_MSG_GET_ALL",
	"XBT_MSG_GET_ALL_RECORDS",
};

typedef struct msg_def {
	char *name;
	struct class_def *cls;
	enum msg_kind kind;
	int field;
	vec params;              /* param_def * */
	size_t nrequired;
	type *result;
	char *result_doc;
	bool session;
	bool async;
	vec errors;              /* char * (codes) */
	char *doc;
	char *wire;              /* "VM.start" */
	char *index;             /* "XBT_MSG_VM_START" */
	int line;
} msg_def;

/* omit flags */
enum {
	O_GET_FIELD = 1 << 0,
	O_SET_FIELD = 1 << 1,
	O_MAP_OPS = 1 << 2,
	O_GET_RECORD = 1 << 3,
	O_GET_BY_UUID = 1 << 4,
	O_GET_BY_NAME_LABEL = 1 << 5,
	O_GET_ALL = 1 << 6,
	O_GET_ALL_RECORDS = 1 << 7,
	O_ALL = 0xff
};

typedef struct class_def {
	char *name;
	char *lower;
	char *upper;
	char *doc;
	vec fields;              /* field_def * */
	vec messages;            /* msg_def * (custom then implicit) */
	unsigned omit;
	bool events;             /* changes are events (events="false": not) */
	xmlNodePtr node;
	int line;
} class_def;

typedef struct error_param {
	char *name;
	char *doc;
} error_param;

typedef struct error_def {
	char *code;
	char *doc;
	vec params;              /* error_param * */
	int line;
} error_def;

static struct {
	char *name;
	char *vendor;
	char *major, *minor;
	vec errors;
	vec enums;
	vec classes;
	vec types;               /* every interned type */
	vec messages;            /* every message, in xbt_messages[] order */
	vec idents;              /* C identifiers emitted at file scope */
} api;

static const char *idl_path;
static int nerrors;

static void fail(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: error: ", idl_path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	nerrors++;
}

/* ---- small string helpers --------------------------------------------------- */

static char *str_lower(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* Uppercase, with anything that is not [A-Z0-9] turned into '_'. */
static char *str_cident_upper(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p)
						: '_';
	return r;
}

static char *str_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
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

/* Collapses runs of white space into one space and trims the ends. */
static char *str_squash(const char *s)
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

/* s made safe inside a C comment: no comment terminator. */
static char *cmt(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; (p = strstr(p, "*/")); p++)
		p[1] = '|';
	return r;
}

static const char *const c_keywords[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do",
	"double", "else", "enum", "extern", "float", "for", "goto", "if",
	"inline", "int", "long", "register", "restrict", "return", "short",
	"signed", "sizeof", "static", "struct", "switch", "typedef", "union",
	"unsigned", "void", "volatile", "while", "_Bool", "_Complex",
	"_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic",
	"_Noreturn", "_Static_assert", "_Thread_local", "bool", "true", "false",
	NULL
};

/* C++ keywords that are not C's: the header may be read by C++. */
static const char *const cxx_keywords[] = {
	"asm", "catch", "class", "delete", "explicit", "export", "friend",
	"mutable", "namespace", "new", "operator", "private", "protected",
	"public", "template", "this", "throw", "try", "typeid", "typename",
	"using", "virtual", "and", "or", "not", "xor", "compl", "bitand",
	"bitor", "and_eq", "or_eq", "xor_eq", "not_eq", "nullptr",
	"noexcept", "decltype", "constexpr", "static_assert", "alignof",
	"alignas", "thread_local", "char16_t", "char32_t", "wchar_t",
	NULL
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Registers a file-scope C identifier; false if already taken. */
static bool ident_claim(const char *id)
{
	for (size_t i = 0; i < api.idents.n; i++)
		if (strcmp(api.idents.v[i], id) == 0)
			return false;
	vec_push(&api.idents, xstrdup(id));
	return true;
}

/* ---- XML access ---------------------------------------------------------- */

static int node_line(xmlNodePtr n)
{
	long l = xmlGetLineNo(n);

	return l > 0 && l < INT_MAX ? (int)l : 0;
}

static bool is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

/* The attribute's value (arena copy), or NULL when absent. */
static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *r;

	if (!v)
		return NULL;
	r = xstrdup((const char *)v);
	xmlFree(v);
	return r;
}

static bool attr_bool(xmlNodePtr n, const char *name, bool dflt)
{
	char *v = attr(n, name);

	return v ? strcmp(v, "true") == 0 : dflt;
}

/* The element's text, white space squashed. */
static char *text_of(xmlNodePtr n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *r;

	if (!v)
		return xstrdup("");
	r = str_squash((const char *)v);
	xmlFree(v);
	return r;
}

static char *child_description(xmlNodePtr n)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (is_elem(c, "description"))
			return text_of(c);
	return xstrdup("");
}

/* ---- lookups --------------------------------------------------------------- */

static enum_def *find_enum(const char *name)
{
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];

		if (strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

static class_def *find_class(const char *name)
{
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static error_def *find_error(const char *code)
{
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		if (strcmp(e->code, code) == 0)
			return e;
	}
	return NULL;
}

static int enum_value_index(const enum_def *e, const char *v)
{
	for (size_t i = 0; i < e->values.n; i++) {
		const enum_value *ev = e->values.v[i];

		if (strcmp(ev->name, v) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- types ------------------------------------------------------------------ */

static type *type_intern(type *t)
{
	for (size_t i = 0; i < api.types.n; i++) {
		type *u = api.types.v[i];

		if (strcmp(u->text, t->text) == 0)
			return u;
	}
	t->id = -1;
	vec_push(&api.types, t);
	return t;
}

static type *type_new(enum kind k, const char *text)
{
	type *t = xalloc(sizeof(*t));

	t->kind = k;
	t->text = xstrdup(text);
	return t;
}

/*
 * Parses a type as the schema spells it ("set (ref VM)"). Names are
 * resolved against the enums and classes; problems are reported at line.
 */
static type *type_parse(const char *s, int line)
{
	static const struct { const char *text; enum kind kind; } scalars[] = {
		{ "void", K_VOID }, { "string", K_STRING }, { "int", K_INT },
		{ "float", K_FLOAT }, { "bool", K_BOOL },
		{ "datetime", K_DATETIME }, { "any", K_ANY },
	};
	size_t n = strlen(s);
	type *t = NULL;

	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		if (strcmp(s, scalars[i].text) == 0)
			return type_intern(type_new(scalars[i].kind, s));

	if (strncmp(s, "set (", 5) == 0 && n > 6 && s[n - 1] == ')') {
		char *inner = xstrdup(s + 5);
		type *e;

		inner[strlen(inner) - 1] = '\0';
		e = type_parse(inner, line);
		if (!e)
			return NULL;
		t = type_new(K_SET, s);
		t->elem = e;
	} else if (strncmp(s, "map (", 5) == 0 && n > 6 && s[n - 1] == ')') {
		char *inner = xstrdup(s + 5);
		char *comma;
		type *k, *v;

		inner[strlen(inner) - 1] = '\0';
		comma = strstr(inner, ", ");
		if (!comma) {
			fail(line, "malformed map type \"%s\"", s);
			return NULL;
		}
		*comma = '\0';
		k = type_parse(inner, line);
		v = type_parse(comma + 2, line);
		if (!k || !v)
			return NULL;
		t = type_new(K_MAP, s);
		t->key = k;
		t->elem = v;
	} else if (strncmp(s, "enum ", 5) == 0) {
		enum_def *e = find_enum(s + 5);

		if (!e) {
			fail(line, "unknown enum \"%s\" in type \"%s\"", s + 5, s);
			return NULL;
		}
		t = type_new(K_ENUM, s);
		t->name = xstrdup(s + 5);
		t->en = e;
	} else if (strncmp(s, "ref ", 4) == 0 || strncmp(s, "record ", 7) == 0) {
		bool ref = s[2] == 'f';
		const char *name = s + (ref ? 4 : 7);
		class_def *c = find_class(name);

		if (!c) {
			fail(line, "unknown class \"%s\" in type \"%s\"", name, s);
			return NULL;
		}
		t = type_new(ref ? K_REF : K_RECORD, s);
		t->name = xstrdup(name);
		t->cls = c;
	} else {
		fail(line, "unknown type \"%s\"", s);
		return NULL;
	}
	t->line = line;
	return type_intern(t);
}

/* The C type of stored values and of stub arguments. */
static const char *type_c_member(const type *t)
{
	switch (t->kind) {
	case K_STRING: case K_REF: return "char *";
	case K_INT: case K_DATETIME: return "int64_t ";
	case K_FLOAT: return "double ";
	case K_BOOL: return "bool ";
	case K_ENUM: return "int ";
	case K_SET: return "xbt_strv ";
	case K_MAP: return "xbt_map ";
	default: return NULL;
	}
}

static const char *type_c_arg(const type *t)
{
	switch (t->kind) {
	case K_STRING: case K_REF: case K_ENUM: return "const char *";
	case K_INT: case K_DATETIME: return "int64_t ";
	case K_FLOAT: return "double ";
	case K_BOOL: return "bool ";
	case K_SET: return "const xbt_strv *";
	case K_MAP: return "const xbt_map *";
	default: return NULL;
	}
}

static const char *type_value_fn(const type *t)
{
	switch (t->kind) {
	case K_STRING: case K_ENUM: return "xbt_value_string";
	case K_REF: return "xbt_value_ref";
	case K_INT: return "xbt_value_int";
	case K_DATETIME: return "xbt_value_datetime";
	case K_FLOAT: return "xbt_value_float";
	case K_BOOL: return "xbt_value_bool";
	case K_SET: return "xbt_value_strv";
	case K_MAP: return "xbt_value_map";
	default: return NULL;
	}
}

/* ---- default values ----------------------------------------------------------- */

static bool parse_int64(const char *s, int64_t *res)
{
	char *end;
	long long v;

	if (!*s || !(isdigit((unsigned char)*s) || *s == '-'))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || (*s == '-' && end == s + 1))
		return false;
	*res = v;
	return true;
}

static bool parse_datetime(const char *s)
{
	unsigned y, mo, d, h, mi, se;
	int n = 0;
	size_t len = strlen(s);

	if (len == 17 || (len == 18 && s[17] == 'Z')) {
		if (sscanf(s, "%4u%2u%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi,
			   &se, &n) != 6 || n != 17)
			return false;
	} else if (len == 19 || (len == 20 && s[19] == 'Z')) {
		if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi,
			   &se, &n) != 6 || n != 19)
			return false;
	} else {
		return false;
	}
	for (size_t i = 0; i < (size_t)n; i++)
		if (!isdigit((unsigned char)s[i]) && !strchr("-T:", s[i]))
			return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 ||
	    se > 59)
		return false;
	static const unsigned mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return d <= mdays[mo - 1] + (mo == 2 && leap ? 1 : 0);
}

/* Checks that def is a valid default for t; reports at line. */
static void check_default(const type *t, const char *def, const char *what,
			  int line)
{
	int64_t i;
	char *end;
	double d;

	switch (t->kind) {
	case K_STRING:
	case K_REF:
		return;
	case K_INT:
		if (!parse_int64(def, &i))
			fail(line, "%s: default \"%s\" is not a decimal int64",
			     what, def);
		return;
	case K_FLOAT:
		errno = 0;
		d = strtod(def, &end);
		if (!*def || *end || errno || !isfinite(d) ||
		    strspn(def, "0123456789+-.eE") != strlen(def))
			fail(line, "%s: default \"%s\" is not a decimal number",
			     what, def);
		return;
	case K_BOOL:
		if (strcmp(def, "true") && strcmp(def, "false"))
			fail(line, "%s: default \"%s\" is not true or false",
			     what, def);
		return;
	case K_DATETIME:
		if (!parse_datetime(def))
			fail(line, "%s: default \"%s\" is not a datetime "
			     "(YYYYMMDDTHH:MM:SSZ)", what, def);
		return;
	case K_ENUM:
		if (enum_value_index(t->en, def) < 0)
			fail(line, "%s: default \"%s\" is not a value of enum %s",
			     what, def, t->en->name);
		return;
	default:
		fail(line, "%s: a %s cannot have a default (it starts empty)",
		     what, t->text);
	}
}

/* ---- reading the IDL ---------------------------------------------------------- */

static void read_error(xmlNodePtr n)
{
	error_def *e = xalloc(sizeof(*e));

	e->code = attr(n, "code");
	e->doc = child_description(n);
	e->line = node_line(n);
	if (find_error(e->code))
		fail(e->line, "error %s declared twice", e->code);
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (!is_elem(c, "param"))
			continue;
		error_param *p = xalloc(sizeof(*p));

		p->name = attr(c, "name");
		p->doc = text_of(c);
		vec_push(&e->params, p);
	}
	vec_push(&api.errors, e);
}

static void read_enum(xmlNodePtr n)
{
	enum_def *e = xalloc(sizeof(*e));

	e->name = attr(n, "name");
	e->doc = child_description(n);
	e->line = node_line(n);
	if (find_enum(e->name))
		fail(e->line, "enum %s declared twice", e->name);
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (!is_elem(c, "value"))
			continue;
		enum_value *v = xalloc(sizeof(*v));

		v->name = attr(c, "name");
		v->doc = text_of(c);
		if (enum_value_index(e, v->name) >= 0)
			fail(node_line(c), "enum %s: value %s declared twice",
			     e->name, v->name);
		vec_push(&e->values, v);
	}
	vec_push(&api.enums, e);
}

static const char *const reserved_lower[] = {
	"record", "field", "value", "strv", "map", "class", "classes",
	"message", "messages", "enum", "error", "errors", "buf", "backtrace",
	"frame", "text", "sexp", "client", "wire", "json", "async", "type",
	"param", "process", "set", "max", NULL
};

static void read_class_head(xmlNodePtr n)
{
	class_def *c = xalloc(sizeof(*c));
	char *omit;

	c->name = attr(n, "name");
	c->lower = str_lower(c->name);
	c->upper = str_cident_upper(c->name);
	c->doc = child_description(n);
	c->node = n;
	c->line = node_line(n);
	c->events = attr_bool(n, "events", true);
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *o = api.classes.v[i];

		if (strcmp(o->lower, c->lower) == 0)
			fail(c->line, "class %s clashes with class %s (names "
			     "match case-insensitively)", c->name, o->name);
	}
	if (in_list(reserved_lower, c->lower))
		fail(c->line, "class name %s is reserved (generated C names "
		     "would clash with libxbt's)", c->name);
	omit = attr(n, "omit");
	if (omit) {
		static const struct { const char *w; unsigned f; } words[] = {
			{ "all", O_ALL }, { "get_field", O_GET_FIELD },
			{ "set_field", O_SET_FIELD }, { "map_ops", O_MAP_OPS },
			{ "get_record", O_GET_RECORD },
			{ "get_by_uuid", O_GET_BY_UUID },
			{ "get_by_name_label", O_GET_BY_NAME_LABEL },
			{ "get_all", O_GET_ALL },
			{ "get_all_records", O_GET_ALL_RECORDS },
		};
		char *save = NULL;

		for (char *w = strtok_r(omit, " \t\n", &save); w;
		     w = strtok_r(NULL, " \t\n", &save))
			for (size_t i = 0; i < sizeof(words) / sizeof(words[0]);
			     i++)
				if (strcmp(w, words[i].w) == 0)
					c->omit |= words[i].f;
	}
	vec_push(&api.classes, c);
}

static field_def *find_field(const class_def *c, const char *name)
{
	for (size_t i = 0; i < c->fields.n; i++) {
		field_def *f = c->fields.v[i];

		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

static void read_fields(class_def *c)
{
	for (xmlNodePtr n = c->node->children; n; n = n->next) {
		if (!is_elem(n, "field"))
			continue;
		field_def *f = xalloc(sizeof(*f));
		char *ty = attr(n, "type");
		char *what;

		f->name = attr(n, "name");
		f->line = node_line(n);
		f->rw = strcmp(attr(n, "qualifier"), "RW") == 0;
		f->def = attr(n, "default");
		f->doc = text_of(n);
		f->type = type_parse(ty, f->line);
		what = str_printf("field %s.%s", c->name, f->name);
		if (find_field(c, f->name))
			fail(f->line, "%s declared twice", what);
		if (in_list(c_keywords, f->name) || in_list(cxx_keywords, f->name))
			fail(f->line, "%s: the name is a C or C++ keyword", what);
		for (size_t i = 0; i < c->fields.n; i++) {
			field_def *o = c->fields.v[i];

			if (strcasecmp(o->name, f->name) == 0 &&
			    strcmp(o->name, f->name) != 0)
				fail(f->line, "%s clashes with field %s (C "
				     "constants are uppercase)", what, o->name);
		}
		if (f->type && f->def)
			check_default(f->type, f->def, what, f->line);
		vec_push(&c->fields, f);
	}
}

/* Stub argument names must not hide the stub's own names or keywords. */
static char *param_cname(const char *name)
{
	static const char *const taken[] = {
		"c", "session", "result", "xbt_argv", NULL
	};

	if (in_list(c_keywords, name) || in_list(cxx_keywords, name) ||
	    in_list(taken, name))
		return str_printf("%s_", name);
	return xstrdup(name);
}

static param_def *param_new(const char *name, type *t, const char *doc)
{
	param_def *p = xalloc(sizeof(*p));

	p->name = xstrdup(name);
	p->cname = param_cname(name);
	p->type = t;
	p->doc = xstrdup(doc);
	return p;
}

static msg_def *msg_new(class_def *c, const char *name, enum msg_kind kind,
			int line)
{
	msg_def *m = xalloc(sizeof(*m));

	m->name = xstrdup(name);
	m->cls = c;
	m->kind = kind;
	m->field = -1;
	m->session = true;
	m->line = line;
	m->result = type_parse("void", line);
	return m;
}

static msg_def *find_message(const class_def *c, const char *name)
{
	for (size_t i = 0; i < c->messages.n; i++) {
		msg_def *m = c->messages.v[i];

		if (strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

static void read_messages(class_def *c)
{
	for (xmlNodePtr n = c->node->children; n; n = n->next) {
		if (!is_elem(n, "message"))
			continue;
		msg_def *m = msg_new(c, "", M_CUSTOM, node_line(n));
		bool seen_default = false;

		m->name = attr(n, "name");
		m->async = attr_bool(n, "async", false);
		m->session = attr_bool(n, "session", true);
		m->doc = child_description(n);
		if (find_message(c, m->name))
			fail(m->line, "message %s.%s declared twice", c->name,
			     m->name);
		for (xmlNodePtr p = n->children; p; p = p->next) {
			int line = node_line(p);

			if (is_elem(p, "param")) {
				char *ty = attr(p, "type");
				param_def *pd;
				char *what;

				pd = param_new(attr(p, "name"),
					       type_parse(ty, line), text_of(p));
				pd->def = attr(p, "default");
				what = str_printf("%s.%s parameter %s", c->name,
						  m->name, pd->name);
				for (size_t i = 0; i < m->params.n; i++) {
					param_def *o = m->params.v[i];

					if (strcmp(o->name, pd->name) == 0)
						fail(line, "%s declared twice",
						     what);
				}
				if (pd->def) {
					seen_default = true;
					if (pd->type)
						check_default(pd->type, pd->def,
							      what, line);
				} else {
					if (seen_default)
						fail(line, "%s: parameters "
						     "without a default must "
						     "come before those with "
						     "one", what);
					m->nrequired++;
				}
				vec_push(&m->params, pd);
			} else if (is_elem(p, "result")) {
				m->result = type_parse(attr(p, "type"), line);
				m->result_doc = text_of(p);
			} else if (is_elem(p, "raises")) {
				char *code = attr(p, "code");

				if (!find_error(code))
					fail(line, "%s.%s raises undeclared "
					     "error %s", c->name, m->name, code);
				vec_push(&m->errors, code);
			}
		}
		vec_push(&c->messages, m);
	}
}

/* ---- implicit messages --------------------------------------------------------- */

static void implicit_add(class_def *c, msg_def *m)
{
	msg_def *o = find_message(c, m->name);

	if (o) {
		fail(o->line, "message %s.%s clashes with an implicit message "
		     "of the same name", c->name, m->name);
		return;
	}
	vec_push(&c->messages, m);
}

static void add_implicit(class_def *c)
{
	int line = c->line;
	type *self = type_parse(str_printf("ref %s", c->name), line);
	const char *selfdoc = "The object.";
	msg_def *m;

	if (!(c->omit & O_GET_RECORD)) {
		m = msg_new(c, "get_record", M_GET_RECORD, line);
		vec_push(&m->params, param_new("self", self, selfdoc));
		m->nrequired = 1;
		m->result = type_parse(str_printf("record %s", c->name), line);
		m->result_doc = xstrdup("All fields of the object.");
		m->doc = str_printf("Returns a record of all fields of the "
				    "%s.", c->name);
		vec_push(&m->errors, "HANDLE_INVALID");
		implicit_add(c, m);
	}
	if (!(c->omit & O_GET_BY_UUID)) {
		m = msg_new(c, "get_by_uuid", M_GET_BY_UUID, line);
		vec_push(&m->params, param_new("uuid", type_parse("string", line),
					       "The UUID."));
		m->nrequired = 1;
		m->result = self;
		m->result_doc = xstrdup("The object with that UUID.");
		m->doc = str_printf("Returns the %s with the given UUID.",
				    c->name);
		vec_push(&m->errors, "UUID_INVALID");
		implicit_add(c, m);
	}
	if (!(c->omit & O_GET_ALL)) {
		m = msg_new(c, "get_all", M_GET_ALL, line);
		m->result = type_parse(str_printf("set (ref %s)", c->name), line);
		m->result_doc = xstrdup("Every object of the class.");
		m->doc = str_printf("Returns a reference to every %s.",
				    c->name);
		implicit_add(c, m);
	}
	if (!(c->omit & O_GET_ALL_RECORDS)) {
		m = msg_new(c, "get_all_records", M_GET_ALL_RECORDS, line);
		m->result = type_parse(str_printf("map (ref %s, record %s)",
						  c->name, c->name), line);
		m->result_doc = xstrdup("Every object's record, keyed by "
					"reference.");
		m->doc = str_printf("Returns the record of every %s.",
				    c->name);
		implicit_add(c, m);
	}
	if (!(c->omit & O_GET_BY_NAME_LABEL) && find_field(c, "name_label")) {
		m = msg_new(c, "get_by_name_label", M_GET_BY_NAME_LABEL, line);
		vec_push(&m->params, param_new("label",
					       type_parse("string", line),
					       "The name_label to look for."));
		m->nrequired = 1;
		m->result = type_parse(str_printf("set (ref %s)", c->name), line);
		m->result_doc = xstrdup("The objects with that name_label.");
		m->doc = str_printf("Returns every %s whose name_label is "
				    "the given one.", c->name);
		implicit_add(c, m);
	}
	for (size_t i = 0; i < c->fields.n; i++) {
		field_def *f = c->fields.v[i];

		if (!f->type)
			continue;
		if (!(c->omit & O_GET_FIELD)) {
			m = msg_new(c, str_printf("get_%s", f->name),
				    M_GET_FIELD, f->line);
			m->field = (int)i;
			vec_push(&m->params, param_new("self", self, selfdoc));
			m->nrequired = 1;
			m->result = f->type;
			m->result_doc = xstrdup("The value of the field.");
			m->doc = str_printf("Returns the %s field of the %s.",
					    f->name, c->name);
			vec_push(&m->errors, "HANDLE_INVALID");
			implicit_add(c, m);
		}
		if (!f->rw)
			continue;
		if (!(c->omit & O_SET_FIELD)) {
			m = msg_new(c, str_printf("set_%s", f->name),
				    M_SET_FIELD, f->line);
			m->field = (int)i;
			vec_push(&m->params, param_new("self", self, selfdoc));
			vec_push(&m->params, param_new("value", f->type,
						       "The new value."));
			m->nrequired = 2;
			m->doc = str_printf("Sets the %s field of the %s.",
					    f->name, c->name);
			vec_push(&m->errors, "HANDLE_INVALID");
			implicit_add(c, m);
		}
		if (f->type->kind != K_MAP || (c->omit & O_MAP_OPS))
			continue;
		m = msg_new(c, str_printf("add_to_%s", f->name), M_ADD_TO_MAP,
			    f->line);
		m->field = (int)i;
		vec_push(&m->params, param_new("self", self, selfdoc));
		vec_push(&m->params, param_new("key", f->type->key,
					       "The key to add."));
		vec_push(&m->params, param_new("value", f->type->elem,
					       "Its value."));
		m->nrequired = 3;
		m->doc = str_printf("Adds a key to the %s field of the %s; "
				    "the key must not be present.", f->name,
				    c->name);
		vec_push(&m->errors, "HANDLE_INVALID");
		vec_push(&m->errors, "MAP_DUPLICATE_KEY");
		implicit_add(c, m);

		m = msg_new(c, str_printf("remove_from_%s", f->name),
			    M_REMOVE_FROM_MAP, f->line);
		m->field = (int)i;
		vec_push(&m->params, param_new("self", self, selfdoc));
		vec_push(&m->params, param_new("key", f->type->key,
					       "The key to remove."));
		m->nrequired = 2;
		m->doc = str_printf("Removes a key from the %s field of the "
				    "%s; a missing key is not an error.",
				    f->name, c->name);
		vec_push(&m->errors, "HANDLE_INVALID");
		implicit_add(c, m);
	}
}

/* ---- whole-model checks ----------------------------------------------------------- */

static void check_idents(void)
{
	static const char *const msg_reserved[] = {
		"XBT_MSG_CUSTOM", "XBT_MSG_GET_FIELD", "XBT_MSG_SET_FIELD",
		"XBT_MSG_ADD_TO_MAP", "XBT_MSG_REMOVE_FROM_MAP",
		"XBT_MSG_GET_RECORD", "XBT_MSG_GET_BY_UUID",
		"XBT_MSG_GET_BY_NAME_LABEL", "XBT_MSG_GET_ALL",
		"XBT_MSG_GET_ALL_RECORDS", "XBT_MSG__COUNT", NULL
	};

	for (size_t i = 0; msg_reserved[i]; i++)
		ident_claim(msg_reserved[i]);
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];
		char *up = str_cident_upper(e->name);

		if (!ident_claim(str_printf("xbt_enum_%s", e->name)))
			fail(e->line, "enum %s: C name clash", e->name);
		for (size_t j = 0; j < e->values.n; j++) {
			enum_value *v = e->values.v[j];
			char *id = str_printf("XBT_%s_%s", up,
					      str_cident_upper(v->name));

			if (!ident_claim(id))
				fail(e->line, "enum %s value %s: C constant %s "
				     "is already taken", e->name, v->name, id);
		}
	}
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		ident_claim(str_printf("XBT_ERR_%s", e->code));
	}
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		if (!ident_claim(str_printf("xbt_class_%s", c->lower)))
			fail(c->line, "class %s: C name clash", c->name);
		for (size_t j = 0; j < c->fields.n; j++) {
			field_def *f = c->fields.v[j];
			char *id = str_printf("XBT_FIELD_%s_%s", c->upper,
					      str_cident_upper(f->name));

			if (!ident_claim(id))
				fail(f->line, "field %s.%s: C constant %s is "
				     "already taken", c->name, f->name, id);
		}
		for (size_t j = 0; j < c->messages.n; j++) {
			msg_def *m = c->messages.v[j];
			char *stub = str_printf("xbt_%s_%s", c->lower, m->name);

			m->wire = str_printf("%s.%s", c->name, m->name);
			m->index = str_printf("XBT_MSG_%s_%s", c->upper,
					      str_cident_upper(m->name));
			if (!ident_claim(m->index) || !ident_claim(stub) ||
			    (m->async && !ident_claim(str_printf(
				    "xbt_async_%s_%s", c->lower, m->name))) ||
			    (m->kind == M_CUSTOM && !ident_claim(str_printf(
				    "%s_%s", c->lower, m->name))))
				fail(m->line, "message %s: a generated C name "
				     "is already taken", m->wire);
			vec_push(&api.messages, m);
		}
	}
}

/* ---- validation against the schema ------------------------------------------------ */

/*
 * Validation streams the file through an xmlTextReader: unlike validating a
 * parsed tree, it knows where it is when an error has no node (a missing
 * attribute), so every message gets a line.
 */
static void schema_error(void *data, xmlErrorPtr err)
{
	xmlTextReaderPtr reader = data;
	int line = err->line;
	const char *file = err->file ? err->file : idl_path;
	size_t n = err->message ? strlen(err->message) : 0;

	if (line <= 0 && err->node)
		line = node_line((xmlNodePtr)err->node);
	if (line <= 0)
		line = xmlTextReaderGetParserLineNumber(reader);
	while (n && err->message[n - 1] == '\n')
		n--;
	fprintf(stderr, "%s:%d: error: %s%.*s\n", file, line,
		err->domain == XML_FROM_RELAXNGV ? "schema: " : "", (int)n,
		err->message ? err->message : "invalid");
	nerrors++;
}

static bool validate(const char *schema_path)
{
	xmlRelaxNGParserCtxtPtr pctx;
	xmlRelaxNGPtr schema = NULL;
	xmlTextReaderPtr reader = NULL;
	bool ok = false;
	int before = nerrors;
	int r;

	pctx = xmlRelaxNGNewParserCtxt(schema_path);
	if (!pctx)
		die_oom();
	schema = xmlRelaxNGParse(pctx);
	xmlRelaxNGFreeParserCtxt(pctx);
	if (!schema) {
		fprintf(stderr, "%s: error: cannot load the schema\n",
			schema_path);
		nerrors++;
		goto out;
	}
	reader = xmlReaderForFile(idl_path, NULL,
				  XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (!reader) {
		fprintf(stderr, "%s: error: cannot read\n", idl_path);
		nerrors++;
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(reader, schema_error, reader);
	if (xmlTextReaderRelaxNGSetSchema(reader, schema) != 0) {
		fprintf(stderr, "%s: error: cannot use the schema\n",
			schema_path);
		nerrors++;
		goto out;
	}
	while ((r = xmlTextReaderRead(reader)) == 1)
		;
	if (r != 0 || xmlTextReaderIsValid(reader) != 1) {
		if (nerrors == before) {
			fprintf(stderr, "%s: error: does not match the "
				"schema %s\n", idl_path, schema_path);
			nerrors++;
		}
		goto out;
	}
	ok = nerrors == before;
out:
	if (reader)
		xmlFreeTextReader(reader);
	if (schema)
		xmlRelaxNGFree(schema);
	return ok;
}

static void read_model(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	api.name = attr(root, "name");
	api.vendor = attr(root, "vendor");
	api.major = attr(root, "version-major");
	api.minor = attr(root, "version-minor");
	/* names first: types may refer to enums and classes declared later */
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (is_elem(n, "error"))
			read_error(n);
		else if (is_elem(n, "enum"))
			read_enum(n);
		else if (is_elem(n, "class"))
			read_class_head(n);
	}
	for (size_t i = 0; i < api.classes.n; i++)
		read_fields(api.classes.v[i]);
	for (size_t i = 0; i < api.classes.n; i++)
		read_messages(api.classes.v[i]);
	for (size_t i = 0; i < api.classes.n; i++)
		add_implicit(api.classes.v[i]);
	if (nerrors == 0)
		check_idents();
}

/* ---- emitting: common ------------------------------------------------------------- */

#define GENERATED_NOTE \
	"/* Generated by idl/gen from idl/xenapi.xml: do not edit. */\n"

static bool write_file(const char *dir, const char *rel, const out *o)
{
	char *path = str_printf("%s/%s", dir, rel);
	char *tmp = str_printf("%s.tmp", path);
	FILE *f;

	/* make the parent directories */
	for (char *p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "gen: mkdir %s: %s\n", path,
				strerror(errno));
			return false;
		}
		*p = '/';
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "gen: %s: %s\n", tmp, strerror(errno));
		return false;
	}
	if (o->len && fwrite(o->buf, 1, o->len, f) != o->len) {
		fprintf(stderr, "gen: %s: write failed\n", tmp);
		fclose(f);
		remove(tmp);
		return false;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		remove(tmp);
		return false;
	}
	return true;
}

static const char *class_c_record(const class_def *c)
{
	return str_printf("struct xbt_%s_record", c->lower);
}

/* "(self ref VM, value string)" for comments and docs */
static char *signature(const msg_def *m)
{
	out o = { 0 };
	char *r;

	out_s(&o, "(");
	if (m->session)
		out_s(&o, "session ref session");
	for (size_t i = 0; i < m->params.n; i++) {
		param_def *p = m->params.v[i];

		if (i || m->session)
			out_s(&o, ", ");
		out_f(&o, "%s %s", p->name, p->type->text);
		if (p->def)
			out_f(&o, " = \"%s\"", p->def);
	}
	out_f(&o, ") -> %s", m->result->text);
	r = xstrdup(o.buf);
	free(o.buf);
	return r;
}

/* ---- api/xbt/xenapi.h ----------------------------------------------------------- */

static void stub_proto(out *o, const msg_def *m, bool async)
{
	out_f(o, "xbt_error *xbt_%s%s_%s(xbt_client *c", async ? "async_" : "",
	      m->cls->lower, m->name);
	if (m->session)
		out_s(o, ", const char *session");
	for (size_t i = 0; i < m->params.n; i++) {
		param_def *p = m->params.v[i];

		out_f(o, ", %s%s", type_c_arg(p->type), p->cname);
	}
	out_s(o, ", xmlrpc_value **result)");
}

static void emit_header(out *o)
{
	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_s(o, GENERATED_NOTE);
	out_s(o,
	      "/*\n"
	      " * The XenAPI data model (see doc/api.md): enums, record "
	      "structs, descriptors,\n"
	      " * message indexes into xbt_messages[], error codes and "
	      "client stubs.\n"
	      " * Record members are stored as api/xbt/model.h describes; "
	      "enum fields are\n"
	      " * ints holding the index of the value (the enum's C "
	      "constants below).\n"
	      " */\n"
	      "#ifndef XBT_XENAPI_H\n#define XBT_XENAPI_H\n\n"
	      "#include <stdbool.h>\n#include <stdint.h>\n\n"
	      "#include <xmlrpc-c/base.h>\n\n"
	      "#include \"xbt/client.h\"\n#include \"xbt/model.h\"\n\n"
	      "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	out_f(o, "#define XBT_API_VERSION_MAJOR %s\n", api.major);
	out_f(o, "#define XBT_API_VERSION_MINOR %s\n\n", api.minor);

	out_s(o, "/* ---- enums ---- */\n\n");
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];
		char *up = str_cident_upper(e->name);

		out_f(o, "/* %s */\nenum xbt_%s {\n", cmt(e->doc), e->name);
		for (size_t j = 0; j < e->values.n; j++) {
			enum_value *v = e->values.v[j];

			out_f(o, "\tXBT_%s_%s,%s/* \"%s\" */\n", up,
			      str_cident_upper(v->name), " ", v->name);
		}
		out_f(o, "};\nextern const xbt_enum_desc xbt_enum_%s;\n\n",
		      e->name);
	}

	out_s(o, "/* ---- errors ---- */\n\n");
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		out_f(o, "#define XBT_ERR_%s \"%s\" /* [", e->code, e->code);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "%s%s", j ? ", " : "", p->name);
		}
		out_s(o, "] */\n");
	}

	out_s(o, "\n/* ---- classes ---- */\n\n");
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		out_f(o, "/* %s: %s */\n", c->name, cmt(c->doc));
		if (c->fields.n) {
			out_f(o, "%s {\n", class_c_record(c));
			for (size_t j = 0; j < c->fields.n; j++) {
				field_def *f = c->fields.v[j];

				out_f(o, "\t%s%s; /* %s%s */\n",
				      type_c_member(f->type), f->name,
				      f->type->text, f->rw ? ", RW" : "");
			}
			out_f(o, "};\ntypedef %s xbt_%s_record;\n\n",
			      class_c_record(c), c->lower);
			out_f(o, "/* indexes into xbt_class_%s.fields */\n"
			      "enum {\n", c->lower);
			for (size_t j = 0; j < c->fields.n; j++) {
				field_def *f = c->fields.v[j];

				out_f(o, "\tXBT_FIELD_%s_%s,\n", c->upper,
				      str_cident_upper(f->name));
			}
			out_s(o, "};\n");
		}
		out_f(o, "extern const xbt_class_desc xbt_class_%s;\n\n",
		      c->lower);
	}

	out_s(o, "/* ---- messages: indexes into xbt_messages[] ---- */\n\n"
	      "enum xbt_msg_index {\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		out_f(o, "\t%s, /* %s */\n", m->index, m->wire);
	}
	out_s(o, "\tXBT_MSG__COUNT\n};\n\n");

	out_s(o,
	      "/*\n"
	      " * ---- client stubs ----\n"
	      " * Each calls <Class>.<message> (xbt_async_*: "
	      "Async.<Class>.<message>, whose\n"
	      " * result is a task ref) through xbt_client_call. Arguments "
	      "are sent as the\n"
	      " * xapi dialect wants them: ints as decimal strings, "
	      "datetimes as dateTime\n"
	      " * values, enums by their wire strings; NULL strings are "
	      "sent as \"\", NULL\n"
	      " * refs as OpaqueRef:NULL, NULL sets and maps as empty. "
	      "*result as for\n"
	      " * xbt_client_call.\n"
	      " */\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		stub_proto(o, m, false);
		out_s(o, ";\n");
		if (m->async) {
			stub_proto(o, m, true);
			out_s(o, ";\n");
		}
	}
	out_s(o, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

/* ---- api/xenapi.c ---------------------------------------------------------------- */

static void emit_type(out *o, type *t)
{
	if (t->id >= 0)
		return;
	if (t->elem)
		emit_type(o, t->elem);
	if (t->key)
		emit_type(o, t->key);
	t->id = 0;
	for (size_t i = 0; i < api.types.n; i++)
		if (api.types.v[i] == t)
			t->id = (int)i;
	out_f(o, "static const xbt_type type_%d = { %s, ", t->id,
	      kind_c[t->kind]);
	out_cstr(o, t->text);
	if (t->en)
		out_f(o, ", &xbt_enum_%s", t->en->name);
	else
		out_s(o, ", NULL");
	out_s(o, ", ");
	out_cstr(o, t->cls ? t->cls->name : NULL);
	if (t->elem)
		out_f(o, ", &type_%d", t->elem->id);
	else
		out_s(o, ", NULL");
	if (t->key)
		out_f(o, ", &type_%d", t->key->id);
	else
		out_s(o, ", NULL");
	out_s(o, " };\n");
}

static void type_use(type *t)
{
	if (!t || t->used)
		return;
	t->used = true;
	type_use(t->elem);
	type_use(t->key);
}

static int cmp_wire(const void *a, const void *b)
{
	const msg_def *const *x = a, *const *y = b;

	return strcmp((*x)->wire, (*y)->wire);
}

static void emit_model(out *o)
{
	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_s(o, GENERATED_NOTE);
	out_s(o, "#include \"config.h\"\n\n#include <stddef.h>\n\n"
	      "#include \"xbt/xenapi.h\"\n\n");

	out_s(o, "/* ---- enums ---- */\n\n");
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];

		out_f(o, "static const char *const enum_%s_values[] = {\n",
		      e->name);
		for (size_t j = 0; j < e->values.n; j++) {
			enum_value *v = e->values.v[j];

			out_s(o, "\t");
			out_cstr(o, v->name);
			out_s(o, ",\n");
		}
		out_f(o, "};\nconst xbt_enum_desc xbt_enum_%s = { \"%s\", %zu, "
		      "enum_%s_values };\n\n", e->name, e->name, e->values.n,
		      e->name);
	}

	/* only what the model refers to: unused statics would warn */
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		for (size_t j = 0; j < c->fields.n; j++)
			type_use(((field_def *)c->fields.v[j])->type);
	}
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		type_use(m->result);
		for (size_t j = 0; j < m->params.n; j++)
			type_use(((param_def *)m->params.v[j])->type);
	}
	out_s(o, "/* ---- types ---- */\n\n");
	for (size_t i = 0; i < api.types.n; i++) {
		type *t = api.types.v[i];

		if (t->used)
			emit_type(o, t);
	}

	out_s(o, "\n/* ---- classes ---- */\n\n");
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		if (c->fields.n) {
			out_f(o, "static const xbt_field_desc fields_%s[] = {\n",
			      c->lower);
			for (size_t j = 0; j < c->fields.n; j++) {
				field_def *f = c->fields.v[j];

				out_f(o, "\t{ \"%s\", &type_%d, %s, "
				      "offsetof(%s, %s), ", f->name,
				      f->type->id, f->rw ? "true" : "false",
				      class_c_record(c), f->name);
				out_cstr(o, f->def);
				out_s(o, ",\n\t  ");
				out_cstr(o, f->doc);
				out_s(o, " },\n");
			}
			out_s(o, "};\n");
		}
		out_f(o, "const xbt_class_desc xbt_class_%s = {\n\t\"%s\", "
		      "\"%s\", ", c->lower, c->name, c->lower);
		if (c->fields.n)
			out_f(o, "sizeof(%s), %zu, fields_%s,\n\t",
			      class_c_record(c), c->fields.n, c->lower);
		else
			out_s(o, "0, 0, NULL,\n\t");
		out_cstr(o, c->doc);
		out_f(o, ",\n\t%zu, %s\n};\n\n", i,
		      c->events ? "true" : "false");
	}
	out_s(o, "const xbt_class_desc *const xbt_classes[] = {\n");
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		out_f(o, "\t&xbt_class_%s,\n", c->lower);
	}
	out_f(o, "};\nconst size_t xbt_nclasses = %zu;\n\n", api.classes.n);

	out_s(o, "/* ---- messages ---- */\n\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (m->params.n) {
			out_f(o, "static const xbt_param_desc params_%zu[] = "
			      "{ /* %s */\n", i, m->wire);
			for (size_t j = 0; j < m->params.n; j++) {
				param_def *p = m->params.v[j];

				out_f(o, "\t{ \"%s\", &type_%d, ", p->name,
				      p->type->id);
				out_cstr(o, p->def);
				out_s(o, ", ");
				out_cstr(o, p->doc);
				out_s(o, " },\n");
			}
			out_s(o, "};\n");
		}
		if (m->errors.n) {
			out_f(o, "static const char *const errors_%zu[] = {",
			      i);
			for (size_t j = 0; j < m->errors.n; j++)
				out_f(o, "%s\"%s\"", j ? ", " : " ",
				      (char *)m->errors.v[j]);
			out_s(o, " };\n");
		}
	}
	out_s(o, "\nconst xbt_message_desc xbt_messages[] = {\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		out_f(o, "\t[%s] = {\n\t\t\"%s\", &xbt_class_%s, \"%s\", %s, "
		      "%d,\n", m->index, m->wire, m->cls->lower, m->name,
		      msg_kind_c[m->kind], m->field);
		if (m->params.n)
			out_f(o, "\t\t%zu, %zu, params_%zu, ", m->params.n,
			      m->nrequired, i);
		else
			out_s(o, "\t\t0, 0, NULL, ");
		out_f(o, "&type_%d, %s, %s,\n", m->result->id,
		      m->session ? "true" : "false",
		      m->async ? "true" : "false");
		if (m->errors.n)
			out_f(o, "\t\t%zu, errors_%zu,\n", m->errors.n, i);
		else
			out_s(o, "\t\t0, NULL,\n");
		out_s(o, "\t\t");
		out_cstr(o, m->doc);
		out_s(o, "\n\t},\n");
	}
	out_f(o, "};\nconst size_t xbt_nmessages = %zu;\n\n", api.messages.n);

	{
		msg_def **sorted = xalloc(api.messages.n * sizeof(*sorted));

		memcpy(sorted, api.messages.v, api.messages.n * sizeof(*sorted));
		qsort(sorted, api.messages.n, sizeof(*sorted), cmp_wire);
		out_s(o, "const size_t xbt_messages_by_name[] = {\n");
		for (size_t i = 0; i < api.messages.n; i++)
			out_f(o, "\t%s,\n", sorted[i]->index);
		out_s(o, "};\n\n");
	}

	out_s(o, "/* ---- errors ---- */\n\n");
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		if (!e->params.n)
			continue;
		out_f(o, "static const char *const error_params_%zu[] = {", i);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "%s\"%s\"", j ? ", " : " ", p->name);
		}
		out_s(o, " };\n");
	}
	out_s(o, "\nconst xbt_error_desc xbt_errors[] = {\n");
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		out_f(o, "\t{ XBT_ERR_%s, %zu, ", e->code, e->params.n);
		if (e->params.n)
			out_f(o, "error_params_%zu,\n\t  ", i);
		else
			out_s(o, "NULL,\n\t  ");
		out_cstr(o, e->doc);
		out_s(o, " },\n");
	}
	out_f(o, "};\nconst size_t xbt_nerrors = %zu;\n", api.errors.n);
}

/* ---- api/xenapi_client.c ------------------------------------------------------------ */

static void emit_stub(out *o, const msg_def *m, bool async)
{
	size_t n = m->params.n + (m->session ? 1 : 0);
	size_t k = 0;

	out_s(o, "\n");
	stub_proto(o, m, async);
	out_f(o, "\n{\n\txmlrpc_value *xbt_argv[%zu];\n\n", n ? n : 1);
	if (m->session)
		out_f(o, "\txbt_argv[%zu] = xbt_value_ref(session);\n", k++);
	for (size_t i = 0; i < m->params.n; i++) {
		param_def *p = m->params.v[i];

		out_f(o, "\txbt_argv[%zu] = %s(%s);\n", k++,
		      type_value_fn(p->type), p->cname);
	}
	out_f(o, "\treturn call(c, \"%s%s\", xbt_argv, %zu, result);\n}\n",
	      async ? "Async." : "", m->wire, n);
}

static void emit_client(out *o)
{
	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_s(o, GENERATED_NOTE);
	out_s(o,
	      "#include \"config.h\"\n\n"
	      "#include <stdlib.h>\n\n"
	      "#include \"xbt/client.h\"\n"
	      "#include \"xbt/xenapi.h\"\n\n"
	      "/* Calls method with argv[0..n), whose references it takes. */\n"
	      "static xbt_error *call(xbt_client *c, const char *method,\n"
	      "\t\t       xmlrpc_value **argv, size_t n,\n"
	      "\t\t       xmlrpc_value **result)\n"
	      "{\n"
	      "\txmlrpc_env env;\n"
	      "\txmlrpc_value *params;\n"
	      "\txbt_error *err;\n\n"
	      "\txmlrpc_env_init(&env);\n"
	      "\tparams = xmlrpc_array_new(&env);\n"
	      "\tfor (size_t i = 0; i < n && !env.fault_occurred; i++)\n"
	      "\t\txmlrpc_array_append_item(&env, params, argv[i]);\n"
	      "\tif (env.fault_occurred)\n"
	      "\t\txbt_fatalx(\"xmlrpc-c: %s\", env.fault_string);\n"
	      "\tfor (size_t i = 0; i < n; i++)\n"
	      "\t\txmlrpc_DECREF(argv[i]);\n"
	      "\terr = XBT_PROPAGATE(xbt_client_call(c, method, params, "
	      "result));\n"
	      "\txmlrpc_DECREF(params);\n"
	      "\txmlrpc_env_clean(&env);\n"
	      "\treturn err;\n"
	      "}\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		emit_stub(o, m, false);
		if (m->async)
			emit_stub(o, m, true);
	}
}

/* ---- server/handlers.h, server/dispatch_table.c ---------------------------------------- */

static void emit_handlers_h(out *o)
{
	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_s(o, GENERATED_NOTE);
	out_s(o,
	      "/*\n"
	      " * The hand-written message handlers of xbtd, one per custom "
	      "message of the\n"
	      " * data model, and the dispatch table that points at them.\n"
	      " *\n"
	      " * A handler gets the call (struct call, defined by the "
	      "server: the session,\n"
	      " * the task for Async calls, ...) and the message's "
	      "parameters without the\n"
	      " * session: args[i] is the i-th parameter in IDL order, "
	      "already checked and\n"
	      " * normalised by xbt_value_check (ints as i8, datetimes as "
	      "datetime values),\n"
	      " * with defaults filled in (xbt_param_default). On success it "
	      "stores a new\n"
	      " * reference in *result (void messages may leave it NULL) "
	      "and returns NULL.\n"
	      " *\n"
	      " * The table refers to the handlers strongly, so that it pulls "
	      "their objects\n"
	      " * out of a static archive (a weak reference does not) and a "
	      "missing handler\n"
	      " * is a link error. Define XBTD_WEAK_HANDLERS when compiling "
	      "the table to\n"
	      " * declare them weak instead (partial builds, tests): a "
	      "handler that is not\n"
	      " * linked in is then NULL in xbtd_handlers[].\n"
	      " */\n"
	      "#ifndef XBTD_HANDLERS_H\n#define XBTD_HANDLERS_H\n\n"
	      "#include <stddef.h>\n\n"
	      "#include <xmlrpc-c/base.h>\n\n"
	      "#include \"xbt/backtrace.h\"\n"
	      "#include \"xbt/xenapi.h\"\n\n"
	      "struct call;\n\n"
	      "typedef xbt_error *(*xbtd_handler)(struct call *, "
	      "xmlrpc_value *const *,\n"
	      "\t\t\t\t   xmlrpc_value **);\n\n"
	      "/* Indexed like xbt_messages[]; NULL for implicit messages. */\n"
	      "extern const xbtd_handler xbtd_handlers[];\n"
	      "extern const size_t xbtd_nhandlers;\n\n"
	      "#ifdef XBTD_WEAK_HANDLERS\n"
	      "#define XBTD_HANDLER_ATTR __attribute__((weak))\n"
	      "#else\n"
	      "#define XBTD_HANDLER_ATTR\n"
	      "#endif\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (m->kind != M_CUSTOM)
			continue;
		out_f(o, "\n/* %s%s %s", m->wire, m->async ? " (async)" : "",
		      cmt(signature(m)));
		for (size_t j = 0; j < m->params.n; j++) {
			param_def *p = m->params.v[j];

			out_f(o, "\n * args[%zu] %s: %s", j, p->name,
			      p->type->text);
			if (p->def)
				out_f(o, " (default \"%s\")", cmt(p->def));
		}
		out_s(o, " */\n");
		out_f(o, "xbt_error *%s_%s(struct call *call, xmlrpc_value "
		      "*const *args,\n\t\txmlrpc_value **result) "
		      "XBTD_HANDLER_ATTR;\n", m->cls->lower, m->name);
	}
	out_s(o, "\n#endif\n");
}

static void emit_dispatch(out *o)
{
	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_s(o, GENERATED_NOTE);
	out_s(o, "#include \"config.h\"\n\n#include \"handlers.h\"\n\n"
	      "const xbtd_handler xbtd_handlers[XBT_MSG__COUNT] = {\n");
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (m->kind == M_CUSTOM)
			out_f(o, "\t[%s] = %s_%s,\n", m->index, m->cls->lower,
			      m->name);
	}
	out_s(o, "};\nconst size_t xbtd_nhandlers = XBT_MSG__COUNT;\n");
}

/* ---- doc/api.md ---------------------------------------------------------------------- */

static void md_anchor(out *o, const char *prefix, const char *name)
{
	out_f(o, "%s-", prefix);
	for (const char *p = name; *p; p++)
		out_f(o, "%c", *p == '.' ? '-' : tolower((unsigned char)*p));
}

/* A default as the wire shows it: quoted for strings, bare otherwise. */
static void md_default(out *o, const type *t, const char *def)
{
	bool quote = t->kind == K_STRING || t->kind == K_REF ||
		     t->kind == K_ENUM;

	if (!def)
		return;
	out_s(o, quote ? "`\"" : "`");
	out_md(o, def);
	out_s(o, quote ? "\"`" : "`");
}

static void md_type(out *o, const type *t)
{
	out_s(o, "`");
	out_md(o, t->text);
	out_s(o, "`");
}

static void emit_doc(out *o)
{
	out_s(o, "<!-- Generated by idl/gen from idl/xenapi.xml: do not "
	      "edit. -->\n");
	out_f(o, "# %s reference (xbt)\n\n", api.name);
	out_f(o, "API version %s.%s, vendor `%s`. This is the subset of "
	      "xapi's data model that\nxbt implements, with xapi's wire "
	      "names. %zu classes, %zu messages, %zu enums,\n%zu errors.\n\n",
	      api.major, api.minor, api.vendor, api.classes.n, api.messages.n,
	      api.enums.n, api.errors.n);
	out_s(o,
	      "## Conventions\n\n"
	      "- Every message but `session.login_with_password` takes a "
	      "session reference\n  as its first parameter (shown in "
	      "signatures, not in parameter tables).\n"
	      "- Messages marked *async* can also be called as "
	      "`Async.<Class>.<message>`,\n  which returns a task reference "
	      "at once.\n"
	      "- Parameters with a default may be left out from the end.\n"
	      "- Wire forms: `int` is a decimal string, `datetime` a "
	      "`dateTime.iso8601`\n  (`YYYYMMDDTHH:MM:SSZ`), `set` an array, "
	      "`map` a struct, `ref` an\n  `OpaqueRef:...` string, `enum` "
	      "one of its values as a string, `void` `\"\"`.\n"
	      "- Implicit messages: `get_<field>` for every field, "
	      "`set_<field>` for RW\n  fields, `add_to_<field>` / "
	      "`remove_from_<field>` for RW maps, and\n  `get_record`, "
	      "`get_by_uuid`, `get_all`, `get_all_records`,\n  "
	      "`get_by_name_label` per class unless listed otherwise.\n\n");

	out_s(o, "## Classes\n\n");
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		out_f(o, "- [%s](#", c->name);
		md_anchor(o, "class", c->name);
		out_s(o, ")\n");
	}
	out_s(o, "\n");
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		out_f(o, "<a id=\"");
		md_anchor(o, "class", c->name);
		out_f(o, "\"></a>\n\n### Class %s\n\n%s\n\n", c->name, c->doc);
		if (c->fields.n) {
			out_s(o, "| Field | Type | Qualifier | Default | "
			      "Description |\n| --- | --- | --- | --- | --- |\n");
			for (size_t j = 0; j < c->fields.n; j++) {
				field_def *f = c->fields.v[j];

				out_f(o, "| `%s` | ", f->name);
				md_type(o, f->type);
				out_f(o, " | %s | ", f->rw ? "RW" : "RO");
				md_default(o, f->type, f->def);
				out_s(o, " | ");
				out_md(o, f->doc);
				out_s(o, " |\n");
			}
			out_s(o, "\n");
		}
		out_s(o, "#### Messages\n\n");
		for (size_t j = 0; j < c->messages.n; j++) {
			msg_def *m = c->messages.v[j];

			if (m->kind != M_CUSTOM)
				continue;
			out_f(o, "##### %s\n\n`%s %s`%s\n\n%s\n\n",
			      m->wire, m->wire, signature(m),
			      m->async ? " *async*" : "", m->doc);
			if (!m->session)
				out_s(o, "Takes no session.\n\n");
			if (m->params.n) {
				out_s(o, "| Parameter | Type | Default | "
				      "Description |\n| --- | --- | --- | "
				      "--- |\n");
				for (size_t k = 0; k < m->params.n; k++) {
					param_def *p = m->params.v[k];

					out_f(o, "| `%s` | ", p->name);
					md_type(o, p->type);
					out_s(o, " | ");
					md_default(o, p->type, p->def);
					out_s(o, " | ");
					out_md(o, p->doc);
					out_s(o, " |\n");
				}
				out_s(o, "\n");
			}
			if (m->result->kind != K_VOID) {
				out_s(o, "Result: ");
				md_type(o, m->result);
				out_f(o, " — %s\n\n", m->result_doc ?
				      m->result_doc : "");
			}
			if (m->errors.n) {
				out_s(o, "Errors:");
				for (size_t k = 0; k < m->errors.n; k++) {
					const char *code = m->errors.v[k];

					out_f(o, "%s [%s](#", k ? "," : "",
					      code);
					md_anchor(o, "error", code);
					out_s(o, ")");
				}
				out_s(o, "\n\n");
			}
		}
		out_s(o, "Implicit:");
		{
			size_t shown = 0;

			for (size_t j = 0; j < c->messages.n; j++) {
				msg_def *m = c->messages.v[j];

				if (m->kind == M_CUSTOM)
					continue;
				out_f(o, "%s `%s`", shown++ ? "," : "",
				      m->name);
			}
			if (!shown)
				out_s(o, " none");
		}
		out_s(o, ".\n\n");
	}

	out_s(o, "## Enums\n\n");
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];

		out_s(o, "<a id=\"");
		md_anchor(o, "enum", e->name);
		out_f(o, "\"></a>\n\n### enum %s\n\n%s\n\n| Value | "
		      "Description |\n| --- | --- |\n", e->name, e->doc);
		for (size_t j = 0; j < e->values.n; j++) {
			enum_value *v = e->values.v[j];

			out_f(o, "| `%s` | ", v->name);
			out_md(o, v->doc);
			out_s(o, " |\n");
		}
		out_s(o, "\n");
	}

	out_s(o, "## Errors\n\nAn error is `{Status: \"Failure\", "
	      "ErrorDescription: [code, params...]}`,\nall strings.\n\n");
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		out_s(o, "<a id=\"");
		md_anchor(o, "error", e->code);
		out_f(o, "\"></a>\n\n### %s\n\n`[", e->code);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "%s%s", j ? ", " : "", p->name);
		}
		out_f(o, "]`\n\n%s\n\n", e->doc);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "- `%s`: %s\n", p->name, p->doc);
		}
		if (e->params.n)
			out_s(o, "\n");
	}
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: gen --schema SCHEMA.rng [--check] "
		"[--out-dir DIR] IDL.xml\n");
}

int main(int argc, char **argv)
{
	const char *schema = NULL, *outdir = ".";
	bool check_only = false;
	xmlDocPtr doc = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
			schema = argv[++i];
		} else if (strcmp(argv[i], "--out-dir") == 0 && i + 1 < argc) {
			outdir = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check_only = true;
		} else if (argv[i][0] != '-' && !idl_path) {
			idl_path = argv[i];
		} else {
			usage();
			return 2;
		}
	}
	if (!schema || !idl_path) {
		usage();
		return 2;
	}

	LIBXML_TEST_VERSION
	if (!validate(schema))
		goto out;
	doc = xmlReadFile(idl_path, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (!doc) {
		fprintf(stderr, "%s: error: cannot parse\n", idl_path);
		nerrors++;
		goto out;
	}
	read_model(doc);
	if (nerrors)
		goto out;
	if (!check_only) {
		static const struct {
			const char *path;
			void (*emit)(out *);
		} outputs[] = {
			{ "api/xbt/xenapi.h", emit_header },
			{ "api/xenapi.c", emit_model },
			{ "api/xenapi_client.c", emit_client },
			{ "server/handlers.h", emit_handlers_h },
			{ "server/dispatch_table.c", emit_dispatch },
			{ "doc/api.md", emit_doc },
		};

		for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]);
		     i++) {
			out o = { 0 };
			bool ok;

			outputs[i].emit(&o);
			ok = write_file(outdir, outputs[i].path, &o);
			free(o.buf);
			if (!ok)
				goto out;
		}
	}
	rc = 0;
out:
	if (nerrors)
		fprintf(stderr, "%s: %d error%s; nothing generated\n",
			idl_path ? idl_path : "gen", nerrors,
			nerrors == 1 ? "" : "s");
	if (doc)
		xmlFreeDoc(doc);
	xmlCleanupParser();
	arena_free();
	return rc;
}
