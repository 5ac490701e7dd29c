/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the C backend. api/xbt/B.h (enums, record structs, error codes,
 * message indexes, stub prototypes) and api/B.c (the descriptors of
 * api/xbt/model.h and the model P_api that gathers them). Every name is
 * made with the model's prefix; the runtime's (xbt_type, XBT_T_*,
 * xbt_error_raise, XBT_HERE) are shared and keep theirs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static const char *const kind_c[] = {
	"XBT_T_VOID", "XBT_T_STRING", "XBT_T_INT", "XBT_T_FLOAT", "XBT_T_BOOL",
	"XBT_T_DATETIME", "XBT_T_ENUM", "XBT_T_REF", "XBT_T_SET", "XBT_T_MAP",
	"XBT_T_RECORD", "XBT_T_ANY",
};

static const char *const msg_kind_c[] = {
	"XBT_MSG_CUSTOM", "XBT_MSG_GET_FIELD", "XBT_MSG_SET_FIELD",
	"XBT_MSG_ADD_TO_MAP", "XBT_MSG_REMOVE_FROM_MAP", "XBT_MSG_GET_RECORD",
	"XBT_MSG_GET_BY_UUID", "XBT_MSG_GET_BY_NAME_LABEL", "XBT_MSG_GET_ALL",
	"XBT_MSG_GET_ALL_RECORDS",
};

/* The C type of stored values. */
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

/* ---- api/xbt/B.h --------------------------------------------------------------- */

/*
 * An error's code constant and raise helpers. The helpers are macros so
 * that XBT_HERE is the caller's place; the params go through
 * P_err_param, which type-checks each one and keeps a NULL from ending
 * xbt_error_raise's list early.
 */
static void emit_error_macros(out *o, const error_def *e)
{
	const char *P = api.prefix, *PU = api.uprefix;

	out_f(o, "\n#define %s_ERR_%s \"%s\" /* [", PU, e->code, e->code);
	for (size_t j = 0; j < e->params.n; j++) {
		error_param *p = e->params.v[j];

		out_f(o, "%s%s%s", j ? ", " : "", p->name,
		      p->repeated ? "..." : "");
	}
	out_s(o, "] */\n");
	if (e->repeated) {
		out_f(o, "#define %s_RAISE_%s(n, v) \\\n"
		      "\txbt_error_raisev(XBT_HERE, %s_ERR_%s, (n), (v))\n",
		      PU, e->code, PU, e->code);
		out_f(o, "#define %s_RERAISE_%s(old, n, v) \\\n"
		      "\txbt_error_reraisev((old), XBT_HERE, %s_ERR_%s, (n), "
		      "(v))\n", PU, e->code, PU, e->code);
		return;
	}
	for (int re = 0; re < 2; re++) {
		out_f(o, "#define %s_%s_%s(%s", PU, re ? "RERAISE" : "RAISE",
		      e->code, re ? "old" : "");
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "%s%s", j || re ? ", " : "", p->cname);
		}
		if (re)
			out_f(o, ") \\\n\txbt_error_reraise((old), XBT_HERE, "
			      "%s_ERR_%s, \\\n", PU, e->code);
		else
			out_f(o, ") \\\n\txbt_error_raise(XBT_HERE, "
			      "%s_ERR_%s, \\\n", PU, e->code);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "\t\t%s_err_param(%s), \\\n", P, p->cname);
		}
		out_s(o, "\t\t(const char *)NULL)\n");
	}
}

/* The errors section: codes and helpers, when the model declares errors. */
static void emit_errors_h(out *o)
{
	const char *PU = api.uprefix;

	out_s(o, "/* ---- errors ---- */\n\n");
	out_f(o,
	      "/*\n"
	      " * %s_ERR_<CODE> is the code, its params in the comment "
	      "(\"name...\": repeated,\n"
	      " * zero or more values). Its helpers take exactly the "
	      "declared params, so\n"
	      " * that a wrong count does not compile; a NULL param is sent "
	      "as \"\":\n"
	      " *   %s_RAISE_<CODE>(p1, ...)         a new error, first frame "
	      "at the caller\n"
	      " *   %s_RERAISE_<CODE>(old, p1, ...)  old turned into it, old's "
	      "frames kept\n"
	      " * A repeated param takes (n, v), v an array of n strings, "
	      "instead.\n"
	      " */\n"
	      "static inline const char *%s_err_param(const char *s)\n"
	      "{\n"
	      "\treturn s ? s : \"\";\n"
	      "}\n", PU, PU, PU, api.prefix);
	for (size_t i = 0; i < api.errors.n; i++)
		emit_error_macros(o, api.errors.v[i]);
	out_s(o, "\n");
}

/* The descriptors' arrays and the model that gathers them. */
static void emit_model_decls(out *o)
{
	const char *P = api.prefix;

	out_f(o, "/* ---- the model (api/%s.c; see xbt/model.h) ---- */\n\n"
	      "extern const xbt_class_desc *const %s_classes[];\n"
	      "extern const size_t %s_nclasses;\n"
	      "extern const xbt_message_desc %s_messages[];\n"
	      "extern const size_t %s_nmessages;\n"
	      "/* indexes of %s_messages[] in strcmp order of wire_name */\n"
	      "extern const size_t %s_messages_by_name[];\n",
	      api.base, P, P, P, P, P, P);
	if (api.own_errors)
		out_f(o, "extern const xbt_error_desc %s_errors[];\n"
		      "extern const size_t %s_nerrors;\n", P, P);
	out_f(o, "/* all of it, for xbt_class_find_in and "
	      "xbt_message_find_in */\n"
	      "extern const xbt_model %s_api;\n\n", P);
}

void emit_header(out *o)
{
	const char *P = api.prefix, *PU = api.uprefix;
	char *guard = str_printf("%s_%s_H", PU, str_cident_upper(api.base));

	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_note(o);
	out_f(o,
	      "/*\n"
	      " * The %s data model (see %s): enums and their "
	      "values' names, record\n"
	      " * structs, descriptors, message indexes into %s_messages[], ",
	      api.name, doc_path(api.base), P);
	if (api.own_errors)
		out_s(o, "error codes with\n"
		      " * their raise helpers, and client stubs.\n");
	else
		out_f(o, "and client\n"
		      " * stubs. Its errors are those of xbt/%s.h.\n",
		      api.errors_base);
	out_f(o,
	      " * Record members are stored as api/xbt/model.h describes; "
	      "enum fields are\n"
	      " * ints holding the index of the value (the enum's C "
	      "constants below).\n"
	      " */\n"
	      "#ifndef %s\n#define %s\n\n"
	      "#include <stdbool.h>\n#include <stdint.h>\n\n"
	      "#include <xmlrpc-c/base.h>\n\n"
	      "#include \"xbt/client.h\"\n#include \"xbt/model.h\"\n\n"
	      "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", guard, guard);
	out_f(o, "#define %s_API_VERSION_MAJOR %s\n", PU, api.major);
	out_f(o, "#define %s_API_VERSION_MINOR %s\n\n", PU, api.minor);

	out_s(o, "/* ---- enums ---- */\n\n");
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];
		char *up = str_cident_upper(e->name);

		out_f(o, "/* %s */\nenum %s_%s {\n", cmt(e->doc), P, e->name);
		for (size_t j = 0; j < e->values.n; j++) {
			enum_value *v = e->values.v[j];

			out_f(o, "\t%s_%s_%s,%s/* \"%s\" */\n", PU, up,
			      str_cident_upper(v->name), " ", v->name);
		}
		out_f(o, "};\nextern const xbt_enum_desc %s_enum_%s;\n", P,
		      e->name);
		/* wire strings, for code that stores sets of enum values */
		for (size_t j = 0; j < e->values.n; j++) {
			enum_value *v = e->values.v[j];

			out_f(o, "#define %s_%s_%s_NAME ", PU, up,
			      str_cident_upper(v->name));
			out_cstr(o, v->name);
			out_s(o, "\n");
		}
		out_s(o, "\n");
	}

	if (api.own_errors)
		emit_errors_h(o);

	out_s(o, "/* ---- classes ---- */\n\n");
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
			out_f(o, "};\ntypedef %s %s_%s_record;\n\n",
			      class_c_record(c), P, c->lower);
			out_f(o, "/* indexes into %s_class_%s.fields */\n"
			      "enum {\n", P, c->lower);
			for (size_t j = 0; j < c->fields.n; j++) {
				field_def *f = c->fields.v[j];

				out_f(o, "\t%s_FIELD_%s_%s,\n", PU, c->upper,
				      str_cident_upper(f->name));
			}
			out_s(o, "};\n");
		}
		out_f(o, "extern const xbt_class_desc %s_class_%s;\n\n", P,
		      c->lower);
	}

	out_f(o, "/* ---- messages: indexes into %s_messages[] ---- */\n\n"
	      "enum %s_msg_index {\n", P, P);
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		out_f(o, "\t%s, /* %s */\n", m->index, m->wire);
	}
	out_f(o, "\t%s_MSG__COUNT\n};\n\n", PU);
	emit_model_decls(o);

	out_f(o,
	      "/*\n"
	      " * ---- client stubs ----\n"
	      " * Each calls <Class>.<message> (%s_async_*: "
	      "Async.<Class>.<message>, whose\n"
	      " * result is a task ref) through xbt_client_call. Arguments "
	      "are sent as the\n"
	      " * xapi dialect wants them: ints as decimal strings, "
	      "datetimes as dateTime\n"
	      " * values, enums by their wire strings; NULL strings are "
	      "sent as \"\", NULL\n"
	      " * refs as OpaqueRef:NULL, NULL sets and maps as empty. "
	      "*result as for\n"
	      " * xbt_client_call.\n", P);
	if (has_record_params())
		out_s(o, " * A record or set (record) argument is an xmlrpc_value "
		      "the caller built (a\n"
		      " * struct of the class's fields, an array of them): "
		      "borrowed, sent as it is\n"
		      " * (NULL: empty).\n");
	out_s(o, " */\n");
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

/* ---- api/B.c --------------------------------------------------------------------- */

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
		out_f(o, ", &%s_enum_%s", api.prefix, t->en->name);
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
	/* cls_desc: checks find the class without knowing the model */
	if (t->cls)
		out_f(o, ", &%s_class_%s", api.prefix, t->cls->lower);
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

/* The errors' descriptors, when the model declares errors. */
static void emit_errors_c(out *o)
{
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
	out_f(o, "\nconst xbt_error_desc %s_errors[] = {\n", api.prefix);
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		out_f(o, "\t{ %s_ERR_%s, %zu, ", api.uprefix, e->code,
		      e->params.n);
		if (e->params.n)
			out_f(o, "error_params_%zu,\n\t  ", i);
		else
			out_s(o, "NULL,\n\t  ");
		out_cstr(o, e->doc);
		out_f(o, ", %s },\n", e->repeated ? "true" : "false");
	}
	out_f(o, "};\nconst size_t %s_nerrors = %zu;\n", api.prefix,
	      api.errors.n);
}

void emit_model(out *o)
{
	const char *P = api.prefix;

	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_note(o);
	out_f(o, "#include \"config.h\"\n\n#include <stddef.h>\n\n"
	      "#include \"xbt/%s.h\"\n\n", api.base);

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
		out_f(o, "};\nconst xbt_enum_desc %s_enum_%s = { \"%s\", %zu, "
		      "enum_%s_values };\n\n", P, e->name, e->name,
		      e->values.n, e->name);
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
				      f->type->id, f->rw || f->setter ? "true" : "false",
				      class_c_record(c), f->name);
				out_cstr(o, f->def);
				out_s(o, ",\n\t  ");
				out_cstr(o, f->doc);
				out_s(o, " },\n");
			}
			out_s(o, "};\n");
		}
		out_f(o, "const xbt_class_desc %s_class_%s = {\n\t\"%s\", "
		      "\"%s\", ", P, c->lower, c->name, c->lower);
		if (c->fields.n)
			out_f(o, "sizeof(%s), %zu, fields_%s,\n\t",
			      class_c_record(c), c->fields.n, c->lower);
		else
			out_s(o, "0, 0, NULL,\n\t");
		out_cstr(o, c->doc);
		out_f(o, ",\n\t%zu, %s\n};\n\n", i,
		      c->events ? "true" : "false");
	}
	out_f(o, "const xbt_class_desc *const %s_classes[] = {\n", P);
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		out_f(o, "\t&%s_class_%s,\n", P, c->lower);
	}
	out_f(o, "};\nconst size_t %s_nclasses = %zu;\n\n", P,
	      api.classes.n);

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
	out_f(o, "\nconst xbt_message_desc %s_messages[] = {\n", P);
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		out_f(o, "\t[%s] = {\n\t\t\"%s\", &%s_class_%s, \"%s\", %s, "
		      "%d,\n", m->index, m->wire, P, m->cls->lower, m->name,
		      msg_kind_c[m->kind], m->field);
		if (m->params.n)
			out_f(o, "\t\t%zu, %zu, params_%zu, ", m->params.n,
			      m->nrequired, i);
		else
			out_s(o, "\t\t0, 0, NULL, ");
		out_f(o, "&type_%d, %s, %s, %s, %s,\n", m->result->id,
		      m->session ? "true" : "false",
		      m->async ? "true" : "false",
		      m->pool_only ? "true" : "false",
		      m->emergency ? "true" : "false");
		if (m->errors.n)
			out_f(o, "\t\t%zu, errors_%zu,\n", m->errors.n, i);
		else
			out_s(o, "\t\t0, NULL,\n");
		out_s(o, "\t\t");
		out_cstr(o, m->doc);
		out_s(o, "\n\t},\n");
	}
	out_f(o, "};\nconst size_t %s_nmessages = %zu;\n\n", P,
	      api.messages.n);

	{
		msg_def **sorted = xalloc(api.messages.n * sizeof(*sorted));

		memcpy(sorted, api.messages.v, api.messages.n * sizeof(*sorted));
		qsort(sorted, api.messages.n, sizeof(*sorted), cmp_wire);
		out_f(o, "const size_t %s_messages_by_name[] = {\n", P);
		for (size_t i = 0; i < api.messages.n; i++)
			out_f(o, "\t%s,\n", sorted[i]->index);
		out_s(o, "};\n\n");
	}
	/* counts as literals: a const object is no constant expression */
	out_f(o, "const xbt_model %s_api = {\n\t\"%s\", %s_classes, %zu, "
	      "%s_messages, %zu,\n\t%s_messages_by_name\n};\n", P, api.name,
	      P, api.classes.n, P, api.messages.n, P);
	if (api.own_errors) {
		out_s(o, "\n");
		emit_errors_c(o);
	}
}
