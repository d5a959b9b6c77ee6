/*
 * sim_mqtt.c - the MQTT client every data simulator shares (declared in sim_common.h).
 *
 * Reads the program's JWT, connects with MQTT v5 and no username, and runs libmosquitto's
 * network loop in its own thread (sim_link.c), over the brokers in order: the next when
 * one is lost, a backoff after a failed round. The main thread publishes cJSON objects; callbacks, marked "network thread",
 * only update atomic counters and flags and print one line to stderr. It builds no
 * payloads and knows no topics.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_common.h"
#include "rtg_util.h"

#define SIM_TOKEN_MAX 16384
/* Messages handed to libmosquitto and not yet written (QoS 0) or acknowledged (QoS 1):
 * beyond this a publish is refused, so a long outage cannot eat all memory. */
#define SIM_MAX_BACKLOG 100000
#define SIM_PRINT_BUF 4096
#define SIM_FLUSH_NS (2 * SIM_NS_PER_SEC)

/* Reads the token file into a malloc'd string without its trailing whitespace; free it
 * with free_token(). Returns RTG_OK, RTG_ERR_IO or RTG_ERR_NOMEM (reported; the token
 * itself never is). */
static enum rtg_err read_token(const char *path, char **out)
{
	enum rtg_err rc = RTG_ERR_IO;
	char *buf = NULL;
	FILE *fp;
	size_t n;

	*out = NULL;
	fp = fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "%s: %s: %s\n", sim__prog(), path, strerror(errno));
		return RTG_ERR_IO;
	}
	buf = malloc(SIM_TOKEN_MAX + 1);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", sim__prog());
		rc = RTG_ERR_NOMEM;
		goto out;
	}
	n = fread(buf, 1, SIM_TOKEN_MAX + 1, fp);
	if (ferror(fp) || n > SIM_TOKEN_MAX) {
		fprintf(stderr, "%s: %s: %s\n", sim__prog(), path,
			ferror(fp) ? "cannot read it" : "too long for a token");
		goto out;
	}
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "%s: %s: no token in the file\n", sim__prog(), path);
		goto out;
	}
	*out = buf;
	buf = NULL;
	rc = RTG_OK;
out:
	free(buf);
	fclose(fp);
	return rc;
}

static void free_token(char *token)
{
	if (token)
		explicit_bzero(token, strlen(token));
	free(token);
}

/* Messages libmosquitto holds that are not yet written (QoS 0) or acknowledged (QoS 1).
 * The two counters move in different threads, so this is briefly -1 at worst: clamp. */
static unsigned long backlog(struct sim_client *c)
{
	unsigned long published = atomic_load(&c->published);
	unsigned long completed = atomic_load(&c->completed);

	return published > completed ? published - completed : 0;
}

/* Network thread. A refused CONNACK is final (a bad token): the simulator stops. */
static void on_connect(
	struct mosquitto *mosq, void *obj, int reason, int flags, const mosquitto_property *props)
{
	struct sim_client *c = obj;

	UNUSED(mosq);
	UNUSED(flags);
	UNUSED(props);
	if (reason != 0) {
		fprintf(stderr, "%s: the broker refused the connection: %s\n", sim__prog(),
			mosquitto_reason_string(reason));
		atomic_store(&c->fatal, true);
		return;
	}
	atomic_store(&c->warned_fail, false);
	atomic_store(&c->connected, true);
	sim__link_up(&c->link, true);
	fprintf(stderr, "%s: connected\n", sim__prog());
}

/* Network thread. QoS 0 messages still queued are dropped with the connection, so they
 * leave the backlog; QoS 1 ones stay queued and are sent again after the reconnect. The
 * token file is read again so that a rotated token is used for the reconnect. */
static void on_disconnect(
	struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct sim_client *c = obj;
	bool was_connected = atomic_exchange(&c->connected, false);
	char *token = NULL;
	int mrc;

	UNUSED(props);
	if (c->qos == 0)
		atomic_store(&c->completed, atomic_load(&c->published));
	if (rc == 0 || atomic_load(&c->fatal))
		return; /* we asked for it, or we are giving up */
	fprintf(stderr, "%s: %s (%s); retrying\n", sim__prog(),
		was_connected ? "connection lost" : "cannot connect", sim__link_strerror(rc));
	if (read_token(c->token_file, &token) != RTG_OK) {
		fprintf(stderr, "%s: keeping the token read before\n", sim__prog());
		return;
	}
	mrc = mosquitto_username_pw_set(mosq, NULL, token);
	if (mrc != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "%s: cannot set the new token: %s\n", sim__prog(),
			mosquitto_strerror(mrc));
	free_token(token);
}

/* Network thread: a QoS 0 message was written, or a QoS 1 message acknowledged. */
static void on_publish(
	struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props)
{
	struct sim_client *c = obj;

	UNUSED(mosq);
	UNUSED(mid);
	UNUSED(props);
	atomic_fetch_add(&c->completed, 1);
	if (reason < 0x80)
		return;
	atomic_fetch_add(&c->refused, 1);
	if (!atomic_exchange(&c->warned_refused, true))
		fprintf(stderr,
			"%s: the broker refused a publish: %s (does the token carry the role for "
			"the topic?); further refusals are only counted\n",
			sim__prog(), mosquitto_reason_string(reason));
}

/* Configures c->mosq: MQTT v5 (a password without a username is allowed there, and the
 * plugin takes the username from the token), the token, the backoff, the callbacks. */
static enum rtg_err configure(struct sim_client *c, const char *token)
{
	int mrc;

	mrc = mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	if (mrc == MOSQ_ERR_SUCCESS)
		mrc = mosquitto_username_pw_set(c->mosq, NULL, token);
	if (mrc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "%s: cannot configure the client: %s\n", sim__prog(),
			mosquitto_strerror(mrc));
		return mrc == MOSQ_ERR_NOMEM ? RTG_ERR_NOMEM : RTG_ERR_INVAL;
	}
	mosquitto_connect_v5_callback_set(c->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
	mosquitto_publish_v5_callback_set(c->mosq, on_publish);
	return RTG_OK;
}

enum rtg_err sim__client_start(struct sim_client *c, const struct sim_opts *o, int qos)
{
	char id[SIM_NAME_MAX + 32];
	char *token = NULL;
	enum rtg_err rc;

	memset(c, 0, sizeof(*c));
	c->token_file = o->token_file;
	c->qos = qos;
	rc = read_token(o->token_file, &token);
	if (rc != RTG_OK)
		return rc;
	if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "%s: cannot initialise libmosquitto\n", sim__prog());
		rc = RTG_ERR_INVAL;
		goto out;
	}
	c->lib_init = true;
	snprintf(id, sizeof(id), "%s-%ld", sim__prog(), (long)getpid());
	c->mosq = mosquitto_new(o->client_id ? o->client_id : id, true, c);
	if (!c->mosq) {
		fprintf(stderr, "%s: cannot create the client: %s\n", sim__prog(), strerror(errno));
		rc = errno == ENOMEM ? RTG_ERR_NOMEM : RTG_ERR_INVAL;
		goto out;
	}
	rc = configure(c, token);
	if (rc == RTG_OK && sim__link_start(&c->link, c->mosq, &o->brokers, sim__prog()))
		rc = RTG_ERR_INVAL;
out:
	free_token(token);
	return rc;
}

/* Waits, a little, for the backlog to drain (QoS 1 messages beyond the broker's receive
 * maximum would otherwise be dropped by the DISCONNECT), then for the DISCONNECT to go
 * out. A network thread that cannot finish (no connection) is cancelled. */
void sim__client_stop(struct sim_client *c)
{
	const struct timespec tick = {0, 5 * 1000000L};
	int64_t deadline = sim__mono_ns() + SIM_FLUSH_NS;
	int mrc;

	if (c->link.started) {
		while (atomic_load(&c->connected) && backlog(c) && sim__mono_ns() < deadline)
			nanosleep(&tick, NULL);
		mrc = sim__link_disconnect(&c->link);
		if (mrc != MOSQ_ERR_SUCCESS && mrc != MOSQ_ERR_NO_CONN)
			fprintf(stderr, "%s: disconnect: %s\n", sim__prog(),
				mosquitto_strerror(mrc));
		deadline = sim__mono_ns() + SIM_NS_PER_SEC;
		while (atomic_load(&c->connected) && sim__mono_ns() < deadline)
			nanosleep(&tick, NULL);
		sim__link_stop(&c->link);
	}
	mosquitto_destroy(c->mosq); /* NULL is fine */
	c->mosq = NULL;
	if (c->lib_init)
		mosquitto_lib_cleanup();
	c->lib_init = false;
}

bool sim__running(struct sim_client *c)
{
	return !sim__stopping() && !atomic_load(&c->fatal);
}

enum rtg_err sim__publish_json(struct sim_client *c, const char *topic, cJSON *obj, bool retain)
{
	bool full = backlog(c) >= SIM_MAX_BACKLOG;
	char stack[SIM_PRINT_BUF];
	char *text = stack;
	const char *why;
	int mrc = MOSQ_ERR_UNKNOWN;

	/* Printing into the stack spares a malloc per message at high rates. */
	if (!cJSON_PrintPreallocated(obj, stack, (int)sizeof(stack), false))
		text = cJSON_PrintUnformatted(obj);
	if (text && !full)
		mrc = mosquitto_publish(
			c->mosq, NULL, topic, (int)strlen(text), text, c->qos, retain);
	if (text != stack)
		cJSON_free(text);
	/* Without a connection libmosquitto still queues a QoS 1 message (and says
	 * MOSQ_ERR_NO_CONN); it is sent after the reconnect. */
	if (mrc == MOSQ_ERR_NO_CONN && c->qos > 0)
		mrc = MOSQ_ERR_SUCCESS;
	if (mrc == MOSQ_ERR_SUCCESS) {
		atomic_fetch_add(&c->published, 1);
		return RTG_OK;
	}
	atomic_fetch_add(&c->failed, 1);
	if (!atomic_exchange(&c->warned_fail, true)) {
		if (!text)
			why = "out of memory";
		else if (full)
			why = "too many messages are waiting for the broker";
		else
			why = mosquitto_strerror(mrc);
		fprintf(stderr,
			"%s: cannot publish to %s (%s); further failures are only counted\n",
			sim__prog(), topic, why);
	}
	return text ? RTG_ERR_IO : RTG_ERR_NOMEM;
}

void sim__summary(struct sim_client *c, const char *what)
{
	printf("%s: %s; %lu published, %lu unconfirmed, %lu failed, %lu refused by the broker\n",
		sim__prog(), what, atomic_load(&c->published), backlog(c), atomic_load(&c->failed),
		atomic_load(&c->refused));
	fflush(stdout);
}

enum rtg_err sim__client_finish(
	struct sim_client *c, enum rtg_err rc, bool started, uint64_t n, const char *noun)
{
	char what[64];

	sim__client_stop(c);
	sim__args_free();
	if (started) {
		snprintf(what, sizeof(what), "%" PRIu64 " %s", n, noun);
		sim__summary(c, what);
	}
	return atomic_load(&c->fatal) ? RTG_ERR_DENIED : rc;
}
