#!/bin/sh
# Runs every benchmark in bench/ (each prints its own numbers).
set -u
cd "$(dirname "$0")/.." || exit 1
rc=0
for b in bench/*.sh; do
	[ "$b" = bench/run-all.sh ] && continue
	[ -x "$b" ] || continue
	echo "#### $b"
	"$b" || rc=1
done
exit $rc
