/*
 * bridge_session.c - the broker's session for this adapter, kept across
 * adapter restarts (mqtt_session_expiry with a fixed mqtt_client_id, and
 * history_file).
 *
 * The broker keeps the session's subscriptions (QoS 1) and queues what they
 * match while the adapter is away. This file remembers which subscriptions
 * the session holds, with their MQTT 5 identifiers (saved in the history
 * file), and after a restart resumes them: the saved ones are "held" so the
 * history goes on without a hole until returning clients subscribe again,
 * copies through them are de-duplicated like subs.c does for its own, and
 * after HELD_GRACE_S those no client claimed are dropped and their topics
 * unfollowed. If the broker kept no session, the history restarts (new
 * epochs). It does not connect or read (bridge.c). lws thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "adapter.h"
#include "rtg_topic.h"

/* After a restart, how long returning clients have to claim the held subscriptions. */
#define HELD_GRACE_S 60

static int find_filter(const struct history_filter *f, unsigned n, const char *filter)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].filter, filter))
			return (int)i;
	}
	return -1;
}

/* Removes filter from the array, if there, keeping the order. */
static void remove_filter(struct history_filter *f, unsigned *n, const char *filter)
{
	int i = find_filter(f, *n, filter);

	if (i < 0)
		return;
	free(f[i].filter);
	memmove(&f[i], &f[i + 1], (*n - (unsigned)i - 1) * sizeof(*f));
	(*n)--;
}

/*
 * Notes that the broker session now holds filter under id, which is what the
 * history file saves: the subscriptions a restarted adapter finds waiting.
 * Out of memory only makes a later restart forget that one (logged).
 */
void bridge__session_add(struct adapter *a, const char *filter, uint32_t id)
{
	struct bridge *br = &a->bridge;
	int i = find_filter(br->session, br->nsession, filter);
	struct history_filter *f;
	unsigned cap;

	if (i >= 0) {
		br->session[i].id = id;
		return;
	}
	if (br->nsession == br->session_cap) {
		cap = br->session_cap ? br->session_cap * 2 : 16;
		f = realloc(br->session, cap * sizeof(*f));
		if (!f)
			goto oom;
		br->session = f;
		br->session_cap = cap;
	}
	br->session[br->nsession].filter = strdup(filter);
	if (!br->session[br->nsession].filter)
		goto oom;
	br->session[br->nsession++].id = id;
	return;
oom:
	lwsl_err("bridge: out of memory noting the subscription %s\n", filter);
}

/*
 * How many of the session's subscriptions the history file saves: all of them
 * when the first broker holds the session, none when another one does. A
 * restarted adapter resumes at the first broker; there a session we left on
 * failing over is stale (it queued what we then saw through the other one).
 */
unsigned bridge__session_saved(const struct adapter *a)
{
	return a->bridge.session_broker == 0 ? a->bridge.nsession : 0;
}

void bridge__session_clear(struct bridge *br)
{
	history__filters_free(br->session, br->nsession);
	history__filters_free(br->held, br->nheld);
	br->session = br->held = NULL;
	br->nsession = br->session_cap = br->nheld = 0;
}

void bridge__session_remove(struct adapter *a, const char *filter)
{
	remove_filter(a->bridge.session, &a->bridge.nsession, filter);
	remove_filter(a->bridge.held, &a->bridge.nheld, filter);
}

/*
 * De-duplication for copies that came through a held subscription (an id
 * given before the restart: subs.c numbers from above them). As subs.c does
 * for its own, only the copy of the lowest-numbered held subscription matching
 * the topic counts; a copy of one already released is dropped (its topics
 * were unfollowed). subs__accept_copy() then prefers a client's subscription.
 */
bool bridge__held_accepts(const struct adapter *a, const char *topic, const uint32_t *ids, int n)
{
	const struct bridge *br = &a->bridge;
	bool old = false;
	unsigned i;
	int k;

	for (k = 0; k < n; k++)
		old |= ids[k] <= br->held_max_id;
	if (!old)
		return true;
	for (i = 0; i < br->nheld && !rtg_topic_matches(br->held[i].filter, topic); i++)
		;
	for (k = 0; i < br->nheld && k < n; k++) {
		if (ids[k] == br->held[i].id)
			return true;
	}
	return false;
}

/* Is th still followed by a subscription of a client? */
static bool client_follows(const struct topic_hist *th, void *arg)
{
	struct adapter *a = arg;
	struct list_node *d;

	for (d = list_head(&a->core.subs.all); d; d = d->next) {
		const struct bsub *b = container_of(d, struct bsub, in_all);

		if (b->state != BSUB_DYING && b->refs && rtg_topic_matches(b->filter, th->topic))
			return true;
	}
	return false;
}

/*
 * The grace period after a restart is over: every held subscription that no
 * client subscribed to again is dropped at the broker, and its topics (unless
 * a client still follows them) are unfollowed, so nobody resumes across what
 * the adapter will not see from now on.
 */
static void release_held(struct lws_sorted_usec_list *sul)
{
	struct adapter *a = container_of(sul, struct adapter, bridge.sul_held);
	struct bridge *br = &a->bridge;
	struct bsub *b;
	unsigned i, n = 0;

	if (!bridge__up(a)) {
		lws_sul_schedule(
			a->ctx, 0, &br->sul_held, release_held, HELD_GRACE_S * LWS_US_PER_SEC);
		return;
	}
	for (i = 0; i < br->nheld; i++) {
		const char *filter = br->held[i].filter;

		HASH_FIND_STR(a->core.subs.by_filter, filter, b);
		if (b || mosquitto_unsubscribe_v5(br->mosq, NULL, filter, NULL))
			continue;
		remove_filter(br->session, &br->nsession, filter);
		history__unfollow(&a->hist, filter, client_follows, a);
		n++;
	}
	history__filters_free(br->held, br->nheld);
	br->held = NULL;
	br->nheld = 0;
	if (n)
		lwsl_notice("bridge: released %u subscriptions no client came back for\n", n);
}

static int by_id(const void *x, const void *y)
{
	const struct history_filter *p = x, *q = y;

	return p->id < q->id ? -1 : p->id > q->id;
}

/*
 * After history__load(): the saved session's subscriptions become held (by
 * id, for held_accepts) and the session list; subs.c numbers new ones above
 * them. Returns whether to resume the broker session (clean start false).
 */
bool bridge__prepare_resume(struct adapter *a)
{
	struct bridge *br = &a->bridge;
	unsigned i;

	if (!br->held)
		return false;
	if (!a->cfg.mqtt_session_expiry) {
		history__filters_free(br->held, br->nheld);
		br->held = NULL;
		br->nheld = 0;
		return false;
	}
	qsort(br->held, br->nheld, sizeof(*br->held), by_id);
	for (i = 0; i < br->nheld; i++) {
		bridge__session_add(a, br->held[i].filter, br->held[i].id);
		if (br->held[i].id > br->held_max_id)
			br->held_max_id = br->held[i].id;
	}
	subs__reserve_ids(&a->core, br->held_max_id);
	return true;
}

/*
 * CONNACK said whether the broker still had our session. If not, nothing
 * the adapter subscribed to before is there, nor the messages since: every
 * topic held is unfollowed (new epochs), and subs.c subscribes anew.
 */
void bridge__on_session(struct adapter *a, bool present)
{
	struct bridge *br = &a->bridge;

	if (!present) {
		if (br->nheld)
			lwsl_warn(
				"bridge: the broker kept no session for us: the history restarts\n");
		history__unfollow(&a->hist, NULL, NULL, NULL);
		bridge__session_clear(br);
		return;
	}
	if (br->nheld) {
		lwsl_notice("bridge: resumed the broker session: %u subscriptions held %d s for "
			    "returning clients\n",
			br->nheld, HELD_GRACE_S);
		lws_sul_schedule(
			a->ctx, 0, &br->sul_held, release_held, HELD_GRACE_S * LWS_US_PER_SEC);
	}
}
