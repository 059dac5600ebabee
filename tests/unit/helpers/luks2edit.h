/*
 * Test helper: rewrite the LUKS2 metadata of an image file the way a host
 * that controls the disk can: edit the JSON, write it into both JSON areas,
 * recompute both (unkeyed) SHA-256 header checksums. Attacks by name for the
 * unit, integration and VM tests (test_guest_luks_header attack KIND IMAGE).
 */
#pragma once

#include <jansson.h>

#include <stdint.h>

/* Recompute the SHA-256 checksum of the binary header at @h (hdr_size @hs). */
void tu_luks2_rechecksum(uint8_t *h, uint64_t hs);

/* @fn edits the parsed metadata in place; returns < 0 to abort. */
int tu_luks2_edit(const char *img, int (*fn)(json_t *root, void *ud), void *ud);

/*
 * KIND: null-segment, ecb-segment, null-keyslot, second-segment, reencrypt,
 * move-area (our keyslot's area and its bytes moved inside the keyslots
 * area), area-outside (our area over the binary header), second-token,
 * unknown-flag. Returns 0 or -errno.
 */
int tu_luks2_attack(const char *img, const char *kind);
