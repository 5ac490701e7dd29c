#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""What forwarding a VM operation to a slave costs (doc/pools.md, Pools II).

A pool of two xbtd on 127.0.0.1 (h1, the master) and 127.0.0.2 (h2), one
port, both with tests/plugins/NOOPSR (a shell plugin that does nothing, so
that no Python start-up hides the cost). The master's world: h2 declared, a
shared NOOP SR (a PBD on both hosts, plugged), N VMs of one disk with
affinity h1 and N with affinity h2. Every call goes to the master:

  local      VMs placed on the master: its own xbt-opsd runs the plugin
             (the baseline);
  forwarded  VMs placed on h2: the master forwards the storage steps to
             h2, whose xbt-opsd runs the plugin.

Before measuring, every VM is started once and must be resident on its
affinity host (else the bench stops: it would measure nothing). The modes
take turns in rounds, A B B A A B ... (every pair of rounds in both
orders, so that a drift of the machine's load falls on both alike). In
each round each mode gets

  - throughput: C clients (threads, a keep-alive connection each, their
    own VMs), each repeating Async.VM.start (waited for with event.from on
    the task), VM.hard_shutdown, task.destroy for a fixed time: cycles/s;
  - latency: S sequential single starts on one connection: the time from
    sending Async.VM.start to event.from returning the finished task (each
    followed by an untimed VM.hard_shutdown).

Figures: cycles/s per mode and the ratio forwarded / local (overall and
per pair of rounds); start latency p50 and p99 per mode and their ratios;
the CPU time per cycle of each host's xbtd and xbt-opsd, the plugins, and
this script.

usage: bench_pool_ops.py [--vms N] [--clients C] [--rounds R] [--seconds T]
       [--starts S] [--log-level L] [--markdown]    (XBT_BUILDDIR: the
       build tree)
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_pools as tp  # noqa: E402
import bench_opsd as bo  # noqa: E402  (pct, proc_cpu, cycle, throughput)

SLAVE = "127.0.0.2"


def world(nvms):
    """h2, a shared NOOP SR, nvms VMs with affinity h1 (l0...) and nvms
    with affinity h2 (f0...), one disk each."""
    vdis = "\n".join('    <vdi name="%s%d-disk"/>' % (p, i)
                     for p in "lf" for i in range(nvms))
    vms = "\n".join(
        '  <vm name="%s%d" affinity="%s"><vbd vdi="%s%d-disk" '
        'device="xvda"/></vm>' % (p, i, host, p, i)
        for p, host in (("l", "h1"), ("f", "h2")) for i in range(nvms))
    return ('  <host name="h2"/>\n'
            '  <sr name="noop-sr" type="NOOP" shared="true">\n%s\n  </sr>\n'
            '%s\n' % (vdis, vms))


class Mode:
    """A set of VMs (all placed on one host) and what was measured; the
    attributes bench_opsd.throughput() and latency() use."""

    def __init__(self, name, prefix, host, pool):
        self.name = name
        self.prefix = prefix
        self.host = host  # its name: where the VMs must run
        self.pool = pool
        self.srv = pool.master
        self.cycles = 0
        self.seconds = 0.0
        self.round_rates = []
        self.latency = []
        self.cpu = dict.fromkeys(pool.procs, 0.0)
        self.cpu["plugins"] = self.cpu["client"] = 0.0

    def find_vms(self):
        c = self.srv.api
        vms = [(c("VM.get_name_label", v), v) for v in c("VM.get_all")]
        self.vms = [v for name, v in sorted(
            (n, v) for n, v in vms
            if n.startswith(self.prefix) and n[1:].isdigit())]
        return self

    def rate(self):
        return self.cycles / self.seconds

    def cpu_now(self):
        return self.pool.cpu_now()


class BenchPool:
    """The two hosts, and the pids whose CPU time is counted."""

    def __init__(self, nvms, log_level):
        tp.POOL_ARGS[:] = ["--heartbeat", "5", "--host-dead-after", "120",
                           "--log-level", log_level]
        self.pool = tp.Pool([tp.MASTER, SLAVE])
        self.world = tp.world_file(self.pool.dir, "world.xml", world(nvms))
        self.procs = ["h1 xbtd", "h1 opsd", "h2 xbtd", "h2 opsd"]
        self.pids = {}

    def start(self):
        sm = ["--sm-dir", bo.PLUGINS]
        self.master, self.slave = self.pool.start([
            ("h1", tp.MASTER, sm + ["--world", self.world]),
            ("h2", SLAVE, sm)])
        result = tp.join(self.slave, self.master)
        if result != "":
            raise bo.BenchError("pool.join: %r" % (result,))
        if tp.eventually(lambda: tp.live(self.master, "h2"), True, 30) \
                is not True:
            raise bo.BenchError("h2 joined but is not live on the master")
        self.refs = {name: tp.host_ref(self.master, name)
                     for name in ("h1", "h2")}
        for name, x in (("h1", self.master), ("h2", self.slave)):
            opsd = fx.opsd_pids(x.opsd_dir)
            if len(opsd) != 1:
                raise bo.BenchError("%s: xbt-opsd pids %r" % (name, opsd))
            self.pids[name + " xbtd"] = x.proc.pid
            self.pids[name + " opsd"] = opsd[0]
        return self

    def cpu_now(self):
        """Own CPU of each daemon; the plugins: the children the two
        xbt-opsd (and xbtd) reaped; this script's."""
        out, plugins = {}, 0.0
        for k in self.procs:
            own, reaped = bo.proc_cpu(self.pids[k])
            out[k] = own
            plugins += reaped
        t = os.times()
        out["plugins"] = plugins
        out["client"] = t.user + t.system
        return out

    def stop(self):
        self.pool.stop()


def check_placement(mode):
    """Starts each of the mode's VMs once (a warm-up too): it must be
    resident on the mode's host."""
    c = mode.srv.api
    want = mode.pool.refs[mode.host]
    names = {r: n for n, r in mode.pool.refs.items()}
    for vm in mode.vms:
        task = c("Async.VM.start", vm, False, False)
        rec = bo.wait_task(c, task)
        if rec["status"] != "success":
            raise bo.BenchError(
                "%s: VM.start %s: %s %r" % (mode.name, c("VM.get_name_label",
                                                         vm),
                                           rec["status"], rec["error_info"]))
        on = c("VM.get_resident_on", vm)
        c("VM.hard_shutdown", vm)
        c("task.destroy", task)
        if on != want:
            raise bo.BenchError(
                "%s: VM %s (affinity %s) started on %s, want %s: nothing "
                "to measure" % (mode.name, c("VM.get_name_label", vm),
                                mode.host, names.get(on, on), mode.host))


def report(modes, markdown):
    base, fwd = modes
    ms = lambda v: "%.2f ms" % (v * 1e3)  # noqa: E731
    pct = bo.pct
    print("  %-10s %9s %11s %11s   %s" % ("mode", "cycles/s", "start p50",
                                         "start p99", "cycles/s per round"))
    for m in modes:
        print("  %-10s %9.1f %11s %11s   %s" % (
            m.name, m.rate(), ms(pct(m.latency, 0.5)),
            ms(pct(m.latency, 0.99)),
            " ".join("%.1f" % r for r in m.round_rates)))
    keys = base.pool.procs + ["plugins"]
    print("  CPU ms per cycle " + " ".join("%8s" % k for k in keys) +
          " %7s %7s" % ("total", "client"))
    for m in modes:
        per = {k: v / m.cycles * 1e3 for k, v in m.cpu.items()}
        print("  %-16s " % m.name + " ".join("%8.2f" % per[k] for k in keys) +
              " %7.2f %7.2f" % (sum(per[k] for k in keys), per["client"]))
    ratio = fwd.rate() / base.rate()
    rounds = [f / b for f, b in zip(fwd.round_rates, base.round_rates)]
    p50b, p99b = pct(base.latency, 0.5), pct(base.latency, 0.99)
    p50, p99 = pct(fwd.latency, 0.5), pct(fwd.latency, 0.99)
    print("  forwarded / local: throughput ratio %.3f (rounds %.3f-%.3f), "
          "a cycle costs %+.1f %%" % (ratio, min(rounds), max(rounds),
                                     (1 / ratio - 1) * 100))
    print("    start latency ratio: p50 %.2f (%+.2f ms over %.2f ms), "
          "p99 %.2f (%+.2f ms over %.2f ms)" % (
              p50 / p50b, (p50 - p50b) * 1e3, p50b * 1e3,
              p99 / p99b, (p99 - p99b) * 1e3, p99b * 1e3))
    print("RESULT: forwarding to a slave: throughput x%.3f of local, start "
          "p50 x%.2f, p99 x%.2f" % (ratio, p50 / p50b, p99 / p99b))
    if markdown:
        print()
        print("| mode | cycles/s | ratio | start p50 | ratio | start p99 "
              "| ratio |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print("| local (baseline) | %.1f | 1 | %s | 1 | %s | 1 |" % (
            base.rate(), ms(p50b), ms(p99b)))
        print("| forwarded to h2 | %.1f | %.3f | %s | %.2f | %s | %.2f |" % (
            fwd.rate(), ratio, ms(p50), p50 / p50b, ms(p99), p99 / p99b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=8,
                    help="VMs per mode (default 8)")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="throughput time per mode and round (default 3)")
    ap.add_argument("--starts", type=int, default=40,
                    help="sequential timed starts per mode and round "
                    "(default 40)")
    ap.add_argument("--log-level", default="info",
                    help="both hosts' (default info, as deployed)")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    if a.clients < 1 or a.vms < a.clients:
        ap.error("need --vms >= --clients >= 1")
    if a.rounds < 1:
        ap.error("need --rounds >= 1")
    if bo.sanitized_build():
        print("bench_pool_ops: WARNING: this build has sanitizers; figures "
              "are not representative")
    print("VM.start forwarded to a slave vs on the master: %d VMs of one "
          "NOOP disk per mode, %d rounds of %.0f s x %d clients + %d "
          "sequential starts per mode; %d CPUs, load average %.2f at start"
          % (a.vms, a.rounds, a.seconds, a.clients, a.starts,
             os.cpu_count() or 0, os.getloadavg()[0]))
    sys.stdout.flush()
    pool = BenchPool(a.vms, a.log_level)
    status = 0
    t_start = time.monotonic()
    try:
        pool.start()
        modes = [Mode("local", "l", "h1", pool).find_vms(),
                 Mode("forwarded", "f", "h2", pool).find_vms()]
        for m in modes:
            if len(m.vms) != a.vms:
                raise bo.BenchError("%s: %d VMs, want %d"
                                    % (m.name, len(m.vms), a.vms))
            check_placement(m)
        order = list(modes)
        for _round in range(a.rounds):
            for m in order:
                bo.throughput(m, a.clients, a.seconds)
                bo.latency(m, a.starts)
            order.reverse()  # A B, B A, A B, ...
        load_end = os.getloadavg()[0]
        report(modes, a.markdown)
        print("  load average %.2f at the end; %.0f s in all"
              % (load_end, time.monotonic() - t_start))
    except bo.BenchError as e:
        print("bench_pool_ops: %s" % e)
        status = 1
    except fx.XenAPIError as e:
        print("bench_pool_ops: XenAPI error %s" % (e,))
        status = 1
    finally:
        try:
            pool.stop()
        except fx.ServerError as e:
            print("bench_pool_ops: %s" % e)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
