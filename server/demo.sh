#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The main job, run from a build directory (argument 1): xbtd on the
# embedded demo world in the foreground, and once it listens, a failing
# VM.start traced end to end with xe. xbtd keeps running for your own xe
# commands until Ctrl-C.
set -eu
cd "$1"
port=${XBT_PORT:-8080}
fifo=$(mktemp -u)
mkfifo "$fifo"
# A fresh state directory for xbt-opsd: every run starts from halted VMs
# (opsd keeps running VMs across restarts; doc/opsd.md).
state=$(mktemp -d)
trap 'rm -f "$fifo"; rm -rf "$state"' EXIT

# Its log goes to a file, so that the demo's output is xe's alone.
log="$state/xbtd.log"
./server/xbtd --listen "127.0.0.1:$port" --log-level "${XBT_LOG_LEVEL:-warn}" \
	--opsd-dir "$state/opsd" --log-file "$log" >"$fifo" &
xbtd=$!
trap 'kill $xbtd 2>/dev/null; wait $xbtd 2>/dev/null; rm -f "$fifo"; rm -rf "$state"; exit 0' INT TERM

# xbtd prints one line on stdout once it accepts connections.
if ! read -r ready <"$fifo"; then
	echo "demo: xbtd did not start" >&2
	cat "$log" >&2 2>/dev/null || true
	wait $xbtd
	exit 1
fi
echo "demo: $ready"
xe="./cli/xe -p $port"
echo
echo "\$ xe vm-list"
$xe vm-list
echo "\$ xe vm-start vm=demo-ok && xe vm-list name-label=demo-ok params=name-label,power-state"
$xe vm-start vm=demo-ok
$xe vm-list name-label=demo-ok params=name-label,power-state
echo
echo "# demo-fail's data disk is locked: the trace runs through three processes,"
echo "# the plugin (FAIL @ host), xbt-opsd that ran it, and xbtd."
echo "\$ xe vm-start vm=demo-fail --trace"
$xe vm-start vm=demo-fail --trace || true
echo
echo "demo: xbtd is still running on 127.0.0.1:$port (user root, password xbt)."
echo "demo: the task and trace viewer: http://127.0.0.1:$port/ (start demo-fail there)"
echo "demo: its log (the failure above too, as xbtd logs it): $log"
echo "demo: try: $xe task-list   or   $xe vm-shutdown vm=demo-ok"
echo "demo: Ctrl-C stops it."
wait $xbtd
