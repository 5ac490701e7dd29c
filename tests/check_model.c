/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data model: generated descriptors (from idl/xenapi.xml, and
 * idl/xenops.xml's with the prefix xops), the generic marshalling of
 * api/model.c, the client stubs (against a mock xbt_client_call) and the
 * server dispatch table.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "xbt/buf.h"
#include "xbt/client.h"
#include "xbt/model.h"
#include "xbt/xenapi.h"
#include "xbt/xenops.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Parses one <value> (test data is always valid). */
static xmlrpc_value *V(const char *xml)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_parse_value_xml(&env, xml, strlen(xml), &v);
	if (env.fault_occurred) {
		fprintf(stderr, "bad test value %s: %s\n", xml,
			env.fault_string);
		abort();
	}
	xmlrpc_env_clean(&env);
	return v;
}

/* xmlrpc-c's own serialisation, newlines removed (caller frees). */
static char *ser(xmlrpc_value *v)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;
	xbt_buf b = XBT_BUF_INIT;
	const char *p;
	size_t n;

	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	xmlrpc_serialize_value(&env, mb, v);
	ck_assert(!env.fault_occurred);
	p = XMLRPC_MEMBLOCK_CONTENTS(char, mb);
	n = XMLRPC_MEMBLOCK_SIZE(char, mb);
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\n' && p[i] != '\r')
			xbt_buf_addch(&b, p[i]);
	XMLRPC_MEMBLOCK_FREE(char, mb);
	xmlrpc_env_clean(&env);
	return xbt_buf_detach(&b, NULL);
}

static void assert_ser(xmlrpc_value *v, const char *want)
{
	char *got = ser(v);

	ck_assert_str_eq(got, want);
	free(got);
}

static const xbt_type *ftype(const xbt_class_desc *c, int field)
{
	ck_assert_int_lt(field, (int)c->nfields);
	return c->fields[field].type;
}

static const xbt_message_desc *msg(const char *wire)
{
	const xbt_message_desc *m = xbt_message_find(wire);

	ck_assert_msg(m != NULL, "no message %s", wire);
	return m;
}

static void assert_error(xbt_error *e, const char *code, size_t n, ...)
{
	va_list ap;

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, code);
	ck_assert_uint_eq(e->nparams, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(e->params[i], va_arg(ap, const char *));
	va_end(ap);
	xbt_error_free(e);
}

#define VM_FIELD(name) (&xbt_class_vm.fields[XBT_FIELD_VM_##name])
#define TASK_FIELD(name) (&xbt_class_task.fields[XBT_FIELD_TASK_##name])

/* ---- descriptors --------------------------------------------------------------- */

START_TEST(test_classes)
{
	/* the served classes in IDL order; then the 28 xbt does not serve
	 * (refs to them stay null), then event */
	static const char *const names[] = {
		"session", "task", "pool", "host", "host_metrics", "SR", "PBD",
		"VDI", "VBD", "VM", "VM_metrics", "VM_guest_metrics", "console",
		"network", "VIF", "PIF", "host_cpu"
	};
	size_t nserved = sizeof(names) / sizeof(names[0]);

	ck_assert_uint_eq(xbt_nclasses, nserved + 28 + 1);
	ck_assert_str_eq(xbt_classes[xbt_nclasses - 1]->name, "event");
	ck_assert_uint_eq(xbt_class_find("VTPM")->nfields, 0);
	for (size_t i = 0; i < nserved; i++) {
		ck_assert_str_eq(xbt_classes[i]->name, names[i]);
		ck_assert_ptr_eq(xbt_class_find(names[i]), xbt_classes[i]);
	}
	ck_assert_ptr_eq(xbt_class_find("vm"), &xbt_class_vm);
	ck_assert_ptr_eq(xbt_class_find("Vm"), &xbt_class_vm);
	ck_assert_ptr_eq(xbt_class_find("sr"), &xbt_class_sr);
	ck_assert_ptr_null(xbt_class_find("VMs"));
	ck_assert_ptr_null(xbt_class_find(""));
	ck_assert_ptr_null(xbt_class_find(NULL));
	ck_assert_str_eq(xbt_class_vm.lower, "vm");
	ck_assert_str_eq(xbt_class_pbd.lower, "pbd");
	ck_assert_uint_eq(xbt_class_vm.record_size, sizeof(xbt_vm_record));
	ck_assert_uint_eq(xbt_class_event.nfields, 0);
	ck_assert_uint_eq(xbt_class_event.record_size, 0);
}
END_TEST

START_TEST(test_task_fields)
{
	/* exactly the task fields of doc/design.md, in order */
	static const char *const want[] = {
		"uuid", "name_label", "name_description", "allowed_operations",
		"current_operations", "created", "finished", "status",
		"resident_on", "progress", "type", "result", "error_info",
		"other_config", "subtask_of", "subtasks", "backtrace"
	};
	static const char *const types[] = {
		"string", "string", "string",
		"set (enum task_allowed_operations)",
		"map (string, enum task_allowed_operations)", "datetime",
		"datetime", "enum task_status_type", "ref host", "float",
		"string", "string", "set (string)", "map (string, string)",
		"ref task", "set (ref task)", "string"
	};
	const xbt_class_desc *c = &xbt_class_task;

	ck_assert_uint_eq(c->nfields, 17);
	for (size_t i = 0; i < 17; i++) {
		ck_assert_str_eq(c->fields[i].name, want[i]);
		ck_assert_str_eq(c->fields[i].type->text, types[i]);
		ck_assert_int_eq(c->fields[i].rw,
				 strcmp(want[i], "other_config") == 0);
	}
	ck_assert_ptr_eq(xbt_field_find(c, "backtrace"),
			 TASK_FIELD(BACKTRACE));
	ck_assert_str_eq(TASK_FIELD(BACKTRACE)->default_value, "()");
	ck_assert_ptr_null(xbt_field_find(c, "Backtrace"));
	ck_assert_ptr_null(xbt_field_find(c, NULL));
	ck_assert_uint_eq(TASK_FIELD(STATUS)->offset,
			  offsetof(xbt_task_record, status));
	/* type structure */
	const xbt_type *t = TASK_FIELD(CURRENT_OPERATIONS)->type;

	ck_assert_int_eq(t->kind, XBT_T_MAP);
	ck_assert_int_eq(t->key->kind, XBT_T_STRING);
	ck_assert_int_eq(t->elem->kind, XBT_T_ENUM);
	ck_assert_ptr_eq(t->elem->enum_desc, &xbt_enum_task_allowed_operations);
	t = TASK_FIELD(SUBTASKS)->type;
	ck_assert_int_eq(t->kind, XBT_T_SET);
	ck_assert_int_eq(t->elem->kind, XBT_T_REF);
	ck_assert_str_eq(t->elem->cls, "task");
}
END_TEST

START_TEST(test_enums)
{
	const xbt_enum_desc *e = &xbt_enum_vm_power_state;

	ck_assert_str_eq(e->name, "vm_power_state");
	ck_assert_uint_eq(e->n, 4);
	ck_assert_str_eq(e->values[XBT_VM_POWER_STATE_HALTED], "Halted");
	ck_assert_str_eq(e->values[XBT_VM_POWER_STATE_PAUSED], "Paused");
	ck_assert_str_eq(e->values[XBT_VM_POWER_STATE_RUNNING], "Running");
	ck_assert_str_eq(e->values[XBT_VM_POWER_STATE_SUSPENDED], "Suspended");
	ck_assert_int_eq(xbt_enum_index(e, "Running"), XBT_VM_POWER_STATE_RUNNING);
	ck_assert_int_eq(xbt_enum_index(e, "running"), -1);
	ck_assert_int_eq(xbt_enum_index(e, ""), -1);
	ck_assert_int_eq(xbt_enum_index(e, NULL), -1);

	e = &xbt_enum_task_status_type;
	ck_assert_uint_eq(e->n, 5);
	ck_assert_str_eq(e->values[XBT_TASK_STATUS_TYPE_PENDING], "pending");
	ck_assert_str_eq(e->values[XBT_TASK_STATUS_TYPE_SUCCESS], "success");
	ck_assert_str_eq(e->values[XBT_TASK_STATUS_TYPE_FAILURE], "failure");
	ck_assert_str_eq(e->values[XBT_TASK_STATUS_TYPE_CANCELLING],
			 "cancelling");
	ck_assert_str_eq(e->values[XBT_TASK_STATUS_TYPE_CANCELLED],
			 "cancelled");
	ck_assert_uint_eq(xbt_enum_task_allowed_operations.n, 2);
	ck_assert_str_eq(xbt_enum_vbd_mode.values[XBT_VBD_MODE_RO], "RO");
	ck_assert_str_eq(xbt_enum_vbd_type.values[XBT_VBD_TYPE_FLOPPY],
			 "Floppy");
	ck_assert_str_eq(xbt_enum_vm_operations.values[XBT_VM_OPERATIONS_START],
			 "start");
	ck_assert_int_eq(xbt_enum_index(&xbt_enum_vdi_type, "user"),
			 XBT_VDI_TYPE_USER);
}
END_TEST

START_TEST(test_messages_lookup)
{
	const xbt_message_desc *m = msg("session.login_with_password");

	ck_assert_ptr_eq(m, &xbt_messages[XBT_MSG_SESSION_LOGIN_WITH_PASSWORD]);
	ck_assert_int_eq(m->kind, XBT_MSG_CUSTOM);
	ck_assert_uint_eq(m->nparams, 4);
	ck_assert_uint_eq(m->nrequired, 2);
	ck_assert(!m->session);
	ck_assert(!m->async);
	ck_assert_str_eq(m->params[0].name, "uname");
	ck_assert_str_eq(m->params[1].name, "pwd");
	ck_assert_str_eq(m->params[2].name, "version");
	ck_assert_str_eq(m->params[3].name, "originator");
	ck_assert_ptr_null(m->params[1].default_value);
	ck_assert_str_eq(m->params[2].default_value, "");
	ck_assert_str_eq(m->params[3].default_value, "");
	ck_assert_str_eq(m->result->text, "ref session");
	ck_assert_uint_eq(m->nerrors, 2);
	ck_assert_str_eq(m->errors[0], "SESSION_AUTHENTICATION_FAILED");

	m = msg("VM.start");
	ck_assert_ptr_eq(m, &xbt_messages[XBT_MSG_VM_START]);
	ck_assert_ptr_eq(m->cls, &xbt_class_vm);
	ck_assert_str_eq(m->name, "start");
	ck_assert_uint_eq(m->nparams, 3);
	ck_assert_uint_eq(m->nrequired, 3);
	ck_assert(m->session);
	ck_assert(m->async);
	ck_assert_str_eq(m->params[0].type->text, "ref VM");
	ck_assert_str_eq(m->params[1].name, "start_paused");
	ck_assert_int_eq(m->params[2].type->kind, XBT_T_BOOL);
	ck_assert_int_eq(m->result->kind, XBT_T_VOID);
	ck_assert_int_eq(m->field, -1);

	ck_assert(msg("VM.clean_shutdown")->async);
	ck_assert(msg("VM.hard_shutdown")->async);
	ck_assert(msg("PBD.plug")->async);
	ck_assert(msg("PBD.unplug")->async);
	ck_assert(msg("task.cancel")->async);
	ck_assert(!msg("task.create")->async);
	ck_assert_str_eq(msg("task.create")->result->text, "ref task");
	ck_assert(msg("session.logout")->session);
	ck_assert_uint_eq(msg("session.logout")->nparams, 0);

	m = msg("event.from");
	ck_assert_uint_eq(m->nparams, 3);
	ck_assert_str_eq(m->params[0].type->text, "set (string)");
	ck_assert_int_eq(m->params[2].type->kind, XBT_T_FLOAT);
	ck_assert_int_eq(m->result->kind, XBT_T_ANY);
	ck_assert_int_eq(msg("event.next")->result->kind, XBT_T_ANY);
	ck_assert_uint_eq(msg("event.next")->nparams, 0);
	ck_assert_str_eq(msg("event.inject")->params[0].name, "class");
	ck_assert_str_eq(msg("event.inject")->result->text, "string");
	ck_assert_uint_eq(msg("event.register")->nparams, 1);
	ck_assert_uint_eq(msg("event.unregister")->nparams, 1);

	/* exact, case-sensitive wire names; Async. is the caller's */
	ck_assert_ptr_null(xbt_message_find("vm.start"));
	ck_assert_ptr_null(xbt_message_find("Async.VM.start"));
	ck_assert_ptr_null(xbt_message_find("VM.start "));
	ck_assert_ptr_null(xbt_message_find("VM"));
	ck_assert_ptr_null(xbt_message_find(""));
	ck_assert_ptr_null(xbt_message_find(NULL));
	ck_assert_ptr_null(xbt_message_find("system.listMethods"));
}
END_TEST

/* Who may call the pool's messages (doc/pools.md), from the IDL's pool=
 * and emergency= attributes. */
START_TEST(test_messages_pool_roles)
{
	static const struct {
		const char *wire;
		bool pool_only, emergency;
	} want[] = {
		{ "host.create", true, false },
		{ "host.tickle_heartbeat", true, false },
		{ "pool.hello", true, false },
		{ "host.run_vm_storage", true, false },
		{ "host.run_sr_storage", true, false },
		{ "host.running_vms", true, false },
		{ "VM.start_on", false, false },
		{ "pool.initial_auth", false, false }, /* the joiner's user session */
		{ "pool.join", false, false },
		{ "pool.eject", false, false },
		{ "session.slave_login", false, true },
		{ "session.slave_local_login_with_password", false, true },
		{ "session.logout", false, true },
		{ "pool.emergency_transition_to_master", false, true },
		{ "session.login_with_password", false, false },
		{ "VM.start", false, false },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const xbt_message_desc *m = xbt_message_find(want[i].wire);
		ck_assert_msg(m != NULL, "%s", want[i].wire);
		ck_assert_msg(m->pool_only == want[i].pool_only &&
			      m->emergency == want[i].emergency, "%s",
			      want[i].wire);
	}
	ck_assert(!xbt_message_find("session.slave_login")->session);
	ck_assert(xbt_message_find("pool.join")->async);
	ck_assert(xbt_message_find("pool.eject")->async);
}
END_TEST

START_TEST(test_messages_implicit)
{
	const xbt_message_desc *m = msg("task.get_backtrace");

	ck_assert_int_eq(m->kind, XBT_MSG_GET_FIELD);
	ck_assert_int_eq(m->field, XBT_FIELD_TASK_BACKTRACE);
	ck_assert_uint_eq(m->nparams, 1);
	ck_assert_str_eq(m->params[0].name, "self");
	ck_assert_str_eq(m->params[0].type->text, "ref task");
	ck_assert_str_eq(m->result->text, "string");

	m = msg("VM.get_power_state");
	ck_assert_int_eq(m->kind, XBT_MSG_GET_FIELD);
	ck_assert_str_eq(m->result->text, "enum vm_power_state");
	ck_assert_ptr_eq(m, &xbt_messages[XBT_MSG_VM_GET_POWER_STATE]);

	m = msg("pool.get_all_records");
	ck_assert_int_eq(m->kind, XBT_MSG_GET_ALL_RECORDS);
	ck_assert_uint_eq(m->nparams, 0);
	ck_assert_str_eq(m->result->text, "map (ref pool, record pool)");
	ck_assert_int_eq(m->result->elem->kind, XBT_T_RECORD);
	ck_assert_str_eq(m->result->elem->cls, "pool");

	m = msg("task.add_to_other_config");
	ck_assert_int_eq(m->kind, XBT_MSG_ADD_TO_MAP);
	ck_assert_int_eq(m->field, XBT_FIELD_TASK_OTHER_CONFIG);
	ck_assert_uint_eq(m->nparams, 3);
	ck_assert_uint_eq(m->nrequired, 3);
	ck_assert_str_eq(m->params[1].name, "key");
	ck_assert_str_eq(m->params[2].name, "value");
	ck_assert_uint_eq(m->nerrors, 2);
	ck_assert_str_eq(m->errors[1], "MAP_DUPLICATE_KEY");

	m = msg("task.remove_from_other_config");
	ck_assert_int_eq(m->kind, XBT_MSG_REMOVE_FROM_MAP);
	ck_assert_uint_eq(m->nparams, 2);

	/* the key of an enum-keyed map is checked as the enum */
	m = msg("VM.add_to_blocked_operations");
	ck_assert_str_eq(m->params[1].type->text, "enum vm_operations");

	m = msg("VM.set_name_label");
	ck_assert_int_eq(m->kind, XBT_MSG_SET_FIELD);
	ck_assert_int_eq(m->field, XBT_FIELD_VM_NAME_LABEL);
	ck_assert_uint_eq(m->nparams, 2);
	ck_assert_int_eq(m->result->kind, XBT_T_VOID);

	m = msg("VM.get_record");
	ck_assert_int_eq(m->kind, XBT_MSG_GET_RECORD);
	ck_assert_int_eq(m->result->kind, XBT_T_RECORD);
	ck_assert_str_eq(m->result->cls, "VM");
	ck_assert_int_eq(msg("VM.get_by_uuid")->kind, XBT_MSG_GET_BY_UUID);
	ck_assert_str_eq(msg("VM.get_by_uuid")->result->text, "ref VM");
	ck_assert_int_eq(msg("VM.get_by_name_label")->kind,
			 XBT_MSG_GET_BY_NAME_LABEL);
	ck_assert_str_eq(msg("VM.get_by_name_label")->result->text,
			 "set (ref VM)");
	ck_assert_int_eq(msg("pool.get_all")->kind, XBT_MSG_GET_ALL);
	ck_assert_int_eq(msg("pool.get_master")->kind, XBT_MSG_GET_FIELD);
	ck_assert_int_eq(msg("host.get_API_version_major")->result->kind,
			 XBT_T_INT);
	ck_assert_int_eq(msg("host.get_API_version_minor")->kind,
			 XBT_MSG_GET_FIELD);

	/* RO fields have no setter; RW sets and RO maps no map ops */
	ck_assert_ptr_null(xbt_message_find("VM.set_power_state"));
	ck_assert_ptr_null(xbt_message_find("task.set_backtrace"));
	ck_assert_ptr_null(xbt_message_find("VM.add_to_tags"));
	ck_assert_ptr_null(xbt_message_find("PBD.add_to_device_config"));
	ck_assert_ptr_nonnull(xbt_message_find("VM.set_tags"));
	/* custom setters of RO task fields */
	ck_assert_int_eq(msg("task.set_status")->kind, XBT_MSG_CUSTOM);
	ck_assert_int_eq(msg("task.set_progress")->kind, XBT_MSG_CUSTOM);

	/* session: no get_all(_records), no name_label; event: nothing */
	ck_assert_ptr_null(xbt_message_find("session.get_all"));
	ck_assert_ptr_null(xbt_message_find("session.get_all_records"));
	ck_assert_ptr_null(xbt_message_find("session.get_by_name_label"));
	ck_assert_ptr_nonnull(xbt_message_find("session.get_by_uuid"));
	ck_assert_ptr_nonnull(xbt_message_find("session.get_record"));
	ck_assert_ptr_nonnull(xbt_message_find("session.get_this_host"));
	ck_assert_ptr_null(xbt_message_find("event.get_all"));
	ck_assert_ptr_null(xbt_message_find("event.get_record"));
	ck_assert_ptr_null(xbt_message_find("event.get_by_uuid"));
	/* task has name_label, PBD does not */
	ck_assert_ptr_nonnull(xbt_message_find("task.get_by_name_label"));
	ck_assert_ptr_null(xbt_message_find("PBD.get_by_name_label"));
}
END_TEST

START_TEST(test_messages_table)
{
	size_t ncustom = 0;

	ck_assert_uint_eq(xbt_nmessages, XBT_MSG__COUNT);
	for (size_t i = 0; i < xbt_nmessages; i++) {
		const xbt_message_desc *m = &xbt_messages[i];
		xbt_buf w = XBT_BUF_INIT;

		ck_assert_ptr_eq(xbt_message_find(m->wire_name), m);
		xbt_buf_addf(&w, "%s.%s", m->cls->name, m->name);
		ck_assert_str_eq(w.buf, m->wire_name);
		xbt_buf_release(&w);
		ck_assert_uint_le(m->nrequired, m->nparams);
		for (size_t j = 0; j < m->nparams; j++)
			ck_assert_int_eq(m->params[j].default_value == NULL,
					 j < m->nrequired);
		if (m->kind >= XBT_MSG_GET_FIELD &&
		    m->kind <= XBT_MSG_REMOVE_FROM_MAP) {
			ck_assert_int_ge(m->field, 0);
			ck_assert_int_lt(m->field, (int)m->cls->nfields);
		} else {
			ck_assert_int_eq(m->field, -1);
		}
		/* Only the logins take no session. */
		ck_assert_int_eq(m->session,
				 i != XBT_MSG_SESSION_LOGIN_WITH_PASSWORD &&
				 i != XBT_MSG_SESSION_SLAVE_LOGIN &&
				 i != XBT_MSG_SESSION_SLAVE_LOCAL_LOGIN_WITH_PASSWORD);
		for (size_t j = 0; j < m->nerrors; j++) {
			bool found = false;

			for (size_t k = 0; k < xbt_nerrors; k++)
				found |= strcmp(xbt_errors[k].code,
						m->errors[j]) == 0;
			ck_assert_msg(found, "%s raises unknown %s",
				      m->wire_name, m->errors[j]);
		}
		if (m->kind == XBT_MSG_CUSTOM)
			ncustom++;
		if (i > 0)
			ck_assert_int_lt(strcmp(
				xbt_messages[xbt_messages_by_name[i - 1]].wire_name,
				xbt_messages[xbt_messages_by_name[i]].wire_name), 0);
	}
	ck_assert_uint_eq(ncustom, 38);
	/* one getter per field of every class but event */
	for (size_t i = 0; i < xbt_nclasses; i++) {
		const xbt_class_desc *c = xbt_classes[i];

		for (size_t j = 0; j < c->nfields; j++) {
			xbt_buf w = XBT_BUF_INIT;
			const xbt_message_desc *m;

			xbt_buf_addf(&w, "%s.get_%s", c->name, c->fields[j].name);
			m = xbt_message_find(w.buf);
			ck_assert_msg(m != NULL, "no %s", w.buf);
			ck_assert_int_eq(m->field, (int)j);
			xbt_buf_reset(&w);
			xbt_buf_addf(&w, "%s.set_%s", c->name, c->fields[j].name);
			m = xbt_message_find(w.buf);
			/* task.set_status etc. are custom, the field RO */
			ck_assert_int_eq(m && m->kind == XBT_MSG_SET_FIELD,
					 c->fields[j].rw);
			xbt_buf_release(&w);
		}
	}
}
END_TEST

START_TEST(test_errors)
{
	static const struct {
		const char *code;
		size_t n;
		const char *p0, *plast;
	} want[] = {
		{ "XMLRPC_UNMARSHAL_FAILURE", 2, "expected", "received" },
		{ "SESSION_AUTHENTICATION_FAILED", 2, "user", "message" },
		{ "SESSION_INVALID", 1, "session", "session" },
		{ "MESSAGE_METHOD_UNKNOWN", 1, "method", "method" },
		{ "MESSAGE_PARAMETER_COUNT_MISMATCH", 3, "method", "received" },
		{ "HANDLE_INVALID", 2, "class", "handle" },
		{ "UUID_INVALID", 2, "class", "uuid" },
		{ "VM_BAD_POWER_STATE", 3, "vm", "actual" },
		{ "SR_BACKEND_FAILURE", 3, "status", "stderr" },
		{ "SR_BACKEND_FAILURE_WITH_BACKTRACE", 3, "backtrace", "reason" },
		{ "INTERNAL_ERROR", 1, "message", "message" },
		{ "SESSION_NOT_REGISTERED", 1, "session", "session" },
		{ "EVENTS_LOST", 0, NULL, NULL },
		{ "EVENT_FROM_TOKEN_PARSE_FAILURE", 1, "token", "token" },
		{ "TASK_CANCELLED", 1, "task", "task" },
		{ "OPERATION_NOT_ALLOWED", 1, "reason", "reason" },
		{ "VM_IS_TEMPLATE", 2, "vm", "operation" },
		{ "OTHER_OPERATION_IN_PROGRESS", 4, "class", "operation_ref" },
		{ "VM_REQUIRES_SR", 2, "vm", "sr" },
		{ "UNIMPLEMENTED_IN_SM_BACKEND", 1, "message", "message" },
		{ "SR_UNKNOWN_DRIVER", 1, "driver", "driver" },
		{ "SR_NOT_EMPTY", 0, NULL, NULL },
		{ "VDI_IN_USE", 1, "vdi", "vdi" },
		{ "SR_DEVICE_IN_USE", 0, NULL, NULL },
		{ "VDI_MISSING", 2, "sr", "vdi" },
		{ "PERMISSION_DENIED", 1, "message", "message" },
		{ "REQUEST_TOO_LARGE", 1, "limit", "limit" },
		{ "MAP_DUPLICATE_KEY", 4, "type", "key" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const xbt_error_desc *e = NULL;

		for (size_t k = 0; k < xbt_nerrors; k++)
			if (strcmp(xbt_errors[k].code, want[i].code) == 0)
				e = &xbt_errors[k];
		ck_assert_msg(e != NULL, "no error %s", want[i].code);
		ck_assert_uint_eq(e->nparams, want[i].n);
		if (want[i].n) {
			ck_assert_str_eq(e->params[0], want[i].p0);
			ck_assert_str_eq(e->params[e->nparams - 1],
					 want[i].plast);
		}
		ck_assert(e->description && *e->description);
	}
	/* the repeated form stands alone; VDI_IN_USE has it */
	for (size_t k = 0; k < xbt_nerrors; k++) {
		const xbt_error_desc *e = &xbt_errors[k];

		ck_assert_int_eq(e->repeated,
				 strcmp(e->code, XBT_ERR_VDI_IN_USE) == 0);
		if (e->repeated)
			ck_assert_uint_eq(e->nparams, 1);
	}
	ck_assert_str_eq(XBT_ERR_HANDLE_INVALID, "HANDLE_INVALID");
	ck_assert_str_eq(XBT_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH,
			 "MESSAGE_PARAMETER_COUNT_MISMATCH");
}
END_TEST

/* The helper's frame is the caller's: here, at line. */
static void assert_raised_here(const xbt_error *e, size_t i, int line,
			       const char *func)
{
	ck_assert_uint_gt(e->bt.n, i);
	ck_assert_str_eq(e->bt.frames[i].filename, "tests/check_model.c");
	ck_assert_int_eq(e->bt.frames[i].line, line);
	ck_assert_str_eq(e->bt.frames[i].name, func);
	ck_assert(e->bt.frames[i].is_raise);
}

START_TEST(test_raise_helpers)
{
	static const char *const two[] = { "OpaqueRef:a", "OpaqueRef:b" };
	xbt_error *e;
	int line, first;

	line = __LINE__ + 1;
	e = XBT_RAISE_VM_BAD_POWER_STATE("OpaqueRef:vm", "halted", "running");
	ck_assert_uint_eq(e->bt.n, 1);
	assert_raised_here(e, 0, line, __func__);
	assert_error(e, "VM_BAD_POWER_STATE", 3, "OpaqueRef:vm", "halted",
		     "running");

	/* a NULL param keeps its place, as "" */
	assert_error(XBT_RAISE_VDI_MISSING(NULL, "OpaqueRef:vdi"),
		     "VDI_MISSING", 2, "", "OpaqueRef:vdi");
	assert_error(XBT_RAISE_EVENTS_LOST(), "EVENTS_LOST", 0);
	assert_error(XBT_RAISE_INTERNAL_ERROR("no handler for VM.start"),
		     "INTERNAL_ERROR", 1, "no handler for VM.start");

	/* the repeated form: zero values, then two */
	assert_error(XBT_RAISE_VDI_IN_USE(0, NULL), "VDI_IN_USE", 0);
	line = __LINE__ + 1;
	e = XBT_RAISE_VDI_IN_USE(2, two);
	assert_raised_here(e, 0, line, __func__);
	assert_error(e, "VDI_IN_USE", 2, "OpaqueRef:a", "OpaqueRef:b");

	/* re-raise: the new code and params, the old frame kept innermost */
	first = __LINE__ + 1;
	e = XBT_RAISE_INTERNAL_ERROR("exit status 1");
	line = __LINE__ + 1;
	e = XBT_RERAISE_SR_BACKEND_FAILURE(e, "exit status 1", "", "boom");
	ck_assert_uint_eq(e->bt.n, 2);
	assert_raised_here(e, 0, first, __func__);
	assert_raised_here(e, 1, line, __func__);
	assert_error(e, "SR_BACKEND_FAILURE", 3, "exit status 1", "", "boom");

	first = __LINE__ + 1;
	e = XBT_RAISE_SR_DEVICE_IN_USE();
	line = __LINE__ + 1;
	e = XBT_RERAISE_VDI_IN_USE(e, 2, two);
	ck_assert_uint_eq(e->bt.n, 2);
	assert_raised_here(e, 0, first, __func__);
	assert_raised_here(e, 1, line, __func__);
	assert_error(e, "VDI_IN_USE", 2, "OpaqueRef:a", "OpaqueRef:b");
	assert_error(XBT_RERAISE_VDI_IN_USE(XBT_RAISE_EVENTS_LOST(), 0, NULL),
		     "VDI_IN_USE", 0);
}
END_TEST

/*
 * XBT_<ENUM>_<VALUE>_NAME is the wire string of value XBT_<ENUM>_<VALUE>,
 * for every value of the enums the server keeps in operation sets and
 * statuses (the table must list each enum whole).
 */
#define NAME(e, E, V) { &xbt_enum_##e, XBT_##E##_##V, XBT_##E##_##V##_NAME }
static const struct {
	const xbt_enum_desc *e;
	int index;
	const char *name;
} enum_names[] = {
	NAME(task_allowed_operations, TASK_ALLOWED_OPERATIONS, CANCEL),
	NAME(task_allowed_operations, TASK_ALLOWED_OPERATIONS, DESTROY),
	NAME(task_status_type, TASK_STATUS_TYPE, PENDING),
	NAME(task_status_type, TASK_STATUS_TYPE, SUCCESS),
	NAME(task_status_type, TASK_STATUS_TYPE, FAILURE),
	NAME(task_status_type, TASK_STATUS_TYPE, CANCELLING),
	NAME(task_status_type, TASK_STATUS_TYPE, CANCELLED),
	NAME(event_operation, EVENT_OPERATION, ADD),
	NAME(event_operation, EVENT_OPERATION, DEL),
	NAME(event_operation, EVENT_OPERATION, MOD),
	NAME(vm_power_state, VM_POWER_STATE, HALTED),
	NAME(vm_power_state, VM_POWER_STATE, PAUSED),
	NAME(vm_power_state, VM_POWER_STATE, RUNNING),
	NAME(vm_power_state, VM_POWER_STATE, SUSPENDED),
	NAME(vm_operations, VM_OPERATIONS, SNAPSHOT),
	NAME(vm_operations, VM_OPERATIONS, CLONE),
	NAME(vm_operations, VM_OPERATIONS, COPY),
	NAME(vm_operations, VM_OPERATIONS, CREATE_TEMPLATE),
	NAME(vm_operations, VM_OPERATIONS, REVERT),
	NAME(vm_operations, VM_OPERATIONS, CHECKPOINT),
	NAME(vm_operations, VM_OPERATIONS, PROVISION),
	NAME(vm_operations, VM_OPERATIONS, START),
	NAME(vm_operations, VM_OPERATIONS, START_ON),
	NAME(vm_operations, VM_OPERATIONS, PAUSE),
	NAME(vm_operations, VM_OPERATIONS, UNPAUSE),
	NAME(vm_operations, VM_OPERATIONS, CLEAN_SHUTDOWN),
	NAME(vm_operations, VM_OPERATIONS, CLEAN_REBOOT),
	NAME(vm_operations, VM_OPERATIONS, HARD_SHUTDOWN),
	NAME(vm_operations, VM_OPERATIONS, POWER_STATE_RESET),
	NAME(vm_operations, VM_OPERATIONS, HARD_REBOOT),
	NAME(vm_operations, VM_OPERATIONS, SUSPEND),
	NAME(vm_operations, VM_OPERATIONS, RESUME),
	NAME(vm_operations, VM_OPERATIONS, RESUME_ON),
	NAME(vm_operations, VM_OPERATIONS, POOL_MIGRATE),
	NAME(vm_operations, VM_OPERATIONS, MIGRATE_SEND),
	NAME(vm_operations, VM_OPERATIONS, SHUTDOWN),
	NAME(vm_operations, VM_OPERATIONS, MAKE_INTO_TEMPLATE),
	NAME(vm_operations, VM_OPERATIONS, IMPORT),
	NAME(vm_operations, VM_OPERATIONS, EXPORT),
	NAME(vm_operations, VM_OPERATIONS, DESTROY),
	NAME(vm_operations, VM_OPERATIONS, SNAPSHOT_WITH_QUIESCE),
	NAME(vm_operations, VM_OPERATIONS, CSVM),
	NAME(vm_operations, VM_OPERATIONS, GET_BOOT_RECORD),
	NAME(vm_operations, VM_OPERATIONS, SEND_SYSRQ),
	NAME(vm_operations, VM_OPERATIONS, SEND_TRIGGER),
	NAME(vm_operations, VM_OPERATIONS, QUERY_SERVICES),
	NAME(vm_operations, VM_OPERATIONS, CALL_PLUGIN),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_MEMORY_LIVE),
	NAME(vm_operations, VM_OPERATIONS, AWAITING_MEMORY_LIVE),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_DYNAMIC_RANGE),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_STATIC_RANGE),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_MEMORY_LIMITS),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_SHADOW_MEMORY),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_SHADOW_MEMORY_LIVE),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_VCPUS),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_VCPUS_LIVE),
	NAME(vm_operations, VM_OPERATIONS, CHANGING_NVRAM),
	NAME(vm_operations, VM_OPERATIONS, ASSERT_OPERATION_VALID),
	NAME(vm_operations, VM_OPERATIONS, DATA_SOURCE_OP),
	NAME(vm_operations, VM_OPERATIONS, UPDATE_ALLOWED_OPERATIONS),
	NAME(vm_operations, VM_OPERATIONS, METADATA_EXPORT),
	NAME(vm_operations, VM_OPERATIONS, REVERTING),
	NAME(vm_operations, VM_OPERATIONS, CREATE_VTPM),
	NAME(storage_operations, STORAGE_OPERATIONS, SCAN),
	NAME(storage_operations, STORAGE_OPERATIONS, DESTROY),
	NAME(storage_operations, STORAGE_OPERATIONS, FORGET),
	NAME(storage_operations, STORAGE_OPERATIONS, PLUG),
	NAME(storage_operations, STORAGE_OPERATIONS, UNPLUG),
	NAME(storage_operations, STORAGE_OPERATIONS, UPDATE),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_CREATE),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_INTRODUCE),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_DESTROY),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_RESIZE),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_CLONE),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_SNAPSHOT),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_MIRROR),
	NAME(storage_operations, STORAGE_OPERATIONS, PBD_CREATE),
	NAME(storage_operations, STORAGE_OPERATIONS, PBD_DESTROY),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_ENABLE_CBT),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_DISABLE_CBT),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_DATA_DESTROY),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_LIST_CHANGED_BLOCKS),
	NAME(storage_operations, STORAGE_OPERATIONS, VDI_SET_ON_BOOT),
	NAME(vbd_operations, VBD_OPERATIONS, ATTACH),
	NAME(vbd_operations, VBD_OPERATIONS, EJECT),
	NAME(vbd_operations, VBD_OPERATIONS, INSERT),
	NAME(vbd_operations, VBD_OPERATIONS, PLUG),
	NAME(vbd_operations, VBD_OPERATIONS, UNPLUG),
	NAME(vbd_operations, VBD_OPERATIONS, UNPLUG_FORCE),
	NAME(vbd_operations, VBD_OPERATIONS, PAUSE),
	NAME(vbd_operations, VBD_OPERATIONS, UNPAUSE),
	NAME(vdi_operations, VDI_OPERATIONS, CLONE),
	NAME(vdi_operations, VDI_OPERATIONS, COPY),
	NAME(vdi_operations, VDI_OPERATIONS, RESIZE),
	NAME(vdi_operations, VDI_OPERATIONS, RESIZE_ONLINE),
	NAME(vdi_operations, VDI_OPERATIONS, SNAPSHOT),
	NAME(vdi_operations, VDI_OPERATIONS, MIRROR),
	NAME(vdi_operations, VDI_OPERATIONS, DESTROY),
	NAME(vdi_operations, VDI_OPERATIONS, FORGET),
	NAME(vdi_operations, VDI_OPERATIONS, UPDATE),
	NAME(vdi_operations, VDI_OPERATIONS, FORCE_UNLOCK),
	NAME(vdi_operations, VDI_OPERATIONS, GENERATE_CONFIG),
	NAME(vdi_operations, VDI_OPERATIONS, BLOCKED),
	NAME(vdi_operations, VDI_OPERATIONS, ENABLE_CBT),
	NAME(vdi_operations, VDI_OPERATIONS, DISABLE_CBT),
	NAME(vdi_operations, VDI_OPERATIONS, DATA_DESTROY),
	NAME(vdi_operations, VDI_OPERATIONS, LIST_CHANGED_BLOCKS),
	NAME(vdi_operations, VDI_OPERATIONS, SET_ON_BOOT),
	NAME(vbd_mode, VBD_MODE, RO),
	NAME(vbd_mode, VBD_MODE, RW),
};
#undef NAME

START_TEST(test_enum_names)
{
	size_t n = sizeof(enum_names) / sizeof(enum_names[0]);

	for (size_t i = 0; i < n; i++) {
		const xbt_enum_desc *e = enum_names[i].e;
		size_t count = 0;

		ck_assert_int_lt(enum_names[i].index, (int)e->n);
		ck_assert_str_eq(e->values[enum_names[i].index],
				 enum_names[i].name);
		/* every value of the enum is in the table */
		for (size_t j = 0; j < n; j++)
			count += enum_names[j].e == e;
		ck_assert_msg(count == e->n, "enum %s: %zu of %zu values",
			      e->name, count, e->n);
	}
	/* constant expressions: usable where C wants one */
	static const char *const ops[] = { XBT_VM_OPERATIONS_START_NAME };
	ck_assert_str_eq(ops[0], "start");
}
END_TEST

/* ---- records ------------------------------------------------------------------ */

START_TEST(test_record_defaults)
{
	xbt_task_record t;
	xbt_vm_record vm;
	xbt_host_record h;
	xbt_session_record s;
	xbt_vdi_record vdi;
	xbt_vbd_record vbd;
	xbt_pool_record p;
	xbt_sr_record sr;
	xbt_pbd_record pbd;

	xbt_record_init(&xbt_class_task, &t);
	ck_assert_str_eq(t.uuid, "");
	ck_assert_str_eq(t.backtrace, "()");
	ck_assert_int_eq(t.status, XBT_TASK_STATUS_TYPE_PENDING);
	ck_assert(t.progress == 0.0);
	ck_assert_int_eq(t.created, 0);
	ck_assert_int_eq(t.finished, 0);
	ck_assert_str_eq(t.resident_on, "OpaqueRef:NULL");
	ck_assert_str_eq(t.subtask_of, "OpaqueRef:NULL");
	ck_assert_uint_eq(t.error_info.n, 0);
	ck_assert_ptr_null(t.error_info.v);
	ck_assert_uint_eq(t.other_config.n, 0);
	xbt_record_release(&xbt_class_task, &t);
	ck_assert_ptr_null(t.uuid);

	xbt_record_init(&xbt_class_vm, &vm);
	ck_assert_int_eq(vm.power_state, XBT_VM_POWER_STATE_HALTED);
	ck_assert_int_eq(vm.domid, -1);
	ck_assert_int_eq(vm.user_version, 1);
	ck_assert_int_eq(vm.VCPUs_max, 1);
	ck_assert(vm.HVM_shadow_multiplier == 1.0);
	ck_assert(!vm.is_a_template);
	ck_assert_str_eq(vm.resident_on, "OpaqueRef:NULL");
	ck_assert_int_eq(vm.actions_after_reboot, XBT_ON_NORMAL_EXIT_RESTART);
	ck_assert_int_eq(vm.actions_after_shutdown, XBT_ON_NORMAL_EXIT_DESTROY);
	ck_assert_int_eq(vm.domain_type, XBT_DOMAIN_TYPE_UNSPECIFIED);
	xbt_record_release(&xbt_class_vm, &vm);

	xbt_record_init(&xbt_class_host, &h);
	ck_assert_int_eq(h.API_version_major, 2);
	ck_assert_int_eq(h.API_version_minor, 21);
	ck_assert_str_eq(h.API_version_vendor, "xbt");
	ck_assert(h.enabled);
	ck_assert_int_eq(h.display, XBT_HOST_DISPLAY_ENABLED);
	xbt_record_release(&xbt_class_host, &h);

	xbt_record_init(&xbt_class_session, &s);
	ck_assert_str_eq(s.this_user, "OpaqueRef:NULL");
	ck_assert_str_eq(s.this_host, "OpaqueRef:NULL");
	ck_assert_str_eq(s.originator, "");
	ck_assert(!s.pool);
	ck_assert(!s.is_local_superuser);
	ck_assert_int_eq(s.last_active, 0);
	xbt_record_release(&xbt_class_session, &s);

	xbt_record_init(&xbt_class_vdi, &vdi);
	ck_assert_int_eq(vdi.type, XBT_VDI_TYPE_USER);
	ck_assert(vdi.managed);
	ck_assert(!vdi.missing);
	ck_assert_int_eq(vdi.on_boot, XBT_ON_BOOT_PERSIST);
	xbt_record_release(&xbt_class_vdi, &vdi);

	xbt_record_init(&xbt_class_vbd, &vbd);
	ck_assert_int_eq(vbd.mode, XBT_VBD_MODE_RW);
	ck_assert_int_eq(vbd.type, XBT_VBD_TYPE_DISK);
	ck_assert(vbd.unpluggable);
	ck_assert(!vbd.empty);
	xbt_record_release(&xbt_class_vbd, &vbd);

	xbt_record_init(&xbt_class_pool, &p);
	ck_assert_str_eq(p.ha_cluster_stack, "xhad");
	ck_assert_str_eq(p.master, "OpaqueRef:NULL");
	ck_assert_str_eq(p.default_SR, "OpaqueRef:NULL");
	xbt_record_release(&xbt_class_pool, &p);

	xbt_record_init(&xbt_class_sr, &sr);
	ck_assert(!sr.shared);
	ck_assert_int_eq(sr.physical_size, 0);
	xbt_record_release(&xbt_class_sr, &sr);

	xbt_record_init(&xbt_class_pbd, &pbd);
	ck_assert(!pbd.currently_attached);
	ck_assert_str_eq(pbd.SR, "OpaqueRef:NULL");
	xbt_record_release(&xbt_class_pbd, &pbd);
}
END_TEST

/* Every class: defaults serialise with every field present and typed. */
START_TEST(test_record_every_class)
{
	for (size_t i = 0; i < xbt_nclasses; i++) {
		const xbt_class_desc *c = xbt_classes[i];
		void *rec = calloc(1, c->record_size + 1);
		xmlrpc_value *v;
		xmlrpc_env env;

		xbt_record_init(c, rec);
		v = xbt_record_to_value(c, rec);
		xmlrpc_env_init(&env);
		ck_assert_int_eq(xmlrpc_struct_size(&env, v), (int)c->nfields);
		for (size_t j = 0; j < c->nfields; j++) {
			const xbt_field_desc *f = &c->fields[j];
			xmlrpc_value *m = NULL;
			xmlrpc_type want;

			xmlrpc_struct_find_value(&env, v, f->name, &m);
			ck_assert_msg(m != NULL, "%s.%s missing", c->name,
				      f->name);
			switch (f->type->kind) {
			case XBT_T_INT: want = XMLRPC_TYPE_I8; break;
			case XBT_T_FLOAT: want = XMLRPC_TYPE_DOUBLE; break;
			case XBT_T_BOOL: want = XMLRPC_TYPE_BOOL; break;
			case XBT_T_DATETIME: want = XMLRPC_TYPE_DATETIME; break;
			case XBT_T_SET: want = XMLRPC_TYPE_ARRAY; break;
			case XBT_T_MAP: want = XMLRPC_TYPE_STRUCT; break;
			default: want = XMLRPC_TYPE_STRING;
			}
			ck_assert_msg(xmlrpc_value_type(m) == want,
				      "%s.%s wrong type", c->name, f->name);
			xmlrpc_DECREF(m);
		}
		xmlrpc_env_clean(&env);
		xmlrpc_DECREF(v);
		xbt_record_release(c, rec);
		free(rec);
	}
}
END_TEST

START_TEST(test_record_copy)
{
	xbt_vm_record a, b;

	xbt_record_init(&xbt_class_vm, &a);
	free(a.name_label);
	a.name_label = xbt_strdup("web");
	a.power_state = XBT_VM_POWER_STATE_RUNNING;
	a.memory_static_max = 1LL << 32;
	xbt_strv_add(&a.tags, "t1");
	xbt_strv_add(&a.tags, "t2");
	xbt_map_set(&a.other_config, "k", "v");
	xbt_record_copy(&xbt_class_vm, &b, &a);
	ck_assert_ptr_ne(a.name_label, b.name_label);
	ck_assert_ptr_ne(a.tags.v, b.tags.v);
	ck_assert_ptr_ne(a.other_config.keys, b.other_config.keys);
	xbt_record_release(&xbt_class_vm, &a);
	ck_assert_str_eq(b.name_label, "web");
	ck_assert_int_eq(b.power_state, XBT_VM_POWER_STATE_RUNNING);
	ck_assert_int_eq(b.memory_static_max, 1LL << 32);
	ck_assert_uint_eq(b.tags.n, 2);
	ck_assert_str_eq(b.tags.v[1], "t2");
	ck_assert_str_eq(xbt_map_get(&b.other_config, "k"), "v");
	ck_assert_str_eq(b.uuid, "");
	xbt_record_release(&xbt_class_vm, &b);
}
END_TEST

START_TEST(test_record_to_value)
{
	xbt_task_record t;
	xmlrpc_value *v, *m;
	xmlrpc_env env;

	xbt_record_init(&xbt_class_task, &t);
	t.status = XBT_TASK_STATUS_TYPE_FAILURE;
	t.created = 1767225600;
	t.progress = 0.5;
	xbt_strv_add(&t.error_info, "HANDLE_INVALID");
	xbt_strv_add(&t.error_info, "VM");
	xbt_map_set(&t.other_config, "a", "1");
	xbt_strv_add(&t.allowed_operations, "cancel");
	xmlrpc_env_init(&env);
	v = xbt_record_to_value(&xbt_class_task, &t);

	xmlrpc_struct_find_value(&env, v, "status", &m);
	assert_ser(m, "<value><string>failure</string></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "created", &m);
	assert_ser(m, "<value><dateTime.iso8601>20260101T00:00:00"
		   "</dateTime.iso8601></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "finished", &m);
	assert_ser(m, "<value><dateTime.iso8601>19700101T00:00:00"
		   "</dateTime.iso8601></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "progress", &m);
	assert_ser(m, "<value><double>0.5</double></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "error_info", &m);
	assert_ser(m, "<value><array><data><value><string>HANDLE_INVALID"
		   "</string></value><value><string>VM</string></value>"
		   "</data></array></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "other_config", &m);
	assert_ser(m, "<value><struct><member><name>a</name><value><string>1"
		   "</string></value></member></struct></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "backtrace", &m);
	assert_ser(m, "<value><string>()</string></value>");
	xmlrpc_DECREF(m);
	xmlrpc_struct_find_value(&env, v, "resident_on", &m);
	assert_ser(m, "<value><string>OpaqueRef:NULL</string></value>");
	xmlrpc_DECREF(m);

	xbt_vm_record vm;

	xbt_record_init(&xbt_class_vm, &vm);
	m = xbt_field_to_value(VM_FIELD(DOMID), &vm);
	assert_ser(m, "<value><i8>-1</i8></value>");
	xmlrpc_DECREF(m);
	m = xbt_field_to_value(VM_FIELD(POWER_STATE), &vm);
	assert_ser(m, "<value><string>Halted</string></value>");
	xmlrpc_DECREF(m);
	xbt_record_release(&xbt_class_vm, &vm);

	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	xbt_record_release(&xbt_class_task, &t);
}
END_TEST

START_TEST(test_record_round_trip)
{
	for (size_t i = 0; i < xbt_nclasses; i++) {
		const xbt_class_desc *c = xbt_classes[i];
		void *a = calloc(1, c->record_size + 1);
		void *b = calloc(1, c->record_size + 1);
		xmlrpc_value *v, *w;
		char *sa, *sb;

		/* give every field a non-default value */
		xbt_record_init(c, a);
		for (size_t j = 0; j < c->nfields; j++) {
			const xbt_field_desc *f = &c->fields[j];
			char *p = (char *)a + f->offset;

			switch (f->type->kind) {
			case XBT_T_STRING:
			case XBT_T_REF:
				free(*(char **)p);
				*(char **)p = xbt_strdup(f->name);
				break;
			case XBT_T_INT:
				*(int64_t *)p = -(int64_t)j - 1000000000000LL;
				break;
			case XBT_T_FLOAT:
				*(double *)p = 0.25 + (double)j;
				break;
			case XBT_T_BOOL:
				*(bool *)p = !*(bool *)p;
				break;
			case XBT_T_DATETIME:
				*(int64_t *)p = 1767225600 + (int64_t)j;
				break;
			case XBT_T_ENUM:
				*(int *)p = (int)f->type->enum_desc->n - 1;
				break;
			case XBT_T_SET: {
				const xbt_type *e = f->type->elem;

				xbt_strv_add((xbt_strv *)p,
					     e->kind == XBT_T_ENUM ?
					     e->enum_desc->values[0] :
					     e->kind == XBT_T_INT ? "7" : "x");
				break;
			}
			case XBT_T_MAP: {
				const xbt_type *k = f->type->key;
				const xbt_type *e = f->type->elem;

				/* maps of collections stay empty */
				if (e->kind == XBT_T_SET || e->kind == XBT_T_MAP)
					break;
				xbt_map_set((xbt_map *)p,
					    k->kind == XBT_T_ENUM ?
					    k->enum_desc->values[k->enum_desc->n - 1] :
					    k->kind == XBT_T_INT ? "3" : "key",
					    e->kind == XBT_T_ENUM ?
					    e->enum_desc->values[e->enum_desc->n - 1] :
					    e->kind == XBT_T_INT ? "-7" :
					    e->kind == XBT_T_FLOAT ? "0.5" : "val");
				break;
			}
			default:
				ck_abort();
			}
		}
		v = xbt_record_to_value(c, a);
		xbt_record_init(c, b);
		{
			xbt_error *rerr = xbt_record_from_value(c, v, b);

			ck_assert_msg(rerr == NULL, "%s: %s %s", c->name,
				      rerr ? rerr->code : "",
				      rerr && rerr->nparams > 1 ?
				      rerr->params[1] : "");
		}
		w = xbt_record_to_value(c, b);
		sa = ser(v);
		sb = ser(w);
		ck_assert_str_eq(sa, sb);
		free(sa);
		free(sb);
		xmlrpc_DECREF(v);
		xmlrpc_DECREF(w);
		xbt_record_release(c, a);
		xbt_record_release(c, b);
		free(a);
		free(b);
	}
}
END_TEST

START_TEST(test_record_from_value_errors)
{
	xbt_vm_record vm;
	xmlrpc_value *v;

	xbt_record_init(&xbt_class_vm, &vm);
	v = V("<value><array><data></data></array></value>");
	assert_error(xbt_record_from_value(&xbt_class_vm, v, &vm),
		     "XMLRPC_UNMARSHAL_FAILURE", 2, "record VM", "array");
	xmlrpc_DECREF(v);

	/* all or nothing: name_label is not applied */
	v = V("<value><struct>"
	      "<member><name>name_label</name><value>new</value></member>"
	      "<member><name>power_state</name><value>Runing</value></member>"
	      "</struct></value>");
	assert_error(xbt_record_from_value(&xbt_class_vm, v, &vm),
		     "XMLRPC_UNMARSHAL_FAILURE", 2, "enum vm_power_state",
		     "string \"Runing\" at field \"power_state\"");
	ck_assert_str_eq(vm.name_label, "");
	xmlrpc_DECREF(v);

	/* ints as strings are normalised; unknown members ignored */
	v = V("<value><struct>"
	      "<member><name>domid</name><value>7</value></member>"
	      "<member><name>no_such_field</name><value><i4>1</i4></value>"
	      "</member>"
	      "<member><name>snapshot_time</name><value>2026-01-01T00:00:01Z"
	      "</value></member>"
	      "</struct></value>");
	ck_assert_ptr_null(xbt_record_from_value(&xbt_class_vm, v, &vm));
	ck_assert_int_eq(vm.domid, 7);
	ck_assert_int_eq(vm.snapshot_time, 1767225601);
	xmlrpc_DECREF(v);

	/* nested location */
	v = V("<value><struct><member><name>other_config</name><value>"
	      "<struct><member><name>k</name><value><i4>5</i4></value>"
	      "</member></struct></value></member></struct></value>");
	assert_error(xbt_record_from_value(&xbt_class_vm, v, &vm),
		     "XMLRPC_UNMARSHAL_FAILURE", 2, "string",
		     "int 5 at member \"k\" in field \"other_config\"");
	xmlrpc_DECREF(v);
	xbt_record_release(&xbt_class_vm, &vm);
}
END_TEST

START_TEST(test_field_from_value)
{
	xbt_vm_record vm;
	xmlrpc_value *v;
	xmlrpc_env env;

	xbt_record_init(&xbt_class_vm, &vm);
	v = V("<value>Suspended</value>");
	ck_assert_ptr_null(xbt_field_from_value(VM_FIELD(POWER_STATE), v, &vm));
	ck_assert_int_eq(vm.power_state, XBT_VM_POWER_STATE_SUSPENDED);
	xmlrpc_DECREF(v);

	v = V("<value><array><data><value>a</value><value>b</value>"
	      "</data></array></value>");
	ck_assert_ptr_null(xbt_field_from_value(VM_FIELD(TAGS), v, &vm));
	ck_assert_uint_eq(vm.tags.n, 2);
	ck_assert_str_eq(vm.tags.v[0], "a");
	xmlrpc_DECREF(v);

	v = V("<value><i4>3</i4></value>");
	assert_error(xbt_field_from_value(VM_FIELD(NAME_LABEL), v, &vm),
		     "XMLRPC_UNMARSHAL_FAILURE", 2, "string", "int 3");
	xmlrpc_DECREF(v);

	/* a NUL cannot end the C string early: it is kept as \x00 */
	xmlrpc_env_init(&env);
	v = xmlrpc_string_new_lp(&env, 3, "a\0b");
	ck_assert_ptr_null(xbt_field_from_value(VM_FIELD(NAME_LABEL), v, &vm));
	ck_assert_str_eq(vm.name_label, "a\\x00b");
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);

	/* set (int) elements are stored as decimal strings */
	xbt_host_record h;

	xbt_record_init(&xbt_class_host, &h);
	v = V("<value><array><data><value>1</value><value><i4>2</i4></value>"
	      "<value><i8>-3</i8></value></data></array></value>");
	ck_assert_ptr_null(xbt_field_from_value(
		&xbt_class_host.fields[XBT_FIELD_HOST_VIRTUAL_HARDWARE_PLATFORM_VERSIONS],
		v, &h));
	ck_assert_uint_eq(h.virtual_hardware_platform_versions.n, 3);
	ck_assert_str_eq(h.virtual_hardware_platform_versions.v[0], "1");
	ck_assert_str_eq(h.virtual_hardware_platform_versions.v[1], "2");
	ck_assert_str_eq(h.virtual_hardware_platform_versions.v[2], "-3");
	xmlrpc_DECREF(v);
	xbt_record_release(&xbt_class_host, &h);
	xbt_record_release(&xbt_class_vm, &vm);
}
END_TEST

/* ---- xbt_value_check ---------------------------------------------------------------- */

enum tk {
	T_STRING, T_REF, T_INT, T_FLOAT, T_BOOL, T_DATETIME, T_ENUM,
	T_SET_STRING, T_SET_INT, T_SET_ENUM, T_MAP, T_MAP_ENUM_KEY,
	T_MAP_ENUM_VAL, T_RECORD, T_ANY, T_VOID
};

static const xbt_type *tk_type(enum tk k)
{
	switch (k) {
	case T_STRING: return VM_FIELD(NAME_LABEL)->type;
	case T_REF: return VM_FIELD(RESIDENT_ON)->type;
	case T_INT: return VM_FIELD(DOMID)->type;
	case T_FLOAT: return VM_FIELD(HVM_SHADOW_MULTIPLIER)->type;
	case T_BOOL: return VM_FIELD(IS_A_TEMPLATE)->type;
	case T_DATETIME: return VM_FIELD(SNAPSHOT_TIME)->type;
	case T_ENUM: return VM_FIELD(POWER_STATE)->type;
	case T_SET_STRING: return VM_FIELD(TAGS)->type;
	case T_SET_INT:
		return ftype(&xbt_class_host,
			     XBT_FIELD_HOST_VIRTUAL_HARDWARE_PLATFORM_VERSIONS);
	case T_SET_ENUM: return VM_FIELD(ALLOWED_OPERATIONS)->type;
	case T_MAP: return VM_FIELD(OTHER_CONFIG)->type;
	case T_MAP_ENUM_KEY: return VM_FIELD(BLOCKED_OPERATIONS)->type;
	case T_MAP_ENUM_VAL: return TASK_FIELD(CURRENT_OPERATIONS)->type;
	case T_RECORD: return msg("VM.get_record")->result;
	case T_ANY: return msg("event.next")->result;
	case T_VOID: return msg("VM.start")->result;
	}
	return NULL;
}

static const struct check_case {
	enum tk type;
	const char *in;        /* a <value> */
	const char *out;       /* normalised (ser form), NULL: error */
	const char *expected;  /* error params */
	const char *received;
} check_cases[] = {
	/* string and ref: strings only */
	{ T_STRING, "<value>x</value>", "<value><string>x</string></value>", NULL, NULL },
	{ T_STRING, "<value></value>", "<value><string></string></value>", NULL, NULL },
	{ T_STRING, "<value><i4>5</i4></value>", NULL, "string", "int 5" },
	{ T_STRING, "<value><nil/></value>", NULL, "string", "nil" },
	{ T_STRING, "<value><boolean>1</boolean></value>", NULL, "string",
	  "bool true" },
	{ T_STRING, "<value><base64>AA==</base64></value>", NULL, "string",
	  "base64" },
	{ T_REF, "<value>OpaqueRef:abc</value>",
	  "<value><string>OpaqueRef:abc</string></value>", NULL, NULL },
	{ T_REF, "<value>anything</value>",
	  "<value><string>anything</string></value>", NULL, NULL },
	{ T_REF, "<value><i8>1</i8></value>", NULL, "ref host", "int 1" },
	{ T_REF, "<value><array><data></data></array></value>", NULL,
	  "ref host", "array" },
	/* int: i4, i8, decimal strings */
	{ T_INT, "<value><i4>5</i4></value>", "<value><i8>5</i8></value>", NULL, NULL },
	{ T_INT, "<value><int>-5</int></value>", "<value><i8>-5</i8></value>", NULL, NULL },
	{ T_INT, "<value><i8>9223372036854775807</i8></value>",
	  "<value><i8>9223372036854775807</i8></value>", NULL, NULL },
	{ T_INT, "<value>-42</value>", "<value><i8>-42</i8></value>", NULL, NULL },
	{ T_INT, "<value>+7</value>", "<value><i8>7</i8></value>", NULL, NULL },
	{ T_INT, "<value>007</value>", "<value><i8>7</i8></value>", NULL, NULL },
	{ T_INT, "<value>-9223372036854775808</value>",
	  "<value><i8>-9223372036854775808</i8></value>", NULL, NULL },
	{ T_INT, "<value>9223372036854775808</value>", NULL, "int",
	  "string \"9223372036854775808\"" },
	{ T_INT, "<value>12x</value>", NULL, "int", "string \"12x\"" },
	{ T_INT, "<value></value>", NULL, "int", "string \"\"" },
	{ T_INT, "<value>-</value>", NULL, "int", "string \"-\"" },
	{ T_INT, "<value> 5</value>", NULL, "int", "string \" 5\"" },
	{ T_INT, "<value>0x10</value>", NULL, "int", "string \"0x10\"" },
	{ T_INT, "<value>1.0</value>", NULL, "int", "string \"1.0\"" },
	{ T_INT, "<value><double>1.5</double></value>", NULL, "int",
	  "double 1.5" },
	{ T_INT, "<value><boolean>0</boolean></value>", NULL, "int",
	  "bool false" },
	{ T_INT, "<value>a\"b\\c</value>", NULL, "int",
	  "string \"a\\\"b\\\\c\"" },
	{ T_INT, "<value>0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789</value>", NULL, "int",
	  "string \"0123456789012345678901234567890123456789"
	  "012345678901234567890123\"..." },
	/* float */
	{ T_FLOAT, "<value><double>1.5</double></value>",
	  "<value><double>1.5</double></value>", NULL, NULL },
	{ T_FLOAT, "<value><i4>2</i4></value>",
	  "<value><double>2</double></value>", NULL, NULL },
	{ T_FLOAT, "<value><i8>-3</i8></value>",
	  "<value><double>-3</double></value>", NULL, NULL },
	{ T_FLOAT, "<value>2.5</value>", "<value><double>2.5</double></value>", NULL, NULL },
	{ T_FLOAT, "<value>-1e3</value>",
	  "<value><double>-1000</double></value>", NULL, NULL },
	{ T_FLOAT, "<value>abc</value>", NULL, "float", "string \"abc\"" },
	{ T_FLOAT, "<value>nan</value>", NULL, "float", "string \"nan\"" },
	{ T_FLOAT, "<value>1e999</value>", NULL, "float", "string \"1e999\"" },
	{ T_FLOAT, "<value>0x1p3</value>", NULL, "float", "string \"0x1p3\"" },
	{ T_FLOAT, "<value><boolean>1</boolean></value>", NULL, "float",
	  "bool true" },
	/* bool */
	{ T_BOOL, "<value><boolean>1</boolean></value>",
	  "<value><boolean>1</boolean></value>", NULL, NULL },
	{ T_BOOL, "<value>true</value>", NULL, "bool", "string \"true\"" },
	{ T_BOOL, "<value><i4>1</i4></value>", NULL, "bool", "int 1" },
	/* datetime */
	{ T_DATETIME,
	  "<value><dateTime.iso8601>20260101T00:00:00Z</dateTime.iso8601></value>",
	  "<value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME,
	  "<value><dateTime.iso8601>20260101T10:20:30</dateTime.iso8601></value>",
	  "<value><dateTime.iso8601>20260101T10:20:30</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME, "<value>20260101T00:00:00Z</value>",
	  "<value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME, "<value>20260101T00:00:00</value>",
	  "<value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME, "<value>2024-02-29T23:59:59Z</value>",
	  "<value><dateTime.iso8601>20240229T23:59:59</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME, "<value>2024-02-29T23:59:59</value>",
	  "<value><dateTime.iso8601>20240229T23:59:59</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME, "<value>19700101T00:00:00Z</value>",
	  "<value><dateTime.iso8601>19700101T00:00:00</dateTime.iso8601></value>", NULL, NULL },
	{ T_DATETIME, "<value>2023-02-29T00:00:00Z</value>", NULL, "datetime",
	  "string \"2023-02-29T00:00:00Z\"" },
	{ T_DATETIME, "<value>20261301T00:00:00Z</value>", NULL, "datetime",
	  "string \"20261301T00:00:00Z\"" },
	{ T_DATETIME, "<value>20260101T24:00:00Z</value>", NULL, "datetime",
	  "string \"20260101T24:00:00Z\"" },
	{ T_DATETIME, "<value>19691231T23:59:59Z</value>", NULL, "datetime",
	  "string \"19691231T23:59:59Z\"" },
	{ T_DATETIME, "<value>20260101T00:00</value>", NULL, "datetime",
	  "string \"20260101T00:00\"" },
	{ T_DATETIME, "<value>20260101T00:00:00ZZ</value>", NULL, "datetime",
	  "string \"20260101T00:00:00ZZ\"" },
	{ T_DATETIME, "<value>2026-0101T00:00:00Z</value>", NULL, "datetime",
	  "string \"2026-0101T00:00:00Z\"" },
	{ T_DATETIME,
	  "<value><dateTime.iso8601>19691231T23:59:59</dateTime.iso8601></value>",
	  NULL, "datetime", "datetime 19691231T23:59:59Z" },
	{ T_DATETIME, "<value><i4>0</i4></value>", NULL, "datetime", "int 0" },
	/* enum: exact value */
	{ T_ENUM, "<value>Halted</value>", "<value><string>Halted</string></value>", NULL, NULL },
	{ T_ENUM, "<value>halted</value>", NULL, "enum vm_power_state",
	  "string \"halted\"" },
	{ T_ENUM, "<value><i4>0</i4></value>", NULL, "enum vm_power_state",
	  "int 0" },
	/* sets */
	{ T_SET_STRING, "<value><array><data></data></array></value>",
	  "<value><array><data></data></array></value>", NULL, NULL },
	{ T_SET_STRING,
	  "<value><array><data><value>a</value><value>b</value></data></array></value>",
	  "<value><array><data><value><string>a</string></value>"
	  "<value><string>b</string></value></data></array></value>", NULL, NULL },
	{ T_SET_STRING,
	  "<value><array><data><value>a</value><value><i4>5</i4></value>"
	  "</data></array></value>", NULL, "string", "int 5 at element 1" },
	{ T_SET_STRING, "<value><struct></struct></value>", NULL,
	  "set (string)", "struct" },
	{ T_SET_STRING, "<value>a</value>", NULL, "set (string)",
	  "string \"a\"" },
	{ T_SET_INT,
	  "<value><array><data><value>1</value><value><i4>2</i4></value>"
	  "</data></array></value>",
	  "<value><array><data><value><i8>1</i8></value>"
	  "<value><i8>2</i8></value></data></array></value>", NULL, NULL },
	{ T_SET_INT,
	  "<value><array><data><value>1</value><value>x</value>"
	  "</data></array></value>", NULL, "int", "string \"x\" at element 1" },
	{ T_SET_ENUM,
	  "<value><array><data><value>start</value><value>bogus</value>"
	  "</data></array></value>", NULL, "enum vm_operations",
	  "string \"bogus\" at element 1" },
	/* maps */
	{ T_MAP, "<value><struct><member><name>k</name><value>v</value>"
	  "</member></struct></value>",
	  "<value><struct><member><name>k</name><value><string>v</string>"
	  "</value></member></struct></value>", NULL, NULL },
	{ T_MAP, "<value><struct><member><name>k</name><value><i4>5</i4>"
	  "</value></member></struct></value>", NULL, "string",
	  "int 5 at member \"k\"" },
	{ T_MAP, "<value><array><data></data></array></value>", NULL,
	  "map (string, string)", "array" },
	{ T_MAP_ENUM_KEY, "<value><struct><member><name>start</name><value>no"
	  "</value></member></struct></value>",
	  "<value><struct><member><name>start</name><value><string>no</string>"
	  "</value></member></struct></value>", NULL, NULL },
	{ T_MAP_ENUM_KEY, "<value><struct><member><name>bogus</name><value>x"
	  "</value></member></struct></value>", NULL, "enum vm_operations",
	  "string \"bogus\" at key \"bogus\"" },
	{ T_MAP_ENUM_VAL, "<value><struct><member><name>OpaqueRef:t</name>"
	  "<value>cancel</value></member></struct></value>",
	  "<value><struct><member><name>OpaqueRef:t</name><value><string>"
	  "cancel</string></value></member></struct></value>", NULL, NULL },
	{ T_MAP_ENUM_VAL, "<value><struct><member><name>OpaqueRef:t</name>"
	  "<value>Cancel</value></member></struct></value>", NULL,
	  "enum task_allowed_operations",
	  "string \"Cancel\" at member \"OpaqueRef:t\"" },
	/* record: known fields checked and normalised, others kept */
	{ T_RECORD, "<value><struct><member><name>domid</name><value>3</value>"
	  "</member><member><name>extra</name><value><i4>1</i4></value>"
	  "</member></struct></value>",
	  "<value><struct><member><name>domid</name><value><i8>3</i8></value>"
	  "</member><member><name>extra</name><value><i4>1</i4></value>"
	  "</member></struct></value>", NULL, NULL },
	{ T_RECORD, "<value><struct><member><name>tags</name><value><array>"
	  "<data><value><nil/></value></data></array></value></member>"
	  "</struct></value>", NULL, "string",
	  "nil at element 0 in field \"tags\"" },
	{ T_RECORD, "<value>x</value>", NULL, "record VM", "string \"x\"" },
	/* any, void */
	{ T_ANY, "<value><i4>1</i4></value>", "<value><i4>1</i4></value>", NULL, NULL },
	{ T_VOID, "<value></value>", "<value><string></string></value>", NULL, NULL },
	{ T_VOID, "<value><nil/></value>", "<value><nil/></value>", NULL, NULL },
	{ T_VOID, "<value>x</value>", NULL, "void", "string \"x\"" },
};

START_TEST(test_value_check)
{
	const struct check_case *c = &check_cases[_i];
	xmlrpc_value *in = V(c->in);
	xmlrpc_value *out = NULL;
	xbt_error *e = xbt_value_check(tk_type(c->type), in, &out);

	if (c->out) {
		ck_assert_msg(e == NULL, "case %d: %s [%s; %s]", _i,
			      e ? e->code : "", e && e->nparams > 0 ?
			      e->params[0] : "", e && e->nparams > 1 ?
			      e->params[1] : "");
		assert_ser(out, c->out);
		xmlrpc_DECREF(out);
	} else {
		ck_assert_msg(e != NULL, "case %d accepted", _i);
		ck_assert_ptr_null(out);
		assert_error(e, "XMLRPC_UNMARSHAL_FAILURE", 2, c->expected,
			     c->received);
	}
	xmlrpc_DECREF(in);
}
END_TEST

START_TEST(test_value_check_nul)
{
	xmlrpc_env env;
	xmlrpc_value *in, *out = NULL;

	xmlrpc_env_init(&env);
	/* a NUL never matches an enum value or an int */
	in = xmlrpc_string_new_lp(&env, 7, "Halted\0");
	assert_error(xbt_value_check(tk_type(T_ENUM), in, &out),
		     "XMLRPC_UNMARSHAL_FAILURE", 2, "enum vm_power_state",
		     "string \"Halted\\x00\"");
	xmlrpc_DECREF(in);
	in = xmlrpc_string_new_lp(&env, 2, "1\0");
	assert_error(xbt_value_check(tk_type(T_INT), in, &out),
		     "XMLRPC_UNMARSHAL_FAILURE", 2, "int", "string \"1\\x00\"");
	xmlrpc_DECREF(in);
	ck_assert_ptr_null(out);
	xmlrpc_env_clean(&env);
}
END_TEST

/* The error starts with a frame in api/check.c (raised, not invented). */
START_TEST(test_value_check_frame)
{
	xmlrpc_value *in = V("<value><i4>1</i4></value>");
	xmlrpc_value *out = NULL;
	xbt_error *e = xbt_value_check(tk_type(T_STRING), in, &out);

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_ge(e->bt.n, 1);
	ck_assert_str_eq(e->bt.frames[0].filename, "api/check.c");
	/* Raised where the mismatch was seen, not in the helper that words it. */
	ck_assert_str_eq(e->bt.frames[0].name, "xbt__check");
	ck_assert(e->bt.frames[0].is_raise);
	xbt_error_free(e);
	xmlrpc_DECREF(in);
}
END_TEST

/* ---- the second model: xenops (idl/xenops.xml, prefix xops) ----------------------- */

/* The model's lookups find its own messages and classes only. */
START_TEST(test_xops_model)
{
	static const char *const wires[] = {
		"VM.start", "VM.shutdown", "VM.destroy", "VM.list",
		"TASK.stat", "TASK.wait", "TASK.cancel", "TASK.destroy",
		"TASK.list", "UPDATES.get"
	};
	static const char *const classes[] = { "disk", "VM", "TASK", "UPDATES" };

	ck_assert_str_eq(xops_api.name, "xenops");
	ck_assert_str_eq(xbt_api.name, "XenAPI");
	ck_assert_uint_eq(xops_api.nclasses, 4);
	ck_assert_uint_eq(xops_nclasses, 4);
	ck_assert_ptr_eq(xops_api.classes, xops_classes);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_str_eq(xops_classes[i]->name, classes[i]);
		ck_assert_uint_eq(xops_classes[i]->index, i);
		ck_assert_ptr_eq(xbt_class_find_in(&xops_api, classes[i]),
				 xops_classes[i]);
	}
	ck_assert_ptr_eq(xbt_class_find_in(&xops_api, "task"), &xops_class_task);
	ck_assert_ptr_null(xbt_class_find_in(&xops_api, "host"));
	ck_assert_ptr_null(xbt_class_find("disk"));
	ck_assert_ptr_null(xbt_class_find("UPDATES"));
	/* the XenAPI's task is another class of the same name */
	ck_assert_ptr_eq(xbt_class_find("TASK"), &xbt_class_task);
	ck_assert_ptr_eq(xbt_class_find_in(&xbt_api, "VM"), &xbt_class_vm);
	ck_assert_uint_eq(xops_class_vm.nfields, 2);
	ck_assert_uint_eq(xops_class_vm.record_size, sizeof(xops_vm_record));
	ck_assert_uint_eq(xops_class_task.record_size, sizeof(xops_task_record));

	ck_assert_uint_eq(xops_api.nmessages, 10);
	ck_assert_uint_eq(xops_nmessages, XOPS_MSG__COUNT);
	ck_assert_ptr_eq(xops_api.messages, xops_messages);
	ck_assert_ptr_eq(xops_api.messages_by_name, xops_messages_by_name);
	for (size_t i = 0; i < 10; i++) {
		const xbt_message_desc *m = &xops_messages[i];

		ck_assert_str_eq(m->wire_name, wires[i]);
		ck_assert_ptr_eq(xbt_message_find_in(&xops_api, wires[i]), m);
		ck_assert_int_eq(m->kind, XBT_MSG_CUSTOM);
		ck_assert(!m->session);
		ck_assert(!m->async);
		if (i > 0)
			ck_assert_int_lt(strcmp(
				xops_messages[xops_messages_by_name[i - 1]].wire_name,
				xops_messages[xops_messages_by_name[i]].wire_name), 0);
	}
	ck_assert_ptr_eq(xbt_message_find_in(&xops_api, "TASK.stat"),
			 &xops_messages[XOPS_MSG_TASK_STAT]);
	ck_assert_ptr_eq(xops_messages[XOPS_MSG_TASK_STAT].cls,
			 &xops_class_task);
	ck_assert_ptr_null(xbt_message_find("TASK.stat"));
	ck_assert_ptr_null(xbt_message_find_in(&xops_api, "VM.get_record"));
	ck_assert_ptr_null(xbt_message_find_in(&xops_api, "Async.VM.start"));
	ck_assert_ptr_null(xbt_message_find_in(&xops_api, NULL));
	ck_assert_ptr_eq(xbt_message_find_in(&xbt_api, "VM.start"),
			 &xbt_messages[XBT_MSG_VM_START]);
	/* the raise lists name the XenAPI's errors */
	ck_assert_uint_eq(xops_messages[XOPS_MSG_TASK_DESTROY].nerrors, 2);
	ck_assert_str_eq(xops_messages[XOPS_MSG_TASK_DESTROY].errors[1],
			 XBT_ERR_OPERATION_NOT_ALLOWED);
}
END_TEST

/* A type knows its class's descriptor, in its own model. */
START_TEST(test_xops_types)
{
	const xbt_message_desc *start = &xops_messages[XOPS_MSG_VM_START];
	const xbt_type *disks = start->params[3].type;

	ck_assert_uint_eq(start->nparams, 4);
	ck_assert_str_eq(start->params[3].name, "disks");
	ck_assert_str_eq(disks->text, "set (record disk)");
	ck_assert_int_eq(disks->kind, XBT_T_SET);
	ck_assert_ptr_null(disks->cls_desc);
	ck_assert_int_eq(disks->elem->kind, XBT_T_RECORD);
	ck_assert_str_eq(disks->elem->cls, "disk");
	ck_assert_ptr_eq(disks->elem->cls_desc, &xops_class_disk);
	ck_assert_ptr_eq(xops_messages[XOPS_MSG_TASK_STAT].result->cls_desc,
			 &xops_class_task);
	ck_assert_ptr_eq(xops_class_disk.fields[XOPS_FIELD_DISK_MODE].type->enum_desc,
			 &xops_enum_disk_mode);
	ck_assert_str_eq(xops_enum_task_state.values[XOPS_TASK_STATE_FAILED],
			 XOPS_TASK_STATE_FAILED_NAME);
	/* and the XenAPI's the same way */
	ck_assert_ptr_eq(msg("VM.get_record")->result->cls_desc, &xbt_class_vm);
	ck_assert_ptr_eq(VM_FIELD(RESIDENT_ON)->type->cls_desc, &xbt_class_host);
	ck_assert_ptr_null(VM_FIELD(NAME_LABEL)->type->cls_desc);
}
END_TEST

#define M(k, v) "<member><name>" k "</name><value>" v "</value></member>"
#define DISK(mode) "<value><struct>" M("sr_type", "DEMO") \
	M("device_config", "<struct>" M("path", "/srv") "</struct>") \
	M("host_ref", "OpaqueRef:h") M("sr_ref", "OpaqueRef:sr") \
	M("sr_uuid", "u1") M("vdi_ref", "OpaqueRef:vdi") M("vdi_uuid", "u2") \
	M("vdi_location", "l") M("mode", mode) "</struct></value>"

/* VM.start's disks, checked as the server checks its arguments. */
START_TEST(test_xops_value_check)
{
	const xbt_type *t = xops_messages[XOPS_MSG_VM_START].params[3].type;
	xmlrpc_value *in, *out = NULL;
	xbt_error *e;

	in = V("<value><array><data>" DISK("RO") DISK("RW")
	       "</data></array></value>");
	e = xbt_value_check(t, in, &out);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(xbt_value_size(out), 2);
	xmlrpc_DECREF(out);
	xmlrpc_DECREF(in);
	out = NULL;

	in = V("<value><array><data>" DISK("RO") DISK("XX")
	       "</data></array></value>");
	assert_error(xbt_value_check(t, in, &out), "XMLRPC_UNMARSHAL_FAILURE",
		     2, "enum disk_mode",
		     "string \"XX\" at field \"mode\" in element 1");
	ck_assert_ptr_null(out);
	xmlrpc_DECREF(in);

	in = V("<value><array><data>" DISK("RW") "<value>x</value>"
	       "</data></array></value>");
	assert_error(xbt_value_check(t, in, &out), "XMLRPC_UNMARSHAL_FAILURE",
		     2, "record disk", "string \"x\" at element 1");
	xmlrpc_DECREF(in);

	in = V("<value><array><data><value><struct>"
	       M("device_config", "<i4>1</i4>") "</struct></value>"
	       "</data></array></value>");
	assert_error(xbt_value_check(t, in, &out), "XMLRPC_UNMARSHAL_FAILURE",
		     2, "map (string, string)",
		     "int 1 at field \"device_config\" in element 0");
	xmlrpc_DECREF(in);

	in = V(DISK("RO"));
	assert_error(xbt_value_check(t, in, &out), "XMLRPC_UNMARSHAL_FAILURE",
		     2, "set (record disk)", "struct");
	ck_assert_ptr_null(out);
	xmlrpc_DECREF(in);
}
END_TEST

/* A TASK record, as TASK.stat returns it, through a value and back. */
START_TEST(test_xops_task_record)
{
	xops_task_record a, b;
	xmlrpc_value *v, *w, *m;
	char *sa, *sb, *s;

	xbt_record_init(&xops_class_task, &a);
	ck_assert_int_eq(a.state, XOPS_TASK_STATE_PENDING);
	ck_assert_str_eq(a.backtrace, "()");
	ck_assert_str_eq(a.result, "");
	ck_assert(a.cancellable);
	ck_assert(a.ctime == 0.0);
	free(a.id);
	a.id = xbt_strdup("t1");
	free(a.dbg);
	a.dbg = xbt_strdup("OpaqueRef:task");
	a.ctime = 1767225600.5;
	a.state = XOPS_TASK_STATE_FAILED;
	a.duration = 2.25;
	a.cancellable = false;
	xbt_strv_add(&a.error, "VDI_IN_USE");
	xbt_strv_add(&a.error, "OpaqueRef:vdi");
	xbt_map_set(&a.subtasks, "vdi_attach u2", XOPS_TASK_STATE_FAILED_NAME);
	xbt_map_set(&a.debug_info, "vm", "u0");

	v = xbt_record_to_value(&xops_class_task, &a);
	ck_assert_uint_eq(xbt_value_size(v), 12);
	m = xbt_value_get(v, "state");
	s = xbt_value_text(m, NULL);
	ck_assert_str_eq(s, "failed");
	free(s);
	xmlrpc_DECREF(m);
	/* what a client of opsd checks against TASK.stat's result */
	ck_assert_ptr_null(xbt_value_check(
		xops_messages[XOPS_MSG_TASK_STAT].result, v, &m));
	xmlrpc_DECREF(m);

	xbt_record_init(&xops_class_task, &b);
	ck_assert_ptr_null(xbt_record_from_value(&xops_class_task, v, &b));
	ck_assert_str_eq(b.id, "t1");
	ck_assert_int_eq(b.state, XOPS_TASK_STATE_FAILED);
	ck_assert(b.ctime == 1767225600.5);
	ck_assert(!b.cancellable);
	ck_assert_uint_eq(b.error.n, 2);
	ck_assert_str_eq(b.error.v[1], "OpaqueRef:vdi");
	ck_assert_str_eq(xbt_map_get(&b.subtasks, "vdi_attach u2"), "failed");
	w = xbt_record_to_value(&xops_class_task, &b);
	sa = ser(v);
	sb = ser(w);
	ck_assert_str_eq(sa, sb);
	free(sa);
	free(sb);
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(w);
	xbt_record_release(&xops_class_task, &a);
	xbt_record_release(&xops_class_task, &b);
}
END_TEST

/* ---- helpers of model.h ------------------------------------------------------------ */

START_TEST(test_strv_map)
{
	xbt_strv s = { NULL, 0 };
	xbt_map m = { NULL, NULL, 0 };

	xbt_strv_add(&s, "a");
	xbt_strv_add(&s, "b");
	xbt_strv_add(&s, "a");
	xbt_strv_add(&s, NULL);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_str_eq(s.v[3], "");
	ck_assert(xbt_strv_has(&s, "b"));
	ck_assert(!xbt_strv_has(&s, "c"));
	ck_assert(!xbt_strv_has(&s, NULL));
	ck_assert(xbt_strv_remove(&s, "a"));
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.v[0], "b");
	ck_assert_str_eq(s.v[1], "");
	ck_assert(!xbt_strv_remove(&s, "a"));
	xbt_strv_clear(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_ptr_null(s.v);

	xbt_map_set(&m, "k1", "v1");
	xbt_map_set(&m, "k2", "v2");
	xbt_map_set(&m, "k1", "v3");
	ck_assert_uint_eq(m.n, 2);
	ck_assert_str_eq(xbt_map_get(&m, "k1"), "v3");
	ck_assert_str_eq(m.keys[0], "k1");
	ck_assert_ptr_null(xbt_map_get(&m, "k3"));
	ck_assert_ptr_null(xbt_map_get(&m, NULL));
	ck_assert(xbt_map_remove(&m, "k1"));
	ck_assert(!xbt_map_remove(&m, "k1"));
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(m.keys[0], "k2");
	ck_assert_str_eq(m.vals[0], "v2");
	xbt_map_clear(&m);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_ptr_null(m.keys);
}
END_TEST

START_TEST(test_datetime)
{
	char buf[XBT_DATETIME_LEN + 1];
	int64_t s = -1;

	ck_assert(xbt_datetime_parse("19700101T00:00:00Z", 18, &s));
	ck_assert_int_eq(s, 0);
	ck_assert(xbt_datetime_parse("20260101T00:00:00", 17, &s));
	ck_assert_int_eq(s, 1767225600);
	ck_assert(xbt_datetime_parse("2000-02-29T12:00:00Z", 20, &s));
	ck_assert_int_eq(s, 951825600);
	ck_assert(xbt_datetime_parse("99991231T23:59:59Z", 18, &s));
	ck_assert_int_eq(s, 253402300799LL);
	ck_assert(!xbt_datetime_parse("19000229T00:00:00Z", 18, &s));
	ck_assert(!xbt_datetime_parse("20260101T00:00:60Z", 18, &s));
	ck_assert(!xbt_datetime_parse("20260100T00:00:00Z", 18, &s));
	ck_assert(!xbt_datetime_parse("2026010xT00:00:00Z", 18, &s));
	ck_assert(!xbt_datetime_parse("20260101 00:00:00Z", 18, &s));
	ck_assert(!xbt_datetime_parse("", 0, &s));
	/* length is what counts, not a NUL */
	ck_assert(!xbt_datetime_parse("20260101T00:00:00Z", 16, &s));

	xbt_datetime_format(0, buf);
	ck_assert_str_eq(buf, "19700101T00:00:00Z");
	xbt_datetime_format(-5, buf);
	ck_assert_str_eq(buf, "19700101T00:00:00Z");
	xbt_datetime_format(951825600, buf);
	ck_assert_str_eq(buf, "20000229T12:00:00Z");
	xbt_datetime_format(1767225600 + 86399, buf);
	ck_assert_str_eq(buf, "20260101T23:59:59Z");
	xbt_datetime_format(253402300799LL, buf);
	ck_assert_str_eq(buf, "99991231T23:59:59Z");
	/* every day of a leap and a plain year round-trips */
	for (int64_t t = 1704067200; t < 1704067200 + 2 * 366 * 86400;
	     t += 86400 + 3601) {
		xbt_datetime_format(t, buf);
		ck_assert(xbt_datetime_parse(buf, strlen(buf), &s));
		ck_assert_int_eq(s, t);
	}
}
END_TEST

START_TEST(test_param_default)
{
	const xbt_message_desc *m = msg("session.login_with_password");
	xmlrpc_value *v;

	ck_assert_ptr_null(xbt_param_default(&m->params[0]));
	ck_assert_ptr_null(xbt_param_default(&m->params[1]));
	v = xbt_param_default(&m->params[2]);
	assert_ser(v, "<value><string></string></value>");
	xmlrpc_DECREF(v);
	ck_assert_ptr_null(xbt_param_default(&msg("VM.start")->params[1]));

	/* other kinds, on hand-made descriptors */
	xbt_param_desc p = { "p", tk_type(T_INT), "-7", "" };

	v = xbt_param_default(&p);
	assert_ser(v, "<value><i8>-7</i8></value>");
	xmlrpc_DECREF(v);
	p = (xbt_param_desc){ "p", tk_type(T_FLOAT), "2.5", "" };
	v = xbt_param_default(&p);
	assert_ser(v, "<value><double>2.5</double></value>");
	xmlrpc_DECREF(v);
	p = (xbt_param_desc){ "p", tk_type(T_BOOL), "true", "" };
	v = xbt_param_default(&p);
	assert_ser(v, "<value><boolean>1</boolean></value>");
	xmlrpc_DECREF(v);
	p = (xbt_param_desc){ "p", tk_type(T_DATETIME), "20260101T00:00:00Z",
			      "" };
	v = xbt_param_default(&p);
	assert_ser(v, "<value><dateTime.iso8601>20260101T00:00:00"
		   "</dateTime.iso8601></value>");
	xmlrpc_DECREF(v);
	p = (xbt_param_desc){ "p", tk_type(T_ENUM), "Paused", "" };
	v = xbt_param_default(&p);
	assert_ser(v, "<value><string>Paused</string></value>");
	xmlrpc_DECREF(v);
}
END_TEST

START_TEST(test_value_helpers)
{
	xmlrpc_value *v;
	xbt_strv s = { NULL, 0 };
	xbt_map m = { NULL, NULL, 0 };

	v = xbt_value_int(-42);
	assert_ser(v, "<value><string>-42</string></value>");
	xmlrpc_DECREF(v);
	v = xbt_value_int(INT64_MIN);
	assert_ser(v, "<value><string>-9223372036854775808</string></value>");
	xmlrpc_DECREF(v);
	v = xbt_value_ref(NULL);
	assert_ser(v, "<value><string>OpaqueRef:NULL</string></value>");
	xmlrpc_DECREF(v);
	v = xbt_value_string(NULL);
	assert_ser(v, "<value><string></string></value>");
	xmlrpc_DECREF(v);
	v = xbt_value_datetime(-1);
	assert_ser(v, "<value><dateTime.iso8601>19700101T00:00:00"
		   "</dateTime.iso8601></value>");
	xmlrpc_DECREF(v);
	v = xbt_value_strv(NULL);
	assert_ser(v, "<value><array><data></data></array></value>");
	xmlrpc_DECREF(v);
	v = xbt_value_map(NULL);
	assert_ser(v, "<value><struct></struct></value>");
	xmlrpc_DECREF(v);
	xbt_strv_add(&s, "x");
	v = xbt_value_strv(&s);
	assert_ser(v, "<value><array><data><value><string>x</string></value>"
		   "</data></array></value>");
	xmlrpc_DECREF(v);
	xbt_map_set(&m, "k", "v");
	v = xbt_value_map(&m);
	assert_ser(v, "<value><struct><member><name>k</name><value><string>v"
		   "</string></value></member></struct></value>");
	xmlrpc_DECREF(v);
	xbt_strv_clear(&s);
	xbt_map_clear(&m);
}
END_TEST

/* ---- client stubs, against a mock xbt_client_call ---------------------------------- */

static char *mock_method;
static char *mock_params;
static bool mock_fail;

xbt_error *xbt_client_call(xbt_client *c, const char *method,
			   xmlrpc_value *params, xmlrpc_value **result)
{
	free(mock_method);
	free(mock_params);
	mock_method = xbt_strdup(method);
	mock_params = ser(params);
	if (mock_fail)
		return XBT_RAISE("HANDLE_INVALID", "VM", "OpaqueRef:x");
	*result = xbt_value_string("ok");
	return NULL;
}

static void mock_reset(void)
{
	free(mock_method);
	free(mock_params);
	mock_method = mock_params = NULL;
	mock_fail = false;
}

#define S(x) "<value><string>" x "</string></value>"
#define ARR(x) "<value><array><data>" x "</data></array></value>"

START_TEST(test_stubs)
{
	xmlrpc_value *r = NULL;
	xbt_strv classes = { NULL, 0 };
	xbt_map oc = { NULL, NULL, 0 };

	ck_assert_ptr_null(xbt_session_login_with_password(NULL, "root", "xbt",
							   "1.0", "t", &r));
	ck_assert_str_eq(mock_method, "session.login_with_password");
	ck_assert_str_eq(mock_params, ARR(S("root") S("xbt") S("1.0") S("t")));
	assert_ser(r, S("ok"));
	xmlrpc_DECREF(r);

	ck_assert_ptr_null(xbt_vm_start(NULL, "OpaqueRef:s", "OpaqueRef:v",
					true, false, &r));
	ck_assert_str_eq(mock_method, "VM.start");
	ck_assert_str_eq(mock_params, ARR(S("OpaqueRef:s") S("OpaqueRef:v")
		"<value><boolean>1</boolean></value>"
		"<value><boolean>0</boolean></value>"));
	xmlrpc_DECREF(r);

	ck_assert_ptr_null(xbt_async_vm_start(NULL, "OpaqueRef:s", NULL, false,
					      false, &r));
	ck_assert_str_eq(mock_method, "Async.VM.start");
	ck_assert_str_eq(mock_params, ARR(S("OpaqueRef:s") S("OpaqueRef:NULL")
		"<value><boolean>0</boolean></value>"
		"<value><boolean>0</boolean></value>"));
	xmlrpc_DECREF(r);

	/* ints as decimal strings */
	ck_assert_ptr_null(xbt_vm_set_user_version(NULL, "s", "v", -42, &r));
	ck_assert_str_eq(mock_method, "VM.set_user_version");
	ck_assert_str_eq(mock_params, ARR(S("s") S("v") S("-42")));
	xmlrpc_DECREF(r);

	/* enums by wire string, floats as doubles, NULL sets empty */
	ck_assert_ptr_null(xbt_task_set_status(NULL, "s", "t", "success", &r));
	ck_assert_str_eq(mock_params, ARR(S("s") S("t") S("success")));
	xmlrpc_DECREF(r);
	ck_assert_ptr_null(xbt_task_set_error_info(NULL, "s", "t", NULL, &r));
	ck_assert_str_eq(mock_params, ARR(S("s") S("t")
				      "<value><array><data></data></array></value>"));
	xmlrpc_DECREF(r);
	xbt_strv_add(&classes, "vm");
	ck_assert_ptr_null(xbt_event_from(NULL, "s", &classes, "", 30.5, &r));
	ck_assert_str_eq(mock_method, "event.from");
	ck_assert_str_eq(mock_params, ARR(S("s") ARR(S("vm")) S("")
				      "<value><double>30.5</double></value>"));
	xmlrpc_DECREF(r);
	/* a param named like a C++ keyword gets a trailing _ in C only */
	ck_assert_ptr_null(xbt_event_inject(NULL, "s", "VM", "OpaqueRef:v", &r));
	ck_assert_str_eq(mock_params, ARR(S("s") S("VM") S("OpaqueRef:v")));
	xmlrpc_DECREF(r);

	xbt_map_set(&oc, "k", "v");
	ck_assert_ptr_null(xbt_pool_set_other_config(NULL, "s", "p", &oc, &r));
	ck_assert_str_eq(mock_params, ARR(S("s") S("p")
		"<value><struct><member><name>k</name>" S("v")
		"</member></struct></value>"));
	xmlrpc_DECREF(r);
	ck_assert_ptr_null(xbt_pool_get_all_records(NULL, "s", &r));
	ck_assert_str_eq(mock_method, "pool.get_all_records");
	ck_assert_str_eq(mock_params, ARR(S("s")));
	xmlrpc_DECREF(r);
	ck_assert_ptr_null(xbt_async_pbd_plug(NULL, "s", "OpaqueRef:p", &r));
	ck_assert_str_eq(mock_method, "Async.PBD.plug");
	xmlrpc_DECREF(r);

	/* errors pass through with a frame added on the way */
	mock_fail = true;
	r = NULL;
	xbt_error *e = xbt_vm_get_power_state(NULL, "s", "OpaqueRef:x", &r);

	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->bt.n, 2);
	ck_assert_str_eq(e->bt.frames[1].filename, "api/xenapi_client.c");
	assert_error(e, "HANDLE_INVALID", 2, "VM", "OpaqueRef:x");

	xbt_strv_clear(&classes);
	xbt_map_clear(&oc);
	mock_reset();
}
END_TEST

/* xenops's stubs: no session; a record set is passed as the caller's value. */
START_TEST(test_xops_stubs)
{
	xmlrpc_value *r = NULL;
	xmlrpc_value *disks = xbt_value_array();
	xmlrpc_value *disk = xbt_value_struct();
	xbt_buf want = XBT_BUF_INIT;
	char *sd;

	xbt_value_put(disk, "mode", xbt_value_string("RO"));
	xbt_value_push(disks, disk);
	sd = ser(disks);
	xbt_buf_addf(&want, ARR(S("dbg") S("u0") S("OpaqueRef:s") "%s"), sd);
	ck_assert_ptr_null(xops_vm_start(NULL, "dbg", "u0", "OpaqueRef:s",
					 disks, &r));
	ck_assert_str_eq(mock_method, "VM.start");
	ck_assert_str_eq(mock_params, want.buf);
	xmlrpc_DECREF(r);
	/* borrowed: still the caller's */
	ck_assert_uint_eq(xbt_value_size(disks), 1);
	xmlrpc_DECREF(disks);

	ck_assert_ptr_null(xops_vm_shutdown(NULL, "dbg", "u0", "s", NULL, true,
					    &r));
	ck_assert_str_eq(mock_method, "VM.shutdown");
	ck_assert_str_eq(mock_params, ARR(S("dbg") S("u0") S("s")
		"<value><array><data></data></array></value>"
		"<value><boolean>1</boolean></value>"));
	xmlrpc_DECREF(r);

	ck_assert_ptr_null(xops_task_stat(NULL, "dbg", "t1", &r));
	ck_assert_str_eq(mock_method, "TASK.stat");
	ck_assert_str_eq(mock_params, ARR(S("dbg") S("t1")));
	xmlrpc_DECREF(r);
	ck_assert_ptr_null(xops_updates_get(NULL, "dbg", 12, 30, &r));
	ck_assert_str_eq(mock_method, "UPDATES.get");
	ck_assert_str_eq(mock_params, ARR(S("dbg") S("12") S("30")));
	xmlrpc_DECREF(r);

	mock_fail = true;
	r = NULL;
	xbt_error *e = xops_task_cancel(NULL, "dbg", "t1", &r);

	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->bt.frames[1].filename, "api/xenops_client.c");
	xbt_error_free(e);
	free(sd);
	xbt_buf_release(&want);
	mock_reset();
}
END_TEST

/* ---- the server's dispatch table ------------------------------------------------ */

/*
 * Built with XBTD_WEAK_HANDLERS: defining a handler makes the weak reference
 * in xbtd_handlers[] resolve; the others stay NULL.
 */
xbt_error *vm_start(struct call *call, xmlrpc_value *const *args,
		    xmlrpc_value **result)
{
	*result = NULL;
	return NULL;
}

START_TEST(test_dispatch_table)
{
	ck_assert_uint_eq(xbtd_nhandlers, xbt_nmessages);
	ck_assert_ptr_eq(xbtd_handlers[XBT_MSG_VM_START], vm_start);
	/* declared but not written here: NULL, not a crash */
	ck_assert_ptr_null(xbtd_handlers[XBT_MSG_VM_HARD_SHUTDOWN]);
	ck_assert_ptr_null(xbtd_handlers[XBT_MSG_SESSION_LOGIN_WITH_PASSWORD]);
	for (size_t i = 0; i < xbt_nmessages; i++)
		if (xbt_messages[i].kind != XBT_MSG_CUSTOM)
			ck_assert_ptr_null(xbtd_handlers[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_task_fields);
	tcase_add_test(tc, test_enums);
	tcase_add_test(tc, test_messages_pool_roles);
	tcase_add_test(tc, test_messages_lookup);
	tcase_add_test(tc, test_messages_implicit);
	tcase_add_test(tc, test_messages_table);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_raise_helpers);
	tcase_add_test(tc, test_enum_names);
	tcase_add_test(tc, test_record_defaults);
	tcase_add_test(tc, test_record_every_class);
	tcase_add_test(tc, test_record_copy);
	tcase_add_test(tc, test_record_to_value);
	tcase_add_test(tc, test_record_round_trip);
	tcase_add_test(tc, test_record_from_value_errors);
	tcase_add_test(tc, test_field_from_value);
	tcase_add_loop_test(tc, test_value_check, 0,
			    sizeof(check_cases) / sizeof(check_cases[0]));
	tcase_add_test(tc, test_value_check_nul);
	tcase_add_test(tc, test_value_check_frame);
	tcase_add_test(tc, test_strv_map);
	tcase_add_test(tc, test_datetime);
	tcase_add_test(tc, test_param_default);
	tcase_add_test(tc, test_value_helpers);
	tcase_add_test(tc, test_stubs);
	tcase_add_test(tc, test_xops_model);
	tcase_add_test(tc, test_xops_types);
	tcase_add_test(tc, test_xops_value_check);
	tcase_add_test(tc, test_xops_task_record);
	tcase_add_test(tc, test_xops_stubs);
	tcase_add_test(tc, test_dispatch_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
