#!/usr/bin/env python3
"""Writes the synthetic seed corpus of fuzz_firmware: ends of OVMF-like
images built from chosen layouts (no firmware is copied): an AmdSev-style
table with kernel hashes, an OvmfX64-style one, a table without SEV
metadata, no table at all, and near-misses. Rewrites
tests/fuzz/corpus/firmware/."""
import os
import struct
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'firmware')

FOOTER = '96b582de-1fb2-45f7-baea-a366c55a082d'
RESET = '00f771de-1a7e-4fcb-890e-68c77e2fb44e'
META = 'dc886566-984a-4798-a75e-5585a7bf67cc'
HASHES = '7255371f-3a3b-4b04-927b-1da6efa8d454'
SECRET = '4c2eb361-7d9b-4cc3-8081-127c90d3d294'


def guid(s):
    return uuid.UUID(s).bytes_le


def image(size, entries, sections, meta_at=0x554, version=1, sig=b'ASEV'):
    b = bytearray(size)
    for i in range(size):
        b[i] = (i * 131) & 0xff
    table = b''
    for g, data in entries:
        table = data + struct.pack('<H', len(data) + 18) + guid(g) + table
    footer = size - 50
    start = footer - len(table)
    b[start:footer] = table
    b[footer:footer + 18] = struct.pack('<H', len(table) + 18) + guid(FOOTER)
    if sections is not None:
        h = sig + struct.pack('<III', 16 + 12 * len(sections), version, len(sections))
        for gpa, sz, t in sections:
            h += struct.pack('<III', gpa, sz, t)
        b[size - meta_at:size - meta_at + len(h)] = h
    return bytes(b)


AMDSEV = [(0x800000, 0x9000, 1), (0x80A000, 0x3000, 1), (0x80D000, 0x1000, 2),
          (0x80E000, 0x1000, 3), (0x80F000, 0x1000, 4), (0x810000, 0x1000, 0x10),
          (0x811000, 0xF000, 1)]
X64 = [(0x800000, 0x9000, 1), (0x80A000, 0x3000, 1), (0x80D000, 0x1000, 2),
       (0x80E000, 0x1000, 3), (0x80F000, 0x1000, 4), (0x810000, 0x10000, 1)]


def entries(meta=0x554, hashes=(0x810C00, 0x400)):
    return [(RESET, struct.pack('<I', 0x80B004)),
            (HASHES, struct.pack('<II', *hashes)),
            (SECRET, struct.pack('<II', 0x810000, 0xC00)),
            (META, struct.pack('<I', meta))]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.unlink(os.path.join(OUT, f))
    seeds = {
        'amdsev': image(4096, entries(), AMDSEV),
        'amdsev-8k': image(8192, entries(), AMDSEV),
        'ovmfx64': image(4096, entries(hashes=(0, 0)), X64),
        'no-metadata': image(4096, entries()[:3], None),
        'no-table': bytes(4096),
        'bad-version': image(4096, entries(), AMDSEV, version=2),
        'bad-signature': image(4096, entries(), AMDSEV, sig=b'ASEW'),
        'overlap': image(4096, entries(), AMDSEV + [(0x808000, 0x1000, 1)]),
        'unknown-type': image(4096, entries(), [(0x800000, 0x1000, 7)]),
        'meta-outside': image(4096, entries(meta=0x2000), None),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
