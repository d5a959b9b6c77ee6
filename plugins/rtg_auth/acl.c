/*
 * acl.c - MOSQ_EVT_ACL_CHECK: every publish, subscribe and delivery.
 *
 * Looks up the identity the client authenticated with (clients.c), refuses
 * everything once its token has expired, and asks the shared ACL (common/
 * rtg_acl) about the topic, so the broker and the adapter decide alike.
 * Unsubscribing is always allowed. Fail closed: no identity, no access.
 * MQTT clients are never anonymous: a NULL identity would make rtg_acl_check()
 * apply the ACL's anonymous (browser) rules, so it is refused here instead.
 * Runs on the broker's main thread.
 */
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "plugin.h"
#include "rtg_util.h"

static const char *access_name(int access)
{
	switch (access) {
	case MOSQ_ACL_READ:
		return "read";
	case MOSQ_ACL_WRITE:
		return "write";
	case MOSQ_ACL_SUBSCRIBE:
		return "subscribe";
	default:
		return "unknown";
	}
}

/*
 * Refusals of publish and subscribe are logged as warnings. Refused
 * deliveries (read) are only logged at debug level: after an ACL change one
 * subscription can be refused once per message, which must not flood the log.
 */
static int deny(struct mosquitto *client, const struct client_entry *e, int access,
	const char *topic, const char *reason)
{
	int level = access == MOSQ_ACL_READ ? MOSQ_LOG_DEBUG : MOSQ_LOG_WARNING;
	const char *cid = mosquitto_client_id(client);

	mosquitto_log_printf(level, "rtg_auth: denied %s '%s' to client '%s' (sub '%s'): %s",
		access_name(access), topic ? topic : "", cid ? cid : "-", e ? e->id->sub : "-",
		reason);
	return MOSQ_ERR_ACL_DENIED;
}

static int to_rtg_access(int access, enum rtg_access *out)
{
	switch (access) {
	case MOSQ_ACL_READ:
		*out = RTG_ACCESS_READ;
		return 0;
	case MOSQ_ACL_WRITE:
		*out = RTG_ACCESS_WRITE;
		return 0;
	case MOSQ_ACL_SUBSCRIBE:
		*out = RTG_ACCESS_SUBSCRIBE;
		return 0;
	default:
		return -1;
	}
}

int acl__on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct auth_state *st = userdata;
	struct client_entry *e;
	enum rtg_access access;
	enum rtg_err rc;
	time_t now;

	UNUSED(event);
	if (ed->access == MOSQ_ACL_UNSUBSCRIBE)
		return MOSQ_ERR_SUCCESS;
	e = clients__find(st, ed->client);
	/* auth.c stores only verified identities; !e->id guards that, fail closed. */
	if (!e || !e->id)
		return deny(ed->client, NULL, ed->access, ed->topic, "client not authenticated");
	if (to_rtg_access(ed->access, &access))
		return deny(ed->client, e, ed->access, ed->topic, "unknown access type");

	now = time(NULL);
	if (clients__expired(st, e, now)) {
		if (!e->expiry_logged) {
			e->expiry_logged = true;
			mosquitto_log_printf(MOSQ_LOG_NOTICE,
				"rtg_auth: token of client '%s' (sub '%s') expired; refusing access",
				e->client_id, e->id->sub);
		}
		return MOSQ_ERR_ACL_DENIED;
	}

	rc = rtg_acl_check(
		st->policy.acl, e->id, mosquitto_client_id(ed->client), ed->topic, access);
	if (rc != RTG_OK)
		return deny(ed->client, e, ed->access, ed->topic, rtg_strerror(rc));
	return MOSQ_ERR_SUCCESS;
}
