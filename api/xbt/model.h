/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data model at run time: descriptors of types, enums, classes, fields
 * and messages that idl/gen emits from idl/xenapi.xml (into api/xenapi.c and
 * api/xbt/xenapi.h), and the generic marshalling between C records and
 * xmlrpc-c values that walks them. Generated code is data; the logic is here.
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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xbt_strv {
	char **v;
	size_t n;
} xbt_strv;

typedef struct xbt_map {
	char **keys;
	char **vals;
	size_t n;
} xbt_map;

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
	XBT_T_RECORD, /* results only: a class's record */
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
	size_t nerrors;
	const char *const *errors;
	const char *description;
} xbt_message_desc;

typedef struct xbt_error_desc {
	const char *code;
	size_t nparams;
	const char *const *params;
	const char *description;
} xbt_error_desc;

/* The generated model (api/xenapi.c). */
extern const xbt_class_desc *const xbt_classes[];
extern const size_t xbt_nclasses;
extern const xbt_message_desc xbt_messages[];
extern const size_t xbt_nmessages;
extern const xbt_error_desc xbt_errors[];
extern const size_t xbt_nerrors;

/* Lookups; NULL when absent. Class names match case-insensitively. */
const xbt_class_desc *xbt_class_find(const char *name);
const xbt_message_desc *xbt_message_find(const char *wire_name);
const xbt_field_desc *xbt_field_find(const xbt_class_desc *c, const char *name);
int xbt_enum_index(const xbt_enum_desc *e, const char *value); /* -1: none */

/* Records: initialise to the IDL defaults, deep-copy, free members. */
void xbt_record_init(const xbt_class_desc *c, void *rec);
void xbt_record_copy(const xbt_class_desc *c, void *dst, const void *src);
void xbt_record_release(const xbt_class_desc *c, void *rec);

/*
 * C record <-> xmlrpc-c value. to_value returns a new reference (caller
 * decrefs); it cannot fail but for memory, which is fatal. from_value fills
 * an initialised record; fields missing from the struct keep their values.
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
 */
xbt_error *xbt_value_check(const xbt_type *t, xmlrpc_value *in,
			   xmlrpc_value **out);

/* strv / map helpers (all copy their string arguments). */
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
