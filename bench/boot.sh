#!/bin/sh
# Boot-to-root time and initramfs size of a LUKS2-encrypted root unlocked by
# ccunlock, next to the same VM unlocked by Clevis+Tang through Debian's
# clevis-dracut, in the same run. Numbers only; nothing is asserted.
#
#   bench/boot.sh            (BENCH_BOOTS=3 boots per configuration; O=build;
#                             root; CCU_VM_TIMEOUT limits one boot, default 240 s)
#
# Both configurations use the whole-boot harness of tests/vm/lib.sh unchanged:
# Debian's current kernel (unpacked into build/vm-cache, never installed), a
# dracut 059 initramfs of the systemd flavour built with --no-hostonly, the
# same base modules (systemd systemd-initrd dracut-systemd base shutdown
# udev-rules rootfs-block; kernel-modules omitted; virtio_blk virtio_pci ext4
# added; zstd -1), a 64 MiB LUKS2 image file (ext4 root of busybox whose
# /sbin/init prints CCU-ROOT-OK and powers off; keyslot 0 a random recovery
# key; the unlocking keyslot PBKDF2 at 1000 iterations in both), and the same
# QEMU: TCG (software emulation), 1 vCPU, 1024 MiB, SeaBIOS, -kernel/-initrd,
# virtio disk (snapshot=on), user network with virtio-net and virtio-rng.
# Boot-to-root is QEMU's start to the root marker on the serial console, as
# the harness measures it (polled every 0.2 s). The boots alternate (ccunlock,
# clevis, ccunlock, ...) so that drift on the host hits both alike.
#
#   ccunlock  the harness's good boot (tests/vm/10-dracut-systemd.sh, "sd"):
#             module 90ccunlock as `make install` stages it (its dependencies
#             crypt, dm, network; network picks systemd-networkd, configured by
#             the module's DHCP .network file), the test build of ccunlock
#             (simulated SEV-SNP evidence), /etc/ccunlock with `device`
#             configured; ccunlock-kbs on 127.0.0.1 (10.0.2.2 for the guest)
#             over TLS: attestation with the broker's full chain and report
#             verification, policy, JWE key release; the service runs after
#             network-online.target. Kernel command line as in the test.
#   clevis    Debian 12's clevis 19 + clevis-dracut + clevis-systemd: modules
#             clevis clevis-pin-tang crypt network (network picks
#             systemd-networkd here too; configured by `ip=dhcp` through
#             systemd-network-generator), rd.neednet=1, rd.luks.uuid= and
#             rd.luks.name= for the volume so that systemd-cryptsetup asks for
#             the passphrase and clevis-luks-askpass answers it after a Tang
#             recovery (plain HTTP, as Tang is deployed) from tangd, which
#             runs under socat on 127.0.0.1 with a fresh key directory. The
#             image is bound offline with `clevis luks bind` using the
#             advertisement fetched beforehand. The console password agent is
#             masked (rd.systemd.mask=systemd-ask-password-console.path): no
#             prompt on the serial console, clevis answers through
#             /run/systemd/ask-password as it always does. (The harness types
#             a shell probe into the console every 2 s in every boot; with a
#             prompt there, the probe would be taken as a wrong passphrase.
#             Headless, systemd-cryptsetup's `headless` option, is no choice:
#             it would not ask at all, and clevis only ever answers a
#             question.)
#
# What makes the comparison unequal:
#   - The work differs: ccunlock makes an attestation report, verifies TLS and
#     the broker verifies an AMD certificate chain and the report before it
#     releases the key; Tang answers one unauthenticated ECMR exchange over
#     plain HTTP. In the guest, ccunlock is one C process; clevis is bash
#     scripts that fork jose, curl, cryptsetup and luksmeta many times, which
#     costs seconds of CPU under TCG (the guest-side cost is what dominates
#     here, not the key servers').
#   - ccunlock runs after network-online.target (systemd-networkd-wait-online);
#     clevis-luks-askpass starts as soon as the passphrase question exists and
#     retries every 0.5 s until the network answers, so it may win the time
#     the wait-online service takes to notice the link.
#   - The images differ only in the unlock: ccunlock adds its binary (the
#     test build, with the simulator and its keys), its shell library, units
#     and hooks, /etc/ccunlock and the sev-guest and virtio_scsi drivers;
#     clevis adds its bash scripts, jose, luksmeta, curl, the cryptsetup
#     binary and their libraries. Both get every NIC driver from
#     kernel-network-modules and all crypto modules from crypt, which is most
#     of each image.
#   - TCG emulates the CPU in software: boots take several times longer than
#     under KVM, and CPU-bound steps (crypto, decompression, bash) are
#     inflated more than waits. The numbers compare the two here; they are
#     not what a real SEV-SNP guest takes. The evidence is simulated: no
#     /dev/sev-guest round trip to the PSP.
set -u
VM_TOP=$(cd "$(dirname "$0")/.." && pwd)
export VM_TOP
BOOTS=${BENCH_BOOTS:-3}
case $BOOTS in
'' | *[!0-9]*) BOOTS=0 ;;
esac
if [ "$BOOTS" -lt 1 ] || [ "$BOOTS" -gt 100 ]; then
	echo "BENCH_BOOTS must be a number from 1 to 100" >&2
	exit 2
fi
# shellcheck source=../tests/vm/lib.sh
. "$VM_TOP/tests/vm/lib.sh"

# vm_setup reports as TAP; a bench reports plainly. Not root, or no broker
# build: nothing can be measured, which is not a failure of the bench.
vm_skip_script() {
	echo "== boot: not measured: $1"
	exit 0
}
vm_setup_failed() {
	echo "== boot: setup failed: $1 (see above)" >&2
	exit 1
}

BB_TANGD=/usr/libexec/tangd
BB_TANGD_KEYGEN=/usr/libexec/tangd-keygen
BB_TANG_PID=
BB_CLEVIS_WHY=

# shellcheck disable=SC2317 # run by the EXIT trap
bb_cleanup() {
	if [ -n "$BB_TANG_PID" ]; then
		kill "$BB_TANG_PID" 2>/dev/null
		wait "$BB_TANG_PID" 2>/dev/null
	fi
	vm_cleanup
}

bb_size_mib() {
	awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'
}

# ---------------------------------------------------------------- Clevis+Tang

# bb_clevis_check: the packages the Clevis configuration needs are there.
bb_clevis_check() {
	bb_cc_missing=
	for bb_cc_f in "$BB_TANGD" "$BB_TANGD_KEYGEN" /usr/libexec/clevis-luks-askpass \
		/usr/lib/dracut/modules.d/60clevis/module-setup.sh \
		/usr/lib/dracut/modules.d/60clevis-pin-tang/module-setup.sh; do
		[ -e "$bb_cc_f" ] || bb_cc_missing="$bb_cc_missing $bb_cc_f"
	done
	for bb_cc_t in socat clevis clevis-luks-bind clevis-encrypt-tang curl jose; do
		command -v "$bb_cc_t" >/dev/null 2>&1 || bb_cc_missing="$bb_cc_missing $bb_cc_t"
	done
	if [ -n "$bb_cc_missing" ]; then
		BB_CLEVIS_WHY="missing:$bb_cc_missing (tools/deps.sh bench)"
		return 1
	fi
	return 0
}

# bb_tang_start: tangd (inetd style, one process per connection) under socat
# on 127.0.0.1:$BB_TANG_PORT with a fresh key directory; fetches the
# advertisement the binding uses.
bb_tang_start() {
	bb_t=$VM_D/tang
	rm -rf "$bb_t"
	mkdir -p "$bb_t/db"
	"$BB_TANGD_KEYGEN" "$bb_t/db" >/dev/null || return 1
	BB_TANG_PORT=$(vm_free_port) || return 1
	socat "TCP-LISTEN:$BB_TANG_PORT,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"$BB_TANGD $bb_t/db" 2>"$bb_t/tang.log" &
	BB_TANG_PID=$!
	bb_ts_n=0
	while [ -z "$(ss -Htln "sport = :$BB_TANG_PORT" 2>/dev/null)" ]; do
		bb_ts_n=$((bb_ts_n + 1))
		[ "$bb_ts_n" -gt 100 ] && return 1
		kill -0 "$BB_TANG_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	curl -sSf --noproxy '*' -o "$bb_t/adv.jws" "http://127.0.0.1:$BB_TANG_PORT/adv"
}

# bb_clevis_disk: a disk like the harness's good one (its own content and
# nonce), bound to Tang offline: the guest's URL, the advertisement fetched
# on the host.
bb_clevis_disk() {
	BB_NONCE_CLEVIS=$(vm_nonce)
	vm_disk clevis "$BB_NONCE_CLEVIS" || return 1
	bb_cd=$VM_D/disk-clevis
	clevis luks bind -y -k "$bb_cd/recovery.key" -d "$bb_cd/disk.img" tang \
		"{\"url\":\"http://10.0.2.2:$BB_TANG_PORT\",\"adv\":\"$VM_D/tang/adv.jws\"}" >&2 ||
		return 1
	clevis luks list -d "$bb_cd/disk.img" >&2 || return 1
	BB_CLEVIS_UUID=$(cryptsetup luksUUID "$bb_cd/disk.img")
}

# bb_clevis_image OUT: the harness's dracut invocation with the clevis
# modules instead of ours (the stock dracutbasedir: nothing to add to it).
bb_clevis_image() {
	mkdir -p "$VM_D/empty-confdir"
	dracut --force --no-hostonly --no-hostonly-cmdline --no-early-microcode \
		--conf /dev/null --confdir "$VM_D/empty-confdir" \
		--kver "$VM_KVER" --kmoddir "$VM_KMODDIR" \
		-m "systemd systemd-initrd dracut-systemd base shutdown udev-rules rootfs-block clevis clevis-pin-tang crypt network" \
		--omit "kernel-modules" \
		--add-drivers "virtio_blk virtio_pci ext4" \
		--compress "zstd -1 -q -T0" "$1"
}

bb_clevis_setup() {
	bb_clevis_check || return 1
	if ! bb_tang_start; then
		BB_CLEVIS_WHY="tangd under socat did not answer /adv ($VM_D/tang/tang.log)"
		return 1
	fi
	if ! bb_clevis_disk; then
		BB_CLEVIS_WHY="clevis luks bind on the image failed (see above)"
		return 1
	fi
	bb_cs_t0=$(vm_now)
	if ! bb_clevis_image "$VM_D/initrd-clevis.img" >"$VM_D/build-clevis.log" 2>&1; then
		tail -n 25 "$VM_D/build-clevis.log" >&2
		BB_CLEVIS_WHY="dracut failed ($VM_D/build-clevis.log)"
		return 1
	fi
	lsinitramfs "$VM_D/initrd-clevis.img" >"$VM_D/content-clevis.txt" 2>/dev/null
	for bb_cs_f in usr/libexec/clevis-luks-askpass usr/bin/clevis-decrypt-tang \
		usr/lib/systemd/system/clevis-luks-askpass.path; do
		if ! grep -Eq "^(\./)?$bb_cs_f\$" "$VM_D/content-clevis.txt"; then
			BB_CLEVIS_WHY="the clevis image lacks $bb_cs_f ($VM_D/content-clevis.txt)"
			return 1
		fi
	done
	echo "# image clevis: $(($(stat -c %s "$VM_D/initrd-clevis.img") / 1024)) KiB, built in $(vm_since "$bb_cs_t0") s"
	return 0
}

# ---------------------------------------------------------------- boots

# bb_boot CONF N INITRD DISK NONCE APPEND: one boot; appends its
# boot-to-root time to $VM_D/times-CONF, or a line to $VM_D/failed-CONF.
bb_boot() {
	VM_CASE_PFX=$VM_D/$1-boot$2
	VM_LOG=$VM_CASE_PFX.console.log
	VM_BROKER_LATE=
	vm_boot "$3" "$4" "$6"
	if [ -n "$VM_T_ROOT" ] && [ "$VM_END" = poweroff ] && vm_grep "CCU-ROOT-OK nonce=$5"; then
		echo "$VM_T_ROOT" >>"$VM_D/times-$1"
		echo "# $1 boot $2: root at $VM_T_ROOT s"
	else
		echo "$1 boot $2: no root (ended by $VM_END at $VM_T_END s; $VM_LOG)" >>"$VM_D/failed-$1"
		echo "# $1 boot $2: no root, ended by $VM_END at $VM_T_END s; console ($VM_LOG):"
		tr -d '\r' <"$VM_LOG" | tail -n 15 | sed 's/^/#   | /'
	fi
}

# bb_stats CONF: "OK MEDIAN MIN MAX" of the boot-to-root times ("0 - - -").
bb_stats() {
	if ! [ -s "$VM_D/times-$1" ]; then
		echo "0 - - -"
		return 0
	fi
	sort -n "$VM_D/times-$1" | awk '{ t[NR] = $1 }
		END {
			m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%d %.1f %.1f %.1f\n", NR, m, t[1], t[NR]
		}'
}

bb_row() {
	# shellcheck disable=SC2046 # four fields from bb_stats
	set -- "$1" "$2" $(bb_stats "$1")
	if [ -s "$2" ]; then
		bb_r_size="$(bb_size_mib "$2") MiB"
		bb_r_files=$(lsinitramfs "$2" 2>/dev/null | wc -l)
	else
		bb_r_size=-
		bb_r_files=-
	fi
	printf '%-12s %3s/%-3s %8s %8s %8s %10s %7s\n' "$1" "$3" "$BOOTS" "$4" "$5" "$6" \
		"$bb_r_size" "$bb_r_files"
}

# bb_ratio A B: A / B, three decimals ("-" when either is missing).
bb_ratio() {
	case "$1$2" in
	*-*) echo - ;;
	*) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }' ;;
	esac
}

# ---------------------------------------------------------------- main

echo "== boot: preparing (kernel, staged install, broker state, LUKS2 disks)"
vm_setup bench-boot
trap bb_cleanup EXIT
vm_image sd dracut-systemd main+device
[ -z "${VM_IMG_FAILED_sd:-}" ] || vm_setup_failed "ccunlock initramfs: $VM_IMG_FAILED_sd"
BB_CCU_IMG=$VM_D/initrd-sd.img
BB_CCU_APPEND="console=ttyS0 root=/dev/mapper/$VM_ROOT_NAME ro no_timer_check"

BB_CLEVIS=yes
bb_clevis_setup || BB_CLEVIS=no
BB_CLEVIS_IMG=$VM_D/initrd-clevis.img
BB_CLEVIS_APPEND="console=ttyS0 root=/dev/mapper/$VM_ROOT_NAME ro no_timer_check"
if [ "$BB_CLEVIS" = yes ]; then
	BB_CLEVIS_APPEND="$BB_CLEVIS_APPEND rd.luks.uuid=$BB_CLEVIS_UUID"
	BB_CLEVIS_APPEND="$BB_CLEVIS_APPEND rd.luks.name=$BB_CLEVIS_UUID=$VM_ROOT_NAME"
	BB_CLEVIS_APPEND="$BB_CLEVIS_APPEND rd.neednet=1 ip=dhcp"
	BB_CLEVIS_APPEND="$BB_CLEVIS_APPEND rd.systemd.mask=systemd-ask-password-console.path"
fi

VM_BROKER_LOG=$VM_D/broker.log
: >"$VM_BROKER_LOG"
vm_broker_start allow || vm_setup_failed "ccunlock-kbs start ($VM_BROKER_LOG)"
rm -f "$VM_D"/times-* "$VM_D"/failed-*
BB_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== boot: $BOOTS boots per configuration, alternating (TCG, about 20-60 s each)"
bb_i=1
while [ "$bb_i" -le "$BOOTS" ]; do
	bb_boot ccunlock "$bb_i" "$BB_CCU_IMG" "$VM_D/disk-good/disk.img" "$VM_NONCE_GOOD" \
		"$BB_CCU_APPEND"
	if [ "$BB_CLEVIS" = yes ]; then
		bb_boot clevis "$bb_i" "$BB_CLEVIS_IMG" "$VM_D/disk-clevis/disk.img" \
			"$BB_NONCE_CLEVIS" "$BB_CLEVIS_APPEND"
	fi
	bb_i=$((bb_i + 1))
done
vm_broker_stop
# Other work on the host slows TCG down: the boots alternate, and this says
# how busy the host was.
echo "# host: $(nproc) CPUs, load average $BB_LOAD0 before the boots, $(cut -d' ' -f1-3 /proc/loadavg) after"

echo "== boot-to-root (s, QEMU start to the root's marker) and initramfs; kernel $VM_KVER, QEMU TCG"
printf '%-12s %7s %8s %8s %8s %10s %7s\n' config boots median min max initramfs files
bb_row ccunlock "$BB_CCU_IMG"
if [ "$BB_CLEVIS" = yes ]; then
	bb_row clevis "$BB_CLEVIS_IMG"
	# shellcheck disable=SC2046 # four fields from bb_stats
	set -- $(bb_stats ccunlock) $(bb_stats clevis)
	echo "== ratio ccunlock/clevis"
	echo "boot-to-root median $(bb_ratio "$2" "$6")  min $(bb_ratio "$3" "$7")  max $(bb_ratio "$4" "$8")"
	echo "initramfs size $(bb_ratio "$(stat -c %s "$BB_CCU_IMG")" "$(stat -c %s "$BB_CLEVIS_IMG")")"
	# every clevis boot must have been a Tang recovery (no passphrase typed)
	echo "Tang recoveries served: $(grep -c 'POST /rec/.* => 200' "$VM_D/tang/tang.log") for $BOOTS clevis boots"
else
	echo "clevis: not measured: $BB_CLEVIS_WHY"
fi
cat "$VM_D"/failed-* 2>/dev/null
echo "(logs: $VM_D)"
# Nothing is asserted, but a configuration that never reached its root was
# not measured.
[ -s "$VM_D/times-ccunlock" ] || exit 1
[ "$BB_CLEVIS" = no ] || [ -s "$VM_D/times-clevis" ] || exit 1
exit 0
