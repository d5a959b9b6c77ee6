/*
 * adapter.h - the map of the adapter: its layers, its shared state, and the
 * functions that cross files.
 *
 * One process, one event loop (lws on libev's epoll), one thread:
 * libmosquitto's socket is serviced inside the same loop, so nothing is
 * locked. Three layers, dependencies pointing down and callbacks up:
 *
 *   transport/   talks to sockets, the only layer that calls libwebsockets
 *     ws.c linger.c              the JSON WebSocket protocol; its lingering close
 *     sse.c                      Server-Sent Events streams
 *     http.c http_api.c          plain HTTP: the API, health, stats, metrics
 *     peer.c                     a request's token, Origin, loopback; shared session ops
 *     listen.c loop.c server.c   the listener, the event loop, the lws context
 *     bridge.c bridge_ops.c bridge_failover.c bridge_session.c
 *                                the broker connection (libmosquitto), failover,
 *                                the broker session kept across restarts
 *   policy/      who may do what, and what a request means
 *     auth.c client.c            keys, ACL, profiles; a session's identity and expiry
 *     limits.c                   rates, connection caps, origins, subscription cap
 *     request.c reqparse.c       a request's token and targets, parsed and resolved
 *     subscribe.c                subscribe, unsubscribe, replay and their replies
 *     publish.c calcs.c          client publishes and broadcasts; calculations
 *     profile*.c                 the endpoint profiles (docs/profiles.md)
 *   core/        a message from the broker to a session's queue (core/core.h)
 *     msg.c jtext.c history.c history_file.c subs.c session.c gap.c timers.c
 *   main.c config*.c stats.c     start-up and the wiring; configuration; counters
 *
 * Where a broker message becomes bytes on a browser's socket:
 * bridge.c on_message() -> core/subs.c subs__fanout() -> core/session.c
 * session__deliver() / enqueue() (queue, conflation, drops)
 * -> kick() -> session__batch_end() -> the transport's flush
 * (transport/ws.c ws_flush(), transport/sse.c sse_flush()), or its
 * writeable callback when the socket is full.
 */
#ifndef RTG_ADAPTER_H
#define RTG_ADAPTER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h> /* the types of struct adapter and the transports' prototypes */
#include <uthash.h>

#include "config.h"
#include "core.h"
#include "profile.h"
#include "rtg_acl.h"
#include "rtg_jwt.h"

struct mosquitto;

/* HTTP statuses the adapter answers that lws' enum http_status lacks. */
#define RTG_HTTP_ACCEPTED 202
#define RTG_HTTP_UPGRADE_REQUIRED 426
#define RTG_HTTP_TOO_MANY_REQUESTS 429

/* ==== the broker connection (transport/bridge*.c) ===================================== */

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
	int64_t up_since; /* when the connection came up (0: not up since the last loss) */
	int probe_fd; /* failing back: a TCP connect to the first broker, or -1 */
	int64_t probe_at; /* when the probe started, or when the next one may */
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

/* ==== the adapter ================================================================== */

struct adapter {
	struct adapter_config cfg;
	struct core core; /* the subscriptions, the sessions, the timers (core/core.h) */
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct rtg_jwt_verifier *verifier;
	struct rtg_acl *acl;
	struct profiles *prof; /* the endpoint profiles; sessions hold references of their own */
	struct history hist;
	struct bridge bridge;
	struct stats stats;
	struct list lingering; /* closed WebSockets draining their client (linger.c) */
	bool loop_ev; /* lws runs on the libev loop of loop.c, not its own poll() */
	struct lws_sorted_usec_list sul_tick; /* the timer wheel's second (server.c) */
	struct wheel_timer t_stats; /* system/stats publication (stats.c) */
	struct user_count *users; /* uthash by sub: open connections per user (limits.c) */
	cJSON *broker_sys; /* the broker's $SYS figures, by name */
	time_t started;
	int listen_port; /* the port clients connect to */
};

/* ==== policy/ =========================================================================
 * Error convention: 0 or -1 for what can fail, bool for predicates, and an
 * HTTP status (with err filled) where a request is refused, so that each
 * transport turns it into its own form (an error message, a close code, a
 * response). */

/* limits.c */
enum origin_verdict { ORIGIN_NONE, ORIGIN_ALLOWED, ORIGIN_REFUSED };
/* What the transport read from a request for the Origin check (transport/peer.c). */
struct origin_req {
	const char *origin; /* the Origin header, "" or NULL when absent */
	const char *host; /* the Host header */
	bool tls; /* the request came over TLS */
};
void limits__session_init(struct session *s);
bool limits__take(struct session *s);
bool limits__capacity(struct adapter *a);
int limits__user_add(struct adapter *a, struct session *s);
void limits__user_remove(struct adapter *a, struct session *s);
bool limits__too_big(const struct adapter *a, unsigned long long len);
bool limits__subscriptions_full(struct adapter *a, const struct session *s);
void limits__cleanup(struct adapter *a);
enum origin_verdict limits__origin(struct adapter *a, const struct origin_req *r);

/* calcs.c */
#define CALC_ID_MAX 64
/* What calc__id_ok() accepts, for error messages; calcs.c checks the 64 is CALC_ID_MAX. */
#define CALC_ID_RULE "1-64 characters of A-Z a-z 0-9 _ -"
/* The one rule for a calculation id, for what starts one and what follows one (request.c):
 * 1 to CALC_ID_MAX characters of A-Z a-z 0-9 '_' '-', so one topic level and one URL path
 * segment as it stands (no '~' to fake another user's prefix). NULL gives false. */
bool calc__id_ok(const char *id);
int calc__start(struct adapter *a, const struct rtg_identity *id, struct session *s,
	const cJSON *msg, char *idbuf, size_t idlen, char *err, size_t errlen);
void calc__unwatch_all(struct session *s);

/* auth.c */
int auth__init(struct adapter *a);
void auth__cleanup(struct adapter *a);
int auth__reload(struct adapter *a);
enum rtg_err auth__verify(struct adapter *a, const char *token, struct rtg_identity **out);
bool auth__allowed(struct adapter *a, const struct session *s, const char *topic,
	enum rtg_access access, char *why, size_t whylen);
bool auth__allowed_id(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const char *topic, enum rtg_access access, char *why, size_t whylen);
bool auth__stats_allowed(struct adapter *a, bool loopback, const struct rtg_identity *id);

/* client.c: who is behind a session */
int client__set_endpoint(struct session *s, struct profiles *prof, const char *path, bool upgrade);
#define CLIENT_OTHER_SUBJECT -1
#define CLIENT_USER_LIMIT -2
int client__set_identity(struct session *s, struct rtg_identity *id);
bool client__recheck_key(struct session *s);
void client__end(struct session *s);

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
enum req_auth req__identify(struct adapter *a, const char *token, bool optional,
	struct rtg_identity **id, char *err, size_t errlen);
int req__resolve(struct session *s, const char *type, const cJSON *msg, struct req_target *t,
	int max, char *err, size_t errlen);
int req__resolve_line(struct session *s, const char *line, struct req_target *t, int max, char *err,
	size_t errlen);
struct csub *req__subscribe(struct session *s, const struct req_target *t, enum sub_policy policy,
	const cJSON *types, int *status, char *err, size_t errlen);

/* subscribe.c: the subscribe, unsubscribe and replay requests, and their replies */
void subscribe__request(struct session *s, const char *type, const cJSON *msg, bool unsubscribe);
void subscribe__endpoint(struct session *s);
void subscribe__replay(struct session *s, const cJSON *msg);
void subscribe__snapshot(struct session *s, struct out_msg *m);
void subscribe__cleanup(void);

/* publish.c: a client's or a service's publish, the same for WebSocket and HTTP */
int pub__message(struct adapter *a, const struct rtg_identity *id, const char *conn_id,
	const cJSON *msg, const char *text, size_t len, char *err, size_t errlen);
int pub__broadcast(struct adapter *a, const struct rtg_identity *id,
	const struct prof_broadcast *bc, const cJSON *msg, const char *body, size_t len,
	char *topic, size_t topiclen, char *err, size_t errlen);

/* ==== transport/ ======================================================================
 * Error convention: what lws calls back returns 0 to go on and -1 to have
 * lws close the connection; functions that write return 0, or -1 when the
 * socket failed; a request refused before it became a stream gets an HTTP
 * status. */

/* listen.c */
extern const struct lws_protocols listen__protocol;
int listen__open(struct adapter *a);

/* server.c: the lws context, the loop's turns, the timer wheel's tick, shutdown */
int server__start(struct adapter *a);
int server__turn(struct adapter *a);
void server__wake(struct adapter *a);
void server__drain(struct adapter *a, int64_t grace_us);
void server__stop(struct adapter *a);

/* peer.c */
bool peer__token(struct lws *wsi, char *buf, size_t len);
bool peer__is_loopback(struct lws *wsi);
enum req_auth peer__identify(struct adapter *a, struct lws *wsi, bool optional,
	struct rtg_identity **id, char *err, size_t errlen);
enum origin_verdict peer__origin(struct adapter *a, struct lws *wsi, char *buf, size_t len);
void peer__tune_socket(struct adapter *a, struct lws *wsi);
void peer__writeable(struct session *s);
void peer__close(struct session *s, int grace_s);
void peer__fail(struct session *s);

/* bridge.c */
extern const struct core_broker bridge__broker; /* what the core and policy ask of it */
int bridge__init(struct adapter *a);
void bridge__cleanup(struct adapter *a);
bool bridge__up(struct adapter *a);
void bridge__want_write(struct adapter *a);
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

/* loop.c */
void loop__prepare(struct adapter *a, struct lws_context_creation_info *info);
void loop__fallback(struct adapter *a, struct lws_context_creation_info *info);
int loop__turn(struct adapter *a, lws_usec_t max_us);
void loop__cleanup(void);

/* ws.c */
extern const struct lws_protocols ws__protocol;
extern const struct session_ops ws__ops;
void ws__dispatch(struct session *s, const char *text, size_t len);

/* linger.c: the lingering close of a WebSocket (its close code reaches a client still sending) */
void linger__start(struct session *s);
void linger__end(struct session *s);

/* sse.c: sse__handle returns 0 when the stream started, else an HTTP status with err set */
extern const struct session_ops sse__ops;
int sse__handle(struct lws *wsi, struct session *s, const char *path, char *err, size_t errlen);
int sse__writeable(struct session *s);
void sse__end(struct session *s);

/* http.c */
extern const struct lws_protocols http__protocol;

/* ==== main.c, stats.c ================================================================== */

/* stats.c */
cJSON *stats__json(struct adapter *a);
void stats__start(struct adapter *a);
void stats__stop(struct adapter *a);
bool stats__on_sys(struct adapter *a, const char *topic, const void *payload, size_t len);
cJSON *stats__health(struct adapter *a);
char *stats__prometheus(struct adapter *a, size_t *len);

#endif /* RTG_ADAPTER_H */
