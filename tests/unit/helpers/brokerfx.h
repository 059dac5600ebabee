/*
 * An in-process ccunlock-kbs for tests: TLS on 127.0.0.1 with test
 * certificates (tlsgen.h), a simulated SNP platform whose test ARK is a
 * configured trusted_root, an Ed25519 admin key, and a database holding the
 * policy "open" (measurement = any) and the 32-byte resource
 * default/luks/root guarded by it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "broker/config.h"
#include "broker/server.h"
#include "snp/sim.h"
#include "tools/kbs_flow_sim.h"

#define BFX_RESOURCE "default/luks/root"

struct bfx {
	char *dir;
	char ca[512];
	char simdir[512];
	struct snp_sim *sim;
	EVP_PKEY *admin;
	char admin_pub[512];
	uint8_t key[32];
	struct broker_config cfg;
	bool have_cfg;
	struct broker_server *srv;
	char base[64];
	char audit[512];
};

/* Everything above, without starting the broker. */
void bfx_init(struct bfx *f);
void bfx_done(struct bfx *f);

/* Start with the base configuration plus @extra lines ("key = value\n"...);
 * @roots: the trusted_root lines to use (NULL = this fixture's simulator). */
void bfx_start(struct bfx *f, const char *extra, const char *const *roots);
void bfx_stop(struct bfx *f);

/* Tests' clock: time(NULL) + bfx_clock_offset. */
extern time_t bfx_clock_offset;
time_t bfx_clock(void);

/* An admin bearer header "Authorization: Bearer <EdDSA JWT>" (static buffer)
 * signed with @key (NULL: the fixture's) for [now + @iat_off, + @lifetime]. */
const char *bfx_admin_header(struct bfx *f, EVP_PKEY *key, long iat_off, unsigned lifetime);

/* Admin request with the fixture's admin token. */
long bfx_admin(struct bfx *f, const char *method, const char *path, const void *body, size_t len,
	       struct kfc_resp *out);

/* Assert an error response: @status and detail starting "CODE:". */
void bfx_assert_error(const struct kfc_resp *r, long status, const char *variant,
		      const char *code);

/* Whole boot with @o against the running broker; returns the status and, on
 * 200, compares the key with @want (when not NULL). */
long bfx_boot(struct bfx *f, const struct snp_sim *sim, const struct kfc_ev_opts *o,
	      const char *path, bool bearer, const uint8_t *want, size_t want_len, char *detail,
	      size_t dlen);

/* Count lines of the audit log containing every one of the NULL-terminated
 * substrings. */
size_t bfx_audit_count(struct bfx *f, const char *const *subs);
