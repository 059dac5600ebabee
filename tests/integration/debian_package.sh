#!/bin/sh
# The Debian packages (debian/): built from a copy of the source tree with
# dpkg-buildpackage, then checked without installing anything on this host:
# what each package holds, what it depends on, that the programs in it run,
# and that the guest program is the release build (no simulator).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"

O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac

for t in dpkg-buildpackage dh dpkg-deb; do
	if ! command -v "$t" >/dev/null 2>&1; then
		plan 1
		ok "Debian packages # SKIP $t missing (debhelper, dpkg-dev)"
		exit 0
	fi
done

w=$O/deb-test
rm -rf "$w"
mkdir -p "$w/src" "$w/x"

# The source tree as a fresh clone would have it (tracked and new files, not
# build output).
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$w/src"
else
	(cd "$top" && tar --exclude='./build*' --exclude=./debian/tmp -cf - .) | tar -xf - -C "$w/src"
fi

plan 13

t0=$(date +%s)
# The static archives of the guest are reused from this tree's build
# (building them again in the copy would only cost time).
deps_dir=${DEPS_DIR:-$top/build/deps}
if (cd "$w/src" && DEPS_DIR=$deps_dir dpkg-buildpackage -b -uc -us) >"$w/build.log" 2>&1; then
	ok "dpkg-buildpackage -b builds the packages ($(($(date +%s) - t0)) s)"
else
	not_ok "dpkg-buildpackage -b builds the packages"
	tail -n 30 "$w/build.log" | sed 's/^/# /'
fi

ver=$(sed -n '1s/^ccunlock (\([^)]*\)).*/\1/p' "$top/debian/changelog")
guest=$w/ccunlock_${ver}_amd64.deb
kbs=$w/ccunlock-kbs_${ver}_amd64.deb

# has_paths DEB PATH...: the package holds every PATH.
has_paths() {
	hp_deb=$1
	shift
	dpkg-deb -c "$hp_deb" >"$w/list" 2>/dev/null || return 1
	hp_missing=
	for hp_p in "$@"; do
		grep -Eq " \\.$hp_p( |\$)" "$w/list" || hp_missing="$hp_missing $hp_p"
	done
	[ -z "$hp_missing" ] || diag "missing:$hp_missing"
	[ -z "$hp_missing" ]
}

check "ccunlock: the guest program and every early-boot piece" has_paths "$guest" \
	/usr/sbin/ccunlock /usr/lib/ccunlock/ccunlock-lib.sh /usr/lib/ccunlock/ccunlock-keyscript.sh \
	/usr/lib/ccunlock/ccunlock-build.sh \
	/usr/lib/dracut/modules.d/90ccunlock/module-setup.sh \
	/usr/lib/dracut/modules.d/90ccunlock/ccunlock.service \
	/usr/share/initramfs-tools/hooks/ccunlock \
	/usr/share/initramfs-tools/scripts/local-top/ccunlock \
	/usr/share/initramfs-tools/scripts/init-bottom/ccunlock \
	/usr/share/initramfs-tools/scripts/panic/ccunlock \
	/usr/lib/cryptsetup/scripts/ccunlock-keyscript \
	/usr/share/ccunlock/ccunlock.conf.example /usr/share/man/man8/ccunlock.8.gz

check "ccunlock-kbs: the broker, its unit and its system user" has_paths "$kbs" \
	/usr/sbin/ccunlock-kbs /usr/lib/systemd/system/ccunlock-kbs.service \
	/usr/lib/sysusers.d/ccunlock-kbs.conf /usr/share/ccunlock/broker.conf.example \
	/usr/share/man/man8/ccunlock-kbs.8.gz

# only_ours DEB: no file of the other package, no /etc (nothing is
# configured by installing).
check "ccunlock installs no configuration and not the broker" sh -c \
	"dpkg-deb -c '$guest' | grep -Eq ' \\./(etc/|usr/sbin/ccunlock-kbs)' && exit 1; exit 0"
check "ccunlock-kbs does not carry the guest program" sh -c \
	"dpkg-deb -c '$kbs' | grep -Eq ' \\./usr/sbin/ccunlock\$' && exit 1; exit 0"

deps() {
	dpkg-deb -f "$1" Depends 2>/dev/null
}
check "ccunlock depends on no shared library, names its static sources in Built-Using" sh -c \
	"d=\$(dpkg-deb -f '$guest' Depends); b=\$(dpkg-deb -f '$guest' Built-Using);
	case \$d in *lib*) echo \"# a library in: \$d\"; exit 1 ;; esac
	for l in openssl curl cryptsetup lvm2 jansson glibc; do
		case \$b in *\"\$l (= \"*) ;; *) echo \"# \$l not in: \$b\"; exit 1 ;; esac; done"
check "ccunlock-kbs depends on libevent, SQLite, OpenSSL and systemd" sh -c \
	"d=\$(dpkg-deb -f '$kbs' Depends); for l in libevent libsqlite3 libssl systemd; do
		case \$d in *\$l*) ;; *) echo \"# \$l not in: \$d\"; exit 1 ;; esac; done"
diag "ccunlock Depends: $(deps "$guest")"

dpkg-deb -x "$guest" "$w/x" 2>/dev/null
dpkg-deb -x "$kbs" "$w/x" 2>/dev/null

check "the packaged guest program is statically linked (no interpreter, no NEEDED)" sh -c \
	"! readelf -lW '$w/x/usr/sbin/ccunlock' | grep -q 'program interpreter' &&
	! readelf -dW '$w/x/usr/sbin/ccunlock' | grep -q NEEDED && readelf -hW '$w/x/usr/sbin/ccunlock' >/dev/null"
check "the packaged guest program runs (usage on no command: exit 2)" sh -c \
	"'$w/x/usr/sbin/ccunlock' >/dev/null 2>&1; [ \$? -eq 2 ]"
check "the packaged broker runs (verify without input: exit 2)" sh -c \
	"'$w/x/usr/sbin/ccunlock-kbs' verify >/dev/null 2>&1; [ \$? -eq 2 ]"
# The simulator's key file name is in every test build and in no release
# build (the control: the test build next to us must have it).
if [ -x "$O/test/ccunlock" ] && ! grep -aq 'vcek-key.pem' "$O/test/ccunlock"; then
	not_ok "the packaged guest program is the release build (control: the test build lacks the marker)"
else
	check "the packaged guest program is the release build (no simulator inside)" sh -c \
		"! grep -aq 'vcek-key.pem' '$w/x/usr/sbin/ccunlock'"
fi
check "the unit starts nothing on install (no enable/start in the maintainer scripts)" sh -c \
	"dpkg-deb -e '$kbs' '$w/ctl' && ! grep -Eq 'deb-systemd-invoke (start|restart)|systemctl.*enable' '$w/ctl/postinst'"
check "the packaged early-boot scripts are the shellcheck-clean sources" sh -c \
	"cmp -s '$top/hook/scripts/local-top/ccunlock' '$w/x/usr/share/initramfs-tools/scripts/local-top/ccunlock' &&
	 cmp -s '$top/keyscripts/ccunlock-keyscript' '$w/x/usr/lib/cryptsetup/scripts/ccunlock-keyscript'"

done_testing
