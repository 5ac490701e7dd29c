/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool-join and pool-eject, with upstream xe's messages (doc/xe.1): a join
 * the master cannot be reached for is reported on stdout and exits 0, the
 * master's refusal of the credentials is an error, not xe's login, and
 * an eject asks for "yes" on stdin unless --force, after listing the VDIs
 * of the host's local SRs that the ejected host will lose.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xbt/client.h"
#include "xbt/xenapi.h"
#include "xe.h"

static void add_restart_notice(xbt_buf *out, const char *what)
{
	xbt_buf_addf(out, "%s in ", what);
	xe_format_float((double)XBT_POOL_RESTART_DELAY_S, out);
	xbt_buf_addstr(out, " seconds...\n");
}

xbt_error *xe_cmd_pool_join(const struct xe_cmd *cmd, struct xe_opts *o,
			    struct xe_conn *conn, xbt_buf *out)
{
	const char *address, *user, *password;
	xmlrpc_value *v = NULL;
	bool force;
	xbt_error *err;

	if ((err = xe_param_need(o, "master-address", &address)) ||
	    (err = xe_param_need(o, "master-username", &user)) ||
	    (err = xe_param_need(o, "master-password", &password)) ||
	    /* xbt has no homogeneity checks for force to skip. */
	    (err = xe_param_bool(o, "force", false, &force)))
		goto out;
	err = xbt_pool_join(conn->c, conn->session, address, user, password,
			    &v);
	if (!err) {
		add_restart_notice(out, "Host agent will restart and attempt "
				   "to join pool");
	} else if (strcmp(err->code,
			  XBT_ERR_JOINING_HOST_CONNECTION_FAILED) == 0) {
		xbt_error_free(err);
		err = NULL;
		xbt_buf_addstr(out, "Host cannot contact destination host: "
			       "connection refused.\nCheck destination host "
			       "has services running and accessible from "
			       "this host.\n");
	} else if (strcmp(err->code,
			  XBT_ERR_SESSION_AUTHENTICATION_FAILED) == 0) {
		/* The master refused master-username/master-password: not
		 * xe's own login, which main() would say failed. */
		xbt_buf msg = XBT_BUF_INIT;

		xe_format_error(err, false, &msg);
		fwrite(msg.buf, 1, msg.len, stderr);
		xbt_buf_release(&msg);
		xbt_error_free(err);
		err = XBT_RAISE(XE_ERR_REPORTED);
	}
out:
	if (v)
		xmlrpc_DECREF(v);
	return err;
}

/* The record of the object with that ref, or NULL. */
static const void *find_rec(const struct xe_objs *objs, const char *ref)
{
	for (size_t i = 0; i < objs->n; i++)
		if (strcmp(objs->v[i].ref, ref) == 0)
			return objs->v[i].rec;
	return NULL;
}

/* True when every PBD of sr is one of host's: no other host sees it. */
static bool sr_is_local(const struct xbt_sr_record *sr,
			const struct xbt_host_record *host)
{
	for (size_t i = 0; i < sr->PBDs.n; i++)
		if (!xbt_strv_has(&host->PBDs, sr->PBDs.v[i]))
			return false;
	return sr->PBDs.n > 0;
}

/* All objects of the class; false (and none) when they cannot be read. */
static bool fetch(struct xe_conn *conn, const char *cli, struct xe_objs *objs)
{
	xbt_error *err = xe_objs_fetch(conn, xe_class_find(cli), objs);

	xbt_error_free(err);
	return err == NULL;
}

/*
 * "VDI: <uuid> (<name>)" for every VDI of the host's local SRs. Best
 * effort, as upstream's: a failed read just means fewer warnings.
 */
static void add_lost_vdis(struct xe_conn *conn, const char *host_ref,
			  xbt_buf *lines)
{
	struct xe_objs hosts, srs, vdis;
	const struct xbt_host_record *host;

	if (!fetch(conn, "host", &hosts))
		return;
	if (fetch(conn, "sr", &srs)) {
		if (fetch(conn, "vdi", &vdis)) {
			host = find_rec(&hosts, host_ref);
			for (size_t i = 0; host && i < vdis.n; i++) {
				const struct xbt_vdi_record *vdi =
					vdis.v[i].rec;
				const struct xbt_sr_record *sr =
					find_rec(&srs, vdi->SR);
				if (sr && sr_is_local(sr, host))
					xbt_buf_addf(lines, "VDI: %s (%s)\n",
						     vdi->uuid,
						     vdi->name_label);
			}
			xe_objs_release(&vdis);
		}
		xe_objs_release(&srs);
	}
	xe_objs_release(&hosts);
}

/* Prints the warnings and reads a line: true when it says "yes". */
static bool user_says_yes(struct xe_conn *conn, const char *host_ref)
{
	xbt_buf lost = XBT_BUF_INIT;
	char line[64] = "";
	char *word;
	size_t len;

	add_lost_vdis(conn, host_ref, &lost);
	fputs("WARNING: Ejecting a host from the pool will reinitialise that "
	      "host's local SRs.\nWARNING: Any data contained with the local "
	      "SRs will be lost.\n", stdout);
	if (lost.len) {
		fputs("The following VDI objects will be destroyed:\n", stdout);
		fwrite(lost.buf, 1, lost.len, stdout);
	}
	fputs("Type 'yes' to continue\n", stdout);
	fflush(stdout);
	xbt_buf_release(&lost);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	for (word = line; *word == ' ' || *word == '\t'; word++)
		;
	len = strlen(word);
	while (len && strchr(" \t\r\n", word[len - 1]))
		word[--len] = '\0';
	return strcasecmp(word, "yes") == 0;
}

xbt_error *xe_cmd_pool_eject(const struct xe_cmd *cmd, struct xe_opts *o,
			     struct xe_conn *conn, xbt_buf *out)
{
	const char *uuid;
	char *ref = NULL;
	xmlrpc_value *v = NULL;
	bool force;
	xbt_error *err;

	if ((err = xe_param_need(o, "host-uuid", &uuid)) ||
	    (err = xe_param_bool(o, "force", false, &force)) ||
	    (err = xe_ref_by_uuid(conn, xe_class_find("host"), uuid, &ref)))
		goto out;
	if (!force && !user_says_yes(conn, ref))
		goto out;
	err = xbt_pool_eject(conn->c, conn->session, ref, &v);
	if (!err)
		add_restart_notice(out, "Specified host will attempt to "
				   "restart as a master of a new pool");
out:
	if (v)
		xmlrpc_DECREF(v);
	free(ref);
	return err;
}
