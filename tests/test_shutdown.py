#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbtd's stop (doc/design.md, "Stopping"; doc/xbtd.8): on SIGTERM no new
call is taken and no queued Async call starts (its task ends cancelled);
operations in flight get --shutdown-grace seconds, then are cancelled with
their undo steps run; no plugin outlives the stop; an opsd given with
--opsd-socket is left running. The plugin (tests/plugins/VMTESTSR)
journals every call it gets, which is how the tests see what ran: a VDI's
location is its name, then what its plugin does (";vdi_attach=hang").
"""

import os
import signal
import sys
import tempfile
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

FIXTURE_DIR = os.path.abspath(os.path.join(fx.BUILDDIR, "tests", "plugins"))
# Generous: sanitizer builds on a loaded machine. What the tests tell apart
# is an exit within this and one bound only by PLUGIN_TIMEOUT.
EXIT_BOUND = 120.0
PLUGIN_TIMEOUT = 600
WAIT = 120.0

WORLD = """<?xml version="1.0"?>
<world>
  <sr name="sd-sr" type="VMTEST">
    <device_config key="journal" value="@JOURNAL@"/>
    <vdi name="quick" location="quick"/>
    <vdi name="q1" location="q1"/>
    <vdi name="q2" location="q2"/>
    <vdi name="q3" location="q3"/>
    <vdi name="slow" location="slow;vdi_attach=sleep:3"/>
    <vdi name="first" location="first"/>
    <vdi name="hangs" location="hangs;vdi_attach=hang"/>
  </sr>
  <sr name="sd-hang-sr" type="VMTEST">
    <device_config key="journal" value="@JOURNAL@"/>
    <device_config key="mode" value="sr_detach=hang"/>
    <vdi name="h1" location="h1"/>
  </sr>
  <vm name="sd-quick"><vbd vdi="quick"/></vm>
  <vm name="sd-q1"><vbd vdi="q1"/></vm>
  <vm name="sd-q2"><vbd vdi="q2"/></vm>
  <vm name="sd-q3"><vbd vdi="q3"/></vm>
  <vm name="sd-slow"><vbd vdi="slow"/></vm>
  <vm name="sd-hangs">
    <vbd vdi="first" device="xvda"/>
    <vbd vdi="hangs" device="xvdb"/>
  </vm>
</world>
"""


def wait_for(pred, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not seen after %.0f s" % (what, timeout))
        time.sleep(0.02)


def processes_naming(text):
    """Live processes whose command line holds text."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if text in argv and fx.process_state(int(entry)) not in (None, "Z"):
            found.append(int(entry))
    return found


class Shutdown(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xbt-shutdown-")
        self.journal = os.path.join(self.tmp, "journal")
        open(self.journal, "w").close()
        self.world = os.path.join(self.tmp, "world.xml")
        with open(self.world, "w") as f:
            f.write(WORLD.replace("@JOURNAL@", self.journal))
        self.servers = []

    def tearDown(self):
        fx.stop_all(self.servers)
        self.assertEqual(processes_naming(self.journal), [],
                         "plugins outlived the test")
        for name in os.listdir(self.tmp):
            path = os.path.join(self.tmp, name)
            if os.path.isdir(path):
                continue
            os.unlink(path)

    def xbtd(self, *args):
        x = fx.Xbtd(["--hostname", "h1", "--world", self.world,
                     "--sm-dir", FIXTURE_DIR,
                     "--plugin-timeout", str(PLUGIN_TIMEOUT)] + list(args))
        self.servers.append(x)
        return x.start()

    def calls(self):
        """The journal, each location cut to its name (before any ";")."""
        out = []
        with open(self.journal) as f:
            for line in f.read().splitlines():
                words = line.split(" ")
                if len(words) > 1:
                    words[1] = words[1].split(";")[0]
                out.append(" ".join(words))
        return out

    def vm(self, x, name):
        return x.api("VM.get_by_name_label", name)[0]

    def sigterm_and_wait(self, x):
        """SIGTERM; the seconds to exit (the fixture's stop() then checks
        the status and stderr)."""
        x.terminate()
        try:
            x.proc.wait(timeout=EXIT_BOUND)
        except Exception:
            self.fail("xbtd still running %.0f s after SIGTERM" % EXIT_BOUND)
        took = time.monotonic() - x.sigterm_at
        err = x.stderr()
        x.stop()
        return took, err

    def test_queued_calls_never_start(self):
        # One worker: the slow start runs, three more wait in the queue.
        x = self.xbtd("--workers", "1", "--shutdown-grace", "60")
        slow = x.api("Async.VM.start", self.vm(x, "sd-slow"), False, False)
        wait_for(lambda: "vdi_attach slow true" in self.calls(),
                 "the slow attach")
        queued = [x.api("Async.VM.start", self.vm(x, n), False, False)
                  for n in ("sd-q1", "sd-q2", "sd-q3")]
        took, err = self.sigterm_and_wait(x)
        calls = self.calls()
        # The one in flight finished within the grace; none queued began.
        self.assertEqual(calls, ["vdi_attach slow true", "vdi_activate slow"])
        self.assertNotIn("task %s (Async.VM.start) failed" % slow, err)
        for task in queued:
            self.assertIn("task %s (Async.VM.start) failed: TASK_CANCELLED "
                          "[%s]" % (task, task), err)
        self.assertNotIn("cancelling them", err)

    def test_no_new_calls_after_sigterm(self):
        x = self.xbtd("--shutdown-grace", "60")
        task = x.api("Async.VM.start", self.vm(x, "sd-slow"), False, False)
        wait_for(lambda: "vdi_attach slow true" in self.calls(),
                 "the slow attach")
        kept = x.client()          # a kept connection, used before
        kept("VM.get_all")
        x.terminate()
        wait_for(lambda: "signal 15: shutting down" in x.stderr(),
                 "the shutdown line")
        with self.assertRaises((OSError, xmlrpc.client.ProtocolError,
                                http_client_errors())):
            kept("VM.get_all")
        with self.assertRaises((OSError, xmlrpc.client.ProtocolError,
                                http_client_errors())):
            x.client()("VM.get_all")
        took, err = self.sigterm_and_wait(x)
        self.assertEqual(self.calls(),
                         ["vdi_attach slow true", "vdi_activate slow"])
        del task

    def test_grace_then_cancel_with_undo(self):
        x = self.xbtd("--shutdown-grace", "1")
        vm_task = x.api("Async.VM.start", self.vm(x, "sd-hangs"), False,
                        False)
        pbd = x.api("SR.get_PBDs", x.api("SR.get_by_name_label",
                                         "sd-hang-sr")[0])[0]
        pbd_task = x.api("Async.PBD.unplug", pbd)
        wait_for(lambda: "vdi_attach hangs true" in self.calls() and
                 any(c.startswith("sr_detach") for c in self.calls()),
                 "both hanging plugins")
        took, err = self.sigterm_and_wait(x)
        calls = self.calls()
        # The first disk, brought up before the second hung, went down again.
        self.assertEqual([c for c in calls if c.endswith("first") or
                          " first " in c],
                         ["vdi_attach first true", "vdi_activate first",
                          "vdi_deactivate first", "vdi_detach first"])
        self.assertIn("cancelling them", err)
        self.assertIn("task %s (Async.VM.start) failed: TASK_CANCELLED [%s]"
                      % (vm_task, vm_task), err)
        self.assertIn("task %s (Async.PBD.unplug) failed: TASK_CANCELLED "
                      "[%s]" % (pbd_task, pbd_task), err)
        self.assertLess(took, PLUGIN_TIMEOUT)
        # No plugin of this test is left (tearDown checks again).
        self.assertEqual(processes_naming(self.journal), [])

    def test_external_opsd_left_alone(self):
        sock = os.path.join(self.tmp, "opsd.sock")
        opsd = fx.Opsd(sock, ["--state-dir", os.path.join(self.tmp, "ext"),
                              "--sm-dir", FIXTURE_DIR,
                              "--plugin-timeout", str(PLUGIN_TIMEOUT)])
        self.servers.append(opsd)
        opsd.start()
        x = self.xbtd("--opsd-socket", sock, "--shutdown-grace", "1")
        x.api("VM.start", self.vm(x, "sd-quick"), False, False)
        task = x.api("Async.VM.start", self.vm(x, "sd-hangs"), False, False)
        wait_for(lambda: "vdi_attach hangs true" in self.calls(),
                 "the hanging attach")
        took, err = self.sigterm_and_wait(x)
        self.assertIn("task %s (Async.VM.start) failed: TASK_CANCELLED [%s]"
                      % (task, task), err)
        # opsd serves on, with the VM xbtd started; the cancelled one is
        # undone.
        self.assertTrue(opsd.alive())
        c = opsd.client()
        vms = c.raw("VM.list", "test")
        self.assertEqual([v["state"] for v in vms], ["running"])
        self.assertIn("vdi_detach first", self.calls())


def http_client_errors():
    import http.client
    return http.client.HTTPException


if __name__ == "__main__":
    fx.run()
