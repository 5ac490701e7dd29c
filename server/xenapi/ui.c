/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * GET and HEAD on xbtd: the task and trace viewer (doc/design.md, "The
 * viewer"). "/" and "/ui/" are its page, "/ui/<file>" its other files,
 * anything else 404. Every answer carries a strict Content-Security-Policy
 * (scripts and styles from xbtd only: no inline script, no eval; calls to
 * xbtd only; no framing) and nosniff, as the page shows text from plugins.
 */
#include "config.h"

#include <string.h>

#include "ui.h"
#include "xbtd.h"

#define UI_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; connect-src 'self'; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'"

static const char *const ui_headers[] = {
	"Content-Security-Policy", UI_CSP,
	"X-Content-Type-Options", "nosniff",
	"X-Frame-Options", "DENY",
	"Referrer-Policy", "no-referrer",
	"Cache-Control", "no-cache",
	NULL,
};

static const char ui_not_found[] = "not found\n";

static const struct {
	const char *ext;
	const char *type;
} ui_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

static const char *ui_type(const char *name)
{
	size_t len = strlen(name);
	const char *result = "application/octet-stream";

	for (size_t i = 0; i < sizeof(ui_types) / sizeof(ui_types[0]); i++) {
		size_t n = strlen(ui_types[i].ext);
		if (len > n && strcmp(name + len - n, ui_types[i].ext) == 0) {
			result = ui_types[i].type;
			break;
		}
	}
	return result;
}

void ui_page(const char *path, struct http_page *out)
{
	const char *name = NULL;

	if (strcmp(path, "/") == 0 || strcmp(path, "/ui/") == 0 ||
	    strcmp(path, "/ui") == 0)
		name = "index.html";
	else if (strncmp(path, "/ui/", 4) == 0)
		name = path + 4;
	*out = (struct http_page){
		.status = 404, .type = "text/plain; charset=utf-8",
		.body = ui_not_found, .len = sizeof(ui_not_found) - 1,
		.headers = ui_headers,
	};
	for (size_t i = 0; name && i < ui_nfiles; i++) {
		if (strcmp(ui_files[i].name, name) == 0) {
			out->status = 200;
			out->type = ui_type(name);
			out->body = ui_files[i].data;
			out->len = ui_files[i].len;
			break;
		}
	}
}
