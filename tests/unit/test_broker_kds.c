/*
 * The broker's KDS client against a loopback stand-in of AMD's key server
 * that answers from a script: 200, 404, 429 with Retry-After, 503, slow
 * answers. And the default configuration: a guest whose host gives no
 * certificates (GCP) verifies out of the box, the VCEK fetched once and
 * then served from the disk cache. No timing is asserted, only outcomes
 * and request counts.
 */
#include "helpers/brokerfx.h"
#include "helpers/testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "broker/certsrc.h"
#include "broker/http.h"
#include "broker/kds.h"

static struct bfx F;

struct step {
	int status;
	const char *retry_after; /* header value or NULL */
	unsigned delay;		 /* seconds before answering */
};

static const struct step *script;
static size_t script_len;
static atomic_int hits;
static char vcek_path[600];

static void reply_vcek(struct http_req *req)
{
	unsigned char *der = NULL;
	int n = i2d_X509(snp_sim_vcek(F.sim), &der);

	http_reply(req, 200, "application/octet-stream", der, (size_t)n);
	OPENSSL_free(der);
}

static void reply_chain(struct http_req *req)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long l;

	PEM_write_bio_X509(b, snp_sim_ask(F.sim));
	PEM_write_bio_X509(b, snp_sim_ark(F.sim));
	l = BIO_get_mem_data(b, &data);
	http_reply(req, 200, "application/x-pem-file", data, (size_t)l);
	BIO_free(b);
}

static void kds_handler(struct http_req *req, void *ud)
{
	const char *path = http_req_path(req), *q = http_req_query(req);
	int i = atomic_fetch_add(&hits, 1);
	const struct step *st = script_len ? &script[(size_t)i < script_len ? (size_t)i :
									     script_len - 1] :
					     NULL;
	char full[800];

	(void)ud;
	if (st && st->delay)
		sleep(st->delay);
	if (st && st->status != 200) {
		if (st->retry_after)
			http_add_header(req, "Retry-After", st->retry_after);
		http_reply(req, st->status, "text/plain", "no", 2);
		return;
	}
	snprintf(full, sizeof(full), "%s%s%s", path, q ? "?" : "", q ? q : "");
	if (strcmp(full, vcek_path) == 0)
		reply_vcek(req);
	else if (strcmp(full, "/vcek/v1/Milan/cert_chain") == 0)
		reply_chain(req);
	else
		http_reply(req, 404, "text/plain", "no", 2);
}

static struct broker_http *kds;
static char base[64];

static int group_setup(void **state)
{
	static const struct http_route routes[] = {
		{ "kds", HTTP_GET, "/vcek/", kds_handler },
	};
	static char host[] = "127.0.0.1";
	struct broker_config kc = { .listen_host = host, .workers = 2, .max_connections = 16,
				    .max_body = 1024, .max_header = 4096, .request_timeout = 10 };
	struct ccu_reason why = { 0 };
	struct snp_report r;

	(void)state;
	bfx_init(&F);
	if (broker_http_start(&kc, NULL, routes, 1, NULL, NULL, &kds, &why) < 0)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", broker_http_port(kds));
	snp_sim_report_template(F.sim, 5, NULL, &r);
	return broker_vcek_kds_path(&r, SNP_PRODUCT_MILAN, vcek_path, sizeof(vcek_path)) > 0 ? 0
											   : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	broker_http_stop(kds);
	broker_http_free(kds);
	bfx_done(&F);
	return 0;
}

static void play(const struct step *s, size_t n)
{
	script = s;
	script_len = n;
	atomic_store(&hits, 0);
}

static int get(unsigned timeout, struct broker_kds_stats *st, struct ccu_reason *why, size_t *len)
{
	uint8_t *b = NULL;
	int r;

	memset(why, 0, sizeof(*why));
	r = broker_kds_get(base, vcek_path, timeout, &b, len, st, why);
	free(b);
	return r;
}

static void test_ok(void **state)
{
	static const struct step s[] = { { 200, NULL, 0 } };
	struct broker_kds_stats st;
	struct ccu_reason why;
	size_t len = 0;
	(void)state;

	play(s, 1);
	assert_int_equal(get(5, &st, &why, &len), 0);
	assert_true(len > 100);
	assert_int_equal(st.requests, 1);
}

static void test_404_is_final(void **state)
{
	static const struct step s[] = { { 404, NULL, 0 }, { 200, NULL, 0 } };
	struct broker_kds_stats st;
	struct ccu_reason why;
	size_t len;
	(void)state;

	play(s, 2);
	assert_int_equal(get(5, &st, &why, &len), -ENOENT);
	assert_string_equal(why.code, "KDS_NOT_FOUND");
	assert_int_equal(st.requests, 1);
	assert_int_equal(atomic_load(&hits), 1);
}

static void test_429_retry_after(void **state)
{
	static const struct step s[] = { { 429, "1", 0 }, { 503, NULL, 0 }, { 200, NULL, 0 } };
	static const struct step limited[] = { { 429, "1", 0 } };
	static const struct step far[] = { { 429, "3600", 0 }, { 200, NULL, 0 } };
	static const struct step date[] = { { 429, "Wed, 21 Oct 2037 07:28:00 GMT", 0 } };
	struct broker_kds_stats st;
	struct ccu_reason why;
	size_t len;
	(void)state;

	/* a short wait is honoured, then the answer comes */
	play(s, 3);
	assert_int_equal(get(5, &st, &why, &len), 0);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.waited, 2);
	/* limited every time: bounded attempts, then refused */
	play(limited, 1);
	assert_int_equal(get(5, &st, &why, &len), -EAGAIN);
	assert_string_equal(why.code, "KDS_RATE_LIMITED");
	assert_int_equal(st.requests, BROKER_KDS_ATTEMPTS);
	/* a wait longer than we accept: refused at once */
	play(far, 2);
	assert_int_equal(get(5, &st, &why, &len), -EAGAIN);
	assert_string_equal(why.code, "KDS_RATE_LIMITED");
	assert_non_null(strstr(why.detail, "Retry-After 3600 s"));
	assert_int_equal(st.requests, 1);
	/* an HTTP date far ahead: the same */
	play(date, 1);
	assert_int_equal(get(5, &st, &why, &len), -EAGAIN);
	assert_string_equal(why.code, "KDS_RATE_LIMITED");
	assert_int_equal(st.requests, 1);
}

static void test_5xx_and_slow(void **state)
{
	static const struct step err[] = { { 500, NULL, 0 } };
	static const struct step slow[] = { { 200, NULL, 3 } };
	static const struct step bad[] = { { 400, NULL, 0 } };
	struct broker_kds_stats st;
	struct ccu_reason why;
	size_t len;
	(void)state;

	play(err, 1);
	assert_int_equal(get(5, &st, &why, &len), -EIO);
	assert_string_equal(why.code, "KDS_FETCH");
	assert_int_equal(st.requests, BROKER_KDS_ATTEMPTS);
	/* slower than the timeout: every attempt times out, the count is bounded */
	play(slow, 1);
	assert_int_equal(get(1, &st, &why, &len), -EIO);
	assert_string_equal(why.code, "KDS_FETCH");
	assert_true(st.requests >= 1 && st.requests <= BROKER_KDS_ATTEMPTS);
	/* another 4xx: not retried */
	play(bad, 1);
	assert_int_equal(get(5, &st, &why, &len), -EIO);
	assert_string_equal(why.code, "KDS_FETCH");
	assert_int_equal(st.requests, 1);
	/* nobody listening */
	memset(&why, 0, sizeof(why));
	{
		uint8_t *b = NULL;

		assert_int_equal(broker_kds_get("http://127.0.0.1:9", "/vcek/v1/Milan/x", 1, &b,
						&len, &st, &why),
				 -EIO);
		assert_string_equal(why.code, "KDS_FETCH");
		assert_null(b);
	}
}

/* The default configuration (no kds_fetch, no cert_cache lines) fetches a
 * missing VCEK and caches it next to the database. */
static void test_default_config(void **state)
{
	static const struct step s[] = { { 200, NULL, 0 } };
	char extra[200], path[1200], rel[400], detail[1024];
	struct snp_report r;
	struct stat st;
	(void)state;

	play(s, 1);
	/* (the word kds_fetch in the comment keeps the fixture from adding "no") */
	snprintf(extra, sizeof(extra), "# kds_fetch: the default\nkds_url = %s\n", base);
	bfx_start(&F, extra, NULL);
	assert_true(F.cfg.kds_fetch);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  F.key, sizeof(F.key), detail, sizeof(detail)),
			 200);
	assert_int_equal(atomic_load(&hits), 2); /* the VCEK, then ASK + ARK */
	snp_sim_report_template(F.sim, 5, NULL, &r);
	assert_true(broker_vcek_cache_name(&r, SNP_PRODUCT_MILAN, rel, sizeof(rel)) > 0);
	snprintf(path, sizeof(path), "%s/cert-cache/%s", F.dir, rel);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  F.key, sizeof(F.key), detail, sizeof(detail)),
			 200);
	assert_int_equal(atomic_load(&hits), 2); /* from the cache */
	bfx_stop(&F);
}

/* The key server refuses (404): the attestation is refused with a reason
 * that says AMD had nothing, and kds_fetch = no never asks. */
static void test_refusals(void **state)
{
	static const struct step s[] = { { 404, NULL, 0 } };
	static const struct step lim[] = { { 429, "600", 0 } };
	char extra[200], detail[1024];
	(void)state;

	play(s, 1);
	snprintf(extra, sizeof(extra), "kds_fetch = yes\nkds_url = %s\ncert_cache = %s/c404\n",
		 base, F.dir);
	bfx_start(&F, extra, NULL);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  NULL, 0, detail, sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "\"CHAIN_INCOMPLETE:"));
	assert_non_null(strstr(detail, "AMD's KDS has none"));
	bfx_stop(&F);
	play(lim, 1);
	snprintf(extra, sizeof(extra), "kds_fetch = yes\nkds_url = %s\ncert_cache = %s/c429\n",
		 base, F.dir);
	bfx_start(&F, extra, NULL);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  NULL, 0, detail, sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "\"KDS_RATE_LIMITED:"));
	bfx_stop(&F);
	play(s, 1);
	snprintf(extra, sizeof(extra), "kds_fetch = no\nkds_url = %s\n", base);
	bfx_start(&F, extra, NULL);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .no_chain = true }, NULL, false,
				  NULL, 0, detail, sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "kds_fetch = no"));
	assert_int_equal(atomic_load(&hits), 0);
	bfx_stop(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_404_is_final),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_5xx_and_slow),
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
