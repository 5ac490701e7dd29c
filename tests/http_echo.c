/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A test server on the HTTP front: every RPC is answered with a XenAPI
 * success whose value is "proto:<xml|json> len:<body bytes>".
 *
 *   tests/http_echo [--addr A] [--port N] [the daemons' HTTP options]
 *
 * A body that starts with "sleep:N" makes the callback sleep N ms first
 * (a slow call); "park:N" parks the request and answers it N ms later
 * from another thread (no answer, the connection closed, when the client
 * goes first or the server stops); one that starts with "stack" makes it use 512 KiB of
 * stack (more than a default small thread stack). Prints "listening on PORT" once ready; SIGTERM or SIGINT
 * stop it (exit status 0), after "http_stop took N ms" on stderr.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "options.h"

/*
 * Touches a 512 KiB stack array page by page from its top down, so that a
 * smaller stack ends at its guard page (SIGSEGV) rather than in whatever
 * lies further below. noinline keeps the array in this frame.
 */
static __attribute__((noinline)) size_t echo_deep_stack(void)
{
	volatile char big[512 * 1024];
	size_t sum = 0;

	for (size_t i = sizeof(big); i >= 4096; i -= 4096)
		big[i - 1] = (char)i;
	for (size_t i = sizeof(big); i >= 4096; i -= 4096)
		sum += (unsigned char)big[i - 1];
	return sum;
}

static void echo_answer(enum http_proto proto, size_t len, xbt_buf *out)
{
	if (proto == HTTP_JSONRPC)
		xbt_buf_addf(out, "{\"result\":\"proto:json len:%zu\","
			     "\"error\":null,\"id\":null}", len);
	else
		xbt_buf_addf(out, "<?xml version=\"1.0\"?><methodResponse>"
			     "<params><param><value><struct>"
			     "<member><name>Status</name>"
			     "<value>Success</value></member>"
			     "<member><name>Value</name>"
			     "<value>proto:xml len:%zu</value></member>"
			     "</struct></value></param></params>"
			     "</methodResponse>", len);
}

/* A parked request, answered by a thread of its own after ms. */
struct echo_park {
	struct http_park *park;
	enum http_proto proto;
	size_t len;
	long ms;
};

static void *echo_park_thread(void *arg)
{
	struct echo_park *ep = arg;
	xbt_buf out = XBT_BUF_INIT;

	/* Until the time is up or the client goes. */
	for (long waited = 0; waited < ep->ms && !http_park_gone(ep->park);
	     waited += 5) {
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (http_park_gone(ep->park)) {
		http_park_answer(ep->park, NULL);
	} else {
		echo_answer(ep->proto, ep->len, &out);
		http_park_answer(ep->park, &out);
	}
	xbt_buf_release(&out);
	free(ep);
	return NULL;
}

static bool echo_rpc(void *ctx, struct http_park *park, enum http_proto proto,
		     const char *body, size_t len, xbt_buf *out)
{
	(void)ctx;
	if (park && len > 5 && memcmp(body, "park:", 5) == 0) {
		struct echo_park *ep = xbt_calloc(1, sizeof(*ep));
		pthread_attr_t attr;
		pthread_t t;
		ep->park = park;
		ep->proto = proto;
		ep->len = len;
		ep->ms = strtol(body + 5, NULL, 10);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, echo_park_thread, ep) != 0)
			xbt_fatalx("http_echo: pthread_create");
		pthread_attr_destroy(&attr);
		return true;
	}
	if (len > 6 && memcmp(body, "sleep:", 6) == 0) {
		long ms = strtol(body + 6, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		if (ms > 0 && ms < 60000)
			nanosleep(&ts, NULL);
	}
	if (len >= 5 && memcmp(body, "stack", 5) == 0)
		echo_deep_stack();
	echo_answer(proto, len, out);
	return false;
}

static struct http_config echo_cfg;
static const char *echo_addr = "127.0.0.1";
static int echo_log_level;

static const struct opt echo_options[] = {
	{ "addr", OPT_STRING, &echo_addr, "127.0.0.1", NULL, NULL, 0, 0, NULL,
	  "A", "numeric address, or an absolute path (Unix-domain socket)" },
	/* Wider than TCP's, so that http_start's own check is tested. */
	{ "port", OPT_UINT, &echo_cfg.port, "0", NULL, NULL, 0, 1000000, NULL,
	  "N", "TCP port (0: any free one)" },
	HTTP_OPTIONS(echo_cfg),
	{ "log-level", OPT_CUSTOM, &echo_log_level, "warn", NULL, NULL, 0, 0,
	  opt_parse_log_level, "LEVEL", "error, warn, info or debug" },
};

int main(int argc, char **argv)
{
	struct http_server *srv;
	struct timespec t0, t1;
	xbt_error *err;
	sigset_t set;
	int sig, status;

	status = opt_parse(echo_options,
			   sizeof(echo_options) / sizeof(echo_options[0]),
			   "http_echo", "test", argc, argv);
	if (status)
		return status;
	echo_cfg.addr = echo_addr;
	log_init("http_echo", (enum log_level)echo_log_level, false);
	/* Blocked before any thread starts, so only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((err = http_start(&echo_cfg, echo_rpc, NULL, &srv))) {
		char *s = xbt_error_summary(err);
		fprintf(stderr, "http_echo: %s\n", s);
		free(s);
		xbt_error_free(err);
		return 1;
	}
	printf("listening on %u\n", http_port(srv));
	fflush(stdout);
	sigwait(&set, &sig);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_stop(srv);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "http_stop took %ld ms\n",
		(long)((t1.tv_sec - t0.tv_sec) * 1000 +
		       (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return 0;
}
