/*
 * The broker service: loading what the configuration names, the route
 * table, operations endpoints and the shared reply/decision helpers. The
 * guest protocol is in rcar.c, the admin API in admin.c.
 */
#include "broker/server_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"
#include "snp/certs.h"

#define ADMIN_KEY_MAX_FILE (16 * 1024)

time_t broker_now(const struct broker_server *s)
{
	return s->clock ? s->clock() : time(NULL);
}

void broker_server_set_clock(struct broker_server *s, time_t (*now)(void))
{
	s->clock = now;
}

void broker_reply_error(struct http_req *req, int status, const char *variant,
			const struct ccu_reason *why)
{
	char line[CCU_REASON_CODE_MAX + CCU_REASON_DETAIL_MAX + 4];
	char *body = NULL;

	ccu_reason_line(why, line, sizeof(line));
	/* The store (a shared database) unreachable is the broker's trouble,
	 * not the guest's: 503, which guests retry, possibly on another
	 * replica. Never a release: the request has failed. */
	if (status == 401 && why && strcmp(why->code, "STORE_IO") == 0)
		status = 503;
	if (kbs_error_build(variant, line, &body, NULL) < 0) {
		http_reply(req, 500, NULL, NULL, 0);
		return;
	}
	http_reply(req, status, "application/json", body, strlen(body));
	free(body);
}

int broker_decide(struct broker_server *s, const struct broker_audit_rec *rec,
		  struct ccu_reason *err)
{
	const char *code = rec->allow || !rec->reason ? "" : rec->reason->code;
	int r = broker_audit_write(s->audit, rec, err);

	broker_metrics_decision(s->metrics, rec->event, rec->allow, code);
	if (r < 0)
		log_error("audit log: %s: %s", err->code, err->detail);
	return r;
}

/* ------------------------------------------------------------ operations */

static void h_healthz(struct http_req *req, void *ud)
{
	(void)ud;
	http_reply(req, 200, "text/plain", "ok\n", 3);
}

static void h_metrics(struct http_req *req, void *ud)
{
	struct broker_server *s = ud;
	char *text = broker_metrics_render(s->metrics, broker_sessions_count(s->sessions),
					   s->http ? broker_http_connections(s->http) : 0);

	if (!text) {
		http_reply(req, 500, NULL, NULL, 0);
		return;
	}
	http_reply(req, 200, "text/plain; version=0.0.4", text, strlen(text));
	free(text);
}

static void observe(const char *route, int status, uint64_t micros, void *ud)
{
	struct broker_server *s = ud;

	broker_metrics_request(s->metrics, route, status, micros);
}

static const struct http_route routes[] = {
	{ "auth", HTTP_POST, KBS_PATH_AUTH, broker_h_auth },
	{ "attest", HTTP_POST, KBS_PATH_ATTEST, broker_h_attest },
	{ "resource", HTTP_GET | HTTP_POST | HTTP_DELETE, KBS_PATH_RESOURCE "/", broker_h_resource },
	{ "resource-meta", HTTP_GET, KBS_API_PREFIX "/resource-meta/", broker_h_resource_meta },
	{ "policy", HTTP_GET | HTTP_POST | HTTP_DELETE, KBS_API_PREFIX "/policy/", broker_h_policy },
	{ "resource-policy", HTTP_POST, KBS_API_PREFIX "/resource-policy", broker_h_resource_policy },
	{ "healthz", HTTP_GET, "/healthz", h_healthz },
	{ "metrics", HTTP_GET, "/metrics", h_metrics },
};

/* ------------------------------------------------------------ lifecycle */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int load_roots(struct broker_server *s, struct ccu_reason *err)
{
	for (size_t i = 0; i < s->cfg->n_trusted_roots; i++) {
		X509 *ark = NULL;
		int r = snp_cert_load_one_file(s->cfg->trusted_roots[i], &ark, err);

		if (r >= 0) {
			r = snp_trust_add_root(s->trust, ark, err);
			X509_free(ark);
		}
		if (r < 0)
			return r;
		log_notice("trusting the additional root '%s'", s->cfg->trusted_roots[i]);
	}
	return 0;
}

static int load_admin_keys(struct broker_server *s, struct ccu_reason *err)
{
	for (size_t i = 0; i < s->cfg->n_admin_keys; i++) {
		_cleanup_free_ uint8_t *pem = NULL;
		size_t len;
		int r = ccu_read_file(s->cfg->admin_keys[i], ADMIN_KEY_MAX_FILE, &pem, &len);

		if (r < 0)
			return ccu_fail(err, r, "CONFIG_IO", "cannot read admin key '%s': %s",
					s->cfg->admin_keys[i], strerror(-r));
		r = kbs_jwt_key_from_pem((const char *)pem, len, false, KBS_JWT_EDDSA,
					 &s->admin_keys[s->n_admin_keys], err);
		if (r < 0)
			return r;
		s->n_admin_keys++;
	}
	return 0;
}

static int open_store(struct broker_server *s, struct ccu_reason *err)
{
	uint8_t *key = NULL;
	int r = broker_master_key_load(s->cfg->master_key, &key, err);

	if (r < 0)
		return r;
	r = broker_store_open(s->cfg->database, key, &s->store, err);
	/* On a shared store the RCAR sessions are shared too: /auth on one
	 * replica, /attest and the release on another. */
	if (r >= 0 && s->cfg->shared_store) {
		broker_sessions_free(s->sessions);
		s->sessions = NULL;
		r = broker_sessions_new_shared(s->cfg->database, key, s->cfg->max_sessions,
					       s->cfg->session_timeout, &s->sessions, err);
	}
	secmem_free(key);
	return r;
}

int broker_server_open(const struct broker_config *cfg, struct broker_server **ret,
		       struct ccu_reason *err)
{
	struct broker_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	pthread_once(&curl_once, curl_init);
	s->cfg = cfg;
	s->certs.cache_dir = cfg->cert_cache;
	s->certs.kds_fetch = cfg->kds_fetch;
	s->certs.kds_url = cfg->kds_url;
	s->certs.kds_timeout = cfg->kds_timeout;
	s->trust = snp_trust_new();
	s->chains = snp_chain_cache_new(BROKER_CHAIN_CACHE);
	s->sessions = broker_sessions_new(cfg->max_sessions, cfg->session_timeout);
	s->pubkeys = broker_pubkeys_new();
	s->metrics = broker_metrics_new();
	s->token_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!s->trust || !s->chains || !s->sessions || !s->pubkeys || !s->metrics ||
	    !s->token_key) {
		r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		goto fail;
	}
	r = load_roots(s, err);
	if (r >= 0)
		r = load_admin_keys(s, err);
	if (r >= 0)
		r = open_store(s, err);
	if (r >= 0)
		r = broker_audit_open(cfg->audit_log, &s->audit, err);
	if (r >= 0 && !cfg->insecure_http)
		r = broker_tls_context(cfg->tls_cert, cfg->tls_key, &s->tls, err);
	if (r < 0)
		goto fail;
	if (!cfg->audit_log)
		log_warning("no audit_log configured: decisions go to the log only");
	if (cfg->insecure_http)
		log_warning("insecure_http = yes: serving plain HTTP (tests only)");
	*ret = s;
	return 0;
fail:
	broker_server_free(s);
	return r;
}

int broker_server_start(struct broker_server *s, struct ccu_reason *err)
{
	int r = broker_http_start(s->cfg, s->tls, routes, ARRAY_SIZE(routes), observe, s, &s->http,
				  err);

	if (r < 0)
		return r;
	log_info("listening on %s:%u (%s)", s->cfg->listen_host, broker_http_port(s->http),
		 s->tls ? "TLS" : "plain HTTP");
	if (s->cfg->port_file) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%u\n", broker_http_port(s->http));

		r = ccu_write_file_atomic(s->cfg->port_file, buf, (size_t)n, 0644);
		if (r < 0) {
			broker_server_stop(s);
			return ccu_fail(err, r, "PORT_FILE", "cannot write '%s': %s",
					s->cfg->port_file, strerror(-r));
		}
	}
	return 0;
}

unsigned broker_server_port(const struct broker_server *s)
{
	return s->http ? broker_http_port(s->http) : 0;
}

void broker_server_stop(struct broker_server *s)
{
	if (!s->http)
		return;
	broker_http_stop(s->http);
	broker_http_free(s->http);
	s->http = NULL;
}

void broker_server_free(struct broker_server *s)
{
	if (!s)
		return;
	broker_server_stop(s);
	broker_store_close(s->store);
	snp_trust_free(s->trust);
	snp_chain_cache_free(s->chains);
	EVP_PKEY_free(s->token_key);
	for (size_t i = 0; i < s->n_admin_keys; i++)
		EVP_PKEY_free(s->admin_keys[i]);
	broker_sessions_free(s->sessions);
	broker_pubkeys_free(s->pubkeys);
	broker_audit_close(s->audit);
	broker_metrics_free(s->metrics);
	SSL_CTX_free(s->tls);
	free(s);
}
