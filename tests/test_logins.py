#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Logins and limits (doc/design.md, "Logins"): no empty or default root
password off loopback, failed logins throttled across connections per
address and per user name, sessions capped per group as xapi caps them,
tasks collected when hung or when their session ended, and a full Async
queue answered TOO_MANY_PENDING_TASKS."""

import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from test_xbtd_api import make_crypt_hash  # noqa: E402

AUTH_FAILED = "Authentication failure"


class SourceConnection(http.client.HTTPConnection):
    """A connection from a given loopback address (127.0.0.x)."""

    def __init__(self, host, port, source, timeout=30):
        super().__init__(host, port, timeout=timeout,
                         source_address=(source, 0))


def jsonrpc(conn, method, *params):
    """The JSON-RPC v1 answer: (result, error)."""
    body = json.dumps({"method": method, "params": list(params), "id": 1})
    conn.request("POST", "/jsonrpc", body,
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    answer = json.loads(r.read())
    return answer.get("result"), answer.get("error")


class PasswordOffLoopback(unittest.TestCase):
    """While xbtd listens off loopback, root needs a password of its own."""

    def refused(self, why, args=(), env_password=None):
        port = fx.free_port()
        env = fx.clean_env()
        if env_password is not None:
            env["XBT_PASSWORD"] = env_password
        self.assertEqual(
            fx.run_xbtd(["--listen", "0.0.0.0:%d" % port] + list(args),
                        env=env),
            (2, "", "xbtd: refusing to listen on 0.0.0.0 with %s for root; "
             "set a non-empty --password or XBT_PASSWORD other than "
             "\"xbt\"\n" % why))

    def test_empty_password_option(self):
        self.refused("an empty password", ["--password", ""])

    def test_empty_password_environment(self):
        self.refused("an empty password", env_password="")

    def test_default_password_given_explicitly(self):
        self.refused("the default password, given explicitly",
                     ["--password", "xbt"])
        self.refused("the default password, given explicitly",
                     env_password="xbt")

    def test_own_password_starts(self):
        # Listening on every address; spoken to on loopback only.
        port = fx.free_port()
        x = fx.Xbtd(["--password", "long-and-own"], password="long-and-own",
                    address="0.0.0.0", port=port).start(login=False)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for pw in ("", "xbt"):
                self.assertEqual(jsonrpc(conn, "session.login_with_password",
                                         "root", pw, "1.0", ""),
                                 (None, ["SESSION_AUTHENTICATION_FAILED",
                                         "root", AUTH_FAILED]))
            ref, err = jsonrpc(conn, "session.login_with_password", "root",
                               "long-and-own", "1.0", "")
            self.assertIsNone(err)
            self.assertTrue(ref.startswith("OpaqueRef:"), ref)
            conn.close()
        finally:
            x.stop()


class Guessing(unittest.TestCase):
    """Failed logins: 5 a second from one address, 5 against one name."""

    RATE = 5
    SECONDS = 3.0

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-logins-")
        h = make_crypt_hash("alice-pw")
        if h is None:
            raise unittest.SkipTest("no crypt(3) hash can be made here")
        users = os.path.join(cls.tmp, "users")
        with open(users, "w") as f:
            f.write("alice:%s\n" % h)
        cls.x = fx.Xbtd(["--users", users]).start()

    @classmethod
    def tearDownClass(cls):
        cls.x.stop()
        shutil.rmtree(cls.tmp, True)

    def guess(self, sources, user, threads, seconds):
        """Failed logins answered while `threads` connections guess for
        `seconds`, the sources taken in turn: their monotonic times."""
        times, errors = [], []
        lock = threading.Lock()
        end = time.monotonic() + seconds

        def guesser(i):
            try:
                conn = SourceConnection("127.0.0.1", self.x.port,
                                        sources[i % len(sources)])
                n = 0
                while time.monotonic() < end:
                    _, err = jsonrpc(conn, "session.login_with_password",
                                     user, "guess-%d-%d" % (i, n), "1.0", "")
                    n += 1
                    if err and err[0] == "SESSION_AUTHENTICATION_FAILED":
                        with lock:
                            times.append(time.monotonic())
                    else:
                        errors.append(err)
                conn.close()
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
        ts = [threading.Thread(target=guesser, args=(i,))
              for i in range(threads)]
        for t in ts:
            t.start()
        return ts, times, errors, lock

    def finish(self, ts, times, errors):
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        return sorted(times)

    def assert_rate(self, times, t0, what):
        """At most RATE a second from t0 to the last answer, with RATE in
        reserve at the start."""
        seconds = times[-1] - t0 if times else 0.0
        most = self.RATE * seconds + self.RATE + 2
        self.assertLessEqual(len(times), most, "%s: %d failures answered "
                             "in %.1f s" % (what, len(times), seconds))
        self.assertGreaterEqual(len(times), self.RATE, what)

    def test_one_address_many_connections(self):
        t0 = time.monotonic()
        ts, times, errors, lock = self.guess(["127.0.0.1"], "root", 16,
                                             self.SECONDS)
        # Meanwhile another user, from another address, logs in at once.
        time.sleep(1.0)
        conn = SourceConnection("127.0.0.1", self.x.port, "127.0.0.2")
        start = time.monotonic()
        ref, err = jsonrpc(conn, "session.login_with_password", "alice",
                           "alice-pw", "1.0", "")
        took = time.monotonic() - start
        conn.close()
        times = self.finish(ts, times, errors)
        self.assertIsNone(err)
        self.assertTrue(ref.startswith("OpaqueRef:"), ref)
        self.assertLess(took, 1.0)
        self.assert_rate(times, t0, "16 guessers")
        # Logged once an interval, with the count.
        self.assertRegex(self.x.stderr(),
                         r"login: \d+ failed attempt\(s\) from address "
                         r"127\.0\.0\.1 in the last 10 s")

    def test_one_name_many_addresses(self):
        t0 = time.monotonic()
        ts, times, errors, _ = self.guess(["127.0.0.3", "127.0.0.4",
                                           "127.0.0.5"], "bob", 12,
                                          self.SECONDS)
        times = self.finish(ts, times, errors)
        self.assert_rate(times, t0,
                         "12 guessers of one name from 3 addresses")
        self.assertRegex(self.x.stderr(), r"login: \d+ failed attempt\(s\) "
                         r"from user bob in the last 10 s")


class SessionCaps(unittest.TestCase):
    """xapi's caps: 500 per originator (root) or user name, 400 for root
    without an originator; the least recently active go first, never a
    session with a task running."""

    def setUp(self):
        self.x = fx.Xbtd().start()
        self.addCleanup(self.x.stop)
        self.conn = self.x.connection()
        self.addCleanup(self.conn.close)

    def logins(self, n, originator):
        refs = []
        for _ in range(n):
            ref, err = jsonrpc(self.conn, "session.login_with_password",
                               "root", fx.ROOT_PASSWORD, "1.0", originator)
            self.assertIsNone(err)
            refs.append(ref)
        return refs

    def alive(self, ref):
        _, err = jsonrpc(self.conn, "pool.get_all", ref)
        if err:
            self.assertEqual(err, ["SESSION_INVALID", ref])
        return err is None

    def test_per_originator(self):
        first = self.logins(1, "capped")[0]
        # A task running: its session stays whatever its age.
        task, err = jsonrpc(self.conn, "task.create", first, "busy", "")
        self.assertIsNone(err)
        refs = self.logins(519, "capped")
        other = self.logins(1, "another")[0]
        # 520 in the group: the 20 least recently active without a task
        # went (first has one, so refs[19] went in its place).
        self.assertTrue(self.alive(first))
        self.assertEqual([r for r in refs[:21] if self.alive(r)], [refs[20]])
        self.assertTrue(all(self.alive(r) for r in refs[21:]))
        self.assertTrue(self.alive(other))

    def test_root_without_originator(self):
        refs = self.logins(405, "")
        self.assertEqual([r for r in refs[:6] if self.alive(r)], [refs[5]])
        self.assertTrue(self.alive(refs[-1]))


class Tasks(unittest.TestCase):
    def test_hung_pending_task_is_collected(self):
        with fx.Xbtd(["--pending-task-timeout", "2"]) as x:
            conn = x.connection()
            s = x.session
            hung, _ = jsonrpc(conn, "task.create", s, "hung", "")
            busy, _ = jsonrpc(conn, "task.create", s, "busy", "")
            deadline = time.monotonic() + 8
            gone = False
            while time.monotonic() < deadline and not gone:
                jsonrpc(conn, "task.set_progress", s, busy, 0.5)
                jsonrpc(conn, "task.set_progress", s, busy, 0.25)
                _, err = jsonrpc(conn, "task.get_status", s, hung)
                gone = err == ["HANDLE_INVALID", "task", hung]
                time.sleep(0.3)
            self.assertTrue(gone, "the hung task is still there")
            self.assertEqual(jsonrpc(conn, "task.get_status", s, busy),
                             ("pending", None))
            conn.close()
            self.assertIn("task %s (hung) collected: pending and unchanged "
                          "for over 2 s" % hung, x.stderr())

    def test_tasks_of_an_ended_session(self):
        with fx.Xbtd() as x:
            conn = x.connection()
            s, _ = jsonrpc(conn, "session.login_with_password", "root",
                           fx.ROOT_PASSWORD, "1.0", "")
            running, _ = jsonrpc(conn, "task.create", s, "running", "")
            done, _ = jsonrpc(conn, "task.create", s, "done", "")
            self.assertEqual(jsonrpc(conn, "task.set_status", s, done,
                                     "success"), ("", None))
            vm = jsonrpc(conn, "VM.get_by_name_label", s, "demo-fail")[0][0]
            started, _ = jsonrpc(conn, "Async.VM.start", s, vm, False,
                                 False)
            self.assertEqual(sorted(jsonrpc(conn, "session.get_tasks", s,
                                            s)[0]),
                             sorted([running, done, started]))
            self.assertEqual(jsonrpc(conn, "session.logout", s), ("", None))
            # The task.create task nobody will finish goes with the
            # session; a finished one and the Async one stay.
            self.assertEqual(jsonrpc(conn, "task.get_status", x.session,
                                     running),
                             (None, ["HANDLE_INVALID", "task", running]))
            self.assertEqual(jsonrpc(conn, "task.get_status", x.session,
                                     done), ("success", None))
            deadline = time.monotonic() + 30
            status = None
            while time.monotonic() < deadline:
                status, _ = jsonrpc(conn, "task.get_status", x.session,
                                    started)
                if status != "pending":
                    break
                time.sleep(0.1)
            self.assertEqual(status, "failure")
            conn.close()

    def test_full_async_queue(self):
        tmp = tempfile.mkdtemp(prefix="xbt-logins-")
        self.addCleanup(shutil.rmtree, tmp, True)
        d = os.path.join(tmp, "sm")
        os.mkdir(d)
        for src in (os.path.join(fx.BUILDDIR, "server", "plugins",
                                 "xbtsm.py"),
                    os.path.join(fx.BUILDDIR, "tests", "plugins",
                                 "VIEWERSR")):
            shutil.copy2(src, d)
        with fx.Xbtd(["--workers", "1", "--async-queue", "1", "--world",
                      os.path.join(fx.SRCDIR, "tests", "worlds",
                                   "viewer.xml"), "--sm-dir", d]) as x:
            conn = x.connection()
            s = x.session
            vm = jsonrpc(conn, "VM.get_by_name_label", s, "slow")[0][0]
            start, err = jsonrpc(conn, "Async.VM.start", s, vm, False, False)
            self.assertIsNone(err)
            # The one worker runs the start (4 disks, 0.8 s each) ...
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if jsonrpc(conn, "task.get_progress", s, start)[0] > 0:
                    break
                time.sleep(0.05)
            dummy, _ = jsonrpc(conn, "task.create", s, "dummy", "")
            # ... one call waits for it, the next is refused, as xapi's.
            queued, err = jsonrpc(conn, "Async.task.cancel", s, dummy)
            self.assertIsNone(err)
            self.assertEqual(jsonrpc(conn, "Async.task.cancel", s, dummy),
                             (None, ["TOO_MANY_PENDING_TASKS"]))
            conn.close()


if __name__ == "__main__":
    fx.run()
