/*
 * /etc/ccunlock/ccunlock.conf (docs/ccunlock.8.md): strict key = value.
 * The file lives inside the initramfs, so it is trusted to name the broker
 * and its CA; it is still parsed strictly (operators write it by hand).
 *
 * Pure. Reason codes: CONFIG_SYNTAX, CONFIG_UNKNOWN_KEY, CONFIG_DUPLICATE_KEY
 * (common/conf.h), CONFIG_VALUE (a malformed value), CONFIG_MISSING (a
 * required key is absent).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "guest/build.h"

#define GUEST_CONFIG_PATH "/etc/ccunlock/ccunlock.conf"
#define GUEST_CONFIG_MAX_FILE (64 * 1024)
#define GUEST_DEADLINE_DEFAULT 120
#define GUEST_DEADLINE_MAX 3600
#define GUEST_URL_MAX 512
#define GUEST_MAX_BROKERS 8 /* broker_url lines */
#define GUEST_NAME_MAX 127 /* device-mapper names are < 128 bytes */
#define GUEST_PATH_MAX 4096
#define GUEST_PROVIDER_NAME_MAX 31

/* Posture levels, weakest first (comparisons rely on the order). */
enum guest_level {
	GUEST_LEVEL_NONE = 0,
	GUEST_LEVEL_SEV,
	GUEST_LEVEL_SEV_ES,
	GUEST_LEVEL_SNP,
};

/* "snp", "sev-es", "sev" -> level; -EINVAL otherwise. */
int guest_level_from_name(const char *s, enum guest_level *ret);
const char *guest_level_name(enum guest_level l); /* "none", "sev", "sev-es", "snp" */

struct guest_config {
	char *broker_url;  /* https://HOST[:PORT], no path: the first broker_url line */
	char *more_brokers[GUEST_MAX_BROKERS - 1]; /* further broker_url lines, in order */
	size_t n_more_brokers;
	char *broker_ca;   /* path of a PEM file */
	char *init_data;   /* NULL or the path of an init-data TOML document (kbs/initdata.h) */
	char *device;      /* NULL, "UUID=<uuid>" or a path */
	char *name;        /* device-mapper name */
	unsigned deadline; /* seconds */
	enum guest_level require;
	bool require_secure_boot;
	bool require_header_pin; /* refuse a released key without a LUKS2 header pin */
	char evidence[GUEST_PROVIDER_NAME_MAX + 1]; /* "auto" or a provider name */

	/* Test builds only (the keys are unknown to release builds). */
	char *simulator_dir;
	bool has_sim_policy;
	uint64_t sim_policy;
	bool has_sim_measurement;
	uint8_t sim_measurement[48];
};

void guest_config_defaults(struct guest_config *c);

/*
 * Parse @len bytes of @text. The known keys and the accepted `evidence`
 * values come from @b (simulator keys only in test builds). broker_url and
 * broker_ca are required unless @need_broker is false (commands that never
 * talk to a broker, e.g. `posture`). Fills @out (guest_config_done frees).
 */
int guest_config_parse(const char *text, size_t len, const struct guest_build *b, bool need_broker,
		       struct guest_config *out, struct ccu_reason *err);
void guest_config_done(struct guest_config *c);

/* broker_url check alone: https only, host (IP literal, [IPv6] or DNS name),
 * optional port 1..65535, nothing after it but an optional '/'. */
int guest_broker_url_check(const char *url, struct ccu_reason *err);
