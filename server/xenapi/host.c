/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * This daemon's identity: which host it is and in which pool. Today one
 * xbtd is a pool of one, its own master; later issues let hosts join. The
 * host's uuid is derived from its name (world.c's rule), so a restarted
 * xbtd is the same host with the same ref.
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

void host_init(const char *hostname, const char *address)
{
	struct xbt_host_record *h = xbt_calloc(1, sizeof(*h));
	struct xbt_pool_record *p = xbt_calloc(1, sizeof(*p));
	char uuid[40];

	store_lock();
	xbt_record_init(&xbt_class_host, h);
	world_uuid(uuid, "host", hostname);
	host_str(&h->uuid, uuid);
	host_str(&h->name_label, hostname);
	host_str(&h->hostname, hostname);
	host_str(&h->address, address);
	host_str(&h->API_version_vendor, "XenSource");
	h->API_version_major = XBTD_API_MAJOR;
	h->API_version_minor = XBTD_API_MINOR;
	h->enabled = true;
	xbt_map_set(&h->software_version, "product_brand", "xbt");
	xbt_map_set(&h->software_version, "product_version", PACKAGE_VERSION);
	xbt_map_set(&h->software_version, "xapi", "1.20");
	snprintf(host_self_ref, sizeof(host_self_ref), "%s",
		 store_add(&xbt_class_host, h));

	xbt_record_init(&xbt_class_pool, p);
	world_uuid(uuid, "pool", hostname);
	host_str(&p->uuid, uuid);
	host_str(&p->master, host_self_ref);
	snprintf(host_pool_ref, sizeof(host_pool_ref), "%s",
		 store_add(&xbt_class_pool, p));
	store_unlock();
}
