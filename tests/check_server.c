/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd's core in process: dispatch (arity, unknown methods, sessions, type
 * checks), implicit messages, the task state machine and Async calls.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evlog.h"
#include "xbt/wire.h"
#include "xbtd.h"

/* Builds an array of strings from a NULL-terminated list. */
static xmlrpc_value *strs(const char *first, ...)
{
	xmlrpc_env env;
	xmlrpc_value *a;
	va_list ap;

	xmlrpc_env_init(&env);
	a = xmlrpc_array_new(&env);
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		xmlrpc_value *v = xmlrpc_string_new(&env, s);
		xmlrpc_array_append_item(&env, a, v);
		xmlrpc_DECREF(v);
	}
	va_end(ap);
	ck_assert(!env.fault_occurred);
	xmlrpc_env_clean(&env);
	return a;
}

static void push(xmlrpc_value *a, xmlrpc_value *v)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	xmlrpc_array_append_item(&env, a, v);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}

/* Calls and expects failure with exactly code and params. */
static void expect_error(const char *method, xmlrpc_value *params,
			 const char *code, size_t n, ...)
{
	xmlrpc_value *result = NULL;
	xbt_error *e = dispatch_call(method, params, NULL, &result);
	va_list ap;

	ck_assert_msg(e != NULL, "%s succeeded", method);
	ck_assert_ptr_null(result);
	ck_assert_str_eq(e->code, code);
	ck_assert_uint_eq(e->nparams, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(e->params[i], va_arg(ap, const char *));
	va_end(ap);
	ck_assert_uint_ge(e->bt.n, 1);
	xbt_error_free(e);
	xmlrpc_DECREF(params);
}

/* Calls and expects success; returns the result's string (caller frees) or NULL. */
static char *expect_ok(const char *method, xmlrpc_value *params,
		       xmlrpc_value **keep)
{
	xmlrpc_value *result = NULL;
	xbt_error *e = dispatch_call(method, params, NULL, &result);
	char *s = NULL;

	if (e) {
		char *sum = xbt_error_summary(e);
		ck_abort_msg("%s failed: %s", method, sum);
	}
	ck_assert_ptr_nonnull(result);
	if (xmlrpc_value_type(result) == XMLRPC_TYPE_STRING) {
		xmlrpc_env env;
		const char *cs;
		xmlrpc_env_init(&env);
		xmlrpc_read_string(&env, result, &cs);
		s = (char *)cs;
		xmlrpc_env_clean(&env);
	}
	if (keep)
		*keep = result;
	else
		xmlrpc_DECREF(result);
	xmlrpc_DECREF(params);
	return s;
}

static char *login(void)
{
	return expect_ok("session.login_with_password",
			 strs("root", "xbt", NULL), NULL);
}

static void setup(void)
{
	ck_assert_int_eq(config_parse(0, NULL), 0);
	xbtd_conf.sm_dir = XBT_BUILDDIR "/server/plugins";
	evlog_init(0);
	store_init();
	host_init("check-host", "127.0.0.1");
	xbt_error *e = world_init(NULL);
	ck_assert_ptr_null(e);
	worker_start(2, 0);
}

static void teardown(void)
{
	worker_stop();
	task_shutdown();
	store_shutdown();
	event_shutdown();
	evlog_shutdown();
}

START_TEST(test_every_custom_message_has_a_handler)
{
	for (size_t i = 0; i < xbt_nmessages; i++)
		if (xbt_messages[i].kind == XBT_MSG_CUSTOM)
			ck_assert_msg(xbtd_handlers[i] != NULL, "no handler for %s",
				      xbt_messages[i].wire_name);
}
END_TEST

START_TEST(test_login_arities)
{
	free(expect_ok("session.login_with_password", strs("root", "xbt", NULL), NULL));
	free(expect_ok("session.login_with_password",
		       strs("root", "xbt", "1.0", NULL), NULL));
	free(expect_ok("session.login_with_password",
		       strs("root", "xbt", "1.0", "test", NULL), NULL));
	expect_error("session.login_with_password", strs("root", NULL),
		     "MESSAGE_PARAMETER_COUNT_MISMATCH", 3,
		     "session.login_with_password", "2", "1");
	expect_error("session.login_with_password",
		     strs("root", "xbt", "1", "o", "x", NULL),
		     "MESSAGE_PARAMETER_COUNT_MISMATCH", 3,
		     "session.login_with_password", "2", "5");
}
END_TEST

START_TEST(test_login_wrong_password)
{
	expect_error("session.login_with_password", strs("root", "nope", NULL),
		     "SESSION_AUTHENTICATION_FAILED", 2, "root",
		     "Authentication failure");
	expect_error("session.login_with_password", strs("alice", "xbt", NULL),
		     "SESSION_AUTHENTICATION_FAILED", 2, "alice",
		     "Authentication failure");
}
END_TEST

START_TEST(test_unknown_and_not_async)
{
	char *s = login();
	expect_error("VM.fly", strs(s, NULL), "MESSAGE_METHOD_UNKNOWN", 1,
		     "VM.fly");
	expect_error("Async.session.logout", strs(s, NULL),
		     "MESSAGE_METHOD_UNKNOWN", 1, "Async.session.logout");
	expect_error("Async.VM.fly", strs(s, NULL), "MESSAGE_METHOD_UNKNOWN", 1,
		     "Async.VM.fly");
	free(s);
}
END_TEST

START_TEST(test_arity_counts_without_session)
{
	char *s = login();
	expect_error("VM.start", strs(s, "OpaqueRef:x", NULL),
		     "MESSAGE_PARAMETER_COUNT_MISMATCH", 3, "VM.start", "3", "1");
	expect_error("VM.start", strs(NULL), "MESSAGE_PARAMETER_COUNT_MISMATCH",
		     3, "VM.start", "3", "0");
	free(s);
}
END_TEST

START_TEST(test_session_invalid)
{
	expect_error("pool.get_all", strs("OpaqueRef:nope", NULL),
		     "SESSION_INVALID", 1, "OpaqueRef:nope");
	char *s = login();
	free(expect_ok("session.logout", strs(s, NULL), NULL));
	expect_error("pool.get_all", strs(s, NULL), "SESSION_INVALID", 1, s);
	free(s);
}
END_TEST

START_TEST(test_bad_param_type)
{
	char *s = login();
	char *t = expect_ok("task.create", strs(s, "t", "d", NULL), NULL);
	xmlrpc_value *p = strs(s, t, NULL);
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	push(p, xmlrpc_struct_new(&env));
	xmlrpc_value *r = NULL;
	xbt_error *e = dispatch_call("task.set_progress", p, NULL, &r);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, "XMLRPC_UNMARSHAL_FAILURE");
	ck_assert_uint_eq(e->nparams, 2);
	xbt_error_free(e);
	xmlrpc_DECREF(p);
	xmlrpc_env_clean(&env);
	free(t);
	free(s);
}
END_TEST

START_TEST(test_handle_and_uuid_invalid)
{
	char *s = login();
	expect_error("task.get_record", strs(s, "OpaqueRef:nope", NULL),
		     "HANDLE_INVALID", 2, "task", "OpaqueRef:nope");
	expect_error("VM.get_by_uuid", strs(s, "nope", NULL), "UUID_INVALID", 2,
		     "VM", "nope");
	free(s);
}
END_TEST

START_TEST(test_task_lifecycle)
{
	char *s = login();
	char *t = expect_ok("task.create", strs(s, "label", "desc", NULL), NULL);
	char *v;

	v = expect_ok("task.get_status", strs(s, t, NULL), NULL);
	ck_assert_str_eq(v, "pending");
	free(v);
	v = expect_ok("task.get_backtrace", strs(s, t, NULL), NULL);
	ck_assert_str_eq(v, "()");
	free(v);
	v = expect_ok("task.get_name_label", strs(s, t, NULL), NULL);
	ck_assert_str_eq(v, "label");
	free(v);
	free(expect_ok("task.add_to_other_config", strs(s, t, "k", "v", NULL), NULL));
	expect_error("task.add_to_other_config", strs(s, t, "k", "w", NULL),
		     "MAP_DUPLICATE_KEY", 4, "task", "other_config", t, "k");
	free(expect_ok("task.cancel", strs(s, t, NULL), NULL));
	v = expect_ok("task.get_status", strs(s, t, NULL), NULL);
	ck_assert_str_eq(v, "cancelling");
	free(v);
	expect_error("task.cancel", strs(s, t, NULL), "OPERATION_NOT_ALLOWED", 1,
		     "Task is not pending");
	free(expect_ok("task.set_status", strs(s, t, "success", NULL), NULL));
	free(expect_ok("task.destroy", strs(s, t, NULL), NULL));
	expect_error("task.get_record", strs(s, t, NULL), "HANDLE_INVALID", 2,
		     "task", t);
	free(t);
	free(s);
}
END_TEST

/* A failed task stores code, params and the frames of the error. */
START_TEST(test_task_finish_failure)
{
	char *t = task_new("Async.x", "");
	xbt_error *e = XBT_RAISE("SOME_ERROR", "a", "b");
	xbt_buf want = XBT_BUF_INIT;
	const struct xbt_task_record *rec;

	task_finish(t, NULL, e);
	xbt_backtrace_to_sexp(&e->bt, &want);
	store_lock();
	rec = store_get(&xbt_class_task, t);
	ck_assert_int_eq(rec->status, XBT_TASK_STATUS_TYPE_FAILURE);
	ck_assert_uint_eq(rec->error_info.n, 3);
	ck_assert_str_eq(rec->error_info.v[0], "SOME_ERROR");
	ck_assert_str_eq(rec->error_info.v[2], "b");
	ck_assert_str_eq(rec->backtrace, want.buf);
	ck_assert_double_eq(rec->progress, 1.0);
	ck_assert(rec->finished >= rec->created);
	store_unlock();
	xbt_buf_release(&want);
	xbt_error_free(e);
	free(t);
}
END_TEST

static char *wait_task(const char *s, const char *t)
{
	for (int i = 0; i < 2000; i++) {
		char *st = expect_ok("task.get_status", strs(s, t, NULL), NULL);
		if (strcmp(st, "pending") != 0)
			return st;
		free(st);
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	ck_abort_msg("task %s still pending", t);
	return NULL;
}

START_TEST(test_async_success_result)
{
	char *s = login();
	char *victim = expect_ok("task.create", strs(s, "victim", "", NULL), NULL);
	char *t = expect_ok("Async.task.cancel", strs(s, victim, NULL), NULL);
	char *st = wait_task(s, t);
	char *res;

	ck_assert_str_eq(st, "success");
	res = expect_ok("task.get_result", strs(s, t, NULL), NULL);
	ck_assert_str_eq(res, "");
	free(res);
	free(st);
	free(t);
	free(victim);
	free(s);
}
END_TEST

START_TEST(test_task_gc_by_count)
{
	xbtd_conf.task_max = 2;
	for (int i = 0; i < 5; i++) {
		char *t = task_new("gc", "");
		task_finish(t, NULL, NULL);
		free(t);
	}
	char *pending = task_new("pending", "");
	task_gc(now_seconds());
	store_lock();
	ck_assert_uint_eq(store_count(&xbt_class_task), 3);
	ck_assert_ptr_nonnull(store_get(&xbt_class_task, pending));
	store_unlock();
	free(pending);
}
END_TEST

/* A world document and the problem the loader must report for it. */
static const struct {
	const char *xml;
	const char *where;
	const char *what;
} bad_worlds[] = {
	{ "<world>\n<vm name=\"a\">\n<vbd vdi=\"x\" mdoe=\"RW\"/>\n</vm></world>",
	  "t.xml:3", "unknown attribute \"mdoe\" on <vbd>" },
	{ "<world>\n<vm name=\"a\">\n<vbd vdi=\"x\"/>\n</vm></world>",
	  "t.xml:3", "no <vdi> of that name (define SRs first)" },
	{ "<world>\n<sr name=\"s\" type=\"../x\"/></world>",
	  "t.xml:2", "SR type must be 1 to 64 of [A-Za-z0-9_]" },
	{ "<world>\n<sr name=\"s\" type=\"A\"/>\n<vm name=\"s\"/></world>",
	  "t.xml:3", "the name \"s\" is used twice" },
	{ "<world>\n<disk/></world>", "t.xml:2",
	  "expected <host>, <sr>, <network> or <vm> in <world>" },
	{ "<planet/>", "t.xml:1", "the root element must be <world>" },
	{ "<world>\n<vm name=\"v\" template=\"maybe\"/></world>", "t.xml:2",
	  "expected true or false" },
	{ "<world>\n<sr type=\"A\"/></world>", "t.xml:2",
	  "<sr> needs a \"name\" attribute" },
	{ "<world>\n<vm name=\"v\" memory=\"-1\"/></world>", "t.xml:2",
	  "expected a non-negative integer" },
	{ "<world>\n<vm name=\"v\" uuid=\"NOT-A-UUID\"/></world>", "t.xml:2",
	  "uuid must be lowercase xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" },
	{ "<world>\n<vm name=\"v\" uuid=\"12345678-1234-1234-1234-1234567890ab\"/>"
	  "\n<vm name=\"w\" uuid=\"12345678-1234-1234-1234-1234567890ab\"/>"
	  "</world>", "t.xml:3", "that uuid is used twice" },
};

START_TEST(test_world_errors)
{
	xbt_error *e = world_load("t.xml", bad_worlds[_i].xml,
				  strlen(bad_worlds[_i].xml));

	xbt_buf want = XBT_BUF_INIT;

	/* INTERNAL_ERROR as xapi shapes it: one message. */
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, "INTERNAL_ERROR");
	ck_assert_uint_eq(e->nparams, 1);
	xbt_buf_addf(&want, "world file %s: %s", bad_worlds[_i].where,
		     bad_worlds[_i].what);
	ck_assert_str_eq(e->params[0], want.buf);
	/* Raised where the loader saw the problem, not in its helper. */
	ck_assert_str_eq(e->bt.frames[0].filename, "server/xenapi/world.c");
	ck_assert_str_ne(e->bt.frames[0].name, "world_fail_at");
	xbt_buf_release(&want);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_world_not_xml)
{
	static const char doc[] = "<world>\n<sr";
	xbt_error *e = world_load("t.xml", doc, sizeof(doc) - 1);

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->nparams, 1);
	ck_assert_str_eq(strstr(e->params[0], "world file t.xml:2: "),
			 e->params[0]);
	ck_assert_ptr_null(strchr(e->params[0], '\n'));
	xbt_error_free(e);
}
END_TEST

/* One host, master of its own pool; both with fixed identities. */
START_TEST(test_host_and_pool)
{
	const struct xbt_pool_record *p;
	const struct xbt_host_record *h;
	char uuid[40];

	store_lock();
	p = store_get(&xbt_class_pool, host_pool());
	h = store_get(&xbt_class_host, host_self());
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(p->master, host_self());
	ck_assert_str_eq(h->hostname, "check-host");
	world_uuid(uuid, "host", "check-host");
	ck_assert_str_eq(h->uuid, uuid);
	ck_assert_uint_eq(store_count(&xbt_class_host), 1);
	ck_assert_uint_eq(store_count(&xbt_class_pool), 1);
	store_unlock();
}
END_TEST

/* The demo world: what the README's demo and the tests rely on. */
START_TEST(test_demo_world_shape)
{
	const char *vm = NULL;
	const struct xbt_vm_record *rec;

	store_lock();
	ck_assert_uint_eq(store_count(&xbt_class_vm), 4);
	ck_assert_uint_eq(store_count(&xbt_class_sr), 3);
	ck_assert_uint_eq(store_count(&xbt_class_pbd), 3);
	store_unlock();
	char *s = login();
	xmlrpc_value *refs = NULL, *item = NULL;
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	free(expect_ok("VM.get_by_name_label", strs(s, "demo-fail", NULL), &refs));
	ck_assert_int_eq(xmlrpc_array_size(&env, refs), 1);
	xmlrpc_array_read_item(&env, refs, 0, &item);
	xmlrpc_read_string(&env, item, &vm);
	store_lock();
	rec = store_get(&xbt_class_vm, vm);
	ck_assert_ptr_nonnull(rec);
	ck_assert_int_eq(rec->power_state, XBT_VM_POWER_STATE_HALTED);
	ck_assert_uint_eq(rec->VBDs.n, 2);
	ck_assert_str_eq(rec->resident_on, "OpaqueRef:NULL");
	ck_assert(xbt_strv_has(&rec->allowed_operations, "start"));
	store_unlock();
	free((void *)vm);
	xmlrpc_DECREF(item);
	xmlrpc_DECREF(refs);
	xmlrpc_env_clean(&env);
	free(s);
}
END_TEST

/* Under the lock: the ref of the object of that kind and world name. */
static const char *world_ref(const xbt_class_desc *cls, const char *kind,
			     const char *name)
{
	char uuid[40];

	world_uuid(uuid, kind, name);
	return store_ref_by_uuid(cls, uuid);
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = { "pool.conf", "ptoken",
		"members.json", NULL };
	char path[256];

	for (size_t i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

/* pool.eject's refusals and what it removes (doc/pools.md, "Ejecting"):
 * a declared host with a PBD for a shared SR and a VM running on it. */
START_TEST(test_pool_eject)
{
	static const char world[] = "<world><host name=\"h2\"/>"
		"<sr name=\"nfs\" type=\"DEMO\" shared=\"true\"/>"
		"<vm name=\"v\"/></world>";
	char dir[] = "/tmp/check_server.XXXXXX";
	const struct xbt_host_record *h;
	struct xbt_vm_record *vm;
	char *h2, *metrics, *sr, *s;
	xbt_error *e;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_null(role_init(dir));
	e = world_load("t.xml", world, sizeof(world) - 1);
	ck_assert_ptr_null(e);
	s = login();
	store_lock();
	h2 = xbt_strdup(world_ref(&xbt_class_host, "host", "h2"));
	h = store_get(&xbt_class_host, h2);
	metrics = xbt_strdup(h->metrics);
	ck_assert_uint_eq(h->PBDs.n, 1);
	sr = xbt_strdup(world_ref(&xbt_class_sr, "sr", "nfs"));
	ck_assert_uint_eq(((const struct xbt_sr_record *)
			   store_get(&xbt_class_sr, sr))->PBDs.n, 2);
	vm = store_edit(&xbt_class_vm, world_ref(&xbt_class_vm, "vm", "v"));
	vm->power_state = XBT_VM_POWER_STATE_RUNNING;
	free(vm->resident_on);
	vm->resident_on = xbt_strdup(h2);
	store_unlock();

	expect_error("pool.eject", strs(s, h2, NULL), "OPERATION_NOT_ALLOWED",
		     1, "VM resident on host");
	expect_error("pool.eject", strs(s, host_self(), NULL),
		     "OPERATION_NOT_ALLOWED", 1, "Cannot eject the pool master");
	store_lock();
	vm = store_edit(&xbt_class_vm, world_ref(&xbt_class_vm, "vm", "v"));
	vm->power_state = XBT_VM_POWER_STATE_HALTED;
	store_unlock();
	free(expect_ok("pool.eject", strs(s, h2, NULL), NULL));

	store_lock();
	ck_assert_ptr_null(store_get(&xbt_class_host, h2));
	ck_assert_ptr_null(store_get(&xbt_class_host_metrics, metrics));
	ck_assert_uint_eq(((const struct xbt_sr_record *)
			   store_get(&xbt_class_sr, sr))->PBDs.n, 1);
	store_unlock();
	expect_error("pool.eject", strs(s, h2, NULL), "HANDLE_INVALID", 2,
		     "host", h2);
	/* A user's session may not make intra-pool calls. */
	expect_error("host.create", strs(s, "6a2b8c8e-1b1c-4d7e-8f00-000000000003",
					 "h3", "h3", "127.0.0.3", NULL),
		     "INTERNAL_ERROR", 1, "Internal API \"host.create\" call "
		     "attempted with non-pool (external) session");
	free(h2);
	free(metrics);
	free(sr);
	free(s);
	role_shutdown();
	remove_dir(dir);
}
END_TEST


/* A methodCall's text, the params taken. */
static void xml_call(xbt_buf *body, const char *method, xmlrpc_value *params)
{
	xbt_wire_xml_call(body, method, params);
	xmlrpc_DECREF(params);
}

/*
 * get_all_records through rpc_http is written straight from the records
 * (no value tree of them all): the bytes are those of the value, on both
 * protocols, with hostile text in the records.
 */
START_TEST(test_get_all_records_written_whole)
{
	static const char *const classes[] = { "task", "VM", "host", "SR",
					       "pool", "PBD" };
	/* As JSON string literals: the server's own parser takes them. */
	static const char *const labels[] = {
		"\"plain\"", "\"<&>\\\"'\"", "\"tab\\tnl\\ncr\\r\"",
		"\"\\u0001\\u007f\\u0000\"", "\"\\ud83d\\ude00 emoji\"",
		"\"\xc3\x28 not utf-8\"", "\"\\\\{}[]\"",
	};
	char *s = login();

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		xbt_buf body = XBT_BUF_INIT, got = XBT_BUF_INIT;
		xbt_buf_addf(&body, "{\"method\":\"task.create\",\"params\":"
			     "[\"%s\",%s,%s],\"id\":1}", s, labels[i],
			     labels[i]);
		ck_assert(!rpc_http(dispatch_call, NULL, HTTP_JSONRPC, body.buf,
				    body.len, &got));
		ck_assert_msg(strstr(got.buf, "OpaqueRef:"), "%s", got.buf);
		xbt_buf_release(&body);
		xbt_buf_release(&got);
	}
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		char method[64], id[8];
		xmlrpc_value *value = NULL;
		xbt_buf body = XBT_BUF_INIT, want = XBT_BUF_INIT;
		xbt_buf got = XBT_BUF_INIT;

		snprintf(method, sizeof(method), "%s.get_all_records",
			 classes[i]);
		free(expect_ok(method, strs(s, NULL), &value));
		/* XML-RPC */
		xml_call(&body, method, strs(s, NULL));
		ck_assert(!rpc_http(dispatch_call, NULL, HTTP_XMLRPC, body.buf,
				    body.len, &got));
		xbt_wire_xml_success(&want, value);
		ck_assert_str_eq(got.buf, want.buf);
		/* JSON-RPC v1 and v2, with their ids */
		for (int v2 = 0; v2 <= 1; v2++) {
			xbt_buf_reset(&body);
			xbt_buf_reset(&got);
			xbt_buf_reset(&want);
			snprintf(id, sizeof(id), "%d", 40 + v2);
			xbt_buf_addf(&body, "{%s\"method\":\"%s\","
				     "\"params\":[\"%s\"],\"id\":%s}",
				     v2 ? "\"jsonrpc\":\"2.0\"," : "", method,
				     s, id);
			ck_assert(!rpc_http(dispatch_call, NULL, HTTP_JSONRPC,
					    body.buf, body.len, &got));
			xbt_wire_jsonrpc_success(&want, v2, id, value);
			ck_assert_str_eq(got.buf, want.buf);
		}
		xmlrpc_DECREF(value);
		xbt_buf_release(&body);
		xbt_buf_release(&want);
		xbt_buf_release(&got);
	}
	free(s);
}
END_TEST

/* Every event's timestamp in text made of X's (they differ by call). */
static void blank_timestamps(char *text, const char *before, char end)
{
	char *p = text;

	while ((p = strstr(p, before))) {
		for (p += strlen(before); *p && *p != end; p++)
			*p = 'X';
	}
}

/*
 * event.from "" through rpc_http is written straight from the records:
 * the bytes of its value (the events' timestamps aside), on both
 * protocols, with hostile text in the records; get_record too.
 */
START_TEST(test_event_everything_written_whole)
{
	char *s = login();
	char *t;
	xbt_buf body = XBT_BUF_INIT, want = XBT_BUF_INIT, got = XBT_BUF_INIT;
	xmlrpc_value *value = NULL;

	xbt_buf_addf(&body, "{\"method\":\"task.create\",\"params\":"
		     "[\"%s\",\"<&>\\u0001\\ud83d\\ude00\",\"\\r\"],"
		     "\"id\":1}", s);
	ck_assert(!rpc_http(dispatch_call, NULL, HTTP_JSONRPC, body.buf,
			    body.len, &got));
	xbt_buf_reset(&body);
	xbt_buf_reset(&got);
	t = expect_ok("task.create", strs(s, "second", "", NULL), NULL);
	for (int json = 0; json <= 1; json++) {
		xmlrpc_value *params = xbt_value_array();

		push(params, xbt_value_string(s));
		push(params, strs("task", "VM", "host", NULL));
		push(params, xbt_value_string(""));
		push(params, xbt_value_float(0.0));
		free(expect_ok("event.from", params, &value));
		xbt_buf_reset(&body);
		xbt_buf_reset(&want);
		xbt_buf_reset(&got);
		if (json) {
			xbt_buf_addf(&body, "{\"method\":\"event.from\","
				     "\"params\":[\"%s\",[\"task\",\"VM\","
				     "\"host\"],\"\",0.0],\"id\":7}", s);
			xbt_wire_jsonrpc_success(&want, false, "7", value);
		} else {
			params = xbt_value_array();
			push(params, xbt_value_string(s));
			push(params, strs("task", "VM", "host", NULL));
			push(params, xbt_value_string(""));
			push(params, xbt_value_float(0.0));
			xml_call(&body, "event.from", params);
			xbt_wire_xml_success(&want, value);
		}
		ck_assert(!rpc_http(dispatch_call, NULL,
				    json ? HTTP_JSONRPC : HTTP_XMLRPC,
				    body.buf, body.len, &got));
		ck_assert_msg(strstr(got.buf, "second"), "%s", got.buf);
		if (json) {
			blank_timestamps(want.buf, "\"timestamp\":\"", '"');
			blank_timestamps(got.buf, "\"timestamp\":\"", '"');
		} else {
			blank_timestamps(want.buf,
					 "<name>timestamp</name><value>", '<');
			blank_timestamps(got.buf,
					 "<name>timestamp</name><value>", '<');
		}
		ck_assert_str_eq(got.buf, want.buf);
		xmlrpc_DECREF(value);
	}
	/* get_record, written the same way. */
	xbt_buf_reset(&body);
	xbt_buf_reset(&want);
	xbt_buf_reset(&got);
	free(expect_ok("task.get_record", strs(s, t, NULL), &value));
	xml_call(&body, "task.get_record", strs(s, t, NULL));
	ck_assert(rpc_http_quick(dispatch_call, HTTP_XMLRPC, body.buf,
				 body.len, &got));
	xbt_wire_xml_success(&want, value);
	ck_assert_str_eq(got.buf, want.buf);
	xmlrpc_DECREF(value);
	xbt_buf_release(&body);
	xbt_buf_release(&want);
	xbt_buf_release(&got);
	free(t);
	free(s);
}
END_TEST

/* A handler that writes part of a big result, then fails. */
static xbt_error *raw_then_fail(const char *method, xmlrpc_value *params,
				struct rpc_park *park, xmlrpc_value **result)
{
	struct call call = { .park = park };
	xbt_buf *raw = rpc_raw_result(&call);

	(void)method;
	(void)params;
	*result = NULL;
	ck_assert_ptr_nonnull(raw);
	xbt_buf_addstr(raw, "<value>half a result</value>");
	return XBT_RAISE_INTERNAL_ERROR("late");
}

/* What was written of a result before a failure is not in the answer. */
START_TEST(test_raw_result_dropped_on_failure)
{
	for (int json = 0; json <= 1; json++) {
		xbt_buf body = XBT_BUF_INIT, got = XBT_BUF_INIT;

		if (json)
			xbt_buf_addstr(&body, "{\"method\":\"x.y\",\"params\":[],"
				       "\"id\":3}");
		else
			xml_call(&body, "x.y", strs(NULL));
		ck_assert(!rpc_http(raw_then_fail, NULL,
				    json ? HTTP_JSONRPC : HTTP_XMLRPC,
				    body.buf, body.len, &got));
		ck_assert_str_eq(got.buf, json ?
			"{\"result\":null,\"error\":[\"INTERNAL_ERROR\","
			"\"late\"],\"id\":3}" :
			"<?xml version=\"1.0\"?><methodResponse><params><param>"
			"<value><struct><member><name>Status</name><value>"
			"Failure</value></member><member><name>"
			"ErrorDescription</name><value><array><data><value>"
			"INTERNAL_ERROR</value><value>late</value></data>"
			"</array></value></member></struct></value></param>"
			"</params></methodResponse>");
		xbt_buf_release(&body);
		xbt_buf_release(&got);
	}
}
END_TEST

/*
 * The quick try on an event thread answers the store's own messages when
 * the store is free, and leaves everything else (and a busy store) to a
 * call thread, writing nothing.
 */
START_TEST(test_quick_calls)
{
	static const char *const later[] = {
		"session.logout", "task.get_all_records", "Async.VM.start",
		"event.from", "VM.start",
	};
	char *s = login();
	char *t = expect_ok("task.create", strs(s, "quick", "", NULL), NULL);
	xbt_buf body = XBT_BUF_INIT, out = XBT_BUF_INIT;

	xml_call(&body, "task.get_name_label", strs(s, t, NULL));
	store_lock();
	ck_assert(!rpc_http_quick(dispatch_call, HTTP_XMLRPC, body.buf,
				  body.len, &out));
	store_unlock();
	ck_assert_uint_eq(out.len, 0);
	ck_assert(rpc_http_quick(dispatch_call, HTTP_XMLRPC, body.buf, body.len,
				 &out));
	ck_assert_msg(strstr(out.buf, "<value>quick</value>"), "%s", out.buf);
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		xbt_buf_reset(&body);
		xbt_buf_reset(&out);
		xml_call(&body, later[i], strs(s, t, NULL));
		ck_assert_msg(!rpc_http_quick(dispatch_call, HTTP_XMLRPC,
					      body.buf, body.len, &out),
			      "%s answered on an event thread", later[i]);
		ck_assert_uint_eq(out.len, 0);
	}
	xbt_buf_release(&body);
	xbt_buf_release(&out);
	free(t);
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("dispatch");
	SRunner *sr;
	int failed;

	xbt_set_process("xbtd", "test");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_every_custom_message_has_a_handler);
	tcase_add_test(tc, test_host_and_pool);
	tcase_add_test(tc, test_login_arities);
	tcase_add_test(tc, test_login_wrong_password);
	tcase_add_test(tc, test_unknown_and_not_async);
	tcase_add_test(tc, test_arity_counts_without_session);
	tcase_add_test(tc, test_session_invalid);
	tcase_add_test(tc, test_bad_param_type);
	tcase_add_test(tc, test_handle_and_uuid_invalid);
	tcase_add_test(tc, test_task_lifecycle);
	tcase_add_test(tc, test_task_finish_failure);
	tcase_add_test(tc, test_async_success_result);
	tcase_add_test(tc, test_task_gc_by_count);
	tcase_add_loop_test(tc, test_world_errors, 0,
			    sizeof(bad_worlds) / sizeof(bad_worlds[0]));
	tcase_add_test(tc, test_world_not_xml);
	tcase_add_test(tc, test_demo_world_shape);
	tcase_add_test(tc, test_pool_eject);
	tcase_add_test(tc, test_get_all_records_written_whole);
	tcase_add_test(tc, test_event_everything_written_whole);
	tcase_add_test(tc, test_raw_result_dropped_on_failure);
	tcase_add_test(tc, test_quick_calls);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
