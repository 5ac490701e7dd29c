#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The harness itself (tests/xbtd_fixture.py): several hosts on one port,
the checks stop() makes, and the summary line and exit status of run()."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402


class Hosts(unittest.TestCase):

    def test_three_hosts_on_one_port(self):
        with fx.Hosts(3) as hosts:
            members = list(hosts)
            self.assertEqual([h.address for h in members],
                             ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
            self.assertEqual([h.port for h in members], [hosts.port] * 3)
            pools = []
            for i, h in enumerate(members):
                # Each answers for itself: a pool of one, its own master.
                c = h.api
                pool, = c("pool.get_all")
                master = c("pool.get_master", pool)
                self.assertEqual(c("host.get_all"), [master])
                rec = c("host.get_record", master)
                name = "h%d" % (i + 1)
                self.assertEqual((rec["name_label"], rec["hostname"],
                                  rec["address"]),
                                 (name, name, h.address))
                # A client rebuilds the URL from the address and the port.
                self.assertEqual(h.url, "http://%s:%d/" % (rec["address"],
                                                           hosts.port))
                pools.append(pool)
            self.assertEqual(len(set(pools)), 3)
        # Left the with block: every one exited 0 without a sanitizer
        # report, or stop() would have raised.
        self.assertEqual(len(hosts), 0)
        for h in members:
            self.assertIsNone(h.proc)
            self.assertLess(h.result[0], 5)

    def test_a_taken_port_is_picked_again(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.2", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        picks = []
        real = fx.free_port

        def pick(addresses):
            picks.append(addresses)
            return taken if len(picks) == 1 else real(addresses)

        fx.free_port = pick
        self.addCleanup(setattr, fx, "free_port", real)
        with fx.Hosts(2) as hosts:
            self.assertNotEqual(hosts.port, taken)
            self.assertEqual(picks, [["127.0.0.1", "127.0.0.2"]] * 2)
            self.assertEqual(len(hosts[1].api("pool.get_all")), 1)


class Stop(unittest.TestCase):

    def fake(self, stderr_line):
        """A server that writes stderr_line, says it listens, and exits 0
        on SIGTERM. The trap and the line come first: a SIGTERM right
        after the listening line must find both (CI once killed the shell
        before its trap was set)."""
        script = ("trap 'exit 0' TERM; echo '%s' >&2; "
                  "echo 'listening on 7'; while :; do sleep 0.05; done"
                  % stderr_line)
        srv = fx.Server(["/bin/sh", "-c", script],
                        r"listening on (?P<port>\d+)").start()
        # A failed stop() keeps the files for a look.
        self.addCleanup(shutil.rmtree, srv.tmpdir, True)
        return srv

    def test_clean_exit(self):
        srv = self.fake("all is well")
        self.assertEqual(srv.port, 7)
        took, err = srv.stop()
        self.assertEqual(err, "all is well\n")
        self.assertEqual(srv.stop(), (took, err))  # again: the same result

    def test_sanitizer_report_fails(self):
        srv = self.fake("==1==ERROR: AddressSanitizer: heap-use-after-free")
        with self.assertRaisesRegex(fx.ServerError,
                                    "stderr has 'AddressSanitizer'"):
            srv.stop()

    def test_tsan_report_fails(self):
        srv = self.fake("WARNING: ThreadSanitizer: data race (pid=1)")
        with self.assertRaisesRegex(fx.ServerError,
                                    "stderr has 'ThreadSanitizer'"):
            srv.stop()

    def test_death_before_sigterm_fails(self):
        x = fx.Xbtd().start()
        self.addCleanup(shutil.rmtree, x.tmpdir, True)
        x.proc.kill()
        x.proc.wait()
        with self.assertRaisesRegex(fx.ServerError,
                                    r"died early with status -9; "
                                    r"exit status -9, want 0"):
            x.stop()
        self.assertEqual(fx.sanitizer_reports(x.result[1]), [])

    def test_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.3", 0))
            busy.listen(1)
            x = fx.Xbtd(address="127.0.0.3", port=busy.getsockname()[1])
            with self.assertRaisesRegex(fx.ServerError,
                                        "(?s)before listening.*in use"):
                x.start()
        self.assertIsNone(x.proc)


class Report(unittest.TestCase):

    def run_module(self, body):
        """Runs a test module under fx.run(): (exit status, last line)."""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.py")
            with open(path, "w") as f:
                f.write("import sys, unittest\n"
                        "sys.path.insert(0, %r)\n"
                        "import xbtd_fixture as fx\n" % fx.HERE +
                        textwrap.dedent(body) +
                        "\nfx.run()\n")
            p = subprocess.run([sys.executable, path], capture_output=True,
                               text=True, timeout=60)
        return p.returncode, p.stdout.splitlines()[-1]

    def test_all_skipped_is_77(self):
        self.assertEqual(self.run_module('''
            class T(unittest.TestCase):
                def test_a(self):
                    self.skipTest("no")
                def test_b(self):
                    self.skipTest("no")
            '''), (77, "0 passed, 0 failed, 2 skipped"))

    def test_counts_and_order(self):
        # Subtests that fail count their test once; a failing class
        # teardown counts once more; tests run in the order written.
        self.assertEqual(self.run_module('''
            order = []
            class T(unittest.TestCase):
                def test_z(self):
                    order.append("z")
                def test_a(self):
                    order.append("a")
                    for i in range(3):
                        with self.subTest(i=i):
                            self.fail()
                def test_m(self):
                    self.assertEqual(order, ["z", "a"])
                    self.skipTest("no")
                @classmethod
                def tearDownClass(cls):
                    raise AssertionError("teardown")
            '''), (1, "1 passed, 2 failed, 1 skipped"))

    def test_all_passed(self):
        self.assertEqual(self.run_module('''
            class T(unittest.TestCase):
                def test_a(self):
                    pass
            '''), (0, "1 passed, 0 failed"))


if __name__ == "__main__":
    fx.run()
