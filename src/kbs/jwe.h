/*
 * Flattened JWE as Trustee serves resources (kbs-protocol §7):
 *
 *   {"protected":"<b64url>","encrypted_key":"<b64url>","iv":"<b64url>",
 *    "ciphertext":"<b64url>","tag":"<b64url>"}
 *
 * Key management by the recipient's key type:
 *   EC (P-256, P-521) -> ECDH-ES+A256KW: ephemeral key on the same curve,
 *     Z = ECDH x-coordinate, KEK = Concat KDF SHA-256 (AlgorithmID
 *     "ECDH-ES+A256KW", empty PartyU/VInfo, SuppPubInfo 256), CEK wrapped
 *     with AES-256 key wrap (RFC 3394) -> 40-byte encrypted_key;
 *     protected = {"alg":"ECDH-ES+A256KW","enc":"A256GCM",
 *                  "epk":{"crv":..,"kty":"EC","x":..,"y":..}}
 *   RSA (>= 2048 bits) -> RSA-OAEP-256 (SHA-256, MGF1-SHA-256, empty label);
 *     protected = {"alg":"RSA-OAEP-256","enc":"A256GCM"}
 * Content: A256GCM, random 32-byte CEK, 12-byte IV, 16-byte tag, AAD = the
 * ASCII bytes of the protected base64url string. These header bytes are
 * exactly Trustee's: its Rust client recomputes the AAD by re-serialising the
 * header, so any other member order or spacing would fail there (§7.3).
 *
 * Secrets (CEK, KEK, ECDH shared secret, plaintext) live in secmem buffers
 * or are wiped on every path.
 *
 * Reason codes: KBS_JWE (malformed JSON/members/base64url/lengths),
 * KBS_JWE_ALG (alg/enc/epk not accepted, or not matching the private key),
 * KBS_JWE_DECRYPT (key unwrap, OAEP or GCM authentication failed),
 * KBS_INTERNAL.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/reason.h"

#define KBS_JWE_ENC_A256GCM "A256GCM"
#define KBS_JWE_CEK_LEN 32
#define KBS_JWE_IV_LEN 12
#define KBS_JWE_TAG_LEN 16
#define KBS_JWE_KW_LEN 40 /* AES key wrap of a 32-byte CEK */

/* Largest resource we wrap/unwrap, and the largest JWE text we parse. */
#define KBS_JWE_MAX_PLAINTEXT (64 * 1024)
#define KBS_JWE_MAX_PROTECTED 1024     /* base64url characters */
#define KBS_JWE_MAX_ENCRYPTED_KEY 1024 /* bytes (RSA-8192) */
#define KBS_JWE_MAX_AAD 4096	       /* characters of an ignored "aad" member */
#define KBS_JWE_MAX_TEXT (KBS_JWE_MAX_PLAINTEXT / 3 * 4 + 16384)

/*
 * Broker: encrypt @len bytes of @pt (0..KBS_JWE_MAX_PLAINTEXT) to
 * @recipient (public EC P-256/P-521 or RSA key). An EC recipient's point is
 * not validated again for the key agreement: it must come from
 * kbs_jwk_to_pkey(), which refuses a point off the curve, or be a key
 * generated locally.
 * *@ret is the flattened JWE JSON text, malloc'ed and NUL-terminated (not
 * secret: only ciphertext), *@ret_len its length (may be NULL).
 * -EINVAL (KBS_JWE_ALG) for another key type, -EMSGSIZE (KBS_JWE) for an
 * oversized plaintext, -ENOMEM/-EIO (KBS_INTERNAL).
 */
int kbs_jwe_encrypt(EVP_PKEY *recipient, const uint8_t *pt, size_t len, char **ret, size_t *ret_len,
		    struct ccu_reason *err);

/*
 * Guest: decrypt the flattened JWE text @json (@len bytes, at most
 * KBS_JWE_MAX_TEXT) with the private key @priv. Strict: the five members
 * above are required, each exactly once, base64url without padding; the
 * protected header has alg, enc (and epk for ECDH-ES, with exactly
 * crv, kty, x, y, a valid point on @priv's curve), "crit", "zip", "apu" and
 * "apv" are refused, other header members are ignored (as Trustee's client does, so an
 * additive change upstream does not break us); alg must match @priv's
 * type (EC: ECDH-ES+A256KW, RSA: RSA-OAEP-256); enc must be A256GCM.
 *
 * An "aad" member (a bounded string) is accepted and ignored, as Trustee's
 * clients do (§7.2): the AAD is always the raw received protected string.
 * A sender that did mix "aad" into the AAD therefore fails authentication
 * (fail closed). Every other member ("header", "unprotected", "recipients")
 * is an error.
 *
 * On success *@ret is a secmem buffer (free with secmem_free) holding
 * *@ret_len plaintext bytes (one byte is allocated for an empty plaintext).
 * On failure nothing is returned and every intermediate secret is wiped.
 */
int kbs_jwe_decrypt(EVP_PKEY *priv, const char *json, size_t len, uint8_t **ret, size_t *ret_len,
		    struct ccu_reason *err);
