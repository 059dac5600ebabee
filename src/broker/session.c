#include "broker/session.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "broker/session_pg.h"
#include "common/codec.h"
#include "common/secmem.h"

#define SESSION_MAX_BUCKETS (1u << 18)
#define SESSION_PURGE_EVERY 10 /* seconds between opportunistic purges */

struct sess {
	char id[BROKER_SESSION_ID_LEN + 1];
	char nonce[KBS_NONCE_LEN + 1];
	time_t expires;
	enum broker_session_state state;
	struct broker_attested *att;
	struct sess *next;
};

struct broker_sessions {
	pthread_mutex_t lock;
	struct sess **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	unsigned max;
	unsigned timeout;
	time_t last_purge;
	struct session_pg *shared; /* sessions in PostgreSQL: the table is unused */
};

bool broker_session_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (i >= BROKER_SESSION_ID_LEN || !((id[i] >= '0' && id[i] <= '9') ||
						    (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == BROKER_SESSION_ID_LEN;
}

struct broker_sessions *broker_sessions_new(unsigned max_sessions, unsigned timeout)
{
	struct broker_sessions *t = calloc(1, sizeof(*t));
	size_t nb = 16;

	if (!t)
		return NULL;
	while (nb < max_sessions / 2 && nb < SESSION_MAX_BUCKETS)
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(struct sess *));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->nbuckets = nb;
	t->max = max_sessions ? max_sessions : 1;
	t->timeout = timeout;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

static void sess_free(struct sess *s)
{
	/* The attestation is not secret, but the memory is reused: wipe it. */
	if (s->att) {
		secmem_wipe(s->att, sizeof(*s->att));
		free(s->att);
	}
	secmem_wipe(s, sizeof(*s));
	free(s);
}

int broker_sessions_new_shared(const char *conninfo, const uint8_t master_key[32],
			       unsigned max_sessions, unsigned timeout,
			       struct broker_sessions **ret, struct ccu_reason *err)
{
	struct broker_sessions *t = broker_sessions_new(1, timeout);
	int r;

	if (!t)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = session_pg_open(conninfo, master_key, max_sessions, timeout, &t->shared, err);
	if (r < 0) {
		broker_sessions_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

void broker_sessions_free(struct broker_sessions *t)
{
	if (!t)
		return;
	session_pg_close(t->shared);
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct sess *s = t->buckets[i], *n;

		for (; s; s = n) {
			n = s->next;
			sess_free(s);
		}
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static size_t bucket_of(const struct broker_sessions *t, const char *id)
{
	uint64_t h = 1469598103934665603ull;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 1099511628211ull;
	return (size_t)h & (t->nbuckets - 1);
}

static size_t purge_locked(struct broker_sessions *t, time_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct sess **pp = &t->buckets[i];

		while (*pp) {
			struct sess *s = *pp;

			if (s->expires <= now) {
				*pp = s->next;
				sess_free(s);
				n++;
			} else {
				pp = &s->next;
			}
		}
	}
	t->count -= n;
	t->last_purge = now;
	return n;
}

size_t broker_sessions_purge(struct broker_sessions *t, time_t now)
{
	size_t n;
	if (t->shared)
		return session_pg_purge(t->shared, now);

	pthread_mutex_lock(&t->lock);
	n = purge_locked(t, now);
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t broker_sessions_count(struct broker_sessions *t)
{
	size_t n;
	if (t->shared)
		return session_pg_count(t->shared);

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static struct sess *find_locked(struct broker_sessions *t, const char *id, time_t now)
{
	struct sess *s;

	if (!broker_session_id_valid(id))
		return NULL;
	for (s = t->buckets[bucket_of(t, id)]; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s->expires > now ? s : NULL;
	return NULL;
}

static int mem_create(struct broker_sessions *t, time_t now, char id[BROKER_SESSION_ID_LEN + 1],
		      char nonce[KBS_NONCE_LEN + 1], time_t *expires, struct ccu_reason *err)
{
	uint8_t rnd[BROKER_SESSION_ID_LEN / 2];
	struct sess *s = calloc(1, sizeof(*s));
	size_t b;

	if (!s)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || kbs_nonce_generate(s->nonce) < 0) {
		free(s);
		return ccu_fail(err, -EIO, "INTERNAL", "no randomness");
	}
	ccu_hex_encode(rnd, sizeof(rnd), s->id, sizeof(s->id));
	s->expires = now + (time_t)t->timeout;
	pthread_mutex_lock(&t->lock);
	if (t->count >= t->max || now - t->last_purge >= SESSION_PURGE_EVERY)
		purge_locked(t, now);
	if (t->count >= t->max) {
		pthread_mutex_unlock(&t->lock);
		free(s);
		return ccu_fail(err, -EBUSY, "SESSION_LIMIT",
				"%u sessions are open (max_sessions); try again later", t->max);
	}
	b = bucket_of(t, s->id);
	s->next = t->buckets[b];
	t->buckets[b] = s;
	t->count++;
	memcpy(id, s->id, sizeof(s->id));
	memcpy(nonce, s->nonce, sizeof(s->nonce));
	*expires = s->expires;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int broker_sessions_create(struct broker_sessions *t, time_t now,
			   char id[BROKER_SESSION_ID_LEN + 1], char nonce[KBS_NONCE_LEN + 1],
			   time_t *expires, struct ccu_reason *err)
{
	if (t->shared)
		return session_pg_create(t->shared, now, id, nonce, expires, err);
	return mem_create(t, now, id, nonce, expires, err);
}

int broker_sessions_consume(struct broker_sessions *t, const char *id, time_t now,
			    char nonce[KBS_NONCE_LEN + 1], struct ccu_reason *err)
{
	struct sess *s;
	int r = 0;
	if (t->shared)
		return session_pg_consume(t->shared, id, now, nonce, err);

	pthread_mutex_lock(&t->lock);
	s = find_locked(t, id, now);
	if (!s)
		r = ccu_fail(err, -ENOENT, "SESSION_UNKNOWN",
			     "no live session for this kbs-session-id (expired or never issued)");
	else if (s->state != BROKER_SESSION_FRESH)
		r = ccu_fail(err, -EALREADY, "SESSION_NONCE_USED",
			     "this session's nonce was already used by an earlier /attest; "
			     "start again with /auth");
	else {
		s->state = BROKER_SESSION_CONSUMED;
		memcpy(nonce, s->nonce, sizeof(s->nonce));
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

static int mem_attested(struct broker_sessions *t, const char *id, time_t now,
			const struct broker_attested *a, time_t until, struct ccu_reason *err)
{
	struct broker_attested *copy = malloc(sizeof(*copy));
	struct sess *s;
	int r = 0;

	if (!copy)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	memcpy(copy, a, sizeof(*copy));
	pthread_mutex_lock(&t->lock);
	s = find_locked(t, id, now);
	if (!s || s->state != BROKER_SESSION_CONSUMED) {
		r = ccu_fail(err, -ENOENT, "SESSION_UNKNOWN", "the session expired during /attest");
	} else {
		s->state = BROKER_SESSION_ATTESTED;
		s->att = copy;
		copy = NULL;
		if (s->expires < until)
			s->expires = until;
	}
	pthread_mutex_unlock(&t->lock);
	free(copy);
	return r;
}

int broker_sessions_attested(struct broker_sessions *t, const char *id, time_t now,
			     const struct broker_attested *a, time_t until, struct ccu_reason *err)
{
	if (t->shared)
		return session_pg_attested(t->shared, id, now, a, until, err);
	return mem_attested(t, id, now, a, until, err);
}

int broker_sessions_get(struct broker_sessions *t, const char *id, time_t now,
			struct broker_attested *out, struct ccu_reason *err)
{
	struct sess *s;
	int r = 0;
	if (t->shared)
		return session_pg_get(t->shared, id, now, out, err);

	pthread_mutex_lock(&t->lock);
	s = find_locked(t, id, now);
	if (!s)
		r = ccu_fail(err, -ENOENT, "SESSION_UNKNOWN",
			     "no live session for this kbs-session-id (expired or never issued)");
	else if (s->state != BROKER_SESSION_ATTESTED)
		r = ccu_fail(err, -EACCES, "SESSION_NOT_ATTESTED",
			     "this session has no verified attestation");
	else
		memcpy(out, s->att, sizeof(*out));
	pthread_mutex_unlock(&t->lock);
	return r;
}
