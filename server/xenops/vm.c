/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opsd's VM class: the VMs it knows, keyed by uuid, and the jobs that run
 * their storage steps (server/common/vmops.c) as tasks on the worker pool.
 * A VM is known from the moment a start begins until a shutdown ends;
 * every change to what is up is written to the state directory (state.c),
 * so that a restarted opsd keeps its running VMs and finishes what a dead
 * one left half done: a start is undone, a shutdown is carried through.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "opsd.h"
#include "vmops.h"
#include "xbt/value.h"
#include "xbt/xenapi.h"

/* What a job does to its VM. */
enum vm_job_kind { JOB_START, JOB_SHUTDOWN, JOB_DESTROY, JOB_RECOVER };

static const char *const vm_job_names[] = {
	"start", "clean_shutdown", "destroy", "recover"
};

/* The operation's name in debug_info, logs and OTHER_OPERATION_IN_PROGRESS. */
static const char *vm_job_name(enum vm_job_kind kind, bool hard)
{
	return kind == JOB_SHUTDOWN && hard ? "hard_shutdown"
					    : vm_job_names[kind];
}

struct opsd_vm {
	LIST_ENTRY(opsd_vm) link;
	char *uuid;
	int state;                 /* XOPS_VM_STATE_* */
	char *session_ref;         /* the last operation's */
	struct vmops_disk *disks;  /* what is up is what the flags say */
	size_t ndisks;
	const char *op;            /* the operation in flight; NULL: idle */
	char *task_id;             /* its task */
};

static LIST_HEAD(, opsd_vm) vm_list = LIST_HEAD_INITIALIZER(vm_list);
/* Guards the list and each VM's op, task_id and state. A busy VM's disks
 * belong to its job alone. */
static pthread_mutex_t vm_lock = PTHREAD_MUTEX_INITIALIZER;

struct vm_job {
	enum vm_job_kind kind;
	bool hard;
	struct opsd_vm *vm;
	struct opsd_task *task;
	char *task_id;
};

bool opsd_vm_id_ok(const char *uuid)
{
	size_t n = strspn(uuid, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n <= OPSD_VM_ID_MAX && uuid[n] == '\0';
}

static void vm_disks_free(struct vmops_disk *disks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xbt_record_release(&xops_class_disk, &disks[i].rec);
	free(disks);
}

static void vm_free(struct opsd_vm *vm)
{
	vm_disks_free(vm->disks, vm->ndisks);
	free(vm->uuid);
	free(vm->session_ref);
	free(vm->task_id);
	free(vm);
}

/* Under vm_lock. */
static struct opsd_vm *vm_find(const char *uuid)
{
	struct opsd_vm *vm;

	LIST_FOREACH(vm, &vm_list, link)
		if (strcmp(vm->uuid, uuid) == 0)
			return vm;
	return NULL;
}

/* ---- the state file -------------------------------------------------------- */

/* The VM as its state file holds it (see state.c). Its job or vm_lock. */
static void vm_save(const struct opsd_vm *vm)
{
	xmlrpc_value *rec = xbt_value_struct(), *disks = xbt_value_array();

	xbt_value_put(rec, "uuid", xbt_value_string(vm->uuid));
	xbt_value_put(rec, "state",
		      xbt_value_string(xops_enum_vm_state.values[vm->state]));
	xbt_value_put(rec, "session_ref", xbt_value_string(vm->session_ref));
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct vmops_disk *d = &vm->disks[i];
		xmlrpc_value *v = xbt_record_to_value(&xops_class_disk, &d->rec);
		xbt_value_put(v, "attached", xbt_value_bool(d->attached));
		xbt_value_put(v, "activated", xbt_value_bool(d->activated));
		xbt_value_push(disks, v);
	}
	xbt_value_put(rec, "disks", disks);
	opsd_state_save(vm->uuid, rec);
	xmlrpc_DECREF(rec);
}

static bool vm_read_flag(xmlrpc_value *st, const char *key)
{
	xmlrpc_value *v = xbt_value_get(st, key);
	xmlrpc_bool b = 0;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (v && xmlrpc_value_type(v) == XMLRPC_TYPE_BOOL)
		xmlrpc_read_bool(&env, v, &b);
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v);
	return b;
}

/* ---- the jobs ------------------------------------------------------------------ */

static void vm_hook_step(void *ctx, const char *name, int state)
{
	opsd_task_step(((struct vm_job *)ctx)->task, name, state);
}

static void vm_hook_progress(void *ctx, double done)
{
	opsd_task_progress(((struct vm_job *)ctx)->task, done);
}

/*
 * A disk came up or went down: the state file follows, but for the last
 * step of an operation, whose end (vm_job_settle) writes or removes the
 * file anyway; dying in between leaves the step before, which recovery
 * undoes or finishes just as well.
 */
static void vm_hook_changed(void *ctx)
{
	struct vm_job *j = ctx;
	bool all_up = true, none_up = true;

	for (size_t i = 0; i < j->vm->ndisks; i++) {
		const struct vmops_disk *d = &j->vm->disks[i];
		all_up &= d->attached && d->activated;
		none_up &= !d->attached && !d->activated;
	}
	if (!(j->kind == JOB_START ? all_up : none_up))
		vm_save(j->vm);
}

/* Runs the job's steps on its VM. */
static xbt_error *vm_job_steps(struct vm_job *j)
{
	struct opsd_vm *vm = j->vm;
	struct sm_config cfg = {
		.sm_dir = opsd_conf.sm_dir,
		.timeout_s = opsd_conf.plugin_timeout_s,
		.hostname = opsd_conf.hostname,
		.cancel = opsd_task_cancel_switch(j->task),
	};
	struct vmops op = {
		.sm = &cfg,
		.session_ref = vm->session_ref,
		.disks = vm->disks,
		.ndisks = vm->ndisks,
		.hooks = { j, vm_hook_step, vm_hook_progress, vm_hook_changed },
	};
	xbt_error *err = NULL;

	switch (j->kind) {
	case JOB_START:
		err = XBT_PROPAGATE(vmops_start(&op));
		break;
	case JOB_SHUTDOWN:
	case JOB_DESTROY:
		err = XBT_PROPAGATE(vmops_shutdown(&op, j->hard));
		break;
	case JOB_RECOVER:
		/* A dead opsd's start is undone, its shutdown finished. */
		if (vm->state == XOPS_VM_STATE_STARTING)
			vmops_undo(&op);
		else
			err = XBT_PROPAGATE(vmops_shutdown(&op, true));
		break;
	}
	return err;
}

/*
 * The VM after the job: running, or forgotten (its file removed) once
 * nothing of it is up. Frees it when forgotten.
 */
static void vm_job_settle(struct vm_job *j, const xbt_error *err)
{
	struct opsd_vm *vm = j->vm;
	bool up = false, forget;

	for (size_t i = 0; i < vm->ndisks; i++)
		up |= vm->disks[i].attached || vm->disks[i].activated;
	/* A failed start is undone; a failed clean shutdown stays running. */
	forget = j->kind == JOB_START ? err != NULL : !err || !up;
	pthread_mutex_lock(&vm_lock);
	vm->op = NULL;
	free(vm->task_id);
	vm->task_id = NULL;
	if (forget) {
		LIST_REMOVE(vm, link);
	} else {
		vm->state = XOPS_VM_STATE_RUNNING;
		vm_save(vm);
	}
	pthread_mutex_unlock(&vm_lock);
	if (forget) {
		opsd_state_remove(vm->uuid);
		vm_free(vm);
	}
}

/* The task boundary: the job's outcome goes into its task. */
static void vm_job_run(void *arg)
{
	struct vm_job *j = arg;
	xbt_error *err;

	log_set_thread_name(opsd_task_dbg(j->task));
	err = XBT_PROPAGATE(vm_job_steps(j));
	if (err) {
		char what[160];
		snprintf(what, sizeof(what), "task %s (VM %.60s %s) failed",
			 j->task_id, j->vm->uuid, vm_job_name(j->kind, j->hard));
		log_backtrace(LOG_LEVEL_INFO, what, err);
	}
	/* Settle the VM first: whoever sees the task end may use it at once. */
	vm_job_settle(j, err);
	opsd_task_end(j->task, err);
	xbt_error_free(err);
	free(j->task_id);
	free(j);
	log_set_thread_name("");
}

/*
 * Makes a task for the job on a VM already marked busy and queues it;
 * *id (caller frees) its id. On error the VM is left as it was (the
 * caller undoes what it marked).
 */
static xbt_error *vm_job_submit(struct vm_job *j, const char *dbg, char **id)
{
	xbt_error *err;

	err = XBT_PROPAGATE(opsd_task_new(dbg, vm_job_name(j->kind, j->hard),
					  j->vm->uuid, &j->task, &j->task_id));
	if (err)
		goto out;
	pthread_mutex_lock(&vm_lock);
	j->vm->task_id = xbt_strdup(j->task_id);
	pthread_mutex_unlock(&vm_lock);
	*id = xbt_strdup(j->task_id);
	log_info("VM %.60s: %s as task %s", j->vm->uuid,
		 vm_job_name(j->kind, j->hard), j->task_id);
	if (!worker_submit(vm_job_run, j)) {
		err = XBT_RAISE_INTERNAL_ERROR("too many pending asynchronous "
					       "calls");
		/* The task exists: it reports the failure like any other. */
		vm_job_settle(j, err);
		opsd_task_end(j->task, err);
		xbt_error_free(err);
		err = NULL;
		free(j->task_id);
		free(j);
	}
out:
	return err;
}

/* ---- messages -------------------------------------------------------------------- */

/* Reads the checked disks array (set (record disk)); all up when `up`. */
static xbt_error *vm_read_disks(xmlrpc_value *in, bool up,
				struct vmops_disk **out, size_t *nout)
{
	size_t n = xbt_value_size(in), done = 0;
	struct vmops_disk *disks = xbt_calloc(n ? n : 1, sizeof(*disks));
	xbt_error *err = NULL;

	for (size_t i = 0; i < n && !err; i++) {
		xmlrpc_value *v = xbt_value_item(in, i);
		xbt_record_init(&xops_class_disk, &disks[i].rec);
		done++;
		err = XBT_PROPAGATE(xbt_record_from_value(&xops_class_disk, v,
							  &disks[i].rec));
		disks[i].attached = disks[i].activated = up;
		xmlrpc_DECREF(v);
	}
	if (err) {
		vm_disks_free(disks, done);
		disks = NULL;
		n = 0;
	}
	*out = disks;
	*nout = n;
	return err;
}

/* Under vm_lock: the VM is free for an operation, or why not. */
static xbt_error *vm_check_idle(const struct opsd_vm *vm)
{
	xbt_error *err = NULL;

	if (vm->op)
		err = XBT_RAISE_OTHER_OPERATION_IN_PROGRESS("VM", vm->uuid,
				vm->op, vm->task_id ? vm->task_id : "");
	return err;
}

static xbt_error *vm_check_id(const char *uuid)
{
	xbt_error *err = NULL;

	if (!opsd_vm_id_ok(uuid))
		err = XBT_RAISE_UUID_INVALID("VM", uuid);
	return err;
}

xbt_error *opsd_vm_start(struct call *call, xmlrpc_value *const *args,
			 xmlrpc_value **result)
{
	const char *uuid = call->argv[1].s;
	struct vm_job *j = xbt_calloc(1, sizeof(*j));
	struct opsd_vm *vm = NULL, *old;
	char *id = NULL;
	xbt_error *err;

	j->kind = JOB_START;
	if ((err = XBT_PROPAGATE(vm_check_id(uuid))))
		goto out;
	vm = xbt_calloc(1, sizeof(*vm));
	vm->uuid = xbt_strdup(uuid);
	vm->session_ref = xbt_strdup(call->argv[2].s);
	vm->state = XOPS_VM_STATE_STARTING;
	vm->op = vm_job_names[JOB_START];
	err = XBT_PROPAGATE(vm_read_disks(call->argv[3].v, false, &vm->disks,
					  &vm->ndisks));
	if (err)
		goto out;
	pthread_mutex_lock(&vm_lock);
	old = vm_find(uuid);
	if (old && !(err = XBT_PROPAGATE(vm_check_idle(old))))
		err = XBT_RAISE_VM_BAD_POWER_STATE(uuid, "halted", "running");
	/* Its file comes with the first disk up: the state records what is
	 * up, which is what recovery needs. */
	if (!err)
		LIST_INSERT_HEAD(&vm_list, vm, link);
	pthread_mutex_unlock(&vm_lock);
	if (err)
		goto out;
	j->vm = vm;
	if ((err = XBT_PROPAGATE(vm_job_submit(j, call->argv[0].s, &id)))) {
		pthread_mutex_lock(&vm_lock);
		LIST_REMOVE(vm, link);
		pthread_mutex_unlock(&vm_lock);
		opsd_state_remove(vm->uuid);
		goto out;
	}
	*result = xbt_value_string(id);
	vm = NULL;
	j = NULL;
out:
	if (vm)
		vm_free(vm);
	free(j);
	free(id);
	return err;
}

/*
 * Shutdown and destroy: a known VM goes down with the disks opsd recorded;
 * shutdown of an unknown one with the disks given (all taken to be up).
 */
static xbt_error *vm_stop(struct call *call, enum vm_job_kind kind,
			  bool hard, xmlrpc_value *given, xmlrpc_value **result)
{
	const char *uuid = call->argv[1].s;
	struct vm_job *j = xbt_calloc(1, sizeof(*j));
	struct opsd_vm *fresh = NULL, *vm;
	bool inserted = false;
	char *id = NULL;
	xbt_error *err;

	j->kind = kind;
	j->hard = hard;
	if ((err = XBT_PROPAGATE(vm_check_id(uuid))))
		goto out;
	if (given) {
		fresh = xbt_calloc(1, sizeof(*fresh));
		fresh->uuid = xbt_strdup(uuid);
		fresh->session_ref = xbt_strdup(call->argv[2].s);
		err = XBT_PROPAGATE(vm_read_disks(given, true, &fresh->disks,
						  &fresh->ndisks));
		if (err)
			goto out;
	}
	pthread_mutex_lock(&vm_lock);
	vm = vm_find(uuid);
	if (vm) {
		if (!(err = XBT_PROPAGATE(vm_check_idle(vm))) && fresh) {
			free(vm->session_ref);
			vm->session_ref = xbt_strdup(fresh->session_ref);
		}
	} else if (fresh) {
		vm = fresh;
		fresh = NULL;
		LIST_INSERT_HEAD(&vm_list, vm, link);
		inserted = true;
	} else {
		err = XBT_RAISE_UUID_INVALID("VM", uuid);
	}
	/* Saved with the first disk down, as for a start. */
	if (!err) {
		vm->op = vm_job_name(kind, hard);
		vm->state = XOPS_VM_STATE_STOPPING;
	}
	pthread_mutex_unlock(&vm_lock);
	if (err)
		goto out;
	j->vm = vm;
	if ((err = XBT_PROPAGATE(vm_job_submit(j, call->argv[0].s, &id)))) {
		pthread_mutex_lock(&vm_lock);
		vm->op = NULL;
		vm->state = XOPS_VM_STATE_RUNNING;
		if (inserted)
			LIST_REMOVE(vm, link);
		pthread_mutex_unlock(&vm_lock);
		if (inserted) {
			opsd_state_remove(vm->uuid);
			vm_free(vm);
		}
		goto out;
	}
	*result = xbt_value_string(id);
	j = NULL;
out:
	if (fresh)
		vm_free(fresh);
	free(j);
	free(id);
	return err;
}

xbt_error *opsd_vm_shutdown(struct call *call, xmlrpc_value *const *args,
			    xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_stop(call, JOB_SHUTDOWN, call->argv[4].b,
				     call->argv[3].v, result));
}

xbt_error *opsd_vm_destroy(struct call *call, xmlrpc_value *const *args,
			   xmlrpc_value **result)
{
	return XBT_PROPAGATE(vm_stop(call, JOB_DESTROY, true, NULL, result));
}

xbt_error *opsd_vm_list(struct call *call, xmlrpc_value *const *args,
			xmlrpc_value **result)
{
	struct opsd_vm *vm;

	*result = xbt_value_array();
	pthread_mutex_lock(&vm_lock);
	LIST_FOREACH(vm, &vm_list, link) {
		struct xops_vm_record r = { .uuid = vm->uuid, .state = vm->state };
		xbt_value_push(*result, xbt_record_to_value(&xops_class_vm, &r));
	}
	pthread_mutex_unlock(&vm_lock);
	return NULL;
}

/* ---- start-up and shutdown ------------------------------------------------------- */

/*
 * One state file: a running VM, or a dead opsd's operation to finish.
 * false (logged) when the record is not one (state.c sets it aside).
 */
static bool vm_recover_one(const char *uuid, xmlrpc_value *rec, void *ctx)
{
	struct opsd_vm *vm = xbt_calloc(1, sizeof(*vm));
	xmlrpc_value *disks = xbt_value_get(rec, "disks");
	char *state = NULL, *session = NULL, *id = NULL;
	struct vm_job *j = NULL;
	xbt_error *err = NULL;
	bool taken = false;
	int s;

	(void)ctx;
	vm->uuid = xbt_strdup(uuid);
	{
		xmlrpc_value *v = xbt_value_get(rec, "state");
		state = v ? xbt_value_text(v, NULL) : NULL;
		if (v)
			xmlrpc_DECREF(v);
		v = xbt_value_get(rec, "session_ref");
		session = v ? xbt_value_text(v, NULL) : NULL;
		if (v)
			xmlrpc_DECREF(v);
	}
	s = state ? xbt_enum_index(&xops_enum_vm_state, state) : -1;
	if (s < 0 || !disks || xmlrpc_value_type(disks) != XMLRPC_TYPE_ARRAY) {
		err = XBT_RAISE_INTERNAL_ERROR("state file: no state or disks");
		goto out;
	}
	vm->state = s;
	vm->session_ref = xbt_strdup(session ? session : "");
	if ((err = XBT_PROPAGATE(vm_read_disks(disks, false, &vm->disks,
					       &vm->ndisks))))
		goto out;
	for (size_t i = 0; i < vm->ndisks; i++) {
		xmlrpc_value *d = xbt_value_item(disks, i);
		vm->disks[i].attached = vm_read_flag(d, "attached");
		vm->disks[i].activated = vm_read_flag(d, "activated");
		xmlrpc_DECREF(d);
	}
	taken = true;
	pthread_mutex_lock(&vm_lock);
	LIST_INSERT_HEAD(&vm_list, vm, link);
	if (s != XOPS_VM_STATE_RUNNING)
		vm->op = vm_job_names[JOB_RECOVER];
	pthread_mutex_unlock(&vm_lock);
	log_info("VM %s: %s in the state directory", uuid, state);
	if (s != XOPS_VM_STATE_RUNNING) {
		j = xbt_calloc(1, sizeof(*j));
		j->kind = JOB_RECOVER;
		j->vm = vm;
		/* No task for it (the table is full): the VM stays busy as
		 * "recover" and its file stays for the next opsd. */
		if ((err = XBT_PROPAGATE(vm_job_submit(j, "recovery", &id))))
			free(j);
	}
	vm = NULL;
out:
	if (err) {
		log_backtrace(LOG_LEVEL_ERROR, uuid, err);
		xbt_error_free(err);
	}
	if (vm)
		vm_free(vm);
	if (disks)
		xmlrpc_DECREF(disks);
	free(state);
	free(session);
	free(id);
	return taken;
}

void opsd_vm_recover(void)
{
	opsd_state_load(vm_recover_one, NULL);
}

void opsd_vm_shutdown_all(void)
{
	struct opsd_vm *vm;

	pthread_mutex_lock(&vm_lock);
	while ((vm = LIST_FIRST(&vm_list))) {
		LIST_REMOVE(vm, link);
		vm_free(vm);
	}
	pthread_mutex_unlock(&vm_lock);
}
