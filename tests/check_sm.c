/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SMAPIv1 runner: the decode table (pure) and real runs of the
 * fixture plugins (tests/plugins/FIXTURESR picks its behaviour from
 * device_config["mode"]) and of the demo plugins.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sm.h"
#include "xbt/wire.h"

#define HOST "testhost"
#define WBT "SR_BACKEND_FAILURE_WITH_BACKTRACE"

/* ---- helpers --------------------------------------------------------------- */

static struct sm_config fixture_cfg(void)
{
	struct sm_config c = {
		.sm_dir = SM_FIXTURE_DIR,
		.hostname = HOST,
		.path = "/usr/bin:/bin",
		.timeout_s = 60,
	};
	return c;
}

static void check_error(const xbt_error *e, const char *code, size_t n, ...)
{
	va_list ap;

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, code);
	ck_assert_uint_eq(e->nparams, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(e->params[i], va_arg(ap, const char *));
	va_end(ap);
}

/* One expected frame; line 0: any positive line (C frames move). */
struct want {
	const char *process;
	const char *file;
	int line;
	const char *name;
	bool is_raise;
};

/* xbtd's frames: the decoder's, and the runner's (sm_call). */
#define C_FRAME(fn, raise) \
	{ "xbtd @ " HOST, "server/common/sm_decode.c", 0, fn, raise }
#define RUN_FRAME(fn, raise) \
	{ "xbtd @ " HOST, "server/common/sm_run.c", 0, fn, raise }

static void check_frames(const xbt_backtrace *bt, const struct want *w,
			 size_t n)
{
	ck_assert_uint_eq(bt->n, n);
	for (size_t i = 0; i < n; i++) {
		const xbt_frame *f = &bt->frames[i];
		ck_assert_str_eq(f->process, w[i].process);
		ck_assert_str_eq(f->filename, w[i].file);
		if (w[i].line)
			ck_assert_int_eq(f->line, w[i].line);
		else
			ck_assert_int_gt(f->line, 0);
		if (w[i].name)
			ck_assert_str_eq(f->name, w[i].name);
		else
			ck_assert_ptr_null(f->name);
		ck_assert_int_eq(f->is_raise, w[i].is_raise);
	}
}

/* The 1-based line of the first line of path containing needle. */
static int line_of(const char *path, const char *needle)
{
	char line[1024];
	int n = 0, found = 0;
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (!found && fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, needle))
			found = n;
	}
	fclose(f);
	ck_assert_msg(found, "%s: no line with %s", path, needle);
	return found;
}

static char *xml_escape(const char *s)
{
	xbt_buf b = XBT_BUF_INIT;

	for (; *s; s++) {
		if (*s == '<')
			xbt_buf_addstr(&b, "&lt;");
		else if (*s == '&')
			xbt_buf_addstr(&b, "&amp;");
		else if (*s == '>')
			xbt_buf_addstr(&b, "&gt;");
		else
			xbt_buf_addch(&b, *s);
	}
	return xbt_buf_detach(&b, NULL);
}

/* A methodResponse whose value is value_xml (the inside of <value>). */
static char *resp(const char *value_xml)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addf(&b, "<?xml version='1.0'?>\n<methodResponse><params>"
		     "<param><value>%s</value></param></params>"
		     "</methodResponse>\n", value_xml);
	return xbt_buf_detach(&b, NULL);
}

static char *fault_xml(int code, const char *s)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addf(&b, "<?xml version='1.0'?>\n<methodResponse><fault>"
		     "<value><struct><member><name>faultCode</name><value>"
		     "<int>%d</int></value></member><member><name>faultString"
		     "</name><value><string>%s</string></value></member>"
		     "</struct></value></fault></methodResponse>\n", code, s);
	return xbt_buf_detach(&b, NULL);
}

/* {Status: Failure, ErrorDescription: [n strings]} as a response. */
static char *failure_xml(size_t n, ...)
{
	xbt_buf v = XBT_BUF_INIT;
	va_list ap;
	char *r;

	xbt_buf_addstr(&v, "<struct><member><name>Status</name><value>Failure"
		       "</value></member><member><name>ErrorDescription"
		       "</name><value><array><data>");
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		char *e = xml_escape(va_arg(ap, const char *));
		xbt_buf_addf(&v, "<value>%s</value>", e);
		free(e);
	}
	va_end(ap);
	xbt_buf_addstr(&v, "</data></array></value></member></struct>");
	r = resp(v.buf);
	xbt_buf_release(&v);
	return r;
}

static xbt_error *decode_full(const char *command, xmlrpc_value *call,
			      enum sm_exit_kind kind, int code,
			      const char *out, size_t outlen, size_t outtotal,
			      const char *err, size_t errlen,
			      xmlrpc_value **result)
{
	struct sm_config cfg = fixture_cfg();
	struct sm_exit how = { kind, code };
	struct sm_output o = { out, outlen, outtotal };
	struct sm_output e = { err, errlen, errlen };

	return sm_decode(&cfg, "FIXTURE", command, call, &how, &o, &e, result);
}

/* Exit 0, stdout and stderr as C strings. */
static xbt_error *decode(const char *command, const char *out,
			 const char *err, xmlrpc_value **result)
{
	return decode_full(command, NULL, SM_EXIT_STATUS, 0, out, strlen(out),
			   strlen(out), err, strlen(err), result);
}

/* Decodes resp/fault/failure text (freed here) expecting an error. */
static xbt_error *decode_owned(const char *command, char *out,
			       const char *err)
{
	xmlrpc_value *v = NULL;
	xbt_error *e = decode(command, out, err, &v);

	ck_assert_ptr_null(v);
	free(out);
	return e;
}

static char *read_str(xmlrpc_value *s, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	const char *str = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, s, key, &v);
	ck_assert_msg(v != NULL, "no member %s", key);
	xmlrpc_read_string(&env, v, &str);
	ck_assert_msg(!env.fault_occurred, "member %s: %s", key,
		      env.fault_string);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return (char *)str;
}

static void check_member_str(xmlrpc_value *s, const char *key,
			     const char *want)
{
	char *got = read_str(s, key);
	ck_assert_str_eq(got, want);
	free(got);
}

static xmlrpc_value *member(xmlrpc_value *s, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, s, key, &v);
	ck_assert_msg(v != NULL, "no member %s", key);
	xmlrpc_env_clean(&env);
	return v;
}

static bool member_bool(xmlrpc_value *s, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = member(s, key);
	xmlrpc_bool b = 0;

	xmlrpc_env_init(&env);
	xmlrpc_read_bool(&env, v, &b);
	ck_assert(!env.fault_occurred);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return b;
}

/* Joins an array of strings with ',' (for compact exact checks). */
static char *member_list(xmlrpc_value *s, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *a = member(s, key);
	xbt_buf b = XBT_BUF_INIT;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, a);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		const char *str = NULL;
		xmlrpc_array_read_item(&env, a, i, &item);
		xmlrpc_read_string(&env, item, &str);
		ck_assert(!env.fault_occurred);
		xbt_buf_addf(&b, "%s%s", i ? "," : "", str);
		free((void *)str);
		xmlrpc_DECREF(item);
	}
	xmlrpc_DECREF(a);
	xmlrpc_env_clean(&env);
	return xbt_buf_detach(&b, NULL);
}

static xmlrpc_value *dconf(const char *mode)
{
	xmlrpc_env env;
	xmlrpc_value *d;

	xmlrpc_env_init(&env);
	d = xmlrpc_build_value(&env, "{s:s}", "mode", mode);
	xmlrpc_env_clean(&env);
	return d;
}

static void dconf_set(xmlrpc_value *d, const char *key, const char *val)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = xmlrpc_string_new(&env, val);
	xmlrpc_struct_set_value(&env, d, key, v);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}

static xmlrpc_value *fixture_call(const char *command, xmlrpc_value *dc)
{
	static const char *const rw[] = { "true" };
	struct sm_call_args a = {
		.host_ref = "OpaqueRef:host",
		.session_ref = "OpaqueRef:session",
		.sr_ref = "OpaqueRef:sr",
		.sr_uuid = "sr-uuid",
		.vdi_ref = "OpaqueRef:vdi",
		.vdi_location = "vdi-loc",
		.vdi_uuid = "vdi-uuid",
		.device_config = dc,
		.args = rw,
		.nargs = 1,
	};
	return sm_call_new(command, &a);
}

/* Runs FIXTURESR command with device_config {mode: mode}. */
static xbt_error *run_mode(const struct sm_config *cfg, const char *command,
			   const char *mode, xmlrpc_value **result)
{
	xmlrpc_value *dc = dconf(mode);
	xmlrpc_value *call = fixture_call(command, dc);
	xbt_error *e = sm_call(cfg, "FIXTURE", command, call, result);

	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
	return e;
}

static void check_no_children(void)
{
	int st;

	errno = 0;
	ck_assert_int_eq(waitpid(-1, &st, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static char *repeat(char c, size_t n)
{
	char *s = xbt_malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- decode table: how the plugin ended -------------------------------- */

START_TEST(exit_status_wins_over_stdout)
{
	char *out = resp("<nil/>");
	xmlrpc_value *v = NULL;
	xbt_error *e = decode_full("vdi_detach", NULL, SM_EXIT_STATUS, 3, out,
				   strlen(out), strlen(out), "oops\n", 5, &v);

	check_error(e, "SR_BACKEND_FAILURE", 3, "exited with status 3", out,
		    "oops\n");
	ck_assert_ptr_null(v);
	{
		struct want w[] = { C_FRAME("sm_decode", true) };
		check_frames(&e->bt, w, 1);
	}
	xbt_error_free(e);
	free(out);
}
END_TEST

START_TEST(killed_by_signal)
{
	xmlrpc_value *v = NULL;
	xbt_error *e = decode_full("sr_scan", NULL, SM_EXIT_SIGNAL, 9, "", 0,
				   0, "bye", 3, &v);

	check_error(e, "SR_BACKEND_FAILURE", 3, "killed by signal 9 (SIGKILL)",
		    "", "bye");
	xbt_error_free(e);
	e = decode_full("sr_scan", NULL, SM_EXIT_SIGNAL, 11, "", 0, 0, "", 0,
			&v);
	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "killed by signal 11 (SIGSEGV)", "", "");
	xbt_error_free(e);
	/* No name for it: the number alone. */
	e = decode_full("sr_scan", NULL, SM_EXIT_SIGNAL, 200, "", 0, 0, "", 0,
			&v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "killed by signal 200", "",
		    "");
	xbt_error_free(e);
}
END_TEST

START_TEST(timeout_and_lost)
{
	xmlrpc_value *v = NULL;
	xbt_error *e = decode_full("sr_scan", NULL, SM_EXIT_TIMEOUT, 5, "half",
				   4, 4, "err", 3, &v);

	check_error(e, "SR_BACKEND_FAILURE", 3, "timeout after 5 s", "half",
		    "err");
	xbt_error_free(e);
	e = decode_full("sr_scan", NULL, SM_EXIT_LOST, 0, "", 0, 0, "", 0, &v);
	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "exit status lost (SIGCHLD reaped elsewhere?)", "", "");
	xbt_error_free(e);
}
END_TEST

START_TEST(not_xml)
{
	xmlrpc_value *v = NULL;
	xbt_error *e = decode("sr_scan", "this is not XML\n", "err", &v);

	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "not an XML-RPC response: Not valid XML.  syntax error",
		    "this is not XML\n", "err");
	/* The parser's frames stay: it raised, the decoder re-raised. */
	ck_assert_uint_ge(e->bt.n, 2);
	ck_assert_str_eq(e->bt.frames[0].filename, "api/wire_xml.c");
	ck_assert(e->bt.frames[0].is_raise);
	{
		size_t k = 1;

		while (k < e->bt.n && !e->bt.frames[k].is_raise)
			k++;
		ck_assert_uint_lt(k, e->bt.n);
		ck_assert_str_eq(e->bt.frames[k].filename,
				 "server/common/sm_decode.c");
		ck_assert_str_eq(e->bt.frames[k].name, "sm_decode");
	}
	xbt_error_free(e);
	e = decode("sr_scan", "", "", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "no response on stdout", "",
		    "");
	xbt_error_free(e);
	/* Two params is not a methodResponse either. */
	e = decode("sr_scan", "<methodResponse><params><param><value>a</value>"
		   "</param><param><value>b</value></param></params>"
		   "</methodResponse>", "", &v);
	ck_assert_str_eq(e->code, "SR_BACKEND_FAILURE");
	ck_assert_str_eq(e->params[0], "not an XML-RPC response: "
			 "Contains 2 items.  It should have 1.");
	xbt_error_free(e);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(not_xml_unsafe_bytes)
{
	static const char out[] = "bin\x01\xff\xc3(\x00tail";
	static const char err[] = "e\x1b[31m\xe2\x82";
	xmlrpc_value *v = NULL;
	xbt_error *e = decode_full("sr_scan", NULL, SM_EXIT_STATUS, 1, out,
				   sizeof(out) - 1, sizeof(out) - 1, err,
				   sizeof(err) - 1, &v);

	check_error(e, "SR_BACKEND_FAILURE", 3, "exited with status 1",
		    "bin\\x01\\xff\\xc3(\\x00tail", "e\\x1b[31m\\xe2\\x82");
	xbt_error_free(e);
}
END_TEST

START_TEST(stdout_over_cap)
{
	struct sm_config cfg = fixture_cfg();
	struct sm_exit how = { SM_EXIT_STATUS, 0 };
	char *head = repeat('x', 40000);
	struct sm_output o = { head, 40000, 10 * 1024 * 1024 };
	struct sm_output e = { "", 0, 0 };
	xmlrpc_value *v = NULL;
	char *want = repeat('x', SM_DEFAULT_PARAM_CAP);
	xbt_buf p1 = XBT_BUF_INIT;
	xbt_error *err;

	xbt_buf_addf(&p1, "%s[... %d more bytes]", want,
		     10 * 1024 * 1024 - SM_DEFAULT_PARAM_CAP);
	err = sm_decode(&cfg, "FIXTURE", "sr_scan", NULL, &how, &o, &e, &v);
	check_error(err, "SR_BACKEND_FAILURE", 3,
		    "response larger than 40000 bytes", p1.buf, "");
	xbt_error_free(err);
	xbt_buf_release(&p1);
	free(want);
	free(head);
}
END_TEST

START_TEST(param_cap_applies_to_stderr)
{
	struct sm_config cfg = fixture_cfg();
	struct sm_exit how = { SM_EXIT_STATUS, 2 };
	struct sm_output o = { "", 0, 0 };
	struct sm_output e = { "abcdefghij", 10, 10 };
	xmlrpc_value *v = NULL;
	xbt_error *err;

	cfg.param_cap = 4;
	err = sm_decode(&cfg, "FIXTURE", "sr_scan", NULL, &how, &o, &e, &v);
	check_error(err, "SR_BACKEND_FAILURE", 3, "exited with status 2", "",
		    "abcd[... 6 more bytes]");
	xbt_error_free(err);
	/* NULL outputs read as nothing captured. */
	err = sm_decode(&cfg, "FIXTURE", "sr_scan", NULL, &how, NULL, NULL,
			&v);
	check_error(err, "SR_BACKEND_FAILURE", 3, "exited with status 2", "",
		    "");
	xbt_error_free(err);
}
END_TEST

/* ---- decode table: classic faults ----------------------------------------- */

START_TEST(fault_codes)
{
	xbt_error *e;

	e = decode_owned("vdi_clone", fault_xml(38, "nope"), "");
	check_error(e, "UNIMPLEMENTED_IN_SM_BACKEND", 1, "vdi_clone");
	xbt_error_free(e);
	e = decode_owned("sr_delete", fault_xml(39, "x"), "");
	check_error(e, "SR_NOT_EMPTY", 0);
	xbt_error_free(e);
	e = decode_owned("vdi_delete", fault_xml(24, "x"), "");
	check_error(e, "VDI_IN_USE", 0);
	xbt_error_free(e);
	e = decode_owned("sr_detach", fault_xml(16, "x"), "");
	check_error(e, "SR_DEVICE_IN_USE", 0);
	xbt_error_free(e);
	e = decode_owned("vdi_attach", fault_xml(5, "Out of &amp; &lt;b&gt;"),
			 "trace\n");
	check_error(e, "SR_BACKEND_FAILURE_5", 3, "", "Out of & <b>",
		    "trace\n");
	{
		struct want w[] = {
			C_FRAME("sm_decode_fault", true),
			C_FRAME("sm_decode", false),
		};
		check_frames(&e->bt, w, 2);
	}
	xbt_error_free(e);
	e = decode_owned("vdi_attach", fault_xml(-1, ""), "");
	check_error(e, "SR_BACKEND_FAILURE_-1", 3, "", "", "");
	xbt_error_free(e);
}
END_TEST

START_TEST(fault_144_names_sr_and_vdi)
{
	xmlrpc_value *dc = dconf("x");
	xmlrpc_value *call = fixture_call("vdi_attach", dc);
	xmlrpc_value *v = NULL;
	char *out = fault_xml(144, "gone");
	xbt_error *e = decode_full("vdi_attach", call, SM_EXIT_STATUS, 0, out,
				   strlen(out), strlen(out), "", 0, &v);

	check_error(e, "VDI_MISSING", 2, "OpaqueRef:sr", "OpaqueRef:vdi");
	xbt_error_free(e);
	/* Without a call: empty refs, still two params. */
	e = decode_owned("vdi_attach", fault_xml(144, "gone"), "");
	check_error(e, "VDI_MISSING", 2, "", "");
	xbt_error_free(e);
	free(out);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
}
END_TEST

/* ---- decode table: values ------------------------------------------------- */

START_TEST(values)
{
	xmlrpc_value *v = NULL;
	char *out;
	const char *s = NULL;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	out = resp("<nil/>");
	ck_assert_ptr_null(decode("sr_attach", out, "", &v));
	ck_assert_int_eq(xmlrpc_value_type(v), XMLRPC_TYPE_NIL);
	xmlrpc_DECREF(v);
	free(out);
	out = resp("<struct><member><name>Status</name><value>Success</value>"
		   "</member><member><name>Value</name><value>x</value>"
		   "</member></struct>");
	ck_assert_ptr_null(decode("sr_scan", out, "", &v));
	xmlrpc_read_string(&env, v, &s);
	ck_assert_str_eq(s, "x");
	free((void *)s);
	xmlrpc_DECREF(v);
	free(out);
	/* A bare struct (classic) is the value. */
	out = resp("<struct><member><name>uuid</name><value>u</value>"
		   "</member></struct>");
	ck_assert_ptr_null(decode("vdi_create", out, "", &v));
	check_member_str(v, "uuid", "u");
	xmlrpc_DECREF(v);
	free(out);
	xmlrpc_env_clean(&env);
}
END_TEST

START_TEST(vdi_attach_result_shape)
{
	xmlrpc_value *v = NULL;
	char *out;
	xbt_error *e;

	out = resp("<struct><member><name>params_nbd</name><value>nbd:x"
		   "</value></member></struct>");
	ck_assert_ptr_null(decode("vdi_attach", out, "", &v));
	check_member_str(v, "params_nbd", "nbd:x");
	xmlrpc_DECREF(v);
	free(out);
	e = decode_owned("vdi_attach", resp("<nil/>"), "");
	check_error(e, "INTERNAL_ERROR", 1, "Unexpected response from SM plugin");
	xbt_error_free(e);
	e = decode_owned("vdi_attach", resp("<struct><member><name>params"
			 "</name><value>p</value></member></struct>"), "");
	check_error(e, "INTERNAL_ERROR", 1, "Unexpected response from SM plugin");
	xbt_error_free(e);
	e = decode_owned("vdi_attach", resp("<struct><member><name>params_nbd"
			 "</name><value><int>1</int></value></member>"
			 "</struct>"), "");
	check_error(e, "INTERNAL_ERROR", 1, "Unexpected response from SM plugin");
	xbt_error_free(e);
}
END_TEST

START_TEST(other_shapes_are_internal_error)
{
	static const char *const shapes[] = {
		"<struct><member><name>Status</name><value>Weird</value>"
		"</member></struct>",
		"<struct><member><name>Status</name><value>Success</value>"
		"</member></struct>",
		"<struct><member><name>Status</name><value><int>1</int>"
		"</value></member></struct>",
		"<struct><member><name>Status</name><value>Failure</value>"
		"</member></struct>",
		"<struct><member><name>Status</name><value>Failure</value>"
		"</member><member><name>ErrorDescription</name><value><array>"
		"<data></data></array></value></member></struct>",
		"<struct><member><name>Status</name><value>Failure</value>"
		"</member><member><name>ErrorDescription</name><value><array>"
		"<data><value><int>1</int></value></data></array></value>"
		"</member></struct>",
		"<struct><member><name>Status</name><value>Failure</value>"
		"</member><member><name>ErrorDescription</name><value>X"
		"</value></member></struct>",
	};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		xbt_error *e = decode_owned("sr_scan", resp(shapes[i]), "");
		check_error(e, "INTERNAL_ERROR", 1,
			    "Unexpected response from SM plugin");
		xbt_error_free(e);
	}
}
END_TEST

/* ---- decode table: XenAPI errors from the plugin ---------------------------- */

START_TEST(xenapi_error_direct)
{
	xbt_error *e;

	e = decode_owned("sr_scan", failure_xml(3, "SR_HAS_NO_PBDS",
						"OpaqueRef:a", "b"), "");
	check_error(e, "SR_HAS_NO_PBDS", 2, "OpaqueRef:a", "b");
	{
		struct want w[] = {
			C_FRAME("sm_decode_failure", true),
			C_FRAME("sm_decode_value", false),
			C_FRAME("sm_decode", false),
		};
		check_frames(&e->bt, w, 3);
	}
	xbt_error_free(e);
	e = decode_owned("sr_scan", failure_xml(1, "VDI_IN_USE"), "");
	check_error(e, "VDI_IN_USE", 0);
	xbt_error_free(e);
}
END_TEST

/* The relay path: a plugin's own error reaches the wire byte for byte. */
START_TEST(xenapi_error_relayed_bytes)
{
	xbt_buf xml = XBT_BUF_INIT, json = XBT_BUF_INIT;
	xbt_error *e;

	e = decode_owned("sr_scan", failure_xml(5, "SOME_PLUGIN_CODE",
						"<&>", "\xf0\x9f\x98\x80 x", "",
						"tab\there"), "");
	xbt_wire_xml_failure(&xml, e);
	ck_assert_ptr_nonnull(strstr(xml.buf,
		"<name>ErrorDescription</name><value><array><data>"
		"<value>SOME_PLUGIN_CODE</value><value>&lt;&amp;&gt;</value>"
		"<value>\xf0\x9f\x98\x80 x</value><value></value>"
		"<value>tab\there</value></data></array></value>"));
	xbt_wire_jsonrpc_failure(&json, true, "1", e);
	ck_assert_str_eq(json.buf,
		"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
		"\"SOME_PLUGIN_CODE\",\"data\":[\"<&>\",\"\xf0\x9f\x98\x80 x\","
		"\"\",\"tab\\there\"]},\"id\":1}");
	xbt_buf_release(&xml);
	xbt_buf_release(&json);
	xbt_error_free(e);
}
END_TEST

START_TEST(xenapi_error_bad_code)
{
	char *out = failure_xml(2, "bad code!", "x");
	char *copy = xbt_strdup(out);
	xbt_error *e = decode_owned("sr_scan", out, "err");

	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "bad error code from plugin: bad code!", copy, "err");
	xbt_error_free(e);
	free(copy);
}
END_TEST

/* ---- decode table: SR_BACKEND_FAILURE_WITH_BACKTRACE ------------------------ */

#define PYJSON "{\"error\": \"disk on fire\", \"files\": [\"/sm/a.py\", " \
	"\"/sm/b.py\", \"/sm/c.py\"], \"lines\": [10, 20, 30]}"

static const struct want wbt_c_frames[] = {
	C_FRAME("sm_decode_wbt", true),
	C_FRAME("sm_decode_failure", false),
	C_FRAME("sm_decode_value", false),
	C_FRAME("sm_decode", false),
};

/* Plugin frames (given) then the decoder's own four. */
static void check_wbt_frames(const xbt_backtrace *bt, const struct want *p,
			     size_t np)
{
	struct want w[16];

	if (np)
		memcpy(w, p, np * sizeof(*p));
	memcpy(w + np, wbt_c_frames, sizeof(wbt_c_frames));
	check_frames(bt, w, np + 4);
}

START_TEST(wbt_glues_plugin_frames)
{
	xbt_error *e = decode_owned("vdi_attach",
		failure_xml(4, WBT, PYJSON, "46", "The VDI is not available"),
		"stderr text");
	struct want p[] = {
		{ "FIXTURE @ " HOST, "/sm/c.py", 30, NULL, true },
		{ "FIXTURE @ " HOST, "/sm/b.py", 20, NULL, false },
		{ "FIXTURE @ " HOST, "/sm/a.py", 10, NULL, false },
	};

	check_error(e, "SR_BACKEND_FAILURE_46", 3, "",
		    "The VDI is not available", "stderr text");
	check_wbt_frames(&e->bt, p, 3);
	xbt_error_free(e);
}
END_TEST

START_TEST(wbt_empty_reason_uses_json_error)
{
	xbt_error *e = decode_owned("vdi_attach",
		failure_xml(4, WBT, PYJSON, "SOME_CODE", ""), "");

	check_error(e, "SR_BACKEND_FAILURE_SOME_CODE", 3, "", "disk on fire",
		    "");
	ck_assert_uint_eq(e->bt.n, 7);
	xbt_error_free(e);
}
END_TEST

START_TEST(wbt_bad_json_keeps_error)
{
	static const char *const bad[] = {
		"{not json",
		"[1, 2]",
		"{\"files\": [\"a\"]}",
		"{\"files\": \"a\", \"lines\": [1]}",
		"{\"files\": [1], \"lines\": [1]}",
		"{\"error\": 1, \"files\": [], \"lines\": []}",
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		xbt_error *e = decode_owned("vdi_attach",
			failure_xml(4, WBT, bad[i], "46", "reason"), "se");
		check_error(e, "SR_BACKEND_FAILURE_46", 3, "", "reason", "se");
		check_wbt_frames(&e->bt, NULL, 0);
		xbt_error_free(e);
	}
	/* No JSON "error" to fall back on: the reason stays empty. */
	{
		xbt_error *e = decode_owned("vdi_attach",
			failure_xml(4, WBT, "{", "46", ""), "");
		check_error(e, "SR_BACKEND_FAILURE_46", 3, "", "", "");
		xbt_error_free(e);
	}
}
END_TEST

START_TEST(wbt_mismatched_lists_keep_pairs)
{
	xbt_error *e = decode_owned("vdi_attach", failure_xml(4, WBT,
		"{\"error\": \"e\", \"files\": [\"a.py\", \"b.py\", \"c.py\"], "
		"\"lines\": [1, 2]}", "46", "r"), "");
	struct want p[] = {
		{ "FIXTURE @ " HOST, "b.py", 2, NULL, true },
		{ "FIXTURE @ " HOST, "a.py", 1, NULL, false },
	};

	check_error(e, "SR_BACKEND_FAILURE_46", 3, "", "r", "");
	check_wbt_frames(&e->bt, p, 2);
	xbt_error_free(e);
}
END_TEST

START_TEST(wbt_bad_code)
{
	static const char *const codes[] = {
		"../x", "", "46 ", "a-b",
		"01234567890123456789012345678901234567890123456789012345678901234",
	};
	char *big = repeat('A', 64);

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char *out = failure_xml(4, WBT, PYJSON, codes[i], "r");
		char *copy = xbt_strdup(out);
		xbt_buf what = XBT_BUF_INIT;
		xbt_error *e = decode_owned("vdi_attach", out, "se");
		struct want p[] = {
			{ "FIXTURE @ " HOST, "/sm/c.py", 30, NULL, true },
			{ "FIXTURE @ " HOST, "/sm/b.py", 20, NULL, false },
			{ "FIXTURE @ " HOST, "/sm/a.py", 10, NULL, false },
		};
		xbt_buf_addf(&what, "bad error code in " WBT ": %s", codes[i]);
		check_error(e, "SR_BACKEND_FAILURE", 3, what.buf, copy, "se");
		/* The JSON was good: its frames still show where it failed. */
		check_wbt_frames(&e->bt, p, 3);
		xbt_buf_release(&what);
		xbt_error_free(e);
		free(copy);
	}
	/* 64 characters is still a code. */
	{
		char *code = xbt_strdup("SR_BACKEND_FAILURE_");
		xbt_error *e = decode_owned("vdi_attach",
			failure_xml(4, WBT, PYJSON, big, "r"), "");
		code = xbt_realloc(code, strlen(code) + 65);
		strcat(code, big);
		check_error(e, code, 3, "", "r", "");
		xbt_error_free(e);
		free(code);
	}
	free(big);
}
END_TEST

START_TEST(wbt_wrong_length)
{
	char *outs[3];
	const char *whats[3] = {
		WBT " needs 3 parameters, got 0",
		WBT " needs 3 parameters, got 2",
		WBT " needs 3 parameters, got 4",
	};

	outs[0] = failure_xml(1, WBT);
	outs[1] = failure_xml(3, WBT, PYJSON, "46");
	outs[2] = failure_xml(5, WBT, PYJSON, "46", "r", "extra");
	for (int i = 0; i < 3; i++) {
		char *copy = xbt_strdup(outs[i]);
		xbt_error *e = decode_owned("vdi_attach", outs[i], "se");
		check_error(e, "SR_BACKEND_FAILURE", 3, whats[i], copy, "se");
		check_wbt_frames(&e->bt, NULL, 0);
		xbt_error_free(e);
		free(copy);
	}
}
END_TEST

START_TEST(wbt_unsafe_text)
{
	/*
	 * Only stderr can carry unsafe bytes here: XML cannot, and JSON's
	 * \u escapes are decoded wrongly by xmlrpc-c 1.33 (it runs strtol
	 * past the four digits), so they are pyjson's business, not this
	 * table's. Valid UTF-8 stays as it is.
	 */
	xbt_error *e = decode_owned("vdi_attach", failure_xml(4, WBT,
		"{\"error\": \"x\", \"files\": [\"f\xc3\xa9.py\"], "
		"\"lines\": [7]}", "46", "r\xc3\xa9"), "e\xff\x01");
	struct want p[] = {
		{ "FIXTURE @ " HOST, "f\xc3\xa9.py", 7, NULL, true },
	};

	check_error(e, "SR_BACKEND_FAILURE_46", 3, "", "r\xc3\xa9",
		    "e\\xff\\x01");
	check_wbt_frames(&e->bt, p, 1);
	xbt_error_free(e);
}
END_TEST

/* ---- the call struct and the log ---------------------------------------------- */

START_TEST(render_hides_secrets)
{
	xmlrpc_value *dc = dconf("x");
	xmlrpc_value *call;
	char *r;

	dconf_set(dc, "password", "pw-one");
	dconf_set(dc, "CHAP_Secret", "pw-two");
	dconf_set(dc, "Password_Secret_ID", "pw-three");
	dconf_set(dc, "server", "nfs1");
	call = fixture_call("vdi_attach", dc);
	r = sm_render_call("NFS", "vdi_attach", call);
	ck_assert_str_eq(r, "NFS vdi_attach {host_ref: \"OpaqueRef:host\", "
		"command: \"vdi_attach\", args: [\"true\"], device_config: "
		"{mode: \"x\", password: (hidden), CHAP_Secret: (hidden), "
		"Password_Secret_ID: (hidden), server: \"nfs1\"}, session_ref: "
		"(hidden), sr_ref: \"OpaqueRef:sr\", sr_uuid: \"sr-uuid\", "
		"vdi_ref: \"OpaqueRef:vdi\", vdi_location: \"vdi-loc\", "
		"vdi_uuid: \"vdi-uuid\"}");
	ck_assert_ptr_null(strstr(r, "pw-"));
	ck_assert_ptr_null(strstr(r, "OpaqueRef:session"));
	free(r);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
}
END_TEST

START_TEST(render_types_and_bounds)
{
	xmlrpc_env env;
	char *big = repeat('a', 300);
	char *want;
	xmlrpc_value *v;
	char *r;
	xbt_buf b = XBT_BUF_INIT;

	xmlrpc_env_init(&env);
	v = xmlrpc_build_value(&env, "{s:i,s:b,s:n,s:d,s:s,s:(s)}", "i", 7,
			       "b", 1, "n", "d", 1.5, "s", big, "a", "\x01");
	ck_assert(!env.fault_occurred);
	r = sm_render_call("T", "c", v);
	want = repeat('a', 256);
	xbt_buf_addf(&b, "T c {i: 7, b: true, n: nil, d: 1.5, s: \"%s\"..."
		     "(300 bytes), a: [\"\\x01\"]}", want);
	ck_assert_str_eq(r, b.buf);
	free(r);
	r = sm_render_call("T", "c", NULL);
	ck_assert_str_eq(r, "T c nil");
	free(r);
	xbt_buf_release(&b);
	free(want);
	free(big);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}
END_TEST

START_TEST(call_new_without_optional_fields)
{
	struct sm_call_args a = { .host_ref = "OpaqueRef:h" };
	xmlrpc_value *call = sm_call_new("sr_scan", &a);
	char *r = sm_render_call("T", "sr_scan", call);

	ck_assert_str_eq(r, "T sr_scan {host_ref: \"OpaqueRef:h\", command: "
			 "\"sr_scan\", args: [], device_config: {}}");
	free(r);
	xmlrpc_DECREF(call);
}
END_TEST

/* ---- the runner: fixtures ------------------------------------------------------ */

START_TEST(run_ok_and_attach)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;

	ck_assert_ptr_null(run_mode(&cfg, "sr_attach", "ok", &v));
	ck_assert_int_eq(xmlrpc_value_type(v), XMLRPC_TYPE_NIL);
	xmlrpc_DECREF(v);
	v = NULL;
	ck_assert_ptr_null(run_mode(&cfg, "vdi_attach", "attach", &v));
	check_member_str(v, "params_nbd", "nbd:unix:/run/x.sock");
	check_member_str(v, "params", "/dev/x");
	ck_assert(member_bool(v, "o_direct"));
	xmlrpc_DECREF(v);
	check_no_children();
}
END_TEST

START_TEST(run_sees_clean_process)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL, *call;
	sigset_t usr2;
	char *s;

	/* What xbtd might have set must not reach the plugin. */
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	ck_assert_ptr_null(run_mode(&cfg, "vdi_activate", "echo", &v));
	s = member_list(v, "environ");
	ck_assert_str_eq(s, "PATH=/usr/bin:/bin,ORIGINATOR=SM");
	free(s);
	s = member_list(v, "fds");
	ck_assert_str_eq(s, "0,1,2");
	free(s);
	s = member_list(v, "blocked");
	ck_assert_str_eq(s, "");
	free(s);
	check_member_str(v, "stdin", "/dev/null");
	check_member_str(v, "argc", "2");
	ck_assert(member_bool(v, "own_pgrp"));
	ck_assert(member_bool(v, "usr1_default"));
	/* The call arrives whole. */
	call = member(v, "call");
	check_member_str(call, "command", "vdi_activate");
	check_member_str(call, "host_ref", "OpaqueRef:host");
	check_member_str(call, "session_ref", "OpaqueRef:session");
	check_member_str(call, "sr_ref", "OpaqueRef:sr");
	check_member_str(call, "sr_uuid", "sr-uuid");
	check_member_str(call, "vdi_ref", "OpaqueRef:vdi");
	check_member_str(call, "vdi_location", "vdi-loc");
	check_member_str(call, "vdi_uuid", "vdi-uuid");
	s = member_list(call, "args");
	ck_assert_str_eq(s, "true");
	free(s);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(v);
	signal(SIGUSR1, SIG_DFL);
	check_no_children();
}
END_TEST

START_TEST(run_default_path_is_daemons)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	char *s;

	setenv("PATH", "/usr/bin:/bin:/nonexistent", 1);
	cfg.path = NULL;
	ck_assert_ptr_null(run_mode(&cfg, "vdi_activate", "echo", &v));
	s = member_list(v, "environ");
	ck_assert_str_eq(s, "PATH=/usr/bin:/bin:/nonexistent,ORIGINATOR=SM");
	free(s);
	xmlrpc_DECREF(v);
}
END_TEST

START_TEST(run_fault_codes)
{
	static const struct { const char *code; const char *want; } t[] = {
		{ "38", "UNIMPLEMENTED_IN_SM_BACKEND" },
		{ "39", "SR_NOT_EMPTY" },
		{ "24", "VDI_IN_USE" },
		{ "16", "SR_DEVICE_IN_USE" },
		{ "144", "VDI_MISSING" },
		{ "7", "SR_BACKEND_FAILURE_7" },
	};
	struct sm_config cfg = fixture_cfg();

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		xmlrpc_value *dc = dconf("fault"), *v = NULL;
		xmlrpc_value *call;
		xbt_error *e;
		dconf_set(dc, "code", t[i].code);
		dconf_set(dc, "string", "fault text");
		call = fixture_call("vdi_attach", dc);
		e = sm_call(&cfg, "FIXTURE", "vdi_attach", call, &v);
		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(e->code, t[i].want);
		if (i == 0)
			check_error(e, t[i].want, 1, "vdi_attach");
		else if (i == 4)
			check_error(e, t[i].want, 2, "OpaqueRef:sr",
				    "OpaqueRef:vdi");
		else if (i == 5)
			check_error(e, t[i].want, 3, "", "fault text", "");
		else
			check_error(e, t[i].want, 0);
		xbt_error_free(e);
		xmlrpc_DECREF(call);
		xmlrpc_DECREF(dc);
	}
	check_no_children();
}
END_TEST

START_TEST(run_broken_outputs)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;

	e = run_mode(&cfg, "sr_scan", "notxml", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "not an XML-RPC response: Not valid XML.  syntax error",
		    "this is not XML\n", "");
	xbt_error_free(e);
	e = run_mode(&cfg, "sr_scan", "empty", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "no response on stdout", "",
		    "");
	xbt_error_free(e);
	e = run_mode(&cfg, "sr_scan", "exit3", &v);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, "SR_BACKEND_FAILURE");
	ck_assert_uint_eq(e->nparams, 3);
	ck_assert_str_eq(e->params[0], "exited with status 3");
	ck_assert_ptr_nonnull(strstr(e->params[1], "<nil/>"));
	ck_assert_str_eq(e->params[2], "exiting with 3\n");
	{
		struct want w[] = {
			C_FRAME("sm_decode", true),
			RUN_FRAME("sm_call", false),
		};
		check_frames(&e->bt, w, 2);
	}
	xbt_error_free(e);
	e = run_mode(&cfg, "sr_scan", "signal", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "killed by signal 9 (SIGKILL)",
		    "", "about to die\n");
	xbt_error_free(e);
	e = run_mode(&cfg, "sr_scan", "ctrl", &v);
	check_error(e, "SR_BACKEND_FAILURE_5", 3, "", "ctrl",
		    "bad\\x01\\x1b[0m\\xff\\xfe ok\tend\n\\x00z");
	xbt_error_free(e);
	ck_assert_ptr_null(v);
	check_no_children();
}
END_TEST

START_TEST(run_kit_errors)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;
	const char *fx = SM_FIXTURE_DIR "/FIXTURESR";
	const char *kit = SM_FIXTURE_DIR "/xbtsm.py";
	int dispatch = line_of(kit, "# xbtsm: the plugin's frames start here");

	e = run_mode(&cfg, "sr_scan", "xenapi", &v);
	check_error(e, "SR_HAS_NO_PBDS", 1, "OpaqueRef:abc");
	xbt_error_free(e);
	e = run_mode(&cfg, "vdi_detach", "kitfault", &v);
	check_error(e, "VDI_IN_USE", 0);
	xbt_error_free(e);
	e = run_mode(&cfg, "sr_scan", "general", &v);
	check_error(e, "SR_BACKEND_FAILURE_202", 3, "",
		    "General backend error [opterr='no such key']", "");
	{
		struct want w[] = {
			{ "FIXTURE @ " HOST, fx,
			  line_of(fx, "return {}[\"no such key\"]"), NULL,
			  true },
			{ "FIXTURE @ " HOST, kit, dispatch, NULL, false },
			C_FRAME("sm_decode_wbt", true),
			C_FRAME("sm_decode_failure", false),
			C_FRAME("sm_decode_value", false),
			C_FRAME("sm_decode", false),
			RUN_FRAME("sm_call", false),
		};
		check_frames(&e->bt, w, 7);
	}
	xbt_error_free(e);
	/* An unknown command: the kit's fault 38. */
	{
		xmlrpc_value *dc = dconf("ok");
		xmlrpc_value *call = fixture_call("vdi_clone", dc);
		e = sm_call(&cfg, "FIXTURE", "vdi_clone", call, &v);
		check_error(e, "UNIMPLEMENTED_IN_SM_BACKEND", 1, "vdi_clone");
		xbt_error_free(e);
		xmlrpc_DECREF(call);
		xmlrpc_DECREF(dc);
	}
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(run_nested_backtrace)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *dc = dconf("nested"), *v = NULL, *call;
	const char *fx = SM_FIXTURE_DIR "/FIXTURESR";
	const char *kit = SM_FIXTURE_DIR "/xbtsm.py";
	xbt_error *e;

	dconf_set(dc, "reason", "The VDI is not available");
	call = fixture_call("vdi_attach", dc);
	e = sm_call(&cfg, "FIXTURE", "vdi_attach", call, &v);
	check_error(e, "SR_BACKEND_FAILURE_46", 3, "",
		    "The VDI is not available", "");
	{
		const char *p = "FIXTURE @ " HOST;
		struct want w[] = {
			{ p, fx, line_of(fx, "raise xbtsm.BackendError(46, what)"),
			  NULL, true },
			{ p, fx, line_of(fx, "    nested_inner(what)"), NULL,
			  false },
			{ p, fx, line_of(fx, "    nested_middle(call"), NULL,
			  false },
			{ p, fx, line_of(fx, "return nested_outer(call)"), NULL,
			  false },
			{ p, kit, line_of(kit, "# xbtsm: the plugin's frames "
					  "start here"), NULL, false },
			C_FRAME("sm_decode_wbt", true),
			C_FRAME("sm_decode_failure", false),
			C_FRAME("sm_decode_value", false),
			C_FRAME("sm_decode", false),
			RUN_FRAME("sm_call", false),
		};
		check_frames(&e->bt, w, 10);
	}
	xbt_error_free(e);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
}
END_TEST

/* Runs mode "wbt" with the given ErrorDescription params p0, p1 ... */
static xbt_error *run_wbt(size_t n, ...)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *dc = dconf("wbt"), *v = NULL, *call;
	va_list ap;
	xbt_error *e;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		char key[8];
		snprintf(key, sizeof(key), "p%zu", i);
		dconf_set(dc, key, va_arg(ap, const char *));
	}
	va_end(ap);
	call = fixture_call("vdi_attach", dc);
	e = sm_call(&cfg, "FIXTURE", "vdi_attach", call, &v);
	ck_assert_ptr_null(v);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
	return e;
}

START_TEST(run_wbt_malformed)
{
	xbt_error *e;

	e = run_wbt(3, "{bad json", "46", "reason");
	check_error(e, "SR_BACKEND_FAILURE_46", 3, "", "reason",
		    "wbt stderr\n");
	ck_assert_uint_eq(e->bt.n, 5);
	ck_assert_str_eq(e->bt.frames[0].name, "sm_decode_wbt");
	xbt_error_free(e);
	e = run_wbt(3, "{\"error\": \"e\", \"files\": [\"x.py\", \"y.py\"], "
		    "\"lines\": [5]}", "46", "");
	check_error(e, "SR_BACKEND_FAILURE_46", 3, "", "e", "wbt stderr\n");
	ck_assert_uint_eq(e->bt.n, 6);
	ck_assert_str_eq(e->bt.frames[0].filename, "x.py");
	ck_assert_int_eq(e->bt.frames[0].line, 5);
	xbt_error_free(e);
	e = run_wbt(3, PYJSON, "../x", "r");
	ck_assert_str_eq(e->code, "SR_BACKEND_FAILURE");
	ck_assert_str_eq(e->params[0], "bad error code in " WBT ": ../x");
	ck_assert_ptr_nonnull(strstr(e->params[1], "<string>../x</string>"));
	ck_assert_str_eq(e->params[2], "wbt stderr\n");
	xbt_error_free(e);
	e = run_wbt(2, PYJSON, "46");
	ck_assert_str_eq(e->code, "SR_BACKEND_FAILURE");
	ck_assert_str_eq(e->params[0], WBT " needs 3 parameters, got 2");
	xbt_error_free(e);
	check_no_children();
}
END_TEST

START_TEST(run_hang_times_out)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;
	int fds = count_fds();

	cfg.timeout_s = 1;
	e = run_mode(&cfg, "sr_scan", "hang", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "timeout after 1 s", "partial",
		    "hanging\n");
	xbt_error_free(e);
	ck_assert_ptr_null(v);
	check_no_children();
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(run_hang_ignoring_sigterm_is_killed)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;

	cfg.timeout_s = 1;
	cfg.grace_ms = 200;
	e = run_mode(&cfg, "sr_scan", "hang_noterm", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "timeout after 1 s", "",
		    "ignoring SIGTERM\n");
	xbt_error_free(e);
	check_no_children();
}
END_TEST

/* True once pid is gone or a zombie (it is not our child to reap). */
static bool dead(pid_t pid)
{
	char path[64], line[256];
	bool result = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:", 6) == 0)
			result = strchr(line, 'Z') != NULL ||
				 strchr(line, 'X') != NULL;
	fclose(f);
	return result;
}

START_TEST(run_timeout_kills_the_group)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;
	int child = 0;

	cfg.timeout_s = 1;
	e = run_mode(&cfg, "sr_scan", "hang_child", &v);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->params[0], "timeout after 1 s");
	ck_assert_int_eq(sscanf(e->params[2], "child %d", &child), 1);
	xbt_error_free(e);
	/* SIGKILL is delivered asynchronously: allow it a moment. */
	for (int i = 0; i < 500 && !dead(child); i++)
		usleep(10000);
	ck_assert_msg(dead(child), "helper %d survived the timeout", child);
}
END_TEST

START_TEST(run_helper_does_not_hold_the_call)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	char *pid;

	/* Were the runner waiting for EOF, this would time out. */
	cfg.timeout_s = 20;
	ck_assert_ptr_null(run_mode(&cfg, "sr_scan", "helper", &v));
	pid = read_str(v, "helper");
	ck_assert_int_gt(atoi(pid), 0);
	kill(atoi(pid), SIGKILL);
	free(pid);
	xmlrpc_DECREF(v);
	check_no_children();
}
END_TEST

START_TEST(run_big_output_is_capped)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;
	char *x = repeat('x', SM_DEFAULT_PARAM_CAP);
	xbt_buf want = XBT_BUF_INIT;
	const size_t total = 160 * 65536;

	e = run_mode(&cfg, "sr_scan", "bigout", &v);
	xbt_buf_addf(&want, "%s[... %zu more bytes]", x,
		     total - SM_DEFAULT_PARAM_CAP);
	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "response larger than 1048576 bytes", want.buf, want.buf);
	xbt_error_free(e);
	xbt_buf_release(&want);
	free(x);
	check_no_children();
}
END_TEST

START_TEST(run_bad_plugins)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *dc = dconf("ok"), *v = NULL, *call;
	xbt_error *e;

	call = fixture_call("sr_scan", dc);
	e = sm_call(&cfg, "NOSUCH", "sr_scan", call, &v);
	check_error(e, "SR_UNKNOWN_DRIVER", 1, "NOSUCH");
	xbt_error_free(e);
	e = sm_call(&cfg, "../plugins/FIXTURE", "sr_scan", call, &v);
	check_error(e, "SR_UNKNOWN_DRIVER", 1, "../plugins/FIXTURE");
	xbt_error_free(e);
	e = sm_call(&cfg, "", "sr_scan", call, &v);
	check_error(e, "SR_UNKNOWN_DRIVER", 1, "");
	xbt_error_free(e);
	e = sm_call(&cfg, "A\x01", "sr_scan", call, &v);
	check_error(e, "SR_UNKNOWN_DRIVER", 1, "A\\x01");
	xbt_error_free(e);
	e = sm_call(&cfg, "NOEXEC", "sr_scan", call, &v);
	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "cannot run NOEXECSR: Permission denied", "", "");
	xbt_error_free(e);
	e = sm_call(&cfg, "FIXTURE", "sr scan", call, &v);
	check_error(e, "INTERNAL_ERROR", 1, "bad SM command");
	xbt_error_free(e);
	e = sm_call(&cfg, "FIXTURE", "sr_scan", NULL, &v);
	check_error(e, "INTERNAL_ERROR", 1, "SM call is not a struct");
	xbt_error_free(e);
	{
		xmlrpc_value *args = member(call, "args");
		e = sm_call(&cfg, "FIXTURE", "sr_scan", args, &v);
		check_error(e, "INTERNAL_ERROR", 1, "SM call is not a struct");
		xbt_error_free(e);
		xmlrpc_DECREF(args);
	}
	ck_assert_ptr_null(v);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
}
END_TEST

START_TEST(run_call_too_big_for_argv)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *dc = dconf("ok"), *v = NULL, *call;
	char *big = repeat('b', 200 * 1024);
	xbt_error *e;

	dconf_set(dc, "big", big);
	call = fixture_call("sr_scan", dc);
	e = sm_call(&cfg, "FIXTURE", "sr_scan", call, &v);
	check_error(e, "SR_BACKEND_FAILURE", 3,
		    "cannot run FIXTURESR: Argument list too long", "", "");
	xbt_error_free(e);
	free(big);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
}
END_TEST

#define NTHREADS 50

struct job {
	pthread_t t;
	int i;
	xbt_error *err;
	char *uuid;
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct sm_config cfg = fixture_cfg();
	char uuid[32];
	xmlrpc_value *dc = dconf("echo"), *v = NULL, *call;
	struct sm_call_args a = { .host_ref = "h", .vdi_uuid = uuid,
				  .device_config = dc };

	snprintf(uuid, sizeof(uuid), "vdi-%d", j->i);
	call = sm_call_new("vdi_activate", &a);
	j->err = sm_call(&cfg, "FIXTURE", "vdi_activate", call, &v);
	if (!j->err) {
		xmlrpc_value *seen = member(v, "call");
		j->uuid = read_str(seen, "vdi_uuid");
		xmlrpc_DECREF(seen);
		xmlrpc_DECREF(v);
	}
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
	return NULL;
}

START_TEST(run_fifty_at_once)
{
	static struct job jobs[NTHREADS];
	int fds = count_fds();

	for (int i = 0; i < NTHREADS; i++) {
		jobs[i].i = i;
		ck_assert_int_eq(pthread_create(&jobs[i].t, NULL, job_run,
						&jobs[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		char want[32];
		pthread_join(jobs[i].t, NULL);
		ck_assert_msg(jobs[i].err == NULL, "job %d: %s", i,
			      jobs[i].err ? jobs[i].err->code : "");
		snprintf(want, sizeof(want), "vdi-%d", i);
		ck_assert_str_eq(jobs[i].uuid, want);
		free(jobs[i].uuid);
	}
	check_no_children();
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* Without a pidfd the runner polls for the exit: same outcomes. */
START_TEST(run_without_pidfd)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *v = NULL;
	xbt_error *e;
	char *pid;

	sm_test_use_pidfd(false);
	ck_assert_ptr_null(run_mode(&cfg, "sr_attach", "ok", &v));
	xmlrpc_DECREF(v);
	v = NULL;
	e = run_mode(&cfg, "sr_scan", "signal", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "killed by signal 9 (SIGKILL)",
		    "", "about to die\n");
	xbt_error_free(e);
	ck_assert_ptr_null(run_mode(&cfg, "sr_scan", "helper", &v));
	pid = read_str(v, "helper");
	kill(atoi(pid), SIGKILL);
	free(pid);
	xmlrpc_DECREF(v);
	v = NULL;
	cfg.timeout_s = 1;
	e = run_mode(&cfg, "sr_scan", "hang", &v);
	check_error(e, "SR_BACKEND_FAILURE", 3, "timeout after 1 s", "partial",
		    "hanging\n");
	xbt_error_free(e);
	sm_test_use_pidfd(true);
	check_no_children();
}
END_TEST

/* ---- the demo plugins shipped with xbtd --------------------------------------- */

START_TEST(demo_plugins)
{
	struct sm_config cfg = fixture_cfg();
	xmlrpc_value *dc = dconf("x"), *v = NULL, *call, *xs;
	const char *fail = SM_DEMO_DIR "/FAILSR";
	const char *kit = SM_DEMO_DIR "/xbtsm.py";
	xbt_error *e;

	cfg.sm_dir = SM_DEMO_DIR;
	call = fixture_call("vdi_attach", dc);
	ck_assert_ptr_null(sm_call(&cfg, "DEMO", "vdi_attach", call, &v));
	check_member_str(v, "params_nbd", "nbd:unix:/run/xbt-demo/vdi-uuid.sock");
	check_member_str(v, "params", "/dev/xbt-demo/vdi-uuid");
	check_member_str(v, "o_direct_reason", "");
	ck_assert(member_bool(v, "o_direct"));
	xs = member(v, "xenstore_data");
	check_member_str(xs, "mode", "rw");
	xmlrpc_DECREF(xs);
	xmlrpc_DECREF(v);
	v = NULL;
	e = sm_call(&cfg, "FAIL", "vdi_attach", call, &v);
	check_error(e, "SR_BACKEND_FAILURE_46", 3, "",
		    "The VDI is not available [opterr=/dev/xbt-fail/vdi-uuid "
		    "is locked by another host]", "");
	{
		const char *p = "FAIL @ " HOST;
		struct want w[] = {
			{ p, fail, line_of(fail, "raise xbtsm.BackendError(46"),
			  NULL, true },
			{ p, fail, line_of(fail, "return open_tapdisk("), NULL,
			  false },
			{ p, fail, line_of(fail, "return activate_chain("),
			  NULL, false },
			{ p, kit, line_of(kit, "# xbtsm: the plugin's frames "
					  "start here"), NULL, false },
			C_FRAME("sm_decode_wbt", true),
			C_FRAME("sm_decode_failure", false),
			C_FRAME("sm_decode_value", false),
			C_FRAME("sm_decode", false),
			RUN_FRAME("sm_call", false),
		};
		check_frames(&e->bt, w, 9);
	}
	xbt_error_free(e);
	/* Everything else succeeds with nil. */
	ck_assert_ptr_null(sm_call(&cfg, "FAIL", "vdi_activate", call, &v));
	ck_assert_int_eq(xmlrpc_value_type(v), XMLRPC_TYPE_NIL);
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(call);
	xmlrpc_DECREF(dc);
	check_no_children();
}
END_TEST

static Suite *sm_suite(void)
{
	Suite *s = suite_create("sm");
	TCase *d = tcase_create("decode");
	TCase *l = tcase_create("log");
	TCase *r = tcase_create("run");

	tcase_add_test(d, exit_status_wins_over_stdout);
	tcase_add_test(d, killed_by_signal);
	tcase_add_test(d, timeout_and_lost);
	tcase_add_test(d, not_xml);
	tcase_add_test(d, not_xml_unsafe_bytes);
	tcase_add_test(d, stdout_over_cap);
	tcase_add_test(d, param_cap_applies_to_stderr);
	tcase_add_test(d, fault_codes);
	tcase_add_test(d, fault_144_names_sr_and_vdi);
	tcase_add_test(d, values);
	tcase_add_test(d, vdi_attach_result_shape);
	tcase_add_test(d, other_shapes_are_internal_error);
	tcase_add_test(d, xenapi_error_direct);
	tcase_add_test(d, xenapi_error_relayed_bytes);
	tcase_add_test(d, xenapi_error_bad_code);
	tcase_add_test(d, wbt_glues_plugin_frames);
	tcase_add_test(d, wbt_empty_reason_uses_json_error);
	tcase_add_test(d, wbt_bad_json_keeps_error);
	tcase_add_test(d, wbt_mismatched_lists_keep_pairs);
	tcase_add_test(d, wbt_bad_code);
	tcase_add_test(d, wbt_wrong_length);
	tcase_add_test(d, wbt_unsafe_text);
	suite_add_tcase(s, d);

	tcase_add_test(l, render_hides_secrets);
	tcase_add_test(l, render_types_and_bounds);
	tcase_add_test(l, call_new_without_optional_fields);
	suite_add_tcase(s, l);

	tcase_set_timeout(r, 120);
	tcase_add_test(r, run_ok_and_attach);
	tcase_add_test(r, run_sees_clean_process);
	tcase_add_test(r, run_default_path_is_daemons);
	tcase_add_test(r, run_fault_codes);
	tcase_add_test(r, run_broken_outputs);
	tcase_add_test(r, run_kit_errors);
	tcase_add_test(r, run_nested_backtrace);
	tcase_add_test(r, run_wbt_malformed);
	tcase_add_test(r, run_hang_times_out);
	tcase_add_test(r, run_hang_ignoring_sigterm_is_killed);
	tcase_add_test(r, run_timeout_kills_the_group);
	tcase_add_test(r, run_helper_does_not_hold_the_call);
	tcase_add_test(r, run_big_output_is_capped);
	tcase_add_test(r, run_bad_plugins);
	tcase_add_test(r, run_call_too_big_for_argv);
	tcase_add_test(r, run_fifty_at_once);
	tcase_add_test(r, run_without_pidfd);
	tcase_add_test(r, demo_plugins);
	suite_add_tcase(s, r);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	xbt_set_process("xbtd", HOST);
	log_init("check_sm", LOG_LEVEL_ERROR, false);
	sm_init(NULL);
	sr = srunner_create(sm_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
