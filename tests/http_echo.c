/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A test server on the HTTP front: every RPC is answered with a XenAPI
 * success whose value is "proto:<xml|json> len:<body bytes>".
 *
 *   tests/http_echo [--addr A] [--port N] [--max-body N]
 *
 * A body that starts with "sleep:N" makes the callback sleep N ms first
 * (a slow call); one that starts with "stack" makes it use 512 KiB of
 * stack (more than Abyss's default thread stack). Prints "listening on PORT" once ready; SIGTERM or SIGINT
 * stop it (exit status 0), after "http_stop took N ms" on stderr.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

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

static void echo_rpc(void *ctx, enum http_proto proto, const char *body,
		     size_t len, xbt_buf *out)
{
	(void)ctx;
	if (len > 6 && memcmp(body, "sleep:", 6) == 0) {
		long ms = strtol(body + 6, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		if (ms > 0 && ms < 60000)
			nanosleep(&ts, NULL);
	}
	if (len >= 5 && memcmp(body, "stack", 5) == 0)
		echo_deep_stack();
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

static unsigned long echo_number(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end) {
		fprintf(stderr, "http_echo: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "max-body", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_config cfg = { .addr = "127.0.0.1" };
	struct http_server *srv;
	struct timespec t0, t1;
	xbt_error *err;
	sigset_t set;
	int c, sig;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			cfg.addr = optarg;
			break;
		case 'p':
			cfg.port = (unsigned)echo_number(optarg, "port");
			break;
		case 'm':
			cfg.max_body = echo_number(optarg, "max-body");
			break;
		default:
			fprintf(stderr, "usage: http_echo [--addr A] [--port N] "
				"[--max-body N]\n");
			return 2;
		}
	}
	/* Blocked before any thread starts, so only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((err = http_start(&cfg, echo_rpc, NULL, &srv))) {
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
