/*
 * RCAR sessions (kbs-protocol §4.3, §5.3): one per POST /auth, named by the
 * kbs-session-id cookie (32 lower-case hex characters from the CSPRNG).
 *
 * Life of a session:
 *   FRESH     created by /auth with its challenge nonce;
 *   CONSUMED  the first /attest took the nonce (whatever the outcome: the
 *             nonce is single use, a second /attest on the session fails);
 *   ATTESTED  the evidence verified; the session keeps what a release
 *             needs (tee-pubkey, verified report, product, evidence digest,
 *             token).
 * A session lives until its expiry (created + session_timeout, extended to
 * the token's expiry once attested); expired sessions are purged.
 *
 * The table is bounded (max_sessions) and thread-safe (one mutex; callers
 * get copies, never pointers into the table). Times are passed in, so the
 * table is testable without waiting.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/reason.h"
#include "kbs/jwk.h"
#include "kbs/msg.h"
#include "snp/azure.h"
#include "snp/report.h"

#define BROKER_SESSION_ID_LEN 32
#define BROKER_TOKEN_MAX 2048

enum broker_session_state {
	BROKER_SESSION_FRESH = 0,
	BROKER_SESSION_CONSUMED,
	BROKER_SESSION_ATTESTED,
};

/* What a successful /attest leaves in the session. */
struct broker_attested {
	struct kbs_jwk jwk;
	struct snp_report report;
	enum snp_product product;
	unsigned signer;		/* enum snp_signing_key */
	uint8_t evidence_sha256[32];
	char token[BROKER_TOKEN_MAX + 1];
	bool azure;		/* az-snp-vtpm: the release policy sees az too */
	struct az_claims az;
	/* init-data whose digest is HOST_DATA: its algorithm (enum
	 * kbs_hash_alg, 0 = none sent) and full digest */
	unsigned init_data_alg;
	uint8_t init_data_digest[KBS_DIGEST_MAX];
	/* a non-empty additional_evidence was bound (never verified) */
	bool additional_evidence;
	uint8_t additional_evidence_sha256[32];
};

struct broker_sessions;

/* Reason codes: SESSION_LIMIT (table full of live sessions), SESSION_UNKNOWN
 * (no such id, or expired), SESSION_NONCE_USED (a second /attest),
 * SESSION_NOT_ATTESTED (release without a verified attestation). */

struct broker_sessions *broker_sessions_new(unsigned max_sessions, unsigned timeout);
/* Sessions shared by several replicas, in the PostgreSQL database @conninfo
 * (session_pg.h); the attested part is sealed under @master_key. */
int broker_sessions_new_shared(const char *conninfo, const uint8_t master_key[32],
			       unsigned max_sessions, unsigned timeout,
			       struct broker_sessions **ret, struct ccu_reason *err);
void broker_sessions_free(struct broker_sessions *t);

/* A new FRESH session with a fresh nonce; @id gets the cookie value, @nonce
 * the challenge nonce, *@expires its expiry. */
int broker_sessions_create(struct broker_sessions *t, time_t now,
			   char id[BROKER_SESSION_ID_LEN + 1], char nonce[KBS_NONCE_LEN + 1],
			   time_t *expires, struct ccu_reason *err);

/* /attest: take the nonce of FRESH session @id (it becomes CONSUMED). */
int broker_sessions_consume(struct broker_sessions *t, const char *id, time_t now,
			    char nonce[KBS_NONCE_LEN + 1], struct ccu_reason *err);

/* Mark CONSUMED session @id ATTESTED with @a; its expiry becomes at least
 * @until. -ENOENT when it expired meanwhile. */
int broker_sessions_attested(struct broker_sessions *t, const char *id, time_t now,
			     const struct broker_attested *a, time_t until, struct ccu_reason *err);

/* Release: copy the attestation of live ATTESTED session @id into @out. */
int broker_sessions_get(struct broker_sessions *t, const char *id, time_t now,
			struct broker_attested *out, struct ccu_reason *err);

/* Drop expired sessions; returns how many. */
size_t broker_sessions_purge(struct broker_sessions *t, time_t now);
/* Live sessions in the table (expired ones until the next purge count too). */
size_t broker_sessions_count(struct broker_sessions *t);

/* A cookie value we could have issued: exactly 32 of [0-9a-f]. */
bool broker_session_id_valid(const char *id);
