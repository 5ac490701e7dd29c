/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbt/buf.h"

const char xbt_buf_empty[1];

void xbt_fatalx(const char *fmt, ...)
{
	va_list ap;

	fputs("xbt: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *xbt_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		xbt_fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *xbt_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		xbt_fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xbt_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		xbt_fatalx("out of memory (%zu bytes)", n);
	return q;
}

void *xbt_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		xbt_fatalx("allocation overflow (%zu x %zu)", n, size);
	return xbt_realloc(p, n * size);
}

char *xbt_strdup(const char *s)
{
	return xbt_strndup(s, strlen(s));
}

char *xbt_strndup(const char *s, size_t n)
{
	char *d;

	n = strnlen(s, n);
	d = xbt_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void xbt_buf_init(xbt_buf *b)
{
	b->buf = (char *)xbt_buf_empty;
	b->len = 0;
	b->alloc = 0;
}

void xbt_buf_release(xbt_buf *b)
{
	if (b->alloc)
		free(b->buf);
	xbt_buf_init(b);
}

void xbt_buf_reset(xbt_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

void xbt_buf_truncate(xbt_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->buf[len] = '\0';
}

void xbt_buf_grow(xbt_buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		xbt_fatalx("xbt_buf too large");
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	size_t alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	if (b->alloc) {
		b->buf = xbt_realloc(b->buf, alloc);
	} else {
		b->buf = xbt_malloc(alloc);
		b->buf[0] = '\0';
	}
	b->alloc = alloc;
}

void xbt_buf_add(xbt_buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	xbt_buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void xbt_buf_addstr(xbt_buf *b, const char *s)
{
	xbt_buf_add(b, s, strlen(s));
}

void xbt_buf_addch(xbt_buf *b, char c)
{
	xbt_buf_grow(b, 1);
	b->buf[b->len++] = c;
	b->buf[b->len] = '\0';
}

void xbt_buf_vaddf(xbt_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	xbt_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		xbt_fatalx("vsnprintf failed on \"%s\"", fmt);
	if ((size_t)n >= b->alloc - b->len) {
		xbt_buf_grow(b, (size_t)n);
		n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void xbt_buf_addf(xbt_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xbt_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *xbt_buf_detach(xbt_buf *b, size_t *len_out)
{
	char *s;

	if (len_out)
		*len_out = b->len;
	s = b->alloc ? b->buf : xbt_strdup("");
	xbt_buf_init(b);
	return s;
}

bool xbt_buf_read_file(xbt_buf *b, const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t got, start = b->len;
	bool ok = false;
	int saved;

	if (!f)
		return false;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
	       b->len - start <= max)
		xbt_buf_add(b, chunk, got);
	if (b->len - start > max)
		errno = EFBIG;
	else if (!ferror(f))
		ok = true;
	saved = errno;
	fclose(f);
	errno = saved;
	return ok;
}
