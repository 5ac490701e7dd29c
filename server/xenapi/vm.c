/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VM class: a fake VM.start whose storage steps (attach and activate
 * every disk through its SR's SMAPIv1 plugin, undo on failure) run in
 * xbt-opsd, as xapi has xenopsd attach disks, and the two shutdowns that
 * deactivate and detach there. xbtd checks, claims the VM, sends opsd what
 * the plugin calls need (ops.c) and records the outcome. A start marks the
 * VM's VBDs `attach` while it runs, as xapi does (doc/design.md, "Storage
 * operations").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xbt/xenops.h"
#include "xbtd.h"

struct vm_op {
	const char *vm;
	char *uuid;
	char op_ref[64];      /* current_operations key: the task, if any */
	char *sm_session;     /* the plugins' session, valid while they run */
	struct xops_disk_record *disks;  /* what opsd needs of each disk */
	char **vbds;          /* the VBD of each disk */
	size_t ndisks;
	char *host;           /* where it runs: this host or a slave */
	int from_state;       /* the VM's power state when claimed */
};

static void vm_disks_free(struct vm_op *op)
{
	for (size_t i = 0; i < op->ndisks; i++) {
		xbt_record_release(&xops_class_disk, &op->disks[i]);
		free(op->vbds[i]);
	}
	free(op->disks);
	free(op->vbds);
	free(op->uuid);
	free(op->host);
	op->disks = NULL;
	op->vbds = NULL;
	op->uuid = NULL;
	op->host = NULL;
	op->ndisks = 0;
}

static void vm_set(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

/* The plugged PBD of sr on host, or NULL: one being unplugged does not
 * count. Under the lock. */
static const struct xbt_pbd_record *
vm_plugged_pbd(const struct xbt_sr_record *sr, const char *host)
{
	for (size_t i = 0; i < sr->PBDs.n; i++) {
		const struct xbt_pbd_record *p =
			store_get(&xbt_class_pbd, sr->PBDs.v[i]);
		if (p && p->currently_attached && strcmp(p->host, host) == 0 &&
		    !pbd_unplugging(sr->PBDs.v[i]))
			return p;
	}
	return NULL;
}

/* Under the lock: an SR of the VM's disks host has no plugged PBD for
 * (its ref), or NULL when it sees them all. */
static const char *vm_missing_sr(const struct xbt_vm_record *vm,
				 const char *host)
{
	for (size_t i = 0; i < vm->VBDs.n; i++) {
		const struct xbt_vbd_record *b =
			store_get(&xbt_class_vbd, vm->VBDs.v[i]);
		const struct xbt_vdi_record *v =
			b && !b->empty ? store_get(&xbt_class_vdi, b->VDI) : NULL;
		const struct xbt_sr_record *sr =
			v ? store_get(&xbt_class_sr, v->SR) : NULL;
		if (sr && !vm_plugged_pbd(sr, host))
			return v->SR;
	}
	return NULL;
}

/* Under the lock: the master takes the host as live. */
static bool vm_host_live(const char *host)
{
	const struct xbt_host_record *h = store_get(&xbt_class_host, host);
	const struct xbt_host_metrics_record *m =
		h ? store_get(&xbt_class_host_metrics, h->metrics) : NULL;

	return m && m->live;
}

struct vm_candidates {
	const struct xbt_vm_record *vm;
	const char *best;        /* of the others, by name_label, then ref */
	const char *best_name;
};

static void vm_candidate_one(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_host_record *h = rec;
	struct vm_candidates *c = ctx;
	int order;

	if (strcmp(ref, host_self()) == 0 || !vm_host_live(ref) ||
	    vm_missing_sr(c->vm, ref))
		return;
	order = c->best ? strcmp(h->name_label, c->best_name) : -1;
	if (order < 0 || (order == 0 && strcmp(ref, c->best) < 0)) {
		c->best = ref;
		c->best_name = h->name_label;
	}
}

/*
 * Under the lock: where the VM starts (doc/pools.md, "Placement"). On a
 * host asked for (start_on): HOST_OFFLINE when it is not live,
 * VM_REQUIRES_SR when it lacks a plugged PBD for one of the VM's SRs. Else
 * its affinity host when it can, else this host (the master), else the
 * first other host by name that can: live and seeing every SR. None:
 * NO_HOSTS_AVAILABLE, or on a host alone VM_REQUIRES_SR as before pools.
 */
static xbt_error *vm_place(struct vm_op *op, const struct xbt_vm_record *vm,
			   const char *want)
{
	struct vm_candidates c = { vm, NULL, NULL };
	const char *sr, *host = NULL;
	xbt_error *err = NULL;

	if (want) {
		if (!store_get(&xbt_class_host, want))
			err = XBT_RAISE_HANDLE_INVALID("host", want);
		else if (!vm_host_live(want))
			err = XBT_RAISE_HOST_OFFLINE(want);
		else if ((sr = vm_missing_sr(vm, want)))
			err = XBT_RAISE_VM_REQUIRES_SR(op->vm, sr);
		else
			host = want;
	} else if (store_get(&xbt_class_host, vm->affinity) &&
		   vm_host_live(vm->affinity) &&
		   !vm_missing_sr(vm, vm->affinity)) {
		host = vm->affinity;
	} else if (!(sr = vm_missing_sr(vm, host_self()))) {
		host = host_self();
	} else {
		store_foreach(&xbt_class_host, vm_candidate_one, &c);
		host = c.best;
		if (!host && store_count(&xbt_class_host) == 1)
			err = XBT_RAISE_VM_REQUIRES_SR(op->vm, sr);
		else if (!host)
			err = XBT_RAISE_NO_HOSTS_AVAILABLE();
	}
	if (host)
		op->host = xbt_strdup(host);
	return err;
}

/*
 * Copies what opsd needs of the VM's disks (only attached ones when
 * `attached_only`), checking that each SR is plugged. Under the lock.
 */
static xbt_error *vm_collect_disks(struct vm_op *op,
				   const struct xbt_vm_record *vm,
				   bool attached_only)
{
	size_t cap = vm->VBDs.n ? vm->VBDs.n : 1;
	xbt_error *err = NULL;

	op->uuid = xbt_strdup(vm->uuid);
	op->disks = xbt_calloc(cap, sizeof(*op->disks));
	op->vbds = xbt_calloc(cap, sizeof(*op->vbds));
	for (size_t i = 0; i < vm->VBDs.n && !err; i++) {
		const struct xbt_vbd_record *b =
			store_get(&xbt_class_vbd, vm->VBDs.v[i]);
		const struct xbt_vdi_record *v;
		const struct xbt_sr_record *sr;
		const struct xbt_pbd_record *pbd;
		struct xops_disk_record *d;
		if (!b || b->empty || (attached_only && !b->currently_attached))
			continue;
		v = store_get(&xbt_class_vdi, b->VDI);
		sr = v ? store_get(&xbt_class_sr, v->SR) : NULL;
		if (!v || !sr) {
			err = XBT_RAISE_HANDLE_INVALID("VDI", b->VDI);
			break;
		}
		pbd = vm_plugged_pbd(sr, op->host);
		if (!pbd) {
			err = XBT_RAISE_VM_REQUIRES_SR(op->vm, v->SR);
			break;
		}
		op->vbds[op->ndisks] = xbt_strdup(vm->VBDs.v[i]);
		d = &op->disks[op->ndisks++];
		xbt_record_init(&xops_class_disk, d);
		vm_set(&d->sr_type, sr->type);
		for (size_t k = 0; k < pbd->device_config.n; k++)
			xbt_map_set(&d->device_config, pbd->device_config.keys[k],
				    pbd->device_config.vals[k]);
		vm_set(&d->host_ref, op->host);
		vm_set(&d->sr_ref, v->SR);
		vm_set(&d->sr_uuid, sr->uuid);
		vm_set(&d->vdi_ref, b->VDI);
		vm_set(&d->vdi_uuid, v->uuid);
		vm_set(&d->vdi_location, v->location);
		d->mode = b->mode == XBT_VBD_MODE_RW && !v->read_only
				  ? XOPS_DISK_MODE_RW : XOPS_DISK_MODE_RO;
	}
	return err;
}

/* VM ref -> the host of its operation in flight (under the lock). */
static xbt_map vm_op_hosts;

struct vm_in_use_ctx {
	const char *host;
	const char *sr;
	xbt_strv *out;
};

static void vm_in_use_one(const char *ref, const void *rec, void *arg)
{
	const struct xbt_vm_record *vm = rec;
	struct vm_in_use_ctx *k = arg;
	const char *on = xbt_map_get(&vm_op_hosts, ref);

	if (strcmp(on ? on : vm->resident_on, k->host) != 0)
		return;
	for (size_t i = 0; i < vm->VBDs.n; i++) {
		const struct xbt_vbd_record *b =
			store_get(&xbt_class_vbd, vm->VBDs.v[i]);
		const struct xbt_vdi_record *v;
		if (!b || b->empty ||
		    !(b->currently_attached || b->current_operations.n))
			continue;
		v = store_get(&xbt_class_vdi, b->VDI);
		if (v && strcmp(v->SR, k->sr) == 0)
			xbt_strv_add(k->out, b->VDI);
	}
}

/* As xapi's get_active_vdis_by_pbd (ocaml/xapi/xapi_pbd.ml), where a VBD
 * being attached stands for upstream's `reserved`. */
void vm_vdis_in_use(const char *host, const char *sr, xbt_strv *out)
{
	struct vm_in_use_ctx k = { host, sr, out };

	store_foreach(&xbt_class_vm, vm_in_use_one, &k);
}

/* Under the lock: marks every VBD of the VM `attach` for op_ref, after
 * checking them all (xapi's mark_vbds). */
static xbt_error *vm_mark_vbds(const struct xbt_vm_record *vm,
			       const char *op_ref)
{
	xbt_error *err = NULL;

	for (size_t i = 0; i < vm->VBDs.n && !err; i++) {
		const struct xbt_vbd_record *b =
			store_get(&xbt_class_vbd, vm->VBDs.v[i]);
		if (b)
			err = XBT_PROPAGATE(storage_vbd_check_attach(
				vm->VBDs.v[i], b));
	}
	for (size_t i = 0; i < vm->VBDs.n && !err; i++) {
		struct xbt_vbd_record *b =
			store_edit(&xbt_class_vbd, vm->VBDs.v[i]);
		if (!b)
			continue;
		xbt_map_set(&b->current_operations, op_ref,
			    XBT_VBD_OPERATIONS_ATTACH_NAME);
		storage_update_vbd(vm->VBDs.v[i]);
	}
	return err;
}

static void vm_unmark_vbds(const struct xbt_vm_record *vm,
			   const char *op_ref)
{
	for (size_t i = 0; i < vm->VBDs.n; i++) {
		struct xbt_vbd_record *b =
			store_edit(&xbt_class_vbd, vm->VBDs.v[i]);
		if (b && xbt_map_remove(&b->current_operations, op_ref))
			storage_update_vbd(vm->VBDs.v[i]);
	}
}

/*
 * Claims the VM for an operation: checks, current_operations, and a copy
 * of its disks. On success the VM shows the operation until vm_release.
 */
static xbt_error *vm_claim(struct vm_op *op, struct call *call, const char *name,
			   bool start, const char *want)
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
	if ((err = XBT_PROPAGATE(vm_op_check(op->vm, vm, name))))
		goto out;
	op->from_state = vm->power_state;
	if (start)
		err = XBT_PROPAGATE(vm_place(op, vm, want));
	else
		/* It stops where it runs. */
		op->host = xbt_strdup(strcmp(vm->resident_on, XBT_REF_NULL) &&
				      store_get(&xbt_class_host, vm->resident_on)
				      ? vm->resident_on : host_self());
	if (err || (err = XBT_PROPAGATE(vm_collect_disks(op, vm, !start))))
		goto out;
	if (start && (err = XBT_PROPAGATE(vm_mark_vbds(vm, op->op_ref))))
		goto out;
	xbt_map_set(&vm_op_hosts, op->vm, op->host);
	xbt_map_set(&vm->current_operations, op->op_ref, name);
	vm_update_allowed(vm);
out:
	store_unlock();
	if (err)
		vm_disks_free(op);
	return err;
}

/* Ends the operation; with `done`, the VM and its VBDs take new_state. */
/* Operations ended so far (under the lock): a resync whose list of a
 * slave's VMs was read while one ended could undo its outcome. */
static unsigned long vm_ops_ended;

unsigned long vm_ops_generation(void)
{
	unsigned long n;

	store_lock();
	n = vm_ops_ended;
	store_unlock();
	return n;
}

int64_t vm_new_domid(void)
{
	static int64_t vm_next_domid = 1;

	return vm_next_domid++;
}

static void vm_release(struct vm_op *op, bool done, int new_state)
{
	struct xbt_vm_record *vm;
	struct xbt_host_record *host;

	store_lock();
	vm_ops_ended++;
	xbt_map_remove(&vm_op_hosts, op->vm);
	vm = store_edit(&xbt_class_vm, op->vm);
	if (!vm)
		goto out;
	xbt_map_remove(&vm->current_operations, op->op_ref);
	if (done) {
		/* A suspended VM has no domain and no disks up (xapi's
		 * force_state_reset), like a halted one. */
		bool up = new_state == XBT_VM_POWER_STATE_RUNNING ||
			  new_state == XBT_VM_POWER_STATE_PAUSED;
		vm->power_state = new_state;
		free(vm->resident_on);
		vm->resident_on = xbt_strdup(up ? op->host : XBT_REF_NULL);
		vm->domid = up ? vm_new_domid() : -1;
		for (size_t i = 0; i < op->ndisks; i++) {
			struct xbt_vbd_record *b =
				store_edit(&xbt_class_vbd, op->vbds[i]);
			if (b)
				b->currently_attached = up;
		}
		for (size_t i = 0; i < op->ndisks; i++)
			storage_update_vbd(op->vbds[i]);
		host = store_edit(&xbt_class_host, op->host);
		if (host) {
			if (up)
				xbt_strv_add(&host->resident_VMs, op->vm);
			else
				xbt_strv_remove(&host->resident_VMs, op->vm);
		}
		guest_power(op->vm, vm, false);
	}
	vm_unmark_vbds(vm, op->op_ref);
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

/*
 * The storage steps where the VM runs: in this host's opsd (or in xbtd
 * with --storage-in-process), with the plugins' session open meanwhile, or
 * on a slave, forwarded (fwd.c), which opens its own.
 */
static xbt_error *vm_run_ops(struct vm_op *op, struct call *call, bool start,
			     bool hard)
{
	struct ops_op o = {
		.kind = start ? OPS_START : OPS_SHUTDOWN,
		.hard = hard,
		.dbg = op->op_ref,
		.xapi_task = call->task,
		.vm = op->uuid,
		.disks = op->disks,
		.ndisks = op->ndisks,
	};
	xbt_error *err;

	if (strcmp(op->host, host_self()) != 0) {
		if (call->task)
			task_set_resident_on(call->task, op->host);
		err = XBT_PROPAGATE(fwd_vm_storage(op->host, &o));
	} else {
		op->sm_session = session_open_internal("root", "SM");
		o.session_ref = op->sm_session;
		if (xbtd_conf.storage_in_process) /* measuring the split */
			err = XBT_PROPAGATE(vm_local_run(&o));
		else
			err = XBT_PROPAGATE(ops_run(&o));
	}
	return err;
}

/* Brings the VM up (VM.start, start_on, resume) with its disks attached and
 * activated, on want or where placed; Paused if asked, else Running. */
xbt_error *vm_power_up(struct call *call, const char *name, const char *want,
		       bool paused)
{
	int new_state = paused ? XBT_VM_POWER_STATE_PAUSED
			       : XBT_VM_POWER_STATE_RUNNING;
	struct vm_op op = { .vm = call->argv[0].s };
	xbt_error *err;

	err = XBT_PROPAGATE(vm_claim(&op, call, name, true, want));
	if (err)
		goto out;
	if (call->task)
		err = XBT_PROPAGATE(task_check_cancel(call->task));
	if (!err)
		err = XBT_PROPAGATE(vm_run_ops(&op, call, true, false));
	vm_release(&op, !err, new_state);
	vm_op_end(&op);
out:
	return err;
}

xbt_error *vm_start(struct call *call, xmlrpc_value *const *args,
		    xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_power_up(call, XBT_VM_OPERATIONS_START_NAME,
					 NULL, call->argv[1].b));
}

xbt_error *vm_start_on(struct call *call, xmlrpc_value *const *args,
		       xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_power_up(call, XBT_VM_OPERATIONS_START_ON_NAME,
					 call->argv[1].s, call->argv[2].b));
}

/* Takes the VM's disks down where it runs (VM.clean_shutdown,
 * hard_shutdown, suspend); the VM ends in new_state. */
xbt_error *vm_power_down(struct call *call, const char *name, int new_state)
{
	struct vm_op op = { .vm = call->argv[0].s };
	bool hard = strcmp(name, XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME) == 0;
	xbt_error *err;

	/* Which states each operation takes: vm_op_check (vm_power.c). */
	err = XBT_PROPAGATE(vm_claim(&op, call, name, false, NULL));
	if (err)
		goto out;
	/* A suspended VM has no domain and no disk up: its hard shutdown
	 * only records Halted (xapi's deletes the suspend image). */
	if (op.from_state != XBT_VM_POWER_STATE_SUSPENDED)
		err = XBT_PROPAGATE(vm_run_ops(&op, call, false, hard));
	/* A hard shutdown halts the VM even when opsd fails (it logs steps),
	 * but not when its host could not be asked (doc/pools.md). */
	if (err && hard && strcmp(err->code, XBT_ERR_TASK_CANCELLED) != 0 &&
	    strcmp(err->code, XBT_ERR_HOST_OFFLINE) != 0 &&
	    strcmp(err->code, XBT_ERR_CANNOT_CONTACT_HOST) != 0) {
		log_backtrace(LOG_LEVEL_WARN, "hard_shutdown: ignored", err);
		xbt_error_free(err);
		err = NULL;
	}
	vm_release(&op, !err, new_state);
	vm_op_end(&op);
out:
	return err;
}

xbt_error *vm_clean_shutdown(struct call *call, xmlrpc_value *const *args,
			     xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_power_down(call,
					   XBT_VM_OPERATIONS_CLEAN_SHUTDOWN_NAME,
					   XBT_VM_POWER_STATE_HALTED));
}

xbt_error *vm_hard_shutdown(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_power_down(call,
					   XBT_VM_OPERATIONS_HARD_SHUTDOWN_NAME,
					   XBT_VM_POWER_STATE_HALTED));
}

/* ---- resync with xbt-opsd ---------------------------------------------------- */

struct vm_resync_ctx {
	const xbt_strv *running;
	const xbt_strv *known;
	xbt_strv *destroy;
	xbt_strv seen;      /* uuids of VMs in the store */
};

/* Under the lock: the VM and its VBDs up on host, or halted (taken off
 * the host it was recorded on). */
static void vm_set_power(const char *ref, struct xbt_vm_record *vm, bool up,
			 const char *on)
{
	static int64_t vm_resync_domid = 1000000;
	struct xbt_host_record *host = store_edit(&xbt_class_host,
						  up ? on : vm->resident_on);

	vm->power_state = up ? XBT_VM_POWER_STATE_RUNNING
			     : XBT_VM_POWER_STATE_HALTED;
	free(vm->resident_on);
	vm->resident_on = xbt_strdup(up ? on : XBT_REF_NULL);
	vm->domid = up ? vm_resync_domid++ : -1;
	for (size_t i = 0; i < vm->VBDs.n; i++) {
		struct xbt_vbd_record *b = store_edit(&xbt_class_vbd,
						      vm->VBDs.v[i]);
		if (b && !b->empty) {
			b->currently_attached = up;
			storage_update_vbd(vm->VBDs.v[i]);
		}
	}
	if (host) {
		xbt_strv_remove(&host->resident_VMs, ref);
		if (up)
			xbt_strv_add(&host->resident_VMs, ref);
	}
	guest_power(ref, vm, false);
	vm_update_allowed(vm);
}

static void vm_resync_one(const char *ref, const void *rec, void *arg)
{
	struct vm_resync_ctx *k = arg;
	const struct xbt_vm_record *vm = rec;
	bool here = strcmp(vm->resident_on, host_self()) == 0;
	bool nowhere = strcmp(vm->resident_on, XBT_REF_NULL) == 0;
	bool runs = xbt_strv_has(k->running, vm->uuid);

	xbt_strv_add(&k->seen, vm->uuid);
	if (vm->current_operations.n || vm->is_a_template)
		return; /* its operation settles it */
	if (runs && !here && !nowhere) {
		xbt_strv_add(k->destroy, vm->uuid);
	} else if (runs && (nowhere ||
			    vm->power_state == XBT_VM_POWER_STATE_HALTED)) {
		log_info("resync: VM %s runs in xbt-opsd: Running here",
			 vm->uuid);
		vm_set_power(ref, store_edit(&xbt_class_vm, ref), true,
			     host_self());
	} else if (!runs && here &&
		   vm->power_state != XBT_VM_POWER_STATE_HALTED &&
		   !xbt_strv_has(k->known, vm->uuid)) {
		log_info("resync: VM %s is not in xbt-opsd: Halted", vm->uuid);
		vm_set_power(ref, store_edit(&xbt_class_vm, ref), false,
			     host_self());
	}
}

void vm_resync(const xbt_strv *running, const xbt_strv *known,
	       xbt_strv *destroy)
{
	struct vm_resync_ctx k = { running, known, destroy, { 0 } };

	store_lock();
	store_foreach(&xbt_class_vm, vm_resync_one, &k);
	store_unlock();
	/* What opsd runs that no VM here is. */
	for (size_t i = 0; i < running->n; i++)
		if (!xbt_strv_has(&k.seen, running->v[i]))
			xbt_strv_add(destroy, running->v[i]);
	xbt_strv_clear(&k.seen);
}

struct vm_resync_host_ctx {
	const char *host;
	const xbt_strv *running;
};

static void vm_resync_host_one(const char *ref, const void *rec, void *arg)
{
	const struct vm_resync_host_ctx *k = arg;
	const struct xbt_vm_record *vm = rec;
	bool there = strcmp(vm->resident_on, k->host) == 0;
	bool runs = xbt_strv_has(k->running, vm->uuid);

	if (vm->current_operations.n || vm->is_a_template)
		return; /* its operation settles it */
	if (runs && vm->power_state == XBT_VM_POWER_STATE_HALTED) {
		log_info("resync: VM %s runs on host %s: Running there",
			 vm->uuid, k->host);
		vm_set_power(ref, store_edit(&xbt_class_vm, ref), true, k->host);
	} else if (!runs && there &&
		   vm->power_state != XBT_VM_POWER_STATE_HALTED) {
		log_info("resync: VM %s does not run on host %s: Halted",
			 vm->uuid, k->host);
		vm_set_power(ref, store_edit(&xbt_class_vm, ref), false,
			     k->host);
	}
}

void vm_resync_host(const char *host, const xbt_strv *running,
		    unsigned long generation)
{
	struct vm_resync_host_ctx k = { host, running };

	store_lock();
	if (generation == vm_ops_ended)
		store_foreach(&xbt_class_vm, vm_resync_host_one, &k);
	else
		log_debug("resync with host %s: an operation ended meanwhile; "
			  "next time", host);
	store_unlock();
}
