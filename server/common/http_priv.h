/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the HTTP front: http.c (libmicrohttpd, requests and responses),
 * http_conn.c (every connection's state, the limits and the deadlines) and
 * http_calls.c (the threads that run calls).
 */
#ifndef XBTD_HTTP_PRIV_H
#define XBTD_HTTP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http.h"

/* ---- call threads (http_calls.c) ----------------------------------------- */

struct http_call {
	void (*run)(struct http_call *);
	int64_t queued_ms;         /* monotonic */
	STAILQ_ENTRY(http_call) link;
};

/*
 * Threads are made when calls find none idle (http_calls.c says how
 * fast), up to max_threads (every connection has at most one call
 * running, so the connection limit), and end after a while idle.
 */
struct http_calls {
	pthread_mutex_t lock;
	pthread_cond_t work;   /* queue not empty, or stopping */
	pthread_cond_t more;   /* the monitor: calls wait, or stopping */
	pthread_cond_t gone;   /* a thread ended */
	pthread_t monitor;
	STAILQ_HEAD(, http_call) queue;
	unsigned nthreads, nidle, nqueued, nstarting, max_threads;
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
	CONN_PARKED,   /* suspended, no thread: watched for the client's end */
	CONN_WRITING,  /* the answer is queued (libmicrohttpd's timeout) */
	CONN_REFUSED,  /* over a limit: told 503, closed soon */
	CONN_CLOSING   /* shut down by the reaper, libmicrohttpd closes it */
};

struct http_ip;
struct http_conn;

/* Where a park is; moved under the server's lock. */
enum http_park_state {
	PARK_CALLING,   /* the callback still runs */
	PARK_PARKED,    /* the callback returned: no thread holds it */
	PARK_ANSWERED   /* http_park_answer came */
};

struct http_park {
	struct http_server *s;
	struct http_conn *conn;
	enum http_park_state state;
	bool gone;                 /* client gone or server stopping */
	void (*on_gone)(void *);
	void *on_gone_arg;
};

struct http_conn {
	LIST_ENTRY(http_conn) link;
	int fd;
	struct http_ip *ip;        /* NULL on a Unix-domain socket */
	enum http_conn_state state;
	int64_t since_ms;          /* monotonic */
	struct http_park *park;    /* while CONN_PARKED */
	bool peer_closed;          /* the client ended its stream ... */
	int64_t peer_closed_ms;    /* ... then (monotonic) */
};

struct http_server {
	struct MHD_Daemon *mhd;
	int fd;                    /* the listening socket; libmicrohttpd's
				      to close once it runs */
	atomic_bool refusing;      /* stopping: new connections are closed */
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
	unsigned nconn, ncalling, nparked, nwriting;
	/* Freed by the reaper before it next waits: its epoll events may
	 * still name them. */
	LIST_HEAD(, http_conn) graveyard;
	struct http_ip **ips;      /* per-address counts: a hash table */
	bool stopping;             /* no new calls; the reaper ends */
	unsigned refused;          /* since the last log line */
	int64_t refused_logged_ms;
	pthread_t reaper;
	int epfd;                  /* parked sockets, and the wake-up */
	int wakefd;                /* an eventfd: stop */
};

xbt_error *http_conn_init(struct http_server *s);
void http_conn_fini(struct http_server *s);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the server). */
void http_conn_notify(void *cls, struct MHD_Connection *mc,
		      void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
/* The connection's record, from libmicrohttpd's socket context. */
struct http_conn *http_conn_of(struct MHD_Connection *mc);
/* The client's address as text ("unix" on the Unix-domain socket). */
void http_conn_peer(const struct http_conn *conn, char *buf, size_t len);
/* Moves conn to state; false (state unchanged) when it is closing. */
bool http_conn_set(struct http_server *s, struct http_conn *conn,
		   enum http_conn_state state);
/*
 * Moves conn to CALLING unless the server is stopping: false then. Under
 * the same lock as http_conn_wait_calls, so no call starts after it.
 */
bool http_conn_begin_call(struct http_server *s, struct http_conn *conn);
/*
 * After the callback returned true: parks conn (watching its socket), or
 * returns false when the park was answered meanwhile (resume it then).
 */
bool http_conn_park(struct http_server *s, struct http_conn *conn,
		    struct http_park *p);
/* At the answer: true when the park was parked (resume it then). */
bool http_conn_park_answered(struct http_server *s, struct http_park *p);
bool http_conn_park_gone(struct http_server *s, const struct http_park *p);
void http_conn_park_on_gone(struct http_server *s, struct http_park *p,
			    void (*fn)(void *), void *arg);
/*
 * Sets stopping, marks every park gone, then waits for running calls and
 * parks, and (briefly) answers being written.
 */
void http_conn_wait_calls(struct http_server *s);
/*
 * The thread that enforces deadlines, closes refused connections and
 * watches parked sockets for the client's end.
 */
xbt_error *http_conn_start_reaper(struct http_server *s);
void http_conn_stop_reaper(struct http_server *s);
/*
 * Raises RLIMIT_NOFILE for the connection limit: returns the limit the
 * descriptors allow (cfg's, or lower with a warning).
 */
unsigned http_conn_fd_budget(unsigned max_conn, unsigned *mhd_limit);

#endif
