/*
 * KBS v0.4.0 messages (kbs-protocol §4, §5, §8): builders for the side that
 * sends, strict parsers for the side that receives.
 *
 *   Request      guest -> broker   POST /kbs/v0/auth     {"version","tee","extra-params"}
 *   Challenge    broker -> guest   200 of /auth          {"nonce","extra-params"}
 *   Attestation  guest -> broker   POST /kbs/v0/attest   {"init-data","runtime-data","tee-evidence"}
 *   Token        broker -> guest   200 of /attest        {"token"}
 *   Error        broker -> guest   401/404               {"type","detail"}
 *
 * Parsers are pure, take the body with its length, bound it, refuse
 * duplicate keys, wrong types and trailing bytes, and fill
 * plain structs (strings copied or borrowed from a json_t the struct owns;
 * release with the matching *_done). Builders return malloc'ed,
 * NUL-terminated compact JSON.
 *
 * Unknown members of these envelopes (Request, Challenge and its
 * extra-params, Attestation, runtime-data, tee-evidence, init-data, token
 * response, error body) are ignored, as Trustee's serde types do, so that an
 * additive change upstream does not break us first. What is inside them and
 * matters stays strict: the tee-pubkey JWK (kbs/jwk.h), the SNP evidence
 * (snp/evidence.h), the nonce, the token's shape.
 *
 * Reason codes: KBS_JSON, KBS_VERSION, KBS_TEE, KBS_NONCE, KBS_HASH_ALG,
 * KBS_PUBKEY, KBS_INIT_DATA, KBS_EVIDENCE, KBS_TOKEN, KBS_ERROR_BODY,
 * KBS_PATH, KBS_INTERNAL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/reason.h"
#include "kbs/jwk.h"
#include "kbs/kbs.h"
#include "kbs/preimage.h"

/* Body size limits (bytes) for each parser. */
#define KBS_REQUEST_MAX (16 * 1024)
#define KBS_CHALLENGE_MAX 4096
#define KBS_ATTESTATION_MAX (1024 * 1024)
#define KBS_TOKEN_RESPONSE_MAX (KBS_TOKEN_MAX + 64)
#define KBS_ERROR_BODY_MAX (16 * 1024)

#define KBS_TEE_MAX 32
#define KBS_TOKEN_MAX (64 * 1024)
#define KBS_INIT_DATA_MAX (64 * 1024)
#define KBS_ERROR_VARIANT_MAX 64
#define KBS_ERROR_DETAIL_MAX 512 /* kept after parsing; longer details are cut */

/* Nonces we generate: 32 random bytes, standard base64 with padding. */
#define KBS_NONCE_BYTES 32
#define KBS_NONCE_LEN 44

/* A TEE name: 1..KBS_TEE_MAX of [a-z0-9-]. */
bool kbs_tee_valid(const char *tee);

/* ------------------------------------------------------------ Request */

struct kbs_request {
	char tee[KBS_TEE_MAX + 1];
	json_t *extra_params; /* owned reference; JSON null when absent */
};

/*
 * Guest: {"version":"0.4.0","tee":"<tee>","extra-params":{"supported-hash-algorithms":
 * ["sha256","sha384","sha512"]}}. @tee: 1..KBS_TEE_MAX of [a-z0-9-] (KBS_TEE).
 */
int kbs_request_build(const char *tee, char **ret, struct ccu_reason *err);

/*
 * Broker: strict parse. A "version" string other than exactly
 * KBS_PROTOCOL_VERSION is -EPROTO with code KBS_VERSION and the detail
 * "KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is
 * <v>" (Trustee's text; the broker answers 401 with it). This check comes
 * before the member-set check, so a client of another version gets the
 * version error, not a shape error. tee: [a-z0-9-] (KBS_TEE); extra-params
 * may be any JSON value or absent.
 */
int kbs_request_parse(const char *text, size_t len, struct kbs_request *out,
		      struct ccu_reason *err);
void kbs_request_done(struct kbs_request *r);

/* ------------------------------------------------------------ Challenge */

struct kbs_challenge {
	char nonce[KBS_NONCE_MAX + 1];
	enum kbs_hash_alg hash; /* selected-hash-algorithm, else KBS_HASH_DEFAULT (sha384) */
	bool hash_selected;	/* the broker named an algorithm */
};

/* Broker: fresh nonce from a CSPRNG (@out gets KBS_NONCE_LEN chars + NUL). */
int kbs_nonce_generate(char out[KBS_NONCE_LEN + 1]);

/*
 * Broker: {"nonce":"<nonce>","extra-params":""}, or with @selected != 0
 * {"nonce":..,"extra-params":{"selected-hash-algorithm":"<name>"}}.
 */
int kbs_challenge_build(const char *nonce, enum kbs_hash_alg selected, char **ret,
			struct ccu_reason *err);

/*
 * Guest: nonce is 1..KBS_NONCE_MAX of [A-Za-z0-9+/=] (KBS_NONCE);
 * extra-params is "" or an object whose only allowed member is
 * "selected-hash-algorithm" (sha256/sha384/sha512, else KBS_HASH_ALG).
 */
int kbs_challenge_parse(const char *text, size_t len, struct kbs_challenge *out,
			struct ccu_reason *err);

/* ------------------------------------------------------------ Attestation */

struct kbs_attestation_in {
	const char *nonce;		  /* the Challenge nonce, verbatim */
	const struct kbs_jwk *tee_pubkey; /* the same struct that was hashed */
	const json_t *primary_evidence;	  /* object (e.g. snp_evidence_build()) */
	const char *additional_evidence;  /* NULL = "" */
	const char *init_data_toml;	  /* NULL = "init-data": null */
};

/*
 * Guest: {"init-data":null|{"format":"toml","body":..},
 *  "runtime-data":{"nonce":..,"tee-pubkey":{..}},
 *  "tee-evidence":{"primary_evidence":{..},"additional_evidence":".."}}.
 * *@ret_len may be NULL.
 */
int kbs_attestation_build(const struct kbs_attestation_in *in, char **ret, size_t *ret_len,
			  struct ccu_reason *err);

struct jf_doc;

/*
 * The body is parsed once with jflat (common/jflat.h): the evidence, which
 * is large, is read from @doc; the rest of the envelope is small and is
 * read from its jansson copy @root (primary_evidence is null there).
 */
struct kbs_attestation {
	struct jf_doc *doc;  /* the whole body */
	json_t *root;	     /* the envelope; owns the strings borrowed below */
	json_t *primary_json; /* kbs_attestation_primary_json's copy, or NULL */
	char nonce[KBS_NONCE_MAX + 1];
	struct kbs_jwk tee_pubkey;	 /* textually valid (kbs_jwk_parse); the broker
					     * still calls kbs_jwk_to_pkey() */
	uint32_t primary_evidence;	 /* node of @doc: an object (snp_evidence_parse_jf) */
	const char *additional_evidence; /* borrowed, NUL-free, <= KBS_ADDITIONAL_EVIDENCE_MAX */
	const char *init_data_body;	 /* borrowed TOML text, NULL when null/absent */
	size_t init_data_len;
};

/*
 * Broker: strict parse. Shape errors KBS_JSON; nonce KBS_NONCE; tee-pubkey
 * KBS_PUBKEY (see kbs_jwk_parse); init-data KBS_INIT_DATA (null, absent,
 * or {"format":"toml","body":string}); tee-evidence KBS_EVIDENCE
 * (primary_evidence: object and additional_evidence: string).
 */
int kbs_attestation_parse(const char *text, size_t len, struct kbs_attestation *out,
			  struct ccu_reason *err);
/* primary_evidence as jansson, for the parsers that take json_t (Azure's):
 * made on first use, owned by @a; NULL without memory. */
const json_t *kbs_attestation_primary_json(struct kbs_attestation *a);
void kbs_attestation_done(struct kbs_attestation *a);

/* ------------------------------------------------------------ Token */

/* Broker: {"token":"<token>"}. */
int kbs_token_response_build(const char *token, char **ret, struct ccu_reason *err);

/*
 * Guest: {"token": string}, the string JWT-shaped (three non-empty
 * base64url segments, <= KBS_TOKEN_MAX) (KBS_TOKEN). *@ret malloc'ed copy;
 * read its claims with kbs_jwt_peek_claims().
 */
int kbs_token_response_parse(const char *text, size_t len, char **ret, struct ccu_reason *err);

/* ------------------------------------------------------------ Errors (§8) */

/* Trustee's ErrorInformation variants (type suffixes). */
#define KBS_ERR_ATTESTATION "AttestationError"
#define KBS_ERR_INVALID_REQUEST_PATH "InvalidRequestPath"
#define KBS_ERR_JWE "JweError"
#define KBS_ERR_PLUGIN_NOT_FOUND "PluginNotFound"
#define KBS_ERR_PLUGIN_INTERNAL "PluginInternalError"
#define KBS_ERR_POLICY_DENY "PolicyDeny"
#define KBS_ERR_SERDE "SerdeError"
#define KBS_ERR_TOKEN_NOT_FOUND "TokenNotFound"
#define KBS_ERR_TOKEN_VERIFIER "TokenVerifierError"
#define KBS_ERR_ADMIN_ACCESS "AdminAuthAccess"

/* HTTP status Trustee uses for a variant (§8): 404 for InvalidRequestPath
 * and PluginNotFound, 401 for everything else. */
unsigned kbs_error_http_status(const char *variant);

/*
 * Broker: {"type":"https://github.com/confidential-containers/kbs/errors/<variant>",
 * "detail":"<detail>"}. @variant: 1..KBS_ERROR_VARIANT_MAX of [A-Za-z0-9];
 * @detail: any text, control characters replaced by '?', cut to 1024 bytes.
 */
int kbs_error_build(const char *variant, const char *detail, char **ret, struct ccu_reason *err);

struct kbs_error_info {
	char variant[KBS_ERROR_VARIANT_MAX + 1]; /* type without the prefix */
	char detail[KBS_ERROR_DETAIL_MAX + 1];	 /* printable ASCII, cut */
};

/*
 * Guest: {"type","detail"} strings; type = prefix + [A-Za-z0-9]
 * variant (KBS_ERROR_BODY). The detail is made safe to print on a console:
 * bytes outside 0x20..0x7e become '?', and it is cut to
 * KBS_ERROR_DETAIL_MAX.
 */
int kbs_error_parse(const char *text, size_t len, struct kbs_error_info *out,
		    struct ccu_reason *err);

/* ------------------------------------------------------------ Resource paths */

#define KBS_PATH_SEGMENT_MAX 128

struct kbs_resource_path {
	char repo[KBS_PATH_SEGMENT_MAX + 1];
	char type[KBS_PATH_SEGMENT_MAX + 1];
	char tag[KBS_PATH_SEGMENT_MAX + 1];
};

/*
 * "<repo>/<type>/<tag>" (@len bytes, no leading '/', no query): exactly
 * three segments of 1..KBS_PATH_SEGMENT_MAX, each [A-Za-z0-9_-][A-Za-z0-9_.-]*
 * (so never "." or ".."). -EINVAL (KBS_PATH).
 */
int kbs_resource_path_parse(const char *path, size_t len, struct kbs_resource_path *out,
			    struct ccu_reason *err);

/* "/kbs/v0/resource/<repo>/<type>/<tag>" into @buf; returns its length or
 * -ENOSPC. */
int kbs_resource_url_path(const struct kbs_resource_path *p, char *buf, size_t len);
