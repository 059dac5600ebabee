# shellcheck shell=sh
# tap.sh: TAP producers for the shell test suites (tests/integration/*.sh,
# tests/vm/*.sh). POSIX sh; source it, then:
#
#   tap_plan N            "1..N" (once, before or after the tests)
#   tap_ok NAME           "ok K - NAME"
#   tap_not_ok NAME       "not ok K - NAME"
#   tap_result RC NAME    ok when RC is 0, not ok otherwise
#   tap_skip NAME REASON  "ok K - NAME # SKIP REASON"
#   tap_skip_all REASON   "1..0 # SKIP REASON" (a suite that cannot run)
#   tap_diag TEXT...      "# TEXT" (one line per argument line)
#   tap_done              plan check: returns 1 if a test failed or the
#                         count differs from the plan
#
# Aliases of the names the brief uses: plan, ok, not_ok, skip, diag.

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

tap_result() {
	tap_r_rc=$1
	shift
	if [ "$tap_r_rc" -eq 0 ]; then
		tap_ok "$@"
	else
		tap_not_ok "$@"
	fi
}

tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP ${2:-}"
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
}

tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

tap_done() {
	if [ -n "$TAP_PLANNED" ] && [ "$TAP_PLANNED" -ne "$TAP_N" ]; then
		tap_diag "planned $TAP_PLANNED tests, ran $TAP_N"
		return 1
	fi
	[ -z "$TAP_PLANNED" ] && echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

plan() { tap_plan "$@"; }
ok() { tap_ok "$@"; }
not_ok() { tap_not_ok "$@"; }
skip() { tap_skip "$@"; }
diag() { tap_diag "$@"; }
