/*
 * core.h - the adapter's core: what happens to a message between the broker
 * and a browser's socket, with no transport and no application rule in it.
 *
 *   msg.c, jtext.c     one broker message, encoded once, shared by reference
 *   history.c          each topic's recent messages (resume, replay, snapshot)
 *   history_file.c     the history kept across a restart
 *   subs.c             the subscription registry: session <-> filter, one
 *                      broker subscription per distinct filter, the fan-out
 *   session.c          a connection's delivery state: its bounded send queue,
 *                      conflation, slow consumers, the fan-out batch, closing
 *   gap.c              messages dropped from a queue, told before what follows
 *   timers.c           per-session timers on a wheel of one-second slots
 *
 * The core calls up only through the tables it is given: a session's
 * transport (struct session_ops: write, ask to be called back, close), the
 * broker (struct core_broker: subscribe, unsubscribe) and a subscription's
 * owner (csub.on_delivered). It never includes libwebsockets or libmosquitto's
 * client API, and the unit tests (tests/unit/test_core_*.c) run it against a
 * stub transport and broker. Above it: policy/ (who may do what: tokens, the
 * ACL, limits, the endpoints' requests) and transport/ (WebSocket, SSE, HTTP,
 * the broker bridge); adapter.h is the map of the whole.
 *
 * Error convention here: functions that can fail return 0 or -1 (or a
 * pointer, NULL on failure); predicates return bool. One thread only.
 */
#ifndef RTG_CORE_H
#define RTG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uthash.h>

#include "config.h"
#include "history.h"
#include "list.h"
#include "msg.h"

struct session;
struct lws; /* a transport's connection: the core only carries the pointer */
struct adapter; /* the layers above: the core only carries the pointer */
struct rtg_identity;
struct profiles;
struct prof_endpoint;
struct prof_params;

#define US_PER_SEC 1000000

/* Microseconds of CLOCK_MONOTONIC, the clock of every due time and age in the adapter
 * (the same as lws_now_usecs()). */
int64_t core__now_us(void);

/* The WebSocket close codes the adapter sends (RFC 6455 7.4.1; 4001 is the seeds' own).
 * An SSE stream has no close code; it is ended with an event saying why. */
enum rtg_close {
	RTG_CLOSE_NORMAL = 1000,
	RTG_CLOSE_GOING_AWAY = 1001, /* shutdown */
	RTG_CLOSE_POLICY = 1008, /* flooding, idle, too many connections for the user */
	RTG_CLOSE_TOO_BIG = 1009, /* a message over max_message_size */
	RTG_CLOSE_INTERNAL = 1011, /* the socket failed during a write */
	RTG_CLOSE_TRY_LATER = 1013, /* a slow consumer */
	RTG_CLOSE_AUTH = 4001, /* no valid token, or it expired */
};

/* ==== counters: every layer adds to them; stats.c lists them ========================= */

struct stats {
	uint64_t total_connections;
	uint64_t ws_connections, sse_connections; /* currently open */
	uint64_t messages_sent; /* to clients (frames / events) */
	uint64_t messages_received; /* from clients */
	uint64_t mqtt_messages; /* from the broker, after de-duplication */
	uint64_t mqtt_duplicates; /* extra copies from overlapping broker subscriptions */
	uint64_t dropped; /* messages dropped from send queues */
	uint64_t errors; /* error replies and refused requests */
	uint64_t auth_failures;
	uint64_t http_requests;
	uint64_t publishes; /* accepted client publishes */
	uint64_t gaps; /* gap notices sent: runs of dropped messages a client was told of */
	uint64_t conflated; /* queued messages replaced by a newer one of the same topic */
	uint64_t slow_closed; /* connections closed 1013: queue full too long */
	uint64_t rate_limited; /* client messages refused by the token bucket */
	uint64_t rate_closed; /* connections closed 1008 for flooding */
	uint64_t refused_capacity; /* connections refused: max_connections */
	uint64_t refused_user; /* connections refused: max_connections_per_user */
	uint64_t refused_origin; /* upgrades / requests refused: Origin not allowed */
	uint64_t refused_subscriptions; /* subscribe requests over max_subscriptions */
	uint64_t calc_timeouts; /* calculations failed by calc_timeout */
	uint64_t idle_closed; /* WebSockets closed for silence past idle_timeout */
};

/* ==== subscriptions (subs.c) ======================================================== */

enum bsub_state {
	BSUB_PENDING, /* SUBSCRIBE sent (or waiting for the broker), no SUBACK yet */
	BSUB_LIVE, /* acknowledged by the broker */
	BSUB_DYING, /* UNSUBSCRIBE sent, no UNSUBACK yet: still delivers at the broker */
};

/* What a client asked to happen when it cannot keep up (SPEC: slow consumers). */
enum sub_policy {
	POLICY_QUEUE, /* bounded, in order; the oldest is dropped when full */
	POLICY_CONFLATE, /* only the newest message per topic is kept while queued */
	POLICY_DISCONNECT, /* close the connection when the queue overflows */
	POLICY_AUTO, /* conflate topics that hold a value (balance, credit...), queue the rest */
};

/*
 * One broker subscription: a distinct filter some client needs. Reference
 * counted by client subscriptions; unsubscribed at the broker when the last
 * one goes. Its MQTT 5 subscription identifier tells which copy of a message
 * to use when several broker subscriptions match the same topic.
 */
struct bsub {
	char *filter;
	uint32_t id;
	enum bsub_state state;
	bool sent; /* SUBSCRIBE went out on the current broker connection */
	int mid; /* of the SUBSCRIBE / UNSUBSCRIBE in flight */
	unsigned refs; /* client subscriptions on it */
	struct list members; /* struct csub, via in_bsub */
	struct list_node in_all; /* subs.all, in id order */
	uint64_t ord; /* its place in subs.all: later ones are greater */
	bool wild; /* the filter has + or #: it is also in subs.wild */
	struct list_node in_wild; /* subs.wild */
	UT_hash_handle hh; /* subs.by_filter; not while DYING */
};

/* One client subscription: a session's interest in a filter. */
struct csub {
	struct session *sess;
	struct bsub *bsub;
	char *label; /* what the client named: channel, room or filter (for replies) */
	const char *channel; /* the profile channel it was made by, or NULL (borrowed from
			      * the session's profiles) */
	char **types; /* notification types to pass, or NULL for all */
	size_t ntypes;
	enum sub_policy policy;
	bool system; /* granted by the adapter itself (the user's own namespace), not by the ACL */
	char *owner; /* or NULL: only topics whose level owner_level starts with it pass */
	int owner_level;
	/* or NULL: told of every message queued through this subscription (calcs.c follows a
	 * calculation's progress so) */
	void (*on_delivered)(struct csub *cs, const struct out_msg *m);
	struct list_node in_bsub;
	struct list_node in_sess;
};

/* What the core asks of the broker connection (transport/bridge.c gives it). */
struct core_broker {
	bool (*up)(struct adapter *a);
	/* 0, or -1 if the request could not be sent (the next connection sends it again) */
	int (*subscribe)(struct adapter *a, struct bsub *b);
	int (*unsubscribe)(struct adapter *a, struct bsub *b);
	/* for the policy layer (client publishes, calculations, stats): 0 or -1 */
	int (*publish)(
		struct adapter *a, const char *topic, const void *payload, size_t len, bool retain);
};

struct subs {
	struct bsub *by_filter; /* uthash: live and pending broker subscriptions */
	struct list all; /* every bsub the broker may deliver for, dying included */
	struct list wild; /* the bsubs whose filter has a wildcard */
	unsigned ndying; /* bsubs DYING (then accept_copy walks "all") */
	uint64_t next_ord;
	uint32_t next_id;
	uint64_t gen; /* fan-out generation: one delivery per session per message */
};

/* ==== timers (timers.c): a wheel of one-second slots ================================ */

#define WHEEL_SLOTS 256

struct wheel_timer {
	struct list_node list; /* in a slot of the wheel while armed */
	int64_t due; /* in seconds of core__now_us() */
	void (*cb)(struct wheel_timer *t);
};

struct timer_wheel {
	struct list slot[WHEEL_SLOTS];
	int64_t done; /* the last second whose slot was handled */
};

/* ==== sessions (session.c) ========================================================== */

/*
 * What a session's transport does for the core (ws.c, sse.c). The core asks
 * for output to be written and for the connection to be closed; how, and
 * when the socket allows it, is the transport's.
 */
struct session_ops {
	const char *name; /* "websocket", "sse": for logs */
	/* Writes what the session has queued now, outside the transport's writeable callback.
	 * Returns 0, or -1 when the socket failed (the transport then ends it). */
	int (*flush)(struct session *s);
	/* Whether flush() may be called now (no partial write pending, not a multiplexed
	 * stream whose writes its connection schedules). */
	bool (*can_flush)(struct session *s);
	/* Asks to be called back when the socket can take more; that callback writes. */
	void (*writeable)(struct session *s);
	/* A close was asked (s->close_code, s->close_reason): get it going after what is queued,
	 * within @grace_s seconds whatever the peer does. */
	void (*close)(struct session *s, int grace_s);
	/* The socket failed during a write: drop the connection. */
	void (*fail)(struct session *s);
	/* The transport has no close code (SSE): a last event must say why it ends. */
	bool ends_with_event;
};

/* One run of messages dropped from a queue and not yet told (gap.c). */
struct gap {
	char *topic;
	char epoch[32];
	uint64_t from, to; /* the seq of the first and last message dropped */
};

/*
 * A browser connection. Lives inside its transport's per-session data
 * (struct pss_ws / struct pss_sse embed it first). The core owns the
 * delivery state; the fields marked "above" belong to the policy layer and
 * the transports, and the core never reads them.
 */
struct session {
	struct core *core;
	struct adapter *a; /* above */
	const struct session_ops *ops; /* its transport's */
	struct lws *wsi; /* the transport's connection, or NULL (unit tests, fuzzing) */
	char conn_id[32];
	/* a retained value the broker sent for a new subscription, or NULL: queue it as is */
	void (*on_snapshot)(struct session *s, struct out_msg *m);
	struct list subs; /* struct csub, via in_sess */
	struct out_msg **q; /* send queue (ring); NULL slots: messages conflated away */
	unsigned q_cap, q_head, q_count; /* q_count: slots in use, NULL ones included */
	unsigned q_live; /* messages queued (what the bounds count) */
	size_t q_bytes;
	struct gap *gaps; /* runs of messages dropped and not yet told (gap.c), oldest first */
	unsigned ngaps, gaps_cap;
	struct out_msg *gap_msg; /* the notice of gaps[0] while it is being written, or NULL */
	uint64_t gen; /* subs.gen of the last message enqueued */
	int64_t full_since; /* the send queue has been full since (0: not full) */
	int64_t busy_since; /* the send queue has not been empty since (0: empty) */
	bool closing; /* a close is queued: send nothing more */
	int close_code;
	char close_reason[96];
	struct list_node in_all; /* core.sessions */
	struct list_node in_kicked; /* core.kicked: to write at the batch's end */

	/* above: the client (policy/client.c, auth.c, limits.c, calcs.c) */
	char path[64]; /* the endpoint it came in on */
	struct profiles *prof; /* a reference: the profiles it was made under */
	const struct prof_endpoint *ep; /* its endpoint, in prof */
	struct prof_params *params; /* the path parameters, or NULL when there are none */
	struct rtg_identity *id; /* NULL until authenticated (and for an anonymous client) */
	bool anonymous; /* no token, on an endpoint that allows it: the ACL's anonymous rules */
	struct wheel_timer t_auth; /* token expiry warning and end; the authentication timeout */
	bool expiry_warned;
	double tokens; /* the inbound token bucket */
	int64_t refilled; /* when tokens was last topped up */
	unsigned refused_run; /* messages refused in a row for the rate */
	bool user_counted; /* counted in adapter.users */
	struct list calcs; /* struct calc_wait: calculations awaiting an update */

	/* above: the transport (ws.c, linger.c, sse.c) */
	struct wheel_timer t_beat; /* WebSocket: the idle check; SSE: the heartbeat */
	bool close_asked; /* WebSocket: the close frame is lws' to write (lws_close_reason) */
	bool lingering; /* WebSocket: close frame written, awaiting the client's (linger.c) */
	struct list_node in_linger; /* adapter.lingering, oldest first */
	bool greeted; /* the "connection" message went out (WebSocket) */
	char *cors_origin; /* SSE: the allowed Origin echoed in the headers, or NULL */
	int64_t last_rx; /* WebSocket: last frame or pong from the client */
	bool ping_due; /* WebSocket: a protocol PING goes out with the next write */
	int64_t ping_at; /* WebSocket: when the unanswered PING was asked for, then written */
	unsigned char sse_phase; /* SSE: response headers, retry hint, live, ended */
	bool sse_heartbeat_due; /* SSE: a ": heartbeat" comment goes out with the next write */
	uint64_t sse_last_gseq; /* SSE: gseq of the newest data event written */
};

/* ==== the core ======================================================================== */

struct core {
	const struct adapter_config *cfg; /* the queue bounds and slow_consumer_timeout */
	struct stats *stats;
	struct history *hist;
	struct subs subs;
	const struct core_broker *broker;
	struct adapter *a; /* handed to the broker's functions */
	struct list sessions; /* every session */
	struct list kicked; /* sessions with messages of this batch */
	bool batching; /* inside a fan-out batch */
	bool stopping; /* shutting down: nothing is unsubscribed or forgotten any more */
	struct timer_wheel wheel; /* the sessions' timers */
};

/* Sets c up (its history, stats and config stay the caller's). */
void core__init(struct core *c, const struct adapter_config *cfg, struct stats *stats,
	struct history *hist, const struct core_broker *broker, struct adapter *a);

/* ---- subs.c ---- */
void subs__cleanup(struct core *c);
struct csub *subs__add(struct core *c, struct session *s, const char *filter, const char *label,
	enum sub_policy policy);
void subs__remove(struct core *c, struct csub *cs);
void subs__set_types(struct csub *cs, char **types, size_t n);
int subs__set_owner(struct csub *cs, const char *prefix, int level);
struct csub *subs__find(struct session *s, const char *filter, const char *label);
void subs__remove_all(struct core *c, struct session *s);
void subs__fanout(struct core *c, struct out_msg *m);
bool subs__accept_copy(struct core *c, const char *topic, const uint32_t *ids, int nids);
void subs__on_suback(struct core *c, int mid);
void subs__on_unsuback(struct core *c, int mid);
void subs__on_broker_connect(struct core *c);
void subs__on_broker_disconnect(struct core *c);
unsigned subs__broker_count(const struct core *c);
/* Subscription ids up to @max were given before a restart (the broker may still hold them):
 * new ones start after it. */
void subs__reserve_ids(struct core *c, uint32_t max);

/* ---- session.c ---- */
void session__init(struct core *c, struct session *s, const struct session_ops *ops,
	struct lws *wsi, struct adapter *a);
/* Releases the core's part of s: subscriptions, queue, gap notes, timers. */
void session__cleanup(struct session *s);
int session__enqueue(struct session *s, struct out_msg *m);
int session__deliver(struct session *s, struct out_msg *m, enum sub_policy policy);
void session__batch_begin(struct core *c);
void session__batch_end(struct core *c);
int session__send_json(struct session *s, cJSON *obj);
void session__send_error(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct out_msg *session__peek(struct session *s);
void session__pop(struct session *s);
void session__close(struct session *s, int code, const char *reason);
bool session__has_output(const struct session *s);
cJSON *session__json_base(const char *type);
const char *session__iso_time(char *buf, size_t len);

/* ---- gap.c: dropped messages, told ---- */
int gap__note(struct session *s, const struct out_msg *m);
struct out_msg *gap__peek(struct session *s);
void gap__sent(struct session *s);
void gap__cleanup(struct session *s);

/* ---- timers.c ---- */
void timers__init(struct timer_wheel *w);
/* Fires what is due, each timer once; the transport calls it every second. */
void timers__run(struct timer_wheel *w);
void timers__schedule(struct timer_wheel *w, struct wheel_timer *t,
	void (*cb)(struct wheel_timer *), int64_t delay_us);
void timers__cancel(struct wheel_timer *t);
bool timers__armed(const struct wheel_timer *t);

#endif /* RTG_CORE_H */
