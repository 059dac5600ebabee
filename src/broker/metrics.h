/*
 * Prometheus metrics of the broker. Counters are atomics (request path) or
 * a small mutex-protected table (decisions, whose reason codes are open
 * ended but few). Rendered as text exposition format 0.0.4 by /metrics:
 *
 *   ccunlock_kbs_requests_total{route,code}
 *   ccunlock_kbs_decisions_total{event,decision,reason}
 *   ccunlock_kbs_request_duration_seconds{route} (histogram)
 *   ccunlock_kbs_sessions, ccunlock_kbs_connections (gauges)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker_metrics;

struct broker_metrics *broker_metrics_new(void);
void broker_metrics_free(struct broker_metrics *m);

void broker_metrics_request(struct broker_metrics *m, const char *route, int status,
			    uint64_t micros);
/* @reason: a reason code, or "" for an allow. */
void broker_metrics_decision(struct broker_metrics *m, const char *event, bool allow,
			     const char *reason);

/* Text exposition (malloc'ed, NUL-terminated), or NULL on ENOMEM. */
char *broker_metrics_render(struct broker_metrics *m, size_t sessions, unsigned connections);
