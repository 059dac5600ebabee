/* Init-data (Trustee kbs/docs/initdata.md): the strict TOML subset parser,
 * the digest over the document's bytes and its HOST_DATA form. Expected
 * digests were computed independently (Python tomllib + hashlib). */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "kbs/initdata.h"
#include "kbs/kbs.h"

static struct ccu_reason rsn;

/* A Kata/CoCo-style document: multi-line literal and basic strings. */
static const char kata[] =
	"algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\n\"aa.toml\" = '''\n"
	"[token_configs]\n[token_configs.kbs]\nurl = \"http://10.0.2.2:8080\"\n'''\n\n"
	"\"cdh.toml\" = \"\"\"\nsocket = 'unix:///run/cdh.sock'\n\"\"\"\n"
	"\"policy.rego\" = \"package agent_policy\\n\\ndefault AllowRequestsFailingPolicy := "
	"true\\n\"\n";

static void expect_digest(const char *doc, enum kbs_hash_alg alg, const char *hex,
			  const char *host_hex, size_t n_data)
{
	struct kbs_initdata d;
	char got[2 * KBS_DIGEST_MAX + 1], host[65];

	memset(&rsn, 0, sizeof(rsn));
	if (kbs_initdata_parse(doc, strlen(doc), &d, &rsn) != 0)
		fail_msg("%s: %s", rsn.code, rsn.detail);
	assert_int_equal(d.alg, alg);
	ccu_hex_encode(d.digest, d.digest_len, got, sizeof(got));
	assert_string_equal(got, hex);
	ccu_hex_encode(d.host_data, sizeof(d.host_data), host, sizeof(host));
	assert_string_equal(host, host_hex);
	assert_int_equal(d.n_data, n_data);
}

static void test_digests(void **state)
{
	(void)state;
	expect_digest(kata, KBS_HASH_SHA384,
		      "21771af6d5cb9b2d9eff0587297f9a1b41948d8bbd7135bf70d2f566644777e2f66c1a9ac7"
		      "8a7813372e9cd49fad806f",
		      "21771af6d5cb9b2d9eff0587297f9a1b41948d8bbd7135bf70d2f566644777e2", 3);
	/* single quotes, a trailing comment; sha256 fills HOST_DATA exactly */
	expect_digest("version = '0.1.0'\nalgorithm = 'sha256'\n\n[data]\nkey1 = \"value1\" # a "
		      "comment\n",
		      KBS_HASH_SHA256,
		      "6282f9609be8f10facf99a39a1e8da8ef4afcc52ab8d22e652790b4885bb78a6",
		      "6282f9609be8f10facf99a39a1e8da8ef4afcc52ab8d22e652790b4885bb78a6", 1);
	/* CRLF, a spaced header; sha512 is truncated to 32 bytes */
	expect_digest("# init-data\r\nalgorithm = \"sha512\"\r\nversion = \"0.1.0\"\r\n[ data ]\r\n"
		      "k = '''x'''\r\n",
		      KBS_HASH_SHA512,
		      "00c56b787d6b9b26a0c186be07643ada574820d700427fc27ad495f7a40f921c2f23ec17ca"
		      "4e0c1687b3dd41ea977fe30d6ded2e3cf1487bd0e338bbde80a52c",
		      "00c56b787d6b9b26a0c186be07643ada574820d700427fc27ad495f7a40f921c", 1);
}

static void test_host_data_regularise(void **state)
{
	uint8_t d[64], out[32], want[32] = { 0 };
	(void)state;

	for (int i = 0; i < 64; i++)
		d[i] = (uint8_t)(i + 1);
	kbs_initdata_host_data(d, 20, out); /* shorter: zero-padded */
	memcpy(want, d, 20);
	assert_memory_equal(out, want, 32);
	kbs_initdata_host_data(d, 64, out); /* longer: truncated */
	assert_memory_equal(out, d, 32);
}

/* Strings that TOML allows and init-data documents use. */
static void test_accepted_forms(void **state)
{
	static const char *const ok[] = {
		"algorithm=\"sha384\"\nversion=\"0.1.0\"\n[data]\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]",
		"\talgorithm\t=\t\"sha384\"\t\nversion = \"0.1.0\"\n[data] # tbl\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\na = \"\\t\\\"\\\\\\u00e9\\U0001F600\"\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\na = \"\"\"x \\\n   y\"\"\"\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\na = \"\"\"q\"\"\"\"\"\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\na = '''it's'''''\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\n'lit key' = \"v\"\nb-_1 = ''\n",
		"algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\nu = \"caf\xc3\xa9\"\n",
		"version = \"0.1.0\"\n# c\xc3\xa9\nalgorithm = \"\\u0073ha384\"\n[data]\n",
	};
	struct kbs_initdata d;
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (kbs_initdata_parse(ok[i], strlen(ok[i]), &d, &rsn) != 0)
			fail_msg("case %zu: %s: %s", i, rsn.code, rsn.detail);
}

static void expect_fail(const char *doc, size_t len, int err, const char *needle)
{
	struct kbs_initdata d;

	memset(&rsn, 0, sizeof(rsn));
	assert_int_equal(kbs_initdata_parse(doc, len, &d, &rsn), err);
	assert_string_equal(rsn.code, KBS_R_INIT_DATA_DOC);
	if (needle && !strstr(rsn.detail, needle))
		fail_msg("detail \"%s\" lacks \"%s\"", rsn.detail, needle);
	assert_int_equal(d.digest_len, 0);
}

#define H "algorithm = \"sha384\"\nversion = \"0.1.0\"\n"
#define FAIL_S(doc, needle) expect_fail(doc, strlen(doc), -EBADMSG, needle)
#define FAIL_ALG(doc, needle) expect_fail(doc, strlen(doc), -ENOTSUP, needle)

static void test_malformed(void **state)
{
	char big[KBS_INITDATA_MAX + 2];
	(void)state;

	/* shape */
	FAIL_S("", "algorithm");
	FAIL_S(H, "[data]");
	FAIL_S("version = \"0.1.0\"\n[data]\n", "algorithm");
	FAIL_S("algorithm = \"sha384\"\n[data]\n", "version");
	FAIL_S(H "[data]\n[data]\n", "second [data]");
	FAIL_S(H "[other]\n", "the only table is [data]");
	FAIL_S(H "[[data]]\n", "arrays of tables");
	FAIL_S(H "[data.x]\n", "dotted keys");
	FAIL_S(H "extra = \"x\"\n[data]\n", "unknown top-level key");
	FAIL_S(H "algorithm = \"sha256\"\n[data]\n", "duplicate key");
	FAIL_S(H "[data]\na = \"1\"\na = '2'\n", "duplicate key 'a'");
	FAIL_S(H "[data]\na = \"1\"\n\"a\" = '2'\n", "duplicate key 'a'");
	FAIL_S(H "[data]\na.b = \"1\"\n", "dotted keys");
	FAIL_S(H "data = { a = \"1\" }\n", "inline tables");
	FAIL_S(H "[data]\na = 1\n", "not a string");
	FAIL_S(H "[data]\na = true\n", "not a string");
	FAIL_S(H "[data]\na = [\"x\"]\n", "not a string");
	FAIL_S(H "[data]\na = 1979-05-27\n", "not a string");
	FAIL_S(H "[data]\na =\n", "without a value");
	FAIL_S(H "[data]\na\n", "expected '='");
	FAIL_S(H "[data]\n= \"x\"\n", "expected a key");
	FAIL_S(H "[data]\n\"\" = \"x\"\n", "empty key");
	FAIL_S(H "[data]\na = \"x\" b = \"y\"\n", "after the value");
	/* metadata values */
	FAIL_ALG("algorithm = \"sha1\"\nversion = \"0.1.0\"\n[data]\n", "sha256, sha384 or sha512");
	FAIL_ALG("algorithm = \"sm3\"\nversion = \"0.1.0\"\n[data]\n", "sm3");
	FAIL_ALG("algorithm = \"SHA384\"\nversion = \"0.1.0\"\n[data]\n", "SHA384");
	FAIL_S("algorithm = \"sha384\"\nversion = \"0.2.0\"\n[data]\n", "0.2.0");
	FAIL_S("algorithm = 384\nversion = \"0.1.0\"\n[data]\n", "not a string");
	FAIL_S("algorithm = \"sha384\\u0000\"\nversion = \"0.1.0\"\n[data]\n", "short string");
	FAIL_S("algorithm = \"sha384sha384sha384sha384sha384sha384\"\nversion = \"0.1.0\"\n[data]\n",
	       "short string");
	/* strings */
	FAIL_S(H "[data]\na = \"x\n", "unterminated basic");
	FAIL_S(H "[data]\na = 'x\n", "unterminated literal");
	FAIL_S(H "[data]\na = \"\"\"x\n", "unterminated multi-line");
	FAIL_S(H "[data]\na = '''x''''''\n", "more than five quotes");
	FAIL_S(H "[data]\na = \"\\q\"\n", "invalid escape");
	FAIL_S(H "[data]\na = \"\\e\"\n", "invalid escape");
	FAIL_S(H "[data]\na = \"\\u12\"\n", "hex digits");
	FAIL_S(H "[data]\na = \"\\uD800\"\n", "scalar value");
	FAIL_S(H "[data]\na = \"\\U00110000\"\n", "scalar value");
	FAIL_S(H "[data]\na = \"x\ty\x01\"\n", "control character");
	FAIL_S(H "[data]\na = '''x\ry'''\n", "control character");
	FAIL_S(H "[data]\na = \"x\x7f\"\n", "control character");
	FAIL_S(H "[data]\na = \"\xc3\"\n", "invalid UTF-8");
	FAIL_S(H "[data]\na = \"\xc0\xaf\"\n", "invalid UTF-8");
	FAIL_S(H "[data]\na = \"\xed\xa0\x80\"\n", "invalid UTF-8");
	FAIL_S(H "[data]\n# \xff\n", "invalid UTF-8");
	FAIL_S(H "[data]\n\"\"\"k\"\"\" = \"v\"\n", "multi-line string cannot be a key");
	FAIL_S("\xef\xbb\xbf" H "[data]\n", "expected a key");
	FAIL_S(H "[data]\r a = \"x\"\n", "unexpected");
	/* line numbers */
	FAIL_S(H "\n[data]\n\na = 1\n", "line 6:");
	FAIL_S(H "[data]\na = '''\n\n\nx\n", "line 4:");
	/* NUL inside: the length decides, not the terminator */
	expect_fail(H "[data]\n\0", sizeof(H "[data]\n"), -EBADMSG, "expected a key");
	/* bounds */
	memset(big, ' ', sizeof(big));
	expect_fail(big, sizeof(big), -EMSGSIZE, "longer than");
	{
		char *many = malloc(64 * (KBS_INITDATA_MAX_ENTRIES + 2));
		size_t o;

		assert_non_null(many);
		o = (size_t)sprintf(many, H "[data]\n");
		for (int i = 0; i <= KBS_INITDATA_MAX_ENTRIES; i++)
			o += (size_t)sprintf(many + o, "k%d = \"\"\n", i);
		expect_fail(many, o, -EBADMSG, "more than 256 members");
		free(many);
	}
	{
		char key[KBS_INITDATA_MAX_KEY + 64];

		snprintf(key, sizeof(key), H "[data]\n%0*d = \"\"\n", KBS_INITDATA_MAX_KEY + 1, 0);
		FAIL_S(key, "key longer than");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_host_data_regularise),
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
