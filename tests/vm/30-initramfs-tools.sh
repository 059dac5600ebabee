#!/bin/sh
# Whole boots of an initramfs-tools (mkinitramfs) image with ccunlock's hook
# and boot scripts, under QEMU (TCG). See tests/vm/lib.sh.
. "$(dirname "$0")/lib.sh"

vm_setup initramfs-tools
vm_image it itools
vm_image it-fb itools main+device+fallback  # built with FALLBACK_PROMPT=yes
vm_image it-name itools main+name           # broker_url by host name (/etc/hosts)

vm_plan 10
vm_case it good allow root "good boot: unlocked, root reached"
vm_case it good down 'refuse:ccunlock: [A-Z_]*(UNREACHABLE|NETWORK)[A-Z_]*: ' \
	"broker down for the whole deadline: powered off" rd.ccunlock.deadline=10
vm_case it good allow 'refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*init=' "init=/bin/sh refused" init=/bin/sh
vm_case it good allow 'refuse:ccunlock: PANIC: ' "break=top (before the unlock): panic powers off" break=top
vm_case it-fb good down fallback \
	"FALLBACK_PROMPT=yes build, broker down: the passphrase prompt opens the root" rd.ccunlock.deadline=10
vm_case it good+decoy allow 'refuse:ccunlock: ROOT_MISMATCH: .*/dev/vdb' \
	"root=/dev/vdb (the provider's disk): refused after the unlock, before run-init" root=/dev/vdb
vm_case it good allow "refuse:ccunlock: CMDLINE_REFUSED[A-Z_]*: .*cryptopts=" \
	"cryptopts= (a crypttab of the provider's): refused" \
	cryptopts=target=pwn,source=/dev/vda,keyscript=/bin/sh
vm_case it-name good allow root \
	"broker by host name, mapped in the image's /etc/hosts (static binary): root reached"
vm_case it nullhdr allow 'refuse:ccunlock: LUKS_HEADER_REFUSED: .*cipher_null' \
	"the host rewrote the header (null cipher, plaintext root): refused before activation" \
	rd.ccunlock.deadline=20
vm_shell_summary
vm_finish
