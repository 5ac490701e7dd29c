/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opsd's state directory, as xenopsd keeps its own: <dir>/lock, held with
 * flock(2) for opsd's life so that two never share a directory, and one
 * file per VM, <dir>/vms/<uuid>.json, rewritten (write, then rename: it must outlive opsd, not the machine)
 * whenever a disk of that VM comes up or goes down. A restarted opsd reads
 * them to know its running VMs and to finish what the dead one left half
 * done (vm.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "log.h"
#include "opsd.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

#define STATE_MAX_FILE (4 * 1024 * 1024)
#define STATE_SUFFIX ".json"
#define STATE_PATH_MAX (OPSD_STATE_DIR_MAX + 16)

static char state_vms[STATE_PATH_MAX];
static int state_lock_fd = -1;

static xbt_error *state_fail_at(const char *file, int line, const char *func,
				const char *what, const char *path, int errnum)
{
	char msg[STATE_PATH_MAX + 128];

	snprintf(msg, sizeof(msg), "state directory: %s %s: %s", what, path,
		 strerror(errnum));
	return xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR, msg,
			       (const char *)NULL);
}

#define state_fail(what, path, errnum) \
	state_fail_at(XBT_HERE, (what), (path), (errnum))

static bool state_mkdir(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

xbt_error *opsd_state_open(const char *dir)
{
	char lock[STATE_PATH_MAX];
	xbt_error *err = NULL;

	if (strlen(dir) > OPSD_STATE_DIR_MAX) {
		err = state_fail("path too long:", dir, ENAMETOOLONG);
		goto out;
	}
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	snprintf(state_vms, sizeof(state_vms), "%s/vms", dir);
	if (!state_mkdir(dir)) {
		err = state_fail("cannot make", dir, errno);
		goto out;
	}
	state_lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (state_lock_fd < 0) {
		err = state_fail("cannot open", lock, errno);
		goto out;
	}
	if (flock(state_lock_fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno == EWOULDBLOCK
			? XBT_RAISE_INTERNAL_ERROR(
				"state directory: another xbt-opsd holds it")
			: state_fail("cannot lock", lock, errno);
		goto out;
	}
	if (!state_mkdir(state_vms))
		err = state_fail("cannot make", state_vms, errno);
out:
	if (err) {
		if (state_lock_fd >= 0)
			close(state_lock_fd);
		state_lock_fd = -1;
		state_vms[0] = '\0';
	}
	return err;
}

void opsd_state_close(void)
{
	if (state_lock_fd >= 0)
		close(state_lock_fd); /* the lock goes with it */
	state_lock_fd = -1;
	state_vms[0] = '\0';
}

static void state_path(char *out, size_t size, const char *uuid,
		       const char *suffix)
{
	snprintf(out, size, "%s/%s%s", state_vms, uuid, suffix);
}

void opsd_state_save(const char *uuid, xmlrpc_value *record)
{
	char path[STATE_PATH_MAX + 80], tmp[STATE_PATH_MAX + 80];
	xbt_buf json = XBT_BUF_INIT;
	bool ok;
	int fd;

	if (!state_vms[0])
		return; /* no state directory (tests) */
	state_path(path, sizeof(path), uuid, STATE_SUFFIX);
	state_path(tmp, sizeof(tmp), uuid, STATE_SUFFIX ".tmp");
	xbt_wire_json_value(&json, record);
	xbt_buf_addch(&json, '\n');
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	/* No fsync: the state must outlive opsd, not the machine (as
	 * xenopsd keeps its own under /run); rename is atomic for that. */
	ok = fd >= 0 && write(fd, json.buf, json.len) == (ssize_t)json.len;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0)
		ok = false;
	/* A VM whose state is not on disk is one a restart forgets. */
	if (!ok) {
		log_error("state of VM %s: cannot write %s: %s", uuid, path,
			  strerror(errno));
		unlink(tmp);
	}
	xbt_buf_release(&json);
}

void opsd_state_remove(const char *uuid)
{
	char path[STATE_PATH_MAX + 80];

	if (!state_vms[0])
		return;
	state_path(path, sizeof(path), uuid, STATE_SUFFIX);
	if (unlink(path) != 0 && errno != ENOENT)
		log_error("state of VM %s: cannot remove %s: %s", uuid, path,
			  strerror(errno));
}

/* Reads one file; a broken one is kept aside as <name>.bad. */
static void state_load_one(const char *name,
			   bool (*fn)(const char *uuid, xmlrpc_value *rec,
				      void *ctx),
			   void *ctx)
{
	char path[STATE_PATH_MAX + 300], bad[STATE_PATH_MAX + 310];
	char uuid[OPSD_VM_ID_MAX + 1];
	size_t len = strlen(name), ulen;
	xbt_buf text = XBT_BUF_INIT;
	xmlrpc_value *rec = NULL;
	xbt_error *err = NULL;

	if (len <= strlen(STATE_SUFFIX) ||
	    strcmp(name + len - strlen(STATE_SUFFIX), STATE_SUFFIX) != 0)
		return; /* .tmp of a write that died, .bad, anything else */
	ulen = len - strlen(STATE_SUFFIX);
	snprintf(path, sizeof(path), "%s/%s", state_vms, name);
	if (ulen > OPSD_VM_ID_MAX) {
		err = XBT_RAISE_INTERNAL_ERROR("not a VM's file name");
	} else {
		memcpy(uuid, name, ulen);
		uuid[ulen] = '\0';
		if (!opsd_vm_id_ok(uuid))
			err = XBT_RAISE_INTERNAL_ERROR("not a VM's file name");
		else if (!xbt_buf_read_file(&text, path, STATE_MAX_FILE))
			err = XBT_RAISE_INTERNAL_ERROR("cannot read it");
		else
			err = XBT_PROPAGATE(xbt_json_parse(text.buf, text.len,
							   8, &rec));
	}
	if (err)
		log_backtrace(LOG_LEVEL_ERROR, path, err);
	/* A record of the wrong shape is as broken as one that does not
	 * parse: kept at its name, it would be refused at every start. */
	if (err || !fn(uuid, rec, ctx)) {
		snprintf(bad, sizeof(bad), "%s.bad", path);
		if (rename(path, bad) == 0)
			log_error("%s: set aside as %s", path, bad);
		else
			log_error("%s: cannot set it aside: %s", path,
				  strerror(errno));
	}
	xbt_error_free(err);
	if (rec)
		xmlrpc_DECREF(rec);
	xbt_buf_release(&text);
}

void opsd_state_load(bool (*fn)(const char *uuid, xmlrpc_value *rec,
				void *ctx),
		     void *ctx)
{
	DIR *d;
	struct dirent *de;

	if (!state_vms[0] || !(d = opendir(state_vms)))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			state_load_one(de->d_name, fn, ctx);
	closedir(d);
}
