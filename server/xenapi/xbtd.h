/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd: the daemon's shared declarations. Modules with a wide interface of
 * their own (http, sm, log) keep it in their own header.
 */
#ifndef XBTD_H
#define XBTD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"
#include "xbt/model.h"
#include "xbt/xenapi.h"
#include "handlers.h"
#include "http.h"
#include "options.h"
#include "rpc.h"
#include "worker.h"

/* ---- configuration (config.c): set at start-up, read-only afterwards ---- */

/* Defaults of the modules below, as plain numbers for config.c's table. */
#define SESSION_DEFAULT_IDLE_S 86400
#define TASK_DEFAULT_MAX 1000
#define TASK_DEFAULT_MAX_AGE_S 3600
#define TASK_DEFAULT_PENDING_TIMEOUT_S 86400  /* xapi's pending_task_timeout */

/* Longest --opsd-dir: its socket must fit a sockaddr_un. */
#define OPS_DIR_MAX 96

struct xbtd_config {
	char listen_addr[64];
	unsigned listen_port;
	char hostname[OPT_HOSTNAME_MAX];
	const char *password;     /* root's; NULL means the default */
	const char *users_file;
	const char *sm_dir;       /* NULL: the build tree's or the installed */
	const char *world_file;
	const char *db_file;      /* --db: NULL, in memory only */
	bool db_check;            /* --check: verify db_file and exit */
	unsigned workers;
	unsigned async_queue;     /* Async calls waiting for a worker, at most */
	unsigned plugin_timeout_s;
	unsigned session_idle_s;
	unsigned task_max;
	unsigned task_max_age_s;
	unsigned pending_timeout_s; /* a pending task unchanged this long goes */
	struct http_config http;  /* addr and port from listen_* at start */
	unsigned event_history;
	int log_level;
	bool syslog;
	const char *log_file;    /* --log-file, or NULL: stderr */
	const char *state_dir;    /* the pool role and secret */
	unsigned heartbeat_s;     /* a slave's heartbeat period */
	unsigned dead_after_s;    /* a master's patience with a silent slave */
	char state_dir_default[256];
	char **argv;              /* to restart with (a change of role) */
	const char *opsd_path;    /* the xbt-opsd binary xbtd runs */
	const char *opsd_dir;     /* its state directory */
	const char *opsd_socket;  /* set: use this running opsd instead */
	unsigned opsd_timeout_s;  /* a call to opsd fails past this */
	unsigned shutdown_grace_s; /* operations may end this long after SIGTERM */
	bool storage_in_process;  /* no opsd: vm_local.c runs the steps */
	char opsd_dir_default[OPS_DIR_MAX + 1];
};
extern struct xbtd_config xbtd_conf;

/*
 * Fills xbtd_conf from its option table (defaults, $XBT_PASSWORD, argv),
 * then the defaults that depend on the machine. 0, or 2 after saying what
 * is wrong; --help and --version exit. With argc 0: the defaults only.
 */
int config_parse(int argc, char **argv);

#define XBTD_DEFAULT_PASSWORD "xbt"
#define XBTD_API_MAJOR 2
#define XBTD_API_MINOR 21

/* ---- dispatch (dispatch.c; struct call is rpc.h's) ------------------ */

/*
 * Runs one XenAPI call: method name (with "Async." if any) and its params
 * (array, borrowed). Success: *result (new reference). The error of a
 * synchronous call is logged here, once.
 */
xbt_error *dispatch_call(const char *method, xmlrpc_value *params,
			 struct rpc_park *park, xmlrpc_value **result);
/* The HTTP front's callback (an http_rpc_fn): parse, dispatch, serialise. */
bool dispatch_http(void *ctx, struct http_park *park, enum http_proto proto,
		   const char *body, size_t len, xbt_buf *out);
/* The front's quick try (http_config.quick): the store's own calls. */
bool dispatch_http_quick(void *ctx, enum http_proto proto, const char *body,
			 size_t len, xbt_buf *out);
/* GET and HEAD (http_config.page): the viewer's files, else 404 (ui.c). */
void ui_page(const char *path, struct http_page *out);

/* ---- the object store (store.c) -------------------------------------- */

/*
 * Every object of every class, under one lock. Records are the generated
 * structs; the store owns them. Lookups and changes happen with the lock
 * held. A record changes only through store_add, store_edit or store_del,
 * and store_unlock records one event per object changed in the section
 * (doc/design.md, "Store and events").
 */
void store_init(void);      /* after evlog_init */
void store_shutdown(void);
void store_lock(void);
void store_unlock(void);
/* store_lock unless another holds it: false then (nothing locked). */
bool store_trylock(void);

/* All under the lock. Refs are "OpaqueRef:<uuid>" of the object's uuid. */
const void *store_get(const xbt_class_desc *c, const char *ref);
/* HANDLE_INVALID [class, ref] when absent. */
xbt_error *store_need(const xbt_class_desc *c, const char *ref,
		      const void **rec);
/* The record to change (NULL when absent); the change becomes an event. */
void *store_edit(const xbt_class_desc *c, const char *ref);
xbt_error *store_need_edit(const xbt_class_desc *c, const char *ref,
			   void **rec);
/*
 * Takes rec; its uuid field, when set, must be a well-formed uuid no other
 * object of c has (store_uuid_valid, store_ref_by_uuid), else one is made
 * here. Returns its ref (valid while the object lives).
 */
const char *store_add(const xbt_class_desc *c, void *rec);
void store_del(const xbt_class_desc *c, const char *ref);
/* NULL when no object has that uuid. */
const char *store_ref_by_uuid(const xbt_class_desc *c, const char *uuid);
size_t store_count(const xbt_class_desc *c);
/* Calls fn for every object of c in creation order; fn may delete the
 * object it is given (store_del) or edit any (store_edit), nothing else. */
void store_foreach(const xbt_class_desc *c,
		   void (*fn)(const char *ref, const void *rec, void *ctx),
		   void *ctx);

/*
 * A view: every object of a class as it was when taken (under the lock),
 * read without the lock and released by its taker (doc/design.md, "Big
 * reads"). The records are shared, not copied: an edit copies a record a
 * view holds before it changes it.
 */
struct store_rec;
struct store_view {
	const xbt_class_desc *c;
	size_t n;
	struct store_rec **v;
};
void store_view_take(const xbt_class_desc *c, struct store_view *view);
void store_view_release(struct store_view *view);
const char *store_view_ref(const struct store_view *view, size_t i);
const void *store_view_rec(const struct store_view *view, size_t i);
/* When (seconds) the object was last added or edited; -1: no object. */
int64_t store_view_edited(const struct store_view *view, size_t i);
int64_t store_edited(const xbt_class_desc *c, const char *ref);
/* A box db.c was given (db_enqueue): its record, and its release. */
const void *store_box_rec(const struct store_rec *b);
void store_box_release(struct store_rec *b);

/*
 * Persistence (db.c; doc/design.md, "Persistence"): with --db, every
 * object of a persisted class (all but sessions and tasks) lives in an
 * SQLite database too. store_unlock hands the section's changes to
 * db_enqueue (under the store's lock; it takes the boxes' references); a
 * writer thread commits them, many sections in one transaction, and a
 * call's answer waits (db_wait) until its own sections are durable.
 */
struct db_change {
	const xbt_class_desc *c;
	struct store_rec *box;    /* NULL: the object was deleted */
	char ref[64];
};
bool db_recording(void);
bool db_persisted(const xbt_class_desc *c);
void db_enqueue(const struct db_change *v, size_t n);
void db_wait(void);
/* Opens and verifies path (a missing or empty file becomes a new
 * database); refuses a corrupt or foreign one, which it never writes. */
xbt_error *db_open(const char *path);
/* After db_open: the objects it holds, loaded into the store (false: none,
 * the world seeds it: db_seed, after host_init and world_init). */
xbt_error *db_load(bool *loaded);
xbt_error *db_seed(void);
/* A slave's: its objects are the master's; ejected, the world seeds it. */
xbt_error *db_clear(void);
void db_start(void);   /* recording from now on */
void db_stop(void);    /* commits what is queued, closes */
/* --check: 0 when path is a sound database, else 1; says so on stdout. */
int db_check(const char *path);

/* A fresh random UUID into buf (at least 37 bytes). */
void store_new_uuid(char *buf);
/* Whether s is a lowercase 8-4-4-4-12 hex uuid. */
bool store_uuid_valid(const char *s);

/* ---- this host and its pool (host.c) ------------------------------------ */

/*
 * Which host this daemon is, in which pool: host_init adds both records
 * (after store_init, before the world); their refs live until shutdown.
 */
void host_init(const char *hostname, const char *address);
/* Instead of host_init when the database had the objects: finds this host
 * and the pool (an error when the database is another host's). */
xbt_error *host_resume(const char *hostname, const char *address);
const char *host_self(void);
const char *host_pool(void);
/* The memory every host claims (host_metrics). */
#define HOST_MEMORY_TOTAL ((int64_t)16 << 30)
/* The CPUs every host claims (host_cpu). */
#define HOST_CPUS 4
/*
 * Under the lock: a host record with its metrics (live or not), and a PBD
 * (not attached) for every shared SR. Its ref lives until the host is
 * removed.
 */
const char *host_add(const char *uuid, const char *name,
		     const char *hostname, const char *address, bool live);
/* Under the lock: a PBD linking host and SR (in both records). */
const char *host_new_pbd(const char *host_ref, const char *sr_ref,
			 const xbt_map *device_config, bool attached);

/* ---- this host's role in its pool (role.c) ----------------------------- */

#define ROLE_DIR_MAX 200
#define ROLE_ADDR_MAX 255
#define ROLE_SECRET_MAX 255

/*
 * Start-up: reads the state directory (making it, mode 0700): pool.conf
 * ("master", or "slave:<address>") and ptoken, the pool secret; a master
 * without one makes one. INTERNAL_ERROR ["state directory ...: ..."].
 */
xbt_error *role_init(const char *dir);
void role_shutdown(void);
bool role_is_slave(void);
/* A slave's master address (""on a master). */
const char *role_master(void);
const char *role_secret(void);
/* Whether secret is the pool's (compared in constant time). */
bool role_secret_ok(const char *secret);
/*
 * Changes of role, written to the state directory at once and taking
 * effect when xbtd restarts itself, delay_s seconds from now (so that an
 * answer, or an Async task, can be read first).
 */
xbt_error *role_become_slave(const char *master, const char *secret,
			     unsigned delay_s);
xbt_error *role_become_master(unsigned delay_s);
void role_request_restart(unsigned delay_s);
bool role_restart_due(int64_t now);
/* A change of role waits for its restart. */
bool role_restart_pending(void);
/* Other files of the state directory (pool.c's members.json): written
 * atomically (mode 0600), read whole (at most ROLE_FILE_MAX bytes). */
#define ROLE_FILE_MAX (16 * 1024 * 1024)
xbt_error *role_save_file(const char *name, const char *text);
bool role_load_file(const char *name, xbt_buf *out);
/* A slave's emergency error (the master does not know it), or none. */
void role_set_emergency(const xbt_error *e);
xbt_error *role_check_emergency(void);

/* ---- the pool (pool.c) ---------------------------------------------------- */

#define POOL_DEFAULT_HEARTBEAT_S 30    /* xapi's host_heartbeat_interval */
#define POOL_DEFAULT_DEAD_AFTER_S 600  /* xapi's host_assumed_dead_interval */

/*
 * Start-up, once serving on port (every host of a pool serves on the same
 * one): a master takes back the hosts that joined it (members.json); a
 * slave starts saying hello, then heartbeats (a thread).
 */
xbt_error *pool_start(unsigned port);
void pool_stop(void);
/* Housekeeping (master): a slave silent for --host-dead-after is not live. */
void pool_liveness(void);
/* pool_join.c, for pool.c: the slave's thread; telling a slave it is out. */
xbt_error *pool_slave_start(unsigned port);
void pool_slave_stop(void);
void pool_tell_ejected(const char *address);
/* A client of the host of the pool at that address (the pool's port). */
struct xbt_client;
xbt_error *pool_client_open(const char *address, unsigned timeout_ms,
			    struct xbt_client **c);

/* ---- sessions (session.c) -------------------------------------------- */

enum session_kind {
	SESSION_USER,   /* login_with_password */
	SESSION_POOL,   /* slave_login: another host of the pool */
	SESSION_LOCAL   /* slave_local_login_with_password */
};
/* The kind of a live session (SESSION_USER when unknown). */
enum session_kind session_kind(const char *ref);

/* SESSION_INVALID [ref] unless ref is a live session; refreshes it. */
xbt_error *session_check(const char *ref);
/* The same, the store's lock held by the caller. */
xbt_error *session_check_locked(const char *ref);
/* Whether ref is a live session, without refreshing it. */
bool session_alive(const char *ref);
/* Bumped whenever a session ends: waiters re-check theirs when it moves. */
unsigned session_generation(void);
/* Housekeeping: drops sessions idle for longer than the limit. */
void session_expire(int64_t now);
/* Login outside the API (plugins, tests): a new session ref (caller frees). */
char *session_open_internal(const char *user, const char *originator);
/* Ends a session (any: logout, expiry, internal ones). Store lock held. */
void session_destroy(const char *ref);

/* ---- failed logins throttled (login_limit.c) ---------------------------- */

/*
 * Before a password is checked: waits until neither the client's address
 * nor the user name is out of failures to spend; false (check nothing,
 * refuse) when too many logins wait on them already. After the check,
 * login_limit_leave with its outcome: a success gives the tokens back.
 */
bool login_limit_enter(const char *addr, const char *user);
void login_limit_leave(const char *addr, const char *user, bool success);
void login_limit_shutdown(void);

/* ---- tasks (task.c) --------------------------------------------------- */

/* A pending task for an Async call; returns its ref (caller frees). */
char *task_new(const char *label, const char *session);
/* Marks the task done: result value (borrowed) or err (borrowed). */
void task_finish(const char *ref, xmlrpc_value *result, const xbt_error *err);
/* True when someone asked to cancel the task. */
bool task_cancelling(const char *ref);
/* TASK_CANCELLED [ref] when the task was cancelled, else NULL. */
xbt_error *task_check_cancel(const char *ref);
void task_progress(const char *ref, double progress);
/* The host a task's work runs on (a forwarded one's: the slave). */
void task_set_resident_on(const char *ref, const char *host);
/*
 * Housekeeping: drops finished tasks past the age and count limits, and
 * pending ones unchanged for --pending-task-timeout.
 */
void task_gc(int64_t now);
/* Under the lock: the task counts as the session's (session.tasks). */
void task_note_session(const char *task, const char *session);
/* Under the lock: whether any of these tasks is still running. */
bool task_any_pending(const xbt_strv *tasks);
/* Under the lock: a session ends; of its tasks, those task.create made
 * and still pending go (nobody will finish them). */
void task_orphan(const xbt_strv *tasks);
void task_shutdown(void);

/* ---- the fake world (world.c) ----------------------------------------- */

/*
 * A fixed uuid for the object of that kind and name ("vm", "demo-ok"): the
 * same on every start, so a restarted xbtd finds the same objects.
 */
void world_uuid(char *out, const char *kind, const char *name);
/* A fixed 32-bit hash (FNV-1a) of s, for values derived from a uuid (a
 * VIF's MAC, a guest's address): not cryptographic. */
uint32_t world_hash32(const char *s);
/* Loads the world (demo or --world file) after host_init. */
xbt_error *world_init(const char *world_file);
/* Loads a world document (name is for messages: "file:line"). */
xbt_error *world_load(const char *name, const char *xml, size_t len);

/* ---- networks, VIFs, PIFs (network.c) ----------------------------------- */

struct xbt_network_record;
struct xbt_vif_record;
/* Under the lock: adds the network (taking rec) with a PIF on every host. */
const char *network_add(struct xbt_network_record *rec);
/* Under the lock: the new host's PIF on every network. */
void network_host_added(const char *host_ref);
/* Under the lock: the PIFs of a host about to go, unlinked from networks. */
struct xbt_host_record;
void network_host_removed(const struct xbt_host_record *host);
/* Under the lock: adds the VIF (taking rec; its VM and network set), linked
 * from both; an empty MAC is made from the uuid. */
const char *network_add_vif(struct xbt_vif_record *rec);
/* Under the lock: the VM's VIFs plugged (a running VM) or not. */
struct xbt_vm_record;
void network_vm_plugged(const struct xbt_vm_record *vm, bool up);

/* ---- a VM's run-time neighbours (guest.c) -------------------------------- */

/* Under the lock: the VM's VM_metrics, unless it has one. */
void guest_new_metrics(const char *vm_ref);
/*
 * Under the lock, after vm (being edited) changed power state, or was
 * restarted in place (a reboot: restarted): its metrics, guest metrics,
 * consoles and VIFs follow (doc/design.md "The VM's neighbourhood").
 */
void guest_power(const char *vm_ref, struct xbt_vm_record *vm, bool restarted);
/* Under the lock: n host_cpu records for the host. */
void guest_host_cpus(const char *host_ref, unsigned n);
/* Under the lock: the host_cpus of a host about to go. */
void guest_host_removed(const struct xbt_host_record *host);

/* ---- VMs (vm.c) -------------------------------------------------------- */

struct xbt_vm_record;
/*
 * The VM's operations that move disks, claiming the VM meanwhile:
 * vm_power_up (start, start_on, resume; want: the host asked for, or NULL
 * to place it) attaches and activates them, the VM ending Paused or
 * Running as paused says; vm_power_down (clean_shutdown, hard_shutdown,
 * suspend) deactivates and detaches them, the VM ending in new_state.
 * name is the vm_operations name.
 */
xbt_error *vm_power_up(struct call *call, const char *name, const char *want,
		       bool paused);
xbt_error *vm_power_down(struct call *call, const char *name, int new_state);
/* Under the lock: a domid no VM had (a start, a reboot). */
int64_t vm_new_domid(void);

/* ---- VM power states (vm_power.c) ---------------------------------------- */

/* Recomputes allowed_operations from power_state and current_operations. */
void vm_update_allowed(struct xbt_vm_record *vm);
/* Under the lock: why op (a vm_operations name) may not start on the VM
 * now (VM_IS_TEMPLATE, OTHER_OPERATION_IN_PROGRESS, VM_BAD_POWER_STATE
 * with xapi's expected states), or NULL. */
xbt_error *vm_op_check(const char *ref, const struct xbt_vm_record *vm,
		       const char *op);

/* ---- VMs: resync (vm.c) ------------------------------------------------- */

/*
 * Resync, xbtd's side: given the uuids of the VMs opsd runs and of all it
 * knows, fixes the store (a VM opsd runs and xbtd places nowhere becomes
 * Running here; one xbtd runs here that opsd does not know becomes
 * Halted) and adds to destroy the uuids opsd runs that xbtd does not
 * know or places on another host. VMs with an operation in flight are
 * left alone.
 */
/* A slave's VMs as it runs them: running ones recorded there, those
 * recorded there and not running halted; nothing when an operation ended
 * since vm_ops_generation() said generation (the list may predate it). */
unsigned long vm_ops_generation(void);
void vm_resync_host(const char *host, const xbt_strv *running,
		    unsigned long generation);
void vm_resync(const xbt_strv *running, const xbt_strv *known,
	       xbt_strv *destroy);

/* ---- stopping (dispatch.c, main.c; doc/design.md, "Stopping") ----------- */

/* From SIGTERM on: queued Async calls end TASK_CANCELLED unstarted. */
void dispatch_stop_begin(void);
bool dispatch_stopping(void);
/* Operations (messages with an Async form, called either way) running. */
unsigned dispatch_running(void);
/* Cancels every operation in flight, and any that starts from now on:
 * pending tasks become cancelling; opsd's tasks get TASK.cancel
 * (ops.c); xbtd's own plugin calls (PBD.plug, unplug) are killed. */
void task_cancel_all(void);
void ops_cancel_all(void);
void pbd_cancel_all(void);

/* ---- storage operations (storage.c, pbd.c); all under the store lock ---- */

/* OTHER_OPERATION_IN_PROGRESS when op (a storage_operations name) may not
 * start on the SR now; NULL when it may. */
struct xbt_sr_record;
struct xbt_vbd_record;
xbt_error *storage_sr_check(const char *ref, const struct xbt_sr_record *sr,
			    const char *op);
/* Why the VBD may not be attached now (OTHER_OPERATION_IN_PROGRESS,
 * VDI_IN_USE), or NULL. */
xbt_error *storage_vbd_check_attach(const char *ref,
				    const struct xbt_vbd_record *b);
/* Recompute allowed_operations: the SR's; the VBD's and its VDI's other
 * VBDs'; every SR's and VBD's (after a world is loaded). */
void storage_update_sr(const char *ref);
void storage_update_vbd(const char *ref);
void storage_update_all(void);
/* Whether a PBD.unplug of the PBD is in flight: VM.start does not count
 * it as plugged. */
bool pbd_unplugging(const char *ref);
/* The VDIs of the SR that VMs on host (resident there, or being started or
 * stopped there) have attached or are attaching, for PBD.unplug. */
void vm_vdis_in_use(const char *host, const char *sr, xbt_strv *out);

/* ---- the backend, xbt-opsd (ops_proc.c: the process; ops.c: calls) ------ */

/*
 * Start-up, after the world: adopts the opsd serving in --opsd-dir, else
 * runs one there (in a session of its own: it outlives xbtd), or takes
 * --opsd-socket's; then resyncs. INTERNAL_ERROR ["xbt-opsd: ..."] when
 * none can be had. ops_stop stops the one xbtd started, nothing else.
 */
xbt_error *ops_start(void);
void ops_stop(void);
/* Sends sig to the xbt-opsd xbtd started, if one runs (not to one it
 * adopted or was given). */
void ops_signal_own(int sig);
/* Housekeeping: starts a dead opsd again (with a growing delay while it
 * keeps dying) and resyncs with one that came back. */
void ops_supervise(int64_t now);
/* Before a call: an opsd serves, or INTERNAL_ERROR ["xbt-opsd: ..."]. */
xbt_error *ops_ensure(void);
/* Closes the idle connections to opsd (at shutdown). */
void ops_pool_drain(void);
const char *ops_socket_path(void);
const char *ops_url(void);

/* One lifecycle operation for opsd: what its plugin calls need. */
struct xops_disk_record;
enum ops_kind { OPS_START, OPS_SHUTDOWN, OPS_DESTROY };
#define OPS_DEFAULT_TIMEOUT_S 60

struct ops_op {
	enum ops_kind kind;          /* DESTROY: opsd's recorded disks, hard */
	bool hard;                   /* shutdown: go on past failing steps */
	const char *dbg;             /* the XenAPI task (or operation) ref */
	const char *xapi_task;       /* Async: its task, for cancel and progress */
	const char *vm;              /* the VM's uuid */
	const char *session_ref;     /* valid while the plugins run */
	const struct xops_disk_record *disks;
	size_t ndisks;
};

/*
 * Runs op in opsd and waits for its task (progress goes to xapi_task). A
 * Failed task's error is relayed with opsd's frames in front; a failed
 * call to opsd is INTERNAL_ERROR ["xbt-opsd: ..."] (doc/opsd.md).
 */
xbt_error *ops_run(const struct ops_op *op);
/* The uuids of the VMs opsd runs (VM.list). */
xbt_error *ops_running(xbt_strv *running);

/*
 * A remote task's failure (xbt-opsd's, a slave's), relayed: its code and
 * params unchanged (INTERNAL_ERROR ["<who>: ..."] when the code is not
 * one), its backtrace glued in front of ours; a backtrace that cannot be
 * read is logged and never replaces the error.
 */
xbt_error *relay_task_failure(const xbt_strv *error, const char *backtrace,
			      const char *who);

/* ---- forwarding to the host an operation belongs to (fwd.c) ------------ */

/*
 * Has the slave run op's storage steps through its xbt-opsd, or plug or
 * unplug an SR, and waits; the master task's cancel is passed on.
 * HOST_OFFLINE [host] when it is not live, CANNOT_CONTACT_HOST [host] when
 * the connection fails, else the slave's error relayed.
 */
xbt_error *fwd_vm_storage(const char *host, const struct ops_op *op);
/* Asks a slave (at its hello and heartbeats) which VMs it runs and
 * records them (vm_resync_host); a slave that cannot be asked is logged. */
void fwd_resync_host(const char *host);
xbt_error *fwd_sr_storage(const char *host, bool plug, const char *sr,
			  const char *sr_uuid, const char *sr_type,
			  const xbt_map *device_config, const char *master_task);
/* task.cancel: passes the cancel on to opsd's task for xapi_task, if any. */
void ops_cancel(const char *xapi_task);
/*
 * --storage-in-process (vm_local.c), for measuring the split only: runs
 * op's storage steps in xbtd itself (server/common/vmops.c), with no
 * process boundary, no state directory and no resync. vm_local_cancel is
 * task.cancel's: it fires the cancel switch of xapi_task's operation.
 */
xbt_error *vm_local_run(const struct ops_op *op);
void vm_local_cancel(const char *xapi_task);
/*
 * Brings xbtd's VMs and opsd's into line, by xapi's rules (doc/opsd.md,
 * "Resync"): after opsd was started, adopted or came back.
 */
void ops_resync(void);

/* ---- events (event.c, over evlog.c) ------------------------------------- */

/* Housekeeping: forgets event.register state of sessions that ended. */
void event_gc(void);
/* Frees what event.register kept; after every call has returned. */
void event_shutdown(void);
/*
 * The thread that answers parked event waits (event_wait.c): started after
 * evlog_init, stopped after evlog_stop and http_stop (which answered them).
 */
void event_wait_start(void);
void event_wait_stop(void);

/* ---- misc --------------------------------------------------------------- */

int64_t now_seconds(void);

#endif
