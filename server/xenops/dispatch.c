/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opsd's dispatch: method name -> the xenops model's descriptor -> the
 * shared argument checks (rpc.c) -> a handler. Every xenops message is a
 * custom one; there are no sessions (the socket's mode guards it).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "opsd.h"
#include "xbt/xenapi.h"

xbt_error *opsd_dispatch_call(const char *method, xmlrpc_value *params,
			      struct rpc_park *park, xmlrpc_value **result)
{
	struct call call = { .session = "", .park = park };
	char *session = NULL;
	xbt_error *err = NULL;

	*result = NULL;
	if (strcmp(method, "system.listMethods") == 0) {
		*result = rpc_list_methods(&xops_api, false);
		goto out;
	}
	call.msg = xbt_message_find_in(&xops_api, method);
	if (!call.msg) {
		err = XBT_RAISE_MESSAGE_METHOD_UNKNOWN(method);
		goto out;
	}
	err = XBT_PROPAGATE(rpc_prepare(&call, method, params, NULL, &session));
	if (!err) {
		/* Every message's first param is dbg: the call's log lines
		 * carry it (doc/opsd.md); opsd_dispatch_http clears it. */
		log_set_thread_name(call.argc && call.argv[0].s ?
				    call.argv[0].s : "");
		err = XBT_PROPAGATE(rpc_run(&call,
				opsd_handlers[call.msg - xops_messages], result));
	}
out:
	rpc_release(&call);
	free(session);
	return err;
}

bool opsd_dispatch_http(void *ctx, struct http_park *park,
			enum http_proto proto, const char *body, size_t len,
			xbt_buf *out)
{
	bool parked;

	(void)ctx;
	parked = rpc_http(opsd_dispatch_call, park, proto, body, len, out);
	log_set_thread_name("");
	return parked;
}
