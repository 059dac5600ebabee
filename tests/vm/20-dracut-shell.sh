#!/bin/sh
# Whole boots of a dracut 059 *shell* (non-systemd) initramfs with the
# ccunlock module, under QEMU (TCG). See tests/vm/lib.sh.
. "$(dirname "$0")/lib.sh"

vm_setup dracut-shell
vm_image sh dracut-shell
vm_image sh-reboot dracut-shell main+reboot # built with FAIL_ACTION=reboot

vm_plan 7
vm_case sh good allow root "good boot: unlocked, root reached"
vm_case sh good deny-measurement \
	'refuse:ccunlock: [A-Z_]*DENIED[A-Z_]*: .*[Mm][Ee][Aa][Ss][Uu][Rr][Ee][Mm][Ee][Nn][Tt]' \
	"policy denies a measurement that is not allowed"
vm_case sh good allow 'refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*init=' "init=/bin/sh refused" init=/bin/sh
vm_case sh good allow 'refuse:ccunlock: EMERGENCY: ' \
	"rd.break=pre-udev (before the unlock): emergency powers off" rd.break=pre-udev
vm_case sh good allow root \
	"rd.luks.uuid= for the volume: dracut's crypt handling stays away" rd.luks.uuid=@UUID@
vm_case sh-reboot other allow 'refuse:ccunlock: [A-Z_]*WRONG_KEY[A-Z_]*: .*; rebooting' \
	"key for another disk, FAIL_ACTION=reboot build: reboots, nothing mounted"
vm_shell_summary
vm_finish
