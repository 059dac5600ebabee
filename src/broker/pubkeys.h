/*
 * The guests' tee-pubkeys, imported once. A boot imports its tee-pubkey
 * when it attests (broker_attest_prepare, which refuses an unusable key) and
 * again for each resource it is released, from the JWK its session holds.
 * This remembers the imported keys of the last BROKER_PUBKEYS_SLOTS
 * attestations and releases, looked up by every member of the JWK, so that
 * a release on the broker that verified the attestation skips the import.
 *
 * A pure optimisation: a key is remembered only as the import of the very
 * JWK it is found by, so a hit is the key kbs_jwk_to_pkey() would return;
 * a miss (evicted, or a session attested by another replica of a fleet that
 * shares sessions in PostgreSQL) imports the JWK, with its checks, as
 * before. Public keys only; thread-safe (one mutex, held for a scan of the
 * slots, never for an import); the oldest slot is replaced first.
 */
#pragma once

#include <openssl/evp.h>

#include "common/reason.h"
#include "kbs/jwk.h"

#define BROKER_PUBKEYS_SLOTS 64

struct broker_pubkeys;

struct broker_pubkeys *broker_pubkeys_new(void);
void broker_pubkeys_free(struct broker_pubkeys *c);

/* Remember @pk, the result of kbs_jwk_to_pkey(@jwk) (a reference is taken;
 * nothing happens when @jwk is already remembered). @c may be NULL. */
void broker_pubkeys_put(struct broker_pubkeys *c, const struct kbs_jwk *jwk, EVP_PKEY *pk);

/*
 * The key of @jwk: a remembered one (a new reference), else
 * kbs_jwk_to_pkey(@jwk), remembered when it succeeds. Free *@ret with
 * EVP_PKEY_free. @c may be NULL (always imports). Errors are
 * kbs_jwk_to_pkey()'s.
 */
int broker_pubkeys_get(struct broker_pubkeys *c, const struct kbs_jwk *jwk, EVP_PKEY **ret,
		       struct ccu_reason *err);

/* How many keys are remembered (tests). */
size_t broker_pubkeys_count(struct broker_pubkeys *c);
