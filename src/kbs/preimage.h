/*
 * REPORT_DATA binding (kbs-protocol §6):
 *
 *   preimage    = JCS({"tee-pubkey": JWK, "nonce": N, "additional-evidence": A})
 *   REPORT_DATA = H(preimage) || zero bytes up to 64
 *
 * H is sha384 unless the challenge selected another algorithm. JCS is RFC
 * 8785; for this ASCII-only structure it means sorted keys, no whitespace,
 * minimal string escaping with '/' NOT escaped.
 *
 * The two sides build the same bytes in two independent ways:
 *  - guest:  kbs_preimage_template() prints a fixed template after checking
 *            the character sets (nonce [A-Za-z0-9+/=], JWK members
 *            base64url), so no JSON library touches the hashed bytes;
 *  - broker: kbs_jcs_print() canonicalises the object it rebuilt from the
 *            parsed Attestation (kbs_runtime_data_json()).
 * Both are pure. Reason codes: KBS_NONCE, KBS_PUBKEY, KBS_JCS, KBS_HASH_ALG,
 * KBS_INTERNAL.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/reason.h"
#include "kbs/jwk.h"

#define KBS_REPORT_DATA_LEN 64
#define KBS_DIGEST_MAX 64

/* Longest nonce string we accept (Trustee sends 44 characters). */
#define KBS_NONCE_MAX 256
/* Longest additional-evidence string (a JSON document in a string). */
#define KBS_ADDITIONAL_EVIDENCE_MAX (256 * 1024)
/* Bounds of the JCS printer. */
#define KBS_JCS_MAX_DEPTH 16
#define KBS_JCS_MAX_MEMBERS 256
#define KBS_JCS_MAX_OUTPUT (1024 * 1024)

enum kbs_hash_alg {
	KBS_HASH_SHA256 = 1,
	KBS_HASH_SHA384,
	KBS_HASH_SHA512,
};
#define KBS_HASH_DEFAULT KBS_HASH_SHA384

/* "sha256"/"sha384"/"sha512" -> 0; anything else (including Trustee's
 * "sm3", which we do not implement) -> -ENOTSUP. */
int kbs_hash_alg_from_name(const char *name, enum kbs_hash_alg *ret);
const char *kbs_hash_alg_name(enum kbs_hash_alg a); /* NULL when invalid */
size_t kbs_hash_alg_len(enum kbs_hash_alg a);	    /* 32/48/64, 0 when invalid */

/* Nonce as it may appear in the preimage: 1..KBS_NONCE_MAX of [A-Za-z0-9+/=]. */
bool kbs_nonce_valid(const char *nonce);

/*
 * Guest: the canonical preimage from the fixed template. @ae is the
 * additional-evidence string ("" for a disk-unlock guest; any ASCII, escaped
 * per JCS). *@ret is malloc'ed and NUL-terminated, *@ret_len its length
 * (may be NULL). Not secret.
 */
int kbs_preimage_template(const char *nonce, const struct kbs_jwk *jwk, const char *ae, char **ret,
			  size_t *ret_len, struct ccu_reason *err);

/*
 * Broker: the object {"tee-pubkey", "nonce", "additional-evidence"} rebuilt
 * from the parsed fields (the JWK with exactly its key type's members, as
 * Trustee re-serialises its struct). New reference; NULL on ENOMEM.
 */
json_t *kbs_runtime_data_json(const char *nonce, const struct kbs_jwk *jwk, const char *ae);

/*
 * RFC 8785 printer restricted to what the protocol needs: objects (ASCII
 * keys, sorted by code unit, at most KBS_JCS_MAX_MEMBERS each, nesting at
 * most KBS_JCS_MAX_DEPTH), ASCII strings (escapes: \" \\ \b \f \n \r \t,
 * other controls \u00xx; '/' and DEL literal) and integers of magnitude
 * < 2^53. Reals, arrays, booleans, null and non-ASCII bytes are -EINVAL
 * (KBS_JCS). *@ret malloc'ed, NUL-terminated.
 */
int kbs_jcs_print(const json_t *v, char **ret, size_t *ret_len, struct ccu_reason *err);

/* @digest = H(@data); returns the digest length or -errno. */
int kbs_hash(enum kbs_hash_alg a, const void *data, size_t len, uint8_t digest[KBS_DIGEST_MAX]);

/* REPORT_DATA = H(preimage) || zeros. */
int kbs_report_data_from_preimage(enum kbs_hash_alg a, const char *preimage, size_t len,
				  uint8_t out[KBS_REPORT_DATA_LEN], struct ccu_reason *err);

/* Guest: template + hash in one step. */
int kbs_report_data_guest(enum kbs_hash_alg a, const char *nonce, const struct kbs_jwk *jwk,
			  const char *ae, uint8_t out[KBS_REPORT_DATA_LEN], struct ccu_reason *err);

/* Broker: kbs_runtime_data_json + kbs_jcs_print + hash. */
int kbs_report_data_broker(enum kbs_hash_alg a, const char *nonce, const struct kbs_jwk *jwk,
			   const char *ae, uint8_t out[KBS_REPORT_DATA_LEN],
			   struct ccu_reason *err);
