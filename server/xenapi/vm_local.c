/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --storage-in-process: the storage steps of a VM operation run in xbtd
 * itself, through the same runner opsd uses (server/common/vmops.c), in
 * place of ops_run. It exists to measure what the split into two
 * processes costs (doc/performance.md, "VM.start: the cost of xbt-opsd")
 * and is not for production: there is no process boundary, no state
 * directory and no resync, so a VM whose disks are up is forgotten when
 * xbtd dies. A failure's backtrace holds the plugin's frames, then xbtd's.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "sm.h"
#include "vmops.h"
#include "xbtd.h"

/* Operations in flight under an Async task, for task.cancel. */
struct vm_local_link {
	LIST_ENTRY(vm_local_link) link;
	const char *xapi_task;
	struct sm_cancel *cancel;
};
static LIST_HEAD(, vm_local_link) vm_local_links =
	LIST_HEAD_INITIALIZER(vm_local_links);
static pthread_mutex_t vm_local_lock = PTHREAD_MUTEX_INITIALIZER;

void vm_local_cancel(const char *xapi_task)
{
	struct vm_local_link *l;

	/* Fired under the lock: the switch is freed only once unlinked. */
	pthread_mutex_lock(&vm_local_lock);
	LIST_FOREACH(l, &vm_local_links, link)
		if (strcmp(l->xapi_task, xapi_task) == 0)
			sm_cancel_fire(l->cancel);
	pthread_mutex_unlock(&vm_local_lock);
}

static void vm_local_progress(void *ctx, double done)
{
	task_progress(ctx, done);
}

xbt_error *vm_local_run(const struct ops_op *op)
{
	struct vm_local_link l = { .xapi_task = op->xapi_task };
	struct sm_config cfg = {
		.sm_dir = xbtd_conf.sm_dir,
		.timeout_s = xbtd_conf.plugin_timeout_s,
		.hostname = xbtd_conf.hostname,
	};
	/* The records are borrowed: vmops only reads them. */
	struct vmops_disk *disks = xbt_calloc(op->ndisks ? op->ndisks : 1,
					      sizeof(*disks));
	bool up = op->kind != OPS_START;
	struct vmops v = {
		.sm = &cfg,
		.session_ref = op->session_ref,
		.disks = disks,
		.ndisks = op->ndisks,
	};
	xbt_error *err;

	for (size_t i = 0; i < op->ndisks; i++) {
		disks[i].rec = op->disks[i];
		disks[i].attached = disks[i].activated = up;
	}
	if (op->xapi_task) {
		/* TASK_CANCELLED names the XenAPI task, as opsd's does. */
		cfg.cancel = l.cancel = sm_cancel_new(op->xapi_task);
		v.hooks.ctx = (void *)op->xapi_task;
		v.hooks.progress = vm_local_progress;
		pthread_mutex_lock(&vm_local_lock);
		LIST_INSERT_HEAD(&vm_local_links, &l, link);
		pthread_mutex_unlock(&vm_local_lock);
		/* A cancel that came before the link was made. */
		if (task_cancelling(op->xapi_task))
			sm_cancel_fire(l.cancel);
	}
	if (op->kind == OPS_START)
		err = XBT_PROPAGATE(vmops_start(&v));
	else
		err = XBT_PROPAGATE(vmops_shutdown(&v, op->hard ||
						   op->kind == OPS_DESTROY));
	if (l.cancel) {
		pthread_mutex_lock(&vm_local_lock);
		LIST_REMOVE(&l, link);
		pthread_mutex_unlock(&vm_local_lock);
		sm_cancel_free(l.cancel);
	}
	free(disks);
	return err;
}
