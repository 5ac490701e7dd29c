#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""What pools cost and how fast they notice (doc/pools.md).

Two xbtd on 127.0.0.1 and .2, one port, short heartbeats (--heartbeat H,
--host-dead-after D). Every figure comes with its baseline from the same
run, since the machine is shared:

  redirect   a login on the slave (HOST_IS_SLAVE) against a login on the
             master, both on a kept connection, medians of L each: ratio;
  join       pool.join's answer against a login on the master (ratio),
             and the time until the restarted slave answers HOST_IS_SLAVE
             (a 1 s delay by design, then a start like the plain one);
  not live   R times: SIGKILL of the slave to host_metrics.live = false on
             the master (polled every 20 ms), against D: ratio (at least
             1 minus H/D, since the last heartbeat may precede the kill by
             up to H; the master looks once a second);
  live again the restarted slave's start to live = true, against the same
             plain start: ratio.

usage: bench_pool.py [--rounds R] [--logins L] [--heartbeat H]
       [--dead-after D]      (XBT_BUILDDIR: the build tree)
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_pools as tp  # noqa: E402


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def until(pred, timeout=60, step=0.02):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(step)


def answers(x):
    """Whether x answers a login at all (it may be restarting)."""
    try:
        return tp.login_outcome(x) is not None
    except OSError:
        return False


def login_time(x, n):
    c = fx.XmlRpc(x.url)
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        r = c.proxy.session.login_with_password("root", tp.PW, "1.0", "b")
        out.append(time.monotonic() - t0)
        if r["Status"] == "Success":
            c.proxy.session.logout(r["Value"])
    return statistics.median(out)


def plain_start(pool):
    """A standalone xbtd's start to its first answer (the baseline)."""
    t0 = time.monotonic()
    x = pool.add("hb", "127.0.0.3")
    until(lambda: answers(x))
    took = time.monotonic() - t0
    x.stop()
    pool.hosts.remove(x)
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--logins", type=int, default=200)
    ap.add_argument("--heartbeat", type=int, default=1)
    ap.add_argument("--dead-after", type=int, default=3)
    a = ap.parse_args()
    tp.POOL_ARGS[:] = ["--heartbeat", str(a.heartbeat),
                       "--host-dead-after", str(a.dead_after),
                       "--log-level", "error"]
    pool = tp.Pool(["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    try:
        master, slave = pool.start([("h1", tp.MASTER, []),
                                    ("h2", "127.0.0.2", [])])
        base_start = plain_start(pool)
        t_join = timed(lambda: slave.api("pool.join", tp.MASTER, "root",
                                         tp.PW))
        t0 = time.monotonic()
        until(lambda: answers(slave) and
              tp.login_outcome(slave) == ["HOST_IS_SLAVE", tp.MASTER])
        t_slave = time.monotonic() - t0
        slave.session = slave.api = None
        login_master = login_time(master, a.logins)
        login_slave = login_time(slave, a.logins)
        dead, back, starts = [], [], []
        for _ in range(a.rounds):
            until(lambda: tp.live(master, "h2") is True)
            time.sleep(a.heartbeat * 1.5)
            slave.kill()
            t0 = time.monotonic()
            until(lambda: tp.live(master, "h2") is False)
            dead.append(time.monotonic() - t0)
            starts.append(plain_start(pool))
            pool.hosts.remove(slave)
            slave.stop()
            t0 = time.monotonic()
            slave = pool.add("h2", "127.0.0.2")
            until(lambda: tp.live(master, "h2") is True)
            back.append(time.monotonic() - t0)
        base = statistics.median(starts + [base_start])
        print("pool bench (--heartbeat %d --host-dead-after %d, %d rounds)"
              % (a.heartbeat, a.dead_after, a.rounds))
        print("  redirect: login on the slave %.3f ms, on the master %.3f ms"
              " (median of %d): ratio %.2f"
              % (login_slave * 1e3, login_master * 1e3, a.logins,
                 login_slave / login_master))
        print("  join: answer %.1f ms (%.0f logins on the master); the "
              "slave serves %.0f ms later: the restart is due %d s after "
              "the answer, on the once-a-second tick, then a start (a "
              "plain start: %.0f ms)"
              % (t_join * 1e3, t_join / login_master, t_slave * 1e3,
                 1, base * 1e3))
        print("  not live after SIGKILL: %s s against --host-dead-after %d:"
              " ratio %.2f (median)"
              % (", ".join("%.2f" % d for d in dead), a.dead_after,
                 statistics.median(dead) / a.dead_after))
        print("  live again after a restart: %s s; a plain start %.0f ms:"
              " ratio %.2f (median)"
              % (", ".join("%.2f" % b for b in back), base * 1e3,
                 statistics.median(back) / base))
    finally:
        pool.stop()


if __name__ == "__main__":
    main()
