/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbt-opsd: start-up, the housekeeping loop, and shutdown. Runs in the
 * foreground; SIGTERM or SIGINT stop it, and so does the end of standard
 * input with --watch-stdin. Its VMs stay in its state directory: a new
 * opsd on the same directory takes them back.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>

#include "child.h"
#include "log.h"
#include "opsd.h"

/* Waits for a stop: a signal, or stdin's end. Housekeeping every second. */
static int main_loop(int sfd)
{
	struct pollfd p[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = opsd_conf.watch_stdin ? 0 : -1, .events = POLLIN },
	};

	for (;;) {
		int rc = poll(p, 2, 1000);
		struct timespec now;

		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc > 0 && p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD)
				child_reap_orphans();
			else if (si.ssi_signo == SIGHUP)
				log_reopen();
			else
				return (int)si.ssi_signo;
		}
		if (rc > 0 && p[1].revents) {
			char buf[256];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				log_info("standard input closed");
				return 0;
			}
		}
		if (rc == 0)
			child_reap_orphans(); /* what SIGCHLD could not see */
		clock_gettime(CLOCK_REALTIME, &now);
		opsd_task_gc((int64_t)now.tv_sec);
	}
}

int main(int argc, char **argv)
{
	struct http_server *http = NULL;
	sigset_t set;
	xbt_error *err = NULL;
	int status = opsd_config_parse(argc, argv);
	int sfd = -1, why;

	if (status)
		return status;
	log_init("xbt-opsd", (enum log_level)opsd_conf.log_level, opsd_conf.syslog);
	if (opsd_conf.log_file && !log_open_file(opsd_conf.log_file)) {
		fprintf(stderr, "xbt-opsd: --log-file %s: %s\n",
			opsd_conf.log_file, strerror(errno));
		return 1;
	}
	/* A client that resets its connection must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	opsd_sweeper_start(); /* before threads, and before the lock */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Orphans of its plugins (helpers they left) come to opsd. */
	child_be_subreaper();
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "xbt-opsd: signalfd: %s\n", strerror(errno));
		return 1;
	}
	xbt_set_process("xbt-opsd", opsd_conf.hostname);
	log_set_thread_name("main");
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID,
			 opsd_conf.http.max_body + 1024);
	{
		struct sm_config sc = { .sm_dir = opsd_conf.sm_dir };
		sm_init(&sc); /* before threads: raises a process-wide limit */
	}
	if ((err = XBT_PROPAGATE(opsd_state_open(opsd_conf.state_dir))))
		goto out;
	opsd_task_init();
	worker_start(opsd_conf.workers, 0);
	opsd_vm_recover();
	opsd_conf.http.addr = opsd_conf.socket_path;
	if ((err = XBT_PROPAGATE(http_start(&opsd_conf.http, opsd_dispatch_http,
					    NULL,
					    &http)))) {
		opsd_task_cancel_all();
		worker_stop();
		opsd_task_shutdown();
		goto out;
	}
	log_info("xbt-opsd %s listening on %s as %s, plugins in %s",
		 PACKAGE_VERSION, opsd_conf.socket_path, xbt_process(),
		 opsd_conf.sm_dir ? opsd_conf.sm_dir : "the install location");
	/* xbtd and tests wait for this line on stdout. */
	printf("xbt-opsd listening on %s\n", opsd_conf.socket_path);
	fflush(stdout);
	why = main_loop(sfd);
	log_info("stopping (%s)", why > 0 ? strsignal(why) : "stdin closed");
	/* Running jobs stop at once and undo; waiters return. */
	opsd_task_cancel_all();
	http_stop(http);
	worker_stop();
	opsd_task_shutdown();
out:
	if (err) {
		char *s = xbt_error_summary(err);
		fprintf(stderr, "xbt-opsd: %s\n", s);
		free(s);
		xbt_error_free(err);
		status = 1;
	}
	opsd_sweeper_stop();
	opsd_vm_shutdown_all();
	opsd_state_close();
	close(sfd);
	return status;
}
