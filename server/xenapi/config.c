/* SPDX-License-Identifier: BSD-2-Clause */
/* xbtd's configuration with its defaults (main.c's --help lists them). */
#include "config.h"

#include "xbtd.h"

struct xbtd_config xbtd_conf = {
	.listen_addr = "127.0.0.1",
	.listen_port = 8080,
	.hostname = "localhost",
	.sm_dir = XBT_SM_DIR,
	.workers = 32,
	.plugin_timeout_s = 30,
	.session_idle_s = 24 * 3600,
	.task_max = 1000,
	.task_max_age_s = 3600,
	.max_body = 4u * 1024 * 1024,
};
