# shellcheck shell=sh
# ccunlock-lib.sh: the shell side of ccunlock's early-boot integration, the
# part that runs at boot (in the initramfs, sometimes inside PID 1).
#
# The shell code is split by where it runs:
#   ccunlock-lib.sh        boot: this file; in every image (dracut, initramfs-tools)
#   ccunlock-keyscript.sh  crypttab keyscript adapter (after this file)
#   ccunlock-build.sh      image build host only (module-setup.sh, hooks/ccunlock);
#                          never copied into an image
#
# Sourced (never executed) by the dracut module (modules.d/90ccunlock), the
# initramfs-tools hook and boot scripts (hook/), the crypttab keyscript
# adapter (keyscripts/) and the bats tests. Everything is a function; sourcing
# only sets the variables below. POSIX sh: it runs under dash, busybox ash and
# bash (dracut), sometimes inside PID 1 (dracut's shell initrd), so functions
# never call `exit` unless their name says they end the boot, and never
# `set -e`.
#
# The boot-time half is fail-closed: every failure prints ONE line
# "ccunlock: CODE: detail; powering off" to the console and the kernel log,
# then powers the machine off (or reboots it, when built so). There is no path
# from here to a shell.

# Build-time settings. tools/install-extra.sh rewrites these two lines from
# FAIL_ACTION and FALLBACK_PROMPT. They are plain assignments on purpose: the
# kernel turns unknown "name=value" command line words into environment
# variables of init, so nothing here may be taken from the environment at
# boot time.
CCU_FAIL_ACTION=poweroff
CCU_FALLBACK_PROMPT=no

# Paths inside the initramfs (fixed, whatever the host's install prefix).
CCU_BIN=/usr/sbin/ccunlock
CCU_CONF=/etc/ccunlock/ccunlock.conf
# shellcheck disable=SC2034 # read by the build hooks that source this file
CCU_LIB_IMAGE=/usr/lib/ccunlock/ccunlock-lib.sh
# shellcheck disable=SC2034 # read by the initramfs-tools build hook
CCU_KS_LIB_IMAGE=/usr/lib/ccunlock/ccunlock-keyscript.sh
CCU_RUN=/run/ccunlock
CCU_CONSOLE=/dev/console
CCU_KMSG=/dev/kmsg
CCU_PRINTK=/proc/sys/kernel/printk
CCU_SYSRQ_TRIGGER=/proc/sysrq-trigger
CCU_CRYPTTAB=/cryptroot/crypttab
CCU_NET_RUN=/run
CCU_RESOLV=/etc/resolv.conf
CCU_MOUNTINFO=/proc/self/mountinfo
CCU_SYSBLOCK=/sys/dev/block
CCU_SYSCLASSBLOCK=/sys/class/block
CCU_DEVROOT=
# shellcheck disable=SC2034 # read by ccunlock-keyscript.sh
CCU_INITRD_MARKERS="/etc/initrd-release /conf/initramfs.conf"

# Bounds (seconds / counts). The unlock deadline itself belongs to the binary
# (`deadline` in ccunlock.conf); these only bound the shell around it.
CCU_DEVICE_WAIT=30       # wait for the configured device node before running
CCU_SETTLE_WAIT=10       # udevadm settle when no device is configured
CCU_POWER_GRACE=10       # wait for the kernel's power-off before trying tools
CCU_FALLBACK_TRIES=3     # passphrase attempts (FALLBACK_PROMPT=yes only)
CCU_FALLBACK_TIMEOUT=300 # seconds per passphrase prompt
CCU_DEADLINE_DEFAULT=120 # ccunlock.conf's default deadline (docs/ccunlock.8.md)
CCU_UNIT_MARGIN=60       # systemd TimeoutStartSec = deadline + device wait + margin
CCU_STACK_DEPTH=8        # device-mapper/md layers between the root and our volume

# ---------------------------------------------------------------- messages

# ccu_log PRIO MESSAGE: one line "ccunlock: MESSAGE" in the kernel log at
# syslog priority PRIO (3 = err, 6 = info), and on the console unless the
# kernel already echoes that priority there (so the line appears once).
ccu_log() {
	ccu_log_prio=$1
	shift
	ccu_log_echo=1
	if [ -w "$CCU_KMSG" ] && printf '<%s>ccunlock: %s\n' "$ccu_log_prio" "$*" >"$CCU_KMSG" 2>/dev/null; then
		ccu_log_level=
		read -r ccu_log_level _ <"$CCU_PRINTK" 2>/dev/null
		case $ccu_log_level in
		'' | *[!0-9]*) ;;
		*) [ "$ccu_log_prio" -lt "$ccu_log_level" ] && ccu_log_echo=0 ;;
		esac
	fi
	if [ "$ccu_log_echo" = 1 ]; then
		{ printf 'ccunlock: %s\n' "$*" >"$CCU_CONSOLE"; } 2>/dev/null ||
			printf 'ccunlock: %s\n' "$*" >&2
	fi
	return 0
}

# ccu_exit_name RC: the name of a `ccunlock` exit status (src/ccunlock/exitcodes.h).
ccu_exit_name() {
	case $1 in
	0) echo OK ;;
	2) echo USAGE ;;
	3) echo CONFIG ;;
	4) echo POSTURE ;;
	5) echo NETWORK ;;
	6) echo DENIED ;;
	7) echo WRONG_KEY ;;
	8) echo DEVICE ;;
	9) echo INTERNAL ;;
	126) echo NOT_EXECUTABLE ;;
	127) echo NOT_FOUND ;;
	*)
		if [ "$1" -gt 128 ] 2>/dev/null; then
			echo KILLED
		else
			echo UNKNOWN
		fi
		;;
	esac
}

# ---------------------------------------------------------------- fail closed

ccu_action_words() {
	case $CCU_FAIL_ACTION in
	reboot) echo "rebooting" ;;
	*) echo "powering off" ;;
	esac
}

# ccu_power_action: ask the kernel to power off (or reboot) now. The sysrq
# trigger needs no binary and works in every flavour (on Debian `poweroff`
# is a systemctl link that fails in a shell initrd); the tools are a second
# try for kernels without sysrq.
ccu_power_action() {
	case $CCU_FAIL_ACTION in
	reboot) ccu_pa_key=b ccu_pa_tool=reboot ;;
	*) ccu_pa_key=o ccu_pa_tool=poweroff ;;
	esac
	sync 2>/dev/null
	if { echo "$ccu_pa_key" >"$CCU_SYSRQ_TRIGGER"; } 2>/dev/null; then
		sleep "$CCU_POWER_GRACE"
	fi
	"$ccu_pa_tool" -f 2>/dev/null
	busybox "$ccu_pa_tool" -f 2>/dev/null
	return 0
}

# ccu_hang: never return (the power-off is on its way; no shell meanwhile).
ccu_hang() {
	while :; do
		sleep 60
	done
}

# ccu_fail_closed CODE DETAIL: the single exit of every failure path.
ccu_fail_closed() {
	ccu_log 3 "$1: $2; $(ccu_action_words)"
	ccu_power_action
	ccu_hang
}

# ---------------------------------------------------------------- configuration

# ccu_conf_get KEY [FILE]: print the value of KEY in a "key = value" file.
# Only for the shell's own needs (device, name, deadline); the binary parses
# and validates the file strictly.
ccu_conf_get() {
	ccu_cg_file=${2:-$CCU_CONF}
	[ -r "$ccu_cg_file" ] || return 1
	while IFS= read -r ccu_cg_line || [ -n "$ccu_cg_line" ]; do
		case $ccu_cg_line in
		*=*) ;;
		*) continue ;;
		esac
		ccu_cg_key=$(ccu_trim "${ccu_cg_line%%=*}")
		[ "$ccu_cg_key" = "$1" ] || continue
		ccu_trim "${ccu_cg_line#*=}"
		echo
		return 0
	done <"$ccu_cg_file"
	return 1
}

ccu_trim() {
	ccu_t=$1
	ccu_t=${ccu_t#"${ccu_t%%[![:space:]]*}"}
	ccu_t=${ccu_t%"${ccu_t##*[![:space:]]}"}
	printf '%s' "$ccu_t"
}

# ccu_device_path FILE: the device node named by `device` (UUID=... or a
# path), or nothing when the binary is to find it by its token.
ccu_device_path() {
	ccu_dp=$(ccu_conf_get device "$1") || return 0
	case $ccu_dp in
	UUID=*) echo "/dev/disk/by-uuid/${ccu_dp#UUID=}" ;;
	/*) echo "$ccu_dp" ;;
	esac
}

# ccu_map_name FILE: the device-mapper name the root is opened as.
ccu_map_name() {
	ccu_conf_get name "$1" || echo ccunlock-root
}

# ccu_deadline FILE: the configured deadline in seconds.
ccu_deadline() {
	ccu_dl=$(ccu_conf_get deadline "$1") || ccu_dl=$CCU_DEADLINE_DEFAULT
	case $ccu_dl in
	'' | *[!0-9]*) ccu_dl=$CCU_DEADLINE_DEFAULT ;;
	esac
	echo "$ccu_dl"
}

# ---------------------------------------------------------------- command line

# ccu_cmdline_refused [CMDLINE]: print "CODE: detail" for a command line
# that would open a shell or skip the unlock and return 0; return 1 (no
# output) when it is accepted. The rules have one implementation, the
# binary's (`ccunlock cmdline-check`, docs/ccunlock.8.md): it reads
# /proc/cmdline itself, or judges CMDLINE when given. A binary that cannot
# run refuses too (fail closed). Used as the last guard before the initramfs
# hands over to the unlocked root, and first thing in initramfs-tools'
# local-top.
# shellcheck disable=SC2120 # CMDLINE is for tests and callers that have one
ccu_cmdline_refused() {
	if [ $# -gt 0 ]; then
		ccu_cr_out=$("$CCU_BIN" cmdline-check "$1" </dev/null 2>/dev/null)
	else
		ccu_cr_out=$("$CCU_BIN" cmdline-check </dev/null 2>/dev/null)
	fi
	ccu_cr_rc=$?
	[ "$ccu_cr_rc" -eq 0 ] && return 1
	case $ccu_cr_rc:$ccu_cr_out in
	126:* | 127:*)
		ccu_cr_out="MISSING_BINARY: $CCU_BIN cannot run; the kernel command line cannot be checked"
		;;
	*:[A-Z]*_*': '* | *:[A-Z]*': '*) ;;
	*)
		ccu_cr_out="CMDLINE_REFUSED: $CCU_BIN cmdline-check failed (exit status $ccu_cr_rc)"
		;;
	esac
	printf '%s\n' "$ccu_cr_out" | head -n 1
	return 0
}

# ccu_guard_cmdline: refuse a command line that would give a shell or hand
# the boot to something else (init=/bin/sh, rd.break=pre-pivot, cryptopts=
# with its own keyscript, ...).
ccu_guard_cmdline() {
	# shellcheck disable=SC2119 # no CMDLINE: the binary reads /proc/cmdline
	ccu_g_bad=$(ccu_cmdline_refused) || return 0
	ccu_fail_closed "${ccu_g_bad%%: *}" "${ccu_g_bad#*: }"
}

# ccu_guard [NEWROOT]: last check before the initramfs hands over (dracut
# pre-pivot with $NEWROOT, initramfs-tools init-bottom with $rootmnt): the
# command line, then that the root about to be started lives on the volume
# ccunlock unlocked. Without the second check, root=/dev/vdb on the
# provider's command line would start the provider's system on a disk of its
# own while our volume stays open beside it.
ccu_guard() {
	ccu_guard_cmdline
	[ $# -gt 0 ] || return 0
	ccu_gd_why=$(ccu_root_on_volume "$1") && return 0
	ccu_fail_closed ROOT_MISMATCH "$ccu_gd_why"
}

# ---------------------------------------------------------------- root binding

# ccu_owned_names: the device-mapper names our volume may be open under: the
# configured `name`, and in crypttab keyscript mode (initramfs-tools) the
# names of the entries that use ccunlock-keyscript.
ccu_owned_names() {
	ccu_map_name "$CCU_CONF"
	[ -r "$CCU_CRYPTTAB" ] || return 0
	while read -r ccu_o_name _ _ ccu_o_opts || [ -n "$ccu_o_name" ]; do
		case $ccu_o_name in
		'' | '#'*) continue ;;
		esac
		case ",$ccu_o_opts," in
		*,keyscript=*ccunlock-keyscript,*) echo "$ccu_o_name" ;;
		esac
	done <"$CCU_CRYPTTAB"
}

# ccu_mount_devno DIR: "MAJ:MIN SOURCE" of the mount at DIR (the last one:
# it hides the others), from mountinfo.
ccu_mount_devno() {
	[ -r "$CCU_MOUNTINFO" ] || return 1
	ccu_md=
	# mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - TYPE SOURCE ...
	while read -r _ _ ccu_md_no _ ccu_md_dir ccu_md_rest; do
		[ "$ccu_md_dir" = "$1" ] || continue
		ccu_md_src=${ccu_md_rest#* - }
		ccu_md_src=${ccu_md_src#* }
		ccu_md="$ccu_md_no ${ccu_md_src%% *}"
	done <"$CCU_MOUNTINFO"
	[ -n "$ccu_md" ] || return 1
	echo "$ccu_md"
}

# ccu_root_on_volume DIR: 0 when the file system mounted at DIR is our
# unlocked LUKS2 mapping or sits on it (LVM, md, another dm layer); else
# print why not and return 1. The mount's device number comes first; a file
# system without one of its own (btrfs) is found by its source device.
ccu_root_on_volume() {
	ccu_rv=$(ccu_mount_devno "$1") || {
		echo "nothing is mounted at $1"
		return 1
	}
	ccu_rv_no=${ccu_rv%% *}
	ccu_rv_src=${ccu_rv#* }
	if ! [ -d "$CCU_SYSBLOCK/$ccu_rv_no" ]; then
		case $ccu_rv_src in
		/dev/*)
			ccu_rv_dev=$(readlink -f "$CCU_DEVROOT$ccu_rv_src" 2>/dev/null) || ccu_rv_dev=
			ccu_rv_dev=${ccu_rv_dev##*/}
			if [ -n "$ccu_rv_dev" ] && [ -r "$CCU_SYSCLASSBLOCK/$ccu_rv_dev/dev" ]; then
				read -r ccu_rv_no <"$CCU_SYSCLASSBLOCK/$ccu_rv_dev/dev"
			fi
			;;
		esac
	fi
	ccu_rv_names=$(ccu_owned_names)
	if [ -d "$CCU_SYSBLOCK/$ccu_rv_no" ] &&
		ccu_stack_has "$CCU_SYSBLOCK/$ccu_rv_no" "$ccu_rv_names"; then
		return 0
	fi
	echo "the root to be started ($ccu_rv_src at $1) is not on the volume ccunlock unlocked" \
		"($(echo "$ccu_rv_names" | tr '\n' ' ' | sed 's/ $//'))"
	return 1
}

# ccu_stack_has SYSDIR NAMES: SYSDIR (a /sys block device) or a device below
# it (slaves/, at most CCU_STACK_DEPTH layers) is a LUKS2 mapping (dm uuid
# CRYPT-LUKS2-...) open under one of NAMES (newline separated).
ccu_stack_has() {
	ccu_sh_names=$2
	ccu_sh_level=$1
	ccu_sh_depth=0
	ccu_sh_noglob=0
	case $- in *f*) ccu_sh_noglob=1 ;; esac
	set +f
	ccu_sh_found=1
	while [ -n "$ccu_sh_level" ] && [ "$ccu_sh_depth" -le "$CCU_STACK_DEPTH" ]; do
		ccu_sh_next=
		for ccu_sh_d in $ccu_sh_level; do
			ccu_sh_n=
			ccu_sh_u=
			if [ -r "$ccu_sh_d/dm/name" ] && [ -r "$ccu_sh_d/dm/uuid" ]; then
				read -r ccu_sh_n <"$ccu_sh_d/dm/name"
				read -r ccu_sh_u <"$ccu_sh_d/dm/uuid"
			fi
			case $ccu_sh_u in
			CRYPT-LUKS2-*)
				if [ -n "$ccu_sh_n" ] && printf '%s\n' "$ccu_sh_names" | grep -Fxq -- "$ccu_sh_n"; then
					ccu_sh_found=0
					break 2
				fi
				;;
			esac
			for ccu_sh_s in "$ccu_sh_d"/slaves/*; do
				[ -e "$ccu_sh_s" ] && ccu_sh_next="$ccu_sh_next $ccu_sh_s"
			done
		done
		ccu_sh_level=$ccu_sh_next
		ccu_sh_depth=$((ccu_sh_depth + 1))
	done
	[ "$ccu_sh_noglob" = 1 ] && set -f
	return "$ccu_sh_found"
}

# ---------------------------------------------------------------- unlock

ccu_unlocked() {
	[ -e "$CCU_RUN/unlocked" ]
}

# ccu_prepare: load what the binary needs but cannot load itself. Missing
# modules are fine here (built in, or not this platform): the binary decides.
ccu_prepare() {
	for ccu_p_mod in dm_mod dm_crypt sev-guest tsm_report tpm_crb tpm_tis; do
		modprobe -q "$ccu_p_mod" 2>/dev/null
	done
	if [ -d /sys/kernel/config ] && ! [ -d /sys/kernel/config/tsm ]; then
		mount -t configfs configfs /sys/kernel/config 2>/dev/null
	fi
	return 0
}

# ccu_wait_device: wait (bounded) for the configured device node; with no
# device configured, for udev to settle. Never fails: a missing device is the
# binary's to report (exit DEVICE).
ccu_wait_device() {
	ccu_wd_dev=$(ccu_device_path "$CCU_CONF")
	if [ -z "$ccu_wd_dev" ]; then
		command -v udevadm >/dev/null 2>&1 &&
			udevadm settle --timeout="$CCU_SETTLE_WAIT" 2>/dev/null
		return 0
	fi
	ccu_wd_n=0
	while ! [ -b "$ccu_wd_dev" ] && [ "$ccu_wd_n" -lt "$CCU_DEVICE_WAIT" ]; do
		sleep 1
		ccu_wd_n=$((ccu_wd_n + 1))
	done
	return 0
}

# ccu_run_binary COMMAND: run `ccunlock COMMAND`; its own reason line goes
# to stderr and the kernel log. Returns the exit status. The binary keeps its
# own deadline; a hung binary is killed after the deadline plus a margin (the
# shell initrd and initramfs-tools have no unit timeout to do it).
ccu_run_binary() {
	ccu_rb_limit=$(($(ccu_deadline "$CCU_CONF") + CCU_UNIT_MARGIN))
	if command -v timeout >/dev/null 2>&1; then
		timeout -s KILL "$ccu_rb_limit" "$CCU_BIN" "$1" </dev/null
	else
		"$CCU_BIN" "$1" </dev/null
	fi
}

# ccu_unlock: the whole boot-time unlock. Returns 0 when the root is
# unlocked; otherwise does not return (fail closed).
ccu_unlock() {
	ccu_unlocked && return 0
	mkdir -p "$CCU_RUN"
	if ! [ -x "$CCU_BIN" ]; then
		ccu_fail_closed MISSING_BINARY "$CCU_BIN is not in the initramfs"
	fi
	ccu_log 6 "starting the attested unlock"
	ccu_prepare
	ccu_wait_device
	ccu_run_binary unlock
	ccu_u_rc=$?
	if [ "$ccu_u_rc" -eq 0 ]; then
		: >"$CCU_RUN/unlocked"
		return 0
	fi
	ccu_u_name=$(ccu_exit_name "$ccu_u_rc")
	if ccu_fallback "$ccu_u_name"; then
		: >"$CCU_RUN/unlocked"
		return 0
	fi
	ccu_fail_closed "$ccu_u_name" "unlock failed (ccunlock exit status $ccu_u_rc)"
}

# ccu_fallback CODE: the passphrase prompt the image builder may enable at
# build time (FALLBACK_PROMPT=yes). Returns 0 when a passphrase opened the
# device. Off by default: returns 1 without a word.
ccu_fallback() {
	[ "$CCU_FALLBACK_PROMPT" = yes ] || return 1
	ccu_fb_dev=$(ccu_device_path "$CCU_CONF")
	ccu_fb_name=$(ccu_map_name "$CCU_CONF")
	if [ -z "$ccu_fb_dev" ] || ! [ -b "$ccu_fb_dev" ]; then
		ccu_log 3 "FALLBACK: no passphrase prompt: 'device' is not set in $CCU_CONF or absent"
		return 1
	fi
	if ! command -v cryptsetup >/dev/null 2>&1; then
		ccu_log 3 "FALLBACK: no passphrase prompt: cryptsetup is not in the initramfs"
		return 1
	fi
	# the disk's own header is the host's: only the copy the binary checked
	# (left in memory, under $CCU_RUN) may be opened, never the disk's
	ccu_fb_hdr=$CCU_RUN/luks-header.img
	if ! [ -s "$ccu_fb_hdr" ]; then
		ccu_log 3 "FALLBACK: no passphrase prompt: no checked copy of the LUKS2 header (refused or never read); the disk's own header is not opened unchecked"
		return 1
	fi
	ccu_log 3 "FALLBACK: attested unlock failed ($1); asking for the passphrase of $ccu_fb_dev"
	# cryptsetup reads the passphrase from the console itself (no echo), so
	# the secret never passes through this shell.
	# shellcheck disable=SC2094 # the console is a terminal, not a file
	cryptsetup open --header "$ccu_fb_hdr" --tries="$CCU_FALLBACK_TRIES" \
		--timeout="$CCU_FALLBACK_TIMEOUT" \
		"$ccu_fb_dev" "$ccu_fb_name" <"$CCU_CONSOLE" >"$CCU_CONSOLE" 2>&1
}

# ---------------------------------------------------------------- dracut, shell initrd

# The initqueue hooks are *sourced* by dracut's main loop (in PID 1): they must
# return quickly, never exit, and be safe to run again. The unlock therefore
# runs in the background; the finished hook holds the loop until it is done.

# ccu_net_online: some interface has a global address.
ccu_net_online() {
	command -v ip >/dev/null 2>&1 || return 1
	case "$(ip -o addr show scope global 2>/dev/null)" in
	*inet*) return 0 ;;
	esac
	return 1
}

# ccu_dracut_start online|settled: start the unlock once the network is up
# (the initqueue/online hook knows it is; the settled hook checks).
ccu_dracut_start() {
	[ -e "$CCU_RUN/started" ] && return 0
	if [ "$1" != online ] && ! ccu_net_online; then
		return 0
	fi
	mkdir -p "$CCU_RUN"
	: >"$CCU_RUN/started"
	(ccu_unlock) </dev/null >"$CCU_CONSOLE" 2>&1 &
	return 0
}

ccu_dracut_finished() {
	ccu_unlocked
}

# ccu_dracut_timeout: dracut's initqueue is about to give up. If the unlock
# never started, no network came up: say so (the binary never ran to say it).
ccu_dracut_timeout() {
	[ -e "$CCU_RUN/started" ] && return 0
	ccu_fail_closed NETWORK "no network interface came online; the unlock never started"
}

# ccu_emergency: dracut's emergency and shutdown-emergency hooks (both
# flavours source them before any shell).
ccu_emergency() {
	ccu_fail_closed EMERGENCY "the initramfs asked for an emergency shell (see the messages above); refusing"
}

# ---------------------------------------------------------------- initramfs-tools, boot

# ccu_itools_keyscript_mode CRYPTTAB: the image unlocks the root through
# crypttab's keyscript=ccunlock-keyscript (cryptroot runs it); local-top then
# only brings the network up.
ccu_itools_keyscript_mode() {
	ccu_km_tab=$1
	[ -r "$ccu_km_tab" ] || return 1
	while read -r _ _ _ ccu_km_opts; do
		case ",$ccu_km_opts," in
		*,keyscript=*ccunlock-keyscript,*) return 0 ;;
		esac
	done <"$ccu_km_tab"
	return 1
}

# ccu_itools_resolv: ipconfig leaves DNS servers in /run/net-*.conf but no
# resolv.conf; write one so that a broker given by name can be resolved.
ccu_itools_resolv() {
	[ -e "$CCU_RESOLV" ] && return 0
	for ccu_r_f in "$CCU_NET_RUN"/net-*.conf; do
		[ -r "$ccu_r_f" ] || continue
		(
			IPV4DNS0='' IPV4DNS1='' IPV6DNS0=''
			# shellcheck disable=SC1090 # written by ipconfig at boot
			. "$ccu_r_f"
			for ccu_r_ns in "$IPV4DNS0" "$IPV4DNS1" "$IPV6DNS0"; do
				case $ccu_r_ns in
				'' | 0.0.0.0) ;;
				*) echo "nameserver $ccu_r_ns" ;;
				esac
			done
		) >>"$CCU_RESOLV"
	done
	return 0
}

# ccu_itools_local_top: scripts/local-top/ccunlock. Runs before cryptroot
# (cryptroot lists every other local-top script as its prerequisite).
ccu_itools_local_top() {
	ccu_unlocked && return 0
	# before anything else, and before cryptroot: cryptopts= could otherwise
	# hand the volume to a keyscript of the provider's choosing
	ccu_guard_cmdline
	configure_networking
	ccu_net_online || ccu_log 3 "NETWORK: no interface has an address after configure_networking"
	ccu_itools_resolv
	mkdir -p "$CCU_RUN"
	: >"$CCU_RUN/network"
	if ccu_itools_keyscript_mode "$CCU_CRYPTTAB"; then
		return 0
	fi
	ccu_unlock
}

# ccu_itools_local_bottom: scripts/local-bottom/ccunlock. Take down what
# local-top configured so that the real system starts with a clean network.
ccu_itools_local_bottom() {
	[ -e "$CCU_RUN/network" ] || return 0
	command -v ip >/dev/null 2>&1 || return 0
	for ccu_lb_f in "$CCU_NET_RUN"/net-*.conf; do
		[ -e "$ccu_lb_f" ] || continue
		ccu_lb_dev=${ccu_lb_f#"$CCU_NET_RUN"/net-}
		ccu_lb_dev=${ccu_lb_dev%.conf}
		ip addr flush dev "$ccu_lb_dev" 2>/dev/null
		ip link set dev "$ccu_lb_dev" down 2>/dev/null
	done
	return 0
}

# ccu_itools_panic: scripts/panic/ccunlock. initramfs-tools runs the panic
# scripts just before it would start a shell: power off instead.
ccu_itools_panic() {
	ccu_fail_closed PANIC "the initramfs gave up (see the message above); refusing a shell"
}
