/*
 * history.c - per-topic sequence numbers, epochs, retained values and rings
 * of recent messages, bounded in messages per topic and in topics.
 *
 * Topics live in a uthash table keyed by name and in an LRU list ordered by
 * last update; the least recently updated topic is forgotten when the table
 * is full. This file numbers and remembers messages; it does not decide who
 * receives them (subs.c) nor how a replay is framed (policy/subscribe.c, transport/sse.c).
 * One thread only.
 */
#define HASH_NONFATAL_OOM 1 /* a failed add leaves th->hh.tbl NULL instead of exit() */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "history.h"
#include "rtg_topic.h"

/* Ring slots allocated for a topic's first message; the ring doubles up to h->size. */
#define RING_FIRST_CAP 4

/* ---- topics ----------------------------------------------------------------------- */

static void lru_unlink(struct history *h, struct topic_hist *th)
{
	if (th->lru_prev)
		th->lru_prev->lru_next = th->lru_next;
	else
		h->lru_head = th->lru_next;
	if (th->lru_next)
		th->lru_next->lru_prev = th->lru_prev;
	else
		h->lru_tail = th->lru_prev;
	th->lru_prev = th->lru_next = NULL;
}

static void lru_push_front(struct history *h, struct topic_hist *th)
{
	th->lru_prev = NULL;
	th->lru_next = h->lru_head;
	if (h->lru_head)
		h->lru_head->lru_prev = th;
	else
		h->lru_tail = th;
	h->lru_head = th;
}

/* Drops every message reference of a topic that is in neither index, and frees it. */
static void topic_free(struct topic_hist *th)
{
	unsigned i;

	if (!th)
		return;
	for (i = 0; i < th->count; i++)
		msg__unref(th->ring[(th->head + i) % th->cap]);
	msg__unref(th->retained);
	free(th->ring);
	free(th->topic);
	free(th);
}

/* Takes a topic out of both indexes and frees it. */
static void topic_remove(struct history *h, struct topic_hist *th)
{
	HASH_DEL(h->by_topic, th);
	lru_unlink(h, th);
	h->ntopics--;
	topic_free(th);
}

/*
 * Returns a new topic record with a fresh epoch, not yet in any index (see
 * topic_insert()). NULL on out of memory.
 */
static struct topic_hist *topic_new(struct history *h, const char *topic)
{
	struct topic_hist *th = calloc(1, sizeof(*th));

	if (!th)
		return NULL;
	th->topic = strdup(topic);
	if (!th->topic) {
		free(th);
		return NULL;
	}
	h->topic_gen++;
	snprintf(th->epoch, sizeof(th->epoch), "%s-%llu", h->epoch,
		(unsigned long long)h->topic_gen);
	return th;
}

/* Forgets a topic whole; an SSE stream that had seen less of it has a gap. */
static void forget(struct history *h, struct topic_hist *th)
{
	if (th->last_gseq > h->evicted_gseq)
		h->evicted_gseq = th->last_gseq;
	h->evicted_topics++;
	topic_remove(h, th);
}

/*
 * Puts a new topic into both indexes, first forgetting the least recently
 * updated topic if the table is full. Returns 0, or -1 on out of memory (th
 * is then in no index and the caller frees it).
 */
static int topic_insert(struct history *h, struct topic_hist *th)
{
	struct topic_hist *old = h->lru_tail;

	if (h->ntopics >= h->max_topics && old)
		forget(h, old);
	HASH_ADD_KEYPTR(hh, h->by_topic, th->topic, strlen(th->topic), th);
	if (!th->hh.tbl)
		return -1;
	lru_push_front(h, th);
	h->ntopics++;
	return 0;
}

/* ---- the ring --------------------------------------------------------------------- */

/*
 * Makes room for one more message when the ring is full but smaller than
 * h->size: a new array twice as large (capped), oldest message first.
 * Returns 0, or -1 on out of memory (the ring is unchanged).
 */
static int ring_grow(const struct history *h, struct topic_hist *th)
{
	unsigned cap = th->cap ? th->cap * 2 : RING_FIRST_CAP, i;
	struct out_msg **ring;

	if (cap > h->size || cap < th->cap)
		cap = h->size;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -1;
	for (i = 0; i < th->count; i++)
		ring[i] = th->ring[(th->head + i) % th->cap];
	free(th->ring);
	th->ring = ring;
	th->cap = cap;
	th->head = 0;
	return 0;
}

/*
 * Keeps a reference to m as the topic's newest message, pushing out the
 * oldest when the ring holds h->size already. A message pushed out (with
 * size 0, m itself at once) is recorded in dropped_gseq, which is what tells
 * a resuming SSE stream it has a gap. Returns 0, or -1 on out of memory.
 */
static int ring_push(const struct history *h, struct topic_hist *th, struct out_msg *m)
{
	if (h->size == 0) {
		th->dropped_gseq = m->gseq;
		return 0;
	}
	if (th->count == th->cap && th->cap < h->size && ring_grow(h, th))
		return -1;
	if (th->count == h->size) {
		th->dropped_gseq = th->ring[th->head]->gseq;
		msg__unref(th->ring[th->head]);
		th->ring[th->head] = msg__ref(m);
		th->head = (th->head + 1) % th->cap;
		return 0;
	}
	th->ring[(th->head + th->count) % th->cap] = msg__ref(m);
	th->count++;
	return 0;
}

/* Returns the i-th held message of th, oldest first. */
static struct out_msg *ring_at(const struct topic_hist *th, unsigned i)
{
	return th->ring[(th->head + i) % th->cap];
}

static bool ring_holds(const struct topic_hist *th, const struct out_msg *m)
{
	unsigned i;

	for (i = 0; i < th->count; i++) {
		if (ring_at(th, i) == m)
			return true;
	}
	return false;
}

/* ---- the public interface --------------------------------------------------------- */

/* Fills h->epoch with 8 random hex digits, from time and pid if RAND_bytes() fails. */
static void make_epoch(struct history *h)
{
	unsigned char r[4];
	uint32_t v;

	if (RAND_bytes(r, sizeof(r)) == 1)
		v = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
	else
		v = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	snprintf(h->epoch, sizeof(h->epoch), "%08x", (unsigned)v);
}

int history__init(struct history *h, unsigned size, unsigned max_topics)
{
	memset(h, 0, sizeof(*h));
	if (max_topics < 1 || size > HISTORY_SIZE_MAX)
		return -1;
	h->size = size;
	h->max_topics = max_topics;
	make_epoch(h);
	return 0;
}

void history__cleanup(struct history *h)
{
	struct topic_hist *th, *tmp;

	HASH_ITER(hh, h->by_topic, th, tmp) {
		HASH_DEL(h->by_topic, th);
		topic_free(th);
	}
	msg__unref(h->last);
	h->last = NULL;
	h->lru_head = h->lru_tail = NULL;
	h->ntopics = 0;
}

/*
 * The adapter stops following these topics (its last broker subscription on
 * them went, or the broker connection dropped): whatever is published from
 * now on it will not see. They are marked stale: no client may resume across
 * that gap, and the next message starts a new epoch (history__append).
 */
unsigned history__unfollow(struct history *h, const char *filter,
	bool (*keep)(const struct topic_hist *th, void *arg), void *arg)
{
	struct topic_hist *th, *tmp;
	unsigned n = 0;

	HASH_ITER(hh, h->by_topic, th, tmp) {
		/* cppcheck does not expand HASH_ITER and thinks th is uninitialised. */
		// cppcheck-suppress uninitvar
		if (th->stale || (filter && !rtg_topic_matches(filter, th->topic)))
			continue;
		if (keep && keep(th, arg))
			continue;
		th->stale = true;
		n++;
	}
	return n;
}

/*
 * A stale topic's first message after the gap: the history restarts under a
 * new epoch (seq from 1), without the messages from before the gap, and
 * streams positioned before this message cannot resume across it.
 */
static void restart(struct history *h, struct topic_hist *th)
{
	unsigned i;

	for (i = 0; i < th->count; i++)
		msg__unref(ring_at(th, i));
	th->count = th->head = 0;
	msg__unref(th->retained);
	th->retained = NULL;
	th->last_seq = 0;
	h->topic_gen++;
	snprintf(th->epoch, sizeof(th->epoch), "%s-%llu", h->epoch,
		(unsigned long long)h->topic_gen);
	th->stale = false;
	th->resume_from = h->gseq + 1; /* the gseq the restarting message gets */
}

struct topic_hist *history__find(struct history *h, const char *topic)
{
	struct topic_hist *th = NULL;

	HASH_FIND_STR(h->by_topic, topic, th);
	return th;
}

/* The outgoing form of a message, with what the topic carries (h->topic_info). */
static struct out_msg *make_msg(const struct history *h, const char *topic, const void *payload,
	size_t len, const char *epoch, uint64_t seq, uint64_t gseq, bool retained)
{
	const char *type = NULL;
	bool value = false;

	if (h->topic_info)
		h->topic_info(h->topic_info_arg, topic, &type, &value);
	return msg__from_mqtt(topic, payload, len, type, value, epoch, seq, gseq, retained);
}

void history__clear_retained(struct history *h, const char *topic)
{
	struct topic_hist *th = history__find(h, topic);
	unsigned i;

	if (!th)
		return;
	msg__unref(th->retained);
	th->retained = NULL;
	/* what was recent is gone too: a new subscriber must not take it for the value */
	for (i = 0; i < th->count; i++)
		msg__unref(ring_at(th, i));
	th->count = th->head = 0;
	th->dropped_gseq = th->last_gseq; /* streams behind it cannot resume from here */
}

static bool same_payload(const struct out_msg *m, const void *payload, size_t len)
{
	return m && m->payload_len == len && (len == 0 || !memcmp(m->payload, payload, len));
}

/*
 * Returns true if a retained message repeats what the topic already holds:
 * its retained value, or its newest message. The broker re-sends retained
 * values on every new subscription; and a retained publish that arrived live
 * came without the retain flag (no "retain as published"), so only its
 * payload can recognise it. In that case the newest message becomes the
 * retained value.
 */
static bool is_duplicate(struct topic_hist *th, const void *payload, size_t len)
{
	struct out_msg *newest;

	if (!th)
		return false;
	if (same_payload(th->retained, payload, len))
		return true;
	newest = th->count ? ring_at(th, th->count - 1) : NULL;
	if (!len || !same_payload(newest, payload, len))
		return false;
	msg__unref(th->retained);
	th->retained = msg__ref(newest);
	return true;
}

/*
 * Nothing is committed (no seq, no gseq, no topic) until the message is built
 * and has its place in the ring, so out of memory changes nothing but the
 * topic generation (and perhaps the topic forgotten to make room). h->last
 * keeps the returned message alive until the next append even when nothing
 * else holds it (size 0, not retained).
 */
struct out_msg *history__append(struct history *h, const char *topic, const void *payload,
	size_t len, bool retained, bool *duplicate)
{
	struct topic_hist *th = history__find(h, topic);
	bool created = false;
	struct out_msg *m;

	if (duplicate)
		*duplicate = false;
	if (th && th->stale)
		restart(h, th);
	if (retained && is_duplicate(th, payload, len)) {
		if (duplicate)
			*duplicate = true;
		return NULL;
	}
	if (!th) {
		th = topic_new(h, topic);
		if (!th)
			return NULL;
		created = true;
	}
	m = make_msg(h, topic, payload, len, th->epoch, th->last_seq + 1, h->gseq + 1, retained);
	if (!m || ring_push(h, th, m) || (created && topic_insert(h, th)))
		goto error;
	th->last_seq = m->seq;
	th->last_gseq = h->gseq = m->gseq;
	if (retained) {
		msg__unref(th->retained);
		th->retained = len ? msg__ref(m) : NULL;
	}
	if (!created) {
		lru_unlink(h, th);
		lru_push_front(h, th);
	}
	msg__unref(h->last);
	h->last = m; /* takes the reference msg__from_mqtt() gave */
	return m;
error:
	if (created)
		topic_free(th);
	msg__unref(m);
	return NULL;
}

/*
 * A linear walk over every topic held: a subscription happens once per client
 * and filter, and the table is bounded by max_topics, so no filter index.
 */
void history__foreach_match(struct history *h, const char *filter,
	void (*cb)(struct topic_hist *th, void *arg), void *arg)
{
	struct topic_hist *th, *tmp;

	HASH_ITER(hh, h->by_topic, th, tmp) {
		/* cppcheck-suppress uninitvar ; HASH_ITER sets th before the body */
		if (rtg_topic_matches(filter, th->topic))
			cb(th, arg);
	}
}

unsigned history__collect(const struct topic_hist *th, uint64_t since_seq, struct out_msg **out)
{
	unsigned i, n = 0;

	if (!th)
		return 0;
	if (since_seq == 0 && th->retained && !ring_holds(th, th->retained))
		out[n++] = th->retained;
	for (i = 0; i < th->count; i++) {
		if (ring_at(th, i)->seq > since_seq)
			out[n++] = ring_at(th, i);
	}
	return n;
}

/*
 * A client that saw seq N needs N+1 .. last_seq. Nothing is missing if it is
 * already at last_seq (even with an empty ring); otherwise N+1 must not be
 * older than the oldest message held. A seq beyond last_seq was never given
 * in this epoch: the client's position is wrong, so it cannot resume.
 */
bool history__can_resume(const struct topic_hist *th, const char *epoch, uint64_t seq)
{
	if (!th || th->stale || !epoch || strcmp(epoch, th->epoch) != 0 || seq > th->last_seq)
		return false;
	if (seq == th->last_seq)
		return true;
	return th->count > 0 && seq + 1 >= ring_at(th, 0)->seq;
}

/*
 * Like history__can_resume() for a position in the adapter-wide sequence. A
 * gseq beyond the last one given was never given in this epoch: not resumable.
 */
bool history__can_resume_gseq(const struct history *h, const struct topic_hist *th,
	const char *adapter_epoch, uint64_t gseq)
{
	if (!adapter_epoch || strcmp(adapter_epoch, h->epoch) != 0 || gseq > h->gseq)
		return false;
	return !th || (!th->stale && th->dropped_gseq <= gseq && gseq >= th->resume_from);
}

/* ---- restoring a saved history ------------------------------------------------------ */

struct topic_hist *history__restore_topic(struct history *h, const char *topic, const char *epoch)
{
	struct topic_hist *th;

	if (history__find(h, topic) || strlen(epoch) >= sizeof(th->epoch))
		return NULL;
	th = calloc(1, sizeof(*th));
	if (!th)
		return NULL;
	th->topic = strdup(topic);
	strcpy(th->epoch, epoch);
	if (!th->topic || topic_insert(h, th)) {
		topic_free(th);
		return NULL;
	}
	return th;
}

int history__restore_msg(struct history *h, struct topic_hist *th, const void *payload, size_t len,
	uint64_t seq, uint64_t gseq, bool retained, bool in_ring, bool is_retained)
{
	struct out_msg *m = make_msg(h, th->topic, payload, len, th->epoch, seq, gseq, retained);

	if (!m || (in_ring && ring_push(h, th, m))) {
		msg__unref(m);
		return -1;
	}
	if (is_retained) {
		msg__unref(th->retained);
		th->retained = msg__ref(m);
	}
	msg__unref(m);
	return 0;
}
