#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The raise helpers that idl/gen writes into api/xbt/xenapi.h take exactly
# an error's declared params: a call with the wrong count (or a param that
# is not a string, or a repeated form given strings) must not compile.
# Compiles small C files with the build's compiler and flags, which
# tests/idl_cc.env holds (written by make). Run by `make check` from the
# build directory.
set -u
env=./tests/idl_cc.env
if [ ! -r "$env" ]; then
	echo "$env is missing: run through make check" >&2
	exit 99
fi
. "$env"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/idl_raise.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fails=0
runs=0
ok() { echo "ok - $1"; runs=$((runs + 1)); }
not_ok() { echo "not ok - $1"; runs=$((runs + 1)); fails=$((fails + 1)); }

# compile NAME BODY: a function whose body is BODY, with v and e in scope
compile() {
	cat > "$tmp/$1.c" <<EOF
#include "xbt/xenapi.h"
xbt_error *f(const char *const *v, xbt_error *e);
xbt_error *f(const char *const *v, xbt_error *e)
{
	$2
	return e;
}
EOF
	# shellcheck disable=SC2086 # CFLAGS is a list of words
	$CC $CFLAGS -Werror -fsyntax-only -c "$tmp/$1.c" -o /dev/null \
		2> "$tmp/$1.err"
}

# expect_ok NAME BODY
expect_ok() {
	if compile "$1" "$2"; then
		ok "$1"
	else
		not_ok "$1: does not compile"
		sed 's/^/# /' "$tmp/$1.err"
	fi
}

# expect_fail NAME MACRO BODY [WORD]: must fail, blaming MACRO (and WORD)
expect_fail() {
	if compile "$1" "$3"; then
		not_ok "$1: compiles"
	elif ! grep -q -- "$2" "$tmp/$1.err" ||
	     { [ $# -gt 3 ] && ! grep -q -- "$4" "$tmp/$1.err"; }; then
		not_ok "$1: fails for another reason"
		sed 's/^/# /' "$tmp/$1.err"
	else
		ok "$1"
	fi
}

# The right counts compile: the failures below are the helpers' doing.
expect_ok right_counts '
	xbt_error_free(e);
	e = XBT_RAISE_VM_BAD_POWER_STATE("OpaqueRef:vm", "halted", NULL);
	e = XBT_RERAISE_VDI_MISSING(e, "OpaqueRef:sr", "OpaqueRef:vdi");
	e = XBT_RERAISE_VDI_IN_USE(e, 2, v);
	xbt_error_free(XBT_RAISE_EVENTS_LOST());
	xbt_error_free(XBT_RAISE_VDI_IN_USE(0, NULL));'

expect_fail too_few XBT_RAISE_VM_BAD_POWER_STATE \
	'e = XBT_RAISE_VM_BAD_POWER_STATE("OpaqueRef:vm", "halted");' argument
expect_fail too_many XBT_RAISE_VDI_MISSING \
	'e = XBT_RAISE_VDI_MISSING("OpaqueRef:sr", "OpaqueRef:vdi", "x");' argument
expect_fail none_declared XBT_RAISE_EVENTS_LOST \
	'e = XBT_RAISE_EVENTS_LOST("x");' argument
expect_fail reraise_too_few XBT_RERAISE_VM_IS_TEMPLATE \
	'e = XBT_RERAISE_VM_IS_TEMPLATE(e, "OpaqueRef:vm");' argument
expect_fail not_a_string XBT_RAISE_REQUEST_TOO_LARGE \
	'e = XBT_RAISE_REQUEST_TOO_LARGE(4194304);'
expect_fail repeated_given_strings XBT_RAISE_VDI_IN_USE \
	'e = XBT_RAISE_VDI_IN_USE("OpaqueRef:a", "OpaqueRef:b");'

echo "$runs checks, $fails failed"
[ "$fails" -eq 0 ]
