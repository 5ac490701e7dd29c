/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd's HTTP front, on xmlrpc-c's Abyss server.
 *
 * POST on /jsonrpc is JSON-RPC, POST on any other path XML-RPC; both answer
 * HTTP 200 with the body the rpc callback appends (Content-Type text/xml or
 * application/json, Access-Control-Allow-Origin: *). OPTIONS gets the CORS
 * preflight answer (204), GET and HEAD a short text page, other methods 405.
 * A body over max_body gets a XenAPI failure REQUEST_TOO_LARGE [max_body]
 * in the request's protocol (HTTP 200) and the connection is closed.
 *
 * Connections are kept alive (Abyss 1.33 does not serve pipelined
 * requests until the client sends more); each has its own thread with a
 * stack of stack_size bytes, with every asynchronous signal blocked.
 * SIGPIPE is also ignored process-wide by http_start; SIGCHLD is left alone
 * (no reaper). http_stop interrupts idle connections and returns once every
 * connection thread has ended: a few milliseconds unless a callback is
 * still running. To cut Abyss's 2 s shutdown poll short it pokes the server
 * thread with HTTP_WAKE_SIGNAL, for which http_start installs an empty
 * handler. Call http_start and http_stop from one thread (Abyss's global
 * set-up is counted without a lock).
 */
#ifndef XBTD_HTTP_H
#define XBTD_HTTP_H

#include <signal.h>
#include <stddef.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"

#define HTTP_WAKE_SIGNAL (SIGRTMIN + 5)

/*
 * Zero fields take the defaults below (plain numbers: the daemons' option
 * tables show them). The connection stack is large because xmlrpc-c
 * recurses and ASan's frames are big: 130 KiB, Abyss's own, is not enough.
 */
struct http_config {
	const char *addr;      /* numeric IPv4 or IPv6 address, or an
				* absolute path: a Unix-domain socket,
				* mode 0600, unlinked at http_stop */
	unsigned port;         /* 0 = any free port; unused for a path */
	size_t max_body;       /* request body limit */
	unsigned max_conn;     /* concurrent connections */
	size_t stack_size;     /* connection thread stack */
	unsigned keepalive_s;  /* idle keep-alive timeout */
};

#define HTTP_DEFAULT_ADDR "127.0.0.1"
#define HTTP_DEFAULT_MAX_BODY 4194304
#define HTTP_DEFAULT_MAX_CONN 256
#define HTTP_DEFAULT_STACK 2097152
#define HTTP_DEFAULT_KEEPALIVE 60

enum http_proto { HTTP_XMLRPC, HTTP_JSONRPC };

/*
 * Called on a connection thread for each POST, concurrently with other
 * calls. body[len] is a NUL (the body itself may contain NULs). Appends
 * the whole response body to out.
 */
typedef void (*http_rpc_fn)(void *ctx, enum http_proto proto,
			    const char *body, size_t len, xbt_buf *out);

struct http_server;

/*
 * Binds, listens and starts serving. *out (free with http_stop) on
 * success. Errors: INTERNAL_ERROR ["http: <what failed>"].
 */
xbt_error *http_start(const struct http_config *cfg, http_rpc_fn fn,
		      void *ctx, struct http_server **out);
/* The port actually bound (0 for a Unix-domain socket). */
unsigned http_port(const struct http_server *s);
/* Stops serving, waits for every connection thread, frees s. */
void http_stop(struct http_server *s);

#endif
