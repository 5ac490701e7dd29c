/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the libxbt backtrace core: xbt_buf, text safety, frames and
 * bounds, the error idiom, the sexplib wire form (writer and reader), the
 * human form and the Python JSON interop.
 *
 * Written from the contract (api/xbt/buf.h, api/xbt/backtrace.h and
 * doc/design.md, "Errors" and "Backtraces"), not from the code, so
 * that they catch the code's mistakes. Expected bytes are spelled out.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"

/* -fmacro-prefix-map makes __FILE__ read so in any build directory. */
#define THIS_FILE "tests/check_core.c"
#define PROC "xbtd @ h1"
#define SEXP_ERR "backtrace s-expression: "
#define PYJSON_ERR "python backtrace: "

/* ---- helpers -------------------------------------------------------------- */

/* xorshift64*: our own fixed-seed PRNG, so every run sees the same cases. */
static uint64_t rng_state = 1;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(uint32_t n)
{
	return (uint32_t)((rng_next() >> 16) % n);
}

/* Printable rendering of bytes for failure messages (rotating slots). */
static const char *vis(const char *s, size_t len)
{
	static char slots[8][700];
	static unsigned slot;
	char *o = slots[slot++ % 8];
	size_t j = 0, i;

	if (!s)
		return "(null)";
	for (i = 0; i < len && j < sizeof(slots[0]) - 12; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			o[j++] = '\\';
			o[j++] = '\\';
		} else if (c >= 32 && c < 127) {
			o[j++] = (char)c;
		} else {
			j += (size_t)snprintf(o + j, 6, "\\x%02x", c);
		}
	}
	if (i < len) {
		memcpy(o + j, "...", 3);
		j += 3;
	}
	o[j] = '\0';
	return o;
}

static const char *viss(const char *s)
{
	return s ? vis(s, strlen(s)) : "(null)";
}

/* Failures of table-driven tests are collected, then reported together. */
static char fail_log[3500];
static size_t fail_len;
static int nfail;

static void fails_reset(void)
{
	fail_len = 0;
	fail_log[0] = '\0';
	nfail = 0;
}

static void note_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void note_fail(const char *fmt, ...)
{
	size_t room = sizeof(fail_log) - fail_len;
	va_list ap;
	int n;

	nfail++;
	if (room < 4)
		return;
	va_start(ap, fmt);
	n = vsnprintf(fail_log + fail_len, room - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fail_len += (size_t)n < room - 2 ? (size_t)n : room - 2;
	fail_log[fail_len++] = '\n';
	fail_log[fail_len] = '\0';
}

#define CHECK_NO_FAILS() \
	ck_assert_msg(nfail == 0, "%d case(s) failed:\n%s", nfail, fail_log)

static void expect_bytes_at(int at, const char *what, const char *got,
			    size_t glen, const char *exp, size_t elen)
{
	if (glen != elen || memcmp(got, exp, elen) != 0)
		ck_abort_msg("line %d: %s:\n expected \"%s\" (%zu bytes)\n"
			     " got      \"%s\" (%zu bytes)", at, what,
			     vis(exp, elen), elen, vis(got, glen), glen);
}

#define EXPECT_BUF(what, b, exp) \
	expect_bytes_at(__LINE__, (what), (b)->buf, (b)->len, (exp), strlen(exp))
#define EXPECT_STR(what, got, exp) \
	expect_bytes_at(__LINE__, (what), (got), strlen(got), (exp), strlen(exp))

static xbt_frame mkframe(const char *process, const char *filename, int line,
			 int cs, int ce, const char *name, bool is_inline,
			 bool is_raise)
{
	xbt_frame f;

	memset(&f, 0, sizeof(f));
	f.process = process;
	f.filename = filename;
	f.line = line;
	f.chars_start = cs;
	f.chars_end = ce;
	f.name = name;
	f.is_inline = is_inline;
	f.is_raise = is_raise;
	return f;
}

static bool str_eq_opt(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool frame_same(const xbt_frame *a, const xbt_frame *b)
{
	return str_eq_opt(a->process, b->process) &&
	       str_eq_opt(a->filename, b->filename) && a->line == b->line &&
	       a->chars_start == b->chars_start &&
	       a->chars_end == b->chars_end && str_eq_opt(a->name, b->name) &&
	       a->is_inline == b->is_inline && a->is_raise == b->is_raise &&
	       a->elided == b->elided;
}

static const char *frame_str(const xbt_frame *f)
{
	static char slots[2][1400];
	static unsigned slot;
	char *o = slots[slot++ % 2];

	snprintf(o, sizeof(slots[0]),
		 "{process=\"%s\" filename=\"%s\" line=%d chars=%d-%d "
		 "name=%s%s%s inline=%d raise=%d elided=%zu}",
		 viss(f->process), viss(f->filename), f->line, f->chars_start,
		 f->chars_end, f->name ? "\"" : "", viss(f->name),
		 f->name ? "\"" : "", f->is_inline, f->is_raise, f->elided);
	return o;
}

static void assert_frame_at(int at, const xbt_frame *f, const char *process,
			    const char *filename, int line, int cs, int ce,
			    const char *name, bool is_inline, bool is_raise)
{
	xbt_frame want = mkframe(process, filename, line, cs, ce, name,
				 is_inline, is_raise);

	if (!frame_same(f, &want))
		ck_abort_msg("line %d: frame:\n expected %s\n got      %s", at,
			     frame_str(&want), frame_str(f));
}

#define ASSERT_FRAME(f, proc, file, line, cs, ce, name, inl, raise) \
	assert_frame_at(__LINE__, (f), (proc), (file), (line), (cs), (ce), \
			(name), (inl), (raise))

/* A local frame as XBT_RAISE / XBT_PROPAGATE record it. */
#define ASSERT_HERE(f, line, func, raise) \
	ASSERT_FRAME((f), PROC, THIS_FILE, (line), 0, 0, (func), false, (raise))

/* NULL when e is INTERNAL_ERROR [prefix + reason], else what is wrong. */
static const char *bad_internal_error(const xbt_error *e, const char *prefix)
{
	static char why[900];

	if (!e)
		return "expected an error, got success";
	if (!e->code || strcmp(e->code, "INTERNAL_ERROR") != 0 ||
	    e->nparams != 1 || !e->params || !e->params[0] ||
	    strncmp(e->params[0], prefix, strlen(prefix)) != 0 ||
	    strlen(e->params[0]) == strlen(prefix)) {
		snprintf(why, sizeof(why),
			 "expected INTERNAL_ERROR [\"%s<why>\"], got %s "
			 "(%zu params) [\"%s\"]", prefix, viss(e->code),
			 e->nparams, e->nparams ? viss(e->params[0]) : "");
		return why;
	}
	return NULL;
}

static void assert_internal_error_at(int at, const xbt_error *e,
				     const char *prefix)
{
	const char *why = bad_internal_error(e, prefix);

	if (why)
		ck_abort_msg("line %d: %s", at, why);
}

#define ASSERT_INTERNAL_ERROR(e, prefix) \
	assert_internal_error_at(__LINE__, (e), (prefix))

static char *sexp_of(const xbt_backtrace *bt, size_t *len)
{
	xbt_buf b = XBT_BUF_INIT;
	size_t dummy;

	xbt_backtrace_to_sexp(bt, &b);
	return xbt_buf_detach(&b, len ? len : &dummy);
}

static char *human_of(const xbt_backtrace *bt)
{
	xbt_buf b = XBT_BUF_INIT;
	size_t len;

	xbt_backtrace_to_human(bt, &b);
	return xbt_buf_detach(&b, &len);
}

/* Exact-size heap copy without a terminator: ASan sees any over-read. */
static char *exact_copy(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	return p;
}

static size_t bt_cost_sum(const xbt_backtrace *bt)
{
	size_t sum = 0;

	for (size_t i = 0; i < bt->n; i++)
		sum += xbt_frame_cost(&bt->frames[i]);
	return sum;
}

/* The frame the "outputs untouched" checks preload into *out. */
static const xbt_frame pre_frame = {
	"pre @ h0", "pre.c", 99, 1, 2, "pre_fn", true, true, 0
};

static void preload(xbt_backtrace *bt)
{
	xbt_backtrace_init(bt);
	xbt_backtrace_push(bt, &pre_frame);
}

static bool still_preloaded(const xbt_backtrace *bt, size_t bytes)
{
	return bt->n == 1 && frame_same(&bt->frames[0], &pre_frame) &&
	       bt->bytes == bytes;
}

static void setup(void)
{
	xbt_set_process("xbtd", "h1");
	xbt_set_limits(XBT_DEFAULT_MAX_FRAMES, XBT_DEFAULT_MAX_BYTES);
	fails_reset();
}

static void teardown(void)
{
	xbt_set_limits(XBT_DEFAULT_MAX_FRAMES, XBT_DEFAULT_MAX_BYTES);
}

/* ---- xbt_buf -------------------------------------------------------------- */

START_TEST(test_buf_init)
{
	xbt_buf a = XBT_BUF_INIT;
	xbt_buf b;

	ck_assert_ptr_eq(a.buf, xbt_buf_empty);
	ck_assert_uint_eq(a.len, 0);
	ck_assert_uint_eq(a.alloc, 0);
	ck_assert_int_eq(a.buf[0], '\0');
	memset(&b, 0xa5, sizeof(b));
	xbt_buf_init(&b);
	ck_assert_ptr_nonnull(b.buf);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(b.buf[0], '\0');
	if (b.alloc == 0)
		ck_assert_ptr_eq(b.buf, xbt_buf_empty);
	/* Releasing a buffer that never grew must not free the static "". */
	xbt_buf_release(&a);
	xbt_buf_release(&b);
	ck_assert_int_eq(xbt_buf_empty[0], '\0');
}
END_TEST

START_TEST(test_buf_add)
{
	xbt_buf b = XBT_BUF_INIT;
	char *before;

	xbt_buf_add(&b, "abc", 3);
	xbt_buf_addstr(&b, "def");
	xbt_buf_addch(&b, 'g');
	xbt_buf_add(&b, "x\0y", 3);
	xbt_buf_add(&b, "zzz", 0);
	xbt_buf_addstr(&b, "");
	expect_bytes_at(__LINE__, "add", b.buf, b.len, "abcdefgx\0y", 10);
	ck_assert_int_eq(b.buf[b.len], '\0');
	ck_assert_uint_gt(b.alloc, b.len);

	xbt_buf_grow(&b, 5000);
	ck_assert_uint_ge(b.alloc, b.len + 5000 + 1);
	expect_bytes_at(__LINE__, "grow keeps", b.buf, b.len, "abcdefgx\0y", 10);

	before = b.buf;
	xbt_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(b.buf[0], '\0');
	ck_assert_ptr_eq(b.buf, before);
	ck_assert_uint_ge(b.alloc, 5011);

	/* Many small appends across several growths. */
	for (int i = 0; i < 100000; i++)
		xbt_buf_addch(&b, (char)('a' + i % 26));
	ck_assert_uint_eq(b.len, 100000);
	for (int i = 0; i < 100000; i++)
		if (b.buf[i] != (char)('a' + i % 26))
			ck_abort_msg("byte %d is %d", i, b.buf[i]);
	ck_assert_int_eq(b.buf[100000], '\0');
	xbt_buf_release(&b);

	/* Reusable after release + init. */
	xbt_buf_init(&b);
	xbt_buf_addstr(&b, "again");
	EXPECT_BUF("reuse", &b, "again");
	xbt_buf_release(&b);
}
END_TEST

static void vaddf_wrapper(xbt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vaddf_wrapper(xbt_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xbt_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

START_TEST(test_buf_addf)
{
	xbt_buf b = XBT_BUF_INIT;
	char ref[16000];
	char big[5001];
	size_t rl = 0;

	xbt_buf_addstr(&b, "pre:");
	xbt_buf_addf(&b, "%d-%s-%05.1f", 42, "x", 2.5);
	EXPECT_BUF("addf appends", &b, "pre:42-x-002.5");

	memset(big, 'q', 5000);
	big[5000] = '\0';
	xbt_buf_reset(&b);
	xbt_buf_addf(&b, "<%s>", big);
	ck_assert_uint_eq(b.len, 5002);
	ck_assert_int_eq(b.buf[0], '<');
	ck_assert_int_eq(b.buf[5001], '>');
	ck_assert_int_eq(b.buf[5002], '\0');
	ck_assert_int_eq(memcmp(b.buf + 1, big, 5000), 0);

	/* A formatted NUL is a byte like any other. */
	xbt_buf_reset(&b);
	xbt_buf_addf(&b, "a%cb", 0);
	expect_bytes_at(__LINE__, "addf %c NUL", b.buf, b.len, "a\0b", 3);

	xbt_buf_reset(&b);
	for (size_t i = 0; i < 2000; i++) {
		xbt_buf_addf(&b, "%zu,", i);
		rl += (size_t)snprintf(ref + rl, sizeof(ref) - rl, "%zu,", i);
	}
	expect_bytes_at(__LINE__, "addf loop", b.buf, b.len, ref, rl);

	xbt_buf_reset(&b);
	vaddf_wrapper(&b, "%s=%u;", "k", 7u);
	vaddf_wrapper(&b, "%s", "");
	vaddf_wrapper(&b, "%x", 255u);
	EXPECT_BUF("vaddf", &b, "k=7;ff");
	xbt_buf_release(&b);
}
END_TEST

START_TEST(test_buf_detach)
{
	xbt_buf b = XBT_BUF_INIT;
	size_t len = 99;
	char *s;

	xbt_buf_addstr(&b, "hello");
	s = xbt_buf_detach(&b, &len);
	ck_assert_str_eq(s, "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_nonnull(b.buf);
	ck_assert_int_eq(b.buf[0], '\0');
	ck_assert_ptr_ne(b.buf, s);
	free(s);

	/* b was re-initialised: it works again and owns new memory. */
	xbt_buf_addstr(&b, "x");
	EXPECT_BUF("after detach", &b, "x");
	xbt_buf_release(&b);

	/* Detaching a buffer that never grew yields a heap "" (free()able). */
	xbt_buf_init(&b);
	len = 99;
	s = xbt_buf_detach(&b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_ne(s, xbt_buf_empty);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);

	/* Embedded NULs survive; len_out tells the real length. */
	xbt_buf_add(&b, "a\0b", 3);
	s = xbt_buf_detach(&b, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(s, "a\0b", 4), 0);
	free(s);
	xbt_buf_release(&b);
}
END_TEST

START_TEST(test_alloc_helpers)
{
	char *s = xbt_strdup("abc");
	char *t = xbt_strndup("abcdef", 3);
	unsigned char *z = xbt_calloc(64, 4);
	int *v = xbt_reallocarray(NULL, 10, sizeof(int));
	char *m = xbt_malloc(7);

	ck_assert_str_eq(s, "abc");
	ck_assert_str_eq(t, "abc");
	for (int i = 0; i < 256; i++)
		ck_assert_uint_eq(z[i], 0);
	for (int i = 0; i < 10; i++)
		v[i] = i;
	v = xbt_reallocarray(v, 1000, sizeof(int));
	ck_assert_int_eq(v[9], 9);
	v[999] = 1;
	m = xbt_realloc(m, 70000);
	m[69999] = 'x';
	free(s);
	free(t);
	free(z);
	free(v);
	free(m);
}
END_TEST

/* Like strndup(3): at most n bytes, and not past the NUL. */
START_TEST(test_strndup_stops_at_nul)
{
	char *u = xbt_strndup("ab", 10);

	ck_assert_str_eq(u, "ab");
	free(u);
}
END_TEST

/* ---- text safety ------------------------------------------------------------ */

/*
 * Expected outputs write \xNN with lowercase hex digits (as Python does);
 * doc/design.md only shows "\x00".
 */
#define SC(in, out) { in, sizeof(in) - 1, out, sizeof(out) - 1 }
static const struct safe_case {
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
} safe_cases[] = {
	SC("", ""),
	SC("plain ascii 0123 ~!@#$%^&*()", "plain ascii 0123 ~!@#$%^&*()"),
	SC("tab\there lf\n cr\r", "tab\there lf\n cr\r"),
	SC("\x7f", "\x7f"),                      /* DEL is kept */
	SC("a\x7f" "b", "a\x7f" "b"),
	SC("\\x41 stays", "\\x41 stays"),        /* a backslash is not special */
	SC("a\0b", "a\\x00b"),
	SC("\0", "\\x00"),
	SC("\x01\x02", "\\x01\\x02"),
	SC("\x08", "\\x08"),
	SC("\x0b\x0c", "\\x0b\\x0c"),
	SC("\x1b[0m", "\\x1b[0m"),
	SC("\x1f", "\\x1f"),
	/* valid UTF-8, boundaries included */
	SC("\xc2\x80", "\xc2\x80"),              /* U+0080 */
	SC("caf\xc3\xa9", "caf\xc3\xa9"),
	SC("\xdf\xbf", "\xdf\xbf"),              /* U+07FF */
	SC("\xe0\xa0\x80", "\xe0\xa0\x80"),      /* U+0800 */
	SC("\xe2\x82\xac", "\xe2\x82\xac"),      /* EURO SIGN */
	SC("\xed\x9f\xbf", "\xed\x9f\xbf"),      /* U+D7FF */
	SC("\xee\x80\x80", "\xee\x80\x80"),      /* U+E000 */
	SC("\xef\xbf\xbd", "\xef\xbf\xbd"),      /* U+FFFD */
	SC("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"), /* U+10000 */
	SC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"), /* U+1F600 */
	SC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"), /* U+10FFFF */
	/* overlong encodings */
	SC("\xc0\x80", "\\xc0\\x80"),
	SC("\xc0\xaf", "\\xc0\\xaf"),
	SC("\xc1\xbf", "\\xc1\\xbf"),
	SC("\xe0\x80\x80", "\\xe0\\x80\\x80"),
	SC("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"),
	SC("\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80"),
	SC("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"),
	/* UTF-16 surrogates (CESU-8) */
	SC("\xed\xa0\x80", "\\xed\\xa0\\x80"),
	SC("\xed\xbf\xbf", "\\xed\\xbf\\xbf"),
	SC("\xed\xa0\xbd\xed\xb8\x80",
	   "\\xed\\xa0\\xbd\\xed\\xb8\\x80"),
	/* beyond U+10FFFF and bytes never valid */
	SC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"),
	SC("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"),
	SC("\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf"),
	SC("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"),
	SC("\xfc\x84\x80\x80\x80\x80",
	   "\\xfc\\x84\\x80\\x80\\x80\\x80"),
	SC("\xfe", "\\xfe"),
	SC("\xff", "\\xff"),
	/* truncated sequences */
	SC("\xc3", "\\xc3"),
	SC("a\xc3" "b", "a\\xc3" "b"),
	SC("\xe2\x82", "\\xe2\\x82"),
	SC("\xe2\x82" "A", "\\xe2\\x82" "A"),
	SC("\xe2\x82\xc3\xa9", "\\xe2\\x82\xc3\xa9"),
	SC("\xf0\x9f\x98", "\\xf0\\x9f\\x98"),
	SC("\xf0\x9f\x98\xe2\x82\xac", "\\xf0\\x9f\\x98\xe2\x82\xac"),
	SC("x\xf0\x9f", "x\\xf0\\x9f"),
	/* lone continuation bytes */
	SC("\x80", "\\x80"),
	SC("\xbf", "\\xbf"),
	SC("a\x80\x80z", "a\\x80\\x80z"),
	SC("\xc3\xa9\xa9", "\xc3\xa9\\xa9"),
	/* U+FFFE and U+FFFF */
	SC("\xef\xbf\xbe", "\\xef\\xbf\\xbe"),
	SC("\xef\xbf\xbf", "\\xef\\xbf\\xbf"),
	SC("a\xef\xbf\xbe" "b", "a\\xef\\xbf\\xbe" "b"),
	/* a mixture */
	SC("ok\xc3\xa9\0\xff\t\x01", "ok\xc3\xa9\\x00\\xff\t\\x01"),
};

static void check_safe_case(const char *what, const char *in, size_t inlen,
			    const char *out, size_t outlen)
{
	xbt_buf b = XBT_BUF_INIT;
	bool same = inlen == outlen && memcmp(in, out, inlen) == 0;
	char *dup;

	xbt_buf_addstr(&b, "P:");
	xbt_buf_add_safe(&b, in, inlen);
	if (b.len != outlen + 2 || memcmp(b.buf, "P:", 2) != 0 ||
	    memcmp(b.buf + 2, out, outlen) != 0)
		note_fail("%s: add_safe(\"%s\"): expected \"P:%s\", got \"%s\"",
			  what, vis(in, inlen), vis(out, outlen),
			  vis(b.buf, b.len));
	if (xbt_text_is_safe(in, inlen) != same)
		note_fail("%s: is_safe(\"%s\") = %d, expected %d", what,
			  vis(in, inlen), !same, same);
	dup = xbt_text_safe_dup(in, inlen);
	if (strlen(dup) != outlen || memcmp(dup, out, outlen) != 0)
		note_fail("%s: safe_dup(\"%s\"): expected \"%s\", got \"%s\"",
			  what, vis(in, inlen), vis(out, outlen), viss(dup));
	free(dup);
	/* The output is safe and passes through unchanged. */
	if (!xbt_text_is_safe(out, outlen))
		note_fail("%s: is_safe(output \"%s\") is false", what,
			  vis(out, outlen));
	xbt_buf_reset(&b);
	xbt_buf_add_safe(&b, out, outlen);
	if (b.len != outlen || memcmp(b.buf, out, outlen) != 0)
		note_fail("%s: add_safe not idempotent on \"%s\": \"%s\"", what,
			  vis(out, outlen), vis(b.buf, b.len));
	xbt_buf_release(&b);
}

START_TEST(test_text_safe_table)
{
	for (size_t i = 0; i < sizeof(safe_cases) / sizeof(safe_cases[0]); i++) {
		char what[32];

		snprintf(what, sizeof(what), "case %zu", i);
		check_safe_case(what, safe_cases[i].in, safe_cases[i].inlen,
				safe_cases[i].out, safe_cases[i].outlen);
	}
	CHECK_NO_FAILS();
}
END_TEST

/* Every byte alone and between ASCII letters. */
START_TEST(test_text_safe_every_byte)
{
	for (int c = 0; c < 256; c++) {
		bool keep = c == '\t' || c == '\n' || c == '\r' ||
			    (c >= 0x20 && c <= 0x7f);
		char in[3] = { 'a', (char)c, 'z' };
		char out[8];
		size_t outlen;
		char what[32];

		if (keep) {
			out[0] = (char)c;
			outlen = 1;
		} else {
			outlen = (size_t)snprintf(out, sizeof(out), "\\x%02x", c);
		}
		snprintf(what, sizeof(what), "byte %d", c);
		check_safe_case(what, in + 1, 1, out, outlen);
		{
			char out3[12];

			out3[0] = 'a';
			memcpy(out3 + 1, out, outlen);
			out3[outlen + 1] = 'z';
			snprintf(what, sizeof(what), "a+byte %d+z", c);
			check_safe_case(what, in, 3, out3, outlen + 2);
		}
	}
	CHECK_NO_FAILS();
}
END_TEST

/* Random bytes: the output is always safe, and safe text is a fixed point. */
START_TEST(test_text_safe_random)
{
	char in[512];
	xbt_buf b = XBT_BUF_INIT, c = XBT_BUF_INIT;

	rng_seed(0x5afe);
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = rng_below(sizeof(in));

		for (size_t i = 0; i < len; i++) {
			/* Bias towards UTF-8 lead and continuation bytes. */
			uint32_t r = rng_below(4);

			in[i] = (char)(r == 0 ? 0x80 + rng_below(0x80) :
				       r == 1 ? 0xc0 + rng_below(0x40) :
				       rng_below(256));
		}
		xbt_buf_reset(&b);
		xbt_buf_add_safe(&b, in, len);
		ck_assert_msg(xbt_text_is_safe(b.buf, b.len),
			      "output of \"%s\" is not safe", vis(in, len));
		ck_assert_uint_eq(strlen(b.buf), b.len);
		for (size_t i = 0; i < b.len; i++) {
			unsigned char ch = (unsigned char)b.buf[i];

			ck_assert_msg(ch >= 0x20 || ch == '\t' || ch == '\n' ||
				      ch == '\r', "control byte %u in output",
				      ch);
		}
		xbt_buf_reset(&c);
		xbt_buf_add_safe(&c, b.buf, b.len);
		ck_assert_uint_eq(c.len, b.len);
		ck_assert_int_eq(memcmp(c.buf, b.buf, b.len), 0);
		ck_assert_int_eq(xbt_text_is_safe(in, len),
				 b.len == len && memcmp(b.buf, in, len) == 0);
	}
	xbt_buf_release(&b);
	xbt_buf_release(&c);
}
END_TEST

/* ---- sexp atoms ---------------------------------------------------------- */

/* The quoting rule of doc/design.md, as a reference model. */
static size_t ref_atom(const unsigned char *s, size_t len, char *out)
{
	bool quote = len == 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c <= 32 || c >= 127 || c == '"' || c == '(' || c == ')' ||
		    c == ';' || c == '\\')
			quote = true;
		if (i + 1 < len && ((c == '#' && s[i + 1] == '|') ||
				    (c == '|' && s[i + 1] == '#')))
			quote = true;
	}
	if (!quote) {
		memcpy(out, s, len);
		return len;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '"': out[o++] = '\\'; out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
		case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
		case '\t': out[o++] = '\\'; out[o++] = 't'; break;
		case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
		case '\b': out[o++] = '\\'; out[o++] = 'b'; break;
		default:
			if (c < 32 || c >= 127)
				o += (size_t)sprintf(out + o, "\\%03u",
						     (unsigned)c);
			else
				out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	return o;
}

#define AC(in, out) { in, sizeof(in) - 1, out }
static const struct atom_case {
	const char *in;
	size_t len;
	const char *out;
} atom_cases[] = {
	AC("", "\"\""),
	AC("a", "a"),
	AC("server/task.c", "server/task.c"),
	AC("ocaml/xapi/xapi_host.ml", "ocaml/xapi/xapi_host.ml"),
	AC("-12", "-12"),
	AC("a'b{}[]<>=,.:!?", "a'b{}[]<>=,.:!?"),
	AC("xbtd @ h1", "\"xbtd @ h1\""),
	AC("#", "#"),
	AC("|", "|"),
	AC("#a|", "#a|"),
	AC("|a#", "|a#"),
	AC("#|", "\"#|\""),
	AC("|#", "\"|#\""),
	AC("a#|b", "\"a#|b\""),
	AC("a|#b", "\"a|#b\""),
	AC("##||", "\"##||\""),
	AC("||##", "\"||##\""),
	AC("#;", "\"#;\""),
	AC("a\"b", "\"a\\\"b\""),
	AC("a\\b", "\"a\\\\b\""),
	AC("a(b", "\"a(b\""),
	AC("a)b", "\"a)b\""),
	AC("a;b", "\"a;b\""),
	AC("a b", "\"a b\""),
	AC("a\nb", "\"a\\nb\""),
	AC("\t", "\"\\t\""),
	AC("\r", "\"\\r\""),
	AC("\b", "\"\\b\""),
	AC("\0", "\"\\000\""),
	AC("a\0b", "\"a\\000b\""),
	AC("\x01", "\"\\001\""),
	AC("\x0b\x0c", "\"\\011\\012\""),
	AC("\x1b", "\"\\027\""),
	AC("\x7f", "\"\\127\""),
	AC("caf\xc3\xa9", "\"caf\\195\\169\""),
	AC("\xff", "\"\\255\""),
	AC("(5 frames elided)", "\"(5 frames elided)\""),
};

START_TEST(test_sexp_atom_table)
{
	xbt_buf b = XBT_BUF_INIT;

	for (size_t i = 0; i < sizeof(atom_cases) / sizeof(atom_cases[0]); i++) {
		const struct atom_case *c = &atom_cases[i];

		xbt_buf_reset(&b);
		xbt_sexp_atom(&b, c->in, c->len);
		if (b.len != strlen(c->out) || memcmp(b.buf, c->out, b.len))
			note_fail("atom \"%s\": expected %s, got %s",
				  vis(c->in, c->len), viss(c->out),
				  vis(b.buf, b.len));
	}
	xbt_buf_release(&b);
	CHECK_NO_FAILS();
}
END_TEST

START_TEST(test_sexp_atom_every_byte)
{
	xbt_buf b = XBT_BUF_INIT;
	char exp[64];
	size_t elen;

	for (int c = 0; c < 256; c++) {
		unsigned char one[1] = { (unsigned char)c };
		unsigned char three[3] = { 'a', (unsigned char)c, 'z' };

		elen = ref_atom(one, 1, exp);
		xbt_buf_reset(&b);
		xbt_sexp_atom(&b, (const char *)one, 1);
		if (b.len != elen || memcmp(b.buf, exp, elen))
			note_fail("atom byte %d: expected %s, got %s", c,
				  vis(exp, elen), vis(b.buf, b.len));
		elen = ref_atom(three, 3, exp);
		xbt_buf_reset(&b);
		xbt_sexp_atom(&b, (const char *)three, 3);
		if (b.len != elen || memcmp(b.buf, exp, elen))
			note_fail("atom a+byte %d+z: expected %s, got %s", c,
				  vis(exp, elen), vis(b.buf, b.len));
	}
	/* The reference model itself, on a few hand-checked bytes. */
	ck_assert_uint_eq(ref_atom((const unsigned char *)"\x7f", 1, exp), 6);
	ck_assert_int_eq(memcmp(exp, "\"\\127\"", 6), 0);
	ck_assert_uint_eq(ref_atom((const unsigned char *)"#", 1, exp), 1);
	xbt_buf_release(&b);
	CHECK_NO_FAILS();
}
END_TEST

/* The atom is appended; what was in the buffer stays. */
START_TEST(test_sexp_atom_appends)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addstr(&b, "(k");
	xbt_sexp_atom(&b, "v w", 3);
	xbt_sexp_atom(&b, "x", 1);
	EXPECT_BUF("append", &b, "(k\"v w\"x");
	xbt_buf_release(&b);
}
END_TEST

/* ---- sexp writer ------------------------------------------------------------ */

#define DESIGN_FRAME \
	"((process\"xbtd @ h1\")(filename server/task.c)(line 12)" \
	"(chars_start 0)(chars_end 0)(name task_run)(is_inline false)" \
	"(is_raise false))"

START_TEST(test_sexp_frame_design_example)
{
	xbt_frame f = mkframe(PROC, "server/task.c", 12, 0, 0, "task_run",
			      false, false);
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_buf b = XBT_BUF_INIT;
	char *s;

	xbt_frame_to_sexp(&f, &b);
	EXPECT_BUF("frame", &b, DESIGN_FRAME);
	xbt_backtrace_push(&bt, &f);
	s = sexp_of(&bt, NULL);
	EXPECT_STR("backtrace", s, "(" DESIGN_FRAME ")");
	free(s);
	xbt_buf_release(&b);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_sexp_frame_fields)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_frame f;

	/* name omitted when NULL; an unquoted value gets a space. */
	f = mkframe("xapi", "ocaml/xapi/xapi_host.ml", 614, 0, 0, NULL, false,
		    false);
	xbt_frame_to_sexp(&f, &b);
	EXPECT_BUF("no name", &b,
		   "((process xapi)(filename ocaml/xapi/xapi_host.ml)"
		   "(line 614)(chars_start 0)(chars_end 0)(is_inline false)"
		   "(is_raise false))");

	xbt_buf_reset(&b);
	f = mkframe("p", "a b.c", 7, 5, 9, "x y", true, true);
	xbt_frame_to_sexp(&f, &b);
	EXPECT_BUF("quoted values", &b,
		   "((process p)(filename\"a b.c\")(line 7)(chars_start 5)"
		   "(chars_end 9)(name\"x y\")(is_inline true)(is_raise true))");

	xbt_buf_reset(&b);
	f = mkframe("", "f\"1\\", INT_MAX, INT_MAX, 1, "", false, true);
	xbt_frame_to_sexp(&f, &b);
	EXPECT_BUF("empty and escaped", &b,
		   "((process\"\")(filename\"f\\\"1\\\\\")(line 2147483647)"
		   "(chars_start 2147483647)(chars_end 1)(name\"\")"
		   "(is_inline false)(is_raise true))");

	/* Appends to what is already in the buffer. */
	xbt_buf_reset(&b);
	xbt_buf_addstr(&b, "X");
	f = mkframe("a", "b", 1, 0, 0, "c", false, false);
	xbt_frame_to_sexp(&f, &b);
	EXPECT_BUF("appends", &b,
		   "X((process a)(filename b)(line 1)(chars_start 0)"
		   "(chars_end 0)(name c)(is_inline false)(is_raise false))");
	xbt_buf_release(&b);
}
END_TEST

START_TEST(test_sexp_backtrace_lists)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_buf b = XBT_BUF_INIT;
	xbt_frame f1 = mkframe("a", "x.c", 1, 0, 0, NULL, false, true);
	xbt_frame f2 = mkframe("a", "y.c", 2, 0, 0, "g", false, false);

	xbt_buf_addstr(&b, "X");
	xbt_backtrace_to_sexp(&bt, &b);
	EXPECT_BUF("empty", &b, "X()");

	xbt_buf_reset(&b);
	xbt_backtrace_push(&bt, &f1);
	xbt_backtrace_push(&bt, &f2);
	xbt_backtrace_to_sexp(&bt, &b);
	EXPECT_BUF("two frames, innermost first", &b,
		   "(((process a)(filename x.c)(line 1)(chars_start 0)"
		   "(chars_end 0)(is_inline false)(is_raise true))"
		   "((process a)(filename y.c)(line 2)(chars_start 0)"
		   "(chars_end 0)(name g)(is_inline false)(is_raise false)))");
	xbt_buf_release(&b);
	xbt_backtrace_release(&bt);
}
END_TEST

/* ---- sexp reader ------------------------------------------------------------ */

static xbt_error *read_sexp(const char *s, size_t len, xbt_backtrace *out)
{
	char *copy = exact_copy(s, len);
	xbt_error *e = xbt_backtrace_from_sexp(copy, len, out);

	free(copy);
	return e;
}

#define READ_OK(str, bt) do { \
	xbt_error *e_ = read_sexp((str), strlen(str), (bt)); \
	ck_assert_msg(e_ == NULL, "line %d: reading \"%s\" failed: %s", \
		      __LINE__, viss(str), \
		      e_ && e_->nparams ? viss(e_->params[0]) : "?"); \
} while (0)

START_TEST(test_sexp_read_current)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;

	READ_OK("(" DESIGN_FRAME ")", &bt);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], PROC, "server/task.c", 12, 0, 0,
		     "task_run", false, false);
	xbt_backtrace_release(&bt);

	READ_OK("(((process p)(filename\"a b.c\")(line 7)(chars_start 5)"
		"(chars_end 9)(name\"x y\")(is_inline true)(is_raise true))"
		"((process q)(filename f.c)(line 8)(chars_start 0)"
		"(chars_end 0)(is_inline false)(is_raise false)))", &bt);
	ck_assert_uint_eq(bt.n, 2);
	ASSERT_FRAME(&bt.frames[0], "p", "a b.c", 7, 5, 9, "x y", true, true);
	ASSERT_FRAME(&bt.frames[1], "q", "f.c", 8, 0, 0, NULL, false, false);
	ck_assert_uint_eq(bt.frames[0].elided, 0);
	ck_assert_uint_eq(bt.bytes, bt_cost_sum(&bt));
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_sexp_read_old_form)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;

	READ_OK("(((process xapi)(filename ocaml/xapi/xapi_host.ml)"
		"(line 614)))", &bt);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], "xapi", "ocaml/xapi/xapi_host.ml", 614, 0,
		     0, NULL, false, false);
	xbt_backtrace_release(&bt);

	/* Old and current frames mixed in one list. */
	READ_OK("(((process xapi)(filename a.ml)(line 1))"
		"((process\"xbtd @ h1\")(filename b.c)(line 2)(chars_start 0)"
		"(chars_end 0)(name f)(is_inline false)(is_raise true))"
		"((process xenopsd)(filename c.ml)(line 3)))", &bt);
	ck_assert_uint_eq(bt.n, 3);
	ASSERT_FRAME(&bt.frames[0], "xapi", "a.ml", 1, 0, 0, NULL, false,
		     false);
	ASSERT_FRAME(&bt.frames[1], PROC, "b.c", 2, 0, 0, "f", false, true);
	ASSERT_FRAME(&bt.frames[2], "xenopsd", "c.ml", 3, 0, 0, NULL, false,
		     false);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_sexp_read_empty_and_append)
{
	xbt_backtrace bt;

	xbt_backtrace_init(&bt);
	READ_OK("()", &bt);
	ck_assert_uint_eq(bt.n, 0);

	/* Frames are appended after what *out held. */
	preload(&bt);
	READ_OK("(((process a)(filename x.c)(line 1))"
		"((process a)(filename y.c)(line 2)))", &bt);
	ck_assert_uint_eq(bt.n, 3);
	ck_assert(frame_same(&bt.frames[0], &pre_frame));
	ASSERT_FRAME(&bt.frames[1], "a", "x.c", 1, 0, 0, NULL, false, false);
	ASSERT_FRAME(&bt.frames[2], "a", "y.c", 2, 0, 0, NULL, false, false);
	ck_assert_uint_eq(bt.bytes, bt_cost_sum(&bt));
	xbt_backtrace_release(&bt);
}
END_TEST

/* len is honoured: bytes after it are not looked at. */
START_TEST(test_sexp_read_respects_len)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	const char *s = "()junk";
	xbt_error *e = xbt_backtrace_from_sexp(s, 2, &bt);

	ck_assert_ptr_null(e);
	ck_assert_uint_eq(bt.n, 0);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_sexp_read_escapes)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;

	READ_OK("(((process\"a\\\"b\\\\c\\nd\\te\\rf\\bg\\001h\\255i\\065\")"
		"(filename\"(3 b)\")(line 1)(name\"#|x|#;\")))", &bt);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], "a\"b\\c\nd\te\rf\bg\001h\377iA", "(3 b)",
		     1, 0, 0, "#|x|#;", false, false);
	xbt_backtrace_release(&bt);
}
END_TEST

/* Whitespace between tokens, as sexplib's "hum" form writes it. */
START_TEST(test_sexp_read_whitespace)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;

	READ_OK(" ( ( (process xapi) (filename a.ml) (line 1) )\n"
		"  ((process \"xbtd @ h1\")\n\t(filename b.c) (line 2)\r\n"
		"   (chars_start 0) (chars_end 0) (name f) (is_inline false)\n"
		"   (is_raise true)) )\n", &bt);
	ck_assert_uint_eq(bt.n, 2);
	ASSERT_FRAME(&bt.frames[0], "xapi", "a.ml", 1, 0, 0, NULL, false,
		     false);
	ASSERT_FRAME(&bt.frames[1], PROC, "b.c", 2, 0, 0, "f", false, true);
	xbt_backtrace_release(&bt);
}
END_TEST

/* doc/backtraces.md: the reader takes ';' comments. */
START_TEST(test_sexp_read_comments)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;

	READ_OK("; leading comment\n(((process a) ; a comment\n"
		"(filename b)(line 1)));trailing", &bt);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], "a", "b", 1, 0, 0, NULL, false, false);
	xbt_backtrace_release(&bt);
}
END_TEST

/* sexplib reads record fields in any order. */
START_TEST(test_sexp_read_field_order)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;

	READ_OK("(((line 3)(process a)(filename b))"
		"((is_raise true)(name n)(chars_end 4)(chars_start 2)"
		"(is_inline true)(line 5)(filename c)(process d)))", &bt);
	ck_assert_uint_eq(bt.n, 2);
	ASSERT_FRAME(&bt.frames[0], "a", "b", 3, 0, 0, NULL, false, false);
	ASSERT_FRAME(&bt.frames[1], "d", "c", 5, 2, 4, "n", true, true);
	xbt_backtrace_release(&bt);
}
END_TEST

/* Strings from outside longer than XBT_MAX_ATOM are cut. */
START_TEST(test_sexp_read_long_atom_cut)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_buf in = XBT_BUF_INIT;
	xbt_error *e;

	xbt_buf_addstr(&in, "(((process a)(filename ");
	for (int i = 0; i < 3 * XBT_MAX_ATOM; i++)
		xbt_buf_addch(&in, 'f');
	xbt_buf_addstr(&in, ")(line 1)))");
	e = read_sexp(in.buf, in.len, &bt);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(bt.n, 1);
	ck_assert_uint_eq(strlen(bt.frames[0].filename), XBT_MAX_ATOM);
	ck_assert_int_eq(bt.frames[0].filename[XBT_MAX_ATOM - 1], 'f');
	xbt_buf_release(&in);
	xbt_backtrace_release(&bt);
}
END_TEST

/*
 * A quoted "\000" is a legal atom; whatever a C string makes of it, the
 * result must be stable: write -> read -> write is a fixed point.
 */
START_TEST(test_sexp_read_quoted_nul_stable)
{
	xbt_backtrace a = XBT_BACKTRACE_INIT, b = XBT_BACKTRACE_INIT;
	const char *in = "(((process\"x\\000y\")(filename f)(line 1)))";
	xbt_error *e = read_sexp(in, strlen(in), &a);
	char *s1, *s2;
	size_t l1, l2;

	if (e) {
		ASSERT_INTERNAL_ERROR(e, SEXP_ERR);
		ck_assert_uint_eq(a.n, 0);
		xbt_error_free(e);
		return;
	}
	ck_assert_uint_eq(a.n, 1);
	s1 = sexp_of(&a, &l1);
	e = read_sexp(s1, l1, &b);
	ck_assert_ptr_null(e);
	s2 = sexp_of(&b, &l2);
	expect_bytes_at(__LINE__, "fixed point", s2, l2, s1, l1);
	free(s1);
	free(s2);
	xbt_backtrace_release(&a);
	xbt_backtrace_release(&b);
}
END_TEST

#define F3 "(process a)(filename b)(line 1)"
#define MC(what, s) { what, s, sizeof(s) - 1 }
static const struct bad_case {
	const char *what;
	const char *in;
	size_t len;
} bad_sexps[] = {
	MC("empty input", ""),
	MC("only whitespace", "  \n\t"),
	MC("lone open paren", "("),
	MC("lone close paren", ")"),
	MC("unbalanced: missing close", "((" F3 ")"),
	MC("unbalanced: extra close", "((" F3 ")))"),
	MC("early close", "(((process a))(filename b)(line 1)))"),
	MC("trailing atom", "() x"),
	MC("trailing list", "()()"),
	MC("trailing garbage after frames", "((" F3 "))junk"),
	MC("trailing close paren", "())"),
	MC("atom at top", "abc"),
	MC("quoted atom at top", "\"abc\""),
	MC("a bare frame at top", "(" F3 ")"),
	MC("frame is an atom", "(abc)"),
	MC("frame is an empty list", "(())"),
	MC("field is an atom", "((x" F3 "))"),
	MC("field without value", "(((process)(filename b)(line 1)))"),
	MC("field with two values", "(((process a b)(filename b)(line 1)))"),
	MC("field value is a list", "(((process(a))(filename b)(line 1)))"),
	MC("field name is a list", "((((process)a)(filename b)(line 1)))"),
	MC("empty field", "((()" F3 "))"),
	MC("line not a number", "(((process a)(filename b)(line x)))"),
	MC("line is empty", "(((process a)(filename b)(line\"\")))"),
	MC("line with junk", "(((process a)(filename b)(line 12a)))"),
	MC("line is a fraction", "(((process a)(filename b)(line 1.5)))"),
	MC("line is a list", "(((process a)(filename b)(line(1))))"),
	MC("negative line", "(((process a)(filename b)(line -1)))"),
	MC("line beyond int", "(((process a)(filename b)(line 2147483648)))"),
	MC("line overflows 64 bits",
	   "(((process a)(filename b)(line 99999999999999999999999)))"),
	MC("chars_start not a number", "((" F3 "(chars_start x)))"),
	MC("negative chars_end", "((" F3 "(chars_start 0)(chars_end -4)))"),
	MC("chars_end overflow", "((" F3 "(chars_end 4294967296)))"),
	MC("is_inline not a bool", "((" F3 "(is_inline maybe)))"),
	MC("is_raise a number", "((" F3 "(is_raise 1)))"),
	MC("is_raise a list", "((" F3 "(is_raise(true))))"),
	MC("name is a list", "((" F3 "(name(f))))"),
	MC("unknown field", "((" F3 "(colour red)))"),
	MC("duplicate line", "(((process a)(filename b)(line 1)(line 2)))"),
	MC("duplicate process", "(((process a)(process c)(filename b)(line 1)))"),
	MC("duplicate name", "((" F3 "(name f)(name g)))"),
	MC("missing process", "(((filename b)(line 1)))"),
	MC("missing filename", "(((process a)(line 1)))"),
	MC("missing line", "(((process a)(filename b)))"),
	MC("second frame bad", "((" F3 ")((process a)(filename b)))"),
	MC("NUL after the value", "((" F3 "))\0"),
	MC("NUL inside an unquoted atom", "(((process a\0b)(filename b)(line 1)))"),
	MC("NUL between fields", "(((process a)\0(filename b)(line 1)))"),
	MC("bad escape \\q", "(((process\"a\\qb\")(filename b)(line 1)))"),
	MC("escape \\999", "(((process\"\\999\")(filename b)(line 1)))"),
	MC("escape \\256", "(((process\"\\256\")(filename b)(line 1)))"),
	MC("short decimal escape", "(((process\"\\25\")(filename b)(line 1)))"),
	MC("backslash at end of input", "(((process\"abc\\"),
	MC("unterminated quote", "(((process\"abc)(filename b)(line 1)))"),
	MC("unterminated quote at end", "(((process\"abc"),
	MC("nested too deep",
	   "((((((((((((((((((((((((((((((((((((((((((((((((((("
	   ")))))))))))))))))))))))))))))))))))))))))))))))))))"),
};

/* One malformed input: INTERNAL_ERROR, and *out left as it was. */
static void check_bad_sexp(const char *what, const char *in, size_t len)
{
	xbt_backtrace bt;
	size_t bytes;
	xbt_error *e;
	const char *why;

	preload(&bt);
	bytes = bt.bytes;
	e = read_sexp(in, len, &bt);
	why = bad_internal_error(e, SEXP_ERR);
	if (why)
		note_fail("%s (\"%s\"): %s", what, vis(in, len > 80 ? 80 : len),
			  why);
	if (!still_preloaded(&bt, bytes))
		note_fail("%s: *out was changed (n=%zu)", what, bt.n);
	xbt_error_free(e);
	xbt_backtrace_release(&bt);

	/* The same into an empty backtrace. */
	xbt_backtrace_init(&bt);
	e = read_sexp(in, len, &bt);
	if (!e || bt.n != 0 || bt.frames)
		note_fail("%s: into an empty *out: error %p, n=%zu", what,
			  (void *)e, bt.n);
	xbt_error_free(e);
	xbt_backtrace_release(&bt);
}

START_TEST(test_sexp_read_malformed_table)
{
	size_t n = sizeof(bad_sexps) / sizeof(bad_sexps[0]);

	ck_assert_uint_ge(n, 30);
	for (size_t i = 0; i < n; i++)
		check_bad_sexp(bad_sexps[i].what, bad_sexps[i].in,
			       bad_sexps[i].len);
	CHECK_NO_FAILS();
}
END_TEST

START_TEST(test_sexp_read_malformed_big)
{
	xbt_buf in = XBT_BUF_INIT;

	/* Deep nesting, unbalanced and balanced: an error, not a crash. */
	for (int i = 0; i < 100000; i++)
		xbt_buf_addch(&in, '(');
	check_bad_sexp("100000 open parens", in.buf, in.len);
	for (int i = 0; i < 100000; i++)
		xbt_buf_addch(&in, ')');
	check_bad_sexp("100000 balanced parens", in.buf, in.len);

	/* A well-formed backtrace, but bigger than XBT_MAX_SEXP_INPUT. */
	xbt_buf_reset(&in);
	xbt_buf_addstr(&in, "(((process a)(filename\"");
	while (in.len < XBT_MAX_SEXP_INPUT)
		xbt_buf_addstr(&in, "ffffffffffffffff");
	xbt_buf_addstr(&in, "\")(line 1)))");
	check_bad_sexp("input over XBT_MAX_SEXP_INPUT", in.buf, in.len);

	/* Whitespace padding does not get around the bound either. */
	xbt_buf_reset(&in);
	xbt_buf_addstr(&in, "()");
	while (in.len <= XBT_MAX_SEXP_INPUT)
		xbt_buf_addch(&in, ' ');
	check_bad_sexp("() padded over XBT_MAX_SEXP_INPUT", in.buf, in.len);
	xbt_buf_release(&in);
	CHECK_NO_FAILS();
}
END_TEST

/* ---- sexp round trips -------------------------------------------------------- */

static const char specials[] = "\"\\();#| \t\n\r\b\x7f\x80\xff\x01";

/* A random C string: any byte but NUL, biased to the ones that matter. */
static char *rand_str(char *out, size_t max)
{
	size_t len = rng_below((uint32_t)max + 1);

	for (size_t i = 0; i < len; i++) {
		switch (rng_below(4)) {
		case 0:
			out[i] = (char)(1 + rng_below(255));
			break;
		case 1:
			out[i] = specials[rng_below(sizeof(specials) - 1)];
			break;
		default:
			out[i] = (char)('a' + rng_below(26));
		}
	}
	out[len] = '\0';
	return out;
}

static int rand_int(void)
{
	switch (rng_below(4)) {
	case 0:
		return (int)rng_below(10);
	case 1:
		return INT_MAX - (int)rng_below(3);
	default:
		return (int)(rng_next() & 0x7fffffff);
	}
}

static void rand_backtrace(xbt_backtrace *bt, size_t nframes)
{
	int prev_line = -1;

	for (size_t i = 0; i < nframes; i++) {
		char p[40], f[40], nm[40];
		xbt_frame fr;

		fr = mkframe(rand_str(p, 32), rand_str(f, 32), rand_int(),
			     rand_int(), rand_int(),
			     rng_below(3) ? rand_str(nm, 32) : NULL,
			     rng_below(2), rng_below(2));
		/* No consecutive duplicates: those collapse by design. */
		if (fr.line == prev_line)
			fr.line = fr.line ? fr.line - 1 : 1;
		prev_line = fr.line;
		xbt_backtrace_push_copy(bt, &fr);
	}
}

START_TEST(test_sexp_roundtrip_random)
{
	rng_seed(20260101);
	for (int iter = 0; iter < 1500; iter++) {
		xbt_backtrace a = XBT_BACKTRACE_INIT, b = XBT_BACKTRACE_INIT;
		size_t n = rng_below(13), l1, l2;
		char *s1, *s2;
		xbt_error *e;

		rand_backtrace(&a, n);
		ck_assert_uint_eq(a.n, n);
		s1 = sexp_of(&a, &l1);
		e = read_sexp(s1, l1, &b);
		if (e)
			ck_abort_msg("iter %d: reading our own \"%s\": %s", iter,
				     vis(s1, l1), viss(e->params[0]));
		ck_assert_uint_eq(b.n, n);
		for (size_t i = 0; i < n; i++)
			if (!frame_same(&a.frames[i], &b.frames[i]))
				ck_abort_msg("iter %d frame %zu:\n wrote %s\n "
					     "read  %s", iter, i,
					     frame_str(&a.frames[i]),
					     frame_str(&b.frames[i]));
		s2 = sexp_of(&b, &l2);
		expect_bytes_at(__LINE__, "write-read-write", s2, l2, s1, l1);
		/* The reader returns strings that outlive its input. */
		ck_assert_uint_eq(b.bytes, bt_cost_sum(&b));
		free(s1);
		free(s2);
		xbt_backtrace_release(&a);
		xbt_backtrace_release(&b);
	}
}
END_TEST

/* Many frames at once (below the default bounds). */
START_TEST(test_sexp_roundtrip_many_frames)
{
	xbt_backtrace a = XBT_BACKTRACE_INIT, b = XBT_BACKTRACE_INIT;
	char *s1, *s2;
	size_t l1, l2;

	rng_seed(77);
	rand_backtrace(&a, 200);
	ck_assert_uint_eq(a.n, 200);
	s1 = sexp_of(&a, &l1);
	ck_assert_ptr_null(read_sexp(s1, l1, &b));
	ck_assert_uint_eq(b.n, 200);
	s2 = sexp_of(&b, &l2);
	expect_bytes_at(__LINE__, "200 frames", s2, l2, s1, l1);
	free(s1);
	free(s2);
	xbt_backtrace_release(&a);
	xbt_backtrace_release(&b);
}
END_TEST

/* ---- human form ------------------------------------------------------------- */

START_TEST(test_human_example)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_frame f[4] = {
		mkframe("FAIL @ h1", "/usr/libexec/xbt/sm/FAILSR", 42, 0, 0,
			NULL, false, true),
		mkframe("FAIL @ h1", "/usr/libexec/xbt/sm/FAILSR", 30, 0, 0,
			NULL, false, false),
		mkframe(PROC, "server/sm.c", 310, 0, 0, "sm_decode", false,
			true),
		mkframe(PROC, "server/vm.c", 120, 0, 0, "vm_start", false,
			false),
	};
	char *s;

	for (int i = 0; i < 4; i++)
		xbt_backtrace_push(&bt, &f[i]);
	s = human_of(&bt);
	EXPECT_STR("human", s,
		   "1/4 FAIL @ h1 Raised at file \"/usr/libexec/xbt/sm/FAILSR\", line 42\n"
		   "2/4 FAIL @ h1 Called from file \"/usr/libexec/xbt/sm/FAILSR\", line 30\n"
		   "3/4 xbtd @ h1 Re-raised at sm_decode in file \"server/sm.c\", line 310\n"
		   "4/4 xbtd @ h1 Called from vm_start in file \"server/vm.c\", line 120\n");
	free(s);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_human_details)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_frame f[5] = {
		/* Frame 1 reads "Raised at" even without is_raise. */
		mkframe(PROC, "server/task.c", 12, 0, 0, "task_run", false,
			false),
		mkframe("py @ h", "x.py", 3, 0, 0, NULL, true, false),
		mkframe("ml", "a.ml", 7, 5, 9, "f", true, true),
		mkframe("ml", "b.ml", 8, 0, 9, "g", false, false),
		mkframe("ml", "c.ml", 9, 1, 0, NULL, false, false),
	};
	char *s;

	for (int i = 0; i < 5; i++)
		xbt_backtrace_push(&bt, &f[i]);
	s = human_of(&bt);
	EXPECT_STR("human", s,
		   "1/5 xbtd @ h1 Raised at task_run in file \"server/task.c\", line 12\n"
		   "2/5 py @ h Called from file \"x.py\" (inlined), line 3\n"
		   "3/5 ml Re-raised at f in file \"a.ml\" (inlined), line 7, characters 5-9\n"
		   "4/5 ml Called from g in file \"b.ml\", line 8\n"
		   "5/5 ml Called from file \"c.ml\", line 9, characters 1-0\n");
	free(s);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_human_single_and_empty)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_frame f = mkframe("py", "x.py", 3, 0, 0, NULL, false, true);
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addstr(&b, "X");
	xbt_backtrace_to_human(&bt, &b);
	EXPECT_BUF("empty prints nothing", &b, "X");
	xbt_backtrace_push(&bt, &f);
	xbt_backtrace_to_human(&bt, &b);
	EXPECT_BUF("one frame, appended", &b,
		   "X1/1 py Raised at file \"x.py\", line 3\n");
	xbt_buf_release(&b);
	xbt_backtrace_release(&bt);
}
END_TEST

/* xbt_frame_to_human is the line to_human prints for each frame. */
START_TEST(test_human_frame_consistent)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_buf b0 = XBT_BUF_INIT, b1 = XBT_BUF_INIT;
	char *all;

	rng_seed(5);
	rand_backtrace(&bt, 6);
	all = human_of(&bt);
	for (size_t i = 0; i < bt.n; i++) {
		xbt_frame_to_human(&bt.frames[i], i, bt.n, &b0);
		xbt_frame_to_human(&bt.frames[i], i + 1, bt.n, &b1);
	}
	/* The header leaves the base of index open; one of them must hold. */
	ck_assert_msg(strcmp(all, b0.buf) == 0 || strcmp(all, b1.buf) == 0,
		      "to_human \"%s\" vs frame_to_human \"%s\" / \"%s\"",
		      viss(all), viss(b0.buf), viss(b1.buf));
	free(all);
	xbt_buf_release(&b0);
	xbt_buf_release(&b1);
	xbt_backtrace_release(&bt);
}
END_TEST

/* "one line per frame": line breaks inside strings must not add lines. */
START_TEST(test_human_one_line_per_frame)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_frame f[2] = {
		mkframe("a\nb", "x\n.py", 3, 0, 0, "f\r\ng", false, true),
		mkframe("c", "y.py\n2/2 forged Called from", 4, 0, 0, NULL,
			false, false),
	};
	char *s;
	size_t lines = 0;

	xbt_backtrace_push(&bt, &f[0]);
	xbt_backtrace_push(&bt, &f[1]);
	s = human_of(&bt);
	for (char *p = s; *p; p++)
		lines += *p == '\n';
	ck_assert_msg(lines == 2, "%zu lines in \"%s\"", lines, viss(s));
	ck_assert_msg(strncmp(s, "1/2 ", 4) == 0, "\"%s\"", viss(s));
	ck_assert_msg(strstr(s, "\n2/2 c Called from ") != NULL, "\"%s\"",
		      viss(s));
	ck_assert_int_eq(s[strlen(s) - 1], '\n');
	free(s);
	xbt_backtrace_release(&bt);
}
END_TEST

/* ---- process name and limits ---------------------------------------------------- */

START_TEST(test_set_process)
{
	const char *old;

	ck_assert_str_eq(xbt_process(), PROC);
	old = xbt_process();
	xbt_set_process("prog", "host.example");
	ck_assert_str_eq(xbt_process(), "prog @ host.example");
	/* Names set earlier stay valid: frames may point at them. */
	ck_assert_str_eq(old, PROC);
	xbt_set_process("xbtd", "h1");
	ck_assert_str_eq(xbt_process(), PROC);
}
END_TEST

START_TEST(test_set_limits)
{
	ck_assert_uint_eq(xbt_max_frames(), XBT_DEFAULT_MAX_FRAMES);
	ck_assert_uint_eq(xbt_max_bytes(), XBT_DEFAULT_MAX_BYTES);
	ck_assert_uint_eq(XBT_DEFAULT_MAX_FRAMES, 256);
	ck_assert_uint_eq(XBT_DEFAULT_MAX_BYTES, 65536);
	xbt_set_limits(0, 0);
	ck_assert_uint_eq(xbt_max_frames(), 256);
	ck_assert_uint_eq(xbt_max_bytes(), 65536);
	xbt_set_limits(10, 0);
	ck_assert_uint_eq(xbt_max_frames(), 10);
	ck_assert_uint_eq(xbt_max_bytes(), 65536);
	xbt_set_limits(0, 1000);
	ck_assert_uint_eq(xbt_max_frames(), 10);
	ck_assert_uint_eq(xbt_max_bytes(), 1000);
	xbt_set_limits(1, 0);
	ck_assert_uint_eq(xbt_max_frames(), 3);
	xbt_set_limits(2, 0);
	ck_assert_uint_eq(xbt_max_frames(), 3);
	xbt_set_limits(3, 0);
	ck_assert_uint_eq(xbt_max_frames(), 3);
}
END_TEST

/* ---- backtrace basics -------------------------------------------------------- */

START_TEST(test_backtrace_init_release)
{
	xbt_backtrace bt;
	xbt_frame f = mkframe("p", "f.c", 1, 0, 0, NULL, false, false);

	memset(&bt, 0x5a, sizeof(bt));
	xbt_backtrace_init(&bt);
	ck_assert_uint_eq(bt.n, 0);
	ck_assert_uint_eq(bt.bytes, 0);
	xbt_backtrace_release(&bt);
	xbt_backtrace_push(&bt, &f);
	xbt_backtrace_intern(&bt, "x", 1);
	ck_assert_uint_eq(bt.n, 1);
	ck_assert_uint_eq(bt.bytes, xbt_frame_cost(&f));
	ck_assert_uint_gt(bt.bytes, 0);
	xbt_backtrace_release(&bt);
	/* Released means re-initialised: empty and reusable. */
	ck_assert_uint_eq(bt.n, 0);
	ck_assert_ptr_null(bt.frames);
	ck_assert_ptr_null(bt.pool);
	ck_assert_uint_eq(bt.bytes, 0);
	xbt_backtrace_push(&bt, &f);
	ck_assert_uint_eq(bt.n, 1);
	xbt_backtrace_release(&bt);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_backtrace_intern)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char src[] = "abcdef";
	char *big = malloc(3 * XBT_MAX_ATOM);
	const char *a, *b, *c;

	memset(big, 'z', 3 * XBT_MAX_ATOM);
	a = xbt_backtrace_intern(&bt, src, 3);
	b = xbt_backtrace_intern(&bt, big, 3 * XBT_MAX_ATOM);
	c = xbt_backtrace_intern(&bt, "", 0);
	src[0] = 'X';
	memset(big, 'y', 3 * XBT_MAX_ATOM);
	free(big);
	ck_assert_str_eq(a, "abc");
	ck_assert_uint_eq(strlen(b), XBT_MAX_ATOM);
	ck_assert_int_eq(b[0], 'z');
	ck_assert_str_eq(c, "");
	/* Many strings: earlier ones stay valid while the pool grows. */
	for (int i = 0; i < 5000; i++) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "s%d", i);
		xbt_backtrace_intern(&bt, tmp, strlen(tmp));
	}
	ck_assert_str_eq(a, "abc");
	ck_assert_uint_eq(strlen(b), XBT_MAX_ATOM);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_push_copy_owns_strings)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char p[] = "proc", fn[] = "file.c", nm[] = "fn";
	xbt_frame f = mkframe(p, fn, 3, 1, 2, nm, true, false);

	xbt_backtrace_push_copy(&bt, &f);
	f.name = NULL;
	f.line = 4;
	xbt_backtrace_push_copy(&bt, &f);
	memset(p, 'X', 4);
	memset(fn, 'X', 6);
	memset(nm, 'X', 2);
	ck_assert_uint_eq(bt.n, 2);
	ASSERT_FRAME(&bt.frames[0], "proc", "file.c", 3, 1, 2, "fn", true,
		     false);
	ASSERT_FRAME(&bt.frames[1], "proc", "file.c", 4, 1, 2, NULL, true,
		     false);
	ck_assert_uint_eq(bt.bytes, bt_cost_sum(&bt));
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_duplicates_collapse)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char p2[] = "p", f2[] = "f.c";
	xbt_frame a = mkframe("p", "f.c", 1, 0, 0, "x", false, true);
	xbt_frame a_same = mkframe(p2, f2, 1, 0, 0, "y", true, false);
	xbt_frame b = mkframe("p", "f.c", 2, 0, 0, "x", false, false);
	xbt_frame a_chars = mkframe("p", "f.c", 1, 3, 0, "x", false, false);
	xbt_frame a_chars2 = mkframe("p", "f.c", 1, 3, 4, "x", false, false);
	xbt_frame a_proc = mkframe("q", "f.c", 1, 3, 4, "x", false, false);
	xbt_frame a_file = mkframe("q", "g.c", 1, 3, 4, "x", false, false);

	xbt_backtrace_push(&bt, &a);
	xbt_backtrace_push(&bt, &a);
	/* Equal by content (other pointers, other name/flags): dropped. */
	xbt_backtrace_push_copy(&bt, &a_same);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], "p", "f.c", 1, 0, 0, "x", false, true);
	xbt_backtrace_push(&bt, &b);
	xbt_backtrace_push(&bt, &a);  /* not consecutive: kept */
	ck_assert_uint_eq(bt.n, 3);
	xbt_backtrace_push(&bt, &a_chars);
	xbt_backtrace_push(&bt, &a_chars2);
	xbt_backtrace_push(&bt, &a_proc);
	xbt_backtrace_push(&bt, &a_file);
	ck_assert_uint_eq(bt.n, 7);
	ck_assert_uint_eq(bt.bytes, bt_cost_sum(&bt));
	xbt_backtrace_release(&bt);
}
END_TEST

/* ---- bounds --------------------------------------------------------------------- */

/* Frame k: process "p<k>" (interned), file "f.c", line k. */
static void push_numbered(xbt_backtrace *bt, int k)
{
	char p[24];
	xbt_frame f;

	snprintf(p, sizeof(p), "p%d", k);
	f = mkframe(p, "f.c", k, 0, 0, "fn", false, k == 1);
	xbt_backtrace_push_copy(bt, &f);
}

/*
 * The invariants of a bounded backtrace that was pushed frames 1..total
 * (as push_numbered makes them), whatever the elision policy.
 */
static void check_bounded_at(int at, const xbt_backtrace *bt, int total,
			     size_t max_frames, size_t max_bytes)
{
	size_t represented = 0, elisions = 0, ei = 0;
	int prev = 0;

	ck_assert_msg(bt->n <= max_frames, "line %d: %zu frames > %zu", at,
		      bt->n, max_frames);
	ck_assert_msg(bt->bytes <= max_bytes, "line %d: %zu bytes > %zu", at,
		      bt->bytes, max_bytes);
	ck_assert_msg(bt->bytes == bt_cost_sum(bt), "line %d: bytes %zu, "
		      "sum of costs %zu", at, bt->bytes, bt_cost_sum(bt));
	for (size_t i = 0; i < bt->n; i++) {
		const xbt_frame *f = &bt->frames[i];

		if (f->elided) {
			elisions++;
			ei = i;
			represented += f->elided;
			continue;
		}
		represented++;
		ck_assert_msg(f->line > prev, "line %d: frame %zu line %d "
			      "after %d: order lost", at, i, f->line, prev);
		prev = f->line;
	}
	ck_assert_msg(represented == (size_t)total, "line %d: %zu frames "
		      "represented, %d pushed", at, represented, total);
	if (bt->n == (size_t)total) {
		ck_assert_uint_eq(elisions, 0);
		return;
	}
	ck_assert_msg(elisions == 1, "line %d: %zu elision frames", at,
		      elisions);
	/* The raise point and the last frame pushed are kept. */
	ck_assert_msg(ei > 0 && ei < bt->n - 1, "line %d: elision frame at "
		      "%zu of %zu", at, ei, bt->n);
	ck_assert_int_eq(bt->frames[0].line, 1);
	ck_assert(bt->frames[0].is_raise);
	ck_assert_int_eq(bt->frames[bt->n - 1].line, total);
	{
		const xbt_frame *e = &bt->frames[ei];
		int before = bt->frames[ei - 1].line;
		int after = bt->frames[ei + 1].line;
		char file[64], proc[24];

		/* It stands exactly for the frames between its neighbours. */
		ck_assert_msg((size_t)(after - before - 1) == e->elided,
			      "line %d: elision frame between lines %d and %d "
			      "says %zu", at, before, after, e->elided);
		snprintf(file, sizeof(file), "(%zu frames elided)", e->elided);
		snprintf(proc, sizeof(proc), "p%d", before + 1);
		ck_assert_msg(str_eq_opt(e->process, proc) && e->line == 0 &&
			      e->chars_start == 0 && e->chars_end == 0,
			      "line %d: elision frame %s, expected process "
			      "\"%s\" line 0 chars 0-0", at, frame_str(e),
			      proc);
		/* Last, so that the checks above report first. */
		ck_assert_msg(str_eq_opt(e->filename, file),
			      "line %d: elision frame %s, expected filename "
			      "\"%s\"", at, frame_str(e), file);
	}
}

#define CHECK_BOUNDED(bt, total, mf, mb) \
	check_bounded_at(__LINE__, (bt), (total), (mf), (mb))

START_TEST(test_bounds_frames)
{
	static const size_t maxes[] = { 3, 4, 5, 10, 17, 256 };
	static const int totals[] = { 1, 2, 3, 4, 5, 6, 9, 10, 11, 16, 17, 18,
				      33, 100, 257, 1000, 5000 };

	for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		xbt_set_limits(maxes[m], XBT_DEFAULT_MAX_BYTES);
		for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
			xbt_backtrace bt = XBT_BACKTRACE_INIT;

			for (int k = 1; k <= totals[t]; k++) {
				push_numbered(&bt, k);
				/* The invariants hold after every push. */
				if (totals[t] <= 100 || k == totals[t])
					CHECK_BOUNDED(&bt, k, maxes[m],
						      XBT_DEFAULT_MAX_BYTES);
			}
			xbt_backtrace_release(&bt);
		}
	}
}
END_TEST

/* The elision frame is written as such in both forms. */
START_TEST(test_bounds_elision_forms)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char *sexp, *human, want[128];
	size_t ei = 0;

	xbt_set_limits(5, 0);
	for (int k = 1; k <= 20; k++)
		push_numbered(&bt, k);
	while (ei < bt.n && !bt.frames[ei].elided)
		ei++;
	ck_assert_uint_lt(ei, bt.n);
	ck_assert_uint_gt(ei, 0);
	sexp = sexp_of(&bt, NULL);
	human = human_of(&bt);
	snprintf(want, sizeof(want),
		 "((process p%d)(filename\"(%zu frames elided)\")(line 0)"
		 "(chars_start 0)(chars_end 0)",
		 bt.frames[ei - 1].line + 1, bt.frames[ei].elided);
	ck_assert_msg(strstr(sexp, want), "\"%s\" not in \"%s\"", want,
		      viss(sexp));
	snprintf(want, sizeof(want), "%zu/%zu p%d ", ei + 1, bt.n,
		 bt.frames[ei - 1].line + 1);
	ck_assert_msg(strstr(human, want), "\"%s\" not in \"%s\"", want,
		      viss(human));
	snprintf(want, sizeof(want), "file \"(%zu frames elided)\", line 0\n",
		 bt.frames[ei].elided);
	ck_assert_msg(strstr(human, want), "\"%s\" not in \"%s\"", want,
		      viss(human));
	free(sexp);
	free(human);
	CHECK_BOUNDED(&bt, 20, 5, XBT_DEFAULT_MAX_BYTES);
	xbt_backtrace_release(&bt);
}
END_TEST

/* doc/backtraces.md: reading an elision frame back restores its count. */
START_TEST(test_bounds_elision_read_back)
{
	xbt_backtrace a = XBT_BACKTRACE_INIT, b = XBT_BACKTRACE_INIT;
	char *s1, *s2;
	size_t l1, l2, ei = 0;

	xbt_set_limits(6, 0);
	for (int k = 1; k <= 40; k++)
		push_numbered(&a, k);
	s1 = sexp_of(&a, &l1);
	ck_assert_ptr_null(read_sexp(s1, l1, &b));
	ck_assert_uint_eq(b.n, a.n);
	for (size_t i = 0; i < a.n; i++)
		ck_assert_msg(frame_same(&a.frames[i], &b.frames[i]),
			      "frame %zu: wrote %s, read %s", i,
			      frame_str(&a.frames[i]), frame_str(&b.frames[i]));
	s2 = sexp_of(&b, &l2);
	expect_bytes_at(__LINE__, "elided round trip", s2, l2, s1, l1);
	/* Further elision adds to the count. */
	for (int k = 41; k <= 60; k++)
		push_numbered(&b, k);
	CHECK_BOUNDED(&b, 60, 6, XBT_DEFAULT_MAX_BYTES);
	while (!b.frames[ei].elided)
		ei++;
	ck_assert_uint_gt(b.frames[ei].elided, 34);
	free(s1);
	free(s2);
	xbt_backtrace_release(&a);
	xbt_backtrace_release(&b);
}
END_TEST

/* Duplicates collapse before the bound counts anything. */
START_TEST(test_bounds_with_duplicates)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	int distinct = 0;

	xbt_set_limits(5, 0);
	rng_seed(3);
	for (int k = 1; k <= 60; k++) {
		int reps = 1 + (int)rng_below(3);

		distinct++;
		for (int r = 0; r < reps; r++) {
			push_numbered(&bt, k);
			CHECK_BOUNDED(&bt, distinct, 5, XBT_DEFAULT_MAX_BYTES);
		}
	}
	xbt_backtrace_release(&bt);
}
END_TEST

/* The byte bound: frames with long strings. */
START_TEST(test_bounds_bytes)
{
	static const size_t limits[] = { 2048, 4096, 10000 };

	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		xbt_backtrace bt = XBT_BACKTRACE_INIT;
		char file[200];

		memset(file, 'F', sizeof(file) - 1);
		file[sizeof(file) - 1] = '\0';
		xbt_set_limits(1000, limits[l]);
		for (int k = 1; k <= 300; k++) {
			char p[24];
			xbt_frame f;

			snprintf(p, sizeof(p), "p%d", k);
			f = mkframe(p, file, k, 0, 0, NULL, false, k == 1);
			xbt_backtrace_push_copy(&bt, &f);
			ck_assert_uint_le(bt.bytes, limits[l]);
		}
		ck_assert_uint_lt(bt.n, 300);
		{
			/* Same invariants, with the long file name. */
			size_t represented = 0, elisions = 0;

			for (size_t i = 0; i < bt.n; i++) {
				represented += bt.frames[i].elided ?
					       bt.frames[i].elided : 1;
				elisions += bt.frames[i].elided > 0;
			}
			ck_assert_uint_eq(represented, 300);
			ck_assert_uint_eq(elisions, 1);
			ck_assert_int_eq(bt.frames[0].line, 1);
			ck_assert_int_eq(bt.frames[bt.n - 1].line, 300);
			ck_assert_uint_eq(bt.bytes, bt_cost_sum(&bt));
		}
		xbt_backtrace_release(&bt);
	}
}
END_TEST

/* Gluing and reading honour the bounds too. */
START_TEST(test_bounds_glue_and_read)
{
	xbt_backtrace local = XBT_BACKTRACE_INIT, remote = XBT_BACKTRACE_INIT;
	xbt_backtrace big = XBT_BACKTRACE_INIT, rd = XBT_BACKTRACE_INIT;
	char *s;
	size_t len;

	/* Remote frames 1..8 glued in front of local 9..16. */
	for (int k = 1; k <= 8; k++)
		push_numbered(&remote, k);
	for (int k = 9; k <= 16; k++)
		push_numbered(&local, k);
	xbt_set_limits(10, 0);
	xbt_backtrace_glue_remote(&local, &remote);
	CHECK_BOUNDED(&local, 16, 10, XBT_DEFAULT_MAX_BYTES);
	ck_assert_uint_eq(remote.n, 0);

	xbt_set_limits(XBT_DEFAULT_MAX_FRAMES, 0);
	for (int k = 1; k <= 50; k++)
		push_numbered(&big, k);
	s = sexp_of(&big, &len);
	xbt_set_limits(10, 0);
	ck_assert_ptr_null(read_sexp(s, len, &rd));
	CHECK_BOUNDED(&rd, 50, 10, XBT_DEFAULT_MAX_BYTES);
	free(s);
	xbt_backtrace_release(&local);
	xbt_backtrace_release(&remote);
	xbt_backtrace_release(&big);
	xbt_backtrace_release(&rd);
}
END_TEST

/* ---- the error idiom ---------------------------------------------------------- */

static int l_leaf, l_mid, l_top, l_rec;

static xbt_error *leaf(int fail)
{
	if (!fail)
		return NULL;
	l_leaf = __LINE__; return XBT_RAISE("TEST_ERROR", "p1", "p2");
}

static xbt_error *mid(int fail)
{
	xbt_error *err;

	l_mid = __LINE__; err = XBT_PROPAGATE(leaf(fail));
	return err;
}

static xbt_error *top(int fail)
{
	xbt_error *err;

	l_top = __LINE__; err = XBT_PROPAGATE(mid(fail));
	return err;
}

static void assert_chain3(const xbt_error *e)
{
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->code, "TEST_ERROR");
	ck_assert_uint_eq(e->nparams, 2);
	ck_assert_str_eq(e->params[0], "p1");
	ck_assert_str_eq(e->params[1], "p2");
	ck_assert_uint_eq(e->bt.n, 3);
	ASSERT_HERE(&e->bt.frames[0], l_leaf, "leaf", true);
	ASSERT_HERE(&e->bt.frames[1], l_mid, "mid", false);
	ASSERT_HERE(&e->bt.frames[2], l_top, "top", false);
}

START_TEST(test_file_macro_is_mapped)
{
	/* If this fails, the build lacks -fmacro-prefix-map, not libxbt. */
	ck_assert_str_eq(__FILE__, THIS_FILE);
}
END_TEST

START_TEST(test_raise)
{
	xbt_error *e;
	int l;

	l = __LINE__; e = XBT_RAISE("HANDLE_INVALID", "VM", "OpaqueRef:x");
	ck_assert_str_eq(e->code, "HANDLE_INVALID");
	ck_assert_uint_eq(e->nparams, 2);
	ck_assert_str_eq(e->params[0], "VM");
	ck_assert_str_eq(e->params[1], "OpaqueRef:x");
	ck_assert_uint_eq(e->bt.n, 1);
	ASSERT_HERE(&e->bt.frames[0], l, __func__, true);
	ck_assert_str_eq(e->bt.frames[0].process, xbt_process());
	ck_assert_str_eq(e->bt.frames[0].filename, "tests/check_core.c");
	ck_assert_uint_eq(e->bt.frames[0].elided, 0);
	ck_assert_uint_eq(e->bt.bytes, bt_cost_sum(&e->bt));
	xbt_error_free(e);

	l = __LINE__; e = XBT_RAISE("NO_PARAMS");
	ck_assert_str_eq(e->code, "NO_PARAMS");
	ck_assert_uint_eq(e->nparams, 0);
	ASSERT_HERE(&e->bt.frames[0], l, __func__, true);
	xbt_error_free(e);

	/* The process name at the time of the raise. */
	xbt_set_process("other", "h2");
	e = XBT_RAISE("X", "");
	ck_assert_str_eq(e->bt.frames[0].process, "other @ h2");
	ck_assert_uint_eq(e->nparams, 1);
	ck_assert_str_eq(e->params[0], "");
	xbt_error_free(e);
}
END_TEST

/* The error owns copies of code and params. */
START_TEST(test_raise_copies)
{
	char code[] = "MY_CODE", p[] = "param";
	xbt_error *e = XBT_RAISE(code, p, p);

	code[0] = 'X';
	p[0] = 'X';
	ck_assert_str_eq(e->code, "MY_CODE");
	ck_assert_str_eq(e->params[0], "param");
	ck_assert_str_eq(e->params[1], "param");
	xbt_error_free(e);
}
END_TEST

START_TEST(test_raisev)
{
	const char *params[] = { "a", NULL, "c" };
	xbt_error *e;
	int l;

	l = __LINE__; e = xbt_error_raisev(XBT_HERE, "V", 3, params);
	ck_assert_str_eq(e->code, "V");
	ck_assert_uint_eq(e->nparams, 3);
	ck_assert_str_eq(e->params[0], "a");
	ck_assert_str_eq(e->params[1], "");
	ck_assert_str_eq(e->params[2], "c");
	ck_assert_uint_eq(e->bt.n, 1);
	ASSERT_HERE(&e->bt.frames[0], l, __func__, true);
	xbt_error_free(e);

	e = xbt_error_raisev(XBT_HERE, "V0", 0, NULL);
	ck_assert_uint_eq(e->nparams, 0);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_propagate_chain)
{
	xbt_error *e = top(1);
	xbt_error *same;
	int l;

	assert_chain3(e);
	/* Propagating returns the same error with one more frame. */
	l = __LINE__; same = XBT_PROPAGATE(e);
	ck_assert_ptr_eq(same, e);
	ck_assert_uint_eq(e->bt.n, 4);
	ASSERT_HERE(&e->bt.frames[3], l, __func__, false);
	ck_assert_uint_eq(e->bt.bytes, bt_cost_sum(&e->bt));
	xbt_error_free(e);
}
END_TEST

START_TEST(test_propagate_success)
{
	xbt_error *none = NULL;

	ck_assert_ptr_null(top(0));
	ck_assert_ptr_null(XBT_PROPAGATE(none));
	ck_assert_ptr_null(XBT_PROPAGATE(mid(0)));
	xbt_error_free(NULL);
}
END_TEST

/* A recursive call site: the same frame again and again collapses. */
static xbt_error *recurse(int depth)
{
	if (depth == 0)
		return leaf(1);
	l_rec = __LINE__; return XBT_PROPAGATE(recurse(depth - 1));
}

START_TEST(test_propagate_recursion_collapses)
{
	xbt_error *e;
	int l;

	l = __LINE__; e = XBT_PROPAGATE(recurse(6));
	ck_assert_uint_eq(e->bt.n, 3);
	ASSERT_HERE(&e->bt.frames[0], l_leaf, "leaf", true);
	ASSERT_HERE(&e->bt.frames[1], l_rec, "recurse", false);
	ASSERT_HERE(&e->bt.frames[2], l, __func__, false);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_reraise)
{
	xbt_error *e = top(1), *r;
	int l, l2;
	char *human;
	char want[600];

	l = __LINE__; r = XBT_RERAISE(e, "NEW_CODE", "x", "y", "z");
	ck_assert_ptr_eq(r, e);
	ck_assert_str_eq(e->code, "NEW_CODE");
	ck_assert_uint_eq(e->nparams, 3);
	ck_assert_str_eq(e->params[0], "x");
	ck_assert_str_eq(e->params[2], "z");
	ck_assert_uint_eq(e->bt.n, 4);
	ASSERT_HERE(&e->bt.frames[0], l_leaf, "leaf", true);
	ASSERT_HERE(&e->bt.frames[1], l_mid, "mid", false);
	ASSERT_HERE(&e->bt.frames[2], l_top, "top", false);
	ASSERT_HERE(&e->bt.frames[3], l, __func__, true);
	l2 = __LINE__; e = XBT_PROPAGATE(e);
	ck_assert_uint_eq(e->bt.n, 5);
	ASSERT_HERE(&e->bt.frames[4], l2, __func__, false);

	human = human_of(&e->bt);
	snprintf(want, sizeof(want),
		 "1/5 xbtd @ h1 Raised at leaf in file \"tests/check_core.c\", line %d\n"
		 "2/5 xbtd @ h1 Called from mid in file \"tests/check_core.c\", line %d\n"
		 "3/5 xbtd @ h1 Called from top in file \"tests/check_core.c\", line %d\n"
		 "4/5 xbtd @ h1 Re-raised at %s in file \"tests/check_core.c\", line %d\n"
		 "5/5 xbtd @ h1 Called from %s in file \"tests/check_core.c\", line %d\n",
		 l_leaf, l_mid, l_top, __func__, l, __func__, l2);
	EXPECT_STR("human", human, want);
	free(human);

	/* No params. */
	e = XBT_RERAISE(e, "BARE");
	ck_assert_str_eq(e->code, "BARE");
	ck_assert_uint_eq(e->nparams, 0);
	ck_assert_uint_eq(e->bt.n, 6);
	ck_assert(e->bt.frames[5].is_raise);
	xbt_error_free(e);
}
END_TEST

/* Re-raising with the old code or params as the new ones is common. */
START_TEST(test_reraise_reuses_old_strings)
{
	xbt_error *e = XBT_RAISE("OLD", "first", "second");

	e = XBT_RERAISE(e, "WRAPPED", e->params[1], e->code, e->params[0]);
	ck_assert_str_eq(e->code, "WRAPPED");
	ck_assert_uint_eq(e->nparams, 3);
	ck_assert_str_eq(e->params[0], "second");
	ck_assert_str_eq(e->params[1], "OLD");
	ck_assert_str_eq(e->params[2], "first");
	e = XBT_RERAISE(e, e->code, e->params[2]);
	ck_assert_str_eq(e->code, "WRAPPED");
	ck_assert_uint_eq(e->nparams, 1);
	ck_assert_str_eq(e->params[0], "first");
	ck_assert_uint_eq(e->bt.n, 3);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_reraisev)
{
	const char *params[] = { NULL, "b" };
	xbt_error *e = leaf(1);
	int l;

	l = __LINE__; e = xbt_error_reraisev(e, XBT_HERE, "RV", 2, params);
	ck_assert_str_eq(e->code, "RV");
	ck_assert_uint_eq(e->nparams, 2);
	ck_assert_str_eq(e->params[0], "");
	ck_assert_str_eq(e->params[1], "b");
	ck_assert_uint_eq(e->bt.n, 2);
	ASSERT_HERE(&e->bt.frames[1], l, __func__, true);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_called_from_direct)
{
	xbt_error *e = XBT_RAISE("X");

	ck_assert_ptr_eq(xbt_error_called_from(e, "a.c", 10, "fa"), e);
	ck_assert_ptr_eq(xbt_error_called_from(e, "a.c", 10, "fb"), e);
	ck_assert_ptr_eq(xbt_error_called_from(e, "b.c", 10, NULL), e);
	ck_assert_uint_eq(e->bt.n, 3);
	ASSERT_FRAME(&e->bt.frames[1], PROC, "a.c", 10, 0, 0, "fa", false,
		     false);
	ASSERT_FRAME(&e->bt.frames[2], PROC, "b.c", 10, 0, 0, NULL, false,
		     false);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_error_summary)
{
	xbt_error *e = XBT_RAISE("CODE", "p1", "p2");
	char *s = xbt_error_summary(e);

	ck_assert_str_eq(s, "CODE [p1; p2]");
	free(s);
	xbt_error_free(e);
	e = XBT_RAISE("ONE", "a b");
	s = xbt_error_summary(e);
	ck_assert_str_eq(s, "ONE [a b]");
	free(s);
	xbt_error_free(e);
	e = XBT_RAISE("NONE");
	s = xbt_error_summary(e);
	ck_assert_str_eq(s, "NONE []");
	free(s);
	xbt_error_free(e);
}
END_TEST

/* Remote (deeper) frames go first; their strings move with them. */
START_TEST(test_glue_remote)
{
	xbt_error *e = top(1);
	xbt_backtrace remote = XBT_BACKTRACE_INIT;
	char proc[] = "FAIL @ h1", file[] = "/sm/FAILSR";
	xbt_frame r1 = mkframe(proc, file, 42, 0, 0, NULL, false, true);
	xbt_frame r2 = mkframe(proc, file, 30, 0, 0, "main", false, false);
	char *human, want[600];

	xbt_backtrace_push_copy(&remote, &r1);
	xbt_backtrace_push_copy(&remote, &r2);
	xbt_backtrace_glue_remote(&e->bt, &remote);
	ck_assert_uint_eq(remote.n, 0);
	xbt_backtrace_release(&remote);
	memset(proc, 'X', strlen(proc));
	memset(file, 'X', strlen(file));

	ck_assert_uint_eq(e->bt.n, 5);
	ASSERT_FRAME(&e->bt.frames[0], "FAIL @ h1", "/sm/FAILSR", 42, 0, 0,
		     NULL, false, true);
	ASSERT_FRAME(&e->bt.frames[1], "FAIL @ h1", "/sm/FAILSR", 30, 0, 0,
		     "main", false, false);
	ASSERT_HERE(&e->bt.frames[2], l_leaf, "leaf", true);
	ASSERT_HERE(&e->bt.frames[3], l_mid, "mid", false);
	ASSERT_HERE(&e->bt.frames[4], l_top, "top", false);
	ck_assert_uint_eq(e->bt.bytes, bt_cost_sum(&e->bt));

	human = human_of(&e->bt);
	snprintf(want, sizeof(want),
		 "1/5 FAIL @ h1 Raised at file \"/sm/FAILSR\", line 42\n"
		 "2/5 FAIL @ h1 Called from main in file \"/sm/FAILSR\", line 30\n"
		 "3/5 xbtd @ h1 Re-raised at leaf in file \"tests/check_core.c\", line %d\n"
		 "4/5 xbtd @ h1 Called from mid in file \"tests/check_core.c\", line %d\n"
		 "5/5 xbtd @ h1 Called from top in file \"tests/check_core.c\", line %d\n",
		 l_leaf, l_mid, l_top);
	EXPECT_STR("glued human", human, want);
	free(human);
	xbt_error_free(e);
}
END_TEST

START_TEST(test_glue_edge_cases)
{
	xbt_backtrace a = XBT_BACKTRACE_INIT, r = XBT_BACKTRACE_INIT;
	xbt_backtrace r2 = XBT_BACKTRACE_INIT;
	char s[] = "x";
	xbt_frame f = mkframe(s, s, 1, 0, 0, NULL, false, true);

	/* Empty remote: nothing changes. */
	push_numbered(&a, 5);
	xbt_backtrace_glue_remote(&a, &r);
	ck_assert_uint_eq(a.n, 1);
	xbt_backtrace_release(&a);

	/* Into an empty backtrace. */
	xbt_backtrace_push_copy(&r, &f);
	xbt_backtrace_glue_remote(&a, &r);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(a.bytes, bt_cost_sum(&a));

	/* A second remote goes in front of the first; pools merge. */
	s[0] = 'y';
	f.line = 2;
	xbt_backtrace_push_copy(&r2, &f);
	xbt_backtrace_glue_remote(&a, &r2);
	/* remote is left empty and reusable. */
	push_numbered(&r2, 1);
	ck_assert_uint_eq(r2.n, 1);
	xbt_backtrace_release(&r);
	xbt_backtrace_release(&r2);
	ck_assert_uint_eq(a.n, 2);
	ASSERT_FRAME(&a.frames[0], "y", "y", 2, 0, 0, NULL, false, true);
	ASSERT_FRAME(&a.frames[1], "x", "x", 1, 0, 0, NULL, false, true);
	/* The glued backtrace is still usable. */
	push_numbered(&a, 9);
	ck_assert_uint_eq(a.n, 3);
	xbt_backtrace_release(&a);
}
END_TEST

/* ---- Python JSON ------------------------------------------------------------------ */

static xbt_error *read_pyjson(const char *json, size_t len, const char *proc,
			      xbt_backtrace *out, char **text, size_t *dropped)
{
	char *copy = exact_copy(json, len);
	xbt_error *e = xbt_backtrace_from_pyjson(copy, len, proc, out, text,
						 dropped);

	free(copy);
	return e;
}

#define PYJSON_OK(json, proc, bt, text, dropped) do { \
	xbt_error *e_ = read_pyjson((json), strlen(json), (proc), (bt), \
				    (text), (dropped)); \
	ck_assert_msg(e_ == NULL, "line %d: \"%s\" failed: %s", __LINE__, \
		      viss(json), e_ && e_->nparams ? \
		      viss(e_->params[0]) : "?"); \
} while (0)

START_TEST(test_pyjson_basic)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char *text = NULL;
	size_t dropped = 99;
	char proc[] = "FAIL @ h1";

	PYJSON_OK("{\"error\": \"boom\", \"files\": [\"/sm/FAILSR\","
		  " \"/sm/util.py\", \"/sm/x.py\"], \"lines\": [88, 120, 42]}",
		  proc, &bt, &text, &dropped);
	/* The process string is copied. */
	memset(proc, 'X', strlen(proc));
	ck_assert_str_eq(text, "boom");
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(bt.n, 3);
	ASSERT_FRAME(&bt.frames[0], "FAIL @ h1", "/sm/x.py", 42, 0, 0, NULL,
		     false, true);
	ASSERT_FRAME(&bt.frames[1], "FAIL @ h1", "/sm/util.py", 120, 0, 0,
		     NULL, false, false);
	ASSERT_FRAME(&bt.frames[2], "FAIL @ h1", "/sm/FAILSR", 88, 0, 0, NULL,
		     false, false);
	ck_assert_uint_eq(bt.bytes, bt_cost_sum(&bt));
	free(text);
	xbt_backtrace_release(&bt);

	/* Key order and whitespace do not matter; "error" is optional. */
	text = NULL;
	dropped = 99;
	PYJSON_OK(" {\n\t\"lines\" : [ 7 ] ,\"files\":[\"a.py\"] }\n", "py",
		  &bt, &text, &dropped);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], "py", "a.py", 7, 0, 0, NULL, false, true);
	free(text);
	xbt_backtrace_release(&bt);

	/* Empty lists: no frames, the error text still comes back. */
	text = NULL;
	dropped = 99;
	PYJSON_OK("{\"error\":\"e\",\"files\":[],\"lines\":[]}", "py", &bt,
		  &text, &dropped);
	ck_assert_str_eq(text, "e");
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(bt.n, 0);
	free(text);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_pyjson_mismatched)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char *text = NULL;
	size_t dropped = 99;

	PYJSON_OK("{\"error\":\"E\",\"files\":[\"a\",\"b\",\"c\"],"
		  "\"lines\":[1,2]}", "py", &bt, &text, &dropped);
	ck_assert_uint_eq(dropped, 1);
	ck_assert_uint_eq(bt.n, 2);
	ASSERT_FRAME(&bt.frames[0], "py", "b", 2, 0, 0, NULL, false, true);
	ASSERT_FRAME(&bt.frames[1], "py", "a", 1, 0, 0, NULL, false, false);
	ck_assert_str_eq(text, "E");
	free(text);
	xbt_backtrace_release(&bt);

	text = NULL;
	PYJSON_OK("{\"files\":[\"a\"],\"lines\":[1,2,3,4]}", "py", &bt, &text,
		  &dropped);
	ck_assert_uint_eq(dropped, 3);
	ck_assert_uint_eq(bt.n, 1);
	ASSERT_FRAME(&bt.frames[0], "py", "a", 1, 0, 0, NULL, false, true);
	free(text);
	xbt_backtrace_release(&bt);

	text = NULL;
	PYJSON_OK("{\"files\":[],\"lines\":[5,6]}", "py", &bt, &text,
		  &dropped);
	ck_assert_uint_eq(dropped, 2);
	ck_assert_uint_eq(bt.n, 0);
	free(text);
	xbt_backtrace_release(&bt);
}
END_TEST

START_TEST(test_pyjson_unsafe_strings)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char *text = NULL;
	size_t dropped = 99;
	/* Raw bytes 0x80 (invalid UTF-8) and an escaped NUL and control. */
	static const char json[] =
		"{\"error\":\"E\\u0000r\x80!\\n\",\"files\":[\"a\\u0000b\","
		"\"c\\u0001d\",\"x\\u00e9y\\\\z\\\"\",\"raw\x80\x80\"],"
		"\"lines\":[1,2,3,4]}";

	PYJSON_OK(json, "py", &bt, &text, &dropped);
	ck_assert_uint_eq(dropped, 0);
	EXPECT_STR("error text", text, "E\\x00r\\x80!\n");
	ck_assert_uint_eq(bt.n, 4);
	ASSERT_FRAME(&bt.frames[0], "py", "raw\\x80\\x80", 4, 0, 0, NULL,
		     false, true);
	ASSERT_FRAME(&bt.frames[1], "py", "x\xc3\xa9y\\z\"", 3, 0, 0, NULL,
		     false, false);
	ASSERT_FRAME(&bt.frames[2], "py", "c\\x01d", 2, 0, 0, NULL, false,
		     false);
	ASSERT_FRAME(&bt.frames[3], "py", "a\\x00b", 1, 0, 0, NULL, false,
		     false);
	free(text);
	xbt_backtrace_release(&bt);
}
END_TEST

static char *repeat(const char *head, const char *unit, size_t times,
		    const char *tail, size_t *len)
{
	xbt_buf b = XBT_BUF_INIT;

	xbt_buf_addstr(&b, head);
	for (size_t i = 0; i < times; i++)
		xbt_buf_addstr(&b, unit);
	xbt_buf_addstr(&b, tail);
	return xbt_buf_detach(&b, len);
}

static void check_bad_pyjson(const char *what, const char *in, size_t len)
{
	xbt_backtrace bt;
	char sentinel[] = "untouched";
	char *text = sentinel;
	size_t dropped = 777, bytes;
	xbt_error *e;
	const char *why;

	preload(&bt);
	bytes = bt.bytes;
	e = read_pyjson(in, len, "py", &bt, &text, &dropped);
	why = bad_internal_error(e, PYJSON_ERR);
	if (why)
		note_fail("%s (\"%s\"): %s", what,
			  vis(in, len > 80 ? 80 : len), why);
	/* Raised where the problem was seen, not in a helper. */
	if (e && e->bt.n && e->bt.frames[0].name &&
	    strcmp(e->bt.frames[0].name, "xbt_backtrace_from_pyjson") != 0 &&
	    strcmp(e->bt.frames[0].name, "pyjson_frame") != 0 &&
	    strcmp(e->bt.frames[0].name, "pyjson_array") != 0)
		note_fail("%s: first frame in %s", what, e->bt.frames[0].name);
	if (!still_preloaded(&bt, bytes) || text != sentinel || dropped != 777)
		note_fail("%s: outputs were touched (n=%zu, dropped=%zu)",
			  what, bt.n, dropped);
	if (!e && text != sentinel)
		free(text);
	xbt_error_free(e);
	xbt_backtrace_release(&bt);
}

#define PJ(what, s) { what, s, sizeof(s) - 1 }
static const struct bad_case bad_pyjsons[] = {
	PJ("empty input", ""),
	PJ("whitespace only", "  "),
	PJ("truncated object", "{"),
	PJ("truncated list", "{\"files\":[\"a\",\"lines\":[1]}"),
	PJ("not JSON", "not json"),
	PJ("single quotes", "{'files':['a'],'lines':[1]}"),
	PJ("an array", "[]"),
	PJ("a string", "\"str\""),
	PJ("a number", "42"),
	PJ("null", "null"),
	PJ("files a string", "{\"files\":\"a.py\",\"lines\":[1]}"),
	PJ("files of numbers", "{\"files\":[1],\"lines\":[1]}"),
	PJ("files with a null", "{\"files\":[\"a\",null],\"lines\":[1,2]}"),
	PJ("files an object", "{\"files\":{\"a\":1},\"lines\":[1]}"),
	PJ("lines of strings", "{\"files\":[\"a\"],\"lines\":[\"1\"]}"),
	PJ("lines of floats", "{\"files\":[\"a\"],\"lines\":[1.5]}"),
	PJ("lines a number", "{\"files\":[\"a\"],\"lines\":1}"),
	PJ("lines nested", "{\"files\":[\"a\"],\"lines\":[[1]]}"),
	PJ("lines of bools", "{\"files\":[\"a\"],\"lines\":[true]}"),
	PJ("trailing garbage", "{\"files\":[\"a\"],\"lines\":[1]} x"),
	PJ("two values", "{\"files\":[],\"lines\":[]}{}"),
	PJ("NUL after the value", "{\"files\":[\"a\"],\"lines\":[1]}\0"),
	PJ("NUL inside", "{\"files\":[\"a\"],\0\"lines\":[1]}"),
	PJ("raw NUL in a string", "{\"files\":[\"a\0b\"],\"lines\":[1]}"),
	PJ("unterminated string", "{\"files\":[\"a],\"lines\":[1]}"),
};

START_TEST(test_pyjson_errors)
{
	size_t n = sizeof(bad_pyjsons) / sizeof(bad_pyjsons[0]);

	for (size_t i = 0; i < n; i++)
		check_bad_pyjson(bad_pyjsons[i].what, bad_pyjsons[i].in,
				 bad_pyjsons[i].len);
	CHECK_NO_FAILS();
}
END_TEST

START_TEST(test_pyjson_bombs)
{
	char *s;
	size_t len;

	s = repeat("", "[", 2048, "", &len);
	check_bad_pyjson("2 KB of [", s, len);
	free(s);
	s = repeat("", "[", 100 * 1024, "", &len);
	check_bad_pyjson("100 KB of [", s, len);
	free(s);
	s = repeat("", "{\"a\":", 20000, "", &len);
	check_bad_pyjson("20000 nested objects", s, len);
	free(s);
	s = repeat("{\"files\":", "[", 3000, "", &len);
	check_bad_pyjson("deep files", s, len);
	free(s);
	/* Balanced but deeper than XBT_MAX_NESTING. */
	{
		xbt_buf b = XBT_BUF_INIT;

		xbt_buf_addstr(&b, "{\"files\":[],\"lines\":[],\"x\":");
		for (int i = 0; i < 4 * XBT_MAX_NESTING; i++)
			xbt_buf_addch(&b, '[');
		for (int i = 0; i < 4 * XBT_MAX_NESTING; i++)
			xbt_buf_addch(&b, ']');
		xbt_buf_addch(&b, '}');
		check_bad_pyjson("balanced 128 deep", b.buf, b.len);
		xbt_buf_release(&b);
	}
	/* Well-formed, but bigger than XBT_MAX_JSON_INPUT. */
	s = repeat("{\"error\":\"", "eeeeeeeeeeeeeeee", XBT_MAX_JSON_INPUT / 16,
		   "\",\"files\":[],\"lines\":[]}", &len);
	check_bad_pyjson("over XBT_MAX_JSON_INPUT", s, len);
	free(s);
	CHECK_NO_FAILS();
}
END_TEST

/* Strings are copied: the input may go away. Long ones are cut. */
START_TEST(test_pyjson_owns_and_cuts)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char *text = NULL, *json;
	size_t dropped = 0, len;
	xbt_error *e;

	json = repeat("{\"error\":\"E\",\"files\":[\"", "f", 3 * XBT_MAX_ATOM,
		      "\"],\"lines\":[1]}", &len);
	e = xbt_backtrace_from_pyjson(json, len, "py", &bt, &text, &dropped);
	memset(json, 'X', len);
	free(json);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(bt.n, 1);
	ck_assert_uint_eq(strlen(bt.frames[0].filename), XBT_MAX_ATOM);
	ck_assert_int_eq(bt.frames[0].filename[0], 'f');
	ck_assert_str_eq(bt.frames[0].process, "py");
	ck_assert_str_eq(text, "E");
	free(text);
	xbt_backtrace_release(&bt);
}
END_TEST

/*
 * Cutting a long name must not break the text-safety promise: a cut in
 * the middle of a multibyte character (or of a \xNN) leaves safe text.
 */
START_TEST(test_pyjson_cut_stays_safe)
{
	static const char *const tails[] = { "\\u00e9", "\\u20ac", "\\u0001",
					     "\\ud83d\\ude00", "\\u0000" };

	for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		for (int pad = XBT_MAX_ATOM - 5; pad <= XBT_MAX_ATOM; pad++) {
			xbt_backtrace bt = XBT_BACKTRACE_INIT;
			char *text = NULL, *json, tail[64];
			size_t dropped = 0, len, flen;
			xbt_error *e;

			snprintf(tail, sizeof(tail), "%s%s%s\"],\"lines\":[1]}",
				 tails[t], tails[t], tails[t]);
			json = repeat("{\"files\":[\"", "a", (size_t)pad, tail,
				      &len);
			e = read_pyjson(json, len, "py", &bt, &text, &dropped);
			free(json);
			ck_assert_ptr_null(e);
			ck_assert_uint_eq(bt.n, 1);
			flen = strlen(bt.frames[0].filename);
			ck_assert_uint_le(flen, XBT_MAX_ATOM);
			ck_assert_msg(xbt_text_is_safe(bt.frames[0].filename,
						       flen),
				      "tail %s, %d a's: file name ends in "
				      "\"%s\", not safe", tails[t], pad,
				      vis(bt.frames[0].filename + flen - 8, 8));
			free(text);
			xbt_backtrace_release(&bt);
		}
	}
}
END_TEST

/* ---- small stacks (xbtd's handler threads have about 128 KiB) ---------------- */

#if defined(__SANITIZE_ADDRESS__)
#define SMALL_STACK (512 * 1024)  /* ASan's redzones need more */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMALL_STACK (512 * 1024)
#endif
#endif
#ifndef SMALL_STACK
#define SMALL_STACK (128 * 1024)
#endif

static void *bombs_thread(void *arg)
{
	int *failures = arg;
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	char *text = NULL, *s;
	size_t dropped = 0, len;
	xbt_error *e;

	s = repeat("", "(", 100 * 1024, "", &len);
	e = xbt_backtrace_from_sexp(s, len, &bt);
	*failures += e == NULL;
	xbt_error_free(e);
	free(s);
	s = repeat("", "(", 30 * 1024, "", &len);
	memset(s + len / 2, ')', len / 2);
	e = xbt_backtrace_from_sexp(s, len, &bt);
	*failures += e == NULL;
	xbt_error_free(e);
	free(s);
	s = repeat("", "[", 100 * 1024, "", &len);
	e = xbt_backtrace_from_pyjson(s, len, "py", &bt, &text, &dropped);
	*failures += e == NULL;
	xbt_error_free(e);
	free(s);
	s = repeat("{\"files\":[],\"lines\":[],\"x\":", "[", 2048, "", &len);
	e = xbt_backtrace_from_pyjson(s, len, "py", &bt, &text, &dropped);
	*failures += e == NULL;
	xbt_error_free(e);
	free(s);
	*failures += bt.n != 0;
	xbt_backtrace_release(&bt);
	return NULL;
}

START_TEST(test_small_stack_bombs)
{
	pthread_attr_t attr;
	pthread_t t;
	int failures = 0;

	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
	ck_assert_int_eq(pthread_create(&t, &attr, bombs_thread, &failures), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
	ck_assert_int_eq(failures, 0);
}
END_TEST

/* ---- concurrency --------------------------------------------------------------- */

#define NTHREADS 8
#define NITER 1500

/* A chain without line capture (the threads share no writable state). */
static xbt_error *t_leaf(int i)
{
	return XBT_RAISE("THREAD_ERROR", i % 2 ? "odd" : "even");
}

static xbt_error *t_mid(int i)
{
	return XBT_PROPAGATE(t_leaf(i));
}

static xbt_error *t_top(int i)
{
	return XBT_PROPAGATE(t_mid(i));
}

static xbt_error *t_ref;  /* made before the threads start */

static void *worker(void *arg)
{
	int *failures = arg;

	for (int i = 0; i < NITER; i++) {
		xbt_error *e = t_top(i);
		xbt_backtrace rd = XBT_BACKTRACE_INIT;
		char *s, *s2;
		size_t len, len2;
		int l;

		if (!e || e->bt.n != 3 || !frame_same(&e->bt.frames[0],
						      &t_ref->bt.frames[0]) ||
		    !frame_same(&e->bt.frames[1], &t_ref->bt.frames[1]) ||
		    !frame_same(&e->bt.frames[2], &t_ref->bt.frames[2]) ||
		    strcmp(e->params[0], i % 2 ? "odd" : "even") != 0) {
			(*failures)++;
			xbt_error_free(e);
			continue;
		}
		l = __LINE__; e = XBT_RERAISE(e, "T", "x");
		if (e->bt.n != 4 || e->bt.frames[3].line != l ||
		    !e->bt.frames[3].is_raise || strcmp(e->params[0], "x"))
			(*failures)++;
		s = sexp_of(&e->bt, &len);
		if (xbt_backtrace_from_sexp(s, len, &rd) != NULL || rd.n != 4)
			(*failures)++;
		s2 = sexp_of(&rd, &len2);
		if (len != len2 || memcmp(s, s2, len) != 0)
			(*failures)++;
		free(s);
		free(s2);
		xbt_backtrace_release(&rd);
		xbt_error_free(e);
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t t[NTHREADS];
	int failures[NTHREADS] = { 0 };

	t_ref = t_top(0);
	ck_assert_uint_eq(t_ref->bt.n, 3);
	ck_assert_str_eq(t_ref->bt.frames[1].name, "t_mid");
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker,
						&failures[i]), 0);
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(failures[i] == 0, "thread %d: %d failures", i,
			      failures[i]);
	}
	xbt_error_free(t_ref);
}
END_TEST

/* ---- runner ------------------------------------------------------------------------ */

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("core");
	SRunner *sr;
	TCase *tc;
	int failed;

	xbt_set_process("xbtd", "h1");

	tc = tcase(s, "buf");
	tcase_add_test(tc, test_buf_init);
	tcase_add_test(tc, test_buf_add);
	tcase_add_test(tc, test_buf_addf);
	tcase_add_test(tc, test_buf_detach);
	tcase_add_test(tc, test_alloc_helpers);
	tcase_add_test(tc, test_strndup_stops_at_nul);

	tc = tcase(s, "text");
	tcase_add_test(tc, test_text_safe_table);
	tcase_add_test(tc, test_text_safe_every_byte);
	tcase_add_test(tc, test_text_safe_random);

	tc = tcase(s, "sexp_write");
	tcase_add_test(tc, test_sexp_atom_table);
	tcase_add_test(tc, test_sexp_atom_every_byte);
	tcase_add_test(tc, test_sexp_atom_appends);
	tcase_add_test(tc, test_sexp_frame_design_example);
	tcase_add_test(tc, test_sexp_frame_fields);
	tcase_add_test(tc, test_sexp_backtrace_lists);

	tc = tcase(s, "sexp_read");
	tcase_add_test(tc, test_sexp_read_current);
	tcase_add_test(tc, test_sexp_read_old_form);
	tcase_add_test(tc, test_sexp_read_empty_and_append);
	tcase_add_test(tc, test_sexp_read_respects_len);
	tcase_add_test(tc, test_sexp_read_escapes);
	tcase_add_test(tc, test_sexp_read_whitespace);
	tcase_add_test(tc, test_sexp_read_comments);
	tcase_add_test(tc, test_sexp_read_field_order);
	tcase_add_test(tc, test_sexp_read_long_atom_cut);
	tcase_add_test(tc, test_sexp_read_quoted_nul_stable);
	tcase_add_test(tc, test_sexp_read_malformed_table);
	tcase_add_test(tc, test_sexp_read_malformed_big);
	tcase_add_test(tc, test_sexp_roundtrip_random);
	tcase_add_test(tc, test_sexp_roundtrip_many_frames);

	tc = tcase(s, "human");
	tcase_add_test(tc, test_human_example);
	tcase_add_test(tc, test_human_details);
	tcase_add_test(tc, test_human_single_and_empty);
	tcase_add_test(tc, test_human_frame_consistent);
	tcase_add_test(tc, test_human_one_line_per_frame);

	tc = tcase(s, "backtrace");
	tcase_add_test(tc, test_set_process);
	tcase_add_test(tc, test_set_limits);
	tcase_add_test(tc, test_backtrace_init_release);
	tcase_add_test(tc, test_backtrace_intern);
	tcase_add_test(tc, test_push_copy_owns_strings);
	tcase_add_test(tc, test_duplicates_collapse);

	tc = tcase(s, "bounds");
	tcase_add_test(tc, test_bounds_frames);
	tcase_add_test(tc, test_bounds_elision_forms);
	tcase_add_test(tc, test_bounds_elision_read_back);
	tcase_add_test(tc, test_bounds_with_duplicates);
	tcase_add_test(tc, test_bounds_bytes);
	tcase_add_test(tc, test_bounds_glue_and_read);

	tc = tcase(s, "error");
	tcase_add_test(tc, test_file_macro_is_mapped);
	tcase_add_test(tc, test_raise);
	tcase_add_test(tc, test_raise_copies);
	tcase_add_test(tc, test_raisev);
	tcase_add_test(tc, test_propagate_chain);
	tcase_add_test(tc, test_propagate_success);
	tcase_add_test(tc, test_propagate_recursion_collapses);
	tcase_add_test(tc, test_reraise);
	tcase_add_test(tc, test_reraise_reuses_old_strings);
	tcase_add_test(tc, test_reraisev);
	tcase_add_test(tc, test_called_from_direct);
	tcase_add_test(tc, test_error_summary);
	tcase_add_test(tc, test_glue_remote);
	tcase_add_test(tc, test_glue_edge_cases);

	tc = tcase(s, "pyjson");
	tcase_add_test(tc, test_pyjson_basic);
	tcase_add_test(tc, test_pyjson_mismatched);
	tcase_add_test(tc, test_pyjson_unsafe_strings);
	tcase_add_test(tc, test_pyjson_errors);
	tcase_add_test(tc, test_pyjson_bombs);
	tcase_add_test(tc, test_pyjson_owns_and_cuts);
	tcase_add_test(tc, test_pyjson_cut_stays_safe);

	tc = tcase(s, "stress");
	tcase_add_test(tc, test_small_stack_bombs);
	tcase_add_test(tc, test_threads);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
