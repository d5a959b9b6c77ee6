/*
 * session.c - a connection's delivery state, whatever its transport: its
 * bounded send queue of shared messages, conflation, the slow consumer
 * rules, the fan-out batch and the close request.
 *
 * Messages are queued by reference (one encoding shared by all sessions).
 * The transport writes them (struct session_ops: ws.c, sse.c), every frame
 * ready at once in one write: from the end of a fan-out batch (kick(),
 * session__batch_end()), or from its writeable callback for the rest. The
 * queue is bounded in messages and bytes; what happens when it is full
 * follows the subscription's policy. Nothing here parses client input or
 * knows who the client is (policy/client.c).
 * One thread only: the event loop's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core.h"

/*
 * Conflation starts when this many messages wait for a client and its queue
 * has not been empty for CONFLATE_LAG_US: fewer, or sooner, is a burst (a
 * history replay, several messages read from the broker at once) that a
 * client reading at full speed drains at once, not a client that lags.
 */
#define CONFLATE_BACKLOG 16
#define CONFLATE_LAG_US 100000
/* How far back from the newest queued message conflation looks. */
#define CONFLATE_WINDOW 64

/* How long a closing connection may take to send its last frames. */
#define CLOSE_GRACE_S 5

const char *session__iso_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char base[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, (long)(tv.tv_usec / 1000));
	return buf;
}

/* A control message {"type": type, "timestamp": now}; the caller adds the rest. */
cJSON *session__json_base(const char *type)
{
	cJSON *obj = cJSON_CreateObject();
	char ts[40];

	if (!obj)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", type) ||
		!cJSON_AddStringToObject(obj, "timestamp", session__iso_time(ts, sizeof(ts)))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

void core__init(struct core *c, const struct adapter_config *cfg, struct stats *stats,
	struct history *hist, const struct core_broker *broker, struct adapter *a)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->stats = stats;
	c->hist = hist;
	c->broker = broker;
	c->a = a;
	timers__init(&c->wheel);
}

void session__init(struct core *c, struct session *s, const struct session_ops *ops,
	struct lws *wsi, struct adapter *a)
{
	memset(s, 0, sizeof(*s));
	s->core = c;
	s->a = a;
	s->ops = ops;
	s->wsi = wsi;
	snprintf(s->conn_id, sizeof(s->conn_id), "%s-%llu", c->hist->epoch,
		(unsigned long long)++c->hist->next_id);
	list_add_tail(&s->in_all, &c->sessions);
	c->stats->total_connections++;
}

static void drop_output(struct session *s);

void session__cleanup(struct session *s)
{
	struct core *c = s->core;

	if (!c)
		return; /* never initialised (refused before the session began) */
	timers__cancel(&s->t_auth);
	timers__cancel(&s->t_beat);
	subs__remove_all(c, s);
	drop_output(s);
	free(s->q);
	s->q = NULL;
	list_remove(&s->in_all);
	list_remove(&s->in_kicked);
	s->core = NULL;
}

/* ---- the send queue ------------------------------------------------------------ */

/*
 * Makes room for one more slot: drops the NULL slots conflation left if
 * there are any (each was paid for by an enqueue, so this is amortised
 * O(1)), else doubles the ring up to queue_max_messages. Returns 0 or -1.
 */
static int queue_room(struct session *s)
{
	unsigned cap = s->q_cap ? s->q_cap * 2 : 8, i, n = 0;
	unsigned max = (unsigned)s->core->cfg->queue_max_messages;
	struct out_msg **q;

	if (s->q_live < s->q_count)
		cap = s->q_cap;
	else if (cap > max)
		cap = max;
	if (cap <= s->q_live)
		return -1;
	q = malloc(cap * sizeof(*q));
	if (!q)
		return -1;
	for (i = 0; i < s->q_count; i++) {
		struct out_msg *m = s->q[(s->q_head + i) % s->q_cap];

		if (m)
			q[n++] = m;
	}
	free(s->q);
	s->q = q;
	s->q_cap = cap;
	s->q_head = 0;
	s->q_count = n;
	return 0;
}

/* The oldest queued message, or NULL; NULL slots at the head are let go. */
static struct out_msg *queue_peek(struct session *s)
{
	while (s->q_count && !s->q[s->q_head]) {
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_count--;
	}
	return s->q_count ? s->q[s->q_head] : NULL;
}

/* The bookkeeping of one queued message leaving the queue, sent or not. */
static void released(struct session *s, struct out_msg *m)
{
	const struct adapter_config *cfg = s->core->cfg;

	s->q_live--;
	s->q_bytes -= m->len;
	msg__unref(m);
	if (!s->q_live)
		s->busy_since = 0;
	/* caught up to half the bounds: no longer a slow consumer */
	if (s->full_since && s->q_live <= (unsigned)cfg->queue_max_messages / 2 &&
		s->q_bytes <= (size_t)cfg->queue_max_bytes / 2)
		s->full_since = 0;
}

static void queue_pop(struct session *s)
{
	struct out_msg *m = queue_peek(s);

	if (!m)
		return;
	s->q_head = (s->q_head + 1) % s->q_cap;
	s->q_count--;
	released(s, m);
}

/*
 * What to write next: the notice of a gap (gap.c) before anything queued
 * after it, else the oldest queued message; NULL when there is nothing.
 */
struct out_msg *session__peek(struct session *s)
{
	struct out_msg *m = gap__peek(s);

	return m ? m : queue_peek(s);
}

/* What session__peek() returned was written (or is given up). */
void session__pop(struct session *s)
{
	if (s->gap_msg)
		gap__sent(s);
	else
		queue_pop(s);
}

bool session__has_output(const struct session *s)
{
	return s->q_count || s->ngaps;
}

/* Drops everything s still has to send: gap notices and queued messages. */
static void drop_output(struct session *s)
{
	gap__cleanup(s);
	while (s->q_count)
		queue_pop(s);
}

static bool conflatable(const struct session *s, enum sub_policy policy, const struct out_msg *m)
{
	if (!m->topic || s->q_live < CONFLATE_BACKLOG ||
		core__now_us() - s->busy_since < CONFLATE_LAG_US)
		return false;
	return policy == POLICY_CONFLATE || (policy == POLICY_AUTO && (m->retained || m->value));
}

/*
 * Conflation: a queued message of the same topic is dropped, so the newer one
 * (appended next by the caller) replaces it. The newer goes to the end, not
 * into the older one's place, so messages stay in adapter order (SSE ids and
 * seq only ever grow on the wire).
 */
static void conflate(struct session *s, const struct out_msg *m)
{
	unsigned i;

	/*
	 * From the newest back, and no further than CONFLATE_WINDOW slots: the
	 * previous message of a conflated topic is usually among the last few
	 * queued, and a bounded search keeps a lagging client from costing
	 * more per message the more it lags. Its slot becomes NULL rather than
	 * being closed up, so this never moves the rest of the queue.
	 */
	for (i = s->q_count; i-- > 0 && s->q_count - i <= CONFLATE_WINDOW;) {
		struct out_msg **slot = &s->q[(s->q_head + i) % s->q_cap];
		struct out_msg *old = *slot;

		if (!old || !old->topic || strcmp(old->topic, m->topic))
			continue;
		*slot = NULL;
		released(s, old);
		s->core->stats->conflated++;
		return;
	}
}
/*
 * Makes room by letting the oldest data message go, noting it as a gap the
 * client will be told of (gap.c). Replies of our own (a history, a replay, an
 * error) say what happened to a request and are never let go: a queue full
 * of them alone belongs to a client that does not read its answers. Returns
 * 0, or -1 when nothing can go or the gap cannot be noted (too many, or no
 * memory): the caller closes the connection.
 */
static int drop_oldest(struct session *s)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < s->q_count; i++) {
		struct out_msg **slot = &s->q[(s->q_head + i) % s->q_cap];
		struct out_msg *old = *slot;

		if (!old || !old->topic)
			continue;
		if (old->seq)
			rc = gap__note(s, old);
		*slot = NULL;
		released(s, old);
		s->core->stats->dropped++;
		return rc;
	}
	return -1;
}

static bool queue_full(const struct session *s, const struct out_msg *m)
{
	return s->q_live >= (unsigned)s->core->cfg->queue_max_messages ||
		s->q_bytes + m->len > (size_t)s->core->cfg->queue_max_bytes;
}

/*
 * The queue is full. With policy disconnect, or when it has stayed full for
 * slow_consumer_timeout, the connection is closed with 1013: a client that
 * cannot keep up is better told so than fed a trickle of what is left.
 * Returns true if it was closed.
 */
static bool too_slow(struct session *s, enum sub_policy policy)
{
	int64_t now = core__now_us();

	if (policy == POLICY_DISCONNECT) {
		s->core->stats->slow_closed++;
		session__close(s, RTG_CLOSE_TRY_LATER, "send queue overflow: client too slow");
		return true;
	}
	if (!s->full_since) {
		s->full_since = now;
		return false;
	}
	if (now - s->full_since < (int64_t)s->core->cfg->slow_consumer_timeout * US_PER_SEC)
		return false;
	s->core->stats->slow_closed++;
	session__close(s, RTG_CLOSE_TRY_LATER, "send queue full too long: client too slow");
	return true;
}

/* Writes what s has queued now, outside the transport's writeable callback. */
static void write_now(struct session *s)
{
	if (s->closing || !session__has_output(s) || !s->ops->can_flush(s)) {
		s->ops->writeable(s);
		return;
	}
	if (s->ops->flush(s) < 0) { /* the socket failed: the transport drops it */
		s->closing = true;
		s->close_code = RTG_CLOSE_INTERNAL;
		s->ops->fail(s);
	} else if (session__has_output(s)) {
		s->ops->writeable(s);
	}
}

/*
 * Gets what s has queued moving. During a fan-out batch (the broker's
 * messages of one read, session__batch_begin/end) s is only noted; at the
 * end of the batch each noted session gets one write of all its new frames
 * at once. That goes from the broker's messages to every socket in one
 * pass, without an event-loop turn (poll over every socket, a writeable
 * callback, POLLOUT on and off) per client, which cost more than the send()
 * itself. Anything else, and what a socket did not take whole, goes through
 * the writeable callback.
 *
 * Measured 2026-12-02, `make bench-quick` adapter peers, 2 cores (busy: load
 * 1-5), default epoll loop, 7 runs of this against 6 of writing only from the
 * writeable callback (batch end asks lws_callback_on_writable(), frames still
 * gathered), alternating. Server CPU per delivery, medians (ranges): 1k WS x
 * 25/s 6.0 us (5.0-7.2) vs 8.7 (8.0-9.8); SSE 6.2 (5.4-6.8) vs 9.4 (7.8-10.2);
 * 1k x 100/s 4.0 vs 5.7; 1,000 topics 8.5 vs 10.5; both reach 200k/s without
 * loss (and 500-600k/s in steps beyond bench-quick), and their latencies
 * overlap run to run. So the fan-out writes.
 */
static void kick(struct session *s)
{
	if (!s->ops) /* only in the fuzz harness, which has no transport */
		return;
	if (s->core->batching && !s->closing) {
		if (list_is_detached(&s->in_kicked))
			list_add_tail(&s->in_kicked, &s->core->kicked);
		return;
	}
	s->ops->writeable(s);
}

void session__batch_begin(struct core *c)
{
	c->batching = true;
}

void session__batch_end(struct core *c)
{
	struct list_node *d;

	c->batching = false;
	while ((d = list_head(&c->kicked))) {
		list_remove(d);
		write_now(container_of(d, struct session, in_kicked));
	}
}

/*
 * Queues m (taking a reference) and gets it moving (kick()). When
 * conflating, a queued message of the same topic is dropped first (counted
 * as conflated); when the queue is still full, the oldest messages are
 * dropped (counted in the stats), unless the client is too
 * slow (too_slow()). Returns 0 if m was queued, -1 if it was not.
 */
static int enqueue(struct session *s, struct out_msg *m, enum sub_policy policy)
{
	if (s->closing || !m)
		return -1;
	if (conflatable(s, policy, m))
		conflate(s, m);
	if (queue_full(s, m)) {
		if (too_slow(s, policy))
			return -1;
		while (s->q_live && queue_full(s, m)) {
			if (drop_oldest(s)) {
				s->core->stats->slow_closed++;
				session__close(
					s, RTG_CLOSE_TRY_LATER, "too far behind: send queue full");
				return -1;
			}
		}
	}
	if (s->q_count == s->q_cap && queue_room(s))
		return -1;
	if (!s->q_live)
		s->busy_since = core__now_us();
	s->q[(s->q_head + s->q_count) % s->q_cap] = msg__ref(m);
	s->q_count++;
	s->q_live++;
	s->q_bytes += m->len;
	kick(s);
	return 0;
}

/*
 * A broker message for one of s's subscriptions. A retained value the broker
 * sent because a subscription is new (only those carry the retain flag: the
 * adapter does not ask for "retain as published") is the topic's state, not
 * an event: a transport that has a form for it (WebSocket: a "history"
 * message) gets it that way, so a topic's first subscriber learns its value
 * as every later one does.
 */
int session__deliver(struct session *s, struct out_msg *m, enum sub_policy policy)
{
	if (m->retained && s->on_snapshot) {
		if (s->closing)
			return -1;
		s->on_snapshot(s, m);
		return 0;
	}
	return enqueue(s, m, policy);
}

int session__enqueue(struct session *s, struct out_msg *m)
{
	return enqueue(s, m, POLICY_QUEUE);
}

/* Sends a control message built by the caller; takes ownership of obj. */
int session__send_json(struct session *s, cJSON *obj)
{
	struct out_msg *m;
	int rc;

	if (!obj)
		return -1;
	m = msg__from_json(obj);
	cJSON_Delete(obj);
	if (!m)
		return -1;
	rc = session__enqueue(s, m);
	msg__unref(m);
	return rc;
}

void session__send_error(struct session *s, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	cJSON *obj;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s->core->stats->errors++;
	obj = session__json_base("error");
	/* "message" for the canonical protocol, "error" for seed 004's handleError(data.error) */
	if (obj &&
		(!cJSON_AddStringToObject(obj, "message", text) ||
			!cJSON_AddStringToObject(obj, "error", text))) {
		cJSON_Delete(obj);
		return;
	}
	session__send_json(s, obj);
}

/*
 * Asks for the connection to be closed with code and reason; the protocol's
 * writeable handler does it after what is already queued (a flooding client
 * gets its answers and the rate-limit errors, then the close frame; an SSE
 * stream its last events). A slow consumer's queue (1013) or a failed
 * socket's (1011) is released now instead: it is what cannot be sent. A peer
 * that never reads (dead, or the slow consumer being closed) would keep the
 * socket writeable-pending forever, so the transport drops the connection CLOSE_GRACE_S
 * later whatever happens.
 */
void session__close(struct session *s, int code, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	s->close_code = code;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason ? reason : "");
	if (code == RTG_CLOSE_TRY_LATER || code == RTG_CLOSE_INTERNAL)
		drop_output(s);
	if (s->ops) /* none only in the fuzz harness */
		s->ops->close(s, CLOSE_GRACE_S);
}
