#!/bin/sh
# dracut module "ccunlock": attested unlock of the encrypted root, fail closed.
#
# dracut sources this file (with bash); it is written in POSIX sh like the
# rest of the early-boot code. The logic lives in ccunlock-lib.sh; this file
# only tells dracut what to put into the image.
#
# Build-time environment (the image builder's; never read at boot):
#   CCUNLOCK_BIN      the guest binary          (default /usr/sbin/ccunlock)
#   CCUNLOCK_CONFDIR  its configuration         (default /etc/ccunlock)
#   CCUNLOCK_LIB      the shell library         (default /usr/lib/ccunlock/ccunlock-lib.sh)
#   CCUNLOCK_BUILD_LIB  its build-time part     (default /usr/lib/ccunlock/ccunlock-build.sh;
#                     sourced here, never put into the image)
#
# In the image:
#   systemd initrd  ccunlock.service (after network-online.target, before the
#                   root device is needed, FailureAction=poweroff-force), the
#                   emergency/rescue units replaced by a power-off, debug-shell
#                   masked, and dracut's own unit for our volume neutralised;
#   shell initrd    initqueue hooks: online/settled start the unlock in the
#                   background, finished waits for it, timeout fails closed;
#   both            emergency + shutdown-emergency hooks that power off before
#                   dracut can offer a shell, a pre-pivot guard against
#                   init=/rd.break, and command line defaults in
#                   /etc/cmdline.d/90ccunlock.conf.
# See README.md in this directory for the interplay with dracut's crypt module.

# shellcheck disable=SC2154 # initdir, moddir, systemdsystemunitdir, SYSTEMCTL: dracut's

ccu_module_lib() {
	if [ -z "${ccu_module_loaded:-}" ]; then
		# the build-time functions first: the library's settings come after
		# shellcheck source=../../lib/ccunlock-build.sh
		. "${CCUNLOCK_BUILD_LIB:-/usr/lib/ccunlock/ccunlock-build.sh}" || return 1
		# shellcheck source=../../lib/ccunlock-lib.sh
		. "${CCUNLOCK_LIB:-/usr/lib/ccunlock/ccunlock-lib.sh}" || return 1
		ccu_module_loaded=1
	fi
	return 0
}

ccu_module_bin() {
	echo "${CCUNLOCK_BIN:-/usr/sbin/ccunlock}"
}

ccu_module_confdir() {
	echo "${CCUNLOCK_CONFDIR:-/etc/ccunlock}"
}

# called by dracut
check() {
	# Installing the package changes no boot until the image builder has
	# configured it; then every image gets it (hostonly or not).
	[ -r "$(ccu_module_confdir)/ccunlock.conf" ] || return 255
	[ -x "$(ccu_module_bin)" ] || return 1
	return 0
}

# called by dracut
depends() {
	# A shell initrd cannot run systemd-networkd (dracut's default choice on a
	# host that has it): ask for the legacy handler before "network" picks.
	if dracut_module_included systemd; then
		echo "crypt dm rootfs-block network"
	else
		echo "crypt dm rootfs-block network-legacy network"
	fi
	return 0
}

# called by dracut
installkernel() {
	# The unlock needs dm-crypt and an SEV-SNP evidence interface, whatever the
	# build host runs (hostonly=''). sev-guest: /dev/sev-guest (all kernels);
	# tsm_report: configfs-tsm (6.7+, "tsm" in some trees). NIC drivers of the
	# common confidential-VM platforms come along.
	hostonly='' instmods -c dm_crypt || return 1
	if ! hostonly='' instmods -c sev-guest && ! hostonly='' instmods -c tsm_report &&
		! hostonly='' instmods -c tsm; then
		dfatal "ccunlock: the kernel has no SEV-SNP guest interface (sev-guest or tsm_report)"
		return 1
	fi
	hostonly='' instmods sev-guest tsm_report tsm virtio_net virtio_pci virtio_blk virtio_scsi \
		gve mlx5_core hv_netvsc
	# The vTPM (evidence azure-vtpm, or auto on Azure): /dev/tpmrm0 through
	# the TPM CRB or TIS driver (built into Debian's kernel, modules elsewhere).
	hostonly='' instmods tpm_crb tpm_tis
	# The ciphers of LUKS2's default aes-xts-plain64 (and the kernel crypto
	# API libcryptsetup reads keyslots through): a hostonly image built on a
	# machine that has no LUKS volume open would otherwise lack them, and
	# activation fails with "Error allocating crypto tfm".
	hostonly='' instmods xts ecb cbc essiv aesni_intel aes_generic sha256_generic sha256_ssse3 \
		algif_skcipher af_alg
	return 0
}

# called by dracut
install() {
	ccu_module_lib || {
		dfatal "ccunlock: cannot read ${CCUNLOCK_LIB:-/usr/lib/ccunlock/ccunlock-lib.sh}"
		return 1
	}
	ccu_m_bin=$(ccu_module_bin)
	ccu_m_confdir=$(ccu_module_confdir)
	ccu_m_conf=$ccu_m_confdir/ccunlock.conf
	if ! ccu_build_check "$ccu_m_bin" "$ccu_m_confdir"; then
		dfatal "ccunlock: refusing to build an initramfs that cannot unlock"
		return 1
	fi

	# The static binary alone (ccu_build_check refused a dynamic one: no
	# library is installed on its behalf), the library, the configuration + CA.
	inst_simple "$ccu_m_bin" "$CCU_BIN" || return 1
	inst_simple "${CCUNLOCK_LIB:-/usr/lib/ccunlock/ccunlock-lib.sh}" "$CCU_LIB_IMAGE" || return 1
	ccu_m_files=$(ccu_build_files "$ccu_m_confdir") || return 1
	while read -r ccu_m_src ccu_m_dst; do
		inst_simple "$ccu_m_src" "$ccu_m_dst" || {
			dfatal "ccunlock: cannot install $ccu_m_src"
			return 1
		}
	done <<EOF
$ccu_m_files
EOF
	inst_script "$moddir/ccunlock-boot.sh" /usr/lib/ccunlock/ccunlock-boot || return 1
	inst_multiple ip modprobe sleep mkdir sync || return 1
	inst_multiple -o udevadm mount timeout

	# Command line defaults (the real command line still wins; see README.md).
	mkdir -p "${initdir}/etc/cmdline.d"
	ccu_build_cmdline "$ccu_m_conf" >"${initdir}/etc/cmdline.d/90ccunlock.conf"

	# No shell, in either flavour: dracut sources these hooks before it would
	# start one (emergency with rd.shell/rd.break, shutdown-emergency without).
	inst_hook emergency 00 "$moddir/ccunlock-emergency.sh"
	inst_hook shutdown-emergency 00 "$moddir/ccunlock-emergency.sh"
	inst_hook pre-pivot 00 "$moddir/ccunlock-guard.sh"

	if [ "$CCU_FALLBACK_PROMPT" = yes ]; then
		inst_multiple cryptsetup || {
			dfatal "ccunlock: FALLBACK_PROMPT=yes needs cryptsetup on the build host"
			return 1
		}
	fi

	if dracut_module_included systemd; then
		ccu_module_install_systemd || return 1
	else
		inst_hook initqueue/online 90 "$moddir/ccunlock-online.sh"
		inst_hook initqueue/settled 90 "$moddir/ccunlock-settled.sh"
		inst_hook initqueue/finished 90 "$moddir/ccunlock-finished.sh"
		inst_hook initqueue/timeout 90 "$moddir/ccunlock-timeout.sh"
		dracut_need_initqueue
	fi
	return 0
}

ccu_module_install_systemd() {
	ccu_ms_etc=${initdir}/etc/systemd/system
	inst_simple "$moddir/ccunlock.service" "${systemdsystemunitdir}/ccunlock.service" || return 1
	mkdir -p "${ccu_ms_etc}/initrd.target.wants" "${ccu_ms_etc}/ccunlock.service.d"
	ln -sf "${systemdsystemunitdir}/ccunlock.service" "${ccu_ms_etc}/initrd.target.wants/ccunlock.service"
	printf '[Service]\nTimeoutStartSec=%s\n' "$(ccu_build_unit_timeout "$ccu_m_conf")" \
		>"${ccu_ms_etc}/ccunlock.service.d/timeout.conf"

	# Emergency and rescue end in a power-off; the debug shell cannot start.
	for ccu_ms_u in emergency.service rescue.service dracut-emergency.service; do
		mkdir -p "${ccu_ms_etc}/${ccu_ms_u}.d"
		inst_simple "$moddir/ccunlock-emergency.conf" "/etc/systemd/system/${ccu_ms_u}.d/90-ccunlock.conf" ||
			return 1
	done
	ln -sf /dev/null "${ccu_ms_etc}/debug-shell.service"

	# dracut's crypt module may have a systemd-cryptsetup@ unit for our volume
	# (hostonly crypttab, rd.luks.uuid): it would prompt for a passphrase while
	# we attest. A unit of the same name in /etc takes precedence over the
	# generator's, so the volume is left to ccunlock.service.
	ccu_build_owned_names "${dracutsysrootdir:-}/etc/crypttab" "$ccu_m_conf" | while read -r ccu_ms_name; do
		ccu_ms_esc=$(systemd-escape "$ccu_ms_name") || continue
		sed "s/@NAME@/${ccu_ms_name}/" "$moddir/ccunlock-owned.service" \
			>"${ccu_ms_etc}/systemd-cryptsetup@${ccu_ms_esc}.service"
	done

	# systemd-networkd without ip= and without the host's .network files
	# configures nothing: fall back to DHCP on Ethernet (lowest precedence).
	if dracut_module_included systemd-networkd; then
		mkdir -p "${initdir}/usr/lib/systemd/network"
		printf '%s\n' "# ccunlock: DHCP on Ethernet links nothing else configures" \
			"[Match]" "Type=ether" "" "[Network]" "DHCP=yes" \
			>"${initdir}/usr/lib/systemd/network/99-ccunlock-dhcp.network"
	fi
	if [ "$CCU_FALLBACK_PROMPT" = yes ]; then
		inst_multiple -o systemd-ask-password
	fi
	return 0
}
