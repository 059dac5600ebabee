#!/bin/sh
# dracut initqueue/finished check (shell initrd): true once the root is
# unlocked. Sourced by dracut on every pass of its main loop.
# A missing library (a broken image) powers off: sourcing a missing file
# would end PID 1 in some shells.
# shellcheck source=../../lib/ccunlock-lib.sh
if [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] && . /usr/lib/ccunlock/ccunlock-lib.sh; then
	ccu_dracut_finished
else
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
