#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbtd against a FAKE xbt-opsd (doc/opsd.md, "What xbtd does";
server/xenapi/ops.c): what xbtd makes of every answer opsd could give.

The fake is an XML-RPC server on a Unix-domain socket, in this process,
answering in the XenAPI envelope as opsd does. VM.start and VM.shutdown
return a task id; TASK.wait (what xbtd waits with) and TASK.stat return the
record each test scripts (a list of states, the next one given after each
read; TASK.wait on the last, pending state waits for a change, as opsd's
does); TASK.cancel can move a task to its cancelled end. It records
every call. xbtd runs with --opsd-socket (the demo world, --hostname h1),
and each test starts demo-ok and checks the XenAPI error code and params
the client sees, that TASK.destroy was called for the task, and that every
call of an Async operation carried its task ref as dbg.
"""

import copy
import http.server
import os
import re
import shutil
import socketserver
import sys
import tempfile
import threading
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from test_vm_start import backtrace_frames  # noqa: E402

HOST = "h1"
XBTD_PROCESS = "xbtd @ %s" % HOST
TASK_TIMEOUT = 120.0
BAD_BACKTRACE_LOG = ("xbt-opsd's backtrace cannot be read; the error is "
                     "kept without it")
BAD_CODE = ["INTERNAL_ERROR",
            "xbt-opsd: a failed task without a valid error code"]
TASK_FIELDS = ["id", "dbg", "ctime", "state", "progress", "duration",
               "result", "error", "backtrace", "subtasks", "debug_info",
               "cancellable"]


# ---- the fake --------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        params, method = xmlrpc.client.loads(body)
        kind, what = fake.answer(method, list(params))
        if kind == "close":
            self.close_connection = True
            return
        if kind == "hang":
            fake.stopping.wait()
            self.close_connection = True
            return
        if kind == "http":
            data = b"no"
            self.send_response(what)
        else:
            if kind == "value":
                resp = {"Status": "Success", "Value": what}
            else:
                resp = {"Status": "Failure", "ErrorDescription": what}
            data = xmlrpc.client.dumps((resp,), methodresponse=True,
                                       encoding="utf-8")
            # A CR in text is sent as a reference, as xbt's writer does
            # (a raw one reads back as LF).
            data = data.replace("\r", "&#13;").encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def task_record(tid, dbg, **fields):
    """A whole TASK record (idl/xenops.xml), pending unless told."""
    rec = {"id": tid, "dbg": dbg, "ctime": time.time(), "state": "pending",
           "progress": 0.0, "duration": 0.0, "result": "", "error": [],
           "backtrace": "()", "subtasks": {},
           "debug_info": {"vm": "", "operation": "start"},
           "cancellable": True}
    rec.update(fields)
    return rec


class FakeOpsd:
    """An opsd whose answers each test scripts (see the module's text)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xbt-fakeopsd-")
        self.path = os.path.join(self.dir, "opsd.sock")
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.next_id = 1
        self.gen = 0
        self.tasks = {}   # id -> {"dbg", "vm", "states", "gen"}
        self.reset()

    def start(self):
        self.server = _Server(self.path, _Handler)
        self.server.fake = self
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def reset(self, states=None, faults=None, on_cancel=None):
        """states: what TASK.wait gives for a new VM.start task, in turn
        (dicts of fields over task_record's, or any value as it is);
        faults: {method: ("http", status) | ("close",) | ("hang",)};
        on_cancel: TASK.cancel replaces the states with [on_cancel] (the
        string "dbg" in its error is the task's dbg)."""
        with self.cond:
            self.calls = []
            self.states = states or [{"state": "completed",
                                      "progress": 1.0}]
            self.faults = faults or {}
            self.on_cancel = on_cancel

    # Under the lock.
    def _touch(self, tid):
        self.gen += 1
        self.tasks[tid]["gen"] = self.gen
        self.cond.notify_all()

    def _record(self, tid):
        t = self.tasks[tid]
        state = t["states"][0]
        if not isinstance(state, dict):
            return state
        fields = copy.deepcopy(state)
        if "error" in fields:
            fields["error"] = [t["dbg"] if e == "dbg" else e
                               for e in fields["error"]]
        return task_record(tid, t["dbg"], debug_info={
            "vm": t["vm"], "operation": t["op"]}, **fields)

    def answer(self, method, params):
        """(kind, what): ("value", v), ("failure", [code, ...]),
        ("http", status), ("close", None) or ("hang", None)."""
        with self.cond:
            self.calls.append((method, params))
            fault = self.faults.get(method)
            if fault:
                return fault[0], fault[1] if len(fault) > 1 else None
            if method in ("VM.start", "VM.shutdown"):
                tid = "task-%d" % self.next_id
                self.next_id += 1
                states = self.states if method == "VM.start" else \
                    [{"state": "completed", "progress": 1.0}]
                self.tasks[tid] = {"dbg": params[0], "vm": params[1],
                                   "op": "start" if method == "VM.start"
                                   else "shutdown",
                                   "states": list(states), "gen": 0}
                self._touch(tid)
                return "value", tid
            if method == "UPDATES.get":
                last, timeout = int(params[1]), int(params[2])
                if last > self.gen:
                    last = 0
                deadline = time.monotonic() + min(timeout, 60)
                while self.gen <= last and not self.stopping.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.cond.wait(left)
                changed = sorted((t["gen"], tid) for tid, t in
                                 self.tasks.items() if t["gen"] > last)
                return "value", {"id": self.gen,
                                 "tasks": [tid for _g, tid in changed]}
            tid = params[1] if len(params) > 1 else None
            if method.startswith("TASK.") and method != "TASK.list" and \
                    tid not in self.tasks:
                return "failure", ["HANDLE_INVALID", "TASK", str(tid)]
            if method == "TASK.wait":
                t = self.tasks[tid]
                deadline = time.monotonic() + min(int(params[3]), 60)
                # The last state, pending: wait for a change (a cancel).
                while len(t["states"]) == 1 and \
                        isinstance(t["states"][0], dict) and \
                        t["states"][0].get("state", "pending") == "pending" \
                        and not self.stopping.is_set():
                    gen, left = t["gen"], deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.cond.wait(left)
                    if t["gen"] != gen:
                        break
            if method in ("TASK.stat", "TASK.wait"):
                rec = self._record(tid)
                t = self.tasks[tid]
                if len(t["states"]) > 1:
                    t["states"].pop(0)
                    self._touch(tid)
                return "value", rec
            if method == "TASK.cancel":
                if self.on_cancel is not None:
                    self.tasks[tid]["states"] = [self.on_cancel]
                    self._touch(tid)
                return "value", ""
            if method == "TASK.destroy":
                del self.tasks[tid]
                return "value", ""
            if method == "TASK.list":
                return "value", [self._record(t) for t in self.tasks]
            return "failure", ["MESSAGE_METHOD_UNKNOWN", method]

    def calls_of(self, method):
        with self.cond:
            return [p for m, p in self.calls if m == method]

    def all_calls(self):
        with self.cond:
            return list(self.calls)


# ---- sexp writing (the reader is test_vm_start's) ---------------------------

def sexp_atom(s):
    """One atom as xbt writes it (doc/design.md, "Backtraces")."""
    b = str(s).encode("utf-8")
    if b and b"#|" not in b and b"|#" not in b and \
            not any(c <= 32 or c >= 127 or c in b'"();\\' for c in b):
        return b.decode()
    out = []
    for c in b:
        ch = chr(c)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\t\r\b":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r",
                        "\b": "\\b"}[ch])
        elif c < 32 or c > 126:
            out.append("\\%03d" % c)
        else:
            out.append(ch)
    return '"%s"' % "".join(out)


def sexp_frame(f):
    keys = ["process", "filename", "line", "chars_start", "chars_end",
            "name", "is_inline", "is_raise"]
    parts = []
    for k in keys:
        if k not in f:
            continue
        v = f[k]
        if isinstance(v, bool):
            v = "true" if v else "false"
        atom = sexp_atom(v)
        parts.append("(%s%s%s)" % (k, "" if atom[0] == '"' else " ", atom))
    return "(%s)" % "".join(parts)


def sexp_backtrace(frames):
    return "(%s)" % "".join(sexp_frame(f) for f in frames)


def frames_of(text):
    """task.backtrace's frames, their text decoded as UTF-8 (the reader
    gives the bytes of a \\DDD escape one character each)."""
    frames = backtrace_frames(text)
    for f in frames:
        for k, v in f.items():
            if isinstance(v, str):
                f[k] = v.encode("latin-1").decode("utf-8")
    return frames


# ---- the tests ---------------------------------------------------------------

class FakeOpsdCase(unittest.TestCase):
    """One fake and one xbtd using it, shared by the tests of a class."""

    xbtd_args = ()

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeOpsd().start()
        try:
            cls.xbtd = fx.Xbtd(["--hostname", HOST, "--opsd-socket",
                                cls.fake.path] + list(cls.xbtd_args)).start()
        except BaseException:
            cls.fake.stop()
            raise
        cls.api = cls.xbtd.api
        cls.json = fx.JsonRpc(cls.xbtd.url, cls.xbtd.session)
        cls.vm = cls.api("VM.get_by_name_label", "demo-ok")[0]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.xbtd.stop()
        finally:
            cls.fake.stop()

    def setUp(self):
        self.fake.reset()
        self.assertEqual(self.api("VM.get_power_state", self.vm), "Halted")

    def wait_task(self, task, timeout=TASK_TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.api("task.get_status", task) in ("pending",
                                                    "cancelling"):
            if time.monotonic() > deadline:
                self.fail("task %s still pending after %.0f s"
                          % (task, timeout))
            time.sleep(0.02)
        return self.api("task.get_record", task)

    def start(self):
        """Async.VM.start of demo-ok: (task ref, its record when done)."""
        task = self.api("Async.VM.start", self.vm, False, False)
        return task, self.wait_task(task)

    def check_dbg(self, task, resync=False):
        """Every call to the fake carried the XenAPI task as dbg (but, with
        resync, xbtd's own VM.list after opsd looked gone)."""
        calls = self.fake.all_calls()
        self.assertTrue(calls)
        for method, params in calls:
            if resync and (method, params[0]) == ("VM.list", "resync"):
                continue
            self.assertEqual(params[0], task, method)

    def opsd_task(self):
        starts = self.fake.calls_of("VM.start")
        self.assertEqual(len(starts), 1)
        with self.fake.cond:
            return "task-%d" % (self.fake.next_id - 1)

    def check_destroyed(self, task):
        tid = self.opsd_task()
        self.assertEqual(self.fake.calls_of("TASK.destroy"), [[task, tid]])

    def start_fails(self, error_info):
        """Async.VM.start fails with exactly error_info; TASK.destroy was
        called for opsd's task and every call had the task as dbg; the VM
        is still halted. Returns (task, record)."""
        task, rec = self.start()
        self.assertEqual(rec["status"], "failure", rec)
        self.assertEqual(rec["error_info"], error_info)
        self.check_destroyed(task)
        self.check_dbg(task)
        self.assertEqual(self.api("VM.get_power_state", self.vm), "Halted")
        self.assertEqual(self.api("VM.get_current_operations", self.vm), {})
        return task, rec

    def xbtd_frames(self, frames):
        """xbtd's own frames: all of its process, raised in relay_task_failure."""
        self.assertTrue(frames)
        for f in frames:
            self.assertEqual(f["process"], XBTD_PROCESS, f)
        self.assertEqual((frames[0]["filename"], frames[0]["name"],
                          frames[0]["is_raise"]),
                         ("server/xenapi/relay.c", "relay_task_failure", True))
        self.assertEqual((frames[-1]["filename"], frames[-1]["name"]),
                         ("server/xenapi/dispatch.c", "async_run"))


class Failures(FakeOpsdCase):
    """A failed opsd task: its error relayed, its backtrace glued or, when
    it cannot be read, left out without losing the error."""

    ERROR = ["SR_BACKEND_FAILURE_44", "", "garbled", ""]

    def test_garbled_backtrace_keeps_the_error(self):
        for bt in ("((process", "not a sexp", '"just an atom"',
                   "((a b) (c d))", "(((process x)(line twelve)))",
                   "(" * (1024 * 1024)):
            with self.subTest(backtrace=bt[:40]):
                self.fake.reset(states=[{"state": "failed",
                                         "error": self.ERROR,
                                         "backtrace": bt}])
                task, rec = self.start_fails(self.ERROR)
                self.xbtd_frames(frames_of(rec["backtrace"]))
                self.assertRegex(
                    self.xbtd.stderr(),
                    r"\[%s\] %s" % (re.escape(task),
                                    re.escape(BAD_BACKTRACE_LOG)))

    def test_remote_frames_glued_in_front(self):
        remote = [
            {"process": "elsewhere @ x", "filename": "/opt/a b/plugin.py",
             "line": 7, "chars_start": 0, "chars_end": 0,
             "is_inline": False, "is_raise": True},
            {"process": "elsewhere @ x", "filename": "mid.c", "line": 12,
             "chars_start": 3, "chars_end": 9, "name": "middle \u00e9",
             "is_inline": True, "is_raise": False},
            {"process": "elsewhere @ x", "filename": "outer.ml",
             "line": 99, "chars_start": 0, "chars_end": 0, "name": "outer",
             "is_inline": False, "is_raise": False},
        ]
        self.fake.reset(states=[{"state": "failed", "error": self.ERROR,
                                 "backtrace": sexp_backtrace(remote)}])
        task, rec = self.start_fails(self.ERROR)
        frames = frames_of(rec["backtrace"])
        self.assertEqual(frames[:3], remote)
        self.xbtd_frames(frames[3:])
        self.assertNotRegex(self.xbtd.stderr(), r"\[%s\] %s" % (
            re.escape(task), re.escape(BAD_BACKTRACE_LOG)))

    def test_error_code_must_be_well_formed(self):
        for error in ([], ["lower"], ["lower", "p"], ["A B", "p"],
                      ["A" * 65], ["", "x"], ["CODE\n"], ["CODÉ"]):
            with self.subTest(error=error):
                self.fake.reset(states=[{"state": "failed",
                                         "error": error}])
                _task, rec = self.start_fails(BAD_CODE)
                self.xbtd_frames(frames_of(rec["backtrace"]))
        # The bounds themselves are fine.
        for error in (["A" * 64, "p"], ["_0_9"], ["X"]):
            with self.subTest(error=error):
                self.fake.reset(states=[{"state": "failed",
                                         "error": error}])
                self.start_fails(error)

    def test_hostile_params_reach_the_client_exactly(self):
        params = ["emoji \U0001F600 and \U00020000 (CJK B)",
                  "tab\tlf\ncr\rcrlf\r\n",
                  "<markup & \"quotes\" 'too'> ]]> \\ \\x01",
                  "\u00e9\u4e2d\ufffd" * 1000,
                  "x" * (100 * 1024),
                  ""]
        error = ["SR_BACKEND_FAILURE_1"] + params
        self.fake.reset(states=[{"state": "failed", "error": error}])
        task, rec = self.start_fails(error)
        self.assertEqual(fx.JsonRpc(self.xbtd.url, self.xbtd.session)(
            "task.get_error_info", task), error)
        # Synchronous VM.start: the ErrorDescription itself, both ways.
        for client in (self.api, self.json):
            with self.subTest(client=type(client).__name__):
                self.fake.reset(states=[{"state": "failed",
                                         "error": error}])
                self.assertEqual(fx.fails(client, "VM.start", self.vm,
                                          False, False), error)
                self.assertEqual(len(self.fake.calls_of("TASK.destroy")), 1)

    def test_text_xml_cannot_carry(self):
        """Control characters and U+FFFE cannot be in XML 1.0 text, not
        even as references: opsd sends their safe form (doc/design.md,
        "Text"), which reaches the client as it is. Sent raw, the reply is
        not XML: a failure to talk to opsd."""
        safe = "ctrl \\x01\\x1b[0m\\x7f nonchar \\xef\\xbf\\xbe"
        error = ["SR_BACKEND_FAILURE_2", safe]
        self.fake.reset(states=[{"state": "failed", "error": error}])
        self.start_fails(error)
        for raw in ("ctrl \x01\x1b[0m", "nonchar \ufffe"):
            with self.subTest(raw=raw):
                self.fake.reset(states=[{"state": "failed", "error": [
                    "SR_BACKEND_FAILURE_2", raw]}])
                _task, rec = self.start()
                info = rec["error_info"]
                self.assertEqual((rec["status"], info[0], len(info)),
                                 ("failure", "INTERNAL_ERROR", 2), info)
                self.assertTrue(info[1].startswith("xbt-opsd: Not valid "
                                                   "XML"), info)
                self.assertTrue(info[1].endswith(": " + self.fake.path),
                                info)

    def test_not_a_task_record(self):
        # opsd's reply is not the client's mistake: INTERNAL_ERROR, not
        # XMLRPC_UNMARSHAL_FAILURE, naming the call and what was wrong.
        why = "xbt-opsd: TASK.wait: unexpected reply: " \
            "XMLRPC_UNMARSHAL_FAILURE [%s]"
        for stat, want in (
                ("a string", 'record TASK; string "a string"'),
                (["a", "list"], "record TASK; array"),
                ({"state": "bogus"},
                 'enum task_state; string "bogus" at field "state"'),
                ({"state": "pending", "progress": "half"},
                 'float; string "half" at field "progress"')):
            with self.subTest(stat=stat):
                self.fake.reset(states=[stat])
                task, rec = self.start()
                self.assertEqual(rec["status"], "failure", rec)
                self.assertEqual(rec["error_info"],
                                 ["INTERNAL_ERROR", why % want])
                self.check_destroyed(task)
                self.check_dbg(task)


    def test_error_of_a_call_is_opsds(self):
        # An error of the call itself (not of the task) names opsd's call:
        # the client never sees opsd's classes and ids as its own error.
        for method, error, want in (
                ("TASK.wait", ["HANDLE_INVALID", "TASK", "task-1"],
                 "xbt-opsd: TASK.wait failed: HANDLE_INVALID [TASK; task-1]"),
                ("VM.start", ["OTHER_OPERATION_IN_PROGRESS", "VM", "u",
                              "start", "task-0"],
                 "xbt-opsd: VM.start failed: OTHER_OPERATION_IN_PROGRESS "
                 "[VM; u; start; task-0]")):
            with self.subTest(method=method):
                self.fake.reset(faults={method: ("failure", error)})
                _task, rec = self.start()
                self.assertEqual((rec["status"], rec["error_info"]),
                                 ("failure", ["INTERNAL_ERROR", want]))

    def test_task_id_not_a_string(self):
        for reply in (42, {"id": "task-1"}, ["task-1"]):
            with self.subTest(reply=reply):
                self.fake.reset(faults={"VM.start": ("value", reply)})
                task, rec = self.start()
                self.assertEqual(rec["error_info"], [
                    "INTERNAL_ERROR", "xbt-opsd: task id is not a string"])
                self.assertEqual(self.fake.calls_of("TASK.destroy"), [])
                self.check_dbg(task)


class Transport(FakeOpsdCase):
    """opsd answering with something that is not a XenAPI response, or
    not at all (--opsd-timeout 2)."""

    xbtd_args = ("--opsd-timeout", "2")

    def transport_fails(self, method, fault, want_destroy, resync=False):
        self.fake.reset(faults={method: fault})
        task, rec = self.start()
        self.assertEqual(rec["status"], "failure", rec)
        info = rec["error_info"]
        self.assertEqual(info[0], "INTERNAL_ERROR", info)
        self.assertEqual(len(info), 2, info)
        self.assertTrue(info[1].startswith("xbt-opsd: "), info)
        self.assertTrue(info[1].endswith(": " + self.fake.path), info)
        if want_destroy:
            self.check_destroyed(task)
        else:
            self.assertEqual(self.fake.calls_of("TASK.destroy"), [])
        self.check_dbg(task, resync)
        self.assertEqual(self.api("VM.get_power_state", self.vm), "Halted")
        return info[1]

    def test_http_500(self):
        why = self.transport_fails("VM.start", ("http", 500), False)
        self.assertEqual(why, "xbt-opsd: HTTP response code is 500, not "
                         "200: " + self.fake.path)
        why = self.transport_fails("TASK.wait", ("http", 500), True)
        self.assertEqual(why, "xbt-opsd: HTTP response code is 500, not "
                         "200: " + self.fake.path)

    def test_connection_closed(self):
        # libcurl's words for a connection closed without a reply.
        want = "xbt-opsd: Empty reply from server: " + self.fake.path
        self.assertEqual(self.transport_fails("VM.start", ("close",),
                                              False), want)
        self.assertEqual(self.transport_fails("TASK.wait", ("close",),
                                              True), want)

    def test_no_socket(self):
        os.rename(self.fake.path, self.fake.path + ".away")
        try:
            self.fake.reset()
            task, rec = self.start()
        finally:
            os.rename(self.fake.path + ".away", self.fake.path)
        self.assertEqual(rec["status"], "failure", rec)
        self.assertEqual(rec["error_info"], [
            "INTERNAL_ERROR", "xbt-opsd: cannot connect to the socket: "
            "No such file or directory: " + self.fake.path])
        self.assertEqual(self.fake.all_calls(), [])

    def test_never_answers(self):
        t0 = time.monotonic()
        # While the fake hangs, xbtd's probe may find it gone, then back:
        # its resync (VM.list) is the only other call allowed.
        why = self.transport_fails("VM.start", ("hang",), False, True)
        self.assertIn("timed out", why.lower())
        # --opsd-timeout, not the default minute.
        self.assertLess(time.monotonic() - t0, 10)


class Progress(FakeOpsdCase):
    """Progress and cancel: opsd's task as it runs."""

    def test_progress_reaches_the_task(self):
        self.fake.reset(states=[{"progress": 0.25}, {"progress": 0.5},
                                {"state": "completed", "progress": 1.0,
                                 "duration": 0.1}])
        token = self.api("event.from", ["task"], "", 0.0)["token"]
        task = self.api("Async.VM.start", self.vm, False, False)
        seen = []
        deadline = time.monotonic() + TASK_TIMEOUT
        done = False
        while not done:
            self.assertLess(time.monotonic(), deadline, seen)
            r = self.api("event.from", ["task"], token, 5.0)
            token = r["token"]
            for e in r["events"]:
                if e["ref"] != task or "snapshot" not in e:
                    continue
                snap = e["snapshot"]
                p = float(snap["progress"])
                if not seen or seen[-1] != p:
                    seen.append(p)
                done = done or snap["status"] != "pending"
        self.assertEqual(seen, [0.0, 0.25, 0.5, 1.0])
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["error_info"]), ("success", []))
        self.assertEqual(self.api("VM.get_power_state", self.vm), "Running")
        self.check_destroyed(task)
        self.check_dbg(task)
        # One TASK.wait per state: xbtd reads each progress once.
        self.assertEqual(len(self.fake.calls_of("TASK.wait")), 3)
        self.assertEqual([p[2] for p in self.fake.calls_of("TASK.wait")],
                         [0.0, 0.25, 0.5])
        self.fake.reset()
        self.api("VM.hard_shutdown", self.vm)
        self.assertEqual(self.api("VM.get_power_state", self.vm), "Halted")

    def test_cancel_reaches_opsd(self):
        self.fake.reset(states=[{"progress": 0.1}],
                        on_cancel={"state": "failed",
                                   "error": ["TASK_CANCELLED", "dbg"]})
        task = self.api("Async.VM.start", self.vm, False, False)
        deadline = time.monotonic() + TASK_TIMEOUT
        # Cancel once xbtd waits for opsd's task.
        while not self.fake.calls_of("TASK.wait"):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        self.assertEqual(self.api("task.get_status", task), "pending")
        self.api("task.cancel", task)
        rec = self.wait_task(task)
        tid = self.opsd_task()
        self.assertEqual(self.fake.calls_of("TASK.cancel"), [[task, tid]])
        self.assertEqual(rec["status"], "cancelled", rec)
        self.assertEqual(rec["error_info"], ["TASK_CANCELLED", task])
        self.check_destroyed(task)
        self.check_dbg(task)
        self.assertEqual(self.api("VM.get_power_state", self.vm), "Halted")


if __name__ == "__main__":
    fx.run()
