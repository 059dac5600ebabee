# shellcheck shell=sh
# A fleet of ccunlock-kbs replicas on one throw-away PostgreSQL behind
# HAProxy (round-robin per request, no stickiness), for the bench. Source
# after tests/integration/broker_lib.sh, tests/lib/pg.sh and
# tests/lib/ports.sh.

# ccu_fleet_start DIR N: TLS, simulator and admin key in DIR (as
# setup_broker), PostgreSQL, N replicas sharing it, policy "open", HAProxy.
# Sets FLEET_URL, FLEET_PIDS (replicas) and FLEET_HAPROXY_PID.
ccu_fleet_start() {
	ccu_make_tls "$1" && "$SIM" init "$1/sim" >/dev/null &&
		"$KBS" admin-keygen --out "$1/admin" >/dev/null && ccu_pg_start "$1" || return 1
	FLEET_PIDS=
	_servers=
	_fr=0
	while [ "$_fr" -lt "$2" ]; do
		_fr=$((_fr + 1))
		_d=$1/r$_fr
		mkdir -p "$_d"
		{
			echo "listen = 127.0.0.1:0"
			echo "port_file = $_d/port"
			echo "tls_cert = $1/server.pem"
			echo "tls_key = $1/server.key"
			echo "store = $CCU_PG_DSN"
			echo "master_key = $_d/master.key"
			echo "admin_public_key = $1/admin.pub"
			echo "trusted_root = $1/sim/ark.pem"
			echo "audit_log = $_d/audit.jsonl"
		} >"$_d/broker.conf"
		if [ "$_fr" -eq 1 ]; then
			"$KBS" init --config "$_d/broker.conf" >/dev/null &&
				printf 'measurement = any\n' >"$1/open.policy" &&
				"$KBS" policy set open "$1/open.policy" --config "$_d/broker.conf" \
					>/dev/null || return 1
		else
			install -m 0400 "$1/r1/master.key" "$_d/master.key" || return 1
		fi
		# (start_broker has its own counter: ours is _fr)
		start_broker "$_d" || return 1
		FLEET_PIDS="$FLEET_PIDS $BROKER_PID"
		_servers="$_servers	server r$_fr 127.0.0.1:$PORT
"
	done
	_hport=$(ccu_free_port 1) || return 1
	cat "$1/server.pem" "$1/server.key" >"$1/haproxy.pem"
	cat >"$1/haproxy.cfg" <<EOC
global
	maxconn 1024
defaults
	mode http
	timeout connect 2s
	timeout client 15s
	timeout server 15s
	retries 3
	option redispatch
	option http-server-close
frontend kbs
	bind 127.0.0.1:$_hport ssl crt $1/haproxy.pem
	default_backend replicas
backend replicas
	balance roundrobin
	default-server ssl verify required ca-file $1/ca.pem check inter 500ms fall 1 rise 2
$_servers
EOC
	"${HAPROXY:-haproxy}" -f "$1/haproxy.cfg" -db >"$1/haproxy.log" 2>&1 &
	FLEET_HAPROXY_PID=$!
	# shellcheck disable=SC2034 # used by the sourcing script
	FLEET_URL=https://127.0.0.1:$_hport
	ccu_wait_listen "$_hport" "$FLEET_HAPROXY_PID" 60
}

# ccu_fleet_stop DIR
ccu_fleet_stop() {
	# shellcheck disable=SC2086 # a list of pids
	kill $FLEET_PIDS $FLEET_HAPROXY_PID 2>/dev/null
	# shellcheck disable=SC2086
	wait $FLEET_PIDS $FLEET_HAPROXY_PID 2>/dev/null
	ccu_pg_ctl "$1" kill 2>/dev/null
}
