#!/bin/sh
# The release binary has no simulator: no simulator symbol (nm), and none of
# the simulator's words in what it loads (strings of the binary without its
# debug sections: the warnings of test builds, the simulator's config and
# command-line keys, its reason codes). The test binary has them, so the
# patterns are known to match. Debug info (type field names) is not loaded
# and ships apart (-dbgsym), so it is left out.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
REL=$O/ccunlock
TST=$O/test/ccunlock
# Our own build products: missing means the build is broken, not "nothing to test".
need_built "$REL" "$TST"
for t in nm objcopy strings; do
	command -v "$t" >/dev/null 2>&1 || bail_out "$t missing (binutils)"
done

T=$(mktemp -d /tmp/ccu-relclean-XXXXXX)
trap 'rm -rf "$T"' EXIT

# our simulator's names: snp_sim_*, *_sim (providers), azure_sim_*, *simulat*
# (not OpenSSL's *_simple_* of a static link)
SYM_RE='(^|_)sim(_|$)|simulat'
STR_RE='TEST BUILD|simulator|rd\.ccunlock\.sim|SIM_[A-Z]|testonly'

loaded_strings() {
	objcopy --strip-debug "$1" "$T/bin" && strings -a "$T/bin"
}

nm "$REL" 2>&1 | awk '{ print $NF }' >"$T/rel.nm"
nm "$TST" 2>&1 | awk '{ print $NF }' >"$T/tst.nm"
if grep -iE "$SYM_RE" "$T/rel.nm" >"$T/hits"; then
	not_ok "release binary links no simulator symbol"
	sed 's/^/# /' "$T/hits"
else
	ok "release binary links no simulator symbol"
fi
check "test binary links the simulator (the pattern matches)" grep -qiE "$SYM_RE" "$T/tst.nm"

loaded_strings "$REL" >"$T/rel.str"
loaded_strings "$TST" >"$T/tst.str"
if grep -E "$STR_RE" "$T/rel.str" >"$T/hits"; then
	not_ok "release binary carries no simulator string"
	sed 's/^/# /' "$T/hits"
else
	ok "release binary carries no simulator string"
fi
check "test binary carries them (the pattern matches)" grep -qE "$STR_RE" "$T/tst.str"

# A release run does not know the simulator's keys or evidence name.
printf 'evidence = simulator\nsimulator_dir = /nonexistent\n' >"$T/c.conf"
"$REL" --config "$T/c.conf" posture >"$T/out" 2>&1
st=$?
check "release binary refuses the simulator's configuration (exit 3)" [ "$st" -eq 3 ]
check "... as an unknown key" grep -q 'CONFIG_' "$T/out"

# The Makefile refuses simulator code outside src/testonly/.
mkdir -p "$T/tree/src/guest"
cp Makefile "$T/tree/"
: >"$T/tree/src/guest/stray_sim.c"
make -C "$T/tree" -n all >"$T/make.out" 2>&1
st=$?
check "a *_sim.c outside src/testonly stops the build" [ "$st" -ne 0 ]
check "... naming the file" grep -q 'src/guest/stray_sim.c' "$T/make.out"
done_testing
