/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The classes xe knows and their views: which fields a record shows, in
 * which order, from the generated field descriptors.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"
#include "xe.h"

/* ---- the classes xe knows ------------------------------------------------ */

/* Default fields of <class>-list, as upstream's xe chooses them; names a
 * class does not have are skipped. */
static const char *const vm_list[] = { "name-label", "uuid", "power-state",
				       NULL };
static const char *const vm_filters[] = { "is-a-template=false", NULL };
static const char *const sr_list[] = { "uuid", "name-label",
				       "name-description", "host", "type",
				       "content-type", NULL };
static const char *const vdi_list[] = { "uuid", "name-label",
					"name-description", "virtual-size",
					"read-only", "sharable", "sr-uuid",
					NULL };
static const char *const vbd_list[] = { "uuid", "vm-uuid", "vm-name-label",
					"vdi-uuid", "device", "empty", NULL };
static const char *const host_list[] = { "uuid", "name-label",
					 "name-description", NULL };
static const char *const task_list[] = { "uuid", "name-label",
					 "name-description", "status",
					 "progress", NULL };
static const char *const pbd_list[] = { "uuid", "host-uuid", "sr-uuid",
					"device-config", "currently-attached",
					NULL };
static const char *const pool_list[] = { "uuid", "name-label",
					 "name-description", "master",
					 "default-SR", NULL };
static const char *const network_list[] = { "uuid", "name-label",
					    "name-description", "bridge",
					    NULL };
static const char *const vif_list[] = { "uuid", "device", "vm-uuid",
					"network-uuid", NULL };
static const char *const pif_list[] = { "uuid", "device", "VLAN", "MAC",
					"network-uuid", "currently-attached",
					"host-uuid", NULL };
static const char *const host_cpu_list[] = { "uuid", "number", "vendor",
					     "speed", "utilisation", NULL };
static const char *const console_list[] = { "uuid", "vm-uuid",
					    "vm-name-label", "protocol",
					    "location", NULL };

/*
 * Columns shown before the others, in this order, where upstream's record
 * puts them ahead of the data model's order: xe prints the fields of a
 * list in the record's order, so "xe vif-list" shows vm-uuid before
 * device only if the VIF's record does.
 */
static const char *const vif_order[] = { "uuid", "vm-uuid", "vm-name-label",
					 NULL };
static const char *const pif_order[] = { "uuid", "device", "MAC",
					 "physical", "managed",
					 "currently-attached", "MTU", "VLAN",
					 NULL };
static const char *const console_order[] = { "uuid", "vm-uuid",
					     "vm-name-label", NULL };

#define XE_CLASS_ORDERED(cli, lc, fields, filters, order) \
	{ cli, &xbt_class_##lc, xbt_##lc##_get_all_records, \
	  xbt_##lc##_get_by_uuid, xbt_##lc##_get_record, fields, filters, \
	  order }
#define XE_CLASS(cli, lc, fields, filters) \
	XE_CLASS_ORDERED(cli, lc, fields, filters, NULL)

static const struct xe_class xe_classes[] = {
	XE_CLASS("vm", vm, vm_list, vm_filters),
	XE_CLASS("sr", sr, sr_list, NULL),
	XE_CLASS("vdi", vdi, vdi_list, NULL),
	XE_CLASS("vbd", vbd, vbd_list, NULL),
	XE_CLASS("host", host, host_list, NULL),
	XE_CLASS("task", task, task_list, NULL),
	XE_CLASS("pbd", pbd, pbd_list, NULL),
	XE_CLASS("pool", pool, pool_list, NULL),
	XE_CLASS("network", network, network_list, NULL),
	XE_CLASS_ORDERED("vif", vif, vif_list, NULL, vif_order),
	XE_CLASS_ORDERED("pif", pif, pif_list, NULL, pif_order),
	XE_CLASS("host-cpu", host_cpu, host_cpu_list, NULL),
	XE_CLASS_ORDERED("console", console, console_list, NULL,
			 console_order),
	/* No commands of their own (upstream's xe has none): known so that
	 * refs to them (VM.metrics, host.metrics) print as uuids. */
	XE_CLASS("vm-metrics", vm_metrics, NULL, NULL),
	XE_CLASS("vm-guest-metrics", vm_guest_metrics, NULL, NULL),
	XE_CLASS("host-metrics", host_metrics, NULL, NULL),
};
#define XE_NCLASSES (sizeof(xe_classes) / sizeof(xe_classes[0]))

const struct xe_class *xe_class_find(const char *cli)
{
	for (size_t i = 0; i < XE_NCLASSES; i++)
		if (strcmp(xe_classes[i].cli, cli) == 0)
			return &xe_classes[i];
	return NULL;
}

const struct xe_class *xe_class_by_desc(const xbt_class_desc *d)
{
	for (size_t i = 0; i < XE_NCLASSES; i++)
		if (xe_classes[i].desc == d)
			return &xe_classes[i];
	return NULL;
}

/* ---- views: the printed fields of a class ------------------------------ */

static const char *qualifier(const xbt_field_desc *f)
{
	switch (f->type->kind) {
	case XBT_T_SET:
		return f->rw ? "(SRW)" : "(SRO)";
	case XBT_T_MAP:
		return f->rw ? "(MRW)" : "(MRO)";
	default:
		return f->rw ? "( RW)" : "( RO)";
	}
}

static char *dashed(const char *name)
{
	char *s = xbt_strdup(name);

	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = '-';
	return s;
}

static void view_add(struct xe_view *v, char *name, const char *qual,
		     const xbt_field_desc *f, enum xe_show show)
{
	v->cols = xbt_reallocarray(v->cols, v->n + 1, sizeof(*v->cols));
	v->cols[v->n].name = name;
	v->cols[v->n].qual = qual;
	v->cols[v->n].field = f;
	v->cols[v->n].show = show;
	v->n++;
}

static bool is_leading(const char *name)
{
	return strcmp(name, "uuid") == 0 || strcmp(name, "name_label") == 0 ||
	       strcmp(name, "name_description") == 0;
}

/* The fields in the order xe shows them: uuid, name_label and
 * name_description first, as every record of upstream's xe, then the
 * others in the data model's order. */
static size_t view_order(const xbt_class_desc *desc, size_t *order)
{
	static const char *const lead[] = { "uuid", "name_label",
					    "name_description" };
	size_t n = 0;

	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < desc->nfields; i++)
			if (strcmp(desc->fields[i].name, lead[k]) == 0)
				order[n++] = i;
	for (size_t i = 0; i < desc->nfields; i++)
		if (!is_leading(desc->fields[i].name))
			order[n++] = i;
	return n;
}

/* Moves the columns named in order to the front, in that order; the
 * others keep theirs. */
static void view_reorder(struct xe_view *v, const char *const *order)
{
	struct xe_col *cols = xbt_calloc(v->n ? v->n : 1, sizeof(*cols));
	bool *taken = xbt_calloc(v->n ? v->n : 1, sizeof(*taken));
	size_t n = 0;

	for (; order && *order; order++)
		for (size_t i = 0; i < v->n; i++)
			if (!taken[i] && strcmp(v->cols[i].name, *order) == 0) {
				cols[n++] = v->cols[i];
				taken[i] = true;
			}
	for (size_t i = 0; i < v->n; i++)
		if (!taken[i])
			cols[n++] = v->cols[i];
	free(v->cols);
	free(taken);
	v->cols = cols;
}

void xe_view_init(struct xe_view *v, const xbt_class_desc *desc)
{
	const struct xe_class *cls;
	size_t *order = xbt_calloc(desc->nfields ? desc->nfields : 1,
				   sizeof(*order));
	size_t n = view_order(desc, order);

	memset(v, 0, sizeof(*v));
	v->desc = desc;
	for (size_t k = 0; k < n; k++) {
		const xbt_field_desc *f = &desc->fields[order[k]];
		const xbt_class_desc *target = NULL;
		xbt_buf b = XBT_BUF_INIT;

		if (f->type->kind == XBT_T_REF && f->type->cls &&
		    strcasecmp(f->name, f->type->cls) == 0)
			target = xbt_class_find(f->type->cls);
		if (!target) {
			view_add(v, dashed(f->name), qualifier(f), f,
				 XE_SHOW_FIELD);
			continue;
		}
		xbt_buf_addf(&b, "%s-uuid", target->lower);
		view_add(v, xbt_buf_detach(&b, NULL), qualifier(f), f,
			 XE_SHOW_REF_UUID);
		if (xbt_field_find(target, "name_label")) {
			xbt_buf_addf(&b, "%s-name-label", target->lower);
			view_add(v, xbt_buf_detach(&b, NULL), "( RO)", f,
				 XE_SHOW_REF_NAME);
		}
	}
	free(order);
	cls = xe_class_by_desc(desc);
	if (cls && cls->order)
		view_reorder(v, cls->order);
}

void xe_view_release(struct xe_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->cols[i].name);
	free(v->cols);
	memset(v, 0, sizeof(*v));
}

const struct xe_col *xe_view_col(const struct xe_view *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->cols[i].name, name) == 0)
			return &v->cols[i];
	return NULL;
}

