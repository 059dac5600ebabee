/*
 * The LUKS2 header is the host's: it is read once into memory, this strict
 * template validates that copy, and the same copy is what libcryptsetup
 * activates (guest/luks.h). Pure: no I/O, no logging.
 *
 * The copy is the whole metadata area: the primary binary header and its
 * JSON area (hdr_size bytes), the secondary (hdr_size bytes), then the
 * keyslots area (config.keyslots_size bytes).
 *
 * Template (anything else is LUKS_HEADER_REFUSED: <what>):
 *  - binary headers: magic, version 2, hdr_size one of 16 KiB..4 MiB, offsets
 *    0 and hdr_size, checksum_alg "sha256" with a correct checksum on both;
 *    both JSON areas byte-identical, same seqid, zero padding after the JSON
 *  - JSON: exactly keyslots, tokens, segments, digests, config; no duplicate
 *    or unknown members anywhere we look; config.json_size = hdr_size - 4096;
 *    keyslots_size a multiple of 4096, at most GUEST_LUKS_KEYSLOTS_SIZE_MAX;
 *    config.flags only known activation flags, no requirements (online
 *    reencryption, unknown future features);
 *  - exactly one segment "0": type crypt, encryption GUEST_LUKS_CIPHER
 *    (never cipher_null, never ecb, no other cipher), iv_tweak "0", sector
 *    size 512..4096, no integrity, no flags, offset at or after the end of
 *    the keyslots area and aligned to the sector size, size "dynamic" or a
 *    positive multiple of the sector size;
 *  - exactly one digest "0": type pbkdf2, segments ["0"], every keyslot
 *    bound to it (no unbound keyslots), ours among them;
 *  - every keyslot: type luks2 (no reencrypt keyslot), key_size 64, af luks1
 *    4000 stripes, area raw with encryption GUEST_LUKS_CIPHER and key_size 64,
 *    inside the keyslots area, not overlapping another; kdf pbkdf2, argon2i
 *    or argon2id; ours (the token's) must be pbkdf2 with an area of exactly
 *    the anti-forensic size of a 64-byte key;
 *  - tokens: objects with a string type; at most one of type ccunlock
 *    (GUEST_LUKS_HDR_NEED_TOKEN: exactly one, naming our keyslot).
 *
 * The pin (GUEST_LUKS_PIN_LEN bytes) is SHA-256 over
 *   "ccunlock-luks2-pin-v1" 0x00 || be64(len(C)) || C || be64(len(A)) || A
 * where A is our keyslot's area bytes (the wrapped volume key) and C the
 * canonical JSON (jansson, compact, sorted keys, ASCII) of
 *   {"uuid": binary header UUID, "config": the config object,
 *    "segment": segments."0", "digest": digests."0" without its "keyslots"
 *    list, "keyslot_id": our keyslot number, "keyslot": our keyslot object
 *    without "priority"}.
 * Not covered (they change legitimately): tokens, other keyslots (checked by
 * the template only), the digest's keyslot list, priorities, seqid, label,
 * subsystem, checksum salt.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "guest/token.h"

#define GUEST_LUKS_HDR_BIN_SIZE 4096
#define GUEST_LUKS_HDR_SIZE_MIN (16 * 1024)
#define GUEST_LUKS_HDR_SIZE_MAX (4 * 1024 * 1024)
#define GUEST_LUKS_KEYSLOTS_SIZE_MAX (32 * 1024 * 1024) /* cryptsetup makes 16 MiB - 32 KiB */
#define GUEST_LUKS_COPY_MAX (2 * GUEST_LUKS_HDR_SIZE_MAX + GUEST_LUKS_KEYSLOTS_SIZE_MAX)
#define GUEST_LUKS_MAX_KEYSLOTS 32
#define GUEST_LUKS_HDR_MAX_TOKENS 32
#define GUEST_LUKS_CIPHER "aes-xts-plain64"
#define GUEST_LUKS_VOLUME_KEY_SIZE 64 /* bytes: AES-256 in XTS mode */
#define GUEST_LUKS_AF_STRIPES 4000
#define GUEST_LUKS_PIN_LEN 32
#define GUEST_LUKS_PIN_HEX_LEN (2 * GUEST_LUKS_PIN_LEN + 1)
#define GUEST_LUKS_PIN_CONTEXT "ccunlock-luks2-pin-v1"

/* A ccunlock token must be present (once) and name the keyslot. */
#define GUEST_LUKS_HDR_NEED_TOKEN 0x1u

struct guest_luks_hdr {
	uint64_t hdr_size, keyslots_size, seqid;
	char uuid[40];
	uint64_t seg_offset;
	uint64_t seg_size; /* 0: dynamic */
	uint32_t sector_size;
	unsigned nkeyslots;
	int keyslot; /* ours */
	uint64_t area_offset, area_size;
	bool has_token;
	int token_id;
	struct guest_token token;
	uint8_t pin[GUEST_LUKS_PIN_LEN];
};

/*
 * How many bytes the copy needs, judged from its first @len bytes: 4096
 * first, then 2 * hdr_size, then the whole metadata area. The caller reads
 * that much and asks again until *@need <= @len.
 */
int guest_luks_hdr_need(const uint8_t *buf, size_t len, size_t *need, struct ccu_reason *err);

/*
 * Validate the copy @buf (exactly the whole metadata area). @keyslot >= 0:
 * that keyslot is ours (enrolment); -1: the ccunlock token's keyslot.
 */
int guest_luks_hdr_check(const uint8_t *buf, size_t len, int keyslot, unsigned flags,
			 struct guest_luks_hdr *out, struct ccu_reason *err);

/* Lower-case hex of a pin. */
void guest_luks_pin_hex(const uint8_t pin[GUEST_LUKS_PIN_LEN], char out[GUEST_LUKS_PIN_HEX_LEN]);
