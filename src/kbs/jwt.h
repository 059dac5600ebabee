/*
 * Compact JWS tokens "<header>.<claims>.<signature>" (RFC 7515/7519):
 *
 *  - EdDSA (Ed25519): the broker's admin tokens. Header {"alg":"EdDSA","typ":"JWT"}.
 *  - ES256 (P-256 ECDSA, SHA-256, signature = raw r||s, 64 bytes, RFC 7518
 *    §3.4): the attestation token the broker returns from /attest (§5.4).
 *    The guest never verifies it; it only reads the claims
 *    (kbs_jwt_peek_claims) for exp/nbf, as Trustee's client does.
 *
 * Verification is explicit about the algorithm: the caller says which one
 * it expects and the header must name exactly that one ("none", HS256,
 * RS256 and any other value are refused before a key is touched). Header
 * members other than alg, typ ("JWT") and kid (a short string) are refused
 * (crit, jku, jwk, x5u... would ask us to trust the token about its own key).
 * NumericDate claims must be integers.
 *
 * Pure (no I/O; the caller passes the time). Reason codes: KBS_TOKEN
 * (segments, base64url, JSON, claim types), KBS_TOKEN_ALG,
 * KBS_TOKEN_SIGNATURE, KBS_TOKEN_EXPIRED, KBS_TOKEN_NOT_YET_VALID,
 * KBS_TOKEN_LIFETIME, KBS_KEY (PEM), KBS_INTERNAL.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/reason.h"

#define KBS_JWT_MAX_LEN (64 * 1024) /* whole token, characters */
#define KBS_JWT_MAX_HEADER 512	    /* decoded header bytes */
#define KBS_JWT_MAX_SKEW 300	    /* seconds; opts->skew is capped to this */
#define KBS_JWT_MAX_PEM (16 * 1024)

enum kbs_jwt_alg {
	KBS_JWT_EDDSA = 1, /* Ed25519 */
	KBS_JWT_ES256,	   /* ECDSA P-256 SHA-256 */
};

const char *kbs_jwt_alg_name(enum kbs_jwt_alg a); /* "EdDSA", "ES256"; NULL if invalid */

/*
 * Load a key from PEM text (@len bytes): a private key when @private_key,
 * else a public key (SubjectPublicKeyInfo). The key must suit @alg
 * (Ed25519 / EC P-256). *@ret new (EVP_PKEY_free). -EINVAL (KBS_KEY).
 * The caller keeps the PEM of a private key in a secmem buffer.
 */
int kbs_jwt_key_from_pem(const char *pem, size_t len, bool private_key, enum kbs_jwt_alg alg,
			 EVP_PKEY **ret, struct ccu_reason *err);

/*
 * Sign @claims (a JSON object, serialised compactly in its member order)
 * with @key; the algorithm follows from the key type (Ed25519 -> EdDSA,
 * EC P-256 -> ES256). *@ret malloc'ed, NUL-terminated.
 */
int kbs_jwt_sign(EVP_PKEY *key, const json_t *claims, char **ret, struct ccu_reason *err);

/* {"iat": now, "exp": now + lifetime} (new reference; NULL on ENOMEM);
 * callers add their own claims before signing. */
json_t *kbs_jwt_claims_new(time_t now, unsigned lifetime);

struct kbs_jwt_verify_opts {
	enum kbs_jwt_alg alg;  /* the only algorithm accepted */
	time_t now;	       /* verification time (the caller's clock) */
	unsigned skew;	       /* tolerated clock difference, <= KBS_JWT_MAX_SKEW */
	unsigned max_lifetime; /* exp - iat (or exp - now without iat) at most this; 0: no bound */
	bool require_iat;      /* iat must be present */
};

/*
 * Verify @token (@len characters) with the public (or private) @key per
 * @o: header alg == o->alg, signature, then times: exp is required and
 * must be > now - skew; nbf and iat (when present) must be <= now + skew;
 * exp - iat <= max_lifetime. On success *@claims (may be NULL) is a new
 * reference to the claims object.
 */
int kbs_jwt_verify(const char *token, size_t len, EVP_PKEY *key,
		   const struct kbs_jwt_verify_opts *o, json_t **claims, struct ccu_reason *err);

/*
 * Guest: decode the claims (middle segment) without verifying anything but
 * the token's shape (three non-empty base64url segments, claims a JSON
 * object). New reference in *@claims.
 */
int kbs_jwt_peek_claims(const char *token, size_t len, json_t **claims, struct ccu_reason *err);

/*
 * Integer claim @name of @claims: 1 and *@ret when present, 0 when absent,
 * -EBADMSG (KBS_TOKEN) when present but not an integer in 0..2^53.
 */
int kbs_jwt_claim_time(const json_t *claims, const char *name, int64_t *ret,
		       struct ccu_reason *err);
