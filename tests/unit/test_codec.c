/* Strict hex/base64 codecs: round trips, RFC 4648 vectors, and every way a
 * non-canonical input must be refused. */
#include "helpers/testutil.h"

#include <errno.h>
#include <string.h>

#include "common/codec.h"

static void test_rfc4648_vectors(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char out[32];
	uint8_t dec[32];
	(void)state;

	for (size_t i = 0; i < 7; i++) {
		size_t l = strlen(in[i]);

		assert_int_equal(ccu_b64_encode((const uint8_t *)in[i], l, CCU_B64_STD, out, sizeof(out)),
				 (int)strlen(std[i]));
		assert_string_equal(out, std[i]);
		assert_int_equal(ccu_b64_encode((const uint8_t *)in[i], l, CCU_B64_URL, out, sizeof(out)),
				 (int)strlen(url[i]));
		assert_string_equal(out, url[i]);
		assert_int_equal(ccu_b64_decode(std[i], strlen(std[i]), CCU_B64_STD, dec, sizeof(dec)), (int)l);
		assert_memory_equal(dec, in[i], l);
		assert_int_equal(ccu_b64_decode(url[i], strlen(url[i]), CCU_B64_URL, dec, sizeof(dec)), (int)l);
		assert_memory_equal(dec, in[i], l);
	}
}

static void test_b64_all_lengths_roundtrip(void **state)
{
	uint8_t buf[70], dec[80];
	char enc[128];
	(void)state;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t l = 0; l <= sizeof(buf); l++) {
		for (int v = CCU_B64_STD; v <= CCU_B64_URL; v++) {
			int n = ccu_b64_encode(buf, l, (enum ccu_b64)v, enc, sizeof(enc));

			assert_true(n >= 0);
			assert_int_equal((size_t)n, ccu_b64_encoded_len(l, (enum ccu_b64)v));
			assert_int_equal(ccu_b64_decode(enc, (size_t)n, (enum ccu_b64)v, dec, sizeof(dec)), (int)l);
			assert_memory_equal(dec, buf, l);
		}
	}
}

static void test_b64_rejects_noncanonical(void **state)
{
	static const char *const bad_std[] = {
		"Zg=",     /* short padding */
		"Zg",      /* missing padding */
		"Zh==",    /* non-zero pad bits */
		"Zm9=",    /* non-zero pad bits (2 bytes) */
		"Zm 9v",   /* whitespace */
		"Zm9v\n",  /* newline */
		"Z===",    /* too much padding */
		"Zm-v",    /* URL alphabet in standard */
		"=Zm9",    /* padding first */
		"Zg==Zg==", /* padding in the middle */
	};
	static const char *const bad_url[] = { "Zg==", "Z", "Zh", "Zm+v", "Zm/v", "Zm9", "Zm9v!" };
	uint8_t out[16];
	(void)state;

	for (size_t i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
		assert_int_equal(ccu_b64_decode(bad_std[i], strlen(bad_std[i]), CCU_B64_STD, out, sizeof(out)),
				 -EINVAL);
	/* "Zm9" decodes in URL form (2 bytes, pad bits zero?) only if canonical */
	for (size_t i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		int r = ccu_b64_decode(bad_url[i], strlen(bad_url[i]), CCU_B64_URL, out, sizeof(out));

		if (strcmp(bad_url[i], "Zm9") == 0) {
			/* 'Z','m','9': last symbol 61 = 0b111101, low two bits 01: not canonical */
			assert_int_equal(r, -EINVAL);
		} else {
			assert_int_equal(r, -EINVAL);
		}
	}
}

static void test_b64_output_bounds(void **state)
{
	uint8_t out[2];
	char enc[4];
	(void)state;

	assert_int_equal(ccu_b64_decode("Zm9v", 4, CCU_B64_STD, out, sizeof(out)), -ENOSPC);
	assert_int_equal(ccu_b64_encode((const uint8_t *)"foo", 3, CCU_B64_STD, enc, sizeof(enc)), -ENOSPC);
}

static void test_hex(void **state)
{
	uint8_t b[4] = { 0x00, 0xab, 0xCD, 0xff }, d[4];
	char s[9];
	(void)state;

	assert_int_equal(ccu_hex_encode(b, 4, s, sizeof(s)), 8);
	assert_string_equal(s, "00abcdff");
	assert_int_equal(ccu_hex_decode("00ABcdff", 8, d, 4), 4);
	assert_memory_equal(b, d, 4);
	assert_int_equal(ccu_hex_decode("abc", 3, d, 4), -EINVAL);
	assert_int_equal(ccu_hex_decode("zz", 2, d, 4), -EINVAL);
	assert_int_equal(ccu_hex_decode("0011223344", 10, d, 4), -ENOSPC);
	assert_int_equal(ccu_hex_encode(b, 4, s, 8), -ENOSPC);
	assert_int_equal(ccu_hex_decode_exact("00abcdff", d, 4), 0);
	assert_int_equal(ccu_hex_decode_exact("00abcd", d, 4), -EINVAL);
	assert_int_equal(ccu_hex_decode_exact("00abcdff00", d, 4), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_b64_all_lengths_roundtrip),
		cmocka_unit_test(test_b64_rejects_noncanonical),
		cmocka_unit_test(test_b64_output_bounds),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
