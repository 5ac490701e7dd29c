/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * allowed_operations and current_operations of SRs and VBDs, as xapi
 * computes them (ocaml/xapi/xapi_sr_operations.ml, xapi_vbd_helpers.ml),
 * for the messages xbtd has: PBD.plug and PBD.unplug mark the SR, VM.start
 * marks the VM's VBDs `attach` (doc/design.md, "Storage operations").
 * Everything here runs under the store lock.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "xbtd.h"

/* ---- SRs ----------------------------------------------------------------- */

/*
 * Whether op (plug or unplug) may start on the SR now. As xapi's
 * check_parallel_ops: any operation in progress forbids all but plug, and
 * one that is not a plug forbids plug too.
 */
xbt_error *storage_sr_check(const char *ref, const struct xbt_sr_record *sr,
			    const char *op)
{
	const xbt_map *cur = &sr->current_operations;
	bool is_plug = strcmp(op, XBT_STORAGE_OPERATIONS_PLUG_NAME) == 0;

	if (!cur->n)
		return NULL;
	for (size_t i = 0; i < cur->n; i++) {
		if (!is_plug ||
		    strcmp(cur->vals[i], XBT_STORAGE_OPERATIONS_PLUG_NAME) != 0)
			return XBT_RAISE_OTHER_OPERATION_IN_PROGRESS(
				"SR", ref, cur->vals[i], cur->keys[i]);
	}
	return NULL;
}

void storage_update_sr(const char *ref)
{
	static const char *const ops[] = { XBT_STORAGE_OPERATIONS_PLUG_NAME,
					   XBT_STORAGE_OPERATIONS_UNPLUG_NAME };
	struct xbt_sr_record *sr = store_edit(&xbt_class_sr, ref);

	if (!sr)
		return;
	xbt_strv_clear(&sr->allowed_operations);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		xbt_error *err = storage_sr_check(ref, sr, ops[i]);
		if (err)
			xbt_error_free(err);
		else
			xbt_strv_add(&sr->allowed_operations, ops[i]);
	}
}

/* ---- VBDs ---------------------------------------------------------------- */

/*
 * Whether the VBD may be attached (VM.start), as xapi's valid_operations
 * for `attach`: no operation in progress on it, and, when it is not
 * attached already, its VDI not held by another VBD that is attached or
 * being attached (of a VM not suspended) unless the VDI is sharable and
 * nobody, this VBD included, wants to write.
 */
xbt_error *storage_vbd_check_attach(const char *ref,
				    const struct xbt_vbd_record *b)
{
	const struct xbt_vdi_record *vdi;
	bool someone_rw = false, others = false;

	if (b->current_operations.n)
		return XBT_RAISE_OTHER_OPERATION_IN_PROGRESS(
			"VBD", ref, b->current_operations.vals[0],
			b->current_operations.keys[0]);
	if (b->empty || b->currently_attached ||
	    !(vdi = store_get(&xbt_class_vdi, b->VDI)))
		return NULL;
	for (size_t i = 0; i < vdi->VBDs.n; i++) {
		const struct xbt_vbd_record *o;
		const struct xbt_vm_record *vm;
		if (strcmp(vdi->VBDs.v[i], ref) == 0 ||
		    !(o = store_get(&xbt_class_vbd, vdi->VBDs.v[i])))
			continue;
		vm = store_get(&xbt_class_vm, o->VM);
		if (vm && vm->power_state == XBT_VM_POWER_STATE_SUSPENDED)
			continue;
		if (!o->currently_attached && !o->current_operations.n)
			continue;
		others = true;
		someone_rw = someone_rw || o->mode == XBT_VBD_MODE_RW;
	}
	if (!vdi->sharable &&
	    (someone_rw || (b->mode == XBT_VBD_MODE_RW && others))) {
		const char *v = b->VDI;
		return XBT_RAISE_VDI_IN_USE(1, &v);
	}
	return NULL;
}

static void storage_update_vbd_one(const char *ref)
{
	struct xbt_vbd_record *b = store_edit(&xbt_class_vbd, ref);
	xbt_error *err;

	if (!b)
		return;
	xbt_strv_clear(&b->allowed_operations);
	err = storage_vbd_check_attach(ref, b);
	if (err)
		xbt_error_free(err);
	else
		xbt_strv_add(&b->allowed_operations,
			     XBT_VBD_OPERATIONS_ATTACH_NAME);
}

/* The VBD and every other VBD of its VDI (sharing ties them). */
void storage_update_vbd(const char *ref)
{
	const struct xbt_vbd_record *b = store_get(&xbt_class_vbd, ref);
	const struct xbt_vdi_record *vdi =
		b && !b->empty ? store_get(&xbt_class_vdi, b->VDI) : NULL;

	if (!vdi) {
		storage_update_vbd_one(ref);
		return;
	}
	for (size_t i = 0; i < vdi->VBDs.n; i++)
		storage_update_vbd_one(vdi->VBDs.v[i]);
}

static void storage_all_sr(const char *ref, const void *rec, void *ctx)
{
	(void)rec;
	(void)ctx;
	storage_update_sr(ref);
}

static void storage_all_vbd(const char *ref, const void *rec, void *ctx)
{
	(void)rec;
	(void)ctx;
	storage_update_vbd_one(ref);
}

void storage_update_all(void)
{
	store_foreach(&xbt_class_sr, storage_all_sr, NULL);
	store_foreach(&xbt_class_vbd, storage_all_vbd, NULL);
}
