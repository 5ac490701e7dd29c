/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen, the generator of the data models: the in-memory model that the
 * reader (read.c) builds from one IDL file (idl/xenapi.xml, idl/xenops.xml)
 * and the checks (check.c) vet, and the emitters that write one output
 * each, as xapi's generator backends do. For an IDL file idl/B.xml whose
 * api element has prefix P (doc/design.md, "The data model"):
 *
 *   emit_c.c       api/xbt/B.h, api/B.c: enums, records, descriptors, the
 *                  P_api model, and (errors declared in B.xml only) error
 *                  codes and raise helpers
 *   emit_client.c  api/B_client.c: client stubs
 *   emit_server.c  server/B/handlers.h, server/B/dispatch_table.c
 *   emit_doc.c     doc/B.md
 *
 * xenapi keeps the paths it had before there were two models:
 * server/handlers.h, server/dispatch_table.c and doc/api.md (gen.c).
 *
 * util.c holds the memory arena, the output buffers, string helpers and
 * diagnostics; gen.c the command line and the writing of files.
 *
 * Runs at build time only; all memory lives until exit but is freed so
 * that sanitizer builds stay quiet.
 */
#ifndef XBT_IDL_GEN_H
#define XBT_IDL_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

/* ---- memory (util.c): everything is freed at exit ---------------------------- */

void *die_oom(void);
void *xalloc(size_t n);
char *xstrdup(const char *s);
void arena_free(void);

/* A growable array of pointers. */
typedef struct vec {
	void **v;
	size_t n, alloc;
} vec;

void vec_push(vec *a, void *p);

/* ---- output buffers (util.c) --------------------------------------------------- */

typedef struct out {
	char *buf;
	size_t len, alloc;
} out;

void out_add(out *o, const char *s, size_t n);
void out_s(out *o, const char *s);
void out_f(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A C string literal for s (NULL: the token NULL). */
void out_cstr(out *o, const char *s);
/* Text for a Markdown table cell: pipes escaped, no line breaks. */
void out_md(out *o, const char *s);

/* ---- the model ----------------------------------------------------------- */

enum kind {
	K_VOID, K_STRING, K_INT, K_FLOAT, K_BOOL, K_DATETIME, K_ENUM, K_REF,
	K_SET, K_MAP, K_RECORD, K_ANY
};

struct enum_def;
struct class_def;

typedef struct type {
	enum kind kind;
	char *text;
	char *name;              /* ENUM, REF, RECORD: what it names */
	struct type *elem, *key; /* SET: elem; MAP: key, elem (the value) */
	struct enum_def *en;
	struct class_def *cls;
	int id;                  /* -1 until emitted */
	bool used;               /* referenced by the model: emit it */
	int line;
} type;

typedef struct enum_value {
	char *name;
	char *doc;
} enum_value;

typedef struct enum_def {
	char *name;
	char *doc;
	vec values;              /* enum_value * */
	int line;
} enum_def;

typedef struct field_def {
	char *name;
	type *type;
	bool rw;                 /* qualifier RW */
	bool setter;             /* RO, with an explicit set_FIELD as xapi's */
	char *def;               /* NULL: the type's zero */
	char *doc;
	int line;
} field_def;

typedef struct param_def {
	char *name;
	char *cname;             /* as a C identifier in stubs */
	type *type;
	char *def;
	char *doc;
} param_def;

enum msg_kind {
	M_CUSTOM, M_GET_FIELD, M_SET_FIELD, M_ADD_TO_MAP, M_REMOVE_FROM_MAP,
	M_GET_RECORD, M_GET_BY_UUID, M_GET_BY_NAME_LABEL, M_GET_ALL,
	M_GET_ALL_RECORDS
};

typedef struct msg_def {
	char *name;
	struct class_def *cls;
	enum msg_kind kind;
	int field;
	vec params;              /* param_def * */
	size_t nrequired;
	type *result;
	char *result_doc;
	bool session;
	bool async;
	bool pool_only;          /* pool="true": pool sessions only */
	bool emergency;          /* emergency="true": a slave serves it too */
	vec errors;              /* char * (codes) */
	char *doc;
	char *wire;              /* "VM.start" */
	char *index;             /* "XBT_MSG_VM_START": PU_MSG_<CLASS>_<MSG> */
	int line;
} msg_def;

/* omit flags */
enum {
	O_GET_FIELD = 1 << 0,
	O_SET_FIELD = 1 << 1,
	O_MAP_OPS = 1 << 2,
	O_GET_RECORD = 1 << 3,
	O_GET_BY_UUID = 1 << 4,
	O_GET_BY_NAME_LABEL = 1 << 5,
	O_GET_ALL = 1 << 6,
	O_GET_ALL_RECORDS = 1 << 7,
	O_ALL = 0xff
};

typedef struct class_def {
	char *name;
	char *lower;
	char *upper;
	char *doc;
	vec fields;              /* field_def * */
	vec messages;            /* msg_def * (custom then implicit) */
	unsigned omit;
	bool events;             /* changes are events (events="false": not) */
	xmlNodePtr node;
	int line;
} class_def;

typedef struct error_param {
	char *name;
	char *cname;             /* as a macro parameter of the raise helpers */
	char *doc;
	bool repeated;           /* zero or more values (repeated="true") */
} error_param;

typedef struct error_def {
	char *code;
	char *doc;
	vec params;              /* error_param * */
	bool repeated;           /* its one param is repeated: helpers take (n, v) */
	int line;
} error_def;

struct api {
	char *name;
	char *vendor;
	char *major, *minor;
	char *prefix, *uprefix;  /* C prefix P of generated names ("xbt", "XBT") */
	char *daemon, *udaemon;  /* whose handlers ("xbtd", "XBTD") */
	char *handler_prefix;    /* of handler functions ("", "opsd_") */
	char *base;              /* the IDL file's base name: "xenapi" */
	char *source;            /* "idl/xenapi.xml", for notes */
	/* errors declared in this file (emitted) or read with --errors (not) */
	bool own_errors;
	char *errors_base;       /* base name of the file declaring them */
	vec errors;
	vec enums;
	vec classes;
	vec types;               /* every interned type */
	vec messages;            /* every message, in xbt_messages[] order */
	vec idents;              /* C identifiers emitted at file scope */
};

extern struct api api;
extern const char *idl_path;
extern int nerrors;

/* Reports "file:line: error: ..." and counts it (util.c): the IDL file... */
void fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ...or another (the errors file). */
void fail_in(const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- small string helpers (util.c) ---------------------------------------------- */

char *str_lower(const char *s);
/* Uppercase, with anything that is not [A-Z0-9] turned into '_'. */
char *str_cident_upper(const char *s);
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Collapses runs of white space into one space and trims the ends. */
char *str_squash(const char *s);
/* s made safe inside a C comment: no comment terminator. */
char *cmt(const char *s);

extern const char *const c_keywords[];
/* C++ keywords that are not C's: the header may be read by C++. */
extern const char *const cxx_keywords[];
bool in_list(const char *const *list, const char *s);

/* ---- lookups (util.c); NULL or -1 when absent ------------------------------------- */

enum_def *find_enum(const char *name);
class_def *find_class(const char *name);
error_def *find_error(const char *code);
int enum_value_index(const enum_def *e, const char *v);
field_def *find_field(const class_def *c, const char *name);
msg_def *find_message(const class_def *c, const char *name);

/* ---- reading (read.c) and checking (check.c) -------------------------------------- */

/* Validates path against the schema; false (reported) when it does not. */
bool validate(const char *schema_path, const char *path);
/*
 * Builds the model from the parsed IDL, implicit messages included. With
 * errors_doc (parsed from errors_path, --errors) the errors are that
 * file's and the IDL must declare none.
 */
void read_model(xmlDocPtr doc, xmlDocPtr errors_doc, const char *errors_path);

/* Checks that def is a valid default for t; reports at line. */
void check_default(const type *t, const char *def, const char *what,
		   int line);
/* Whole-model checks and the claim of every generated C name. */
void check_model(void);

/* ---- emitting ----------------------------------------------------------------------- */

/* gen.c: shared by the emitters */
/* "Generated by idl/gen from idl/B.xml: do not edit.", as a C comment */
void out_note(out *o);
/* doc/api.md for xenapi, doc/B.md for the others */
const char *doc_path(const char *base);
/* "struct P_<class>_record" */
const char *class_c_record(const class_def *c);
/* Whether any message has a param of a record type (passed as a value). */
bool has_record_params(void);
/* "(self ref VM, value string)" for comments and docs */
char *signature(const msg_def *m);

/* emit_client.c: also used for the prototypes in the header */
void stub_proto(out *o, const msg_def *m, bool async);

void emit_header(out *o);      /* api/xbt/B.h */
void emit_model(out *o);       /* api/B.c */
void emit_client(out *o);      /* api/B_client.c */
void emit_handlers_h(out *o);  /* server/B/handlers.h */
void emit_dispatch(out *o);    /* server/B/dispatch_table.c */
void emit_doc(out *o);         /* doc/B.md */

#endif
