# shellcheck shell=sh
# A throw-away PostgreSQL 15 server for tests and benches: initdb + pg_ctl
# in a temporary directory, listening only on a unix socket there (no TCP).
# PostgreSQL refuses to run as root, so as root the server runs as
# $CCU_PG_USER (default nobody) with the directory handed to that user.

CCU_PG_BIN=${CCU_PG_BIN:-/usr/lib/postgresql/15/bin}

# ccu_pg_available: the server binaries are installed.
ccu_pg_available() {
	[ -x "$CCU_PG_BIN/initdb" ] && [ -x "$CCU_PG_BIN/pg_ctl" ] && [ -x "$CCU_PG_BIN/postgres" ]
}

_ccu_pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "${CCU_PG_USER:-nobody}" -- "$@"
	else
		"$@"
	fi
}

# ccu_pg_start DIR: a server with its data in DIR/pgdata and its socket in
# DIR/pgsock; superuser "ccu", trust authentication (the socket directory
# is the only way in). Sets CCU_PG_DSN to a libpq URI for database postgres.
ccu_pg_start() {
	mkdir -p "$1/pgsock" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		chown "${CCU_PG_USER:-nobody}" "$1/pgsock" || return 1
		chmod 0755 "$1"
	fi
	_ccu_pg_as "$CCU_PG_BIN/initdb" -D "$1/pgsock/data" -A trust -U ccu --no-sync \
		>"$1/pginit.log" 2>&1 || return 1
	ccu_pg_ctl "$1" start || return 1
	# shellcheck disable=SC2034 # used by the sourcing scripts
	CCU_PG_DSN="postgresql:///postgres?host=$1/pgsock&user=ccu"
}

# ccu_pg_ctl DIR start|stop|kill: start (waits until it accepts), stop
# (fast shutdown), kill (immediate shutdown: every connection is cut).
ccu_pg_ctl() {
	case $2 in
	start)
		_ccu_pg_as "$CCU_PG_BIN/pg_ctl" -D "$1/pgsock/data" -w -t 30 -l "$1/pgsock/log" \
			-o "-k $1/pgsock -c listen_addresses= -c fsync=on" start >/dev/null
		;;
	stop) _ccu_pg_as "$CCU_PG_BIN/pg_ctl" -D "$1/pgsock/data" -w -m fast stop >/dev/null ;;
	kill) _ccu_pg_as "$CCU_PG_BIN/pg_ctl" -D "$1/pgsock/data" -w -m immediate stop >/dev/null ;;
	*) return 2 ;;
	esac
}
