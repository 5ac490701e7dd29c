#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Persistence benchmark (doc/design.md, "Persistence"), in one run:

- write-heavy calls: VM.set_name_label at 1 and 16 keep-alive
  connections, xbtd in memory against xbtd --db (each answer waits for its
  commit; the writer commits many calls in one transaction), calls/s and
  the ratio;
- start-up with --objects objects (100,000: VMs of a generated world, with
  their pool, host and metrics): the first start (world load and seeding
  the database) and a restart (loading the database), to "listening".

The load generator is wrk (bench_server.py's script), else Python threads.

usage: bench_db.py [--duration S] [--connections 1,16] [--objects N]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from bench_server import load_wrk  # noqa: E402


def load_python(port, body, conns, duration):
    import http.client
    done = [0] * conns
    bad = [0] * conns
    end = time.monotonic() + duration

    def run(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < end:
            c.request("POST", "/", body=body,
                      headers={"Content-Type": "text/xml"})
            r = c.getresponse().read()
            if b"Success" not in r:
                bad[i] += 1
            done[i] += 1
        c.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"requests": sum(done), "seconds": time.monotonic() - t0,
            "bad": sum(bad), "errors": 0}


def throughput(args, db, conns_list, duration, tmpdir):
    out = {}
    x = fx.Xbtd(args).start()
    try:
        vm = x.api("VM.get_all")[0]
        body = fx.call_xml("VM.set_name_label", x.session, vm, "bench")
        for conns in conns_list:
            if shutil.which("wrk"):
                r = load_wrk(x.port, "/", body, conns, duration, tmpdir)
            else:
                r = load_python(x.port, body, conns, duration)
            if r["bad"] or r["errors"]:
                sys.exit("bench_db: %d bad answers, %d errors"
                         % (r["bad"], r["errors"]))
            out[conns] = r["requests"] / r["seconds"]
    finally:
        x.stop()
    return out


def startup(n, tmpdir):
    world = os.path.join(tmpdir, "world.xml")
    with open(world, "w") as f:
        f.write("<world>\n")
        for i in range(n - 3):  # and the pool, host and host_metrics
            f.write('<vm name="v%d"/>\n' % i)
        f.write("</world>\n")
    d = os.path.join(tmpdir, "big")
    os.mkdir(d)
    args = ["--db", os.path.join(d, "x.db"), "--world", world,
            "--hostname", "h1", "--state-dir", os.path.join(d, "state"),
            "--opsd-dir", os.path.join(d, "opsd")]
    times = []
    fx.START_TIMEOUT = 900  # the world's load is slow at this size
    for _ in range(2):
        t0 = time.monotonic()
        x = fx.Xbtd(args).start(login=False)
        times.append(time.monotonic() - t0)
        x.stop()
    return times, os.path.getsize(os.path.join(d, "x.db"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", default="1,16")
    ap.add_argument("--objects", type=int, default=100000)
    a = ap.parse_args()
    conns = [int(c) for c in a.connections.split(",")]
    tmpdir = tempfile.mkdtemp(prefix="xbt-bench-db-")
    try:
        mem = throughput([], False, conns, a.duration, tmpdir)
        d = os.path.join(tmpdir, "w")
        os.mkdir(d)
        db = throughput(["--db", os.path.join(d, "x.db")], True, conns,
                        a.duration, tmpdir)
        print("VM.set_name_label, %d s each (%s)" % (
            a.duration, "wrk" if shutil.which("wrk") else "python threads"))
        print("%12s %14s %14s %8s" % ("connections", "in memory/s",
                                      "--db/s", "ratio"))
        for c in conns:
            print("%12d %14.0f %14.0f %8.3f" % (c, mem[c], db[c],
                                                db[c] / mem[c]))
        (first, again), size = startup(a.objects, tmpdir)
        print("start-up with %d objects: %.2f s (world, seeding the "
              "database), %.2f s (restart: loading it); database %.1f MiB"
              % (a.objects, first, again, size / 1048576))
    finally:
        fx.stop_opsd_of(os.path.join(tmpdir, "big", "opsd"))
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
