# shellcheck shell=sh
# VM harness provider for the real binaries: the test build of the guest
# binary ($O/test/ccunlock, which accepts `evidence = simulator`), the
# simulator tool ($O/test/ccunlock-sim) and the broker ($O/ccunlock-kbs).
#
# A provider is sourced by tests/vm/lib.sh and defines:
#
#   vm_provider_check            print why it cannot run and return 1, or
#                                return 0 (and set VM_PROVIDER_NAME)
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
#                                release that key for the main variant
#   vm_provider_broker_run MODE PORT
#                                exec the broker in the foreground on
#                                127.0.0.1:PORT (the harness kills it by PID).
#                                MODE allow: releases to the main variant;
#                                deny-measurement: its policy allows another
#                                launch measurement only
#
# The harness does the rest generically (disks, the "other" disk that shares
# the UUID and token but not the key, images, boots, console checks).
#
# WIRING: the lines marked WIRING below assume interfaces that did not exist
# when this file was written (ccunlock-kbs serve and its configuration, the
# simulator's guest-policy knob). Until they do, vm_provider_check explains
# what is missing and the VM suite is skipped (or runs on a local stand-in).

# shellcheck disable=SC2034 # read by tests/vm/lib.sh
VM_PROVIDER_NAME="ccunlock (test build) + ccunlock-kbs"
VM_RP_GUEST=$VM_O/test/ccunlock
VM_RP_SIM=$VM_O/test/ccunlock-sim
VM_RP_KBS=$VM_O/ccunlock-kbs
VM_RP_RESOURCE=default/disk/root

vm_provider_check() {
	vm_rp_missing=
	[ -x "$VM_RP_GUEST" ] || vm_rp_missing="$vm_rp_missing $VM_RP_GUEST"
	[ -x "$VM_RP_SIM" ] || vm_rp_missing="$vm_rp_missing $VM_RP_SIM"
	[ -x "$VM_RP_KBS" ] || vm_rp_missing="$vm_rp_missing $VM_RP_KBS"
	if [ -n "$vm_rp_missing" ]; then
		echo "ccunlock binaries not built yet:$vm_rp_missing"
		return 1
	fi
	# WIRING: the broker's server command.
	if ! "$VM_RP_KBS" serve --help >/dev/null 2>&1; then
		echo "ccunlock-kbs has no 'serve' command yet (tests/vm/provider-real.sh is not wired)"
		return 1
	fi
	if ! "$VM_RP_GUEST" enroll --help >/dev/null 2>&1; then
		echo "ccunlock has no 'enroll' command yet (tests/vm/provider-real.sh is not wired)"
		return 1
	fi
	return 0
}

vm_provider_guest_bin() {
	echo "$VM_RP_GUEST"
}

vm_provider_setup() {
	VM_RP=$1
	# The simulated SEV-SNP platform (test ARK -> ASK -> VCEK), as make demo does.
	"$VM_RP_SIM" init "$VM_RP/sim" --product genoa >&2 || return 1
	# The broker's TLS identity, signed by a CA the image pins.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=ccunlock-vm-test-ca -keyout "$VM_RP/ca.key" -out "$VM_RP/ca.pem" 2>/dev/null ||
		return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=broker \
		-keyout "$VM_RP/broker.key" -out "$VM_RP/broker.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:10.0.2.2,IP:127.0.0.1\n' >"$VM_RP/san.ext"
	openssl x509 -req -in "$VM_RP/broker.csr" -CA "$VM_RP/ca.pem" -CAkey "$VM_RP/ca.key" \
		-CAcreateserial -days 2 -extfile "$VM_RP/san.ext" -out "$VM_RP/broker.pem" 2>/dev/null ||
		return 1
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VM_RP/admin.key"
	# WIRING: the launch measurement the simulated guest reports, and the
	# broker's configuration (store, master key, admin key, trusted test ARK,
	# TLS identity) and per-mode policies (docs/policy.md).
	VM_RP_MEAS=$(printf 'ccunlock VM test image' | sha384sum | cut -d' ' -f1)
	VM_RP_OTHER_MEAS=$(printf 'some other image' | sha384sum | cut -d' ' -f1)
	mkdir -p "$VM_RP/state"
	for vm_rp_mode in allow deny-measurement; do
		vm_rp_m=$VM_RP_MEAS
		[ "$vm_rp_mode" = deny-measurement ] && vm_rp_m=$VM_RP_OTHER_MEAS
		cat >"$VM_RP/policy-$vm_rp_mode" <<EOF
# VM test policy ($vm_rp_mode)
measurement = $vm_rp_m
vmpl = 0
EOF
	done
}

vm_provider_conf() {
	cp "$VM_RP/ca.pem" "$1/broker-ca.pem"
	cp -R "$VM_RP/sim" "$1/sim"
	# WIRING: how the test build's simulated guest is told its launch
	# measurement and guest policy (debug variant: policy 0xb0000, the
	# DEBUG bit 19 set, as `ccunlock-sim report --policy` in make demo).
	vm_rp_policy=0x30000
	[ "$2" = debug ] && vm_rp_policy=0xb0000
	printf 'measurement = %s\npolicy = %s\n' "$VM_RP_MEAS" "$vm_rp_policy" >"$1/sim/guest.conf"
	cat >"$1/ccunlock.conf" <<EOF
# VM test configuration (variant $2)
broker_url = $3
broker_ca = /etc/ccunlock/broker-ca.pem
deadline = 60
evidence = simulator
simulator_dir = /etc/ccunlock/sim
EOF
}

vm_provider_enroll() {
	# `ccunlock enroll` stores the new key at the broker (admin API), so the
	# broker runs meanwhile; the harness's port is free at this point.
	vm_rp_port=$VM_PORT
	vm_provider_broker_run allow "$vm_rp_port" >"$VM_RP/enroll-broker.log" 2>&1 &
	vm_rp_pid=$!
	vm_rp_n=0
	while [ -z "$(ss -Htln "sport = :$vm_rp_port" 2>/dev/null)" ] && [ "$vm_rp_n" -lt 100 ]; do
		sleep 0.1
		vm_rp_n=$((vm_rp_n + 1))
	done
	# WIRING: how enroll finds the broker and authenticates (documented:
	# --resource, --admin-key, --keyslot; the URL/CA options are assumed).
	CCUNLOCK_RECOVERY_KEY_FILE=$2 "$VM_RP_GUEST" enroll "$1" --resource "$VM_RP_RESOURCE" \
		--admin-key "$VM_RP/admin.key" --keyslot 1 \
		--broker-url "https://127.0.0.1:$vm_rp_port" --broker-ca "$VM_RP/ca.pem"
	vm_rp_rc=$?
	kill "$vm_rp_pid" 2>/dev/null
	wait "$vm_rp_pid" 2>/dev/null
	return "$vm_rp_rc"
}

vm_provider_broker_run() {
	# WIRING: the broker's server command line.
	exec "$VM_RP_KBS" serve --listen "127.0.0.1:$2" --tls-cert "$VM_RP/broker.pem" \
		--tls-key "$VM_RP/broker.key" --state "$VM_RP/state" --admin-key "$VM_RP/admin.key" \
		--trusted-ark "$VM_RP/sim/ark.pem" --policy "$VM_RP/policy-$1"
}
