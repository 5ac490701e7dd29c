/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A XenAPI client: our own methodCall text (xbt_wire_xml_call, the xapi
 * dialect) sent through xmlrpc-c's curl transport, and the reply parsed
 * with xbt_wire_parse_response so that transport failures, malformed
 * replies and XenAPI errors stay three different things. Each handle owns
 * a private xmlrpc_client, so handles are independent across threads.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/client.h>

#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

struct xbt_client {
	xmlrpc_client *client;
	xmlrpc_server_info *server;
	char *url;
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static char *client_setup_error; /* set once, by client_setup */

/*
 * Once per process: xmlrpc-c's global constants (curl's), and the
 * process-wide XML size limit, which also bounds the responses the client
 * parses. It is only ever raised, to XBT_CLIENT_MAX_RESPONSE.
 */
static void client_setup(void)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_client_setup_global_const(&env);
	if (env.fault_occurred)
		client_setup_error = xbt_strdup(env.fault_string);
	if (xmlrpc_limit_get(XMLRPC_XML_SIZE_LIMIT_ID) < XBT_CLIENT_MAX_RESPONSE)
		xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID,
				 XBT_CLIENT_MAX_RESPONSE);
	xmlrpc_env_clean(&env);
}

xbt_error *xbt_client_open(const char *url, unsigned timeout_ms,
			   xbt_client **out)
{
	xbt_error *err = NULL;
	xmlrpc_env env;
	struct xmlrpc_curl_xportparms curl;
	struct xmlrpc_clientparms parms;
	xbt_client *c = NULL;

	*out = NULL;
	xmlrpc_env_init(&env);
	pthread_once(&client_once, client_setup);
	if (!url)
		url = "";
	if (client_setup_error) {
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				client_setup_error);
		goto out;
	}
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				"the URL must start with http:// or https://");
		goto out;
	}
	c = xbt_calloc(1, sizeof(*c));
	c->url = xbt_strdup(url);

	memset(&curl, 0, sizeof(curl));
	curl.timeout = timeout_ms; /* milliseconds; 0: none */
	memset(&parms, 0, sizeof(parms));
	parms.transport = "curl";
	parms.transportparmsP = &curl;
	parms.transportparm_size = XMLRPC_CXPSIZE(timeout);
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, PACKAGE_NAME,
			     PACKAGE_VERSION, &parms,
			     XMLRPC_CPSIZE(transportparm_size), &c->client);
	if (env.fault_occurred) {
		c->client = NULL;
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				env.fault_string);
		goto out;
	}
	c->server = xmlrpc_server_info_new(&env, url);
	if (env.fault_occurred) {
		c->server = NULL;
		err = XBT_RAISE(XBT_CLIENT_CONNECT_FAILED, url,
				env.fault_string);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	xbt_client_close(c);
	xmlrpc_env_clean(&env);
	return err;
}

void xbt_client_close(xbt_client *c)
{
	if (!c)
		return;
	if (c->server)
		xmlrpc_server_info_free(c->server);
	if (c->client)
		xmlrpc_client_destroy(c->client);
	free(c->url);
	free(c);
}

/* A transport failure: an HTTP status is the peer's doing, the rest ours. */
static xbt_error *transport_error(const char *file, int line, const char *func,
				  const char *url, const char *why)
{
	const char *code = strstr(why, "HTTP response code is") ?
				   XBT_CLIENT_PROTOCOL_ERROR :
				   XBT_CLIENT_CONNECT_FAILED;

	return xbt_error_raise(file, line, func, code, url, why,
			       (const char *)NULL);
}

xbt_error *xbt_client_call(xbt_client *c, const char *method,
			   xmlrpc_value *params, xmlrpc_value **result)
{
	xbt_error *err = NULL;
	xmlrpc_env env;
	xbt_buf call = XBT_BUF_INIT, why_buf = XBT_BUF_INIT;
	xmlrpc_mem_block *req = NULL, *resp = NULL;
	xmlrpc_value *r = NULL;
	char *fault = NULL;
	const char *why = NULL;
	int fault_code = 0;

	*result = NULL;
	xmlrpc_env_init(&env);
	xbt_wire_xml_call(&call, method, params);
	req = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		XMLRPC_MEMBLOCK_APPEND(char, &env, req, call.buf, call.len);
	if (env.fault_occurred)
		xbt_fatalx("xmlrpc-c: %s", env.fault_string);

	xmlrpc_client_transport_call2(&env, c->client, c->server, req, &resp);
	if (env.fault_occurred) {
		resp = NULL;
		err = transport_error(XBT_HERE, c->url, env.fault_string);
		goto out;
	}
	err = xbt_wire_parse_response(XMLRPC_MEMBLOCK_CONTENTS(char, resp),
				      XMLRPC_MEMBLOCK_SIZE(char, resp), &r,
				      &fault_code, &fault);
	if (err) {
		xbt_buf_addf(&why_buf, "%s",
			     err->nparams > 1 ? err->params[1] : err->code);
		err = XBT_RERAISE(err, XBT_CLIENT_PROTOCOL_ERROR, c->url,
				  why_buf.buf);
		goto out;
	}
	if (!r) {
		xbt_buf_addf(&why_buf, "XML-RPC fault %d: %s", fault_code,
			     fault);
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, c->url, why_buf.buf);
		goto out;
	}
	err = XBT_PROPAGATE(xbt_client_decode_response_why(r, result, &why));
	if (!err && why) {
		xbt_buf_addf(&why_buf, "not a XenAPI response: %s", why);
		err = XBT_RAISE(XBT_CLIENT_PROTOCOL_ERROR, c->url, why_buf.buf);
	}
out:
	if (r)
		xmlrpc_DECREF(r);
	if (req)
		XMLRPC_MEMBLOCK_FREE(char, req);
	if (resp)
		XMLRPC_MEMBLOCK_FREE(char, resp);
	free(fault);
	xbt_buf_release(&call);
	xbt_buf_release(&why_buf);
	xmlrpc_env_clean(&env);
	return err;
}

/* ---- XenAPI response structs ------------------------------------------- */

/* The ErrorDescription's strings (safe copies) as a raised error. */
static xbt_error *remote_error(xmlrpc_value *ed, const char **why)
{
	xmlrpc_env env;
	xbt_error *err = NULL;
	char **v = NULL;
	int n, i;

	xmlrpc_env_init(&env);
	n = xmlrpc_value_type(ed) == XMLRPC_TYPE_ARRAY ?
		    xmlrpc_array_size(&env, ed) : 0;
	if (n <= 0) {
		*why = "ErrorDescription is not a non-empty array";
		goto out;
	}
	v = xbt_calloc((size_t)n, sizeof(*v));
	for (i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		char *s;
		size_t len = 0;

		xmlrpc_array_read_item(&env, ed, (unsigned)i, &item);
		if (env.fault_occurred)
			break;
		s = xbt_value_text(item, &len);
		xmlrpc_DECREF(item);
		if (!s)
			break;
		v[i] = xbt_text_safe_dup(s, len);
		free(s);
	}
	if (i < n) {
		*why = "ErrorDescription holds a non-string";
		goto out;
	}
	err = XBT_RELAY(v[0], (size_t)n - 1, (const char *const *)v + 1);
out:
	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	xmlrpc_env_clean(&env);
	return err;
}

xbt_error *xbt_client_decode_response_why(xmlrpc_value *response,
					xmlrpc_value **value,
					const char **why)
{
	xbt_error *err = NULL;
	xmlrpc_value *status = NULL, *member_v = NULL;
	char *s = NULL;
	size_t n = 0;

	*value = NULL;
	*why = NULL;
	if (!response || xmlrpc_value_type(response) != XMLRPC_TYPE_STRUCT) {
		*why = "response is not a struct";
		goto out;
	}
	status = xbt_value_get(response, "Status");
	if (!(s = xbt_value_text(status, &n))) {
		*why = "no Status string";
		goto out;
	}
	if (!strcmp(s, "Success")) {
		if (!(member_v = xbt_value_get(response, "Value"))) {
			*why = "Success without Value";
			goto out;
		}
		*value = member_v;
		member_v = NULL;
	} else if (!strcmp(s, "Failure")) {
		if (!(member_v = xbt_value_get(response, "ErrorDescription"))) {
			*why = "Failure without ErrorDescription";
			goto out;
		}
		err = XBT_PROPAGATE(remote_error(member_v, why));
	} else {
		*why = "Status is neither Success nor Failure";
	}
out:
	if (status)
		xmlrpc_DECREF(status);
	if (member_v)
		xmlrpc_DECREF(member_v);
	free(s);
	return err;
}

xbt_error *xbt_client_decode_response(xmlrpc_value *response,
				    xmlrpc_value **value)
{
	const char *why;
	xbt_error *err = XBT_PROPAGATE(
		xbt_client_decode_response_why(response, value, &why));

	if (!err && why)
		err = XBT_RAISE_INTERNAL_ERROR("bad XenAPI response");
	return err;
}
