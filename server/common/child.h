/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Starting the daemons' children (SM plugins, xbt-opsd) with posix_spawn:
 * never fork() in a threaded process.
 */
#ifndef XBT_CHILD_H
#define XBT_CHILD_H

#include <sys/types.h>

/*
 * Runs path with argv and envp. The child's stdin is fds[0] (-1:
 * /dev/null), its stdout and stderr fds[1] and fds[2] (-1: ours); it gets
 * no other descriptor, default signal dispositions (what we ignore, such
 * as SIGPIPE, is not inherited) and an empty signal mask. With
 * CHILD_OWN_GROUP it leads a process group of its own, so that killing the
 * group reaches the helpers it starts; with CHILD_OWN_SESSION a session
 * of its own, out of reach of our terminal's and group's signals (a
 * daemon that outlives us). 0 and *pid, or posix_spawn's error number.
 */
enum { CHILD_OWN_GROUP = 1, CHILD_OWN_SESSION = 2 };
int child_spawn(const char *path, char *const argv[], char *const envp[],
		const int fds[3], int flags, pid_t *pid);

/*
 * Reaping. Whoever spawned a child reaps it (waitpid on its pid) and then
 * calls child_forget. A daemon that is a subreaper (child_be_subreaper)
 * also gets the orphans of its dead descendants (the plugins of a killed
 * xbt-opsd, the helpers a plugin left): child_reap_orphans, called on
 * SIGCHLD and on the housekeeping tick, reaps those exited children that
 * it did not spawn (child_spawn, child_track), so that none stays a zombie
 * whatever the machine's init does.
 */
void child_track(pid_t pid);
/* The parent of a live process (/proc), or -1. */
pid_t child_parent_of(pid_t pid);
void child_forget(pid_t pid);
void child_be_subreaper(void);
void child_reap_orphans(void);

#endif
