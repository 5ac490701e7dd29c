/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every connection's state, the connection limits and the deadlines.
 *
 * libmicrohttpd has a connection limit and a per-IP limit, but past them
 * it closes new connections without a word, and its timeout is one of
 * inactivity, which a client sending a byte now and then never meets.
 * So the front keeps its own record of each connection (made and dropped
 * by libmicrohttpd's connection notifications, on the connection's event
 * thread) and:
 * - refuses a connection over a limit with a 503 written at once, then
 *   closes it (libmicrohttpd's own limit is set higher, as a backstop);
 * - runs a reaper thread that shuts down the socket of a connection past
 *   its deadline (doc/design.md, "The HTTP front"): libmicrohttpd then
 *   reads the end of the stream and closes the connection itself. The
 *   record is dropped under the lock before libmicrohttpd closes the
 *   descriptor, so the reaper never touches a descriptor reused since;
 * - watches the sockets of parked requests (libmicrohttpd does not look
 *   at suspended ones) for the client's end, and tells their holders.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_priv.h"
#include "log.h"
#include "xbt/xenapi.h"

#define HTTP_IP_BUCKETS 4096
/* How long a refused client has to read its 503 before the close. */
#define HTTP_REFUSED_LINGER_MS 1000
/* Answers still being written when the server stops get this long. */
#define HTTP_STOP_WRITE_MS 1000
/* After the client ends its stream, libmicrohttpd's time to answer what
 * came before the end. */
#define HTTP_PEER_CLOSED_GRACE_MS 300
/* The reaper's tick: deadlines are whole seconds. */
#define HTTP_REAPER_TICK_MS 200
/* Parked sockets' events handled per wake-up. */
#define HTTP_REAPER_EVENTS 64
/* Refusals are logged at most this often, with their count. */
#define HTTP_REFUSED_LOG_MS 10000
/* Descriptors beyond the connections: plugins, files, the daemon's own. */
#define HTTP_FD_MARGIN 512

/*
 * Answers written straight to a socket: a refusal, or a request's end at
 * its deadline, when libmicrohttpd has no response of ours to send.
 */
static void http_send_canned(int fd, const char *status, const char *body)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %s\r\n"
			 "Content-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n"
			 "Retry-After: 1\r\n"
			 "Connection: close\r\n"
			 "\r\n%s", status, strlen(body), body);

	if (n > 0 && (size_t)n < sizeof(msg))
		(void)send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* A park's on_gone hook, called once the lock is free. */
struct http_gone {
	void (*fn)(void *);
	void *arg;
};

static void http_park_mark_gone(struct http_server *s, struct http_park *p);

/* One client address and its connections. */
struct http_ip {
	struct http_ip *next;
	unsigned count;
	size_t len;
	unsigned char addr[16];
};

int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

xbt_error *http_conn_init(struct http_server *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	xbt_error *err = NULL;

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	LIST_INIT(&s->conns);
	LIST_INIT(&s->graveyard);
	s->ips = xbt_calloc(HTTP_IP_BUCKETS, sizeof(*s->ips));
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epfd < 0 || s->wakefd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &ev) != 0)
		err = xbt_error_raise(XBT_HERE, XBT_ERR_INTERNAL_ERROR,
				      "http: epoll or eventfd failed",
				      (const char *)NULL);
	return err;
}

void http_conn_fini(struct http_server *s)
{
	struct http_conn *conn;

	while ((conn = LIST_FIRST(&s->graveyard))) {
		LIST_REMOVE(conn, link);
		free(conn);
	}
	if (s->wakefd >= 0)
		close(s->wakefd);
	if (s->epfd >= 0)
		close(s->epfd);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s->ips);  /* empty: every connection was dropped */
}

/* ---- per-address counts --------------------------------------------------- */

/* The address's bytes (IPv4 or IPv6), or 0 for one that has none. */
static size_t http_addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	size_t len = 0;

	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		len = 4;
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		len = 16;
	}
	return len;
}

static unsigned http_addr_hash(const unsigned char *key, size_t len)
{
	uint32_t h = 2166136261u;  /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % HTTP_IP_BUCKETS;
}

/* Under s->lock: the address's record, made on first use. */
static struct http_ip *http_ip_get(struct http_server *s,
				   const unsigned char *key, size_t len)
{
	struct http_ip **head = &s->ips[http_addr_hash(key, len)];
	struct http_ip *ip;

	for (ip = *head; ip; ip = ip->next)
		if (ip->len == len && memcmp(ip->addr, key, len) == 0)
			return ip;
	ip = xbt_calloc(1, sizeof(*ip));
	ip->len = len;
	memcpy(ip->addr, key, len);
	ip->next = *head;
	*head = ip;
	return ip;
}

/* Under s->lock. */
static void http_ip_put(struct http_server *s, struct http_ip *ip)
{
	struct http_ip **p;

	if (--ip->count > 0)
		return;
	for (p = &s->ips[http_addr_hash(ip->addr, ip->len)]; *p != ip;
	     p = &(*p)->next)
		;
	*p = ip->next;
	free(ip);
}

/* ---- records ---------------------------------------------------------------- */

/* Under s->lock: the counts of busy connections follow the state. */
static void http_conn_state(struct http_server *s, struct http_conn *conn,
			    enum http_conn_state state)
{
	if (conn->state == CONN_CALLING)
		s->ncalling--;
	else if (conn->state == CONN_PARKED)
		s->nparked--;
	else if (conn->state == CONN_WRITING)
		s->nwriting--;
	if (state == CONN_CALLING)
		s->ncalling++;
	else if (state == CONN_PARKED)
		s->nparked++;
	else if (state == CONN_WRITING)
		s->nwriting++;
	if (s->stopping && (conn->state == CONN_CALLING ||
			    conn->state == CONN_PARKED ||
			    conn->state == CONN_WRITING))
		pthread_cond_broadcast(&s->idle);
	conn->state = state;
	conn->since_ms = http_now_ms();
}

/*
 * Under s->lock: (re)arms the one-shot watch for the client's end of the
 * stream. libmicrohttpd's edge-triggered reads can miss an end that came
 * with the last bytes, which would leave the connection open until its
 * deadline: the reaper sees it instead.
 */
static void http_conn_watch(struct http_server *s, struct http_conn *conn,
			    int op)
{
	struct epoll_event ev = {
		.events = EPOLLRDHUP | EPOLLONESHOT,
		.data.ptr = conn,
	};

	if (conn->fd >= 0)
		epoll_ctl(s->epfd, op, conn->fd, &ev);
}

/*
 * Under s->lock: the client ended its stream. A connection still reading
 * is ended by the reaper's next pass a little later (libmicrohttpd may
 * yet answer what came before the end); a parked one is gone (the caller
 * calls the hook); one being served learns it when it parks or goes idle.
 */
static bool http_conn_peer_closed(struct http_server *s,
				  struct http_conn *conn, struct http_gone *g)
{
	bool hook = false;

	conn->peer_closed = true;
	conn->peer_closed_ms = http_now_ms();
	switch (conn->state) {
	case CONN_IDLE:
	case CONN_READING:
	case CONN_REFUSED:
		break;
	case CONN_PARKED:
		if (conn->park->gone)
			break;
		g->fn = conn->park->on_gone;
		g->arg = conn->park->on_gone_arg;
		http_park_mark_gone(s, conn->park);
		hook = true;
		break;
	case CONN_CALLING:
	case CONN_WRITING:
	case CONN_CLOSING:
		break;
	}
	return hook;
}

/* Tells the client why it is refused; the socket is new and empty. */
static void http_refuse(struct http_server *s, struct http_conn *conn,
			bool per_ip)
{
	int64_t now = http_now_ms();

	http_send_canned(conn->fd, "503 Service Unavailable", per_ip ?
			 "too many connections from one address\n" :
			 "too many connections\n");
	shutdown(conn->fd, SHUT_WR);
	s->refused++;
	if (now - s->refused_logged_ms >= HTTP_REFUSED_LOG_MS) {
		log_warn("http: refused %u connection(s) over the limit of %u "
			 "(%u per address)", s->refused, s->cfg.max_conn,
			 s->cfg.max_conn_per_ip);
		s->refused = 0;
		s->refused_logged_ms = now;
	}
}

static void http_conn_open(struct http_server *s, struct MHD_Connection *mc,
			   void **socket_context)
{
	const union MHD_ConnectionInfo *fdi =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct http_conn *conn = xbt_calloc(1, sizeof(*conn));
	unsigned char key[16];
	size_t keylen = http_addr_key(ai ? ai->client_addr : NULL, key);
	bool over_total, over_ip = false;

	conn->fd = fdi ? fdi->connect_fd : -1;
	pthread_mutex_lock(&s->lock);
	LIST_INSERT_HEAD(&s->conns, conn, link);
	over_total = ++s->nconn > s->cfg.max_conn;
	if (keylen) {
		conn->ip = http_ip_get(s, key, keylen);
		over_ip = ++conn->ip->count > s->cfg.max_conn_per_ip;
	}
	http_conn_state(s, conn, CONN_IDLE);
	http_conn_watch(s, conn, EPOLL_CTL_ADD);
	if (over_total || over_ip) {
		http_conn_state(s, conn, CONN_REFUSED);
		http_refuse(s, conn, !over_total);
	}
	pthread_mutex_unlock(&s->lock);
	*socket_context = conn;
}

static void http_conn_close(struct http_server *s, struct http_conn *conn)
{
	pthread_mutex_lock(&s->lock);
	/* Before libmicrohttpd closes the descriptor. */
	if (conn->fd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
	http_conn_state(s, conn, CONN_CLOSING);
	LIST_REMOVE(conn, link);
	s->nconn--;
	if (conn->ip)
		http_ip_put(s, conn->ip);
	LIST_INSERT_HEAD(&s->graveyard, conn, link);
	pthread_mutex_unlock(&s->lock);
}

void http_conn_notify(void *cls, struct MHD_Connection *mc,
		      void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		http_conn_open(s, mc, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		http_conn_close(s, *socket_context);
		*socket_context = NULL;
	}
}

void http_conn_peer(const struct http_conn *conn, char *buf, size_t len)
{
	/* conn->ip lives as long as the connection: no lock needed. */
	const struct http_ip *ip = conn ? conn->ip : NULL;

	if (!ip || !inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->addr, buf,
			      (socklen_t)len))
		snprintf(buf, len, "unix");
}

struct http_conn *http_conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

bool http_conn_set(struct http_server *s, struct http_conn *conn,
		   enum http_conn_state state)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = conn->state != CONN_CLOSING && conn->state != CONN_REFUSED;
	if (ok)
		http_conn_state(s, conn, state);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

bool http_conn_begin_call(struct http_server *s, struct http_conn *conn)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = !s->stopping && !atomic_load(&s->refusing) &&
	     conn->state != CONN_CLOSING;
	if (ok)
		http_conn_state(s, conn, CONN_CALLING);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* ---- parks ------------------------------------------------------------------ */

static void http_conn_wake_reaper(struct http_server *s)
{
	uint64_t one = 1;

	(void)!write(s->wakefd, &one, sizeof(one));
}

/* Under s->lock (the one-shot watch needs no undoing). */
static void http_park_mark_gone(struct http_server *s, struct http_park *p)
{
	(void)s;
	p->gone = true;
}

bool http_conn_park(struct http_server *s, struct http_conn *conn,
		    struct http_park *p)
{
	void (*gone_fn)(void *) = NULL;
	void *gone_arg = NULL;
	bool parked;

	pthread_mutex_lock(&s->lock);
	parked = p->state != PARK_ANSWERED;
	if (parked) {
		p->state = PARK_PARKED;
		p->conn = conn;
		conn->park = p;
		http_conn_state(s, conn, CONN_PARKED);
		/* Watched again: an end seen while the call ran is known. */
		http_conn_watch(s, conn, EPOLL_CTL_MOD);
		if (s->stopping || conn->peer_closed) {
			if (!p->gone) {
				gone_fn = p->on_gone;
				gone_arg = p->on_gone_arg;
			}
			p->gone = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (gone_fn)
		gone_fn(gone_arg);
	return parked;
}

bool http_conn_park_answered(struct http_server *s, struct http_park *p)
{
	bool was_parked;

	pthread_mutex_lock(&s->lock);
	was_parked = p->state == PARK_PARKED;
	if (was_parked) {
		p->conn->park = NULL;
		http_conn_state(s, p->conn, CONN_CALLING);
	}
	p->state = PARK_ANSWERED;
	pthread_mutex_unlock(&s->lock);
	return was_parked;
}

bool http_conn_park_gone(struct http_server *s, const struct http_park *p)
{
	bool gone;

	pthread_mutex_lock(&s->lock);
	gone = p->gone;
	pthread_mutex_unlock(&s->lock);
	return gone;
}

void http_conn_park_on_gone(struct http_server *s, struct http_park *p,
			    void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&s->lock);
	p->on_gone = fn;
	p->on_gone_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

/* Calls the hooks of n parks just marked gone, no lock held. */
static void http_gone_call(struct http_gone *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g[i].fn)
			g[i].fn(g[i].arg);
}

void http_conn_wait_calls(struct http_server *s)
{
	struct http_gone *gone;
	struct http_conn *conn;
	size_t n = 0;
	int64_t write_until;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	http_conn_wake_reaper(s);
	/* Every parked request is told to answer: nobody waits for it. */
	gone = xbt_calloc(s->nparked + 1, sizeof(*gone));
	LIST_FOREACH(conn, &s->conns, link) {
		if (conn->state != CONN_PARKED || conn->park->gone)
			continue;
		gone[n].fn = conn->park->on_gone;
		gone[n++].arg = conn->park->on_gone_arg;
		http_park_mark_gone(s, conn->park);
	}
	pthread_mutex_unlock(&s->lock);
	http_gone_call(gone, n);
	free(gone);
	pthread_mutex_lock(&s->lock);
	/* Calls are waited for without a bound, as a stop always did. */
	while (s->ncalling > 0 || s->nparked > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	write_until = http_now_ms() + HTTP_STOP_WRITE_MS;
	while (s->nwriting > 0 && http_now_ms() < write_until) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->idle, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- the reaper ---------------------------------------------------------------- */

/* Under s->lock: whether conn's time in its state is up. */
static bool http_conn_expired(const struct http_server *s,
			      const struct http_conn *conn, int64_t now)
{
	int64_t age = now - conn->since_ms;
	bool ended = conn->peer_closed &&
		now - conn->peer_closed_ms >= HTTP_PEER_CLOSED_GRACE_MS;

	switch (conn->state) {
	case CONN_IDLE:
		return ended || age >= (int64_t)s->cfg.keepalive_s * 1000;
	case CONN_READING:
		return ended || age >= (int64_t)s->cfg.request_s * 1000;
	case CONN_REFUSED:
		return ended || age >= HTTP_REFUSED_LINGER_MS;
	case CONN_CALLING:
	case CONN_PARKED:
	case CONN_WRITING:
	case CONN_CLOSING:
		break;
	}
	return false;
}

/* Under s->lock: ends the connections past their deadlines. */
static void http_conn_expire(struct http_server *s)
{
	struct http_conn *conn;
	int64_t now = http_now_ms();

	LIST_FOREACH(conn, &s->conns, link) {
		if (conn->fd < 0 || !http_conn_expired(s, conn, now))
			continue;
		/* A request begun: say why it ends. */
		if (conn->state == CONN_READING && !conn->peer_closed)
			http_send_canned(conn->fd, "408 Request Timeout",
					 "the request took too long to "
					 "arrive\n");
		shutdown(conn->fd, SHUT_RDWR);
		http_conn_state(s, conn, CONN_CLOSING);
	}
}

static void *http_reaper(void *arg)
{
	struct http_server *s = arg;
	struct epoll_event ev[HTTP_REAPER_EVENTS];
	struct http_gone gone[HTTP_REAPER_EVENTS];
	struct http_conn *conn;
	int64_t next_expiry = 0;

	log_name_thread("http-reaper");
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		size_t ngone = 0;
		int n;

		/* No event of the last wait names these any more. */
		while ((conn = LIST_FIRST(&s->graveyard))) {
			LIST_REMOVE(conn, link);
			free(conn);
		}
		if (http_now_ms() >= next_expiry) {
			http_conn_expire(s);
			next_expiry = http_now_ms() + HTTP_REAPER_TICK_MS;
		}
		pthread_mutex_unlock(&s->lock);
		n = epoll_wait(s->epfd, ev, HTTP_REAPER_EVENTS,
			       HTTP_REAPER_TICK_MS);
		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < n; i++) {
			conn = ev[i].data.ptr;
			if (!conn) {
				uint64_t v;
				(void)!read(s->wakefd, &v, sizeof(v));
				continue;
			}
			/* Closed since (in the graveyard): nothing to do. */
			if (conn->state != CONN_CLOSING &&
			    http_conn_peer_closed(s, conn, &gone[ngone]))
				ngone++;
		}
		if (ngone) {
			pthread_mutex_unlock(&s->lock);
			http_gone_call(gone, ngone);
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

xbt_error *http_conn_start_reaper(struct http_server *s)
{
	sigset_t all, old;
	xbt_error *err = NULL;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&s->reaper, NULL, http_reaper, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "http: pthread_create: %s",
			 strerror(rc));
		err = xbt_error_raise(XBT_HERE, XBT_ERR_INTERNAL_ERROR, msg,
				      (const char *)NULL);
	}
	return err;
}

void http_conn_stop_reaper(struct http_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	http_conn_wake_reaper(s);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->reaper, NULL);
}

/* ---- descriptors ------------------------------------------------------------------ */

unsigned http_conn_fd_budget(unsigned max_conn, unsigned *mhd_limit)
{
	struct rlimit rl;
	/* libmicrohttpd's own limit: ours plus room for refused clients. */
	rlim_t mhd = (rlim_t)max_conn * 2 + 1024;
	unsigned ours = max_conn;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = rl.rlim_max = 1024;
	if (rl.rlim_cur < mhd + HTTP_FD_MARGIN) {
		rl.rlim_cur = mhd + HTTP_FD_MARGIN < rl.rlim_max ?
			mhd + HTTP_FD_MARGIN : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < mhd + HTTP_FD_MARGIN)
		mhd = rl.rlim_cur > 2 * HTTP_FD_MARGIN ?
			rl.rlim_cur - HTTP_FD_MARGIN : HTTP_FD_MARGIN;
	if (mhd < max_conn) {
		ours = (unsigned)mhd;
		log_warn("http: %u connections need more descriptors than "
			 "RLIMIT_NOFILE's %llu: serving at most %u", max_conn,
			 (unsigned long long)rl.rlim_cur, ours);
	}
	*mhd_limit = (unsigned)mhd;
	return ours;
}
