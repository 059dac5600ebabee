/*
 * Init-data (Trustee kbs/docs/initdata.md, version 0.1.0): a TOML document
 * the host hands a CoCo/Kata guest at launch and binds into the report's
 * HOST_DATA:
 *
 *   algorithm = "sha384"          # sha256 | sha384 | sha512
 *   version = "0.1.0"
 *
 *   [data]
 *   "aa.toml" = '''
 *   ...
 *   '''
 *   "policy.rego" = "..."
 *
 * digest    = <algorithm>(the document's bytes, exactly as sent)
 * HOST_DATA = digest, zero-padded or truncated to 32 bytes
 *
 * (Trustee attestation-service parse_init_data + verifier regularize_data;
 * guest-components Initdata::parse_and_get_digest.)
 *
 * There is no C TOML library in Debian, and the document is untrusted
 * input, so this is a strict parser of the subset init-data uses: comments,
 * blank lines, two top-level keys "algorithm" and "version" with string
 * values, then one table [data] of string values. Keys are bare
 * ([A-Za-z0-9_-]+) or quoted ("basic" or 'literal'); values are any of the
 * four TOML string forms (basic, literal, and their multi-line forms, with
 * TOML 1.0 escapes). Everything else (other tables, arrays of tables, dotted
 * keys, inline tables, numbers, booleans, dates, arrays, duplicate keys,
 * unknown top-level keys, invalid UTF-8, control characters, a missing
 * [data] table) is refused, naming the line. Upstream ignores unknown
 * top-level keys; we do not (a future version would change the meaning).
 *
 * Pure. Reason code: KBS_INIT_DATA_DOC (syntax, shape, algorithm, version).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "kbs/preimage.h"

#define KBS_INITDATA_VERSION "0.1.0"
#define KBS_INITDATA_MAX (64 * 1024)     /* document bytes */
#define KBS_INITDATA_MAX_ENTRIES 256     /* members of [data] */
#define KBS_INITDATA_MAX_KEY 256         /* bytes of a decoded key */
#define KBS_INITDATA_HOST_DATA_LEN 32

struct kbs_initdata {
	enum kbs_hash_alg alg;
	uint8_t digest[KBS_DIGEST_MAX]; /* alg over the whole document */
	size_t digest_len;
	uint8_t host_data[KBS_INITDATA_HOST_DATA_LEN]; /* digest regularised to 32 bytes */
	size_t n_data;				       /* members of [data] */
};

/* Parse and digest @len bytes of @doc. 0, or -EBADMSG / -EMSGSIZE /
 * -ENOTSUP (algorithm) with KBS_INIT_DATA_DOC. */
int kbs_initdata_parse(const char *doc, size_t len, struct kbs_initdata *out,
		       struct ccu_reason *err);

/* Trustee's regularize_data for HOST_DATA: @n digest bytes zero-padded or
 * truncated to 32. */
void kbs_initdata_host_data(const uint8_t *digest, size_t n,
			    uint8_t out[KBS_INITDATA_HOST_DATA_LEN]);
