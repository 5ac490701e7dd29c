#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""VM.pause, unpause, clean_reboot, hard_reboot, suspend and resume (and
hard_shutdown from Suspended) against a real xbtd, as doc/design.md's "VM
power states" says, after xapi's xapi_vm_lifecycle.ml.

- DemoPower: the demo world's demo-ok: each operation's outcome (power
  state, host, domid, disks, console, guest metrics, start_time), the
  plugin calls of suspend and resume in order, every wrong state's exact
  VM_BAD_POWER_STATE, Async forms, allowed_operations per state, the
  events of a pause.
- ResumeFails: demo-fail suspended while its FAIL SR's plugin is DEMO's,
  then resumed with the real FAIL plugin: SR_BACKEND_FAILURE_46 with the
  plugin's frames first, the VM left Suspended.
- SlavePower: a two-host pool: a VM on the slave paused and rebooted by
  the master's records, suspended and resumed through the slave's opsd.
"""

import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_vm_start as vmt  # noqa: E402
import test_pools_ops as tpo  # noqa: E402
import test_opsd as top  # noqa: E402

NULL = "OpaqueRef:NULL"
HOST = vmt.HOST
# allowed_operations per power state, sorted (xapi's allowed_power_states
# for the operations xbtd serves; start_on is not listed, as before).
ALLOWED = {
    "Halted": ["start"],
    "Running": ["clean_reboot", "clean_shutdown", "hard_reboot",
                "hard_shutdown", "pause", "suspend"],
    "Paused": ["hard_reboot", "hard_shutdown", "unpause"],
    "Suspended": ["hard_shutdown", "resume"],
}
# What each operation expects, as xapi spells it in VM_BAD_POWER_STATE.
EXPECTED = {
    "VM.pause": "running",
    "VM.unpause": "paused",
    "VM.clean_reboot": "running",
    "VM.hard_reboot": "paused, running",
    "VM.suspend": "running",
    "VM.resume": "suspended",
    "VM.clean_shutdown": "running",
    "VM.hard_shutdown": "paused, suspended, running",
    "VM.start": "halted",
}
ALLOWED_FROM = {
    "VM.pause": {"Running"},
    "VM.unpause": {"Paused"},
    "VM.clean_reboot": {"Running"},
    "VM.hard_reboot": {"Running", "Paused"},
    "VM.suspend": {"Running"},
    "VM.resume": {"Suspended"},
    "VM.clean_shutdown": {"Running"},
    "VM.hard_shutdown": {"Running", "Paused", "Suspended"},
    "VM.start": {"Halted"},
}


def op_params(method, vm):
    if method in ("VM.resume", "VM.start"):
        return (vm, False, False)
    return (vm,)


class PowerCase(vmt.VmCase):
    """Helpers on top of test_vm_start's."""

    def setUp(self):
        super().setUp()
        self.err_mark = len(self.xbtd.stderr())

    def sm_calls(self, task=None):
        """(type, command, vdi) of the plugin calls logged since the test
        began, of task's operation when given."""
        tag = r"\[OpaqueRef:%s\] " % re.escape(
            self.ok("task.get_uuid", self.session, task)) if task else ""
        return re.findall(tag + r"SM call: (\w+) (\w+) \{[^\n]*vdi_ref: "
                          r"\"(OpaqueRef:[0-9a-f-]+)\"",
                          self.xbtd.stderr()[self.err_mark:])

    def vdis(self, vm):
        return [self.ok("VBD.get_VDI", self.session, b)
                for b in self.vm_record(vm)["VBDs"]]

    def assert_state(self, vm, state):
        """The VM at rest in state: host, domid, disks, console, allowed
        operations as they go with it. Returns the record."""
        r = self.vm_record(vm)
        up = state in ("Running", "Paused")
        host = self.host()
        self.assertEqual((r["power_state"], r["resident_on"],
                          r["current_operations"]),
                         (state, host if up else NULL, {}))
        if up:
            self.assertGreater(int(r["domid"]), 0)
        else:
            self.assertEqual(r["domid"], "-1")
        self.assertEqual(sorted(r["allowed_operations"]), ALLOWED[state])
        for b in self.vbd_records(vm):
            self.assertIs(b["currently_attached"], up, b)
        self.assertTrue(r["VIFs"])
        for v in r["VIFs"]:
            self.assertIs(self.ok("VIF.get_currently_attached", self.session,
                                  v), up, v)
        self.assertEqual(vm in self.ok("host.get_resident_VMs",
                                       self.session, host), up)
        self.assertEqual(len(r["consoles"]), 1 if up else 0)
        self.assertEqual(r["suspend_VDI"], NULL)
        return r

    def start_time(self, vm):
        m = self.ok("VM_metrics.get_record", self.session,
                    self.vm_record(vm)["metrics"])
        return str(m["start_time"])

    def async_ok(self, method, *params):
        task = self.ok("Async." + method, self.session, *params)
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"],
                          rec["backtrace"]), ("success", [], "", "()"), rec)
        return task

    def assert_refused_all(self, vm, state):
        """Every operation not allowed in state fails with its exact
        VM_BAD_POWER_STATE, synchronously and through its task, and
        changes nothing."""
        before = self.vm_record(vm)
        for method in sorted(EXPECTED):
            if state in ALLOWED_FROM[method]:
                continue
            want = ["VM_BAD_POWER_STATE", vm, EXPECTED[method],
                    state.lower()]
            with self.subTest(method=method, state=state):
                self.assertEqual(self.failure(method, self.session,
                                              *op_params(method, vm)), want)
                task = self.ok("Async." + method, self.session,
                               *op_params(method, vm))
                rec = self.wait_task(task)
                self.assertEqual((rec["status"], rec["error_info"]),
                                 ("failure", want))
        self.assertEqual(self.vm_record(vm), before)


class DemoPower(PowerCase):
    xbtd_args = ("--hostname", HOST)

    def tearDown(self):
        vm = self.vm("demo-ok")
        if self.ok("VM.get_power_state", self.session, vm) != "Halted":
            self.ok("VM.hard_shutdown", self.session, vm)

    def test_pause_and_unpause(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm)
        r0 = self.assert_state(vm, "Running")
        self.err_mark = len(self.xbtd.stderr())
        self.assertEqual(self.ok("VM.pause", self.session, vm), "")
        r = self.assert_state(vm, "Paused")
        # The same domain, console and guest metrics: nothing restarted.
        for field in ("domid", "consoles", "guest_metrics"):
            self.assertEqual(r[field], r0[field], field)
        self.assert_refused_all(vm, "Paused")
        self.assertEqual(self.ok("VM.unpause", self.session, vm), "")
        r = self.assert_state(vm, "Running")
        self.assertEqual(r["domid"], r0["domid"])
        self.async_ok("VM.pause", vm)
        self.assert_state(vm, "Paused")
        self.async_ok("VM.unpause", vm)
        self.assertEqual(self.assert_state(vm, "Running")["domid"],
                         r0["domid"])
        self.assertEqual(self.sm_calls(), [], "no plugin runs")

    def test_clean_reboot(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm)
        r0 = self.assert_state(vm, "Running")
        t0 = self.start_time(vm)
        time.sleep(1.1)  # start_time counts seconds
        self.err_mark = len(self.xbtd.stderr())
        self.assertEqual(self.ok("VM.clean_reboot", self.session, vm), "")
        r = self.assert_state(vm, "Running")
        # A new domain on the same host, its disks still attached.
        self.assertNotEqual(r["domid"], r0["domid"])
        self.assertNotEqual(r["consoles"], r0["consoles"])
        self.assertNotIn(r["guest_metrics"], (NULL, r0["guest_metrics"]))
        self.assertGreater(self.start_time(vm), t0)
        task = self.async_ok("VM.clean_reboot", vm)
        self.assertNotEqual(self.assert_state(vm, "Running")["domid"],
                            r["domid"])
        self.assertEqual(self.sm_calls(), [], "no plugin runs")
        self.assertEqual(self.ok("task.get_name_label", self.session, task),
                         "Async.VM.clean_reboot")

    def test_hard_reboot_from_running_and_paused(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm)
        r0 = self.assert_state(vm, "Running")
        t0 = self.start_time(vm)
        time.sleep(1.1)
        self.err_mark = len(self.xbtd.stderr())
        self.assertEqual(self.ok("VM.hard_reboot", self.session, vm), "")
        r1 = self.assert_state(vm, "Running")
        self.assertNotEqual(r1["domid"], r0["domid"])
        self.assertGreater(self.start_time(vm), t0)
        self.ok("VM.pause", self.session, vm)
        # From Paused the new domain runs.
        self.async_ok("VM.hard_reboot", vm)
        r2 = self.assert_state(vm, "Running")
        self.assertNotIn(r2["domid"], (r0["domid"], r1["domid"]))
        self.assertNotEqual(r2["consoles"], r1["consoles"])
        self.assertEqual(self.sm_calls(), [], "no plugin runs")

    def test_suspend_and_resume(self):
        vm = self.vm("demo-ok")
        (vdi,) = self.vdis(vm)
        self.start_ok(vm)
        r0 = self.assert_state(vm, "Running")
        task = self.async_ok("VM.suspend", vm)
        r = self.assert_state(vm, "Suspended")
        # As a clean shutdown's: deactivate, then detach.
        self.assertEqual(self.sm_calls(task), [
            ("DEMO", "vdi_deactivate", vdi), ("DEMO", "vdi_detach", vdi)])
        # The guest's agent said its last before the suspend (xapi keeps
        # the record); the console went with the domain.
        self.assertEqual(r["guest_metrics"], r0["guest_metrics"])
        self.assertEqual(r["consoles"], [])
        self.assert_refused_all(vm, "Suspended")
        task = self.async_ok("VM.resume", vm, False, False)
        r = self.assert_state(vm, "Running")
        self.assertEqual(self.sm_calls(task), [
            ("DEMO", "vdi_attach", vdi), ("DEMO", "vdi_activate", vdi)])
        self.assertNotEqual(r["domid"], r0["domid"])
        self.assertNotEqual(r["consoles"], r0["consoles"])
        # The synchronous forms, and a resume left paused.
        self.assertEqual(self.ok("VM.suspend", self.session, vm), "")
        self.assert_state(vm, "Suspended")
        self.assertEqual(self.ok("VM.resume", self.session, vm, True, True),
                         "")
        self.assert_state(vm, "Paused")
        up = ["vdi_attach", "vdi_activate"]
        down = ["vdi_deactivate", "vdi_detach"]
        self.assertEqual([c for _t, c, _v in self.sm_calls()],
                         up + down + up + down + up)

    def test_hard_shutdown_from_suspended(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm)
        self.ok("VM.suspend", self.session, vm)
        self.assert_state(vm, "Suspended")
        self.err_mark = len(self.xbtd.stderr())
        # Nothing is up: no plugin runs; the VM's guest metrics go.
        self.async_ok("VM.hard_shutdown", vm)
        r = self.assert_state(vm, "Halted")
        self.assertEqual(r["guest_metrics"], NULL)
        self.assertEqual(self.sm_calls(), [])
        self.start_ok(vm)
        self.ok("VM.suspend", self.session, vm)
        self.assertEqual(self.ok("VM.hard_shutdown", self.session, vm), "")
        self.assert_state(vm, "Halted")

    def test_refused_while_halted(self):
        vm = self.vm("demo-ok")
        self.assert_state(vm, "Halted")
        self.assert_refused_all(vm, "Halted")
        self.start_ok(vm)
        self.assert_refused_all(vm, "Running")

    def test_template_and_bad_ref(self):
        vm = self.vm("demo-template")
        for method in ("VM.pause", "VM.unpause", "VM.clean_reboot",
                       "VM.hard_reboot", "VM.suspend", "VM.resume"):
            with self.subTest(method=method):
                self.assertEqual(
                    self.failure(method, self.session,
                                 *op_params(method, vm)),
                    ["VM_IS_TEMPLATE", vm, method.split(".")[1]])
                bad = "OpaqueRef:00000000-0000-0000-0000-000000000000"
                self.assertEqual(
                    self.failure(method, self.session,
                                 *op_params(method, bad)),
                    ["HANDLE_INVALID", "VM", bad])
        self.assertEqual(self.vm_record(vm)["allowed_operations"], [])

    def test_events_of_a_pause(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm)
        token = self.ok("event.from", self.session, ["vm"], "", 0.0)["token"]
        self.ok("VM.pause", self.session, vm)
        r = self.ok("event.from", self.session, ["vm"], token, 5.0)
        evs = [e for e in r["events"] if e["ref"] == vm]
        # One change, seen whole: the pause takes one hold of the store.
        self.assertEqual([(e["class"], e["operation"]) for e in evs],
                         [("vm", "mod")])
        snap = evs[0]["snapshot"]
        self.assertEqual((snap["power_state"], snap["current_operations"],
                          sorted(snap["allowed_operations"])),
                         ("Paused", {}, ALLOWED["Paused"]))
        token = r["token"]
        self.ok("VM.unpause", self.session, vm)
        r = self.ok("event.from", self.session, ["vm"], token, 5.0)
        snaps = [e["snapshot"] for e in r["events"] if e["ref"] == vm]
        self.assertEqual([s["power_state"] for s in snaps], ["Running"])


class ResumeFails(PowerCase):
    """The demo world with --sm-dir a copy of the demo plugins' directory
    whose FAILSR is first DEMO's plugin (so demo-fail starts and suspends),
    then the real FAIL plugin (so its resume fails)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-vmpower-")
        cls.plugins = os.path.join(fx.BUILDDIR, "server", "plugins")
        for name in ("DEMOSR", "xbtsm.py"):
            os.symlink(os.path.join(cls.plugins, name),
                       os.path.join(cls.tmp, name))
        cls.set_fail_plugin("DEMOSR")
        cls.xbtd_args = ("--hostname", HOST, "--sm-dir", cls.tmp)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp)

    @classmethod
    def set_fail_plugin(cls, target):
        link = os.path.join(cls.tmp, "FAILSR")
        tmp = link + ".new"
        os.symlink(os.path.join(cls.plugins, target), tmp)
        os.replace(tmp, link)

    def test_resume_fails_with_the_plugins_frames(self):
        vm = self.vm("demo-fail")
        boot_vdi, data_vdi = self.vdis(vm)
        data_uuid = self.ok("VDI.get_uuid", self.session, data_vdi)
        self.start_ok(vm)
        self.ok("VM.suspend", self.session, vm)
        self.assert_state(vm, "Suspended")
        self.set_fail_plugin("FAILSR")
        task = self.ok("Async.VM.resume", self.session, vm, False, False)
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"]),
                         ("failure", [
                             "SR_BACKEND_FAILURE_46", "",
                             "The VDI is not available [opterr=/dev/xbt-fail/"
                             "%s is locked by another host]" % data_uuid, ""],
                          ""))
        # Left as it was, free for another try.
        self.assert_state(vm, "Suspended")
        frames = vmt.backtrace_frames(rec["backtrace"])
        plugin = [f for f in frames
                  if f["process"] not in (vmt.XBTD_PROCESS,
                                          vmt.OPSD_PROCESS)]
        self.assertTrue(plugin)
        self.assertEqual(frames[:len(plugin)], plugin,
                         "the plugin's frames come first")
        fail = os.path.join(fx.SRCDIR, "server", "plugins", "FAILSR")
        self.assertEqual(
            [(f["process"], os.path.basename(f["filename"]), f["line"],
              f["is_raise"]) for f in plugin[:3]],
            [("FAIL @ h1", "FAILSR",
              vmt.line_of(fail, "raise xbtsm.BackendError(46"), True),
             ("FAIL @ h1", "FAILSR", vmt.line_of(fail, "return open_tapdisk("),
              False),
             ("FAIL @ h1", "FAILSR",
              vmt.line_of(fail, "return activate_chain("), False)])
        daemons = frames[len(plugin):]
        self.assertEqual(daemons[0]["process"], vmt.OPSD_PROCESS)
        self.assertEqual(daemons[-1]["name"], "async_run")
        self.assert_chain(daemons, [
            ("server/common/vmops.c", "vmops_start"),
            ("server/xenapi/relay.c", "relay_task_failure"),
            ("server/xenapi/ops.c", "ops_run"),
            ("server/xenapi/vm.c", "vm_run_ops"),
            ("server/xenapi/vm.c", "vm_power_up"),
            ("server/xenapi/vm_power.c", "vm_resume"),
            ("server/xenapi/dispatch.c", "async_run")])
        # The boot disk came up, the data disk failed, the boot disk was
        # taken down again.
        self.assertEqual(self.sm_calls(task), [
            ("DEMO", "vdi_attach", boot_vdi),
            ("DEMO", "vdi_activate", boot_vdi),
            ("FAIL", "vdi_attach", data_vdi),
            ("DEMO", "vdi_deactivate", boot_vdi),
            ("DEMO", "vdi_detach", boot_vdi)])
        self.ok("VM.hard_shutdown", self.session, vm)
        self.assert_state(vm, "Halted")


class SlavePower(tpo.PoolOps):
    """tests/worlds/pool_ops.xml on h1 (master) and h2."""

    def assert_suspended(self, vm):
        r = self.api("VM.get_record", vm)
        self.assertEqual((r["power_state"], r["resident_on"], r["domid"],
                          r["current_operations"],
                          sorted(r["allowed_operations"])),
                         ("Suspended", NULL, "-1", {}, ALLOWED["Suspended"]))
        for b in r["VBDs"]:
            self.assertIs(self.api("VBD.get_currently_attached", b), False)
        for ref in self.refs.values():
            self.assertNotIn(vm, self.api("host.get_resident_VMs", ref))

    def test_power_cycle_on_slave(self):
        vm = self.vm("v-on-h2")
        vdi = self.vdis(vm)[0]
        self.start_ok(vm)
        d0 = self.assert_running_on(vm, "h2")["domid"]
        # Recorded by the master: the domain stays in h2's opsd.
        self.assertEqual(self.api("VM.pause", vm), "")
        self.assertEqual(self.assert_running_on(vm, "h2", "Paused")["domid"],
                         d0)
        self.assertEqual(self.api("VM.hard_reboot", vm), "")
        d1 = self.assert_running_on(vm, "h2")["domid"]
        self.assertNotEqual(d1, d0)
        self.assertEqual(self.api("VM.clean_reboot", vm), "")
        self.assertNotEqual(self.assert_running_on(vm, "h2")["domid"], d1)
        self.assertEqual(self.opsd_state("h2", vm), "running")
        self.assertEqual(self.calls(), ["vdi_attach h2-a true",
                                        "vdi_activate h2-a"])
        # Suspend and resume run on h2, through its opsd.
        _t, rec = self.async_call("Async.VM.suspend", vm)
        self.assertEqual((rec["status"], rec["error_info"]), ("success", []))
        self.assertEqual(rec["resident_on"], self.refs["h2"])
        self.assert_suspended(vm)
        self.assertIsNone(self.opsd_state("h2", vm))
        for command in ("vdi_deactivate", "vdi_detach"):
            self.assert_ran_on("h2", command, "vdi_ref", vdi)
        self.assertEqual(self.api("VM.resume", vm, False, False), "")
        # Placed as a start: only h2 sees the VM's SR.
        self.assert_running_on(vm, "h2")
        self.assertEqual(self.opsd_state("h2", vm), "running")
        self.assertEqual(self.calls()[2:], [
            "vdi_deactivate h2-a", "vdi_detach h2-a",
            "vdi_attach h2-a true", "vdi_activate h2-a"])
        for command in ("vdi_attach", "vdi_activate"):
            self.assert_ran_on("h2", command, "vdi_ref", vdi, times=2)
        self.assertEqual(self.api("VM.hard_shutdown", vm), "")
        self.assert_halted(vm)


if __name__ == "__main__":
    top.become_subreaper()
    fx.run()
