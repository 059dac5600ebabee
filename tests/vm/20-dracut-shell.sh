#!/bin/sh
# Whole boots of a dracut 059 *shell* (non-systemd) initramfs with the
# ccunlock module, under QEMU (TCG). See tests/vm/lib.sh.
. "$(dirname "$0")/lib.sh"

vm_setup dracut-shell
vm_image sh dracut-shell
vm_image sh-reboot dracut-shell main+reboot # built with FAIL_ACTION=reboot

vm_plan 8
vm_case sh good allow root "good boot: unlocked, root reached"
vm_case sh good deny-measurement \
	'refuse:ccunlock: [A-Z_]*DENIED[A-Z_]*: .*[Mm][Ee][Aa][Ss][Uu][Rr][Ee][Mm][Ee][Nn][Tt]' \
	"policy denies a measurement that is not allowed"
vm_case sh good allow 'refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*init=' "init=/bin/sh refused" init=/bin/sh
vm_case sh good allow 'refuse:ccunlock: EMERGENCY: ' \
	"rd.break=pre-udev (before the unlock): emergency powers off" rd.break=pre-udev
vm_case sh good allow root \
	"rd.luks.uuid= for the volume: dracut's crypt handling stays away" rd.luks.uuid=@UUID@
vm_case sh-reboot other allow 'refuse:ccunlock: LUKS_HEADER_REFUSED: .*not the one enrolled' \
	"key for another disk, FAIL_ACTION=reboot build: reboots, nothing mounted"
vm_case sh nullhdr allow 'refuse:ccunlock: LUKS_HEADER_REFUSED: .*cipher_null' \
	"the host rewrote the header (null cipher, plaintext root): refused before activation" \
	rd.ccunlock.deadline=20
vm_shell_summary
vm_finish
