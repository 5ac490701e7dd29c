#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Pools I (issue 14, doc/pools.md) end to end: several xbtd on 127.0.0.x
sharing one port, each with a --state-dir of the test's own (kept across
restarts), heartbeats every second and slaves dead after 3 s.

- JoinRefused: every refusal of pool.join, with its exact code and params,
  in xapi's order, and the joiner still standalone afterwards (login, its
  world, no slave role on disk); Async.pool.join's failed task.
- Join: a host joins; the slave refuses logins and user sessions
  (HOST_IS_SLAVE), serves local and pool sessions, keeps no world; the
  master's records (host, host_metrics) and both state directories; the
  pool secret, pool sessions and the intra-pool messages; joins refused
  because of the pool (a master of others, a slave as master, a name a live
  member has); eject refusals; XenAPI.py on the master and the slave; eject
  of a live slave, which comes back standalone with its world, and rejoins.
- Liveness: a SIGKILLed slave goes not live and disabled after
  --host-dead-after, and live again when restarted on its state directory;
  a restarted master knows its members and keeps them live; a slave
  ejected while down is in emergency mode (HOST_UNKNOWN_TO_MASTER) until
  pool.emergency_transition_to_master; that call with a pool session made
  with the secret turns a live slave into a standalone master.
- PoolWorld: a master whose world declares hosts, a shared SR, an SR on a
  declared host and a VM with affinity; a declared host joins (with
  Async.pool.join) and takes its record; an undeclared one gets a new
  record and a PBD of the shared SR; eject drops hosts and their PBDs.
- XenOrchestra: the `xen-api` npm client pointed at a slave
  (test_xo_pool.js): it follows HOST_IS_SLAVE to the master and sees the
  pool, a task, and the slave's death through its event loop. Skipped, and
  only it, when npm cannot install xen-api.

Every daemon is stopped by the fixture (exit status 0, no sanitizer report
in its stderr); killed ones are SIGKILLed by pid.
"""

import calendar
import http.server
import json
import os
import queue
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
import test_xenapi_py as txp  # noqa: E402

HEARTBEAT = 1
DEAD_AFTER = 3
POOL_ARGS = ["--heartbeat", str(HEARTBEAT), "--host-dead-after",
             str(DEAD_AFTER)]
MASTER = "127.0.0.1"
NOBODY = "127.0.0.9"  # nothing listens there, on any port the tests pick
PW = fx.ROOT_PASSWORD
SECRET = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{12}(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{4}-[0-9a-f]{12}){2}")
# A restart in a new role comes 1 s after the answer (3 s after an Async
# join); the restarted image prints its "listening" line again.
RESTART_TIMEOUT = fx.START_TIMEOUT + 10
LISTENING = re.compile(r"^xbtd listening on ", re.M)


# ---- helpers ----------------------------------------------------------------

def eventually(fn, want, timeout, step=0.05):
    """Polls fn() until it returns want; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(step)


def datetime_seconds(dt):
    """Seconds since the epoch of an xmlrpc DateTime (UTC)."""
    return calendar.timegm(time.strptime(dt.value, "%Y%m%dT%H:%M:%SZ"))


def world_file(directory, name, body):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write('<?xml version="1.0"?>\n<world>\n%s</world>\n' % body)
    return path


def read(path):
    with open(path) as f:
        return f.read()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Pool:
    """xbtd hosts on 127.0.0.x, one port for all (picked free on every
    address the case will use, NOBODY included), each with a state
    directory under one temporary directory that outlives the daemons, so
    that a host restarted on it keeps its role. A host is named by its
    --hostname; a second one with the same name (a duplicate) gets a key of
    its own."""

    def __init__(self, addresses):
        self.addresses = list(addresses)
        self.dir = tempfile.mkdtemp(prefix="xbt-pools-")
        self.port = None
        self.hosts = []

    def start(self, specs):
        """specs: (name, address, extra args); starts them all."""
        for attempt in range(3):
            self.port = fx.free_port(self.addresses + [NOBODY])
            try:
                return [self.add(*spec) for spec in specs]
            except fx.ServerError as e:
                self.stop_hosts()
                if attempt == 2 or "in use" not in str(e).lower():
                    raise

    def add(self, name, address, extra=(), key=None):
        """Starts one more host, logged in as root unless its state
        directory says it is a slave."""
        state = os.path.join(self.dir, key or name)
        conf = os.path.join(state, "pool.conf")
        slave = os.path.exists(conf) and read(conf).startswith("slave:")
        x = fx.Xbtd(["--hostname", name, "--state-dir", state] + POOL_ARGS +
                    list(extra), address=address, port=self.port)
        x.name, x.state, x.key = name, state, key
        x.start(login=not slave)
        self.hosts.append(x)
        return x

    def restart(self, x):
        """Stops x (unless killed already) and starts it again on its
        state directory with the same arguments: a new Xbtd."""
        x.stop()
        self.hosts.remove(x)
        # What add() put before them; Xbtd's own --opsd-dir is not in argv
        # (a new one in its new directory).
        extra = x.argv[x.argv.index("--host-dead-after") + 2:]
        return self.add(x.name, x.address, extra, x.key)

    def stop_hosts(self):
        # Slaves first: a master gone makes their heartbeats fail.
        hosts, self.hosts = self.hosts, []
        hosts.sort(key=lambda x: x.address == MASTER)
        fx.stop_all(hosts)

    def stop(self):
        try:
            self.stop_hosts()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def restarts(x):
    """How many times x has said it listens (1 + its role restarts)."""
    return len(LISTENING.findall(x.stdout()))


def wait_restart(x, before):
    """Waits for x to print its "listening" line once more than before."""
    got = eventually(lambda: restarts(x), before + 1, RESTART_TIMEOUT)
    if got != before + 1:
        raise AssertionError("%s did not restart (%d listening lines, "
                             "want %d); stderr:\n%s"
                             % (x.describe(), got, before + 1,
                                x.stderr()[-3000:]))


def login_outcome(x, password=PW):
    """A login's result on x: "ok" or its ErrorDescription."""
    r = x.call("session.login_with_password", "root", password, "1.0",
               "test_pools")
    if r["Status"] == "Success":
        x.call("session.logout", r["Value"])
        return "ok"
    return r["ErrorDescription"]


def relogin(x):
    """x's session and api anew (after a restart as a standalone master)."""
    x.session = x.login()
    x.api = x.client()


def join(x, master):
    """x joins master's pool and restarts as a slave; the join's result,
    once the master takes x as live (its hello: a slow restart may take
    longer than DEAD_AFTER, and the master then waits for it)."""
    before = restarts(x)
    result = x.api("pool.join", master.address, "root", PW)
    wait_restart(x, before)
    x.session = x.api = None  # its sessions went with the restart
    wait_live(master, x.name)
    return result


def wait_live(master, name):
    if eventually(lambda: live(master, name), True, 20, 0.05) is not True:
        raise AssertionError("%s never live on the master" % name)


def eject(master, x):
    """master ejects x, a live slave: it restarts as a standalone master."""
    before = restarts(x)
    result = master.api("pool.eject", host_ref(master, x.name))
    wait_restart(x, before)
    relogin(x)
    return result


def host_ref(master, name):
    refs = [r for r, h in master.api("host.get_all_records").items()
            if h["name_label"] == name]
    assert len(refs) == 1, (name, refs)
    return refs[0]


def local_session(x):
    """An XmlRpc on x with a local session (slave_local_login)."""
    c = fx.XmlRpc(x.url)
    c.session = c.raw("session.slave_local_login_with_password", "root", PW)
    return c


def pool_session(x, host, secret):
    """An XmlRpc on x with a pool session for host (session.slave_login)."""
    c = fx.XmlRpc(x.url)
    c.session = c.raw("session.slave_login", host, secret)
    return c


def live(master, name):
    return master.api("host_metrics.get_live",
                      master.api("host.get_metrics", host_ref(master, name)))


class StandaloneChecks:
    """Assertions on a host that must be a standalone master."""

    def assert_standalone(self, x, vm="demo-ok"):
        self.assertEqual(login_outcome(x), "ok")
        c = fx.XmlRpc(x.url)
        c.login()
        try:
            self.assertEqual(len(c("VM.get_by_name_label", vm)), 1,
                             "%s lost its world" % x.describe())
            hosts = c("host.get_all")
            self.assertEqual(len(hosts), 1)
            self.assertEqual(c("pool.get_master", c("pool.get_all")[0]),
                             hosts[0])
        finally:
            c("session.logout")
        conf = os.path.join(x.state, "pool.conf")
        if os.path.exists(conf):
            self.assertEqual(read(conf), "master\n")


# ---- fake masters: HTTP that is not a XenAPI server -------------------------

class NotFound(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Garbage(NotFound):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html>not XML-RPC</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeMaster:
    def __init__(self, handler, address, port):
        self.srv = http.server.ThreadingHTTPServer((address, port), handler)
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# ---- join refused -----------------------------------------------------------

class JoinRefused(unittest.TestCase, StandaloneChecks):
    """A master h1, a standalone joiner h2 (demo world), a joiner h3 whose
    world has a shared SR with a VM on it, a joiner h4 whose world declares
    another host; fake masters on .5 and .6. Every refusal leaves them as
    they were."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="xbt-pools-worlds-")
        shared = world_file(cls.dir, "shared.xml", (
            '<sr name="s" type="DEMO" shared="true">\n'
            '  <device_config key="path" value="/srv/demo"/>\n'
            '  <vdi name="s-disk" size="1073741824"/>\n'
            '</sr>\n'
            '<vm name="on-shared"><vbd vdi="s-disk" device="xvda"/></vm>\n'))
        others = world_file(cls.dir, "others.xml", (
            '<host name="hx"/>\n'
            '<vm name="lonely"/>\n'))
        cls.pool = Pool(["127.0.0.%d" % i for i in range(1, 7)])
        try:
            cls.master, cls.joiner, cls.shared, cls.others = cls.pool.start([
                ("h1", MASTER, []), ("h2", "127.0.0.2", []),
                ("h3", "127.0.0.3", ["--world", shared]),
                ("h4", "127.0.0.4", ["--world", others])])
        except BaseException:
            cls.pool.stop()
            shutil.rmtree(cls.dir, True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.pool.stop()
        finally:
            shutil.rmtree(cls.dir, True)

    def tearDown(self):
        # Nothing of a refused join shows on the master, and no joiner got
        # the pool's secret.
        self.assertEqual(len(self.master.api("host.get_all")), 1)
        members = os.path.join(self.master.state, "members.json")
        if os.path.exists(members):
            self.assertEqual(json.loads(read(members)), [])
        secret = read(os.path.join(self.master.state, "ptoken"))
        for x in (self.joiner, self.shared, self.others):
            self.assertNotEqual(read(os.path.join(x.state, "ptoken")), secret)

    def refused(self, joiner, address, user="root", password=PW):
        return fx.fails(joiner.api, "pool.join", address, user, password)

    def test_wrong_password_relayed(self):
        self.assertEqual(self.refused(self.joiner, MASTER, "root", "wrong"),
                         ["SESSION_AUTHENTICATION_FAILED", "root",
                          "Authentication failure"])
        self.assertEqual(self.refused(self.joiner, MASTER, "nobody", PW),
                         ["SESSION_AUTHENTICATION_FAILED", "nobody",
                          "Authentication failure"])
        self.assert_standalone(self.joiner)

    def test_nothing_listens(self):
        self.assertEqual(self.refused(self.joiner, NOBODY),
                         ["JOINING_HOST_CONNECTION_FAILED"])
        self.assert_standalone(self.joiner)

    def test_not_a_xenapi_server(self):
        for handler, address in ((NotFound, "127.0.0.5"),
                                 (Garbage, "127.0.0.6")):
            fake = FakeMaster(handler, address, self.pool.port)
            try:
                with self.subTest(handler.__name__):
                    self.assertEqual(self.refused(self.joiner, address),
                                     ["JOINING_HOST_SERVICE_FAILED"])
            finally:
                fake.close()
        self.assert_standalone(self.joiner)

    def test_master_that_holds_the_connection(self):
        """A "master" that accepts and never answers: the join gives up
        with JOINING_HOST_CONNECTION_FAILED after its 10 s call timeout,
        and a second join meanwhile is refused at once."""
        lsock = socket.socket()
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.5", self.pool.port))
        lsock.listen(4)
        held = []
        stop = threading.Event()

        def accept():
            lsock.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(lsock.accept()[0])
                except OSError:
                    pass
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        task = self.joiner.api("Async.pool.join", "127.0.0.5", "root", PW)
        try:
            eventually(lambda: len(held), 1, 10)
            self.assertEqual(
                self.refused(self.joiner, MASTER),
                ["OTHER_OPERATION_IN_PROGRESS", "pool",
                 self.joiner.api("pool.get_all")[0], "join", ""])
            status = eventually(
                lambda: self.joiner.api("task.get_status", task),
                "failure", 20)
            self.assertEqual(status, "failure")
            self.assertEqual(self.joiner.api("task.get_error_info", task),
                             ["JOINING_HOST_CONNECTION_FAILED"])
        finally:
            stop.set()
            t.join()
            for c in held:
                c.close()
            lsock.close()
            self.joiner.api("task.destroy", task)
        self.assert_standalone(self.joiner)

    def test_join_itself(self):
        self.assertEqual(self.refused(self.joiner, self.joiner.address),
                         ["OPERATION_NOT_ALLOWED",
                          "Host cannot become slave of itself"])
        self.assert_standalone(self.joiner)

    def test_running_vm(self):
        vm = self.joiner.api("VM.get_by_name_label", "demo-ok")[0]
        self.joiner.api("VM.start", vm, False, False)
        try:
            self.assertEqual(self.refused(self.joiner, MASTER),
                             ["JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"])
            # xapi logs in to the master before it checks the joiner.
            self.assertEqual(self.refused(self.joiner, NOBODY),
                             ["JOINING_HOST_CONNECTION_FAILED"])
            self.assertEqual(self.refused(self.joiner, MASTER, "root", "x"),
                             ["SESSION_AUTHENTICATION_FAILED", "root",
                              "Authentication failure"])
            self.assertEqual(self.joiner.api("VM.get_power_state", vm),
                             "Running")
        finally:
            self.joiner.api("VM.hard_shutdown", vm)
        self.assert_standalone(self.joiner)

    def test_shared_sr(self):
        self.assertEqual(self.refused(self.shared, MASTER),
                         ["JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS"])
        self.assert_standalone(self.shared, vm="on-shared")

    def test_order_running_vm_before_shared_sr(self):
        vm = self.shared.api("VM.get_by_name_label", "on-shared")[0]
        self.shared.api("VM.start", vm, False, False)
        try:
            self.assertEqual(self.refused(self.shared, MASTER),
                             ["JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"])
            # Joining itself is found before the checks of its objects.
            self.assertEqual(self.refused(self.shared, self.shared.address),
                             ["OPERATION_NOT_ALLOWED",
                              "Host cannot become slave of itself"])
        finally:
            self.shared.api("VM.hard_shutdown", vm)
        self.assert_standalone(self.shared, vm="on-shared")

    def test_world_declares_other_hosts(self):
        self.assertEqual(self.refused(self.others, MASTER),
                         ["JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS"])
        self.assertEqual(login_outcome(self.others), "ok")
        self.assertEqual(len(self.others.api("host.get_all")), 2)
        self.assertEqual(len(self.others.api("VM.get_by_name_label",
                                             "lonely")), 1)

    def test_async_join_refused(self):
        task = self.joiner.api("Async.pool.join", MASTER, "root", "wrong")
        status = eventually(lambda: self.joiner.api("task.get_status", task),
                            "failure", 10)
        self.assertEqual(status, "failure")
        self.assertEqual(self.joiner.api("task.get_error_info", task),
                         ["SESSION_AUTHENTICATION_FAILED", "root",
                          "Authentication failure"])
        self.joiner.api("task.destroy", task)
        time.sleep(3.5)  # past when a successful Async join restarts
        self.assertEqual(restarts(self.joiner), 1)
        self.assert_standalone(self.joiner)


# ---- a join, the slave, the master, eject -----------------------------------

class Join(txp.Walker, unittest.TestCase, StandaloneChecks):
    """h2 joins h1 in setUpClass. h3 stays standalone (it tries to join the
    slave, and the master tries to join it). The tests read top down: the
    last ejects h2 and has it rejoin."""

    @classmethod
    def setUpClass(cls):
        cls.pool = Pool(["127.0.0.%d" % i for i in range(1, 5)])
        try:
            cls.master, cls.slave, cls.other = cls.pool.start([
                ("h1", MASTER, []), ("h2", "127.0.0.2", []),
                ("h3", "127.0.0.3", [])])
            cls.opsd = fx.opsd_pids(cls.slave.opsd_dir)
            cls.join_started = time.time()
            cls.join_result = join(cls.slave, cls.master)
            recs = cls.master.api("host.get_all_records")
            cls.refs = {h["name_label"]: r for r, h in recs.items()}
            cls.uuids = {h["name_label"]: h["uuid"] for h in recs.values()}
        except BaseException:
            cls.pool.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pool.stop()

    def test_join_result(self):
        self.assertEqual(self.join_result, "")
        self.assertEqual(sorted(self.refs), ["h1", "h2"])
        # The same process (the pid the test started), restarted in place
        # (execv), keeping the xbt-opsd it ran (doc/pools.md, "State").
        self.assertTrue(self.slave.alive())
        self.assertEqual(restarts(self.slave), 2)
        self.assertEqual(len(self.opsd), 1)
        self.assertEqual(fx.opsd_pids(self.slave.opsd_dir), self.opsd)

    def test_slave_refuses_logins(self):
        # Before the password is looked at.
        for pw in (PW, "wrong"):
            self.assertEqual(login_outcome(self.slave, pw),
                             ["HOST_IS_SLAVE", MASTER])
        for proto in (fx.XmlRpc, fx.JsonRpc):
            with self.subTest(proto.__name__):
                self.assertEqual(
                    fx.fails(proto(self.slave.url).raw,
                             "session.login_with_password", "root", PW,
                             "1.0", "t"),
                    ["HOST_IS_SLAVE", MASTER])

    def test_user_session_on_slave(self):
        # A session made on the master, and one made nowhere: the slave
        # answers before it looks at the session (doc/pools.md).
        for session in (self.master.session, "OpaqueRef:nowhere"):
            for proto in (fx.XmlRpc, fx.JsonRpc):
                with self.subTest(session=session, proto=proto.__name__):
                    c = proto(self.slave.url, session)
                    self.assertEqual(fx.fails(c, "pool.get_all"),
                                     ["HOST_IS_SLAVE", MASTER])
                    self.assertEqual(fx.fails(c, "VM.get_all_records"),
                                     ["HOST_IS_SLAVE", MASTER])

    def test_master_lists_slave(self):
        recs = self.master.api("host.get_all_records")
        h1, h2 = recs[self.refs["h1"]], recs[self.refs["h2"]]
        self.assertEqual((h2["name_label"], h2["hostname"], h2["address"],
                          h2["enabled"]), ("h2", "h2", "127.0.0.2", True))
        self.assertEqual((h1["address"], h1["enabled"]), (MASTER, True))
        pool = self.master.api("pool.get_all")
        self.assertEqual(len(pool), 1)
        self.assertEqual(self.master.api("pool.get_master", pool[0]),
                         self.refs["h1"])
        for name, h in (("h1", h1), ("h2", h2)):
            with self.subTest(name):
                m = self.master.api("host_metrics.get_record", h["metrics"])
                self.assertEqual(sorted(m), ["last_updated", "live",
                                             "memory_free", "memory_total",
                                             "other_config", "uuid"])
                self.assertIs(m["live"], True)
                self.assertIsInstance(m["last_updated"],
                                      xmlrpc.client.DateTime)
                self.assertLess(abs(datetime_seconds(m["last_updated"]) -
                                    self.join_started), 60)
                total, free = int(m["memory_total"]), int(m["memory_free"])
                self.assertGreater(total, 0)
                self.assertTrue(0 <= free <= total, (free, total))
                self.assertEqual(m["other_config"], {})
                self.assertEqual(
                    self.master.api("host_metrics.get_by_uuid", m["uuid"]),
                    h["metrics"])

    def test_state_directories(self):
        secret = self.master.api("pool.initial_auth")
        self.assertTrue(SECRET.fullmatch(secret), secret)
        for x in (self.master, self.slave):
            with self.subTest(x.name):
                self.assertEqual(mode(x.state), 0o700)
                token = os.path.join(x.state, "ptoken")
                self.assertEqual(mode(token), 0o600)
                self.assertEqual(read(token), secret)
        conf = os.path.join(self.slave.state, "pool.conf")
        self.assertEqual(read(conf), "slave:%s\n" % MASTER)
        self.assertEqual(mode(conf), 0o600)
        members = os.path.join(self.master.state, "members.json")
        self.assertEqual(mode(members), 0o600)
        self.assertEqual(json.loads(read(members)), [{
            "uuid": self.uuids["h2"], "name_label": "h2", "hostname": "h2",
            "address": "127.0.0.2"}])
        conf = os.path.join(self.master.state, "pool.conf")
        if os.path.exists(conf):
            self.assertEqual(read(conf), "master\n")

    def test_local_session_on_slave(self):
        c = local_session(self.slave)
        self.assertTrue(c.session.startswith("OpaqueRef:"))
        # Its own host record, the master's ref for it; no world.
        self.assertEqual(c("host.get_all"), [self.refs["h2"]])
        self.assertEqual(c("VM.get_all"), [])
        self.assertEqual(c("SR.get_all"), [])
        c("session.logout")
        # Gone, so no longer a session of the slave's own (doc/pools.md).
        self.assertEqual(fx.fails(c, "host.get_all"),
                         ["HOST_IS_SLAVE", MASTER])
        self.assertEqual(
            fx.fails(fx.XmlRpc(self.slave.url).raw,
                     "session.slave_local_login_with_password", "root", "x"),
            ["SESSION_AUTHENTICATION_FAILED", "root",
             "Authentication failure"])

    def test_pool_secret_and_pool_sessions(self):
        secret = self.master.api("pool.initial_auth")
        h2 = self.refs["h2"]
        for x in (self.master, self.slave):
            with self.subTest(x.name):
                c = pool_session(x, h2, secret)
                self.assertTrue(c.session.startswith("OpaqueRef:"))
                self.assertEqual(len(c("pool.get_all")), 1)
                c("session.logout")
                self.assertEqual(
                    fx.fails(fx.XmlRpc(x.url).raw, "session.slave_login", h2,
                             secret[:-1] + "0" if secret[-1] != "0"
                             else secret[:-1] + "1"),
                    ["SESSION_AUTHENTICATION_FAILED", h2,
                     "Pool credentials invalid"])
                self.assertEqual(
                    fx.fails(fx.XmlRpc(x.url).raw, "session.slave_login", h2,
                             ""),
                    ["SESSION_AUTHENTICATION_FAILED", h2,
                     "Pool credentials invalid"])

    def test_intra_pool_messages(self):
        secret = self.master.api("pool.initial_auth")
        h2 = self.refs["h2"]
        calls = [("host.create", ("u", "n", "h", "a")),
                 ("host.tickle_heartbeat", (h2, {})),
                 ("pool.hello", (self.uuids["h2"], "127.0.0.2"))]
        for method, args in calls:
            with self.subTest(method):
                self.assertEqual(
                    fx.fails(self.master.api, method, *args),
                    ["INTERNAL_ERROR",
                     'Internal API "%s" call attempted with non-pool '
                     '(external) session' % method])
        p = pool_session(self.master, h2, secret)
        self.assertEqual(p("pool.initial_auth"), secret)
        self.assertEqual(p("host.tickle_heartbeat", h2, {}), {})
        self.assertEqual(p("pool.hello", self.uuids["h2"], "127.0.0.2"), "ok")
        self.assertEqual(p("pool.hello", "00000000-0000-4000-8000-"
                           "000000000000", "127.0.0.7"), "unknown_host")
        self.assertEqual(fx.fails(p, "host.tickle_heartbeat",
                                  "OpaqueRef:nope", {}),
                         ["HANDLE_INVALID", "host", "OpaqueRef:nope"])
        # The same host again: its record, nothing new.
        self.assertEqual(p("host.create", self.uuids["h2"], "h2", "h2",
                           "127.0.0.2"), h2)
        self.assertEqual(len(self.master.api("host.get_all")), 2)
        p("session.logout")

    def test_join_a_slave(self):
        # The slave's HOST_IS_SLAVE, relayed unchanged.
        self.assertEqual(fx.fails(self.other.api, "pool.join",
                                  self.slave.address, "root", PW),
                         ["HOST_IS_SLAVE", MASTER])
        self.assert_standalone(self.other)

    def test_master_of_other_hosts_cannot_join(self):
        self.assertEqual(fx.fails(self.master.api, "pool.join",
                                  self.other.address, "root", PW),
                         ["JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS"])
        self.assertEqual(len(self.master.api("host.get_all")), 2)
        self.assertEqual(login_outcome(self.master), "ok")
        self.assert_standalone(self.other)

    def test_name_of_a_live_member(self):
        dup = self.pool.add("h2", "127.0.0.4", key="h2-dup")
        try:
            self.assertEqual(fx.fails(dup.api, "pool.join", MASTER, "root",
                                      PW),
                             ["HOST_NAME_INVALID",
                              "a host named h2 is already in the pool"])
            self.assert_standalone(dup)
            h2 = self.master.api("host.get_record", self.refs["h2"])
            self.assertEqual(h2["address"], "127.0.0.2")
            self.assertEqual(len(self.master.api("host.get_all")), 2)
        finally:
            self.pool.hosts.remove(dup)
            dup.stop()

    def test_eject_refused(self):
        self.assertEqual(fx.fails(self.master.api, "pool.eject",
                                  self.refs["h1"]),
                         ["OPERATION_NOT_ALLOWED",
                          "Cannot eject the pool master"])
        self.assertEqual(fx.fails(self.master.api, "pool.eject",
                                  "OpaqueRef:nope"),
                         ["HANDLE_INVALID", "host", "OpaqueRef:nope"])
        # "VM resident on host" cannot be reached through the API: VM.start
        # places every VM on the master, the only host that runs VMs for
        # now, and the master cannot be ejected.
        self.assertEqual(len(self.master.api("host.get_all")), 2)

    def test_xenapi_py(self):
        XenAPI = fx.import_xenapi()
        s = XenAPI.Session(self.master.url)
        s.xenapi.login_with_password("root", PW, "1.0", "test_pools")
        try:
            hosts = s.xenapi.host.get_all_records()
            by_name = {h["name_label"]: (r, h) for r, h in hosts.items()}
            self.assertEqual(sorted(by_name), ["h1", "h2"])
            ref, h2 = by_name["h2"]
            self.assertEqual(h2["address"], "127.0.0.2")
            self.assertIs(s.xenapi.host_metrics.get_live(h2["metrics"]),
                          True)
            pools = s.xenapi.pool.get_all_records()
            self.assertEqual(len(pools), 1)
            self.assertEqual(list(pools.values())[0]["master"],
                             by_name["h1"][0])
        finally:
            s.xenapi.session.logout()
        # On the slave: a Failure naming the master.
        s = XenAPI.Session(self.slave.url)
        with self.assertRaises(XenAPI.Failure) as cm:
            s.xenapi.login_with_password("root", PW, "1.0", "test_pools")
        self.assertEqual(cm.exception.details, ["HOST_IS_SLAVE", MASTER])

    def test_every_record(self):
        # XenAPI.py reads every record of every class on the master of two
        # hosts (test_xenapi_py.Walker): each host its CPUs, and a PIF on
        # every network.
        self.s = fx.import_xenapi().Session(self.master.url)
        self.s.xenapi.login_with_password("root", PW, "1.0", "test_pools")
        self.addCleanup(self.s.xenapi.session.logout)
        self.x = self.s.xenapi
        self.refs = txp.upstream_ref_fields()
        db = self.walk()
        self.assertEqual(len(db["host"]), 2)
        self.assertTrue(db["network"])
        for ref, host in db["host"].items():
            self.assertTrue(host["host_CPUs"], host["name_label"])
            self.assertEqual(
                sorted(db["PIF"][p]["network"] for p in host["PIFs"]),
                sorted(db["network"]), host["name_label"])

    def test_eject_and_rejoin(self):
        secret = self.master.api("pool.initial_auth")
        self.assertEqual(eject(self.master, self.slave), "")
        self.assertEqual(restarts(self.slave), 3)
        self.assertEqual(self.master.api("host.get_all"), [self.refs["h1"]])
        # Its CPUs and PIFs went with it (a rejoin makes them again).
        for cls in ("host_cpu", "PIF"):
            self.assertEqual({r["host"] for r in self.master.api(
                cls + ".get_all_records").values()}, {self.refs["h1"]}, cls)
        self.assertEqual(len(self.master.api("network.get_PIFs",
                                             self.master.api(
                                                 "network.get_all")[0])), 1)
        self.assertEqual(json.loads(read(os.path.join(self.master.state,
                                                      "members.json"))), [])
        # Standalone with its world, a pool secret of its own.
        self.assert_standalone(self.slave)
        token = read(os.path.join(self.slave.state, "ptoken"))
        self.assertTrue(SECRET.fullmatch(token), token)
        self.assertNotEqual(token, secret)
        self.assertEqual(mode(os.path.join(self.slave.state, "ptoken")),
                         0o600)
        # The old secret is no longer the pool's on it.
        self.assertEqual(fx.fails(fx.XmlRpc(self.slave.url).raw,
                                  "session.slave_login", self.refs["h2"],
                                  secret),
                         ["SESSION_AUTHENTICATION_FAILED", self.refs["h2"],
                          "Pool credentials invalid"])
        # It can join again, and gets its record back (same ref).
        self.assertEqual(join(self.slave, self.master), "")
        self.assertEqual(login_outcome(self.slave), ["HOST_IS_SLAVE", MASTER])
        self.assertEqual(host_ref(self.master, "h2"), self.refs["h2"])
        self.assertIs(live(self.master, "h2"), True)
        self.assertEqual(len(self.master.api("host.get_host_CPUs",
                                             self.refs["h2"])), 4)
        self.assertEqual(read(os.path.join(self.slave.state, "ptoken")),
                         secret)


# ---- liveness, restarts, emergency ------------------------------------------

class Liveness(unittest.TestCase, StandaloneChecks):
    """h2 joins h1 in setUpClass; every test leaves h2 a live slave."""

    @classmethod
    def setUpClass(cls):
        cls.pool = Pool(["127.0.0.1", "127.0.0.2"])
        try:
            cls.master, cls.slave = cls.pool.start([
                ("h1", MASTER, []), ("h2", "127.0.0.2", [])])
            join(cls.slave, cls.master)
            cls.h2 = host_ref(cls.master, "h2")
            cls.uuid = cls.master.api("host.get_uuid", cls.h2)
        except BaseException:
            cls.pool.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pool.stop()

    def metrics(self):
        return self.master.api("host_metrics.get_record",
                               self.master.api("host.get_metrics", self.h2))

    def enabled(self):
        return self.master.api("host.get_enabled", self.h2)

    def test_killed_slave_goes_not_live(self):
        self.assertIs(self.metrics()["live"], True)
        killed_at = time.time()
        self.slave.kill()
        self.assertIs(self.metrics()["live"], True)
        got = eventually(lambda: self.metrics()["live"], False,
                         DEAD_AFTER + 5, 0.1)
        self.assertIs(got, False)
        self.assertIs(self.enabled(), False)
        took = time.time() - killed_at
        # Silent for more than --host-dead-after, the last heartbeat about
        # --heartbeat before the kill (a slack of 1 s for a late one).
        self.assertGreater(took, DEAD_AFTER - HEARTBEAT - 1)
        self.assertGreaterEqual(
            datetime_seconds(self.metrics()["last_updated"]),
            int(killed_at))
        # The same host again on its state directory: hello, live.
        type(self).slave = self.pool.restart(self.slave)
        self.assertIs(eventually(lambda: self.metrics()["live"], True, 10),
                      True)
        self.assertIs(self.enabled(), True)
        self.assertEqual(login_outcome(self.slave), ["HOST_IS_SLAVE", MASTER])
        # And it stays live: its heartbeats arrive.
        time.sleep(DEAD_AFTER + 1)
        self.assertIs(self.metrics()["live"], True)

    def test_master_restart_keeps_members(self):
        # A member with hostile text (from a holder of the secret), carried
        # through host.create, members.json and a restart, read back as
        # sent on both protocols.
        secret = read(os.path.join(self.master.state, "ptoken"))
        hostile = ("\U0001F600 \u2028<x> & \"q\" \\ \t\u00e9" +
                   "\u4e16" * 3000)
        uuid = "0e6f3b8a-6c1d-4f2e-9a3b-5c7d8e9f0a1b"
        c = pool_session(self.master, self.h2, secret)
        odd = c("host.create", uuid, hostile, hostile[::-1], "127.0.0.99")
        type(self).master = self.pool.restart(self.master)
        for proto in (fx.XmlRpc, fx.JsonRpc):
            with self.subTest(proto.__name__):
                c = proto(self.master.url, proto(self.master.url).raw(
                    "session.login_with_password", "root", PW, "1.0", "t"))
                rec = c("host.get_record", odd)
                self.assertEqual((rec["uuid"], rec["name_label"],
                                  rec["hostname"], rec["address"]),
                                 (uuid, hostile, hostile[::-1],
                                  "127.0.0.99"))
                c("session.logout")
        self.assertEqual(self.master.api("pool.eject", odd), "")
        self.assertEqual(host_ref(self.master, "h2"), self.h2)
        h2 = self.master.api("host.get_record", self.h2)
        self.assertEqual((h2["address"], h2["hostname"]), ("127.0.0.2", "h2"))
        # The slave's pool session died with the master: it logs in again,
        # says hello, heartbeats; it stays live past --host-dead-after.
        time.sleep(DEAD_AFTER + 1.5)
        self.assertIs(self.metrics()["live"], True)
        self.assertIs(self.enabled(), True)
        self.assertEqual(login_outcome(self.slave), ["HOST_IS_SLAVE", MASTER])

    def test_ejected_while_down(self):
        self.slave.kill()
        self.assertEqual(self.master.api("pool.eject", self.h2), "")
        self.assertEqual(len(self.master.api("host.get_all")), 1)
        type(self).slave = slave = self.pool.restart(self.slave)
        # Its hello gets unknown_host: emergency mode.
        want = ["HOST_UNKNOWN_TO_MASTER", self.uuid]
        self.assertEqual(eventually(lambda: login_outcome(slave), want, 10),
                         want)
        self.assertEqual(read(os.path.join(slave.state, "pool.conf")),
                         "slave:%s\n" % MASTER)
        c = local_session(slave)
        self.assertEqual(fx.fails(c, "pool.get_all"), want)
        self.assertEqual(fx.fails(c, "host.get_all"), want)
        before = restarts(slave)
        self.assertEqual(c("pool.emergency_transition_to_master"), "")
        wait_restart(slave, before)
        relogin(slave)
        self.assert_standalone(slave)
        # Back into the pool, for the next test.
        self.assertEqual(join(slave, self.master), "")
        self.assertEqual(host_ref(self.master, "h2"), self.h2)
        self.assertIs(eventually(lambda: self.metrics()["live"], True, 10),
                      True)

    def test_emergency_transition_with_pool_session(self):
        # The secret from the master makes a pool session on the slave; the
        # slave, told to, becomes a standalone master. The master still
        # lists it, and sees it go not live.
        secret = self.master.api("pool.initial_auth")
        p = pool_session(self.slave, self.h2, secret)
        before = restarts(self.slave)
        self.assertEqual(p("pool.emergency_transition_to_master"), "")
        wait_restart(self.slave, before)
        relogin(self.slave)
        self.assert_standalone(self.slave)
        self.assertEqual(host_ref(self.master, "h2"), self.h2)
        self.assertIs(eventually(lambda: self.metrics()["live"], False,
                                 DEAD_AFTER + 5, 0.1), False)
        # Forgotten by the master (not live: not told), then joined again.
        self.assertEqual(self.master.api("pool.eject", self.h2), "")
        self.assertEqual(len(self.master.api("host.get_all")), 1)
        time.sleep(1.5)  # a host told restarts 1 s after
        self.assertEqual(restarts(self.slave), before + 1)
        self.assert_standalone(self.slave)
        self.assertEqual(join(self.slave, self.master), "")
        self.assertIs(eventually(lambda: self.metrics()["live"], True, 10),
                      True)


# ---- a master's world with hosts --------------------------------------------

class PoolWorld(unittest.TestCase, StandaloneChecks):
    """h1's world declares h2 and h4, a shared SR, an SR on h2 and a VM with
    affinity for h2; h2 joins (Async), h3 (undeclared) joins."""

    WORLD = (
        '<host name="h2"/>\n'
        '<host name="h4"/>\n'
        '<sr name="shared" type="DEMO" shared="true">\n'
        '  <device_config key="path" value="/srv/shared"/>\n'
        '  <vdi name="shared-disk" size="1073741824"/>\n'
        '</sr>\n'
        '<sr name="on-h2" type="DEMO" host="h2"/>\n'
        '<vm name="likes-h2" affinity="h2">'
        '<vbd vdi="shared-disk" device="xvda"/></vm>\n')

    @classmethod
    def setUpClass(cls):
        cls.pool = Pool(["127.0.0.1", "127.0.0.2", "127.0.0.3"])
        try:
            world = world_file(cls.pool.dir, "pool.xml", cls.WORLD)
            cls.master, cls.h2, cls.h3 = cls.pool.start([
                ("h1", MASTER, ["--world", world]), ("h2", "127.0.0.2", []),
                ("h3", "127.0.0.3", [])])
        except BaseException:
            cls.pool.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pool.stop()

    def hosts(self):
        return {h["name_label"]: (r, h)
                for r, h in self.master.api("host.get_all_records").items()}

    def pbd_hosts(self, sr_name):
        sr = self.master.api("SR.get_by_name_label", sr_name)[0]
        return sorted(self.master.api("host.get_name_label",
                                      self.master.api("PBD.get_host", p))
                      for p in self.master.api("SR.get_PBDs", sr))

    def test_declared_hosts(self):
        hosts = self.hosts()
        self.assertEqual(sorted(hosts), ["h1", "h2", "h4"])
        for name in ("h2", "h4"):
            with self.subTest(name):
                ref, h = hosts[name]
                self.assertEqual((h["address"], h["enabled"]), ("", False))
                self.assertIs(self.master.api("host_metrics.get_live",
                                              h["metrics"]), False)
        self.assertEqual(self.pbd_hosts("shared"), ["h1", "h2", "h4"])
        self.assertEqual(self.pbd_hosts("on-h2"), ["h2"])
        vm = self.master.api("VM.get_by_name_label", "likes-h2")[0]
        self.assertEqual(self.master.api("VM.get_affinity", vm),
                         hosts["h2"][0])

    def test_joins(self):
        declared = self.hosts()["h2"][0]
        # h2 asynchronously: the task's result is readable before the
        # restart, which comes 3 s later.
        before = restarts(self.h2)
        task = self.h2.api("Async.pool.join", MASTER, "root", PW)
        self.assertEqual(eventually(lambda: self.h2.api("task.get_status",
                                                        task), "success", 10),
                         "success")
        self.assertEqual(self.h2.api("task.get_result", task), "")
        self.assertEqual(restarts(self.h2), before)
        # Until it restarts, another join is refused.
        self.assertEqual(fx.fails(self.h2.api, "pool.join", MASTER, "root",
                                  PW),
                         ["OPERATION_NOT_ALLOWED",
                          "The host is restarting in a new pool role"])
        self.assertEqual(join(self.h3, self.master), "")
        wait_restart(self.h2, before)
        wait_live(self.master, "h2")
        hosts = self.hosts()
        self.assertEqual(sorted(hosts), ["h1", "h2", "h3", "h4"])
        # The declared record, taken; a new one for h3.
        self.assertEqual(hosts["h2"][0], declared)
        for name, address in (("h2", "127.0.0.2"), ("h3", "127.0.0.3")):
            with self.subTest(name):
                ref, h = hosts[name]
                self.assertEqual((h["address"], h["enabled"]),
                                 (address, True))
                self.assertIs(self.master.api("host_metrics.get_live",
                                              h["metrics"]), True)
                self.assertEqual(login_outcome(getattr(self, name)),
                                 ["HOST_IS_SLAVE", MASTER])
        self.assertIs(self.master.api("host_metrics.get_live",
                                      hosts["h4"][1]["metrics"]), False)
        # The shared SR has a PBD on the newcomer, plugged as the first
        # (a slave plugs its PBDs when it starts), with its device_config.
        self.assertEqual(self.pbd_hosts("shared"), ["h1", "h2", "h3", "h4"])
        sr = self.master.api("SR.get_by_name_label", "shared")[0]
        for p in self.master.api("SR.get_PBDs", sr):
            rec = self.master.api("PBD.get_record", p)
            with self.subTest(pbd=p):
                self.assertEqual(rec["device_config"],
                                 {"path": "/srv/shared"})
                self.assertIs(rec["currently_attached"], True)
        members = json.loads(read(os.path.join(self.master.state,
                                               "members.json")))
        self.assertEqual(sorted((m["name_label"], m["address"])
                                for m in members),
                         [("h2", "127.0.0.2"), ("h3", "127.0.0.3")])

    def test_affinity_vm_runs_on_its_host(self):
        # A VM with affinity for a live slave that sees its SRs starts
        # there (doc/pools.md, "Placement"), and holds the slave in the
        # pool until it is halted.
        vm = self.master.api("VM.get_by_name_label", "likes-h2")[0]
        h2 = self.hosts()["h2"][0]
        task = self.master.api("Async.VM.start", vm, False, False)
        self.assertEqual(eventually(lambda: self.master.api(
            "task.get_status", task), "success", 20), "success")
        self.assertEqual(self.master.api("task.get_resident_on", task), h2)
        self.master.api("task.destroy", task)
        try:
            self.assertEqual(self.master.api("VM.get_resident_on", vm), h2)
            self.assertIn(vm, self.master.api("host.get_resident_VMs", h2))
            self.assertEqual(fx.fails(self.master.api, "pool.eject", h2),
                             ["OPERATION_NOT_ALLOWED", "VM resident on host"])
        finally:
            self.master.api("VM.hard_shutdown", vm)
        self.assertEqual(self.master.api("VM.get_resident_on", vm),
                         "OpaqueRef:NULL")
        self.assertNotIn(vm, self.master.api("host.get_resident_VMs", h2))

    def test_ejects(self):
        hosts = self.hosts()
        on_h2 = self.master.api("SR.get_by_name_label", "on-h2")[0]
        # A declared host that never joined: forgotten, with its PBDs.
        self.assertEqual(self.master.api("pool.eject", hosts["h4"][0]), "")
        self.assertEqual(eject(self.master, self.h2), "")
        self.assertEqual(eject(self.master, self.h3), "")
        self.assertEqual(sorted(self.hosts()), ["h1"])
        self.assertEqual(self.pbd_hosts("shared"), ["h1"])
        self.assertEqual(self.master.api("SR.get_PBDs", on_h2), [])
        for name in ("h2", "h4"):
            self.assertEqual(fx.fails(self.master.api, "host_metrics.get_live",
                                      hosts[name][1]["metrics"]),
                             ["HANDLE_INVALID", "host_metrics",
                              hosts[name][1]["metrics"]])
        self.assert_standalone(self.h2)
        self.assert_standalone(self.h3)


# ---- Xen Orchestra's client -------------------------------------------------

def npm_install(tmp):
    """Installs xen-api into tmp; None, or why it could not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node or npm is not installed (node=%s, npm=%s)" % (node, npm)
    try:
        p = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-save",
             "--prefix", tmp, "xen-api"],
            capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "npm install xen-api timed out after 600 s"
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr + p.stdout).splitlines()
                 if "ERR" in ln or "error" in ln]
        return "npm install xen-api: exit %d: %s" % (
            p.returncode, " | ".join(lines[:6])[:1200])
    if not os.path.exists(os.path.join(tmp, "node_modules", "xen-api",
                                       "index.mjs")):
        return "xen-api/index.mjs is missing after the install"
    return None


class XenOrchestra(unittest.TestCase):
    """test_xo_pool.js against a slave; it prints KILL-SLAVE when it wants
    the slave dead."""

    JS_CHECKS = 19

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-xo-pool-")
        why = npm_install(cls.tmp)
        if why:
            shutil.rmtree(cls.tmp, True)
            raise unittest.SkipTest(why)
        cls.pool = Pool(["127.0.0.1", "127.0.0.2"])
        try:
            cls.master, cls.slave = cls.pool.start([
                ("h1", MASTER, []), ("h2", "127.0.0.2", [])])
            join(cls.slave, cls.master)
        except BaseException:
            cls.pool.stop()
            shutil.rmtree(cls.tmp, True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.pool.stop()
        finally:
            shutil.rmtree(cls.tmp, True)

    def test_xen_api_through_a_slave(self):
        env = dict(os.environ, XO_DIR=self.tmp,
                   XBT_SLAVE_URL=self.slave.url.rstrip("/"),
                   XBT_MASTER=MASTER, XBT_MASTER_NAME="h1",
                   XBT_SLAVE_NAME="h2")
        p = subprocess.Popen(
            [shutil.which("node"), os.path.join(fx.HERE, "test_xo_pool.js")],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env)
        lines = queue.Queue()

        def read_lines():
            for line in p.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read_lines, daemon=True).start()
        out = []
        deadline = time.monotonic() + 120
        try:
            while True:
                try:
                    line = lines.get(timeout=max(0.1, deadline -
                                                 time.monotonic()))
                except queue.Empty:
                    out.append("FAIL node timed out\n")
                    break
                if line is None:
                    break
                out.append(line)
                if line.strip() == "KILL-SLAVE" and self.slave.alive():
                    self.slave.kill()
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
        text = "".join(out)
        # One summary line in the log: the runner's.
        sys.stdout.write(re.sub(r"^(\d+) passed, (\d+) failed$",
                                r"xen-api checks: \1 passed, \2 failed", text,
                                flags=re.M))
        m = re.search(r"^(\d+) passed, (\d+) failed$", text, re.M)
        self.assertIsNotNone(m, text[-3000:])
        self.assertEqual((int(m.group(1)), int(m.group(2))),
                         (self.JS_CHECKS, 0), text[-3000:])
        self.assertEqual(p.returncode, 0)
        self.assertFalse(self.slave.alive())


if __name__ == "__main__":
    fx.run()
