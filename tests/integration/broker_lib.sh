# shellcheck shell=sh
# Helpers for the broker integration tests (source after tests/lib/tap.sh;
# needs $T, a scratch directory, and $O). Not a test itself (no +x).

# Used by the scripts that source this file.
# shellcheck disable=SC2034
KBS=$O/ccunlock-kbs
SIM=$O/test/ccunlock-sim
# shellcheck disable=SC2034
CLIENT=$O/test/kbs-sim-client

# shellcheck source=../lib/tls.sh
. tests/lib/tls.sh
# shellcheck source=../lib/broker.sh
. tests/lib/broker.sh

# start_broker DIR: serve in the background; sets BROKER_PID and PORT.
start_broker() {
	rm -f "$1/port"
	"$KBS" serve --config "$1/broker.conf" 2>>"$1/serve.log" &
	# shellcheck disable=SC2034
	BROKER_PID=$!
	_i=0
	# a broker that exits has failed; one still starting on a busy host
	# gets up to 600 polls (60 s and more)
	while [ ! -s "$1/port" ] && [ $_i -lt 600 ] && kill -0 "$BROKER_PID" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	PORT=$(cat "$1/port" 2>/dev/null)
	[ -n "$PORT" ]
}

# setup_broker DIR: TLS, simulator, admin key, init, policy "open".
setup_broker() {
	ccu_make_tls "$1" &&
		"$SIM" init "$1/sim" >/dev/null &&
		"$KBS" admin-keygen --out "$1/admin" >/dev/null &&
		ccu_broker_conf "$1" &&
		"$KBS" init --config "$1/broker.conf" >/dev/null &&
		printf 'measurement = any\n' >"$1/open.policy" &&
		"$KBS" policy set open "$1/open.policy" --config "$1/broker.conf" >/dev/null
}
