/*
 * The tee-pubkey JWK (kbs-protocol §5.2): the key the guest binds into
 * REPORT_DATA and the broker encrypts the resource to.
 *
 *   EC:  {"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"..","y":".."}
 *   RSA: {"kty":"RSA","alg":"RSA-OAEP-256","n":"..","e":".."}
 *
 * A struct kbs_jwk holds the member strings exactly as they travel on the
 * wire: the broker re-serialises them for the REPORT_DATA hash (§6), so the
 * bytes must be the received ones, and only the members of the key type
 * exist (extra members, e.g. "use" or "kid", are an error: the hash would not
 * match on a Trustee broker).
 *
 * Two stages, so the textual checks stay pure and cheap:
 *   kbs_jwk_parse()    JSON object -> struct (member set, types, alphabets,
 *                      exact lengths); no crypto.
 *   kbs_jwk_to_pkey()  struct -> EVP_PKEY (EC: the point decoded on the
 *                      curve, coordinates reduced, not the identity; RSA
 *                      size and exponent bounds). The JWE key agreement
 *                      relies on it and does not validate its peer again.
 *
 * Reason codes: KBS_PUBKEY (invalid key), KBS_INTERNAL (allocation/OpenSSL).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/reason.h"

#define KBS_JWK_ALG_ECDH_ES_A256KW "ECDH-ES+A256KW"
#define KBS_JWK_ALG_RSA_OAEP_256 "RSA-OAEP-256"

#define KBS_JWK_P256_COORD 32
#define KBS_JWK_P521_COORD 66
#define KBS_JWK_COORD_MAX KBS_JWK_P521_COORD
#define KBS_JWK_COORD_B64_MAX 88 /* base64url of 66 bytes */

#define KBS_JWK_RSA_MIN_BITS 2048
#define KBS_JWK_RSA_MAX_BITS 8192
#define KBS_JWK_RSA_N_B64_MAX 1366 /* base64url of 1024 bytes */
#define KBS_JWK_RSA_E_MAX_BYTES 4  /* 3 <= e < 2^32, odd */
#define KBS_JWK_RSA_E_B64_MAX 6

/* Largest JSON object a tee-pubkey may need (bounds callers' buffers). */
#define KBS_JWK_JSON_MAX 2048

enum kbs_kty {
	KBS_KTY_NONE = 0,
	KBS_KTY_EC,
	KBS_KTY_RSA,
};

enum kbs_crv {
	KBS_CRV_NONE = 0, /* RSA */
	KBS_CRV_P256,
	KBS_CRV_P521,
};

struct kbs_jwk {
	enum kbs_kty kty;
	enum kbs_crv crv;
	char alg[16];			   /* "ECDH-ES+A256KW" or "RSA-OAEP-256" */
	char x[KBS_JWK_COORD_B64_MAX + 1]; /* EC */
	char y[KBS_JWK_COORD_B64_MAX + 1]; /* EC */
	char n[KBS_JWK_RSA_N_B64_MAX + 1]; /* RSA */
	char e[KBS_JWK_RSA_E_B64_MAX + 1]; /* RSA */
};

/* "P-256"/"P-521" (NULL for NONE); coordinate length in bytes (0 for NONE). */
const char *kbs_crv_name(enum kbs_crv c);
size_t kbs_crv_coord_len(enum kbs_crv c);
/* The curve of an EC key on P-256 or P-521, from its group name (no export
 * of the point); KBS_CRV_NONE for any other key. */
enum kbs_crv kbs_pkey_crv(const EVP_PKEY *pkey);

/*
 * A fresh ephemeral EC P-256 key pair (the guest's tee key). *@ret is a new
 * EVP_PKEY the caller frees with EVP_PKEY_free (OpenSSL keeps the scalar in
 * its secure heap when secmem_harden_process() set one up).
 */
int kbs_jwk_generate_ec(EVP_PKEY **ret, struct ccu_reason *err);

/*
 * Public JWK of @pkey: EC P-256/P-521 (coordinates left-padded, alg
 * ECDH-ES+A256KW) or RSA of KBS_JWK_RSA_MIN_BITS..MAX_BITS (alg
 * RSA-OAEP-256). -EINVAL (KBS_PUBKEY) for other keys.
 */
int kbs_jwk_from_pkey(const EVP_PKEY *pkey, struct kbs_jwk *out, struct ccu_reason *err);

/*
 * Strict textual parse of a tee-pubkey object (pure, no crypto). EC: crv
 * P-256 or P-521, alg ECDH-ES+A256KW, x/y base64url of exactly the
 * coordinate length. RSA: alg RSA-OAEP-256 (RSA1_5 is refused), n of
 * MIN..MAX bits without leading zero octet, e odd, 3 <= e < 2^32, minimal.
 * -EBADMSG (KBS_PUBKEY).
 */
int kbs_jwk_parse(const json_t *obj, struct kbs_jwk *out, struct ccu_reason *err);

/* Same from JSON text (at most KBS_JWK_JSON_MAX bytes). */
int kbs_jwk_parse_text(const char *text, size_t len, struct kbs_jwk *out, struct ccu_reason *err);

/*
 * Public key of a parsed JWK; the EC point must be on the curve (not the
 * identity). *@ret is new (EVP_PKEY_free). -EBADMSG (KBS_PUBKEY) or -ENOMEM.
 */
int kbs_jwk_to_pkey(const struct kbs_jwk *jwk, EVP_PKEY **ret, struct ccu_reason *err);

/* kbs_jwk_parse + kbs_jwk_to_pkey. @ret may be NULL (validate only). */
int kbs_jwk_import(const json_t *obj, struct kbs_jwk *out, EVP_PKEY **ret, struct ccu_reason *err);

/*
 * The JWK as a JSON object with exactly the members of its key type, values
 * verbatim (new reference; NULL on ENOMEM or an unset kty).
 */
json_t *kbs_jwk_to_json(const struct kbs_jwk *jwk);

/* Member-wise equality (same key type and identical strings). */
bool kbs_jwk_equal(const struct kbs_jwk *a, const struct kbs_jwk *b);

/*
 * Private JWK of @pkey as JSON text in a secmem buffer (free with
 * secmem_free): EC {"alg","crv","d","kty","x","y"}; RSA adds d, p, q, dp,
 * dq, qi. Only for interoperability tests with other JOSE tools; the guest
 * never exports its private key.
 */
int kbs_jwk_export_private(const EVP_PKEY *pkey, char **ret, struct ccu_reason *err);
