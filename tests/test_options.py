#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbtd's man page agrees with its option table: every option --help lists
is in doc/xbtd.8 with the same default, and the man page lists no other
(server/common/options.h: one table feeds the parser and --help)."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

HELP_RE = re.compile(r"^  --([a-z][a-z-]*)(?: (\S+))?\s+(.*?)"
                     r"(?: \(default (.*)\))?(?: \[\$[A-Z_]+\])?$")


def help_options():
    out = subprocess.run([fx.XBTD, "--help"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    opts = {}
    for line in out.splitlines()[1:]:
        if line.startswith("  --help"):
            continue
        m = HELP_RE.match(line)
        assert m, line
        opts[m.group(1)] = m.group(4)
    return opts


def man_options():
    with open(os.path.join(fx.SRCDIR, "doc", "xbtd.8"),
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
    def test_every_option_is_documented_with_its_default(self):
        man = man_options()
        for name, default in help_options().items():
            self.assertIn(name, man, "--%s is not in doc/xbtd.8" % name)
            if default is not None:
                self.assertIn("default %s" % default, man[name],
                              "--%s: the man page does not say "
                              "'default %s'" % (name, default))

    def test_man_page_lists_only_real_options(self):
        real = set(help_options()) | {"help", "version"}
        for name in man_options():
            self.assertIn(name, real, "doc/xbtd.8 lists --%s" % name)

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


if __name__ == "__main__":
    fx.run()
