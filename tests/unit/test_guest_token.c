/* The LUKS2 "ccunlock" token: the one accepted shape and every deviation. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/token.h"

static struct ccu_reason rsn;

static int parse(const char *s, struct guest_token *t)
{
	memset(&rsn, 0, sizeof(rsn));
	return guest_token_parse(s, strlen(s), t, TU_FRESH(&rsn));
}

static void test_valid_and_build(void **state)
{
	struct guest_token t;
	char *s = NULL;
	(void)state;

	assert_int_equal(parse("{\"type\":\"ccunlock\",\"keyslots\":[\"3\"],\"resource\":"
			       "\"disks/luks/root-1\",\"version\":1}",
			       &t),
			 0);
	assert_int_equal(t.keyslot, 3);
	assert_string_equal(t.resource.repo, "disks");
	assert_string_equal(t.resource.type, "luks");
	assert_string_equal(t.resource.tag, "root-1");
	assert_string_equal(t.resource_str, "disks/luks/root-1");
	/* Member order and whitespace are free; json-c may escape '/'. */
	assert_int_equal(parse(" { \"version\" : 1, \"resource\":\"a\\/b\\/c\", \"keyslots\":[\"31\"],"
			       "\"type\":\"ccunlock\" } ",
			       &t),
			 0);
	assert_int_equal(t.keyslot, 31);
	assert_string_equal(t.resource_str, "a/b/c");

	assert_int_equal(guest_token_build(7, "r/t/x", &s, TU_FRESH(&rsn)), 0);
	assert_string_equal(s, "{\"type\":\"ccunlock\",\"keyslots\":[\"7\"],\"resource\":\"r/t/x\","
			       "\"version\":1}");
	assert_int_equal(parse(s, &t), 0);
	assert_int_equal(t.keyslot, 7);
	free(s);
	assert_int_equal(guest_token_build(32, "r/t/x", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, "TOKEN_KEYSLOT");
	assert_int_equal(guest_token_build(1, "r/t", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, "TOKEN_RESOURCE");
}

#define T(slots, res, ver) "{\"type\":\"ccunlock\",\"keyslots\":" slots ",\"resource\":" res \
			   ",\"version\":" ver "}"

static void test_malformed(void **state)
{
	static const struct {
		const char *s;
		const char *code;
	} bad[] = {
		{ "", "TOKEN_JSON" },
		{ "[]", "TOKEN_JSON" },
		{ "{\"type\":\"ccunlock\"}", "TOKEN_JSON" },
		{ T("[\"1\"]", "\"a/b/c\"", "1") "x", "TOKEN_JSON" },
		{ T("[\"1\"]", "\"a/b/c\"", "1") " {}", "TOKEN_JSON" },
		{ "{\"type\":\"ccunlock\",\"type\":\"ccunlock\",\"keyslots\":[\"1\"],\"resource\":"
		  "\"a/b/c\",\"version\":1}", "TOKEN_JSON" },
		{ "{\"type\":\"ccunlock\",\"keyslots\":[\"1\"],\"resource\":\"a/b/c\",\"version\":1,"
		  "\"url\":\"https://evil\"}", "TOKEN_JSON" },
		{ "{\"type\":\"clevis\",\"keyslots\":[\"1\"],\"resource\":\"a/b/c\",\"version\":1}",
		  "TOKEN_TYPE" },
		{ "{\"type\":1,\"keyslots\":[\"1\"],\"resource\":\"a/b/c\",\"version\":1}",
		  "TOKEN_TYPE" },
		{ T("[\"1\"]", "\"a/b/c\"", "2"), "TOKEN_VERSION" },
		{ T("[\"1\"]", "\"a/b/c\"", "1.0"), "TOKEN_VERSION" },
		{ T("[\"1\"]", "\"a/b/c\"", "\"1\""), "TOKEN_VERSION" },
		{ T("[]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[\"1\",\"2\"]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[1]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[\"01\"]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[\"32\"]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[\"-1\"]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[\" 1\"]", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("\"1\"", "\"a/b/c\"", "1"), "TOKEN_KEYSLOT" },
		{ T("[\"1\"]", "\"a/b\"", "1"), "TOKEN_RESOURCE" },
		{ T("[\"1\"]", "\"a/b/c/d\"", "1"), "TOKEN_RESOURCE" },
		{ T("[\"1\"]", "\"a/../c\"", "1"), "TOKEN_RESOURCE" },
		{ T("[\"1\"]", "\"/a/b/c\"", "1"), "TOKEN_RESOURCE" },
		{ T("[\"1\"]", "\"a/b/c?x=1\"", "1"), "TOKEN_RESOURCE" },
		{ T("[\"1\"]", "[\"a/b/c\"]", "1"), "TOKEN_RESOURCE" },
	};
	struct guest_token t;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = parse(bad[i].s, &t);
		if (r >= 0 || strcmp(rsn.code, bad[i].code) != 0)
			fail_msg("case %zu %s: %d %s, expected %s", i, bad[i].s, r, rsn.code,
				 bad[i].code);
	}
	char big[GUEST_TOKEN_MAX_JSON + 2];
	memset(big, ' ', sizeof(big));
	assert_int_equal(guest_token_parse(big, sizeof(big), &t, TU_FRESH(&rsn)), -EMSGSIZE);
	assert_string_equal(rsn.code, "TOKEN_JSON");
	/* An embedded NUL is refused (the JSON is not what strlen would see). */
	static const char nul[] = "{\"type\":\"ccunlock\",\"keyslots\":[\"1\\u0000\"],\"resource\":"
				  "\"a/b/c\",\"version\":1}";
	assert_int_equal(guest_token_parse(nul, strlen(nul), &t, TU_FRESH(&rsn)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_build),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
