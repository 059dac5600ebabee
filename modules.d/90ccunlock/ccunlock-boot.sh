#!/bin/sh
# /usr/lib/ccunlock/ccunlock-boot: entry point of the systemd units.
#   unlock        ccunlock.service: the attested unlock (fails closed)
#   emergency     emergency/rescue/dracut-emergency.service: power off
#   owned NAME    systemd-cryptsetup@NAME.service, a volume ccunlock opens
# shellcheck source=../../lib/ccunlock-lib.sh
if ! [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] || ! . /usr/lib/ccunlock/ccunlock-lib.sh; then
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
case ${1:-} in
unlock) ccu_unlock ;;
emergency) ccu_emergency ;;
owned) ccu_log 6 "volume ${2:-?} is opened by ccunlock.service, not by systemd-cryptsetup" ;;
*) ccu_fail_closed USAGE "ccunlock-boot: unknown command '${1:-}'" ;;
esac
