/*
 * The guest's KBS client (kbs-protocol §4-7, §12): RCAR over HTTPS with
 * libcurl, hardened for an untrusted network:
 *
 *  - https only, no proxy (environment ignored), no redirects, the CA file
 *    from the initramfs config as the only trust anchor (no system store),
 *    TLS 1.2+, peer and host name verified;
 *  - every response body bounded (per message type);
 *  - one overall deadline: every transfer's timeout is what is left of it;
 *    transient failures (connect, TLS handshake I/O, 5xx) are retried with
 *    exponential backoff (GUEST_KBS_BACKOFF_*), at most GUEST_KBS_MAX_ATTEMPTS
 *    times, starting over at /auth with a fresh key and report; when the
 *    next attempt would pass the deadline the last reason is reported with
 *    "(gave up after N attempts: deadline)";
 *  - a 401 re-attests at most once (an expired session), then fails with the
 *    broker's error detail; a PolicyDeny 401 fails at once;
 *  - the resource arrives JWE-wrapped to an ephemeral P-256 key bound into
 *    REPORT_DATA and is decrypted straight into locked memory.
 *
 * Reason codes (exit class in brackets, see guest_exit_for_code):
 *   BROKER_UNREACHABLE [network]  connection refused/reset (retried)
 *   BROKER_TIMEOUT     [network]  no answer before the deadline
 *   BROKER_UNAVAILABLE [network]  5xx, 408, 429 (retried)
 *   BROKER_TLS         [network]  certificate not trusted (not retried) or the
 *                                 TLS handshake failed (retried)
 *   BROKER_DENIED      [denied]   401: attestation or policy refused (broker's detail)
 *   BROKER_NOT_FOUND   [denied]   404 from the broker
 *   BROKER_PROTOCOL    [denied]   redirect, unexpected status, malformed reply
 *   KBS_* (kbs/kbs.h)  malformed challenge/token/JWE
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/reason.h"
#include "kbs/msg.h"

#define GUEST_KBS_MAX_ATTEMPTS 6
#define GUEST_KBS_BACKOFF_FIRST_MS 500
#define GUEST_KBS_BACKOFF_MAX_MS 8000
#define GUEST_KBS_CONNECT_TIMEOUT_MS 10000
#define GUEST_KBS_MAX_REATTEST 1
#define GUEST_KBS_CA_MAX (256 * 1024)
#define GUEST_KBS_HEADER_MAX 8192
#define GUEST_KBS_COOKIE_MAX 256

/* Produce the primary_evidence object for @report_data (e.g. a provider). */
typedef int (*guest_evidence_fn)(void *ud, const uint8_t report_data[64], json_t **ret,
				 struct ccu_reason *err);

struct guest_kbs {
	const char *url;      /* https://HOST[:PORT] */
	/* Optional further brokers (same CA): after a transient failure the
	 * next attempt goes to the next broker, in order, then round-robin,
	 * all within the one deadline; a failure names the brokers tried. */
	const char *const *more_urls;
	size_t n_more_urls;
	const char *ca_file;  /* PEM */
	uint64_t deadline_ms; /* absolute, on the ccu_now_ms() clock */
	guest_evidence_fn evidence;
	void *evidence_ud;
	const char *tee;      /* KBS tee of /auth; NULL = "snp" */
	unsigned *attempts;   /* optional: attempts made (for logs/tests) */
	/* optional: how to wait between attempts (tests; default nanosleep) */
	void (*sleep_ms)(uint64_t ms, void *ud);
	void *sleep_ud;
	const char *init_data; /* optional init-data TOML sent in the Attestation */
};

/*
 * Attest and fetch @path. On success *@key is a secmem buffer of *@key_len
 * bytes (secmem_free). -ETIMEDOUT/-ECONNREFUSED/-EIO/-EHOSTUNREACH for the
 * network class, -EACCES for a refusal, -EPROTO for protocol errors.
 */
int guest_kbs_fetch(const struct guest_kbs *k, const struct kbs_resource_path *path, uint8_t **key,
		    size_t *key_len, struct ccu_reason *err);

/*
 * Admin API (docs/kbs-admin-api.md), authenticated with an EdDSA JWT signed
 * by @admin_key (an Ed25519 private key). Same transport rules, a single
 * attempt each, timeout GUEST_KBS_ADMIN_TIMEOUT_MS. Reason codes ADMIN_AUTH
 * (401), ADMIN_NOT_FOUND (404), ADMIN_REFUSED (other 4xx, with the broker's
 * detail), BROKER_* for transport.
 */
#define GUEST_KBS_ADMIN_TIMEOUT_MS 30000
#define GUEST_KBS_ADMIN_TOKEN_LIFETIME 120

struct guest_admin {
	const char *url;
	const char *ca_file;
	EVP_PKEY *admin_key;
};

/* POST /kbs/v0/resource/<path>?policy=<policy> with @data. */
int guest_admin_put_resource(const struct guest_admin *a, const char *path, const char *policy,
			     const uint8_t *data, size_t len, struct ccu_reason *err);
/* DELETE /kbs/v0/resource/<path>. */
int guest_admin_delete_resource(const struct guest_admin *a, const char *path,
				struct ccu_reason *err);
/* GET /kbs/v0/resource-meta/<path>: 1 exists, 0 does not (404). */
int guest_admin_resource_exists(const struct guest_admin *a, const char *path,
				struct ccu_reason *err);
