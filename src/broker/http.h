/*
 * The broker's HTTP(S) front: libevent's evhttp with OpenSSL bufferevents
 * (OpenSSL stays the one TLS and crypto stack of the project), N worker
 * threads each with its own event loop and its own SO_REUSEPORT listening
 * socket on the same address, and hard limits on everything a client
 * controls: body size, header size, connections, per-connection read/write
 * timeouts.
 *
 * Handlers run on worker threads and must be thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "broker/config.h"
#include "common/reason.h"

struct broker_http;
struct http_req;

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_POST = 1 << 1,
	HTTP_DELETE = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_OTHER = 1 << 8,
};

typedef void (*http_handler)(struct http_req *req, void *ud);

struct http_route {
	const char *name;    /* for metrics and logs, e.g. "auth" */
	unsigned methods;    /* mask of enum http_method */
	const char *path;    /* exact path, or a prefix when it ends with '/' */
	http_handler fn;
};

/* Called for every finished request (metrics, access log). */
typedef void (*http_observer)(const char *route, int status, uint64_t micros, void *ud);

int broker_http_start(const struct broker_config *cfg, SSL_CTX *tls, const struct http_route *routes,
		      size_t nroutes, http_observer observer, void *ud, struct broker_http **ret,
		      struct ccu_reason *err);
unsigned broker_http_port(const struct broker_http *h);
/* Ask every worker to finish (safe from any thread). */
void broker_http_stop(struct broker_http *h);
/* Wait for the workers, then free everything. */
void broker_http_free(struct broker_http *h);
/* Connections currently open (for tests and metrics). */
unsigned broker_http_connections(const struct broker_http *h);
/* false once every worker has paused accepting at the connection limit. */
bool broker_http_accepting(const struct broker_http *h);

/* Request accessors. */
enum http_method http_req_method(const struct http_req *r);
const char *http_req_path(const struct http_req *r);        /* path without query */
const char *http_req_route_rest(const struct http_req *r);  /* path after a prefix route */
const char *http_req_query(const struct http_req *r);       /* NULL when none */
const char *http_req_header(const struct http_req *r, const char *name);
/* Value of cookie @name, copied into @buf; NULL when absent or too long. */
const char *http_req_cookie(const struct http_req *r, const char *name, char *buf, size_t len);
/* Body bytes (bounded by max_body; NUL-terminated copy). */
const uint8_t *http_req_body(struct http_req *r, size_t *len);
/* The same for a body that carries a secret (a plaintext resource): the copy
 * is in locked memory (secmem), wiped when the request ends, and libevent's
 * input buffer is overwritten once copied. */
const uint8_t *http_req_body_secret(struct http_req *r, size_t *len);
const char *http_req_peer(const struct http_req *r);

/* Replies (exactly one per request). @body is copied. */
void http_add_header(struct http_req *r, const char *name, const char *value);
void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
		size_t len);
/* Takes ownership of @body. */
void http_reply_json(struct http_req *r, int status, json_t *body);

/* A TLS server context from PEM files: TLS 1.2+ only. */
int broker_tls_context(const char *cert, const char *key, SSL_CTX **ret, struct ccu_reason *err);
