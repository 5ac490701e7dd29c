/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_threshold = LOG_LEVEL_INFO;
static bool log_to_syslog;
static const char *log_program = "xbt";
static _Thread_local char log_thread[64];
static char *log_path;   /* --log-file, or NULL */

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const int log_syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_init(const char *program, enum log_level level, bool use_syslog)
{
	log_program = program;
	log_threshold = level;
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog(program, LOG_PID, LOG_DAEMON);
}

/* Opens path and puts it on standard error (dup2 replaces descriptor 2 in
 * one step: a thread writing meanwhile writes to one file or the other). */
static bool log_put_on_stderr(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	int saved;

	if (fd < 0)
		return false;
	if (dup2(fd, STDERR_FILENO) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	close(fd);
	return true;
}

bool log_open_file(const char *path)
{
	if (!log_put_on_stderr(path))
		return false;
	free(log_path);
	log_path = strdup(path);
	return log_path != NULL;
}

void log_reopen(void)
{
	if (!log_path)
		return;
	if (log_put_on_stderr(log_path))
		log_info("log file %s reopened", log_path);
	else
		log_error("cannot reopen the log file %s: %s (still writing "
			  "to the old one)", log_path, strerror(errno));
}

int log_level_parse(const char *name)
{
	int result = -1;
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(name, log_names[i]) == 0)
			result = (int)i;
	return result;
}

bool log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

void log_set_thread_name(const char *name)
{
	snprintf(log_thread, sizeof(log_thread), "%s", name);
}

void log_name_thread(const char *name)
{
	char comm[16];

	log_set_thread_name(name);
	snprintf(comm, sizeof(comm), "%s", name);
	pthread_setname_np(pthread_self(), comm);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	xbt_buf line = XBT_BUF_INIT;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	xbt_buf_vaddf(&line, fmt, ap);
	va_end(ap);
	if (log_to_syslog) {
		syslog(log_syslog_prio[level], "[%s] %s", log_thread, line.buf);
	} else {
		char stamp[32];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H:%M:%S", &tm);
		/* One fprintf per line keeps lines whole across threads. */
		fprintf(stderr, "%s.%03ldZ %s %s [%s] %s\n", stamp,
			now.tv_nsec / 1000000L, log_program, log_names[level],
			log_thread, line.buf);
	}
	xbt_buf_release(&line);
}

void log_backtrace(enum log_level level, const char *what, const xbt_error *e)
{
	char *summary = xbt_error_summary(e);
	xbt_buf human = XBT_BUF_INIT;
	char *save = NULL;

	if (!log_enabled(level)) {
		free(summary);
		return;
	}
	xbt_backtrace_to_human(&e->bt, &human);
	log_msg(level, "%s: %s", what, summary);
	for (char *l = strtok_r(human.buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		log_msg(level, "  %s", l);
	xbt_buf_release(&human);
	free(summary);
}
