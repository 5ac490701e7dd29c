#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The real XenAPI.py client against xbtd, unmodified.

Debian's python3-os-xenapi ships a copy of XenAPI.py. The package is
downloaded and unpacked into the build tree once and imported by path
(xbtd_fixture.import_xenapi). Without the package (no network, no apt)
this test is skipped and says why.
"""

import os
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


if __name__ == "__main__":
    fx.run()
