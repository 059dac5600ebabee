#include "broker/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "common/reason.h"

/* Routes the HTTP table names (http_route.name), plus "unrouted". */
static const char *const route_names[] = {
	"auth", "attest", "resource", "resource-meta", "policy", "healthz", "metrics", "unrouted",
};
#define NROUTES ARRAY_SIZE(route_names)

static const int status_codes[] = { 200, 400, 401, 404, 405, 409, 413, 500, 503 };
#define NSTATUS (ARRAY_SIZE(status_codes) + 1) /* last: any other status */

/* Upper bounds in microseconds (le labels in seconds). */
static const uint64_t bucket_us[] = { 1000, 2500, 5000, 10000, 25000, 50000, 100000,
				      250000, 500000, 1000000, 2500000, 5000000 };
#define NBUCKETS ARRAY_SIZE(bucket_us)

#define MAX_DECISIONS 256

struct decision {
	char event[16];
	bool allow;
	char reason[CCU_REASON_CODE_MAX];
	uint64_t count;
};

struct broker_metrics {
	atomic_uint_fast64_t requests[NROUTES][NSTATUS];
	atomic_uint_fast64_t other_status[NROUTES]; /* value of the last "other" */
	atomic_uint_fast64_t buckets[NROUTES][NBUCKETS];
	atomic_uint_fast64_t count[NROUTES];
	atomic_uint_fast64_t sum_us[NROUTES];
	pthread_mutex_t lock;
	struct decision decisions[MAX_DECISIONS];
	size_t ndecisions;
	uint64_t decisions_dropped;
};

struct broker_metrics *broker_metrics_new(void)
{
	struct broker_metrics *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void broker_metrics_free(struct broker_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static size_t route_index(const char *route)
{
	for (size_t i = 0; i < NROUTES - 1; i++)
		if (route && strcmp(route, route_names[i]) == 0)
			return i;
	return NROUTES - 1;
}

void broker_metrics_request(struct broker_metrics *m, const char *route, int status,
			    uint64_t micros)
{
	size_t r = route_index(route), s;

	for (s = 0; s < NSTATUS - 1; s++)
		if (status_codes[s] == status)
			break;
	atomic_fetch_add(&m->requests[r][s], 1);
	for (size_t b = 0; b < NBUCKETS; b++)
		if (micros <= bucket_us[b])
			atomic_fetch_add(&m->buckets[r][b], 1);
	atomic_fetch_add(&m->count[r], 1);
	atomic_fetch_add(&m->sum_us[r], micros);
}

void broker_metrics_decision(struct broker_metrics *m, const char *event, bool allow,
			     const char *reason)
{
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->ndecisions; i++) {
		struct decision *d = &m->decisions[i];

		if (d->allow == allow && strcmp(d->event, event) == 0 &&
		    strcmp(d->reason, reason) == 0)
			break;
	}
	if (i == m->ndecisions) {
		if (i == MAX_DECISIONS) {
			m->decisions_dropped++;
			pthread_mutex_unlock(&m->lock);
			return;
		}
		snprintf(m->decisions[i].event, sizeof(m->decisions[i].event), "%s", event);
		snprintf(m->decisions[i].reason, sizeof(m->decisions[i].reason), "%s", reason);
		m->decisions[i].allow = allow;
		m->ndecisions++;
	}
	m->decisions[i].count++;
	pthread_mutex_unlock(&m->lock);
}

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) _printf_(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		char *nb = realloc(o->buf, o->cap * 2 + (size_t)n);

		if (!nb) {
			o->oom = true;
			return;
		}
		o->buf = nb;
		o->cap = o->cap * 2 + (size_t)n;
	}
}

static void render_requests(struct broker_metrics *m, struct out *o)
{
	put(o, "# HELP ccunlock_kbs_requests_total HTTP requests by route and status.\n"
	       "# TYPE ccunlock_kbs_requests_total counter\n");
	for (size_t r = 0; r < NROUTES; r++)
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t v = atomic_load(&m->requests[r][s]);

			if (!v)
				continue;
			if (s < NSTATUS - 1)
				put(o, "ccunlock_kbs_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
				    route_names[r], status_codes[s], (unsigned long long)v);
			else
				put(o, "ccunlock_kbs_requests_total{route=\"%s\",code=\"other\"} %llu\n",
				    route_names[r], (unsigned long long)v);
		}
	put(o, "# HELP ccunlock_kbs_request_duration_seconds Request handling time by route.\n"
	       "# TYPE ccunlock_kbs_request_duration_seconds histogram\n");
	for (size_t r = 0; r < NROUTES; r++) {
		uint64_t n = atomic_load(&m->count[r]);

		if (!n)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++)
			put(o,
			    "ccunlock_kbs_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
			    "%llu\n",
			    route_names[r], (double)bucket_us[b] / 1e6,
			    (unsigned long long)atomic_load(&m->buckets[r][b]));
		put(o,
		    "ccunlock_kbs_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
		    "ccunlock_kbs_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
		    "ccunlock_kbs_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    route_names[r], (unsigned long long)n, route_names[r],
		    (double)atomic_load(&m->sum_us[r]) / 1e6, route_names[r], (unsigned long long)n);
	}
}

char *broker_metrics_render(struct broker_metrics *m, size_t sessions, unsigned connections)
{
	struct out o = { .cap = 4096 };

	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	o.buf[0] = 0;
	render_requests(m, &o);
	put(&o, "# HELP ccunlock_kbs_decisions_total Attestation, release and admin decisions.\n"
		"# TYPE ccunlock_kbs_decisions_total counter\n");
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->ndecisions; i++) {
		const struct decision *d = &m->decisions[i];

		put(&o,
		    "ccunlock_kbs_decisions_total{event=\"%s\",decision=\"%s\",reason=\"%s\"} %llu\n",
		    d->event, d->allow ? "allow" : "deny", d->reason, (unsigned long long)d->count);
	}
	pthread_mutex_unlock(&m->lock);
	put(&o, "# HELP ccunlock_kbs_sessions Open RCAR sessions.\n"
		"# TYPE ccunlock_kbs_sessions gauge\nccunlock_kbs_sessions %zu\n"
		"# HELP ccunlock_kbs_connections Open TLS connections.\n"
		"# TYPE ccunlock_kbs_connections gauge\nccunlock_kbs_connections %u\n",
		sessions, connections);
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
