#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Pools II (issue 15, doc/pools.md): VM operations placed on and forwarded
to slaves, backtraces across hosts, hosts that fail, end to end.

Hosts are xbtd on 127.0.0.x sharing one port (test_pools.Pool), each with
its own state directory and its own xbt-opsd; h1 is the master and loads
tests/worlds/pool_ops.xml (the VMTESTSR plugin journalling its calls to the
test's file; every host's plugin writes there). Which host ran a plugin is
read from that host's stderr (its xbt-opsd logs every "SM call") and, for a
plugin that hangs, from the process tree (a child of that host's opsd).

- Forwarding: h3 then h2 join h1 (h3's record comes first, h2's name
  first). The PBDs of the joined hosts are plugged; placement of VM.start
  (affinity, then the master, then the others by name_label;
  NO_HOSTS_AVAILABLE); VM.start_on and its refusals (HOST_OFFLINE,
  VM_REQUIRES_SR); a start and both shutdowns run on h2 (journal, h2's
  opsd and state file, records, event.from); paused; PBD.plug/unplug on a
  slave; every way a plugin fails (tests/test_vm_start.py's list) through a
  forwarded Async.VM.start: the exact error_info, the journal, and
  task.backtrace's groups "VMTEST @ h2", "xbt-opsd @ h2", "xbtd @ h2",
  "xbtd @ h1" frame by frame; the same errors as on the master; task.cancel
  across hosts; fifty forwarded starts at once.
- HostOffline: h2 SIGKILLed and gone not live: HOST_OFFLINE for start_on,
  shutdowns and PBD.plug, before anything is sent; VM.start places
  elsewhere.
- ConnectionLost: h2 SIGKILLed while its plugin sleeps in a forwarded
  start (--host-dead-after 60): CANNOT_CONTACT_HOST within 5 s.
- MasterDown: the master SIGKILLed while a VM runs on h2: h2 keeps
  answering HOST_IS_SLAVE and keeps its VM; the master restarted.

Daemons are killed by pid only; every daemon is stopped by the fixture
(exit status 0, no sanitizer report in its stderr). Observations the spec
leaves open are printed as "OBSERVED: ..." lines.
"""

import concurrent.futures
import json
import os
import re
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_pools as tp  # noqa: E402
import test_vm_start as vmt  # noqa: E402
import test_opsd as top  # noqa: E402

MASTER = tp.MASTER
NULL = "OpaqueRef:NULL"
WORLD_SRC = os.path.join(fx.SRCDIR, "tests", "worlds", "pool_ops.xml")
PLUGIN_TIMEOUT = vmt.PLUGIN_TIMEOUT
TASK_TIMEOUT = vmt.TASK_TIMEOUT
SOON = top.SOON
N_VMS = 50
PLUGIN = os.path.join(vmt.FIXTURE_DIR, "VMTESTSR")
PLUGIN_SRC = os.path.join(fx.SRCDIR, "tests", "plugins", "VMTESTSR")


def observed(what, value):
    sys.stdout.write("OBSERVED: %s: %r\n" % (what, value))
    sys.stdout.flush()


def kind(index, frame):
    """The human form's word for a frame (doc/backtraces.md)."""
    if index == 0:
        return "Raised at"
    return "Re-raised at" if frame["is_raise"] else "Called from"


def opsd_call(sock, method, *params):
    c = fx.opsd_client(sock)
    try:
        return c.raw(method, *params)
    finally:
        c.proxy("close")()


class PoolOps(unittest.TestCase):
    """A pool on tests/worlds/pool_ops.xml: h1 the master, the others
    joined in the order JOIN; every host with --sm-dir of the fixture
    plugins and --plugin-timeout PLUGIN_TIMEOUT."""

    NAMES = ("h1", "h2")
    JOIN = ("h2",)
    MASTER_EXTRA = ()

    @classmethod
    def setUpClass(cls):
        cls.pool = tp.Pool(["127.0.0.%d" % (i + 1)
                            for i in range(len(cls.NAMES))])
        try:
            cls.journal = os.path.join(cls.pool.dir, "journal")
            open(cls.journal, "w").close()
            with open(WORLD_SRC) as f:
                world = f.read().replace("@JOURNAL@", cls.journal)
            cls.world = os.path.join(cls.pool.dir, "world.xml")
            with open(cls.world, "w") as f:
                f.write(world)
            common = ["--sm-dir", vmt.FIXTURE_DIR, "--plugin-timeout",
                      str(PLUGIN_TIMEOUT)]
            specs = [("h1", MASTER, common + ["--world", cls.world] +
                      list(cls.MASTER_EXTRA))]
            specs += [(n, "127.0.0.%s" % n[1:], common)
                      for n in cls.NAMES[1:]]
            cls.x = dict(zip(cls.NAMES, cls.pool.start(specs)))
            cls.master = cls.x["h1"]
            for n in cls.JOIN:
                result = tp.join(cls.x[n], cls.master)
                assert result == "", (n, result)
            for n in cls.JOIN:
                got = tp.eventually(lambda: tp.live(cls.master, n), True,
                                    15, 0.1)
                assert got is True, "%s not live after joining" % n
            cls.refs = {h["name_label"]: r for r, h in
                        cls.master.api("host.get_all_records").items()}
        except BaseException:
            cls.pool.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pool.stop()

    def setUp(self):
        with open(self.journal) as f:
            self.mark = len(f.read().splitlines())
        self.mark_stderr()

    # ---- the master's API ----

    @property
    def api(self):
        return type(self).master.api

    def fails(self, method, *params):
        return fx.fails(self.api, method, *params)

    def vm(self, name):
        """The VM named; halted at the end of the test if the test fails
        with it running."""
        refs = self.api("VM.get_by_name_label", name)
        self.assertEqual(len(refs), 1, name)
        self.addCleanup(self.halt, refs[0])
        return refs[0]

    def halt(self, vm):
        try:
            if self.api("VM.get_power_state", vm) != "Halted":
                self.api("VM.hard_shutdown", vm)
        except (fx.XenAPIError, OSError):
            pass

    def sr(self, name):
        refs = self.api("SR.get_by_name_label", name)
        self.assertEqual(len(refs), 1, name)
        return refs[0]

    def pbd_on(self, sr_name, host):
        """The PBD of the SR named on host (a name)."""
        ref = self.api("host.get_by_name_label", host)[0]
        pbds = [p for p in self.api("SR.get_PBDs", self.sr(sr_name))
                if self.api("PBD.get_host", p) == ref]
        self.assertEqual(len(pbds), 1, (sr_name, host))
        return pbds[0]

    def vdis(self, vm):
        return [self.api("VBD.get_VDI", b)
                for b in self.api("VM.get_VBDs", vm)
                if self.api("VBD.get_VDI", b) != NULL]

    def location(self, vm, index=0):
        return self.api("VDI.get_location", self.vdis(vm)[index])

    def wait_task(self, task, timeout=TASK_TIMEOUT):
        """The task's record once it is neither pending nor cancelling."""
        deadline = time.monotonic() + timeout
        while self.api("task.get_status", task) in ("pending", "cancelling"):
            if time.monotonic() > deadline:
                self.fail("task %s not ended after %.0f s" % (task, timeout))
            time.sleep(0.02)
        return self.api("task.get_record", task)

    def async_call(self, method, *params):
        task = self.api(method, *params)
        self.assertRegex(task, r"^OpaqueRef:[0-9a-f-]{36}$")
        return task, self.wait_task(task)

    def start_ok(self, vm, paused=False):
        task, rec = self.async_call("Async.VM.start", vm, paused, False)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"]),
                         ("success", [], ""), rec)
        return task, rec

    def async_fails(self, error_info, method, *params):
        """Async method(*params) fails with exactly error_info: the task's
        record."""
        _t, rec = self.async_call(method, *params)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"]),
                         ("failure", error_info, ""), rec)
        return rec

    def resident_on(self, vm):
        return self.api("VM.get_resident_on", vm)

    def host_name(self, ref):
        return self.api("host.get_name_label", ref) if ref != NULL else NULL

    def assert_running_on(self, vm, host, state="Running"):
        r = self.api("VM.get_record", vm)
        self.assertEqual((r["power_state"], self.host_name(r["resident_on"])),
                         (state, host))
        self.assertEqual(r["resident_on"], self.refs[host])
        self.assertNotEqual(r["domid"], "-1")
        self.assertEqual(r["current_operations"], {})
        # doc/design.md, "VM power states"
        want = ["clean_reboot", "clean_shutdown", "hard_reboot",
                "hard_shutdown", "pause", "suspend"] if state == "Running" \
            else ["hard_reboot", "hard_shutdown", "unpause"]
        self.assertEqual(sorted(r["allowed_operations"]), want)
        for b in r["VBDs"]:
            if self.api("VBD.get_VDI", b) != NULL:
                self.assertIs(self.api("VBD.get_currently_attached", b),
                              True, b)
        for name, ref in self.refs.items():
            residents = self.api("host.get_resident_VMs", ref)
            if name == host:
                self.assertIn(vm, residents, name)
            else:
                self.assertNotIn(vm, residents, name)
        return r

    def assert_halted(self, vm):
        r = self.api("VM.get_record", vm)
        self.assertEqual((r["power_state"], r["resident_on"], r["domid"],
                          r["current_operations"]),
                         ("Halted", NULL, "-1", {}))
        self.assertIn("start", r["allowed_operations"])
        for b in r["VBDs"]:
            self.assertIs(self.api("VBD.get_currently_attached", b), False,
                          b)
        for ref in self.refs.values():
            self.assertNotIn(vm, self.api("host.get_resident_VMs", ref))
        return r

    # ---- the journal, the hosts' logs and opsds ----

    def calls(self):
        """The plugin calls made since the test began, on any host."""
        with open(self.journal) as f:
            return f.read().splitlines()[self.mark:]

    def mark_stderr(self):
        self.err_marks = {n: len(x.stderr()) for n, x in self.x.items()}

    def new_stderr(self, name):
        return self.x[name].stderr()[self.err_marks.get(name, 0):]

    def sm_calls_of(self, name, command, key, ref):
        """How many "SM call: VMTEST command" lines host name's opsd (or
        xbtd) logged since the test began for the object ref (key: vdi_ref
        or sr_ref)."""
        return len(re.findall(r'SM call: VMTEST %s \{[^\n]*%s: "%s"'
                              % (command, key, re.escape(ref)),
                              self.new_stderr(name)))

    def assert_ran_on(self, host, command, key, ref, times=1):
        """The plugin's command on ref ran on host, and on no other."""
        for name in self.x:
            with self.subTest(ran_on=host, command=command, host=name):
                self.assertEqual(self.sm_calls_of(name, command, key, ref),
                                 times if name == host else 0)

    def opsd_dir(self, name):
        return self.x[name].opsd_dir

    def opsd_vms(self, name):
        return opsd_call(os.path.join(self.opsd_dir(name), "opsd.sock"),
                         "VM.list", "test_pools_ops")

    def opsd_state(self, name, vm):
        """The state of vm in host name's xbt-opsd (VM.list), or None."""
        uuid = self.api("VM.get_uuid", vm)
        states = [v["state"] for v in self.opsd_vms(name)
                  if v["uuid"] == uuid]
        self.assertLessEqual(len(states), 1)
        return states[0] if states else None

    def state_file(self, name, uuid):
        return os.path.join(self.opsd_dir(name), "vms", uuid + ".json")

    def the_opsd(self, name):
        pids = fx.opsd_pids(self.opsd_dir(name))
        self.assertEqual(len(pids), 1, (name, pids))
        return pids[0]

    # ---- backtraces across hosts ----

    def assert_chain(self, frames, chain):
        """The (filename, name) pairs of chain appear in frames in order."""
        seen = [(f["filename"], f.get("name")) for f in frames]
        at = 0
        for want in chain:
            self.assertIn(want, seen[at:], "%r not in order in %r"
                          % (want, seen))
            at = seen.index(want, at) + 1

    def assert_forwarded_frames(self, rec, chain=None, host="h2",
                                step="vmops_start", entry="vm_start"):
        """task.backtrace of a failure forwarded to host: the plugin's
        frames when chain names them (test_vm_start's plugin_frames, with
        process "VMTEST @ host"), then xbt-opsd's, the slave's xbtd's, the
        master's; each group's first frame a raise ("Raised at" for the
        first, "Re-raised at" for the others), and the only one in each
        xbtd's group (opsd may re-raise inside: a parser's error turned
        into the plugin's, as on a standalone host)."""
        frames = vmt.backtrace_frames(rec["backtrace"])
        procs = [f["process"] for f in frames]
        groups = top.runs(procs)
        want = (["VMTEST @ %s" % host] if chain else []) + [
            "xbt-opsd @ %s" % host, "xbtd @ %s" % host, "xbtd @ h1"]
        self.assertEqual(groups, want, "process groups of %r" % frames)
        starts = [i for i in range(len(frames))
                  if i == 0 or procs[i] != procs[i - 1]]
        self.assertEqual([kind(i, frames[i]) for i in starts],
                         ["Raised at"] + ["Re-raised at"] * (len(want) - 1),
                         "first frames %r" % [frames[i] for i in starts])
        by = {}
        for s, e in zip(starts, starts[1:] + [len(frames)]):
            by[procs[s]] = frames[s:e]
        if chain:
            plugin = by["VMTEST @ %s" % host]
            expect = [{"process": "VMTEST @ %s" % host, "filename": PLUGIN,
                       "line": vmt.line_of(PLUGIN_SRC, needle),
                       "chars_start": 0, "chars_end": 0, "is_inline": False,
                       "is_raise": False} for needle in chain]
            expect.append(dict(expect[0], filename=os.path.join(
                vmt.FIXTURE_DIR, "xbtsm.py"),
                line=vmt.line_of(vmt.KIT_SRC, vmt.KIT_MARK)))
            expect[0]["is_raise"] = True
            self.assertEqual(plugin, expect)
        for p in want:
            if p.startswith("VMTEST"):
                continue
            group = by[p]
            if p.startswith("xbtd"):
                self.assertEqual([f["is_raise"] for f in group],
                                 [True] + [False] * (len(group) - 1),
                                 "%s: %r" % (p, group))
            for f in group:
                self.assertIn("name", f, f)
                self.assertGreater(f["line"], 0, f)
                self.assertEqual((f["chars_start"], f["chars_end"],
                                  f["is_inline"]), (0, 0, False), f)
                self.assertFalse(os.path.isabs(f["filename"]), f)
                # Each frame points at the macro that recorded it.
                self.assertRegex(vmt.source_line(f["filename"], f["line"]),
                                 r"XBT_|SM_(RE)?FAIL", f)
        opsd = by["xbt-opsd @ %s" % host]
        self.assertEqual((opsd[-1]["filename"], opsd[-1]["name"]),
                         ("server/xenops/vm.c", "vm_job_run"))
        self.assert_chain(opsd, [("server/common/sm_run.c", "sm_call"),
                                 ("server/common/vmops.c", "vmops_step"),
                                 ("server/common/vmops.c", step),
                                 ("server/xenops/vm.c", "vm_job_run")])
        h1 = by["xbtd @ h1"]
        self.assertEqual((h1[-1]["filename"], h1[-1]["name"]),
                         ("server/xenapi/dispatch.c", "async_run"))
        self.assert_chain(h1, [("server/xenapi/vm.c", "vm_run_ops"),
                               ("server/xenapi/vm.c", entry),
                               ("server/xenapi/dispatch.c", "async_run")])
        return frames


# ---- forwarding, placement, failures -------------------------------------

class Forwarding(PoolOps):
    NAMES = ("h1", "h2", "h3")
    JOIN = ("h3", "h2")

    # ---- the pool as joined ----

    def test_pbds_of_joined_hosts_are_plugged(self):
        for sr_name, attached in (("po-shared", True), ("po-spread", False),
                                  ("po-noop", True)):
            for host in ("h1", "h2", "h3"):
                with self.subTest(sr=sr_name, host=host):
                    self.assertIs(self.api("PBD.get_currently_attached",
                                           self.pbd_on(sr_name, host)),
                                  attached)
        for sr_name, host, attached in (("po-on-h2", "h2", True),
                                        ("po-on-h3", "h3", True),
                                        ("po-h2-off", "h2", False),
                                        ("po-h2-broken", "h2", False)):
            with self.subTest(sr=sr_name, host=host):
                self.assertEqual(len(self.api("SR.get_PBDs",
                                              self.sr(sr_name))), 1)
                self.assertIs(self.api("PBD.get_currently_attached",
                                       self.pbd_on(sr_name, host)), attached)
        with open(self.journal) as f:
            observed("plugin calls before the first test (the joins)",
                     f.read().splitlines())
        # Every PBD as the SR's plugged says, a declared host's too.
        self.assertIs(self.api("PBD.get_currently_attached",
                               self.pbd_on("po-shared", "h4")), True)

    # ---- placement ----

    def placed(self, name):
        """VM.start of the VM named: the name of the host it runs on (then
        hard_shutdown)."""
        vm = self.vm(name)
        self.assertEqual(self.api("VM.start", vm, False, False), "")
        try:
            return self.host_name(self.resident_on(vm))
        finally:
            self.api("VM.hard_shutdown", vm)
            self.assert_halted(vm)

    def test_placement(self):
        for name, host in (("v-aff-h2", "h2"),      # affinity
                           ("v-aff-h3", "h3"),
                           ("v-plain", "h1"),       # no affinity: the master
                           ("v-aff-h1", "h1"),
                           ("v-aff-h4", "h1"),      # affinity not live
                           ("v-on-h2", "h2"),       # only h2 has the SR
                           ("v-on-h2-aff-h3", "h2"),
                           ("v-both", "h2"),        # h2 has both SRs
                           ("v-empty-aff-h2", "h2")):  # no disk
            with self.subTest(vm=name):
                self.assertEqual(self.placed(name), host)

    def test_no_hosts_available(self):
        for name in ("v-h2-h3",    # no host has both SRs
                     "v-on-h4",    # its SR's host is not live
                     "v-h2-off"):  # its SR is plugged nowhere
            with self.subTest(vm=name):
                vm = self.vm(name)
                self.assertEqual(self.fails("VM.start", vm, False, False),
                                 ["NO_HOSTS_AVAILABLE"])
                self.async_fails(["NO_HOSTS_AVAILABLE"], "Async.VM.start",
                                 vm, False, False)
                self.assert_halted(vm)
        self.assertEqual(self.calls(), [])

    def test_placement_by_name_label(self):
        """po-spread is plugged nowhere; plugging its PBDs one host at a
        time moves where v-spread starts: h3 alone, then h2 before h3 (by
        name; h3's record is older), then the master before both."""
        sr = self.sr("po-spread")
        vm, aff3 = self.vm("v-spread"), self.vm("v-spread-aff-h3")
        self.assertEqual(self.fails("VM.start", vm, False, False),
                         ["NO_HOSTS_AVAILABLE"])
        plugged = []
        try:
            for host, want, want_aff3 in (("h3", "h3", "h3"),
                                          ("h2", "h2", "h3"),
                                          ("h1", "h1", "h3")):
                with self.subTest(plugged=host):
                    pbd = self.pbd_on("po-spread", host)
                    self.assertEqual(self.api("PBD.plug", pbd), "")
                    plugged.append(pbd)
                    self.assertIs(self.api("PBD.get_currently_attached",
                                           pbd), True)
                    self.assert_ran_on(host, "sr_attach", "sr_ref", sr,
                                       times=1)
                    self.assertEqual(self.placed("v-spread"), want)
                    self.assertEqual(self.placed("v-spread-aff-h3"),
                                     want_aff3)
                    self.mark_stderr()
        finally:
            for pbd in plugged:
                self.api("PBD.unplug", pbd)
        for host in ("h1", "h2", "h3"):
            self.assertIs(self.api("PBD.get_currently_attached",
                                   self.pbd_on("po-spread", host)), False)
        self.assertEqual(self.calls().count("sr_attach "), 3)
        self.assertEqual(self.calls().count("sr_detach "), 3)
        self.assertEqual(self.fails("VM.start", vm, False, False),
                         ["NO_HOSTS_AVAILABLE"])
        self.assert_halted(aff3)

    # ---- VM.start_on ----

    def test_start_on_refused(self):
        h = self.refs
        cases = [
            ("v-on-h4", "h4", ["HOST_OFFLINE", h["h4"]]),
            ("v-aff-h2", "h4", ["HOST_OFFLINE", h["h4"]]),
            ("v-on-h2", "h1", ["VM_REQUIRES_SR", None, "po-on-h2"]),
            ("v-on-h2", "h3", ["VM_REQUIRES_SR", None, "po-on-h2"]),
            ("v-on-h4", "h2", ["VM_REQUIRES_SR", None, "po-on-h4"]),
            ("v-h2-off", "h2", ["VM_REQUIRES_SR", None, "po-h2-off"]),
            ("v-h2-h3", "h2", ["VM_REQUIRES_SR", None, "po-on-h3"]),
            ("v-h2-h3", "h3", ["VM_REQUIRES_SR", None, "po-on-h2"]),
            ("v-spread", "h1", ["VM_REQUIRES_SR", None, "po-spread"]),
        ]
        for name, host, want in cases:
            vm = self.vm(name)
            if want[0] == "VM_REQUIRES_SR":
                want = ["VM_REQUIRES_SR", vm, self.sr(want[2])]
            with self.subTest(vm=name, host=host):
                self.assertEqual(self.fails("VM.start_on", vm, h[host],
                                            False, False), want)
                self.async_fails(want, "Async.VM.start_on", vm, h[host],
                                 False, False)
                self.assert_halted(vm)
        bad = "OpaqueRef:00000000-0000-0000-0000-000000000000"
        vm = self.vm("v-aff-h2")
        self.assertEqual(self.fails("VM.start_on", vm, bad, False, False),
                         ["HANDLE_INVALID", "host", bad])
        self.assertEqual(self.fails("VM.start_on", bad, h["h2"], False,
                                    False), ["HANDLE_INVALID", "VM", bad])
        self.assertEqual(self.calls(), [])

    def test_start_on_overrides_affinity(self):
        vm = self.vm("v-aff-h3")
        loc = self.location(vm)
        vdi = self.vdis(vm)[0]
        self.assertEqual(self.api("VM.start_on", vm, self.refs["h2"], False,
                                  False), "")
        self.assert_running_on(vm, "h2")
        self.assert_ran_on("h2", "vdi_attach", "vdi_ref", vdi)
        self.assertEqual(self.fails("VM.start_on", vm, self.refs["h1"],
                                    False, False),
                         ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        self.assertEqual(self.api("VM.hard_shutdown", vm), "")
        self.assert_halted(vm)
        self.assert_ran_on("h2", "vdi_detach", "vdi_ref", vdi)
        # Async, on the master this time.
        self.mark_stderr()
        _t, rec = self.async_call("Async.VM.start_on", vm, self.refs["h1"],
                                  False, False)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"]),
                         ("success", [], ""))
        self.assert_running_on(vm, "h1")
        self.assert_ran_on("h1", "vdi_attach", "vdi_ref", vdi)
        self.assertEqual(self.api("VM.clean_shutdown", vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.calls(), [
            "vdi_attach %s true" % loc, "vdi_activate %s" % loc,
            "vdi_deactivate %s" % loc, "vdi_detach %s" % loc] * 2)

    # ---- a VM on a slave ----

    def test_start_and_clean_shutdown_on_slave(self):
        vm = self.vm("v-aff-h2")
        uuid = self.api("VM.get_uuid", vm)
        rw, ro = self.vdis(vm)
        self.assertEqual(self.api("VM.start", vm, False, False), "")
        self.assertEqual(self.calls(), [
            "vdi_attach sh-rw true", "vdi_activate sh-rw",
            "vdi_attach sh-ro false", "vdi_activate sh-ro"])
        for command in ("vdi_attach", "vdi_activate"):
            for vdi in (rw, ro):
                self.assert_ran_on("h2", command, "vdi_ref", vdi)
        self.assert_running_on(vm, "h2")
        # h2's xbt-opsd runs it, and keeps it in its state directory.
        self.assertEqual((self.opsd_state("h2", vm),
                          self.opsd_state("h1", vm)), ("running", None))
        with open(self.state_file("h2", uuid)) as f:
            st = json.load(f)
        self.assertEqual((st["uuid"], st["state"]), (uuid, "running"))
        self.assertFalse(os.path.exists(self.state_file("h1", uuid)))
        self.assertEqual(self.fails("VM.start", vm, False, False),
                         ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        self.assertEqual(self.api("VM.clean_shutdown", vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.calls()[4:], [
            "vdi_deactivate sh-ro", "vdi_detach sh-ro",
            "vdi_deactivate sh-rw", "vdi_detach sh-rw"])
        for command in ("vdi_deactivate", "vdi_detach"):
            for vdi in (rw, ro):
                self.assert_ran_on("h2", command, "vdi_ref", vdi)
        self.assertIsNone(self.opsd_state("h2", vm))
        self.assertFalse(os.path.exists(self.state_file("h2", uuid)))

    def test_hard_shutdown_on_slave_async(self):
        vm = self.vm("v-on-h2")
        vdi = self.vdis(vm)[0]
        _t, rec = self.start_ok(vm)
        # The master's task says where the VM went (doc/pools.md).
        self.assertEqual(rec["resident_on"], self.refs["h2"])
        self.assert_running_on(vm, "h2")
        _t, rec = self.async_call("Async.VM.hard_shutdown", vm)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"]),
                         ("success", [], ""))
        self.assert_halted(vm)
        self.assertEqual(self.calls(), [
            "vdi_attach h2-a true", "vdi_activate h2-a",
            "vdi_deactivate h2-a", "vdi_detach h2-a"])
        for command in ("vdi_attach", "vdi_activate", "vdi_deactivate",
                        "vdi_detach"):
            self.assert_ran_on("h2", command, "vdi_ref", vdi)
        self.assertIsNone(self.opsd_state("h2", vm))

    def test_start_paused_on_slave(self):
        vm = self.vm("v-paused")
        self.assertEqual(self.api("VM.start", vm, True, False), "")
        self.assert_running_on(vm, "h2", state="Paused")
        self.assertEqual(self.fails("VM.clean_shutdown", vm),
                         ["VM_BAD_POWER_STATE", vm, "running", "paused"])
        self.assert_running_on(vm, "h2", state="Paused")
        self.assertEqual(self.api("VM.hard_shutdown", vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.calls(), [
            "vdi_attach sh-paused true", "vdi_activate sh-paused",
            "vdi_deactivate sh-paused", "vdi_detach sh-paused"])
        self.assert_ran_on("h2", "vdi_detach", "vdi_ref", self.vdis(vm)[0])

    def read_events(self, token, done, timeout=30.0):
        events = []
        deadline = time.monotonic() + timeout
        while not done(events):
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, "events so far: %r" % [
                (e["class"], e["operation"], e["ref"]) for e in events])
            r = self.api("event.from", ["vm", "vbd", "host", "task"], token,
                         min(left, 5.0))
            events += r["events"]
            token = r["token"]
        return events, token

    def test_events_of_a_forwarded_start(self):
        vm = self.vm("v-events")
        vbd = self.api("VM.get_VBDs", vm)[0]
        h2 = self.refs["h2"]
        pool = self.api("pool.get_all")[0]
        token = self.api("event.inject", "pool", pool)

        def ended(task):
            return lambda evs: any(
                e["class"] == "task" and e["ref"] == task and
                e.get("snapshot", {}).get("status") in
                ("success", "failure", "cancelled") for e in evs)

        task = self.api("Async.VM.start", vm, False, False)
        evs, token = self.read_events(token, ended(task))
        last = {}
        for e in evs:
            last[(e["class"], e["ref"])] = e.get("snapshot")
        self.assertEqual(last[("task", task)]["status"], "success")
        s = last[("vm", vm)]
        self.assertEqual((s["power_state"], s["resident_on"],
                          s["current_operations"]), ("Running", h2, {}))
        self.assertEqual(s, self.api("VM.get_record", vm))
        self.assertIs(last[("vbd", vbd)]["currently_attached"], True)
        self.assertIn(vm, last[("host", h2)]["resident_VMs"])
        self.assertNotIn(("host", self.refs["h1"]),
                         [k for k, v in last.items()
                          if k[0] == "host" and vm in v["resident_VMs"]])
        # The shutdown's events.
        task = self.api("Async.VM.clean_shutdown", vm)
        evs, token = self.read_events(token, ended(task))
        last = {}
        for e in evs:
            last[(e["class"], e["ref"])] = e.get("snapshot")
        self.assertEqual(last[("task", task)]["status"], "success")
        s = last[("vm", vm)]
        self.assertEqual((s["power_state"], s["resident_on"]),
                         ("Halted", NULL))
        self.assertIs(last[("vbd", vbd)]["currently_attached"], False)
        self.assertNotIn(vm, last[("host", h2)]["resident_VMs"])
        self.assert_halted(vm)

    # ---- PBDs of a slave ----

    def test_pbd_plug_and_unplug_on_slave(self):
        sr = self.sr("po-h2-off")
        pbd = self.pbd_on("po-h2-off", "h2")
        vm = self.vm("v-h2-off")
        self.assertEqual(self.api("PBD.plug", pbd), "")
        try:
            self.assertIs(self.api("PBD.get_currently_attached", pbd), True)
            self.assertEqual(self.calls(), ["sr_attach "])
            self.assert_ran_on("h2", "sr_attach", "sr_ref", sr)
            self.assertEqual(self.placed("v-h2-off"), "h2")
        finally:
            self.assertEqual(self.api("PBD.unplug", pbd), "")
        self.assertIs(self.api("PBD.get_currently_attached", pbd), False)
        self.assertEqual(self.calls()[-1], "sr_detach ")
        self.assert_ran_on("h2", "sr_detach", "sr_ref", sr)
        self.assertEqual(self.fails("VM.start", vm, False, False),
                         ["NO_HOSTS_AVAILABLE"])

    def test_pbd_plug_failure_on_slave(self):
        sr = self.sr("po-h2-broken")
        pbd = self.pbd_on("po-h2-broken", "h2")
        self.assertEqual(self.fails("PBD.plug", pbd), ["SR_DEVICE_IN_USE"])
        self.assertIs(self.api("PBD.get_currently_attached", pbd), False)
        self.assertEqual(self.calls(), ["sr_attach "])
        self.assert_ran_on("h2", "sr_attach", "sr_ref", sr)

    # ---- every way a plugin fails, forwarded to h2 ----

    def forwarded_fails(self, name, error_info, calls=None):
        """Async.VM.start of the VM named (affinity h2) fails with exactly
        error_info, after the plugin calls (default: one vdi_attach of its
        disk) on h2; the VM is left halted. The task's record."""
        vm = self.vm(name)
        rec = self.async_fails(error_info, "Async.VM.start", vm, False,
                               False)
        self.assert_halted(vm)
        if calls is None:
            calls = ["vdi_attach %s true" % self.location(vm)]
        self.assertEqual(self.calls(), calls)
        self.assert_ran_on("h2", "vdi_attach", "vdi_ref", self.vdis(vm)[0])
        return rec

    def test_fault_38_unimplemented(self):
        rec = self.forwarded_fails("f-fault38", ["UNIMPLEMENTED_IN_SM_BACKEND",
                                                 "vdi_attach"])
        self.assert_forwarded_frames(rec)

    def test_fault_39_sr_not_empty(self):
        self.assert_forwarded_frames(
            self.forwarded_fails("f-fault39", ["SR_NOT_EMPTY"]))

    def test_fault_24_vdi_in_use(self):
        self.assert_forwarded_frames(
            self.forwarded_fails("f-fault24", ["VDI_IN_USE"]))

    def test_fault_16_sr_device_in_use(self):
        self.assert_forwarded_frames(
            self.forwarded_fails("f-fault16", ["SR_DEVICE_IN_USE"]))

    def test_fault_144_vdi_missing(self):
        vm = self.vm("f-fault144")
        self.assert_forwarded_frames(self.forwarded_fails(
            "f-fault144", ["VDI_MISSING", self.sr("po-shared"),
                           self.vdis(vm)[0]]))

    def test_fault_other(self):
        self.assert_forwarded_frames(self.forwarded_fails("f-fault77", [
            "SR_BACKEND_FAILURE_77", "", "fault 77 in vdi_attach",
            "stderr of fault 77\n"]))

    def test_not_xml(self):
        self.assert_forwarded_frames(self.forwarded_fails("f-notxml", [
            "SR_BACKEND_FAILURE",
            "not an XML-RPC response: Not valid XML.  syntax error",
            "this is not XML \\xff\\x01\n", "notxml stderr\n"]))

    def test_nonzero_exit(self):
        self.assert_forwarded_frames(self.forwarded_fails("f-exit3", [
            "SR_BACKEND_FAILURE", "exited with status 3",
            vmt.nil_response(), "exiting with 3\n"]))

    def test_killed_by_signal(self):
        self.assert_forwarded_frames(self.forwarded_fails("f-signal", [
            "SR_BACKEND_FAILURE", "killed by signal 9 (SIGKILL)", "",
            "about to die\n"]))

    def hang_fails(self, name, pattern, want):
        vm = self.vm(name)
        _t, rec = self.async_call("Async.VM.start", vm, False, False)
        ei = rec["error_info"]
        m = re.fullmatch(pattern, ei[3] if len(ei) == 4 else "")
        self.assertTrue(m, ei)
        pids = [int(g) for g in m.groups()]
        self.assertEqual((rec["status"], ei), ("failure", want(*pids)))
        self.assert_halted(vm)
        self.assertEqual(self.calls(),
                         ["vdi_attach %s true" % self.location(vm)])
        self.assert_ran_on("h2", "vdi_attach", "vdi_ref", self.vdis(vm)[0])
        self.assert_forwarded_frames(rec)
        return pids

    def test_hang_times_out(self):
        pid, = self.hang_fails(
            "f-hang", r"hanging (\d+)\n",
            lambda pid: ["SR_BACKEND_FAILURE",
                         "timeout after %d s" % PLUGIN_TIMEOUT, "partial",
                         "hanging %d\n" % pid])
        self.assertIsNone(vmt.process_state(pid))
        self.assertEqual(fx.zombie_children(self.the_opsd("h2")), [])

    def test_hang_with_helper_times_out(self):
        pid, child = self.hang_fails(
            "f-hang-child", r"hanging (\d+) child (\d+)\n",
            lambda pid, child: ["SR_BACKEND_FAILURE",
                                "timeout after %d s" % PLUGIN_TIMEOUT, "",
                                "hanging %d child %d\n" % (pid, child)])
        self.assertIsNone(vmt.process_state(pid))
        self.assertIs(tp.eventually(lambda: vmt.process_state(child) in
                                    (None, "Z"), True, 10), True)

    def test_ten_megabytes_of_output(self):
        cap, param_cap = 1024 * 1024, 32 * 1024
        out_total, err_total = 10 * 1024 * 1024, 2 * 1024 * 1024
        self.assert_forwarded_frames(self.forwarded_fails("f-big", [
            "SR_BACKEND_FAILURE", "response larger than %d bytes" % cap,
            "x" * param_cap + "[... %d more bytes]" % (out_total - param_cap),
            "y" * param_cap + "[... %d more bytes]"
            % (err_total - param_cap)]))

    def test_control_bytes_and_bad_utf8_on_stderr(self):
        self.assert_forwarded_frames(self.forwarded_fails("f-ctrl", [
            "SR_BACKEND_FAILURE_5", "", "ctrl",
            "bad\\x01\\x1b[0m\\xff\\xfe ok\tend\n\\x00z \u00e9\\xe2\\x82"]))

    def test_xenapi_error_raised_directly(self):
        rec = self.forwarded_fails("f-xenapi",
                                   ["SR_HAS_NO_PBDS", self.sr("po-shared")])
        frames = self.assert_forwarded_frames(rec)
        self.assertEqual(frames[0]["process"], "xbt-opsd @ h2")

    def test_malformed_backtrace_json(self):
        rec = self.forwarded_fails("f-badjson", [
            "SR_BACKEND_FAILURE_47", "", "bad json reason",
            "badjson stderr\n"])
        frames = self.assert_forwarded_frames(rec)
        self.assertEqual(frames[0]["name"], "sm_decode_wbt")
        self.assertIn("SM VMTEST vdi_attach: plugin backtrace left out",
                      self.new_stderr("h2"))
        self.assertNotIn("plugin backtrace left out", self.new_stderr("h1"))

    def test_attach_without_result(self):
        self.assert_forwarded_frames(self.forwarded_fails("f-nil", [
            "INTERNAL_ERROR", "Unexpected response from SM plugin"]))

    def test_backend_failure_frames(self):
        rec = self.forwarded_fails("f-backend", [
            "SR_BACKEND_FAILURE_62", "", "backend 62 in vdi_attach", ""])
        frames = self.assert_forwarded_frames(
            rec, ["# frame: backend_inner", "# frame: backend_outer",
                  "backend_outer(arg, "])
        opsd = [f for f in frames if f["process"] == "xbt-opsd @ h2"]
        self.assertEqual(opsd[0]["filename"], "server/common/sm_decode.c")

    def test_activate_fails_then_detach(self):
        loc = "vdi_activate=fault:24"
        rec = self.forwarded_fails("f-activate-fails", ["VDI_IN_USE"], [
            "vdi_attach %s true" % loc, "vdi_activate %s" % loc,
            "vdi_detach %s" % loc])
        self.assert_forwarded_frames(rec)
        vdi = self.vdis(self.vm("f-activate-fails"))[0]
        self.assert_ran_on("h2", "vdi_detach", "vdi_ref", vdi)

    def test_failing_undo_keeps_first_error(self):
        vm = self.vm("f-undo")
        first = self.vdis(vm)[0]
        a, b = ("vdi_deactivate=backend_alt:61",
                "undo-second;vdi_attach=backend:62")
        rec = self.forwarded_fails("f-undo", [
            "SR_BACKEND_FAILURE_62", "", "backend 62 in vdi_attach", ""], [
            "vdi_attach %s true" % a, "vdi_activate %s" % a,
            "vdi_attach %s true" % b, "vdi_deactivate %s" % a])
        self.assert_forwarded_frames(
            rec, ["# frame: backend_inner", "# frame: backend_outer",
                  "backend_outer(arg, "])
        self.assertIn("undo on VDI %s (ignored): SR_BACKEND_FAILURE_61"
                      % first, self.new_stderr("h2"))

    def test_failing_deactivate_on_shutdown(self):
        vm = self.vm("f-deactivate-fails")
        self.start_ok(vm)
        self.assert_running_on(vm, "h2")
        want = ["SR_BACKEND_FAILURE_63", "", "backend 63 in vdi_deactivate",
                ""]
        self.assertEqual(self.fails("VM.clean_shutdown", vm), want)
        rec = self.async_fails(want, "Async.VM.clean_shutdown", vm)
        frames = self.assert_forwarded_frames(
            rec, ["# frame: backend_inner", "# frame: backend_outer",
                  "backend_outer(arg, "], step="vmops_shutdown",
            entry="vm_clean_shutdown")
        self.assertEqual(frames[0]["process"], "VMTEST @ h2")
        # A clean shutdown that fails leaves the VM running on h2; a hard
        # one halts it whatever the plugin says.
        self.assert_running_on(vm, "h2")
        self.assertEqual(self.api("VM.hard_shutdown", vm), "")
        self.assert_halted(vm)
        loc = "vdi_deactivate=backend:63"
        self.assertEqual(self.calls(), [
            "vdi_attach %s true" % loc, "vdi_activate %s" % loc,
            "vdi_deactivate %s" % loc, "vdi_deactivate %s" % loc,
            "vdi_deactivate %s" % loc, "vdi_detach %s" % loc])
        self.assert_ran_on("h2", "vdi_deactivate", "vdi_ref",
                           self.vdis(vm)[0], times=3)
        self.assertIsNone(self.opsd_state("h2", vm))

    def test_same_errors_on_the_master(self):
        """The failures of a forwarded start are those of the same start
        on the master (Async.VM.start_on h1), the hangs left out."""
        for name in ("f-fault38", "f-fault39", "f-fault24", "f-fault16",
                     "f-fault144", "f-fault77", "f-notxml", "f-exit3",
                     "f-signal", "f-big", "f-ctrl", "f-xenapi", "f-badjson",
                     "f-nil", "f-backend", "f-activate-fails", "f-undo"):
            with self.subTest(vm=name):
                vm = self.vm(name)
                _t, there = self.async_call("Async.VM.start", vm, False,
                                            False)
                _t, here = self.async_call("Async.VM.start_on", vm,
                                           self.refs["h1"], False, False)
                self.assertEqual((there["status"], here["status"]),
                                 ("failure", "failure"))
                self.assertEqual(there["error_info"], here["error_info"])
                here_procs = top.runs([f["process"] for f in
                                       vmt.backtrace_frames(
                                           here["backtrace"])])
                there_procs = top.runs([f["process"] for f in
                                        vmt.backtrace_frames(
                                            there["backtrace"])])
                self.assertEqual([p.replace("h2", "h1")
                                  for p in there_procs[:-1]], here_procs)
                self.assert_halted(vm)

    # ---- cancel across hosts ----

    def test_cancel_forwarded_start(self):
        vm = self.vm("v-cancel")
        hang = "cancel-second;vdi_activate=hang"
        task = self.api("Async.VM.start", vm, False, False)
        hung = "vdi_activate %s" % hang
        top.wait_for(lambda: hung in self.calls(), "journal line %r" % hung)
        opsd = self.the_opsd("h2")
        pid = top.wait_for(lambda: top.plugin_pid(opsd, "vdi_activate", hang),
                           "the hung VMTESTSR process under h2's xbt-opsd",
                           timeout=15)
        self.addCleanup(top.kill_group, pid)
        cancelled_at = time.monotonic()
        self.assertEqual(self.api("task.cancel", task), "")
        rec = self.wait_task(task)
        took = time.monotonic() - cancelled_at
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("cancelled", ["TASK_CANCELLED", task]))
        # Before the plugin's own timeout could have ended it.
        self.assertLess(took, PLUGIN_TIMEOUT - 1)
        self.assertEqual(self.calls(), [
            "vdi_attach cancel-first true", "vdi_activate cancel-first",
            "vdi_attach %s true" % hang, hung,
            "vdi_detach %s" % hang,
            "vdi_deactivate cancel-first", "vdi_detach cancel-first"])
        first = self.vdis(vm)[0]
        self.assert_ran_on("h2", "vdi_deactivate", "vdi_ref", first)
        self.assert_ran_on("h2", "vdi_detach", "vdi_ref", first)
        # h2's opsd killed the plugin and reaped it.
        self.assertIsNone(tp.eventually(lambda: vmt.process_state(pid),
                                        None, 5))
        self.assert_halted(vm)
        # Nor does h2's opsd keep the VM it did not start.
        self.assertIsNone(tp.eventually(lambda: self.opsd_state("h2", vm),
                                        None, 5))
        observed("backtrace groups of the cancelled forwarded start",
                 top.runs([f["process"] for f in
                           vmt.backtrace_frames(rec["backtrace"])]))

    # ---- many at once ----

    def all_at_once(self, method, vms, *params):
        barrier = threading.Barrier(len(vms))

        def call(vm):
            barrier.wait(timeout=60)
            return self.master.client()(method, vm, *params)

        with concurrent.futures.ThreadPoolExecutor(len(vms)) as pool:
            tasks = list(pool.map(call, vms))
        self.assertEqual(len(set(tasks)), len(vms))
        return [self.wait_task(t) for t in tasks]

    def test_fifty_forwarded_starts_at_once(self):
        vms = [self.vm("n-vm-%02d" % i) for i in range(N_VMS)]
        began = time.monotonic()
        recs = self.all_at_once("Async.VM.start", vms, False, False)
        started = time.monotonic() - began
        self.assertEqual([(r["status"], r["error_info"]) for r in recs],
                         [("success", [])] * N_VMS)
        for vm in vms:
            self.assertEqual((self.api("VM.get_power_state", vm),
                              self.resident_on(vm)),
                             ("Running", self.refs["h2"]))
        residents = self.api("host.get_resident_VMs", self.refs["h2"])
        self.assertEqual(sorted(set(residents) & set(vms)), sorted(vms))
        uuids = sorted(self.api("VM.get_uuid", vm) for vm in vms)
        self.assertEqual(sorted(v["uuid"] for v in self.opsd_vms("h2")
                                if v["uuid"] in uuids and
                                v["state"] == "running"), uuids)
        began = time.monotonic()
        recs = self.all_at_once("Async.VM.clean_shutdown", vms)
        stopped = time.monotonic() - began
        self.assertEqual([(r["status"], r["error_info"]) for r in recs],
                         [("success", [])] * N_VMS)
        for vm in vms:
            self.assertEqual((self.api("VM.get_power_state", vm),
                              self.resident_on(vm)), ("Halted", NULL))
        self.assertEqual([v for v in self.opsd_vms("h2")
                          if v["uuid"] in uuids], [])
        observed("fifty forwarded starts, then clean shutdowns (s)",
                 (round(started, 2), round(stopped, 2)))


# ---- hosts that fail ------------------------------------------------------

class HostOffline(PoolOps):
    """h2 SIGKILLed with a VM on it; the master takes it as not live after
    --host-dead-after (3 s). One test: the steps depend on each other."""

    def test_calls_that_need_a_dead_host(self):
        h2 = self.refs["h2"]
        vm, other = self.vm("v-kill"), self.vm("v-kill2")
        self.assertEqual(self.api("VM.start", vm, False, False), "")
        self.assert_running_on(vm, "h2")
        self.x["h2"].kill()
        self.assertIs(tp.eventually(lambda: tp.live(self.master, "h2"),
                                    False, tp.DEAD_AFTER + 5, 0.1), False)
        with open(self.journal) as f:
            self.mark = len(f.read().splitlines())
        want = ["HOST_OFFLINE", h2]
        for method, params in (("VM.start_on", (other, h2, False, False)),
                               ("VM.clean_shutdown", (vm,)),
                               ("VM.hard_shutdown", (vm,)),
                               ("PBD.plug",
                                (self.pbd_on("po-h2-off", "h2"),))):
            with self.subTest(method):
                self.assertEqual(self.fails(method, *params), want)
                self.async_fails(want, "Async." + method, *params)
        # Nothing was sent: no plugin ran (h2's xbt-opsd outlived it).
        self.assertEqual(self.calls(), [])
        self.assert_halted(other)
        r = self.api("VM.get_record", vm)
        self.assertEqual((r["power_state"], r["resident_on"],
                          r["current_operations"]), ("Running", h2, {}))
        # Affinity for a host that is not live: the master runs it.
        self.assertEqual(self.api("VM.start", other, False, False), "")
        self.assert_running_on(other, "h1")
        self.assertEqual(self.api("VM.hard_shutdown", other), "")
        self.assert_halted(other)


class ConnectionLost(PoolOps):
    """h2 SIGKILLed while its plugin sleeps in a forwarded start; the
    master would take h2 as not live only after 60 s."""

    MASTER_EXTRA = ("--host-dead-after", "60")

    def test_slave_killed_mid_start(self):
        vm = self.vm("v-lost")
        h2 = self.refs["h2"]
        task = self.api("Async.VM.start", vm, False, False)
        sleeping = "lost-second;vdi_attach=sleep:20"
        line = "vdi_attach %s true" % sleeping
        top.wait_for(lambda: line in self.calls(), "journal line %r" % line)
        opsd = self.the_opsd("h2")
        pid = top.wait_for(lambda: top.plugin_pid(opsd, "vdi_attach",
                                                  sleeping),
                           "the sleeping VMTESTSR process under h2's opsd",
                           timeout=15)
        self.addCleanup(top.kill_group, pid)
        self.x["h2"].kill()
        killed_at = time.monotonic()
        rec = self.wait_task(task, timeout=30)
        took = time.monotonic() - killed_at
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("failure", ["CANNOT_CONTACT_HOST", h2]))
        self.assertLess(took, 5.0)
        # The connection failed, not the liveness check.
        self.assertIs(tp.live(self.master, "h2"), True)
        r = self.api("VM.get_record", vm)
        observed("v-lost after CANNOT_CONTACT_HOST (power_state, "
                 "resident_on, current_operations, seconds)",
                 (r["power_state"], self.host_name(r["resident_on"]),
                  r["current_operations"], round(took, 2)))
        observed("backtrace groups of CANNOT_CONTACT_HOST",
                 top.runs([f["process"] for f in
                           vmt.backtrace_frames(rec["backtrace"])]))
        # The VM keeps its state from before the operation (doc/pools.md).
        self.assertEqual((r["power_state"], r["resident_on"],
                          r["current_operations"]), ("Halted", NULL, {}))


class ConnectionStalled(PoolOps):
    """h2's xbtd SIGSTOPped for 6 s while a forwarded start's plugin
    sleeps 3 s: the master gives up (CANNOT_CONTACT_HOST) while h2's opsd
    finishes the start; once h2 runs again its next heartbeat has the
    master ask what it runs, and the records catch up (doc/pools.md)."""

    MASTER_EXTRA = ("--host-dead-after", "60")

    def test_outcome_of_a_lost_call_is_found_later(self):
        vm = self.vm("v-stalled")
        h2 = self.refs["h2"]
        uuid = self.api("VM.get_uuid", vm)
        task = self.api("Async.VM.start", vm, False, False)
        line = "vdi_attach stalled;vdi_attach=sleep:3 true"
        top.wait_for(lambda: line in self.calls(), "journal line %r" % line)
        pid = self.x["h2"].proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            rec = self.wait_task(task, timeout=30)
            self.assertEqual((rec["status"], rec["error_info"]),
                             ("failure", ["CANNOT_CONTACT_HOST", h2]))
            self.assertEqual(self.api("VM.get_power_state", vm), "Halted")
            # h2's opsd, not stopped, ends the start.
            self.assertEqual(top.wait_for(
                lambda: self.opsd_vms("h2") == [{"uuid": uuid,
                                                 "state": "running"}],
                "h2's opsd running the VM", timeout=10), True)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(tp.eventually(
            lambda: self.api("VM.get_power_state", vm), "Running", 10, 0.1),
            "Running")
        self.assertEqual(self.api("VM.get_resident_on", vm), h2)
        self.assertEqual(self.api("VM.hard_shutdown", vm), "")
        self.assertEqual(self.opsd_vms("h2"), [])


class MasterDown(PoolOps):
    """The master SIGKILLed while a VM runs on h2, then restarted."""

    def test_slave_keeps_its_vm(self):
        vm = self.vm("v-master-down")
        uuid = self.api("VM.get_uuid", vm)
        h2 = self.refs["h2"]
        self.assertEqual(self.api("VM.start", vm, False, False), "")
        self.assert_running_on(vm, "h2")
        self.assertEqual(self.opsd_vms("h2"),
                         [{"uuid": uuid, "state": "running"}])
        self.x["h1"].kill()
        # Several heartbeats fail meanwhile.
        deadline = time.monotonic() + 2 * tp.HEARTBEAT + 1.5
        while time.monotonic() < deadline:
            self.assertEqual(tp.login_outcome(self.x["h2"]),
                             ["HOST_IS_SLAVE", MASTER])
            time.sleep(0.25)
        self.assertTrue(self.x["h2"].alive())
        self.assertEqual(self.opsd_vms("h2"),
                         [{"uuid": uuid, "state": "running"}])
        with open(self.state_file("h2", uuid)) as f:
            self.assertEqual(json.load(f)["state"], "running")
        # The master again, on its state directory: h2 comes back live.
        type(self).master = master = self.pool.restart(self.x["h1"])
        self.x["h1"] = master
        self.assertIs(tp.eventually(lambda: tp.live(master, "h2"), True, 15,
                                    0.1), True)
        # Its hello has the master ask h2 what it runs (doc/pools.md,
        # "Master down"): the VM is Running there again in the records.
        self.assertEqual(tp.eventually(
            lambda: self.api("VM.get_power_state", vm), "Running", 10, 0.1),
            "Running")
        self.assertEqual(self.api("VM.get_resident_on", vm), h2)
        self.assertEqual(self.api("host.get_resident_VMs", h2), [vm])
        # h2 keeps its VM.
        self.assertEqual(self.opsd_vms("h2"),
                         [{"uuid": uuid, "state": "running"}])
        self.assertTrue(os.path.exists(self.state_file("h2", uuid)))
        self.assertEqual(tp.login_outcome(self.x["h2"]),
                         ["HOST_IS_SLAVE", MASTER])
        # And the master can stop it there.
        self.assertEqual(self.api("VM.hard_shutdown", vm), "")
        self.assertIsNone(self.opsd_state("h2", vm))
        self.assertEqual(self.api("VM.get_resident_on", vm),
                         "OpaqueRef:NULL")


if __name__ == "__main__":
    top.become_subreaper()
    fx.run()
