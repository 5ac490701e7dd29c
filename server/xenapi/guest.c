/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a VM has around it at run time (doc/design.md "The VM's
 * neighbourhood"): its VM_metrics (made with the VM, as xapi's), and while
 * it runs its guest metrics and its console, and its VIFs attached. No
 * guest runs in xbt, so the guest's agent is simulated: it "reports" the
 * moment the VM is up, with a fixed OS and one address per VIF, as a real
 * agent would a few seconds after boot. xapi's rules followed: a halted
 * VM's guest_metrics is null (xapi_vm_lifecycle's force_state_reset),
 * consoles exist while the domain does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbtd.h"

static void guest_str(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

void guest_new_metrics(const char *vm_ref)
{
	struct xbt_vm_record *vm = store_edit(&xbt_class_vm, vm_ref);
	struct xbt_vm_metrics_record *m;
	char uuid[40];

	if (!vm || store_get(&xbt_class_vm_metrics, vm->metrics))
		return;
	m = xbt_calloc(1, sizeof(*m));
	xbt_record_init(&xbt_class_vm_metrics, m);
	world_uuid(uuid, "vm_metrics", vm->uuid);
	guest_str(&m->uuid, uuid);
	m->install_time = now_seconds();
	m->last_updated = m->install_time;
	guest_str(&vm->metrics, store_add(&xbt_class_vm_metrics, m));
}

/* An address in 198.18.0.0/15 (RFC 2544's benchmarking range: never a real
 * host's) for the VIF, fixed by its uuid. */
static void guest_address(char *out, size_t len, const char *vif_uuid)
{
	uint32_t h = world_hash32(vif_uuid);

	snprintf(out, len, "198.%u.%u.%u", 18 + ((h >> 16) & 1),
		 (h >> 8) & 0xff, 1 + (h & 0xff) % 254);
}

static void guest_new_guest_metrics(struct xbt_vm_record *vm)
{
	struct xbt_vm_guest_metrics_record *g = xbt_calloc(1, sizeof(*g));
	char uuid[40];

	xbt_record_init(&xbt_class_vm_guest_metrics, g);
	store_new_uuid(uuid);
	guest_str(&g->uuid, uuid);
	xbt_map_set(&g->os_version, "name", "xbt simulated guest");
	xbt_map_set(&g->os_version, "distro", "xbt");
	xbt_map_set(&g->os_version, "uname", PACKAGE_VERSION);
	xbt_map_set(&g->PV_drivers_version, "major", "9");
	xbt_map_set(&g->PV_drivers_version, "minor", "0");
	xbt_map_set(&g->PV_drivers_version, "micro", "0");
	xbt_map_set(&g->PV_drivers_version, "build", "0");
	g->PV_drivers_up_to_date = true;
	g->PV_drivers_detected = true;
	g->live = true;
	g->can_use_hotplug_vbd = XBT_TRISTATE_TYPE_YES;
	g->can_use_hotplug_vif = XBT_TRISTATE_TYPE_YES;
	for (size_t i = 0; i < vm->VIFs.n; i++) {
		const struct xbt_vif_record *vif =
			store_get(&xbt_class_vif, vm->VIFs.v[i]);
		char key[96], ip[24];

		if (!vif)
			continue;
		guest_address(ip, sizeof(ip), vif->uuid);
		/* xapi's keys: "<device>/ip" and "<device>/ipv4/<n>" */
		snprintf(key, sizeof(key), "%s/ip", vif->device);
		xbt_map_set(&g->networks, key, ip);
		snprintf(key, sizeof(key), "%s/ipv4/0", vif->device);
		xbt_map_set(&g->networks, key, ip);
	}
	g->last_updated = now_seconds();
	guest_str(&vm->guest_metrics,
		  store_add(&xbt_class_vm_guest_metrics, g));
}

static void guest_new_console(const char *vm_ref, struct xbt_vm_record *vm)
{
	struct xbt_console_record *c = xbt_calloc(1, sizeof(*c));
	const struct xbt_host_record *host =
		store_get(&xbt_class_host, vm->resident_on);
	char uuid[40];
	xbt_buf loc = XBT_BUF_INIT;

	xbt_record_init(&xbt_class_console, c);
	store_new_uuid(uuid);
	guest_str(&c->uuid, uuid);
	c->protocol = XBT_CONSOLE_PROTOCOL_RFB;
	/* xapi's form; nothing listens there (no guest runs). */
	xbt_buf_addf(&loc, "https://%s/console?uuid=%s",
		     host && host->address[0] ? host->address : "localhost",
		     uuid);
	guest_str(&c->location, loc.buf);
	xbt_buf_release(&loc);
	guest_str(&c->VM, vm_ref);
	xbt_strv_add(&vm->consoles, store_add(&xbt_class_console, c));
}

static void guest_drop(struct xbt_vm_record *vm, bool keep_guest_metrics)
{
	for (size_t i = 0; i < vm->consoles.n; i++)
		store_del(&xbt_class_console, vm->consoles.v[i]);
	xbt_strv_clear(&vm->consoles);
	if (!keep_guest_metrics) {
		if (store_get(&xbt_class_vm_guest_metrics, vm->guest_metrics))
			store_del(&xbt_class_vm_guest_metrics,
				  vm->guest_metrics);
		guest_str(&vm->guest_metrics, XBT_REF_NULL);
	}
}

void guest_power(const char *vm_ref, struct xbt_vm_record *vm, bool restarted)
{
	bool up = vm->power_state == XBT_VM_POWER_STATE_RUNNING ||
		  vm->power_state == XBT_VM_POWER_STATE_PAUSED;
	bool was_up = vm->consoles.n > 0;
	struct xbt_vm_metrics_record *m =
		store_edit(&xbt_class_vm_metrics, vm->metrics);
	int64_t now = now_seconds();

	if (up && (restarted || !was_up)) {
		/* a new domain: new console, the agent reports afresh */
		guest_drop(vm, false);
		guest_new_console(vm_ref, vm);
		guest_new_guest_metrics(vm);
		if (m)
			m->start_time = now;
	} else if (!up) {
		/* A suspended VM keeps what its agent said (xapi's too). */
		guest_drop(vm, vm->power_state ==
				       XBT_VM_POWER_STATE_SUSPENDED);
	}
	network_vm_plugged(vm, up);
	if (m) {
		m->memory_actual = up ? vm->memory_dynamic_max : 0;
		m->VCPUs_number = up ? vm->VCPUs_at_startup : 0;
		m->current_domain_type =
			!up ? XBT_DOMAIN_TYPE_UNSPECIFIED
			: vm->domain_type == XBT_DOMAIN_TYPE_UNSPECIFIED
			? XBT_DOMAIN_TYPE_PV : vm->domain_type;
		m->last_updated = now;
	}
}

void guest_host_removed(const struct xbt_host_record *host)
{
	for (size_t i = 0; i < host->host_CPUs.n; i++)
		if (store_get(&xbt_class_host_cpu, host->host_CPUs.v[i]))
			store_del(&xbt_class_host_cpu, host->host_CPUs.v[i]);
}

void guest_host_cpus(const char *host_ref, unsigned n)
{
	struct xbt_host_record *h = store_edit(&xbt_class_host, host_ref);

	for (unsigned i = 0; h && i < n; i++) {
		struct xbt_host_cpu_record *c = xbt_calloc(1, sizeof(*c));
		xbt_buf key = XBT_BUF_INIT;
		char uuid[40];

		xbt_record_init(&xbt_class_host_cpu, c);
		xbt_buf_addf(&key, "%s/%u", h->uuid, i);
		world_uuid(uuid, "host_cpu", key.buf);
		xbt_buf_release(&key);
		guest_str(&c->uuid, uuid);
		guest_str(&c->host, host_ref);
		c->number = i;
		guest_str(&c->vendor, "xbt");
		guest_str(&c->modelname, "xbt simulated CPU");
		c->family = 6;
		c->model = 0;
		guest_str(&c->stepping, "0");
		c->speed = 2000;
		xbt_strv_add(&h->host_CPUs, store_add(&xbt_class_host_cpu, c));
	}
}
