# SPDX-License-Identifier: BSD-2-Clause
"""Starting and stopping a real xbtd for the integration tests.

An Xbtd runs server/xbtd from the build tree on a free loopback port with a
temporary working directory, waits for its "xbtd listening on ADDR:PORT"
line, and on stop() sends SIGTERM and checks that the process exited with
status 0 and that no sanitizer complained on stderr.

run() runs a module's unittest suite and ends with the plain line
"N passed, N failed" (", N skipped" when some were), exiting non-zero on
failure and 77 (automake's SKIP) when everything was skipped.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("XBT_SRCDIR") or os.path.dirname(HERE)
BUILDDIR = os.environ.get("XBT_BUILDDIR") or SRCDIR
XBTD = os.path.join(BUILDDIR, "server", "xbtd")

ROOT_PASSWORD = "xbt"
# Sanitizer builds start slowly; a healthy server answers long before this.
START_TIMEOUT = float(os.environ.get("XBT_START_TIMEOUT", "30"))
STOP_TIMEOUT = 20.0
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")


def free_port():
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class XbtdError(Exception):
    pass


def run_xbtd(args, timeout=20, env=None):
    """Runs xbtd to completion (for option tests): (status, stdout, stderr)."""
    p = subprocess.run([XBTD] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def clean_env(extra=None):
    """The environment for xbtd: without XBT_PASSWORD (it changes root's
    password), with Abyss's own leak suppressed (tests/lsan.supp; matching
    needs whole malloc stacks)."""
    env = dict(os.environ)
    env.pop("XBT_PASSWORD", None)
    supp = os.path.join(SRCDIR, "tests", "lsan.supp")
    if os.path.exists(supp):
        env["LSAN_OPTIONS"] = ":".join(
            filter(None, [env.get("LSAN_OPTIONS"), "suppressions=" + supp]))
        env["ASAN_OPTIONS"] = ":".join(
            filter(None, [env.get("ASAN_OPTIONS"),
                          "fast_unwind_on_malloc=0"]))
    if extra:
        env.update(extra)
    return env


class Xbtd:
    """One running xbtd. Use start()/stop() or a with block."""

    def __init__(self, args=(), password=None, env=None):
        self.args = list(args)
        self.password = password or ROOT_PASSWORD
        self.env = clean_env(env)
        self.proc = None
        self.port = None
        self.tmpdir = None
        self.session = None
        self.exit_status = None

    # ---- life cycle ---------------------------------------------------

    def start(self, login=True):
        if not os.access(XBTD, os.X_OK):
            raise XbtdError("no xbtd at %s (build it first)" % XBTD)
        self.tmpdir = tempfile.mkdtemp(prefix="xbtd-test-")
        last = None
        # A port picked free can be taken before xbtd binds it: retry.
        for _attempt in range(3):
            try:
                self._spawn(free_port())
                break
            except XbtdError as e:
                last = e
                if "in use" not in str(e).lower():
                    raise
        else:
            raise last
        if login:
            self.session = self.login()
        return self

    def _spawn(self, port):
        self.port = port
        self.stdout_path = os.path.join(self.tmpdir, "stdout")
        self.stderr_path = os.path.join(self.tmpdir, "stderr")
        argv = [XBTD, "--listen", "127.0.0.1:%d" % port] + self.args
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, cwd=self.tmpdir,
                                         stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err,
                                         env=self.env)
        want = "xbtd listening on 127.0.0.1:%d" % port
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if want in self.stdout().splitlines():
                return
            if self.proc.poll() is not None:
                raise XbtdError("xbtd exited with %d before listening: %s"
                                % (self.proc.returncode, self.stderr()))
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        raise XbtdError("xbtd did not print %r within %.0f s; stdout %r "
                        "stderr %r" % (want, START_TIMEOUT, self.stdout(),
                                       self.stderr()))

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def terminate(self):
        """SIGTERM and wait: (exit status, seconds it took to exit)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise XbtdError("xbtd ignored SIGTERM for %.0f s" % STOP_TIMEOUT)
        return self.exit_status, time.monotonic() - t0

    def stop(self, testcase=None):
        """Stops xbtd and checks a clean exit; raises (or fails testcase)."""
        if self.proc is None:
            return
        problems = []
        if self.proc.poll() is None:
            try:
                self.terminate()
            except XbtdError as e:
                problems.append(str(e))
        elif self.exit_status is None:
            problems.append("xbtd died early with status %d"
                            % self.proc.returncode)
        status = self.proc.returncode
        err = self.stderr()
        if status != 0:
            problems.append("exit status %d, want 0" % status)
        for mark in SANITIZER_MARKS:
            if mark in err:
                problems.append("stderr has %r" % mark)
        self.proc = None
        if problems:
            msg = "xbtd: %s\n--- stderr ---\n%s" % ("; ".join(problems),
                                                    err[-8000:])
            if testcase is not None:
                testcase.fail(msg)
            raise XbtdError(msg)
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- talking to it ------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def proxy(self):
        """A fresh xmlrpc.client proxy (keep-alive connection of its own)."""
        return xmlrpc.client.ServerProxy(self.url, allow_none=False)

    def call(self, method, *params):
        """The raw response struct of one call."""
        return getattr(self.proxy(), method)(*params)

    def login(self, user="root", password=None):
        r = self.call("session.login_with_password", user,
                      password if password is not None else self.password,
                      "1.0", "xbt-tests")
        if r.get("Status") != "Success":
            raise XbtdError("login failed: %r" % (r,))
        return r["Value"]

    def connection(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)


def post(conn, body, path="/", headers=None):
    """POSTs raw bytes on a keep-alive connection: (status, headers, body)."""
    h = {"Content-Type": "text/xml"}
    if headers:
        h.update(headers)
    conn.request("POST", path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    return r.status, r, data


def call_xml(method, *params):
    """The request bytes of one XML-RPC call."""
    return xmlrpc.client.dumps(tuple(params), methodname=method,
                               encoding="utf-8").encode("utf-8")


def parse_response(data):
    """The one value of a methodResponse (raises on a <fault> or bad XML)."""
    params, _method = xmlrpc.client.loads(data)
    if len(params) != 1:
        raise AssertionError("methodResponse has %d params" % len(params))
    return params[0]


class XbtdTestCase(unittest.TestCase):
    """A test class sharing one xbtd (started in setUpClass)."""

    xbtd_args = ()
    xbtd = None

    @classmethod
    def setUpClass(cls):
        cls.xbtd = Xbtd(cls.xbtd_args).start()
        cls.session = cls.xbtd.session
        cls.server = cls.xbtd.proxy()

    @classmethod
    def tearDownClass(cls):
        if cls.xbtd is not None:
            cls.xbtd.stop()
            cls.xbtd = None

    def rpc(self, method, *params):
        return getattr(self.server, method)(*params)

    def ok(self, method, *params):
        """Calls method; asserts Success and returns Value."""
        r = self.rpc(method, *params)
        self.assertIsInstance(r, dict, "%s: response not a struct" % method)
        self.assertEqual(r.get("Status"), "Success",
                         "%s%r: %r" % (method, params, r))
        self.assertEqual(sorted(r), ["Status", "Value"], method)
        return r["Value"]

    def failure(self, method, *params):
        """Calls method; asserts Failure and returns ErrorDescription."""
        r = self.rpc(method, *params)
        self.assertIsInstance(r, dict, "%s: response not a struct" % method)
        self.assertEqual(r.get("Status"), "Failure",
                         "%s%r: %r" % (method, params, r))
        self.assertEqual(sorted(r), ["ErrorDescription", "Status"], method)
        ed = r["ErrorDescription"]
        self.assertIsInstance(ed, list)
        self.assertTrue(ed, "empty ErrorDescription")
        for item in ed:
            self.assertIsInstance(item, str, "ErrorDescription %r" % ed)
        return ed


# ---- the runner ------------------------------------------------------------

class _Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def run(module_name="__main__"):
    """Runs the module's tests; prints 'N passed, N failed'; exits."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module_name])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=_Result)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + \
        len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    line = "%d passed, %d failed" % (result.passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    print(line)
    sys.stdout.flush()
    if failed:
        sys.exit(1)
    if skipped and not result.passed:
        sys.exit(77)
    sys.exit(0)
