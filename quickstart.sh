#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# xbt quick start. On a fresh Debian 12 machine, as root:
#   ./quickstart.sh run    install deps if missing, build, run xbtd + the traced demo
#   ./quickstart.sh test   install deps if missing, build, run the whole test suite
# Environment: BUILD_DIR (default build), CONFIGURE_FLAGS (extra configure flags).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
CONFIGURE_FLAGS=${CONFIGURE_FLAGS:-}

PKGS="build-essential autoconf automake libtool pkg-config libxmlrpc-core-c3-dev
libcurl4-openssl-dev libxml2-dev libxml2-utils check libcrypt-dev python3 clang
libclang-rt-14-dev"

deps() {
	missing=
	for p in $PKGS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	# Node (for the Xen Orchestra client tests) may come from elsewhere.
	command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
	if [ -n "$missing" ]; then
		echo "quickstart: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq $missing >/dev/null
	fi
}

build() {
	[ -x configure ] || ./autogen.sh >/dev/null
	mkdir -p "$BUILD_DIR"
	cd "$BUILD_DIR"
	# shellcheck disable=SC2086
	[ -f Makefile ] || "$top/configure" -q $CONFIGURE_FLAGS
	make -j"$(nproc)" >/dev/null
}

# Check writes its summary only into tests/*.log under automake's harness.
show_logs() {
	for log in tests/*.log; do
		[ "$log" = tests/test-suite.log ] && continue
		[ -f "$log" ] || continue
		grep -E '^[0-9]+%: Checks:|^[0-9]+ passed, [0-9]+ failed|^(FAIL|ERROR):' "$log" |
			sed "s|^|$log: |" || true
	done
}

case "${1:-}" in
run)
	deps
	build
	exec "$top/server/demo.sh" "$(pwd)"
	;;
test)
	deps
	build
	status=0
	make -j"$(nproc)" check >/dev/null 2>&1 || status=$?
	show_logs
	if [ "$status" -ne 0 ]; then
		if [ -f test-suite.log ]; then
			cat test-suite.log
		else
			# The tests did not build: show why.
			make check 2>&1 | grep -E 'error|Error' | head -40
		fi
		echo "quickstart: tests FAILED"
		exit "$status"
	fi
	grep -h -E '^# (TOTAL|PASS|FAIL|ERROR)' test-suite.log 2>/dev/null || true
	echo "quickstart: all tests passed"
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
