#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""What the split into xbtd and xbt-opsd costs a VM.start.

Two xbtd run side by side on the same generated world (N VMs, each with
one disk on an SR of tests/plugins/NOOPSR, a shell plugin that does
nothing: no Python start-up hides the cost):

  opsd        the normal path: xbtd sends the storage steps to the
              xbt-opsd it runs (its state directory in a temporary
              directory, as tests/xbtd_fixture.py sets it);
  in-process  the baseline: xbtd --storage-in-process runs the same steps
              (server/common/vmops.c) itself.

The modes take turns in rounds, A B B A A B ... (every pair of rounds in
both orders, so that a drift of the machine's load falls on both alike).
In each round each mode gets

  - throughput: C clients (threads, a keep-alive connection each, their
    own VMs), each repeating Async.VM.start (waited for with event.from on
    the task), VM.hard_shutdown, task.destroy for a fixed time: cycles/s;
  - latency: S sequential single starts on one connection: the time from
    sending Async.VM.start to event.from returning the finished task, as
    the client sees it (each followed by an untimed VM.hard_shutdown).

Figures: cycles/s per mode and their ratio (opsd / in-process); start
latency p50 and p99 per mode and the split's added latency (opsd minus
in-process); the CPU time per cycle of xbtd, opsd, the plugins (children
reaped) and this script; and a verdict against the budget, "the split
may add at most 10 % to a no-op start", which holds when both the added
p50 latency and the throughput lost (in-process / opsd - 1) are within it.

With --also-state-dir DIR a third mode runs among them: opsd with its
state directory in DIR (on tmpfs, it shows what writing the state to
disk, with fsync, costs).

usage: bench_opsd.py [--vms N] [--clients C] [--rounds R] [--seconds T]
       [--starts S] [--log-level L] [--also-state-dir DIR] [--markdown]
(XBT_BUILDDIR: the build tree)
"""

import argparse
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

PLUGINS = os.path.join(fx.BUILDDIR, "tests", "plugins")
BUDGET = 0.10
TICK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def pct(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)] if v else float("nan")


def world(nvms):
    vdis = "\n".join('    <vdi name="d%d"/>' % i for i in range(nvms))
    vms = "\n".join('  <vm name="vm%d"><vbd vdi="d%d" device="xvda"/></vm>'
                    % (i, i) for i in range(nvms))
    return ('<?xml version="1.0"?>\n<world>\n'
            '  <sr name="noop-sr" type="NOOP">\n%s\n  </sr>\n%s\n</world>\n'
            % (vdis, vms))


def proc_cpu(pid):
    """(own CPU, reaped children's CPU) of pid so far, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return 0.0, 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st) / TICK, (cut + cst) / TICK


def sanitized_build():
    try:
        with open(os.path.join(fx.BUILDDIR, "Makefile")) as f:
            return any(line.startswith("SAN_CFLAGS =") and "-fsanitize" in line
                       for line in f)
    except OSError:
        return False


class Mode:
    """One xbtd (and its opsd unless in-process) and what was measured."""

    def __init__(self, name, world_file, log_level, in_process=False,
                 state_dir=None):
        self.name = name
        self.in_process = in_process
        self.state_dir = state_dir
        args = ["--hostname", "h1", "--world", world_file,
                "--sm-dir", PLUGINS, "--log-level", log_level]
        if in_process:
            args.append("--storage-in-process")
        elif state_dir:
            args += ["--opsd-dir", state_dir]
        self.srv = fx.Xbtd(args)
        self.cycles = 0
        self.seconds = 0.0
        self.round_rates = []
        self.latency = []
        self.cpu = {"xbtd": 0.0, "opsd": 0.0, "plugins": 0.0, "client": 0.0}
        self.opsd_pid = None

    def start(self):
        self.srv.start()
        m = re.search(r"xbt-opsd running as pid (\d+)", self.srv.stderr())
        self.opsd_pid = int(m.group(1)) if m else None
        if (self.opsd_pid is None) != self.in_process:
            raise BenchError("%s: xbt-opsd pid %r" % (self.name,
                                                      self.opsd_pid))
        c = self.srv.api
        self.vms = sorted(c("VM.get_all"), key=lambda v: int(
            c("VM.get_name_label", v)[2:]))
        return self

    def rate(self):
        return self.cycles / self.seconds

    def cpu_now(self):
        xs, xc = proc_cpu(self.srv.proc.pid)
        os_, oc = proc_cpu(self.opsd_pid) if self.opsd_pid else (0.0, 0.0)
        t = os.times()
        return {"xbtd": xs, "opsd": os_, "plugins": xc + oc,
                "client": t.user + t.system}


def wait_task(c, task):
    """The finished task's record, waited for with event.from."""
    token = ""
    while True:
        r = c("event.from", ["task/" + task], token, 30.0)
        token = r["token"]
        for ev in r["events"]:
            if ev["ref"] == task and ev["operation"] != "del":
                snap = ev["snapshot"]
                if snap["status"] not in ("pending", "cancelling"):
                    return snap


def cycle(c, vm, timed=None):
    """Async.VM.start, its task waited for; VM.hard_shutdown;
    task.destroy. timed: a list to which the start's latency goes."""
    t0 = time.perf_counter()
    task = c("Async.VM.start", vm, False, False)
    rec = wait_task(c, task)
    t1 = time.perf_counter()
    if rec["status"] != "success":
        raise BenchError("VM.start %s: %s %r" % (vm, rec["status"],
                                                 rec["error_info"]))
    if timed is not None:
        timed.append(t1 - t0)
    c("VM.hard_shutdown", vm)
    c("task.destroy", task)


def throughput(mode, clients, seconds):
    """C clients for `seconds`: cycles done and the time they took."""
    groups = [mode.vms[i::clients] for i in range(clients)]
    conns = [mode.srv.client() for _ in range(clients)]
    counts = [0] * clients
    errors = []
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def run(i):
        c, vms = conns[i], groups[i]
        barrier.wait()
        k = 0
        try:
            while time.monotonic() < stop_at[0]:
                cycle(c, vms[k % len(vms)])
                k += 1
                counts[i] += 1
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append("%s: %s" % (mode.name, e))

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(clients)]
    for th in threads:
        th.start()
    cpu0 = mode.cpu_now()
    stop_at[0] = time.monotonic() + seconds
    t0 = time.monotonic()
    barrier.wait()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    cpu1 = mode.cpu_now()
    if errors:
        raise BenchError("; ".join(errors))
    for k in mode.cpu:
        mode.cpu[k] += cpu1[k] - cpu0[k]
    n = sum(counts)
    mode.cycles += n
    mode.seconds += elapsed
    mode.round_rates.append(n / elapsed)


def latency(mode, starts):
    c = mode.srv.api
    for i in range(starts):
        cycle(c, mode.vms[i % len(mode.vms)], mode.latency)


def report(modes, markdown):
    """Prints every mode's figures, each opsd mode against the baseline
    (the last mode, in-process), and the verdict for the first."""
    base = modes[-1]
    ms = lambda v: "%.2f ms" % (v * 1e3)  # noqa: E731
    print("  %-19s %9s %11s %11s   %s" % ("mode", "cycles/s", "start p50",
                                          "start p99", "cycles/s per round"))
    for m in modes:
        print("  %-19s %9.1f %11s %11s   %s" % (
            m.name, m.rate(), ms(pct(m.latency, 0.5)),
            ms(pct(m.latency, 0.99)),
            " ".join("%.1f" % r for r in m.round_rates)))
    print("  CPU ms per cycle    %6s %6s %8s %6s %7s" % (
        "xbtd", "opsd", "plugins", "total", "client"))
    for m in modes:
        per = {k: v / m.cycles * 1e3 for k, v in m.cpu.items()}
        print("  %-19s %6.2f %6.2f %8.2f %6.2f %7.2f" % (
            m.name, per["xbtd"], per["opsd"], per["plugins"],
            per["xbtd"] + per["opsd"] + per["plugins"], per["client"]))
    p50b, p99b = pct(base.latency, 0.5), pct(base.latency, 0.99)
    rows = []
    for m in modes[:-1]:
        ratio = m.rate() / base.rate()
        rounds = [o / i for o, i in zip(m.round_rates, base.round_rates)]
        p50, p99 = pct(m.latency, 0.5), pct(m.latency, 0.99)
        print("  %s / %s: throughput ratio %.3f (rounds %.3f-%.3f), a "
              "cycle costs %+.1f %%" % (m.name, base.name, ratio,
                                         min(rounds), max(rounds),
                                         (1 / ratio - 1) * 100))
        print("    added latency per start: p50 %+.2f ms over %.2f ms "
              "(%+.1f %%), p99 %+.2f ms over %.2f ms (%+.1f %%)" % (
                  (p50 - p50b) * 1e3, p50b * 1e3, (p50 / p50b - 1) * 100,
                  (p99 - p99b) * 1e3, p99b * 1e3, (p99 / p99b - 1) * 100))
        rows.append((m, ratio, p50, p99))
    m, ratio, p50, _p99 = rows[0]
    added, cost = p50 / p50b - 1, 1 / ratio - 1
    print("VERDICT: xbt-opsd adds %.1f %% to a no-op start at p50 and costs "
          "%.1f %% of start+shutdown throughput: %s the %d %% budget"
          % (added * 100, cost * 100,
             "within" if max(added, cost) <= BUDGET else "OVER",
             BUDGET * 100))
    if markdown:
        print()
        print("| mode | cycles/s | ratio | start p50 | start p99 | "
              "added p50 | added p99 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for m, ratio, p50, p99 in rows:
            print("| %s | %.1f | %.3f | %s | %s | %+.2f ms (%+.0f %%) | "
                  "%+.2f ms (%+.0f %%) |" % (
                      m.name, m.rate(), ratio, ms(p50), ms(p99),
                      (p50 - p50b) * 1e3, (p50 / p50b - 1) * 100,
                      (p99 - p99b) * 1e3, (p99 / p99b - 1) * 100))
        print("| %s (baseline) | %.1f | 1 | %s | %s | | |" % (
            base.name, base.rate(), ms(p50b), ms(p99b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=8)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="throughput time per mode and round (default 4)")
    ap.add_argument("--starts", type=int, default=60,
                    help="sequential timed starts per mode and round "
                    "(default 60)")
    ap.add_argument("--log-level", default="info",
                    help="both daemons' (default info, as deployed)")
    ap.add_argument("--also-state-dir", metavar="DIR",
                    help="a third mode: opsd with its state directory in "
                    "DIR (the opsd mode has it in a temporary directory, as "
                    "the tests do); DIR on tmpfs shows what writing the "
                    "state to disk costs")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    if a.clients < 1 or a.vms < a.clients:
        ap.error("need --vms >= --clients >= 1")
    if sanitized_build():
        print("bench_opsd: WARNING: this build has sanitizers; figures are "
              "not representative")
    print("VM.start through xbt-opsd vs in xbtd: %d VMs of one NOOP disk, "
          "%d rounds of %.0f s x %d clients + %d sequential starts per "
          "mode; %d CPUs, load average %.2f at start"
          % (a.vms, a.rounds, a.seconds, a.clients, a.starts,
             os.cpu_count() or 0, os.getloadavg()[0]))
    sys.stdout.flush()
    tmp = tempfile.mkdtemp(prefix="xbt-bench-opsd-")
    world_file = os.path.join(tmp, "world.xml")
    with open(world_file, "w") as f:
        f.write(world(a.vms))
    # opsd's state where xbtd puts it by default: on tmpfs (doc/opsd.md).
    shm = tempfile.mkdtemp(prefix="xbt-bench-opsd-",
                           dir="/dev/shm" if os.path.isdir("/dev/shm")
                           else None)
    modes = [Mode("opsd", world_file, a.log_level,
                  state_dir=os.path.join(shm, "opsd"))]
    if a.also_state_dir:
        modes.append(Mode("opsd, state in " + os.path.basename(
            a.also_state_dir.rstrip("/")), world_file, a.log_level,
            state_dir=os.path.join(os.path.abspath(a.also_state_dir),
                                   "bench-opsd-%d" % os.getpid())))
    modes.append(Mode("in-process", world_file, a.log_level,
                      in_process=True))
    status = 0
    try:
        for m in modes:
            m.start()
        for m in modes:  # warm-up: threads, caches, connections
            for vm in m.vms:
                cycle(m.srv.api, vm)
        order = list(modes)
        for _round in range(a.rounds):
            for m in order:
                throughput(m, a.clients, a.seconds)
                latency(m, a.starts)
            order.reverse()  # A B, B A, A B, ...
        load_end = os.getloadavg()[0]
        report(modes, a.markdown)
        print("  load average %.2f at the end" % load_end)
    except BenchError as e:
        print("bench_opsd: %s" % e)
        status = 1
    finally:
        for m in modes:
            try:
                if m.srv.proc is not None:
                    m.srv.stop()
            except fx.ServerError as e:
                print("bench_opsd: %s" % e)
                status = 1
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
        for m in modes:
            if m.state_dir:
                shutil.rmtree(m.state_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
