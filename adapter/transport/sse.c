/*
 * sse.c - Server-Sent Events: a browser's read-only stream of MQTT messages.
 *
 * A request for an SSE endpoint of the profiles (profiles/gateway.conf: /sse?topic=F,
 * /sse/market-updates, /realtime/sse/calculation/{id}, ...) is authenticated (or
 * anonymous where the endpoint allows it), subscribes what its profile names,
 * checked against the ACL, and becomes a session (session.c) whose queue is
 * written here as "id:/event:/data:" events in the endpoint's envelope, the
 * event: line left out where the profile says "events unnamed". A
 * Last-Event-ID ("<adapter epoch>-<gseq>") resumes from the history or says
 * "gap". It does not route requests (http.c) and reads nothing from the
 * client after the request. lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "reqparse.h"
#include "rtg_topic.h"

#define RETRY_MS 3000
#define SHUTDOWN_JITTER_MS 5000
/* Events are gathered into writes of at most this size (SSE is a byte stream). */
#define CHUNK 16384

enum sse_phase { SSE_NEW, SSE_HEADERS, SSE_LIVE, SSE_ENDED };

static void on_heartbeat(struct wheel_timer *t);

/* ---- the request: who, and what it subscribes ------------------------------------------ */

/*
 * The request's "?topic=" filters (the endpoint's "subscribe ?topic"), each
 * subscribed as the client named it. Returns 0, or an HTTP status with err set.
 */
static int subscribe_query(struct session *s, struct lws *wsi, char *err, size_t errlen)
{
	struct req_target t = {.owner_level = -1};
	char arg[sizeof(t.filter) + 8], *f;
	int i, n, status, count = 0;

	for (i = 0;; i++) {
		n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0 && lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0) {
			snprintf(err, errlen, "a query argument is too long");
			return HTTP_STATUS_BAD_REQUEST;
		}
		if (n < 0)
			break;
		f = reqparse__topic_arg(arg);
		if (!f)
			continue;
		if (!rtg_topic_filter_valid(f)) {
			snprintf(err, errlen,
				"invalid topic filter '%.200s' (percent-encode '+' as "
				"%%2B and '#' as %%23)",
				f);
			return HTTP_STATUS_BAD_REQUEST;
		}
		snprintf(t.filter, sizeof(t.filter), "%s", f);
		snprintf(t.label, sizeof(t.label), "%.*s", (int)sizeof(t.label) - 1, f);
		if (!req__subscribe(s, &t, POLICY_AUTO, NULL, &status, err, errlen))
			return status;
		count++;
	}
	if (!count) {
		snprintf(err, errlen, "%s needs at least one ?topic=FILTER", s->path);
		return HTTP_STATUS_BAD_REQUEST;
	}
	return 0;
}

/*
 * Subscribes what the endpoint's profile names: channels, templates (with
 * the path's parameters) and the query's filters, each checked against the
 * ACL unless it is the user's own namespace. Returns 0, or an HTTP status
 * with err set (the caller cleans the session up).
 */
static int subscribe_endpoint(struct session *s, struct lws *wsi, char *err, size_t errlen)
{
	struct req_target t[REQ_MAX_TARGETS];
	int i, n, status;
	size_t k;

	for (k = 0; k < s->ep->nsubscribe; k++) {
		if (!strcmp(s->ep->subscribe[k], "?topic")) {
			status = subscribe_query(s, wsi, err, errlen);
			if (status)
				return status;
			continue;
		}
		n = req__resolve_line(s, s->ep->subscribe[k], t, REQ_MAX_TARGETS, err, errlen);
		if (n < 0)
			return s->anonymous ? HTTP_STATUS_UNAUTHORIZED : HTTP_STATUS_BAD_REQUEST;
		for (i = 0; i < n; i++) {
			if (!req__subscribe(s, &t[i], POLICY_AUTO, NULL, &status, err, errlen))
				return status;
		}
	}
	return 0;
}

/* ---- the first events ------------------------------------------------------------------ */

/* The messages to replay: every held message of the covered topics newer than since. */
struct replay {
	struct history *h;
	const char *epoch; /* the client's adapter epoch when resuming, else NULL */
	uint64_t since; /* gseq: only newer messages */
	bool gap;
	struct out_msg **scratch; /* history__collect: h->size + 1 slots */
	struct out_msg **list;
	size_t n, cap;
	bool oom;
};

static void replay_topic(struct topic_hist *th, void *arg)
{
	struct replay *r = arg;
	struct out_msg **grown;
	unsigned i, n;

	if (r->epoch && !history__can_resume_gseq(r->h, th, r->epoch, r->since))
		r->gap = true;
	if (th->stale) /* not followed since: the broker sends its value again (a new epoch) */
		return;
	n = history__collect(th, 0, r->scratch);
	for (i = 0; i < n && !r->oom; i++) {
		if (r->scratch[i]->gseq <= r->since)
			continue;
		if (r->n == r->cap) {
			grown = realloc(r->list, (r->cap ? r->cap * 2 : 64) * sizeof(*grown));
			if (!grown) {
				r->oom = true;
				return;
			}
			r->list = grown;
			r->cap = r->cap ? r->cap * 2 : 64;
		}
		r->list[r->n++] = r->scratch[i];
	}
}

static int by_gseq(const void *x, const void *y)
{
	const struct out_msg *a = *(struct out_msg *const *)x, *b = *(struct out_msg *const *)y;

	return a->gseq < b->gseq ? -1 : a->gseq > b->gseq;
}

/*
 * Reads Last-Event-ID (header, or ?last_event_id= since EventSource cannot set
 * headers) and sets where the replay starts. Returns true if one was given.
 * An id of another adapter run (or one that does not parse) means a gap and
 * the full history.
 */
static bool resume_point(struct lws *wsi, struct replay *r, char *id, size_t idlen)
{
	char arg[96];
	const char *v;

	id[0] = '\0';
	if (lws_hdr_custom_copy(wsi, id, (int)idlen, "last-event-id:", 14) <= 0) {
		v = lws_get_urlarg_by_name(wsi, "last_event_id=", arg, sizeof(arg));
		snprintf(id, idlen, "%s", v ? v : "");
	}
	if (!id[0])
		return false;
	r->gap = true;
	if (!reqparse__event_id(id, r->h->epoch, &r->since))
		return true;
	r->epoch = r->h->epoch;
	r->gap = r->h->evicted_gseq > r->since;
	return true;
}

/* The endpoint's greeting, with the topics the stream follows. */
static void send_greeting(struct session *s)
{
	cJSON *obj = s->ep->greeting ? session__json_base(s->ep->greeting) : NULL, *topics;
	struct list_node *d;

	if (!obj)
		return;
	if (!cJSON_AddStringToObject(obj, "status", "connected") ||
		!cJSON_AddStringToObject(obj, "connection_id", s->conn_id) ||
		!(s->id ? cJSON_AddStringToObject(obj, "user_id", s->id->sub)
			: cJSON_AddNullToObject(obj, "user_id")) ||
		(s->id && !cJSON_AddNumberToObject(obj, "expires_at", (double)s->id->exp)) ||
		!(topics = cJSON_AddArrayToObject(obj, "topics")))
		goto error;
	for (d = list_head(&s->subs); d; d = d->next) {
		const struct csub *cs = container_of(d, struct csub, in_sess);

		if (!cJSON_AddItemToArray(topics, cJSON_CreateString(cs->bsub->filter)))
			goto error;
	}
	session__send_json(s, obj);
	return;
error:
	cJSON_Delete(obj);
}

static void send_gap(struct session *s, const char *last_id)
{
	cJSON *obj = session__json_base("gap");

	if (obj &&
		(!cJSON_AddStringToObject(obj, "message", "some messages were lost") ||
			!cJSON_AddStringToObject(obj, "last_event_id", last_id))) {
		cJSON_Delete(obj);
		return;
	}
	session__send_json(s, obj);
}

/*
 * The first events: "connection", then "gap" if a resume cannot be filled,
 * then the held messages of every covered topic in gseq order (so that the id
 * of the last event received is a sound place to resume from). A replay
 * bigger than the send queue keeps its newest part and counts as a gap.
 */
static int greet(struct lws *wsi, struct session *s)
{
	struct adapter *a = s->a;
	struct replay rp = {.h = &a->hist};
	size_t i, first = 0, qmax = (size_t)a->cfg.queue_max_messages;
	char last_id[96];
	bool resuming;
	struct list_node *d;

	rp.scratch = calloc(a->hist.size + 2, sizeof(*rp.scratch));
	if (!rp.scratch)
		return -1;
	resuming = resume_point(wsi, &rp, last_id, sizeof(last_id));
	for (d = list_head(&s->subs); d; d = d->next) {
		const struct csub *cs = container_of(d, struct csub, in_sess);

		history__foreach_match(&a->hist, cs->bsub->filter, replay_topic, &rp);
	}
	free(rp.scratch);
	if (rp.oom) {
		free(rp.list);
		return -1;
	}
	if (rp.n > 1)
		qsort(rp.list, rp.n, sizeof(*rp.list), by_gseq);
	if (rp.n > qmax) {
		first = rp.n - qmax;
		rp.gap = rp.gap || resuming;
	}
	send_greeting(s);
	if (resuming && rp.gap)
		send_gap(s, last_id);
	s->sse_last_gseq = rp.epoch ? rp.since : 0;
	for (i = first; i < rp.n; i++) {
		/* a topic matched by two filters was collected twice */
		if (i > first && rp.list[i]->gseq == rp.list[i - 1]->gseq)
			continue;
		session__enqueue(s, rp.list[i]);
	}
	free(rp.list);
	return 0;
}

/*
 * Starts an SSE stream on this request, for the endpoint of @path: the token
 * (or an anonymous client where the endpoint allows it), the subscriptions
 * its profile names, and the first events. The response headers go out in the
 * first sse__writeable(). Returns 0, or an HTTP status with err set (nothing
 * is left behind: the caller answers with a JSON error).
 */
int sse__handle(struct lws *wsi, struct session *s, const char *path, char *err, size_t errlen)
{
	struct adapter *a = lws_context_user(lws_get_context(wsi));
	const struct prof_endpoint *ep;
	struct rtg_identity *id = NULL;
	enum req_auth auth;
	int status;

	if (a->core.stopping) {
		snprintf(err, errlen, "shutting down; try again later");
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	if (!limits__capacity(a)) {
		snprintf(err, errlen, "server full (%d connections); try again later",
			a->cfg.max_connections);
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	ep = profile__match(a->prof, path, false, NULL);
	if (!ep) {
		snprintf(err, errlen, "unknown SSE endpoint '%.200s'", path);
		return HTTP_STATUS_NOT_FOUND;
	}
	auth = peer__identify(a, wsi, ep->token_optional, &id, err, errlen);
	if (auth == REQ_AUTH_MISSING || auth == REQ_AUTH_BAD)
		return HTTP_STATUS_UNAUTHORIZED;
	session__init(&a->core, s, &sse__ops, wsi, a);
	a->stats.sse_connections++;
	s->anonymous = auth == REQ_AUTH_ANONYMOUS;
	status = client__set_endpoint(s, a->prof, path, false) ? HTTP_STATUS_INTERNAL_SERVER_ERROR
							       : 0;
	if (status) {
		rtg_identity_free(id);
		snprintf(err, errlen, "out of memory");
	}
	/* takes id (a fresh session cannot refuse it: no previous subject) */
	if (!status && id && client__set_identity(s, id) == CLIENT_USER_LIMIT) {
		snprintf(err, errlen, "too many connections for this user (at most %d)",
			a->cfg.max_connections_per_user);
		status = RTG_HTTP_TOO_MANY_REQUESTS;
	}
	if (!status)
		status = subscribe_endpoint(s, wsi, err, errlen);
	if (!status && greet(wsi, s)) {
		snprintf(err, errlen, "out of memory");
		status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
	}
	if (status) {
		sse__end(s);
		return status;
	}
	timers__schedule(&a->core.wheel, &s->t_beat, on_heartbeat,
		(int64_t)a->cfg.sse_heartbeat * US_PER_SEC);
	lws_callback_on_writable(wsi);
	return 0;
}

/* ---- writing the stream ----------------------------------------------------------------- */

/* One thread: one buffer to gather the events of a write. */
static unsigned char chunk[LWS_PRE + CHUNK];

/*
 * From here the request is an open-ended stream without a timeout.
 * lws_http_mark_sse() logs an error on h1, where it only does what follows.
 */
static void mark_stream(struct lws *wsi)
{
	if (lws_get_network_wsi(wsi) != wsi) {
		lws_http_mark_sse(wsi);
		return;
	}
	if (lws_http_headers_detach(wsi))
		lwsl_info("sse: request headers not released\n");
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
}

static int write_headers(struct session *s)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf) - 1;
	struct lws *wsi = s->wsi;

	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream",
		    LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
		lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
			(const unsigned char *)"no-cache", 8, &p, end) ||
		lws_add_http_header_by_name(wsi, (const unsigned char *)"x-accel-buffering:",
			(const unsigned char *)"no", 2, &p, end) ||
		(s->cors_origin &&
			(lws_add_http_header_by_token(wsi,
				 WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN,
				 (const unsigned char *)s->cors_origin, (int)strlen(s->cors_origin),
				 &p, end) ||
				lws_add_http_header_by_name(wsi,
					(const unsigned char *)"access-control-allow-credentials:",
					(const unsigned char *)"true", 4, &p, end) ||
				lws_add_http_header_by_name(wsi, (const unsigned char *)"vary:",
					(const unsigned char *)"Origin", 6, &p, end))) ||
		lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	mark_stream(wsi);
	s->sse_phase = SSE_HEADERS;
	lws_callback_on_writable(wsi);
	return 0;
}

/*
 * The id: line of an event: data messages carry "<adapter epoch>-<gseq>"; the
 * final auth_expired or auth_revoked event repeats the last one, the place to
 * resume from.
 */
static const char *event_id(const struct session *s, const struct out_msg *m, char *buf, size_t len)
{
	uint64_t gseq = m->gseq;

	if (!gseq && (!strcmp(m->type, "auth_expired") || !strcmp(m->type, "auth_revoked")))
		gseq = s->sse_last_gseq;
	if (!gseq)
		return NULL;
	snprintf(buf, len, "%s-%llu", s->a->hist.epoch, (unsigned long long)gseq);
	return buf;
}

static void written(struct session *s, const struct out_msg *m)
{
	if (m->gseq > s->sse_last_gseq)
		s->sse_last_gseq = m->gseq;
	s->a->stats.messages_sent++;
	session__pop(s);
}

/*
 * Writes the retry hint (once), a due heartbeat and as many queued events as
 * fit in one CHUNK. An event bigger than CHUNK goes alone, from its own buffer.
 */
static int write_events(struct session *s)
{
	char *out = (char *)chunk + LWS_PRE, id[64];
	size_t n = 0, len;
	unsigned char *ev;
	struct out_msg *m;

	if (s->sse_phase == SSE_HEADERS) {
		n += (size_t)snprintf(out, CHUNK, "retry: %d\n\n", RETRY_MS);
		s->sse_phase = SSE_LIVE;
	}
	if (s->sse_heartbeat_due) {
		n += (size_t)snprintf(
			out + n, CHUNK - n, ": heartbeat %lld\n\n", (long long)time(NULL));
		s->sse_heartbeat_due = false;
	}
	while ((m = session__peek(s))) {
		ev = msg__sse_env(m, s->ep->env, !s->ep->events_unnamed,
			event_id(s, m, id, sizeof(id)), &len);
		if (!ev) {
			session__pop(s); /* out of memory: lose this one rather than stall */
			continue;
		}
		if (n + len > CHUNK && n)
			break;
		if (n + len > CHUNK) {
			if (lws_write(s->wsi, ev + MSG_PRE, len, LWS_WRITE_HTTP) < (int)len)
				return -1;
			written(s, m);
			break;
		}
		memcpy(out + n, ev + MSG_PRE, len);
		n += len;
		written(s, m);
	}
	if (n && lws_write(s->wsi, (unsigned char *)out, n, LWS_WRITE_HTTP) < (int)n)
		return -1;
	if (session__has_output(s) || s->closing)
		lws_callback_on_writable(s->wsi);
	return 0;
}

/*
 * Ends the stream. At shutdown (1001) a last "retry:" spreads the reconnects
 * of all clients over RETRY_MS + 0..SHUTDOWN_JITTER_MS.
 */
static int end_stream(struct session *s)
{
	char *out = (char *)chunk + LWS_PRE;
	unsigned int r = 0;
	int n;

	s->sse_phase = SSE_ENDED;
	if (s->close_code == RTG_CLOSE_GOING_AWAY) {
		if (lws_get_random(s->a->ctx, &r, sizeof(r)) != sizeof(r))
			r = (unsigned int)rand();
		n = snprintf(out, CHUNK, "retry: %u\n\n", RETRY_MS + r % (SHUTDOWN_JITTER_MS + 1));
		if (lws_write(s->wsi, (unsigned char *)out, (size_t)n, LWS_WRITE_HTTP) < n)
			return -1;
	}
	return lws_http_transaction_completed(s->wsi) ? -1 : 0;
}

/*
 * LWS_CALLBACK_HTTP_WRITEABLE of a stream: headers first, then events. A
 * close first flushes what is queued (for an expired token (4001) that ends
 * with the auth_expired event); session__close() has already released the
 * queue of a slow consumer.
 */
int sse__writeable(struct session *s)
{
	switch (s->sse_phase) {
	case SSE_NEW:
		return s->closing ? -1 : write_headers(s);
	case SSE_ENDED:
		return -1;
	default:
		break;
	}
	if (s->closing && !session__has_output(s))
		return end_stream(s);
	return write_events(s);
}

/*
 * A write straight from a fan-out (session.c): events of a live HTTP/1 stream
 * only; headers, the stream's end and HTTP/2 streams (scheduled by their
 * network connection) wait for the writeable callback. 1: nothing written.
 */
static int sse_flush(struct session *s)
{
	if (s->sse_phase != SSE_LIVE || lws_get_network_wsi(s->wsi) != s->wsi)
		return 1;
	return write_events(s);
}

/* The stream's heartbeat timer: a heartbeat is due; the timer re-arms. */
static void on_heartbeat(struct wheel_timer *t)
{
	struct session *s = container_of(t, struct session, t_beat);

	if (!s->core || s->sse_phase == SSE_ENDED)
		return;
	s->sse_heartbeat_due = true;
	lws_callback_on_writable(s->wsi);
	timers__schedule(&s->core->wheel, &s->t_beat, on_heartbeat,
		(int64_t)s->a->cfg.sse_heartbeat * US_PER_SEC);
}

/* ---- what the core asks of a stream (struct session_ops) -------------------------------- */

static bool sse_can_flush(struct session *s)
{
	return !lws_partial_buffered(s->wsi);
}

const struct session_ops sse__ops = {
	.name = "sse",
	.flush = sse_flush,
	.can_flush = sse_can_flush,
	.writeable = peer__writeable,
	.close = peer__close, /* the stream's end: end_stream(), after what is queued */
	.fail = peer__fail,
	.ends_with_event = true, /* no close code: auth_expired, auth_revoked say why */
};

/* The stream is gone (or was refused before it began): safe on any session, twice. */
void sse__end(struct session *s)
{
	if (s->core)
		s->a->stats.sse_connections--;
	free(s->cors_origin);
	s->cors_origin = NULL;
	client__end(s);
}
