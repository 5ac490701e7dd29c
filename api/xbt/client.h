/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A XenAPI client over libcurl: used by xe, by xbtd for host-to-host
 * forwarding and for xbt-opsd (a Unix socket). One xbt_client per thread
 * (callers own handles); a handle keeps its connection between calls.
 */
#ifndef XBT_CLIENT_H
#define XBT_CLIENT_H

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xbt_client xbt_client;

/* Error codes of the client itself (not XenAPI's). */
#define XBT_CLIENT_CONNECT_FAILED "CLIENT_CONNECT_FAILED" /* [url, why] */
#define XBT_CLIENT_PROTOCOL_ERROR "CLIENT_PROTOCOL_ERROR" /* [url, why] */

/*
 * Responses larger than this are refused. xmlrpc-c's XML size limit
 * (XMLRPC_XML_SIZE_LIMIT_ID, 512 KiB by default) is process-wide and also
 * bounds what a client parses, so the first xbt_client_open raises it to
 * this value (never lowers it), once per process. A server that also uses
 * the client must therefore bound request bodies itself (or set its own
 * limit after opening the first client).
 */
#define XBT_CLIENT_MAX_RESPONSE ((size_t)64 * 1024 * 1024)

/*
 * url, one of:
 *   "http://host:port/path", "https://host:port/path" (proxies from the
 *     environment apply, as libcurl's);
 *   "unix:/absolute/path/to.sock": HTTP on that Unix-domain socket, the
 *     request going to "http://localhost/"; never through a proxy.
 * Redirects are not followed. timeout_ms bounds each whole call, connect
 * included; 0 = none (libcurl still gives up a connect after 300 s).
 * *out: caller closes.
 * Errors: XBT_CLIENT_CONNECT_FAILED [url, why] for any other form (a
 * relative unix: path, one longer than a socket address holds).
 */
xbt_error *xbt_client_open(const char *url, unsigned timeout_ms,
			   xbt_client **out);
void xbt_client_close(xbt_client *c);

/*
 * Calls method with params (an array, or NULL for none; borrowed). Success:
 * *result (new reference, caller decrefs) is the Value. Failure: the
 * XenAPI error from ErrorDescription (its strings made safe), or
 * XBT_CLIENT_CONNECT_FAILED [url, why] (refused, DNS, timeout, connection
 * dropped; why is libcurl's text) or XBT_CLIENT_PROTOCOL_ERROR [url, why]
 * (an HTTP status other than 200: "HTTP response code is N, not 200"; a
 * body past XBT_CLIENT_MAX_RESPONSE: "response larger than N bytes"; a
 * body that is not a methodResponse, a <fault>, a struct that is not
 * {Status, Value | ErrorDescription}).
 */
xbt_error *xbt_client_call(xbt_client *c, const char *method,
			   xmlrpc_value *params, xmlrpc_value **result);

/*
 * Decodes a XenAPI response struct (already parsed by xmlrpc-c): on Success
 * *value gets Value (new reference); on Failure the error carries
 * ErrorDescription. Anything else: INTERNAL_ERROR ["bad XenAPI response"].
 */
xbt_error *xbt_client_decode_response(xmlrpc_value *response,
				      xmlrpc_value **value);
/*
 * As xbt_client_decode_response, but a response of the wrong shape returns
 * NULL with *value NULL and *why (static) saying what was wrong, so that
 * callers can tell it from a remote error of any code.
 */
xbt_error *xbt_client_decode_response_why(xmlrpc_value *response,
					  xmlrpc_value **value,
					  const char **why);

#ifdef __cplusplus
}
#endif
#endif
