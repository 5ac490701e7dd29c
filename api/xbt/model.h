/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data model at run time: descriptors of types, enums, classes, fields
 * and messages that idl/gen emits from an IDL file, and the generic
 * marshalling between C records and xmlrpc-c values that walks them.
 * Generated code is data; the logic is here.
 *
 * There are two models (doc/design.md, "The data model"), each an
 * xbt_model with its own C prefix: the XenAPI, xbt_api (idl/xenapi.xml,
 * into api/xenapi.c and api/xbt/xenapi.h), and xbt-opsd's interface,
 * xops_api (idl/xenops.xml, api/xenops.c and api/xbt/xenops.h). Their
 * descriptors have the types below; a type points at its class's
 * descriptor, so checking and marshalling work for either model, and the
 * lookups that take no model (xbt_class_find, xbt_message_find) mean the
 * XenAPI's.
 *
 * C storage of a field by its type kind:
 *   STRING, REF          char *            (never NULL in a live record)
 *   INT                  int64_t
 *   FLOAT                double
 *   BOOL                 bool
 *   DATETIME             int64_t           (seconds since the epoch, UTC)
 *   ENUM                 int               (index into the enum's values)
 *   SET                  xbt_strv          (elements as their wire strings)
 *   MAP                  xbt_map           (keys and values as strings)
 */
#ifndef XBT_MODEL_H
#define XBT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"
#include "xbt/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum xbt_kind {
	XBT_T_VOID,
	XBT_T_STRING,
	XBT_T_INT,
	XBT_T_FLOAT,
	XBT_T_BOOL,
	XBT_T_DATETIME,
	XBT_T_ENUM,
	XBT_T_REF,
	XBT_T_SET,
	XBT_T_MAP,
	XBT_T_RECORD, /* results and params: a class's record, as a struct */
	XBT_T_ANY     /* results only: a value the handler shapes itself */
} xbt_kind;

typedef struct xbt_enum_desc {
	const char *name;
	size_t n;
	const char *const *values;
} xbt_enum_desc;

typedef struct xbt_type {
	xbt_kind kind;
	const char *text;                /* as written in the IDL: "set (ref VM)" */
	const xbt_enum_desc *enum_desc;  /* ENUM */
	const char *cls;                 /* REF, RECORD: the class's wire name */
	const struct xbt_type *elem;     /* SET: element; MAP: value */
	const struct xbt_type *key;      /* MAP: key */
	/* REF, RECORD: the class, in the type's own model; NULL otherwise */
	const struct xbt_class_desc *cls_desc;
} xbt_type;

typedef struct xbt_field_desc {
	const char *name;
	const xbt_type *type;
	bool rw;                   /* read-write: set_<field> exists */
	size_t offset;             /* of the member in the class's record struct */
	const char *default_value; /* IDL text; NULL: the type's zero */
	const char *description;
} xbt_field_desc;

typedef struct xbt_class_desc {
	const char *name;   /* wire name: "VM" */
	const char *lower;  /* lowercase, as events name it: "vm" */
	size_t record_size;
	size_t nfields;
	const xbt_field_desc *fields;
	const char *description;
	size_t index;       /* in its model's classes[] (xbt_classes[]) */
	bool events;        /* changes are events (IDL: events="false": not) */
} xbt_class_desc;

typedef struct xbt_param_desc {
	const char *name;
	const xbt_type *type;
	const char *default_value;  /* NULL: required */
	const char *description;
} xbt_param_desc;

typedef enum xbt_msg_kind {
	XBT_MSG_CUSTOM,      /* written by hand in server/<class>.c */
	XBT_MSG_GET_FIELD,
	XBT_MSG_SET_FIELD,
	XBT_MSG_ADD_TO_MAP,
	XBT_MSG_REMOVE_FROM_MAP,
	XBT_MSG_GET_RECORD,
	XBT_MSG_GET_BY_UUID,
	XBT_MSG_GET_BY_NAME_LABEL,
	XBT_MSG_GET_ALL,
	XBT_MSG_GET_ALL_RECORDS
} xbt_msg_kind;

typedef struct xbt_message_desc {
	const char *wire_name;         /* "VM.start" */
	const xbt_class_desc *cls;
	const char *name;              /* "start" */
	xbt_msg_kind kind;
	int field;                     /* field index for field kinds, else -1 */
	size_t nparams;                /* not counting the session */
	size_t nrequired;              /* params without defaults */
	const xbt_param_desc *params;
	const xbt_type *result;
	bool session;                  /* takes a session ref first */
	bool async;                    /* Async.<wire_name> exists */
	bool pool_only;                /* callable with a pool session only */
	bool emergency;                /* a pool slave serves it too */
	size_t nerrors;
	const char *const *errors;
	const char *description;
} xbt_message_desc;

typedef struct xbt_error_desc {
	const char *code;
	size_t nparams;
	const char *const *params;
	const char *description;
	bool repeated;   /* params[0] stands for zero or more values */
} xbt_error_desc;

/*
 * A generated model: P_api in api/B.c, declared in xbt/B.h with the
 * arrays it points at (P_classes[], P_messages[], ...). Errors are not
 * part of it: they are the XenAPI's (xbt_errors[]) for every model.
 */
typedef struct xbt_model {
	const char *name;                   /* the api element's: "XenAPI" */
	const xbt_class_desc *const *classes;
	size_t nclasses;
	const xbt_message_desc *messages;   /* indexed by P_MSG_<CLASS>_<MSG> */
	size_t nmessages;
	const size_t *messages_by_name;     /* strcmp order of wire_name */
} xbt_model;

/* The XenAPI model (api/xenapi.c); xbt/xenapi.h declares these too. */
extern const xbt_class_desc *const xbt_classes[];
extern const size_t xbt_nclasses;
extern const xbt_message_desc xbt_messages[];
extern const size_t xbt_nmessages;
extern const xbt_error_desc xbt_errors[];
extern const size_t xbt_nerrors;
/* Indexes of xbt_messages[] in strcmp order of wire_name (for lookups). */
extern const size_t xbt_messages_by_name[];
extern const xbt_model xbt_api;

/*
 * Lookups in m; NULL when absent. Class names match case-insensitively;
 * message wire names exactly ("VM.start"; the caller strips an "Async."
 * prefix). xbt_class_find and xbt_message_find look in xbt_api.
 */
const xbt_class_desc *xbt_class_find_in(const xbt_model *m, const char *name);
const xbt_message_desc *xbt_message_find_in(const xbt_model *m,
					    const char *wire_name);
const xbt_class_desc *xbt_class_find(const char *name);
const xbt_message_desc *xbt_message_find(const char *wire_name);
const xbt_field_desc *xbt_field_find(const xbt_class_desc *c, const char *name);
int xbt_enum_index(const xbt_enum_desc *e, const char *value); /* -1: none */

/*
 * Records: initialise to the IDL defaults (a field without one gets its
 * type's zero: "", OpaqueRef:NULL, 0, false, the enum's first value, empty
 * set or map), deep-copy, free members. copy treats dst as uninitialised
 * storage (release it first if it holds a record). After release every
 * pointer member is NULL; init again before reuse.
 */
void xbt_record_init(const xbt_class_desc *c, void *rec);
void xbt_record_copy(const xbt_class_desc *c, void *dst, const void *src);
void xbt_record_release(const xbt_class_desc *c, void *rec);

/*
 * C record <-> xmlrpc-c value. to_value returns a new reference (caller
 * decrefs); it cannot fail but for memory, which is fatal. Every field is
 * present: strings and refs as strings, ints as i8, datetimes as datetime
 * values, enums as their value strings, sets as arrays of strings, maps as
 * structs of strings.
 * from_value fills an initialised record; fields missing from the struct
 * keep their values, members that name no field are ignored, and on error
 * the record is left unchanged (record_from_value is all or nothing).
 * Stored strings pass the text-safety rule of buf.h (so a NUL is kept as
 * \x00 rather than cutting the string).
 */
xmlrpc_value *xbt_record_to_value(const xbt_class_desc *c, const void *rec);
xmlrpc_value *xbt_field_to_value(const xbt_field_desc *f, const void *rec);
xbt_error *xbt_record_from_value(const xbt_class_desc *c, xmlrpc_value *v,
				 void *rec);
xbt_error *xbt_field_from_value(const xbt_field_desc *f, xmlrpc_value *v,
				void *rec);

/*
 * Checks an incoming argument against t and returns a normalised new
 * reference in *out: ints given as decimal strings become i8, int given
 * as i4 becomes i8, datetimes with or without Z become datetime values,
 * enum values are checked. On mismatch:
 * XMLRPC_UNMARSHAL_FAILURE [expected type text, received description].
 *
 * Accepted: string and ref: a string. int: i4, i8 or a decimal string
 * ([+-]digits, int64 range). float: a finite double, i4, i8 or a decimal
 * string. bool: a boolean. datetime: a datetime value or a string
 * YYYYMMDDTHH:MM:SS or YYYY-MM-DDTHH:MM:SS, each with or without a
 * trailing Z (UTC; years 1970-9999). enum: a string equal to one of its
 * values. set: an array, elements checked. map: a struct, keys checked
 * as the key type, values checked. record: a struct, members that name a
 * field of t->cls_desc checked (so types of either model check alike).
 * any: anything. void: nil or "".
 *
 * "expected" is the text of the innermost type that did not match, e.g.
 * "enum vm_power_state". "received" describes what came: the wire type,
 * then for scalars its value ("string \"x\"", "int 5", "double 1.5",
 * "bool true", "datetime 20260101T00:00:00Z"; strings quoted with \",
 * \\ and NUL (as \x00) escaped, cut after 64 bytes with "..."), just
 * "array", "struct", "nil", "base64" otherwise; then, inside a set, map
 * or record, where: " at element 2" (0-based), " at member \"k\"",
 * " at key \"k\"", " at field \"name\"", outer places joined with " in ".
 * E.g. ["int", "string \"x\" at member \"k\" in field \"other_config\""].
 */
xbt_error *xbt_value_check(const xbt_type *t, xmlrpc_value *in,
			   xmlrpc_value **out);

/*
 * The default of an optional parameter as a value, in the normalised form
 * xbt_value_check gives (new reference); NULL for a required parameter.
 */
xmlrpc_value *xbt_param_default(const xbt_param_desc *p);

/*
 * pool.join and pool.eject answer first; the host they change restarts in
 * its new role this many seconds later (Async: see doc/pools.md). xe's
 * notices print it.
 */
#define XBT_POOL_RESTART_DELAY_S 1

/*
 * Datetime text: parses the forms xbt_value_check accepts into seconds
 * since the epoch (false when malformed or out of range); formats as
 * YYYYMMDDTHH:MM:SSZ into out (at least XBT_DATETIME_LEN + 1 bytes).
 */
#define XBT_DATETIME_LEN 18
bool xbt_datetime_parse(const char *s, size_t len, int64_t *secs);
void xbt_datetime_format(int64_t secs, char *out);

/*
 * strv / map helpers (all copy their string arguments). strv_add appends
 * even when v is present (error_info is a list); strv_remove removes every
 * occurrence and says whether there was one. map_set replaces the value of
 * an existing key; map_get's result is owned by the map.
 */
void xbt_strv_add(xbt_strv *s, const char *v);
bool xbt_strv_remove(xbt_strv *s, const char *v);
bool xbt_strv_has(const xbt_strv *s, const char *v);
void xbt_strv_clear(xbt_strv *s);
void xbt_map_set(xbt_map *m, const char *k, const char *v);
bool xbt_map_remove(xbt_map *m, const char *k);
const char *xbt_map_get(const xbt_map *m, const char *k);
void xbt_map_clear(xbt_map *m);

#ifdef __cplusplus
}
#endif
#endif
