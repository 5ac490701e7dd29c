/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to libxbt: not installed. */
#ifndef XBT_INTERNAL_H
#define XBT_INTERNAL_H

#include "xbt/backtrace.h"
#include "xbt/model.h"

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

/* ---- the model's parts (api/check.c, record.c, strv.c, datetime.c) ---- */

/* Where in a nested value a check is: innermost first, linked outwards. */
typedef struct xbt__loc {
	const struct xbt__loc *up;
	const char *what;      /* "element", "member", "key", "field" */
	const char *name;      /* member, key or field name; NULL: index */
	size_t len;            /* of name */
	size_t index;
} xbt__loc;

/* xbt_value_check at a place; XMLRPC_UNMARSHAL_FAILURE for `in` there. */
xbt_error *xbt__check(const xbt_type *t, xmlrpc_value *in, xmlrpc_value **out,
		      const xbt__loc *where);
xbt_error *xbt__mismatch_at(const char *file, int line, const char *func,
			    const char *expected, xmlrpc_value *in,
			    const xbt__loc *where);
#define XBT__MISMATCH(expected, in, where) \
	xbt__mismatch_at(XBT_HERE, (expected), (in), (where))
/* Strict decimal int64 ([+-]digits) and finite double. */
bool xbt__parse_int(const char *s, size_t len, int64_t *out);
bool xbt__parse_float(const char *s, size_t len, double *out);
/* A set's element or a map's value, stored as text, as a value of t. */
xmlrpc_value *xbt__elem_value(const xbt_type *t, const char *text);
/* dst is uninitialised storage. */
void xbt__strv_copy(xbt_strv *dst, const xbt_strv *src);
void xbt__map_copy(xbt_map *dst, const xbt_map *src);
/* The calendar: proleptic Gregorian, days since 1970-01-01. */
int64_t xbt__days_from_civil(int64_t y, unsigned m, unsigned d);
void xbt__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
bool xbt__civil_valid(unsigned y, unsigned mo, unsigned d, unsigned h,
		      unsigned mi, unsigned s);
/* Seconds of a datetime value; false before 1970 or after 9999. */
bool xbt__datetime_secs(xmlrpc_value *v, int64_t *secs);

/* ---- the wire's readers (api/wire_*.c) ------------------------------------ */

/* XMLRPC_UNMARSHAL_FAILURE [expected, why], why cut to 1 KiB on a UTF-8
 * boundary (parsers quote whole inputs). */
xbt_error *xbt__unmarshal(const char *file, int line, const char *func,
			  const char *expected, const char *why);
#define XBT__UNMARSHAL(expected, why) \
	xbt__unmarshal(XBT_HERE, (expected), (why))
/* The XML pre-scan (api/wire_repair.c): why the text is refused, or NULL;
 * copy gets the repaired text when it needed repair, else stays empty. */
const char *xbt__xml_prescan(const char *s, size_t len, xbt_buf *copy);
/* An empty methodName, copied into out with a placeholder: true. */
bool xbt__empty_method_name(const char *xml, size_t len, xbt_buf *out);

/* strtod in the C locale, whatever the process's locale (api/text.c). */
double xbt__strtod(const char *s, char **end);

#endif
