/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMAPIv1 plugin runner and output decoder (see sm.h for the contract).
 *
 * The runner never uses a shell or fork(): posix_spawn is safe in a
 * threaded process, closefrom keeps server sockets out of the plugin, and
 * the child gets its own process group so a timeout can stop the helpers
 * it started too. The exit is watched with a pidfd next to the two pipes,
 * and only this pid is ever waited for (xbtd installs no SIGCHLD reaper).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sm.h"
#include "xbt/value.h"
#include "xbt/wire.h"

#ifndef XBT_SM_DIR
#define XBT_SM_DIR "/usr/local/libexec/xbt/sm"
#endif

#define SM_READ_CHUNK (64 * 1024)
#define SM_POLL_FALLBACK_MS 20   /* exit polling when no pidfd */
#define SM_RENDER_MAX_STR 256    /* log: longer strings are cut */
#define SM_RENDER_MAX_DEPTH 8

static const char sm_unexpected[] = "Unexpected response from SM plugin";
static const char sm_wbt[] = "SR_BACKEND_FAILURE_WITH_BACKTRACE";

static bool sm_pidfd_on = true;

void sm_test_use_pidfd(bool on)
{
	sm_pidfd_on = on;
}

static size_t sm_out_cap(const struct sm_config *cfg)
{
	return cfg && cfg->out_cap ? cfg->out_cap : SM_DEFAULT_OUT_CAP;
}

static size_t sm_param_cap(const struct sm_config *cfg)
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
static bool sm_name_ok(const char *s, size_t len, bool dot)
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

/* ---- the decoder ---------------------------------------------------------- */

struct sm_ctx {
	const struct sm_config *cfg;
	const char *type;
	const char *command;
	xmlrpc_value *call;
	const struct sm_output *out;
	const struct sm_output *err;
};

/* Plugin text for an error param: cut to the cap, noted, made safe. */
static char *sm_param_text(const struct sm_ctx *c, const char *s, size_t len,
			   size_t total)
{
	xbt_buf b = XBT_BUF_INIT;
	size_t cap = sm_param_cap(c->cfg);
	size_t shown = len < cap ? len : cap;

	xbt_buf_add_safe(&b, s, shown);
	if (total > shown)
		xbt_buf_addf(&b, "[... %zu more bytes]", total - shown);
	return xbt_buf_detach(&b, NULL);
}

static char *sm_stream_text(const struct sm_ctx *c, const struct sm_output *o)
{
	if (!o || !o->data)
		return xbt_strdup("");
	return sm_param_text(c, o->data, o->len,
			     o->total > o->len ? o->total : o->len);
}

/* SR_BACKEND_FAILURE [what, stdout, stderr], raised at the caller's place. */
static xbt_error *sm_backend_failure(const char *file, int line,
				     const char *func, const struct sm_ctx *c,
				     const char *what)
{
	char *p[3];
	xbt_error *e;

	p[0] = xbt_text_safe_dup(what, strlen(what));
	p[1] = sm_stream_text(c, c->out);
	p[2] = sm_stream_text(c, c->err);
	e = xbt_error_raisev(file, line, func, "SR_BACKEND_FAILURE", 3,
			     (const char *const *)p);
	for (int i = 0; i < 3; i++)
		free(p[i]);
	return e;
}

#define SM_FAIL(c, what) sm_backend_failure(XBT_HERE, (c), (what))

/* A string member of the call struct ("" when absent or not a string). */
static char *sm_call_field(xmlrpc_value *call, const char *key)
{
	xmlrpc_value *v = xbt_value_get(call, key);
	size_t len = 0;
	char *s = xbt_value_text(v, &len);
	char *result = s ? xbt_text_safe_dup(s, len) : xbt_strdup("");

	free(s);
	if (v)
		xmlrpc_DECREF(v);
	return result;
}

static xbt_error *sm_decode_fault(const struct sm_ctx *c, int code,
				  const char *fault)
{
	xbt_error *err = NULL;
	char *sr = NULL, *vdi = NULL, *reason = NULL, *stderr_text = NULL;
	char name[64];

	switch (code) {
	case 38:
		err = XBT_RAISE("UNIMPLEMENTED_IN_SM_BACKEND", c->command);
		break;
	case 39:
		err = XBT_RAISE("SR_NOT_EMPTY");
		break;
	case 24:
		err = XBT_RAISE("VDI_IN_USE");
		break;
	case 16:
		err = XBT_RAISE("SR_DEVICE_IN_USE");
		break;
	case 144:
		sr = sm_call_field(c->call, "sr_ref");
		vdi = sm_call_field(c->call, "vdi_ref");
		err = XBT_RAISE("VDI_MISSING", sr, vdi);
		break;
	default:
		snprintf(name, sizeof(name), "SR_BACKEND_FAILURE_%d", code);
		reason = sm_param_text(c, fault, strlen(fault), strlen(fault));
		stderr_text = sm_stream_text(c, c->err);
		err = XBT_RAISE(name, "", reason, stderr_text);
		break;
	}
	free(sr);
	free(vdi);
	free(reason);
	free(stderr_text);
	return err;
}

/* ErrorDescription as strings; false when it is not a non-empty list of them. */
struct sm_strs {
	char **s;
	size_t *len;
	size_t n;
};

static void sm_strs_free(struct sm_strs *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->s[i]);
	free(v->s);
	free(v->len);
	v->s = NULL;
	v->len = NULL;
	v->n = 0;
}

static bool sm_read_strs(xmlrpc_value *arr, struct sm_strs *v)
{
	bool ok = false;
	size_t n = 0;

	if (!arr || xmlrpc_value_type(arr) != XMLRPC_TYPE_ARRAY ||
	    (n = xbt_value_size(arr)) < 1)
		goto out;
	v->s = xbt_calloc(n, sizeof(*v->s));
	v->len = xbt_calloc(n, sizeof(*v->len));
	for (size_t i = 0; i < n; i++) {
		xmlrpc_value *item = xbt_value_item(arr, i);
		char *s = xbt_value_text(item, &v->len[i]);

		xmlrpc_DECREF(item);
		if (!s)
			goto out;
		v->s[i] = s;
		v->n = i + 1;
	}
	ok = true;
out:
	if (!ok)
		sm_strs_free(v);
	return ok;
}

static void sm_process_name(const struct sm_ctx *c, char *buf, size_t size)
{
	char host[256] = "";

	if (c->cfg && c->cfg->hostname)
		snprintf(host, sizeof(host), "%s", c->cfg->hostname);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	snprintf(buf, size, "%s @ %s", c->type, host);
}

/* SR_BACKEND_FAILURE_WITH_BACKTRACE [json, code, reason]. */
static xbt_error *sm_decode_wbt(const struct sm_ctx *c, struct sm_strs *d)
{
	xbt_error *err = NULL, *bad;
	xbt_backtrace remote = XBT_BACKTRACE_INIT;
	char *etext = NULL, *reason = NULL, *stderr_text = NULL, *what;
	char process[SM_MAX_TYPE + 300], code[SM_MAX_TYPE + 32];
	size_t dropped = 0;
	xbt_buf msg = XBT_BUF_INIT;

	if (d->n != 4) {
		xbt_buf_addf(&msg, "%s needs 3 parameters, got %zu", sm_wbt,
			     d->n - 1);
		err = SM_FAIL(c, msg.buf);
		goto out;
	}
	sm_process_name(c, process, sizeof(process));
	bad = xbt_backtrace_from_pyjson(d->s[1], d->len[1], process, &remote,
					&etext, &dropped);
	if (bad) {
		char *s = xbt_error_summary(bad);
		log_warn("SM %s %s: plugin backtrace left out: %s", c->type,
			 c->command, s);
		free(s);
		xbt_error_free(bad);
	} else if (dropped) {
		log_warn("SM %s %s: plugin backtrace: %zu unpaired entries "
			 "left out", c->type, c->command, dropped);
	}
	if (!sm_name_ok(d->s[2], d->len[2], false)) {
		what = xbt_text_safe_dup(d->s[2], d->len[2] > 100 ? 100
								  : d->len[2]);
		xbt_buf_addf(&msg, "bad error code in %s: %s", sm_wbt, what);
		free(what);
		err = SM_FAIL(c, msg.buf);
	} else {
		snprintf(code, sizeof(code), "SR_BACKEND_FAILURE_%.*s",
			 (int)d->len[2], d->s[2]);
		if (d->len[3] == 0 && etext)
			reason = sm_param_text(c, etext, strlen(etext),
					       strlen(etext));
		else
			reason = sm_param_text(c, d->s[3], d->len[3],
					       d->len[3]);
		stderr_text = sm_stream_text(c, c->err);
		err = XBT_RAISE(code, "", reason, stderr_text);
	}
	xbt_backtrace_glue_remote(&err->bt, &remote);
out:
	xbt_backtrace_release(&remote);
	xbt_buf_release(&msg);
	free(etext);
	free(reason);
	free(stderr_text);
	return err;
}

/* {Status: Failure, ErrorDescription: [code, p...]}: raised as given. */
static xbt_error *sm_decode_failure(const struct sm_ctx *c,
				    xmlrpc_value *desc)
{
	struct sm_strs d = { 0 };
	xbt_error *err = NULL;
	char **p = NULL;
	char *code = NULL;
	xbt_buf msg = XBT_BUF_INIT;

	if (!sm_read_strs(desc, &d)) {
		err = XBT_RAISE("INTERNAL_ERROR", sm_unexpected);
		goto out;
	}
	if (d.len[0] == strlen(sm_wbt) && memcmp(d.s[0], sm_wbt, d.len[0]) == 0) {
		err = XBT_PROPAGATE(sm_decode_wbt(c, &d));
		goto out;
	}
	if (!sm_name_ok(d.s[0], d.len[0], false)) {
		code = xbt_text_safe_dup(d.s[0], d.len[0] > 100 ? 100
								: d.len[0]);
		xbt_buf_addf(&msg, "bad error code from plugin: %s", code);
		err = SM_FAIL(c, msg.buf);
		goto out;
	}
	code = xbt_strndup(d.s[0], d.len[0]);
	p = xbt_calloc(d.n, sizeof(*p));
	for (size_t i = 1; i < d.n; i++)
		p[i - 1] = sm_param_text(c, d.s[i], d.len[i], d.len[i]);
	err = xbt_error_raisev(XBT_HERE, code, d.n - 1,
			       (const char *const *)p);
out:
	if (p)
		for (size_t i = 0; i + 1 < d.n; i++)
			free(p[i]);
	free(p);
	free(code);
	xbt_buf_release(&msg);
	sm_strs_free(&d);
	return err;
}

/* vdi_attach must give a struct with a string params_nbd. */
static bool sm_result_ok(const struct sm_ctx *c, xmlrpc_value *v)
{
	xmlrpc_value *nbd;
	bool ok;

	if (strcmp(c->command, "vdi_attach") != 0)
		return true;
	nbd = xbt_value_get(v, "params_nbd");
	ok = nbd && xmlrpc_value_type(nbd) == XMLRPC_TYPE_STRING;
	if (nbd)
		xmlrpc_DECREF(nbd);
	return ok;
}

static xbt_error *sm_decode_value(const struct sm_ctx *c, xmlrpc_value *v,
				  xmlrpc_value **result)
{
	xmlrpc_value *status, *member = NULL, *value = NULL;
	char *s = NULL;
	xbt_error *err = NULL;

	status = xbt_value_get(v, "Status");
	if (!status) {
		value = v;      /* classic SMAPIv1: the bare value */
		xmlrpc_INCREF(value);
	} else if ((s = xbt_value_text(status, NULL))) {
		if (strcmp(s, "Success") == 0) {
			value = xbt_value_get(v, "Value");
		} else if (strcmp(s, "Failure") == 0) {
			member = xbt_value_get(v, "ErrorDescription");
			err = XBT_PROPAGATE(sm_decode_failure(c, member));
			goto out;
		}
	}
	if (!value || !sm_result_ok(c, value)) {
		err = XBT_RAISE("INTERNAL_ERROR", sm_unexpected);
		goto out;
	}
	*result = value;
	value = NULL;
out:
	free(s);
	if (value)
		xmlrpc_DECREF(value);
	if (member)
		xmlrpc_DECREF(member);
	if (status)
		xmlrpc_DECREF(status);
	return err;
}

static void sm_exit_text(const struct sm_exit *how, xbt_buf *b)
{
	const char *abbrev;

	switch (how->kind) {
	case SM_EXIT_TIMEOUT:
		xbt_buf_addf(b, "timeout after %d s", how->code);
		break;
	case SM_EXIT_SIGNAL:
		abbrev = sigabbrev_np(how->code);
		if (abbrev)
			xbt_buf_addf(b, "killed by signal %d (SIG%s)",
				     how->code, abbrev);
		else
			xbt_buf_addf(b, "killed by signal %d", how->code);
		break;
	case SM_EXIT_LOST:
		xbt_buf_addstr(b, "exit status lost (SIGCHLD reaped "
				  "elsewhere?)");
		break;
	case SM_EXIT_STATUS:
	default:
		xbt_buf_addf(b, "exited with status %d", how->code);
		break;
	}
}

xbt_error *sm_decode(const struct sm_config *cfg, const char *type,
		     const char *command, xmlrpc_value *call,
		     const struct sm_exit *how, const struct sm_output *out,
		     const struct sm_output *err_out, xmlrpc_value **result)
{
	static const struct sm_output none = { "", 0, 0 };
	const struct sm_ctx c = { cfg, type, command, call,
				  out ? out : &none, err_out ? err_out : &none };
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int fcode = 0;
	char *fstring = NULL;
	xbt_buf what = XBT_BUF_INIT;
	xbt_error *err = NULL, *perr;

	xmlrpc_env_init(&env);
	if (how->kind != SM_EXIT_STATUS || how->code != 0) {
		sm_exit_text(how, &what);
		err = SM_FAIL(&c, what.buf);
		goto out;
	}
	out = c.out;
	if (out->total > out->len) {
		xbt_buf_addf(&what, "response larger than %zu bytes", out->len);
		err = SM_FAIL(&c, what.buf);
		goto out;
	}
	if (out->len == 0) {
		err = SM_FAIL(&c, "no response on stdout");
		goto out;
	}
	/* Bounded (depth, no DOCTYPE): plugin output is untrusted. */
	perr = xbt_wire_parse_response(out->data, out->len, &v, &fcode,
				       &fstring);
	if (perr) {
		xbt_buf_addf(&what, "not an XML-RPC response: %s",
			     perr->nparams > 1 ? perr->params[1] : perr->code);
		xbt_error_free(perr);
		err = SM_FAIL(&c, what.buf);
	} else if (fstring) {
		err = XBT_PROPAGATE(sm_decode_fault(&c, fcode, fstring));
	} else {
		err = XBT_PROPAGATE(sm_decode_value(&c, v, result));
	}
out:
	free(fstring);
	if (v)
		xmlrpc_DECREF(v);
	xbt_buf_release(&what);
	xmlrpc_env_clean(&env);
	return err;
}

/* ---- the runner ----------------------------------------------------------- */

struct sm_stream {
	int fd;
	size_t cap;
	size_t total;
	xbt_buf buf;
};

/* One read: into the buffer below the cap, else drained and counted. */
static void sm_stream_read(struct sm_stream *s)
{
	char scratch[4096];
	ssize_t n;

	if (s->buf.len < s->cap) {
		size_t room = s->cap - s->buf.len;
		if (room > SM_READ_CHUNK)
			room = SM_READ_CHUNK;
		xbt_buf_grow(&s->buf, room);
		n = read(s->fd, s->buf.buf + s->buf.len, room);
		if (n > 0) {
			s->buf.len += (size_t)n;
			s->buf.buf[s->buf.len] = '\0';
		}
	} else {
		n = read(s->fd, scratch, sizeof(scratch));
	}
	if (n > 0) {
		s->total += (size_t)n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(s->fd);
		s->fd = -1;
	}
}

static long long sm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sm_pidfd_open(pid_t pid)
{
	int fd = -1;

#ifdef SYS_pidfd_open
	if (sm_pidfd_on)
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	return fd;
}

struct sm_child {
	pid_t pid;
	int pidfd;
	bool exited;
	int status;
	bool lost;
};

static void sm_try_reap(struct sm_child *ch)
{
	pid_t r;

	do
		r = waitpid(ch->pid, &ch->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == ch->pid) {
		ch->exited = true;
	} else if (r < 0) {
		/* ECHILD: somebody else reaped it (a SIGCHLD reaper). */
		ch->exited = true;
		ch->lost = true;
	}
}

/*
 * Reads both streams until the child has exited and the pipes are drained,
 * enforcing the deadline. After the exit only what is already buffered is
 * read: a helper the plugin left running must not hold the call open.
 */
static void sm_supervise(struct sm_child *ch, struct sm_stream *so,
			 struct sm_stream *se, unsigned timeout_s,
			 unsigned grace_ms, bool *timed_out)
{
	long long deadline = sm_now_ms() + (long long)timeout_s * 1000;
	long long kill_at = 0;
	bool term_sent = false, kill_sent = false;

	for (;;) {
		struct pollfd p[3];
		struct sm_stream *who[3];
		int n = 0, wait_ms, rc;
		long long now;

		if (!ch->exited && ch->pidfd < 0)
			sm_try_reap(ch);
		if (ch->exited && so->fd < 0 && se->fd < 0)
			break;
		now = sm_now_ms();
		if (!ch->exited && !term_sent && now >= deadline) {
			kill(-ch->pid, SIGTERM);
			term_sent = true;
			*timed_out = true;
			kill_at = now + grace_ms;
		}
		if (!ch->exited && term_sent && !kill_sent && now >= kill_at) {
			kill(-ch->pid, SIGKILL);
			kill_sent = true;
		}
		if (ch->exited)
			wait_ms = 0;
		else if (kill_sent)
			wait_ms = -1;
		else
			wait_ms = (int)((term_sent ? kill_at : deadline) - now);
		if (!ch->exited && ch->pidfd < 0 &&
		    (wait_ms < 0 || wait_ms > SM_POLL_FALLBACK_MS))
			wait_ms = SM_POLL_FALLBACK_MS;
		if (so->fd >= 0) {
			p[n] = (struct pollfd){ .fd = so->fd, .events = POLLIN };
			who[n++] = so;
		}
		if (se->fd >= 0) {
			p[n] = (struct pollfd){ .fd = se->fd, .events = POLLIN };
			who[n++] = se;
		}
		if (!ch->exited && ch->pidfd >= 0) {
			p[n] = (struct pollfd){ .fd = ch->pidfd, .events = POLLIN };
			who[n++] = NULL;
		}
		rc = poll(p, (nfds_t)n, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			/* Cannot watch it any more: stop it and wait. */
			log_error("SM: poll: %s", strerror(errno));
			kill(-ch->pid, SIGKILL);
			while (waitpid(ch->pid, &ch->status, 0) < 0 &&
			       errno == EINTR)
				;
			ch->exited = true;
			break;
		}
		if (rc == 0 && ch->exited)
			break;
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (who[i])
				sm_stream_read(who[i]);
			else
				sm_try_reap(ch);
		}
	}
}

static void sm_stream_close(struct sm_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	xbt_buf_release(&s->buf);
}

/* posix_spawn's attributes and file actions for a plugin. */
static int sm_spawn(const char *path, char *const argv[], char *const envp[],
		    int out_w, int err_w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int rc;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* Ignored signals (SIGPIPE in xbtd) survive exec unless reset. */
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/*
 * The methodCall for argv[1], by our serialiser: it writes text as it was
 * given (api/value.c) and made safe, so it never holds a NUL.
 */
static void sm_request(const char *command, xmlrpc_value *call, xbt_buf *xml)
{
	xmlrpc_value *params = xbt_value_array();

	xmlrpc_INCREF(call);
	xbt_value_push(params, call);
	xbt_wire_xml_call(xml, command, params);
	xmlrpc_DECREF(params);
}

xbt_error *sm_call(const struct sm_config *cfg, const char *type,
		   const char *command, xmlrpc_value *call,
		   xmlrpc_value **result)
{
	static const struct sm_config defaults = { 0 };
	xbt_error *err = NULL;
	xbt_buf path = XBT_BUF_INIT, xml = XBT_BUF_INIT, env_path = XBT_BUF_INIT;
	struct sm_stream so = { .fd = -1 }, se = { .fd = -1 };
	struct sm_child ch = { .pid = -1, .pidfd = -1 };
	int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	unsigned timeout_s, grace_ms;
	bool timed_out = false;
	const char *daemon_path;
	long long started;
	int rc;

	if (!cfg)
		cfg = &defaults;
	xbt_buf_init(&so.buf);
	xbt_buf_init(&se.buf);
	if (!sm_name_ok(type, strlen(type), false)) {
		char *safe = xbt_text_safe_dup(type, strlen(type) > 100 ?
						100 : strlen(type));
		err = XBT_RAISE("SR_UNKNOWN_DRIVER", safe);
		free(safe);
		goto out;
	}
	if (!sm_name_ok(command, strlen(command), true)) {
		err = XBT_RAISE("INTERNAL_ERROR", "bad SM command");
		goto out;
	}
	if (!call || xmlrpc_value_type(call) != XMLRPC_TYPE_STRUCT) {
		err = XBT_RAISE("INTERNAL_ERROR", "SM call is not a struct");
		goto out;
	}
	sm_request(command, call, &xml);
	xbt_buf_addf(&path, "%s/%sSR", cfg->sm_dir ? cfg->sm_dir : XBT_SM_DIR,
		     type);
	daemon_path = cfg->path ? cfg->path : getenv("PATH");
	xbt_buf_addf(&env_path, "PATH=%s",
		     daemon_path && *daemon_path ? daemon_path
						 : SM_DEFAULT_PATH);
	if (log_enabled(LOG_LEVEL_INFO)) {
		char *r = sm_render_call(type, command, call);
		log_info("SM call: %s", r);
		free(r);
	}
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot run %sSR: %s", type,
			 strerror(errno));
		err = XBT_RAISE("SR_BACKEND_FAILURE", msg, "", "");
		goto out;
	}
	{
		char *argv[] = { path.buf, xml.buf, NULL };
		char *envp[] = { env_path.buf, (char *)"ORIGINATOR=SM", NULL };
		started = sm_now_ms();
		rc = sm_spawn(path.buf, argv, envp, out_p[1], err_p[1],
			      &ch.pid);
	}
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	if (rc == ENOENT) {
		err = XBT_RAISE("SR_UNKNOWN_DRIVER", type);
		goto out;
	}
	if (rc != 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot run %sSR: %s", type,
			 strerror(rc));
		err = XBT_RAISE("SR_BACKEND_FAILURE", msg, "", "");
		goto out;
	}
	so.fd = out_p[0];
	se.fd = err_p[0];
	out_p[0] = err_p[0] = -1;
	so.cap = se.cap = sm_out_cap(cfg);
	ch.pidfd = sm_pidfd_open(ch.pid);
	timeout_s = cfg->timeout_s ? cfg->timeout_s : SM_DEFAULT_TIMEOUT_S;
	grace_ms = cfg->grace_ms ? cfg->grace_ms : SM_DEFAULT_GRACE_MS;
	sm_supervise(&ch, &so, &se, timeout_s, grace_ms, &timed_out);
	{
		struct sm_exit how = { SM_EXIT_STATUS, 0 };
		struct sm_output o = { so.buf.buf, so.buf.len, so.total };
		struct sm_output e = { se.buf.buf, se.buf.len, se.total };
		if (timed_out)
			how = (struct sm_exit){ SM_EXIT_TIMEOUT, (int)timeout_s };
		else if (ch.lost)
			how = (struct sm_exit){ SM_EXIT_LOST, 0 };
		else if (WIFSIGNALED(ch.status))
			how = (struct sm_exit){ SM_EXIT_SIGNAL,
						WTERMSIG(ch.status) };
		else
			how = (struct sm_exit){ SM_EXIT_STATUS,
						WEXITSTATUS(ch.status) };
		log_debug("SM %s %s: done in %lld ms, stdout %zu bytes, "
			  "stderr %zu bytes", type, command,
			  sm_now_ms() - started, so.total, se.total);
		err = XBT_PROPAGATE(sm_decode(cfg, type, command, call, &how,
					      &o, &e, result));
	}
out:
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	if (ch.pidfd >= 0)
		close(ch.pidfd);
	sm_stream_close(&so);
	sm_stream_close(&se);
	xbt_buf_release(&path);
	xbt_buf_release(&xml);
	xbt_buf_release(&env_path);
	return err;
}
