/*
 * bridge.c - the adapter's one MQTT connection, serviced inside the lws loop.
 *
 * libmosquitto's socket is dup()ed and adopted into lws as a raw file
 * descriptor, so the same poll() that serves thousands of browsers also
 * reads MQTT: readable -> mosquitto_loop_read, writeable -> loop_write, a one
 * second timer -> loop_misc (keepalive). No thread, no lock, no copy between
 * threads. lws closes only the duplicate; libmosquitto keeps its own. On a lost
 * connection it reconnects with exponential backoff and the registry
 * (subs.c) subscribes every needed filter again. The connection uses MQTT 5
 * for subscription identifiers (de-duplication of overlapping filters). The
 * connect is non-blocking, adopted into the loop at once, with a deadline
 * (mqtt_connect_timeout) for the CONNACK; a broker that vanished without a
 * reset is noticed by the keepalive (mqtt_keepalive). With several brokers
 * (mqtt_brokers) each loss or failed attempt moves on to the next one, and
 * mqtt_failback brings the adapter back to the first (bridge_failover.c);
 * browsers stay connected throughout, as through a broker restart.
 *
 * With mqtt_session_expiry the broker keeps the session while the adapter is
 * away: subscriptions at QoS 1 and the messages queued for them. After a
 * restart with a saved history (history_file) the adapter resumes that
 * session, so the history continues without a hole (bridge_session.c).
 * lws thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "adapter.h"

#define MAX_SUB_IDS 16
/* Messages the broker may have in flight to us: large, so it never holds back one. */
#define RECEIVE_MAXIMUM 65535
/* Packets handled per readable event before yielding to other sockets. */
#define READ_BUDGET 512

/* ---- libmosquitto callbacks (run inside loop_read/write, on the lws thread) ---- */

/* Why a connection ended or failed; libmosquitto 2.0.11 has no text for a keepalive timeout. */
static const char *lost_reason(int rc)
{
	if (rc == MOSQ_ERR_KEEPALIVE)
		return "no answer within the keepalive";
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static void on_connect(
	struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props)
{
	struct adapter *a = obj;

	(void)mosq;
	(void)props;
	if (rc) {
		lwsl_err("bridge: %s refused the connection: %s\n",
			bridge__name(a, a->bridge.broker), mosquitto_reason_string(rc));
		return;
	}
	lws_sul_cancel(&a->bridge.sul_connect);
	a->bridge.state = BRIDGE_UP;
	a->bridge.connects++;
	bridge__on_up(a);
	bridge__on_session(a, flags & 1); /* CONNACK's "session present" */
	subs__on_broker_connect(&a->core);
	/* The broker's own figures, for system/stats (no identifier: never a client's copy). */
	if (a->cfg.stats_interval > 0 &&
		mosquitto_subscribe_v5(a->bridge.mosq, NULL, "$SYS/broker/#", 0, 0, NULL))
		lwsl_warn("bridge: cannot subscribe to $SYS/broker/#\n");
}

static void on_disconnect(
	struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct adapter *a = obj;

	(void)mosq;
	(void)props;
	if (a->bridge.state == BRIDGE_UP && !a->core.stopping && rc != MOSQ_ERR_SUCCESS)
		lwsl_warn("bridge: lost %s: %s\n", bridge__name(a, a->bridge.broker),
			lost_reason(rc));
	else if (a->bridge.state == BRIDGE_CONNECTING && rc != MOSQ_ERR_CONN_LOST)
		lwsl_warn("bridge: cannot connect to %s: %s\n", bridge__name(a, a->bridge.broker),
			lost_reason(rc));
	a->bridge.state = BRIDGE_DOWN;
	a->bridge.disconnects++;
	subs__on_broker_disconnect(&a->core);
}

static int read_sub_ids(const mosquitto_property *props, uint32_t *ids)
{
	const mosquitto_property *p;
	bool skip = false;
	int n = 0;

	for (p = props; n < MAX_SUB_IDS; skip = true) {
		p = mosquitto_property_read_varint(
			p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &ids[n], skip);
		if (!p)
			break;
		n++;
	}
	return n;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
	const mosquitto_property *props)
{
	struct adapter *a = obj;
	uint32_t ids[MAX_SUB_IDS];
	struct out_msg *m;
	bool dup = false;
	int n;

	(void)mosq;
	a->bridge.received++;
	n = read_sub_ids(props, ids);
	/* A copy without identifier comes from the $SYS subscription above. */
	if (stats__on_sys(a, msg->topic, msg->payload, (size_t)msg->payloadlen) && !n)
		return;
	/*
	 * An empty message clears a topic's retained value (MQTT 3.3.1.3): it
	 * carries nothing a browser could show, and a calculation id used again
	 * starts with one (calcs.c), so it only clears the adapter's copy.
	 */
	if (!msg->payloadlen) {
		history__clear_retained(&a->hist, msg->topic);
		return;
	}
	if (!bridge__held_accepts(a, msg->topic, ids, n) ||
		!subs__accept_copy(&a->core, msg->topic, ids, n)) {
		a->stats.mqtt_duplicates++;
		return;
	}
	m = history__append(
		&a->hist, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain, &dup);
	if (!m) {
		if (dup)
			a->stats.mqtt_duplicates++;
		else
			lwsl_err("bridge: out of memory for a message on %s\n", msg->topic);
		return;
	}
	a->stats.mqtt_messages++;
	subs__fanout(&a->core, m);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
	const int *granted, const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	if (qos_count > 0 && granted[0] >= 0x80)
		lwsl_err("bridge: the broker refused a subscription (mid %d, code %d): does the "
			 "adapter's token carry the gateway role?\n",
			mid, granted[0]);
	subs__on_suback(&((struct adapter *)obj)->core, mid);
}

static void on_unsubscribe(
	struct mosquitto *mosq, void *obj, int mid, const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	subs__on_unsuback(&((struct adapter *)obj)->core, mid);
}

/* ---- the socket in the lws loop ---------------------------------------------------- */

static void schedule_next(struct adapter *a, bool was_up);

/* Gets libmosquitto's pending packets written from the loop. */
void bridge__want_write(struct adapter *a)
{
	if (a->bridge.wsi && mosquitto_want_write(a->bridge.mosq))
		lws_callback_on_writable(a->bridge.wsi);
}

/* Closes the adopted duplicate (soon, from the loop): RAW_CLOSE_FILE then moves on. */
static void drop_socket(struct adapter *a)
{
	if (a->bridge.wsi)
		lws_set_timeout(a->bridge.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Adopts a duplicate of libmosquitto's socket into the lws loop. */
static int adopt_socket(struct adapter *a)
{
	lws_sock_file_fd_type fd;
	int sock = mosquitto_socket(a->bridge.mosq);

	if (sock < 0)
		return -1;
	fd.filefd = dup(sock);
	if (fd.filefd < 0)
		return -1;
	a->bridge.wsi = lws_adopt_descriptor_vhost(
		a->vhost, LWS_ADOPT_RAW_FILE_DESC, fd, bridge__protocol.name, NULL);
	if (!a->bridge.wsi) {
		close(fd.filefd);
		return -1;
	}
	bridge__want_write(a);
	return 0;
}

static int set_credentials(struct adapter *a);
static int client_new(struct adapter *a, bool clean_start);

/* The attempt's deadline: no CONNACK in mqtt_connect_timeout, so on to the next broker. */
static void on_connect_timeout(struct lws_sorted_usec_list *sul)
{
	struct adapter *a = container_of(sul, struct adapter, bridge.sul_connect);

	if (a->bridge.state != BRIDGE_CONNECTING)
		return;
	lwsl_warn("bridge: no answer from %s within %d s\n", bridge__name(a, a->bridge.broker),
		a->cfg.mqtt_connect_timeout);
	drop_socket(a);
}

/*
 * One connection attempt, to br->broker: non-blocking, the socket in the loop
 * at once, CONNACK awaited until the deadline. Another broker than the one
 * holding our session is asked for a clean start: a session it kept from an
 * earlier visit would replay what the adapter has already seen. The token
 * file is read again each time, so an operator can replace an expiring
 * adapter token without a restart.
 */
static void try_connect(struct lws_sorted_usec_list *sul)
{
	struct adapter *a = container_of(sul, struct adapter, bridge.sul_reconnect);
	struct bridge *br = &a->bridge;
	const struct rtg_broker *b = &a->cfg.brokers[br->broker];
	int rc;

	if (a->core.stopping || br->state != BRIDGE_DOWN || br->wsi)
		return;
	if ((!br->clean_start && br->broker != br->session_broker && client_new(a, true)) ||
		set_credentials(a)) {
		schedule_next(a, false);
		return;
	}
	br->state = BRIDGE_CONNECTING;
	rc = mosquitto_connect_bind_async(br->mosq, b->host, b->port, a->cfg.mqtt_keepalive, NULL);
	if (rc == MOSQ_ERR_SUCCESS && adopt_socket(a) == 0) {
		lws_sul_schedule(a->ctx, 0, &br->sul_connect, on_connect_timeout,
			(lws_usec_t)a->cfg.mqtt_connect_timeout * LWS_US_PER_SEC);
		return; /* CONNACK arrives through loop_read: on_connect */
	}
	lwsl_warn("bridge: cannot connect to %s: %s\n", b->name, lost_reason(rc));
	br->state = BRIDGE_DOWN;
	br->disconnects++;
	schedule_next(a, false);
}

/* The next attempt: at once on the next broker, or after a backoff (bridge_failover.c). */
static void schedule_next(struct adapter *a, bool was_up)
{
	unsigned ms;

	if (a->core.stopping)
		return;
	ms = bridge__pick_next(a, was_up);
	lws_sul_schedule(a->ctx, 0, &a->bridge.sul_reconnect, try_connect,
		ms ? (lws_usec_t)ms * LWS_US_PER_MS : 1);
}

/*
 * Failing back: a DISCONNECT to the broker we are on. Once written,
 * libmosquitto closes its socket; the writeable callback then drops ours and
 * the next attempt goes to br->next.
 */
void bridge__leave(struct adapter *a)
{
	if (mosquitto_disconnect(a->bridge.mosq) == MOSQ_ERR_SUCCESS)
		bridge__want_write(a);
	else
		drop_socket(a);
}

/*
 * Once a second: libmosquitto's loop_misc (keepalive: a PINGREQ after
 * mqtt_keepalive seconds of silence, the socket closed when no answer came
 * by the next one), and failing back. A socket libmosquitto closed is a lost
 * connection: no reset ever comes from a broker host that vanished.
 */
static void on_misc_timer(struct lws_sorted_usec_list *sul)
{
	struct adapter *a = container_of(sul, struct adapter, bridge.sul_misc);

	if (a->bridge.wsi) {
		mosquitto_loop_misc(a->bridge.mosq);
		if (mosquitto_socket(a->bridge.mosq) < 0)
			drop_socket(a);
		else
			bridge__want_write(a);
	}
	bridge__failback_tick(a);
	if (!a->core.stopping)
		lws_sul_schedule(a->ctx, 0, &a->bridge.sul_misc, on_misc_timer, LWS_US_PER_SEC);
}

/* Reads what the socket holds, a packet at a time, within a budget. */
static int read_available(struct adapter *a)
{
	int sock = mosquitto_socket(a->bridge.mosq), pending = 0, i, rc;

	for (i = 0; i < READ_BUDGET; i++) {
		SSL *ssl;

		rc = mosquitto_loop_read(a->bridge.mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return -1;
		/* over TLS, whole packets may wait decrypted in OpenSSL, not in the socket */
		ssl = mosquitto_ssl_get(a->bridge.mosq);
		if (ssl && SSL_pending(ssl) > 0)
			continue;
		if (sock < 0 || ioctl(sock, FIONREAD, &pending) || pending <= 0)
			break;
	}
	return 0;
}

/* Why a connect failed, from libmosquitto's socket (lws may see the error first). */
static void log_connect_error(struct adapter *a)
{
	int err = 0, sock = mosquitto_socket(a->bridge.mosq);
	socklen_t len = sizeof(err);

	if (sock >= 0 && !getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) && err)
		lwsl_warn("bridge: cannot connect to %s: %s\n", bridge__name(a, a->bridge.broker),
			strerror(err));
}

/* Our duplicate of the socket is closed: the connection or the attempt is over. */
static void on_socket_closed(struct adapter *a)
{
	bool was_up = a->bridge.up_since != 0;

	a->bridge.wsi = NULL;
	a->bridge.up_since = 0;
	lws_sul_cancel(&a->bridge.sul_connect);
	if (a->bridge.state == BRIDGE_CONNECTING)
		log_connect_error(a);
	if (a->bridge.state != BRIDGE_DOWN)
		on_disconnect(a->bridge.mosq, a, MOSQ_ERR_CONN_LOST, NULL);
	schedule_next(a, was_up);
}

static int callback_bridge(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct adapter *a = lws_context_user(lws_get_context(wsi));
	int rc;

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		session__batch_begin(&a->core);
		rc = read_available(a);
		session__batch_end(&a->core); /* the messages read go out to the clients */
		if (rc)
			return -1; /* lost: lws closes the duplicate fd */
		bridge__want_write(a);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		/* after our DISCONNECT (failing back) libmosquitto has closed its socket */
		if (mosquitto_loop_write(a->bridge.mosq, 1) != MOSQ_ERR_SUCCESS ||
			mosquitto_socket(a->bridge.mosq) < 0)
			return -1;
		bridge__want_write(a);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == a->bridge.wsi)
			on_socket_closed(a);
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols bridge__protocol = {
	.name = "rtg-mqtt",
	.callback = callback_bridge,
};

/* ---- setup and use --------------------------------------------------------------- */

/* Reads the adapter's own token; its subject becomes the MQTT username. */
static int load_token(struct adapter *a, char **sub)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct rtg_identity *id = NULL;
	enum rtg_err rc;

	*sub = NULL;
	rc = rtg_jwt_read_key_file(a->cfg.mqtt_token_file, true, &buf, &len);
	if (rc != RTG_OK || len > RTG_JWT_MAX_LEN) {
		lwsl_err("%s: %s\n", a->cfg.mqtt_token_file,
			rc == RTG_ERR_IO ? strerror(errno) : "not a token");
		free(buf);
		return -1;
	}
	memcpy(a->bridge.token, buf, len);
	a->bridge.token[len] = '\0';
	free(buf);
	rc = auth__verify(a, a->bridge.token, &id);
	if (rc != RTG_OK) {
		lwsl_err("%s: the adapter's token is not valid here: %s\n", a->cfg.mqtt_token_file,
			rtg_strerror(rc));
		return -1;
	}
	if (!rtg_identity_has_role(id, "gateway"))
		lwsl_warn(
			"%s: the adapter's token has no 'gateway' role\n", a->cfg.mqtt_token_file);
	*sub = strdup(id->sub);
	rtg_identity_free(id);
	return *sub ? 0 : -1;
}

/* Reads the token file and hands the token (and its subject) to libmosquitto. */
static int set_credentials(struct adapter *a)
{
	char *sub = NULL;
	int rc = -1;

	if (load_token(a, &sub) == 0 &&
		mosquitto_username_pw_set(a->bridge.mosq, sub, a->bridge.token) == MOSQ_ERR_SUCCESS)
		rc = 0;
	free(sub);
	return rc;
}

/*
 * Stores the CONNECT properties (with mqtt_session_expiry, the session expiry
 * interval) in the client. libmosquitto 2.0 has no non-blocking connect that
 * takes properties: mosquitto_connect_bind_v5() stores them first, then checks
 * its arguments and connects, blocking. Given no host it stops after storing
 * them (MOSQ_ERR_INVAL), and mosquitto_connect_bind_async() sends the stored
 * ones with every CONNECT (41-adapter-restart.sh shows the session is kept).
 */
static int store_connect_properties(struct adapter *a)
{
	mosquitto_property *props = NULL;
	int rc;

	if (a->cfg.mqtt_session_expiry <= 0)
		return 0;
	if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
		    (uint32_t)a->cfg.mqtt_session_expiry))
		return -1;
	rc = mosquitto_connect_bind_v5(a->bridge.mosq, NULL, 0, 0, NULL, props);
	mosquitto_property_free_all(&props);
	return rc == MOSQ_ERR_INVAL ? 0 : -1;
}

/*
 * Makes the MQTT client, replacing the one there is (not connected): a clean
 * start or not is fixed when libmosquitto makes a client. Returns 0 or -1 (logged).
 */
static int client_new(struct adapter *a, bool clean_start)
{
	const char *cid = a->cfg.mqtt_client_id;
	char idbuf[64];

	if (!cid) {
		snprintf(idbuf, sizeof(idbuf), "rtg-adapter-%s", a->hist.epoch);
		cid = idbuf;
	}
	mosquitto_destroy(a->bridge.mosq);
	a->bridge.clean_start = clean_start;
	a->bridge.mosq = mosquitto_new(cid, clean_start, a);
	if (!a->bridge.mosq ||
		mosquitto_int_option(a->bridge.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) ||
		mosquitto_int_option(a->bridge.mosq, MOSQ_OPT_RECEIVE_MAXIMUM, RECEIVE_MAXIMUM) ||
		store_connect_properties(a)) {
		lwsl_err("bridge: cannot set up the MQTT client\n");
		return -1;
	}
	if (a->cfg.mqtt_ca_file &&
		mosquitto_tls_set(a->bridge.mosq, a->cfg.mqtt_ca_file, NULL, NULL, NULL, NULL)) {
		lwsl_err("bridge: cannot use %s as the broker's CA\n", a->cfg.mqtt_ca_file);
		return -1;
	}
	mosquitto_connect_v5_callback_set(a->bridge.mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(a->bridge.mosq, on_disconnect);
	mosquitto_message_v5_callback_set(a->bridge.mosq, on_message);
	mosquitto_subscribe_v5_callback_set(a->bridge.mosq, on_subscribe);
	mosquitto_unsubscribe_v5_callback_set(a->bridge.mosq, on_unsubscribe);
	return 0;
}

int bridge__init(struct adapter *a)
{
	bool resume = bridge__prepare_resume(a);

	mosquitto_lib_init();
	bridge__failover_init(a);
	/* Clean start unless a saved history goes with the session the broker kept. */
	if (client_new(a, !resume) || set_credentials(a))
		return -1;
	a->bridge.state = BRIDGE_DOWN;
	lws_sul_schedule(a->ctx, 0, &a->bridge.sul_reconnect, try_connect, 1);
	lws_sul_schedule(a->ctx, 0, &a->bridge.sul_misc, on_misc_timer, LWS_US_PER_SEC);
	return 0;
}

/*
 * At shutdown: writes what libmosquitto has queued (the DISCONNECT last)
 * before the socket closes, waiting for the socket at most ~1 s in all.
 * Closing with data unsent would reset the connection instead.
 */
static void flush_writes(struct adapter *a)
{
	struct pollfd pfd = {.fd = mosquitto_socket(a->bridge.mosq), .events = POLLOUT};
	int i;

	for (i = 0; i < 50 && pfd.fd >= 0; i++) {
		if (mosquitto_loop_write(a->bridge.mosq, 1) != MOSQ_ERR_SUCCESS ||
			!mosquitto_want_write(a->bridge.mosq))
			return;
		if (poll(&pfd, 1, 20) < 0)
			return;
	}
}

void bridge__cleanup(struct adapter *a)
{
	lws_sul_cancel(&a->bridge.sul_misc);
	lws_sul_cancel(&a->bridge.sul_reconnect);
	lws_sul_cancel(&a->bridge.sul_connect);
	lws_sul_cancel(&a->bridge.sul_held);
	bridge__failback_stop(&a->bridge);
	if (a->bridge.mosq) {
		if (a->bridge.state == BRIDGE_UP && !mosquitto_disconnect(a->bridge.mosq))
			flush_writes(a);
		a->bridge.state = BRIDGE_DOWN;
		mosquitto_destroy(a->bridge.mosq);
		a->bridge.mosq = NULL;
	}
	mosquitto_lib_cleanup();
	bridge__session_clear(&a->bridge);
	explicit_bzero(a->bridge.token, sizeof(a->bridge.token));
}
