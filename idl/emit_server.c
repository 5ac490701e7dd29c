/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the server backend. server/handlers.h (prototypes of the
 * hand-written handlers) and server/dispatch_table.c (xbtd_handlers[],
 * indexed like xbt_messages[]).
 */
#include "config.h"

#include "gen.h"

/* ---- server/handlers.h, server/dispatch_table.c ---------------------------------------- */

void emit_handlers_h(out *o)
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

void emit_dispatch(out *o)
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

