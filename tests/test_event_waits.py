#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Parked event waits against a real xbtd (doc/design.md, "The HTTP front"
and "Store and events"): an event.from that finds nothing holds no thread;
its connection is suspended and server/xenapi/event_wait.c answers it when
the log changes, its deadline passes, its session ends, its client goes or
the daemon stops.

1. 2,000 waiters on raw keep-alive connections, woken by one change, each
   answered exactly once; a second round on the same connections.
2. Waiters that go mid-wait (FIN, RST, a SIGKILLed process holding them):
   xbtd's descriptors come back at once; parked waits hold no thread
   (once the call threads made for their arrival have ended).
3. SIGTERM with 1,000 parked waiters: a fast exit, every waiter answered
   or closed cleanly.
4. XML-RPC, JSON-RPC v1 and v2 waiters on one token: one answer, each in
   its own envelope and with its own id.
5. EVENTS_LOST for parked waiters whose unread events left the ring.
6. A parked waiter's session ends: SESSION_INVALID; a parked waiter's
   timeout passes: an empty batch.
7. A request pipelined behind a parked wait is answered after it, in order.

All clients here are raw sockets read by one selector loop (no thread per
client), the way tests/bench_events.py drives its waiters.
"""

import json
import os
import re
import select
import selectors
import socket
import struct
import subprocess
import sys
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import raise_nofile, fd_count, thread_count, cpu_ns  # noqa: E402
from xbtd_fixture import XmlRpc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN_RE = re.compile(r"^[0-9]{20},[0-9]{20}$")
# Generous bounds: a loaded 2-CPU machine, sanitizer builds.
READ_TIMEOUT = 60.0




NOFILE = raise_nofile()


def sanitizer_build():
    """Whether the build tree's xbtd has AddressSanitizer and UBSan
    (configure --enable-sanitizers puts them in SAN_CFLAGS)."""
    try:
        with open(os.path.join(fx.BUILDDIR, "Makefile")) as f:
            return any(line.startswith("SAN_CFLAGS") and "-fsanitize" in line
                       for line in f)
    except OSError:
        return False


# From SIGTERM to exit with 1,000 parked waiters: about 70-130 ms here
# (2 CPUs, two busy loops beside it); with sanitizers 130-200 ms, and up
# to 470 ms beside the busy loops.
STOP_BOUND = 1.0 if sanitizer_build() else 0.25


def token_id(token):
    return int(token.split(",")[0])


def make_token(n):
    return "%020d,%020d" % (n, 0)


def summary(events):
    return [(e["class"], e["operation"], e["ref"]) for e in events]


# ---- /proc: xbtd's descriptors, threads and CPU time ------------------------





def thread_states(pid):
    """xbtd's threads by name and what the kernel says they wait in
    (comm, wchan), with their counts: what a stop that hangs waits for."""
    seen = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        parts = []
        for what in ("comm", "wchan"):
            try:
                with open("/proc/%d/task/%s/%s" % (pid, tid, what)) as f:
                    parts.append(f.read().strip() or "-")
            except OSError:
                parts.append("?")
        key = "/".join(parts)
        seen[key] = seen.get(key, 0) + 1
    return ", ".join("%s x%d" % kv for kv in sorted(seen.items()))




def settle(pid, quiet_ms=5.0, window=0.1, limit=20.0):
    """Waits until pid has used less than quiet_ms of CPU over a window:
    the requests sent to it are parsed and parked. Nothing here depends
    on it for correctness (a waiter read late finds the same events with
    its token); it makes "woken by one event" mean parked ones."""
    deadline = time.monotonic() + limit
    prev = cpu_ns(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = cpu_ns(pid)
        if now - prev < quiet_ms * 1e6:
            return
        prev = now
    raise AssertionError("xbtd did not settle within %.0f s" % limit)


def wait_for(cond, timeout, step=0.005):
    """Polls cond until it is true; returns the seconds it took, or None
    when timeout passed first."""
    t0 = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(step)


# ---- requests and answers ---------------------------------------------------

def request(proto, method, params, rid=1):
    """The bytes of one HTTP/1.1 call. proto: "xmlrpc", "json2" (JSON-RPC
    2.0) or "json1" (JSON-RPC 1.0: no "jsonrpc" member); rid the JSON id."""
    if proto == "xmlrpc":
        body = xmlrpc.client.dumps(tuple(params), methodname=method,
                                   encoding="utf-8").encode("utf-8")
        path, ctype = "/", "text/xml"
    else:
        req = {"method": method, "params": list(params), "id": rid}
        if proto == "json2":
            req["jsonrpc"] = "2.0"
        body = json.dumps(req).encode()
        path, ctype = "/jsonrpc", "application/json"
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (path, ctype, len(body)))
    return head.encode() + body


def event_from(proto, session, classes, token, timeout, rid=1):
    return request(proto, "event.from",
                   [session, list(classes), token, float(timeout)], rid)


def answer(proto, body, rid=None):
    """A response body: (value, None) on success, (None, [code, params...])
    on failure. Checks the envelope exactly, and the JSON id."""
    if proto == "xmlrpc":
        r = fx.parse_response(body)
        if r.get("Status") == "Success":
            assert sorted(r) == ["Status", "Value"], r
            return r["Value"], None
        assert sorted(r) == ["ErrorDescription", "Status"], r
        assert r["Status"] == "Failure", r
        return None, list(r["ErrorDescription"])
    r = json.loads(body)
    assert r.get("id") == rid, (r.get("id"), rid)
    if proto == "json2":
        assert r.get("jsonrpc") == "2.0", r
        if "error" in r:
            assert sorted(r) == ["error", "id", "jsonrpc"], r
            err = r["error"]
            assert err["code"] == 1, err
            return None, [err["message"]] + list(err["data"])
        assert sorted(r) == ["id", "jsonrpc", "result"], sorted(r)
        return r["result"], None
    assert sorted(r) == ["error", "id", "result"], sorted(r)
    if r["error"] is not None:
        assert r["result"] is None, r
        return None, list(r["error"])
    return r["result"], None


def ok(proto, body, rid=None):
    v, err = answer(proto, body, rid)
    assert err is None, err
    return v


def plain(v):
    """A decoded XML-RPC value with DateTime as its text, as JSON-RPC
    carries it."""
    if isinstance(v, xmlrpc.client.DateTime):
        return v.value
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


# ---- raw connections --------------------------------------------------------

class Conn:
    """A keep-alive connection read by hand: every whole response that
    came (status, headers, body) in order, the bytes of one not yet
    whole, and how the stream ended (eof, reset)."""

    def __init__(self, port, proto="xmlrpc"):
        self.proto = proto
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)
        self.buf = b""
        self.responses = []
        self.eof = False
        self.reset = False
        self.sent_at = None
        self.got_at = []

    def send(self, data):
        self.sent_at = time.monotonic()
        self.sock.sendall(data)

    def feed(self):
        """Reads what is there (the socket is readable)."""
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError:
            self.eof = self.reset = True
            return
        if not data:
            self.eof = True
            return
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers["content-length"])
            if len(self.buf) < end + 4 + n:
                return
            self.responses.append((status, headers,
                                   self.buf[end + 4:end + 4 + n]))
            self.got_at.append(time.monotonic())
            self.buf = self.buf[end + 4 + n:]

    def body(self, i=0):
        """The body of response i, which must be a 200 kept alive."""
        status, headers, body = self.responses[i]
        assert status == 200, (status, body[:200])
        assert headers.get("connection", "").lower() != "close", headers
        return body

    def close(self):
        self.sock.close()

    def close_reset(self):
        """Closes with an RST (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.sock.close()


def connect(port, n, proto="xmlrpc"):
    conns = []
    try:
        for i in range(n):
            conns.append(Conn(port, proto(i) if callable(proto) else proto))
    except BaseException:
        close_all(conns)
        raise
    return conns


def close_all(conns):
    for c in conns:
        try:
            c.close()
        except OSError:
            pass


def pump(conns, done, timeout):
    """Reads every connection, one selector loop, until done() or timeout;
    returns done()."""
    sel = selectors.DefaultSelector()
    try:
        for c in conns:
            if not c.eof:
                sel.register(c.sock, selectors.EVENT_READ, c)
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0 or not sel.get_map():
                break
            for key, _ in sel.select(min(left, 0.5)):
                c = key.data
                c.feed()
                if c.eof:
                    sel.unregister(c.sock)
        return done()
    finally:
        sel.close()


def each_has(conns, n):
    return lambda: all(len(c.responses) >= n for c in conns)


def quiet(conns, seconds):
    """Reads for seconds; the connections that got anything (bytes or an
    end), by index with what they got."""
    before = [(len(c.responses), len(c.buf), c.eof) for c in conns]
    pump(conns, lambda: False, seconds)
    return {i: (c.responses[b[0]:], c.buf, c.eof)
            for i, (c, b) in enumerate(zip(conns, before))
            if (len(c.responses), len(c.buf), c.eof) != b}


# ---- the tests --------------------------------------------------------------

class QuietMixin:
    def assert_quiet(self, conns, seconds, what):
        """Nothing comes on any of conns for seconds."""
        got = quiet(conns, seconds)
        self.assertEqual(got, {}, "%s: %d connection(s) got something, "
                         "first: %r" % (what, len(got),
                                        next(iter(got.items()), None)))


class WaitTestCase(QuietMixin, fx.XbtdTestCase):
    """One xbtd per class (setUpClass), logged in: c, pool."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = cls.xbtd.api
        cls.pool = cls.c("pool.get_all")[0]

    def head(self, classes=("task",)):
        """A token at the newest event (by a wait of no time)."""
        return self.c("event.from", list(classes), "", 0.0)["token"]

    def fresh_token(self):
        """A token just past a fresh event.inject on the pool, which a
        ["task"] wait then skips."""
        token = self.c("event.inject", "pool", self.pool)
        return make_token(token_id(token) + 1)


class ManyWaitersTestCase(WaitTestCase):
    N = 2000

    def test_2000_waiters_woken_once_by_one_event(self):
        if NOFILE < self.N + 1000:
            self.skipTest("RLIMIT_NOFILE is %d (hard limit): %d waiters "
                          "need %d" % (NOFILE, self.N, self.N + 1000))
        pid = self.xbtd.proc.pid
        token = self.fresh_token()
        conns = []
        try:
            t0 = time.monotonic()
            conns = connect(self.xbtd.port, self.N,
                            lambda i: "xmlrpc" if i % 2 else "json2")
            t1 = time.monotonic()
            for i, c in enumerate(conns):
                c.send(event_from(c.proto, self.c.session, ["task"], token,
                                  READ_TIMEOUT, rid=i))
            settle(pid)
            t2 = time.monotonic()
            threads = thread_count(pid)
            self.assert_quiet(conns, 0.2, "before the event")
            task = self.c("task.create", "wake 2000", "")
            t3 = time.monotonic()
            self.assertTrue(pump(conns, each_has(conns, 1), READ_TIMEOUT),
                            "%d of %d waiters not answered" % (
                                sum(not c.responses for c in conns), self.N))
            t4 = time.monotonic()
            tokens = set()
            for i, c in enumerate(conns):
                self.assertEqual(len(c.responses), 1, i)
                r = ok(c.proto, c.body(), rid=i)
                self.assertEqual(summary(r["events"]),
                                 [("task", "add", task)], i)
                self.assertEqual(r["events"][0]["snapshot"]["name_label"],
                                 "wake 2000")
                tokens.add(r["token"])
            self.assertEqual(len(tokens), 1, tokens)
            token2 = tokens.pop()
            self.assertEqual(token_id(token2),
                             int(ok(conns[0].proto, conns[0].body(), 0)
                                 ["events"][0]["id"]))
            self.assertGreater(token_id(token2), token_id(token))
            # Exactly once: nothing more on any connection.
            self.assert_quiet(conns, 0.5, "after the answers")
            print("\n%d connections in %.2f s, parked in %.2f s (xbtd then "
                  "had %d threads), all woken %.3f s after task.create "
                  "returned" % (self.N, t1 - t0, t2 - t1, threads, t4 - t3),
                  file=sys.stderr)

            # A second round on the same connections.
            for i, c in enumerate(conns):
                c.send(event_from(c.proto, self.c.session, ["task"], token2,
                                  READ_TIMEOUT, rid=self.N + i))
            settle(pid)
            self.assert_quiet(conns, 0.2, "before the second event")
            self.c("task.set_status", task, "success")
            self.assertTrue(pump(conns, each_has(conns, 2), READ_TIMEOUT),
                            "%d of %d waiters not answered again" % (
                                sum(len(c.responses) < 2 for c in conns),
                                self.N))
            tokens = set()
            for i, c in enumerate(conns):
                r = ok(c.proto, c.body(1), rid=self.N + i)
                self.assertEqual(summary(r["events"]),
                                 [("task", "mod", task)], i)
                self.assertEqual(r["events"][0]["snapshot"]["status"],
                                 "success")
                tokens.add(r["token"])
            self.assertEqual(tokens, {make_token(token_id(token2) + 1)})
            self.assert_quiet(conns, 0.5, "after the second answers")
            self.c("task.destroy", task)
        finally:
            close_all(conns)


HOLDER = "import sys; sys.stdin.read()"


class GoneWaitersTestCase(WaitTestCase):
    """Its own xbtd (one per class), so that no earlier test's call
    threads linger."""

    N = 300        # in this process: half closed (FIN), half reset (RST)
    CHILD_N = 100  # handed to a child process that is SIGKILLed

    def gone(self, what, kill, pid, want):
        """kill(); xbtd's descriptors fall to want: the seconds from the
        kill's start."""
        t0 = time.monotonic()
        kill()
        freed = wait_for(lambda: fd_count(pid) <= want, 10.0)
        self.assertIsNotNone(freed, "%s: xbtd still has %d descriptors "
                             "after 10 s, want %d" % (what, fd_count(pid),
                                                      want))
        took = time.monotonic() - t0
        print("  %s: descriptors freed in %.0f ms" % (what, took * 1e3),
              file=sys.stderr)
        self.assertLessEqual(took, 1.5, what)
        self.assertEqual(fd_count(pid), want, what)
        return took

    def test_gone_waiters_free_their_descriptors_and_hold_no_thread(self):
        n = self.N + self.CHILD_N
        if NOFILE < n + 500:
            self.skipTest("RLIMIT_NOFILE is %d" % NOFILE)
        pid = self.xbtd.proc.pid
        token = self.fresh_token()
        settle(pid)
        fds0, threads0 = fd_count(pid), thread_count(pid)
        conns, child = [], None
        try:
            conns = connect(self.xbtd.port, n)
            for w in conns:
                w.send(event_from("xmlrpc", self.c.session, ["task"], token,
                                  60.0))
            # The child holds the last CHILD_N sockets alone.
            held = conns[self.N:]
            child = subprocess.Popen(
                [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                pass_fds=[w.sock.fileno() for w in held])
            close_all(held)
            conns = conns[:self.N]
            wait_for(lambda: fd_count(pid) >= fds0 + n, 10.0)
            settle(pid)
            fds, burst = fd_count(pid), thread_count(pid)
            self.assertEqual(fds, fds0 + n)
            # A parked wait holds no thread. The n calls arrived at once:
            # up to 16 call threads are made at once for them, then one
            # more only when a call has waited 2 ms with none idle
            # (server/common/http_calls.c), so the burst makes a few
            # dozen threads (more on a loaded machine, where calls wait
            # longer: 49 seen under ASan), not one per call (n = 400).
            self.assertLessEqual(burst, threads0 + 100,
                                 "a thread per arriving call?")
            # Each is kept for reuse until it has been idle 10 s. Once
            # those end, with every wait still parked, the few left are
            # the call threads always kept (4) and the one that served
            # fresh_token; n waits holding a thread each would be n more.
            took = wait_for(lambda: thread_count(pid) <= threads0 + 8, 15.0,
                            0.1)
            threads = thread_count(pid)
            print("\nxbtd: %d descriptors and %d threads idle; with %d "
                  "parked waiters %d descriptors, %d threads just after they "
                  "came, %d %s" % (
                      fds0, threads0, n, fds, burst, threads,
                      "%.1f s later" % took if took is not None else
                      "15 s later"), file=sys.stderr)
            self.assertIsNotNone(took, "%d threads, want <= %d" % (
                threads, threads0 + 8))
            self.assertEqual(fd_count(pid), fds0 + n)
            self.assert_quiet(conns, 0.2, "parked")

            half = self.N // 2
            self.gone("%d closed (FIN)" % half,
                      lambda: close_all(conns[:half]), pid,
                      fds0 + n - half)
            self.gone("%d reset (RST)" % (self.N - half),
                      lambda: [w.close_reset() for w in conns[half:]], pid,
                      fds0 + self.CHILD_N)
            self.gone("a process holding %d SIGKILLed" % self.CHILD_N,
                      lambda: (child.kill(), child.wait()), pid, fds0)
            self.assertLessEqual(thread_count(pid), threads0 + 8)
            # Still serving, and a new waiter is woken as before.
            w = Conn(self.xbtd.port)
            conns.append(w)
            w.send(event_from("xmlrpc", self.c.session, ["task"], token,
                              60.0))
            settle(pid)
            task = self.c("task.create", "after", "")
            self.assertTrue(pump([w], each_has([w], 1), READ_TIMEOUT))
            self.assertEqual(summary(ok("xmlrpc", w.body())["events"]),
                             [("task", "add", task)])
            self.c("task.destroy", task)
        finally:
            close_all(conns)
            if child and child.poll() is None:
                child.kill()
                child.wait()


class ShutdownTestCase(QuietMixin, unittest.TestCase):
    N = 1000

    def test_sigterm_with_1000_parked_waiters(self):
        if NOFILE < self.N + 500:
            self.skipTest("RLIMIT_NOFILE is %d" % NOFILE)
        srv = fx.Xbtd().start()
        conns = []
        try:
            c = srv.api
            token = c("event.from", ["task"], "", 0.0)["token"]
            pid = srv.proc.pid
            conns = connect(srv.port, self.N,
                            lambda i: "xmlrpc" if i % 2 else "json2")
            for i, w in enumerate(conns):
                w.send(event_from(w.proto, c.session, ["task"], token, 60.0,
                                  rid=i))
            settle(pid)
            self.assert_quiet(conns, 0.2, "parked")
            pidfd = os.pidfd_open(pid)
            try:
                srv.terminate()
                exited = select.select([pidfd], [], [], 20.0)[0]
                took = time.monotonic() - srv.sigterm_at
            finally:
                os.close(pidfd)
            if not exited:
                states = thread_states(pid)
                pump(conns, lambda: False, 0.5)
                self.fail("xbtd still runs 20 s after SIGTERM; of %d "
                          "waiters %d answered, %d closed; its threads: %s"
                          % (self.N, sum(bool(w.responses) for w in conns),
                             sum(w.eof for w in conns), states))
            srv.stop()  # status 0, no sanitizer report
            print("\nxbtd exited %.0f ms after SIGTERM with %d parked "
                  "waiters (bound %.0f ms)" % (took * 1e3, self.N,
                                               STOP_BOUND * 1e3),
                  file=sys.stderr)
            self.assertLess(took, STOP_BOUND)
            # Every waiter: an answer then the end, or just the end.
            self.assertTrue(pump(conns, lambda: all(w.eof for w in conns),
                                 10.0), "%d connections still open" %
                            sum(not w.eof for w in conns))
            answered = 0
            for i, w in enumerate(conns):
                self.assertFalse(w.reset, i)
                self.assertEqual(w.buf, b"", "%d: a cut response" % i)
                self.assertLessEqual(len(w.responses), 1, i)
                if w.responses:
                    r = ok(w.proto, w.responses[0][2], rid=i)
                    self.assertEqual(sorted(r), ["events", "token",
                                                 "valid_ref_counts"])
                    self.assertEqual(r["events"], [])
                    self.assertTrue(TOKEN_RE.match(r["token"]), r)
                    answered += 1
            print("  %d answered (an empty batch), %d closed" % (
                answered, self.N - answered), file=sys.stderr)
        finally:
            close_all(conns)
            srv.stop()


class MixedProtocolsTestCase(WaitTestCase):
    def test_xmlrpc_and_jsonrpc_waiters_share_one_event(self):
        token = self.fresh_token()
        kinds = ["xmlrpc", "json2", "json1"] * 20
        conns = connect(self.xbtd.port, len(kinds), lambda i: kinds[i])
        try:
            # Distinct ids: numbers on v2, strings on v1.
            ids = [None if p == "xmlrpc" else 1000 + i if p == "json2"
                   else "waiter-%d" % i for i, p in enumerate(kinds)]
            for w, rid in zip(conns, ids):
                w.send(event_from(w.proto, self.c.session, ["task"], token,
                                  READ_TIMEOUT, rid=rid))
            settle(self.xbtd.proc.pid)
            self.assert_quiet(conns, 0.2, "parked")
            task = self.c("task.create", "mixed \u00e9\U0001F600", "d")
            self.assertTrue(pump(conns, each_has(conns, 1), READ_TIMEOUT))
            got = {}
            for w, rid in zip(conns, ids):
                self.assertEqual(len(w.responses), 1)
                r = ok(w.proto, w.body(), rid)
                got.setdefault(w.proto, []).append(plain(r))
            self.assertEqual(sorted(got), ["json1", "json2", "xmlrpc"])
            ref = got["xmlrpc"][0]
            self.assertEqual(summary(ref["events"]), [("task", "add", task)])
            snap = ref["events"][0]["snapshot"]
            self.assertEqual(snap["name_label"], "mixed \u00e9\U0001F600")
            self.assertEqual(snap["status"], "pending")
            self.assertEqual(token_id(ref["token"]),
                             int(ref["events"][0]["id"]))
            # One answer: equal events (ref, class, operation, id,
            # timestamp, every snapshot field), token and counts.
            for proto, results in got.items():
                for r in results:
                    self.assertEqual(r, ref, proto)
            # XML-RPC answers are identical to the byte.
            self.assertEqual(len({w.body() for w in conns
                                  if w.proto == "xmlrpc"}), 1)
            self.assert_quiet(conns, 0.3, "after the answers")
            self.c("task.destroy", task)
        finally:
            close_all(conns)


class LostTestCase(WaitTestCase):
    """--event-history 16; finished tasks dropped by task_gc (one locked
    section for all those due, server/xenapi/task.c) 1 to 3 s after they
    finish."""

    HISTORY = 16
    xbtd_args = ("--event-history", str(HISTORY), "--task-max-age", "1")

    def test_old_token_is_lost_at_once_whatever_the_timeout(self):
        # As tests/test_events.py's synchronous test_events_lost: a token
        # older than the history, or one from the future, is EVENTS_LOST,
        # and a wait of 60 s does not park it.
        token = self.fresh_token()
        tasks = [self.c("task.create", "lost %d" % i, "")
                 for i in range(self.HISTORY + 2)]
        now = token_id(self.head())
        for bad in (token, make_token(now + 1000)):
            for proto in ("xmlrpc", "json2", "json1"):
                w = Conn(self.xbtd.port)
                try:
                    w.send(event_from(proto, self.c.session, ["task"], bad,
                                      60.0, rid=7))
                    self.assertTrue(pump([w], each_has([w], 1), 5.0),
                                    (bad, proto))
                    self.assertEqual(answer(proto, w.body(), 7),
                                     (None, ["EVENTS_LOST"]), (bad, proto))
                finally:
                    w.close()
        # The oldest event still held is served.
        r = self.c("event.from", ["task"], make_token(now - self.HISTORY),
                   60.0)
        self.assertEqual(len(r["events"]), self.HISTORY)
        for t in tasks:
            self.c("task.destroy", t)

    def test_parked_waiter_follows_the_log_past_other_classes(self):
        # Per xapi (Xapi_event.from_inner: "nothing relevant fell out of
        # the db", cur_id bumped): a waiter whose classes see no change is
        # not behind. A parked ["vm"] waiter is looked at on every change,
        # its cursor moving past the task events: 40 of them, more than
        # the history, paced so that the event-wait thread looks at least
        # once every 5, lose it nothing. Its timeout brings an empty batch
        # and a token at the newest event.
        w = Conn(self.xbtd.port)
        try:
            token = self.head(["vm"])
            w.send(event_from("xmlrpc", self.c.session, ["vm"], token, 3.0))
            settle(self.xbtd.proc.pid)
            for _ in range(8):
                t = self.c("task.create", "paced", "")
                self.c("task.add_to_other_config", t, "k", "v")
                self.c("task.remove_from_other_config", t, "k")
                self.c("task.add_to_other_config", t, "k", "w")
                self.c("task.destroy", t)
                time.sleep(0.1)
            self.assertTrue(pump([w], each_has([w], 1), 10.0))
            took = w.got_at[0] - w.sent_at
            r = ok("xmlrpc", w.body())
            self.assertEqual(r["events"], [])
            self.assertEqual(r["token"], self.head())
            self.assertGreaterEqual(token_id(r["token"]),
                                    token_id(token) + 40)
            self.assertTrue(2.9 <= took <= 6.0, took)
        finally:
            w.close()

    def finish_in_one_second(self, n):
        """n tasks marked success within one second of the clock
        task.finished reads (time(2)), so that one task_gc pass drops them
        all; their refs."""
        for _attempt in range(5):
            tasks = [self.c("task.create", "gc %d" % i, "") for i in range(n)]
            # Early in a second (not at its very start: time(2) is the
            # coarse clock, a tick behind), n set_status calls take well
            # under one.
            wait_for(lambda: 0.02 <= time.time() % 1.0 < 0.1, 2.0, 0.001)
            for t in tasks:
                self.c("task.set_status", t, "success")
            seconds = {str(self.c("task.get_finished", t)) for t in tasks}
            if len(seconds) == 1:
                return tasks
            for t in tasks:
                self.c("task.destroy", t)
        self.fail("%d set_status calls never fitted in one second" % n)

    def test_parked_waiters_get_events_lost_when_the_ring_passes_them(self):
        # 40 finished tasks dropped in one task_gc pass: 40 "del" events
        # appended at once, before the event-wait thread can look. A
        # parked waiter whose unread events were among those dropped from
        # the 16-event ring gets EVENTS_LOST when it is next looked at:
        # at once, not at its timeout. The ["vm"] waiter matches none of
        # them, but it could not have looked at them (xapi's database
        # would show them; a ring cannot); the ["task"] waiter's own
        # events are gone.
        tasks = self.finish_in_one_second(40)
        token = self.head()
        waiters = [("xmlrpc", ["vm"], None), ("xmlrpc", ["task"], None),
                   ("json2", ["task"], 5), ("json1", ["vm"], "v1")]
        conns = [Conn(self.xbtd.port) for _ in waiters]
        try:
            for w, (proto, classes, rid) in zip(conns, waiters):
                w.send(event_from(proto, self.c.session, classes, token,
                                  60.0, rid=rid))
            settle(self.xbtd.proc.pid, limit=5.0)
            # Parked: the tasks are still there, nothing came yet.
            self.assertLessEqual(set(tasks), set(self.c("task.get_all")))
            self.assert_quiet(conns, 0.1, "parked")
            t0 = time.monotonic()
            gone = wait_for(lambda: not set(tasks) & set(
                self.c("task.get_all")), 10.0, 0.01)
            self.assertIsNotNone(gone, "task_gc did not drop the tasks")
            self.assertTrue(pump(conns, each_has(conns, 1), 5.0))
            last = max(w.got_at[0] for w in conns) - t0
            print("\ntasks dropped %.2f s after the waiters parked, the "
                  "last answer %.0f ms after that" % (
                      gone, (last - gone) * 1e3), file=sys.stderr)
            self.assertLess(last - gone, 1.0)
            for w, (proto, classes, rid) in zip(conns, waiters):
                self.assertEqual(answer(proto, w.body(), rid),
                                 (None, ["EVENTS_LOST"]), (proto, classes))
            # The connections stay usable.
            for w, (proto, classes, rid) in zip(conns, waiters):
                w.send(request(proto, "event.from",
                               [self.c.session, classes, self.head(), 0.0],
                               rid))
            self.assertTrue(pump(conns, each_has(conns, 2), 10.0))
            for w, (proto, classes, rid) in zip(conns, waiters):
                r = ok(proto, w.body(1), rid)
                self.assertEqual(r["events"], [])
        finally:
            close_all(conns)


class SessionAndTimeoutTestCase(WaitTestCase):
    def test_logout_ends_parked_waits_with_session_invalid(self):
        other = XmlRpc(self.xbtd.url)
        s = other.login()
        token = self.fresh_token()
        kinds = [("xmlrpc", None), ("json2", 21), ("json1", "one")]
        conns = [Conn(self.xbtd.port) for _ in kinds]
        try:
            for w, (proto, rid) in zip(conns, kinds):
                w.send(event_from(proto, s, ["task"], token, 60.0, rid=rid))
            settle(self.xbtd.proc.pid)
            self.assert_quiet(conns, 0.2, "parked")
            t0 = time.monotonic()
            XmlRpc(self.xbtd.url, s)("session.logout")
            self.assertTrue(pump(conns, each_has(conns, 1), 10.0))
            for w, (proto, rid) in zip(conns, kinds):
                took = w.got_at[0] - t0
                self.assertEqual(answer(proto, w.body(), rid),
                                 (None, ["SESSION_INVALID", s]), proto)
                self.assertLess(took, 1.0, proto)
            self.assert_quiet(conns, 0.2, "after the answers")
        finally:
            close_all(conns)

    def test_timeout_of_a_parked_wait_brings_an_empty_batch(self):
        token = self.fresh_token()
        conns = [Conn(self.xbtd.port, p) for p in ("xmlrpc", "json2")]
        try:
            for w in conns:
                w.send(event_from(w.proto, self.c.session, ["task"], token,
                                  1.0, rid=3))
            self.assertTrue(pump(conns, each_has(conns, 1), 10.0))
            for w in conns:
                took = w.got_at[0] - w.sent_at
                r = ok(w.proto, w.body(), 3)
                self.assertEqual(r["events"], [])
                self.assertTrue(TOKEN_RE.match(r["token"]), r)
                self.assertGreaterEqual(token_id(r["token"]),
                                        token_id(token))
                self.assertTrue(0.9 <= took <= 3.0, (w.proto, took))
        finally:
            close_all(conns)


class PipelineTestCase(WaitTestCase):
    def test_request_pipelined_behind_a_wait_is_answered_after_it(self):
        task = self.c("task.create", "pipelined", "")
        token = self.fresh_token()
        w = Conn(self.xbtd.port)
        try:
            w.send(event_from("xmlrpc", self.c.session, ["task"], token,
                              READ_TIMEOUT) +
                   request("json2", "task.get_record",
                           [self.c.session, task], rid="second") +
                   request("xmlrpc", "task.get_status",
                           [self.c.session, task]))
            settle(self.xbtd.proc.pid)
            self.assert_quiet([w], 0.3, "parked")
            self.c("task.set_status", task, "success")
            self.assertTrue(pump([w], each_has([w], 3), READ_TIMEOUT))
            r = ok("xmlrpc", w.body(0))
            self.assertEqual(summary(r["events"]), [("task", "mod", task)])
            self.assertEqual(r["events"][0]["snapshot"]["status"], "success")
            # Served after the wait ended: they see the change.
            rec = ok("json2", w.body(1), "second")
            self.assertEqual(rec["status"], "success")
            self.assertEqual(rec["name_label"], "pipelined")
            self.assertEqual(ok("xmlrpc", w.body(2)), "success")
            self.assertEqual(len(w.responses), 3)
            self.assert_quiet([w], 0.2, "after the answers")
            # The connection goes on.
            w.send(request("xmlrpc", "task.get_status",
                           [self.c.session, task]))
            self.assertTrue(pump([w], each_has([w], 4), READ_TIMEOUT))
            self.assertEqual(ok("xmlrpc", w.body(3)), "success")
        finally:
            w.close()
            self.c("task.destroy", task)


if __name__ == "__main__":
    fx.run()
