#!/bin/sh
# dracut pre-pivot hook (both flavours): the last check before the unlocked
# root is handed over. init=/bin/sh or a break would give a shell there, and
# root=<another disk> would start a system that is not on our volume.
# A missing library (a broken image) powers off too: sourcing a missing file
# would end PID 1 in some shells.
# shellcheck source=../../lib/ccunlock-lib.sh
if [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] && . /usr/lib/ccunlock/ccunlock-lib.sh; then
	ccu_guard /sysroot
else
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
