/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP front on libmicrohttpd: its epoll event threads parse requests
 * and send answers; a request's body is gathered here, then the
 * connection is suspended while a call thread (http_calls.c) runs the rpc
 * callback, and resumed to send the answer. Connection records, limits
 * and deadlines are http_conn.c's.
 *
 * libmicrohttpd does the HTTP: request parsing, chunked bodies, 100
 * Continue, keep-alive and pipelining, HTTP/1.0, and its own answers to
 * bad framing it finds (400; 414 and 431 past HTTP_HEADER_LIMIT). What it
 * lets through and HTTP forbids, this file refuses: two Content-Length
 * headers, or Transfer-Encoding with Content-Length (a request smuggled
 * past a proxy that reads them otherwise), and codings other than chunked.
 *
 * An answer queued before the body is read closes the connection after
 * it (libmicrohttpd cannot know where the next request starts): refusals
 * are answered at once, everything else after the whole request is in.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http_priv.h"
#include "log.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

/* Event threads: a few are enough, the calls run elsewhere. */
#define HTTP_EVENT_THREADS_MIN 2
#define HTTP_EVENT_THREADS_MAX 8
/* Bodies tried on the event thread (http_config.quick) at most. */
#define HTTP_QUICK_MAX 16384
/* Answers resumed together by a batch: the first ones leave early. */
#define HTTP_BATCH_RESUMES 16
/* Of a refused chunked body (its size unknown in advance), bytes read and
 * dropped before the answer, past which the connection is just closed. */
#define HTTP_DRAIN_MAX (1u << 20)

static const char http_page_text[] =
	"xbtd: a XenAPI server.\n"
	"POST XML-RPC to any path, JSON-RPC to /jsonrpc.\n";

/* One request, from its request line to its answer's end. */
struct http_req {
	struct http_call call;      /* first: http_req_run's container */
	struct http_server *s;
	struct MHD_Connection *mc;
	struct http_conn *conn;
	enum http_proto proto;
	bool seen;                  /* the headers were checked */
	bool too_large;             /* the body passed max_body */
	bool called;                /* the call was started */
	bool done;                  /* ... and has ended: out is the answer */
	bool close_after;           /* ... or the connection just closes */
	struct http_answer *shared; /* ... or this answer is */
	struct http_park park;
	uint64_t dropped;           /* bytes of a refused body read */
	xbt_buf body;
	xbt_buf out;
};

/* ---- answers -------------------------------------------------------------- */

/* Queues r (and drops our reference). close: the connection ends after. */
static enum MHD_Result http_queue(struct MHD_Connection *mc, unsigned status,
				  struct MHD_Response *r, const char *type,
				  bool close)
{
	enum MHD_Result ret = MHD_NO;

	if (!r)
		goto out;
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	if (close)
		MHD_add_response_header(r, "Connection", "close");
	if (status == 204) {
		MHD_add_response_header(r, "Access-Control-Allow-Methods",
					"POST, OPTIONS");
		MHD_add_response_header(r, "Access-Control-Allow-Headers",
					"Content-Type");
		MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
	} else if (status == 405) {
		MHD_add_response_header(r, "Allow", "GET, HEAD, POST, OPTIONS");
	}
	ret = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
out:
	return ret;
}

/* Queues an answer; body is copied. */
static enum MHD_Result http_answer(struct MHD_Connection *mc,
				   unsigned status, const char *type,
				   const char *body, size_t len, bool close)
{
	return http_queue(mc, status, MHD_create_response_from_buffer(
				  len, (void *)body, MHD_RESPMEM_MUST_COPY),
			  type, close);
}

static const char *http_type(enum http_proto proto)
{
	return proto == HTTP_JSONRPC ? XBT_JSON_CONTENT_TYPE :
		XBT_XML_CONTENT_TYPE;
}

struct http_answer {
	atomic_uint refs;
	struct MHD_Response *r;     /* holds one libmicrohttpd reference */
};

struct http_answer *http_answer_new(enum http_proto proto, xbt_buf *body)
{
	struct http_answer *a = xbt_calloc(1, sizeof(*a));
	size_t len;
	char *bytes = xbt_buf_detach(body, &len);

	atomic_init(&a->refs, 1);
	a->r = MHD_create_response_from_buffer(len, bytes,
					       MHD_RESPMEM_MUST_FREE);
	if (!a->r)
		xbt_fatalx("http: no memory for an answer");
	MHD_add_response_header(a->r, "Content-Type", http_type(proto));
	MHD_add_response_header(a->r, "Access-Control-Allow-Origin", "*");
	return a;
}

void http_answer_put(struct http_answer *a)
{
	if (a && atomic_fetch_sub(&a->refs, 1) == 1) {
		MHD_destroy_response(a->r);
		free(a);
	}
}

/* Queues a call's answer: its buffer goes to libmicrohttpd, uncopied. */
static enum MHD_Result http_answer_buf(struct MHD_Connection *mc,
				       const char *type, xbt_buf *body)
{
	size_t len;
	char *bytes = xbt_buf_detach(body, &len);

	return http_queue(mc, 200, MHD_create_response_from_buffer(
				  len, bytes, MHD_RESPMEM_MUST_FREE),
			  type, false);
}

/* A framing error: text, and the connection closed. */
static enum MHD_Result http_refuse(struct MHD_Connection *mc,
				   unsigned status, const char *why)
{
	char text[128];

	snprintf(text, sizeof(text), "%s\n", why);
	return http_answer(mc, status, "text/plain", text, strlen(text), true);
}


/* REQUEST_TOO_LARGE [max_body] in the request's protocol, then close. */
static enum MHD_Result http_too_large(struct http_req *req)
{
	char limit[32];
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *err;
	enum MHD_Result ret;

	log_info("http: refused a request body over %zu bytes",
		 req->s->cfg.max_body);
	snprintf(limit, sizeof(limit), "%zu", req->s->cfg.max_body);
	err = XBT_RAISE_REQUEST_TOO_LARGE(limit);
	/* The request was not parsed: no id, so v1 with a null id. */
	if (req->proto == HTTP_JSONRPC)
		xbt_wire_jsonrpc_failure(&b, false, "null", err);
	else
		xbt_wire_xml_failure(&b, err);
	xbt_error_free(err);
	ret = http_answer(req->mc, 200, http_type(req->proto), b.buf, b.len,
			  true);
	xbt_buf_release(&b);
	return ret;
}

/* ---- request framing -------------------------------------------------------- */

struct http_framing {
	unsigned lengths;           /* Content-Length headers */
	unsigned codings;           /* Transfer-Encoding headers */
	const char *coding;
};

static enum MHD_Result http_count_framing(void *cls, enum MHD_ValueKind kind,
					  const char *name, const char *value)
{
	struct http_framing *f = cls;

	(void)kind;
	if (strcasecmp(name, "Content-Length") == 0) {
		f->lengths++;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->codings++;
		f->coding = value;
	}
	return MHD_YES;
}

/*
 * The headers are in: refuses what must not be served (MHD_YES after
 * queueing the answer, which closes the connection), or returns MHD_YES
 * with nothing queued to read the body.
 */
static enum MHD_Result http_check_headers(struct http_req *req,
					  const char *method, bool *refused)
{
	struct MHD_Connection *mc = req->mc;
	struct http_framing f = { 0 };
	const char *cl;
	uint64_t length = 0;
	bool post = strcmp(method, "POST") == 0;

	*refused = true;
	MHD_get_connection_values(mc, MHD_HEADER_KIND, http_count_framing, &f);
	if (f.lengths > 1)
		return http_refuse(mc, 400, "more than one Content-Length");
	if (f.codings && f.lengths)
		return http_refuse(mc, 400,
				   "Transfer-Encoding with Content-Length");
	if (f.codings > 1 || (f.codings && strcasecmp(f.coding, "chunked")))
		return http_refuse(mc, 501, "Transfer-Encoding not supported");
	cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
					 "Content-Length");
	/* libmicrohttpd answered a Content-Length it could not read. */
	if (cl)
		length = strtoull(cl, NULL, 10);
	if (!post) {
		/* No body is wanted: one sent is not read, but refused. */
		if (length || f.codings)
			return http_refuse(mc, 413, "no body expected");
		*refused = false;
		return MHD_YES;
	}
	if (!cl && !f.codings)
		return http_refuse(mc, 411, "Content-Length required");
	if (length > req->s->cfg.max_body)
		return http_too_large(req);
	*refused = false;
	return MHD_YES;
}

/* ---- calls -------------------------------------------------------------------- */

/* On a call thread. */
static void http_req_run(struct http_call *call)
{
	struct http_req *req = (struct http_req *)call;
	bool parked;

	req->park.s = req->s;
	req->park.conn = req->conn;  /* its client's address: http_park_peer */
	parked = req->s->fn(req->s->ctx, &req->park, req->proto,
			    req->body.buf, req->body.len, &req->out);
	xbt_buf_release(&req->body);
	if (!parked)
		req->done = true;  /* published by the resume's lock */
	else if (http_conn_park(req->s, req->conn, &req->park))
		return;  /* no thread holds it now */
	MHD_resume_connection(req->mc);
}

/*
 * Resumes deferred by a batch on this thread: answering many parks, then
 * resuming them together, wakes the event threads once rather than
 * letting them contend with the answering thread for each one.
 */
static _Thread_local struct {
	struct MHD_Connection **v;
	size_t n, cap;
	bool open;
} http_batch;

void http_park_batch_begin(void)
{
	http_batch.open = true;
}

static void http_park_batch_flush(void)
{
	for (size_t i = 0; i < http_batch.n; i++)
		MHD_resume_connection(http_batch.v[i]);
	http_batch.n = 0;
}

void http_park_batch_end(void)
{
	http_park_batch_flush();
	free(http_batch.v);
	memset(&http_batch, 0, sizeof(http_batch));
}

static struct http_req *http_req_of(struct http_park *p)
{
	return (struct http_req *)((char *)p - offsetof(struct http_req, park));
}

/* The answer is in req: resumes it now, or with the batch. */
static void http_park_resume(struct http_req *req)
{
	/* Still in the callback: http_req_run resumes it. */
	if (!http_conn_park_answered(req->s, &req->park))
		return;
	if (!http_batch.open) {
		MHD_resume_connection(req->mc);
		return;
	}
	if (http_batch.n == HTTP_BATCH_RESUMES)
		http_park_batch_flush();
	if (!http_batch.v)
		http_batch.v = xbt_calloc(HTTP_BATCH_RESUMES,
					  sizeof(*http_batch.v));
	http_batch.v[http_batch.n++] = req->mc;
}

void http_park_answer(struct http_park *p, xbt_buf *out)
{
	struct http_req *req = http_req_of(p);

	if (out) {
		req->out = *out;
		xbt_buf_init(out);
	} else {
		req->close_after = true;
	}
	req->done = true;
	http_park_resume(req);
}

void http_park_answer_shared(struct http_park *p, struct http_answer *a)
{
	struct http_req *req = http_req_of(p);

	atomic_fetch_add(&a->refs, 1);
	req->shared = a;
	req->done = true;
	http_park_resume(req);
}

void http_park_peer(const struct http_park *p, char *buf, size_t len)
{
	http_conn_peer(p->conn, buf, len);
}

bool http_park_gone(const struct http_park *p)
{
	return http_conn_park_gone(p->s, p);
}

void http_park_on_gone(struct http_park *p, void (*fn)(void *), void *arg)
{
	http_conn_park_on_gone(p->s, p, fn, arg);
}

/* The whole request is in: runs it here if quick, else on a call thread. */
static enum MHD_Result http_call(struct http_req *req)
{
	struct http_server *s = req->s;

	if (!atomic_load(&s->refusing) && s->cfg.quick &&
	    req->body.len <= HTTP_QUICK_MAX &&
	    s->cfg.quick(s->ctx, req->proto, req->body.buf, req->body.len,
			 &req->out)) {
		xbt_buf_release(&req->body);
		http_conn_set(s, req->conn, CONN_WRITING);
		return http_answer_buf(req->mc, http_type(req->proto),
				       &req->out);
	}
	if (!http_conn_begin_call(req->s, req->conn))
		return http_refuse(req->mc, 503, "the server is stopping");
	req->called = true;
	req->call.run = http_req_run;
	MHD_suspend_connection(req->mc);
	http_calls_submit(&req->s->calls, &req->call);
	return MHD_YES;
}

/* A GET or HEAD the daemon answers itself (http_config.page). */
static enum MHD_Result http_page(struct http_req *req, const char *url)
{
	struct http_page p = { .status = 404, .type = "text/plain" };
	struct MHD_Response *r;

	req->s->cfg.page(url ? url : "", &p);
	r = MHD_create_response_from_buffer(p.len, (void *)p.body,
					    MHD_RESPMEM_PERSISTENT);
	for (size_t i = 0; r && p.headers && p.headers[i] && p.headers[i + 1];
	     i += 2)
		MHD_add_response_header(r, p.headers[i], p.headers[i + 1]);
	return http_queue(req->mc, p.status, r, p.type, false);
}

/* The answer to a body-less request, once it is all in. */
static enum MHD_Result http_other(struct http_req *req, const char *method,
				  const char *url)
{
	if (strcmp(method, "OPTIONS") == 0)
		return http_answer(req->mc, 204, NULL, "", 0, false);
	if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
	    req->s->cfg.page)
		return http_page(req, url);
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return http_answer(req->mc, 200, "text/plain", http_page_text,
				   sizeof(http_page_text) - 1, false);
	return http_refuse(req->mc, 405, "method not allowed");
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *mc,
				   const char *url, const char *method,
				   const char *version, const char *upload,
				   size_t *upload_len, void **req_cls)
{
	struct http_server *s = cls;
	struct http_req *req = *req_cls;
	enum MHD_Result ret = MHD_YES;

	(void)version;
	/* http_uri_seen made it; none: a connection refused at accept. */
	if (!req || !req->conn)
		return MHD_NO;
	if (!req->seen) {
		bool refused;
		req->seen = true;
		req->proto = url && strcmp(url, "/jsonrpc") == 0 ?
			HTTP_JSONRPC : HTTP_XMLRPC;
		ret = http_check_headers(req, method, &refused);
		if (refused)
			http_conn_set(s, req->conn, CONN_WRITING);
		return ret;
	}
	if (*upload_len) {
		size_t n = *upload_len;
		*upload_len = 0;
		if (!req->too_large && req->body.len + n > s->cfg.max_body) {
			req->too_large = true;
			xbt_buf_release(&req->body);
		}
		if (!req->too_large)
			xbt_buf_add(&req->body, upload, n);
		else if ((req->dropped += n) > HTTP_DRAIN_MAX)
			return MHD_NO;  /* no end in sight: close */
		return MHD_YES;
	}
	if (req->done && req->close_after) {
		ret = MHD_NO;  /* the client is gone: no answer */
	} else if (req->done && req->shared) {
		/* libmicrohttpd counts its own reference to the response. */
		ret = MHD_queue_response(mc, 200, req->shared->r);
		http_answer_put(req->shared);
		req->shared = NULL;
		http_conn_set(s, req->conn, CONN_WRITING);
	} else if (req->done) {
		ret = http_answer_buf(mc, http_type(req->proto), &req->out);
		http_conn_set(s, req->conn, CONN_WRITING);
	} else if (req->called) {
		ret = MHD_YES;  /* resumed early: still running */
	} else if (strcmp(method, "POST") != 0) {
		ret = http_other(req, method, url);
		http_conn_set(s, req->conn, CONN_WRITING);
	} else if (req->too_large) {
		ret = http_too_large(req);
		http_conn_set(s, req->conn, CONN_WRITING);
	} else {
		ret = http_call(req);
	}
	return ret;
}

/* The request line is in: a request begins (its deadline too). */
static void *http_uri_seen(void *cls, const char *uri,
			   struct MHD_Connection *mc)
{
	struct http_server *s = cls;
	struct http_req *req = xbt_calloc(1, sizeof(*req));

	(void)uri;
	req->s = s;
	req->mc = mc;
	xbt_buf_init(&req->body);
	xbt_buf_init(&req->out);
	req->conn = http_conn_of(mc);
	if (req->conn && !http_conn_set(s, req->conn, CONN_READING))
		req->conn = NULL;  /* refused: the handler closes */
	return req;
}

static void http_req_done(void *cls, struct MHD_Connection *mc,
			  void **req_cls, enum MHD_RequestTerminationCode why)
{
	struct http_server *s = cls;
	struct http_req *req = *req_cls;

	(void)mc;
	(void)why;
	if (!req)
		return;
	if (req->conn)
		http_conn_set(s, req->conn, CONN_IDLE);
	xbt_buf_release(&req->body);
	xbt_buf_release(&req->out);
	http_answer_put(req->shared);
	free(req);
	*req_cls = NULL;
}

/* libmicrohttpd's messages are about clients, mostly: debug. The format
 * attribute tells clang's -Wformat-nonliteral that fmt is libmicrohttpd's. */
static void __attribute__((format(printf, 2, 0)))
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("http: libmicrohttpd: %s", line);
}

/* ---- start and stop ----------------------------------------------------------- */

/* INTERNAL_ERROR ["http: what[: strerror]"], raised at the caller. */
static xbt_error *http_fail_at(const char *file, int line, const char *func,
			       const char *what, int errnum)
{
	char msg[1024];

	if (errnum)
		snprintf(msg, sizeof(msg), "http: %s: %s", what,
			 strerror(errnum));
	else
		snprintf(msg, sizeof(msg), "http: %s", what);
	return xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR, msg,
			       (const char *)NULL);
}

#define http_fail(what, errnum) http_fail_at(XBT_HERE, (what), (errnum))

/*
 * A Unix-domain socket at path, mode 0600: the mode is set between bind
 * and listen, so nobody connects before it holds. A stale socket (nobody
 * accepts on it) is replaced; a live one or any other file is an error.
 */
static xbt_error *http_bind_unix(struct http_server *s, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	xbt_error *err = NULL;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		err = http_fail("socket path too long", 0);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = http_fail("socket", errno);
		goto out;
	}
	if (lstat(path, &st) == 0) {
		int probe;
		bool live;
		if (!S_ISSOCK(st.st_mode)) {
			err = http_fail("socket path exists and is not a socket",
					0);
			goto out;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		live = probe >= 0 && connect(probe, (struct sockaddr *)&sun,
					     sizeof(sun)) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			err = http_fail("another server listens on the socket",
					0);
			goto out;
		}
		unlink(path);
	}
	if (bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		err = http_fail("bind", errno);
		goto out;
	}
	s->unix_path = xbt_strdup(path);
	if (chmod(path, 0600) != 0)
		err = http_fail("chmod", errno);
out:
	return err;
}

/* Binds the listening socket; the port is known from here on. */
static xbt_error *http_bind(struct http_server *s, const char *addr,
			    unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1;
	xbt_error *err = NULL;

	memset(&ss, 0, sizeof(ss));
	if (port > 65535) {
		err = http_fail("port out of range", 0);
		goto out;
	}
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr)
	    == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*sin6);
	} else {
		err = http_fail("listen address is not numeric IPv4/IPv6", 0);
		goto out;
	}
	s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = http_fail("socket", errno);
		goto out;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Small answers go out at once (copied to accepted sockets). */
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&ss, sslen) != 0) {
		err = http_fail("bind", errno);
		goto out;
	}
	sslen = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &sslen) != 0) {
		err = http_fail("getsockname", errno);
		goto out;
	}
	s->port = ntohs(ss.ss_family == AF_INET ?
			((struct sockaddr_in *)&ss)->sin_port :
			((struct sockaddr_in6 *)&ss)->sin6_port);
out:
	return err;
}

static unsigned http_event_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < HTTP_EVENT_THREADS_MIN)
		n = HTTP_EVENT_THREADS_MIN;
	if (n > HTTP_EVENT_THREADS_MAX)
		n = HTTP_EVENT_THREADS_MAX;
	return (unsigned)n;
}

/* The configuration with its defaults filled in. */
static void http_resolve(struct http_config *c, const struct http_config *in)
{
	*c = *in;
	if (!c->addr)
		c->addr = HTTP_DEFAULT_ADDR;
	if (!c->max_body)
		c->max_body = HTTP_DEFAULT_MAX_BODY;
	if (!c->max_conn)
		c->max_conn = HTTP_DEFAULT_MAX_CONN;
	if (!c->max_conn_per_ip)
		c->max_conn_per_ip = HTTP_DEFAULT_MAX_CONN_PER_IP;
	if (!c->request_s)
		c->request_s = HTTP_DEFAULT_REQUEST_S;
	if (!c->keepalive_s)
		c->keepalive_s = HTTP_DEFAULT_KEEPALIVE;
	if (!c->stack_size)
		c->stack_size = HTTP_DEFAULT_STACK;
}

static void http_free(struct http_server *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->unix_path)
		unlink(s->unix_path);
	free(s->unix_path);
	free(s);
}

/*
 * Refuses new connections once stopping. MHD_quiesce_daemon would, but on
 * an epoll daemon with its own threads it races with the threads'
 * removal of the listening socket from their epoll sets and aborts the
 * process ("Failed to remove listen FD from epoll set", seen in a test
 * run; libmicrohttpd 0.9.75).
 */
static enum MHD_Result http_accept_policy(void *cls,
					  const struct sockaddr *addr,
					  socklen_t len)
{
	struct http_server *s = cls;

	(void)addr;
	(void)len;
	return atomic_load(&s->refusing) ? MHD_NO : MHD_YES;
}

xbt_error *http_start(const struct http_config *cfg, http_rpc_fn fn,
		      void *ctx, struct http_server **out)
{
	struct http_server *s = xbt_calloc(1, sizeof(*s));
	unsigned mhd_limit;
	xbt_error *err = NULL;

	*out = NULL;
	s->fd = -1;
	s->fn = fn;
	s->ctx = ctx;
	http_resolve(&s->cfg, cfg);
	/* A client that resets its connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (s->cfg.addr[0] == '/')
		err = XBT_PROPAGATE(http_bind_unix(s, s->cfg.addr));
	else
		err = XBT_PROPAGATE(http_bind(s, s->cfg.addr, s->cfg.port));
	if (err)
		goto fail;
	if (listen(s->fd, 1024) != 0) {
		err = http_fail("listen", errno);
		goto fail;
	}
	s->cfg.max_conn = http_conn_fd_budget(s->cfg.max_conn, &mhd_limit);
	http_calls_init(&s->calls, s->cfg.max_conn, s->cfg.stack_size);
	if ((err = XBT_PROPAGATE(http_conn_init(s))) ||
	    (err = XBT_PROPAGATE(http_conn_start_reaper(s))))
		goto fail_conn;
	s->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG,
		0, http_accept_policy, s, http_handle, s,
		/* First, so that no message goes to stderr unformatted. */
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
		MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_THREAD_POOL_SIZE, http_event_threads(),
		MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.keepalive_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_HEADER_LIMIT,
		MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, s,
		MHD_OPTION_URI_LOG_CALLBACK, http_uri_seen, s,
		MHD_OPTION_NOTIFY_COMPLETED, http_req_done, s,
		MHD_OPTION_END);
	if (!s->mhd) {
		err = http_fail("MHD_start_daemon failed", 0);
		http_conn_stop_reaper(s);
		goto fail_conn;
	}
	*out = s;
	goto out;
fail_conn:
	http_calls_stop(&s->calls);
	http_conn_fini(s);
fail:
	http_free(s);
out:
	return err;
}

unsigned http_port(const struct http_server *s)
{
	return s->port;
}

void http_refuse_calls(struct http_server *s)
{
	if (!s)
		return;
	/* No new connection (http_accept_policy), no new call on a kept
	 * one (http_conn_begin_call), no quick call. */
	atomic_store(&s->refusing, true);
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	/* No new connections (http_accept_policy). */
	atomic_store(&s->refusing, true);
	/* libmicrohttpd must not stop with a connection suspended. */
	http_conn_wait_calls(s);
	MHD_stop_daemon(s->mhd);
	s->fd = -1;  /* libmicrohttpd closed it */
	http_conn_stop_reaper(s);
	http_calls_stop(&s->calls);
	http_conn_fini(s);
	http_free(s);
}
