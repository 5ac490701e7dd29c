#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Each daemon's man page agrees with its option table: every option --help
lists is in the page (doc/xbtd.8, doc/xbt-opsd.8) with the same default,
and the page lists no other (server/common/options.h: one table feeds the
parser and --help). Bad values are refused with exit status 2 and a line
naming the bounds; xbt-opsd refuses to run without --socket."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

XBT_OPSD = os.path.join(fx.BUILDDIR, "server", "xbt-opsd")

HELP_RE = re.compile(r"^  --([a-z][a-z-]*)(?: (\S+))?\s+(.*?)"
                     r"(?: \(default (.*)\))?(?: \[\$[A-Z_]+\])?$")


def help_options(program=fx.XBTD):
    """{option: its default or None} from program's --help."""
    out = subprocess.run([program, "--help"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    opts = {}
    for line in out.splitlines()[1:]:
        if line.startswith("  --help"):
            continue
        m = HELP_RE.match(line)
        assert m, line
        opts[m.group(1)] = m.group(4)
    return opts


def man_options(page="xbtd.8"):
    """{option: the plain text of its entry} from doc/<page>."""
    with open(os.path.join(fx.SRCDIR, "doc", page),
              encoding="utf-8") as f:
        text = f.read()
    section = text.split(".SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0]
    opts = {}
    for entry in section.split(".TP\n")[1:]:
        plain = re.sub(r"\\f[BIR]|\\", "", entry)
        plain = re.sub(r"^\.[A-Z]+ ", "", plain, flags=re.M)
        plain = re.sub(r'"', "", plain)
        plain = " ".join(plain.split())
        names = re.findall(r"--([a-z][a-z-]*)", plain.split(" ")[0])
        for name in names:
            opts[name] = plain
    return opts


class Options(unittest.TestCase):
    """xbtd: --help and doc/xbtd.8."""

    program = fx.XBTD
    page = "xbtd.8"
    name = "xbtd"

    def run_program(self, args):
        return fx.run_program([self.program] + list(args),
                              env=fx.clean_env())

    def test_every_option_is_documented_with_its_default(self):
        man = man_options(self.page)
        opts = help_options(self.program)
        self.assertTrue(opts)
        for name, default in opts.items():
            self.assertIn(name, man, "--%s is not in doc/%s"
                          % (name, self.page))
            if default is not None:
                self.assertIn("default %s" % default, man[name],
                              "--%s: the man page does not say "
                              "'default %s'" % (name, default))

    def test_man_page_lists_only_real_options(self):
        real = set(help_options(self.program)) | {"help", "version"}
        for name in man_options(self.page):
            self.assertIn(name, real, "doc/%s lists --%s"
                          % (self.page, name))

    def test_bad_values_name_the_bounds(self):
        for args, want in (
                (["--workers", "0"], "bad value for --workers: 0 (1 to 1024)"),
                (["--max-body", "10"],
                 "bad value for --max-body: 10 (4096 to 1073741824)"),
                (["--log-level", "loud"], "bad value for --log-level: loud"),
                (["--listen", "127.0.0.1:99999"],
                 "bad value for --listen: 127.0.0.1:99999")):
            status, _out, err = fx.run_xbtd(args, env=fx.clean_env())
            self.assertEqual(status, 2, args)
            self.assertEqual(err.strip(), "xbtd: " + want)


class OpsdOptions(Options):
    """xbt-opsd: --help and doc/xbt-opsd.8, the same way."""

    program = XBT_OPSD
    page = "xbt-opsd.8"
    name = "xbt-opsd"

    def test_bad_values_name_the_bounds(self):
        sock = ["--socket", "/nonexistent/xbt-opsd.sock"]
        for args, want in (
                (sock + ["--workers", "0"],
                 "bad value for --workers: 0 (1 to 1024)"),
                (sock + ["--task-max", "0"],
                 "bad value for --task-max: 0 (1 to 1000000)"),
                (sock + ["--max-body", "10"],
                 "bad value for --max-body: 10 (4096 to 1073741824)"),
                (sock + ["--log-level", "loud"],
                 "bad value for --log-level: loud"),
                (["--socket", "relative.sock"],
                 "bad value for --socket: relative.sock"),
                (["--socket", "/" + "s" * 200],
                 "bad value for --socket: /" + "s" * 200),
                (sock + ["extra"], "unexpected argument: extra")):
            with self.subTest(args=args):
                status, out, err = self.run_program(args)
                self.assertEqual(status, 2, args)
                self.assertEqual(out, "")
                self.assertEqual(err.strip(), "xbt-opsd: " + want)

    def test_state_dir_is_required(self):
        for args in ([], ["--hostname", "h1", "--task-max", "5"]):
            with self.subTest(args=args):
                status, out, err = self.run_program(args)
                self.assertEqual(status, 2)
                self.assertEqual(out, "")
                self.assertEqual(err, "xbt-opsd: --state-dir DIR is required\n")

    def test_help_and_version_need_no_socket(self):
        status, out, _err = self.run_program(["--help"])
        self.assertEqual(status, 0)
        self.assertTrue(out.startswith("usage: xbt-opsd "), out)
        status, out, _err = self.run_program(["--version"])
        self.assertEqual(status, 0)
        self.assertIn("xbt-opsd", out)


if __name__ == "__main__":
    fx.run()
