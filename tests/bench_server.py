#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Server benchmark: xbtd's task.get_record against a minimal Abyss server.

Starts xbtd (build tree), tests/bench/minimal_abyss (xmlrpc-c's Abyss
with the connection settings xbtd had on it, answering a trivial method:
the baseline) and tests/bench/minimal_mhd (libmicrohttpd set up as xbtd's
front, one fixed answer: the front's own floor), then measures requests/s
and p50/p99 latency at 1 and 16 keep-alive connections on each, in the
same run, and prints the absolute figures, the ratios xbtd / baseline and
xbtd as a fraction of the floor.

The load generator is wrk with a Lua script when wrk is installed (it
checks every response says "Success"), else a Python one with threads
(slower: it measures the client as much as the server).

usage: bench_server.py [--duration S] [--connections 1,16] [--python]
       [--markdown]
"""

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import call_xml, parse_response  # noqa: E402

BASELINE = os.path.join(fx.BUILDDIR, "tests", "bench", "minimal_abyss")
# The baseline gets the settings xbtd had on Abyss (its connection cap,
# keep-alive timeout and requests per connection).
MAX_CONN = 256
KEEPALIVE_S = 60
KEEPALIVE_MAX = 100000

WRK_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
local f = assert(io.open(os.getenv("XBT_BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "Success", 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local nbad = 0
  for _, t in ipairs(threads) do
    nbad = nbad + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    "XBT_BENCH requests=%d duration_us=%d bad=%d errors=%d "
    .. "p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, nbad,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


FLOOR = os.path.join(fx.BUILDDIR, "tests", "bench", "minimal_mhd")


class Floor(fx.Server):
    """The new front's own floor: libmicrohttpd set up as xbtd's front,
    one fixed answer, no parse."""
    name = "minimal_mhd"

    def __init__(self):
        super().__init__(
            [FLOOR, str(fx.free_port())],
            r"minimal_mhd listening on 127\.0\.0\.1:(?P<port>\d+)")


class Baseline(fx.Server):
    name = "minimal_abyss"

    def __init__(self):
        super().__init__(
            [BASELINE, str(fx.free_port()), str(MAX_CONN), str(KEEPALIVE_S),
             str(KEEPALIVE_MAX)],
            r"minimal_abyss listening on 127\.0\.0\.1:(?P<port>\d+)")


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1,
            max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def load_python(port, path, body, conns, duration):
    """Threads with keep-alive http.client connections."""
    lat = [[] for _ in range(conns)]
    bad = [0]
    lock = threading.Lock()
    stop_at = [0.0]
    barrier = threading.Barrier(conns + 1)

    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.connect()
        barrier.wait()
        mine = lat[i]
        while time.monotonic() < stop_at[0]:
            t0 = time.perf_counter()
            c.request("POST", path, body=body,
                      headers={"Content-Type": "text/xml"})
            r = c.getresponse()
            data = r.read()
            mine.append(time.perf_counter() - t0)
            if r.status != 200 or b"Success" not in data:
                with lock:
                    bad[0] += 1
        c.close()

    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(conns)]
    for th in threads:
        th.start()
    stop_at[0] = time.monotonic() + duration
    t0 = time.monotonic()
    barrier.wait()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    allv = sorted(v for l in lat for v in l)
    return {"requests": len(allv), "seconds": elapsed, "bad": bad[0],
            "errors": 0, "p50": percentile(allv, 50),
            "p99": percentile(allv, 99)}


def load_wrk(port, path, body, conns, duration, tmpdir):
    body_path = os.path.join(tmpdir, "body.xml")
    with open(body_path, "wb") as f:
        f.write(body)
    script = os.path.join(tmpdir, "post.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
    threads = min(conns, 2)  # the machine has 2 cores
    env = dict(os.environ, XBT_BENCH_BODY=body_path)
    p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns,
                        "-d%ds" % duration, "--timeout", "10s", "-s", script,
                        "http://127.0.0.1:%d%s" % (port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=duration + 60)
    out = p.stdout.decode()
    m = re.search(r"XBT_BENCH requests=(\d+) duration_us=(\d+) bad=(\d+) "
                  r"errors=(\d+) p50_us=(\d+) p99_us=(\d+)", out)
    if p.returncode != 0 or not m:
        sys.exit("bench_server: wrk failed (%d):\n%s" % (p.returncode, out))
    req, dur, bad, errors, p50, p99 = (int(x) for x in m.groups())
    return {"requests": req, "seconds": dur / 1e6, "bad": bad,
            "errors": errors, "p50": p50 / 1e6, "p99": p99 / 1e6}


def check_once(port, path, body, what):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
    r = c.getresponse()
    v = parse_response(r.read())
    c.close()
    if r.status != 200 or v.get("Status") != "Success":
        sys.exit("bench_server: %s does not answer: %r" % (what, v))


def sanitized_build():
    try:
        with open(os.path.join(fx.BUILDDIR, "Makefile")) as f:
            for line in f:
                if line.startswith("SAN_CFLAGS =") and "-fsanitize" in line:
                    return True
    except OSError:
        pass
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5,
                    help="seconds per measurement (default 5)")
    ap.add_argument("--connections", default="1,16",
                    help="keep-alive connection counts (default 1,16)")
    ap.add_argument("--python", action="store_true",
                    help="use the Python load generator even if wrk exists")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the results as a Markdown table")
    args = ap.parse_args()
    conn_counts = [int(x) for x in args.connections.split(",")]
    use_wrk = shutil.which("wrk") is not None and not args.python
    if sanitized_build():
        print("bench_server: WARNING: this build has sanitizers; figures "
              "are not representative")

    tmpdir = tempfile.mkdtemp(prefix="xbt-bench-")
    xbtd = fx.Xbtd().start()
    base = Baseline().start()
    floor = Floor().start()
    results = []
    try:
        task = xbtd.call("task.create", xbtd.session, "bench", "")["Value"]
        xbody = call_xml("task.get_record", xbtd.session, task)
        bbody = call_xml("ping")
        check_once(xbtd.port, "/", xbody, "xbtd")
        check_once(base.port, "/RPC2", bbody, "the baseline")
        check_once(floor.port, "/RPC2", bbody, "the front's floor")

        def measure(port, path, body, conns, duration):
            if use_wrk:
                return load_wrk(port, path, body, conns, duration, tmpdir)
            return load_python(port, path, body, conns, duration)

        # Warm up both (thread stacks, caches).
        measure(xbtd.port, "/", xbody, 2, 1)
        measure(base.port, "/RPC2", bbody, 2, 1)
        measure(floor.port, "/RPC2", bbody, 2, 1)
        for conns in conn_counts:
            x = measure(xbtd.port, "/", xbody, conns, args.duration)
            b = measure(base.port, "/RPC2", bbody, conns, args.duration)
            f = measure(floor.port, "/RPC2", bbody, conns, args.duration)
            results.append((conns, x, b, f))
        check_once(xbtd.port, "/", xbody, "xbtd after the run")
    finally:
        floor.stop()
        base.stop()
        xbtd.stop()
        shutil.rmtree(tmpdir, True)

    gen = "wrk" if use_wrk else "python threads"
    print("server benchmark (%s, %d s per point, %d CPUs)"
          % (gen, args.duration, os.cpu_count() or 0))
    print("xbtd: task.get_record; baseline: minimal Abyss 'ping'; "
          "floor: libmicrohttpd, one fixed answer")
    hdr = "%-5s %-9s %10s %10s %10s %6s" % ("conns", "server", "req/s",
                                            "p50 ms", "p99 ms", "errors")
    print(hdr)
    failed = False
    rows = []
    for conns, x, b, f in results:
        for name, r in (("xbtd", x), ("baseline", b), ("floor", f)):
            rps = r["requests"] / r["seconds"] if r["seconds"] else 0.0
            r["rps"] = rps
            errs = r["bad"] + r["errors"]
            failed |= errs > 0
            print("%-5d %-9s %10.0f %10.3f %10.3f %6d"
                  % (conns, name, rps, r["p50"] * 1e3, r["p99"] * 1e3, errs))
        ratio_rps = x["rps"] / b["rps"] if b["rps"] else 0.0
        ratio_p50 = x["p50"] / b["p50"] if b["p50"] else 0.0
        ratio_p99 = x["p99"] / b["p99"] if b["p99"] else 0.0
        print("%-5d %-9s %10.2f %10.2f %10.2f"
              % (conns, "ratio", ratio_rps, ratio_p50, ratio_p99))
        print("%-5d %-9s %10.2f   (xbtd / the front's floor)"
              % (conns, "of floor", x["rps"] / f["rps"] if f["rps"] else 0.0))
        rows.append((conns, x, b, ratio_rps, ratio_p50, ratio_p99))
    if args.markdown:
        print()
        print("| connections | xbtd req/s | baseline req/s | ratio | "
              "xbtd p50 / p99 (ms) | baseline p50 / p99 (ms) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for conns, x, b, rr, _r50, _r99 in rows:
            print("| %d | %.0f | %.0f | %.2f | %.3f / %.3f | %.3f / %.3f |"
                  % (conns, x["rps"], b["rps"], rr, x["p50"] * 1e3,
                     x["p99"] * 1e3, b["p50"] * 1e3, b["p99"] * 1e3))
    if failed:
        print("bench_server: some requests failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
