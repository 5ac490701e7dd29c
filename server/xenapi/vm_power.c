/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A VM's power states (doc/design.md, "VM power states"): which operation
 * each state allows, as xapi's xapi_vm_lifecycle.ml, and the operations
 * beyond start and shutdown. No guest runs, so pause, unpause and the two
 * reboots only change records, in one hold of the store lock (the domain,
 * its disks and its host stay); suspend and resume take the disks down and
 * up as a clean shutdown and a start do (vm.c), so they run in the VM's
 * host's opsd, on a slave through fwd.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbtd.h"

#define PS(state) (1u << XBT_VM_POWER_STATE_##state)

struct vm_op_rule {
	const char *op;        /* vm_operations name */
	unsigned states;       /* PS() of the states it starts from */
	const char *expected;  /* those, as xapi's VM_BAD_POWER_STATE says */
	bool listed;           /* shown in allowed_operations */
};

/*
 * The operations xbtd serves, in the order of the vm_operations enum
 * (allowed_operations follows it). start_on is left out of
 * allowed_operations, as xbt always did.
 */
static const struct vm_op_rule vm_op_rules[] = {
	{ XBT_VM_OPERATIONS_START_NAME, PS(HALTED), "halted", true },
	{ XBT_VM_OPERATIONS_START_ON_NAME, PS(HALTED), "halted", false },
	{ XBT_VM_OPERATIONS_PAUSE_NAME, PS(RUNNING), "running", true },
	{ XBT_VM_OPERATIONS_UNPAUSE_NAME, PS(PAUSED), "paused", true },
	{ XBT_VM_OPERATIONS_CLEAN_SHUTDOWN_NAME, PS(RUNNING), "running", true },
	{ XBT_VM_OPERATIONS_CLEAN_REBOOT_NAME, PS(RUNNING), "running", true },
	{ XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME,
	  PS(PAUSED) | PS(SUSPENDED) | PS(RUNNING),
	  "paused, suspended, running", true },
	{ XBT_VM_OPERATIONS_HARD_REBOOT_NAME, PS(PAUSED) | PS(RUNNING),
	  "paused, running", true },
	{ XBT_VM_OPERATIONS_SUSPEND_NAME, PS(RUNNING), "running", true },
	{ XBT_VM_OPERATIONS_RESUME_NAME, PS(SUSPENDED), "suspended", true },
};

#define VM_OP_RULES (sizeof(vm_op_rules) / sizeof(vm_op_rules[0]))

static const char *vm_power_lower(int state)
{
	static const char *const lower[] = { "halted", "paused", "running",
					     "suspended" };
	return state >= 0 && state < 4 ? lower[state] : "unknown";
}

static const struct vm_op_rule *vm_op_rule(const char *op)
{
	const struct vm_op_rule *rule = NULL;

	for (size_t i = 0; i < VM_OP_RULES && !rule; i++)
		if (strcmp(vm_op_rules[i].op, op) == 0)
			rule = &vm_op_rules[i];
	return rule;
}

/* xbt keeps its order (template, operation in progress, power state): xapi
 * checks the power state first; they differ only when two apply. */
xbt_error *vm_op_check(const char *ref, const struct xbt_vm_record *vm,
		       const char *op)
{
	const struct vm_op_rule *rule = vm_op_rule(op);
	xbt_error *err = NULL;

	if (!rule)
		err = XBT_RAISE_INTERNAL_ERROR("vm_op_check: unknown op");
	else if (vm->is_a_template)
		err = XBT_RAISE_VM_IS_TEMPLATE(ref, op);
	else if (vm->current_operations.n)
		err = XBT_RAISE_OTHER_OPERATION_IN_PROGRESS("VM", ref,
				vm->current_operations.vals[0],
				vm->current_operations.keys[0]);
	else if (!(rule->states & (1u << vm->power_state)))
		err = XBT_RAISE_VM_BAD_POWER_STATE(ref, rule->expected,
				vm_power_lower(vm->power_state));
	return err;
}

void vm_update_allowed(struct xbt_vm_record *vm)
{
	xbt_strv_clear(&vm->allowed_operations);
	/* One operation at a time; a template allows none of these. */
	for (size_t i = 0; i < VM_OP_RULES && !vm->current_operations.n &&
			   !vm->is_a_template; i++) {
		const struct vm_op_rule *rule = &vm_op_rules[i];

		if (rule->listed && (rule->states & (1u << vm->power_state)))
			xbt_strv_add(&vm->allowed_operations, rule->op);
	}
}

/*
 * pause, unpause and the reboots: checked and recorded at once, so no
 * other call sees them in current_operations. A reboot is a new domain on
 * the same host with the same disks (xapi marks the VBDs meanwhile; here
 * nothing can come between): new domid, console, guest metrics and
 * start_time.
 */
static xbt_error *vm_in_place(struct call *call, const char *op,
			      int new_state, bool restarted)
{
	const char *ref = call->argv[0].s;
	struct xbt_vm_record *vm;
	xbt_error *err = NULL;

	if (call->task)
		err = XBT_PROPAGATE(task_check_cancel(call->task));
	if (err)
		goto out;
	store_lock();
	err = XBT_PROPAGATE(store_need_edit(&xbt_class_vm, ref, (void **)&vm));
	if (!err)
		err = XBT_PROPAGATE(vm_op_check(ref, vm, op));
	if (!err) {
		vm->power_state = new_state;
		if (restarted)
			vm->domid = vm_new_domid();
		guest_power(ref, vm, restarted);
		vm_update_allowed(vm);
	}
	store_unlock();
out:
	return err;
}

xbt_error *vm_pause(struct call *call, xmlrpc_value *const *args,
		    xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_in_place(call, XBT_VM_OPERATIONS_PAUSE_NAME,
					 XBT_VM_POWER_STATE_PAUSED, false));
}

xbt_error *vm_unpause(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_in_place(call, XBT_VM_OPERATIONS_UNPAUSE_NAME,
					 XBT_VM_POWER_STATE_RUNNING, false));
}

xbt_error *vm_clean_reboot(struct call *call, xmlrpc_value *const *args,
			   xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_in_place(call,
					 XBT_VM_OPERATIONS_CLEAN_REBOOT_NAME,
					 XBT_VM_POWER_STATE_RUNNING, true));
}

/* From Paused too: the new domain runs (xapi's reboot does not pause). */
xbt_error *vm_hard_reboot(struct call *call, xmlrpc_value *const *args,
			  xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_in_place(call,
					 XBT_VM_OPERATIONS_HARD_REBOOT_NAME,
					 XBT_VM_POWER_STATE_RUNNING, true));
}

/* The disks go down as in a clean shutdown (a failing plugin leaves the VM
 * running); no memory image is written, so suspend_VDI stays null. */
xbt_error *vm_suspend(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_power_down(call, XBT_VM_OPERATIONS_SUSPEND_NAME,
					   XBT_VM_POWER_STATE_SUSPENDED));
}

/* As a start, placed as one (doc/pools.md); force is accepted and has no
 * effect (xapi's skips a CPU compatibility check). */
xbt_error *vm_resume(struct call *call, xmlrpc_value *const *args,
		     xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_power_up(call, XBT_VM_OPERATIONS_RESUME_NAME,
					 NULL, call->argv[1].b));
}
