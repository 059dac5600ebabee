#!/usr/bin/env bats
# lib/ccunlock-lib.sh: messages, fail-closed, command line rules, the unlock
# wrapper and the dracut shell-initrd hooks. Everything runs in a sandbox
# (early_boot_helpers.bash): no test can power off or reboot this machine.

load early_boot_helpers

setup() {
	ccu_sandbox
	# the guard's rules are the binary's: a stand-in that answers only
	# cmdline-check (ccu_fake_binary replaces it where a test needs more)
	ccu_real_binary
}

# ------------------------------------------------------------ exit codes

@test "exit names match src/ccunlock/exitcodes.h, code by code" {
	n=0
	while read -r name code; do
		run ccu_exit_name "$code"
		assert_output "$name"
		n=$((n + 1))
	done < <(sed -nE 's/^[[:space:]]*CCU_EXIT_([A-Z_]+)[[:space:]]*=[[:space:]]*([0-9]+).*/\1 \2/p' \
		"$TOP/src/ccunlock/exitcodes.h")
	[ "$n" -eq 9 ]
}

@test "exit names of statuses outside the contract" {
	run ccu_exit_name 1
	assert_output UNKNOWN
	run ccu_exit_name 127
	assert_output NOT_FOUND
	run ccu_exit_name 137
	assert_output KILLED
}

# ------------------------------------------------------------ messages

@test "ccu_log: kernel log line; the console stays quiet when the kernel echoes it" {
	ccu_log 3 "X: something"
	assert_equal "$(cat "$T/kmsg")" "<3>ccunlock: X: something"
	assert_equal "$(cat "$T/console")" ""
}

@test "ccu_log: console line when the console log level hides it" {
	echo '3 4 1 7' >"$T/printk"
	ccu_log 3 "X: quiet kernel"
	assert_equal "$(cat "$T/console")" "ccunlock: X: quiet kernel"
	assert_equal "$(cat "$T/kmsg")" "<3>ccunlock: X: quiet kernel"
}

@test "ccu_log: console line when there is no kernel log" {
	CCU_KMSG=$T/nonexistent/kmsg
	ccu_log 3 "X: no kmsg"
	assert_equal "$(cat "$T/console")" "ccunlock: X: no kmsg"
}

@test "ccu_log: never writes to stdout" {
	CCU_CONSOLE=$T/nonexistent/console
	CCU_KMSG=$T/nonexistent/kmsg
	run --separate-stderr ccu_log 3 "X: stderr only"
	assert_output ""
	[ "$stderr" = "ccunlock: X: stderr only" ]
}

# ------------------------------------------------------------ fail closed

@test "ccu_fail_closed: one reason line, sysrq power-off, then it never returns" {
	run ccu_fail_closed NETWORK "broker unreachable"
	assert_failure 86
	assert_equal "$(cat "$T/kmsg")" "<3>ccunlock: NETWORK: broker unreachable; powering off"
	assert_equal "$(cat "$T/sysrq")" "o"
	run cat "$T/calls"
	assert_line "poweroff -f"
	assert_line "hang"
	refute_line --partial reboot
}

@test "ccu_fail_closed with FAIL_ACTION=reboot: sysrq reboot" {
	CCU_FAIL_ACTION=reboot
	run ccu_fail_closed DENIED "policy"
	assert_failure 86
	assert_equal "$(cat "$T/kmsg")" "<3>ccunlock: DENIED: policy; rebooting"
	assert_equal "$(cat "$T/sysrq")" "b"
	run cat "$T/calls"
	assert_line "reboot -f"
	refute_line --partial poweroff
}

@test "ccu_power_action falls back to the tools when sysrq cannot be written" {
	CCU_SYSRQ_TRIGGER=$T/nonexistent/sysrq-trigger
	run ccu_power_action
	run cat "$T/calls"
	assert_line "poweroff -f"
	assert_line "busybox poweroff -f"
}

# ------------------------------------------------------------ configuration

@test "ccu_conf_get: trims, skips comments, keeps '=' in values, reads a last line without newline" {
	printf '# broker_url = https://commented\n  broker_url =  https://10.0.0.1:8443  \nname=root=x\ndeadline = 30' \
		>"$T/etc/ccunlock.conf"
	run ccu_conf_get broker_url "$T/etc/ccunlock.conf"
	assert_output "https://10.0.0.1:8443"
	run ccu_conf_get name "$T/etc/ccunlock.conf"
	assert_output "root=x"
	run ccu_conf_get deadline "$T/etc/ccunlock.conf"
	assert_output "30"
	run ccu_conf_get device "$T/etc/ccunlock.conf"
	assert_failure
	run ccu_conf_get device "$T/missing.conf"
	assert_failure
}

@test "ccu_device_path: UUID=, a path, or nothing" {
	ccu_conf device=UUID=1234-abcd
	run ccu_device_path "$CCU_CONF"
	assert_output /dev/disk/by-uuid/1234-abcd
	ccu_conf device=/dev/vdb
	run ccu_device_path "$CCU_CONF"
	assert_output /dev/vdb
	ccu_conf broker_url=https://x
	run ccu_device_path "$CCU_CONF"
	assert_success
	assert_output ""
}

@test "ccu_deadline and ccu_map_name defaults" {
	ccu_conf broker_url=https://x
	run ccu_deadline "$CCU_CONF"
	assert_output 120
	run ccu_map_name "$CCU_CONF"
	assert_output ccunlock-root
	ccu_conf deadline=45 name=cryptroot
	run ccu_deadline "$CCU_CONF"
	assert_output 45
	run ccu_map_name "$CCU_CONF"
	assert_output cryptroot
	ccu_conf deadline=soon
	run ccu_deadline "$CCU_CONF"
	assert_output 120
}

# ------------------------------------------------------------ command line

@test "shared command-line cases (tests/data/cmdline_cases.txt) through the guard" {
	ccu_real_binary
	n=0
	while IFS= read -r case_line || [ -n "$case_line" ]; do
		case $case_line in '' | '#'*) continue ;; esac
		want=${case_line%% *}
		line=${case_line#* }
		n=$((n + 1))
		run ccu_cmdline_refused "$line"
		if [ "$want" = ok ]; then
			[ "$status" -eq 1 ] && [ -z "$output" ] ||
				fail "'$line': expected accepted, got: $output"
		else
			[ "$status" -eq 0 ] && [ "${output%%: *}" = "$want" ] ||
				fail "'$line': expected $want, got status $status: $output"
		fi
	done <"$TOP/tests/data/cmdline_cases.txt"
	[ "$n" -ge 100 ]
}

@test "the refusal names the parameter (one line, CODE: detail)" {
	ccu_real_binary
	run ccu_cmdline_refused "console=ttyS0 root=/dev/mapper/x rd.shell=0 \"init=/bin/sh\" quiet"
	assert_success
	assert_output "CMDLINE_REFUSED: kernel command line 'init=/bin/sh': would replace init"
}

@test "command line words are not globbed" {
	ccu_real_binary
	touch "$T/init=evil"
	cd "$T"
	run ccu_cmdline_refused "root=/dev/x in*"
	assert_failure
}

@test "a binary that cannot run refuses the command line (fail closed)" {
	rm "$T/bin/ccunlock"
	run ccu_cmdline_refused "root=/dev/x quiet"
	assert_success
	assert_output --partial "MISSING_BINARY: "
	ccu_stub ccunlock 9
	run ccu_cmdline_refused "root=/dev/x quiet"
	assert_success
	assert_output "CMDLINE_REFUSED: $T/bin/ccunlock cmdline-check failed (exit status 9)"
}

@test "ccu_cmdline_refused reads /proc/cmdline by default" {
	ccu_real_binary
	echo 'root=/dev/x rd.break=pre-pivot' >"$T/cmdline"
	run ccu_cmdline_refused
	assert_output --partial "CMDLINE_REFUSED: kernel command line 'rd.break=pre-pivot': "
}

@test "ccu_guard: a clean command line passes silently" {
	ccu_real_binary
	run ccu_guard
	assert_success
	assert_output ""
	assert_equal "$(cat "$T/calls")" ""
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "ccu_guard: init=/bin/sh powers off with its reason" {
	ccu_real_binary
	echo 'root=/dev/x init=/bin/sh' >"$T/cmdline"
	run ccu_guard
	assert_failure 86
	assert_equal "$(cat "$T/kmsg")" \
		"<3>ccunlock: CMDLINE_REFUSED: kernel command line 'init=/bin/sh': would replace init; powering off"
	assert_equal "$(cat "$T/sysrq")" o
}

@test "ccu_guard: rd.shell=no is allowed as documented (the unlocked boot goes on)" {
	ccu_real_binary
	echo 'root=/dev/x rd.shell=no' >"$T/cmdline"
	run ccu_guard /sysroot
	assert_success
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "ccu_guard: a binary that cannot run powers off" {
	rm "$T/bin/ccunlock"
	echo 'root=/dev/x' >"$T/cmdline"
	run ccu_guard
	assert_failure 86
	run grep -c "^<3>ccunlock: MISSING_BINARY: .*; powering off\$" "$T/kmsg"
	assert_output 1
}

# ------------------------------------------------------------ root binding

@test "ccu_guard DIR: the root on our LUKS2 mapping passes" {
	for dir in /sysroot /root; do
		run ccu_guard "$dir"
		assert_success
		assert_output ""
	done
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "ccu_guard DIR: root=/dev/vdb (another disk) powers off with ROOT_MISMATCH" {
	ccu_fake_block vdb 254:16
	ccu_fake_mount 254:16 /dev/vdb /sysroot
	run ccu_guard /sysroot
	assert_failure 86
	assert_equal "$(cat "$T/kmsg")" \
		"<3>ccunlock: ROOT_MISMATCH: the root to be started (/dev/vdb at /sysroot) is not on the volume ccunlock unlocked (ccunlock-root); powering off"
	assert_equal "$(cat "$T/sysrq")" o
}

@test "ccu_root_on_volume: LVM (or any dm/md layer) on our volume passes" {
	ccu_fake_block dm-1 253:1 vg-root LVM-abc dm-0
	ccu_fake_block md0 9:0 "" "" dm-1
	ccu_fake_mount 9:0 /dev/md0 /sysroot
	run ccu_root_on_volume /sysroot
	assert_success
}

@test "ccu_root_on_volume: a device named like ours that is not LUKS2 is refused" {
	rm "$T/dev/mapper/ccunlock-root"
	ccu_fake_block dm-5 253:5 ccunlock-root LVM-impostor vdb
	ccu_fake_mount 253:5 /dev/mapper/ccunlock-root /sysroot
	run ccu_root_on_volume /sysroot
	assert_failure
	assert_output --partial "is not on the volume ccunlock unlocked (ccunlock-root)"
}

@test "ccu_root_on_volume: another LUKS2 mapping is refused; the configured name counts" {
	ccu_fake_block dm-2 253:2 luks-other CRYPT-LUKS2-ffff-luks-other vdb
	ccu_fake_mount 253:2 /dev/mapper/luks-other /root
	run ccu_root_on_volume /root
	assert_failure
	ccu_conf name=luks-other
	run ccu_root_on_volume /root
	assert_success
}

@test "ccu_root_on_volume: keyscript mode owns the crypttab names using ccunlock-keyscript" {
	ccu_fake_block dm-3 253:3 root_crypt CRYPT-LUKS2-eeee-root_crypt vda
	ccu_fake_mount 253:3 /dev/mapper/root_crypt /root
	printf 'root_crypt UUID=1 none luks,keyscript=/lib/cryptsetup/scripts/ccunlock-keyscript\n' >"$T/etc/crypttab"
	run ccu_root_on_volume /root
	assert_success
	printf 'root_crypt UUID=1 none luks\n' >"$T/etc/crypttab"
	run ccu_root_on_volume /root
	assert_failure
}

@test "ccu_root_on_volume: btrfs (no device number of its own) is found by its source" {
	echo "31 1 0:45 / /sysroot rw - btrfs /dev/mapper/ccunlock-root rw" >>"$T/mountinfo"
	run ccu_root_on_volume /sysroot
	assert_success
	echo "32 1 0:46 / /sysroot rw - btrfs /dev/vdb rw" >>"$T/mountinfo"
	ccu_fake_block vdb 254:16
	run ccu_root_on_volume /sysroot
	assert_failure
}

@test "ccu_root_on_volume: nothing mounted, or no mountinfo: refused" {
	run ccu_root_on_volume /elsewhere
	assert_failure
	assert_output "nothing is mounted at /elsewhere"
	rm "$T/mountinfo"
	run ccu_root_on_volume /sysroot
	assert_failure
}

@test "ccu_root_on_volume: the walk down the stack is bounded" {
	prev=dm-0
	for i in $(seq 10 20); do
		ccu_fake_block "dm-$i" "253:$i" "layer$i" "LVM-$i" "$prev"
		prev=dm-$i
	done
	ccu_fake_mount 253:20 /dev/mapper/layer20 /sysroot
	run ccu_root_on_volume /sysroot
	assert_failure
	ccu_fake_mount 253:15 /dev/mapper/layer15 /sysroot
	run ccu_root_on_volume /sysroot
	assert_success
}

@test "ccu_stack_has keeps the caller's noglob setting" {
	set -f
	run ccu_root_on_volume /sysroot
	assert_success
	case $- in *f*) ;; *) false ;; esac
	set +f
}

# ------------------------------------------------------------ unlock

@test "ccu_unlock: success marks the root unlocked and powers nothing off" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 0
	run ccu_unlock
	assert_success
	[ -e "$T/run/unlocked" ]
	run cat "$T/calls"
	assert_line "ccunlock unlock"
	refute_line --partial poweroff
	assert_equal "$(cat "$T/sysrq")" ""
	run grep -c 'starting the attested unlock' "$T/kmsg"
	assert_output 1
}

@test "ccu_unlock: every non-zero exit powers off with the exit's name" {
	ccu_conf broker_url=https://x
	for rc in 2 3 4 5 6 7 8 9 1 139; do
		: >"$T/kmsg"
		: >"$T/sysrq"
		ccu_fake_binary "$rc" "" "ccunlock: SOME_CODE: detail"
		run ccu_unlock
		assert_failure 86
		name=$(ccu_exit_name "$rc")
		run grep -c "^<3>ccunlock: $name: unlock failed (ccunlock exit status $rc); powering off\$" "$T/kmsg"
		assert_output 1
		assert_equal "$(cat "$T/sysrq")" o
		[ ! -e "$T/run/unlocked" ]
	done
}

@test "ccu_unlock: a hung binary is killed after its deadline plus a margin" {
	ccu_conf broker_url=https://x deadline=30
	ccu_fake_binary 0
	cat >"$T/bin/timeout" <<'EOS'
#!/bin/sh
echo "timeout $*" >>"$CCU_TEST_CALLS"
exit 137
EOS
	chmod +x "$T/bin/timeout"
	run ccu_unlock
	assert_failure 86
	run cat "$T/calls"
	assert_line "timeout -s KILL 90 $T/bin/ccunlock unlock"
	run grep -c 'KILLED: unlock failed (ccunlock exit status 137); powering off' "$T/kmsg"
	assert_output 1
}

@test "ccu_unlock: the binary's own reason line is passed through on stderr" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 5 "" "ccunlock: BROKER_UNREACHABLE: no answer"
	run --separate-stderr ccu_unlock
	assert_failure 86
	[[ $stderr == *"ccunlock: BROKER_UNREACHABLE: no answer"* ]]
}

@test "ccu_unlock: a missing binary powers off" {
	rm "$T/bin/ccunlock"
	run ccu_unlock
	assert_failure 86
	run grep -c "MISSING_BINARY: $T/bin/ccunlock is not in the initramfs; powering off" "$T/kmsg"
	assert_output 1
	assert_equal "$(cat "$T/sysrq")" o
}

@test "ccu_unlock: already unlocked, nothing runs again" {
	ccu_fake_binary 0
	: >"$T/run/unlocked"
	run ccu_unlock
	assert_success
	assert_equal "$(cat "$T/calls")" ""
}

@test "ccu_unlock: no passphrase prompt unless built with FALLBACK_PROMPT=yes" {
	ccu_conf broker_url=https://x device=/dev/null
	ccu_fake_binary 6
	run ccu_unlock
	assert_failure 86
	run cat "$T/calls"
	refute_line --partial cryptsetup
}

@test "ccu_unlock: FALLBACK_PROMPT=yes asks cryptsetup on the console, then boots" {
	dev=$(find /dev -maxdepth 1 -type b 2>/dev/null | head -n 1)
	[ -n "$dev" ] || skip "no block device node on this machine"
	CCU_FALLBACK_PROMPT=yes
	ccu_conf broker_url=https://x "device=$dev" name=cryptroot
	ccu_fake_binary 5
	# the binary leaves the header copy it checked
	mkdir -p "$T/run"
	echo copy >"$T/run/luks-header.img"
	run ccu_unlock
	assert_success
	[ -e "$T/run/unlocked" ]
	run cat "$T/calls"
	assert_line "cryptsetup open --header $T/run/luks-header.img --tries=3 --timeout=300 $dev cryptroot"
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "ccu_unlock: FALLBACK_PROMPT=yes without a checked header copy (refused header) powers off" {
	dev=$(find /dev -maxdepth 1 -type b 2>/dev/null | head -n 1)
	[ -n "$dev" ] || skip "no block device node on this machine"
	CCU_FALLBACK_PROMPT=yes
	ccu_conf broker_url=https://x "device=$dev" name=cryptroot
	ccu_fake_binary 8
	run ccu_unlock
	assert_failure 86
	run cat "$T/calls"
	refute_line --partial cryptsetup
	run grep -c '^<3>ccunlock: DEVICE: unlock failed (ccunlock exit status 8); powering off' "$T/kmsg"
	assert_output 1
}

@test "ccu_unlock: FALLBACK_PROMPT=yes and a wrong passphrase still power off" {
	dev=$(find /dev -maxdepth 1 -type b 2>/dev/null | head -n 1)
	[ -n "$dev" ] || skip "no block device node on this machine"
	CCU_FALLBACK_PROMPT=yes
	ccu_conf broker_url=https://x "device=$dev"
	ccu_fake_binary 6
	ccu_stub cryptsetup 2
	mkdir -p "$T/run"
	echo copy >"$T/run/luks-header.img"
	run ccu_unlock
	assert_failure 86
	run grep -c 'DENIED: unlock failed (ccunlock exit status 6); powering off' "$T/kmsg"
	assert_output 1
}

@test "ccu_unlock: FALLBACK_PROMPT=yes without a configured device powers off" {
	CCU_FALLBACK_PROMPT=yes
	ccu_conf broker_url=https://x
	ccu_fake_binary 6
	run ccu_unlock
	assert_failure 86
	run cat "$T/calls"
	refute_line --partial cryptsetup
}

@test "ccu_wait_device: bounded wait for a configured device, then the binary decides" {
	CCU_DEVICE_WAIT=2
	ccu_conf device=UUID=0000-not-there
	run ccu_wait_device
	assert_success
	run grep -c '^sleep 1$' "$T/calls"
	assert_output "$CCU_DEVICE_WAIT"
}

@test "ccu_wait_device: without a device, udev settles (bounded)" {
	ccu_conf broker_url=https://x
	run ccu_wait_device
	assert_success
	run cat "$T/calls"
	assert_line "udevadm settle --timeout=10"
}

# ------------------------------------------------------------ dracut shell initrd

@test "ccu_dracut_start: settled without an address waits, starts nothing" {
	ccu_fake_binary 0
	ccu_stub ip 0 ""
	run ccu_dracut_start settled
	assert_success
	[ ! -e "$T/run/started" ]
	run cat "$T/calls"
	refute_line "ccunlock unlock"
}

@test "ccu_dracut_start: online starts the unlock once, in the background" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 0
	ccu_dracut_start online
	ccu_dracut_start online
	ccu_dracut_start settled
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -e "$T/run/unlocked" ] && break
		command sleep 0.2
	done
	wait
	[ -e "$T/run/unlocked" ]
	run grep -c '^ccunlock unlock$' "$T/calls"
	assert_output 1
	ccu_dracut_finished
}

@test "ccu_dracut_start: settled with an address starts it too" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 0
	ccu_stub ip 0 "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0"
	ccu_dracut_start settled
	wait
	[ -e "$T/run/started" ]
}

@test "ccu_dracut_finished: false until unlocked" {
	run ccu_dracut_finished
	assert_failure
	: >"$T/run/unlocked"
	run ccu_dracut_finished
	assert_success
}

@test "ccu_dracut_timeout: the unlock never started, power off with the reason" {
	run ccu_dracut_timeout
	assert_failure 86
	run grep -c 'NETWORK: no network interface came online; the unlock never started; powering off' "$T/kmsg"
	assert_output 1
}

@test "ccu_dracut_timeout: a running unlock keeps its own deadline" {
	: >"$T/run/started"
	run ccu_dracut_timeout
	assert_success
	assert_equal "$(cat "$T/sysrq")" ""
}

@test "ccu_emergency: powers off before any shell" {
	run ccu_emergency
	assert_failure 86
	run grep -c '^<3>ccunlock: EMERGENCY: .*; powering off$' "$T/kmsg"
	assert_output 1
	assert_equal "$(cat "$T/sysrq")" o
}

# ------------------------------------------------------------ initramfs-tools boot

@test "ccu_itools_keyscript_mode: only crypttab lines using our keyscript" {
	printf 'root UUID=1 none luks,discard\n' >"$T/etc/crypttab"
	run ccu_itools_keyscript_mode "$T/etc/crypttab"
	assert_failure
	printf 'root UUID=1 none luks,keyscript=/lib/cryptsetup/scripts/ccunlock-keyscript,discard\n' \
		>"$T/etc/crypttab"
	run ccu_itools_keyscript_mode "$T/etc/crypttab"
	assert_success
	run ccu_itools_keyscript_mode "$T/etc/missing"
	assert_failure
}

@test "ccu_itools_resolv: nameservers from ipconfig's files" {
	CCU_NET_RUN=$T/run
	CCU_RESOLV=$T/etc/resolv.conf
	printf "DEVICE='eth0'\nIPV4DNS0='10.0.2.3'\nIPV4DNS1='0.0.0.0'\n" >"$T/run/net-eth0.conf"
	ccu_itools_resolv
	assert_equal "$(cat "$T/etc/resolv.conf")" "nameserver 10.0.2.3"
}

@test "ccu_itools_local_top: network first, then the unlock" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 0
	configure_networking() { echo configure_networking >>"$T/calls"; }
	ccu_stub ip 0 "inet 10.0.2.15/24 scope global"
	CCU_NET_RUN=$T/run
	CCU_RESOLV=$T/etc/resolv.conf
	run ccu_itools_local_top
	assert_success
	run cat "$T/calls"
	assert_line --index 0 configure_networking
	assert_line "ccunlock unlock"
	[ -e "$T/run/unlocked" ]
}

@test "ccu_itools_local_top: keyscript mode only brings the network up" {
	ccu_fake_binary 0
	configure_networking() { echo configure_networking >>"$T/calls"; }
	printf 'root UUID=1 none luks,keyscript=ccunlock-keyscript\n' >"$T/etc/crypttab"
	CCU_NET_RUN=$T/run
	CCU_RESOLV=$T/etc/resolv.conf
	run ccu_itools_local_top
	assert_success
	run cat "$T/calls"
	assert_line configure_networking
	refute_line "ccunlock unlock"
}

@test "ccu_itools_local_top: cryptopts= is refused before the network and before cryptroot" {
	ccu_fake_binary 0
	configure_networking() { echo configure_networking >>"$T/calls"; }
	printf 'root UUID=1 none luks,keyscript=ccunlock-keyscript\n' >"$T/etc/crypttab"
	echo 'root=/dev/mapper/root cryptopts=target=x,source=/dev/vdb,keyscript=/bin/sh' >"$T/cmdline"
	CCU_NET_RUN=$T/run
	CCU_RESOLV=$T/etc/resolv.conf
	run ccu_itools_local_top
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
	run cat "$T/calls"
	refute_line configure_networking
	run grep -c "^<3>ccunlock: CMDLINE_REFUSED: kernel command line 'cryptopts=" "$T/kmsg"
	assert_output 1
}

@test "ccu_itools_local_top: a refusal powers off instead of panic's shell" {
	ccu_conf broker_url=https://x
	ccu_fake_binary 4 "" "ccunlock: CMDLINE_REFUSED: break=premount"
	configure_networking() { :; }
	CCU_NET_RUN=$T/run
	CCU_RESOLV=$T/etc/resolv.conf
	run ccu_itools_local_top
	assert_failure 86
	assert_equal "$(cat "$T/sysrq")" o
}

@test "ccu_itools_local_bottom: takes down what local-top configured" {
	CCU_NET_RUN=$T/run
	printf "DEVICE='ens2'\n" >"$T/run/net-ens2.conf"
	run ccu_itools_local_bottom
	assert_equal "$(cat "$T/calls")" ""
	: >"$T/run/network"
	run ccu_itools_local_bottom
	run cat "$T/calls"
	assert_line "ip addr flush dev ens2"
	assert_line "ip link set dev ens2 down"
}

@test "ccu_itools_panic: powers off" {
	run ccu_itools_panic
	assert_failure 86
	run grep -c '^<3>ccunlock: PANIC: .*; powering off$' "$T/kmsg"
	assert_output 1
}
