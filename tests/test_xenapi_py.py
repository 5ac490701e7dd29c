#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The real XenAPI.py client against xbtd, unmodified.

Debian's python3-os-xenapi ships a copy of XenAPI.py. The package is
downloaded and unpacked into the build tree once and imported by path
(xbtd_fixture.import_xenapi). Without the package (no network, no apt)
this test is skipped and says why.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402


class XenAPIpy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.XenAPI = fx.import_xenapi()
        cls.xbtd = fx.Xbtd().start(login=False)

    @classmethod
    def tearDownClass(cls):
        cls.xbtd.stop()

    def session(self):
        s = self.XenAPI.Session(self.xbtd.url)
        s.xenapi.login_with_password("root", "xbt", "1.0", "test_xenapi_py")
        self.addCleanup(self.logout, s)
        return s

    def logout(self, s):
        if s._session is not None:
            s.xenapi.session.logout()

    def test_login_reads_api_version(self):
        s = self.session()
        self.assertTrue(s._session.startswith("OpaqueRef:"))
        # Set by _get_api_version: pool.get_all, pool.get_master,
        # host.get_API_version_major/_minor.
        self.assertEqual(s.API_version, "2.21")

    def test_login_two_params(self):
        s = self.XenAPI.Session(self.xbtd.url)
        s.login_with_password("root", "xbt")
        self.addCleanup(self.logout, s)
        self.assertEqual(len(s.xenapi.pool.get_all()), 1)

    def test_pool(self):
        s = self.session()
        pools = s.xenapi.pool.get_all()
        self.assertEqual(len(pools), 1)
        host = s.xenapi.pool.get_master(pools[0])
        self.assertIn(host, s.xenapi.host.get_all())
        recs = s.xenapi.pool.get_all_records()
        self.assertIsInstance(recs[pools[0]]["other_config"], dict)

    def test_task_life(self):
        s = self.session()
        t = s.xenapi.task.create("from XenAPI.py", "a description")
        rec = s.xenapi.task.get_record(t)
        self.assertEqual(rec["name_label"], "from XenAPI.py")
        self.assertEqual(rec["status"], "pending")
        self.assertEqual(rec["backtrace"], "()")
        self.assertEqual(s.xenapi.task.get_by_uuid(rec["uuid"]), t)
        s.xenapi.task.add_to_other_config(t, "k", "v")
        self.assertEqual(s.xenapi.task.get_other_config(t), {"k": "v"})
        s.xenapi.task.destroy(t)
        with self.assertRaises(self.XenAPI.Failure) as cm:
            s.xenapi.task.get_record(t)
        self.assertEqual(cm.exception.details, ["HANDLE_INVALID", "task", t])

    def test_failure_details(self):
        s = self.session()
        with self.assertRaises(self.XenAPI.Failure) as cm:
            s.xenapi.task.get_by_uuid("no-such-uuid")
        self.assertEqual(cm.exception.details,
                         ["UUID_INVALID", "task", "no-such-uuid"])
        with self.assertRaises(self.XenAPI.Failure) as cm:
            s.xenapi.no_such_class.do_it()
        self.assertEqual(cm.exception.details,
                         ["MESSAGE_METHOD_UNKNOWN", "no_such_class.do_it"])
        with self.assertRaises(self.XenAPI.Failure) as cm:
            s.xenapi.task.create("only one")
        self.assertEqual(cm.exception.details,
                         ["MESSAGE_PARAMETER_COUNT_MISMATCH", "task.create",
                          "2", "1"])

    def test_wrong_password(self):
        s = self.XenAPI.Session(self.xbtd.url)
        with self.assertRaises(self.XenAPI.Failure) as cm:
            s.xenapi.login_with_password("root", "wrong", "1.0", "t")
        self.assertEqual(cm.exception.details,
                         ["SESSION_AUTHENTICATION_FAILED", "root",
                          "Authentication failure"])
        self.assertIsNone(s._session)

    def test_async(self):
        s = self.session()
        target = s.xenapi.task.create("target", "")
        task = s.xenapi.Async.task.cancel(target)
        deadline = time.monotonic() + 10
        while s.xenapi.task.get_status(task) == "pending":
            self.assertLess(time.monotonic(), deadline, "task still pending")
            time.sleep(0.01)
        self.assertEqual(s.xenapi.task.get_status(task), "success")
        self.assertEqual(s.xenapi.task.get_result(task), "")
        self.assertEqual(s.xenapi.task.get_status(target), "cancelling")
        s.xenapi.task.destroy(task)
        s.xenapi.task.destroy(target)

    def test_emoji_name_round_trip(self):
        # Issue 9: text beyond the BMP, set and read through XenAPI.py.
        s = self.session()
        name = ("\U0001f600 \U00020000\U0002a6d6 e\u0301 "
                "\U0001f468\u200d\U0001f469\u200d\U0001f467 "
                "\U0001f1eb\U0001f1f7 \ue000\uf8ff")
        vms = s.xenapi.VM.get_by_name_label("demo-ok")
        self.assertEqual(len(vms), 1)
        vm = vms[0]
        s.xenapi.VM.set_name_label(vm, name)
        self.addCleanup(s.xenapi.VM.set_name_label, vm, "demo-ok")
        self.assertEqual(s.xenapi.VM.get_name_label(vm), name)
        self.assertEqual(s.xenapi.VM.get_record(vm)["name_label"], name)
        self.assertEqual(s.xenapi.VM.get_by_name_label(name), [vm])
        t = s.xenapi.task.create(name, "\U0001f600")
        self.addCleanup(s.xenapi.task.destroy, t)
        rec = s.xenapi.task.get_record(t)
        self.assertEqual((rec["name_label"], rec["name_description"]),
                         (name, "\U0001f600"))

    def test_logout(self):
        s = self.XenAPI.Session(self.xbtd.url)
        s.xenapi.login_with_password("root", "xbt")
        ref = s._session
        s.xenapi.session.logout()
        self.assertIsNone(s._session)
        # The old ref is dead on the server.
        r = self.xbtd.call("pool.get_all", ref)
        self.assertEqual(r, {"Status": "Failure",
                             "ErrorDescription": ["SESSION_INVALID", ref]})

    def test_relogin_after_session_invalid(self):
        # XenAPI.py logs in again when a call says SESSION_INVALID.
        s = self.session()
        old = s._session
        self.assertEqual(self.xbtd.call("session.logout", old)["Status"],
                         "Success")
        self.assertEqual(len(s.xenapi.pool.get_all()), 1)
        self.assertNotEqual(s._session, old)


# ---- every record of every class ---------------------------------------------

# The classes xbtd serves (session apart: only its own record is read).
CLASSES = ("task", "pool", "host", "host_metrics", "host_cpu", "SR", "PBD",
           "VDI", "VBD", "VM", "VM_metrics", "VM_guest_metrics", "console",
           "network", "VIF", "PIF")
NULL = "OpaqueRef:NULL"
EPOCH = "19700101T00:00:00Z"
# Each pair: a set of refs on one class and the ref back on the other.
LINKS = (("VM", "VBDs", "VBD", "VM"), ("VDI", "VBDs", "VBD", "VDI"),
         ("SR", "VDIs", "VDI", "SR"), ("SR", "PBDs", "PBD", "SR"),
         ("host", "PBDs", "PBD", "host"), ("VM", "VIFs", "VIF", "VM"),
         ("network", "VIFs", "VIF", "network"),
         ("host", "PIFs", "PIF", "host"), ("network", "PIFs", "PIF", "network"),
         ("VM", "consoles", "console", "VM"),
         ("host", "host_CPUs", "host_cpu", "host"),
         ("host", "resident_VMs", "VM", "resident_on"))


def upstream_ref_fields():
    """{class: {field: (kind, target)}} from xapi's own field list
    (idl/upstream/xapi-fields.tsv): kind "ref", "set" or "map" (a map
    with refs for keys or values: target is (key class, value class))."""
    out = {}
    path = os.path.join(fx.SRCDIR, "idl", "upstream", "xapi-fields.tsv")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "enum" or "ref " not in cols[2]:
                continue
            cls, name, ty = cols[:3]
            m = re.fullmatch(r"ref (\w+)", ty)
            if m:
                out.setdefault(cls, {})[name] = ("ref", m.group(1))
                continue
            m = re.fullmatch(r"set \(ref (\w+)\)", ty)
            if m:
                out.setdefault(cls, {})[name] = ("set", m.group(1))
                continue
            m = re.fullmatch(r"map \((.*), (.*)\)", ty)
            if m:
                k, v = (re.fullmatch(r"ref (\w+)", t) for t in m.groups())
                out.setdefault(cls, {})[name] = (
                    "map", (k and k.group(1), v and v.group(1)))
    return out


class Walker:
    """walk() and its checks, for a TestCase with self.s (a logged-in
    XenAPI.Session), self.x (its xenapi) and self.refs
    (upstream_ref_fields()): EveryRecord here, test_pools.Join on a
    pool."""

    def walk(self):
        """{class: {ref: record}} of every class, each record read both
        ways; the checks of every ref in them."""
        db = {}
        for cls in CLASSES:
            api = getattr(self.x, cls)
            with self.subTest(cls=cls):
                recs = api.get_all_records()
                self.assertIsInstance(recs, dict)
                self.assertEqual(sorted(recs), sorted(api.get_all()), cls)
                for ref, rec in recs.items():
                    self.assertTrue(ref.startswith("OpaqueRef:"), ref)
                    one = api.get_record(ref)
                    self.assertEqual(one, rec, "%s %s" % (cls, ref))
                    self.assertEqual(api.get_by_uuid(rec["uuid"]), ref)
                db[cls] = recs
        # Each check a subtest: one run lists every gap.
        with self.subTest(check="own session"):
            me = self.x.session.get_record(self.s._session)
            self.assertIsInstance(me, dict)
            db["session"] = {self.s._session: me}
            self.assertIn(me["this_host"], db.get("host", {}))
        with self.subTest(check="refs resolve"):
            self.check_refs(db)
        with self.subTest(check="links agree both ways"):
            self.check_links(db)
        with self.subTest(check="pool and hosts"):
            self.assertEqual(len(db["pool"]), 1)
            self.assertIn(db["pool"][next(iter(db["pool"]))]["master"],
                          db["host"])
            for ref, host in db["host"].items():
                self.assertIn(host["metrics"], db["host_metrics"], ref)
        with self.subTest(check="VM metrics"):
            # Every VM has metrics of its own (xapi makes them with it).
            for ref, vm in db["VM"].items():
                self.assertIn(vm["metrics"], db["VM_metrics"],
                              vm["name_label"])
            owners = [vm["metrics"] for vm in db["VM"].values()]
            self.assertEqual(len(owners), len(set(owners)))
        with self.subTest(check="host CPUs"):
            for ref, host in db["host"].items():
                self.assertTrue(host["host_CPUs"], host["name_label"])
        return db

    def check_refs(self, db):
        """Every ref field holds NULL or a ref of its class."""
        bad = []

        def resolve(cls, ref, where):
            if ref == NULL:
                return
            if cls not in db or ref not in db[cls]:
                bad.append("%s = %s: not a %s xbtd serves" % (where, ref, cls))

        for cls, recs in db.items():
            fields = self.refs.get(cls, {})
            for ref, rec in recs.items():
                for name, (kind, target) in fields.items():
                    if name not in rec:
                        continue
                    where = "%s(%s).%s" % (cls, rec.get("name_label", ref),
                                           name)
                    v = rec[name]
                    if kind == "ref":
                        resolve(target, v, where)
                    elif kind == "set":
                        for r in v:
                            resolve(target, r, where)
                    else:
                        for k, val in v.items():
                            if target[0]:
                                resolve(target[0], k, where)
                            if target[1]:
                                resolve(target[1], val, where)
        self.assertEqual(bad, [])

    def check_links(self, db):
        """Each set of refs and the refs back agree both ways."""
        bad = []
        for a, many, b, one in LINKS:
            if a not in db or b not in db:
                continue
            for aref, arec in db[a].items():
                for bref in arec.get(many, []):
                    if bref in db[b] and db[b][bref].get(one) != aref:
                        bad.append("%s.%s has %s but its %s is %s"
                                   % (a, many, bref, one,
                                      db[b][bref].get(one)))
            for bref, brec in db[b].items():
                aref = brec.get(one, NULL)
                if aref != NULL and aref in db[a] and \
                        bref not in db[a][aref].get(many, []):
                    bad.append("%s %s's %s is %s, whose %s lacks it"
                               % (b, bref, one, aref, many))
        self.assertEqual(bad, [])

class EveryRecord(Walker, unittest.TestCase):
    """XenAPI.py reads every record of every class xbtd serves, get_record
    agrees with get_all_records, and every ref in them resolves to a
    record of the class xapi's field list says (or is OpaqueRef:NULL):
    halted, with demo-ok running, suspended, resumed and halted again."""

    @classmethod
    def setUpClass(cls):
        cls.XenAPI = fx.import_xenapi()
        cls.refs = upstream_ref_fields()
        cls.xbtd = fx.Xbtd().start(login=False)

    @classmethod
    def tearDownClass(cls):
        cls.xbtd.stop()

    def setUp(self):
        self.s = self.XenAPI.Session(self.xbtd.url)
        self.s.xenapi.login_with_password("root", "xbt", "1.0",
                                          "test_xenapi_py")
        self.addCleanup(self.s.xenapi.session.logout)
        self.x = self.s.xenapi

    def vm_of(self, db, name):
        refs = [r for r, v in db["VM"].items() if v["name_label"] == name]
        self.assertEqual(len(refs), 1, name)
        return refs[0]

    def test_walk_halted_running_halted(self):
        db = self.walk()
        vm = self.vm_of(db, "demo-ok")
        rec = db["VM"][vm]
        with self.subTest(state="halted"):
            self.assertEqual(rec["power_state"], "Halted")
            self.assertEqual(rec["guest_metrics"], NULL)
            self.assertTrue(db["network"], "no network")
            self.assertTrue(db["PIF"], "no PIF")
            self.assertTrue(rec["VIFs"], "demo-ok has no VIF")
            for vif in rec["VIFs"]:
                self.assertIs(db["VIF"][vif]["currently_attached"], False)

        self.x.VM.start(vm, False, False)
        self.addCleanup(self.halt, vm)
        db = self.walk()
        rec = db["VM"][vm]
        self.assertEqual(rec["power_state"], "Running")
        with self.subTest(state="running", check="VM_metrics.start_time"):
            self.assertIn(rec["metrics"], db["VM_metrics"])
            self.assertNotEqual(
                str(db["VM_metrics"][rec["metrics"]]["start_time"]), EPOCH)
        with self.subTest(state="running", check="guest metrics"):
            self.assertIn(rec["guest_metrics"], db["VM_guest_metrics"])
            gm = db["VM_guest_metrics"][rec["guest_metrics"]]
            self.assertIn("0/ip", gm["networks"])
        with self.subTest(state="running", check="VIFs attached"):
            self.assertTrue(rec["VIFs"], "demo-ok has no VIF")
            for vif in rec["VIFs"]:
                self.assertIs(db["VIF"][vif]["currently_attached"], True,
                              vif)
        with self.subTest(state="running", check="console"):
            self.assertTrue(rec["consoles"], "running demo-ok has no console")

        # Suspended and resumed: every ref still resolves.
        self.x.VM.suspend(vm)
        db = self.walk()
        self.assertEqual(db["VM"][vm]["power_state"], "Suspended")
        for vif in db["VM"][vm]["VIFs"]:
            self.assertIs(db["VIF"][vif]["currently_attached"], False, vif)
        self.x.VM.resume(vm, False, False)
        db = self.walk()
        self.assertEqual(db["VM"][vm]["power_state"], "Running")

        self.x.VM.hard_shutdown(vm)
        db = self.walk()
        rec = db["VM"][vm]
        self.assertEqual(rec["power_state"], "Halted")
        with self.subTest(state="halted again"):
            self.assertEqual(rec["guest_metrics"], NULL)
            self.assertEqual(rec["consoles"], [])
            for vif in rec["VIFs"]:
                self.assertIs(db["VIF"][vif]["currently_attached"], False,
                              vif)

    def halt(self, vm):
        if self.x.VM.get_power_state(vm) != "Halted":
            self.x.VM.hard_shutdown(vm)


if __name__ == "__main__":
    fx.run()
