/*
 * A small TPM 2.0 command marshaller (guest/tpm2.h): build one command in
 * a bounded buffer, one write, read the whole response, parse it strictly.
 */
#include "guest/tpm2.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

#define ST_NO_SESSIONS 0x8001
#define ST_SESSIONS 0x8002
#define RS_PW 0x40000009u
#define RH_OWNER 0x40000001u
#define CC_NV_UNDEFINE 0x122u
#define CC_NV_DEFINE 0x12Au
#define CC_NV_WRITE 0x137u
#define CC_NV_READ 0x14Eu
#define CC_QUOTE 0x158u
#define CC_NV_READ_PUBLIC 0x169u
#define CC_READ_PUBLIC 0x173u
#define CC_PCR_READ 0x17Eu
#define ALG_RSA 0x0001u
#define ALG_SHA256 0x000Bu
#define ALG_NULL 0x0010u
#define ALG_RSASSA 0x0014u
#define NV_OWNERWRITE (1u << 1)
#define NV_OWNERREAD (1u << 17)
#define HDR 10
#define RSA_DEFAULT_EXPONENT 65537u
#define PW_AUTH_LEN 9
#define PW_AUTH_RSP_LEN 5

void tpm2_init(struct tpm2 *t, int fd)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
}

/* ------------------------------------------------------------ building */

struct cmd {
	uint8_t *p;
	size_t len;
	bool bad;
};

static void put(struct cmd *c, uint64_t v, size_t n)
{
	if (c->bad || TPM2_BUF_MAX - c->len < n) {
		c->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		c->p[c->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	c->len += n;
}

static void put_b(struct cmd *c, const uint8_t *b, size_t n)
{
	if (c->bad || TPM2_BUF_MAX - c->len < n) {
		c->bad = true;
		return;
	}
	if (n)
		memcpy(c->p + c->len, b, n);
	c->len += n;
}

static void put_tpm2b(struct cmd *c, const uint8_t *b, size_t n)
{
	if (n > 0xffff) {
		c->bad = true;
		return;
	}
	put(c, n, 2);
	put_b(c, b, n);
}

static void begin(struct tpm2 *t, struct cmd *c, bool sessions, uint32_t cc)
{
	c->p = t->cmd;
	c->len = 0;
	c->bad = false;
	put(c, sessions ? ST_SESSIONS : ST_NO_SESSIONS, 2);
	put(c, 0, 4); /* size, patched by finish */
	put(c, cc, 4);
}

static void pw_session(struct cmd *c)
{
	put(c, PW_AUTH_LEN, 4);
	put(c, RS_PW, 4);
	put(c, 0, 2); /* nonce */
	put(c, 0, 1); /* attributes */
	put(c, 0, 2); /* hmac: the empty password */
}

static void pcr_selection(struct cmd *c, uint32_t mask)
{
	put(c, 1, 4);
	put(c, ALG_SHA256, 2);
	put(c, 3, 1);
	put(c, mask & 0xff, 1);
	put(c, (mask >> 8) & 0xff, 1);
	put(c, (mask >> 16) & 0xff, 1);
}

/* ------------------------------------------------------------ parsing */

static uint32_t be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

#define bad_rsp(err, what) ccu_fail((err), -EBADMSG, "TPM_RESPONSE", "TPM response: %s", (what))

int tpm2_parse_header(const uint8_t *rsp, size_t len, bool sessions, size_t handles,
		      size_t *params_off, size_t *params_len, uint32_t *rc, struct ccu_reason *err)
{
	uint32_t tag, size;
	size_t off;

	if (len < HDR)
		return bad_rsp(err, "shorter than its header");
	tag = be(rsp, 2);
	size = be(rsp + 2, 4);
	*rc = be(rsp + 6, 4);
	if (size != len)
		return bad_rsp(err, "size field does not match the bytes read");
	if (*rc != 0) {
		if (tag != ST_NO_SESSIONS || len != HDR)
			return bad_rsp(err, "error response with a body");
		return ccu_fail(err, -EPROTO, "TPM_RC", "TPM response code 0x%03x", *rc);
	}
	if (tag != (sessions ? ST_SESSIONS : ST_NO_SESSIONS))
		return bad_rsp(err, "unexpected tag");
	off = HDR + 4 * handles;
	if (off > len)
		return bad_rsp(err, "truncated handles");
	if (!sessions) {
		*params_off = off;
		*params_len = len - off;
		return 0;
	}
	if (len - off < 4)
		return bad_rsp(err, "no parameterSize");
	*params_len = be(rsp + off, 4);
	off += 4;
	if (*params_len > len - off || len - off - *params_len != PW_AUTH_RSP_LEN)
		return bad_rsp(err, "parameterSize does not leave one password authorization");
	*params_off = off;
	return 0;
}

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint32_t get(struct rd *r, size_t n)
{
	uint32_t v;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return 0;
	}
	v = be(r->p + r->off, n);
	r->off += n;
	return v;
}

static const uint8_t *get_tpm2b(struct rd *r, size_t *n)
{
	const uint8_t *p;

	*n = get(r, 2);
	if (r->bad || r->len - r->off < *n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += *n;
	return p;
}

int tpm2_parse_quote(const uint8_t *params, size_t len, uint8_t *msg, size_t msg_cap,
		     size_t *msg_len, uint8_t *sig, size_t sig_cap, size_t *sig_len,
		     struct ccu_reason *err)
{
	struct rd r = { .p = params, .len = len };
	const uint8_t *m, *s;
	size_t ml, sl;
	uint32_t alg, hash;

	m = get_tpm2b(&r, &ml);
	alg = get(&r, 2);
	hash = get(&r, 2);
	s = get_tpm2b(&r, &sl);
	if (r.bad || r.off != len)
		return bad_rsp(err, "Quote: malformed quoted/signature");
	if (alg != ALG_RSASSA || hash != ALG_SHA256)
		return ccu_fail(err, -EBADMSG, "TPM_RESPONSE",
				"Quote: signature scheme 0x%04x/0x%04x is not RSASSA/SHA-256", alg,
				hash);
	if (ml == 0 || ml > msg_cap || sl == 0 || sl > sig_cap)
		return bad_rsp(err, "Quote: quoted or signature out of bounds");
	memcpy(msg, m, ml);
	memcpy(sig, s, sl);
	*msg_len = ml;
	*sig_len = sl;
	return 0;
}

int tpm2_parse_pcr_read(const uint8_t *params, size_t len, uint32_t want_mask,
			uint8_t (*out)[32], struct ccu_reason *err)
{
	struct rd r = { .p = params, .len = len };
	uint32_t count, mask = 0, n = 0;

	(void)get(&r, 4); /* pcrUpdateCounter */
	if (get(&r, 4) != 1 || get(&r, 2) != ALG_SHA256 || get(&r, 1) != 3 || r.bad)
		return bad_rsp(err, "PCR_Read: selection is not one sha256 bank of 3 bytes");
	mask = get(&r, 1) | get(&r, 1) << 8 | get(&r, 1) << 16;
	if (r.bad || mask != want_mask)
		return bad_rsp(err, "PCR_Read: the TPM returned other PCRs than asked");
	count = get(&r, 4);
	for (uint32_t i = 0; i < 24; i++)
		n += (want_mask >> i) & 1u;
	if (r.bad || count != n)
		return bad_rsp(err, "PCR_Read: digest count does not match the selection");
	for (uint32_t i = 0; i < count; i++) {
		size_t dl;
		const uint8_t *d = get_tpm2b(&r, &dl);

		if (r.bad || dl != 32)
			return bad_rsp(err, "PCR_Read: a digest is not 32 bytes");
		memcpy(out[i], d, 32);
	}
	if (r.off != len)
		return bad_rsp(err, "PCR_Read: trailing bytes");
	return 0;
}

int tpm2_parse_read_public(const uint8_t *params, size_t len, uint8_t *n_out, size_t n_cap,
			   size_t *n_len, uint32_t *e, struct ccu_reason *err)
{
	struct rd r = { .p = params, .len = len };
	size_t pub_len, pol_len, nl, name_len;
	const uint8_t *n;
	uint32_t sym, scheme;

	pub_len = get(&r, 2);
	if (r.bad || pub_len > len - r.off)
		return bad_rsp(err, "ReadPublic: outPublic longer than the response");
	if (get(&r, 2) != ALG_RSA || r.bad)
		return bad_rsp(err, "ReadPublic: not an RSA key");
	(void)get(&r, 2); /* nameAlg */
	(void)get(&r, 4); /* objectAttributes */
	(void)get_tpm2b(&r, &pol_len); /* authPolicy */
	sym = get(&r, 2);
	if (sym != ALG_NULL) {
		(void)get(&r, 2); /* keyBits */
		(void)get(&r, 2); /* mode */
	}
	scheme = get(&r, 2);
	if (scheme != ALG_NULL)
		(void)get(&r, 2); /* hashAlg */
	(void)get(&r, 2); /* keyBits */
	*e = get(&r, 4);
	n = get_tpm2b(&r, &nl);
	if (r.bad || r.off != 2 + pub_len)
		return bad_rsp(err, "ReadPublic: malformed TPMT_PUBLIC");
	(void)get_tpm2b(&r, &name_len); /* name */
	(void)get_tpm2b(&r, &name_len); /* qualifiedName */
	if (r.bad || r.off != len)
		return bad_rsp(err, "ReadPublic: malformed names");
	if (nl == 0 || nl > n_cap)
		return bad_rsp(err, "ReadPublic: modulus out of bounds");
	if (*e == 0)
		*e = RSA_DEFAULT_EXPONENT;
	memcpy(n_out, n, nl);
	*n_len = nl;
	return 0;
}

/* ------------------------------------------------------------ transport */

static int transact(struct tpm2 *t, struct cmd *c, bool sessions, size_t handles,
		    size_t *poff, size_t *plen, struct ccu_reason *err)
{
	size_t got = 0;
	uint32_t size;

	if (c->bad)
		return ccu_fail(err, -EOVERFLOW, "INTERNAL", "TPM command too long");
	c->p[2] = (uint8_t)(c->len >> 24);
	c->p[3] = (uint8_t)(c->len >> 16);
	c->p[4] = (uint8_t)(c->len >> 8);
	c->p[5] = (uint8_t)c->len;
	if (ccu_write_all(t->fd, c->p, c->len) < 0)
		return ccu_fail(err, -EIO, "TPM_IO", "cannot write the TPM command: %s", strerror(errno));
	/* The device returns the whole response in one read; a stream (tests)
	 * may need several: read until the header's size is reached. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(t->fd, t->rsp + got, sizeof(t->rsp) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ccu_fail(err, -EIO, "TPM_IO", "cannot read the TPM response");
		got += (size_t)n;
		if (got >= HDR) {
			size = be(t->rsp + 2, 4);
			if (size < HDR || size > sizeof(t->rsp))
				return bad_rsp(err, "size out of bounds");
			if (got >= size)
				break;
		}
	}
	if (got < HDR || got != be(t->rsp + 2, 4))
		return bad_rsp(err, "incomplete or overlong");
	t->rsp_len = got;
	return tpm2_parse_header(t->rsp, got, sessions, handles, poff, plen, &t->last_rc, err);
}

int tpm2_nv_size(struct tpm2 *t, uint32_t index, size_t *size, struct ccu_reason *err)
{
	struct cmd c;
	size_t off, len, pl;
	struct rd r;
	int ret;

	begin(t, &c, false, CC_NV_READ_PUBLIC);
	put(&c, index, 4);
	ret = transact(t, &c, false, 0, &off, &len, err);
	/* TPM_RC_HANDLE on the (first) handle: no such index. */
	if (ret == -EPROTO && (t->last_rc & 0xc0) == 0x80 && (t->last_rc & 0x3f) == 0x0b)
		return -ENOENT;
	if (ret < 0)
		return ret;
	r = (struct rd){ .p = t->rsp + off, .len = len };
	pl = get(&r, 2);
	if (get(&r, 4) != index)
		return bad_rsp(err, "NV_ReadPublic: another index");
	(void)get(&r, 2); /* nameAlg */
	(void)get(&r, 4); /* attributes */
	(void)get_tpm2b(&r, &len); /* authPolicy */
	*size = get(&r, 2);
	if (r.bad || pl != r.off - 2)
		return bad_rsp(err, "NV_ReadPublic: malformed nvPublic");
	(void)get_tpm2b(&r, &len); /* nvName */
	if (r.bad || r.off != r.len)
		return bad_rsp(err, "NV_ReadPublic: malformed nvName");
	return 0;
}

int tpm2_nv_define(struct tpm2 *t, uint32_t index, size_t size, struct ccu_reason *err)
{
	struct cmd c;
	size_t off, len;

	begin(t, &c, true, CC_NV_DEFINE);
	put(&c, RH_OWNER, 4);
	pw_session(&c);
	put(&c, 0, 2); /* auth: empty */
	put(&c, 14, 2);
	put(&c, index, 4);
	put(&c, ALG_SHA256, 2);
	put(&c, NV_OWNERWRITE | NV_OWNERREAD, 4);
	put(&c, 0, 2); /* authPolicy */
	put(&c, size, 2);
	return transact(t, &c, true, 0, &off, &len, err);
}

int tpm2_nv_undefine(struct tpm2 *t, uint32_t index, struct ccu_reason *err)
{
	struct cmd c;
	size_t off, len;

	begin(t, &c, true, CC_NV_UNDEFINE);
	put(&c, RH_OWNER, 4);
	put(&c, index, 4);
	pw_session(&c);
	return transact(t, &c, true, 0, &off, &len, err);
}

int tpm2_nv_write(struct tpm2 *t, uint32_t index, const uint8_t *data, size_t len,
		  struct ccu_reason *err)
{
	for (size_t o = 0; o < len; o += TPM2_NV_CHUNK) {
		size_t n = len - o < TPM2_NV_CHUNK ? len - o : TPM2_NV_CHUNK, off, pl;
		struct cmd c;
		int r;

		begin(t, &c, true, CC_NV_WRITE);
		put(&c, RH_OWNER, 4);
		put(&c, index, 4);
		pw_session(&c);
		put_tpm2b(&c, data + o, n);
		put(&c, o, 2);
		r = transact(t, &c, true, 0, &off, &pl, err);
		if (r < 0)
			return r;
		if (pl != 0)
			return bad_rsp(err, "NV_Write: unexpected parameters");
	}
	return 0;
}

int tpm2_nv_read(struct tpm2 *t, uint32_t index, uint8_t *out, size_t len, struct ccu_reason *err)
{
	if (len > TPM2_NV_MAX)
		return ccu_fail(err, -EFBIG, "TPM_RESPONSE", "NV index of %zu bytes is too large",
				len);
	for (size_t o = 0; o < len; o += TPM2_NV_CHUNK) {
		size_t n = len - o < TPM2_NV_CHUNK ? len - o : TPM2_NV_CHUNK, off, pl, dl;
		struct cmd c;
		struct rd r;
		const uint8_t *d;
		int ret;

		begin(t, &c, true, CC_NV_READ);
		put(&c, RH_OWNER, 4);
		put(&c, index, 4);
		pw_session(&c);
		put(&c, n, 2);
		put(&c, o, 2);
		ret = transact(t, &c, true, 0, &off, &pl, err);
		if (ret < 0)
			return ret;
		r = (struct rd){ .p = t->rsp + off, .len = pl };
		d = get_tpm2b(&r, &dl);
		if (r.bad || r.off != pl || dl != n)
			return bad_rsp(err, "NV_Read: data of another size");
		memcpy(out + o, d, n);
	}
	return 0;
}

int tpm2_pcr_read(struct tpm2 *t, uint32_t mask, uint8_t (*out)[32], struct ccu_reason *err)
{
	size_t k = 0;

	/* At most TPM2_PCRS_PER_READ digests per command. */
	for (unsigned first = 0; first < 24;) {
		uint32_t part = 0;
		unsigned n = 0, i;
		struct cmd c;
		size_t off, pl;
		int r;

		for (i = first; i < 24 && n < TPM2_PCRS_PER_READ; i++)
			if (mask >> i & 1u) {
				part |= 1u << i;
				n++;
			}
		first = i;
		if (!part)
			continue;
		begin(t, &c, false, CC_PCR_READ);
		pcr_selection(&c, part);
		r = transact(t, &c, false, 0, &off, &pl, err);
		if (r < 0)
			return r;
		r = tpm2_parse_pcr_read(t->rsp + off, pl, part, out + k, err);
		if (r < 0)
			return r;
		k += n;
	}
	return 0;
}

int tpm2_quote(struct tpm2 *t, uint32_t handle, const uint8_t *qualifying, size_t qlen,
	       uint32_t mask, uint8_t *msg, size_t msg_cap, size_t *msg_len, uint8_t *sig,
	       size_t sig_cap, size_t *sig_len, struct ccu_reason *err)
{
	struct cmd c;
	size_t off, pl;
	int r;

	begin(t, &c, true, CC_QUOTE);
	put(&c, handle, 4);
	pw_session(&c);
	put_tpm2b(&c, qualifying, qlen);
	put(&c, ALG_NULL, 2);
	pcr_selection(&c, mask);
	r = transact(t, &c, true, 0, &off, &pl, err);
	if (r < 0)
		return r;
	return tpm2_parse_quote(t->rsp + off, pl, msg, msg_cap, msg_len, sig, sig_cap, sig_len, err);
}

int tpm2_read_public_rsa(struct tpm2 *t, uint32_t handle, uint8_t *n, size_t n_cap, size_t *n_len,
			 uint32_t *e, struct ccu_reason *err)
{
	struct cmd c;
	size_t off, pl;
	int r;

	begin(t, &c, false, CC_READ_PUBLIC);
	put(&c, handle, 4);
	r = transact(t, &c, false, 0, &off, &pl, err);
	if (r < 0)
		return r;
	return tpm2_parse_read_public(t->rsp + off, pl, n, n_cap, n_len, e, err);
}
