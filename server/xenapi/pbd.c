/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PBD class: plug runs the SR plugin's sr_attach, unplug sr_detach, on
 * the PBD's host: a slave's are forwarded to it (fwd.c), which runs them
 * in host.run_sr_storage (doc/pools.md, "Forwarding"). Each marks its SR
 * (`plug`, `unplug` in current_operations) while it runs, and unplug is
 * refused while VMs on the host use the SR's VDIs, checked and marked in
 * one hold of the store lock (doc/design.md, "Storage operations").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "xbtd.h"

struct pbd_job {
	char *host;
	char *sr;
	char *sr_uuid;
	char *sr_type;
	xmlrpc_value *device_config;
	xbt_map dc;              /* the same, for forwarding */
	char op_ref[64];         /* the SR's current_operations key */
	bool marked;             /* the SR holds op_ref */
};

/* The cancel switches of the plugin calls running here, for stopping
 * (pbd_cancel_all); once that ran, every new call starts cancelled. */
static pthread_mutex_t pbd_cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sm_cancel **pbd_cancels;
static size_t pbd_ncancels;
static bool pbd_all_cancelled;

static struct sm_cancel *pbd_cancel_add(const char *what)
{
	struct sm_cancel *c = sm_cancel_new(what);

	pthread_mutex_lock(&pbd_cancel_lock);
	pbd_cancels = xbt_reallocarray(pbd_cancels, pbd_ncancels + 1,
				       sizeof(*pbd_cancels));
	pbd_cancels[pbd_ncancels++] = c;
	if (pbd_all_cancelled)
		sm_cancel_fire(c);
	pthread_mutex_unlock(&pbd_cancel_lock);
	return c;
}

static void pbd_cancel_del(struct sm_cancel *c)
{
	pthread_mutex_lock(&pbd_cancel_lock);
	for (size_t i = 0; i < pbd_ncancels; i++) {
		if (pbd_cancels[i] == c) {
			pbd_cancels[i] = pbd_cancels[--pbd_ncancels];
			break;
		}
	}
	if (!pbd_ncancels) {
		free(pbd_cancels);
		pbd_cancels = NULL;
	}
	pthread_mutex_unlock(&pbd_cancel_lock);
	sm_cancel_free(c);
}

void pbd_cancel_all(void)
{
	pthread_mutex_lock(&pbd_cancel_lock);
	pbd_all_cancelled = true;
	for (size_t i = 0; i < pbd_ncancels; i++)
		sm_cancel_fire(pbd_cancels[i]);
	pthread_mutex_unlock(&pbd_cancel_lock);
}

/* PBD ref -> op_ref of the unplug in flight (under the store lock). */
static xbt_map pbd_unplugs;

bool pbd_unplugging(const char *ref)
{
	return xbt_map_get(&pbd_unplugs, ref) != NULL;
}

static void pbd_job_free(struct pbd_job *j)
{
	free(j->host);
	free(j->sr);
	free(j->sr_uuid);
	free(j->sr_type);
	if (j->device_config)
		xmlrpc_DECREF(j->device_config);
	xbt_map_clear(&j->dc);
}

/*
 * Under the lock, as xapi's PBD.plug and PBD.unplug (ocaml/xapi/
 * message_forwarding.ml, xapi_pbd.ml): the SR must allow the operation
 * (OTHER_OPERATION_IN_PROGRESS), and an unplug of an attached PBD must
 * find no VDI of the SR attached or being attached by a VM on its host
 * (VDI_IN_USE, those VDIs). Then the SR is marked.
 */
static xbt_error *pbd_mark(const char *ref, const struct xbt_pbd_record *p,
			   bool plug, struct pbd_job *j)
{
	const char *op = plug ? XBT_STORAGE_OPERATIONS_PLUG_NAME
			      : XBT_STORAGE_OPERATIONS_UNPLUG_NAME;
	struct xbt_sr_record *sr;
	xbt_error *err;

	if ((err = XBT_PROPAGATE(storage_sr_check(
		     p->SR, store_get(&xbt_class_sr, p->SR), op))))
		return err;
	if (!plug && p->currently_attached) {
		xbt_strv vdis = { 0 };
		vm_vdis_in_use(p->host, p->SR, &vdis);
		if (vdis.n)
			err = XBT_RAISE_VDI_IN_USE(vdis.n,
						   (const char *const *)vdis.v);
		xbt_strv_clear(&vdis);
		if (err)
			return err;
	}
	sr = store_edit(&xbt_class_sr, p->SR);
	xbt_map_set(&sr->current_operations, j->op_ref, op);
	storage_update_sr(p->SR);
	if (!plug)
		xbt_map_set(&pbd_unplugs, ref, j->op_ref);
	j->marked = true;
	return NULL;
}

/* Copies what the plugin needs and marks the SR; *already when the PBD is
 * in `want` state. */
static xbt_error *pbd_prepare(const char *ref, bool want, struct pbd_job *j,
			      bool *already)
{
	const struct xbt_pbd_record *p;
	const struct xbt_sr_record *sr = NULL;
	xbt_error *err;

	store_lock();
	err = XBT_PROPAGATE(store_need(&xbt_class_pbd, ref, (const void **)&p));
	if (!err && !(sr = store_get(&xbt_class_sr, p->SR)))
		err = XBT_RAISE_HANDLE_INVALID("SR", p->SR);
	if (!err)
		err = XBT_PROPAGATE(pbd_mark(ref, p, want, j));
	if (!err) {
		/* pbd_mark may have moved the SR (an edit under a view). */
		sr = store_get(&xbt_class_sr, p->SR);
		*already = p->currently_attached == want;
		j->host = xbt_strdup(p->host);
		j->sr = xbt_strdup(p->SR);
		j->sr_uuid = xbt_strdup(sr->uuid);
		j->sr_type = xbt_strdup(sr->type);
		j->device_config = xbt_field_to_value(
			xbt_field_find(&xbt_class_pbd, "device_config"), p);
		for (size_t i = 0; i < p->device_config.n; i++)
			xbt_map_set(&j->dc, p->device_config.keys[i],
				    p->device_config.vals[i]);
	}
	store_unlock();
	return err;
}

/* The plugin's sr_attach or sr_detach on this host; what names the
 * operation in TASK_CANCELLED when xbtd stops. */
static xbt_error *pbd_sm(bool plug, const struct pbd_job *j, const char *what)
{
	const char *command = plug ? "sr_attach" : "sr_detach";
	struct sm_config cfg = {
		.sm_dir = xbtd_conf.sm_dir,
		.timeout_s = xbtd_conf.plugin_timeout_s,
		.hostname = xbtd_conf.hostname,
	};
	struct sm_call_args a = { .host_ref = host_self() };
	xmlrpc_value *st, *result = NULL;
	char *session = session_open_internal("root", "SM");
	xbt_error *err;

	a.session_ref = session;
	a.sr_ref = j->sr;
	a.sr_uuid = j->sr_uuid;
	a.device_config = j->device_config;
	cfg.cancel = pbd_cancel_add(what);
	st = sm_call_new(command, &a);
	err = XBT_PROPAGATE(sm_call(&cfg, j->sr_type, command, st, &result));
	pbd_cancel_del(cfg.cancel);
	store_lock();
	session_destroy(session);
	store_unlock();
	free(session);
	xmlrpc_DECREF(st);
	if (result)
		xmlrpc_DECREF(result);
	return err;
}

static xbt_error *pbd_run(const char *ref, bool plug, const char *task)
{
	struct pbd_job j = { 0 };
	bool already = false;
	xbt_error *err;

	if (task) {
		snprintf(j.op_ref, sizeof(j.op_ref), "%s", task);
	} else {
		char uuid[40];
		store_new_uuid(uuid);
		snprintf(j.op_ref, sizeof(j.op_ref), "OpaqueRef:%s", uuid);
	}
	err = XBT_PROPAGATE(pbd_prepare(ref, plug, &j, &already));
	if (err || already)
		goto out;
	if (task)
		err = XBT_PROPAGATE(task_check_cancel(task));
	if (err)
		goto out;
	if (strcmp(j.host, host_self()) == 0) {
		err = XBT_PROPAGATE(pbd_sm(plug, &j, j.op_ref));
	} else {
		err = XBT_PROPAGATE(fwd_sr_storage(j.host, plug, j.sr,
						   j.sr_uuid, j.sr_type, &j.dc,
						   task));
	}
out:
	if (j.marked) {
		struct xbt_pbd_record *p;
		struct xbt_sr_record *sr;
		store_lock();
		if (!err && !already && (p = store_edit(&xbt_class_pbd, ref)))
			p->currently_attached = plug;
		if ((sr = store_edit(&xbt_class_sr, j.sr)))
			xbt_map_remove(&sr->current_operations, j.op_ref);
		storage_update_sr(j.sr);
		if (!plug)
			xbt_map_remove(&pbd_unplugs, ref);
		store_unlock();
	}
	pbd_job_free(&j);
	return err;
}

xbt_error *pbd_plug(struct call *call, xmlrpc_value *const *args,
		    xmlrpc_value **result)
{
	return XBT_PROPAGATE(pbd_run(call->argv[0].s, true, call->task));
}

xbt_error *pbd_unplug(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	return XBT_PROPAGATE(pbd_run(call->argv[0].s, false, call->task));
}

/* On a slave, for its master: the SR's plugin, with what the master sent. */
xbt_error *host_run_sr_storage(struct call *call, xmlrpc_value *const *args,
			       xmlrpc_value **result)
{
	struct pbd_job j = { 0 };
	xbt_error *err = NULL;

	if (strcmp(call->argv[0].s, host_self()) != 0) {
		err = XBT_RAISE_HANDLE_INVALID("host", call->argv[0].s);
	} else {
		j.sr = xbt_strdup(call->argv[2].s);
		j.sr_uuid = xbt_strdup(call->argv[3].s);
		j.sr_type = xbt_strdup(call->argv[4].s);
		j.device_config = args[5];
		xmlrpc_INCREF(j.device_config);
		err = XBT_PROPAGATE(pbd_sm(call->argv[1].b, &j,
					   call->task ? call->task : ""));
	}
	pbd_job_free(&j);
	return err;
}
