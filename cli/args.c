/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xe's command line: options, key=value parameters, XE_EXTRA_ARGS and
 * ~/.xe, with the real xe's precedence (command line > XE_EXTRA_ARGS >
 * ~/.xe > defaults).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xe.h"

/* ~/.xe and password files are small; anything bigger is not ours. */
#define XE_MAX_FILE (64 * 1024)

void xe_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xbt_reallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

void xe_split_extra(const char *s, char ***out, size_t *n)
{
	xbt_buf piece = XBT_BUF_INIT;

	*out = NULL;
	*n = 0;
	for (const char *p = s ? s : ""; ; p++) {
		if (*p == '\\' && (p[1] == ',' || p[1] == '\\')) {
			xbt_buf_addch(&piece, *++p);
		} else if (*p == ',' || *p == '\0') {
			if (piece.len)
				strv_push(out, n, xbt_buf_detach(&piece, NULL));
			if (*p == '\0')
				break;
		} else {
			xbt_buf_addch(&piece, *p);
		}
	}
	xbt_buf_release(&piece);
}

static void params_push(struct xe_param **v, size_t *n, const char *key,
			size_t keylen, const char *val)
{
	*v = xbt_reallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].key = xbt_strndup(key, keylen);
	(*v)[*n].val = xbt_strdup(val);
	(*n)++;
}

void xe_params_free(struct xe_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].val);
	}
	free(p);
}

bool xe_rc_parse(const char *text, struct xe_param **out, size_t *n)
{
	const char *line = text;
	bool ok = true;

	*out = NULL;
	*n = 0;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *eq = memchr(line, '=', len);
		char *val;

		if (len && line[len - 1] == '\r')
			len--;
		if (len && !eq) {
			ok = false;
			break;
		}
		if (len) {
			val = xbt_strndup(eq + 1, len - (size_t)(eq + 1 - line));
			params_push(out, n, line, (size_t)(eq - line), val);
			free(val);
		}
		line += end ? (size_t)(end - line) + 1 : strlen(line);
	}
	if (!ok) {
		xe_params_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ok;
}

/* Reads a whole small file; NULL when it cannot be read. */
static char *read_small_file(const char *path)
{
	xbt_buf b = XBT_BUF_INIT;
	char *result = NULL;

	if (xbt_buf_read_file(&b, path, XE_MAX_FILE))
		result = xbt_buf_detach(&b, NULL);
	xbt_buf_release(&b);
	return result;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xbt_strdup(v);
}

static xbt_error *usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static xbt_error *usage(const char *fmt, ...)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *err;
	va_list ap;

	va_start(ap, fmt);
	xbt_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	err = XBT_RAISE(XE_ERR_USAGE, b.buf);
	xbt_buf_release(&b);
	return err;
}

static xbt_error *set_port(struct xe_opts *o, const char *v)
{
	char *end;
	long p;

	errno = 0;
	p = strtol(v, &end, 10);
	if (errno || end == v || *end || p < 0 || p > 65535)
		return XBT_RAISE(XE_ERR_USAGE,
				 "Port number must be an integer (0-65535)");
	o->port = (unsigned)p;
	return NULL;
}

/*
 * A connection setting given as key=value (command line, XE_EXTRA_ARGS or
 * ~/.xe). *known tells whether key was one; the real xe ignores nossl and
 * the debug switches here too (xe never uses TLS and logs nothing).
 */
static xbt_error *set_keyword(struct xe_opts *o, const char *key,
			      const char *val, bool *known)
{
	xbt_error *err = NULL;

	*known = true;
	if (strcmp(key, "server") == 0)
		set_str(&o->server, val);
	else if (strcmp(key, "port") == 0)
		err = set_port(o, val);
	else if (strcmp(key, "username") == 0)
		set_str(&o->user, val);
	else if (strcmp(key, "password") == 0)
		set_str(&o->password, val);
	else if (strcmp(key, "passwordfile") == 0)
		set_str(&o->pwfile, val);
	else if (strcmp(key, "nossl") == 0 || strcmp(key, "debug") == 0 ||
		 strcmp(key, "debugonfail") == 0)
		;
	else
		*known = false;
	return err;
}

/* One source of arguments (the command line or XE_EXTRA_ARGS). */
static xbt_error *parse_list(struct xe_opts *o, char **args, size_t n,
			     struct xe_param **params, size_t *nparams,
			     char ***words, size_t *nwords)
{
	static const struct { const char *opt, *key; } opts[] = {
		{ "-s", "server" }, { "-h", "server" }, { "-p", "port" },
		{ "-u", "username" }, { "-pw", "password" },
		{ "-pwf", "passwordfile" },
	};
	xbt_error *err = NULL;
	bool known;

	for (size_t i = 0; i < n && !err; i++) {
		const char *a = args[i];
		const char *eq = strchr(a, '=');
		size_t k;

		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strcmp(a, opts[k].opt) == 0)
				break;
		if (k < sizeof(opts) / sizeof(opts[0])) {
			if (i + 1 >= n) {
				err = usage("Option %s needs a value", a);
				break;
			}
			err = set_keyword(o, opts[k].key, args[++i], &known);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0) {
			o->help = true;
		} else if (strcmp(a, "--nossl") == 0 ||
			   strcmp(a, "--debug") == 0 ||
			   strcmp(a, "--debug-on-fail") == 0) {
			;
		} else if (a[0] == '-' && a[1] == '-' && a[2] && !eq) {
			params_push(params, nparams, a + 2, strlen(a + 2),
				    "true");
		} else if (a[0] == '-') {
			err = usage("Unknown option '%s'", a);
		} else if (eq == a) {
			err = usage("Syntax error: '%s' has no parameter name",
				    a);
		} else if (eq) {
			char *key = xbt_strndup(a, (size_t)(eq - a));
			err = set_keyword(o, key, eq + 1, &known);
			if (!err && !known)
				params_push(params, nparams, key, strlen(key),
					    eq + 1);
			free(key);
		} else {
			strv_push(words, nwords, xbt_strdup(a));
		}
	}
	return err;
}

static void params_append(struct xe_opts *o, struct xe_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		params_push(&o->params, &o->nparams, p[i].key,
			    strlen(p[i].key), p[i].val);
}

/* Cuts s at the first newline (dropping a CR before it); returns the rest
 * or NULL when there was no newline. */
static char *cut_line(char *s)
{
	char *nl = strchr(s, '\n');
	char *rest = nl ? nl + 1 : NULL;
	size_t len;

	if (nl)
		*nl = '\0';
	len = strlen(s);
	if (len && s[len - 1] == '\r')
		s[len - 1] = '\0';
	return rest;
}

static xbt_error *read_pwfile(struct xe_opts *o)
{
	char *text = read_small_file(o->pwfile);
	char *second;
	xbt_error *err = NULL;

	if (!text) {
		err = usage("Error opening password file '%s'", o->pwfile);
		goto out;
	}
	second = cut_line(text);
	if (!second || !*second) {
		err = XBT_RAISE(XE_ERR_USAGE, "Error: password file format: "
				"expecting username on the first line, "
				"password on the second line");
		goto out;
	}
	cut_line(second);
	set_str(&o->user, text);
	set_str(&o->password, second);
out:
	free(text);
	return err;
}

xbt_error *xe_args_parse(int argc, char **argv, const char *extra,
			 const char *home, struct xe_opts *o)
{
	struct xe_param *rc = NULL, *p_args = NULL, *p_extra = NULL;
	size_t nrc = 0, np_args = 0, np_extra = 0;
	char **extras = NULL, **w_extra = NULL;
	size_t nextras = 0, nw_extra = 0;
	xbt_error *err = NULL;
	bool known;

	memset(o, 0, sizeof(*o));
	o->server = xbt_strdup(XE_DEFAULT_SERVER);
	o->port = XE_DEFAULT_PORT;
	o->user = xbt_strdup(XE_DEFAULT_USER);
	o->password = xbt_strdup(XE_DEFAULT_PASSWORD);

	/* Lowest precedence first: later settings overwrite earlier ones. */
	if (home && *home) {
		xbt_buf path = XBT_BUF_INIT;
		char *text;

		xbt_buf_addf(&path, "%s/.xe", home);
		text = read_small_file(path.buf);
		xbt_buf_release(&path);
		if (text && !xe_rc_parse(text, &rc, &nrc))
			o->rc_broken = true;
		free(text);
	}
	for (size_t i = 0; i < nrc; i++) {
		struct xe_param *kv = &rc[i];
		if ((err = set_keyword(o, kv->key, kv->val, &known)))
			goto out;
		if (known)
			kv->key[0] = '\0'; /* consumed */
	}
	xe_split_extra(extra, &extras, &nextras);
	if ((err = parse_list(o, extras, nextras, &p_extra, &np_extra,
			      &w_extra, &nw_extra)))
		goto out;
	if ((err = parse_list(o, argv + (argc > 0), argc > 0 ? argc - 1 : 0,
			      &p_args, &np_args, &o->words, &o->nwords)))
		goto out;
	for (size_t i = 0; i < nw_extra; i++)
		strv_push(&o->words, &o->nwords, xbt_strdup(w_extra[i]));

	/* Parameters: the first one of a name wins, so the order is args,
	 * XE_EXTRA_ARGS, ~/.xe. */
	params_append(o, p_args, np_args);
	params_append(o, p_extra, np_extra);
	for (size_t i = 0; i < nrc; i++)
		if (rc[i].key[0])
			params_push(&o->params, &o->nparams, rc[i].key,
				    strlen(rc[i].key), rc[i].val);

	if (o->nwords) {
		o->command = o->words[0];
		memmove(o->words, o->words + 1,
			(o->nwords - 1) * sizeof(*o->words));
		o->nwords--;
	}
	if (o->pwfile)
		err = read_pwfile(o);
out:
	xe_params_free(rc, nrc);
	xe_params_free(p_args, np_args);
	xe_params_free(p_extra, np_extra);
	xe_strv_free(extras, nextras);
	xe_strv_free(w_extra, nw_extra);
	return err;
}

void xe_opts_release(struct xe_opts *o)
{
	free(o->server);
	free(o->user);
	free(o->password);
	free(o->pwfile);
	free(o->command);
	xe_strv_free(o->words, o->nwords);
	xe_params_free(o->params, o->nparams);
	memset(o, 0, sizeof(*o));
}

const char *xe_param(const struct xe_opts *o, const char *key)
{
	for (size_t i = 0; i < o->nparams; i++)
		if (strcmp(o->params[i].key, key) == 0)
			return o->params[i].val;
	return NULL;
}

xbt_error *xe_param_bool(const struct xe_opts *o, const char *key, bool dflt,
			 bool *out)
{
	const char *v = xe_param(o, key);
	xbt_error *err = NULL;

	*out = dflt;
	if (!v)
		goto out;
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
	} else if (!strcmp(v, "false") || !strcmp(v, "no") ||
		   !strcmp(v, "0")) {
		*out = false;
	} else {
		err = usage("Failed to parse parameter '%s': expecting "
			    "'true' or 'false'", key);
	}
out:
	return err;
}

xbt_error *xe_param_need(const struct xe_opts *o, const char *key,
			 const char **out)
{
	*out = xe_param(o, key);
	return *out ? NULL
		    : usage("Required parameter not found: %s", key);
}

bool xe_param_is_std(const char *key)
{
	static const char *const std[] = {
		"server", "password", "port", "username", "minimal", "force",
		"multiple", "all", "message-priority", "trace", "params",
	};

	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		if (strcmp(key, std[i]) == 0)
			return true;
	return false;
}
