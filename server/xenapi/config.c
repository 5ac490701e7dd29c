/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd's options: one table gives each option's default, bounds and help,
 * and feeds the parser and --help alike (server/common/options.h). The
 * defaults are the modules' own named constants. doc/xbtd.8 agrees with
 * --help (tests/options.sh checks it).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "log.h"
#include "options.h"
#include "sm.h"
#include "xbtd.h"

struct xbtd_config xbtd_conf;

/* ADDR:PORT, the address in brackets for IPv6. */
static bool config_listen(const char *arg, void *dest)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	unsigned long port;
	size_t len;

	(void)dest;
	if (!colon || !colon[1])
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return false;
	len = (size_t)(colon - arg);
	if (len >= 2 && arg[0] == '[' && arg[len - 1] == ']') {
		arg++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(xbtd_conf.listen_addr))
		return false;
	memcpy(xbtd_conf.listen_addr, arg, len);
	xbtd_conf.listen_addr[len] = '\0';
	xbtd_conf.listen_port = (unsigned)port;
	return true;
}

/*
 * A default directory: root_dir as root, else $env/xbt when env is set to
 * an absolute path shorter than env_max, else fallback; then
 * "/<prefix><hostname>", the name made safe for a path.
 */
static void config_default_dir(char *out, size_t size, const char *root_dir,
			       const char *env, size_t env_max,
			       const char *fallback, const char *prefix)
{
	const char *e = getenv(env);
	size_t n;

	if (geteuid() == 0)
		n = (size_t)snprintf(out, size, "%s/%s", root_dir, prefix);
	else if (e && e[0] == '/' && strlen(e) < env_max)
		n = (size_t)snprintf(out, size, "%s/xbt/%s", e, prefix);
	else
		n = (size_t)snprintf(out, size, "%s/%s", fallback, prefix);
	for (const char *h = xbtd_conf.hostname; *h && n + 1 < size; h++)
		out[n++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
				  "OPQRSTUVWXYZ0123456789.-_", *h) ? *h : '_';
	out[n < size ? n : size - 1] = '\0';
}

/* An absolute path that fits the role's buffers. */
static bool config_state_dir(const char *arg, void *dest)
{
	*(const char **)dest = arg;
	return arg[0] == '/' && strlen(arg) <= ROLE_DIR_MAX;
}

/* The default --state-dir: /var/lib/xbt as root, else $XDG_STATE_HOME/xbt,
 * else ~/.local/state/xbt; then xbtd-<hostname>. */
static void config_default_state_dir(void)
{
	const char *home = getenv("HOME");
	char fallback[128];

	snprintf(fallback, sizeof(fallback), "%s/.local/state/xbt",
		 home && home[0] == '/' && strlen(home) < 100 ? home : "/tmp");
	config_default_dir(xbtd_conf.state_dir_default,
			   sizeof(xbtd_conf.state_dir_default), "/var/lib/xbt",
			   "XDG_STATE_HOME", 100, fallback, "xbtd-");
	xbtd_conf.state_dir = xbtd_conf.state_dir_default;
}

/* An absolute path short enough for the socket in it. */
static bool config_opsd_dir(const char *arg, void *dest)
{
	*(const char **)dest = arg;
	return arg[0] == '/' && strlen(arg) <= OPS_DIR_MAX;
}

static const struct opt config_table[] = {
	{ "listen", OPT_CUSTOM, NULL, "127.0.0.1:8080", NULL, NULL, 0, 0,
	  config_listen, "ADDR:PORT", "where to serve the XenAPI" },
	{ "hostname", OPT_CUSTOM, xbtd_conf.hostname, NULL,
	  "the machine's name", NULL, 0, 0, opt_parse_hostname, "NAME",
	  "this host's name" },
	{ "password", OPT_STRING, &xbtd_conf.password, NULL,
	  XBTD_DEFAULT_PASSWORD ", on loopback only", "XBT_PASSWORD", 0, 0,
	  NULL, "PW", "root's password" },
	{ "users", OPT_STRING, &xbtd_conf.users_file, NULL, "none", NULL, 0,
	  0, NULL, "FILE", "more users, lines of user:crypt(3)-hash" },
	{ "sm-dir", OPT_STRING, &xbtd_conf.sm_dir, NULL,
	  "the build tree's when run from it, else the installed ones", NULL,
	  0, 0, NULL, "DIR", "storage plugins" },
	{ "world", OPT_STRING, &xbtd_conf.world_file, NULL, "the demo world",
	  NULL, 0, 0, NULL, "FILE", "load the world from FILE" },
	{ "db", OPT_STRING, &xbtd_conf.db_file, NULL,
	  "none: the objects live in memory only", NULL, 0, 0, NULL, "FILE",
	  "keep the objects in the SQLite database FILE (doc/design.md, "
	  "\"Persistence\"); the world seeds an empty one" },
	{ "check", OPT_FLAG, &xbtd_conf.db_check, NULL, NULL, NULL, 0, 0,
	  NULL, NULL, "verify the --db FILE, then exit 0 (sound) or 1" },
	{ "workers", OPT_UINT, &xbtd_conf.workers,
	  OPT_STR(WORKER_DEFAULT_THREADS), NULL, NULL, 1, 1024, NULL, "N",
	  "threads for Async calls" },
	{ "async-queue", OPT_UINT, &xbtd_conf.async_queue,
	  OPT_STR(WORKER_DEFAULT_QUEUE), NULL, NULL, 1, 1000000, NULL, "N",
	  "Async calls waiting for a thread at most; past them "
	  "TOO_MANY_PENDING_TASKS" },
	{ "plugin-timeout", OPT_UINT, &xbtd_conf.plugin_timeout_s,
	  OPT_STR(SM_DEFAULT_TIMEOUT_S), NULL, NULL, 1, 86400, NULL, "S",
	  "seconds a plugin may run" },
	{ "session-idle", OPT_UINT, &xbtd_conf.session_idle_s,
	  OPT_STR(SESSION_DEFAULT_IDLE_S), NULL, NULL, 0, UINT_MAX, NULL, "S",
	  "idle sessions expire after S seconds (0: never)" },
	{ "task-max", OPT_UINT, &xbtd_conf.task_max, OPT_STR(TASK_DEFAULT_MAX),
	  NULL, NULL, 0, UINT_MAX, NULL, "N", "finished tasks kept at most" },
	{ "task-max-age", OPT_UINT, &xbtd_conf.task_max_age_s,
	  OPT_STR(TASK_DEFAULT_MAX_AGE_S), NULL, NULL, 0, UINT_MAX, NULL, "S",
	  "finished tasks kept this long (0: no limit)" },
	{ "pending-task-timeout", OPT_UINT, &xbtd_conf.pending_timeout_s,
	  OPT_STR(TASK_DEFAULT_PENDING_TIMEOUT_S), NULL, NULL, 0, UINT_MAX,
	  NULL, "S", "a pending task that has not changed (its progress, "
	  "anything) for S seconds is collected, as xapi's (0: never)" },
	HTTP_OPTIONS(xbtd_conf.http),
	{ "event-history", OPT_UINT, &xbtd_conf.event_history,
	  OPT_STR(EVLOG_DEFAULT_CAPACITY), NULL, NULL, 16, 10000000, NULL, "N",
	  "events kept for event.from" },
	{ "state-dir", OPT_CUSTOM, &xbtd_conf.state_dir, NULL,
	  "/var/lib/xbt/xbtd-NAME as root, else "
	  "$XDG_STATE_HOME/xbt/xbtd-NAME or ~/.local/state/xbt/xbtd-NAME "
	  "(NAME: --hostname)", NULL, 0, 0, config_state_dir, "DIR",
	  "the host's pool role and the pool secret (and, on a master, "
	  "the hosts that joined)" },
	{ "heartbeat", OPT_UINT, &xbtd_conf.heartbeat_s,
	  OPT_STR(POOL_DEFAULT_HEARTBEAT_S), NULL, NULL, 1, 3600, NULL, "S",
	  "a slave's heartbeat to its master, every S seconds" },
	{ "host-dead-after", OPT_UINT, &xbtd_conf.dead_after_s,
	  OPT_STR(POOL_DEFAULT_DEAD_AFTER_S), NULL, NULL, 1, 86400, NULL, "S",
	  "a master takes a slave silent for S seconds as not live" },
	{ "opsd", OPT_STRING, &xbtd_conf.opsd_path, NULL,
	  "the build tree's when run from it, else the installed one", NULL,
	  0, 0, NULL, "FILE", "the xbt-opsd binary to run" },
	{ "opsd-dir", OPT_CUSTOM, &xbtd_conf.opsd_dir, NULL,
	  "/run/xbt/opsd-NAME as root, else $XDG_RUNTIME_DIR/xbt/opsd-NAME, "
	  "else /dev/shm/xbt-UID/opsd-NAME (NAME: --hostname)", NULL,
	  0, 0, config_opsd_dir, "DIR",
	  "xbt-opsd's state directory: xbtd adopts the opsd serving there, "
	  "else runs one" },
	{ "opsd-timeout", OPT_UINT, &xbtd_conf.opsd_timeout_s,
	  OPT_STR(OPS_DEFAULT_TIMEOUT_S), NULL, NULL, 2, 3600, NULL, "S",
	  "a call to xbt-opsd that has not answered in S seconds fails "
	  "(its task is waited for S/2 seconds at a time)" },
	{ "shutdown-grace", OPT_UINT, &xbtd_conf.shutdown_grace_s, "5", NULL,
	  NULL, 0, 3600, NULL, "S",
	  "after SIGTERM, operations in flight may run S seconds more; then "
	  "they are cancelled" },
	{ "opsd-socket", OPT_CUSTOM, &xbtd_conf.opsd_socket, NULL,
	  "none: xbtd runs its own", NULL, 0, 0, opt_parse_socket, "PATH",
	  "use the xbt-opsd already serving on PATH" },
	{ "storage-in-process", OPT_FLAG, &xbtd_conf.storage_in_process, NULL,
	  "off: the steps run in xbt-opsd", NULL, 0, 0, NULL, NULL,
	  "run VM storage steps in xbtd, no xbt-opsd (for measuring the "
	  "split only)" },
	{ "log-level", OPT_CUSTOM, &xbtd_conf.log_level, "info", NULL, NULL, 0,
	  0, opt_parse_log_level, "LEVEL", "error, warn, info or debug" },
	{ "syslog", OPT_FLAG, &xbtd_conf.syslog, NULL, NULL, NULL, 0, 0, NULL,
	  NULL, "log to syslog instead of stderr" },
	{ "log-file", OPT_STRING, &xbtd_conf.log_file, NULL, "stderr", NULL,
	  0, 0, NULL, "FILE",
	  "log to FILE (appended; SIGHUP reopens it), and the xbt-opsd xbtd "
	  "runs too" },
};

/*
 * The default --opsd-dir: on tmpfs, as xenopsd keeps its own under /run
 * (opsd's state must outlive the daemons, not the machine, and tmpfs
 * keeps its writes off the disk): /run/xbt as root, else
 * $XDG_RUNTIME_DIR/xbt, else /dev/shm/xbt-<uid>; then opsd-<hostname>,
 * the name made safe for a path.
 */
static void config_default_opsd_dir(void)
{
	char fallback[64];

	snprintf(fallback, sizeof(fallback), "/dev/shm/xbt-%u",
		 (unsigned)geteuid());
	config_default_dir(xbtd_conf.opsd_dir_default,
			   sizeof(xbtd_conf.opsd_dir_default), "/run/xbt",
			   "XDG_RUNTIME_DIR", 48, fallback, "opsd-");
	xbtd_conf.opsd_dir = xbtd_conf.opsd_dir_default;
}

/* Whether this binary runs from the build tree. */
static bool config_in_build_tree(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	static const char build_server[] = XBT_BUILDDIR "/server/";

	if (n <= 0)
		return false;
	self[n] = '\0';
	return strncmp(self, build_server, strlen(build_server)) == 0;
}

int config_parse(int argc, char **argv)
{
	int status;

	memset(&xbtd_conf, 0, sizeof(xbtd_conf));
	status = opt_parse(config_table,
			   sizeof(config_table) / sizeof(config_table[0]),
			   "xbtd", PACKAGE_VERSION, argc, argv);
	if (status)
		return status;
	opt_default_hostname(xbtd_conf.hostname);
	if (!xbtd_conf.sm_dir)
		xbtd_conf.sm_dir = config_in_build_tree()
			? XBT_BUILDDIR "/server/plugins" : XBT_SM_DIR;
	if (!xbtd_conf.opsd_path)
		xbtd_conf.opsd_path = config_in_build_tree()
			? XBT_BUILDDIR "/server/xbt-opsd" : XBT_OPSD_PATH;
	if (!xbtd_conf.opsd_dir)
		config_default_opsd_dir();
	if (!xbtd_conf.state_dir)
		config_default_state_dir();
	xbtd_conf.argv = argv;
	return 0;
}
