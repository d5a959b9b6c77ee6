/*
 * clients.c - the identity behind each broker client context.
 *
 * A uthash table keyed by the context pointer. An entry is written by every
 * successful authentication and removed by every failed one, so a context
 * whose address is reused never inherits a stale identity. It outlives the
 * network connection because the broker still checks the will message and
 * messages queued for persistent sessions after the disconnect; a once a
 * second sweep disconnects clients whose token expired and drops entries no
 * session needs. Runs on the broker's main thread.
 */
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "plugin.h"

static void entry_free(struct client_entry *e)
{
	if (!e)
		return;
	rtg_identity_free(e->id);
	free(e->client_id);
	free(e);
}

struct client_entry *clients__find(struct auth_state *st, const struct mosquitto *client)
{
	struct client_entry *e = NULL;

	HASH_FIND_PTR(st->clients, &client, e);
	return e;
}

/*
 * Records that client authenticated as id. Takes ownership of id in every
 * case (it is freed on error). Returns RTG_OK or RTG_ERR_NOMEM.
 */
enum rtg_err clients__set(
	struct auth_state *st, const struct mosquitto *client, struct rtg_identity *id)
{
	struct client_entry *e;
	const char *cid = mosquitto_client_id(client);

	clients__remove(st, client);
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->client = client;
	e->id = id;
	e->connected = true;
	e->client_id = strdup(cid ? cid : "");
	if (!e->client_id)
		goto nomem;
	HASH_ADD_PTR(st->clients, client, e);
	return RTG_OK;

nomem:
	if (e)
		e->id = NULL;
	entry_free(e);
	rtg_identity_free(id);
	return RTG_ERR_NOMEM;
}

void clients__remove(struct auth_state *st, const struct mosquitto *client)
{
	struct client_entry *e = clients__find(st, client);

	if (!e)
		return;
	HASH_DEL(st->clients, e);
	entry_free(e);
}

/*
 * The connection ended. The entry stays until the next sweep so that the will
 * message, checked right after this event, is still judged by its identity.
 * Only this runs inside the broker's disconnect path: it never frees.
 */
void clients__mark_disconnected(struct auth_state *st, const struct mosquitto *client)
{
	struct client_entry *e = clients__find(st, client);

	if (!e)
		return;
	e->connected = false;
	/*
	 * MQTT 5 separates clean start from session expiry: a client that
	 * connected with clean start and a session expiry interval still has a
	 * session the broker keeps, and 2.0.11 tells plugins nothing of the
	 * interval. So a v5 entry is kept until its token expires.
	 */
	e->persistent = !mosquitto_client_clean_session(client) ||
		mosquitto_client_protocol_version(client) == 5;
}

/* Returns true if the token is expired, by the same rule as rtg_jwt_verify() and the moment
 * the adapter ends its connections (rtg_jwt_end_time(): exp + leeway). */
bool clients__expired(const struct auth_state *st, const struct client_entry *e, time_t now)
{
	return now >= rtg_jwt_end_time(st->policy.verifier, e->id);
}

/*
 * After a reload: disconnects every connected client whose token was verified
 * with a key that the new set no longer holds (rtg_jwt_key_present()), with
 * the reason in the log. Clients of the keys that stayed are not touched.
 * Returns how many were disconnected.
 */
size_t clients__end_removed_keys(struct auth_state *st)
{
	struct client_entry *e, *tmp;
	size_t n = 0;

	HASH_ITER(hh, st->clients, e, tmp) {
		// cppcheck-suppress uninitvar
		if (!e->connected || rtg_jwt_key_present(st->policy.verifier, e->id))
			continue;
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
			"rtg_auth: disconnecting client '%s' (sub '%s'): the key of its token "
			"(kid '%s', %s) was removed from the key set",
			e->client_id, e->id->sub, e->id->kid ? e->id->kid : "none", e->id->alg);
		/* MQTT 5 clients get DISCONNECT 0x98; NOT_FOUND if already gone. */
		(void)mosquitto_kick_client_by_clientid(e->client_id, false);
		e->connected = false;
		n++;
	}
	return n;
}

/*
 * Disconnects connected clients whose token has expired (they are already
 * refused every ACL check) and frees entries no longer needed: closed
 * non-persistent sessions, and any entry whose token expired while offline.
 * Kicking a client calls back into clients__mark_disconnected(), which only
 * flips flags, so iterating while kicking is safe.
 */
void clients__sweep(struct auth_state *st, time_t now)
{
	struct client_entry *e, *tmp;

	HASH_ITER(hh, st->clients, e, tmp) {
		/* cppcheck does not expand HASH_ITER and thinks e is uninitialised. */
		// cppcheck-suppress uninitvar
		if (e->connected && clients__expired(st, e, now)) {
			mosquitto_log_printf(MOSQ_LOG_NOTICE,
				"rtg_auth: disconnecting client '%s' (sub '%s'): token expired",
				e->client_id, e->id->sub);
			e->expiry_logged = true;
			/* NOT_FOUND only if the broker already dropped it: nothing to do. */
			(void)mosquitto_kick_client_by_clientid(e->client_id, false);
			e->connected = false;
			continue;
		}
		if (e->connected)
			continue;
		if (!e->persistent || clients__expired(st, e, now)) {
			HASH_DEL(st->clients, e);
			entry_free(e);
		}
	}
}

void clients__free_all(struct auth_state *st)
{
	struct client_entry *e, *tmp;

	HASH_ITER(hh, st->clients, e, tmp) {
		HASH_DEL(st->clients, e);
		entry_free(e);
	}
}
