/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The backtrace core: frames, bounded backtraces, the one error idiom
 * (xbt_error), the sexplib wire form, the human form and Python interop.
 * See doc/backtraces.md for how contributors use it.
 *
 * Thread safety: every function is reentrant. The only global state is the
 * process name and the bounds, both set once at start-up before threads run.
 */
#ifndef XBT_BACKTRACE_H
#define XBT_BACKTRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "xbt/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One frame, the fields of upstream's Backtrace frame, in wire order. */
typedef struct xbt_frame {
	const char *process;  /* "<program> @ <hostname>" */
	const char *filename;
	int line;
	int chars_start;
	int chars_end;
	const char *name;     /* function; NULL when unknown */
	bool is_inline;
	bool is_raise;        /* recorded by a raise or re-raise */
	size_t elided;        /* > 0: stands for that many dropped frames; its
			       * filename then reads "(N frames elided)" */
} xbt_frame;

struct xbt_strpool;

/*
 * Frames innermost (the raise point) first. Strings of a frame either have
 * static storage (__FILE__, __func__, the process name) or live in the
 * backtrace's own pool (frames that came from outside).
 */
typedef struct xbt_backtrace {
	xbt_frame *frames;
	size_t n;
	size_t alloc;
	size_t bytes;              /* sum of xbt_frame_cost() of the frames */
	struct xbt_strpool *pool;  /* owned strings, NULL until needed */
} xbt_backtrace;

#define XBT_BACKTRACE_INIT { NULL, 0, 0, 0, NULL }

/* Bounds (documented in doc/backtraces.md). */
#define XBT_DEFAULT_MAX_FRAMES 256
#define XBT_DEFAULT_MAX_BYTES (64 * 1024)
#define XBT_MAX_ATOM 4096          /* longer strings from outside are cut */
#define XBT_MAX_SEXP_INPUT (1024 * 1024)
#define XBT_MAX_JSON_INPUT (1024 * 1024)
#define XBT_MAX_NESTING 32

/*
 * Start-up configuration. Call before any thread uses the library.
 * xbt_set_process: the process name becomes "<program> @ <hostname>";
 * names set earlier stay valid (frames may still point at them).
 * xbt_set_limits: 0 keeps the current value; max_frames is at least 3.
 */
void xbt_set_process(const char *program, const char *hostname);
const char *xbt_process(void);
void xbt_set_limits(size_t max_frames, size_t max_bytes);
size_t xbt_max_frames(void);
size_t xbt_max_bytes(void);

void xbt_backtrace_init(xbt_backtrace *bt);
void xbt_backtrace_release(xbt_backtrace *bt);  /* frees, then re-inits */

/* Copies s[0..len) (cut to XBT_MAX_ATOM) into bt's pool; never fails. */
const char *xbt_backtrace_intern(xbt_backtrace *bt, const char *s, size_t len);

/*
 * Appends f as the new outermost frame. Its strings must be static or
 * interned in bt. A frame equal to the current outermost one (process,
 * filename, line, characters) is dropped, as upstream does. Bounds are
 * enforced: frames beyond them collapse into one elision frame.
 */
void xbt_backtrace_push(xbt_backtrace *bt, const xbt_frame *f);
/* As push, but copies f's strings into bt's pool first. */
void xbt_backtrace_push_copy(xbt_backtrace *bt, const xbt_frame *f);

/*
 * Glues remote (deeper: a plugin, another host) in front of bt's frames.
 * remote's frames and strings move into bt; remote is left empty.
 */
void xbt_backtrace_glue_remote(xbt_backtrace *bt, xbt_backtrace *remote);

/* Approximate wire bytes of one frame, used by the byte bound. */
size_t xbt_frame_cost(const xbt_frame *f);

/* ---- the one error idiom ------------------------------------------------ */

/* A XenAPI error: code, string params, and where it came from. */
typedef struct xbt_error {
	char *code;
	char **params;
	size_t nparams;
	xbt_backtrace bt;
} xbt_error;

#define XBT_HERE __FILE__, __LINE__, __func__

/*
 * XBT_RAISE(code, p1, p2, ...): a new error (caller owns it, free with
 * xbt_error_free) whose first frame is "Raised at" here.
 */
#define XBT_RAISE(code, ...) \
	xbt_error_raise(XBT_HERE, (code), ##__VA_ARGS__, (const char *)NULL)

/*
 * XBT_PROPAGATE(expr): evaluates expr (an xbt_error *); when it is an error,
 * adds a "Called from" frame for this place. The success path is one
 * compare. Typical use:  err = XBT_PROPAGATE(store_lookup(...));
 */
#define XBT_PROPAGATE(expr) xbt_error_propagate((expr), XBT_HERE)

/*
 * XBT_RERAISE(old, code, p1, ...): turns old into a different error. The
 * code and params are replaced, old's frames kept, and a "Re-raised at"
 * frame added here. Returns old (now the new error).
 */
#define XBT_RERAISE(old, code, ...) \
	xbt_error_reraise((old), XBT_HERE, (code), ##__VA_ARGS__, \
			  (const char *)NULL)

/*
 * XBT_RELAY(code, n, params): the relay path (doc/design.md, "Errors").
 * Raises an error whose code is not ours to declare, passed on with its
 * code and params unchanged: a plugin's own XenAPI error,
 * SR_BACKEND_FAILURE_<N> whose code is built at run time, an error that
 * came back from another process or host. Everything else raises a
 * declared error through its generated helper (XBT_RAISE_<CODE>).
 */
#define XBT_RELAY(code, nparams, params) \
	xbt_error_raisev(XBT_HERE, (code), (nparams), (params))

xbt_error *xbt_error_raise(const char *file, int line, const char *func,
			   const char *code, ...);
/* Params given as an array; NULL entries become "". */
xbt_error *xbt_error_raisev(const char *file, int line, const char *func,
			    const char *code, size_t nparams,
			    const char *const *params);
xbt_error *xbt_error_reraise(xbt_error *old, const char *file, int line,
			     const char *func, const char *code, ...);
xbt_error *xbt_error_reraisev(xbt_error *old, const char *file, int line,
			      const char *func, const char *code,
			      size_t nparams, const char *const *params);
xbt_error *xbt_error_called_from(xbt_error *e, const char *file, int line,
				 const char *func);

static inline xbt_error *xbt_error_propagate(xbt_error *e, const char *file,
					     int line, const char *func)
{
	return e ? xbt_error_called_from(e, file, line, func) : NULL;
}

void xbt_error_free(xbt_error *e);
/* "CODE [p1; p2]" for logs (caller frees). */
char *xbt_error_summary(const xbt_error *e);

/* ---- wire and human forms ------------------------------------------------ */

/* Appends the sexplib "machine" form of bt ("()" when empty). */
void xbt_backtrace_to_sexp(const xbt_backtrace *bt, xbt_buf *out);
/* Appends one frame's sexp. */
void xbt_frame_to_sexp(const xbt_frame *f, xbt_buf *out);
/* Appends an atom, quoted and escaped as sexplib does when it must be. */
void xbt_sexp_atom(xbt_buf *out, const char *s, size_t len);

/*
 * Parses a backtrace s-expression (current and old three-field frames).
 * On success *out (initialised by the caller) holds the frames appended
 * in order. On error: INTERNAL_ERROR ["backtrace s-expression: <why>"],
 * and *out is left as it was.
 */
xbt_error *xbt_backtrace_from_sexp(const char *s, size_t len,
				   xbt_backtrace *out);

/*
 * Appends the human form, one line per frame, each ending in '\n':
 * "1/4 xbtd @ h1 Raised at task_run in file "server/task.c", line 12".
 */
void xbt_backtrace_to_human(const xbt_backtrace *bt, xbt_buf *out);
void xbt_frame_to_human(const xbt_frame *f, size_t index, size_t total,
			xbt_buf *out);

/*
 * Python interop: {"error": str, "files": [str], "lines": [int]} with the
 * lists outermost first (Python's order). On success *out (initialised by
 * the caller) gets the frames innermost first, each with process `process`,
 * the innermost marked is_raise; *error_text (caller frees) is the safe
 * form of "error" ("" when absent); *dropped counts entries of the longer
 * list that had no partner. On error (bad JSON, wrong types, too deep, too
 * big): INTERNAL_ERROR ["python backtrace: <why>"], outputs untouched.
 */
xbt_error *xbt_backtrace_from_pyjson(const char *json, size_t len,
				     const char *process, xbt_backtrace *out,
				     char **error_text, size_t *dropped);

#ifdef __cplusplus
}
#endif
#endif
