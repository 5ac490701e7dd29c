/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sweeper: a child of opsd, forked before any thread exists, that
 * reads the plugin process groups the SM runner announces on a pipe
 * ("+<pgid>" when one starts, "-<pgid>" once its leader is reaped) and,
 * when the pipe closes because opsd ended (a SIGKILL included), kills
 * every group that still has a member. A plugin leads its own group so
 * that a timeout reaches its helpers; without the sweeper that same group
 * would outlive an opsd killed in the middle of a call.
 *
 * A group whose leader was reaped is kept while members remain (a helper
 * the plugin left running) and dropped once kill(-pgid, 0) finds none, so
 * that a recycled number is not signalled.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "opsd.h"

#define SWEEPER_FD 3

static pid_t sweeper_pid = -1;
static int sweeper_fd = -1;

struct sweep_group {
	pid_t pgid;
	bool lingering;  /* leader reaped; members may remain */
};

/* Drops the lingering groups that have no member left. */
static void sweep_prune(struct sweep_group *g, size_t *n)
{
	for (size_t i = 0; i < *n;) {
		if (g[i].lingering && kill(-g[i].pgid, 0) != 0 &&
		    errno == ESRCH)
			g[i] = g[--*n];
		else
			i++;
	}
}

static void sweep_line(const char *line, struct sweep_group **g, size_t *n,
		       size_t *alloc)
{
	long v = strtol(line + 1, NULL, 10);
	pid_t pgid = (pid_t)v;

	if (v <= 1 || (line[0] != '+' && line[0] != '-'))
		return;
	if (line[0] == '+') {
		if (*n == *alloc) {
			*alloc = *alloc ? 2 * *alloc : 64;
			*g = realloc(*g, *alloc * sizeof(**g));
			if (!*g)
				_exit(1);
		}
		(*g)[(*n)++] = (struct sweep_group){ pgid, false };
	} else {
		for (size_t i = 0; i < *n; i++)
			if ((*g)[i].pgid == pgid)
				(*g)[i].lingering = true;
	}
}

/* The sweeper's life: single-threaded, no locks, only what it needs. */
static void sweep_main(void)
{
	struct sweep_group *g = NULL;
	size_t n = 0, alloc = 0, len = 0;
	char buf[4096];

	prctl(PR_SET_NAME, "xbt-opsd-sweep");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		ssize_t r = read(SWEEPER_FD, buf + len, sizeof(buf) - 1 - len);
		char *start = buf, *nl;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			sweep_line(start, &g, &n, &alloc);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1)
			len = 0; /* no line is that long */
		sweep_prune(g, &n);
	}
	for (size_t i = 0; i < n; i++)
		kill(-g[i].pgid, SIGKILL);
	_exit(0);
}

void opsd_sweeper_start(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		xbt_fatalx("sweeper: pipe: %s", strerror(errno));
	sweeper_pid = fork();
	if (sweeper_pid < 0)
		xbt_fatalx("sweeper: fork: %s", strerror(errno));
	if (sweeper_pid == 0) {
		/* Only the pipe stays open: no socket, no lock, no stdio. */
		if (dup2(p[0], SWEEPER_FD) != SWEEPER_FD)
			_exit(1);
		for (int fd = 0; fd < 3; fd++)
			if (fd != 2)
				close(fd);
		close_range(SWEEPER_FD + 1, ~0U, 0);
		sweep_main();
	}
	child_track(sweeper_pid);
	close(p[0]);
	sweeper_fd = p[1];
	sm_set_group_watch(sweeper_fd);
}

void opsd_sweeper_stop(void)
{
	if (sweeper_pid <= 0)
		return;
	sm_set_group_watch(-1);
	close(sweeper_fd);
	sweeper_fd = -1;
	while (waitpid(sweeper_pid, NULL, 0) < 0 && errno == EINTR)
		;
	child_forget(sweeper_pid);
	sweeper_pid = -1;
}
