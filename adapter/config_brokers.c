/*
 * config_brokers.c - the list of MQTT brokers the adapter connects to, in
 * order: mqtt_brokers, or mqtt_host and mqtt_port as a list of one (the
 * list's syntax is common/rtg_broker.c's). It does not connect or decide
 * when to move from one broker to the next (bridge_failover.c). Main thread,
 * at start-up.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

int config__resolve_brokers(struct adapter_config *cfg, bool host_given, char *why, size_t whylen)
{
	const char *list = cfg->mqtt_brokers;
	char one[300], reason[256];

	/* both ways at once: which one was meant is a guess */
	if (list && host_given) {
		snprintf(why, whylen,
			"mqtt_brokers and mqtt_host/mqtt_port are both set: list every broker in "
			"mqtt_brokers (host:port,host:port) and drop the other two");
		return -1;
	}
	if (!list) {
		snprintf(one, sizeof(one), strchr(cfg->mqtt_host, ':') ? "[%s]:%d" : "%s:%d",
			cfg->mqtt_host, cfg->mqtt_port);
		list = one;
	}
	if (rtg_broker_list_parse(list, &cfg->brokers, &cfg->nbrokers, reason, sizeof(reason))) {
		snprintf(why, whylen, "%s: %s", cfg->mqtt_brokers ? "mqtt_brokers" : "mqtt_host",
			reason);
		return -1;
	}
	return 0;
}
