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
/* An ended task nobody destroyed for a minute is an orphan (its xbtd died
 * between reading and destroying it): xbtd destroys its tasks at once. */
#define OPSD_DEFAULT_TASK_MAX_AGE_S 60
#define OPSD_DEFAULT_WORKERS 64
#define OPSD_UPDATES_MAX_WAIT_S 60   /* UPDATES.get and TASK.wait */
/* TASK.wait returns on progress only once a task has run this long: a
 * short task is one round trip. */
#define OPSD_WAIT_PROGRESS_AFTER_S 0.2

/* The state directory's path (its socket must fit a sockaddr_un too). */
#define OPSD_STATE_DIR_MAX 200

struct opsd_config {
	const char *state_dir;
	const char *socket_path;  /* default: <state_dir>/opsd.sock */
	char socket_default[OPSD_STATE_DIR_MAX + 16];
	char hostname[OPT_HOSTNAME_MAX];
	const char *sm_dir;
	unsigned plugin_timeout_s;
	unsigned workers;
	unsigned task_max;
	unsigned task_max_age_s;
	struct http_config http;  /* addr from socket_path at start */
	int log_level;
	bool syslog;
	const char *log_file;    /* --log-file, or NULL: stderr */
	bool watch_stdin;
};
extern struct opsd_config opsd_conf;

/* As xbtd's config_parse: 0, or 2 after saying what is wrong. */
int opsd_config_parse(int argc, char **argv);

/* ---- dispatch (dispatch.c) --------------------------------------------- */

xbt_error *opsd_dispatch_call(const char *method, xmlrpc_value *params,
			      struct rpc_park *park, xmlrpc_value **result);
/* The HTTP front's callback. */
bool opsd_dispatch_http(void *ctx, struct http_park *park,
			enum http_proto proto, const char *body, size_t len,
			xbt_buf *out);

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

/* ---- the state directory (state.c) ------------------------------------- */

/*
 * Makes dir (0700) and dir/vms, and takes dir/lock with flock(2) for the
 * life of the process: INTERNAL_ERROR ["state directory: another xbt-opsd
 * holds it"] when another opsd has it. Until it is open, save and remove
 * do nothing and load finds nothing (in-process tests).
 */
xbt_error *opsd_state_open(const char *dir);
void opsd_state_close(void);
/* Writes the VM's record (write, rename); failures are logged. */
void opsd_state_save(const char *uuid, xmlrpc_value *record);
void opsd_state_remove(const char *uuid);
/* Calls fn for every VM file; a file that cannot be read, or whose
 * record fn refuses (returns false, having logged why), is logged and
 * renamed <name>.bad. */
void opsd_state_load(bool (*fn)(const char *uuid, xmlrpc_value *rec,
				void *ctx),
		     void *ctx);

/* ---- VMs (vm.c) ------------------------------------------------------- */

/* A VM's key: [A-Za-z0-9_-]{1,OPSD_VM_ID_MAX} (it names its state file). */
#define OPSD_VM_ID_MAX 64
bool opsd_vm_id_ok(const char *uuid);
/*
 * Start-up, after opsd_state_open and worker_start: takes the VMs of the
 * state directory back; an operation a dead opsd left half done runs
 * again as a task (dbg "recovery"): a start is undone, a shutdown
 * finished.
 */
void opsd_vm_recover(void);
void opsd_vm_shutdown_all(void);

/* ---- the sweeper (sweeper.c) --------------------------------------------- */

/*
 * Start-up, before threads and before the state directory is locked:
 * forks the sweeper, a small process that learns of every plugin process
 * group (sm_set_group_watch) and kills those still alive once opsd has
 * ended, however it ended, so that no plugin outlives it. stop (at a
 * normal end, after every plugin has ended) lets it go and reaps it.
 */
void opsd_sweeper_start(void);
void opsd_sweeper_stop(void);

#endif
