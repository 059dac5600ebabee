#include "guest/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/macros.h"
#include "common/util.h"


static int keyslot_parse(const char *s, int *ret)
{
	uint64_t v;

	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL; /* one spelling per slot */
	if (ccu_parse_u64(s, GUEST_TOKEN_MAX_KEYSLOT, false, &v) < 0)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int guest_token_parse(const char *json, size_t len, struct guest_token *out,
		      struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	json_error_t jerr;
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (len > GUEST_TOKEN_MAX_JSON)
		return ccu_fail(err, -EMSGSIZE, "TOKEN_JSON", "token: %zu bytes, at most %d", len,
				GUEST_TOKEN_MAX_JSON);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root))
		return ccu_fail(err, -EBADMSG, "TOKEN_JSON", "token: not a JSON object (%s)",
				root ? "other type" : jerr.text);
	json_object_foreach(root, key, v) {
		if (strcmp(key, "type") && strcmp(key, "keyslots") && strcmp(key, "resource") &&
		    strcmp(key, "version"))
			return ccu_fail(err, -EBADMSG, "TOKEN_JSON", "token: unexpected member '%.64s'",
					key);
	}
	json_t *type = json_object_get(root, "type");
	json_t *slots = json_object_get(root, "keyslots");
	json_t *res = json_object_get(root, "resource");
	json_t *ver = json_object_get(root, "version");
	if (!type || !slots || !res || !ver)
		return ccu_fail(err, -EBADMSG, "TOKEN_JSON",
				"token: expected members type, keyslots, resource, version");
	if (!json_is_string(type) || strcmp(json_string_value(type), GUEST_TOKEN_TYPE) != 0)
		return ccu_fail(err, -EBADMSG, "TOKEN_TYPE", "token: type is not \"%s\"",
				GUEST_TOKEN_TYPE);
	if (!json_is_integer(ver) || json_integer_value(ver) != GUEST_TOKEN_VERSION)
		return ccu_fail(err, -EBADMSG, "TOKEN_VERSION", "token: expected version %d",
				GUEST_TOKEN_VERSION);
	if (!json_is_array(slots) || json_array_size(slots) != 1 ||
	    !json_is_string(json_array_get(slots, 0)) ||
	    strlen(json_string_value(json_array_get(slots, 0))) !=
		    json_string_length(json_array_get(slots, 0)) ||
	    keyslot_parse(json_string_value(json_array_get(slots, 0)), &out->keyslot) < 0)
		return ccu_fail(err, -EBADMSG, "TOKEN_KEYSLOT",
				"token: keyslots must be one decimal string 0..%d",
				GUEST_TOKEN_MAX_KEYSLOT);
	if (!json_is_string(res) || json_string_length(res) >= sizeof(out->resource_str))
		return ccu_fail(err, -EBADMSG, "TOKEN_RESOURCE",
				"token: resource must be a string repo/type/tag");
	struct ccu_reason why;
	if (kbs_resource_path_parse(json_string_value(res), json_string_length(res),
				    &out->resource, &why) < 0)
		return ccu_fail(err, -EBADMSG, "TOKEN_RESOURCE", "token: %s", why.detail);
	memcpy(out->resource_str, json_string_value(res), json_string_length(res) + 1);
	return 0;
}

int guest_token_build(int keyslot, const char *resource, char **ret, struct ccu_reason *err)
{
	struct kbs_resource_path p;
	struct ccu_reason why;
	char buf[GUEST_TOKEN_MAX_JSON];
	int n;

	if (keyslot < 0 || keyslot > GUEST_TOKEN_MAX_KEYSLOT)
		return ccu_fail(err, -EINVAL, "TOKEN_KEYSLOT", "keyslot %d out of range 0..%d",
				keyslot, GUEST_TOKEN_MAX_KEYSLOT);
	if (kbs_resource_path_parse(resource, strlen(resource), &p, &why) < 0)
		return ccu_fail(err, -EINVAL, "TOKEN_RESOURCE", "%s", why.detail);
	/* The path's alphabet needs no JSON escaping. */
	n = snprintf(buf, sizeof(buf),
		     "{\"type\":\"" GUEST_TOKEN_TYPE "\",\"keyslots\":[\"%d\"],\"resource\":\"%s\","
		     "\"version\":%d}",
		     keyslot, resource, GUEST_TOKEN_VERSION);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return ccu_fail(err, -ENOSPC, "TOKEN_JSON", "token too long");
	*ret = strdup(buf);
	if (!*ret)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	return 0;
}
