/*
 * http_api.c - what the HTTP endpoints of the profiles do (their "handler"):
 * statistics (JSON and Prometheus), health, files, POST publish, broadcast
 * and calculations, and the token cookie of POST/DELETE /api/session.
 *
 * A POST is checked (Content-Length, token, role) before its body is read,
 * then parsed and handled when the body is complete; publishing goes through
 * publish.c and calculations through calcs.c, the same paths a WebSocket
 * client's messages take. It does not write to the socket nor free the
 * request: http.c routes here, owns the pss and sends the response. lws
 * thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_int.h"
#include "rtg_json.h"

/* ==== who is asking ===================================================================== */

/*
 * The caller's identity from the request's token (header, cookie, ?token=).
 * Returns 0 with *id set, or NULL when no token was given; or 401 with err
 * set when the token is refused.
 */
static int identify(struct lws *wsi, struct rtg_identity **id, char *err, size_t errlen)
{
	switch (peer__identify(http__adapter(wsi), wsi, true, id, err, errlen)) {
	case REQ_AUTH_BAD:
		return HTTP_STATUS_UNAUTHORIZED;
	default:
		return 0;
	}
}

/* Services that publish for others. notifier is the ACL's role for user/# and announcements. */
static bool may_broadcast(const struct rtg_identity *id)
{
	return rtg_identity_has_role(id, "publisher") || rtg_identity_has_role(id, "notifier") ||
		rtg_identity_has_role(id, "ops");
}

/* ==== GET: stats, metrics, health ========================================================== */

/* Does session s follow channel ch (through any of the channel's topics)? */
static bool follows(struct session *s, const char *ch)
{
	lws_start_foreach_dll(struct list_node *, e, list_head(&s->subs)) {
		const struct csub *cs = container_of(e, struct csub, in_sess);

		if (cs->channel && !strcmp(cs->channel, ch))
			return true;
	}
	lws_end_foreach_dll(e);
	return false;
}

/* The endpoint's "count FIELD CHANNEL" lines: the connections that follow each channel. */
static bool add_counts(struct adapter *a, cJSON *obj, const struct prof_endpoint *ep)
{
	size_t i, n;

	for (i = 0; i < ep->ncounts; i++) {
		n = 0;
		lws_start_foreach_dll(struct list_node *, d, list_head(&a->core.sessions)) {
			n += follows(container_of(d, struct session, in_all),
				ep->counts[i].channel->name);
		}
		lws_end_foreach_dll(d);
		if (!cJSON_AddNumberToObject(obj, ep->counts[i].field, (double)n))
			return false;
	}
	return true;
}

/* Statistics (JSON or Prometheus), for whom stats_access allows. */
static int stats(struct lws *wsi, struct pss_http *p, const struct prof_endpoint *ep)
{
	struct adapter *a = http__adapter(wsi);
	struct rtg_identity *id;
	char err[160], *text;
	cJSON *obj;
	size_t len;
	bool allowed;
	int rc;

	rc = identify(wsi, &id, err, sizeof(err));
	if (rc)
		return http__respond_error(wsi, p, rc, "%s", err);
	allowed = auth__stats_allowed(a, peer__is_loopback(wsi), id);
	rtg_identity_free(id);
	if (!allowed)
		return http__respond_error(wsi, p, HTTP_STATUS_FORBIDDEN,
			"statistics are not open to you (stats_access %s)", a->cfg.stats_access);
	if (ep->handler == PROF_H_STATS) {
		obj = stats__json(a);
		if (obj && !add_counts(a, obj, ep)) {
			cJSON_Delete(obj);
			obj = NULL;
		}
		return http__respond_json(wsi, p, HTTP_STATUS_OK, obj);
	}
	text = stats__prometheus(a, &len);
	if (!text)
		return http__respond_error(
			wsi, p, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
	rc = http__respond(
		wsi, p, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

/* ==== the token cookie ======================================================================= */

#define COOKIE "rtg_token"

/*
 * POST /api/session with a token (Authorization: Bearer) sets it as an
 * HttpOnly, SameSite=Strict cookie that expires with the token, so a page's
 * EventSource (which cannot set headers) and WebSocket carry it without the
 * token in any URL; DELETE clears it. Secure when the adapter serves TLS.
 */
static int session_cookie(struct lws *wsi, struct pss_http *p, enum method m)
{
	struct adapter *a = http__adapter(wsi);
	char token[RTG_JWT_MAX_LEN + 1], err[160], value[RTG_JWT_MAX_LEN + 160];
	const char *secure = a->cfg.tls_cert_file ? "; Secure" : "";
	struct rtg_identity *id = NULL;
	cJSON *obj;

	if (m == M_DELETE) {
		snprintf(value, sizeof(value),
			COOKIE "=; Path=/; HttpOnly; SameSite=Strict%s; "
			       "Max-Age=0",
			secure);
		p->set_cookie = strdup(value);
		return http__respond_json(wsi, p, HTTP_STATUS_OK,
			rtg_json_strings((const char *[]){"status", "cleared", NULL}));
	}
	if (m != M_POST)
		return http__not_allowed(wsi, p, "POST, DELETE");
	if (peer__identify(a, wsi, false, &id, err, sizeof(err)) != REQ_AUTH_OK ||
		!peer__token(wsi, token, sizeof(token))) {
		rtg_identity_free(id);
		return http__respond_error(wsi, p, HTTP_STATUS_UNAUTHORIZED, "%s", err);
	}
	snprintf(value, sizeof(value),
		COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s; Max-Age=%lld", token, secure,
		(long long)(id->exp - time(NULL)));
	explicit_bzero(token, sizeof(token));
	p->set_cookie = strdup(value);
	explicit_bzero(value, sizeof(value));
	obj = rtg_json_strings((const char *[]){"status", "ok", "user_id", id->sub, NULL});
	if (obj && !cJSON_AddNumberToObject(obj, "expires_at", (double)id->exp)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	rtg_identity_free(id);
	return http__respond_json(
		wsi, p, p->set_cookie ? HTTP_STATUS_OK : HTTP_STATUS_INTERNAL_SERVER_ERROR, obj);
}

/* ==== POST: publish, broadcast, calculations ================================================ */

/*
 * The size (Content-Length) and the caller are checked before the body is
 * read, so a refused request costs no buffering. Returns 0: the body is
 * awaited, or an error response is on its way.
 */
static int start_post(struct lws *wsi, struct pss_http *p, enum method m, enum route route,
	const struct prof_broadcast *bc)
{
	struct adapter *a = http__adapter(wsi);
	char cl[32], err[160];
	int status;

	if (m != M_POST)
		return http__not_allowed(wsi, p, "POST");
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		p->close_after = true;
		return http__respond_error(
			wsi, p, HTTP_STATUS_LENGTH_REQUIRED, "a POST needs a Content-Length");
	}
	if (limits__too_big(a, strtoull(cl, NULL, 10))) {
		p->close_after = true;
		return http__respond_error(wsi, p, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
			"the body is larger than %d bytes", a->cfg.max_message_size);
	}
	status = identify(wsi, &p->id, err, sizeof(err));
	if (!status && !p->id) {
		status = HTTP_STATUS_UNAUTHORIZED;
		snprintf(err, sizeof(err),
			"a token is needed (Authorization: Bearer, the rtg_token cookie or "
			"?token=)");
	}
	if (!status && route != R_CALC && !may_broadcast(p->id)) {
		status = HTTP_STATUS_FORBIDDEN;
		snprintf(err, sizeof(err), "the publisher, notifier or ops role is needed");
	}
	if (status)
		return http__respond_error(wsi, p, status, "%s", err);
	p->route = route;
	p->bc = bc;
	p->prof = profile__ref(a->prof); /* bc lives in it, whatever a reload does meanwhile */
	return 0;
}

int http__on_body(struct lws *wsi, struct pss_http *p, const void *in, size_t len)
{
	char *grown;

	/* lws passes at most Content-Length bytes, checked in start_post(); this is a guard */
	if (p->route == R_NONE || p->responding || !len ||
		limits__too_big(http__adapter(wsi), p->body_len + len))
		return 0;
	grown = realloc(p->body, p->body_len + len);
	if (!grown)
		return -1;
	p->body = grown;
	memcpy(p->body + p->body_len, in, len);
	p->body_len += len;
	return 0;
}

/* 202 {calculation_id, status, progress_url}: the first SSE endpoint with {calculation_id}. */
static int calculation_accepted(struct lws *wsi, struct pss_http *p, const char *id)
{
	const struct profiles *prof = p->prof;
	char url[256] = "";
	const char *at;
	size_t i, k;

	for (i = 0; i < prof->nendpoints && !url[0]; i++) {
		const struct prof_endpoint *ep = &prof->endpoints[i];

		for (k = 0; ep->transport == PROF_SSE && k < ep->npaths && !url[0]; k++) {
			at = strstr(ep->paths[k], "{calculation_id}");
			if (at)
				snprintf(url, sizeof(url), "%.*s%s%s", (int)(at - ep->paths[k]),
					ep->paths[k], id, at + 16);
		}
	}
	return http__respond_json(wsi, p, RTG_HTTP_ACCEPTED,
		rtg_json_strings((const char *[]){"calculation_id", id, "status", "queued",
			url[0] ? "progress_url" : NULL, url, NULL}));
}

static int on_post(struct lws *wsi, struct pss_http *p, const cJSON *msg)
{
	struct adapter *a = http__adapter(wsi);
	char err[320], topic[512], id[CALC_ID_MAX + 1];
	int status;

	switch (p->route) {
	case R_PUBLISH:
		status =
			pub__message(a, p->id, "http", msg, p->body, p->body_len, err, sizeof(err));
		snprintf(topic, sizeof(topic), "%s", rtg_json_get_string(msg, "topic"));
		break;
	case R_BROADCAST:
		status = pub__broadcast(a, p->id, p->bc, msg, p->body, p->body_len, topic,
			sizeof(topic), err, sizeof(err));
		break;
	default:
		status = calc__start(a, p->id, NULL, msg, id, sizeof(id), err, sizeof(err));
		if (!status)
			return calculation_accepted(wsi, p, id);
		break;
	}
	if (status)
		return http__respond_error(wsi, p, status, "%s", err);
	return http__respond_json(wsi, p, HTTP_STATUS_OK,
		rtg_json_strings((const char *[]){"status", "published", "topic", topic, NULL}));
}

int http__on_body_done(struct lws *wsi, struct pss_http *p)
{
	cJSON *msg;
	int rc;

	if (p->route == R_NONE || p->responding)
		return 0;
	msg = cJSON_ParseWithLength(p->body, p->body_len);
	if (!cJSON_IsObject(msg))
		rc = http__respond_error(wsi, p, HTTP_STATUS_BAD_REQUEST,
			"malformed body: a JSON object is expected");
	else
		rc = on_post(wsi, p, msg);
	cJSON_Delete(msg);
	return rc;
}

/* ==== the handlers ======================================================================= */

static bool get_or_head(enum method m)
{
	return m == M_GET || m == M_HEAD;
}

int http__handle(struct lws *wsi, struct pss_http *p, enum method m, const struct prof_endpoint *ep,
	const struct prof_params *params)
{
	struct adapter *a = http__adapter(wsi);
	const struct prof_broadcast *bc;
	const char *kind;
	char file[300];

	switch (ep->handler) {
	case PROF_H_STATS:
	case PROF_H_METRICS:
		return get_or_head(m) ? stats(wsi, p, ep) : http__not_allowed(wsi, p, "GET, HEAD");
	case PROF_H_HEALTH:
		if (!get_or_head(m))
			return http__not_allowed(wsi, p, "GET, HEAD");
		return http__respond_json(wsi, p,
			bridge__up(a) ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE,
			stats__health(a));
	case PROF_H_FILE:
		snprintf(file, sizeof(file), "/%s", ep->file);
		return http__serve_file(wsi, p, m, file);
	case PROF_H_SESSION:
		return session_cookie(wsi, p, m);
	case PROF_H_PUBLISH:
		return start_post(wsi, p, m, R_PUBLISH, NULL);
	case PROF_H_CALCULATIONS:
		return start_post(wsi, p, m, R_CALC, NULL);
	case PROF_H_BROADCAST:
		kind = profile__param(params, "kind");
		bc = kind ? profile__broadcast(a->prof, kind) : NULL;
		if (!bc)
			return http__respond_error(wsi, p, HTTP_STATUS_NOT_FOUND,
				"unknown broadcast kind '%.64s'", kind ? kind : "");
		return start_post(wsi, p, m, R_BROADCAST, bc);
	default:
		return http__respond_error(wsi, p, HTTP_STATUS_NOT_FOUND, "no handler");
	}
}
