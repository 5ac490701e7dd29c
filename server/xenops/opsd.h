/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbt-opsd, the xenopsd-like backend (doc/opsd.md): its declarations. It
 * serves the xenops interface (idl/xenops.xml) on a Unix-domain socket and
 * runs the storage steps of the VM lifecycle for xbtd as tasks whose
 * failures carry their backtrace back.
 */
#ifndef XBT_OPSD_H
#define XBT_OPSD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"
#include "xbt/model.h"
#include "xbt/xenops.h"
#include "handlers.h"
#include "http.h"
#include "options.h"
#include "rpc.h"
#include "sm.h"
#include "worker.h"

/* ---- configuration (config.c): set at start-up, read-only afterwards ---- */

#define OPSD_DEFAULT_TASK_MAX 1000
#define OPSD_DEFAULT_TASK_MAX_AGE_S 3600
#define OPSD_DEFAULT_WORKERS 64
#define OPSD_UPDATES_MAX_WAIT_S 60

struct opsd_config {
	const char *socket_path;
	char hostname[OPT_HOSTNAME_MAX];
	const char *sm_dir;
	unsigned plugin_timeout_s;
	unsigned workers;
	unsigned task_max;
	unsigned task_max_age_s;
	size_t max_body;
	unsigned max_conn;
	int log_level;
	bool syslog;
	bool watch_stdin;
};
extern struct opsd_config opsd_conf;

/* As xbtd's config_parse: 0, or 2 after saying what is wrong. */
int opsd_config_parse(int argc, char **argv);

/* ---- dispatch (dispatch.c) --------------------------------------------- */

xbt_error *opsd_dispatch_call(const char *method, xmlrpc_value *params,
			      xmlrpc_value **result);
/* The HTTP front's callback. */
void opsd_dispatch_http(void *ctx, enum http_proto proto, const char *body,
			size_t len, xbt_buf *out);

/* ---- the task table (task.c) -------------------------------------------- */

/*
 * Tasks live in one table under one lock; every change bumps a generation
 * that UPDATES.get waits on. A task runs one job (a VM operation) on the
 * worker pool; while it runs, the job holds it (destroy is refused).
 */
struct opsd_task;

void opsd_task_init(void);
/*
 * At shutdown: cancels every running task, wakes UPDATES.get's waiters and
 * refuses new tasks; waits for nothing. shutdown frees the table after
 * worker_stop.
 */
void opsd_task_cancel_all(void);
void opsd_task_shutdown(void);

/*
 * A pending task for operation op on vm, its cancel switch answering
 * TASK_CANCELLED [dbg]. NULL and OPERATION_NOT_ALLOWED when the table is
 * full of pending tasks. *id (caller frees) is its id.
 */
xbt_error *opsd_task_new(const char *dbg, const char *op, const char *vm,
			 struct opsd_task **out, char **id);
/* The job's view, valid until opsd_task_end. */
const char *opsd_task_dbg(const struct opsd_task *t);
struct sm_cancel *opsd_task_cancel_switch(struct opsd_task *t);
void opsd_task_progress(struct opsd_task *t, double progress);
/* Records a step (a plugin call) and how it went. */
void opsd_task_step(struct opsd_task *t, const char *name, int state);
/* The job's end: err NULL is Completed, else Failed with err (borrowed). */
void opsd_task_end(struct opsd_task *t, const xbt_error *err);
/* Housekeeping: drops ended tasks past the age and count limits. */
void opsd_task_gc(int64_t now);

/* ---- VMs (vm.c) ------------------------------------------------------- */

void opsd_vm_shutdown_all(void);

#endif
