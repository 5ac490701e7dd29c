# SPDX-License-Identifier: BSD-2-Clause
"""Unit tests of the Python SM plugin kit (api/python/xbtsm.py)."""
import contextlib
import io
import json
import os
import sys
import unittest
import xmlrpc.client

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api", "python"))
import xbtsm  # noqa: E402


def call_xml(command, call):
    return xmlrpc.client.dumps((call,), command)


def run(commands, command, call=None):
    """Runs the kit as a plugin would; returns (status, response text)."""
    out = io.BytesIO()
    status = xbtsm.main(commands, ["PLUGIN", call_xml(command, call or {})],
                        out)
    return status, out.getvalue().decode("utf-8")


def dispatch_line():
    """The kit's line that calls the plugin's function (the outermost
    frame of every plugin backtrace)."""
    with open(xbtsm.__file__) as f:
        for n, line in enumerate(f, 1):
            if "# xbtsm: the plugin's frames start here" in line:
                return n
    raise AssertionError("marker not found in xbtsm.py")


def inner(reason):
    raise xbtsm.BackendError(46, reason)


def middle(reason):
    return inner(reason)


def outer(call):
    return middle(call["reason"])


def general(call):
    raise ValueError("boom")


def failure_of(text):
    (value,), method = xmlrpc.client.loads(text)
    assert method is None
    assert value["Status"] == "Failure"
    return value["ErrorDescription"]


class TestBacktrace(unittest.TestCase):
    def test_nested_raise_json_exact(self):
        status, text = run({"vdi_attach": outer}, "vdi_attach",
                           {"reason": "The VDI is not available"})
        self.assertEqual(status, 0)
        desc = failure_of(text)
        self.assertEqual(desc[0], "SR_BACKEND_FAILURE_WITH_BACKTRACE")
        self.assertEqual(desc[2:], ["46", "The VDI is not available"])
        me = outer.__code__.co_filename
        # Python's order: outermost first, the raise last.
        expected = {
            "error": "The VDI is not available",
            "files": [xbtsm.__file__, me, me, me],
            "lines": [dispatch_line(),
                      outer.__code__.co_firstlineno + 1,
                      middle.__code__.co_firstlineno + 1,
                      inner.__code__.co_firstlineno + 1],
        }
        self.assertEqual(json.loads(desc[1]), expected)
        # Exact text, in the key order the C side documents.
        self.assertEqual(desc[1], json.dumps(expected, ensure_ascii=False))

    def test_general_exception_is_202(self):
        status, text = run({"sr_attach": general}, "sr_attach")
        self.assertEqual(status, 0)
        desc = failure_of(text)
        self.assertEqual(desc[0], "SR_BACKEND_FAILURE_WITH_BACKTRACE")
        self.assertEqual(desc[2:], ["202",
                                    "General backend error [opterr=boom]"])
        bt = json.loads(desc[1])
        self.assertEqual(bt["error"], "ValueError: boom")
        self.assertEqual(bt["lines"],
                         [dispatch_line(), general.__code__.co_firstlineno + 1])

    def test_backtrace_json_has_no_u_escapes(self):
        text = xbtsm.backtrace_json("caf\u00e9 \x01 \udcff \u2028", None)
        self.assertNotIn("\\u", text)
        self.assertEqual(json.loads(text)["error"],
                         "caf\u00e9 \\x01 \\xff \u2028")

    def test_backtrace_json_of_unraised_is_empty(self):
        self.assertEqual(json.loads(xbtsm.backtrace_json("e", None)),
                         {"error": "e", "files": [], "lines": []})

    def test_raise_while_handling_keeps_new_raise_point(self):
        def handler(call):
            try:
                {}["k"]
            except KeyError:
                raise xbtsm.BackendError("VDI_GONE", "")
        status, text = run({"vdi_detach": handler}, "vdi_detach")
        desc = failure_of(text)
        self.assertEqual(desc[2:], ["VDI_GONE", ""])
        self.assertEqual(json.loads(desc[1])["lines"][-1],
                         handler.__code__.co_firstlineno + 4)


class TestResponses(unittest.TestCase):
    def test_none_is_nil(self):
        status, text = run({"sr_attach": lambda c: None}, "sr_attach")
        self.assertEqual(status, 0)
        self.assertIn("<nil/>", text)
        self.assertEqual(xmlrpc.client.loads(text, use_builtin_types=True),
                         ((None,), None))

    def test_value_returned_bare(self):
        status, text = run({"vdi_attach": lambda c: xbtsm.attach_result(
            "nbd:unix:/s", "/dev/x", xenstore_data={"k": "v"})},
            "vdi_attach")
        (value,), _ = xmlrpc.client.loads(text)
        self.assertEqual(value, {"params": "/dev/x", "params_nbd": "nbd:unix:/s",
                                 "o_direct": True, "o_direct_reason": "",
                                 "xenstore_data": {"k": "v"}})

    def test_value_with_status_is_wrapped(self):
        status, text = run({"sr_scan": lambda c: {"Status": "odd"}}, "sr_scan")
        (value,), _ = xmlrpc.client.loads(text)
        self.assertEqual(value, {"Status": "Success",
                                 "Value": {"Status": "odd"}})

    def test_call_struct_reaches_function(self):
        seen = []
        run({"vdi_activate": lambda c: seen.append(c)}, "vdi_activate",
            {"vdi_uuid": "u", "args": ["true"]})
        self.assertEqual(seen, [{"vdi_uuid": "u", "args": ["true"]}])

    def test_fault(self):
        def busy(call):
            raise xbtsm.Fault(24, "in use")
        status, text = run({"vdi_detach": busy}, "vdi_detach")
        self.assertEqual(status, 0)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(text)
        self.assertEqual((cm.exception.faultCode, cm.exception.faultString),
                         (24, "in use"))

    def test_xenapi_error(self):
        def f(call):
            raise xbtsm.XenAPIError("SR_HAS_NO_PBDS", "OpaqueRef:a", 3)
        status, text = run({"sr_scan": f}, "sr_scan")
        self.assertEqual(failure_of(text),
                         ["SR_HAS_NO_PBDS", "OpaqueRef:a", "3"])

    def test_unknown_command_is_fault_38(self):
        status, text = run({}, "vdi_clone")
        self.assertEqual(status, 0)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(text)
        self.assertEqual(cm.exception.faultCode, 38)
        self.assertEqual(cm.exception.faultString,
                         "command vdi_clone is not implemented")

    def test_unsafe_text_is_escaped(self):
        bad = "a\x01b\x00c\tdone\udcff"

        def f(call):
            raise xbtsm.XenAPIError("X", bad)
        status, text = run({"sr_scan": f}, "sr_scan")
        self.assertEqual(failure_of(text), ["X", "a\\x01b\\x00c\tdone\\xff"])

    def test_unmarshallable_value_is_general_failure(self):
        status, text = run({"sr_scan": lambda c: {"n": 2 ** 40}}, "sr_scan")
        desc = failure_of(text)
        self.assertEqual(desc[0], "SR_BACKEND_FAILURE_WITH_BACKTRACE")
        self.assertEqual(desc[2:], ["202", "General backend error "
                                    "[opterr=int exceeds XML-RPC limits]"])
        # The frames run into xmlrpc.client's, which vary with Python.
        self.assertEqual(json.loads(desc[1])["error"],
                         "OverflowError: int exceeds XML-RPC limits")

    def test_system_exit_passes_through(self):
        def f(call):
            sys.exit(3)
        with self.assertRaises(SystemExit) as cm:
            run({"sr_scan": f}, "sr_scan")
        self.assertEqual(cm.exception.code, 3)


class TestArgv(unittest.TestCase):
    def status_of(self, argv):
        """(exit status, stdout, stderr) of the kit given argv."""
        out, err = io.BytesIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            status = xbtsm.main({"sr_scan": lambda c: None}, argv, out)
        return status, out.getvalue(), err.getvalue()

    def test_missing_argument(self):
        self.assertEqual(self.status_of(["P"]),
                         (2, b"", "usage: P <XML-RPC methodCall>\n"))

    def test_not_xml(self):
        status, out, err = self.status_of(["P", "<oops"])
        self.assertEqual((status, out), (2, b""))
        self.assertTrue(err.startswith(
            "xbtsm: argv[1] is not an XML-RPC call: "), err)

    def test_response_instead_of_call(self):
        text = xmlrpc.client.dumps(({},), methodresponse=True)
        self.assertEqual(self.status_of(["P", text]), (2, b"", self.SHAPE))

    def test_two_params(self):
        text = xmlrpc.client.dumps(({}, {}), "sr_scan")
        self.assertEqual(self.status_of(["P", text]), (2, b"", self.SHAPE))

    def test_param_not_struct(self):
        text = xmlrpc.client.dumps(("x",), "sr_scan")
        self.assertEqual(self.status_of(["P", text]), (2, b"", self.SHAPE))

    SHAPE = "xbtsm: expected a methodCall with one struct param\n"


if __name__ == "__main__":
    unittest.main()
