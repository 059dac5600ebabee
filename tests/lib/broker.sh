# shellcheck shell=sh
# A test broker's configuration, shared by the integration tests, the VM
# harness, the benches and the demo.

# ccu_broker_conf DIR [LISTEN]: DIR/broker.conf for a ccunlock-kbs whose
# state lives in DIR: TLS from ccu_make_tls (tests/lib/tls.sh), the
# simulator's ARK in DIR/sim, the admin key DIR/admin.pub, the database
# DIR/broker.db, the audit log DIR/audit.jsonl, no KDS fetch. LISTEN defaults to
# 127.0.0.1:0; the port the broker then picks is written to DIR/port.
ccu_broker_conf() {
	{
		echo "listen = ${2:-127.0.0.1:0}"
		[ -n "${2:-}" ] || echo "port_file = $1/port"
		echo "tls_cert = $1/server.pem"
		echo "tls_key = $1/server.key"
		echo "database = $1/broker.db"
		echo "master_key = $1/master.key"
		echo "admin_public_key = $1/admin.pub"
		echo "trusted_root = $1/sim/ark.pem"
		echo "audit_log = $1/audit.jsonl"
		# air-gapped: no AMD key server (the default fetches from it)
		echo "kds_fetch = no"
	} >"$1/broker.conf"
}

# Polls for a starting broker's port file: 600 x 0.1 s.
CCU_BROKER_PORT_POLLS=600

# ccu_broker_port DIR PID: the port the broker PID wrote to DIR/port, once it
# is there. A broker that exits has failed at once; a slow start on a busy
# host is no failure (bounded by CCU_BROKER_PORT_POLLS). Prints nothing and
# fails when there is no port.
ccu_broker_port() {
	ccu_bp_i=0
	while [ ! -s "$1/port" ] && [ "$ccu_bp_i" -lt "$CCU_BROKER_PORT_POLLS" ] &&
		kill -0 "$2" 2>/dev/null; do
		sleep 0.1
		ccu_bp_i=$((ccu_bp_i + 1))
	done
	[ -s "$1/port" ] && cat "$1/port"
}
