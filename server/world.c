/* SPDX-License-Identifier: BSD-2-Clause */
/* The fake world: this server's pool and host. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbtd.h"

static char world_host[48];
static char world_pool[48];

const char *world_host_ref(void)
{
	return world_host;
}

const char *world_pool_ref(void)
{
	return world_pool;
}

static void world_str(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

/* Under the store lock. */
static void world_add_pool_and_host(void)
{
	struct xbt_host_record *h = xbt_calloc(1, sizeof(*h));
	struct xbt_pool_record *p = xbt_calloc(1, sizeof(*p));

	xbt_record_init(&xbt_class_host, h);
	world_str(&h->name_label, xbtd_conf.hostname);
	world_str(&h->hostname, xbtd_conf.hostname);
	world_str(&h->address, xbtd_conf.listen_addr);
	world_str(&h->API_version_vendor, "XenSource");
	h->API_version_major = XBTD_API_MAJOR;
	h->API_version_minor = XBTD_API_MINOR;
	h->enabled = true;
	xbt_map_set(&h->software_version, "product_brand", "xbt");
	xbt_map_set(&h->software_version, "product_version", PACKAGE_VERSION);
	xbt_map_set(&h->software_version, "xapi", "1.20");
	snprintf(world_host, sizeof(world_host), "%s",
		 store_add(&xbt_class_host, h));

	xbt_record_init(&xbt_class_pool, p);
	world_str(&p->master, world_host);
	snprintf(world_pool, sizeof(world_pool), "%s",
		 store_add(&xbt_class_pool, p));
}

xbt_error *world_init(const char *world_file)
{
	xbt_error *err = NULL;

	store_lock();
	world_add_pool_and_host();
	store_unlock();
	if (world_file)
		err = XBT_RAISE(XBT_ERR_INTERNAL_ERROR,
				"--world is not supported yet", world_file);
	return err;
}
