/*
 * Fuzz the LUKS2 header validator (the host writes the header) and the
 * released-payload parser. The first byte picks the mode:
 *   even: the rest is a header copy as it is (binary headers first);
 *   odd:  the rest is the JSON text, wrapped into a valid pair of 16 KiB
 *         binary headers with correct checksums and a zeroed keyslots area
 *         of the size the JSON asks for (at most FUZZ_KEYSLOTS_MAX), so the
 *         template itself is what gets explored.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "guest/luks_header.h"
#include "guest/payload.h"

#define FUZZ_HDR_SIZE (16 * 1024)
#define FUZZ_KEYSLOTS_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void binhdr(uint8_t *h, int secondary)
{
	static const uint8_t m1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	static const uint8_t m2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };
	unsigned int n = 0;
	EVP_MD_CTX *md;

	memcpy(h, secondary ? m2 : m1, 6);
	h[7] = 2;
	put_be64(h + 8, FUZZ_HDR_SIZE);
	put_be64(h + 16, 7);
	memcpy(h + 72, "sha256", 6);
	memcpy(h + 168, "3d1f2e4c-0000-4000-8000-000000000001", 36);
	put_be64(h + 256, secondary ? FUZZ_HDR_SIZE : 0);
	memset(h + 448, 0, 64);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, h, FUZZ_HDR_SIZE) != 1 ||
	    EVP_DigestFinal_ex(md, h + 448, &n) != 1)
		abort();
	EVP_MD_CTX_free(md);
}

static void check(const uint8_t *buf, size_t len)
{
	struct guest_luks_hdr h;
	size_t need;

	(void)guest_luks_hdr_need(buf, len, &need, NULL);
	if (guest_luks_hdr_check(buf, len, -1, GUEST_LUKS_HDR_NEED_TOKEN, &h, NULL) == 0) {
		/* what passes is inside the template */
		if (h.keyslot < 0 || h.keyslot >= GUEST_LUKS_MAX_KEYSLOTS || !h.has_token ||
		    h.area_offset < 2 * h.hdr_size || h.area_offset + h.area_size > len ||
		    h.seg_offset < len)
			abort();
	}
	(void)guest_luks_hdr_check(buf, len, 0, 0, &h, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_payload p;

	if (size < 1)
		return 0;
	(void)guest_payload_parse(data + 1, size - 1, &p, NULL);
	if ((data[0] & 1) == 0) {
		check(data + 1, size - 1);
		return 0;
	}
	if (size - 1 >= FUZZ_HDR_SIZE - 4096)
		return 0;
	uint8_t *b = calloc(1, 2 * FUZZ_HDR_SIZE + FUZZ_KEYSLOTS_MAX);
	size_t need = 0;
	if (!b)
		abort();
	for (int i = 0; i < 2; i++) {
		memcpy(b + i * FUZZ_HDR_SIZE + 4096, data + 1, size - 1);
		binhdr(b + i * FUZZ_HDR_SIZE, i);
	}
	if (guest_luks_hdr_need(b, 2 * FUZZ_HDR_SIZE, &need, NULL) == 0 &&
	    need >= 2 * FUZZ_HDR_SIZE && need <= 2 * FUZZ_HDR_SIZE + FUZZ_KEYSLOTS_MAX)
		check(b, need);
	free(b);
	return 0;
}
