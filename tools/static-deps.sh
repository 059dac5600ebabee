#!/bin/sh
# Builds the static archives of the guest binary that Debian 12 does not
# ship usable (libcurl without LDAP/GSSAPI/RTMP/SSH/IDN/PSL/brotli, libdevmapper,
# libcryptsetup; OpenSSL without engines, dlopen and unused algorithms, so
# that the binary stays small) from Debian 12's own source packages, pinned in
# tools/static-deps.lock, into $DEPS (default build/deps):
#   $DEPS/dl/        the .dsc, orig and debian tarballs (kept: no re-download)
#   $DEPS/src/NAME/  the unpacked source with Debian's patches applied
#   $DEPS/prefix/    include/, lib/*.a, lib/pkgconfig/*.pc
#   $DEPS/stamp-NAME written last: a built dependency is never rebuilt
#
#   tools/static-deps.sh [all|NAME...]
#   tools/static-deps.sh built-using   the Built-Using value of the package
# Needs the deb-src entry and build packages of `tools/deps.sh static`.
set -eu
# The libraries are built with DEP_CFLAGS alone: flags a caller passes
# (debian/rules runs make with CFLAGS=..., which reaches every sub-make
# through MAKEFLAGS, and dpkg exports CFLAGS, CPPFLAGS and LDFLAGS) would
# replace, among others, the -fPIC that lvm2's makefiles add for
# libdevmapper. The job count is JOBS, not the caller's make.
unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL

TOP=$(cd "$(dirname "$0")/.." && pwd)
DEPS=${DEPS:-$TOP/build/deps}
LOCK=$TOP/tools/static-deps.lock
PREFIX=$DEPS/prefix
JOBS=${JOBS:-2}

# The hardening of the release build, for every object in the archives.
# Sized for the initramfs: -Os, one section per function for the final
# --gc-sections, and no unwind tables (C code that neither throws nor uses
# pthread cancellation; the binary must fit in 4 MiB stripped).
DEP_CFLAGS="-Os -g -fPIE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
-fstack-clash-protection -fcf-protection=full -ffunction-sections -fdata-sections \
-fno-asynchronous-unwind-tables -fno-unwind-tables"

log() { echo "static-deps: $*" >&2; }
die() {
	log "$*"
	exit 1
}

lock_field() { # NAME FIELD(2=version,3=sha256)
	awk -v n="$1" -v f="$2" '$1 == n { print $f; found = 1 } END { exit !found }' "$LOCK" ||
		die "$1 is not pinned in $LOCK"
}

# NAME: download (once) and check the pinned .dsc, then unpack it; dpkg-source
# checks every tarball against the .dsc's checksums and applies the patches.
fetch() {
	ver=$(lock_field "$1" 2)
	sum=$(lock_field "$1" 3)
	uver=${ver#*:}
	dsc=$DEPS/dl/${1}_${uver}.dsc
	mkdir -p "$DEPS/dl" "$DEPS/src"
	if ! [ -f "$dsc" ]; then
		log "downloading $1 $ver (Debian source package)"
		(cd "$DEPS/dl" && apt-get source --download-only -qq "$1=$ver" >/dev/null 2>&1) ||
			die "apt-get source $1=$ver failed: no deb-src entry (run tools/deps.sh static), or $ver left the archive (bump $LOCK, see docs/DESIGN.md)"
	fi
	got=$(sha256sum "$dsc" | cut -d' ' -f1)
	[ "$got" = "$sum" ] || die "$dsc: SHA-256 $got, $LOCK pins $sum"
	# The tarballs against the (now trusted) .dsc, explicitly; dpkg-source
	# does it again while unpacking.
	awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $1 "  " $3 }' \
		"$dsc" >"$DEPS/dl/$1.sha256"
	[ -s "$DEPS/dl/$1.sha256" ] || die "$dsc has no Checksums-Sha256"
	(cd "$DEPS/dl" && sha256sum --quiet -c "$1.sha256") || die "$1: a tarball does not match $dsc"
	rm -rf "$DEPS/src/$1"
	dpkg-source --no-copy -x "$dsc" "$DEPS/src/$1" >/dev/null 2>"$DEPS/dl/$1.unpack.log" ||
		die "dpkg-source -x $dsc failed (see $DEPS/dl/$1.unpack.log)"
	SRC=$DEPS/src/$1
}

build_openssl() {
	fetch openssl
	cd "$SRC"
	# libcrypto + libssl only, providers built in (no module loading, no
	# engines, no DSO: nothing is dlopen()ed), no configuration file read at
	# start-up; TLS 1.2/1.3 only; the algorithms TLS with the broker, the
	# JWE/JWK/JWT code, the SNP report checks and LUKS2 (AES-XTS, SHA-2,
	# PBKDF2; Argon2 is libargon2's) need, not the legacy ones. TLS 1.3
	# with AES-GCM and ECDHE (no ChaCha20-Poly1305, no finite-field DH, no
	# PSK suites): every TLS 1.3 server offers TLS_AES_128_GCM_SHA256.
	# no-err: OpenSSL's error queue keeps its numeric codes (openssl errstr
	# decodes them) but not the text tables, about 200 KiB of the binary;
	# certificate verification results keep their text.
	# shellcheck disable=SC2086 # DEP_CFLAGS: one Configure argument per flag
	./Configure linux-x86_64 --prefix="$PREFIX" --libdir=lib --openssldir=/usr/lib/ssl \
		no-shared no-module no-engine no-dso no-legacy no-autoload-config no-comp no-async \
		no-ui-console no-uplink no-tests no-ssl3 no-tls1 no-tls1_1 no-dtls no-srp no-srtp \
		no-sctp no-nextprotoneg no-ct no-ocsp no-cms no-ts no-gost no-idea no-mdc2 no-rc2 \
		no-rc4 no-rc5 no-md2 no-md4 no-rmd160 no-whirlpool no-seed no-camellia no-aria no-sm2 \
		no-sm3 no-sm4 no-bf no-cast no-des no-dsa no-siphash no-ocb no-scrypt no-ec2m \
		no-blake2 no-chacha no-poly1305 no-dh no-siv no-multiblock no-psk no-rfc3779 \
		no-ssl-trace no-cmp no-filenames no-err \
		$DEP_CFLAGS >"$DEPS/openssl.configure.log"
	make -s -j"$JOBS" build_libs >"$DEPS/openssl.make.log" 2>&1
	make -s install_dev >>"$DEPS/openssl.make.log" 2>&1
}

build_curl() {
	fetch curl
	cd "$SRC"
	# HTTP(S) over OpenSSL and nothing else: no other protocol, no
	# compression, IDN, PSL, HTTP/2, GSSAPI, SSH, LDAP; no built-in CA store
	# (the guest passes broker_ca as a blob). Proxy and netrc stay compiled
	# because the guest switches them off explicitly (CURLOPT_PROXY "",
	# CURLOPT_NETRC ignored) and those options fail where not built in.
	./configure -q --prefix="$PREFIX" --libdir="$PREFIX/lib" --disable-shared --enable-static \
		--with-pic --with-openssl="$PREFIX" --without-zlib --without-brotli --without-zstd \
		--without-libidn2 --without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2 \
		--without-quiche --without-msh3 --without-hyper --without-libssh2 --without-libssh \
		--without-wolfssh --without-librtmp --without-gssapi --without-libgsasl \
		--without-ca-bundle --without-ca-path --without-ca-fallback \
		--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
		--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
		--disable-gopher --disable-mqtt --disable-websockets --disable-manual --disable-ntlm \
		--disable-ntlm-wb --disable-tls-srp --disable-unix-sockets --disable-cookies \
		--disable-alt-svc --disable-hsts --disable-doh --disable-mime --disable-dateparse \
		--disable-progress-meter --disable-http-auth --disable-crypto-auth --disable-socketpair \
		--disable-libcurl-option --disable-openssl-auto-load-config --disable-versioned-symbols \
		--enable-threaded-resolver --enable-ipv6 --enable-symbol-hiding \
		CFLAGS="$DEP_CFLAGS" PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" \
		LIBS="-pthread" >"$DEPS/curl.configure.log"
	make -s -j"$JOBS" -C lib >"$DEPS/curl.make.log"
	make -s -C lib install >>"$DEPS/curl.make.log"
	make -s -C include install >>"$DEPS/curl.make.log"
	install -m 0644 libcurl.pc "$PREFIX/lib/pkgconfig/libcurl.pc"
}

build_lvm2() {
	fetch lvm2
	cd "$SRC"
	# Only libdevmapper, without udev synchronisation: the library creates
	# the /dev/mapper node itself instead of waiting on a SysV semaphore that
	# only udev's 95-dm-notify.rules + dmsetup (a dynamic binary we would
	# have to put into the initramfs) release. See docs/DESIGN.md.
	./configure -q --prefix="$PREFIX" --libdir="$PREFIX/lib" --enable-static_link \
		--disable-udev_sync --disable-udev_rules --disable-selinux --disable-blkid_wiping \
		--disable-readline --disable-dmeventd --disable-cmdlib --disable-lvmpolld \
		--disable-use-lvmlockd --disable-use-lvmpolld --disable-systemd-journal \
		--disable-app-machineid --disable-nls --disable-notify-dbus --enable-pkgconfig \
		--with-thin=none --with-cache=none --with-vdo=none --with-writecache=none \
		--with-integrity=none \
		CFLAGS="$DEP_CFLAGS" >"$DEPS/lvm2.configure.log"
	make -s -j"$JOBS" -C libdm device-mapper >"$DEPS/lvm2.make.log" 2>&1 ||
		make -s -j"$JOBS" -C libdm >>"$DEPS/lvm2.make.log" 2>&1
	mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include"
	install -m 0644 libdm/ioctl/libdevmapper.a "$PREFIX/lib/"
	install -m 0644 libdm/libdevmapper.h "$PREFIX/include/"
	dmver=$(sed -n 's/^\([0-9.]*\).*/\1/p' VERSION_DM)
	# -lm -pthread: what libdm.a itself needs
	# shellcheck disable=SC2016 # pkg-config variables, literally
	printf '%s\n' "prefix=$PREFIX" 'libdir=${prefix}/lib' 'includedir=${prefix}/include' '' \
		'Name: devmapper' 'Description: device-mapper library (static, no udev sync)' \
		"Version: $dmver" 'Cflags: -I${includedir}' 'Libs: -L${libdir} -ldevmapper' \
		'Libs.private: -lm -pthread' >"$PREFIX/lib/pkgconfig/devmapper.pc"
}

build_cryptsetup() {
	fetch cryptsetup
	cd "$SRC"
	# The git snapshot Debian packages has no configure script.
	autoreconf -fi >"$DEPS/cryptsetup.autoreconf.log" 2>&1
	# The library alone, OpenSSL backend, LUKS2 (and LUKS1 read), Argon2 from
	# libargon2; no tools, no SSH token, no external token plugins (no
	# dlopen in a static binary), no udev, no blkid probe, no SELinux, no
	# translations. The kernel keyring (volume key passed to dm-crypt by
	# reference) and kernel crypto API checks stay as in Debian's build.
	# configure checks for popt although the tools that use it are off.
	PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig ./configure -q --prefix="$PREFIX" \
		--libdir="$PREFIX/lib" --disable-shared --enable-static --with-crypto_backend=openssl \
		--enable-libargon2 --disable-ssh-token --disable-external-tokens --disable-cryptsetup \
		--disable-veritysetup --disable-integritysetup \
		--disable-asciidoc --disable-nls --disable-selinux --disable-udev --disable-blkid \
		--disable-fips --disable-pwquality --disable-passwdqc --disable-static-cryptsetup \
		CFLAGS="$DEP_CFLAGS" >"$DEPS/cryptsetup.configure.log"
	make -s -j"$JOBS" libcryptsetup.la >"$DEPS/cryptsetup.make.log" 2>&1
	mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include"
	install -m 0644 .libs/libcryptsetup.a "$PREFIX/lib/"
	install -m 0644 lib/libcryptsetup.h "$PREFIX/include/"
	# json-c (libcryptsetup's JSON parser) and jansson (ours) both define
	# json_object_get and json_object_iter_next: a shared library keeps
	# them apart, one static link cannot. Every global symbol of Debian's
	# libjson-c.a gets a prefix, in a private copy of it and in the
	# references of libcryptsetup.a, so libcryptsetup reaches its json-c
	# and our code jansson.
	jc=$(pkg-config --variable=libdir json-c)/libjson-c.a
	[ -f "$jc" ] || die "$jc is missing (libjson-c-dev)"
	nm -g --defined-only "$jc" | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 " ccu_jsonc_" $3 }' |
		sort -u >"$DEPS/json-c.redefine"
	[ -s "$DEPS/json-c.redefine" ] || die "no symbols in $jc"
	objcopy --redefine-syms="$DEPS/json-c.redefine" "$jc" "$PREFIX/lib/libccu-json-c.a"
	objcopy --redefine-syms="$DEPS/json-c.redefine" "$PREFIX/lib/libcryptsetup.a"
	sed -e "s|^prefix=.*|prefix=$PREFIX|" -e "s|^libdir=.*|libdir=$PREFIX/lib|" \
		-e '/^Requires.private:/s/ json-c//' -e '/^Libs:/s/$/ -lccu-json-c/' \
		lib/libcryptsetup.pc >"$PREFIX/lib/pkgconfig/libcryptsetup.pc"
}

build_one() {
	[ -f "$DEPS/stamp-$1" ] && return 0
	command -v "build_$1" >/dev/null 2>&1 || die "unknown dependency $1"
	start=$(date +%s)
	log "building $1 $(lock_field "$1" 2) into $PREFIX"
	# A process of its own, so that set -e stops the build at the first error.
	"$0" --one "$1" || die "building $1 failed (logs in $DEPS/$1.*.log)"
	echo "$(lock_field "$1" 2) $(lock_field "$1" 3)" >"$DEPS/stamp-$1"
	log "$1 built in $(($(date +%s) - start)) s"
}

# The Debian source packages linked into the static binary, for the
# Built-Using field of the Debian package: ours from the lock, the others
# from the -dev packages whose static archives are linked.
built_using() {
	awk '!/^#/ && NF == 3 { printf "%s%s (= %s)", sep, $1, $2; sep = ", " }' "$LOCK"
	for p in libjansson-dev libjson-c-dev libargon2-dev uuid-dev libc6-dev libgcc-12-dev; do
		dpkg-query -W -f=', ${source:Package} (= ${source:Version})' "$p" 2>/dev/null || true
	done
	echo
}

case ${1:-all} in
built-using)
	built_using
	exit 0
	;;
esac
mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include"
case ${1:-all} in
--one)
	build_"$2"
	exit 0
	;;
all) set -- openssl curl lvm2 cryptsetup ;;
esac
for d in "$@"; do
	build_one "$d"
done
