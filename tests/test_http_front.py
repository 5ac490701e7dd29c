#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The HTTP front's limits and framing through tests/http_echo, raw
sockets only: connection limits (total and per client address) and their
503, the keep-alive and whole-request timeouts, request framing
(Content-Length, Transfer-Encoding, header and path sizes, pipelining,
100-continue, HTTP/1.0 and Connection: close), 2,000 concurrent
connections, descriptors and threads after a burst (from /proc), the stop
with 500 idle connections, and the Unix-domain socket.

tests/test_http.py covers routing, CORS and the body limit; this file the
front's own contract. Timing bounds are generous (a loaded 2-CPU machine,
ASan builds); status codes and headers are exact.

Run by `make check` (XBT_BUILDDIR names the build tree) or directly from a
build tree. Standard library only.
"""

import json
import os
import re
import select
import selectors
import shutil
import socket
import stat
import struct
import sys
import tempfile
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import raise_nofile  # noqa: E402

ECHO = os.path.join(fx.BUILDDIR, "tests", "http_echo")

# "At once": a 503, an answer to a fast call, an EOF that should follow an
# answer. Milliseconds normally; seconds under ASan on a loaded machine.
PROMPT = 3.0
# The longest a test waits for an answer it expects.
READ_TIMEOUT = 15.0
CONNECT_TIMEOUT = 15.0

# Nothing the front writes names what it is built on or its version.
FORBIDDEN = re.compile(r"(?i)xmlrpc|abyss|libmicrohttpd|mhd")
VERSION = re.compile(r"\d+\.\d+\.\d+")




NOFILE = raise_nofile()


# ---- the server -------------------------------------------------------------

class Echo(fx.Server):
    """One running tests/http_echo (started at once); stop() checks its
    exit as the fixture does xbtd's. addr: a TCP address or a socket path."""

    name = "http_echo"

    def __init__(self, *args):
        self.path = None
        if "--addr" in args:
            addr = args[list(args).index("--addr") + 1]
            if addr.startswith("/"):
                self.path = addr
        super().__init__([ECHO] + list(args), r"listening on (?P<port>\d+)")
        self.start()

    @property
    def pid(self):
        return self.proc.pid

    def conn(self, source=None):
        """A new connection (from source, a loopback address, if given)."""
        if self.path:
            return Conn.unix(self.path)
        return Conn.tcp(self.port, source)

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def threads(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        raise AssertionError("no Threads: line for %d" % self.pid)

    def wait_fds(self, at_least, timeout=PROMPT):
        """Waits (at most timeout) until the server holds at_least
        descriptors: the connections just opened were accepted."""
        return wait_for(lambda: self.fds() >= at_least, timeout)


def wait_for(cond, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


# ---- requests and responses -------------------------------------------------

def post(path=b"/", body=b"x", headers=(), version=b"HTTP/1.1"):
    req = b"POST %s %s\r\nHost: x\r\nContent-Length: %d\r\n" % (
        path, version, len(body))
    for h in headers:
        req += h + b"\r\n"
    return req + b"\r\n" + body


def get(path=b"/"):
    return b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lower-case name, value)]
        self.body = body

    def header(self, name):
        """The one value of a header (None when absent); a header sent
        twice is an error."""
        values = [v for n, v in self.headers if n == name.lower()]
        if len(values) > 1:
            raise AssertionError("header %s sent %d times: %r"
                                 % (name, len(values), self))
        return values[0] if values else None

    def __repr__(self):
        return "<%s %d %s %r body %r>" % (self.version, self.status,
                                          self.reason, self.headers,
                                          self.body[:300])


class BadResponse(AssertionError):
    pass


def parse_response(buf, eof):
    """One response from the start of buf: (Response, bytes used), or None
    while more is needed. eof: nothing more will come."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if eof and buf:
            raise BadResponse("connection closed in a response head: %r"
                              % buf[:300])
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    m = re.fullmatch(r"(HTTP/\d\.\d) (\d{3}) ?(.*)", lines[0])
    if not m:
        raise BadResponse("bad status line %r" % lines[0])
    version, status, reason = m.group(1), int(m.group(2)), m.group(3)
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise BadResponse("bad header line %r" % line)
        headers.append((name.strip().lower(), value.strip()))
    r = Response(version, status, reason, headers, b"")
    pos = end + 4
    # libmicrohttpd 0.9.75 writes the head of its own answer to a
    # Content-Length it cannot read (400, or 413 when it overflows) twice;
    # the status and the close are right (doc/design.md, "The HTTP
    # front"). The repeated head is skipped here, and only there.
    if status in (400, 413) and buf[pos:pos + end + 4] == buf[:end + 4]:
        pos += end + 4
    te = r.header("transfer-encoding")
    cl = r.header("content-length")
    if 100 <= status < 200 or status in (204, 304):
        return r, pos
    if te is not None and te.lower() == "chunked":
        body = b""
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(buf[pos:eol].split(b";")[0], 16)
            if size == 0:
                # No trailers from this front: the last CRLF follows.
                if len(buf) < eol + 4:
                    break
                r.body = body
                return r, eol + 4
            if len(buf) < eol + 2 + size + 2:
                break
            body += buf[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
        if eof:
            raise BadResponse("connection closed in a chunked body")
        return None
    if cl is not None:
        n = int(cl)
        if len(buf) - pos < n:
            if eof:
                raise BadResponse("connection closed %d bytes into a "
                                  "%d-byte body" % (len(buf) - pos, n))
            return None
        r.body = buf[pos:pos + n]
        return r, pos + n
    if eof:  # delimited by the close
        r.body = buf[pos:]
        return r, len(buf)
    return None


class Conn:
    """A client connection read by hand: several responses on one
    connection, the EOF after them, and no thread per connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    @classmethod
    def tcp(cls, port, source=None):
        sock = socket.create_connection(
            ("127.0.0.1", port), CONNECT_TIMEOUT,
            source_address=(source, 0) if source else None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    @classmethod
    def unix(cls, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(path)
        return cls(sock)

    def send(self, data):
        """Sends; False when the server had already closed (its close may
        come before it reads everything, e.g. after an error answer)."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:  # EPIPE, ECONNRESET
            return False

    def feed(self):
        """One recv (call it when the socket is readable)."""
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError:
            data = b""
        if data:
            self.buf += data
        else:
            self.eof = True

    def readable(self, timeout):
        p = select.poll()
        p.register(self.sock.fileno(), select.POLLIN)
        return bool(p.poll(max(0, int(timeout * 1000))))

    def poll(self, timeout):
        """Reads what arrives within timeout (one recv at most)."""
        if not self.eof and self.readable(timeout):
            self.feed()

    def try_response(self):
        got = parse_response(self.buf, self.eof)
        if got is None:
            return None
        r, used = got
        self.buf = self.buf[used:]
        return r

    def response_or_close(self, timeout=READ_TIMEOUT):
        """The next response (1xx included), or None when the server
        closed without one. AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.try_response()
            if r is not None:
                return r
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no response within %.0f s (have %r)"
                                     % (timeout, self.buf[:300]))
            self.poll(left)

    def response(self, timeout=READ_TIMEOUT):
        r = self.response_or_close(timeout)
        if r is None:
            raise AssertionError("the server closed the connection "
                                 "without a response")
        return r

    def closed_within(self, timeout=PROMPT):
        """Waits for the EOF: (closed, bytes that came first)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.poll(left)
        extra, self.buf = self.buf, b""
        return self.eof, extra

    def quiet(self):
        """True when nothing (no bytes, no EOF) has come unasked."""
        self.poll(0)
        return not self.eof and not self.buf

    def reset(self):
        """Closes with an RST (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.close()

    def close(self):
        self.sock.close()


def exchange_all(conns, requests, timeout):
    """Sends requests[i] on conns[i] (small requests: a send does not
    block), then reads one response from each, all at once with a
    selector. Returns the responses (None: closed without one)."""
    for c, req in zip(conns, requests):
        c.send(req)
    out = [None] * len(conns)
    sel = selectors.DefaultSelector()
    waiting = 0
    for i, c in enumerate(conns):
        r = c.try_response()
        if r is not None or c.eof:
            out[i] = r
        else:
            sel.register(c.sock, selectors.EVENT_READ, i)
            waiting += 1
    deadline = time.monotonic() + timeout
    try:
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%d of %d responses missing after "
                                     "%.0f s" % (waiting, len(conns),
                                                 timeout))
            for key, _ in sel.select(min(left, 1.0)):
                i = key.data
                c = conns[i]
                c.feed()
                r = c.try_response()
                if r is not None or c.eof:
                    out[i] = r
                    sel.unregister(c.sock)
                    waiting -= 1
    finally:
        sel.close()
    return out


def close_all(conns):
    for c in conns:
        c.close()
    del conns[:]


# ---- assertions -------------------------------------------------------------

class FrontTestCase(unittest.TestCase):
    def assert_xml(self, r, n):
        """A served XML-RPC call with an n-byte body."""
        self.assertIsNotNone(r, "closed without a response")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/xml", r)
        (value,), _ = xmlrpc.client.loads(r.body)
        self.assertEqual(value, {"Status": "Success",
                                 "Value": "proto:xml len:%d" % n})

    def assert_json(self, r, n):
        self.assertIsNotNone(r, "closed without a response")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "application/json", r)
        self.assertEqual(json.loads(r.body)["result"],
                         "proto:json len:%d" % n)

    def assert_page(self, r):
        """The answer to a GET."""
        self.assertIsNotNone(r, "closed without a response")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/plain", r)
        self.assertIn(b"xbtd", r.body)

    def assert_clean(self, r):
        """Not a 500, and nothing in the head or body names the library
        the front is built on or a version."""
        self.assertNotEqual(r.status, 500, r)
        text = r.reason + "\n" + "\n".join(
            "%s: %s" % h for h in r.headers) + "\n" + \
            r.body.decode("latin-1")
        self.assertIsNone(FORBIDDEN.search(text), r)
        self.assertIsNone(VERSION.search(text), r)

    def assert_error(self, r, status, close=True):
        """An error answer: the status, a clean page, and with close
        "Connection: close"."""
        self.assertIsNotNone(r, "closed without a %d" % status)
        self.assertEqual(r.status, status, r)
        self.assert_clean(r)
        if close:
            self.assertEqual((r.header("connection") or "").lower(),
                             "close", r)

    def assert_closes(self, c, what="the connection"):
        """The server closes c at once, sending nothing more."""
        closed, extra = c.closed_within(PROMPT)
        self.assertEqual(extra, b"", "%s: bytes after the answer" % what)
        self.assertTrue(closed, "%s: not closed within %.0f s"
                        % (what, PROMPT))

    def assert_503(self, c):
        """A new connection c, which sends nothing, is refused at once."""
        t0 = time.monotonic()
        r = c.response(PROMPT)
        took = time.monotonic() - t0
        self.assertEqual((r.version, r.status, r.reason),
                         ("HTTP/1.1", 503, "Service Unavailable"), r)
        self.assertEqual(r.header("connection"), "close", r)
        self.assertEqual(r.header("retry-after"), "1", r)
        self.assertRegex(r.header("content-type") or "",
                         r"^text/plain(;|$)", r)
        self.assertTrue(r.body, r)
        self.assert_clean(r)
        self.assert_closes(c, "a refused connection")
        return took

    def assert_served(self, echo, within=PROMPT, source=None):
        """A new client gets a call served within the time given."""
        t0 = time.monotonic()
        c = echo.conn(source)
        try:
            c.send(post(body=b"other"))
            self.assert_xml(c.response(within), 5)
        finally:
            c.close()
        took = time.monotonic() - t0
        self.assertLess(took, within)
        return took

    def assert_served_soon(self, echo, within, source=None):
        """A new client is served within the time given, retrying while
        it is refused with a 503 (the server has yet to see a close)."""
        deadline = time.monotonic() + within
        while True:
            c = echo.conn(source)
            try:
                c.send(post(body=b"again"))
                r = c.response(PROMPT)
                if r.status != 503:
                    self.assert_xml(r, 5)
                    return
            finally:
                c.close()
            self.assertLess(time.monotonic(), deadline,
                            "still refused %.0f s after a connection "
                            "closed: %r" % (within, r))
            time.sleep(0.05)


# ---- 1. connection limits ---------------------------------------------------

class LimitsTestCase(FrontTestCase):
    def hold(self, echo, n, sources):
        """n idle connections (nothing sent), round-robin over sources,
        each accepted by the server before this returns."""
        base = echo.fds()
        held = [echo.conn(sources[i % len(sources)]) for i in range(n)]
        # Only to order the refused connection after these: the server
        # need not have accepted them all when the next one arrives.
        echo.wait_fds(base + n)
        return held

    def test_total_limit(self):
        echo = Echo("--max-connections", "20")
        held, others = [], []
        try:
            # Five from each of four addresses: the total is what is full.
            held = self.hold(echo, 20, ["127.0.0.%d" % i
                                        for i in range(1, 5)])
            for source in ("127.0.0.5", "127.0.0.1"):
                c = echo.conn(source)
                others.append(c)
                took = self.assert_503(c)
                print("\n503 past --max-connections 20 in %.0f ms"
                      % (took * 1000), file=sys.stderr)
            self.assert_held_then_freed(echo, held, "127.0.0.6")
        finally:
            close_all(held)
            close_all(others)
            echo.stop()

    def assert_held_then_freed(self, echo, held, source):
        """The held connections were told nothing and are served; once
        one closes, a new client from source is served."""
        for i, c in enumerate(held):
            self.assertTrue(c.quiet(), "held connection %d got %r"
                            % (i, c.buf or "EOF"))
        held[0].send(post(body=b"held"))
        self.assert_xml(held[0].response(), 4)
        held.pop().close()
        self.assert_served_soon(echo, 2.0, source)

    def test_per_ip_limit(self):
        echo = Echo("--max-connections-per-ip", "5")
        held, others = [], []
        try:
            held = self.hold(echo, 5, ["127.0.0.1"])
            c = echo.conn("127.0.0.1")
            others.append(c)
            took = self.assert_503(c)
            print("\n503 past --max-connections-per-ip 5 in %.0f ms"
                  % (took * 1000), file=sys.stderr)
            # Another address is not limited by 127.0.0.1's connections,
            # and several connections from it are fine.
            two = [echo.conn("127.0.0.2") for _ in range(2)]
            others += two
            for i, r in enumerate(exchange_all(
                    two, [post(body=b"from2")] * 2, READ_TIMEOUT)):
                with self.subTest(other=i):
                    self.assert_xml(r, 5)
            self.assert_held_then_freed(echo, held, "127.0.0.1")
        finally:
            close_all(held)
            close_all(others)
            echo.stop()


# ---- 2. timeouts ------------------------------------------------------------

def wait_closes(conns, timeout):
    """Waits for the server to close each connection: for each, (seconds
    from now to the EOF or None, bytes that came before it)."""
    t0 = time.monotonic()
    at = [None] * len(conns)
    sel = selectors.DefaultSelector()
    for i, c in enumerate(conns):
        if c.eof:
            at[i] = 0.0
        else:
            sel.register(c.sock, selectors.EVENT_READ, i)
    try:
        while any(t is None for t in at):
            left = t0 + timeout - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(left):
                c = conns[key.data]
                c.feed()
                if c.eof:
                    at[key.data] = time.monotonic() - t0
                    sel.unregister(c.sock)
    finally:
        sel.close()
    return [(t, c.buf) for t, c in zip(at, conns)]


class KeepaliveTestCase(FrontTestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = Echo("--keepalive", "2")

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()  # exit status 0, no sanitizer report

    def test_idle_connections_are_closed(self):
        # A connection that never sent anything, and one idle after a
        # request: each closed about 2 s after it went idle, with no
        # bytes; meanwhile others are served.
        fresh = self.echo.conn()
        t_fresh = time.monotonic()
        used = self.echo.conn()
        try:
            used.send(post(body=b"abc"))
            self.assert_xml(used.response(), 3)
            self.assertEqual(used.try_response(), None)
            t_used = time.monotonic()
            time.sleep(1.0)
            self.assert_served(self.echo)
            t = time.monotonic()
            (a, extra_a), (b, extra_b) = wait_closes([fresh, used], 10)
            self.assertIsNotNone(a, "a fresh idle connection still open "
                                 "after 11 s")
            self.assertIsNotNone(b, "an idle keep-alive connection still "
                                 "open after 11 s")
            a += t - t_fresh
            b += t - t_used
            print("\n--keepalive 2: idle connections closed after %.1f s "
                  "(fresh) and %.1f s (after a request)" % (a, b),
                  file=sys.stderr)
            self.assertEqual(extra_a, b"")
            self.assertEqual(extra_b, b"")
            self.assertGreaterEqual(a, 1.0)
            self.assertLessEqual(a, 6.0)
            self.assertGreaterEqual(b, 1.0)
            self.assertLessEqual(b, 6.0)
        finally:
            fresh.close()
            used.close()

    def test_a_started_request_is_not_idle(self):
        # --keepalive only closes connections with no request started: a
        # request whose head comes a byte per 0.5 s for 4 s (well within
        # the default --request-timeout of 30 s) is served.
        c = self.echo.conn()
        try:
            c.send(b"POST / HTTP/1.1\r\nX-Slow: ")
            for b in b"abcdef\r\n":
                time.sleep(0.5)
                c.send(bytes([b]))
            c.send(b"Content-Length: 3\r\n\r\nabc")
            self.assert_xml(c.response(), 3)
        finally:
            c.close()


class RequestTimeoutTestCase(FrontTestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = Echo("--request-timeout", "2", "--keepalive", "30")

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()  # exit status 0, no sanitizer report

    def trickle(self, c, data, t0, every=0.5, give_up=12.0):
        """Sends data a byte every `every` s until the server answers or
        closes; serves another client 1 s in. Returns (seconds from t0
        to the answer or close, the answer or None)."""
        served = False
        i = 0
        next_at = time.monotonic()
        while not c.buf and not c.eof:
            now = time.monotonic()
            self.assertLess(now - t0, give_up, "neither an answer nor a "
                            "close %.0f s into a slow request" % give_up)
            if not served and now - t0 >= 1.0:
                self.assert_served(self.echo)
                served = True
                continue
            if now >= next_at and i < len(data):
                c.send(data[i:i + 1])
                i += 1
                next_at += every
            c.poll(min(max(next_at - time.monotonic(), 0.01), 0.1))
        took = time.monotonic() - t0
        return took, c.response_or_close(PROMPT)

    def assert_timed_out(self, c, took, r, what):
        print("\n--request-timeout 2, %s: %s after %.1f s"
              % (what, "%d" % r.status if r else "closed", took),
              file=sys.stderr)
        if r is not None:
            self.assert_error(r, 408)
            self.assert_closes(c, "after the 408")
        self.assertGreaterEqual(took, 1.0)
        self.assertLessEqual(took, 6.0)

    def test_slow_head(self):
        c = self.echo.conn()
        try:
            t0 = time.monotonic()
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\n")
            took, r = self.trickle(c, b"X-Slow: " + b"a" * 200, t0)
            self.assert_timed_out(c, took, r, "a slow head")
        finally:
            c.close()

    def test_slow_body(self):
        c = self.echo.conn()
        try:
            t0 = time.monotonic()
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                   b"\r\n")
            took, r = self.trickle(c, b"b" * 100, t0)
            self.assert_timed_out(c, took, r, "a slow body")
        finally:
            c.close()

    def test_idle_connections_are_kept(self):
        # Idle connections, fresh or after a request, are --keepalive's
        # (30 s here): twice --request-timeout later both are served.
        fresh = self.echo.conn()
        used = self.echo.conn()
        try:
            used.send(post(body=b"abc"))
            self.assert_xml(used.response(), 3)
            time.sleep(4.5)
            for name, c in (("fresh", fresh), ("used", used)):
                with self.subTest(conn=name):
                    self.assertTrue(c.quiet(), "%s idle connection got %r"
                                    % (name, c.buf or "EOF"))
                    c.send(post(body=b"later"))
                    self.assert_xml(c.response(), 5)
        finally:
            fresh.close()
            used.close()

    def test_a_slow_call_is_not_a_slow_request(self):
        # The request is whole at once; the call then takes 3 s, more
        # than --request-timeout: it is answered.
        c = self.echo.conn()
        try:
            c.send(post(body=b"sleep:3000"))
            self.assert_xml(c.response(), 10)
        finally:
            c.close()


# ---- 3.-5. framing ----------------------------------------------------------

class FramingTestCase(FrontTestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = Echo()

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()  # exit status 0, no sanitizer report

    def send(self, data):
        """A new connection that has sent data."""
        c = self.echo.conn()
        c.send(data)
        self.addCleanup(c.close)
        return c

    def assert_alive(self):
        self.assert_served(self.echo)
        self.assertTrue(self.echo.alive())

    # -- Content-Length and Transfer-Encoding

    def test_two_content_lengths_are_400_and_no_smuggling(self):
        # Whichever length a server believed, what follows holds a whole
        # second request: one answer, 400, then the close.
        inner = b"GET /s HTTP/1.1\r\nHost: smuggled\r\n\r\n"
        body = b"abcde" + inner
        self.assertEqual(len(body), 40)
        after = b"GET /t HTTP/1.1\r\nHost: x\r\n\r\n"
        for first, second in ((5, 40), (40, 5)):
            with self.subTest(lengths=(first, second)):
                c = self.send(
                    b"POST / HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
                    % (first, second) + body + after)
                self.assert_error(c.response(), 400)
                self.assert_closes(c, "after the 400")
        self.assert_alive()

    def test_chunked_and_content_length_are_400(self):
        c = self.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n"
                      b"3\r\nabc\r\n0\r\n\r\n" + get(b"/t"))
        self.assert_error(c.response(), 400)
        self.assert_closes(c, "after the 400")
        c = self.send(b"POST / HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"
                      b"\r\n3\r\nabc\r\n0\r\n\r\n" + get(b"/t"))
        self.assert_error(c.response(), 400)
        self.assert_closes(c, "after the 400")
        self.assert_alive()

    def test_other_transfer_encodings_are_501(self):
        for te in (b"gzip", b"deflate"):
            with self.subTest(te=te):
                c = self.send(b"POST / HTTP/1.1\r\nHost: x\r\n"
                              b"Transfer-Encoding: %s\r\n\r\nabc" % te)
                self.assert_error(c.response(), 501)
                self.assert_closes(c, "after the 501")
        self.assert_alive()

    def test_post_without_length_is_411(self):
        c = self.send(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.response()
        self.assert_error(r, 411, close=False)
        if (r.header("connection") or "").lower() == "close":
            self.assert_closes(c, "after the 411")
        else:  # the request had no body: the connection may go on
            c.send(post(body=b"next"))
            self.assert_xml(c.response(), 4)
        self.assert_alive()

    # -- sizes

    def test_head_over_32k_is_431(self):
        cases = {
            "one 40 KiB header": b"X-Big: " + b"a" * 40960 + b"\r\n",
            "5,000 small headers": b"".join(b"X-%d: y\r\n" % i
                                            for i in range(5000)),
        }
        for name, headers in cases.items():
            with self.subTest(case=name):
                c = self.send(b"POST / HTTP/1.1\r\nHost: x\r\n" + headers +
                              b"Content-Length: 1\r\n\r\nx")
                self.assert_error(c.response(), 431, close=False)
        self.assert_alive()

    def test_path_over_32k_is_414(self):
        c = self.send(post(b"/" + b"p" * 40960))
        self.assert_error(c.response(), 414, close=False)
        c = self.send(get(b"/" + b"g" * 40960))
        self.assert_error(c.response(), 414, close=False)
        self.assert_alive()

    def test_head_and_path_under_the_limits_are_served(self):
        # Heads of about 30,000 bytes: under 32 KiB with room to spare.
        c = self.send(post(headers=[b"X-Big: " + b"a" * 30000]))
        self.assert_xml(c.response(), 1)
        c = self.send(post(b"/" + b"p" * 30000))
        self.assert_xml(c.response(), 1)

    # -- error pages

    def test_error_pages_name_no_library(self):
        # Each answer is checked by assert_error (no 500, nothing that
        # names the library or a version, Connection: close where due);
        # an answer that says close is followed by nothing but the close.
        cases = [
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
             400, True),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
             400, True),
            (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
             405, False),
            (b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
            (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411, False),
            (post(b"/" + b"p" * 40960), 414, False),
            (post(headers=[b"X-Big: " + b"a" * 40960]), 431, False),
            (b"POST / HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: gzip\r\n\r\n", 501, True),
        ]
        for data, status, close in cases:
            with self.subTest(status=status, data=data[:60]):
                c = self.send(data)
                r = c.response()
                self.assert_error(r, status, close)
                if status == 405:
                    self.assertEqual(r.header("allow"),
                                     "GET, HEAD, POST, OPTIONS")
                if (r.header("connection") or "").lower() == "close":
                    self.assert_closes(c, "after the %d" % status)

    # -- pipelining

    def test_three_pipelined_requests(self):
        c = self.send(post(b"/", b"one") +
                      post(b"/jsonrpc", b'{"p": 2}') +
                      get(b"/"))
        self.assert_xml(c.response(), 3)
        self.assert_json(c.response(), 8)
        self.assert_page(c.response())
        # The connection goes on.
        self.assertTrue(c.quiet())
        c.send(post(b"/", b"four"))
        self.assert_xml(c.response(), 4)

    def test_pipelined_behind_a_slow_call(self):
        t0 = time.monotonic()
        c = self.send(post(b"/", b"sleep:300") + post(b"/jsonrpc", b"fast"))
        self.assert_xml(c.response(), 9)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)
        self.assert_json(c.response(), 4)
        self.assertTrue(c.quiet())
        c.send(post(b"/jsonrpc", b"again"))
        self.assert_json(c.response(), 5)

    # -- 100-continue, HTTP/1.0, Connection: close

    def test_expect_100_continue(self):
        c = self.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\n\r\n")
        r = c.response()
        # The reason phrase's case carries no meaning (Abyss: "continue").
        self.assertEqual((r.version, r.status, r.reason.lower()),
                         ("HTTP/1.1", 100, "continue"), r)
        self.assertTrue(c.quiet())
        c.send(b"hello")
        self.assert_xml(c.response(), 5)
        c.send(post(body=b"next"))
        self.assert_xml(c.response(), 4)

    def test_http10_without_keepalive_closes(self):
        c = self.send(post(body=b"abc", version=b"HTTP/1.0"))
        r = c.response()
        self.assert_xml(r, 3)
        self.assertNotEqual((r.header("connection") or "").lower(),
                            "keep-alive", r)
        self.assert_closes(c, "an HTTP/1.0 connection")

    def test_connection_close(self):
        c = self.send(post(body=b"abcd", headers=[b"Connection: close"]) +
                      post(body=b"ignored"))
        r = c.response()
        self.assert_xml(r, 4)
        self.assertEqual((r.header("connection") or "").lower(), "close", r)
        self.assert_closes(c, "after Connection: close")


class GarbageTestCase(FrontTestCase):
    """Bytes that are no request: never a 500, never an answer that
    names the library, and each connection answered or closed within the
    server's timeouts (3 s here: a garbage connection may count as one
    with no request started, which --keepalive ends)."""

    CASES = [
        b"\x00\x01\x02\xff" * 100 + b"\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"POST\r\n\r\n",
        b"POST / HTTP/9.9\r\nContent-Length: 0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde",
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"\r\nffffffffffffffffffff\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n No-Name\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
        b"POST /\xff\xfe HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
        b"\r\n" * 1000,
        bytes(range(256)) * 64,
    ]

    def test_garbage_never_gets_500(self):
        echo = Echo("--keepalive", "3", "--request-timeout", "3")
        conns = []
        try:
            # Each case twice: the client then waits, or ends its side.
            cases = [(data, shut) for data in self.CASES
                     for shut in (False, True)]
            for data, shut in cases:
                c = echo.conn()
                conns.append(c)
                c.send(data)
                if shut:
                    try:
                        c.sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
            ends = wait_closes(conns, 10.0)
            for (data, shut), c, (at, _) in zip(cases, conns, ends):
                with self.subTest(data=data[:70], shut=shut):
                    if c.buf:
                        try:
                            r = c.try_response()
                        except BadResponse:
                            r = None  # cut short by a reset
                        if r is not None:
                            self.assert_clean(r)
                            if (r.header("connection") or "").lower() == \
                                    "close":
                                self.assertEqual(c.buf, b"", "bytes after "
                                                 "the answer %r" % r)
                    else:
                        self.assertIsNotNone(at, "neither answered nor "
                                             "closed within 10 s")
            self.assert_served(echo)
        finally:
            close_all(conns)
            echo.stop()  # exit status 0, no sanitizer report


# ---- 6. many connections ----------------------------------------------------

class ManyConnectionsTestCase(FrontTestCase):
    N = 2000

    def test_2000_concurrent_keepalive_connections(self):
        if NOFILE < 2500:
            self.skipTest("RLIMIT_NOFILE is %d (hard limit): 2,000 "
                          "connections need 2,500" % NOFILE)
        echo = Echo()
        conns = []
        try:
            t0 = time.monotonic()
            for _ in range(self.N):
                conns.append(echo.conn())
            t1 = time.monotonic()
            reqs = [post(b"/jsonrpc", b"j%d" % i) if i % 2 else
                    post(b"/", b"x%d" % i) for i in range(self.N)]
            rs = exchange_all(conns, reqs, 120)
            t2 = time.monotonic()
            print("\n%d connections opened in %.1f s, one call on each "
                  "in %.1f s" % (self.N, t1 - t0, t2 - t1), file=sys.stderr)
            bad = []
            for i, r in enumerate(rs):
                n = len(b"%d" % i) + 1
                try:
                    if i % 2:
                        self.assert_json(r, n)
                    else:
                        self.assert_xml(r, n)
                except (AssertionError, ValueError, xmlrpc.client.Error) \
                        as e:
                    bad.append("connection %d: %s" % (i, e))
            self.assertEqual(bad[:10], [], "%d bad" % len(bad))
            # All still open and kept alive: a second round on some.
            some = conns[::100]
            for r in exchange_all(some, [post(body=b"2nd")] * len(some),
                                  READ_TIMEOUT):
                self.assert_xml(r, 3)
            close_all(conns)
            self.assert_served(echo)
        finally:
            close_all(conns)
            echo.stop()


# ---- 7. no leaks ------------------------------------------------------------

HEAD_100 = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"

# The ways a client goes away without finishing its request.
VANISH = [
    ("sends nothing, closes", lambda c: c.close()),
    ("sends nothing, resets", lambda c: c.reset()),
    ("closes in the request line",
     lambda c: (c.send(b"POST / HT"), c.close())),
    ("closes in the head",
     lambda c: (c.send(b"POST / HTTP/1.1\r\nContent-Le"), c.close())),
    ("resets in the head",
     lambda c: (c.send(b"POST / HTTP/1.1\r\nContent-Le"), c.reset())),
    ("closes in the body",
     lambda c: (c.send(HEAD_100 + b"0123456789"), c.close())),
    ("resets in the body",
     lambda c: (c.send(HEAD_100 + b"0123456789"), c.reset())),
]


class LeakTestCase(FrontTestCase):
    def served(self, echo, n, batch, body=b"burst"):
        """n connections that each make a call and close, batch at a
        time."""
        for start in range(0, n, batch):
            conns = [echo.conn() for _ in range(min(batch, n - start))]
            try:
                rs = exchange_all(conns, [post(body=body)] * len(conns), 60)
                for r in rs:
                    self.assert_xml(r, len(body))
            finally:
                close_all(conns)

    def vanish(self, echo, n):
        """n connections that go away in each of the ways by turns, and
        ten that reset while their call runs (the answer is then written
        to a reset socket)."""
        conns = [echo.conn() for _ in range(n)]
        for i, c in enumerate(conns):
            VANISH[i % len(VANISH)][1](c)
        slow = [echo.conn() for _ in range(10)]
        for c in slow:
            c.send(post(body=b"sleep:100"))
        time.sleep(0.05)
        for c in slow:
            c.reset()

    def test_descriptors_and_threads_return_to_baseline(self):
        echo = Echo()
        try:
            # 64 slow calls at once first: the front then has a thread
            # for each, which it keeps a while for the next calls, and the
            # burst below never has more than 60 calls running at once, so
            # it needs no more threads than these.
            base_fds = echo.fds()
            self.served(echo, 64, 64, b"sleep:300")
            self.assertTrue(wait_for(lambda: echo.fds() <= base_fds, 3.0),
                            "3 s after 64 calls on connections now "
                            "closed: %d descriptors, %d at the start"
                            % (echo.fds(), base_fds))
            base_threads = echo.threads()
            self.served(echo, 500, 50)
            self.vanish(echo, 200)
            t0 = time.monotonic()
            # +2 threads: a call may still get a thread of its own while an
            # idle one is on its way back to the pool; such a thread ends
            # on the pool's idle timer, later than 3 s. More than that is
            # threads that do not end. Descriptors have no slack.
            ok = wait_for(lambda: echo.fds() <= base_fds and
                          echo.threads() <= base_threads + 2, 3.0)
            fds, threads = echo.fds(), echo.threads()
            print("\nafter a burst: %d fds (baseline %d), %d threads "
                  "(baseline %d), %.1f s to settle"
                  % (fds, base_fds, threads, base_threads,
                     time.monotonic() - t0), file=sys.stderr)
            self.assertTrue(ok, "3 s after the burst: %d descriptors "
                            "(baseline %d), %d threads (baseline %d)"
                            % (fds, base_fds, threads, base_threads))
            self.assert_served(echo)
        finally:
            echo.stop()  # exit status 0, no sanitizer report

    def test_each_way_of_vanishing_frees_the_connection(self):
        # The burst above, one way at a time (a server of its own each):
        # which ones hold their descriptor.
        held = []
        for name, leave in VANISH:
            echo = Echo()
            try:
                base = echo.fds()
                conns = [echo.conn() for _ in range(10)]
                echo.wait_fds(base + 10)
                for c in conns:
                    leave(c)
                if not wait_for(lambda: echo.fds() <= base, 3.0):
                    held.append("%s: %d of 10 still open after 3 s"
                                % (name, echo.fds() - base))
            finally:
                echo.stop()  # exit status 0, no sanitizer report
        if held:
            self.fail("; ".join(held))


# ---- 8. the stop ------------------------------------------------------------

class StopTestCase(FrontTestCase):
    def test_sigterm_with_500_idle_connections(self):
        echo = Echo()
        conns = []
        try:
            base = echo.fds()
            conns = [echo.conn() for _ in range(500)]
            # Half idle after a call, half never sent anything.
            for r in exchange_all(conns[:250], [post(body=b"x")] * 250, 60):
                self.assert_xml(r, 1)
            echo.wait_fds(base + 500)
            seconds, err = echo.stop()  # exit status 0, no sanitizer report
            m = re.search(r"http_stop took (\d+) ms", err)
            print("\nSIGTERM to exit with 500 idle connections: %.0f ms "
                  "(%s)" % (seconds * 1000, m.group(0) if m else
                            "no http_stop line"), file=sys.stderr)
            self.assertIsNotNone(m, err[-2000:])
            self.assertLess(int(m.group(1)), 250)
            self.assertLess(seconds, 2.0)
            closed = wait_closes(conns, PROMPT)
            self.assertEqual([i for i, (t, _) in enumerate(closed)
                              if t is None], [])
        finally:
            close_all(conns)
            echo.stop()


# ---- 9. the Unix-domain socket ----------------------------------------------

class UnixSocketTestCase(FrontTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="xbt-front-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "sock")

    def test_post_over_a_unix_socket(self):
        echo = Echo("--addr", self.path)
        try:
            st = os.stat(self.path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            c = echo.conn()
            try:
                c.send(post(body=b"over unix"))
                self.assert_xml(c.response(), 9)
                c.send(post(b"/jsonrpc", b"{}"))
                self.assert_json(c.response(), 2)
            finally:
                c.close()
        finally:
            echo.stop()  # exit status 0, no sanitizer report
        self.assertFalse(os.path.exists(self.path),
                         "socket file left after the stop")

    def test_no_per_ip_limit_on_a_unix_socket(self):
        echo = Echo("--addr", self.path, "--max-connections-per-ip", "2")
        conns = []
        try:
            conns = [echo.conn() for _ in range(6)]
            for r in exchange_all(conns, [post(body=b"u")] * 6,
                                  READ_TIMEOUT):
                self.assert_xml(r, 1)
        finally:
            close_all(conns)
            echo.stop()


if __name__ == "__main__":
    if not os.access(ECHO, os.X_OK):
        print("no %s: build it first (make check)" % ECHO, file=sys.stderr)
        sys.exit(99)
    fx.run()
