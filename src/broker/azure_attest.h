/* /attest for tee az-snp-vtpm (broker/azure_attest.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "broker/server.h"
#include "broker/server_int.h"

struct jf_doc;

/* Is this primary_evidence (node @primary of @d) Trustee's az-snp-vtpm form? */
bool broker_az_is_evidence(const struct jf_doc *d, uint32_t primary);
/* Parse the evidence and its claims into @p; compute the session binding. */
int broker_az_prepare(struct broker_attest_prep *p, const char *nonce, struct ccu_reason *err);
void broker_az_prep_done(struct broker_attest_prep *p);
/* Leaf from the evidence or the broker's cache, then broker_az_verify with
 * the session binding. */
int broker_az_attest_verify(struct broker_server *s, struct broker_attest_prep *p, time_t now,
			    X509 **leaf, STACK_OF(X509) **pool, uint8_t digest[32],
			    bool *have_digest, enum snp_product *product, struct ccu_reason *why);
