/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The daemons' HTTP front, on libmicrohttpd (doc/design.md, "The HTTP
 * front").
 *
 * POST on /jsonrpc is JSON-RPC, POST on any other path XML-RPC; both answer
 * HTTP 200 with the body the rpc callback appends (Content-Type text/xml or
 * application/json, Access-Control-Allow-Origin: *). OPTIONS gets the CORS
 * preflight answer (204), GET and HEAD http_config.page's answer or a
 * short text page, other methods 405.
 * A body over max_body gets a XenAPI failure REQUEST_TOO_LARGE [max_body]
 * in the request's protocol (HTTP 200) and the connection is closed.
 *
 * A few event threads serve every connection (epoll); a connection holds
 * no thread while it is idle, sends its request or waits parked. Each
 * complete request runs the rpc callback on a call thread of its own
 * (threads are kept for reuse), so slow calls stall nobody. Idle, slow and surplus clients are
 * bounded by the limits below; past a connection limit a client is told
 * 503 at once. SIGPIPE is ignored process-wide by http_start.
 */
#ifndef XBTD_HTTP_H
#define XBTD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"

enum http_proto { HTTP_XMLRPC, HTTP_JSONRPC };

/* A GET or HEAD answered from static bytes (http_config.page). */
struct http_page {
	unsigned status;
	const char *type;               /* Content-Type */
	const void *body;               /* static: never copied nor freed */
	size_t len;
	const char *const *headers;     /* name, value, ..., NULL; or NULL */
};

/*
 * Zero fields take the defaults below (plain numbers: the daemons' option
 * tables show them).
 */
struct http_config {
	const char *addr;        /* numeric IPv4 or IPv6 address, or an
				  * absolute path: a Unix-domain socket,
				  * mode 0600, unlinked at http_stop */
	unsigned port;           /* 0 = any free port; unused for a path */
	size_t max_body;         /* request body limit */
	unsigned max_conn;       /* connections at once */
	unsigned max_conn_per_ip;/* from one address (not for a path) */
	unsigned request_s;      /* request line to end of body */
	unsigned keepalive_s;    /* idle connection (no request started) */
	size_t stack_size;       /* call thread stack */
	/*
	 * Optional: tried first for a small request, on the event thread
	 * that read it. It must not block: it answers (appends to out,
	 * returns true) only calls it knows to be quick, and returns false,
	 * out untouched, for the rest, which go to a call thread and fn.
	 * Quick calls then cost no thread switch.
	 */
	bool (*quick)(void *ctx, enum http_proto proto, const char *body,
		      size_t len, xbt_buf *out);
	/*
	 * Optional: answers every GET and HEAD (path without the query);
	 * without it they get a short text page. Called on an event thread:
	 * it must not block.
	 */
	void (*page)(const char *path, struct http_page *out);
};

#define HTTP_DEFAULT_ADDR "127.0.0.1"
#define HTTP_DEFAULT_MAX_BODY 4194304
#define HTTP_DEFAULT_MAX_CONN 10000
#define HTTP_DEFAULT_MAX_CONN_PER_IP 5000
#define HTTP_DEFAULT_REQUEST_S 30
#define HTTP_DEFAULT_KEEPALIVE 60
/* xmlrpc-c recurses and ASan's frames are big. */
#define HTTP_DEFAULT_STACK 2097152
/* Request line and headers together, bytes: past it 414 or 431. */
#define HTTP_HEADER_LIMIT 32768

/*
 * The options every daemon's table lists (server/common/options.h), cfg
 * being its struct http_config.
 */
#define HTTP_OPTIONS(cfg) \
	{ "max-body", OPT_SIZE, &(cfg).max_body, \
	  OPT_STR(HTTP_DEFAULT_MAX_BODY), NULL, NULL, 4096, 1073741824UL, \
	  NULL, "BYTES", "request size limit" }, \
	{ "max-connections", OPT_UINT, &(cfg).max_conn, \
	  OPT_STR(HTTP_DEFAULT_MAX_CONN), NULL, NULL, 1, 1000000, NULL, "N", \
	  "connections at once (more are answered 503)" }, \
	{ "max-connections-per-ip", OPT_UINT, &(cfg).max_conn_per_ip, \
	  OPT_STR(HTTP_DEFAULT_MAX_CONN_PER_IP), NULL, NULL, 1, 1000000, \
	  NULL, "N", "connections at once from one address" }, \
	{ "request-timeout", OPT_UINT, &(cfg).request_s, \
	  OPT_STR(HTTP_DEFAULT_REQUEST_S), NULL, NULL, 1, 86400, NULL, "S", \
	  "a request's line, headers and body must arrive within S seconds" }, \
	{ "keepalive", OPT_UINT, &(cfg).keepalive_s, \
	  OPT_STR(HTTP_DEFAULT_KEEPALIVE), NULL, NULL, 1, 86400, NULL, "S", \
	  "connections without a request close after S seconds" }

struct http_park;

/*
 * Called on a call thread for each POST, concurrently with other calls.
 * body[len] is a NUL (the body itself may contain NULs). Appends the
 * whole response body to out and returns false; or, given a park (NULL:
 * the caller cannot wait), may keep it and return true: the call then
 * holds no thread, and its answer comes later from http_park_answer.
 */
typedef bool (*http_rpc_fn)(void *ctx, struct http_park *park,
			    enum http_proto proto, const char *body,
			    size_t len, xbt_buf *out);

/*
 * Answers a parked request, from any thread, once: out's bytes (out is
 * released), or with out NULL closes the connection without an answer.
 * The park must not be touched afterwards.
 */
void http_park_answer(struct http_park *park, xbt_buf *out);
/*
 * Whether the client went away or the server is stopping: the holder
 * should answer the park soon. fn(arg), set while the callback still
 * holds the park, is called once when that happens (on the front's
 * thread, no lock held; it may find the park already answered).
 */
bool http_park_gone(const struct http_park *park);
/* The client's address as text: "127.0.0.1", "::1", "unix". */
void http_park_peer(const struct http_park *park, char *buf, size_t len);
void http_park_on_gone(struct http_park *park, void (*fn)(void *), void *arg);
/*
 * Between these, parks answered on this thread are resumed together, a
 * few at a time (fewer wake-ups of the event threads in a burst).
 */
void http_park_batch_begin(void);
void http_park_batch_end(void);

/*
 * One answer's bytes sent to many parked requests without a copy each
 * (waits answered alike): made from body (taken), each
 * http_park_answer_shared takes a reference, http_answer_put drops the
 * maker's.
 */
struct http_answer;
struct http_answer *http_answer_new(enum http_proto proto, xbt_buf *body);
void http_answer_put(struct http_answer *a);
void http_park_answer_shared(struct http_park *park, struct http_answer *a);

struct http_server;
/* CLOCK_MONOTONIC in milliseconds (the front's deadlines, and others'). */
int64_t http_now_ms(void);

/*
 * Binds, listens and starts serving; raises RLIMIT_NOFILE to what the
 * connection limit needs (or lowers the limit to what the hard limit
 * allows, with a warning). *out (free with http_stop) on success.
 * Errors: INTERNAL_ERROR ["http: <what failed>"].
 */
xbt_error *http_start(const struct http_config *cfg, http_rpc_fn fn,
		      void *ctx, struct http_server **out);
/* The port actually bound (0 for a Unix-domain socket). */
unsigned http_port(const struct http_server *s);
/*
 * Refuses new connections and new calls (503) from now on, without waiting
 * for anything: the first step of a stop (http_stop does it too).
 */
void http_refuse_calls(struct http_server *s);
/*
 * Stops accepting, marks parked requests gone, lets running calls and
 * parks finish and their answers go out, closes every connection and
 * frees s: milliseconds unless a call is still running.
 */
void http_stop(struct http_server *s);

#endif
