# shellcheck shell=sh
# TCP ports on 127.0.0.1 for test servers whose port must be known before
# they start (a guest image bakes its broker's URL in; HAProxy and swtpm take
# a port on the command line). Everything else binds port 0.

# Draws ccu_free_port makes before it gives up.
CCU_FREE_PORT_TRIES=100

# ccu_free_port [N]: prints a port P such that P .. P+N-1 (N defaults to 1)
# have no socket in any state. P is drawn outside the kernel's ephemeral
# range (net.ipv4.ip_local_port_range), where no outgoing connection, and no
# server bound to port 0, can take it between this choice and the bind.
ccu_free_port() {
	_fp_n=${1:-1}
	_fp_lo=32768
	_fp_hi=60999
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r _fp_lo _fp_hi </proc/sys/net/ipv4/ip_local_port_range
	fi
	if [ "$_fp_lo" -ge 12000 ]; then
		_fp_base=10000
		_fp_span=$((_fp_lo - 10000 - _fp_n))
	else
		_fp_base=$((_fp_hi + 1))
		_fp_span=$((65536 - _fp_base - _fp_n))
	fi
	if [ "$_fp_span" -lt 100 ]; then
		echo "ccu_free_port: no room outside the ephemeral ports $_fp_lo-$_fp_hi" >&2
		return 1
	fi
	_fp_t=0
	while [ "$_fp_t" -lt "$CCU_FREE_PORT_TRIES" ]; do
		_fp_t=$((_fp_t + 1))
		_fp_p=$((_fp_base + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % _fp_span))
		_fp_i=0
		while [ "$_fp_i" -lt "$_fp_n" ] &&
			[ -z "$(ss -Htan "sport = :$((_fp_p + _fp_i))" 2>/dev/null)" ]; do
			_fp_i=$((_fp_i + 1))
		done
		if [ "$_fp_i" -eq "$_fp_n" ]; then
			echo "$_fp_p"
			return 0
		fi
	done
	echo "ccu_free_port: $CCU_FREE_PORT_TRIES ports drawn, all in use" >&2
	return 1
}

# ccu_wait_listen PORT PID SECONDS: waits until something listens on
# 127.0.0.1:PORT. Fails at once when PID exits (the server failed), and once
# SECONDS have passed (a slow start on a busy host is no failure before that).
ccu_wait_listen() {
	_wl_end=$(($(date +%s) + $3))
	while [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		[ "$(date +%s)" -lt "$_wl_end" ] || return 1
		sleep 0.1
	done
	return 0
}

# ccu_start_why LOG PORT: one line on why a server logging to LOG did not
# come to listen on PORT: the log's last two lines and the sockets on PORT
# (any state, with their processes where ss may show them).
ccu_start_why() {
	_sw_log=$(tail -n 2 "$1" 2>/dev/null | tr '\n' ' ')
	_sw_pu=$(ss -Htanp "sport = :$2" 2>/dev/null | awk '{ $1 = $1; print }' | tr '\n' ';')
	echo "${_sw_log}port $2: ${_sw_pu:-no socket}"
}
