/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xe: the command table, help, and main: parse, connect, run, report.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>

#include "xbt/client.h"
#include "xbt/xenapi.h"
#include "xe.h"

#define XE_CLASS_GETTER(lc, cli) \
	static const struct xe_class *cls_##lc(void) \
	{ \
		return xe_class_find(cli); \
	}
XE_CLASS_GETTER(vm, "vm")
XE_CLASS_GETTER(sr, "sr")
XE_CLASS_GETTER(vdi, "vdi")
XE_CLASS_GETTER(vbd, "vbd")
XE_CLASS_GETTER(host, "host")
XE_CLASS_GETTER(task, "task")
XE_CLASS_GETTER(network, "network")
XE_CLASS_GETTER(vif, "vif")
XE_CLASS_GETTER(pif, "pif")
XE_CLASS_GETTER(host_cpu, "host-cpu")
XE_CLASS_GETTER(console, "console")

static const char *const reqd_uuid[] = { "uuid", NULL };
static const char *const reqd_param_get[] = { "uuid", "param-name", NULL };
static const char *const reqd_host_uuid[] = { "host-uuid", NULL };
static const char *const reqd_pool_join[] = { "master-address",
	"master-username", "master-password", NULL };

#define LIST_OPTIONAL "params, <field>=<value>, <map>:<key>=<value>, " \
	"<set>:contains=<value>"
#define LIST_HELP(what) \
	"Lists the " what ", filtered on the given fields. params=all " \
	"shows every field; params=a,b shows those; --minimal prints " \
	"the uuids (the first field shown) separated by commas."
#define PARAM_GET_HELP \
	"Prints one field of the object with that uuid; param-key=<key> " \
	"picks one entry of a map field."
#define PARAM_LIST_HELP \
	"Prints every field of the object with that uuid, laid out as " \
	"<class>-list lays out a record."
/* The list, param-list and param-get commands of a class. */
#define LIST_CMD(cli, lc, what) \
	{ cli "-list", "list " what, LIST_HELP(what), \
	  NULL, LIST_OPTIONAL, true, xe_cmd_list, cls_##lc }
#define PARAM_LIST_CMD(cli, lc, what) \
	{ cli "-param-list", "print every field of " what, PARAM_LIST_HELP, \
	  reqd_uuid, "", true, xe_cmd_param_list, cls_##lc }
#define PARAM_GET_CMD(cli, lc, what) \
	{ cli "-param-get", "print one field of " what, PARAM_GET_HELP, \
	  reqd_param_get, "param-key", true, xe_cmd_param_get, cls_##lc }
#define VM_SELECT_OPTIONAL "vm, <vm-selectors>, multiple"

const struct xe_cmd xe_cmds[] = {
	LIST_CMD("console", console, "consoles"),
	PARAM_GET_CMD("console", console, "a console"),
	PARAM_LIST_CMD("console", console, "a console"),
	{ "help", "show the commands, or one command's parameters",
	  "Shows every command, or the parameters of the one named.",
	  NULL, "<command>", false, xe_cmd_help, NULL },
	LIST_CMD("host-cpu", host_cpu, "host CPUs"),
	PARAM_GET_CMD("host-cpu", host_cpu, "a host CPU"),
	PARAM_LIST_CMD("host-cpu", host_cpu, "a host CPU"),
	LIST_CMD("host", host, "hosts"),
	PARAM_GET_CMD("host", host, "a host"),
	PARAM_LIST_CMD("host", host, "a host"),
	LIST_CMD("network", network, "networks"),
	PARAM_GET_CMD("network", network, "a network"),
	PARAM_LIST_CMD("network", network, "a network"),
	LIST_CMD("pif", pif, "physical network interfaces"),
	PARAM_GET_CMD("pif", pif, "a physical network interface"),
	PARAM_LIST_CMD("pif", pif, "a physical network interface"),
	{ "pool-eject", "make a host leave the pool",
	  "Ejects the host with that uuid from the pool; it restarts as the "
	  "master of a pool of its own. Lists the VDIs of the host's local "
	  "SRs and asks for 'yes' unless --force.",
	  reqd_host_uuid, "force", true, xe_cmd_pool_eject, NULL },
	{ "pool-join", "make this host join a pool",
	  "Makes the host xe talks to a slave of the master at "
	  "master-address, logging in there with master-username and "
	  "master-password. force is accepted and changes nothing.",
	  reqd_pool_join, "force", true, xe_cmd_pool_join, NULL },
	LIST_CMD("sr", sr, "storage repositories"),
	PARAM_GET_CMD("sr", sr, "a storage repository"),
	PARAM_LIST_CMD("sr", sr, "a storage repository"),
	{ "task-cancel", "ask a pending task to stop",
	  "Asks the task with that uuid to stop; it ends as cancelled.",
	  reqd_uuid, "", true, xe_cmd_task_cancel, cls_task },
	{ "task-destroy", "forget a task",
	  "Removes the task with that uuid.",
	  reqd_uuid, "", true, xe_cmd_task_destroy, cls_task },
	LIST_CMD("task", task, "tasks"),
	{ "task-param-get", "print one field of a task",
	  PARAM_GET_HELP " param-name=backtrace prints the task's backtrace "
	  "as the server stores it (an s-expression).",
	  reqd_param_get, "param-key", true, xe_cmd_param_get, cls_task },
	PARAM_LIST_CMD("task", task, "a task"),
	LIST_CMD("vbd", vbd, "virtual block devices"),
	PARAM_GET_CMD("vbd", vbd, "a virtual block device"),
	PARAM_LIST_CMD("vbd", vbd, "a virtual block device"),
	LIST_CMD("vdi", vdi, "virtual disk images"),
	PARAM_GET_CMD("vdi", vdi, "a virtual disk image"),
	PARAM_LIST_CMD("vdi", vdi, "a virtual disk image"),
	LIST_CMD("vif", vif, "virtual network interfaces"),
	PARAM_GET_CMD("vif", vif, "a virtual network interface"),
	PARAM_LIST_CMD("vif", vif, "a virtual network interface"),
	{ "vm-list", "list VMs (templates excluded)",
	  LIST_HELP("VMs that are not templates"),
	  NULL, LIST_OPTIONAL, true, xe_cmd_list, cls_vm },
	PARAM_GET_CMD("vm", vm, "a VM"),
	PARAM_LIST_CMD("vm", vm, "a VM"),
	{ "vm-shutdown", "shut VMs down",
	  "Shuts the selected VM down cleanly, or at once with force=true. "
	  "VMs are selected by vm=<name or uuid> and by field filters "
	  "(power-state=running); more than one needs --multiple.",
	  NULL, "force, " VM_SELECT_OPTIONAL, true, xe_cmd_vm_shutdown,
	  cls_vm },
	{ "vm-start", "start VMs",
	  "Starts the selected VM, paused with paused=true. VMs are selected "
	  "by vm=<name or uuid> and by field filters (power-state=halted); "
	  "more than one needs --multiple. With --trace a failure prints "
	  "the task's backtrace.",
	  NULL, "force, paused, " VM_SELECT_OPTIONAL, true, xe_cmd_vm_start,
	  cls_vm },
};
const size_t xe_ncmds = sizeof(xe_cmds) / sizeof(xe_cmds[0]);

const struct xe_cmd *xe_cmd_find(const char *name)
{
	for (size_t i = 0; i < xe_ncmds; i++)
		if (strcmp(xe_cmds[i].name, name) == 0)
			return &xe_cmds[i];
	return NULL;
}

static const char usage_text[] =
	"Usage: xe <command> [-s <server>] [-p <port>] [-u <user>]\n"
	"          [-pw <password> | -pwf <password file>] [--minimal] "
	"[--trace]\n"
	"          [<key>=<value> ...]\n"
	"Defaults: server 127.0.0.1, port 8080, user root, password xbt.\n"
	"'xe help' lists the commands.\n";

static void add_list(xbt_buf *out, const char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		xbt_buf_addf(out, "%s%s", i ? ", " : "", v[i]);
}

xbt_error *xe_cmd_help(const struct xe_cmd *cmd, struct xe_opts *o,
		       struct xe_conn *conn, xbt_buf *out)
{
	const struct xe_cmd *c;
	xbt_error *err = NULL;

	if (o->nwords == 0) {
		xbt_buf_addstr(out, usage_text);
		xbt_buf_addstr(out, "\nCommands:\n");
		for (size_t i = 0; i < xe_ncmds; i++)
			xbt_buf_addf(out, "  %-20s %s\n", xe_cmds[i].name,
				     xe_cmds[i].synopsis);
		goto out;
	}
	if (!(c = xe_cmd_find(o->words[0]))) {
		err = XBT_RAISE(XE_ERR_UNKNOWN_COMMAND, o->words[0]);
		goto out;
	}
	xbt_buf_addf(out, "command name            : %s\n", c->name);
	xbt_buf_addstr(out, "        reqd params     : ");
	add_list(out, c->reqd);
	xbt_buf_addf(out, "\n        optional params : %s\n", c->optional);
	xbt_buf_addf(out, "        description     : %s\n", c->help);
out:
	return err;
}

/* Parameters a command cannot run without, checked before connecting. */
static xbt_error *check_required(const struct xe_cmd *cmd,
				 const struct xe_opts *o)
{
	const char *v;
	xbt_error *err = NULL;

	for (size_t i = 0; cmd->reqd && cmd->reqd[i] && !err; i++)
		err = xe_param_need(o, cmd->reqd[i], &v);
	return err;
}

/* Message and exit status for an error; trace adds the backtrace. */
static int report(const xbt_error *e, bool trace, xbt_buf *msg)
{
	const char *p0 = e->nparams > 0 ? e->params[0] : "";
	const char *p1 = e->nparams > 1 ? e->params[1] : "";
	int status = XE_EXIT_ERROR;

	if (strcmp(e->code, XE_ERR_USAGE) == 0) {
		xbt_buf_addf(msg, "%s\nFor usage run: 'xe help'\n", p0);
		status = XE_EXIT_USAGE;
	} else if (strcmp(e->code, XE_ERR_UNKNOWN_COMMAND) == 0) {
		xbt_buf_addstr(msg, "Unknown command: ");
		xbt_buf_add_safe(msg, p0, strlen(p0));
		xbt_buf_addstr(msg, "\nFor usage run: 'xe help'\n");
		status = XE_EXIT_USAGE;
	} else if (strcmp(e->code, XE_ERR_FAILURE) == 0) {
		xbt_buf_addstr(msg, "Error: ");
		xbt_buf_add_safe(msg, p0, strlen(p0));
		xbt_buf_addch(msg, '\n');
	} else if (strcmp(e->code, XE_ERR_REPORTED) == 0) {
		;
	} else if (strcmp(e->code, XBT_CLIENT_CONNECT_FAILED) == 0) {
		xbt_buf_addstr(msg, "Unable to contact server. Please check "
			       "server and port settings.\n");
		xbt_buf_addf(msg, "(%s: ", p0);
		xbt_buf_add_safe(msg, p1, strlen(p1));
		xbt_buf_addstr(msg, ")\n");
		status = XE_EXIT_CONNECT;
	} else if (strcmp(e->code, XBT_CLIENT_PROTOCOL_ERROR) == 0) {
		xbt_buf_addf(msg, "Error: %s does not answer as a XenAPI "
			     "server: ", p0);
		xbt_buf_add_safe(msg, p1, strlen(p1));
		xbt_buf_addch(msg, '\n');
		status = XE_EXIT_CONNECT;
	} else if (strcmp(e->code,
			  XBT_ERR_SESSION_AUTHENTICATION_FAILED) == 0) {
		/* As upstream's xe; the server's reason says no more. */
		xbt_buf_addstr(msg, "Authentication failed\n");
		status = XE_EXIT_AUTH;
	} else {
		xe_format_error(e, trace, msg);
	}
	return status;
}

static void write_all(FILE *f, const xbt_buf *b)
{
	if (b->len)
		fwrite(b->buf, 1, b->len, f);
	fflush(f);
}

int main(int argc, char **argv)
{
	struct xe_opts o;
	struct xe_conn conn = { NULL, NULL, NULL };
	const struct xe_cmd *cmd = NULL;
	xbt_buf out = XBT_BUF_INIT, msg = XBT_BUF_INIT;
	char host[256] = "localhost";
	bool trace = false, flag;
	xbt_error *err;
	int status = XE_EXIT_OK;

	gethostname(host, sizeof(host) - 1);
	xbt_set_process("xe", host);
	err = xe_args_parse(argc, argv, getenv("XE_EXTRA_ARGS"),
			    getenv("HOME"), &o);
	if (o.rc_broken)
		fputs("Error parsing rc file. No defaults loaded\n", stderr);
	if (err)
		goto out;
	if (o.help) {
		fputs(usage_text, stdout);
		goto out;
	}
	if (!o.command) {
		fputs(usage_text, stderr);
		status = XE_EXIT_USAGE;
		goto out;
	}
	if (!(cmd = xe_cmd_find(o.command))) {
		err = XBT_RAISE(XE_ERR_UNKNOWN_COMMAND, o.command);
		goto out;
	}
	if ((err = xe_param_bool(&o, "trace", false, &trace)) ||
	    (err = xe_param_bool(&o, "minimal", false, &flag)) ||
	    (err = xe_param_bool(&o, "multiple", false, &flag)) ||
	    (err = check_required(cmd, &o)))
		goto out;
	if (cmd->needs_server && (err = xe_connect(&o, &conn)))
		goto out;
	err = cmd->run(cmd, &o, &conn, &out);
out:
	write_all(stdout, &out);
	if (err) {
		status = report(err, trace, &msg);
		write_all(stderr, &msg);
		xbt_error_free(err);
	}
	xe_disconnect(&conn);
	xe_opts_release(&o);
	xbt_buf_release(&out);
	xbt_buf_release(&msg);
	return status;
}
