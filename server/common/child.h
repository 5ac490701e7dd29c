/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Starting the daemons' children (SM plugins, xbt-opsd) with posix_spawn:
 * never fork() in a threaded process.
 */
#ifndef XBT_CHILD_H
#define XBT_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Runs path with argv and envp. The child's stdin is fds[0] (-1:
 * /dev/null), its stdout and stderr fds[1] and fds[2] (-1: ours); it gets
 * no other descriptor, default signal dispositions (what we ignore, such
 * as SIGPIPE, is not inherited) and an empty signal mask; with own_group
 * it leads a process group of its own, so that killing the group reaches
 * the helpers it starts. 0 and *pid, or posix_spawn's error number.
 */
int child_spawn(const char *path, char *const argv[], char *const envp[],
		const int fds[3], bool own_group, pid_t *pid);

#endif
