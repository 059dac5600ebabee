#include "guest/kbs_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/log.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "common/util.h"
#include "kbs/jwe.h"
#include "kbs/jwk.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"
#include "kbs/preimage.h"
#include "guest/config.h"
#include "guest/resolve.h"

DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)

/* How a failed step may be handled by the caller's loop. */
enum step_class {
	STEP_FATAL = 0,
	STEP_TRANSIENT,    /* retry after backoff */
	STEP_UNAUTHORIZED, /* 401: re-attest once */
};

struct http_resp {
	long status;
	char *body;
	size_t len, max;
	bool overflow;
	size_t header_bytes;
	bool header_overflow;
	char cookie[GUEST_KBS_COOKIE_MAX + 1];
};

struct http_req {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* after the base URL */
	const void *body;
	size_t body_len;
	const char *content_type;
	const char *cookie; /* kbs-session-id value or NULL */
	const char *bearer; /* admin token or NULL */
	size_t max_body;
	uint64_t deadline_ms;
	enum step_class *cls;
};

struct conn {
	CURL *h;
	const char *url;
	char *ca;
	size_t ca_len;
	int verify_err; /* first X509_V_ERR_* of the last handshake, 0 if none */
};

static void resp_done(struct http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb;

	if (n > r->max - r->len) {
		r->overflow = true;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	char *nb = realloc(r->body, r->len + n + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Keep the kbs-session-id value of a Set-Cookie header (the last one wins). */
static void take_cookie(struct http_resp *r, const char *line, size_t n)
{
	static const char hdr[] = "set-cookie:";
	static const char name[] = KBS_COOKIE_NAME "=";
	size_t i = sizeof(hdr) - 1, v;

	if (n < i || strncasecmp(line, hdr, i) != 0)
		return;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (n - i < sizeof(name) - 1 || memcmp(line + i, name, sizeof(name) - 1) != 0)
		return;
	i += sizeof(name) - 1;
	for (v = 0; i + v < n && v < GUEST_KBS_COOKIE_MAX; v++) {
		char ch = line[i + v];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
		if (!ok)
			break;
	}
	if (v == 0 || v == GUEST_KBS_COOKIE_MAX)
		return;
	memcpy(r->cookie, line + i, v);
	r->cookie[v] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb;

	r->header_bytes += n;
	if (r->header_bytes > GUEST_KBS_HEADER_MAX) {
		r->header_overflow = true;
		return 0;
	}
	take_cookie(r, ptr, n);
	return n;
}

static int conn_open(struct conn *c, const char *url, const char *ca_file, struct ccu_reason *err)
{
	uint8_t *ca = NULL;
	size_t len;
	int r;

	memset(c, 0, sizeof(*c));
	r = guest_resolver_init();
	if (r < 0)
		return ccu_fail(err, r, "INTERNAL", "cannot configure host name resolution: %s",
				strerror(-r));
	r = ccu_read_file(ca_file, GUEST_KBS_CA_MAX, &ca, &len);
	if (r < 0)
		return ccu_fail(err, r, "CONFIG_CA", "broker_ca %s: %s", ca_file, strerror(-r));
	c->ca = (char *)ca;
	c->ca_len = len;
	c->url = url;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->h = curl_easy_init())) {
		free(c->ca);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot initialise libcurl");
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->h)
		curl_easy_cleanup(c->h);
	free(c->ca);
	memset(c, 0, sizeof(*c));
}

/*
 * Why the broker's certificate was refused, in OpenSSL's words. libcurl reports
 * the oldest error on OpenSSL's queue: when a certificate names our CA but was
 * signed by another key (an impostor copying the CA's name), that is an ASN.1
 * "EVP lib" error pushed by the signature check, and libcurl then calls it a
 * generic connect error without a verify result. So the chain's verdict is
 * noted here, in a verify callback that does not change it.
 */
static CRYPTO_ONCE conn_idx_once = CRYPTO_ONCE_STATIC_INIT;
static int conn_idx = -1;

static void conn_idx_init(void)
{
	conn_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int verify_note(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), conn_idx) : NULL;

	if (!ok && c && c->verify_err == X509_V_OK)
		c->verify_err = X509_STORE_CTX_get_error(x);
	return ok;
}

static CURLcode on_ssl_ctx(CURL *h, void *ssl_ctx, void *ud)
{
	SSL_CTX *ctx = ssl_ctx;

	(void)h;
	if (!CRYPTO_THREAD_run_once(&conn_idx_once, conn_idx_init) || conn_idx < 0 ||
	    !SSL_CTX_set_ex_data(ctx, conn_idx, ud))
		return CURLE_SSL_CONNECT_ERROR;
	/* libcurl set the mode (peer verification on) and no callback of its own */
	if (!SSL_CTX_get_verify_callback(ctx))
		SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_note);
	return CURLE_OK;
}

/* Everything that makes the transport trustworthy, set on every request. */
static int set_transport(struct conn *c, const struct http_req *q, uint64_t left_ms)
{
	struct curl_blob ca = { .data = c->ca, .len = c->ca_len, .flags = CURL_BLOB_COPY };
	CURL *h = c->h;
	CURLcode e = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (e == CURLE_OK)                                                                 \
			e = curl_easy_setopt(h, opt, val);                                         \
	} while (0)
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_CAPATH, NULL);
	SET(CURLOPT_CAINFO, NULL);
	SET(CURLOPT_CAINFO_BLOB, &ca);
	SET(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	SET(CURLOPT_SSL_CTX_DATA, c);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long)left_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(left_ms < GUEST_KBS_CONNECT_TIMEOUT_MS ? left_ms : GUEST_KBS_CONNECT_TIMEOUT_MS));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)q->max_body);
	SET(CURLOPT_USERAGENT, "ccunlock");
#undef SET
	return e == CURLE_OK ? 0 : -EINVAL;
}

static int curl_fail(CURLcode e, long verify, bool by_deadline, const char *ebuf,
		     const struct http_req *q, const struct http_resp *resp, struct ccu_reason *err)
{
	const char *what = ebuf[0] ? ebuf : curl_easy_strerror(e);

	*q->cls = STEP_FATAL;
	/* OpenSSL may fail the handshake on an untrusted certificate as a connect error;
	 * libcurl's verify result is 1 ("not verified") until a verification ran. */
	if (verify > 1 && (e == CURLE_SSL_CONNECT_ERROR || e == CURLE_PEER_FAILED_VERIFICATION))
		return ccu_fail(err, -EPROTO, "BROKER_TLS",
				"%s %s: broker certificate not trusted by broker_ca: %s", q->method,
				q->path, X509_verify_cert_error_string(verify));
	switch (e) {
	case CURLE_OPERATION_TIMEDOUT:
		if (by_deadline)
			return ccu_fail(err, -ETIMEDOUT, "BROKER_TIMEOUT",
					"%s %s: no answer before the deadline", q->method, q->path);
		*q->cls = STEP_TRANSIENT;
		return ccu_fail(err, -ETIMEDOUT, "BROKER_UNREACHABLE", "%s %s: %s", q->method,
				q->path, what);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return ccu_fail(err, -EPROTO, "BROKER_TLS",
				"%s %s: broker certificate not trusted by broker_ca: %s", q->method,
				q->path, what);
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (resp->header_overflow)
			return ccu_fail(err, -EPROTO, "BROKER_PROTOCOL",
					"%s %s: response headers larger than %d bytes", q->method,
					q->path, GUEST_KBS_HEADER_MAX);
		return ccu_fail(err, -EPROTO, "BROKER_PROTOCOL",
				"%s %s: response body larger than %zu bytes", q->method, q->path,
				q->max_body);
	case CURLE_SSL_CONNECT_ERROR:
		/* A failed handshake: an interrupted connection or an impostor; retried
		 * within the deadline, reported as a TLS failure. */
		*q->cls = STEP_TRANSIENT;
		return ccu_fail(err, -EPROTO, "BROKER_TLS", "%s %s: TLS handshake failed: %s",
				q->method, q->path, what);
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
		return ccu_fail(err, -EPROTO, "BROKER_PROTOCOL", "%s %s: %s", q->method, q->path,
				what);
	default:
		*q->cls = STEP_TRANSIENT;
		return ccu_fail(err, -ECONNREFUSED, "BROKER_UNREACHABLE", "%s %s: %s", q->method,
				q->path, what);
	}
}

/*
 * Which of curl's two timers ended a timed-out request. The overall one is the
 * unlock's deadline; the connect one (TCP + TLS) is shorter and worth a retry.
 * Decided from the timers themselves, not by comparing "now" to the deadline:
 * curl's elapsed milliseconds round a negative microsecond part toward zero, so
 * its overall timer can end up to 1 ms before our clock reaches the deadline,
 * and that comparison would call the deadline a retryable connect timeout.
 */
static bool timed_out_by_deadline(struct conn *c, CURLcode e, uint64_t start_ms,
				  const struct http_req *q)
{
	curl_off_t app = 0;

	if (e != CURLE_OPERATION_TIMEDOUT)
		return false;
	if (q->deadline_ms - start_ms <= GUEST_KBS_CONNECT_TIMEOUT_MS)
		return true; /* both timers were the deadline */
	/* past the handshake only the overall timer runs */
	if (curl_easy_getinfo(c->h, CURLINFO_APPCONNECT_TIME_T, &app) == CURLE_OK && app > 0)
		return true;
	return ccu_now_ms() >= q->deadline_ms;
}

static int http_do(struct conn *c, const struct http_req *q, struct http_resp *resp,
		   struct ccu_reason *err)
{
	struct curl_slist *hdrs = NULL, *t;
	char url[GUEST_URL_MAX + 512], line[GUEST_KBS_COOKIE_MAX + 64];
	uint64_t now = ccu_now_ms();
	CURLcode e;
	int r = 0;
	size_t ulen = strlen(c->url);

	memset(resp, 0, sizeof(*resp));
	resp->max = q->max_body;
	*q->cls = STEP_FATAL;
	if (now >= q->deadline_ms)
		return ccu_fail(err, -ETIMEDOUT, "BROKER_TIMEOUT", "%s %s: deadline passed",
				q->method, q->path);
	/* broker_url may end with one '/'; paths start with one. */
	if (ulen && c->url[ulen - 1] == '/')
		ulen--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)ulen, c->url, q->path) >= sizeof(url))
		return ccu_fail(err, -ENAMETOOLONG, "BROKER_PROTOCOL", "URL too long");

	curl_easy_reset(c->h);
	c->verify_err = X509_V_OK;
	if (set_transport(c, q, q->deadline_ms - now) < 0)
		return ccu_fail(err, -EINVAL, "INTERNAL", "libcurl refused a transport option");
	/* "Expect: 100-continue" would stall every larger POST by a round trip. */
	const char *h1 = "Expect:";
	t = curl_slist_append(hdrs, h1);
	hdrs = t;
	if (hdrs && q->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", q->content_type);
		hdrs = (t = curl_slist_append(hdrs, line)) ? t : NULL;
	}
	if (hdrs)
		hdrs = (t = curl_slist_append(hdrs, "Accept: application/json")) ? t : NULL;
	if (hdrs && q->cookie) {
		snprintf(line, sizeof(line), "Cookie: " KBS_COOKIE_NAME "=%s", q->cookie);
		hdrs = (t = curl_slist_append(hdrs, line)) ? t : NULL;
	}
	if (hdrs && q->bearer) {
		size_t n = strlen(q->bearer) + 32;
		char *b = malloc(n);
		if (b) {
			snprintf(b, n, "Authorization: Bearer %s", q->bearer);
			t = curl_slist_append(hdrs, b);
			secmem_wipe(b, n);
			free(b);
		}
		hdrs = b ? t : NULL;
	}
	if (!hdrs)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	e = curl_easy_setopt(c->h, CURLOPT_URL, url);
	if (!e)
		e = curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
	if (!e)
		e = curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	if (!e)
		e = curl_easy_setopt(c->h, CURLOPT_WRITEDATA, resp);
	if (!e)
		e = curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	if (!e)
		e = curl_easy_setopt(c->h, CURLOPT_HEADERDATA, resp);
	if (!e && strcmp(q->method, "POST") == 0) {
		e = curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		if (!e)
			e = curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
	} else if (!e && strcmp(q->method, "DELETE") == 0) {
		e = curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	char ebuf[CURL_ERROR_SIZE] = "";
	if (!e)
		e = curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, ebuf);
	if (!e)
		e = curl_easy_perform(c->h);
	if (e != CURLE_OK) {
		long verify = 0;
		curl_easy_getinfo(c->h, CURLINFO_SSL_VERIFYRESULT, &verify);
		if (verify <= 1 && c->verify_err != X509_V_OK)
			verify = c->verify_err;
		r = curl_fail(e, verify, timed_out_by_deadline(c, e, now, q), ebuf, q, resp, err);
	} else {
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	/* The POST body may be a secret (admin upload): curl must not keep a pointer. */
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	if (r < 0)
		resp_done(resp);
	return r;
}

/* Any non-200: one reason with the broker's own words when it sent them. */
static int status_fail(const struct http_req *q, const struct http_resp *resp,
		       struct ccu_reason *err)
{
	struct kbs_error_info info = { 0 };
	char detail[KBS_ERROR_DETAIL_MAX + KBS_ERROR_VARIANT_MAX + 8] = "no error body";
	long st = resp->status;

	if (resp->body && kbs_error_parse(resp->body, resp->len, &info, NULL) == 0)
		snprintf(detail, sizeof(detail), "%s: %s", info.variant, info.detail);
	*q->cls = STEP_FATAL;
	if (st == 401) {
		/*
		 * A 401 is ambiguous (expired session, bad evidence, deny): one
		 * fresh attestation may help. Not after PolicyDeny: the policy
		 * judged verified evidence, and the same report gets the same answer.
		 */
		if (strcmp(info.variant, "PolicyDeny") != 0)
			*q->cls = STEP_UNAUTHORIZED;
		return ccu_fail(err, -EACCES, "BROKER_DENIED", "%s %s: 401 %s", q->method, q->path,
				detail);
	}
	if (st == 404)
		return ccu_fail(err, -EACCES, "BROKER_NOT_FOUND", "%s %s: 404 %s", q->method,
				q->path, detail);
	if (st >= 300 && st < 400)
		return ccu_fail(err, -EPROTO, "BROKER_PROTOCOL", "%s %s: redirect %ld refused",
				q->method, q->path, st);
	if (st >= 500 || st == 429 || st == 408) {
		*q->cls = STEP_TRANSIENT;
		return ccu_fail(err, -EIO, "BROKER_UNAVAILABLE", "%s %s: %ld %s", q->method, q->path,
				st, detail);
	}
	return ccu_fail(err, -EPROTO, "BROKER_PROTOCOL", "%s %s: unexpected status %ld (%s)",
			q->method, q->path, st, detail);
}

static int request(struct conn *c, struct http_req *q, struct http_resp *resp,
		   struct ccu_reason *err)
{
	int r = http_do(c, q, resp, err);

	if (r < 0)
		return r;
	if (resp->status != 200) {
		r = status_fail(q, resp, err);
		resp_done(resp);
		return r;
	}
	return 0;
}

/* ------------------------------------------------------------ RCAR */

struct round {
	struct conn *c;
	const struct guest_kbs *k;
	const struct kbs_resource_path *path;
	enum step_class cls;
	char cookie[GUEST_KBS_COOKIE_MAX + 1];
};

static int do_auth(struct round *rd, struct kbs_challenge *ch, struct ccu_reason *err)
{
	_cleanup_free_ char *body = NULL;
	struct http_resp resp;
	struct http_req q = { .method = "POST", .path = KBS_PATH_AUTH,
			      .content_type = "application/json", .max_body = KBS_CHALLENGE_MAX,
			      .deadline_ms = rd->k->deadline_ms, .cls = &rd->cls };
	int r;

	r = kbs_request_build(rd->k->tee ? rd->k->tee : KBS_TEE_SNP, &body, err);
	if (r < 0)
		return r;
	q.body = body;
	q.body_len = strlen(body);
	r = request(rd->c, &q, &resp, err);
	if (r < 0)
		return r;
	r = kbs_challenge_parse(resp.body, resp.len, ch, err);
	if (r == 0 && !resp.cookie[0])
		r = ccu_fail(err, -EPROTO, "BROKER_PROTOCOL", "/auth: no " KBS_COOKIE_NAME " cookie");
	if (r == 0)
		memcpy(rd->cookie, resp.cookie, sizeof(rd->cookie));
	resp_done(&resp);
	return r;
}

static int do_attest(struct round *rd, const struct kbs_challenge *ch, const struct kbs_jwk *jwk,
		     struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *ev = NULL;
	_cleanup_free_ char *body = NULL, *token = NULL;
	uint8_t report_data[KBS_REPORT_DATA_LEN];
	struct http_resp resp;
	size_t len;
	int r;

	r = kbs_report_data_guest(ch->hash, ch->nonce, jwk, "", report_data, err);
	if (r < 0)
		return r;
	r = rd->k->evidence(rd->k->evidence_ud, report_data, &ev, err);
	if (r < 0)
		return r;
	struct kbs_attestation_in in = { .nonce = ch->nonce, .tee_pubkey = jwk,
					 .primary_evidence = ev, .init_data_toml = rd->k->init_data };
	r = kbs_attestation_build(&in, &body, &len, err);
	if (r < 0)
		return r;
	struct http_req q = { .method = "POST", .path = KBS_PATH_ATTEST, .body = body,
			      .body_len = len, .content_type = "application/json",
			      .cookie = rd->cookie, .max_body = KBS_TOKEN_RESPONSE_MAX,
			      .deadline_ms = rd->k->deadline_ms, .cls = &rd->cls };
	r = request(rd->c, &q, &resp, err);
	if (r < 0)
		return r;
	r = kbs_token_response_parse(resp.body, resp.len, &token, err);
	if (r == 0 && resp.cookie[0])
		memcpy(rd->cookie, resp.cookie, sizeof(rd->cookie));
	resp_done(&resp);
	return r;
}

static int do_resource(struct round *rd, EVP_PKEY *priv, uint8_t **key, size_t *key_len,
		       struct ccu_reason *err)
{
	char path[KBS_PATH_SEGMENT_MAX * 3 + 64];
	struct http_resp resp;
	int r;

	r = kbs_resource_url_path(rd->path, path, sizeof(path));
	if (r < 0)
		return ccu_fail(err, r, "KBS_PATH", "resource path too long");
	struct http_req q = { .method = "GET", .path = path, .cookie = rd->cookie,
			      .max_body = KBS_JWE_MAX_TEXT, .deadline_ms = rd->k->deadline_ms,
			      .cls = &rd->cls };
	r = request(rd->c, &q, &resp, err);
	if (r < 0)
		return r;
	r = kbs_jwe_decrypt(priv, resp.body, resp.len, key, key_len, err);
	resp_done(&resp);
	if (r == 0 && *key_len == 0) {
		secmem_free(*key);
		*key = NULL;
		r = ccu_fail(err, -EPROTO, "BROKER_PROTOCOL", "the broker released an empty resource");
	}
	return r;
}

static int one_round(struct round *rd, uint8_t **key, size_t *key_len, struct ccu_reason *err)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *priv = NULL;
	struct kbs_challenge ch;
	struct kbs_jwk jwk;
	int r;

	rd->cls = STEP_FATAL;
	rd->cookie[0] = '\0';
	r = do_auth(rd, &ch, err);
	if (r < 0)
		return r;
	/* A fresh ephemeral key for every session: it only ever wraps this one key. */
	r = kbs_jwk_generate_ec(&priv, err);
	if (r < 0)
		return r;
	r = kbs_jwk_from_pkey(priv, &jwk, err);
	if (r < 0)
		return r;
	r = do_attest(rd, &ch, &jwk, err);
	if (r < 0)
		return r;
	return do_resource(rd, priv, key, key_len, err);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The i-th broker of @k (0 = url, then more_urls), round-robin. */
static const char *broker_at(const struct guest_kbs *k, unsigned i)
{
	size_t n = 1 + (k->more_urls ? k->n_more_urls : 0);
	size_t j = i % n;

	return j == 0 ? k->url : k->more_urls[j - 1];
}

/* With several brokers, append which ones were tried to the reason line. */
static void name_brokers(const struct guest_kbs *k, unsigned tried, struct ccu_reason *err)
{
	size_t n = 1 + (k->more_urls ? k->n_more_urls : 0);
	char list[CCU_REASON_DETAIL_MAX];
	size_t used = 0;

	if (n < 2 || !err || !err->code[0])
		return;
	list[0] = 0;
	for (unsigned i = 0; i < tried && i < n; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
				 broker_at(k, i));

		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	struct ccu_reason last = *err;
	ccu_reason_set(err, last.code, "%s (brokers tried: %s)", last.detail, list);
}

/* A transient failure that will be retried: one notice line, so the console
 * shows a boot waiting for its broker rather than a silent pause. The final
 * reason, if it comes to that, is logged once by the caller. */
static void log_retry(const char *url, unsigned attempt, const struct ccu_reason *err,
		      uint64_t backoff)
{
	if (backoff)
		log_notice("attempt %u of %d at %s failed (%s: %s); retrying in %llu ms", attempt,
			   GUEST_KBS_MAX_ATTEMPTS, url, err->code, err->detail,
			   (unsigned long long)backoff);
	else
		log_notice("attempt %u of %d at %s failed (%s: %s); trying the next broker",
			   attempt, GUEST_KBS_MAX_ATTEMPTS, url, err->code, err->detail);
}

int guest_kbs_fetch(const struct guest_kbs *k, const struct kbs_resource_path *path, uint8_t **key,
		    size_t *key_len, struct ccu_reason *err)
{
	struct conn c;
	struct round rd = { .c = &c, .k = k, .path = path };
	uint64_t backoff = GUEST_KBS_BACKOFF_FIRST_MS;
	unsigned attempts = 0, reattests = 0, broker = 0, tried = 1;
	const char *failed;
	size_t nbrokers = 1 + (k->more_urls ? k->n_more_urls : 0);
	int r;

	*key = NULL;
	*key_len = 0;
	r = conn_open(&c, k->url, k->ca_file, err);
	if (r < 0)
		return r;
	for (;;) {
		attempts++;
		r = one_round(&rd, key, key_len, err);
		if (r == 0)
			break;
		if (rd.cls == STEP_UNAUTHORIZED && reattests < GUEST_KBS_MAX_REATTEST) {
			reattests++;
			continue;
		}
		if (rd.cls != STEP_TRANSIENT || attempts >= GUEST_KBS_MAX_ATTEMPTS)
			break;
		failed = broker_at(k, broker);
		if (nbrokers > 1) {
			/* The next broker at once: another replica may be fine. */
			if ((broker + 1) % nbrokers != 0)
				log_retry(failed, attempts, err, 0);
			conn_close(&c);
			broker++;
			if (tried < nbrokers)
				tried++;
			r = conn_open(&c, broker_at(k, broker), k->ca_file, err);
			if (r < 0)
				break;
			if (broker % nbrokers != 0)
				continue;
		}
		if (ccu_now_ms() + backoff >= k->deadline_ms) {
			/* The last reason stands; say why there was no further attempt. */
			struct ccu_reason last = *err;
			r = ccu_fail(err, r, last.code, "%s (gave up after %u attempts: deadline)",
				     last.detail, attempts);
			break;
		}
		log_retry(failed, attempts, err, backoff);
		if (k->sleep_ms)
			k->sleep_ms(backoff, k->sleep_ud);
		else
			sleep_ms(backoff);
		backoff = backoff * 2 > GUEST_KBS_BACKOFF_MAX_MS ? GUEST_KBS_BACKOFF_MAX_MS : backoff * 2;
	}
	if (r < 0)
		name_brokers(k, tried, err);
	if (k->attempts)
		*k->attempts = attempts;
	conn_close(&c);
	return r;
}

/* ------------------------------------------------------------ admin API */

static int admin_token(EVP_PKEY *key, char **ret, struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *claims = kbs_jwt_claims_new(time(NULL),
								     GUEST_KBS_ADMIN_TOKEN_LIFETIME);

	if (!claims)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	return kbs_jwt_sign(key, claims, ret, err);
}

static int admin_fail(const struct http_req *q, const struct http_resp *resp,
		      struct ccu_reason *err)
{
	struct kbs_error_info info;
	char detail[KBS_ERROR_DETAIL_MAX + 1] = "no error body";

	if (resp->body && kbs_error_parse(resp->body, resp->len, &info, NULL) == 0)
		snprintf(detail, sizeof(detail), "%s", info.detail);
	if (resp->status == 401)
		return ccu_fail(err, -EACCES, "ADMIN_AUTH", "%s %s: 401 %s", q->method, q->path,
				detail);
	if (resp->status == 404)
		return ccu_fail(err, -ENOENT, "ADMIN_NOT_FOUND", "%s %s: 404 %s", q->method,
				q->path, detail);
	return ccu_fail(err, -EPROTO, "ADMIN_REFUSED", "%s %s: %ld %s", q->method, q->path,
			resp->status, detail);
}

static int admin_call(const struct guest_admin *a, const char *method, const char *path,
		      const uint8_t *data, size_t len, long *status, struct ccu_reason *err)
{
	_cleanup_free_ char *token = NULL;
	enum step_class cls;
	struct http_resp resp;
	struct conn c;
	int r;

	r = admin_token(a->admin_key, &token, err);
	if (r < 0)
		return r;
	r = conn_open(&c, a->url, a->ca_file, err);
	if (r < 0)
		return r;
	struct http_req q = { .method = method, .path = path, .body = data, .body_len = len,
			      .content_type = data ? "application/octet-stream" : NULL,
			      .bearer = token, .max_body = KBS_ERROR_BODY_MAX,
			      .deadline_ms = ccu_now_ms() + GUEST_KBS_ADMIN_TIMEOUT_MS,
			      .cls = &cls };
	r = http_do(&c, &q, &resp, err);
	if (r == 0) {
		*status = resp.status;
		/* A 404 answers the existence question of a GET; elsewhere it is an error. */
		if (resp.status != 200 && !(resp.status == 404 && strcmp(method, "GET") == 0))
			r = admin_fail(&q, &resp, err);
		resp_done(&resp);
	}
	conn_close(&c);
	return r;
}

static int admin_path(char *buf, size_t len, const char *prefix, const char *path,
		      const char *policy, struct ccu_reason *err)
{
	struct kbs_resource_path p;
	int n;

	if (kbs_resource_path_parse(path, strlen(path), &p, err) < 0)
		return -EINVAL;
	if (policy && (!ccu_str_only(policy, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789_.-") ||
		       policy[0] == '.' || strlen(policy) > 64))
		return ccu_fail(err, -EINVAL, "ADMIN_POLICY",
				"policy name '%s': expected 1..64 of [A-Za-z0-9_.-], not starting with '.'",
				policy);
	n = policy ? snprintf(buf, len, "%s/%s?policy=%s", prefix, path, policy) :
		     snprintf(buf, len, "%s/%s", prefix, path);
	if (n < 0 || (size_t)n >= len)
		return ccu_fail(err, -ENAMETOOLONG, "KBS_PATH", "resource path too long");
	return 0;
}

int guest_admin_put_resource(const struct guest_admin *a, const char *path, const char *policy,
			     const uint8_t *data, size_t len, struct ccu_reason *err)
{
	char p[1024];
	long status = 0;
	int r = admin_path(p, sizeof(p), KBS_PATH_RESOURCE, path, policy, err);

	return r < 0 ? r : admin_call(a, "POST", p, data, len, &status, err);
}

int guest_admin_delete_resource(const struct guest_admin *a, const char *path,
				struct ccu_reason *err)
{
	char p[1024];
	long status = 0;
	int r = admin_path(p, sizeof(p), KBS_PATH_RESOURCE, path, NULL, err);

	return r < 0 ? r : admin_call(a, "DELETE", p, NULL, 0, &status, err);
}

int guest_admin_resource_exists(const struct guest_admin *a, const char *path,
				struct ccu_reason *err)
{
	char p[1024];
	long status = 0;
	int r = admin_path(p, sizeof(p), KBS_API_PREFIX "/resource-meta", path, NULL, err);

	if (r < 0)
		return r;
	r = admin_call(a, "GET", p, NULL, 0, &status, err);
	if (r < 0)
		return r;
	return status == 200 ? 1 : 0;
}
