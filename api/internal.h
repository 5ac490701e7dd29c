/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to libxbt: not installed. */
#ifndef XBT_INTERNAL_H
#define XBT_INTERNAL_H

#include "xbt/backtrace.h"

/* Appends more's frames after bt's (in order), moving its strings; the
 * bounds are enforced once on the result. more is left empty. */
void xbt__backtrace_append(xbt_backtrace *bt, xbt_backtrace *more);

/*
 * Text inside xmlrpc-c values (api/text.c, doc/design.md "Unicode"):
 * xmlrpc-c 1.33 cannot hold characters outside the BMP, so they cross into
 * its values encoded within the BMP's private-use area, reversibly. Only
 * api/value.c and the parsers in api/wire.c and api/json.c use these.
 * needs_* are quick tests: false means the text passes unchanged.
 */
bool xbt__bmp_needs_encoding(const char *s, size_t len);
void xbt__bmp_encode(xbt_buf *out, const char *s, size_t len);
bool xbt__bmp_needs_decoding(const char *s, size_t len);
void xbt__bmp_decode(xbt_buf *out, const char *s, size_t len);
/* Whether cp is encoded in text; appends cp's encoding (CR too, for
 * character references in XML, which xmlrpc-c would turn into LF). */
bool xbt__bmp_maps(uint32_t cp);
void xbt__bmp_encode_cp(xbt_buf *out, uint32_t cp);
/* Length of the valid UTF-8 sequence at s and its code point, or 0. */
size_t xbt__utf8_decode(const char *s, size_t len, uint32_t *cp);

/* strtod in the C locale, whatever the process's locale (api/text.c). */
double xbt__strtod(const char *s, char **end);

#endif
