#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""VM.start through SMAPIv1 plugins, against a real xbtd (xmlrpc.client).

- DemoWorld: the embedded demo world (DEMO and FAIL plugins): a failing
  start with the plugin's Python frames glued to xbtd's, a good start and
  both shutdowns, power-state and template errors, PBD.plug.
- PluginFaults: tests/worlds/vm_start.xml with tests/plugins/VMTESTSR,
  one VM per way a plugin can fail, each checked through Async.VM.start
  and its task (error_info exactly), plus the plugin's journal of calls.
- Concurrency: a generated world of 50 VMs started at once, and two starts
  of one VM at once.
- WorldErrors: xbtd refuses bad --world files with file:line and the cause.
"""

import concurrent.futures
import os
import re
import sys
import tempfile
import threading
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

HOST = "h1"
XBTD_PROCESS = "xbtd @ %s" % HOST
OPSD_PROCESS = "xbt-opsd @ %s" % HOST
# Sanitizer builds and loaded machines are slow; a healthy run takes seconds.
TASK_TIMEOUT = 180.0
# Long enough for a Python plugin to start on a loaded machine (a flake at 2
# under a parallel make check), short enough for the hang tests.
PLUGIN_TIMEOUT = 4
FIXTURE_DIR = os.path.abspath(os.path.join(fx.BUILDDIR, "tests", "plugins"))
KIT_SRC = os.path.join(fx.SRCDIR, "api", "python", "xbtsm.py")
KIT_MARK = "# xbtsm: the plugin's frames start here"
FRAME_FIELDS = ["process", "filename", "line", "chars_start", "chars_end",
                "name", "is_inline", "is_raise"]


# ---- task.backtrace: a small reader of sexplib's machine format ------------

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r",
            "b": "\b"}


def sexp_parse(text):
    """One s-expression: nested lists of atoms (str). Raises ValueError."""
    pos = 0

    def skip():
        nonlocal pos
        while pos < len(text) and text[pos] in " \t\n\r":
            pos += 1

    def value():
        nonlocal pos
        skip()
        if pos >= len(text):
            raise ValueError("unexpected end at %d" % pos)
        c = text[pos]
        if c == "(":
            pos += 1
            items = []
            while True:
                skip()
                if pos >= len(text):
                    raise ValueError("unclosed list")
                if text[pos] == ")":
                    pos += 1
                    return items
                items.append(value())
        if c == ")":
            raise ValueError("unexpected ) at %d" % pos)
        if c == '"':
            pos += 1
            out = []
            while True:
                if pos >= len(text):
                    raise ValueError("unclosed string")
                c = text[pos]
                if c == '"':
                    pos += 1
                    return "".join(out)
                if c == "\\":
                    e = text[pos + 1:pos + 2]
                    if e in _ESCAPES:
                        out.append(_ESCAPES[e])
                        pos += 2
                    elif re.match(r"\d{3}", text[pos + 1:pos + 4]):
                        out.append(chr(int(text[pos + 1:pos + 4])))
                        pos += 4
                    else:
                        raise ValueError("bad escape at %d" % pos)
                else:
                    out.append(c)
                    pos += 1
        start = pos
        while pos < len(text) and text[pos] not in ' \t\n\r()"':
            pos += 1
        return text[start:pos]

    v = value()
    skip()
    if pos != len(text):
        raise ValueError("trailing text at %d: %r" % (pos, text[pos:pos + 20]))
    return v


def backtrace_frames(text):
    """task.backtrace as a list of dicts, innermost first; checks each
    frame's field order (name may be missing) and value forms."""
    frames = []
    for f in sexp_parse(text):
        keys = [pair[0] for pair in f]
        want = [k for k in FRAME_FIELDS if k != "name" or "name" in keys]
        if keys != want or any(len(pair) != 2 for pair in f):
            raise ValueError("bad frame %r" % (f,))
        d = dict(f)
        for k in ("line", "chars_start", "chars_end"):
            d[k] = int(d[k])
        for k in ("is_inline", "is_raise"):
            if d[k] not in ("true", "false"):
                raise ValueError("bad bool in %r" % (f,))
            d[k] = d[k] == "true"
        frames.append(d)
    return frames


def line_of(path, needle):
    """The 1-based line of the one line of path containing needle."""
    with open(path, encoding="utf-8") as f:
        hits = [i + 1 for i, line in enumerate(f) if needle in line]
    if len(hits) != 1:
        raise AssertionError("%r is on lines %r of %s" % (needle, hits, path))
    return hits[0]


def source_line(relpath, number):
    """Line `number` of a source file, with the lines before it that the
    same statement began on: a macro call spanning lines has its first line
    as __LINE__ under gcc, its last under clang (the TSan build)."""
    with open(os.path.join(fx.SRCDIR, relpath), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if not 0 < number <= len(lines):
        return ""
    first = number - 1
    while first > 0 and number - first < 6 and \
            not lines[first - 1].rstrip().endswith((";", "{", "}", "*/")):
        first -= 1
    return "\n".join(lines[first:number])


# Kept under these names: other test files use them from here.
zombie_children = fx.zombie_children
process_state = fx.process_state


class VmCase(fx.XbtdTestCase):
    """Helpers shared by the classes below."""

    def vm(self, name):
        refs = self.ok("VM.get_by_name_label", self.session, name)
        self.assertEqual(len(refs), 1, name)
        return refs[0]

    def vm_record(self, vm):
        return self.ok("VM.get_record", self.session, vm)

    def vbd_records(self, vm):
        return [self.ok("VBD.get_record", self.session, b)
                for b in self.vm_record(vm)["VBDs"]]

    def host(self):
        hosts = self.ok("host.get_all", self.session)
        self.assertEqual(len(hosts), 1)
        return hosts[0]

    def wait_task(self, task, timeout=TASK_TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.ok("task.get_status", self.session, task) == "pending":
            if time.monotonic() > deadline:
                self.fail("task %s still pending after %.0f s"
                          % (task, timeout))
            time.sleep(0.02)
        return self.ok("task.get_record", self.session, task)

    def async_start(self, vm, paused=False):
        task = self.ok("Async.VM.start", self.session, vm, paused, False)
        self.assertRegex(task, r"^OpaqueRef:[0-9a-f-]{36}$")
        return task, self.wait_task(task)

    def start_ok(self, vm, paused=False):
        task, rec = self.async_start(vm, paused)
        self.assertEqual((rec["status"], rec["error_info"], rec["result"]),
                         ("success", [], ""), rec)
        self.assertEqual(rec["backtrace"], "()")
        return task, rec

    def start_fails(self, vm, error_info):
        """Async.VM.start fails with exactly error_info; the VM is left
        halted and free. Returns the task record."""
        task, rec = self.async_start(vm)
        self.assertEqual(rec["status"], "failure", rec)
        self.assertEqual(rec["error_info"], error_info)
        self.assertEqual(rec["result"], "")
        self.assert_halted(vm)
        return rec

    def assert_running(self, vm, state="Running"):
        r = self.vm_record(vm)
        self.assertEqual(r["power_state"], state)
        self.assertEqual(r["resident_on"], self.host())
        self.assertNotEqual(r["domid"], "-1")
        self.assertGreater(int(r["domid"]), 0)
        self.assertEqual(r["current_operations"], {})
        # doc/design.md, "VM power states"
        want = ["clean_reboot", "clean_shutdown", "hard_reboot",
                "hard_shutdown", "pause", "suspend"] if state == "Running" \
            else ["hard_reboot", "hard_shutdown", "unpause"]
        self.assertEqual(sorted(r["allowed_operations"]), want)
        for b in self.vbd_records(vm):
            self.assertTrue(b["currently_attached"], b)
        self.assertIn(vm, self.ok("host.get_resident_VMs", self.session,
                                  self.host()))
        return r

    def assert_halted(self, vm):
        r = self.vm_record(vm)
        self.assertEqual(r["power_state"], "Halted")
        self.assertEqual(r["resident_on"], "OpaqueRef:NULL")
        self.assertEqual(r["domid"], "-1")
        self.assertEqual(r["current_operations"], {})
        self.assertEqual(r["allowed_operations"], ["start"])
        for b in self.vbd_records(vm):
            self.assertFalse(b["currently_attached"], b)
        self.assertNotIn(vm, self.ok("host.get_resident_VMs", self.session,
                                     self.host()))
        return r

    def assert_chain(self, frames, chain):
        seen = [(f["filename"], f["name"]) for f in frames]
        at = 0
        for want in chain:
            self.assertIn(want, seen[at:], "%r not in order in %r"
                          % (want, seen))
            at = seen.index(want, at) + 1

    def assert_daemon_frames(self, frames, entry="vm_start",
                             step="vmops_start"):
        """The daemons' part of a VM operation's backtrace (doc/opsd.md):
        xbt-opsd's frames, raised in the decoder, through vmops_step and the
        job's task boundary; then xbtd's, raised where it relays opsd's
        failure, through the entry point, out of async_run."""
        self.assertTrue(frames)
        opsd = [f for f in frames if f["process"] == OPSD_PROCESS]
        self.assertTrue(opsd)
        self.assertEqual(frames[:len(opsd)], opsd, "opsd's frames first")
        xbtd = frames[len(opsd):]
        self.assertTrue(xbtd)
        for f in frames:
            self.assertIn(f["process"], (OPSD_PROCESS, XBTD_PROCESS), f)
            self.assertIn("name", f, f)
            self.assertGreater(f["line"], 0, f)
            self.assertEqual((f["chars_start"], f["chars_end"],
                              f["is_inline"]), (0, 0, False), f)
            # Each frame points at the macro that recorded it.
            self.assertRegex(source_line(f["filename"], f["line"]),
                             r"XBT_|SM_FAIL", f)
        for f in xbtd:
            self.assertEqual(f["process"], XBTD_PROCESS, f)
        self.assertEqual(opsd[0]["filename"], "server/common/sm_decode.c")
        self.assertEqual([f["is_raise"] for f in opsd],
                         [True] + [False] * (len(opsd) - 1))
        self.assertEqual((opsd[-1]["filename"], opsd[-1]["name"]),
                         ("server/xenops/vm.c", "vm_job_run"))
        self.assert_chain(opsd, [("server/common/sm_run.c", "sm_call"),
                                 ("server/common/vmops.c", "vmops_step"),
                                 ("server/common/vmops.c", step),
                                 ("server/xenops/vm.c", "vm_job_run")])
        self.assertEqual((xbtd[0]["filename"], xbtd[0]["name"]),
                         ("server/xenapi/relay.c", "relay_task_failure"))
        self.assertEqual([f["is_raise"] for f in xbtd],
                         [True] + [False] * (len(xbtd) - 1))
        self.assertEqual((xbtd[-1]["filename"], xbtd[-1]["name"]),
                         ("server/xenapi/dispatch.c", "async_run"))
        self.assert_chain(xbtd, [("server/xenapi/ops.c", "ops_run"),
                                 ("server/xenapi/vm.c", "vm_run_ops"),
                                 ("server/xenapi/vm.c", entry),
                                 ("server/xenapi/dispatch.c", "async_run")])


# ---- the demo world --------------------------------------------------------

class DemoWorld(VmCase):
    xbtd_args = ("--hostname", HOST)

    def test_demo_fail_glues_plugin_frames_and_undoes(self):
        vm = self.vm("demo-fail")
        boot_vbd, data_vbd = self.vm_record(vm)["VBDs"]
        boot_vdi = self.ok("VBD.get_VDI", self.session, boot_vbd)
        data_vdi = self.ok("VBD.get_VDI", self.session, data_vbd)
        data_uuid = self.ok("VDI.get_uuid", self.session, data_vdi)
        rec = self.start_fails(vm, [
            "SR_BACKEND_FAILURE_46", "",
            "The VDI is not available [opterr=/dev/xbt-fail/%s is locked "
            "by another host]" % data_uuid, ""])
        self.assertEqual(rec["progress"], 1.0)
        frames = backtrace_frames(rec["backtrace"])
        fail = os.path.join(fx.SRCDIR, "server", "plugins", "FAILSR")
        plugin = [f for f in frames
                  if f["process"] not in (XBTD_PROCESS, OPSD_PROCESS)]
        self.assertEqual(frames[:len(plugin)], plugin,
                         "the plugin's frames come first")
        self.assertEqual(
            [(f["process"], os.path.basename(f["filename"]), f["line"],
              f["is_raise"], f["is_inline"], "name" in f) for f in plugin],
            [("FAIL @ h1", "FAILSR",
              line_of(fail, "raise xbtsm.BackendError(46"), True, False,
              False),
             ("FAIL @ h1", "FAILSR", line_of(fail, "return open_tapdisk("),
              False, False, False),
             ("FAIL @ h1", "FAILSR",
              line_of(fail, "return activate_chain("), False, False, False),
             ("FAIL @ h1", "xbtsm.py", line_of(KIT_SRC, KIT_MARK), False,
              False, False)])
        for f in plugin:
            self.assertTrue(os.path.isabs(f["filename"]), f)
            self.assertTrue(f["filename"].endswith(
                ("/server/plugins/FAILSR", "/server/plugins/xbtsm.py")), f)
        self.assert_daemon_frames(frames[len(plugin):])
        # The boot disk was attached and activated, then undone in reverse.
        calls = re.findall(r"\[%s\] SM call: (\w+) (\w+) \{.*vdi_ref: "
                           r"\"(OpaqueRef:[0-9a-f-]+)\"" % re.escape(
                               self.task_of(rec)), self.xbtd.stderr())
        self.assertEqual(calls, [
            ("DEMO", "vdi_attach", boot_vdi),
            ("DEMO", "vdi_activate", boot_vdi),
            ("FAIL", "vdi_attach", data_vdi),
            ("DEMO", "vdi_deactivate", boot_vdi),
            ("DEMO", "vdi_detach", boot_vdi)])

    def task_of(self, rec):
        return "OpaqueRef:" + rec["uuid"]

    def test_demo_ok_start_and_clean_shutdown(self):
        vm = self.vm("demo-ok")
        self.assert_halted(vm)
        task, _rec = self.start_ok(vm)
        self.assertEqual(self.ok("task.get_result", self.session, task), "")
        self.assert_running(vm)
        self.assertEqual(self.failure("VM.start", self.session, vm, False,
                                      False),
                         ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        _t, rec = self.async_start(vm)
        self.assertEqual(rec["error_info"],
                         ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        self.assert_running(vm)
        self.assertEqual(self.ok("VM.clean_shutdown", self.session, vm), "")
        self.assert_halted(vm)
        self.assertEqual(self.failure("VM.clean_shutdown", self.session, vm),
                         ["VM_BAD_POWER_STATE", vm, "running", "halted"])
        self.assertEqual(self.failure("VM.hard_shutdown", self.session, vm),
                         ["VM_BAD_POWER_STATE", vm,
                          "paused, suspended, running", "halted"])
        self.assert_halted(vm)

    def test_demo_ok_hard_shutdown_and_new_domid(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm)
        first = self.assert_running(vm)["domid"]
        task = self.ok("Async.VM.hard_shutdown", self.session, vm)
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["result"]), ("success", ""))
        self.assert_halted(vm)
        self.assertEqual(self.ok("VM.start", self.session, vm, False, False),
                         "")
        second = self.assert_running(vm)["domid"]
        self.assertNotEqual(first, second)
        self.ok("VM.hard_shutdown", self.session, vm)
        self.assert_halted(vm)

    def test_demo_ok_start_paused(self):
        vm = self.vm("demo-ok")
        self.start_ok(vm, paused=True)
        self.assert_running(vm, state="Paused")
        self.assertEqual(self.failure("VM.start", self.session, vm, False,
                                      False),
                         ["VM_BAD_POWER_STATE", vm, "halted", "paused"])
        # As xapi: only a hard shutdown stops a paused VM.
        self.assertEqual(self.failure("VM.clean_shutdown", self.session, vm),
                         ["VM_BAD_POWER_STATE", vm, "running", "paused"])
        self.assert_running(vm, state="Paused")
        self.assertEqual(self.ok("VM.hard_shutdown", self.session, vm), "")
        self.assert_halted(vm)

    def test_template(self):
        vm = self.vm("demo-template")
        self.assertEqual(self.failure("VM.start", self.session, vm, False,
                                      False),
                         ["VM_IS_TEMPLATE", vm, "start"])
        _t, rec = self.async_start(vm)
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("failure", ["VM_IS_TEMPLATE", vm, "start"]))
        r = self.vm_record(vm)
        self.assertEqual((r["power_state"], r["allowed_operations"],
                          r["current_operations"]), ("Halted", [], {}))

    def test_offline_sr_then_pbd_plug(self):
        vm = self.vm("demo-offline")
        srs = self.ok("SR.get_by_name_label", self.session, "offline-sr")
        self.assertEqual(len(srs), 1)
        sr = srs[0]
        pbds = self.ok("SR.get_PBDs", self.session, sr)
        self.assertEqual(len(pbds), 1)
        pbd = pbds[0]
        self.assertFalse(self.ok("PBD.get_currently_attached", self.session,
                                 pbd))
        self.assertEqual(self.failure("VM.start", self.session, vm, False,
                                      False),
                         ["VM_REQUIRES_SR", vm, sr])
        self.start_fails(vm, ["VM_REQUIRES_SR", vm, sr])
        self.assertEqual(self.ok("PBD.plug", self.session, pbd), "")
        self.assertTrue(self.ok("PBD.get_currently_attached", self.session,
                                pbd))
        self.assertRegex(self.xbtd.stderr(),
                         r"SM call: DEMO sr_attach \{[^\n]*sr_ref: \"%s\""
                         % re.escape(sr))
        self.start_ok(vm)
        self.assert_running(vm)
        self.ok("VM.clean_shutdown", self.session, vm)
        self.assert_halted(vm)

    def test_handle_invalid(self):
        bad = "OpaqueRef:00000000-0000-0000-0000-000000000000"
        self.assertEqual(self.failure("VM.start", self.session, bad, False,
                                      False), ["HANDLE_INVALID", "VM", bad])
        _t, rec = self.async_start(bad)
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("failure", ["HANDLE_INVALID", "VM", bad]))
        for m in ("VM.clean_shutdown", "VM.hard_shutdown"):
            self.assertEqual(self.failure(m, self.session, "not-a-ref"),
                             ["HANDLE_INVALID", "VM", "not-a-ref"])


# ---- one VM per way a plugin fails -----------------------------------------

def nil_response():
    return xmlrpc.client.dumps((None,), methodresponse=True, allow_none=True)


class PluginFaults(VmCase):
    """tests/worlds/vm_start.xml on VMTESTSR, --plugin-timeout 2."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-vmtest-")
        cls.journal = os.path.join(cls.tmp, "journal")
        open(cls.journal, "w").close()
        with open(os.path.join(fx.SRCDIR, "tests", "worlds",
                               "vm_start.xml")) as f:
            world = f.read().replace("@JOURNAL@", cls.journal)
        cls.world = os.path.join(cls.tmp, "world.xml")
        with open(cls.world, "w") as f:
            f.write(world)
        cls.xbtd_args = ("--hostname", HOST, "--world", cls.world,
                         "--sm-dir", FIXTURE_DIR,
                         "--plugin-timeout", str(PLUGIN_TIMEOUT))
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for name in ("journal", "world.xml"):
            os.unlink(os.path.join(cls.tmp, name))
        os.rmdir(cls.tmp)

    def setUp(self):
        with open(self.journal) as f:
            self.mark = len(f.read().splitlines())

    def calls(self):
        """The plugin calls made since the test began."""
        with open(self.journal) as f:
            return f.read().splitlines()[self.mark:]

    def vdi_of(self, vm, index=0):
        return self.ok("VBD.get_VDI", self.session,
                       self.vm_record(vm)["VBDs"][index])

    def sr(self, name="vt-sr"):
        return self.ok("SR.get_by_name_label", self.session, name)[0]

    def attach_fails(self, name, error_info, stderr_has=None):
        """vt-<name>'s only disk fails vdi_attach: nothing else runs."""
        vm = self.vm("vt-" + name)
        rec = self.start_fails(vm, error_info)
        location = self.ok("VDI.get_location", self.session,
                           self.vdi_of(vm))
        self.assertEqual(self.calls(), ["vdi_attach %s true" % location])
        return rec

    def test_success_two_disks(self):
        vm = self.vm("vt-ok")
        self.start_ok(vm)
        self.assert_running(vm)
        self.assertEqual(self.calls(), [
            "vdi_attach plain-rw true", "vdi_activate plain-rw",
            "vdi_attach plain-ro false", "vdi_activate plain-ro"])
        self.ok("VM.clean_shutdown", self.session, vm)
        self.assert_halted(vm)
        # Innermost first: the last disk brought up goes down first.
        self.assertEqual(self.calls()[4:], [
            "vdi_deactivate plain-ro", "vdi_detach plain-ro",
            "vdi_deactivate plain-rw", "vdi_detach plain-rw"])

    def test_fault_38_unimplemented(self):
        self.attach_fails("fault38",
                          ["UNIMPLEMENTED_IN_SM_BACKEND", "vdi_attach"])

    def test_fault_39_sr_not_empty(self):
        self.attach_fails("fault39", ["SR_NOT_EMPTY"])

    def test_fault_24_vdi_in_use(self):
        self.attach_fails("fault24", ["VDI_IN_USE"])

    def test_fault_16_sr_device_in_use(self):
        self.attach_fails("fault16", ["SR_DEVICE_IN_USE"])

    def test_fault_144_vdi_missing(self):
        vm = self.vm("vt-fault144")
        self.attach_fails("fault144",
                          ["VDI_MISSING", self.sr(), self.vdi_of(vm)])

    def test_fault_other(self):
        self.attach_fails("fault77", [
            "SR_BACKEND_FAILURE_77", "", "fault 77 in vdi_attach",
            "stderr of fault 77\n"])

    def test_not_xml(self):
        vm = self.vm("vt-notxml")
        _t, rec = self.async_start(vm)
        self.assertEqual(rec["status"], "failure")
        # The parser's (xmlrpc-c's) own words follow.
        self.assertEqual(rec["error_info"], [
            "SR_BACKEND_FAILURE",
            "not an XML-RPC response: Not valid XML.  syntax error",
            "this is not XML \\xff\\x01\n", "notxml stderr\n"])
        self.assert_halted(vm)
        self.assertEqual(self.calls(), ["vdi_attach vdi_attach=notxml true"])

    def test_nonzero_exit(self):
        self.attach_fails("exit3", [
            "SR_BACKEND_FAILURE", "exited with status 3", nil_response(),
            "exiting with 3\n"])

    def test_killed_by_signal(self):
        self.attach_fails("signal", [
            "SR_BACKEND_FAILURE", "killed by signal 9 (SIGKILL)", "",
            "about to die\n"])

    def test_hang_times_out_without_zombie(self):
        vm = self.vm("vt-hang")
        _t, rec = self.async_start(vm)
        ei = rec["error_info"]
        m = re.match(r"^hanging (\d+)\n$", ei[3] if len(ei) == 4 else "")
        self.assertTrue(m, ei)
        pid = int(m.group(1))
        self.assertEqual(ei, ["SR_BACKEND_FAILURE",
                              "timeout after %d s" % PLUGIN_TIMEOUT,
                              "partial", "hanging %d\n" % pid])
        self.assert_halted(vm)
        self.assertEqual(self.calls(), ["vdi_attach vdi_attach=hang true"])
        # Reaped by xbtd, not left behind as a zombie (nor running).
        self.assertIsNone(process_state(pid))
        self.assertEqual(zombie_children(self.xbtd.proc.pid), [])

    def test_hang_with_helper_times_out(self):
        vm = self.vm("vt-hang-child")
        _t, rec = self.async_start(vm)
        ei = rec["error_info"]
        m = re.match(r"^hanging (\d+) child (\d+)\n$",
                     ei[3] if len(ei) == 4 else "")
        self.assertTrue(m, ei)
        pid, child = int(m.group(1)), int(m.group(2))
        self.assertEqual(ei, ["SR_BACKEND_FAILURE",
                              "timeout after %d s" % PLUGIN_TIMEOUT, "",
                              "hanging %d child %d\n" % (pid, child)])
        self.assert_halted(vm)
        self.assertIsNone(process_state(pid))
        # The helper got the signal too: gone, or a zombie of whoever
        # adopted it, never still running.
        deadline = time.monotonic() + 10
        while process_state(child) not in (None, "Z") and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn(process_state(child), (None, "Z"))
        self.assertEqual(zombie_children(self.xbtd.proc.pid), [])

    def test_ten_megabytes_of_output(self):
        cap, param_cap = 1024 * 1024, 32 * 1024
        out_total, err_total = 10 * 1024 * 1024, 2 * 1024 * 1024
        self.attach_fails("big", [
            "SR_BACKEND_FAILURE", "response larger than %d bytes" % cap,
            "x" * param_cap + "[... %d more bytes]" % (out_total - param_cap),
            "y" * param_cap + "[... %d more bytes]" % (err_total - param_cap)])

    def test_control_bytes_and_bad_utf8_on_stderr(self):
        # Kept: tab, LF, valid UTF-8 (é); escaped: control bytes, NUL,
        # invalid bytes and a cut sequence.
        self.attach_fails("ctrl", [
            "SR_BACKEND_FAILURE_5", "", "ctrl",
            "bad\\x01\\x1b[0m\\xff\\xfe ok\tend\n\\x00z \u00e9\\xe2\\x82"])

    def test_xenapi_error_raised_directly(self):
        rec = self.attach_fails("xenapi", ["SR_HAS_NO_PBDS", self.sr()])
        frames = backtrace_frames(rec["backtrace"])
        self.assertEqual(frames[0]["process"], OPSD_PROCESS)
        self.assert_daemon_frames(frames)

    def test_malformed_backtrace_json(self):
        rec = self.attach_fails("badjson", [
            "SR_BACKEND_FAILURE_47", "", "bad json reason",
            "badjson stderr\n"])
        frames = backtrace_frames(rec["backtrace"])
        # The primary error stands, without plugin frames.
        self.assertEqual([f for f in frames if f["process"]
                          not in (XBTD_PROCESS, OPSD_PROCESS)], [])
        self.assert_daemon_frames(frames)
        self.assertEqual(frames[0]["name"], "sm_decode_wbt")
        self.assertIn("SM VMTEST vdi_attach: plugin backtrace left out",
                      self.xbtd.stderr())

    def test_attach_without_result(self):
        self.attach_fails("nil", ["INTERNAL_ERROR",
                                  "Unexpected response from SM plugin"])

    def plugin_frames(self, rec, chain):
        """Checks the plugin's frames (innermost first) at the front of
        rec's backtrace, then xbtd's; returns the frames."""
        frames = backtrace_frames(rec["backtrace"])
        plugin = os.path.join(FIXTURE_DIR, "VMTESTSR")
        src = os.path.join(fx.SRCDIR, "tests", "plugins", "VMTESTSR")
        want = [{"process": "VMTEST @ h1", "filename": plugin,
                 "line": line_of(src, needle), "chars_start": 0,
                 "chars_end": 0, "is_inline": False, "is_raise": False}
                for needle in chain]
        want.append(dict(want[0], filename=os.path.join(FIXTURE_DIR,
                                                        "xbtsm.py"),
                         line=line_of(KIT_SRC, KIT_MARK)))
        want[0]["is_raise"] = True
        self.assertEqual(frames[:len(want)], want)
        self.assert_daemon_frames(frames[len(want):])
        return frames

    def test_backend_failure_frames(self):
        rec = self.attach_fails("backend", [
            "SR_BACKEND_FAILURE_62", "", "backend 62 in vdi_attach", ""])
        self.plugin_frames(rec, ["# frame: backend_inner",
                                 "# frame: backend_outer",
                                 "backend_outer(arg, "])

    def test_activate_fails_then_detach(self):
        vm = self.vm("vt-activate-fails")
        self.start_fails(vm, ["VDI_IN_USE"])
        loc = "vdi_activate=fault:24"
        self.assertEqual(self.calls(), ["vdi_attach %s true" % loc,
                                        "vdi_activate %s" % loc,
                                        "vdi_detach %s" % loc])

    def test_failing_undo_keeps_first_error(self):
        vm = self.vm("vt-undo")
        first = self.vdi_of(vm, 0)
        rec = self.start_fails(vm, [
            "SR_BACKEND_FAILURE_62", "", "backend 62 in vdi_attach", ""])
        # The frames are those of the attach (backend_inner), not of the
        # failed deactivate (backend_alt).
        self.plugin_frames(rec, ["# frame: backend_inner",
                                 "# frame: backend_outer",
                                 "backend_outer(arg, "])
        a, b = "vdi_deactivate=backend_alt:61", "vdi_attach=backend:62"
        self.assertEqual(self.calls(), [
            "vdi_attach %s true" % a, "vdi_activate %s" % a,
            "vdi_attach %s true" % b, "vdi_deactivate %s" % a])
        # The undo's own failure is logged, not returned.
        self.assertIn("undo on VDI %s (ignored): SR_BACKEND_FAILURE_61"
                      % first, self.xbtd.stderr())

    def test_failing_deactivate_on_shutdown(self):
        vm = self.vm("vt-deactivate-fails")
        self.start_ok(vm)
        want = ["SR_BACKEND_FAILURE_63", "", "backend 63 in vdi_deactivate",
                ""]
        self.assertEqual(self.failure("VM.clean_shutdown", self.session, vm),
                         want)
        task = self.ok("Async.VM.clean_shutdown", self.session, vm)
        rec = self.wait_task(task)
        self.assertEqual((rec["status"], rec["error_info"]),
                         ("failure", want))
        self.plugin_frames_shutdown(rec)
        # A clean shutdown that fails leaves the VM running...
        self.assert_running(vm)
        # ...a hard one halts it whatever the plugin says.
        self.assertEqual(self.ok("VM.hard_shutdown", self.session, vm), "")
        self.assert_halted(vm)
        loc = "vdi_deactivate=backend:63"
        self.assertEqual(self.calls()[:2], ["vdi_attach %s true" % loc,
                                            "vdi_activate %s" % loc])
        self.assertEqual(self.calls()[2:5], ["vdi_deactivate %s" % loc] * 3)

    def plugin_frames_shutdown(self, rec):
        frames = backtrace_frames(rec["backtrace"])
        self.assertEqual(frames[0]["process"], "VMTEST @ h1")
        self.assertTrue(frames[0]["is_raise"])
        plugin = [f for f in frames
                  if f["process"] not in (XBTD_PROCESS, OPSD_PROCESS)]
        self.assert_daemon_frames(frames[len(plugin):],
                                  entry="vm_clean_shutdown",
                                  step="vmops_shutdown")

    def test_pbd_plug_failure(self):
        sr = self.sr("vt-broken-sr")
        pbd = self.ok("SR.get_PBDs", self.session, sr)[0]
        vm = self.vm("vt-on-broken-sr")
        self.start_fails(vm, ["VM_REQUIRES_SR", vm, sr])
        self.assertEqual(self.failure("PBD.plug", self.session, pbd),
                         ["SR_DEVICE_IN_USE"])
        self.assertFalse(self.ok("PBD.get_currently_attached", self.session,
                                 pbd))
        self.assertEqual(self.calls(), ["sr_attach "])
        self.start_fails(vm, ["VM_REQUIRES_SR", vm, sr])


# ---- many at once ----------------------------------------------------------

N_VMS = 50
SLOW_S = 3


def concurrency_world():
    lines = ['<?xml version="1.0"?>', "<world>",
             '  <sr name="c-sr" type="VMTEST">']
    for i in range(N_VMS):
        lines.append('    <vdi name="c-disk-%02d" location="c%02d"/>' % (i, i))
    lines.append('    <vdi name="slow-disk" location="vdi_attach=sleep:%d"/>'
                 % SLOW_S)
    lines.append("  </sr>")
    for i in range(N_VMS):
        lines.append('  <vm name="c-vm-%02d"><vbd vdi="c-disk-%02d"/></vm>'
                     % (i, i))
    lines.append('  <vm name="slow-vm"><vbd vdi="slow-disk"/></vm>')
    lines.append("</world>")
    return "\n".join(lines) + "\n"


class Concurrency(VmCase):

    @classmethod
    def setUpClass(cls):
        fd, cls.world = tempfile.mkstemp(prefix="xbt-vmtest-", suffix=".xml")
        with os.fdopen(fd, "w") as f:
            f.write(concurrency_world())
        cls.xbtd_args = ("--hostname", HOST, "--world", cls.world,
                         "--sm-dir", FIXTURE_DIR)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        os.unlink(cls.world)

    def call_new_connection(self, method, *params):
        """One call on a connection of its own (for threads)."""
        r = getattr(self.xbtd.proxy(), method)(*params)
        if r.get("Status") != "Success":
            raise AssertionError("%s: %r" % (method, r))
        return r["Value"]

    def test_fifty_starts_at_once(self):
        vms = [self.vm("c-vm-%02d" % i) for i in range(N_VMS)]
        barrier = threading.Barrier(N_VMS)

        def start(vm):
            barrier.wait(timeout=60)
            return self.call_new_connection("Async.VM.start", self.session,
                                            vm, False, False)

        with concurrent.futures.ThreadPoolExecutor(N_VMS) as pool:
            tasks = list(pool.map(start, vms))
        self.assertEqual(len(set(tasks)), N_VMS)
        recs = [self.wait_task(t) for t in tasks]
        self.assertEqual([(r["status"], r["error_info"]) for r in recs],
                         [("success", [])] * N_VMS)
        domids = set()
        for vm in vms:
            domids.add(self.assert_running(vm)["domid"])
        self.assertEqual(len(domids), N_VMS)
        self.assertEqual(sorted(self.ok("host.get_resident_VMs",
                                        self.session, self.host())),
                         sorted(vms))

        def stop(vm):
            return self.call_new_connection("Async.VM.hard_shutdown",
                                            self.session, vm)

        with concurrent.futures.ThreadPoolExecutor(N_VMS) as pool:
            tasks = list(pool.map(stop, vms))
        recs = [self.wait_task(t) for t in tasks]
        self.assertEqual([r["status"] for r in recs], ["success"] * N_VMS)
        for vm in vms:
            self.assert_halted(vm)

    def test_two_starts_of_one_vm(self):
        vm = self.vm("slow-vm")
        barrier = threading.Barrier(2)

        def start(_):
            barrier.wait(timeout=60)
            return self.call_new_connection("Async.VM.start", self.session,
                                            vm, False, False)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            tasks = list(pool.map(start, range(2)))
        recs = {t: self.wait_task(t) for t in tasks}
        won = [t for t in tasks if recs[t]["status"] == "success"]
        lost = [t for t in tasks if recs[t]["status"] == "failure"]
        self.assertEqual((len(won), len(lost)), (1, 1),
                         [recs[t]["error_info"] for t in tasks])
        self.assertEqual(recs[lost[0]]["error_info"],
                         ["OTHER_OPERATION_IN_PROGRESS", "VM", vm, "start",
                          won[0]])
        self.assert_running(vm)
        # While a start runs the VM shows it, and allows nothing else.
        task = self.ok("Async.VM.hard_shutdown", self.session, vm)
        self.wait_task(task)
        self.assert_halted(vm)
        task = self.ok("Async.VM.start", self.session, vm, False, False)
        deadline = time.monotonic() + TASK_TIMEOUT
        while self.vm_record(vm)["current_operations"] == {} and \
                time.monotonic() < deadline and \
                self.ok("task.get_status", self.session, task) == "pending":
            time.sleep(0.01)
        r = self.vm_record(vm)
        self.assertEqual((r["current_operations"], r["allowed_operations"]),
                         ({task: "start"}, []))
        self.assertEqual(self.failure("VM.hard_shutdown", self.session, vm),
                         ["OTHER_OPERATION_IN_PROGRESS", "VM", vm, "start",
                          task])
        self.assertEqual(self.wait_task(task)["status"], "success")
        self.ok("VM.hard_shutdown", self.session, vm)
        self.assert_halted(vm)


# ---- bad world files -------------------------------------------------------

class WorldErrors(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xbt-world-")

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def refused(self, text, line, message):
        """xbtd refuses the world text with exit status 1 and the first
        stderr line naming file:line and the message."""
        path = os.path.join(self.tmp, "world.xml")
        with open(path, "w") as f:
            f.write(text)
        status, out, err = fx.run_xbtd(
            ["--world", path, "--listen", "127.0.0.1:0"],
            env=fx.clean_env())
        self.assertEqual(status, 1, err)
        self.assertEqual(out, "")
        first = err.split("\n")[0]
        head = "xbtd: INTERNAL_ERROR [world file %s:%d: " % (path, line)
        self.assertEqual(first, head + message + "]")
        self.assertEqual(fx.sanitizer_reports(err), [])

    def test_not_xml(self):
        # libxml2's message comes without its trailing newline.
        self.refused("this is not XML\n", 1,
                     "Start tag expected, '<' not found")

    def test_truncated(self):
        self.refused('<world>\n  <vm name="a">\n', 3,
                     "Premature end of data in tag vm line 2")

    def test_empty(self):
        self.refused("", 1, "the file is empty")

    def test_root_element(self):
        self.refused("<earth/>\n", 1, "the root element must be <world>")

    def test_unknown_element(self):
        self.refused('<world>\n  <sr name="s" type="DEMO"/>\n'
                     '  <disk name="d"/>\n</world>\n', 3,
                     "expected <host>, <sr>, <network> or <vm> in <world>")
        self.refused('<world>\n  <vm name="v">\n    <nic/>\n  </vm>\n'
                     '</world>\n', 3,
                     "expected <vbd> or <vif> in <vm>")
        self.refused('<world>\n  <sr name="s" type="DEMO">\n'
                     '    <vm name="v"/>\n  </sr>\n</world>\n', 3,
                     "expected <vdi> or <device_config> in <sr>")

    def test_unknown_attribute(self):
        self.refused('<world>\n  <vm name="a" colour="red"/>\n</world>\n', 2,
                     'unknown attribute "colour" on <vm>')
        self.refused('<world>\n  <sr name="s" type="DEMO">\n'
                     '    <vdi name="d" sise="1"/>\n  </sr>\n</world>\n', 3,
                     'unknown attribute "sise" on <vdi>')

    def test_missing_attribute(self):
        self.refused('<world>\n  <sr type="DEMO"/>\n</world>\n', 2,
                     '<sr> needs a "name" attribute')

    def test_vbd_names_missing_vdi(self):
        self.refused('<world>\n  <sr name="s" type="DEMO">\n'
                     '    <vdi name="d"/>\n  </sr>\n  <vm name="v">\n'
                     '    <vbd vdi="d"/>\n    <vbd vdi="nope"/>\n'
                     '  </vm>\n</world>\n', 7,
                     'no <vdi> of that name (define SRs first)')

    def test_duplicate_names(self):
        self.refused('<world>\n  <vm name="twin"/>\n  <vm name="twin"/>\n'
                     '</world>\n', 3, 'the name "twin" is used twice')
        self.refused('<world>\n  <sr name="s" type="DEMO">\n'
                     '    <vdi name="s"/>\n  </sr>\n</world>\n', 3,
                     'the name "s" is used twice')

    def test_bad_sr_type(self):
        self.refused('<world>\n\n  <sr name="s" type="../x"/>\n</world>\n',
                     3, 'SR type must be 1 to 64 of [A-Za-z0-9_]')

    def test_bad_values(self):
        self.refused('<world>\n  <sr name="s" type="DEMO" plugged="yes"/>\n'
                     '</world>\n', 2, 'expected true or false')
        self.refused('<world>\n  <sr name="s" type="DEMO">\n'
                     '    <vdi name="d" size="-1"/>\n  </sr>\n</world>\n', 3,
                     'expected a non-negative integer')
        self.refused('<world>\n  <sr name="s" type="DEMO">\n'
                     '    <vdi name="d"/>\n  </sr>\n  <vm name="v">\n'
                     '    <vbd vdi="d" mode="rw"/>\n  </vm>\n</world>\n', 6,
                     'mode must be RO or RW')

    def test_missing_file(self):
        path = os.path.join(self.tmp, "absent.xml")
        status, _out, err = fx.run_xbtd(
            ["--world", path, "--listen", "127.0.0.1:0"], env=fx.clean_env())
        self.assertEqual(status, 1)
        self.assertEqual(err.split("\n")[0],
                         "xbtd: INTERNAL_ERROR [world file %s: "
                         "No such file or directory]" % path)

    def test_good_world_file_loads(self):
        # The shipped test world itself is accepted (journal left as is).
        with fx.Xbtd(["--world", os.path.join(fx.SRCDIR, "tests", "worlds",
                                              "vm_start.xml"),
                      "--sm-dir", FIXTURE_DIR]) as x:
            p = x.proxy()
            r = p.VM.get_by_name_label(x.session, "vt-undo")
            self.assertEqual(r["Status"], "Success")
            self.assertEqual(len(r["Value"]), 1)

    def test_pool_world_errors(self):
        self.refused('<world>\n  <sr name="s" type="DEMO" host="h9"/>\n'
                     '</world>\n', 2,
                     "no such host (declare it with <host name>)")
        self.refused('<world>\n  <host name="h2"/>\n'
                     '  <sr name="s" type="DEMO" shared="true" host="h2"/>\n'
                     '</world>\n', 3, "a shared SR names no host")
        self.refused('<world>\n  <vm name="v" affinity="h9"/>\n</world>\n',
                     2, "no such host (declare it with <host name>)")
        self.refused('<world>\n  <host name="h2"/>\n  <host name="h2"/>\n'
                     '</world>\n', 3, 'the name "h2" is used twice')
        self.refused('<world>\n  <host/>\n</world>\n', 2,
                     '<host> needs a "name" attribute')

    def test_pool_world_loads(self):
        """Declared hosts (not live), a shared SR with a PBD on every host,
        an SR on a named host, a VM's affinity, and the host named before
        its declaration (hosts are read first)."""
        path = os.path.join(self.tmp, "world.xml")
        with open(path, "w") as f:
            f.write('<world>\n'
                    '  <sr name="nfs" type="DEMO" shared="true">\n'
                    '    <device_config key="server" value="s1"/>\n'
                    '  </sr>\n'
                    '  <sr name="h2-local" type="DEMO" host="h2"/>\n'
                    '  <vm name="v" affinity="h2"/>\n'
                    '  <vm name="w" affinity="h1"/>\n'
                    '  <host name="h2"/>\n'
                    '</world>\n')
        with fx.Xbtd(["--world", path, "--hostname", "h1"]) as x:
            api = x.api
            h1 = api("host.get_by_name_label", "h1")
            h2 = api("host.get_by_name_label", "h2")
            self.assertEqual((len(h1), len(h2)), (1, 1))
            h1, h2 = h1[0], h2[0]
            rec2 = api("host.get_record", h2)
            self.assertEqual((rec2["address"], rec2["enabled"]), ("", False))
            m2 = api("host_metrics.get_record", rec2["metrics"])
            m1 = api("host_metrics.get_record",
                     api("host.get_metrics", h1))
            self.assertEqual((m1["live"], m2["live"]), (True, False))
            nfs = api("SR.get_by_name_label", "nfs")[0]
            self.assertTrue(api("SR.get_shared", nfs))
            pbds = {api("PBD.get_host", p): api("PBD.get_record", p)
                    for p in api("SR.get_PBDs", nfs)}
            self.assertEqual(sorted(pbds), sorted([h1, h2]))
            self.assertEqual([(pbds[h]["currently_attached"],
                               pbds[h]["device_config"]) for h in (h1, h2)],
                             [(True, {"server": "s1"}),
                              (True, {"server": "s1"})])
            local = api("SR.get_by_name_label", "h2-local")[0]
            self.assertFalse(api("SR.get_shared", local))
            self.assertEqual([api("PBD.get_host", p)
                              for p in api("SR.get_PBDs", local)], [h2])
            on_h2 = [p for p in api("PBD.get_all")
                     if api("PBD.get_host", p) == h2]
            self.assertEqual(sorted(api("host.get_PBDs", h2)), sorted(on_h2))
            self.assertEqual(len(on_h2), 2)
            self.assertEqual(
                api("VM.get_affinity", api("VM.get_by_name_label", "v")[0]),
                h2)
            self.assertEqual(
                api("VM.get_affinity", api("VM.get_by_name_label", "w")[0]),
                h1)


if __name__ == "__main__":
    fx.run()
