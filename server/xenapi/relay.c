/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one glue of a remote task's failure (doc/backtraces.md): xbt-opsd's
 * tasks (ops.c) and a slave's (fwd.c) come back through here, as a plugin's
 * JSON comes back through sm_decode.c. The error's code and params are the
 * remote's, unchanged (the relay path); its backtrace goes in front of
 * ours, deeper frames first, as xapi's TaskHelper.reraise does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "xbtd.h"

/* A XenAPI error code as a remote may send one: [A-Z0-9_]{1,64}. */
static bool relay_code_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

	return n > 0 && n <= 64 && s[n] == '\0';
}

xbt_error *relay_task_failure(const xbt_strv *error, const char *backtrace,
			      const char *who)
{
	xbt_backtrace remote = XBT_BACKTRACE_INIT;
	xbt_error *err, *perr;

	if (error->n && relay_code_ok(error->v[0])) {
		err = XBT_RELAY(error->v[0], error->n - 1,
				(const char *const *)error->v + 1);
	} else {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s: a failed task without a valid "
			 "error code", who);
		err = XBT_RAISE_INTERNAL_ERROR(msg);
	}
	perr = xbt_backtrace_from_sexp(backtrace, strlen(backtrace), &remote);
	if (perr) {
		char what[160];
		snprintf(what, sizeof(what), "%s's backtrace cannot be read; the "
			 "error is kept without it", who);
		log_backtrace(LOG_LEVEL_WARN, what, perr);
		xbt_error_free(perr);
	} else {
		xbt_backtrace_glue_remote(&err->bt, &remote);
	}
	xbt_backtrace_release(&remote);
	return err;
}

