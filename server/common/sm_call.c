/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMAPIv1: the call struct a plugin gets, its log form (secrets hidden),
 * and the names and limits the other parts share (see sm.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sm_priv.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

#define SM_RENDER_MAX_STR 256    /* log: longer strings are cut */
#define SM_RENDER_MAX_DEPTH 8

size_t sm_out_cap(const struct sm_config *cfg)
{
	return cfg && cfg->out_cap ? cfg->out_cap : SM_DEFAULT_OUT_CAP;
}

size_t sm_param_cap(const struct sm_config *cfg)
{
	return cfg && cfg->param_cap ? cfg->param_cap : SM_DEFAULT_PARAM_CAP;
}

void sm_init(const struct sm_config *cfg)
{
	/* Room for the XML prologue and a trailing newline beyond the cap. */
	size_t want = sm_out_cap(cfg) + 1024;

	if (xmlrpc_limit_get(XMLRPC_XML_SIZE_LIMIT_ID) < want)
		xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, want);
}

/* [A-Za-z0-9_]{1,64}, plus '.' when dot: safe in paths and error codes. */
bool sm_name_ok(const char *s, size_t len, bool dot)
{
	bool ok = len >= 1 && len <= SM_MAX_TYPE;

	for (size_t i = 0; ok && i < len; i++) {
		char c = s[i];
		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		     (c >= '0' && c <= '9') || c == '_' || (dot && c == '.');
	}
	return ok;
}

bool sm_type_valid(const char *type)
{
	return sm_name_ok(type, strlen(type), false);
}

/* ---- the call struct and its log form ----------------------------------- */

static void sm_set_string(xmlrpc_value *s, const char *key, const char *val)
{
	if (val)
		xbt_value_put(s, key, xbt_value_string(val));
}

xmlrpc_value *sm_call_new(const char *command, const struct sm_call_args *a)
{
	xmlrpc_value *s = xbt_value_struct(), *args = xbt_value_array();

	for (size_t i = 0; i < a->nargs; i++)
		xbt_value_push(args, xbt_value_string(a->args[i]));
	sm_set_string(s, "host_ref", a->host_ref);
	sm_set_string(s, "command", command);
	xbt_value_put(s, "args", args);
	if (a->device_config)
		xmlrpc_INCREF(a->device_config);
	xbt_value_put(s, "device_config", a->device_config ? a->device_config
							    : xbt_value_struct());
	sm_set_string(s, "session_ref", a->session_ref);
	sm_set_string(s, "sr_ref", a->sr_ref);
	sm_set_string(s, "sr_uuid", a->sr_uuid);
	sm_set_string(s, "vdi_ref", a->vdi_ref);
	sm_set_string(s, "vdi_location", a->vdi_location);
	sm_set_string(s, "vdi_uuid", a->vdi_uuid);
	return s;
}

static bool sm_key_secret(const char *key)
{
	return strcasestr(key, "password") || strcasestr(key, "secret") ||
	       strcmp(key, "session_ref") == 0;
}

static void sm_render_value(xbt_buf *b, xmlrpc_value *v, int depth)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (depth > SM_RENDER_MAX_DEPTH) {
		xbt_buf_addstr(b, "...");
		goto out;
	}
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING: {
		size_t len = 0;
		char *s = xbt_value_text(v, &len);
		xbt_buf_addch(b, '"');
		xbt_buf_add_safe(b, s ? s : "",
				 len > SM_RENDER_MAX_STR ? SM_RENDER_MAX_STR
							 : len);
		xbt_buf_addch(b, '"');
		if (len > SM_RENDER_MAX_STR)
			xbt_buf_addf(b, "...(%zu bytes)", len);
		free(s);
		break;
	}
	case XMLRPC_TYPE_INT: {
		int i = 0;
		xmlrpc_read_int(&env, v, &i);
		xbt_buf_addf(b, "%d", i);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i = 0;
		xmlrpc_read_i8(&env, v, &i);
		xbt_buf_addf(b, "%lld", (long long)i);
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool x = 0;
		xmlrpc_read_bool(&env, v, &x);
		xbt_buf_addstr(b, x ? "true" : "false");
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d = 0;
		xmlrpc_read_double(&env, v, &d);
		xbt_buf_addf(b, "%g", d);
		break;
	}
	case XMLRPC_TYPE_NIL:
		xbt_buf_addstr(b, "nil");
		break;
	case XMLRPC_TYPE_ARRAY: {
		int n = xmlrpc_array_size(&env, v);
		xbt_buf_addch(b, '[');
		for (int i = 0; i < n && !env.fault_occurred; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(&env, v, i, &item);
			if (!item)
				break;
			if (i)
				xbt_buf_addstr(b, ", ");
			sm_render_value(b, item, depth + 1);
			xmlrpc_DECREF(item);
		}
		xbt_buf_addch(b, ']');
		break;
	}
	case XMLRPC_TYPE_STRUCT: {
		size_t n = xbt_value_size(v);
		xbt_buf_addch(b, '{');
		for (size_t i = 0; i < n; i++) {
			xmlrpc_value *m = NULL;
			char *key = NULL;
			size_t klen = 0;

			if (!xbt_value_member_at(v, i, &key, &klen, &m))
				break;
			if (i)
				xbt_buf_addstr(b, ", ");
			xbt_buf_add_safe(b, key, klen);
			xbt_buf_addstr(b, ": ");
			if (sm_key_secret(key))
				xbt_buf_addstr(b, "(hidden)");
			else
				sm_render_value(b, m, depth + 1);
			free(key);
			xmlrpc_DECREF(m);
		}
		xbt_buf_addch(b, '}');
		break;
	}
	default:
		xbt_buf_addstr(b, "<value>");
		break;
	}
out:
	xmlrpc_env_clean(&env);
}

char *sm_render_call(const char *type, const char *command,
		     xmlrpc_value *call)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_add_safe(&b, type, strlen(type));
	xbt_buf_addch(&b, ' ');
	xbt_buf_add_safe(&b, command, strlen(command));
	xbt_buf_addch(&b, ' ');
	if (call)
		sm_render_value(&b, call, 0);
	else
		xbt_buf_addstr(&b, "nil");
	return xbt_buf_detach(&b, NULL);
}

