#!/bin/sh
# The guest binaries of a release build are static: one file each for the
# initramfs, hardened like the rest of the build, at most 4 MiB stripped,
# and their host name look-ups never leave glibc's built-in files/dns
# services (no nsswitch.conf, no libnss_*.so): a broker named in /etc/hosts
# is reached even when nsswitch.conf names only a DNS server that is not
# there. The look-up test needs root (a private mount namespace for /etc).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
KBS=${CCU_KBS:-$O/ccunlock-kbs}
SIM=${CCU_SIM:-$O/test/ccunlock-sim}
MKIMG=$O/tests/test_guest_luks
# The stripped size the initramfs may carry: the release binary is what
# image builders ship. The test build adds the simulated platform (software
# PSP, key server stand-in, Azure paravisor) and may be that much larger.
SIZE_MAX=$((4 * 1024 * 1024))
SIZE_MAX_TEST=$((SIZE_MAX + 256 * 1024))
NAME=broker.ccunlock.test

[ -x "$O/ccunlock" ] || skip_all "$O/ccunlock is not built (make)"
[ -n "${CCU_SANITIZED:-}" ] && skip_all "sanitizer builds link dynamically"
command -v readelf >/dev/null 2>&1 || skip_all "readelf missing (binutils)"
if readelf -lW "$O/ccunlock" | grep -q 'Requesting program interpreter'; then
	skip_all "$O/ccunlock is linked dynamically (STATIC_GUEST=no)"
fi

T=$(mktemp -d /tmp/ccu-static-XXXXXX)
BROKER_PID=
cleanup() {
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

for b in "$O/ccunlock" "$O/test/ccunlock"; do
	if ! [ -x "$b" ]; then
		skip "$b is not built"
		continue
	fi
	readelf -lW "$b" >"$T/ph" 2>&1
	readelf -dW "$b" >"$T/dyn" 2>&1
	if ! grep -q 'Requesting program interpreter' "$T/ph" && ! grep -q '(NEEDED)' "$T/dyn"; then
		ok "$b: no program interpreter, no shared library"
	else
		not_ok "$b: no program interpreter, no shared library"
	fi
	if readelf -hW "$b" | grep -q 'Type:.*DYN' && grep -q '(FLAGS_1).*PIE' "$T/dyn"; then
		ok "$b: a static PIE (address space randomised)"
	else
		not_ok "$b: a static PIE (address space randomised)"
	fi
	if grep -q GNU_RELRO "$T/ph" && grep -q '(FLAGS).*BIND_NOW' "$T/dyn" &&
		grep -q 'GNU_STACK.* RW ' "$T/ph"; then
		ok "$b: full RELRO, non-executable stack"
	else
		not_ok "$b: full RELRO, non-executable stack"
	fi
	# __stack_chk_fail from -fstack-protector-strong, __*_chk from _FORTIFY_SOURCE
	if readelf -sW "$b" | grep -q ' __stack_chk_fail$' && readelf -sW "$b" | grep -q ' __memcpy_chk$'; then
		ok "$b: stack protector and fortified calls linked"
	else
		not_ok "$b: stack protector and fortified calls linked"
	fi
	strip -o "$T/stripped" "$b"
	sz=$(wc -c <"$T/stripped")
	case $b in
	*/test/*) sz_max=$SIZE_MAX_TEST ;;
	*) sz_max=$SIZE_MAX ;;
	esac
	if [ "$sz" -le "$sz_max" ]; then
		ok "$b: $sz bytes stripped (at most $sz_max)"
	else
		not_ok "$b: $sz bytes stripped (at most $sz_max)"
	fi
	if ldd "$b" 2>&1 | grep -q '=>'; then
		not_ok "$b: ldd lists no library"
	else
		ok "$b: ldd lists no library"
	fi
done

# The release binary has no other libcurl protocol than HTTP(S): its
# configure switched them off, so libcurl's scheme handlers (one
# Curl_handler_SCHEME object each) are http and https alone.
handlers=$(nm "$O/ccunlock" 2>/dev/null | sed -n 's/.* [DdRr] Curl_handler_\([a-z0-9_]*\)$/\1/p' |
	grep -v '^dummy$' | sort | tr '\n' ' ')
if [ "$handlers" = "http https " ]; then
	ok "libcurl in the release binary speaks HTTP and HTTPS only"
elif [ -z "$handlers" ]; then
	skip "libcurl's protocols: $O/ccunlock has no symbol table"
else
	not_ok "libcurl in the release binary speaks HTTP and HTTPS only (handlers: $handlers)"
fi

# ---------------------------------------------------------------- names
lookup_skip() {
	skip "host name resolution: $1"
	skip "host name resolution without the name: $1"
	done_testing
	exit $?
}
[ "$(id -u)" -eq 0 ] || lookup_skip "needs root (mount namespace)"
command -v unshare >/dev/null 2>&1 || lookup_skip "unshare missing"
unshare -m true 2>/dev/null || lookup_skip "no mount namespaces here"
if ! [ -x "$O/test/ccunlock" ] || ! [ -x "$MKIMG" ] || ! [ -x "$SIM" ]; then
	lookup_skip "test binaries not built"
fi
if ! [ -x "$KBS" ] || ! "$KBS" serve --help >/dev/null 2>&1; then
	lookup_skip "$KBS has no serve command"
fi
# shellcheck source=../lib/tls.sh
. tests/lib/tls.sh
# shellcheck source=../lib/broker.sh
. tests/lib/broker.sh
ccu_make_tls "$T" "DNS:$NAME" || lookup_skip "cannot make TLS material"
ccu_broker_conf "$T"
M_OK=$(printf 'a%.0s' $(seq 96))
if ! { "$SIM" init "$T/sim" >/dev/null &&
	"$KBS" admin-keygen --out "$T/admin" >/dev/null &&
	"$KBS" init --config "$T/broker.conf" >/dev/null &&
	printf 'measurement = %s\n' "$M_OK" >"$T/good.policy" &&
	"$KBS" policy set good "$T/good.policy" --config "$T/broker.conf" >/dev/null; }; then
	not_ok "broker setup"
	done_testing
	exit 1
fi
"$KBS" serve --config "$T/broker.conf" 2>"$T/serve.log" &
BROKER_PID=$!
PORT=$(ccu_broker_port "$T" "$BROKER_PID")
[ -n "$PORT" ] || {
	not_ok "broker did not start: $(tail -n 3 "$T/serve.log")"
	done_testing
	exit 1
}
printf 'broker_url = https://%s:%s\nbroker_ca = %s\nevidence = simulator\nsimulator_dir = %s\n' \
	"$NAME" "$PORT" "$T/ca.pem" "$T/sim" >"$T/guest.conf"
printf 'simulator_measurement = %s\ndeadline = 20\n' "$M_OK" >>"$T/guest.conf"
printf 'root=/dev/vda1 ro\n' >"$T/cmdline"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/pass"
# /etc as an initramfs has it: the name in /etc/hosts, a resolv.conf from
# DHCP; nsswitch.conf is the host's business and must not matter: here it
# names DNS alone, at an address where nothing answers.
printf '127.0.0.1 %s\n' "$NAME" >"$T/hosts"
: >"$T/hosts.empty"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
printf 'hosts: dns\npasswd: nonexistent\ngroup: nonexistent\n' >"$T/nsswitch.conf"
# in_etc HOSTS CMD...: CMD in a mount namespace with those files over /etc's.
in_etc() {
	_h=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf &&
		mount --bind "$3" /etc/nsswitch.conf && shift 3 && exec "$@"' sh \
		"$_h" "$T/resolv.conf" "$T/nsswitch.conf" "$@"
}
ccu() {
	"$O/test/ccunlock" --config "$T/guest.conf" --cmdline "$T/cmdline" "$@"
}
"$MKIMG" mkimage "$T/disk.img" "$T/pass" >/dev/null 2>&1 || lookup_skip "mkimage failed"
if in_etc "$T/hosts" "$O/test/ccunlock" --config "$T/guest.conf" --cmdline "$T/cmdline" \
	enroll "$T/disk.img" --resource vm1/luks/root --admin-key "$T/admin.key" --policy good \
	--existing-key-file "$T/pass" >"$T/out" 2>"$T/err" &&
	in_etc "$T/hosts" "$O/test/ccunlock" --config "$T/guest.conf" --cmdline "$T/cmdline" \
		unlock --test "$T/disk.img" root >"$T/out" 2>"$T/err"; then
	ok "host name resolution: https://$NAME from /etc/hosts (nsswitch.conf ignored)"
else
	not_ok "host name resolution: https://$NAME from /etc/hosts (nsswitch.conf ignored)"
	sed 's/^/#   /' "$T/err" | tail -n 5
fi
in_etc "$T/hosts.empty" "$O/test/ccunlock" --config "$T/guest.conf" --cmdline "$T/cmdline" \
	unlock --test "$T/disk.img" root >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "^ccunlock: BROKER_UNREACHABLE: " "$T/err"; then
	ok "host name resolution without the name: BROKER_UNREACHABLE"
else
	not_ok "host name resolution without the name: BROKER_UNREACHABLE (exit $rc)"
	sed 's/^/#   /' "$T/err" | tail -n 5
fi
done_testing
