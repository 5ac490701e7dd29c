/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opsd's VM class: the storage steps of the lifecycle, run as tasks on the
 * worker pool. Start attaches then activates each disk, undoing what it
 * did when a step fails or the task is cancelled; shutdown deactivates
 * then detaches, last disk first. Everything a plugin call needs comes
 * with the call (idl/xenops.xml); opsd only remembers which VMs are busy.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "opsd.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"

/* A VM with an operation in flight, keyed by uuid. */
struct vm_busy {
	LIST_ENTRY(vm_busy) link;
	char *uuid;
	char *op;
	char *task_id;
};

static LIST_HEAD(, vm_busy) vm_busy_list = LIST_HEAD_INITIALIZER(vm_busy_list);
static pthread_mutex_t vm_lock = PTHREAD_MUTEX_INITIALIZER;

struct vm_disk {
	struct xops_disk_record rec;
	bool attached;    /* what this job did, for the undo */
	bool activated;
};

struct vm_job {
	struct opsd_task *task;
	char *task_id;
	char *vm;
	char *session_ref;
	struct vm_disk *disks;
	size_t ndisks;
	bool start;
	bool hard;
	size_t steps_done;
};

static void vm_job_free(struct vm_job *j)
{
	for (size_t i = 0; i < j->ndisks; i++)
		xbt_record_release(&xops_class_disk, &j->disks[i].rec);
	free(j->disks);
	free(j->task_id);
	free(j->vm);
	free(j->session_ref);
	free(j);
}

/* ---- VMs in flight --------------------------------------------------------- */

static xbt_error *vm_claim(const char *uuid, const char *op)
{
	struct vm_busy *b;
	xbt_error *err = NULL;

	pthread_mutex_lock(&vm_lock);
	LIST_FOREACH(b, &vm_busy_list, link)
		if (strcmp(b->uuid, uuid) == 0)
			break;
	if (b) {
		err = XBT_RAISE_OTHER_OPERATION_IN_PROGRESS("VM", uuid, b->op,
							    b->task_id);
	} else {
		b = xbt_calloc(1, sizeof(*b));
		b->uuid = xbt_strdup(uuid);
		b->op = xbt_strdup(op);
		b->task_id = xbt_strdup("");
		LIST_INSERT_HEAD(&vm_busy_list, b, link);
	}
	pthread_mutex_unlock(&vm_lock);
	return err;
}

static void vm_set_task(const char *uuid, const char *task_id)
{
	struct vm_busy *b;

	pthread_mutex_lock(&vm_lock);
	LIST_FOREACH(b, &vm_busy_list, link)
		if (strcmp(b->uuid, uuid) == 0) {
			free(b->task_id);
			b->task_id = xbt_strdup(task_id);
		}
	pthread_mutex_unlock(&vm_lock);
}

/* Under vm_lock. */
static void vm_busy_drop(struct vm_busy *b)
{
	LIST_REMOVE(b, link);
	free(b->uuid);
	free(b->op);
	free(b->task_id);
	free(b);
}

static void vm_release(const char *uuid)
{
	struct vm_busy *b;

	pthread_mutex_lock(&vm_lock);
	LIST_FOREACH(b, &vm_busy_list, link)
		if (strcmp(b->uuid, uuid) == 0)
			break;
	if (b)
		vm_busy_drop(b);
	pthread_mutex_unlock(&vm_lock);
}

/* ---- plugin steps ------------------------------------------------------------ */

static xbt_error *vm_step(struct vm_job *j, struct vm_disk *d,
			  const char *command, bool cancellable)
{
	static const char *const rw[] = { "true" }, *const ro[] = { "false" };
	bool attach = strcmp(command, "vdi_attach") == 0;
	struct sm_config cfg = {
		.sm_dir = opsd_conf.sm_dir,
		.timeout_s = opsd_conf.plugin_timeout_s,
		.hostname = opsd_conf.hostname,
		.cancel = cancellable ? opsd_task_cancel_switch(j->task) : NULL,
	};
	xmlrpc_value *dc = xbt_value_map(&d->rec.device_config), *st;
	xmlrpc_value *result = NULL;
	struct sm_call_args a = {
		.host_ref = d->rec.host_ref,
		.session_ref = j->session_ref,
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

	snprintf(name, sizeof(name), "%s %.100s", command, d->rec.vdi_uuid);
	opsd_task_step(j->task, name, XOPS_TASK_STATE_PENDING);
	st = sm_call_new(command, &a);
	err = XBT_PROPAGATE(sm_call(&cfg, d->rec.sr_type, command, st, &result));
	opsd_task_step(j->task, name, err ? XOPS_TASK_STATE_FAILED
					  : XOPS_TASK_STATE_COMPLETED);
	if (result)
		xmlrpc_DECREF(result);
	xmlrpc_DECREF(st);
	xmlrpc_DECREF(dc);
	if (!err && cancellable) {
		j->steps_done++;
		opsd_task_progress(j->task, (double)j->steps_done /
				   (double)(2 * j->ndisks + 1));
	}
	return err;
}

/*
 * Deactivates and detaches what this job brought up, innermost first.
 * Not cancellable; a failing step is logged and never replaces the
 * error that led here.
 */
static void vm_undo(struct vm_job *j)
{
	for (size_t i = j->ndisks; i-- > 0;) {
		struct vm_disk *d = &j->disks[i];
		xbt_error *err = NULL;
		if (d->activated &&
		    !(err = XBT_PROPAGATE(vm_step(j, d, "vdi_deactivate", false))))
			d->activated = false;
		if (!err && d->attached &&
		    !(err = XBT_PROPAGATE(vm_step(j, d, "vdi_detach", false))))
			d->attached = false;
		if (err) {
			char what[160];
			snprintf(what, sizeof(what), "undo on VDI %.100s (ignored)",
				 d->rec.vdi_ref);
			log_backtrace(LOG_LEVEL_WARN, what, err);
			xbt_error_free(err);
		}
	}
}

static xbt_error *vm_do_start(struct vm_job *j)
{
	xbt_error *err = NULL;

	for (size_t i = 0; i < j->ndisks && !err; i++) {
		struct vm_disk *d = &j->disks[i];
		if ((err = XBT_PROPAGATE(vm_step(j, d, "vdi_attach", true))))
			break;
		d->attached = true;
		if ((err = XBT_PROPAGATE(vm_step(j, d, "vdi_activate", true))))
			break;
		d->activated = true;
	}
	if (err)
		vm_undo(j);
	return err;
}

static xbt_error *vm_do_shutdown(struct vm_job *j)
{
	xbt_error *err = NULL;

	for (size_t i = j->ndisks; i-- > 0 && !err;) {
		struct vm_disk *d = &j->disks[i];
		static const char *const steps[] = { "vdi_deactivate",
						     "vdi_detach" };
		for (size_t k = 0; k < 2 && !err; k++) {
			err = XBT_PROPAGATE(vm_step(j, d, steps[k], true));
			if (err && j->hard &&
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

/* The task boundary: the job's outcome goes into its task. */
static void vm_job_run(void *arg)
{
	struct vm_job *j = arg;
	xbt_error *err;

	log_set_thread_name(opsd_task_dbg(j->task));
	err = XBT_PROPAGATE(j->start ? vm_do_start(j) : vm_do_shutdown(j));
	if (err) {
		char what[160];
		snprintf(what, sizeof(what), "task %s (VM %.60s %s) failed",
			 j->task_id, j->vm, j->start ? "start" : "shutdown");
		log_backtrace(LOG_LEVEL_INFO, what, err);
	}
	/* Free the VM first: whoever sees the task end may use it at once. */
	vm_release(j->vm);
	opsd_task_end(j->task, err);
	xbt_error_free(err);
	vm_job_free(j);
	log_set_thread_name("");
}

/* ---- messages -------------------------------------------------------------------- */

/* Reads the checked disks array (set (record disk)) into the job. */
static xbt_error *vm_read_disks(struct vm_job *j, xmlrpc_value *disks)
{
	size_t n = xbt_value_size(disks);
	xbt_error *err = NULL;

	j->disks = xbt_calloc(n ? n : 1, sizeof(*j->disks));
	for (size_t i = 0; i < n && !err; i++) {
		xmlrpc_value *v = xbt_value_item(disks, i);
		xbt_record_init(&xops_class_disk, &j->disks[i].rec);
		j->ndisks++;
		err = XBT_PROPAGATE(xbt_record_from_value(&xops_class_disk, v,
							  &j->disks[i].rec));
		xmlrpc_DECREF(v);
	}
	return err;
}

static xbt_error *vm_submit(struct call *call, bool start, bool hard,
			    xmlrpc_value **result)
{
	const char *op = start ? "start" : hard ? "hard_shutdown"
						: "clean_shutdown";
	struct vm_job *j = xbt_calloc(1, sizeof(*j));
	bool claimed = false;
	xbt_error *err;

	j->vm = xbt_strdup(call->argv[1].s);
	j->session_ref = xbt_strdup(call->argv[2].s);
	j->start = start;
	j->hard = hard;
	if ((err = XBT_PROPAGATE(vm_read_disks(j, call->argv[3].v))))
		goto out;
	if ((err = XBT_PROPAGATE(vm_claim(j->vm, op))))
		goto out;
	claimed = true;
	if ((err = XBT_PROPAGATE(opsd_task_new(call->argv[0].s, op, j->vm,
					       &j->task, &j->task_id))))
		goto out;
	vm_set_task(j->vm, j->task_id);
	*result = xbt_value_string(j->task_id);
	log_info("VM %.60s: %s as task %s", j->vm, op, j->task_id);
	if ((err = XBT_PROPAGATE(worker_submit(vm_job_run, j)))) {
		/* The task exists: it reports the failure like any other. */
		vm_release(j->vm);
		opsd_task_end(j->task, err);
		xbt_error_free(err);
		err = NULL;
		vm_job_free(j);
	}
	j = NULL;
out:
	if (err && claimed)
		vm_release(call->argv[1].s);
	if (j)
		vm_job_free(j);
	return err;
}

xbt_error *opsd_vm_start(struct call *call, xmlrpc_value *const *args,
			 xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_submit(call, true, false, result));
}

xbt_error *opsd_vm_shutdown(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_submit(call, false, call->argv[4].b, result));
}

void opsd_vm_shutdown_all(void)
{
	struct vm_busy *b;

	pthread_mutex_lock(&vm_lock);
	while ((b = LIST_FIRST(&vm_busy_list)))
		vm_busy_drop(b);
	pthread_mutex_unlock(&vm_lock);
}
