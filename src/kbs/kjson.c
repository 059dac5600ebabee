#include "kbs/kjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/jflat.h"

int kjson_load_object(const char *text, size_t len, size_t max, const char *code, const char *what,
		      json_t **ret, struct ccu_reason *err)
{
	json_error_t jerr;
	json_t *v;

	*ret = NULL;
	if (!text || len == 0)
		return ccu_fail(err, -EBADMSG, code, "%s: empty body", what);
	if (len > max)
		return ccu_fail(err, -EMSGSIZE, code, "%s: %zu bytes, at most %zu allowed", what,
				len, max);
	/* Without JSON_DECODE_ANY only an object or array is accepted; without
	 * JSON_ALLOW_NUL "\u0000" is refused; trailing bytes are refused. */
	v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return ccu_fail(err, -EBADMSG, code, "%s: invalid JSON at byte %d: %s", what,
				jerr.position, jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return ccu_fail(err, -EBADMSG, code, "%s: expected a JSON object", what);
	}
	*ret = v;
	return 0;
}

int kjson_load_flat(const char *text, size_t len, size_t max, const char *code, const char *what,
		    struct jf_doc **ret, struct ccu_reason *err)
{
	struct jf_error jerr;
	int r;

	*ret = NULL;
	if (!text || len == 0)
		return ccu_fail(err, -EBADMSG, code, "%s: empty body", what);
	if (len > max)
		return ccu_fail(err, -EMSGSIZE, code, "%s: %zu bytes, at most %zu allowed", what,
				len, max);
	r = jf_parse(text, len, ret, &jerr);
	if (r == -ENOMEM)
		return ccu_fail(err, r, code, "%s: out of memory", what);
	if (r < 0)
		return ccu_fail(err, -EBADMSG, code, "%s: invalid JSON at byte %zu: %s", what,
				jerr.position, jerr.text);
	if (jf_type(*ret, jf_root(*ret)) != JF_OBJECT) {
		jf_free(*ret);
		*ret = NULL;
		return ccu_fail(err, -EBADMSG, code, "%s: expected a JSON object", what);
	}
	return 0;
}

int kjson_only_members(const json_t *obj, const char *const *allowed, size_t n, const char *code,
		       const char *what, struct ccu_reason *err)
{
	const char *key;
	json_t *v;

	/* json_object_foreach is not const-correct; the loop does not modify. */
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		bool ok = false;

		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
			return ccu_fail(err, -EBADMSG, code, "%s: unexpected member \"%.40s\"",
					what, key);
	}
	return 0;
}

const char *kjson_string(const json_t *obj, const char *key, size_t min, size_t max,
			 const char *code, const char *what, struct ccu_reason *err)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t l;

	if (!v) {
		ccu_fail(err, -EBADMSG, code, "%s: member \"%s\" missing", what, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		ccu_fail(err, -EBADMSG, code, "%s: member \"%s\" is not a string", what, key);
		return NULL;
	}
	s = json_string_value(v);
	l = json_string_length(v);
	if (strlen(s) != l) {
		ccu_fail(err, -EBADMSG, code, "%s: member \"%s\" contains NUL", what, key);
		return NULL;
	}
	if (l < min || l > max) {
		ccu_fail(err, -EBADMSG, code, "%s: member \"%s\" has %zu bytes, expected %zu..%zu",
			 what, key, l, min, max);
		return NULL;
	}
	return s;
}

static bool in_class(unsigned char c, enum kjson_class cls)
{
	bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

	switch (cls) {
	case KJSON_B64URL:
		return alnum || c == '-' || c == '_';
	case KJSON_B64STD:
		return alnum || c == '+' || c == '/' || c == '=';
	case KJSON_PATHSEG:
		return alnum || c == '_' || c == '-' || c == '.';
	case KJSON_TEE:
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
	}
	return false;
}

bool kjson_charset(const char *s, size_t len, enum kjson_class cls)
{
	for (size_t i = 0; i < len; i++)
		if (!in_class((unsigned char)s[i], cls))
			return false;
	return true;
}

int kjson_b64url_exact(const char *s, uint8_t *out, size_t n)
{
	size_t l = strlen(s);

	if (l != ccu_b64_encoded_len(n, CCU_B64_URL))
		return -EINVAL;
	return ccu_b64_decode(s, l, CCU_B64_URL, out, n) == (int)n ? 0 : -EINVAL;
}

int kjson_b64url_alloc(const char *s, size_t slen, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t cap = ccu_b64_decoded_max(slen);
	uint8_t *b;
	int r;

	*ret = NULL;
	*ret_len = 0;
	if (cap > max + 3)
		return -EMSGSIZE;
	b = malloc(cap ? cap : 1);
	if (!b)
		return -ENOMEM;
	r = ccu_b64_decode(s, slen, CCU_B64_URL, b, cap);
	if (r < 0 || (size_t)r > max) {
		free(b);
		return r < 0 ? r : -EMSGSIZE;
	}
	*ret = b;
	*ret_len = (size_t)r;
	return 0;
}
