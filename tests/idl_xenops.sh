#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# idl/gen generates two models (doc/design.md, "The data model"): the
# XenAPI from idl/xenapi.xml, named as it always was, and xbt-opsd's from
# idl/xenops.xml with the prefix xops and idl/xenapi.xml's errors. Checks
# where each model's files go and what they are called, the --errors rules,
# and that both models' headers (and the xenops dispatch table) compile in
# one program, with the build's compiler and flags (tests/idl_cc.env).
# Run by `make check` from the build directory ($srcdir is exported).
set -u
srcdir=${srcdir:-.}
gen=./idl/gen
schema=$srcdir/idl/xenapi.rng
xenapi=$srcdir/idl/xenapi.xml
xenops=$srcdir/idl/xenops.xml
env=./tests/idl_cc.env
if [ ! -r "$env" ]; then
	echo "$env is missing: run through make check" >&2
	exit 99
fi
. "$env"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/idl_xenops.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fails=0
runs=0
ok() { echo "ok - $1"; runs=$((runs + 1)); }
not_ok() { echo "not ok - $1"; runs=$((runs + 1)); fails=$((fails + 1)); }

# line_of FILE PATTERN: the first line of FILE that matches
line_of() { grep -n -- "$2" "$1" | head -n 1 | cut -d: -f1; }

# expect_fail NAME IDL LINE MESSAGE [GEN-ARGS...]: gen refuses IDL with
# "IDL:LINE: error: MESSAGE" and writes nothing
expect_fail() {
	name=$1 idl=$2 line=$3 msg=$4
	shift 4
	rm -rf "$tmp/out"
	if $gen --schema "$schema" "$@" --out-dir "$tmp/out" "$idl" \
		2> "$tmp/$name.err"; then
		not_ok "$name: accepted"
	elif ! grep -F -q -- "$idl:$line: error: $msg" "$tmp/$name.err"; then
		not_ok "$name: wrong message"
		sed 's/^/# /' "$tmp/$name.err"
	elif [ -e "$tmp/out" ]; then
		not_ok "$name: wrote output although invalid"
	else
		ok "$name"
	fi
}

# has NAME FILE LINE...: FILE holds each LINE, whole
has() {
	name=$1 file=$2
	shift 2
	for want in "$@"; do
		if ! grep -F -x -q -- "$want" "$file"; then
			not_ok "$name: no line '$want' in $file"
			return
		fi
	done
	ok "$name"
}

# lacks NAME FILE PATTERN: no line of FILE matches the extended regex
lacks() {
	if grep -E -n -- "$3" "$2" > "$tmp/lacks"; then
		not_ok "$1"
		sed 's/^/# /' "$tmp/lacks"
	else
		ok "$1"
	fi
}

# ---- the --errors rules ----

l=$(line_of "$xenops" '<raises code="OTHER_OPERATION_IN_PROGRESS"/>')
expect_fail xenops_without_errors "$xenops" "$l" \
	'VM.start raises undeclared error OTHER_OPERATION_IN_PROGRESS (no error is declared'

if $gen --schema "$schema" --errors "$xenapi" --check "$xenops"; then
	ok "xenops validates with --errors"
else
	not_ok "xenops validates with --errors"
fi

sed -e 's|^<enum name="task_state">|<error code="OPSD_BUSY"><description>Busy.</description></error>\n&|' \
	"$xenops" > "$tmp/own_error.xml"
l=$(line_of "$tmp/own_error.xml" '<error code="OPSD_BUSY">')
expect_fail own_error_with_errors "$tmp/own_error.xml" "$l" \
	"error OPSD_BUSY: the errors are those of $xenapi (--errors); declare it there" \
	--errors "$xenapi"

# the errors file is validated and read as such: problems are reported there
l=$(line_of "$xenapi" '<error code="UUID_INVALID">')
sed -e 's|<error code="UUID_INVALID">|<error code="HANDLE_INVALID">|' \
	"$xenapi" > "$tmp/errors.xml"
rm -rf "$tmp/out"
if $gen --schema "$schema" --errors "$tmp/errors.xml" --out-dir "$tmp/out" \
	"$xenops" 2> "$tmp/errors.err"; then
	not_ok "errors file: duplicate accepted"
elif ! grep -F -q "$tmp/errors.xml:$l: error: error HANDLE_INVALID declared twice" \
	"$tmp/errors.err"; then
	not_ok "errors file: wrong message"
	sed 's/^/# /' "$tmp/errors.err"
else
	ok "errors file: its own problems at its own lines"
fi
sed -e 's|<error code="SESSION_INVALID">|<error code="session_invalid">|' \
	"$xenapi" > "$tmp/errors.xml"
l=$(line_of "$tmp/errors.xml" '<error code="session_invalid">')
if $gen --schema "$schema" --errors "$tmp/errors.xml" --check "$xenops" \
	2> "$tmp/errors.err"; then
	not_ok "errors file: invalid accepted"
elif ! grep -F -q "$tmp/errors.xml:$l: error: schema:" "$tmp/errors.err"; then
	not_ok "errors file: invalid, wrong message"
	sed 's/^/# /' "$tmp/errors.err"
else
	ok "errors file: validated against the schema"
fi

sed -e 's|prefix="xops"|prefix="Xops"|' "$xenops" > "$tmp/bad_prefix.xml"
l=$(line_of "$tmp/bad_prefix.xml" 'prefix="Xops"')
expect_fail bad_prefix "$tmp/bad_prefix.xml" "$l" "schema: Invalid attribute prefix" \
	--errors "$xenapi"

# names are claimed with the model's prefix: without a handler prefix, the
# handler of xops.api would be the model, xops_api
sed -e 's|<class name="UPDATES" omit="all" events="false">|<class name="xops" omit="all" events="false"><description>x</description><message name="api" session="false"><description>x</description></message></class>\n&|' \
	-e 's|handler-prefix="opsd_"|handler-prefix=""|' \
	"$xenops" > "$tmp/clash.xml"
l=$(line_of "$tmp/clash.xml" '<message name="api"')
expect_fail handler_clash "$tmp/clash.xml" "$l" \
	'message xops.api: a generated C name is already taken' \
	--errors "$xenapi"

# ---- where the files go ----

rm -rf "$tmp/xenapi" "$tmp/xenops"
$gen --schema "$schema" --out-dir "$tmp/xenapi" "$xenapi" &&
$gen --schema "$schema" --errors "$xenapi" --out-dir "$tmp/xenops" "$xenops" ||
	not_ok "generating both models"
(cd "$tmp/xenapi" && find . -type f | sort) > "$tmp/files"
printf '%s\n' ./api/xbt/xenapi.h ./api/xenapi.c ./api/xenapi_client.c \
	./doc/api.md ./server/dispatch_table.c ./server/handlers.h |
	sort | diff - "$tmp/files" > "$tmp/files.diff" &&
	ok "xenapi: today's paths" ||
	{ not_ok "xenapi: today's paths"; sed 's/^/# /' "$tmp/files.diff"; }
(cd "$tmp/xenops" && find . -type f | sort) > "$tmp/files"
printf '%s\n' ./api/xbt/xenops.h ./api/xenops.c ./api/xenops_client.c \
	./doc/xenops.md ./server/xenops/dispatch_table.c \
	./server/xenops/handlers.h |
	sort | diff - "$tmp/files" > "$tmp/files.diff" &&
	ok "xenops: paths by base name" ||
	{ not_ok "xenops: paths by base name"; sed 's/^/# /' "$tmp/files.diff"; }

# ---- the names: xenapi's as they were, xenops's with its prefix ----

tab=$(printf '\t')
a=$tmp/xenapi
has "xenapi header names" "$a/api/xbt/xenapi.h" \
	'#ifndef XBT_XENAPI_H' \
	'#define XBT_API_VERSION_MAJOR 2' \
	'enum xbt_vm_power_state {' \
	"${tab}XBT_VM_POWER_STATE_HALTED, /* \"Halted\" */" \
	'#define XBT_VM_OPERATIONS_START_NAME "start"' \
	'extern const xbt_enum_desc xbt_enum_vm_power_state;' \
	'#define XBT_ERR_HANDLE_INVALID "HANDLE_INVALID" /* [class, handle] */' \
	'#define XBT_RAISE_HANDLE_INVALID(class_, handle) \' \
	'#define XBT_RERAISE_VDI_IN_USE(old, n, v) \' \
	'static inline const char *xbt_err_param(const char *s)' \
	'struct xbt_vm_record {' \
	'typedef struct xbt_vm_record xbt_vm_record;' \
	"${tab}XBT_FIELD_VM_POWER_STATE," \
	'extern const xbt_class_desc xbt_class_vm;' \
	'enum xbt_msg_index {' \
	"${tab}XBT_MSG_VM_START, /* VM.start */" \
	"${tab}XBT_MSG__COUNT" \
	'extern const xbt_model xbt_api;' \
	'xbt_error *xbt_session_login_with_password(xbt_client *c, const char *uname, const char *pwd, const char *version, const char *originator, xmlrpc_value **result);' \
	'xbt_error *xbt_vm_start(xbt_client *c, const char *session, const char *vm, bool start_paused, bool force, xmlrpc_value **result);' \
	'xbt_error *xbt_async_vm_start(xbt_client *c, const char *session, const char *vm, bool start_paused, bool force, xmlrpc_value **result);'
has "xenapi model names" "$a/api/xenapi.c" \
	'#include "xbt/xenapi.h"' \
	'const xbt_class_desc xbt_class_vm = {' \
	'const xbt_class_desc *const xbt_classes[] = {' \
	'const xbt_message_desc xbt_messages[] = {' \
	'const size_t xbt_messages_by_name[] = {' \
	'const xbt_error_desc xbt_errors[] = {' \
	'const xbt_model xbt_api = {'
has "xenapi handler names" "$a/server/handlers.h" \
	'#ifndef XBTD_HANDLERS_H' \
	'#include "xbt/xenapi.h"' \
	'typedef xbt_error *(*xbtd_handler)(struct call *, xmlrpc_value *const *,' \
	'extern const xbtd_handler xbtd_handlers[];' \
	'extern const size_t xbtd_nhandlers;' \
	'#ifdef XBTD_WEAK_HANDLERS' \
	'xbt_error *vm_start(struct call *call, xmlrpc_value *const *args,'
has "xenapi dispatch table" "$a/server/dispatch_table.c" \
	'const xbtd_handler xbtd_handlers[XBT_MSG__COUNT] = {' \
	"${tab}[XBT_MSG_VM_START] = vm_start," \
	'const size_t xbtd_nhandlers = XBT_MSG__COUNT;'
has "xenapi doc" "$a/doc/api.md" \
	'<!-- Generated by idl/gen from idl/xenapi.xml: do not edit. -->'

o=$tmp/xenops
has "xenops header names" "$o/api/xbt/xenops.h" \
	'/* Generated by idl/gen from idl/xenops.xml: do not edit. */' \
	'#ifndef XOPS_XENOPS_H' \
	'#define XOPS_API_VERSION_MAJOR 1' \
	'enum xops_task_state {' \
	"${tab}XOPS_DISK_MODE_RW, /* \"RW\" */" \
	'#define XOPS_TASK_STATE_FAILED_NAME "failed"' \
	'extern const xbt_enum_desc xops_enum_disk_mode;' \
	'struct xops_task_record {' \
	'typedef struct xops_task_record xops_task_record;' \
	"${tab}XOPS_FIELD_TASK_STATE," \
	'extern const xbt_class_desc xops_class_vm;' \
	'enum xops_msg_index {' \
	"${tab}XOPS_MSG_TASK_STAT, /* TASK.stat */" \
	"${tab}XOPS_MSG__COUNT" \
	'extern const xbt_class_desc *const xops_classes[];' \
	'extern const size_t xops_messages_by_name[];' \
	'extern const xbt_model xops_api;' \
	'xbt_error *xops_vm_start(xbt_client *c, const char *dbg, const char *vm, const char *session_ref, xmlrpc_value *disks, xmlrpc_value **result);' \
	'xbt_error *xops_task_stat(xbt_client *c, const char *dbg, const char *id, xmlrpc_value **result);'
has "xenops handler names" "$o/server/xenops/handlers.h" \
	'#ifndef OPSD_HANDLERS_H' \
	'#include "xbt/xenops.h"' \
	'typedef xbt_error *(*opsd_handler)(struct call *, xmlrpc_value *const *,' \
	'extern const opsd_handler opsd_handlers[];' \
	'#ifdef OPSD_WEAK_HANDLERS' \
	'xbt_error *opsd_vm_start(struct call *call, xmlrpc_value *const *args,' \
	'xbt_error *opsd_task_stat(struct call *call, xmlrpc_value *const *args,'
has "xenops dispatch table" "$o/server/xenops/dispatch_table.c" \
	'const opsd_handler opsd_handlers[XOPS_MSG__COUNT] = {' \
	"${tab}[XOPS_MSG_UPDATES_GET] = opsd_updates_get," \
	'const size_t opsd_nhandlers = XOPS_MSG__COUNT;'
# the errors stay xenapi's: no codes, helpers or descriptors of its own
lacks "xenops: no error helpers" "$o/api/xbt/xenops.h" \
	'(XBT|XOPS)_(ERR|RAISE|RERAISE)_|_err_param|_errors\[\]'
lacks "xenops: no error descriptors" "$o/api/xenops.c" \
	'xbt_error_desc|(XBT|XOPS)_ERR_'
lacks "xenops: nothing named xbt_ but the runtime's" "$o/api/xenops.c" \
	'&xbt_(enum|class)_|xbt_(classes|messages|api)\b'

# ---- both models in one program ----

# compile NAME FILE [FLAGS...]
compile() {
	name=$1 file=$2
	shift 2
	# shellcheck disable=SC2086 # CFLAGS is a list of words
	if $CC $CFLAGS "$@" -Werror -fsyntax-only -c "$file" -o /dev/null \
		2> "$tmp/$name.cerr"; then
		ok "$name"
	else
		not_ok "$name: does not compile"
		sed 's/^/# /' "$tmp/$name.cerr"
	fi
}

cat > "$tmp/both.c" <<EOF
#include "xbt/xenapi.h"
#include "xbt/xenops.h"
#include "handlers.h"
#include "xenops/handlers.h"
void both(void);
void both(void)
{
	xbtd_handler x = vm_start;
	opsd_handler o = opsd_vm_start;
	xbt_error *(*stub)(xbt_client *, const char *, const char *,
			   const char *, xmlrpc_value *, xmlrpc_value **) =
		xops_vm_start;
	const xbt_model *m[] = { &xbt_api, &xops_api };

	(void)x; (void)o; (void)stub; (void)m;
	xbt_error_free(XBT_RAISE_HANDLE_INVALID("TASK", "t1"));
}
EOF
compile "both models in one file" "$tmp/both.c"
compile "xenops dispatch table" ./server/xenops/dispatch_table.c \
	-DOPSD_WEAK_HANDLERS

echo "$runs checks, $fails failed"
[ "$fails" -eq 0 ]
