# shellcheck shell=sh
# ccunlock-build.sh: image build time, on the build host only. Sourced by
# modules.d/90ccunlock/module-setup.sh (dracut) and hook/hooks/ccunlock
# (mkinitramfs) before lib/ccunlock-lib.sh, whose configuration readers and
# paths it uses; never copied into an image, so none of this reaches PID 1.

# ---------------------------------------------------------------- build time

# Used on the build host by modules.d/90ccunlock/module-setup.sh and
# hook/hooks/ccunlock. Errors are "ccunlock: ..." lines on stderr and a
# non-zero status; the callers then fail the image build.

ccu_build_error() {
	echo "ccunlock: $*" >&2
}

# ccu_build_host_path IMAGE_PATH CONFDIR: where a file the image expects under
# /etc/ccunlock comes from on the build host (CCUNLOCK_CONFDIR may stage the
# configuration elsewhere); other paths are taken as they are.
ccu_build_host_path() {
	case $1 in
	/etc/ccunlock/*) echo "$2/${1#/etc/ccunlock/}" ;;
	*) echo "$1" ;;
	esac
}

# ccu_build_le FILE OFFSET COUNT: the COUNT-byte little-endian number at
# OFFSET of FILE (fails when the file is shorter).
ccu_build_le() {
	od -An -v -tu1 -j "$2" -N "$3" "$1" 2>/dev/null | awk -v want="$3" '
		{ for (i = 1; i <= NF; i++) b[n++] = $i }
		END { if (n != want) exit 1; v = 0; for (i = n - 1; i >= 0; i--) v = v * 256 + b[i]; printf "%d\n", v }'
}

# Program headers read at most: a static PIE has about a dozen.
CCU_BUILD_ELF_PHNUM_MAX=64

# ccu_build_dynamic BIN: true when BIN is an ELF file that needs a program
# interpreter (ld.so and shared libraries), or one this reader cannot judge
# (big-endian, too many program headers). The initramfs gets the guest
# binary alone, so only a statically linked one is accepted; a non-ELF file
# (a test stand-in) is not judged here.
ccu_build_dynamic() {
	[ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' \n')" = 7f454c46 ] || return 1
	[ "$(ccu_build_le "$1" 5 1)" = 1 ] || return 0
	case $(ccu_build_le "$1" 4 1) in
	2)
		ccu_bd_off=$(ccu_build_le "$1" 32 8) && ccu_bd_sz=$(ccu_build_le "$1" 54 2) &&
			ccu_bd_n=$(ccu_build_le "$1" 56 2) || return 0
		;;
	1)
		ccu_bd_off=$(ccu_build_le "$1" 28 4) && ccu_bd_sz=$(ccu_build_le "$1" 42 2) &&
			ccu_bd_n=$(ccu_build_le "$1" 44 2) || return 0
		;;
	*) return 0 ;;
	esac
	[ "$ccu_bd_n" -le "$CCU_BUILD_ELF_PHNUM_MAX" ] || return 0
	ccu_bd_i=0
	while [ "$ccu_bd_i" -lt "$ccu_bd_n" ]; do
		# p_type 3 is PT_INTERP
		ccu_bd_t=$(ccu_build_le "$1" $((ccu_bd_off + ccu_bd_i * ccu_bd_sz)) 4) || return 0
		[ "$ccu_bd_t" = 3 ] && return 0
		ccu_bd_i=$((ccu_bd_i + 1))
	done
	return 1
}

# ccu_build_check BIN CONFDIR: the binary, the configuration and every file
# it names are there. Returns 1 after listing every problem.
ccu_build_check() {
	ccu_bc_rc=0
	if ! [ -f "$1" ] || ! [ -x "$1" ]; then
		ccu_build_error "guest binary $1 is missing or not executable"
		ccu_bc_rc=1
	elif ccu_build_dynamic "$1"; then
		ccu_build_error "guest binary $1 is dynamically linked; the initramfs gets it without shared libraries (build the static one: make, STATIC_GUEST=yes)"
		ccu_bc_rc=1
	fi
	ccu_bc_conf=$2/ccunlock.conf
	if ! [ -r "$ccu_bc_conf" ]; then
		ccu_build_error "configuration $ccu_bc_conf is missing (see ccunlock(8))"
		return 1
	fi
	if ! ccu_conf_get broker_url "$ccu_bc_conf" >/dev/null; then
		ccu_build_error "$ccu_bc_conf: broker_url is not set"
		ccu_bc_rc=1
	fi
	if ccu_bc_ca=$(ccu_conf_get broker_ca "$ccu_bc_conf"); then
		ccu_bc_host=$(ccu_build_host_path "$ccu_bc_ca" "$2")
		if ! [ -f "$ccu_bc_host" ] || ! [ -r "$ccu_bc_host" ]; then
			ccu_build_error "broker CA $ccu_bc_ca ($ccu_bc_host) is missing"
			ccu_bc_rc=1
		fi
	else
		ccu_build_error "$ccu_bc_conf: broker_ca is not set"
		ccu_bc_rc=1
	fi
	if ccu_bc_sim=$(ccu_conf_get simulator_dir "$ccu_bc_conf"); then
		if ! [ -d "$(ccu_build_host_path "$ccu_bc_sim" "$2")" ]; then
			ccu_build_error "simulator_dir $ccu_bc_sim is missing"
			ccu_bc_rc=1
		fi
	fi
	if ccu_bc_id=$(ccu_conf_get init_data "$ccu_bc_conf"); then
		ccu_bc_host=$(ccu_build_host_path "$ccu_bc_id" "$2")
		if ! [ -f "$ccu_bc_host" ] || ! [ -r "$ccu_bc_host" ]; then
			ccu_build_error "init_data $ccu_bc_id ($ccu_bc_host) is missing"
			ccu_bc_rc=1
		fi
	fi
	for ccu_bc_p in "$1" "$2" "${ccu_bc_ca:-}" "${ccu_bc_sim:-}" "${ccu_bc_id:-}"; do
		case $ccu_bc_p in
		*[[:space:]]*)
			ccu_build_error "path '$ccu_bc_p' contains white space"
			ccu_bc_rc=1
			;;
		esac
	done
	return "$ccu_bc_rc"
}

# ccu_build_files CONFDIR: "HOST_PATH IMAGE_PATH" lines for the files the
# initramfs gets: the configuration, the broker CA, the init-data document
# when one is configured and (test builds) the simulator directory. Never the whole directory: an admin key kept next to
# the configuration must not end up in the unencrypted initramfs.
ccu_build_files() {
	ccu_bf_conf=$1/ccunlock.conf
	echo "$ccu_bf_conf /etc/ccunlock/ccunlock.conf"
	if ccu_bf_ca=$(ccu_conf_get broker_ca "$ccu_bf_conf"); then
		echo "$(ccu_build_host_path "$ccu_bf_ca" "$1") $ccu_bf_ca"
	fi
	if ccu_bf_id=$(ccu_conf_get init_data "$ccu_bf_conf"); then
		echo "$(ccu_build_host_path "$ccu_bf_id" "$1") $ccu_bf_id"
	fi
	if ccu_bf_sim=$(ccu_conf_get simulator_dir "$ccu_bf_conf"); then
		ccu_bf_host=$(ccu_build_host_path "$ccu_bf_sim" "$1")
		find "$ccu_bf_host" -type f | LC_ALL=C sort | while read -r ccu_bf_f; do
			echo "$ccu_bf_f $ccu_bf_sim/${ccu_bf_f#"$ccu_bf_host"/}"
		done
	fi
}

# ccu_build_unit_timeout CONFFILE: TimeoutStartSec of ccunlock.service: the
# binary's deadline, the device wait, a margin, and the prompt when enabled.
ccu_build_unit_timeout() {
	ccu_bt=$(($(ccu_deadline "$1") + CCU_DEVICE_WAIT + CCU_UNIT_MARGIN))
	if [ "$CCU_FALLBACK_PROMPT" = yes ]; then
		ccu_bt=$((ccu_bt + CCU_FALLBACK_TRIES * CCU_FALLBACK_TIMEOUT))
	fi
	echo "$ccu_bt"
}

# ccu_build_cmdline CONFFILE: defaults for /etc/cmdline.d (dracut). The real
# command line is read after them and wins; the binary refuses the dangerous
# overrides (rd.shell, rd.break, ...), and the emergency hooks power off.
#   rd.neednet=1      bring the network up although the root is local
#   rd.luks=0         dracut's own crypt handling keeps away from the disk
#   rd.retry=N        dracut's initqueue outlasts the unlock's deadline
ccu_build_cmdline() {
	ccu_bcl_retry=$(ccu_build_unit_timeout "$1")
	[ "$ccu_bcl_retry" -lt 180 ] && ccu_bcl_retry=180
	echo "rd.neednet=1 rd.shell=0 rd.emergency=$CCU_FAIL_ACTION rd.luks=0 rd.retry=$ccu_bcl_retry"
}

# ccu_build_norm_dev SPEC: UUID=x and /dev/disk/by-uuid/x as one spelling.
ccu_build_norm_dev() {
	case $1 in
	UUID=*) echo "/dev/disk/by-uuid/${1#UUID=}" ;;
	*) echo "$1" ;;
	esac
}

# ccu_build_has_token DEVICE: the LUKS2 header holds a ccunlock token.
ccu_build_has_token() {
	command -v cryptsetup >/dev/null 2>&1 || return 1
	cryptsetup luksDump "$1" 2>/dev/null | grep -Eq '^[[:space:]]+[0-9]+: ccunlock[[:space:]]*$'
}

# ccu_build_owned_names CRYPTTAB CONFFILE: the mapping names under which
# dracut's crypt module could also try to open our device (crypttab entries
# for it, and rd.luks.uuid's luks-UUID), so that the module can neutralise
# them. Without `device` in the configuration, every crypttab entry whose
# LUKS2 header has a ccunlock token.
ccu_build_owned_names() {
	ccu_on_dev=$(ccu_conf_get device "$2") || ccu_on_dev=
	case $ccu_on_dev in
	UUID=*) echo "luks-${ccu_on_dev#UUID=}" ;;
	esac
	[ -r "$1" ] || return 0
	ccu_on_want=$(ccu_build_norm_dev "$ccu_on_dev")
	while read -r ccu_on_name ccu_on_src _ || [ -n "$ccu_on_name" ]; do
		case $ccu_on_name in
		'' | '#'*) continue ;;
		esac
		ccu_on_have=$(ccu_build_norm_dev "$ccu_on_src")
		if [ -n "$ccu_on_want" ]; then
			if [ "$ccu_on_have" = "$ccu_on_want" ] ||
				{ [ -e "$ccu_on_have" ] &&
					[ "$(readlink -f "$ccu_on_have")" = "$(readlink -f "$ccu_on_want")" ]; }; then
				echo "$ccu_on_name"
			fi
		elif ccu_build_has_token "$ccu_on_have"; then
			echo "$ccu_on_name"
		fi
	done <"$1"
}

# ---------------------------------------------------------------- initramfs-tools, build

# The build host's crypttab (cryptsetup-initramfs reads the same file).
CCU_BUILD_CRYPTTAB=/etc/crypttab

# The dmsetup package's initramfs-tools hook (device-mapper udev rules).
CCU_DM_HOOK=/usr/share/initramfs-tools/hooks/dmsetup

# ccu_itools_copy exec|bin|file SRC DST: copy_exec / copy_file, then make sure the
# file really is in the image ("already there" is fine).
ccu_itools_copy() {
	case $1 in
	exec) copy_exec "$2" "$3" ;;
	bin) copy_file binary "$2" "$3" ;;
	*) copy_file config "$2" "$3" ;;
	esac
	if ! [ -e "${DESTDIR}$3" ] && ! [ -e "${DESTDIR}/usr$3" ]; then
		ccu_build_error "could not copy $2 to $3"
		return 1
	fi
	return 0
}

# ccu_itools_has_module NAME: the module is in the image or built into the
# kernel (module file names mix '-' and '_').
# shellcheck disable=SC2154 # DESTDIR, version, MODULESDIR: set by mkinitramfs
ccu_itools_has_module() {
	ccu_hm_a=$(echo "$1" | tr _ -)
	ccu_hm_b=$(echo "$1" | tr - _)
	if [ -n "$(find "${DESTDIR}/lib/modules/${version}/" \( -name "${ccu_hm_a}.ko*" -o \
		-name "${ccu_hm_b}.ko*" \) 2>/dev/null | head -n 1)" ]; then
		return 0
	fi
	grep -Eqs "/(${ccu_hm_a}|${ccu_hm_b})\\.ko\$" "${MODULESDIR:-/lib/modules/${version}}/modules.builtin"
}

# ccu_itools_hook: hooks/ccunlock, run by mkinitramfs on the build host with
# initramfs-tools' helpers (copy_exec, copy_file, manual_add_modules) and its
# DESTDIR, version and MODULESDIR.
ccu_itools_hook() {
	ccu_ih_bin=${CCUNLOCK_BIN:-/usr/sbin/ccunlock}
	ccu_ih_confdir=${CCUNLOCK_CONFDIR:-/etc/ccunlock}
	ccu_ih_lib=${CCUNLOCK_LIB:-/usr/lib/ccunlock/ccunlock-lib.sh}
	ccu_ih_kslib=${CCUNLOCK_KEYSCRIPT_LIB:-/usr/lib/ccunlock/ccunlock-keyscript.sh}
	# Installed but not configured: add nothing (the boot scripts find no
	# library and stay out of the way), as dracut's check() does. A kernel
	# update must not fail because ccunlock is installed.
	if ! [ -e "$ccu_ih_confdir/ccunlock.conf" ]; then
		# ... unless crypttab already counts on our keyscript
		if ccu_itools_keyscript_mode "$CCU_BUILD_CRYPTTAB"; then
			ccu_build_error "$CCU_BUILD_CRYPTTAB uses ccunlock-keyscript but $ccu_ih_confdir/ccunlock.conf is missing"
			return 1
		fi
		echo "I: ccunlock: $ccu_ih_confdir/ccunlock.conf does not exist; ccunlock is not added to this initramfs" >&2
		return 0
	fi
	if ! ccu_build_check "$ccu_ih_bin" "$ccu_ih_confdir"; then
		ccu_build_error "refusing to build an initramfs that cannot unlock"
		return 1
	fi
	# The static binary alone: no library is copied on its behalf.
	ccu_itools_copy bin "$ccu_ih_bin" "$CCU_BIN" || return 1
	ccu_itools_copy file "$ccu_ih_lib" "$CCU_LIB_IMAGE" || return 1
	# the keyscript adapter's functions (cryptroot runs it in keyscript mode);
	# the build functions (this file) stay on the build host
	ccu_itools_copy file "$ccu_ih_kslib" "$CCU_KS_LIB_IMAGE" || return 1
	ccu_build_files "$ccu_ih_confdir" | {
		while read -r ccu_ih_src ccu_ih_dst; do
			ccu_itools_copy file "$ccu_ih_src" "$ccu_ih_dst" || exit 1
		done
	} || return 1

	# dm-crypt with the usual LUKS2 cipher, an SEV-SNP evidence interface,
	# the vTPM drivers (azure-vtpm; built into Debian's kernel) and the NICs
	# of the common confidential-VM platforms.
	manual_add_modules dm_mod dm_crypt xts ecb cbc essiv aesni_intel aes_generic sha256_generic \
		sha256_ssse3 algif_skcipher af_alg sev-guest tsm_report tsm \
		virtio_net virtio_pci virtio_blk virtio_scsi gve mlx5_core hv_netvsc tpm_crb tpm_tis
	for ccu_ih_m in dm_mod dm_crypt; do
		if ! ccu_itools_has_module "$ccu_ih_m"; then
			ccu_build_error "kernel $version has no $ccu_ih_m module"
			return 1
		fi
	done
	if ! ccu_itools_has_module sev-guest && ! ccu_itools_has_module tsm_report &&
		! ccu_itools_has_module tsm; then
		ccu_build_error "kernel $version has no SEV-SNP guest interface (sev-guest or tsm_report)"
		return 1
	fi

	# ccunlock's own libdevmapper does not wait for udev (no udev sync; it
	# makes /dev/mapper/NAME itself), but the boot still needs udev to know
	# the mapped root (13-dm-disk.rules gives wait-for-root its file system
	# type). That is the image's device-mapper stack, not ours to copy: the
	# dmsetup package's hook adds the rules and dmsetup. Without it the
	# image could unlock but not mount the root: refuse.
	if ! [ -e "${DESTDIR}/usr/lib/udev/rules.d/55-dm.rules" ] &&
		! [ -e "${DESTDIR}/lib/udev/rules.d/55-dm.rules" ] && ! [ -e "$CCU_DM_HOOK" ]; then
		ccu_build_error "the device-mapper udev rules will not be in the image (install dmsetup: $CCU_DM_HOOK)"
		return 1
	fi

	if [ "$CCU_FALLBACK_PROMPT" = yes ]; then
		ccu_ih_cs=$(command -v cryptsetup) || {
			ccu_build_error "FALLBACK_PROMPT=yes needs cryptsetup on the build host"
			return 1
		}
		ccu_itools_copy exec "$ccu_ih_cs" /usr/sbin/cryptsetup || return 1
	fi
	return 0
}
