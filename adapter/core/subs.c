/*
 * subs.c - the subscription registry: which session wants which filter, and
 * which filters the adapter subscribes to at the broker.
 *
 * Two indexes with reference counts, as Redis pubsub.c keeps them: filter ->
 * client subscriptions (struct bsub, one broker subscription per distinct
 * filter) and session -> its client subscriptions (struct csub). When several
 * broker subscriptions match one topic the broker sends one copy per
 * subscription; each carries the MQTT 5 subscription identifier it came
 * through, and only the copy of the lowest-numbered matching subscription is
 * used (subs__accept_copy). It does not decide who may subscribe (auth.c) nor
 * write to sockets (session.c). lws thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "adapter.h"

#define bsub_of_all(d) lws_container_of(d, struct bsub, in_all)
#define csub_of_bsub(d) lws_container_of(d, struct csub, in_bsub)
#define csub_of_sess(d) lws_container_of(d, struct csub, in_sess)

void subs__init(struct subs *subs)
{
	memset(subs, 0, sizeof(*subs));
}

static bool topic_matches(const char *filter, const char *topic)
{
	bool match = false;

	return mosquitto_topic_matches_sub(filter, topic, &match) == MOSQ_ERR_SUCCESS && match;
}

static void bsub_free(struct subs *subs, struct bsub *b)
{
	lws_dll2_remove(&b->in_all);
	if (b->wild)
		lws_dll2_remove(&b->in_wild);
	if (b->state != BSUB_DYING)
		HASH_DEL(subs->by_filter, b);
	else
		subs->ndying--;
	free(b->filter);
	free(b);
}

/* Finds or makes the broker subscription for filter, subscribing at the broker if new. */
static struct bsub *bsub_get(struct adapter *a, const char *filter)
{
	struct subs *subs = &a->subs;
	struct bsub *b = NULL;

	HASH_FIND_STR(subs->by_filter, filter, b);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->filter = strdup(filter);
	if (!b->filter) {
		free(b);
		return NULL;
	}
	b->id = ++subs->next_id;
	if (!b->id || b->id > 268435455u) /* the largest MQTT variable byte integer */
		b->id = subs->next_id = 1;
	b->state = BSUB_PENDING;
	b->ord = ++subs->next_ord;
	b->wild = strpbrk(filter, "+#") != NULL;
	HASH_ADD_KEYPTR(hh, subs->by_filter, b->filter, strlen(b->filter), b);
	lws_dll2_add_tail(&b->in_all, &subs->all);
	if (b->wild)
		lws_dll2_add_tail(&b->in_wild, &subs->wild);
	if (bridge__up(a))
		bridge__subscribe(a, b);
	return b;
}

struct follow_check {
	struct adapter *a;
	const struct bsub *going;
};

/* Is th still followed through a broker subscription other than the one going? */
static bool still_followed(const struct topic_hist *th, void *arg)
{
	const struct follow_check *fc = arg;
	struct lws_dll2 *d;

	for (d = lws_dll2_get_head(&fc->a->subs.all); d; d = d->next) {
		const struct bsub *b = bsub_of_all(d);

		if (b != fc->going && b->state != BSUB_DYING && b->refs &&
			topic_matches(b->filter, th->topic))
			return true;
	}
	return false;
}

/*
 * The last client left: unsubscribe at the broker. The entry stays in the
 * "all" list as DYING until the UNSUBACK, because until then the broker may
 * still deliver through it and the de-duplication must know about it. Topics
 * no other subscription follows are forgotten by the history: what is
 * published from now on the adapter will not see, so no client may resume
 * across that gap. At shutdown nothing is unsubscribed: the broker drops a
 * clean session by itself.
 */
static void bsub_release(struct adapter *a, struct bsub *b)
{
	struct follow_check fc = {a, b};

	if (b->refs)
		return;
	if (!a->stopping)
		history__unfollow(&a->hist, b->filter, still_followed, &fc);
	if (!b->sent || !bridge__up(a) || a->stopping) {
		bsub_free(&a->subs, b);
		return;
	}
	HASH_DEL(a->subs.by_filter, b);
	b->state = BSUB_DYING;
	a->subs.ndying++;
	if (bridge__unsubscribe(a, b))
		bsub_free(&a->subs, b);
}

struct csub *subs__add(struct adapter *a, struct session *s, const char *filter, const char *label,
	enum sub_policy policy)
{
	struct csub *cs;
	struct bsub *b;

	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->label = strdup(label ? label : filter);
	b = cs->label ? bsub_get(a, filter) : NULL;
	if (!b) {
		free(cs->label);
		free(cs);
		return NULL;
	}
	cs->sess = s;
	cs->bsub = b;
	cs->policy = policy;
	b->refs++;
	lws_dll2_add_tail(&cs->in_bsub, &b->members);
	lws_dll2_add_tail(&cs->in_sess, &s->subs);
	return cs;
}

void subs__remove(struct adapter *a, struct csub *cs)
{
	struct bsub *b = cs->bsub;

	lws_dll2_remove(&cs->in_bsub);
	lws_dll2_remove(&cs->in_sess);
	subs__set_types(cs, NULL, 0);
	free(cs->owner);
	free(cs->label);
	free(cs);
	b->refs--;
	bsub_release(a, b);
}

/* Returns the session's subscription to filter (and label, when given), or NULL. */
struct csub *subs__find(struct session *s, const char *filter, const char *label)
{
	struct lws_dll2 *d;

	for (d = lws_dll2_get_head(&s->subs); d; d = d->next) {
		struct csub *cs = csub_of_sess(d);

		if (!strcmp(cs->bsub->filter, filter) && (!label || !strcmp(cs->label, label)))
			return cs;
	}
	return NULL;
}

void subs__remove_all(struct adapter *a, struct session *s)
{
	struct lws_dll2 *d, *d1;

	for (d = lws_dll2_get_head(&s->subs); d; d = d1) {
		d1 = d->next;
		subs__remove(a, csub_of_sess(d));
	}
}

void subs__cleanup(struct adapter *a)
{
	struct lws_dll2 *d, *d1;

	for (d = lws_dll2_get_head(&a->subs.all); d; d = d1) {
		d1 = d->next;
		bsub_free(&a->subs, bsub_of_all(d));
	}
}

/* Replaces the notification types a subscription passes (NULL, 0: all), taking @types. */
void subs__set_types(struct csub *cs, char **types, size_t n)
{
	size_t i;

	for (i = 0; i < cs->ntypes; i++)
		free(cs->types[i]);
	free(cs->types);
	cs->types = types;
	cs->ntypes = n;
}

/*
 * Restricts a subscription to topics whose level @level starts with
 * @prefix: a wildcard over users' own namespaces ("calc/+/progress" for
 * "alice~") passes only this user's. Returns 0, or -1 on out of memory.
 */
int subs__set_owner(struct csub *cs, const char *prefix, int level)
{
	free(cs->owner);
	cs->owner = strdup(prefix);
	cs->owner_level = level;
	return cs->owner ? 0 : -1;
}

/* Does level @level of topic start with prefix? */
static bool level_starts(const char *topic, int level, const char *prefix)
{
	for (; level > 0 && topic; level--) {
		topic = strchr(topic, '/');
		if (topic)
			topic++;
	}
	return topic && !strncmp(topic, prefix, strlen(prefix));
}

/* Does the subscription pass this message (owner, notification types)? */
static bool csub_accepts(const struct csub *cs, const struct out_msg *m)
{
	size_t i;

	if (cs->owner && !level_starts(m->topic, cs->owner_level, cs->owner))
		return false;
	if (!cs->types)
		return true;
	if (!m->ntype)
		return false;
	for (i = 0; i < cs->ntypes; i++) {
		if (!strcmp(cs->types[i], m->ntype))
			return true;
	}
	return false;
}

/*
 * Queues m on every session with a subscription matching its topic, once per
 * session however many of its filters match (the generation mark). The
 * message was encoded once; sessions share it by reference.
 */
static void deliver(struct bsub *b, struct out_msg *m, uint64_t gen)
{
	struct lws_dll2 *e;

	for (e = lws_dll2_get_head(&b->members); e; e = e->next) {
		struct csub *cs = csub_of_bsub(e);

		if (cs->sess->gen == gen || !csub_accepts(cs, m))
			continue;
		cs->sess->gen = gen;
		if (session__deliver(cs->sess, m, cs->policy) == 0 && cs->system && !cs->owner)
			calc__update(cs->sess, cs->label, m); /* one calculation's progress */
	}
}

/*
 * The broker subscriptions a topic can match are the one whose filter is the
 * topic itself (a hash lookup) and those with wildcards (usually few): no
 * walk over every filter, which with thousands of topics would cost more
 * than the writes.
 */
void subs__fanout(struct adapter *a, struct out_msg *m)
{
	uint64_t gen = ++a->subs.gen;
	struct lws_dll2 *d;
	struct bsub *b = NULL;

	HASH_FIND_STR(a->subs.by_filter, m->topic, b);
	if (b && b->refs)
		deliver(b, m, gen);
	for (d = lws_dll2_get_head(&a->subs.wild); d; d = d->next) {
		b = lws_container_of(d, struct bsub, in_wild);
		if (b->state != BSUB_DYING && b->refs && topic_matches(b->filter, m->topic))
			deliver(b, m, gen);
	}
}

static bool has_id(const uint32_t *ids, int nids, uint32_t id)
{
	int i;

	for (i = 0; i < nids; i++) {
		if (ids[i] == id)
			return true;
	}
	return false;
}

/*
 * subs__accept_copy() when no subscription is dying: every candidate is in
 * the hash (the exact filter) or in the wildcard list, and the first of
 * them in "all" order is the one with the smallest ord.
 */
static bool accept_fast(struct adapter *a, const char *topic, const uint32_t *ids, int nids)
{
	struct bsub *b = NULL, *best = NULL;
	struct lws_dll2 *d;

	HASH_FIND_STR(a->subs.by_filter, topic, b);
	if (b && b->state != BSUB_PENDING)
		best = b;
	for (d = lws_dll2_get_head(&a->subs.wild); d; d = d->next) {
		b = lws_container_of(d, struct bsub, in_wild);
		if (b->state != BSUB_PENDING && (!best || b->ord < best->ord) &&
			topic_matches(b->filter, topic))
			best = b;
	}
	return !best || has_id(ids, nids, best->id);
}

/*
 * Says whether this copy of a message is the one to use: the broker sends a
 * copy through every matching subscription, each with its identifier, and
 * only the lowest-numbered subscription that the broker had acknowledged (and
 * not yet dropped) when it routed the message counts. SUBACK and UNSUBACK
 * travel in order with the messages, so the "all" list mirrors what the
 * broker had at that moment.
 */
bool subs__accept_copy(struct adapter *a, const char *topic, const uint32_t *ids, int nids)
{
	struct lws_dll2 *d;

	int i;

	if (nids <= 0)
		return true;
	if (!a->subs.ndying)
		return accept_fast(a, topic, ids, nids);
	for (d = lws_dll2_get_head(&a->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_PENDING || !topic_matches(b->filter, topic))
			continue;
		for (i = 0; i < nids; i++) {
			if (ids[i] == b->id)
				return true;
		}
		return false;
	}
	return true;
}

void subs__on_suback(struct adapter *a, int mid)
{
	struct lws_dll2 *d;

	for (d = lws_dll2_get_head(&a->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_PENDING && b->sent && b->mid == mid) {
			b->state = BSUB_LIVE;
			return;
		}
	}
}

void subs__on_unsuback(struct adapter *a, int mid)
{
	struct lws_dll2 *d;

	for (d = lws_dll2_get_head(&a->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_DYING && b->mid == mid) {
			struct follow_check fc = {a, b};

			/* It delivered until now: forget again what only it followed. */
			history__unfollow(&a->hist, b->filter, still_followed, &fc);
			bsub_free(&a->subs, b);
			return;
		}
	}
}

/*
 * A new broker connection starts with a clean session: forget the dying
 * subscriptions and subscribe every needed filter again, in id order.
 */
void subs__on_broker_connect(struct adapter *a)
{
	struct lws_dll2 *d, *d1;

	for (d = lws_dll2_get_head(&a->subs.all); d; d = d1) {
		d1 = d->next;
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_DYING || !b->refs) {
			bsub_free(&a->subs, b);
			continue;
		}
		b->state = BSUB_PENDING;
		b->sent = false;
		bridge__subscribe(a, b);
	}
}

/*
 * The broker connection dropped: until it is back the adapter sees nothing,
 * so every topic's history restarts (new epochs) and no client resumes
 * across the outage believing it missed nothing.
 */
void subs__on_broker_disconnect(struct adapter *a)
{
	struct lws_dll2 *d;

	for (d = lws_dll2_get_head(&a->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state != BSUB_DYING)
			b->state = BSUB_PENDING;
		b->sent = false;
	}
	if (!a->stopping)
		history__unfollow(&a->hist, NULL, NULL, NULL);
}

/* Broker subscriptions the clients need (for /api/stats and tests). */
unsigned subs__broker_count(const struct adapter *a)
{
	return HASH_COUNT(a->subs.by_filter);
}

/*
 * After an ACL reload: ends every subscription of s that the new rules no
 * longer allow, telling the client why. Subscriptions the adapter granted
 * itself (calc progress) stay.
 */
void subs__recheck(struct adapter *a, struct session *s, const char *reason)
{
	struct lws_dll2 *d, *d1;

	char why[128];

	for (d = lws_dll2_get_head(&s->subs); d; d = d1) {
		d1 = d->next;
		struct csub *cs = csub_of_sess(d);
		cJSON *msg;

		if (cs->system ||
			auth__allowed(
				a, s, cs->bsub->filter, RTG_ACCESS_SUBSCRIBE, why, sizeof(why)))
			continue;
		msg = session__json_base("subscription");
		if (msg) {
			cJSON_AddStringToObject(msg, "action", "unsubscribed");
			cJSON_AddStringToObject(msg, "topic", cs->bsub->filter);
			if (strcmp(cs->label, cs->bsub->filter))
				cJSON_AddStringToObject(msg, "channel", cs->label);
			cJSON_AddStringToObject(msg, "reason", reason);
			session__send_json(s, msg);
		}
		subs__remove(a, cs);
	}
}
