#include "broker/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>

#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"

#define HTTP_BACKLOG 256
#define HTTP_MAX_WORKERS 64

struct worker {
	struct broker_http *h;
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct event *sync_ev; /* applies h->paused to this worker's listener */
	atomic_bool listening;
	struct event *stop_ev; /* breaks the loop from inside (a loopbreak issued
				* before the loop starts would be forgotten) */
	pthread_t thread;
	bool started;
};

struct broker_http {
	const struct http_route *routes;
	size_t nroutes;
	http_observer observer;
	void *ud;
	SSL_CTX *tls;
	unsigned port;
	unsigned max_conn;
	atomic_uint conns;
	atomic_bool paused;
	size_t nworkers;
	struct worker workers[HTTP_MAX_WORKERS];
};

struct http_req {
	struct evhttp_request *er;
	struct broker_http *h;
	const struct http_route *route;
	char *path;
	char *query;
	const char *rest;
	uint8_t *body;
	size_t body_len;
	bool body_read;
	bool body_secret; /* body is in secmem (locked, wiped when freed) */
	char peer[64];
	int status;
	bool replied;
};

/* ------------------------------------------------------------ connections */

/* Each worker pauses or resumes its own listener, on its own thread: a
 * listener is only ever touched by the loop that owns it, so no lock order
 * between workers exists. Other workers are told through an event. */
static void sync_listener(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&w->h->paused)) {
		evconnlistener_disable(w->listener);
		atomic_store(&w->listening, false);
	} else {
		evconnlistener_enable(w->listener);
		atomic_store(&w->listening, true);
	}
}

bool broker_http_accepting(const struct broker_http *h)
{
	for (size_t i = 0; i < h->nworkers; i++)
		if (atomic_load(&((struct worker *)(uintptr_t)&h->workers[i])->listening))
			return true;
	return false;
}

static void set_listening(struct broker_http *h, bool on)
{
	atomic_store(&h->paused, !on);
	for (size_t i = 0; i < h->nworkers; i++)
		if (h->workers[i].sync_ev)
			event_active(h->workers[i].sync_ev, EV_READ, 0);
}

/*
 * Connections are counted from the TLS object's life: OpenSSL calls our
 * ex_data free hook when libevent frees the SSL with its connection, which
 * happens for every connection - with or without a complete request, timed
 * out or closed by the peer. (libevent 2.1's evhttp has no connection limit
 * and no connection-close hook usable before the first request.) Plain HTTP
 * is a test-only mode and is not counted.
 */
static int ssl_conn_index = -1;
static pthread_once_t ssl_index_once = PTHREAD_ONCE_INIT;

static void conn_closed(struct broker_http *h)
{
	unsigned before = atomic_fetch_sub(&h->conns, 1);

	if (before == h->max_conn)
		set_listening(h, true);
}

static void ssl_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			  void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr)
		conn_closed(ptr);
}

static void ssl_index_init(void)
{
	ssl_conn_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, NULL, NULL, NULL,
						 ssl_conn_free);
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
	struct worker *w = arg;
	struct broker_http *h = w->h;
	struct bufferevent *bev;
	SSL *ssl;

	if (!h->tls)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(h->tls);
	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_set_ex_data(ssl, ssl_conn_index, h) == 1 &&
	    atomic_fetch_add(&h->conns, 1) + 1 >= h->max_conn)
		set_listening(h, false);
	return bev;
}

unsigned broker_http_connections(const struct broker_http *h)
{
	return atomic_load(&((struct broker_http *)(uintptr_t)h)->conns);
}

/* ------------------------------------------------------------ requests */

enum http_method http_req_method(const struct http_req *r)
{
	switch (evhttp_request_get_command(r->er)) {
	case EVHTTP_REQ_GET:
		return HTTP_GET;
	case EVHTTP_REQ_POST:
		return HTTP_POST;
	case EVHTTP_REQ_DELETE:
		return HTTP_DELETE;
	case EVHTTP_REQ_PUT:
		return HTTP_PUT;
	default:
		return HTTP_OTHER;
	}
}

const char *http_req_path(const struct http_req *r)
{
	return r->path;
}

const char *http_req_route_rest(const struct http_req *r)
{
	return r->rest;
}

const char *http_req_query(const struct http_req *r)
{
	return r->query;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->er), name);
}

const char *http_req_peer(const struct http_req *r)
{
	return r->peer;
}

const char *http_req_cookie(const struct http_req *r, const char *name, char *buf, size_t len)
{
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(r->er);
	struct evkeyval *kv;
	size_t nl = strlen(name);
	const char *found = NULL;
	size_t found_len = 0;

	for (kv = hdrs->tqh_first; kv; kv = kv->next.tqe_next) {
		const char *p;

		if (strcasecmp(kv->key, "Cookie") != 0)
			continue;
		for (p = kv->value; *p;) {
			size_t l;

			while (*p == ' ' || *p == ';')
				p++;
			l = strcspn(p, ";");
			if (l > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
				/* The same cookie twice is ambiguous: treat as absent. */
				if (found)
					return NULL;
				found = p + nl + 1;
				found_len = l - nl - 1;
				while (found_len && found[found_len - 1] == ' ')
					found_len--;
			}
			p += l;
		}
	}
	if (!found || found_len == 0 || found_len >= len)
		return NULL;
	memcpy(buf, found, found_len);
	buf[found_len] = 0;
	return buf;
}

static void body_free(struct http_req *r)
{
	if (r->body_secret)
		secmem_free(r->body);
	else
		free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

/* Overwrite libevent's copy of the body where it lies (every chunk). */
static void wipe_input(struct evbuffer *in)
{
	int nv = evbuffer_peek(in, -1, NULL, NULL, 0);
	struct evbuffer_iovec *v = nv > 0 ? calloc((size_t)nv, sizeof(*v)) : NULL;

	if (v) {
		nv = evbuffer_peek(in, -1, NULL, v, nv);
		for (int i = 0; i < nv; i++)
			explicit_bzero(v[i].iov_base, v[i].iov_len);
		free(v);
	} else if (nv > 0) {
		size_t n = evbuffer_get_length(in);
		unsigned char *p = evbuffer_pullup(in, -1);
		if (p)
			explicit_bzero(p, n);
	}
}

static const uint8_t *read_body(struct http_req *r, size_t *len, bool secret)
{
	if (r->body_read && secret && !r->body_secret) {
		/* read plainly before: start again, into locked memory */
		body_free(r);
		r->body_read = false;
	}
	if (!r->body_read) {
		struct evbuffer *in = evhttp_request_get_input_buffer(r->er);
		size_t n = evbuffer_get_length(in);

		r->body_read = true;
		r->body_secret = secret;
		r->body = secret ? secmem_alloc(n + 1) : malloc(n + 1);
		if (!r->body)
			return NULL;
		if (evbuffer_copyout(in, r->body, n) != (ev_ssize_t)n) {
			body_free(r);
			return NULL;
		}
		r->body[n] = 0;
		r->body_len = n;
		if (secret)
			wipe_input(in);
	}
	*len = r->body_len;
	return r->body;
}

const uint8_t *http_req_body(struct http_req *r, size_t *len)
{
	return read_body(r, len, false);
}

const uint8_t *http_req_body_secret(struct http_req *r, size_t *len)
{
	return read_body(r, len, true);
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->er), name, value);
}

void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
		size_t len)
{
	struct evbuffer *buf;

	if (r->replied)
		return;
	r->replied = true;
	r->status = status;
	buf = evbuffer_new();
	if (content_type)
		http_add_header(r, "Content-Type", content_type);
	http_add_header(r, "Cache-Control", "no-store");
	if (buf && len)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(r->er, status, NULL, buf);
	if (buf)
		evbuffer_free(buf);
}

void http_reply_json(struct http_req *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (!s) {
		http_reply(r, 500, NULL, NULL, 0);
	} else {
		http_reply(r, status, "application/json", s, strlen(s));
		free(s);
	}
	json_decref(body);
}

static const struct http_route *find_route(const struct broker_http *h, const char *path,
					   const char **rest)
{
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i];
		size_t l = strlen(rt->path);

		if (l && rt->path[l - 1] == '/') {
			if (strncmp(path, rt->path, l) == 0 && path[l]) {
				*rest = path + l;
				return rt;
			}
		} else if (strcmp(path, rt->path) == 0) {
			*rest = "";
			return rt;
		}
	}
	return NULL;
}

static void error_reply(struct http_req *r, int status, const char *variant, const char *detail)
{
	json_t *o = json_pack("{s:s+,s:s}", "type",
			      "https://github.com/confidential-containers/kbs/errors/", variant,
			      "detail", detail);

	http_reply_json(r, status, o);
}

static void dispatch(struct evhttp_request *er, void *arg)
{
	struct worker *w = arg;
	struct broker_http *h = w->h;
	struct http_req r = { .er = er, .h = h };
	const char *uri = evhttp_request_get_uri(er);
	struct evhttp_connection *evcon = evhttp_request_get_connection(er);
	uint64_t t0;
	struct timespec ts;
	const char *q;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (evcon) {
		char *addr = NULL;
		ev_uint16_t port = 0;

		evhttp_connection_get_peer(evcon, &addr, &port);
		snprintf(r.peer, sizeof(r.peer), "%s", addr ? addr : "?");
	}
	q = uri ? strchr(uri, '?') : NULL;
	r.path = uri ? strndup(uri, q ? (size_t)(q - uri) : strlen(uri)) : NULL;
	r.query = q ? strdup(q + 1) : NULL;
	if (!r.path || r.path[0] != '/') {
		error_reply(&r, 400, "InvalidRequest", "malformed request target");
		goto done;
	}
	r.route = find_route(h, r.path, &r.rest);
	if (!r.route) {
		error_reply(&r, 404, "InvalidRequestPath", "no such endpoint");
		goto done;
	}
	if (!(r.route->methods & http_req_method(&r))) {
		http_add_header(&r, "Allow", r.route->methods & HTTP_POST ? "POST" : "GET");
		error_reply(&r, 405, "InvalidRequest", "method not allowed here");
		goto done;
	}
	r.route->fn(&r, h->ud);
	if (!r.replied) {
		log_error("handler '%s' did not reply", r.route->name);
		error_reply(&r, 500, "InternalError", "internal error");
	}
done:
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (h->observer)
		h->observer(r.route ? r.route->name : "unrouted", r.status,
			    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - t0,
			    h->ud);
	free(r.path);
	free(r.query);
	body_free(&r);
}

/* ------------------------------------------------------------ lifecycle */

static int open_listener(const char *host, unsigned port, unsigned *ret_port,
			 struct ccu_reason *err)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, one = 1;

	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &a->sin6_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &a->sin_addr);
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ccu_fail(err, -errno, "LISTEN", "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	/* Accepted sockets inherit it: a reply goes out as TLS records in
	 * several writes, and Nagle would hold the last one back until the
	 * peer's delayed ACK (tens of milliseconds per request). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
		int e = errno;

		close(fd);
		return ccu_fail(err, -e, "LISTEN", "cannot listen on %s:%u: %s", host, port,
				strerror(e));
	}
	if (ret_port) {
		sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							   : ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

static void stop_worker(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* A paused worker may have nothing registered at all: keep looping. */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int worker_init(struct broker_http *h, struct worker *w, const struct broker_config *cfg,
		       struct ccu_reason *err)
{
	unsigned port = 0;
	int fd = open_listener(cfg->listen_host, h->port ? h->port : cfg->listen_port, &port, err);

	if (fd < 0)
		return fd;
	if (!h->port)
		h->port = port;
	w->h = h;
	w->base = event_base_new();
	w->http = w->base ? evhttp_new(w->base) : NULL;
	if (!w->http) {
		close(fd);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot create the event loop");
	}
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_PUT);
	evhttp_set_max_body_size(w->http, cfg->max_body);
	evhttp_set_max_headers_size(w->http, cfg->max_header);
	evhttp_set_timeout(w->http, (int)cfg->request_timeout);
	evhttp_set_gencb(w->http, dispatch, w);
	evhttp_set_bevcb(w->http, make_bev, w);
	w->listener = evconnlistener_new(w->base, NULL, NULL,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_THREADSAFE, -1, fd);
	if (!w->listener) {
		close(fd);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot create the listener");
	}
	if (!evhttp_bind_listener(w->http, w->listener))
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot bind the listener");
	atomic_init(&w->listening, true);
	w->sync_ev = event_new(w->base, -1, 0, sync_listener, w);
	w->stop_ev = event_new(w->base, -1, 0, stop_worker, w);
	if (!w->sync_ev || !w->stop_ev)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot create the listener event");
	return 0;
}

int broker_http_start(const struct broker_config *cfg, SSL_CTX *tls, const struct http_route *routes,
		      size_t nroutes, http_observer observer, void *ud, struct broker_http **ret,
		      struct ccu_reason *err)
{
	struct broker_http *h;
	int r = 0;

	if (cfg->workers == 0 || cfg->workers > HTTP_MAX_WORKERS)
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "workers must be 1..%d",
				HTTP_MAX_WORKERS);
	/* A peer that hangs up mid-reply must not kill the broker. */
	signal(SIGPIPE, SIG_IGN);
	pthread_once(&ssl_index_once, ssl_index_init);
	if (ssl_conn_index < 0)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "no OpenSSL ex_data index");
	if (evthread_use_pthreads() < 0)
		return ccu_fail(err, -ENOSYS, "INTERNAL", "libevent has no thread support");
	h = calloc(1, sizeof(*h));
	if (!h)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	h->routes = routes;
	h->nroutes = nroutes;
	h->observer = observer;
	h->ud = ud;
	h->tls = tls;
	h->max_conn = cfg->max_connections;
	atomic_init(&h->conns, 0);
	atomic_init(&h->paused, false);
	for (size_t i = 0; i < cfg->workers && r == 0; i++) {
		r = worker_init(h, &h->workers[i], cfg, err);
		if (r == 0)
			h->nworkers++;
	}
	for (size_t i = 0; i < h->nworkers && r == 0; i++) {
		if (pthread_create(&h->workers[i].thread, NULL, worker_main, &h->workers[i]) != 0)
			r = ccu_fail(err, -EAGAIN, "INTERNAL", "cannot start worker threads");
		else
			h->workers[i].started = true;
	}
	if (r < 0) {
		broker_http_stop(h);
		broker_http_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

unsigned broker_http_port(const struct broker_http *h)
{
	return h->port;
}

void broker_http_stop(struct broker_http *h)
{
	for (size_t i = 0; i < h->nworkers; i++)
		if (h->workers[i].stop_ev)
			event_active(h->workers[i].stop_ev, EV_READ, 0);
}

#define HTTP_DRAIN_ROUNDS 4

static void drain(struct event_base *base)
{
	for (int i = 0; base && i < HTTP_DRAIN_ROUNDS; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

void broker_http_free(struct broker_http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nworkers; i++) {
		struct worker *w = &h->workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->sync_ev)
			event_free(w->sync_ev);
		if (w->stop_ev)
			event_free(w->stop_ev);
		/* The loop stopped with work pending (a peer's close, deferred
		 * bufferevent callbacks that hold a reference): run it dry before
		 * and after freeing the connections, or their TLS state leaks. */
		drain(w->base);
		if (w->http)
			evhttp_free(w->http); /* frees the bound listener too */
		drain(w->base);
		if (w->base)
			event_base_free(w->base);
	}
	free(h);
}

int broker_tls_context(const char *cert, const char *key, SSL_CTX **ret, struct ccu_reason *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (!ctx)
		return ccu_fail(err, -ENOMEM, "TLS", "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char buf[200];

		e = ERR_get_error();
		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return ccu_fail(err, -EINVAL, "TLS", "cannot load '%s' / '%s': %s", cert, key, buf);
	}
	*ret = ctx;
	return 0;
}
