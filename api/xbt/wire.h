/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The XenAPI wire dialect, both ways. xmlrpc-c's own serialiser types every
 * string and int (<string>, <i8>), which several XenAPI clients reject, so
 * the xapi dialect is written here by hand; parsing uses xmlrpc-c.
 *
 * Values are xmlrpc-c values (built and read through xbt/value.h).
 * Serialising:
 *   string      XML: untyped <value>s</value>      JSON: "s"
 *   i4          XML: <i4>n</i4> (int32, as xapi) JSON: integer
 *   i8          XML: untyped decimal string        JSON: integer
 *   bool        <boolean>0|1</boolean>             true|false
 *   double      <double>shortest %g that reads back exactly</double>
 *               (non-finite: nan, inf, -inf as xapi prints them;
 *               JSON cannot carry them and gets null; in JSON a
 *               double always has a '.' or an exponent: "-0.0")
 *   datetime    <dateTime.iso8601>YYYYMMDDTHH:MM:SSZ   "YYYYMMDDTHH:MM:SSZ"
 *   array       <array><data>..</data></array>     [..]
 *   struct      <struct><member>..</member></struct>  {..}
 *   nil         <value></value> (void is "")       null
 *   base64      <base64>..</base64>                "<base64 text>"
 * Every string passes the text-safety rule (doc/design.md "Text") first;
 * in XML, CR is written &#13; so that it survives the reader's line-end
 * normalisation.
 *
 * Parsing is bounded: XML deeper than XBT_WIRE_MAX_XML_DEPTH elements and
 * any DOCTYPE (xmlrpc-c expands entities: "billion laughs") are refused
 * before xmlrpc-c sees the text, as its tree is freed recursively; JSON
 * containers nest at most XBT_MAX_NESTING deep. Characters outside the BMP
 * (raw or as character references) are encoded for xmlrpc-c before it
 * parses (doc/design.md "Unicode"). Datetimes that xmlrpc-c cannot read
 * (fractional seconds with a zone, +hh:mm offsets, surrounding blanks)
 * are rewritten to UTC "YYYYMMDDTHH:MM:SS[.ffffff]". JSON is parsed here
 * (xbt_json_parse), not by xmlrpc-c.
 */
#ifndef XBT_WIRE_H
#define XBT_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include <xmlrpc-c/base.h>

#include "xbt/backtrace.h"
#include "xbt/buf.h"
#include "xbt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XBT_XML_CONTENT_TYPE "text/xml"
#define XBT_JSON_CONTENT_TYPE "application/json"

/* Element nesting accepted in XML: 32 levels of arrays/structs and the
 * methodCall/methodResponse envelope. */
#define XBT_WIRE_MAX_XML_DEPTH (3 * XBT_MAX_NESTING + 8)

/* Appends <value>..</value> for v. */
void xbt_wire_xml_value(xbt_buf *out, xmlrpc_value *v);
/* Whole responses: {Status: Success, Value: v} / {Status: Failure, ...}. */
void xbt_wire_xml_success(xbt_buf *out, xmlrpc_value *v);
void xbt_wire_xml_failure(xbt_buf *out, const xbt_error *e);
/* A whole methodCall (for clients and the SM runner). */
void xbt_wire_xml_call(xbt_buf *out, const char *method, xmlrpc_value *params);

/*
 * A struct written member by member, as xbt_wire_xml_value and
 * xbt_wire_json_value write one (the same bytes), for a value too big to
 * build whole: open, then for each member its key, its value (written by
 * those functions), key_end; then close. first: the first member.
 */
void xbt_wire_struct_open(xbt_buf *out, bool json);
void xbt_wire_struct_key(xbt_buf *out, bool json, const char *key,
			 size_t len, bool first);
void xbt_wire_struct_key_end(xbt_buf *out, bool json);
void xbt_wire_struct_close(xbt_buf *out, bool json);

/* Appends the JSON form of v. */
void xbt_wire_json_value(xbt_buf *out, xmlrpc_value *v);
/*
 * A record of class c, straight from its struct: the same bytes as
 * xbt_wire_xml_value / xbt_wire_json_value of xbt_record_to_value(c, rec),
 * without building that value (a quarter of a get_record's time).
 */
void xbt_wire_record(xbt_buf *out, bool json, const xbt_class_desc *c,
		     const void *rec);
/* A string value, as xbt_wire_*_value of xbt_value_string(s) (NULL: ""). */
void xbt_wire_string(xbt_buf *out, bool json, const char *s);
/* JSON-RPC responses; id_json is the request's id as JSON text. */
void xbt_wire_jsonrpc_success(xbt_buf *out, bool v2, const char *id_json,
			      xmlrpc_value *v);
void xbt_wire_jsonrpc_failure(xbt_buf *out, bool v2, const char *id_json,
			      const xbt_error *e);
/*
 * The success envelopes around a value already written by
 * xbt_wire_xml_value or xbt_wire_json_value: one value's text shared by
 * many responses (event waits answered alike).
 */
void xbt_wire_xml_success_text(xbt_buf *out, const char *value, size_t len);
/* The same envelopes in two halves, around a value written in between
 * straight into out (a big one, not copied once more). */
void xbt_wire_xml_success_head(xbt_buf *out);
void xbt_wire_xml_success_tail(xbt_buf *out);
void xbt_wire_jsonrpc_success_head(xbt_buf *out, bool v2);
void xbt_wire_jsonrpc_success_tail(xbt_buf *out, bool v2, const char *id_json);
void xbt_wire_jsonrpc_success_text(xbt_buf *out, bool v2, const char *id_json,
				   const char *value, size_t len);

/*
 * Parses JSON (RFC 8259, by hand: api/json.c says why) into xmlrpc-c
 * values, containers nested at most max_depth deep. Integers within int64
 * become i8, other numbers doubles; strings are made safe (NUL, other
 * control characters, lone surrogates and bytes that are not UTF-8 become
 * the text "\xNN"). *out: new reference, or NULL on error
 * INTERNAL_ERROR ["json: <why> at byte <n>"].
 */
xbt_error *xbt_json_parse(const char *s, size_t len, size_t max_depth,
			  xmlrpc_value **out);

/*
 * Parses an XML-RPC methodCall. *method (caller frees) and *params (an
 * array, caller decrefs) on success. Malformed input:
 * XMLRPC_UNMARSHAL_FAILURE ["methodCall", what was wrong].
 */
xbt_error *xbt_wire_parse_call(const char *xml, size_t len, char **method,
			       xmlrpc_value **params);

/*
 * Parses a JSON-RPC request (v1 or v2). *id_json (caller frees) is the id
 * re-serialised, *v2 whether "jsonrpc": "2.0" was given. params may be
 * absent or null (empty array); a v2 params object becomes the one param,
 * as xapi does. Errors: XMLRPC_UNMARSHAL_FAILURE ["JSON-RPC request", why]
 * with outputs NULL and *v2 false; a missing or null id (a notification),
 * an id that is neither a string nor an integer, and a "jsonrpc" other
 * than "2.0" are errors.
 */
xbt_error *xbt_wire_parse_jsonrpc(const char *json, size_t len, char **method,
				  xmlrpc_value **params, char **id_json,
				  bool *v2);

/*
 * Parses an XML-RPC methodResponse (a client's or an SM plugin's): either
 * *result (new reference) or, for a <fault>, *result NULL, *fault_code and
 * *fault_string (caller frees). Malformed input (same bounds as
 * xbt_wire_parse_call): XMLRPC_UNMARSHAL_FAILURE ["methodResponse", why].
 */
xbt_error *xbt_wire_parse_response(const char *xml, size_t len,
				   xmlrpc_value **result, int *fault_code,
				   char **fault_string);

#ifdef __cplusplus
}
#endif
#endif
