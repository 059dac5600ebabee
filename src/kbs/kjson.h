/*
 * Internal to src/kbs: strict JSON helpers shared by the message, JWK, JWE
 * and JWT parsers. Pure; errors fill @err with the code the caller names.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/reason.h"

/*
 * Parse @len bytes as one JSON object (duplicate keys, NUL escapes and
 * trailing bytes are errors; @len > @max is an error). New reference in
 * *@ret. Failures: -EMSGSIZE / -EBADMSG with @code.
 */
int kjson_load_object(const char *text, size_t len, size_t max, const char *code, const char *what,
		      json_t **ret, struct ccu_reason *err);

/* The same, into a jflat document (common/jflat.h) for large messages. */
struct jf_doc;
int kjson_load_flat(const char *text, size_t len, size_t max, const char *code, const char *what,
		    struct jf_doc **ret, struct ccu_reason *err);

/* Every member of @obj must be one of @allowed (@n names). -EBADMSG with
 * @code naming the first unknown member. */
int kjson_only_members(const json_t *obj, const char *const *allowed, size_t n, const char *code,
		       const char *what, struct ccu_reason *err);

/*
 * Member @key of @obj as a string of @min..@max bytes without NUL. Returns
 * the borrowed string (valid while @obj lives) or NULL with @err filled
 * (@code): missing, not a string, or out of bounds.
 */
const char *kjson_string(const json_t *obj, const char *key, size_t min, size_t max,
			 const char *code, const char *what, struct ccu_reason *err);

/* true when every byte of @s[0..len) is in the ASCII class @cls. */
enum kjson_class {
	KJSON_B64URL,  /* A-Z a-z 0-9 - _ */
	KJSON_B64STD,  /* A-Z a-z 0-9 + / = */
	KJSON_PATHSEG, /* A-Z a-z 0-9 _ - . */
	KJSON_TEE,     /* a-z 0-9 - */
};
bool kjson_charset(const char *s, size_t len, enum kjson_class cls);

/* Strict base64url (no padding) of exactly @n bytes into @out; -EINVAL. */
int kjson_b64url_exact(const char *s, uint8_t *out, size_t n);

/* Strict base64url into a malloc'ed buffer of at most @max bytes. */
int kjson_b64url_alloc(const char *s, size_t slen, size_t max, uint8_t **ret, size_t *ret_len);
