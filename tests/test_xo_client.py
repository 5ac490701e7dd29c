#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Installs Xen Orchestra's `xen-api` client from npm into a temporary
directory, starts an xbtd and runs test_xo_client.js against it on both
transports. When npm cannot install the package, says why and exits 77
(automake's SKIP); nothing else is skipped. The summary line is
xbtd_fixture's report(): the node script's checks and xbtd's clean exit."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402


def main():
    """(passed, failed, skipped)"""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("SKIP: node or npm is not installed (node=%s, npm=%s)" %
              (node, npm))
        return 0, 0, 1
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
            return 0, 0, 1
        version = subprocess.run(
            [node, "-p", "require('%s/node_modules/xen-api/package.json')"
             ".version" % tmp], capture_output=True, text=True).stdout.strip()
        print("xen-api %s from npm, node %s" % (
            version, subprocess.run([node, "--version"], capture_output=True,
                                    text=True).stdout.strip()))
        srv = fx.Xbtd().start(login=False)
        env = dict(os.environ, XO_DIR=tmp, XBT_URL=srv.url.rstrip("/"))
        passed, failed, out = fx.run_node("test_xo_client.js", env,
                                          "xen-api checks")
        sys.stdout.write(out)
        x, srv = srv, None
        try:
            x.stop()
            passed += 1
            print("PASS xbtd exits cleanly")
        except fx.ServerError as e:
            failed += 1
            print("FAIL xbtd exits cleanly: %s" % e)
        return passed, failed, 0
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    fx.report(*main())
