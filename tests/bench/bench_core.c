/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_core: what the backtrace core costs (make bench).
 *
 * - XBT_RAISE (+ xbt_error_free);
 * - one propagated frame: a chain of 50 calls, each XBT_PROPAGATE-ing;
 * - writing and reading the sexp of that 50-frame backtrace;
 * - the baseline: the same 50-deep stack captured by glibc's backtrace()
 *   and backtrace_symbols();
 * - the success path: 50 calls returning NULL through XBT_PROPAGATE
 *   against 50 plain calls.
 *
 * Each figure is the median of RUNS runs; a run repeats the operation
 * for about RUN_NS of CLOCK_MONOTONIC time. The goal checked at the end:
 * <= 50 ns per propagated frame.
 */
#include "config.h"

#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xbt/backtrace.h"

#define DEPTH 50
#define RUNS 9
#define RUN_NS 20000000.0 /* 20 ms */
#define GOAL_NS 50.0

#define NOINLINE __attribute__((noinline))
/* Keeps the compiler from turning a call into a tail call or folding it. */
#define BARRIER(x) __asm__ volatile("" : "+r"(x) : : "memory")

static volatile int sink;

/* ---- the chains: level 0 is the leaf ---------------------------------- */

static NOINLINE xbt_error *ours_0(int fail)
{
	xbt_error *err = NULL;

	if (fail)
		err = XBT_RAISE("BENCH_ERROR", "param");
	BARRIER(err);
	return err;
}

static NOINLINE int plain_0(int x)
{
	BARRIER(x);
	return x;
}

static NOINLINE int glibc_0(int symbols)
{
	void *addrs[DEPTH + 16];
	int n = backtrace(addrs, DEPTH + 16);

	if (symbols) {
		char **names = backtrace_symbols(addrs, n);

		sink = names && names[0] ? names[0][0] : 0;
		free(names);
	}
	BARRIER(n);
	return n;
}

/* One level per line: each call site gets its own __LINE__. */
#define LEVEL(n, prev) \
static NOINLINE xbt_error *ours_##n(int fail) \
{ \
	xbt_error *err = XBT_PROPAGATE(ours_##prev(fail)); \
	BARRIER(err); \
	return err; \
} \
static NOINLINE int plain_##n(int x) \
{ \
	int r = plain_##prev(x); \
	BARRIER(r); \
	return r; \
} \
static NOINLINE int glibc_##n(int symbols) \
{ \
	int r = glibc_##prev(symbols); \
	BARRIER(r); \
	return r; \
}
LEVEL(1, 0)
LEVEL(2, 1)
LEVEL(3, 2)
LEVEL(4, 3)
LEVEL(5, 4)
LEVEL(6, 5)
LEVEL(7, 6)
LEVEL(8, 7)
LEVEL(9, 8)
LEVEL(10, 9)
LEVEL(11, 10)
LEVEL(12, 11)
LEVEL(13, 12)
LEVEL(14, 13)
LEVEL(15, 14)
LEVEL(16, 15)
LEVEL(17, 16)
LEVEL(18, 17)
LEVEL(19, 18)
LEVEL(20, 19)
LEVEL(21, 20)
LEVEL(22, 21)
LEVEL(23, 22)
LEVEL(24, 23)
LEVEL(25, 24)
LEVEL(26, 25)
LEVEL(27, 26)
LEVEL(28, 27)
LEVEL(29, 28)
LEVEL(30, 29)
LEVEL(31, 30)
LEVEL(32, 31)
LEVEL(33, 32)
LEVEL(34, 33)
LEVEL(35, 34)
LEVEL(36, 35)
LEVEL(37, 36)
LEVEL(38, 37)
LEVEL(39, 38)
LEVEL(40, 39)
LEVEL(41, 40)
LEVEL(42, 41)
LEVEL(43, 42)
LEVEL(44, 43)
LEVEL(45, 44)
LEVEL(46, 45)
LEVEL(47, 46)
LEVEL(48, 47)
LEVEL(49, 48)
LEVEL(50, 49)

/* ---- timing ------------------------------------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

typedef void (*op_fn)(void);

/* Median over RUNS runs of the ns one op() takes. */
static double measure(op_fn op)
{
	double runs[RUNS], t0, t;
	long iters = 1;

	/* Calibrate: double until one batch takes a tenth of a run. */
	for (;;) {
		t0 = now_ns();
		for (long i = 0; i < iters; i++)
			op();
		t = now_ns() - t0;
		if (t > RUN_NS / 10 || iters > (1L << 40))
			break;
		iters *= 2;
	}
	iters = (long)((double)iters * (RUN_NS / (t > 1 ? t : 1)));
	if (iters < 1)
		iters = 1;
	for (int r = 0; r < RUNS; r++) {
		t0 = now_ns();
		for (long i = 0; i < iters; i++)
			op();
		runs[r] = (now_ns() - t0) / (double)iters;
	}
	qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
	return runs[RUNS / 2];
}

/* ---- the operations ------------------------------------------------------------ */

static xbt_buf wbuf = XBT_BUF_INIT;
static char *sexp50;
static size_t sexp50_len;

static void op_raise(void)
{
	xbt_error_free(XBT_RAISE("BENCH_ERROR", "param"));
}

static void op_leaf(void)
{
	xbt_error_free(ours_0(1));
}

static void op_chain(void)
{
	xbt_error_free(ours_50(1));
}

static void op_success(void)
{
	xbt_error *e = ours_50(0);

	BARRIER(e);
}

static void op_plain(void)
{
	int r = plain_50(0);

	BARRIER(r);
}

static void op_glibc(void)
{
	sink = glibc_50(1);
}

static void op_glibc_nosym(void)
{
	sink = glibc_50(0);
}

static xbt_error *chain_err;

static void op_write(void)
{
	xbt_buf_reset(&wbuf);
	xbt_backtrace_to_sexp(&chain_err->bt, &wbuf);
}

static void op_read(void)
{
	xbt_backtrace bt = XBT_BACKTRACE_INIT;
	xbt_error *e = xbt_backtrace_from_sexp(sexp50, sexp50_len, &bt);

	if (e)
		abort();
	xbt_backtrace_release(&bt);
}

int main(void)
{
	double raise, leaf, chain, frame, write, rd, glibc, glibc_nosym;
	double success, plain;
	xbt_buf tmp = XBT_BUF_INIT;
	int frames;

	xbt_set_process("bench", "h1");
	chain_err = ours_50(1);
	if (chain_err->bt.n != DEPTH + 1) {
		fprintf(stderr, "bench: expected %d frames, got %zu\n",
			DEPTH + 1, chain_err->bt.n);
		return 1;
	}
	xbt_backtrace_to_sexp(&chain_err->bt, &tmp);
	sexp50 = xbt_buf_detach(&tmp, &sexp50_len);
	frames = glibc_50(0);

	raise = measure(op_raise);
	leaf = measure(op_leaf);
	chain = measure(op_chain);
	frame = (chain - leaf) / DEPTH;
	write = measure(op_write);
	rd = measure(op_read);
	glibc = measure(op_glibc);
	glibc_nosym = measure(op_glibc_nosym);
	success = measure(op_success);
	plain = measure(op_plain);

	printf("libxbt backtrace core, median of %d runs of ~%.0f ms each\n",
	       RUNS, RUN_NS / 1e6);
	printf("  XBT_RAISE + xbt_error_free           %9.1f ns\n", raise);
	printf("  raise 1 deep (leaf of the chain)     %9.1f ns\n", leaf);
	printf("  raise 50 deep, 50 XBT_PROPAGATE      %9.1f ns\n", chain);
	printf("  per propagated frame                 %9.1f ns\n", frame);
	printf("  sexp write, %d frames (%zu bytes)   %9.1f ns\n", DEPTH + 1,
	       sexp50_len, write);
	printf("  sexp read, %d frames                 %9.1f ns\n", DEPTH + 1,
	       rd);
	printf("glibc baseline, same stack (%d frames seen)\n", frames);
	printf("  backtrace() + backtrace_symbols()    %9.1f ns\n", glibc);
	printf("  backtrace() alone                    %9.1f ns\n", glibc_nosym);
	printf("ratios (ours / glibc backtrace()+backtrace_symbols())\n");
	printf("  50-deep error (raise+propagate+free) %9.3f\n", chain / glibc);
	printf("  ... plus sexp write                  %9.3f\n",
	       (chain + write) / glibc);
	printf("  50-deep error / backtrace() alone    %9.3f\n",
	       chain / glibc_nosym);
	printf("success path, 50 calls\n");
	printf("  returning NULL via XBT_PROPAGATE     %9.1f ns (%.2f ns/call)\n",
	       success, success / DEPTH);
	printf("  plain calls                          %9.1f ns (%.2f ns/call)\n",
	       plain, plain / DEPTH);
	printf("  overhead per call                    %9.2f ns\n",
	       (success - plain) / DEPTH);
	printf("goal: <= %.0f ns per propagated frame: %s (%.1f ns)\n", GOAL_NS,
	       frame <= GOAL_NS ? "met" : "NOT met", frame);

	free(sexp50);
	xbt_buf_release(&wbuf);
	xbt_error_free(chain_err);
	return 0;
}
