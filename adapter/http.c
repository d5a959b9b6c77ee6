/*
 * http.c - every plain HTTP request: the JSON API (publish, broadcast,
 * calculations), health, statistics and metrics, the static dashboard files,
 * and the hand-over of SSE requests to sse.c.
 *
 * lws binds each request that is not a WebSocket upgrade to this protocol
 * (protocols[0], no mounts) and passes the path in LWS_CALLBACK_HTTP. The
 * response is decided there, or when a POST body is complete, kept in the
 * pss and written in LWS_CALLBACK_HTTP_WRITEABLE: headers, then the body.
 * Every error is {"error":...,"status":N}. It does not speak WebSocket
 * (ws.c) nor write SSE events (sse.c). lws thread only.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapter.h"
#include "rtg_topic.h"

#define MAX_NAME 128
#define MAX_CALC_ID 64

enum method { M_OTHER, M_GET, M_HEAD, M_POST, M_OPTIONS };
enum route { R_NONE, R_PUBLISH, R_BROADCAST, R_CALC };

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

/* Per-request data; lws frees it (and calls DROP_PROTOCOL) after each transaction. */
struct pss_http {
	struct session s; /* first; used only when the request becomes an SSE stream */
	bool sse; /* s is a live SSE stream: sse.c writes it */
	enum route route; /* a POST whose body is awaited */
	const struct broadcast *bc;
	struct rtg_identity *id; /* the caller of a POST route */
	char *body;
	size_t body_len;
	/* the response, written in LWS_CALLBACK_HTTP_WRITEABLE */
	bool responding;
	bool head; /* HEAD: headers only */
	bool headers_sent;
	bool close_after; /* the request body is not read: close after the response */
	int status;
	const char *ctype;
	const char *allow; /* the Allow header of a 405 */
	unsigned char *resp; /* LWS_PRE headroom, then the body */
	size_t resp_len;
	char file[512]; /* a static file to serve instead, or "" */
};

static struct adapter *adapter_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ==== responses ======================================================================== */

/* An object of string members from a NULL-terminated key, value, ... list; NULL on OOM. */
static cJSON *json_strings(const char *const *kv)
{
	cJSON *obj = cJSON_CreateObject();

	for (; obj && kv[0]; kv += 2) {
		if (!cJSON_AddStringToObject(obj, kv[0], kv[1])) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	return obj;
}

/* Keeps the response (copying text) and asks for a writeable callback. Returns 0. */
static int respond(struct lws *wsi, struct pss_http *p, int status, const char *ctype,
	const char *text, size_t len)
{
	if (p->responding)
		return 0;
	p->responding = true;
	p->status = status;
	p->ctype = ctype;
	p->resp = len ? malloc(LWS_PRE + len) : NULL;
	if (p->resp) {
		memcpy(p->resp + LWS_PRE, text, len);
		p->resp_len = len;
	} else if (len) {
		p->status = 500; /* out of memory: a bare status */
		p->ctype = NULL;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

/* Responds with obj as JSON and deletes it; NULL (out of memory) gives a bare 500. */
static int respond_json(struct lws *wsi, struct pss_http *p, int status, cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
	int rc;

	cJSON_Delete(obj);
	if (!text)
		return respond(wsi, p, 500, NULL, NULL, 0);
	rc = respond(wsi, p, status, "application/json", text, strlen(text));
	cJSON_free(text);
	return rc;
}

/* {"error": message, "status": status}; every refusal is counted. */
__attribute__((format(printf, 4, 5))) static int respond_error(
	struct lws *wsi, struct pss_http *p, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *obj;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	adapter_of(wsi)->stats.errors++;
	obj = json_strings((const char *[]){"error", msg, NULL});
	if (obj && !cJSON_AddNumberToObject(obj, "status", status)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return respond_json(wsi, p, status, obj);
}

static int not_allowed(struct lws *wsi, struct pss_http *p, const char *allow)
{
	p->allow = allow;
	return respond_error(wsi, p, 405, "method not allowed (allowed: %s)", allow);
}

static int hdr(
	struct lws *wsi, const char *name, const char *value, unsigned char **q, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
		(const unsigned char *)value, (int)strlen(value), q, end);
}

/* The response is out: keep the connection for the next request, or close it. */
static int finish(struct lws *wsi, const struct pss_http *p)
{
	if (p->close_after)
		return -1;
	/* this rebinds the protocol: lws frees p (LWS_CALLBACK_HTTP_DROP_PROTOCOL first) */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A 204 answers an OPTIONS preflight. */
static int write_headers(struct lws *wsi, struct pss_http *p)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *q = start;
	unsigned char *end = buf + sizeof(buf) - 1;
	bool no_body = p->status == 204;

	/* Any origin may call the API for now; the hardening issue will restrict it. */
	if (lws_add_http_header_status(wsi, (unsigned int)p->status, &q, end) ||
		(p->ctype && hdr(wsi, "content-type:", p->ctype, &q, end)) ||
		(!no_body && lws_add_http_header_content_length(wsi, p->resp_len, &q, end)) ||
		hdr(wsi, "cache-control:", "no-store", &q, end) ||
		hdr(wsi, "access-control-allow-origin:", "*", &q, end) ||
		(p->allow && hdr(wsi, "allow:", p->allow, &q, end)) ||
		(no_body &&
			hdr(wsi, "access-control-allow-methods:", "GET, POST, OPTIONS", &q, end)) ||
		(no_body &&
			hdr(wsi, "access-control-allow-headers:", "Authorization, Content-Type", &q,
				end)) ||
		(no_body && hdr(wsi, "access-control-max-age:", "600", &q, end)) ||
		(p->close_after && hdr(wsi, "connection:", "close", &q, end)) ||
		lws_finalize_write_http_header(wsi, start, &q, end))
		return -1;
	p->headers_sent = true;
	if (no_body || p->head || !p->resp_len)
		return finish(wsi, p);
	lws_callback_on_writable(wsi);
	return 0;
}

/* Headers, then the body in one write; or a static file, which lws then sends itself. */
static int on_writeable(struct lws *wsi, struct pss_http *p)
{
	int n;

	if (p->sse)
		return sse__writeable(&p->s);
	if (!p->responding)
		return 0;
	if (p->file[0]) {
		/* <0: fatal; >0: lws answered by itself and the transaction must end */
		n = lws_serve_http_file(wsi, p->file, p->ctype, NULL, 0);
		return n < 0 || (n > 0 && lws_http_transaction_completed(wsi)) ? -1 : 0;
	}
	if (!p->headers_sent)
		return write_headers(wsi, p);
	if (lws_write(wsi, p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL) < (int)p->resp_len)
		return -1;
	return finish(wsi, p);
}

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
	rc = auth__verify(adapter_of(wsi), token, id);
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

/* Same rule as ws_subscribe.c: a name used inside one topic level. */
static bool level_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n >= MAX_NAME)
		return false;
	for (; *name; name++) {
		if (*name == '/' || *name == '+' || *name == '#' || iscntrl((unsigned char)*name))
			return false;
	}
	return true;
}

/* ==== GET: stats, metrics, static files, SSE ============================================ */

/* /api/stats, /ws/stats (JSON) and /metrics (Prometheus), for whom stats_access allows. */
static int stats(struct lws *wsi, struct pss_http *p, bool prometheus)
{
	struct adapter *a = adapter_of(wsi);
	struct rtg_identity *id;
	char err[160], *text;
	size_t len;
	bool allowed;
	int rc;

	rc = identify(wsi, &id, err, sizeof(err));
	if (rc)
		return respond_error(wsi, p, rc, "%s", err);
	allowed = auth__stats_allowed(a, wsi, id);
	rtg_identity_free(id);
	if (!allowed)
		return respond_error(wsi, p, 403,
			"statistics are not open to you (stats_access %s)", a->cfg.stats_access);
	if (!prometheus)
		return respond_json(wsi, p, 200, stats__json(a));
	text = stats__prometheus(a, &len);
	if (!text)
		return respond_error(wsi, p, 500, "out of memory");
	rc = respond(wsi, p, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

static const char *mime_of(const char *path)
{
	static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		{".json", "application/json"}, {".map", "application/json"},
		{".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"}};
	const char *dot = strrchr(path, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	}
	return NULL;
}

/* Letters, digits, '.', '_', '-' and '/' only; no "..", no hidden names. */
static bool static_path_ok(const char *path)
{
	const char *c;

	if (path[0] != '/' || strstr(path, "..") || strstr(path, "/."))
		return false;
	for (c = path; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr("._/-", *c))
			return false;
	}
	return true;
}

/* Sets p->file and p->ctype to the file that serves path; -1 if there is none. */
static int find_static(struct adapter *a, struct pss_http *p, const char *path)
{
	struct stat st;
	int n;

	if (!strcmp(path, "/"))
		path = "/index.html";
	else if (!strcmp(path, "/test") || !strcmp(path, "/ws/test"))
		path = "/test.html";
	if (!static_path_ok(path) || !(p->ctype = mime_of(path)))
		return -1;
	n = snprintf(p->file, sizeof(p->file), "%s%s", a->cfg.static_dir, path);
	if (n < 0 || (size_t)n >= sizeof(p->file) || stat(p->file, &st) || !S_ISREG(st.st_mode)) {
		p->file[0] = '\0';
		return -1;
	}
	return 0;
}

static int static_route(struct lws *wsi, struct pss_http *p, enum method m, const char *path)
{
	if (find_static(adapter_of(wsi), p, path))
		return respond_error(wsi, p, 404, "not found: '%.200s'", path);
	if (m != M_GET && m != M_HEAD) {
		p->file[0] = '\0';
		return not_allowed(wsi, p, "GET, HEAD");
	}
	p->responding = true;
	lws_callback_on_writable(wsi);
	return 0;
}

static int start_sse(struct lws *wsi, struct pss_http *p, const char *path)
{
	char err[320];
	int status = sse__handle(wsi, &p->s, path, err, sizeof(err));

	if (!status) {
		p->sse = true;
		return 0;
	}
	return respond_error(wsi, p, status, "%s", err);
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
	struct adapter *a = adapter_of(wsi);
	char why[128], err[256];
	struct session ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.a = a;
	ctx.id = p->id;
	snprintf(ctx.conn_id, sizeof(ctx.conn_id), "http");
	if (!auth__allowed(a, &ctx, topic, RTG_ACCESS_WRITE, why, sizeof(why)))
		return respond_error(wsi, p, 403, "cannot publish to '%.200s': %s", topic, why);
	if (!bridge__up(a))
		return respond_error(wsi, p, 503, "the broker is not available; try again");
	if (wsub__publish(&ctx, msg, err, sizeof(err)))
		return respond_error(wsi, p, 503, "%s", err);
	return respond_json(wsi, p, 200,
		json_strings((const char *[]){"status", "published", "topic", topic, NULL}));
}

static int api_publish(struct lws *wsi, struct pss_http *p, const cJSON *msg)
{
	const cJSON *topic = cJSON_GetObjectItemCaseSensitive(msg, "topic");
	const cJSON *retain = cJSON_GetObjectItemCaseSensitive(msg, "retain");

	if (!cJSON_IsString(topic) || !rtg_topic_name_valid(topic->valuestring))
		return respond_error(wsi, p, 400, "publish needs a valid \"topic\" (no wildcards)");
	if (!cJSON_HasObjectItem(msg, "payload") || (retain && !cJSON_IsBool(retain)))
		return respond_error(wsi, p, 400,
			"publish needs a \"payload\" (and \"retain\" must be a boolean)");
	return publish(wsi, p, msg, topic->valuestring);
}

/* A topic level from the body: a string name, or an integer (user ids often are). */
static int level_of(const cJSON *msg, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);

	if (cJSON_IsString(v) && level_ok(v->valuestring))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
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
		return respond_error(wsi, p, 400,
			"a %s broadcast needs a \"%s\" usable in a topic (no '/', '+', '#')",
			bc->kind, bc->key);
	snprintf(topic, sizeof(topic), "%s%s%s", bc->prefix, level, bc->suffix);
	pub = cJSON_CreateObject();
	payload = cJSON_Duplicate(msg, true);
	if (!pub || !payload || !cJSON_AddItemToObject(pub, "payload", payload)) {
		cJSON_Delete(payload);
		cJSON_Delete(pub);
		return respond_error(wsi, p, 500, "out of memory");
	}
	if ((!cJSON_HasObjectItem(payload, "type") &&
		    !cJSON_AddStringToObject(payload, "type", bc->type)) ||
		!cJSON_AddStringToObject(pub, "topic", topic) ||
		!cJSON_AddBoolToObject(pub, "retain", bc->retain))
		rc = respond_error(wsi, p, 500, "out of memory");
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
	cJSON *req = json_strings((const char *[]){"type", "calculate", "calculation_id", id,
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
	struct adapter *a = adapter_of(wsi);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "calculation_type");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "parameters");
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "calculation_id");
	char id[MAX_CALC_ID + 1], topic[512], url[128], *text;
	int rc;

	if (!cJSON_IsString(kind) || !level_ok(kind->valuestring) ||
		(params && !cJSON_IsObject(params)))
		return respond_error(wsi, p, 400,
			"a calculation needs a \"calculation_type\" and "
			"an object \"parameters\"");
	if (cid && (!cJSON_IsString(cid) || !calc_id_ok(cid->valuestring)))
		return respond_error(wsi, p, 400,
			"\"calculation_id\" must be 1-%d characters of "
			"A-Z a-z 0-9 _ -",
			MAX_CALC_ID);
	if (cid)
		snprintf(id, sizeof(id), "%s", cid->valuestring);
	else
		snprintf(id, sizeof(id), "c%s%llu", a->hist.epoch,
			(unsigned long long)++a->next_conn);
	if (wsub__calc_topic(p->id->sub, id, "request", topic, sizeof(topic)))
		return respond_error(wsi, p, 400, "your user id cannot be used in a topic");
	if (!bridge__up(a))
		return respond_error(wsi, p, 503, "the broker is not available; try again");
	text = calc_request(id, kind->valuestring, params, p->id->sub);
	if (!text)
		return respond_error(wsi, p, 500, "out of memory");
	rc = bridge__publish(a, topic, text, strlen(text), false);
	cJSON_free(text);
	if (rc)
		return respond_error(wsi, p, 503, "the broker is not available; try again");
	snprintf(url, sizeof(url), "/sse/calculation/%s", id);
	return respond_json(wsi, p, 202,
		json_strings((const char *[]){
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
	struct adapter *a = adapter_of(wsi);
	char cl[32], err[160];
	int status;

	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		p->close_after = true;
		return respond_error(wsi, p, 411, "a POST needs a Content-Length");
	}
	if (strtoull(cl, NULL, 10) > (unsigned long long)a->cfg.max_message_size) {
		p->close_after = true;
		return respond_error(
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
		return respond_error(wsi, p, status, "%s", err);
	p->route = route;
	p->bc = bc;
	return 0;
}

static int on_body(struct lws *wsi, struct pss_http *p, const void *in, size_t len)
{
	size_t max = (size_t)adapter_of(wsi)->cfg.max_message_size;
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

static int on_body_done(struct lws *wsi, struct pss_http *p)
{
	cJSON *msg;
	int rc;

	if (p->route == R_NONE || p->responding)
		return 0;
	msg = cJSON_ParseWithLength(p->body, p->body_len);
	if (!cJSON_IsObject(msg))
		rc = respond_error(wsi, p, 400, "malformed body: a JSON object is expected");
	else if (p->route == R_PUBLISH)
		rc = api_publish(wsi, p, msg);
	else if (p->route == R_BROADCAST)
		rc = api_broadcast(wsi, p, msg);
	else
		rc = api_calculation(wsi, p, msg);
	cJSON_Delete(msg);
	return rc;
}

/* ==== routing ============================================================================ */

static enum method method_of(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		return M_GET;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return M_POST;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
		return M_HEAD;
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS)
	if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI))
		return M_OPTIONS;
#endif
	return M_OTHER;
}

static int api_route(struct lws *wsi, struct pss_http *p, enum method m, const char *path)
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
		return respond_error(wsi, p, 404, "unknown API endpoint '%.200s'", path);
	if (m != M_POST)
		return not_allowed(wsi, p, "POST");
	return start_post(wsi, p, route, bc);
}

static int on_http(struct lws *wsi, struct pss_http *p, const char *path, size_t len)
{
	enum method m = method_of(wsi);
	bool get = m == M_GET || m == M_HEAD;

	adapter_of(wsi)->stats.http_requests++;
	p->head = m == M_HEAD;
	p->close_after = m == M_OTHER; /* PUT, PATCH...: their bodies are not read */
	if (!path || strlen(path) != len || path[0] != '/')
		return respond_error(wsi, p, 400, "invalid path");
	if (m == M_OPTIONS)
		return respond(wsi, p, 204, NULL, NULL, 0);
	if (!strncmp(path, "/sse", 4) || !strncmp(path, "/realtime/sse", 13))
		return m == M_GET ? start_sse(wsi, p, path) : not_allowed(wsi, p, "GET");
	if (!strcmp(path, "/health"))
		return get ? respond_json(wsi, p, bridge__up(adapter_of(wsi)) ? 200 : 503,
				     stats__health(adapter_of(wsi)))
			   : not_allowed(wsi, p, "GET, HEAD");
	if (!strcmp(path, "/api/stats") || !strcmp(path, "/ws/stats") || !strcmp(path, "/metrics"))
		return get ? stats(wsi, p, path[1] == 'm') : not_allowed(wsi, p, "GET, HEAD");
	if (!strncmp(path, "/api/", 5))
		return api_route(wsi, p, m, path);
	return static_route(wsi, p, m, path);
}

/* Safe twice (CLOSED_HTTP, then DROP_PROTOCOL) and on a request that never started. */
static void cleanup(struct pss_http *p)
{
	session__cleanup(&p->s); /* returns at once unless s became an SSE stream */
	p->sse = false;
	rtg_identity_free(p->id);
	p->id = NULL;
	free(p->body);
	p->body = NULL;
	p->body_len = 0;
	free(p->resp);
	p->resp = NULL;
}

static int callback_http(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss_http *p = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, p, in, len);
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(wsi, p, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return on_body_done(wsi, p);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return p ? on_writeable(wsi, p) : 0;
	case LWS_CALLBACK_TIMER:
		if (p && p->sse)
			sse__heartbeat(&p->s);
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (p)
			cleanup(p);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols http__protocol = {
	.name = "http",
	.callback = callback_http,
	.per_session_data_size = sizeof(struct pss_http),
	.rx_buffer_size = 0,
};
