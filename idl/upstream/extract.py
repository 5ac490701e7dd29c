#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Extracts xapi's field list for the classes xbtd serves (doc/design.md,
"Fields from upstream").

Input: xapi's data model as its own generator dumps it (xen-api's
doc/data/xenapi.json, written by ocaml/idl/json_backend from
ocaml/idl/datamodel*.ml; it holds every field a client sees: no internal
ones, the removed ones marked). We read it at commit 34624a69f0 (May 2024),
when upstream declared API 2.21, the version xbtd reports.

Output (stdout): idl/upstream/xapi-fields.tsv, one line per field:
  class, field, type, qualifier, default, lifecycle state
and one line per enum the fields use:
  enum, name, values (space-separated)
Types are spelled as idl/xenapi.xml spells them ("map (string, string)"),
qualifiers RO or RW (xapi's RO/runtime and RO/constructor are both
read-only to a client), defaults as the IDL writes them ("" where xapi
declares none: the object's creator sets the value).

Usage: extract.py xenapi.json > idl/upstream/xapi-fields.tsv
"""
import json
import re
import sys

CLASSES = ("session task pool host host_metrics host_cpu SR PBD VDI VBD VM "
           "VM_metrics VM_guest_metrics console network VIF PIF").split()


def idl_type(t):
    """xapi's spelling ("(string -> VM ref) map") to the IDL's."""
    t = t.strip()
    m = re.fullmatch(r"\((.*) -> (.*)\) map", t)
    if m:
        return "map (%s, %s)" % (idl_type(m.group(1)), idl_type(m.group(2)))
    if t.endswith(" set"):
        return "set (%s)" % idl_type(t[:-4])
    if t.endswith(" ref"):
        return "ref " + t[:-4]
    if t.startswith("enum ") or t in ("string", "int", "float", "bool",
                                      "datetime"):
        return t
    raise SystemExit("unknown upstream type %r" % t)


def idl_default(ty, d):
    """xapi's default as the IDL's default attribute."""
    if d is None:
        return ""
    if ty.startswith("ref "):
        return "OpaqueRef:NULL" if d in ("Null", "OpaqueRef:NULL") else d
    if ty == "string":
        return json.loads(d)
    if ty == "float":
        return "%g" % float(d)
    if ty.startswith("set ("):
        items = [x.strip() for x in d.strip("{}").split(",") if x.strip()]
        return ",".join(json.loads(x) if x.startswith('"') else x
                        for x in items)
    if ty.startswith("map ("):
        pairs = re.findall(r'"([^"]*)" -> "([^"]*)"', d)
        return ",".join("%s=%s" % kv for kv in pairs)
    return d


def main():
    model = json.load(open(sys.argv[1], encoding="utf-8"))
    by_name = {c["name"]: c for c in model}
    enums = {}
    for c in model:
        for e in c.get("enums", []):
            enums[e["name"]] = [v["name"] for v in e["values"]]
    used = set()
    out = sys.stdout
    out.write("# xapi's fields of the classes xbtd serves: idl/upstream/"
              "extract.py from xen-api doc/data/xenapi.json at 34624a69f0"
              " (API 2.21)\n")
    out.write("# class\tfield\ttype\tqualifier\tdefault\tlifecycle\n")
    for cname in CLASSES:
        for f in by_name[cname]["fields"]:
            ty = idl_type(f["type"])
            used.update(re.findall(r"enum (\w+)", ty))
            qual = "RW" if f["qualifier"] == "RW" else "RO"
            state = f["lifecycle"]["state"].replace("_s", "")
            out.write("\t".join([cname, f["name"], ty, qual,
                                 idl_default(ty, f.get("default")),
                                 state]) + "\n")
    for name in sorted(used):
        out.write("enum\t%s\t%s\n" % (name, " ".join(enums[name])))


if __name__ == "__main__":
    main()
