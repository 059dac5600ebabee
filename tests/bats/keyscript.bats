#!/usr/bin/env bats
# keyscripts/ccunlock-keyscript: crypttab keyscript= adapter. stdout carries
# the key and nothing else; on refusal, no output and a non-zero status.

load early_boot_helpers

setup() {
	ccu_sandbox
	KS=$(ccu_script_copy "$TOP/keyscripts/ccunlock-keyscript")
	# noise on stdout from every helper the adapter might run
	ccu_stub modprobe 0 "modprobe-noise"
	ccu_stub mount 0 "mount-noise"
	unset CRYPTTAB_TRIED
}

@test "success: stdout is exactly the key (no newline, no noise)" {
	ccu_fake_binary 0 'K3Y-bytes+/=' "ccunlock: some diagnostics"
	run --separate-stderr "$KS"
	assert_success
	[ "$output" = 'K3Y-bytes+/=' ]
	run sh -c "'$KS' 2>/dev/null | od -An -c | tr -d ' \n'"
	assert_output 'K3Y-bytes+/='
	run cat "$T/calls"
	assert_line "ccunlock keyscript"
}

@test "success: diagnostics go to stderr" {
	ccu_fake_binary 0 'key' "ccunlock: test build"
	run --separate-stderr "$KS"
	assert_success
	[[ $stderr == *"ccunlock: test build"* ]]
}

@test "refusal: no output, the binary's status" {
	ccu_fake_binary 6 "" "ccunlock: DENIED: measurement not allowed"
	run --separate-stderr "$KS"
	assert_failure 6
	assert_output ""
	[[ $stderr == *"ccunlock: DENIED: measurement not allowed"* ]]
}

@test "refusal: every exit code of the contract gives no output" {
	for rc in 2 3 4 5 6 7 8 9; do
		ccu_fake_binary "$rc"
		run --separate-stderr "$KS"
		assert_failure "$rc"
		assert_output ""
	done
}

@test "a retry after a refusal does not ask the broker again" {
	ccu_fake_binary 0 'key'
	CRYPTTAB_TRIED=1 run --separate-stderr "$KS"
	assert_failure
	assert_output ""
	run grep -c "ccunlock keyscript" "$T/calls"
	assert_output 0
}

@test "missing binary: no output, non-zero, a reason in the kernel log" {
	run --separate-stderr "$KS"
	assert_failure
	assert_output ""
	run grep -c 'MISSING_BINARY' "$T/kmsg"
	assert_output 1
}

@test "missing library: no output, non-zero" {
	sed -i "s|$T/lib.sh|$T/missing.sh|g" "$KS"
	ccu_fake_binary 0 'key'
	run --separate-stderr "$KS"
	assert_failure
	assert_output ""
}

@test "no console and no kernel log: our words still stay off stdout" {
	echo "CCU_CONSOLE=$T/none/console CCU_KMSG=$T/none/kmsg" >>"$T/overrides.sh"
	run --separate-stderr "$KS"
	assert_failure
	assert_output ""
	[[ $stderr == *MISSING_BINARY* ]]
}

@test "FALLBACK_PROMPT=yes: no askpass after a refusal (cryptroot would open the unchecked header)" {
	echo 'CCU_FALLBACK_PROMPT=yes' >>"$T/overrides.sh"
	ccu_fake_binary 8
	ccu_stub askpass 0 'typed-passphrase'
	run --separate-stderr "$KS"
	assert_failure 8
	assert_output ""
	run grep -c askpass "$T/calls"
	assert_output 0
	run grep -c 'FALLBACK: no passphrase prompt in keyscript mode' "$T/kmsg"
	assert_output 1
}

@test "FALLBACK_PROMPT=no: askpass is never run" {
	ccu_fake_binary 5
	ccu_stub askpass 0 'typed-passphrase'
	run --separate-stderr "$KS"
	assert_failure 5
	assert_output ""
	run grep -c askpass "$T/calls"
	assert_output 0
}

# ------------------------------------------------------------ in an initramfs

@test "initramfs: success prints the key and powers nothing off" {
	: >"$T/initrd-release"
	ccu_fake_binary 0 'key'
	run --separate-stderr "$KS"
	assert_success
	assert_output 'key'
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "initramfs: a refusal fails closed at once, with the reason, nothing on stdout" {
	mkdir -p "$T/conf"
	: >"$T/conf/initramfs.conf"
	ccu_fake_binary 6 "" "ccunlock: DENIED: measurement not allowed"
	CRYPTTAB_SOURCE=/dev/vda run --separate-stderr "$KS"
	assert_failure 86
	assert_output ""
	assert_equal "$(cat "$T/sysrq")" o
	run grep -c '^<3>ccunlock: DENIED: no key for /dev/vda (ccunlock exit status 6); powering off$' "$T/kmsg"
	assert_output 1
}

@test "initramfs: cryptsetup asking again fails closed without asking the broker" {
	: >"$T/initrd-release"
	ccu_fake_binary 0 'key'
	CRYPTTAB_TRIED=1 run --separate-stderr "$KS"
	assert_failure 86
	assert_output ""
	assert_equal "$(cat "$T/sysrq")" o
	run grep -c "ccunlock keyscript" "$T/calls"
	assert_output 0
	run grep -c '^<3>ccunlock: KEYSCRIPT: cryptsetup asked again (attempt 2)' "$T/kmsg"
	assert_output 1
}

@test "initramfs: a missing binary fails closed" {
	: >"$T/initrd-release"
	run --separate-stderr "$KS"
	assert_failure 86
	assert_output ""
	run grep -c '^<3>ccunlock: MISSING_BINARY: .*; powering off$' "$T/kmsg"
	assert_output 1
}
