#!/usr/bin/env bats
# tools/install-extra.sh (make install): layout, modes and the build-time
# choices written into the installed files.

load early_boot_helpers

setup() {
	D=$BATS_TEST_TMPDIR/dest
}

installed() {
	DESTDIR=$D "$@" "$TOP/tools/install-extra.sh"
}

@test "default install: layout and modes" {
	run installed env
	assert_success
	for f in usr/lib/ccunlock/ccunlock-lib.sh usr/lib/ccunlock/ccunlock-keyscript.sh \
		usr/lib/ccunlock/ccunlock-build.sh usr/share/ccunlock/ccunlock.conf.example \
		usr/lib/dracut/modules.d/90ccunlock/ccunlock.service \
		usr/lib/dracut/modules.d/90ccunlock/ccunlock-emergency.conf; do
		[ "$(stat -c %a "$D/$f")" = 644 ]
	done
	for f in usr/lib/dracut/modules.d/90ccunlock/module-setup.sh \
		usr/lib/dracut/modules.d/90ccunlock/ccunlock-boot.sh \
		usr/share/initramfs-tools/hooks/ccunlock \
		usr/share/initramfs-tools/scripts/local-top/ccunlock \
		usr/share/initramfs-tools/scripts/local-bottom/ccunlock \
		usr/share/initramfs-tools/scripts/panic/ccunlock \
		usr/share/initramfs-tools/scripts/init-bottom/ccunlock \
		usr/lib/cryptsetup/scripts/ccunlock-keyscript; do
		[ "$(stat -c %a "$D/$f")" = 755 ]
	done
	# configuring is the image builder's act: no ccunlock.conf is installed
	[ -d "$D/etc/ccunlock" ]
	[ ! -e "$D/etc/ccunlock/ccunlock.conf" ]
	run grep -x 'CCU_FAIL_ACTION=poweroff' "$D/usr/lib/ccunlock/ccunlock-lib.sh"
	assert_success
	run grep -x 'CCU_FALLBACK_PROMPT=no' "$D/usr/lib/ccunlock/ccunlock-lib.sh"
	assert_success
}

@test "every installed script parses" {
	installed env
	for f in $(find "$D" -type f \( -name '*.sh' -o -perm -u+x \)); do
		sh -n "$f"
	done
}

@test "FAIL_ACTION=reboot: library, units and fallbacks all reboot" {
	run installed env FAIL_ACTION=reboot
	assert_success
	run grep -x 'CCU_FAIL_ACTION=reboot' "$D/usr/lib/ccunlock/ccunlock-lib.sh"
	assert_success
	run grep -rhE '^[A-Za-z]+Action=' "$D/usr/lib/dracut/modules.d/90ccunlock"
	assert_line "FailureAction=reboot-force"
	assert_line "SuccessAction=reboot-force"
	refute_line --partial poweroff
	run grep -rl 'echo o >/proc/sysrq-trigger' "$D"
	assert_failure
	run grep -rl 'echo b >/proc/sysrq-trigger' "$D"
	assert_success
}

@test "FAIL_ACTION=reboot: the library's command line defaults follow" {
	installed env FAIL_ACTION=reboot
	. "$D/usr/lib/ccunlock/ccunlock-build.sh"
	. "$D/usr/lib/ccunlock/ccunlock-lib.sh"
	echo 'broker_url = https://x' >"$BATS_TEST_TMPDIR/c.conf"
	run ccu_build_cmdline "$BATS_TEST_TMPDIR/c.conf"
	assert_output --partial "rd.emergency=reboot"
}

@test "FALLBACK_PROMPT=yes is written into the library" {
	run installed env FALLBACK_PROMPT=yes
	assert_success
	run grep -x 'CCU_FALLBACK_PROMPT=yes' "$D/usr/lib/ccunlock/ccunlock-lib.sh"
	assert_success
}

@test "install paths become the build hooks' defaults" {
	run installed env LIBDIR=/usr/lib64 SBINDIR=/opt/sbin SYSCONFDIR=/opt/etc
	assert_success
	m=$D/usr/lib64/dracut/modules.d/90ccunlock/module-setup.sh
	run grep -c 'CCUNLOCK_LIB:-/usr/lib64/ccunlock/ccunlock-lib.sh' "$m"
	assert_output 3
	run grep -c 'CCUNLOCK_BIN:-/opt/sbin/ccunlock' "$m"
	assert_output 1
	run grep -c 'CCUNLOCK_CONFDIR:-/opt/etc/ccunlock' "$m"
	assert_output 1
	run grep -c 'CCUNLOCK_LIB:-/usr/lib64/ccunlock/ccunlock-lib.sh' "$D/usr/share/initramfs-tools/hooks/ccunlock"
	assert_output 2
	run grep -x 'ccu_ks_host_lib=/usr/lib64/ccunlock/ccunlock-lib.sh' \
		"$D/usr/lib64/cryptsetup/scripts/ccunlock-keyscript"
	assert_success
	run grep -x 'ccu_ks_host_kslib=/usr/lib64/ccunlock/ccunlock-keyscript.sh' \
		"$D/usr/lib64/cryptsetup/scripts/ccunlock-keyscript"
	assert_success
	run grep -c 'CCUNLOCK_BUILD_LIB:-/usr/lib64/ccunlock/ccunlock-build.sh' "$m"
	assert_output 1
	run grep -c 'CCUNLOCK_BUILD_LIB:-/usr/lib64/ccunlock/ccunlock-build.sh' \
		"$D/usr/share/initramfs-tools/hooks/ccunlock"
	assert_output 2
	# paths inside the initramfs never move
	run grep -x 'CCU_BIN=/usr/sbin/ccunlock' "$D/usr/lib64/ccunlock/ccunlock-lib.sh"
	assert_success
}

@test "invalid choices are refused before anything is installed" {
	run installed env FAIL_ACTION=halt
	assert_failure
	assert_output --partial "FAIL_ACTION must be poweroff or reboot"
	[ ! -e "$D" ]
	run installed env FALLBACK_PROMPT=maybe
	assert_failure
	[ ! -e "$D" ]
	run installed env LIBDIR=relative/lib
	assert_failure
	[ ! -e "$D" ]
}

@test "the boot library carries no build-host code (split by where it runs)" {
	installed env
	# the build functions are only in the build part, which no image gets
	run grep -cE '^ccu_(build_[a-z_]+|itools_hook|itools_copy|itools_has_module)\(\)' \
		"$D/usr/lib/ccunlock/ccunlock-lib.sh" "$D/usr/lib/ccunlock/ccunlock-keyscript.sh"
	assert_output --regexp '^[^:]+:0'$'\n''[^:]+:0$'
	run grep -cE '^ccu_build_check\(\)' "$D/usr/lib/ccunlock/ccunlock-build.sh"
	assert_output 1
	run grep -cE '^ccu_keyscript\(\)' "$D/usr/lib/ccunlock/ccunlock-lib.sh"
	assert_output 0
}
