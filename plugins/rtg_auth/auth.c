/*
 * auth.c - MOSQ_EVT_BASIC_AUTH: the MQTT password is a JWT.
 *
 * The token is verified with the shared policy library; a username, when the
 * client sends one, must equal the token's "sub", and the broker's username is
 * then set to "sub" so logs and %u agree. The identity is remembered per
 * client context for the ACL checks. Refusals are logged with their reason,
 * never with the token. Runs on the broker's main thread.
 */
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "plugin.h"
#include "rtg_util.h"

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static int refuse(
	struct auth_state *st, struct mosquitto *client, const char *username, const char *reason)
{
	clients__remove(st, client);
	mosquitto_log_printf(MOSQ_LOG_WARNING,
		"rtg_auth: refused client '%s' from %s (username '%s'): %s",
		or_dash(mosquitto_client_id(client)), or_dash(mosquitto_client_address(client)),
		or_dash(username), reason);
	return MOSQ_ERR_AUTH;
}

/*
 * mosquitto's re-check pass after a reload (plugin.c, on_reload) also runs
 * for sessions that are offline: a persistent session, or a client the
 * reload has just disconnected. Refusing one makes mosquitto 2.0.11 run its
 * disconnect again on a context already disconnected (a second will, a second
 * session-expiry entry), and keeps no client out: any reconnection
 * authenticates afresh. So an offline session passes, but loses its identity
 * if its key was removed, so that nothing more is queued for it (the ACL
 * refuses a client without identity). Returns true if ed was such a call.
 */
static bool offline_recheck(struct auth_state *st, const struct mosquitto_evt_basic_auth *ed)
{
	struct client_entry *e;

	if (!st->reload_recheck)
		return false;
	e = clients__find(st, ed->client);
	if (e && e->connected)
		return false;
	if (e && !rtg_jwt_key_present(st->policy.verifier, e->id))
		clients__remove(st, ed->client);
	return true;
}

int auth__on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct auth_state *st = userdata;
	struct rtg_identity *id = NULL;
	enum rtg_err rc;

	UNUSED(event);
	if (!ed->client)
		return MOSQ_ERR_AUTH;
	if (offline_recheck(st, ed))
		return MOSQ_ERR_SUCCESS;
	if (!ed->password || !ed->password[0])
		return refuse(st, ed->client, ed->username, "no token in the password field");

	rc = rtg_jwt_verify(st->policy.verifier, ed->password, time(NULL), &id);
	if (rc != RTG_OK)
		return refuse(st, ed->client, ed->username, rtg_strerror(rc));

	if (ed->username && ed->username[0] && strcmp(ed->username, id->sub) != 0) {
		rtg_identity_free(id);
		return refuse(
			st, ed->client, ed->username, "username does not match token subject");
	}
	if (!ed->username || strcmp(ed->username, id->sub) != 0) {
		if (mosquitto_set_username(ed->client, id->sub) != MOSQ_ERR_SUCCESS) {
			rtg_identity_free(id);
			return refuse(st, ed->client, ed->username, "cannot set username");
		}
	}
	/* clients__set takes the identity, also on failure. */
	if (clients__set(st, ed->client, id) != RTG_OK)
		return refuse(st, ed->client, ed->username, "out of memory");

	mosquitto_log_printf(MOSQ_LOG_INFO, "rtg_auth: client '%s' authenticated as '%s'",
		or_dash(mosquitto_client_id(ed->client)), mosquitto_client_username(ed->client));
	return MOSQ_ERR_SUCCESS;
}
