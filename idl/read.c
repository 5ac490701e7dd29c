/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the reader. Validates an IDL file (and the errors file of
 * --errors) against idl/xenapi.rng, then builds the model: the api
 * element's names, the errors, types resolved against the enums and
 * classes, fields, messages, and the implicit messages of every class.
 * Problems that a single element shows are reported here; check.c looks
 * at the whole model.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "gen.h"

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

/* ---- reading the IDL ---------------------------------------------------------- */

/* name as a C identifier: keywords and the names in taken get a '_'. */
static char *c_ident(const char *name, const char *const *taken)
{
	if (in_list(c_keywords, name) || in_list(cxx_keywords, name) ||
	    in_list(taken, name))
		return str_printf("%s_", name);
	return xstrdup(name);
}

/* Whether name starts with s followed by '_'. */
static bool has_prefix(const char *name, const char *s)
{
	size_t n = strlen(s);

	return strncmp(name, s, n) == 0 && name[n] == '_';
}

/*
 * Macro parameters of the raise helpers must not capture the names their
 * expansion uses (old, XBT_HERE, NULL, the functions it calls): libxbt's
 * and the generated ones (the active prefix).
 */
static char *error_param_cname(const char *name)
{
	static const char *const taken[] = {
		"old", "n", "v", "NULL", "defined", NULL
	};

	if (has_prefix(name, "xbt") || has_prefix(name, "XBT") ||
	    has_prefix(name, api.prefix) || has_prefix(name, api.uprefix) ||
	    strncmp(name, "__", 2) == 0)
		return str_printf("%s_", name);
	return c_ident(name, taken);
}

/* path: the file that declares it (the IDL or the errors file). */
static void read_error(xmlNodePtr n, const char *path)
{
	error_def *e = xalloc(sizeof(*e));
	int repeated_line = 0;

	e->code = attr(n, "code");
	e->doc = child_description(n);
	e->line = node_line(n);
	if (find_error(e->code))
		fail_in(path, e->line, "error %s declared twice", e->code);
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (!is_elem(c, "param"))
			continue;
		error_param *p = xalloc(sizeof(*p));
		int line = node_line(c);

		p->name = attr(c, "name");
		p->cname = error_param_cname(p->name);
		p->doc = text_of(c);
		p->repeated = attr_bool(c, "repeated", false);
		for (size_t i = 0; i < e->params.n; i++) {
			error_param *o = e->params.v[i];

			if (strcmp(o->name, p->name) == 0)
				fail_in(path, line, "error %s: parameter %s "
					"declared twice", e->code, p->name);
			else if (strcmp(o->cname, p->cname) == 0)
				fail_in(path, line, "error %s: parameter %s "
					"clashes with parameter %s (both are %s "
					"in C)", e->code, p->name, o->name,
					p->cname);
		}
		if (p->repeated && !repeated_line) {
			e->repeated = true;
			repeated_line = line;
		}
		vec_push(&e->params, p);
	}
	/* (n, v) cannot carry fixed params along: raisev takes one array */
	if (e->repeated && e->params.n != 1)
		fail_in(path, repeated_line, "error %s: a repeated parameter "
			"must be the error's only parameter", e->code);
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

/* With the prefix xbt, these would make names of libxbt's own. */
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
	/* A class xbt does not serve exists only as the target of refs. */
	if (!attr_bool(n, "served", true) &&
	    (c->events || !attr(n, "omit") || strcmp(attr(n, "omit"), "all")))
		fail(c->line, "class %s: served=\"false\" needs omit=\"all\" "
		     "and events=\"false\"", c->name);
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *o = api.classes.v[i];

		if (strcmp(o->lower, c->lower) == 0)
			fail(c->line, "class %s clashes with class %s (names "
			     "match case-insensitively)", c->name, o->name);
	}
	if (strcmp(api.prefix, "xbt") == 0 && in_list(reserved_lower, c->lower))
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
		f->setter = attr_bool(n, "setter", false);
		if (f->setter && f->rw)
			fail(node_line(n), "field %s.%s: setter=\"true\" is for "
			     "RO fields", c->name, f->name);
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

	return c_ident(name, taken);
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
		m->pool_only = attr_bool(n, "pool", false);
		m->emergency = attr_bool(n, "emergency", false);
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
					     "error %s%s", c->name, m->name, code,
					     api.errors.n ? "" : " (no error is "
					     "declared: are they another "
					     "file's? gen --errors FILE)");
				for (size_t i = 0; i < m->errors.n; i++)
					if (strcmp(m->errors.v[i], code) == 0)
						fail(line, "%s.%s lists error "
						     "%s twice", c->name,
						     m->name, code);
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
		if (!f->rw && !f->setter)
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

/* ---- validation against the schema ------------------------------------------------ */

/*
 * Validation streams the file through an xmlTextReader: unlike validating a
 * parsed tree, it knows where it is when an error has no node (a missing
 * attribute), so every message gets a line.
 */
struct validation {
	xmlTextReaderPtr reader;
	const char *path;
};

static void schema_error(void *data, xmlErrorPtr err)
{
	struct validation *va = data;
	xmlTextReaderPtr reader = va->reader;
	int line = err->line;
	const char *file = err->file ? err->file : va->path;
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

bool validate(const char *schema_path, const char *path)
{
	xmlRelaxNGParserCtxtPtr pctx;
	xmlRelaxNGPtr schema = NULL;
	xmlTextReaderPtr reader = NULL;
	struct validation va;
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
	reader = xmlReaderForFile(path, NULL,
				  XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (!reader) {
		fprintf(stderr, "%s: error: cannot read\n", path);
		nerrors++;
		goto out;
	}
	va.reader = reader;
	va.path = path;
	xmlTextReaderSetStructuredErrorHandler(reader, schema_error, &va);
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
				"schema %s\n", path, schema_path);
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

/* An attribute of the api element, or its default. */
static char *attr_or(xmlNodePtr n, const char *name, const char *dflt)
{
	char *v = attr(n, name);

	return v ? v : xstrdup(dflt);
}

/* The base name of path without ".xml": "idl/xenops.xml" -> "xenops". */
static char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *b = xstrdup(slash ? slash + 1 : path);
	size_t n = strlen(b);

	if (n > 4 && strcmp(b + n - 4, ".xml") == 0)
		b[n - 4] = '\0';
	return b;
}

void read_model(xmlDocPtr doc, xmlDocPtr errors_doc, const char *errors_path)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	api.name = attr(root, "name");
	api.vendor = attr(root, "vendor");
	api.major = attr(root, "version-major");
	api.minor = attr(root, "version-minor");
	api.prefix = attr_or(root, "prefix", "xbt");
	api.uprefix = str_cident_upper(api.prefix);
	api.daemon = attr_or(root, "daemon", "xbtd");
	api.udaemon = str_cident_upper(api.daemon);
	api.handler_prefix = attr_or(root, "handler-prefix", "");
	api.base = base_name(idl_path);
	api.source = str_printf("idl/%s.xml", api.base);
	api.own_errors = !errors_doc;
	api.errors_base = base_name(errors_doc ? errors_path : idl_path);
	/* the names go into paths, include lines and header guards */
	if (strspn(api.base, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
	    strlen(api.base) || !*api.base)
		fail(0, "the file's base name \"%s\" names the generated files: "
		     "it must be lowercase letters, digits and '_'", api.base);
	if (errors_doc) {
		xmlNodePtr eroot = xmlDocGetRootElement(errors_doc);

		for (xmlNodePtr n = eroot->children; n; n = n->next)
			if (is_elem(n, "error"))
				read_error(n, errors_path);
	}
	/* names first: types may refer to enums and classes declared later */
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (is_elem(n, "error") && errors_doc)
			fail(node_line(n), "error %s: the errors are those of "
			     "%s (--errors); declare it there",
			     attr(n, "code"), errors_path);
		else if (is_elem(n, "error"))
			read_error(n, idl_path);
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
}

