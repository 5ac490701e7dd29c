/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Python backtraces from SM plugins: {"error", "files", "lines"}, parsed
 * with xbt_json_parse (bounded depth). Upstream dropped
 * "error", kept Python's outermost-first order and failed on mismatched
 * lengths; here the text is returned, frames come innermost first, and
 * what pairs is kept.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/backtrace.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

static xbt_error *pyjson_fail_at(const char *file, int line,
				 const char *func, const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "python backtrace: %s", why);
	return xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR, msg,
			       (const char *)NULL);
}

/* Raises where it is called, not here. */
#define pyjson_fail(why) pyjson_fail_at(XBT_HERE, (why))

/* Reads member `key` as an array (*out NULL when absent). */
static const char *pyjson_array(xmlrpc_value *obj, const char *key,
				xmlrpc_value **out)
{
	const char *why = NULL;

	*out = xbt_value_get(obj, key);
	if (!*out)
		why = key[0] == 'f' ? "no \"files\" list" : "no \"lines\" list";
	else if (xmlrpc_value_type(*out) != XMLRPC_TYPE_ARRAY)
		why = key[0] == 'f' ? "\"files\" is not a list"
				    : "\"lines\" is not a list";
	return why;
}

/* One (file, line) pair as a frame of tmp; why on a bad pair. */
static const char *pyjson_frame(xmlrpc_value *fv, xmlrpc_value *lv,
				const char *process, xbt_backtrace *tmp)
{
	xmlrpc_env env;
	xmlrpc_int64 line = 0;
	xbt_frame f = { .process = process };
	const char *why = NULL;
	char *name = NULL, *safe = NULL;
	size_t len = 0;

	xmlrpc_env_init(&env);
	if (!(name = xbt_value_text(fv, &len))) {
		why = "a file name is not a string";
		goto out;
	}
	if (xmlrpc_value_type(lv) != XMLRPC_TYPE_I8) {
		why = "a line is not an integer";
		goto out;
	}
	xmlrpc_read_i8(&env, lv, &line);
	if (env.fault_occurred || line < 0 || line > INT_MAX) {
		why = "a line is out of range";
		goto out;
	}
	safe = xbt_text_safe_dup(name, len);
	f.filename = xbt_backtrace_intern(tmp, safe, strlen(safe));
	f.line = (int)line;
	f.is_raise = tmp->n == 0;
	if (tmp->n == tmp->alloc) {
		tmp->alloc = tmp->alloc ? tmp->alloc * 2 : 16;
		tmp->frames = xbt_reallocarray(tmp->frames, tmp->alloc,
					       sizeof(f));
	}
	tmp->frames[tmp->n++] = f;
	tmp->bytes += xbt_frame_cost(&f);
out:
	free(name);
	free(safe);
	xmlrpc_env_clean(&env);
	return why;
}

xbt_error *xbt_backtrace_from_pyjson(const char *json, size_t len,
				     const char *process, xbt_backtrace *out,
				     char **error_text, size_t *dropped)
{
	xmlrpc_value *root = NULL, *files = NULL, *lines = NULL, *text = NULL;
	xbt_backtrace tmp = XBT_BACKTRACE_INIT;
	char *etext = NULL;
	const char *why = NULL;
	xbt_error *err = NULL;
	size_t nfiles, nlines, npairs;

	if (len > XBT_MAX_JSON_INPUT) {
		err = pyjson_fail("input too large");
		goto out;
	}
	if ((err = xbt_json_parse(json, len, XBT_MAX_NESTING, &root))) {
		char *why_text = xbt_strdup(err->params[0]);
		xbt_error_free(err);
		err = pyjson_fail(why_text);
		free(why_text);
		goto out;
	}
	if (xmlrpc_value_type(root) != XMLRPC_TYPE_STRUCT) {
		why = "not a JSON object";
		goto fail;
	}
	if ((why = pyjson_array(root, "files", &files)) ||
	    (why = pyjson_array(root, "lines", &lines)))
		goto fail;
	if ((text = xbt_value_get(root, "error"))) {
		size_t slen;
		char *s = xbt_value_text(text, &slen);

		if (!s) {
			why = "\"error\" is not a string";
			goto fail;
		}
		etext = xbt_text_safe_dup(s, slen);
		free(s);
	} else {
		etext = xbt_strdup("");
	}
	nfiles = xbt_value_size(files);
	nlines = xbt_value_size(lines);
	npairs = nfiles < nlines ? nfiles : nlines;
	process = xbt_backtrace_intern(&tmp, process, strlen(process));
	/* Python lists outermost first; walk backwards for innermost first. */
	for (size_t k = npairs; k-- > 0 && !why;) {
		xmlrpc_value *fv = xbt_value_item(files, k);
		xmlrpc_value *lv = xbt_value_item(lines, k);

		why = pyjson_frame(fv, lv, process, &tmp);
		xmlrpc_DECREF(fv);
		xmlrpc_DECREF(lv);
	}
	if (why)
		goto fail;
	xbt__backtrace_append(out, &tmp);
	*error_text = etext;
	etext = NULL;
	*dropped = nfiles > nlines ? nfiles - nlines : nlines - nfiles;
	goto out;
fail:
	err = pyjson_fail(why);
out:
	xbt_backtrace_release(&tmp);
	free(etext);
	if (text)
		xmlrpc_DECREF(text);
	if (files)
		xmlrpc_DECREF(files);
	if (lines)
		xmlrpc_DECREF(lines);
	if (root)
		xmlrpc_DECREF(root);
	return err;
}
