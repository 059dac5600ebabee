/*
 * libFuzzer target for what the broker reads from an admin request before
 * touching the store. The first byte selects:
 *   0 the Authorization header (Bearer EdDSA JWT against a fixed admin key
 *     at a fixed time)
 *   1 the query of a resource POST ("policy=<name>")
 *   2 a resource path (route rest) and a policy name
 *   3 a kbs-session-id cookie value
 * Properties: an accepted query names a valid policy; an accepted path
 * rebuilds to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/server.h"
#include "broker/session.h"
#include "broker/store.h"
#include "kbs/jwt.h"
#include "kbs/msg.h"

#define FUZZ_NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define FUZZ_MAX 8192

static const char fuzz_admin_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEALCzEh/x0Qfkd6YaxFBBwcU5MVI2rYVpCa8FegoZzj68=\n"
	"-----END PUBLIC KEY-----\n";

static EVP_PKEY *admin_key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (kbs_jwt_key_from_pem(fuzz_admin_pub, strlen(fuzz_admin_pub), false, KBS_JWT_EDDSA,
				 &admin_key, NULL) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	struct ccu_reason why = { 0 };

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	switch (data[0] & 3) {
	case 0:
		(void)broker_admin_authorize(&admin_key, 1, s, FUZZ_NOW, &why);
		break;
	case 1: {
		char name[BROKER_POLICY_NAME_MAX + 1];

		if (broker_admin_query_policy(s, name, &why) == 0 && !broker_policy_name_valid(name))
			__builtin_trap();
		break;
	}
	case 2: {
		struct kbs_resource_path rp;
		char back[3 * KBS_PATH_SEGMENT_MAX + 3];

		if (kbs_resource_path_parse(s, strlen(s), &rp, &why) == 0) {
			snprintf(back, sizeof(back), "%s/%s/%s", rp.repo, rp.type, rp.tag);
			if (strcmp(back, s) != 0)
				__builtin_trap();
		}
		(void)broker_policy_name_valid(s);
		break;
	}
	default:
		if (broker_session_id_valid(s) && strlen(s) != BROKER_SESSION_ID_LEN)
			__builtin_trap();
		break;
	}
	free(s);
	return 0;
}
