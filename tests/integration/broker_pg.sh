#!/bin/sh
# Several brokers on one PostgreSQL store: a throw-away PostgreSQL 15 on a
# unix socket, two ccunlock-kbs replicas sharing it (the master key copied);
# what an admin writes through one is released by the other; a replica with
# another master key releases nothing (STORE_INTEGRITY); an unreachable
# database is a clear start-up error; PostgreSQL cut mid-run refuses
# releases (never releases) and the broker reconnects once it is back.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
T=$(mktemp -d /tmp/ccu-kbspg-XXXXXX)
A_PID=
B_PID=
cleanup() {
	kill "$A_PID" "$B_PID" 2>/dev/null
	[ -d "$T/pgsock/data" ] && ccu_pg_ctl "$T" kill 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/integration/broker_lib.sh
. tests/lib/pg.sh
for b in "$KBS" "$SIM" "$CLIENT"; do
	[ -x "$b" ] || skip_all "$b is not built (make test-bins)"
done
ccu_pg_available || skip_all "PostgreSQL 15 server binaries missing (tools/deps.sh check)"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"

check "PostgreSQL starts (initdb + pg_ctl, unix socket only)" ccu_pg_start "$T"

# replica DIR: DIR/broker.conf on the shared store, own port/audit/TLS key
# file names under DIR, TLS and simulator from $T.
replica() {
	mkdir -p "$1"
	{
		echo "listen = 127.0.0.1:0"
		echo "port_file = $1/port"
		echo "tls_cert = $T/server.pem"
		echo "tls_key = $T/server.key"
		echo "store = $CCU_PG_DSN"
		echo "master_key = $1/master.key"
		echo "admin_public_key = $T/admin.pub"
		echo "trusted_root = $T/sim/ark.pem"
		echo "audit_log = $1/audit.jsonl"
	} >"$1/broker.conf"
}

# release DIR PATH: the key PATH as released by the replica in DIR, in hex.
release() {
	"$CLIENT" --url "https://127.0.0.1:$(cat "$1/port")" --ca "$T/ca.pem" --sim "$T/sim" \
		--resource "$2" --print-key 2>&1
}

ccu_make_tls "$T" && "$SIM" init "$T/sim" >/dev/null && "$KBS" admin-keygen --out "$T/admin" >/dev/null
replica "$T/a"
replica "$T/b"
check "init on the shared store creates the master key and the schema" \
	sh -c "'$KBS' init --config '$T/a/broker.conf' | grep -q 'schema in the PostgreSQL store'"
install -m 0400 "$T/a/master.key" "$T/b/master.key"
printf 'measurement = any\n' >"$T/open.policy"
check "policy set through replica A's configuration" \
	"$KBS" policy set open "$T/open.policy" --config "$T/a/broker.conf"
head -c 32 /dev/urandom >"$T/k1"
check "resource put through replica B's configuration" \
	"$KBS" resource put fleet/luks/k1 --policy open --file "$T/k1" --config "$T/b/broker.conf"

start_broker "$T/a" && A_PID=$BROKER_PID
start_broker "$T/b" && B_PID=$BROKER_PID
check "both replicas serve" test -n "$A_PID" -a -n "$B_PID"
want=$(od -An -v -tx1 "$T/k1" | tr -d ' \n')
check "replica A releases what was written through B" test "$(release "$T/a" fleet/luks/k1)" = "$want"
check "replica B releases it too" test "$(release "$T/b" fleet/luks/k1)" = "$want"

# An admin write over B's API is at once visible to A.
TOKEN=$("$KBS" admin-token --key "$T/admin.key")
head -c 32 /dev/urandom >"$T/k2"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$T/ca.pem" \
	-H "Authorization: Bearer $TOKEN" --data-binary @"$T/k2" \
	"https://127.0.0.1:$(cat "$T/b/port")/kbs/v0/resource/fleet/luks/k2?policy=open")
check "admin POST through replica B is acknowledged" test "$code" = 200
check "replica A releases the resource B acknowledged" \
	test "$(release "$T/a" fleet/luks/k2)" = "$(od -An -v -tx1 "$T/k2" | tr -d ' \n')"
# That token (single use: it has a jti) spent on B is refused by A.
code=$(curl -s -o "$T/replay.json" -w '%{http_code}' --max-time 10 --cacert "$T/ca.pem" \
	-H "Authorization: Bearer $TOKEN" --data-binary @"$T/k2" \
	"https://127.0.0.1:$(cat "$T/a/port")/kbs/v0/resource/fleet/luks/k3?policy=open")
check "the admin token B accepted is refused by replica A: ADMIN_TOKEN_REPLAY ($code)" \
	sh -c "test '$code' = 401 && grep -q ADMIN_TOKEN_REPLAY '$T/replay.json'"
check "nothing was written by the replayed token" \
	sh -c "! '$KBS' resource get-meta fleet/luks/k3 --config '$T/a/broker.conf' >/dev/null 2>&1"

out=$("$CLIENT" --url "https://127.0.0.1:$(cat "$T/a/port")" --ca "$T/ca.pem" --sim "$T/sim" \
	--resource fleet/luks/k1 --concurrency 4 --count 40)
check "40 boots at concurrency 4 on replica A all release ($out)" \
	sh -c "echo '$out' | grep -q '40 ok, 0 failed'"

# Another master key: the rows do not authenticate, nothing is released.
replica "$T/c"
"$KBS" admin-keygen --out "$T/c/unused" >/dev/null
head -c 32 /dev/urandom >"$T/c/master.key"
chmod 0400 "$T/c/master.key"
start_broker "$T/c" && C_PID=$BROKER_PID
got=$(release "$T/c" fleet/luks/k1)
check "a replica with another master key refuses: STORE_INTEGRITY ($got)" \
	sh -c "echo '$got' | grep -q 'DENIED.*STORE_INTEGRITY'"
kill "$C_PID"
wait "$C_PID" 2>/dev/null

# Unreachable database: a clear start-up error, no listener.
replica "$T/d"
cp "$T/a/master.key" "$T/d/master.key"
sed -i "s|^store = .*|store = postgresql:///postgres?host=$T/nowhere\&user=ccu|" "$T/d/broker.conf"
"$KBS" serve --config "$T/d/broker.conf" 2>"$T/d/serve.log"
rc=$?
check "serve on an unreachable database exits non-zero (rc $rc)" test "$rc" -ne 0
check "... naming STORE_IO and the connection failure" grep -q 'STORE_IO.*cannot connect' "$T/d/serve.log"
check "... and never wrote a port file" test ! -s "$T/d/port"

# PostgreSQL cut mid-run: releases fail closed, then recover on reconnect.
check "PostgreSQL immediate shutdown (every connection cut)" ccu_pg_ctl "$T" kill
got=$(release "$T/a" fleet/luks/k1)
check "with the database down replica A releases nothing: 503 STORE_IO ($got)" \
	sh -c "echo '$got' | grep -q 'DENIED 503.*STORE_IO'"
check "PostgreSQL restarts" ccu_pg_ctl "$T" start
check "replica A reconnects and releases again" test "$(release "$T/a" fleet/luks/k1)" = "$want"
got=$(release "$T/b" fleet/luks/k2)
check "replica B reconnects and releases again ($got)" test "$got" = \
	"$(od -An -v -tx1 "$T/k2" | tr -d ' \n')"

kill -TERM "$A_PID" "$B_PID"
wait "$A_PID" "$B_PID"
A_PID=
B_PID=
check "each replica audited its own decisions" \
	sh -c "grep -q '\"release\"' '$T/a/audit.jsonl' && grep -q '\"release\"' '$T/b/audit.jsonl'"
done_testing
