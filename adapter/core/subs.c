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
 * write to sockets (session.c).
 * One thread only: the event loop's.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "rtg_topic.h"

#define bsub_of_all(d) container_of(d, struct bsub, in_all)
#define csub_of_bsub(d) container_of(d, struct csub, in_bsub)
#define csub_of_sess(d) container_of(d, struct csub, in_sess)

static void bsub_free(struct subs *subs, struct bsub *b)
{
	list_remove(&b->in_all);
	if (b->wild)
		list_remove(&b->in_wild);
	if (b->state != BSUB_DYING)
		HASH_DEL(subs->by_filter, b);
	else
		subs->ndying--;
	free(b->filter);
	free(b);
}

/* Finds or makes the broker subscription for filter, subscribing at the broker if new. */
static struct bsub *bsub_get(struct core *c, const char *filter)
{
	struct subs *subs = &c->subs;
	struct bsub *b = NULL;

	HASH_FIND_STR(subs->by_filter, filter, b);
	if (b)
		return b;
	/* checked once here, so the per-message matching need not (rtg_topic_matches_valid) */
	if (!rtg_topic_filter_valid(filter))
		return NULL;
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
	list_add_tail(&b->in_all, &subs->all);
	if (b->wild)
		list_add_tail(&b->in_wild, &subs->wild);
	if (c->broker->up(c->a))
		c->broker->subscribe(c->a, b);
	return b;
}

struct follow_check {
	struct core *c;
	const struct bsub *going;
};

/* Is th still followed through a broker subscription other than the one going? */
static bool still_followed(const struct topic_hist *th, void *arg)
{
	const struct follow_check *fc = arg;
	struct list_node *d;

	for (d = list_head(&fc->c->subs.all); d; d = d->next) {
		const struct bsub *b = bsub_of_all(d);

		if (b != fc->going && b->state != BSUB_DYING && b->refs &&
			rtg_topic_matches(b->filter, th->topic))
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
static void bsub_release(struct core *c, struct bsub *b)
{
	struct follow_check fc = {c, b};

	if (b->refs)
		return;
	if (!c->stopping)
		history__unfollow(c->hist, b->filter, still_followed, &fc);
	if (!b->sent || !c->broker->up(c->a) || c->stopping) {
		bsub_free(&c->subs, b);
		return;
	}
	HASH_DEL(c->subs.by_filter, b);
	b->state = BSUB_DYING;
	c->subs.ndying++;
	if (c->broker->unsubscribe(c->a, b))
		bsub_free(&c->subs, b);
}

struct csub *subs__add(struct core *c, struct session *s, const char *filter, const char *label,
	enum sub_policy policy)
{
	struct csub *cs;
	struct bsub *b;

	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->label = strdup(label ? label : filter);
	b = cs->label ? bsub_get(c, filter) : NULL;
	if (!b) {
		free(cs->label);
		free(cs);
		return NULL;
	}
	cs->sess = s;
	cs->bsub = b;
	cs->policy = policy;
	b->refs++;
	list_add_tail(&cs->in_bsub, &b->members);
	list_add_tail(&cs->in_sess, &s->subs);
	return cs;
}

void subs__remove(struct core *c, struct csub *cs)
{
	struct bsub *b = cs->bsub;

	list_remove(&cs->in_bsub);
	list_remove(&cs->in_sess);
	subs__set_types(cs, NULL, 0);
	free(cs->owner);
	free(cs->label);
	free(cs);
	b->refs--;
	bsub_release(c, b);
}

/* Returns the session's subscription to filter (and label, when given), or NULL. */
struct csub *subs__find(struct session *s, const char *filter, const char *label)
{
	struct list_node *d;

	for (d = list_head(&s->subs); d; d = d->next) {
		struct csub *cs = csub_of_sess(d);

		if (!strcmp(cs->bsub->filter, filter) && (!label || !strcmp(cs->label, label)))
			return cs;
	}
	return NULL;
}

void subs__remove_all(struct core *c, struct session *s)
{
	struct list_node *d, *d1;

	for (d = list_head(&s->subs); d; d = d1) {
		d1 = d->next;
		subs__remove(c, csub_of_sess(d));
	}
}

void subs__cleanup(struct core *c)
{
	struct list_node *d, *d1;

	for (d = list_head(&c->subs.all); d; d = d1) {
		d1 = d->next;
		bsub_free(&c->subs, bsub_of_all(d));
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
	struct list_node *e;

	for (e = list_head(&b->members); e; e = e->next) {
		struct csub *cs = csub_of_bsub(e);

		if (cs->sess->gen == gen || !csub_accepts(cs, m))
			continue;
		cs->sess->gen = gen;
		if (session__deliver(cs->sess, m, cs->policy) == 0 && cs->on_delivered)
			cs->on_delivered(cs, m);
	}
}

/*
 * The broker subscriptions a topic can match are the one whose filter is the
 * topic itself (a hash lookup) and those with wildcards (usually few): no
 * walk over every filter, which with thousands of topics would cost more
 * than the writes.
 */
void subs__fanout(struct core *c, struct out_msg *m)
{
	uint64_t gen = ++c->subs.gen;
	struct list_node *d;
	struct bsub *b = NULL;

	HASH_FIND_STR(c->subs.by_filter, m->topic, b);
	if (b && b->refs)
		deliver(b, m, gen);
	for (d = list_head(&c->subs.wild); d; d = d->next) {
		b = container_of(d, struct bsub, in_wild);
		if (b->state != BSUB_DYING && b->refs &&
			rtg_topic_matches_valid(b->filter, m->topic))
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
static bool accept_fast(struct core *c, const char *topic, const uint32_t *ids, int nids)
{
	struct bsub *b = NULL, *best = NULL;
	struct list_node *d;

	HASH_FIND_STR(c->subs.by_filter, topic, b);
	if (b && b->state != BSUB_PENDING)
		best = b;
	for (d = list_head(&c->subs.wild); d; d = d->next) {
		b = container_of(d, struct bsub, in_wild);
		if (b->state != BSUB_PENDING && (!best || b->ord < best->ord) &&
			rtg_topic_matches_valid(b->filter, topic))
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
bool subs__accept_copy(struct core *c, const char *topic, const uint32_t *ids, int nids)
{
	struct list_node *d;

	int i;

	if (nids <= 0)
		return true;
	if (!c->subs.ndying)
		return accept_fast(c, topic, ids, nids);
	for (d = list_head(&c->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_PENDING || !rtg_topic_matches_valid(b->filter, topic))
			continue;
		for (i = 0; i < nids; i++) {
			if (ids[i] == b->id)
				return true;
		}
		return false;
	}
	return true;
}

void subs__on_suback(struct core *c, int mid)
{
	struct list_node *d;

	for (d = list_head(&c->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_PENDING && b->sent && b->mid == mid) {
			b->state = BSUB_LIVE;
			return;
		}
	}
}

void subs__on_unsuback(struct core *c, int mid)
{
	struct list_node *d;

	for (d = list_head(&c->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_DYING && b->mid == mid) {
			struct follow_check fc = {c, b};

			/* It delivered until now: forget again what only it followed. */
			history__unfollow(c->hist, b->filter, still_followed, &fc);
			bsub_free(&c->subs, b);
			return;
		}
	}
}

/*
 * A new broker connection starts with a clean session: forget the dying
 * subscriptions and subscribe every needed filter again, in id order.
 */
void subs__on_broker_connect(struct core *c)
{
	struct list_node *d, *d1;

	for (d = list_head(&c->subs.all); d; d = d1) {
		d1 = d->next;
		struct bsub *b = bsub_of_all(d);

		if (b->state == BSUB_DYING || !b->refs) {
			bsub_free(&c->subs, b);
			continue;
		}
		b->state = BSUB_PENDING;
		b->sent = false;
		c->broker->subscribe(c->a, b);
	}
}

/*
 * The broker connection dropped: until it is back the adapter sees nothing,
 * so every topic's history restarts (new epochs) and no client resumes
 * across the outage believing it missed nothing.
 */
void subs__on_broker_disconnect(struct core *c)
{
	struct list_node *d;

	for (d = list_head(&c->subs.all); d; d = d->next) {
		struct bsub *b = bsub_of_all(d);

		if (b->state != BSUB_DYING)
			b->state = BSUB_PENDING;
		b->sent = false;
	}
	if (!c->stopping)
		history__unfollow(c->hist, NULL, NULL, NULL);
}

/* Broker subscriptions the clients need (for /api/stats and tests). */
unsigned subs__broker_count(const struct core *c)
{
	return HASH_COUNT(c->subs.by_filter);
}

/* Subscription ids up to @max were given before a restart: new ones start after it. */
void subs__reserve_ids(struct core *c, uint32_t max)
{
	if (c->subs.next_id < max)
		c->subs.next_id = max;
}
