# SPDX-License-Identifier: BSD-2-Clause
"""The one harness of the Python tests: servers from the build tree,
clients, and the result reporter.

- Server: a program that prints a line once it serves (xbtd, http_echo).
  It runs in a temporary directory with stdout and stderr in files; stop()
  sends SIGTERM and fails (ServerError) unless it exited with status 0 and
  nothing in stderr is a sanitizer report.
- Xbtd: server/xbtd on ADDR:PORT (default 127.0.0.1, a port xbtd picks),
  logged in as root; Hosts: N of them on 127.0.0.1, 127.0.0.2, ... sharing
  one port, the way the hosts of a pool share xapi's port.
- Opsd: server/xbt-opsd on a Unix-domain socket, and its client (XmlRpc
  over UnixTransport).
- Clients: xmlrpc.client proxies and the raw response struct (Xbtd.call,
  XbtdTestCase.ok/failure); XmlRpc and JsonRpc, which return Value or raise
  XenAPIError; raw HTTP: post() on an http.client connection, and
  RawClient, a keep-alive socket read by hand.
- run() runs a module's unittest classes in the order they are written;
  report() prints the summary line "N passed, N failed" (", N skipped"
  when some were) and exits 1 on failure, 77 (automake's SKIP) when
  everything was skipped.
"""

import glob
import http.client
import importlib.util
import inspect
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("XBT_SRCDIR") or os.path.dirname(HERE)
BUILDDIR = os.environ.get("XBT_BUILDDIR") or SRCDIR
XBTD = os.path.join(BUILDDIR, "server", "xbtd")
OPSD = os.path.join(BUILDDIR, "server", "xbt-opsd")

ROOT_PASSWORD = "xbt"
# Sanitizer builds start slowly; a healthy server answers long before this.
START_TIMEOUT = float(os.environ.get("XBT_START_TIMEOUT", "30"))
STOP_TIMEOUT = 20.0
# ThreadSanitizer's reports begin "WARNING: ThreadSanitizer: data race" (or
# lock-order-inversion, ...); its fatal errors say "ThreadSanitizer" too.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error",
                   "ThreadSanitizer")
# A TSan build's options when a test runs by hand (make check sets them in
# AM_TESTS_ENVIRONMENT): the suppressions of uninstrumented libraries only
# (tests/tsan.supp), and a report ends the program with status 66.
if "TSAN_OPTIONS" not in os.environ:
    os.environ["TSAN_OPTIONS"] = (
        "suppressions=%s halt_on_error=1 exitcode=66 second_deadlock_stack=1"
        % os.path.join(SRCDIR, "tests", "tsan.supp"))


class ServerError(AssertionError):
    """A server did not start, or did not stop cleanly. An AssertionError,
    so that unittest counts it as the test's failure."""


def clean_env(extra=None):
    """The environment for a server: without XBT_PASSWORD (it changes
    root's password)."""
    env = dict(os.environ)
    env.pop("XBT_PASSWORD", None)
    if extra:
        env.update(extra)
    return env


def sanitizer_reports(text):
    """The sanitizer marks found in a program's stderr."""
    return [mark for mark in SANITIZER_MARKS if mark in text]


def run_program(argv, timeout=20, env=None):
    """Runs a program to completion (option and start-up tests):
    (status, stdout, stderr)."""
    p = subprocess.run(list(argv), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def run_xbtd(args, timeout=20, env=None):
    return run_program([XBTD] + list(args), timeout, env)


def free_port(addresses=("127.0.0.1",)):
    """A port that was free on every address a moment ago (the caller
    retries when something takes it first)."""
    for _attempt in range(50):
        socks = []
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((addresses[0], 0))
            port = s.getsockname()[1]
            for addr in addresses[1:]:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise ServerError("no port free on all of %s" % (addresses,))


# ---- servers ----------------------------------------------------------------

class Server:
    """One program from the build tree that prints a line matching ready
    (with a group "port" when it serves on TCP) once it serves.
    start()/stop() or a with block; kill() for tests of a server's death."""

    name = "server"

    def __init__(self, argv, ready, env=None):
        self.argv = list(argv)
        self.ready = re.compile(ready)
        self.env = clean_env(env)
        self.proc = None
        self.port = None
        self.tmpdir = None
        self.sigterm_at = None
        self.killed = None
        self.result = None

    def start(self):
        if not os.access(self.argv[0], os.X_OK):
            raise ServerError("no %s (build it first)" % self.argv[0])
        self.tmpdir = tempfile.mkdtemp(prefix="xbt-%s-" % self.name)
        self.stdout_path = os.path.join(self.tmpdir, "stdout")
        self.stderr_path = os.path.join(self.tmpdir, "stderr")
        self.sigterm_at = self.killed = self.result = None
        argv = self.argv + self.more_args()
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, cwd=self.tmpdir,
                                         stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err,
                                         env=self.env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.stdout().splitlines():
                m = self.ready.fullmatch(line)
                if m:
                    if "port" in self.ready.groupindex:
                        self.port = int(m.group("port"))
                    return self
            if self.proc.poll() is not None:
                self._abandon("%s exited with %d before listening: %s"
                              % (self.name, self.proc.returncode,
                                 self.stderr()[-4000:]))
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        self._abandon("%s did not print %r within %.0f s; stdout %r stderr %r"
                      % (self.name, self.ready.pattern, START_TIMEOUT,
                         self.stdout(), self.stderr()[-4000:]))

    def more_args(self):
        """Arguments that need the server's directory (self.tmpdir)."""
        return []

    def _abandon(self, why):
        self.proc = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        raise ServerError(why)

    def describe(self):
        return "%s on port %s" % (self.name, self.port)

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self):
        """Sends SIGTERM (once) without waiting; stop() waits and checks."""
        if self.sigterm_at is None:
            self.sigterm_at = time.monotonic()
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        """SIGTERM, wait, check: (seconds from SIGTERM to exit, stderr).
        ServerError unless it exited with status 0 and no sanitizer report;
        an exit before any SIGTERM is an error too. Stopping again returns
        the first result."""
        if self.proc is None:
            return self.result
        problems = []
        if self.proc.poll() is not None and self.sigterm_at is None and \
                self.killed is None:
            problems.append("died early with status %d"
                            % self.proc.returncode)
        self.terminate()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            problems.append("ignored SIGTERM for %.0f s" % STOP_TIMEOUT)
        took = time.monotonic() - self.sigterm_at
        status = self.proc.returncode
        err = self.stderr()
        if status != 0 and self.killed is None:
            problems.append("exit status %d, want 0" % status)
        problems += ["stderr has %r" % mark for mark in sanitizer_reports(err)]
        self.proc = None
        self.result = (took, err)
        if problems:
            raise ServerError("%s: %s (files kept in %s)\n--- stderr ---\n%s"
                              % (self.describe(), "; ".join(problems),
                                 self.tmpdir, err[-8000:]))
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        return self.result

    def kill(self):
        """SIGKILL and wait, for tests of what a server's death does;
        returns the exit status. stop() then takes that exit as expected
        and checks the rest (no sanitizer report), and removes the files."""
        self.proc.kill()
        self.killed = self.proc.wait()
        return self.killed

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Xbtd(Server):
    """server/xbtd on address:port (port 0: xbtd picks one and says which).
    start() logs in as root: session, and api (an XmlRpc) with it."""

    name = "xbtd"

    def __init__(self, args=(), password=None, env=None, address="127.0.0.1",
                 port=0):
        self.address = address
        self.password = password or ROOT_PASSWORD
        self.session = None
        self.api = None
        super().__init__(
            [XBTD, "--listen", "%s:%d" % (address, port)] + list(args),
            r"xbtd listening on %s:(?P<port>%s)" % (
                re.escape(address), port or r"\d+"), env)

    def more_args(self):
        # Each xbtd its own state directory (its pool role) and its own
        # xbt-opsd, in the server's directory: xbtd would adopt the opsd of
        # a directory another test's xbtd runs.
        more = []
        self.opsd_dir = None
        self.state_dir = None
        if "--state-dir" not in self.argv:
            self.state_dir = os.path.join(self.tmpdir, "state")
            more += ["--state-dir", self.state_dir]
        if not any(a in ("--opsd-dir", "--opsd-socket") for a in self.argv):
            self.opsd_dir = os.path.join(self.tmpdir, "opsd")
            more += ["--opsd-dir", self.opsd_dir]
        return more

    def stop(self):
        """Server.stop(), then the end of the xbt-opsd of the server's own
        --opsd-dir if it outlived xbtd: it does when xbtd was killed (it
        runs in a session of its own, to be adopted), and nothing would
        stop it; after a clean stop it is an error (xbtd stops the opsd it
        started)."""
        clean = self.proc is not None and self.killed is None and \
            self.proc.poll() is None
        try:
            return super().stop()
        finally:
            left = stop_opsd_of(getattr(self, "opsd_dir", None))
            if left and clean:
                raise ServerError("%s: its xbt-opsd %r outlived a clean stop"
                                  % (self.describe(), left))

    def start(self, login=True):
        super().start()
        if login:
            self.session = self.login()
            self.api = self.client()
        return self

    def describe(self):
        return "xbtd at %s:%s" % (self.address, self.port)

    @property
    def url(self):
        return "http://%s:%d/" % (self.address, self.port)

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
            raise ServerError("login failed: %r" % (r,))
        return r["Value"]

    def client(self, session=None):
        """An XmlRpc on this server with session (default: start()'s)."""
        return XmlRpc(self.url, session or self.session)

    def connection(self, timeout=10):
        return http.client.HTTPConnection(self.address, self.port,
                                          timeout=timeout)


class Opsd(Server):
    """server/xbt-opsd serving on the Unix-domain socket path (its
    "xbt-opsd listening on PATH" line); client() talks to it."""

    name = "opsd"

    def __init__(self, path, args=(), env=None):
        self.path = path
        super().__init__([OPSD, "--socket", path] + list(args),
                         r"xbt-opsd listening on %s" % re.escape(path), env)

    def more_args(self):
        if "--state-dir" in self.argv:
            return []
        self.state_dir = os.path.join(self.tmpdir, "state")
        return ["--state-dir", self.state_dir]

    def describe(self):
        return "xbt-opsd on %s" % self.path

    def client(self):
        return opsd_client(self.path)


# ---- /proc: the tests' view of processes ----------------------------------

def raise_nofile():
    """Raises this process's RLIMIT_NOFILE (and so that of the servers it
    starts) to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fd_count(pid):
    """pid's open descriptors, or None when it is gone."""
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def rss_threads(pid):
    """(VmRSS in KiB, Threads) of pid."""
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def thread_count(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line for %d" % pid)


def cpu_ns(pid):
    """CPU time of every thread of pid so far, in ns (schedstat)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def _stat_fields(pid):
    """The fields of /proc/PID/stat after "pid (comm)" (comm may hold
    spaces and parens), or None when the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def process_state(pid):
    """The state letter of pid, or None when it is gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def ppid_of(pid):
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def children(pid):
    return [int(p) for p in os.listdir("/proc")
            if p.isdigit() and ppid_of(int(p)) == pid]


def zombie_children(pid):
    """pids of zombie processes whose parent is pid."""
    return [p for p in children(pid) if process_state(p) == "Z"]


def opsd_children(pid):
    """The children of pid that are xbt-opsd (or its sweeper)."""
    return [p for p in children(pid)
            if any("xbt-opsd" in a for a in cmdline(p)[:1])]


def proc_comm(pid):
    """A process's name (/proc/PID/comm), or None when it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().rstrip("\n")
    except OSError:
        return None


def opsd_pids(state_dir):
    """The live xbt-opsd processes on state_dir (not their sweepers,
    forks named xbt-opsd-sweep)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if proc_comm(pid) == "xbt-opsd" and state_dir in argv and \
                process_state(pid) not in (None, "Z"):
            pids.append(pid)
    return pids


def stop_opsd_of(state_dir):
    """SIGTERMs the xbt-opsd still serving on state_dir (SIGKILL after
    STOP_TIMEOUT) and waits for its end, reaping it when it came to this
    process (a subreaper); returns the pids it found."""
    if not state_dir:
        return []
    pids = opsd_pids(state_dir)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + STOP_TIMEOUT
        while process_state(pid) not in (None, "Z"):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.02)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return pids


def stop_all(servers):
    """Stops every server; one ServerError naming all that failed."""
    problems = []
    for srv in servers:
        try:
            if srv is not None:
                srv.stop()
        except ServerError as e:
            problems.append(str(e))
    if problems:
        raise ServerError("\n".join(problems))


class Hosts:
    """n xbtd, host i+1 on 127.0.0.(i+1) with --hostname h(i+1), all on one
    port. Linux routes all of 127.0.0.0/8 to lo: nothing to set up. A port
    taken between the pick and the bind is picked again."""

    def __init__(self, n, args=(), **kw):
        self.addresses = ["127.0.0.%d" % (i + 1) for i in range(n)]
        self.args = list(args)
        self.kw = kw
        self.hosts = []
        self.port = None

    def start(self):
        for attempt in range(3):
            self.port = free_port(self.addresses)
            try:
                for i, addr in enumerate(self.addresses):
                    self.hosts.append(Xbtd(
                        ["--hostname", "h%d" % (i + 1)] + self.args,
                        address=addr, port=self.port, **self.kw).start())
                return self
            except ServerError as e:
                self.stop()
                if attempt == 2 or "in use" not in str(e).lower():
                    raise

    def stop(self):
        hosts, self.hosts = self.hosts, []
        stop_all(hosts)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __iter__(self):
        return iter(self.hosts)

    def __getitem__(self, i):
        return self.hosts[i]

    def __len__(self):
        return len(self.hosts)


# ---- clients ----------------------------------------------------------------

class XenAPIError(Exception):
    """A XenAPI failure: desc is [code, params...]."""

    def __init__(self, desc):
        super().__init__(desc)
        self.desc = list(desc)
        self.code = self.desc[0] if self.desc else ""
        self.params = self.desc[1:]


def fails(fn, *args):
    """The ErrorDescription of fn(*args), which must raise XenAPIError."""
    try:
        v = fn(*args)
    except XenAPIError as e:
        return e.desc
    raise AssertionError("%r succeeded with %r" % (args[:3], v))


class XmlRpc:
    """XenAPI over XML-RPC: Value, or XenAPIError. One per thread (a
    ServerProxy is one connection)."""

    def __init__(self, url, session=None, transport=None):
        self.proxy = xmlrpc.client.ServerProxy(url, allow_none=True,
                                               transport=transport)
        self.session = session

    def raw(self, method, *params):
        """A call without the session."""
        r = getattr(self.proxy, method)(*params)
        if r.get("Status") != "Success":
            raise XenAPIError(r.get("ErrorDescription", ["?"]))
        return r["Value"]

    def login(self, user="root", password=ROOT_PASSWORD):
        self.session = self.raw("session.login_with_password", user,
                                password, "1.0", "xbt-tests")
        return self.session

    def __call__(self, method, *params):
        return self.raw(method, self.session, *params)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP on a Unix-domain socket (xbt-opsd's)."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class UnixTransport(xmlrpc.client.Transport):
    """xmlrpc.client over UnixHTTPConnection, one kept connection."""

    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        if self._connection[1] is None:
            self._connection = host, UnixHTTPConnection(self.unix_path)
        return self._connection[1]


def opsd_client(path):
    """An XmlRpc on xbt-opsd's socket: opsd has no sessions, so call
    raw("TASK.list", dbg)."""
    return XmlRpc("http://xbt-opsd/", transport=UnixTransport(path))


class JsonRpc:
    """XenAPI over JSON-RPC on /jsonrpc (v2 by default)."""

    def __init__(self, url, session=None, v2=True):
        self.url = url.rstrip("/") + "/jsonrpc"
        self.session = session
        self.v2 = v2
        self.next_id = 1

    def post(self, body):
        """Sends a raw body; returns (status, content-type, decoded JSON)."""
        req = urllib.request.Request(
            self.url, data=body.encode() if isinstance(body, str) else body,
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return (r.status, r.headers.get("Content-Type"),
                    json.loads(r.read()))

    def request(self, method, params, v2=None):
        v2 = self.v2 if v2 is None else v2
        req = {"method": method, "params": params, "id": self.next_id}
        self.next_id += 1
        if v2:
            req["jsonrpc"] = "2.0"
        return self.post(json.dumps(req))[2]

    def raw(self, method, *params):
        r = self.request(method, list(params))
        err = r.get("error")
        if err:
            if isinstance(err, dict):
                raise XenAPIError([err["message"]] +
                                  list(err.get("data") or []))
            raise XenAPIError(err)
        return r["result"]

    def __call__(self, method, *params):
        return self.raw(method, self.session, *params)


# ---- raw HTTP ---------------------------------------------------------------

def post(conn, body, path="/", headers=None):
    """POSTs raw bytes on a keep-alive connection: (status, response, body)."""
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


def http_request(proto, method, params):
    """The bytes of one HTTP/1.1 call; proto "xmlrpc" or "jsonrpc"."""
    if proto == "xmlrpc":
        body = xmlrpc.client.dumps(tuple(params), methodname=method).encode()
        path, ctype = "/", "text/xml"
    else:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1,
                           "params": list(params)}).encode()
        path, ctype = "/jsonrpc", "application/json"
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (path, ctype, len(body)))
    return head.encode() + body


def decode(proto, body):
    """The XenAPI value of a successful response body."""
    if proto == "xmlrpc":
        r = parse_response(body)
        assert r["Status"] == "Success", r
        return r["Value"]
    r = json.loads(body)
    assert "result" in r, r
    return r["result"]


SO_TIMESTAMPNS = 35  # Linux; SCM_TIMESTAMPNS has the same value


class RawClient:
    """A keep-alive connection read by hand (many waiting connections
    without a thread each), with the kernel's receive timestamp of the last
    piece of each response (SO_TIMESTAMPNS)."""

    def __init__(self, port, address="127.0.0.1"):
        self.sock = socket.create_connection((address, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.reset()

    def reset(self):
        self.buf = b""
        self.need = None
        self.kernel_ts = None
        self.user_ts = None

    def feed(self):
        """Reads what is there; True when a whole response is in."""
        data, anc, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(16))
        if not data:
            raise RuntimeError("server closed the connection")
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", raw[:16])
                self.kernel_ts = sec + nsec / 1e9
        self.buf += data
        if self.need is None and b"\r\n\r\n" in self.buf:
            head, _, _ = self.buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?i)content-length:\s*(\d+)", head)
            self.need = len(head) + 4 + int(m.group(1))
        done = self.need is not None and len(self.buf) >= self.need
        if done:
            self.user_ts = time.time()
        return done

    def body(self):
        return self.buf[self.buf.index(b"\r\n\r\n") + 4:self.need]

    def read_response(self, timeout):
        """Blocks for one whole response; returns its body."""
        self.sock.settimeout(timeout)
        try:
            while not self.feed():
                pass
        finally:
            self.sock.settimeout(None)
        return self.body()


# ---- upstream XenAPI.py ------------------------------------------------------
# Debian's python3-os-xenapi ships a copy of XenAPI.py. The package is
# downloaded and unpacked (dpkg -x, never installed: it pulls in heavy
# dependencies we do not need) into the build tree once; the file is then
# imported by path (test_xenapi_py.py) or put on a client's PYTHONPATH
# (test_ansible.py). It needs only the standard library.

XENAPI_PACKAGE = "python3-os-xenapi"
XENAPI_UNPACKED = os.path.join(BUILDDIR, "tests", "xenapi-py")
XENAPI_PY = os.path.join(XENAPI_UNPACKED, "usr", "lib", "python3",
                         "dist-packages", "os_xenapi", "client", "XenAPI.py")


def fetch_xenapi_py():
    """Path of XenAPI.py, unpacking the package if needed; or raises
    unittest.SkipTest with the reason."""
    if os.path.isfile(XENAPI_PY):
        return XENAPI_PY
    os.makedirs(os.path.dirname(XENAPI_UNPACKED), exist_ok=True)
    for tool in ("apt-get", "dpkg"):
        if not shutil.which(tool):
            raise unittest.SkipTest("%s not available to fetch %s"
                                    % (tool, XENAPI_PACKAGE))
    tmp = tempfile.mkdtemp(prefix="xenapi-py-")
    try:
        # apt's sandbox user must be able to write the download directory.
        os.chmod(tmp, 0o777)
        p = subprocess.run(["apt-get", "download", XENAPI_PACKAGE], cwd=tmp,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        debs = glob.glob(os.path.join(tmp, "*.deb"))
        if p.returncode != 0 or not debs:
            raise unittest.SkipTest(
                "cannot download %s (apt-get download exited %d: %s); "
                "'apt-get update' may help"
                % (XENAPI_PACKAGE, p.returncode,
                   p.stdout.decode("utf-8", "replace").strip()[-300:]))
        staging = tempfile.mkdtemp(prefix="xenapi-py-x-",
                                   dir=os.path.dirname(XENAPI_UNPACKED))
        p = subprocess.run(["dpkg", "-x", debs[0], staging],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            shutil.rmtree(staging, True)
            raise unittest.SkipTest("dpkg -x %s failed: %s"
                                    % (os.path.basename(debs[0]),
                                       p.stdout.decode()[-300:]))
        # Atomic: parallel test runs never see a half-unpacked tree.
        try:
            os.rename(staging, XENAPI_UNPACKED)
        except OSError:
            shutil.rmtree(staging, True)
    except subprocess.TimeoutExpired:
        raise unittest.SkipTest("apt-get download %s timed out"
                                % XENAPI_PACKAGE)
    finally:
        shutil.rmtree(tmp, True)
    if not os.path.isfile(XENAPI_PY):
        raise unittest.SkipTest("%s has no XenAPI.py at the expected path"
                                % XENAPI_PACKAGE)
    return XENAPI_PY


def import_xenapi(path=None):
    """Upstream XenAPI.py as a module (path: fetch_xenapi_py()'s)."""
    path = path or fetch_xenapi_py()
    spec = importlib.util.spec_from_file_location("XenAPI", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except ImportError as e:
        raise unittest.SkipTest("XenAPI.py needs a module we lack: %s" % e)
    return mod


# ---- test cases -------------------------------------------------------------

class XbtdTestCase(unittest.TestCase):
    """A test class sharing one xbtd (started in setUpClass, stopped and
    checked in tearDownClass)."""

    xbtd_args = ()
    xbtd_env = None
    xbtd = None

    @classmethod
    def setUpClass(cls):
        cls.xbtd = Xbtd(cls.xbtd_args, env=cls.xbtd_env).start()
        cls.session = cls.xbtd.session
        cls.server = cls.xbtd.proxy()

    @classmethod
    def tearDownClass(cls):
        if cls.xbtd is not None:
            x, cls.xbtd = cls.xbtd, None
            x.stop()

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


class WorldTestCase(XbtdTestCase):
    """An XbtdTestCase whose xbtd loads world_text, written to a --world
    file in a temporary directory (removed at the end), after the
    options in world_args."""

    world_text = ""
    world_args = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-world-")
        cls.world = os.path.join(cls.tmp, "world.xml")
        with open(cls.world, "w") as f:
            f.write(cls.world_text)
        cls.xbtd_args = tuple(cls.world_args) + ("--world", cls.world)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)


# ---- the runner and the reporter --------------------------------------------

def _line(obj):
    try:
        return inspect.getsourcelines(inspect.unwrap(obj))[1]
    except (OSError, TypeError):
        return 0


def load(module):
    """The module's TestCase classes in the order they are written, each
    with its tests in the order they are written: a file reads top down."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, unittest.TestCase)
               and c.__module__ == module.__name__]
    for cls in sorted(classes, key=_line):
        names = sorted(loader.getTestCaseNames(cls),
                       key=lambda n: _line(getattr(cls, n)))
        suite.addTests(cls(n) for n in names)
    return suite


class _Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1


def run_node(script, env, label, timeout=300):
    """Runs tests/<script> under node with env: (passed, failed, its
    output). The script's own "N passed, N failed" line is counted and
    renamed "<label>: N passed, N failed" (one summary line per log);
    a script that times out or prints none counts one failure."""
    try:
        p = subprocess.run(["node", os.path.join(HERE, script)],
                           capture_output=True, text=True, env=env,
                           timeout=timeout)
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        out += "\nFAIL node timed out\n"
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    passed, failed = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
    out = re.sub(r"^(\d+) passed, (\d+) failed$",
                 label + r": \1 passed, \2 failed", out, flags=re.M)
    return passed, failed, out


def report(passed, failed, skipped=0):
    """Prints the summary line and exits: 1 when something failed or
    nothing ran, 77 when everything was skipped, else 0."""
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    print(line)
    sys.stdout.flush()
    if failed or not (passed or skipped):
        sys.exit(1)
    sys.exit(77 if skipped and not passed else 0)


def run(module_name="__main__"):
    """Runs the module's tests (see load()) and report()s."""
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=_Result)
    result = runner.run(load(sys.modules[module_name]))
    # A test counts once however many of its subtests failed; a failed
    # setUpClass or tearDownClass counts as one more.
    failed = {getattr(t, "test_case", t).id()
              for t, _ in result.failures + result.errors}
    failed |= {t.id() for t in result.unexpectedSuccesses}
    report(result.passed, len(failed), len(result.skipped))
