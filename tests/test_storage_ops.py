#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Storage operations against a real xbtd (tests/worlds/storage_ops.xml on
tests/plugins/VMTESTSR): PBD.unplug refused with VDI_IN_USE while VMs use
the SR, as xapi's (ocaml/xapi/xapi_pbd.ml); SR and VBD allowed_operations
and current_operations as xapi's (xapi_sr_operations.ml,
xapi_vbd_helpers.ml); an unplug and a start that race never both succeed
(doc/design.md, "Storage operations").
"""

import concurrent.futures
import os
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

FIXTURE_DIR = os.path.abspath(os.path.join(fx.BUILDDIR, "tests", "plugins"))
# Long enough to look at an operation in flight on a loaded sanitizer
# build; nothing asserts that it is quick.
SLOW = 3
TIMEOUT = 180.0


def storage_world(slow=SLOW):
    """tests/worlds/storage_ops.xml with its slow steps of `slow` s."""
    with open(os.path.join(fx.SRCDIR, "tests", "worlds",
                           "storage_ops.xml")) as f:
        return f.read().replace("@SLOW@", str(slow))


class StorageCase(fx.WorldTestCase):
    world_text = storage_world()
    world_args = ("--hostname", "h1", "--sm-dir", FIXTURE_DIR)

    def tearDown(self):
        # Every test leaves VMs halted and PBDs plugged.
        for vm in self.ok("VM.get_all", self.session):
            rec = self.ok("VM.get_record", self.session, vm)
            self.wait_until(lambda: not self.ok(
                "VM.get_current_operations", self.session, vm))
            if self.ok("VM.get_power_state", self.session, vm) != "Halted":
                self.ok("VM.hard_shutdown", self.session, vm)
            del rec
        for sr in self.ok("SR.get_all", self.session):
            self.wait_until(lambda: not self.ok(
                "SR.get_current_operations", self.session, sr))
        for pbd in self.ok("PBD.get_all", self.session):
            if not self.ok("PBD.get_currently_attached", self.session, pbd):
                self.ok("PBD.plug", self.session, pbd)

    def wait_until(self, pred, what="condition"):
        deadline = time.monotonic() + TIMEOUT
        while not pred():
            if time.monotonic() > deadline:
                self.fail("%s not met after %.0f s" % (what, TIMEOUT))
            time.sleep(0.02)

    def wait_task(self, task):
        self.wait_until(lambda: self.ok("task.get_status", self.session,
                                        task) not in ("pending", "cancelling"),
                        "task end")
        return self.ok("task.get_record", self.session, task)

    def one(self, cls, name):
        refs = self.ok("%s.get_by_name_label" % cls, self.session, name)
        self.assertEqual(len(refs), 1, name)
        return refs[0]

    def vm(self, name):
        return self.one("VM", name)

    def sr(self, name):
        return self.one("SR", name)

    def vdi(self, name):
        return self.one("VDI", name)

    def pbd(self, sr_name):
        pbds = self.ok("SR.get_PBDs", self.session, self.sr(sr_name))
        self.assertEqual(len(pbds), 1)
        return pbds[0]

    def vbd(self, vm_name, index=0):
        return self.ok("VM.get_VBDs", self.session, self.vm(vm_name))[index]

    def record(self, cls, ref):
        return self.ok("%s.get_record" % cls, self.session, ref)

    def power(self, vm):
        return self.ok("VM.get_power_state", self.session, vm)

    def attached(self, pbd):
        return self.ok("PBD.get_currently_attached", self.session, pbd)


class Records(StorageCase):
    """allowed_operations and current_operations at rest."""

    def test_sr_at_rest(self):
        for name in ("so-sr", "so-slow-sr", "so-other-sr"):
            rec = self.record("SR", self.sr(name))
            self.assertEqual(rec["allowed_operations"], ["plug", "unplug"])
            self.assertEqual(rec["current_operations"], {})

    def test_vbd_at_rest(self):
        rec = self.record("VBD", self.vbd("so-b"))
        self.assertEqual(rec["allowed_operations"], ["attach"])
        self.assertEqual(rec["current_operations"], {})

    def test_vdi_has_no_operations(self):
        # No VDI message exists in xbt: nothing to allow or run.
        rec = self.record("VDI", self.vdi("d1"))
        self.assertEqual(rec["allowed_operations"], [])
        self.assertEqual(rec["current_operations"], {})

    def test_pbd_has_no_operation_fields(self):
        # As xapi's PBD (ocaml/idl/datamodel.ml): its plug and unplug mark
        # the SR instead.
        rec = self.record("PBD", self.pbd("so-sr"))
        self.assertNotIn("allowed_operations", rec)
        self.assertNotIn("current_operations", rec)

    def test_running_vm_vbd_still_allows_attach(self):
        # xapi skips the sharing checks of an attached VBD.
        vm = self.vm("so-b")
        self.ok("VM.start", self.session, vm, False, False)
        rec = self.record("VBD", self.vbd("so-b"))
        self.assertTrue(rec["currently_attached"])
        self.assertEqual(rec["allowed_operations"], ["attach"])
        self.ok("VM.clean_shutdown", self.session, vm)


class Unplug(StorageCase):
    """PBD.unplug refused while VMs use the SR: VDI_IN_USE [vdis]."""

    def test_unplug_under_running_vm(self):
        vm = self.vm("so-a")
        pbd = self.pbd("so-sr")
        self.ok("VM.start", self.session, vm, False, False)
        self.assertEqual(self.failure("PBD.unplug", self.session, pbd),
                         ["VDI_IN_USE", self.vdi("d1")])
        self.assertTrue(self.attached(pbd))
        self.assertEqual(self.power(vm), "Running")
        # The SR is free again and the VM can still stop.
        rec = self.record("SR", self.sr("so-sr"))
        self.assertEqual(rec["current_operations"], {})
        self.assertEqual(rec["allowed_operations"], ["plug", "unplug"])
        self.ok("VM.clean_shutdown", self.session, vm)
        self.ok("PBD.unplug", self.session, pbd)
        self.assertFalse(self.attached(pbd))
        self.ok("PBD.plug", self.session, pbd)

    def test_async_unplug_fails_in_its_task(self):
        vm = self.vm("so-b")
        self.ok("VM.start", self.session, vm, False, False)
        task = self.ok("Async.PBD.unplug", self.session, self.pbd("so-sr"))
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("failure", ["VDI_IN_USE", self.vdi("d2")]))
        self.assertEqual(
            self.ok("SR.get_current_operations", self.session,
                    self.sr("so-sr")), {})

    def test_unplug_lists_every_vdi_in_use(self):
        for name in ("so-a", "so-b", "so-c"):
            self.ok("VM.start", self.session, self.vm(name), False, False)
        self.assertEqual(
            self.failure("PBD.unplug", self.session, self.pbd("so-sr")),
            ["VDI_IN_USE", self.vdi("d1"), self.vdi("d2"), self.vdi("d3")])

    def test_unplug_of_another_sr(self):
        # so-b uses only so-sr: so-other-sr's PBD comes off, and so-a,
        # which needs it, cannot start then.
        self.ok("VM.start", self.session, self.vm("so-b"), False, False)
        pbd = self.pbd("so-other-sr")
        self.ok("PBD.unplug", self.session, pbd)
        self.assertEqual(
            self.failure("VM.start", self.session, self.vm("so-a"), False,
                         False),
            ["VM_REQUIRES_SR", self.vm("so-a"), self.sr("so-other-sr")])
        self.ok("PBD.plug", self.session, pbd)

    def test_unplug_of_an_unplugged_pbd_is_a_no_op(self):
        pbd = self.pbd("so-other-sr")
        self.ok("PBD.unplug", self.session, pbd)
        self.ok("PBD.unplug", self.session, pbd)
        self.assertFalse(self.attached(pbd))


class InFlight(StorageCase):
    """Operations in flight show in current_operations and hold others
    off, checked and marked in one step."""

    def test_unplug_while_a_start_runs(self):
        vm = self.vm("so-slow-start")
        vbd = self.vbd("so-slow-start")
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        self.wait_until(lambda: self.ok("VBD.get_current_operations",
                                        self.session, vbd),
                        "the VBD marked")
        rec = self.record("VBD", vbd)
        self.assertEqual(rec["current_operations"], {task: "attach"})
        self.assertEqual(rec["allowed_operations"], [])
        self.assertEqual(
            self.failure("PBD.unplug", self.session, self.pbd("so-sr")),
            ["VDI_IN_USE", self.vdi("slow-attach")])
        done = self.wait_task(task)
        self.assertEqual(done["status"], "success", done)
        rec = self.record("VBD", vbd)
        self.assertEqual(rec["current_operations"], {})
        self.assertEqual(rec["allowed_operations"], ["attach"])
        self.assertTrue(rec["currently_attached"])

    def test_unplug_while_a_shutdown_runs(self):
        vm = self.vm("so-slow-stop")
        self.ok("VM.start", self.session, vm, False, False)
        task = self.ok("Async.VM.clean_shutdown", self.session, vm)
        self.wait_until(lambda: self.ok("VM.get_current_operations",
                                        self.session, vm), "VM marked")
        ed = self.failure("PBD.unplug", self.session, self.pbd("so-sr"))
        # Unless the shutdown ended in between, its disk is still in use.
        if self.ok("task.get_status", self.session, task) == "pending":
            self.assertEqual(ed, ["VDI_IN_USE", self.vdi("slow-detach")])
        self.assertEqual(self.wait_task(task)["status"], "success")

    def test_start_while_an_unplug_runs(self):
        sr = self.sr("so-slow-sr")
        pbd = self.pbd("so-slow-sr")
        task = self.ok("Async.PBD.unplug", self.session, pbd)
        self.wait_until(lambda: self.ok("SR.get_current_operations",
                                        self.session, sr), "SR marked")
        rec = self.record("SR", sr)
        self.assertEqual(rec["current_operations"], {task: "unplug"})
        self.assertEqual(rec["allowed_operations"], [])
        # The PBD is still attached, but going: a VM needing it cannot start.
        vm = self.vm("so-s")
        self.assertEqual(
            self.failure("VM.start", self.session, vm, False, False),
            ["VM_REQUIRES_SR", vm, sr])
        busy = ["OTHER_OPERATION_IN_PROGRESS", "SR", sr, "unplug", task]
        self.assertEqual(self.failure("PBD.plug", self.session, pbd), busy)
        self.assertEqual(self.failure("PBD.unplug", self.session, pbd), busy)
        done = self.wait_task(task)
        self.assertEqual(done["status"], "success", done)
        self.assertFalse(self.attached(pbd))
        rec = self.record("SR", sr)
        self.assertEqual(rec["current_operations"], {})
        self.assertEqual(rec["allowed_operations"], ["plug", "unplug"])

    def test_plugs_run_together_an_unplug_waits(self):
        sr = self.sr("so-slow-sr")
        pbd = self.pbd("so-slow-sr")
        self.ok("PBD.unplug", self.session, pbd)
        task = self.ok("Async.PBD.plug", self.session, pbd)
        self.wait_until(lambda: self.ok("SR.get_current_operations",
                                        self.session, sr), "SR marked")
        rec = self.record("SR", sr)
        self.assertEqual(rec["current_operations"], {task: "plug"})
        # xapi's check_parallel_ops: plugs may run together.
        self.assertEqual(rec["allowed_operations"], ["plug"])
        self.assertEqual(
            self.failure("PBD.unplug", self.session, pbd),
            ["OTHER_OPERATION_IN_PROGRESS", "SR", sr, "plug", task])
        second = self.ok("Async.PBD.plug", self.session, pbd)
        for t in (task, second):
            done = self.wait_task(t)
            self.assertEqual(done["status"], "success", done)
        self.assertTrue(self.attached(pbd))
        self.assertEqual(self.ok("SR.get_current_operations", self.session,
                                 sr), {})

    def test_cancelled_unplug_leaves_nothing_marked(self):
        sr = self.sr("so-slow-sr")
        pbd = self.pbd("so-slow-sr")
        task = self.ok("Async.PBD.unplug", self.session, pbd)
        self.wait_until(lambda: self.ok("SR.get_current_operations",
                                        self.session, sr), "SR marked")
        self.ok("task.cancel", self.session, task)
        # sr_detach runs in xbtd without a cancel switch: the unplug ends
        # as its plugin does.
        self.assertIn(self.wait_task(task)["status"],
                      ("success", "cancelled"))
        self.assertEqual(self.ok("SR.get_current_operations", self.session,
                                 sr), {})
        self.assertEqual(self.ok("SR.get_allowed_operations", self.session,
                                 sr), ["plug", "unplug"])


class Sharing(StorageCase):
    """A VDI that is not sharable, attached read-write by one VM."""

    def test_second_vm_refused(self):
        one, two = self.vm("so-share-1"), self.vm("so-share-2")
        self.ok("VM.start", self.session, one, False, False)
        vdi = self.vdi("shared-rw")
        self.assertEqual(self.ok("VBD.get_allowed_operations", self.session,
                                 self.vbd("so-share-2")), [])
        self.assertEqual(self.failure("VM.start", self.session, two, False,
                                      False), ["VDI_IN_USE", vdi])
        self.assertEqual(self.power(two), "Halted")
        self.assertEqual(self.ok("VM.get_current_operations", self.session,
                                 two), {})
        self.ok("VM.clean_shutdown", self.session, one)
        self.assertEqual(self.ok("VBD.get_allowed_operations", self.session,
                                 self.vbd("so-share-2")), ["attach"])
        self.ok("VM.start", self.session, two, False, False)
        self.ok("VM.clean_shutdown", self.session, two)


class Race(StorageCase):
    """A start and an unplug sent together: one of them fails."""

    def test_start_and_unplug_never_both_succeed(self):
        vm = self.vm("so-b")
        pbd = self.pbd("so-sr")
        sr = self.sr("so-sr")
        outcomes = set()
        for _ in range(12):
            barrier = threading.Barrier(2)

            def call(method, *args):
                c = self.xbtd.client()
                barrier.wait()
                try:
                    c(method, *args)
                    return None
                except fx.XenAPIError as e:
                    return e.desc

            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                fs = ex.submit(call, "VM.start", vm, False, False)
                fu = ex.submit(call, "PBD.unplug", pbd)
                started, unplugged = fs.result(), fu.result()
            self.assertFalse(started is None and unplugged is None,
                             "both the start and the unplug succeeded")
            if started is None:
                self.assertEqual(unplugged, ["VDI_IN_USE", self.vdi("d2")])
                outcomes.add("start won")
                self.ok("VM.hard_shutdown", self.session, vm)
            else:
                self.assertEqual(started, ["VM_REQUIRES_SR", vm, sr])
                outcomes.add("unplug won")
                self.ok("PBD.plug", self.session, pbd)
            self.assertEqual(self.power(vm), "Halted")
            self.assertTrue(self.attached(pbd))
        print("outcomes: %s" % sorted(outcomes))


if __name__ == "__main__":
    del xmlrpc
    fx.run()
