/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the documentation backend. doc/B.md (doc/api.md for xenapi),
 * the API reference. A model whose errors are another file's links to
 * that file's reference for them.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "gen.h"

/* ---- doc/B.md ------------------------------------------------------------------------ */

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

/* Generic names of the implicit messages, in the order the doc lists them. */
static const struct {
	enum msg_kind kind;
	const char *name;
} implicit_names[] = {
	{ M_GET_RECORD, "get_record" }, { M_GET_BY_UUID, "get_by_uuid" },
	{ M_GET_FIELD, "get_<field>" }, { M_SET_FIELD, "set_<field>" },
	{ M_ADD_TO_MAP, "add_to_<field>" },
	{ M_REMOVE_FROM_MAP, "remove_from_<field>" },
	{ M_GET_BY_NAME_LABEL, "get_by_name_label" }, { M_GET_ALL, "get_all" },
	{ M_GET_ALL_RECORDS, "get_all_records" },
};

static bool msg_raises(const msg_def *m, const char *code)
{
	for (size_t i = 0; i < m->errors.n; i++)
		if (strcmp(m->errors.v[i], code) == 0)
			return true;
	return false;
}

/* "Raised by:" the custom messages that list the error, then the implicit. */
static void md_raised_by(out *o, const error_def *e)
{
	size_t shown = 0;
	unsigned kinds = 0;

	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (!msg_raises(m, e->code))
			continue;
		if (m->kind != M_CUSTOM) {
			kinds |= 1u << m->kind;
			continue;
		}
		out_f(o, "%s [%s](#", shown++ ? "," : "Raised by:", m->wire);
		md_anchor(o, "message", m->wire);
		out_s(o, ")");
	}
	if (kinds) {
		size_t k = 0;

		out_s(o, shown ? "; and the implicit" : "Raised by the implicit");
		for (size_t i = 0; i < sizeof(implicit_names) /
		     sizeof(implicit_names[0]); i++)
			if (kinds & (1u << implicit_names[i].kind))
				out_f(o, "%s `%s`", k++ ? "," : "",
				      implicit_names[i].name);
		out_s(o, " messages");
		shown++;
	}
	out_s(o, shown ? ".\n\n" : "No message lists it.\n\n");
}

/* The C helpers, as a caller writes them. */
static void md_helpers(out *o, const error_def *e)
{
	out_f(o, "C: `%s_RAISE_%s(", api.uprefix, e->code);
	if (e->repeated)
		out_s(o, "n, v");
	for (size_t j = 0; !e->repeated && j < e->params.n; j++)
		out_f(o, "%s%s", j ? ", " : "",
		      ((error_param *)e->params.v[j])->cname);
	out_f(o, ")`, `%s_RERAISE_%s(old", api.uprefix, e->code);
	if (e->repeated)
		out_s(o, ", n, v");
	for (size_t j = 0; !e->repeated && j < e->params.n; j++)
		out_f(o, ", %s", ((error_param *)e->params.v[j])->cname);
	out_s(o, ")`.\n\n");
}

/*
 * Links to an error's entry: here, or in the reference of the file that
 * declares the errors (--errors).
 */
static void md_error_link(out *o, const char *code)
{
	const char *doc = doc_path(api.errors_base);

	out_f(o, " [%s](%s#", code, api.own_errors ? "" : doc + 4);
	md_anchor(o, "error", code);
	out_s(o, ")");
}

/* What every model's messages have in common, as far as this one goes. */
static void md_conventions(out *o)
{
	vec nosession = { 0 };
	bool async = false, implicit = false;

	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (!m->session)
			vec_push(&nosession, m->wire);
		async |= m->async;
		implicit |= m->kind != M_CUSTOM;
	}
	out_s(o, "## Conventions\n\n");
	if (nosession.n == api.messages.n) {
		out_s(o, "- No message takes a session.\n");
	} else if (nosession.n) {
		out_s(o, "- Every message but");
		for (size_t i = 0; i < nosession.n; i++)
			out_f(o, "%s `%s`", i ? "," : "",
			      (char *)nosession.v[i]);
		out_s(o, " takes a session reference\n  as its first parameter "
		      "(shown in signatures, not in parameter tables).\n");
	} else {
		out_s(o, "- Every message takes a session reference as its "
		      "first parameter\n  (shown in signatures, not in "
		      "parameter tables).\n");
	}
	if (async)
		out_s(o, "- Messages marked *async* can also be called as "
		      "`Async.<Class>.<message>`,\n  which returns a task "
		      "reference at once.\n");
	out_s(o, "- Parameters with a default may be left out from the end.\n"
	      "- Wire forms: `int` is a decimal string, `datetime` a "
	      "`dateTime.iso8601`\n  (`YYYYMMDDTHH:MM:SSZ`), `set` an array, "
	      "`map` a struct, `ref` an\n  `OpaqueRef:...` string, `enum` "
	      "one of its values as a string, `void` `\"\"`.\n");
	if (has_record_params())
		out_s(o, "- A `record C` is a struct with a member per field of "
		      "the class C, named\n  as the field and in its wire "
		      "form.\n");
	if (implicit)
		out_s(o, "- Implicit messages: `get_<field>` for every field, "
		      "`set_<field>` for RW\n  fields, `add_to_<field>` / "
		      "`remove_from_<field>` for RW maps, and\n  `get_record`, "
		      "`get_by_uuid`, `get_all`, `get_all_records`,\n  "
		      "`get_by_name_label` per class unless listed "
		      "otherwise.\n");
	out_s(o, "\n");
}

/* The errors: their entries, or where they are. */
static void md_errors(out *o)
{
	if (!api.own_errors) {
		out_f(o, "## Errors\n\nThe errors are those of idl/%s.xml, as "
		      "[%s](%s#errors) describes them;\nC code raises them "
		      "through the helpers in `api/xbt/%s.h`.\n",
		      api.errors_base, doc_path(api.errors_base) + 4,
		      doc_path(api.errors_base) + 4, api.errors_base);
		return;
	}
	out_f(o, "## Errors\n\nAn error is `{Status: \"Failure\", "
	      "ErrorDescription: [code, params...]}`,\nall strings. A "
	      "parameter written `name...` is repeated: it stands for zero\n"
	      "or more values. C code raises an error through its helpers "
	      "in\n`api/xbt/%s.h`, which take exactly the declared "
	      "parameters.\n\n", api.base);
	for (size_t i = 0; i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];

		out_s(o, "<a id=\"");
		md_anchor(o, "error", e->code);
		out_f(o, "\"></a>\n\n### %s\n\n`[", e->code);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "%s%s%s", j ? ", " : "", p->name,
			      p->repeated ? "..." : "");
		}
		out_f(o, "]`\n\n%s\n\n", e->doc);
		for (size_t j = 0; j < e->params.n; j++) {
			error_param *p = e->params.v[j];

			out_f(o, "- `%s`%s: %s\n", p->name,
			      p->repeated ? " (zero or more)" : "", p->doc);
		}
		if (e->params.n)
			out_s(o, "\n");
		md_raised_by(o, e);
		md_helpers(o, e);
	}
}

void emit_doc(out *o)
{
	out_f(o, "<!-- Generated by idl/gen from %s: do not edit. -->\n",
	      api.source);
	out_f(o, "# %s reference (xbt)\n\n", api.name);
	if (api.own_errors)
		out_f(o, "API version %s.%s, vendor `%s`. This is the subset of "
		      "xapi's data model that\nxbt implements, with xapi's "
		      "wire names. %zu classes, %zu messages, %zu enums,\n%zu "
		      "errors.\n\n", api.major, api.minor, api.vendor,
		      api.classes.n, api.messages.n, api.enums.n,
		      api.errors.n);
	else
		out_f(o, "API version %s.%s, vendor `%s`, served by `%s`. "
		      "%zu classes, %zu messages,\n%zu enums; its errors are "
		      "idl/%s.xml's, in [%s](%s#errors).\n\n", api.major,
		      api.minor, api.vendor, api.daemon, api.classes.n,
		      api.messages.n, api.enums.n, api.errors_base,
		      doc_path(api.errors_base) + 4,
		      doc_path(api.errors_base) + 4);
	md_conventions(o);

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
				if (f->setter)
					out_f(o, " | RO (`set_%s`) | ", f->name);
				else
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
			out_s(o, "<a id=\"");
			md_anchor(o, "message", m->wire);
			out_f(o, "\"></a>\n\n##### %s\n\n`%s %s`%s\n\n%s\n\n",
			      m->wire, m->wire, signature(m),
			      m->async ? " *async*" : "", m->doc);
			if (!m->session)
				out_s(o, "Takes no session.\n\n");
			if (m->pool_only)
				out_s(o, "Intra-pool: a pool session only "
				      "(session.slave_login).\n\n");
			if (m->emergency)
				out_s(o, "A pool slave serves it too.\n\n");
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
					if (k)
						out_s(o, ",");
					md_error_link(o, m->errors.v[k]);
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

	md_errors(o);
}
