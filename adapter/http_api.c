/*
 * http_api.c - the JSON API behind http.c: POST /api/publish,
 * /api/broadcast/<kind> and /api/calculations, and GET /api/stats,
 * /ws/stats and /metrics.
 *
 * A POST is checked (Content-Length, token, role) before its body is read,
 * then parsed and handled when the body is complete; publishes go through the
 * same ACL check and broker path as a WebSocket publish (ws_subscribe.c).
 * It does not write to the socket nor free the request: http.c routes /api/
 * paths here, owns the pss and sends the response. lws thread only.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "rtg_topic.h"

#define MAX_NAME 128
#define MAX_CALC_ID 64

/* POST /api/broadcast/<kind>: topic = prefix + body[key] + suffix. */
struct broadcast {
	const char *kind;
	const char *type; /* set in the payload when it has no "type" */
	const char *prefix;
	const char *key; /* the body member naming a topic level, or NULL */
	const char *suffix;
	bool retain;
};

static const struct broadcast broadcasts[] = {
	{"notification", "notification", "user/", "user_id", "/notifications", false},
	{"transaction", "transaction_update", "user/", "user_id", "/transactions", false},
	{"balance", "balance_update", "user/", "user_id", "/balance", true},
	{"market", "market_update", "market/indicators", NULL, "", true},
	{"announcement", "system_announcement", "system/announcements", NULL, "", false},
	{"price", "price_update", "market/", "ticker", "", true},
	{"pattern", "pattern_alert", "market/patterns/", "ticker", "", false},
	{"alert", "alert_trigger", "user/", "user_id", "/alerts", false},
};

/* ==== who is asking ===================================================================== */

/*
 * The caller's identity from the request's token (header, cookie, ?token=).
 * Returns 0 with *id set, or NULL when no token was given; or 401 with err
 * set when the token is refused.
 */
static int identify(struct lws *wsi, struct rtg_identity **id, char *err, size_t errlen)
{
	char token[RTG_JWT_MAX_LEN + 1];
	enum rtg_err rc;

	*id = NULL;
	if (!auth__token_from_request(wsi, token, sizeof(token)))
		return 0;
	rc = auth__verify(http__adapter(wsi), token, id);
	explicit_bzero(token, sizeof(token));
	if (rc == RTG_OK)
		return 0;
	snprintf(err, errlen, "invalid token: %s", rtg_strerror(rc));
	return 401;
}

/* Services that publish for others. notifier is the ACL's role for user/# and announcements. */
static bool may_broadcast(const struct rtg_identity *id)
{
	return rtg_identity_has_role(id, "publisher") || rtg_identity_has_role(id, "notifier") ||
		rtg_identity_has_role(id, "ops");
}

static bool level_ok(const char *name)
{
	return rtg_topic_level_valid(name, MAX_NAME);
}

/* ==== GET: stats and metrics ============================================================ */

/* /api/stats, /ws/stats (JSON) and /metrics (Prometheus), for whom stats_access allows. */
int http__stats(struct lws *wsi, struct pss_http *p, bool prometheus)
{
	struct adapter *a = http__adapter(wsi);
	struct rtg_identity *id;
	char err[160], *text;
	size_t len;
	bool allowed;
	int rc;

	rc = identify(wsi, &id, err, sizeof(err));
	if (rc)
		return http__respond_error(wsi, p, rc, "%s", err);
	allowed = auth__stats_allowed(a, wsi, id);
	rtg_identity_free(id);
	if (!allowed)
		return http__respond_error(wsi, p, 403,
			"statistics are not open to you (stats_access %s)", a->cfg.stats_access);
	if (!prometheus)
		return http__respond_json(wsi, p, 200, stats__json(a));
	text = stats__prometheus(a, &len);
	if (!text)
		return http__respond_error(wsi, p, 500, "out of memory");
	rc = http__respond(wsi, p, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

/* ==== POST: publish, broadcast, calculations ================================================ */

/*
 * The ACL, then the broker, for /api/publish and /api/broadcast; msg is
 * {topic, payload, retain} as wsub__publish() takes it. wsub__publish uses
 * its session only for s->a, s->id and s->conn_id (the ACL check and the
 * counters). An HTTP request has no session, so a zeroed one on the stack
 * with just those set stands in. It is never session__init()ed: it is in no
 * list, nothing is queued on it and there is nothing to clean up (the
 * identity stays the pss's).
 */
static int publish(struct lws *wsi, struct pss_http *p, const cJSON *msg, const char *topic)
{
	struct adapter *a = http__adapter(wsi);
	char why[128], err[256];
	struct session ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.a = a;
	ctx.id = p->id;
	snprintf(ctx.conn_id, sizeof(ctx.conn_id), "http");
	if (!auth__allowed(a, &ctx, topic, RTG_ACCESS_WRITE, why, sizeof(why)))
		return http__respond_error(
			wsi, p, 403, "cannot publish to '%.200s': %s", topic, why);
	if (!bridge__up(a))
		return http__respond_error(wsi, p, 503, "the broker is not available; try again");
	if (wsub__publish(&ctx, msg, err, sizeof(err)))
		return http__respond_error(wsi, p, 503, "%s", err);
	return http__respond_json(wsi, p, 200,
		http__json_strings((const char *[]){"status", "published", "topic", topic, NULL}));
}

static int api_publish(struct lws *wsi, struct pss_http *p, const cJSON *msg)
{
	const cJSON *topic = cJSON_GetObjectItemCaseSensitive(msg, "topic");
	const cJSON *retain = cJSON_GetObjectItemCaseSensitive(msg, "retain");

	if (!cJSON_IsString(topic) || !rtg_topic_name_valid(topic->valuestring))
		return http__respond_error(
			wsi, p, 400, "publish needs a valid \"topic\" (no wildcards)");
	if (!cJSON_HasObjectItem(msg, "payload") || (retain && !cJSON_IsBool(retain)))
		return http__respond_error(wsi, p, 400,
			"publish needs a \"payload\" (and \"retain\" must be a boolean)");
	return publish(wsi, p, msg, topic->valuestring);
}

/* A topic level from the body: a string name, or an integer (user ids often are). */
static int level_of(const cJSON *msg, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);

	if (cJSON_IsString(v) && level_ok(v->valuestring))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v) && fabs(v->valuedouble) < 9007199254740992.0 &&
		v->valuedouble == (double)(long long)v->valuedouble) /* an exact integer */
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
	else
		return -1;
	return 0;
}

static int api_broadcast(struct lws *wsi, struct pss_http *p, const cJSON *msg)
{
	const struct broadcast *bc = p->bc;
	char level[MAX_NAME] = "", topic[320];
	cJSON *pub, *payload;
	int rc;

	if (bc->key && level_of(msg, bc->key, level, sizeof(level)))
		return http__respond_error(wsi, p, 400,
			"a %s broadcast needs a \"%s\" usable in a topic (no '/', '+', '#')",
			bc->kind, bc->key);
	snprintf(topic, sizeof(topic), "%s%s%s", bc->prefix, level, bc->suffix);
	pub = cJSON_CreateObject();
	payload = cJSON_Duplicate(msg, true);
	if (!pub || !payload || !cJSON_AddItemToObject(pub, "payload", payload)) {
		cJSON_Delete(payload);
		cJSON_Delete(pub);
		return http__respond_error(wsi, p, 500, "out of memory");
	}
	if ((!cJSON_HasObjectItem(payload, "type") &&
		    !cJSON_AddStringToObject(payload, "type", bc->type)) ||
		!cJSON_AddStringToObject(pub, "topic", topic) ||
		!cJSON_AddBoolToObject(pub, "retain", bc->retain))
		rc = http__respond_error(wsi, p, 500, "out of memory");
	else
		rc = publish(wsi, p, pub, topic);
	cJSON_Delete(pub);
	return rc;
}

/* Ids the caller picks end up in a topic level and in a URL: keep them plain. */
static bool calc_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n && n <= MAX_CALC_ID &&
		strspn(id,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789_-") == n;
}

/* The request a calc worker reads, as wsub__start_calc() builds it; NULL on out of memory. */
static char *calc_request(const char *id, const char *kind, const cJSON *params, const char *sub)
{
	char ts[40], *text = NULL;
	cJSON *req = http__json_strings((const char *[]){"type", "calculate", "calculation_id", id,
		"calculation_type", kind, "user_id", sub, "requested_at",
		session__iso_time(ts, sizeof(ts)), NULL});

	if (req &&
		cJSON_AddItemToObject(req, "parameters",
			params ? cJSON_Duplicate(params, true) : cJSON_CreateObject()))
		text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	return text;
}

/*
 * POST /api/calculations publishes the request to calc/<sub>~<id>/request. It
 * does not use wsub__start_calc(): that subscribes the calling session to the
 * progress, and an HTTP request has no live session. The progress is read
 * with GET /sse/calculation/<id>, whose retained last state catches up.
 */
static int api_calculation(struct lws *wsi, struct pss_http *p, const cJSON *msg)
{
	struct adapter *a = http__adapter(wsi);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "calculation_type");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "parameters");
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "calculation_id");
	char id[MAX_CALC_ID + 1], topic[512], url[128], *text;
	int rc;

	if (!cJSON_IsString(kind) || !level_ok(kind->valuestring) ||
		(params && !cJSON_IsObject(params)))
		return http__respond_error(wsi, p, 400,
			"a calculation needs a \"calculation_type\" and "
			"an object \"parameters\"");
	if (cid && (!cJSON_IsString(cid) || !calc_id_ok(cid->valuestring)))
		return http__respond_error(wsi, p, 400,
			"\"calculation_id\" must be 1-%d characters of "
			"A-Z a-z 0-9 _ -",
			MAX_CALC_ID);
	if (cid)
		snprintf(id, sizeof(id), "%s", cid->valuestring);
	else
		snprintf(id, sizeof(id), "c%s%llu", a->hist.epoch,
			(unsigned long long)++a->hist.next_id);
	if (wsub__calc_topic(p->id->sub, id, "request", topic, sizeof(topic)))
		return http__respond_error(wsi, p, 400, "your user id cannot be used in a topic");
	if (!bridge__up(a))
		return http__respond_error(wsi, p, 503, "the broker is not available; try again");
	text = calc_request(id, kind->valuestring, params, p->id->sub);
	if (!text)
		return http__respond_error(wsi, p, 500, "out of memory");
	rc = bridge__publish(a, topic, text, strlen(text), false);
	cJSON_free(text);
	if (rc)
		return http__respond_error(wsi, p, 503, "the broker is not available; try again");
	snprintf(url, sizeof(url), "/sse/calculation/%s", id);
	return http__respond_json(wsi, p, 202,
		http__json_strings((const char *[]){
			"calculation_id", id, "status", "queued", "progress_url", url, NULL}));
}

/*
 * A POST route: the size (Content-Length) and the caller are checked before
 * the body is read, so a refused request costs no buffering. Returns 0: the
 * body is awaited, or an error response is on its way.
 */
static int start_post(
	struct lws *wsi, struct pss_http *p, enum route route, const struct broadcast *bc)
{
	struct adapter *a = http__adapter(wsi);
	char cl[32], err[160];
	int status;

	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		p->close_after = true;
		return http__respond_error(wsi, p, 411, "a POST needs a Content-Length");
	}
	if (strtoull(cl, NULL, 10) > (unsigned long long)a->cfg.max_message_size) {
		p->close_after = true;
		return http__respond_error(
			wsi, p, 413, "the body is larger than %d bytes", a->cfg.max_message_size);
	}
	status = identify(wsi, &p->id, err, sizeof(err));
	if (!status && !p->id) {
		status = 401;
		snprintf(err, sizeof(err),
			"a token is needed (Authorization: Bearer, the rtg_token "
			"cookie or ?token=)");
	}
	if (!status && route != R_CALC && !may_broadcast(p->id)) {
		status = 403;
		snprintf(err, sizeof(err), "the publisher, notifier or ops role is needed");
	}
	if (status)
		return http__respond_error(wsi, p, status, "%s", err);
	p->route = route;
	p->bc = bc;
	return 0;
}

int http__on_body(struct lws *wsi, struct pss_http *p, const void *in, size_t len)
{
	size_t max = (size_t)http__adapter(wsi)->cfg.max_message_size;
	char *grown;

	/* lws passes at most Content-Length bytes, checked in start_post(); this is a guard */
	if (p->route == R_NONE || p->responding || !len || p->body_len + len > max)
		return 0;
	grown = realloc(p->body, p->body_len + len);
	if (!grown)
		return -1;
	p->body = grown;
	memcpy(p->body + p->body_len, in, len);
	p->body_len += len;
	return 0;
}

int http__on_body_done(struct lws *wsi, struct pss_http *p)
{
	cJSON *msg;
	int rc;

	if (p->route == R_NONE || p->responding)
		return 0;
	msg = cJSON_ParseWithLength(p->body, p->body_len);
	if (!cJSON_IsObject(msg))
		rc = http__respond_error(wsi, p, 400, "malformed body: a JSON object is expected");
	else if (p->route == R_PUBLISH)
		rc = api_publish(wsi, p, msg);
	else if (p->route == R_BROADCAST)
		rc = api_broadcast(wsi, p, msg);
	else
		rc = api_calculation(wsi, p, msg);
	cJSON_Delete(msg);
	return rc;
}

/* ==== API routes ========================================================================= */

int http__api_route(struct lws *wsi, struct pss_http *p, enum method m, const char *path)
{
	const struct broadcast *bc = NULL;
	enum route route = R_NONE;
	size_t i;

	if (!strcmp(path, "/api/publish"))
		route = R_PUBLISH;
	else if (!strcmp(path, "/api/calculations"))
		route = R_CALC;
	for (i = 0; !strncmp(path, "/api/broadcast/", 15) && i < LWS_ARRAY_SIZE(broadcasts); i++) {
		if (!strcmp(path + 15, broadcasts[i].kind)) {
			bc = &broadcasts[i];
			route = R_BROADCAST;
		}
	}
	if (route == R_NONE)
		return http__respond_error(wsi, p, 404, "unknown API endpoint '%.200s'", path);
	if (m != M_POST)
		return http__not_allowed(wsi, p, "POST");
	return start_post(wsi, p, route, bc);
}
