#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Events against a real xbtd: event.from (tokens, classes, timeouts, exact
events of VM.start), event.inject, the legacy event.register/next/unregister,
JSON-RPC, and the bounds (history, subscriptions, replies)."""

import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import JsonRpc, RawClient, XmlRpc, decode  # noqa: E402

HISTORY = 64
TOKEN_RE = re.compile(r"^[0-9]{20},[0-9]{20}$")


def token_id(token):
    return int(token.split(",")[0])


def read_until(c, classes, token, done, timeout=10.0):
    """event.from until done(events so far) holds; returns (events, token)."""
    events = []
    deadline = time.monotonic() + timeout
    while not done(events):
        left = deadline - time.monotonic()
        assert left > 0, "timed out; events so far: %s" % summary(events)
        r = c("event.from", list(classes), token, min(left, 5.0))
        events += r["events"]
        token = r["token"]
    return events, token


def split_progress(evs, task, at):
    """Takes the task's pending-progress events out of evs from index at:
    (the other events, the progress values in order)."""
    rest, progress = evs[:at], []
    for e in evs[at:]:
        snap = e.get("snapshot", {})
        if (e["class"], e["ref"], e["operation"]) == ("task", task, "mod") \
                and snap.get("status") == "pending":
            progress.append(float(snap["progress"]))
        else:
            rest.append(e)
    return rest, progress


def xmlrpc_time(v):
    """Seconds since the epoch of a XenAPI datetime (either protocol)."""
    import calendar
    text = v.value if hasattr(v, "value") else str(v)
    return calendar.timegm(time.strptime(text[:17].replace("-", ""),
                                         "%Y%m%dT%H:%M:%S"))


def summary(events):
    return [(e["class"], e["operation"], e["ref"]) for e in events]


def task_done(ref):
    def done(events):
        return any(e["class"] == "task" and e["ref"] == ref and
                   e.get("snapshot", {}).get("status") in
                   ("success", "failure", "cancelled") for e in events)
    return done


def event_from(proto, session, classes, token, timeout):
    """The bytes of one HTTP/1.1 event.from request."""
    return fx.http_request(proto, "event.from",
                           [session, list(classes), token, float(timeout)])


class Events(fx.XbtdTestCase):
    """One xbtd with a short history shared by the tests; a few start
    their own."""

    xbtd_args = ("--event-history", str(HISTORY))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = cls.xbtd.api
        cls.vms = {cls.c("VM.get_name_label", r): r
                   for r in cls.c("VM.get_all")}
        cls.vm_ok = cls.vms["demo-ok"]
        cls.vm_fail = cls.vms["demo-fail"]
        cls.pool = cls.c("pool.get_all")[0]
        cls.host = cls.c("host.get_all")[0]

    @classmethod
    def tearDownClass(cls):
        # The shared server stops with status 0, no sanitizer report, fast.
        took, _err = cls.xbtd.stop()
        cls.xbtd = None
        assert took < 5, took

    def token_of(self):
        """A token just before a fresh event.inject on the pool."""
        return self.c("event.inject", "pool", self.pool)

    def fails(self, desc, fn, *args):
        """fn(*args) fails with exactly desc ([code, params...])."""
        self.assertEqual(fx.fails(fn, *args), desc)

    # ---- event.from: shape, tokens, everything ------------------------------

    def test_empty_token_returns_every_object_as_add(self):
        r = self.c("event.from", ["vm"], "", 0.0)
        assert set(r) == {"events", "valid_ref_counts", "token"}, r.keys()
        assert TOKEN_RE.match(r["token"]), r["token"]
        assert token_id(r["token"]) > 0
        evs = r["events"]
        assert sorted(e["ref"] for e in evs) == sorted(self.vms.values())
        for e in evs:
            assert set(e) == {"id", "timestamp", "class", "operation", "ref",
                              "snapshot"}, e.keys()
            assert e["class"] == "vm" and e["operation"] == "add"
            assert e["id"] == str(token_id(r["token"]))
            assert e["snapshot"] == self.c("VM.get_record", e["ref"])
            assert re.match(r"^[0-9]+\.[0-9]{6}$", e["timestamp"]), e
        # Only the classes asked for; an object subscription narrows further.
        r = self.c("event.from", ["vm/" + self.vm_ok, "pool"], "", 0.0)
        assert sorted(summary(r["events"])) == sorted(
            [("vm", "add", self.vm_ok), ("pool", "add", self.pool)])

    def test_history_after_start_equals_records(self):
        # Right after start, the last event of every object carries what
        # get_record says: the world loader's links and defaults included
        # (doc/design.md, "Store and events").
        with fx.Xbtd() as srv:
            c = srv.api
            r = c("event.from", ["*"], "0,0", 1.0)
            last = {}
            for e in r["events"]:
                assert e["operation"] in ("add", "mod"), e
                last[(e["class"], e["ref"])] = e["snapshot"]
            seen = 0
            for cls in ["pool", "host", "host_metrics", "host_cpu", "SR",
                        "PBD", "VDI", "VBD", "VM", "VM_metrics", "network",
                        "VIF", "PIF"]:
                records = c(cls + ".get_all_records")
                assert records, cls
                for ref, rec in records.items():
                    assert last[(cls.lower(), ref)] == rec, (cls, ref)
                    seen += 1
            assert seen == len(last), (seen, len(last))

    def test_vm_start_exact_events(self):
        vbds = self.c("VM.get_VBDs", self.vm_ok)
        nd = len(vbds)
        assert nd >= 1
        token = self.token_of()
        task = self.c("Async.VM.start", self.vm_ok, False, False)
        evs, token = read_until(self.c, ["*"], token, task_done(task))
        # the inject
        assert evs[0]["class"] == "pool" and evs[0]["ref"] == self.pool
        evs = evs[1:]
        # One event per object changed in a locked section, in the order of
        # their first change (doc/design.md, "Store and events").
        # Progress comes from xbt-opsd (doc/opsd.md): one event per value
        # xbtd read, rising; how many depends on how opsd's changes were
        # batched, so they are taken out before the exact comparison.
        evs, progress = split_progress(evs, task, 2)
        # VM.start marks its VBDs `attach` while it runs, as xapi does
        # (doc/design.md, "Storage operations"), and unmarks them at its end.
        # At its end the VM's neighbours follow it (doc/design.md, "The
        # VM's neighbourhood"): metrics, a console and guest metrics made,
        # its VIFs attached.
        vifs = self.c("VM.get_VIFs", self.vm_ok)
        assert len(vifs) == 1
        metrics = self.c("VM.get_metrics", self.vm_ok)
        made = [(cls, op) for cls, op, _ in summary(evs)
                if op == "add" and cls != "task"]
        assert made == [("console", "add"), ("vm_guest_metrics", "add")], made
        added = {cls: ref for cls, op, ref in summary(evs) if op == "add"}
        want = ([("task", "add", task), ("vm", "mod", self.vm_ok)] +
                [("vbd", "mod", b) for b in vbds] +
                [("vm", "mod", self.vm_ok)] +
                [("vbd", "mod", b) for b in vbds] +
                [("host", "mod", self.host),
                 ("vm_metrics", "mod", metrics),
                 ("console", "add", added["console"]),
                 ("vm_guest_metrics", "add", added["vm_guest_metrics"])] +
                [("vif", "mod", v) for v in vifs] +
                [("task", "mod", task)])
        assert summary(evs) == want, summary(evs)
        assert progress == sorted(set(progress)), progress
        assert all(0 < p < 1 for p in progress), progress
        ids = [int(e["id"]) for e in evs]
        assert token_id(token) == ids[-1]
        ts = [float(e["timestamp"]) for e in evs]
        assert ts == sorted(ts) and abs(ts[-1] - time.time()) < 60
        s = [e["snapshot"] for e in evs]
        assert s[0]["status"] == "pending"
        assert s[1]["power_state"] == "Halted"
        assert s[1]["current_operations"] == {task: "start"}
        assert s[1]["allowed_operations"] == []
        for i in range(nd):
            assert s[2 + i]["current_operations"] == {task: "attach"}
            assert s[2 + i]["allowed_operations"] == []
        vm = s[2 + nd]
        for i in range(nd):
            assert s[3 + nd + i]["currently_attached"] is True
            assert s[3 + nd + i]["current_operations"] == {}
            assert s[3 + nd + i]["allowed_operations"] == ["attach"]
        assert self.vm_ok in s[3 + 2 * nd]["resident_VMs"]
        assert vm["power_state"] == "Running"
        assert vm["current_operations"] == {}
        assert vm["resident_on"] == self.host
        assert sorted(vm["allowed_operations"]) == [
            "clean_reboot", "clean_shutdown", "hard_reboot", "hard_shutdown",
            "pause", "suspend"]
        assert vm == self.c("VM.get_record", self.vm_ok)
        assert vm["guest_metrics"] == added["vm_guest_metrics"]
        assert vm["consoles"] == [added["console"]]
        m = s[4 + 2 * nd]
        assert abs(xmlrpc_time(m["start_time"]) - time.time()) < 60, m
        assert int(m["memory_actual"]) == int(vm["memory_dynamic_max"])
        console = s[5 + 2 * nd]
        assert console["VM"] == self.vm_ok and console["protocol"] == "rfb"
        g = s[6 + 2 * nd]
        assert sorted(g["networks"]) == ["0/ip", "0/ipv4/0"], g
        assert g["live"] is True
        assert s[7 + 2 * nd]["currently_attached"] is True
        assert s[-1]["status"] == "success"
        assert float(s[-1]["progress"]) == 1.0
        assert s[-1] == self.c("task.get_record", task)
        # Destroying the task: a "del" event without a snapshot.
        self.c("task.destroy", task)
        r = self.c("event.from", ["task"], token, 5.0)
        assert summary(r["events"]) == [("task", "del", task)]
        assert "snapshot" not in r["events"][0]
        assert int(r["events"][0]["id"]) == ids[-1] + 1
        # Without the progress events the ids run on by one.
        assert ids == sorted(ids), ids
        self.c("VM.hard_shutdown", self.vm_ok)

    def test_vm_start_failure_exact_events(self):
        token = self.token_of()
        task = self.c("Async.VM.start", self.vm_fail, False, False)
        evs, token = read_until(self.c, ["vm", "task", "vbd", "host"], token,
                                task_done(task))
        # demo-fail's boot disk comes up, its data disk fails, the boot disk
        # is undone: the VBDs are marked `attach` and unmarked, no host
        # changes, the VM stays halted.
        vm = self.vm_fail
        vbds = self.c("VM.get_VBDs", vm)
        nd = len(vbds)
        evs, progress = split_progress(evs, task, 2)
        assert summary(evs) == ([("task", "add", task), ("vm", "mod", vm)] +
                                [("vbd", "mod", b) for b in vbds] +
                                [("vm", "mod", vm)] +
                                [("vbd", "mod", b) for b in vbds] +
                                [("task", "mod", task)]), summary(evs)
        # The boot disk's two steps were done when the data disk failed.
        assert progress == sorted(set(progress)), progress
        assert all(0 < p <= 2 / 5 + 1e-9 for p in progress), progress
        s = [e["snapshot"] for e in evs]
        assert s[1]["current_operations"] == {task: "start"}
        assert s[2 + nd]["power_state"] == "Halted"
        assert s[2 + nd]["current_operations"] == {}
        assert s[2 + nd]["allowed_operations"] == ["start"]
        for i in range(nd):
            assert s[3 + nd + i]["current_operations"] == {}
            assert s[3 + nd + i]["currently_attached"] is False
        assert s[-1]["status"] == "failure"
        # FAILSR's error for the data disk (server/plugins/FAILSR).
        data_vdi = self.c("VBD.get_VDI", self.c("VM.get_VBDs", vm)[1])
        assert s[-1]["error_info"] == [
            "SR_BACKEND_FAILURE_46", "",
            "The VDI is not available [opterr=/dev/xbt-fail/%s is locked by "
            "another host]" % self.c("VDI.get_uuid", data_vdi), ""], \
            s[-1]["error_info"]
        self.c("task.destroy", task)

    def test_every_class_change_is_an_event(self):
        for cls in ["VM", "VBD", "VDI", "SR", "PBD", "host", "pool"]:
            ref = self.c(cls + ".get_all")[0]
            token = self.token_of()
            self.c(cls + ".add_to_other_config", ref, "xbt-events", "1")
            self.c(cls + ".remove_from_other_config", ref, "xbt-events")
            r = self.c("event.from", [cls], token, 5.0)
            evs = [e for e in r["events"] if not (cls == "pool" and
                   e["id"] == str(token_id(token) + 1))]  # the inject
            assert summary(evs) == [(cls.lower(), "mod", ref)] * 2, (cls, evs)
            assert evs[0]["snapshot"]["other_config"]["xbt-events"] == "1"
            assert "xbt-events" not in evs[1]["snapshot"]["other_config"]
        # Tasks: add, mod, del.
        token = self.token_of()
        t = self.c("task.create", "events", "test")
        self.c("task.set_status", t, "success")
        self.c("task.destroy", t)
        r = self.c("event.from", ["task"], token, 5.0)
        assert summary(r["events"]) == [("task", "add", t), ("task", "mod", t),
                                        ("task", "del", t)]
        assert r["events"][1]["snapshot"]["status"] == "success"

    def test_sessions_are_not_events(self):
        token = self.token_of()
        other = XmlRpc(self.xbtd.url)
        other.login()
        other.raw("session.logout", other.session)
        r = self.c("event.from", ["*"], token, 0.2)
        # the inject
        assert summary(r["events"]) == [("pool", "mod", self.pool)]
        assert "session" not in r["valid_ref_counts"]
        r = self.c("event.from", ["session"], "", 0.0)
        assert r["events"] == []

    # ---- timeouts and wake-ups ----------------------------------------------

    def test_timeout_is_honoured_within_50ms(self):
        token = self.c("event.from", ["vm"], "", 0.0)["token"]
        for timeout in (0.0, 0.3, 1.0):
            t0 = time.monotonic()
            r = self.c("event.from", ["vm"], token, timeout)
            took = time.monotonic() - t0
            assert timeout <= took <= timeout + 0.05, (timeout, took)
            assert r["events"] == []
            assert TOKEN_RE.match(r["token"])
            assert token_id(r["token"]) >= token_id(token)
        # Negative means now.
        t0 = time.monotonic()
        r = self.c("event.from", ["vm"], token, -5.0)
        assert time.monotonic() - t0 < 0.05 and r["events"] == []
        # Changes to other classes do not end the wait early.
        t0 = time.monotonic()
        threading.Timer(0.1, lambda: XmlRpc(self.xbtd.url, self.c.session)(
            "pool.add_to_other_config", self.pool, "xbt-wait", "1")).start()
        r = self.c("event.from", ["vm"], token, 0.5)
        took = time.monotonic() - t0
        assert r["events"] == [] and 0.5 <= took <= 0.55, took
        assert token_id(r["token"]) > token_id(token)  # it moved past the pool
        self.c("pool.remove_from_other_config", self.pool, "xbt-wait")

    def test_waiter_wakes_on_change(self):
        # Past the injected event.
        token = self.c("event.from", ["pool"], self.token_of(), 0.0)["token"]
        out = {}

        def wait():
            c = XmlRpc(self.xbtd.url, self.c.session)
            out["r"] = c("event.from", ["pool"], token, 10.0)
            out["t"] = time.monotonic()

        th = threading.Thread(target=wait)
        th.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        self.c("pool.add_to_other_config", self.pool, "xbt-wake", "yes")
        th.join(10)
        assert "r" in out
        assert out["t"] - t0 < 0.1, out["t"] - t0
        evs = out["r"]["events"]
        assert summary(evs) == [("pool", "mod", self.pool)]
        assert evs[0]["snapshot"]["other_config"]["xbt-wake"] == "yes"
        self.c("pool.remove_from_other_config", self.pool, "xbt-wake")

    def test_many_waiters_all_wake(self):
        token = self.c("event.from", ["task"], "", 0.0)["token"]
        results = []
        lock = threading.Lock()

        def wait():
            c = XmlRpc(self.xbtd.url, self.c.session)
            r = c("event.from", ["task"], token, 10.0)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=wait) for _ in range(20)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        task = self.c("task.create", "wake", "")
        for t in threads:
            t.join(10)
        assert len(results) == 20
        for r in results:
            assert summary(r["events"]) == [("task", "add", task)]
            assert r["events"][0]["snapshot"]["name_label"] == "wake"
        self.c("task.destroy", task)

    def test_200_waiters_and_the_server_still_answers(self):
        # Each waiting call holds its connection's thread, as any keep-alive
        # connection does (xbtd serves 256 connections): 200 waiters leave
        # room for other clients, and one change wakes them all.
        token = self.c("event.from", ["task"], "", 0.0)["token"]
        waiters = []
        try:
            for i in range(200):
                w = RawClient(self.xbtd.port)
                w.sock.sendall(event_from("xmlrpc" if i % 2 else "jsonrpc",
                                       self.c.session, ["task"], token, 20.0))
                waiters.append(w)
            time.sleep(0.5)
            t0 = time.monotonic()
            other = XmlRpc(self.xbtd.url)
            other.login()
            assert other("pool.get_all") == [self.pool]
            assert time.monotonic() - t0 < 1.0
            task = self.c("task.create", "two hundred", "")
            for i, w in enumerate(waiters):
                r = decode("xmlrpc" if i % 2 else "jsonrpc",
                           w.read_response(10))
                assert summary(r["events"]) == [("task", "add", task)], i
            assert time.monotonic() - t0 < 5.0
            other.raw("session.logout", other.session)
            self.c("task.destroy", task)
        finally:
            for w in waiters:
                w.sock.close()

    def test_logout_ends_a_wait_with_session_invalid(self):
        other = XmlRpc(self.xbtd.url)
        s = other.login()
        out = {}

        def wait(method, args):
            c = XmlRpc(self.xbtd.url, s)
            try:
                c(method, *args)
                out[method] = "returned"
            except fx.XenAPIError as e:
                out[method] = (e.code, e.params, time.monotonic())

        other("event.register", ["pool"])
        token = other("event.from", ["vm"], "", 0.0)["token"]
        ths = [threading.Thread(target=wait, args=("event.from",
                                                   (["vm"], token, 30.0))),
               threading.Thread(target=wait, args=("event.next", ()))]
        for t in ths:
            t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        other.raw("session.logout", s)
        for t in ths:
            t.join(10)
        for m in ("event.from", "event.next"):
            code, params, when = out[m]
            assert (code, params) == ("SESSION_INVALID", [s]), out[m]
            assert when - t0 < 0.5, (m, when - t0)

    # ---- classes, tokens, errors --------------------------------------------

    def test_class_names_and_object_subscriptions(self):
        token = self.token_of()
        self.c("VM.set_name_description", self.vm_ok, "ok1")
        self.c("VM.set_name_description", self.vm_fail, "fail1")
        self.c("SR.set_name_description", self.c("SR.get_all")[0], "sr1")
        for classes, want in [
                (["VM"], [self.vm_ok, self.vm_fail]),
                (["vm"], [self.vm_ok, self.vm_fail]),
                (["vm/" + self.vm_fail], [self.vm_fail]),
                (["VM/" + self.vm_ok, "vm/" + self.vm_ok], [self.vm_ok]),
                (["nosuchclass", "vm/OpaqueRef:nope", "", "/", "vm/",
                  "session"], [])]:
            r = self.c("event.from", classes, token, 0.1)
            got = [e["ref"] for e in r["events"] if e["class"] == "vm"]
            assert got == want, (classes, got)
            assert all(e["class"] == "vm" for e in r["events"]), classes
        r = self.c("event.from", ["*"], token, 0.1)
        assert [e["class"] for e in r["events"]] == ["pool", "vm", "vm", "sr"]
        self.c("VM.set_name_description", self.vm_ok, "Starts fine")
        self.c("VM.set_name_description", self.vm_fail,
               "Its data disk's plugin fails")

    def test_bad_tokens(self):
        for bad in ["garbage", "12", "1,x", "-1,0", "1,", ",1", "1,2,3",
                    "99999999999999999999,0", " 1,0"]:
            self.fails(["EVENT_FROM_TOKEN_PARSE_FAILURE", bad],
                       self.c, "event.from", ["vm"], bad, 0.0)

    def test_events_lost(self):
        token = self.token_of()
        for i in range(HISTORY + 2):
            self.c("VM.set_name_description", self.vm_ok, "n%d" % i)
        self.fails(["EVENTS_LOST"], self.c, "event.from", ["vm"], token, 0.0)
        # A token from the future (another xbtd, a restart) is lost too.
        now = token_id(self.c("event.from", ["vm"], "", 0.0)["token"])
        future = "%020d,%020d" % (now + 1000, 0)
        self.fails(["EVENTS_LOST"], self.c, "event.from", ["vm"], future, 0.0)
        # The oldest event still held is served.
        oldest = "%020d,%020d" % (now - HISTORY, 0)
        r = self.c("event.from", ["vm"], oldest, 0.0)
        assert len(r["events"]) == HISTORY
        self.c("VM.set_name_description", self.vm_ok, "Starts fine")

    def test_inject(self):
        before = token_id(self.c("event.from", ["pool"], "", 0.0)["token"])
        token = self.c("event.inject", "pool", self.pool)
        assert TOKEN_RE.match(token) and token_id(token) == before
        r = self.c("event.from", ["pool"], token, 1.0)
        assert summary(r["events"]) == [("pool", "mod", self.pool)]
        assert r["events"][0]["id"] == str(before + 1)
        assert r["events"][0]["snapshot"] == self.c("pool.get_record",
                                                    self.pool)
        # class names: any case
        token = self.c("event.inject", "VM", self.vm_ok)
        r = self.c("event.from", ["vm"], token, 1.0)
        assert summary(r["events"]) == [("vm", "mod", self.vm_ok)]
        self.fails(["HANDLE_INVALID", "VM", "OpaqueRef:nope"],
                   self.c, "event.inject", "VM", "OpaqueRef:nope")
        self.fails(["HANDLE_INVALID", "VM", self.pool],
                   self.c, "event.inject", "VM", self.pool)
        self.fails(["HANDLE_INVALID", "nosuch", self.vm_ok],
                   self.c, "event.inject", "nosuch", self.vm_ok)

    def test_valid_ref_counts(self):
        r = self.c("event.from", ["vm"], "", 0.0)
        counts = r["valid_ref_counts"]
        for cls in ["VM", "VBD", "VDI", "SR", "PBD", "host", "pool", "task"]:
            n = counts[cls.lower()]
            assert type(n) is int, (cls, n)  # <i4> on XML-RPC, as xapi
            assert n == len(self.c(cls + ".get_all")), (cls, n)
        # They follow the token: one more task after an add.
        t = self.c("task.create", "count", "")
        r2 = self.c("event.from", ["task"], r["token"], 1.0)
        assert r2["valid_ref_counts"]["task"] == counts["task"] + 1
        self.c("task.destroy", t)
        r3 = self.c("event.from", ["task"], r2["token"], 1.0)
        assert r3["valid_ref_counts"]["task"] == counts["task"]

    def test_subscription_bounds(self):
        self.fails(["EVENT_SUBSCRIPTION_PARSE_FAILURE",
                    "more than 1024 subscriptions"],
                   self.c, "event.from", ["vm"] * 1025, "", 0.0)
        r = self.c("event.from", ["vm"] * 1024, "", 0.0)
        assert len(r["events"]) == len(self.vms)
        self.fails(["EVENT_SUBSCRIPTION_PARSE_FAILURE",
                    "subscription 0: longer than 256 bytes or has NUL"],
                   self.c, "event.from", ["v" * 257], "", 0.0)

    # ---- legacy: register / next / unregister -------------------------------

    def test_legacy_register_next_unregister(self):
        c = XmlRpc(self.xbtd.url)
        s = c.login()
        self.fails(["SESSION_NOT_REGISTERED", s], c, "event.next")
        c("event.register", ["pool"])
        self.c("pool.add_to_other_config", self.pool, "xbt-next", "1")
        evs = c("event.next")
        assert summary(evs) == [("pool", "mod", self.pool)]
        assert evs[0]["snapshot"]["other_config"]["xbt-next"] == "1"
        c("event.unregister", ["pool"])
        c("event.register", ["VM"])
        self.c("pool.remove_from_other_config", self.pool, "xbt-next")
        self.c("VM.set_name_description", self.vm_ok, "legacy")
        evs = c("event.next")
        assert summary(evs) == [("vm", "mod", self.vm_ok)]
        assert evs[0]["snapshot"]["name_description"] == "legacy"
        # next blocks until something matches.
        out = {}
        th = threading.Thread(target=lambda: out.setdefault(
            "r", XmlRpc(self.xbtd.url, s)("event.next")))
        th.start()
        time.sleep(0.3)
        assert "r" not in out
        self.c("VM.set_name_description", self.vm_ok, "Starts fine")
        th.join(10)
        assert summary(out["r"]) == [("vm", "mod", self.vm_ok)]
        # Lost events: an error once, then the session goes on.
        for i in range(HISTORY + 2):
            self.c("VM.set_name_description", self.vm_fail, "n%d" % i)
        self.fails(["EVENTS_LOST"], c, "event.next")
        self.c("VM.set_name_description", self.vm_fail,
               "Its data disk's plugin fails")
        evs = c("event.next")
        assert summary(evs) == [("vm", "mod", self.vm_fail)]
        c.raw("session.logout", s)

    # ---- JSON-RPC -----------------------------------------------------------

    def test_jsonrpc_event_from(self):
        j = JsonRpc(self.xbtd.url, self.c.session)  # a session works on both
        st, ctype, r = j.post(json.dumps({
            "jsonrpc": "2.0", "method": "event.from", "id": 7,
            "params": [self.c.session, ["vm"], "", 0]}))  # an integer timeout
        assert st == 200 and ctype == "application/json", (st, ctype)
        assert r["jsonrpc"] == "2.0" and r["id"] == 7, r
        res = r["result"]
        assert TOKEN_RE.match(res["token"])
        assert sorted(e["ref"] for e in res["events"]) == \
            sorted(self.vms.values())
        assert all(type(v) is int for v in res["valid_ref_counts"].values())
        snap = [e for e in res["events"]
                if e["ref"] == self.vm_ok][0]["snapshot"]
        assert type(snap["memory_static_max"]) is int, \
            snap["memory_static_max"]
        # Errors, v2 and v1.
        st, ctype, r = j.post(json.dumps({
            "jsonrpc": "2.0", "method": "event.from", "id": 8,
            "params": [self.c.session, ["vm"], "bad", 0.0]}))
        assert r["error"]["message"] == "EVENT_FROM_TOKEN_PARSE_FAILURE", r
        assert r["error"]["data"] == ["bad"], r
        st, ctype, r = j.post(json.dumps({
            "method": "event.from", "id": 9,
            "params": [self.c.session, ["vm"], "bad", 0.0]}))
        assert r["error"] == ["EVENT_FROM_TOKEN_PARSE_FAILURE", "bad"], r
        assert r["id"] == 9
        # A wait on JSON-RPC wakes on a change made over XML-RPC.
        token = j("event.inject", "pool", self.pool)
        res = j("event.from", ["pool"], token, 2.5)
        assert summary(res["events"]) == [("pool", "mod", self.pool)]
        out = {}
        th = threading.Thread(target=lambda: out.setdefault("r", JsonRpc(
            self.xbtd.url, self.c.session, v2=False)("event.from", ["vm"],
                                              res["token"], 10.0)))
        th.start()
        time.sleep(0.2)
        self.c("VM.set_name_description", self.vm_ok, "json")
        th.join(10)
        assert summary(out["r"]["events"]) == [("vm", "mod", self.vm_ok)]
        assert out["r"]["events"][0]["snapshot"]["name_description"] == "json"
        self.c("VM.set_name_description", self.vm_ok, "Starts fine")

    # ---- bounds that need their own xbtd ------------------------------------

    def test_reply_holds_at_most_1000_events(self):
        with fx.Xbtd(["--event-history", "2000"]) as srv:
            c = srv.api
            vm = c("VM.get_all")[0]
            token = c("event.from", ["vm"], "", 0.0)["token"]
            for i in range(1100):
                c("VM.set_name_description", vm, "d%d" % i)
            r = c("event.from", ["vm"], token, 0.0)
            assert len(r["events"]) == 1000
            assert token_id(r["token"]) == token_id(token) + 1000
            assert r["events"][-1]["snapshot"]["name_description"] == "d999"
            r = c("event.from", ["vm"], r["token"], 0.0)
            assert len(r["events"]) == 100
            assert r["events"][-1]["snapshot"]["name_description"] == "d1099"

    def test_shutdown_wakes_waiters(self):
        srv = fx.Xbtd().start()
        c = srv.api
        token = c("event.from", ["vm"], "", 0.0)["token"]
        out = {}

        def wait():
            try:
                out["r"] = XmlRpc(srv.url, c.session)(
                    "event.from", ["vm"], token, 60.0)
            except Exception as e:  # the connection may close first
                out["r"] = e

        th = threading.Thread(target=wait)
        th.start()
        time.sleep(0.3)
        took, err = srv.stop()  # status 0, no sanitizer report
        th.join(10)
        assert took < 5, took
        assert "r" in out
        assert "appending took" in err, err[-2000:]


if __name__ == "__main__":
    fx.run()
