#!/bin/sh
# ccunlock-sim, the simulated SEV-SNP platform tool: init/show/report write
# what they say (checked with the openssl CLI), and its command line is
# strict (usage errors exit 2, other errors exit 1 with one "CODE: detail").
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib/tap.sh
O=${O:-build}
SIM=$O/test/ccunlock-sim
need_built "$SIM"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI missing"

T=$(mktemp -d /tmp/ccu-simtool-XXXXXX)
trap 'rm -rf "$T"' EXIT

# hexat FILE OFFSET LENGTH: the bytes as one lower-case hex string.
hexat() {
	od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# Little-endian 48-byte integer at OFFSET as big-endian hex.
le48() {
	od -An -v -tx1 -j "$2" -N 48 "$1" | tr ' ' '\n' | sed '/^$/d' |
		awk '{ b[NR] = $0 } END { for (i = NR; i > 0; i--) printf "%s", b[i] }'
}

# report_sig_ok REPORT VCEK.pem: ECDSA P-384 SHA-384 over bytes 0..0x29F.
report_sig_ok() {
	head -c 672 "$1" >"$T/signed.bin"
	printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
		"$(le48 "$1" 672)" "$(le48 "$1" 744)" >"$T/sig.cnf"
	openssl asn1parse -genconf "$T/sig.cnf" -out "$T/sig.der" >/dev/null 2>&1 &&
		openssl x509 -in "$2" -pubkey -noout >"$T/pub.pem" &&
		openssl dgst -sha384 -verify "$T/pub.pem" -signature "$T/sig.der" \
			"$T/signed.bin" >/dev/null 2>&1
}

size_of() {
	wc -c <"$1" | tr -d ' '
}

# expect_fail NAME STATUS CODE CMD...: exits with STATUS and says exactly one
# line "ccunlock-sim: CODE: ..." on stderr.
expect_fail() {
	_name=$1 _want=$2 _code=$3
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	if [ "$_rc" -eq "$_want" ] && [ "$(wc -l <"$T/err" | tr -d ' ')" -eq 1 ] &&
		grep -q "^ccunlock-sim: $_code: " "$T/err"; then
		ok "$_name"
	else
		not_ok "$_name (status $_rc, stderr: $(head -c 200 "$T/err"))"
	fi
}

M=$T/milan
check "init creates a Milan platform" "$SIM" init "$M"
for f in ark.pem ask.pem vcek.pem chain.pem vcek-key.pem platform.conf; do
	check "init wrote $f" test -s "$M/$f"
done
check "vcek-key.pem is 0600" test "$(stat -c %a "$M/vcek-key.pem")" = 600
chain_ok() {
	openssl verify -CAfile "$1/ark.pem" -untrusted "$1/ask.pem" "$1/vcek.pem" >/dev/null 2>&1
}
check "the chain verifies with the openssl CLI" chain_ok "$M"
cat "$M/ask.pem" "$M/ark.pem" >"$T/chain"
check "chain.pem is the ASK then the ARK" cmp -s "$T/chain" "$M/chain.pem"
check "the VCEK subject is AMD's" sh -c "openssl x509 -in '$M/vcek.pem' -noout -subject -nameopt RFC2253 |
	grep -qx 'subject=CN=SEV-VCEK,O=Advanced Micro Devices,ST=CA,L=Santa Clara,C=US,OU=Engineering'"
check "the ARK uses RSA-PSS salt 48" sh -c "openssl x509 -in '$M/ark.pem' -noout -text | grep -q 'Salt Length: 0x30'"

"$SIM" show "$M" >"$T/show"
check "show names the product" grep -qx 'product: Milan' "$T/show"
check "show prints the TCB" grep -qx 'tcb: bl=4 tee=0 snp=24 ucode=219' "$T/show"
check "show prints the firmware" grep -qx 'fw: 1.55.29' "$T/show"
fp=$(openssl x509 -in "$M/ark.pem" -outform DER | sha256sum | cut -d' ' -f1)
check "show prints the ARK fingerprint" grep -qx "ark_sha256: $fp" "$T/show"

RD=$(printf '%0128d' 0 | tr 0 c)
MEAS=$(printf '%096d' 0 | tr 0 d)
check "report writes a report" "$SIM" report "$M" -o "$T/m.bin" --report-data "$RD" \
	--measurement "$MEAS" --policy 0xb0000 --vmpl 2 --guest-svn 258
check "the report is 1184 bytes" test "$(size_of "$T/m.bin")" = 1184
check "VERSION defaults to 5" test "$(hexat "$T/m.bin" 0 4)" = 05000000
check "POLICY as given" test "$(hexat "$T/m.bin" 8 8)" = 00000b0000000000
check "VMPL as given" test "$(hexat "$T/m.bin" 48 4)" = 02000000
check "GUEST_SVN as given" test "$(hexat "$T/m.bin" 4 4)" = 02010000
check "REPORT_DATA as given" test "$(hexat "$T/m.bin" 80 64)" = "$RD"
check "MEASUREMENT as given" test "$(hexat "$T/m.bin" 144 48)" = "$MEAS"
check "REPORTED_TCB is the platform's" test "$(hexat "$T/m.bin" 384 8)" = 04000000000018db
check "the report signature verifies with the VCEK" report_sig_ok "$T/m.bin" "$M/vcek.pem"
cp "$T/m.bin" "$T/bad.bin"
printf 'X' | dd of="$T/bad.bin" bs=1 seek=80 conv=notrunc 2>/dev/null
if report_sig_ok "$T/bad.bin" "$M/vcek.pem"; then
	not_ok "a changed REPORT_DATA byte breaks the signature"
else
	ok "a changed REPORT_DATA byte breaks the signature"
fi

check "report --version 2" "$SIM" report "$M" -o "$T/v2.bin" --version 2
check "version 2 has no CPUID" test "$(hexat "$T/v2.bin" 0 4)$(hexat "$T/v2.bin" 392 3)" = 02000000000000
check "report --version 3 has CPUID 19h/01h" sh -c "'$SIM' report '$M' -o '$T/v3.bin' --version 3 &&
	test \"\$(od -An -tx1 -j 392 -N 3 '$T/v3.bin' | tr -d ' \n')\" = 190101"
head -c 64 /dev/zero | tr '\0' 'z' >"$T/rd64"
check "--report-data-file" "$SIM" report "$M" -o "$T/f.bin" --report-data-file "$T/rd64"
check "--report-data-file bytes land in REPORT_DATA" \
	test "$(hexat "$T/f.bin" 80 64)" = "$(hexat "$T/rd64" 0 64)"
check "-o - writes to standard output" sh -c "'$SIM' report '$M' -o - --chip-id $(printf '%0128d' 0) >'$T/stdout.bin' &&
	test \$(wc -c <'$T/stdout.bin') -eq 1184"
check "--chip-id overrides CHIP_ID (masked)" test "$(hexat "$T/stdout.bin" 416 64)" = "$(printf '%0128d' 0)"
check "report --reported-tcb/--committed-fw/--key-info" "$SIM" report "$M" -o "$T/o.bin" \
	--reported-tcb 'bl=1 tee=2 snp=3 ucode=4' --committed-fw 1.2.3 --key-info 0x1
check "REPORTED_TCB as given" test "$(hexat "$T/o.bin" 384 8)" = 0102000000000304
check "COMMITTED fw as given" test "$(hexat "$T/o.bin" 492 3)" = 030201
check "KEY_INFO as given" test "$(hexat "$T/o.bin" 72 4)" = 01000000

H32=$(printf '%032d' 0 | tr 0 1)
H64=$(printf '%064d' 0 | tr 0 2)
H96A=$(printf '%096d' 0 | tr 0 3)
H96B=$(printf '%096d' 0 | tr 0 4)
check "report with every remaining field option" "$SIM" report "$M" -o "$T/all.bin" \
	--host-data "$H64" --family-id "$H32" --image-id "$(printf '%032d' 0 | tr 0 5)" \
	--id-key-digest "$H96A" --author-key-digest "$H96B" --platform-info 0x3 \
	--current-tcb 'bl=5 tee=0 snp=25 ucode=220' --committed-tcb 'bl=3 tee=0 snp=23 ucode=218' \
	--launch-tcb 'bl=2 tee=0 snp=22 ucode=217' --fw 1.56.7 \
	--launch-mit-vector 0x3 --current-mit-vector 0x7
check "HOST_DATA" test "$(hexat "$T/all.bin" 192 32)" = "$H64"
check "FAMILY_ID" test "$(hexat "$T/all.bin" 16 16)" = "$H32"
check "IMAGE_ID" test "$(hexat "$T/all.bin" 32 16)" = "$(printf '%032d' 0 | tr 0 5)"
check "ID_KEY_DIGEST" test "$(hexat "$T/all.bin" 224 48)" = "$H96A"
check "AUTHOR_KEY_DIGEST" test "$(hexat "$T/all.bin" 272 48)" = "$H96B"
check "PLATFORM_INFO" test "$(hexat "$T/all.bin" 64 8)" = 0300000000000000
check "CURRENT_TCB" test "$(hexat "$T/all.bin" 56 8)" = 05000000000019dc
check "COMMITTED_TCB" test "$(hexat "$T/all.bin" 480 8)" = 03000000000017da
check "LAUNCH_TCB" test "$(hexat "$T/all.bin" 496 8)" = 02000000000016d9
check "REPORTED_TCB stays the platform's" test "$(hexat "$T/all.bin" 384 8)" = 04000000000018db
check "CURRENT fw (build, minor, major)" test "$(hexat "$T/all.bin" 488 3)" = 073801
check "COMMITTED fw stays the platform's" test "$(hexat "$T/all.bin" 492 3)" = 1d3701
check "LAUNCH/CURRENT_MIT_VECTOR" test "$(hexat "$T/all.bin" 504 16)" = 03000000000000000700000000000000
check "that report's signature verifies" report_sig_ok "$T/all.bin" "$M/vcek.pem"

TU=$T/turin
check "init a Turin platform" "$SIM" init "$TU" --product turin \
	--tcb 'fmc=3 bl=1 tee=0 snp=2 ucode=200' --chip-id 3b422f69be56d50e --fw 1.55.61 \
	--not-before 2025-01-01T00:00:00Z --days 30
check "Turin: show" sh -c "'$SIM' show '$TU' | grep -qx 'tcb: fmc=3 bl=1 tee=0 snp=2 ucode=200'"
check "Turin: VCEK validity from --not-before/--days" sh -c "openssl x509 -in '$TU/vcek.pem' -noout -dates |
	tr '\n' ' ' | grep -q 'notBefore=Jan  1 00:00:00 2025 GMT notAfter=Jan 31 00:00:00 2025 GMT'"
check "Turin: report" "$SIM" report "$TU" -o "$T/t.bin"
check "Turin: TCB layout fmc,bl,tee,snp,0,0,0,ucode" test "$(hexat "$T/t.bin" 384 8)" = 03010002000000c8
check "Turin: 8-byte chip id" test "$(hexat "$T/t.bin" 416 16)" = 3b422f69be56d50e0000000000000000
check "Turin: signature verifies" report_sig_ok "$T/t.bin" "$TU/vcek.pem"

# Usage errors: status 2.
expect_fail "no command" 2 USAGE "$SIM"
expect_fail "unknown command" 2 USAGE "$SIM" frobnicate "$M"
expect_fail "unknown option" 2 USAGE "$SIM" show "$M" --frob
expect_fail "option without its value" 2 USAGE "$SIM" report "$M" -o
expect_fail "two directories" 2 USAGE "$SIM" show "$M" "$TU"
expect_fail "no directory" 2 USAGE "$SIM" show
expect_fail "report without -o" 2 USAGE "$SIM" report "$M"
expect_fail "--report-data too short" 2 USAGE "$SIM" report "$M" -o "$T/x" --report-data abcd
expect_fail "--report-data not hex" 2 USAGE "$SIM" report "$M" -o "$T/x" \
	--report-data "$(printf '%0128d' 0 | tr 0 g)"
expect_fail "both report-data forms" 2 USAGE "$SIM" report "$M" -o "$T/x" --report-data "$RD" \
	--report-data-file "$T/rd64"
head -c 63 "$T/rd64" >"$T/rd63"
expect_fail "--report-data-file of 63 bytes" 2 USAGE "$SIM" report "$M" -o "$T/x" --report-data-file "$T/rd63"
expect_fail "--version 4" 2 USAGE "$SIM" report "$M" -o "$T/x" --version 4
expect_fail "--vmpl with a sign" 2 USAGE "$SIM" report "$M" -o "$T/x" --vmpl -1
expect_fail "--guest-svn trailing junk" 2 USAGE "$SIM" report "$M" -o "$T/x" --guest-svn 1x
expect_fail "fmc on Milan" 2 USAGE "$SIM" report "$M" -o "$T/x" --reported-tcb 'fmc=1 bl=1 tee=0 snp=1 ucode=1'
expect_fail "option given twice" 2 USAGE "$SIM" report "$M" -o "$T/x" --vmpl 1 --vmpl 2
expect_fail "--product rome" 2 USAGE "$SIM" init "$T/rome" --product rome
expect_fail "--days 0" 2 USAGE "$SIM" init "$T/d0" --days 0
expect_fail "--days not a number" 2 USAGE "$SIM" init "$T/dx" --days 7y
expect_fail "--not-before not RFC 3339" 2 USAGE "$SIM" init "$T/nb" --not-before 2025-01-01
expect_fail "--fw with two parts" 2 USAGE "$SIM" init "$T/fw" --fw 1.55
expect_fail "--tcb without ucode" 2 USAGE "$SIM" init "$T/tcb" --tcb 'bl=1 tee=0 snp=1'
check "no directory was created by refused commands" test ! -e "$T/rome" -a ! -e "$T/d0"
check "--help exits 0" sh -c "'$SIM' --help | grep -q '^Usage:'"

# Other errors: status 1, one line with the reason code.
expect_fail "init over an existing platform" 1 SIM_EXISTS "$SIM" init "$M"
expect_fail "show a missing directory" 1 SIM_IO "$SIM" show "$T/none"
cp "$TU/vcek-key.pem" "$M/vcek-key.pem"
expect_fail "a foreign VCEK key is refused" 1 SIM_KEY_MISMATCH "$SIM" report "$M" -o "$T/x"
check "no report was written after a refusal" test ! -e "$T/x"
sed 's/snp=24/snp=25/' "$M/platform.conf" >"$T/pc" && cp "$T/pc" "$M/platform.conf"
expect_fail "platform.conf that disagrees with the VCEK" 1 SIM_MISMATCH "$SIM" show "$M"
check "init --force replaces a platform" "$SIM" init "$M" --force --product genoa
check "the replaced platform is Genoa" sh -c "'$SIM' show '$M' | grep -qx 'product: Genoa'"

done_testing
