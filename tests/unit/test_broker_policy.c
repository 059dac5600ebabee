/*
 * Release policies through the whole broker flow: every row of the policy
 * rule matrix (helpers/policy_matrix.h) with a simulator report signed at
 * the boundary (released) and one step beyond it (denied with the row's
 * code), each on a simulated platform whose VCEK matches the report. And the
 * certificate sources: the offline cache and a KDS fetch.
 */
#include "helpers/brokerfx.h"
#include "helpers/policy_matrix.h"
#include "helpers/testutil.h"
#include "helpers/simfix.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "broker/certsrc.h"
#include "broker/http.h"
#include "broker/store.h"
#include "common/codec.h"
#include "common/secmem.h"

#define MAX_PLATFORMS 32
#define MAX_CHECKS 160

static struct bfx F;

struct platform {
	enum snp_product product;
	uint8_t tcb[8]; /* REPORTED_TCB in the product's layout */
	uint8_t chip[64];
	struct snp_sim *sim;
	char ark[700];
};

struct check {
	const struct policy_matrix_row *row;
	size_t row_index;
	bool beyond;
	size_t platform;
};

static struct platform platforms[MAX_PLATFORMS];
static size_t nplatforms;
static struct check checks[MAX_CHECKS];
static size_t nchecks;

struct mut {
	pm_mutate_fn fn;
	enum snp_product product;
};

static void apply(struct snp_report *r, void *ud)
{
	struct mut *m = ud;

	m->fn(r, &m->product);
}

/* The platform a row's report needs: the product after the mutation, and
 * the REPORTED_TCB and CHIP_ID a VCEK must certify. */
static size_t platform_for(const struct policy_matrix_row *row, pm_mutate_fn fn, bool *unknown)
{
	struct snp_sim_params dp;
	struct snp_report r;
	enum snp_product p = row->product;
	struct snp_tcb t;
	uint8_t tcb[8], chip[64];

	snp_sim_default_params(&dp);
	policy_matrix_base_report(&r, p);
	dp.tcb.has_fmc = p == SNP_PRODUCT_TURIN;
	snp_tcb_encode(&dp.tcb, p, r.reported_tcb);
	memcpy(r.chip_id, dp.chip_id, 64);
	if (p == SNP_PRODUCT_TURIN)
		memset(r.chip_id + 8, 0, 56);
	fn(&r, &p);
	*unknown = p == SNP_PRODUCT_UNKNOWN;
	if (*unknown)
		return 0;
	if (p != row->product) {
		/* A product change takes that product's default platform. */
		dp.tcb.has_fmc = p == SNP_PRODUCT_TURIN;
		snp_tcb_encode(&dp.tcb, p, tcb);
		memcpy(chip, dp.chip_id, 64);
		if (p == SNP_PRODUCT_TURIN)
			memset(chip + 8, 0, 56);
	} else {
		assert_true(snp_tcb_decode(r.reported_tcb, p, &t));
		memcpy(tcb, r.reported_tcb, 8);
		memcpy(chip, r.chip_id, 64);
	}
	for (size_t i = 0; i < nplatforms; i++)
		if (platforms[i].product == p && !memcmp(platforms[i].tcb, tcb, 8) &&
		    !memcmp(platforms[i].chip, chip, 64))
			return i;
	assert_true(nplatforms < MAX_PLATFORMS);
	platforms[nplatforms].product = p;
	memcpy(platforms[nplatforms].tcb, tcb, 8);
	memcpy(platforms[nplatforms].chip, chip, 64);
	return nplatforms++;
}

static atomic_size_t next_platform;

/* Each platform is its product's cached test platform with a VCEK issued
 * for the row's TCB and chip (as AMD's key server would): no RSA key
 * generation, and the product's one test root signs them all. */
static void *make_platforms(void *arg)
{
	(void)arg;
	for (;;) {
		size_t i = atomic_fetch_add(&next_platform, 1);
		struct platform *pl;
		struct snp_tcb tcb;
		struct ccu_reason why = { 0 };

		if (i >= nplatforms)
			return NULL;
		pl = &platforms[i];
		if (pl->sim)
			continue;
		snp_tcb_decode(pl->tcb, pl->product, &tcb);
		if (snp_sim_reissue(tu_sim_platform(pl->product), &tcb, pl->chip, &pl->sim, &why) < 0) {
			fprintf(stderr, "platform %zu: %s: %s\n", i, why.code, why.detail);
			pl->sim = NULL;
		}
		snprintf(pl->ark, sizeof(pl->ark), "%s/ark.pem", tu_sim_dir(pl->product));
	}
}

static int group_setup(void **state)
{
	struct ccu_reason why = { 0 };
	struct broker_store *st = NULL;
	uint8_t *mk = NULL;
	char path[600], text[4096], name[64], res[64];
	pthread_t th[2];

	(void)state;
	bfx_init(&F);
	snprintf(path, sizeof(path), "%s/master.key", F.dir);
	assert_int_equal(broker_master_key_load(path, &mk, &why), 0);
	snprintf(path, sizeof(path), "%s/db.sqlite", F.dir);
	assert_int_equal(broker_store_open_sqlite(path, mk, &st, &why), 0);
	secmem_free(mk);
	/* The fixture's own platform is Milan with the default TCB and chip. */
	{
		const struct snp_sim_params *dp = snp_sim_params(F.sim);

		platforms[0].product = SNP_PRODUCT_MILAN;
		snp_tcb_encode(&dp->tcb, SNP_PRODUCT_MILAN, platforms[0].tcb);
		memcpy(platforms[0].chip, dp->chip_id, 64);
		platforms[0].sim = F.sim;
		snprintf(platforms[0].ark, sizeof(platforms[0].ark), "%s/ark.pem", F.simdir);
		nplatforms = 1;
	}
	for (size_t i = 0; i < policy_matrix_count(); i++) {
		const struct policy_matrix_row *row = policy_matrix_row(i);

		assert_true(policy_matrix_policy(row, text, sizeof(text)) > 0);
		snprintf(name, sizeof(name), "pm-%zu", i);
		snprintf(res, sizeof(res), "pm/row/%zu", i);
		if (broker_store_put_policy(st, name, text, &why) < 0 ||
		    broker_store_put_resource(st, res, F.key, sizeof(F.key), name, &why) < 0)
			fail_msg("row %s: %s: %s", row->name, why.code, why.detail);
		for (int b = 0; b < 2; b++) {
			bool unknown;
			size_t pl = platform_for(row, b ? row->beyond : row->boundary, &unknown);

			/* REPORT_DATA is the broker's own binding of nonce and key:
			 * a fixed report_data policy cannot pass through the
			 * protocol. A report of unknown product is judged by the
			 * product its AMD chain names. Both stay with test_policy. */
			if (unknown || strcmp(row->name, "report_data") == 0) {
				print_message("note: %s/%s is covered by test_policy only\n",
					      row->name, b ? "beyond" : "boundary");
				continue;
			}
			assert_true(nchecks < MAX_CHECKS);
			checks[nchecks++] = (struct check){ row, i, b, pl };
		}
	}
	broker_store_close(st);
	print_message("%zu checks on %zu simulated platforms\n", nchecks, nplatforms);
	/* The product platforms are cached once, before the threads share them. */
	for (size_t i = 0; i < nplatforms; i++)
		(void)tu_sim_platform(platforms[i].product);
	for (int t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, make_platforms, NULL);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	for (size_t i = 0; i < nplatforms; i++)
		assert_non_null(platforms[i].sim);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 1; i < nplatforms; i++)
		snp_sim_free(platforms[i].sim);
	bfx_done(&F);
	return 0;
}

static void test_policy_matrix_flow(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t pl = 0; pl < nplatforms; pl++) {
		const char *roots[] = { platforms[pl].ark, NULL };

		bfx_start(&F, NULL, roots);
		for (size_t i = 0; i < nchecks; i++) {
			const struct check *c = &checks[i];
			struct mut m = { c->beyond ? c->row->beyond : c->row->boundary,
					 c->row->product };
			struct kfc_ev_opts o = { .mutate = apply, .mutate_ud = &m };
			char res[64], detail[2048] = "", want[128];
			long st;

			if (c->platform != pl)
				continue;
			snprintf(res, sizeof(res), "pm/row/%zu", c->row_index);
			st = bfx_boot(&F, platforms[pl].sim, &o, res, false, F.key, sizeof(F.key),
				      detail, sizeof(detail));
			snprintf(want, sizeof(want), "\"%s:", c->row->code);
			if (!c->beyond && st != 200) {
				print_error("%s boundary: %ld %s\n", c->row->name, st, detail);
				failures++;
			} else if (c->beyond && (st != 401 || !strstr(detail, want) ||
						 !strstr(detail, "PolicyDeny") ||
						 !strstr(detail, c->row->detail))) {
				print_error("%s beyond: %ld %s (want %s ... %s)\n", c->row->name, st,
					    detail, c->row->code, c->row->detail);
				failures++;
			}
		}
		bfx_stop(&F);
	}
	assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ certificate sources */

static void write_der(const char *path, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	FILE *fp = fopen(path, "w");

	assert_true(n > 0);
	assert_non_null(fp);
	assert_int_equal(fwrite(der, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	OPENSSL_free(der);
}

static void write_pem(const char *path, X509 *a, X509 *b)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, a), 1);
	if (b)
		assert_int_equal(PEM_write_X509(fp, b), 1);
	fclose(fp);
}

static void mkdirs(const char *p)
{
	char cmd[1600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
}

static void test_cert_cache(void **state)
{
	char cache[600], dir[1400], path[1400], extra[800], rel[400];
	struct snp_report r;
	char detail[1024];

	(void)state;
	snprintf(cache, sizeof(cache), "%s/cache", F.dir);
	snp_sim_report_template(F.sim, 5, NULL, &r);
	assert_true(broker_vcek_cache_name(&r, SNP_PRODUCT_MILAN, rel, sizeof(rel)) > 0);
	snprintf(path, sizeof(path), "%s/%s", cache, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	mkdirs(dir);
	write_der(path, snp_sim_vcek(F.sim));
	snprintf(path, sizeof(path), "%s/milan/ark.pem", cache);
	write_pem(path, snp_sim_ark(F.sim), NULL);
	snprintf(path, sizeof(path), "%s/milan/ask.pem", cache);
	write_pem(path, snp_sim_ask(F.sim), NULL);
	snprintf(extra, sizeof(extra), "cert_cache = %s\n", cache);
	bfx_start(&F, extra, NULL);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  F.key, sizeof(F.key), detail, sizeof(detail)),
			 200);
	bfx_stop(&F);
	/* Without the VCEK in the cache (and no KDS) nothing verifies. */
	snprintf(path, sizeof(path), "%s/%s", cache, rel);
	assert_int_equal(unlink(path), 0);
	bfx_start(&F, extra, NULL);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  NULL, 0, detail, sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "\"CHAIN_INCOMPLETE:"));
	bfx_stop(&F);
}

/* A stand-in for AMD's KDS on 127.0.0.1 (plain HTTP, which kds_url allows
 * only for the loopback address). */
static atomic_int kds_hits;
static char kds_vcek_path[600];

static void kds_handler(struct http_req *req, void *ud)
{
	const char *path = http_req_path(req), *q = http_req_query(req);
	char full[800];
	unsigned char *der = NULL;
	int n;

	(void)ud;
	atomic_fetch_add(&kds_hits, 1);
	snprintf(full, sizeof(full), "%s%s%s", path, q ? "?" : "", q ? q : "");
	if (strcmp(full, kds_vcek_path) == 0) {
		n = i2d_X509(snp_sim_vcek(F.sim), &der);
		http_reply(req, 200, "application/octet-stream", der, (size_t)n);
		OPENSSL_free(der);
	} else if (strcmp(full, "/vcek/v1/Milan/cert_chain") == 0) {
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long l;

		PEM_write_bio_X509(b, snp_sim_ask(F.sim));
		PEM_write_bio_X509(b, snp_sim_ark(F.sim));
		l = BIO_get_mem_data(b, &data);
		http_reply(req, 200, "application/x-pem-file", data, (size_t)l);
		BIO_free(b);
	} else {
		http_reply(req, 404, "text/plain", "no", 2);
	}
}

static void test_kds_fetch(void **state)
{
	static const struct http_route kds_routes[] = {
		{ "kds", HTTP_GET, "/vcek/", kds_handler },
	};
	static char host[] = "127.0.0.1";
	struct broker_config kc = { .listen_host = host, .workers = 1, .max_connections = 16,
				    .max_body = 1024, .max_header = 4096, .request_timeout = 5 };
	struct broker_http *kds = NULL;
	struct ccu_reason why = { 0 };
	struct snp_report r;
	char cache[600], extra[900], path[1200], rel[400], detail[1024];
	struct stat st;

	(void)state;
	assert_int_equal(broker_http_start(&kc, NULL, kds_routes, 1, NULL, NULL, &kds, &why), 0);
	snp_sim_report_template(F.sim, 5, NULL, &r);
	assert_true(broker_vcek_kds_path(&r, SNP_PRODUCT_MILAN, kds_vcek_path,
					 sizeof(kds_vcek_path)) > 0);
	snprintf(cache, sizeof(cache), "%s/kds-cache", F.dir);
	mkdirs(cache);
	snprintf(extra, sizeof(extra), "cert_cache = %s\nkds_fetch = yes\nkds_url = http://127.0.0.1:%u\n",
		 cache, broker_http_port(kds));
	bfx_start(&F, extra, NULL);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  F.key, sizeof(F.key), detail, sizeof(detail)),
			 200);
	assert_int_equal(atomic_load(&kds_hits), 2); /* the VCEK, then ASK + ARK */
	/* Everything fetched is in the cache now: the next boot asks nobody. */
	assert_true(broker_vcek_cache_name(&r, SNP_PRODUCT_MILAN, rel, sizeof(rel)) > 0);
	snprintf(path, sizeof(path), "%s/%s", cache, rel);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/milan/ark.pem", cache);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/milan/ask.pem", cache);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  F.key, sizeof(F.key), detail, sizeof(detail)),
			 200);
	assert_int_equal(atomic_load(&kds_hits), 2);
	bfx_stop(&F);
	broker_http_stop(kds);
	broker_http_free(kds);
}

static void test_vcek_names(void **state)
{
	struct snp_report r;
	char buf[400];

	(void)state;
	memset(&r, 0, sizeof(r));
	pm_set_tcb(r.reported_tcb, SNP_PRODUCT_MILAN, 0, 4, 0, 24, 219);
	memset(r.chip_id, 0xab, 64);
	assert_true(broker_vcek_cache_name(&r, SNP_PRODUCT_MILAN, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "milan/vcek/"
				 "abababababababababababababababababababababababababababababababab"
				 "abababababababababababababababababababababababababababababababab/"
				 "4-0-24-219.der");
	assert_true(broker_vcek_kds_path(&r, SNP_PRODUCT_GENOA, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "/vcek/v1/Genoa/abab"));
	assert_non_null(strstr(buf, "?blSPL=4&teeSPL=0&snpSPL=24&ucodeSPL=219"));
	pm_set_tcb(r.reported_tcb, SNP_PRODUCT_TURIN, 1, 2, 3, 4, 5);
	assert_true(broker_vcek_cache_name(&r, SNP_PRODUCT_TURIN, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "turin/vcek/abababababababab/2-3-4-5-1.der");
	assert_true(broker_vcek_kds_path(&r, SNP_PRODUCT_TURIN, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "/vcek/v1/Turin/abababababababab?fmcSPL=1&blSPL=2&teeSPL=3&snpSPL=4"
				 "&ucodeSPL=5");
	/* A masked CHIP_ID names no VCEK. */
	memset(r.chip_id, 0, 64);
	assert_int_equal(broker_vcek_cache_name(&r, SNP_PRODUCT_TURIN, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcek_names),
		cmocka_unit_test(test_policy_matrix_flow),
		cmocka_unit_test(test_cert_cache),
		cmocka_unit_test(test_kds_fetch),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
