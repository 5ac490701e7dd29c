/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the parts of the SMAPIv1 runner: the call, the decoder, the runner. */
#ifndef XBT_SM_PRIV_H
#define XBT_SM_PRIV_H

#include "sm.h"

#ifndef XBT_SM_DIR
#define XBT_SM_DIR "/usr/local/libexec/xbt/sm"
#endif

/* The caps of cfg, or their defaults. */
size_t sm_out_cap(const struct sm_config *cfg);
size_t sm_param_cap(const struct sm_config *cfg);
/* [A-Za-z0-9_]{1,64}, plus '.' when dot: safe in paths and error codes. */
bool sm_name_ok(const char *s, size_t len, bool dot);

#endif
