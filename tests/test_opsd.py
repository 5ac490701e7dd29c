#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbt-opsd behind xbtd (doc/opsd.md), end to end.

- DemoTrace: the demo world; `xe vm-start --trace` and task.backtrace
  cross three processes (plugin, xbt-opsd, xbtd); opsd's log lines carry
  the XenAPI task ref.
- Lifecycle: tests/worlds/opsd.xml on VMTESTSR with xbtd running its own
  opsd: task.cancel kills the hung plugin and undoes in reverse; progress
  rises to 1; opsd SIGKILLed in mid-start.
- FiftyAtOnce: an opsd run by the test, xbtd with --opsd-socket: 50 starts
  at once (every 5th failing), 40 clean shutdowns, and no task left in opsd.
- Processes: opsd survives a SIGKILL of xbtd and the next xbtd on its
  directory adopts it; an external opsd outlives xbtd; its socket (mode
  0600; a live one, a stale one, a regular file).

This process makes itself a subreaper (PR_SET_CHILD_SUBREAPER), so that an
opsd orphaned by the death of its xbtd becomes its child: the test reaps it
and reads its exit status, whatever the machine's init does.

The sexp reader and the VM helpers are tests/test_vm_start.py's.
"""

import concurrent.futures
import ctypes
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_vm_start as vmt  # noqa: E402

HOST = vmt.HOST
XBTD_P, OPSD_P = vmt.XBTD_PROCESS, vmt.OPSD_PROCESS
XE = os.path.join(fx.BUILDDIR, "cli", "xe")
DEMO_PLUGINS = os.path.join(fx.BUILDDIR, "server", "plugins")
# How long a step that should happen at once may take on a loaded machine.
SOON = 30.0
LOG_LINE = re.compile(r"\d{8}T\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\w+) \[([^\]]*)\] "
                      r"(.*)")
SPAWNED = re.compile(r"xbt-opsd running as pid (\d+) on (\S+)")


# ---- helpers ---------------------------------------------------------------

def runs(processes):
    """Consecutive equal processes collapsed into one."""
    return [p for i, p in enumerate(processes)
            if i == 0 or processes[i - 1] != p]


def wait_for(pred, what, timeout=SOON):
    """pred()'s first true value, polled until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("no %s after %.0f s" % (what, timeout))
        time.sleep(0.02)


ppid_of, cmdline, children = fx.ppid_of, fx.cmdline, fx.children


def opsd_of(xbtd_pid):
    """The pid of the xbt-opsd that xbtd runs (its one such child)."""
    pids = [p for p in children(xbtd_pid)
            if any("xbt-opsd" in a for a in cmdline(p)[:1])]
    if len(pids) != 1:
        raise AssertionError("xbt-opsd children of %d: %r" % (xbtd_pid, pids))
    return pids[0]


def plugin_call(pid):
    """(command, vdi_location) of a VMTESTSR process, or None."""
    argv = cmdline(pid)
    for i, a in enumerate(argv[:-1]):
        if a.endswith("/VMTESTSR"):
            (args,), command = xmlrpc.client.loads(argv[i + 1])
            return command, args.get("vdi_location")
    return None


def plugin_pid(opsd, command, location):
    """The VMTESTSR child of opsd running command on location, or None."""
    pids = [p for p in children(opsd)
            if plugin_call(p) == (command, location)]
    return pids[0] if len(pids) == 1 else None


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of our descendants (an opsd whose xbtd was SIGKILLed) come
    to this process instead of init, which may never reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap(pid, timeout=SOON):
    """Waits for pid, a child of this process (an orphan that came to us),
    to exit and reaps it: its wait status as os.waitstatus_to_exitcode
    gives it (-N for signal N)."""
    deadline = time.monotonic() + timeout
    while True:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            raise AssertionError("%d has not exited after %.0f s"
                                 % (pid, timeout))
        time.sleep(0.02)


def socket_answers(path):
    """Whether an xbt-opsd answers TASK.list on path (its tasks, or None)."""
    try:
        return fx.opsd_client(path).raw("TASK.list", "test")
    except OSError:
        return None


def kill_group(pgid):
    """SIGKILLs a process group (a plugin's: opsd spawns it with its own)
    and waits until its leader is gone or a zombie."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_for(lambda: vmt.process_state(pgid) in (None, "Z"),
             "end of process group %d" % pgid)


def log_lines(text, program, thread):
    """The texts of the log lines of program in thread."""
    out = []
    for line in text.splitlines():
        m = LOG_LINE.fullmatch(line)
        if m and m.group(1) == program and m.group(3) == thread:
            out.append(m.group(4))
    return out


def short_tmpdir():
    """A directory short enough for socket paths and xbtd's TMPDIR."""
    return tempfile.mkdtemp(prefix="xbt-op-", dir="/tmp")


class OpsdCase(vmt.VmCase):
    """vmt.VmCase with the waits of this file."""

    def wait_ended(self, task):
        """The task's record once it is neither pending nor cancelling."""
        deadline = time.monotonic() + vmt.TASK_TIMEOUT
        while self.ok("task.get_status", self.session, task) in (
                "pending", "cancelling"):
            if time.monotonic() > deadline:
                self.fail("task %s not ended after %.0f s"
                          % (task, vmt.TASK_TIMEOUT))
            time.sleep(0.02)
        return self.ok("task.get_record", self.session, task)

    def all_at_once(self, method, vms, *params):
        """method(vm, *params) for every VM at once, each on a connection
        of its own; their tasks' records, in the order of vms."""
        barrier = threading.Barrier(len(vms))

        def call(vm):
            barrier.wait(timeout=60)
            return self.xbtd.client()(method, vm, *params)

        with concurrent.futures.ThreadPoolExecutor(len(vms)) as pool:
            tasks = list(pool.map(call, vms))
        self.assertEqual(len(set(tasks)), len(vms))
        return [self.wait_ended(t) for t in tasks]


# ---- 1, 8: the demo world ------------------------------------------------

XE_FRAME = re.compile(r'(\d+)/(\d+) (.+?) (?:Raised at|Re-raised at|'
                      r'Called from) (?:(\S+) in )?file "(.*)", line (\d+)')


def xe_frames(stderr):
    """xe --trace's frames: (process, name or None, filename, line)."""
    lines = stderr.split("Backtrace:\n", 1)[1].splitlines()
    frames = []
    for i, line in enumerate(lines):
        m = XE_FRAME.fullmatch(line)
        if not m or int(m.group(1)) != i + 1 or \
                int(m.group(2)) != len(lines):
            raise AssertionError("frame line %d: %r" % (i + 1, line))
        frames.append((m.group(3), m.group(4), m.group(5), int(m.group(6))))
    return frames


class DemoTrace(OpsdCase):
    xbtd_args = ("--hostname", HOST)

    def test_xe_trace_crosses_three_processes(self):
        home = tempfile.mkdtemp(prefix="xbt-op-home-")
        self.addCleanup(shutil.rmtree, home)
        env = fx.clean_env({"HOME": home})
        env.pop("XE_EXTRA_ARGS", None)
        status, out, err = fx.run_program(
            [XE, "vm-start", "vm=demo-fail", "--trace", "-p",
             str(self.xbtd.port)], timeout=120, env=env)
        self.assertEqual((status, out), (1, ""), err)
        self.assertTrue(err.startswith(
            "Error code: SR_BACKEND_FAILURE_46\n"), err)
        frames = xe_frames(err)
        self.assertEqual(runs([f[0] for f in frames]),
                         ["FAIL @ h1", OPSD_P, XBTD_P])
        opsd = [f for f in frames if f[0] == OPSD_P]
        self.assertIn("server/common/sm_decode.c", [f[2] for f in opsd])
        self.assertEqual(opsd[-1][1:3], ("vm_job_run", "server/xenops/vm.c"))
        # The task of an Async.VM.start holds the same frames.
        _task, rec = self.async_start(self.vm("demo-fail"))
        self.assertEqual(rec["status"], "failure")
        task_frames = vmt.backtrace_frames(rec["backtrace"])
        self.assertEqual([(f["process"], f.get("name"), f["filename"],
                           f["line"]) for f in task_frames], frames)

    def test_opsd_log_lines_carry_the_task_ref(self):
        vm = self.vm("demo-fail")
        uuid = self.ok("VM.get_uuid", self.session, vm)
        task, rec = self.async_start(vm)
        self.assertEqual(rec["error_info"][0], "SR_BACKEND_FAILURE_46")
        err = self.xbtd.stderr()
        opsd = log_lines(err, "xbt-opsd", task)
        calls = [tuple(m.groups()) for m in
                 (re.match(r"SM call: (\w+) (\w+) \{", t) for t in opsd) if m]
        self.assertEqual(calls, [
            ("DEMO", "vdi_attach"), ("DEMO", "vdi_activate"),
            ("FAIL", "vdi_attach"), ("DEMO", "vdi_deactivate"),
            ("DEMO", "vdi_detach")])
        # The call that made the task and the task's end carry it too.
        made = [m.group(1) for m in (re.fullmatch(
            r"VM %s: start as task (\d+)" % uuid, t) for t in opsd) if m]
        self.assertEqual(len(made), 1, opsd)
        ended = [t for t in opsd if t.startswith("task %s (" % made[0])]
        self.assertEqual(len(ended), 1, opsd)
        self.assertTrue(ended[0].startswith(
            "task %s (VM %s start) failed: SR_BACKEND_FAILURE_46 ["
            % (made[0], uuid)), ended)
        # xbtd logs the failure at its task boundary, under the same name.
        self.assertTrue(log_lines(err, "xbtd", task)[0].startswith(
            "task %s (Async.VM.start) failed: SR_BACKEND_FAILURE_46 ["
            % task))


# ---- 2, 3, 5: tests/worlds/opsd.xml, xbtd running its own opsd -------------

class Lifecycle(OpsdCase):
    """tests/worlds/opsd.xml on VMTESTSR, the plugin journalling its calls."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-op-")
        cls.journal = os.path.join(cls.tmp, "journal")
        open(cls.journal, "w").close()
        with open(os.path.join(fx.SRCDIR, "tests", "worlds", "opsd.xml")) as f:
            world = f.read().replace("@JOURNAL@", cls.journal)
        cls.world = os.path.join(cls.tmp, "world.xml")
        with open(cls.world, "w") as f:
            f.write(world)
        cls.xbtd_args = ("--hostname", HOST, "--world", cls.world,
                         "--sm-dir", vmt.FIXTURE_DIR)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp)

    def setUp(self):
        with open(self.journal) as f:
            self.mark = len(f.read().splitlines())

    def calls(self):
        """The plugin calls made since the test began."""
        with open(self.journal) as f:
            return f.read().splitlines()[self.mark:]

    def test_cancel_kills_the_plugin_and_undoes(self):
        vm = self.vm("op-cancel")
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        hung = "vdi_activate vdi_activate=hang"
        wait_for(lambda: hung in self.calls(), "journal line %r" % hung)
        opsd = opsd_of(self.xbtd.proc.pid)
        pid = wait_for(lambda: plugin_pid(opsd, "vdi_activate",
                                          "vdi_activate=hang"),
                       "hung VMTESTSR process")
        self.addCleanup(kill_group, pid)
        self.assertEqual(self.ok("task.cancel", self.session, task), "")
        rec = self.wait_ended(task)
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("cancelled", ["TASK_CANCELLED", task]))
        frames = vmt.backtrace_frames(rec["backtrace"])
        self.assertEqual(runs([f["process"] for f in frames]),
                         [OPSD_P, XBTD_P])
        self.assertEqual((frames[0]["filename"], frames[0]["name"]),
                         ("server/common/sm_run.c", "sm_call"))
        self.assertEqual(self.calls(), [
            "vdi_attach cancel-first true", "vdi_activate cancel-first",
            "vdi_attach vdi_activate=hang true", hung,
            "vdi_detach vdi_activate=hang",
            "vdi_deactivate cancel-first", "vdi_detach cancel-first"])
        # opsd killed the plugin and reaped it: not even a zombie.
        self.assertIsNone(vmt.process_state(pid))
        self.assert_halted(vm)

    def test_progress_rises_to_one(self):
        vm = self.vm("op-slow")
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        seen = []
        while self.ok("task.get_status", self.session, task) == "pending":
            seen.append(self.ok("task.get_progress", self.session, task))
            time.sleep(0.01)
        rec = self.ok("task.get_record", self.session, task)
        self.assertEqual((rec["status"], rec["progress"]), ("success", 1.0))
        seen.append(rec["progress"])
        self.assertEqual(seen, sorted(seen), "progress went down")
        # Steps done out of 2 per disk plus one (doc/opsd.md).
        self.assertLessEqual(set(seen), {i / 5 for i in range(6)})
        self.assertTrue([p for p in seen if 0 < p < 1], seen)
        slow = ["slow-first;*=sleep:0.4", "slow-second;*=sleep:0.4"]
        self.assertEqual(self.calls(), [
            "vdi_attach %s true" % slow[0], "vdi_activate %s" % slow[0],
            "vdi_attach %s true" % slow[1], "vdi_activate %s" % slow[1]])
        self.assert_running(vm)

    def test_opsd_killed_mid_start(self):
        """Last in this class: it leaves xbtd with its second opsd."""
        vm = self.vm("op-hang")
        spawned = SPAWNED.findall(self.xbtd.stderr())
        opsd = opsd_of(self.xbtd.proc.pid)
        self.assertEqual(spawned, [(str(opsd), spawned[0][1])])
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        wait_for(lambda: "vdi_attach vdi_attach=hang true" in self.calls(),
                 "the hanging vdi_attach")
        pid = wait_for(lambda: plugin_pid(opsd, "vdi_attach",
                                          "vdi_attach=hang"),
                       "hung VMTESTSR process")
        self.addCleanup(kill_group, pid)
        os.kill(opsd, signal.SIGKILL)
        rec = self.wait_ended(task)
        self.assertEqual(rec["status"], "failure")
        ei = rec["error_info"]
        self.assertEqual((len(ei), ei[0]), (2, "INTERNAL_ERROR"), ei)
        # The wait's connection dies: curl sees the reset, or tries again
        # and is refused, as the timing falls.
        self.assertIn(ei[1], ["xbt-opsd: %s: %s" % (why, spawned[0][1])
                              for why in (
                                  "cannot connect to the socket: "
                                  "Connection refused",
                                  "Recv failure: Connection reset by peer",
                                  "Empty reply from server")])
        self.assert_halted(vm)
        # opsd's sweeper killed the plugin's group, and xbtd, the
        # subreaper it came to, reaped it: not even a zombie.
        wait_for(lambda: vmt.process_state(pid) is None,
                 "end of the hung plugin %d" % pid, timeout=5)
        self.assertEqual(vmt.zombie_children(self.xbtd.proc.pid), [])
        # xbtd started a new opsd by itself; the next operation uses it.
        again = wait_for(lambda: [p for p in children(self.xbtd.proc.pid)
                                  if p != opsd and any(
                                      "xbt-opsd" in a
                                      for a in cmdline(p)[:1])],
                         "a new xbt-opsd", timeout=5)
        self.assertEqual(len(again), 1, again)
        again = again[0]
        good = self.vm("op-good")
        self.assertEqual(self.ok("VM.start", self.session, good, False,
                                 False), "")
        self.assert_running(good)
        self.assertEqual(opsd_of(self.xbtd.proc.pid), again)
        err = self.xbtd.stderr()
        self.assertIn("xbt-opsd (pid %d) ended: signal 9" % opsd, err)
        self.assertEqual([p for p, _s in SPAWNED.findall(err)],
                         [str(opsd), str(again)])


# ---- 4: fifty at once, opsd run by the test --------------------------------

N_VMS = 50


def fifty_world():
    """N_VMS VMs of one disk each; every 5th one's vdi_attach fails with
    backend:(100 + its number)."""
    lines = ['<?xml version="1.0"?>', "<world>",
             '  <sr name="f-sr" type="VMTEST">']
    for i in range(N_VMS):
        loc = "vdi_attach=backend:%d" % (100 + i) if i % 5 == 4 \
            else "f-%02d" % i
        lines.append('    <vdi name="f-disk-%02d" location="%s"/>' % (i, loc))
    lines.append("  </sr>")
    lines += ['  <vm name="f-vm-%02d"><vbd vdi="f-disk-%02d"/></vm>' % (i, i)
              for i in range(N_VMS)]
    return "\n".join(lines + ["</world>", ""])


class FiftyAtOnce(OpsdCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = short_tmpdir()
        cls.world = os.path.join(cls.tmp, "world.xml")
        with open(cls.world, "w") as f:
            f.write(fifty_world())
        cls.socket = os.path.join(cls.tmp, "opsd.sock")
        cls.opsd = fx.Opsd(cls.socket, ["--hostname", HOST, "--sm-dir",
                                        vmt.FIXTURE_DIR]).start()
        cls.xbtd_args = ("--hostname", HOST, "--world", cls.world,
                         "--sm-dir", vmt.FIXTURE_DIR,
                         "--opsd-socket", cls.socket)
        try:
            super().setUpClass()
        except BaseException:
            cls.opsd.stop()
            shutil.rmtree(cls.tmp)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            try:
                cls.opsd.stop()
            finally:
                shutil.rmtree(cls.tmp)

    def test_fifty_starts_then_forty_shutdowns(self):
        vms = [self.vm("f-vm-%02d" % i) for i in range(N_VMS)]
        recs = self.all_at_once("Async.VM.start", vms, False, False)
        failing = [i for i in range(N_VMS) if i % 5 == 4]
        for i, (vm, rec) in enumerate(zip(vms, recs)):
            if i not in failing:
                self.assertEqual((rec["status"], rec["error_info"]),
                                 ("success", []), i)
                self.assert_running(vm)
                continue
            n = 100 + i
            self.assertEqual((rec["status"], rec["error_info"]), (
                "failure", ["SR_BACKEND_FAILURE_%d" % n, "",
                            "backend %d in vdi_attach" % n, ""]))
            frames = vmt.backtrace_frames(rec["backtrace"])
            self.assertEqual(runs([f["process"] for f in frames]),
                             ["VMTEST @ h1", OPSD_P, XBTD_P])
            self.assert_halted(vm)
        up = [vm for i, vm in enumerate(vms) if i not in failing]
        recs = self.all_at_once("Async.VM.clean_shutdown", up)
        self.assertEqual([(r["status"], r["error_info"]) for r in recs],
                         [("success", [])] * len(up))
        for vm in up:
            self.assert_halted(vm)
        # xbtd destroyed every task it made in opsd.
        self.assertEqual(self.opsd.client().raw("TASK.list", "test"), [])
        err = self.opsd.stderr()
        self.assertEqual(len(re.findall(r": start as task \d+\n", err)),
                         N_VMS)
        self.assertEqual(len(re.findall(r": clean_shutdown as task \d+\n",
                                        err)), len(up))
        self.assertNotRegex(self.xbtd.stderr(), SPAWNED)


# ---- 6, 7: the processes ----------------------------------------------------

class Processes(unittest.TestCase):

    def setUp(self):
        self.tmp = short_tmpdir()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.socket = os.path.join(self.tmp, "opsd.sock")

    def opsd(self, path=None):
        """An opsd of the demo world's plugins, stopped at the test's end."""
        o = fx.Opsd(path or self.socket, ["--hostname", HOST, "--sm-dir",
                                          DEMO_PLUGINS]).start()
        self.addCleanup(o.stop)
        return o

    def assert_socket_0600(self, path):
        st = os.lstat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def refused(self, path, why):
        """A second xbt-opsd on path (with a state directory of its own)
        exits 1 saying why."""
        state = tempfile.mkdtemp(prefix="state-", dir=self.tmp)
        self.assertEqual(
            fx.run_program([fx.OPSD, "--state-dir", state, "--socket", path],
                           env=fx.clean_env()),
            (1, "", "xbt-opsd: INTERNAL_ERROR [http: %s]\n" % why))

    def test_xbtd_killed_its_opsd_survives(self):
        become_subreaper()
        state = os.path.join(self.tmp, "opsd")
        sock = os.path.join(state, "opsd.sock")
        x = fx.Xbtd(["--hostname", HOST, "--opsd-dir", state]).start()
        self.addCleanup(x.stop)
        opsd = opsd_of(x.proc.pid)
        self.assertEqual(cmdline(opsd)[1:3], ["--state-dir", state])
        self.assertEqual(SPAWNED.findall(x.stderr()), [(str(opsd), sock)])
        self.assertEqual(x.kill(), -signal.SIGKILL)
        self.addCleanup(fx.stop_opsd_of, state)  # should the test fail
        # opsd runs in a session of its own: it came to us and serves on.
        wait_for(lambda: ppid_of(opsd) == os.getpid(),
                 "xbt-opsd %d reparented to the test" % opsd, timeout=5)
        self.assertEqual(socket_answers(sock), [])
        self.assertNotIn(vmt.process_state(opsd), (None, "Z"))
        # The next xbtd on the directory adopts it and starts none.
        y = fx.Xbtd(["--hostname", HOST, "--opsd-dir", state]).start()
        self.addCleanup(y.stop)
        self.assertIn("xbtd info [main] adopting the xbt-opsd serving on %s"
                      % sock, y.stderr())
        self.assertNotRegex(y.stderr(), SPAWNED)
        self.assertEqual([p for p in children(y.proc.pid)
                          if any("xbt-opsd" in a for a in cmdline(p)[:1])],
                         [])
        vm = y.api("VM.get_by_name_label", "demo-ok")[0]
        self.assertEqual(y.api("VM.start", vm, False, False), "")
        self.assertEqual(y.api("VM.hard_shutdown", vm), "")
        # Stopped, it leaves the adopted opsd running.
        y.stop()
        self.assertEqual(socket_answers(sock), [])
        self.assertEqual(ppid_of(opsd), os.getpid())
        os.kill(opsd, signal.SIGTERM)
        self.assertEqual(reap(opsd), 0)
        self.assertIn("xbt-opsd info [main] stopping (Terminated)",
                      x.stderr())
        # It removed its socket; the lock and vms/ stay.
        self.assertEqual(sorted(os.listdir(state)), ["lock", "vms"])
        self.assertEqual(os.listdir(os.path.join(state, "vms")), [])

    def test_external_opsd_outlives_xbtd(self):
        opsd = self.opsd()
        self.assert_socket_0600(self.socket)
        x = fx.Xbtd(["--hostname", HOST, "--opsd-socket", self.socket])
        x.start()
        vm = x.api("VM.get_by_name_label", "demo-ok")[0]
        uuid = x.api("VM.get_uuid", vm)
        try:
            self.assertEqual(x.api("VM.start", vm, False, False), "")
            self.assertEqual(x.api("VM.get_power_state", vm), "Running")
            self.assertEqual(x.api("VM.clean_shutdown", vm), "")
            self.assertEqual(x.api("VM.get_power_state", vm), "Halted")
        finally:
            _took, err = x.stop()
        self.assertNotRegex(err, SPAWNED)
        self.assertTrue(opsd.alive())
        self.assertEqual(opsd.client().raw("TASK.list", "test"), [])
        self.assertRegex(opsd.stderr(),
                         r"VM %s: start as task \d+\n(.*\n)*.*VM %s: "
                         r"clean_shutdown as task \d+\n" % (uuid, uuid))
        # A second opsd leaves the live socket alone.
        self.refused(self.socket, "another server listens on the socket")
        self.assert_socket_0600(self.socket)
        self.assertEqual(opsd.client().raw("TASK.list", "test"), [])
        opsd.stop()
        self.assertFalse(os.path.lexists(self.socket))

    def test_stale_socket_is_replaced(self):
        dead = self.opsd()
        self.assertEqual(dead.kill(), -signal.SIGKILL)
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.socket).st_mode))
        opsd = self.opsd()
        self.assert_socket_0600(self.socket)
        self.assertEqual(opsd.client().raw("TASK.list", "test"), [])

    def test_regular_file_is_refused(self):
        with open(self.socket, "w") as f:
            f.write("not a socket\n")
        self.refused(self.socket, "socket path exists and is not a socket")
        with open(self.socket) as f:
            self.assertEqual(f.read(), "not a socket\n")


if __name__ == "__main__":
    fx.run()
