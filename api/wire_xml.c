/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XML-RPC methodCall and methodResponse parsing: xmlrpc-c's parser behind
 * the repairs of api/wire_repair.c, errors as XMLRPC_UNMARSHAL_FAILURE.
 */
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

#define WIRE_MAX_REASON 1024 /* bytes of a parser message kept in an error */

/* A parser's message cut to WIRE_MAX_REASON bytes at a UTF-8 boundary. */
xbt_error *xbt__unmarshal(const char *file, int line, const char *func,
			    const char *expected, const char *why)
{
	size_t n = strlen(why);
	char *cut;
	xbt_error *err;

	if (n > WIRE_MAX_REASON) {
		n = WIRE_MAX_REASON;
		while (n > 0 && ((unsigned char)why[n] & 0xc0) == 0x80)
			n--;
	}
	cut = xbt_strndup(why, n);
	err = xbt_error_raise(file, line, func, XBT_ERR_XMLRPC_UNMARSHAL_FAILURE, expected, cut,
			      (const char *)NULL);
	free(cut);
	return err;
}



xbt_error *xbt_wire_parse_call(const char *xml, size_t len, char **method,
			       xmlrpc_value **params)
{
	xbt_error *err = NULL;
	xbt_buf copy = XBT_BUF_INIT;
	xmlrpc_env env;
	const char *name = NULL, *why;
	xmlrpc_value *p = NULL;
	xbt_buf renamed = XBT_BUF_INIT;
	bool empty_name;

	xmlrpc_env_init(&env);
	*method = NULL;
	*params = NULL;
	if (!xml || !len) {
		err = XBT__UNMARSHAL("methodCall", "empty request");
		goto out;
	}
	if ((why = xbt__xml_prescan(xml, len, &copy))) {
		err = XBT__UNMARSHAL("methodCall", why);
		goto out;
	}
	if (copy.len) {
		xml = copy.buf;
		len = copy.len;
	}
	/*
	 * An empty name is a name (dispatch answers MESSAGE_METHOD_UNKNOWN
	 * [""]), but xmlrpc-c refuses it: parse with a placeholder instead.
	 */
	empty_name = xbt__empty_method_name(xml, len, &renamed);
	if (empty_name) {
		xml = renamed.buf;
		len = renamed.len;
	}
	xmlrpc_parse_call(&env, xml, len, &name, &p);
	if (env.fault_occurred) {
		err = XBT__UNMARSHAL("methodCall", env.fault_string);
		goto out;
	}
	if (!name) {
		err = XBT__UNMARSHAL("methodCall", "no methodName");
		goto out;
	}
	*method = xbt_strdup(empty_name ? "" : name);
	*params = p;
	p = NULL;
out:
	if (p)
		xmlrpc_DECREF(p);
	free((void *)name);
	xmlrpc_env_clean(&env);
	xbt_buf_release(&copy);
	xbt_buf_release(&renamed);
	return err;
}

xbt_error *xbt_wire_parse_response(const char *xml, size_t len,
				   xmlrpc_value **result, int *fault_code,
				   char **fault_string)
{
	xbt_error *err = NULL;
	xbt_buf copy = XBT_BUF_INIT;
	xmlrpc_env env;
	const char *why, *fs = NULL;
	xmlrpc_value *r = NULL;
	int fc = 0;

	xmlrpc_env_init(&env);
	*result = NULL;
	*fault_code = 0;
	*fault_string = NULL;
	if (!xml || !len) {
		err = XBT__UNMARSHAL("methodResponse", "empty response");
		goto out;
	}
	if ((why = xbt__xml_prescan(xml, len, &copy))) {
		err = XBT__UNMARSHAL("methodResponse", why);
		goto out;
	}
	if (copy.len) {
		xml = copy.buf;
		len = copy.len;
	}
	xmlrpc_parse_response2(&env, xml, len, &r, &fc, &fs);
	if (env.fault_occurred) {
		err = XBT__UNMARSHAL("methodResponse", env.fault_string);
		goto out;
	}
	if (r) {
		*result = r;
	} else {
		*fault_code = fc;
		*fault_string = xbt_strdup(fs ? fs : "");
	}
out:
	free((void *)fs);
	xmlrpc_env_clean(&env);
	xbt_buf_release(&copy);
	return err;
}

