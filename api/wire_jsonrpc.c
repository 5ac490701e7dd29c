/* SPDX-License-Identifier: BSD-2-Clause */
/* JSON-RPC requests, v1 and v2, as xapi takes them (doc/design.md, "Wire"). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

#define JSON_REQUEST "JSON-RPC request"

/* The id re-serialised as JSON, or NULL with *why. */
static char *jsonrpc_id(xmlrpc_value *id, const char **why)
{
	xbt_buf b = XBT_BUF_INIT;

	*why = NULL;
	if (!id) {
		*why = "no id (notifications are not supported)";
	} else if (xmlrpc_value_type(id) == XMLRPC_TYPE_NIL) {
		*why = "id is null (notifications are not supported)";
	} else if (xmlrpc_value_type(id) == XMLRPC_TYPE_I8 ||
		   xmlrpc_value_type(id) == XMLRPC_TYPE_INT ||
		   xmlrpc_value_type(id) == XMLRPC_TYPE_STRING) {
		xbt_wire_json_value(&b, id);
	} else {
		*why = "id is neither a string nor an integer";
	}
	if (*why) {
		xbt_buf_release(&b);
		return NULL;
	}
	return xbt_buf_detach(&b, NULL);
}

xbt_error *xbt_wire_parse_jsonrpc(const char *json, size_t len, char **method,
				  xmlrpc_value **params, char **id_json,
				  bool *v2)
{
	xbt_error *err = NULL;
	xmlrpc_env env;
	xmlrpc_value *req = NULL, *m = NULL, *ver = NULL, *p = NULL,
		     *id = NULL;
	const char *why = NULL;
	char *name = NULL, *vs = NULL, *idj = NULL;
	size_t n = 0;

	xmlrpc_env_init(&env);
	*method = NULL;
	*params = NULL;
	*id_json = NULL;
	*v2 = false;
	if (!json || !len) {
		why = "empty request";
		goto out;
	}
	if (memchr(json, '\0', len)) {
		why = "NUL byte in request";
		goto out;
	}
	err = xbt_json_parse(json, len, XBT_MAX_NESTING, &req);
	if (err) {
		char *reason = xbt_strdup(err->nparams ? err->params[0] : "");
		err = XBT_RERAISE_XMLRPC_UNMARSHAL_FAILURE(err, JSON_REQUEST, reason);
		free(reason);
		goto out;
	}
	if (xmlrpc_value_type(req) != XMLRPC_TYPE_STRUCT) {
		why = "request is not a JSON object";
		goto out;
	}
	if ((ver = xbt_value_get(req, "jsonrpc"))) {
		vs = xbt_value_text(ver, &n);
		if (!vs || strcmp(vs, "2.0") != 0 || n != 3) {
			why = "jsonrpc is not \"2.0\"";
			goto out;
		}
		*v2 = true;
	}
	m = xbt_value_get(req, "method");
	if (!m) {
		why = "no method";
		goto out;
	}
	if (!(name = xbt_value_text(m, &n))) {
		why = "method is not a string";
		goto out;
	}
	if (!n) {
		why = "empty method";
		goto out;
	}
	p = xbt_value_get(req, "params");
	if (!p || xmlrpc_value_type(p) == XMLRPC_TYPE_NIL) {
		if (p)
			xmlrpc_DECREF(p);
		p = xmlrpc_array_new(&env);
	} else if (*v2 && xmlrpc_value_type(p) == XMLRPC_TYPE_STRUCT) {
		/* By-name params: xapi passes the object as the one param. */
		xmlrpc_value *a = xmlrpc_array_new(&env);
		xmlrpc_array_append_item(&env, a, p);
		xmlrpc_DECREF(p);
		p = a;
	} else if (xmlrpc_value_type(p) != XMLRPC_TYPE_ARRAY) {
		why = "params is not an array";
		goto out;
	}
	if (env.fault_occurred) {
		err = XBT__UNMARSHAL(JSON_REQUEST, env.fault_string);
		goto out;
	}
	id = xbt_value_get(req, "id");
	if (!(idj = jsonrpc_id(id, &why)))
		goto out;
	*method = name;
	name = NULL;
	*params = p;
	p = NULL;
	*id_json = idj;
	idj = NULL;
out:
	if (why && !err)
		err = XBT__UNMARSHAL(JSON_REQUEST, why);
	if (err)
		*v2 = false;
	if (req)
		xmlrpc_DECREF(req);
	if (m)
		xmlrpc_DECREF(m);
	if (ver)
		xmlrpc_DECREF(ver);
	if (p)
		xmlrpc_DECREF(p);
	if (id)
		xmlrpc_DECREF(id);
	free(name);
	free(vs);
	free(idj);
	xmlrpc_env_clean(&env);
	return err;
}

