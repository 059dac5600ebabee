#!/bin/sh
# kill -9 during admin writes loses nothing acknowledged: the real
# ccunlock-kbs serves over TLS while three writers POST resources through the
# admin API; the broker is SIGKILLed at varied moments and restarted; every
# resource whose POST was answered 200 must still be there, authenticate
# under the master key (get-meta unseals it) and release its exact bytes.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
T=$(mktemp -d /tmp/ccu-kbscrash-XXXXXX)
# shellcheck disable=SC2086 # WRITER_PID is a list
trap 'kill ${WRITER_PID:-} ${BROKER_PID:-} 2>/dev/null; rm -rf "$T"' EXIT
. tests/integration/broker_lib.sh
need_built "$KBS" "$SIM" "$CLIENT"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"
command -v curl >/dev/null 2>&1 || skip_all "curl missing"

ROUNDS=5
check "setup" setup_broker "$T"
: >"$T/acked"

WRITERS=3
ACK_WAIT_MAX=600 # polls of 0.1 s for a round's first acknowledged write

# writer ROUND ID: POST resources until the broker goes away; record each 200
# (one short line per append, so concurrent writers' lines stay whole).
writer() {
	_j=0
	while :; do
		_j=$((_j + 1))
		head -c 32 /dev/urandom >"$T/w$2.bin"
		_hex=$(od -An -v -tx1 "$T/w$2.bin" | tr -d ' \n')
		_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$T/ca.pem" \
			-H "Authorization: Bearer $TOKEN" --data-binary @"$T/w$2.bin" \
			"https://127.0.0.1:$PORT/kbs/v0/resource/crash/r$1/w$2k$_j?policy=open") ||
			break
		[ "$_code" = 200 ] || break
		echo "crash/r$1/w$2k$_j $_hex" >>"$T/acked"
	done
}

for round in $(seq 1 $ROUNDS); do
	if ! start_broker "$T"; then
		not_ok "round $round: broker starts"
		continue
	fi
	# one token for the round's many writers: reusable (no jti)
	TOKEN=$("$KBS" admin-token --key "$T/admin.key" --reusable)
	WRITER_PID=
	for w in $(seq 1 $WRITERS); do
		writer "$round" "$w" &
		WRITER_PID="$WRITER_PID $!"
	done
	# The kill comes after the round's first acknowledged write (on a busy
	# host the first TLS handshakes may take a while: what is under test is a
	# kill *during* writes, whatever the host's speed), bounded by
	# ACK_WAIT_MAX polls, then at varied moments: 0.2 s to 1.0 s later, plus
	# up to 0.25 s jitter.
	_n=0
	while ! grep -q "^crash/r$round/" "$T/acked" && [ "$_n" -lt "$ACK_WAIT_MAX" ] &&
		kill -0 "$BROKER_PID" 2>/dev/null; do
		sleep 0.1
		_n=$((_n + 1))
	done
	sleep "$(awk -v r="$round" -v j="$(od -An -N1 -tu1 /dev/urandom)" \
		'BEGIN { printf "%.3f", r * 0.2 + j / 1000 }')"
	kill -KILL "$BROKER_PID"
	wait "$BROKER_PID" 2>/dev/null
	for p in $WRITER_PID; do
		wait "$p" 2>/dev/null
	done
	WRITER_PID=
	ok "round $round: SIGKILL after $(grep -c "^crash/r$round/" "$T/acked") acknowledged writes"
done

total=$(wc -l <"$T/acked" | tr -d ' ')
check "writes were acknowledged before the kills ($total)" test "$total" -gt 0
bad=0
while read -r path hex; do
	if ! "$KBS" resource get-meta "$path" --config "$T/broker.conf" 2>>"$T/meta.err" |
		grep -q '"size":32'; then
		bad=$((bad + 1))
		diag "lost or unauthenticated: $path"
	fi
done <"$T/acked"
check "every acknowledged resource is intact and authenticates ($total)" test "$bad" -eq 0

check "the broker restarts on the same database" start_broker "$T"
bad=0
# The last writes acknowledged before each kill are the ones most at risk.
for key in $(seq 1 $ROUNDS | while read -r r; do seq 1 $WRITERS | sed "s|^|$r/w|"; done); do
	line=$(grep "^crash/r${key%/*}/${key#*/}k" "$T/acked" | tail -1)
	[ -n "$line" ] || continue
	path=${line% *}
	hex=${line#* }
	got=$("$CLIENT" --url "https://127.0.0.1:$PORT" --ca "$T/ca.pem" --sim "$T/sim" \
		--resource "$path" --print-key 2>&1)
	if [ "$got" != "$hex" ]; then
		bad=$((bad + 1))
		diag "$path: released '$got', stored '$hex'"
	fi
done
check "the last acknowledged resource of each writer and round releases its bytes" test "$bad" -eq 0
kill -TERM "$BROKER_PID"
wait "$BROKER_PID"
BROKER_PID=
done_testing
