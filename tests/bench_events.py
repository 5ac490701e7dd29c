#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Event wake-up latency: N clients wait in event.from(["task"], ...) on
their own keep-alive connections; a task is finished (task.set_status
success); each client's wait ends. The latency of one client is

  response in the client's socket (kernel receive timestamp, SO_TIMESTAMPNS)
  minus the event's own `timestamp` (taken by xbtd when the task changed),

so it covers xbtd's wake-up, reply and send, and not this script's speed:
the script sleeps (--quiet) while xbtd replies, then reads. Both clocks are
CLOCK_REALTIME of this machine.

usage: bench_events.py [--clients N ...] [--rounds R] [--proto P ...]
(XBT_BUILDDIR: the build tree; default: 1, 10 and 100 clients, 30 rounds,
xmlrpc then jsonrpc)
"""

import argparse
import math
import os
import re
import selectors
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import cpu_ns  # noqa: E402
from xbtd_fixture import RawClient, decode  # noqa: E402


def pct(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)]




def run(proto, nclients, rounds, quiet):
    srv = fx.Xbtd().start()
    status = 0
    try:
        c = srv.api
        pool = c("pool.get_all")[0]
        clients = [RawClient(srv.port) for _ in range(nclients)]
        sel = selectors.DefaultSelector()
        for cl in clients:
            sel.register(cl.sock, selectors.EVENT_READ, cl)
        kernel, user = [], []
        cpu = 0
        for rnd in range(rounds + 1):  # round 0 warms up
            task = c("task.create", "bench", "")
            token = c("event.inject", "pool", pool)
            for cl in clients:
                cl.reset()
                cl.sock.sendall(fx.http_request(
                    proto, "event.from", [c.session, ["task"], token, 30.0]))
            time.sleep(0.05 + nclients * 0.0005)  # all of them waiting
            cpu0 = cpu_ns(srv.proc.pid)
            c("task.set_status", task, "success")
            # Stay off the CPUs while xbtd replies: the kernel stamps each
            # reply as it arrives, whenever it is read.
            time.sleep(quiet)
            pending = len(clients)
            while pending:
                for key, _ in sel.select(10):
                    if key.data.user_ts is None and key.data.feed():
                        pending -= 1
            if rnd:
                cpu += cpu_ns(srv.proc.pid) - cpu0
            for cl in clients:
                r = decode(proto, cl.body())
                evs = r["events"]
                assert len(evs) == 1 and evs[0]["ref"] == task, evs
                assert evs[0]["snapshot"]["status"] == "success"
                if rnd:
                    ts = float(evs[0]["timestamp"])
                    kernel.append(cl.kernel_ts - ts)
                    user.append(cl.user_ts - ts)
            c("task.destroy", task)
        for cl in clients:
            cl.sock.close()
    finally:
        try:
            _, err = srv.stop()
        except fx.ServerError as e:  # exit status or sanitizer report
            status, err = 1, str(e)
    cost = re.search(r"events: (\d+) recorded; appending took ([0-9.]+) us "
                     r"on average, ([0-9.]+) us at most", err)
    return kernel, user, cpu / 1e3 / (rounds * nclients), status, cost


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--proto", nargs="+", default=["xmlrpc", "jsonrpc"],
                    choices=["xmlrpc", "jsonrpc"])
    ap.add_argument("--quiet", type=float, default=0.05,
                    help="seconds this script sleeps after finishing the "
                    "task, before it reads the replies (default 0.05)")
    a = ap.parse_args()
    print("event wake-up latency: task finished -> waiting event.from "
          "returns; %d rounds, %d cores, load average %.2f at start" %
          (a.rounds, os.cpu_count(), os.getloadavg()[0]))
    print("  latency: the reply in the client's socket (kernel timestamp) "
          "minus the event's timestamp")
    print("  %-8s %7s %9s %9s %9s %11s %13s" % (
        "proto", "waiters", "p50", "p99", "max", "cpu/waiter",
        "event_record"))
    bad = False
    for proto in a.proto:
        for n in a.clients:
            kernel, user, cpu_us, status, cost = run(proto, n, a.rounds,
                                                     a.quiet)
            us = lambda v: "%.0f us" % (v * 1e6)  # noqa: E731
            print("  %-8s %7d %9s %9s %9s %8.1f us %13s" % (
                proto, n, us(pct(kernel, 0.5)), us(pct(kernel, 0.99)),
                us(max(kernel)), cpu_us, "%s/%s us" % (
                    cost.group(2), cost.group(3)) if cost else "?"))
            sys.stdout.flush()
            bad = bad or status != 0
    print("  (cpu/waiter: xbtd's CPU time per woken waiter, all threads; "
          "event_record: mean/max time under the store lock)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
