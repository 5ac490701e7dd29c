/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xmlrpc-c values as xbt builds and reads them: the one place where text
 * enters and leaves them (doc/design.md, "Unicode").
 *
 * xmlrpc-c 1.33 cannot hold a character outside the Basic Multilingual
 * Plane: building such a string fails. Text therefore crosses into values
 * encoded within the BMP, reversibly, and comes back out decoded; the wire
 * parsers and serialisers (api/wire.c) do the same at the byte boundary.
 * Code outside libxbt never calls xmlrpc_string_new, xmlrpc_read_string
 * or xmlrpc_struct_set_value on text: tests/style.sh checks it.
 *
 * Builders return a new reference (the caller decrefs); readers return
 * copies the caller frees. Memory exhaustion is fatal (xbt_fatalx), as
 * everywhere in xbt; nothing else can fail.
 */
#ifndef XBT_VALUE_H
#define XBT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xmlrpc-c/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 9999-12-31T23:59:59Z: datetimes are clamped to [1970, this]. */
#define XBT_LAST_DATETIME INT64_C(253402300799)
#define XBT_REF_NULL "OpaqueRef:NULL"

/* A set of strings and a map of strings, as records store them. */
typedef struct xbt_strv {
	char **v;
	size_t n;
} xbt_strv;

typedef struct xbt_map {
	char **keys;
	char **vals;
	size_t n;
} xbt_map;

/*
 * Strings: any bytes; text that is not valid UTF-8 or that XML cannot
 * carry is made safe first (xbt_buf_add_safe), so the value always
 * serialises. CR is kept. s NULL is "" (xbt_value_ref: OpaqueRef:NULL).
 */
xmlrpc_value *xbt_value_string(const char *s);
xmlrpc_value *xbt_value_string_len(const char *s, size_t len);
xmlrpc_value *xbt_value_ref(const char *s);
/* An int64 as clients send it (a decimal string, xapi's dialect). */
xmlrpc_value *xbt_value_int(int64_t v);
/* Typed numbers: i8 (int64 fields) and i4 (xapi's int32, <i4> on the wire). */
xmlrpc_value *xbt_value_i8(int64_t v);
xmlrpc_value *xbt_value_i4(int32_t v);
xmlrpc_value *xbt_value_float(double v);
xmlrpc_value *xbt_value_bool(bool v);
/* Seconds since the epoch, clamped to [1970, XBT_LAST_DATETIME]. */
xmlrpc_value *xbt_value_datetime(int64_t secs);
xmlrpc_value *xbt_value_nil(void);
xmlrpc_value *xbt_value_array(void);
xmlrpc_value *xbt_value_struct(void);
xmlrpc_value *xbt_value_strv(const xbt_strv *s); /* NULL: empty */
xmlrpc_value *xbt_value_map(const xbt_map *m);   /* NULL: empty */

/* Appends item / sets st[key] = item, taking the caller's reference. */
void xbt_value_push(xmlrpc_value *array, xmlrpc_value *item);
void xbt_value_put(xmlrpc_value *st, const char *key, xmlrpc_value *item);
/* As xbt_value_put with a key value (borrowed). */
void xbt_value_put_v(xmlrpc_value *st, xmlrpc_value *key, xmlrpc_value *item);

/*
 * The text of a string value (decoded; caller frees), or NULL when v is
 * not a string. *len (may be NULL) gets its length; the text may hold NUL
 * only if the value was built from such bytes by xmlrpc-c itself.
 */
char *xbt_value_text(xmlrpc_value *v, size_t *len);
/* The same for a value of one's own (a call's result, an item): v (may be
 * NULL) is released. */
char *xbt_value_take_text(xmlrpc_value *v);
/* Elements of an array or members of a struct; 0 for other types. */
size_t xbt_value_size(xmlrpc_value *v);
/* Element i of an array (new reference); NULL when out of range. */
xmlrpc_value *xbt_value_item(xmlrpc_value *array, size_t i);
/* Member i of a struct: its name (decoded; caller frees) and value (new
 * reference). false when out of range. */
bool xbt_value_member_at(xmlrpc_value *st, size_t i, char **key, size_t *klen,
			 xmlrpc_value **val);
/* Member key of a struct (new reference); NULL when absent or not a struct. */
xmlrpc_value *xbt_value_get(xmlrpc_value *st, const char *key);

#ifdef __cplusplus
}
#endif
#endif
