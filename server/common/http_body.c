/* SPDX-License-Identifier: BSD-2-Clause */
/* Request bodies: framing, limits, draining (http_body.h). */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "http_body.h"

/* Longest chunk-size line of a chunked body we accept. */
#define HTTP_MAX_CHUNK_LINE 1024
/* The most of a refused body read (and dropped) before closing. */
#define HTTP_MAX_DRAIN (64u * 1024 * 1024)

/*
 * Up to max bytes of the request stream, waiting for more when none is
 * buffered. Never takes more than max, so bytes of a pipelined next
 * request stay with Abyss. false: the client closed, reset or timed out.
 */
static bool body_take(TSession *ses, size_t max, const char **p, size_t *n)
{
	bool ok = true;

	SessionGetReadData(ses, max, p, n);
	while (ok && *n == 0) {
		ok = SessionRefillBuffer(ses) && SessionReadDataAvail(ses) > 0;
		if (ok)
			SessionGetReadData(ses, max, p, n);
	}
	return ok;
}

/*
 * Reads and drops up to length bytes of a refused body, so closing the
 * connection does not reset it under the client before it has read the
 * answer (a close with unread data sends RST). Bounded by HTTP_MAX_DRAIN
 * and by Abyss's read timeout.
 */
void http_body_drain(TSession *ses, uint64_t length)
{
	uint64_t left = length < HTTP_MAX_DRAIN ? length : 0;

	while (left) {
		const char *p;
		size_t n;
		if (!body_take(ses, left > 65536 ? 65536 : (size_t)left, &p, &n))
			break;
		left -= n;
	}
}

enum body_result http_body_read_length(size_t max_body, TSession *ses,
				       uint64_t length, xbt_buf *body)
{
	enum body_result res = BODY_OK;

	if (length > max_body) {
		res = BODY_TOO_LARGE;
		goto out;
	}
	xbt_buf_grow(body, (size_t)length);
	while (body->len < length) {
		const char *p;
		size_t n;
		if (!body_take(ses, (size_t)length - body->len, &p, &n)) {
			res = BODY_LOST;
			break;
		}
		xbt_buf_add(body, p, n);
	}
out:
	return res;
}

/* One line of a chunked body (CRLF or LF stripped) into line. */
static enum body_result body_line(TSession *ses, xbt_buf *line)
{
	enum body_result res = BODY_OK;

	xbt_buf_reset(line);
	for (;;) {
		const char *p;
		size_t n;
		if (!body_take(ses, 1, &p, &n)) {
			res = BODY_LOST;
			break;
		}
		if (*p == '\n')
			break;
		if (line->len >= HTTP_MAX_CHUNK_LINE) {
			res = BODY_BAD;
			break;
		}
		xbt_buf_addch(line, *p);
	}
	if (line->len > 0 && line->buf[line->len - 1] == '\r')
		line->buf[--line->len] = '\0';
	return res;
}

/* A chunk-size line: hex digits, then optionally ";extension". */
static bool body_chunk_size(const char *line, uint64_t *size)
{
	uint64_t v = 0;
	const char *p = line;
	bool ok = true;

	for (; ok && isxdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(isdigit((unsigned char)*p) ? *p - '0' :
					tolower((unsigned char)*p) - 'a' + 10);
		ok = v <= (UINT64_MAX >> 4);
		v = (v << 4) | d;
	}
	ok = ok && p != line;
	while (*p == ' ' || *p == '\t')
		p++;
	ok = ok && (*p == '\0' || *p == ';');
	*size = v;
	return ok;
}

enum body_result http_body_read_chunked(size_t max_body, TSession *ses,
					xbt_buf *body)
{
	xbt_buf line = XBT_BUF_INIT;
	enum body_result res;

	for (;;) {
		uint64_t size;
		if ((res = body_line(ses, &line)) != BODY_OK)
			goto out;
		if (!body_chunk_size(line.buf, &size)) {
			res = BODY_BAD;
			goto out;
		}
		if (size == 0)
			break;
		if (size > max_body - body->len) {
			res = BODY_TOO_LARGE;
			goto out;
		}
		xbt_buf_grow(body, (size_t)size);
		while (size > 0) {
			const char *p;
			size_t n;
			if (!body_take(ses, (size_t)size, &p, &n)) {
				res = BODY_LOST;
				goto out;
			}
			xbt_buf_add(body, p, n);
			size -= n;
		}
		/* The CRLF that ends the chunk's data. */
		if ((res = body_line(ses, &line)) != BODY_OK)
			goto out;
		if (line.len != 0) {
			res = BODY_BAD;
			goto out;
		}
	}
	/* Trailer fields (ignored) up to the empty line. */
	do {
		if ((res = body_line(ses, &line)) != BODY_OK)
			goto out;
	} while (line.len != 0);
out:
	xbt_buf_release(&line);
	return res;
}

/* Strict decimal: digits only (blanks around), no sign, no overflow. */
bool http_parse_length(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *digits;
	bool ok = true;

	while (*s == ' ' || *s == '\t')
		s++;
	for (digits = s; ok && isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		ok = v <= (UINT64_MAX - d) / 10;
		v = v * 10 + d;
	}
	ok = ok && s != digits;
	while (*s == ' ' || *s == '\t')
		s++;
	*out = v;
	return ok && *s == '\0';
}

