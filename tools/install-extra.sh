#!/bin/sh
# Installs the early-boot integration (called by `make install`):
#   $LIBDIR/ccunlock/ccunlock-lib.sh             the shell library (boot)
#   $LIBDIR/ccunlock/ccunlock-keyscript.sh       its keyscript part
#   $LIBDIR/ccunlock/ccunlock-build.sh           its image-build part (build host only)
#   $DRACUTDIR/90ccunlock/                        the dracut module
#   $ITDIR/hooks/ccunlock, $ITDIR/scripts/*/ccunlock   initramfs-tools
#   $LIBDIR/cryptsetup/scripts/ccunlock-keyscript     crypttab keyscript=
#   $DATADIR/ccunlock/ccunlock.conf.example       example configuration
#
# Environment (from the Makefile): DESTDIR PREFIX SBINDIR LIBDIR DATADIR
# SYSCONFDIR UNITDIR DRACUTDIR ITDIR FAIL_ACTION FALLBACK_PROMPT.
#
# Build-time choices are written into the installed files (sed), never read
# at boot: FAIL_ACTION=poweroff|reboot (the library's action and the systemd
# units' FailureAction=), FALLBACK_PROMPT=no|yes, and the install paths the
# build hooks use as defaults.
set -eu
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
LIBDIR=${LIBDIR:-$PREFIX/lib}
DATADIR=${DATADIR:-$PREFIX/share}
SYSCONFDIR=${SYSCONFDIR:-/etc}
DRACUTDIR=${DRACUTDIR:-$LIBDIR/dracut/modules.d}
ITDIR=${ITDIR:-$DATADIR/initramfs-tools}
FAIL_ACTION=${FAIL_ACTION:-poweroff}
FALLBACK_PROMPT=${FALLBACK_PROMPT:-no}

die() {
	echo "install-extra: $*" >&2
	exit 1
}

case $FAIL_ACTION in
poweroff | reboot) ;;
*) die "FAIL_ACTION must be poweroff or reboot, not '$FAIL_ACTION'" ;;
esac
case $FALLBACK_PROMPT in
yes | no) ;;
*) die "FALLBACK_PROMPT must be yes or no, not '$FALLBACK_PROMPT'" ;;
esac
for d in "$SBINDIR" "$LIBDIR" "$DATADIR" "$SYSCONFDIR" "$DRACUTDIR" "$ITDIR"; do
	case $d in
	/*) ;;
	*) die "install directories must be absolute ('$d')" ;;
	esac
	case $d in
	*[!A-Za-z0-9/._+-]*) die "unsupported character in '$d'" ;;
	esac
done

lib=$LIBDIR/ccunlock/ccunlock-lib.sh
kslib=$LIBDIR/ccunlock/ccunlock-keyscript.sh
buildlib=$LIBDIR/ccunlock/ccunlock-build.sh
units_action=poweroff-force
sysrq_key=o
if [ "$FAIL_ACTION" = reboot ]; then
	units_action=reboot-force
	sysrq_key=b
fi

# put MODE SRC DST: install one file with the build-time choices written in.
put() {
	mkdir -p "$DESTDIR$(dirname "$3")"
	sed -e "s|CCUNLOCK_LIB:-/usr/lib/ccunlock/ccunlock-lib.sh|CCUNLOCK_LIB:-$lib|g" \
		-e "s|CCUNLOCK_BIN:-/usr/sbin/ccunlock|CCUNLOCK_BIN:-$SBINDIR/ccunlock|g" \
		-e "s|CCUNLOCK_CONFDIR:-/etc/ccunlock|CCUNLOCK_CONFDIR:-$SYSCONFDIR/ccunlock|g" \
		-e "s|CCUNLOCK_BUILD_LIB:-/usr/lib/ccunlock/ccunlock-build.sh|CCUNLOCK_BUILD_LIB:-$buildlib|g" \
		-e "s|CCUNLOCK_KEYSCRIPT_LIB:-/usr/lib/ccunlock/ccunlock-keyscript.sh|CCUNLOCK_KEYSCRIPT_LIB:-$kslib|g" \
		-e "s|^ccu_ks_host_lib=/usr/lib/ccunlock/ccunlock-lib.sh\$|ccu_ks_host_lib=$lib|" \
		-e "s|^ccu_ks_host_kslib=/usr/lib/ccunlock/ccunlock-keyscript.sh\$|ccu_ks_host_kslib=$kslib|" \
		-e "s|^CCU_FAIL_ACTION=poweroff\$|CCU_FAIL_ACTION=$FAIL_ACTION|" \
		-e "s|^CCU_FALLBACK_PROMPT=no\$|CCU_FALLBACK_PROMPT=$FALLBACK_PROMPT|" \
		-e "s|=poweroff-force\$|=$units_action|" \
		-e "s|^\([[:space:]]*\)echo o >/proc/sysrq-trigger\$|\1echo $sysrq_key >/proc/sysrq-trigger|" \
		"$2" >"$DESTDIR$3.tmp"
	chmod "$1" "$DESTDIR$3.tmp"
	mv -f "$DESTDIR$3.tmp" "$DESTDIR$3"
}

# The library: its build-time lines must be there to be rewritten.
grep -qx 'CCU_FAIL_ACTION=poweroff' lib/ccunlock-lib.sh || die "lib: CCU_FAIL_ACTION line not found"
grep -qx 'CCU_FALLBACK_PROMPT=no' lib/ccunlock-lib.sh || die "lib: CCU_FALLBACK_PROMPT line not found"
put 0644 lib/ccunlock-lib.sh "$lib"
grep -qx "CCU_FAIL_ACTION=$FAIL_ACTION" "$DESTDIR$lib" || die "could not set FAIL_ACTION"
grep -qx "CCU_FALLBACK_PROMPT=$FALLBACK_PROMPT" "$DESTDIR$lib" || die "could not set FALLBACK_PROMPT"
put 0644 lib/ccunlock-keyscript.sh "$kslib"
put 0644 lib/ccunlock-build.sh "$buildlib"

# dracut module: scripts executable, units and data not.
for f in modules.d/90ccunlock/*; do
	case $f in
	*.md) continue ;;
	*.sh) mode=0755 ;;
	*) mode=0644 ;;
	esac
	put "$mode" "$f" "$DRACUTDIR/90ccunlock/${f##*/}"
done

# initramfs-tools
put 0755 hook/hooks/ccunlock "$ITDIR/hooks/ccunlock"
for s in local-top local-bottom panic init-bottom; do
	put 0755 "hook/scripts/$s/ccunlock" "$ITDIR/scripts/$s/ccunlock"
done

# crypttab keyscript (Debian looks for bare names in /lib/cryptsetup/scripts)
put 0755 keyscripts/ccunlock-keyscript "$LIBDIR/cryptsetup/scripts/ccunlock-keyscript"

# Example configuration. The real file makes dracut include the module, so
# it is never installed by default.
mkdir -p "$DESTDIR$DATADIR/ccunlock" "$DESTDIR$SYSCONFDIR/ccunlock"
cat >"$DESTDIR$DATADIR/ccunlock/ccunlock.conf.example" <<'EOF'
# /etc/ccunlock/ccunlock.conf - see ccunlock(8). Copied into the initramfs
# (with the CA below) when the image is built; rebuild the initramfs after
# every change. Unknown keys are an error.

# The broker the VM owner controls. An IP literal avoids DNS in the initramfs.
broker_url = https://192.0.2.10:8443
# The only trust anchor for the broker's TLS certificate.
broker_ca = /etc/ccunlock/broker-ca.pem

# The LUKS2 device (UUID of the LUKS header, or a path); default: the first
# block device with a ccunlock token. Name it when dracut's crypt module or
# crypttab also knows the device, so that the hooks can keep them apart.
#device = UUID=00000000-0000-0000-0000-000000000000
# device-mapper name; must match the booted system's crypttab name, if any.
#name = ccunlock-root

# Seconds for attestation and key release, retries included.
#deadline = 120
# Minimum posture: snp, sev-es or sev.
#require = snp
#require_secure_boot = no
# Refuse a disk key stored without a LUKS2 header pin (older enrolments,
# plain keys from a Trustee KBS) instead of unlocking with template checks only.
#require_header_pin = no
#evidence = auto
EOF
chmod 0644 "$DESTDIR$DATADIR/ccunlock/ccunlock.conf.example"
