/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP front's own floor for tests/bench_server.py: libmicrohttpd set
 * up as server/common/http.c sets it up (epoll, one event thread per CPU,
 * 2 to 8), answering every POST, once its body is read, with one fixed
 * XenAPI-shaped {Status: "Success", Value: "pong"} from the event thread:
 * no parsing, no dispatch. xbtd / this floor is what xbtd's own work costs.
 *
 * usage: minimal_mhd PORT
 * Prints "minimal_mhd listening on 127.0.0.1:PORT"; SIGTERM stops it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static const char reply[] =
	"<?xml version=\"1.0\"?><methodResponse><params><param><value>"
	"<struct><member><name>Status</name><value>Success</value></member>"
	"<member><name>Value</name><value>pong</value></member></struct>"
	"</value></param></params></methodResponse>";

static struct MHD_Response *response;

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **req_cls)
{
	static int seen;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (!*req_cls) {          /* the headers: read the body */
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_len) {        /* the body: dropped */
		*upload_len = 0;
		return MHD_YES;
	}
	return MHD_queue_response(c, 200, response);
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	struct sockaddr_in sin;
	unsigned long port;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sigset_t set;
	int sig;

	if (argc != 2 || (port = strtoul(argv[1], NULL, 10)) == 0 ||
	    port > 65535) {
		fprintf(stderr, "usage: minimal_mhd PORT\n");
		return 2;
	}
	ncpu = ncpu < 2 ? 2 : ncpu > 8 ? 8 : ncpu;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	response = MHD_create_response_from_buffer(sizeof(reply) - 1,
						   (void *)reply,
						   MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(response, "Content-Type", "text/xml");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD,
			     (uint16_t)port, NULL, NULL, handle, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)ncpu,
			     MHD_OPTION_CONNECTION_TIMEOUT, 60u,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "minimal_mhd: MHD_start_daemon: %s\n",
			strerror(errno));
		return 1;
	}
	printf("minimal_mhd listening on 127.0.0.1:%lu\n", port);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(response);
	return 0;
}
