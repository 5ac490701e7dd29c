/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The storage steps of the VM lifecycle (doc/opsd.md): start attaches then
 * activates each disk, undoing what it did when a step fails or the
 * operation is cancelled; shutdown deactivates then detaches, last disk
 * first. xbt-opsd runs them for xbtd; xbtd can run them itself
 * (--storage-in-process, for measuring the split). The runner tells its
 * caller of each step through hooks, so that opsd can record steps,
 * progress and what is attached (its state directory) as they happen.
 */
#ifndef XBT_VMOPS_H
#define XBT_VMOPS_H

#include <stdbool.h>
#include <stddef.h>

#include "sm.h"
#include "xbt/backtrace.h"
#include "xbt/xenops.h"

/* One disk: what its plugin calls need, and how far the VM has got. */
struct vmops_disk {
	struct xops_disk_record rec;
	bool attached;
	bool activated;
};

struct vmops_hooks {
	void *ctx;
	/* A plugin call begins or ends (state: an xops task state). */
	void (*step)(void *ctx, const char *name, int state);
	/* Share of the operation done, from 0 to 1. */
	void (*progress)(void *ctx, double done);
	/* A disk's attached or activated flag changed. */
	void (*changed)(void *ctx);
};

struct vmops {
	const struct sm_config *sm;  /* its cancel switch stops start and
				      * shutdown, never an undo step */
	const char *session_ref;     /* passed to the plugins */
	struct vmops_disk *disks;
	size_t ndisks;
	struct vmops_hooks hooks;    /* NULL members: not told */
	size_t steps_done;
};

/* Attaches and activates every disk in order; on failure undoes. */
xbt_error *vmops_start(struct vmops *op);
/*
 * Deactivates and detaches every disk that is up, last first. A clean one
 * stops at the first failure; a hard one logs it and goes on (but stops
 * when cancelled).
 */
xbt_error *vmops_shutdown(struct vmops *op, bool hard);
/*
 * Deactivates and detaches what is up, innermost first, and cannot be
 * cancelled; a failing step is logged and never replaces the error that
 * led here (the seed's `finally` lesson).
 */
void vmops_undo(struct vmops *op);

#endif
