/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbt-opsd's options: one table feeds the parser and --help
 * (server/common/options.h); doc/xbt-opsd.8 agrees with --help
 * (tests/test_options.py checks it).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "opsd.h"
#include "options.h"

struct opsd_config opsd_conf;

/* An absolute path short enough for its socket to fit a sockaddr_un. */
static bool config_state_dir(const char *arg, void *dest)
{
	*(const char **)dest = arg;
	return arg[0] == '/' && strlen(arg) <= OPSD_STATE_DIR_MAX &&
	       strlen(arg) + sizeof("/opsd.sock") <= 108;
}

static const struct opt config_table[] = {
	{ "state-dir", OPT_CUSTOM, &opsd_conf.state_dir, NULL, NULL, NULL, 0,
	  0, config_state_dir, "DIR",
	  "keep the lock, the socket and the VMs here (required)" },
	{ "socket", OPT_CUSTOM, &opsd_conf.socket_path, NULL,
	  "DIR/opsd.sock", NULL, 0, 0, opt_parse_socket, "PATH",
	  "serve on this Unix-domain socket, mode 0600" },
	{ "hostname", OPT_CUSTOM, opsd_conf.hostname, NULL,
	  "the machine's name", NULL, 0, 0, opt_parse_hostname, "NAME",
	  "this host's name, in backtraces" },
	{ "sm-dir", OPT_STRING, &opsd_conf.sm_dir, NULL,
	  "the installed plugins", NULL, 0, 0, NULL, "DIR", "storage plugins" },
	{ "plugin-timeout", OPT_UINT, &opsd_conf.plugin_timeout_s,
	  OPT_STR(SM_DEFAULT_TIMEOUT_S), NULL, NULL, 1, 86400, NULL, "S",
	  "seconds a plugin may run" },
	{ "workers", OPT_UINT, &opsd_conf.workers,
	  OPT_STR(OPSD_DEFAULT_WORKERS), NULL, NULL, 1, 1024, NULL, "N",
	  "operations run at once" },
	{ "task-max", OPT_UINT, &opsd_conf.task_max,
	  OPT_STR(OPSD_DEFAULT_TASK_MAX), NULL, NULL, 1, 1000000, NULL, "N",
	  "tasks kept at most" },
	{ "task-max-age", OPT_UINT, &opsd_conf.task_max_age_s,
	  OPT_STR(OPSD_DEFAULT_TASK_MAX_AGE_S), NULL, NULL, 0, UINT_MAX, NULL,
	  "S", "ended tasks kept this long (0: no limit)" },
	HTTP_OPTIONS(opsd_conf.http),
	{ "watch-stdin", OPT_FLAG, &opsd_conf.watch_stdin, NULL, NULL, NULL, 0,
	  0, NULL, NULL, "exit when standard input closes (as xbtd runs it)" },
	{ "log-level", OPT_CUSTOM, &opsd_conf.log_level, "info", NULL, NULL, 0,
	  0, opt_parse_log_level, "LEVEL", "error, warn, info or debug" },
	{ "syslog", OPT_FLAG, &opsd_conf.syslog, NULL, NULL, NULL, 0, 0, NULL,
	  NULL, "log to syslog instead of stderr" },
	{ "log-file", OPT_STRING, &opsd_conf.log_file, NULL, "stderr", NULL,
	  0, 0, NULL, "FILE", "log to FILE (appended; SIGHUP reopens it)" },
};

int opsd_config_parse(int argc, char **argv)
{
	int status;

	memset(&opsd_conf, 0, sizeof(opsd_conf));
	status = opt_parse(config_table,
			   sizeof(config_table) / sizeof(config_table[0]),
			   "xbt-opsd", PACKAGE_VERSION, argc, argv);
	if (status)
		return status;
	if (!opsd_conf.state_dir) {
		fprintf(stderr, "xbt-opsd: --state-dir DIR is required\n");
		return 2;
	}
	if (!opsd_conf.socket_path) {
		snprintf(opsd_conf.socket_default,
			 sizeof(opsd_conf.socket_default), "%s/opsd.sock",
			 opsd_conf.state_dir);
		opsd_conf.socket_path = opsd_conf.socket_default;
	}
	opt_default_hostname(opsd_conf.hostname);
	return 0;
}
