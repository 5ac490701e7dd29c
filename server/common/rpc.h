/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model-driven half of dispatch, shared by the daemons (xbtd serves the
 * XenAPI model, xbt-opsd the xenops one): a call's arguments checked and
 * decoded by the message's descriptor, its handler run, and the HTTP glue
 * that parses a request body and writes the response in its protocol.
 */
#ifndef XBT_RPC_H
#define XBT_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"
#include "xbt/model.h"
#include "http.h"

/* One checked argument, decoded by its IDL type. */
struct arg {
	xmlrpc_value *v;  /* normalised value (sets, maps, records: read it) */
	char *s;          /* STRING, REF, ENUM, DATETIME text; else NULL */
	bool b;           /* BOOL */
	int64_t i;        /* INT, DATETIME (seconds) */
	double d;         /* FLOAT */
};

struct rpc_park;

struct call {
	const xbt_message_desc *msg;
	struct rpc_park *park; /* a synchronous call's answer (rpc_http) */
	const char *session;   /* xbtd: the caller's session ref; "" otherwise */
	const char *task;      /* xbtd Async: the task running this call */
	struct arg *argv;      /* msg->nparams entries, defaults filled in */
	size_t argc;
};

/* The generated handlers' type (<daemon>_handler in handlers.h). */
typedef xbt_error *(*rpc_handler)(struct call *, xmlrpc_value *const *,
				  xmlrpc_value **);

/*
 * Checks the arity (the session not counted; `expected` counts only params
 * without defaults, as xapi reports it), then, for a message that takes a
 * session, session_check(the ref) (*session_out gets a copy: caller frees),
 * then every param's type; fills call->argv, defaults for omitted trailing
 * params. Errors: MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected,
 * received], XMLRPC_UNMARSHAL_FAILURE, or session_check's.
 * call->msg is set by the caller; release with rpc_release in any case.
 */
xbt_error *rpc_prepare(struct call *call, const char *method,
		       xmlrpc_value *params,
		       xbt_error *(*session_check)(const char *ref),
		       char **session_out);
void rpc_release(struct call *call);

/*
 * Runs a custom message's handler h (NULL: NOT_IMPLEMENTED [wire name]).
 * Success: *result, "" for a handler that left it NULL (void messages).
 */
xbt_error *rpc_run(struct call *call, rpc_handler h, xmlrpc_value **result);

/* system.listMethods of a model; with_async adds "Async." forms. */
xmlrpc_value *rpc_list_methods(const xbt_model *model, bool with_async);

/*
 * Runs one call: method name and params (an array, borrowed). Success:
 * *result (new reference). park goes to the handler (call->park).
 */
typedef xbt_error *(*rpc_call_fn)(const char *method, xmlrpc_value *params,
				  struct rpc_park *park,
				  xmlrpc_value **result);

/*
 * The HTTP glue: parses body in proto, runs fn, appends the response
 * (XenAPI's Status envelope; system.listMethods bare, as xapi answers it)
 * and returns false; or returns true when the handler parked the call
 * (rpc_park_take). A failure is logged here at info, once.
 */
bool rpc_http(rpc_call_fn fn, struct http_park *park, enum http_proto proto,
	      const char *body, size_t len, xbt_buf *out);

/*
 * How the call answers, for handlers that write big results themselves:
 * in JSON or XML, and the answer's own buffer, the success envelope's
 * head written, for the result's value text (as xbt_wire_xml_value or
 * xbt_wire_json_value would write it), which then replaces *result;
 * NULL when the caller takes only values (Async, in-process, parked).
 * An error returned after it drops what was written.
 */
bool rpc_answer_json(const struct call *call);
xbt_buf *rpc_raw_result(struct call *call);
/* Where a synchronous call came from: the HTTP client's address, "unix",
 * or "local" (no HTTP front). RPC_PEER_MAX bytes hold any. */
#define RPC_PEER_MAX 64
void rpc_peer(const struct call *call, char *buf, size_t len);

/*
 * The quick try (http_config.quick): rpc_http on an event thread, where
 * a handler must not block. fn sees rpc_must_not_block true and calls
 * rpc_later (then returns NULL) for a call that might: rpc_http_quick
 * then returns false, out untouched, and the call runs again on a call
 * thread.
 */
bool rpc_http_quick(rpc_call_fn fn, enum http_proto proto, const char *body,
		    size_t len, xbt_buf *out);
bool rpc_must_not_block(const struct call *call);
void rpc_later(struct call *call);

/*
 * Parking: a handler for which rpc_can_park is true may take the park,
 * return NULL with no result, and answer later, from any thread, with exactly one of
 * rpc_park_finish (result and err are taken) or rpc_park_drop (the
 * client is gone: the connection closes). Until then the call holds no
 * thread. rpc_park_gone and rpc_park_on_gone are the front's
 * http_park_gone and http_park_on_gone.
 */
bool rpc_can_park(const struct call *call);
struct rpc_park *rpc_park_take(struct call *call);
void rpc_park_finish(struct rpc_park *p, xmlrpc_value *result,
		     xbt_error *err);
void rpc_park_drop(struct rpc_park *p);
bool rpc_park_gone(const struct rpc_park *p);
/*
 * One result answering many parked calls: its value is written once per
 * protocol, each call gets its own envelope (and JSON-RPC id).
 */
struct rpc_shared {
	xmlrpc_value *result;
	struct http_answer *xml;  /* XML-RPC answers are all alike */
	xbt_buf json;             /* JSON-RPC ones differ by id */
	bool have_json;
};
void rpc_shared_init(struct rpc_shared *sh, xmlrpc_value *result);
void rpc_shared_release(struct rpc_shared *sh);
/* rpc_park_finish with sh's result (sh keeps its reference). */
void rpc_park_finish_shared(struct rpc_park *p, struct rpc_shared *sh);
void rpc_park_on_gone(struct rpc_park *p, void (*fn)(void *), void *arg);

#endif
