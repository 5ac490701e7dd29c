#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""--log-file and SIGHUP (doc/xbtd.8): xbtd and the xbt-opsd it runs log to
the file; SIGHUP reopens it, as logrotate expects, and rereads --users,
while logins go on (a bad users file keeps the old users).
"""

import os
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from test_xbtd_api import make_crypt_hash  # noqa: E402

TIMEOUT = 60.0


def wait_for(pred, what):
    deadline = time.monotonic() + TIMEOUT
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not seen after %.0f s" % (what, TIMEOUT))
        time.sleep(0.05)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class LogFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xbt-log-")
        self.log = os.path.join(self.tmp, "xbtd.log")
        self.x = fx.Xbtd(["--log-file", self.log, "--hostname", "h1"])
        self.x.start()

    def tearDown(self):
        try:
            self.x.stop()
        finally:
            for name in os.listdir(self.tmp):
                text = read(os.path.join(self.tmp, name))
                self.assertEqual(fx.sanitizer_reports(text), [], name)
                os.unlink(os.path.join(self.tmp, name))
            os.rmdir(self.tmp)

    def test_both_daemons_log_to_the_file(self):
        wait_for(lambda: " xbt-opsd info " in read(self.log), "opsd's lines")
        text = read(self.log)
        self.assertRegex(text, r"(?m)^\S+Z xbtd info \[main\] xbtd .* "
                               r"listening on 127\.0\.0\.1:%d " % self.x.port)
        self.assertIn(" xbt-opsd info ", text)
        # Nothing is left for the terminal.
        self.assertEqual(self.x.stderr(), "")

    def test_sighup_reopens(self):
        wait_for(lambda: " xbt-opsd info " in read(self.log), "opsd's lines")
        rotated = self.log + ".1"
        os.rename(self.log, rotated)
        self.x.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "xbtd info [main] log file %s reopened" % self.log
                 in read(self.log), "xbtd's reopen line")
        wait_for(lambda: "xbt-opsd info [main] log file %s reopened"
                 % self.log in read(self.log), "opsd's reopen line")
        # The daemon still serves, and its new lines go to the new file.
        self.x.api("VM.get_all")
        old = read(rotated)
        self.assertNotIn("reopened", old)
        self.assertIn(" xbtd info ", old)

    def test_unwritable_log_file(self):
        status, out, err = fx.run_xbtd(
            ["--log-file", os.path.join(self.tmp, "no", "such", "dir.log"),
             "--listen", "127.0.0.1:0", "--opsd-dir",
             os.path.join(self.tmp, "opsd2"), "--state-dir",
             os.path.join(self.tmp, "state2")], env=fx.clean_env())
        self.assertEqual(status, 1)
        self.assertIn("xbtd: --log-file %s: No such file or directory"
                      % os.path.join(self.tmp, "no", "such", "dir.log"), err)


class UsersReload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hashes = {pw: make_crypt_hash(pw)
                      for pw in ("alice-1", "alice-2", "bob-1", "carol-1")}
        if not all(cls.hashes.values()):
            raise unittest.SkipTest("no crypt(3) hash can be made here")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xbt-users-")
        self.users = os.path.join(self.tmp, "users")
        self.log = os.path.join(self.tmp, "xbtd.log")
        self.write_users([("alice", "alice-1"), ("carol", "carol-1")])
        self.x = fx.Xbtd(["--users", self.users, "--log-file", self.log])
        self.x.start()

    def tearDown(self):
        try:
            self.x.stop()
        finally:
            text = read(self.log)
            self.assertEqual(fx.sanitizer_reports(text), [])
            for name in os.listdir(self.tmp):
                os.unlink(os.path.join(self.tmp, name))
            os.rmdir(self.tmp)

    def write_users(self, entries, extra=""):
        tmp = self.users + ".new"
        with open(tmp, "w") as f:
            for user, pw in entries:
                f.write("%s:%s\n" % (user, self.hashes[pw]))
            f.write(extra)
        os.rename(tmp, self.users)

    def login(self, user, pw):
        c = fx.XmlRpc(self.x.url)
        try:
            c.login(user, pw)
            c("session.logout")
            return None
        except fx.XenAPIError as e:
            return e.desc

    def hup_and_wait(self, line):
        n = read(self.log).count(line)
        self.x.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: read(self.log).count(line) > n, line)

    def test_sighup_rereads_users(self):
        self.assertIsNone(self.login("alice", "alice-1"))
        self.assertEqual(self.login("bob", "bob-1"),
                         ["SESSION_AUTHENTICATION_FAILED", "bob",
                          "Authentication failure"])
        self.write_users([("alice", "alice-2"), ("bob", "bob-1"),
                          ("carol", "carol-1")])
        self.hup_and_wait("users file %s reloaded" % self.users)
        self.assertEqual(self.login("alice", "alice-1"),
                         ["SESSION_AUTHENTICATION_FAILED", "alice",
                          "Authentication failure"])
        self.assertIsNone(self.login("alice", "alice-2"))
        self.assertIsNone(self.login("bob", "bob-1"))

    def test_bad_users_file_keeps_the_old_users(self):
        with open(self.users, "w") as f:
            f.write("no colon here\n")
        self.hup_and_wait("users file not reloaded, the old users stay: "
                          "INTERNAL_ERROR [users file %s:1: expected "
                          "user:crypt-hash]" % self.users)
        self.assertIsNone(self.login("alice", "alice-1"))
        os.unlink(self.users)
        self.hup_and_wait("users file not reloaded")
        self.assertIsNone(self.login("alice", "alice-1"))

    def test_logins_during_reloads(self):
        # carol's entry is in every version of the file: her logins never
        # fail, however the reloads fall between them.
        stop = threading.Event()
        failures = []
        count = [0]

        def logins():
            while not stop.is_set():
                r = self.login("carol", "carol-1")
                count[0] += 1
                if r is not None:
                    failures.append(r)

        threads = [threading.Thread(target=logins) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(20):
                self.write_users([("carol", "carol-1")] +
                                 ([("alice", "alice-2")] if i % 2 else []))
                self.hup_and_wait("users file %s reloaded" % self.users)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 0)


if __name__ == "__main__":
    fx.run()
