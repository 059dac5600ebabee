#include "tools/kbs_flow_sim.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/secmem.h"
#include "kbs/jwe.h"
#include "kbs/msg.h"
#include "kbs/preimage.h"
#include "snp/evidence.h"

void kfc_resp_done(struct kfc_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The CA store kfc_share_ca() loaded, and the file it came from. */
static X509_STORE *shared_store;
static char shared_path[sizeof(((struct kfc *)0)->ca)];

int kfc_share_ca(const char *path)
{
	X509_STORE *st;

	if (!path || strlen(path) >= sizeof(shared_path))
		return -EINVAL;
	st = X509_STORE_new();
	if (!st)
		return -ENOMEM;
	if (X509_STORE_load_file(st, path) != 1) {
		X509_STORE_free(st);
		return -EINVAL;
	}
	X509_STORE_free(shared_store);
	shared_store = st;
	snprintf(shared_path, sizeof(shared_path), "%s", path);
	return 0;
}

static CURLcode use_shared_store(CURL *h, void *ssl_ctx, void *ud)
{
	(void)h;
	(void)ud;
	return SSL_CTX_set1_cert_store(ssl_ctx, shared_store), CURLE_OK;
}

int kfc_open(struct kfc *k, const char *base, const char *ca)
{
	memset(k, 0, sizeof(*k));
	k->curl = curl_easy_init();
	if (!k->curl)
		return -ENOMEM;
	snprintf(k->base, sizeof(k->base), "%s", base);
	snprintf(k->ca, sizeof(k->ca), "%s", ca ? ca : "");
	return 0;
}

void kfc_close(struct kfc *k)
{
	if (k->curl)
		curl_easy_cleanup(k->curl);
	k->curl = NULL;
}

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	struct kfc_resp *r = ud;
	size_t l = s * n;
	char *nb;

	if (r->len + l > KFC_BODY_MAX)
		return 0;
	nb = realloc(r->body, r->len + l + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, l);
	r->len += l;
	r->body[r->len] = 0;
	return l;
}

static size_t on_header(char *p, size_t s, size_t n, void *ud)
{
	struct kfc_resp *r = ud;
	size_t l = s * n;
	static const char name[] = "Set-Cookie: kbs-session-id=";

	if (l > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t v = strcspn(p + sizeof(name) - 1, ";\r\n");

		if (v < sizeof(r->set_cookie)) {
			memcpy(r->set_cookie, p + sizeof(name) - 1, v);
			r->set_cookie[v] = 0;
		}
	}
	return l;
}

int kfc_request(struct kfc *k, const char *method, const char *path, const void *body, size_t len,
		const char *const *headers, bool send_cookie, struct kfc_resp *out)
{
	CURL *c = k->curl;
	struct curl_slist *h = NULL;
	char url[1024], cookie[160];
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", k->base, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (k->ca[0] && shared_store && strcmp(k->ca, shared_path) == 0) {
		/* verified against the store loaded once, as a guest that booted
		 * with it: libcurl loads no file of its own */
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, use_shared_store);
	} else if (k->ca[0]) {
		curl_easy_setopt(c, CURLOPT_CAINFO, k->ca);
	}
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	if (h)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (send_cookie && k->cookie[0]) {
		snprintf(cookie, sizeof(cookie), "kbs-session-id=%s", k->cookie);
		curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		kfc_resp_done(out);
		return -EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (out->set_cookie[0])
		snprintf(k->cookie, sizeof(k->cookie), "%s", out->set_cookie);
	return 0;
}

int kfc_auth(struct kfc *k, const char *request, char *nonce, struct kfc_resp *out)
{
	static const char def[] = "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":"
				  "{\"supported-hash-algorithms\":[\"sha256\",\"sha384\",\"sha512\"]}}";
	const char *b = request ? request : def;
	struct kbs_challenge ch;
	int r = kfc_request(k, "POST", "/kbs/v0/auth", b, strlen(b), NULL, false, out);

	if (r < 0 || out->status != 200)
		return r;
	if (kbs_challenge_parse(out->body, out->len, &ch, NULL) < 0)
		return -EBADMSG;
	memcpy(nonce, ch.nonce, strlen(ch.nonce) + 1);
	return 0;
}

static STACK_OF(X509) *sim_chain(const struct snp_sim *sim)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	X509 *c[3] = { snp_sim_vcek(sim), snp_sim_ask(sim), snp_sim_ark(sim) };

	for (int i = 0; s && i < 3; i++) {
		X509_up_ref(c[i]);
		sk_X509_push(s, c[i]);
	}
	return s;
}

/* kfc_cache_chain(): the simulator whose chain is cached, and that chain's
 * JSON text (the evidence's "cert_chain" value). */
static const struct snp_sim *chain_sim;
static char *chain_text;
#define CHAIN_MARK "\"ccunlock-kfc-cached-cert-chain\""

int kfc_cache_chain(const struct snp_sim *sim)
{
	uint8_t rd[KBS_REPORT_DATA_LEN] = { 0 };
	STACK_OF(X509) *chain;
	struct snp_report rep;
	json_t *ev;

	if (chain_sim || !sim)
		return -EINVAL;
	snp_sim_report_template(sim, 5, rd, &rep);
	if (snp_sim_sign(sim, &rep, NULL) < 0)
		return -EINVAL;
	chain = sim_chain(sim);
	ev = chain ? snp_evidence_build(rep.raw, chain) : NULL;
	sk_X509_pop_free(chain, X509_free);
	chain_text = ev ? json_dumps(json_object_get(ev, "cert_chain"), JSON_COMPACT | JSON_ENCODE_ANY)
			: NULL;
	json_decref(ev);
	if (!chain_text)
		return -ENOMEM;
	chain_sim = sim;
	return 0;
}

/* The Attestation text with the mark (a JSON string) replaced by the cached chain. */
static int splice_chain(char **text)
{
	char *at = strstr(*text, CHAIN_MARK), *out;
	size_t head, n, ml = strlen(CHAIN_MARK);

	if (!at || strstr(at + ml, CHAIN_MARK))
		return -EINVAL;
	n = strlen(*text) - ml + strlen(chain_text) + 1;
	head = (size_t)(at - *text);
	if (head > INT_MAX)
		return -E2BIG;
	out = malloc(n);
	if (!out)
		return -ENOMEM;
	snprintf(out, n, "%.*s%s%s", (int)head, *text, chain_text, at + ml);
	free(*text);
	*text = out;
	return 0;
}

int kfc_attestation(const struct snp_sim *sim, const struct kfc_ev_opts *o, const char *nonce,
		    EVP_PKEY *tee, char **ret)
{
	static const struct kfc_ev_opts none;
	struct kbs_jwk jwk;
	struct snp_report rep;
	uint8_t rd[KBS_REPORT_DATA_LEN];
	STACK_OF(X509) *chain = NULL;
	json_t *ev = NULL;
	int r;

	if (!o)
		o = &none;
	r = kbs_jwk_from_pkey(tee, &jwk, NULL);
	if (r < 0)
		return r;
	r = kbs_report_data_guest(KBS_HASH_SHA384, o->bind_nonce ? o->bind_nonce : nonce, &jwk,
				  o->additional_evidence ? o->additional_evidence : "", rd, NULL);
	if (r < 0)
		return r;
	if (o->corrupt_binding)
		rd[5] ^= 0x01;
	snp_sim_report_template(sim, o->version ? o->version : 5, rd, &rep);
	if (o->mutate)
		o->mutate(&rep, o->mutate_ud);
	r = snp_sim_sign(sim, &rep, NULL);
	if (r < 0)
		return r;
	if (o->corrupt_signature)
		rep.raw[SNP_OFF_SIG_R + 3] ^= 0x40;
	bool cached = !o->no_chain && sim == chain_sim;

	if (!o->no_chain && !cached)
		chain = sim_chain(sim);
	ev = snp_evidence_build(rep.raw, chain);
	sk_X509_pop_free(chain, X509_free);
	if (!ev)
		return -ENOMEM;
	/* the same certificates every boot: their JSON is spliced in as text */
	if (cached && json_object_set_new(ev, "cert_chain",
					  json_stringn(CHAIN_MARK + 1, strlen(CHAIN_MARK) - 2)) < 0) {
		json_decref(ev);
		return -ENOMEM;
	}
	{
		struct kbs_attestation_in in = {
			.nonce = nonce,
			.tee_pubkey = &jwk,
			.primary_evidence = ev,
			.additional_evidence = o->additional_evidence,
			.init_data_toml = o->init_data,
		};

		r = kbs_attestation_build(&in, ret, NULL, NULL);
	}
	json_decref(ev);
	if (r >= 0 && cached && (r = splice_chain(ret)) < 0) {
		free(*ret);
		*ret = NULL;
	}
	return r;
}

int kfc_attest(struct kfc *k, const char *body, struct kfc_resp *out)
{
	char *tok = NULL;
	int r = kfc_request(k, "POST", "/kbs/v0/attest", body, strlen(body), NULL, true, out);

	if (r < 0 || out->status != 200)
		return r;
	if (kbs_token_response_parse(out->body, out->len, &tok, NULL) < 0)
		return -EBADMSG;
	snprintf(k->token, sizeof(k->token), "%s", tok);
	free(tok);
	return 0;
}

int kfc_resource(struct kfc *k, const char *path, bool bearer, struct kfc_resp *out)
{
	char p[512], authz[sizeof(k->token) + 32];
	const char *h[] = { authz, NULL };

	snprintf(p, sizeof(p), "/kbs/v0/resource/%s", path);
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", k->token);
	return kfc_request(k, "GET", p, NULL, 0, bearer ? h : NULL, !bearer, out);
}

static void put_detail(char *detail, size_t len, const struct kfc_resp *r)
{
	if (detail)
		snprintf(detail, len, "%s", r->body ? r->body : "(no body)");
}

int kfc_boot(const char *base, const char *ca, const struct snp_sim *sim,
	     const struct kfc_ev_opts *o, const char *path, bool bearer, long *status,
	     uint8_t **key, size_t *key_len, char *detail, size_t detail_len)
{
	struct kfc k;
	struct kfc_resp resp = { 0 };
	char nonce[KBS_NONCE_MAX + 1];
	char *att = NULL;
	EVP_PKEY *tee = NULL;
	int r;

	*status = 0;
	*key = NULL;
	r = kfc_open(&k, base, ca);
	if (r < 0)
		return r;
	r = kfc_auth(&k, NULL, nonce, &resp);
	if (r < 0 || resp.status != 200)
		goto out;
	kfc_resp_done(&resp);
	r = kbs_jwk_generate_ec(&tee, NULL);
	if (r >= 0)
		r = kfc_attestation(sim, o, nonce, tee, &att);
	if (r < 0)
		goto out;
	r = kfc_attest(&k, att, &resp);
	if (r < 0 || resp.status != 200)
		goto out;
	kfc_resp_done(&resp);
	r = kfc_resource(&k, path, bearer, &resp);
	if (r < 0 || resp.status != 200)
		goto out;
	r = kbs_jwe_decrypt(tee, resp.body, resp.len, key, key_len, NULL);
out:
	if (r >= 0)
		*status = resp.status;
	if (resp.status != 200)
		put_detail(detail, detail_len, &resp);
	kfc_resp_done(&resp);
	free(att);
	EVP_PKEY_free(tee);
	kfc_close(&k);
	return r;
}
