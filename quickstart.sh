#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# xbt quick start. On a fresh Debian 12 machine, as root:
#   ./quickstart.sh run    install deps if missing, build, run xbtd + the traced demo
#   ./quickstart.sh test   install deps if missing, build, run the whole test suite
#   ./quickstart.sh pool   install deps if missing, build, run a pool of three
#                          xbtd on 127.0.0.1-3 and trace a VM.start failing on h2
# Environment: BUILD_DIR (default build), CONFIGURE_FLAGS (extra configure flags);
# for run and pool, XBT_PORT (default 8080) and XBT_LOG_LEVEL (default warn).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
CONFIGURE_FLAGS=${CONFIGURE_FLAGS:-}

PKGS="build-essential autoconf automake libtool pkg-config libxmlrpc-core-c3-dev
libmicrohttpd-dev libmimalloc-dev
libcurl4-openssl-dev libxml2-dev libsqlite3-dev libxml2-utils check libcrypt-dev python3 clang
libclang-rt-14-dev chromium ansible"

deps() {
	missing=
	for p in $PKGS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	# Node (for the Xen Orchestra client and viewer tests) may come from
	# elsewhere; chromium is the viewer tests' browser.
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

# ---- pool: three xbtd on 127.0.0.1, .2 and .3, one port (doc/pools.md) -------
# Run from the build directory. Every run starts clean: each host's
# --state-dir (its pool role) and --opsd-dir (xbt-opsd's running VMs) are
# under a fresh temporary directory, removed on the way out. Each host's
# stdout (its "listening" lines) goes to a file there; its log (stderr)
# comes to the terminal, each line prefixed with the host's name.
POOL_HOSTS="h1 h2 h3"
pool_tmp=
pool_pids=

pool_addr() { echo "127.0.0.${1#h}"; }

pool_pid() {
	for hp in $pool_pids; do
		[ "${hp%%:*}" = "$1" ] && echo "${hp#*:}" && return 0
	done
	return 1
}

# Slaves first (their master gone, their heartbeats would fail), each
# waited for; says which did not exit with status 0. Runs once.
pool_stop() {
	pids=$pool_pids
	pool_pids=
	for name in h3 h2 h1; do
		for hp in $pids; do
			[ "${hp%%:*}" = "$name" ] || continue
			pid=${hp#*:}
			kill "$pid" 2>/dev/null || true
			status=0
			wait "$pid" 2>/dev/null || status=$?
			[ "$status" -eq 0 ] ||
				echo "pool: $name (pid $pid) exited with status $status" >&2
		done
	done
	[ -z "$pool_tmp" ] || rm -rf "$pool_tmp"
	pool_tmp=
}

pool_exit() {
	[ "$1" -eq 0 ] || echo "pool: failed (status $1): stopping the pool" >&2
	pool_stop
}

# Starts host $1 with more arguments; its stdout to $pool_tmp/$1.out.
pool_start() {
	name=$1
	shift
	mkfifo "$pool_tmp/$name.log"
	sed -u "s/^/[$name] /" <"$pool_tmp/$name.log" >&2 &
	./server/xbtd --listen "$(pool_addr "$name"):$port" --hostname "$name" \
		--state-dir "$pool_tmp/$name/state" --opsd-dir "$pool_tmp/$name/opsd" \
		--log-level "${XBT_LOG_LEVEL:-warn}" "$@" \
		>"$pool_tmp/$name.out" 2>"$pool_tmp/$name.log" &
	pool_pids="$pool_pids $name:$!"
}

# How many times host $1 has said that it listens.
pool_listening() {
	n=$(grep -c '^xbtd listening on ' "$pool_tmp/$1.out" 2>/dev/null) || true
	echo "${n:-0}"
}

# Waits until host $1 has said $2 times that it listens (a joining host
# says it again once restarted as a slave).
pool_wait_listening() {
	pid=$(pool_pid "$1")
	i=0
	while [ "$(pool_listening "$1")" -lt "$2" ]; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 300 ]; then
			echo "pool: $1 did not start on $(pool_addr "$1"):$port" \
				"(port in use? XBT_PORT=8081 $0 pool)" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# Waits until host $1 answers as a slave (HOST_IS_SLAVE to a login) and the
# master has it enabled (its hello arrived: live, it can run VMs).
pool_wait_slave() {
	i=0
	until $xe -s "$(pool_addr "$1")" host-list 2>&1 | grep -q HOST_IS_SLAVE &&
		[ "$($xe host-list name-label="$1" params=enabled --minimal)" = true ]; do
		if [ $i -ge 300 ]; then
			echo "pool: $1 did not join the pool; its log is above" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

pool_demo() {
	port=${XBT_PORT:-8080}
	pw=${XBT_PASSWORD:-xbt}
	xe="./cli/xe -p $port${XBT_PASSWORD:+ -pw $pw}"
	pool_tmp=$(mktemp -d "${TMPDIR:-/tmp}/xbt-pool.XXXXXX")
	trap 'pool_exit $?' EXIT
	trap 'pool_stop; exit 0' INT TERM
	pool_start h1 --world "$top/tests/worlds/pool_demo.xml"
	pool_start h2
	pool_start h3
	for name in $POOL_HOSTS; do
		pool_wait_listening "$name" 1
	done
	echo "pool: h1, h2 and h3 listening on 127.0.0.1, .2 and .3, port $port"
	echo "pool: h1's world: tests/worlds/pool_demo.xml"
	for name in h2 h3; do
		echo
		echo "\$ xe -s $(pool_addr $name) pool-join master-address=127.0.0.1" \
			"master-username=root master-password=$pw"
		$xe -s "$(pool_addr $name)" pool-join master-address=127.0.0.1 \
			master-username=root master-password="$pw"
		pool_wait_listening "$name" 2
		pool_wait_slave "$name"
		echo "pool: $name restarted as a slave of h1"
	done
	echo
	echo "\$ xe host-list params=name-label,address"
	$xe host-list params=name-label,address
	echo "# demo-ok has affinity for h2: the master has h2's xbt-opsd attach its"
	echo "# disk. demo-h3's disk is on an SR of h3 alone: it can run only there."
	echo "\$ xe vm-start vm=demo-ok && xe vm-start vm=demo-h3"
	$xe vm-start vm=demo-ok
	$xe vm-start vm=demo-h3
	echo "\$ xe vm-list params=name-label,power-state,resident-on"
	$xe vm-list params=name-label,power-state,resident-on
	for vm in demo-ok demo-h3; do
		on=$($xe vm-list name-label=$vm params=resident-on --minimal)
		host=$($xe host-list uuid="$on" params=name-label --minimal 2>/dev/null) ||
			true
		echo "# $vm is resident on ${host:-no host} ($on)"
	done
	echo
	echo "# demo-fail (affinity h2) has a data disk that h2's FAIL plugin cannot"
	echo "# attach: its trace runs through four processes on two hosts, the plugin"
	echo "# (FAIL @ h2), xbt-opsd @ h2 that ran it, xbtd @ h2, and the master xbtd @ h1."
	echo "\$ xe vm-start vm=demo-fail --trace"
	$xe vm-start vm=demo-fail --trace || true
	echo
	echo "pool: h1 (master, 127.0.0.1), h2 and h3 are still running on port $port"
	echo "pool: (user root, password $pw). Clients talk to the master; the slaves"
	echo "pool: answer HOST_IS_SLAVE."
	echo "pool: the task and trace viewer: http://127.0.0.1:$port/ (a slave's sends you here)"
	echo "pool: try: $xe task-list   or   $xe vm-shutdown vm=demo-ok"
	echo "pool: Ctrl-C stops all three."
	wait "$(pool_pid h1)" || true
	echo "pool: h1 exited: stopping h2 and h3" >&2
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
pool)
	deps
	build
	pool_demo
	;;
*)
	echo "usage: $0 run|test|pool" >&2
	exit 2
	;;
esac
