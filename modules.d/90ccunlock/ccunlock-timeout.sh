#!/bin/sh
# dracut initqueue/timeout hook (shell initrd): dracut is about to give up
# waiting; if the unlock never started (no network), fail closed now.
# A missing library (a broken image) powers off too: sourcing a missing file
# would end PID 1 in some shells.
# shellcheck source=../../lib/ccunlock-lib.sh
if [ -r /usr/lib/ccunlock/ccunlock-lib.sh ] && . /usr/lib/ccunlock/ccunlock-lib.sh; then
	ccu_dracut_timeout
else
	echo "ccunlock: INTERNAL: /usr/lib/ccunlock/ccunlock-lib.sh is missing; powering off" >/dev/console
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
fi
