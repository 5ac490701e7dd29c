/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbtd's xbt-opsd, the process (doc/opsd.md, "Processes"). opsd lives in a
 * state directory (--opsd-dir) whose socket xbtd connects to. At start-up
 * xbtd adopts the opsd already serving there, else starts one in a session
 * of its own, so that it survives xbtd; then it resyncs (ops.c). The
 * housekeeping loop watches it: one that died is started again, after a
 * delay of 2, 4, 8, 16, then 30 s while it keeps dying, then
 * resynced. On shutdown xbtd stops the opsd it started (also before a
 * restart in a new pool role, which keeps the pid) and leaves alone one it
 * adopted or was given (--opsd-socket). With --storage-in-process
 * there is no opsd at all: every entry point here does nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "xbtd.h"

#define PROC_READY_TIMEOUT_MS 10000  /* opsd's "listening" line */
#define PROC_STOP_TIMEOUT_MS 10000   /* SIGKILL after */
#define PROC_READY_LINE "xbt-opsd listening on "
#define PROC_BACKOFF_MAX_S 30
#define PROC_STABLE_S 60             /* up this long: the delay resets */

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static char proc_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char proc_url[sizeof(proc_socket) + 8];
static bool proc_external;       /* --opsd-socket: never ours to run */
static pid_t proc_pid = -1;      /* the opsd we started, while it runs */
static bool proc_adopted;        /* one we found serving */
static int64_t proc_started_at;
static int64_t proc_next_try;    /* no start before this */
static unsigned proc_backoff_s = 1;
static bool proc_resync_due;
static bool proc_was_up;         /* at the last look */

const char *ops_socket_path(void)
{
	return proc_socket;
}

const char *ops_url(void)
{
	return proc_url;
}

static xbt_error *proc_fail_at(const char *file, int line, const char *func,
			       const char *what, int errnum)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "xbt-opsd: %s%s%s", what,
		 errnum ? ": " : "", errnum ? strerror(errnum) : "");
	return xbt_error_raise(file, line, func, XBT_ERR_INTERNAL_ERROR, msg,
			       (const char *)NULL);
}

#define proc_fail(what, errnum) proc_fail_at(XBT_HERE, (what), (errnum))

/* Whether something accepts connections on the socket. */
static bool proc_probe(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	memcpy(sun.sun_path, proc_socket, strlen(proc_socket) + 1);
	live = fd >= 0 &&
	       connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	return live;
}

/*
 * The pid of the opsd serving on the socket when it is our own child: one
 * this process started before it restarted itself in a new pool role
 * (execv keeps the pid, so the child stays ours to stop). Else -1.
 */
static pid_t proc_own_child(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid = -1;

	memcpy(sun.sun_path, proc_socket, strlen(proc_socket) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    cred.pid > 0 && child_parent_of(cred.pid) == getpid())
		pid = cred.pid;
	if (fd >= 0)
		close(fd);
	return pid;
}

/* Reads opsd's stdout until its ready line; false on EOF or timeout. */
static bool proc_wait_ready(int fd)
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
		left = PROC_READY_TIMEOUT_MS -
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
		if (strstr(buf, PROC_READY_LINE) && strchr(buf, '\n'))
			return true;
	}
}

/* Under proc_lock: runs xbt-opsd in a session of its own, waits for it. */
static xbt_error *proc_spawn(int64_t now)
{
	char timeout[16];
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	char *argv[] = {
		(char *)xbtd_conf.opsd_path,
		(char *)"--state-dir", (char *)xbtd_conf.opsd_dir,
		(char *)"--hostname", xbtd_conf.hostname,
		(char *)"--sm-dir", (char *)xbtd_conf.sm_dir,
		(char *)"--plugin-timeout", timeout,
		(char *)"--log-level",
		(char *)levels[xbtd_conf.log_level >= 0 &&
			       xbtd_conf.log_level < 4 ? xbtd_conf.log_level : 2],
		xbtd_conf.syslog ? (char *)"--syslog" : NULL, NULL, NULL, NULL
	};
	extern char **environ;
	int out[2] = { -1, -1 };
	xbt_error *err = NULL;
	int rc;

	snprintf(timeout, sizeof(timeout), "%u", xbtd_conf.plugin_timeout_s);
	if (xbtd_conf.log_file) { /* after --syslog, or in its place */
		size_t n = xbtd_conf.syslog ? 12 : 11;
		argv[n] = (char *)"--log-file";
		argv[n + 1] = (char *)xbtd_conf.log_file;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		err = proc_fail("pipe", errno);
		goto out;
	}
	{
		const int fds[3] = { -1, out[1], -1 };
		rc = child_spawn(xbtd_conf.opsd_path, argv, environ, fds,
				 CHILD_OWN_SESSION, &proc_pid);
	}
	if (rc != 0) {
		proc_pid = -1;
		err = proc_fail(xbtd_conf.opsd_path, rc);
		goto out;
	}
	close(out[1]);
	out[1] = -1;
	if (!proc_wait_ready(out[0])) {
		err = proc_fail("did not start (see its log above)", 0);
		kill(proc_pid, SIGKILL);
		waitpid(proc_pid, NULL, 0);
		child_forget(proc_pid);
		proc_pid = -1;
		goto out;
	}
	proc_started_at = now;
	log_info("xbt-opsd running as pid %d on %s", (int)proc_pid,
		 proc_socket);
out:
	for (int i = 0; i < 2; i++)
		if (out[i] >= 0)
			close(out[i]);
	return err;
}

/*
 * Under proc_lock: an opsd of ours is gone, dead or never ready; the next
 * start waits. The first restart is at once; a crash loop slows down.
 */
static void proc_backoff(int64_t now)
{
	if (now - proc_started_at >= PROC_STABLE_S)
		proc_backoff_s = 1;
	proc_next_try = now + (proc_backoff_s > 1 ? proc_backoff_s : 0);
	proc_backoff_s = proc_backoff_s * 2 < PROC_BACKOFF_MAX_S
		? proc_backoff_s * 2 : PROC_BACKOFF_MAX_S;
}

/* Under proc_lock: notes a death of ours; the next start waits. */
static void proc_reap(int64_t now)
{
	int status;

	if (proc_pid <= 0 || waitpid(proc_pid, &status, WNOHANG) != proc_pid)
		return;
	child_forget(proc_pid);
	log_warn("xbt-opsd (pid %d) ended: %s %d", (int)proc_pid,
		 WIFSIGNALED(status) ? "signal" : "status",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	proc_pid = -1;
	proc_backoff(now);
}

/*
 * Under proc_lock: makes sure an opsd serves, if it is ours to run and the
 * delay allows; true when one was started or adopted just now (resync).
 */
static bool proc_ensure(int64_t now, xbt_error **err)
{
	bool fresh = false;

	*err = NULL;
	if (proc_external) {
		/* Not ours to run: a comeback is resynced all the same. */
		bool up = proc_probe();
		fresh = up && !proc_was_up;
		proc_was_up = up;
		return fresh; /* a call to one that is down says why */
	}
	proc_reap(now);
	if (proc_pid > 0)
		return false;
	if (proc_adopted && proc_probe())
		return false;
	if (proc_adopted) {
		log_warn("the adopted xbt-opsd on %s is gone", proc_socket);
		proc_adopted = false;
	}
	if ((proc_pid = proc_own_child()) > 0) {
		log_info("keeping the xbt-opsd (pid %d) started before the "
			 "restart", (int)proc_pid);
		child_track(proc_pid);
		proc_started_at = now;
		fresh = true;
	} else if (proc_probe()) {
		/* Left by an xbtd before us, or started by hand. */
		log_info("adopting the xbt-opsd serving on %s", proc_socket);
		proc_adopted = true;
		fresh = true;
	} else if (now >= proc_next_try) {
		*err = XBT_PROPAGATE(proc_spawn(now));
		fresh = !*err;
		if (*err) {
			/* One that exits at once (its state directory held, a
			 * bad binary) is a crash loop too: without this, the
			 * SIGCHLD of each failure woke the loop to start the
			 * next one at once. */
			proc_started_at = now;
			proc_backoff(now);
			log_warn("xbt-opsd did not start; next try in %lld s",
				 (long long)(proc_next_try - now));
		}
	} else {
		*err = proc_fail("down, starting it again soon", 0);
	}
	return fresh;
}

/*
 * mkdir -p for the directory's parents (opsd makes the last one, 0700).
 * The parent itself must be ours and no symlink: under a shared /dev/shm
 * someone else could have made it first.
 */
static xbt_error *proc_make_parents(const char *dir)
{
	char path[OPS_DIR_MAX + 1];
	struct stat st;
	char *last;
	xbt_error *err = NULL;

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; (p = strchr(p, '/')) && !err; p++) {
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			err = proc_fail("cannot make the state directory's "
					"parent", errno);
		*p = '/';
	}
	last = strrchr(path, '/');
	if (!err && last && last != path) {
		*last = '\0';
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != geteuid())
			err = proc_fail("the state directory's parent is not a "
					"directory of ours", 0);
	}
	return err;
}

xbt_error *ops_start(void)
{
	xbt_error *err = NULL;
	int64_t now = now_seconds();

	if (xbtd_conf.storage_in_process)
		return NULL; /* no opsd to run, adopt or resync (vm_local.c) */
	pthread_mutex_lock(&proc_lock);
	proc_external = xbtd_conf.opsd_socket != NULL;
	if (proc_external)
		snprintf(proc_socket, sizeof(proc_socket), "%s",
			 xbtd_conf.opsd_socket);
	else if (strlen(xbtd_conf.opsd_dir) + sizeof("/opsd.sock") >
		 sizeof(proc_socket))
		err = proc_fail("the state directory's path is too long for "
				"its socket (--opsd-dir)", 0);
	else
		snprintf(proc_socket, sizeof(proc_socket), "%s/opsd.sock",
			 xbtd_conf.opsd_dir);
	snprintf(proc_url, sizeof(proc_url), "unix:%s", proc_socket);
	if (!err && !proc_external)
		err = XBT_PROPAGATE(proc_make_parents(xbtd_conf.opsd_dir));
	if (!err && !proc_external) {
		proc_ensure(now, &err);
	} else if (!err && !proc_ensure(now, &err)) {
		/* One that is not up yet is resynced when it comes. */
		log_warn("xbt-opsd: nothing serves on %s yet", proc_socket);
	}
	pthread_mutex_unlock(&proc_lock);
	if (!err && (!proc_external || proc_was_up))
		ops_resync();
	return err;
}

xbt_error *ops_ensure(void)
{
	xbt_error *err = NULL;
	bool fresh;

	if (xbtd_conf.storage_in_process)
		return proc_fail("not run (--storage-in-process)", 0);
	pthread_mutex_lock(&proc_lock);
	fresh = proc_ensure(now_seconds(), &err);
	if (fresh)
		proc_resync_due = true;
	pthread_mutex_unlock(&proc_lock);
	return err;
}

void ops_supervise(int64_t now)
{
	xbt_error *err = NULL;
	bool resync;

	if (xbtd_conf.storage_in_process)
		return;
	pthread_mutex_lock(&proc_lock);
	if (proc_ensure(now, &err))
		proc_resync_due = true;
	resync = proc_resync_due && !err;
	proc_resync_due = proc_resync_due && !resync;
	pthread_mutex_unlock(&proc_lock);
	xbt_error_free(err);
	if (resync)
		ops_resync();
}

void ops_signal_own(int sig)
{
	pthread_mutex_lock(&proc_lock);
	if (proc_pid > 0)
		kill(proc_pid, sig);
	pthread_mutex_unlock(&proc_lock);
}

void ops_stop(void)
{
	ops_pool_drain();
	if (xbtd_conf.storage_in_process)
		return;
	pthread_mutex_lock(&proc_lock);
	if (proc_pid > 0) {
		int waited = 0;
		kill(proc_pid, SIGTERM);
		while (waitpid(proc_pid, NULL, WNOHANG) == 0) {
			if (waited >= PROC_STOP_TIMEOUT_MS) {
				kill(proc_pid, SIGKILL);
				waitpid(proc_pid, NULL, 0);
				break;
			}
			usleep(10000);
			waited += 10;
		}
		child_forget(proc_pid);
		proc_pid = -1;
	}
	pthread_mutex_unlock(&proc_lock);
}
