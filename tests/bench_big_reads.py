#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Big reads at scale: task.get_all_records and event.from's first snapshot
with 10,000, 100,000 and 200,000 tasks. How long they take, how much memory
xbtd needs for them, and whether other callers still get quick answers
while one runs.

The goals (the throughput issue, "Big reads outside the lock"):
  linear   time is linear in the number of records: the time per record
           at the largest size within LINEAR_MAX (1.5) times that at the
           smallest; the slope (microseconds per record between sizes) is
           printed for every read;
  memory   xbtd's peak memory during a read grows by less than
           PEAK_MAX_RATIO (3) times the reply's size, every read at
           every size;
  stall    another connection's calls (pool.get_all and task.get_record,
           in turn, one due every 2 ms) have a p99 under PROBE_P99_MAX_S
           (50 ms) while the read runs, every read at the largest size
           (200,000).

Method. xbtd from the build tree (tests/xbtd_fixture.py) with
--task-max 1000000, plus any --xbtd-arg. task.create makes pending tasks,
which no option of today's xbtd bounds or collects (--task-max and
--task-max-age bound finished tasks); --task-max is raised anyway so that
no finished task is ever dropped. Nothing else is changed. Each read at
each size runs in a new xbtd, so that the memory an earlier read left with
the allocator does not hide part of its peak (--shared: one xbtd grown
from size to size for everything, faster). For each size N (--sizes,
default 10000,100000,200000; --quick: 2000,20000) and each read:

  create   task.create over JSON-RPC until xbtd holds N tasks: --conns
           (4) keep-alive connections, each a thread sending --depth (64)
           pre-built requests at a time (HTTP/1.1 pipelining) and reading
           their answers; every answer must be a result.
  idle     the prober (below) alone for --idle-seconds (1 s): the other
           calls' latency with nothing big running, at this size (xbtd's
           once-a-second task GC walks every task under the store lock);
           the calls of every xbtd of a size are pooled.
  read     one of task.get_all_records(session) and
           event.from(session, ["task"], "", 0.0) (token "": an "add"
           event with the snapshot of every task), over JSON-RPC or
           XML-RPC (--reads, --protos: each of the four by default), one
           call on a new connection:
             - `echo 5 > /proc/PID/clear_refs` resets xbtd's VmHWM, then
               VmRSS is read ("before");
             - the prober is started and the script waits for its first
               calls; then the request is sent. time: from the send to
               the reply's last byte; ttfb: to its first byte (when xbtd
               starts answering: after building the whole reply unless it
               streams). The reply may come with Content-Length or
               chunked;
             - peak: VmHWM after the reply minus VmRSS before, and that
               over the reply body's size (x reply);
             - cpu: xbtd's CPU time (every thread) over the read;
             - the reply is checked: a success, with one record (one
               "add" event) per task.
  prober   a separate process (no GIL shared with the reader), on its own
           new keep-alive connection (--probe-proto, JSON-RPC by default),
           calling pool.get_all and task.get_record(one task) in turn, one
           call due every --probe-interval ms (2), open loop: a call due
           while the one before is still waiting is sent as soon as that
           one is answered, and its latency counts from when it was due
           (as for a client calling on its own schedule; a closed loop
           would count a stall of the whole read as one slow call among
           hundreds of quick ones before and after it, and hide it from
           its p99). The calls whose [due, answer] overlaps the read's
           window [send, last byte] count for it: n, p50, p99 and max.

The slope between two sizes is (time2 - time1) / (N2 - N1); "per-record
ratio" is (time / N at the largest) over (time / N at the smallest), the
linear goal's figure; the same ratio of xbtd's CPU time is printed beside
it (a read that waited for a CPU taken by something else on the machine
shows there as linear and in the time as not). The last lines say which
goals were met, and the load average before and after the run. The exit
status is 0 either way (it is a measurement); 1 when a call failed or a
reply was wrong, or when xbtd did not stop cleanly.

The script, the prober and xbtd share the machine's cores (2 vCPUs here):
the prober's latencies include waiting for a CPU.

usage: bench_big_reads.py [--sizes N,N,...] [--quick]
       [--reads get_all_records,event.from] [--protos jsonrpc,xmlrpc]
       [--probe-proto jsonrpc|xmlrpc] [--conns N] [--depth N]
       [--probe-interval MS] [--idle-seconds S] [--shared]
       [--xbtd-arg=ARG]...                     (XBT_BUILDDIR: the build tree)
"""

import argparse
import json
import math
import multiprocessing
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import cpu_ns  # noqa: E402

SIZES = (10000, 100000, 200000)
QUICK_SIZES = (2000, 20000)
LINEAR_MAX = 1.5
PEAK_MAX_RATIO = 3.0
PROBE_P99_MAX_S = 0.050
XBTD_ARGS = ["--task-max", "1000000"]
READS = ("get_all_records", "event.from")
PROTOS = ("jsonrpc", "xmlrpc")
READ_TIMEOUT_S = 600.0


class BenchError(Exception):
    """A call failed or a reply was wrong: the run is void."""


# ---- HTTP by hand -----------------------------------------------------------

class Conn:
    """A keep-alive connection read by hand: Content-Length or chunked
    replies, pipelined or not."""

    def __init__(self, port, timeout=READ_TIMEOUT_S):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.first_byte = None

    def close(self):
        self.sock.close()

    def _more(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise BenchError("xbtd closed the connection")
        if self.first_byte is None:
            self.first_byte = time.monotonic()
        self.buf += data

    def read_one(self):
        """One whole response: (status, head bytes, body bytes)."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._more()
        head = bytes(self.buf[:end])
        pos = end + 4
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if m:
            length = int(m.group(1))
            have = min(len(self.buf) - pos, length)
            body = bytearray(length)
            body[:have] = self.buf[pos:pos + have]
            del self.buf[:pos + have]
            view = memoryview(body)
            while have < length:
                got = self.sock.recv_into(view[have:])
                if not got:
                    raise BenchError("xbtd closed the connection")
                if self.first_byte is None:
                    self.first_byte = time.monotonic()
                have += got
            return status, head, bytes(body) if length < 65536 else body
        if not re.search(rb"(?im)^transfer-encoding:.*chunked", head):
            raise BenchError("a reply with neither Content-Length nor "
                             "chunked: %r" % head[:300])
        pieces = []
        while True:
            while True:
                eol = self.buf.find(b"\r\n", pos)
                if eol >= 0:
                    break
                self._more()
            size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                break
            while len(self.buf) < pos + size + 2:
                self._more()
            pieces.append(bytes(self.buf[pos:pos + size]))
            pos += size + 2
        while True:  # trailers, then the empty line
            while True:
                eol = self.buf.find(b"\r\n", pos)
                if eol >= 0:
                    break
                self._more()
            line_empty = eol == pos
            pos = eol + 2
            if line_empty:
                break
        del self.buf[:pos]
        return status, head, b"".join(pieces)


def request(proto, method, params):
    return fx.http_request(proto, method, params)


def check_small(proto, status, body):
    """A small success reply: raises BenchError otherwise."""
    if status != 200:
        raise BenchError("HTTP %d: %r" % (status, body[:300]))
    if proto == "jsonrpc":
        if b'"result"' not in body or body.startswith(b'{"error') or \
                b'"error":{' in body:
            raise BenchError("JSON-RPC failure: %r" % body[:300])
    elif b"<name>Status</name><value>Success</value>" not in body:
        raise BenchError("XML-RPC failure: %r" % body[:300])


def call(port, proto, method, params):
    """One call on a new connection: its decoded value."""
    c = Conn(port, 60)
    try:
        c.sock.sendall(request(proto, method, params))
        status, _head, body = c.read_one()
    finally:
        c.close()
    check_small(proto, status, body)
    return fx.decode(proto, body)


# ---- xbtd from /proc --------------------------------------------------------

def mem_kib(pid):
    """{"VmRSS": KiB, "VmHWM": KiB} of pid."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1])
    return out


def reset_hwm(pid):
    """Resets pid's VmHWM to its VmRSS; False when the kernel would not."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---- creating tasks ---------------------------------------------------------

def create_tasks(port, session, count, conns, depth):
    """count x task.create, pipelined on conns connections; returns the
    first task's ref."""
    if count <= 0:
        return None
    req = request("jsonrpc", "task.create",
                  [session, "big-reads", "bench_big_reads.py"])
    shares = [count // conns + (1 if i < count % conns else 0)
              for i in range(conns)]
    first = []
    errors = []

    def worker(n):
        c = Conn(port, 120)
        try:
            while n > 0 and not errors:
                k = min(depth, n)
                c.sock.sendall(req * k)
                for _ in range(k):
                    status, _head, body = c.read_one()
                    check_small("jsonrpc", status, body)
                    if not first:
                        first.append(json.loads(body)["result"])
                n -= k
        except Exception as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in shares
               if s]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError("task.create failed: %s (does an option of xbtd "
                         "bound tasks? pass it with --xbtd-arg)"
                         % errors[0])
    return first[0]


# ---- the prober (its own process) -------------------------------------------

def prober_main(ctl, port, proto, interval):
    """Runs on commands from ctl: ("run", session, task) calls pool.get_all
    and task.get_record(task) in turn on a new connection, one every
    interval seconds (open loop: a call late because the one before was
    slow starts at once, and its latency counts from when it was due),
    until "stop" arrives; sends ("ready",) after its first few calls, then
    ("done", [(due, end), ...], error or None). ("quit",) ends it."""
    while True:
        cmd = ctl.recv()
        if cmd[0] == "quit":
            return
        _, session, task = cmd
        reqs = [request(proto, "pool.get_all", [session]),
                request(proto, "task.get_record", [session, task])]
        calls = []
        error = None
        ready = False
        conn = None
        try:
            conn = Conn(port, READ_TIMEOUT_S)
            due = time.monotonic()
            i = 0
            while True:
                if ready and ctl.poll():
                    ctl.recv()
                    break
                now = time.monotonic()
                if now < due:
                    time.sleep(due - now)
                conn.sock.sendall(reqs[i % 2])
                status, _head, body = conn.read_one()
                end = time.monotonic()
                check_small(proto, status, body)
                calls.append((due, end))
                i += 1
                due += interval
                if not ready and i >= 4:
                    ctl.send(("ready",))
                    ready = True
        except Exception as e:  # noqa: BLE001 - sent to the parent
            error = "%s: %s" % (type(e).__name__, e)
            if not ready:
                ctl.send(("ready",))
            ctl.recv()  # the stop
        finally:
            if conn:
                conn.close()
        ctl.send(("done", calls, error))


class Prober:
    def __init__(self, port, proto, interval):
        ctx = multiprocessing.get_context("fork")
        self.ctl, child = ctx.Pipe()
        self.proc = ctx.Process(target=prober_main,
                                args=(child, port, proto, interval),
                                daemon=True)
        self.proc.start()
        child.close()

    def start(self, session, task):
        self.ctl.send(("run", session, task))
        msg = self.ctl.recv()
        assert msg[0] == "ready", msg

    def stop(self):
        self.ctl.send(("stop",))
        msg = self.ctl.recv()
        assert msg[0] == "done", msg
        if msg[2]:
            raise BenchError("prober: %s" % msg[2])
        return msg[1]

    def close(self):
        if self.proc.is_alive():
            try:
                self.ctl.send(("quit",))
            except OSError:
                pass
            self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def window_stats(calls, t0=None, t1=None):
    """(n, p50, p99, max) in seconds, from when each call was due to its
    answer, of the calls overlapping [t0, t1] (all without a window)."""
    lat = [end - due for due, end in calls
           if t0 is None or (end > t0 and due < t1)]
    if not lat:
        return 0, None, None, None
    return len(lat), pct(lat, .50), pct(lat, .99), max(lat)


def pct(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)]


# ---- one big read -----------------------------------------------------------

def big_request(proto, read, session):
    if read == "get_all_records":
        return request(proto, "task.get_all_records", [session])
    return request(proto, "event.from", [session, ["task"], "", 0.0])


def count_records(proto, read, body):
    """The records (events) in a big reply; BenchError unless a success."""
    if proto == "jsonrpc":
        head = body[:200]
        if b'"result"' not in head or b'"error"' in head:
            raise BenchError("%s over JSON-RPC failed: %r"
                             % (read, body[:300]))
        if read == "get_all_records":
            return len(re.findall(rb'"uuid"\s*:', body))
        return len(re.findall(rb'"operation"\s*:\s*"add"', body))
    if b"<name>Status</name><value>Success</value>" not in body[:400]:
        raise BenchError("%s over XML-RPC failed: %r" % (read, body[:400]))
    if read == "get_all_records":
        return body.count(b"<name>uuid</name>")
    return body.count(b"<name>operation</name><value>add</value>")


def big_read(x, prober, port, proto, read, session, task, expect):
    pid = x.proc.pid
    req = big_request(proto, read, session)
    conn = Conn(port)
    try:
        hwm_reset = reset_hwm(pid)
        before = mem_kib(pid)
        prober.start(session, task)
        cpu0 = cpu_ns(pid)
        t0 = time.monotonic()
        conn.sock.sendall(req)
        status, _head, body = conn.read_one()
        t1 = time.monotonic()
        cpu1 = cpu_ns(pid)
        calls = prober.stop()
        after = mem_kib(pid)
        first = conn.first_byte
    finally:
        conn.close()
    if status != 200:
        raise BenchError("%s over %s: HTTP %d %r" % (read, proto, status,
                                                     body[:300]))
    n = count_records(proto, read, body)
    if n != expect:
        raise BenchError("%s over %s: %d records in the reply, want %d"
                         % (read, proto, n, expect))
    peak_kib = after["VmHWM"] - before["VmRSS"]
    return {
        "time": t1 - t0, "ttfb": first - t0, "size": len(body),
        "rss0_kib": before["VmRSS"], "peak_kib": peak_kib,
        "hwm_reset": hwm_reset,
        "ratio": peak_kib * 1024.0 / len(body),
        "cpu": (cpu1 - cpu0) / 1e9,
        "probe": window_stats(calls, t0, t1),
    }


# ---- the run ----------------------------------------------------------------

def ms(v):
    return "-" if v is None else "%.1f ms" % (v * 1e3)


def mb(nbytes):
    return "%.1f MB" % (nbytes / 1e6)


def mib(kib):
    return "%.0f MiB" % (kib / 1024.0)


def verdict(ok):
    return "met" if ok else "NOT met"


class Instance:
    """One xbtd, its prober, a session and the prober's task."""

    def __init__(self, a):
        self.a = a
        self.x = fx.Xbtd(XBTD_ARGS + list(a.xbtd_arg))
        self.prober = None
        self.x.start(login=False)
        try:
            self.port = self.x.port
            self.pid = self.x.proc.pid
            # Forked while this process runs no other thread.
            self.prober = Prober(self.port, a.probe_proto,
                                 a.probe_interval / 1e3)
            self.session = call(self.port, "jsonrpc",
                                "session.login_with_password",
                                ["root", fx.ROOT_PASSWORD, "1.0",
                                 "bench_big_reads"])
            # The task the prober reads; it counts towards the sizes.
            self.task = call(self.port, "jsonrpc", "task.create",
                             [self.session, "big-reads", "probe"])
            self.tasks = self.count()
        except BaseException:
            self.stop()
            raise

    def count(self):
        return len(call(self.port, "jsonrpc", "task.get_all",
                        [self.session]))

    def grow(self, n):
        """Creates tasks until xbtd holds n."""
        if n < self.tasks:
            raise BenchError("size %d: xbtd already holds %d tasks"
                             % (n, self.tasks))
        made = n - self.tasks
        t0 = time.monotonic()
        create_tasks(self.port, self.session, made, self.a.conns,
                     self.a.depth)
        took = time.monotonic() - t0
        self.tasks = self.count()
        if self.tasks != n:
            raise BenchError("xbtd holds %d tasks, want %d"
                             % (self.tasks, n))
        print("# %d tasks: created %d in %.1f s (%.0f/s), VmRSS %s"
              % (n, made, took, made / took if took else 0,
                 mib(mem_kib(self.pid)["VmRSS"])))
        sys.stdout.flush()

    def idle(self):
        """The prober alone for --idle-seconds: its calls."""
        self.prober.start(self.session, self.task)
        time.sleep(self.a.idle_seconds)
        return self.prober.stop()

    def read(self, read, proto):
        return big_read(self.x, self.prober, self.port, proto, read,
                        self.session, self.task, self.tasks)

    def stop(self):
        if self.prober:
            self.prober.close()
            self.prober = None
        self.x.stop()


def run(a, sizes, reads, protos):
    fx.raise_nofile()
    print("# xbtd %s (pending tasks, which task.create makes, are never "
          "collected; --task-max raised so that no finished task is "
          "dropped either); %s" % (
              " ".join(XBTD_ARGS + list(a.xbtd_arg)),
              "one xbtd for every read" if a.shared else
              "a new xbtd for every read"))
    print(HEADER)
    results = {}
    idle = {}

    def measure(inst, n, read, proto):
        r = inst.read(read, proto)
        results[(n, read, proto)] = r
        print_row(n, read, proto, r)
        sys.stdout.flush()

    if a.shared:
        inst = Instance(a)
        try:
            for n in sizes:
                inst.grow(n)
                idle[n] = inst.idle()
                for read in reads:
                    for proto in protos:
                        measure(inst, n, read, proto)
        finally:
            inst.stop()
        return results, idle
    for n in sizes:
        for read in reads:
            for proto in protos:
                inst = Instance(a)
                try:
                    inst.grow(n)
                    idle.setdefault(n, []).extend(inst.idle())
                    measure(inst, n, read, proto)
                finally:
                    inst.stop()
    return results, idle


HEADER = ("%8s %-16s %-7s %9s %9s %9s %8s %8s %9s %6s %7s | %5s %8s %8s %8s"
          % ("tasks", "read", "proto", "time", "ttfb", "reply", "us/rec",
             "rss0", "peak+", "xreply", "cpu", "probe", "p50", "p99",
             "max"))


def print_row(n, read, proto, r):
    pn, p50, p99, pmax = r["probe"]
    print("%8d %-16s %-7s %9s %9s %9s %8.2f %8s %9s %6.2f %6.2fs | %5d "
          "%8s %8s %8s" % (
              n, read, proto, "%.3f s" % r["time"], "%.3f s" % r["ttfb"],
              mb(r["size"]), r["time"] / n * 1e6, mib(r["rss0_kib"]),
              mib(r["peak_kib"]), r["ratio"], r["cpu"], pn, ms(p50), ms(p99),
              ms(pmax)))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(results, idle, sizes, reads, protos, probe_proto,
           probe_interval, load_before):
    print()
    print("Big reads (peak+: xbtd's VmHWM after minus VmRSS before; probe: "
          "pool.get_all/task.get_record over %s, one due every %g ms, "
          "latency from when due, calls overlapping the read)"
          % (probe_proto, probe_interval))
    print(HEADER)
    for n in sizes:
        for read in reads:
            for proto in protos:
                print_row(n, read, proto, results[(n, read, proto)])
    print()
    print("Prober alone (no big read, %s):" % probe_proto)
    for n in sizes:
        pn, p50, p99, pmax = window_stats(idle[n])
        print("  %8d tasks: %d calls, p50 %s, p99 %s, max %s"
              % (n, pn, ms(p50), ms(p99), ms(pmax)))
    if not all(r["hwm_reset"] for r in results.values()):
        print("  (VmHWM could not be reset: the peaks are since xbtd "
              "started)")

    print()
    print("Slope (us per record between sizes, of the time and of xbtd's "
          "cpu) and linearity (time/record at %d over at %d):"
          % (sizes[-1], sizes[0]))
    linear_ok = True
    for read in reads:
        for proto in protos:
            slopes = []
            for lo, hi in zip(sizes, sizes[1:]):
                rlo, rhi = results[(lo, read, proto)], \
                    results[(hi, read, proto)]
                d = (rhi["time"] - rlo["time"]) / (hi - lo)
                dc = (rhi["cpu"] - rlo["cpu"]) / (hi - lo)
                slopes.append("%d->%d %.2f (cpu %.2f)"
                              % (lo, hi, d * 1e6, dc * 1e6))
            lo, hi = (results[(sizes[0], read, proto)],
                      results[(sizes[-1], read, proto)])
            ratio = (hi["time"] / sizes[-1]) / (lo["time"] / sizes[0])
            cpu_ratio = (hi["cpu"] / sizes[-1]) / (lo["cpu"] / sizes[0]) \
                if lo["cpu"] > 0 else float("nan")
            linear_ok &= ratio <= LINEAR_MAX
            print("  %-16s %-7s %s; per-record ratio %.2f (xbtd cpu %.2f)"
                  % (read, proto, "; ".join(slopes) or "-", ratio,
                     cpu_ratio))

    big = sizes[-1]
    peak_worst = max(results.values(), key=lambda r: r["ratio"])
    peak_ok = all(r["ratio"] < PEAK_MAX_RATIO for r in results.values())
    p99s = {(read, proto): results[(big, read, proto)]["probe"][2]
            for read in reads for proto in protos}
    p99_ok = all(v is not None and v < PROBE_P99_MAX_S for v in p99s.values())

    print()
    print("Goals:")
    print("  linear: time per record at %d within %.1fx that at %d, every "
          "read: %s" % (big, LINEAR_MAX, sizes[0], verdict(linear_ok)))
    print("  memory: peak growth < %.0fx the reply, every read and size "
          "(worst %.2fx): %s" % (PEAK_MAX_RATIO, peak_worst["ratio"],
                                 verdict(peak_ok)))
    print("  stall: prober p99 < %.0f ms during each read at %d tasks "
          "(%s): %s" % (
              PROBE_P99_MAX_S * 1e3, big,
              ", ".join("%s/%s %s" % (r, p, ms(v))
                        for (r, p), v in p99s.items()),
              verdict(p99_ok)))
    print("  (load average before the run %s, after %s: xbtd's waits "
          "for a CPU are in the times, not in its cpu)"
          % (load_before, loadavg()))
    if big < 200000:
        print("  (the goals are about 200,000 tasks; this run's largest "
              "size is %d)" % big)


def parse_sizes(text):
    sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s})
    if not sizes or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("sizes: positive task counts")
    return sizes


def parse_list(allowed):
    def parse(text):
        items = [s for s in text.split(",") if s]
        bad = [s for s in items if s not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError("choose from %s" %
                                             ",".join(allowed))
        return items
    return parse


def main():
    ap = argparse.ArgumentParser(
        description="task.get_all_records and event.from's snapshot at "
        "scale: time, xbtd's peak memory, other calls' latency")
    ap.add_argument("--sizes", type=parse_sizes,
                    help="task counts (default %s)" %
                    ",".join(map(str, SIZES)))
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: sizes %s" %
                    ",".join(map(str, QUICK_SIZES)))
    ap.add_argument("--reads", type=parse_list(READS), default=list(READS),
                    help="default %s" % ",".join(READS))
    ap.add_argument("--protos", type=parse_list(PROTOS),
                    default=list(PROTOS),
                    help="the big reads' protocols (default %s)" %
                    ",".join(PROTOS))
    ap.add_argument("--probe-proto", choices=PROTOS, default="jsonrpc")
    ap.add_argument("--probe-interval", type=float, default=2.0,
                    metavar="MS", help="the prober calls once every MS "
                    "milliseconds (default 2)")
    ap.add_argument("--conns", type=int, default=4,
                    help="connections creating tasks (default 4)")
    ap.add_argument("--depth", type=int, default=64,
                    help="task.create requests in flight per connection "
                    "(default 64)")
    ap.add_argument("--idle-seconds", type=float, default=1.0)
    ap.add_argument("--shared", action="store_true",
                    help="one xbtd for every size and read (faster; the "
                    "memory earlier reads left to the allocator hides part "
                    "of later reads' peaks)")
    ap.add_argument("--xbtd-arg", action="append", default=[],
                    metavar="ARG", help="one more argument for xbtd, "
                    "repeated for more (--xbtd-arg=--opt --xbtd-arg=VALUE)")
    a = ap.parse_args()
    sizes = a.sizes or (list(QUICK_SIZES) if a.quick else list(SIZES))
    load_before = loadavg()
    try:
        results, idle = run(a, sizes, a.reads, a.protos)
    except (BenchError, fx.ServerError) as e:
        print("bench_big_reads: %s" % e, file=sys.stderr)
        return 1
    report(results, idle, sizes, a.reads, a.protos, a.probe_proto,
           a.probe_interval, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
