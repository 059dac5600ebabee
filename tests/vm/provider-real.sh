# shellcheck shell=sh
# VM harness provider for the real binaries: the test build of the guest
# binary ($O/test/ccunlock, which accepts `evidence = simulator`), the
# simulator tool ($O/test/ccunlock-sim) and the broker ($O/ccunlock-kbs).
#
# A provider is sourced by tests/vm/lib.sh and defines:
#
#   vm_provider_check            print why it cannot run and return 1, or
#                                return 0 (VM_PROVIDER_NAME names it)
#   vm_provider_setup DIR        one-time material in DIR: simulated platform,
#                                broker CA and certificate for 127.0.0.1 and
#                                10.0.2.2, admin key, broker state
#   vm_provider_guest_bin        path of the guest binary for the initramfs
#   vm_provider_conf DIR VARIANT URL
#                                write the image's /etc/ccunlock into DIR:
#                                ccunlock.conf (broker_url = URL, broker_ca and
#                                simulator_dir under /etc/ccunlock/...) and the
#                                files it names. VARIANT: main, or debug (the
#                                simulated guest's policy allows debugging)
#   vm_provider_enroll IMAGE RECOVERY_KEY
#                                give the LUKS2 file IMAGE (keyslot 0 opens
#                                with RECOVERY_KEY) a keyslot for a broker-held
#                                key and a ccunlock token; the broker must
#                                release that key to the main variant
#   vm_provider_broker_run MODE PORT
#                                exec the broker in the foreground on
#                                127.0.0.1:PORT (the harness kills it by PID)
#   vm_provider_broker_ready MODE PORT   (optional)
#                                called once the broker listens. MODE allow:
#                                release to the main variant; deny-measurement:
#                                the resource's policy allows another launch
#                                measurement only
#
# The harness does the rest generically (disks, the "other" disk that shares
# the UUID and token but not the key, images, boots, console checks).
#
# shellcheck disable=SC2034 # read by tests/vm/lib.sh
VM_PROVIDER_NAME="ccunlock (test build) + ccunlock-kbs"
# shellcheck source=../lib/tls.sh
. "$VM_TOP/tests/lib/tls.sh"
# shellcheck source=../lib/broker.sh
. "$VM_TOP/tests/lib/broker.sh"
VM_RP_GUEST=$VM_O/test/ccunlock
VM_RP_SIM=$VM_O/test/ccunlock-sim
VM_RP_KBS=$VM_O/ccunlock-kbs
VM_RP_RESOURCE=default/disk/root
VM_RP_POLICY=vmtest

vm_provider_check() {
	vm_rp_missing=
	[ -x "$VM_RP_GUEST" ] || vm_rp_missing="$vm_rp_missing $VM_RP_GUEST"
	[ -x "$VM_RP_SIM" ] || vm_rp_missing="$vm_rp_missing $VM_RP_SIM"
	[ -x "$VM_RP_KBS" ] || vm_rp_missing="$vm_rp_missing $VM_RP_KBS"
	if [ -n "$vm_rp_missing" ]; then
		echo "ccunlock binaries not built yet:$vm_rp_missing"
		return 1
	fi
	return 0
}

vm_provider_guest_bin() {
	echo "$VM_RP_GUEST"
}

vm_provider_setup() {
	VM_RP=${1:?vm_provider_setup needs a directory}
	# The simulated SEV-SNP platform (test ARK -> ASK -> VCEK), as make demo.
	"$VM_RP_SIM" init "$VM_RP/sim" --product genoa >&2 || return 1
	# The broker's TLS identity, signed by a CA the image pins.
	ccu_make_tls "$VM_RP" "IP:10.0.2.2,IP:127.0.0.1,DNS:$VM_BROKER_NAME" || return 1
	# Admin: an Ed25519 key pair (docs/kbs-admin-api.md).
	"$VM_RP_KBS" admin-keygen --out "$VM_RP/admin" >&2 || return 1
	# The broker's configuration, on the port the harness chose.
	ccu_broker_conf "$VM_RP" "127.0.0.1:$VM_PORT"
	# The master key and the sealed database.
	"$VM_RP_KBS" init --config "$VM_RP/broker.conf" >&2 || return 1
	for vm_rp_mode in allow deny-measurement; do
		vm_rp_m=$(vm_rp_measurement main)
		[ "$vm_rp_mode" = deny-measurement ] && vm_rp_m=$(vm_rp_measurement other)
		printf '# VM test policy (%s)\nmeasurement = %s\nvmpl = 0\n' "$vm_rp_mode" "$vm_rp_m" \
			>"$VM_RP/policy-$vm_rp_mode"
	done
}

# The simulated guest's launch (as make demo): Debian's OVMF, 2 vCPUs of
# QEMU's EPYC-Genoa model, guest features 0x1; "other" is the same image
# launched with 4 vCPUs. Without the ovmf package, fixed stand-in values.
VM_RP_OVMF=/usr/share/ovmf/OVMF.fd
vm_rp_launch() {
	vm_rp_n=2
	[ "$1" = main ] || vm_rp_n=4
	echo "--mode snp --ovmf $VM_RP_OVMF --vcpus $vm_rp_n --vcpu-type EPYC-Genoa"
}

# vm_rp_measurement main|other [TOOL]: the launch measurement of the
# simulated guest image, or of another image, computed by the broker's
# ccunlock-kbs measure (the owner's side) or by TOOL (the simulated
# platform, ccunlock-sim measure).
vm_rp_measurement() {
	if [ -f "$VM_RP_OVMF" ]; then
		# shellcheck disable=SC2046 # the launch is an option list
		"${2:-$VM_RP_KBS}" measure $(vm_rp_launch "$1")
	elif [ "$1" = main ]; then
		printf 'ccunlock VM test image' | sha384sum | cut -d' ' -f1
	else
		printf 'some other image' | sha384sum | cut -d' ' -f1
	fi
}

vm_provider_conf() {
	cp "$VM_RP/ca.pem" "$1/broker-ca.pem"
	cp -R "$VM_RP/sim" "$1/sim"
	# The simulated platform's launch parameters (host-controlled in a real
	# launch): the guest policy allows debugging in the debug variant
	# (0xb0000, DEBUG bit 19).
	vm_rp_policy=0x30000
	[ "$2" = debug ] && vm_rp_policy=0xb0000
	{
		echo "# VM test configuration (variant $2)"
		echo "broker_url = $3"
		echo "broker_ca = /etc/ccunlock/broker-ca.pem"
		echo "deadline = 60"
		echo "evidence = simulator"
		echo "simulator_dir = /etc/ccunlock/sim"
		echo "simulator_measurement = $(vm_rp_measurement main "$VM_RP_SIM")"
		echo "simulator_policy = $vm_rp_policy"
	} >"$1/ccunlock.conf"
}

vm_rp_b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '='
}

# vm_rp_jwt: a short-lived admin bearer token (EdDSA, docs/kbs-admin-api.md).
vm_rp_jwt() {
	vm_rp_now=$(date +%s)
	vm_rp_h=$(printf '{"alg":"EdDSA","typ":"JWT"}' | vm_rp_b64url)
	vm_rp_c=$(printf '{"iat":%s,"exp":%s}' "$vm_rp_now" $((vm_rp_now + 240)) | vm_rp_b64url)
	printf '%s.%s' "$vm_rp_h" "$vm_rp_c" >"$VM_RP/jwt.in"
	vm_rp_s=$(openssl pkeyutl -sign -inkey "$VM_RP/admin.key" -rawin -in "$VM_RP/jwt.in" |
		vm_rp_b64url) || return 1
	printf '%s.%s.%s' "$vm_rp_h" "$vm_rp_c" "$vm_rp_s"
}

# vm_rp_admin METHOD PATH [FILE]: one admin request to the running broker.
vm_rp_admin() {
	curl -sS --fail-with-body --noproxy '*' --cacert "$VM_RP/ca.pem" -X "$1" \
		-H "Authorization: Bearer $(vm_rp_jwt)" ${3:+--data-binary "@$3"} \
		"https://127.0.0.1:$VM_PORT$2"
}

vm_provider_broker_ready() {
	vm_rp_admin POST "/kbs/v0/policy/$VM_RP_POLICY" "$VM_RP/policy-$1"
}

vm_provider_enroll() {
	# `ccunlock enroll` stores the new key at the broker (admin API), so the
	# broker runs meanwhile.
	vm_provider_broker_run allow "$VM_PORT" >"$VM_RP/enroll-broker.log" 2>&1 &
	vm_rp_pid=$!
	if ! ccu_wait_listen "$VM_PORT" "$vm_rp_pid" "$VM_BROKER_START" ||
		! vm_provider_broker_ready allow "$VM_PORT" >&2; then
		echo "the enrolling broker did not start: $(ccu_start_why "$VM_RP/enroll-broker.log" "$VM_PORT")" >&2
		kill "$vm_rp_pid" 2>/dev/null
		wait "$vm_rp_pid" 2>/dev/null
		return 1
	fi
	# The enrolling host reaches the broker on its loopback address.
	printf 'broker_url = https://127.0.0.1:%s\nbroker_ca = %s\n' "$VM_PORT" "$VM_RP/ca.pem" \
		>"$VM_RP/enroll.conf"
	"$VM_RP_GUEST" --config "$VM_RP/enroll.conf" enroll "$1" --resource "$VM_RP_RESOURCE" \
		--admin-key "$VM_RP/admin.key" --keyslot 1 --existing-key-file "$2" \
		--policy "$VM_RP_POLICY"
	vm_rp_rc=$?
	kill "$vm_rp_pid" 2>/dev/null
	wait "$vm_rp_pid" 2>/dev/null
	return "$vm_rp_rc"
}

vm_provider_broker_run() {
	# MODE is applied by vm_provider_broker_ready through the admin API.
	exec "$VM_RP_KBS" serve --config "$VM_RP/broker.conf"
}
