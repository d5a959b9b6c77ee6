/*
 * peer.c - a client's connection, as the other layers need it: what its
 * request says for the policy layer (its token, its Origin, whether it is
 * local), the socket's send buffer, and the part of struct session_ops every
 * transport shares (ask for a writeable callback, close, drop).
 *
 * Tokens come from an "Authorization: Bearer" header, the "rtg_token" cookie
 * (EventSource cannot set headers) or "?token=", in that order. They are
 * wiped from the stack once verified and never logged.
 * lws thread only.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "adapter.h"
#include "reqparse.h"

/* The cookie a page sets for EventSource, which cannot send headers. */
#define COOKIE_NAME "rtg_token"

/*
 * Copies the value of cookie name from the Cookie header into buf. The
 * parsing is reqparse__cookie(): lws_http_cookie_get() logs the whole header,
 * and with it the token.
 */
static bool cookie_value(struct lws *wsi, const char *name, char *buf, size_t len)
{
	char hdr[RTG_JWT_MAX_LEN + 512];
	bool found;

	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) <= 0)
		return false;
	found = reqparse__cookie(hdr, name, buf, len);
	explicit_bzero(hdr, sizeof(hdr));
	return found;
}

/*
 * Finds the request's token: the Authorization header, then the cookie, then
 * the query string. Returns true and copies it into buf if one was found.
 */
bool peer__token(struct lws *wsi, char *buf, size_t len)
{
	char hdr[RTG_JWT_MAX_LEN + 16];
	const char *v;
	int n;

	n = lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n > 7 && !strncasecmp(hdr, "Bearer ", 7)) {
		snprintf(buf, len, "%s", hdr + 7);
		explicit_bzero(hdr, sizeof(hdr));
		return buf[0] != '\0';
	}
	if (cookie_value(wsi, COOKIE_NAME, buf, len))
		return true;
	/* lws copies "token=<value>" into hdr and returns a pointer to the value. */
	v = lws_get_urlarg_by_name(wsi, "token=", hdr, (int)sizeof(hdr));
	if (v && *v) {
		snprintf(buf, len, "%s", v);
		explicit_bzero(hdr, sizeof(hdr));
		return true;
	}
	buf[0] = '\0';
	return false;
}

bool peer__is_loopback(struct lws *wsi)
{
	char ip[64];

	if (!lws_get_peer_simple(wsi, ip, sizeof(ip)))
		return false;
	return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncmp(ip, "::ffff:127.", 11);
}

/* req__identify() with the request's token. */
enum req_auth peer__identify(struct adapter *a, struct lws *wsi, bool optional,
	struct rtg_identity **id, char *err, size_t errlen)
{
	char token[RTG_JWT_MAX_LEN + 1];
	enum req_auth rc;

	rc = req__identify(a, peer__token(wsi, token, sizeof(token)) ? token : NULL, optional, id,
		err, errlen);
	explicit_bzero(token, sizeof(token));
	return rc;
}

/* limits__origin() for the request's Origin: copied to buf (empty when there is none). */
enum origin_verdict peer__origin(struct adapter *a, struct lws *wsi, char *buf, size_t len)
{
	char host[256];
	struct origin_req r = {buf, host, lws_is_ssl(wsi) != 0};

	if (lws_hdr_copy(wsi, buf, (int)len, WSI_TOKEN_ORIGIN) <= 0)
		buf[0] = '\0';
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		host[0] = '\0';
	return limits__origin(a, &r);
}

/*
 * A modest send buffer per client: a loopback client that stops reading
 * would otherwise absorb megabytes of kernel buffer before the adapter sees
 * it lag, and that memory counts against the machine all the same.
 */
void peer__tune_socket(struct adapter *a, struct lws *wsi)
{
	int fd = (int)lws_get_socket_fd(wsi), size = a->cfg.socket_sndbuf;

	if (size && fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
		lwsl_warn("SO_SNDBUF %d refused on fd %d\n", size, fd);
}

/* ---- the shared part of struct session_ops (ws.c, sse.c) ------------------------------ */

void peer__writeable(struct session *s)
{
	lws_callback_on_writable(s->wsi);
}

/* The writeable callback writes what is queued, then the close; lws drops the connection
 * grace_s later whatever the peer does. */
void peer__close(struct session *s, int grace_s)
{
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, grace_s);
	lws_callback_on_writable(s->wsi);
}

/* The socket failed: lws closes it from its loop. */
void peer__fail(struct session *s)
{
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}
