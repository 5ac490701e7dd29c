#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""idl/xenapi.xml against xapi's field list (idl/upstream/xapi-fields.tsv).

Every field xapi declares for a class xbtd serves must be in the IDL with
xapi's type, read-only flag and default, and the enums those fields use
must have xapi's values; a field xapi lacks must be marked xbt="true"
(doc/design.md, "Fields from upstream"). Fails listing every difference.
"""
import math
import os
import sys
import unittest
import xml.etree.ElementTree as ET

SRC = os.environ.get("XBT_SRCDIR",
                     os.path.join(os.path.dirname(__file__), ".."))
ZERO = {"string": "", "int": "0", "float": "0", "bool": "false",
        "datetime": "19700101T00:00:00Z"}


def load_upstream(path):
    fields, enums = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "enum":
                enums[cols[1]] = cols[2].split()
            else:
                cls, name, ty, qual, default, state = cols
                fields.setdefault(cls, {})[name] = (ty, qual, default, state)
    return fields, enums


def load_idl(path):
    root = ET.parse(path).getroot()
    classes, enums = {}, {}
    for e in root.iter("enum"):
        enums[e.get("name")] = [v.get("name") for v in e.iter("value")]
    for c in root.iter("class"):
        classes[c.get("name")] = {
            f.get("name"): f.attrib for f in c.findall("field")}
    return classes, enums


def effective_default(ty, enums, attrs):
    d = attrs.get("default")
    if d is not None:
        return d
    if ty.startswith("ref "):
        return "OpaqueRef:NULL"
    if ty.startswith("enum "):
        return enums.get(ty[5:], [""])[0]
    return ZERO.get(ty, "")


def same_default(ty, ours, theirs):
    if ty == "float":
        return math.isclose(float(ours), float(theirs))
    return ours == theirs


def differences(upstream, upstream_enums, idl, idl_enums):
    out = []
    for cls, ufields in upstream.items():
        if cls not in idl:
            out.append("class %s: missing" % cls)
            continue
        ours = idl[cls]
        for name, (ty, qual, default, _state) in ufields.items():
            a = ours.get(name)
            if a is None:
                out.append("%s.%s: missing (%s %s)" % (cls, name, qual, ty))
                continue
            if a.get("type") != ty:
                out.append("%s.%s: type %r, xapi's %r"
                           % (cls, name, a.get("type"), ty))
                continue
            if a.get("qualifier") != qual:
                out.append("%s.%s: %s, xapi's %s"
                           % (cls, name, a.get("qualifier"), qual))
            if default != "":
                d = effective_default(ty, idl_enums, a)
                if not same_default(ty, d, default):
                    out.append("%s.%s: default %r, xapi's %r"
                               % (cls, name, d, default))
        for name, a in ours.items():
            if name not in ufields and a.get("xbt") != "true":
                out.append("%s.%s: not xapi's and not marked xbt=\"true\""
                           % (cls, name))
    for name, values in upstream_enums.items():
        if name not in idl_enums:
            out.append("enum %s: missing" % name)
        elif sorted(idl_enums[name]) != sorted(values):
            out.append("enum %s: values %s, xapi's %s"
                       % (name, " ".join(idl_enums[name]), " ".join(values)))
    return out


class Upstream(unittest.TestCase):
    def setUp(self):
        self.up, self.up_enums = load_upstream(
            os.path.join(SRC, "idl", "upstream", "xapi-fields.tsv"))
        self.idl, self.idl_enums = load_idl(
            os.path.join(SRC, "idl", "xenapi.xml"))

    def test_list_is_whole(self):
        # The data file is the extract of 17 classes, not a fragment.
        self.assertEqual(len(self.up), 17)
        self.assertGreater(sum(len(f) for f in self.up.values()), 450)
        self.assertEqual(self.up["VM"]["VIFs"][0], "set (ref VIF)")

    def test_idl_has_every_field_of_xapi(self):
        diff = differences(self.up, self.up_enums, self.idl, self.idl_enums)
        self.assertEqual(diff, [], "\n" + "\n".join(diff))

    def test_checker_sees_a_missing_a_mistyped_and_a_wrong_flag(self):
        # The comparison itself, on a copy of the IDL with three faults.
        idl = {c: dict(f) for c, f in self.idl.items()}
        del idl["VM"]["VIFs"]
        idl["VM"]["domid"] = dict(idl["VM"]["domid"], type="string")
        idl["VM"]["name_label"] = dict(idl["VM"]["name_label"],
                                        qualifier="RO")
        idl["host"]["extra"] = {"type": "int", "qualifier": "RO"}
        diff = differences(self.up, self.up_enums, idl, self.idl_enums)
        self.assertIn("VM.VIFs: missing (RO set (ref VIF))", diff)
        self.assertIn("VM.domid: type 'string', xapi's 'int'", diff)
        self.assertIn("VM.name_label: RO, xapi's RW", diff)
        self.assertIn('host.extra: not xapi\'s and not marked xbt="true"',
                      diff)


if __name__ == "__main__":
    r = unittest.main(exit=False, verbosity=2).result
    print("%d passed, %d failed" % (r.testsRun - len(r.failures) -
                                    len(r.errors), len(r.failures) +
                                    len(r.errors)))
    sys.exit(not r.wasSuccessful())
