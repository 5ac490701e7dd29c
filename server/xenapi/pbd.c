/* SPDX-License-Identifier: BSD-2-Clause */
/* The PBD class: plug runs the SR plugin's sr_attach, unplug sr_detach. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "xbtd.h"

struct pbd_job {
	char *sr;
	char *sr_uuid;
	char *sr_type;
	xmlrpc_value *device_config;
};

static void pbd_job_free(struct pbd_job *j)
{
	free(j->sr);
	free(j->sr_uuid);
	free(j->sr_type);
	if (j->device_config)
		xmlrpc_DECREF(j->device_config);
}

/* Copies what the plugin needs; *already when the PBD is in `want` state. */
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
	if (!err) {
		*already = p->currently_attached == want;
		j->sr = xbt_strdup(p->SR);
		j->sr_uuid = xbt_strdup(sr->uuid);
		j->sr_type = xbt_strdup(sr->type);
		j->device_config = xbt_field_to_value(
			xbt_field_find(&xbt_class_pbd, "device_config"), p);
	}
	store_unlock();
	return err;
}

static xbt_error *pbd_run(const char *ref, bool plug)
{
	const char *command = plug ? "sr_attach" : "sr_detach";
	struct pbd_job j = { 0 };
	struct sm_config cfg = {
		.sm_dir = xbtd_conf.sm_dir,
		.timeout_s = xbtd_conf.plugin_timeout_s,
		.hostname = xbtd_conf.hostname,
	};
	struct sm_call_args a = { .host_ref = host_self() };
	xmlrpc_value *st = NULL, *result = NULL;
	char *session = NULL;
	bool already = false;
	xbt_error *err;

	err = XBT_PROPAGATE(pbd_prepare(ref, plug, &j, &already));
	if (err || already)
		goto out;
	session = session_open_internal("root", "SM");
	a.session_ref = session;
	a.sr_ref = j.sr;
	a.sr_uuid = j.sr_uuid;
	a.device_config = j.device_config;
	st = sm_call_new(command, &a);
	err = XBT_PROPAGATE(sm_call(&cfg, j.sr_type, command, st, &result));
	if (!err) {
		struct xbt_pbd_record *p;
		store_lock();
		if ((p = store_edit(&xbt_class_pbd, ref)))
			p->currently_attached = plug;
		store_unlock();
	}
out:
	if (session) {
		store_lock();
		session_destroy(session);
		store_unlock();
		free(session);
	}
	if (st)
		xmlrpc_DECREF(st);
	if (result)
		xmlrpc_DECREF(result);
	pbd_job_free(&j);
	return err;
}

xbt_error *pbd_plug(struct call *call, xmlrpc_value *const *args,
		    xmlrpc_value **result)
{
	return XBT_PROPAGATE(pbd_run(call->argv[0].s, true));
}

xbt_error *pbd_unplug(struct call *call, xmlrpc_value *const *args,
		      xmlrpc_value **result)
{
	return XBT_PROPAGATE(pbd_run(call->argv[0].s, false));
}
