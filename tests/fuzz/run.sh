#!/bin/sh
# Runs every built libFuzzer target in DIR for $FUZZ_SECONDS (default 20)
# against its seed corpus tests/fuzz/corpus/<name without fuzz_>/ and prints
# one line per target. Exits non-zero when a target crashes (or cannot run).
#
#   tests/fuzz/run.sh build-fuzz/fuzz
#
# New inputs go to a scratch corpus under $DIR/../fuzz-work/, never into the
# seed directories; crash inputs are kept in $DIR/../fuzz-artifacts/<name>/.

set -u
dir=${1:?usage: run.sh FUZZ_BIN_DIR}
secs=${FUZZ_SECONDS:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
base=$(cd "$dir/.." 2>/dev/null && pwd) || { echo "no such directory: $dir" >&2; exit 2; }
work="$base/fuzz-work"
arts="$base/fuzz-artifacts"
failed=0
ran=0

for t in "$dir"/fuzz_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	name=$(basename "$t")
	short=${name#fuzz_}
	seeds="$top/tests/fuzz/corpus/$short"
	scratch="$work/$short"
	log="$work/$short.log"
	mkdir -p "$scratch" "$arts/$short"
	if [ -d "$seeds" ]; then
		set -- "$scratch" "$seeds"
		note=""
	else
		set -- "$scratch"
		note=" (no seed corpus)"
	fi
	ran=$((ran + 1))
	"$t" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$arts/$short/" "$@" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		printf '%-24s ok      %s runs in %ss%s\n' "$name" "${runs:-?}" "$secs" "$note"
	else
		failed=$((failed + 1))
		crash=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
		printf '%-24s CRASH   exit %s; input %s; log %s\n' "$name" "$rc" "${crash:-?}" "$log"
	fi
done

if [ "$ran" -eq 0 ]; then
	echo "no fuzz targets in $dir" >&2
	exit 2
fi
[ "$failed" -eq 0 ]
