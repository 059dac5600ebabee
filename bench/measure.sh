#!/bin/sh
# Launch-measurement speed and memory: ccunlock-kbs measure for a 2 MiB
# firmware with kernel hashes (the AmdSev layout of the fuzz seed corpus in
# front of 2 MiB of random bytes), an 8 MiB kernel and an 8 MiB initrd, SNP
# with 4 vCPUs, SEV-ES and SEV; and Debian's own OVMF without a kernel when
# installed. Prints wall time per run and the peak resident set size. When
# sev-snp-measure is on PATH it is measured on the same inputs as a peer.
#
#   bench/measure.sh [RUNS]        (O=build by default)
set -eu
O=${O:-build}
runs=${1:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x "$O/ccunlock-kbs" ] || make -s all
KBS=$O/ccunlock-kbs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

head -c $((2 * 1024 * 1024 - 4096)) /dev/urandom >"$tmp/ovmf.fd"
cat tests/fuzz/corpus/firmware/amdsev >>"$tmp/ovmf.fd"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$tmp/vmlinuz"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$tmp/initrd.img"

# now_ns: a monotonic-enough wall clock in nanoseconds (GNU date).
now_ns() { date +%s%N; }

# bench LABEL CMD...: RUNS runs; prints the mean and the best wall time in ms
# and, with GNU time, the peak RSS of one more run.
bench() {
	label=$1
	shift
	"$@" >/dev/null
	best=
	total=0
	i=0
	while [ "$i" -lt "$runs" ]; do
		t0=$(now_ns)
		"$@" >/dev/null
		t1=$(now_ns)
		d=$(((t1 - t0) / 1000))
		total=$((total + d))
		if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
		i=$((i + 1))
	done
	rss=
	if [ -x /usr/bin/time ]; then
		rss=$(/usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1)
		rss=", peak RSS ${rss} KiB"
	fi
	printf '%-44s mean %6d.%03d ms, best %6d.%03d ms%s\n' "$label" \
		$((total / runs / 1000)) $((total / runs % 1000)) $((best / 1000)) $((best % 1000)) \
		"$rss"
}

K="--kernel $tmp/vmlinuz --initrd $tmp/initrd.img --append console=ttyS0"
echo "== launch measurement: 2 MiB firmware, 8 MiB kernel, 8 MiB initrd, $runs runs each"
# shellcheck disable=SC2086 # $K is a list of options
bench "snp, 4 vCPUs, kernel hashes" "$KBS" measure --mode snp --ovmf "$tmp/ovmf.fd" --vcpus 4 \
	--vcpu-type EPYC-Genoa $K
# shellcheck disable=SC2086
bench "seves, 4 vCPUs, kernel hashes" "$KBS" measure --mode seves --ovmf "$tmp/ovmf.fd" \
	--vcpus 4 --vcpu-type EPYC-Genoa $K
# shellcheck disable=SC2086
bench "sev, kernel hashes" "$KBS" measure --mode sev --ovmf "$tmp/ovmf.fd" $K
if [ -f /usr/share/ovmf/OVMF.fd ]; then
	bench "snp, Debian OVMF.fd (2 MiB), 2 vCPUs" "$KBS" measure --mode snp \
		--ovmf /usr/share/ovmf/OVMF.fd --vcpus 2 --vcpu-type EPYC-Milan
fi
if command -v sev-snp-measure >/dev/null 2>&1; then
	echo "-- peer: sev-snp-measure (Python) on the same inputs"
	# shellcheck disable=SC2086
	bench "sev-snp-measure snp, 4 vCPUs, kernel hashes" sev-snp-measure --mode snp \
		--ovmf "$tmp/ovmf.fd" --vcpus 4 --vcpu-type EPYC-Genoa $K
fi
