/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VM class: a fake VM.start that attaches and activates every disk
 * through its SR's SMAPIv1 plugin, undoing what it did when a step fails,
 * and the two shutdowns that deactivate and detach.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sm.h"
#include "xbtd.h"

/* One disk of the VM, copied out of the store so plugins run unlocked. */
struct vm_disk {
	char *vbd;
	char *vdi;
	char *vdi_uuid;
	char *vdi_location;
	char *sr;
	char *sr_uuid;
	char *sr_type;
	xbt_map device_config;
	bool rw;
	bool attached;   /* progress of this operation, for the undo */
	bool activated;
};

struct vm_op {
	const char *vm;
	char op_ref[64];      /* current_operations key: the task, if any */
	char *sm_session;     /* the plugins' session, valid while they run */
	struct vm_disk *disks;
	size_t ndisks;
};

static const char *vm_power_lower(int state)
{
	static const char *const lower[] = { "halted", "paused", "running",
					     "suspended" };
	return state >= 0 && state < 4 ? lower[state] : "unknown";
}

void vm_update_allowed(struct xbt_vm_record *vm)
{
	xbt_strv_clear(&vm->allowed_operations);
	if (vm->current_operations.n)
		return; /* one operation at a time */
	switch (vm->power_state) {
	case XBT_VM_POWER_STATE_HALTED:
		if (!vm->is_a_template)
			xbt_strv_add(&vm->allowed_operations,
				     XBT_VM_OPERATIONS_START_NAME);
		break;
	case XBT_VM_POWER_STATE_RUNNING:
		xbt_strv_add(&vm->allowed_operations,
			     XBT_VM_OPERATIONS_CLEAN_SHUTDOWN_NAME);
		xbt_strv_add(&vm->allowed_operations,
			     XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME);
		break;
	case XBT_VM_POWER_STATE_PAUSED:
		xbt_strv_add(&vm->allowed_operations,
			     XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME);
		break;
	default:
		break;
	}
}

static void vm_disks_free(struct vm_op *op)
{
	for (size_t i = 0; i < op->ndisks; i++) {
		struct vm_disk *d = &op->disks[i];
		free(d->vbd);
		free(d->vdi);
		free(d->vdi_uuid);
		free(d->vdi_location);
		free(d->sr);
		free(d->sr_uuid);
		free(d->sr_type);
		xbt_map_clear(&d->device_config);
	}
	free(op->disks);
	op->disks = NULL;
	op->ndisks = 0;
}

/* The plugged PBD of sr on this host, or NULL. Under the lock. */
static const struct xbt_pbd_record *
vm_plugged_pbd(const struct xbt_sr_record *sr)
{
	for (size_t i = 0; i < sr->PBDs.n; i++) {
		const struct xbt_pbd_record *p =
			store_get(&xbt_class_pbd, sr->PBDs.v[i]);
		if (p && p->currently_attached &&
		    strcmp(p->host, host_self()) == 0)
			return p;
	}
	return NULL;
}

/*
 * Copies the disks of the VM (only attached ones when `attached_only`),
 * checking that each SR is plugged. Under the lock.
 */
static xbt_error *vm_collect_disks(struct vm_op *op,
				   const struct xbt_vm_record *vm,
				   bool attached_only)
{
	xbt_error *err = NULL;

	op->disks = xbt_calloc(vm->VBDs.n ? vm->VBDs.n : 1, sizeof(*op->disks));
	for (size_t i = 0; i < vm->VBDs.n && !err; i++) {
		const struct xbt_vbd_record *b =
			store_get(&xbt_class_vbd, vm->VBDs.v[i]);
		const struct xbt_vdi_record *v;
		const struct xbt_sr_record *sr;
		const struct xbt_pbd_record *pbd;
		if (!b || b->empty || (attached_only && !b->currently_attached))
			continue;
		v = store_get(&xbt_class_vdi, b->VDI);
		sr = v ? store_get(&xbt_class_sr, v->SR) : NULL;
		if (!v || !sr) {
			err = XBT_RAISE_HANDLE_INVALID("VDI", b->VDI);
			break;
		}
		pbd = vm_plugged_pbd(sr);
		if (!pbd) {
			err = XBT_RAISE_VM_REQUIRES_SR(op->vm, v->SR);
			break;
		}
		struct vm_disk *d = &op->disks[op->ndisks++];
		d->vbd = xbt_strdup(vm->VBDs.v[i]);
		d->vdi = xbt_strdup(b->VDI);
		d->vdi_uuid = xbt_strdup(v->uuid);
		d->vdi_location = xbt_strdup(v->location);
		d->sr = xbt_strdup(v->SR);
		d->sr_uuid = xbt_strdup(sr->uuid);
		d->sr_type = xbt_strdup(sr->type);
		for (size_t k = 0; k < pbd->device_config.n; k++)
			xbt_map_set(&d->device_config, pbd->device_config.keys[k],
				    pbd->device_config.vals[k]);
		d->rw = b->mode == XBT_VBD_MODE_RW && !v->read_only;
		d->attached = d->activated = attached_only;
	}
	return err;
}

/* Builds the SMAPIv1 call struct for one command on one disk. */
static xmlrpc_value *vm_sm_struct(const struct vm_op *op,
				  const struct vm_disk *d, const char *command,
				  const char *const *args, size_t nargs)
{
	xmlrpc_value *dc = xbt_value_map(&d->device_config), *st;
	struct sm_call_args a = {
		.host_ref = host_self(),
		.session_ref = op->sm_session,
		.sr_ref = d->sr,
		.sr_uuid = d->sr_uuid,
		.vdi_ref = d->vdi,
		.vdi_location = d->vdi_location,
		.vdi_uuid = d->vdi_uuid,
		.device_config = dc,
		.args = args,
		.nargs = nargs,
	};

	st = sm_call_new(command, &a);
	xmlrpc_DECREF(dc);
	return st;
}

static xbt_error *vm_sm(const struct vm_op *op, const struct vm_disk *d,
			const char *command, const char *const *args,
			size_t nargs)
{
	struct sm_config cfg = {
		.sm_dir = xbtd_conf.sm_dir,
		.timeout_s = xbtd_conf.plugin_timeout_s,
		.hostname = xbtd_conf.hostname,
	};
	xmlrpc_value *st = vm_sm_struct(op, d, command, args, nargs);
	xmlrpc_value *result = NULL;
	xbt_error *err;

	err = XBT_PROPAGATE(sm_call(&cfg, d->sr_type, command, st, &result));
	if (result)
		xmlrpc_DECREF(result);
	xmlrpc_DECREF(st);
	return err;
}

/*
 * Deactivates and detaches, innermost step first, every disk this
 * operation brought up. A failing step is logged and never replaces the
 * caller's error (the seed's `finally` lesson).
 */
static xbt_error *vm_undo(struct vm_op *op, bool keep_going)
{
	xbt_error *first = NULL;

	for (size_t i = op->ndisks; i-- > 0;) {
		struct vm_disk *d = &op->disks[i];
		xbt_error *err = NULL;
		if (d->activated) {
			err = XBT_PROPAGATE(vm_sm(op, d, "vdi_deactivate", NULL, 0));
			if (!err)
				d->activated = false;
		}
		if (!err && d->attached) {
			err = XBT_PROPAGATE(vm_sm(op, d, "vdi_detach", NULL, 0));
			if (!err)
				d->attached = false;
		}
		if (err && keep_going && !first) {
			first = err;
		} else if (err) {
			char what[160];
			snprintf(what, sizeof(what), "undo on VDI %s (ignored)",
				 d->vdi);
			log_backtrace(LOG_LEVEL_WARN, what, err);
			xbt_error_free(err);
		}
	}
	return first;
}

/*
 * Claims the VM for an operation: checks, current_operations, and a copy
 * of its disks. On success the VM shows the operation until vm_release.
 */
static xbt_error *vm_claim(struct vm_op *op, struct call *call, const char *name,
			   int expected_state, bool attached_only)
{
	struct xbt_vm_record *vm;
	xbt_error *err;

	if (call->task)
		snprintf(op->op_ref, sizeof(op->op_ref), "%s", call->task);
	else {
		char uuid[40];
		store_new_uuid(uuid);
		snprintf(op->op_ref, sizeof(op->op_ref), "OpaqueRef:%s", uuid);
	}
	store_lock();
	err = XBT_PROPAGATE(store_need_edit(&xbt_class_vm, op->vm,
					    (void **)&vm));
	if (err)
		goto out;
	if (vm->is_a_template) {
		err = XBT_RAISE_VM_IS_TEMPLATE(op->vm, name);
		goto out;
	}
	if (vm->current_operations.n) {
		err = XBT_RAISE_OTHER_OPERATION_IN_PROGRESS("VM", op->vm,
				vm->current_operations.vals[0],
				vm->current_operations.keys[0]);
		goto out;
	}
	if (expected_state >= 0 && vm->power_state != expected_state) {
		err = XBT_RAISE_VM_BAD_POWER_STATE(op->vm,
				vm_power_lower(expected_state),
				vm_power_lower(vm->power_state));
		goto out;
	}
	if (expected_state < 0 && vm->power_state != XBT_VM_POWER_STATE_RUNNING &&
	    vm->power_state != XBT_VM_POWER_STATE_PAUSED) {
		err = XBT_RAISE_VM_BAD_POWER_STATE(op->vm, "running",
				vm_power_lower(vm->power_state));
		goto out;
	}
	if ((err = XBT_PROPAGATE(vm_collect_disks(op, vm, attached_only))))
		goto out;
	xbt_map_set(&vm->current_operations, op->op_ref, name);
	vm_update_allowed(vm);
out:
	store_unlock();
	if (err)
		vm_disks_free(op);
	return err;
}

/* Ends the operation; with `done`, the VM and its VBDs take new_state. */
static void vm_release(struct vm_op *op, bool done, int new_state)
{
	static int64_t vm_next_domid = 1;
	struct xbt_vm_record *vm;
	struct xbt_host_record *host;

	store_lock();
	vm = store_edit(&xbt_class_vm, op->vm);
	if (!vm)
		goto out;
	xbt_map_remove(&vm->current_operations, op->op_ref);
	if (done) {
		bool up = new_state != XBT_VM_POWER_STATE_HALTED;
		vm->power_state = new_state;
		free(vm->resident_on);
		vm->resident_on = xbt_strdup(up ? host_self() : XBT_REF_NULL);
		vm->domid = up ? vm_next_domid++ : -1;
		for (size_t i = 0; i < op->ndisks; i++) {
			struct xbt_vbd_record *b =
				store_edit(&xbt_class_vbd, op->disks[i].vbd);
			if (b)
				b->currently_attached = up;
		}
		host = store_edit(&xbt_class_host, host_self());
		if (host) {
			if (up)
				xbt_strv_add(&host->resident_VMs, op->vm);
			else
				xbt_strv_remove(&host->resident_VMs, op->vm);
		}
	}
	vm_update_allowed(vm);
out:
	store_unlock();
}

static void vm_op_end(struct vm_op *op)
{
	if (op->sm_session) {
		store_lock();
		session_destroy(op->sm_session);
		store_unlock();
	}
	free(op->sm_session);
	vm_disks_free(op);
}

xbt_error *vm_start(struct call *call, xmlrpc_value *const *args,
		    xmlrpc_value **result)
{
	struct vm_op op = { .vm = call->argv[0].s };
	bool paused = call->argv[1].b;
	static const char *const rw[] = { "true" };
	static const char *const ro[] = { "false" };
	xbt_error *err;

	err = XBT_PROPAGATE(vm_claim(&op, call, XBT_VM_OPERATIONS_START_NAME,
				     XBT_VM_POWER_STATE_HALTED, false));
	if (err)
		goto out;
	op.sm_session = session_open_internal("root", "SM");
	for (size_t i = 0; i < op.ndisks && !err; i++) {
		struct vm_disk *d = &op.disks[i];
		if (call->task && (err = XBT_PROPAGATE(task_check_cancel(call->task))))
			break;
		err = XBT_PROPAGATE(vm_sm(&op, d, "vdi_attach", d->rw ? rw : ro, 1));
		if (err)
			break;
		d->attached = true;
		err = XBT_PROPAGATE(vm_sm(&op, d, "vdi_activate", NULL, 0));
		if (err)
			break;
		d->activated = true;
		if (call->task)
			task_progress(call->task, (double)(i + 1) / (double)(op.ndisks + 1));
	}
	if (err)
		xbt_error_free(vm_undo(&op, false));
	vm_release(&op, !err, paused ? XBT_VM_POWER_STATE_PAUSED
				     : XBT_VM_POWER_STATE_RUNNING);
	vm_op_end(&op);
out:
	return err;
}

static xbt_error *vm_shutdown(struct call *call, const char *name)
{
	struct vm_op op = { .vm = call->argv[0].s };
	bool hard = strcmp(name, XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME) == 0;
	xbt_error *err;

	/* As xapi: a paused VM can only be hard shut down. */
	err = XBT_PROPAGATE(vm_claim(&op, call, name,
				     hard ? -1 : XBT_VM_POWER_STATE_RUNNING,
				     true));
	if (err)
		goto out;
	op.sm_session = session_open_internal("root", "SM");
	/* A hard shutdown halts the VM even when a plugin fails. */
	err = XBT_PROPAGATE(vm_undo(&op, true));
	if (err && hard) {
		log_backtrace(LOG_LEVEL_WARN, "hard_shutdown: ignored", err);
		xbt_error_free(err);
		err = NULL;
	}
	vm_release(&op, !err, XBT_VM_POWER_STATE_HALTED);
	vm_op_end(&op);
out:
	return err;
}

xbt_error *vm_clean_shutdown(struct call *call, xmlrpc_value *const *args,
			     xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_shutdown(call,
					 XBT_VM_OPERATIONS_CLEAN_SHUTDOWN_NAME));
}

xbt_error *vm_hard_shutdown(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_shutdown(call,
					 XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME));
}
