/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMAPIv1: the pure decoder of what a plugin did (exit, stdout, stderr)
 * into a value or a XenAPI error (doc/design.md, "SMAPIv1").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sm_priv.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

static const char sm_unexpected[] = "Unexpected response from SM plugin";
static const char sm_wbt[] = XBT_ERR_SR_BACKEND_FAILURE_WITH_BACKTRACE;

/* ---- the decoder ---------------------------------------------------------- */

struct sm_ctx {
	const struct sm_config *cfg;
	const char *type;
	const char *command;
	xmlrpc_value *call;
	const struct sm_output *out;
	const struct sm_output *err;
};

/* Plugin text for an error param: cut to the cap, noted, made safe. */
static char *sm_param_text(const struct sm_ctx *c, const char *s, size_t len,
			   size_t total)
{
	xbt_buf b = XBT_BUF_INIT;
	size_t cap = sm_param_cap(c->cfg);
	size_t shown = len < cap ? len : cap;

	xbt_buf_add_safe(&b, s, shown);
	if (total > shown)
		xbt_buf_addf(&b, "[... %zu more bytes]", total - shown);
	return xbt_buf_detach(&b, NULL);
}

static char *sm_stream_text(const struct sm_ctx *c, const struct sm_output *o)
{
	if (!o || !o->data)
		return xbt_strdup("");
	return sm_param_text(c, o->data, o->len,
			     o->total > o->len ? o->total : o->len);
}

/*
 * SR_BACKEND_FAILURE [what, stdout, stderr], raised at the caller's place,
 * or re-raised from cause (which it takes) keeping cause's frames.
 */
static xbt_error *sm_backend_failure(const char *file, int line,
				     const char *func, const struct sm_ctx *c,
				     xbt_error *cause, const char *what)
{
	char *p[3];
	xbt_error *e;

	p[0] = xbt_text_safe_dup(what, strlen(what));
	p[1] = sm_stream_text(c, c->out);
	p[2] = sm_stream_text(c, c->err);
	if (cause)
		e = xbt_error_reraisev(cause, file, line, func,
				       XBT_ERR_SR_BACKEND_FAILURE, 3,
				       (const char *const *)p);
	else
		e = xbt_error_raisev(file, line, func, XBT_ERR_SR_BACKEND_FAILURE, 3,
				     (const char *const *)p);
	for (int i = 0; i < 3; i++)
		free(p[i]);
	return e;
}

#define SM_FAIL(c, what) sm_backend_failure(XBT_HERE, (c), NULL, (what))
#define SM_REFAIL(c, cause, what) \
	sm_backend_failure(XBT_HERE, (c), (cause), (what))

/* A string member of the call struct ("" when absent or not a string). */
static char *sm_call_field(xmlrpc_value *call, const char *key)
{
	xmlrpc_value *v = xbt_value_get(call, key);
	size_t len = 0;
	char *s = xbt_value_text(v, &len);
	char *result = s ? xbt_text_safe_dup(s, len) : xbt_strdup("");

	free(s);
	if (v)
		xmlrpc_DECREF(v);
	return result;
}

static xbt_error *sm_decode_fault(const struct sm_ctx *c, int code,
				  const char *fault)
{
	xbt_error *err = NULL;
	char *sr = NULL, *vdi = NULL, *reason = NULL, *stderr_text = NULL;
	char name[64];

	switch (code) {
	case 38:
		err = XBT_RAISE_UNIMPLEMENTED_IN_SM_BACKEND(c->command);
		break;
	case 39:
		err = XBT_RAISE_SR_NOT_EMPTY();
		break;
	case 24:
		err = XBT_RAISE_VDI_IN_USE(0, NULL);
		break;
	case 16:
		err = XBT_RAISE_SR_DEVICE_IN_USE();
		break;
	case 144:
		sr = sm_call_field(c->call, "sr_ref");
		vdi = sm_call_field(c->call, "vdi_ref");
		err = XBT_RAISE_VDI_MISSING(sr, vdi);
		break;
	default: {
		const char *p[3] = { "" };

		/* SR_BACKEND_FAILURE_<N>: its code is built here. */
		snprintf(name, sizeof(name), "SR_BACKEND_FAILURE_%d", code);
		p[1] = reason = sm_param_text(c, fault, strlen(fault),
					      strlen(fault));
		p[2] = stderr_text = sm_stream_text(c, c->err);
		err = XBT_RELAY(name, 3, p);
		break;
	}
	}
	free(sr);
	free(vdi);
	free(reason);
	free(stderr_text);
	return err;
}

/* ErrorDescription as strings; false when it is not a non-empty list of them. */
struct sm_strs {
	char **s;
	size_t *len;
	size_t n;
};

static void sm_strs_free(struct sm_strs *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->s[i]);
	free(v->s);
	free(v->len);
	v->s = NULL;
	v->len = NULL;
	v->n = 0;
}

static bool sm_read_strs(xmlrpc_value *arr, struct sm_strs *v)
{
	bool ok = false;
	size_t n = 0;

	if (!arr || xmlrpc_value_type(arr) != XMLRPC_TYPE_ARRAY ||
	    (n = xbt_value_size(arr)) < 1)
		goto out;
	v->s = xbt_calloc(n, sizeof(*v->s));
	v->len = xbt_calloc(n, sizeof(*v->len));
	for (size_t i = 0; i < n; i++) {
		xmlrpc_value *item = xbt_value_item(arr, i);
		char *s = xbt_value_text(item, &v->len[i]);

		xmlrpc_DECREF(item);
		if (!s)
			goto out;
		v->s[i] = s;
		v->n = i + 1;
	}
	ok = true;
out:
	if (!ok)
		sm_strs_free(v);
	return ok;
}

static void sm_process_name(const struct sm_ctx *c, char *buf, size_t size)
{
	char host[256] = "";

	if (c->cfg && c->cfg->hostname)
		snprintf(host, sizeof(host), "%s", c->cfg->hostname);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	snprintf(buf, size, "%s @ %s", c->type, host);
}

/* SR_BACKEND_FAILURE_WITH_BACKTRACE [json, code, reason]. */
static xbt_error *sm_decode_wbt(const struct sm_ctx *c, struct sm_strs *d)
{
	xbt_error *err = NULL, *bad;
	xbt_backtrace remote = XBT_BACKTRACE_INIT;
	char *etext = NULL, *reason = NULL, *stderr_text = NULL, *what;
	char process[SM_MAX_TYPE + 300], code[SM_MAX_TYPE + 32];
	size_t dropped = 0;
	xbt_buf msg = XBT_BUF_INIT;

	if (d->n != 4) {
		xbt_buf_addf(&msg, "%s needs 3 parameters, got %zu", sm_wbt,
			     d->n - 1);
		err = SM_FAIL(c, msg.buf);
		goto out;
	}
	sm_process_name(c, process, sizeof(process));
	bad = xbt_backtrace_from_pyjson(d->s[1], d->len[1], process, &remote,
					&etext, &dropped);
	if (bad) {
		char *s = xbt_error_summary(bad);
		log_warn("SM %s %s: plugin backtrace left out: %s", c->type,
			 c->command, s);
		free(s);
		xbt_error_free(bad);
	} else if (dropped) {
		log_warn("SM %s %s: plugin backtrace: %zu unpaired entries "
			 "left out", c->type, c->command, dropped);
	}
	if (!sm_name_ok(d->s[2], d->len[2], false)) {
		what = xbt_text_safe_dup(d->s[2], d->len[2] > 100 ? 100
								  : d->len[2]);
		xbt_buf_addf(&msg, "bad error code in %s: %s", sm_wbt, what);
		free(what);
		err = SM_FAIL(c, msg.buf);
	} else {
		snprintf(code, sizeof(code), "SR_BACKEND_FAILURE_%.*s",
			 (int)d->len[2], d->s[2]);
		if (d->len[3] == 0 && etext)
			reason = sm_param_text(c, etext, strlen(etext),
					       strlen(etext));
		else
			reason = sm_param_text(c, d->s[3], d->len[3],
					       d->len[3]);
		stderr_text = sm_stream_text(c, c->err);
		err = XBT_RELAY(code, 3, ((const char *const[]){ "", reason,
								 stderr_text }));
	}
	xbt_backtrace_glue_remote(&err->bt, &remote);
out:
	xbt_backtrace_release(&remote);
	xbt_buf_release(&msg);
	free(etext);
	free(reason);
	free(stderr_text);
	return err;
}

/* {Status: Failure, ErrorDescription: [code, p...]}: raised as given. */
static xbt_error *sm_decode_failure(const struct sm_ctx *c,
				    xmlrpc_value *desc)
{
	struct sm_strs d = { 0 };
	xbt_error *err = NULL;
	char **p = NULL;
	char *code = NULL;
	xbt_buf msg = XBT_BUF_INIT;

	if (!sm_read_strs(desc, &d)) {
		err = XBT_RAISE_INTERNAL_ERROR(sm_unexpected);
		goto out;
	}
	if (d.len[0] == strlen(sm_wbt) && memcmp(d.s[0], sm_wbt, d.len[0]) == 0) {
		err = XBT_PROPAGATE(sm_decode_wbt(c, &d));
		goto out;
	}
	if (!sm_name_ok(d.s[0], d.len[0], false)) {
		code = xbt_text_safe_dup(d.s[0], d.len[0] > 100 ? 100
								: d.len[0]);
		xbt_buf_addf(&msg, "bad error code from plugin: %s", code);
		err = SM_FAIL(c, msg.buf);
		goto out;
	}
	code = xbt_strndup(d.s[0], d.len[0]);
	p = xbt_calloc(d.n, sizeof(*p));
	for (size_t i = 1; i < d.n; i++)
		p[i - 1] = sm_param_text(c, d.s[i], d.len[i], d.len[i]);
	err = XBT_RELAY(code, d.n - 1, (const char *const *)p);
out:
	if (p)
		for (size_t i = 0; i + 1 < d.n; i++)
			free(p[i]);
	free(p);
	free(code);
	xbt_buf_release(&msg);
	sm_strs_free(&d);
	return err;
}

/* vdi_attach must give a struct with a string params_nbd. */
static bool sm_result_ok(const struct sm_ctx *c, xmlrpc_value *v)
{
	xmlrpc_value *nbd;
	bool ok;

	if (strcmp(c->command, "vdi_attach") != 0)
		return true;
	nbd = xbt_value_get(v, "params_nbd");
	ok = nbd && xmlrpc_value_type(nbd) == XMLRPC_TYPE_STRING;
	if (nbd)
		xmlrpc_DECREF(nbd);
	return ok;
}

static xbt_error *sm_decode_value(const struct sm_ctx *c, xmlrpc_value *v,
				  xmlrpc_value **result)
{
	xmlrpc_value *status, *member = NULL, *value = NULL;
	char *s = NULL;
	xbt_error *err = NULL;

	status = xbt_value_get(v, "Status");
	if (!status) {
		value = v;      /* classic SMAPIv1: the bare value */
		xmlrpc_INCREF(value);
	} else if ((s = xbt_value_text(status, NULL))) {
		if (strcmp(s, "Success") == 0) {
			value = xbt_value_get(v, "Value");
		} else if (strcmp(s, "Failure") == 0) {
			member = xbt_value_get(v, "ErrorDescription");
			err = XBT_PROPAGATE(sm_decode_failure(c, member));
			goto out;
		}
	}
	if (!value || !sm_result_ok(c, value)) {
		err = XBT_RAISE_INTERNAL_ERROR(sm_unexpected);
		goto out;
	}
	*result = value;
	value = NULL;
out:
	free(s);
	if (value)
		xmlrpc_DECREF(value);
	if (member)
		xmlrpc_DECREF(member);
	if (status)
		xmlrpc_DECREF(status);
	return err;
}

static void sm_exit_text(const struct sm_exit *how, xbt_buf *b)
{
	const char *abbrev;

	switch (how->kind) {
	case SM_EXIT_TIMEOUT:
		xbt_buf_addf(b, "timeout after %d s", how->code);
		break;
	case SM_EXIT_SIGNAL:
		abbrev = sigabbrev_np(how->code);
		if (abbrev)
			xbt_buf_addf(b, "killed by signal %d (SIG%s)",
				     how->code, abbrev);
		else
			xbt_buf_addf(b, "killed by signal %d", how->code);
		break;
	case SM_EXIT_LOST:
		xbt_buf_addstr(b, "exit status lost (SIGCHLD reaped "
				  "elsewhere?)");
		break;
	case SM_EXIT_STATUS:
	default:
		xbt_buf_addf(b, "exited with status %d", how->code);
		break;
	}
}

xbt_error *sm_decode(const struct sm_config *cfg, const char *type,
		     const char *command, xmlrpc_value *call,
		     const struct sm_exit *how, const struct sm_output *out,
		     const struct sm_output *err_out, xmlrpc_value **result)
{
	static const struct sm_output none = { "", 0, 0 };
	const struct sm_ctx c = { cfg, type, command, call,
				  out ? out : &none, err_out ? err_out : &none };
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int fcode = 0;
	char *fstring = NULL;
	xbt_buf what = XBT_BUF_INIT;
	xbt_error *err = NULL, *perr;

	xmlrpc_env_init(&env);
	if (how->kind != SM_EXIT_STATUS || how->code != 0) {
		sm_exit_text(how, &what);
		err = SM_FAIL(&c, what.buf);
		goto out;
	}
	out = c.out;
	if (out->total > out->len) {
		xbt_buf_addf(&what, "response larger than %zu bytes", out->len);
		err = SM_FAIL(&c, what.buf);
		goto out;
	}
	if (out->len == 0) {
		err = SM_FAIL(&c, "no response on stdout");
		goto out;
	}
	/* Bounded (depth, no DOCTYPE): plugin output is untrusted. */
	perr = xbt_wire_parse_response(out->data, out->len, &v, &fcode,
				       &fstring);
	if (perr) {
		xbt_buf_addf(&what, "not an XML-RPC response: %s",
			     perr->nparams > 1 ? perr->params[1] : perr->code);
		err = SM_REFAIL(&c, perr, what.buf);
	} else if (fstring) {
		err = XBT_PROPAGATE(sm_decode_fault(&c, fcode, fstring));
	} else {
		err = XBT_PROPAGATE(sm_decode_value(&c, v, result));
	}
out:
	free(fstring);
	if (v)
		xmlrpc_DECREF(v);
	xbt_buf_release(&what);
	xmlrpc_env_clean(&env);
	return err;
}

