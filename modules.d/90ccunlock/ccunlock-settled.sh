#!/bin/sh
# dracut initqueue/settled hook (shell initrd): start the unlock once some
# interface has an address, for network set-ups that run no online hooks.
# Sourced by dracut: returns at once, never exits, idempotent.
# A missing library (a broken image) powers off too: sourcing a missing file
# would end PID 1 in some shells.
# shellcheck source=../../lib/ccunlock-lib.sh
if [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] && . /usr/lib/ccunlock/ccunlock-lib.sh; then
	ccu_dracut_start settled
else
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
