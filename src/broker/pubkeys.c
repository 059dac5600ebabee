#include "broker/pubkeys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	struct kbs_jwk jwk;
	EVP_PKEY *pk; /* NULL: empty */
};

struct broker_pubkeys {
	pthread_mutex_t lock;
	struct slot slot[BROKER_PUBKEYS_SLOTS];
	size_t next; /* the oldest slot, replaced next */
};

struct broker_pubkeys *broker_pubkeys_new(void)
{
	struct broker_pubkeys *c = calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void broker_pubkeys_free(struct broker_pubkeys *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < BROKER_PUBKEYS_SLOTS; i++)
		EVP_PKEY_free(c->slot[i].pk);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Called with c->lock held. */
static struct slot *find_locked(struct broker_pubkeys *c, const struct kbs_jwk *jwk)
{
	for (size_t i = 0; i < BROKER_PUBKEYS_SLOTS; i++) {
		struct slot *s = &c->slot[i];

		if (s->pk && kbs_jwk_equal(&s->jwk, jwk))
			return s;
	}
	return NULL;
}

void broker_pubkeys_put(struct broker_pubkeys *c, const struct kbs_jwk *jwk, EVP_PKEY *pk)
{
	EVP_PKEY *old = NULL;
	struct slot *s;

	if (!c || !pk || jwk->kty == KBS_KTY_NONE || EVP_PKEY_up_ref(pk) != 1)
		return;
	pthread_mutex_lock(&c->lock);
	if (find_locked(c, jwk)) {
		old = pk; /* already there: drop the reference just taken */
	} else {
		s = &c->slot[c->next];
		old = s->pk;
		s->jwk = *jwk;
		s->pk = pk;
		c->next = (c->next + 1) % BROKER_PUBKEYS_SLOTS;
	}
	pthread_mutex_unlock(&c->lock);
	EVP_PKEY_free(old);
}

int broker_pubkeys_get(struct broker_pubkeys *c, const struct kbs_jwk *jwk, EVP_PKEY **ret,
		       struct ccu_reason *err)
{
	struct slot *s;
	int r;

	*ret = NULL;
	if (c) {
		pthread_mutex_lock(&c->lock);
		s = find_locked(c, jwk);
		if (s && EVP_PKEY_up_ref(s->pk) == 1)
			*ret = s->pk;
		pthread_mutex_unlock(&c->lock);
		if (*ret)
			return 0;
	}
	r = kbs_jwk_to_pkey(jwk, ret, err);
	if (r < 0)
		return r;
	broker_pubkeys_put(c, jwk, *ret);
	return 0;
}

size_t broker_pubkeys_count(struct broker_pubkeys *c)
{
	size_t n = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < BROKER_PUBKEYS_SLOTS; i++)
		n += c->slot[i].pk != NULL;
	pthread_mutex_unlock(&c->lock);
	return n;
}
