/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd's link to xbt-opsd, its backend for the storage steps of the VM
 * lifecycle (doc/opsd.md). xbtd starts opsd itself (a private directory
 * holds its socket; opsd's stdin is a pipe whose end tells it xbtd is
 * gone) and starts it again when it has died, or uses --opsd-socket's.
 *
 * ops_run is upstream's success_task (ocaml/xapi/xapi_xenops.ml): send
 * the work, wait for the task through UPDATES.get, read it with
 * TASK.stat, and always TASK.destroy it. A Failed task's error is relayed
 * with its code and params, opsd's backtrace glued in front of xbtd's
 * frames; a backtrace that cannot be read is logged and never replaces
 * the error (the lesson of xenopsd#526).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "child.h"
#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/xenops.h"
#include "xbtd.h"

#define OPS_READY_TIMEOUT_MS 10000  /* opsd's "listening" line */
#define OPS_STOP_TIMEOUT_MS 10000   /* SIGKILL after */
#define OPS_WAIT_S 30               /* one UPDATES.get */
#define OPS_CALL_TIMEOUT_MS ((OPS_WAIT_S + 30) * 1000)
#define OPS_READY_LINE "xbt-opsd listening on "

/* The process we run (none with --opsd-socket), under ops_lock. */
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t ops_pid = -1;
static int ops_stdin = -1;          /* our end of its stdin */
static char ops_dir[64];            /* private directory of its socket */
static char ops_socket[128];        /* the socket in use */
static char ops_url[160];           /* "unix:" ops_socket */

/* Operations in flight, for task.cancel: XenAPI task -> opsd task. */
struct ops_link {
	LIST_ENTRY(ops_link) link;
	char *xapi_task;
	char *opsd_task;
};
static LIST_HEAD(, ops_link) ops_links = LIST_HEAD_INITIALIZER(ops_links);

static xbt_error *ops_fail_at(const char *file, int line, const char *func,
			      const char *what, int errnum)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "xbt-opsd: %s%s%s", what,
		 errnum ? ": " : "", errnum ? strerror(errnum) : "");
	return xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR, msg,
			       (const char *)NULL);
}

#define ops_fail(what, errnum) ops_fail_at(XBT_HERE, (what), (errnum))

/*
 * A call to opsd that failed (not its task: that is ops_failure), as the one
 * error xbtd raises for it, INTERNAL_ERROR ["xbt-opsd: ..."]: opsd out of
 * reach or not speaking HTTP ("<why>: <socket>"), an error of the call
 * itself ("<method> failed: CODE [params]"), a reply of the wrong shape
 * ("<method>: unexpected reply: ..."). Nothing of opsd's interface reaches
 * the client as if it were the client's own mistake.
 */
static xbt_error *ops_call_failed(xbt_error *err, const char *method,
				  bool reply)
{
	xbt_buf msg = XBT_BUF_INIT;

	if (!err)
		goto out;
	if (strcmp(err->code, XBT_CLIENT_CONNECT_FAILED) == 0 ||
	    strcmp(err->code, XBT_CLIENT_PROTOCOL_ERROR) == 0) {
		xbt_buf_addf(&msg, "xbt-opsd: %s: %s",
			     err->nparams > 1 ? err->params[1] : err->code,
			     ops_socket);
	} else {
		char *summary = xbt_error_summary(err);
		xbt_buf_addf(&msg, "xbt-opsd: %s%s: %s", method,
			     reply ? ": unexpected reply" : " failed", summary);
		free(summary);
	}
	err = XBT_RERAISE_INTERNAL_ERROR(err, msg.buf);
out:
	xbt_buf_release(&msg);
	return err;
}

/* ---- the process ------------------------------------------------------------ */

/* Reads opsd's stdout until its ready line; false on EOF or timeout. */
static bool ops_wait_ready(int fd)
{
	char buf[512];
	size_t len = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = OPS_READY_TIMEOUT_MS -
		       ((t.tv_sec - t0.tv_sec) * 1000LL +
			(t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || len + 1 >= sizeof(buf))
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, OPS_READY_LINE) && strchr(buf, '\n'))
			return true;
	}
}

/* Under ops_lock: runs xbt-opsd and waits until it serves. */
static xbt_error *ops_spawn(void)
{
	char timeout[16], level[16];
	const char *levels[] = { "error", "warn", "info", "debug" };
	char *argv[] = {
		(char *)xbtd_conf.opsd_path, (char *)"--socket", ops_socket,
		(char *)"--hostname", xbtd_conf.hostname,
		(char *)"--sm-dir", (char *)xbtd_conf.sm_dir,
		(char *)"--plugin-timeout", timeout,
		(char *)"--log-level", level,
		(char *)"--watch-stdin",
		xbtd_conf.syslog ? (char *)"--syslog" : NULL, NULL
	};
	extern char **environ;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	xbt_error *err = NULL;
	int rc;

	snprintf(timeout, sizeof(timeout), "%u", xbtd_conf.plugin_timeout_s);
	snprintf(level, sizeof(level), "%s",
		 levels[xbtd_conf.log_level >= 0 && xbtd_conf.log_level < 4 ?
			xbtd_conf.log_level : 2]);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		err = ops_fail("pipe", errno);
		goto out;
	}
	{
		const int fds[3] = { in[0], out[1], -1 };
		rc = child_spawn(xbtd_conf.opsd_path, argv, environ, fds, false,
				 &ops_pid);
	}
	if (rc != 0) {
		ops_pid = -1;
		err = ops_fail(xbtd_conf.opsd_path, rc);
		goto out;
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	ops_stdin = in[1];
	in[1] = -1;
	if (!ops_wait_ready(out[0])) {
		err = ops_fail("did not start (see its log above)", 0);
		kill(ops_pid, SIGKILL);
		waitpid(ops_pid, NULL, 0);
		ops_pid = -1;
		close(ops_stdin);
		ops_stdin = -1;
		goto out;
	}
	log_info("xbt-opsd running as pid %d on %s", (int)ops_pid, ops_socket);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return err;
}

/* Under ops_lock: reaps a dead opsd so the next call starts a new one. */
static void ops_reap(void)
{
	int status;

	if (ops_pid > 0 && waitpid(ops_pid, &status, WNOHANG) == ops_pid) {
		log_warn("xbt-opsd (pid %d) ended: %s %d", (int)ops_pid,
			 WIFSIGNALED(status) ? "signal" : "status",
			 WIFSIGNALED(status) ? WTERMSIG(status)
					     : WEXITSTATUS(status));
		ops_pid = -1;
		close(ops_stdin);
		ops_stdin = -1;
	}
}

/* A client of opsd; starts it again first when it died. */
static xbt_error *ops_client(xbt_client **c)
{
	xbt_error *err = NULL;

	pthread_mutex_lock(&ops_lock);
	if (ops_dir[0]) {
		ops_reap();
		if (ops_pid < 0)
			err = XBT_PROPAGATE(ops_spawn());
	}
	pthread_mutex_unlock(&ops_lock);
	if (!err)
		err = ops_call_failed(xbt_client_open(ops_url,
						      OPS_CALL_TIMEOUT_MS, c),
				      "connect", false);
	return err;
}

xbt_error *ops_start(void)
{
	xbt_error *err = NULL;

	if (xbtd_conf.opsd_socket) {
		snprintf(ops_socket, sizeof(ops_socket), "%s",
			 xbtd_conf.opsd_socket);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(ops_dir, sizeof(ops_dir), "%s/xbtd-opsd-XXXXXX",
			 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
		if (!mkdtemp(ops_dir)) {
			err = ops_fail("mkdtemp", errno);
			ops_dir[0] = '\0';
			goto out;
		}
		snprintf(ops_socket, sizeof(ops_socket), "%s/opsd.sock",
			 ops_dir);
	}
	snprintf(ops_url, sizeof(ops_url), "unix:%s", ops_socket);
	if (ops_dir[0]) {
		pthread_mutex_lock(&ops_lock);
		err = XBT_PROPAGATE(ops_spawn());
		pthread_mutex_unlock(&ops_lock);
	}
out:
	return err;
}

void ops_stop(void)
{
	pthread_mutex_lock(&ops_lock);
	if (ops_pid > 0) {
		int waited = 0;
		close(ops_stdin);
		ops_stdin = -1;
		kill(ops_pid, SIGTERM);
		while (waitpid(ops_pid, NULL, WNOHANG) == 0) {
			if (waited >= OPS_STOP_TIMEOUT_MS) {
				kill(ops_pid, SIGKILL);
				waitpid(ops_pid, NULL, 0);
				break;
			}
			usleep(10000);
			waited += 10;
		}
		ops_pid = -1;
	}
	if (ops_dir[0]) {
		unlink(ops_socket); /* opsd removes it; not if it was killed */
		rmdir(ops_dir);
		ops_dir[0] = '\0';
	}
	pthread_mutex_unlock(&ops_lock);
}

/* ---- cancel ------------------------------------------------------------------- */

static void ops_link_add(const char *xapi_task, const char *opsd_task)
{
	struct ops_link *l = xbt_calloc(1, sizeof(*l));

	l->xapi_task = xbt_strdup(xapi_task);
	l->opsd_task = xbt_strdup(opsd_task);
	pthread_mutex_lock(&ops_lock);
	LIST_INSERT_HEAD(&ops_links, l, link);
	pthread_mutex_unlock(&ops_lock);
}

static void ops_link_del(const char *xapi_task)
{
	struct ops_link *l;

	pthread_mutex_lock(&ops_lock);
	LIST_FOREACH(l, &ops_links, link)
		if (strcmp(l->xapi_task, xapi_task) == 0)
			break;
	if (l)
		LIST_REMOVE(l, link);
	pthread_mutex_unlock(&ops_lock);
	if (l) {
		free(l->xapi_task);
		free(l->opsd_task);
		free(l);
	}
}

/* Sends TASK.cancel; a task that has ended or gone is no error here. */
static void ops_send_cancel(const char *dbg, const char *opsd_task)
{
	xbt_client *c = NULL;
	xmlrpc_value *r = NULL;
	xbt_error *err = XBT_PROPAGATE(ops_client(&c));

	if (!err)
		err = XBT_PROPAGATE(xops_task_cancel(c, dbg, opsd_task, &r));
	if (err) {
		log_backtrace(LOG_LEVEL_WARN, "cancel in xbt-opsd", err);
		xbt_error_free(err);
	}
	if (r)
		xmlrpc_DECREF(r);
	if (c)
		xbt_client_close(c);
}

void ops_cancel(const char *xapi_task)
{
	struct ops_link *l;
	char *id = NULL;

	pthread_mutex_lock(&ops_lock);
	LIST_FOREACH(l, &ops_links, link)
		if (strcmp(l->xapi_task, xapi_task) == 0)
			id = xbt_strdup(l->opsd_task);
	pthread_mutex_unlock(&ops_lock);
	if (id)
		ops_send_cancel(xapi_task, id);
	free(id);
}

/* ---- running an operation ------------------------------------------------------- */

/* A XenAPI error code as opsd may send one: [A-Z0-9_]{1,64}. */
static bool ops_code_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

	return n > 0 && n <= 64 && s[n] == '\0';
}

/* The error of a Failed task, relayed, with opsd's frames glued in front. */
static xbt_error *ops_failure(const struct xops_task_record *t)
{
	xbt_backtrace remote = XBT_BACKTRACE_INIT;
	xbt_error *err, *perr;

	if (t->error.n && ops_code_ok(t->error.v[0]))
		err = XBT_RELAY(t->error.v[0], t->error.n - 1,
				(const char *const *)t->error.v + 1);
	else
		err = XBT_RAISE_INTERNAL_ERROR(
			"xbt-opsd: a failed task without a valid error code");
	perr = xbt_backtrace_from_sexp(t->backtrace, strlen(t->backtrace),
				       &remote);
	if (perr) {
		log_backtrace(LOG_LEVEL_WARN, "xbt-opsd's backtrace cannot be "
			      "read; the error is kept without it", perr);
		xbt_error_free(perr);
	} else {
		xbt_backtrace_glue_remote(&err->bt, &remote);
	}
	xbt_backtrace_release(&remote);
	return err;
}

/* Reads a record-valued result into rec (initialised by the caller). */
static xbt_error *ops_read(const xbt_class_desc *c, xmlrpc_value *v,
			   void *rec)
{
	return XBT_PROPAGATE(xbt_record_from_value(c, v, rec));
}

/* Waits until task id has ended; *t gets its record. */
static xbt_error *ops_wait(xbt_client *c, const char *dbg, const char *id,
			   const char *xapi_task, struct xops_task_record *t)
{
	int64_t last = 0;
	xbt_error *err = NULL;

	for (;;) {
		struct xops_updates_record u;
		xmlrpc_value *v = NULL;
		bool mine;

		xbt_record_init(&xops_class_updates, &u);
		err = ops_call_failed(xops_updates_get(c, dbg, last,
						       OPS_WAIT_S, &v),
				      "UPDATES.get", false);
		if (!err)
			err = ops_call_failed(ops_read(&xops_class_updates, v,
						       &u),
					      "UPDATES.get", true);
		if (v)
			xmlrpc_DECREF(v);
		last = u.id;
		/* A wait that saw no change reads the task anyway: one that
		 * vanished (destroyed by another client) must not hang us. */
		mine = xbt_strv_has(&u.tasks, id) || u.tasks.n == 0;
		xbt_record_release(&xops_class_updates, &u);
		if (err)
			break;
		if (!mine)
			continue;
		err = ops_call_failed(xops_task_stat(c, dbg, id, &v),
				      "TASK.stat", false);
		if (!err) {
			xbt_record_release(&xops_class_task, t);
			xbt_record_init(&xops_class_task, t);
			err = ops_call_failed(ops_read(&xops_class_task, v, t),
					      "TASK.stat", true);
		}
		if (v)
			xmlrpc_DECREF(v);
		if (err || t->state != XOPS_TASK_STATE_PENDING)
			break;
		if (xapi_task)
			task_progress(xapi_task, t->progress);
	}
	return err;
}

xbt_error *ops_run(const struct ops_op *op)
{
	struct xops_task_record t;
	xbt_client *c = NULL;
	xmlrpc_value *disks = xbt_value_array(), *v = NULL;
	char *id = NULL;
	xbt_error *err, *failed = NULL;

	xbt_record_init(&xops_class_task, &t);
	for (size_t i = 0; i < op->ndisks; i++)
		xbt_value_push(disks, xbt_record_to_value(&xops_class_disk,
							  &op->disks[i]));
	if ((err = XBT_PROPAGATE(ops_client(&c))))
		goto out;
	if (op->start)
		err = ops_call_failed(xops_vm_start(c, op->dbg, op->vm,
						    op->session_ref, disks, &v),
				      "VM.start", false);
	else
		err = ops_call_failed(xops_vm_shutdown(c, op->dbg, op->vm,
						       op->session_ref, disks,
						       op->hard, &v),
				      "VM.shutdown", false);
	if (!err && !(id = xbt_value_text(v, NULL)))
		err = XBT_RAISE_INTERNAL_ERROR("xbt-opsd: task id is not a string");
	if (err)
		goto out;
	if (op->xapi_task) {
		ops_link_add(op->xapi_task, id);
		/* A cancel that came before the link was made. */
		if (task_cancelling(op->xapi_task))
			ops_send_cancel(op->dbg, id);
	}
	err = XBT_PROPAGATE(ops_wait(c, op->dbg, id, op->xapi_task, &t));
	if (op->xapi_task)
		ops_link_del(op->xapi_task);
	if (!err && t.state == XOPS_TASK_STATE_FAILED)
		failed = XBT_PROPAGATE(ops_failure(&t));
	{
		/* Always, as upstream's success_task does. */
		xmlrpc_value *r = NULL;
		xbt_error *derr = xops_task_destroy(c, op->dbg, id, &r);
		if (derr) {
			log_backtrace(LOG_LEVEL_WARN, "TASK.destroy in xbt-opsd",
				      derr);
			xbt_error_free(derr);
		}
		if (r)
			xmlrpc_DECREF(r);
	}
out:
	if (!err)
		err = failed;
	else
		xbt_error_free(failed);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_DECREF(disks);
	xbt_record_release(&xops_class_task, &t);
	if (c)
		xbt_client_close(c);
	free(id);
	return err;
}
