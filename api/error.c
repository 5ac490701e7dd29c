/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one error idiom: raise, propagate ("Called from"), re-raise keeping
 * the old frames (upstream lost them: backtrace#20), summarise. Nothing here
 * runs on the success path: XBT_PROPAGATE is an inline NULL test.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xbt/backtrace.h"

static void error_set(xbt_error *e, const char *code, size_t nparams,
		      const char *const *params)
{
	e->code = xbt_strdup(code ? code : "INTERNAL_ERROR");
	e->nparams = nparams;
	e->params = nparams ? xbt_reallocarray(NULL, nparams, sizeof(char *))
			    : NULL;
	for (size_t i = 0; i < nparams; i++)
		e->params[i] = xbt_strdup(params[i] ? params[i] : "");
}

static void error_clear(xbt_error *e)
{
	for (size_t i = 0; i < e->nparams; i++)
		free(e->params[i]);
	free(e->params);
	free(e->code);
	e->params = NULL;
	e->nparams = 0;
	e->code = NULL;
}

static void error_add_frame(xbt_error *e, const char *file, int line,
			    const char *func, bool is_raise)
{
	xbt_frame f = {
		.process = xbt_process(),
		.filename = file,
		.line = line,
		.name = func,
		.is_raise = is_raise,
	};
	xbt_backtrace_push(&e->bt, &f);
}

/* Collects a NULL-terminated vararg list of strings into an array. */
static const char **error_collect(va_list ap, size_t *n)
{
	va_list cp;
	size_t count = 0;
	const char **v;

	va_copy(cp, ap);
	while (va_arg(cp, const char *))
		count++;
	va_end(cp);
	v = xbt_reallocarray(NULL, count ? count : 1, sizeof(*v));
	for (size_t i = 0; i < count; i++)
		v[i] = va_arg(ap, const char *);
	*n = count;
	return v;
}

xbt_error *xbt_error_raisev(const char *file, int line, const char *func,
			    const char *code, size_t nparams,
			    const char *const *params)
{
	xbt_error *e = xbt_calloc(1, sizeof(*e));

	xbt_backtrace_init(&e->bt);
	error_set(e, code, nparams, params);
	error_add_frame(e, file, line, func, true);
	return e;
}

/* The vararg forms: params up to a NULL, then as reraisev (old NULL: raise). */
static xbt_error *error_va(xbt_error *old, const char *file, int line,
			   const char *func, const char *code, va_list ap)
{
	size_t n;
	const char **v = error_collect(ap, &n);
	xbt_error *e = xbt_error_reraisev(old, file, line, func, code, n, v);

	free(v);
	return e;
}

xbt_error *xbt_error_raise(const char *file, int line, const char *func,
			   const char *code, ...)
{
	va_list ap;
	xbt_error *e;

	va_start(ap, code);
	e = error_va(NULL, file, line, func, code, ap);
	va_end(ap);
	return e;
}

xbt_error *xbt_error_reraisev(xbt_error *old, const char *file, int line,
			      const char *func, const char *code,
			      size_t nparams, const char *const *params)
{
	xbt_error *e = old;

	if (!e)
		return xbt_error_raisev(file, line, func, code, nparams, params);
	/* params may point into old's own params: copy before clearing. */
	xbt_error fresh = { 0 };
	error_set(&fresh, code, nparams, params);
	error_clear(e);
	e->code = fresh.code;
	e->params = fresh.params;
	e->nparams = fresh.nparams;
	error_add_frame(e, file, line, func, true);
	return e;
}

xbt_error *xbt_error_reraise(xbt_error *old, const char *file, int line,
			     const char *func, const char *code, ...)
{
	va_list ap;
	xbt_error *e;

	va_start(ap, code);
	e = error_va(old, file, line, func, code, ap);
	va_end(ap);
	return e;
}

xbt_error *xbt_error_called_from(xbt_error *e, const char *file, int line,
				 const char *func)
{
	if (e)
		error_add_frame(e, file, line, func, false);
	return e;
}

void xbt_error_free(xbt_error *e)
{
	if (!e)
		return;
	error_clear(e);
	xbt_backtrace_release(&e->bt);
	free(e);
}

char *xbt_error_summary(const xbt_error *e)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_add_safe(&b, e->code, strlen(e->code));
	xbt_buf_addstr(&b, " [");
	for (size_t i = 0; i < e->nparams; i++) {
		if (i)
			xbt_buf_addstr(&b, "; ");
		xbt_buf_add_safe(&b, e->params[i], strlen(e->params[i]));
	}
	xbt_buf_addch(&b, ']');
	return xbt_buf_detach(&b, NULL);
}
