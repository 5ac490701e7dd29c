/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A XenAPI client over xmlrpc-c's curl transport: used by xe and by xbtd for
 * host-to-host forwarding. One xbt_client per thread (callers own handles).
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

/* url: "http://host:port/". timeout_ms 0 = none. *out: caller closes. */
xbt_error *xbt_client_open(const char *url, unsigned timeout_ms,
			   xbt_client **out);
void xbt_client_close(xbt_client *c);

/*
 * Calls method with params (an array; borrowed). Success: *result (new
 * reference, caller decrefs) is the Value. Failure: the XenAPI error from
 * ErrorDescription, or a client error code above.
 */
xbt_error *xbt_client_call(xbt_client *c, const char *method,
			   xmlrpc_value *params, xmlrpc_value **result);

#ifdef __cplusplus
}
#endif
#endif
