/*
 * Trustee KBS protocol v0.4.0: constants shared by the guest client and the
 * broker, and the reason codes of every kbs_* function (kbs-protocol.md).
 *
 * Modules (each header documents its API):
 *   kbs/preimage.h  REPORT_DATA binding (JCS preimage, hash, 64-byte pad)  §6
 *   kbs/jwk.h       tee-pubkey JWK: ephemeral key, export, strict import  §5.2
 *   kbs/jwe.h       flattened JWE: encrypt (broker), decrypt (guest)       §7
 *   kbs/jwt.h       compact JWS: EdDSA admin tokens, ES256 attestation tokens §5.4
 *   kbs/msg.h       RCAR messages, error bodies, resource paths, nonces    §4, §5, §8
 *   kbs/initdata.h  init-data TOML document: strict parse, digest, HOST_DATA
 *
 * Conventions: functions return >= 0 or -errno; every refusal fills the
 * caller's struct ccu_reason (may be NULL) with one of the codes below.
 * Parsers are pure (no I/O, no logging). Secrets live in secmem buffers.
 */
#pragma once

/* The one protocol version we speak (exact match, kbs-protocol §4.1). */
#define KBS_PROTOCOL_VERSION "0.4.0"

#define KBS_API_PREFIX "/kbs/v0"
#define KBS_PATH_AUTH KBS_API_PREFIX "/auth"
#define KBS_PATH_ATTEST KBS_API_PREFIX "/attest"
#define KBS_PATH_RESOURCE KBS_API_PREFIX "/resource"
#define KBS_COOKIE_NAME "kbs-session-id"
#define KBS_TEE_SNP "snp"

/* Prefix of ErrorInformation.type (§8). */
#define KBS_ERROR_TYPE_PREFIX "https://github.com/confidential-containers/kbs/errors/"

/*
 * Reason codes (stable; never rename). Which functions use which code is in
 * the module headers.
 */
#define KBS_R_JSON "KBS_JSON"		    /* not JSON, wrong shape/type, unknown member, size */
#define KBS_R_VERSION "KBS_VERSION"	    /* Request.version != KBS_PROTOCOL_VERSION */
#define KBS_R_TEE "KBS_TEE"		    /* Request.tee malformed */
#define KBS_R_NONCE "KBS_NONCE"		    /* nonce missing, bad charset or length */
#define KBS_R_HASH_ALG "KBS_HASH_ALG"	    /* unsupported (selected-)hash-algorithm */
#define KBS_R_PUBKEY "KBS_PUBKEY"	    /* tee-pubkey JWK invalid */
#define KBS_R_INIT_DATA "KBS_INIT_DATA"	    /* init-data not null/absent/{"format":"toml",...} */
#define KBS_R_INIT_DATA_DOC "KBS_INIT_DATA_DOC" /* init-data TOML invalid (kbs/initdata.h) */
#define KBS_R_EVIDENCE "KBS_EVIDENCE"	    /* tee-evidence shape */
#define KBS_R_JCS "KBS_JCS"		    /* value outside the canonicaliser's subset */
#define KBS_R_JWE "KBS_JWE"		    /* JWE malformed */
#define KBS_R_JWE_ALG "KBS_JWE_ALG"	    /* alg/enc/epk not what we accept / key mismatch */
#define KBS_R_JWE_DECRYPT "KBS_JWE_DECRYPT" /* key unwrap or GCM authentication failed */
#define KBS_R_TOKEN "KBS_TOKEN"		    /* JWT malformed (segments, base64url, JSON) */
#define KBS_R_TOKEN_ALG "KBS_TOKEN_ALG"	    /* alg is not exactly the expected one */
#define KBS_R_TOKEN_SIGNATURE "KBS_TOKEN_SIGNATURE"
#define KBS_R_TOKEN_EXPIRED "KBS_TOKEN_EXPIRED"
#define KBS_R_TOKEN_NOT_YET_VALID "KBS_TOKEN_NOT_YET_VALID" /* nbf or iat in the future */
#define KBS_R_TOKEN_LIFETIME "KBS_TOKEN_LIFETIME" /* exp missing or too far from iat/now */
#define KBS_R_KEY "KBS_KEY"			  /* PEM key unreadable or of the wrong type */
#define KBS_R_PATH "KBS_PATH"			  /* resource path invalid */
#define KBS_R_ERROR_BODY "KBS_ERROR_BODY"	  /* ErrorInformation malformed */
#define KBS_R_INTERNAL "KBS_INTERNAL" /* allocation or OpenSSL failure (not the input) */
