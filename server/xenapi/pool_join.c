/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pool, the side of a host that joins or is a slave (doc/pools.md,
 * after ocaml/xapi/xapi_pool.ml): pool.join, then as a slave the hello
 * and heartbeats that keep the master's record of it live, and
 * pool.emergency_transition_to_master, by which its master ejects it. The
 * master's side is pool.c.
 *
 * Hosts of a pool serve the XenAPI on one port, each on its own address
 * (doc/pools.md): a host reaches another at http://<address>:<its port>/.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xbt/client.h"
#include "xbt/value.h"
#include "xbtd.h"

#define POOL_CALL_TIMEOUT_MS 10000
/* A joiner and an ejected slave restart this long after answering. */
#define POOL_RESTART_DELAY_S XBT_POOL_RESTART_DELAY_S
#define POOL_ASYNC_RESTART_DELAY_S 3

/* This host's, hence the pool's. Atomic: main sets it once the front
 * listens (pool_slave_start), while the front's call threads may already
 * be reading it (a hello, a join); such an early call sees 0. */
static _Atomic unsigned pool_port;

/* http://<address>:<port>/, the address bracketed when IPv6. */
static void pool_url(char *out, size_t size, const char *address)
{
	snprintf(out, size, strchr(address, ':') ? "http://[%s]:%u/"
						 : "http://%s:%u/",
		 address, atomic_load(&pool_port));
}

xbt_error *pool_client_open(const char *address, unsigned timeout_ms,
			    xbt_client **c)
{
	char url[ROLE_ADDR_MAX + 32];

	pool_url(url, sizeof(url), address);
	return XBT_PROPAGATE(xbt_client_open(url, timeout_ms, c));
}

/* A client of another host of the pool. */
static xbt_error *pool_client(const char *address, xbt_client **c)
{
	return XBT_PROPAGATE(pool_client_open(address, POOL_CALL_TIMEOUT_MS,
					      c));
}

/* Logs out of a session on another host; a failure matters to no one. */
static void pool_logout(xbt_client *c, const char *session)
{
	xmlrpc_value *v = NULL;
	xbt_error *err;

	if (!session)
		return;
	err = xbt_session_logout(c, session, &v);
	xbt_error_free(err);
	if (v)
		xmlrpc_DECREF(v);
}

/* ---- join ------------------------------------------------------------------- */

/* The client's own failures as xapi's join errors; XenAPI ones as they are. */
static xbt_error *pool_join_failed(xbt_error *err)
{
	if (err && strcmp(err->code, XBT_CLIENT_CONNECT_FAILED) == 0)
		err = XBT_RERAISE_JOINING_HOST_CONNECTION_FAILED(err);
	else if (err && strcmp(err->code, XBT_CLIENT_PROTOCOL_ERROR) == 0)
		err = XBT_RERAISE_JOINING_HOST_SERVICE_FAILED(err);
	return err;
}

struct pool_local {
	bool many_hosts;
	bool running_vms;
	bool shared_srs;
};

static void pool_local_host(const char *ref, const void *rec, void *ctx)
{
	struct pool_local *l = ctx;

	(void)rec;
	l->many_hosts |= strcmp(ref, host_self()) != 0;
}

static void pool_local_vm(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_vm_record *vm = rec;
	struct pool_local *l = ctx;

	(void)ref;
	l->running_vms |= !vm->is_a_template &&
			  vm->power_state != XBT_VM_POWER_STATE_HALTED;
}

static void pool_local_sr(const char *ref, const void *rec, void *ctx)
{
	struct pool_local *l = ctx;

	(void)ref;
	l->shared_srs |= ((const struct xbt_sr_record *)rec)->shared;
}

/* xapi's pre-join checks on the joiner's own world, in its order. */
static xbt_error *pool_join_checks(void)
{
	struct pool_local l = { 0 };
	xbt_error *err = NULL;

	store_lock();
	store_foreach(&xbt_class_host, pool_local_host, &l);
	store_foreach(&xbt_class_vm, pool_local_vm, &l);
	store_foreach(&xbt_class_sr, pool_local_sr, &l);
	store_unlock();
	if (l.many_hosts)
		err = XBT_RAISE_JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS();
	else if (l.running_vms)
		err = XBT_RAISE_JOINING_HOST_CANNOT_HAVE_RUNNING_VMS();
	else if (l.shared_srs)
		err = XBT_RAISE_JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS();
	return err;
}

/* The uuid of the master's master host (the pool's one pool). */
static xbt_error *pool_master_uuid(xbt_client *c, const char *session,
				   char **uuid)
{
	xmlrpc_value *v = NULL, *first = NULL;
	char *pool = NULL, *master = NULL;
	xbt_error *err = XBT_PROPAGATE(xbt_pool_get_all(c, session, &v));

	*uuid = NULL;
	if (!err && (xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY ||
		     xbt_value_size(v) != 1))
		err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	if (!err) {
		first = xbt_value_item(v, 0);
		pool = xbt_value_take_text(first);
		if (!pool)
			err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	}
	if (v)
		xmlrpc_DECREF(v);
	v = NULL;
	if (!err && !(err = XBT_PROPAGATE(xbt_pool_get_master(c, session, pool,
							       &v))) &&
	    !(master = xbt_value_take_text(v)))
		err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	v = NULL;
	if (!err && !(err = XBT_PROPAGATE(xbt_host_get_uuid(c, session, master,
							     &v))) &&
	    !(*uuid = xbt_value_take_text(v)))
		err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	free(pool);
	free(master);
	return err;
}

/* One join at a time: two could otherwise join two masters. */
static pthread_mutex_t pool_join_lock = PTHREAD_MUTEX_INITIALIZER;

static xbt_error *pool_join_locked(struct call *call);

xbt_error *pool_join(struct call *call, xmlrpc_value *const *args,
		     xmlrpc_value **result)
{
	xbt_error *err;

	if (pthread_mutex_trylock(&pool_join_lock) != 0) {
		/* The other join's task is not kept: "" as its ref. */
		err = XBT_RAISE_OTHER_OPERATION_IN_PROGRESS("pool", host_pool(),
							    "join", "");
	} else {
		if (role_restart_pending())
			err = XBT_RAISE_OPERATION_NOT_ALLOWED(
				"The host is restarting in a new pool role");
		else
			err = XBT_PROPAGATE(pool_join_locked(call));
		pthread_mutex_unlock(&pool_join_lock);
	}
	return err;
}

static xbt_error *pool_join_locked(struct call *call)
{
	const char *address = call->argv[0].s;
	const struct xbt_host_record *self;
	char *session = NULL, *psession = NULL, *secret = NULL, *uuid = NULL;
	char *master_uuid = NULL, *name = NULL, *hostname = NULL;
	xbt_client *c = NULL;
	xmlrpc_value *v = NULL;
	xbt_error *err;

	store_lock();
	self = store_get(&xbt_class_host, host_self());
	uuid = xbt_strdup(self->uuid);
	name = xbt_strdup(self->name_label);
	hostname = xbt_strdup(self->hostname);
	store_unlock();
	if (strlen(address) > ROLE_ADDR_MAX || !address[0] ||
	    strpbrk(address, "/ \t\r\n")) {
		err = XBT_RAISE_JOINING_HOST_CONNECTION_FAILED();
		goto out;
	}
	/* As xapi: log in to the master first, then check. */
	err = pool_join_failed(pool_client(address, &c));
	if (!err)
		err = pool_join_failed(xbt_session_login_with_password(
			c, call->argv[1].s, call->argv[2].s, "", "xbt-pool-join",
			&v));
	if (!err && !(session = xbt_value_take_text(v)))
		err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	v = NULL;
	if (!err)
		err = pool_join_failed(pool_master_uuid(c, session, &master_uuid));
	if (!err && strcmp(master_uuid, uuid) == 0)
		err = XBT_RAISE_OPERATION_NOT_ALLOWED(
			"Host cannot become slave of itself");
	if (!err)
		err = XBT_PROPAGATE(pool_join_checks());
	if (!err)
		err = pool_join_failed(xbt_pool_initial_auth(c, session, &v));
	if (!err && !(secret = xbt_value_take_text(v)))
		err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	v = NULL;
	if (!err)
		err = pool_join_failed(xbt_session_slave_login(c, host_self(),
							       secret, &v));
	if (!err && !(psession = xbt_value_take_text(v)))
		err = XBT_RAISE_JOINING_HOST_SERVICE_FAILED();
	v = NULL;
	if (!err)
		err = pool_join_failed(xbt_host_create(c, psession, uuid, name,
						       hostname,
						       xbtd_conf.listen_addr,
						       &v));
	if (v)
		xmlrpc_DECREF(v);
	/* The joiner's world is dropped: it restarts as a slave. */
	if (!err)
		err = XBT_PROPAGATE(role_become_slave(
			address, secret, call->task ? POOL_ASYNC_RESTART_DELAY_S
						    : POOL_RESTART_DELAY_S));
	if (!err)
		log_info("joined the pool of %s: restarting as a slave",
			 address);
out:
	if (c) {
		pool_logout(c, psession);
		pool_logout(c, session);
		xbt_client_close(c);
	}
	free(session);
	free(psession);
	free(secret);
	free(uuid);
	free(master_uuid);
	free(name);
	free(hostname);
	return err;
}

/* ---- ejected ---------------------------------------------------------------- */

void pool_tell_ejected(const char *address)
{
	xbt_client *c = NULL;
	xmlrpc_value *v = NULL;
	char *psession = NULL;
	xbt_error *err = XBT_PROPAGATE(pool_client(address, &c));

	if (!err)
		err = XBT_PROPAGATE(xbt_session_slave_login(c, host_self(),
							    role_secret(), &v));
	if (!err && !(psession = xbt_value_take_text(v)))
		err = XBT_RAISE_INTERNAL_ERROR("slave_login: not a session");
	v = NULL;
	if (!err)
		err = XBT_PROPAGATE(xbt_pool_emergency_transition_to_master(
			c, psession, &v));
	if (v)
		xmlrpc_DECREF(v);
	if (err) {
		log_backtrace(LOG_LEVEL_WARN, "the ejected host was not told",
			      err);
		xbt_error_free(err);
	}
	if (c) {
		pool_logout(c, psession);
		xbt_client_close(c);
	}
	free(psession);
}

xbt_error *pool_emergency_transition_to_master(struct call *call,
					       xmlrpc_value *const *args,
					       xmlrpc_value **result)
{
	xbt_error *err = NULL;

	if (role_is_slave()) {
		err = XBT_PROPAGATE(role_become_master(POOL_RESTART_DELAY_S));
		if (!err)
			log_info("no longer a slave of %s: restarting as a "
				 "standalone master", role_master());
	}
	return err;
}

/* ---- a slave's hello and heartbeats ---------------------------------------- */

static pthread_t pool_slave_thread;
static bool pool_slave_running;
static pthread_mutex_t pool_slave_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_slave_wake = PTHREAD_COND_INITIALIZER;
static bool pool_slave_stopping;

/* The master's answer to hello: emergency mode when it does not know us. */
static void pool_slave_hello_answer(const char *answer, const char *uuid)
{
	if (answer && strcmp(answer, XBT_HELLO_RETURN_OK_NAME) == 0) {
		role_set_emergency(NULL);
	} else {
		xbt_error *e = XBT_RAISE_HOST_UNKNOWN_TO_MASTER(uuid);
		log_error("the master %s does not know this host (%s): "
			  "emergency mode", role_master(),
			  answer ? answer : "?");
		role_set_emergency(e);
		xbt_error_free(e);
	}
}

/* One round: log in and hello when needed, else a heartbeat. */
static void pool_slave_round(xbt_client **c, char **psession,
			     const char *uuid)
{
	xmlrpc_value *v = NULL;
	xbt_error *err = NULL;

	if (!*c)
		err = XBT_PROPAGATE(pool_client(role_master(), c));
	if (!err && !*psession) {
		err = XBT_PROPAGATE(xbt_session_slave_login(*c, host_self(),
							    role_secret(), &v));
		if (err &&
		    strcmp(err->code, XBT_ERR_SESSION_AUTHENTICATION_FAILED) == 0)
			/* As xapi: a master that refuses our secret is not
			 * our master any more. */
			pool_slave_hello_answer(NULL, uuid);
		if (!err && !(*psession = xbt_value_take_text(v)))
			err = XBT_RAISE_INTERNAL_ERROR("slave_login: not a session");
		v = NULL;
		if (!err) {
			char *answer = NULL;
			err = XBT_PROPAGATE(xbt_pool_hello(*c, *psession, uuid,
							   xbtd_conf.listen_addr,
							   &v));
			if (!err)
				answer = xbt_value_take_text(v);
			v = NULL;
			if (!err)
				pool_slave_hello_answer(answer, uuid);
			free(answer);
		}
	} else if (!err) {
		xbt_map stuff = { 0 };
		err = XBT_PROPAGATE(xbt_host_tickle_heartbeat(*c, *psession,
							      host_self(),
							      &stuff, &v));
	}
	if (v)
		xmlrpc_DECREF(v);
	if (err) {
		/* The next round starts over: log in, hello. */
		log_backtrace(LOG_LEVEL_WARN, "pool: the master", err);
		xbt_error_free(err);
		free(*psession);
		*psession = NULL;
		if (*c)
			xbt_client_close(*c);
		*c = NULL;
	}
}

static void *pool_slave_run(void *arg)
{
	char *uuid = arg, *psession = NULL;
	xbt_client *c = NULL;

	log_set_thread_name("pool");
	pthread_mutex_lock(&pool_slave_lock);
	while (!pool_slave_stopping) {
		struct timespec until;
		pthread_mutex_unlock(&pool_slave_lock);
		pool_slave_round(&c, &psession, uuid);
		pthread_mutex_lock(&pool_slave_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += xbtd_conf.heartbeat_s;
		while (!pool_slave_stopping &&
		       pthread_cond_timedwait(&pool_slave_wake, &pool_slave_lock,
					      &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&pool_slave_lock);
	if (c) {
		pool_logout(c, psession);
		xbt_client_close(c);
	}
	free(psession);
	free(uuid);
	return NULL;
}

xbt_error *pool_slave_start(unsigned port)
{
	const struct xbt_host_record *self;
	char *uuid;
	xbt_error *err = NULL;
	int rc;

	atomic_store(&pool_port, port);
	if (!role_is_slave())
		goto out;
	store_lock();
	self = store_get(&xbt_class_host, host_self());
	uuid = xbt_strdup(self->uuid);
	store_unlock();
	rc = pthread_create(&pool_slave_thread, NULL, pool_slave_run, uuid);
	if (rc != 0) {
		free(uuid);
		err = XBT_RAISE_INTERNAL_ERROR("pool: cannot start a thread");
		goto out;
	}
	pool_slave_running = true;
out:
	return err;
}

void pool_slave_stop(void)
{
	if (!pool_slave_running)
		return;
	pthread_mutex_lock(&pool_slave_lock);
	pool_slave_stopping = true;
	pthread_cond_broadcast(&pool_slave_wake);
	pthread_mutex_unlock(&pool_slave_lock);
	pthread_join(pool_slave_thread, NULL);
	pool_slave_running = false;
}
