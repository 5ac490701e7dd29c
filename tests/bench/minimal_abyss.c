/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The baseline for tests/bench_server.py: the smallest XML-RPC server
 * xmlrpc-c's Abyss makes, answering one trivial method, "ping", with a
 * XenAPI-shaped {Status: "Success", Value: "pong"}. It runs with the same
 * Abyss settings as xbtd (connection limit, keep-alive), so the ratio
 * xbtd / baseline measures what xbtd adds on top of xmlrpc-c.
 *
 * usage: minimal_abyss PORT [MAX_CONN [KEEPALIVE_S [KEEPALIVE_MAX]]]
 * Prints "minimal_abyss listening on 127.0.0.1:PORT"; SIGTERM stops it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xmlrpc-c/abyss.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>
#include <xmlrpc-c/server_abyss.h>

static TServer server;

static xmlrpc_value *ping(xmlrpc_env *env, xmlrpc_value *params,
			  void *server_info, void *call_info)
{
	(void)params;
	(void)server_info;
	(void)call_info;
	return xmlrpc_build_value(env, "{s:s,s:s}", "Status", "Success",
				  "Value", "pong");
}

static unsigned long arg_number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "minimal_abyss: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

/* Waits for SIGTERM/SIGINT, then stops the server. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	sigwait(set, &sig);
	ServerTerminate(&server);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct xmlrpc_method_info3 ping_info = {
		.methodName = "ping",
		.methodFunction = ping,
	};
	unsigned long port, max_conn = 256, keepalive_s = 60,
		      keepalive_max = 100000;
	struct sockaddr_in sa;
	xmlrpc_registry *registry;
	TChanSwitch *chan;
	const char *error = NULL;
	xmlrpc_env env;
	pthread_t th;
	sigset_t set;

	if (argc < 2 || argc > 5) {
		fputs("usage: minimal_abyss PORT [MAX_CONN [KEEPALIVE_S "
		      "[KEEPALIVE_MAX]]]\n", stderr);
		return 2;
	}
	port = arg_number(argv[1], "port");
	if (argc > 2)
		max_conn = arg_number(argv[2], "max_conn");
	if (argc > 3)
		keepalive_s = arg_number(argv[3], "keepalive seconds");
	if (argc > 4)
		keepalive_max = arg_number(argv[4], "keepalive max");

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	xmlrpc_env_init(&env);
	xmlrpc_server_abyss_global_init(&env);
	registry = xmlrpc_registry_new(&env);
	if (!env.fault_occurred)
		xmlrpc_registry_add_method3(&env, registry, &ping_info);
	if (env.fault_occurred) {
		fprintf(stderr, "minimal_abyss: %s\n", env.fault_string);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ChanSwitchUnixCreate2(AF_INET, (const struct sockaddr *)&sa,
			      sizeof(sa), &chan, &error);
	if (error) {
		fprintf(stderr, "minimal_abyss: listen: %s\n", error);
		return 1;
	}
	ServerCreateSwitch(&server, chan, &error);
	if (error) {
		fprintf(stderr, "minimal_abyss: server: %s\n", error);
		return 1;
	}
	xmlrpc_server_abyss_set_handlers2(&server, "/RPC2", registry);
	xmlrpc_server_abyss_set_default_handler(&server);
	ServerSetMaxConn(&server, (unsigned)max_conn);
	ServerSetKeepaliveTimeout(&server, (xmlrpc_uint32_t)keepalive_s);
	ServerSetKeepaliveMaxConn(&server, (xmlrpc_uint32_t)keepalive_max);
	ServerSetAdvertise(&server, 0);
	ServerInit2(&server, &error);
	if (error) {
		fprintf(stderr, "minimal_abyss: init: %s\n", error);
		return 1;
	}
	pthread_create(&th, NULL, signal_thread, &set);
	printf("minimal_abyss listening on 127.0.0.1:%lu\n", port);
	fflush(stdout);
	ServerRun(&server);
	pthread_join(th, NULL);
	ServerFree(&server);
	ChanSwitchDestroy(chan);
	xmlrpc_registry_free(registry);
	xmlrpc_server_abyss_global_term();
	xmlrpc_env_clean(&env);
	return 0;
}
