# shellcheck shell=sh
# TAP helpers for the shell test suites (POSIX sh; source this file).
#
#   . tests/lib/tap.sh
#   plan 3                  # or call done_testing at the end instead
#   ok "name"; not_ok "name"; skip "reason"; diag "text"
#   check "name" cmd args   # ok when the command succeeds
#   skip_all "reason"       # the whole script has nothing to test here
#   bail_out "reason"       # the script cannot test: a failure, not a skip
#   need_built FILE...      # our own build products: missing ones bail out
#   done_testing            # prints the plan if none was given; exit status
#                           # is 1 when a test failed
#
# tests/run.sh counts "ok", "not ok" and "# skip" lines.

_tap_n=0
_tap_failed=0
_tap_planned=0

plan() {
	_tap_planned=1
	echo "1..$1"
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $*"
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # skip $*"
}

diag() {
	echo "# $*"
}

check() {
	_tap_name=$1
	shift
	if "$@"; then
		ok "$_tap_name"
	else
		not_ok "$_tap_name"
	fi
}

skip_all() {
	echo "1..0 # skip $*"
	exit 0
}

# For what the tree builds or sets up itself: its absence is a broken
# build or test set-up, and a skip would let the suite pass unchecked.
bail_out() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $*"
	echo "1..$_tap_n"
	echo "Bail out! $*"
	exit 1
}

need_built() {
	for _tap_b in "$@"; do
		[ -x "$_tap_b" ] || bail_out "$_tap_b is not built (make test-bins)"
	done
}

done_testing() {
	[ "$_tap_planned" -eq 1 ] || echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}
