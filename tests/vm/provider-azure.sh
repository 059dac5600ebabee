# shellcheck shell=sh
# VM harness provider for Azure confidential-VM boots (tests/vm/50-azure-vtpm.sh):
# the real binaries as in provider-real.sh (whose interface this implements),
# with `evidence = azure-vtpm`. The guest's TPM is swtpm (a tpm-crb device
# through VM_TPM, see tests/vm/lib.sh), provisioned once by
# tests/lib/azure-vtpm.sh as Azure's vTPM (AK at 0x81000003, the HCL report
# NV index 0x01400001) and copied fresh for every boot. Nothing in a VM
# plays Microsoft's paravisor, so the test build's simulated paravisor
# (src/testonly/guest/azure_paravisor_sim.c) writes the HCL report when the guest has
# written REPORT_DATA; its vm-configuration comes from the image's
# /etc/ccunlock/sim/azure-vm.
#
# Image variants: main (secure boot on, console off), console (the VM's
# serial console is enabled), replay (the guest sends evidence for an earlier
# session's binding). Broker modes: allow (pcr.0/4/7 as a known-good boot
# of the kernel with that vTPM read them from it, azure.secure_boot =
# required, azure.console = forbidden, azure.vm_id), deny-pcr (pcr.7 pinned
# to another value).
#
# shellcheck disable=SC2034 # read by tests/vm/lib.sh
# shellcheck source=provider-real.sh
. "$VM_TOP/tests/vm/provider-real.sh"
VM_PROVIDER_NAME="ccunlock (test build, azure-vtpm over swtpm, simulated paravisor) + ccunlock-kbs"
VM_AZ_VTPM=$VM_TOP/tests/lib/azure-vtpm.sh
VM_AZ_VM_ID=5E1A7C00-0000-4000-8000-00000000A2E0
VM_AZ_PCRS="0 4 7" # firmware, boot loader, Secure Boot state
VM_AZ_PORT_TRIES=5
VM_AZ_SOCK_WAIT=100 # tenths of a second
VM_TPM=vm_az_tpm

vm_provider_check() {
	for vm_az_t in swtpm tpm2_pcrread tpm2_nvdefine; do
		if ! command -v "$vm_az_t" >/dev/null 2>&1; then
			echo "$vm_az_t missing (swtpm, tpm2-tools: tools/deps.sh check)"
			return 1
		fi
	done
	vm_rp_missing=
	for vm_az_f in "$VM_RP_GUEST" "$VM_RP_SIM" "$VM_RP_KBS"; do
		[ -x "$vm_az_f" ] || vm_rp_missing="$vm_rp_missing $vm_az_f"
	done
	if [ -n "$vm_rp_missing" ]; then
		echo "ccunlock binaries not built yet:$vm_rp_missing"
		return 1
	fi
	return 0
}

# vm_az_provision DIR: the vTPM state every boot starts from, in DIR/state.
vm_az_provision() {
	vm_az_n=0
	while :; do
		# swtpm takes the port and the next (its control channel)
		vm_az_port=$(ccu_free_port 2) || return 1
		"$VM_AZ_VTPM" start "$1" "$vm_az_port" >&2 && break
		"$VM_AZ_VTPM" stop "$1"
		vm_az_n=$((vm_az_n + 1))
		[ "$vm_az_n" -lt "$VM_AZ_PORT_TRIES" ] || return 1
	done
	# What Azure has there at boot is an older report; zeros until the
	# paravisor writes one (the guest only needs the index to exist).
	head -c 2048 /dev/zero >"$1/hcl-empty.bin"
	"$VM_AZ_VTPM" hcl "$1" "$vm_az_port" "$1/hcl-empty.bin" >&2 || return 1
	"$VM_AZ_VTPM" stop "$1"
	[ -s "$1/state/tpm2-00.permall" ]
}

# vm_az_calibrate DIR: the known-good boot an owner does before writing the
# policy (docs/azure.md): the kernel boots once with a copy of the
# provisioned vTPM and a minimal initramfs that prints the sha256 PCRs the
# firmware (SeaBIOS measures itself, its tables and option ROMs into PCRs
# 0-7) left, from /sys/class/tpm/tpm0/pcr-sha256/N; into DIR/pcr.N. The
# machine is the one tests/vm/lib.sh boots (memory, NIC and its option ROM).
vm_az_calibrate() {
	vm_az_r=$1/cal-root
	rm -rf "$vm_az_r"
	mkdir -p "$vm_az_r/bin" "$vm_az_r/sys" "$vm_az_r/dev" || return 1
	cp "$(command -v busybox)" "$vm_az_r/bin/busybox" || return 1
	{
		echo '#!/bin/busybox sh'
		echo '/bin/busybox mount -t sysfs sysfs /sys'
		echo "for i in $VM_AZ_PCRS; do"
		# shellcheck disable=SC2016 # expanded by the guest's shell
		echo '	echo "CCU-PCR $i $(/bin/busybox cat /sys/class/tpm/tpm0/pcr-sha256/$i)"'
		echo 'done'
		echo '/bin/busybox poweroff -f'
	} >"$vm_az_r/init"
	chmod 755 "$vm_az_r/init"
	(cd "$vm_az_r" && find . | cpio -o -H newc --quiet) >"$1/cal.img" || return 1
	vm_az_sock=$(vm_az_tpm start "$1/cal") || return 1
	timeout "$VM_TIMEOUT" qemu-system-x86_64 -nodefaults -display none -no-reboot -accel tcg \
		-m "$VM_MEM" -smp 1 -serial "file:$1/cal.console" -kernel "$VM_VMLINUZ" \
		-initrd "$1/cal.img" -append "console=ttyS0 panic=-1 no_timer_check" \
		-chardev "socket,id=chrtpm,path=$vm_az_sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
		-device tpm-crb,tpmdev=tpm0 -nic user,model=virtio-net-pci -device virtio-rng-pci \
		>"$1/cal.qemu.log" 2>&1
	vm_az_tpm stop "$1/cal"
	for vm_az_i in $VM_AZ_PCRS; do
		tr -d '\r' <"$1/cal.console" |
			awk -v i="$vm_az_i" '$1 == "CCU-PCR" && $2 == i { print tolower($3) }' >"$1/pcr.$vm_az_i"
		grep -Eqx '[0-9a-f]{64}' "$1/pcr.$vm_az_i" || return 1
	done
}

vm_provider_setup() {
	VM_RP=${1:?vm_provider_setup needs a directory}
	"$VM_RP_SIM" init "$VM_RP/sim" --product genoa >&2 || return 1
	ccu_make_tls "$VM_RP" "IP:10.0.2.2,IP:127.0.0.1,DNS:$VM_BROKER_NAME" || return 1
	"$VM_RP_KBS" admin-keygen --out "$VM_RP/admin" >&2 || return 1
	ccu_broker_conf "$VM_RP" "127.0.0.1:$VM_PORT"
	# Azure evidence carries the VCEK alone: ASK and ARK from the cache.
	mkdir -p "$VM_RP/certs/genoa"
	cp "$VM_RP/sim/ask.pem" "$VM_RP/sim/ark.pem" "$VM_RP/certs/genoa/" || return 1
	echo "cert_cache = $VM_RP/certs" >>"$VM_RP/broker.conf"
	"$VM_RP_KBS" init --config "$VM_RP/broker.conf" >&2 || return 1
	VM_AZ_TPM=$VM_RP/vtpm
	mkdir -p "$VM_AZ_TPM"
	vm_az_provision "$VM_AZ_TPM" || {
		vm_log "swtpm provisioning failed"
		return 1
	}
	vm_az_calibrate "$VM_AZ_TPM" || {
		vm_log "no PCR values from the known-good boot ($VM_AZ_TPM/cal.console)"
		return 1
	}
	vm_log "PCRs of the known-good boot: $(for vm_az_i in $VM_AZ_PCRS; do
		printf 'pcr.%s=%s ' "$vm_az_i" "$(cat "$VM_AZ_TPM/pcr.$vm_az_i")"; done)"
	for vm_az_mode in allow deny-pcr; do
		{
			echo "# VM test policy (azure-vtpm, $vm_az_mode)"
			echo "measurement = any"
			echo "vmpl = 0"
			for vm_az_i in $VM_AZ_PCRS; do
				vm_az_v=$(cat "$VM_AZ_TPM/pcr.$vm_az_i")
				if [ "$vm_az_mode" = deny-pcr ] && [ "$vm_az_i" = 7 ]; then
					vm_az_v=$(printf 'another boot chain' | sha256sum | cut -d' ' -f1)
				fi
				echo "pcr.$vm_az_i = $vm_az_v"
			done
			echo "azure.secure_boot = required"
			echo "azure.console = forbidden"
			echo "azure.vm_id = $VM_AZ_VM_ID"
		} >"$VM_RP/policy-$vm_az_mode"
	done
}

# vm_az_tpm start|stop CASE_PREFIX (VM_TPM): a fresh copy of the provisioned
# vTPM for one boot, served on a unix control socket for QEMU.
vm_az_tpm() {
	vm_az_d=$2.tpm
	case $1 in
	start)
		rm -rf "$vm_az_d"
		mkdir -p "$vm_az_d"
		cp "$VM_AZ_TPM/state/"* "$vm_az_d/" || return 1
		swtpm socket --tpm2 --tpmstate dir="$vm_az_d" \
			--ctrl type=unixio,path="$vm_az_d/sock" --pid file="$vm_az_d/pid" \
			--log file="$vm_az_d/log" --terminate --daemon >&2 || return 1
		vm_az_n=0
		while ! [ -S "$vm_az_d/sock" ]; do
			vm_az_n=$((vm_az_n + 1))
			[ "$vm_az_n" -lt "$VM_AZ_SOCK_WAIT" ] || return 1
			sleep 0.1
		done
		echo "$vm_az_d/sock"
		;;
	stop)
		[ -f "$vm_az_d/pid" ] && kill "$(cat "$vm_az_d/pid")" 2>/dev/null
		return 0
		;;
	esac
}

vm_provider_conf() {
	cp "$VM_RP/ca.pem" "$1/broker-ca.pem"
	cp -R "$VM_RP/sim" "$1/sim"
	{
		echo "# simulated paravisor: the VM configuration (variant $2)"
		echo "secure_boot = yes"
		if [ "$2" = console ]; then
			echo "console_enabled = yes"
		else
			echo "console_enabled = no"
		fi
		echo "vm_id = $VM_AZ_VM_ID"
		if [ "$2" = replay ]; then
			# An earlier session's REPORT_DATA (SHA-384 binding, 16 zero bytes):
			# the quote and HCL report for it are genuine, the session is not.
			printf 'replay_binding = %s%032d\n' \
				"$(printf 'an earlier KBS session' | sha384sum | cut -d' ' -f1)" 0
		fi
	} >"$1/sim/azure-vm"
	{
		echo "# VM test configuration (azure-vtpm, variant $2)"
		echo "broker_url = $3"
		echo "broker_ca = /etc/ccunlock/broker-ca.pem"
		echo "deadline = 60"
		echo "evidence = azure-vtpm"
		echo "simulator_dir = /etc/ccunlock/sim"
	} >"$1/ccunlock.conf"
}
