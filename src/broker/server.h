/*
 * The key broker service: the Trustee KBS 0.4.0 guest protocol (RCAR), the
 * admin API, /healthz and /metrics on one HTTP(S) listener
 * (docs/kbs-admin-api.md). broker_server_open() loads everything the
 * configuration names (master key, store, trusted roots, admin keys, TLS,
 * audit log) and fails before listening when anything is missing.
 *
 * The pieces of request handling that only parse and check (no store, no
 * network) are exported for tests and fuzzing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "broker/config.h"
#include "common/reason.h"
#include "kbs/initdata.h"
#include "kbs/msg.h"
#include "snp/azure.h"
#include "snp/evidence.h"
#include "snp/report.h"

struct broker_server;

/* @cfg must outlive the server. */
int broker_server_open(const struct broker_config *cfg, struct broker_server **ret,
		       struct ccu_reason *err);
/* Listen and serve on worker threads; writes port_file when configured. */
int broker_server_start(struct broker_server *s, struct ccu_reason *err);
unsigned broker_server_port(const struct broker_server *s);
/* Stop serving (safe from any thread) and wait for the workers. */
void broker_server_stop(struct broker_server *s);
void broker_server_free(struct broker_server *s);

/* Tests: the broker's clock (default time(NULL)). */
void broker_server_set_clock(struct broker_server *s, time_t (*now)(void));

/* ------------------------------------------------------------ checks */

#define BROKER_AE_MAX_TEES 16 /* members of an additional_evidence object */
#define BROKER_AE_TEES_MAX 160 /* bytes of their names, comma-separated */

/* What /attest has established before the AMD chain is verified. */
struct broker_attest_prep {
	struct kbs_attestation att;
	EVP_PKEY *tee_key; /* att.tee_pubkey, imported */
	struct snp_evidence ev;
	struct snp_report report;
	bool have_report;
	/* tee az-snp-vtpm (broker/azure_attest.c): the evidence, what it
	 * claims, and the quote's expected qualifying data (SHA-384 binding). */
	bool azure;
	struct az_evidence az_ev;
	struct az_claims *az;
	uint8_t az_binding[48];
	bool have_init_data;		 /* init-data sent, parsed and equal to HOST_DATA */
	struct kbs_initdata init_data;
	bool have_additional_evidence;	 /* non-empty additional_evidence (not verified) */
	uint8_t additional_evidence_sha256[32];
	char additional_evidence_tees[BROKER_AE_TEES_MAX + 1]; /* "gpu,nvidia" */
};

/*
 * The /attest body against the session's @nonce: Attestation shape
 * (kbs_attestation_parse), nonce equality (ATTEST_NONCE), init-data a valid
 * document (KBS_INIT_DATA_DOC) whose digest, regularised to 32 bytes, is the
 * report's HOST_DATA (ATTEST_HOST_DATA), additional evidence "" or a JSON
 * object of at most BROKER_AE_MAX_TEES TEE names (ATTEST_ADDITIONAL_EVIDENCE;
 * accepted, bound, not verified), tee-pubkey usable (KBS_PUBKEY), SNP
 * evidence (EVIDENCE_*), report format (FORMAT_*), and REPORT_DATA ==
 * kbs_report_data_broker(sha384, nonce, jwk, additional evidence) over all
 * 64 bytes (ATTEST_REPORT_DATA). Pure. @p is filled as far as
 * it got (have_report once the report parsed); always release it with
 * broker_attest_prep_done.
 */
int broker_attest_prepare(const char *body, size_t len, const char *nonce,
			  struct broker_attest_prep *p, struct ccu_reason *err);
void broker_attest_prep_done(struct broker_attest_prep *p);

/*
 * Admin authentication: @authorization is the Authorization header (may be
 * NULL); "Bearer <JWT>" with an EdDSA token, iat/exp within
 * BROKER_ADMIN_MAX_LIFETIME, verified at @now with BROKER_ADMIN_SKEW, signed
 * by one of @keys. Reason ADMIN_AUTH (no/other scheme) or the KBS_TOKEN_*
 * code of the verification. Pure.
 */
#define BROKER_ADMIN_MAX_LIFETIME 300
#define BROKER_ADMIN_SKEW 60
int broker_admin_authorize(EVP_PKEY *const *keys, size_t nkeys, const char *authorization,
			   time_t now, struct ccu_reason *err);
/* The same with the configured bound on exp - iat (admin_token_max_lifetime:
 * Trustee's admin tokens are long-lived). */
int broker_admin_authorize_lifetime(EVP_PKEY *const *keys, size_t nkeys,
				    const char *authorization, time_t now, unsigned max_lifetime,
				    struct ccu_reason *err);
/*
 * The same, and what single use needs: the token's "jti" (empty when it has
 * none; when present it must be a string of 16..64 [A-Za-z0-9_-], else
 * ADMIN_AUTH) and its "exp". @jti holds BROKER_ADMIN_JTI_MAX + 1 bytes.
 */
#define BROKER_ADMIN_JTI_MIN 16
#define BROKER_ADMIN_JTI_MAX 64
int broker_admin_authorize_token(EVP_PKEY *const *keys, size_t nkeys, const char *authorization,
				 time_t now, unsigned max_lifetime, char *jti, int64_t *exp,
				 struct ccu_reason *err);

/*
 * Trustee's set-resource-policy body {"policy": "<base64url, no padding>"}
 * (other members ignored) decoded into *@text (malloc'ed, NUL-terminated):
 * ADMIN_POLICY_BODY when it is not that shape. The text is then a ccunlock
 * policy (docs/policy.md); a Rego document is refused with ADMIN_REGO. Pure.
 */
#define BROKER_POLICY_TEXT_MAX (64 * 1024)
int broker_admin_trustee_policy(const char *body, size_t len, char **text,
				struct ccu_reason *err);

#define BROKER_POLICY_NAME_MAX 64

/* The query of an admin resource POST: exactly "policy=<name>" with a valid
 * policy name (ADMIN_QUERY). Pure. */
int broker_admin_query_policy(const char *query, char name[BROKER_POLICY_NAME_MAX + 1],
			      struct ccu_reason *err);
