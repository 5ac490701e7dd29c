/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbt-demo: the backtrace core end to end, without a server. A "plugin"
 * backtrace (Python JSON) is glued under a C error that was raised, passed
 * up, and re-raised; the result is printed in both forms.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xbt/backtrace.h"

static xbt_error *demo_attach(void)
{
	return XBT_RAISE("SR_BACKEND_FAILURE_46", "", "The VDI is not available",
			 "");
}

static xbt_error *demo_plug_vbds(void)
{
	return XBT_PROPAGATE(demo_attach());
}

static xbt_error *demo_start(void)
{
	xbt_error *err = XBT_PROPAGATE(demo_plug_vbds());
	xbt_backtrace plugin = XBT_BACKTRACE_INIT;
	char *text = NULL;
	size_t dropped = 0;
	static const char json[] =
		"{\"error\": \"VDI not available\","
		" \"files\": [\"/opt/xensource/sm/FAILSR\", \"/opt/xensource/sm/xbtsm.py\","
		" \"/opt/xensource/sm/FAILSR\"], \"lines\": [88, 120, 42]}";

	if (err) {
		xbt_error *bad = xbt_backtrace_from_pyjson(json, strlen(json),
							   "FAIL @ demo", &plugin,
							   &text, &dropped);
		if (!bad)
			xbt_backtrace_glue_remote(&err->bt, &plugin);
		xbt_error_free(bad);
		xbt_backtrace_release(&plugin);
		free(text);
	}
	return err;
}

int main(void)
{
	char host[256] = "localhost";
	xbt_buf out = XBT_BUF_INIT;
	xbt_error *err;
	char *summary;

	gethostname(host, sizeof(host) - 1);
	xbt_set_process("xbt-demo", host);
	err = XBT_PROPAGATE(demo_start());
	summary = xbt_error_summary(err);
	printf("Error: %s\nBacktrace:\n", summary);
	xbt_backtrace_to_human(&err->bt, &out);
	fputs(out.buf, stdout);
	xbt_buf_reset(&out);
	xbt_backtrace_to_sexp(&err->bt, &out);
	printf("As stored in task.backtrace:\n%s\n", out.buf);
	xbt_buf_release(&out);
	free(summary);
	xbt_error_free(err);
	return 0;
}
