/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * This daemon's identity: which host it is and in which pool, and the
 * host records of the pool (this one, those a world declares, those that
 * join: doc/pools.md). A host's uuid is derived from its name (world.c's
 * rule), so a restarted xbtd is the same host with the same ref, and a
 * slave knows its ref on the master.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbtd.h"

static char host_self_ref[64];
static char host_pool_ref[64];

const char *host_self(void)
{
	return host_self_ref;
}

const char *host_pool(void)
{
	return host_pool_ref;
}

static void host_str(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

/* Under the lock: a host's metrics, live or not, made now. */
static const char *host_new_metrics(const char *host_uuid, bool live)
{
	struct xbt_host_metrics_record *m = xbt_calloc(1, sizeof(*m));
	char uuid[40];

	xbt_record_init(&xbt_class_host_metrics, m);
	world_uuid(uuid, "host_metrics", host_uuid);
	host_str(&m->uuid, uuid);
	m->memory_total = HOST_MEMORY_TOTAL;
	m->memory_free = HOST_MEMORY_TOTAL;
	m->live = live;
	m->last_updated = now_seconds();
	return store_add(&xbt_class_host_metrics, m);
}

const char *host_new_pbd(const char *host_ref, const char *sr_ref,
			 const xbt_map *device_config, bool attached)
{
	const struct xbt_sr_record *sr = store_get(&xbt_class_sr, sr_ref);
	struct xbt_pbd_record *pbd = xbt_calloc(1, sizeof(*pbd));
	struct xbt_sr_record *sr_edit;
	struct xbt_host_record *h;
	xbt_buf key = XBT_BUF_INIT;
	const char *ref;
	char uuid[40];

	xbt_record_init(&xbt_class_pbd, pbd);
	/* Fixed, as world objects: "<SR name>/<host ref>". */
	xbt_buf_addf(&key, "%s/%s", sr ? sr->name_label : sr_ref, host_ref);
	world_uuid(uuid, "pbd", key.buf);
	xbt_buf_release(&key);
	host_str(&pbd->uuid, uuid);
	host_str(&pbd->host, host_ref);
	host_str(&pbd->SR, sr_ref);
	pbd->currently_attached = attached;
	for (size_t i = 0; device_config && i < device_config->n; i++)
		xbt_map_set(&pbd->device_config, device_config->keys[i],
			    device_config->vals[i]);
	ref = store_add(&xbt_class_pbd, pbd);
	if ((sr_edit = store_edit(&xbt_class_sr, sr_ref)))
		xbt_strv_add(&sr_edit->PBDs, ref);
	if ((h = store_edit(&xbt_class_host, host_ref)))
		xbt_strv_add(&h->PBDs, ref);
	return ref;
}

/* Under the lock: a PBD on the host for every shared SR, with the
 * device_config of one of its PBDs. */
static void host_attach_shared_one(const char *ref, const void *rec,
				   void *ctx)
{
	const struct xbt_sr_record *sr = rec;
	const struct xbt_pbd_record *any = NULL;

	if (!sr->shared)
		return;
	for (size_t i = 0; i < sr->PBDs.n && !any; i++)
		any = store_get(&xbt_class_pbd, sr->PBDs.v[i]);
	for (size_t i = 0; i < sr->PBDs.n; i++) {
		const struct xbt_pbd_record *p =
			store_get(&xbt_class_pbd, sr->PBDs.v[i]);
		if (p && strcmp(p->host, ctx) == 0)
			return; /* it has one */
	}
	/* Plugged as the others are: the slave plugs it when it starts. */
	host_new_pbd(ctx, ref, any ? &any->device_config : NULL,
		     any && any->currently_attached);
}

const char *host_add(const char *uuid, const char *name,
		     const char *hostname, const char *address, bool live)
{
	struct xbt_host_record *h = xbt_calloc(1, sizeof(*h));
	const char *ref;

	xbt_record_init(&xbt_class_host, h);
	host_str(&h->uuid, uuid);
	host_str(&h->name_label, name);
	host_str(&h->hostname, hostname);
	host_str(&h->address, address);
	host_str(&h->API_version_vendor, "XenSource");
	h->API_version_major = XBTD_API_MAJOR;
	h->API_version_minor = XBTD_API_MINOR;
	h->enabled = live;
	/*
	 * The product we speak for: XenServer 8 (API 2.21). Clients parse
	 * product_version as numbers (Ansible's get_xenserver_version);
	 * xbt's own version has a key of its own.
	 */
	xbt_map_set(&h->software_version, "product_brand", "xbt");
	xbt_map_set(&h->software_version, "product_version", "8.4.0");
	xbt_map_set(&h->software_version, "product_version_text", "8");
	xbt_map_set(&h->software_version, "product_version_text_short", "8");
	xbt_map_set(&h->software_version, "platform_name", "XCP");
	xbt_map_set(&h->software_version, "platform_version", "3.4.0");
	xbt_map_set(&h->software_version, "xapi", "24.19");
	xbt_map_set(&h->software_version, "xen", "4.17.0");
	xbt_map_set(&h->software_version, "xbt", PACKAGE_VERSION);
	host_str(&h->metrics, host_new_metrics(uuid, live));
	ref = store_add(&xbt_class_host, h);
	store_foreach(&xbt_class_sr, host_attach_shared_one, (void *)ref);
	guest_host_cpus(ref, HOST_CPUS);
	network_host_added(ref);
	return ref;
}

void host_init(const char *hostname, const char *address)
{
	struct xbt_pool_record *p = xbt_calloc(1, sizeof(*p));
	char uuid[40];

	store_lock();
	world_uuid(uuid, "host", hostname);
	snprintf(host_self_ref, sizeof(host_self_ref), "%s",
		 host_add(uuid, hostname, hostname, address, true));

	xbt_record_init(&xbt_class_pool, p);
	world_uuid(uuid, "pool", hostname);
	host_str(&p->uuid, uuid);
	host_str(&p->master, host_self_ref);
	snprintf(host_pool_ref, sizeof(host_pool_ref), "%s",
		 store_add(&xbt_class_pool, p));
	store_unlock();
}

xbt_error *host_resume(const char *hostname, const char *address)
{
	xbt_error *err = NULL;
	struct xbt_host_record *h;
	const char *ref;
	char uuid[40];
	struct store_view pools;

	store_lock();
	world_uuid(uuid, "host", hostname);
	ref = store_ref_by_uuid(&xbt_class_host, uuid);
	store_view_take(&xbt_class_pool, &pools);
	if (!ref || pools.n != 1) {
		xbt_buf b = XBT_BUF_INIT;

		xbt_buf_addf(&b, "the database holds %s (another host's "
			     "database?)", !ref ? "no host named by --hostname"
			     : "no single pool");
		err = XBT_RAISE_INTERNAL_ERROR(b.buf);
		xbt_buf_release(&b);
	} else {
		snprintf(host_self_ref, sizeof(host_self_ref), "%s", ref);
		snprintf(host_pool_ref, sizeof(host_pool_ref), "%s",
			 store_view_ref(&pools, 0));
		/* The address is this run's --listen, as host_init's. */
		h = store_edit(&xbt_class_host, ref);
		host_str(&h->address, address);
	}
	store_view_release(&pools);
	store_unlock();
	return err;
}
