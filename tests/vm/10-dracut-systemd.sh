#!/bin/sh
# Whole boots of a dracut 059 *systemd* initramfs (Debian 12's default
# flavour) with the ccunlock module, under QEMU (TCG). See tests/vm/lib.sh.
. "$(dirname "$0")/lib.sh"

vm_setup dracut-systemd
vm_image sd dracut-systemd main+device  # `device = UUID=...` configured
vm_image sd-debug dracut-systemd debug  # the simulated guest policy allows debugging
vm_image sd-host dracut-systemd main+device+hostonly  # hostonly, root in the host's crypttab
vm_image sd-fb dracut-systemd main+device+fallback    # built with FALLBACK_PROMPT=yes
vm_image sd-name dracut-systemd main+device+name      # broker_url by host name (/etc/hosts)

vm_plan 17
vm_case sd good allow root "good boot: unlocked, root reached"
vm_case sd good down 'refuse:ccunlock: [A-Z_]*(UNREACHABLE|NETWORK)[A-Z_]*: ' \
	"broker down for the whole deadline: powered off" rd.ccunlock.deadline=10
vm_case sd good late:2 root "broker down for the first two attempts, then up: the guest retries and boots"
vm_case sd-debug good allow 'refuse:ccunlock: [A-Z_]*DENIED[A-Z_]*: .*[Dd][Ee][Bb][Uu][Gg]' \
	"policy denies a guest whose policy allows debugging"
vm_case sd other allow 'refuse:ccunlock: LUKS_HEADER_REFUSED: .*not the one enrolled' \
	"key for another disk: powered off, nothing mounted"
vm_case sd good allow 'refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*rd\.shell' "rd.shell=1 refused" rd.shell=1
vm_case sd good allow 'refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*rd\.break' \
	"rd.break=pre-mount refused" rd.break=pre-mount
vm_case sd good allow 'refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*init=' "init=/bin/sh refused" init=/bin/sh
vm_case sd good allow 'refuse:ccunlock: EMERGENCY: ' \
	"rd.break=cmdline (before the unlock): emergency powers off" rd.break=cmdline
vm_case sd good allow 'refuse:ccunlock: EMERGENCY: ' \
	"rd.systemd.unit=emergency.target: the emergency unit powers off" rd.systemd.unit=emergency.target
vm_case sd good allow root \
	"rd.luks.uuid= for the volume: dracut's crypt unit does not prompt" rd.luks.uuid=@UUID@
vm_case sd-host good allow root \
	"hostonly build, the root in crypttab: dracut's crypt unit does not prompt, ccunlock unlocks"
vm_case sd-fb good down fallback \
	"FALLBACK_PROMPT=yes build, broker down: the passphrase prompt opens the root" rd.ccunlock.deadline=10
vm_case sd good+decoy allow 'refuse:ccunlock: ROOT_MISMATCH: .*/dev/vdb' \
	"root=/dev/vdb (the provider's disk): refused after the unlock, before the hand-over" root=/dev/vdb
vm_case sd-name good allow root \
	"broker by host name, mapped in the image's /etc/hosts (static binary): root reached"
vm_case sd nullhdr allow 'refuse:ccunlock: LUKS_HEADER_REFUSED: .*cipher_null' \
	"the host rewrote the header (null cipher, plaintext root): refused before activation" \
	rd.ccunlock.deadline=20
vm_shell_summary
vm_finish
