/*
 * limits.c - what protects the adapter and its other clients from one client:
 * the per-connection token bucket on inbound messages, the caps on
 * connections (in total and per user), the size of a client message, the
 * subscriptions per connection, and the Origin allow-list for WebSocket
 * upgrades and CORS.
 *
 * It decides and counts; the transports (ws.c, sse.c, http.c) call it at the
 * right moment, with what they read from the request (transport/peer.c), and
 * turn a refusal into their own error form. The send-queue bounds are the
 * core's (core/session.c); the socket send buffer is set by the transport
 * (peer__tune_socket()).
 * One thread only: the event loop's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"

/* ==== the token bucket ============================================================= */

void limits__session_init(struct session *s)
{
	s->tokens = (double)s->a->cfg.rate_burst;
	s->refilled = core__now_us();
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
	int64_t now = core__now_us();

	s->tokens += (double)(now - s->refilled) * cfg->rate_limit / US_PER_SEC;
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

/* ==== sizes and counts ================================================================= */

/* A client message (WebSocket frame or HTTP body) over max_message_size. */
bool limits__too_big(const struct adapter *a, unsigned long long len)
{
	return len > (unsigned long long)a->cfg.max_message_size;
}

/* Whether s is at max_subscriptions (a new one is refused, and counted). */
bool limits__subscriptions_full(struct adapter *a, const struct session *s)
{
	if (s->subs.count < (unsigned)a->cfg.max_subscriptions)
		return false;
	a->stats.refused_subscriptions++;
	return true;
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
static bool same_origin(const struct origin_req *r)
{
	const char *rest;

	if (!r->host || !*r->host)
		return false;
	if (!strncasecmp(r->origin, "https://", 8) && r->tls)
		rest = r->origin + 8;
	else if (!strncasecmp(r->origin, "http://", 7) && !r->tls)
		rest = r->origin + 7;
	else
		return false;
	return !strcasecmp(rest, r->host);
}

/*
 * Judges the request's Origin header. Browsers always send one on WebSocket
 * upgrades and cross-site requests; other clients (rtg-sub, curl, devices)
 * usually do not, and an absent Origin cannot be a cross-site browser
 * request, so it passes. A present one must be this server's own origin or
 * be listed in allowed_origins ("*" allows any).
 * Returns ORIGIN_NONE (no Origin), ORIGIN_ALLOWED or ORIGIN_REFUSED
 * (counted). The transport reads the headers (transport/peer.c).
 */
enum origin_verdict limits__origin(struct adapter *a, const struct origin_req *r)
{
	if (!r->origin || !*r->origin)
		return ORIGIN_NONE;
	if (same_origin(r) ||
		(a->cfg.allowed_origins && in_origin_list(a->cfg.allowed_origins, r->origin)))
		return ORIGIN_ALLOWED;
	a->stats.refused_origin++;
	return ORIGIN_REFUSED;
}
