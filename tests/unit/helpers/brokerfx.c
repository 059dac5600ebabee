#include "brokerfx.h"
#include "simfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "broker/store.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kbs/jwt.h"
#include "kbs/msg.h"
#include "testutil.h"
#include "tlsgen.h"

time_t bfx_clock_offset;

time_t bfx_clock(void)
{
	return time(NULL) + bfx_clock_offset;
}

static void write_pub(const char *path, EVP_PKEY *k)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_PUBKEY(fp, k), 1);
	fclose(fp);
}

void bfx_init(struct bfx *f)
{
	struct ccu_reason why = { 0 };
	struct broker_store *st = NULL;
	uint8_t *mk = NULL;
	char path[600];

	memset(f, 0, sizeof(*f));
	log_set_quiet(true);
	f->dir = tu_mkdtemp();
	tu_make_tls(f->dir);
	snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
	snprintf(f->simdir, sizeof(f->simdir), "%s/sim", f->dir);
	snprintf(f->audit, sizeof(f->audit), "%s/audit.log", f->dir);
	/* The cached Milan test platform (simfix.h), saved where the tools and
	 * the broker configuration expect it. */
	f->sim = tu_sim_platform(SNP_PRODUCT_MILAN);
	if (snp_sim_save(f->sim, f->simdir, &why) < 0)
		fail_msg("%s: %s", why.code, why.detail);
	f->admin = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(f->admin);
	snprintf(f->admin_pub, sizeof(f->admin_pub), "%s/admin.pub", f->dir);
	write_pub(f->admin_pub, f->admin);
	assert_int_equal(RAND_bytes(f->key, sizeof(f->key)), 1);
	snprintf(path, sizeof(path), "%s/master.key", f->dir);
	assert_int_equal(broker_master_key_create(path, &why), 0);
	assert_int_equal(broker_master_key_load(path, &mk, &why), 0);
	snprintf(path, sizeof(path), "%s/db.sqlite", f->dir);
	assert_int_equal(broker_store_open_sqlite(path, mk, &st, &why), 0);
	secmem_free(mk);
	assert_int_equal(broker_store_put_policy(st, "open", "measurement = any\n", &why), 0);
	assert_int_equal(broker_store_put_resource(st, BFX_RESOURCE, f->key, sizeof(f->key), "open",
						   &why),
			 0);
	broker_store_close(st);
}

void bfx_start(struct bfx *f, const char *extra, const char *const *roots)
{
	struct ccu_reason why = { 0 };
	char text[8192], line[700];
	int n;

	n = snprintf(text, sizeof(text),
		     "listen = 127.0.0.1:0\ntls_cert = %s/server.pem\ntls_key = %s/server.key\n"
		     "database = %s/db.sqlite\nmaster_key = %s/master.key\naudit_log = %s\n"
		     "admin_public_key = %s\nworkers = 2\nsession_timeout = 60\n",
		     f->dir, f->dir, f->dir, f->dir, f->audit, f->admin_pub);
	if (!roots) {
		snprintf(line, sizeof(line), "trusted_root = %s/ark.pem\n", f->simdir);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	for (size_t i = 0; roots && roots[i]; i++) {
		snprintf(line, sizeof(line), "trusted_root = %s\n", roots[i]);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	if (extra)
		strncat(text, extra, sizeof(text) - strlen(text) - 1);
	/* Tests never reach AMD's key server: no fetch unless a test asks. */
	if (!extra || !strstr(extra, "kds_fetch"))
		strncat(text, "kds_fetch = no\n", sizeof(text) - strlen(text) - 1);
	(void)n;
	if (broker_config_parse(text, strlen(text), &f->cfg, &why) < 0)
		fail_msg("config: %s: %s", why.code, why.detail);
	f->have_cfg = true;
	if (broker_server_open(&f->cfg, &f->srv, &why) < 0 ||
	    broker_server_start(f->srv, &why) < 0)
		fail_msg("broker: %s: %s", why.code, why.detail);
	broker_server_set_clock(f->srv, bfx_clock);
	snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%u", broker_server_port(f->srv));
}

void bfx_stop(struct bfx *f)
{
	if (f->srv)
		broker_server_free(f->srv);
	f->srv = NULL;
	if (f->have_cfg)
		broker_config_done(&f->cfg);
	f->have_cfg = false;
	bfx_clock_offset = 0;
}

void bfx_done(struct bfx *f)
{
	bfx_stop(f);
	f->sim = NULL; /* owned by simfix */
	EVP_PKEY_free(f->admin);
	if (f->dir) {
		tu_rmrf(f->dir);
		free(f->dir);
	}
	memset(f, 0, sizeof(*f));
}

const char *bfx_admin_header(struct bfx *f, EVP_PKEY *key, long iat_off, unsigned lifetime)
{
	static char h[4096];
	json_t *c = kbs_jwt_claims_new(time(NULL) + iat_off, lifetime);
	char *tok = NULL;

	assert_non_null(c);
	assert_int_equal(kbs_jwt_sign(key ? key : f->admin, c, &tok, NULL), 0);
	json_decref(c);
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	free(tok);
	return h;
}

long bfx_admin(struct bfx *f, const char *method, const char *path, const void *body, size_t len,
	       struct kfc_resp *out)
{
	struct kfc k;
	const char *h[] = { bfx_admin_header(f, NULL, 0, 60), NULL };

	assert_int_equal(kfc_open(&k, f->base, f->ca), 0);
	assert_int_equal(kfc_request(&k, method, path, body, len, h, false, out), 0);
	kfc_close(&k);
	return out->status;
}

void bfx_assert_error(const struct kfc_resp *r, long status, const char *variant,
		      const char *code)
{
	struct kbs_error_info e;
	size_t cl = strlen(code);

	if (r->status != status)
		fail_msg("status %ld, expected %ld (%s)", r->status, status,
			 r->body ? r->body : "no body");
	assert_non_null(r->body);
	if (kbs_error_parse(r->body, r->len, &e, NULL) < 0)
		fail_msg("not an error body: %s", r->body);
	if (variant && strcmp(e.variant, variant) != 0)
		fail_msg("variant %s, expected %s (%s)", e.variant, variant, e.detail);
	if (cl && (strncmp(e.detail, code, cl) != 0 || e.detail[cl] != ':'))
		fail_msg("detail '%s', expected code %s", e.detail, code);
}

long bfx_boot(struct bfx *f, const struct snp_sim *sim, const struct kfc_ev_opts *o,
	      const char *path, bool bearer, const uint8_t *want, size_t want_len, char *detail,
	      size_t dlen)
{
	uint8_t *key = NULL;
	size_t klen = 0;
	long status = 0;
	int r = kfc_boot(f->base, f->ca, sim ? sim : f->sim, o, path ? path : BFX_RESOURCE, bearer,
			 &status, &key, &klen, detail, dlen);

	if (r < 0 && !status)
		fail_msg("boot failed: %d", r);
	if (status == 200 && want) {
		assert_int_equal(klen, want_len);
		assert_memory_equal(key, want, want_len);
	}
	secmem_free(key);
	return status;
}

size_t bfx_audit_count(struct bfx *f, const char *const *subs)
{
	FILE *fp = fopen(f->audit, "r");
	char line[8192];
	size_t n = 0;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		bool all = true;

		for (size_t i = 0; subs[i]; i++)
			if (!strstr(line, subs[i]))
				all = false;
		n += all;
	}
	fclose(fp);
	return n;
}
