#!/bin/sh
# Whole boots of an initramfs-tools image in which Debian's cryptsetup-initramfs
# would open the root from /etc/crypttab through keyscript=ccunlock-keyscript,
# under QEMU (TCG): refused, since cryptsetup would read the LUKS2 header
# from the disk again instead of using the copy ccunlock validated. The
# crypttab names the volume ks_root, not ccunlock.conf's name: the hand-over
# guard must recognise it. See tests/vm/lib.sh.
. "$(dirname "$0")/lib.sh"

vm_setup crypttab-keyscript
vm_image ks itools-keyscript

vm_plan 3
# cryptroot would open the root with the header cryptsetup reads from the
# disk itself, not the copy ccunlock checked (the host could serve another):
# the keyscript refuses, before any network traffic, and the boot powers off
# from the adapter. The image builder must let ccunlock unlock the root.
vm_case ks good allow 'refuse:ccunlock: LUKS_HEADER_REFUSED: keyscript mode' \
	"keyscript: refused (cryptsetup would open the disk's unchecked header): powered off" \
	"root=/dev/mapper/$VM_KS_NAME" rd.ccunlock.deadline=10
vm_case ks good allow "refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*cryptopts=" \
	"keyscript: cryptopts= naming /bin/sh as keyscript: refused before cryptroot" \
	"root=/dev/mapper/$VM_KS_NAME" cryptopts=target=pwn,source=/dev/vda,keyscript=/bin/sh
vm_shell_summary
vm_finish
