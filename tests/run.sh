#!/bin/sh
# Runs the test suites and prints one total line "N passed, N failed".
#
#   tests/run.sh [unit] [bats] [integration] [vm]     (default: all four)
#
# Every suite speaks TAP: cmocka (CMOCKA_MESSAGE_OUTPUT=TAP), bats --tap, and
# our own shell suites (tests/lib/tap.sh). A test program that dies without
# reporting counts as one failure. Logs go to $O/test-logs/.
#
# Environment: O (build dir, default build), CCU_VALGRIND=1 (unit tests under
# valgrind), CCU_SANITIZED=1 (binaries were built with ASan+UBSan),
# CCU_UNIT_JOBS (unit programs at once; default the number of CPUs),
# CCU_VM_JOBS (VM scripts run at once; default 2 with two or more CPUs: each
# guest is one TCG thread).

set -u
O=${O:-build}
export O
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
logs="$O/test-logs"
mkdir -p "$logs"
: >"$logs/summary.tap"

suites=${*:-unit bats integration vm}
pass=0
fail=0
skip=0
failed_names=""

# count_tap LOGFILE NAME EXIT_STATUS
count_tap() {
	# cmocka reports a skipped test as "not ok N # SKIP", bats as "ok N # skip".
	p=$(grep -E '^ok ' "$1" 2>/dev/null | grep -civE '# *skip') || p=0
	s=$(grep -ciE '^(not )?ok .*# *skip' "$1" 2>/dev/null) || s=0
	f=$(grep -E '^not ok ' "$1" 2>/dev/null | grep -civE '# *skip') || f=0
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		# The program failed without saying which test: count it.
		f=1
		echo "not ok - $2 exited with status $3 (see $1)" >>"$1"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $2"
		grep -E '^not ok ' "$1" | grep -viE '# *skip' | sed "s|^|  $2: |"
	fi
	printf '%-34s %4d passed %3d failed %3d skipped\n' "$2" "$p" "$f" "$s"
}

# run_one_unit TEST LOG: one cmocka program (under valgrind when asked).
run_one_unit() {
	if [ "${CCU_VALGRIND:-0}" = 1 ]; then
		CMOCKA_MESSAGE_OUTPUT=TAP valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --track-fds=no "$1" >"$2" 2>&1
	else
		CMOCKA_MESSAGE_OUTPUT=TAP "$1" >"$2" 2>&1
	fi
}

# run_unit: the cmocka programs in $unit_jobs lanes (each lane takes the
# next program nobody has claimed, as run_scripts_parallel); results are
# counted in name order once all have ended.
run_unit() {
	claims="$logs/.claims-unit"
	rm -rf "$claims"
	mkdir -p "$claims"
	lane=0
	while [ "$lane" -lt "$unit_jobs" ]; do
		(
			for t in "$O"/tests/test_*; do
				[ -x "$t" ] || continue
				mkdir "$claims/$(basename "$t")" 2>/dev/null || continue
				run_one_unit "$t" "$logs/$(basename "$t").tap"
				echo $? >"$claims/$(basename "$t")/status"
			done
		) &
		lane=$((lane + 1))
	done
	wait
	for t in "$O"/tests/test_*; do
		[ -x "$t" ] || continue
		st=$(cat "$claims/$(basename "$t")/status" 2>/dev/null) || st=1
		count_tap "$logs/$(basename "$t").tap" "unit/$(basename "$t")" "$st"
	done
	rm -rf "$claims"
}

run_bats() {
	command -v bats >/dev/null 2>&1 || { echo "bats missing"; fail=$((fail + 1)); return; }
	for t in tests/bats/*.bats; do
		[ -f "$t" ] || continue
		log="$logs/$(basename "$t").tap"
		bats --tap "$t" >"$log" 2>&1
		count_tap "$log" "bats/$(basename "$t")" $?
	done
}

run_scripts() {
	dir=$1
	for t in "$dir"/[0-9a-z]*.sh; do
		[ -x "$t" ] || continue
		log="$logs/$(basename "$dir")-$(basename "$t" .sh).tap"
		"$t" >"$log" 2>&1
		count_tap "$log" "$(basename "$dir")/$(basename "$t" .sh)" $?
	done
}

# run_scripts_parallel DIR JOBS: the scripts of DIR in JOBS lanes; each lane
# takes the next script nobody has claimed (mkdir is atomic), so the longest
# (first) script overlaps the rest. Results are counted in script order.
run_scripts_parallel() {
	dir=$1
	claims="$logs/.claims-$(basename "$dir")"
	rm -rf "$claims"
	mkdir -p "$claims"
	lane=0
	while [ "$lane" -lt "$2" ]; do
		(
			for t in "$dir"/[0-9a-z]*.sh; do
				[ -x "$t" ] || continue
				mkdir "$claims/$(basename "$t")" 2>/dev/null || continue
				"$t" >"$logs/$(basename "$dir")-$(basename "$t" .sh).tap" 2>&1
				echo $? >"$claims/$(basename "$t")/status"
			done
		) &
		lane=$((lane + 1))
	done
	wait
	for t in "$dir"/[0-9a-z]*.sh; do
		[ -x "$t" ] || continue
		st=$(cat "$claims/$(basename "$t")/status" 2>/dev/null) || st=1
		count_tap "$logs/$(basename "$dir")-$(basename "$t" .sh).tap" \
			"$(basename "$dir")/$(basename "$t" .sh)" "$st"
	done
	rm -rf "$claims"
}

vm_jobs=${CCU_VM_JOBS:-}
if [ -z "$vm_jobs" ]; then
	vm_jobs=1
	[ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] && vm_jobs=2
fi
case $vm_jobs in '' | *[!0-9]* | 0) echo "CCU_VM_JOBS must be a positive number" >&2; exit 2 ;; esac
# Unit programs at once (default: the CPUs; most of their time is waiting
# on sockets and child processes, not CPU).
unit_jobs=${CCU_UNIT_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $unit_jobs in '' | *[!0-9]* | 0) echo "CCU_UNIT_JOBS must be a positive number" >&2; exit 2 ;; esac

for s in $suites; do
	echo "== $s"
	case $s in
	unit) run_unit ;;
	bats) run_bats ;;
	integration) run_scripts tests/integration ;;
	vm) run_scripts_parallel tests/vm "$vm_jobs" ;;
	*) echo "unknown suite '$s'" >&2; exit 2 ;;
	esac
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
[ "$skip" -gt 0 ] && echo "$skip skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
