/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xbt_buf: a growable, always NUL-terminated byte buffer (the one string
 * builder used everywhere in xbt), plus the text-safety rule of doc/design.md.
 *
 * Allocation failure is treated as an impossible state: xbt_fatalx() aborts.
 */
#ifndef XBT_BUF_H
#define XBT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xbt_buf {
	char *buf;    /* always NUL-terminated; never NULL after init */
	size_t len;   /* bytes used, excluding the NUL */
	size_t alloc; /* bytes allocated; 0 while buf points at a static "" */
} xbt_buf;

#define XBT_BUF_INIT { (char *)xbt_buf_empty, 0, 0 }
extern const char xbt_buf_empty[1];

void xbt_buf_init(xbt_buf *b);
void xbt_buf_release(xbt_buf *b);           /* frees; b is reusable after init */
void xbt_buf_reset(xbt_buf *b);             /* len = 0, keeps memory */
void xbt_buf_truncate(xbt_buf *b, size_t len); /* to len, if shorter */
void xbt_buf_grow(xbt_buf *b, size_t extra);
void xbt_buf_add(xbt_buf *b, const void *data, size_t len);
void xbt_buf_addstr(xbt_buf *b, const char *s);
void xbt_buf_addch(xbt_buf *b, char c);
void xbt_buf_addf(xbt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xbt_buf_vaddf(xbt_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/*
 * Appends the whole file at path to b. false with errno set when it cannot
 * be read, or EFBIG when it holds more than max bytes (b then holds what
 * was read).
 */
bool xbt_buf_read_file(xbt_buf *b, const char *path, size_t max);
/* Returns the string (caller frees with free()) and re-inits b. */
char *xbt_buf_detach(xbt_buf *b, size_t *len_out);

/*
 * Text safety (doc/design.md, "Text"): appends s[0..len) to b with every byte
 * that is not part of valid UTF-8 (or is U+FFFE/U+FFFF), every control byte
 * other than TAB, LF and CR, and NUL written as the four characters \xNN.
 * The result is always valid UTF-8 that XML 1.0 can carry.
 */
void xbt_buf_add_safe(xbt_buf *b, const char *s, size_t len);
/* true when s[0..len) would pass xbt_buf_add_safe unchanged. */
bool xbt_text_is_safe(const char *s, size_t len);
/* Returns a safe copy of s[0..len) (caller frees). */
char *xbt_text_safe_dup(const char *s, size_t len);
/* Appends code point cp (at most U+10FFFF) as UTF-8. */
void xbt_buf_add_utf8(xbt_buf *b, uint32_t cp);

/* Allocation helpers that never return NULL (abort on exhaustion). */
void *xbt_malloc(size_t n);
void *xbt_calloc(size_t n, size_t size);
void *xbt_realloc(void *p, size_t n);
void *xbt_reallocarray(void *p, size_t n, size_t size);
char *xbt_strdup(const char *s);
char *xbt_strndup(const char *s, size_t n);

/* Broken invariant or exhausted memory: print and abort. */
void xbt_fatalx(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif
