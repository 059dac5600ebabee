/*
 * RCAR sessions in PostgreSQL (the table ccu_sessions), for several broker
 * replicas: /auth on one replica, /attest and the release on others.
 * session.c forwards to these when the broker runs on a shared store; the
 * semantics are session.h's:
 *  - the nonce is taken by one atomic statement
 *    (UPDATE ... SET state = CONSUMED WHERE state = FRESH ... RETURNING), so
 *    it is used at most once across every replica, retries included;
 *  - what an attestation leaves in the session is sealed (AES-256-GCM under
 *    the master key, bound to the session id): whoever can write the
 *    database cannot forge or move an attested session, and the sealed
 *    expiry bounds its use whatever the row's expiry column says;
 *  - max_sessions bounds the live sessions of the whole fleet.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "broker/session.h"
#include "broker/store.h"

struct session_pg;

int session_pg_open(const char *conninfo, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
		    unsigned max_sessions, unsigned timeout, struct session_pg **ret,
		    struct ccu_reason *err);
void session_pg_close(struct session_pg *sp);

int session_pg_create(struct session_pg *sp, time_t now, char id[BROKER_SESSION_ID_LEN + 1],
		      char nonce[KBS_NONCE_LEN + 1], time_t *expires, struct ccu_reason *err);
int session_pg_consume(struct session_pg *sp, const char *id, time_t now,
		       char nonce[KBS_NONCE_LEN + 1], struct ccu_reason *err);
int session_pg_attested(struct session_pg *sp, const char *id, time_t now,
			const struct broker_attested *a, time_t until, struct ccu_reason *err);
int session_pg_get(struct session_pg *sp, const char *id, time_t now, struct broker_attested *out,
		   struct ccu_reason *err);
size_t session_pg_purge(struct session_pg *sp, time_t now);
size_t session_pg_count(struct session_pg *sp);
