#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# House rules that a compiler does not check (doc/design.md). Each rule is a
# name and a check; a check prints offending lines and fails.
set -u
top=${XBT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
passed=0
failed=0

rule() {
	name=$1
	shift
	out=$("$@" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: $name"
		printf '%s\n' "$out" | sed 's/^/    /'
		failed=$((failed + 1))
	else
		echo "ok: $name"
		passed=$((passed + 1))
	fi
}

sources() {
	find api server cli idl -name '*.c' -o -name '*.h' -o -name '*.py' | sort
}

# Text enters and leaves xmlrpc-c values only through api/value.c, which
# carries characters beyond the BMP across (doc/design.md, "Unicode").
xmlrpc_text() {
	sources | grep -v '^api/value\.c$' | grep -v '\.py$' | xargs grep -nE \
		'xmlrpc_(string_new|string_w_new|read_string|struct_set_value|struct_find_value|struct_get_value|struct_read_member|build_value|decompose_value|parse_json|serialize_)[a-z_]*\(' |
		grep -vE 'xmlrpc_struct_(set|find)_value_v\(' || true
}

# The project's contract is doc/design.md; the brief it grew from is not
# part of the product.
design_citations() {
	sources | xargs grep -n 'DESIGN\.md' || true
	grep -rn 'DESIGN\.md' tests doc README.md 2>/dev/null |
		grep -v '^tests/style\.sh:' || true
}

# Error codes come from the data model (doc/design.md, "Errors"): no raise
# site names a code as a string literal, and server/ raises a declared
# error through its generated helper (XBT_RAISE_<CODE>, whose arity the
# compiler checks) or passes one on with XBT_RELAY.
literal_codes() {
	grep -rnE '(XBT_RAISE|XBT_RERAISE|XBT_RELAY)\(\s*"|xbt_error_(re)?raisev?\([^;]*"[A-Z][A-Z0-9]*_[A-Z0-9_]*"' \
		server cli --include='*.c' --include='*.h' || true
}

generic_raise_in_server() {
	grep -rnE '\bXBT_(RE)?RAISE\(' server --include='*.c' --include='*.h' || true
}

# Files stay small enough to read: none over 1,000 lines.
long_files() {
	find api server cli idl -name '*.c' | sort | while read -r f; do
		n=$(wc -l < "$f")
		[ "$n" -le 1000 ] || echo "$f: $n lines"
	done
}

rule "xmlrpc-c text only through api/value.c" xmlrpc_text
rule "comments cite doc/design.md" design_citations
rule "no error code as a string literal at a raise site" literal_codes
rule "server/ raises declared errors through generated helpers" generic_raise_in_server
rule "no .c file over 1,000 lines" long_files

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
