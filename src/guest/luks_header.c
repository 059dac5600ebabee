#include "guest/luks_header.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/macros.h"
#include "common/util.h"

#define REFUSE(err, ...) ccu_fail((err), -EBADMSG, "LUKS_HEADER_REFUSED", __VA_ARGS__)

/* Binary header layout (big-endian numbers). */
#define OFF_MAGIC 0
#define OFF_VERSION 6
#define OFF_HDR_SIZE 8
#define OFF_SEQID 16
#define OFF_CSUM_ALG 72
#define OFF_UUID 168
#define OFF_HDR_OFFSET 256
#define OFF_CSUM 448
#define LEN_CSUM_ALG 32
#define LEN_UUID 40
#define LEN_CSUM 64
#define AREA_ALIGN 4096
#define U64_DIGITS_MAX 20

static const uint8_t magic1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const uint8_t magic2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };


static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static bool hdr_size_ok(uint64_t s)
{
	for (uint64_t v = GUEST_LUKS_HDR_SIZE_MIN; v <= GUEST_LUKS_HDR_SIZE_MAX; v *= 2)
		if (s == v)
			return true;
	return false;
}

/* A fixed-size NUL-padded string field: terminated, printable. */
static bool field_str(const uint8_t *p, size_t len, char *out)
{
	size_t n = strnlen((const char *)p, len);

	if (n == len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static int bin_check(const uint8_t *h, const uint8_t magic[6], uint64_t want_offset,
		     uint64_t *hdr_size, const char *which, struct ccu_reason *err)
{
	char alg[LEN_CSUM_ALG];

	if (memcmp(h + OFF_MAGIC, magic, 6) != 0)
		return REFUSE(err, "%s binary header: no LUKS magic", which);
	if (h[OFF_VERSION] != 0 || h[OFF_VERSION + 1] != 2)
		return REFUSE(err, "%s binary header: version %u, only LUKS2",
			      which, (unsigned)h[OFF_VERSION] << 8 | h[OFF_VERSION + 1]);
	*hdr_size = be64(h + OFF_HDR_SIZE);
	if (!hdr_size_ok(*hdr_size))
		return REFUSE(err, "%s binary header: hdr_size %llu", which,
			      (unsigned long long)*hdr_size);
	if (be64(h + OFF_HDR_OFFSET) != want_offset)
		return REFUSE(err, "%s binary header: hdr_offset %llu, expected %llu", which,
			      (unsigned long long)be64(h + OFF_HDR_OFFSET),
			      (unsigned long long)want_offset);
	if (!field_str(h + OFF_CSUM_ALG, LEN_CSUM_ALG, alg) || strcmp(alg, "sha256") != 0)
		return REFUSE(err, "%s binary header: checksum algorithm is not sha256", which);
	return 0;
}

static int csum_ok(const uint8_t *h, uint64_t hdr_size)
{
	static const uint8_t zero[LEN_CSUM];
	uint8_t d[32];
	unsigned int n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, h, OFF_CSUM) == 1 &&
		 EVP_DigestUpdate(md, zero, LEN_CSUM) == 1 &&
		 EVP_DigestUpdate(md, h + OFF_CSUM + LEN_CSUM, hdr_size - OFF_CSUM - LEN_CSUM) == 1 &&
		 EVP_DigestFinal_ex(md, d, &n) == 1 && n == sizeof(d);

	EVP_MD_CTX_free(md);
	if (!ok)
		return -EIO;
	if (memcmp(d, h + OFF_CSUM, sizeof(d)) != 0)
		return -EBADMSG;
	for (size_t i = sizeof(d); i < LEN_CSUM; i++)
		if (h[OFF_CSUM + i] != 0)
			return -EBADMSG;
	return 0;
}

int guest_luks_hdr_need(const uint8_t *buf, size_t len, size_t *need, struct ccu_reason *err)
{
	uint64_t hs;
	int r;

	if (len < GUEST_LUKS_HDR_BIN_SIZE) {
		*need = GUEST_LUKS_HDR_BIN_SIZE;
		return 0;
	}
	r = bin_check(buf, magic1, 0, &hs, "primary", err);
	if (r < 0)
		return r;
	if (len < 2 * hs) {
		*need = 2 * hs;
		return 0;
	}
	r = csum_ok(buf, hs);
	if (r == -EIO)
		return ccu_fail(err, r, "INTERNAL", "SHA-256 failed");
	if (r < 0)
		return REFUSE(err, "primary header checksum does not match");
	/* The primary's config.keyslots_size says where the copy ends. */
	size_t jlen = strnlen((const char *)buf + GUEST_LUKS_HDR_BIN_SIZE,
			      hs - GUEST_LUKS_HDR_BIN_SIZE);
	json_error_t je;
	_cleanup_(json_decrefp) json_t *j =
		json_loadb((const char *)buf + GUEST_LUKS_HDR_BIN_SIZE, jlen,
			   JSON_REJECT_DUPLICATES, &je);
	json_t *ks = json_object_get(json_object_get(j, "config"), "keyslots_size");
	uint64_t v;
	if (!json_is_string(ks) || json_string_length(ks) > U64_DIGITS_MAX ||
	    ccu_parse_u64(json_string_value(ks), GUEST_LUKS_KEYSLOTS_SIZE_MAX, false, &v) < 0)
		return REFUSE(err, "config.keyslots_size missing or above %d", GUEST_LUKS_KEYSLOTS_SIZE_MAX);
	*need = (size_t)(2 * hs + v);
	return 0;
}

/* ------------------------------------------------------------ JSON helpers */

/* @o is an object whose members are all in @allowed (NULL-terminated). */
static bool only_members(json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return false;
	json_object_foreach(o, k, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok = ok || strcmp(k, *a) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* A LUKS2 number-as-string: decimal, no sign, no leading zero, <= max. */
static bool u64str(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > U64_DIGITS_MAX)
		return false;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return ccu_parse_u64(s, max, false, out) == 0;
}

static bool intval(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	if (out)
		*out = json_integer_value(v);
	return true;
}

static bool streq(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
	       strcmp(json_string_value(v), want) == 0;
}

static bool str_in(json_t *o, const char *key, const char *const *set)
{
	for (const char *const *s = set; *s; s++)
		if (streq(o, key, *s))
			return true;
	return false;
}

/* "N" for 0..max, decimal without leading zeros. */
static int id_of(const char *k, int max)
{
	uint64_t v;

	if (k[0] == '\0' || (k[0] == '0' && k[1] != '\0') || strlen(k) > 2)
		return -1;
	for (const char *p = k; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	if (ccu_parse_u64(k, (uint64_t)max, false, &v) < 0)
		return -1;
	return (int)v;
}

/* A printable description of a string member for refusals. */
static const char *shown(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

/* ------------------------------------------------------------ parts */

struct ctx {
	const uint8_t *buf;
	struct guest_luks_hdr *h;
	struct ccu_reason *err;
	uint64_t ks_begin, ks_end; /* the keyslots area, in the copy */
	uint64_t areas[GUEST_LUKS_MAX_KEYSLOTS][2];
	unsigned nareas;
};

static int check_config(struct ctx *c, json_t *cfg)
{
	static const char *const members[] = { "json_size", "keyslots_size", "flags", NULL };
	static const char *const flags[] = { "allow-discards", "same-cpu-crypt",
					     "submit-from-crypt-cpus", "no-read-workqueue",
					     "no-write-workqueue", NULL };
	uint64_t js, ks;

	if (json_object_get(cfg, "requirements"))
		return REFUSE(c->err, "config.requirements present (online reencryption or an "
				      "unknown feature)");
	if (!only_members(cfg, members))
		return REFUSE(c->err, "config: not an object or an unknown member");
	if (!u64str(cfg, "json_size", GUEST_LUKS_HDR_SIZE_MAX, &js) ||
	    js != c->h->hdr_size - GUEST_LUKS_HDR_BIN_SIZE)
		return REFUSE(c->err, "config.json_size does not match hdr_size %llu",
			      (unsigned long long)c->h->hdr_size);
	if (!u64str(cfg, "keyslots_size", GUEST_LUKS_KEYSLOTS_SIZE_MAX, &ks) || ks % AREA_ALIGN)
		return REFUSE(c->err, "config.keyslots_size missing, unaligned or above %d",
			      GUEST_LUKS_KEYSLOTS_SIZE_MAX);
	c->h->keyslots_size = ks;
	json_t *fl = json_object_get(cfg, "flags");
	if (fl) {
		size_t i;
		json_t *f;
		if (!json_is_array(fl) || json_array_size(fl) > 8)
			return REFUSE(c->err, "config.flags: not a short array");
		json_array_foreach(fl, i, f) {
			bool ok = false;
			for (const char *const *k = flags; *k && json_is_string(f); k++)
				ok = ok || strcmp(json_string_value(f), *k) == 0;
			if (!ok)
				return REFUSE(c->err, "config.flags: unknown flag %s",
					      json_is_string(f) ? json_string_value(f) : "(not a string)");
		}
	}
	return 0;
}

static int check_segments(struct ctx *c, json_t *segs)
{
	static const char *const members[] = { "type", "offset", "size", "iv_tweak",
					       "encryption", "sector_size", NULL };
	json_t *s = json_object_get(segs, "0");
	json_int_t ss;
	uint64_t off, size = 0;

	if (!json_is_object(segs) || json_object_size(segs) != 1 || !s)
		return REFUSE(c->err, "segments: %zu, expected exactly one (\"0\")",
			      json_is_object(segs) ? json_object_size(segs) : 0);
	if (!streq(s, "type", "crypt"))
		return REFUSE(c->err, "segment 0: type %s, expected crypt", shown(s, "type"));
	if (json_object_get(s, "integrity"))
		return REFUSE(c->err, "segment 0: integrity protection is not in the template");
	if (json_object_get(s, "flags"))
		return REFUSE(c->err, "segment 0: flags (reencryption in progress?)");
	if (!only_members(s, members))
		return REFUSE(c->err, "segment 0: an unknown member");
	if (!streq(s, "encryption", GUEST_LUKS_CIPHER))
		return REFUSE(c->err, "segment 0: cipher %s, only %s is allowed",
			      shown(s, "encryption"), GUEST_LUKS_CIPHER);
	if (!streq(s, "iv_tweak", "0"))
		return REFUSE(c->err, "segment 0: iv_tweak is not 0");
	if (!intval(s, "sector_size", 512, 4096, &ss) || (ss & (ss - 1)) != 0)
		return REFUSE(c->err, "segment 0: sector_size not 512..4096");
	if (!u64str(s, "offset", UINT64_MAX / 2, &off) || off % (uint64_t)ss || off % 512)
		return REFUSE(c->err, "segment 0: offset missing or not sector-aligned");
	if (off < c->ks_end)
		return REFUSE(c->err, "segment 0: offset %llu inside the metadata (ends at %llu)",
			      (unsigned long long)off, (unsigned long long)c->ks_end);
	if (!streq(s, "size", "dynamic") &&
	    (!u64str(s, "size", UINT64_MAX / 2, &size) || size == 0 || size % (uint64_t)ss))
		return REFUSE(c->err, "segment 0: size is neither dynamic nor a sector multiple");
	c->h->seg_offset = off;
	c->h->seg_size = size;
	c->h->sector_size = (uint32_t)ss;
	return 0;
}

static int check_keyslot(struct ctx *c, const char *id, json_t *k)
{
	static const char *const members[] = { "type", "key_size", "af", "area", "kdf",
					       "priority", NULL };
	static const char *const af_members[] = { "type", "stripes", "hash", NULL };
	static const char *const area_members[] = { "type", "offset", "size", "encryption",
						    "key_size", NULL };
	static const char *const hashes[] = { "sha1", "sha256", "sha512", NULL };
	static const char *const kdfs[] = { "pbkdf2", "argon2i", "argon2id", NULL };
	json_t *af = json_object_get(k, "af"), *area = json_object_get(k, "area");
	json_t *kdf = json_object_get(k, "kdf");
	uint64_t off, size;

	if (!streq(k, "type", "luks2"))
		return REFUSE(c->err, "keyslot %s: type %s (reencryption?), expected luks2", id,
			      shown(k, "type"));
	if (!only_members(k, members) || !only_members(af, af_members) ||
	    !only_members(area, area_members) || !json_is_object(kdf))
		return REFUSE(c->err, "keyslot %s: an unknown or missing member", id);
	if (!intval(k, "key_size", GUEST_LUKS_VOLUME_KEY_SIZE, GUEST_LUKS_VOLUME_KEY_SIZE, NULL))
		return REFUSE(c->err, "keyslot %s: key_size is not %d", id,
			      GUEST_LUKS_VOLUME_KEY_SIZE);
	if (json_object_get(k, "priority") && !intval(k, "priority", 0, 2, NULL))
		return REFUSE(c->err, "keyslot %s: priority not 0..2", id);
	if (!streq(af, "type", "luks1") ||
	    !intval(af, "stripes", GUEST_LUKS_AF_STRIPES, GUEST_LUKS_AF_STRIPES, NULL) ||
	    !str_in(af, "hash", hashes))
		return REFUSE(c->err, "keyslot %s: anti-forensic splitter not luks1/%d stripes", id,
			      GUEST_LUKS_AF_STRIPES);
	if (!streq(area, "type", "raw"))
		return REFUSE(c->err, "keyslot %s: area type %s, expected raw", id,
			      shown(area, "type"));
	if (!streq(area, "encryption", GUEST_LUKS_CIPHER))
		return REFUSE(c->err, "keyslot %s: area cipher %s, only %s is allowed", id,
			      shown(area, "encryption"), GUEST_LUKS_CIPHER);
	if (!intval(area, "key_size", GUEST_LUKS_VOLUME_KEY_SIZE, GUEST_LUKS_VOLUME_KEY_SIZE,
		    NULL))
		return REFUSE(c->err, "keyslot %s: area key_size is not %d", id,
			      GUEST_LUKS_VOLUME_KEY_SIZE);
	if (!u64str(area, "offset", UINT64_MAX / 2, &off) || !u64str(area, "size", UINT64_MAX / 2,
								     &size) ||
	    off % AREA_ALIGN || size == 0 || size % AREA_ALIGN || off < c->ks_begin ||
	    size > c->ks_end - c->ks_begin || off > c->ks_end - size)
		return REFUSE(c->err, "keyslot %s: area not inside the keyslots area", id);
	for (unsigned i = 0; i < c->nareas; i++)
		if (off < c->areas[i][0] + c->areas[i][1] && c->areas[i][0] < off + size)
			return REFUSE(c->err, "keyslot %s: area overlaps another keyslot's", id);
	c->areas[c->nareas][0] = off;
	c->areas[c->nareas][1] = size;
	c->nareas++;
	if (!str_in(kdf, "type", kdfs))
		return REFUSE(c->err, "keyslot %s: kdf %s", id, shown(kdf, "type"));
	return 0;
}

static int check_ours(struct ctx *c, json_t *k)
{
	static const char *const kdf_members[] = { "type", "hash", "iterations", "salt", NULL };
	/* what our enrolment writes: AF-split 64-byte key, rounded to 4096 */
	const uint64_t want = ((uint64_t)GUEST_LUKS_VOLUME_KEY_SIZE * GUEST_LUKS_AF_STRIPES +
			       AREA_ALIGN - 1) / AREA_ALIGN * AREA_ALIGN;
	json_t *kdf = json_object_get(k, "kdf"), *area = json_object_get(k, "area");
	uint64_t off, size;

	if (!streq(kdf, "type", "pbkdf2") || !only_members(kdf, kdf_members) ||
	    !streq(kdf, "hash", "sha256") || !intval(kdf, "iterations", 1, INT32_MAX, NULL) ||
	    !json_is_string(json_object_get(kdf, "salt")))
		return REFUSE(c->err, "keyslot %d (ours): kdf is not pbkdf2/sha256",
			      c->h->keyslot);
	(void)u64str(area, "offset", UINT64_MAX / 2, &off);
	(void)u64str(area, "size", UINT64_MAX / 2, &size);
	if (size != want)
		return REFUSE(c->err, "keyslot %d (ours): area size %llu, enrolment writes %llu",
			      c->h->keyslot, (unsigned long long)size, (unsigned long long)want);
	c->h->area_offset = off;
	c->h->area_size = size;
	return 0;
}

static int check_keyslots(struct ctx *c, json_t *kss)
{
	const char *k;
	json_t *v;

	if (!json_is_object(kss) || json_object_size(kss) > GUEST_LUKS_MAX_KEYSLOTS)
		return REFUSE(c->err, "keyslots: not an object of at most %d",
			      GUEST_LUKS_MAX_KEYSLOTS);
	json_object_foreach(kss, k, v) {
		if (id_of(k, GUEST_LUKS_MAX_KEYSLOTS - 1) < 0)
			return REFUSE(c->err, "keyslots: bad id");
		int r = check_keyslot(c, k, v);
		if (r < 0)
			return r;
	}
	c->h->nkeyslots = (unsigned)json_object_size(kss);
	return 0;
}

static bool array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static int check_digests(struct ctx *c, json_t *ds, json_t *kss)
{
	static const char *const members[] = { "type", "keyslots", "segments", "hash",
					       "iterations", "salt", "digest", NULL };
	json_t *d = json_object_get(ds, "0"), *ksl, *segs;
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(ds) || json_object_size(ds) != 1 || !d)
		return REFUSE(c->err, "digests: %zu, expected exactly one (\"0\")",
			      json_is_object(ds) ? json_object_size(ds) : 0);
	if (!only_members(d, members) || !streq(d, "type", "pbkdf2"))
		return REFUSE(c->err, "digest 0: not a pbkdf2 digest");
	segs = json_object_get(d, "segments");
	if (!json_is_array(segs) || json_array_size(segs) != 1 || !array_has(segs, "0"))
		return REFUSE(c->err, "digest 0: not bound to exactly segment 0");
	ksl = json_object_get(d, "keyslots");
	if (!json_is_array(ksl) || json_array_size(ksl) != json_object_size(kss))
		return REFUSE(c->err, "digest 0: does not bind every keyslot");
	json_array_foreach(ksl, i, v)
		if (!json_is_string(v) || !json_object_get(kss, json_string_value(v)))
			return REFUSE(c->err, "digest 0: names a keyslot that does not exist");
	json_object_foreach(kss, k, v)
		if (!array_has(ksl, k))
			return REFUSE(c->err, "keyslot %s is not bound to digest 0", k);
	return 0;
}

static int check_tokens(struct ctx *c, json_t *ts, unsigned flags)
{
	const char *k;
	json_t *v;
	int found = 0;

	if (!json_is_object(ts) || json_object_size(ts) > GUEST_LUKS_HDR_MAX_TOKENS)
		return REFUSE(c->err, "tokens: not an object of at most %d",
			      GUEST_LUKS_HDR_MAX_TOKENS);
	json_object_foreach(ts, k, v) {
		int id = id_of(k, GUEST_LUKS_HDR_MAX_TOKENS - 1);
		if (id < 0 || !json_is_object(v) || !json_is_string(json_object_get(v, "type")) ||
		    !json_is_array(json_object_get(v, "keyslots")))
			return REFUSE(c->err, "token %s: malformed", k);
		if (!streq(v, "type", GUEST_TOKEN_TYPE))
			continue;
		if (++found > 1)
			return REFUSE(c->err, "more than one %s token", GUEST_TOKEN_TYPE);
		_cleanup_free_ char *text = json_dumps(v, JSON_COMPACT);
		struct ccu_reason why;
		if (!text)
			return ccu_fail(c->err, -ENOMEM, "INTERNAL", "out of memory");
		if (guest_token_parse(text, strlen(text), &c->h->token, &why) < 0)
			return ccu_fail(c->err, -EBADMSG, why.code, "token %s: %s", k, why.detail);
		c->h->has_token = true;
		c->h->token_id = id;
	}
	if ((flags & GUEST_LUKS_HDR_NEED_TOKEN) && !found)
		return ccu_fail(c->err, -ENOENT, "LUKS_NO_TOKEN", "no %s token", GUEST_TOKEN_TYPE);
	return 0;
}

static int pin_of(struct ctx *c, json_t *root, json_t *ours, char *ks_id)
{
	_cleanup_(json_decrefp) json_t *o = json_object();
	_cleanup_(json_decrefp) json_t *dg = json_deep_copy(
		json_object_get(json_object_get(root, "digests"), "0"));
	_cleanup_(json_decrefp) json_t *ks = json_deep_copy(ours);
	_cleanup_free_ char *text = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t be[8];
	unsigned int outlen = 0;
	int ok;

	if (!o || !dg || !ks)
		return ccu_fail(c->err, -ENOMEM, "INTERNAL", "out of memory");
	json_object_del(dg, "keyslots");
	json_object_del(ks, "priority");
	ok = json_object_set_new(o, "uuid", json_string(c->h->uuid)) == 0 &&
	     json_object_set(o, "config", json_object_get(root, "config")) == 0 &&
	     json_object_set(o, "segment",
			     json_object_get(json_object_get(root, "segments"), "0")) == 0 &&
	     json_object_set(o, "digest", dg) == 0 &&
	     json_object_set_new(o, "keyslot_id", json_string(ks_id)) == 0 &&
	     json_object_set(o, "keyslot", ks) == 0;
	if (ok)
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!ok || !text)
		return ccu_fail(c->err, -ENOMEM, "INTERNAL", "out of memory");
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, GUEST_LUKS_PIN_CONTEXT, sizeof(GUEST_LUKS_PIN_CONTEXT)) == 1;
	for (int part = 0; ok && part < 2; part++) {
		const uint8_t *p = part == 0 ? (const uint8_t *)text : c->buf + c->h->area_offset;
		uint64_t n = part == 0 ? strlen(text) : c->h->area_size;
		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)(n >> (56 - 8 * i));
		ok = EVP_DigestUpdate(md, be, sizeof(be)) == 1 && EVP_DigestUpdate(md, p, n) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(md, c->h->pin, &outlen) == 1 && outlen == GUEST_LUKS_PIN_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		return ccu_fail(c->err, -EIO, "INTERNAL", "SHA-256 failed");
	return 0;
}

int guest_luks_hdr_check(const uint8_t *buf, size_t len, int keyslot, unsigned flags,
			 struct guest_luks_hdr *out, struct ccu_reason *err)
{
	static const char *const top[] = { "keyslots", "tokens", "segments", "digests",
					   "config", NULL };
	struct ctx c = { .buf = buf, .h = out, .err = err };
	uint64_t hs, hs2;
	size_t need;
	int r;

	memset(out, 0, sizeof(*out));
	out->keyslot = -1;
	out->token_id = -1;
	if (len < GUEST_LUKS_HDR_BIN_SIZE || len > GUEST_LUKS_COPY_MAX)
		return REFUSE(err, "header copy of %zu bytes", len);
	r = bin_check(buf, magic1, 0, &hs, "primary", err);
	if (r < 0)
		return r;
	if (len < 2 * hs)
		return REFUSE(err, "header copy of %zu bytes, shorter than both headers", len);
	r = bin_check(buf + hs, magic2, hs, &hs2, "secondary", err);
	if (r < 0)
		return r;
	if (hs2 != hs)
		return REFUSE(err, "the two binary headers disagree on hdr_size");
	for (int i = 0; i < 2; i++) {
		r = csum_ok(buf + i * hs, hs);
		if (r == -EIO)
			return ccu_fail(err, r, "INTERNAL", "SHA-256 failed");
		if (r < 0)
			return REFUSE(err, "%s header checksum does not match",
				      i ? "secondary" : "primary");
	}
	if (be64(buf + OFF_SEQID) != be64(buf + hs + OFF_SEQID) ||
	    memcmp(buf + OFF_UUID, buf + hs + OFF_UUID, LEN_UUID) != 0 ||
	    memcmp(buf + GUEST_LUKS_HDR_BIN_SIZE, buf + hs + GUEST_LUKS_HDR_BIN_SIZE,
		   hs - GUEST_LUKS_HDR_BIN_SIZE) != 0)
		return REFUSE(err, "primary and secondary headers differ (seqid, UUID or JSON)");
	if (!field_str(buf + OFF_UUID, LEN_UUID, out->uuid))
		return REFUSE(err, "binary header: UUID not a string");
	out->hdr_size = hs;
	out->seqid = be64(buf + OFF_SEQID);

	const char *json = (const char *)buf + GUEST_LUKS_HDR_BIN_SIZE;
	size_t jarea = hs - GUEST_LUKS_HDR_BIN_SIZE, jlen = strnlen(json, jarea);
	if (jlen == jarea)
		return REFUSE(err, "JSON area not terminated");
	for (size_t i = jlen; i < jarea; i++)
		if (json[i] != '\0')
			return REFUSE(err, "bytes after the JSON text");
	json_error_t je;
	_cleanup_(json_decrefp) json_t *root = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return REFUSE(err, "JSON area: %s (line %d)", je.text, je.line);
	if (!only_members(root, top) || json_object_size(root) != 5)
		return REFUSE(err, "JSON: not exactly keyslots, tokens, segments, digests, config");
	r = check_config(&c, json_object_get(root, "config"));
	if (r < 0)
		return r;
	need = (size_t)(2 * hs + out->keyslots_size);
	if (len != need)
		return REFUSE(err, "header copy of %zu bytes, the metadata area is %zu", len, need);
	c.ks_begin = 2 * hs;
	c.ks_end = need;
	json_t *kss = json_object_get(root, "keyslots");
	r = check_segments(&c, json_object_get(root, "segments"));
	if (r == 0)
		r = check_keyslots(&c, kss);
	if (r == 0)
		r = check_digests(&c, json_object_get(root, "digests"), kss);
	if (r == 0)
		r = check_tokens(&c, json_object_get(root, "tokens"), flags);
	if (r < 0)
		return r;
	if (keyslot < 0) {
		if (!out->has_token)
			return ccu_fail(err, -ENOENT, "LUKS_NO_TOKEN", "no %s token",
					GUEST_TOKEN_TYPE);
		keyslot = out->token.keyslot;
	} else if ((flags & GUEST_LUKS_HDR_NEED_TOKEN) && out->token.keyslot != keyslot) {
		return REFUSE(err, "the %s token names keyslot %d, not %d", GUEST_TOKEN_TYPE,
			      out->token.keyslot, keyslot);
	}
	char ks_id[4];
	snprintf(ks_id, sizeof(ks_id), "%d", keyslot);
	json_t *ours = json_object_get(kss, ks_id);
	if (!ours)
		return ccu_fail(err, -ENOENT, "LUKS_KEYSLOT", "keyslot %d is not an active keyslot",
				keyslot);
	out->keyslot = keyslot;
	r = check_ours(&c, ours);
	if (r < 0)
		return r;
	return pin_of(&c, root, ours, ks_id);
}

void guest_luks_pin_hex(const uint8_t pin[GUEST_LUKS_PIN_LEN], char out[GUEST_LUKS_PIN_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < GUEST_LUKS_PIN_LEN; i++) {
		out[2 * i] = hex[pin[i] >> 4];
		out[2 * i + 1] = hex[pin[i] & 15];
	}
	out[2 * GUEST_LUKS_PIN_LEN] = '\0';
}
