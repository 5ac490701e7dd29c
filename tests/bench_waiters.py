#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Parked event waits at scale: 10,000 event.from waits held at once, what
they cost xbtd, whether another client still gets quick answers, and what
waking them all with one event costs.

The goals (the issue that parked event waits):
  held     --waiters N (10,000) concurrent event.from(["task"], token,
           --wait-timeout s) waits on a handful of shared sessions
           (--sessions, 10), each on its own connection, all pending and
           parked (no thread each): xbtd's VmRSS and Threads
           (/proc/PID/status) before the waits and with them parked;
  latency  another client's task.get_record p99 with the N waits parked
           within --ratio (2) times its unloaded p99 of the same run;
  wake     one event (task.create) ends every wait; the time from the
           event's own `timestamp` until the last waiter's answer arrived,
           and xbtd's CPU time per woken waiter.

Method. One xbtd from the build tree (tests/xbtd_fixture.py) with
--max-connections and --max-connections-per-ip at N + 2,000 (12,000); the
script raises its own RLIMIT_NOFILE to the hard limit first (xbtd inherits
it). It logs in --sessions times and creates one task for the latency
client.

  unloaded  --calls calls (2,000) of task.get_record on one keep-alive
            connection, one at a time, after --warmup calls; a call's
            latency runs from sending the request to its whole answer.
  hold      one selector loop in this process (no thread per socket) opens
            the N connections, --rate a second (1,000: xbtd's listen
            backlog is 1,024), each sending at once one event.from with
            the session of its number modulo --sessions and one token
            (event.inject's: every wait has the same token and
            subscriptions, the case the shared answer serves). The script
            then waits (at most --settle s) until xbtd holds N more
            descriptors than before (or their number has not moved for
            2 s; the listen backlog's length is shown) and has used under
            5 % of a CPU over half a second: every call read, run and
            parked. Parked means: no answer came back on any of them
            (checked again just before the wake), xbtd's descriptors grew
            by N, and its threads did not grow with them (a thread per
            wait would add N).
  loaded    the same calls as unloaded, on a new connection, the N waits
            parked. Then one second of xbtd's CPU with nothing asked of
            it: what holding N parked waits costs at rest (the front's
            reaper looks at every connection five times a second).
  wake      task.create on yet another connection; the script then stays
            off the CPUs (polling xbtd's CPU time every 20 ms) until xbtd
            has gone quiet, and only then reads the answers, so that it
            does not compete with xbtd for the 2 vCPUs. A waiter's latency
            is the kernel's receive timestamp of the last piece of its
            answer (SO_TIMESTAMPNS) minus the event's `timestamp`
            (CLOCK_REALTIME, taken by xbtd when the task was added); "last"
            is the largest. Every answer must carry exactly that event.
            CPU per woken waiter: xbtd's CPU time (the first field of
            /proc/PID/task/*/schedstat, summed) from just before the
            task.create to the last answer read, divided by N; "net" takes
            out the at-rest rate of the loaded phase over the same window.
            xbtd's VmRSS and Threads once all are answered (their
            connections kept alive, as a client's would be).
  control   the waiters' connections closed, the same calls once more: a
            check on the machine's drift between the unloaded and loaded
            phases (not part of any goal).

PASS/FAIL per goal: held (N connected, none answered before the event,
descriptors up by at least N, threads up by fewer than --thread-slack);
latency (loaded p99 <= --ratio x unloaded p99); wake (every waiter
answered with the event); and, reported beside it, CPU per woken waiter
<= 0.2 ms (the goal of tests/bench_events.py at 100 waiters, held to N).
The exit status is 0 either way (it is a benchmark); 1 only when xbtd did
not stop cleanly.

--perf FILE records `perf record --call-graph fp` (--perf-call-graph
MODE, -F --perf-freq) of xbtd, or with --perf-thread NAME of its threads
of that name (e.g. event-wait), switched on only over every wake (from
just before the task.create until xbtd has gone quiet), or with
--perf-phase loaded only over the loaded calls. With --waiters 100
--rounds 100 it profiles the wakes that tests/bench_events.py measures.

usage: bench_waiters.py [--waiters N] [--sessions N] [--rate R]
       [--calls N] [--warmup N] [--wait-timeout S] [--settle S]
       [--ratio X] [--thread-slack N] [--proto xmlrpc|jsonrpc]
       [--rounds N] [--perf FILE [--perf-thread NAME]
       [--perf-call-graph MODE] [--perf-freq HZ] [--perf-phase wake|loaded]]
                                              (XBT_BUILDDIR: the build tree)
"""

import argparse
import errno
import math
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import fd_count, cpu_ns  # noqa: E402
from xbtd_fixture import RawClient, decode  # noqa: E402

GOAL_CPU_PER_WAITER_S = 0.2e-3
SO_TIMESTAMPNS = fx.SO_TIMESTAMPNS
CMSG_LEN = socket.CMSG_SPACE(16)


# ---- xbtd from /proc ------------------------------------------------------

def proc_status(pid):
    """(VmRSS in KiB, Threads) of pid."""
    return fx.rss_threads(pid)




def accept_queue(port):
    """Connections in the listen backlog of 127.0.0.1:port, not yet
    accepted (the rx_queue of the LISTEN socket in /proc/net/tcp)."""
    local = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == local and fields[3] == "0A":
                return int(fields[4].split(":")[1], 16)
    return None




def threads_named(pid, name):
    tids = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() == name:
                    tids.append(int(tid))
        except OSError:
            pass
    return tids


def wait_quiet(pid, busy_frac, window_s, limit_s, poll=None):
    """Sleeps until pid has used less than busy_frac of one CPU over the
    last window_s (sampled every 20 ms), or limit_s passed; poll(t), if
    given, is called instead of sleeping t between samples. True when it
    went quiet."""
    step = 0.02
    start = time.monotonic()
    samples = [(start, cpu_ns(pid))]
    while time.monotonic() - start < limit_s:
        if poll:
            poll(step)
        else:
            time.sleep(step)
        now = time.monotonic()
        samples.append((now, cpu_ns(pid)))
        while len(samples) > 2 and now - samples[1][0] >= window_s:
            samples.pop(0)
        t0, c0 = samples[0]
        if now - t0 >= window_s and \
                (samples[-1][1] - c0) / 1e9 < busy_frac * (now - t0):
            return True
    return False


# ---- figures --------------------------------------------------------------

def pct(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)]


def ms(v):
    return "%.3f ms" % (v * 1e3)


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


def verdict(ok):
    return "PASS" if ok else "FAIL"


# ---- the latency client ----------------------------------------------------

def get_record_latencies(port, proto, session, task, calls, warmup):
    """calls x task.get_record on one new keep-alive connection: the
    latency of each, in seconds."""
    cl = RawClient(port)
    req = fx.http_request(proto, "task.get_record", [session, task])
    out = []
    try:
        for i in range(warmup + calls):
            cl.reset()
            t0 = time.perf_counter()
            cl.sock.sendall(req)
            body = cl.read_response(10)
            t1 = time.perf_counter()
            if i == 0:
                rec = decode(proto, body)
                assert rec["uuid"], rec
            if i >= warmup:
                out.append(t1 - t0)
    finally:
        cl.sock.close()
    return out


# ---- the waiters: one selector, no thread per socket -----------------------

class Waiter:
    __slots__ = ("sock", "state", "out", "buf", "need", "kernel_ts",
                 "early", "why")

    def __init__(self):
        self.sock = None
        self.state = "new"     # connecting, sending, waiting, answered, lost
        self.out = b""
        self.buf = b""
        self.need = None
        self.kernel_ts = None
        self.early = False     # answered before the event
        self.why = None        # why it was lost


class Holder:
    def __init__(self, addr, requests, n):
        self.addr = addr
        self.requests = requests
        self.sel = selectors.DefaultSelector()
        self.waiters = [Waiter() for _ in range(n)]
        self.woken = False
        self.counts = {"connected": 0, "sent": 0, "answered": 0,
                       "early": 0, "lost": 0}
        self.lost_why = {}

    def lose(self, w, why):
        if w.sock is not None:
            try:
                self.sel.unregister(w.sock)
            except (KeyError, ValueError):
                pass
            w.sock.close()
            w.sock = None
        w.state = "lost"
        w.why = why
        self.counts["lost"] += 1
        self.lost_why[why] = self.lost_why.get(why, 0) + 1

    def open(self, i):
        w = self.waiters[i]
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            self.lose(w, "socket: %s" % errno.errorcode.get(e.errno, e))
            return
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        w.sock = s
        rc = s.connect_ex(self.addr)
        if rc not in (0, errno.EINPROGRESS):
            self.lose(w, "connect: %s" % errno.errorcode.get(rc, rc))
            return
        w.state = "connecting"
        w.out = self.requests[i % len(self.requests)]
        self.sel.register(s, selectors.EVENT_WRITE, w)

    def send(self, w):
        try:
            k = w.sock.send(w.out)
        except BlockingIOError:
            return
        except OSError as e:
            self.lose(w, "send: %s" % errno.errorcode.get(e.errno, e))
            return
        w.out = w.out[k:]
        if not w.out:
            w.state = "waiting"
            self.counts["sent"] += 1
            self.sel.modify(w.sock, selectors.EVENT_READ, w)

    def read(self, w):
        try:
            data, anc, _, _ = w.sock.recvmsg(1 << 16, CMSG_LEN)
        except BlockingIOError:
            return
        except OSError as e:
            self.lose(w, "recv: %s" % errno.errorcode.get(e.errno, e))
            return
        if not data:
            self.lose(w, "closed by xbtd" + ("" if self.woken
                                             else " before the event"))
            return
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", raw[:16])
                w.kernel_ts = sec + nsec / 1e9
        w.buf += data
        if w.need is None and b"\r\n\r\n" in w.buf:
            head = w.buf.partition(b"\r\n\r\n")[0]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            w.need = len(head) + 4 + length
        if w.need is not None and len(w.buf) >= w.need:
            w.state = "answered"
            self.counts["answered"] += 1
            if not self.woken:
                w.early = True
                self.counts["early"] += 1
            self.sel.unregister(w.sock)

    def ready(self, w, mask):
        if w.state == "connecting":
            err = w.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.lose(w, "connect: %s" % errno.errorcode.get(err, err))
                return
            w.state = "sending"
            self.counts["connected"] += 1
            self.send(w)
        elif w.state == "sending":
            self.send(w)
        else:
            self.read(w)

    def pump(self, timeout):
        for key, mask in self.sel.select(timeout):
            self.ready(key.data, mask)

    def ramp(self, rate):
        """Opens every waiter, rate a second, and sends its call."""
        n = len(self.waiters)
        start = time.monotonic()
        opened = 0
        while opened < n:
            due = min(n, int((time.monotonic() - start) * rate) + 1)
            while opened < due:
                self.open(opened)
                opened += 1
            self.pump(max(0.0, start + opened / rate - time.monotonic()))
        return time.monotonic() - start

    def rearm(self, requests):
        """Sends each answered waiter's next call on its connection."""
        self.woken = False
        self.counts.update(sent=0, answered=0, early=0)
        for i, w in enumerate(self.waiters):
            if w.state != "answered" or w.early:
                continue
            w.buf, w.need, w.kernel_ts = b"", None, None
            w.out = requests[i % len(requests)]
            w.state = "sending"
            self.sel.register(w.sock, selectors.EVENT_WRITE, w)

    def pending(self):
        return sum(1 for w in self.waiters if w.state in
                   ("connecting", "sending"))

    def close(self):
        for w in self.waiters:
            if w.sock is not None:
                w.sock.close()
                w.sock = None
        self.sel.close()


# ---- the run ---------------------------------------------------------------

class Perf:
    """perf record of xbtd (or of its threads named thread), started
    disabled and switched on and off through perf's control FIFO, so that
    it records only the phases asked for."""

    def __init__(self, pid, path, thread, call_graph, freq):
        self.dir = tempfile.mkdtemp(prefix="bench-waiters-perf-")
        ctl = os.path.join(self.dir, "ctl")
        ack = os.path.join(self.dir, "ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        if thread:
            tids = threads_named(pid, thread)
            if not tids:
                raise RuntimeError("perf: xbtd has no thread named %r"
                                   % thread)
            target = ["-t", ",".join(str(t) for t in tids)]
        else:
            target = ["-p", str(pid)]
        self.proc = subprocess.Popen(
            ["perf", "record", "-D", "-1", "--control",
             "fifo:%s,%s" % (ctl, ack), "--call-graph", call_graph,
             "-o", path] + (["-F", str(freq)] if freq else []) + target,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ctl = open(ctl, "w")
        self.ack = open(ack)

    def command(self, what):
        self.ctl.write(what + "\n")
        self.ctl.flush()
        self.ack.readline()

    def enable(self):
        self.command("enable")

    def disable(self):
        self.command("disable")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.ctl.close()
        self.ack.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wake(a, pid, holder, parked, waker, rest_rate, perf):
    """One task.create ends the parked waits: their latencies, xbtd's CPU
    and memory, and the token of the answer (for the next round). perf,
    if given, records from just before the task.create until xbtd has
    gone quiet."""
    holder.woken = True
    if perf:
        perf.enable()
    cpu0 = cpu_ns(pid)
    w0 = time.monotonic()
    new_task = waker("task.create", "bench-waiters wake", "")
    wait_quiet(pid, 0.1, 0.1, 120)
    if perf:
        perf.disable()
    end = time.monotonic() + 60
    while time.monotonic() < end and \
            any(w.state == "waiting" for w in parked):
        holder.pump(0.5)
    cpu1 = cpu_ns(pid)
    w1 = time.monotonic()
    rss, thr = proc_status(pid)

    # the answers: byte-identical ones are decoded once
    bodies = {}
    lat = []
    bad = 0
    ev_ts = token = None
    for w in parked:
        if w.state != "answered":
            continue
        body = w.buf[w.buf.index(b"\r\n\r\n") + 4:w.need]
        ok = bodies.get(body)
        if ok is None:
            try:
                r = decode(a.proto, body)
                evs = r["events"]
                ok = (len(evs) == 1 and evs[0]["ref"] == new_task and
                      evs[0]["operation"] == "add")
                if ok:
                    ev_ts = float(evs[0]["timestamp"])
                    token = r["token"]
            except (AssertionError, KeyError, ValueError, TypeError) as e:
                print("  a bad answer: %r (%s)" % (body[:300], e))
                ok = False
            bodies[body] = ok
        if ok:
            lat.append(w.kernel_ts - ev_ts)
        else:
            bad += 1
    cpu_s = (cpu1 - cpu0) / 1e9
    window = w1 - w0
    return dict(parked=len(parked), early=0, woken=len(lat), bad=bad,
                distinct=len(bodies), lat=lat, cpu_s=cpu_s, window=window,
                cpu_net_s=max(0.0, cpu_s - rest_rate * window), rss=rss,
                thr=thr, token=token)


def run(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cap = a.waiters + 2000
    print("parked event waits: %d waiters on %d sessions, %s, %d cores, "
          "load average %.2f at start; RLIMIT_NOFILE %d (was %d)" % (
              a.waiters, a.sessions, a.proto, os.cpu_count(),
              os.getloadavg()[0], hard, soft))
    srv = fx.Xbtd(["--max-connections", str(cap),
                   "--max-connections-per-ip", str(cap)]).start()
    pid = srv.proc.pid
    status = 0
    holder = perf = None
    res = {}
    try:
        c = srv.api
        sessions = [fx.XmlRpc(srv.url).login() for _ in range(a.sessions)]
        task = c("task.create", "bench-waiters latency", "")
        pool = c("pool.get_all")[0]

        # unloaded
        unloaded = get_record_latencies(srv.port, a.proto, c.session, task,
                                        a.calls, a.warmup)
        print("  unloaded: %d x task.get_record, p50 %s p99 %s" % (
            len(unloaded), ms(pct(unloaded, 0.5)), ms(pct(unloaded, 0.99))))
        sys.stdout.flush()
        # Before the waiters: once the connections closed so far are gone.
        # (xbtd's reaper ends a connection whose client hung up between
        # requests up to 300 ms later: the count must hold for a second.)
        fds0, same = fd_count(pid), 0
        for _ in range(40):
            time.sleep(0.25)
            f = fd_count(pid)
            same = same + 1 if f == fds0 else 0
            fds0 = f
            if same == 4:
                break
        rss0, thr0 = proc_status(pid)

        # hold
        token = c("event.inject", "pool", pool)
        requests = [fx.http_request(a.proto, "event.from",
                                    [s, ["task"], token, a.wait_timeout])
                    for s in sessions]
        holder = Holder(("127.0.0.1", srv.port), requests, a.waiters)
        ramp_s = holder.ramp(a.rate)
        settle_end = time.monotonic() + a.settle
        while holder.pending() and time.monotonic() < settle_end:
            holder.pump(0.05)
        # Every connection accepted, or their number steady for 2 s.
        target = fds0 + holder.counts["connected"] - holder.counts["lost"]
        last, since = -1, time.monotonic()
        while time.monotonic() < settle_end:
            holder.pump(0.1)
            f = fd_count(pid)
            if f >= target:
                break
            if f != last:
                last, since = f, time.monotonic()
            elif time.monotonic() - since >= 2.0:
                break
        quiet = wait_quiet(pid, 0.05, 0.5,
                           max(0.5, settle_end - time.monotonic()),
                           holder.pump)
        settled_s = time.monotonic() - settle_end + a.settle
        backlog = accept_queue(srv.port)
        print("  hold: %d connected in %.1f s, %d calls sent, settled %.1f s "
              "later (%s); %d answered early, %d lost%s; xbtd descriptors "
              "+%d, %s in the listen backlog" % (
                  holder.counts["connected"], ramp_s, holder.counts["sent"],
                  settled_s, "xbtd quiet" if quiet else "NOT quiet",
                  holder.counts["early"], holder.counts["lost"],
                  " %s" % holder.lost_why if holder.lost_why else "",
                  fd_count(pid) - fds0, backlog))
        sys.stdout.flush()

        # loaded
        if a.perf:
            perf = Perf(pid, a.perf, a.perf_thread, a.perf_call_graph,
                        a.perf_freq)
        if perf and a.perf_phase == "loaded":
            perf.enable()
        loaded = get_record_latencies(srv.port, a.proto, c.session, task,
                                      a.calls, a.warmup)
        if perf and a.perf_phase == "loaded":
            perf.disable()
        print("  loaded: %d x task.get_record, p50 %s p99 %s" % (
            len(loaded), ms(pct(loaded, 0.5)), ms(pct(loaded, 0.99))))
        holder.pump(0)
        t0, r0 = time.monotonic(), cpu_ns(pid)
        time.sleep(1.0)
        rest_rate = (cpu_ns(pid) - r0) / 1e9 / (time.monotonic() - t0)
        holder.pump(0)  # any answer before the event is an early one
        rss2, thr2 = proc_status(pid)
        fds2 = fd_count(pid)
        parked = [w for w in holder.waiters if w.state == "waiting"]
        event_wait_tids = threads_named(pid, "event-wait")
        sys.stdout.flush()

        # wake, then --rounds - 1 more on the same connections
        waker = fx.XmlRpc(srv.url, c.session)
        waker("pool.get_all")  # its connection is open before the clock
        wake_perf = perf if a.perf_phase == "wake" else None
        wakes = [wake(a, pid, holder, parked, waker, rest_rate, wake_perf)]
        for _ in range(1, a.rounds):
            token = wakes[-1]["token"]
            if not token:
                break
            holder.rearm([fx.http_request(a.proto, "event.from",
                                          [s, ["task"], token,
                                           a.wait_timeout])
                          for s in sessions])
            end = time.monotonic() + a.settle
            while holder.pending() and time.monotonic() < end:
                holder.pump(0.05)
            wait_quiet(pid, 0.05, 0.5, max(0.5, end - time.monotonic()),
                       holder.pump)
            holder.pump(0)
            parked_again = [w for w in holder.waiters
                            if w.state == "waiting"]
            before = proc_status(pid)
            wakes.append(wake(a, pid, holder, parked_again, waker,
                              rest_rate, wake_perf))
            wakes[-1].update(early=holder.counts["early"], before=before)

        # control: the same calls once the waiters' connections are closed
        counts, lost_why = dict(holder.counts), dict(holder.lost_why)
        holder.close()
        holder = None
        end = time.monotonic() + 20
        while fd_count(pid) > fds0 + 2 and time.monotonic() < end:
            time.sleep(0.1)
        fds4 = fd_count(pid)
        after = get_record_latencies(srv.port, a.proto, c.session, task,
                                     a.calls, a.warmup)
        rss4, thr4 = proc_status(pid)

        res = dict(
            n=a.waiters, connected=counts["connected"],
            lost=lost_why, early=counts["early"],
            parked=len(parked), ramp_s=ramp_s,
            rss0=rss0, thr0=thr0, fds0=fds0,
            backlog=backlog,
            rss2=rss2, thr2=thr2, fds2=fds2,
            rss4=rss4, thr4=thr4, fds4=fds4, after=after,
            unloaded=unloaded, loaded=loaded, rest_rate=rest_rate,
            wakes=wakes, event_wait_tids=event_wait_tids)
    finally:
        if perf is not None:
            perf.stop()
        if holder is not None:
            holder.close()
        try:
            _, err = srv.stop()
            m = re.search(r"events: (\d+) recorded; appending took "
                          r"([0-9.]+) us on average, ([0-9.]+) us at most",
                          err)
            if m and res:
                res["append"] = (int(m.group(1)), float(m.group(2)),
                                 float(m.group(3)))
        except fx.ServerError as e:
            status = 1
            print("xbtd did not stop cleanly: %s" % e)
    return res, status


def wake_rows(tag, wks):
    """The rows of one wake, or of several pooled (their latencies
    together, CPU and waiters summed, memory and threads at most)."""
    lat = [v for wk in wks for v in wk["lat"]]
    woken = sum(wk["woken"] for wk in wks)
    parked = sum(wk["parked"] for wk in wks)
    early = sum(wk["early"] for wk in wks)
    cpu = sum(wk["cpu_s"] for wk in wks)
    net = sum(wk["cpu_net_s"] for wk in wks)
    window = sum(wk["window"] for wk in wks)
    rows = []
    if "before" in wks[0]:
        rows.append(("%s: parked again: xbtd VmRSS / threads" % tag,
                     "%s / %d" % (mib(max(wk["before"][0] for wk in wks)),
                                  max(wk["before"][1] for wk in wks))))
    rows.append(("%s: woken with the event" % tag,
                 "%d of %d parked (%s distinct answers%s)" % (
                     woken, parked,
                     "/".join(str(wk["distinct"]) for wk in wks[:3]) +
                     ("/..." if len(wks) > 3 else ""),
                     ", %d answered early" % early if early else "")))
    if not lat:
        return rows
    return rows + [
        ("%s: event -> answer first / p50 / p99 / last" % tag,
         "%s / %s / %s / %s" % (ms(min(lat)), ms(pct(lat, .5)),
                                ms(pct(lat, .99)), ms(max(lat)))),
        ("%s: xbtd CPU (window); net of rest" % tag,
         "%.1f ms (%.0f ms); %.1f ms" % (cpu * 1e3, window * 1e3,
                                         net * 1e3)),
        ("%s: xbtd CPU per woken waiter; net" % tag,
         "%.1f us; %.1f us" % (cpu / len(lat) * 1e6, net / len(lat) * 1e6)),
        ("%s: xbtd VmRSS / threads after" % tag,
         "%s / %d" % (mib(max(wk["rss"] for wk in wks)),
                      max(wk["thr"] for wk in wks))),
    ]


def report(a, r):
    n = r["n"]
    un, lo, af = r["unloaded"], r["loaded"], r["after"]
    w1 = r["wakes"][0]
    lat = w1["lat"]
    rows = [
        ("waiters connected / parked (no answer) / lost",
         "%d / %d / %d of %d" % (r["connected"], r["parked"],
                                 sum(r["lost"].values()), n)),
        ("opened in", "%.1f s (%d/s)" % (r["ramp_s"], a.rate)),
        ("xbtd VmRSS: before / parked",
         "%s / %s" % (mib(r["rss0"]), mib(r["rss2"]))),
        ("xbtd threads: before / parked", "%d / %d" % (r["thr0"], r["thr2"])),
        ("xbtd descriptors: before / parked",
         "%d / %d (+%d)" % (r["fds0"], r["fds2"], r["fds2"] - r["fds0"])),
        ("RSS per parked waiter",
         "%.1f KiB" % ((r["rss2"] - r["rss0"]) / max(1, r["parked"]))),
        ("xbtd CPU at rest, waiters parked",
         "%.2f %% of a CPU" % (r["rest_rate"] * 100)),
        ("task.get_record unloaded p50 / p99 / max",
         "%s / %s / %s" % (ms(pct(un, .5)), ms(pct(un, .99)), ms(max(un)))),
        ("task.get_record loaded p50 / p99 / max",
         "%s / %s / %s" % (ms(pct(lo, .5)), ms(pct(lo, .99)), ms(max(lo)))),
        ("p99 loaded / unloaded", "%.2f" % (pct(lo, .99) / pct(un, .99))),
    ]
    rows += wake_rows("wake 1", r["wakes"][:1])
    if len(r["wakes"]) == 2:
        rows += wake_rows("wake 2", r["wakes"][1:])
    elif len(r["wakes"]) > 2:
        rows += wake_rows("wakes 2-%d" % len(r["wakes"]), r["wakes"][1:])
    rows += [
        ("RSS per waiter after wake 1 (connection kept)",
         "%.1f KiB" % ((w1["rss"] - r["rss0"]) / max(1, w1["woken"]))),
        ("control, waiters closed: get_record p50 / p99 / max",
         "%s / %s / %s" % (ms(pct(af, .5)), ms(pct(af, .99)), ms(max(af)))),
        ("control: xbtd VmRSS / threads / descriptors",
         "%s / %d / %d" % (mib(r["rss4"]), r["thr4"], r["fds4"])),
    ]
    if r.get("append"):
        rows.append(("event log appends: mean / max (xbtd's log)",
                     "%.2f us / %.2f us over %d events" % (
                         r["append"][1], r["append"][2], r["append"][0])))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print("  %-*s  %s" % (width, k, v))

    held = (r["connected"] == n and r["parked"] == n and r["early"] == 0 and
            r["fds2"] - r["fds0"] >= n and
            r["thr2"] - r["thr0"] < a.thread_slack)
    ratio = pct(lo, .99) / pct(un, .99)
    woke = w1["woken"] == w1["parked"] == n and w1["bad"] == 0
    cpu = w1["cpu_s"] / len(lat) if lat else None
    print("  goal held: %d waits parked, none answered, descriptors +%d, "
          "threads +%d (< %d): %s" % (
              r["parked"], r["fds2"] - r["fds0"], r["thr2"] - r["thr0"],
              a.thread_slack, verdict(held)))
    print("  goal latency: p99 loaded / unloaded %.2f <= %.1f: %s" % (
        ratio, a.ratio, verdict(ratio <= a.ratio)))
    print("  goal wake: %d of %d answered with the event, last after %s: %s"
          % (w1["woken"], n, ms(max(lat)) if lat else "-", verdict(woke)))
    print("  goal cpu/waiter (bench_events' 0.2 ms, held to %d): %s: %s" % (
        n, "%.1f us" % (cpu * 1e6) if lat else "-",
        verdict(lat and cpu <= GOAL_CPU_PER_WAITER_S)))
    if r["event_wait_tids"]:
        print("  (event-wait thread: tid %s)" % ",".join(
            str(t) for t in r["event_wait_tids"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--waiters", type=int, default=10000)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rate", type=float, default=1000.0,
                    help="connections opened a second (default 1000)")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wait-timeout", type=float, default=300.0)
    ap.add_argument("--settle", type=float, default=60.0)
    ap.add_argument("--ratio", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=2,
                    help="wakes: the first, then each waiter's next "
                    "event.from on its kept connection (default 2)")
    ap.add_argument("--thread-slack", type=int, default=64)
    ap.add_argument("--proto", default="xmlrpc",
                    choices=["xmlrpc", "jsonrpc"])
    ap.add_argument("--perf", metavar="FILE")
    ap.add_argument("--perf-thread", metavar="NAME")
    ap.add_argument("--perf-call-graph", metavar="MODE", default="fp",
                    help="perf record --call-graph MODE (fp, dwarf)")
    ap.add_argument("--perf-phase", choices=["wake", "loaded"],
                    default="wake", help="what --perf records: the wakes "
                    "(default) or the loaded task.get_record calls")
    ap.add_argument("--perf-freq", type=int,
                    help="perf record -F (default perf's)")
    a = ap.parse_args()
    r, status = run(a)
    if r:
        report(a, r)
    else:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
