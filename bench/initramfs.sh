#!/bin/sh
# What ccunlock adds to an initramfs, next to what Clevis+Tang adds, and how
# long the guest binary takes from exec to its first line, static against
# the dynamic build it replaced. Numbers only; nothing is asserted.
#
#   bench/initramfs.sh        (root; O=build; BENCH_RUNS=50 runs per binary)
#
# Images: the whole-boot harness's kernel and dracut 059 invocation
# (tests/vm/lib.sh: systemd flavour, --no-hostonly, empty configuration,
# kernel-modules omitted, virtio_blk virtio_pci ext4 added, zstd -1), three
# times with the same configuration:
#   base      systemd systemd-initrd dracut-systemd base shutdown udev-rules
#             rootfs-block crypt dm network (what both unlockers build on)
#   ccunlock  base + 90ccunlock as `make install` stages it, with the release
#             binary $O/ccunlock and an /etc/ccunlock (configuration + CA)
#   clevis    base + Debian 12's clevis + clevis-pin-tang (clevis-dracut;
#             the Tang pin lives in the LUKS2 header, not in the image)
# Each delta is against base: compressed image size, uncompressed cpio
# size (KiB) and number of entries (lsinitramfs).
#
# Start-up: hyperfine, `ccunlock help` (usage on stdout, then exit: the
# whole process from exec to its first line), static $O/ccunlock against a
# dynamic build of the same tree (make O=build-dyn STATIC_GUEST=no, linked
# against Debian's shared libraries). Host only; under TCG in the VM the
# difference is larger (dynamic loading of some 40 libraries is what the
# static binary saves).
set -u
VM_TOP=$(cd "$(dirname "$0")/.." && pwd)
export VM_TOP
RUNS=${BENCH_RUNS:-50}
case $RUNS in
'' | *[!0-9]*) RUNS=0 ;;
esac
if [ "$RUNS" -lt 3 ] || [ "$RUNS" -gt 1000 ]; then
	echo "BENCH_RUNS must be a number from 3 to 1000" >&2
	exit 2
fi
cd "$VM_TOP" || exit 1
O=${O:-build}
# shellcheck source=../tests/vm/lib.sh
. "$VM_TOP/tests/vm/lib.sh"

vm_skip_script() {
	echo "== initramfs: not measured: $1"
	exit 0
}
vm_setup_failed() {
	echo "== initramfs: setup failed: $1 (see above)" >&2
	exit 1
}

# ib_image OUT MODULES [CCUNLOCK_CONFDIR]: the harness's dracut call.
ib_image() {
	CCUNLOCK_BIN=$VM_O/ccunlock CCUNLOCK_CONFDIR=${3:-/nonexistent} CCUNLOCK_LIB=$VM_LIB \
		dracutbasedir=$IB_BASE \
		dracut --force --no-hostonly --no-hostonly-cmdline --no-early-microcode \
		--conf /dev/null --confdir "$VM_D/empty-confdir" \
		--kver "$VM_KVER" --kmoddir "$VM_KMODDIR" \
		-m "systemd systemd-initrd dracut-systemd base shutdown udev-rules rootfs-block $2" \
		--omit "kernel-modules" \
		--add-drivers "virtio_blk virtio_pci ext4" \
		--compress "zstd -1 -q -T0" "$1" >"$1.log" 2>&1
}

# ib_stats IMG: "compressed_KiB cpio_KiB entries"
ib_stats() {
	printf '%s %s %s\n' "$(($(stat -c %s "$1") / 1024))" \
		"$(($(zstd -dc "$1" | wc -c) / 1024))" "$(lsinitramfs "$1" | wc -l)"
}

echo "== initramfs: preparing (kernel, staged install)"
[ -x "$O/ccunlock" ] || vm_skip_script "$O/ccunlock is not built (make)"
vm_setup bench-initramfs
trap vm_cleanup EXIT
# the harness's private dracutbasedir (stock modules + our staged module)
vm_image sd dracut-systemd main+device
[ -z "${VM_IMG_FAILED_sd:-}" ] || vm_setup_failed "ccunlock initramfs: $VM_IMG_FAILED_sd"
IB_BASE=$VM_D/dracut-base-${VM_STAGE##*/stage-}
# a release configuration: broker URL and CA (no simulator directory)
IB_CONF=$VM_D/ib-confdir
mkdir -p "$IB_CONF"
cp "$VM_D/provider/ca.pem" "$IB_CONF/ca.pem" || vm_setup_failed "broker CA"
printf 'broker_url = %s\nbroker_ca = /etc/ccunlock/ca.pem\n' "$VM_URL" >"$IB_CONF/ccunlock.conf"
mkdir -p "$VM_D/empty-confdir"
ib_image "$VM_D/ib-base.img" "crypt dm network" || vm_setup_failed "base image ($VM_D/ib-base.img.log)"
ib_image "$VM_D/ib-ccunlock.img" "crypt dm network ccunlock" "$IB_CONF" ||
	vm_setup_failed "ccunlock image ($VM_D/ib-ccunlock.img.log)"
IB_CLEVIS=yes
if ! [ -f /usr/lib/dracut/modules.d/60clevis-pin-tang/module-setup.sh ] ||
	! ib_image "$VM_D/ib-clevis.img" "crypt dm network clevis clevis-pin-tang"; then
	IB_CLEVIS=no
fi

# shellcheck disable=SC2046 # three numbers
set -- $(ib_stats "$VM_D/ib-base.img")
b_z=$1 b_c=$2 b_n=$3
# shellcheck disable=SC2046 # three numbers
set -- $(ib_stats "$VM_D/ib-ccunlock.img")
c_z=$1 c_c=$2 c_n=$3
echo "== initramfs: dracut 059, systemd flavour, kernel $VM_KVER, zstd -1"
printf '%-22s %10s %10s %8s\n' image "zstd KiB" "cpio KiB" entries
printf '%-22s %10s %10s %8s\n' base "$b_z" "$b_c" "$b_n"
printf '%-22s %10s %10s %8s\n' "+ ccunlock" "+$((c_z - b_z))" "+$((c_c - b_c))" "+$((c_n - b_n))"
if [ "$IB_CLEVIS" = yes ]; then
	# shellcheck disable=SC2046 # three numbers
	set -- $(ib_stats "$VM_D/ib-clevis.img")
	printf '%-22s %10s %10s %8s\n' "+ clevis + tang pin" "+$(($1 - b_z))" "+$(($2 - b_c))" "+$(($3 - b_n))"
else
	echo "+ clevis + tang pin: not measured (clevis-dracut missing or its image failed)"
fi
lsinitramfs "$VM_D/ib-ccunlock.img" | sort >"$VM_D/ib-ccunlock.list"
lsinitramfs "$VM_D/ib-base.img" | sort >"$VM_D/ib-base.list"
echo "== initramfs: what ccunlock adds"
comm -13 "$VM_D/ib-base.list" "$VM_D/ib-ccunlock.list" | sed 's/^/   /'

# ---------------------------------------------------------------- start-up
echo "== initramfs: exec to first line (ccunlock help), $RUNS runs"
if ! command -v hyperfine >/dev/null 2>&1; then
	echo "   not measured: hyperfine missing (tools/deps.sh bench)"
	exit 0
fi
if ! make -s O=build-dyn STATIC_GUEST=no build-dyn/ccunlock >"$VM_D/dyn-build.log" 2>&1; then
	echo "   not measured: the dynamic build failed ($VM_D/dyn-build.log)"
	exit 0
fi
strip -o "$VM_D/ccunlock-static" "$O/ccunlock"
strip -o "$VM_D/ccunlock-dynamic" build-dyn/ccunlock
printf '   static:  %s bytes stripped, %s shared libraries\n' \
	"$(stat -c %s "$VM_D/ccunlock-static")" 0
printf '   dynamic: %s bytes stripped, %s shared libraries (ldd)\n' \
	"$(stat -c %s "$VM_D/ccunlock-dynamic")" "$(ldd build-dyn/ccunlock | grep -c '=>')"
hyperfine -N -w 3 -r "$RUNS" --export-json "$VM_D/startup.json" \
	-n static "$VM_D/ccunlock-static help" \
	-n dynamic "$VM_D/ccunlock-dynamic help" >"$VM_D/hyperfine.txt" 2>&1 || {
	echo "   hyperfine failed ($VM_D/hyperfine.txt)"
	exit 0
}
python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("   %-8s median %.2f ms, mean %.2f ms +- %.2f" % (r["command"], r["median"] * 1e3,
          r["mean"] * 1e3, r["stddev"] * 1e3))
' "$VM_D/startup.json"
