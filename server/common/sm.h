/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SMAPIv1 plugin runner: runs <sm_dir>/<TYPE>SR with one XML-RPC
 * methodCall as argv[1] and turns what the plugin did (exit status, stdout,
 * stderr) into a value or a XenAPI error, per the SMAPIv1 table of doc/design.md.
 * Plugin backtraces (SR_BACKEND_FAILURE_WITH_BACKTRACE) are glued in front
 * of the error's own frames. See doc/plugins.md for the plugin side.
 *
 * Thread safety: sm_call and sm_decode are reentrant (many calls may run
 * at once from different threads). sm_init is start-up only.
 */
#ifndef XBTD_SM_H
#define XBTD_SM_H

#include <stdbool.h>
#include <stddef.h>

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"

#define SM_DEFAULT_TIMEOUT_S 30
#define SM_DEFAULT_GRACE_MS 2000          /* SIGTERM -> SIGKILL */
#define SM_DEFAULT_OUT_CAP (1024 * 1024)  /* per stream */
#define SM_DEFAULT_PARAM_CAP (32 * 1024)  /* plugin text per error param */
#define SM_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SM_MAX_TYPE 64

struct sm_cancel;

/* Zero / NULL fields take the defaults. */
struct sm_config {
	const char *sm_dir;     /* NULL: XBT_SM_DIR (the install location) */
	unsigned timeout_s;     /* per call */
	unsigned grace_ms;      /* after SIGTERM, before SIGKILL */
	const char *hostname;   /* for "<TYPE> @ <host>" frames; NULL: gethostname */
	const char *path;       /* the plugin's PATH; NULL: the daemon's, else SM_DEFAULT_PATH */
	size_t out_cap;         /* bytes kept of stdout, and of stderr */
	size_t param_cap;       /* bytes of plugin text kept in one error param */
	struct sm_cancel *cancel;  /* NULL: the call cannot be cancelled */
};

/*
 * A cancel switch for the plugin calls of one operation. Firing it stops
 * the call running under it as a timeout does (SIGTERM to the plugin's
 * process group, SIGKILL after the grace) and that call fails with
 * TASK_CANCELLED [what]; a call started under a fired switch fails so at
 * once. fire and fired may be called from any thread; free after the last
 * call under the switch has returned.
 */
struct sm_cancel *sm_cancel_new(const char *what);
void sm_cancel_fire(struct sm_cancel *c);
bool sm_cancel_fired(const struct sm_cancel *c);
void sm_cancel_free(struct sm_cancel *c);

/*
 * Start-up, before threads: raises xmlrpc-c's process-wide
 * XMLRPC_XML_SIZE_LIMIT_ID (512 KiB by default) to at least the stdout cap
 * of cfg (NULL: the default cap), so a full-size response parses.
 */
void sm_init(const struct sm_config *cfg);

/*
 * Every plugin started from now on is announced on fd (a pipe) as
 * "+<pgid>\n", and "-<pgid>\n" once its leader has been reaped: xbt-opsd's
 * sweeper kills the groups left when opsd dies. -1: no announcements. Set
 * it before threads run plugins, or with none running.
 */
void sm_set_group_watch(int fd);

/* True when type names a plugin safely: [A-Za-z0-9_]{1,64}. */
bool sm_type_valid(const char *type);

/* The fields of the call struct (doc/design.md, "SMAPIv1"); NULL fields are left out. */
struct sm_call_args {
	const char *host_ref;
	const char *session_ref;
	const char *sr_ref;
	const char *sr_uuid;
	const char *vdi_ref;
	const char *vdi_location;
	const char *vdi_uuid;
	xmlrpc_value *device_config;  /* a struct of strings; NULL: {} */
	const char *const *args;      /* nargs strings */
	size_t nargs;
};

/* Builds the call struct for command (caller owns: xmlrpc_DECREF). */
xmlrpc_value *sm_call_new(const char *command, const struct sm_call_args *a);

/*
 * Runs <sm_dir>/<type>SR <methodCall(command, [call])> (type and command
 * are non-NULL; call is usually from sm_call_new), with stdin
 * /dev/null, no inherited descriptors, its own process group, default
 * signal dispositions and the environment PATH + ORIGINATOR=SM.
 *
 * Success: NULL, *result = the response value (caller decrefs).
 * Errors (caller frees; *result untouched):
 *   type not [A-Za-z0-9_]{1,64}, or no such plugin: SR_UNKNOWN_DRIVER [type]
 *   command not [A-Za-z0-9_.]{1,64}: INTERNAL_ERROR ["bad SM command"]
 *   call NULL or not a struct: INTERNAL_ERROR ["SM call is not a struct"]
 *   the plugin cannot be started: SR_BACKEND_FAILURE
 *     ["cannot run <type>SR: <strerror>", "", ""]
 *   timeout (SIGTERM to the group, SIGKILL after the grace):
 *     SR_BACKEND_FAILURE ["timeout after N s", stdout, stderr]
 *   cfg->cancel fired (before or during the call): TASK_CANCELLED [what]
 *   anything else: as sm_decode.
 */
xbt_error *sm_call(const struct sm_config *cfg, const char *type,
		   const char *command, xmlrpc_value *call,
		   xmlrpc_value **result);

/* How the plugin ended. */
enum sm_exit_kind {
	SM_EXIT_STATUS,   /* code = exit status */
	SM_EXIT_SIGNAL,   /* code = signal number */
	SM_EXIT_TIMEOUT,  /* code = the timeout in seconds */
	SM_EXIT_LOST,     /* reaped by someone else: status unknown */
};

struct sm_exit {
	enum sm_exit_kind kind;
	int code;
};

/* Captured output: the first len bytes of the total written. */
struct sm_output {
	const char *data;
	size_t len;
	size_t total;  /* >= len; more means the cap dropped the rest */
};

/*
 * The pure decoder (doc/design.md, "SMAPIv1"; a non-zero exit wins over stdout).
 * call (may be NULL) gives sr_ref and vdi_ref for VDI_MISSING. Plugin text
 * in params is cut to cfg->param_cap bytes (then "[... N more bytes]") and
 * made safe (xbt_text_safe_dup).
 *
 *   timeout/signal/status != 0    SR_BACKEND_FAILURE [what, stdout, stderr]
 *     what: "timeout after N s", "killed by signal 9 (SIGKILL)",
 *           "exited with status 3", "exit status lost (SIGCHLD reaped
 *           elsewhere?)"
 *   stdout over the cap           SR_BACKEND_FAILURE
 *                                   ["response larger than N bytes", ..]
 *   stdout empty / not a response SR_BACKEND_FAILURE ["no response on
 *                                   stdout" | "not an XML-RPC response:
 *                                   <parser's reason>", stdout, stderr]
 *   fault 38                      UNIMPLEMENTED_IN_SM_BACKEND [command]
 *   fault 39 / 24 / 16            SR_NOT_EMPTY / VDI_IN_USE / SR_DEVICE_IN_USE []
 *   fault 144                     VDI_MISSING [sr_ref, vdi_ref]
 *   fault N                       SR_BACKEND_FAILURE_<N> ["", faultString, stderr]
 *   {Status: Success, Value: v}   v
 *   {Status: Failure, ErrorDescription: [SR_BACKEND_FAILURE_WITH_BACKTRACE,
 *     json, code, reason]}        SR_BACKEND_FAILURE_<code> ["", reason
 *                                   (empty: the JSON's "error"), stderr],
 *                                 the JSON's frames (process
 *                                 "<type> @ <host>") glued in front; bad
 *                                 JSON: a warning, frames left out
 *     code not [A-Za-z0-9_]{1,64} or not 3 params: SR_BACKEND_FAILURE
 *                                   [what was wrong, stdout, stderr]
 *   {Status: Failure, ErrorDescription: [code, p...]}  that error; a code
 *                                 not [A-Za-z0-9_]{1,64}: SR_BACKEND_FAILURE
 *                                   ["bad error code from plugin: <code>", ..]
 *   a struct with Status otherwise shaped, or a vdi_attach result that is
 *   not a struct with a string params_nbd:
 *                                 INTERNAL_ERROR ["Unexpected response from SM plugin"]
 *   any other value v (classic SMAPIv1: nil, a struct ...)   v
 *
 * out and err may be NULL (nothing captured).
 * Success: NULL, *result = the value (caller decrefs).
 */
xbt_error *sm_decode(const struct sm_config *cfg, const char *type,
		     const char *command, xmlrpc_value *call,
		     const struct sm_exit *how, const struct sm_output *out,
		     const struct sm_output *err, xmlrpc_value **result);

/*
 * The call as logged: "<type> <command> {key: value, ...}" on one line,
 * long strings cut, with the values of session_ref and of every struct
 * member whose key contains "password" or "secret" (any case) written as
 * "(hidden)". Caller frees.
 */
char *sm_render_call(const char *type, const char *command,
		     xmlrpc_value *call);

/* For tests: false makes the runner poll for the exit instead of pidfd. */
void sm_test_use_pidfd(bool on);

#endif
