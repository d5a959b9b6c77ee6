/*
 * adapter.h - the adapter's shared state and the functions that cross files.
 *
 * One process, one lws event loop, one thread: libmosquitto's socket is
 * serviced inside the lws loop (bridge.c), so nothing here is locked. The
 * pieces: sessions (a browser connection, WebSocket or SSE: session.c),
 * the subscription registry with one broker subscription per distinct filter
 * (subs.c), the per-topic history (history.c), the broker connection
 * (bridge.c), authentication and authorisation (auth.c), the protocols
 * (ws.c, sse.c, http.c) and the counters (stats.c).
 */
#ifndef RTG_ADAPTER_H
#define RTG_ADAPTER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <uthash.h>

#include "config.h"
#include "history.h"
#include "msg.h"
#include "profile.h"
#include "rtg_acl.h"
#include "rtg_jwt.h"

struct mosquitto;
struct session;

/* The WebSocket close codes the adapter sends (RFC 6455 7.4.1; 4001 is the seeds' own). */
enum rtg_close {
	RTG_CLOSE_GOING_AWAY = 1001, /* shutdown */
	RTG_CLOSE_POLICY = 1008, /* flooding, idle, too many connections for the user */
	RTG_CLOSE_TOO_BIG = 1009, /* a message over max_message_size */
	RTG_CLOSE_INTERNAL = 1011, /* the socket failed during a write */
	RTG_CLOSE_TRY_LATER = 1013, /* a slow consumer */
	RTG_CLOSE_AUTH = 4001, /* no valid token, or it expired */
};

/* HTTP statuses the adapter answers that lws' enum http_status lacks. */
#define RTG_HTTP_ACCEPTED 202
#define RTG_HTTP_UPGRADE_REQUIRED 426
#define RTG_HTTP_TOO_MANY_REQUESTS 429

/* ==== subscriptions (subs.c) ==================================================== */

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
	struct lws_dll2_owner members; /* struct csub, via in_bsub */
	struct lws_dll2 in_all; /* subs.all, in id order */
	uint64_t ord; /* its place in subs.all: later ones are greater */
	bool wild; /* the filter has + or #: it is also in subs.wild */
	struct lws_dll2 in_wild; /* subs.wild */
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
	struct lws_dll2 in_bsub;
	struct lws_dll2 in_sess;
};

struct subs {
	struct bsub *by_filter; /* uthash: live and pending broker subscriptions */
	struct lws_dll2_owner all; /* every bsub the broker may deliver for, dying included */
	struct lws_dll2_owner wild; /* the bsubs whose filter has a wildcard */
	unsigned ndying; /* bsubs DYING (then accept_copy walks "all") */
	uint64_t next_ord;
	uint32_t next_id;
	uint64_t gen; /* fan-out generation: one delivery per session per message */
};

/* ==== per-session timers (timers.c): a wheel of one-second slots ===================== */

#define WHEEL_SLOTS 256

struct wheel_timer {
	struct lws_dll2 list; /* in a slot of the wheel while armed */
	int64_t due; /* in seconds of lws_now_usecs() */
	void (*cb)(struct wheel_timer *t);
};

struct timer_wheel {
	struct lws_dll2_owner slot[WHEEL_SLOTS];
	int64_t done; /* the last second whose slot was handled */
	struct lws_sorted_usec_list sul; /* the one lws timer: a tick a second */
};

/* ==== sessions (session.c) ======================================================== */

enum session_kind { SESSION_WS, SESSION_SSE };

/*
 * A browser connection. Lives inside the lws per-session data of its
 * protocol (struct pss_ws / struct pss_sse embed it first).
 */
struct session {
	struct adapter *a;
	struct lws *wsi;
	enum session_kind kind;
	char conn_id[32];
	char path[64]; /* the endpoint it came in on */
	struct profiles *prof; /* a reference: the profiles it was made under */
	const struct prof_endpoint *ep; /* its endpoint, in prof */
	struct prof_params *params; /* the path parameters, or NULL when there are none */
	struct rtg_identity *id; /* NULL until authenticated (and for an anonymous client) */
	bool anonymous; /* no token, on an endpoint that allows it: the ACL's anonymous rules */
	/* a retained value the broker sent for a new subscription, or NULL: queue it as is */
	void (*on_snapshot)(struct session *s, struct out_msg *m);
	struct lws_dll2_owner subs; /* struct csub, via in_sess */
	struct out_msg **q; /* send queue (ring); NULL slots: messages conflated away */
	unsigned q_cap, q_head, q_count; /* q_count: slots in use, NULL ones included */
	unsigned q_live; /* messages queued (what the bounds count) */
	size_t q_bytes;
	struct gap *gaps; /* runs of messages dropped and not yet told (gap.c), oldest first */
	unsigned ngaps, gaps_cap;
	struct out_msg *gap_msg; /* the notice of gaps[0] while it is being written, or NULL */
	uint64_t gen; /* subs.gen of the last message enqueued */
	uint64_t sent, received, dropped, errors;
	bool closing; /* a close is queued: send nothing more */
	bool close_asked; /* WebSocket: the close frame is lws' to write (lws_close_reason) */
	bool lingering; /* WebSocket: close frame written, awaiting the client's (linger.c) */
	struct lws_dll2 in_linger; /* adapter.lingering, oldest first */
	bool greeted; /* the "connection" message went out (WebSocket) */
	char *cors_origin; /* SSE: the allowed Origin echoed in the headers, or NULL */
	int close_code;
	char close_reason[96];
	struct lws_dll2 in_all; /* adapter.sessions */
	struct lws_dll2 in_kicked; /* adapter.kicked: to write at the batch's end */
	struct wheel_timer t_expiry; /* token expiry warning / close; auth timeout */
	bool expiry_warned;
	/* limits (limits.c) */
	double tokens; /* the inbound token bucket */
	lws_usec_t refilled; /* when tokens was last topped up */
	unsigned refused_run; /* messages refused in a row for the rate */
	bool user_counted; /* counted in adapter.users */
	lws_usec_t full_since; /* the send queue has been full since (0: not full) */
	lws_usec_t busy_since; /* the send queue has not been empty since (0: empty) */
	struct lws_dll2_owner calcs; /* struct calc_wait: calculations awaiting an update */
	/* WebSocket liveness (ws.c) */
	struct wheel_timer t_idle; /* WebSocket: idle check; SSE: heartbeat */
	lws_usec_t last_rx; /* last frame or pong from the client */
	bool ping_due; /* a protocol PING goes out with the next write */
	lws_usec_t ping_at; /* when the unanswered PING was asked for, then written (0: none) */
	/* SSE streams only (sse.c) */
	unsigned char sse_phase; /* response headers, retry hint, live, ended */
	bool sse_heartbeat_due; /* a ": heartbeat" comment goes out with the next write */
	uint64_t sse_last_gseq; /* gseq of the newest data event written */
};

/* ==== the broker connection (bridge.c) ============================================ */

enum bridge_state { BRIDGE_DOWN, BRIDGE_CONNECTING, BRIDGE_UP };

struct bridge {
	struct mosquitto *mosq;
	struct lws *wsi; /* the adopted (dup'ed) socket, or NULL */
	enum bridge_state state;
	unsigned backoff_ms;
	struct lws_sorted_usec_list sul_misc; /* mosquitto_loop_misc, keepalive */
	struct lws_sorted_usec_list sul_reconnect; /* next connection attempt */
	struct lws_sorted_usec_list sul_connect; /* the attempt's deadline: CONNACK in time */
	/* the brokers, in the order of cfg.brokers (bridge_failover.c) */
	int broker; /* the one connected, or tried now or next */
	int tried; /* brokers tried in a row without a connection, this round */
	int next; /* failing back: the broker to try next (-1: the usual order) */
	int last_up; /* the broker of the last connection that came up (-1: none yet) */
	int session_broker; /* the broker that holds our session (0 at start-up) */
	bool clean_start; /* the client asks for a clean start (always, after a switch) */
	lws_usec_t up_since; /* when the connection came up (0: not up since the last loss) */
	int probe_fd; /* failing back: a TCP connect to the first broker, or -1 */
	lws_usec_t probe_at; /* when the probe started, or when the next one may */
	uint64_t switches; /* connections that came up on another broker than the last */
	uint64_t connects, disconnects;
	uint64_t published, received;
	char token[RTG_JWT_MAX_LEN + 1];
	/* the broker's session for this adapter (mqtt_session_expiry, history_file) */
	struct history_filter *session; /* its subscriptions, as the broker holds them */
	unsigned nsession, session_cap;
	struct history_filter *held; /* restored from history_file, by id: awaiting clients */
	unsigned nheld;
	uint32_t held_max_id; /* ids up to this one were given before the restart */
	struct lws_sorted_usec_list sul_held; /* releases what no client came back for */
};

/* ==== counters (stats.c) ============================================================ */

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

/* ==== the adapter ================================================================== */

struct adapter {
	struct adapter_config cfg;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct rtg_jwt_verifier *verifier;
	struct rtg_acl *acl;
	struct profiles *prof; /* the endpoint profiles; sessions hold references of their own */
	struct history hist;
	struct subs subs;
	struct bridge bridge;
	struct stats stats;
	struct lws_dll2_owner sessions;
	struct lws_dll2_owner kicked; /* sessions with messages of this batch (session.c) */
	struct lws_dll2_owner lingering; /* closed WebSockets draining their client (linger.c) */
	bool batching; /* inside a fan-out batch */
	bool loop_ev; /* lws runs on the libev loop of loop.c, not its own poll() */
	struct timer_wheel wheel; /* the sessions' timers (timers.c) */
	struct user_count *users; /* uthash by sub: open connections per user (limits.c) */
	cJSON *broker_sys; /* the broker's $SYS figures, by name */
	struct lws_sorted_usec_list sul_stats; /* system/stats publication */
	time_t started;
	int listen_port; /* the port clients connect to */
	bool stopping;
};

/* ==== cross-file functions =========================================================== */

/* limits.c */
enum origin_verdict { ORIGIN_NONE, ORIGIN_ALLOWED, ORIGIN_REFUSED };
void limits__session_init(struct session *s);
bool limits__take(struct session *s);
bool limits__capacity(struct adapter *a);
int limits__user_add(struct adapter *a, struct session *s);
void limits__user_remove(struct adapter *a, struct session *s);
void limits__cleanup(struct adapter *a);
enum origin_verdict limits__origin(struct adapter *a, struct lws *wsi, char *buf, size_t len);
void limits__socket(struct adapter *a, struct lws *wsi);

/* calcs.c */
#define CALC_ID_MAX 64
int calc__start(struct adapter *a, const struct rtg_identity *id, struct session *s,
	const cJSON *msg, char *idbuf, size_t idlen, char *err, size_t errlen);
int calc__watch(struct session *s, const char *id);
void calc__update(struct session *s, const char *id, const struct out_msg *m);
void calc__unwatch_all(struct session *s);

/* auth.c */
int auth__init(struct adapter *a);
void auth__cleanup(struct adapter *a);
int auth__reload(struct adapter *a);
enum rtg_err auth__verify(struct adapter *a, const char *token, struct rtg_identity **out);
bool auth__token_from_request(struct lws *wsi, char *buf, size_t len);
bool auth__allowed(struct adapter *a, const struct session *s, const char *topic,
	enum rtg_access access, char *why, size_t whylen);
bool auth__allowed_id(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const char *topic, enum rtg_access access, char *why, size_t whylen);
bool auth__is_loopback(struct lws *wsi);
bool auth__stats_allowed(struct adapter *a, struct lws *wsi, const struct rtg_identity *id);

/* subs.c */
void subs__init(struct subs *subs);
void subs__cleanup(struct adapter *a);
struct csub *subs__add(struct adapter *a, struct session *s, const char *filter, const char *label,
	enum sub_policy policy);
void subs__remove(struct adapter *a, struct csub *cs);
void subs__set_types(struct csub *cs, char **types, size_t n);
int subs__set_owner(struct csub *cs, const char *prefix, int level);
struct csub *subs__find(struct session *s, const char *filter, const char *label);
void subs__remove_all(struct adapter *a, struct session *s);
void subs__fanout(struct adapter *a, struct out_msg *m);
bool subs__accept_copy(struct adapter *a, const char *topic, const uint32_t *ids, int nids);
void subs__on_suback(struct adapter *a, int mid);
void subs__on_unsuback(struct adapter *a, int mid);
void subs__on_broker_connect(struct adapter *a);
void subs__on_broker_disconnect(struct adapter *a);
unsigned subs__broker_count(const struct adapter *a);
void subs__recheck(struct adapter *a, struct session *s, const char *reason);

/* gap.c: dropped messages, told */
struct gap {
	char *topic;
	char epoch[32];
	uint64_t from, to; /* the seq of the first and last message dropped */
};
int gap__note(struct session *s, const struct out_msg *m);
struct out_msg *gap__peek(struct session *s);
void gap__sent(struct session *s);
void gap__cleanup(struct session *s);

/* session.c */
void session__init(struct adapter *a, struct session *s, struct lws *wsi, enum session_kind kind);
void session__cleanup(struct session *s);
int session__enqueue(struct session *s, struct out_msg *m);
int session__enqueue_policy(struct session *s, struct out_msg *m, enum sub_policy policy);
int session__deliver(struct session *s, struct out_msg *m, enum sub_policy policy);
int session__set_endpoint(struct session *s, struct profiles *prof, const char *path, bool upgrade);
void session__batch_begin(struct adapter *a);
void session__batch_end(struct adapter *a);
int session__send_json(struct session *s, cJSON *obj);
void session__send_error(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct out_msg *session__peek(struct session *s);
void session__pop(struct session *s);
void session__close(struct session *s, int code, const char *reason);
bool session__has_output(const struct session *s);
#define SESSION_OTHER_SUBJECT -1
#define SESSION_USER_LIMIT -2
int session__set_identity(struct session *s, struct rtg_identity *id);
bool session__recheck_key(struct session *s);
cJSON *session__json_base(const char *type);
const char *session__iso_time(char *buf, size_t len);

/* request.c: what a request asks for, the same for WebSocket, SSE and HTTP */
enum req_auth {
	REQ_AUTH_OK, /* a valid token: *id set */
	REQ_AUTH_ANONYMOUS, /* no token, and the endpoint allows that */
	REQ_AUTH_MISSING, /* no token, and one is required: err set */
	REQ_AUTH_BAD, /* a token that does not verify: err set */
};

/* One topic filter a subscribe asks for. */
struct req_target {
	char filter[512];
	char label[128]; /* what the client named: a channel's name, or the filter */
	const char *channel; /* the profile channel, or NULL */
	bool own; /* the user's own namespace (%u~): granted without the ACL */
	int owner_level; /* with own and a wildcard there: the level to check, else -1 */
	char owner[160]; /* "<sub>~" */
};

#define REQ_MAX_TARGETS 8

void req__topic_info(void *arg, const char *topic, const char **type, bool *value);
enum req_auth req__identify(struct adapter *a, struct lws *wsi, bool optional,
	struct rtg_identity **id, char *err, size_t errlen);
int req__resolve(struct session *s, const char *type, const cJSON *msg, struct req_target *t,
	int max, char *err, size_t errlen);
int req__resolve_line(struct session *s, const char *line, struct req_target *t, int max, char *err,
	size_t errlen);
struct csub *req__subscribe(struct session *s, const struct req_target *t, enum sub_policy policy,
	const cJSON *types, int *status, char *err, size_t errlen);

/* listen.c */
extern const struct lws_protocols listen__protocol;
int listen__open(struct adapter *a);

/* bridge.c */
int bridge__init(struct adapter *a);
void bridge__cleanup(struct adapter *a);
int bridge__subscribe(struct adapter *a, struct bsub *b);
int bridge__unsubscribe(struct adapter *a, struct bsub *b);
int bridge__publish(
	struct adapter *a, const char *topic, const void *payload, size_t len, bool retain);
bool bridge__up(const struct adapter *a);
void bridge__leave(struct adapter *a);
extern const struct lws_protocols bridge__protocol;

/* bridge_failover.c */
void bridge__failover_init(struct adapter *a);
unsigned bridge__pick_next(struct adapter *a, bool was_up);
void bridge__on_up(struct adapter *a);
void bridge__failback_tick(struct adapter *a);
void bridge__failback_stop(struct bridge *br);
const char *bridge__name(const struct adapter *a, int broker);

/* bridge_session.c */
unsigned bridge__session_saved(const struct adapter *a);
bool bridge__prepare_resume(struct adapter *a);
void bridge__on_session(struct adapter *a, bool present);
void bridge__session_add(struct adapter *a, const char *filter, uint32_t id);
void bridge__session_remove(struct adapter *a, const char *filter);
void bridge__session_clear(struct bridge *br);
bool bridge__held_accepts(const struct adapter *a, const char *topic, const uint32_t *ids, int n);

/* timers.c */
void timers__start(struct adapter *a);
void timers__stop(struct adapter *a);
void timers__schedule(struct adapter *a, struct wheel_timer *t, void (*cb)(struct wheel_timer *),
	lws_usec_t delay_us);
void timers__cancel(struct wheel_timer *t);

/* loop.c */
void loop__prepare(struct adapter *a, struct lws_context_creation_info *info);
void loop__fallback(struct adapter *a, struct lws_context_creation_info *info);
int loop__turn(struct adapter *a, lws_usec_t max_us);
void loop__cleanup(void);

/* ws.c */
extern const struct lws_protocols ws__protocol;
void ws__shutdown_all(struct adapter *a);
void ws__dispatch(struct session *s, const char *text, size_t len);
int ws__flush(struct session *s);

/* linger.c: the lingering close of a WebSocket (its close code reaches a client still sending) */
void linger__start(struct session *s);
void linger__end(struct session *s);

/* ws_subscribe.c */
void wsub__subscribe(struct session *s, const char *type, const cJSON *msg, bool unsubscribe);
void wsub__subscribe_endpoint(struct session *s);
void wsub__replay(struct session *s, const cJSON *msg);
void wsub__snapshot(struct session *s, struct out_msg *m);
void wsub__cleanup(void);

/* publish.c: a client's or a service's publish, the same for WebSocket and HTTP */
int pub__message(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const cJSON *msg, const char *text, size_t len, char *err, size_t errlen);
int pub__broadcast(struct adapter *a, const struct rtg_identity *id,
	const struct prof_broadcast *bc, const cJSON *msg, const char *body, size_t len,
	char *topic, size_t topiclen, char *err, size_t errlen);

/* sse.c: sse__handle returns 0 when the stream started, else an HTTP status with err set */
int sse__handle(struct lws *wsi, struct session *s, const char *path, char *err, size_t errlen);
int sse__writeable(struct session *s);
int sse__flush(struct session *s);

/* http.c */
extern const struct lws_protocols http__protocol;

/* stats.c */
cJSON *stats__json(struct adapter *a);
void stats__start(struct adapter *a);
void stats__stop(struct adapter *a);
bool stats__on_sys(struct adapter *a, const char *topic, const void *payload, size_t len);
cJSON *stats__health(struct adapter *a);
char *stats__prometheus(struct adapter *a, size_t *len);

#endif /* RTG_ADAPTER_H */
