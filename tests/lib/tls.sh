# shellcheck shell=sh
# Test TLS material with the openssl CLI, shared by the integration tests,
# the VM harness, the benches and the demo.

# ccu_make_tls DIR [SAN]: DIR/ca.pem (+ ca.key), a CA the client pins, and
# DIR/server.pem + DIR/server.key, the broker's certificate for SAN
# (default "IP:127.0.0.1"). P-256 keys, valid two days. Returns non-zero
# when openssl fails.
ccu_make_tls() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$1/ca.key" -out "$1/ca.pem" -subj /CN=ccunlock-test-ca >/dev/null 2>&1 &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$1/server.key" -out "$1/server.csr" -subj /CN=ccunlock-broker \
			>/dev/null 2>&1 &&
		printf 'subjectAltName=%s\n' "${2:-IP:127.0.0.1}" >"$1/server.ext" &&
		openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
			-CAcreateserial -out "$1/server.pem" -days 2 -extfile "$1/server.ext" \
			>/dev/null 2>&1
}
