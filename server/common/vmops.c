/* SPDX-License-Identifier: BSD-2-Clause */
/* The storage steps of the VM lifecycle (vmops.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "vmops.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"

static void vmops_tell_step(struct vmops *op, const char *name, int state)
{
	if (op->hooks.step)
		op->hooks.step(op->hooks.ctx, name, state);
}

static void vmops_tell_changed(struct vmops *op)
{
	if (op->hooks.changed)
		op->hooks.changed(op->hooks.ctx);
}

/* One plugin call on one disk; counted as progress when cancellable. */
static xbt_error *vmops_step(struct vmops *op, struct vmops_disk *d,
			     const char *command, bool cancellable)
{
	static const char *const rw[] = { "true" }, *const ro[] = { "false" };
	bool attach = strcmp(command, "vdi_attach") == 0;
	struct sm_config cfg = *op->sm;
	xmlrpc_value *dc = xbt_value_map(&d->rec.device_config), *st;
	xmlrpc_value *result = NULL;
	struct sm_call_args a = {
		.host_ref = d->rec.host_ref,
		.session_ref = op->session_ref,
		.sr_ref = d->rec.sr_ref,
		.sr_uuid = d->rec.sr_uuid,
		.vdi_ref = d->rec.vdi_ref,
		.vdi_location = d->rec.vdi_location,
		.vdi_uuid = d->rec.vdi_uuid,
		.device_config = dc,
		.args = attach ? (d->rec.mode == XOPS_DISK_MODE_RW ? rw : ro)
			       : NULL,
		.nargs = attach ? 1 : 0,
	};
	char name[160];
	xbt_error *err;

	if (!cancellable)
		cfg.cancel = NULL;
	snprintf(name, sizeof(name), "%s %.100s", command, d->rec.vdi_uuid);
	vmops_tell_step(op, name, XOPS_TASK_STATE_PENDING);
	st = sm_call_new(command, &a);
	err = XBT_PROPAGATE(sm_call(&cfg, d->rec.sr_type, command, st, &result));
	vmops_tell_step(op, name, err ? XOPS_TASK_STATE_FAILED
				      : XOPS_TASK_STATE_COMPLETED);
	if (result)
		xmlrpc_DECREF(result);
	xmlrpc_DECREF(st);
	xmlrpc_DECREF(dc);
	if (!err && cancellable && op->hooks.progress)
		op->hooks.progress(op->hooks.ctx,
				   (double)++op->steps_done /
					   (double)(2 * op->ndisks + 1));
	return err;
}

/* One step that brings a disk down, its flag cleared on success. */
static xbt_error *vmops_down(struct vmops *op, struct vmops_disk *d,
			     bool activation, bool cancellable)
{
	bool *flag = activation ? &d->activated : &d->attached;
	xbt_error *err = XBT_PROPAGATE(vmops_step(op, d, activation ?
						  "vdi_deactivate" : "vdi_detach",
						  cancellable));

	if (!err) {
		*flag = false;
		vmops_tell_changed(op);
	}
	return err;
}

void vmops_undo(struct vmops *op)
{
	for (size_t i = op->ndisks; i-- > 0;) {
		struct vmops_disk *d = &op->disks[i];
		xbt_error *err = NULL;
		if (d->activated)
			err = XBT_PROPAGATE(vmops_down(op, d, true, false));
		if (!err && d->attached)
			err = XBT_PROPAGATE(vmops_down(op, d, false, false));
		if (err) {
			char what[160];
			snprintf(what, sizeof(what), "undo on VDI %.100s (ignored)",
				 d->rec.vdi_ref);
			log_backtrace(LOG_LEVEL_WARN, what, err);
			xbt_error_free(err);
		}
	}
}

xbt_error *vmops_start(struct vmops *op)
{
	xbt_error *err = NULL;

	for (size_t i = 0; i < op->ndisks && !err; i++) {
		struct vmops_disk *d = &op->disks[i];
		if (!d->attached) {
			if ((err = XBT_PROPAGATE(vmops_step(op, d, "vdi_attach",
							    true))))
				break;
			d->attached = true;
			vmops_tell_changed(op);
		}
		if (!d->activated) {
			if ((err = XBT_PROPAGATE(vmops_step(op, d,
							    "vdi_activate",
							    true))))
				break;
			d->activated = true;
			vmops_tell_changed(op);
		}
	}
	if (err)
		vmops_undo(op);
	return err;
}

xbt_error *vmops_shutdown(struct vmops *op, bool hard)
{
	xbt_error *err = NULL;

	for (size_t i = op->ndisks; i-- > 0 && !err;) {
		struct vmops_disk *d = &op->disks[i];
		for (int k = 0; k < 2 && !err; k++) {
			if (!(k == 0 ? d->activated : d->attached))
				continue;
			err = XBT_PROPAGATE(vmops_down(op, d, k == 0, true));
			if (err && hard &&
			    strcmp(err->code, XBT_ERR_TASK_CANCELLED) != 0) {
				log_backtrace(LOG_LEVEL_WARN,
					      "hard shutdown: step failed "
					      "(ignored)", err);
				xbt_error_free(err);
				err = NULL;
			}
		}
	}
	return err;
}
