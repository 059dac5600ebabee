#include "broker/session_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "broker/pg_link.h"
#include "common/codec.h"
#include "common/evp.h"
#include "common/secmem.h"

#define SPG_PURGE_EVERY 10 /* seconds between opportunistic purges */
#define SPG_SCHEMA_LOCK "4242002"
#define SPG_IV_LEN 12
#define SPG_TAG_LEN 16
#define SPG_MAGIC "ccunlock-kbs session v1"

/* ccu_sessions.state: BROKER_SESSION_FRESH, _CONSUMED, _ATTESTED. */
enum { ST_ATTESTED = BROKER_SESSION_ATTESTED };

/* The sealed plaintext: what /attest left, and until when it may be used. */
struct sealed_att {
	char magic[sizeof(SPG_MAGIC)];
	uint32_t size; /* sizeof(struct broker_attested): replicas run one build */
	int64_t until;
	struct broker_attested att;
};

#define SPG_BLOB_LEN (SPG_IV_LEN + sizeof(struct sealed_att) + SPG_TAG_LEN)

struct session_pg {
	struct ccu_pg *pg;
	uint8_t *key; /* secmem copy of the master key */
	unsigned max;
	unsigned timeout;
	pthread_mutex_t lock; /* last_purge */
	time_t last_purge;
};

static const char *const schema_sql =
	"CREATE TABLE IF NOT EXISTS ccu_sessions(id TEXT PRIMARY KEY, nonce TEXT NOT NULL,"
	" state SMALLINT NOT NULL, expires BIGINT NOT NULL, att BYTEA);"
	"CREATE INDEX IF NOT EXISTS ccu_sessions_expires ON ccu_sessions(expires);";

static void aad_of(const char *id, char aad[64])
{
	snprintf(aad, 64, "session %s", id);
}

static int seal(struct session_pg *sp, const char *id, const struct sealed_att *pt,
		uint8_t out[SPG_BLOB_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	char aad[64];
	int l = 0, ok;

	aad_of(id, aad);
	ok = c && RAND_bytes(out, SPG_IV_LEN) == 1 &&
	     EVP_EncryptInit_ex(c, ccu_cipher_aes256gcm(), NULL, sp->key, out) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &l, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	     EVP_EncryptUpdate(c, out + SPG_IV_LEN, &l, (const uint8_t *)pt, (int)sizeof(*pt)) ==
		     1 &&
	     l == (int)sizeof(*pt) && EVP_EncryptFinal_ex(c, out + SPG_IV_LEN + l, &l) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SPG_TAG_LEN,
				 out + SPG_IV_LEN + sizeof(*pt)) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EIO;
}

static int unseal(struct session_pg *sp, const char *id, const uint8_t *in, size_t len,
		  struct sealed_att *pt)
{
	EVP_CIPHER_CTX *c;
	char aad[64];
	int l = 0, ok;

	if (len != SPG_BLOB_LEN)
		return -EBADMSG;
	c = EVP_CIPHER_CTX_new();
	aad_of(id, aad);
	ok = c && EVP_DecryptInit_ex(c, ccu_cipher_aes256gcm(), NULL, sp->key, in) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &l, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	     EVP_DecryptUpdate(c, (uint8_t *)pt, &l, in + SPG_IV_LEN, (int)sizeof(*pt)) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SPG_TAG_LEN,
				 (void *)(uintptr_t)(in + SPG_IV_LEN + sizeof(*pt))) == 1 &&
	     EVP_DecryptFinal_ex(c, (uint8_t *)pt + l, &l) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		secmem_wipe(pt, sizeof(*pt));
		return -EBADMSG;
	}
	if (memcmp(pt->magic, SPG_MAGIC, sizeof(SPG_MAGIC)) != 0 ||
	    pt->size != (uint32_t)sizeof(struct broker_attested))
		return -EPROTO;
	return 0;
}

int session_pg_open(const char *conninfo, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
		    unsigned max_sessions, unsigned timeout, struct session_pg **ret,
		    struct ccu_reason *err)
{
	struct session_pg *sp = calloc(1, sizeof(*sp));
	int r;

	if (!sp)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	pthread_mutex_init(&sp->lock, NULL);
	sp->max = max_sessions ? max_sessions : 1;
	sp->timeout = timeout;
	sp->key = secmem_alloc(BROKER_MASTER_KEY_LEN);
	if (!sp->key) {
		session_pg_close(sp);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot lock memory for the master key");
	}
	memcpy(sp->key, master_key, BROKER_MASTER_KEY_LEN);
	r = ccu_pg_open(conninfo, &sp->pg, err);
	if (r >= 0)
		r = ccu_pg_exec_script(sp->pg, SPG_SCHEMA_LOCK, schema_sql, err);
	if (r < 0) {
		session_pg_close(sp);
		return r;
	}
	*ret = sp;
	return 0;
}

void session_pg_close(struct session_pg *sp)
{
	if (!sp)
		return;
	ccu_pg_close(sp->pg);
	secmem_free(sp->key);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

static void i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
}

size_t session_pg_purge(struct session_pg *sp, time_t now)
{
	char t[24];
	const char *p[1] = { t };
	PGresult *res;
	size_t n = 0;

	i64(t, (int64_t)now);
	res = ccu_pg_exec(sp->pg, "DELETE FROM ccu_sessions WHERE expires <= $1::bigint", 1, p, -1,
			  NULL, 0, NULL);
	if (res) {
		n = strtoul(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	pthread_mutex_lock(&sp->lock);
	sp->last_purge = now;
	pthread_mutex_unlock(&sp->lock);
	return n;
}

size_t session_pg_count(struct session_pg *sp)
{
	PGresult *res = ccu_pg_exec(sp->pg, "SELECT count(*)::bigint FROM ccu_sessions", 0, NULL,
				    -1, NULL, 0, NULL);
	size_t n = 0;

	if (res && PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8)
		n = (size_t)ccu_pg_be64(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

int session_pg_create(struct session_pg *sp, time_t now, char id[BROKER_SESSION_ID_LEN + 1],
		      char nonce[KBS_NONCE_LEN + 1], time_t *expires, struct ccu_reason *err)
{
	uint8_t rnd[BROKER_SESSION_ID_LEN / 2];
	char sid[BROKER_SESSION_ID_LEN + 1], n[KBS_NONCE_LEN + 1], exp[24], nw[24], max[24];
	const char *p[5] = { sid, n, exp, nw, max };
	bool purge;
	PGresult *res;
	int r = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || kbs_nonce_generate(n) < 0)
		return ccu_fail(err, -EIO, "INTERNAL", "no randomness");
	ccu_hex_encode(rnd, sizeof(rnd), sid, sizeof(sid));
	pthread_mutex_lock(&sp->lock);
	purge = now - sp->last_purge >= SPG_PURGE_EVERY;
	pthread_mutex_unlock(&sp->lock);
	if (purge)
		session_pg_purge(sp, now);
	i64(exp, (int64_t)now + (int64_t)sp->timeout);
	i64(nw, (int64_t)now);
	i64(max, (int64_t)sp->max);
	/* One statement: the fleet-wide bound and the insert cannot race. */
	res = ccu_pg_exec(sp->pg,
			  "INSERT INTO ccu_sessions(id, nonce, state, expires) "
			  "SELECT $1, $2, 0, $3::bigint WHERE (SELECT count(*) FROM ccu_sessions "
			  "WHERE expires > $4::bigint) < $5::bigint",
			  5, p, -1, NULL, 0, err);
	if (!res)
		return -EIO;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		r = ccu_fail(err, -EBUSY, "SESSION_LIMIT",
			     "%u sessions are open (max_sessions); try again later", sp->max);
	PQclear(res);
	if (r < 0)
		return r;
	memcpy(id, sid, sizeof(sid));
	memcpy(nonce, n, sizeof(n));
	*expires = now + (time_t)sp->timeout;
	return 0;
}

static int unknown(struct ccu_reason *err)
{
	return ccu_fail(err, -ENOENT, "SESSION_UNKNOWN",
			"no live session for this kbs-session-id (expired or never issued)");
}

int session_pg_consume(struct session_pg *sp, const char *id, time_t now,
		       char nonce[KBS_NONCE_LEN + 1], struct ccu_reason *err)
{
	char nw[24];
	const char *p[2] = { id, nw };
	PGresult *res;
	int r = 0;

	if (!broker_session_id_valid(id))
		return unknown(err);
	i64(nw, (int64_t)now);
	/* The one atomic step that makes a nonce single use fleet-wide. */
	res = ccu_pg_exec(sp->pg,
			  "UPDATE ccu_sessions SET state = 1 WHERE id = $1 AND state = 0 "
			  "AND expires > $2::bigint RETURNING nonce",
			  2, p, -1, NULL, 0, err);
	if (!res)
		return -EIO;
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == KBS_NONCE_LEN) {
		memcpy(nonce, PQgetvalue(res, 0, 0), KBS_NONCE_LEN);
		nonce[KBS_NONCE_LEN] = 0;
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = ccu_pg_exec(sp->pg, "SELECT state FROM ccu_sessions WHERE id = $1 AND expires > $2::bigint",
			  2, p, -1, NULL, 0, err);
	if (!res)
		return -EIO;
	if (PQntuples(res) == 1)
		r = ccu_fail(err, -EALREADY, "SESSION_NONCE_USED",
			     "this session's nonce was already used by an earlier /attest; "
			     "start again with /auth");
	else
		r = unknown(err);
	PQclear(res);
	return r;
}

int session_pg_attested(struct session_pg *sp, const char *id, time_t now,
			const struct broker_attested *a, time_t until, struct ccu_reason *err)
{
	struct sealed_att *pt = calloc(1, sizeof(*pt));
	uint8_t *blob = malloc(SPG_BLOB_LEN);
	char nw[24], un[24];
	const char *p[4] = { id, nw, NULL, un };
	PGresult *res = NULL;
	int r = 0;

	if (!pt || !blob) {
		r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		goto out;
	}
	memcpy(pt->magic, SPG_MAGIC, sizeof(SPG_MAGIC));
	pt->size = (uint32_t)sizeof(*a);
	pt->until = (int64_t)until;
	pt->att = *a;
	if (seal(sp, id, pt, blob) < 0) {
		r = ccu_fail(err, -EIO, "INTERNAL", "cannot seal the session");
		goto out;
	}
	i64(nw, (int64_t)now);
	i64(un, (int64_t)until);
	res = ccu_pg_exec(sp->pg,
			  "UPDATE ccu_sessions SET state = 2, att = $3, "
			  "expires = GREATEST(expires, $4::bigint) "
			  "WHERE id = $1 AND state = 1 AND expires > $2::bigint",
			  4, p, 2, blob, SPG_BLOB_LEN, err);
	if (!res)
		r = -EIO;
	else if (strcmp(PQcmdTuples(res), "1") != 0)
		r = ccu_fail(err, -ENOENT, "SESSION_UNKNOWN", "the session expired during /attest");
out:
	PQclear(res);
	if (pt) {
		secmem_wipe(pt, sizeof(*pt));
		free(pt);
	}
	free(blob);
	return r;
}

int session_pg_get(struct session_pg *sp, const char *id, time_t now, struct broker_attested *out,
		   struct ccu_reason *err)
{
	struct sealed_att *pt;
	char nw[24];
	const char *p[2] = { id, nw };
	PGresult *res;
	int r;

	if (!broker_session_id_valid(id))
		return unknown(err);
	i64(nw, (int64_t)now);
	res = ccu_pg_exec(sp->pg,
			  "SELECT state, att FROM ccu_sessions WHERE id = $1 AND expires > $2::bigint",
			  2, p, -1, NULL, 0, err);
	if (!res)
		return -EIO;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return unknown(err);
	}
	/* state is a binary SMALLINT: two bytes, big-endian. */
	if (PQgetlength(res, 0, 0) != 2 || PQgetvalue(res, 0, 0)[0] != 0 ||
	    (uint8_t)PQgetvalue(res, 0, 0)[1] != ST_ATTESTED || PQgetisnull(res, 0, 1)) {
		PQclear(res);
		return ccu_fail(err, -EACCES, "SESSION_NOT_ATTESTED",
				"this session has no verified attestation");
	}
	pt = malloc(sizeof(*pt));
	if (!pt) {
		PQclear(res);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	r = unseal(sp, id, (const uint8_t *)PQgetvalue(res, 0, 1),
		   (size_t)PQgetlength(res, 0, 1), pt);
	PQclear(res);
	if (r < 0)
		r = ccu_fail(err, -EACCES, "SESSION_NOT_ATTESTED",
			     "this session's attestation does not authenticate under the master "
			     "key (another key, another broker version, or the database was "
			     "edited)");
	else if (pt->until <= (int64_t)now)
		r = unknown(err);
	else
		*out = pt->att;
	secmem_wipe(pt, sizeof(*pt));
	free(pt);
	return r;
}
