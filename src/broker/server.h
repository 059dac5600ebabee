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

/* What /attest has established before the AMD chain is verified. */
struct broker_attest_prep {
	struct kbs_attestation att;
	struct snp_evidence ev;
	struct snp_report report;
	bool have_report;
	/* tee az-snp-vtpm (broker/azure_attest.c): the evidence, what it
	 * claims, and the quote's expected qualifying data (SHA-384 binding). */
	bool azure;
	struct az_evidence az_ev;
	struct az_claims *az;
	uint8_t az_binding[48];
};

/*
 * The /attest body against the session's @nonce: Attestation shape
 * (kbs_attestation_parse), nonce equality (ATTEST_NONCE), no init-data
 * (ATTEST_INIT_DATA), no additional evidence (ATTEST_ADDITIONAL_EVIDENCE),
 * tee-pubkey usable (KBS_PUBKEY), SNP evidence (EVIDENCE_*), report format
 * (FORMAT_*), and REPORT_DATA == kbs_report_data_broker(sha384, nonce, jwk,
 * "") over all 64 bytes (ATTEST_REPORT_DATA). Pure. @p is filled as far as
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

#define BROKER_POLICY_NAME_MAX 64

/* The query of an admin resource POST: exactly "policy=<name>" with a valid
 * policy name (ADMIN_QUERY). Pure. */
int broker_admin_query_policy(const char *query, char name[BROKER_POLICY_NAME_MAX + 1],
			      struct ccu_reason *err);
