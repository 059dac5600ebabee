#include "broker/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/codec.h"
#include "common/log.h"
#include "common/util.h"

/*
 * Group commit: every writer appends its line, then waits until an
 * fdatasync that started after its write has finished. One writer at a
 * time runs the fdatasync for everything written so far; the others wait
 * for it instead of queueing syncs of their own. A failed fdatasync leaves
 * the log broken for good: the kernel may have dropped the unsynced pages,
 * so no later line can be promised durable (fail closed).
 */
struct broker_audit {
	int fd; /* -1: no file */
	pthread_mutex_t lock;
	pthread_cond_t synced_cond;
	uint64_t written; /* lines written */
	uint64_t synced;  /* lines known durable */
	bool syncing;
	int broken;	  /* errno of a failed fdatasync, 0 when healthy */
};

int broker_audit_open(const char *path, struct broker_audit **ret, struct ccu_reason *err)
{
	struct broker_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	a->fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->synced_cond, NULL);
	if (path) {
		a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (a->fd < 0) {
			int e = errno;

			broker_audit_close(a);
			return ccu_fail(err, -e, "AUDIT_WRITE", "cannot open audit log '%s': %s",
					path, strerror(e));
		}
	}
	*ret = a;
	return 0;
}

void broker_audit_close(struct broker_audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->synced_cond);
	free(a);
}

static void set_hex(json_t *o, const char *key, const uint8_t *b, size_t n)
{
	char hex[2 * 64 + 1];

	if (n * 2 + 1 > sizeof(hex))
		return;
	ccu_hex_encode(b, n, hex, sizeof(hex));
	json_object_set_new(o, key, json_string(hex));
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void add_report(json_t *o, const struct broker_audit_rec *rec)
{
	const struct snp_report *r = rec->report;
	enum snp_product p = rec->product;
	struct snp_tcb tcb;
	char buf[96];

	if (!r)
		return;
	set_hex(o, "measurement", r->measurement, sizeof(r->measurement));
	/* Turin identifies the chip by its first 8 bytes only. */
	set_hex(o, "chip_id", r->chip_id, p == SNP_PRODUCT_TURIN ? 8 : sizeof(r->chip_id));
	if (p != SNP_PRODUCT_UNKNOWN && snp_tcb_decode(r->reported_tcb, p, &tcb))
		set_str(o, "reported_tcb", snp_tcb_format(&tcb, buf, sizeof(buf)));
	else
		set_hex(o, "reported_tcb", r->reported_tcb, sizeof(r->reported_tcb));
	json_object_set_new(o, "report_version", json_integer(r->version));
}

static json_t *build(const struct broker_audit_rec *rec)
{
	json_t *o = json_object();
	struct timeval tv;
	struct tm tm;
	char t[96];

	if (!o)
		return NULL;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(tv.tv_usec / 1000) % 1000u);
	set_str(o, "time", t);
	set_str(o, "event", rec->event);
	set_str(o, "action", rec->action);
	set_str(o, "session", rec->session);
	set_str(o, "peer", rec->peer);
	set_str(o, "resource", rec->resource);
	set_str(o, "policy", rec->policy);
	set_str(o, "decision", rec->allow ? "allow" : "deny");
	if (rec->reason && ccu_reason_is_set(rec->reason))
		json_object_set_new(o, "reason",
				    json_pack("{s:s,s:s}", "code", rec->reason->code, "detail",
					      rec->reason->detail));
	add_report(o, rec);
	if (rec->product != SNP_PRODUCT_UNKNOWN)
		set_str(o, "product", snp_product_name(rec->product));
	if (rec->signer >= 0)
		set_str(o, "signer", snp_signing_key_name((unsigned)rec->signer));
	if (rec->evidence_sha256)
		set_hex(o, "evidence_sha256", rec->evidence_sha256, 32);
	if (rec->init_data_alg && rec->init_data_digest) {
		json_t *i = json_object();

		if (i) {
			set_str(i, "algorithm", rec->init_data_alg);
			set_hex(i, "digest", rec->init_data_digest, rec->init_data_digest_len);
			json_object_set_new(o, "init_data", i);
		}
	}
	if (rec->additional_evidence_sha256) {
		json_t *e = json_object();

		if (e) {
			set_hex(e, "sha256", rec->additional_evidence_sha256, 32);
			set_str(e, "tees", rec->additional_evidence_tees);
			json_object_set_new(e, "verified", json_false());
			json_object_set_new(o, "additional_evidence", e);
		}
	}
	return o;
}

/* Called with a->lock held; returns once line @seq is durable. */
static int wait_durable(struct broker_audit *a, uint64_t seq, struct ccu_reason *err)
{
	while (a->synced < seq && !a->broken) {
		uint64_t target;
		int rc;

		if (a->syncing) {
			pthread_cond_wait(&a->synced_cond, &a->lock);
			continue;
		}
		a->syncing = true;
		target = a->written;
		pthread_mutex_unlock(&a->lock);
		rc = fdatasync(a->fd) < 0 ? errno : 0;
		pthread_mutex_lock(&a->lock);
		a->syncing = false;
		if (rc)
			a->broken = rc;
		else
			a->synced = target;
		pthread_cond_broadcast(&a->synced_cond);
	}
	if (a->synced >= seq)
		return 0;
	return ccu_fail(err, -a->broken, "AUDIT_WRITE", "cannot sync the audit log: %s",
			strerror(a->broken));
}

int broker_audit_write(struct broker_audit *a, const struct broker_audit_rec *rec,
		       struct ccu_reason *err)
{
	json_t *o = build(rec);
	char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	size_t len;
	ssize_t n;
	int r = 0;

	json_decref(o);
	if (!line)
		return ccu_fail(err, -ENOMEM, "AUDIT_WRITE", "cannot format the audit record");
	if (a->fd < 0) {
		log_info("audit: %s", line);
		free(line);
		return 0;
	}
	len = strlen(line);
	line[len] = '\n'; /* json_dumps' NUL becomes the line end */
	pthread_mutex_lock(&a->lock);
	if (a->broken) {
		r = ccu_fail(err, -a->broken, "AUDIT_WRITE",
			     "the audit log failed to sync earlier (%s); refusing to go on",
			     strerror(a->broken));
		goto out;
	}
	/* One write: O_APPEND keeps lines whole. A short write would leave
	 * half a line, so it counts as a failure. */
	n = write(a->fd, line, len + 1);
	if (n != (ssize_t)(len + 1)) {
		r = ccu_fail(err, n < 0 ? -errno : -EIO, "AUDIT_WRITE",
			     "cannot append to the audit log: %s",
			     n < 0 ? strerror(errno) : "short write");
		goto out;
	}
	r = wait_durable(a, ++a->written, err);
out:
	pthread_mutex_unlock(&a->lock);
	free(line);
	return r;
}
