#!/usr/bin/env bats
# modules.d/90ccunlock/module-setup.sh, sourced as dracut does, with dracut's
# helpers stubbed: they record what would be installed (and inst_simple /
# inst_binary really copy into a fake $initdir, so content can be checked).

load early_boot_helpers

setup() {
	ccu_sandbox
	initdir=$T/initdir
	moddir=$TOP/modules.d/90ccunlock
	systemdsystemunitdir=/usr/lib/systemd/system
	dracutsysrootdir=$T/sysroot
	SYSTEMCTL=systemctl
	mkdir -p "$initdir" "$dracutsysrootdir/etc" "$T/confdir"
	export CCUNLOCK_BIN=$T/bin/ccunlock
	export CCUNLOCK_CONFDIR=$T/confdir
	# build time: the library as installed, with the sandbox's runtime paths
	# except the binary's place in the image
	printf '. %s\nCCU_BIN=/usr/sbin/ccunlock\n' "$T/lib.sh" >"$T/lib-build.sh"
	export CCUNLOCK_LIB=$T/lib-build.sh
	export CCUNLOCK_BUILD_LIB=$REAL_BUILD_LIB CCUNLOCK_KEYSCRIPT_LIB=$REAL_KS_LIB
	ccu_fake_binary 0
	printf 'broker_url = https://192.0.2.1:8443\nbroker_ca = /etc/ccunlock/ca.pem\n' \
		>"$T/confdir/ccunlock.conf"
	echo "CA" >"$T/confdir/ca.pem"
	echo "SECRET" >"$T/confdir/admin.key"
	INCLUDED="crypt dm rootfs-block network network-legacy"

	dracut_module_included() {
		case " $INCLUDED " in *" $1 "*) return 0 ;; esac
		return 1
	}
	inst_binary() { echo "inst_binary $*" >>"$T/calls"; ccu_inst_copy "$@"; }
	inst_simple() { echo "inst_simple $*" >>"$T/calls"; ccu_inst_copy "$@"; }
	inst_script() { echo "inst_script $*" >>"$T/calls"; ccu_inst_copy "$@"; }
	inst_multiple() { echo "inst_multiple $*" >>"$T/calls"; }
	inst_hook() { echo "inst_hook $*" >>"$T/calls"; }
	instmods() { echo "instmods $*" >>"$T/calls"; return "${INSTMODS_RC:-0}"; }
	dracut_need_initqueue() { echo "dracut_need_initqueue" >>"$T/calls"; }
	dfatal() { echo "dfatal $*" >>"$T/calls"; }
	# shellcheck source=../../modules.d/90ccunlock/module-setup.sh
	. "$moddir/module-setup.sh"
}

ccu_inst_copy() {
	[ -f "$1" ] || return 1
	mkdir -p "$initdir$(dirname "${2:-$1}")"
	cp "$1" "$initdir${2:-$1}"
}

systemd_flavour() {
	INCLUDED="systemd systemd-initrd dracut-systemd crypt dm rootfs-block network systemd-networkd"
}

# ------------------------------------------------------------ check / depends

@test "check: not configured -> only on request (255)" {
	rm "$T/confdir/ccunlock.conf"
	run check
	assert_failure 255
}

@test "check: configured but the binary is missing -> cannot (1)" {
	rm "$T/bin/ccunlock"
	run check
	assert_failure 1
}

@test "check: configured -> every image (0)" {
	run check
	assert_success
}

@test "depends: shell initrd asks for network-legacy before network" {
	INCLUDED=""
	run depends
	assert_output "crypt dm rootfs-block network-legacy network"
}

@test "depends: systemd initrd leaves the network handler to dracut" {
	systemd_flavour
	run depends
	assert_output "crypt dm rootfs-block network"
}

# ------------------------------------------------------------ installkernel

@test "installkernel: dm_crypt required, SNP evidence interfaces, NIC drivers, LUKS2 ciphers" {
	run installkernel
	assert_success
	run cat "$T/calls"
	assert_line "instmods -c dm_crypt"
	assert_line "instmods -c sev-guest"
	assert_line --partial "instmods sev-guest tsm_report tsm virtio_net virtio_pci"
	# hostonly builds filter by the build host's modules: the ciphers of
	# aes-xts-plain64 must come whatever the build host has loaded
	assert_line --regexp '^instmods xts .*aesni_intel aes_generic .*algif_skcipher'
}

@test "installkernel: fails without dm_crypt" {
	instmods() { echo "instmods $*" >>"$T/calls"; [ "$2" != dm_crypt ]; }
	run installkernel
	assert_failure
}

@test "installkernel: fails without any SEV-SNP guest interface" {
	instmods() {
		echo "instmods $*" >>"$T/calls"
		[ "$1" = -c ] && [ "$2" != dm_crypt ] && return 1
		return 0
	}
	run installkernel
	assert_failure
	run cat "$T/calls"
	assert_line --partial "dfatal ccunlock: the kernel has no SEV-SNP guest interface"
}

# ------------------------------------------------------------ install: both flavours

@test "install: binary, library, configuration and CA; never the rest of /etc/ccunlock" {
	run install
	assert_success
	run cat "$T/calls"
	assert_line "inst_simple $T/bin/ccunlock /usr/sbin/ccunlock"
	refute_line --partial inst_binary
	assert_line "inst_simple $T/lib-build.sh /usr/lib/ccunlock/ccunlock-lib.sh"
	# the build part is sourced here, never installed into the image
	refute_line --partial "ccunlock-build.sh"
	[ -z "$(find "$initdir" -name 'ccunlock-build.sh')" ]
	assert_line "inst_simple $T/confdir/ccunlock.conf /etc/ccunlock/ccunlock.conf"
	assert_line "inst_simple $T/confdir/ca.pem /etc/ccunlock/ca.pem"
	assert_line "inst_script $TOP/modules.d/90ccunlock/ccunlock-boot.sh /usr/lib/ccunlock/ccunlock-boot"
	refute_line --partial admin.key
	[ ! -e "$initdir/etc/ccunlock/admin.key" ]
	assert_equal "$(cat "$initdir/etc/ccunlock/ca.pem")" CA
}

@test "install: emergency, shutdown-emergency and pre-pivot guards in every flavour" {
	for flavour in shell systemd; do
		: >"$T/calls"
		[ "$flavour" = systemd ] && systemd_flavour
		run install
		assert_success
		run cat "$T/calls"
		assert_line "inst_hook emergency 00 $moddir/ccunlock-emergency.sh"
		assert_line "inst_hook shutdown-emergency 00 $moddir/ccunlock-emergency.sh"
		assert_line "inst_hook pre-pivot 00 $moddir/ccunlock-guard.sh"
	done
}

@test "install: command line defaults keep dracut's crypt handling and shells away" {
	run install
	assert_success
	run cat "$initdir/etc/cmdline.d/90ccunlock.conf"
	assert_output "rd.neednet=1 rd.shell=0 rd.emergency=poweroff rd.luks=0 rd.retry=210"
}

@test "install: refuses a dynamically linked binary, installs nothing" {
	cp /bin/true "$T/bin/ccunlock"
	run install
	assert_failure
	assert_output --partial "is dynamically linked"
	run cat "$T/calls"
	assert_line "dfatal ccunlock: refusing to build an initramfs that cannot unlock"
	refute_line --partial "inst_simple $T/bin/ccunlock"
	refute_line --partial inst_hook
}

@test "install: refuses when the binary is missing, installs nothing" {
	rm "$T/bin/ccunlock"
	run install
	assert_failure
	run cat "$T/calls"
	assert_line "dfatal ccunlock: refusing to build an initramfs that cannot unlock"
	refute_line --partial "inst_simple $T/bin/ccunlock"
	refute_line --partial inst_hook
}

@test "install: refuses when the configuration is missing" {
	rm "$T/confdir/ccunlock.conf"
	run install
	assert_failure
	run cat "$T/calls"
	refute_line --partial "inst_simple $T/bin/ccunlock"
}

@test "install: refuses when the broker CA is missing" {
	rm "$T/confdir/ca.pem"
	run install
	assert_failure
	assert_output --partial "broker CA /etc/ccunlock/ca.pem"
	run cat "$T/calls"
	refute_line --partial "inst_simple $T/bin/ccunlock"
}

@test "install: refuses when the library cannot be read" {
	export CCUNLOCK_LIB=$T/missing-lib.sh
	unset ccu_module_loaded
	run install
	assert_failure
	run cat "$T/calls"
	assert_line --partial "dfatal ccunlock: cannot read $T/missing-lib.sh"
}

@test "install: FALLBACK_PROMPT=yes builds add cryptsetup" {
	ccu_module_lib
	CCU_FALLBACK_PROMPT=yes
	run install
	assert_success
	run cat "$T/calls"
	assert_line "inst_multiple cryptsetup"
}

# ------------------------------------------------------------ install: shell initrd

@test "install (shell initrd): initqueue hooks, no systemd units" {
	run install
	assert_success
	run cat "$T/calls"
	assert_line "inst_hook initqueue/online 90 $moddir/ccunlock-online.sh"
	assert_line "inst_hook initqueue/settled 90 $moddir/ccunlock-settled.sh"
	assert_line "inst_hook initqueue/finished 90 $moddir/ccunlock-finished.sh"
	assert_line "inst_hook initqueue/timeout 90 $moddir/ccunlock-timeout.sh"
	assert_line dracut_need_initqueue
	refute_line --partial ccunlock.service
	[ ! -e "$initdir/etc/systemd" ]
}

@test "the dracut hooks are sourced: no exit, no set -e, a guarded library" {
	for h in online settled finished timeout emergency guard; do
		f=$moddir/ccunlock-$h.sh
		run grep -Ec '^[^#]*\<(exit|set -e)\>' "$f"
		assert_output 0
		run grep -c '^if \[ -r /usr/lib/ccunlock/ccunlock-lib.sh \] && \. /usr/lib/ccunlock/ccunlock-lib.sh; then$' "$f"
		assert_output 1
	done
}

@test "initqueue/online hook, sourced twice: one background unlock" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 0
	hook=$(ccu_script_copy "$moddir/ccunlock-online.sh")
	. "$hook"
	. "$hook"
	wait
	run grep -c '^ccunlock unlock$' "$T/calls"
	assert_output 1
	[ -e "$T/run/unlocked" ]
	hook=$(ccu_script_copy "$moddir/ccunlock-finished.sh")
	. "$hook"
}

@test "emergency hook powers off (and still does without the library)" {
	hook=$(ccu_script_copy "$moddir/ccunlock-emergency.sh")
	run sh "$hook"
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
	: >"$T/sysrq"
	sed -i "s|$T/lib.sh|$T/missing.sh|g" "$hook"
	run sh "$hook"
	assert_failure 143 # the endless wait, ended by the sleep stub
	assert_equal "$(head -c 1 "$T/sysrq")" o
	run cat "$T/console"
	assert_line --partial "is missing; powering off"
}

# ------------------------------------------------------------ install: systemd initrd

@test "install (systemd initrd): the unit, wanted by initrd.target, with the build's timeout" {
	systemd_flavour
	run install
	assert_success
	run cat "$T/calls"
	assert_line "inst_simple $moddir/ccunlock.service /usr/lib/systemd/system/ccunlock.service"
	refute_line --partial "inst_hook initqueue"
	[ "$(readlink "$initdir/etc/systemd/system/initrd.target.wants/ccunlock.service")" = \
		/usr/lib/systemd/system/ccunlock.service ]
	run cat "$initdir/etc/systemd/system/ccunlock.service.d/timeout.conf"
	assert_output "$(printf '[Service]\nTimeoutStartSec=210')"
}

@test "ccunlock.service: after network-online, before the root, fails closed, finite timeout" {
	u=$moddir/ccunlock.service
	run grep -E '^(Wants|After|Before|FailureAction|TimeoutStartSec|DefaultDependencies|ExecStart)=' "$u"
	assert_line "DefaultDependencies=no"
	assert_line "Wants=network-online.target"
	assert_line --regexp '^After=.*network-online.target'
	assert_line --regexp '^Before=.*initrd-root-device.target'
	assert_line "FailureAction=poweroff-force"
	assert_line --regexp '^TimeoutStartSec=[0-9]+$'
	assert_line "ExecStart=/usr/lib/ccunlock/ccunlock-boot unlock"
	# no ordering against the crypt chain: NetworkManager initrds would cycle
	run grep -E '^(After|Before)=.*cryptsetup' "$u"
	assert_failure
}

@test "install (systemd initrd): emergency and rescue power off, debug-shell masked" {
	systemd_flavour
	run install
	assert_success
	for u in emergency.service rescue.service dracut-emergency.service; do
		run cat "$initdir/etc/systemd/system/$u.d/90-ccunlock.conf"
		assert_line "ExecStart="
		assert_line "ExecStart=/usr/lib/ccunlock/ccunlock-boot emergency"
		assert_line "FailureAction=poweroff-force"
		assert_line "SuccessAction=poweroff-force"
		assert_line "StandardInput=null"
	done
	[ "$(readlink "$initdir/etc/systemd/system/debug-shell.service")" = /dev/null ]
}

@test "install (systemd initrd): dracut's units for our volume are replaced (crypttab, rd.luks.uuid)" {
	systemd_flavour
	echo "device = UUID=1111-2222" >>"$T/confdir/ccunlock.conf"
	cat >"$dracutsysrootdir/etc/crypttab" <<'EOF'
# our volume, under its crypttab name
root_crypt UUID=1111-2222 none luks,discard
# another volume: not ours
data_crypt UUID=3333-4444 /etc/keys/data luks
EOF
	run install
	assert_success
	d=$initdir/etc/systemd/system
	[ -f "$d/systemd-cryptsetup@root_crypt.service" ]
	[ -f "$d/systemd-cryptsetup@luks\\x2d1111\\x2d2222.service" ]
	[ ! -e "$d/systemd-cryptsetup@data_crypt.service" ]
	run cat "$d/systemd-cryptsetup@root_crypt.service"
	assert_line "ExecStart=/usr/lib/ccunlock/ccunlock-boot owned root_crypt"
	refute_line --partial "Before="
}

@test "install (systemd initrd): a DHCP fallback for systemd-networkd" {
	systemd_flavour
	run install
	assert_success
	run cat "$initdir/usr/lib/systemd/network/99-ccunlock-dhcp.network"
	assert_line "Type=ether"
	assert_line "DHCP=yes"
}

@test "ccunlock-boot: unknown command fails closed, owned logs only" {
	boot=$(ccu_script_copy "$moddir/ccunlock-boot.sh")
	run sh "$boot" owned root_crypt
	assert_success
	assert_equal "$(cat "$T/sysrq")" ""
	run sh "$boot" bogus
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
}
