/*
 * sub_ws.c - rtg-sub's WebSocket mode and its lws protocol callback: the
 * MESSAGE arguments sent in order once connected, every message received
 * printed, the server's close reported. With --reconnect it remembers the
 * last position (epoch, seq) seen on each topic, and a topic subscribe sent
 * again asks to resume from it ("since"), through a wildcard too.
 *
 * The callback passes the HTTP reasons of SSE mode to sub_sse.c, and the
 * lifecycle (connect, backoff, finish) is rtg_sub.c's. It understands no
 * more of the protocol than "since" needs. lws thread only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sub.h"

/* ==== Positions for "since" =================================================================== */

/* Says whether MQTT @topic matches @filter ('+' one level, '#' the rest, '$' topics apart). */
static bool topic_matches(const char *f, const char *t)
{
	if ((*f == '+' || *f == '#') && *t == '$')
		return false;
	for (;;) {
		if (*f == '#')
			return true;
		if (*f == '+') {
			f++;
			while (*t && *t != '/')
				t++;
		} else {
			while (*f && *f != '/' && *f == *t) {
				f++;
				t++;
			}
			if ((*f && *f != '/') || (*t && *t != '/'))
				return false;
		}
		if (!*f || !*t)
			return !*f ? !*t : !strcmp(f, "/#");
		f++;
		t++;
	}
}

/* Finds @topic's position, adding it when @add (unless the table is full). NULL if none. */
static struct position *position_of(struct sub *s, const char *topic, bool add)
{
	size_t lo = 0, hi = s->npos, mid;
	struct position *p;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(s->pos[mid].topic, topic);
		if (!cmp)
			return &s->pos[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!add || s->npos >= RTG_SUB_MAX_TOPICS) {
		if (add && !s->pos_full_warned)
			fprintf(stderr, "rtg-sub: over %d topics: no \"since\" for more\n",
				RTG_SUB_MAX_TOPICS);
		s->pos_full_warned |= add;
		return NULL;
	}
	if (s->npos == s->cappos) {
		p = realloc(s->pos, (s->cappos ? 2 * s->cappos : 64) * sizeof(*p));
		if (!p)
			return NULL;
		s->pos = p;
		s->cappos = s->cappos ? 2 * s->cappos : 64;
	}
	p = &s->pos[lo];
	memmove(p + 1, p, (s->npos - lo) * sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->topic = strdup(topic);
	if (!p->topic) {
		memmove(p, p + 1, (s->npos - lo) * sizeof(*p));
		return NULL;
	}
	s->npos++;
	return p;
}

/* Remembers the position of one message {"topic":..,"epoch":..,"seq":..}. */
static void remember_one(struct sub *s, const cJSON *msg)
{
	const cJSON *topic = cJSON_GetObjectItemCaseSensitive(msg, "topic");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(msg, "seq");
	const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(msg, "epoch");
	struct position *p;
	cJSON *copy;

	if (!cJSON_IsString(topic) || !cJSON_IsNumber(seq) || !epoch)
		return;
	p = position_of(s, topic->valuestring, true);
	if (!p)
		return;
	if (p->epoch && cJSON_Compare(p->epoch, epoch, true)) {
		if (seq->valuedouble > p->seq)
			p->seq = seq->valuedouble;
		return;
	}
	/* A new epoch: the adapter restarted that topic's history; start over. */
	copy = cJSON_Duplicate(epoch, true);
	if (!copy)
		return;
	cJSON_Delete(p->epoch);
	p->epoch = copy;
	p->seq = seq->valuedouble;
}

/* Remembers positions from a message and from the messages of a "history" reply. */
static void remember_positions(struct sub *s, const cJSON *msg)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(msg, "messages"), *m;

	remember_one(s, msg);
	cJSON_ArrayForEach(m, list) {
		remember_one(s, m);
	}
}

static cJSON *position_json(const struct position *p)
{
	cJSON *obj = cJSON_CreateObject(), *epoch = cJSON_Duplicate(p->epoch, true);

	if (!obj || !epoch || !cJSON_AddItemToObject(obj, "epoch", epoch)) {
		cJSON_Delete(epoch);
		cJSON_Delete(obj);
		return NULL;
	}
	if (!cJSON_AddNumberToObject(obj, "seq", p->seq)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/*
 * Builds "since" for a subscription to @filter: {"epoch":E,"seq":N} for a
 * plain topic seen before, {"<topic>":{"epoch":E,"seq":N},...} over the topics
 * seen that a wildcard filter matches. NULL when nothing was seen (or no memory).
 */
static cJSON *since_for(struct sub *s, const char *filter)
{
	struct position *p;
	cJSON *map, *one;
	size_t i;

	if (!strpbrk(filter, "+#")) {
		p = position_of(s, filter, false);
		return p && p->epoch ? position_json(p) : NULL;
	}
	map = cJSON_CreateObject();
	for (i = 0; map && i < s->npos; i++) {
		p = &s->pos[i];
		if (!p->epoch || !topic_matches(filter, p->topic))
			continue;
		one = position_json(p);
		if (!one || !cJSON_AddItemToObject(map, p->topic, one)) {
			cJSON_Delete(one);
			cJSON_Delete(map);
			return NULL;
		}
	}
	if (map && !map->child) {
		cJSON_Delete(map);
		map = NULL;
	}
	return map;
}

static void run_free(struct gap_run *r)
{
	free(r->topic);
	free(r->epoch);
}

void sub__resume_free(struct sub *s)
{
	size_t i;

	for (i = 0; i < s->npos; i++) {
		free(s->pos[i].topic);
		cJSON_Delete(s->pos[i].epoch);
	}
	free(s->pos);
	while (s->nreplays)
		run_free(&s->replays[--s->nreplays]);
	free(s->replays);
}

/* ==== WebSocket =============================================================================== */

static bool is_type(const cJSON *obj, const char *type)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");

	return cJSON_IsString(t) && !strcmp(t->valuestring, type);
}

/*
 * A gap notice: messages the server dropped because this client fell behind.
 * Said on stderr; when the server still holds them ("fillable"), the run is
 * kept for send_replay(), which asks for it (with any other runs of the
 * topic noted meanwhile: one request, not one per notice). The messages come
 * back in a "history" message with "replay":true, after the newer ones
 * already on their way.
 */
static void on_gap(struct sub *s, const cJSON *gap)
{
	const cJSON *topic = cJSON_GetObjectItemCaseSensitive(gap, "topic");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(gap, "from");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(gap, "to");
	const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(gap, "epoch");
	bool fillable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gap, "fillable"));
	struct gap_run *r;

	if (!cJSON_IsString(topic) || !cJSON_IsNumber(from) || !cJSON_IsNumber(to) ||
		!cJSON_IsString(epoch))
		return;
	fprintf(stderr, "rtg-sub: gap on %s: seq %.0f..%.0f dropped by the server%s\n",
		topic->valuestring, from->valuedouble, to->valuedouble,
		fillable ? "; asking for a replay" : " and no longer held");
	if (!fillable)
		return;
	if (s->nreplays == s->capreplays) {
		size_t cap = s->capreplays ? s->capreplays * 2 : 8;

		r = realloc(s->replays, cap * sizeof(*r));
		if (!r)
			return;
		s->replays = r;
		s->capreplays = cap;
	}
	r = &s->replays[s->nreplays];
	r->topic = strdup(topic->valuestring);
	r->epoch = strdup(epoch->valuestring);
	r->from = from->valuedouble;
	r->to = to->valuedouble;
	if (!r->topic || !r->epoch) {
		run_free(r);
		return;
	}
	s->nreplays++;
	if (s->wsi)
		lws_callback_on_writable(s->wsi);
}

/* The answer to a replay request: a "history" with "replay":true and "from". */
static bool is_replay_answer(const cJSON *obj)
{
	return is_type(obj, "history") &&
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "replay")) &&
		cJSON_HasObjectItem(obj, "from");
}

/* A replay request was answered (or refused): the next may go. */
static void replay_answered(struct sub *s)
{
	s->replay_asked = false;
	if (s->nreplays && s->wsi)
		lws_callback_on_writable(s->wsi);
}

/*
 * The exit status an error message stands for: 3 when it says the connection
 * is not authenticated, 4 when a subscribe was refused ("cannot subscribe to
 * 'f': not allowed by the ACL", "... not allowed to anonymous clients"), else
 * 0 (other errors leave the connection as it is, and so does rtg-sub). The
 * protocol's errors carry no code, so their text is what there is to go by.
 */
static int refusal_of(const cJSON *obj)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "message"));
	const char *why;

	if (!m || !is_type(obj, "error"))
		return 0;
	if (!strncmp(m, "not authenticated", 17))
		return RTG_SUB_EXIT_AUTH;
	if (strncmp(m, "cannot subscribe to '", 21) || !(why = strstr(m, "': ")))
		return 0;
	why += 3;
	if (!strncmp(why, "not authenticated", 17))
		return RTG_SUB_EXIT_AUTH;
	return strncmp(why, "not allowed", 11) ? 0 : RTG_SUB_EXIT_DENIED;
}

/* Handles one whole message in s->rx. */
static int on_ws_message(struct sub *s, bool binary)
{
	bool first = s->greeting_pending;
	cJSON *obj = NULL;
	char note[64];
	int refusal;

	s->greeting_pending = false;
	if (!first) /* past the greeting: the server is serving, start the backoff over */
		s->backoff_ms = 1000;
	if (binary) {
		snprintf(note, sizeof(note), "{\"type\":\"_binary\",\"length\":%zu}", s->rx.len);
		sub__print_text(note, strlen(note));
		return sub__count_line(s);
	}
	if (s->o.reconnect || (first && s->o.quiet) ||
		memmem(s->rx.p, s->rx.len, "\"type\":\"gap\"", 12) ||
		memmem(s->rx.p, s->rx.len, "\"type\":\"error\"", 14) ||
		(s->replay_asked && memmem(s->rx.p, s->rx.len, "\"replay\":true", 13)))
		obj = cJSON_ParseWithLength(s->rx.p, s->rx.len);
	if (obj && s->o.reconnect)
		remember_positions(s, obj);
	if (is_type(obj, "gap"))
		on_gap(s, obj);
	else if (s->replay_asked && (is_replay_answer(obj) || is_type(obj, "error")))
		replay_answered(s);
	if (first && s->o.quiet && is_type(obj, "connection")) {
		cJSON_Delete(obj);
		return 0;
	}
	refusal = refusal_of(obj);
	cJSON_Delete(obj);
	sub__print_text(s->rx.p, s->rx.len);
	if (refusal) {
		fprintf(stderr, "rtg-sub: %s\n",
			refusal == RTG_SUB_EXIT_AUTH ? "not authenticated" : "subscribe refused");
		sub__finish(s, refusal);
		return -1;
	}
	return sub__count_line(s);
}

/*
 * Collects the fragments of a message (up to 16 MiB). It never returns -1:
 * lws 4.1.6 does not reset its rx buffer then and overruns it with the bytes
 * still to parse; sub__finish() closes from WRITEABLE instead, and what arrives
 * meanwhile is dropped.
 */
static int on_ws_receive(struct sub *s, struct lws *wsi, const void *in, size_t len)
{
	if (s->done)
		return 0;
	if (sub__buf_append(&s->rx, in, len, RTG_SUB_MAX_MESSAGE)) {
		fprintf(stderr, "rtg-sub: message over %u bytes or out of memory\n",
			RTG_SUB_MAX_MESSAGE);
		s->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
		sub__finish(s, RTG_SUB_EXIT_ERROR);
		return 0;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	(void)on_ws_message(s, lws_frame_is_binary(wsi));
	s->rx.len = 0;
	return 0;
}

/*
 * The text of outgoing message @k: the MESSAGE as given, except that a topic
 * subscribe gets "since" from the positions seen (replacing any it had).
 * Returns a cJSON-allocated string (cJSON_free) in *printed, or the argument
 * itself (borrowed) when nothing is added.
 */
static const char *outgoing_text(struct sub *s, int k, char **printed)
{
	cJSON *obj = NULL, *since = NULL, *topic;
	const char *msg;

	*printed = NULL;
	if (k < 0) {
		obj = cJSON_CreateObject();
		if (obj && cJSON_AddStringToObject(obj, "type", "auth") &&
			cJSON_AddStringToObject(obj, "token", s->o.token))
			*printed = cJSON_PrintUnformatted(obj);
		cJSON_Delete(obj);
		return *printed;
	}
	msg = s->o.messages[k];
	if (s->npos)
		obj = cJSON_Parse(msg);
	topic = cJSON_GetObjectItemCaseSensitive(obj, "topic");
	if (is_type(obj, "subscribe") && cJSON_IsString(topic))
		since = since_for(s, topic->valuestring);
	if (since) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "since");
		if (cJSON_AddItemToObject(obj, "since", since))
			*printed = cJSON_PrintUnformatted(obj);
		else
			cJSON_Delete(since);
	}
	cJSON_Delete(obj);
	return *printed ? *printed : msg;
}

/* Writes one text frame; returns 0 or -1 (reported). */
static int write_text(struct lws *wsi, const char *text)
{
	size_t len = strlen(text);
	unsigned char *frame = malloc(LWS_PRE + len);
	int rc = 0;

	if (!frame) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		return -1;
	}
	memcpy(frame + LWS_PRE, text, len);
	if (lws_write(wsi, frame + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len) {
		fprintf(stderr, "rtg-sub: write failed\n");
		rc = -1;
	}
	free(frame);
	return rc;
}

static const char *req_topic(const cJSON *req)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "topic"));
}

static const char *req_epoch(const cJSON *req)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "epoch"));
}

/* Up to this many runs go in one replay request (the adapter's limit). */
#define REPLAY_MAX_RUNS 64

/*
 * Sends one "replay" request for the oldest run on_gap() kept and every other
 * kept run of the same topic and epoch (they are in seq order), if any and if
 * no request is awaiting its answer: one at a time, so a client far behind
 * asks for many runs at once rather than running into the rate limit.
 */
static int send_replay(struct sub *s, struct lws *wsi)
{
	cJSON *req, *runs, *run;
	size_t i, kept = 0, n = 0;
	char *text = NULL;
	int rc = -1;

	if (!s->nreplays || s->replay_asked)
		return 0;
	req = cJSON_CreateObject();
	runs = cJSON_AddArrayToObject(req, "runs");
	if (!runs || !cJSON_AddStringToObject(req, "type", "replay") ||
		!cJSON_AddStringToObject(req, "topic", s->replays[0].topic) ||
		!cJSON_AddStringToObject(req, "epoch", s->replays[0].epoch))
		goto out;
	for (i = 0; i < s->nreplays && n < REPLAY_MAX_RUNS; i++) {
		const struct gap_run *r = &s->replays[i];

		if (strcmp(r->topic, s->replays[0].topic) || strcmp(r->epoch, s->replays[0].epoch))
			continue;
		run = cJSON_CreateArray();
		if (!run || !cJSON_AddItemToArray(runs, run) ||
			!cJSON_AddItemToArray(run, cJSON_CreateNumber(r->from)) ||
			!cJSON_AddItemToArray(run, cJSON_CreateNumber(r->to)))
			goto out;
		n++;
	}
	text = cJSON_PrintUnformatted(req);
	if (!text)
		goto out;
	rc = write_text(wsi, text);
	s->replay_asked = !rc;
	/* forget the n runs asked for; the others keep their order */
	for (i = 0; i < s->nreplays; i++) {
		struct gap_run *r = &s->replays[i];

		if (n && !strcmp(r->topic, req_topic(req)) && !strcmp(r->epoch, req_epoch(req))) {
			run_free(r);
			n--;
		} else {
			s->replays[kept++] = *r;
		}
	}
	s->nreplays = kept;
out:
	cJSON_free(text);
	cJSON_Delete(req);
	return rc;
}

/* Sends the next MESSAGE (the auth message first with --auth-message). */
static int send_next(struct sub *s, struct lws *wsi)
{
	const char *text;
	char *printed;
	int rc;

	if (s->next_out >= s->o.nmessages)
		return send_replay(s, wsi);
	text = outgoing_text(s, s->next_out, &printed);
	if (!text) {
		fprintf(stderr, "rtg-sub: out of memory\n");
		sub__finish(s, RTG_SUB_EXIT_ERROR);
		return -1;
	}
	rc = write_text(wsi, text);
	cJSON_free(printed);
	if (!rc && (++s->next_out < s->o.nmessages || s->nreplays))
		lws_callback_on_writable(wsi);
	return rc;
}

/* The server's close frame: 2 bytes of code (network order), then the reason. */
static void on_peer_close(struct sub *s, const unsigned char *in, size_t len)
{
	char reason[128];
	size_t n = len > 2 ? len - 2 : 0;

	if (n >= sizeof(reason))
		n = sizeof(reason) - 1;
	memcpy(reason, len > 2 ? in + 2 : in, n);
	reason[n] = '\0';
	s->peer_close = len >= 2 ? (in[0] << 8) | in[1] : 1005;
	sub__report_close(s->peer_close, reason);
	s->close_seen = true;
}

/* The WebSocket closed, after the server's close frame or without one. */
static void on_ws_closed(struct sub *s)
{
	if (sub__connection_gone(s))
		return;
	if (!s->close_seen)
		sub__report_close(1006, "connection lost");
	if (s->peer_close == RTG_SUB_CLOSE_AUTH) /* asking again would be refused again */
		sub__finish(s, RTG_SUB_EXIT_AUTH);
	else
		sub__on_end(s, RTG_SUB_EXIT_CLOSED);
}

/* ==== The lws callback ======================================================================== */

static int callback_sub(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct sub *s = lws_context_user(lws_get_context(wsi));
	char buf[4096 + LWS_PRE], *px = buf + LWS_PRE;
	int n = sizeof(buf) - LWS_PRE;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return sub__append_headers(
			s, wsi, (unsigned char **)in, *(unsigned char **)in + len);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		s->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		sub__on_connect_error(s, in ? (const char *)in : NULL);
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		s->established = true;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (s->done) {
			lws_close_reason(wsi, (enum lws_close_status)s->close_code, NULL, 0);
			return -1;
		}
		return send_next(s, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_ws_receive(s, wsi, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		on_peer_close(s, in, len);
		return 0; /* lws echoes the close */
	case LWS_CALLBACK_CLIENT_CLOSED:
		on_ws_closed(s);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		return lws_http_client_read(wsi, &px, &n) < 0 ? -1 : 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return sub__on_http_read(s, in, len);
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		sub__on_http_done(s);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols sub__protocols[] = {
	{"rtg-sub", callback_sub, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};
