/*
 * The released resource (the JWE plaintext) for a disk key. Two forms:
 *
 *  - pinned (what `ccunlock enroll` stores):
 *      "CCUNLOCK-PIN-V1\n" (16 bytes) || pin (32 bytes, guest/luks_header.h)
 *      || key (GUEST_PAYLOAD_KEY_MIN..GUEST_PAYLOAD_KEY_MAX bytes)
 *    The guest refuses a LUKS2 header whose pin differs before activation.
 *  - anything else is a plain key (e.g. a resource a Trustee KBS serves, or
 *    one enrolled before pins existed): unpinned, template checks only.
 *
 * A plain key that happens to start with the magic is read as pinned and
 * fails closed (its "pin" matches no header), never open. Pure; the key
 * stays where it is (the caller's locked buffer).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "guest/luks_header.h"

#define GUEST_PAYLOAD_MAGIC_LEN 16
#define GUEST_PAYLOAD_KEY_MIN 16
#define GUEST_PAYLOAD_KEY_MAX 512
#define GUEST_PAYLOAD_PINNED_MAX (GUEST_PAYLOAD_MAGIC_LEN + GUEST_LUKS_PIN_LEN + GUEST_PAYLOAD_KEY_MAX)

struct guest_payload {
	bool pinned;
	uint8_t pin[GUEST_LUKS_PIN_LEN];
	const uint8_t *key; /* inside the parsed buffer */
	size_t key_len;
};

/* Reason code KBS_PAYLOAD (a pinned payload of the wrong size). */
int guest_payload_parse(const uint8_t *p, size_t len, struct guest_payload *out,
			struct ccu_reason *err);

/* The pinned form of @key into @out (GUEST_PAYLOAD_PINNED_MAX bytes); returns its length. */
int guest_payload_build(const uint8_t pin[GUEST_LUKS_PIN_LEN], const uint8_t *key, size_t key_len,
			uint8_t *out, size_t out_len, struct ccu_reason *err);
