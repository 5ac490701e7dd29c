/* SPDX-License-Identifier: BSD-2-Clause */
/* Starting children with posix_spawn (child.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "xbt/backtrace.h"

/* The children this process spawned and has not reaped yet. */
static pthread_mutex_t child_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *child_pids;
static size_t child_n, child_alloc;

/* Under child_lock. */
static void child_add(pid_t pid)
{
	if (child_n == child_alloc) {
		child_alloc = child_alloc ? 2 * child_alloc : 32;
		child_pids = xbt_realloc(child_pids,
					 child_alloc * sizeof(*child_pids));
	}
	child_pids[child_n++] = pid;
}

/* Under child_lock. */
static bool child_ours(pid_t pid)
{
	for (size_t i = 0; i < child_n; i++)
		if (child_pids[i] == pid)
			return true;
	return false;
}

pid_t child_parent_of(pid_t pid)
{
	char path[64], buf[512];
	const char *close_paren;
	long ppid = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parens. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %ld", &ppid) != 1)
		ppid = -1;
	return (pid_t)ppid;
}

void child_track(pid_t pid)
{
	pthread_mutex_lock(&child_lock);
	child_add(pid);
	pthread_mutex_unlock(&child_lock);
}

void child_forget(pid_t pid)
{
	pthread_mutex_lock(&child_lock);
	for (size_t i = 0; i < child_n; i++)
		if (child_pids[i] == pid) {
			child_pids[i] = child_pids[--child_n];
			break;
		}
	pthread_mutex_unlock(&child_lock);
}

void child_be_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		log_warn("cannot become a subreaper: %s", strerror(errno));
}

/*
 * waitid(WNOWAIT) shows one waitable child without reaping it: an orphan
 * is reaped and the next looked at; one of ours ends the look, as its
 * spawner reaps it soon and the next call (the next SIGCHLD or tick) sees
 * past it. A few system calls, whatever the machine runs.
 */
void child_reap_orphans(void)
{
	pthread_mutex_lock(&child_lock);
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
		    si.si_pid == 0 || child_ours(si.si_pid))
			break;
		if (waitpid(si.si_pid, NULL, WNOHANG) == si.si_pid)
			log_debug("reaped orphan %d", (int)si.si_pid);
	}
	pthread_mutex_unlock(&child_lock);
}

int child_spawn(const char *path, char *const argv[], char *const envp[],
		const int fds[3], int flags, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	short spawn_flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	int rc;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (fds[0] >= 0)
		posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	for (int i = 1; i < 3; i++)
		if (fds[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	if (flags & CHILD_OWN_SESSION) {
		spawn_flags |= POSIX_SPAWN_SETSID;
	} else if (flags & CHILD_OWN_GROUP) {
		posix_spawnattr_setpgroup(&attr, 0);
		spawn_flags |= POSIX_SPAWN_SETPGROUP;
	}
	posix_spawnattr_setflags(&attr, spawn_flags);
	/* Tracked before the orphan reaper can see it exit. */
	pthread_mutex_lock(&child_lock);
	rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
	if (rc == 0)
		child_add(*pid);
	pthread_mutex_unlock(&child_lock);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}
