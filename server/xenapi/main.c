/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd: start-up, the housekeeping loop, and shutdown. Runs in the
 * foreground; SIGTERM or SIGINT stop it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>

#include "child.h"
#include "evlog.h"
#include "http.h"
#include "log.h"
#include "sm.h"
#include "xbtd.h"


xbt_error *session_load_users(const char *path);
void session_free_users(void);

/* SIGHUP, as daemons have it: reopen the log file (logrotate), reread the
 * users file (a bad one is logged and the old users stay), and pass the
 * signal on to the xbt-opsd xbtd started. */
static void main_reload(void)
{
	xbt_error *err;

	log_reopen();
	log_info("SIGHUP: reloading");
	if (xbtd_conf.users_file) {
		if ((err = session_load_users(xbtd_conf.users_file))) {
			log_backtrace(LOG_LEVEL_ERROR,
				      "users file not reloaded, the old users "
				      "stay", err);
			xbt_error_free(err);
		} else {
			log_info("users file %s reloaded", xbtd_conf.users_file);
		}
	}
	ops_signal_own(SIGHUP);
}

static bool main_is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	       strcmp(addr, "localhost") == 0;
}

/* The options, and the rules that tie several of them together. */
static int main_options(int argc, char **argv)
{
	int status = config_parse(argc, argv);

	if (status)
		return status;
	/* Off loopback, root's password must be one a guesser cannot know
	 * (doc/design.md, "Logins"). */
	if (!main_is_loopback(xbtd_conf.listen_addr)) {
		const char *pw = xbtd_conf.password;
		const char *why = !pw ? "the default password" :
			!pw[0] ? "an empty password" :
			strcmp(pw, XBTD_DEFAULT_PASSWORD) == 0 ?
			"the default password, given explicitly" : NULL;

		if (why) {
			fprintf(stderr, "xbtd: refusing to listen on %s with %s "
				"for root; set a non-empty --password or "
				"XBT_PASSWORD other than \"%s\"\n",
				xbtd_conf.listen_addr, why,
				XBTD_DEFAULT_PASSWORD);
			return 2;
		}
	}
	log_init("xbtd", (enum log_level)xbtd_conf.log_level, xbtd_conf.syslog);
	/* Absolute: the opsd xbtd runs is given the same file. */
	if (xbtd_conf.log_file && xbtd_conf.log_file[0] != '/') {
		static char abs_log[4096];
		char cwd[3072];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(abs_log, sizeof(abs_log), "%s/%s", cwd,
				     xbtd_conf.log_file) >= sizeof(abs_log)) {
			fprintf(stderr, "xbtd: --log-file %s: path too long\n",
				xbtd_conf.log_file);
			return 1;
		}
		xbtd_conf.log_file = abs_log;
	}
	if (xbtd_conf.log_file && !log_open_file(xbtd_conf.log_file)) {
		fprintf(stderr, "xbtd: --log-file %s: %s\n", xbtd_conf.log_file,
			strerror(errno));
		return 1;
	}
	return 0;
}

/* Reaps while it waits: plugins end with a SIGCHLD. */
static void main_nap(void)
{
	struct timespec nap = { 0, 20 * 1000000L };

	nanosleep(&nap, NULL);
	child_reap_orphans();
}

/*
 * SIGTERM's first steps (doc/design.md, "Stopping"): no new call from now
 * on, and no queued Async call starts (each ends TASK_CANCELLED); the
 * operations in flight get --shutdown-grace seconds to end, then are
 * cancelled (their undo steps run, their tasks end cancelled), and are
 * waited for.
 */
static void main_drain(struct http_server *http)
{
	int64_t until = http_now_ms() + (int64_t)xbtd_conf.shutdown_grace_s * 1000;
	unsigned n;

	http_refuse_calls(http);
	dispatch_stop_begin();
	while ((n = dispatch_running()) > 0 && http_now_ms() < until)
		main_nap();
	if (!n)
		return;
	log_warn("shutdown: %u operations still running after %u s: "
		 "cancelling them", n, xbtd_conf.shutdown_grace_s);
	task_cancel_all();
	ops_cancel_all();
	pbd_cancel_all();
	while (dispatch_running() > 0)
		main_nap();
	log_info("shutdown: the cancelled operations have ended");
}

/* Signals are taken synchronously by the main thread only. */
static void main_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	/* A client that resets its connection must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct http_server *http = NULL;
	sigset_t set;
	xbt_error *err = NULL;
	int status = main_options(argc, argv);
	int sig = 0;
	bool restart = false;
	bool loaded = false;

	if (status)
		return status;
	if (xbtd_conf.db_check) {
		if (!xbtd_conf.db_file) {
			fprintf(stderr, "xbtd: --check needs --db FILE\n");
			return 2;
		}
		return db_check(xbtd_conf.db_file);
	}
	main_block_signals(&set);
	/* The plugins of an xbt-opsd killed mid-call come to xbtd, which
	 * reaps them (child.c), whatever the machine's init does. */
	child_be_subreaper();
	xbt_set_process("xbtd", xbtd_conf.hostname);
	log_set_thread_name("main");
	/* Requests are bounded by --max-body; xmlrpc-c's own limit follows. */
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID,
			 xbtd_conf.http.max_body + 1024);
	{
		struct sm_config sc = { .sm_dir = xbtd_conf.sm_dir };
		sm_init(&sc); /* before threads: raises a process-wide limit */
	}
	evlog_init(xbtd_conf.event_history);
	event_wait_start();
	store_init();
	if ((err = XBT_PROPAGATE(role_init(xbtd_conf.state_dir))))
		goto out;
	/* The objects: the database's, or this host, the pool and the world
	 * (which then seed an empty database). A slave keeps no world and
	 * no database: the pool's objects are the master's. */
	if (xbtd_conf.db_file && role_is_slave()) {
		if ((err = XBT_PROPAGATE(db_open(xbtd_conf.db_file))) ||
		    (err = XBT_PROPAGATE(db_clear())))
			goto out;
		db_stop();
		log_info("a slave keeps no database: --db %s emptied",
			 xbtd_conf.db_file);
	} else if (xbtd_conf.db_file &&
		 ((err = XBT_PROPAGATE(db_open(xbtd_conf.db_file))) ||
		  (err = XBT_PROPAGATE(db_load(&loaded)))))
		goto out;
	if (loaded &&
	    (err = XBT_PROPAGATE(host_resume(xbtd_conf.hostname,
					     xbtd_conf.listen_addr))))
		goto out;
	if (!loaded)
		host_init(xbtd_conf.hostname, xbtd_conf.listen_addr);
	if (xbtd_conf.users_file &&
	    (err = XBT_PROPAGATE(session_load_users(xbtd_conf.users_file))))
		goto out;
	if (!role_is_slave() && !loaded &&
	    (err = XBT_PROPAGATE(world_init(xbtd_conf.world_file))))
		goto out;
	if (xbtd_conf.db_file && !role_is_slave()) {
		if (!loaded && (err = XBT_PROPAGATE(db_seed())))
			goto out;
		db_start();
	}
	if ((err = XBT_PROPAGATE(ops_start())))
		goto out;
	worker_start(xbtd_conf.workers, xbtd_conf.async_queue);
	xbtd_conf.http.addr = xbtd_conf.listen_addr;
	xbtd_conf.http.port = xbtd_conf.listen_port;
	xbtd_conf.http.quick = dispatch_http_quick;
	xbtd_conf.http.page = ui_page;
	if ((err = XBT_PROPAGATE(http_start(&xbtd_conf.http, dispatch_http, NULL,
					    &http)))) {
		worker_stop();
		ops_stop();
		goto out;
	}
	if ((err = XBT_PROPAGATE(pool_start(http_port(http))))) {
		http_stop(http);
		worker_stop();
		ops_stop();
		goto out;
	}
	log_info("xbtd %s listening on %s:%u as %s, plugins in %s, %s malloc",
		 PACKAGE_VERSION, xbtd_conf.listen_addr, http_port(http),
		 xbt_process(), xbtd_conf.sm_dir, XBT_ALLOCATOR);
	/* Tests and scripts wait for this line on stdout. */
	printf("xbtd listening on %s:%u\n", xbtd_conf.listen_addr, http_port(http));
	fflush(stdout);
	for (int64_t last = 0;;) {
		struct timespec tick = { 1, 0 };
		int64_t now;
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			main_reload();
		if ((restart = role_restart_due(now_seconds())))
			break;
		/* Every plugin's end is a SIGCHLD: reap, but keep the
		 * housekeeping to its pace. */
		child_reap_orphans();
		now = now_seconds();
		if (sig == SIGCHLD && now == last)
			continue;
		last = now;
		session_expire(now);
		task_gc(now);
		event_gc();
		ops_supervise(now);
		pool_liveness();
	}
	if (restart)
		log_info("a new role in the pool: restarting");
	else
		log_info("signal %d: shutting down", sig);
	if (!restart)
		main_drain(http);
	pool_stop();
	evlog_stop();
	http_stop(http);
	event_wait_stop();
	worker_stop();
	/* The opsd xbtd started stays for the new image to adopt. */
	if (restart)
		ops_pool_drain();
	else
		ops_stop();
out:
	if (err) {
		char *s = xbt_error_summary(err);
		fprintf(stderr, "xbtd: %s\n", s);
		free(s);
		xbt_error_free(err);
		status = 1;
	}
	event_wait_stop();  /* none parked unless served: stopped by now */
	db_stop();          /* commits what is queued */
	task_shutdown();
	login_limit_shutdown();
	store_shutdown();
	event_shutdown();
	evlog_shutdown();
	session_free_users();
	role_shutdown();
	if (restart) {
		/* As xapi after a join or an eject: the same program, anew,
		 * in its new role. Our descriptors are close-on-exec. */
		fflush(NULL);
		execv("/proc/self/exe", xbtd_conf.argv);
		fprintf(stderr, "xbtd: cannot restart: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}
