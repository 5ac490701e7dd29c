/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: the server backend. server/B/handlers.h (prototypes of the
 * hand-written handlers) and server/B/dispatch_table.c
 * (<daemon>_handlers[], indexed like P_messages[]). Handlers are named
 * <handler-prefix><class>_<message>: vm_start for xbtd, opsd_vm_start
 * for opsd.
 */
#include "config.h"

#include "gen.h"

/* ---- server/B/handlers.h, server/B/dispatch_table.c ------------------------------------ */

void emit_handlers_h(out *o)
{
	const char *d = api.daemon, *D = api.udaemon;

	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_note(o);
	out_f(o,
	      "/*\n"
	      " * The hand-written message handlers of %s, one per custom "
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
	      " * is a link error. Define %s_WEAK_HANDLERS when compiling "
	      "the table to\n"
	      " * declare them weak instead (partial builds, tests): a "
	      "handler that is not\n"
	      " * linked in is then NULL in %s_handlers[].\n"
	      " */\n"
	      "#ifndef %s_HANDLERS_H\n#define %s_HANDLERS_H\n\n"
	      "#include <stddef.h>\n\n"
	      "#include <xmlrpc-c/base.h>\n\n"
	      "#include \"xbt/backtrace.h\"\n"
	      "#include \"xbt/%s.h\"\n", d, D, d, D, D, api.base);
	/* the errors that the handlers raise, through their helpers */
	if (!api.own_errors)
		out_f(o, "#include \"xbt/%s.h\"\n", api.errors_base);
	out_f(o,
	      "\nstruct call;\n\n"
	      "typedef xbt_error *(*%s_handler)(struct call *, "
	      "xmlrpc_value *const *,\n"
	      "\t\t\t\t   xmlrpc_value **);\n\n"
	      "/* Indexed like %s_messages[]; NULL for implicit messages. */\n"
	      "extern const %s_handler %s_handlers[];\n"
	      "extern const size_t %s_nhandlers;\n\n"
	      "#ifdef %s_WEAK_HANDLERS\n"
	      "#define %s_HANDLER_ATTR __attribute__((weak))\n"
	      "#else\n"
	      "#define %s_HANDLER_ATTR\n"
	      "#endif\n", d, api.prefix, d, d, d, D, D, D);
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
		out_f(o, "xbt_error *%s%s_%s(struct call *call, xmlrpc_value "
		      "*const *args,\n\t\txmlrpc_value **result) "
		      "%s_HANDLER_ATTR;\n", api.handler_prefix, m->cls->lower,
		      m->name, D);
	}
	out_s(o, "\n#endif\n");
}

void emit_dispatch(out *o)
{
	const char *d = api.daemon;

	out_s(o, "/* SPDX-License-Identifier: BSD-2-Clause */\n");
	out_note(o);
	out_f(o, "#include \"config.h\"\n\n#include \"handlers.h\"\n\n"
	      "const %s_handler %s_handlers[%s_MSG__COUNT] = {\n", d, d,
	      api.uprefix);
	for (size_t i = 0; i < api.messages.n; i++) {
		msg_def *m = api.messages.v[i];

		if (m->kind == M_CUSTOM)
			out_f(o, "\t[%s] = %s%s_%s,\n", m->index,
			      api.handler_prefix, m->cls->lower, m->name);
	}
	out_f(o, "};\nconst size_t %s_nhandlers = %s_MSG__COUNT;\n", d,
	      api.uprefix);
}
