#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The viewer's backtrace reader (ui/trace.js) against the C library's, on
one set of vectors (tests/vectors/backtrace_sexp.json): tests/sexp_dump
reads each with xbt_backtrace_from_sexp, then test_viewer_trace.js reads it
in node and compares frames, the human form and failures. Needs node only
(no browser); exits 77 with the reason when node is missing."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

VECTORS = os.path.join(fx.HERE, "vectors", "backtrace_sexp.json")
DUMP = os.path.join(fx.BUILDDIR, "tests", "sexp_dump")


def expand(v):
    s = v["sexp"]
    if "repeat" in v:
        mark, text, n = v["repeat"]
        s = s.replace(mark, text * n, 1)
    return s


def main():
    node = shutil.which("node")
    if not node:
        print("SKIP: node is not installed")
        return 0, 0, 1
    with open(VECTORS, encoding="utf-8") as f:
        vectors = json.load(f)["vectors"]
    cases = []
    for v in vectors:
        s = expand(v)
        p = subprocess.run([DUMP], input=s.encode("utf-8"),
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError("sexp_dump failed on %s: %s" %
                                 (v["what"], p.stderr))
        cases.append(dict(v, sexp=s, c=p.stdout.decode("utf-8")))
    tmp = tempfile.mkdtemp(prefix="xbt-trace-")
    try:
        path = os.path.join(tmp, "cases.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cases, f)
        p = subprocess.run([node, os.path.join(fx.HERE,
                                               "test_viewer_trace.js"),
                            os.path.join(fx.SRCDIR, "ui", "trace.js"), path],
                           capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.write(p.stdout + p.stderr)
    passed = p.stdout.count("\nPASS ") + p.stdout.startswith("PASS ")
    failed = p.stdout.count("\nFAIL ") + p.stdout.startswith("FAIL ")
    if p.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed, 0


if __name__ == "__main__":
    fx.report(*main())
