#!/bin/sh
# A fleet: three ccunlock-kbs replicas on one PostgreSQL, HAProxy in front
# (TLS terminated and re-encrypted, round-robin per request, no stickiness,
# so a boot's /auth, /attest and resource GET land on different replicas).
# Every boot through HAProxy releases; a nonce consumed on one replica is
# refused on another; kill -9 of one replica and PostgreSQL cutting every
# connection are survived by the boots that follow; no admin write
# acknowledged before the kill is lost; no nonce is consumed twice.
#   CCU_FLEET_BOOTS (default 2000) boots in the main run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
BOOTS=${CCU_FLEET_BOOTS:-2000}
T=$(mktemp -d /tmp/ccu-kbsfleet-XXXXXX)
PIDS=
HAP_PID=
cleanup() {
	# shellcheck disable=SC2086 # PIDS is a list
	kill $PIDS $HAP_PID 2>/dev/null
	[ -d "$T/pgsock/data" ] && ccu_pg_ctl "$T" kill 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/integration/broker_lib.sh
. tests/lib/pg.sh
. tests/lib/ports.sh
for b in "$KBS" "$SIM" "$CLIENT"; do
	[ -x "$b" ] || skip_all "$b is not built (make test-bins)"
done
ccu_pg_available || skip_all "PostgreSQL 15 server binaries missing (tools/deps.sh check)"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || skip_all "haproxy missing (tools/deps.sh check)"

check "PostgreSQL starts" ccu_pg_start "$T"
ccu_make_tls "$T" && "$SIM" init "$T/sim" >/dev/null && "$KBS" admin-keygen --out "$T/admin" >/dev/null
for r in a b c; do
	mkdir -p "$T/$r"
	{
		echo "listen = 127.0.0.1:0"
		echo "port_file = $T/$r/port"
		echo "tls_cert = $T/server.pem"
		echo "tls_key = $T/server.key"
		echo "store = $CCU_PG_DSN"
		echo "master_key = $T/$r/master.key"
		echo "admin_public_key = $T/admin.pub"
		echo "trusted_root = $T/sim/ark.pem"
		echo "audit_log = $T/$r/audit.jsonl"
	} >"$T/$r/broker.conf"
done
"$KBS" init --config "$T/a/broker.conf" >/dev/null
install -m 0400 "$T/a/master.key" "$T/b/master.key"
install -m 0400 "$T/a/master.key" "$T/c/master.key"
printf 'measurement = any\n' >"$T/open.policy"
"$KBS" policy set open "$T/open.policy" --config "$T/a/broker.conf" >/dev/null
"$KBS" resource put fleet/luks/root --policy open --random 32 --config "$T/a/broker.conf" >/dev/null

# ccu_audit_lines DIR: audit lines written by all replicas so far.
ccu_audit_lines() {
	cat "$1"/a/audit.jsonl "$1"/b/audit.jsonl "$1"/c/audit.jsonl 2>/dev/null | wc -l | tr -d ' '
}

# ccu_wait_audit_lines DIR N: until the replicas have written N audit lines
# (bounded: 600 polls); a run that is under way, whatever the host's speed.
ccu_wait_audit_lines() {
	_w=0
	while [ "$(ccu_audit_lines "$1")" -lt "$2" ] && [ $_w -lt 600 ]; do
		sleep 0.1
		_w=$((_w + 1))
	done
}

start_replica() {
	start_broker "$T/$1" || return 1
	eval "PID_$1=\$BROKER_PID"
	eval "PORT_$1=\$PORT"
	PIDS="$PIDS $BROKER_PID"
}
for r in a b c; do
	check "replica $r serves" start_replica "$r"
done

HPORT=$(ccu_free_port 1) || bail_out "no free port for HAProxy"
cat "$T/server.pem" "$T/server.key" >"$T/haproxy.pem"
# shellcheck disable=SC2154 # PORT_a etc. are set by eval in start_replica
cat >"$T/haproxy.cfg" <<EOC
global
	maxconn 512
defaults
	mode http
	timeout connect 2s
	timeout client 15s
	timeout server 15s
	retries 3
	option redispatch
	option http-server-close
frontend kbs
	bind 127.0.0.1:$HPORT ssl crt $T/haproxy.pem
	default_backend replicas
backend replicas
	balance roundrobin
	default-server ssl verify required ca-file $T/ca.pem check inter 500ms fall 1 rise 2
	server a 127.0.0.1:$PORT_a
	server b 127.0.0.1:$PORT_b
	server c 127.0.0.1:$PORT_c
EOC
"$HAPROXY" -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
HAP_PID=$!
check "HAProxy listens on 127.0.0.1:$HPORT" ccu_wait_listen "$HPORT" "$HAP_PID" 60
URL=https://127.0.0.1:$HPORT

out=$("$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource fleet/luks/root \
	--concurrency 8 --count "$BOOTS")
check "$BOOTS boots through HAProxy all release ($out)" \
	sh -c "echo '$out' | grep -q '^boots: $BOOTS ok, 0 failed'"
for r in a b c; do
	n=$(grep -c '"event":"attest"' "$T/$r/audit.jsonl")
	check "replica $r verified a share of the attestations ($n)" test "$n" -gt 0
done

# The nonce of a session made on A, consumed on B, is refused on C.
hdr=$(curl -s -D - -o "$T/chal.json" --cacert "$T/ca.pem" -H 'Content-Type: application/json' \
	--data '{"version":"0.4.0","tee":"snp","extra-params":""}' "https://127.0.0.1:$PORT_a/kbs/v0/auth")
sid=$(echo "$hdr" | sed -n 's/^[Ss]et-[Cc]ookie: kbs-session-id=\([0-9a-f]*\).*/\1/p')
check "/auth on replica A issues a session" test -n "$sid"
curl -s -o "$T/att1.json" --cacert "$T/ca.pem" -H "Cookie: kbs-session-id=$sid" \
	-H 'Content-Type: application/json' --data '{}' "https://127.0.0.1:$PORT_b/kbs/v0/attest"
curl -s -o "$T/att2.json" --cacert "$T/ca.pem" -H "Cookie: kbs-session-id=$sid" \
	-H 'Content-Type: application/json' --data '{}' "https://127.0.0.1:$PORT_c/kbs/v0/attest"
check "replica B took the nonce (its /attest failed on the body, not the session)" \
	sh -c "! grep -q SESSION_ '$T/att1.json'"
check "the same nonce on replica C is refused: SESSION_NONCE_USED" grep -q SESSION_NONCE_USED "$T/att2.json"

# kill -9 of a replica mid-run, with admin writes going on. The boots retry
# as the guest does (--retry: transient failures, backoff, 6 attempts within
# the default deadline): every one of them must release.
TOKEN=$("$KBS" admin-token --key "$T/admin.key" --reusable)
: >"$T/acked"
(
	j=0
	while [ $j -lt 200 ]; do
		j=$((j + 1))
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$T/ca.pem" \
			-H "Authorization: Bearer $TOKEN" --data-binary "secret-$j" \
			"$URL/kbs/v0/resource/fleet/w/k$j?policy=open")
		[ "$code" = 200 ] && echo "fleet/w/k$j" >>"$T/acked"
	done
) &
W_PID=$!
"$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource fleet/luks/root \
	--concurrency 4 --count 300 --retry >"$T/kill.txt" &
L_PID=$!
# mid-run: once the first boots have been answered
ccu_wait_audit_lines "$T" 20
# shellcheck disable=SC2154
kill -KILL "$PID_b"
wait "$PID_b" 2>/dev/null
wait "$L_PID"
wait "$W_PID"
check "kill -9 of replica B mid-run: every boot released, retrying as the guest does ($(tr '\n' ' ' <"$T/kill.txt"))" \
	grep -q '^boots: 300 ok, 0 failed' "$T/kill.txt"
out=$("$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource fleet/luks/root \
	--concurrency 4 --count 100)
check "after kill -9 of replica B the boots that follow all release ($out)" \
	sh -c "echo '$out' | grep -q '^boots: 100 ok, 0 failed'"
acked=$(wc -l <"$T/acked" | tr -d ' ')
lost=0
while read -r path; do
	"$KBS" resource get-meta "$path" --config "$T/a/broker.conf" >/dev/null 2>&1 ||
		lost=$((lost + 1))
done <"$T/acked"
check "no acknowledged admin write is lost ($acked acknowledged, $lost lost)" test "$lost" -eq 0

# PostgreSQL cuts every connection mid-run (immediate shutdown, then a
# restart): requests meanwhile are 503s, never a release without the
# database; the replicas reconnect and the retrying boots all release.
n0=$(ccu_audit_lines "$T")
"$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource fleet/luks/root \
	--concurrency 4 --count 300 --retry >"$T/pgcut.txt" &
L_PID=$!
ccu_wait_audit_lines "$T" $((n0 + 20))
check "PostgreSQL immediate shutdown mid-run" ccu_pg_ctl "$T" kill
sleep 1
check "PostgreSQL restarts" ccu_pg_ctl "$T" start
wait "$L_PID"
check "PostgreSQL cut every connection mid-run: every boot released, retrying as the guest does ($(tr '\n' ' ' <"$T/pgcut.txt"))" \
	grep -q '^boots: 300 ok, 0 failed' "$T/pgcut.txt"
out=$("$CLIENT" --url "$URL" --ca "$T/ca.pem" --sim "$T/sim" --resource fleet/luks/root \
	--concurrency 4 --count 100)
check "after PostgreSQL cut every connection the boots all release ($out)" \
	sh -c "echo '$out' | grep -q '^boots: 100 ok, 0 failed'"

# No nonce was consumed twice: each session id has at most one allowed
# attestation across the three replicas' audit logs.
dups=$(cat "$T"/a/audit.jsonl "$T"/b/audit.jsonl "$T"/c/audit.jsonl |
	grep '"event":"attest"' | grep '"decision":"allow"' | sed -n 's/.*"session":"\([0-9a-f]*\)".*/\1/p' | sort | uniq -d | wc -l)
check "no session's nonce gave two allowed attestations ($dups)" test "$dups" -eq 0
done_testing
