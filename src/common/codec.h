/*
 * Strict hex and base64 codecs. Decoders reject anything that is not the one
 * canonical encoding: whitespace, wrong padding, non-zero pad bits, the
 * other alphabet. (OpenSSL's EVP_DecodeBlock is lenient about all of these,
 * which is why these few lines exist; encoding is equally small.)
 *
 * Return values: decoders return the number of bytes written or -EINVAL
 * (malformed) / -ENOSPC (output too small); encoders return the number of
 * characters written (the output is always NUL-terminated) or -ENOSPC.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum ccu_b64 {
	CCU_B64_STD,     /* RFC 4648 §4, with '=' padding */
	CCU_B64_URL,     /* RFC 4648 §5, no padding (JOSE) */
};

int ccu_hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
int ccu_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);
/* @in must be exactly 2*@n hex digits (NUL-terminated string). */
int ccu_hex_decode_exact(const char *in, uint8_t *out, size_t n);

size_t ccu_b64_encoded_len(size_t len, enum ccu_b64 v); /* without the NUL */
size_t ccu_b64_decoded_max(size_t inlen);
int ccu_b64_encode(const uint8_t *in, size_t len, enum ccu_b64 v, char *out, size_t outlen);
int ccu_b64_decode(const char *in, size_t inlen, enum ccu_b64 v, uint8_t *out, size_t outlen);
/* malloc'ed, NUL-terminated; NULL on allocation failure. */
char *ccu_b64_encode_alloc(const uint8_t *in, size_t len, enum ccu_b64 v);
