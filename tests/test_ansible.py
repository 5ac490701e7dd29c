#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Ansible's XenServer modules against a real xbtd, unmodified.

Debian's `ansible` package ships community.general with
xenserver_guest_info and xenserver_guest_powerstate. Each check writes a
one-task playbook, runs ansible-playbook on localhost (connection local,
ansible_python_interpreter=/usr/bin/python3, upstream XenAPI.py from
xbtd_fixture.fetch_xenapi_py() alone on the module's PYTHONPATH) with the
json stdout callback, and compares the module's result with what xbtd says
through its own XML-RPC client.

Skips (77) with the reason only when ansible or its community.general
XenServer modules cannot be found or installed (as root, the test tries
`apt-get install -y ansible` once), or when XenAPI.py cannot be fetched.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

PYTHON = "/usr/bin/python3"
COLLECTIONS = "/usr/lib/python3/dist-packages/ansible_collections"
MODULES = os.path.join(COLLECTIONS, "community", "general", "plugins",
                       "modules")
WANT = ("xenserver_guest_info", "xenserver_guest_powerstate")
# One module run: ansible starts in about two seconds; a power-on through a
# plugin on a loaded or sanitizer-built machine takes longer.
RUN_TIMEOUT = 300
NULL = "OpaqueRef:NULL"


def missing_ansible():
    """None when ansible-playbook and the XenServer modules are there, else
    what is missing."""
    if not shutil.which("ansible-playbook"):
        return "ansible-playbook is not on PATH"
    for m in WANT:
        if not os.path.isfile(os.path.join(MODULES, m + ".py")):
            return "community.general.%s is not in %s" % (m, MODULES)
    if not os.access(PYTHON, os.X_OK):
        return "no %s for ansible's modules" % PYTHON
    return None


def find_ansible():
    """Raises unittest.SkipTest with the reason when ansible cannot be had;
    as root with apt-get, installs Debian's package first."""
    why = missing_ansible()
    if why is None:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise unittest.SkipTest("%s (install Debian's ansible package)" % why)
    try:
        p = subprocess.run(["apt-get", "install", "-y", "-qq", "ansible"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=900,
                           env=dict(os.environ,
                                    DEBIAN_FRONTEND="noninteractive"))
        out = p.stdout.decode("utf-8", "replace").strip()[-300:]
        status = p.returncode
    except subprocess.TimeoutExpired:
        out, status = "timed out", -1
    why2 = missing_ansible()
    if why2 is not None:
        raise unittest.SkipTest("%s; apt-get install ansible exited %d: %s"
                                % (why2, status, out))


class Ansible(unittest.TestCase):
    """One xbtd on the embedded demo world; the modules log in as root."""

    @classmethod
    def setUpClass(cls):
        find_ansible()
        xenapi_py = fx.fetch_xenapi_py()
        cls.tmp = tempfile.mkdtemp(prefix="xbt-ansible-")
        # XenAPI.py alone: its package directory has session.py, utils.py,
        # ... that would shadow other modules.
        cls.pythonpath = os.path.join(cls.tmp, "pythonpath")
        os.makedirs(cls.pythonpath)
        shutil.copy(xenapi_py, cls.pythonpath)
        # No ansible.cfg from the working directory or ~.
        cls.cfg = os.path.join(cls.tmp, "ansible.cfg")
        with open(cls.cfg, "w") as f:
            f.write("[defaults]\n")
        cls.xbtd = None
        try:
            cls.xbtd = fx.Xbtd().start()
        except BaseException:
            shutil.rmtree(cls.tmp, True)
            raise
        cls.api = cls.xbtd.api
        cls.hostname = "127.0.0.1:%d" % cls.xbtd.port
        cls.runs = 0

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.xbtd is not None:
                cls.xbtd.stop()
        finally:
            shutil.rmtree(cls.tmp, True)

    # ---- running a module ----------------------------------------------------

    def env(self):
        home = os.path.join(self.tmp, "home")
        return dict(
            os.environ,
            PYTHONPATH=self.pythonpath,
            ANSIBLE_STDOUT_CALLBACK="json",
            ANSIBLE_CONFIG=self.cfg,
            ANSIBLE_HOME=home,
            ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
            ANSIBLE_REMOTE_TMP=os.path.join(home, "remote"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            ANSIBLE_PYTHON_INTERPRETER=PYTHON)

    def module(self, name, /, check_mode=False, **args):
        """Runs community.general.<name> with args (hostname, username,
        password and validate_certs added unless given): the module's
        result dict (failed true when it failed)."""
        params = {"hostname": self.hostname, "username": "root",
                  "password": fx.ROOT_PASSWORD, "validate_certs": False}
        params.update(args)
        task = {"name": name, "community.general." + name: params}
        if check_mode:
            task["check_mode"] = True
        play = [{"hosts": "localhost", "gather_facts": False,
                 # The modules import XenAPI: upstream's, here.
                 "environment": {"PYTHONPATH": self.pythonpath},
                 "tasks": [task]}]
        Ansible.runs += 1
        path = os.path.join(self.tmp, "play%d.yml" % self.runs)
        with open(path, "w") as f:
            json.dump(play, f, indent=1)  # JSON is YAML
        argv = ["ansible-playbook", "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=" + PYTHON, path]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=self.env(),
                           timeout=RUN_TIMEOUT, cwd=self.tmp)
        try:
            out = json.loads(p.stdout)
            result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError) as e:
            self.fail("ansible-playbook %s exited %d without a result (%r)"
                      "\n--- stdout ---\n%s\n--- stderr ---\n%s"
                      % (name, p.returncode, e, p.stdout[-4000:],
                         p.stderr[-4000:]))
        failed = bool(result.get("failed"))
        # ansible-playbook exits 2 when a task failed.
        self.assertEqual(p.returncode, 2 if failed else 0,
                         "%s: exit %d, result %s\n%s"
                         % (name, p.returncode, self.show(result),
                            p.stderr[-2000:]))
        return result

    @staticmethod
    def show(result):
        """What to print of a result: the module's own words first (msg,
        and the Python traceback when it crashed)."""
        keep = {k: result[k] for k in ("msg", "exception", "module_stderr",
                                       "module_stdout") if k in result}
        return json.dumps(keep or result, indent=1)[:6000]

    def ok(self, name, /, **args):
        """Runs the module; asserts it did not fail; its result."""
        r = self.module(name, **args)
        self.assertFalse(r.get("failed"), "%s %r failed:\n%s"
                         % (name, args, self.show(r)))
        return r

    def failed(self, name, /, **args):
        """Runs the module; asserts it failed; its msg."""
        r = self.module(name, **args)
        self.assertTrue(r.get("failed"), "%s %r did not fail: %s"
                        % (name, args, json.dumps(r)[:3000]))
        self.assertNotIn("exception", r, "the module crashed:\n%s"
                         % self.show(r))
        return r.get("msg", "")

    # ---- xbtd's view ---------------------------------------------------------

    def vm(self, name):
        refs = self.api("VM.get_by_name_label", name)
        self.assertEqual(len(refs), 1, "VMs named %s: %r" % (name, refs))
        return refs[0]

    def power_state(self, name):
        return self.api("VM.get_power_state", self.vm(name))

    def halt(self, name):
        """Back to Halted through xbtd, whatever a failed check left."""
        vm = self.vm(name)
        if self.api("VM.get_power_state", vm) != "Halted":
            self.api("VM.hard_shutdown", vm)

    def check_instance(self, inst, name, state):
        """The facts the modules report for VM name, against xbtd's
        records: name, uuid, power state, disks and networks."""
        vm = self.vm(name)
        rec = self.api("VM.get_record", vm)
        self.assertEqual(inst["name"], name)
        self.assertEqual(inst["uuid"], rec["uuid"])
        self.assertEqual(inst["name_desc"], rec["name_description"])
        self.assertEqual(inst["state"], state)
        self.assertEqual(inst["is_template"], False)
        self.assertEqual(inst["domid"], rec["domid"])
        self.assertEqual(inst["hardware"]["num_cpus"], int(rec["VCPUs_max"]))
        # Disks: one per VBD of type Disk, in userdevice order.
        vbds = sorted((self.api("VBD.get_record", r) for r in rec["VBDs"]),
                      key=lambda b: int(b["userdevice"]))
        want = []
        for b in vbds:
            if b["type"] != "Disk":
                continue
            vdi = self.api("VDI.get_record", b["VDI"])
            sr = self.api("SR.get_record", vdi["SR"])
            want.append({"name": vdi["name_label"],
                         "name_desc": vdi["name_description"],
                         "size": int(vdi["virtual_size"]),
                         "sr": sr["name_label"], "sr_uuid": sr["uuid"],
                         "os_device": b["device"],
                         "vbd_userdevice": b["userdevice"]})
        self.assertEqual(inst["disks"], want)
        self.assertTrue(want, "%s has no disk" % name)
        # Networks: one per VIF, in device order, the IP from the guest
        # metrics.
        vifs = sorted((self.api("VIF.get_record", r) for r in rec["VIFs"]),
                      key=lambda v: int(v["device"]))
        gm = rec["guest_metrics"]
        nets = self.api("VM_guest_metrics.get_networks", gm) \
            if gm != NULL else {}
        self.assertEqual(
            [(n["name"], n["mac"], n["vif_device"], n["mtu"], n["ip"])
             for n in inst["networks"]],
            [(self.api("network.get_name_label", v["network"]), v["MAC"],
              v["device"], v["MTU"], nets.get("%s/ip" % v["device"], ""))
             for v in vifs])
        return rec

    # ---- the checks ----------------------------------------------------------

    def test_info_demo_ok(self):
        r = self.ok("xenserver_guest_info", name="demo-ok")
        self.assertFalse(r["changed"])
        self.check_instance(r["instance"], "demo-ok", "poweredoff")
        # Halted: the VIF is there, with no IP.
        self.assertTrue(r["instance"]["networks"], "demo-ok has no network")
        self.assertEqual(r["instance"]["networks"][0]["ip"], "")

    def test_info_by_uuid(self):
        uuid = self.api("VM.get_uuid", self.vm("demo-fail"))
        r = self.ok("xenserver_guest_info", uuid=uuid)
        self.check_instance(r["instance"], "demo-fail", "poweredoff")

    def test_info_unknown_vm(self):
        msg = self.failed("xenserver_guest_info", name="no-such-vm")
        self.assertEqual(msg, "VM search: VM with name 'no-such-vm' "
                              "not found!")

    def test_wrong_password(self):
        msg = self.failed("xenserver_guest_info", name="demo-ok",
                          password="wrong")
        self.assertEqual(msg, "Unable to log on to XenServer at http://%s "
                              "as root: ['SESSION_AUTHENTICATION_FAILED', "
                              "'root', 'Authentication failure']"
                         % self.hostname)

    def test_power_on_check_mode(self):
        self.addCleanup(self.halt, "demo-ok")
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="powered-on", check_mode=True)
        self.assertTrue(r["changed"])
        self.assertEqual(self.power_state("demo-ok"), "Halted")

    def test_power_on_then_off(self):
        self.addCleanup(self.halt, "demo-ok")
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="powered-on")
        self.assertTrue(r["changed"])
        self.assertEqual(self.power_state("demo-ok"), "Running")
        # The facts are gathered before the change: only the state moves.
        self.assertEqual(r["instance"]["state"], "poweredon")
        # Running, as the info module sees it: domid, guest metrics.
        r = self.ok("xenserver_guest_info", name="demo-ok")
        rec = self.check_instance(r["instance"], "demo-ok", "poweredon")
        with self.subTest(check="guest metrics of a running VM"):
            self.assertNotEqual(rec["guest_metrics"], NULL)
            nets = r["instance"]["networks"]
            self.assertTrue(nets and nets[0]["ip"], "no IP: %r" % nets)
        # Again: nothing to do.
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="powered-on")
        self.assertFalse(r["changed"])
        # powered-off: VM.hard_shutdown.
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="powered-off")
        self.assertTrue(r["changed"])
        self.assertEqual(r["instance"]["state"], "poweredoff")
        self.assertEqual(self.power_state("demo-ok"), "Halted")
        r = self.ok("xenserver_guest_info", name="demo-ok")
        self.check_instance(r["instance"], "demo-ok", "poweredoff")

    def test_power_on_wait_for_ip(self):
        self.addCleanup(self.halt, "demo-ok")
        # wait_for_ip_address: VM_guest_metrics.networks has "0/ip".
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="powered-on", wait_for_ip_address=True,
                    state_change_timeout=20)
        self.assertTrue(r["changed"])
        self.assertEqual(self.power_state("demo-ok"), "Running")
        nets = r["instance"]["networks"]
        self.assertTrue(nets, "demo-ok has no network")
        self.assertTrue(nets[0]["ip"], "no IP for VIF 0: %r" % nets)

    def test_shutdown_guest_async(self):
        self.addCleanup(self.halt, "demo-ok")
        self.api("VM.start", self.vm("demo-ok"), False, False)
        # shutdown-guest with a timeout: Async.VM.clean_shutdown and the
        # task polled with task.get_status, then destroyed.
        tasks = set(self.api("task.get_all"))
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="shutdown-guest", state_change_timeout=60)
        self.assertTrue(r["changed"])
        self.assertEqual(r["instance"]["state"], "poweredoff")
        self.assertEqual(self.power_state("demo-ok"), "Halted")
        self.assertEqual(set(self.api("task.get_all")), tasks)

    def test_shutdown_guest_sync(self):
        self.addCleanup(self.halt, "demo-ok")
        self.api("VM.start", self.vm("demo-ok"), False, False)
        # Timeout 0: VM.clean_shutdown, synchronous.
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="shutdown-guest")
        self.assertTrue(r["changed"])
        self.assertEqual(self.power_state("demo-ok"), "Halted")
        # Halted: the module refuses.
        msg = self.failed("xenserver_guest_powerstate", name="demo-ok",
                          state="shutdown-guest")
        self.assertEqual(msg, "Cannot shutdown guest when VM is in state "
                              "'poweredoff'!")

    def test_restarted(self):
        self.addCleanup(self.halt, "demo-ok")
        # Halted: the module refuses before any call.
        msg = self.failed("xenserver_guest_powerstate", name="demo-ok",
                          state="restarted")
        self.assertEqual(msg, "Cannot restart VM in state 'poweredoff'!")
        self.api("VM.start", self.vm("demo-ok"), False, False)
        # Running: VM.hard_reboot.
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="restarted")
        self.assertTrue(r["changed"])
        self.assertEqual(r["instance"]["state"], "poweredon")
        self.assertEqual(self.power_state("demo-ok"), "Running")

    def test_reboot_guest(self):
        self.addCleanup(self.halt, "demo-ok")
        self.api("VM.start", self.vm("demo-ok"), False, False)
        # Timeout 0: VM.clean_reboot; then Async.VM.clean_reboot and its
        # task polled.
        for timeout in (0, 60):
            with self.subTest(state_change_timeout=timeout):
                r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                            state="reboot-guest",
                            state_change_timeout=timeout)
                self.assertTrue(r["changed"])
                self.assertEqual(r["instance"]["state"], "poweredon")
                self.assertEqual(self.power_state("demo-ok"), "Running")

    def test_suspend_resume(self):
        self.addCleanup(self.halt, "demo-ok")
        self.api("VM.start", self.vm("demo-ok"), False, False)
        # VM.suspend, then powered-on: VM.resume.
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="suspended")
        self.assertTrue(r["changed"])
        self.assertEqual(r["instance"]["state"], "suspended")
        self.assertEqual(self.power_state("demo-ok"), "Suspended")
        r = self.ok("xenserver_guest_info", name="demo-ok")
        self.check_instance(r["instance"], "demo-ok", "suspended")
        r = self.ok("xenserver_guest_powerstate", name="demo-ok",
                    state="powered-on")
        self.assertTrue(r["changed"])
        self.assertEqual(self.power_state("demo-ok"), "Running")

    def test_demo_fail_power_on_fails(self):
        self.addCleanup(self.halt, "demo-fail")
        msg = self.failed("xenserver_guest_powerstate", name="demo-fail",
                          state="powered-on")
        # set_vm_power_state: "XAPI ERROR: %s" % XenAPI.Failure.details.
        self.assertTrue(msg.startswith("XAPI ERROR: ['SR_BACKEND_FAILURE_46'"),
                        msg)
        self.assertIn("SR_BACKEND_FAILURE_46", msg)
        self.assertEqual(self.power_state("demo-fail"), "Halted")


if __name__ == "__main__":
    fx.run()
