#!/bin/sh
# dracut emergency and shutdown-emergency hook (both flavours, priority 00):
# dracut sources these before it starts any shell. Power off instead.
# A missing library (a broken image) powers off too: sourcing a missing file
# would end PID 1 in some shells.
# shellcheck source=../../lib/ccunlock-lib.sh
if [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] && . /usr/lib/ccunlock/ccunlock-lib.sh; then
	ccu_emergency
else
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
