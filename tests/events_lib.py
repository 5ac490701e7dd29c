# SPDX-License-Identifier: BSD-2-Clause
"""Helpers for the event tests and bench: start an xbtd from the build tree,
call it over XML-RPC and JSON-RPC, and a tiny test runner that prints the
plain line `N passed, N failed`."""

import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import urllib.request
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN_RE = re.compile(r"^[0-9]{20},[0-9]{20}$")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")
# Sanitizer builds start slowly.
START_TIMEOUT = float(os.environ.get("XBT_START_TIMEOUT", "30"))


def builddir():
    return os.environ.get("XBT_BUILDDIR") or os.path.dirname(HERE)


class XenAPIError(Exception):
    def __init__(self, desc):
        super().__init__(desc)
        self.code = desc[0] if desc else ""
        self.params = list(desc[1:])
        self.desc = list(desc)


class Xbtd:
    """One xbtd on 127.0.0.1 with a port the kernel picks."""

    def __init__(self, *extra):
        exe = os.path.join(builddir(), "server", "xbtd")
        self.errpath = os.path.join(
            os.environ.get("TMPDIR", "/tmp"),
            "xbtd-events-%d-%d.log" % (os.getpid(), time.monotonic_ns()))
        self.err = open(self.errpath, "w+")
        self.proc = subprocess.Popen(
            [exe, "--listen", "127.0.0.1:0"] + list(extra),
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.result = None
        deadline = time.monotonic() + START_TIMEOUT
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                line = self.proc.stdout.readline()
                m = re.match(r"xbtd listening on 127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    break
                if not line:
                    break
            if self.proc.poll() is not None:
                break
        else:
            line = ""
        if not getattr(self, "port", None):
            self.proc.kill()
            self.proc.wait()
            self.err.seek(0)
            raise RuntimeError("xbtd did not start (%r): %s" %
                               (line, self.err.read()[-2000:]))
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self, timeout=20):
        """SIGTERM, wait; returns (exit status, seconds taken, stderr).
        Stopping again returns the first result."""
        if self.result:
            return self.result
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        took = time.monotonic() - t0
        self.err.seek(0)
        text = self.err.read()
        self.err.close()
        os.unlink(self.errpath)
        self.result = (self.proc.returncode, took, text)
        return self.result

    def stop_clean(self):
        """Stops; AssertionError unless it exited 0 without a sanitizer
        report. Returns (seconds taken, stderr)."""
        status, took, text = self.stop()
        assert status == 0, "xbtd exited with %s:\n%s" % (status, text[-3000:])
        for mark in SANITIZER_MARKS:
            assert mark not in text, "xbtd stderr has %s:\n%s" % (
                mark, text[-6000:])
        return took, text


class XmlRpc:
    """XenAPI over XML-RPC; one per thread (ServerProxy is not shared)."""

    def __init__(self, url, session=None):
        self.proxy = xmlrpc.client.ServerProxy(url + "/", allow_none=True)
        self.session = session

    def raw(self, method, *params):
        r = getattr(self.proxy, method)(*params)
        if r.get("Status") != "Success":
            raise XenAPIError(r.get("ErrorDescription", ["?"]))
        return r["Value"]

    def login(self, user="root", password="xbt"):
        self.session = self.raw("session.login_with_password", user,
                                password, "1.0", "events-test")
        return self.session

    def __call__(self, method, *params):
        return self.raw(method, self.session, *params)


class JsonRpc:
    """XenAPI over JSON-RPC on /jsonrpc (v2 by default)."""

    def __init__(self, url, session=None, v2=True):
        self.url = url + "/jsonrpc"
        self.session = session
        self.v2 = v2
        self.next_id = 1

    def post(self, body):
        """Sends a raw body; returns (status, content-type, decoded JSON)."""
        req = urllib.request.Request(
            self.url, data=body.encode() if isinstance(body, str) else body,
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), json.loads(r.read())

    def request(self, method, params, v2=None):
        v2 = self.v2 if v2 is None else v2
        req = {"method": method, "params": params, "id": self.next_id}
        self.next_id += 1
        if v2:
            req["jsonrpc"] = "2.0"
        return self.post(json.dumps(req))[2]

    def raw(self, method, *params):
        r = self.request(method, list(params))
        err = r.get("error")
        if err:
            if isinstance(err, dict):
                raise XenAPIError([err["message"]] + list(err.get("data") or []))
            raise XenAPIError(err)
        return r["result"]

    def __call__(self, method, *params):
        return self.raw(method, self.session, *params)


# ---- raw HTTP (many waiting connections without a thread each) -------------

def request(proto, session, classes, token, timeout):
    """The bytes of one HTTP/1.1 event.from request."""
    if proto == "xmlrpc":
        body = xmlrpc.client.dumps(
            (session, list(classes), token, float(timeout)),
            methodname="event.from").encode()
        path, ctype = "/", "text/xml"
    else:
        body = json.dumps({"jsonrpc": "2.0", "method": "event.from", "id": 1,
                           "params": [session, list(classes), token,
                                      float(timeout)]}).encode()
        path, ctype = "/jsonrpc", "application/json"
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (path, ctype, len(body)))
    return head.encode() + body


def decode(proto, body):
    """The XenAPI value of a successful response body."""
    if proto == "xmlrpc":
        r = xmlrpc.client.loads(body)[0][0]
        assert r["Status"] == "Success", r
        return r["Value"]
    r = json.loads(body)
    assert "result" in r, r
    return r["result"]



SO_TIMESTAMPNS = 35  # Linux; SCM_TIMESTAMPNS has the same value


class RawClient:
    """A keep-alive connection read by hand, with the kernel's receive
    timestamp of the last piece of each response (SO_TIMESTAMPNS)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.reset()

    def reset(self):
        self.buf = b""
        self.need = None
        self.kernel_ts = None
        self.user_ts = None

    def feed(self):
        """Reads what is there; True when a whole response is in."""
        data, anc, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(16))
        if not data:
            raise RuntimeError("server closed the connection")
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", raw[:16])
                self.kernel_ts = sec + nsec / 1e9
        self.buf += data
        if self.need is None and b"\r\n\r\n" in self.buf:
            head, _, _ = self.buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?i)content-length:\s*(\d+)", head)
            self.need = len(head) + 4 + int(m.group(1))
        done = self.need is not None and len(self.buf) >= self.need
        if done:
            self.user_ts = time.time()
        return done

    def body(self):
        return self.buf[self.buf.index(b"\r\n\r\n") + 4:self.need]

    def read_response(self, timeout):
        """Blocks for one whole response; returns its body."""
        self.sock.settimeout(timeout)
        try:
            while not self.feed():
                pass
        finally:
            self.sock.settimeout(None)
        return self.body()


# ---- a tiny runner -----------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def expect_error(fn, code, params=None):
    try:
        fn()
    except XenAPIError as e:
        assert e.code == code, "expected %s, got %s" % (code, e.desc)
        if params is not None:
            assert e.params == params, "expected %s %s, got %s" % (
                code, params, e.desc)
        return e
    raise AssertionError("expected %s, got success" % code)


def run(setup=None, teardown=None):
    passed = failed = 0
    ctx = setup() if setup else None
    try:
        for fn in TESTS:
            t0 = time.monotonic()
            try:
                fn(ctx) if setup else fn()
                passed += 1
                print("PASS %s (%.2fs)" % (fn.__name__, time.monotonic() - t0))
            except Exception:
                failed += 1
                print("FAIL %s" % fn.__name__)
                traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
    finally:
        if teardown:
            teardown(ctx)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
