#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Soak of xbtd --db (make soak; about 10 minutes, not in CI).

Mixed load on one xbtd with a database: writers (each owns a VM: a name
then other_config "last" per operation, so records stay small), a VM that
is started and shut down, readers of get_all_records, and an event.from
waiter. At random points xbt-opsd or xbtd is SIGKILLed. After each xbtd
restart: every acknowledged operation is there and nothing past the one
in flight; the database passes --check at the end. xbtd's RSS, fds and
threads are sampled during each life, and opsd's across its life: the
figures are printed, and growth within a life fails the run.

usage: soak_db.py [--duration S] [--seed N]
"""

import argparse
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_db  # noqa: E402


def verify(api, vm, acked, inflight, k):
    """Operation i sets the name to c<k>-<i>, then other_config last=i."""
    name = api("VM.get_name_label", vm)
    top = int(api("VM.get_other_config", vm).get("last", "-1"))
    if top < acked or top > max(acked, inflight):
        raise AssertionError("client %d: last %d, acknowledged %d, in "
                             "flight %d" % (k, top, acked, inflight))
    want = ["c%d-%d" % (k, top)]
    if top < inflight:
        want.append("c%d-%d" % (k, top + 1))
    if top >= 0 and name not in want:
        raise AssertionError("client %d: name %r, want one of %r"
                             % (k, name, want))
    return top


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    d = test_db.Dir()
    x = d.xbtd()
    vms = x.api("VM.get_all")
    runnable = [m for m in vms if x.api("VM.get_name_label", m) == "demo-ok"]
    writers = [m for m in vms if m not in runnable][:3]
    for m in writers:
        x.api("VM.set_other_config", m, {})
    state = {k: [-1, -1] for k in range(len(writers))}
    nxt = {k: 0 for k in range(len(writers))}
    counts = {"ops": 0, "reads": 0, "power": 0, "events": 0,
              "xbtd_kills": 0, "opsd_kills": 0}
    lives = []
    opsd = {}  # pid: samples
    opsd_dir = os.path.join(d.path, "opsd")
    end = time.monotonic() + a.duration
    print("soak: %.0f s, seed %d" % (a.duration, a.seed), flush=True)
    try:
        while time.monotonic() < end:
            stop = threading.Event()

            def writer(k):
                c = fx.XmlRpc(x.url, x.session)
                while not stop.is_set():
                    i = nxt[k]
                    state[k][1] = i
                    try:
                        c("VM.set_name_label", writers[k], "c%d-%d" % (k, i))
                        c("VM.set_other_config", writers[k],
                          {"last": str(i)})
                    except Exception:
                        return
                    state[k][0] = i
                    nxt[k] = i + 1
                    counts["ops"] += 1

            def reader():
                c = fx.XmlRpc(x.url, x.session)
                while not stop.is_set():
                    try:
                        c("VM.get_all_records")
                        counts["reads"] += 1
                    except Exception:
                        return

            def power():
                c = fx.XmlRpc(x.url, x.session)
                while not stop.is_set() and runnable:
                    try:
                        if c("VM.get_power_state", runnable[0]) == "Halted":
                            c("VM.start", runnable[0], False, False)
                        else:
                            c("VM.hard_shutdown", runnable[0])
                        counts["power"] += 1
                    except fx.XenAPIError:
                        time.sleep(0.05)  # opsd away, or a state race
                    except Exception:
                        return

            def events():
                c = fx.XmlRpc(x.url, x.session)
                token = ""
                while not stop.is_set():
                    try:
                        r = c("event.from", ["vm"], token, 1.0)
                        token = r["token"]
                        counts["events"] += len(r["events"])
                    except Exception:
                        return

            threads = [threading.Thread(target=writer, args=(k,))
                       for k in range(len(writers))]
            threads += [threading.Thread(target=f)
                        for f in (reader, power, events)]
            for t in threads:
                t.start()
            life = time.monotonic() + rng.uniform(5, 40)
            samples = []
            while time.monotonic() < min(life, end):
                time.sleep(1)
                rss, nthreads = fx.rss_threads(x.proc.pid)
                samples.append((rss, fx.fd_count(x.proc.pid), nthreads))
                for pid in fx.opsd_pids(opsd_dir):
                    try:
                        rss, nthreads = fx.rss_threads(pid)
                    except OSError:
                        continue
                    opsd.setdefault(pid, []).append(
                        (rss, fx.fd_count(pid), nthreads))
                    if rng.random() < 0.03:
                        os.kill(pid, 9)
                        counts["opsd_kills"] += 1
            if samples:
                lives.append(samples)
            x.kill()
            counts["xbtd_kills"] += 1
            stop.set()
            for t in threads:
                t.join(30)
            x.stop()
            x = d.xbtd()
            for k, m in enumerate(writers):
                nxt[k] = 1 + verify(x.api, m, state[k][0], state[k][1], k)
                state[k] = [nxt[k] - 1, nxt[k] - 1]
    finally:
        x.stop()
    rc, out = test_db.check(d.db)
    d.remove()
    print("soak: %s" % ", ".join("%s %d" % kv for kv in counts.items()))
    bad = []
    for n, s in enumerate(lives):
        first, last = s[min(2, len(s) - 1)], s[-1]
        print("  life %d: %d s, rss %d -> %d KiB, fds %s -> %s, threads "
              "%d -> %d" % (n, len(s), first[0], last[0], first[1], last[1],
                            first[2], last[2]))
        if last[1] is not None and first[1] is not None and \
                last[1] > first[1] + 20:
            bad.append("life %d: fds grew %d -> %d" % (n, first[1], last[1]))
        if last[2] > first[2] + 20:
            bad.append("life %d: threads grew %d -> %d"
                       % (n, first[2], last[2]))
    for pid, s in opsd.items():
        first, last = s[0], s[-1]
        print("  opsd %d: %d s, rss %d -> %d KiB, fds %s -> %s, threads "
              "%d -> %d" % (pid, len(s), first[0], last[0], first[1],
                            last[1], first[2], last[2]))
        if None not in (first[1], last[1]) and last[1] > first[1] + 20:
            bad.append("opsd %d: fds grew %d -> %d" % (pid, first[1], last[1]))
    if rc != 0:
        bad.append("--check: " + out)
    if bad:
        sys.exit("soak: FAIL: " + "; ".join(bad))
    print("soak: ok (database sound at the end)")


if __name__ == "__main__":
    main()
