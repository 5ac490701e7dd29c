/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging for the daemons: stderr (default) or syslog, one line per call. */
#ifndef XBTD_LOG_H
#define XBTD_LOG_H

#include <stdbool.h>

#include "xbt/backtrace.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/*
 * Start-up only. Lines read "<UTC time> <program> <level> [<thread>] <text>"
 * on stderr: xbtd and the xbt-opsd it runs share one. program must be static.
 */
void log_init(const char *program, enum log_level level, bool use_syslog);
/*
 * Start-up, after log_init: standard error becomes the file at path
 * (opened for appending, created mode 0640), so that log lines, sanitizer
 * reports and the children that inherit it all write there. false with
 * errno when it cannot be opened.
 */
bool log_open_file(const char *path);
/*
 * Reopens the file of log_open_file (SIGHUP, after logrotate moved it):
 * the new one replaces standard error at once; when it cannot be opened
 * the old one stays and the failure is logged there. Main thread only.
 */
void log_reopen(void);

/* -1 when name is not error|warn|info|debug. */
int log_level_parse(const char *name);
bool log_enabled(enum log_level level);

/* Names the calling thread in its log lines (copied; "" clears). */
void log_set_thread_name(const char *name);
/*
 * A long-lived thread's name, in its log lines and for the kernel (top,
 * perf, /proc/PID/task/TID/comm; cut to 15 bytes there).
 */
void log_name_thread(const char *name);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * Logs an error and its backtrace once, at a boundary (dispatch or task):
 * "<what>: CODE [params]" then one line per frame in the human form.
 */
void log_backtrace(enum log_level level, const char *what, const xbt_error *e);

#endif
