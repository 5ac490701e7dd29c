#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Text beyond ASCII, and JSON numbers, against a real xbtd (issue 9).

The contract: any valid UTF-8 string round-trips exactly in every string
field, on XML-RPC and JSON-RPC, set on one and read on the other, through
get_<field>, get_record, get_all_records and event.from snapshots; text
that is not valid UTF-8 keeps its treatment (XML-RPC refuses it, JSON's
lone surrogates and NUL become \\xNN text); JSON numbers follow RFC 8259
(exponents accepted, `-0.` `01` `.5` refused) and an int param takes an
integral double. A plugin's error text keeps its emoji in error_info, in
task.backtrace (sexplib's \\DDD escapes) and in `xe --trace`.

Every test starts an xbtd of its own: a crash in one (as today's xmlrpc-c
1.33 aborts on emoji) does not hide what the others would show.
Bodies that need exact bytes (character references, \\u escapes, lone
surrogates, malformed numbers) are written by hand and sent with
http.client.
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

HOST = "h1"
XE = os.path.join(fx.BUILDDIR, "cli", "xe")
FIXTURE_DIR = os.path.join(fx.BUILDDIR, "tests", "plugins")
PLUGIN_SRC = os.path.join(fx.SRCDIR, "tests", "plugins", "UNICODESR")
KIT_SRC = os.path.join(fx.SRCDIR, "api", "python", "xbtsm.py")
KIT_MARK = "# xbtsm: the plugin's frames start here"
TASK_TIMEOUT = 180.0

EMOJI = "\U0001f600"
CJK_B_FIRST = "\U00020000"
CJK_B_LAST = "\U0002a6d6"
ZWJ_FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
FLAG_FR = "\U0001f1eb\U0001f1f7"
PRIVATE_USE = "\ue000\ue3ff\ue400\ue7ff\ue800\uf8ff"

# name -> text. The private-use characters are there because a fix may
# borrow part of that area internally: they must come back as sent.
GOLDEN = {
    "emoji": EMOJI,
    "cjk_ext_b_first": CJK_B_FIRST,
    "cjk_ext_b_last": CJK_B_LAST,
    "combining_e_acute": "e\u0301",
    "combining_z": "Z\u0324\u0308",
    "zwj_family": ZWJ_FAMILY,
    "flag_fr": FLAG_FR,
    "u10000": "\U00010000",
    "u10ffff": "\U0010ffff",
    "replacement": "\ufffd",
    "pua_e000": "\ue000",
    "pua_e3ff": "\ue3ff",
    "pua_e400": "\ue400",
    "pua_e7ff": "\ue7ff",
    "pua_e800": "\ue800",
    "pua_f8ff": "\uf8ff",
    "pua_run": PRIVATE_USE,
    "pua_around_emoji": "\ue000" + EMOJI + "\ue7ff\ue800" + CJK_B_LAST +
                        "\uf8ff",
    "bmp_edges": "\u0080\u07ff\u0800\ud7ff\uffef",
    "mixed_ascii": "VM <&> 'q' \"d\" ]]> " + EMOJI + " caf\u00e9 \u4e2d " +
                   CJK_B_FIRST + " e\u0301 " + FLAG_FR + " end",
    "all_in_one": (EMOJI + CJK_B_FIRST + CJK_B_LAST + "e\u0301Z\u0324\u0308" +
                   ZWJ_FAMILY + FLAG_FR + "\U00010000\U0010ffff\ufffd" +
                   PRIVATE_USE),
}
LONG = EMOJI * 3000
# One short name used where a single value is enough.
NAME = "\U0001f600 \U00020000\U0002a6d6 e\u0301 \U0001f1eb\U0001f1f7 \ue000"


# ---- the wire ---------------------------------------------------------------

class Failure(AssertionError):
    """A XenAPI failure where a test wanted a value: desc is [code,
    params...]."""

    def __init__(self, desc):
        super().__init__(desc)
        self.desc = list(desc)


def check_strings(value, where):
    """Every string in value is encodable as UTF-8 (no lone surrogates
    slipped through a \\u escape of the reply)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise AssertionError("%s: string not UTF-8: %r (%s)"
                                 % (where, value[:80], e))
    elif isinstance(value, dict):
        for k, v in value.items():
            check_strings(k, where)
            check_strings(v, where)
    elif isinstance(value, list):
        for v in value:
            check_strings(v, where)


def no_constant(name):
    raise AssertionError("reply has the non-JSON number %s" % name)


def decode_json_reply(data):
    """A JSON-RPC reply body: valid UTF-8 and strict JSON, or
    AssertionError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("JSON reply is not UTF-8 (%s): %r"
                             % (e, data[:200]))
    try:
        reply = json.loads(text, parse_constant=no_constant)
    except ValueError as e:
        raise AssertionError("reply is not JSON (%s): %r" % (e, data[:200]))
    check_strings(reply, "JSON reply")
    return reply


def decode_xml_reply(data):
    """The response struct of an XML-RPC reply body: valid UTF-8 and
    well-formed (expat checks character references too)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("XML-RPC reply is not UTF-8 (%s): %r"
                             % (e, data[:200]))
    r = fx.parse_response(data)
    check_strings(r, "XML-RPC reply")
    return r


def xml_text(s, refs=None):
    """s as XML text: &<> escaped; non-ASCII raw (refs None), or every
    non-ASCII character as a hexadecimal ("hex", "HEX") or decimal ("dec")
    character reference."""
    out = []
    for ch in s:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ord(ch) < 0x80 or refs is None:
            out.append(ch)
        elif refs == "hex":
            out.append("&#x%x;" % ord(ch))
        elif refs == "HEX":
            out.append("&#x%X;" % ord(ch))
        else:
            out.append("&#%d;" % ord(ch))
    return "".join(out)


def xml_call(method, *params, refs=None):
    """An XML-RPC methodCall of string params, written by hand."""
    body = "".join("<param><value>%s</value></param>" % xml_text(p, refs)
                   for p in params)
    return ("<?xml version=\"1.0\"?><methodCall><methodName>%s</methodName>"
            "<params>%s</params></methodCall>" % (method, body)
            ).encode("utf-8")


def json_call(method, params, ascii=False, rid=1):
    """A JSON-RPC v2 request; ascii: every non-ASCII character as \\uXXXX
    (surrogate pairs beyond the BMP), else raw UTF-8."""
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params,
                       "id": rid}, ensure_ascii=ascii).encode("utf-8")


def json_lit(s):
    """A JSON string literal written by hand: s is the text between the
    quotes, escapes included."""
    return '"%s"' % s


class Wire:
    """One xbtd, both protocols; calls return Value or raise Failure."""

    def __init__(self, xbtd):
        self.xbtd = xbtd
        self.session = xbtd.session

    def post(self, body, path, ctype):
        conn = self.xbtd.connection(timeout=30)
        try:
            status, _r, data = fx.post(conn, body, path,
                                       {"Content-Type": ctype})
        except (ConnectionError, http.client.HTTPException) as e:
            raise AssertionError("no answer (%r); xbtd %s" % (e,
                                                             self.state()))
        finally:
            conn.close()
        if status != 200:
            raise AssertionError("HTTP %d: %r" % (status, data[:200]))
        return data

    def state(self):
        """Whether xbtd runs, and its fatal line if it died."""
        try:
            self.xbtd.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "still runs"
        fatal = [ln for ln in self.xbtd.stderr().splitlines()
                 if "fatal" in ln]
        return "died with status %d: %s" % (self.xbtd.proc.returncode,
                                            " | ".join(fatal)[-600:])

    # XML-RPC
    def xml_raw(self, body):
        r = decode_xml_reply(self.post(body, "/", "text/xml"))
        if not isinstance(r, dict) or r.get("Status") not in ("Success",
                                                              "Failure"):
            raise AssertionError("not a XenAPI response: %r" % (r,))
        if r["Status"] == "Failure":
            raise Failure(r["ErrorDescription"])
        return r["Value"]

    def xml(self, method, *params):
        """xmlrpc.client's encoding (raw UTF-8), checked reply."""
        return self.xml_raw(fx.call_xml(method, self.session, *params))

    # JSON-RPC
    def json_raw(self, body):
        r = decode_json_reply(self.post(body, "/jsonrpc",
                                        "application/json"))
        if not isinstance(r, dict):
            raise AssertionError("reply not an object: %r" % (r,))
        err = r.get("error")
        if err is not None:
            if isinstance(err, dict):
                raise Failure([err.get("message")] + list(err.get("data")
                                                          or []))
            raise Failure(err)
        if "result" not in r:
            raise AssertionError("reply has no result: %r" % (r,))
        return r["result"]

    def json(self, method, *params, ascii=False):
        return self.json_raw(json_call(method, [self.session] + list(params),
                                       ascii=ascii))

    def call(self, proto, method, *params):
        """proto: "xml", "json" (raw UTF-8) or "json-ascii" (\\u escapes)."""
        if proto == "xml":
            return self.xml(method, *params)
        return self.json(method, *params, ascii=proto == "json-ascii")

    def alive(self):
        return self.xml("pool.get_all")


PROTOS = ("xml", "json", "json-ascii")
READERS = ("xml", "json")


class UnicodeCase(unittest.TestCase):
    """A fresh xbtd per test, stopped (exit status 0, no sanitizer report)
    after it."""

    xbtd_args = ("--hostname", HOST)
    maxDiff = None

    def setUp(self):
        self.xbtd = fx.Xbtd(self.xbtd_args).start()
        self.addCleanup(self.stop_xbtd)
        self.session = self.xbtd.session
        self.w = Wire(self.xbtd)

    def stop_xbtd(self):
        try:
            self.xbtd.stop()
        except fx.ServerError as e:
            # Report a dead server once: a test that already failed (most
            # often because of it) says enough.
            result = self._outcome.result
            if not any(t is self for t, _ in result.errors +
                       result.failures):
                self.fail(str(e))

    def fails(self, fn, *args):
        """The ErrorDescription of a call that must fail."""
        try:
            v = fn(*args)
        except Failure as e:
            return e.desc
        self.fail("%s%r succeeded with %r" % (getattr(fn, "__name__", fn),
                                              args[:3], v))

    def vm(self, name="demo-ok"):
        refs = self.w.xml("VM.get_by_name_label", name)
        self.assertEqual(len(refs), 1, name)
        return refs[0]

    def read_everywhere(self, cls, ref, field):
        """field of ref read through get_<field>, get_record and
        get_all_records on both protocols: {(how, proto): value}."""
        got = {}
        for p in READERS:
            got[("get_" + field, p)] = self.w.call(p, "%s.get_%s" % (cls,
                                                                     field),
                                                   ref)
            got[("get_record", p)] = self.w.call(p, cls + ".get_record",
                                                 ref)[field]
            got[("get_all_records", p)] = self.w.call(
                p, cls + ".get_all_records")[ref][field]
        return got

    def mismatches(self, cls, ref, field, want, label):
        """Where field of ref does not read as want (a list of text)."""
        got = self.read_everywhere(cls, ref, field)
        bad = ["%s %s via %s: got %r" % (label, how, p, v[:40])
               for (how, p), v in sorted(got.items()) if v != want]
        return bad


# ---- round trips ------------------------------------------------------------

class RoundTrip(UnicodeCase):

    def set_and_read_vm(self, field, proto):
        vm = self.vm()
        bad = []
        for label, text in list(GOLDEN.items()) + [("long", LONG)]:
            self.w.call(proto, "VM.set_" + field, vm, text)
            bad += self.mismatches("VM", vm, field, text, label)
        self.assertEqual(bad, [])
        self.w.alive()

    def test_bmp_golden_strings_each_protocol(self):
        # The golden strings within the BMP (private use, combining marks,
        # U+FFFD) work before issue 9's fix and must still work after it,
        # whatever it does with the private-use area.
        vm = self.vm()
        bad = []
        for proto in PROTOS:
            for label, text in GOLDEN.items():
                if max(map(ord, text)) < 0x10000:
                    self.w.call(proto, "VM.set_name_label", vm, text)
                    bad += self.mismatches("VM", vm, "name_label", text,
                                           "%s/%s" % (proto, label))
        self.assertEqual(bad, [])

    def test_name_label_set_over_xmlrpc(self):
        self.set_and_read_vm("name_label", "xml")

    def test_name_label_set_over_json_raw_utf8(self):
        self.set_and_read_vm("name_label", "json")

    def test_name_label_set_over_json_u_escapes(self):
        self.set_and_read_vm("name_label", "json-ascii")

    def test_name_description_each_protocol(self):
        for proto in PROTOS:
            self.set_and_read_vm("name_description", proto)

    def test_xmlrpc_character_references(self):
        # &#x1F600; &#x1f600; &#128512;, and a <string> value.
        vm = self.vm()
        bad = []
        for refs in ("hex", "HEX", "dec"):
            for label, text in GOLDEN.items():
                self.w.xml_raw(xml_call("VM.set_name_label", self.session,
                                        vm, text, refs=refs))
                bad += self.mismatches("VM", vm, "name_label", text,
                                       "%s/%s" % (refs, label))
        body = ("<methodCall><methodName>VM.set_name_label</methodName>"
                "<params><param><value><string>%s</string></value></param>"
                "<param><value><string>%s</string></value></param><param>"
                "<value><string>a&#x1F600;b&#128512;c\U0001f600d</string>"
                "</value></param></params></methodCall>"
                % (self.session, vm)).encode("utf-8")
        self.w.xml_raw(body)
        bad += self.mismatches("VM", vm, "name_label",
                               "a" + EMOJI + "b" + EMOJI + "c" + EMOJI + "d",
                               "<string>")
        self.assertEqual(bad, [])

    def test_json_escape_forms(self):
        # Upper- and lower-case hex, escaped and raw side by side, an
        # escaped BMP character, an escaped quote next to a pair.
        vm = self.vm()
        forms = [
            ("\\ud83d\\ude00", EMOJI),
            ("\\uD83D\\uDE00", EMOJI),
            ("\\uD83d\\uDe00", EMOJI),
            ("\\ud840\\udc00\\ud869\\uded6", CJK_B_FIRST + CJK_B_LAST),
            ("\\ud800\\udc00\\udbff\\udfff", "\U00010000\U0010ffff"),
            ("a\\ud83d\\ude00" + EMOJI + "\\u00e9e\\u0301", "a" + EMOJI * 2 +
             "\u00e9e\u0301"),
            ("\\\"\\ud83d\\ude00\\\\", "\"" + EMOJI + "\\"),
            ("\\ue000\\ue3ff\\ue400\\ue7ff\\ue800\\uf8ff", PRIVATE_USE),
            ("\\ue000\\ud83d\\ude00\\uf8ff", "\ue000" + EMOJI + "\uf8ff"),
            ("\\ufffd", "\ufffd"),
        ]
        bad = []
        for lit, want in forms:
            body = ('{"jsonrpc":"2.0","method":"VM.set_name_label","params":'
                    '["%s","%s",%s],"id":7}' % (self.session, vm,
                                                json_lit(lit))
                    ).encode("utf-8")
            self.assertEqual(self.w.json_raw(body), "")
            bad += self.mismatches("VM", vm, "name_label", want, lit)
        self.assertEqual(bad, [])

    def test_task_create_and_records(self):
        # task.create takes both strings in the request; each protocol
        # creates, both read.
        bad = []
        for proto in PROTOS:
            for label, text in GOLDEN.items():
                desc = "d " + text
                t = self.w.call(proto, "task.create", text, desc)
                for p in READERS:
                    rec = self.w.call(p, "task.get_record", t)
                    if (rec["name_label"], rec["name_description"]) != \
                            (text, desc):
                        bad.append("%s %s read over %s: %r" % (
                            proto, label, p, (rec["name_label"][:40],
                                              rec["name_description"][:40])))
                    allr = self.w.call(p, "task.get_all_records")[t]
                    if allr["name_label"] != text:
                        bad.append("%s %s get_all_records over %s" % (
                            proto, label, p))
                self.w.xml("task.destroy", t)
        self.assertEqual(bad, [])

    def test_other_config_keys_and_values(self):
        vm = self.vm()
        pairs = {label + " " + text: text + " v" for label, text in
                 GOLDEN.items()}
        pairs[EMOJI] = LONG
        pairs[CJK_B_FIRST + "k"] = ""
        for i, (k, v) in enumerate(sorted(pairs.items())):
            self.w.call(PROTOS[i % 3], "VM.add_to_other_config", vm, k, v)
        for p in READERS:
            self.assertEqual(self.w.call(p, "VM.get_other_config", vm),
                             pairs, p)
            self.assertEqual(self.w.call(p, "VM.get_record", vm)
                             ["other_config"], pairs, p)
        # Keys with emoji are found again: removal on each protocol.
        for i, k in enumerate(sorted(pairs)):
            self.w.call(PROTOS[i % 3], "VM.remove_from_other_config", vm, k)
        self.assertEqual(self.w.json("VM.get_other_config", vm), {})
        self.assertEqual(self.w.xml("VM.get_other_config", vm), {})
        # A whole map: the keys travel as struct member names / JSON
        # object keys, another path through each parser.
        for proto in PROTOS:
            self.w.call(proto, "VM.set_other_config", vm, pairs)
            for p in READERS:
                self.assertEqual(self.w.call(p, "VM.get_other_config", vm),
                                 pairs, "%s->%s" % (proto, p))
            self.w.xml("VM.set_other_config", vm, {})

    def test_get_by_name_label_with_emoji(self):
        vm = self.vm()
        self.w.xml("VM.set_name_label", vm, NAME)
        for proto in PROTOS:
            self.assertEqual(self.w.call(proto, "VM.get_by_name_label",
                                         NAME), [vm], proto)
        # Not matched by a prefix nor by its first code unit.
        self.assertEqual(self.w.json("VM.get_by_name_label", NAME[:-1]), [])
        self.assertEqual(self.w.xml("VM.get_by_name_label", EMOJI), [])

    def test_event_snapshots(self):
        vm = self.vm()
        bad = []
        for proto in PROTOS:
            for reader in READERS:
                token = self.w.call(reader, "event.from", ["vm", "task"], "",
                                    0.0)["token"]
                text = GOLDEN["all_in_one"] + " " + proto
                self.w.call(proto, "VM.set_name_label", vm, text)
                self.w.call(proto, "VM.add_to_other_config", vm, EMOJI,
                            FLAG_FR)
                t = self.w.call(proto, "task.create", text, ZWJ_FAMILY)
                seen = self.events_until(reader, token, vm, t)
                snaps = [e["snapshot"] for e in seen
                         if e["ref"] == vm and e["operation"] == "mod"]
                last = snaps[-1] if snaps else {}
                if (last.get("name_label"), last.get("other_config")) != \
                        (text, {EMOJI: FLAG_FR}):
                    bad.append("VM snapshot %s->%s: %r" % (
                        proto, reader, [(s["name_label"], s["other_config"])
                                        for s in snaps]))
                adds = [e["snapshot"] for e in seen
                        if e["ref"] == t and e["operation"] == "add"]
                if [(s["name_label"], s["name_description"])
                        for s in adds] != [(text, ZWJ_FAMILY)]:
                    bad.append("task snapshot %s->%s: %r" % (proto, reader,
                                                             adds))
                self.w.xml("VM.remove_from_other_config", vm, EMOJI)
                self.w.xml("task.destroy", t)
        self.assertEqual(bad, [])

    def events_until(self, proto, token, vm, task):
        """event.from over proto until the task's add and a mod of vm
        arrived; the events seen."""
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = self.w.call(proto, "event.from", ["vm", "task"], token, 2.0)
            token = r["token"]
            seen += r["events"]
            refs = {(e["ref"], e["operation"]) for e in seen}
            if (vm, "mod") in refs and (task, "add") in refs:
                return seen
        self.fail("no events for %s and %s: %r" % (vm, task, seen))


# ---- text that is not valid UTF-8 -------------------------------------------

def xml_refused(body, at, why):
    """XMLRPC_UNMARSHAL_FAILURE as xmlrpc-c 1.33 words expat's complaint
    about the byte at of body: the 40 bytes from it, escaped, then why."""
    window = "".join(chr(b) if 32 <= b < 127 else "\\x%02x" % b
                     for b in body[at:at + 40])
    return ["XMLRPC_UNMARSHAL_FAILURE", "methodCall",
            "Call is not valid XML.  Invalid XML \"content\".  Problem with "
            "token at '%s...': %s" % (window, why)]


def utf8_refused(value, why):
    """XMLRPC_UNMARSHAL_FAILURE as xmlrpc-c 1.33 words bad UTF-8 that expat
    let through, in the string value."""
    return ["XMLRPC_UNMARSHAL_FAILURE", "methodCall",
            "%d-byte supposed UTF-8 string is not valid UTF-8.  %s"
            % (len(value), why)]


class NotUtf8(UnicodeCase):

    def test_xmlrpc_invalid_utf8_is_refused(self):
        token = "Invalid token, starting 0 bytes in"
        for raw, why in (
                (b"\xff", token),
                (b"a\xc3(", "UTF-8 multibyte sequence contains character "
                 "0x28, which does not indicate continuation."),
                (b"\xed\xa0\xbd", token),
                (b"\xed\xa0\xbd\xed\xb8\x80", token),
                # A cut 4-byte sequence passes the pre-scan as it is.
                (b"\xf0\x9f\x98", "UTF-8 string contains a character not in "
                 "the Basic Multilingual Plane (first byte 0xfffffff0)"),
                (b"\xf0\x9f\x98\x80"[1:], token),
                (b"\xc0\xaf", "Overlong UTF-8 sequence not allowed"),
                (b"\xf4\x90\x80\x80", token),
                (b"\xf8\x88\x80\x80\x80", token)):
            body = (b"<methodCall><methodName>task.create</methodName>"
                    b"<params><param><value>" + self.session.encode() +
                    b"</value></param><param><value>x" + raw +
                    b"y</value></param><param><value></value></param>"
                    b"</params></methodCall>")
            want = xml_refused(body, body.index(raw), why) if why == token \
                else utf8_refused(b"x" + raw + b"y", why)
            self.assertEqual(self.fails(self.w.xml_raw, body), want, raw)
        self.assertEqual(self.w.xml("task.get_all"), [])
        self.w.alive()

    def test_xmlrpc_surrogate_reference_is_refused(self):
        # A reference to a surrogate is not a character: expat refuses it.
        for ref in ("&#xD83D;", "&#xD83D;&#xDE00;", "&#55357;"):
            body = ("<methodCall><methodName>task.create</methodName>"
                    "<params><param><value>%s</value></param><param><value>"
                    "x%sy</value></param><param><value></value></param>"
                    "</params></methodCall>" % (self.session, ref)).encode()
            self.assertEqual(self.fails(self.w.xml_raw, body),
                             xml_refused(body, body.index(ref.encode()),
                                         "reference to invalid character "
                                         "number"), ref)
        self.w.alive()

    def create_json(self, lit):
        body = ('{"jsonrpc":"2.0","method":"task.create","params":["%s",%s,'
                '""],"id":3}' % (self.session, json_lit(lit))).encode()
        return self.w.json_raw(body)

    def test_json_lone_surrogates_become_xNN_text(self):
        # The UTF-8 form of a lone surrogate is not UTF-8: the text-safety
        # rule spells its three bytes as \xNN.
        cases = [
            ("a\\ud83dz", "a\\xed\\xa0\\xbdz"),
            ("\\ud83d", "\\xed\\xa0\\xbd"),
            ("\\ude00", "\\xed\\xb8\\x80"),
            ("\\ude00\\ud83d", "\\xed\\xb8\\x80\\xed\\xa0\\xbd"),
            ("\\ud83dA", "\\xed\\xa0\\xbdA"),
            ("\\ud83d\\u0041", "\\xed\\xa0\\xbdA"),
            ("\\ud83d\\ud83d\\ude00", "\\xed\\xa0\\xbd" + EMOJI),
            ("\\ud83d" + EMOJI, "\\xed\\xa0\\xbd" + EMOJI),
        ]
        bad = []
        for lit, want in cases:
            t = self.create_json(lit)
            for p in READERS:
                got = self.w.call(p, "task.get_name_label", t)
                if got != want:
                    bad.append((lit, p, got))
        self.assertEqual(bad, [])
        self.w.alive()

    def test_json_nul_becomes_x00_text(self):
        t = self.create_json("a\\u0000b\\u0001c")
        for p in READERS:
            self.assertEqual(self.w.call(p, "task.get_name_label", t),
                             "a\\x00b\\x01c", p)


# ---- the crash of issue 9 ---------------------------------------------------

class Issue9Crash(UnicodeCase):

    def test_create_then_get_name_label_over_jsonrpc(self):
        # Exactly the three calls of the report, as bytes.
        login = self.w.json_raw(
            b'{"jsonrpc":"2.0","method":"session.login_with_password",'
            b'"params":["root","xbt","1.0","issue9"],"id":1}')
        t = self.w.json_raw(
            b'{"jsonrpc":"2.0","method":"task.create","params":["' +
            login.encode() + b'","\\ud83d\\ude00",""],"id":2}')
        name = self.w.json_raw(
            b'{"jsonrpc":"2.0","method":"task.get_name_label","params":["' +
            login.encode() + b'","' + t.encode() + b'"],"id":3}')
        self.assertIsNone(self.xbtd.proc.poll(), "xbtd died")
        pools = self.w.json_raw(
            b'{"jsonrpc":"2.0","method":"pool.get_all","params":["' +
            login.encode() + b'"],"id":4}')
        self.assertEqual(len(pools), 1)
        self.assertEqual(name, EMOJI)


# ---- JSON numbers -----------------------------------------------------------

class JsonNumbers(UnicodeCase):

    def head(self, method, ref):
        """A JSON-RPC call of method(session, ref, number) up to the
        number."""
        return '{"jsonrpc":"2.0","method":"%s","params":["%s","%s",' % (
            method, self.session, ref)

    def raw_call(self, method, ref, number):
        """method(session, ref, <number as written>) over JSON-RPC."""
        return self.w.json_raw(
            (self.head(method, ref) + '%s],"id":5}' % number).encode())

    def set_progress_forms(self, forms):
        """task.set_progress with each number as written; what went wrong."""
        t = self.w.xml("task.create", "numbers", "")
        bad = []
        for text, want in forms:
            self.w.xml("task.set_progress", t, 0.75)
            try:
                self.assertEqual(self.raw_call("task.set_progress", t, text),
                                 "")
            except Failure as e:
                bad.append((text, e.desc))
                continue
            for p in READERS:
                got = self.w.call(p, "task.get_progress", t)
                if not isinstance(got, (int, float)) or float(got) != want:
                    bad.append((text, p, got))
        return bad

    def test_float_param_plain_forms(self):
        self.assertEqual(self.set_progress_forms((
            ("0.5", 0.5), ("0", 0.0), ("1", 1.0), ("0.125", 0.125),
            ("-0.0", 0.0), ("-0", 0.0))), [])

    def test_float_param_exponents(self):
        self.assertEqual(self.set_progress_forms((
            ("1e-07", 1e-07), ("1E-07", 1e-07), ("5e-1", 0.5),
            ("2.5E-1", 0.25), ("1E+0", 1.0), ("1e0", 1.0), ("0e0", 0.0),
            ("0.125e+1", 1.25), ("-0e0", 0.0), ("3.5e-3", 0.0035))), [])

    def test_int_param_integral_forms(self):
        vm = self.w.xml("VM.get_all")[0]
        bad = []
        for text, want in (("7", 7), ("7.0", 7), ("7e0", 7), ("7E0", 7),
                           ("7.00", 7), ("1E+2", 100), ("1e2", 100),
                           ("-7.0", -7), ("70e-1", 7), ("0.0", 0)):
            self.w.xml("VM.set_user_version", vm, "1")
            try:
                self.assertEqual(self.raw_call("VM.set_user_version", vm,
                                               text), "")
            except Failure as e:
                bad.append((text, e.desc))
                continue
            got = (self.w.xml("VM.get_user_version", vm),
                   self.w.json("VM.get_user_version", vm))
            if got != (str(want), want):
                bad.append((text, got))
        self.assertEqual(bad, [])

    def not_integral(self, forms):
        vm = self.w.xml("VM.get_all")[0]
        self.w.xml("VM.set_user_version", vm, "3")
        for text, received in forms:
            ed = self.fails(self.raw_call, "VM.set_user_version", vm, text)
            # xbt_value_check's "received": the wire type and "%g".
            self.assertEqual(ed, ["XMLRPC_UNMARSHAL_FAILURE", "int",
                                  received], text)
        self.assertEqual(self.w.xml("VM.get_user_version", vm), "3")

    def test_int_param_not_integral(self):
        self.not_integral((("7.5", "double 7.5"), ("-0.5", "double -0.5")))

    def test_int_param_not_integral_exponents(self):
        self.not_integral((("75e-1", "double 7.5"),
                           ("7.25E0", "double 7.25")))

    # The text, api/json.c's complaint, and where in the text it stops
    # (from 0; len(text) is the "]" after it): the reply says that offset
    # of the whole body.
    BAD, SEP, CHAR = ("bad number", "expected ',' or ']'",
                      "unexpected character")
    MALFORMED = (("-0.", BAD, 3), ("01", SEP, 1), (".5", CHAR, 0),
                 ("1.", BAD, 2), ("+1", CHAR, 0), ("1e", BAD, 2),
                 ("0x10", SEP, 1), ("-", BAD, 1), ("1e+", BAD, 3),
                 ("1.e5", BAD, 2), ("-01", SEP, 2), ("00", SEP, 1),
                 ("0.e1", BAD, 2), ("--1", BAD, 1), ("1e1.5", SEP, 3),
                 ("NaN", CHAR, 0), ("Infinity", CHAR, 0),
                 ("-Infinity", BAD, 1))

    def test_malformed_numbers_are_refused(self):
        t = self.w.xml("task.create", "numbers", "")
        vm = self.w.xml("VM.get_all")[0]
        self.w.xml("task.set_progress", t, 0.75)
        self.w.xml("VM.set_user_version", vm, "3")
        bad = []
        for text, why, at in self.MALFORMED:
            for method, ref in (("task.set_progress", t),
                                ("VM.set_user_version", vm)):
                try:
                    v = self.raw_call(method, ref, text)
                    bad.append((method, text, "accepted", v))
                    continue
                except Failure as e:
                    ed = e.desc
                want = ["XMLRPC_UNMARSHAL_FAILURE", "JSON-RPC request",
                        "json: %s at byte %d" % (
                            why, len(self.head(method, ref)) + at)]
                if ed != want:
                    bad.append((method, text, ed, want))
        self.assertEqual(bad, [])
        self.assertEqual(self.w.json("task.get_progress", t), 0.75)
        self.assertEqual(self.w.xml("VM.get_user_version", vm), "3")
        self.w.alive()


# ---- a plugin's error text --------------------------------------------------

def sexp_atom(data):
    """sexplib's machine form of one atom (doc/backtraces.md), from bytes."""
    plain = data and not any(c <= 32 or c >= 127 or c in b'"();\\'
                             for c in data) and \
        b"#|" not in data and b"|#" not in data
    if plain:
        return data.decode("ascii")
    out = ['"']
    for c in data:
        if c in b'"\\':
            out.append("\\" + chr(c))
        elif c in b"\n\t\r\b":
            out.append({10: "\\n", 9: "\\t", 13: "\\r", 8: "\\b"}[c])
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\%03d" % c)
    return "".join(out) + '"'


def sexp_pair(key, text):
    atom = sexp_atom(text.encode("utf-8"))
    return "(%s%s%s)" % (key, "" if atom.startswith('"') else " ", atom)


def sexp_frame(process, filename, line, is_raise):
    return ("(" + sexp_pair("process", process) +
            sexp_pair("filename", filename) +
            "(line %d)(chars_start 0)(chars_end 0)(is_inline false)"
            "(is_raise %s))" % (line, "true" if is_raise else "false"))


def sexp_read(text):
    """A backtrace's frames as lists of (key, bytes) pairs; atoms are
    unescaped to the bytes they stand for."""
    pos = 0

    def value():
        nonlocal pos
        while text[pos] in " \n\t\r":
            pos += 1
        if text[pos] == "(":
            pos += 1
            items = []
            while True:
                while text[pos] in " \n\t\r":
                    pos += 1
                if text[pos] == ")":
                    pos += 1
                    return items
                items.append(value())
        if text[pos] != '"':
            m = re.compile(r'[^ \t\n\r()"]+').match(text, pos)
            pos = m.end()
            return m.group().encode("ascii")
        pos += 1
        out = bytearray()
        while text[pos] != '"':
            if text[pos] == "\\":
                nxt = text[pos + 1]
                if nxt.isdigit():
                    out.append(int(text[pos + 1:pos + 4]))
                    pos += 4
                    continue
                out += {"n": b"\n", "t": b"\t", "r": b"\r",
                        "b": b"\b"}.get(nxt, nxt.encode("ascii"))
                pos += 2
                continue
            out += text[pos].encode("ascii")
            pos += 1
        pos += 1
        return bytes(out)

    frames = value()
    assert pos == len(text), "trailing text in %r" % text[pos:pos + 40]
    return [{k.decode(): v for k, v in f} for f in frames]


def human(frames):
    """The human form of frames (doc/backtraces.md), as bytes."""
    out = b""
    for i, f in enumerate(frames):
        verb = (b"Raised at" if i == 0 else
                b"Re-raised at" if f["is_raise"] == b"true" else
                b"Called from")
        out += b"%d/%d %s %s " % (i + 1, len(frames), f["process"], verb)
        if "name" in f:
            out += f["name"] + b" in "
        out += b'file "%s"' % f["filename"]
        if f["is_inline"] == b"true":
            out += b" (inlined)"
        out += b", line %s" % f["line"]
        if int(f["chars_start"]) > 0:
            out += b", characters %s-%s" % (f["chars_start"], f["chars_end"])
        out += b"\n"
    return out


def line_of(path, needle):
    with open(path, encoding="utf-8") as f:
        hits = [i + 1 for i, ln in enumerate(f) if needle in ln]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


REASON = ("VDI \U0001f600 is locked by \U00020000\U0002a6d6 on "
          "\U0001f1eb\U0001f1f7 (e\u0301 \ue000\U0010ffff\uf8ff)")
STDERR = "stderr \U0001f600 \U00020000\n"
CODE = "SR_BACKEND_FAILURE_88"
WORLD_VM_NAME = (EMOJI + " " + CJK_B_FIRST + CJK_B_LAST + " e\u0301 " +
                 FLAG_FR + " \ue000\ue7ff\ue800\uf8ff\U0010ffff")


def xe(*args, port, home):
    env = dict(os.environ, HOME=home)
    env.pop("XE_EXTRA_ARGS", None)
    p = subprocess.run([XE] + list(args) + ["-p", str(port)],
                       capture_output=True, env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


class PluginText(UnicodeCase):
    """tests/worlds/unicode.xml with UNICODESR run from a directory whose
    name holds an emoji and a CJK Extension B character."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xbt-uni-")
        cls.sm_dir = os.path.join(cls.tmp, "sm-" + EMOJI + CJK_B_FIRST)
        os.mkdir(cls.sm_dir)
        for name in ("UNICODESR", "xbtsm.py"):
            shutil.copy2(os.path.join(FIXTURE_DIR, name), cls.sm_dir)
        cls.xbtd_args = ("--hostname", HOST, "--world",
                         os.path.join(fx.SRCDIR, "tests", "worlds",
                                      "unicode.xml"),
                         "--sm-dir", cls.sm_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def plugin_frames(self):
        """The sexp text of the plugin's frames, innermost first."""
        plugin = os.path.join(self.sm_dir, "UNICODESR")
        kit = os.path.join(self.sm_dir, "xbtsm.py")
        proc = "UNICODE @ " + HOST
        return "".join([
            sexp_frame(proc, plugin, line_of(PLUGIN_SRC, "# frame: lock_vdi"),
                       True),
            sexp_frame(proc, plugin,
                       line_of(PLUGIN_SRC, "# frame: vdi_attach"), False),
            sexp_frame(proc, kit, line_of(KIT_SRC, KIT_MARK), False)])

    def wait_task(self, task):
        deadline = time.monotonic() + TASK_TIMEOUT
        while self.w.xml("task.get_status", task) == "pending":
            self.assertLess(time.monotonic(), deadline, "task pending")
            time.sleep(0.02)

    def test_world_file_name_beyond_bmp(self):
        # Read only: the name never went through a request parser.
        for p in READERS:
            recs = self.w.call(p, "VM.get_all_records")
            names = {r["name_description"]: r["name_label"]
                     for r in recs.values()}
            self.assertEqual(names.get("named in the world file"),
                             WORLD_VM_NAME, p)
            r = self.w.call(p, "event.from", ["vm"], "", 0.0)
            snaps = [e["snapshot"]["name_label"] for e in r["events"]
                     if e["snapshot"]["name_description"] ==
                     "named in the world file"]
            self.assertEqual(snaps, [WORLD_VM_NAME], p)

    def test_vm_start_error_each_protocol(self):
        vm = self.vm("uni-fail")
        want = [CODE, "", REASON, STDERR]
        for proto in PROTOS:
            self.assertEqual(self.fails(self.w.call, proto, "VM.start", vm,
                                        False, False), want, proto)
            self.assertEqual(self.w.xml("VM.get_power_state", vm), "Halted")

    def test_task_error_info_and_backtrace(self):
        vm = self.vm("uni-fail")
        task = self.w.json("Async.VM.start", vm, False, False)
        self.wait_task(task)
        for p in READERS:
            rec = self.w.call(p, "task.get_record", task)
            self.assertEqual((rec["status"], rec["error_info"]),
                             ("failure", [CODE, "", REASON, STDERR]), p)
            self.assertEqual(self.w.call(p, "task.get_error_info", task),
                             [CODE, "", REASON, STDERR], p)
            bt = self.w.call(p, "task.get_backtrace", task)
            self.assertEqual(rec["backtrace"], bt, p)
            # sexplib's machine form: plain ASCII, non-ASCII as \DDD.
            self.assertRegex(bt, r"^[\x20-\x7e]*$")
            want = self.plugin_frames()
            self.assertEqual(bt[:1 + len(want)], "(" + want, p)
            self.assertIn("\\240\\159\\152\\128\\240\\160\\128\\128", bt)
            rest = sexp_read(bt)[3:]
            self.assertTrue(rest)
            # Then opsd's frames, then xbtd's (doc/opsd.md).
            runs = [f["process"] for i, f in enumerate(rest)
                    if i == 0 or rest[i - 1]["process"] != f["process"]]
            self.assertEqual(runs, [b"xbt-opsd @ " + HOST.encode(),
                                    b"xbtd @ " + HOST.encode()])

    def test_xe_trace_prints_raw_utf8(self):
        vm = self.vm("uni-fail")
        task = self.w.xml("Async.VM.start", vm, False, False)
        self.wait_task(task)
        bt = self.w.xml("task.get_backtrace", task)
        home = tempfile.mkdtemp(prefix="xbt-uni-home-")
        self.addCleanup(shutil.rmtree, home, True)
        status, out, err = xe("vm-start", "vm=uni-fail", "--trace",
                              port=self.xbtd.port, home=home)
        params = ["", REASON, STDERR]
        want = ("Error code: %s\nError parameters: %s\n"
                "Raised Server_error(%s, [ %s ])\nBacktrace:\n"
                % (CODE, ", ".join(params), CODE, "; ".join(params))
                ).encode("utf-8") + human(sexp_read(bt))
        self.assertEqual((status, out), (1, b""),
                         "%r; xbtd %s" % (err, self.w.state()))
        self.assertEqual(err.decode("utf-8", "backslashreplace"),
                         want.decode("utf-8", "backslashreplace"))
        self.assertEqual(err, want)
        path = os.path.join(self.sm_dir, "UNICODESR").encode("utf-8")
        self.assertIn(b'UNICODE @ h1 Raised at file "' + path + b'", line ',
                      err)


# ---- xe output --------------------------------------------------------------

class XeOutput(UnicodeCase):

    def test_vm_param_get_and_list(self):
        vm = self.vm()
        uuid = self.w.xml("VM.get_uuid", vm)
        self.w.xml("VM.set_name_label", vm, NAME)
        home = tempfile.mkdtemp(prefix="xbt-uni-home-")
        self.addCleanup(shutil.rmtree, home, True)
        port = self.xbtd.port
        raw = NAME.encode("utf-8")
        self.assertEqual(xe("vm-param-get", "uuid=" + uuid,
                            "param-name=name-label", port=port, home=home),
                         (0, raw + b"\n", b""))
        key = "name-label ( RW)"
        self.assertEqual(xe("vm-list", "uuid=" + uuid, "params=name-label",
                            port=port, home=home),
                         (0, (key + "    : ").encode() + raw + b"\n\n\n",
                          b""))
        self.assertEqual(xe("vm-list", "--minimal", "params=name-label",
                            "uuid=" + uuid, port=port, home=home),
                         (0, raw + b"\n", b""))
        # An emoji on xe's command line selects the VM.
        self.assertEqual(xe("vm-list", "--minimal", "name-label=" + NAME,
                            port=port, home=home),
                         (0, uuid.encode() + b"\n", b""))


if __name__ == "__main__":
    fx.run()
