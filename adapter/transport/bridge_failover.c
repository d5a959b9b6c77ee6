/*
 * bridge_failover.c - which broker the adapter's one MQTT connection goes to:
 * the brokers of cfg.brokers (mqtt_brokers) in order; the next one at once
 * when one refuses, gives no CONNACK within mqtt_connect_timeout or is lost;
 * a backoff only once a whole round has failed; with mqtt_failback, the first
 * broker again once it answers.
 *
 * Failing back leaves a working connection, so it is done only when the first
 * broker accepts a TCP connection: a probe (a non-blocking connect, looked at
 * once a second, given mqtt_connect_timeout) runs while the adapter stays
 * where it is. It does not speak MQTT (bridge.c) nor keep the session
 * (bridge_session.c). lws thread only.
 */
#include <unistd.h>

#include "adapter.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

void bridge__failover_init(struct adapter *a)
{
	struct bridge *br = &a->bridge;

	br->broker = 0;
	br->tried = 0;
	br->next = -1;
	br->last_up = -1;
	br->session_broker = 0; /* a saved session is only ever the first broker's */
	br->probe_fd = -1;
	br->probe_at = 0;
}

/* "host:port" of broker number i, for logs. Valid as long as the configuration. */
const char *bridge__name(const struct adapter *a, int broker)
{
	return a->cfg.brokers[broker].name;
}

/*
 * After a failed attempt (was_up false) or a lost connection (true): moves
 * br->broker to the broker to try next and returns the milliseconds to wait
 * before: none while a broker of this round is untried, else a backoff that
 * doubles each round (from 250 ms to 10 s, reset by a connection). With one
 * broker this is the plain reconnect backoff. A failback goes to its broker
 * at once.
 */
unsigned bridge__pick_next(struct adapter *a, bool was_up)
{
	struct bridge *br = &a->bridge;
	unsigned ms;

	if (br->next >= 0) {
		br->broker = br->next;
		br->next = -1;
		br->tried = 0;
		return 0;
	}
	if (was_up)
		br->tried = 0;
	br->broker = (br->broker + 1) % a->cfg.nbrokers;
	if (++br->tried < a->cfg.nbrokers)
		return 0;
	br->tried = 0;
	ms = br->backoff_ms ? br->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	br->backoff_ms = ms;
	return ms;
}

/*
 * A connection came up on br->broker: one log line, naming the broker left
 * when it is another one than the last (a switch).
 */
void bridge__on_up(struct adapter *a)
{
	struct bridge *br = &a->bridge;

	if (br->last_up >= 0 && br->last_up != br->broker) {
		br->switches++;
		lwsl_warn("bridge: connected to %s, switched from %s\n",
			bridge__name(a, br->broker), bridge__name(a, br->last_up));
	} else {
		lwsl_notice("bridge: connected to %s\n", bridge__name(a, br->broker));
	}
	br->last_up = br->broker;
	br->session_broker = br->broker;
	br->up_since = lws_now_usecs();
	br->tried = 0;
	br->backoff_ms = 0;
	br->probe_at = 0;
}

/* ---- failing back ---------------------------------------------------------------- */

void bridge__failback_stop(struct bridge *br)
{
	if (br->probe_fd >= 0)
		close(br->probe_fd);
	br->probe_fd = -1;
}

/*
 * Once a second: on another broker than the first for mqtt_failback seconds,
 * probes the first one (again every mqtt_failback seconds while it does not
 * answer) and, once it accepts a connection, leaves the current broker for it.
 */
void bridge__failback_tick(struct adapter *a)
{
	struct bridge *br = &a->bridge;
	lws_usec_t now = lws_now_usecs();
	lws_usec_t every = (lws_usec_t)a->cfg.mqtt_failback * LWS_US_PER_SEC;
	int r;

	if (!a->cfg.mqtt_failback || br->broker == 0 || !bridge__up(a) || a->core.stopping ||
		br->next >= 0) {
		bridge__failback_stop(br);
		return;
	}
	if (br->probe_fd < 0) {
		if (now - br->up_since < every || now < br->probe_at)
			return;
		br->probe_at = now;
		br->probe_fd = rtg_broker_probe_start(&a->cfg.brokers[0]);
		if (br->probe_fd >= 0)
			return;
		br->probe_at = now + every;
		return;
	}
	r = rtg_broker_probe_result(br->probe_fd);
	if (r == 0 && now - br->probe_at < (lws_usec_t)a->cfg.mqtt_connect_timeout * LWS_US_PER_SEC)
		return;
	bridge__failback_stop(br);
	if (r <= 0) {
		br->probe_at = now + every;
		return;
	}
	lwsl_notice("bridge: %s answers again: leaving %s for it (mqtt_failback)\n",
		bridge__name(a, 0), bridge__name(a, br->broker));
	br->next = 0;
	bridge__leave(a);
}
