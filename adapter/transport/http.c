/*
 * http.c - every plain HTTP request: the protocol callback, routing by the
 * endpoint profiles (profile.c), the responses (errors as
 * {"error":...,"message":...,"status":N}, CORS headers, cookies), the static
 * files, and the hand-over of SSE requests to sse.c.
 *
 * lws binds each request that is not a WebSocket upgrade to this protocol
 * (protocols[0], no mounts) and passes the path in LWS_CALLBACK_HTTP. The
 * response is decided there, or when a POST body is complete, kept in the
 * pss and written in LWS_CALLBACK_HTTP_WRITEABLE: headers, then the body.
 * What each HTTP endpoint does is http_api.c's. It does not speak WebSocket
 * (ws.c) nor write SSE events (sse.c). lws thread only.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http_int.h"
#include "rtg_json.h"

/* ==== responses ======================================================================== */

/* Keeps the response (copying text) and asks for a writeable callback. Returns 0. */
int http__respond(struct lws *wsi, struct pss_http *p, int status, const char *ctype,
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
		p->status = HTTP_STATUS_INTERNAL_SERVER_ERROR; /* out of memory: a bare status */
		p->ctype = NULL;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

/* Responds with obj as JSON and deletes it; NULL (out of memory) gives a bare 500. */
int http__respond_json(struct lws *wsi, struct pss_http *p, int status, cJSON *obj)
{
	size_t len;
	char *text = rtg_json_print(obj, &len);
	int rc;

	cJSON_Delete(obj);
	if (!text)
		return http__respond(wsi, p, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL, 0);
	rc = http__respond(wsi, p, status, "application/json", text, len);
	rtg_json_free(text);
	return rc;
}

/* {"error": message, "message": message, "status": status}; every refusal is counted. */
int http__respond_error(struct lws *wsi, struct pss_http *p, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *obj;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http__adapter(wsi)->stats.errors++;
	obj = rtg_json_strings((const char *[]){"error", msg, "message", msg, NULL});
	if (obj && !cJSON_AddNumberToObject(obj, "status", status)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return http__respond_json(wsi, p, status, obj);
}

int http__not_allowed(struct lws *wsi, struct pss_http *p, const char *allow)
{
	p->allow = allow;
	return http__respond_error(
		wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed (allowed: %s)", allow);
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
	unsigned char buf[LWS_PRE + 1024 + RTG_JWT_MAX_LEN], *start = buf + LWS_PRE, *q = start;
	unsigned char *end = buf + sizeof(buf) - 1;
	bool no_body = p->status == HTTP_STATUS_NO_CONTENT;

	/* CORS: only an allowed Origin is echoed; a browser elsewhere cannot read the answer. */
	if (lws_add_http_header_status(wsi, (unsigned int)p->status, &q, end) ||
		(p->ctype && hdr(wsi, "content-type:", p->ctype, &q, end)) ||
		(!no_body && lws_add_http_header_content_length(wsi, p->resp_len, &q, end)) ||
		hdr(wsi, "cache-control:", "no-store", &q, end) ||
		(p->origin_v == ORIGIN_ALLOWED &&
			(hdr(wsi, "access-control-allow-origin:", p->origin, &q, end) ||
				hdr(wsi, "access-control-allow-credentials:", "true", &q, end) ||
				hdr(wsi, "vary:", "Origin", &q, end))) ||
		(p->allow && hdr(wsi, "allow:", p->allow, &q, end)) ||
		(p->set_cookie && hdr(wsi, "set-cookie:", p->set_cookie, &q, end)) ||
		(no_body &&
			hdr(wsi, "access-control-allow-methods:", "GET, POST, DELETE, OPTIONS", &q,
				end)) ||
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

/* Raw CORS header lines for lws_serve_http_file(); returns their length (0 if none fit). */
static int cors_headers(const struct pss_http *p, char *buf, size_t len)
{
	int n = snprintf(
		buf, len, "access-control-allow-origin: %s\x0d\x0avary: Origin\x0d\x0a", p->origin);

	return n > 0 && (size_t)n < len ? n : 0;
}

/* Headers, then the body in one write; or a static file, which lws then sends itself. */
static int on_writeable(struct lws *wsi, struct pss_http *p)
{
	char extra[256];
	int n;

	if (p->sse)
		return sse__writeable(&p->s);
	if (!p->responding)
		return 0;
	if (p->file[0]) {
		/* a page elsewhere that allowed_origins names may load the JS client */
		n = p->origin_v == ORIGIN_ALLOWED ? cors_headers(p, extra, sizeof(extra)) : 0;
		/* <0: fatal; >0: lws answered by itself and the transaction must end */
		n = lws_serve_http_file(wsi, p->file, p->ctype, n ? extra : NULL, n);
		return n < 0 || (n > 0 && lws_http_transaction_completed(wsi)) ? -1 : 0;
	}
	if (!p->headers_sent)
		return write_headers(wsi, p);
	if (lws_write(wsi, p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL) < (int)p->resp_len)
		return -1;
	return finish(wsi, p);
}

/* ==== GET: static files, SSE ============================================================== */

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

	if (!static_path_ok(path) || !(p->ctype = mime_of(path)))
		return -1;
	n = snprintf(p->file, sizeof(p->file), "%s%s", a->cfg.static_dir, path);
	if (n < 0 || (size_t)n >= sizeof(p->file) || stat(p->file, &st) || !S_ISREG(st.st_mode)) {
		p->file[0] = '\0';
		return -1;
	}
	return 0;
}

int http__serve_file(struct lws *wsi, struct pss_http *p, enum method m, const char *path)
{
	if (find_static(http__adapter(wsi), p, path))
		return http__respond_error(
			wsi, p, HTTP_STATUS_NOT_FOUND, "not found: '%.200s'", path);
	if (m != M_GET && m != M_HEAD) {
		p->file[0] = '\0';
		return http__not_allowed(wsi, p, "GET, HEAD");
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
		if (p->origin_v == ORIGIN_ALLOWED)
			p->s.cors_origin = strdup(p->origin); /* NULL (no CORS) if out of memory */
		return 0;
	}
	return http__respond_error(wsi, p, status, "%s", err);
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
	if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
		return M_DELETE;
#endif
	return M_OTHER;
}

/*
 * The endpoint of the profiles that serves the path: an SSE stream, or an HTTP
 * handler (http_api.c). Other paths are files of static_dir; a WebSocket
 * endpoint asked for without an upgrade says so.
 */
static int route(struct lws *wsi, struct pss_http *p, enum method m, const char *path)
{
	struct adapter *a = http__adapter(wsi);
	const struct prof_endpoint *ep;
	struct prof_params params;

	ep = profile__match(a->prof, path, false, &params);
	if (ep && ep->transport == PROF_SSE)
		return m == M_GET ? start_sse(wsi, p, path) : http__not_allowed(wsi, p, "GET");
	if (ep)
		return http__handle(wsi, p, m, ep, &params);
	if (profile__match(a->prof, path, true, NULL))
		return http__respond_error(wsi, p, RTG_HTTP_UPGRADE_REQUIRED,
			"'%.200s' is a WebSocket endpoint: connect with a WebSocket", path);
	return http__serve_file(wsi, p, m, path);
}

static int on_http(struct lws *wsi, struct pss_http *p, const char *path, size_t len)
{
	enum method m = method_of(wsi);
	bool get = m == M_GET || m == M_HEAD;

	http__adapter(wsi)->stats.http_requests++;
	p->head = m == M_HEAD;
	p->close_after = m == M_OTHER; /* PUT, PATCH...: their bodies are not read */
	if (!path || strlen(path) != len || path[0] != '/')
		return http__respond_error(wsi, p, HTTP_STATUS_BAD_REQUEST, "invalid path");
	/* A refused Origin may still GET (the browser hides the answer), never act. */
	p->origin_v = peer__origin(http__adapter(wsi), wsi, p->origin, sizeof(p->origin));
	if (p->origin_v == ORIGIN_REFUSED && !get) {
		p->origin_v = ORIGIN_NONE;
		return http__respond_error(wsi, p, HTTP_STATUS_FORBIDDEN,
			"origin '%.100s' is not allowed (allowed_origins)", p->origin);
	}
	if (m == M_OPTIONS)
		return http__respond(wsi, p, HTTP_STATUS_NO_CONTENT, NULL, NULL, 0);
	return route(wsi, p, m, path);
}

/* Safe twice (CLOSED_HTTP, then DROP_PROTOCOL) and on a request that never started. */
static void cleanup(struct pss_http *p)
{
	sse__end(&p->s); /* returns at once unless s became an SSE stream */
	p->sse = false;
	rtg_identity_free(p->id);
	p->id = NULL;
	free(p->body);
	p->body = NULL;
	p->body_len = 0;
	free(p->resp);
	p->resp = NULL;
	free(p->set_cookie);
	p->set_cookie = NULL;
	profile__unref(p->prof);
	p->prof = NULL;
}

static int callback_http(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss_http *p = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, p, in, len);
	case LWS_CALLBACK_HTTP_BODY:
		return http__on_body(wsi, p, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http__on_body_done(wsi, p);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return p ? on_writeable(wsi, p) : 0;
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
	/* one send() per SSE chunk (lws would cut it to its 4 KiB service buffer) */
	.tx_packet_size = 65536,
};
