#!/bin/sh
# ccunlock-kbs measure and policy measure as an owner runs them: one line of
# lower-case hex (or JSON), refusals with their code and exit status, a
# stored policy that keeps every measurement added, and a simulated platform
# launched from the same inputs whose report that policy allows.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
T=$(mktemp -d /tmp/ccu-measure-XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/integration/broker_lib.sh
for b in "$KBS" "$SIM"; do
	[ -x "$b" ] || skip_all "$b is not built (make test-bins)"
done
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"

seeds=tests/fuzz/corpus/firmware
# A 2 MiB firmware with kernel hashes: random bytes in front of the AmdSev seed.
head -c $((2 * 1024 * 1024 - 4096)) /dev/urandom >"$T/ovmf.fd"
cat "$seeds/amdsev" >>"$T/ovmf.fd"
head -c 100000 /dev/urandom >"$T/vmlinuz"
head -c 50000 /dev/urandom >"$T/initrd"
L="--mode snp --ovmf $T/ovmf.fd --vcpus 2 --vcpu-type EPYC-Genoa"
K="--kernel $T/vmlinuz --initrd $T/initrd --append root=/dev/mapper/root"

# shellcheck disable=SC2086 # $L and $K are option lists
m=$("$KBS" measure $L $K 2>"$T/err")
check "measure exits 0" test $? -eq 0
check "... and prints 96 lower-case hex digits, nothing else" \
	sh -c "printf '%s\n' '$m' | grep -Eqx '[0-9a-f]{96}'"
# shellcheck disable=SC2086
check "... the same every time" test "$("$KBS" measure $L $K)" = "$m"
# shellcheck disable=SC2086
check "another command line is another measurement" \
	test "$("$KBS" measure $L --kernel "$T/vmlinuz" --initrd "$T/initrd" --append 'root=/dev/vda')" != "$m"
# shellcheck disable=SC2086
"$KBS" measure $L $K --json >"$T/m.json"
check "--json holds the inputs' hashes and the digest" python3 -c "
import hashlib, json, sys
j = json.load(open('$T/m.json'))
assert j['measurement'] == '$m'
assert j['kernel']['sha256'] == hashlib.sha256(open('$T/vmlinuz', 'rb').read()).hexdigest()
assert j['initrd']['sha256'] == hashlib.sha256(open('$T/initrd', 'rb').read()).hexdigest()
assert j['cmdline']['sha256'] == hashlib.sha256(b'root=/dev/mapper/root\0').hexdigest()
assert j['ovmf']['sha256'] == hashlib.sha256(open('$T/ovmf.fd', 'rb').read()).hexdigest()
assert j['vcpus'] == 2 and j['vcpu_sig'] == '0x00a10f10' and j['guest_features'] == '0x1'
"
s=$("$KBS" measure --mode seves --ovmf "$T/ovmf.fd" --vcpus 1 --vcpu-type EPYC)
check "seves: 64 hex digits" sh -c "printf '%s\n' '$s' | grep -Eqx '[0-9a-f]{64}'"
s=$("$KBS" measure --mode sev --ovmf "$T/ovmf.fd")
check "sev without a kernel is the firmware's SHA-256" \
	test "$s" = "$(sha256sum "$T/ovmf.fd" | cut -d' ' -f1)"

"$KBS" measure --mode snp --ovmf "$seeds/no-table" --vcpus 1 --vcpu-type EPYC >"$T/out" 2>"$T/err"
check "a firmware without SEV metadata is refused (exit 1)" test $? -eq 1
check "... with FIRMWARE_NO_SEV_METADATA, nothing on stdout" \
	sh -c "grep -q '^ccunlock-kbs measure: FIRMWARE_NO_SEV_METADATA: ' '$T/err' && ! test -s '$T/out'"
"$KBS" measure --mode snp --ovmf "$seeds/ovmfx64" --vcpus 1 --vcpu-type EPYC \
	--kernel "$T/vmlinuz" >/dev/null 2>"$T/err"
check "a kernel with a firmware that cannot hash it: FIRMWARE_NO_KERNEL_HASHES" \
	grep -q FIRMWARE_NO_KERNEL_HASHES "$T/err"
"$KBS" measure --mode snp --ovmf "$seeds/overlap" --vcpus 1 --vcpu-type EPYC >/dev/null 2>"$T/err"
check "overlapping sections: FIRMWARE_SECTION_OVERLAP" grep -q FIRMWARE_SECTION_OVERLAP "$T/err"
"$KBS" measure --mode snp --ovmf "$T/absent" --vcpus 1 --vcpu-type EPYC >/dev/null 2>"$T/err"
check "a missing firmware: exit 2, FIRMWARE_READ" sh -c "test $? -eq 2 && grep -q FIRMWARE_READ '$T/err'"
"$KBS" measure --mode snp --ovmf "$T/ovmf.fd" --vcpus 1 >/dev/null 2>&1
check "QEMU without a vCPU type is a usage error (exit 2)" test $? -eq 2
"$KBS" measure --mode snp --ovmf "$T/ovmf.fd" --vcpus 1 --vcpu-type EPYC --append x >/dev/null 2>&1
check "--append without --kernel is a usage error" test $? -eq 2

check "setup: broker state" setup_broker "$T"
C="--config $T/broker.conf"
# shellcheck disable=SC2086
"$KBS" policy measure web $L $K $C >"$T/out" 2>"$T/err"
check "policy measure creates a policy" grep -q "^created policy web: measurement $m" "$T/out"
# shellcheck disable=SC2086
check "policy show lists it" sh -c "'$KBS' policy show web $C | grep -qx 'measurement = $m'"
fw_sha=$(sha256sum "$T/ovmf.fd" | cut -d' ' -f1)
# shellcheck disable=SC2086
check "... after a comment naming the inputs" \
	sh -c "'$KBS' policy show web $C | grep -q '^# ccunlock-kbs policy measure: snp, qemu, 2 vCPUs, .*OVMF sha256 $fw_sha, kernel sha256 '"
# shellcheck disable=SC2086
m4=$("$KBS" measure --mode snp --ovmf "$T/ovmf.fd" --vcpus 4 --vcpu-type EPYC-Genoa $K)
# shellcheck disable=SC2086
"$KBS" policy measure web --mode snp --ovmf "$T/ovmf.fd" --vcpus 4 --vcpu-type EPYC-Genoa $K $C \
	>"$T/out"
# shellcheck disable=SC2086
check "a second image is added, the first kept" \
	test "$("$KBS" policy show web $C | grep -c '^measurement = ')" -eq 2
check "... and both are listed" sh -c "'$KBS' policy show web $C | grep -qx 'measurement = $m4' &&
	'$KBS' policy show web $C | grep -qx 'measurement = $m'"
# shellcheck disable=SC2086
"$KBS" policy measure web $L $K $C >"$T/out"
check "the same image again changes nothing" grep -q "already allows $m (2 measurements)" "$T/out"
# shellcheck disable=SC2086
"$KBS" policy measure open $L $K $C >/dev/null 2>"$T/err"
check "a policy that allows any measurement is left alone (exit 1)" \
	sh -c "test $? -eq 1 && '$KBS' policy show open $C | grep -qx 'measurement = any'"
# shellcheck disable=SC2086
"$KBS" policy measure web --mode sev --ovmf "$T/ovmf.fd" $C >/dev/null 2>&1
check "policy measure takes SNP measurements only (exit 2)" test $? -eq 2
check "the audit log has the change" grep -q '"action":"policy.put","peer":"cli","policy":"web"' \
	"$T/audit.jsonl"

quiet() { "$@" >/dev/null; }

# The simulated platform launches the guest from the same inputs.
# shellcheck disable=SC2086
"$SIM" report "$T/sim" -o "$T/report.bin" --policy 0x30000 --measure-from $L $K
check "the simulated report carries the computed measurement" \
	test "$(od -An -v -tx1 -j 144 -N 48 "$T/report.bin" | tr -d ' \n')" = "$m"
# shellcheck disable=SC2086
check "ccunlock-sim measure agrees" test "$("$SIM" measure $L $K)" = "$m"
# shellcheck disable=SC2086
"$KBS" policy show web $C >"$T/web.policy"
check "the stored policy allows that report" quiet "$KBS" verify --report "$T/report.bin" \
	--vek "$T/sim/vcek.pem" --chain "$T/sim/chain.pem" --trusted-ark "$T/sim/ark.pem" \
	--policy "$T/web.policy"
# shellcheck disable=SC2086
"$SIM" report "$T/sim" -o "$T/other.bin" --policy 0x30000 --measure-from $L \
	--kernel "$T/vmlinuz" --initrd "$T/initrd" --append 'root=/dev/mapper/root rdinit=/bin/sh'
"$KBS" verify --report "$T/other.bin" --vek "$T/sim/vcek.pem" --chain "$T/sim/chain.pem" \
	--trusted-ark "$T/sim/ark.pem" --policy "$T/web.policy" >/dev/null 2>"$T/err"
check "a launch with another command line is denied: POLICY_MEASUREMENT" \
	grep -q POLICY_MEASUREMENT "$T/err"
done_testing
