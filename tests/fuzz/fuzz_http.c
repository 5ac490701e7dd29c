/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the HTTP front's request framing. The front runs in
 * this process (libmicrohttpd's threads, our connection records, limits
 * and call threads) on a Unix-domain socket, with a callback that answers
 * like tests/http_echo; each input is the byte stream of one connection,
 * sent whole, then the write side is closed and the answers read.
 *
 * Properties checked besides "no crash, leak or UB" in the front:
 * a. the server's bytes are a sequence of HTTP/1.x answers, each with a
 *    status line, headers and a body of its Content-Length (the last one
 *    may be cut short by the read's time limit), never 500 and only codes
 *    the front or libmicrohttpd are meant to give;
 * b. nothing follows an answer that said "Connection: close";
 * c. no answer names a library;
 * d. the server keeps serving: every 64 inputs a fresh connection's good
 *    request gets 200 within 2 s.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_stack.h"
#include "http.h"
#include "xbt/buf.h"

/* How long one input's answers are read for, at most. */
#define FUZZ_READ_MS 300
#define FUZZ_OUT_MAX (256 * 1024)

static struct http_server *fuzz_server;
static char fuzz_dir[64];
static char fuzz_path[108];

static bool fuzz_echo(void *ctx, struct http_park *park,
		      enum http_proto proto, const char *body, size_t len,
		      xbt_buf *out)
{
	(void)ctx;
	(void)body;
	/* Parked answers: answered at once, from the calling thread. */
	if (park && len && body[0] == 'P') {
		xbt_buf b = XBT_BUF_INIT;
		xbt_buf_addf(&b, "parked len:%zu", len);
		http_park_answer(park, &b);
		xbt_buf_release(&b);
		return true;
	}
	xbt_buf_addf(out, "%s len:%zu", proto == HTTP_JSONRPC ? "json" : "xml",
		     len);
	return false;
}

static int64_t fuzz_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fuzz_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	FUZZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
	memcpy(sun.sun_path, fuzz_path, strlen(fuzz_path) + 1);
	FUZZ_CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
		   "connect: %s", strerror(errno));
	return fd;
}

/* Sends what the server takes; it may answer and close before the end. */
static void fuzz_send(int fd, const uint8_t *data, size_t size)
{
	int64_t until = fuzz_now_ms() + FUZZ_READ_MS;

	while (size > 0 && fuzz_now_ms() < until) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		data += n;
		size -= (size_t)n;
	}
	shutdown(fd, SHUT_WR);
}

/* Reads until the server closes or ms pass. */
static void fuzz_read(int fd, xbt_buf *out, int ms)
{
	int64_t until = fuzz_now_ms() + ms;
	char buf[16384];

	while (out->len < FUZZ_OUT_MAX) {
		int64_t left = until - fuzz_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		xbt_buf_add(out, buf, (size_t)n);
	}
}

static bool fuzz_status_expected(int status)
{
	static const int ok[] = { 100, 200, 204, 400, 405, 408, 411, 413,
				  414, 417, 431, 501, 503, 505 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (status == ok[i])
			return true;
	return false;
}

/* Checks a, b and c over the bytes read; returns the answers seen. */
static unsigned fuzz_check_answers(const char *p, size_t len)
{
	const char *end = p + len;
	unsigned answers = 0;
	bool closed = false;

	FUZZ_CHECK(!memmem(p, len, "microhttpd", 10) &&
		   !memmem(p, len, "xmlrpc", 6), "a library is named: %.*s",
		   (int)len, p);
	while (p < end) {
		const char *hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		const char *line;
		size_t body = 0;
		bool has_length = false;
		int status;

		FUZZ_CHECK(!closed, "bytes after Connection: close: %.*s",
			   (int)(end - p), p);
		FUZZ_CHECK((size_t)(end - p) < 9 || memcmp(p, "HTTP/1.", 7) == 0,
			   "not an HTTP answer: %.*s", (int)(end - p), p);
		if (!hdr_end)
			break;  /* cut short by the time limit */
		FUZZ_CHECK(sscanf(p, "HTTP/1.%*d %3d", &status) == 1,
			   "no status: %.*s", (int)(hdr_end - p), p);
		FUZZ_CHECK(fuzz_status_expected(status), "status %d: %.*s",
			   status, (int)(hdr_end - p), p);
		for (line = memchr(p, '\n', (size_t)(hdr_end - p));
		     line && line < hdr_end;
		     line = memchr(line, '\n', (size_t)(hdr_end - line))) {
			line++;
			if (strncasecmp(line, "Content-Length:", 15) == 0) {
				body = strtoul(line + 15, NULL, 10);
				has_length = true;
			}
			else if (strncasecmp(line, "Connection: close", 17) == 0)
				closed = true;
		}
		/*
		 * libmicrohttpd 0.9.75 writes the header block of its answer
		 * to a Content-Length it cannot read twice (the status stays
		 * right and the connection closes): a known defect, skipped.
		 */
		if (closed && (size_t)(end - hdr_end - 4) >=
		    (size_t)(hdr_end + 4 - p) &&
		    memcmp(hdr_end + 4, p, (size_t)(hdr_end + 4 - p)) == 0)
			hdr_end += hdr_end + 4 - p;
		p = hdr_end + 4;
		if (status == 100)
			continue;  /* interim: the answer follows */
		answers++;
		/* An answer to HEAD has a length but no body; no body here
		 * starts like an answer. */
		if ((size_t)(end - p) >= 7 && memcmp(p, "HTTP/1.", 7) == 0)
			continue;
		/* Without a length, an answer that closes runs to the end. */
		if (closed && !has_length)
			break;
		if ((size_t)(end - p) < body)
			break;
		p += body;
	}
	return answers;
}

/* d: a good request on a fresh connection. */
static void fuzz_check_alive(void)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 5\r\nConnection: close\r\n\r\nalive";
	xbt_buf out = XBT_BUF_INIT;
	int fd = fuzz_connect();

	fuzz_send(fd, (const uint8_t *)req, sizeof(req) - 1);
	fuzz_read(fd, &out, 2000);
	close(fd);
	FUZZ_CHECK(out.len > 12 && memcmp(out.buf, "HTTP/1.1 200", 12) == 0 &&
		   strstr(out.buf, "xml len:5"), "not served: %s", out.buf);
	xbt_buf_release(&out);
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	static unsigned runs;
	xbt_buf out = XBT_BUF_INIT;
	int fd = fuzz_connect();

	fuzz_send(fd, data, size);
	fuzz_read(fd, &out, FUZZ_READ_MS);
	close(fd);
	fuzz_check_answers(out.buf, out.len);
	xbt_buf_release(&out);
	if (++runs % 64 == 0)
		fuzz_check_alive();
}

static void fuzz_stop(void)
{
	http_stop(fuzz_server);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct http_config cfg = { .max_body = 4096, .request_s = 2,
				   .keepalive_s = 2, .max_conn = 256 };
	xbt_error *err;

	(void)argc;
	(void)argv;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/xbt-fuzz-http-XXXXXX");
	FUZZ_CHECK(mkdtemp(fuzz_dir), "mkdtemp: %s", strerror(errno));
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/sock", fuzz_dir);
	cfg.addr = fuzz_path;
	err = http_start(&cfg, fuzz_echo, NULL, &fuzz_server);
	FUZZ_CHECK(!err, "http_start failed");
	atexit(fuzz_stop);
	return 0;
}

FUZZ_TARGET(fuzz_one)
