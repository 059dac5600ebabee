/*
 * A read-only JSON document in one flat array, for the large messages of
 * the attestation path (SNP evidence carries the report and up to three
 * certificates as arrays of byte-sized integers: thousands of values).
 * jansson builds one allocated node, and an object hash table, per value,
 * then frees each one; parsing the evidence that way was a fifth of the
 * broker's CPU per boot. jflat parses the same language in one pass into
 * two allocations, and its accessors mirror the jansson calls they replace.
 *
 * The accepted language is jansson's json_loadb(JSON_REJECT_DUPLICATES):
 * RFC 8259 with an object or array at the top, no trailing bytes, valid
 * UTF-8, no "\u0000", no duplicate member names, integers within int64.
 * It is stricter in three ways: JF_MAX_DEPTH, JF_MAX_NUMBER, and a NUL
 * byte anywhere is refused (jansson 2.14 skips one that follows a number
 * or a literal). fuzz_jflat checks everything else against jansson itself.
 *
 * Nodes are numbered in document order; a container's children follow it
 * directly, linked through their next sibling. JF_NONE stands for "no such
 * value" (a missing member) and is accepted by every accessor, as jansson's
 * calls accept NULL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JF_NONE UINT32_MAX
#define JF_MAX_DEPTH 128  /* nesting of arrays and objects */
#define JF_MAX_NUMBER 512 /* characters of one number */

enum jf_type {
	JF_MISSING, /* JF_NONE */
	JF_OBJECT,
	JF_ARRAY,
	JF_STRING,
	JF_INTEGER,
	JF_REAL,
	JF_TRUE,
	JF_FALSE,
	JF_NULL,
};

struct jf_doc;

struct jf_error {
	char text[96];
	size_t position; /* byte offset of the error */
	int line, column;
};

/*
 * Parse @len bytes. 0 and a new document in *@ret, or -EBADMSG with @e
 * filled (invalid JSON) or -ENOMEM. The document does not refer to @text.
 */
int jf_parse(const char *text, size_t len, struct jf_doc **ret, struct jf_error *e);
void jf_free(struct jf_doc *d);

/* The top-level value (always an object or an array). */
uint32_t jf_root(const struct jf_doc *d);
enum jf_type jf_type(const struct jf_doc *d, uint32_t v);
/* "an object", "an integer", ... as evidence messages word it. */
const char *jf_type_phrase(const struct jf_doc *d, uint32_t v);

/* Members of an object or elements of an array; 0 for anything else. */
size_t jf_size(const struct jf_doc *d, uint32_t v);
/* The first child of a container and the next sibling; JF_NONE past the end. */
uint32_t jf_first(const struct jf_doc *d, uint32_t v);
uint32_t jf_next(const struct jf_doc *d, uint32_t v);
/* The member name of @v, a value in an object (NULL otherwise). */
const char *jf_key(const struct jf_doc *d, uint32_t v);
/* Member @key of object @o, or JF_NONE (also when @o is not an object). */
uint32_t jf_get(const struct jf_doc *d, uint32_t o, const char *key);
/* Element @i of array @a, or JF_NONE. Linear in @i. */
uint32_t jf_at(const struct jf_doc *d, uint32_t a, size_t i);

/* The decoded, NUL-terminated text of a string (NULL for other types); its
 * length in *@len when @len is not NULL (it has no NUL: "\u0000" is refused). */
const char *jf_string(const struct jf_doc *d, uint32_t v, size_t *len);
/*
 * Array @a of integers 0..255 into @out (at most @max): 0 and the count in
 * *@n; -EINVAL when @a is not an array, -E2BIG when it has more than @max
 * elements, -ERANGE when element *@n is not such an integer.
 */
int jf_bytes(const struct jf_doc *d, uint32_t a, uint8_t *out, size_t max, size_t *n);

/* Integer value (0 for other types); real value (0 for other types). */
int64_t jf_integer(const struct jf_doc *d, uint32_t v);
double jf_real(const struct jf_doc *d, uint32_t v);

/*
 * A jansson copy of @v (a new reference; NULL without memory), for code
 * that takes json_t. @except, when not JF_NONE, is a descendant of @v that
 * is copied as null: the large subtree a caller reads through jflat.
 */
json_t *jf_to_json(const struct jf_doc *d, uint32_t v, uint32_t except);
