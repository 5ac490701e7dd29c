/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pool, the master's side (doc/pools.md): the hosts that joined and
 * their liveness, the intra-pool messages a slave calls (host.create at
 * join, pool.hello when it starts, host.tickle_heartbeat), the secret a
 * joiner gets (pool.initial_auth), and pool.eject. The joiner's and the
 * slave's side are pool_join.c.
 *
 * One database, on the master: a slave keeps none. The master keeps the
 * hosts that joined it in members.json of its state directory, as xapi
 * keeps its database, so that they are still members after it restarts.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbtd.h"

#define POOL_MEMBERS "members.json"

/*
 * When each slave was last heard of (hello, heartbeat), by host ref, in
 * milliseconds of the monotonic clock: whole seconds would add up to one
 * to --host-dead-after.
 */
static pthread_mutex_t pool_seen_lock = PTHREAD_MUTEX_INITIALIZER;
static xbt_map pool_seen;          /* ref -> decimal milliseconds */
static int64_t pool_started_at_ms;

static void pool_note_seen(const char *host_ref)
{
	char at[24];

	snprintf(at, sizeof(at), "%lld", (long long)http_now_ms());
	pthread_mutex_lock(&pool_seen_lock);
	xbt_map_set(&pool_seen, host_ref, at);
	pthread_mutex_unlock(&pool_seen_lock);
}

/* A slave never heard of since the start counts from the start, as
 * xapi's check_host_liveness gives every host a fresh timer. */
static int64_t pool_last_seen_ms(const char *host_ref)
{
	const char *at;
	int64_t t;

	pthread_mutex_lock(&pool_seen_lock);
	at = xbt_map_get(&pool_seen, host_ref);
	t = at ? strtoll(at, NULL, 10) : pool_started_at_ms;
	pthread_mutex_unlock(&pool_seen_lock);
	return t;
}

/* Under the lock: the host's metrics say live (and the host is enabled),
 * stamped with the time of the change. */
static void pool_set_live(const char *host_ref, bool live)
{
	const struct xbt_host_record *h = store_get(&xbt_class_host, host_ref);
	const struct xbt_host_metrics_record *m =
		h ? store_get(&xbt_class_host_metrics, h->metrics) : NULL;

	if (m && m->live != live) {
		struct xbt_host_metrics_record *me =
			store_edit(&xbt_class_host_metrics, h->metrics);
		me->live = live;
		me->last_updated = now_seconds();
		log_info("host %s (%s) is %s", h->name_label, host_ref,
			 live ? "live" : "not live");
	}
	if (h && h->enabled != live)
		((struct xbt_host_record *)store_edit(&xbt_class_host,
						      host_ref))->enabled = live;
}

/* Under the lock: a joined host is one with an address, not this one. */
static bool pool_is_member(const char *ref, const struct xbt_host_record *h)
{
	return h->address[0] && strcmp(ref, host_self()) != 0;
}

static void pool_liveness_one(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_host_record *h = rec;
	int64_t now_ms = *(const int64_t *)ctx;

	if (pool_is_member(ref, h) &&
	    now_ms - pool_last_seen_ms(ref) >=
	    (int64_t)xbtd_conf.dead_after_s * 1000)
		pool_set_live(ref, false);
}

void pool_liveness(void)
{
	int64_t now_ms = http_now_ms();

	if (role_is_slave())
		return;
	store_lock();
	store_foreach(&xbt_class_host, pool_liveness_one, &now_ms);
	store_unlock();
}

/* ---- members.json -------------------------------------------------------- */

static void pool_member_one(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_host_record *h = rec;
	xmlrpc_value *m;

	if (!pool_is_member(ref, h))
		return;
	m = xbt_value_struct();
	xbt_value_put(m, "uuid", xbt_value_string(h->uuid));
	xbt_value_put(m, "name_label", xbt_value_string(h->name_label));
	xbt_value_put(m, "hostname", xbt_value_string(h->hostname));
	xbt_value_put(m, "address", xbt_value_string(h->address));
	xbt_value_push(ctx, m);
}

/* Under the lock: writes the hosts that joined; failures are logged. */
static void pool_members_save(void)
{
	xmlrpc_value *all = xbt_value_array();
	xbt_buf json = XBT_BUF_INIT;
	xbt_error *err;

	store_foreach(&xbt_class_host, pool_member_one, all);
	xbt_wire_json_value(&json, all);
	xbt_buf_addch(&json, '\n');
	if ((err = XBT_PROPAGATE(role_save_file(POOL_MEMBERS, json.buf)))) {
		log_backtrace(LOG_LEVEL_ERROR, "pool members not saved", err);
		xbt_error_free(err);
	}
	xbt_buf_release(&json);
	xmlrpc_DECREF(all);
}

/* A member's text field, "" when absent or not text. */
static char *pool_member_text(xmlrpc_value *m, const char *key)
{
	xmlrpc_value *v = xbt_value_get(m, key);
	char *s = v ? xbt_value_text(v, NULL) : NULL;

	if (v)
		xmlrpc_DECREF(v);
	return s ? s : xbt_strdup("");
}

/*
 * Under the lock: a joining host's record: the one with its uuid (declared
 * by the world, or the same host joining again) unless another live host
 * has it, else a new one.
 */
static xbt_error *pool_take_host(const char *uuid, const char *name,
				 const char *hostname, const char *address,
				 const char **ref)
{
	const char *old = store_ref_by_uuid(&xbt_class_host, uuid);
	xbt_error *err = NULL;

	*ref = NULL;
	if (old) {
		const struct xbt_host_record *h = store_get(&xbt_class_host, old);
		const struct xbt_host_metrics_record *m =
			store_get(&xbt_class_host_metrics, h->metrics);
		struct xbt_host_record *he;
		if (strcmp(old, host_self()) == 0 ||
		    (m && m->live && h->address[0] &&
		     strcmp(h->address, address) != 0)) {
			char why[320];
			snprintf(why, sizeof(why), "a host named %.255s is "
				 "already in the pool", name);
			err = XBT_RAISE_HOST_NAME_INVALID(why);
			goto out;
		}
		he = store_edit(&xbt_class_host, old);
		free(he->address);
		he->address = xbt_strdup(address);
		free(he->hostname);
		he->hostname = xbt_strdup(hostname);
		*ref = old;
	} else if (!store_uuid_valid(uuid)) {
		err = XBT_RAISE_UUID_INVALID("host", uuid);
	} else {
		*ref = host_add(uuid, name, hostname, address, true);
	}
	if (*ref)
		pool_set_live(*ref, true);
out:
	return err;
}

static void pool_members_load(void)
{
	xbt_buf text = XBT_BUF_INIT;
	xmlrpc_value *all = NULL;
	xbt_error *err = NULL;

	if (!role_load_file(POOL_MEMBERS, &text))
		goto out; /* none joined yet */
	if ((err = XBT_PROPAGATE(xbt_json_parse(text.buf, text.len, 4, &all))))
		goto out;
	store_lock();
	for (size_t i = 0; i < xbt_value_size(all); i++) {
		xmlrpc_value *m = xbt_value_item(all, i);
		char *uuid = pool_member_text(m, "uuid");
		char *name = pool_member_text(m, "name_label");
		char *hostname = pool_member_text(m, "hostname");
		char *address = pool_member_text(m, "address");
		const char *ref;
		xbt_error *e = XBT_PROPAGATE(pool_take_host(uuid, name, hostname,
							    address, &ref));
		if (e) {
			log_backtrace(LOG_LEVEL_WARN, "pool member left out", e);
			xbt_error_free(e);
		}
		free(uuid);
		free(name);
		free(hostname);
		free(address);
		xmlrpc_DECREF(m);
	}
	store_unlock();
out:
	if (err) {
		log_backtrace(LOG_LEVEL_ERROR, POOL_MEMBERS " cannot be read",
			      err);
		xbt_error_free(err);
	}
	if (all)
		xmlrpc_DECREF(all);
	xbt_buf_release(&text);
}

/* ---- intra-pool messages (pool sessions) ------------------------------------ */

xbt_error *host_create(struct call *call, xmlrpc_value *const *args,
		       xmlrpc_value **result)
{
	const char *ref;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(pool_take_host(call->argv[0].s, call->argv[1].s,
					   call->argv[2].s, call->argv[3].s,
					   &ref));
	if (!err) {
		*result = xbt_value_string(ref);
		pool_members_save();
		pool_note_seen(ref);
	}
	store_unlock();
	if (!err) {
		log_info("host %s (%s) joined the pool", call->argv[1].s,
			 call->argv[3].s);
	}
	return err;
}

xbt_error *host_tickle_heartbeat(struct call *call, xmlrpc_value *const *args,
				 xmlrpc_value **result)
{
	const void *rec;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(store_need(&xbt_class_host, call->argv[0].s, &rec));
	if (!err) {
		pool_set_live(call->argv[0].s, true);
		pool_note_seen(call->argv[0].s);
	}
	store_unlock();
	if (!err) {
		/* What it runs, again: a forwarded operation whose connection
		 * was lost may have ended there after all. */
		fwd_resync_host(call->argv[0].s);
		*result = xbt_value_struct();
	}
	return err;
}

xbt_error *pool_hello(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	const char *found;
	char *ref = NULL;
	int answer = XBT_HELLO_RETURN_UNKNOWN_HOST;

	store_lock();
	found = store_ref_by_uuid(&xbt_class_host, call->argv[0].s);
	if (found && strcmp(found, host_self()) != 0) {
		struct xbt_host_record *h = store_edit(&xbt_class_host, found);
		ref = xbt_strdup(found);
		if (strcmp(h->address, call->argv[1].s) != 0) {
			free(h->address);
			h->address = xbt_strdup(call->argv[1].s);
			pool_members_save();
		}
		pool_set_live(ref, true);
		answer = XBT_HELLO_RETURN_OK;
	}
	store_unlock();
	if (ref) {
		pool_note_seen(ref);
		/* As xapi's hello calls the slave back: what it runs now (a
		 * master that restarted has lost track). Unlike xapi, a slave
		 * that cannot be asked is logged, not cannot_talk_back. */
		fwd_resync_host(ref);
	}
	free(ref);
	*result = xbt_value_string(xbt_enum_hello_return.values[answer]);
	return NULL;
}

xbt_error *pool_initial_auth(struct call *call, xmlrpc_value *const *args,
			     xmlrpc_value **result)
{
	*result = xbt_value_string(role_secret());
	return NULL;
}

/* ---- eject ------------------------------------------------------------------- */

struct pool_resident {
	const char *host;
	bool found;
};

static void pool_resident_one(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_vm_record *vm = rec;
	struct pool_resident *r = ctx;

	(void)ref;
	r->found |= vm->power_state != XBT_VM_POWER_STATE_HALTED &&
		    strcmp(vm->resident_on, r->host) == 0;
}

/* Under the lock: a VM resident on the host is not halted (xapi's
 * eject_self looks at VM.resident_on, as here). */
static bool pool_runs_vms(const char *host_ref)
{
	struct pool_resident r = { host_ref, false };

	store_foreach(&xbt_class_vm, pool_resident_one, &r);
	return r.found;
}

/* Under the lock: the host, its metrics, PBDs, PIFs and CPUs are gone. */
static void pool_forget_host(const char *ref)
{
	const struct xbt_host_record *h = store_get(&xbt_class_host, ref);
	xbt_strv pbds = { 0 };

	for (size_t i = 0; i < h->PBDs.n; i++)
		xbt_strv_add(&pbds, h->PBDs.v[i]);
	for (size_t i = 0; i < pbds.n; i++) {
		const struct xbt_pbd_record *p =
			store_get(&xbt_class_pbd, pbds.v[i]);
		struct xbt_sr_record *sr =
			p ? store_edit(&xbt_class_sr, p->SR) : NULL;
		if (sr)
			xbt_strv_remove(&sr->PBDs, pbds.v[i]);
		if (p)
			store_del(&xbt_class_pbd, pbds.v[i]);
	}
	xbt_strv_clear(&pbds);
	if (store_get(&xbt_class_host_metrics, h->metrics))
		store_del(&xbt_class_host_metrics, h->metrics);
	network_host_removed(h);
	guest_host_removed(h);
	store_del(&xbt_class_host, ref);
	pthread_mutex_lock(&pool_seen_lock);
	xbt_map_remove(&pool_seen, ref);
	pthread_mutex_unlock(&pool_seen_lock);
}

xbt_error *pool_eject(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	const char *ref = call->argv[0].s;
	const struct xbt_host_record *h;
	char *address = NULL;
	bool live = false;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(store_need(&xbt_class_host, ref,
				       (const void **)&h));
	if (!err && strcmp(ref, host_self()) == 0)
		/* xapi raises its own Cannot_eject_master exception, which
		 * clients see as an INTERNAL_ERROR: a declared code is
		 * clearer. */
		err = XBT_RAISE_OPERATION_NOT_ALLOWED("Cannot eject the pool "
						      "master");
	if (!err && pool_runs_vms(ref))
		err = XBT_RAISE_OPERATION_NOT_ALLOWED("VM resident on host");
	if (!err) {
		const struct xbt_host_metrics_record *m =
			store_get(&xbt_class_host_metrics, h->metrics);
		live = m && m->live && h->address[0];
		address = xbt_strdup(h->address);
	}
	store_unlock();
	if (err)
		goto out;
	/* A live slave is told first; one that is away learns it at its
	 * next hello (HOST_UNKNOWN_TO_MASTER). */
	if (live)
		pool_tell_ejected(address);
	store_lock();
	if (store_get(&xbt_class_host, ref)) {
		pool_forget_host(ref);
		pool_members_save();
	}
	store_unlock();
	log_info("host %s ejected from the pool", ref);
out:
	free(address);
	return err;
}

/* ---- start and stop ---------------------------------------------------------- */

xbt_error *pool_start(unsigned port)
{
	pool_started_at_ms = http_now_ms();
	if (!role_is_slave())
		pool_members_load();
	return XBT_PROPAGATE(pool_slave_start(port));
}

void pool_stop(void)
{
	pool_slave_stop();
	/* Under the lock: the front still serves (main stops it after this),
	 * and a hello or host.create may be noting a host seen. */
	pthread_mutex_lock(&pool_seen_lock);
	xbt_map_clear(&pool_seen);
	pthread_mutex_unlock(&pool_seen_lock);
}
