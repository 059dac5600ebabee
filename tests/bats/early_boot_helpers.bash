# Common set-up for the early-boot bats tests (sourced with `load`).
#
# Every test gets a private tree under $T: console, kernel log, printk
# levels, the sysrq trigger and the command line are plain files there, and
# every command that could act on the host (poweroff, reboot, busybox,
# modprobe, mount, udevadm, ip, cryptsetup, ...) is a stub in $T/bin that
# only appends its name and arguments to $T/calls. $T/lib.sh sources the real
# library and then re-applies these paths, so code that sources "the
# library" (module-setup.sh, the hooks) stays inside the sandbox too. The
# build hooks also source the real build part first (CCUNLOCK_BUILD_LIB);
# $T/lib.sh, sourced after it, re-applies the sandbox.

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
REAL_LIB=$TOP/lib/ccunlock-lib.sh
REAL_KS_LIB=$TOP/lib/ccunlock-keyscript.sh
REAL_BUILD_LIB=$TOP/lib/ccunlock-build.sh
# The real (test) binary: the boot scripts' command-line guard asks it
# (`ccunlock cmdline-check`), so the rules are tested where they live.
case ${O:-build} in
/*) CCU_TEST_BINARY=${O}/test/ccunlock ;;
*) CCU_TEST_BINARY=$TOP/${O:-build}/test/ccunlock ;;
esac

ccu_sandbox() {
	T=$BATS_TEST_TMPDIR/sb
	mkdir -p "$T/bin" "$T/run" "$T/etc"
	: >"$T/calls"
	: >"$T/console"
	: >"$T/kmsg"
	: >"$T/sysrq"
	echo '7 4 1 7' >"$T/printk"
	echo 'console=ttyS0 root=/dev/mapper/ccunlock-root ro' >"$T/cmdline"
	for c in poweroff reboot busybox modprobe mount udevadm ip cryptsetup sync halt dmsetup; do
		ccu_stub "$c" 0
	done
	# sleep: record; the endless "sleep 60" loops end the calling script
	cat >"$T/bin/sleep" <<'EOS'
#!/bin/sh
echo "sleep $*" >>"$CCU_TEST_CALLS"
[ "$1" = 60 ] && kill -TERM "$PPID"
exit 0
EOS
	chmod +x "$T/bin/sleep"
	export CCU_TEST_CALLS=$T/calls
	export PATH="$T/bin:$PATH"
	cat >"$T/overrides.sh" <<EOS
CCU_CONSOLE=$T/console
CCU_KMSG=$T/kmsg
CCU_PRINTK=$T/printk
CCU_SYSRQ_TRIGGER=$T/sysrq
CCU_BIN=$T/bin/ccunlock
CCU_CONF=$T/etc/ccunlock.conf
CCU_RUN=$T/run
CCU_CRYPTTAB=$T/etc/crypttab
CCU_BUILD_CRYPTTAB=$T/build-crypttab
CCU_MOUNTINFO=$T/mountinfo
CCU_SYSBLOCK=$T/sys/dev/block
CCU_SYSCLASSBLOCK=$T/sys/class/block
CCU_DEVROOT=$T
CCU_POWER_GRACE=0
CCU_INITRD_MARKERS="$T/initrd-release $T/conf/initramfs.conf"
ccu_hang() { echo hang >>"$T/calls"; exit 86; }
EOS
	# the default machine: vda holds our LUKS2 volume, open as ccunlock-root
	# (dm-0) and mounted where both initramfs flavours mount the root
	ccu_fake_block vda 254:0
	ccu_fake_block dm-0 253:0 ccunlock-root CRYPT-LUKS2-0123abcd-ccunlock-root vda
	ccu_fake_mount 253:0 /dev/mapper/ccunlock-root /sysroot /root
	# all three parts of the library (boot, keyscript, build), then the sandbox
	printf '. %s\n. %s\n. %s\n. %s\n' "$REAL_LIB" "$REAL_KS_LIB" "$REAL_BUILD_LIB" \
		"$T/overrides.sh" >"$T/lib.sh"
	# shellcheck source=/dev/null
	. "$T/lib.sh"
	# never touch the real machine, whatever a test does
	case $CCU_SYSRQ_TRIGGER in
	"$BATS_TEST_TMPDIR"/*) ;;
	*) echo "sandbox broken: sysrq trigger is $CCU_SYSRQ_TRIGGER" >&2; return 1 ;;
	esac
}

# ccu_fake_block NAME MAJ:MIN [DMNAME DMUUID] [SLAVE...]: a block device in
# the sandbox's /sys (class/block/NAME, dev/block/MAJ:MIN) and /dev, with
# device-mapper attributes and the devices below it.
ccu_fake_block() {
	local name=$1 devno=$2 dmname=${3:-} dmuuid=${4:-} d
	shift 2
	[ $# -ge 2 ] && shift 2
	d=$T/sys/devices/virtual/block/$name
	mkdir -p "$d/slaves" "$T/sys/class/block" "$T/sys/dev/block" "$T/dev/mapper"
	echo "$devno" >"$d/dev"
	ln -sfn "$d" "$T/sys/class/block/$name"
	ln -sfn "$d" "$T/sys/dev/block/$devno"
	: >"$T/dev/$name"
	if [ -n "$dmname" ]; then
		mkdir -p "$d/dm"
		echo "$dmname" >"$d/dm/name"
		echo "$dmuuid" >"$d/dm/uuid"
		ln -sfn "../$name" "$T/dev/mapper/$dmname"
	fi
	for s in "$@"; do
		ln -sfn "$T/sys/devices/virtual/block/$s" "$d/slaves/$s"
	done
}

# ccu_fake_mount MAJ:MIN SOURCE DIR...: mountinfo lines (appended: a later
# mount at the same place hides the earlier one).
ccu_fake_mount() {
	local devno=$1 src=$2 dir
	shift 2
	for dir in "$@"; do
		echo "30 1 $devno / $dir rw,relatime shared:1 - ext4 $src rw" >>"$T/mountinfo"
	done
}

# ccu_stub NAME STATUS [STDOUT]: a command that records its call.
ccu_stub() {
	{
		echo '#!/bin/sh'
		echo "echo \"$1 \$*\" >>\"\$CCU_TEST_CALLS\""
		[ -n "${3:-}" ] && printf "printf '%%s' '%s'\n" "$3"
		echo "exit $2"
	} >"$T/bin/$1"
	chmod +x "$T/bin/$1"
}

# ccu_cmdline_delegate: the line of a stand-in `ccunlock` that hands
# `cmdline-check` to the real binary, reading the sandbox's command line.
# A missing binary fails the test (it is a build product, not optional).
ccu_cmdline_delegate() {
	if ! [ -x "$CCU_TEST_BINARY" ]; then
		echo "$CCU_TEST_BINARY is not built (make test-bins)" >&2
		return 1
	fi
	printf 'if [ "$1" = cmdline-check ]; then exec "%s" --cmdline "%s" "$@"; fi\n' \
		"$CCU_TEST_BINARY" "$T/cmdline"
}

# ccu_real_binary: `ccunlock` that only answers cmdline-check (for the
# guard's tests); any other command is a test failure (exit 99).
ccu_real_binary() {
	local d
	d=$(ccu_cmdline_delegate) || return 1
	{
		echo '#!/bin/sh'
		echo "$d"
		echo 'echo "ccunlock $* (unexpected)" >>"$CCU_TEST_CALLS"'
		echo 'exit 99'
	} >"$T/bin/ccunlock"
	chmod +x "$T/bin/ccunlock"
}

# ccu_fake_binary STATUS [STDOUT] [STDERR]: the stand-in for `ccunlock`
# (cmdline-check still goes to the real binary).
ccu_fake_binary() {
	local d
	d=$(ccu_cmdline_delegate) || return 1
	{
		echo '#!/bin/sh'
		echo "$d"
		echo 'echo "ccunlock $*" >>"$CCU_TEST_CALLS"'
		[ -n "${2:-}" ] && printf "printf '%%s' '%s'\n" "$2"
		[ -n "${3:-}" ] && printf "echo '%s' >&2\n" "$3"
		echo "exit $1"
	} >"$T/bin/ccunlock"
	chmod +x "$T/bin/ccunlock"
}

# ccu_script_copy SRC: a boot script with its absolute paths pointed into
# the sandbox (library, initramfs-tools functions, console, sysrq).
ccu_script_copy() {
	mkdir -p "$T/scripts"
	sed -e "s|/usr/lib/ccunlock/ccunlock-lib.sh|$T/lib.sh|g" \
		-e "s|/usr/lib/ccunlock/ccunlock-keyscript.sh|$REAL_KS_LIB|g" \
		-e "s|/scripts/functions|$T/functions|g" \
		-e "s|/usr/share/initramfs-tools/hook-functions|$T/hook-functions|g" \
		-e "s|/proc/sysrq-trigger|$T/sysrq|g" \
		-e "s|/dev/console|$T/console|g" \
		"$1" >"$T/scripts/${1##*/}.$(basename "$(dirname "$1")")"
	chmod +x "$T/scripts/${1##*/}.$(basename "$(dirname "$1")")"
	echo "$T/scripts/${1##*/}.$(basename "$(dirname "$1")")"
}

# ccu_conf KEY=VALUE...: write the sandbox's ccunlock.conf.
ccu_conf() {
	: >"$T/etc/ccunlock.conf"
	for kv in "$@"; do
		printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >>"$T/etc/ccunlock.conf"
	done
}
