#!/bin/sh
# ccunlock-kbs as an operator runs it: init (refusing to overwrite), policy
# and resource commands, admin keys and tokens, serve with a port file and a
# clean stop on SIGTERM, and a guest boot against the real process.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
T=$(mktemp -d /tmp/ccu-kbscli-XXXXXX)
trap '[ -n "${BROKER_PID:-}" ] && kill "$BROKER_PID" 2>/dev/null; rm -rf "$T"' EXIT
. tests/integration/broker_lib.sh
need_built "$KBS" "$SIM" "$CLIENT"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"
command -v curl >/dev/null 2>&1 || skip_all "curl missing"

C="--config $T/broker.conf"
check "setup: tls, simulator, admin key, init, policy" setup_broker "$T"
check "the master key is 0400" test "$(stat -c %a "$T/master.key")" = 400
check "the admin private key is 0400" test "$(stat -c %a "$T/admin.key")" = 400
# shellcheck disable=SC2086
"$KBS" init $C >/dev/null 2>"$T/err"
check "init refuses to overwrite (exit 3)" test $? -eq 3
check "the master key is unchanged in size" test "$(stat -c %s "$T/master.key")" = 32

printf 'allow_debug = yes\n' >"$T/bad.policy"
# shellcheck disable=SC2086
"$KBS" policy set bad "$T/bad.policy" $C 2>"$T/err"
check "an invalid policy is refused (exit 2)" test $? -eq 2
check "... naming the parser's code" grep -q CONFIG_UNKNOWN_KEY "$T/err"
# shellcheck disable=SC2086
check "policy list" sh -c "'$KBS' policy list $C | grep -qx open"
# shellcheck disable=SC2086
check "policy show" sh -c "'$KBS' policy show open $C | grep -qx 'measurement = any'"

head -c 32 /dev/urandom >"$T/secret"
# shellcheck disable=SC2086
check "resource put --file" "$KBS" resource put default/luks/root --policy open --file "$T/secret" $C
# shellcheck disable=SC2086
check "resource put --stdin" sh -c "'$KBS' resource put default/luks/data --policy open --stdin $C <'$T/secret' >/dev/null"
# shellcheck disable=SC2086
check "resource put --random" "$KBS" resource put default/luks/rnd --policy open --random 64 $C
# shellcheck disable=SC2086
"$KBS" resource put default/luks/x --policy open $C >/dev/null 2>&1
check "put without a secret source is a usage error" test $? -eq 2
# shellcheck disable=SC2086
"$KBS" resource put default/luks/x --policy nope --random 8 $C >/dev/null 2>&1
check "put with an unknown policy fails (exit 3)" test $? -eq 3
# shellcheck disable=SC2086
check "get-meta" sh -c "'$KBS' resource get-meta default/luks/rnd $C | grep -q '\"size\":64'"
# shellcheck disable=SC2086
check "list shows three resources" test "$("$KBS" resource list $C | wc -l)" -eq 3
# shellcheck disable=SC2086
check "resource delete" "$KBS" resource delete default/luks/data $C
# shellcheck disable=SC2086
"$KBS" policy delete open $C >/dev/null 2>"$T/err"
check "a policy in use is not deleted" grep -q STORE_POLICY_IN_USE "$T/err"
"$KBS" resource frob x --config "$T/broker.conf" >/dev/null 2>&1
check "unknown subcommand is a usage error" test $? -eq 2
"$KBS" resource list --bogus >/dev/null 2>&1
check "unknown option is a usage error" test $? -eq 2
check "the audit log has the CLI changes" grep -q '"action":"resource.delete","peer":"cli"' "$T/audit.jsonl"

check "serve starts and writes the port file" start_broker "$T"
check "the bound port is logged" grep -q "listening on 127.0.0.1:$PORT" "$T/serve.log"
check "healthz" sh -c "curl -s --cacert '$T/ca.pem' https://127.0.0.1:$PORT/healthz | grep -qx ok"
want=$(od -An -v -tx1 "$T/secret" | tr -d ' \n')
got=$("$CLIENT" --url "https://127.0.0.1:$PORT" --ca "$T/ca.pem" --sim "$T/sim" \
	--resource default/luks/root --print-key 2>&1)
check "a simulated guest gets the key" test "$got" = "$want"
tok=$("$KBS" admin-token --key "$T/admin.key" --lifetime 60)
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" -H "Authorization: Bearer $tok" \
	"https://127.0.0.1:$PORT/kbs/v0/resource-meta/default/luks/root")
check "admin-token works against the API" test "$code" = 200
code=$(curl -s -o "$T/replay.json" -w '%{http_code}' --cacert "$T/ca.pem" -H "Authorization: Bearer $tok" \
	"https://127.0.0.1:$PORT/kbs/v0/resource-meta/default/luks/root")
check "the same token again: 401 ADMIN_TOKEN_REPLAY" \
	sh -c "test '$code' = 401 && grep -q ADMIN_TOKEN_REPLAY '$T/replay.json'"
check "the refused replay is audited" grep -q '"reason":{"code":"ADMIN_TOKEN_REPLAY"' "$T/audit.jsonl"
rtok=$("$KBS" admin-token --key "$T/admin.key" --lifetime 60 --reusable)
c1=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" -H "Authorization: Bearer $rtok" \
	"https://127.0.0.1:$PORT/kbs/v0/resource-meta/default/luks/root")
c2=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" -H "Authorization: Bearer $rtok" \
	"https://127.0.0.1:$PORT/kbs/v0/resource-meta/default/luks/root")
check "admin-token --reusable works for several requests ($c1 $c2)" test "$c1$c2" = 200200
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" \
	"https://127.0.0.1:$PORT/kbs/v0/resource-meta/default/luks/root")
check "no token: 401" test "$code" = 401
kill -TERM "$BROKER_PID"
wait "$BROKER_PID"
check "SIGTERM stops serve cleanly (exit 0)" test $? -eq 0
BROKER_PID=
"$KBS" serve --config "$T/nope.conf" 2>/dev/null
check "serve with a missing config exits 2" test $? -eq 2
done_testing
