/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xe: a compatible subset of the xe command line over libxbt's client.
 *
 * Failure idiom: functions return xbt_error * like the rest of xbt. Errors
 * that come from the server (a task's error_info and backtrace, or a
 * synchronous call's ErrorDescription) are passed up unchanged: the trace
 * xe prints is the server's, frame for frame, so xe adds none of its own.
 * Failures found by xe itself use the XE_ERR_* codes below, which main()
 * turns into messages and exit statuses.
 */
#ifndef XE_H
#define XE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"
#include "xbt/model.h"

/* Exit statuses (documented in doc/xe.1). */
enum {
	XE_EXIT_OK = 0,
	XE_EXIT_ERROR = 1,     /* a XenAPI error or a failed operation */
	XE_EXIT_USAGE = 2,     /* bad command line, unknown command */
	XE_EXIT_CONNECT = 3,   /* server unreachable or not speaking XenAPI */
	XE_EXIT_AUTH = 4,      /* authentication failed */
};

/* xe's own error codes (never sent on the wire). */
#define XE_ERR_USAGE "XE_USAGE"                 /* [message] */
#define XE_ERR_UNKNOWN_COMMAND "XE_UNKNOWN_COMMAND" /* [command] */
#define XE_ERR_FAILURE "XE_FAILURE"             /* [message] */
#define XE_ERR_REPORTED "XE_REPORTED"           /* [] already printed */

#define XE_DEFAULT_SERVER "127.0.0.1"
#define XE_DEFAULT_PORT 8080
#define XE_DEFAULT_USER "root"
#define XE_DEFAULT_PASSWORD "xbt"   /* xbtd's default */

/* ---- the command line (args.c) --------------------------------------- */

struct xe_param {
	char *key;
	char *val;
};

struct xe_opts {
	char *server;
	unsigned port;
	char *user;
	char *password;
	char *pwfile;         /* -pwf / passwordfile=: read by xe_args_parse */
	char *command;        /* NULL: none given */
	char **words;         /* bare words after the command (help's topic) */
	size_t nwords;
	struct xe_param *params; /* key=value and --flag (flag=true), in order:
				    command line, XE_EXTRA_ARGS, ~/.xe */
	size_t nparams;
	bool help;            /* --help or -help */
	bool rc_broken;       /* ~/.xe had a line without '=' (ignored) */
};

/*
 * Splits XE_EXTRA_ARGS at commas; "\," is a comma inside an argument and
 * "\\" a backslash (any other backslash stays). Empty pieces are skipped.
 * *out (caller frees with xe_strv_free) gets *n strings.
 */
void xe_split_extra(const char *s, char ***out, size_t *n);
void xe_strv_free(char **v, size_t n);

/*
 * Parses the text of ~/.xe: lines "key=value", blank lines skipped. As the
 * real xe does, one line without '=' makes the whole file ignored
 * (returns false, *out empty). Keys and values are kept verbatim but for
 * a trailing CR.
 */
bool xe_rc_parse(const char *text, struct xe_param **out, size_t *n);
void xe_params_free(struct xe_param *p, size_t n);

/*
 * Parses argv[1..] plus XE_EXTRA_ARGS (extra, may be NULL) plus
 * home/.xe (home may be NULL). Later sources lose: the command line wins
 * over XE_EXTRA_ARGS, which wins over ~/.xe. Connection settings come
 * from -s/-h, -p, -u, -pw, -pwf or server=, port=, username=, password=,
 * passwordfile=; anything else of the form key=value is a parameter of the
 * command; --name means name=true. A password file is read here (first
 * line the user, second the password). Errors: XE_USAGE [message].
 * o is initialised here; release with xe_opts_release.
 */
xbt_error *xe_args_parse(int argc, char **argv, const char *extra,
			 const char *home, struct xe_opts *o);
void xe_opts_release(struct xe_opts *o);

/* The value of the first parameter named key, or NULL. */
const char *xe_param(const struct xe_opts *o, const char *key);
/* Boolean parameter: true/yes/1 or false/no/0. XE_USAGE when neither. */
xbt_error *xe_param_bool(const struct xe_opts *o, const char *key, bool dflt,
			 bool *out);
/* XE_USAGE ["Required parameter not found: key"] when absent. */
xbt_error *xe_param_need(const struct xe_opts *o, const char *key,
			 const char **out);
/* True for the parameters every command accepts (server, minimal, ...). */
bool xe_param_is_std(const char *key);

/* ---- output (output.c) ------------------------------------------------- */

/* One printed field: "name ( RO)" and its value. */
struct xe_row {
	char *key;   /* name with its qualifier */
	char *val;
};

struct xe_record {
	struct xe_row *rows;
	size_t n;
};

void xe_record_add(struct xe_record *r, const char *name, const char *qual,
		   const char *val);
void xe_record_release(struct xe_record *r);

/*
 * Appends one record as xe lays it out: keys padded to 4 more than the
 * longest, the first left-aligned and the rest right-aligned, then ": "
 * and the value; two empty lines follow every record.
 */
void xe_layout_record(const struct xe_record *r, xbt_buf *out);
/* --minimal: "," and "\" in a value escaped as "\," and "\\". */
void xe_minimal_escape(const char *s, xbt_buf *out);

/* A float as OCaml's string_of_float prints it (xe's records use it). */
void xe_format_float(double d, xbt_buf *out);
/* A datetime (seconds since the epoch, UTC) as 20260101T00:00:00Z. */
void xe_format_datetime(int64_t t, xbt_buf *out);

/*
 * The error report on stderr: "Error code: X" and "Error parameters: a, b";
 * with trace also "Raised Server_error(X, [ a; b ])", "Backtrace:" and the
 * human form of bt.
 */
void xe_format_error(const xbt_error *e, bool trace, xbt_buf *out);

/* ---- talking to the server (conn.c) ---------------------------------- */

struct xbt_client;

struct xe_conn {
	struct xbt_client *c;
	char *url;
	char *session;
};

/* Opens a connection and logs in. Errors as the server or client raise. */
xbt_error *xe_connect(const struct xe_opts *o, struct xe_conn *conn);
/* Logs out (errors ignored) and closes. */
void xe_disconnect(struct xe_conn *conn);

/*
 * Waits for the task ref (an Async call's result) to finish, then
 * destroys it. Success: NULL. Failure: the task's error_info with the
 * task's backtrace as the error's frames, exactly; a cancelled task gives
 * TASK_CANCELLED [task].
 */
xbt_error *xe_wait_task(struct xe_conn *conn, const char *task);

/* ---- classes, records, selection (records.c) ------------------------- */

typedef xbt_error *(*xe_all_fn)(struct xbt_client *c, const char *session,
				xmlrpc_value **result);
typedef xbt_error *(*xe_one_fn)(struct xbt_client *c, const char *session,
				const char *arg, xmlrpc_value **result);

/* A class xe knows: its name on the command line and its stubs. */
struct xe_class {
	const char *cli;                 /* "vm" */
	const xbt_class_desc *desc;
	xe_all_fn get_all_records;
	xe_one_fn get_by_uuid;
	xe_one_fn get_record;
	const char *const *list_fields;  /* <cli>-list's default fields */
	const char *const *list_filters; /* "key=value" always applied */
	const char *const *order;        /* columns shown first, or NULL */
};

const struct xe_class *xe_class_find(const char *cli);
const struct xe_class *xe_class_by_desc(const xbt_class_desc *d);

/*
 * How a class's record is shown: one entry per printed field. A ref field
 * named after the class it points at (VDI.SR, VBD.VM) shows as
 * "<class>-uuid" and, when that class has a name, "<class>-name-label",
 * as xe's records do; other fields show under their name with '_' as '-'.
 */
enum xe_show { XE_SHOW_FIELD, XE_SHOW_REF_UUID, XE_SHOW_REF_NAME };

struct xe_col {
	char *name;
	const char *qual;             /* "( RO)", "( RW)", "(SRO)", ... */
	const xbt_field_desc *field;
	enum xe_show show;
};

struct xe_view {
	const xbt_class_desc *desc;
	struct xe_col *cols;
	size_t n;
};

void xe_view_init(struct xe_view *v, const xbt_class_desc *desc);
void xe_view_release(struct xe_view *v);
/* The column shown as name, or NULL. */
const struct xe_col *xe_view_col(const struct xe_view *v, const char *name);

/* Resolves refs to uuids and names, fetching each class once. */
struct xe_refs;
struct xe_refs *xe_refs_new(struct xe_conn *conn);
void xe_refs_free(struct xe_refs *r);

/* One object: its ref and its decoded record (the generated struct). */
struct xe_obj {
	char *ref;
	void *rec;
};

struct xe_objs {
	const xbt_class_desc *desc;
	struct xe_obj *v;
	size_t n;
};

/* All objects of the class, in the server's order. */
xbt_error *xe_objs_fetch(struct xe_conn *conn, const struct xe_class *cls,
			 struct xe_objs *out);
void xe_objs_release(struct xe_objs *o);

/* Appends one scalar of type t (a ref resolved through refs, if any). */
void xe_add_scalar(xbt_buf *out, const xbt_type *t, const char *s,
		   struct xe_refs *refs);
/*
 * The text xe prints for column c of rec. refs may be NULL (refs then
 * print as they are). Caller frees.
 */
char *xe_col_value(const struct xe_col *c, const void *rec,
		   struct xe_refs *refs);

/*
 * Keeps the objects matching every filter parameter of o (all parameters
 * but the standard ones, "params", and those in ignore). "name=value"
 * compares the printed value, "map:key=value" a map's entry,
 * "set:contains=value" a set's member. Unknown fields: XE_USAGE.
 */
xbt_error *xe_objs_filter(struct xe_objs *objs, const struct xe_view *view,
			  const struct xe_opts *o, const char *const *ignore,
			  struct xe_refs *refs);
/* Keeps the objects for which keep(obj, ctx) is true, in order. */
void xe_objs_retain(struct xe_objs *objs,
		    bool (*keep)(const struct xe_obj *, const void *),
		    const void *ctx);
/* Keeps the objects where column name prints as value. */
void xe_objs_keep(struct xe_objs *objs, const struct xe_view *view,
		  const char *name, const char *value, struct xe_refs *refs);

/* The ref of the class's object with that uuid; the server's error
 * (UUID_INVALID) when there is none. *ref: caller frees. */
xbt_error *xe_ref_by_uuid(struct xe_conn *conn, const struct xe_class *cls,
			  const char *uuid, char **ref);

/*
 * The printed fields of one record (rec, of the view's class): those
 * params names ("all", "a,b"), or with params NULL those in dflt (all
 * when dflt is NULL too). r starts empty; release it with
 * xe_record_release.
 */
void xe_obj_record(const struct xe_view *v, const void *rec,
		   const char *params, const char *const *dflt,
		   struct xe_refs *refs, struct xe_record *r);

/* Prints objects: records, or their uuids with --minimal. */
xbt_error *xe_print_objs(const struct xe_objs *objs, const struct xe_view *v,
			 const struct xe_opts *o, const char *const *dflt,
			 struct xe_refs *refs, xbt_buf *out);

/* ---- commands (cmd_*.c) ------------------------------------------------ */

struct xe_cmd {
	const char *name;
	const char *synopsis;
	const char *help;
	const char *const *reqd;    /* required parameters */
	const char *optional;       /* optional parameters, for help */
	bool needs_server;
	xbt_error *(*run)(const struct xe_cmd *cmd, struct xe_opts *o,
			  struct xe_conn *conn, xbt_buf *out);
	const struct xe_class *(*cls)(void); /* list/param commands: the class */
};

extern const struct xe_cmd xe_cmds[];
extern const size_t xe_ncmds;
const struct xe_cmd *xe_cmd_find(const char *name);

/* The commands: one signature, so the table can name them. */
typedef xbt_error *xe_cmd_fn(const struct xe_cmd *cmd, struct xe_opts *o,
			     struct xe_conn *conn, xbt_buf *out);
xe_cmd_fn xe_cmd_list, xe_cmd_param_get, xe_cmd_param_list, xe_cmd_vm_start,
	xe_cmd_vm_shutdown, xe_cmd_task_cancel, xe_cmd_task_destroy,
	xe_cmd_pool_join, xe_cmd_pool_eject, xe_cmd_help;

#endif
