/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model-driven half of dispatch (rpc.h): argument checks by the
 * message's descriptor, handler runs, and the HTTP glue, for any model.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rpc.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

#define RPC_ASYNC_PREFIX "Async."
#define RPC_LIST_METHODS "system.listMethods"

/* Decodes a checked value into the C view handlers read. */
static void rpc_arg_decode(const xbt_type *t, xmlrpc_value *v, struct arg *a)
{
	xmlrpc_env env;
	xmlrpc_bool b = 0;
	xmlrpc_int64 i = 0;
	time_t secs = 0;

	xmlrpc_env_init(&env);
	a->v = v;
	switch (t->kind) {
	case XBT_T_STRING: case XBT_T_REF: case XBT_T_ENUM:
		a->s = xbt_value_text(v, NULL);
		break;
	case XBT_T_BOOL:
		xmlrpc_read_bool(&env, v, &b);
		a->b = b;
		break;
	case XBT_T_INT:
		xmlrpc_read_i8(&env, v, &i);
		a->i = i;
		break;
	case XBT_T_FLOAT:
		xmlrpc_read_double(&env, v, &a->d);
		break;
	case XBT_T_DATETIME:
		xmlrpc_read_datetime_sec(&env, v, &secs);
		a->i = (int64_t)secs;
		break;
	default:
		break;
	}
	if (env.fault_occurred)
		xbt_fatalx("rpc_arg_decode: checked value unreadable: %s",
			   env.fault_string);
	xmlrpc_env_clean(&env);
}

void rpc_release(struct call *call)
{
	for (size_t i = 0; i < call->argc; i++) {
		free(call->argv[i].s);
		if (call->argv[i].v)
			xmlrpc_DECREF(call->argv[i].v);
	}
	free(call->argv);
	call->argv = NULL;
	call->argc = 0;
}

xbt_error *rpc_prepare(struct call *call, const char *method,
		       xmlrpc_value *params,
		       xbt_error *(*session_check)(const char *ref),
		       char **session_out)
{
	const xbt_message_desc *m = call->msg;
	xmlrpc_env env;
	xbt_error *err = NULL;
	int n;
	size_t first = m->session ? 1 : 0;
	size_t received;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, params);
	received = (size_t)n > first ? (size_t)n - first : 0;
	if ((size_t)n < first || received < m->nrequired ||
	    received > m->nparams) {
		char exp[24], got[24];
		snprintf(exp, sizeof(exp), "%zu", m->nrequired);
		snprintf(got, sizeof(got), "%zu", received);
		err = XBT_RAISE_MESSAGE_PARAMETER_COUNT_MISMATCH(method, exp, got);
		goto out;
	}
	if (m->session) {
		xmlrpc_value *sv = xbt_value_item(params, 0);
		char *s = xbt_value_text(sv, NULL);

		if (!s) {
			err = XBT_RAISE_XMLRPC_UNMARSHAL_FAILURE("session ref",
								  "not a string");
		} else {
			*session_out = s;
			if (session_check)
				err = XBT_PROPAGATE(session_check(s));
		}
		xmlrpc_DECREF(sv);
		if (err)
			goto out;
	}
	call->argv = xbt_calloc(m->nparams ? m->nparams : 1, sizeof(struct arg));
	call->argc = m->nparams;
	for (size_t i = 0; i < m->nparams; i++) {
		const xbt_param_desc *p = &m->params[i];
		xmlrpc_value *in = NULL, *norm = NULL;
		if (i < received) {
			xmlrpc_array_read_item(&env, params, (int)(first + i), &in);
			err = XBT_PROPAGATE(xbt_value_check(p->type, in, &norm));
			xmlrpc_DECREF(in);
			if (err)
				goto out;
		} else {
			norm = xbt_param_default(p);
		}
		rpc_arg_decode(p->type, norm, &call->argv[i]);
	}
out:
	xmlrpc_env_clean(&env);
	return err;
}

xbt_error *rpc_run(struct call *call, rpc_handler h, xmlrpc_value **result)
{
	xbt_error *err = NULL;
	xmlrpc_value **args = xbt_calloc(call->argc + 1, sizeof(*args));

	*result = NULL;
	for (size_t i = 0; i < call->argc; i++)
		args[i] = call->argv[i].v;
	/* tests/check_model asserts every custom message has a handler. */
	if (h)
		err = XBT_PROPAGATE(h(call, args, result));
	else
		err = XBT_RAISE_NOT_IMPLEMENTED(call->msg->wire_name);
	free(args);
	if (!err && !*result)
		*result = xbt_value_string("");
	if (err && *result) {
		xmlrpc_DECREF(*result);
		*result = NULL;
	}
	return err;
}

xmlrpc_value *rpc_list_methods(const xbt_model *model, bool with_async)
{
	xmlrpc_value *out = xbt_value_array();
	char name[160];

	xbt_value_push(out, xbt_value_string(RPC_LIST_METHODS));
	for (size_t i = 0; i < model->nmessages; i++) {
		const xbt_message_desc *m = &model->messages[i];
		xbt_value_push(out, xbt_value_string(m->wire_name));
		if (with_async && m->async) {
			snprintf(name, sizeof(name), RPC_ASYNC_PREFIX "%s",
				 m->wire_name);
			xbt_value_push(out, xbt_value_string(name));
		}
	}
	return out;
}

/* How a request asked to be answered. */
struct rpc_park {
	struct http_park *hp;  /* NULL: the front cannot park this call */
	bool json, v2;
	bool taken;          /* the stack copy: a handler took the call */
	bool has_raw;        /* the handler writes the result's text to out */
	bool quick;          /* on an event thread: must not block */
	bool later;          /* ... and it would: run it on a call thread */
	xbt_buf *out;        /* the answer; NULL: only values (a heap copy) */
	size_t out_mark;     /* out's length before the success envelope */
	const char *method;  /* owned by the heap copy */
	const char *id;      /* owned by the heap copy; NULL: none */
};

/* The answer to a call in its protocol; a failure is logged once. */
static void rpc_reply(const struct rpc_park *how, xmlrpc_value *result,
		      const xbt_error *err, xbt_buf *out)
{
	if (err) {
		/* The dispatch boundary: a synchronous failure is logged once. */
		char what[200];
		snprintf(what, sizeof(what), "call %.150s failed",
			 how->method ? how->method : "(unparsed)");
		log_backtrace(LOG_LEVEL_INFO, what, err);
		if (how->json)
			xbt_wire_jsonrpc_failure(out, how->v2,
						 how->id ? how->id : "null", err);
		else
			xbt_wire_xml_failure(out, err);
	} else if (how->json) {
		xbt_wire_jsonrpc_success(out, how->v2, how->id, result);
	} else if (strcmp(how->method, RPC_LIST_METHODS) == 0) {
		/* xapi answers this one without the Status envelope. */
		xbt_buf_addstr(out, "<?xml version=\"1.0\"?><methodResponse>"
				    "<params><param>");
		xbt_wire_xml_value(out, result);
		xbt_buf_addstr(out, "</param></params></methodResponse>");
	} else {
		xbt_wire_xml_success(out, result);
	}
}

/* rpc_http and rpc_http_quick: false when the call goes to a call thread
 * (quick) or was parked. */
static bool rpc_http_run(rpc_call_fn fn, struct http_park *park, bool quick,
			 enum http_proto proto, const char *body, size_t len,
			 xbt_buf *out)
{
	struct rpc_park how = { .hp = park, .json = proto == HTTP_JSONRPC,
				.quick = quick, .out = out };
	char *method = NULL, *id = NULL;
	xmlrpc_value *params = NULL, *result = NULL;
	xbt_error *err;

	if (how.json)
		err = XBT_PROPAGATE(xbt_wire_parse_jsonrpc(body, len, &method,
							   &params, &id,
							   &how.v2));
	else
		err = XBT_PROPAGATE(xbt_wire_parse_call(body, len, &method,
							&params));
	how.method = method;
	how.id = id;
	if (!err)
		err = XBT_PROPAGATE(fn(method, params, &how, &result));
	/* Text written for an answer that is not this one goes. */
	if (how.has_raw && (err || how.taken || how.later))
		xbt_buf_truncate(out, how.out_mark);
	if (how.taken || how.later)
		;  /* answered later, or elsewhere */
	else if (!err && how.has_raw && how.json)
		xbt_wire_jsonrpc_success_tail(out, how.v2, how.id);
	else if (!err && how.has_raw)
		xbt_wire_xml_success_tail(out);
	else
		rpc_reply(&how, result, err, out);
	xbt_error_free(err);
	if (result)
		xmlrpc_DECREF(result);
	if (params)
		xmlrpc_DECREF(params);
	free(method);
	free(id);
	return !(how.taken || how.later);
}

bool rpc_http(rpc_call_fn fn, struct http_park *park, enum http_proto proto,
	      const char *body, size_t len, xbt_buf *out)
{
	return !rpc_http_run(fn, park, false, proto, body, len, out);
}

bool rpc_http_quick(rpc_call_fn fn, enum http_proto proto, const char *body,
		    size_t len, xbt_buf *out)
{
	return rpc_http_run(fn, NULL, true, proto, body, len, out);
}

bool rpc_must_not_block(const struct call *call)
{
	return call->park && call->park->quick;
}

void rpc_later(struct call *call)
{
	call->park->later = true;
}

bool rpc_answer_json(const struct call *call)
{
	return call->park && call->park->json;
}

xbt_buf *rpc_raw_result(struct call *call)
{
	struct rpc_park *how = call->park;

	if (!how || !how->out)
		return NULL;
	if (!how->has_raw) {
		how->has_raw = true;
		how->out_mark = how->out->len;
		if (how->json)
			xbt_wire_jsonrpc_success_head(how->out, how->v2);
		else
			xbt_wire_xml_success_head(how->out);
	}
	return how->out;
}

void rpc_peer(const struct call *call, char *buf, size_t len)
{
	if (call->park && call->park->hp)
		http_park_peer(call->park->hp, buf, len);
	else
		snprintf(buf, len, "local");  /* in-process, or a task */
}

bool rpc_can_park(const struct call *call)
{
	return call->park && call->park->hp;
}

struct rpc_park *rpc_park_take(struct call *call)
{
	struct rpc_park *p = xbt_calloc(1, sizeof(*p));

	*p = *call->park;
	p->out = NULL;  /* the front's buffer of the call it came from */
	p->has_raw = false;
	p->method = xbt_strdup(call->park->method);
	p->id = call->park->id ? xbt_strdup(call->park->id) : NULL;
	call->park->taken = true;
	call->park = NULL;
	return p;
}

static void rpc_park_free(struct rpc_park *p)
{
	free((char *)p->method);
	free((char *)p->id);
	free(p);
}

void rpc_park_finish(struct rpc_park *p, xmlrpc_value *result,
		     xbt_error *err)
{
	xbt_buf out = XBT_BUF_INIT;

	rpc_reply(p, result, err, &out);
	http_park_answer(p->hp, &out);
	xbt_buf_release(&out);
	xbt_error_free(err);
	if (result)
		xmlrpc_DECREF(result);
	rpc_park_free(p);
}

void rpc_shared_init(struct rpc_shared *sh, xmlrpc_value *result)
{
	memset(sh, 0, sizeof(*sh));
	sh->result = result;
	xbt_buf_init(&sh->json);
}

void rpc_shared_release(struct rpc_shared *sh)
{
	if (sh->result)
		xmlrpc_DECREF(sh->result);
	http_answer_put(sh->xml);
	xbt_buf_release(&sh->json);
	sh->result = NULL;
}

void rpc_park_finish_shared(struct rpc_park *p, struct rpc_shared *sh)
{
	xbt_buf out = XBT_BUF_INIT;

	if (p->json) {
		if (!sh->have_json) {
			xbt_wire_json_value(&sh->json, sh->result);
			sh->have_json = true;
		}
		xbt_buf_grow(&out, sh->json.len + 128);
		xbt_wire_jsonrpc_success_text(&out, p->v2, p->id, sh->json.buf,
					      sh->json.len);
		http_park_answer(p->hp, &out);
	} else {
		if (!sh->xml) {
			xbt_wire_xml_success(&out, sh->result);
			sh->xml = http_answer_new(HTTP_XMLRPC, &out);
		}
		http_park_answer_shared(p->hp, sh->xml);
	}
	xbt_buf_release(&out);
	rpc_park_free(p);
}

void rpc_park_drop(struct rpc_park *p)
{
	http_park_answer(p->hp, NULL);
	rpc_park_free(p);
}

bool rpc_park_gone(const struct rpc_park *p)
{
	return http_park_gone(p->hp);
}

void rpc_park_on_gone(struct rpc_park *p, void (*fn)(void *), void *arg)
{
	http_park_on_gone(p->hp, fn, arg);
}
