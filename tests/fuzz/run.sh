#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Replays the seed corpora, then fuzzes each target for a bounded time:
#   tests/fuzz/run.sh OUTDIR SECONDS
# OUTDIR is build.sh's. New inputs go to OUTDIR/corpus/<target>; crashes to
# OUTDIR/crash-<target>-*. Replays run twice: on the normal stack and on a
# 128 KiB thread stack (XBT_FUZZ_STACK_KB), as xbtd's handler threads have.
set -eu

usage="usage: run.sh OUTDIR SECONDS"
OUTDIR=$(cd "${1:?$usage}" && pwd)
SECS=${2:?$usage}
HERE=$(cd "$(dirname "$0")" && pwd)
SMALL_KB=${XBT_FUZZ_SMALL_STACK_KB:-128}
status=0

fail() {
	echo "run.sh: $1" >&2
	status=1
}

found=0
for bin in "$OUTDIR"/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	found=$((found + 1))
	name=$(basename "$bin")
	seeds="$HERE/corpus/${name#fuzz_}"
	work="$OUTDIR/corpus/$name"
	mkdir -p "$work"
	[ -d "$seeds" ] || seeds=
	opts="-timeout=10 -rss_limit_mb=4096 -max_len=65536
		-artifact_prefix=$OUTDIR/crash-$name-"

	echo "== $name: replay seeds"
	if [ -n "$seeds" ]; then
		# shellcheck disable=SC2086
		"$bin" $opts -runs=0 "$seeds" >"$OUTDIR/$name.replay.log" 2>&1 ||
			fail "$name: replay failed, see $OUTDIR/$name.replay.log"
		# shellcheck disable=SC2086
		XBT_FUZZ_STACK_KB=$SMALL_KB "$bin" $opts -runs=0 "$seeds" \
			>"$OUTDIR/$name.replay-small.log" 2>&1 ||
			fail "$name: small-stack replay failed, see $OUTDIR/$name.replay-small.log"
	fi

	echo "== $name: fuzz for $SECS s"
	# shellcheck disable=SC2086
	"$bin" $opts -max_total_time="$SECS" -print_final_stats=1 \
		"$work" $seeds >"$OUTDIR/$name.fuzz.log" 2>&1 ||
		fail "$name: fuzzing found a problem, see $OUTDIR/$name.fuzz.log"
	tail -n 12 "$OUTDIR/$name.fuzz.log" | grep -E '^stat::(number_of_executed_units|new_units_added)|^(==|SUMMARY|.*check failed)' || true

	echo "== $name: replay what fuzzing found on a ${SMALL_KB} KiB stack"
	# shellcheck disable=SC2086
	XBT_FUZZ_STACK_KB=$SMALL_KB "$bin" $opts -runs=0 "$work" \
		>"$OUTDIR/$name.replay-work.log" 2>&1 ||
		fail "$name: small-stack replay of the new corpus failed, see $OUTDIR/$name.replay-work.log"
done
[ "$found" -gt 0 ] || fail "no fuzz targets in $OUTDIR (run build.sh first)"
exit $status
