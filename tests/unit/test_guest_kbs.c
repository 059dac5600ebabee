/*
 * The guest's KBS client against an in-process mock broker (the project's
 * HTTPS front with handlers built from the kbs_* message code): the RCAR
 * flow and its REPORT_DATA binding, one re-attestation on 401, the broker's
 * detail in refusals, retries and the deadline, TLS trust, redirects and
 * body bounds.
 */
#include "helpers/testutil.h"
#include "helpers/tlsgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/http.h"
#include "common/secmem.h"
#include "common/util.h"
#include "guest/kbs_client.h"
#include "kbs/jwe.h"
#include "kbs/jwk.h"
#include "kbs/msg.h"
#include "kbs/preimage.h"
#include "snp/evidence.h"
#include "snp/sim.h"

enum mode {
	M_OK = 0,
	M_RES_401_ONCE,
	M_ATTEST_401,
	M_AUTH_500,
	M_AUTH_302,
	M_RES_404,
	M_AUTH_BIG,
	M_NO_COOKIE,
	M_BAD_JWE,
	M_RES_POLICY_DENY,
};

struct mock {
	pthread_mutex_t mu;
	enum mode mode;
	char nonce[KBS_NONCE_LEN + 1];
	char cookie[33];
	struct kbs_jwk jwk;
	bool attested;
	int auth_calls, attest_calls, res_calls, res_401_sent;
	char last_path[256];
	char init_seen[256]; /* the init-data body of the last /attest */
};

static struct mock mk = { .mu = PTHREAD_MUTEX_INITIALIZER };
static struct snp_sim *sim;
static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
static struct ccu_reason rsn;

static void reply_error(struct http_req *r, int status, const char *variant, const char *detail)
{
	char *body = NULL;

	kbs_error_build(variant, detail, &body, NULL);
	http_reply(r, status, NULL, body, strlen(body));
	free(body);
}

static void h_auth(struct http_req *r, void *ud)
{
	char *body = NULL, hdr[128];
	(void)ud;

	pthread_mutex_lock(&mk.mu);
	mk.auth_calls++;
	if (mk.mode == M_AUTH_500) {
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 500, "PluginInternalError", "INTERNAL: store down");
		return;
	}
	if (mk.mode == M_AUTH_302) {
		pthread_mutex_unlock(&mk.mu);
		http_add_header(r, "Location", "https://127.0.0.2/kbs/v0/auth");
		http_reply(r, 302, NULL, "", 0);
		return;
	}
	if (mk.mode == M_AUTH_BIG) {
		pthread_mutex_unlock(&mk.mu);
		char *big = calloc(1, 2 * KBS_CHALLENGE_MAX);
		memset(big, ' ', 2 * KBS_CHALLENGE_MAX - 1);
		http_reply(r, 200, "application/json", big, 2 * KBS_CHALLENGE_MAX - 1);
		free(big);
		return;
	}
	kbs_nonce_generate(mk.nonce);
	snprintf(mk.cookie, sizeof(mk.cookie), "%08x%08x%08x%08x", rand(), rand(), rand(), rand());
	mk.attested = false;
	kbs_challenge_build(mk.nonce, 0, &body, NULL);
	snprintf(hdr, sizeof(hdr), "kbs-session-id=%s; Expires=Wed, 01 Jan 2099 00:00:00 GMT",
		 mk.cookie);
	bool cookie = mk.mode != M_NO_COOKIE;
	pthread_mutex_unlock(&mk.mu);
	if (cookie)
		http_add_header(r, "Set-Cookie", hdr);
	http_reply(r, 200, "application/json", body, strlen(body));
	free(body);
}

static bool cookie_ok(struct http_req *r)
{
	char buf[64];
	const char *c = http_req_cookie(r, "kbs-session-id", buf, sizeof(buf));

	return c && strcmp(c, mk.cookie) == 0;
}

static void h_attest(struct http_req *r, void *ud)
{
	struct kbs_attestation a;
	struct snp_evidence ev;
	uint8_t want[64];
	size_t len;
	const uint8_t *body = http_req_body(r, &len);
	char *tok = NULL;
	(void)ud;

	pthread_mutex_lock(&mk.mu);
	mk.attest_calls++;
	if (!cookie_ok(r)) {
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 401, "AttestationError", "SESSION: no session");
		return;
	}
	if (mk.mode == M_ATTEST_401) {
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 401, "AttestationError",
			    "POLICY_MEASUREMENT: measurement abcd is not allowed for disks/luks/root");
		return;
	}
	assert_int_equal(kbs_attestation_parse((const char *)body, len, &a, NULL), 0);
	assert_string_equal(a.nonce, mk.nonce);
	assert_int_equal(snp_evidence_parse_jf(a.doc, a.primary_evidence, &ev, NULL), 0);
	assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, a.nonce, &a.tee_pubkey,
						a.additional_evidence, want, NULL),
			 0);
	/* The binding: REPORT_DATA = SHA-384(JCS preimage) || 16 zero bytes. */
	assert_memory_equal(ev.raw + SNP_OFF_REPORT_DATA, want, 64);
	assert_true(ev.had_raw_member);
	assert_non_null(ev.certs);
	snp_evidence_done(&ev);
	snprintf(mk.init_seen, sizeof(mk.init_seen), "%s",
		 a.init_data_body ? a.init_data_body : "(null)");
	mk.jwk = a.tee_pubkey;
	mk.attested = true;
	kbs_attestation_done(&a);
	pthread_mutex_unlock(&mk.mu);
	kbs_token_response_build("eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln", &tok, NULL);
	http_reply(r, 200, "application/json", tok, strlen(tok));
	free(tok);
}

static void h_resource(struct http_req *r, void *ud)
{
	EVP_PKEY *pub = NULL;
	char *jwe = NULL;
	size_t len;
	(void)ud;

	pthread_mutex_lock(&mk.mu);
	mk.res_calls++;
	snprintf(mk.last_path, sizeof(mk.last_path), "%s", http_req_path(r));
	if (mk.mode == M_RES_401_ONCE && mk.res_401_sent == 0) {
		mk.res_401_sent++;
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 401, "TokenNotFound", "SESSION_EXPIRED: session expired");
		return;
	}
	if (mk.mode == M_RES_404) {
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 404, "InvalidRequestPath", "NOT_FOUND: no such resource");
		return;
	}
	if (mk.mode == M_RES_POLICY_DENY) {
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 401, "PolicyDeny", "POLICY_MEASUREMENT: measurement abcd is not allowed");
		return;
	}
	if (!cookie_ok(r) || !mk.attested) {
		pthread_mutex_unlock(&mk.mu);
		reply_error(r, 401, "TokenNotFound", "SESSION: not attested");
		return;
	}
	assert_int_equal(kbs_jwk_to_pkey(&mk.jwk, &pub, NULL), 0);
	assert_int_equal(kbs_jwe_encrypt(pub, secret, sizeof(secret), &jwe, &len, NULL), 0);
	if (mk.mode == M_BAD_JWE)
		jwe[strlen(jwe) - 6] = jwe[strlen(jwe) - 6] == 'A' ? 'B' : 'A'; /* the tag */
	pthread_mutex_unlock(&mk.mu);
	EVP_PKEY_free(pub);
	http_reply(r, 200, "application/json", jwe, len);
	free(jwe);
}

static const struct http_route routes[] = {
	{ "auth", HTTP_POST, "/kbs/v0/auth", h_auth },
	{ "attest", HTTP_POST, "/kbs/v0/attest", h_attest },
	{ "resource", HTTP_GET, "/kbs/v0/resource/", h_resource },
};

struct fx {
	char *dir;
	struct broker_config cfg;
	struct broker_http *h;
	SSL_CTX *tls;
	char url[64], ca[512];
};

static int evidence(void *ud, const uint8_t rd[64], json_t **ret, struct ccu_reason *err)
{
	struct snp_report r;
	STACK_OF(X509) *certs = sk_X509_new_null();
	(void)ud;

	snp_sim_report_template(sim, 5, rd, &r);
	if (snp_sim_sign(sim, &r, err) < 0)
		return -EIO;
	X509_up_ref(snp_sim_vcek(sim));
	sk_X509_push(certs, snp_sim_vcek(sim));
	*ret = snp_evidence_build(r.raw, certs);
	sk_X509_pop_free(certs, X509_free);
	return *ret ? 0 : -ENOMEM;
}

static int group_setup(void **state)
{
	struct snp_sim_params p;
	(void)state;

	snp_sim_default_params(&p);
	return snp_sim_create(&p, &sim, TU_FRESH(&rsn));
}

static int group_teardown(void **state)
{
	(void)state;
	snp_sim_free(sim);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static char host[] = "127.0.0.1";
	char c[600], k[600];

	f->dir = tu_mkdtemp();
	tu_make_tls(f->dir);
	snprintf(c, sizeof(c), "%s/server.pem", f->dir);
	snprintf(k, sizeof(k), "%s/server.key", f->dir);
	snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
	if (broker_tls_context(c, k, &f->tls, TU_FRESH(&rsn)) < 0)
		return -1;
	f->cfg.listen_host = host;
	f->cfg.workers = 1;
	f->cfg.max_connections = 16;
	f->cfg.max_body = 256 * 1024;
	f->cfg.max_header = 16 * 1024;
	f->cfg.request_timeout = 5;
	if (broker_http_start(&f->cfg, f->tls, routes, ARRAY_SIZE(routes), NULL, NULL, &f->h,
			      TU_FRESH(&rsn)) < 0)
		return -1;
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", broker_http_port(f->h));
	pthread_mutex_lock(&mk.mu);
	mk.mode = M_OK;
	mk.auth_calls = mk.attest_calls = mk.res_calls = mk.res_401_sent = 0;
	pthread_mutex_unlock(&mk.mu);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* Let the server finish connections the client dropped (a refused TLS
	 * handshake) before it stops: bounded, no timing assertion. */
	for (int i = 0; i < 200 && broker_http_connections(f->h) > 0; i++)
		usleep(10000);
	broker_http_stop(f->h);
	broker_http_free(f->h);
	SSL_CTX_free(f->tls);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* The backoff waits, recorded instead of slept when fake_sleep is set. */
static struct {
	bool on;
	unsigned n;
	uint64_t ms[GUEST_KBS_MAX_ATTEMPTS];
} fake_sleep;

static void fake_sleep_ms(uint64_t ms, void *ud)
{
	(void)ud;
	if (fake_sleep.n < GUEST_KBS_MAX_ATTEMPTS)
		fake_sleep.ms[fake_sleep.n] = ms;
	fake_sleep.n++;
}

static const char *fetch_init_data; /* sent when set */

static int fetch(const char *url, const char *ca, unsigned deadline_ms, uint8_t **key,
		 size_t *len, unsigned *attempts)
{
	struct kbs_resource_path p;
	struct guest_kbs k = { .url = url, .ca_file = ca,
			       .deadline_ms = ccu_now_ms() + deadline_ms, .evidence = evidence,
			       .attempts = attempts, .init_data = fetch_init_data,
			       .sleep_ms = fake_sleep.on ? fake_sleep_ms : NULL };

	assert_int_equal(kbs_resource_path_parse("disks/luks/root", 15, &p, NULL), 0);
	memset(&rsn, 0, sizeof(rsn));
	return guest_kbs_fetch(&k, &p, key, len, TU_FRESH(&rsn));
}

static void set_mode(enum mode m)
{
	pthread_mutex_lock(&mk.mu);
	mk.mode = m;
	pthread_mutex_unlock(&mk.mu);
}

static void test_rcar_ok(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	unsigned attempts = 0;

	if (fetch(f->url, f->ca, 30000, &key, &len, &attempts) < 0)
		fail_msg("%s: %s", rsn.code, rsn.detail);
	assert_int_equal(len, sizeof(secret));
	assert_memory_equal(key, secret, len);
	assert_int_equal(secmem_size(key) >= len, 1); /* a locked buffer */
	secmem_free(key);
	assert_int_equal(attempts, 1);
	assert_int_equal(mk.auth_calls, 1);
	assert_int_equal(mk.attest_calls, 1);
	assert_string_equal(mk.last_path, "/kbs/v0/resource/disks/luks/root");
}

/* A configured init-data document goes into the Attestation verbatim. */
static void test_init_data_sent(void **state)
{
	static const char doc[] = "algorithm = \"sha256\"\nversion = \"0.1.0\"\n[data]\n"
				  "\"aa.toml\" = '''\nurl = \"x\"\n'''\n";
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), 0);
	secmem_free(key);
	assert_string_equal(mk.init_seen, "(null)");
	fetch_init_data = doc;
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), 0);
	fetch_init_data = NULL;
	secmem_free(key);
	assert_string_equal(mk.init_seen, doc);
}

static void test_reattest_once_on_401(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_RES_401_ONCE);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), 0);
	assert_memory_equal(key, secret, len);
	secmem_free(key);
	assert_int_equal(mk.auth_calls, 2);
	assert_int_equal(mk.res_calls, 2);
}

static void test_denied_with_detail(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_ATTEST_401);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), -EACCES);
	assert_null(key);
	assert_string_equal(rsn.code, "BROKER_DENIED");
	assert_non_null(strstr(rsn.detail, "POLICY_MEASUREMENT: measurement abcd is not allowed"));
	/* Re-attested exactly once. */
	assert_int_equal(mk.attest_calls, 2);
}

/* The resource policy judged verified evidence: the same report would be
 * judged the same, so a PolicyDeny is final (no second attestation). */
static void test_policy_deny_is_final(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_RES_POLICY_DENY);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), -EACCES);
	assert_null(key);
	assert_string_equal(rsn.code, "BROKER_DENIED");
	assert_non_null(strstr(rsn.detail, "PolicyDeny: POLICY_MEASUREMENT"));
	assert_int_equal(mk.attest_calls, 1);
	assert_int_equal(mk.res_calls, 1);
}

static void test_not_found(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_RES_404);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), -EACCES);
	assert_string_equal(rsn.code, "BROKER_NOT_FOUND");
	assert_int_equal(mk.res_calls, 1);
}

static void test_5xx_retried_until_deadline(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	unsigned attempts = 0;

	set_mode(M_AUTH_500);
	/* The backoff waits are recorded, not slept: the attempts within the
	 * deadline do not depend on how fast this host runs them (500 + 1000 +
	 * 2000 + 4000 ms of backoff fit, the next 8000 ms never does). */
	memset(&fake_sleep, 0, sizeof(fake_sleep));
	fake_sleep.on = true;
	assert_int_equal(fetch(f->url, f->ca, 6000, &key, &len, &attempts), -EIO);
	fake_sleep.on = false;
	assert_string_equal(rsn.code, "BROKER_UNAVAILABLE");
	assert_non_null(strstr(rsn.detail, "deadline"));
	assert_true(attempts >= 2 && attempts <= GUEST_KBS_MAX_ATTEMPTS);
	assert_int_equal(mk.auth_calls, (int)attempts);
}

static void test_redirect_refused(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_AUTH_302);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), -EPROTO);
	assert_string_equal(rsn.code, "BROKER_PROTOCOL");
	assert_int_equal(mk.auth_calls, 1);
}

static void test_body_bound(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_AUTH_BIG);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), -EPROTO);
	assert_string_equal(rsn.code, "BROKER_PROTOCOL");
	set_mode(M_NO_COOKIE);
	assert_int_equal(fetch(f->url, f->ca, 30000, &key, &len, NULL), -EPROTO);
	assert_string_equal(rsn.code, "BROKER_PROTOCOL");
}

static void test_tampered_jwe(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;

	set_mode(M_BAD_JWE);
	assert_true(fetch(f->url, f->ca, 30000, &key, &len, NULL) < 0);
	assert_null(key);
	assert_string_equal(rsn.code, "KBS_JWE_DECRYPT");
}

static void test_other_ca_refused(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	char *other = tu_mkdtemp(), ca[600];

	tu_make_tls(other);
	snprintf(ca, sizeof(ca), "%s/ca.pem", other);
	/* A generous deadline (a TLS refusal is final; any backoff is recorded,
	 * not slept): the verdict must not depend on the handshake's speed. */
	memset(&fake_sleep, 0, sizeof(fake_sleep));
	fake_sleep.on = true;
	int r = fetch(f->url, ca, 30000, &key, &len, NULL);
	fake_sleep.on = false;
	if (r != -EPROTO || strcmp(rsn.code, "BROKER_TLS") != 0)
		fail_msg("%d %s: %s", r, rsn.code, rsn.detail);
	/* The other CA has this CA's name, so the chain fails on the signature. That
	 * is a refusal, said as one, and final: no retry against an impostor. */
	assert_non_null(strstr(rsn.detail, "not trusted by broker_ca: certificate signature failure"));
	assert_int_equal(fake_sleep.n, 0);
	assert_int_equal(mk.auth_calls, 0);
	/* The system trust store is not used either: a CA file without this CA fails. */
	assert_int_equal(fetch(f->url, "/nonexistent/ca.pem", 30000, &key, &len, NULL), -ENOENT);
	assert_string_equal(rsn.code, "CONFIG_CA");
	tu_rmrf(other);
	free(other);
}

/* A listener that accepts and never answers. */
static int silent_listener(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static void test_slow_broker_deadline(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	unsigned port;
	char url[64];
	int s = silent_listener(&port);
	uint64_t t0 = ccu_now_ms();

	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	assert_int_equal(fetch(url, f->ca, 1500, &key, &len, NULL), -ETIMEDOUT);
	assert_string_equal(rsn.code, "BROKER_TIMEOUT");
	/* Bounded by the deadline (generous margin: no timing assertions beyond "it ended"). */
	assert_true(ccu_now_ms() - t0 < 15000);
	close(s);
}

static void test_broker_down(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	unsigned port, attempts = 0;
	char url[64];
	int s = silent_listener(&port);

	close(s); /* nothing listens there now */
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	/* the waits are recorded, not slept: exponential from the first, capped */
	memset(&fake_sleep, 0, sizeof(fake_sleep));
	fake_sleep.on = true;
	assert_int_equal(fetch(url, f->ca, 60000, &key, &len, &attempts), -ECONNREFUSED);
	fake_sleep.on = false;
	assert_string_equal(rsn.code, "BROKER_UNREACHABLE");
	assert_int_equal(attempts, GUEST_KBS_MAX_ATTEMPTS);
	assert_int_equal(fake_sleep.n, GUEST_KBS_MAX_ATTEMPTS - 1);
	for (unsigned i = 0; i < fake_sleep.n; i++) {
		uint64_t want = (uint64_t)GUEST_KBS_BACKOFF_FIRST_MS << i;
		if (want > GUEST_KBS_BACKOFF_MAX_MS)
			want = GUEST_KBS_BACKOFF_MAX_MS;
		assert_int_equal(fake_sleep.ms[i], want);
	}
}

static int fetch_many(const char *url, const char *const *more, size_t n_more, const char *ca,
		      unsigned deadline_ms, uint8_t **key, size_t *len, unsigned *attempts)
{
	struct kbs_resource_path p;
	struct guest_kbs k = { .url = url, .more_urls = more, .n_more_urls = n_more, .ca_file = ca,
			       .deadline_ms = ccu_now_ms() + deadline_ms, .evidence = evidence,
			       .attempts = attempts };

	assert_int_equal(kbs_resource_path_parse("disks/luks/root", 15, &p, NULL), 0);
	memset(&rsn, 0, sizeof(rsn));
	return guest_kbs_fetch(&k, &p, key, len, &rsn);
}

/* The first broker is down: the second, same CA, releases at once. */
static void test_next_broker_after_failure(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	unsigned port, attempts = 0;
	char down[64];
	int s = silent_listener(&port);
	const char *more[1] = { f->url };

	close(s);
	snprintf(down, sizeof(down), "https://127.0.0.1:%u", port);
	if (fetch_many(down, more, 1, f->ca, 30000, &key, &len, &attempts) < 0)
		fail_msg("%s: %s", rsn.code, rsn.detail);
	assert_int_equal(len, sizeof(secret));
	assert_memory_equal(key, secret, len);
	secmem_free(key);
	assert_int_equal(attempts, 2);
}

/* Every broker down: the reason line names each one tried. */
static void test_all_brokers_down_named(void **state)
{
	struct fx *f = *state;
	uint8_t *key = NULL;
	size_t len;
	unsigned p1, p2;
	char u1[64], u2[64];
	int s1 = silent_listener(&p1), s2 = silent_listener(&p2);
	const char *more[1] = { u2 };

	close(s1);
	close(s2);
	snprintf(u1, sizeof(u1), "https://127.0.0.1:%u", p1);
	snprintf(u2, sizeof(u2), "https://127.0.0.1:%u", p2);
	assert_int_equal(fetch_many(u1, more, 1, f->ca, 60000, &key, &len, NULL), -ECONNREFUSED);
	assert_string_equal(rsn.code, "BROKER_UNREACHABLE");
	assert_non_null(strstr(rsn.detail, "brokers tried: "));
	assert_non_null(strstr(rsn.detail, u1));
	assert_non_null(strstr(rsn.detail, u2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rcar_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_data_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reattest_once_on_401, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_deny_is_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_with_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_5xx_retried_until_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_jwe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_ca_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_broker_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_broker_after_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_brokers_down_named, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
