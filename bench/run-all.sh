#!/bin/sh
# Runs every benchmark in bench/ (each prints its own numbers). boot.sh, the
# whole-boot comparison under QEMU (root; several minutes), runs last.
set -u
cd "$(dirname "$0")/.." || exit 1
rc=0
for b in bench/*.sh bench/boot.sh; do
	case $b in
	bench/run-all.sh) continue ;;
	esac
	# boot.sh once, at the end
	[ "$b" = bench/boot.sh ] && [ -z "${last:-}" ] && { last=1; continue; }
	[ -x "$b" ] || continue
	echo "#### $b"
	"$b" || rc=1
done
exit $rc
