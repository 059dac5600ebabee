/*
 * AMD's Key Distribution Server (KDS) client: one bounded GET.
 *
 * What the broker asks AMD for (VCEKs, ASK/ASVK + ARK chains) is public and
 * verified afterwards (snp_verify), but a fetch sits on the path of an
 * attestation, so every cost is bounded:
 *   - each request has the configured timeout (connect + transfer);
 *   - at most BROKER_KDS_ATTEMPTS requests per fetch, and never more than
 *     BROKER_KDS_TOTAL seconds spent in one fetch (waits included);
 *   - 404 is final (AMD knows no such chip/TCB): no retry;
 *   - 429 and 503 are retried after Retry-After (seconds or HTTP date),
 *     when it asks for at most BROKER_KDS_MAX_RETRY_AFTER seconds, else
 *     refused at once; other 5xx and transport errors after
 *     BROKER_KDS_BACKOFF seconds;
 *   - bodies are at most BROKER_KDS_MAX_BODY bytes; redirects are not
 *     followed; only https (http for a 127.0.0.1 stand-in, config.c).
 * Results are cached on disk by the caller (certsrc.c), keyed by product,
 * chip and TCB, so a chip's VCEK is fetched once per TCB.
 *
 * Reason codes: KDS_NOT_FOUND (404), KDS_RATE_LIMITED (429/503 asking for
 * too long a wait, or still limited after the last attempt), KDS_FETCH
 * (transport errors, timeouts, other statuses, oversized bodies).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"

#define BROKER_KDS_MAX_BODY (64 * 1024)
#define BROKER_KDS_ATTEMPTS 3
#define BROKER_KDS_TOTAL 30	       /* seconds, one fetch including waits */
#define BROKER_KDS_MAX_RETRY_AFTER 5   /* seconds we are willing to wait */
#define BROKER_KDS_BACKOFF 1	       /* seconds before retrying a 5xx/transport error */

struct broker_kds_stats {
	unsigned requests; /* HTTP requests made */
	unsigned waited;   /* seconds slept between them */
};

/*
 * GET @base@path with @timeout seconds per request. On success *@ret is a
 * malloc'ed body of *@len (>= 1) bytes. @stats may be NULL.
 */
int broker_kds_get(const char *base, const char *path, unsigned timeout, uint8_t **ret,
		   size_t *len, struct broker_kds_stats *stats, struct ccu_reason *err);
