#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A property test of the state rules (doc/design.md, "Storage
operations"): several clients at once send random starts, shutdowns,
PBD plugs and unplugs, and cancels of their own tasks, to one xbtd on
tests/worlds/storage_ops.xml. The run is seeded and prints its seed
(XBT_SEED=N repeats a run's choices; the interleaving is the machine's).

It goes in rounds: in each, every client makes one random call (Async,
sometimes cancelled after a random delay) and waits for its task; when all
are done, the invariants are checked on a state at rest:

- no attached VBD on a halted VM, and every disk of a running VM attached;
- no running VM whose SR's PBD (on its host) is unplugged;
- allowed_operations as the state says (VM, SR, VBD);
- nothing left in any current_operations once the tasks have ended;
- only the errors the rules allow.
"""

import os
import random
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from test_storage_ops import storage_world, FIXTURE_DIR  # noqa: E402

CLIENTS = 4
ROUNDS = int(os.environ.get("XBT_ROUNDS", "40"))
SLOW = 0.3           # the world's slow steps: races get a window
TASK_TIMEOUT = 120.0  # generous: a sanitizer build on a loaded machine

# What a call may fail with under the rules, by message.
ALLOWED_ERRORS = {
    "VM.start": {"VM_BAD_POWER_STATE", "OTHER_OPERATION_IN_PROGRESS",
                 "VDI_IN_USE", "VM_REQUIRES_SR", "TASK_CANCELLED"},
    "VM.clean_shutdown": {"VM_BAD_POWER_STATE",
                          "OTHER_OPERATION_IN_PROGRESS", "TASK_CANCELLED"},
    "VM.hard_shutdown": {"VM_BAD_POWER_STATE", "OTHER_OPERATION_IN_PROGRESS",
                         "TASK_CANCELLED"},
    "PBD.plug": {"OTHER_OPERATION_IN_PROGRESS", "TASK_CANCELLED"},
    "PBD.unplug": {"OTHER_OPERATION_IN_PROGRESS", "VDI_IN_USE",
                   "TASK_CANCELLED"},
}


class StateRules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.seed = int(os.environ.get("XBT_SEED") or
                       random.SystemRandom().randrange(1 << 32))
        print("seed: %d (XBT_SEED=%d repeats these choices)"
              % (cls.seed, cls.seed), flush=True)
        cls.tmp = tempfile.mkdtemp(prefix="xbt-rules-")
        cls.world = os.path.join(cls.tmp, "world.xml")
        with open(cls.world, "w") as f:
            f.write(storage_world(SLOW))
        cls.x = fx.Xbtd(["--hostname", "h1", "--world", cls.world,
                         "--sm-dir", FIXTURE_DIR])
        cls.x.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.x.stop()
        finally:
            os.unlink(cls.world)
            os.rmdir(cls.tmp)

    def records(self, api, cls):
        return api("%s.get_all_records" % cls)

    # ---- the invariants, on a state at rest ----------------------------------

    def check(self, api, round_no, ended_tasks):
        where = "seed %d, round %d" % (self.seed, round_no)
        vms = self.records(api, "VM")
        vbds = self.records(api, "VBD")
        vdis = self.records(api, "VDI")
        pbds = self.records(api, "PBD")
        srs = self.records(api, "SR")
        ended = set(ended_tasks)
        for cls, recs in (("VM", vms), ("VBD", vbds), ("SR", srs),
                          ("VDI", vdis)):
            for ref, r in recs.items():
                self.assertEqual(r["current_operations"], {},
                                 "%s: %s %s still shows %r" %
                                 (where, cls, ref, r["current_operations"]))
                self.assertFalse(ended & set(r["current_operations"]), where)
        for ref, sr in srs.items():
            self.assertEqual(sr["allowed_operations"], ["plug", "unplug"],
                             "%s: SR %s" % (where, ref))
        for ref, vm in vms.items():
            if vm["is_a_template"]:
                continue
            state = vm["power_state"]
            want = {"Halted": ["start"],
                    "Running": ["clean_reboot", "clean_shutdown",
                                "hard_reboot", "hard_shutdown", "pause",
                                "suspend"]}[state]
            self.assertEqual(sorted(vm["allowed_operations"]), want,
                             "%s: VM %s (%s)" % (where, vm["name_label"],
                                                 state))
            for b in vm["VBDs"]:
                vbd = vbds[b]
                if vbd["empty"]:
                    continue
                self.assertEqual(vbd["currently_attached"],
                                 state == "Running",
                                 "%s: VM %s is %s, its VBD %s attached=%s"
                                 % (where, vm["name_label"], state, b,
                                    vbd["currently_attached"]))
                if state != "Running":
                    continue
                sr = vdis[vbd["VDI"]]["SR"]
                plugged = [p for p in srs[sr]["PBDs"]
                           if pbds[p]["host"] == vm["resident_on"] and
                           pbds[p]["currently_attached"]]
                self.assertTrue(plugged, "%s: VM %s runs on SR %s, whose "
                                "PBD is unplugged" % (where, vm["name_label"],
                                                      sr))
        for ref, vbd in vbds.items():
            want = ["attach"]
            if not vbd["currently_attached"] and not vbd["empty"]:
                vdi = vdis[vbd["VDI"]]
                others = [vbds[o] for o in vdi["VBDs"] if o != ref and
                          vbds[o]["currently_attached"]]
                if not vdi["sharable"] and others and (
                        vbd["mode"] == "RW" or
                        any(o["mode"] == "RW" for o in others)):
                    want = []
            self.assertEqual(vbd["allowed_operations"], want,
                             "%s: VBD %s" % (where, ref))

    # ---- the clients -------------------------------------------------------

    def one_step(self, api, rng, vms, pbds, log):
        """One random call, maybe cancelled; waits for its task. Returns
        the task ref."""
        kind = rng.choice(["start", "start", "clean_shutdown",
                           "hard_shutdown", "plug", "unplug", "unplug"])
        if kind in ("plug", "unplug"):
            method, arg = "PBD." + kind, rng.choice(pbds)
            args = (arg,)
        else:
            method, arg = "VM." + kind, rng.choice(vms)
            args = (arg, False, False) if kind == "start" else (arg,)
        cancel_after = rng.choice([None, None, None, 0.0, 0.1, SLOW])
        task = api("Async." + method, *args)
        if cancel_after is not None:
            time.sleep(cancel_after)
            try:
                api("task.cancel", task)
            except fx.XenAPIError as e:
                # Only a task that has ended already may refuse.
                if e.desc != ["OPERATION_NOT_ALLOWED", "Task is not pending"]:
                    raise
        deadline = time.monotonic() + TASK_TIMEOUT
        while api("task.get_status", task) in ("pending", "cancelling"):
            if time.monotonic() > deadline:
                raise AssertionError("%s %s: task %s still running after "
                                     "%.0f s" % (method, arg, task,
                                                 TASK_TIMEOUT))
            time.sleep(0.01)
        rec = api("task.get_record", task)
        if rec["status"] == "failure" or rec["status"] == "cancelled":
            code = rec["error_info"][0] if rec["error_info"] else ""
            if code not in ALLOWED_ERRORS[method]:
                raise AssertionError("%s %s failed with %r" %
                                     (method, arg, rec["error_info"]))
        log.append((method, arg, rec["status"],
                    rec["error_info"][:1]))
        api("task.destroy", task)
        return task

    def test_random_concurrent_operations(self):
        api = self.x.api
        vms = sorted(ref for ref, r in self.records(api, "VM").items()
                     if not r["is_a_template"])
        pbds = sorted(self.records(api, "PBD"))
        clients = []
        for i in range(CLIENTS):
            c = self.x.client(self.x.login())
            clients.append((c, random.Random(self.seed * 1000 + i)))
        log = []
        started = time.monotonic()
        for round_no in range(ROUNDS):
            errors = []
            ended = []

            def run(c, rng):
                try:
                    ended.append(self.one_step(c, rng, vms, pbds, log))
                except BaseException as e:  # noqa: B902 (reported below)
                    errors.append(e)

            threads = [threading.Thread(target=run, args=cr)
                       for cr in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise AssertionError("seed %d, round %d: %s"
                                     % (self.seed, round_no, errors[0]))
            self.check(api, round_no, ended)
        statuses = {}
        for _method, _arg, status, code in log:
            key = status + (" " + code[0] if code else "")
            statuses[key] = statuses.get(key, 0) + 1
        print("%d calls in %.1f s: %s" % (len(log), time.monotonic() -
                                          started, sorted(statuses.items())))
        self.assertEqual(len(log), CLIENTS * ROUNDS)


if __name__ == "__main__":
    fx.run()
