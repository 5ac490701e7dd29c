/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SMAPIv1: running a plugin.
 *
 * The runner never uses a shell or fork(): posix_spawn is safe in a
 * threaded process, closefrom keeps server sockets out of the plugin, and
 * the child gets its own process group so a timeout can stop the helpers
 * it started too. The exit is watched with a pidfd next to the two pipes,
 * and only this pid is ever waited for (xbtd installs no SIGCHLD reaper).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sm_priv.h"
#include "child.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbt/xenapi.h"

#define SM_READ_CHUNK (64 * 1024)
#define SM_POLL_FALLBACK_MS 20   /* exit polling when no pidfd */

static bool sm_pidfd_on = true;
static _Atomic int sm_group_watch = -1;

void sm_set_group_watch(int fd)
{
	sm_group_watch = fd;
}

/* One line, one write: lines from many threads never interleave. */
static void sm_announce(char sign, pid_t pgid)
{
	int fd = sm_group_watch;
	char line[32];
	int n;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%c%d\n", sign, (int)pgid);
	if (write(fd, line, (size_t)n) != n)
		log_warn("SM: cannot tell the sweeper of group %d: %s",
			 (int)pgid, strerror(errno));
}

void sm_test_use_pidfd(bool on)
{
	sm_pidfd_on = on;
}

/* ---- cancelling ------------------------------------------------------------ */

struct sm_cancel {
	int fd;               /* eventfd: readable once fired */
	atomic_bool fired;
	char *what;
};

struct sm_cancel *sm_cancel_new(const char *what)
{
	struct sm_cancel *c = xbt_calloc(1, sizeof(*c));

	c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->fd < 0)
		xbt_fatalx("sm_cancel_new: eventfd: %s", strerror(errno));
	atomic_init(&c->fired, false);
	c->what = xbt_strdup(what);
	return c;
}

void sm_cancel_fire(struct sm_cancel *c)
{
	uint64_t one = 1;

	if (!atomic_exchange(&c->fired, true) &&
	    write(c->fd, &one, sizeof(one)) != sizeof(one))
		xbt_fatalx("sm_cancel_fire: eventfd write: %s", strerror(errno));
}

bool sm_cancel_fired(const struct sm_cancel *c)
{
	return atomic_load(&c->fired);
}

void sm_cancel_free(struct sm_cancel *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->what);
	free(c);
}

/* ---- the runner ----------------------------------------------------------- */

struct sm_stream {
	int fd;
	size_t cap;
	size_t total;
	xbt_buf buf;
};

/* One read: into the buffer below the cap, else drained and counted. */
static void sm_stream_read(struct sm_stream *s)
{
	char scratch[4096];
	ssize_t n;

	if (s->buf.len < s->cap) {
		size_t room = s->cap - s->buf.len;
		if (room > SM_READ_CHUNK)
			room = SM_READ_CHUNK;
		xbt_buf_grow(&s->buf, room);
		n = read(s->fd, s->buf.buf + s->buf.len, room);
		if (n > 0) {
			s->buf.len += (size_t)n;
			s->buf.buf[s->buf.len] = '\0';
		}
	} else {
		n = read(s->fd, scratch, sizeof(scratch));
	}
	if (n > 0) {
		s->total += (size_t)n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(s->fd);
		s->fd = -1;
	}
}

static long long sm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sm_pidfd_open(pid_t pid)
{
	int fd = -1;

#ifdef SYS_pidfd_open
	if (sm_pidfd_on)
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	return fd;
}

struct sm_child {
	pid_t pid;
	int pidfd;
	bool exited;
	int status;
	bool lost;
};

static void sm_try_reap(struct sm_child *ch)
{
	pid_t r;

	do
		r = waitpid(ch->pid, &ch->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == ch->pid) {
		ch->exited = true;
	} else if (r < 0) {
		/* ECHILD: somebody else reaped it (a SIGCHLD reaper). */
		ch->exited = true;
		ch->lost = true;
	}
}

/*
 * Reads both streams until the child has exited and the pipes are drained,
 * enforcing the deadline. After the exit only what is already buffered is
 * read: a helper the plugin left running must not hold the call open.
 */
static void sm_supervise(struct sm_child *ch, struct sm_stream *so,
			 struct sm_stream *se, unsigned timeout_s,
			 unsigned grace_ms, int cancel_fd, bool *timed_out,
			 bool *cancelled)
{
	long long deadline = sm_now_ms() + (long long)timeout_s * 1000;
	long long kill_at = 0;
	bool term_sent = false, kill_sent = false;

	for (;;) {
		struct pollfd p[4];
		struct sm_stream *who[4];
		int n = 0, wait_ms, rc;
		long long now;

		if (!ch->exited && ch->pidfd < 0)
			sm_try_reap(ch);
		if (ch->exited && so->fd < 0 && se->fd < 0)
			break;
		now = sm_now_ms();
		if (!ch->exited && !term_sent && now >= deadline) {
			kill(-ch->pid, SIGTERM);
			term_sent = true;
			*timed_out = true;
			kill_at = now + grace_ms;
		}
		if (!ch->exited && term_sent && !kill_sent && now >= kill_at) {
			kill(-ch->pid, SIGKILL);
			kill_sent = true;
		}
		if (ch->exited)
			wait_ms = 0;
		else if (kill_sent)
			wait_ms = -1;
		else
			wait_ms = (int)((term_sent ? kill_at : deadline) - now);
		if (!ch->exited && ch->pidfd < 0 &&
		    (wait_ms < 0 || wait_ms > SM_POLL_FALLBACK_MS))
			wait_ms = SM_POLL_FALLBACK_MS;
		if (so->fd >= 0) {
			p[n] = (struct pollfd){ .fd = so->fd, .events = POLLIN };
			who[n++] = so;
		}
		if (se->fd >= 0) {
			p[n] = (struct pollfd){ .fd = se->fd, .events = POLLIN };
			who[n++] = se;
		}
		if (!ch->exited && ch->pidfd >= 0) {
			p[n] = (struct pollfd){ .fd = ch->pidfd, .events = POLLIN };
			who[n++] = NULL;
		}
		/* Last in p: a fired switch acts as the deadline passing. */
		if (!ch->exited && !term_sent && cancel_fd >= 0) {
			p[n] = (struct pollfd){ .fd = cancel_fd, .events = POLLIN };
			who[n++] = NULL;
		}
		rc = poll(p, (nfds_t)n, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			/* Cannot watch it any more: stop it and wait. */
			log_error("SM: poll: %s", strerror(errno));
			kill(-ch->pid, SIGKILL);
			while (waitpid(ch->pid, &ch->status, 0) < 0 &&
			       errno == EINTR)
				;
			ch->exited = true;
			break;
		}
		if (rc == 0 && ch->exited)
			break;
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (who[i]) {
				sm_stream_read(who[i]);
			} else if (p[i].fd == cancel_fd) {
				kill(-ch->pid, SIGTERM);
				term_sent = true;
				*cancelled = true;
				kill_at = sm_now_ms() + grace_ms;
			} else {
				sm_try_reap(ch);
			}
		}
	}
}

static void sm_stream_close(struct sm_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	xbt_buf_release(&s->buf);
}

/*
 * The methodCall for argv[1], by our serialiser: it writes text as it was
 * given (api/value.c) and made safe, so it never holds a NUL.
 */
static void sm_request(const char *command, xmlrpc_value *call, xbt_buf *xml)
{
	xmlrpc_value *params = xbt_value_array();

	xmlrpc_INCREF(call);
	xbt_value_push(params, call);
	xbt_wire_xml_call(xml, command, params);
	xmlrpc_DECREF(params);
}

xbt_error *sm_call(const struct sm_config *cfg, const char *type,
		   const char *command, xmlrpc_value *call,
		   xmlrpc_value **result)
{
	static const struct sm_config defaults = { 0 };
	xbt_error *err = NULL;
	xbt_buf path = XBT_BUF_INIT, xml = XBT_BUF_INIT, env_path = XBT_BUF_INIT;
	struct sm_stream so = { .fd = -1 }, se = { .fd = -1 };
	struct sm_child ch = { .pid = -1, .pidfd = -1 };
	int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	unsigned timeout_s, grace_ms;
	bool timed_out = false, cancelled = false;
	const char *daemon_path;
	long long started;
	int rc;

	if (!cfg)
		cfg = &defaults;
	xbt_buf_init(&so.buf);
	xbt_buf_init(&se.buf);
	if (!sm_name_ok(type, strlen(type), false)) {
		char *safe = xbt_text_safe_dup(type, strlen(type) > 100 ?
						100 : strlen(type));
		err = XBT_RAISE_SR_UNKNOWN_DRIVER(safe);
		free(safe);
		goto out;
	}
	if (!sm_name_ok(command, strlen(command), true)) {
		err = XBT_RAISE_INTERNAL_ERROR("bad SM command");
		goto out;
	}
	if (!call || xmlrpc_value_type(call) != XMLRPC_TYPE_STRUCT) {
		err = XBT_RAISE_INTERNAL_ERROR("SM call is not a struct");
		goto out;
	}
	if (cfg->cancel && sm_cancel_fired(cfg->cancel)) {
		err = XBT_RAISE_TASK_CANCELLED(cfg->cancel->what);
		goto out;
	}
	sm_request(command, call, &xml);
	xbt_buf_addf(&path, "%s/%sSR", cfg->sm_dir ? cfg->sm_dir : XBT_SM_DIR,
		     type);
	daemon_path = cfg->path ? cfg->path : getenv("PATH");
	xbt_buf_addf(&env_path, "PATH=%s",
		     daemon_path && *daemon_path ? daemon_path
						 : SM_DEFAULT_PATH);
	if (log_enabled(LOG_LEVEL_INFO)) {
		char *r = sm_render_call(type, command, call);
		log_info("SM call: %s", r);
		free(r);
	}
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot run %sSR: %s", type,
			 strerror(errno));
		err = XBT_RAISE_SR_BACKEND_FAILURE(msg, "", "");
		goto out;
	}
	{
		char *argv[] = { path.buf, xml.buf, NULL };
		char *envp[] = { env_path.buf, (char *)"ORIGINATOR=SM", NULL };
		started = sm_now_ms();
		const int fds[3] = { -1, out_p[1], err_p[1] };
		rc = child_spawn(path.buf, argv, envp, fds, CHILD_OWN_GROUP,
				 &ch.pid);
	}
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	if (rc == ENOENT) {
		err = XBT_RAISE_SR_UNKNOWN_DRIVER(type);
		goto out;
	}
	if (rc != 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot run %sSR: %s", type,
			 strerror(rc));
		err = XBT_RAISE_SR_BACKEND_FAILURE(msg, "", "");
		goto out;
	}
	sm_announce('+', ch.pid);
	so.fd = out_p[0];
	se.fd = err_p[0];
	out_p[0] = err_p[0] = -1;
	so.cap = se.cap = sm_out_cap(cfg);
	ch.pidfd = sm_pidfd_open(ch.pid);
	timeout_s = cfg->timeout_s ? cfg->timeout_s : SM_DEFAULT_TIMEOUT_S;
	grace_ms = cfg->grace_ms ? cfg->grace_ms : SM_DEFAULT_GRACE_MS;
	sm_supervise(&ch, &so, &se, timeout_s, grace_ms,
		     cfg->cancel ? cfg->cancel->fd : -1, &timed_out, &cancelled);
	sm_announce('-', ch.pid);
	child_forget(ch.pid);
	if (cancelled) {
		log_info("SM %s %s: cancelled after %lld ms", type, command,
			 sm_now_ms() - started);
		err = XBT_RAISE_TASK_CANCELLED(cfg->cancel->what);
		goto out;
	}
	{
		struct sm_exit how = { SM_EXIT_STATUS, 0 };
		struct sm_output o = { so.buf.buf, so.buf.len, so.total };
		struct sm_output e = { se.buf.buf, se.buf.len, se.total };
		if (timed_out)
			how = (struct sm_exit){ SM_EXIT_TIMEOUT, (int)timeout_s };
		else if (ch.lost)
			how = (struct sm_exit){ SM_EXIT_LOST, 0 };
		else if (WIFSIGNALED(ch.status))
			how = (struct sm_exit){ SM_EXIT_SIGNAL,
						WTERMSIG(ch.status) };
		else
			how = (struct sm_exit){ SM_EXIT_STATUS,
						WEXITSTATUS(ch.status) };
		log_debug("SM %s %s: done in %lld ms, stdout %zu bytes, "
			  "stderr %zu bytes", type, command,
			  sm_now_ms() - started, so.total, se.total);
		err = XBT_PROPAGATE(sm_decode(cfg, type, command, call, &how,
					      &o, &e, result));
	}
out:
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	if (ch.pidfd >= 0)
		close(ch.pidfd);
	sm_stream_close(&so);
	sm_stream_close(&se);
	xbt_buf_release(&path);
	xbt_buf_release(&xml);
	xbt_buf_release(&env_path);
	return err;
}
