#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xe against real xbtd servers from the build tree.

Two servers (tests/xbtd_fixture.py) run for the whole file: one with the
demo world, one with a small world of fixed uuids whose SR plugin (written
below) can block, fail or succeed per disk. Every check compares whole
outputs and exit statuses; expectations come either as literal text or from
the XenAPI itself (read with Python's own XML-RPC client and laid out by an
independent oracle).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402
from xbtd_fixture import free_port  # noqa: E402

XE = os.path.join(fx.BUILDDIR, "cli", "xe")
HOSTNAME = "h1"
PROC = "xbtd @ " + HOSTNAME

USAGE_TAIL = "For usage run: 'xe help'\n"
CONNECT_MSG = ("Unable to contact server. Please check server and port "
               "settings.\n")

# ---- running xe ------------------------------------------------------------

HOME = tempfile.mkdtemp(prefix="test_xe.")


def xe(*args, port=None, env=None, home=HOME, stdin=""):
    """Runs xe (stdin: its input); returns (status, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("XE_EXTRA_ARGS", None)
    e["HOME"] = home
    e.update(env or {})
    argv = [XE] + list(args)
    if port is not None:
        argv += ["-p", str(port)]
    p = subprocess.run(argv, capture_output=True, text=True, env=e,
                       timeout=120, input=stdin)
    return p.returncode, p.stdout, p.stderr


def check(got, want):
    if got != want:
        raise AssertionError("\n got: %r\nwant: %r" % (got, want))


# ---- oracles: xe's layout and the human form of a backtrace ---------------


def layout(rows):
    width = 4 + max(len(k) for k, _ in rows)
    lines = [(k.ljust(width) if i == 0 else k.rjust(width)) + ": " + v
             for i, (k, v) in enumerate(rows)]
    return "\n".join(lines) + "\n\n\n"


def parse_sexp(s):
    """A sexplib value: atoms are str, lists are list."""
    pos = 0

    def skip():
        nonlocal pos
        while pos < len(s) and s[pos] in " \t\n\r":
            pos += 1

    def atom():
        nonlocal pos
        if s[pos] != '"':
            start = pos
            while pos < len(s) and s[pos] not in ' \t\n\r()"':
                pos += 1
            return s[start:pos]
        pos += 1
        out = []
        while s[pos] != '"':
            c = s[pos]
            if c == "\\":
                pos += 1
                c = s[pos]
                if c.isdigit():
                    out.append(chr(int(s[pos:pos + 3])))
                    pos += 2
                else:
                    out.append({"n": "\n", "t": "\t", "r": "\r",
                                "b": "\b"}.get(c, c))
            else:
                out.append(c)
            pos += 1
        pos += 1
        return "".join(out)

    def value():
        nonlocal pos
        skip()
        if s[pos] == "(":
            pos += 1
            items = []
            skip()
            while s[pos] != ")":
                items.append(value())
                skip()
            pos += 1
            return items
        return atom()

    v = value()
    skip()
    assert pos == len(s), "trailing bytes in %r" % s
    return v


def frames_of(sexp):
    return [{k: v for k, v in f} for f in parse_sexp(sexp)]


def human(frames):
    out = []
    for i, f in enumerate(frames):
        verb = ("Raised at" if i == 0 else
                "Re-raised at" if f.get("is_raise") == "true" else
                "Called from")
        line = "%d/%d %s %s " % (i + 1, len(frames), f["process"], verb)
        if "name" in f:
            line += f["name"] + " in "
        line += 'file "%s"' % f["filename"]
        if f.get("is_inline") == "true":
            line += " (inlined)"
        line += ", line %s" % f["line"]
        if int(f.get("chars_start", "0")) > 0:
            line += ", characters %s-%s" % (f["chars_start"], f["chars_end"])
        out.append(line + "\n")
    return "".join(out)


def error_text(info, trace=None):
    code, params = info[0], info[1:]
    text = "Error code: %s\nError parameters: %s\n" % (code,
                                                       ", ".join(params))
    if trace is not None:
        text += "Raised Server_error(%s, [ %s ])\nBacktrace:\n%s" % (
            code, "; ".join(params), human(frames_of(trace)))
    return text


# ---- an oracle for whole records: the IDL's fields, the API's values --------

IDL = ET.parse(os.path.join(fx.SRCDIR, "idl", "xenapi.xml")).getroot()
IDL_CLASSES = {c.get("name"): c for c in IDL.iter("class")}
SERVED = {n for n, c in IDL_CLASSES.items() if c.get("served") != "false"}

# Columns upstream's records put ahead of the data model's order.
FIRST = {"VIF": ["uuid", "vm-uuid", "vm-name-label"],
         "PIF": ["uuid", "device", "MAC", "physical", "managed",
                 "currently-attached", "MTU", "VLAN"],
         "console": ["uuid", "vm-uuid", "vm-name-label"]}


class Oracle:
    """What xe prints for a record of srv, from the IDL and the API alone."""

    def __init__(self, srv):
        self.srv = srv
        self.all = {}

    def objs(self, cls):
        if cls not in self.all:
            self.all[cls] = self.srv.api(cls + ".get_all_records")
        return self.all[cls]

    def ref(self, cls, ref, want="uuid"):
        if ref == "OpaqueRef:NULL":
            return "<not in database>"
        if cls not in SERVED:
            return ref
        rec = self.objs(cls).get(ref)
        return rec[want] if rec else "<not in database>"

    def scalar(self, t, v):
        if t.startswith("ref "):
            return self.ref(t[4:], v)
        if t == "bool":
            return "true" if v else "false"
        if t == "float":
            text = "%.12g" % v
            return text + "." if re.fullmatch(r"-?[0-9]+", text) else text
        if t == "datetime":
            return v.value
        return str(v)

    def value(self, name, t, v):
        if t.startswith("set ("):
            return "; ".join(self.scalar(t[5:-1], x) for x in v)
        if t.startswith("map ("):
            k, e = t[5:-1].split(", ", 1)
            return "; ".join("%s: %s" % (self.scalar(k, a),
                                         self.scalar(e, b))
                             for a, b in v.items())
        if name == "power_state":
            return v.lower()
        if t == "enum console_protocol":
            return v.upper()
        return self.scalar(t, v)

    def rows(self, cls, rec):
        fields = list(IDL_CLASSES[cls].iter("field"))
        lead = ["uuid", "name_label", "name_description"]
        fields = ([f for n in lead for f in fields if f.get("name") == n] +
                  [f for f in fields if f.get("name") not in lead])
        rows = []
        for f in fields:
            name, t = f.get("name"), f.get("type")
            rw = f.get("qualifier") == "RW" or f.get("setter") == "true"
            kind = "S" if t.startswith("set") else (
                "M" if t.startswith("map") else " ")
            qual = "(%s%s)" % (kind, "RW" if rw else "RO")
            target = t[4:] if t.startswith("ref ") else None
            if target and target.lower() == name.lower():
                low = target.lower()
                rows.append(("%s-uuid %s" % (low, qual),
                             self.ref(target, rec[name])))
                names = [g.get("name") for g in
                         IDL_CLASSES[target].iter("field")]
                if "name_label" in names:
                    rows.append(("%s-name-label ( RO)" % low,
                                 self.ref(target, rec[name], "name_label")))
                continue
            rows.append(("%s %s" % (name.replace("_", "-"), qual),
                         self.value(name, t, rec[name])))
        first = FIRST.get(cls, [])
        head = [r for n in first for r in rows if r[0].split(" ")[0] == n]
        return head + [r for r in rows if r not in head]

    def record(self, cls, rec, only=None):
        rows = self.rows(cls, rec)
        if only is not None:
            rows = [r for r in rows if r[0].split(" ")[0] in only]
        return layout(rows)


# ---- the plugin and world of the second server ------------------------------

# Behaviour by VDI location: "block" waits in vdi_attach until the file
# "release" appears next to the plugin; "failattach" fails vdi_attach;
# "faildeactivate" fails vdi_deactivate; anything else succeeds.
PLUGIN = r'''#!/usr/bin/env python3
import os, sys, time, xmlrpc.client
(args,), command = xmlrpc.client.loads(sys.argv[1])
loc = args.get("vdi_location", "")
here = os.path.dirname(os.path.abspath(__file__))
def fault(code, msg):
    print(xmlrpc.client.dumps(xmlrpc.client.Fault(code, msg),
                              methodresponse=True))
    sys.exit(0)
if command == "vdi_attach":
    if loc == "block":
        for _ in range(3000):
            if os.path.exists(os.path.join(here, "release")):
                break
            time.sleep(0.01)
    if loc == "failattach":
        fault(98, "attach refused")
    result = {"params": "/dev/xe", "params_nbd": "nbd:unix:/xe",
              "o_direct": True, "o_direct_reason": "", "xenstore_data": {}}
elif command == "vdi_deactivate" and loc == "faildeactivate":
    fault(97, "deactivate refused")
else:
    result = ""
print(xmlrpc.client.dumps((result,), methodresponse=True))
'''

U = "33333333-0000-0000-0000-%012d"
SR_UUID = "11111111-0000-0000-0000-000000000001"
NET_UUID = "44444444-0000-0000-0000-000000000001"
WORLD = '''<?xml version="1.0"?>
<world>
  <sr name="xe-sr" type="XE" description="xe's SR" uuid="%s">
    <vdi name="plain-disk" size="1073741824" location="plain"
         uuid="22222222-0000-0000-0000-000000000001"/>
    <vdi name="flaky-disk" size="2048" location="faildeactivate"
         uuid="22222222-0000-0000-0000-000000000002"/>
    <vdi name="slow-disk" size="4096" location="block"
         uuid="22222222-0000-0000-0000-000000000003"/>
    <vdi name="slow-disk2" size="4096" location="plain"
         uuid="22222222-0000-0000-0000-000000000004"/>
    <vdi name="bad-disk" size="4096" location="failattach"
         uuid="22222222-0000-0000-0000-000000000005"/>
  </sr>
  <network name="xe-net" uuid="%s" bridge="xenbr7"/>
  <vm name="lit,vm" description="multi" uuid="%s">
    <vbd vdi="plain-disk" device="xvda"/>
    <vif network="xe-net" device="0" mac="02:00:00:00:00:aa"/>
  </vm>
  <vm name="flaky" uuid="%s">
    <vbd vdi="flaky-disk" device="xvda"/>
  </vm>
  <vm name="slow" uuid="%s">
    <vbd vdi="slow-disk" device="xvda"/>
    <vbd vdi="slow-disk2" device="xvdb"/>
  </vm>
  <vm name="bad" description="multi" uuid="%s">
    <vbd vdi="bad-disk" device="xvda"/>
  </vm>
  <vm name="lit-template" template="true" uuid="%s"/>
</world>
''' % (SR_UUID, NET_UUID, U % 1, U % 2, U % 3, U % 4, U % 5)
# ---- the servers -----------------------------------------------------------

D = None   # the demo world's server
L = None   # the literal world's server
SM_DIR = None


def setUpModule():
    global D, L, SM_DIR
    SM_DIR = tempfile.mkdtemp(prefix="test_xe.sm.")
    plugin = os.path.join(SM_DIR, "XESR")
    with open(plugin, "w") as f:
        f.write(PLUGIN)
    os.chmod(plugin, 0o755)
    world = os.path.join(SM_DIR, "world.xml")
    with open(world, "w") as f:
        f.write(WORLD)
    args = ["--hostname", HOSTNAME, "--log-level", "error"]
    D = fx.Xbtd(args).start()
    L = fx.Xbtd(args + ["--world", world, "--sm-dir", SM_DIR]).start()


def tearDownModule():
    try:
        fx.stop_all([D, L])  # exit status 0, no sanitizer report
    finally:
        shutil.rmtree(SM_DIR, ignore_errors=True)
        shutil.rmtree(HOME, ignore_errors=True)


def vm(srv, name):
    refs = srv.api("VM.get_by_name_label", name)
    assert len(refs) == 1, refs
    return refs[0]


def wait_task(srv, task):
    for _ in range(2000):
        status = srv.api("task.get_status", task)
        if status not in ("pending", "cancelling"):
            return status
        time.sleep(0.01)
    raise AssertionError("task %s never finished" % task)


# ---- the tests --------------------------------------------------------------


class CommandLine(unittest.TestCase):
    """xe's command line, without a server."""

    def test_no_command_is_usage(self):
        status, out, err = xe()
        check((status, out), (2, ""))
        assert err.startswith("Usage: xe <command>"), err

    def test_help_lists_every_command(self):
        status, out, err = xe("help", port=free_port())
        check((status, err), (0, ""))
        for cmd in ("help", "host-list", "pool-eject", "pool-join",
                    "sr-list", "task-cancel",
                    "task-destroy", "task-list", "task-param-get", "vbd-list",
                    "vdi-list", "vm-list", "vm-param-get", "vm-shutdown",
                    "vm-start", "network-list", "vif-list", "pif-list",
                    "host-cpu-list", "console-list", "vm-param-list",
                    "sr-param-list", "vdi-param-list", "vbd-param-list",
                    "host-param-list", "task-param-list",
                    "network-param-list", "vif-param-list",
                    "pif-param-list", "host-cpu-param-list",
                    "console-param-list", "vif-param-get"):
            assert re.search(r"^  %s +\S" % re.escape(cmd), out, re.M), cmd

    def test_help_one_command(self):
        status, out, err = xe("help", "task-param-get")
        check((status, err), (0, ""))
        check(out.splitlines()[:3], [
            "command name            : task-param-get",
            "        reqd params     : uuid, param-name",
            "        optional params : param-key"])

    def test_dash_dash_help(self):
        status, out, err = xe("vm-list", "--help")
        check((status, err), (0, ""))
        assert out.startswith("Usage: xe <command>"), out

    def test_unknown_command(self):
        check(xe("vm-frobnicate", port=free_port()),
              (2, "", "Unknown command: vm-frobnicate\n" + USAGE_TAIL))
        check(xe("help", "nope"),
              (2, "", "Unknown command: nope\n" + USAGE_TAIL))

    def test_missing_parameter_found_before_connecting(self):
        # A closed port: a connection attempt would exit 3.
        check(xe("vm-param-get", "param-name=uuid", port=free_port()),
              (2, "", "Required parameter not found: uuid\n" + USAGE_TAIL))
        check(xe("task-cancel", port=free_port()),
              (2, "", "Required parameter not found: uuid\n" + USAGE_TAIL))
        check(xe("vif-param-list", port=free_port()),
              (2, "", "Required parameter not found: uuid\n" + USAGE_TAIL))

    def test_bad_option_values(self):
        check(xe("vm-list", "-p", "http"),
              (2, "", "Port number must be an integer (0-65535)\n" +
               USAGE_TAIL))
        check(xe("vm-list", "-z"),
              (2, "", "Unknown option '-z'\n" + USAGE_TAIL))
        check(xe("vm-list", "--minimal=maybe", port=free_port()),
              (2, "", "Unknown option '--minimal=maybe'\n" + USAGE_TAIL))
        # Checked before connecting (the port is closed).
        check(xe("vm-list", "minimal=maybe", port=free_port()),
              (2, "", "Failed to parse parameter 'minimal': expecting 'true' "
               "or 'false'\n" + USAGE_TAIL))
        check(xe("vm-start", "multiple=2", port=free_port()),
              (2, "", "Failed to parse parameter 'multiple': expecting 'true' "
               "or 'false'\n" + USAGE_TAIL))
        check(xe("vm-start", "--trace=x", port=free_port()),
              (2, "", "Unknown option '--trace=x'\n" + USAGE_TAIL))

    def test_connection_refused(self):
        port = free_port()
        status, out, err = xe("vm-list", port=port)
        check((status, out), (3, ""))
        # What follows is libcurl's text, with a time in it.
        assert err.startswith(CONNECT_MSG + "(http://127.0.0.1:%d/: " %
                              port), err

    def test_not_a_xenapi_server(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)

        def answer():
            for _ in range(4):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                c.recv(65536)
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n"
                          b"Content-Length: 7\r\n\r\nnot xml")
                c.close()
        t = threading.Thread(target=answer, daemon=True)
        t.start()
        port = srv.getsockname()[1]
        status, out, err = xe("vm-list", port=port)
        srv.close()
        check((status, out), (3, ""))
        check(err, "Error: http://127.0.0.1:%d/ does not answer as a XenAPI "
              "server: Not valid XML.  syntax error\n" % port)


class Settings(unittest.TestCase):
    """Credentials and settings: -pw, -pwf, ~/.xe, XE_EXTRA_ARGS."""

    def test_wrong_password(self):
        info = fx.fails(D.api.raw, "session.login_with_password", "root",
                        "wrong", "1.0", "xe")
        check(info, ["SESSION_AUTHENTICATION_FAILED", "root",
                     "Authentication failure"])
        check(xe("vm-list", "-pw", "wrong", port=D.port),
              (4, "", "Authentication failed\n"))
        check(xe("vm-list", "-u", "nobody", port=D.port),
              (4, "", "Authentication failed\n"))

    def test_wrong_password_in_extra_args_and_rc(self):
        status, _, _ = xe("vm-list", port=D.port,
                          env={"XE_EXTRA_ARGS": "-pw,wrong"})
        check(status, 4)
        home = tempfile.mkdtemp(prefix="test_xe.home.")
        with open(os.path.join(home, ".xe"), "w") as f:
            f.write("password=wrong\n")
        check(xe("vm-list", port=D.port, home=home)[0], 4)
        # The command line wins over ~/.xe.
        check(xe("vm-list", "-pw", "xbt", port=D.port, home=home)[0], 0)
        shutil.rmtree(home)

    def test_rc_file_settings(self):
        home = tempfile.mkdtemp(prefix="test_xe.home.")
        with open(os.path.join(home, ".xe"), "w") as f:
            f.write("server=127.0.0.1\nport=%d\n\nusername=root\n"
                    "password=xbt\n" % D.port)
        status, out, err = xe("vm-list", "--minimal", home=home)
        check((status, err), (0, ""))
        check(out, xe("vm-list", "--minimal", port=D.port)[1])
        with open(os.path.join(home, ".xe"), "w") as f:
            f.write("port=%d\nno equals sign here\n" % D.port)
        status, out, err = xe("vm-list", port=free_port(), home=home)
        check(status, 3)
        assert err.startswith("Error parsing rc file. No defaults "
                              "loaded\n"), err
        shutil.rmtree(home)

    def test_password_file(self):
        home = tempfile.mkdtemp(prefix="test_xe.home.")
        pwf = os.path.join(home, "pw")
        with open(pwf, "w") as f:
            f.write("root\nxbt\n")
        check(xe("vm-list", "-pw", "wrong", "-pwf", pwf, port=D.port)[0], 0)
        with open(pwf, "w") as f:
            f.write("root\nwrong\n")
        check(xe("vm-list", "-pwf", pwf, port=D.port)[0], 4)
        shutil.rmtree(home)

    def test_extra_args_escaping(self):
        # The escaped comma keeps params=uuid,power-state one argument.
        want = xe("vm-list", "params=uuid,power-state", port=D.port)
        check(want[0], 0)
        assert "power-state ( RO)" in want[1] and "name-label" not in want[1]
        got = xe("vm-list", env={
            "XE_EXTRA_ARGS": "-p,%d,params=uuid\\,power-state" % D.port})
        check(got, want)


def lit_vm(n, name, desc=""):
    return layout([("uuid ( RO)", U % n), ("name-label ( RW)", name),
                   ("power-state ( RO)", "halted")])


class LiteralWorldLists(unittest.TestCase):
    """Lists on the literal world: layout, filters, derived fields."""

    def test_vm_list_layout(self):
        # Templates are left out, as xe does.
        check(xe("vm-list", port=L.port),
              (0, lit_vm(1, "lit,vm") + lit_vm(2, "flaky") + lit_vm(3, "slow")
               + lit_vm(4, "bad"), ""))

    def test_vm_list_minimal(self):
        check(xe("vm-list", "--minimal", port=L.port),
              (0, ",".join(U % n for n in (1, 2, 3, 4)) + "\n", ""))
        check(xe("vm-list", "--minimal", "params=name-label", port=L.port),
              (0, "lit\\,vm,flaky,slow,bad\n", ""))
        check(xe("vm-list", "--minimal", "name-label=none", port=L.port),
              (0, "\n", ""))

    def test_vm_list_filters_and_params(self):
        check(xe("vm-list", "name-description=multi", "params=uuid,name-label",
                 port=L.port),
              (0, layout([("uuid ( RO)", U % 1),
                          ("name-label ( RW)", "lit,vm")]) +
               layout([("uuid ( RO)", U % 4), ("name-label ( RW)", "bad")]),
               ""))
        check(xe("vm-list", "uuid=" + U % 2, "power-state=halted",
                 "params=power-state", port=L.port),
              (0, layout([("power-state ( RO)", "halted")]), ""))
        check(xe("vm-list", "power-state=Halted", port=L.port), (0, "", ""))
        check(xe("vm-list", "bogus=1", port=L.port),
              (2, "", "Unknown field 'bogus'\n" + USAGE_TAIL))

    def test_map_and_set_filters(self):
        sr = L.api("SR.get_by_uuid", SR_UUID)
        vdi = [v for v in L.api("SR.get_VDIs", sr)
               if L.api("VDI.get_name_label", v) == "plain-disk"][0]
        vbd_uuid = L.api("VBD.get_uuid", L.api("VDI.get_VBDs", vdi)[0])
        # A set of refs filters on the uuids it prints.
        check(xe("vdi-list", "VBDs:contains=" + vbd_uuid, "--minimal",
                 port=L.port),
              (0, "22222222-0000-0000-0000-000000000001\n", ""))
        check(xe("vdi-list", "VBDs:has=" + vbd_uuid, port=L.port),
              (2, "", "Invalid syntax for set filtering (should be "
               "set-param:contains=key)\n" + USAGE_TAIL))
        check(xe("vdi-list", "name-label:x=1", port=L.port),
              (2, "", "Field 'name-label' is not a set or map\n" + USAGE_TAIL))
        L.api("VDI.add_to_other_config", vdi, "tier", "gold")
        try:
            check(xe("vdi-list", "other-config:tier=gold", "--minimal",
                     port=L.port),
                  (0, "22222222-0000-0000-0000-000000000001\n", ""))
            check(xe("vdi-list", "other-config:tier=lead", "--minimal",
                     port=L.port), (0, "\n", ""))
        finally:
            L.api("VDI.remove_from_other_config", vdi, "tier")

    def test_derived_ref_fields(self):
        # A VDI's SR shows as sr-uuid and sr-name-label, as xe's records do.
        status, out, err = xe("vdi-list", "uuid=22222222-0000-0000-0000-"
                              "000000000002", "params=sr-uuid,sr-name-label",
                              port=L.port)
        check((status, err), (0, ""))
        check(out, layout([("sr-uuid ( RO)", SR_UUID),
                           ("sr-name-label ( RO)", "xe-sr")]))
        # vbd-list's defaults: vm-uuid, vm-name-label, vdi-uuid come from refs.
        status, out, err = xe("vbd-list", "vm-name-label=flaky", port=L.port)
        check((status, err), (0, ""))
        assert "vm-uuid ( RO): %s\n" % (U % 2) in out, out
        assert "vdi-uuid ( RO): 22222222-0000-0000-0000-000000000002\n" in out
        # A null ref prints as <not in database>.
        status, out, _ = xe("vm-param-get", "uuid=" + U % 1,
                            "param-name=resident-on", port=L.port)
        check((status, out), (0, "<not in database>\n"))

    def test_literal_network_vif_pif(self):
        vif = L.api("VM.get_VIFs", L.api("VM.get_by_uuid", U % 1))[0]
        vif_uuid = L.api("VIF.get_uuid", vif)
        check(xe("network-list", port=L.port),
              (0, "uuid ( RO)                : %s\n"
                  "          name-label ( RW): xe-net\n"
                  "    name-description ( RW): \n"
                  "              bridge ( RO): xenbr7\n\n\n" % NET_UUID, ""))
        check(xe("vif-list", port=L.port),
              (0, "uuid ( RO)            : %s\n"
                  "         vm-uuid ( RO): %s\n"
                  "          device ( RO): 0\n"
                  "    network-uuid ( RO): %s\n\n\n" % (
                      vif_uuid, U % 1, NET_UUID), ""))
        check(xe("vif-list", "vm-uuid=" + U % 2, port=L.port), (0, "", ""))
        check(xe("vif-list", "network-name-label=xe-net",
                 "params=vm-name-label,MAC,MTU", port=L.port),
              (0, "vm-name-label ( RO)    : lit,vm\n"
                  "              MAC ( RO): 02:00:00:00:00:aa\n"
                  "              MTU ( RO): 1500\n\n\n", ""))
        check(xe("vif-param-get", "uuid=" + vif_uuid,
                 "param-name=network-name-label", port=L.port),
              (0, "xe-net\n", ""))
        check(xe("network-param-get", "uuid=" + NET_UUID,
                 "param-name=VIFs", port=L.port), (0, vif_uuid + "\n", ""))
        pif = L.api("PIF.get_all_records")
        check(len(pif), 1)
        (p,) = pif.values()
        check(xe("pif-list", port=L.port),
              (0, "uuid ( RO)                  : %s\n"
                  "                device ( RO): eth0\n"
                  "                   MAC ( RO): %s\n"
                  "    currently-attached ( RO): true\n"
                  "                  VLAN ( RO): %s\n"
                  "          network-uuid ( RO): %s\n"
                  "             host-uuid ( RO): %s\n\n\n" % (
                      p["uuid"], p["MAC"], p["VLAN"], NET_UUID,
                      L.api("host.get_uuid", p["host"])), ""))


def records(cls):
    return list(D.api(cls + ".get_all_records").values())


class DemoWorldLists(unittest.TestCase):
    """Lists on the demo world, checked against the API."""

    def test_host_list(self):
        want = "".join(layout([("uuid ( RO)", h["uuid"]),
                               ("name-label ( RW)", h["name_label"]),
                               ("name-description ( RW)",
                                h["name_description"])])
                       for h in records("host"))
        check(xe("host-list", port=D.port), (0, want, ""))
        check(xe("host-list", "--minimal", port=D.port),
              (0, ",".join(h["uuid"] for h in records("host")) + "\n", ""))

    def test_sr_list(self):
        want = "".join(layout([("uuid ( RO)", s["uuid"]),
                               ("name-label ( RW)", s["name_label"]),
                               ("name-description ( RW)",
                                s["name_description"]),
                               ("type ( RO)", s["type"]),
                               ("content-type ( RO)", s["content_type"])])
                       for s in records("SR"))
        check(xe("sr-list", port=D.port), (0, want, ""))

    def test_vdi_list(self):
        srs = D.api("SR.get_all_records")
        want = "".join(layout([("uuid ( RO)", v["uuid"]),
                               ("name-label ( RW)", v["name_label"]),
                               ("name-description ( RW)",
                                v["name_description"]),
                               ("sr-uuid ( RO)", srs[v["SR"]]["uuid"]),
                               ("virtual-size ( RO)", str(v["virtual_size"])),
                               ("sharable ( RO)", str(v["sharable"]).lower()),
                               ("read-only ( RO)",
                                str(v["read_only"]).lower())])
                       for v in records("VDI"))
        check(xe("vdi-list", port=D.port), (0, want, ""))

    def test_vbd_list(self):
        vms = D.api("VM.get_all_records")
        vdis = D.api("VDI.get_all_records")
        want = "".join(layout([("uuid ( RO)", b["uuid"]),
                               ("vm-uuid ( RO)", vms[b["VM"]]["uuid"]),
                               ("vm-name-label ( RO)",
                                vms[b["VM"]]["name_label"]),
                               ("vdi-uuid ( RO)", vdis[b["VDI"]]["uuid"]),
                               ("device ( RO)", b["device"]),
                               ("empty ( RO)", str(b["empty"]).lower())])
                       for b in records("VBD"))
        check(xe("vbd-list", port=D.port), (0, want, ""))

    def test_vm_param_get(self):
        ok = vm(D, "demo-ok")
        uuid = D.api("VM.get_uuid", ok)
        check(xe("vm-param-get", "uuid=" + uuid, "param-name=name-description",
                 port=D.port), (0, "Starts fine\n", ""))
        check(xe("vm-param-get", "uuid=" + uuid, "param-name=power-state",
                 port=D.port), (0, "halted\n", ""))
        vbds = D.api("VM.get_VBDs", ok)
        check(xe("vm-param-get", "uuid=" + uuid, "param-name=VBDs",
                 port=D.port),
              (0, "; ".join(D.api("VBD.get_uuid", b) for b in vbds) + "\n",
               ""))
        check(xe("vm-param-get", "uuid=" + uuid, "param-name=is-a-template",
                 port=D.port), (0, "false\n", ""))

    def test_vm_param_get_errors(self):
        ok = vm(D, "demo-ok")
        uuid = D.api("VM.get_uuid", ok)
        info = fx.fails(D.api, "VM.get_by_uuid", "no-such-uuid")
        check(xe("vm-param-get", "uuid=no-such-uuid", "param-name=uuid",
                 port=D.port), (1, "", error_text(info)))
        check(xe("vm-param-get", "uuid=" + uuid, "param-name=nope",
                 port=D.port),
              (2, "", "Unknown field 'nope'\n" + USAGE_TAIL))
        check(xe("vm-param-get", "uuid=" + uuid, "param-name=other-config",
                 "param-key=nokey", port=D.port),
              (1, "", "Error: Key nokey not found in map\n"))
        D.api("VM.add_to_other_config", ok, "k", "v,w")
        try:
            check(xe("vm-param-get", "uuid=" + uuid, "param-name=other-config",
                     "param-key=k", port=D.port), (0, "v,w\n", ""))
            check(xe("vm-param-get", "uuid=" + uuid, "param-name=other-config",
                     "param-key=k", "--minimal", port=D.port),
                  (0, "v\\,w\n", ""))
            check(xe("vm-param-get", "uuid=" + uuid, "param-name=other-config",
                     port=D.port), (0, "k: v,w\n", ""))
        finally:
            D.api("VM.remove_from_other_config", ok, "k")


# Upstream's default fields of <class>-list (cli_operations.ml, gen_cmds).
LIST_FIELDS = {
    "network": ("network", ["uuid", "name-label", "name-description",
                            "bridge"]),
    "vif": ("VIF", ["uuid", "device", "vm-uuid", "network-uuid"]),
    "pif": ("PIF", ["uuid", "device", "VLAN", "MAC", "network-uuid",
                    "currently-attached", "host-uuid"]),
    "host-cpu": ("host_cpu", ["uuid", "number", "vendor", "speed",
                              "utilisation"]),
    "console": ("console", ["uuid", "vm-uuid", "vm-name-label", "protocol",
                            "location"]),
}


class NewClasses(unittest.TestCase):
    """network, VIF, PIF, host_cpu and console; <class>-param-list."""

    def test_lists(self):
        o = Oracle(D)
        for cli, (cls, fields) in LIST_FIELDS.items():
            want = "".join(o.record(cls, r, fields)
                           for r in o.objs(cls).values())
            check((cli, xe(cli + "-list", port=D.port)), (cli, (0, want, "")))
            check((cli, xe(cli + "-list", "--minimal", port=D.port)),
                  (cli, (0, ",".join(r["uuid"] for r in
                                     o.objs(cls).values()) + "\n", "")))
        # The demo world has a network and a VIF per VM.
        assert o.objs("network") and o.objs("VIF"), o.all

    def test_vif_list_filters(self):
        o = Oracle(D)
        ok = vm(D, "demo-ok")
        uuid = D.api("VM.get_uuid", ok)
        vifs = D.api("VM.get_VIFs", ok)
        assert vifs
        check(xe("vif-list", "vm-uuid=" + uuid, "--minimal", port=D.port),
              (0, ",".join(D.api("VIF.get_uuid", v) for v in vifs) + "\n",
               ""))
        check(xe("vif-list", "vm-name-label=demo-ok",
                 "params=uuid,vm-name-label,network-uuid,MAC", port=D.port),
              (0, "".join(o.record("VIF", D.api("VIF.get_record", v),
                                   ["uuid", "vm-name-label", "network-uuid",
                                    "MAC"]) for v in vifs), ""))
        net = D.api("VIF.get_network", vifs[0])
        check(xe("network-list", "VIFs:contains=" +
                 D.api("VIF.get_uuid", vifs[0]), "params=uuid",
                 port=D.port),
              (0, layout([("uuid ( RO)", D.api("network.get_uuid", net))]),
               ""))
        check(xe("vif-list", "vm-uuid=none", port=D.port), (0, "", ""))

    def test_param_list_every_class(self):
        o = Oracle(D)
        checked = 0
        for cli, cls in (("vm", "VM"), ("sr", "SR"), ("vdi", "VDI"),
                         ("vbd", "VBD"), ("host", "host"),
                         ("network", "network"), ("vif", "VIF"),
                         ("pif", "PIF"), ("host-cpu", "host_cpu"),
                         ("console", "console")):
            for rec in o.objs(cls).values():
                check((cli, xe(cli + "-param-list", "uuid=" + rec["uuid"],
                               port=D.port)),
                      (cli, (0, o.record(cls, rec), "")))
                checked += 1
        assert checked > 0

    def test_vm_param_list_lines(self):
        ok = vm(D, "demo-ok")
        uuid = D.api("VM.get_uuid", ok)
        status, out, err = xe("vm-param-list", "uuid=" + uuid, port=D.port)
        check((status, err), (0, ""))
        lines = out.split("\n")
        width = lines[0].index(": ")
        check(lines[0], "uuid ( RO)".ljust(width) + ": " + uuid)
        # Exact lines, padded to the longest name.
        for key, val in (("name-label ( RW)", "demo-ok"),
                         ("name-description ( RW)", "Starts fine"),
                         ("power-state ( RO)", "halted"),
                         ("is-a-template ( RW)", "false"),
                         ("VBDs (SRO)", "; ".join(
                             D.api("VBD.get_uuid", b)
                             for b in D.api("VM.get_VBDs", ok))),
                         ("other-config (MRW)", "")):
            line = key.rjust(width) + ": " + val
            assert line in lines, (line, out)
        check(lines[-3:], ["", "", ""])

    def test_console_of_running_vm(self):
        ok = vm(D, "demo-ok")
        check(xe("vm-start", "vm=demo-ok", port=D.port), (0, "", ""))
        try:
            (con,) = D.api("VM.get_consoles", ok)
            check(xe("console-list", "vm-name-label=demo-ok",
                     "params=vm-name-label,protocol", port=D.port),
                  (0, "vm-name-label ( RO)    : demo-ok\n"
                      "         protocol ( RO): RFB\n\n\n", ""))
            check(xe("console-param-get", "uuid=" + D.api(
                "console.get_uuid", con), "param-name=vm-uuid", port=D.port),
                  (0, D.api("VM.get_uuid", ok) + "\n", ""))
        finally:
            check(xe("vm-shutdown", "vm=demo-ok", "--force", port=D.port),
                  (0, "", ""))

    def test_param_list_errors(self):
        info = fx.fails(D.api, "VIF.get_by_uuid", "no-such-uuid")
        check(xe("vif-param-list", "uuid=no-such-uuid", port=D.port),
              (1, "", error_text(info)))


def failing_task(srv, vm):
    """Runs Async.VM.start on vm through the API; its finished task."""
    task = srv.api("Async.VM.start", vm, False, False)
    check(wait_task(srv, task), "failure")
    return task


class VmOperations(unittest.TestCase):
    """vm-start and vm-shutdown."""

    def test_vm_start_and_shutdown(self):
        ok = vm(D, "demo-ok")
        uuid = D.api("VM.get_uuid", ok)
        check(xe("vm-start", "vm=demo-ok", port=D.port), (0, "", ""))
        check(D.api("VM.get_power_state", ok), "Running")
        check(xe("vm-start", "vm=" + uuid, port=D.port),
              (1, "", error_text(["VM_BAD_POWER_STATE", ok, "halted",
                                  "running"])))
        check(xe("vm-shutdown", "vm=demo-ok", port=D.port), (0, "", ""))
        check(D.api("VM.get_power_state", ok), "Halted")
        check(xe("vm-shutdown", "uuid=" + uuid, port=D.port),
              (1, "", error_text(["VM_BAD_POWER_STATE", ok, "running",
                                  "halted"])))
        # The task was destroyed once read, as upstream's xe does.
        check([t for t in records("task")
               if t["name_label"].endswith("VM.start")], [])

    def test_vm_shutdown_force_is_hard(self):
        flaky = vm(L, "flaky")
        check(xe("vm-start", "vm=flaky", port=L.port), (0, "", ""))
        check(xe("vm-shutdown", "vm=flaky", port=L.port),
              (1, "", error_text(["SR_BACKEND_FAILURE_97", "",
                                  "deactivate refused", ""])))
        check(L.api("VM.get_power_state", flaky), "Running")
        check(xe("vm-shutdown", "vm=flaky", "force=true", port=L.port),
              (0, "", ""))
        check(L.api("VM.get_power_state", flaky), "Halted")

    def test_vm_selection_errors(self):
        check(xe("vm-start", "vm=no-such-vm", port=D.port),
              (1, "", "Error: No matching VMs found\n"))
        # Templates are never selected, as upstream's xe.
        check(xe("vm-start", "vm=demo-template", port=D.port),
              (1, "", "Error: No matching VMs found\n"))
        check(xe("vm-start", "power-state=halted", port=D.port),
              (1, "", "Error: Multiple matches VMs found. --multiple required "
               "to complete the operation\n"))
        check(xe("vm-start", "vm=demo-ok", "bogus=1", port=D.port),
              (2, "", "Unknown field 'bogus'\n" + USAGE_TAIL))

    def test_vm_start_multiple(self):
        bad = L.api("VM.get_by_uuid", U % 4)
        check(xe("vm-start", "name-description=multi", "--multiple",
                 port=L.port),
              (1, "operation failed on %s: SR_BACKEND_FAILURE_98: "
               "[ ; attach refused;  ]\n" % (U % 4), ""))
        check(L.api("VM.get_power_state", L.api("VM.get_by_uuid", U % 1)),
              "Running")
        check(L.api("VM.get_power_state", bad), "Halted")
        check(xe("vm-shutdown", "vm=lit,vm", port=L.port), (0, "", ""))

    def test_vm_requires_sr(self):
        off = vm(D, "demo-offline")
        sr = D.api("SR.get_by_name_label", "offline-sr")[0]
        check(xe("vm-start", "vm=demo-offline", port=D.port),
              (1, "", error_text(["VM_REQUIRES_SR", off, sr])))

    def test_vm_start_demo_fail_trace(self):
        task = failing_task(D, vm(D, "demo-fail"))
        info = D.api("task.get_error_info", task)
        trace = D.api("task.get_backtrace", task)
        D.api("task.destroy", task)
        # FAILSR's error for the data disk (server/plugins/FAILSR).
        data = D.api("VBD.get_VDI", D.api("VM.get_VBDs",
                                          vm(D, "demo-fail"))[1])
        check(info, ["SR_BACKEND_FAILURE_46", "",
                     "The VDI is not available [opterr=/dev/xbt-fail/%s is "
                     "locked by another host]" % D.api("VDI.get_uuid", data),
                     ""])
        frames = frames_of(trace)
        # The plugin's Python frames first, then xbtd's, and nothing else.
        split = next(i for i, f in enumerate(frames) if f["process"] == PROC)
        assert split > 0, frames
        assert all(f["process"] != PROC for f in frames[:split]), frames
        assert all(f["process"] == PROC for f in frames[split:]), frames

        check(xe("vm-start", "vm=demo-fail", port=D.port),
              (1, "", error_text(info)))
        want = (1, "", error_text(info, trace))
        check(xe("vm-start", "vm=demo-fail", "--trace", port=D.port), want)
        check(xe("vm-start", "vm=demo-fail", port=D.port,
                 env={"XE_EXTRA_ARGS": "--trace"}), want)
        # One frame line per frame of the task, in order.
        err = xe("vm-start", "vm=demo-fail", "--trace", port=D.port)[2]
        lines = err.split("Backtrace:\n", 1)[1].splitlines()
        check(len(lines), len(frames))

    def test_task_cancelled_while_waiting(self):
        release = os.path.join(SM_DIR, "release")
        if os.path.exists(release):
            os.unlink(release)
        p = subprocess.Popen([XE, "vm-start", "vm=slow", "-p", str(L.port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, HOME=HOME))
        task = None
        for _ in range(3000):
            pending = [r for r, t in L.api("task.get_all_records").items()
                       if t["status"] == "pending"]
            if pending:
                task = pending[0]
                break
            time.sleep(0.01)
        assert task, "no pending task"
        status, out, err = xe("task-cancel", "uuid=" + L.api("task.get_uuid",
                                                              task),
                              port=L.port)
        check((status, out, err), (0, "", ""))
        open(release, "w").close()
        out, err = p.communicate(timeout=60)
        check((p.returncode, out, err),
              (1, "", error_text(["TASK_CANCELLED", task])))
        check(L.api("VM.get_power_state", vm(L, "slow")), "Halted")


class Tasks(unittest.TestCase):
    """task-list, task-param-get, task-cancel, task-destroy."""

    def test_task_list_and_param_get(self):
        task = failing_task(D, vm(D, "demo-fail"))
        try:
            t = D.api("task.get_record", task)
            status, out, err = xe("task-list", "uuid=" + t["uuid"],
                                  port=D.port)
            check((status, err), (0, ""))
            check(out, layout([("uuid ( RO)", t["uuid"]),
                               ("name-label ( RO)", t["name_label"]),
                               ("name-description ( RO)",
                                t["name_description"]),
                               ("status ( RO)", "failure"),
                               ("progress ( RO)", "1.")]))
            check(xe("task-param-get", "uuid=" + t["uuid"],
                     "param-name=backtrace", port=D.port),
                  (0, t["backtrace"] + "\n", ""))
            check(xe("task-param-get", "uuid=" + t["uuid"],
                     "param-name=error-info", port=D.port),
                  (0, "; ".join(t["error_info"]) + "\n", ""))
            check(xe("task-param-get", "uuid=" + t["uuid"],
                     "param-name=status", port=D.port), (0, "failure\n", ""))
        finally:
            D.api("task.destroy", task)

    def test_task_cancel_and_destroy(self):
        task = D.api("task.create", "xe-test", "pending")
        uuid = D.api("task.get_uuid", task)
        check(xe("task-cancel", "uuid=" + uuid, port=D.port), (0, "", ""))
        check(D.api("task.get_status", task), "cancelling")
        info = fx.fails(D.api, "task.cancel", task)
        check(xe("task-cancel", "uuid=" + uuid, port=D.port),
              (1, "", error_text(info)))
        check(xe("task-destroy", "uuid=" + uuid, port=D.port), (0, "", ""))
        info = fx.fails(D.api, "task.get_by_uuid", uuid)
        check(xe("task-destroy", "uuid=" + uuid, port=D.port),
              (1, "", error_text(info)))
        check(xe("task-list", "uuid=" + uuid, port=D.port), (0, "", ""))


# A master whose world declares h2 with a local SR of two disks.
POOL_WORLD = """<world>
  <host name="h2"/>
  <sr name="h2-local" type="DEMO" host="h2">
    <vdi name="h2-disk-a"/>
    <vdi name="h2-disk-b"/>
  </sr>
  <sr name="h1-local" type="DEMO"><vdi name="h1-disk"/></sr>
</world>
"""

JOIN_NOTICE = ("Host agent will restart and attempt to join pool in 1. "
               "seconds...\n")
EJECT_NOTICE = ("Specified host will attempt to restart as a master of a "
                "new pool in 1. seconds...\n")
EJECT_WARNING = ("WARNING: Ejecting a host from the pool will reinitialise "
                 "that host's local SRs.\nWARNING: Any data contained with "
                 "the local SRs will be lost.\n")


def until(pred, what, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def login_error(host):
    """Root's login on host: None, its ErrorDescription, or "down" while
    it restarts."""
    try:
        fx.XmlRpc(host.url).raw("session.login_with_password", "root",
                                fx.ROOT_PASSWORD, "1.0", "t")
    except fx.XenAPIError as e:
        return e.desc
    except OSError:
        return "down"
    return None


class Pool(unittest.TestCase):
    """pool-join and pool-eject between two hosts on 127.0.0.1 and .2."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="test_xe.pool.")
        world = os.path.join(self.dir, "world.xml")
        with open(world, "w") as f:
            f.write(POOL_WORLD)
        self.hosts = fx.Hosts(2, ["--log-level", "error", "--heartbeat", "1"])
        self.hosts.start()
        self.master, self.slave = self.hosts
        # The master reloads its world with the declared host.
        self.master.stop()
        self.master = fx.Xbtd(["--hostname", "h1", "--log-level", "error",
                               "--world", world], address="127.0.0.1",
                              port=self.hosts.port).start()
        self.hosts.hosts[0] = self.master

    def tearDown(self):
        try:
            self.hosts.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def on(self, host, *args, stdin=""):
        return xe("-s", host.address, *args, port=self.hosts.port,
                  stdin=stdin)

    def join(self):
        check(self.on(self.slave, "pool-join", "master-address=127.0.0.1",
                      "master-username=root",
                      "master-password=" + fx.ROOT_PASSWORD),
              (0, JOIN_NOTICE, ""))
        until(lambda: login_error(self.slave) == ["HOST_IS_SLAVE",
                                                  "127.0.0.1"],
              "the slave's restart")

    def test_join_then_eject(self):
        self.join()
        status, out, err = self.on(self.master, "host-list",
                                   "params=name-label", "--minimal")
        check((status, sorted(out.strip().split(",")), err),
              (0, ["h1", "h2"], ""))
        h2 = self.master.api("host.get_by_name_label", "h2")[0]
        uuid = self.master.api("host.get_uuid", h2)
        vdis = sorted("VDI: %s (%s)\n" % (
            self.master.api("VDI.get_uuid", v), name) for name in
            ("h2-disk-a", "h2-disk-b")
            for v in self.master.api("VDI.get_by_name_label", name))
        warned = EJECT_WARNING + ("The following VDI objects will be "
                                  "destroyed:\n") + "".join(vdis) + (
            "Type 'yes' to continue\n")
        # Anything but yes leaves the host in the pool.
        check(self.on(self.master, "pool-eject", "host-uuid=" + uuid,
                      stdin="no\n"), (0, warned, ""))
        check(self.master.api("host.get_uuid", h2), uuid)
        check(self.on(self.master, "pool-eject", "host-uuid=" + uuid,
                      stdin=" YES \n"), (0, warned + EJECT_NOTICE, ""))
        until(lambda: login_error(self.slave) is None,
              "the ejected host's restart as a master")
        check(self.on(self.master, "host-list", "params=name-label",
                      "--minimal"), (0, "h1\n", ""))

    def test_eject_force_asks_nothing(self):
        self.join()
        uuid = self.master.api("host.get_uuid", self.master.api(
            "host.get_by_name_label", "h2")[0])
        check(self.on(self.master, "pool-eject", "host-uuid=" + uuid,
                      "--force"), (0, EJECT_NOTICE, ""))
        until(lambda: login_error(self.slave) is None,
              "the ejected host's restart as a master")

    def test_eject_master_refused(self):
        uuid = self.master.api("host.get_uuid", self.master.api(
            "host.get_by_name_label", "h1")[0])
        check(self.on(self.master, "pool-eject", "host-uuid=" + uuid,
                      "--force"),
              (1, "", error_text(["OPERATION_NOT_ALLOWED",
                                  "Cannot eject the pool master"])))

    def test_join_unreachable_master_is_a_notice(self):
        # As upstream's xe: printed, exit status 0, the host unchanged.
        check(self.on(self.slave, "pool-join", "master-address=127.0.0.9",
                      "master-username=root", "master-password=x"),
              (0, "Host cannot contact destination host: connection "
               "refused.\nCheck destination host has services running and "
               "accessible from this host.\n", ""))
        check(login_error(self.slave), None)

    def test_join_wrong_master_password_is_the_masters_error(self):
        info = fx.fails(fx.XmlRpc(self.master.url).raw,
                        "session.login_with_password", "root", "wrong",
                        "1.0", "t")
        check(self.on(self.slave, "pool-join", "master-address=127.0.0.1",
                      "master-username=root", "master-password=wrong"),
              (1, "", error_text(info)))
        check(login_error(self.slave), None)

    def test_join_parameters_required(self):
        check(self.on(self.slave, "pool-join", "master-address=127.0.0.1",
                      "master-username=root"),
              (2, "", "Required parameter not found: master-password\n" +
               USAGE_TAIL))


if __name__ == "__main__":
    fx.run()
