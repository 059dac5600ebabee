#!/bin/sh
# SEV-SNP report verification speed: ccunlock's verifier in process, with a
# cold chain and with the verified-chain cache, next to peers measured in the
# same run: the independent Python checker (../shared/tools/snp/snp_check.py,
# pyca/cryptography) in process, and per whole command ccunlock-kbs verify vs
# the openssl-CLI check (snp_openssl_check.sh). Prints numbers only.
#
#   bench/verify.sh [SECONDS]        (O=build by default)
set -eu
O=${O:-build}
secs=${1:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -x "$O/test/bench-verify" ] || [ ! -x "$O/ccunlock-kbs" ]; then make -s test-bins; fi
vec=../shared/vectors/snp
tools=../shared/tools/snp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -f "$vec/cases.json" ]; then
	# A real Milan v3 report (Oak), AMD's own chain.
	report=$vec/oak/milan_oc_release.report.bin
	vek=$vec/oak/milan_oc_release.vcek.der
	ask=$vec/amd-roots/milan/ask.pem
	ark=$vec/amd-roots/milan/ark.pem
	extra=""
	what="real Milan v3 report (oak/milan_oc_release), AMD chain"
else
	"$O/test/ccunlock-sim" init "$tmp/sim" --product milan >/dev/null
	"$O/test/ccunlock-sim" report "$tmp/sim" -o "$tmp/report.bin" >/dev/null
	report=$tmp/report.bin
	vek=$tmp/sim/vcek.pem
	ask=$tmp/sim/ask.pem
	ark=$tmp/sim/ark.pem
	extra="--trusted-ark $ark"
	what="simulated Milan v5 report (the real vectors are absent)"
fi

echo "== SNP report verification, $what"
echo "-- ccunlock (C, OpenSSL 3), in process, ${secs}s each"
# shellcheck disable=SC2086 # $extra is empty or one option pair
"$O/test/bench-verify" --report "$report" --vek "$vek" --chain "$ask" --chain "$ark" $extra \
	--seconds "$secs"

py=$(command -v python3 || true)
if [ -n "$py" ] && [ -f "$tools/snp_check.py" ] && "$py" -c 'import cryptography' 2>/dev/null &&
	[ -z "$extra" ]; then
	echo "-- peer: snp_check.py (Python, pyca/cryptography), in process, ${secs}s"
	"$py" -W ignore - "$tools" "$report" "$vek" "$ask" "$ark" "$secs" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
import snp_check as c
raw, _ = c.read_report_file(sys.argv[2])
certs = [x for p in sys.argv[3:6] for x in c.load_certs(p)]
secs = float(sys.argv[6])
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs:
    res = c.verify(c.Report(raw), certs)
    n += 1
el = time.monotonic() - t0
assert not res.failed(), "peer rejected the report"
print(f"snp_check.py: {n / el:8.0f} verifications/s ({n} in {el:.0f} s; {1000 * el / n:.3f} ms each)")
PY
else
	echo "-- peer snp_check.py skipped (needs python3 with cryptography and ../shared/tools)"
fi

runs=20
per_run() { # command... -> ms per run over $runs runs
	t0=$(date +%s%N)
	i=0
	while [ "$i" -lt "$runs" ]; do
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / runs / 1000000))
}
echo "-- whole command, mean of $runs runs (process start, file reads, verification)"
# shellcheck disable=SC2086
ours=$(per_run "$O/ccunlock-kbs" verify --report "$report" --vek "$vek" --chain "$ask" \
	--chain "$ark" $extra --at 2025-06-01T00:00:00Z)
echo "ccunlock-kbs verify:      ${ours} ms"
if [ -x "$tools/snp_openssl_check.sh" ] && [ -z "$extra" ]; then
	peer=$(per_run "$tools/snp_openssl_check.sh" "$report" "$vek" "$ask" "$ark")
	echo "snp_openssl_check.sh:     ${peer} ms (openssl CLI: chain + signature only, no binding)"
fi
