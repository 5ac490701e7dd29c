/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd: start-up, the housekeeping loop, and shutdown. Runs in the
 * foreground; SIGTERM or SIGINT stop it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>

#include "evlog.h"
#include "http.h"
#include "log.h"
#include "sm.h"
#include "xbtd.h"


static const char usage_text[] =
	"usage: xbtd [options]\n"
	"  --listen ADDR:PORT     where to serve the XenAPI (default 127.0.0.1:8080)\n"
	"  --hostname NAME        this host's name (default: the machine's)\n"
	"  --password PW          root's password (or XBT_PASSWORD; default \"xbt\",\n"
	"                         accepted only while listening on loopback)\n"
	"  --users FILE           more users, lines of user:crypt(3)-hash\n"
	"  --sm-dir DIR           storage plugins (default: the build tree's when run\n"
	"                         from it, else " XBT_SM_DIR ")\n"
	"  --world FILE           load the world from FILE (default: the demo world)\n"
	"  --workers N            threads for Async calls (default 32)\n"
	"  --plugin-timeout S     seconds a plugin may run (default 30)\n"
	"  --session-idle S       idle sessions expire after S seconds (default 86400)\n"
	"  --task-max N           finished tasks kept at most (default 1000)\n"
	"  --task-max-age S       finished tasks kept this long (default 3600)\n"
	"  --max-body BYTES       request size limit (default 4194304)\n"
	"  --event-history N      events kept for event.from (default 10000)\n"
	"  --log-level LEVEL      error|warn|info|debug (default info)\n"
	"  --syslog               log to syslog instead of stderr\n"
	"  --help, --version\n";

xbt_error *session_load_users(const char *path);
void session_free_users(void);

static bool main_number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static bool main_listen(const char *arg)
{
	const char *colon = strrchr(arg, ':');
	unsigned long port;
	size_t len;
	bool ok = false;

	if (!colon || !main_number(colon + 1, 65535, &port))
		goto out;
	len = (size_t)(colon - arg);
	if (len && arg[0] == '[' && arg[len - 1] == ']') {
		arg++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(xbtd_conf.listen_addr))
		goto out;
	memcpy(xbtd_conf.listen_addr, arg, len);
	xbtd_conf.listen_addr[len] = '\0';
	xbtd_conf.listen_port = (unsigned)port;
	ok = true;
out:
	return ok;
}

static bool main_is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	       strcmp(addr, "localhost") == 0;
}

/* The plugins of the build tree when this binary runs from it. */
static const char *main_default_sm_dir(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	static const char build_server[] = XBT_BUILDDIR "/server/";

	if (n > 0) {
		self[n] = '\0';
		if (strncmp(self, build_server, strlen(build_server)) == 0 ||
		    strstr(self, XBT_BUILDDIR "/server/.libs/") == self)
			return XBT_BUILDDIR "/server/plugins";
	}
	return XBT_SM_DIR;
}

static int main_options(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_HOSTNAME, O_PASSWORD, O_USERS, O_SM_DIR,
	       O_WORLD, O_WORKERS, O_PLUGIN_TIMEOUT, O_SESSION_IDLE,
	       O_TASK_MAX, O_TASK_MAX_AGE, O_MAX_BODY, O_LOG_LEVEL, O_SYSLOG,
	       O_HELP, O_VERSION, O_EVENT_HISTORY };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "hostname", required_argument, NULL, O_HOSTNAME },
		{ "password", required_argument, NULL, O_PASSWORD },
		{ "users", required_argument, NULL, O_USERS },
		{ "sm-dir", required_argument, NULL, O_SM_DIR },
		{ "world", required_argument, NULL, O_WORLD },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "plugin-timeout", required_argument, NULL, O_PLUGIN_TIMEOUT },
		{ "session-idle", required_argument, NULL, O_SESSION_IDLE },
		{ "task-max", required_argument, NULL, O_TASK_MAX },
		{ "task-max-age", required_argument, NULL, O_TASK_MAX_AGE },
		{ "max-body", required_argument, NULL, O_MAX_BODY },
		{ "log-level", required_argument, NULL, O_LOG_LEVEL },
		{ "syslog", no_argument, NULL, O_SYSLOG },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ "event-history", required_argument, NULL, O_EVENT_HISTORY },
		{ NULL, 0, NULL, 0 },
	};
	int level = LOG_LEVEL_INFO;
	bool use_syslog = false;
	bool hostname_given = false, sm_dir_given = false;
	unsigned long n;
	int c;

	if (getenv("XBT_PASSWORD"))
		xbtd_conf.password = getenv("XBT_PASSWORD");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case O_LISTEN: ok = main_listen(optarg); break;
		case O_HOSTNAME:
			ok = optarg[0] && strlen(optarg) < sizeof(xbtd_conf.hostname);
			hostname_given = ok;
			if (ok)
				snprintf(xbtd_conf.hostname,
					 sizeof(xbtd_conf.hostname), "%s", optarg);
			break;
		case O_PASSWORD: xbtd_conf.password = optarg; break;
		case O_USERS: xbtd_conf.users_file = optarg; break;
		case O_SM_DIR:
			xbtd_conf.sm_dir = optarg;
			sm_dir_given = true;
			break;
		case O_WORLD: xbtd_conf.world_file = optarg; break;
		case O_WORKERS:
			ok = main_number(optarg, 1024, &n) && n > 0;
			xbtd_conf.workers = (unsigned)n;
			break;
		case O_PLUGIN_TIMEOUT:
			ok = main_number(optarg, 86400, &n) && n > 0;
			xbtd_conf.plugin_timeout_s = (unsigned)n;
			break;
		case O_SESSION_IDLE:
			ok = main_number(optarg, UINT_MAX, &n);
			xbtd_conf.session_idle_s = (unsigned)n;
			break;
		case O_TASK_MAX:
			ok = main_number(optarg, UINT_MAX, &n);
			xbtd_conf.task_max = (unsigned)n;
			break;
		case O_TASK_MAX_AGE:
			ok = main_number(optarg, UINT_MAX, &n);
			xbtd_conf.task_max_age_s = (unsigned)n;
			break;
		case O_MAX_BODY:
			ok = main_number(optarg, 1024ul * 1024 * 1024, &n) &&
			     n >= 4096;
			xbtd_conf.max_body = n;
			break;
		case O_LOG_LEVEL:
			level = log_level_parse(optarg);
			ok = level >= 0;
			break;
		case O_SYSLOG: use_syslog = true; break;
		case O_EVENT_HISTORY:
			ok = main_number(optarg, 10000000, &n) && n >= 16;
			xbtd_conf.event_history = (unsigned)n;
			break;
		case O_HELP: fputs(usage_text, stdout); exit(0);
		case O_VERSION: puts("xbtd " PACKAGE_VERSION); exit(0);
		default: fputs(usage_text, stderr); return 2;
		}
		if (!ok) {
			fprintf(stderr, "xbtd: bad value for --%s: %s\n",
				opts[c - O_LISTEN].name, optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xbtd: unexpected argument: %s\n", argv[optind]);
		return 2;
	}
	if (!hostname_given &&
	    gethostname(xbtd_conf.hostname, sizeof(xbtd_conf.hostname) - 1))
		snprintf(xbtd_conf.hostname, sizeof(xbtd_conf.hostname),
			 "localhost");
	if (!sm_dir_given)
		xbtd_conf.sm_dir = main_default_sm_dir();
	if (!xbtd_conf.password && !main_is_loopback(xbtd_conf.listen_addr)) {
		fprintf(stderr, "xbtd: refusing to listen on %s with the default "
			"password; set --password or XBT_PASSWORD\n",
			xbtd_conf.listen_addr);
		return 2;
	}
	log_init((enum log_level)level, use_syslog);
	return 0;
}

/* Signals are taken synchronously by the main thread only. */
static void main_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	/* A client that resets its connection must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct http_config hc = { 0 };
	struct http_server *http = NULL;
	sigset_t set;
	xbt_error *err = NULL;
	int status = main_options(argc, argv);
	int sig = 0;

	if (status)
		return status;
	main_block_signals(&set);
	xbt_set_process("xbtd", xbtd_conf.hostname);
	log_set_thread_name("main");
	/* Requests are bounded by --max-body; xmlrpc-c's own limit follows. */
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, xbtd_conf.max_body + 1024);
	{
		struct sm_config sc = { .sm_dir = xbtd_conf.sm_dir };
		sm_init(&sc); /* before threads: raises a process-wide limit */
	}
	evlog_init(xbtd_conf.event_history);
	store_init();
	host_init(xbtd_conf.hostname, xbtd_conf.listen_addr);
	if (xbtd_conf.users_file &&
	    (err = XBT_PROPAGATE(session_load_users(xbtd_conf.users_file))))
		goto out;
	if ((err = XBT_PROPAGATE(world_init(xbtd_conf.world_file))))
		goto out;
	worker_start(xbtd_conf.workers);
	hc.addr = xbtd_conf.listen_addr;
	hc.port = xbtd_conf.listen_port;
	hc.max_body = xbtd_conf.max_body;
	hc.max_conn = 256;
	hc.stack_size = 2u * 1024 * 1024;
	hc.keepalive_s = 60;
	if ((err = XBT_PROPAGATE(http_start(&hc, dispatch_http, NULL, &http)))) {
		worker_stop();
		goto out;
	}
	log_info("xbtd %s listening on %s:%u as %s, plugins in %s",
		 PACKAGE_VERSION, xbtd_conf.listen_addr, http_port(http),
		 xbt_process(), xbtd_conf.sm_dir);
	/* Tests and scripts wait for this line on stdout. */
	printf("xbtd listening on %s:%u\n", xbtd_conf.listen_addr, http_port(http));
	fflush(stdout);
	for (;;) {
		struct timespec tick = { 1, 0 };
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		int64_t now = now_seconds();
		session_expire(now);
		task_gc(now);
		event_gc();
	}
	log_info("signal %d: shutting down", sig);
	evlog_stop();
	http_stop(http);
	worker_stop();
out:
	if (err) {
		char *s = xbt_error_summary(err);
		fprintf(stderr, "xbtd: %s\n", s);
		free(s);
		xbt_error_free(err);
		status = 1;
	}
	store_shutdown();
	event_shutdown();
	evlog_shutdown();
	session_free_users();
	return status;
}
