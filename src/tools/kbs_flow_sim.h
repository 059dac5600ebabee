/*
 * A KBS protocol client for tests and the bench - TEST BUILDS ONLY (it
 * signs evidence with the SNP simulator). Each step is separate so tests can
 * tamper with any of them; kfc_boot() runs the whole RCAR flow the way a
 * booting guest does (a new TLS connection, /auth, /attest, resource GET,
 * JWE decryption).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "kbs/jwk.h"
#include "snp/report.h"
#include "snp/sim.h"

#define KFC_BODY_MAX (512 * 1024)

struct kfc_resp {
	long status;
	char *body; /* malloc'ed, NUL-terminated (may be NULL) */
	size_t len;
	char set_cookie[128];
};
void kfc_resp_done(struct kfc_resp *r);

/* One client: one connection (kept alive between requests) and its cookie. */
struct kfc {
	void *curl;
	char base[256]; /* "https://127.0.0.1:PORT" */
	char ca[512];	/* CA file; "" for plain HTTP */
	char cookie[128];
	char token[4096];
};

int kfc_open(struct kfc *k, const char *base, const char *ca);

/* Load @path's CA certificates once; every later request to a broker pinned
 * to that same file verifies against this store instead of libcurl reading
 * and parsing the file for each new connection. For the bench, whose one
 * process stands in for many guests that each read their CA once at boot.
 * Call before any thread uses kfc; a second call replaces the store. */
int kfc_share_ca(const char *path);
void kfc_close(struct kfc *k);

/* A raw request. @headers: NULL-terminated list of "Name: value" or NULL. The
 * session cookie is sent when set and @send_cookie; a Set-Cookie of
 * kbs-session-id updates it. Returns 0 when a response arrived (any status). */
int kfc_request(struct kfc *k, const char *method, const char *path, const void *body, size_t len,
		const char *const *headers, bool send_cookie, struct kfc_resp *out);

/* POST /auth with @request (NULL: a correct 0.4.0 snp Request); on 200 the
 * nonce is copied into @nonce (>= 257 bytes). */
int kfc_auth(struct kfc *k, const char *request, char *nonce, struct kfc_resp *out);

/* How to build the evidence. */
typedef void (*kfc_mutate_fn)(struct snp_report *r, void *ud);
struct kfc_ev_opts {
	unsigned version;	/* report version (0 = 5) */
	bool no_chain;		/* cert_chain null (the broker must find the certificates) */
	bool corrupt_signature; /* flip a signature byte after signing */
	bool corrupt_binding;	/* flip a REPORT_DATA byte before signing */
	const char *bind_nonce; /* bind this nonce instead of the one sent */
	kfc_mutate_fn mutate;	/* applied to the report before signing */
	void *mutate_ud;
	const char *init_data;		 /* init-data TOML to send (HOST_DATA: set by mutate) */
	const char *additional_evidence; /* bound and sent; NULL = "" */
};

/* The Attestation JSON for @nonce and @tee key; *@ret malloc'ed. */
int kfc_attestation(const struct snp_sim *sim, const struct kfc_ev_opts *o, const char *nonce,
		    EVP_PKEY *tee, char **ret);

/* Keep @sim's certificate chain as JSON text, made once: later Attestations
 * from @sim (with a chain) splice that text in instead of building and
 * serialising the same certificates, byte by byte, for every boot. For the
 * bench; call before any thread uses kfc, at most once. */
int kfc_cache_chain(const struct snp_sim *sim);

/* POST /attest; on 200 the token is kept in k->token. */
int kfc_attest(struct kfc *k, const char *body, struct kfc_resp *out);

/* GET /resource/<path> with the cookie, or with the token as Bearer. */
int kfc_resource(struct kfc *k, const char *path, bool bearer, struct kfc_resp *out);

/* The whole boot. On success (*@status 200) *@key is a secmem buffer with
 * the released secret. *@status is the failing step's HTTP status, and
 * @detail (may be NULL) gets its error body. */
int kfc_boot(const char *base, const char *ca, const struct snp_sim *sim,
	     const struct kfc_ev_opts *o, const char *path, bool bearer, long *status,
	     uint8_t **key, size_t *key_len, char *detail, size_t detail_len);
