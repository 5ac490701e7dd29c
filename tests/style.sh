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

rule "xmlrpc-c text only through api/value.c" xmlrpc_text
rule "comments cite doc/design.md" design_citations

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
