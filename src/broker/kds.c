#include "broker/kds.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"

#define KDS_URL_MAX 1024

struct body {
	uint8_t *data;
	size_t len;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t l = size * n;
	uint8_t *nd;

	if (b->len + l > BROKER_KDS_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	nd = realloc(b->data, b->len + l + 1);
	if (!nd)
		return 0;
	b->data = nd;
	memcpy(b->data + b->len, p, l);
	b->len += l;
	return l;
}

struct one {
	CURLcode rc;
	long status;
	long retry_after; /* seconds, -1 when absent */
	struct body b;
};

static void one_get(const char *url, unsigned timeout, struct one *o)
{
	CURL *c = curl_easy_init();
	curl_off_t ra = -1;

	memset(o, 0, sizeof(*o));
	o->retry_after = -1;
	if (!c) {
		o->rc = CURLE_OUT_OF_MEMORY;
		return;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &o->b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)BROKER_KDS_MAX_BODY);
	o->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &o->status);
	/* seconds, from "Retry-After: N" or an HTTP date */
	if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		o->retry_after = (long)ra;
	curl_easy_cleanup(c);
}

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int broker_kds_get(const char *base, const char *path, unsigned timeout, uint8_t **ret,
		   size_t *len, struct broker_kds_stats *stats, struct ccu_reason *err)
{
	struct broker_kds_stats local = { 0 };
	char url[KDS_URL_MAX];
	time_t start = mono();
	int r = -EIO;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	*ret = NULL;
	*len = 0;
	if (!base || snprintf(url, sizeof(url), "%s%s", base, path) >= (int)sizeof(url))
		return ccu_fail(err, -ENAMETOOLONG, "KDS_FETCH", "KDS URL missing or too long");
	for (unsigned attempt = 1; attempt <= BROKER_KDS_ATTEMPTS; attempt++) {
		struct one o;
		long wait;

		one_get(url, timeout, &o);
		stats->requests++;
		if (o.rc == CURLE_OK && o.status == 200 && o.b.len && !o.b.too_big) {
			*ret = o.b.data;
			*len = o.b.len;
			return 0;
		}
		free(o.b.data);
		if (o.b.too_big || o.rc == CURLE_FILESIZE_EXCEEDED)
			return ccu_fail(err, -EMSGSIZE, "KDS_FETCH",
					"GET %s: body larger than %d bytes", url,
					BROKER_KDS_MAX_BODY);
		if (o.rc == CURLE_OK && o.status == 404)
			return ccu_fail(err, -ENOENT, "KDS_NOT_FOUND",
					"GET %s: 404, AMD's key server has no such certificate", url);
		if (o.rc == CURLE_OK && (o.status == 429 || o.status == 503)) {
			wait = o.retry_after >= 0 ? o.retry_after : BROKER_KDS_BACKOFF;
			if (wait > BROKER_KDS_MAX_RETRY_AFTER)
				return ccu_fail(err, -EAGAIN, "KDS_RATE_LIMITED",
						"GET %s: %ld, Retry-After %ld s is more than the "
						"%d s this broker waits",
						url, o.status, wait, BROKER_KDS_MAX_RETRY_AFTER);
			r = ccu_fail(err, -EAGAIN, "KDS_RATE_LIMITED",
				     "GET %s: still %ld after %u attempts", url, o.status, attempt);
		} else if (o.rc == CURLE_OK && o.status >= 500) {
			wait = BROKER_KDS_BACKOFF;
			r = ccu_fail(err, -EIO, "KDS_FETCH", "GET %s: status %ld after %u attempt%s",
				     url, o.status, attempt, attempt == 1 ? "" : "s");
		} else if (o.rc != CURLE_OK) {
			wait = BROKER_KDS_BACKOFF;
			r = ccu_fail(err, -EIO, "KDS_FETCH", "GET %s: %s (%u attempt%s, %u s each)",
				     url, curl_easy_strerror(o.rc), attempt, attempt == 1 ? "" : "s",
				     timeout);
		} else {
			/* 200 with an empty body, 3xx, other 4xx: not worth a retry */
			return ccu_fail(err, -EIO, "KDS_FETCH", "GET %s: status %ld%s", url,
					o.status, o.status == 200 ? " with an empty body" : "");
		}
		if (attempt == BROKER_KDS_ATTEMPTS ||
		    mono() - start + wait + (time_t)timeout > BROKER_KDS_TOTAL)
			break;
		log_info("KDS %s: retrying in %ld s (%s)", url, wait, err ? err->detail : "");
		sleep((unsigned)wait);
		stats->waited += (unsigned)wait;
	}
	return r;
}
