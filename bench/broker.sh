#!/bin/sh
# Broker throughput: full attestations with key release per second over TLS
# (every boot a new TLS connection, /auth, /attest with simulator evidence,
# resource GET, JWE decryption) with N concurrent simulated guests, and p50/
# p99 latency; then Tang (tangd under socat, inetd style, plain HTTP as Tang
# is deployed) answering the same number of key recovery requests
# (POST /rec/<kid>, one valid request replayed, new connection each) with the
# same concurrency, and the ratio. Numbers only; nothing is asserted.
#
#   bench/broker.sh [CONCURRENCY...]      (default: 1 4 16; COUNT=400 boots each)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
O=${O:-build}
COUNT=${COUNT:-400}
LEVELS=${*:-1 4 16}
T=$(mktemp -d /tmp/ccu-bench-broker-XXXXXX)
TANG_PID=
BROKER_PID=
trap 'kill $BROKER_PID $TANG_PID 2>/dev/null; rm -rf "$T"' EXIT
. tests/integration/broker_lib.sh
for b in "$KBS" "$SIM" "$CLIENT"; do
	[ -x "$b" ] || { echo "missing $b (make test-bins)" >&2; exit 2; }
done

echo "== ccunlock-kbs: $(nproc) cores, $COUNT boots per level, TLS, new connection per boot"
setup_broker "$T" || { echo "broker setup failed" >&2; exit 1; }
"$KBS" resource put bench/luks/root --policy open --random 32 --config "$T/broker.conf" >/dev/null
start_broker "$T" || { echo "broker did not start" >&2; exit 1; }
URL=https://127.0.0.1:$PORT
# Warm-up (first chain verification, page cache).
"$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource bench/luks/root \
	--concurrency 2 --count 20 >/dev/null
for n in $LEVELS; do
	printf 'concurrency %-3s ' "$n"
	"$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource bench/luks/root \
		--concurrency "$n" --count "$COUNT" | tee "$T/kbs-$n.txt" | head -1
done
echo "(client and broker share the machine; the client signs each simulated report)"

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
	"$CLIENT" --replay-post "http://127.0.0.1:$TPORT/rec/$kid" --body "$T/rec.jwk" \
		--content-type application/jwk+json --concurrency "$n" --count "$COUNT" |
		tee "$T/tang-$n.txt" | head -1
done

echo "== ratio (ccunlock-kbs full attestations+releases per second / Tang recoveries per second)"
for n in $LEVELS; do
	k=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/kbs-$n.txt")
	t=$(sed -n 's/.* \([0-9.]*\) per second.*/\1/p' "$T/tang-$n.txt")
	awk -v n="$n" -v k="$k" -v t="$t" \
		'BEGIN { printf "concurrency %-3s kbs %8.1f/s  tang %8.1f/s  ratio %.3f\n", n, k, t, (t > 0 ? k / t : 0) }'
done
