# shellcheck shell=sh
# tests/vm/lib.sh: harness for whole-boot tests under QEMU (TCG).
#
# A test script (tests/vm/NN-name.sh) sources this file and then, in a few
# lines per case:
#
#   vm_setup NAME                  kernel, staged install, disks, provider;
#                                  one skipped test and exit when it cannot run
#   vm_image TAG dracut-systemd|dracut-shell|itools|itools-keyscript [VARIANT[+device]]
#                                  (itools-keyscript: Debian's cryptsetup-initramfs
#                                  opens the root from crypttab through
#                                  keyscript=ccunlock-keyscript, as VM_KS_NAME)
#                                  build an initramfs once, reused by cases
#                                  (VARIANT: main, debug; see vm_conf)
#   vm_plan N
#   vm_case TAG DISK BROKER EXPECT TITLE [KERNEL ARGS...] (@UUID@ in an
#                                  argument: the good disk's LUKS UUID; the
#                                  arguments follow "console=ttyS0
#                                  root=/dev/mapper/VM_ROOT_NAME ro
#                                  no_timer_check")
#       DISK    good | other (same LUKS UUID and token, another key) |
#               nullhdr (good's header rewritten by the host: null-cipher
#               segment over a plaintext root, see vm_disk_nullhdr);
#               +decoy: a plain disk with a root of its own as /dev/vdb
#       BROKER  allow | deny-measurement | down | late:N[:MODE] (the broker
#               starts once the guest's console has reported N failed
#               attempts to reach it: what the case shows is that the guest
#               keeps trying, whatever the host's speed)
#       EXPECT  root | refuse:REGEX (REGEX must appear on the console) |
#               fallback (FALLBACK_PROMPT=yes images: the attested unlock
#               fails, the passphrase prompt appears, the harness types the
#               good disk's passphrase, the root is reached) |
#               fallback:wrong (the same, but the first prompt gets a wrong
#               passphrase: it must be refused and prompted for again)
#               A refusal with rd.ccunlock.deadline=N among the arguments
#               must also end within N s of the unlock's start plus the
#               boot's own time to that start, on the guest's clock (see
#               vm_deadline_check).
#   vm_shell_summary               one TAP line: no failing case offered a shell
#   vm_finish                      exit status from the TAP results
#
# Every case is one TAP line; its diagnostics give the boot-to-root time,
# how the guest ended and the reason line; build/vm-results.tsv gets a row.
#
# Verdicts depend on what the guest printed, never on how fast the host is
# (the machine may be busy): times are diagnostics; deadlines are checked on
# the guest's own clock with a margin from the boot's measured time; a boot
# that still prints past CCU_VM_TIMEOUT gets more time (up to 1.5 times).
# Typing into the console: shell probes (a "\r" first, see vm_boot) until a
# passphrase is due, then only passphrases (vm_type: Ctrl-U, the line,
# Enter), each once its prompt is up and no probe is on its way, again at
# every new prompt after a refusal (bounded, see vm_pass_step). A new
# prompt a case must answer goes into VM_PASS_PROMPT_RE, its refusal
# message into VM_PASS_REFUSED_RE.
#
# What the guest binary and the broker are comes from a *provider* (see
# tests/vm/provider-real.sh for the interface): the real ccunlock and
# ccunlock-kbs once they exist, or a local stand-in (CCU_VM_PROVIDER=FILE, or
# $O/vm-standin/provider.sh when present).
#
# Host side, nothing is installed or changed: the kernel is unpacked from the
# Debian package into build/vm-cache/, dracut runs with a private
# dracutbasedir, mkinitramfs runs in a private mount namespace that shows the
# unpacked kernel at /boot and /lib/modules, the LUKS2 images are made on
# files (no device-mapper), and the broker listens on 127.0.0.1 only (the
# guest reaches it as 10.0.2.2 through QEMU's user network).
#
# Environment:
#   O                 build directory (default build)
#   CCU_VM_TIMEOUT    host-side limit per boot, seconds (default 240; a
#                     console that still prints gets up to 1.5 times that)
#   CCU_VM_DEADLINE_MARGIN  fixed margin (seconds) for the deadline check
#                     instead of the measured boot-to-unlock time
#   CCU_VM_CASES      extended regex: run only the cases whose title matches
#   CCU_VM_KVER       kernel ABI to use (default: linux-image-amd64's)
#   CCU_VM_PROVIDER   provider file (default: real binaries, else the stand-in)
#
# A TPM for the guest (set by a test script or its provider, not the user):
#   VM_TPM            name of a command (a shell function) called as
#                     `$VM_TPM start CASE_PREFIX` before each boot, printing the
#                     path of a swtpm control socket (the guest gets it as a
#                     tpm-crb device: /dev/tpmrm0), and `$VM_TPM stop
#                     CASE_PREFIX` after it. Unset: no TPM.

VM_TOP=${VM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lib/tap.sh
. "$VM_TOP/tests/lib/tap.sh"
# shellcheck source=../lib/ports.sh
. "$VM_TOP/tests/lib/ports.sh"

O=${O:-build}
case $O in
/*) VM_O=$O ;;
*) VM_O=$VM_TOP/$O ;;
esac
VM_CACHE=$VM_TOP/build/vm-cache
# The broker's host name in +name images (the provider's certificate has it).
VM_BROKER_NAME=broker.ccunlock.test
VM_W=$VM_O/vm
VM_RESULTS=$VM_O/vm-results.tsv
VM_TIMEOUT=${CCU_VM_TIMEOUT:-240}
VM_MEM=1024
VM_TIMEOUT_MAX=$((VM_TIMEOUT * 3 / 2)) # hard limit while the console keeps printing
VM_QUIET=30              # past VM_TIMEOUT: a console silent this long has hung
VM_BROKER_START=60       # seconds a starting broker gets to listen
VM_PROBE_EVERY=2         # seconds between typed shell probes
VM_DEADLINE_MARGIN=${CCU_VM_DEADLINE_MARGIN:-} # fixed margin; empty: the measured boot time
VM_PASS_TRIES=3          # passphrase prompts answered per boot (ccunlock's own: 3)
VM_PASS_SETTLE=2         # seconds a prompt is up (and no probe typed) before typing
VM_PASS_QUIET=20         # no reaction this long after typing: type again
VM_PASS_PROMPT_RE='Enter passphrase for |attested unlock failed; passphrase for '
# a transient failure the guest will retry (src/guest/kbs_client.c)
VM_RETRY_RE='ccunlock: attempt [0-9]+ of [0-9]+ at [^ ]+ failed'
VM_PASS_REFUSED_RE='No key available with this passphrase|bad password or options'
VM_ROOT_NAME=ccunlock-root
VM_KS_NAME=ks_root       # the crypttab name of the keyscript image's root

VM_QEMU_PID=
VM_CAT_PID=
VM_BROKER_PID=
VM_SHELL_SEEN=0
VM_REFUSED_CASES=0
VM_PROBES_TOTAL=0
VM_CASE_N=0
VM_TYPE_PASSPHRASE=

vm_log() {
	echo "[vm] $*" >&2
}

vm_now() {
	date +%s.%N
}

# vm_since T0: seconds since T0, one decimal.
vm_since() {
	awk -v a="$1" -v b="$(vm_now)" 'BEGIN { printf "%.1f", b - a }'
}

vm_cleanup() {
	[ -n "$VM_QEMU_PID" ] && kill "$VM_QEMU_PID" 2>/dev/null
	[ -n "$VM_CAT_PID" ] && kill "$VM_CAT_PID" 2>/dev/null
	vm_broker_stop
	return 0
}

# ---------------------------------------------------------------- setup

# vm_setup NAME: everything but the initramfs images. Skips the whole script
# (TAP "1..0 # SKIP") when the guest binary or the broker is not available.
vm_setup() {
	VM_T_SCRIPT=$(vm_now)
	VM_NAME=$1
	VM_D=$VM_W/$1
	trap vm_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "$(id -u)" -ne 0 ]; then
		vm_skip_script "VM tests need root (mkinitramfs namespace, dracut)"
	fi
	vm_missing=
	for vm_t in qemu-system-x86_64 dracut mkinitramfs cryptsetup mkfs.ext4 busybox \
		unshare apt-get dpkg-deb depmod systemd-escape ss zstd; do
		command -v "$vm_t" >/dev/null 2>&1 || vm_missing="$vm_missing $vm_t"
	done
	if [ -n "$vm_missing" ]; then
		plan 1
		not_ok "VM prerequisites present (missing:$vm_missing; run tools/deps.sh check)"
		exit 1
	fi
	vm_provider_load || vm_skip_script "$VM_PROVIDER_WHY"
	rm -rf "$VM_D"
	mkdir -p "$VM_D"
	vm_kernel || vm_setup_failed "guest kernel"
	vm_stage poweroff || vm_setup_failed "staged install (tools/install-extra.sh)"
	VM_PORT=$(ccu_free_port 1) || vm_setup_failed "free TCP port on 127.0.0.1"
	VM_URL=https://10.0.2.2:$VM_PORT
	# +name images reach the broker by this name, mapped in their /etc/hosts
	VM_URL_NAME=https://$VM_BROKER_NAME:$VM_PORT
	mkdir -p "$VM_D/provider"
	vm_provider_setup "$VM_D/provider" || vm_setup_failed "provider setup"
	vm_disks || vm_setup_failed "LUKS2 disk images"
	diag "kernel $VM_KVER, provider $VM_PROVIDER_NAME, broker 127.0.0.1:$VM_PORT (guest: $VM_URL)"
}

# vm_skip TITLE REASON: a skipped test that keeps its title.
vm_skip() {
	ok "$1 # SKIP $2"
}

# vm_skip_script REASON: the whole script cannot run; one visible skip.
vm_skip_script() {
	plan 1
	vm_skip "$VM_NAME: whole-boot tests" "$1"
	exit 0
}

vm_setup_failed() {
	plan 1
	not_ok "VM setup: $1 (see the log above)"
	exit 1
}

# vm_provider_load: pick the provider (see the file header).
vm_provider_load() {
	VM_PROVIDER_WHY="no provider"
	if [ -n "${CCU_VM_PROVIDER:-}" ]; then
		vm_provider_try "$CCU_VM_PROVIDER"
		return
	fi
	vm_provider_try "$VM_TOP/tests/vm/provider-real.sh" && return 0
	vm_p_real_why=$VM_PROVIDER_WHY
	if [ -r "$VM_O/vm-standin/provider.sh" ]; then
		vm_provider_try "$VM_O/vm-standin/provider.sh" && return 0
	fi
	VM_PROVIDER_WHY=$vm_p_real_why
	return 1
}

vm_provider_try() {
	if ! [ -r "$1" ]; then
		VM_PROVIDER_WHY="provider $1 not found"
		return 1
	fi
	# nothing of a provider tried before may remain (the hook is optional)
	unset -f vm_provider_check vm_provider_setup vm_provider_guest_bin vm_provider_conf \
		vm_provider_enroll vm_provider_broker_run vm_provider_broker_ready
	# shellcheck source=provider-real.sh
	. "$1" || return 1
	VM_PROVIDER_WHY=$(vm_provider_check) && return 0
	return 1
}

# vm_kernel: the guest kernel, unpacked from linux-image-amd64's current
# package into build/vm-cache/kernel/KVER (never installed on the host).
vm_kernel() {
	VM_KVER=${CCU_VM_KVER:-}
	if [ -z "$VM_KVER" ]; then
		vm_k_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
		VM_KVER=${vm_k_pkg#linux-image-}
	fi
	# no package lists (offline): the newest kernel already unpacked
	[ -n "$VM_KVER" ] || VM_KVER=$(vm_kernel_cached)
	[ -n "$VM_KVER" ] || {
		vm_log "cannot resolve linux-image-amd64 (apt-get update?)"
		return 1
	}
	vm_k_dir=$VM_CACHE/kernel/$VM_KVER
	# VM scripts may run side by side: one fetches, the others wait for it
	mkdir -p "$VM_CACHE"
	exec 7>"$VM_CACHE/.kernel.lock"
	flock 7
	if ! [ -e "$vm_k_dir/ok" ] && ! vm_kernel_fetch && [ -z "${CCU_VM_KVER:-}" ] &&
		[ -n "$(vm_kernel_cached)" ]; then
		VM_KVER=$(vm_kernel_cached)
		vm_log "download failed; using the cached kernel $VM_KVER"
		vm_k_dir=$VM_CACHE/kernel/$VM_KVER
	fi
	exec 7>&-
	VM_VMLINUZ=$vm_k_dir/boot/vmlinuz-$VM_KVER
	VM_KMODDIR=$vm_k_dir/lib/modules/$VM_KVER
	VM_KBOOT=$vm_k_dir/boot
	[ -r "$VM_VMLINUZ" ] && [ -d "$VM_KMODDIR" ]
}

vm_kernel_cached() {
	find "$VM_CACHE/kernel" -mindepth 2 -maxdepth 2 -name ok 2>/dev/null |
		sed 's|/ok$||; s|.*/||' | sort -V | tail -n 1
}

# vm_kernel_fetch: download and unpack linux-image-$VM_KVER into $vm_k_dir.
vm_kernel_fetch() {
	vm_k_tmp=$VM_CACHE/kernel/.tmp-$$
	rm -rf "$vm_k_tmp"
	mkdir -p "$vm_k_tmp/deb"
	# apt drops privileges to _apt for the download
	id _apt >/dev/null 2>&1 && chown _apt "$vm_k_tmp/deb"
	vm_log "downloading linux-image-$VM_KVER"
	if ! (cd "$vm_k_tmp/deb" && apt-get download -q "linux-image-$VM_KVER") >&2; then
		rm -rf "$vm_k_tmp"
		return 1
	fi
	dpkg-deb -x "$vm_k_tmp"/deb/linux-image-"$VM_KVER"_*.deb "$vm_k_tmp/root" || return 1
	# usr-merged packages put the modules under usr/lib
	if [ -d "$vm_k_tmp/root/usr/lib/modules/$VM_KVER" ]; then
		mkdir -p "$vm_k_tmp/root/lib"
		mv "$vm_k_tmp/root/usr/lib/modules" "$vm_k_tmp/root/lib/modules"
	fi
	depmod -b "$vm_k_tmp/root" "$VM_KVER" || return 1
	rm -rf "$vm_k_tmp/deb" "$vm_k_dir"
	mv "$vm_k_tmp/root" "$vm_k_dir"
	rmdir "$vm_k_tmp"
	: >"$vm_k_dir/ok"
}

# vm_stage poweroff|reboot [FALLBACK]: `make install`'s early-boot half,
# built with that FAIL_ACTION and FALLBACK_PROMPT (default no), into a
# private tree (once): the VM tests use exactly what gets installed. Sets
# VM_STAGE and VM_LIB.
vm_stage() {
	VM_STAGE=$VM_D/stage-$1
	[ "${2:-no}" = yes ] && VM_STAGE=$VM_STAGE-fallback
	VM_LIB=$VM_STAGE/usr/lib/ccunlock/ccunlock-lib.sh
	# the library's build-time and keyscript parts (the build hooks read them)
	VM_BUILD_LIB=$VM_STAGE/usr/lib/ccunlock/ccunlock-build.sh
	VM_KS_LIB=$VM_STAGE/usr/lib/ccunlock/ccunlock-keyscript.sh
	[ -e "$VM_LIB" ] && [ -e "$VM_BUILD_LIB" ] && return 0
	DESTDIR=$VM_STAGE PREFIX=/usr FAIL_ACTION=$1 FALLBACK_PROMPT=${2:-no} \
		"$VM_TOP/tools/install-extra.sh" >&2
}

# ---------------------------------------------------------------- disks

# vm_rootfs DIR NONCE: a tiny root whose /sbin/init proves it was reached.
vm_rootfs() {
	mkdir -p "$1/bin" "$1/sbin" "$1/etc" "$1/dev" "$1/proc" "$1/sys" "$1/run" "$1/tmp" "$1/root"
	cp "$(command -v busybox)" "$1/bin/busybox"
	echo "$2" >"$1/etc/ccu-nonce"
	# systemd's switch-root wants an os-release in the new root
	printf 'ID=ccunlock-vm-test\nNAME="ccunlock VM test root"\n' >"$1/etc/os-release"
	cat >"$1/sbin/init" <<'EOF'
#!/bin/busybox sh
# The encrypted root's init: print the nonce only this disk holds, power off.
B=/bin/busybox
$B mount -t proc proc /proc 2>/dev/null
echo "CCU-ROOT-OK nonce=$($B cat /etc/ccu-nonce) root=$($B awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts)" >/dev/console
$B sync
$B poweroff -f
EOF
	chmod 0755 "$1/sbin/init"
}

# vm_disk NAME NONCE: ext4 filled from a directory, then encrypted in place
# (LUKS2, offline reencryption: no device-mapper on the host). Keyslot 0
# holds a random recovery key the test keeps to itself.
vm_disk() {
	vm_dk=$VM_D/disk-$1
	rm -rf "$vm_dk"
	mkdir -p "$vm_dk"
	vm_rootfs "$vm_dk/root" "$2"
	head -c 32 /dev/urandom >"$vm_dk/recovery.key"
	truncate -s 64M "$vm_dk/disk.img"
	mkfs.ext4 -q -F -L ccuroot -d "$vm_dk/root" "$vm_dk/disk.img" 48M || return 1
	cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 16M \
		--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode \
		--key-file "$vm_dk/recovery.key" "$vm_dk/disk.img" >&2 || return 1
}

vm_nonce() {
	od -An -N12 -tx1 /dev/urandom | tr -d ' \n'
}

# vm_disks: "good" is enrolled by the provider; "other" has the same LUKS
# UUID, the same keyslot numbers and the same ccunlock token, but its own
# keys: the broker's key for "good" must not open it.
vm_disks() {
	VM_NONCE_GOOD=$(vm_nonce)
	VM_NONCE_OTHER=$(vm_nonce)
	vm_disk good "$VM_NONCE_GOOD" || return 1
	vm_provider_enroll "$VM_D/disk-good/disk.img" "$VM_D/disk-good/recovery.key" >&2 || return 1
	# a passphrase someone could type at the build-time fallback prompt
	VM_PASSPHRASE=ccu-fallback-$(vm_nonce)
	printf '%s' "$VM_PASSPHRASE" >"$VM_D/disk-good/passphrase"
	cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file "$VM_D/disk-good/recovery.key" \
		"$VM_D/disk-good/disk.img" "$VM_D/disk-good/passphrase" >&2 || return 1
	vm_disk other "$VM_NONCE_OTHER" || return 1
	vm_o=$VM_D/disk-other
	for vm_slot in $(vm_keyslots "$VM_D/disk-good/disk.img"); do
		[ "$vm_slot" = 0 ] && continue
		head -c 32 /dev/urandom >"$vm_o/slot$vm_slot.key"
		cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
			--key-slot "$vm_slot" --key-file "$vm_o/recovery.key" \
			"$vm_o/disk.img" "$vm_o/slot$vm_slot.key" >&2 || return 1
	done
	cryptsetup luksUUID --batch-mode --uuid "$(cryptsetup luksUUID "$VM_D/disk-good/disk.img")" \
		"$vm_o/disk.img" || return 1
	vm_t=0
	while [ "$vm_t" -lt 32 ]; do
		if cryptsetup token export --token-id "$vm_t" "$VM_D/disk-good/disk.img" \
			>"$vm_o/token.json" 2>/dev/null; then
			cryptsetup token import --token-id "$vm_t" "$vm_o/disk.img" <"$vm_o/token.json" ||
				return 1
		fi
		vm_t=$((vm_t + 1))
	done
	VM_LUKS_UUID=$(cryptsetup luksUUID "$VM_D/disk-good/disk.img")
	cryptsetup luksDump "$vm_o/disk.img" >"$vm_o/luksdump.txt" || return 1
	vm_disk_nullhdr || vm_log "disk nullhdr not made (cases on it will fail)"
	# decoy: a plain (unencrypted) root of the provider's, attached beside
	# the good disk by the "good+decoy" cases
	VM_NONCE_DECOY=$(vm_nonce)
	rm -rf "$VM_D/disk-decoy"
	mkdir -p "$VM_D/disk-decoy"
	vm_rootfs "$VM_D/disk-decoy/root" "$VM_NONCE_DECOY"
	truncate -s 16M "$VM_D/disk-decoy/disk.img"
	mkfs.ext4 -q -F -L decoy -d "$VM_D/disk-decoy/root" "$VM_D/disk-decoy/disk.img" || return 1
	vm_log "disks: good (nonce $VM_NONCE_GOOD), other (nonce $VM_NONCE_OTHER), decoy (nonce $VM_NONCE_DECOY)"
}

# vm_disk_nullhdr: the good disk as a host that controls it can rewrite it
# (the 2025 "LUKS2 header" disclosure): the data segment's cipher set to
# cipher_null-ecb, both unkeyed header checksums recomputed, our genuine
# keyslot and token kept, and a plaintext root of the host's in the data
# area whose init would print its own nonce (VM_NONCE_NULLHDR). Needs the
# test tool that rewrites headers ($VM_O/tests/test_guest_luks_header).
vm_disk_nullhdr() {
	vm_n=$VM_D/disk-nullhdr
	vm_n_tool=$VM_O/tests/test_guest_luks_header
	rm -rf "$vm_n"
	mkdir -p "$vm_n"
	[ -x "$vm_n_tool" ] || return 1
	VM_NONCE_NULLHDR=$(vm_nonce)
	cp --sparse=always "$VM_D/disk-good/disk.img" "$vm_n/disk.img" || return 1
	"$vm_n_tool" attack null-segment "$vm_n/disk.img" || return 1
	vm_n_off=$(cryptsetup luksDump "$vm_n/disk.img" |
		awk '/^Data segments:/ { d = 1 } d && $1 == "offset:" { print $2; exit }')
	[ -n "$vm_n_off" ] || return 1
	vm_rootfs "$vm_n/root" "$VM_NONCE_NULLHDR"
	truncate -s 32M "$vm_n/plain.img"
	mkfs.ext4 -q -F -L ccuroot -d "$vm_n/root" "$vm_n/plain.img" || return 1
	dd if="$vm_n/plain.img" of="$vm_n/disk.img" bs=1M seek=$((vm_n_off / 1048576)) \
		conv=notrunc 2>/dev/null || return 1
	rm -rf "$vm_n/root" "$vm_n/plain.img"
	vm_log "disk nullhdr: null-cipher segment over a plaintext root (nonce $VM_NONCE_NULLHDR)"
}

vm_keyslots() {
	cryptsetup luksDump "$1" | awk '/^Keyslots:/ { k = 1; next } /^[A-Z]/ { k = 0 }
		k && /^  [0-9]+: / { sub(":", "", $1); print $1 }'
}

# ---------------------------------------------------------------- initramfs

# vm_conf VARIANT DEVICE [NAME]: the /etc/ccunlock the image gets (NAME=yes:
# broker_url by host name), written by the
# provider (VARIANT: main, debug); DEVICE yes names the good disk's LUKS UUID
# as `device` (otherwise the binary finds the disk by its token).
vm_conf() {
	vm_c=$VM_D/conf-$1-$2-${3:-no}
	vm_c_url=$VM_URL
	[ "${3:-no}" = yes ] && vm_c_url=$VM_URL_NAME
	if ! [ -e "$vm_c/ccunlock.conf" ]; then
		mkdir -p "$vm_c"
		vm_provider_conf "$vm_c" "$1" "$vm_c_url" || return 1
		if [ "$2" = yes ]; then
			printf 'device = UUID=%s\n' "$VM_LUKS_UUID" >>"$vm_c/ccunlock.conf"
		fi
		# a secret next to the configuration must never reach the image
		echo "ccunlock VM test canary: must not be in any initramfs" >"$vm_c/admin-canary.key"
	fi
	echo "$vm_c"
}

# vm_image TAG KIND [VARIANT][+device][+reboot][+hostonly][+fallback]: build
# $VM_D/initrd-TAG.img once. +device: `device` is configured; +reboot: built
# with FAIL_ACTION=reboot; +hostonly: a hostonly dracut build whose host
# crypttab names the root volume (see vm_build_dracut); +fallback: built with
# FALLBACK_PROMPT=yes.
vm_image() {
	vm_i_tag=$1
	vm_i_kind=$2
	vm_i_variant=${3:-main}
	vm_i_device=no
	vm_i_action=poweroff
	case $vm_i_variant in *+device*) vm_i_device=yes ;; esac
	case $vm_i_variant in *+reboot*) vm_i_action=reboot ;; esac
	vm_i_hostonly=no
	case $vm_i_variant in *+hostonly*) vm_i_hostonly=yes ;; esac
	vm_i_fallback=no
	case $vm_i_variant in *+fallback*) vm_i_fallback=yes ;; esac
	vm_i_name=no
	case $vm_i_variant in *+name*) vm_i_name=yes ;; esac
	vm_i_variant=${vm_i_variant%%+*}
	[ -n "$vm_i_variant" ] || vm_i_variant=main
	vm_stage "$vm_i_action" "$vm_i_fallback" || {
		vm_image_failed "$1" "staged install with FAIL_ACTION=$vm_i_action FALLBACK_PROMPT=$vm_i_fallback failed"
		return 1
	}
	vm_i_conf=$(vm_conf "$vm_i_variant" "$vm_i_device" "$vm_i_name") || {
		vm_image_failed "$1" "provider could not write the configuration"
		return 1
	}
	vm_i_out=$VM_D/initrd-$vm_i_tag.img
	vm_i_log=$VM_D/build-$vm_i_tag.log
	vm_i_t0=$(vm_now)
	# +name: the image builder maps the broker's name in the image's
	# /etc/hosts (ccunlock installs no such file of its own)
	VM_HOSTS=
	if [ "$vm_i_name" = yes ]; then
		VM_HOSTS=$VM_D/hosts-name
		printf '127.0.0.1 localhost\n10.0.2.2 %s\n' "$VM_BROKER_NAME" >"$VM_HOSTS"
	fi
	case $vm_i_kind in
	dracut-systemd | dracut-shell)
		vm_build_dracut "${vm_i_kind#dracut-}" "$vm_i_conf" "$vm_i_out" "$vm_i_hostonly"
		;;
	itools) vm_build_itools "$vm_i_conf" "$vm_i_out" ;;
	itools-keyscript) vm_build_itools "$vm_i_conf" "$vm_i_out" keyscript ;;
	*) false ;;
	esac >"$vm_i_log" 2>&1
	vm_i_rc=$?
	if [ "$vm_i_rc" -ne 0 ] || ! [ -s "$vm_i_out" ]; then
		vm_image_failed "$1" "$vm_i_kind build failed (exit $vm_i_rc, $vm_i_log)"
		tail -n 25 "$vm_i_log" | awk '{ print "#   " $0 }'
		return 1
	fi
	vm_i_extra=
	[ "$vm_i_name" = yes ] && vm_i_extra="etc/hosts"
	[ "$vm_i_kind" = itools-keyscript ] &&
		vm_i_extra="cryptroot/crypttab scripts/local-top/cryptroot usr/lib/cryptsetup/scripts/ccunlock-keyscript"
	# hostonly: the crypttab line for the root must really be in the image
	[ "$vm_i_hostonly" = yes ] && vm_i_extra="etc/crypttab"
	# shellcheck disable=SC2086 # a list of paths without blanks
	if ! vm_image_check "$vm_i_out" "$VM_D/content-$vm_i_tag.txt" $vm_i_extra; then
		vm_image_failed "$1" "$vm_i_kind image content: $VM_IMAGE_WHY"
		return 1
	fi
	eval "VM_IMG_KIND_$(vm_tagvar "$vm_i_tag")=\$vm_i_kind"
	eval "VM_IMG_ACTION_$(vm_tagvar "$vm_i_tag")=\$vm_i_action"
	diag "image $vm_i_tag: $vm_i_kind, $(($(stat -c %s "$vm_i_out") / 1024)) KiB, built in $(vm_since "$vm_i_t0") s"
}

# vm_image_check IMAGE LISTING [FILE...]: what the initramfs must and must
# not hold (FILE: more that it must hold).
vm_image_check() {
	vm_ic_img=$1
	vm_ic_list=$2
	shift 2
	lsinitramfs "$vm_ic_img" >"$vm_ic_list" 2>/dev/null || {
		VM_IMAGE_WHY="cannot list it"
		return 1
	}
	VM_IMAGE_WHY=
	for vm_ic_f in usr/sbin/ccunlock usr/lib/ccunlock/ccunlock-lib.sh etc/ccunlock/ccunlock.conf "$@"; do
		grep -Eq "^(\./)?$vm_ic_f\$" "$vm_ic_list" || VM_IMAGE_WHY="$VM_IMAGE_WHY $vm_ic_f missing;"
	done
	grep -q 'admin-canary' "$vm_ic_list" && VM_IMAGE_WHY="$VM_IMAGE_WHY a file beside ccunlock.conf was copied;"
	[ -z "$VM_IMAGE_WHY" ]
}

# vm_tagvar TAG: TAG as a part of a variable name.
vm_tagvar() {
	printf '%s' "$1" | tr -c 'A-Za-z0-9_' _
}

vm_image_failed() {
	eval "VM_IMG_FAILED_$(vm_tagvar "$1")=\$2"
	vm_log "image $1: $2"
}

# vm_build_dracut systemd|shell CONFDIR OUT [HOSTONLY]: dracut 059 with a
# private dracutbasedir (symlinks to /usr/lib/dracut plus our staged module).
# HOSTONLY yes: a hostonly build (--hostonly --hostonly-cmdline) in a private
# mount namespace whose /etc/crypttab has the image builder's usual line for
# the root, "VM_ROOT_NAME UUID=<good disk> none luks,force": dracut's crypt
# module copies it into the image (force: the disk is not attached to this
# host), where systemd's cryptsetup generator would make a passphrase prompt
# of it unless our module takes the volume over.
vm_build_dracut() {
	vm_bd_base=$VM_D/dracut-base-${VM_STAGE##*/stage-}
	if ! [ -d "$vm_bd_base" ]; then
		mkdir -p "$vm_bd_base/modules.d" "$VM_D/empty-confdir"
		for vm_bd_m in /usr/lib/dracut/*; do
			[ "${vm_bd_m##*/}" = modules.d ] || ln -s "$vm_bd_m" "$vm_bd_base/"
		done
		for vm_bd_m in /usr/lib/dracut/modules.d/*; do
			ln -s "$vm_bd_m" "$vm_bd_base/modules.d/"
		done
		ln -s "$VM_STAGE/usr/lib/dracut/modules.d/90ccunlock" "$vm_bd_base/modules.d/90ccunlock"
	fi
	vm_bd_mods="base shutdown udev-rules rootfs-block ccunlock"
	vm_bd_omit="kernel-modules"
	if [ "$1" = systemd ]; then
		vm_bd_mods="systemd systemd-initrd dracut-systemd $vm_bd_mods"
	else
		vm_bd_omit="$vm_bd_omit systemd systemd-initrd dracut-systemd"
	fi
	vm_bd_host="--no-hostonly --no-hostonly-cmdline"
	vm_bd_etc=
	if [ "${4:-no}" = yes ]; then
		vm_bd_host="--hostonly --hostonly-cmdline"
		vm_bd_etc=$VM_D/dracut-hostonly-etc
		rm -rf "$vm_bd_etc"
		mkdir -p "$vm_bd_etc"
		printf '%s UUID=%s none luks,force\n' "$VM_ROOT_NAME" "$VM_LUKS_UUID" >"$vm_bd_etc/crypttab"
	fi
	# --conf/--confdir keep the host's dracut.conf out; -m: these modules and
	# their dependencies only.
	# shellcheck disable=SC2016,SC2086 # $1 is the inner shell's; vm_bd_host: two options
	CCUNLOCK_BIN=$(vm_provider_guest_bin) CCUNLOCK_CONFDIR=$2 CCUNLOCK_LIB=$VM_LIB \
		CCUNLOCK_BUILD_LIB=$VM_BUILD_LIB \
		dracutbasedir=$vm_bd_base \
		unshare -m --propagation private sh -euc '
			[ -z "$1" ] || mount -t overlay overlay -o "lowerdir=$1:/etc" /etc
			shift
			exec "$@"
		' vm-dracut "$vm_bd_etc" \
		dracut --force $vm_bd_host --no-early-microcode \
		--conf /dev/null --confdir "$VM_D/empty-confdir" \
		--kver "$VM_KVER" --kmoddir "$VM_KMODDIR" \
		-m "$vm_bd_mods" --omit "$vm_bd_omit" \
		--add-drivers "virtio_blk virtio_pci ext4" \
		${VM_HOSTS:+--include "$VM_HOSTS" /etc/hosts} \
		--compress "zstd -1 -q -T0" "$3"
}

# vm_build_itools CONFDIR OUT [keyscript]: mkinitramfs with a private
# configuration directory holding our staged hook and scripts, in a private
# mount namespace where /boot and /lib/modules show the unpacked kernel.
# keyscript: also Debian's cryptsetup-initramfs (hook and boot scripts from
# its package, unpacked, never installed), with an /etc/crypttab entry
# "VM_KS_NAME UUID=<good disk> none luks,initramfs,keyscript=ccunlock-keyscript"
# and /lib/cryptsetup as that package and our install have it; the namespace
# shows both over the host's /etc and /usr/lib. Nothing on the host changes:
# the mounts vanish with the namespace.
vm_build_itools() {
	vm_bi=$VM_D/itools-conf
	rm -rf "$vm_bi"
	mkdir -p "$vm_bi/conf.d" "$vm_bi/hooks" "$vm_bi/scripts"
	cp "$VM_STAGE/usr/share/initramfs-tools/hooks/ccunlock" "$vm_bi/hooks/"
	cp -R "$VM_STAGE/usr/share/initramfs-tools/scripts/." "$vm_bi/scripts/"
	vm_bi_extra=
	if [ "${3:-}" = keyscript ]; then
		vm_cryptsetup_pkgs || return 1
		vm_bi_extra=$VM_D/itools-ks
		rm -rf "$vm_bi_extra"
		mkdir -p "$vm_bi_extra/lib" "$vm_bi_extra/etc"
		vm_bi_cs=$VM_CS_ROOT/usr/share/initramfs-tools
		cp "$vm_bi_cs/hooks/cryptroot" "$vm_bi/hooks/" || return 1
		for vm_bi_s in local-top local-block local-bottom; do
			mkdir -p "$vm_bi/scripts/$vm_bi_s"
			cp "$vm_bi_cs/scripts/$vm_bi_s/cryptroot" "$vm_bi/scripts/$vm_bi_s/" || return 1
		done
		cp -R "$VM_CS_ROOT/lib/cryptsetup" "$vm_bi_extra/lib/" || return 1
		cp "$VM_STAGE/usr/lib/cryptsetup/scripts/ccunlock-keyscript" \
			"$vm_bi_extra/lib/cryptsetup/scripts/" || return 1
		printf '%s UUID=%s none luks,initramfs,keyscript=ccunlock-keyscript\n' \
			"$VM_KS_NAME" "$VM_LUKS_UUID" >"$vm_bi_extra/etc/crypttab"
	fi
	# MODULES=list: the disk and root fs drivers here, everything the unlock
	# needs (dm-crypt, NIC, sev-guest) must come from our hook.
	cat >"$vm_bi/initramfs.conf" <<'EOF'
MODULES=list
BUSYBOX=y
COMPRESS=zstd
COMPRESSLEVEL=1
DEVICE=
NFSROOT=auto
RUNSIZE=10%
FSTYPE=auto
EOF
	printf 'virtio_pci\nvirtio_blk\next4\n' >"$vm_bi/modules"
	if [ -n "${VM_HOSTS:-}" ]; then
		# the image builder's own hook: the broker's name in /etc/hosts
		# shellcheck disable=SC2016 # the hook expands it
		printf '%s\n' '#!/bin/sh' '[ "${1:-}" = prereqs ] && exit 0' \
			'. /usr/share/initramfs-tools/hook-functions' \
			"copy_file config '$VM_HOSTS' /etc/hosts" >"$vm_bi/hooks/vm-hosts"
		chmod +x "$vm_bi/hooks/vm-hosts"
	fi
	vm_bi_mods=$VM_D/itools-modules
	rm -rf "$vm_bi_mods"
	mkdir -p "$vm_bi_mods/upper" "$vm_bi_mods/work"
	export CCUNLOCK_BIN CCUNLOCK_CONFDIR CCUNLOCK_LIB VM_KVER VM_KBOOT VM_KMODDIR vm_bi vm_bi_mods \
		vm_bi_extra CCUNLOCK_BUILD_LIB CCUNLOCK_KEYSCRIPT_LIB
	CCUNLOCK_BIN=$(vm_provider_guest_bin)
	CCUNLOCK_CONFDIR=$1
	CCUNLOCK_LIB=$VM_LIB
	CCUNLOCK_BUILD_LIB=$VM_BUILD_LIB
	CCUNLOCK_KEYSCRIPT_LIB=$VM_KS_LIB
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private sh -euc '
		mount --bind "$VM_KBOOT" /boot
		lib=$(readlink -f /lib)
		if [ -d /lib/modules ] && [ -z "$vm_bi_extra" ]; then
			mount -t tmpfs tmpfs /lib/modules
		else
			# an overlay over the host library directory: room for
			# /lib/modules/KVER, and in keyscript mode /lib/cryptsetup
			lower=$lib
			[ -z "$vm_bi_extra" ] || lower=$vm_bi_extra/lib:$lib
			mount -t overlay overlay \
				-o "lowerdir=$lower,upperdir=$vm_bi_mods/upper,workdir=$vm_bi_mods/work" "$lib"
			if [ -d /lib/modules ]; then
				mount -t tmpfs tmpfs /lib/modules
			fi
		fi
		if [ -n "$vm_bi_extra" ]; then
			mount -t overlay overlay -o "lowerdir=$vm_bi_extra/etc:/etc" /etc
		fi
		mkdir -p "/lib/modules/$VM_KVER"
		mount --bind "$VM_KMODDIR" "/lib/modules/$VM_KVER"
		mkinitramfs -d "$vm_bi" -o "$1" "$VM_KVER"
	' vm-itools "$2"
}

# vm_cryptsetup_pkgs: Debian's cryptsetup-initramfs and cryptsetup packages
# (hook, boot scripts, /lib/cryptsetup), unpacked into build/vm-cache and
# never installed: cryptsetup-initramfs would pull in initramfs-tools' kernel
# hooks. Sets VM_CS_ROOT. Offline, the newest cached copy serves.
vm_cryptsetup_pkgs() {
	mkdir -p "$VM_CACHE"
	exec 7>"$VM_CACHE/.cryptsetup.lock"
	flock 7
	vm_cryptsetup_fetch
	vm_cs_rc=$?
	exec 7>&-
	return "$vm_cs_rc"
}

vm_cryptsetup_fetch() {
	vm_cs_ver=$(apt-cache policy cryptsetup-initramfs 2>/dev/null |
		awk '/Candidate:/ { print $2; exit }')
	case $vm_cs_ver in '(none)') vm_cs_ver= ;; esac
	vm_cs_base=$VM_CACHE/cryptsetup
	if [ -n "$vm_cs_ver" ]; then
		VM_CS_ROOT=$vm_cs_base/$(printf '%s' "$vm_cs_ver" | tr -c 'A-Za-z0-9.+~-' _)
		[ -e "$VM_CS_ROOT/ok" ] && return 0
		vm_cs_tmp=$vm_cs_base/.tmp-$$
		rm -rf "$vm_cs_tmp"
		mkdir -p "$vm_cs_tmp/deb"
		# apt drops privileges to _apt for the download
		id _apt >/dev/null 2>&1 && chown _apt "$vm_cs_tmp/deb"
		vm_log "downloading cryptsetup-initramfs and cryptsetup $vm_cs_ver"
		if (cd "$vm_cs_tmp/deb" && apt-get download -q "cryptsetup-initramfs=$vm_cs_ver" \
			"cryptsetup=$vm_cs_ver") >&2; then
			for vm_cs_deb in "$vm_cs_tmp"/deb/*.deb; do
				dpkg-deb -x "$vm_cs_deb" "$vm_cs_tmp/root" || return 1
			done
			# usr-merged packages put /lib under usr/lib
			if ! [ -d "$vm_cs_tmp/root/lib/cryptsetup" ] &&
				[ -d "$vm_cs_tmp/root/usr/lib/cryptsetup" ]; then
				mkdir -p "$vm_cs_tmp/root/lib"
				mv "$vm_cs_tmp/root/usr/lib/cryptsetup" "$vm_cs_tmp/root/lib/"
			fi
			rm -rf "$vm_cs_tmp/deb" "$VM_CS_ROOT"
			mv "$vm_cs_tmp/root" "$VM_CS_ROOT"
			rmdir "$vm_cs_tmp"
			: >"$VM_CS_ROOT/ok"
			return 0
		fi
		rm -rf "$vm_cs_tmp"
	fi
	VM_CS_ROOT=$(find "$vm_cs_base" -mindepth 2 -maxdepth 2 -name ok 2>/dev/null |
		sed 's|/ok$||' | sort -V | tail -n 1)
	if [ -z "$VM_CS_ROOT" ]; then
		vm_log "cannot get cryptsetup-initramfs (apt-get update?)"
		return 1
	fi
	vm_log "download failed; using the cached $VM_CS_ROOT"
}

# ---------------------------------------------------------------- broker

# vm_broker_start MODE: the provider's broker on 127.0.0.1:$VM_PORT, in the
# background (by PID), until it listens.
vm_broker_start() {
	vm_broker_stop
	vm_provider_broker_run "$1" "$VM_PORT" >>"$VM_BROKER_LOG" 2>&1 &
	VM_BROKER_PID=$!
	# a broker that exits has failed; one that is still starting on a busy
	# host gets VM_BROKER_START s
	if ! ccu_wait_listen "$VM_PORT" "$VM_BROKER_PID" "$VM_BROKER_START"; then
		vm_log "broker did not start ($VM_BROKER_LOG)"
		VM_BROKER_WHY=$(ccu_start_why "$VM_BROKER_LOG" "$VM_PORT")
		return 1
	fi
	# a provider may have to configure a running broker (policies via its
	# admin API)
	if command -v vm_provider_broker_ready >/dev/null 2>&1; then
		vm_provider_broker_ready "$1" "$VM_PORT" >>"$VM_BROKER_LOG" 2>&1 || {
			vm_log "broker ($1) could not be configured ($VM_BROKER_LOG)"
			return 1
		}
	fi
	return 0
}

vm_broker_stop() {
	if [ -n "$VM_BROKER_PID" ]; then
		kill "$VM_BROKER_PID" 2>/dev/null
		wait "$VM_BROKER_PID" 2>/dev/null
		VM_BROKER_PID=
	fi
	return 0
}

# ---------------------------------------------------------------- one boot

# vm_grep REGEX: the serial log of the current boot matches.
vm_grep() {
	grep -aEq -- "$1" "$VM_LOG" 2>/dev/null
}

# vm_boot INITRD DISKIMG APPEND [DISKIMG2]: one guest boot under TCG (the
# second disk, when given, is /dev/vdb). Sets VM_END
# (poweroff | reboot | halt | panic | shell | exited | timeout), VM_T_END and, when
# seen, VM_T_START (our "starting" line), VM_T_ROOT (the root marker) and
# VM_T_FAIL (a fail-closed line), all seconds since QEMU started.
# Meanwhile it types a shell probe into the console every VM_PROBE_EVERY s
# (a shell would print CCU-PROBE-42-<nonce>; the echo of the typed line
# shows $((6*7)) instead), starts a late broker when asked to, and with
# VM_TYPE_PASSPHRASE=yes answers passphrase prompts (see vm_pass_step).
# The boot times out after VM_TIMEOUT s, or later while the console keeps
# printing (up to VM_TIMEOUT_MAX): a slow host is not a hung guest.
vm_boot() {
	vm_b_fifo=$VM_CASE_PFX.serial
	rm -f "$vm_b_fifo.in" "$vm_b_fifo.out" "$VM_LOG"
	mkfifo "$vm_b_fifo.in" "$vm_b_fifo.out"
	: >"$VM_LOG"
	cat "$vm_b_fifo.out" >"$VM_LOG" &
	VM_CAT_PID=$!
	# read-write: opening never blocks, writing never blocks on a dead QEMU
	exec 9<>"$vm_b_fifo.in"
	VM_PROBE_NONCE=$(vm_nonce)
	VM_PROBES=0
	vm_b_tpm=
	if [ -n "${VM_TPM:-}" ]; then
		vm_b_tpm=$("$VM_TPM" start "$VM_CASE_PFX") || vm_log "TPM for the guest did not start"
	fi
	vm_b_t0=$(vm_now)
	# shellcheck disable=SC2046 # the optional second drive and TPM: words or none
	qemu-system-x86_64 -nodefaults -display none -no-reboot -accel tcg \
		-m "$VM_MEM" -smp 1 \
		-chardev "pipe,id=ser0,path=$vm_b_fifo" -serial chardev:ser0 \
		-kernel "$VM_VMLINUZ" -initrd "$1" -append "$3" \
		-drive "file=$2,if=virtio,format=raw,snapshot=on" \
		$([ -n "${4:-}" ] && printf '%s %s' -drive "file=$4,if=virtio,format=raw,snapshot=on") \
		-nic user,model=virtio-net-pci -device virtio-rng-pci \
		$([ -n "$vm_b_tpm" ] && printf '%s %s %s %s %s %s' -chardev "socket,id=chrtpm,path=$vm_b_tpm" \
			-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0) \
		>"$VM_CASE_PFX.qemu.log" 2>&1 &
	VM_QEMU_PID=$!
	VM_END=
	VM_T_START=
	VM_T_ROOT=
	VM_T_FAIL=
	VM_T_BROKER=
	VM_T_PROMPT=
	VM_PASS_PROMPTS=0
	VM_PASS_TYPED=0
	VM_PASS_RETYPED=0
	VM_PASS_REFUSED=0
	vm_b_probing=yes
	vm_b_last_probe=-999
	vm_b_next_probe=3
	vm_b_size=-1
	vm_b_grew=0
	while :; do
		vm_b_el=$(vm_since "$vm_b_t0")
		if ! kill -0 "$VM_QEMU_PID" 2>/dev/null; then
			VM_END=exited
			break
		fi
		[ -z "$VM_T_START" ] && vm_grep 'ccunlock: starting the attested unlock' && VM_T_START=$vm_b_el
		[ -z "$VM_T_ROOT" ] && vm_grep 'CCU-ROOT-OK nonce=' && VM_T_ROOT=$vm_b_el
		[ -z "$VM_T_FAIL" ] && vm_grep 'ccunlock: [A-Z_]+: .*; (powering off|rebooting)' && VM_T_FAIL=$vm_b_el
		if vm_grep 'reboot: System halted'; then
			VM_END=halt
			break
		fi
		if vm_shell_offered; then
			# a failure in itself: no need to wait for the timeout
			sleep 1
			VM_END=shell
			break
		fi
		if vm_grep 'Kernel panic - not syncing'; then
			sleep 1
			VM_END=panic
			break
		fi
		if [ -n "$VM_BROKER_LATE" ] && [ -n "$VM_T_START" ] &&
			[ "$(vm_retries)" -ge "$VM_BROKER_LATE" ]; then
			vm_broker_start "$VM_BROKER_LATE_MODE" || vm_log "late broker did not start"
			VM_T_BROKER=$vm_b_el
			VM_BROKER_LATE_AFTER=$(vm_retries)
			VM_BROKER_LATE=
		fi
		[ "${VM_TYPE_PASSPHRASE:-}" = yes ] && vm_pass_step
		if [ "$vm_b_probing" = yes ] && vm_ge "$vm_b_el" "$vm_b_next_probe"; then
			# \r first: ends whatever half line is there (and answers a
			# "Press Enter for maintenance")
			# shellcheck disable=SC2016 # typed literally; a shell would expand it
			printf '\recho CCU-PROBE-$((6*7))-%s\r' "$VM_PROBE_NONCE" >&9
			VM_PROBES=$((VM_PROBES + 1))
			vm_b_last_probe=$vm_b_el
			vm_b_next_probe=$((${vm_b_el%.*} + VM_PROBE_EVERY))
		fi
		if vm_ge "$vm_b_el" "$VM_TIMEOUT"; then
			# past the limit: only a guest that has stopped printing (or
			# the hard limit) times out
			vm_b_now_size=$(wc -c <"$VM_LOG" 2>/dev/null || echo 0)
			if [ "$vm_b_now_size" != "$vm_b_size" ]; then
				vm_b_size=$vm_b_now_size
				vm_b_grew=$vm_b_el
			fi
			if vm_ge "$vm_b_el" "$VM_TIMEOUT_MAX" ||
				vm_ge "$vm_b_el" "$(awk -v a="$vm_b_grew" -v b="$VM_QUIET" 'BEGIN { print a + b }')"; then
				VM_END=timeout
				break
			fi
		fi
		sleep 0.2
	done
	VM_T_END=$(vm_since "$vm_b_t0")
	kill "$VM_QEMU_PID" 2>/dev/null
	wait "$VM_QEMU_PID" 2>/dev/null
	VM_QEMU_PID=
	[ -n "$vm_b_tpm" ] && "$VM_TPM" stop "$VM_CASE_PFX"
	exec 9>&-
	wait "$VM_CAT_PID" 2>/dev/null
	VM_CAT_PID=
	rm -f "$vm_b_fifo.in" "$vm_b_fifo.out"
	if [ "$VM_END" = exited ]; then
		if vm_grep 'reboot: Power down'; then
			VM_END=poweroff
		elif vm_grep 'reboot: Restarting system|sysrq: Resetting'; then
			VM_END=reboot
		fi
	fi
	# one last look (the guest may have printed and stopped between polls)
	[ -z "$VM_T_ROOT" ] && vm_grep 'CCU-ROOT-OK nonce=' && VM_T_ROOT=$VM_T_END
	[ -z "$VM_T_FAIL" ] && vm_grep 'ccunlock: [A-Z_]+: .*; (powering off|rebooting)' && VM_T_FAIL=$VM_T_END
	VM_PASS_PROMPTS=$(vm_count "$VM_PASS_PROMPT_RE")
	VM_PASS_REFUSED=$(vm_count "$VM_PASS_REFUSED_RE")
	return 0
}

# vm_retries: the highest attempt number the guest has reported failing and
# is retrying (each line reaches the console twice: from the journal and
# from the kernel log), 0 when none.
vm_retries() {
	tr -d '\r' <"$VM_LOG" 2>/dev/null | grep -aEo -- "$VM_RETRY_RE" |
		sed -E 's/.*attempt ([0-9]+) of.*/\1/' | sort -n | tail -n 1 | grep . || echo 0
}

# vm_count REGEX: how many times REGEX matches in the serial log.
vm_count() {
	tr -d '\r' <"$VM_LOG" 2>/dev/null | grep -aEo -- "$1" | wc -l | tr -d ' '
}

# vm_type TEXT: type one line into the console for a program that reads it
# (a passphrase prompt): Ctrl-U first, so that in canonical mode whatever
# half line is already in the terminal's buffer is dropped, then TEXT and
# Enter. One write: nothing of ours comes between.
vm_type() {
	printf '\025%s\r' "$1" >&9
}

# vm_pass_step: one look at the console of a boot that answers passphrase
# prompts (VM_TYPE_PASSPHRASE=yes), from vm_boot's loop.
#
# The prompt is printed *before* the program turns echo off and flushes its
# input (cryptsetup: tcsetattr(TCSAFLUSH), which first waits until the prompt
# has left through the emulated UART); on a busy host a TCG guest can take
# seconds for that. A line typed in between is lost, or half of it (echoed)
# is read as a wrong passphrase. Shell probes typed while a prompt is up are
# read as passphrases too. Hence:
#   - once the unlock has started (or the fallback is announced, or a prompt
#     is up), no more shell probes: none can still be on its way when the
#     prompt comes up, a deadline later;
#   - a prompt is answered once it has been up for the settle time and no
#     probe was typed within that time. The settle time is VM_PASS_SETTLE s
#     or a tenth of the boot's time to the unlock's start (a measure of how
#     slow this guest is on this host), whichever is longer, doubled after
#     every refused or echoed answer;
#   - every new prompt (the last answer was refused) is answered again, up to
#     VM_PASS_TRIES prompts;
#   - an answer that got no reaction (no refusal, no new prompt, no root, no
#     fail-closed line: it was flushed) within VM_PASS_QUIET s or half the
#     boot's time to the unlock, whichever is longer, is typed once more, at
#     most VM_PASS_TRIES times. Typing it where it was read does no
#     harm: the program that read it no longer reads the console, and one
#     that still checks it flushes its input at its next prompt.
vm_pass_step() {
	if [ "$vm_b_probing" = yes ] &&
		{ [ -n "$VM_T_START" ] || vm_grep "ccunlock: FALLBACK: |$VM_PASS_PROMPT_RE"; }; then
		vm_b_probing=no
		# the boot so far measures how slow this guest is on this host
		vm_ps_boot=${VM_T_START:-$vm_b_el}
		vm_ps_settle=$(awk -v b="$vm_ps_boot" -v s="$VM_PASS_SETTLE" \
			'BEGIN { b /= 10; printf "%d", (b > s ? b : s) + 0.5 }')
		vm_ps_quiet=$(awk -v b="$vm_ps_boot" -v q="$VM_PASS_QUIET" \
			'BEGIN { b /= 2; printf "%d", (b > q ? b : q) + 0.5 }')
		vm_ps_refused=0
		vm_log "unlock started at $vm_b_el s: no more shell probes (settle $vm_ps_settle s, quiet $vm_ps_quiet s)"
	fi
	[ "$vm_b_probing" = no ] || return 0
	vm_ps_n=$(vm_count "$VM_PASS_PROMPT_RE")
	if [ "$vm_ps_n" -gt "$VM_PASS_PROMPTS" ]; then
		VM_PASS_PROMPTS=$vm_ps_n
		vm_ps_seen=$vm_b_el
		[ -n "$VM_T_PROMPT" ] || VM_T_PROMPT=$vm_b_el
		vm_ps_r=$(vm_count "$VM_PASS_REFUSED_RE")
		if [ "$VM_PASS_TYPED" -gt "${VM_PASS_WRONG:-0}" ] && [ "$vm_ps_r" -gt "$vm_ps_refused" ]; then
			# our passphrase was refused: give the guest more time
			vm_ps_settle=$((vm_ps_settle * 2))
		fi
		vm_ps_refused=$vm_ps_r
	fi
	if [ "$VM_PASS_PROMPTS" -gt "$VM_PASS_TYPED" ] && [ "$VM_PASS_TYPED" -lt "$VM_PASS_TRIES" ]; then
		vm_ge "$vm_b_el" "$(awk -v a="$vm_ps_seen" -v b="$vm_b_last_probe" -v s="$vm_ps_settle" \
			'BEGIN { print (a > b ? a : b) + s }')" || return 0
		if [ "$VM_PASS_TYPED" -lt "${VM_PASS_WRONG:-0}" ]; then
			vm_type "$VM_PASSPHRASE-wrong"
		else
			vm_type "$VM_PASSPHRASE"
		fi
		VM_PASS_TYPED=$((VM_PASS_TYPED + 1))
		vm_ps_typed_at=$vm_b_el
		vm_ps_echoed=$(vm_count "${VM_PASSPHRASE#ccu-fallback-}")
		vm_log "prompt $VM_PASS_PROMPTS up since $vm_ps_seen s: passphrase typed at $vm_b_el s (settle $vm_ps_settle s)"
		return 0
	fi
	[ "$VM_PASS_TYPED" -gt 0 ] && [ "$VM_PASS_PROMPTS" -eq "$VM_PASS_TYPED" ] || return 0
	if [ "$(vm_count "${VM_PASSPHRASE#ccu-fallback-}")" -gt "$vm_ps_echoed" ]; then
		# the guest echoed it: typed before echo was off
		vm_ps_echoed=$((vm_ps_echoed + 1))
		vm_ps_settle=$((vm_ps_settle * 2))
		vm_log "the passphrase was echoed (typed before the prompt turned echo off): settle now $vm_ps_settle s"
	fi
	if [ "$VM_PASS_RETYPED" -lt "$VM_PASS_TRIES" ] && [ -z "$VM_T_ROOT" ] && [ -z "$VM_T_FAIL" ] &&
		vm_ge "$vm_b_el" "$(awk -v a="$vm_ps_typed_at" -v b="$vm_ps_quiet" 'BEGIN { print a + b }')"; then
		if [ "$(vm_count "$VM_PASS_REFUSED_RE")" -eq "$vm_ps_refused" ]; then
			vm_type "$VM_PASSPHRASE"
			VM_PASS_RETYPED=$((VM_PASS_RETYPED + 1))
			vm_log "no reaction $vm_ps_quiet s after the passphrase: typed again at $vm_b_el s"
		fi
		vm_ps_typed_at=$vm_b_el
	fi
	return 0
}

# vm_ge A B: A >= B (decimals).
vm_ge() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'
}

# vm_shell_offered: the console showed a shell, a shell prompt, or executed a
# typed probe.
vm_shell_offered() {
	vm_grep "CCU-PROBE-42-$VM_PROBE_NONCE" && return 0
	vm_grep 'Dropping to debug shell|Entering emergency mode|Give root password|Press Enter for maintenance|\(initramfs\) |built-in shell \(ash\)|:/# |You are in (emergency|rescue) mode'
}

# ---------------------------------------------------------------- cases

vm_plan() {
	plan "$1"
}

# vm_selected TITLE: CCU_VM_CASES selects it (or nothing is selected).
vm_selected() {
	[ -z "${CCU_VM_CASES:-}" ] && return 0
	printf '%s\n' "$1" | grep -Eq -- "$CCU_VM_CASES"
}

# vm_case TAG DISK BROKER EXPECT TITLE [KERNEL ARGS...]: one boot, one TAP line.
vm_case() {
	vm_c_tag=$1
	vm_c_disk=$2
	vm_c_broker=$3
	vm_c_expect=$4
	vm_c_title="$1: $5"
	shift 5
	VM_CASE_N=$((VM_CASE_N + 1))
	if ! vm_selected "$vm_c_title"; then
		vm_skip "$vm_c_title" "not selected by CCU_VM_CASES"
		return 0
	fi
	vm_c_var=$(vm_tagvar "$vm_c_tag")
	eval "vm_c_failed=\${VM_IMG_FAILED_$vm_c_var:-}"
	eval "vm_c_kind=\${VM_IMG_KIND_$vm_c_var:-}"
	vm_c_action=poweroff
	eval "vm_c_action=\${VM_IMG_ACTION_$vm_c_var:-poweroff}"
	if [ -n "$vm_c_failed" ] || [ -z "$vm_c_kind" ]; then
		not_ok "$vm_c_title"
		diag "image $vm_c_tag not available: ${vm_c_failed:-not built}"
		return 0
	fi
	VM_CASE_PFX=$VM_D/case$(printf %02d "$VM_CASE_N")
	VM_LOG=$VM_CASE_PFX.console.log
	VM_BROKER_LOG=$VM_CASE_PFX.broker.log
	: >"$VM_BROKER_LOG"
	VM_BROKER_LATE=
	VM_BROKER_LATE_AFTER=
	vm_c_deadline=
	case $vm_c_broker in
	down) vm_broker_stop ;;
	late:*)
		vm_broker_stop
		VM_BROKER_LATE=${vm_c_broker#late:}
		VM_BROKER_LATE_MODE=allow
		case $VM_BROKER_LATE in
		*:*)
			VM_BROKER_LATE_MODE=${VM_BROKER_LATE#*:}
			VM_BROKER_LATE=${VM_BROKER_LATE%%:*}
			;;
		esac
		;;
	*)
		if ! vm_broker_start "$vm_c_broker"; then
			not_ok "$vm_c_title"
			diag "broker ($vm_c_broker) did not start: $VM_BROKER_LOG: $VM_BROKER_WHY"
			return 0
		fi
		;;
	esac
	# no_timer_check: on a busy host the emulated timer can miss the
	# kernel's early IO-APIC timer check, which then panics ("IO-APIC +
	# timer doesn't work!") before anything of ours runs
	vm_c_append="console=ttyS0 root=/dev/mapper/$VM_ROOT_NAME ro no_timer_check"
	for vm_c_a in "$@"; do
		# @UUID@: the good disk's LUKS UUID
		case $vm_c_a in
		*@UUID@*) vm_c_a=$(printf '%s' "$vm_c_a" | sed "s/@UUID@/$VM_LUKS_UUID/g") ;;
		esac
		vm_c_append="$vm_c_append $vm_c_a"
		case $vm_c_a in
		rd.ccunlock.deadline=*) vm_c_deadline=${vm_c_a#rd.ccunlock.deadline=} ;;
		esac
	done
	VM_TYPE_PASSPHRASE=
	VM_PASS_WRONG=0
	VM_DEADLINE_DIAG=
	case $vm_c_expect in
	fallback) VM_TYPE_PASSPHRASE=yes ;;
	fallback:wrong)
		VM_TYPE_PASSPHRASE=yes
		VM_PASS_WRONG=1
		;;
	esac
	vm_log "case $VM_CASE_N: $vm_c_title ($vm_c_append)"
	vm_c_disk2=
	case $vm_c_disk in
	*+decoy)
		vm_c_disk=${vm_c_disk%+decoy}
		vm_c_disk2=$VM_D/disk-decoy/disk.img
		;;
	esac
	vm_boot "$VM_D/initrd-$vm_c_tag.img" "$VM_D/disk-$vm_c_disk/disk.img" "$vm_c_append" ${vm_c_disk2:+"$vm_c_disk2"}
	vm_broker_stop
	VM_PROBES_TOTAL=$((VM_PROBES_TOTAL + VM_PROBES))

	vm_c_why=
	vm_c_shell=no
	if vm_shell_offered; then
		vm_c_shell=yes
		VM_SHELL_SEEN=$((VM_SHELL_SEEN + 1))
		vm_c_why="$vm_c_why; the console offered a shell"
	fi
	if [ "${vm_c_expect%:*}" != fallback ] &&
		vm_grep '[Pp]lease enter passphrase|Enter passphrase for|Password \(|Passphrase for|Please unlock disk'; then
		vm_c_why="$vm_c_why; a passphrase prompt appeared"
	fi
	case $vm_c_expect in
	fallback | fallback:wrong)
		if [ "$VM_PASS_WRONG" -gt 0 ]; then
			[ "$VM_PASS_REFUSED" -ge "$VM_PASS_WRONG" ] ||
				vm_c_why="$vm_c_why; the wrong passphrase was not refused"
			[ "$VM_PASS_PROMPTS" -gt "$VM_PASS_WRONG" ] ||
				vm_c_why="$vm_c_why; no prompt after the wrong passphrase"
		fi
		vm_grep 'ccunlock: FALLBACK: attested unlock failed' ||
			vm_c_why="$vm_c_why; no FALLBACK line before the prompt"
		[ -n "$VM_T_PROMPT" ] || vm_c_why="$vm_c_why; no passphrase prompt (nothing typed)"
		[ "$VM_PASS_TYPED" -gt 0 ] || [ -z "$VM_T_PROMPT" ] ||
			vm_c_why="$vm_c_why; the prompt never settled (nothing typed)"
		vm_grep "CCU-ROOT-OK nonce=$VM_NONCE_GOOD" || vm_c_why="$vm_c_why; no root marker with the good disk's nonce"
		[ "$VM_END" = poweroff ] || vm_c_why="$vm_c_why; ended by $VM_END, not the root's power-off"
		vm_c_result_t=${VM_T_ROOT:--}
		;;
	root)
		vm_grep "CCU-ROOT-OK nonce=$VM_NONCE_GOOD" || vm_c_why="$vm_c_why; no root marker with the good disk's nonce"
		[ -z "$VM_T_FAIL" ] || vm_c_why="$vm_c_why; a fail-closed line appeared"
		[ "$VM_END" = poweroff ] || vm_c_why="$vm_c_why; ended by $VM_END, not the root's power-off"
		if [ -n "$VM_BROKER_LATE" ] || { [ "${vm_c_broker%%:*}" = late ] && [ -z "$VM_T_BROKER" ]; }; then
			vm_c_why="$vm_c_why; the late broker was never started"
		elif [ -n "$VM_T_BROKER" ] && [ -n "$VM_T_ROOT" ] && vm_ge "$VM_T_BROKER" "$VM_T_ROOT"; then
			vm_c_why="$vm_c_why; the root came before the late broker started"
		fi
		vm_c_result_t=${VM_T_ROOT:--}
		;;
	refuse:*)
		VM_REFUSED_CASES=$((VM_REFUSED_CASES + 1))
		vm_grep "${vm_c_expect#refuse:}" || vm_c_why="$vm_c_why; no console line matching '${vm_c_expect#refuse:}'"
		[ -n "$VM_T_FAIL" ] || vm_c_why="$vm_c_why; no fail-closed line"
		vm_grep 'CCU-ROOT-OK' && vm_c_why="$vm_c_why; the root was reached"
		[ -n "${VM_NONCE_NULLHDR:-}" ] && vm_grep "$VM_NONCE_NULLHDR" &&
			vm_c_why="$vm_c_why; the host's plaintext root ran"
		vm_grep 'EXT4-fs \(dm-[0-9]+\): mounted' && vm_c_why="$vm_c_why; the encrypted root was mounted"
		[ "$VM_END" = "$vm_c_action" ] || vm_c_why="$vm_c_why; ended by $VM_END, not $vm_c_action"
		[ -n "$vm_c_deadline" ] && vm_deadline_check "$vm_c_deadline"
		vm_c_result_t=${VM_T_FAIL:--}
		;;
	esac
	vm_c_reason=$(tr -d '\r' <"$VM_LOG" | grep -aEo 'ccunlock: [A-Z_]+: .*' | head -n 3 | tr '\n' '|')
	if [ -z "$vm_c_why" ]; then
		ok "$vm_c_title"
		vm_c_res=PASS
	else
		not_ok "$vm_c_title"
		vm_c_res=FAIL
		diag "why:${vm_c_why#;}"
		diag "console log: $VM_LOG (last lines below)"
		tail -n 25 "$VM_LOG" | tr -d '\r' | awk '{ print "#   | " $0 }'
	fi
	case $vm_c_expect in
	fallback*) diag "passphrase prompt at ${VM_T_PROMPT:-?} s (unlock started at ${VM_T_START:-?} s), root at ${VM_T_ROOT:-?} s; ended by $VM_END at $VM_T_END s; $VM_PASS_PROMPTS prompts, passphrase typed $VM_PASS_TYPED times (+$VM_PASS_RETYPED repeated), refused $VM_PASS_REFUSED times; $VM_PROBES shell probes typed, shell offered: $vm_c_shell" ;;
	root) diag "boot-to-root ${VM_T_ROOT:-?} s${VM_T_BROKER:+ (broker started at $VM_T_BROKER s, after the guest reported $VM_BROKER_LATE_AFTER failed attempts)}; ended by $VM_END at $VM_T_END s; $VM_PROBES shell probes typed, shell offered: $vm_c_shell" ;;
	*) diag "refused at ${VM_T_FAIL:-?} s (unlock started at ${VM_T_START:-?} s); ended by $VM_END at $VM_T_END s; $VM_PROBES shell probes typed, shell offered: $vm_c_shell" ;;
	esac
	[ -n "$VM_DEADLINE_DIAG" ] && diag "$VM_DEADLINE_DIAG"
	[ -n "$vm_c_reason" ] && diag "console: ${vm_c_reason%|}"
	vm_result_row "$vm_c_title" "$vm_c_kind" "$vm_c_expect" "$vm_c_res" "$vm_c_result_t"
	return 0
}

# vm_guest_ts REGEX: the guest's clock (the kernel's timestamp, seconds since
# it started) on the first kernel message "[ SECONDS] REGEX..." on the
# console; empty when there is none (a line written to the console directly
# has no timestamp).
vm_guest_ts() {
	tr -d '\r' <"$VM_LOG" | grep -aEo -- "\[ *[0-9]+\.[0-9]+\] ($1)" | head -n 1 |
		sed -E 's/^\[ *([0-9]+\.[0-9]+)\].*/\1/'
}

# vm_deadline_check DEADLINE: a refused boot ended within its deadline. The
# deadline runs on the guest's clock, so the check does too: from the
# kernel's timestamp on "starting the attested unlock" to the one on the
# kernel's last line (power-off, restart, halt). The margin (shutdown, and
# a slow guest on a busy host) is the boot's own measured time from the
# kernel's start to the unlock's start on the same clock: a host that is
# twice as slow doubles both, so the verdict does not depend on the host's
# speed; a deadline that is not kept (the default of 120 s, retries past
# it) stays far outside. VM_DEADLINE_MARGIN (CCU_VM_DEADLINE_MARGIN) fixes
# the margin instead. Without kernel timestamps: QEMU's start, the host's
# clock, the same rule. Appends to vm_c_why; sets VM_DEADLINE_DIAG.
vm_deadline_check() {
	vm_dc_start=$(vm_guest_ts 'ccunlock: starting the attested unlock')
	vm_dc_end=$(vm_guest_ts 'reboot: (Power down|Restarting system|System halted)|sysrq: Resetting')
	vm_dc_clock=guest
	if [ -z "$vm_dc_start" ] || [ -z "$vm_dc_end" ]; then
		[ -n "$VM_T_START" ] || return 0
		vm_dc_clock=host
		vm_dc_start=$VM_T_START
		vm_dc_end=$VM_T_END
	fi
	vm_dc_margin=$(awk -v m="${VM_DEADLINE_MARGIN:-$vm_dc_start}" 'BEGIN { printf "%.1f", m }')
	vm_dc_took=$(awk -v a="$vm_dc_end" -v b="$vm_dc_start" 'BEGIN { printf "%.1f", a - b }')
	vm_dc_limit=$(awk -v d="$1" -v m="$vm_dc_margin" 'BEGIN { printf "%.1f", d + m }')
	VM_DEADLINE_DIAG="deadline $1 s: ended $vm_dc_took s after the unlock started ($vm_dc_clock clock; limit $vm_dc_limit s = deadline + ${VM_DEADLINE_MARGIN:+fixed }margin $vm_dc_margin s)"
	vm_ge "$vm_dc_took" "$vm_dc_limit" &&
		vm_c_why="$vm_c_why; ended $vm_dc_took s after the unlock started ($vm_dc_clock clock; limit $vm_dc_limit s)"
	return 0
}

vm_result_row() {
	if ! [ -s "$VM_RESULTS" ]; then
		printf 'date\tscript\tcase\timage\texpect\tresult\tboot_to_root_s\trefused_at_s\tend\tend_s\tprobes\tkernel\tprovider\n' >"$VM_RESULTS"
	fi
	vm_rr_root=-
	vm_rr_fail=-
	case $3 in
	root | fallback*) vm_rr_root=$5 ;;
	*) vm_rr_fail=$5 ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%FT%T)" "$VM_NAME" \
		"$1" "$2" "$3" "$4" "$vm_rr_root" "$vm_rr_fail" "$VM_END" "$VM_T_END" "$VM_PROBES" \
		"$VM_KVER" "$VM_PROVIDER_NAME" >>"$VM_RESULTS"
}

# vm_shell_summary: case 7 of the suite as its own line: across every
# refused boot of this script, the console never offered a shell.
vm_shell_summary() {
	VM_CASE_N=$((VM_CASE_N + 1))
	if [ "$VM_REFUSED_CASES" -eq 0 ]; then
		vm_skip "no failing case offered a shell on the console" "no failing case ran"
	elif [ "$VM_SHELL_SEEN" -eq 0 ]; then
		ok "no failing case offered a shell on the console ($VM_REFUSED_CASES refused boots, $VM_PROBES_TOTAL probes typed in all boots)"
	else
		not_ok "no failing case offered a shell on the console ($VM_SHELL_SEEN boots did)"
	fi
}

vm_finish() {
	vm_cleanup
	diag "$VM_NAME: $VM_CASE_N tests in $(vm_since "$VM_T_SCRIPT") s"
	done_testing
	exit $?
}
