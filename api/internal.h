/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to libxbt: not installed. */
#ifndef XBT_INTERNAL_H
#define XBT_INTERNAL_H

#include "xbt/backtrace.h"

/* Appends more's frames after bt's (in order), moving its strings; the
 * bounds are enforced once on the result. more is left empty. */
void xbt__backtrace_append(xbt_backtrace *bt, xbt_backtrace *more);

#endif
