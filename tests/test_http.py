#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The HTTP front (server/http.c) through tests/http_echo, raw HTTP only:
routing and headers, CORS, the body limit, bad and broken requests, many
keep-alive clients at once, and a fast stop with idle connections open.

Run by `make check` (XBT_BUILDDIR names the build tree) or directly from a
build tree. Standard library only.
"""

import http.client
import json
import os
import re
import resource
import socket
import struct
import sys
import threading
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

ECHO = os.path.join(fx.BUILDDIR, "tests", "http_echo")

MAX_BODY = 4096  # the daemons' least
# Per request: far above any answer's time, far below the server's
# deadlines (a wait that long means the front stalled).
REQUEST_TIMEOUT = 5.0


class Echo(fx.Server):
    """One running tests/http_echo (started at once); stop() checks its
    exit as the fixture does xbtd's."""

    name = "http_echo"

    def __init__(self, *args):
        super().__init__([ECHO] + list(args), r"listening on (?P<port>\d+)")
        self.start()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=REQUEST_TIMEOUT)

    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=REQUEST_TIMEOUT)
        return s


def xml_call(text="x"):
    return xmlrpc.client.dumps((text,), "echo").encode()


def read_response(sock):
    """Reads one HTTP response from a raw socket: (status, headers, body).
    Headers are lower-cased names; status None when the server closed."""
    f = sock.makefile("rb", buffering=0)
    try:
        line = f.readline()
        if not line:
            return None, {}, b""
        status = int(line.split()[1])
        headers = {}
        while True:
            h = f.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0"))
        body = f.read(n) if n else b""
        return status, headers, body
    finally:
        f.close()


def assert_kept_alive(test, r):
    """HTTP/1.1 keeps the connection unless the answer says close."""
    test.assertNotIn("close", (r.getheader("Connection") or "").lower())


class HttpTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = Echo("--port", "0", "--max-body", str(MAX_BODY))

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()  # exit status 0, no sanitizer report

    def post(self, body, path="/", headers=None, conn=None):
        own = conn is None
        if own:
            conn = self.echo.connect()
        try:
            conn.request("POST", path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r, r.read()
        finally:
            if own:
                conn.close()

    def assert_alive(self):
        """The server still answers a normal request."""
        status, r, data = self.post(xml_call("alive"))
        self.assertEqual(status, 200)
        self.assertIn(b"proto:xml len:", data)
        self.assertTrue(self.echo.alive())

    def assert_xml_success(self, status, r, data, length):
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/xml")
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "*")
        (value,), _ = xmlrpc.client.loads(data)
        self.assertEqual(value, {"Status": "Success",
                                 "Value": "proto:xml len:%d" % length})

    # ---- routing and headers ----------------------------------------------

    def test_xmlrpc_on_any_path(self):
        body = xml_call()
        for path in ("/", "/RPC2", "/xmlrpc", "/a/b/c", "/jsonrpc2",
                     "/RPC2?x=1"):
            with self.subTest(path=path):
                status, r, data = self.post(body, path,
                                            {"Content-Type": "text/xml"})
                self.assert_xml_success(status, r, data, len(body))

    def test_jsonrpc_path(self):
        body = b'{"method": "x", "params": [], "id": 1}'
        for path in ("/jsonrpc", "/jsonrpc?a=b"):
            with self.subTest(path=path):
                status, r, data = self.post(
                    body, path, {"Content-Type": "application/json"})
                self.assertEqual(status, 200)
                self.assertEqual(r.getheader("Content-Type"),
                                 "application/json")
                self.assertEqual(r.getheader("Access-Control-Allow-Origin"),
                                 "*")
                self.assertEqual(json.loads(data)["result"],
                                 "proto:json len:%d" % len(body))

    def test_body_bytes_reach_the_callback_whole(self):
        # NULs and high bytes count too; an empty body is a body.
        for body in (b"", b"\0", b"\xff\xfe\0abc", bytes(range(256)) * 3):
            with self.subTest(n=len(body)):
                status, r, data = self.post(body)
                self.assert_xml_success(status, r, data, len(body))

    def test_callback_has_a_large_stack(self):
        # "stack" makes the callback use 512 KiB of stack: fine on the
        # call threads' 2 MiB, a crash on a 128 KiB thread stack.
        status, r, data = self.post(b"stack")
        self.assert_xml_success(status, r, data, 5)
        self.assertTrue(self.echo.alive())

    def test_options_is_a_cors_preflight(self):
        conn = self.echo.connect()
        conn.request("OPTIONS", "/jsonrpc", headers={
            "Origin": "http://example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        r = conn.getresponse()
        self.assertEqual(r.read(), b"")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "*")
        self.assertEqual(r.getheader("Access-Control-Allow-Methods"),
                         "POST, OPTIONS")
        self.assertEqual(r.getheader("Access-Control-Allow-Headers"),
                         "Content-Type")
        # The connection stays usable.
        conn.request("POST", "/", body=b"abc")
        r = conn.getresponse()
        self.assert_xml_success(r.status, r, r.read(), 3)
        conn.close()

    def test_get_and_head_get_a_short_page(self):
        conn = self.echo.connect()
        conn.request("GET", "/")
        r = conn.getresponse()
        page = r.read()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/plain")
        self.assertIn(b"xbtd", page)
        conn.request("HEAD", "/RPC2")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Length"), str(len(page)))
        self.assertEqual(r.read(), b"")
        conn.close()

    def test_other_methods_get_405(self):
        for method in ("PUT", "DELETE", "TRACE", "PATCH"):
            with self.subTest(method=method):
                conn = self.echo.connect()
                conn.request(method, "/")
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 405)
                self.assertEqual(r.getheader("Allow"),
                                 "GET, HEAD, POST, OPTIONS")
                conn.close()
        self.assert_alive()

    # ---- the body limit ---------------------------------------------------

    def assert_too_large_xml(self, status, r, data):
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/xml")
        (value,), _ = xmlrpc.client.loads(data)
        self.assertEqual(value, {
            "Status": "Failure",
            "ErrorDescription": ["REQUEST_TOO_LARGE", str(MAX_BODY)]})
        self.assertEqual(r.getheader("Connection"), "close")

    def test_body_at_the_limit_is_served(self):
        status, r, data = self.post(b"x" * MAX_BODY)
        self.assert_xml_success(status, r, data, MAX_BODY)

    def test_body_over_the_limit_by_length(self):
        status, r, data = self.post(b"x" * (MAX_BODY + 1))
        self.assert_too_large_xml(status, r, data)
        self.assert_alive()

    def test_body_over_the_limit_jsonrpc(self):
        status, r, data = self.post(b"[" * (MAX_BODY + 1), "/jsonrpc")
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        # JSON-RPC v1's form: the request's version is unknown.
        self.assertEqual(json.loads(data), {
            "result": None, "error": ["REQUEST_TOO_LARGE", str(MAX_BODY)],
            "id": None})

    def test_huge_length_answered_before_the_body(self):
        # The client announces 10 GB and waits for 100-continue: the
        # answer comes at once and no body is read.
        s = self.echo.raw()
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 10000000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        status, headers, body = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertIn(b"REQUEST_TOO_LARGE", body)
        self.assertEqual(headers.get("connection"), "close")
        self.assert_alive()

    def test_expect_100_continue(self):
        # The client waits for "100 Continue" before sending the body.
        s = self.echo.raw()
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        interim = s.recv(100)
        self.assertRegex(interim, rb"^HTTP/1\.1 100 [Cc]ontinue\r\n\r\n$")
        s.sendall(b"hello")
        status, _, body = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertIn(b"proto:xml len:5<", body)

    def chunked(self, pieces, path="/", tail=b""):
        s = self.echo.raw()
        req = b"POST " + path.encode() + \
            b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        for p in pieces:
            req += b"%x\r\n%s\r\n" % (len(p), p)
        req += b"0\r\n\r\n" + tail
        s.sendall(req)
        return s

    def test_chunked_body(self):
        s = self.chunked([b"a" * 10, b"b" * 300, b"c"])
        status, headers, body = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertIn(b"proto:xml len:311<", body)

    def test_chunked_body_over_the_limit(self):
        s = self.chunked([b"x" * 300] * (MAX_BODY // 300 + 1))
        status, headers, body = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("content-type"), "text/xml")
        (value,), _ = xmlrpc.client.loads(body)
        self.assertEqual(value["ErrorDescription"],
                         ["REQUEST_TOO_LARGE", str(MAX_BODY)])
        self.assert_alive()

    # ---- framing: pipelining and keep-alive --------------------------------

    def test_keepalive_reuses_the_connection(self):
        conn = self.echo.connect()
        conn.request("POST", "/", body=b"1")
        r = conn.getresponse()
        r.read()
        assert_kept_alive(self, r)
        sock = conn.sock
        for i in range(5):
            conn.request("POST", "/jsonrpc" if i % 2 else "/", body=b"12")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b" len:2", r.read())
        self.assertIs(conn.sock, sock)
        conn.close()

    def test_body_readers_leave_the_next_request_alone(self):
        # A request's body is followed, in the same write, by the start of
        # the next request: reading the body (plain or chunked) must not
        # eat into it. Each later request is sent after the previous
        # answer (test_http_front.py pipelines them all at once).
        s = self.echo.raw()
        s.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
                  b"abc"
                  b"POST /jsonrpc HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n"
                  b"2\r\nde\r\n0\r\n\r\n")
        status, _, body = read_response(s)
        self.assertEqual(status, 200)
        self.assertIn(b"proto:xml len:3<", body)
        s.sendall(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
                  b"fghij")
        status, _, body = read_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["result"], "proto:json len:2")
        s.sendall(b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        status, _, body = read_response(s)
        self.assertEqual(status, 200)
        self.assertIn(b"proto:xml len:5<", body)
        s.close()

    # ---- bad requests ------------------------------------------------------

    def raw_status(self, data, shut=True):
        """Sends bytes; the status of the answer (None: closed silently)."""
        s = self.echo.raw()
        try:
            # The server may answer and close before taking it all.
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:  # EPIPE, ECONNRESET, ENOTCONN
            pass
        try:
            status, _, _ = read_response(s)
        except (OSError, ValueError, IndexError):
            status = None
        s.close()
        return status

    def test_missing_or_bad_length(self):
        cases = [
            (b"POST / HTTP/1.1\r\nHost: x\r\n\r\nabc", 411),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
             400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
             400),
            # Too large to be a number: libmicrohttpd's 413.
            (b"POST / HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 99999999999999999999999\r\n\r\n", 413),
            (b"POST / HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: gzip\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
        ]
        for data, want in cases:
            with self.subTest(data=data):
                self.assertEqual(self.raw_status(data), want)
        self.assert_alive()

    def test_garbage_never_gets_500(self):
        # libmicrohttpd's answers, never a 500: a request line it cannot
        # parse closes the connection (None); headers past 32 KiB (or too
        # many of them) get 431; a request that fits but has no length 411.
        cases = [
            (b"\x00\x01\x02\xff" * 100 + b"\r\n\r\n", None),
            (b"GARBAGE\r\n\r\n", None),
            (b"POST\r\n\r\n", None),
            (b"POST / HTTP/9.9\r\n\r\n", 505),
            (b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 +
             b"\r\n\r\n", 411),
            (b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 40000 +
             b"\r\n\r\n", 431),
            (b"POST / HTTP/1.1\r\n" + b"X: y\r\n" * 2000 + b"\r\n", 431),
            (b"/" * 40000 + b"\r\n\r\n", 414),
            (b"\r\n" * 1000, None),
            (bytes(range(256)) * 64, 400),
        ]
        for data, want in cases:
            with self.subTest(data=data[:40]):
                self.assertEqual(self.raw_status(data), want)
                self.assert_alive()

    def test_odd_path_is_a_path(self):
        # Not half-closed: libmicrohttpd takes the end of a request's
        # stream before its last byte as the client giving up.
        self.assertEqual(self.raw_status(
            b"POST /\xff\xfe HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
            shut=False), 200)

    def test_truncated_and_reset_requests(self):
        # Headers cut short; a body cut short; a reset in the middle of
        # the body. Each leaves the server serving. A request cut short by
        # the client's end of stream is not answered: nobody reads it.
        for data in (b"POST / HTTP/1.1\r\nContent-Le",
                     b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"):
            with self.subTest(data=data):
                self.assertEqual(self.raw_status(data), None)
                self.assert_alive()
        s = self.echo.raw()
        s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" +
                  b"x" * 500)
        time.sleep(0.1)
        # SO_LINGER 0: close() sends RST.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        self.assert_alive()

    def test_client_reset_while_response_is_written(self):
        # The client resets while its (slow) call runs: the server then
        # writes to a reset socket, which raises SIGPIPE unless ignored.
        s = self.echo.raw()
        s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nsleep:200")
        time.sleep(0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        time.sleep(0.3)
        self.assert_alive()

    # ---- many clients --------------------------------------------------------

    def test_64_concurrent_keepalive_clients(self):
        # Every client first makes a request and then waits for all the
        # others, so 64 keep-alive connections are open at once; then each
        # makes more requests on its connection.
        clients, rounds = 64, 5
        barrier = threading.Barrier(clients, timeout=60)
        errors, done = [], []
        lock = threading.Lock()

        def client(i):
            conn = self.echo.connect()
            try:
                body = b"c%d" % i
                path = "/jsonrpc" if i % 2 else "/"
                conn.request("POST", path, body=body)
                r = conn.getresponse()
                r.read()
                sock = conn.sock
                barrier.wait()
                for _ in range(rounds):
                    conn.request("POST", path, body=body)
                    r = conn.getresponse()
                    data = r.read()
                    if r.status != 200 or \
                            b" len:%d" % len(body) not in data:
                        raise AssertionError((r.status, data[:200]))
                if conn.sock is not sock:
                    raise AssertionError("connection was not kept alive")
                with lock:
                    done.append(i)
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append("client %d: %r" % (i, e))
                barrier.abort()
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(done), list(range(clients)))


class StartTestCase(unittest.TestCase):
    def run_echo(self, *args):
        return fx.run_program([ECHO] + list(args), fx.START_TIMEOUT,
                              fx.clean_env())

    def test_port_in_use_is_an_error(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            status, out, err = self.run_echo("--port", str(port))
        self.assertEqual(status, 1)
        self.assertEqual(out, "")
        self.assertIn("http_echo: INTERNAL_ERROR [http: bind: "
                      "Address already in use]", err)
        self.assertEqual(fx.sanitizer_reports(err), [])

    def test_bad_address_is_an_error(self):
        status, out, err = self.run_echo("--addr", "localhost")
        self.assertEqual(status, 1)
        self.assertIn("[http: listen address is not numeric IPv4/IPv6]",
                      err)
        status, out, err = self.run_echo("--port", "65536")
        self.assertEqual(status, 1)
        self.assertIn("[http: port out of range]", err)

    def test_ipv6_loopback(self):
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        echo = Echo("--addr", "::1", "--port", "0")
        try:
            conn = http.client.HTTPConnection("::1", echo.port,
                                              timeout=REQUEST_TIMEOUT)
            conn.request("POST", "/", body=b"abc")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"proto:xml len:3<", r.read())
            conn.close()
        finally:
            echo.stop()  # exit status 0, no sanitizer report

    def open_files_limit(self, pid):
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return line.split()[3:5]
        self.fail("no open files limit")

    def test_raises_its_descriptor_limit(self):
        # Twice the connection limit plus room (refused clients, the
        # daemon's own files), as far as the hard limit allows.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        want = 2 * 3000 + 1024
        if hard != resource.RLIM_INFINITY and hard < want + 512:
            self.skipTest("hard RLIMIT_NOFILE %d is below %d" % (hard, want))
        old = resource.getrlimit(resource.RLIMIT_NOFILE)
        # The server starts from a low soft limit, as under most inits.
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, old[1]))
        try:
            echo = Echo("--max-connections", "3000")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, old)
        try:
            soft, _ = self.open_files_limit(echo.proc.pid)
            self.assertGreaterEqual(int(soft), want)
        finally:
            echo.stop()


class StopTestCase(unittest.TestCase):
    def test_sigterm_with_idle_keepalive_connections(self):
        # An explicit port this time (--port N).
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        echo = Echo("--port", str(port))
        self.assertEqual(echo.port, port)
        conns = []
        try:
            for _ in range(20):
                conn = echo.connect()
                conn.request("POST", "/", body=b"x")
                r = conn.getresponse()
                r.read()
                assert_kept_alive(self, r)
                conns.append(conn)
            # One more connection that never sends a request.
            idle = echo.raw()
            # exit status 0, no sanitizer report
            seconds, err = echo.stop()
        finally:
            for conn in conns:
                conn.close()
        idle.close()
        m = re.search(r"http_stop took (\d+) ms", err)
        print("\nSIGTERM to exit with 20 idle keep-alive connections: "
              "%.0f ms (%s)" % (seconds * 1000,
                                m.group(0) if m else "no http_stop line"),
              file=sys.stderr)
        # A stop must not wait for idle connections.
        self.assertLess(seconds, 2.0)

    def test_sigterm_lets_a_running_call_finish(self):
        # A call in progress when the stop comes still gets its answer;
        # the stop waits for it.
        echo = Echo("--port", "0")
        s = echo.raw()
        s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nsleep:300")
        time.sleep(0.1)
        echo.terminate()
        status, _, body = read_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertIn(b"proto:xml len:9<", body)
        echo.stop()  # exit status 0, no sanitizer report


if __name__ == "__main__":
    if not os.access(ECHO, os.X_OK):
        print("no %s: build it first (make check)" % ECHO, file=sys.stderr)
        sys.exit(99)
    fx.run()
