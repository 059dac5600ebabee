#!/bin/sh
# Installs the Debian packages a target needs, when they are missing.
#   tools/deps.sh check|demo|ci|list-check
# Without root (or without apt) it only reports what is missing and fails.
set -eu

# Build and unit tests.
BUILD="make gcc libc6-dev pkg-config libssl-dev libjansson-dev libcurl4-openssl-dev \
libcryptsetup-dev libsqlite3-dev libevent-dev libcmocka-dev"
# Shell tests, lint, fuzzing, valgrind, Debian packaging.
TOOLS="bats bats-assert bats-support shellcheck cppcheck clang clang-tidy libclang-rt-14-dev \
valgrind debhelper dpkg-dev"
# Integration: JOSE cross-check, LUKS images, loopback peers; Debian's OVMF
# builds, whose launch measurements the unit tests and the demo compute;
# swtpm as the Azure vTPM (provisioned with tpm2-tools through the swtpm TCTI).
INTEG="jose cryptsetup-bin openssl curl procps python3 ovmf swtpm tpm2-tools libtss2-tcti-swtpm0"
# Early boot: QEMU, dracut, initramfs-tools pieces, a guest kernel package is
# downloaded (not installed) by tests/vm. initramfs-tools-core gives
# mkinitramfs/lsinitramfs without the kernel hooks of initramfs-tools (which
# conflicts with dracut); dmsetup has the device-mapper udev rules.
VM="qemu-system-x86 dracut-core dracut-network busybox-static e2fsprogs iproute2 \
kmod udev systemd zstd cpio klibc-utils isc-dhcp-client initramfs-tools-core dmsetup"
# Bench peers. clevis-dracut (which pulls in dracut and clevis-systemd) gives
# bench/boot.sh the Clevis+Tang initramfs it boots next to ccunlock's.
BENCH="tang socat clevis clevis-luks clevis-systemd clevis-dracut hyperfine time"

case "${1:-check}" in
check) want="$BUILD $TOOLS $INTEG $VM" ;;
demo) want="$BUILD $INTEG $VM" ;;
ci) want="$BUILD $TOOLS $INTEG $VM" ;;
bench) want="$BUILD $INTEG $VM $BENCH" ;;
*) echo "usage: $0 check|demo|ci|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine.
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
