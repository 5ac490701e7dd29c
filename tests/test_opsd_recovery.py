#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbt-opsd's state directory and recovery, xbtd's supervision of it and
its resync (doc/opsd.md, doc/xbt-opsd.8, doc/xbtd.8), end to end with the
VMTESTSR plugin journalling its calls.

- OpsdDies: opsd SIGKILLed while idle (xbtd starts a new one at once; a
  running VM stays Running), in the middle of a start (the XenAPI task
  fails at once, the sweeper kills the hung plugin and its helper, the new
  opsd undoes the start from its state file), right after a start (the new opsd has
  the VM), and in a crash loop (every new opsd finds the state directory
  locked: the restarts slow down, and opsd comes back once it is free).
- XbtdDies: opsd survives a SIGKILL of xbtd; the next xbtd adopts it,
  starts no other, and leaves it running when stopped; an adopted opsd
  that dies is replaced by one of xbtd's own.
- Resync: a VM opsd runs that xbtd does not know is destroyed in opsd; a
  VM xbtd runs that opsd does not know is Halted (opsd restarted by xbtd,
  and an external opsd coming back); a VM opsd runs that xbtd places
  nowhere (xbtd restarted) is Running here.
- Orphans: ended tasks nobody destroys go after --task-max-age; a pending
  one stays.
- StateDir: a second opsd on a directory is refused; a broken VM file is
  set aside as .bad; half-done operations in the files are finished when
  opsd starts.

Each case runs its own daemons in a directory of its own and ends with
check_procs: no zombie child of xbtd, opsd or this process, no VMTESTSR
process of the case left, and as many open fds in xbtd and opsd as before
the case. This process is a subreaper (test_opsd.become_subreaper), so an
opsd orphaned by its xbtd's death comes to it and is reaped here.
"""

import fcntl
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import fd_count  # noqa: E402
import test_vm_start as vmt  # noqa: E402
import test_opsd as top  # noqa: E402

HOST = vmt.HOST
SPAWNED = top.SPAWNED
ENDED = re.compile(r"xbt-opsd \(pid (\d+)\) ended: (signal|status) (\d+)")
LOCKED = "xbt-opsd: INTERNAL_ERROR [state directory: another xbt-opsd " \
         "holds it]"
# How long daemons get to close what a case opened and reap what ended.
SETTLE = 10.0

# The VMs of the world, by name: their disks' locations (VMTESTSR acts on
# them: "hang-b" hangs in vdi_activate, with a helper process it forked).
VMS = {
    "r-one": ["one"],
    "r-two": ["two-a", "two-b"],
    "r-hang": ["hang-a", "hang-b;vdi_activate=hang_child"],
}


def world_xml(journal, names):
    """A world of the VMs named, on one VMTEST SR journalling to journal."""
    lines = ['<?xml version="1.0"?>', "<world>",
             '  <sr name="r-sr" type="VMTEST">',
             '    <device_config key="journal" value="%s"/>' % journal]
    for vm in VMS:
        for i, loc in enumerate(VMS[vm]):
            lines.append('    <vdi name="%s-%d" location="%s"/>'
                         % (vm, i, loc))
    lines.append("  </sr>")
    for vm in names:
        lines.append('  <vm name="%s">%s</vm>' % (vm, "".join(
            '<vbd vdi="%s-%d" device="xvd%s"/>' % (vm, i, "ab"[i])
            for i in range(len(VMS[vm])))))
    return "\n".join(lines + ["</world>", ""])




def non_socket_fds(pid):
    """pid's descriptors that are not sockets: xbtd keeps up to 16 idle
    connections to opsd (server/xenapi/ops.c), as many as its calls
    overlapped, so opsd's socket count follows the load; its files, pipes
    and event descriptors do not."""
    return sum(1 for f in fd_list(pid) if "->socket:" not in f)


def fd_list(pid):
    out = []
    try:
        for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
            try:
                out.append("%s->%s" % (fd, os.readlink(
                    "/proc/%d/fd/%s" % (pid, fd))))
            except OSError:
                pass
    except OSError:
        pass
    return out


def settled_fds(pid, quiet=0.3, timeout=SETTLE):
    """pid's fd count once it has not changed for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = fd_count(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def eventually(fn, want, timeout=SETTLE):
    """fn()'s value once it equals want, or its last one after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v == want or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def opsd_call(sock, method, *params):
    """One call to the opsd on sock, its connection closed after."""
    c = fx.opsd_client(sock)
    try:
        return c.raw(method, *params)
    finally:
        c.proxy("close")()


class RecoveryCase(vmt.VmCase):
    """One xbtd (or several in turn) per test, on the world above, in a
    short directory of the test's own; self.xbtd and the VmCase helpers
    follow the one in use."""

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        self.tmp = top.short_tmpdir()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.journal = os.path.join(self.tmp, "journal")
        open(self.journal, "w").close()
        self.state = os.path.join(self.tmp, "opsd")
        self.sock = os.path.join(self.state, "opsd.sock")
        self.world = self.write_world("world.xml", list(VMS))
        self.mark = 0
        self.before = None

    def write_world(self, name, vms):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(world_xml(self.journal, vms))
        return path

    # ---- daemons ----

    def start_xbtd(self, *args, world=None):
        """An xbtd on the test's world (or world) and, unless args give
        --opsd-socket, --opsd-dir self.state; stopped at the end."""
        argv = ["--hostname", HOST, "--world", world or self.world,
                "--sm-dir", vmt.FIXTURE_DIR]
        if "--opsd-socket" not in args:
            argv += ["--opsd-dir", self.state]
        x = fx.Xbtd(argv + list(args)).start()
        self.addCleanup(x.stop)
        self.use(x)
        return x

    def use(self, x):
        self.xbtd = x
        self.session = x.session
        self.server = x.proxy()
        self.host()  # opens the connection kept for the whole case

    def start_opsd(self, *args, state=None):
        """An xbt-opsd of the test's own on self.sock (socket, state dir
        self.state unless given), stopped at the end."""
        o = fx.Opsd(self.sock, ["--hostname", HOST, "--sm-dir",
                                vmt.FIXTURE_DIR, "--state-dir",
                                state or self.state] + list(args)).start()
        self.addCleanup(o.stop)
        return o

    def opsd_pid(self):
        return top.opsd_of(self.xbtd.proc.pid)

    def new_opsd(self, old, timeout=3.0):
        """The pid of the opsd xbtd started after old died, once xbtd has
        logged that it runs."""
        def started():
            pids = [int(p) for p, _s in SPAWNED.findall(self.xbtd.stderr())]
            return pids[-1] if pids and pids[-1] != old else None
        return top.wait_for(started, "a new xbt-opsd", timeout=timeout)

    # ---- the journal, the state files ----

    def mark_journal(self):
        with open(self.journal) as f:
            self.mark = len(f.read().splitlines())

    def calls(self):
        """The plugin calls since the last mark_journal."""
        with open(self.journal) as f:
            return f.read().splitlines()[self.mark:]

    def wait_calls(self, n, timeout=top.SOON):
        top.wait_for(lambda: len(self.calls()) >= n,
                     "%d journal lines (have %r)" % (n, self.calls()),
                     timeout=timeout)
        return self.calls()

    def state_file(self, uuid, state=None):
        return os.path.join(state or self.state, "vms", uuid + ".json")

    def read_state(self, uuid, state=None):
        with open(self.state_file(uuid, state)) as f:
            return json.load(f)

    def uuid(self, vm):
        return self.ok("VM.get_uuid", self.session, vm)

    def vdi_uuids(self, vm):
        return [self.ok("VDI.get_uuid", self.session, b["VDI"])
                for b in self.vbd_records(vm)]

    def opsd_disk(self, location):
        """A disk record for a call to opsd itself, on the VMTEST SR."""
        return {"sr_type": "VMTEST",
                "device_config": {"journal": self.journal},
                "host_ref": "OpaqueRef:NULL", "sr_ref": "OpaqueRef:NULL",
                "sr_uuid": "r-sr", "vdi_ref": "OpaqueRef:NULL",
                "vdi_uuid": "vdi-" + location.split(";")[0],
                "vdi_location": location, "mode": "RW"}

    def assert_stays_running(self, vm, seconds=0.6):
        """The VM is Running here, and still is for a while (a resync that
        changes nothing leaves no trace to wait for)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertEqual(self.ok("VM.get_power_state", self.session, vm),
                             "Running")
            time.sleep(0.1)
        return self.assert_running(vm)

    def start(self, name):
        """VM.start of the VM named; asserts it runs. Its ref."""
        vm = self.vm(name)
        self.assertEqual(self.ok("VM.start", self.session, vm, False, False),
                         "")
        self.assert_running(vm)
        return vm

    # ---- /proc ----

    def plugins(self):
        """pids of the live VMTESTSR processes of this case."""
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            argv = top.cmdline(int(p))
            if any(a.endswith("/VMTESTSR") for a in argv) and \
                    any(self.journal in a for a in argv):
                pids.append(int(p))
        return pids

    def snapshot(self, opsd, xbtd=None):
        """The settled fd counts of opsd (its non-socket ones) and of xbtd
        (default: self.xbtd's, if any)."""
        if xbtd is None and self.xbtd is not None:
            xbtd = self.xbtd.proc.pid
        settled_fds(opsd)
        self.before = {"xbt-opsd": non_socket_fds(opsd)}
        if xbtd:
            self.before["xbtd"] = settled_fds(xbtd)

    def fresh_opsd_fds(self):
        """The non-socket fd count of an idle xbt-opsd just started on an
        empty state directory (by this fixture, as every opsd of the
        case)."""
        d = tempfile.mkdtemp(prefix="base-", dir=self.tmp)
        o = fx.Opsd(os.path.join(d, "s.sock"), [
            "--hostname", HOST, "--sm-dir", vmt.FIXTURE_DIR,
            "--state-dir", os.path.join(d, "state")]).start()
        try:
            settled_fds(o.proc.pid)
            return non_socket_fds(o.proc.pid)
        finally:
            o.stop()

    def check_procs(self, opsd, xbtd=None):
        """The end of a case: as many fds in opsd and xbtd (default
        self.xbtd's when the snapshot has one; either may be another
        process than at the snapshot) as then, no zombie child of theirs
        or ours, no VMTESTSR process of the case."""
        pids = {"xbt-opsd": opsd}
        if "xbtd" in self.before:
            pids["xbtd"] = xbtd or self.xbtd.proc.pid
        for name, pid in pids.items():
            want = self.before[name]
            count = non_socket_fds if name == "xbt-opsd" else fd_count
            got = eventually(lambda: count(pid), want)
            self.assertEqual(got, want, "%s %d: fds %r" % (name, pid,
                                                          fd_list(pid)))
        self.check_no_leftovers(*pids.values())

    def check_no_leftovers(self, *pids):
        for pid in pids + (os.getpid(),):
            self.assertEqual(eventually(lambda: vmt.zombie_children(pid),
                                        []), [], "zombies of %d" % pid)
        self.assertEqual(eventually(self.plugins, []), [],
                         "VMTESTSR processes left")


# ---- opsd dies ----------------------------------------------------------

class OpsdDies(RecoveryCase):

    def test_killed_idle_is_restarted(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.assertEqual(SPAWNED.findall(x.stderr()), [(str(opsd),
                                                        self.sock)])
        self.snapshot(opsd)
        vm = self.start("r-one")
        uuid = self.uuid(vm)
        self.assertEqual(self.calls(), ["vdi_attach one true",
                                        "vdi_activate one"])
        self.mark_journal()
        t0 = time.monotonic()
        os.kill(opsd, signal.SIGKILL)
        again = self.new_opsd(opsd)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertEqual(top.opsd_of(x.proc.pid), again)
        err = x.stderr()
        ended = "xbt-opsd (pid %d) ended: signal 9" % opsd
        running = "xbt-opsd running as pid %d on %s" % (again, self.sock)
        self.assertIn(ended, err)
        self.assertIn(running, err)
        self.assertLess(err.index(ended), err.index(running))
        self.assertEqual(ENDED.findall(err), [(str(opsd), "signal", "9")])
        # The VM's file survived: the new opsd has it running, did nothing
        # to its disks, and xbtd keeps it Running.
        self.assertIn("xbt-opsd info [main] VM %s: running in the state "
                      "directory" % uuid, err)
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        self.assertEqual(self.read_state(uuid)["state"], "running")
        self.assert_stays_running(vm)
        self.assertEqual(self.calls(), [])
        self.assertNotIn("resync: VM %s" % uuid, x.stderr())
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.calls(), ["vdi_deactivate one",
                                        "vdi_detach one"])
        self.assertFalse(os.path.exists(self.state_file(uuid)))
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"), [])
        # And a start works.
        self.mark_journal()
        self.start("r-two")
        self.assertEqual(self.calls(), [
            "vdi_attach two-a true", "vdi_activate two-a",
            "vdi_attach two-b true", "vdi_activate two-b"])
        self.check_procs(again)

    def test_killed_mid_start_is_undone(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.snapshot(opsd)
        vm = self.vm("r-hang")
        uuid = self.uuid(vm)
        vdi_a, vdi_b = self.vdi_uuids(vm)
        hang = "hang-b;vdi_activate=hang_child"
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        self.assertEqual(self.wait_calls(4), [
            "vdi_attach hang-a true", "vdi_activate hang-a",
            "vdi_attach %s true" % hang, "vdi_activate %s" % hang])
        plugin = top.wait_for(lambda: top.plugin_pid(opsd, "vdi_activate",
                                                     hang),
                              "hung VMTESTSR process")
        self.addCleanup(top.kill_group, plugin)
        helper = top.wait_for(lambda: top.children(plugin),
                              "the helper of the hung plugin")
        self.assertEqual(len(helper), 1, helper)
        helper = helper[0]
        # The state file says how far the start got.
        st = self.read_state(uuid)
        self.assertEqual((st["uuid"], st["state"]), (uuid, "starting"))
        self.assertEqual([(d["vdi_uuid"], d["vdi_location"], d["attached"],
                           d["activated"]) for d in st["disks"]],
                         [(vdi_a, "hang-a", True, True),
                          (vdi_b, hang, True, False)])
        self.mark_journal()
        t0 = time.monotonic()
        os.kill(opsd, signal.SIGKILL)
        # The XenAPI task fails at once: opsd is out of reach.
        rec = self.wait_task(task, timeout=5)
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertEqual(rec["status"], "failure")
        ei = rec["error_info"]
        self.assertEqual((len(ei), ei[0]), (2, "INTERNAL_ERROR"), ei)
        self.assertTrue(ei[1].startswith("xbt-opsd: "), ei)
        self.assertTrue(ei[1].endswith(": " + self.sock), ei)
        # The sweeper killed the hung plugin's group, its helper too; xbtd
        # (the subreaper both came to) reaped them.
        for pid in (plugin, helper):
            top.wait_for(lambda: vmt.process_state(pid) is None,
                         "end of the hung plugin's process %d" % pid,
                         timeout=5)
        # The new opsd undoes the start, innermost first.
        again = self.new_opsd(opsd)
        self.assertEqual(self.wait_calls(3), [
            "vdi_detach %s" % hang, "vdi_deactivate hang-a",
            "vdi_detach hang-a"])
        top.wait_for(lambda: not os.path.exists(self.state_file(uuid)),
                     "removal of the state file")
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"), [])
        # The state file goes before the recovery task is marked done.
        tasks = top.wait_for(
            lambda: [t for t in [opsd_call(self.sock, "TASK.list", "test")]
                     if all(x["state"] != "pending" for x in t)],
            "the end of the recovery task", timeout=5)[0]
        self.assertEqual([(t["dbg"], t["state"], t["error"], t["debug_info"],
                           t["subtasks"]) for t in tasks],
                         [("recovery", "completed", [],
                           {"operation": "recover", "vm": uuid},
                           {"vdi_detach " + vdi_b: "completed",
                            "vdi_deactivate " + vdi_a: "completed",
                            "vdi_detach " + vdi_a: "completed"})])
        err = x.stderr()
        self.assertIn("xbt-opsd info [main] VM %s: starting in the state "
                      "directory" % uuid, err)
        self.assertRegex(err, r"xbt-opsd info \[main\] VM %s: recover as "
                         r"task %s\n" % (uuid, tasks[0]["id"]))
        self.assert_halted(vm)
        self.assertEqual(self.calls(), [
            "vdi_detach %s" % hang, "vdi_deactivate hang-a",
            "vdi_detach hang-a"])
        # The next start of a good VM works.
        self.mark_journal()
        self.start("r-one")
        self.assertEqual(self.calls(), ["vdi_attach one true",
                                        "vdi_activate one"])
        # The recovery task is nobody's to destroy (it would go after
        # --task-max-age); it holds its cancel switch's eventfd till then.
        self.assertEqual(opsd_call(self.sock, "TASK.destroy", "test",
                                   tasks[0]["id"]), "")
        self.check_procs(again)

    def test_killed_after_start_keeps_the_vm(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.snapshot(opsd)
        vm = self.start("r-two")
        uuid = self.uuid(vm)
        vdis = self.vdi_uuids(vm)
        self.mark_journal()
        os.kill(opsd, signal.SIGKILL)
        again = self.new_opsd(opsd)
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        st = self.read_state(uuid)
        self.assertEqual((st["uuid"], st["state"]), (uuid, "running"))
        self.assertEqual([(d["vdi_uuid"], d["vdi_location"], d["mode"],
                           d["attached"], d["activated"])
                          for d in st["disks"]],
                         [(vdis[0], "two-a", "RW", True, True),
                          (vdis[1], "two-b", "RW", True, True)])
        # xbtd's resync after the restart (it logs nothing when nothing
        # changes) keeps it Running.
        self.assert_stays_running(vm)
        self.assertNotIn("resync: VM %s" % uuid, x.stderr())
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.calls(), [
            "vdi_deactivate two-b", "vdi_detach two-b",
            "vdi_deactivate two-a", "vdi_detach two-a"])
        self.assertFalse(os.path.exists(self.state_file(uuid)))
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"), [])
        self.check_procs(again)

    def test_crash_loop_backs_off(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.snapshot(opsd)
        # With xbtd stopped, opsd dies and the test takes its lock: every
        # opsd xbtd starts then exits at once (status 1).
        os.kill(x.proc.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, x.proc.pid, signal.SIGCONT)
        os.kill(opsd, signal.SIGKILL)
        lock = os.open(os.path.join(self.state, "lock"), os.O_RDWR)
        held = [True]

        def release():
            if held[0]:
                held[0] = False
                os.close(lock)
        self.addCleanup(release)

        def take():
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        top.wait_for(take, "the lock of the dead xbt-opsd", timeout=5)
        t0 = time.monotonic()
        os.kill(x.proc.pid, signal.SIGCONT)
        # The times the refusals appear, seen from here.
        seen = []

        def refusals(n):
            count = x.stderr().count(LOCKED)
            while len(seen) < count:
                seen.append(time.monotonic())
            return count >= n
        top.wait_for(lambda: refusals(1), "a first refused xbt-opsd",
                     timeout=5)
        # While xbtd waits to try again, an operation says so.
        vm = self.vm("r-one")
        self.assertEqual(self.failure("VM.start", self.session, vm, False,
                                      False),
                         ["INTERNAL_ERROR",
                          "xbt-opsd: down, starting it again soon"])
        top.wait_for(lambda: refusals(2), "a second refused xbt-opsd",
                     timeout=10)
        release()
        back = self.new_opsd(opsd, timeout=15)
        t3 = time.monotonic()
        refusals(0)
        self.assertEqual(len(seen), 2, "refused starts: %r" % seen)
        first, gaps = seen[0] - t0, [seen[1] - seen[0], t3 - seen[1]]
        # The first restart is at once, then the delay grows (xbtd counts
        # whole seconds on a one-second tick: about 2 s, then about 4 s;
        # a loop without delay restarted every few milliseconds).
        self.assertLess(first, 1.5, seen)
        self.assertGreaterEqual(gaps[0], 0.5, gaps)
        self.assertGreater(gaps[1], gaps[0] + 0.5, gaps)
        self.assertEqual(ENDED.findall(x.stderr()),
                         [(str(opsd), "signal", "9")])
        self.assertEqual([int(p) for p, _s in SPAWNED.findall(x.stderr())],
                         [opsd, back])
        self.assert_halted(vm)
        self.start("r-one")
        self.check_procs(back)


# ---- xbtd dies ------------------------------------------------------------

class XbtdDies(RecoveryCase):

    def test_killed_xbtd_opsd_is_adopted(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.snapshot(opsd)
        vm = self.start("r-one")
        uuid = self.uuid(vm)
        self.assertEqual(x.kill(), -signal.SIGKILL)
        self.addCleanup(fx.stop_opsd_of, self.state)  # should the test fail
        # opsd lives on (it came to this process) and serves.
        top.wait_for(lambda: top.ppid_of(opsd) == os.getpid(),
                     "xbt-opsd %d reparented to the test" % opsd, timeout=5)
        self.assertNotIn(vmt.process_state(opsd), (None, "Z"))
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        self.mark_journal()
        # A new xbtd on the directory adopts it, starts none, and shows
        # the VM Running here (resync: it placed it nowhere).
        y = self.start_xbtd()
        err = y.stderr()
        self.assertIn("xbtd info [main] adopting the xbt-opsd serving on %s"
                      % self.sock, err)
        self.assertNotRegex(err, SPAWNED)
        self.assertIn("xbtd info [main] resync: VM %s runs in xbt-opsd: "
                      "Running here" % uuid, err)
        self.assertEqual(fx.opsd_pids(self.state), [opsd])
        self.assert_running(vm)
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assertEqual(self.calls(), ["vdi_deactivate one",
                                        "vdi_detach one"])
        self.start("r-one")
        self.assertEqual(fx.opsd_pids(self.state), [opsd])
        self.check_procs(opsd, y.proc.pid)
        # Stopped, xbtd leaves the opsd it adopted running.
        y.stop()
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        self.assertEqual(fx.opsd_pids(self.state), [opsd])
        os.kill(opsd, signal.SIGTERM)
        self.assertEqual(top.reap(opsd), 0)
        self.assertIn("xbt-opsd info [main] stopping (Terminated)",
                      x.stderr())
        self.assertEqual(fx.opsd_pids(self.state), [])
        self.assertEqual(self.read_state(uuid)["state"], "running")
        self.check_no_leftovers()


    def test_adopted_opsd_dying_is_replaced(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.snapshot(opsd)
        vm = self.start("r-one")
        uuid = self.uuid(vm)
        self.assertEqual(x.kill(), -signal.SIGKILL)
        self.addCleanup(fx.stop_opsd_of, self.state)  # should the test fail
        y = self.start_xbtd()
        self.assertIn("adopting the xbt-opsd serving on %s" % self.sock,
                      y.stderr())
        # The adopted opsd dies (it is this process's child by now): xbtd's
        # probe notices, and it starts one of its own, which has the VM.
        top.wait_for(lambda: top.ppid_of(opsd) == os.getpid(),
                     "xbt-opsd %d reparented to the test" % opsd, timeout=5)
        sweeper = [p for p in top.children(opsd)
                   if fx.proc_comm(p) == "xbt-opsd-sweep"]
        self.assertEqual(len(sweeper), 1, sweeper)
        os.kill(opsd, signal.SIGKILL)
        self.assertEqual(top.reap(opsd), -signal.SIGKILL)
        # Its sweeper came to this process too, and ends once it has swept.
        self.assertEqual(top.reap(sweeper[0]), 0)
        self.xbtd = y
        again = self.new_opsd(opsd, timeout=5)
        err = y.stderr()
        gone = "xbtd warn [main] the adopted xbt-opsd on %s is gone" \
            % self.sock
        self.assertIn(gone, err)
        self.assertLess(err.index(gone), err.index(
            "xbt-opsd running as pid %d on %s" % (again, self.sock)))
        self.assertEqual(top.opsd_of(y.proc.pid), again)
        self.assertEqual(fx.opsd_pids(self.state), [again])
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        self.assert_stays_running(vm)
        self.mark_journal()
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assertEqual(self.calls(), ["vdi_deactivate one",
                                        "vdi_detach one"])
        self.check_procs(again, y.proc.pid)


# ---- resync ---------------------------------------------------------------

class Resync(RecoveryCase):

    def test_vm_unknown_to_xbtd_is_destroyed(self):
        o = self.start_opsd()
        x = self.start_xbtd("--opsd-socket", self.sock)
        self.snapshot(o.proc.pid)
        vm = self.start("r-two")
        uuid = self.uuid(vm)
        self.assertEqual(x.kill(), -signal.SIGKILL)
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        # An xbtd whose world has no such VM: opsd shuts it down hard.
        self.mark_journal()
        other = self.write_world("other.xml", ["r-one", "r-hang"])
        y = self.start_xbtd("--opsd-socket", self.sock, world=other)
        self.assertEqual(self.failure("VM.get_by_uuid", self.session, uuid),
                         ["UUID_INVALID", "VM", uuid])
        self.assertIn("xbtd info [main] resync: VM %s runs in xbt-opsd but "
                      "not here: destroying it there" % uuid, y.stderr())
        self.assertEqual(self.calls(), [
            "vdi_deactivate two-b", "vdi_detach two-b",
            "vdi_deactivate two-a", "vdi_detach two-a"])
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"), [])
        self.assertEqual(opsd_call(self.sock, "TASK.list", "test"), [])
        self.assertRegex(o.stderr(), r"xbt-opsd info \[resync\] VM %s: "
                         r"destroy as task \d+\n" % uuid)
        self.assertFalse(os.path.exists(self.state_file(uuid)))
        self.start("r-one")
        self.check_procs(o.proc.pid)

    def test_vm_unknown_to_opsd_is_halted(self):
        x = self.start_xbtd()
        opsd = self.opsd_pid()
        self.snapshot(opsd)
        vm = self.start("r-two")
        keep = self.start("r-one")
        uuid = self.uuid(vm)
        # opsd dies and its file of r-two goes while xbtd is stopped.
        os.kill(x.proc.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, x.proc.pid, signal.SIGCONT)
        os.kill(opsd, signal.SIGKILL)
        os.unlink(self.state_file(uuid))
        self.mark_journal()
        os.kill(x.proc.pid, signal.SIGCONT)
        again = self.new_opsd(opsd)
        top.wait_for(lambda: "resync: VM %s is not in xbt-opsd: Halted"
                     % uuid in x.stderr(), "the resync of VM %s" % uuid)
        self.assert_halted(vm)
        r = self.vm_record(vm)
        self.assertEqual((r["power_state"], r["resident_on"]),
                         ("Halted", "OpaqueRef:NULL"))
        self.assertEqual([b["currently_attached"]
                          for b in self.vbd_records(vm)], [False, False])
        self.assertEqual(self.ok("host.get_resident_VMs", self.session,
                                 self.host()), [keep])
        self.assert_running(keep)
        self.assertEqual(self.calls(), [])
        # It starts again.
        self.start("r-two")
        self.check_procs(again)

    def test_external_opsd_comeback_is_resynced(self):
        o = self.start_opsd()
        x = self.start_xbtd("--opsd-socket", self.sock)
        self.snapshot(o.proc.pid)
        vm = self.start("r-one")
        uuid = self.uuid(vm)
        o.stop()
        self.assertEqual(os.listdir(os.path.join(self.state, "vms")),
                         [uuid + ".json"])
        os.unlink(self.state_file(uuid))
        # xbtd looks once a second: it sees the socket dead, then back.
        time.sleep(1.5)
        self.mark_journal()
        o = self.start_opsd()
        top.wait_for(lambda: "resync: VM %s is not in xbt-opsd: Halted"
                     % uuid in x.stderr(), "the resync of VM %s" % uuid)
        self.assert_halted(vm)
        self.assertNotRegex(x.stderr(), SPAWNED)
        self.assertEqual(self.calls(), [])
        self.start("r-one")
        self.check_procs(o.proc.pid)

    def test_vm_placed_nowhere_runs_here(self):
        o = self.start_opsd()
        x = self.start_xbtd("--opsd-socket", self.sock)
        self.snapshot(o.proc.pid)
        vm = self.start("r-two")
        uuid = self.uuid(vm)
        x.stop()
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": uuid, "state": "running"}])
        # The same world again: the VM is Halted in it, and runs in opsd.
        self.mark_journal()
        y = self.start_xbtd("--opsd-socket", self.sock)
        self.assertIn("xbtd info [main] resync: VM %s runs in xbt-opsd: "
                      "Running here" % uuid, y.stderr())
        r = self.assert_running(vm)
        self.assertEqual(r["resident_on"], self.host())
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.calls(), [
            "vdi_deactivate two-b", "vdi_detach two-b",
            "vdi_deactivate two-a", "vdi_detach two-a"])
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"), [])
        self.check_procs(o.proc.pid)


# ---- orphaned tasks -------------------------------------------------------

class Orphans(RecoveryCase):

    def test_ended_tasks_go_pending_ones_stay(self):
        o = self.start_opsd("--task-max-age", "1")
        self.snapshot(o.proc.pid)
        c = o.client()
        self.addCleanup(lambda: c.proxy("close")())
        done = c.raw("VM.start", "orphan", "o-done", "OpaqueRef:NULL",
                     [self.opsd_disk("o-done")])
        hung = c.raw("VM.start", "orphan", "o-hung", "OpaqueRef:NULL",
                     [self.opsd_disk("o-hung;vdi_attach=hang")])
        top.wait_for(lambda: c.raw("TASK.stat", "t", done)["state"] ==
                     "completed", "the end of task %s" % done)
        rec = c.raw("TASK.stat", "t", done)
        ended = rec["ctime"] + rec["duration"]  # opsd's wall clock
        ids = [t["id"] for t in c.raw("TASK.list", "t")]
        self.assertEqual(ids, [done, hung])
        # Nobody destroys the ended one: it goes once older than 1 s (the
        # collection runs once a second, on whole seconds).
        top.wait_for(lambda: [t["id"] for t in c.raw("TASK.list", "t")] ==
                     [hung], "the collection of task %s" % done,
                     timeout=6)
        self.assertGreaterEqual(time.time() - ended, 1.0)
        self.assertEqual(fx.fails(c.raw, "TASK.stat", "t", done),
                         ["HANDLE_INVALID", "TASK", done])
        # The pending one, as old, stays, a collection later too.
        time.sleep(1.2)
        self.assertEqual([(t["id"], t["state"])
                          for t in c.raw("TASK.list", "t")],
                         [(hung, "pending")])
        # Cancelled, it ends and goes too.
        self.assertEqual(c.raw("TASK.cancel", "t", hung), "")
        top.wait_for(lambda: c.raw("TASK.stat", "t", hung)["state"] ==
                     "failed", "the end of task %s" % hung)
        self.assertEqual(c.raw("TASK.stat", "t", hung)["error"],
                         ["TASK_CANCELLED", "orphan"])
        top.wait_for(lambda: c.raw("TASK.list", "t") == [],
                     "the collection of task %s" % hung, timeout=6)
        # The VM that started is still there; shut down, it goes.
        self.assertEqual(c.raw("VM.list", "t"),
                         [{"uuid": "o-done", "state": "running"}])
        down = c.raw("VM.shutdown", "t", "o-done", "OpaqueRef:NULL", [],
                     False)
        top.wait_for(lambda: c.raw("TASK.stat", "t", down)["state"] ==
                     "completed", "the end of task %s" % down)
        self.assertEqual(c.raw("TASK.destroy", "t", down), "")
        self.assertEqual(c.raw("VM.list", "t"), [])
        calls = self.calls()
        self.assertEqual([c_ for c_ in calls if " o-done" in c_], [
            "vdi_attach o-done true", "vdi_activate o-done",
            "vdi_deactivate o-done", "vdi_detach o-done"])
        self.assertEqual([c_ for c_ in calls if " o-hung" in c_],
                         ["vdi_attach o-hung;vdi_attach=hang true"])
        self.assertEqual(len(calls), 5, calls)
        c.proxy("close")()
        self.check_procs(o.proc.pid)

    def test_default_task_max_age_is_a_minute(self):
        status, out, _err = fx.run_program([fx.OPSD, "--help"])
        self.assertEqual(status, 0)
        self.assertIn("  --task-max-age S         ended tasks kept this long "
                      "(0: no limit) (default 60)\n", out)


# ---- the state directory --------------------------------------------------

class StateDir(RecoveryCase):

    def test_second_opsd_on_one_dir_is_refused(self):
        o = self.start_opsd()
        self.snapshot(o.proc.pid)
        other = os.path.join(self.tmp, "other.sock")
        for argv in (["--state-dir", self.state, "--socket", other],
                     ["--state-dir", self.state]):
            self.assertEqual(fx.run_program([fx.OPSD] + argv,
                                            env=fx.clean_env()),
                             (1, "", LOCKED + "\n"), argv)
        # Neither touched the live socket nor made its own.
        self.assertFalse(os.path.lexists(other))
        self.assertEqual(opsd_call(self.sock, "TASK.list", "test"), [])
        self.assertEqual(sorted(os.listdir(self.state)),
                         ["lock", "opsd.sock", "vms"])
        self.check_procs(o.proc.pid)
        # Through xbtd: its --opsd-dir adopts the one that serves there
        # (and keeps a connection to it: fds are compared above).
        self.start_xbtd()
        self.assertIn("adopting the xbt-opsd serving on %s" % self.sock,
                      self.xbtd.stderr())
        self.assertEqual(fx.opsd_pids(self.state), [o.proc.pid])
        self.check_no_leftovers(o.proc.pid, self.xbtd.proc.pid)

    def test_corrupt_state_file_is_set_aside(self):
        vms = os.path.join(self.state, "vms")
        os.makedirs(vms)
        garbage = b"\x00\xff{not json\n"
        path = os.path.join(vms, "vm-garbage.json")
        with open(path, "wb") as f:
            f.write(garbage)
        self.before = {"xbt-opsd": self.fresh_opsd_fds()}
        o = self.start_opsd()
        self.assertEqual(sorted(os.listdir(vms)), ["vm-garbage.json.bad"])
        with open(path + ".bad", "rb") as f:
            self.assertEqual(f.read(), garbage)
        self.assertIn("xbt-opsd error [main] %s: INTERNAL_ERROR [json: "
                      "unexpected character at byte 0]\n" % path, o.stderr())
        self.assertIn("xbt-opsd error [main] %s: set aside as %s.bad\n"
                      % (path, path), o.stderr())
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"), [])
        self.assertEqual(opsd_call(self.sock, "TASK.list", "test"), [])
        self.check_procs(o.proc.pid)

    def test_state_file_of_a_bad_shape_is_set_aside(self):
        """JSON that is not a VM's record: set aside like garbage, and a
        good file beside them is taken."""
        vms = os.path.join(self.state, "vms")
        os.makedirs(vms)
        shapes = {
            "vm-shape": b'{"uuid":"vm-shape","state":"dancing","disks":[]}\n',
            "vm-array": b"[1, 2]\n",
            "vm-number": b"42\n",
            "vm-nodisks": b'{"state":"running"}\n',
            "vm-diskint": b'{"state":"running","disks":[1]}\n',
            "vm-diskbad": b'{"state":"starting","disks":[{"sr_type":5}]}\n',
        }
        for uuid, text in shapes.items():
            with open(self.state_file(uuid), "wb") as f:
                f.write(text)
        with open(self.state_file("vm-good"), "w") as f:
            json.dump({"uuid": "vm-good", "state": "running",
                       "session_ref": "OpaqueRef:NULL",
                       "disks": [dict(self.opsd_disk("g"), attached=True,
                                      activated=True)]}, f)
        self.before = {"xbt-opsd": self.fresh_opsd_fds()}
        o = self.start_opsd()
        err = o.stderr()
        for uuid in ("vm-shape", "vm-nodisks"):
            self.assertIn("xbt-opsd error [main] %s: INTERNAL_ERROR "
                          "[state file: no state or disks]\n" % uuid, err)
        self.assertEqual(opsd_call(self.sock, "VM.list", "test"),
                         [{"uuid": "vm-good", "state": "running"}])
        self.assertEqual(sorted(os.listdir(vms)),
                         sorted([u + ".json.bad" for u in shapes] +
                                ["vm-good.json"]))
        for uuid, text in shapes.items():
            path = self.state_file(uuid)
            self.assertIn("xbt-opsd error [main] %s: set aside as %s.bad\n"
                          % (path, path), err)
            with open(path + ".bad", "rb") as f:
                self.assertEqual(f.read(), text)
        self.assertEqual(opsd_call(self.sock, "TASK.list", "test"), [])
        self.assertEqual(self.calls(), [])
        self.check_procs(o.proc.pid)

    def test_half_done_operations_are_finished_at_start(self):
        o = self.start_opsd()
        self.snapshot(o.proc.pid)
        c = o.client()
        disks = [self.opsd_disk(loc) for loc in ("s-a", "s-b")]
        ids = [c.raw("VM.start", "t", "vm-start", "OpaqueRef:S1", disks),
               c.raw("VM.start", "t", "vm-stop", "OpaqueRef:S2",
                     [self.opsd_disk(loc) for loc in ("t-a", "t-b")])]
        for i in ids:
            top.wait_for(lambda: c.raw("TASK.stat", "t", i)["state"] ==
                         "completed", "the end of task %s" % i)
        c.proxy("close")()
        o.stop()
        # Files as a dead opsd leaves them: a start that got its first
        # disk up and attached the second, a shutdown that took the second
        # down. Written from the real ones.
        starting = self.read_state("vm-start")
        self.assertEqual((starting["state"], [(d["attached"], d["activated"])
                                              for d in starting["disks"]]),
                         ("running", [(True, True), (True, True)]))
        starting["state"] = "starting"
        starting["disks"][1]["activated"] = False
        stopping = self.read_state("vm-stop")
        stopping["state"] = "stopping"
        stopping["disks"][1]["activated"] = False
        stopping["disks"][1]["attached"] = False
        for uuid, rec in (("vm-start", starting), ("vm-stop", stopping)):
            with open(self.state_file(uuid), "w") as f:
                json.dump(rec, f)
        self.mark_journal()
        o = self.start_opsd()
        self.assertIn("xbt-opsd info [main] VM vm-start: starting in the "
                      "state directory", o.stderr())
        self.assertIn("xbt-opsd info [main] VM vm-stop: stopping in the "
                      "state directory", o.stderr())
        top.wait_for(lambda: opsd_call(self.sock, "VM.list", "test") == [],
                     "the end of recovery")
        calls = self.wait_calls(5)
        self.assertEqual([c_ for c_ in calls if " s-" in c_],
                         ["vdi_detach s-b", "vdi_deactivate s-a",
                          "vdi_detach s-a"])
        self.assertEqual([c_ for c_ in calls if " t-" in c_],
                         ["vdi_deactivate t-a", "vdi_detach t-a"])
        self.assertEqual(len(calls), 5, calls)
        # The VM record goes before its recovery task is marked ended.
        top.wait_for(lambda: all(t["state"] != "pending" for t in
                                 opsd_call(self.sock, "TASK.list", "test")),
                     "the recovery tasks to end")
        tasks = opsd_call(self.sock, "TASK.list", "test")
        self.assertEqual(sorted((t["dbg"], t["state"],
                                 t["debug_info"]["vm"],
                                 t["debug_info"]["operation"])
                                for t in tasks),
                         [("recovery", "completed", "vm-start", "recover"),
                          ("recovery", "completed", "vm-stop", "recover")])
        self.assertEqual(os.listdir(os.path.join(self.state, "vms")), [])
        # Destroyed (else they go after --task-max-age, holding their
        # cancel switches' eventfds till then), opsd is back to its count.
        for t in tasks:
            self.assertEqual(opsd_call(self.sock, "TASK.destroy", "test",
                                       t["id"]), "")
        self.check_procs(o.proc.pid)


if __name__ == "__main__":
    top.become_subreaper()
    fx.run()
