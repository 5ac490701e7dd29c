# SPDX-License-Identifier: BSD-2-Clause
"""xbtsm: a small kit for SMAPIv1 storage plugins (Python 3 stdlib only).

A plugin is an executable <TYPE>SR next to this file. xbtd runs it with one
argument, an XML-RPC methodCall whose method is the command (vdi_attach,
sr_attach, ...) and whose one param is the call struct (device_config,
args, sr_uuid, vdi_uuid, ...). The kit parses it, runs the plugin's function
for that command and prints a methodResponse on stdout, exiting 0:

  return value v              the bare value (None is <nil/>)
  raise BackendError(c, r)    {Status: Failure, ErrorDescription:
                               [SR_BACKEND_FAILURE_WITH_BACKTRACE, json, c, r]}
                              seen by clients as SR_BACKEND_FAILURE_<c>, with
                              the Python frames glued to the task's backtrace
  raise Fault(n, s)           a classic XML-RPC fault (SMAPIv1 error codes)
  raise XenAPIError(c, *p)    the XenAPI error c [p...] as it is
  any other exception         as BackendError("202", "General backend error
                              [opterr=<str(exc)>]"), like SM's SMGeneral
  unknown command             Fault(38, ...): UNIMPLEMENTED_IN_SM_BACKEND

See doc/plugins.md.
"""

import json
import sys
import traceback
import xmlrpc.client

WITH_BACKTRACE = "SR_BACKEND_FAILURE_WITH_BACKTRACE"
GENERAL_CODE = "202"
GENERAL_REASON = "General backend error"
UNIMPLEMENTED = 38


class BackendError(Exception):
    """A storage failure: clients see SR_BACKEND_FAILURE_<code>."""

    def __init__(self, code, reason=""):
        super().__init__(str(reason))
        self.code = str(code)
        self.reason = str(reason)


class Fault(Exception):
    """A classic SMAPIv1 XML-RPC fault (e.g. 24 VDI in use)."""

    def __init__(self, code, string=""):
        super().__init__(code, string)
        self.code = int(code)
        self.string = str(string)


class XenAPIError(Exception):
    """A XenAPI error raised as it is: code and string params."""

    def __init__(self, code, *params):
        super().__init__(code, *params)
        self.code = str(code)
        self.params = [str(p) for p in params]


def attach_result(params_nbd, params="", o_direct=True, o_direct_reason="",
                  xenstore_data=None):
    """The struct vdi_attach returns (params_nbd is required)."""
    return {
        "params": params,
        "params_nbd": params_nbd,
        "o_direct": bool(o_direct),
        "o_direct_reason": o_direct_reason,
        "xenstore_data": dict(xenstore_data or {}),
    }


def _safe_text(s):
    """The text rule of doc/design.md ("Text"): control characters (but
    tab, LF, CR) and undecodable bytes (surrogate escapes) become the
    characters \\xNN."""
    out = []
    for ch in s:
        o = ord(ch)
        if o < 0x20 and ch not in "\t\n\r":
            out.append("\\x%02x" % o)
        elif 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif 0xD800 <= o <= 0xDFFF or o in (0xFFFE, 0xFFFF):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


def _safe(v):
    if isinstance(v, str):
        return _safe_text(v)
    if isinstance(v, dict):
        return {_safe_text(str(k)): _safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_safe(x) for x in v]
    return v


def backtrace_json(error, tb):
    """The interop JSON of a traceback, Python's order (outermost first).
    Text is made safe first and non-ASCII is written as UTF-8, so the JSON
    holds no \\u escapes (xmlrpc-c 1.33 decodes those wrongly)."""
    frames = traceback.extract_tb(tb)
    return json.dumps({
        "error": _safe_text(str(error)),
        "files": [_safe_text(f.filename) for f in frames],
        "lines": [f.lineno or 0 for f in frames],
    }, ensure_ascii=False)


def _response(value):
    return xmlrpc.client.dumps((value,), methodresponse=True,
                               allow_none=True)


def _xenapi_failure(code, params):
    return _response({"Status": "Failure",
                      "ErrorDescription": _safe([code] + list(params))})


def _success(value):
    value = _safe(value)
    # A value that itself has a Status member would read as a XenAPI
    # response: wrap it so it cannot be mistaken.
    if isinstance(value, dict) and "Status" in value:
        value = {"Status": "Success", "Value": value}
    return _response(value)


def _failure(exc, tb):
    if isinstance(exc, Fault):
        return xmlrpc.client.dumps(
            xmlrpc.client.Fault(exc.code, _safe_text(exc.string)),
            methodresponse=True)
    if isinstance(exc, XenAPIError):
        return _xenapi_failure(exc.code, exc.params)
    if isinstance(exc, BackendError):
        code, reason, error = exc.code, exc.reason, str(exc)
    else:
        code = GENERAL_CODE
        reason = "%s [opterr=%s]" % (GENERAL_REASON, exc)
        error = "%s: %s" % (type(exc).__name__, exc)
    return _xenapi_failure(WITH_BACKTRACE,
                           [backtrace_json(error, tb), code, reason])


def _run_command(fn, call):
    try:
        return _success(fn(call))  # xbtsm: the plugin's frames start here
    except Exception:
        # The seed's rule: take the traceback before anything else can
        # raise and replace it.
        _, exc, tb = sys.exc_info()
        try:
            return _failure(exc, tb)
        finally:
            del tb


def main(commands, argv=None, out=None):
    """Runs one command; returns the exit status (0 when a response was
    printed, 2 when argv is not a usable call)."""
    argv = sys.argv if argv is None else argv
    if out is None:
        out = sys.stdout.buffer
    if len(argv) != 2:
        print("usage: %s <XML-RPC methodCall>" % (argv[0] if argv else "plugin"),
              file=sys.stderr)
        return 2
    try:
        params, method = xmlrpc.client.loads(argv[1])
    except Exception as e:
        print("xbtsm: argv[1] is not an XML-RPC call: %s" % e,
              file=sys.stderr)
        return 2
    if method is None or len(params) != 1 or not isinstance(params[0], dict):
        print("xbtsm: expected a methodCall with one struct param",
              file=sys.stderr)
        return 2
    fn = commands.get(method)
    if fn is None:
        text = xmlrpc.client.dumps(
            xmlrpc.client.Fault(UNIMPLEMENTED, _safe_text(
                "command %s is not implemented" % method)),
            methodresponse=True)
    else:
        text = _run_command(fn, params[0])
    out.write(text.encode("utf-8"))
    out.flush()
    return 0


def run(commands):
    """The plugin's entry point: xbtsm.run({"vdi_attach": vdi_attach, ...})."""
    sys.exit(main(commands))
