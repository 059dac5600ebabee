#!/bin/sh
# Lists every shell script in the repository (for shellcheck): files with a
# sh shebang, plus the dracut/initramfs-tools files that are sourced.
cd "$(dirname "$0")/.." || exit 1
git ls-files | while read -r f; do
	[ -f "$f" ] || continue
	case $f in
	*.bats) continue ;;
	*.sh | hook/* | modules.d/* | keyscripts/*) ;;
	*) head -c 64 "$f" | grep -q '^#!.*sh' || continue ;;
	esac
	case $f in *.service | *.conf | *.md | *.rules) continue ;; esac
	echo "$f"
done
