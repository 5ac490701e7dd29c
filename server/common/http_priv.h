/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the HTTP front: http.c (libmicrohttpd, requests and responses),
 * http_conn.c (every connection's state, the limits and the deadlines) and
 * http_calls.c (the threads that run calls).
 */
#ifndef XBTD_HTTP_PRIV_H
#define XBTD_HTTP_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http.h"

/* ---- call threads (http_calls.c) ----------------------------------------- */

struct http_call {
	void (*run)(struct http_call *);
	STAILQ_ENTRY(http_call) link;
};

/*
 * Threads are made when a call finds none idle, up to max_threads (every
 * connection has at most one call running, so the connection limit), and
 * end after a while idle.
 */
struct http_calls {
	pthread_mutex_t lock;
	pthread_cond_t work;   /* queue not empty, or stopping */
	pthread_cond_t gone;   /* a thread ended */
	STAILQ_HEAD(, http_call) queue;
	unsigned nthreads, nidle, nqueued, max_threads;
	size_t stack_size;
	bool stopping;
};

void http_calls_init(struct http_calls *c, unsigned max_threads,
		     size_t stack_size);
void http_calls_submit(struct http_calls *c, struct http_call *call);
/* Waits until every thread has ended; the queue must be empty. */
void http_calls_stop(struct http_calls *c);

/* ---- connections (http_conn.c) --------------------------------------------- */

/*
 * Where a connection is: its deadline runs from `since` and depends on
 * the state. A call (CALLING) has no deadline: event waits are long.
 */
enum http_conn_state {
	CONN_IDLE,     /* waiting for a request line: --keepalive */
	CONN_READING,  /* request line seen, body not all in: --request-timeout */
	CONN_CALLING,  /* suspended while a call thread runs the call */
	CONN_WRITING,  /* the answer is queued (libmicrohttpd's timeout) */
	CONN_REFUSED,  /* over a limit: told 503, closed soon */
	CONN_CLOSING   /* shut down by the reaper, libmicrohttpd closes it */
};

struct http_ip;

struct http_conn {
	LIST_ENTRY(http_conn) link;
	int fd;
	struct http_ip *ip;        /* NULL on a Unix-domain socket */
	enum http_conn_state state;
	int64_t since_ms;          /* monotonic */
};

struct http_server {
	struct MHD_Daemon *mhd;
	int fd;                    /* the listening socket (ours) */
	unsigned port;
	char *unix_path;           /* bound here: unlinked at stop */
	struct http_config cfg;    /* defaults filled in */
	http_rpc_fn fn;
	void *ctx;
	struct http_calls calls;

	/* Connections, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t idle;       /* signalled when ncalling/nwriting drop */
	LIST_HEAD(, http_conn) conns;
	unsigned nconn, ncalling, nwriting;
	struct http_ip **ips;      /* per-address counts: a hash table */
	bool stopping;             /* no new calls; the reaper ends */
	unsigned refused;          /* since the last log line */
	int64_t refused_logged_ms;
	pthread_t reaper;
	pthread_cond_t reaper_wake;
};

int64_t http_now_ms(void);

void http_conn_init(struct http_server *s);
void http_conn_fini(struct http_server *s);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the server). */
void http_conn_notify(void *cls, struct MHD_Connection *mc,
		      void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
/* The connection's record, from libmicrohttpd's socket context. */
struct http_conn *http_conn_of(struct MHD_Connection *mc);
/* Moves conn to state; false (state unchanged) when it is closing. */
bool http_conn_set(struct http_server *s, struct http_conn *conn,
		   enum http_conn_state state);
/*
 * Moves conn to CALLING unless the server is stopping: false then. Under
 * the same lock as http_conn_wait_calls, so no call starts after it.
 */
bool http_conn_begin_call(struct http_server *s, struct http_conn *conn);
/* Sets stopping, then waits for running calls and (briefly) answers. */
void http_conn_wait_calls(struct http_server *s);
/* The thread that enforces deadlines and closes refused connections. */
xbt_error *http_conn_start_reaper(struct http_server *s);
void http_conn_stop_reaper(struct http_server *s);
/*
 * Raises RLIMIT_NOFILE for the connection limit: returns the limit the
 * descriptors allow (cfg's, or lower with a warning).
 */
unsigned http_conn_fd_budget(unsigned max_conn, unsigned *mhd_limit);

#endif
