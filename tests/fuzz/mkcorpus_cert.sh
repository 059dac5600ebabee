#!/bin/sh
# Regenerates the synthetic seed corpus of fuzz_cert (tests/fuzz/corpus/cert/):
# certificates shaped like AMD's (names, RSA-PSS chain, VCEK/VLEK extensions
# in KDS's encodings) made with the openssl CLI. Never real vectors.
#
#   tests/fuzz/mkcorpus_cert.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/tests/fuzz/corpus/cert
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

loc="/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices"
pss="-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384"
hwid64=$(printf '%0128x' 0 | sed 's/0/a/g')
hwid8=1e550a8ee5cf9f4d

# Small RSA keys keep the seeds small; the parsers do not care.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out ark.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out ask.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out leaf.key 2>/dev/null

cat >ext.cnf <<EOF
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[milan]
1.3.6.1.4.1.3704.1.1 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.2 = ASN1:IA5STRING:Milan-B0
1.3.6.1.4.1.3704.1.3.1 = ASN1:INTEGER:3
1.3.6.1.4.1.3704.1.3.2 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.4 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.5 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.6 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.7 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.3 = ASN1:INTEGER:22
1.3.6.1.4.1.3704.1.3.8 = ASN1:INTEGER:209
1.3.6.1.4.1.3704.1.4 = DER:$hwid64
[wrapped]
1.3.6.1.4.1.3704.1.1 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.2 = ASN1:IA5STRING:Milan-B0
1.3.6.1.4.1.3704.1.3.1 = ASN1:INTEGER:3
1.3.6.1.4.1.3704.1.3.2 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.3 = ASN1:INTEGER:8
1.3.6.1.4.1.3704.1.3.8 = ASN1:INTEGER:115
1.3.6.1.4.1.3704.1.4 = ASN1:FORMAT:HEX,OCTETSTRING:$hwid64
[turin]
1.3.6.1.4.1.3704.1.1 = ASN1:INTEGER:1
1.3.6.1.4.1.3704.1.2 = ASN1:IA5STRING:Turin
1.3.6.1.4.1.3704.1.3.9 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.1 = ASN1:INTEGER:1
1.3.6.1.4.1.3704.1.3.2 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.3 = ASN1:INTEGER:2
1.3.6.1.4.1.3704.1.3.5 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.6 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.7 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.8 = ASN1:INTEGER:71
1.3.6.1.4.1.3704.1.4 = DER:$hwid8
[vlek]
1.3.6.1.4.1.3704.1.1 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.2 = ASN1:IA5STRING:Milan
1.3.6.1.4.1.3704.1.3.1 = ASN1:INTEGER:4
1.3.6.1.4.1.3704.1.3.2 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.3 = ASN1:INTEGER:24
1.3.6.1.4.1.3704.1.3.8 = ASN1:INTEGER:217
1.3.6.1.4.1.3704.1.5 = ASN1:IA5STRING:CN=vlek.example
[bad]
1.3.6.1.4.1.3704.1.3.1 = DER:020180
1.3.6.1.4.1.3704.1.3.8 = DER:0202007f
1.3.6.1.4.1.3704.1.4 = DER:0011
EOF

# shellcheck disable=SC2086 # $pss is a list of options
root() { # CN KEY
	openssl req -x509 -new -key "$2" -subj "$loc/CN=$1" -days 9000 -set_serial 0x10000 \
		$pss -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -outform DER -out "$1.der" 2>/dev/null
}

# shellcheck disable=SC2086
issue() { # OUT CN KEY ISSUER_DER ISSUER_KEY SECTION
	openssl req -new -key "$3" -subj "$loc/CN=$2" -config /dev/null -out req.csr 2>/dev/null
	openssl x509 -req -in req.csr -CA "$4" -CAform DER -CAkey "$5" -set_serial 0 -days 2555 \
		$pss -extfile ext.cnf -extensions "$6" -outform DER -out "$1" 2>/dev/null
}

root ARK-Milan ark.key
issue ask-milan.der SEV-Milan ask.key ARK-Milan.der ark.key ca
issue asvk-milan.der SEV-VLEK-Milan ask.key ARK-Milan.der ark.key ca
issue vcek-milan.der SEV-VCEK leaf.key ask-milan.der ask.key milan
issue vcek-wrapped-hwid.der SEV-VCEK leaf.key ask-milan.der ask.key wrapped
issue vlek-milan.der SEV-VLEK leaf.key asvk-milan.der ask.key vlek
issue vcek-bad-ext.der SEV-VCEK leaf.key ask-milan.der ask.key bad
root ARK-Turin ark.key
issue ask-turin.der SEV-Turin ask.key ARK-Turin.der ark.key ca
issue vcek-turin.der SEV-VCEK leaf.key ask-turin.der ask.key turin

pem() { openssl x509 -inform DER -in "$1"; }

rm -rf "$out"
mkdir -p "$out"
for f in ARK-Milan.der ask-milan.der vcek-milan.der vcek-wrapped-hwid.der vlek-milan.der \
	vcek-bad-ext.der vcek-turin.der; do
	cp "$f" "$out/$(echo "$f" | tr '[:upper:]' '[:lower:]')"
done
pem vcek-milan.der >"$out/vcek-milan.pem"
{ pem ask-milan.der; pem ARK-Milan.der; } >"$out/chain-milan.pem"
{ pem vcek-turin.der; pem ask-turin.der; pem ARK-Turin.der; } | sed 's/$/\r/' >"$out/chain-turin-crlf.pem"
{ pem vlek-milan.der; pem asvk-milan.der; pem ARK-Milan.der; } >"$out/chain-vlek.pem"
printf 'not a certificate\n' >"$out/garbage.txt"
echo "seeds in $out:"
ls "$out"
