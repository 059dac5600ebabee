#!/usr/bin/env python3
"""Writes the synthetic seed corpora of fuzz_report and fuzz_evidence.

Reports are built from chosen field values (no real report is copied):
v2 Milan, v3 Milan/Genoa (VCEK and VLEK), v5 Genoa and v5 Turin, with a
made-up signature. Evidence seeds are Trustee's primary_evidence JSON form
of those reports, with cert_chain null or with throw-away self-signed
certificates named like AMD's (made with the openssl CLI), plus a few
near-misses. Run from anywhere; rewrites tests/fuzz/corpus/{report,evidence}/.
"""
import base64
import json
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 0x4A0


def tcb(p, bl, tee, snp, ucode, fmc=0):
    if p == 'Turin':
        return bytes([fmc, bl, tee, snp, 0, 0, 0, ucode])
    return bytes([bl, tee, 0, 0, 0, 0, snp, ucode])


def report(version, product, signer=0, mit=(0, 0), seed=1):
    fam, mod = {'Milan': (0x19, 0x01), 'Genoa': (0x19, 0x11), 'Turin': (0x1A, 0x02)}[product]
    b = bytearray(SIZE)
    struct.pack_into('<IIQ', b, 0, version, seed % 3, 0x30000 | (seed & 0x1F))
    b[0x10:0x20] = bytes((seed * 7 + i) & 0xFF for i in range(16))
    struct.pack_into('<II', b, 0x30, 0, 1)
    t = tcb(product, 4, 0, 22, 213, fmc=1)
    b[0x38:0x40] = t
    struct.pack_into('<QI', b, 0x40, 0x25, signer << 2)
    b[0x50:0x90] = bytes((i * 5 + seed) & 0xFF for i in range(64))
    b[0x90:0xC0] = bytes((0xA0 + i * seed) & 0xFF for i in range(48))
    b[0x140:0x160] = bytes((0x11 * i) & 0xFF for i in range(32))
    b[0x160:0x180] = b'\xff' * 32
    b[0x180:0x188] = t
    if version >= 3:
        b[0x188:0x18B] = bytes([fam, mod, 1])
    if signer == 0:
        n = 8 if product == 'Turin' else 64
        b[0x1A0:0x1A0 + n] = bytes((0x3C + 3 * i) & 0xFF for i in range(n))
    b[0x1E0:0x1E8] = t
    b[0x1E8:0x1EB] = bytes([40, 55, 1])
    b[0x1EC:0x1EF] = bytes([38, 55, 1])
    b[0x1F0:0x1F8] = tcb(product, 3, 0, 20, 200, fmc=1)
    if version >= 5:
        struct.pack_into('<QQ', b, 0x1F8, *mit)
    b[0x2A0:0x2A0 + 48] = bytes((0x5A + i) & 0xFF for i in range(48))
    b[0x2E8:0x2E8 + 48] = bytes((0xC3 - i) & 0xFF for i in range(48))
    return bytes(b)


def tcb_json(raw, turin):
    if turin:
        return {'fmc': raw[0], 'bootloader': raw[1], 'tee': raw[2], 'snp': raw[3],
                'microcode': raw[7]}
    return {'fmc': None, 'bootloader': raw[0], 'tee': raw[1], 'snp': raw[6], 'microcode': raw[7]}


def report_json(b):
    """The virtee/sev serde form, members in its order (kbs-protocol.md 9.1)."""
    version = struct.unpack_from('<I', b, 0)[0]
    turin = version >= 3 and b[0x188] == 0x1A
    u32 = lambda o: struct.unpack_from('<I', b, o)[0]
    u64 = lambda o: struct.unpack_from('<Q', b, o)[0]
    arr = lambda o, n: list(b[o:o + n])
    j = {
        'version': version, 'guest_svn': u32(4), 'policy': u64(8), 'family_id': arr(0x10, 16),
        'image_id': arr(0x20, 16), 'vmpl': u32(0x30), 'sig_algo': u32(0x34),
        'current_tcb': tcb_json(b[0x38:0x40], turin), 'plat_info': u64(0x40),
        'key_info': u32(0x48), 'report_data': arr(0x50, 64), 'measurement': arr(0x90, 48),
        'host_data': arr(0xC0, 32), 'id_key_digest': arr(0xE0, 48),
        'author_key_digest': arr(0x110, 48), 'report_id': arr(0x140, 32),
        'report_id_ma': arr(0x160, 32), 'reported_tcb': tcb_json(b[0x180:0x188], turin),
    }
    for i, k in enumerate(('cpuid_fam_id', 'cpuid_mod_id', 'cpuid_step')):
        j[k] = b[0x188 + i] if version >= 3 else None
    j['chip_id'] = arr(0x1A0, 64)
    j['committed_tcb'] = tcb_json(b[0x1E0:0x1E8], turin)
    j['current'] = {'major': b[0x1EA], 'minor': b[0x1E9], 'build': b[0x1E8]}
    j['committed'] = {'major': b[0x1EE], 'minor': b[0x1ED], 'build': b[0x1EC]}
    j['launch_tcb'] = tcb_json(b[0x1F0:0x1F8], turin)
    if version >= 5:
        j['launch_mit_vector'] = u64(0x1F8)
        j['current_mit_vector'] = u64(0x200)
    j['signature'] = {'r': arr(0x2A0, 72), 's': arr(0x2E8, 72)}
    return j


def make_cert(tmp, cn):
    out = os.path.join(tmp, 'c.der')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', os.path.join(tmp, 'k.pem'),
                    '-subj', '/O=Test Devices/CN=' + cn, '-days', '1', '-outform', 'DER',
                    '-out', out], check=True, capture_output=True)
    with open(out, 'rb') as f:
        return list(f.read())


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def main():
    rdir = os.path.join(HERE, 'corpus', 'report')
    edir = os.path.join(HERE, 'corpus', 'evidence')
    for d in (rdir, edir):
        os.makedirs(d, exist_ok=True)
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))

    reports = {
        'v2-milan': report(2, 'Milan', seed=2),
        'v3-milan-vcek': report(3, 'Milan', seed=3),
        'v3-milan-vlek': report(3, 'Milan', signer=1, seed=4),
        'v3-genoa': report(3, 'Genoa', seed=5),
        'v4-genoa': report(4, 'Genoa', seed=6),
        'v5-genoa': report(5, 'Genoa', mit=(1, 3), seed=7),
        'v5-turin': report(5, 'Turin', mit=(0, 1), seed=8),
    }
    for name, b in reports.items():
        write(os.path.join(rdir, name + '.bin'), b)

    with tempfile.TemporaryDirectory() as tmp:
        vcek = make_cert(tmp, 'SEV-VCEK')
        vlek = make_cert(tmp, 'SEV-VLEK')
        ask = make_cert(tmp, 'SEV-Test')
        asvk = make_cert(tmp, 'SEV-VLEK-Test')
        ark = make_cert(tmp, 'ARK-Test')

    def ev(name, raw, chain, b64=True, mutate=None):
        e = {'attestation_report': report_json(raw), 'cert_chain': chain}
        if b64:
            e['report_b64'] = base64.b64encode(raw).decode()
        if mutate:
            mutate(e)
        write(os.path.join(edir, name + '.json'), json.dumps(e, separators=(',', ':')).encode())

    ev('v3-genoa-null', reports['v3-genoa'], None, b64=False)
    ev('v2-milan-b64', reports['v2-milan'], None)
    ev('v5-turin-vcek', reports['v5-turin'], [{'cert_type': 'VCEK', 'data': vcek}])
    ev('v3-milan-chain', reports['v3-milan-vcek'],
       [{'cert_type': 'VCEK', 'data': vcek}, {'cert_type': 'ASK', 'data': ask},
        {'cert_type': 'ARK', 'data': ark}])
    ev('v3-milan-vlek', reports['v3-milan-vlek'],
       [{'cert_type': 'VLEK', 'data': vlek}, {'cert_type': 'ASK', 'data': asvk}])
    ev('v5-genoa-other', reports['v5-genoa'],
       [{'cert_type': 'CRL', 'data': [48, 3, 2, 1, 0]}, {'cert_type': 'Empty', 'data': []},
        {'cert_type': {'OTHER': '63da758d-e664-4564-adc5-f4b93be8accd'}, 'data': [1, 2]}])
    # Near-misses the parser must refuse, as starting points.
    ev('bad-empty-chain', reports['v4-genoa'], [])
    ev('bad-mismatch', reports['v3-genoa'], None,
       mutate=lambda e: e['attestation_report']['measurement'].__setitem__(0, 0))
    ev('bad-name', reports['v3-genoa'], [{'cert_type': 'ARK', 'data': vcek}])


if __name__ == '__main__':
    main()
