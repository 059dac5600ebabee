/*
 * The LUKS2 token of type "ccunlock" (the header is attacker-controlled, so
 * the parser is strict):
 *
 *   {"type":"ccunlock","keyslots":["N"],"resource":"repo/type/tag","version":1}
 *
 * Exactly these four members, no duplicates; one keyslot, decimal without
 * leading zeros, 0..GUEST_TOKEN_MAX_KEYSLOT; the resource a KBS resource path
 * (kbs_resource_path_parse); version exactly 1. A token may choose a keyslot
 * and a resource; it never names a broker.
 *
 * Pure. Reason codes: TOKEN_JSON (not JSON, size, wrong shape, unknown or
 * missing member), TOKEN_TYPE, TOKEN_VERSION, TOKEN_KEYSLOT, TOKEN_RESOURCE.
 */
#pragma once

#include <stddef.h>

#include "common/reason.h"
#include "kbs/msg.h"

#define GUEST_TOKEN_TYPE "ccunlock"
#define GUEST_TOKEN_VERSION 1
#define GUEST_TOKEN_MAX_KEYSLOT 31 /* LUKS2 has 32 keyslots */
#define GUEST_TOKEN_MAX_JSON 4096

struct guest_token {
	int keyslot;
	struct kbs_resource_path resource;
	char resource_str[3 * KBS_PATH_SEGMENT_MAX + 3];
};

int guest_token_parse(const char *json, size_t len, struct guest_token *out,
		      struct ccu_reason *err);

/* The canonical JSON text (malloc'ed) for @keyslot and @resource. */
int guest_token_build(int keyslot, const char *resource, char **ret, struct ccu_reason *err);
