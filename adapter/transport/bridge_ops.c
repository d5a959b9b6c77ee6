/*
 * bridge_ops.c - what the core and the policy layer ask of the broker
 * connection (struct core_broker): whether it is up, subscribe and
 * unsubscribe a filter, publish. The connection itself is bridge.c's; what
 * the broker keeps across restarts, bridge_session.c's. lws thread only.
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "adapter.h"

bool bridge__up(struct adapter *a)
{
	return a->bridge.state == BRIDGE_UP;
}

/*
 * SUBACKs and messages arrive in order (subs__accept_copy relies on it): at
 * QoS 0, and at QoS 1 too as the receive maximum lets the broker send every
 * message at once. QoS 1 only with a kept session, where the broker queues
 * for us while we are away (QoS 0 messages only with queue_qos0_messages).
 */
static int bridge_subscribe(struct adapter *a, struct bsub *b)
{
	mosquitto_property *props = NULL;
	int qos = a->cfg.mqtt_session_expiry > 0 ? 1 : 0;
	int rc;

	if (!bridge__up(a))
		return -1;
	if (mosquitto_property_add_varint(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, b->id))
		return -1;
	rc = mosquitto_subscribe_v5(a->bridge.mosq, &b->mid, b->filter, qos, 0, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		lwsl_err("bridge: subscribe %s: %s\n", b->filter, mosquitto_strerror(rc));
		return -1;
	}
	bridge__session_add(a, b->filter, b->id);
	b->sent = true;
	bridge__want_write(a);
	return 0;
}

static int bridge_unsubscribe(struct adapter *a, struct bsub *b)
{
	int rc;

	if (!bridge__up(a))
		return -1;
	rc = mosquitto_unsubscribe_v5(a->bridge.mosq, &b->mid, b->filter, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		return -1;
	bridge__session_remove(a, b->filter);
	bridge__want_write(a);
	return 0;
}

/* Publishes at QoS 1, so the broker takes responsibility for the message. */
static int bridge_publish(
	struct adapter *a, const char *topic, const void *payload, size_t len, bool retain)
{
	int rc;

	if (!bridge__up(a))
		return -1;
	rc = mosquitto_publish_v5(a->bridge.mosq, NULL, topic, (int)len, payload, 1, retain, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		lwsl_warn("bridge: publish %s: %s\n", topic, mosquitto_strerror(rc));
		return -1;
	}
	a->bridge.published++;
	bridge__want_write(a);
	return 0;
}

const struct core_broker bridge__broker = {
	.up = bridge__up,
	.subscribe = bridge_subscribe,
	.unsubscribe = bridge_unsubscribe,
	.publish = bridge_publish,
};
