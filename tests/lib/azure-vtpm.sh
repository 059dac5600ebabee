#!/bin/sh
# swtpm as an Azure vTPM for tests: a TPM 2.0 on 127.0.0.1 with the AK at
# persistent handle 0x81000003 (RSA-2048, RSASSA-SHA256, restricted signing
# key, as Azure's) and the HCL report NV index 0x01400001.
#
#   azure-vtpm.sh start DIR PORT    swtpm on PORT (control PORT+1), AK made,
#                                   its public key in DIR/ak.pem
#   azure-vtpm.sh hcl DIR PORT FILE write FILE as NV 0x01400001 (defined to its size)
#   azure-vtpm.sh extend DIR PORT N HEX   extend sha256 PCR N
#   azure-vtpm.sh stop DIR          stop the swtpm started in DIR
#
# Loopback only; every tpm2-tools call is bounded by the tools themselves.
set -eu

cmd=${1:?usage: azure-vtpm.sh start|hcl|extend|stop DIR [PORT ...]}
dir=${2:?DIR}

tools() {
	TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$1"
	export TPM2TOOLS_TCTI
}

case $cmd in
start)
	port=${3:?PORT}
	rm -rf "$dir/state"
	mkdir -p "$dir/state"
	swtpm socket --tpm2 --tpmstate dir="$dir/state" \
		--server type=tcp,port="$port",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --pid file="$dir/swtpm.pid" --daemon
	tools "$port"
	tries=0
	until tpm2_getrandom -T "$TPM2TOOLS_TCTI" 4 >/dev/null 2>&1; do
		tries=$((tries + 1))
		[ "$tries" -lt 50 ] || { echo "swtpm did not come up" >&2; exit 1; }
		sleep 0.1
	done
	tpm2_createprimary -Q -C e -g sha256 -G rsa -c "$dir/primary.ctx"
	tpm2_flushcontext -t
	tpm2_create -Q -C "$dir/primary.ctx" -G rsa2048:rsassa-sha256:null \
		-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" \
		-u "$dir/ak.pub" -r "$dir/ak.priv"
	tpm2_flushcontext -t
	tpm2_load -Q -C "$dir/primary.ctx" -u "$dir/ak.pub" -r "$dir/ak.priv" -c "$dir/ak.ctx"
	tpm2_flushcontext -t
	tpm2_evictcontrol -Q -C o -c "$dir/ak.ctx" 0x81000003
	tpm2_flushcontext -t
	tpm2_readpublic -Q -c 0x81000003 -f pem -o "$dir/ak.pem"
	;;
hcl)
	port=${3:?PORT}
	file=${4:?FILE}
	tools "$port"
	size=$(wc -c <"$file")
	tpm2_nvundefine -Q 0x01400001 -C o 2>/dev/null || true
	tpm2_nvdefine -Q 0x01400001 -C o -s "$size" -a "ownerread|ownerwrite"
	tpm2_nvwrite -Q 0x01400001 -C o -i "$file"
	;;
extend)
	port=${3:?PORT}
	tools "$port"
	tpm2_pcrextend "${4:?N}:sha256=${5:?HEX}"
	;;
stop)
	if [ -f "$dir/swtpm.pid" ]; then
		kill "$(cat "$dir/swtpm.pid")" 2>/dev/null || true
		rm -f "$dir/swtpm.pid"
	fi
	;;
*)
	echo "unknown command '$cmd'" >&2
	exit 2
	;;
esac
