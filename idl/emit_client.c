/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the client backend. api/B_client.c, one stub per message (and
 * per Async form) over xbt_client_call.
 */
#include "config.h"

#include "gen.h"

/*
 * A record, or a set of them, has no C storage of its own in a stub's
 * arguments (a record struct holds no nested records): the caller passes
 * the value it built.
 */
static bool is_value_arg(const type *t)
{
	return t->kind == K_RECORD ||
	       (t->kind == K_SET && t->elem->kind == K_RECORD);
}

/* The C type of stub arguments. */
static const char *type_c_arg(const type *t)
{
	if (is_value_arg(t))
		return "xmlrpc_value *";
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

/* The api/value.c builder of an argument. */
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

void stub_proto(out *o, const msg_def *m, bool async)
{
	out_f(o, "xbt_error *%s_%s%s_%s(xbt_client *c", api.prefix,
	      async ? "async_" : "", m->cls->lower, m->name);
	if (m->session)
		out_s(o, ", const char *session");
	for (size_t i = 0; i < m->params.n; i++) {
		param_def *p = m->params.v[i];

		out_f(o, ", %s%s", type_c_arg(p->type), p->cname);
	}
	out_s(o, ", xmlrpc_value **result)");
}

/* ---- api/B_client.c ----------------------------------------------------------------- */

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

		if (is_value_arg(p->type)) {
			/* borrowed: call() drops the reference it is given */
			out_f(o, "\tif (%s)\n\t\txmlrpc_INCREF(%s);\n"
			      "\txbt_argv[%zu] = %s ? %s : %s();\n", p->cname,
			      p->cname, k++, p->cname, p->cname,
			      p->type->kind == K_SET ? "xbt_value_array" :
			      "xbt_value_struct");
			continue;
		}
		out_f(o, "\txbt_argv[%zu] = %s(%s);\n", k++,
		      type_value_fn(p->type), p->cname);
	}
	out_f(o, "\treturn call(c, \"%s%s\", xbt_argv, %zu, result);\n}\n",
	      async ? "Async." : "", m->wire, n);
}

void emit_client(out *o)
{
	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_note(o);
	out_f(o,
	      "#include \"config.h\"\n\n"
	      "#include <stdlib.h>\n\n"
	      "#include \"xbt/client.h\"\n"
	      "#include \"xbt/%s.h\"\n\n", api.base);
	out_s(o,
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

