#!/bin/sh
# Broker throughput: full attestations with key release per second over TLS
# (every boot a new TLS connection, /auth, /attest with simulator evidence,
# resource GET, JWE decryption) with N concurrent simulated guests, and p50/
# p99 latency; then Tang (tangd under socat, inetd style, plain HTTP as Tang
# is deployed) answering the same number of key recovery requests
# (POST /rec/<kid>, one valid request replayed, new connection each) with the
# same concurrency, and the ratio. Each level also prints the server's CPU
# time per request (broker: the ccunlock-kbs process's utime+stime from
# /proc/PID/stat before and after; Tang: the socat parent's own plus its
# reaped children's, i.e. every tangd it forked), which is stable on a
# shared machine where the wall figures are not. Then the broker's profile
# once (perf with DWARF call chains, where installed and permitted): the
# share of its CPU by the innermost broker function on the stack, library
# and kernel time charged to it. Numbers only; nothing is asserted.
# The client shares the cores: it pays each boot's TLS handshake and signs each
# simulated report, but reads the CA and serialises the simulated chip's
# certificates once per run (each real guest does both once, on its own CPU).
#
#   bench/broker.sh [--replicas N] [CONCURRENCY...]
#       (default: 1 4 16; COUNT=400 boots each). With --replicas N, also N
#       replicas on one PostgreSQL behind HAProxy (round-robin per request),
#       the fleet's throughput and CPU (all replicas together) next to one
#       broker's.
#   PROFILE=no skips the perf pass.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
O=${O:-build}
COUNT=${COUNT:-400}
REPLICAS=0
if [ "${1:-}" = --replicas ]; then
	REPLICAS=${2:?--replicas N}
	shift 2
fi
LEVELS=${*:-1 4 16}
T=$(mktemp -d /tmp/ccu-bench-broker-XXXXXX)
TANG_PID=
BROKER_PID=
KBS_PID=
FLEET_PIDS=
FLEET_HAPROXY_PID=
FT=
# shellcheck disable=SC2086 # FLEET_PIDS is a list
trap 'kill $KBS_PID $BROKER_PID $TANG_PID $FLEET_PIDS $FLEET_HAPROXY_PID 2>/dev/null
[ -n "$FT" ] && [ -d "$FT/pgsock/data" ] && ccu_pg_ctl "$FT" kill 2>/dev/null; rm -rf "$T" $FT' EXIT
HZ=$(getconf CLK_TCK)

# cpu_ticks PID [children]: utime+stime of PID (with "children": plus the
# cutime+cstime of the children it has reaped). Fields 14-17 of
# /proc/PID/stat, counted after the parenthesised command name.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v c="${2:-}" '{ print $12 + $13 + (c == "children" ? $14 + $15 : 0) }'
}

# run_level NAME OUTFILE PID [children] -- CLIENT ARGS...: one level, its line
# with the CPU ms per request appended.
run_level() {
	_name=$1 _out=$2 _pid=$3 _ch=$4
	shift 5
	_a=$(cpu_ticks "$_pid" "$_ch")
	"$CLIENT" "$@" >"$_out"
	_b=$(cpu_ticks "$_pid" "$_ch")
	_ok=$(sed -n "s/^[a-z]*: \\([0-9]*\\) ok.*/\\1/p" "$_out" | head -1)
	awk -v a="$_a" -v b="$_b" -v n="${_ok:-0}" -v hz="$HZ" -v l="$(head -1 "$_out")" -v w="$_name" \
		'BEGIN { printf "%s, %s CPU %.2f ms per request\n", l, w, (n > 0 ? (b - a) * 1000 / hz / n : 0) }' |
		tee "$_out.line"
}
. tests/integration/broker_lib.sh
. tests/lib/pg.sh
. tests/lib/ports.sh
. tests/lib/fleet.sh
for b in "$KBS" "$SIM" "$CLIENT"; do
	[ -x "$b" ] || { echo "missing $b (make test-bins)" >&2; exit 2; }
done

echo "== ccunlock-kbs: $(nproc) cores, $COUNT boots per level, TLS, new connection per boot"
setup_broker "$T" || { echo "broker setup failed" >&2; exit 1; }
"$KBS" resource put bench/luks/root --policy open --random 32 --config "$T/broker.conf" >/dev/null
start_broker "$T" || { echo "broker did not start" >&2; exit 1; }
KBS_PID=$BROKER_PID # (the fleet's start_broker calls reuse BROKER_PID)
URL=https://127.0.0.1:$PORT
# Warm-up (first chain verification, page cache).
"$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource bench/luks/root \
	--concurrency 2 --count 20 >/dev/null
for n in $LEVELS; do
	printf 'concurrency %-3s ' "$n"
	run_level broker "$T/kbs-$n.txt" "$KBS_PID" "" -- --url "$URL" --ca "$T/ca.pem" \
		--sim "$T/sim" --resource bench/luks/root --concurrency "$n" --count "$COUNT"
done
echo "(client and broker share the machine; the client signs each simulated report)"
if [ "${PROFILE:-yes}" != no ] && command -v perf >/dev/null 2>&1 &&
	perf record -q -o "$T/perf.data" -p "$KBS_PID" -- sleep 0.1 >/dev/null 2>&1; then
	# DWARF call chains, so that time in OpenSSL, libc, jansson and the
	# kernel (whose own symbols Debian strips) is charged to the broker
	# function that called it.
	perf record -q -F 1000 --call-graph dwarf,16384 -o "$T/perf.data" -p "$KBS_PID" \
		>/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.3
	"$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource bench/luks/root \
		--concurrency 4 --count 200 >/dev/null
	kill -INT "$PERF_PID"
	wait "$PERF_PID"
	echo "== ccunlock-kbs profile (200 boots at concurrency 4, perf): share of the broker's CPU"
	echo "   by the innermost broker function on the stack, with the first library call under it"
	# perf script prints one sample per paragraph, innermost frame first.
	perf script -i "$T/perf.data" -F ip,sym,dso 2>/dev/null | awk '
		function flush() {
			if (!n) return
			total++
			k = own == "" ? "(no broker frame)" : own " -> " (lib == "" ? "itself" : lib)
			cnt[k]++
			n = 0; own = ""; lib = ""
		}
		NF == 0 { flush(); next }
		{
			n++
			if (own != "") next
			# the innermost frame in the broker binary; an inlined frame
			# (shown without its binary) can only be named as the call
			if ($NF ~ /ccunlock-kbs\)$/) { own = $2; next }
			if ($2 != "[unknown]") lib = $2
		}
		END {
			flush()
			for (k in cnt) printf "%6.1f%%  %s\n", 100 * cnt[k] / total, k
		}' | sort -rn | head -15
else
	echo "== ccunlock-kbs profile: not taken (no perf, perf not permitted, or PROFILE=no)"
fi

if [ "$REPLICAS" -gt 0 ]; then
	# Its own directory: PostgreSQL runs as an unprivileged user when we are
	# root, and must be able to reach it.
	FT=$(mktemp -d /tmp/ccu-bench-fleet-XXXXXX)
	if ! ccu_pg_available || ! command -v haproxy >/dev/null 2>&1; then
		echo "== fleet: not measured (needs postgresql and haproxy: tools/deps.sh check)"
	elif ! ccu_fleet_start "$FT" "$REPLICAS"; then
		echo "== fleet: setup failed" >&2
	else
		"$KBS" resource put bench/luks/root --policy open --random 32 \
			--config "$FT/r1/broker.conf" >/dev/null
		echo "== fleet: $REPLICAS replicas on one PostgreSQL behind HAProxy (round-robin per request), $COUNT boots per level"
		"$CLIENT" --url "$FLEET_URL" --ca "$FT/ca.pem" --sim "$FT/sim" \
			--resource bench/luks/root --concurrency 2 --count 20 >/dev/null
		for n in $LEVELS; do
			a=0
			for p in $FLEET_PIDS; do a=$((a + $(cpu_ticks "$p"))); done
			"$CLIENT" --url "$FLEET_URL" --ca "$FT/ca.pem" --sim "$FT/sim" \
				--resource bench/luks/root --concurrency "$n" --count "$COUNT" >"$T/fleet-$n.txt"
			b=0
			for p in $FLEET_PIDS; do b=$((b + $(cpu_ticks "$p"))); done
			ok=$(sed -n 's/^boots: \([0-9]*\) ok.*/\1/p' "$T/fleet-$n.txt")
			f=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/fleet-$n.txt")
			k=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/kbs-$n.txt")
			awk -v n="$n" -v l="$(head -1 "$T/fleet-$n.txt")" -v a="$a" -v b="$b" -v ok="${ok:-0}" \
				-v hz="$HZ" -v f="$f" -v k="$k" 'BEGIN {
				printf "concurrency %-3s %s, replicas CPU %.2f ms per boot\n", n, l, (ok > 0 ? (b - a) * 1000 / hz / ok : 0)
				printf "concurrency %-3s fleet %8.1f/s  one broker %8.1f/s\n", n, f, k }'
		done
		echo "(HAProxy, PostgreSQL, the replicas and the client share the machine's $(nproc) cores)"
		ccu_fleet_stop "$FT"
		FLEET_PIDS=
		FLEET_HAPROXY_PID=
	fi
fi

tangd=/usr/libexec/tangd
if [ ! -x "$tangd" ] || ! command -v socat >/dev/null 2>&1 || ! command -v jose >/dev/null 2>&1; then
	echo "== Tang: not measured (needs packages tang, socat, jose: tools/deps.sh bench)"
	exit 0
fi
echo "== Tang: tangd under socat (fork + exec per connection), plain HTTP, $COUNT recoveries per level"
mkdir -p "$T/tang"
/usr/libexec/tangd-keygen "$T/tang" >/dev/null
TPORT=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
socat "TCP-LISTEN:$TPORT,bind=127.0.0.1,reuseaddr,fork,backlog=256" \
	EXEC:"$tangd $T/tang" 2>"$T/tang.log" &
TANG_PID=$!
sleep 0.5
# The exchange key's thumbprint names it in /rec/<kid>; the request is an
# ephemeral ECMR public key as clevis-decrypt-tang sends it.
kid=
for k in "$T"/tang/*.jwk; do
	if jose fmt -j "$k" -g key_ops -A -g 0 -u- 2>/dev/null | grep -qx deriveKey; then
		kid=$(jose jwk thp -i "$k")
	fi
done
jose jwk gen -i '{"alg":"ECMR","crv":"P-521"}' | jose jwk pub -i- -o "$T/rec.jwk"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/jwk+json' \
	--data-binary @"$T/rec.jwk" "http://127.0.0.1:$TPORT/rec/$kid")
if [ "$code" != 200 ]; then
	echo "Tang recovery request failed ($code):"; cat "$T/tang.log"
	exit 1
fi
for n in $LEVELS; do
	printf 'concurrency %-3s ' "$n"
	run_level tang "$T/tang-$n.txt" "$TANG_PID" children -- \
		--replay-post "http://127.0.0.1:$TPORT/rec/$kid" --body "$T/rec.jwk" \
		--content-type application/jwk+json --concurrency "$n" --count "$COUNT"
done

echo "== ratio (ccunlock-kbs full attestations+releases per second / Tang recoveries per second)"
for n in $LEVELS; do
	k=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/kbs-$n.txt")
	t=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/tang-$n.txt")
	kc=$(sed -n 's/.* CPU \([0-9.]*\) ms per request.*/\1/p' "$T/kbs-$n.txt.line")
	tc=$(sed -n 's/.* CPU \([0-9.]*\) ms per request.*/\1/p' "$T/tang-$n.txt.line")
	awk -v n="$n" -v k="$k" -v t="$t" -v kc="$kc" -v tc="$tc" \
		'BEGIN { printf "concurrency %-3s kbs %8.1f/s %5.2f ms CPU  tang %8.1f/s %5.2f ms CPU  ratio %.3f\n", n, k, kc, t, tc, (t > 0 ? k / t : 0) }'
done
