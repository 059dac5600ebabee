#include "common/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

int ccu_hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	if (len > (SIZE_MAX - 1) / 2 || outlen < 2 * len + 1)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
	return (int)(2 * len);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ccu_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen % 2)
		return -EINVAL;
	if (inlen / 2 > outlen)
		return -ENOSPC;
	for (size_t i = 0; i < inlen; i += 2) {
		int hi = hexval(in[i]), lo = hexval(in[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(inlen / 2);
}

int ccu_hex_decode_exact(const char *in, uint8_t *out, size_t n)
{
	size_t l = strlen(in);
	int r;

	if (l != 2 * n)
		return -EINVAL;
	r = ccu_hex_decode(in, l, out, n);
	return r < 0 ? r : 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t ccu_b64_encoded_len(size_t len, enum ccu_b64 v)
{
	if (v == CCU_B64_STD)
		return (len + 2) / 3 * 4;
	return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

size_t ccu_b64_decoded_max(size_t inlen)
{
	return inlen / 4 * 3 + 3;
}

int ccu_b64_encode(const uint8_t *in, size_t len, enum ccu_b64 v, char *out, size_t outlen)
{
	const char *a = v == CCU_B64_STD ? b64_std : b64_url;
	size_t need, o = 0, i = 0;

	if (len > (size_t)0x3fffffff)
		return -ENOSPC;
	need = ccu_b64_encoded_len(len, v);
	if (outlen < need + 1)
		return -ENOSPC;
	for (; i + 3 <= len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = a[w >> 18 & 63];
		out[o++] = a[w >> 12 & 63];
		out[o++] = a[w >> 6 & 63];
		out[o++] = a[w & 63];
	}
	if (len - i == 1) {
		uint32_t w = (uint32_t)in[i] << 16;

		out[o++] = a[w >> 18 & 63];
		out[o++] = a[w >> 12 & 63];
		if (v == CCU_B64_STD) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = a[w >> 18 & 63];
		out[o++] = a[w >> 12 & 63];
		out[o++] = a[w >> 6 & 63];
		if (v == CCU_B64_STD)
			out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

char *ccu_b64_encode_alloc(const uint8_t *in, size_t len, enum ccu_b64 v)
{
	size_t n = ccu_b64_encoded_len(len, v) + 1;
	char *s = malloc(n);

	if (s && ccu_b64_encode(in, len, v, s, n) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int b64val(char c, enum ccu_b64 v)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (v == CCU_B64_STD) {
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
	} else {
		if (c == '-')
			return 62;
		if (c == '_')
			return 63;
	}
	return -1;
}

int ccu_b64_decode(const char *in, size_t inlen, enum ccu_b64 v, uint8_t *out, size_t outlen)
{
	size_t data = inlen, o = 0, rem, need;
	uint32_t acc = 0;

	if (v == CCU_B64_STD) {
		if (inlen % 4)
			return -EINVAL;
		if (data && in[data - 1] == '=')
			data--;
		if (data && in[data - 1] == '=')
			data--;
	} else if (inlen % 4 == 1) {
		return -EINVAL;
	}
	rem = data % 4;
	if (rem == 1)
		return -EINVAL;
	need = data / 4 * 3 + (rem ? rem - 1 : 0);
	if (need > outlen)
		return -ENOSPC;
	for (size_t i = 0; i < data; i++) {
		int x = b64val(in[i], v);

		if (x < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)x;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* Canonical form: the unused low bits of the last symbol are zero. */
	if (rem == 2) {
		if (acc & 0xf)
			return -EINVAL;
		out[o++] = (uint8_t)(acc >> 4);
	} else if (rem == 3) {
		if (acc & 0x3)
			return -EINVAL;
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	}
	return (int)o;
}
