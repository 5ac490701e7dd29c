#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbtd --storage-in-process (server/xenapi/vm_local.c): the storage steps
of the VM lifecycle run in xbtd itself, the switch kept for measuring what
xbt-opsd costs (tests/bench_opsd.py, doc/performance.md).

- DemoInProcess: the demo world. demo-fail fails with the same error as
  through opsd, its backtrace the plugin's frames then xbtd's, none of
  xbt-opsd's; demo-ok starts and shuts down; no xbt-opsd is run and its
  state directory is not made.
- CancelInProcess: task.cancel stops a hung plugin and the start is undone.
"""

import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_vm_start as vmt  # noqa: E402

HOST = vmt.HOST
XBTD_P = vmt.XBTD_PROCESS
SOON = 30.0


children, opsd_children = fx.children, fx.opsd_children


def runs(processes):
    """Consecutive equal processes collapsed into one."""
    return [p for i, p in enumerate(processes)
            if i == 0 or processes[i - 1] != p]


class InProcessCase(vmt.VmCase):

    def assert_no_opsd(self):
        pid = self.xbtd.proc.pid
        self.assertEqual(opsd_children(pid), [])
        err = self.xbtd.stderr()
        self.assertNotIn("xbt-opsd running as pid", err)
        self.assertNotIn("adopting the xbt-opsd", err)
        self.assertFalse(os.path.exists(self.xbtd.opsd_dir),
                         "the state directory was made")


class DemoInProcess(InProcessCase):
    xbtd_args = ("--hostname", HOST, "--storage-in-process")

    def test_demo_fail_same_error_plugin_frames_then_xbtd(self):
        vm = self.vm("demo-fail")
        data_vdi = self.ok("VBD.get_VDI", self.session,
                           self.vm_record(vm)["VBDs"][1])
        data_uuid = self.ok("VDI.get_uuid", self.session, data_vdi)
        want = ["SR_BACKEND_FAILURE_46", "",
                "The VDI is not available [opterr=/dev/xbt-fail/%s is "
                "locked by another host]" % data_uuid, ""]
        rec = self.start_fails(vm, want)
        frames = vmt.backtrace_frames(rec["backtrace"])
        procs = [f["process"] for f in frames]
        self.assertEqual(runs(procs), ["FAIL @ " + HOST, XBTD_P])
        self.assertFalse([p for p in procs if p.startswith("xbt-opsd @")])
        xbtd = [f for f in frames if f["process"] == XBTD_P]
        self.assertEqual((xbtd[0]["filename"], xbtd[0]["is_raise"]),
                         ("server/common/sm_decode.c", True))
        self.assertEqual([f["is_raise"] for f in xbtd[1:]],
                         [False] * (len(xbtd) - 1))
        self.assert_chain(xbtd, [
            ("server/common/sm_run.c", "sm_call"),
            ("server/common/vmops.c", "vmops_step"),
            ("server/common/vmops.c", "vmops_start"),
            ("server/xenapi/vm_local.c", "vm_local_run"),
            ("server/xenapi/vm.c", "vm_run_ops"),
            ("server/xenapi/vm.c", "vm_start"),
            ("server/xenapi/dispatch.c", "async_run")])
        self.assertEqual((xbtd[-1]["filename"], xbtd[-1]["name"]),
                         ("server/xenapi/dispatch.c", "async_run"))
        # The same failure through xbt-opsd: the same error, the same
        # plugin frames; only the daemons' frames differ.
        plugin = frames[:procs.index(XBTD_P)]
        with fx.Xbtd(["--hostname", HOST]) as other:
            c = other.api
            ovm = c("VM.get_by_name_label", "demo-fail")[0]
            task = c("Async.VM.start", ovm, False, False)
            deadline = time.monotonic() + vmt.TASK_TIMEOUT
            while c("task.get_status", task) == "pending":
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            orec = c("task.get_record", task)
        self.assertEqual(orec["error_info"], rec["error_info"])
        oframes = vmt.backtrace_frames(orec["backtrace"])
        self.assertEqual(oframes[:len(plugin)], plugin)
        self.assertEqual(runs([f["process"] for f in oframes]),
                         ["FAIL @ " + HOST, vmt.OPSD_PROCESS, XBTD_P])
        # The boot disk was undone in reverse, in xbtd's own log.
        calls = re.findall(r"xbtd \w+ \[%s\] SM call: (\w+) (\w+) \{"
                           % re.escape("OpaqueRef:" + rec["uuid"]),
                           self.xbtd.stderr())
        self.assertEqual(calls, [
            ("DEMO", "vdi_attach"), ("DEMO", "vdi_activate"),
            ("FAIL", "vdi_attach"), ("DEMO", "vdi_deactivate"),
            ("DEMO", "vdi_detach")])
        self.assert_no_opsd()

    def test_demo_ok_starts_and_shuts_down(self):
        vm = self.vm("demo-ok")
        self.assert_halted(vm)
        _task, rec = self.start_ok(vm)
        self.assertEqual(rec["progress"], 1.0)
        self.assert_running(vm)
        task = self.ok("Async.VM.hard_shutdown", self.session, vm)
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["result"]), ("success", ""))
        self.assert_halted(vm)
        self.assertEqual(self.ok("VM.start", self.session, vm, False, False),
                         "")
        self.assert_running(vm)
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assert_halted(vm)
        self.assert_no_opsd()

    def test_no_opsd_is_run(self):
        # Also after the housekeeping loop has run (it starts a dead opsd).
        time.sleep(1.5)
        self.assert_no_opsd()


class CancelInProcess(InProcessCase):
    """A VMTEST SR whose second disk hangs in vdi_activate."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-sip-")
        cls.journal = os.path.join(cls.tmp, "journal")
        open(cls.journal, "w").close()
        cls.world = os.path.join(cls.tmp, "world.xml")
        with open(cls.world, "w") as f:
            f.write("""<?xml version="1.0"?>
<world>
  <sr name="sip-sr" type="VMTEST">
    <device_config key="journal" value="%s"/>
    <vdi name="first" location="first"/>
    <vdi name="hangs" location="vdi_activate=hang"/>
  </sr>
  <vm name="sip-cancel">
    <vbd vdi="first" device="xvda"/>
    <vbd vdi="hangs" device="xvdb"/>
  </vm>
</world>
""" % cls.journal)
        cls.xbtd_args = ("--hostname", HOST, "--storage-in-process",
                         "--world", cls.world, "--sm-dir", vmt.FIXTURE_DIR)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp)

    def calls(self):
        with open(self.journal) as f:
            return f.read().splitlines()

    def test_cancel_kills_the_plugin_and_undoes(self):
        vm = self.vm("sip-cancel")
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        hung = "vdi_activate vdi_activate=hang"
        deadline = time.monotonic() + SOON
        while hung not in self.calls():
            self.assertLess(time.monotonic(), deadline, self.calls())
            time.sleep(0.02)
        self.assertEqual(self.ok("task.cancel", self.session, task), "")
        while self.ok("task.get_status", self.session, task) in (
                "pending", "cancelling"):
            self.assertLess(time.monotonic(), deadline + SOON)
            time.sleep(0.02)
        rec = self.ok("task.get_record", self.session, task)
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("cancelled", ["TASK_CANCELLED", task]))
        frames = vmt.backtrace_frames(rec["backtrace"])
        self.assertEqual(runs([f["process"] for f in frames]), [XBTD_P])
        self.assertEqual((frames[0]["filename"], frames[0]["name"]),
                         ("server/common/sm_run.c", "sm_call"))
        self.assertEqual(self.calls(), [
            "vdi_attach first true", "vdi_activate first",
            "vdi_attach vdi_activate=hang true", hung,
            "vdi_detach vdi_activate=hang",
            "vdi_deactivate first", "vdi_detach first"])
        self.assert_halted(vm)
        # The hung plugin was killed and reaped: no child of xbtd is left.
        self.assertEqual(children(self.xbtd.proc.pid), [])
        self.assert_no_opsd()


if __name__ == "__main__":
    fx.run()
