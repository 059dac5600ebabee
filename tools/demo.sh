#!/bin/sh
# make demo: the main job, end to end, on this machine.
#
# Stage "evidence": a simulated SEV-SNP platform signs a report, the broker's
# verifier checks it against the platform's (test) AMD-style chain and an
# owner policy, and shows the decoded posture; then the same with a report
# whose guest policy allows debugging, which must be refused.
set -eu
O=${O:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
KBS=$O/ccunlock-kbs
SIM=$O/test/ccunlock-sim
D=$O/demo
rm -rf "$D"
mkdir -p "$D"

say() { printf '\n== %s\n' "$*"; }

say "1. A simulated SEV-SNP platform (test root, never trusted unless named)"
"$SIM" init "$D/sim" --product genoa --tcb 'bl=10 tee=0 snp=25 ucode=84' --fw 1.55.43
"$SIM" show "$D/sim"

say "2. The platform signs a report for a guest"
MEAS=$(printf 'ccunlock demo image' | sha384sum | cut -d' ' -f1)
"$SIM" report "$D/sim" -o "$D/report.bin" --measurement "$MEAS" --policy 0x30000
cat >"$D/release.policy" <<EOF
# Release only to the demo image, on current firmware, SMT off not required.
measurement = $MEAS
min_reported_tcb = bl=10 tee=0 snp=23 ucode=84
min_firmware = 1.55.40
vmpl = 0
EOF
cat "$D/release.policy"

say "3. The broker's verifier: chain, binding, signature, then the owner's policy"
"$KBS" verify --report "$D/report.bin" --vek "$D/sim/vcek.pem" --chain "$D/sim/chain.pem" \
	--trusted-ark "$D/sim/ark.pem" --policy "$D/release.policy"

say "4. Without naming the test root, the same report is refused"
if "$KBS" verify --report "$D/report.bin" --vek "$D/sim/vcek.pem" --chain "$D/sim/chain.pem"; then
	echo "demo: an untrusted root was accepted" >&2
	exit 1
fi

say "5. A guest launched with debugging allowed is refused by policy"
"$SIM" report "$D/sim" -o "$D/debug.bin" --measurement "$MEAS" --policy 0xb0000
if "$KBS" verify --report "$D/debug.bin" --vek "$D/sim/vcek.pem" --chain "$D/sim/chain.pem" \
	--trusted-ark "$D/sim/ark.pem" --policy "$D/release.policy"; then
	echo "demo: a debug-enabled guest was accepted" >&2
	exit 1
fi
echo
echo "demo: done"
