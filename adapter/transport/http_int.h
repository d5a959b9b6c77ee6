/*
 * http_int.h - internals shared by http.c and http_api.c; private to http*.c,
 * nothing else includes it.
 *
 * The per-request data (struct pss_http), the request method and POST route,
 * and the response helpers of http.c that the API handlers in http_api.c
 * answer with. The rest of the adapter sees only http__protocol (adapter.h).
 * lws thread only, like everything in http*.c.
 */
#ifndef RTG_ADAPTER_HTTP_INT_H
#define RTG_ADAPTER_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "adapter.h"

enum method { M_OTHER, M_GET, M_HEAD, M_POST, M_OPTIONS, M_DELETE };
enum route { R_NONE, R_PUBLISH, R_BROADCAST, R_CALC };

/* Per-request data; lws frees it (and calls DROP_PROTOCOL) after each transaction. */
struct pss_http {
	struct session s; /* first; used only when the request becomes an SSE stream */
	bool sse; /* s is a live SSE stream: sse.c writes it */
	enum route route; /* a POST whose body is awaited */
	struct profiles *prof; /* a reference while a POST waits for its body (bc lives in it) */
	const struct prof_broadcast *bc;
	struct rtg_identity *id; /* the caller of a POST route */
	char *body;
	size_t body_len;
	/* the response, written in LWS_CALLBACK_HTTP_WRITEABLE */
	bool responding;
	bool head; /* HEAD: headers only */
	bool headers_sent;
	bool close_after; /* the request body is not read: close after the response */
	enum origin_verdict origin_v; /* of the request's Origin header (limits.c) */
	char origin[128]; /* the Origin header when origin_v is ORIGIN_ALLOWED */
	int status;
	const char *ctype;
	const char *allow; /* the Allow header of a 405 */
	char *set_cookie; /* a Set-Cookie header value (POST/DELETE /api/session), or NULL */
	unsigned char *resp; /* LWS_PRE headroom, then the body */
	size_t resp_len;
	char file[512]; /* a static file to serve instead, or "" */
};

static inline struct adapter *http__adapter(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ==== http.c: responses ================================================================ */

/* Keeps the response (copying text) and asks for a writeable callback. Returns 0. */
int http__respond(struct lws *wsi, struct pss_http *p, int status, const char *ctype,
	const char *text, size_t len);

/* Responds with obj as JSON and deletes it; NULL (out of memory) gives a bare 500. */
int http__respond_json(struct lws *wsi, struct pss_http *p, int status, cJSON *obj);

/* {"error": message, "status": status}; every refusal is counted. Returns 0. */
int http__respond_error(struct lws *wsi, struct pss_http *p, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A 405 with an Allow header. Returns 0. */
int http__not_allowed(struct lws *wsi, struct pss_http *p, const char *allow);

/* ==== http_api.c: the JSON API ============================================================ */

/*
 * A request for an HTTP endpoint of the profiles: its handler answers, or a
 * POST route waits for its body. Returns 0.
 */
int http__handle(struct lws *wsi, struct pss_http *p, enum method m, const struct prof_endpoint *ep,
	const struct prof_params *params);

/* GET/HEAD of a file of static_dir ("/dashboard.js"); 404 or 405 otherwise. Returns 0. */
int http__serve_file(struct lws *wsi, struct pss_http *p, enum method m, const char *path);

/* LWS_CALLBACK_HTTP_BODY and _BODY_COMPLETION of a POST route. Return 0, or -1 to close. */
int http__on_body(struct lws *wsi, struct pss_http *p, const void *in, size_t len);
int http__on_body_done(struct lws *wsi, struct pss_http *p);

#endif /* RTG_ADAPTER_HTTP_INT_H */
