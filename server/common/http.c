/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP front: Abyss's ServerRun on our own listening socket, with one
 * request handler that answers every request itself (Abyss's built-in file
 * handler never runs).
 *
 * Why ServerRun and not our own accept loop with ServerRunConn2: in
 * xmlrpc-c 1.33, ServerRunChannel (which ServerRunConn2 calls) sets the
 * server's keepalivemaxconn to 1, so every connection it runs closes after
 * one request. ServerRun keeps connections alive and runs each in a thread
 * of its own; what we add is the shutdown: after ServerTerminate, ServerRun
 * interrupts the idle connections at once but then polls for their threads
 * with 2 s usleep()s. http_stop cuts each of those sleeps short with a
 * signal, so stopping takes milliseconds.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/abyss.h>

#include "xbt/wire.h"
#include "http.h"
#include "http_body.h"
#include "log.h"
#include "xbt/xenapi.h"

/* Requests served on one connection before Abyss closes it. */
#define HTTP_MAX_REQUESTS_PER_CONN 100000
/* Seconds a client may take to send the rest of a started request. */
#define HTTP_READ_TIMEOUT 30
/* Bytes handed to one ResponseWriteBody (its length is 32-bit). */
#define HTTP_WRITE_PIECE (1u << 20)
/* How often http_stop pokes the server thread while it waits. */
#define HTTP_POKE_NS (5 * 1000 * 1000)

static const char http_page_text[] =
	"xbtd: a XenAPI server.\n"
	"POST XML-RPC to any path, JSON-RPC to /jsonrpc.\n";

struct http_server {
	TServer abyss;
	TChanSwitch *chanswitch;
	int fd;
	unsigned port;
	char *unix_path;      /* bound here: unlinked at stop */
	size_t max_body;
	http_rpc_fn fn;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;            /* ServerRun returned; under lock */
};

/* ---- responses ----------------------------------------------------------- */

/*
 * Abyss writes the status line, each header and the body with separate
 * send()s: nine TCP segments for one small answer, which costs more than
 * the call itself. Corking the socket around a response makes it one
 * segment. Abyss hides the socket, but runs one thread per connection, so
 * each thread finds its connection's descriptor once, by the peer address
 * Abyss does report, and keeps it.
 */
static _Thread_local int http_conn_fd = -1;
static _Thread_local struct sockaddr http_conn_peer;

static int http_session_fd(TSession *ses)
{
	void *info = NULL;
	const struct abyss_unix_chaninfo *ci;
	DIR *dir;
	struct dirent *de;

	SessionGetChannelInfo(ses, &info);
	ci = info;
	if (!ci || (ci->peerAddr.sa_family != AF_INET &&
		    ci->peerAddr.sa_family != AF_INET6))
		return -1;
	if (http_conn_fd >= 0 &&
	    memcmp(&http_conn_peer, &ci->peerAddr, sizeof(ci->peerAddr)) == 0)
		return http_conn_fd;
	http_conn_fd = -1;
	memcpy(&http_conn_peer, &ci->peerAddr, sizeof(ci->peerAddr));
	if (!(dir = opendir("/proc/self/fd")))
		return -1;
	while ((de = readdir(dir)) && http_conn_fd < 0) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = atoi(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(dir))
			continue;
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 &&
		    plen >= sizeof(ci->peerAddr) &&
		    memcmp(&peer, &ci->peerAddr, sizeof(ci->peerAddr)) == 0)
			http_conn_fd = fd;
	}
	closedir(dir);
	return http_conn_fd;
}

static void http_cork(int fd, int on)
{
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

static void http_respond(TSession *ses, unsigned status, const char *type,
			 const char *body, size_t len, bool send_body)
{
	int fd = http_session_fd(ses);

	http_cork(fd, 1);
	ResponseStatus(ses, (xmlrpc_uint16_t)status);
	if (type)
		ResponseContentType(ses, type);
	if (status != 204)
		ResponseContentLength(ses, len);
	ResponseAddField(ses, "Access-Control-Allow-Origin", "*");
	ResponseWriteStart(ses);
	for (size_t off = 0; send_body && off < len;) {
		size_t n = len - off;
		if (n > HTTP_WRITE_PIECE)
			n = HTTP_WRITE_PIECE;
		if (!ResponseWriteBody(ses, body + off, (xmlrpc_uint32_t)n))
			break;  /* the client went away */
		off += n;
	}
	ResponseWriteEnd(ses);
	http_cork(fd, 0); /* sends what is corked, at once */
}

/*
 * The connection cannot carry another request (part of this one's body is
 * still unread, or its framing was bad): Abyss then answers with
 * "Connection: close" and closes. TRequestInfo is public and the session
 * owns it; Abyss only reads the flag when deciding on keep-alive.
 */
static void http_close_after(TSession *ses)
{
	const TRequestInfo *ri;

	SessionGetRequestInfo(ses, &ri);
	((TRequestInfo *)ri)->keepalive = false;
}

static void http_error(TSession *ses, unsigned status, const char *why)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addf(&b, "%s\n", why);
	http_close_after(ses);
	http_respond(ses, status, "text/plain", b.buf, b.len, true);
	xbt_buf_release(&b);
}

static void http_too_large(struct http_server *s, TSession *ses,
			   enum http_proto proto)
{
	char limit[32];
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *err;

	snprintf(limit, sizeof(limit), "%zu", s->max_body);
	err = XBT_RAISE_REQUEST_TOO_LARGE(limit);
	/* The request was not parsed: no id, so v1 with a null id. */
	if (proto == HTTP_JSONRPC)
		xbt_wire_jsonrpc_failure(&b, false, "null", err);
	else
		xbt_wire_xml_failure(&b, err);
	xbt_error_free(err);
	http_close_after(ses);
	http_respond(ses, 200, proto == HTTP_JSONRPC ? XBT_JSON_CONTENT_TYPE :
		     XBT_XML_CONTENT_TYPE, b.buf, b.len, true);
	xbt_buf_release(&b);
}

/* ---- requests -------------------------------------------------------------- */

static void http_post(struct http_server *s, TSession *ses,
		      const TRequestInfo *ri)
{
	/* ri->uri is the path alone, without the query. */
	enum http_proto proto = ri->uri && strcmp(ri->uri, "/jsonrpc") == 0 ?
		HTTP_JSONRPC : HTTP_XMLRPC;
	const char *te = RequestHeaderValue(ses, "transfer-encoding");
	const char *cl = RequestHeaderValue(ses, "content-length");
	xbt_buf body = XBT_BUF_INIT, out = XBT_BUF_INIT;
	enum body_result res;
	uint64_t length = 0;

	if (te) {
		while (*te == ' ' || *te == '\t')
			te++;
		if (strcasecmp(te, "chunked") != 0) {
			http_error(ses, 501, "Transfer-Encoding not supported");
			goto out;
		}
		res = http_body_read_chunked(s->max_body, ses, &body);
	} else if (!cl) {
		http_error(ses, 411, "Content-Length required");
		goto out;
	} else if (!http_parse_length(cl, &length)) {
		http_error(ses, 400, "bad Content-Length");
		goto out;
	} else {
		res = http_body_read_length(s->max_body, ses, length, &body);
	}
	switch (res) {
	case BODY_OK:
		break;
	case BODY_TOO_LARGE:
		log_info("http: refused a request body over %zu bytes",
			 s->max_body);
		http_too_large(s, ses, proto);
		if (!te)
			http_body_drain(ses, length);
		goto out;
	case BODY_BAD:
		http_error(ses, 400, "bad chunked body");
		goto out;
	case BODY_LOST:
		/* Timed out or gone: nobody may be listening any more. */
		http_error(ses, 408, "request body incomplete");
		goto out;
	}
	s->fn(s->ctx, proto, body.buf, body.len, &out);
	http_respond(ses, 200, proto == HTTP_JSONRPC ? XBT_JSON_CONTENT_TYPE :
		     XBT_XML_CONTENT_TYPE, out.buf, out.len, true);
out:
	xbt_buf_release(&body);
	xbt_buf_release(&out);
}

static void http_handle(void *arg, TSession *ses, abyss_bool *handled)
{
	struct http_server *s = arg;
	const TRequestInfo *ri;

	/* Every request is ours: Abyss's fallback would serve files. */
	*handled = true;
	SessionGetRequestInfo(ses, &ri);
	switch (ri->method) {
	case m_post:
		http_post(s, ses, ri);
		break;
	case m_options:
		ResponseAddField(ses, "Access-Control-Allow-Methods",
				 "POST, OPTIONS");
		ResponseAddField(ses, "Access-Control-Allow-Headers",
				 "Content-Type");
		ResponseAddField(ses, "Access-Control-Max-Age", "86400");
		http_respond(ses, 204, NULL, "", 0, false);
		break;
	case m_get:
	case m_head:
		http_respond(ses, 200, "text/plain", http_page_text,
			     sizeof(http_page_text) - 1, ri->method == m_get);
		break;
	default:
		ResponseAddField(ses, "Allow", "GET, HEAD, POST, OPTIONS");
		http_error(ses, 405, "method not allowed");
		break;
	}
}

/* ---- the server thread ------------------------------------------------------ */

static void http_wake(int sig)
{
	(void)sig;  /* only there to make usleep() return early */
}

/*
 * Abyss's connection threads inherit this thread's mask: they take no
 * asynchronous signal (main waits for those), except the wake-up signal,
 * which interrupts nothing of theirs that matters.
 */
static void http_thread_mask(void)
{
	static const int sync_signals[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS,
	};
	sigset_t set;

	sigfillset(&set);
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]);
	     i++)
		sigdelset(&set, sync_signals[i]);
	sigdelset(&set, HTTP_WAKE_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
}

static void *http_run(void *arg)
{
	struct http_server *s = arg;

	http_thread_mask();
	ServerRun(&s->abyss);
	pthread_mutex_lock(&s->lock);
	s->done = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
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

/* Takes Abyss's error string (malloc'd; xmlrpc_strfree is private). */
static xbt_error *http_abyss_fail_at(const char *file, int line,
				     const char *func, const char *what,
				     const char *abyss_err)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", what, abyss_err);
	free((char *)abyss_err);
	return http_fail_at(file, line, func, msg, 0);
}

#define http_abyss_fail(what, abyss_err) \
	http_abyss_fail_at(XBT_HERE, (what), (abyss_err))

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
	/*
	 * Abyss sends each header line with its own send(); with Nagle the
	 * last pieces of a response can wait for the client's delayed ACK.
	 * Linux copies TCP_NODELAY from the listening socket to accepted ones.
	 */
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

/* How far http_start got, for undoing it. */
enum http_made { MADE_NOTHING, MADE_ABYSS, MADE_SWITCH, MADE_SERVER,
		 MADE_LOCKS };

static void http_unmake(struct http_server *s, enum http_made made)
{
	if (made >= MADE_LOCKS) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
	}
	if (made >= MADE_SERVER)
		ServerFree(&s->abyss);
	if (made >= MADE_SWITCH)
		ChanSwitchDestroy(s->chanswitch);
	if (made >= MADE_ABYSS)
		AbyssTerm();
	if (s->fd >= 0)
		close(s->fd);
	if (s->unix_path)
		unlink(s->unix_path);
	free(s->unix_path);
	free(s);
}

xbt_error *http_start(const struct http_config *cfg, http_rpc_fn fn,
		      void *ctx, struct http_server **out)
{
	struct http_server *s = xbt_calloc(1, sizeof(*s));
	struct ServerReqHandler3 handler = { 0 };
	struct sigaction sa;
	pthread_attr_t attr;
	const char *aerr = NULL;
	abyss_bool ok = false;
	xbt_error *err = NULL;
	int rc;
	enum http_made made = MADE_NOTHING;

	*out = NULL;
	s->fd = -1;
	s->fn = fn;
	s->ctx = ctx;
	s->max_body = cfg->max_body ? cfg->max_body : HTTP_DEFAULT_MAX_BODY;

	/* A client that resets its connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = http_wake;  /* no SA_RESTART: usleep must return */
	sigemptyset(&sa.sa_mask);
	sigaction(HTTP_WAKE_SIGNAL, &sa, NULL);

	if (cfg->addr && cfg->addr[0] == '/')
		err = XBT_PROPAGATE(http_bind_unix(s, cfg->addr));
	else
		err = XBT_PROPAGATE(http_bind(s, cfg->addr ? cfg->addr :
					      HTTP_DEFAULT_ADDR, cfg->port));
	if (err)
		goto out;
	AbyssInit(&aerr);
	if (aerr) {
		err = http_abyss_fail("AbyssInit", aerr);
		goto out;
	}
	made = MADE_ABYSS;
	ChanSwitchUnixCreateFd(s->fd, &s->chanswitch, &aerr);
	if (aerr) {
		err = http_abyss_fail("ChanSwitchUnixCreateFd", aerr);
		goto out;
	}
	made = MADE_SWITCH;
	ServerCreateSwitch(&s->abyss, s->chanswitch, &aerr);
	if (aerr) {
		err = http_abyss_fail("ServerCreateSwitch", aerr);
		goto out;
	}
	made = MADE_SERVER;
	ServerSetName(&s->abyss, "xbtd");
	ServerSetAdvertise(&s->abyss, false);
	ServerSetKeepaliveTimeout(&s->abyss, cfg->keepalive_s ?
				  cfg->keepalive_s : HTTP_DEFAULT_KEEPALIVE);
	ServerSetKeepaliveMaxConn(&s->abyss, HTTP_MAX_REQUESTS_PER_CONN);
	ServerSetTimeout(&s->abyss, HTTP_READ_TIMEOUT);
	/* Abyss's default of 15 stalls the 16th keep-alive client. */
	ServerSetMaxConn(&s->abyss, cfg->max_conn ? cfg->max_conn :
			 HTTP_DEFAULT_MAX_CONN);
	ServerSetMaxConnBacklog(&s->abyss, 128);
	handler.handleReq = http_handle;
	handler.userdata = s;
	/* Abyss sizes its connection threads' stacks from this. */
	handler.handleReqStackSize = cfg->stack_size ? cfg->stack_size :
		HTTP_DEFAULT_STACK;
	ServerAddHandler3(&s->abyss, &handler, &ok);
	if (!ok) {
		err = http_fail("ServerAddHandler3 failed", 0);
		goto out;
	}
	ServerInit2(&s->abyss, &aerr);
	if (aerr) {
		err = http_abyss_fail("ServerInit2", aerr);
		goto out;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	made = MADE_LOCKS;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&s->thread, &attr, http_run, s);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		err = http_fail("pthread_create", rc);
out:
	if (err)
		http_unmake(s, made);
	else
		*out = s;
	return err;
}

unsigned http_port(const struct http_server *s)
{
	return s->port;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	/* Stops accepting and interrupts idle connections. */
	ServerTerminate(&s->abyss);
	pthread_mutex_lock(&s->lock);
	while (!s->done) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += HTTP_POKE_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &until);
		if (!s->done)
			pthread_kill(s->thread, HTTP_WAKE_SIGNAL);
	}
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	http_unmake(s, MADE_LOCKS);
}
