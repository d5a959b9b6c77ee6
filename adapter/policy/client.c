/*
 * client.c - who is behind a session: the endpoint it came in on, its
 * identity, the end of its token, and everything of it that goes when the
 * session ends.
 *
 * The core (core/session.c) knows only what to deliver; this is the policy
 * layer's part of a session. A token ends at the same moment on every
 * transport and on MQTT: exp + leeway (rtg_jwt_end_time()).
 * One thread only: the event loop's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "rtg_log.h"

/* Warn a client this long before its token expires. */
#define EXPIRY_WARNING_S 60

/*
 * Binds s to the endpoint of @path in @prof (taking a reference to prof):
 * its envelope, greeting and subscriptions, and its path parameters, copied
 * out only when the path has some. Returns 0, or -1 if no endpoint serves
 * the path (or out of memory).
 */
int client__set_endpoint(struct session *s, struct profiles *prof, const char *path, bool upgrade)
{
	struct prof_params p;

	s->ep = profile__match(prof, path, upgrade, &p);
	if (!s->ep)
		return -1;
	if (p.n) {
		s->params = malloc(sizeof(*s->params));
		/* matched again in place: the values point into the struct's own buffer */
		if (!s->params || !profile__match(prof, path, upgrade, s->params)) {
			s->ep = NULL;
			return -1;
		}
	}
	s->prof = profile__ref(prof);
	snprintf(s->path, sizeof(s->path), "%s", path);
	return 0;
}

/* ---- identity and token expiry ------------------------------------------------------ */

static void on_expiry_timer(struct wheel_timer *t);

/*
 * Arms the expiry timer: for the warning EXPIRY_WARNING_S ahead while not yet
 * warned, then for the end. The end is rtg_jwt_end_time(), exp + leeway: the
 * first second at which the token would no longer verify, and the moment the
 * broker plugin disconnects an MQTT client with the same token, so a token
 * ends at the same time on MQTT, WebSocket and SSE.
 */
static void arm_expiry(struct session *s)
{
	struct timespec ts;
	int64_t at_us, now_us, delay_us;

	/* In microseconds of the wall clock (exp is a wall-clock second): the wheel rounds the
	 * due time up to its next second, and a delay counted in whole seconds from time(NULL)
	 * would add up to a second more. */
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	at_us = (int64_t)rtg_jwt_end_time(s->a->verifier, s->id) * 1000000;
	if (!s->expiry_warned)
		at_us -= (int64_t)EXPIRY_WARNING_S * 1000000;
	delay_us = at_us > now_us ? at_us - now_us : 0;
	timers__schedule(&s->core->wheel, &s->t_auth, on_expiry_timer, delay_us);
}

/* Ends a session whose token no longer counts: SSE gets a last event of @p type (with the id
 * to resume from, sse.c), WebSocket the close 4001 with @p why as reason. */
static void end_auth(struct session *s, const char *type, const char *why)
{
	cJSON *obj;

	if (s->ops && s->ops->ends_with_event) {
		obj = session__json_base(type);
		if (obj && !cJSON_AddStringToObject(obj, "message", why)) {
			cJSON_Delete(obj);
			obj = NULL;
		}
		session__send_json(s, obj);
	}
	session__close(s, RTG_CLOSE_AUTH, why);
}

static void on_expiry_timer(struct wheel_timer *t)
{
	struct session *s = container_of(t, struct session, t_auth);
	time_t left;
	cJSON *obj;

	if (!s->id)
		return;
	left = rtg_jwt_end_time(s->a->verifier, s->id) - time(NULL);
	if (left <= 0) {
		end_auth(s, "auth_expired", "token expired");
		return;
	}
	if (!s->expiry_warned) {
		s->expiry_warned = true;
		obj = session__json_base("auth_expiring");
		if (obj && !cJSON_AddNumberToObject(obj, "expires_in", (double)left)) {
			cJSON_Delete(obj);
			obj = NULL;
		}
		session__send_json(s, obj);
	}
	arm_expiry(s);
}

/*
 * Sets (or refreshes) the session's identity, taking ownership of id, and
 * arms the expiry timer: a warning EXPIRY_WARNING_S before, the close at the
 * end (exp + leeway). A refresh must keep the same subject. Returns 0,
 * CLIENT_OTHER_SUBJECT if the subject differs, or CLIENT_USER_LIMIT if the
 * user already has max_connections_per_user connections; id is freed on error.
 */
int client__set_identity(struct session *s, struct rtg_identity *id)
{
	struct rtg_identity *old = s->id;

	if (s->id && strcmp(s->id->sub, id->sub) != 0) {
		rtg_identity_free(id);
		return CLIENT_OTHER_SUBJECT;
	}
	s->id = id;
	if (limits__user_add(s->a, s)) {
		s->id = old;
		rtg_identity_free(id);
		return CLIENT_USER_LIMIT;
	}
	rtg_identity_free(old);
	s->expiry_warned = false;
	arm_expiry(s);
	return 0;
}

/*
 * After a reload (auth.c): a session whose token was verified with a key the
 * new set no longer holds ends now (SSE: an auth_revoked event; WebSocket:
 * 4001 "token key removed"); the others stay, their end recomputed with the
 * new leeway. Returns true if the session was ended.
 */
bool client__recheck_key(struct session *s)
{
	if (!s->id || s->closing)
		return false;
	if (rtg_jwt_key_present(s->a->verifier, s->id)) {
		arm_expiry(s);
		return false;
	}
	rtg_notice("ending a session of '%s': the key of its token (kid '%s', %s) was removed\n",
		s->id->sub, s->id->kid ? s->id->kid : "none", s->id->alg);
	end_auth(s, "auth_revoked", "token key removed");
	return true;
}

/*
 * Ends s: what the policy layer holds for it (its calculations, its place in
 * the user's count, its identity and endpoint), then the core's part. The
 * transport calls it once, when the connection is gone.
 */
void client__end(struct session *s)
{
	if (!s->core)
		return; /* never initialised (refused before the session began) */
	calc__unwatch_all(s);
	limits__user_remove(s->a, s);
	session__cleanup(s);
	rtg_identity_free(s->id);
	s->id = NULL;
	free(s->params);
	s->params = NULL;
	profile__unref(s->prof);
	s->prof = NULL;
	s->ep = NULL;
}
