# shellcheck shell=sh
# ccunlock-keyscript.sh: the crypttab keyscript adapter's functions
# (keyscripts/ccunlock-keyscript sources lib/ccunlock-lib.sh, then this
# file). Runs where cryptsetup runs keyscripts: cryptroot in an
# initramfs-tools image, or cryptdisks on a running system. Same rules as
# ccunlock-lib.sh: POSIX sh, functions only, no `exit`, no `set -e`.

# ---------------------------------------------------------------- keyscript

# ccu_keyscript: crypttab keyscript=ccunlock-keyscript. stdout carries the
# key and nothing else: the binary writes the key only on success, and every
# other word (ours and the binary's) goes to stderr, the console or the kernel
# log. On refusal nothing reaches stdout; inside an initramfs the boot then
# fails closed here, with the reason, instead of going back to cryptroot
# (which would retry, wait for the root and only then reach the panic
# guard); on a running system the status is non-zero.
ccu_keyscript() {
	if [ "${CRYPTTAB_TRIED:-0}" != 0 ]; then
		# the binary checked the key against the keyslot before printing it,
		# and a refusal is final: it already retried within its deadline
		ccu_ks_fallback && return 0
		ccu_ks_refuse KEYSCRIPT 1 "cryptsetup asked again (attempt $((CRYPTTAB_TRIED + 1))); not asking the broker twice"
		return
	fi
	if ! [ -x "$CCU_BIN" ]; then
		ccu_ks_fallback && return 0
		ccu_ks_refuse MISSING_BINARY 1 "$CCU_BIN is not installed"
		return
	fi
	ccu_log 6 "starting the attested unlock (crypttab keyscript for ${CRYPTTAB_NAME:-a volume})"
	ccu_prepare >&2
	ccu_run_binary keyscript
	ccu_ks_rc=$?
	[ "$ccu_ks_rc" -eq 0 ] && return 0
	ccu_ks_fallback && return 0
	# the binary has logged its reason; off an initramfs that is all
	ccu_in_initramfs || return "$ccu_ks_rc"
	ccu_fail_closed "$(ccu_exit_name "$ccu_ks_rc")" \
		"no key for ${CRYPTTAB_SOURCE:-the disk} (ccunlock exit status $ccu_ks_rc)" >&2
}

# ccu_in_initramfs: this is an initramfs (dracut writes /etc/initrd-release,
# initramfs-tools has /conf/initramfs.conf).
ccu_in_initramfs() {
	for ccu_ii_f in $CCU_INITRD_MARKERS; do
		[ -e "$ccu_ii_f" ] && return 0
	done
	return 1
}

# ccu_ks_refuse CODE STATUS DETAIL: the keyscript's refusal. In an initramfs
# it fails closed (never returns); elsewhere it logs and returns STATUS.
ccu_ks_refuse() {
	if ccu_in_initramfs; then
		ccu_fail_closed "$1" "$3" >&2
	fi
	ccu_log 3 "$1: $3"
	return "$2"
}

# ccu_ks_fallback: no passphrase prompt in keyscript mode, not even in
# FALLBACK_PROMPT=yes builds: cryptroot would open the disk with its own,
# unchecked LUKS2 header (the same reason the keyscript itself is refused).
ccu_ks_fallback() {
	[ "$CCU_FALLBACK_PROMPT" = yes ] || return 1
	ccu_log 3 "FALLBACK: no passphrase prompt in keyscript mode: cryptsetup would open ${CRYPTTAB_SOURCE:-the disk} with its own, unchecked LUKS2 header" >&2
	return 1
}
