/*
 * libFuzzer target for jflat (src/common/jflat.c), differential against
 * jansson: for any input, jflat accepts exactly when
 * json_loadb(JSON_REJECT_DUPLICATES) does, and then both give equal
 * values. The accepted disagreements are all in the stricter direction:
 * the two bounds jflat sets on purpose (nesting depth, number length), and
 * a NUL byte, which jansson 2.14 drops when it follows a number or a
 * literal ("[1\0]" loads as [1]) and jflat refuses as the stray byte it is.
 * Every accessor is walked over the parsed tree.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jflat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk every node through the accessors; the walk must agree with jf_size
 * and find each object member again by name. */
static void walk(const struct jf_doc *d, uint32_t v)
{
	size_t n = 0;
	enum jf_type t = jf_type(d, v);

	for (uint32_t c = jf_first(d, v); c != JF_NONE; c = jf_next(d, c)) {
		if (t == JF_OBJECT && jf_get(d, v, jf_key(d, c)) != c)
			abort();
		if (t == JF_ARRAY && (jf_key(d, c) || jf_at(d, v, n) != c))
			abort();
		walk(d, c);
		n++;
	}
	if (n != jf_size(d, v) || (jf_string(d, v, NULL) != NULL) != (t == JF_STRING))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jf_error e;
	struct jf_doc *d = NULL;
	json_error_t je;
	json_t *ref, *mine;
	int r;

	r = jf_parse((const char *)data, size, &d, &e);
	ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (r == -ENOMEM) {
		json_decref(ref);
		return 0;
	}
	if ((r == 0) != (ref != NULL)) {
		/* jflat stricter on purpose (see the top); nothing else may differ */
		if (r < 0 && ref &&
		    (strstr(e.text, "maximum parsing depth") || strstr(e.text, "number longer") ||
		     memchr(data, 0, size))) {
			json_decref(ref);
			return 0;
		}
		abort();
	}
	if (r == 0) {
		walk(d, jf_root(d));
		mine = jf_to_json(d, jf_root(d), JF_NONE);
		if (mine && !json_equal(mine, ref))
			abort();
		json_decref(mine);
	}
	jf_free(d);
	json_decref(ref);
	return 0;
}
