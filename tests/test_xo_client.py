#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Installs Xen Orchestra's `xen-api` client from npm into a temporary
directory, starts an xbtd and runs test_xo_client.js against it on both
transports. When npm cannot install the package, says why and exits 77
(automake's SKIP); nothing else is skipped."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from events_lib import HERE, Xbtd

SKIP = 77


def main():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("SKIP: node or npm is not installed (node=%s, npm=%s)" %
              (node, npm))
        print("0 passed, 0 failed")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="xbt-xo-")
    srv = None
    try:
        try:
            p = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-save",
                 "--prefix", tmp, "xen-api"],
                capture_output=True, text=True, timeout=600)
            lines = [ln for ln in (p.stderr + p.stdout).splitlines()
                     if "ERR" in ln or "error" in ln]
            why = None if p.returncode == 0 else "exit %d: %s" % (
                p.returncode, " | ".join(lines[:6])[:1200])
        except subprocess.TimeoutExpired:
            why = "timed out after 600 s"
        if why is None and not os.path.exists(
                os.path.join(tmp, "node_modules", "xen-api", "index.mjs")):
            why = "xen-api/index.mjs is missing after the install"
        if why:
            print("SKIP: npm install xen-api failed (%s)" % why)
            print("0 passed, 0 failed")
            return SKIP
        version = subprocess.run(
            [node, "-p", "require('%s/node_modules/xen-api/package.json')"
             ".version" % tmp], capture_output=True, text=True).stdout.strip()
        print("xen-api %s from npm, node %s" % (
            version, subprocess.run([node, "--version"], capture_output=True,
                                    text=True).stdout.strip()))
        srv = Xbtd()
        env = dict(os.environ, XO_DIR=tmp, XBT_URL=srv.url)
        try:
            p = subprocess.run([node, os.path.join(HERE, "test_xo_client.js")],
                               capture_output=True, text=True, env=env,
                               timeout=300)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            out = e.stdout or ""
            if isinstance(out, bytes):
                out = out.decode(errors="replace")
            out += "\nFAIL node timed out\n"
        m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
        passed, failed = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
        # One summary line in the log: this script's.
        out = re.sub(r"^(\d+) passed, (\d+) failed$",
                     r"xen-api checks: \1 passed, \2 failed", out, flags=re.M)
        sys.stdout.write(out)
        try:
            srv.stop_clean()
            passed += 1
            print("PASS xbtd exits cleanly")
        except AssertionError as e:
            failed += 1
            print("FAIL xbtd exits cleanly: %s" % e)
        srv = None
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
