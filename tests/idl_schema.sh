#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# idl/gen must accept the real IDL and refuse broken variants with a
# "file:line: error:" message naming the problem, writing nothing.
# Run by `make check` from the build directory ($srcdir is exported).
set -u
srcdir=${srcdir:-.}
gen=./idl/gen
schema=$srcdir/idl/xenapi.rng
idl=$srcdir/idl/xenapi.xml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/idl_schema.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fails=0

runs=0
ok() { echo "ok - $1"; runs=$((runs + 1)); }
not_ok() { echo "not ok - $1"; runs=$((runs + 1)); fails=$((fails + 1)); }

# line_of PATTERN: the line of the real IDL that a variant breaks
line_of() { grep -n -- "$1" "$idl" | head -n 1 | cut -d: -f1; }

# expect_fail NAME SED-SCRIPT LINE MESSAGE-SUBSTRING
expect_fail() {
	name=$1 script=$2 line=$3 msg=$4
	sed -e "$script" "$idl" > "$tmp/$name.xml"
	if cmp -s "$idl" "$tmp/$name.xml"; then
		not_ok "$name: the variant is the same as the IDL"
		return
	fi
	rm -rf "$tmp/out"
	if $gen --schema "$schema" --out-dir "$tmp/out" "$tmp/$name.xml" \
		2> "$tmp/$name.err"; then
		not_ok "$name: accepted"
	elif ! grep -F -q -- "$tmp/$name.xml:$line: error: $msg" "$tmp/$name.err"; then
		not_ok "$name: wrong message"
		sed 's/^/# /' "$tmp/$name.err"
	elif [ -e "$tmp/out" ]; then
		not_ok "$name: wrote output although invalid"
	else
		ok "$name"
	fi
}

if $gen --schema "$schema" --check "$idl"; then
	ok "real IDL validates"
else
	not_ok "real IDL validates"
fi

# Schema errors: an unknown type, a field without a name.
l=$(line_of '<field name="power_state"')
expect_fail unknown_type \
	's/<field name="power_state" type="enum vm_power_state"/<field name="power_state" type="strnig"/' \
	"$l" "schema: Invalid attribute type for element field"
l=$(line_of '<field name="domid"')
expect_fail missing_name \
	's/<field name="domid" /<field /' \
	"$l" "schema: Element field failed to validate attributes"
l=$(line_of '<message name="logout" emergency="true">')
expect_fail empty_description \
	's|<description>Closes the session given as the session parameter.</description>|<description> </description>|' \
	"$((l + 1))" "schema: Error validating datatype string"

# Records: a param may be one (or a set of them), a field may not.
l=$(line_of '<field name="resident_on" type="ref host" qualifier="RO" default="OpaqueRef:NULL">The host the VM')
expect_fail record_field \
	's/<field name="resident_on" type="ref host" qualifier="RO" default="OpaqueRef:NULL">The host the VM/<field name="resident_on" type="record host" qualifier="RO" default="OpaqueRef:NULL">The host the VM/' \
	"$l" "schema: Invalid attribute type for element field"
l=$(line_of '<param name="label" type="string">The name_label of the task.')
expect_fail record_map_param \
	's/<param name="label" type="string">The name_label of the task./<param name="label" type="map (string, record task)">The name_label of the task./' \
	"$l" "schema: Element param failed to validate attributes"

# Checks beyond the schema.
l=$(line_of '<field name="resident_on" type="ref host" qualifier="RO" default="OpaqueRef:NULL">The host the VM')
expect_fail unknown_class \
	's/<field name="resident_on" type="ref host" qualifier="RO" default="OpaqueRef:NULL">The host the VM/<field name="resident_on" type="ref hots" qualifier="RO" default="OpaqueRef:NULL">The host the VM/' \
	"$l" 'unknown class "hots" in type "ref hots"'
l=$(line_of '<field name="power_state"')
expect_fail unknown_enum_value \
	's/type="enum vm_power_state" qualifier="RO" default="Halted"/type="enum vm_power_state" qualifier="RO" default="halted"/' \
	"$l" 'field VM.power_state: default "halted" is not a value of enum vm_power_state'
l=$(line_of '<field name="domid"')
expect_fail bad_int_default \
	's/<field name="domid" type="int" qualifier="RO" default="-1"/<field name="domid" type="int" qualifier="RO" default="-1x"/' \
	"$l" 'field VM.domid: default "-1x" is not a decimal int64'
l=$(line_of '<raises code="HOST_IS_SLAVE"/>')
expect_fail undeclared_error \
	's/<raises code="HOST_IS_SLAVE"\/>/<raises code="HOST_IS_SLAVER"\/>/' \
	"$l" 'session.login_with_password raises undeclared error HOST_IS_SLAVER'
l=$(line_of '<param name="version" type="string" default="">')
expect_fail required_after_default \
	's/<param name="originator" type="string" default="">/<param name="originator" type="string">/' \
	"$((l + 1))" 'session.login_with_password parameter originator: parameters without a default must come before those with one'
l=$(line_of '<message name="create">')
expect_fail clash_with_implicit \
	's/<message name="create">/<message name="get_uuid">/' \
	"$l" 'message task.get_uuid clashes with an implicit message of the same name'
l=$(line_of '<field name="name_description" type="string" qualifier="RW" default="">A description.</field>')
expect_fail duplicate_field \
	"${l}s/name=\"name_description\"/name=\"name_label\"/" \
	"$l" 'field pool.name_label declared twice'

# Errors: the repeated notation, declared codes, Async lists.
l=$(line_of '<param name="vdi" repeated="true">')
expect_fail repeated_not_bool \
	's/<param name="vdi" repeated="true">/<param name="vdi" repeated="yes">/' \
	"$l" "schema: Invalid attribute repeated for element param"
expect_fail repeated_not_alone \
	's|<param name="vdi" repeated="true">A VDI in use.</param>|&<param name="operation">The operation.</param>|' \
	"$l" "error VDI_IN_USE: a repeated parameter must be the error's only parameter"
l=$(line_of '<param name="vdi">The VDI.</param>')
expect_fail duplicate_error_param \
	's|<param name="vdi">The VDI.</param>|<param name="sr">The VDI.</param>|' \
	"$l" 'error VDI_MISSING: parameter sr declared twice'
# the generator's own lists: implicit messages raise MAP_DUPLICATE_KEY
l=$(line_of '<field name="other_config" type="map (string, string)" qualifier="RW">')
expect_fail implicit_undeclared_error \
	's/<error code="MAP_DUPLICATE_KEY">/<error code="MAP_DUPLICATE_KEYS">/' \
	"$l" 'implicit message session.add_to_other_config raises undeclared error MAP_DUPLICATE_KEY'
l=$(line_of '<message name="cancel" async="true">')
expect_fail async_without_task_cancelled \
	'/<message name="cancel" async="true">/,/<\/message>/{/TASK_CANCELLED/d}' \
	"$l" 'task.cancel is async: it must list TASK_CANCELLED'
l=$(line_of '<raises code="HOST_IS_SLAVE"/>')
expect_fail raises_twice \
	's|<raises code="HOST_IS_SLAVE"/>|&<raises code="HOST_IS_SLAVE"/>|' \
	"$l" 'session.login_with_password lists error HOST_IS_SLAVE twice'

echo "$runs checks, $fails failed"
[ "$fails" -eq 0 ]
