/*
 * calcs.c - calculations: starting one for a user (WebSocket "calculate" and
 * POST /api/calculations alike), and the ones a WebSocket session waits for,
 * each with a deadline: if no update arrives for calc_timeout seconds (a
 * worker was killed mid-calculation, or none is running), the client gets a
 * calculation_update with status "failed" instead of waiting forever.
 *
 * A calculation's topics are calc/<sub>~<id>/request and .../progress: the
 * subject in the topic keeps users apart without state in the adapter, so a
 * client can never pick another user's id. Every update relayed to the
 * session re-arms its deadline; "completed" or "failed" ends the wait. It
 * does not retry a calculation (a request may have side effects the adapter
 * cannot judge) nor tell the broker of a timeout.
 * One thread only: the event loop's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_log.h"
#include "rtg_json.h"
#include "rtg_topic.h"

/* ==== starting one ========================================================================= */

_Static_assert(CALC_ID_MAX == 64, "CALC_ID_RULE (calcs.h) says 64");

/*
 * Ids the caller picks end up in a topic level and in a URL: keep them plain.
 * Following a calculation (request.c) applies the same rule, so an id that
 * could not have been started is refused there too, on every transport.
 */
bool calc__id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n && n <= CALC_ID_MAX &&
		strspn(id,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789_-") == n;
}

/* calc/<sub>~<id>/<leaf>; -1 if sub cannot be one topic level. */
static int calc_topic(const char *sub, const char *id, const char *leaf, char *buf, size_t len)
{
	int n;

	if (!rtg_topic_level_valid(sub, RTG_TOPIC_LEVEL_MAX))
		return -1;
	n = snprintf(buf, len, "calc/%s~%s/%s", sub, id, leaf);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The request a calc worker reads; free with rtg_json_free(). NULL on out of memory. */
static char *request_text(const char *id, const char *kind, const cJSON *params, const char *sub)
{
	cJSON *req = cJSON_CreateObject();
	char *text = NULL, ts[40];

	if (req && cJSON_AddStringToObject(req, "type", "calculate") &&
		cJSON_AddStringToObject(req, "calculation_id", id) &&
		cJSON_AddStringToObject(req, "calculation_type", kind) &&
		cJSON_AddItemToObject(req, "parameters",
			params ? cJSON_Duplicate(params, true) : cJSON_CreateObject()) &&
		cJSON_AddStringToObject(req, "user_id", sub) &&
		cJSON_AddStringToObject(req, "requested_at", session__iso_time(ts, sizeof(ts))))
		text = rtg_json_print(req, NULL);
	cJSON_Delete(req);
	return text;
}

/* Checks the request and fills idbuf (the given id, or a new one). Returns 0 or a status. */
static int check_request(struct adapter *a, const struct rtg_identity *id, const cJSON *msg,
	char *idbuf, size_t idlen, char *err, size_t errlen)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "calculation_type");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "parameters");
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "calculation_id");

	if (!id) {
		snprintf(err, errlen, "calculations are for signed-in users: connect with a token");
		return HTTP_STATUS_FORBIDDEN;
	}
	if (!cJSON_IsString(kind) ||
		!rtg_topic_level_valid(kind->valuestring, RTG_TOPIC_LEVEL_MAX) ||
		(params && !cJSON_IsObject(params))) {
		snprintf(err, errlen,
			"calculate needs a \"calculation_type\" and an object \"parameters\"");
		return HTTP_STATUS_BAD_REQUEST;
	}
	if (cid && (!cJSON_IsString(cid) || !calc__id_ok(cid->valuestring))) {
		snprintf(err, errlen, "\"calculation_id\" must be " CALC_ID_RULE);
		return HTTP_STATUS_BAD_REQUEST;
	}
	if (cid)
		snprintf(idbuf, idlen, "%s", cid->valuestring);
	else
		snprintf(idbuf, idlen, "c%s%llu", a->hist.epoch,
			(unsigned long long)++a->hist.next_id);
	if (!a->core.broker->up(a)) {
		snprintf(err, errlen, "the broker is not available; try again");
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	return 0;
}

static int watch(struct session *s, const char *id);
static void on_progress(struct csub *cs, const struct out_msg *m);

/*
 * Starts a calculation for user id: publishes the request to
 * calc/<sub>~<id>/request and, for a session (NULL for HTTP, whose caller
 * follows the progress over SSE), follows its progress and waits for it.
 * First the progress topic's retained last state is cleared, before the
 * subscription and the request go out on the same broker connection (MQTT
 * keeps their order): a calculation_id used again never answers with the
 * previous calculation's "completed". Returns 0 with the id in idbuf, or an
 * HTTP status with err set.
 */
int calc__start(struct adapter *a, const struct rtg_identity *id, struct session *s,
	const cJSON *msg, char *idbuf, size_t idlen, char *err, size_t errlen)
{
	char req[512], progress[512], *text;
	struct csub *cs;
	int status;

	status = check_request(a, id, msg, idbuf, idlen, err, errlen);
	if (status)
		return status;
	if (calc_topic(id->sub, idbuf, "request", req, sizeof(req)) ||
		calc_topic(id->sub, idbuf, "progress", progress, sizeof(progress))) {
		snprintf(err, errlen, "your user id cannot be used in a topic");
		return HTTP_STATUS_BAD_REQUEST;
	}
	text = request_text(idbuf,
		cJSON_GetObjectItemCaseSensitive(msg, "calculation_type")->valuestring,
		cJSON_GetObjectItemCaseSensitive(msg, "parameters"), id->sub);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return HTTP_STATUS_INTERNAL_SERVER_ERROR;
	}
	status = a->core.broker->publish(a, progress, "", 0, true);
	if (!status && s && !subs__find(s, progress, NULL)) {
		cs = subs__add(&a->core, s, progress, idbuf, POLICY_QUEUE);
		if (cs) {
			cs->system = true;
			cs->on_delivered = on_progress;
		}
	}
	if (!status)
		status = a->core.broker->publish(a, req, text, strlen(text), false);
	rtg_json_free(text);
	if (status) {
		snprintf(err, errlen, "the broker is not available; try again");
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	if (s && watch(s, idbuf)) {
		snprintf(err, errlen, "out of memory");
		return HTTP_STATUS_INTERNAL_SERVER_ERROR;
	}
	return 0;
}

/* ==== waiting for one ===================================================================== */

struct calc_wait {
	struct session *s;
	struct wheel_timer timer; /* the deadline */
	struct list_node in_sess; /* session.calcs */
	char id[128];
};

static struct calc_wait *find(struct session *s, const char *id)
{
	struct list_node *d;

	for (d = list_head(&s->calcs); d; d = d->next) {
		struct calc_wait *w = container_of(d, struct calc_wait, in_sess);

		if (!strcmp(w->id, id))
			return w;
	}
	return NULL;
}

static void drop(struct calc_wait *w)
{
	timers__cancel(&w->timer);
	list_remove(&w->in_sess);
	free(w);
}

static void on_timeout(struct wheel_timer *t)
{
	struct calc_wait *w = container_of(t, struct calc_wait, timer);
	struct session *s = w->s;
	cJSON *obj = session__json_base("calculation_update");
	char text[160];

	snprintf(text, sizeof(text), "timed out: no update from a calculation worker for %d s",
		s->a->cfg.calc_timeout);
	s->a->stats.calc_timeouts++;
	if (obj &&
		(!cJSON_AddStringToObject(obj, "calculation_id", w->id) ||
			!cJSON_AddStringToObject(obj, "status", "failed") ||
			!cJSON_AddStringToObject(obj, "message", text) ||
			!cJSON_AddStringToObject(obj, "error", text))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	rtg_notice("calculation %s of %s: %s\n", w->id, s->id ? s->id->sub : "?", text);
	drop(w);
	session__send_json(s, obj);
}

static void arm(struct calc_wait *w)
{
	struct session *s = w->s;

	timers__schedule(&s->core->wheel, &w->timer, on_timeout,
		(int64_t)s->a->cfg.calc_timeout * US_PER_SEC);
}

/*
 * Starts (or restarts, for a repeated id) the wait for calculation id.
 * Returns 0, or -1 on out of memory.
 */
static int watch(struct session *s, const char *id)
{
	struct calc_wait *w = find(s, id);

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		w->s = s;
		snprintf(w->id, sizeof(w->id), "%s", id);
		list_add_tail(&w->in_sess, &s->calcs);
	}
	arm(w);
	return 0;
}

/*
 * An update m was queued through the progress subscription calc__start()
 * made (csub.on_delivered; its label is the calculation id): a final one ends
 * the wait, any other re-arms it.
 */
static void on_progress(struct csub *cs, const struct out_msg *m)
{
	struct calc_wait *w = find(cs->sess, cs->label);

	if (!w)
		return;
	if (m->final)
		drop(w);
	else
		arm(w);
}

void calc__unwatch_all(struct session *s)
{
	struct list_node *d, *d1;

	for (d = list_head(&s->calcs); d; d = d1) {
		d1 = d->next;
		drop(container_of(d, struct calc_wait, in_sess));
	}
}
