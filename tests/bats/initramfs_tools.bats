#!/usr/bin/env bats
# hook/: the initramfs-tools hook (build time) with hook-functions stubbed,
# and the boot scripts (local-top, local-bottom, panic, init-bottom) run in
# the sandbox of early_boot_helpers.bash.

load early_boot_helpers

setup() {
	ccu_sandbox
	export DESTDIR=$T/destdir version=6.1.0-test MODULESDIR=$T/kernel
	mkdir -p "$DESTDIR/lib/modules/$version" "$MODULESDIR" "$T/kmods" "$T/confdir"
	: >"$MODULESDIR/modules.builtin"
	for m in dm_mod dm_crypt sev-guest virtio_net; do : >"$T/kmods/$m"; done
	# the dmsetup package's hook (it brings the device-mapper udev rules)
	echo '# dmsetup hook' >"$T/dmsetup-hook"
	ccu_fake_binary 0
	printf 'broker_url = https://192.0.2.1:8443\nbroker_ca = /etc/ccunlock/ca.pem\n' \
		>"$T/confdir/ccunlock.conf"
	echo CA >"$T/confdir/ca.pem"
	echo SECRET >"$T/confdir/admin.key"
	printf '. %s\nCCU_BIN=/usr/sbin/ccunlock\nCCU_DM_HOOK=%s\n' "$T/lib.sh" "$T/dmsetup-hook" \
		>"$T/lib-build.sh"
	export CCUNLOCK_BIN=$T/bin/ccunlock CCUNLOCK_CONFDIR=$T/confdir CCUNLOCK_LIB=$T/lib-build.sh
	export CCUNLOCK_BUILD_LIB=$REAL_BUILD_LIB CCUNLOCK_KEYSCRIPT_LIB=$REAL_KS_LIB
	# initramfs-tools' hook-functions, reduced to what the hook uses
	cat >"$T/hook-functions" <<'EOS'
copy_file() {
	[ -f "$2" ] || return 2
	t=${3:-$2}
	[ -e "$DESTDIR$t" ] && return 1
	mkdir -p "$DESTDIR$(dirname "$t")"
	echo "copy_file $*" >>"$CCU_TEST_CALLS"
	cp -p "$2" "$DESTDIR$t"
}
copy_exec() {
	echo "copy_exec $*" >>"$CCU_TEST_CALLS"
	copy_file binary "$@" || return $(($? - 1))
}
manual_add_modules() {
	echo "manual_add_modules $*" >>"$CCU_TEST_CALLS"
	for m in "$@"; do
		[ -e "$CCU_TEST_KMODS/$m" ] && : >"$DESTDIR/lib/modules/$version/$m.ko"
	done
	return 0
}
EOS
	export CCU_TEST_KMODS=$T/kmods
	HOOK=$(ccu_script_copy "$TOP/hook/hooks/ccunlock")
}

@test "hook: prereqs" {
	run "$HOOK" prereqs
	assert_success
	assert_output ""
}

@test "hook: the binary alone, library, configuration, CA, modules" {
	run "$HOOK"
	assert_success
	[ -x "$DESTDIR/usr/sbin/ccunlock" ]
	[ -f "$DESTDIR/usr/lib/ccunlock/ccunlock-lib.sh" ]
	# the keyscript part for cryptroot; the build part stays on the build host
	[ -f "$DESTDIR/usr/lib/ccunlock/ccunlock-keyscript.sh" ]
	[ -z "$(find "$DESTDIR" -name 'ccunlock-build.sh')" ]
	assert_equal "$(cat "$DESTDIR/etc/ccunlock/ca.pem")" CA
	cmp "$T/confdir/ccunlock.conf" "$DESTDIR/etc/ccunlock/ccunlock.conf"
	[ ! -e "$DESTDIR/etc/ccunlock/admin.key" ]
	run cat "$T/calls"
	assert_line "copy_file binary $T/bin/ccunlock /usr/sbin/ccunlock"
	# nothing is copied with its libraries on our behalf
	refute_line --partial copy_exec
	refute_line --partial dmsetup
	assert_line --regexp '^manual_add_modules dm_mod dm_crypt xts .*aes_generic .*algif_skcipher .*sev-guest tsm_report .*virtio_net'
	refute_line --partial cryptsetup
}

@test "hook: refuses a dynamically linked guest binary" {
	cp /bin/true "$T/bin/ccunlock"
	run "$HOOK"
	assert_failure
	assert_output --partial "is dynamically linked"
	[ ! -e "$DESTDIR/usr/sbin/ccunlock" ]
}

@test "hook: device-mapper rules already in the image will do" {
	rm "$T/dmsetup-hook"
	mkdir -p "$DESTDIR/usr/lib/udev/rules.d"
	echo mine >"$DESTDIR/usr/lib/udev/rules.d/55-dm.rules"
	run "$HOOK"
	assert_success
	assert_equal "$(cat "$DESTDIR/usr/lib/udev/rules.d/55-dm.rules")" mine
}

@test "hook: test builds carry the simulator directory" {
	mkdir -p "$T/confdir/sim"
	echo platform >"$T/confdir/sim/platform.conf"
	echo 'simulator_dir = /etc/ccunlock/sim' >>"$T/confdir/ccunlock.conf"
	run "$HOOK"
	assert_success
	assert_equal "$(cat "$DESTDIR/etc/ccunlock/sim/platform.conf")" platform
}

@test "hook: a configured init-data document goes into the image; a missing one fails the build" {
	printf 'algorithm = "sha256"\nversion = "0.1.0"\n[data]\n' >"$T/confdir/initdata.toml"
	echo 'init_data = /etc/ccunlock/initdata.toml' >>"$T/confdir/ccunlock.conf"
	run "$HOOK"
	assert_success
	cmp "$T/confdir/initdata.toml" "$DESTDIR/etc/ccunlock/initdata.toml"
	rm -rf "$DESTDIR/etc" "$T/confdir/initdata.toml"
	run "$HOOK"
	assert_failure
	assert_output --partial "init_data /etc/ccunlock/initdata.toml"
}

@test "hook: fails the build without the binary" {
	rm "$T/bin/ccunlock"
	run "$HOOK"
	assert_failure
	assert_output --partial "guest binary $T/bin/ccunlock is missing"
	[ ! -e "$DESTDIR/usr/sbin/ccunlock" ]
}

@test "hook: fails the build without the CA" {
	rm "$T/confdir/ca.pem"
	run "$HOOK"
	assert_failure
	assert_output --partial "broker CA /etc/ccunlock/ca.pem"
}

@test "hook: installed but not configured (no ccunlock.conf): adds nothing, the build goes on" {
	rm "$T/confdir/ccunlock.conf"
	run "$HOOK"
	assert_success
	assert_output --partial "ccunlock.conf does not exist; ccunlock is not added to this initramfs"
	[ ! -e "$DESTDIR/usr/sbin/ccunlock" ]
	[ ! -e "$DESTDIR/usr/lib/ccunlock/ccunlock-lib.sh" ]
	run grep -cE 'copy_exec|copy_file|manual_add_modules' "$T/calls"
	assert_output 0
}

@test "hook: crypttab counting on ccunlock-keyscript without ccunlock.conf fails the build" {
	rm "$T/confdir/ccunlock.conf"
	printf 'root UUID=1 none luks,initramfs,keyscript=ccunlock-keyscript\n' >"$T/build-crypttab"
	run "$HOOK"
	assert_failure
	assert_output --partial "uses ccunlock-keyscript but $T/confdir/ccunlock.conf is missing"
}

@test "hook: fails the build when broker_url or broker_ca is not set" {
	echo 'deadline = 60' >"$T/confdir/ccunlock.conf"
	run "$HOOK"
	assert_failure
	assert_output --partial "broker_url is not set"
	assert_output --partial "broker_ca is not set"
}

@test "hook: fails the build without dm_crypt" {
	rm "$T/kmods/dm_crypt"
	run "$HOOK"
	assert_failure
	assert_output --partial "kernel $version has no dm_crypt module"
}

@test "hook: fails the build without an SEV-SNP guest interface" {
	rm "$T/kmods/sev-guest"
	run "$HOOK"
	assert_failure
	assert_output --partial "no SEV-SNP guest interface"
}

@test "hook: a built-in sev-guest is enough" {
	rm "$T/kmods/sev-guest"
	echo kernel/drivers/virt/coco/sev-guest/sev-guest.ko >"$MODULESDIR/modules.builtin"
	run "$HOOK"
	assert_success
}

@test "hook: fails the build when the image gets no device-mapper udev rules" {
	rm "$T/dmsetup-hook"
	run "$HOOK"
	assert_failure
	assert_output --partial "device-mapper udev rules will not be in the image"
}

@test "hook: FALLBACK_PROMPT=yes builds carry cryptsetup" {
	echo 'CCU_FALLBACK_PROMPT=yes' >>"$T/lib-build.sh"
	run "$HOOK"
	assert_success
	run cat "$T/calls"
	assert_line "copy_exec $T/bin/cryptsetup /usr/sbin/cryptsetup"
}

# ------------------------------------------------------------ boot scripts

functions_stub() {
	cat >"$T/functions" <<'EOS'
configure_networking() { echo configure_networking >>"$CCU_TEST_CALLS"; }
EOS
}

@test "boot scripts: prereqs" {
	for s in local-top local-bottom panic init-bottom; do
		script=$(ccu_script_copy "$TOP/hook/scripts/$s/ccunlock")
		run "$script" prereqs
		assert_success
		assert_output ""
	done
}

@test "local-top: network, then the unlock" {
	functions_stub
	ccu_conf broker_url=https://x
	script=$(ccu_script_copy "$TOP/hook/scripts/local-top/ccunlock")
	echo "CCU_NET_RUN=$T/run CCU_RESOLV=$T/etc/resolv.conf" >>"$T/overrides.sh"
	run "$script"
	assert_success
	run cat "$T/calls"
	assert_line --index 0 configure_networking
	assert_line "ccunlock unlock"
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "local-top: a refusal powers off instead of initramfs-tools' panic shell" {
	functions_stub
	ccu_conf broker_url=https://x
	ccu_fake_binary 6 "" "ccunlock: DENIED: measurement"
	echo "CCU_NET_RUN=$T/run CCU_RESOLV=$T/etc/resolv.conf" >>"$T/overrides.sh"
	script=$(ccu_script_copy "$TOP/hook/scripts/local-top/ccunlock")
	run "$script"
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
	run grep -c '^<3>ccunlock: DENIED: unlock failed (ccunlock exit status 6); powering off$' "$T/kmsg"
	assert_output 1
}

@test "boot scripts: no library in the image (ccunlock not configured): they do nothing" {
	functions_stub
	for s in local-top init-bottom panic local-bottom; do
		: >"$T/sysrq"
		script=$(ccu_script_copy "$TOP/hook/scripts/$s/ccunlock")
		sed -i "s|$T/lib.sh|$T/missing.sh|g" "$script"
		run "$script"
		assert_success
		assert_output ""
		assert_equal "$(cat "$T/sysrq")" ""
	done
}

@test "panic: powers off before initramfs-tools' shell" {
	script=$(ccu_script_copy "$TOP/hook/scripts/panic/ccunlock")
	run "$script"
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
	run grep -c '^<3>ccunlock: PANIC: ' "$T/kmsg"
	assert_output 1
}

@test "init-bottom: passes a clean command line, refuses init=" {
	script=$(ccu_script_copy "$TOP/hook/scripts/init-bottom/ccunlock")
	run "$script"
	assert_success
	assert_equal "$(cat "$T/sysrq")" ""
	echo 'root=/dev/mapper/x init=/bin/sh' >"$T/cmdline"
	run "$script"
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
}

@test "local-bottom: takes the network down after local-top" {
	echo "CCU_NET_RUN=$T/netrun" >>"$T/overrides.sh"
	mkdir -p "$T/netrun"
	printf "DEVICE='ens2'\n" >"$T/netrun/net-ens2.conf"
	: >"$T/run/network"
	script=$(ccu_script_copy "$TOP/hook/scripts/local-bottom/ccunlock")
	run "$script"
	assert_success
	run cat "$T/calls"
	assert_line "ip link set dev ens2 down"
}
