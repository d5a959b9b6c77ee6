/*
 * ws.c - the JSON WebSocket protocol: endpoints, authentication, frames in,
 * dispatch of each message type, frames out.
 *
 * Endpoints: /ws, /api/ws, /ws/notifications (which subscribes the user's
 * notifications) and /realtime/ws/{client_id}. The token comes with the
 * upgrade (header, cookie, ?token=) or as a first {"type":"auth"} message
 * within auth_timeout; a missing or bad token closes with 4001 and a reason.
 * What each subscribe form means is in policy/subscribe.c. Writes happen in
 * LWS_CALLBACK_SERVER_WRITEABLE, or straight from a fan-out (core/session.c
 * write_now(), through ws__ops).
 * lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_json.h"

/* Per-session data of the WebSocket protocol. */
struct pss_ws {
	struct session s; /* first: lws hands us a pointer to the pss */
	char *rx; /* a message being reassembled from fragments */
	size_t rx_len;
};

/* ---- authentication ------------------------------------------------------------------ */

/*
 * The endpoint's greeting ("connection" unless its profile names another, or
 * none), then the subscriptions its profile makes on connect.
 */
static void greet(struct session *s)
{
	const char *type = s->ep->greeting;
	cJSON *obj;

	if (s->greeted)
		return;
	s->greeted = true;
	if (type) {
		obj = session__json_base(type);
		if (obj &&
			(!cJSON_AddStringToObject(obj, "status", "connected") ||
				!cJSON_AddStringToObject(obj, "connection_id", s->conn_id) ||
				!(s->id ? cJSON_AddStringToObject(obj, "user_id", s->id->sub)
					: cJSON_AddNullToObject(obj, "user_id")) ||
				(s->id &&
					!cJSON_AddNumberToObject(
						obj, "expires_at", (double)s->id->exp)) ||
				(s->anonymous && !cJSON_AddTrueToObject(obj, "anonymous")))) {
			cJSON_Delete(obj);
			obj = NULL;
		}
		session__send_json(s, obj);
	}
	subscribe__endpoint(s);
}

static void on_auth_timeout(struct wheel_timer *t)
{
	struct session *s = container_of(t, struct session, t_auth);

	if (!s->id)
		session__close(s, RTG_CLOSE_AUTH,
			"authentication timeout: send {\"type\":\"auth\"} first");
}

/*
 * Takes identity id for the session: the first one (greeting), a refresh
 * (same subject), or the first of a client that was anonymous. Over
 * max_connections_per_user closes with 1008.
 */
static void accept_identity(struct session *s, struct rtg_identity *id)
{
	const char *status = s->id ? "refreshed" : "authenticated";
	char reason[96];
	cJSON *obj;

	switch (client__set_identity(s, id)) {
	case 0:
		break;
	case CLIENT_USER_LIMIT:
		snprintf(reason, sizeof(reason), "too many connections for this user (at most %d)",
			s->a->cfg.max_connections_per_user);
		session__close(s, RTG_CLOSE_POLICY, reason);
		return;
	default:
		session__send_error(s, "token refresh refused: another subject");
		return;
	}
	s->anonymous = false;
	if (!s->greeted) {
		greet(s);
		return;
	}
	obj = session__json_base("auth");
	if (obj &&
		(!cJSON_AddStringToObject(obj, "status", status) ||
			!cJSON_AddStringToObject(obj, "user_id", s->id->sub) ||
			!cJSON_AddNumberToObject(obj, "expires_at", (double)s->id->exp))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	session__send_json(s, obj);
}

/*
 * {"type":"auth"}: authenticates, refreshes, or signs in an anonymous client.
 * A bad first token closes the connection with 4001; a bad refresh is an error
 * and the old token (or anonymity) stays.
 */
static void authenticate(struct session *s, const char *token)
{
	struct rtg_identity *id = NULL;
	enum rtg_err rc = auth__verify(s->a, token, &id);
	char reason[96];

	if (rc == RTG_OK) {
		accept_identity(s, id);
		return;
	}
	if (s->id || s->anonymous) {
		session__send_error(s, "token refused: %s", rtg_strerror(rc));
		return;
	}
	snprintf(reason, sizeof(reason), "invalid token: %s", rtg_strerror(rc));
	session__close(s, RTG_CLOSE_AUTH, reason);
}

/* ---- liveness ------------------------------------------------------------------------- */

/*
 * Liveness, in two halves of idle_timeout. A connection silent for half of
 * it gets a protocol PING (browsers answer by themselves); it is closed with
 * 1008 and a reason only when that PING has then gone unanswered for the
 * other half, counted from when the PING was written. Any frame or PONG from
 * the client clears the PING. The wheel fires up to a second late but never
 * early, so a client always has at least half of idle_timeout to answer a
 * PING it was sent, whatever the timers' granularity: counting both halves
 * from the last frame instead would let a late PING meet an early close
 * (with idle_timeout 2 a client could be closed before it had been pinged).
 * Done here, not with lws' validity policy, because that would also hang up
 * the SSE streams and the adopted MQTT socket, which have no PING.
 */
static void on_idle_timer(struct wheel_timer *t)
{
	struct session *s = container_of(t, struct session, t_beat);
	int64_t half = (int64_t)s->a->cfg.idle_timeout * US_PER_SEC / 2;
	int64_t now = core__now_us(), silent = now - s->last_rx;

	if (s->ping_at) {
		/* a PING is out (or waiting for the socket) and nothing came back since */
		if (now - s->ping_at >= half) {
			s->a->stats.idle_closed++;
			session__close(
				s, RTG_CLOSE_POLICY, "idle timeout: no frame or pong received");
			return;
		}
		timers__schedule(
			&s->core->wheel, &s->t_beat, on_idle_timer, half - (now - s->ping_at));
		return;
	}
	if (silent >= half) {
		s->ping_due = true;
		s->ping_at = now;
		lws_callback_on_writable(s->wsi);
		timers__schedule(&s->core->wheel, &s->t_beat, on_idle_timer, half);
		return;
	}
	timers__schedule(&s->core->wheel, &s->t_beat, on_idle_timer, half - silent);
}

/* A frame or PONG from the client: it is alive, and any PING is answered. */
static void alive(struct session *s)
{
	s->last_rx = core__now_us();
	s->ping_at = 0;
}

/*
 * A new WebSocket: its endpoint's profile, then who it is. A token with the
 * upgrade decides at once; without one, an endpoint that allows anonymous
 * clients greets it as one, one that takes the token only with the upgrade
 * ("token upgrade", seed 004's) closes with 4001 at once, any other waits
 * auth_timeout for {"type":"auth"}.
 */
static void on_established(struct lws *wsi, struct pss_ws *p)
{
	struct adapter *a = lws_context_user(lws_get_context(wsi));
	struct rtg_identity *id = NULL;
	char path[128], err[160];
	struct session *s = &p->s;

	session__init(&a->core, s, &ws__ops, wsi, a);
	a->stats.ws_connections++;
	limits__session_init(s);
	s->on_snapshot = subscribe__snapshot;
	peer__tune_socket(a, wsi);
	alive(s);
	timers__schedule(&a->core.wheel, &s->t_beat, on_idle_timer,
		(int64_t)a->cfg.idle_timeout * US_PER_SEC / 2);
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 ||
		client__set_endpoint(s, a->prof, path, true)) {
		session__close(s, RTG_CLOSE_INTERNAL, "no endpoint (profiles reloaded?)");
		return;
	}
	switch (peer__identify(a, wsi, s->ep->token_optional, &id, err, sizeof(err))) {
	case REQ_AUTH_OK:
		accept_identity(s, id);
		break;
	case REQ_AUTH_ANONYMOUS:
		s->anonymous = true;
		greet(s);
		break;
	case REQ_AUTH_MISSING:
		if (s->ep->token_at_upgrade) { /* "token upgrade": no first auth message here */
			session__close(s, RTG_CLOSE_AUTH,
				"authentication required: send the token with the request (?token=, "
				"Authorization: Bearer, or the rtg_token cookie)");
			break;
		}
		timers__schedule(&a->core.wheel, &s->t_auth, on_auth_timeout,
			(int64_t)a->cfg.auth_timeout * US_PER_SEC);
		break;
	case REQ_AUTH_BAD:
		session__close(s, RTG_CLOSE_AUTH, err);
		break;
	}
}

/* ---- messages in ----------------------------------------------------------------------- */

static void handle_ping(struct session *s)
{
	session__send_json(s, session__json_base("pong"));
}

static void handle_publish(struct session *s, const cJSON *msg, const char *text, size_t len)
{
	char err[256];
	cJSON *obj;

	if (pub__message(s->a, s->id, s->conn_id, msg, text, len, err, sizeof(err))) {
		session__send_error(s, "%s", err);
		return;
	}
	obj = session__json_base("published");
	if (obj && !cJSON_AddStringToObject(obj, "topic", rtg_json_get_string(msg, "topic"))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	session__send_json(s, obj);
}

static void handle_calculate(struct session *s, const cJSON *msg)
{
	char id[CALC_ID_MAX + 1], err[256];
	cJSON *obj;

	if (calc__start(s->a, s->id, s, msg, id, sizeof(id), err, sizeof(err))) {
		session__send_error(s, "%s", err);
		return;
	}
	obj = session__json_base("calculation_accepted");
	if (obj && !cJSON_AddStringToObject(obj, "calculation_id", id)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	session__send_json(s, obj);
}

static const char *const subscribe_types[] = {
	"subscribe", "subscribe_symbol", "join_room", "subscribe_notifications"};
static const char *const unsubscribe_types[] = {
	"unsubscribe", "unsubscribe_symbol", "leave_room", "unsubscribe_notifications"};

static bool in_list(const char *type, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(type, list[i]))
			return true;
	}
	return false;
}

/*
 * Dispatches one complete client message. Every refusal is an error reply.
 * Exported for the fuzz harness (tests/fuzz/), which drives it without sockets.
 */
void ws__dispatch(struct session *s, const char *text, size_t len)
{
	const char *type, *token;
	cJSON *msg;

	s->a->stats.messages_received++;
	msg = cJSON_ParseWithLength(text, len);
	if (!msg) {
		session__send_error(s, "malformed JSON");
		return;
	}
	type = rtg_json_get_string(msg, "type");
	if (!cJSON_IsObject(msg) || !type) {
		session__send_error(s, "a message must be a JSON object with a string \"type\"");
	} else if (!strcmp(type, "auth")) {
		token = rtg_json_get_string(msg, "token");
		if (token)
			authenticate(s, token);
		else
			session__send_error(s, "auth needs a string \"token\"");
	} else if (!s->id && !s->anonymous) {
		session__send_error(s, "not authenticated: send {\"type\":\"auth\",\"token\":...}");
	} else if (!strcmp(type, "ping")) {
		handle_ping(s);
	} else if (in_list(type, subscribe_types, 4)) {
		subscribe__request(s, type, msg, false);
	} else if (in_list(type, unsubscribe_types, 4)) {
		subscribe__request(s, type, msg, true);
	} else if (!strcmp(type, "replay")) {
		subscribe__replay(s, msg);
	} else if (!strcmp(type, "publish")) {
		handle_publish(s, msg, text, len);
	} else if (!strcmp(type, "calculate")) {
		handle_calculate(s, msg);
	} else {
		session__send_error(s, "unknown message type '%.64s'", type);
	}
	cJSON_Delete(msg);
}

/*
 * Reassembles fragments up to max_message_size. A bigger message closes the
 * connection with 1009; a binary message is refused with an error.
 */
static int on_receive(struct lws *wsi, struct pss_ws *p, const void *in, size_t len)
{
	char *grown;

	alive(&p->s);
	if (p->s.closing)
		return 0;
	if (limits__too_big(p->s.a, p->rx_len + len)) {
		session__close(&p->s, RTG_CLOSE_TOO_BIG, "message too big");
		return 0;
	}
	grown = realloc(p->rx, p->rx_len + len + 1);
	if (!grown)
		return -1;
	p->rx = grown;
	memcpy(p->rx + p->rx_len, in, len);
	p->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	/* a message refused for the rate got an error, or the connection is closing */
	if (limits__take(&p->s)) {
		if (lws_frame_is_binary(wsi))
			session__send_error(
				&p->s, "binary messages are not supported: send JSON text");
		else
			ws__dispatch(&p->s, p->rx, p->rx_len);
	}
	free(p->rx);
	p->rx = NULL;
	p->rx_len = 0;
	return 0;
}

/* ---- frames out ------------------------------------------------------------------------ */

/* Messages written in one writeable callback, at most: fairness between clients. */
#define WRITE_BUDGET 64
/* Bytes of frames gathered into one write. */
#define WS_CHUNK 65536

/* One thread: one buffer to gather the frames of a write. */
static unsigned char chunk[LWS_PRE + WS_CHUNK];

static void sent_one(struct session *s)
{
	s->a->stats.messages_sent++;
	session__pop(s);
}

/*
 * Writes queued messages as complete frames, gathered into one raw write of
 * at most WS_CHUNK bytes (lws_write with LWS_WRITE_HTTP adds no framing of
 * its own on a WebSocket, and keeps what the socket did not take for the
 * next writeable). A message bigger than the chunk goes alone, from its own
 * buffer. Returns 0, or -1 to close.
 */
static int write_frames(struct lws *wsi, struct session *s)
{
	size_t total = 0, flen;
	unsigned char *f;
	struct out_msg *m;
	int n;

	for (n = 0; n < WRITE_BUDGET && (m = session__peek(s)); n++) {
		f = msg__ws_frame_env(m, s->ep->env, &flen);
		if (!f) { /* out of memory for this endpoint's form: lose it rather than stall */
			session__pop(s);
			s->a->stats.dropped++;
			continue;
		}
		if (total + flen > WS_CHUNK) {
			if (total)
				break;
			if (lws_write(wsi, f, flen, LWS_WRITE_HTTP) < (int)flen)
				return -1;
			sent_one(s);
			return 0;
		}
		memcpy(chunk + LWS_PRE + total, f, flen);
		total += flen;
		sent_one(s);
	}
	if (total && lws_write(wsi, chunk + LWS_PRE, total, LWS_WRITE_HTTP) < (int)total)
		return -1;
	return 0;
}

/* A write straight from a fan-out (core/session.c write_now()): frames only. */
static int ws_flush(struct session *s)
{
	return write_frames(s->wsi, s);
}

/* ---- what the core asks of a WebSocket (struct session_ops) ----------------------------- */

/* An HTTP/2 stream's writes are scheduled by its network connection. */
static bool ws_can_flush(struct session *s)
{
	return !lws_partial_buffered(s->wsi) && lws_get_network_wsi(s->wsi) == s->wsi;
}

const struct session_ops ws__ops = {
	.name = "websocket",
	.flush = ws_flush,
	.can_flush = ws_can_flush,
	.writeable = peer__writeable,
	.close = peer__close, /* the close frame: write_close(), after what is queued */
	.fail = peer__fail,
	.ends_with_event = false,
};

/* Message buffers carry their frame header in the headroom lws_write() needs. */
_Static_assert(MSG_PRE >= LWS_PRE, "core/msg.h MSG_PRE must leave room for LWS_PRE");

/*
 * The close, once what was queued is out. The first time lws is handed the
 * close frame (lws_close_reason, then -1): it writes it and waits for the
 * client's answer, discarding what the client still sends. The next
 * writeable callback comes once the frame has left lws' buffers: then the
 * connection lingers (linger.c). Returning -1 there, as before, had lws close
 * the socket at once, over the client's unread flood: a reset, and a 1006.
 */
static int write_close(struct lws *wsi, struct session *s)
{
	if (s->close_asked) {
		if (lws_partial_buffered(wsi))
			lws_callback_on_writable(wsi);
		else
			linger__start(s);
		return 0;
	}
	s->close_asked = true;
	lws_close_reason(wsi, (enum lws_close_status)s->close_code,
		(unsigned char *)s->close_reason, strlen(s->close_reason));
	return -1;
}

static int on_writeable(struct lws *wsi, struct pss_ws *p)
{
	struct session *s = &p->s;

	if (s->closing &&
		session__has_output(s)) { /* what was queued goes first (session__close()) */
		if (write_frames(wsi, s))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (s->closing)
		return write_close(wsi, s);
	if (s->ping_due) {
		/* not empty: lws 4.1 hands an empty PONG to no callback */
		unsigned char ping[LWS_PRE + 4] = {[LWS_PRE] = 'r', 't', 'g'};

		s->ping_due = false;
		if (lws_write(wsi, ping + LWS_PRE, 3, LWS_WRITE_PING) < 3)
			return -1;
		if (s->ping_at)
			s->ping_at = core__now_us(); /* the answer is awaited from now */
	} else if (write_frames(wsi, s)) {
		return -1;
	}
	if (session__has_output(s))
		lws_callback_on_writable(wsi);
	return 0;
}

/*
 * Before the upgrade is accepted: a known endpoint, an allowed Origin (a page
 * on another site must not ride the user's cookie: cross-site WebSocket
 * hijacking) and room under max_connections. Refusals are plain HTTP.
 */
static int filter_upgrade(struct lws *wsi)
{
	struct adapter *a = lws_context_user(lws_get_context(wsi));
	char path[128], origin[128];

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 ||
		!profile__match(a->prof, path, true, NULL)) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "no WebSocket endpoint here");
		return -1;
	}
	if (peer__origin(a, wsi, origin, sizeof(origin)) == ORIGIN_REFUSED) {
		lwsl_notice("ws: upgrade from origin '%s' refused\n", origin);
		lws_return_http_status(
			wsi, HTTP_STATUS_FORBIDDEN, "origin not allowed (see allowed_origins)");
		return -1;
	}
	if (!limits__capacity(a)) {
		lws_return_http_status(
			wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "server full; try again later");
		return -1;
	}
	return 0;
}

static int callback_ws(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss_ws *p = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return filter_upgrade(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		on_established(wsi, p);
		return 0;
	case LWS_CALLBACK_RECEIVE_PONG:
		alive(&p->s);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return on_receive(wsi, p, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(wsi, p);
	case LWS_CALLBACK_CLOSED:
		linger__end(&p->s);
		if (p->s.core)
			p->s.a->stats.ws_connections--;
		client__end(&p->s);
		free(p->rx);
		p->rx = NULL;
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols ws__protocol = {
	.name = "rtg-ws",
	.callback = callback_ws,
	.per_session_data_size = sizeof(struct pss_ws),
	/*
	 * lws keeps a receive buffer of this size per connection once the
	 * client has sent anything (4 KiB by default). Client messages are
	 * small; a bigger one arrives in pieces that on_receive() joins.
	 */
	.rx_buffer_size = 1024,
	/*
	 * Without this lws cuts every send() to rx_buffer_size: a gathered
	 * write of many frames would go out 1 KiB per event-loop turn, the
	 * rest copied into lws' own buffer first.
	 */
	.tx_packet_size = WS_CHUNK,
};
