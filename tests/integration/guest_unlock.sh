#!/bin/sh
# ccunlock end to end on loopback: the real ccunlock-kbs (TLS on 127.0.0.1,
# the simulator's test ARK as trusted_root), simulator evidence from the test
# build, LUKS2 image files made with libcryptsetup (test_guest_luks mkimage).
# enroll, unlock --test and keyscript succeed; every refusal exits with its
# code and says its reason in one "ccunlock: CODE: detail" line.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
KBS=${CCU_KBS:-$O/ccunlock-kbs}
SIM=${CCU_SIM:-$O/test/ccunlock-sim}
CCU_BIN=$O/test/ccunlock
CCU_REL=$O/ccunlock
MKIMG=$O/tests/test_guest_luks
PATH=$PATH:/usr/sbin:/sbin

need_built "$CCU_BIN" "$MKIMG" "$KBS"
"$KBS" serve --help >/dev/null 2>&1 || bail_out "$KBS serve --help fails"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"
command -v python3 >/dev/null 2>&1 || skip_all "python3 missing (silent listener)"

T=$(mktemp -d /tmp/ccu-guest-XXXXXX)
BROKER_PID=
SILENT_PID=
cleanup() {
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	[ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null && wait "$SILENT_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

M_OK=$(printf 'a%.0s' $(seq 96))
M_OTHER=$(printf 'b%.0s' $(seq 96))

# ---------------------------------------------------------------- broker
# shellcheck source=../lib/tls.sh
. tests/lib/tls.sh
# shellcheck source=../lib/broker.sh
. tests/lib/broker.sh
if ! ccu_make_tls "$T"; then
	bail_out "cannot make TLS material"
fi
ccu_broker_conf "$T"
setup_broker() {
	"$SIM" init "$T/sim" >/dev/null &&
		"$KBS" admin-keygen --out "$T/admin" >/dev/null &&
		"$KBS" init --config "$T/broker.conf" >/dev/null &&
		printf 'measurement = %s\n' "$M_OK" >"$T/good.policy" &&
		"$KBS" policy set good "$T/good.policy" --config "$T/broker.conf" >/dev/null &&
		printf 'measurement = %s\n' "$M_OTHER" >"$T/other.policy" &&
		"$KBS" policy set other "$T/other.policy" --config "$T/broker.conf" >/dev/null
}
if ! setup_broker; then
	echo "1..1"
	not_ok "broker setup"
	exit 1
fi
"$KBS" serve --config "$T/broker.conf" 2>"$T/serve.log" &
BROKER_PID=$!
PORT=$(ccu_broker_port "$T" "$BROKER_PID")
[ -n "$PORT" ] || {
	echo "1..1"
	not_ok "broker did not start: $(tail -n 3 "$T/serve.log")"
	exit 1
}

# ---------------------------------------------------------------- guest
# guest_conf FILE URL [DEADLINE]
guest_conf() {
	printf 'broker_url = %s\nbroker_ca = %s\nevidence = simulator\nsimulator_dir = %s\n' \
		"$2" "$T/ca.pem" "$T/sim" >"$1"
	printf 'simulator_measurement = %s\ndeadline = %s\n' "$M_OK" "${3:-30}" >>"$1"
}
guest_conf "$T/guest.conf" "https://127.0.0.1:$PORT"
printf 'root=/dev/vda1 ro quiet console=ttyS0\n' >"$T/cmdline"
ccu() {
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline" "$@"
}
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/pass"

# mkimage NAME: a fresh LUKS2 image whose keyslot 0 opens with $T/pass.
mkimage() {
	"$MKIMG" mkimage "$T/$1.img" "$T/pass"
}

# expect_fail NAME RC CODE CMD...: exit status RC and a "ccunlock: CODE: " line.
expect_fail() {
	_n=$1 _rc=$2 _code=$3
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" -eq "$_rc" ] && grep -q "^ccunlock: $_code: " "$T/err"; then
		ok "$_n"
	else
		not_ok "$_n (exit $_got, want $_rc $_code)"
		sed 's/^/#   /' "$T/err" | tail -n 5
	fi
}

expect_ok() {
	_n=$1
	shift
	if "$@" >"$T/out" 2>"$T/err"; then
		ok "$_n"
	else
		not_ok "$_n (exit $?)"
		sed 's/^/#   /' "$T/err" | tail -n 5
	fi
}

enroll() { # IMAGE RESOURCE POLICY
	ccu enroll "$T/$1.img" --resource "$2" --admin-key "$T/admin.key" --policy "$3" \
		--existing-key-file "$T/pass"
}

mkimage disk || bail_out "mkimage failed"
expect_ok "enroll stores the key and adds keyslot + token" enroll disk vm1/luks/root good
expect_ok "list shows the token" sh -c "\"$CCU_BIN\" --config \"$T/guest.conf\" list \
\"$T/disk.img\" | grep -q 'keyslot 1 resource vm1/luks/root'"
expect_ok "the broker stores the resource" "$KBS" resource get-meta vm1/luks/root \
	--config "$T/broker.conf"
expect_ok "unlock --test opens the token's keyslot" ccu unlock --test "$T/disk.img" root
if grep -q "verified (--test" "$T/err"; then
	ok "unlock --test says it verified"
else
	not_ok "unlock --test says it verified"
fi
if grep -q "TEST BUILD" "$T/err"; then
	ok "a test build says so in its log"
else
	not_ok "a test build says so in its log"
fi

# keyscript: cryptsetup would open the disk with the header it reads itself,
# not the copy ccunlock checked: refused, and no key on stdout.
CRYPTTAB_SOURCE="$T/disk.img" ccu keyscript >"$T/key" 2>"$T/err"
rc=$?
if [ $rc -eq 8 ] && grep -q '^ccunlock: LUKS_HEADER_REFUSED: keyscript mode' "$T/err" &&
	[ ! -s "$T/key" ]; then
	ok "keyscript mode is refused (LUKS_HEADER_REFUSED), nothing on stdout"
else
	not_ok "keyscript mode is refused (exit $rc, $(wc -c <"$T/key") bytes on stdout)"
fi
if grep -q 'header pinned at enrolment\|pinned at enrolment, matches' "$T/err" ||
	ccu unlock --test "$T/disk.img" r 2>&1 | grep -q 'pinned at enrolment, matches'; then
	ok "unlock says the header matches its enrolment pin"
else
	not_ok "unlock says the header matches its enrolment pin"
fi
rm -f "$T/key"

# ---------------------------------------------------------------- refusals
printf 'ro rd.ccunlock.sim.measurement=%s\n' "$M_OTHER" >"$T/cmdline.m"
expect_fail "measurement not in the policy: DENIED (6)" 6 BROKER_DENIED \
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline.m" unlock --test "$T/disk.img" r
if grep -q "POLICY_MEASUREMENT" "$T/err"; then
	ok "the broker's reason is in the line"
else
	not_ok "the broker's reason is in the line"
fi
printf 'ro rd.ccunlock.sim.policy=0xB0000\n' >"$T/cmdline.d"
expect_fail "debug guest policy: DENIED (6)" 6 BROKER_DENIED \
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline.d" unlock --test "$T/disk.img" r

mkimage other && enroll other vm2/luks/root other >/dev/null 2>&1
expect_fail "wrong policy for this image: DENIED (6)" 6 BROKER_DENIED \
	ccu unlock --test "$T/other.img" r

mkimage gone && enroll gone vm3/luks/root good >/dev/null 2>&1 &&
	"$KBS" resource delete vm3/luks/root --config "$T/broker.conf" >/dev/null 2>&1
ccu unlock --test "$T/gone.img" r >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 6 ] && grep -Eq '^ccunlock: BROKER_(DENIED|NOT_FOUND): ' "$T/err"; then
	ok "resource missing at the broker: DENIED (6)"
else
	not_ok "resource missing at the broker: DENIED (6) (exit $rc)"
fi

"$KBS" resource put vm1/luks/root --policy good --random 32 --config "$T/broker.conf" \
	>/dev/null 2>&1
expect_fail "a stored key that is not the keyslot's: WRONG_KEY (7)" 7 LUKS_WRONG_KEY \
	ccu unlock --test "$T/disk.img" r

# A port nobody listens on, and a listener that never answers.
DOWN=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
guest_conf "$T/down.conf" "https://127.0.0.1:$DOWN" 3
expect_fail "broker down: NETWORK (5)" 5 BROKER_UNREACHABLE \
	"$CCU_BIN" --config "$T/down.conf" --cmdline "$T/cmdline" unlock --test "$T/disk.img" r
timeout 120 python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c); print("accepted", flush=True)
' >"$T/silent" &
SILENT_PID=$!
i=0
while [ ! -s "$T/silent" ] && [ $i -lt 600 ] && kill -0 "$SILENT_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
SLOW=$(head -n 1 "$T/silent")
guest_conf "$T/slow.conf" "https://127.0.0.1:$SLOW"
printf 'ro rd.ccunlock.deadline=2\n' >"$T/cmdline.slow"
expect_fail "broker slow past the deadline: NETWORK (5)" 5 BROKER_TIMEOUT \
	"$CCU_BIN" --config "$T/slow.conf" --cmdline "$T/cmdline.slow" unlock --test "$T/disk.img" r

# Posture refuses before any network traffic (release build, no SEV here).
n0=$(grep -c accepted "$T/silent")
printf 'broker_url = https://127.0.0.1:%s\nbroker_ca = %s\n' "$SLOW" "$T/ca.pem" >"$T/rel.conf"
expect_fail "release build on a machine without SEV: POSTURE (4)" 4 POSTURE_NOT_PROTECTED \
	"$CCU_REL" --config "$T/rel.conf" posture
# (unlock reads this host's real kernel command line, which may itself be refused: exit 4 either way)
"$CCU_REL" --config "$T/rel.conf" unlock --test "$T/disk.img" r >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 4 ] && grep -Eq '^ccunlock: (POSTURE_NOT_PROTECTED|CMDLINE_[A-Z]+): ' "$T/err"; then
	ok "release unlock refuses with POSTURE (4)"
else
	not_ok "release unlock refuses (exit $rc)"
fi
if [ "$(grep -c accepted "$T/silent")" -eq "$n0" ]; then
	ok "no connection before posture passed"
else
	not_ok "no connection before posture passed"
fi
printf 'broker_url = https://127.0.0.1:1\nbroker_ca = /ca.pem\nevidence = simulator\n' >"$T/rel2.conf"
expect_fail "release builds know no simulator: CONFIG (3)" 3 CONFIG_VALUE \
	"$CCU_REL" --config "$T/rel2.conf" unlock --test "$T/disk.img" r
"$CCU_REL" --cmdline "$T/cmdline" posture >/dev/null 2>&1
if [ $? -eq 2 ]; then
	ok "release builds refuse --cmdline (exit 2)"
else
	not_ok "release builds refuse --cmdline"
fi

# Tampered token and header.
cp "$T/disk.img" "$T/tok.img"
printf '{"type":"ccunlock","keyslots":["1"],"resource":"vm1/luks/root","version":1,"url":"https://evil"}' \
	>"$T/evil.json"
if command -v cryptsetup >/dev/null 2>&1 &&
	cryptsetup token remove --token-id 0 "$T/tok.img" 2>/dev/null &&
	cryptsetup token import --json-file "$T/evil.json" --token-id 0 "$T/tok.img" 2>/dev/null; then
	expect_fail "tampered token: DEVICE (8)" 8 TOKEN_JSON ccu unlock --test "$T/tok.img" r
else
	skip "cryptsetup CLI missing (token import)"
fi
cp "$T/disk.img" "$T/hdr.img"
for off in 4106 20490; do
	printf '\377' | dd of="$T/hdr.img" bs=1 seek=$off conv=notrunc 2>/dev/null
done
expect_fail "tampered LUKS header: DEVICE (8)" 8 LUKS_HEADER_REFUSED ccu unlock --test "$T/hdr.img" r
expect_fail "no such device: DEVICE (8)" 8 LUKS_OPEN ccu unlock --test "$T/none.img" r

# Every refused kernel command line override, each on its own.
for arg in rd.shell rd.shell=1 rd.break rd.break=pre-mount break init=/bin/sh rdinit=/bin/sh \
	systemd.debug_shell systemd.debug-shell=1 systemd.unit=emergency.target \
	systemd.unit=rescue.target rd.systemd.unit=emergency.target emergency rescue single \
	s S -s 1 rd.emergency=shell; do
	printf 'root=/dev/vda1 ro %s quiet\n' "$arg" >"$T/cmdline.r"
	expect_fail "kernel command line '$arg': POSTURE (4)" 4 CMDLINE_REFUSED \
		"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline.r" unlock --test \
		"$T/disk.img" r
done
printf 'ro rd.ccunlock.deadline=600\n' >"$T/cmdline.r"
expect_fail "a longer deadline on the command line: POSTURE (4)" 4 CMDLINE_LOOSER \
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline.r" unlock --test "$T/disk.img" r
printf 'ro rd.ccunlock.require=sev\n' >"$T/cmdline.r"
expect_fail "a weaker requirement on the command line: POSTURE (4)" 4 CMDLINE_LOOSER \
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline.r" unlock --test "$T/disk.img" r
printf 'ro rd.ccunlock.broker_url=https://evil\n' >"$T/cmdline.r"
expect_fail "an unknown rd.ccunlock option: POSTURE (4)" 4 CMDLINE_UNKNOWN \
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline.r" unlock --test "$T/disk.img" r

# ---------------------------------------------------------------- enrol rollback
mkimage rb
expect_fail "enrolling onto a stored resource is refused: DENIED (6)" 6 ENROLL_EXISTS \
	enroll rb vm1/luks/root good
printf 'not the passphrase' >"$T/wrong"
expect_fail "enrolling with a wrong existing key: WRONG_KEY (7)" 7 LUKS_WRONG_KEY \
	ccu enroll "$T/rb.img" --resource vm9/luks/root --admin-key "$T/admin.key" \
	--policy good --existing-key-file "$T/wrong"
if "$KBS" resource get-meta vm9/luks/root --config "$T/broker.conf" >/dev/null 2>&1; then
	not_ok "nothing stored after the refused enrolment"
else
	ok "nothing stored after the refused enrolment"
fi
expect_fail "enrolling with a policy the broker lacks: DENIED (6)" 6 ADMIN_NOT_FOUND \
	enroll rb vm9/luks/root nosuchpolicy
"$CCU_BIN" --config "$T/guest.conf" list "$T/rb.img" >"$T/out" 2>/dev/null
if [ ! -s "$T/out" ]; then
	ok "no keyslot or token left after failed enrolments"
else
	not_ok "no keyslot or token left after failed enrolments"
fi
"$KBS" admin-keygen --out "$T/stranger" >/dev/null
expect_fail "enrolling with an unknown admin key: DENIED (6)" 6 ADMIN_AUTH \
	ccu enroll "$T/rb.img" --resource vm9/luks/root --admin-key "$T/stranger.key" \
	--policy good --existing-key-file "$T/pass"
expect_fail "enrolling with the broker down: NETWORK (5)" 5 BROKER_UNREACHABLE \
	"$CCU_BIN" --config "$T/down.conf" enroll "$T/rb.img" --resource vm9/luks/root \
	--admin-key "$T/admin.key" --policy good --existing-key-file "$T/pass"

# ---------------------------------------------------------------- unenroll, status
mkimage un && enroll un vm4/luks/root good >/dev/null 2>&1
expect_ok "unenroll removes token and keyslot (and the stored key)" \
	ccu unenroll "$T/un.img" --admin-key "$T/admin.key"
expect_fail "unlock after unenroll: DEVICE (8)" 8 LUKS_NO_TOKEN ccu unlock --test "$T/un.img" r
if "$KBS" resource get-meta vm4/luks/root --config "$T/broker.conf" >/dev/null 2>&1; then
	not_ok "unenroll deleted the stored key"
else
	ok "unenroll deleted the stored key"
fi

ccu status --json >"$T/status.json" 2>/dev/null
if python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["posture"]["simulated"] is True and s["posture"]["level"] == "snp"
assert s["evidence_provider"] == "simulator"
assert s["report"] is not None
' "$T/status.json"; then
	ok "status --json: simulated SNP and a fresh report"
else
	not_ok "status --json: simulated SNP and a fresh report"
fi
ccu status --prometheus >"$T/prom" 2>/dev/null
if grep -q '^ccunlock_snp_report_ok 1$' "$T/prom" &&
	grep -q '^ccunlock_memory_encryption_active{feature="sev-snp"} 1$' "$T/prom"; then
	ok "status --prometheus"
else
	not_ok "status --prometheus"
fi

done_testing
