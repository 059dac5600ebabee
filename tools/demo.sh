#!/bin/sh
# make demo: the main job, end to end, on this machine (no SEV-SNP hardware:
# a simulated platform signs the reports; the broker trusts its test root
# only because the configuration names it).
#
#   1. evidence  the owner computes the launch measurement of the image
#                (ccunlock-kbs measure: firmware, vCPUs, guest features)
#                before any boot; a simulated platform launches the guest
#                from the same inputs and signs a report; the broker's
#                verifier checks it against a policy holding the computed
#                value; a debug-enabled guest is refused
#   2. broker    ccunlock-kbs on 127.0.0.1 (TLS); a LUKS2 image is enrolled
#                through its admin API; ccunlock attests and checks the key
#                against the keyslot (--test: this host has no device-mapper)
#   3. boot      QEMU boots Debian's kernel with a dracut initramfs holding
#                ccunlock; the encrypted root unlocks after attestation to the
#                broker on the host (10.0.2.2 from the guest)
#
# DEMO_PARTS="evidence broker boot" selects parts (default: all).
set -eu
O=${O:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
KBS=$O/ccunlock-kbs
SIM=$O/test/ccunlock-sim
CCU=$O/test/ccunlock
D=$top/$O/demo
rm -rf "$D"
mkdir -p "$D"
BROKER_PID=
cleanup() {
	if [ -n "$BROKER_PID" ]; then
		kill "$BROKER_PID" 2>/dev/null || true
		wait "$BROKER_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# shellcheck source=../tests/lib/tls.sh
. tests/lib/tls.sh
# shellcheck source=../tests/lib/broker.sh
. tests/lib/broker.sh

say() { printf '\n== %s\n' "$*"; }
step() { printf -- '-- %s\n' "$*"; }
fail() {
	echo "demo: $*" >&2
	exit 1
}

# The demo guest's launch: Debian's OVMF (the ovmf package) under QEMU,
# 2 vCPUs of QEMU's EPYC-Genoa model, SNP guest features 0x1. Without the
# package, a firmware with the AmdSev layout of the fuzz seeds stands in.
OVMF=/usr/share/ovmf/OVMF.fd
if [ ! -f "$OVMF" ]; then
	OVMF=$D/ovmf.fd
	head -c $((2 * 1024 * 1024 - 4096)) /dev/zero >"$OVMF"
	cat tests/fuzz/corpus/firmware/amdsev >>"$OVMF"
fi
LAUNCH="--mode snp --ovmf $OVMF --vcpus 2 --vcpu-type EPYC-Genoa --guest-features 0x1"
# The allowed value comes from a calculation, never from a first boot.
# shellcheck disable=SC2086 # $LAUNCH is an option list
MEAS=$("$KBS" measure $LAUNCH) || fail "ccunlock-kbs measure failed"

part_evidence() {
	say "1. Evidence: is this SEV-SNP report genuine, and does the owner's policy allow it?"
	step "a simulated SEV-SNP platform (a test ARK, never trusted unless named)"
	"$SIM" init "$D/sim" --product genoa --tcb 'bl=10 tee=0 snp=25 ucode=84' --fw 1.55.43 |
		sed 's/^/   /'
	step "the owner computes the launch measurement before the first boot (ccunlock-kbs measure)"
	echo "   $KBS measure $LAUNCH"
	# shellcheck disable=SC2086
	"$KBS" measure $LAUNCH --json | sed 's/^/   /'
	step "measured direct boot needs a firmware with a kernel hashes page; this one has none:"
	# shellcheck disable=SC2086
	if "$KBS" measure $LAUNCH --kernel /dev/null 2>"$D/nohashes.err"; then
		[ "$OVMF" = "$D/ovmf.fd" ] || fail "a kernel was measured with a firmware without hashes"
	fi
	sed 's/^/   /' "$D/nohashes.err"
	step "the platform launches the guest from the same inputs and signs a report"
	# shellcheck disable=SC2086
	"$SIM" report "$D/sim" -o "$D/report.bin" --policy 0x30000 --measure-from $LAUNCH
	echo "   report MEASUREMENT $(od -An -v -tx1 -j 144 -N 48 "$D/report.bin" | tr -d ' \n')"
	cat >"$D/release.policy" <<EOF
# Release only to the demo image, on current firmware, at VMPL 0.
measurement = $MEAS
min_reported_tcb = bl=10 tee=0 snp=23 ucode=84
min_firmware = 1.55.40
vmpl = 0
EOF
	step "the broker's verifier: AMD-style chain, TCB and chip binding, signature, then the policy"
	"$KBS" verify --report "$D/report.bin" --vek "$D/sim/vcek.pem" --chain "$D/sim/chain.pem" \
		--trusted-ark "$D/sim/ark.pem" --policy "$D/release.policy"
	step "without naming the test root, the same report is refused"
	if "$KBS" verify --report "$D/report.bin" --vek "$D/sim/vcek.pem" --chain "$D/sim/chain.pem"; then
		fail "an untrusted root was accepted"
	fi
	step "a guest launched with debugging allowed is refused by policy"
	# shellcheck disable=SC2086
	"$SIM" report "$D/sim" -o "$D/debug.bin" --policy 0xb0000 --measure-from $LAUNCH
	if "$KBS" verify --report "$D/debug.bin" --vek "$D/sim/vcek.pem" --chain "$D/sim/chain.pem" \
		--trusted-ark "$D/sim/ark.pem" --policy "$D/release.policy"; then
		fail "a debug-enabled guest was accepted"
	fi
}

part_broker() {
	say "2. The broker and the guest binary on this host (loopback)"
	[ -d "$D/sim" ] || "$SIM" init "$D/sim" --product genoa >/dev/null
	ccu_make_tls "$D" || fail "openssl could not make the TLS material"
	ccu_broker_conf "$D"
	step "ccunlock-kbs init, an admin key, the release policy from ccunlock-kbs policy measure"
	"$KBS" init --config "$D/broker.conf"
	"$KBS" admin-keygen --out "$D/admin" >/dev/null
	# shellcheck disable=SC2086
	"$KBS" policy measure demo $LAUNCH --config "$D/broker.conf" | sed 's/^/   /'
	"$KBS" policy show demo --config "$D/broker.conf" | sed 's/^/   /'
	# The simulated guest's platform measures the launch from the same inputs.
	# shellcheck disable=SC2086
	SIM_MEAS=$("$SIM" measure $LAUNCH)
	[ "$SIM_MEAS" = "$MEAS" ] || fail "the simulated platform measured $SIM_MEAS, not $MEAS"
	"$KBS" serve --config "$D/broker.conf" 2>"$D/broker.log" &
	BROKER_PID=$!
	i=0
	while [ ! -s "$D/port" ] && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$D/port" ] || fail "the broker did not start: $(tail -n 3 "$D/broker.log")"
	port=$(cat "$D/port")
	step "ccunlock-kbs serves on https://127.0.0.1:$port"
	cat >"$D/guest.conf" <<EOF
broker_url = https://127.0.0.1:$port
broker_ca = $D/ca.pem
evidence = simulator
simulator_dir = $D/sim
simulator_measurement = $SIM_MEAS
deadline = 30
EOF
	printf 'console=ttyS0 ro quiet\n' >"$D/cmdline"
	step "a LUKS2 image with a passphrase keyslot"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/passphrase"
	"$O/tests/test_guest_luks" mkimage "$D/disk.img" "$D/passphrase"
	step "ccunlock enroll: new random key -> broker (admin API) -> keyslot -> token"
	"$CCU" --config "$D/guest.conf" enroll "$D/disk.img" --resource demo/luks/root \
		--admin-key "$D/admin.key" --policy demo --existing-key-file "$D/passphrase"
	"$CCU" --config "$D/guest.conf" list "$D/disk.img" | sed 's/^/   /'
	step "ccunlock posture (simulated SEV-SNP platform, test build)"
	"$CCU" --config "$D/guest.conf" --cmdline "$D/cmdline" posture 2>&1 | sed 's/^/   /'
	step "ccunlock unlock --test: posture, attest, key release, keyslot check"
	"$CCU" --config "$D/guest.conf" --cmdline "$D/cmdline" unlock --test "$D/disk.img" root 2>&1 |
		sed 's/^/   /'
	step "the broker's audit log: one line per decision"
	tail -n 2 "$D/audit.jsonl" | sed 's/^/   /'
	step "a guest whose launch measurement is not allowed gets nothing"
	printf 'console=ttyS0 ro rd.ccunlock.sim.measurement=%s\n' "$(printf x | sha384sum |
		cut -d' ' -f1)" >"$D/cmdline.other"
	if "$CCU" --config "$D/guest.conf" --cmdline "$D/cmdline.other" unlock --test "$D/disk.img" \
		root 2>"$D/denied.err"; then
		fail "an unexpected measurement got the key"
	fi
	grep '^ccunlock: ' "$D/denied.err" | tail -n 1 | sed 's/^/   /'
	tail -n 1 "$D/audit.jsonl" | sed 's/^/   /'
	kill "$BROKER_PID"
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=
}

part_boot() {
	say "3. A real boot: QEMU, Debian's kernel, a dracut initramfs with ccunlock, an encrypted root"
	O=$O tools/demo-boot.sh
}

for part in ${DEMO_PARTS:-evidence broker boot}; do
	case $part in
	evidence) part_evidence ;;
	broker) part_broker ;;
	boot) part_boot ;;
	*) fail "unknown part '$part'" ;;
	esac
done
echo
echo "demo: done"
