/* Internal to the broker service: shared by server.c, rcar.c and admin.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "broker/audit.h"
#include "broker/certsrc.h"
#include "broker/config.h"
#include "broker/http.h"
#include "broker/metrics.h"
#include "broker/pubkeys.h"
#include "broker/server.h"
#include "broker/session.h"
#include "broker/store.h"
#include "snp/verify.h"

#define BROKER_CHAIN_CACHE 1024

struct broker_server {
	const struct broker_config *cfg;
	struct broker_store *store;
	struct snp_trust *trust;
	struct snp_chain_cache *chains;
	EVP_PKEY *token_key; /* per-process P-256 key for ES256 attestation tokens */
	EVP_PKEY *admin_keys[BROKER_MAX_ADMIN_KEYS];
	size_t n_admin_keys;
	struct broker_sessions *sessions;
	struct broker_pubkeys *pubkeys; /* attested tee-pubkeys, imported */
	struct broker_audit *audit;
	struct broker_metrics *metrics;
	struct broker_certsrc certs;
	SSL_CTX *tls;
	struct broker_http *http;
	time_t (*clock)(void);
};

time_t broker_now(const struct broker_server *s);

/* An error reply {"type":..<variant>,"detail":"CODE: detail"}. */
void broker_reply_error(struct http_req *req, int status, const char *variant,
			const struct ccu_reason *why);
/* Audit + metrics of one decision; returns the audit write's result. */
int broker_decide(struct broker_server *s, const struct broker_audit_rec *rec,
		  struct ccu_reason *err);

void broker_h_auth(struct http_req *req, void *ud);
void broker_h_attest(struct http_req *req, void *ud);
void broker_h_resource(struct http_req *req, void *ud);      /* GET release, POST/DELETE admin */
void broker_h_resource_meta(struct http_req *req, void *ud);
void broker_h_policy(struct http_req *req, void *ud);
void broker_h_resource_policy(struct http_req *req, void *ud); /* Trustee's form */
void broker_admin_resource(struct broker_server *s, struct http_req *req);
