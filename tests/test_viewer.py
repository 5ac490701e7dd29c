#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The viewer (ui/, doc/design.md "The viewer") in headless Chromium.

Checks the HTTP answers from here (routes, content types, CSP, nosniff,
404), then installs puppeteer-core from npm (no browser download) into a
temporary directory and runs test_viewer.js against an xbtd on
tests/worlds/viewer.xml, driving Debian's chromium. Screenshots go to
tests/viewer-shots/ in the build tree. Skips (77) with the reason only
when chromium, node or puppeteer-core cannot be had."""

import http.client
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

CHROMIUM = os.environ.get("XBT_CHROMIUM", "/usr/bin/chromium")
CSP_MUST = ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
            "frame-ancestors 'none'")


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS " + name)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, detail))


def get(srv, method, path):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def http_checks(srv, ck):
    want = {"/": "text/html; charset=utf-8",
            "/ui/": "text/html; charset=utf-8",
            "/ui/viewer.js": "text/javascript; charset=utf-8",
            "/ui/trace.js": "text/javascript; charset=utf-8",
            "/ui/viewer.css": "text/css; charset=utf-8",
            "/ui/favicon.svg": "image/svg+xml"}
    for path, ctype in want.items():
        status, hd, body = get(srv, "GET", path)
        with open(os.path.join(fx.SRCDIR, "ui", "index.html" if path in
                               ("/", "/ui/") else path[4:]), "rb") as f:
            src = f.read()
        ck.check("GET %s: 200 %s, the file's bytes" % (path, ctype),
                 status == 200 and hd.get("content-type") == ctype and
                 body == src, "%s %s %d bytes" % (status, hd.get(
                     "content-type"), len(body)))
    for path in ("/", "/nope", "/ui/nope.js", "/ui/../README.md",
                 "/jsonrpc"):
        status, hd, _ = get(srv, "GET", path)
        csp = hd.get("content-security-policy", "")
        ck.check("GET %s: CSP, nosniff, no framing" % path,
                 all(c in csp for c in CSP_MUST) and "unsafe" not in csp and
                 hd.get("x-content-type-options") == "nosniff",
                 repr(hd))
    for path in ("/nope", "/ui/nope.js", "/ui/../README.md", "/jsonrpc",
                 "/ui/index.htmlx", "/favicon.ico"):
        status, hd, _ = get(srv, "GET", path)
        ck.check("GET %s: 404" % path, status == 404 and
                 hd.get("content-type", "").startswith("text/plain"),
                 "%s %s" % (status, hd.get("content-type")))
    status, hd, body = get(srv, "HEAD", "/ui/viewer.js")
    ck.check("HEAD /ui/viewer.js: 200, its length, no body",
             status == 200 and body == b"" and
             int(hd.get("content-length", "-1")) == os.path.getsize(
                 os.path.join(fx.SRCDIR, "ui", "viewer.js")), repr(hd))


def sm_dir(tmp):
    """The demo plugins (DEMO, FAIL) and VIEWER in one directory."""
    d = os.path.join(tmp, "sm")
    os.mkdir(d)
    for src in (os.path.join(fx.BUILDDIR, "server", "plugins", "DEMOSR"),
                os.path.join(fx.BUILDDIR, "server", "plugins", "FAILSR"),
                os.path.join(fx.BUILDDIR, "server", "plugins", "xbtsm.py"),
                os.path.join(fx.BUILDDIR, "tests", "plugins", "VIEWERSR")):
        shutil.copy2(src, d)
    return d


def install(tmp):
    """None, or why puppeteer-core cannot be used."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node or npm is not installed (node=%s, npm=%s)" % (node, npm)
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed (apt-get install chromium)" % CHROMIUM
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1")
    try:
        p = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-save",
             "--prefix", tmp, "puppeteer-core"],
            capture_output=True, text=True, timeout=600, env=env)
    except subprocess.TimeoutExpired:
        return "npm install puppeteer-core timed out after 600 s"
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr + p.stdout).splitlines()
                 if "ERR" in ln or "error" in ln]
        return "npm install puppeteer-core failed (exit %d: %s)" % (
            p.returncode, " | ".join(lines[:6])[:1200])
    if not os.path.isdir(os.path.join(tmp, "node_modules", "puppeteer-core")):
        return "puppeteer-core is missing after npm install"
    return None


def main():
    ck = Checks()
    tmp = tempfile.mkdtemp(prefix="xbt-viewer-")
    srv = None
    try:
        why = install(tmp)
        shots = os.path.join(fx.BUILDDIR, "tests", "viewer-shots")
        os.makedirs(shots, exist_ok=True)
        srv = fx.Xbtd(["--hostname", "h1", "--world",
                       os.path.join(fx.SRCDIR, "tests", "worlds",
                                    "viewer.xml"),
                       "--sm-dir", sm_dir(tmp)]).start()
        http_checks(srv, ck)
        if why:
            print("SKIP: the browser tests: " + why)
            if ck.failed:
                return ck.passed, ck.failed, 0
            return 0, 0, 1
        env = dict(os.environ, PPTR_DIR=tmp, XBT_URL="http://127.0.0.1:%d"
                   % srv.port, XBT_PORT=str(srv.port), CHROMIUM=CHROMIUM,
                   XE=os.path.join(fx.BUILDDIR, "cli", "xe"), SHOTS=shots,
                   HOME=tmp, SCREENSHOT=os.environ.get("XBT_SCREENSHOT", ""))
        env.pop("XE_EXTRA_ARGS", None)
        passed, failed, out = fx.run_node("test_viewer.js", env,
                                          "browser checks")
        ck.passed += passed
        ck.failed += failed
        sys.stdout.write(out)
        x, srv = srv, None
        try:
            x.stop()
            ck.check("xbtd exits cleanly", True)
        except fx.ServerError as e:
            ck.check("xbtd exits cleanly", False, str(e))
        return ck.passed, ck.failed, 0
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    fx.report(*main())
