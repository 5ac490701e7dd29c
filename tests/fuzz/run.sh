#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Replays the seed corpora, then fuzzes each target for a bounded time:
#   tests/fuzz/run.sh OUTDIR SECONDS [RUNS]
# OUTDIR is build.sh's. Each target fuzzes for SECONDS, or RUNS executions
# when given, whichever ends first. New inputs go to OUTDIR/corpus/<target>;
# crashes to OUTDIR/crash-<target>-*. Replays run twice: on the normal stack
# and on a 128 KiB thread stack (XBT_FUZZ_STACK_KB), as xbtd's handler
# threads have. Ends with each target's executions and findings.
set -eu

usage="usage: run.sh OUTDIR SECONDS [RUNS]"
OUTDIR=$(cd "${1:?$usage}" && pwd)
SECS=${2:?$usage}
RUNS=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SMALL_KB=${XBT_FUZZ_SMALL_STACK_KB:-128}
status=0
summary=
# Findings are the crash files written (or rewritten) from now on.
since="$OUTDIR/.run-started"
: > "$since"

fail() {
	echo "run.sh: $1" >&2
	status=1
}

# A libFuzzer log's stat:: value, or "?".
stat_of() {
	v=$(sed -n "s/^stat::$1:[[:space:]]*//p" "$2" | tail -n 1)
	echo "${v:-?}"
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
	limit="-max_total_time=$SECS"
	[ -z "$RUNS" ] || limit="$limit -runs=$RUNS"

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

	echo "== $name: fuzz for $SECS s${RUNS:+ or $RUNS runs}"
	# shellcheck disable=SC2086
	"$bin" $opts $limit -print_final_stats=1 \
		"$work" $seeds >"$OUTDIR/$name.fuzz.log" 2>&1 ||
		fail "$name: fuzzing found a problem, see $OUTDIR/$name.fuzz.log"
	tail -n 12 "$OUTDIR/$name.fuzz.log" | grep -E '^stat::(number_of_executed_units|new_units_added)|^(==|SUMMARY|.*check failed)' || true

	echo "== $name: replay what fuzzing found on a ${SMALL_KB} KiB stack"
	# shellcheck disable=SC2086
	XBT_FUZZ_STACK_KB=$SMALL_KB "$bin" $opts -runs=0 "$work" \
		>"$OUTDIR/$name.replay-work.log" 2>&1 ||
		fail "$name: small-stack replay of the new corpus failed, see $OUTDIR/$name.replay-work.log"

	findings=$(find "$OUTDIR" -maxdepth 1 -name "crash-$name-*" -newer "$since" | wc -l)
	summary="$summary$name: $(stat_of number_of_executed_units "$OUTDIR/$name.fuzz.log") executions, $(stat_of new_units_added "$OUTDIR/$name.fuzz.log") new inputs, $findings findings
"
done
[ "$found" -gt 0 ] || fail "no fuzz targets in $OUTDIR (run build.sh first)"
printf '== summary (findings: %s/crash-<target>-*)\n%s' "$OUTDIR" "$summary"
exit $status
