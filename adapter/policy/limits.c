/*
 * limits.c - what protects the adapter and its other clients from one client:
 * the per-connection token bucket on inbound messages, the caps on
 * connections (in total and per user), the Origin allow-list for WebSocket
 * upgrades and CORS, and the socket send buffer that makes a stalled client
 * visible early.
 *
 * It decides and counts; the protocol files (ws.c, sse.c, http.c) call it at
 * the right moment and turn a refusal into their own error form. The
 * subscription cap lives where subscriptions are made (ws_subscribe.c,
 * sse.c), the send-queue bounds in session.c. lws thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "adapter.h"

/* ==== the token bucket ============================================================= */

void limits__session_init(struct session *s)
{
	s->tokens = (double)s->a->cfg.rate_burst;
	s->refilled = lws_now_usecs();
}

/*
 * Takes one token for an inbound message. The bucket refills at rate_limit
 * per second up to rate_burst. Without a token the message is refused with an
 * error; rate_limit_close refusals in a row close the connection with 1008,
 * so a client that keeps flooding costs nothing more than the reads.
 * Returns true if the message may be handled.
 */
bool limits__take(struct session *s)
{
	const struct adapter_config *cfg = &s->a->cfg;
	lws_usec_t now = lws_now_usecs();

	s->tokens += (double)(now - s->refilled) * cfg->rate_limit / LWS_US_PER_SEC;
	if (s->tokens > cfg->rate_burst)
		s->tokens = cfg->rate_burst;
	s->refilled = now;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		s->refused_run = 0;
		return true;
	}
	s->a->stats.rate_limited++;
	if (++s->refused_run >= (unsigned)cfg->rate_limit_close) {
		s->a->stats.rate_closed++;
		session__close(
			s, RTG_CLOSE_POLICY, "policy violation: message rate limit exceeded");
		return false;
	}
	session__send_error(s,
		"rate limit exceeded: at most %d messages/s (burst %d); message dropped",
		cfg->rate_limit, cfg->rate_burst);
	return false;
}

/* ==== connection caps ================================================================ */

/* Open connections per user, to enforce max_connections_per_user. */
struct user_count {
	char *sub;
	unsigned n;
	UT_hash_handle hh;
};

/* Returns true if one more connection fits under max_connections. */
bool limits__capacity(struct adapter *a)
{
	if (a->stats.ws_connections + a->stats.sse_connections < (uint64_t)a->cfg.max_connections)
		return true;
	a->stats.refused_capacity++;
	return false;
}

/*
 * Counts the session against its user (on its first identity). Returns 0, or
 * -1 when the user already has max_connections_per_user connections (or out
 * of memory); the session is then not counted.
 */
int limits__user_add(struct adapter *a, struct session *s)
{
	struct user_count *u;

	if (s->user_counted)
		return 0;
	HASH_FIND_STR(a->users, s->id->sub, u);
	if (u && u->n >= (unsigned)a->cfg.max_connections_per_user) {
		a->stats.refused_user++;
		return -1;
	}
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u || !(u->sub = strdup(s->id->sub))) {
			free(u);
			return -1;
		}
		HASH_ADD_KEYPTR(hh, a->users, u->sub, strlen(u->sub), u);
	}
	u->n++;
	s->user_counted = true;
	return 0;
}

void limits__user_remove(struct adapter *a, struct session *s)
{
	struct user_count *u;

	if (!s->user_counted || !s->id)
		return;
	s->user_counted = false;
	HASH_FIND_STR(a->users, s->id->sub, u);
	if (!u || --u->n)
		return;
	HASH_DEL(a->users, u);
	free(u->sub);
	free(u);
}

void limits__cleanup(struct adapter *a)
{
	struct user_count *u, *tmp;

	// cppcheck-suppress uninitvar
	HASH_ITER(hh, a->users, u, tmp) {
		HASH_DEL(a->users, u);
		free(u->sub);
		free(u);
	}
}

/* ==== origins ========================================================================= */

/* Is origin (len bytes) one of the comma-separated entries of list, or is "*" there? */
static bool in_origin_list(const char *list, const char *origin)
{
	size_t olen = strlen(origin);
	const char *p = list, *e;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if ((n == 1 && *p == '*') || (n == olen && !strncasecmp(p, origin, n)))
			return true;
		p = e;
	}
	return false;
}

/* Same origin: the Origin is this server's own scheme://Host. */
static bool same_origin(struct lws *wsi, const char *origin)
{
	char host[256];
	const char *rest;

	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		return false;
	if (!strncasecmp(origin, "https://", 8) && lws_is_ssl(wsi))
		rest = origin + 8;
	else if (!strncasecmp(origin, "http://", 7) && !lws_is_ssl(wsi))
		rest = origin + 7;
	else
		return false;
	return !strcasecmp(rest, host);
}

/*
 * Judges the request's Origin header. Browsers always send one on WebSocket
 * upgrades and cross-site requests; other clients (rtg-sub, curl, devices)
 * usually do not, and an absent Origin cannot be a cross-site browser
 * request, so it passes. A present one must be this server's own origin or
 * be listed in allowed_origins ("*" allows any).
 * Returns ORIGIN_NONE, ORIGIN_ALLOWED (origin copied to buf) or
 * ORIGIN_REFUSED (counted).
 */
enum origin_verdict limits__origin(struct adapter *a, struct lws *wsi, char *buf, size_t len)
{
	buf[0] = '\0';
	if (lws_hdr_copy(wsi, buf, (int)len, WSI_TOKEN_ORIGIN) <= 0) {
		buf[0] = '\0';
		return ORIGIN_NONE;
	}
	if (same_origin(wsi, buf) ||
		(a->cfg.allowed_origins && in_origin_list(a->cfg.allowed_origins, buf)))
		return ORIGIN_ALLOWED;
	a->stats.refused_origin++;
	return ORIGIN_REFUSED;
}

/* ==== sockets ========================================================================= */

/*
 * A modest send buffer per client: a loopback client that stops reading
 * would otherwise absorb megabytes of kernel buffer before the adapter sees
 * it lag, and that memory counts against the machine all the same.
 */
void limits__socket(struct adapter *a, struct lws *wsi)
{
	int fd = (int)lws_get_socket_fd(wsi), size = a->cfg.socket_sndbuf;

	if (size && fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
		lwsl_warn("SO_SNDBUF %d refused on fd %d\n", size, fd);
}
