#!/bin/sh
# The boot part of `make demo`: QEMU (software emulation) boots Debian's
# kernel with a dracut initramfs (systemd flavour) that holds ccunlock (test
# build: simulated SEV-SNP platform), its dracut module and /etc/ccunlock; the
# root filesystem is LUKS2-encrypted and enrolled at ccunlock-kbs, which runs
# on this host at 127.0.0.1 (the guest reaches it as 10.0.2.2). Prints what
# the guest said on its console, the broker's decision and the time it took.
# Uses the VM test harness (tests/vm/lib.sh).
set -u
VM_TOP=$(cd "$(dirname "$0")/.." && pwd)
export VM_TOP
# shellcheck source=../tests/vm/lib.sh
. "$VM_TOP/tests/vm/lib.sh"

# vm_setup reports problems as TAP; a demo wants them plain.
vm_skip_script() {
	echo "demo: cannot boot: $1" >&2
	exit 1
}
vm_setup_failed() {
	echo "demo: cannot boot: $1 failed (see above)" >&2
	exit 1
}

echo "-- preparing: Debian kernel, simulated platform, broker state, LUKS2 disk (enrolled)"
vm_setup demo
echo "-- building the initramfs with dracut (systemd flavour, module 90ccunlock)"
vm_image demo dracut-systemd main
eval "vm_d_failed=\${VM_IMG_FAILED_$(vm_tagvar demo):-}"
[ -z "$vm_d_failed" ] || { echo "demo: initramfs: $vm_d_failed" >&2; exit 1; }
VM_CASE_PFX=$VM_D/demo
VM_LOG=$VM_CASE_PFX.console.log
VM_BROKER_LOG=$VM_CASE_PFX.broker.log
: >"$VM_BROKER_LOG"
VM_BROKER_LATE=
echo "-- ccunlock-kbs on 127.0.0.1:$VM_PORT; booting the VM (TCG, about 20-40 s)"
vm_broker_start allow || { echo "demo: the broker did not start: $VM_BROKER_LOG" >&2; exit 1; }
vm_boot "$VM_D/initrd-demo.img" "$VM_D/disk-good/disk.img" \
	"console=ttyS0 root=/dev/mapper/$VM_ROOT_NAME ro"
vm_broker_stop

echo "-- the guest's console (ccunlock's lines and the encrypted root's marker)"
# Each line once: systemd echoes the unit's output to the console next to the
# kernel log's copy, sometimes glued to another line.
tr -d '\r' <"$VM_LOG" | sed -E 's/\[ *[0-9]+\.[0-9]+\] /\n/g' |
	sed -E 's/^ccunlock-boot\[[0-9]+\]: //' | grep -aE '^(ccunlock: |CCU-ROOT-OK)' |
	awk '!seen[$0]++' | sed 's/^/   /' | head -n 30
echo "-- the broker's audit log"
tail -n 2 "$VM_D/provider/audit.jsonl" | sed 's/^/   /'
if [ -n "$VM_T_ROOT" ] && grep -aq "CCU-ROOT-OK nonce=$VM_NONCE_GOOD" "$VM_LOG"; then
	echo "-- the encrypted root was unlocked after attestation and mounted:"
	echo "   attestation started at ${VM_T_START:-?} s, root reached at $VM_T_ROOT s after QEMU started"
	echo "   (initramfs $(($(stat -c %s "$VM_D/initrd-demo.img") / 1024)) KiB; console log $VM_LOG)"
	exit 0
fi
echo "demo: the root was not reached (ended by $VM_END); see $VM_LOG" >&2
exit 1
