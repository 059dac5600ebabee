#!/bin/sh
# Installs the Debian packages a target needs, when they are missing.
#   tools/deps.sh check|demo|ci|bench|static
# As root it also adds deb-src entries for the configured Debian archive
# (tools/static-deps.sh runs apt-get source).
# Without root (or without apt) it only reports what is missing and fails.
set -eu

# Build and unit tests.
BUILD="make gcc libc6-dev pkg-config libssl-dev libjansson-dev libcurl4-openssl-dev \
libcryptsetup-dev libsqlite3-dev libpq-dev libevent-dev libcmocka-dev go-md2man"
# The static guest binary: tools/static-deps.sh builds OpenSSL, libcurl,
# libdevmapper and libcryptsetup from Debian's source packages (apt-get
# source, dpkg-source; the autotools for cryptsetup's git snapshot; popt
# only for its configure check); json-c, libargon2 and libuuid are linked
# from these -dev packages' static archives.
STATIC="dpkg-dev binutils perl autoconf automake libtool autopoint gettext libpopt-dev \
libjson-c-dev uuid-dev libblkid-dev libargon2-dev"
# Shell tests, lint, fuzzing, valgrind, Debian packaging.
TOOLS="bats bats-assert bats-support shellcheck cppcheck clang clang-tidy libclang-rt-14-dev \
valgrind debhelper dpkg-dev"
# Integration: JOSE cross-check, LUKS images, loopback peers (PostgreSQL for
# the shared store of several brokers, HAProxy in front of them); Debian's
# OVMF builds, whose launch measurements the unit tests and the demo compute;
# swtpm as the Azure vTPM (provisioned with tpm2-tools through the swtpm TCTI).
INTEG="jose cryptsetup-bin openssl curl procps python3 ovmf swtpm tpm2-tools libtss2-tcti-swtpm0 \
postgresql haproxy"
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
check) want="$BUILD $STATIC $TOOLS $INTEG $VM" ;;
demo) want="$BUILD $STATIC $INTEG $VM" ;;
ci) want="$BUILD $STATIC $TOOLS $INTEG $VM" ;;
bench) want="$BUILD $STATIC $INTEG $VM $BENCH" ;;
static) want="$BUILD $STATIC" ;;
*) echo "usage: $0 check|demo|ci|bench|static" >&2; exit 2 ;;
esac

# apt-get source needs deb-src entries: one for every deb entry of the
# archive already configured (same URIs, suites, components and key), in a
# file of its own. Prints the file to write, or nothing when there is one.
SRC_LIST=/etc/apt/sources.list.d/ccunlock-deb-src.sources
deb_src_wanted() {
	[ -e "$SRC_LIST" ] && return 0
	# an entry of the machine's own already? then nothing to add
	if grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
		grep -qsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources; then
		return 0
	fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas whose Types has "deb": the same stanza as deb-src
		awk 'BEGIN { RS = ""; FS = "\n" }
		$0 ~ /(^|\n)Types:([^\n]*[ \t])?deb([ \t]|\n|$)/ {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^#/) continue
				if ($i ~ /^Types:/) $i = "Types: deb-src"
				print $i
			}
			print ""
		}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# one-line form "deb [opts] URI suite comp..." as a deb822 stanza
		awk '$1 == "deb" {
			i = 2; signed = ""
			if ($2 ~ /^\[/) {
				for (; i <= NF; i++) {
					if ($i ~ /signed-by=/) { signed = $i; sub(/.*signed-by=/, "", signed); sub(/\]$/, "", signed) }
					if ($i ~ /\]$/) { i++; break }
				}
			}
			comps = ""
			for (j = i + 2; j <= NF; j++) comps = comps " " $j
			print "Types: deb-src"; print "URIs: " $i; print "Suites: " $(i + 1)
			print "Components:" comps
			if (signed != "") print "Signed-By: " signed
			print ""
		}' "$f"
	done
}

src_entries=""
if [ "$(id -u)" -eq 0 ] && [ -d /etc/apt/sources.list.d ]; then
	src_entries=$(deb_src_wanted)
fi
if [ -n "$src_entries" ]; then
	echo "adding deb-src entries for the configured archive: $SRC_LIST"
	printf '# Added by ccunlock tools/deps.sh: the source packages of the static\n# guest binary (tools/static-deps.sh).\n%s\n' "$src_entries" >"$SRC_LIST"
fi

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	# new deb-src entries: fetch their index once
	[ -z "$src_entries" ] || apt-get update -qq
	exit 0
fi

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
