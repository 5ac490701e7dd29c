#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbtd through xmlrpc.client, as XenAPI clients use it: logins, the pool,
tasks, Async calls, the exact XenAPI error shapes, and the command line."""

import calendar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

REF_RE = re.compile(r"^OpaqueRef:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{4}-[0-9a-f]{12}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{8}T\d{2}:\d{2}:\d{2}Z$")
NEVER = "19700101T00:00:00Z"
API_MAJOR = "2"   # XBTD_API_MAJOR in server/xbtd.h, an int on the wire
API_MINOR = "21"  # XBTD_API_MINOR
AUTH_FAILED = "Authentication failure"

# Every field of a task (doc/design.md, "Wire") and the Python type xmlrpc.client gives.
TASK_FIELDS = {
    "uuid": str,
    "name_label": str,
    "name_description": str,
    "allowed_operations": list,
    "current_operations": dict,
    "created": xmlrpc.client.DateTime,
    "finished": xmlrpc.client.DateTime,
    "status": str,
    "resident_on": str,
    "progress": float,
    "type": str,
    "result": str,
    "error_info": list,
    "other_config": dict,
    "subtask_of": str,
    "subtasks": list,
    "backtrace": str,
}
TASK_STATUSES = ("pending", "success", "failure", "cancelling", "cancelled")


class Login(fx.XbtdTestCase):
    LOGIN = "session.login_with_password"

    def check_session(self, ref):
        self.assertRegex(ref, REF_RE)
        pools = self.ok("pool.get_all", ref)
        self.assertEqual(len(pools), 1)

    def test_login_two_params(self):
        self.check_session(self.ok(self.LOGIN, "root", "xbt"))

    def test_login_three_params(self):
        self.check_session(self.ok(self.LOGIN, "root", "xbt", "1.0"))

    def test_login_four_params(self):
        self.check_session(self.ok(self.LOGIN, "root", "xbt", "1.0",
                                   "test_xbtd_api"))

    def test_login_makes_distinct_sessions(self):
        a = self.ok(self.LOGIN, "root", "xbt")
        b = self.ok(self.LOGIN, "root", "xbt")
        self.assertNotEqual(a, b)

    def test_login_one_param(self):
        self.assertEqual(self.failure(self.LOGIN, "root"),
                         ["MESSAGE_PARAMETER_COUNT_MISMATCH", self.LOGIN,
                          "2", "1"])

    def test_login_five_params(self):
        self.assertEqual(self.failure(self.LOGIN, "root", "xbt", "1.0", "o",
                                      "extra"),
                         ["MESSAGE_PARAMETER_COUNT_MISMATCH", self.LOGIN,
                          "2", "5"])

    def test_wrong_password(self):
        self.assertEqual(self.failure(self.LOGIN, "root", "wrong", "1.0"),
                         ["SESSION_AUTHENTICATION_FAILED", "root",
                          AUTH_FAILED])

    def test_empty_password(self):
        self.assertEqual(self.failure(self.LOGIN, "root", ""),
                         ["SESSION_AUTHENTICATION_FAILED", "root",
                          AUTH_FAILED])

    def test_unknown_user(self):
        self.assertEqual(self.failure(self.LOGIN, "nobody", "xbt"),
                         ["SESSION_AUTHENTICATION_FAILED", "nobody",
                          AUTH_FAILED])

    def test_logout(self):
        ref = self.ok(self.LOGIN, "root", "xbt")
        self.assertEqual(self.ok("session.logout", ref), "")
        self.assertEqual(self.failure("pool.get_all", ref),
                         ["SESSION_INVALID", ref])
        self.assertEqual(self.failure("session.logout", ref),
                         ["SESSION_INVALID", ref])

    def test_logout_leaves_other_sessions(self):
        a = self.ok(self.LOGIN, "root", "xbt")
        b = self.ok(self.LOGIN, "root", "xbt")
        self.ok("session.logout", a)
        self.check_session(b)

    def test_bad_session(self):
        for ref in ("OpaqueRef:00000000-0000-0000-0000-000000000000",
                    "OpaqueRef:NULL", "", "not a ref"):
            self.assertEqual(self.failure("pool.get_all", ref),
                             ["SESSION_INVALID", ref])
            self.assertEqual(self.failure("task.create", ref, "a", "b"),
                             ["SESSION_INVALID", ref])


class Pool(fx.XbtdTestCase):
    def test_get_all(self):
        pools = self.ok("pool.get_all", self.session)
        self.assertIsInstance(pools, list)
        self.assertEqual(len(pools), 1)
        self.assertRegex(pools[0], REF_RE)

    def test_master_and_api_version(self):
        pool = self.ok("pool.get_all", self.session)[0]
        host = self.ok("pool.get_master", self.session, pool)
        self.assertRegex(host, REF_RE)
        self.assertIn(host, self.ok("host.get_all", self.session))
        self.assertEqual(self.ok("host.get_API_version_major", self.session,
                                 host), API_MAJOR)
        self.assertEqual(self.ok("host.get_API_version_minor", self.session,
                                 host), API_MINOR)

    def test_get_all_records(self):
        pool = self.ok("pool.get_all", self.session)[0]
        recs = self.ok("pool.get_all_records", self.session)
        self.assertIsInstance(recs, dict)
        self.assertEqual(list(recs), [pool])
        rec = recs[pool]
        self.assertIsInstance(rec["other_config"], dict)
        self.assertRegex(rec["uuid"], UUID_RE)
        self.assertEqual(rec["master"],
                         self.ok("pool.get_master", self.session, pool))
        self.assertEqual(rec, self.ok("pool.get_record", self.session, pool))

    def test_host_record(self):
        host = self.ok("host.get_all", self.session)[0]
        rec = self.ok("host.get_record", self.session, host)
        self.assertEqual(rec["API_version_major"], API_MAJOR)
        self.assertEqual(rec["API_version_minor"], API_MINOR)
        self.assertIs(rec["enabled"], True)

    def test_list_methods(self):
        methods = self.rpc("system.listMethods")
        # A bare array, not a {Status, Value} struct.
        self.assertIsInstance(methods, list)
        for m in ("VM.start", "Async.VM.start", "task.get_backtrace",
                  "session.login_with_password", "task.create",
                  "pool.get_all_records"):
            self.assertIn(m, methods)
        self.assertNotIn("Async.session.logout", methods)
        self.assertEqual(len(methods), len(set(methods)))
        for m in methods:
            self.assertIsInstance(m, str)


class Task(fx.XbtdTestCase):
    def new_task(self, label="t", description="d"):
        ref = self.ok("task.create", self.session, label, description)
        self.assertRegex(ref, REF_RE)
        self.addCleanup(self.rpc, "task.destroy", self.session, ref)
        return ref

    def test_record_fields_and_types(self):
        before = time.time()
        ref = self.new_task("label one", "description one")
        rec = self.ok("task.get_record", self.session, ref)
        missing = set(TASK_FIELDS) - set(rec)
        self.assertFalse(missing, "fields missing: %s" % sorted(missing))
        for name, typ in TASK_FIELDS.items():
            self.assertIsInstance(rec[name], typ, name)
        self.assertRegex(rec["uuid"], UUID_RE)
        self.assertEqual(rec["name_label"], "label one")
        self.assertEqual(rec["name_description"], "description one")
        self.assertEqual(rec["status"], "pending")
        self.assertEqual(rec["backtrace"], "()")
        self.assertEqual(rec["progress"], 0.0)
        self.assertEqual(rec["result"], "")
        self.assertEqual(rec["error_info"], [])
        self.assertEqual(rec["other_config"], {})
        self.assertEqual(rec["subtask_of"], "OpaqueRef:NULL")
        self.assertEqual(rec["subtasks"], [])
        self.assertEqual(rec["current_operations"], {})
        self.assertRegex(rec["created"].value, DATE_RE)
        self.assertEqual(rec["finished"].value, NEVER)
        created = calendar.timegm(time.strptime(rec["created"].value,
                                                "%Y%m%dT%H:%M:%SZ"))
        self.assertLess(abs(created - before), 60)
        self.assertIn(rec["resident_on"],
                      self.ok("host.get_all", self.session))

    def test_getters_match_record(self):
        ref = self.new_task()
        rec = self.ok("task.get_record", self.session, ref)
        for name in TASK_FIELDS:
            self.assertEqual(self.ok("task.get_" + name, self.session, ref),
                             rec[name], name)

    def test_set_status(self):
        ref = self.new_task()
        for status in TASK_STATUSES:
            self.assertEqual(self.ok("task.set_status", self.session, ref,
                                     status), "")
            self.assertEqual(self.ok("task.get_status", self.session, ref),
                             status)

    def test_set_status_not_in_enum(self):
        ref = self.new_task()
        self.assertEqual(self.failure("task.set_status", self.session, ref,
                                      "bogus"),
                         ["XMLRPC_UNMARSHAL_FAILURE", "enum task_status_type",
                          'string "bogus"'])
        self.assertEqual(self.ok("task.get_status", self.session, ref),
                         "pending")

    def test_finished_set_when_done(self):
        ref = self.new_task()
        self.ok("task.set_status", self.session, ref, "success")
        fin = self.ok("task.get_finished", self.session, ref)
        self.assertRegex(fin.value, DATE_RE)
        self.assertNotEqual(fin.value, NEVER)

    def test_set_progress(self):
        ref = self.new_task()
        self.assertEqual(self.ok("task.set_progress", self.session, ref,
                                 0.25), "")
        self.assertEqual(self.ok("task.get_progress", self.session, ref),
                         0.25)

    def test_set_result(self):
        ref = self.new_task()
        value = "<value>OpaqueRef:NULL</value>"
        self.assertEqual(self.ok("task.set_result", self.session, ref,
                                 value), "")
        self.assertEqual(self.ok("task.get_result", self.session, ref), value)

    def test_set_error_info(self):
        ref = self.new_task()
        info = ["SOME_ERROR", "p1", ""]
        self.assertEqual(self.ok("task.set_error_info", self.session, ref,
                                 info), "")
        self.assertEqual(self.ok("task.get_error_info", self.session, ref),
                         info)

    def test_set_error_info_not_strings(self):
        ref = self.new_task()
        ed = self.failure("task.set_error_info", self.session, ref,
                          [{"a": "b"}])
        self.assertEqual(ed, ["XMLRPC_UNMARSHAL_FAILURE", "string",
                              "struct at element 0"])
        self.assertEqual(self.ok("task.get_error_info", self.session, ref),
                         [])

    def test_other_config(self):
        ref = self.new_task()
        s = self.session
        self.assertEqual(self.ok("task.add_to_other_config", s, ref, "k",
                                 "v"), "")
        self.ok("task.add_to_other_config", s, ref, "k2", "v2")
        self.assertEqual(self.ok("task.get_other_config", s, ref),
                         {"k": "v", "k2": "v2"})
        self.assertEqual(self.failure("task.add_to_other_config", s, ref,
                                      "k", "other"),
                         ["MAP_DUPLICATE_KEY", "task", "other_config", ref,
                          "k"])
        self.assertEqual(self.ok("task.get_other_config", s, ref)["k"], "v")
        self.assertEqual(self.ok("task.remove_from_other_config", s, ref,
                                 "k"), "")
        self.assertEqual(self.ok("task.get_other_config", s, ref),
                         {"k2": "v2"})
        # Removing an absent key is not an error (as in xapi).
        self.assertEqual(self.ok("task.remove_from_other_config", s, ref,
                                 "absent"), "")
        self.assertEqual(self.ok("task.set_other_config", s, ref,
                                 {"a": "1"}), "")
        self.assertEqual(self.ok("task.get_other_config", s, ref),
                         {"a": "1"})

    def test_get_by_uuid(self):
        ref = self.new_task()
        uuid = self.ok("task.get_uuid", self.session, ref)
        self.assertEqual(self.ok("task.get_by_uuid", self.session, uuid), ref)
        absent = "00000000-0000-0000-0000-000000000000"
        self.assertEqual(self.failure("task.get_by_uuid", self.session,
                                      absent),
                         ["UUID_INVALID", "task", absent])
        self.assertEqual(self.failure("task.get_by_uuid", self.session,
                                      "garbage"),
                         ["UUID_INVALID", "task", "garbage"])

    def test_get_by_name_label(self):
        a = self.new_task("shared label")
        b = self.new_task("shared label")
        c = self.new_task("another label")
        got = self.ok("task.get_by_name_label", self.session, "shared label")
        self.assertEqual(sorted(got), sorted([a, b]))
        self.assertNotIn(c, got)
        self.assertEqual(self.ok("task.get_by_name_label", self.session,
                                 "no task has this label"), [])

    def test_get_all_and_records(self):
        a = self.new_task("all a")
        b = self.new_task("all b")
        refs = self.ok("task.get_all", self.session)
        self.assertIn(a, refs)
        self.assertIn(b, refs)
        recs = self.ok("task.get_all_records", self.session)
        self.assertEqual(sorted(recs), sorted(refs))
        self.assertEqual(recs[a]["name_label"], "all a")
        self.assertEqual(recs[b], self.ok("task.get_record", self.session, b))

    def test_cancel_pending(self):
        ref = self.new_task()
        self.assertEqual(self.ok("task.cancel", self.session, ref), "")
        self.assertEqual(self.ok("task.get_status", self.session, ref),
                         "cancelling")

    def test_cancel_not_pending(self):
        ref = self.new_task()
        self.ok("task.set_status", self.session, ref, "success")
        ed = self.failure("task.cancel", self.session, ref)
        self.assertEqual(ed, ["OPERATION_NOT_ALLOWED", "Task is not pending"])
        self.assertEqual(self.ok("task.get_status", self.session, ref),
                         "success")
        # Twice: cancelling is not pending either.
        ref2 = self.new_task()
        self.ok("task.cancel", self.session, ref2)
        self.assertEqual(self.failure("task.cancel", self.session, ref2),
                         ["OPERATION_NOT_ALLOWED", "Task is not pending"])

    def test_destroy(self):
        ref = self.ok("task.create", self.session, "doomed", "")
        self.assertEqual(self.ok("task.destroy", self.session, ref), "")
        self.assertEqual(self.failure("task.get_record", self.session, ref),
                         ["HANDLE_INVALID", "task", ref])
        self.assertEqual(self.failure("task.destroy", self.session, ref),
                         ["HANDLE_INVALID", "task", ref])
        self.assertNotIn(ref, self.ok("task.get_all", self.session))

    def test_handle_invalid_everywhere(self):
        bad = "OpaqueRef:11111111-2222-3333-4444-555555555555"
        s = self.session
        for method, extra in (("task.get_record", ()),
                              ("task.get_status", ()),
                              ("task.set_status", ("success",)),
                              ("task.set_progress", (0.5,)),
                              ("task.add_to_other_config", ("k", "v")),
                              ("task.cancel", ()),
                              ("task.destroy", ())):
            self.assertEqual(self.failure(method, s, bad, *extra),
                             ["HANDLE_INVALID", "task", bad], method)


class Async(fx.XbtdTestCase):
    def wait_task(self, task, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.ok("task.get_status", self.session, task)
            if status != "pending":
                return status
            time.sleep(0.01)
        self.fail("task %s still pending after %.0f s" % (task, timeout))

    def test_async_void_success(self):
        s = self.session
        target = self.ok("task.create", s, "target", "")
        t0 = time.monotonic()
        task = self.ok("Async.task.cancel", s, target)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertRegex(task, REF_RE)
        self.assertNotEqual(task, target)
        self.assertEqual(self.wait_task(task), "success")
        rec = self.ok("task.get_record", s, task)
        self.assertEqual(rec["result"], "")
        self.assertEqual(rec["error_info"], [])
        self.assertEqual(rec["backtrace"], "()")
        self.assertEqual(rec["progress"], 1.0)
        self.assertRegex(rec["finished"].value, DATE_RE)
        self.assertNotEqual(rec["finished"].value, NEVER)
        self.assertEqual(self.ok("task.get_status", s, target), "cancelling")
        self.assertEqual(self.ok("task.destroy", s, task), "")
        self.assertEqual(self.failure("task.get_status", s, task),
                         ["HANDLE_INVALID", "task", task])
        self.ok("task.destroy", s, target)

    def test_async_failure_has_error_and_backtrace(self):
        s = self.session
        target = self.ok("task.create", s, "finished target", "")
        self.ok("task.set_status", s, target, "success")
        task = self.ok("Async.task.cancel", s, target)
        self.assertEqual(self.wait_task(task), "failure")
        rec = self.ok("task.get_record", s, task)
        self.assertEqual(rec["error_info"],
                         ["OPERATION_NOT_ALLOWED", "Task is not pending"])
        self.assertEqual(rec["result"], "")
        bt = rec["backtrace"]
        self.assertTrue(bt.startswith("(((process"), bt)
        self.assertIn("(filename server/xenapi/task.c)", bt)
        self.assertRegex(bt, r'\(process"?xbtd @ ')
        self.assertEqual(self.ok("task.get_backtrace", s, task), bt)
        self.ok("task.destroy", s, task)
        self.ok("task.destroy", s, target)

    def test_async_unknown_and_not_async(self):
        for m in ("Async.session.logout", "Async.task.get_record",
                  "Async.no.such", "Async."):
            self.assertEqual(self.failure(m, self.session),
                             ["MESSAGE_METHOD_UNKNOWN", m])

    def test_async_count_mismatch(self):
        self.assertEqual(self.failure("Async.task.cancel", self.session),
                         ["MESSAGE_PARAMETER_COUNT_MISMATCH",
                          "Async.task.cancel", "1", "0"])

    def test_async_bad_session(self):
        bad = "OpaqueRef:NULL"
        self.assertEqual(self.failure("Async.task.cancel", bad, bad),
                         ["SESSION_INVALID", bad])


class Errors(fx.XbtdTestCase):
    def test_method_unknown(self):
        for m in ("no.such", "task.no_such_message", "task",
                  "system.nothing", "Async"):
            self.assertEqual(self.failure(m, self.session),
                             ["MESSAGE_METHOD_UNKNOWN", m])

    def test_count_mismatch_vm_start(self):
        # VM.start(session, vm, start_paused, force): 3 besides the session.
        self.assertEqual(self.failure("VM.start", self.session,
                                      "OpaqueRef:NULL"),
                         ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3",
                          "1"])

    def test_count_mismatch(self):
        s = self.session
        cases = (
            ("task.create", (s, "only a label"), "2", "1"),
            ("task.get_record", (s,), "1", "0"),
            ("task.get_record", (s, "OpaqueRef:NULL", "x"), "1", "2"),
            ("pool.get_all", (s, "x"), "0", "1"),
            ("task.add_to_other_config", (s, "OpaqueRef:NULL", "k"), "3",
             "2"),
        )
        for method, params, expected, received in cases:
            self.assertEqual(self.failure(method, *params),
                             ["MESSAGE_PARAMETER_COUNT_MISMATCH", method,
                              expected, received], method)

    def test_unmarshal_failure(self):
        s = self.session
        t = self.ok("task.create", s, "typed", "")
        self.addCleanup(self.rpc, "task.destroy", s, t)
        # [code, expected, received]
        cases = (
            ("task.set_progress", (s, t, {"not": "a float"}),
             "float", "struct"),
            ("task.set_progress", (s, t, ["x"]), "float", "array"),
            ("task.get_record", (s, 42), "ref task", "int 42"),
            ("task.get_record", (s, {"a": "b"}), "ref task", "struct"),
            ("task.create", (s, ["label"], "d"), "string", "array"),
            ("task.set_error_info", (s, t, "not an array"), "set (string)",
             'string "not an array"'),
            ("task.set_other_config", (s, t, ["not", "a", "map"]),
             "map (string, string)", "array"),
        )
        for method, params, expected, received in cases:
            self.assertEqual(self.failure(method, *params),
                             ["XMLRPC_UNMARSHAL_FAILURE", expected, received],
                             method)
        self.assertEqual(self.ok("task.get_progress", s, t), 0.0)

    def test_session_not_a_string(self):
        self.assertEqual(self.failure("pool.get_all", 42),
                         ["XMLRPC_UNMARSHAL_FAILURE", "session ref",
                          "not a string"])

    def test_float_accepts_int(self):
        # XML-RPC clients send 1 for 1.0; xapi reads an int as a float.
        s = self.session
        t = self.ok("task.create", s, "int progress", "")
        self.addCleanup(self.rpc, "task.destroy", s, t)
        self.assertEqual(self.ok("task.set_progress", s, t, 1), "")
        self.assertEqual(self.ok("task.get_progress", s, t), 1.0)


# ---- the command line ----------------------------------------------------

def make_crypt_hash(password):
    """A SHA-512 crypt(3) hash, or None when nothing here can make one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
        if h and h.startswith("$6$"):
            return h
    except (ImportError, AttributeError, OSError):
        pass
    if shutil.which("openssl"):
        p = subprocess.run(["openssl", "passwd", "-6", password],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        h = p.stdout.decode().strip()
        if p.returncode == 0 and h.startswith("$6$"):
            return h
    return None


class CommandLine(unittest.TestCase):
    def test_help(self):
        status, out, _err = fx.run_xbtd(["--help"])
        self.assertEqual(status, 0)
        self.assertIn("usage: xbtd", out)
        self.assertIn("--listen", out)

    def test_version(self):
        status, out, _err = fx.run_xbtd(["--version"])
        self.assertEqual(status, 0)
        self.assertRegex(out, r"^xbtd \d+\.\d+\.\d+\S*\n$")

    def test_bad_option(self):
        status, _out, err = fx.run_xbtd(["--no-such-option"])
        self.assertEqual(status, 2)
        # getopt's line names the program as libtool ran it.
        self.assertRegex(err, r"^\S+: unrecognized option "
                              r"'--no-such-option'\nusage: xbtd \[options\]\n")

    def test_bad_values(self):
        # Numbers name their bounds (the option table's).
        for args, bounds in ((["--listen", "nonsense"], ""),
                             (["--listen", "127.0.0.1:99999"], ""),
                             (["--workers", "0"], " (1 to 1024)"),
                             (["--workers", "-3"], " (1 to 1024)"),
                             (["--max-body", "12abc"],
                              " (4096 to 1073741824)")):
            self.assertEqual(fx.run_xbtd(args),
                             (2, "", "xbtd: bad value for %s: %s%s\n"
                              % (args[0], args[1], bounds)))
        self.assertEqual(fx.run_xbtd(["unexpected-argument"]),
                         (2, "", "xbtd: unexpected argument: "
                          "unexpected-argument\n"))

    def test_refuses_default_password_off_loopback(self):
        port = fx.free_port()
        self.assertEqual(fx.run_xbtd(["--listen", "0.0.0.0:%d" % port],
                                     env=fx.clean_env()),
                         (2, "", "xbtd: refusing to listen on 0.0.0.0 with "
                          "the default password for root; set a non-empty "
                          "--password or XBT_PASSWORD other than \"xbt\"\n"))

    def test_password_option(self):
        with fx.Xbtd(["--password", "s3cret"], password="s3cret") as x:
            self.assertRegex(x.session, REF_RE)
            r = x.call("session.login_with_password", "root", "xbt")
            self.assertEqual(r, {"Status": "Failure", "ErrorDescription": [
                "SESSION_AUTHENTICATION_FAILED", "root", AUTH_FAILED]})

    def test_password_environment(self):
        x = fx.Xbtd(password="from-env")
        x.env["XBT_PASSWORD"] = "from-env"
        with x:
            self.assertRegex(x.session, REF_RE)
            r = x.call("session.login_with_password", "root", "xbt")
            self.assertEqual(r, {"Status": "Failure", "ErrorDescription": [
                "SESSION_AUTHENTICATION_FAILED", "root", AUTH_FAILED]})

    def test_users_file(self):
        h = make_crypt_hash("alice-pw")
        if h is None:
            self.skipTest("neither Python's crypt nor openssl can make a "
                          "crypt(3) hash here")
        d = tempfile.mkdtemp(prefix="xbtd-users-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "users")
        with open(path, "w") as f:
            f.write("# test users\n\nalice:%s\n" % h)
        with fx.Xbtd(["--users", path]) as x:
            r = x.call("session.login_with_password", "alice", "alice-pw")
            self.assertEqual(r["Status"], "Success", r)
            self.assertRegex(r["Value"], REF_RE)
            self.assertEqual(x.call("pool.get_all", r["Value"])["Status"],
                             "Success")
            r = x.call("session.login_with_password", "alice", "wrong")
            self.assertEqual(r["ErrorDescription"],
                             ["SESSION_AUTHENTICATION_FAILED", "alice",
                              AUTH_FAILED])
            # root keeps its password.
            self.assertEqual(x.call("session.login_with_password", "root",
                                    "xbt")["Status"], "Success")

    def test_users_file_missing(self):
        status, _out, err = fx.run_xbtd(
            ["--listen", "127.0.0.1:%d" % fx.free_port(),
             "--users", "/nonexistent/xbt-users"], env=fx.clean_env())
        self.assertEqual(status, 1)
        self.assertEqual(err.split("\n")[0],
                         "xbtd: INTERNAL_ERROR [users file "
                         "/nonexistent/xbt-users: No such file or directory]")



class Identity(unittest.TestCase):
    """Every object of a world keeps its uuid, and so its ref, from one
    start to the next (doc/design.md, "Identities")."""

    CLASSES = ("pool", "host", "SR", "PBD", "VDI", "VBD", "VM")

    def identities(self, args):
        with fx.Xbtd(args) as x:
            out = {}
            for cls in self.CLASSES:
                recs = getattr(x.proxy(), cls).get_all_records(
                    x.session)["Value"]
                out[cls] = sorted((ref, r["uuid"], r.get("name_label", ""))
                                  for ref, r in recs.items())
            return out

    def test_restart_keeps_uuids_and_refs(self):
        args = ["--hostname", "h-identity"]
        first = self.identities(args)
        second = self.identities(args)
        self.assertEqual(first, second)
        for cls, objs in first.items():
            self.assertTrue(objs, cls)
            for ref, uuid, _name in objs:
                self.assertEqual(ref, "OpaqueRef:" + uuid)

    def test_explicit_uuid_from_world_file(self):
        uuid = "0a1b2c3d-4e5f-4a6b-8c7d-0123456789ab"
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write('<world><sr name="s" type="DEMO"/>'
                    '<vm name="fixed" uuid="%s"/></world>' % uuid)
            f.flush()
            with fx.Xbtd(["--world", f.name]) as x:
                p = x.proxy()
                vm = p.VM.get_by_uuid(x.session, uuid)["Value"]
                self.assertEqual(vm, "OpaqueRef:" + uuid)
                self.assertEqual(p.VM.get_name_label(x.session, vm)["Value"],
                                 "fixed")

if __name__ == "__main__":
    fx.run()
