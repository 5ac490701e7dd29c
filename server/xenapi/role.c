/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * This host's role in its pool (doc/pools.md), kept in xbtd's state
 * directory as xapi keeps its own (/etc/xensource): pool.conf says
 * "master" or "slave:<master address>", ptoken (mode 0600) holds the pool
 * secret that hosts prove membership with (session.slave_login). A master
 * makes a secret the first time it needs one; a slave gets it at join.
 * A change of role takes effect when xbtd restarts itself, as xapi does.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xbtd.h"

#define ROLE_CONF "pool.conf"
#define ROLE_TOKEN "ptoken"
#define ROLE_SLAVE_PREFIX "slave:"

static pthread_mutex_t role_lock = PTHREAD_MUTEX_INITIALIZER;
static char role_dir[ROLE_DIR_MAX + 1];
static bool role_slave;
static char role_master_addr[ROLE_ADDR_MAX + 1];
static char role_secret_buf[ROLE_SECRET_MAX + 1];
static int64_t role_restart_at;      /* 0: none due */
static xbt_error *role_emergency_err; /* a slave's, or NULL */

static xbt_error *role_fail_at(const char *file, int line, const char *func,
			       const char *what, const char *name, int errnum)
{
	char msg[ROLE_DIR_MAX + 160];

	snprintf(msg, sizeof(msg), "state directory %s: %s%s%s%s", role_dir,
		 what, name ? name : "", errnum ? ": " : "",
		 errnum ? strerror(errnum) : "");
	return xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR, msg,
			       (const char *)NULL);
}

#define role_fail(what, name, errnum) \
	role_fail_at(XBT_HERE, (what), (name), (errnum))

static void role_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", role_dir, name);
}

/* Writes a file of the directory (write, rename), mode 0600. */
static xbt_error *role_write(const char *name, const char *text)
{
	char path[ROLE_DIR_MAX + 32], tmp[ROLE_DIR_MAX + 40];
	size_t len = strlen(text);
	xbt_error *err = NULL;
	int fd;

	role_path(path, sizeof(path), name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
		err = role_fail("cannot write ", name, errno);
	if (fd >= 0 && close(fd) != 0 && !err)
		err = role_fail("cannot write ", name, errno);
	if (!err && rename(tmp, path) != 0)
		err = role_fail("cannot write ", name, errno);
	if (err)
		unlink(tmp);
	return err;
}

/* Reads a small file's first line into out; false when absent. */
static bool role_read(const char *name, char *out, size_t size)
{
	char path[ROLE_DIR_MAX + 32];
	xbt_buf b = XBT_BUF_INIT;
	bool ok;

	role_path(path, sizeof(path), name);
	ok = xbt_buf_read_file(&b, path, 4096);
	if (ok) {
		b.buf[strcspn(b.buf, "\r\n")] = '\0';
		snprintf(out, size, "%s", b.buf);
	}
	xbt_buf_release(&b);
	return ok;
}

/* Three random uuids joined by '/', the shape of xapi's secrets. */
static void role_new_secret(char *out, size_t size)
{
	char a[40], b[40], c[40];

	store_new_uuid(a);
	store_new_uuid(b);
	store_new_uuid(c);
	snprintf(out, size, "%s/%s/%s", a, b, c);
}

xbt_error *role_init(const char *dir)
{
	char conf[ROLE_ADDR_MAX + 16];
	xbt_error *err = NULL;

	snprintf(role_dir, sizeof(role_dir), "%s", dir);
	/* mkdir -p: the parents too, private as the directory itself. */
	for (char *p = role_dir + 1; (p = strchr(p, '/')) && !err; p++) {
		*p = '\0';
		if (mkdir(role_dir, 0700) != 0 && errno != EEXIST)
			err = role_fail("cannot make a parent", NULL, errno);
		*p = '/';
	}
	if (err)
		goto out;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		err = role_fail("cannot make it", NULL, errno);
		goto out;
	}
	if (role_read(ROLE_CONF, conf, sizeof(conf)) &&
	    strncmp(conf, ROLE_SLAVE_PREFIX, strlen(ROLE_SLAVE_PREFIX)) == 0) {
		role_slave = true;
		snprintf(role_master_addr, sizeof(role_master_addr), "%.*s",
			 ROLE_ADDR_MAX, conf + strlen(ROLE_SLAVE_PREFIX));
		if (!role_master_addr[0]) {
			err = role_fail(ROLE_CONF ": no master address", NULL, 0);
			goto out;
		}
	}
	if (!role_read(ROLE_TOKEN, role_secret_buf, sizeof(role_secret_buf)) ||
	    !role_secret_buf[0]) {
		if (role_slave) {
			err = role_fail(ROLE_TOKEN ": a slave without the pool "
					"secret", NULL, 0);
			goto out;
		}
		role_new_secret(role_secret_buf, sizeof(role_secret_buf));
		err = XBT_PROPAGATE(role_write(ROLE_TOKEN, role_secret_buf));
	}
	if (!err)
		log_debug("pool role: %s%s", role_slave ? "slave of " : "master",
			  role_slave ? role_master_addr : "");
out:
	return err;
}

void role_shutdown(void)
{
	xbt_error_free(role_emergency_err);
	role_emergency_err = NULL;
}

bool role_is_slave(void)
{
	return role_slave;
}

const char *role_master(void)
{
	return role_master_addr;
}

bool role_secret_ok(const char *secret)
{
	size_t la = strlen(secret), lb = strlen(role_secret_buf);
	unsigned char diff = la != lb;

	/* No early exit: the time taken tells nothing of the secret. */
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(secret[i] ^
					role_secret_buf[i % (lb ? lb : 1)]);
	return diff == 0 && lb > 0;
}

const char *role_secret(void)
{
	return role_secret_buf;
}

xbt_error *role_become_slave(const char *master, const char *secret,
			     unsigned delay_s)
{
	char conf[ROLE_ADDR_MAX + 16];
	xbt_error *err = NULL;

	if (strlen(master) > ROLE_ADDR_MAX || strlen(secret) > ROLE_SECRET_MAX ||
	    strpbrk(master, "\r\n") || strpbrk(secret, "\r\n")) {
		err = XBT_RAISE_INTERNAL_ERROR("bad master address or secret");
		goto out;
	}
	snprintf(conf, sizeof(conf), ROLE_SLAVE_PREFIX "%s\n", master);
	if ((err = XBT_PROPAGATE(role_write(ROLE_TOKEN, secret))))
		goto out;
	if ((err = XBT_PROPAGATE(role_write(ROLE_CONF, conf))))
		goto out;
	role_request_restart(delay_s);
out:
	return err;
}

xbt_error *role_become_master(unsigned delay_s)
{
	char path[ROLE_DIR_MAX + 32];
	xbt_error *err = XBT_PROPAGATE(role_write(ROLE_CONF, "master\n"));

	if (!err) {
		/* A standalone master makes a new pool, with a new secret. */
		role_path(path, sizeof(path), ROLE_TOKEN);
		unlink(path);
		role_request_restart(delay_s);
	}
	return err;
}

void role_request_restart(unsigned delay_s)
{
	pthread_mutex_lock(&role_lock);
	role_restart_at = now_seconds() + (int64_t)delay_s;
	if (role_restart_at <= 0)
		role_restart_at = 1;
	pthread_mutex_unlock(&role_lock);
}

bool role_restart_pending(void)
{
	bool pending;

	pthread_mutex_lock(&role_lock);
	pending = role_restart_at != 0;
	pthread_mutex_unlock(&role_lock);
	return pending;
}

bool role_restart_due(int64_t now)
{
	bool due;

	pthread_mutex_lock(&role_lock);
	due = role_restart_at && now >= role_restart_at;
	pthread_mutex_unlock(&role_lock);
	return due;
}

void role_set_emergency(const xbt_error *e)
{
	pthread_mutex_lock(&role_lock);
	xbt_error_free(role_emergency_err);
	role_emergency_err = NULL;
	if (e)
		role_emergency_err = XBT_RELAY(e->code, e->nparams,
					       (const char *const *)e->params);
	pthread_mutex_unlock(&role_lock);
}

xbt_error *role_check_emergency(void)
{
	xbt_error *err = NULL;

	pthread_mutex_lock(&role_lock);
	if (role_emergency_err)
		err = XBT_RELAY(role_emergency_err->code,
				role_emergency_err->nparams,
				(const char *const *)role_emergency_err->params);
	pthread_mutex_unlock(&role_lock);
	return err;
}

xbt_error *role_save_file(const char *name, const char *text)
{
	return XBT_PROPAGATE(role_write(name, text));
}

bool role_load_file(const char *name, xbt_buf *out)
{
	char path[ROLE_DIR_MAX + 32];

	role_path(path, sizeof(path), name);
	return xbt_buf_read_file(out, path, ROLE_FILE_MAX);
}
