/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The viewer's files, embedded in xbtd at build time by ui/embed.py
 * (doc/design.md, "The viewer"): the generated ui_files.c defines the
 * table, server/xenapi/ui.c serves it.
 */
#ifndef XBTD_UI_H
#define XBTD_UI_H

#include <stddef.h>

struct ui_file {
	const char *name;               /* base name, as under /ui/ */
	const unsigned char *data;
	size_t len;
};

extern const struct ui_file ui_files[];
extern const size_t ui_nfiles;

#endif
