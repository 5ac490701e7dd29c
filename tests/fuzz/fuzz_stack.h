/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the fuzz targets: run each input on a small thread stack, as
 * xbtd's handler threads have (about 128 KiB), when XBT_FUZZ_STACK_KB is set
 * in the environment (or FUZZ_STACK_KB at compile time). Recursion that is
 * fine on an 8 MiB main stack overflows there.
 */
#ifndef XBT_FUZZ_STACK_H
#define XBT_FUZZ_STACK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken property is a finding: report it and abort, as ASan does. */
#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
			__LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

typedef void (*fuzz_fn)(const uint8_t *data, size_t size);

struct fuzz_call {
	fuzz_fn fn;
	const uint8_t *data;
	size_t size;
};

static void *fuzz_thread(void *arg)
{
	struct fuzz_call *c = arg;

	c->fn(c->data, c->size);
	return NULL;
}

static size_t fuzz_stack_bytes(void)
{
	static long kb = -1;
	const char *s;

	if (kb < 0) {
#ifdef FUZZ_STACK_KB
		kb = FUZZ_STACK_KB;
#else
		kb = 0;
#endif
		s = getenv("XBT_FUZZ_STACK_KB");
		if (s && *s)
			kb = strtol(s, NULL, 10);
		if (kb < 0)
			kb = 0;
	}
	return (size_t)kb * 1024;
}

static void fuzz_run(fuzz_fn fn, const uint8_t *data, size_t size)
{
	struct fuzz_call c = { fn, data, size };
	size_t stack = fuzz_stack_bytes();
	pthread_attr_t attr;
	pthread_t t;

	if (!stack) {
		fn(data, size);
		return;
	}
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, stack) != 0 ||
	    pthread_create(&t, &attr, fuzz_thread, &c) != 0 ||
	    pthread_join(t, NULL) != 0) {
		fprintf(stderr, "fuzz: cannot run on a %zu-byte stack\n", stack);
		abort();
	}
	pthread_attr_destroy(&attr);
}

/*
 * FUZZ_TARGET(fn): the libFuzzer entry point of a target whose body is fn.
 * Frames name the process "fuzz @ h1", as the targets' checks expect.
 */
#define FUZZ_TARGET(fn)                                                   \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)      \
	{                                                                 \
		static int ready;                                         \
		if (!ready) {                                             \
			xbt_set_process("fuzz", "h1");                    \
			ready = 1;                                        \
		}                                                         \
		fuzz_run(fn, data, size);                                 \
		return 0;                                                 \
	}

#endif
