#!/bin/sh
# The host rewrites the LUKS2 header (it controls the disk): against the real
# ccunlock-kbs on loopback, every attack is built for real on an enrolled
# image (test_guest_luks_header attack KIND) and `ccunlock unlock --test`
# refuses it with LUKS_HEADER_REFUSED (exit 8) before anything is opened.
# enroll pins the header at the broker; a header saved before
# `enroll --rotate` and written back no longer matches; a plain key (a
# Trustee-style resource) still unlocks, with template checks only.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
KBS=${CCU_KBS:-$O/ccunlock-kbs}
SIM=${CCU_SIM:-$O/test/ccunlock-sim}
CCU_BIN=$O/test/ccunlock
MKIMG=$O/tests/test_guest_luks
ATTACK=$O/tests/test_guest_luks_header
PATH=$PATH:/usr/sbin:/sbin

[ -x "$CCU_BIN" ] || skip_all "$CCU_BIN is not built (make test-bins)"
if ! [ -x "$MKIMG" ] || ! [ -x "$ATTACK" ]; then
	skip_all "test tools not built (make test-bins)"
fi
"$KBS" serve --help >/dev/null 2>&1 || skip_all "$KBS has no serve command"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"

T=$(mktemp -d /tmp/ccu-hdr-XXXXXX)
BROKER_PID=
cleanup() {
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

M_OK=$(printf 'a%.0s' $(seq 96))
# shellcheck source=../lib/tls.sh
. tests/lib/tls.sh
# shellcheck source=../lib/broker.sh
. tests/lib/broker.sh
ccu_make_tls "$T" || skip_all "cannot make TLS material"
ccu_broker_conf "$T"
if ! { "$SIM" init "$T/sim" >/dev/null &&
	"$KBS" admin-keygen --out "$T/admin" >/dev/null &&
	"$KBS" init --config "$T/broker.conf" >/dev/null &&
	printf 'measurement = %s\n' "$M_OK" >"$T/good.policy" &&
	"$KBS" policy set good "$T/good.policy" --config "$T/broker.conf" >/dev/null; }; then
	echo "1..1"
	not_ok "broker setup"
	exit 1
fi
"$KBS" serve --config "$T/broker.conf" 2>"$T/serve.log" &
BROKER_PID=$!
PORT=$(ccu_broker_port "$T" "$BROKER_PID")
if [ -z "$PORT" ]; then
	echo "1..1"
	not_ok "broker did not start"
	exit 1
fi
printf 'broker_url = https://127.0.0.1:%s\nbroker_ca = %s\nevidence = simulator\n' \
	"$PORT" "$T/ca.pem" >"$T/guest.conf"
printf 'simulator_dir = %s\nsimulator_measurement = %s\ndeadline = 30\n' "$T/sim" "$M_OK" \
	>>"$T/guest.conf"
printf 'root=/dev/vda1 ro quiet console=ttyS0\n' >"$T/cmdline"
ccu() {
	"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline" "$@"
}
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/pass"

# refused NAME IMAGE DETAIL: exit 8, LUKS_HEADER_REFUSED naming DETAIL, and no
# "unlocked"/"verified" line.
refused() {
	ccu unlock --test "$T/$2.img" r >"$T/out" 2>"$T/err"
	_rc=$?
	if [ $_rc -eq 8 ] && grep -q "^ccunlock: LUKS_HEADER_REFUSED: .*$3" "$T/err" &&
		! grep -Eq 'unlocked|verified' "$T/err"; then
		ok "$1"
	else
		not_ok "$1 (exit $_rc)"
		sed 's/^/#   /' "$T/err" | tail -n 3
	fi
}

enroll() { # IMAGE RESOURCE [--rotate]
	_img=$1 _res=$2
	shift 2
	ccu enroll "$T/$_img.img" --resource "$_res" --admin-key "$T/admin.key" --policy good \
		--existing-key-file "$T/pass" "$@" >"$T/enroll.out" 2>"$T/enroll.err"
}

"$MKIMG" mkimage "$T/base.img" "$T/pass" || skip_all "mkimage failed"
if enroll base vm/luks/base && grep -Eq 'header pin [0-9a-f]{64}$' "$T/enroll.out"; then
	ok "enroll prints the header pin it stored"
else
	not_ok "enroll prints the header pin it stored"
	sed 's/^/#   /' "$T/enroll.err" | tail -n 3
fi
pin=$(sed -n 's/.*header pin \([0-9a-f]*\)$/\1/p' "$T/enroll.out")
if ccu list "$T/base.img" 2>/dev/null | grep -q "^header: inside the template, keyslot 1, pin $pin\$"; then
	ok "list shows the header's pin, the one enroll stored"
else
	not_ok "list shows the header's pin, the one enroll stored"
fi
if ccu unlock --test "$T/base.img" r >/dev/null 2>"$T/err" &&
	grep -q 'LUKS2 header pinned at enrolment, matches' "$T/err"; then
	ok "the genuine header unlocks, pinned"
else
	not_ok "the genuine header unlocks, pinned"
	sed 's/^/#   /' "$T/err" | tail -n 3
fi

# Every attack on a fresh copy of the enrolled image (same token, same resource).
for kind in null-segment:"segment 0: cipher cipher_null-ecb" \
	ecb-segment:"segment 0: cipher aes-ecb" \
	null-keyslot:"area cipher cipher_null-ecb" \
	second-segment:"segments: 2" \
	reencrypt:"config.requirements present" \
	unknown-flag:"unknown flag" \
	area-outside:"area not inside the keyslots area" \
	move-area:"not the one enrolled" \
	second-token:"more than one ccunlock token"; do
	k=${kind%%:*}
	cp --sparse=always "$T/base.img" "$T/$k.img"
	if "$ATTACK" attack "$k" "$T/$k.img"; then
		refused "$k: refused before activation" "$k" "${kind#*:}"
		if [ "$k" = null-segment ]; then
			check "list says the null-cipher header is refused" sh -c \
				"\"$CCU_BIN\" list \"$T/$k.img\" 2>/dev/null | grep -q '^header: refused: LUKS_HEADER_REFUSED: .*cipher_null'"
		fi
	else
		not_ok "$k: the attack could not be built"
	fi
	rm -f "$T/$k.img"
done

# A header saved before --rotate and written back after it.
if enroll base vm/luks/again; then
	not_ok "a second enrolment of the same device is refused"
else
	check "a second enrolment of the same device is refused" \
		grep -q '^ccunlock: ENROLL_EXISTS: .*use --rotate' "$T/enroll.err"
fi
"$MKIMG" mkimage "$T/rot.img" "$T/pass"
enroll rot vm/luks/rot || not_ok "enrol the rotation image"
dd if="$T/rot.img" of="$T/rot.hdr" bs=1M count=16 2>/dev/null
if enroll rot vm/luks/rot --rotate && grep -q '^rotated ' "$T/enroll.out"; then
	ok "enroll --rotate: new key, new pin"
else
	not_ok "enroll --rotate: new key, new pin"
	sed 's/^/#   /' "$T/enroll.err" | tail -n 3
fi
check "after --rotate the disk unlocks" ccu unlock --test "$T/rot.img" r
ccu enroll "$T/rot.img" --resource vm/luks/rot --admin-key "$T/admin.key" \
	--existing-key-file "$T/pass" --rotate >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q '^ccunlock: USAGE: --rotate needs --policy' "$T/err"; then
	ok "--rotate without --policy is refused (the policy would be replaced)"
else
	not_ok "--rotate without --policy is refused (exit $rc)"
fi
dd if="$T/rot.hdr" of="$T/rot.img" bs=1M conv=notrunc 2>/dev/null
refused "the header saved before --rotate, written back: refused" rot "not the one enrolled"
expect_rotate_wrong() {
	enroll base vm/luks/rot --rotate
}
if expect_rotate_wrong; then
	not_ok "--rotate refuses a device whose token names another resource"
else
	check "--rotate refuses a device whose token names another resource" \
		grep -q '^ccunlock: USAGE: --rotate' "$T/enroll.err"
fi

# A plain key resource (what a Trustee KBS serves): unpinned, template only.
if command -v cryptsetup >/dev/null 2>&1; then
	"$MKIMG" mkimage "$T/plain.img" "$T/pass"
	head -c 32 /dev/urandom >"$T/plain.key"
	cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-slot 1 --key-file "$T/pass" "$T/plain.img" "$T/plain.key" >/dev/null 2>&1
	printf '{"type":"ccunlock","keyslots":["1"],"resource":"vm/luks/plain","version":1}' |
		cryptsetup token import --token-id 0 "$T/plain.img"
	"$KBS" resource put vm/luks/plain --policy good --file "$T/plain.key" \
		--config "$T/broker.conf" >/dev/null
	if ccu unlock --test "$T/plain.img" r >/dev/null 2>"$T/err" &&
		grep -q 'NOT pinned (plain key resource): template checks only' "$T/err"; then
		ok "a plain key resource unlocks, and the line says it is not pinned"
	else
		not_ok "a plain key resource unlocks, unpinned"
		sed 's/^/#   /' "$T/err" | tail -n 3
	fi
	cp "$T/guest.conf" "$T/strict.conf"
	echo 'require_header_pin = yes' >>"$T/strict.conf"
	"$CCU_BIN" --config "$T/strict.conf" --cmdline "$T/cmdline" unlock --test "$T/plain.img" r \
		>/dev/null 2>"$T/err"
	rc=$?
	if [ $rc -eq 8 ] && grep -q '^ccunlock: LUKS_HEADER_REFUSED: .*carries no header pin' "$T/err"; then
		ok "require_header_pin = yes refuses the plain key"
	else
		not_ok "require_header_pin = yes refuses the plain key (exit $rc)"
	fi
	if "$CCU_BIN" --config "$T/strict.conf" --cmdline "$T/cmdline" unlock --test "$T/base.img" r \
		>/dev/null 2>&1; then
		ok "require_header_pin = yes unlocks a pinned disk"
	else
		not_ok "require_header_pin = yes unlocks a pinned disk"
	fi
	cp --sparse=always "$T/plain.img" "$T/plainnull.img"
	"$ATTACK" attack null-segment "$T/plainnull.img"
	refused "unpinned: the null-cipher segment is still refused" plainnull "cipher_null"
else
	for _ in 1 2 3 4; do
		skip "cryptsetup CLI missing (plain key image)"
	done
fi

# A real unlock (no --test) leaves the checked copy for the passphrase
# fallback (cryptsetup --header); here activation fails (no device-mapper on
# the host), which is what leaves the copy behind. A refused header leaves none.
mkdir -p "$T/run2"
"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline" --rundir "$T/run2" unlock \
	"$T/base.img" ccu_test_x >/dev/null 2>"$T/err"
if [ -s "$T/run2/luks-header.img" ] &&
	[ "$(wc -c <"$T/run2/luks-header.img")" -eq 16777216 ] &&
	cmp -s -n 16777216 "$T/run2/luks-header.img" "$T/base.img"; then
	ok "a failed real unlock leaves the checked header copy for the fallback"
else
	not_ok "a failed real unlock leaves the checked header copy for the fallback"
	sed 's/^/#   /' "$T/err" | tail -n 2
fi
if command -v cryptsetup >/dev/null 2>&1; then
	check "the fallback's cryptsetup --header opens the passphrase keyslot from the copy" \
		cryptsetup open --test-passphrase --header "$T/run2/luks-header.img" \
		--key-file "$T/pass" "$T/base.img"
else
	skip "cryptsetup CLI missing"
fi
cp --sparse=always "$T/base.img" "$T/nullrun.img"
"$ATTACK" attack null-segment "$T/nullrun.img"
"$CCU_BIN" --config "$T/guest.conf" --cmdline "$T/cmdline" --rundir "$T/run2" unlock \
	"$T/nullrun.img" ccu_test_x >/dev/null 2>"$T/err"
if [ ! -e "$T/run2/luks-header.img" ] && grep -q '^ccunlock: LUKS_HEADER_REFUSED: ' "$T/err"; then
	ok "a refused header leaves no copy: no prompt can open it"
else
	not_ok "a refused header leaves no copy: no prompt can open it"
fi
rm -f "$T/nullrun.img"

# status reports what this boot's unlock left in the run directory.
mkdir -p "$T/run"
D=$(printf 'ab%.0s' $(seq 32))
printf 'unpinned %s\n' "$D" >"$T/run/luks-header"
if "$CCU_BIN" --config "$T/guest.conf" --rundir "$T/run" status 2>/dev/null |
	grep -q "^luks header:   NOT pinned (plain key resource): template checks only (digest $D)" &&
	"$CCU_BIN" --config "$T/guest.conf" --rundir "$T/run" status --prometheus 2>/dev/null |
	grep -q '^ccunlock_luks_header_pinned 0$'; then
	ok "status says this boot's header was not pinned"
else
	not_ok "status says this boot's header was not pinned"
fi
printf 'pinned %s\n' "$D" >"$T/run/luks-header"
if "$CCU_BIN" --config "$T/guest.conf" --rundir "$T/run" status --json 2>/dev/null |
	grep -q '"pinned": true'; then
	ok "status --json: pinned"
else
	not_ok "status --json: pinned"
fi
printf 'pinned %s junk\n' "$D" >"$T/run/luks-header"
if "$CCU_BIN" --config "$T/guest.conf" --rundir "$T/run" status --prometheus 2>/dev/null |
	grep -q '^ccunlock_luks_header_pinned -1$'; then
	ok "status: a malformed state file is unknown"
else
	not_ok "status: a malformed state file is unknown"
fi

done_testing
