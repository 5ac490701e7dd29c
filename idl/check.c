/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the checks of what the schema cannot say. Defaults must parse
 * as their types; every generated C name must be free (names are made
 * with the model's prefix, so two models with different prefixes can
 * share a program); every error a message raises is declared, implicit
 * messages included; an Async message lists TASK_CANCELLED.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static bool ident_claim(const char *id)
{
	for (size_t i = 0; i < api.idents.n; i++)
		if (strcmp(api.idents.v[i], id) == 0)
			return false;
	vec_push(&api.idents, xstrdup(id));
	return true;
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

void check_default(const type *t, const char *def, const char *what,
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
	case K_SET:
	case K_MAP: {
		/* "a,b" for a set, "k=v,k=v" for a map (doc/design.md). */
		char *copy = xstrdup(def), *save = NULL;

		for (char *w = strtok_r(copy, ",", &save); w;
		     w = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(w, '=');

			if (t->kind == K_SET) {
				check_default(t->elem, w, what, line);
				continue;
			}
			if (!eq || t->elem->kind == K_SET ||
			    t->elem->kind == K_MAP) {
				fail(line, "%s: default \"%s\" is not k=v,k=v",
				     what, def);
				return;
			}
			*eq = '\0';
			check_default(t->key, w, what, line);
			check_default(t->elem, eq + 1, what, line);
		}
		return;
	}
	default:
		fail(line, "%s: a %s cannot have a default", what, t->text);
	}
}

/* ---- whole-model checks ----------------------------------------------------------- */

/*
 * Names of file scope that are the model's and not per declaration, "%s"
 * the prefix (P), "%S" its uppercase (PU), "%D" the daemon's uppercase,
 * "%d" the daemon. Tags (struct, enum) share a name space of their own:
 * "tag ".
 */
static const char *const model_reserved[] = {
	"%S_MSG__COUNT", "%S_API_VERSION_MAJOR", "%S_API_VERSION_MINOR",
	"%s_classes", "%s_nclasses", "%s_messages", "%s_nmessages",
	"%s_messages_by_name", "%s_api", "tag %s_msg_index",
	"%d_handler", "%d_handlers", "%d_nhandlers", "%D_HANDLER_ATTR",
	"%D_WEAK_HANDLERS", "%D_HANDLERS_H", NULL
};

static const char *const errors_reserved[] = {
	"%s_err_param", "%s_errors", "%s_nerrors", NULL
};

/* A pattern of model_reserved with the model's names put in. */
static char *expand(const char *pat)
{
	out o = { 0 };
	char *r;

	for (const char *p = pat; *p; p++) {
		if (*p != '%' || !p[1]) {
			out_add(&o, p, 1);
			continue;
		}
		switch (*++p) {
		case 's': out_s(&o, api.prefix); break;
		case 'S': out_s(&o, api.uprefix); break;
		case 'd': out_s(&o, api.daemon); break;
		default: out_s(&o, api.udaemon); break;
		}
	}
	r = xstrdup(o.buf);
	free(o.buf);
	return r;
}

static void check_idents(void)
{
	/* libxbt's own: only a model with the prefix xbt can clash with them */
	static const char *const msg_reserved[] = {
		"XBT_MSG_CUSTOM", "XBT_MSG_GET_FIELD", "XBT_MSG_SET_FIELD",
		"XBT_MSG_ADD_TO_MAP", "XBT_MSG_REMOVE_FROM_MAP",
		"XBT_MSG_GET_RECORD", "XBT_MSG_GET_BY_UUID",
		"XBT_MSG_GET_BY_NAME_LABEL", "XBT_MSG_GET_ALL",
		"XBT_MSG_GET_ALL_RECORDS", "xbt_enum_desc", "xbt_enum_index",
		"xbt_class_desc", "xbt_class_find", "xbt_class_find_in",
		"tag xbt_backtrace", "tag xbt_buf", "tag xbt_class_desc",
		"tag xbt_client", "tag xbt_enum_desc", "tag xbt_error",
		"tag xbt_error_desc", "tag xbt_field_desc", "tag xbt_frame",
		"tag xbt_kind", "tag xbt_map", "tag xbt_message_desc",
		"tag xbt_model", "tag xbt_msg_kind", "tag xbt_param_desc",
		"tag xbt_strpool", "tag xbt_strv", "tag xbt_type", NULL
	};
	const char *P = api.prefix, *PU = api.uprefix;

	for (size_t i = 0; msg_reserved[i]; i++)
		ident_claim(msg_reserved[i]);
	for (size_t i = 0; model_reserved[i]; i++)
		ident_claim(expand(model_reserved[i]));
	for (size_t i = 0; api.own_errors && errors_reserved[i]; i++)
		ident_claim(expand(errors_reserved[i]));
	for (size_t i = 0; i < api.enums.n; i++) {
		enum_def *e = api.enums.v[i];
		char *up = str_cident_upper(e->name);

		if (!ident_claim(str_printf("%s_enum_%s", P, e->name)) ||
		    !ident_claim(str_printf("tag %s_%s", P, e->name)))
			fail(e->line, "enum %s: C name clash", e->name);
		/* the names after the indexes: a clash blames the name */
		for (size_t k = 0; k < 2; k++) {
			for (size_t j = 0; j < e->values.n; j++) {
				enum_value *v = e->values.v[j];
				char *id = str_printf("%s_%s_%s%s", PU, up,
						      str_cident_upper(v->name),
						      k ? "_NAME" : "");

				if (!ident_claim(id))
					fail(e->line, "enum %s value %s: C "
					     "constant %s is already taken",
					     e->name, v->name, id);
			}
		}
	}
	for (size_t i = 0; api.own_errors && i < api.errors.n; i++) {
		error_def *e = api.errors.v[i];
		static const char *const kinds[] = {
			"ERR", "RAISE", "RERAISE", NULL
		};

		for (size_t j = 0; kinds[j]; j++) {
			char *id = str_printf("%s_%s_%s", PU, kinds[j], e->code);

			if (!ident_claim(id))
				fail(e->line, "error %s: C name %s is already "
				     "taken", e->code, id);
		}
	}
	for (size_t i = 0; i < api.classes.n; i++) {
		class_def *c = api.classes.v[i];

		if (!ident_claim(str_printf("%s_class_%s", P, c->lower)) ||
		    (c->fields.n && (!ident_claim(str_printf("%s_%s_record", P,
							     c->lower)) ||
				     !ident_claim(str_printf("tag %s_%s_record",
							     P, c->lower)))))
			fail(c->line, "class %s: C name clash", c->name);
		for (size_t j = 0; j < c->fields.n; j++) {
			field_def *f = c->fields.v[j];
			char *id = str_printf("%s_FIELD_%s_%s", PU, c->upper,
					      str_cident_upper(f->name));

			if (!ident_claim(id))
				fail(f->line, "field %s.%s: C constant %s is "
				     "already taken", c->name, f->name, id);
		}
		for (size_t j = 0; j < c->messages.n; j++) {
			msg_def *m = c->messages.v[j];
			char *stub = str_printf("%s_%s_%s", P, c->lower,
						m->name);

			m->wire = str_printf("%s.%s", c->name, m->name);
			m->index = str_printf("%s_MSG_%s_%s", PU, c->upper,
					      str_cident_upper(m->name));
			if (!ident_claim(m->index) || !ident_claim(stub) ||
			    (m->async && !ident_claim(str_printf(
				    "%s_async_%s_%s", P, c->lower, m->name))) ||
			    (m->kind == M_CUSTOM && !ident_claim(str_printf(
				    "%s%s_%s", api.handler_prefix, c->lower,
				    m->name))))
				fail(m->line, "message %s: a generated C name "
				     "is already taken", m->wire);
			vec_push(&api.messages, m);
		}
	}
}

/* Whether a vec of strings holds s. */
static bool vec_has(const vec *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], s) == 0)
			return true;
	return false;
}

/*
 * The generator itself lists the errors of implicit messages (read.c):
 * they must be declared like any other (a custom message's undeclared
 * error is reported at its <raises> by the reader). Each missing code is
 * reported once, at the first message that raises it.
 */
static void check_implicit_raises(void)
{
	vec reported = { 0 };

	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (m->kind == M_CUSTOM)
			continue;
		for (size_t j = 0; j < m->errors.n; j++) {
			char *code = m->errors.v[j];

			if (find_error(code) || vec_has(&reported, code))
				continue;
			fail(m->line, "implicit message %s raises undeclared "
			     "error %s", m->wire, code);
			vec_push(&reported, code);
		}
	}
}

/*
 * The dispatch checks for cancellation before it runs an Async call, so
 * any Async message may end in TASK_CANCELLED: its list must say so.
 */
static void check_async_raises(void)
{
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (m->async && !vec_has(&m->errors, "TASK_CANCELLED"))
			fail(m->line, "%s is async: it must list TASK_CANCELLED "
			     "(a task may be cancelled before it runs)",
			     m->wire);
	}
}

void check_model(void)
{
	check_idents();
	check_implicit_raises();
	check_async_raises();
}
