/*
 * jflat: one-pass JSON parser into a flat node array (see jflat.h).
 *
 * Both arrays are sized once, before parsing, from bounds that hold for any
 * input, so no pointer into them ever moves:
 *  - nodes: every value is the top-level one, or follows a '[', a ',' or a
 *    ':' of its own; counting those bytes (in strings too) bounds the nodes;
 *  - strings: a string decodes to at most its raw bytes between the quotes,
 *    plus one NUL, so all of them fit in @len bytes.
 */
#include "common/jflat.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"

/* At or below this many members an object's names are compared pairwise;
 * above it they are sorted, so a hostile object stays O(n log n). */
#define JF_PAIRWISE_MAX 12

struct node {
	uint32_t next;	/* next sibling, JF_NONE for the last */
	uint32_t key;	/* offset of the member name in strs, JF_NONE outside objects */
	uint32_t count; /* containers: children; strings: decoded length */
	uint8_t type;	/* enum jf_type */
	union {
		int64_t i;
		double r;
		uint32_t str; /* offset of a string's text in strs */
	} u;
};

struct jf_doc {
	struct node *nodes;
	uint32_t used, cap;
	char *strs;
	size_t slen;
};

struct parser {
	const unsigned char *t;
	size_t len, pos;
	struct jf_doc *d;
	struct jf_error *e;
	int depth;
};

static int fail(struct parser *p, const char *fmt, ...) _printf_(2, 3);
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 0;

	va_start(ap, fmt);
	vsnprintf(p->e->text, sizeof(p->e->text), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < p->pos && i < p->len; i++) {
		if (p->t[i] == '\n') {
			line++;
			col = 0;
		} else {
			col++;
		}
	}
	p->e->position = p->pos;
	p->e->line = line;
	p->e->column = col + 1;
	return -EBADMSG;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->t[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? p->t[p->pos] : -1;
}

static uint32_t new_node(struct parser *p, enum jf_type type, uint32_t key)
{
	struct node *n;

	/* cap bounds every input (see the top of this file) */
	if (p->d->used >= p->d->cap)
		abort();
	n = &p->d->nodes[p->d->used];
	n->next = JF_NONE;
	n->key = key;
	n->count = 0;
	n->type = (uint8_t)type;
	n->u.i = 0;
	return p->d->used++;
}

static void put_utf8(struct parser *p, uint32_t cp)
{
	char *o = p->d->strs + p->d->slen;

	if (cp < 0x80) {
		o[0] = (char)cp;
		p->d->slen += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		p->d->slen += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		p->d->slen += 3;
	} else {
		o[0] = (char)(0xF0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		p->d->slen += 4;
	}
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		k = 2, cp = s[0] & 0x1Fu;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		k = 3, cp = s[0] & 0x0Fu;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		k = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

static int hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;

	if (p->len - p->pos < 4)
		return fail(p, "invalid escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = p->t[p->pos + (size_t)i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(p, "invalid escape");
	}
	p->pos += 4;
	*out = v;
	return 0;
}

/* \uXXXX (the "\u" consumed), with a surrogate pair as one code point. */
static int unicode_escape(struct parser *p)
{
	uint32_t hi = 0, lo = 0;
	int r = hex4(p, &hi);

	if (r < 0)
		return r;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return fail(p, "invalid Unicode '\\u%04X'", (unsigned)hi);
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		if (p->len - p->pos < 2 || p->t[p->pos] != '\\' || p->t[p->pos + 1] != 'u')
			return fail(p, "invalid Unicode '\\u%04X'", (unsigned)hi);
		p->pos += 2;
		r = hex4(p, &lo);
		if (r < 0)
			return r;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail(p, "invalid Unicode '\\u%04X\\u%04X'", (unsigned)hi,
				    (unsigned)lo);
		hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	} else if (hi == 0) {
		return fail(p, "\\u0000 is not allowed");
	}
	put_utf8(p, hi);
	return 0;
}

/* A string at p->pos (the opening quote); its text goes to strs. */
static int parse_string(struct parser *p, uint32_t *off, uint32_t *len)
{
	struct jf_doc *d = p->d;
	size_t start = d->slen;

	p->pos++;
	for (;;) {
		const unsigned char *s = p->t + p->pos;
		size_t n = p->len - p->pos, run = 0;
		unsigned char c;

		/* the plain run up to a quote, backslash, control or non-ASCII byte */
		while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		memcpy(d->strs + d->slen, s, run);
		d->slen += run;
		p->pos += run;
		if (p->pos >= p->len)
			return fail(p, "premature end of input in a string");
		c = p->t[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20)
			return fail(p, "control character 0x%x in a string", c);
		if (c >= 0x80) {
			size_t k = utf8_seq(p->t + p->pos, p->len - p->pos);

			if (!k)
				return fail(p, "invalid UTF-8 in a string");
			memcpy(d->strs + d->slen, p->t + p->pos, k);
			d->slen += k;
			p->pos += k;
			continue;
		}
		/* a backslash */
		if (++p->pos >= p->len)
			return fail(p, "premature end of input in a string");
		c = p->t[p->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			d->strs[d->slen++] = (char)c;
			break;
		case 'b':
			d->strs[d->slen++] = '\b';
			break;
		case 'f':
			d->strs[d->slen++] = '\f';
			break;
		case 'n':
			d->strs[d->slen++] = '\n';
			break;
		case 'r':
			d->strs[d->slen++] = '\r';
			break;
		case 't':
			d->strs[d->slen++] = '\t';
			break;
		case 'u': {
			int r = unicode_escape(p);

			if (r < 0)
				return r;
			break;
		}
		default:
			p->pos--;
			return fail(p, "invalid escape");
		}
	}
	d->strs[d->slen++] = '\0';
	*off = (uint32_t)start;
	*len = (uint32_t)(d->slen - start - 1);
	return 0;
}

static int parse_number(struct parser *p, uint32_t key, uint32_t *ret)
{
	size_t start = p->pos;
	bool neg = false, real = false;
	char buf[JF_MAX_NUMBER + 1];
	uint64_t mag = 0;
	uint32_t n;

	if (peek(p) == '-') {
		neg = true;
		p->pos++;
	}
	if (peek(p) == '0') {
		p->pos++;
		if (is_digit(peek(p)))
			return fail(p, "invalid number");
	} else if (is_digit(peek(p))) {
		const uint64_t lim = (uint64_t)INT64_MAX + 1; /* 2^63 */

		while (p->pos < p->len && is_digit(p->t[p->pos])) {
			unsigned dg = (unsigned)(p->t[p->pos] - '0');

			/* mag * 10 + dg <= 2^63, else saturate above it: the range
			 * check follows (constants, no division per digit) */
			if (mag < lim / 10 || (mag == lim / 10 && dg <= lim % 10))
				mag = mag * 10 + dg;
			else
				mag = lim + 1;
			p->pos++;
		}
	} else {
		return fail(p, "invalid number");
	}
	if (peek(p) == '.') {
		real = true;
		p->pos++;
		if (!is_digit(peek(p)))
			return fail(p, "invalid number");
		while (is_digit(peek(p)))
			p->pos++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		real = true;
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!is_digit(peek(p)))
			return fail(p, "invalid number");
		while (is_digit(peek(p)))
			p->pos++;
	}
	if (p->pos - start > JF_MAX_NUMBER)
		return fail(p, "number longer than %d characters", JF_MAX_NUMBER);
	if (!real) {
		if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0))
			return fail(p, neg ? "too big negative integer" : "too big integer");
		n = new_node(p, JF_INTEGER, key);
		p->d->nodes[n].u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		*ret = n;
		return 0;
	}
	memcpy(buf, p->t + start, p->pos - start);
	buf[p->pos - start] = '\0';
	errno = 0;
	{
		double v = strtod(buf, NULL);

		if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
			return fail(p, "real number overflow");
		n = new_node(p, JF_REAL, key);
		p->d->nodes[n].u.r = v;
	}
	*ret = n;
	return 0;
}

static int parse_value(struct parser *p, uint32_t key, uint32_t *ret);

/*
 * The evidence's common case, an array element of one to three digits
 * directly followed by ',' or ']': its node, without parse_number's
 * generality. false (nothing consumed) for anything else, which then
 * takes the general path; both give the same node.
 */
static bool small_uint(struct parser *p, uint32_t *ret)
{
	const unsigned char *t = p->t + p->pos;
	size_t n = p->len - p->pos, k = 0;
	int64_t v = 0;

	while (k < 3 && k < n && is_digit(t[k]))
		v = v * 10 + (t[k++] - '0');
	if (k == 0 || k == n || (t[k] != ',' && t[k] != ']') || (t[0] == '0' && k > 1))
		return false;
	p->pos += k;
	*ret = new_node(p, JF_INTEGER, JF_NONE);
	p->d->nodes[*ret].u.i = v;
	return true;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Member names of object @o, all parsed, must differ. */
static int check_duplicates(struct parser *p, uint32_t o)
{
	const struct jf_doc *d = p->d;
	uint32_t count = d->nodes[o].count;
	const char **keys;
	size_t i = 0;
	int r = 0;

	if (count < 2)
		return 0;
	if (count <= JF_PAIRWISE_MAX) {
		for (uint32_t a = o + 1; a != JF_NONE; a = d->nodes[a].next)
			for (uint32_t b = d->nodes[a].next; b != JF_NONE; b = d->nodes[b].next)
				if (strcmp(d->strs + d->nodes[a].key, d->strs + d->nodes[b].key) ==
				    0)
					return fail(p, "duplicate object key");
		return 0;
	}
	keys = malloc(count * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t a = o + 1; a != JF_NONE; a = d->nodes[a].next)
		keys[i++] = d->strs + d->nodes[a].key;
	qsort(keys, count, sizeof(*keys), key_cmp);
	for (i = 1; i < count && r == 0; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			r = fail(p, "duplicate object key");
	free(keys);
	return r;
}

/* An array or object at p->pos (its opening bracket). */
static int parse_container(struct parser *p, bool object, uint32_t key, uint32_t *ret)
{
	const char close = object ? '}' : ']';
	uint32_t c = new_node(p, object ? JF_OBJECT : JF_ARRAY, key), prev = JF_NONE;
	int r;

	if (++p->depth > JF_MAX_DEPTH)
		return fail(p, "maximum parsing depth %d reached", JF_MAX_DEPTH);
	p->pos++;
	skip_ws(p);
	if (peek(p) == close) {
		p->pos++;
		p->depth--;
		*ret = c;
		return 0;
	}
	for (;;) {
		uint32_t k = JF_NONE, klen = 0, v = JF_NONE;

		if (object) {
			if (peek(p) != '"')
				return fail(p, "string or '}' expected");
			r = parse_string(p, &k, &klen);
			if (r < 0)
				return r;
			skip_ws(p);
			if (peek(p) != ':')
				return fail(p, "':' expected");
			p->pos++;
			skip_ws(p);
		}
		if (object || !small_uint(p, &v)) {
			r = parse_value(p, k, &v);
			if (r < 0)
				return r;
		}
		if (prev != JF_NONE)
			p->d->nodes[prev].next = v;
		prev = v;
		p->d->nodes[c].count++;
		skip_ws(p);
		if (peek(p) == ',') {
			p->pos++;
			skip_ws(p);
			continue;
		}
		if (peek(p) == close) {
			p->pos++;
			break;
		}
		return fail(p, object ? "',' or '}' expected" : "',' or ']' expected");
	}
	p->depth--;
	if (object) {
		r = check_duplicates(p, c);
		if (r < 0)
			return r;
	}
	*ret = c;
	return 0;
}

static int literal(struct parser *p, const char *word, enum jf_type type, uint32_t key,
		   uint32_t *ret)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->t + p->pos, word, n) != 0)
		return fail(p, "invalid token");
	p->pos += n;
	*ret = new_node(p, type, key);
	return 0;
}

static int parse_value(struct parser *p, uint32_t key, uint32_t *ret)
{
	uint32_t off = 0, len = 0;
	int r;

	switch (peek(p)) {
	case '{':
		return parse_container(p, true, key, ret);
	case '[':
		return parse_container(p, false, key, ret);
	case '"':
		r = parse_string(p, &off, &len);
		if (r < 0)
			return r;
		*ret = new_node(p, JF_STRING, key);
		p->d->nodes[*ret].u.str = off;
		p->d->nodes[*ret].count = len;
		return 0;
	case 't':
		return literal(p, "true", JF_TRUE, key, ret);
	case 'f':
		return literal(p, "false", JF_FALSE, key, ret);
	case 'n':
		return literal(p, "null", JF_NULL, key, ret);
	case -1:
		return fail(p, "premature end of input");
	default:
		if (peek(p) == '-' || is_digit(peek(p)))
			return parse_number(p, key, ret);
		return fail(p, "invalid token");
	}
}

void jf_free(struct jf_doc *d)
{
	if (!d)
		return;
	free(d->nodes);
	free(d->strs);
	free(d);
}

int jf_parse(const char *text, size_t len, struct jf_doc **ret, struct jf_error *e)
{
	struct parser p = { .t = (const unsigned char *)text, .len = len, .e = e };
	struct jf_doc *d;
	size_t bound = 1;
	uint32_t root;
	int r;

	*ret = NULL;
	memset(e, 0, sizeof(*e));
	if (len >= UINT32_MAX / 2) {
		snprintf(e->text, sizeof(e->text), "input too large");
		return -EBADMSG;
	}
	for (size_t i = 0; i < len; i++)
		bound += text[i] == ',' || text[i] == '[' || text[i] == ':';
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cap = (uint32_t)bound;
	d->nodes = malloc(bound * sizeof(*d->nodes));
	d->strs = malloc(len + 1);
	if (!d->nodes || !d->strs) {
		jf_free(d);
		return -ENOMEM;
	}
	p.d = d;
	skip_ws(&p);
	if (peek(&p) != '{' && peek(&p) != '[')
		r = fail(&p, "'[' or '{' expected");
	else
		r = parse_value(&p, JF_NONE, &root);
	if (r == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			r = fail(&p, "end of file expected");
	}
	if (r < 0) {
		jf_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

static const struct node *at(const struct jf_doc *d, uint32_t v)
{
	return d && v < d->used ? &d->nodes[v] : NULL;
}

uint32_t jf_root(const struct jf_doc *d)
{
	return d && d->used ? 0 : JF_NONE;
}

enum jf_type jf_type(const struct jf_doc *d, uint32_t v)
{
	const struct node *n = at(d, v);

	return n ? (enum jf_type)n->type : JF_MISSING;
}

const char *jf_type_phrase(const struct jf_doc *d, uint32_t v)
{
	static const char *const phrase[] = {
		[JF_MISSING] = "nothing (the member is missing)",
		[JF_OBJECT] = "an object",
		[JF_ARRAY] = "an array",
		[JF_STRING] = "a string",
		[JF_INTEGER] = "an integer",
		[JF_REAL] = "a real number",
		[JF_TRUE] = "true",
		[JF_FALSE] = "false",
		[JF_NULL] = "null",
	};

	return phrase[jf_type(d, v)];
}

size_t jf_size(const struct jf_doc *d, uint32_t v)
{
	enum jf_type t = jf_type(d, v);

	return t == JF_OBJECT || t == JF_ARRAY ? d->nodes[v].count : 0;
}

uint32_t jf_first(const struct jf_doc *d, uint32_t v)
{
	return jf_size(d, v) ? v + 1 : JF_NONE;
}

uint32_t jf_next(const struct jf_doc *d, uint32_t v)
{
	const struct node *n = at(d, v);

	return n ? n->next : JF_NONE;
}

const char *jf_key(const struct jf_doc *d, uint32_t v)
{
	const struct node *n = at(d, v);

	return n && n->key != JF_NONE ? d->strs + n->key : NULL;
}

uint32_t jf_get(const struct jf_doc *d, uint32_t o, const char *key)
{
	if (jf_type(d, o) != JF_OBJECT)
		return JF_NONE;
	for (uint32_t c = jf_first(d, o); c != JF_NONE; c = d->nodes[c].next)
		if (strcmp(d->strs + d->nodes[c].key, key) == 0)
			return c;
	return JF_NONE;
}

uint32_t jf_at(const struct jf_doc *d, uint32_t a, size_t i)
{
	uint32_t c;

	if (jf_type(d, a) != JF_ARRAY)
		return JF_NONE;
	for (c = jf_first(d, a); c != JF_NONE && i > 0; i--)
		c = d->nodes[c].next;
	return c;
}

const char *jf_string(const struct jf_doc *d, uint32_t v, size_t *len)
{
	const struct node *n = at(d, v);

	if (!n || n->type != JF_STRING)
		return NULL;
	if (len)
		*len = n->count;
	return d->strs + n->u.str;
}

int jf_bytes(const struct jf_doc *d, uint32_t a, uint8_t *out, size_t max, size_t *n)
{
	size_t i = 0;

	*n = 0;
	if (jf_type(d, a) != JF_ARRAY)
		return -EINVAL;
	if (d->nodes[a].count > max)
		return -E2BIG;
	for (uint32_t c = d->nodes[a].count ? a + 1 : JF_NONE; c != JF_NONE;
	     c = d->nodes[c].next, i++) {
		const struct node *e = &d->nodes[c];

		if (e->type != JF_INTEGER || e->u.i < 0 || e->u.i > 255) {
			*n = i;
			return -ERANGE;
		}
		out[i] = (uint8_t)e->u.i;
	}
	*n = i;
	return 0;
}

int64_t jf_integer(const struct jf_doc *d, uint32_t v)
{
	const struct node *n = at(d, v);

	return n && n->type == JF_INTEGER ? n->u.i : 0;
}

double jf_real(const struct jf_doc *d, uint32_t v)
{
	const struct node *n = at(d, v);

	return n && n->type == JF_REAL ? n->u.r : 0;
}

json_t *jf_to_json(const struct jf_doc *d, uint32_t v, uint32_t except)
{
	const struct node *n = at(d, v);
	json_t *o;

	if (!n)
		return NULL;
	if (v == except)
		return json_null();
	switch ((enum jf_type)n->type) {
	case JF_OBJECT:
	case JF_ARRAY:
		o = n->type == JF_OBJECT ? json_object() : json_array();
		for (uint32_t c = jf_first(d, v); o && c != JF_NONE; c = d->nodes[c].next) {
			json_t *x = jf_to_json(d, c, except);
			int r = !x ? -1 :
				n->type == JF_OBJECT ?
				     json_object_set_new_nocheck(o, d->strs + d->nodes[c].key, x) :
				     json_array_append_new(o, x);

			if (r < 0) {
				json_decref(o);
				o = NULL;
			}
		}
		return o;
	case JF_STRING:
		return json_stringn_nocheck(d->strs + n->u.str, n->count);
	case JF_INTEGER:
		return json_integer(n->u.i);
	case JF_REAL:
		return json_real(n->u.r);
	case JF_TRUE:
		return json_true();
	case JF_FALSE:
		return json_false();
	case JF_NULL:
		return json_null();
	case JF_MISSING:
		break;
	}
	return NULL;
}
