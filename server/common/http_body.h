/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Request bodies on Abyss's sessions (http_body.c): Content-Length and
 * chunked framing, the size limit, and draining a refused body.
 */
#ifndef XBT_HTTP_BODY_H
#define XBT_HTTP_BODY_H

#include <stdbool.h>
#include <stdint.h>

#include <xmlrpc-c/abyss.h>

#include "xbt/buf.h"

enum body_result { BODY_OK, BODY_TOO_LARGE, BODY_BAD, BODY_LOST };

/* A body of length bytes (over max_body: BODY_TOO_LARGE, nothing read). */
enum body_result http_body_read_length(size_t max_body, TSession *ses,
				       uint64_t length, xbt_buf *body);
/* A chunked body, its trailer read and ignored. */
enum body_result http_body_read_chunked(size_t max_body, TSession *ses,
					xbt_buf *body);
/* Reads and drops what the client still sends of a refused body. */
void http_body_drain(TSession *ses, uint64_t length);
/* A Content-Length value: digits only (blanks around), no overflow. */
bool http_parse_length(const char *s, uint64_t *out);

#endif
