#include "kbs/initdata.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/macros.h"
#include "kbs/kbs.h"

#define SMALL_VALUE_MAX 32 /* decoded algorithm / version strings */

struct cur {
	const char *s;
	size_t n, i;
	unsigned line;
	struct ccu_reason *err;
};

static int fail(const struct cur *c, const char *fmt, ...) _printf_(2, 3);
static int fail(const struct cur *c, const char *fmt, ...)
{
	char msg[CCU_REASON_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ccu_fail(c->err, -EBADMSG, KBS_R_INIT_DATA_DOC, "init-data line %u: %s", c->line,
			msg);
}
#define FAIL fail

/* A decoded string, or only its length when @buf is NULL. */
struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void out_put(struct out *o, const char *p, size_t n)
{
	if (o->len + n > o->cap)
		o->overflow = true;
	else if (o->buf)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* ------------------------------------------------------------ UTF-8 */

/* Length of the well-formed UTF-8 sequence at @p (@n available), 0 if none
 * (overlong forms, surrogates, > U+10FFFF, truncation). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need;
	uint32_t v, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t k = 1; k < need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return need;
}

static void utf8_put(struct out *o, uint32_t v)
{
	char b[4];
	size_t n;

	if (v < 0x80) {
		b[0] = (char)v;
		n = 1;
	} else if (v < 0x800) {
		b[0] = (char)(0xc0 | v >> 6);
		b[1] = (char)(0x80 | (v & 0x3f));
		n = 2;
	} else if (v < 0x10000) {
		b[0] = (char)(0xe0 | v >> 12);
		b[1] = (char)(0x80 | ((v >> 6) & 0x3f));
		b[2] = (char)(0x80 | (v & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | v >> 18);
		b[1] = (char)(0x80 | ((v >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((v >> 6) & 0x3f));
		b[3] = (char)(0x80 | (v & 0x3f));
		n = 4;
	}
	out_put(o, b, n);
}

/* ------------------------------------------------------------ lexing */

static bool at_end(const struct cur *c)
{
	return c->i >= c->n;
}

static char peek(const struct cur *c, size_t k)
{
	return c->i + k < c->n ? c->s[c->i + k] : '\0';
}

static bool is_ctrl(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

static void skip_ws(struct cur *c)
{
	while (!at_end(c) && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
}

/* At a newline (LF or CRLF): consume it. */
static bool take_newline(struct cur *c)
{
	if (peek(c, 0) == '\n') {
		c->i++;
		c->line++;
		return true;
	}
	if (peek(c, 0) == '\r' && peek(c, 1) == '\n') {
		c->i += 2;
		c->line++;
		return true;
	}
	return false;
}

/* One UTF-8 character of content at the cursor (not a control character),
 * appended to @o. */
static int take_char(struct cur *c, struct out *o, const char *what)
{
	size_t l = utf8_len((const unsigned char *)c->s + c->i, c->n - c->i);

	if (l == 0)
		return FAIL(c, "invalid UTF-8 in %s", what);
	if (l == 1 && is_ctrl((unsigned char)c->s[c->i]))
		return FAIL(c, "control character 0x%02x in %s", (unsigned char)c->s[c->i], what);
	out_put(o, c->s + c->i, l);
	c->i += l;
	return 0;
}

/* Rest of the line after a value or header: whitespace, an optional
 * comment, then a newline or the end. */
static int end_of_line(struct cur *c)
{
	struct out sink = { 0 };

	skip_ws(c);
	if (peek(c, 0) == '#') {
		c->i++;
		sink.cap = (size_t)-1;
		while (!at_end(c) && peek(c, 0) != '\n' && !(peek(c, 0) == '\r' && peek(c, 1) == '\n'))
			if (take_char(c, &sink, "a comment") < 0)
				return -EBADMSG;
	}
	if (at_end(c) || take_newline(c))
		return 0;
	return FAIL(c, "unexpected '%c' after the value (one key = value per line)",
		    is_ctrl((unsigned char)peek(c, 0)) ? '?' : peek(c, 0));
}

/* ------------------------------------------------------------ strings */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A backslash escape at the cursor (after the '\'), TOML 1.0. */
static int take_escape(struct cur *c, struct out *o)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	char e = peek(c, 0);
	const char *p = e ? strchr(from, e) : NULL;
	size_t digits;
	uint32_t v = 0;

	if (p) {
		out_put(o, &to[p - from], 1);
		c->i++;
		return 0;
	}
	if (e != 'u' && e != 'U')
		return FAIL(c, "invalid escape '\\%c' in a basic string",
			    is_ctrl((unsigned char)e) ? '?' : e);
	digits = e == 'u' ? 4 : 8;
	c->i++;
	for (size_t k = 0; k < digits; k++) {
		int h = hexval(peek(c, 0));

		if (h < 0)
			return FAIL(c, "\\%c needs %zu hex digits", e, digits);
		v = v << 4 | (uint32_t)h;
		c->i++;
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return FAIL(c, "\\%c escape U+%X is not a Unicode scalar value", e, (unsigned)v);
	utf8_put(o, v);
	return 0;
}

/* Count of @q at the cursor. */
static size_t run_of(const struct cur *c, char q)
{
	size_t k = 0;

	while (peek(c, k) == q)
		k++;
	return k;
}

/* "..." or '...' on one line; the cursor is on the opening quote. */
static int take_single(struct cur *c, struct out *o, bool basic)
{
	char q = basic ? '"' : '\'';

	c->i++;
	for (;;) {
		char ch = peek(c, 0);

		if (at_end(c) || ch == '\n' || ch == '\r')
			return FAIL(c, "unterminated %s string", basic ? "basic" : "literal");
		if (ch == q) {
			c->i++;
			return 0;
		}
		if (basic && ch == '\\') {
			c->i++;
			if (take_escape(c, o) < 0)
				return -EBADMSG;
			continue;
		}
		if (take_char(c, o, "a string") < 0)
			return -EBADMSG;
	}
}

/* """...""" or '''...'''; the cursor is on the first of the three quotes. */
static int take_multi(struct cur *c, struct out *o, bool basic)
{
	char q = basic ? '"' : '\'';
	unsigned start = c->line;

	c->i += 3;
	(void)take_newline(c); /* a newline right after the delimiter is trimmed */
	for (;;) {
		char ch = peek(c, 0);

		if (at_end(c))
			return ccu_fail(c->err, -EBADMSG, KBS_R_INIT_DATA_DOC,
					"init-data line %u: unterminated multi-line string", start);
		if (ch == q) {
			size_t k = run_of(c, q);

			if (k < 3) {
				out_put(o, c->s + c->i, k);
				c->i += k;
				continue;
			}
			if (k > 5)
				return FAIL(c, "more than five quotes close a multi-line string");
			out_put(o, c->s + c->i, k - 3); /* up to two quotes before the end */
			c->i += k;
			return 0;
		}
		if (ch == '\n' || (ch == '\r' && peek(c, 1) == '\n')) {
			out_put(o, "\n", 1);
			(void)take_newline(c);
			continue;
		}
		if (basic && ch == '\\') {
			size_t k = 1;

			/* line-ending backslash: trims whitespace and newlines */
			while (peek(c, k) == ' ' || peek(c, k) == '\t')
				k++;
			if (peek(c, k) == '\n' || (peek(c, k) == '\r' && peek(c, k + 1) == '\n')) {
				c->i += k;
				for (;;) {
					skip_ws(c);
					if (!take_newline(c))
						break;
				}
				continue;
			}
			c->i++;
			if (take_escape(c, o) < 0)
				return -EBADMSG;
			continue;
		}
		if (take_char(c, o, "a multi-line string") < 0)
			return -EBADMSG;
	}
}

/* Any TOML string value at the cursor. */
static int take_string_value(struct cur *c, struct out *o)
{
	char ch = peek(c, 0);

	if (ch == '"' || ch == '\'') {
		if (run_of(c, ch) >= 3)
			return take_multi(c, o, ch == '"');
		return take_single(c, o, ch == '"');
	}
	if (ch == '{')
		return FAIL(c, "inline tables are not accepted (write a [data] table)");
	if (at_end(c) || ch == '\n' || ch == '\r' || ch == '#')
		return FAIL(c, "a key without a value");
	return FAIL(c, "the value is not a string (init-data values are strings)");
}

static bool bare_key_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

/* A key (bare or single-line quoted) into @o (KBS_INITDATA_MAX_KEY). */
static int take_key(struct cur *c, struct out *o)
{
	char ch = peek(c, 0);
	int r;

	if (ch == '"' || ch == '\'') {
		if (run_of(c, ch) >= 3)
			return FAIL(c, "a multi-line string cannot be a key");
		r = take_single(c, o, ch == '"');
		if (r < 0)
			return r;
	} else {
		size_t s = c->i;

		while (bare_key_char(peek(c, 0)))
			c->i++;
		if (c->i == s)
			return FAIL(c, "expected a key, '[data]', a comment or a blank line");
		out_put(o, c->s + s, c->i - s);
	}
	if (o->overflow)
		return FAIL(c, "key longer than %d bytes", KBS_INITDATA_MAX_KEY);
	if (o->len == 0)
		return FAIL(c, "empty key");
	skip_ws(c);
	if (peek(c, 0) == '.')
		return FAIL(c, "dotted keys are not accepted");
	return 0;
}

/* ------------------------------------------------------------ document */

struct doc {
	bool in_data, have_data, have_alg, have_version;
	char alg[SMALL_VALUE_MAX + 1], version[SMALL_VALUE_MAX + 1];
	char *keys; /* n_data * (KBS_INITDATA_MAX_KEY + 1) */
	size_t *key_len;
	size_t n_data;
};

static int table_header(struct cur *c, struct doc *d)
{
	char kb[KBS_INITDATA_MAX_KEY];
	struct out k = { .buf = kb, .cap = sizeof(kb) };

	c->i++;
	if (peek(c, 0) == '[')
		return FAIL(c, "arrays of tables are not accepted");
	skip_ws(c);
	if (take_key(c, &k) < 0)
		return -EBADMSG;
	if (peek(c, 0) != ']')
		return FAIL(c, "expected ']' after the table name");
	c->i++;
	if (k.len != 4 || memcmp(kb, "data", 4) != 0)
		return FAIL(c, "table [%.*s]: the only table is [data]", (int)k.len, kb);
	if (d->have_data)
		return FAIL(c, "a second [data] table");
	d->in_data = d->have_data = true;
	return end_of_line(c);
}

static int top_value(struct cur *c, struct doc *d, const char *key, size_t klen)
{
	bool is_alg = klen == 9 && memcmp(key, "algorithm", 9) == 0;
	bool is_ver = klen == 7 && memcmp(key, "version", 7) == 0;
	char *dst = is_alg ? d->alg : d->version;
	struct out v = { .buf = dst, .cap = SMALL_VALUE_MAX };
	bool *have = is_alg ? &d->have_alg : &d->have_version;

	if (klen == 4 && memcmp(key, "data", 4) == 0)
		return FAIL(c, "data must be a [data] table (inline tables are not accepted)");
	if (!is_alg && !is_ver)
		return FAIL(c, "unknown top-level key '%.*s' (expected algorithm, version, [data])",
			    (int)klen, key);
	if (*have)
		return FAIL(c, "duplicate key '%s'", is_alg ? "algorithm" : "version");
	if (take_string_value(c, &v) < 0)
		return -EBADMSG;
	if (v.overflow || memchr(dst, 0, v.len))
		return FAIL(c, "%s value is not a short string", is_alg ? "algorithm" : "version");
	dst[v.len] = '\0';
	*have = true;
	return 0;
}

static int data_value(struct cur *c, struct doc *d, const char *key, size_t klen)
{
	struct out v = { .cap = KBS_INITDATA_MAX };

	for (size_t j = 0; j < d->n_data; j++)
		if (d->key_len[j] == klen &&
		    memcmp(d->keys + j * (KBS_INITDATA_MAX_KEY + 1), key, klen) == 0)
			return FAIL(c, "duplicate key '%.*s' in [data]", (int)klen, key);
	if (d->n_data == KBS_INITDATA_MAX_ENTRIES)
		return FAIL(c, "more than %d members in [data]", KBS_INITDATA_MAX_ENTRIES);
	if (take_string_value(c, &v) < 0)
		return -EBADMSG;
	memcpy(d->keys + d->n_data * (KBS_INITDATA_MAX_KEY + 1), key, klen);
	d->key_len[d->n_data++] = klen;
	return 0;
}

static int key_value(struct cur *c, struct doc *d)
{
	char kb[KBS_INITDATA_MAX_KEY];
	struct out k = { .buf = kb, .cap = sizeof(kb) };
	int r;

	if (take_key(c, &k) < 0)
		return -EBADMSG;
	if (peek(c, 0) != '=')
		return FAIL(c, "expected '=' after the key");
	c->i++;
	skip_ws(c);
	r = d->in_data ? data_value(c, d, kb, k.len) : top_value(c, d, kb, k.len);
	return r < 0 ? r : end_of_line(c);
}

static int parse_doc(struct cur *c, struct doc *d)
{
	while (!at_end(c)) {
		int r;

		skip_ws(c);
		if (take_newline(c) || at_end(c))
			continue;
		if (peek(c, 0) == '#')
			r = end_of_line(c);
		else if (peek(c, 0) == '[')
			r = table_header(c, d);
		else
			r = key_value(c, d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_meta(struct doc *d, struct kbs_initdata *out, struct ccu_reason *err)
{
	if (!d->have_alg || !d->have_version || !d->have_data)
		return ccu_fail(err, -EBADMSG, KBS_R_INIT_DATA_DOC,
				"init-data: '%s' is missing (algorithm, version and [data] are "
				"required)",
				!d->have_alg ? "algorithm" : !d->have_version ? "version" : "[data]");
	if (strcmp(d->version, KBS_INITDATA_VERSION) != 0)
		return ccu_fail(err, -EBADMSG, KBS_R_INIT_DATA_DOC,
				"init-data: version \"%s\", expected \"%s\"", d->version,
				KBS_INITDATA_VERSION);
	if (kbs_hash_alg_from_name(d->alg, &out->alg) < 0)
		return ccu_fail(err, -ENOTSUP, KBS_R_INIT_DATA_DOC,
				"init-data: algorithm \"%s\", expected sha256, sha384 or sha512",
				d->alg);
	return 0;
}

void kbs_initdata_host_data(const uint8_t *digest, size_t n,
			    uint8_t out[KBS_INITDATA_HOST_DATA_LEN])
{
	memset(out, 0, KBS_INITDATA_HOST_DATA_LEN);
	memcpy(out, digest, n < KBS_INITDATA_HOST_DATA_LEN ? n : KBS_INITDATA_HOST_DATA_LEN);
}

static const EVP_MD *md_of(enum kbs_hash_alg a)
{
	switch (a) {
	case KBS_HASH_SHA256:
		return EVP_sha256();
	case KBS_HASH_SHA384:
		return EVP_sha384();
	case KBS_HASH_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

int kbs_initdata_parse(const char *doc, size_t len, struct kbs_initdata *out,
		       struct ccu_reason *err)
{
	struct cur c = { .s = doc, .n = len, .line = 1, .err = err };
	struct doc d = { 0 };
	unsigned int dl = 0;
	const EVP_MD *md;
	int r;

	memset(out, 0, sizeof(*out));
	if (!doc || len > KBS_INITDATA_MAX)
		return ccu_fail(err, -EMSGSIZE, KBS_R_INIT_DATA_DOC,
				"init-data: missing or longer than %d bytes", KBS_INITDATA_MAX);
	d.keys = malloc((size_t)KBS_INITDATA_MAX_ENTRIES * (KBS_INITDATA_MAX_KEY + 1));
	d.key_len = calloc(KBS_INITDATA_MAX_ENTRIES, sizeof(*d.key_len));
	if (!d.keys || !d.key_len) {
		r = ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
		goto out;
	}
	r = parse_doc(&c, &d);
	if (r >= 0)
		r = check_meta(&d, out, err);
	if (r < 0)
		goto out;
	md = md_of(out->alg);
	if (!md || EVP_Digest(doc, len, out->digest, &dl, md, NULL) != 1) {
		r = ccu_fail(err, -EIO, KBS_R_INTERNAL, "init-data digest failed");
		goto out;
	}
	out->digest_len = dl;
	out->n_data = d.n_data;
	kbs_initdata_host_data(out->digest, dl, out->host_data);
out:
	free(d.keys);
	free(d.key_len);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return 0;
}
