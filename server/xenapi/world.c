/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake world: this server's pool and host, plus SRs, PBDs, VDIs, VMs
 * and VBDs loaded from an XML file (--world, see doc/world.md) or, without
 * one, from the embedded demo world below, through the same loader.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "sm.h"
#include "options.h"
#include "xbtd.h"

#define WORLD_MAX_FILE (16u * 1024 * 1024)

/* demo-fail's first disk attaches fine, so its failure also shows the undo. */
static const char world_demo[] =
	"<?xml version=\"1.0\"?>\n"
	"<world>\n"
	"  <sr name=\"demo-sr\" type=\"DEMO\" description=\"Disks that attach\">\n"
	"    <device_config key=\"path\" value=\"/srv/demo\"/>\n"
	"    <device_config key=\"password\" value=\"not-for-logs\"/>\n"
	"    <vdi name=\"demo-ok-disk\" size=\"10737418240\"/>\n"
	"    <vdi name=\"demo-fail-boot\" size=\"4294967296\"/>\n"
	"  </sr>\n"
	"  <sr name=\"fail-sr\" type=\"FAIL\" description=\"Disks that fail to attach\">\n"
	"    <device_config key=\"target\" value=\"iqn.2026-01.org.xbt:fail\"/>\n"
	"    <vdi name=\"demo-fail-data\" size=\"10737418240\"/>\n"
	"  </sr>\n"
	"  <sr name=\"offline-sr\" type=\"DEMO\" plugged=\"false\">\n"
	"    <vdi name=\"offline-disk\" size=\"1073741824\"/>\n"
	"  </sr>\n"
	"  <network name=\"demo-net\" description=\"The VMs' network\"/>\n"
	"  <vm name=\"demo-ok\" description=\"Starts fine\" memory=\"1073741824\" vcpus=\"2\">\n"
	"    <vbd vdi=\"demo-ok-disk\" device=\"xvda\" bootable=\"true\"/>\n"
	"    <vif network=\"demo-net\" device=\"0\"/>\n"
	"  </vm>\n"
	"  <vm name=\"demo-fail\" description=\"Its data disk's plugin fails\" memory=\"1073741824\">\n"
	"    <vbd vdi=\"demo-fail-boot\" device=\"xvda\" bootable=\"true\"/>\n"
	"    <vbd vdi=\"demo-fail-data\" device=\"xvdb\"/>\n"
	"    <vif network=\"demo-net\" device=\"0\"/>\n"
	"  </vm>\n"
	"  <vm name=\"demo-offline\" description=\"Needs an unplugged SR\" memory=\"536870912\">\n"
	"    <vbd vdi=\"offline-disk\" device=\"xvda\"/>\n"
	"    <vif network=\"demo-net\" device=\"0\"/>\n"
	"  </vm>\n"
	"  <vm name=\"demo-template\" template=\"true\"/>\n"
	"</world>\n";

/*
 * A name-based uuid (RFC 9562 version 8: a 128-bit FNV-1a hash of kind and
 * name), so that the objects of a world keep their uuids, and so their
 * refs, from one start to the next. Not cryptographic: names are ours.
 */
uint32_t world_hash32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void world_uuid(char *out, const char *kind, const char *name)
{
	unsigned __int128 h = ((unsigned __int128)0x6c62272e07bb0142ULL << 64) |
			      0x62b821756295c58dULL;
	const unsigned __int128 prime = ((unsigned __int128)1 << 88) | 0x13b;
	unsigned char b[16];

	for (const char *p = kind;; p++) {
		h = (h ^ (unsigned char)*p) * prime;
		if (!*p)
			break;
	}
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * prime;
	for (int i = 15; i >= 0; i--, h >>= 8)
		b[i] = (unsigned char)h;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x80);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void world_str(char **member, const char *value)
{
	free(*member);
	*member = xbt_strdup(value);
}

/* ---- the loader ------------------------------------------------------- */

/* A set of names (open addressing): a world may name 100,000 objects,
 * which a linear map would check in quadratic time. */
struct world_names {
	char **v;
	size_t cap, n;  /* cap: 0 or a power of 2 */
};

static size_t world_names_slot(char **v, size_t cap, const char *name)
{
	size_t h = 14695981039346656037ULL;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (h &= cap - 1; v[h] && strcmp(v[h], name) != 0; h = (h + 1) & (cap - 1))
		;
	return h;
}

/* false when name is there already. */
static bool world_names_add(struct world_names *s, const char *name)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **v = xbt_calloc(cap, sizeof(*v));

		for (size_t j = 0; j < s->cap; j++)
			if (s->v[j])
				v[world_names_slot(v, cap, s->v[j])] = s->v[j];
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	i = world_names_slot(s->v, s->cap, name);
	if (s->v[i])
		return false;
	s->v[i] = xbt_strdup(name);
	s->n++;
	return true;
}

static void world_names_clear(struct world_names *s)
{
	for (size_t j = 0; j < s->cap; j++)
		free(s->v[j]);
	free(s->v);
	*s = (struct world_names){ 0 };
}

struct world_load {
	const char *file;   /* for messages */
	xbt_error *err;     /* the first problem */
	xbt_map vdis;       /* VDI name -> ref, for <vbd vdi=...> */
	xbt_map networks;   /* network name -> ref, for <vif network=...> */
	struct world_names names; /* every SR, VDI, VM name: unique in a file */
};

/*
 * INTERNAL_ERROR ["world file FILE:LINE: what"], raised where the loader
 * found the problem; the first one wins.
 */
static bool world_fail_at(const char *file, int line, const char *func,
			  struct world_load *w, long where, const char *what)
{
	if (!w->err) {
		xbt_buf msg = XBT_BUF_INIT;

		xbt_buf_addf(&msg, "world file %s:%ld: %s", w->file, where, what);
		w->err = xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR,
					 msg.buf, (const char *)NULL);
		xbt_buf_release(&msg);
	}
	return false;
}

#define world_fail(w, n, what) \
	world_fail_at(XBT_HERE, (w), (n) ? xmlGetLineNo(n) : 0L, (what))

/* An attribute's value (caller frees with xmlFree) or NULL. */
static char *world_attr(xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static bool world_is(xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

/* Only the attributes listed may appear: a typo is an error, not a default. */
static bool world_check_attrs(struct world_load *w, xmlNode *n,
			      const char *const *allowed)
{
	for (xmlAttr *a = n->properties; a; a = a->next) {
		size_t i;
		for (i = 0; allowed[i]; i++)
			if (strcmp((const char *)a->name, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			char msg[200];
			snprintf(msg, sizeof(msg), "unknown attribute \"%s\" on <%s>",
				 (const char *)a->name, (const char *)n->name);
			return world_fail(w, n, msg);
		}
	}
	return true;
}

static bool world_bool(struct world_load *w, xmlNode *n, const char *name,
		       bool dflt, bool *out)
{
	char *v = world_attr(n, name);
	bool ok = true;

	*out = dflt;
	if (v) {
		if (strcmp(v, "true") == 0)
			*out = true;
		else if (strcmp(v, "false") == 0)
			*out = false;
		else
			ok = world_fail(w, n, "expected true or false");
		xmlFree(v);
	}
	return ok;
}

static bool world_int(struct world_load *w, xmlNode *n, const char *name,
		      int64_t *out)
{
	char *v = world_attr(n, name);
	bool ok = true;

	if (v) {
		char *end;
		long long x = strtoll(v, &end, 10);
		if (end == v || *end || x < 0)
			ok = world_fail(w, n, "expected a non-negative integer");
		else
			*out = x;
		xmlFree(v);
	}
	return ok;
}

/* Copies a required or optional attribute into a record member. */
static bool world_text(struct world_load *w, xmlNode *n, const char *name,
		       bool required, char **member)
{
	char *v = world_attr(n, name);
	bool ok = true;

	if (v) {
		world_str(member, v);
		xmlFree(v);
	} else if (required) {
		char msg[128];
		snprintf(msg, sizeof(msg), "<%s> needs a \"%s\" attribute",
			 (const char *)n->name, name);
		ok = world_fail(w, n, msg);
	}
	return ok;
}


static bool world_unique(struct world_load *w, xmlNode *n, const char *name)
{
	if (!world_names_add(&w->names, name)) {
		char msg[300];
		snprintf(msg, sizeof(msg), "the name \"%.200s\" is used twice",
			 name);
		return world_fail(w, n, msg);
	}
	return true;
}

/* Appends ref to a set-of-refs member of the object `owner` of class c. */
static void world_link(const xbt_class_desc *c, const char *owner,
		       size_t offset, const char *ref)
{
	char *rec = store_edit(c, owner);

	xbt_strv_add((xbt_strv *)(rec + offset), ref);
}

/*
 * The object's uuid: the "uuid" attribute, well-formed and unused, or one
 * derived from the kind and name of the object (world_uuid).
 */
static bool world_identity(struct world_load *w, xmlNode *n,
			   const xbt_class_desc *c, const char *kind,
			   const char *name, char **member)
{
	char derived[40];
	bool ok = world_text(w, n, "uuid", false, member);

	if (ok && !(*member)[0]) {
		world_uuid(derived, kind, name);
		world_str(member, derived);
	} else if (ok && !store_uuid_valid(*member)) {
		ok = world_fail(w, n, "uuid must be lowercase "
			     "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
	}
	if (ok && store_ref_by_uuid(c, *member))
		ok = world_fail(w, n, "that uuid is used twice");
	return ok;
}

static bool world_vdi(struct world_load *w, xmlNode *n, const char *sr_ref)
{
	static const char *const attrs[] = { "name", "description", "size",
		"location", "read_only", "uuid", NULL };
	struct xbt_vdi_record *v = xbt_calloc(1, sizeof(*v));
	const char *ref;
	bool ok;

	xbt_record_init(&xbt_class_vdi, v);
	ok = world_check_attrs(w, n, attrs) &&
	     world_text(w, n, "name", true, &v->name_label) &&
	     world_unique(w, n, v->name_label) &&
	     world_text(w, n, "description", false, &v->name_description) &&
	     world_identity(w, n, &xbt_class_vdi, "vdi", v->name_label,
			    &v->uuid) &&
	     world_int(w, n, "size", &v->virtual_size) &&
	     world_bool(w, n, "read_only", false, &v->read_only) &&
	     world_text(w, n, "location", false, &v->location);
	if (!ok) {
		xbt_record_release(&xbt_class_vdi, v);
		free(v);
		return false;
	}
	world_str(&v->SR, sr_ref);
	v->managed = true;
	/* The location defaults to the uuid, as many SM backends do. */
	if (!v->location[0])
		world_str(&v->location, v->uuid);
	ref = store_add(&xbt_class_vdi, v);
	world_link(&xbt_class_sr, sr_ref, offsetof(struct xbt_sr_record, VDIs),
		   ref);
	xbt_map_set(&w->vdis, v->name_label, ref);
	return true;
}

/* The ref of a host the world names (itself or a <host>), or NULL. */
static const char *world_host_ref(struct world_load *w, xmlNode *n,
				  const char *name)
{
	char uuid[40];
	const char *ref;

	world_uuid(uuid, "host", name);
	ref = store_ref_by_uuid(&xbt_class_host, uuid);
	if (!ref)
		world_fail(w, n, "no such host (declare it with <host name>)");
	return ref;
}

/* Under the lock: for a shared SR (ctx, its ref), a PBD on every other
 * host, with the device_config and the state of its first. */
static void world_share_one(const char *ref, const void *rec, void *ctx)
{
	const struct xbt_sr_record *sr = store_get(&xbt_class_sr, ctx);
	const struct xbt_pbd_record *first =
		store_get(&xbt_class_pbd, sr->PBDs.v[0]);

	(void)rec;
	if (strcmp(ref, first->host) != 0)
		host_new_pbd(ref, ctx, &first->device_config,
			     first->currently_attached);
}

/* The pool's default SR is the world's first (xapi's is the installer's
 * local SR); clients ask pool.get_default_SR where to put new disks. */
static void world_default_sr(const char *sr_ref)
{
	struct xbt_pool_record *pool = store_edit(&xbt_class_pool, host_pool());

	if (pool && strcmp(pool->default_SR, XBT_REF_NULL) == 0)
		world_str(&pool->default_SR, sr_ref);
}

static bool world_sr(struct world_load *w, xmlNode *n)
{
	static const char *const attrs[] = { "name", "description", "type",
		"plugged", "shared", "uuid", "host", NULL };
	struct xbt_sr_record *sr = xbt_calloc(1, sizeof(*sr));
	const char *sr_ref, *host = host_self();
	char *host_name = NULL;
	xbt_map dc = { 0 };
	bool plugged = true, shared = false;
	bool ok;

	xbt_record_init(&xbt_class_sr, sr);
	ok = world_check_attrs(w, n, attrs) &&
	     world_text(w, n, "name", true, &sr->name_label) &&
	     world_unique(w, n, sr->name_label) &&
	     world_text(w, n, "description", false, &sr->name_description) &&
	     world_text(w, n, "type", true, &sr->type) &&
	     world_identity(w, n, &xbt_class_sr, "sr", sr->name_label,
			    &sr->uuid) &&
	     world_bool(w, n, "plugged", true, &plugged) &&
	     world_bool(w, n, "shared", false, &shared);
	sr->shared = shared;
	if (ok && !sm_type_valid(sr->type))
		ok = world_fail(w, n, "SR type must be 1 to 64 of [A-Za-z0-9_]");
	if (ok && (host_name = world_attr(n, "host"))) {
		if (shared)
			ok = world_fail(w, n, "a shared SR names no host");
		else
			ok = (host = world_host_ref(w, n, host_name)) != NULL;
	}
	for (xmlNode *c = n->children; c && ok; c = c->next) {
		if (world_is(c, "device_config")) {
			static const char *const dca[] = { "key", "value", NULL };
			char *k = world_attr(c, "key"), *v = world_attr(c, "value");
			ok = world_check_attrs(w, c, dca);
			if (ok && (!k || !v))
				ok = world_fail(w, c, "<device_config> needs key and value");
			if (ok)
				xbt_map_set(&dc, k, v);
			xmlFree(k);
			xmlFree(v);
		}
	}
	xmlFree(host_name);
	if (!ok) {
		xbt_record_release(&xbt_class_sr, sr);
		free(sr);
		xbt_map_clear(&dc);
		return false;
	}
	world_str(&sr->content_type, "user");
	sr_ref = store_add(&xbt_class_sr, sr);
	world_default_sr(sr_ref);
	/* This host's PBD first (or the named host's), then one on every
	 * other host if shared: all plugged as the SR says, as a slave plugs
	 * its PBDs when it starts (doc/pools.md). */
	host_new_pbd(host, sr_ref, &dc, plugged);
	if (shared)
		store_foreach(&xbt_class_host, world_share_one, (void *)sr_ref);
	xbt_map_clear(&dc);
	for (xmlNode *c = n->children; c && ok; c = c->next) {
		if (world_is(c, "vdi"))
			ok = world_vdi(w, c, sr_ref);
		else if (c->type == XML_ELEMENT_NODE && !world_is(c, "device_config"))
			ok = world_fail(w, c, "expected <vdi> or <device_config> in <sr>");
	}
	return ok;
}

/* A host of the pool the world declares, not (yet) joined: not live. */
static bool world_host(struct world_load *w, xmlNode *n)
{
	static const char *const attrs[] = { "name", NULL };
	char *name = NULL;
	char uuid[40];
	bool ok = world_check_attrs(w, n, attrs) &&
		  world_text(w, n, "name", true, &name) &&
		  world_unique(w, n, name);

	if (ok && strlen(name) >= OPT_HOSTNAME_MAX)
		ok = world_fail(w, n, "host name too long");
	if (ok) {
		world_uuid(uuid, "host", name);
		if (store_ref_by_uuid(&xbt_class_host, uuid))
			ok = world_fail(w, n, "the host is declared twice, or "
					"is this host");
		else
			host_add(uuid, name, name, "", false);
	}
	free(name);
	return ok;
}

static bool world_vbd(struct world_load *w, xmlNode *n, const char *vm_ref,
		      const char *vm_name, unsigned index)
{
	static const char *const attrs[] = { "vdi", "device", "mode",
		"bootable", "type", NULL };
	struct xbt_vbd_record *b = xbt_calloc(1, sizeof(*b));
	char *vdi_name = world_attr(n, "vdi");
	char *mode = world_attr(n, "mode");
	char *type = world_attr(n, "type");
	const char *vdi_ref = NULL;
	char userdevice[16];
	bool ok;

	xbt_record_init(&xbt_class_vbd, b);
	snprintf(userdevice, sizeof(userdevice), "%u", index);
	world_str(&b->userdevice, userdevice);
	{
		xbt_buf key = XBT_BUF_INIT;
		char uuid[40];

		xbt_buf_addf(&key, "%s/%u", vm_name, index);
		world_uuid(uuid, "vbd", key.buf);
		world_str(&b->uuid, uuid);
		xbt_buf_release(&key);
	}
	world_str(&b->VM, vm_ref);
	ok = world_check_attrs(w, n, attrs) &&
	     world_text(w, n, "device", false, &b->device) &&
	     world_bool(w, n, "bootable", false, &b->bootable);
	if (ok && mode && (b->mode = xbt_enum_index(&xbt_enum_vbd_mode, mode)) < 0)
		ok = world_fail(w, n, "mode must be RO or RW");
	if (ok && !mode)
		b->mode = XBT_VBD_MODE_RW;
	if (ok && type && (b->type = xbt_enum_index(&xbt_enum_vbd_type, type)) < 0)
		ok = world_fail(w, n, "type must be CD, Disk or Floppy");
	if (ok && !type)
		b->type = XBT_VBD_TYPE_DISK;
	if (ok && vdi_name && !(vdi_ref = xbt_map_get(&w->vdis, vdi_name)))
		ok = world_fail(w, n, "no <vdi> of that name (define SRs first)");
	if (ok) {
		const char *ref;
		b->empty = vdi_ref == NULL;
		world_str(&b->VDI, vdi_ref ? vdi_ref : XBT_REF_NULL);
		ref = store_add(&xbt_class_vbd, b);
		b = NULL;
		world_link(&xbt_class_vm, vm_ref,
			   offsetof(struct xbt_vm_record, VBDs), ref);
		if (vdi_ref)
			world_link(&xbt_class_vdi, vdi_ref,
				   offsetof(struct xbt_vdi_record, VBDs), ref);
	}
	if (b) {
		xbt_record_release(&xbt_class_vbd, b);
		free(b);
	}
	xmlFree(vdi_name);
	xmlFree(mode);
	xmlFree(type);
	return ok;
}

static bool world_network(struct world_load *w, xmlNode *n)
{
	static const char *const attrs[] = { "name", "description", "bridge",
		"mtu", "uuid", NULL };
	struct xbt_network_record *net = xbt_calloc(1, sizeof(*net));
	char bridge[32];
	bool ok;

	xbt_record_init(&xbt_class_network, net);
	net->MTU = 1500;
	ok = world_check_attrs(w, n, attrs) &&
	     world_text(w, n, "name", true, &net->name_label) &&
	     world_unique(w, n, net->name_label) &&
	     world_text(w, n, "description", false, &net->name_description) &&
	     world_identity(w, n, &xbt_class_network, "network",
			    net->name_label, &net->uuid) &&
	     world_text(w, n, "bridge", false, &net->bridge) &&
	     world_int(w, n, "mtu", &net->MTU);
	if (ok && (net->MTU < 68 || net->MTU > 65535))
		ok = world_fail(w, n, "mtu must be 68 to 65535");
	if (ok && n->children && xmlFirstElementChild(n))
		ok = world_fail(w, xmlFirstElementChild(n),
				"<network> has no child elements");
	if (!ok) {
		xbt_record_release(&xbt_class_network, net);
		free(net);
		return false;
	}
	/* xapi's own bridges are xenbr<N>, one per physical NIC. */
	if (!net->bridge[0]) {
		snprintf(bridge, sizeof(bridge), "xenbr%zu", w->networks.n);
		world_str(&net->bridge, bridge);
	}
	net->managed = true;
	xbt_map_set(&w->networks, net->name_label, network_add(net));
	return true;
}

static bool world_vif(struct world_load *w, xmlNode *n, const char *vm_ref,
		      const char *vm_name)
{
	static const char *const attrs[] = { "network", "device", "mac", "mtu",
		NULL };
	struct xbt_vif_record *vif = xbt_calloc(1, sizeof(*vif));
	char *net_name = world_attr(n, "network");
	const char *net_ref = NULL;
	const struct xbt_vm_record *vm = store_get(&xbt_class_vm, vm_ref);
	const struct xbt_network_record *net;
	xbt_buf key = XBT_BUF_INIT;
	char uuid[40];
	bool ok;

	xbt_record_init(&xbt_class_vif, vif);
	ok = world_check_attrs(w, n, attrs) &&
	     world_text(w, n, "device", true, &vif->device) &&
	     world_text(w, n, "mac", false, &vif->MAC) &&
	     world_int(w, n, "mtu", &vif->MTU);
	if (ok && (strlen(vif->device) > 3 ||
		   strspn(vif->device, "0123456789") != strlen(vif->device) ||
		   !vif->device[0]))
		ok = world_fail(w, n, "device must be a number: \"0\", \"1\", ...");
	for (size_t i = 0; ok && i < vm->VIFs.n; i++) {
		const struct xbt_vif_record *o =
			store_get(&xbt_class_vif, vm->VIFs.v[i]);
		if (o && strcmp(o->device, vif->device) == 0)
			ok = world_fail(w, n, "the VM has a VIF of that device");
	}
	if (ok && !net_name)
		ok = world_fail(w, n, "<vif> needs a \"network\" attribute");
	if (ok && !(net_ref = xbt_map_get(&w->networks, net_name)))
		ok = world_fail(w, n, "no <network> of that name (define "
				"networks first)");
	xmlFree(net_name);
	if (!ok) {
		xbt_record_release(&xbt_class_vif, vif);
		free(vif);
		return false;
	}
	/* Fixed, as world objects: "<VM name>/<device>". */
	xbt_buf_addf(&key, "%s/%s", vm_name, vif->device);
	world_uuid(uuid, "vif", key.buf);
	xbt_buf_release(&key);
	world_str(&vif->uuid, uuid);
	world_str(&vif->VM, vm_ref);
	world_str(&vif->network, net_ref);
	net = store_get(&xbt_class_network, net_ref);
	if (!vif->MTU)
		vif->MTU = net->MTU;
	network_add_vif(vif);
	return true;
}

static bool world_vm(struct world_load *w, xmlNode *n)
{
	static const char *const attrs[] = { "name", "description", "template",
		"uuid", "memory", "vcpus", "affinity", NULL };
	struct xbt_vm_record *vm = xbt_calloc(1, sizeof(*vm));
	const char *ref, *affinity;
	char *affinity_name = NULL;
	unsigned index = 0;
	bool ok;

	xbt_record_init(&xbt_class_vm, vm);
	ok = world_check_attrs(w, n, attrs) &&
	     world_text(w, n, "name", true, &vm->name_label) &&
	     world_unique(w, n, vm->name_label) &&
	     world_text(w, n, "description", false, &vm->name_description) &&
	     world_identity(w, n, &xbt_class_vm, "vm", vm->name_label,
			    &vm->uuid) &&
	     world_bool(w, n, "template", false, &vm->is_a_template) &&
	     world_int(w, n, "memory", &vm->memory_static_max) &&
	     world_int(w, n, "vcpus", &vm->VCPUs_max);
	if (ok && (affinity_name = world_attr(n, "affinity"))) {
		affinity = world_host_ref(w, n, affinity_name);
		if (affinity)
			world_str(&vm->affinity, affinity);
		ok = affinity != NULL;
	}
	xmlFree(affinity_name);
	if (!ok) {
		xbt_record_release(&xbt_class_vm, vm);
		free(vm);
		return false;
	}
	vm->memory_dynamic_max = vm->memory_static_max;
	vm->memory_dynamic_min = vm->memory_static_max;
	vm->VCPUs_at_startup = vm->VCPUs_max;
	vm->power_state = XBT_VM_POWER_STATE_HALTED;
	vm_update_allowed(vm);
	ref = store_add(&xbt_class_vm, vm);
	guest_new_metrics(ref);
	for (xmlNode *c = n->children; c && ok; c = c->next) {
		if (world_is(c, "vbd"))
			ok = world_vbd(w, c, ref, vm->name_label, index++);
		else if (world_is(c, "vif"))
			ok = world_vif(w, c, ref, vm->name_label);
		else if (c->type == XML_ELEMENT_NODE)
			ok = world_fail(w, c, "expected <vbd> or <vif> in <vm>");
	}
	return ok;
}

static bool world_walk(struct world_load *w, xmlDoc *doc)
{
	xmlNode *root = xmlDocGetRootElement(doc);
	bool ok = true;

	if (!root || !world_is(root, "world"))
		return world_fail(w, root, "the root element must be <world>");
	/* Hosts first: SRs and VMs name them. */
	for (xmlNode *c = root->children; c && ok; c = c->next)
		if (world_is(c, "host"))
			ok = world_host(w, c);
	for (xmlNode *c = root->children; c && ok; c = c->next) {
		if (world_is(c, "sr"))
			ok = world_sr(w, c);
		else if (world_is(c, "network"))
			ok = world_network(w, c);
		else if (world_is(c, "vm"))
			ok = world_vm(w, c);
		else if (c->type == XML_ELEMENT_NODE && !world_is(c, "host"))
			ok = world_fail(w, c, "expected <host>, <sr>, <network> "
					"or <vm> in <world>");
	}
	return ok;
}

xbt_error *world_load(const char *name, const char *xml, size_t len)
{
	struct world_load w = { .file = name };
	xmlDoc *doc;

	/* libxml2 reports nothing for an empty document. */
	if (len == 0) {
		world_fail_at(XBT_HERE, &w, 1, "the file is empty");
		goto out;
	}
	/* No network, no entities: a world file is data, nothing more. */
	doc = xmlReadMemory(xml, (int)len, name, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char what[300];

		snprintf(what, sizeof(what), "%s",
			 e && e->message ? e->message : "not XML");
		what[strcspn(what, "\n")] = '\0'; /* libxml2 ends it with one */
		world_fail_at(XBT_HERE, &w, e ? e->line : 0, what);
		goto out;
	}
	store_lock();
	if (world_walk(&w, doc))
		storage_update_all();
	store_unlock();
	xmlFreeDoc(doc);
out:
	xbt_map_clear(&w.vdis);
	xbt_map_clear(&w.networks);
	world_names_clear(&w.names);
	return w.err;
}

static xbt_error *world_load_file(const char *path)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *err = NULL;

	if (xbt_buf_read_file(&b, path, WORLD_MAX_FILE)) {
		err = XBT_PROPAGATE(world_load(path, b.buf, b.len));
	} else {
		int e = errno;

		xbt_buf_reset(&b);
		if (e == EFBIG)
			xbt_buf_addf(&b, "world file %s: larger than 16 MiB",
				     path);
		else
			xbt_buf_addf(&b, "world file %s: %s", path, strerror(e));
		err = XBT_RAISE_INTERNAL_ERROR(b.buf);
	}
	xbt_buf_release(&b);
	return err;
}

xbt_error *world_init(const char *world_file)
{
	xbt_error *err = NULL;

	if (world_file)
		err = XBT_PROPAGATE(world_load_file(world_file));
	else
		err = XBT_PROPAGATE(world_load("(demo world)", world_demo,
					       sizeof(world_demo) - 1));
	return err;
}
