/*
 * jflat (src/common/jflat.c): the accessors on a known document, every
 * class of malformed input with its message, and agreement with jansson
 * (json_loadb with JSON_REJECT_DUPLICATES) on a table of edge cases, in
 * both directions: accepted by both with equal values, or refused by both.
 * fuzz_jflat runs the same comparison on generated input.
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jflat.h"
#include "common/macros.h"

static struct jf_doc *parse_ok(const char *s, size_t n)
{
	struct jf_error e;
	struct jf_doc *d = NULL;

	if (jf_parse(s, n, &d, &e) != 0)
		fail_msg("refused %.*s: %s", (int)n, s, e.text);
	return d;
}

/* @s must be refused with @needle in the message, at byte @pos (or any
 * position when @pos < 0). */
static void refused(const char *s, size_t n, const char *needle, long pos)
{
	struct jf_error e;
	struct jf_doc *d = (struct jf_doc *)&e;

	if (jf_parse(s, n, &d, &e) != -EBADMSG)
		fail_msg("accepted: %.*s", (int)n, s);
	assert_null(d);
	if (!strstr(e.text, needle))
		fail_msg("%.*s: message '%s' lacks '%s'", (int)n, s, e.text, needle);
	if (pos >= 0)
		assert_int_equal(e.position, (size_t)pos);
}

#define REFUSED(lit, needle) refused(lit, sizeof(lit) - 1, needle, -1)

static void test_accessors(void **state)
{
	static const char t[] = "{\"n\":-12,\"r\":2.5,\"s\":\"a\\u00e9\\ud83d\\ude00\\n\\/\","
				"\"a\":[1,[2],{\"x\":null}],\"t\":true,\"f\":false,\"z\":null,"
				"\"o\":{}}";
	struct jf_doc *d = parse_ok(t, strlen(t));
	uint32_t root = jf_root(d), a, c;
	size_t len = 0;
	(void)state;

	assert_int_equal(jf_type(d, root), JF_OBJECT);
	assert_int_equal(jf_size(d, root), 8);
	assert_int_equal(jf_integer(d, jf_get(d, root, "n")), -12);
	assert_true(jf_real(d, jf_get(d, root, "r")) == 2.5);
	assert_string_equal(jf_string(d, jf_get(d, root, "s"), &len), "a\xc3\xa9\xf0\x9f\x98\x80\n/");
	assert_int_equal(len, 9);
	assert_int_equal(jf_type(d, jf_get(d, root, "t")), JF_TRUE);
	assert_int_equal(jf_type(d, jf_get(d, root, "f")), JF_FALSE);
	assert_int_equal(jf_type(d, jf_get(d, root, "z")), JF_NULL);
	assert_int_equal(jf_size(d, jf_get(d, root, "o")), 0);
	assert_int_equal(jf_first(d, jf_get(d, root, "o")), JF_NONE);

	a = jf_get(d, root, "a");
	assert_int_equal(jf_size(d, a), 3);
	assert_int_equal(jf_integer(d, jf_at(d, a, 0)), 1);
	assert_int_equal(jf_integer(d, jf_first(d, jf_at(d, a, 1))), 2);
	c = jf_at(d, a, 2);
	assert_int_equal(jf_type(d, jf_get(d, c, "x")), JF_NULL);
	assert_string_equal(jf_key(d, jf_get(d, c, "x")), "x");
	assert_null(jf_key(d, jf_at(d, a, 0))); /* array elements have no name */
	assert_int_equal(jf_at(d, a, 3), JF_NONE);
	assert_int_equal(jf_next(d, c), JF_NONE);

	/* A missing member behaves as jansson's NULL does. */
	assert_int_equal(jf_get(d, root, "missing"), JF_NONE);
	assert_int_equal(jf_type(d, JF_NONE), JF_MISSING);
	assert_string_equal(jf_type_phrase(d, JF_NONE), "nothing (the member is missing)");
	assert_string_equal(jf_type_phrase(d, a), "an array");
	assert_int_equal(jf_size(d, JF_NONE), 0);
	assert_null(jf_string(d, JF_NONE, NULL));
	assert_null(jf_string(d, a, NULL));
	assert_int_equal(jf_integer(d, jf_get(d, root, "s")), 0);
	assert_int_equal(jf_get(d, a, "x"), JF_NONE); /* not an object */
	assert_int_equal(jf_at(d, root, 0), JF_NONE); /* not an array */
	assert_int_equal(jf_next(d, JF_NONE), JF_NONE);
	jf_free(d);
}

static void test_to_json(void **state)
{
	static const char t[] = "{\"a\":{\"big\":[1,2,3]},\"b\":[\"x\",1.5,false]}";
	struct jf_doc *d = parse_ok(t, strlen(t));
	json_t *ref = json_loads(t, 0, NULL), *all, *cut;
	uint32_t big = jf_get(d, jf_get(d, jf_root(d), "a"), "big");
	char *s;
	(void)state;

	all = jf_to_json(d, jf_root(d), JF_NONE);
	assert_true(json_equal(all, ref));
	cut = jf_to_json(d, jf_root(d), big);
	s = json_dumps(cut, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"a\":{\"big\":null},\"b\":[\"x\",1.5,false]}");
	free(s);
	assert_null(jf_to_json(d, JF_NONE, JF_NONE));
	json_decref(all);
	json_decref(cut);
	json_decref(ref);
	jf_free(d);
}

static void test_malformed(void **state)
{
	char deep[2 * (JF_MAX_DEPTH + 1) + 1], longnum[JF_MAX_NUMBER + 8];
	(void)state;

	REFUSED("", "'[' or '{' expected");
	REFUSED("   ", "'[' or '{' expected");
	REFUSED("\"x\"", "'[' or '{' expected");
	REFUSED("1", "'[' or '{' expected");
	REFUSED("[", "premature end");
	REFUSED("{", "string or '}' expected");
	REFUSED("[1,]", "invalid token");
	REFUSED("[1 2]", "',' or ']' expected");
	REFUSED("{\"a\" 1}", "':' expected");
	REFUSED("{\"a\":1,}", "string or '}' expected");
	REFUSED("{1:1}", "string or '}' expected");
	REFUSED("{\"a\":1} x", "end of file expected");
	REFUSED("{}{}", "end of file expected");
	REFUSED("[tru]", "invalid token");
	REFUSED("[nul]", "invalid token");
	REFUSED("[True]", "invalid token");
	REFUSED("[01]", "invalid number");
	REFUSED("[-]", "invalid number");
	REFUSED("[-a]", "invalid number");
	REFUSED("[1.]", "invalid number");
	REFUSED("[.5]", "invalid token");
	REFUSED("[1e]", "invalid number");
	REFUSED("[1e+]", "invalid number");
	REFUSED("[+1]", "invalid token");
	REFUSED("[9223372036854775808]", "too big integer");
	REFUSED("[-9223372036854775809]", "too big negative integer");
	REFUSED("[99999999999999999999999]", "too big integer");
	REFUSED("[1e400]", "real number overflow");
	REFUSED("[-1e400]", "real number overflow");
	REFUSED("[\"abc]", "premature end of input in a string");
	REFUSED("[\"a\\", "premature end of input in a string");
	REFUSED("[\"\t\"]", "control character 0x9");
	REFUSED("[\"\\x\"]", "invalid escape");
	REFUSED("[\"\\u12\"]", "invalid escape");
	REFUSED("[\"\\u12G4\"]", "invalid escape");
	REFUSED("[\"\\u0000\"]", "\\u0000 is not allowed");
	REFUSED("[\"\\udc00\"]", "invalid Unicode '\\uDC00'");
	REFUSED("[\"\\ud800\"]", "invalid Unicode '\\uD800'");
	REFUSED("[\"\\ud800x\"]", "invalid Unicode '\\uD800'");
	REFUSED("[\"\\ud800\\u0041\"]", "invalid Unicode '\\uD800\\u0041'");
	REFUSED("[\"\xc0\x80\"]", "invalid UTF-8");		/* overlong NUL */
	REFUSED("[\"\xe0\x80\xaf\"]", "invalid UTF-8");		/* overlong '/' */
	REFUSED("[\"\xed\xa0\x80\"]", "invalid UTF-8");		/* a surrogate */
	REFUSED("[\"\xf4\x90\x80\x80\"]", "invalid UTF-8");	/* above U+10FFFF */
	REFUSED("[\"\xf5\x80\x80\x80\"]", "invalid UTF-8");
	REFUSED("[\"\x80\"]", "invalid UTF-8");			/* lone continuation */
	REFUSED("[\"\xc3\"]", "invalid UTF-8");			/* cut sequence */
	REFUSED("[\"\xe2\x82\"", "invalid UTF-8");
	REFUSED("{\"a\":1,\"a\":2}", "duplicate object key");
	/* above JF_PAIRWISE_MAX members the names are sorted, not compared
	 * pairwise: the same answer */
	REFUSED("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,"
		"\"j\":10,\"k\":11,\"l\":12,\"m\":13,\"a\":14}",
		"duplicate object key");
	/* a NUL byte is refused wherever it is (jansson skips one after a number) */
	refused("[1\0]", 4, "',' or ']' expected", 2);
	refused("[true\0]", 7, "',' or ']' expected", 5);
	refused("{\"a\":1}\0", 8, "end of file expected", 7);
	refused("[\"a\0\"]", 6, "control character 0x0", 3);

	/* error position, line and column */
	{
		struct jf_error e;
		struct jf_doc *d;

		assert_int_equal(jf_parse("{\n  \"a\": x}", 11, &d, &e), -EBADMSG);
		assert_int_equal(e.position, 9);
		assert_int_equal(e.line, 2);
		assert_int_equal(e.column, 8);
	}

	/* nesting: JF_MAX_DEPTH levels pass, one more is refused */
	for (size_t i = 0; i < JF_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * JF_MAX_DEPTH - 1 - i] = ']';
	}
	jf_free(parse_ok(deep, 2 * JF_MAX_DEPTH));
	memmove(deep + 1, deep, 2 * JF_MAX_DEPTH);
	deep[0] = '[';
	deep[2 * JF_MAX_DEPTH + 1] = ']';
	refused(deep, 2 * JF_MAX_DEPTH + 2, "maximum parsing depth", -1);

	/* numbers: JF_MAX_NUMBER characters pass, one more is refused */
	longnum[0] = '[';
	longnum[1] = '1';
	memset(longnum + 2, '0', JF_MAX_NUMBER - 1);
	memcpy(longnum + JF_MAX_NUMBER + 1, "e-999]", 6);
	/* "1000...0e-999]" is longer than JF_MAX_NUMBER */
	refused(longnum, JF_MAX_NUMBER + 7, "number longer", -1);
	longnum[0] = '[';
	memset(longnum + 1, '0', 1);
	longnum[2] = '.';
	memset(longnum + 3, '5', JF_MAX_NUMBER - 2);
	longnum[JF_MAX_NUMBER + 1] = ']';
	jf_free(parse_ok(longnum, JF_MAX_NUMBER + 2));
}

static void test_bytes(void **state)
{
	static const char t[] = "{\"ok\":[0,7,255],\"big\":[256],\"neg\":[1,-1],\"str\":[1,\"2\"],"
				"\"empty\":[],\"obj\":{}}";
	struct jf_doc *d = parse_ok(t, strlen(t));
	uint32_t root = jf_root(d);
	uint8_t out[4];
	size_t n = 99;
	(void)state;

	assert_int_equal(jf_bytes(d, jf_get(d, root, "ok"), out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 7);
	assert_int_equal(out[2], 255);
	assert_int_equal(jf_bytes(d, jf_get(d, root, "ok"), out, 2, &n), -E2BIG);
	assert_int_equal(jf_bytes(d, jf_get(d, root, "big"), out, sizeof(out), &n), -ERANGE);
	assert_int_equal(n, 0);
	assert_int_equal(jf_bytes(d, jf_get(d, root, "neg"), out, sizeof(out), &n), -ERANGE);
	assert_int_equal(n, 1); /* the index of the bad element */
	assert_int_equal(jf_bytes(d, jf_get(d, root, "str"), out, sizeof(out), &n), -ERANGE);
	assert_int_equal(n, 1);
	assert_int_equal(jf_bytes(d, jf_get(d, root, "empty"), out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(jf_bytes(d, jf_get(d, root, "obj"), out, sizeof(out), &n), -EINVAL);
	assert_int_equal(jf_bytes(d, JF_NONE, out, sizeof(out), &n), -EINVAL);
	jf_free(d);
}

/* Inputs on which jflat and jansson must agree: accepted by both (equal
 * values) or refused by both. */
static void test_agrees_with_jansson(void **state)
{
	static const char *const cases[] = {
		"[]", "{}", " \t\r\n[ ] \n", "[0]", "[-0]", "[-0.0]", "[0e0]", "[1E+2]",
		"[1e-2]", "[123.456e7]", "[-9223372036854775808]", "[9223372036854775807]",
		"[4.9e-324]", "[1e-400]", "[1.7976931348623157e308]", "[\"\"]",
		"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\u0041\\u00DF\\u6C34\\uD834\\uDD1E\"]",
		"[\"\x7f\"]", "[\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"]",
		"{\"\":1}", "{\"a\":{\"a\":{\"a\":[]}}}", "{\"\\u0061\":1,\"a\":2}",
		"{\"a\":1,\"A\":2}", "[[[[[[[[[[1]]]]]]]]]]", "[true,false,null]",
		"[1,2,3", "[\"\\u00\"]", "{\"a\"}", "[1}", "{]", "[,1]", "[1,,2]", "nul",
		"{\"a\":01}", "[1.5e]", "[\"\xff\"]", "[\"\\U0041\"]", "[\x01]",
		"\xef\xbb\xbf[]", "[\"\\ud83d\\ude00\",\"\\uDBFF\\uDFFF\"]",
		/* around the array fast path for small integers */
		"[0,1,12,123,1234,255,256]", "[00]", "[0,01]", "[7 ,8 ]", "[9\n]", "[12a]",
		"[1,-1,2.5,3e1]", "[123", "[12,",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *s = cases[i];
		struct jf_error e;
		struct jf_doc *d = NULL;
		json_error_t je;
		json_t *ref = json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, &je);
		int r = jf_parse(s, strlen(s), &d, &e);

		if ((r == 0) != (ref != NULL))
			fail_msg("%s: jflat %s (%s), jansson %s (%s)", s, r ? "refuses" : "accepts",
				 r ? e.text : "", ref ? "accepts" : "refuses", ref ? "" : je.text);
		if (r == 0) {
			json_t *mine = jf_to_json(d, jf_root(d), JF_NONE);

			if (!json_equal(mine, ref))
				fail_msg("%s: values differ", s);
			json_decref(mine);
		}
		json_decref(ref);
		jf_free(d);
	}
}

/* A large object (the duplicate check sorts) and a long integer array (the
 * evidence's shape) parse with the values in order. */
static void test_large(void **state)
{
	size_t cap = 400000, n = 0;
	char *t = malloc(cap);
	struct jf_doc *d;
	uint32_t v;
	size_t i = 0;
	(void)state;

	assert_non_null(t);
	n += (size_t)snprintf(t + n, cap - n, "{");
	for (int k = 0; k < 5000; k++)
		n += (size_t)snprintf(t + n, cap - n, "%s\"k%d\":%d", k ? "," : "", k, k);
	n += (size_t)snprintf(t + n, cap - n, ",\"data\":[");
	for (int k = 0; k < 20000; k++)
		n += (size_t)snprintf(t + n, cap - n, "%s%d", k ? "," : "", k % 256);
	n += (size_t)snprintf(t + n, cap - n, "]}");
	d = parse_ok(t, n);
	assert_int_equal(jf_size(d, jf_root(d)), 5001);
	assert_int_equal(jf_integer(d, jf_get(d, jf_root(d), "k4999")), 4999);
	v = jf_get(d, jf_root(d), "data");
	assert_int_equal(jf_size(d, v), 20000);
	for (uint32_t e = jf_first(d, v); e != JF_NONE; e = jf_next(d, e), i++)
		assert_int_equal(jf_integer(d, e), (int64_t)(i % 256));
	assert_int_equal(i, 20000);
	jf_free(d);
	/* the same object with one name repeated at the end */
	memcpy(t + n - 1, ",\"k17\":1}", 10);
	refused(t, n + 8, "duplicate object key", -1);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_agrees_with_jansson),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
