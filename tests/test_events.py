#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Events against a real xbtd: event.from (tokens, classes, timeouts, exact
events of VM.start), event.inject, the legacy event.register/next/unregister,
JSON-RPC, and the bounds (history, subscriptions, replies)."""

import json
import re
import sys
import threading
import time

from events_lib import (TOKEN_RE, JsonRpc, RawClient, XenAPIError, XmlRpc,
                        Xbtd, decode, expect_error, request, run, test)

HISTORY = 64


class Ctx:
    pass


def setup():
    k = Ctx()
    k.srv = Xbtd("--event-history", str(HISTORY))
    k.c = XmlRpc(k.srv.url)
    k.c.login()
    k.vm = {k.c("VM.get_name_label", r): r for r in k.c("VM.get_all")}
    k.ok = k.vm["demo-ok"]
    k.fail = k.vm["demo-fail"]
    k.pool = k.c("pool.get_all")[0]
    k.host = k.c("host.get_all")[0]
    return k


def teardown(k):
    k.srv.stop()


def token_of(k):
    """A token just before a fresh event.inject on the pool."""
    return k.c("event.inject", "pool", k.pool)


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


def summary(events):
    return [(e["class"], e["operation"], e["ref"]) for e in events]


def task_done(ref):
    def done(events):
        return any(e["class"] == "task" and e["ref"] == ref and
                   e.get("snapshot", {}).get("status") in
                   ("success", "failure", "cancelled") for e in events)
    return done


# ---- event.from: shape, tokens, everything -----------------------------------

@test
def test_empty_token_returns_every_object_as_add(k):
    r = k.c("event.from", ["vm"], "", 0.0)
    assert set(r) == {"events", "valid_ref_counts", "token"}, r.keys()
    assert TOKEN_RE.match(r["token"]), r["token"]
    assert token_id(r["token"]) > 0
    evs = r["events"]
    assert sorted(e["ref"] for e in evs) == sorted(k.vm.values())
    for e in evs:
        assert set(e) == {"id", "timestamp", "class", "operation", "ref",
                          "snapshot"}, e.keys()
        assert e["class"] == "vm" and e["operation"] == "add"
        assert e["id"] == str(token_id(r["token"]))
        assert e["snapshot"] == k.c("VM.get_record", e["ref"])
        assert re.match(r"^[0-9]+\.[0-9]{6}$", e["timestamp"]), e
    # Only the classes asked for; an object subscription narrows further.
    r = k.c("event.from", ["vm/" + k.ok, "pool"], "", 0.0)
    assert sorted(summary(r["events"])) == sorted(
        [("vm", "add", k.ok), ("pool", "add", k.pool)])


@test
def test_history_after_start_equals_records(k):
    # Right after start, the last event of every object carries what
    # get_record says: the world loader's links and defaults included
    # (doc/design.md, "Store and events").
    srv = Xbtd()
    try:
        c = XmlRpc(srv.url)
        c.login()
        r = c("event.from", ["*"], "0,0", 1.0)
        last = {}
        for e in r["events"]:
            assert e["operation"] in ("add", "mod"), e
            last[(e["class"], e["ref"])] = e["snapshot"]
        seen = 0
        for cls in ["pool", "host", "SR", "PBD", "VDI", "VBD", "VM"]:
            records = c(cls + ".get_all_records")
            assert records, cls
            for ref, rec in records.items():
                assert last[(cls.lower(), ref)] == rec, (cls, ref)
                seen += 1
        assert seen == len(last), (seen, len(last))
    finally:
        srv.stop()


@test
def test_vm_start_exact_events(k):
    vbds = k.c("VM.get_VBDs", k.ok)
    nd = len(vbds)
    assert nd >= 1
    token = token_of(k)
    task = k.c("Async.VM.start", k.ok, False, False)
    evs, token = read_until(k.c, ["*"], token, task_done(task))
    assert evs[0]["class"] == "pool" and evs[0]["ref"] == k.pool  # inject
    evs = evs[1:]
    # One event per object changed in a locked section, in the order of
    # their first change (doc/design.md, "Store and events").
    want = ([("task", "add", task), ("vm", "mod", k.ok)] +
            [("task", "mod", task)] * nd +
            [("vm", "mod", k.ok)] +
            [("vbd", "mod", b) for b in vbds] +
            [("host", "mod", k.host), ("task", "mod", task)])
    assert summary(evs) == want, summary(evs)
    ids = [int(e["id"]) for e in evs]
    assert ids == list(range(ids[0], ids[0] + len(ids))), ids
    assert token_id(token) == ids[-1]
    ts = [float(e["timestamp"]) for e in evs]
    assert ts == sorted(ts) and abs(ts[-1] - time.time()) < 60
    s = [e["snapshot"] for e in evs]
    assert s[0]["status"] == "pending"
    assert s[1]["power_state"] == "Halted"
    assert s[1]["current_operations"] == {task: "start"}
    assert s[1]["allowed_operations"] == []
    for i in range(nd):
        assert abs(float(s[2 + i]["progress"]) - (i + 1) / (nd + 1)) < 1e-6
        assert s[2 + i]["status"] == "pending"
    vm = s[2 + nd]
    for i in range(nd):
        assert s[3 + nd + i]["currently_attached"] is True
    assert k.ok in s[3 + 2 * nd]["resident_VMs"]
    assert vm["power_state"] == "Running"
    assert vm["current_operations"] == {}
    assert vm["resident_on"] == k.host
    assert sorted(vm["allowed_operations"]) == ["clean_shutdown",
                                                "hard_shutdown"]
    assert vm == k.c("VM.get_record", k.ok)
    assert s[-1]["status"] == "success"
    assert float(s[-1]["progress"]) == 1.0
    assert s[-1] == k.c("task.get_record", task)
    # Destroying the task: a "del" event without a snapshot.
    k.c("task.destroy", task)
    r = k.c("event.from", ["task"], token, 5.0)
    assert summary(r["events"]) == [("task", "del", task)]
    assert "snapshot" not in r["events"][0]
    assert int(r["events"][0]["id"]) == ids[-1] + 1
    k.c("VM.hard_shutdown", k.ok)


@test
def test_vm_start_failure_exact_events(k):
    token = token_of(k)
    task = k.c("Async.VM.start", k.fail, False, False)
    evs, token = read_until(k.c, ["vm", "task", "vbd", "host"], token,
                            task_done(task))
    # demo-fail's boot disk comes up, its data disk fails, the boot disk
    # is undone: no VBD or host changes, the VM stays halted.
    assert summary(evs) == [("task", "add", task), ("vm", "mod", k.fail),
                            ("task", "mod", task), ("vm", "mod", k.fail),
                            ("task", "mod", task)], summary(evs)
    s = [e["snapshot"] for e in evs]
    assert s[1]["current_operations"] == {task: "start"}
    assert abs(float(s[2]["progress"]) - 1 / 3) < 1e-6
    assert s[3]["power_state"] == "Halted"
    assert s[3]["current_operations"] == {}
    assert s[3]["allowed_operations"] == ["start"]
    assert s[4]["status"] == "failure"
    assert re.match(r"^SR_BACKEND_FAILURE_[0-9]+$", s[4]["error_info"][0]), \
        s[4]["error_info"]
    assert len(s[4]["error_info"]) == 4
    k.c("task.destroy", task)


@test
def test_every_class_change_is_an_event(k):
    for cls in ["VM", "VBD", "VDI", "SR", "PBD", "host", "pool"]:
        ref = k.c(cls + ".get_all")[0]
        token = token_of(k)
        k.c(cls + ".add_to_other_config", ref, "xbt-events", "1")
        k.c(cls + ".remove_from_other_config", ref, "xbt-events")
        r = k.c("event.from", [cls], token, 5.0)
        evs = [e for e in r["events"] if not (cls == "pool" and
               e["id"] == str(token_id(token) + 1))]  # the inject
        assert summary(evs) == [(cls.lower(), "mod", ref)] * 2, (cls, evs)
        assert evs[0]["snapshot"]["other_config"]["xbt-events"] == "1"
        assert "xbt-events" not in evs[1]["snapshot"]["other_config"]
    # Tasks: add, mod, del.
    token = token_of(k)
    t = k.c("task.create", "events", "test")
    k.c("task.set_status", t, "success")
    k.c("task.destroy", t)
    r = k.c("event.from", ["task"], token, 5.0)
    assert summary(r["events"]) == [("task", "add", t), ("task", "mod", t),
                                    ("task", "del", t)]
    assert r["events"][1]["snapshot"]["status"] == "success"


@test
def test_sessions_are_not_events(k):
    token = token_of(k)
    other = XmlRpc(k.srv.url)
    other.login()
    other.raw("session.logout", other.session)
    r = k.c("event.from", ["*"], token, 0.2)
    assert summary(r["events"]) == [("pool", "mod", k.pool)]  # the inject
    assert "session" not in r["valid_ref_counts"]
    r = k.c("event.from", ["session"], "", 0.0)
    assert r["events"] == []


# ---- timeouts and wake-ups -----------------------------------------------------

@test
def test_timeout_is_honoured_within_50ms(k):
    token = k.c("event.from", ["vm"], "", 0.0)["token"]
    for timeout in (0.0, 0.3, 1.0):
        t0 = time.monotonic()
        r = k.c("event.from", ["vm"], token, timeout)
        took = time.monotonic() - t0
        assert timeout <= took <= timeout + 0.05, (timeout, took)
        assert r["events"] == []
        assert TOKEN_RE.match(r["token"])
        assert token_id(r["token"]) >= token_id(token)
    # Negative means now.
    t0 = time.monotonic()
    r = k.c("event.from", ["vm"], token, -5.0)
    assert time.monotonic() - t0 < 0.05 and r["events"] == []
    # Changes to other classes do not end the wait early.
    t0 = time.monotonic()
    threading.Timer(0.1, lambda: XmlRpc(k.srv.url, k.c.session)(
        "pool.add_to_other_config", k.pool, "xbt-wait", "1")).start()
    r = k.c("event.from", ["vm"], token, 0.5)
    took = time.monotonic() - t0
    assert r["events"] == [] and 0.5 <= took <= 0.55, took
    assert token_id(r["token"]) > token_id(token)  # it moved past the pool
    k.c("pool.remove_from_other_config", k.pool, "xbt-wait")


@test
def test_waiter_wakes_on_change(k):
    # Past the injected event.
    token = k.c("event.from", ["pool"], token_of(k), 0.0)["token"]
    out = {}

    def wait():
        c = XmlRpc(k.srv.url, k.c.session)
        out["r"] = c("event.from", ["pool"], token, 10.0)
        out["t"] = time.monotonic()

    th = threading.Thread(target=wait)
    th.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    k.c("pool.add_to_other_config", k.pool, "xbt-wake", "yes")
    th.join(10)
    assert "r" in out
    assert out["t"] - t0 < 0.1, out["t"] - t0
    evs = out["r"]["events"]
    assert summary(evs) == [("pool", "mod", k.pool)]
    assert evs[0]["snapshot"]["other_config"]["xbt-wake"] == "yes"
    k.c("pool.remove_from_other_config", k.pool, "xbt-wake")


@test
def test_many_waiters_all_wake(k):
    token = k.c("event.from", ["task"], "", 0.0)["token"]
    results = []
    lock = threading.Lock()

    def wait():
        c = XmlRpc(k.srv.url, k.c.session)
        r = c("event.from", ["task"], token, 10.0)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=wait) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    task = k.c("task.create", "wake", "")
    for t in threads:
        t.join(10)
    assert len(results) == 20
    for r in results:
        assert summary(r["events"]) == [("task", "add", task)]
        assert r["events"][0]["snapshot"]["name_label"] == "wake"
    k.c("task.destroy", task)


@test
def test_200_waiters_and_the_server_still_answers(k):
    # Each waiting call holds its connection's thread, as any keep-alive
    # connection does (xbtd serves 256 connections): 200 waiters leave
    # room for other clients, and one change wakes them all.
    token = k.c("event.from", ["task"], "", 0.0)["token"]
    waiters = []
    try:
        for i in range(200):
            w = RawClient(k.srv.port)
            w.sock.sendall(request("xmlrpc" if i % 2 else "jsonrpc",
                                   k.c.session, ["task"], token, 20.0))
            waiters.append(w)
        time.sleep(0.5)
        t0 = time.monotonic()
        other = XmlRpc(k.srv.url)
        other.login()
        assert other("pool.get_all") == [k.pool]
        assert time.monotonic() - t0 < 1.0
        task = k.c("task.create", "two hundred", "")
        for i, w in enumerate(waiters):
            r = decode("xmlrpc" if i % 2 else "jsonrpc", w.read_response(10))
            assert summary(r["events"]) == [("task", "add", task)], i
        assert time.monotonic() - t0 < 5.0
        other.raw("session.logout", other.session)
        k.c("task.destroy", task)
    finally:
        for w in waiters:
            w.sock.close()


@test
def test_logout_ends_a_wait_with_session_invalid(k):
    other = XmlRpc(k.srv.url)
    s = other.login()
    out = {}

    def wait(method, args):
        c = XmlRpc(k.srv.url, s)
        try:
            c(method, *args)
            out[method] = "returned"
        except XenAPIError as e:
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


# ---- classes, tokens, errors ------------------------------------------------------

@test
def test_class_names_and_object_subscriptions(k):
    token = token_of(k)
    k.c("VM.set_name_description", k.ok, "ok1")
    k.c("VM.set_name_description", k.fail, "fail1")
    k.c("SR.set_name_description", k.c("SR.get_all")[0], "sr1")
    for classes, want in [
            (["VM"], [k.ok, k.fail]),
            (["vm"], [k.ok, k.fail]),
            (["vm/" + k.fail], [k.fail]),
            (["VM/" + k.ok, "vm/" + k.ok], [k.ok]),
            (["nosuchclass", "vm/OpaqueRef:nope", "", "/", "vm/",
              "session"], [])]:
        r = k.c("event.from", classes, token, 0.1)
        got = [e["ref"] for e in r["events"] if e["class"] == "vm"]
        assert got == want, (classes, got)
        assert all(e["class"] == "vm" for e in r["events"]), classes
    r = k.c("event.from", ["*"], token, 0.1)
    assert [e["class"] for e in r["events"]] == ["pool", "vm", "vm", "sr"]
    k.c("VM.set_name_description", k.ok, "Starts fine")
    k.c("VM.set_name_description", k.fail, "Its data disk's plugin fails")


@test
def test_bad_tokens(k):
    for bad in ["garbage", "12", "1,x", "-1,0", "1,", ",1", "1,2,3",
                "99999999999999999999,0", " 1,0"]:
        expect_error(lambda: k.c("event.from", ["vm"], bad, 0.0),
                     "EVENT_FROM_TOKEN_PARSE_FAILURE", [bad])


@test
def test_events_lost(k):
    token = token_of(k)
    for i in range(HISTORY + 2):
        k.c("VM.set_name_description", k.ok, "n%d" % i)
    expect_error(lambda: k.c("event.from", ["vm"], token, 0.0),
                 "EVENTS_LOST", [])
    # A token from the future (another xbtd, a restart) is lost too.
    now = token_id(k.c("event.from", ["vm"], "", 0.0)["token"])
    future = "%020d,%020d" % (now + 1000, 0)
    expect_error(lambda: k.c("event.from", ["vm"], future, 0.0),
                 "EVENTS_LOST", [])
    # The oldest event still held is served.
    oldest = "%020d,%020d" % (now - HISTORY, 0)
    r = k.c("event.from", ["vm"], oldest, 0.0)
    assert len(r["events"]) == HISTORY
    k.c("VM.set_name_description", k.ok, "Starts fine")


@test
def test_inject(k):
    before = token_id(k.c("event.from", ["pool"], "", 0.0)["token"])
    token = k.c("event.inject", "pool", k.pool)
    assert TOKEN_RE.match(token) and token_id(token) == before
    r = k.c("event.from", ["pool"], token, 1.0)
    assert summary(r["events"]) == [("pool", "mod", k.pool)]
    assert r["events"][0]["id"] == str(before + 1)
    assert r["events"][0]["snapshot"] == k.c("pool.get_record", k.pool)
    token = k.c("event.inject", "VM", k.ok)  # class names: any case
    r = k.c("event.from", ["vm"], token, 1.0)
    assert summary(r["events"]) == [("vm", "mod", k.ok)]
    expect_error(lambda: k.c("event.inject", "VM", "OpaqueRef:nope"),
                 "HANDLE_INVALID", ["VM", "OpaqueRef:nope"])
    expect_error(lambda: k.c("event.inject", "VM", k.pool),
                 "HANDLE_INVALID", ["VM", k.pool])
    expect_error(lambda: k.c("event.inject", "nosuch", k.ok),
                 "HANDLE_INVALID", ["nosuch", k.ok])


@test
def test_valid_ref_counts(k):
    r = k.c("event.from", ["vm"], "", 0.0)
    counts = r["valid_ref_counts"]
    for cls in ["VM", "VBD", "VDI", "SR", "PBD", "host", "pool", "task"]:
        n = counts[cls.lower()]
        assert type(n) is int, (cls, n)  # <i4> on XML-RPC, as xapi
        assert n == len(k.c(cls + ".get_all")), (cls, n)
    # They follow the token: one more task after an add.
    t = k.c("task.create", "count", "")
    r2 = k.c("event.from", ["task"], r["token"], 1.0)
    assert r2["valid_ref_counts"]["task"] == counts["task"] + 1
    k.c("task.destroy", t)
    r3 = k.c("event.from", ["task"], r2["token"], 1.0)
    assert r3["valid_ref_counts"]["task"] == counts["task"]


@test
def test_subscription_bounds(k):
    expect_error(lambda: k.c("event.from", ["vm"] * 1025, "", 0.0),
                 "EVENT_SUBSCRIPTION_PARSE_FAILURE",
                 ["more than 1024 subscriptions"])
    r = k.c("event.from", ["vm"] * 1024, "", 0.0)
    assert len(r["events"]) == len(k.vm)
    e = expect_error(lambda: k.c("event.from", ["v" * 257], "", 0.0),
                     "EVENT_SUBSCRIPTION_PARSE_FAILURE")
    assert "longer than 256 bytes" in e.params[0], e.params


# ---- legacy: register / next / unregister -----------------------------------------------

@test
def test_legacy_register_next_unregister(k):
    c = XmlRpc(k.srv.url)
    s = c.login()
    expect_error(lambda: c("event.next"), "SESSION_NOT_REGISTERED", [s])
    c("event.register", ["pool"])
    k.c("pool.add_to_other_config", k.pool, "xbt-next", "1")
    evs = c("event.next")
    assert summary(evs) == [("pool", "mod", k.pool)]
    assert evs[0]["snapshot"]["other_config"]["xbt-next"] == "1"
    c("event.unregister", ["pool"])
    c("event.register", ["VM"])
    k.c("pool.remove_from_other_config", k.pool, "xbt-next")
    k.c("VM.set_name_description", k.ok, "legacy")
    evs = c("event.next")
    assert summary(evs) == [("vm", "mod", k.ok)]
    assert evs[0]["snapshot"]["name_description"] == "legacy"
    # next blocks until something matches.
    out = {}
    th = threading.Thread(target=lambda: out.setdefault(
        "r", XmlRpc(k.srv.url, s)("event.next")))
    th.start()
    time.sleep(0.3)
    assert "r" not in out
    k.c("VM.set_name_description", k.ok, "Starts fine")
    th.join(10)
    assert summary(out["r"]) == [("vm", "mod", k.ok)]
    # Lost events: an error once, then the session goes on.
    for i in range(HISTORY + 2):
        k.c("VM.set_name_description", k.fail, "n%d" % i)
    expect_error(lambda: c("event.next"), "EVENTS_LOST", [])
    k.c("VM.set_name_description", k.fail, "Its data disk's plugin fails")
    evs = c("event.next")
    assert summary(evs) == [("vm", "mod", k.fail)]
    c.raw("session.logout", s)


# ---- JSON-RPC -------------------------------------------------------------------------------

@test
def test_jsonrpc_event_from(k):
    j = JsonRpc(k.srv.url, k.c.session)  # a session works on both
    st, ctype, r = j.post(json.dumps({
        "jsonrpc": "2.0", "method": "event.from", "id": 7,
        "params": [k.c.session, ["vm"], "", 0]}))  # an integer timeout
    assert st == 200 and ctype == "application/json", (st, ctype)
    assert r["jsonrpc"] == "2.0" and r["id"] == 7, r
    res = r["result"]
    assert TOKEN_RE.match(res["token"])
    assert sorted(e["ref"] for e in res["events"]) == sorted(k.vm.values())
    assert all(type(v) is int for v in res["valid_ref_counts"].values())
    snap = [e for e in res["events"] if e["ref"] == k.ok][0]["snapshot"]
    assert type(snap["memory_static_max"]) is int, snap["memory_static_max"]
    # Errors, v2 and v1.
    st, ctype, r = j.post(json.dumps({
        "jsonrpc": "2.0", "method": "event.from", "id": 8,
        "params": [k.c.session, ["vm"], "bad", 0.0]}))
    assert r["error"]["message"] == "EVENT_FROM_TOKEN_PARSE_FAILURE", r
    assert r["error"]["data"] == ["bad"], r
    st, ctype, r = j.post(json.dumps({
        "method": "event.from", "id": 9,
        "params": [k.c.session, ["vm"], "bad", 0.0]}))
    assert r["error"] == ["EVENT_FROM_TOKEN_PARSE_FAILURE", "bad"], r
    assert r["id"] == 9
    # A wait on JSON-RPC wakes on a change made over XML-RPC.
    token = j("event.inject", "pool", k.pool)
    res = j("event.from", ["pool"], token, 2.5)
    assert summary(res["events"]) == [("pool", "mod", k.pool)]
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", JsonRpc(
        k.srv.url, k.c.session, v2=False)("event.from", ["vm"],
                                          res["token"], 10.0)))
    th.start()
    time.sleep(0.2)
    k.c("VM.set_name_description", k.ok, "json")
    th.join(10)
    assert summary(out["r"]["events"]) == [("vm", "mod", k.ok)]
    assert out["r"]["events"][0]["snapshot"]["name_description"] == "json"
    k.c("VM.set_name_description", k.ok, "Starts fine")


# ---- bounds that need their own xbtd ------------------------------------------------------

@test
def test_reply_holds_at_most_1000_events(k):
    srv = Xbtd("--event-history", "2000")
    try:
        c = XmlRpc(srv.url)
        c.login()
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
    finally:
        srv.stop()
    srv.stop_clean()


@test
def test_shutdown_wakes_waiters(k):
    srv = Xbtd()
    c = XmlRpc(srv.url)
    c.login()
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
    took, err = srv.stop_clean()
    th.join(10)
    assert took < 5, took
    assert "r" in out
    assert "appending took" in err, err[-2000:]


@test
def test_server_exits_cleanly(k):
    """Last: the shared server stops with status 0, no sanitizer report."""
    took, err = k.srv.stop_clean()
    assert took < 5, took


if __name__ == "__main__":
    sys.exit(run(setup, teardown))
