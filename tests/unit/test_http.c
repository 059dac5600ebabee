/* The broker's HTTP front: routing, limits, TLS, cookie parsing. */
#include "helpers/testutil.h"
#include "helpers/tlsgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "broker/http.h"
#include "common/log.h"
#include "common/secmem.h"

static void h_hello(struct http_req *r, void *ud)
{
	(void)ud;
	http_reply(r, 200, "text/plain", "hello", 5);
}

static void h_echo(struct http_req *r, void *ud)
{
	size_t n;
	const uint8_t *b = http_req_body(r, &n);
	char cookie[64];
	const char *c = http_req_cookie(r, "kbs-session-id", cookie, sizeof(cookie));
	(void)ud;
	if (c)
		http_add_header(r, "X-Cookie", c);
	http_add_header(r, "X-Rest", http_req_route_rest(r));
	http_reply(r, 200, "application/octet-stream", b, n);
}

/* A secret-carrying body: copied into secmem (its size says so: a page). */
static void h_secret(struct http_req *r, void *ud)
{
	size_t n;
	const uint8_t *b = http_req_body_secret(r, &n);
	char sz[32];
	(void)ud;
	if (!b) {
		http_reply(r, 500, "text/plain", "no body", 7);
		return;
	}
	snprintf(sz, sizeof(sz), "%zu", secmem_size(b));
	http_add_header(r, "X-Secmem", sz);
	http_reply(r, 200, "application/octet-stream", b, n);
}

static const struct http_route routes[] = {
	{ "hello", HTTP_GET, "/hello", h_hello },
	{ "echo", HTTP_POST | HTTP_GET, "/echo/", h_echo },
	{ "secret", HTTP_PUT, "/secret", h_secret },
};

struct fx {
	char *dir;
	struct broker_config cfg;
	struct broker_http *h;
	SSL_CTX *tls;
	char base[64];
	unsigned request_timeout; /* seconds; setup: IDLE_TIMEOUT_S */
};

/* The idle timeout the timeout test waits for, and the one the limit test
 * uses so that its idle connections cannot time out while it runs, however
 * slow the host: the limit test closes them itself. */
#define IDLE_TIMEOUT_S 2
#define LIMIT_TEST_TIMEOUT_S 120
/* How long the timeout test's client waits for the server to drop it. */
#define IDLE_WAIT_S 60

static void start(struct fx *f, bool tls, unsigned max_conn)
{
	struct ccu_reason why = { 0 };
	memset(&f->cfg, 0, sizeof(f->cfg));
	static char host[] = "127.0.0.1";

	f->cfg.listen_host = host;
	f->cfg.workers = 2;
	f->cfg.max_connections = max_conn;
	f->cfg.max_body = 1024;
	f->cfg.max_header = 4096;
	f->cfg.request_timeout = f->request_timeout;
	if (tls) {
		char c[512], k[512];

		snprintf(c, sizeof(c), "%s/server.pem", f->dir);
		snprintf(k, sizeof(k), "%s/server.key", f->dir);
		assert_int_equal(broker_tls_context(c, k, &f->tls, &why), 0);
	}
	if (broker_http_start(&f->cfg, f->tls, routes, ARRAY_SIZE(routes), NULL, NULL, &f->h,
			      &why) < 0)
		fail_msg("%s: %s", why.code, why.detail);
	snprintf(f->base, sizeof(f->base), "%s://127.0.0.1:%u", tls ? "https" : "http",
		 broker_http_port(f->h));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	log_set_quiet(true);
	f->dir = tu_mkdtemp();
	tu_make_tls(f->dir);
	f->request_timeout = IDLE_TIMEOUT_S;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->h) {
		broker_http_stop(f->h);
		broker_http_free(f->h);
	}
	SSL_CTX_free(f->tls);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

struct resp {
	long status;
	char body[2048];
	size_t len;
	char hdrs[2048];
	size_t hlen;
};

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t l = s * n;

	if (r->len + l < sizeof(r->body)) {
		memcpy(r->body + r->len, p, l);
		r->len += l;
		r->body[r->len] = 0;
	}
	return l;
}

static size_t on_hdr(char *p, size_t s, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t l = s * n;

	if (r->hlen + l < sizeof(r->hdrs)) {
		memcpy(r->hdrs + r->hlen, p, l);
		r->hlen += l;
		r->hdrs[r->hlen] = 0;
	}
	return l;
}

static CURLcode req(struct fx *f, const char *method, const char *path, const char *body, size_t blen,
		    const char *cookie, long timeout_ms, struct resp *out)
{
	CURL *c = curl_easy_init();
	char url[256], ca[512];
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", f->base, path);
	snprintf(ca, sizeof(ca), "%s/ca.pem", f->dir);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	if (cookie)
		curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
	return rc;
}

static void test_routing_plain(void **state)
{
	struct fx *f = *state;
	struct resp r;

	start(f, false, 16);
	assert_int_equal(req(f, "GET", "/hello", NULL, 0, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(req(f, "GET", "/nope", NULL, 0, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "InvalidRequestPath"));
	assert_int_equal(req(f, "POST", "/hello", "x", 1, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 405);
	assert_int_equal(req(f, "GET", "/echo/", NULL, 0, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 404); /* a prefix route needs a rest */
	assert_int_equal(req(f, "POST", "/echo/a/b?x=1", "payload", 7, "a=b; kbs-session-id=abc123", 5000,
			     &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "payload");
	assert_non_null(strstr(r.hdrs, "X-Cookie: abc123"));
	assert_non_null(strstr(r.hdrs, "X-Rest: a/b"));
	/* The same cookie twice is ambiguous and ignored. */
	assert_int_equal(req(f, "POST", "/echo/a", "p", 1, "kbs-session-id=a; kbs-session-id=b", 5000, &r),
			 CURLE_OK);
	assert_null(strstr(r.hdrs, "X-Cookie"));
}

static void test_secret_body_in_secmem(void **state)
{
	struct fx *f = *state;
	struct resp r;
	const char *h;

	start(f, false, 16);
	assert_int_equal(req(f, "PUT", "/secret", "0123456789abcdef", 16, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 16);
	assert_memory_equal(r.body, "0123456789abcdef", 16);
	h = strstr(r.hdrs, "X-Secmem: ");
	assert_non_null(h);
	/* secmem's record of the buffer: the body and its NUL */
	assert_int_equal(strtoul(h + 10, NULL, 10), 17);
}

static void test_body_limit(void **state)
{
	struct fx *f = *state;
	struct resp r;
	char big[2048];

	start(f, false, 16);
	memset(big, 'a', sizeof(big));
	assert_int_equal(req(f, "POST", "/echo/x", big, 1024, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 1024);
	assert_int_equal(req(f, "POST", "/echo/x", big, 1025, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 413);
}

static void test_tls(void **state)
{
	struct fx *f = *state;
	struct resp r;

	start(f, true, 16);
	assert_int_equal(req(f, "GET", "/hello", NULL, 0, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(broker_http_connections(f->h) <= 1, 1);
}

static int idle_connect(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void wait_conns(struct fx *f, unsigned want)
{
	for (int i = 0; i < 1000 && broker_http_connections(f->h) != want; i++)
		usleep(20000);
	assert_int_equal(broker_http_connections(f->h), want);
}

static void test_connection_limit(void **state)
{
	struct fx *f = *state;
	struct resp r;
	int a, b;

	f->request_timeout = LIMIT_TEST_TIMEOUT_S;
	start(f, true, 2);
	a = idle_connect(broker_http_port(f->h));
	b = idle_connect(broker_http_port(f->h));
	wait_conns(f, 2);
	for (int i = 0; i < 1000 && broker_http_accepting(f->h); i++)
		usleep(10000);
	assert_false(broker_http_accepting(f->h));
	/* At the limit nobody else is accepted... */
	assert_int_not_equal(req(f, "GET", "/hello", NULL, 0, NULL, 700, &r), CURLE_OK);
	close(a);
	wait_conns(f, 1);
	/* ...until a slot frees up. */
	assert_int_equal(req(f, "GET", "/hello", NULL, 0, NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	close(b);
	wait_conns(f, 0);
}

static void test_idle_timeout(void **state)
{
	struct fx *f = *state;
	int a;

	struct timeval tv = { .tv_sec = IDLE_WAIT_S };
	char c[256];
	ssize_t n;

	start(f, true, 2);
	a = idle_connect(broker_http_port(f->h));
	/* An idle connection is dropped after request_timeout: the server
	 * closes it (perhaps after a TLS alert), so the client reads end of
	 * file or a reset well before IDLE_WAIT_S, never its own timeout. */
	assert_int_equal(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	while ((n = read(a, c, sizeof(c))) > 0)
		;
	if (n < 0)
		assert_int_equal(errno, ECONNRESET);
	wait_conns(f, 0);
	close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routing_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_body_in_secmem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
