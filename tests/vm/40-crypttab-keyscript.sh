#!/bin/sh
# Whole boots of an initramfs-tools image in which Debian's cryptsetup-initramfs
# opens the root from /etc/crypttab through keyscript=ccunlock-keyscript (the
# compatibility path for existing crypttab setups), under QEMU (TCG). The
# crypttab names the volume ks_root, not ccunlock.conf's name: the hand-over
# guard must recognise it. See tests/vm/lib.sh.
. "$(dirname "$0")/lib.sh"

vm_setup crypttab-keyscript
vm_image ks itools-keyscript

vm_plan 6
vm_case ks good allow root "keyscript: cryptroot opens the root with the released key" \
	"root=/dev/mapper/$VM_KS_NAME"
# A refusal powers off from the keyscript itself, within the deadline: not
# after cryptroot's retries and its wait for the root device.
vm_case ks good deny-measurement 'refuse:ccunlock: DENIED: no key for /dev/vda' \
	"keyscript: policy denies the measurement: powered off at once, no retries, no prompt" \
	"root=/dev/mapper/$VM_KS_NAME" rd.ccunlock.deadline=10
vm_case ks other allow 'refuse:ccunlock: WRONG_KEY: no key for /dev/vda' \
	"keyscript: key for another disk: powered off, nothing mounted" \
	"root=/dev/mapper/$VM_KS_NAME" rd.ccunlock.deadline=10
vm_case ks good down 'refuse:ccunlock: NETWORK: no key for /dev/vda' \
	"keyscript: broker down for the whole deadline: powered off" \
	"root=/dev/mapper/$VM_KS_NAME" rd.ccunlock.deadline=10
vm_case ks good allow "refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*cryptopts=" \
	"keyscript: cryptopts= naming /bin/sh as keyscript: refused before cryptroot" \
	"root=/dev/mapper/$VM_KS_NAME" cryptopts=target=pwn,source=/dev/vda,keyscript=/bin/sh
vm_shell_summary
vm_finish
