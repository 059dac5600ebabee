#!/bin/sh
# dracut initqueue/online hook (shell initrd): an interface just came online;
# start the unlock in the background. Sourced by dracut: returns at once,
# never exits, safe to run again (ccu_dracut_start starts only once).
# A missing library (a broken image) powers off too: sourcing a missing file
# would end PID 1 in some shells.
# shellcheck source=../../lib/ccunlock-lib.sh
if [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] && . /usr/lib/ccunlock/ccunlock-lib.sh; then
	ccu_dracut_start online
else
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
