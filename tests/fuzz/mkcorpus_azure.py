#!/usr/bin/env python3
"""Writes the synthetic seed corpora of the Azure fuzz targets
(az_hcl, az_runtime, az_tpm, az_evidence).

Nothing is copied from real evidence: the HCL report wraps the project's
own synthetic SNP report seed (corpus/report/v3-milan-vcek.bin), the
runtime data carries a throw-away RSA-2048 attestation key made with the
openssl CLI, the quote is a TPMS_ATTEST built here and signed with that
key, and the "VCEK" is a throw-away self-signed certificate. Run from
anywhere; rewrites tests/fuzz/corpus/az_*/ and broker_attest/az-v2.json.
"""
import base64
import hashlib
import json
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def b64u(b, pad=False):
    s = base64.urlsafe_b64encode(b).decode()
    return s if pad else s.rstrip("=")


def run(*args):
    return subprocess.run(args, check=True, capture_output=True).stdout


def write(sub, name, data):
    d = os.path.join(CORPUS, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def attest(extra, digest, mask=0xFFFFFF):
    name = b"\x00\x0b" + bytes(32)
    b = struct.pack(">IH", 0xFF544347, 0x8018)
    b += struct.pack(">H", len(name)) + name
    b += struct.pack(">H", len(extra)) + extra
    b += struct.pack(">QIIB", 12345, 2, 0, 1) + struct.pack(">Q", 0x2020031200120003)
    b += struct.pack(">IHB", 1, 0x000B, 3) + struct.pack("<I", mask)[:3]
    b += struct.pack(">H", 32) + digest
    return b


def main():
    with tempfile.TemporaryDirectory() as t:
        key = os.path.join(t, "ak.pem")
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", key)
        mod = run("openssl", "rsa", "-in", key, "-noout", "-modulus").decode()
        n = bytes.fromhex(mod.strip().split("=")[1])
        cert = os.path.join(t, "c.der")
        run("openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=VCEK", "-days", "1",
            "-outform", "DER", "-out", cert)
        vcek = open(cert, "rb").read()

        binding = hashlib.sha384(b"seed").digest()
        runtime = json.dumps({
            "keys": [{"kid": "HCLAkPub", "key_ops": ["sign"], "kty": "RSA",
                      "e": "AQAB", "n": b64u(n)}],
            "vm-configuration": {"console-enabled": False, "secure-boot": True,
                                 "tpm-enabled": True, "vmUniqueId": "00000000-SEED"},
            "user-data": (binding + bytes(16)).hex().upper(),
        }, separators=(",", ":")).encode()
        write("az_runtime", "seed.json", runtime)
        write("az_runtime", "minimal.json",
              json.dumps({"keys": [{"kid": "HCLAkPub", "kty": "RSA", "e": "AQAB",
                                    "n": b64u(n)}]}))
        write("az_runtime", "bad-two-ak.json",
              '{"keys":[{"kid":"HCLAkPub"},{"kid":"HCLAkPub"}]}')

        report = bytearray(open(os.path.join(CORPUS, "report", "v3-milan-vcek.bin"), "rb").read())
        report[0x50:0x90] = hashlib.sha256(runtime).digest() + bytes(32)
        used = 0x20 + len(report) + 20 + len(runtime)
        hcl = struct.pack("<8I", 0x414C4348, 1, used, 2, 0, 0, 0, 0) + bytes(report)
        hcl += struct.pack("<5I", 20 + len(runtime), 1, 2, 1, len(runtime)) + runtime
        hcl += bytes(2600 - len(hcl))
        write("az_hcl", "seed.bin", hcl)
        write("az_hcl", "bad-padding.bin", hcl[:-1] + b"\x01")

        pcrs = [bytes([i]) * 32 for i in range(24)]
        msg = attest(binding, hashlib.sha256(b"".join(pcrs)).digest())
        write("az_tpm", "quote.bin", msg)
        write("az_tpm", "quote-8pcrs.bin", attest(b"", bytes(32), 0xFF))
        write("az_tpm", "bad-trailing.bin", msg + b"\x00")
        m = os.path.join(t, "m")
        open(m, "wb").write(msg)
        sig = run("openssl", "dgst", "-sha256", "-sign", key, m)

        v2 = {"version": 2,
              "tpm_quote": {"signature": sig.hex(), "message": msg.hex(),
                            "pcrs": [p.hex() for p in pcrs]},
              "hcl_report": b64u(hcl, True), "vcek": b64u(vcek, True)}
        write("az_evidence", "v2.json", json.dumps(v2))
        v0 = {"quote": {"signature": list(sig), "message": list(msg),
                        "pcrs": [list(p) for p in pcrs]},
              "report": list(hcl),
              "vcek": run("openssl", "x509", "-inform", "DER", "-in", cert).decode()}
        write("az_evidence", "v0.json", json.dumps(v0))
        bad = dict(v2)
        bad["extra"] = 1
        write("az_evidence", "bad-member.json", json.dumps(bad))

        # fuzz_broker_attest: the same evidence in an /attest body (the
        # body of an existing seed, mkcorpus_snp.py's).
        with open(os.path.join(CORPUS, "broker_attest", "v3-genoa-null.json")) as f:
            body = json.load(f)
        body["tee-evidence"]["primary_evidence"] = v2
        write("broker_attest", "az-v2.json", json.dumps(body))


if __name__ == "__main__":
    main()
