/*
 * calc_worker.c - rtg-calc-worker: takes "calculate" requests from
 * calc/<user>~<id>/request through the MQTT 5 shared subscription
 * $share/calc/calc/+/request (so any number of workers share them) and
 * publishes calculation_update messages, retained, to calc/<user>~<id>/progress:
 * started, processing steps, then completed with the result or failed with why.
 *
 * Threads: the network thread (sim_link.c: several brokers in order) queues requests
 * (failing them past QUEUE_MAX) for the main thread, which runs them one at a
 * time, pacing the steps with --step-delay-ms; a third one sigwait()s signals.
 * No math here (calc*.c), no request or update JSON (calc_request.c).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "calc.h"
#include "calc_request.h"
#include "rtg_util.h"
#include "sim_link.h"

#define PROG "rtg-calc-worker"
#define REQUEST_FILTER "$share/calc/calc/+/request"
#define TOKEN_MAX 8192
#define QUEUE_MAX 1000 /* requests waiting beyond this are failed at once: "overloaded" */
#define WAIT_MS 2000 /* at shutdown, for the UNSUBACK and then for our PUBACKs */
#define OPT_BROKER 0x100 /* SIM_BROKER_NOPTS getopt codes from here */

struct worker_opts {
	struct sim_brokers brokers;
	const char *token_file;
	const char *client_id;
	long step_delay_ms;
	long result_ttl; /* seconds a retained progress message lives; 0 = for ever */
};

/* A request as received, in one allocation: the network thread copies it, the main one runs it. */
struct job {
	struct job *next;
	char *payload; /* len bytes after the topic, NUL-terminated */
	size_t len;
	char topic[];
};

/* Everything below lock is shared between the threads and read or written only under it. */
struct worker {
	struct worker_opts o;
	struct mosquitto *mosq;
	struct sim_link link;
	mosquitto_property *props; /* the message expiry of every update, or NULL */
	char token[TOKEN_MAX + 1];
	char idbuf[128];
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a job, a stop, a fatal error, a PUBACK or the UNSUBACK */
	struct job *head, *tail;
	size_t queued;
	bool connected, stopping, fatal, unsubscribed;
	unsigned long inflight; /* QoS 1 updates not yet acknowledged */
	unsigned long received, completed, failed;
};

/* Sets *flag under the lock and wakes the main thread. Any thread. */
static void raise_flag(struct worker *w, bool *flag)
{
	pthread_mutex_lock(&w->lock);
	*flag = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Adds delta to a counter under the lock and wakes the main thread. Any thread. */
static void count(struct worker *w, unsigned long *counter, long delta)
{
	pthread_mutex_lock(&w->lock);
	*counter += (unsigned long)delta;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* ==== Command line ============================================================================ */

static void print_usage(void)
{
	printf("rtg-calc-worker runs calculations (%s) and publishes their progress.\n\n"
	       "Usage: rtg-calc-worker --token-file FILE [--mqtt-broker HOST:PORT,...]\n"
	       "                       [--client-id ID] [--step-delay-ms N] [--result-ttl S]\n"
	       "       rtg-calc-worker --help\n\n"
	       " --token-file FILE   this worker's JWT (role calc), the MQTT password\n",
		calc__names());
	sim__brokers_usage(stdout);
	printf(" --client-id ID      MQTT client id, the \"worker\" of each update\n"
	       "                     (default rtg-calc-<host>-<pid>)\n"
	       " --step-delay-ms N   pause between progress steps, 0..60000 (default 200)\n"
	       " --result-ttl S      seconds a retained update lives, 0 = for ever (default 86400)\n"
	       " --help              this text\n\n"
	       "SIGINT/SIGTERM: finish the request under way, fail the queued ones, exit 0.\n");
}

/* Parses a whole decimal number within [min, max]; false (reported) otherwise. */
static bool parse_long(const char *opt, const char *arg, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, PROG ": --%s: \"%s\" is not a whole number in %ld..%ld\n", opt, arg,
			min, max);
		return false;
	}
	*out = v;
	return true;
}

/* Returns 0 to go on, 1 after --help, -1 on a bad command line (reported). */
static int parse_args(int argc, char *argv[], struct worker_opts *o)
{
	static const struct option longopts[] = {SIM_BROKER_LONGOPTS(OPT_BROKER),
		{"token-file", required_argument, NULL, 't'},
		{"client-id", required_argument, NULL, 'i'},
		{"step-delay-ms", required_argument, NULL, 'd'},
		{"result-ttl", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	bool ok = true, host_given = false;
	int c;

	sim__brokers_init(&o->brokers);
	while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c >= OPT_BROKER && c < OPT_BROKER + SIM_BROKER_NOPTS) {
			host_given |= c >= OPT_BROKER + 4; /* --mqtt-host, --mqtt-port */
			ok = !sim__brokers_option(&o->brokers, c - OPT_BROKER, optarg, PROG);
		} else if (c == 't')
			o->token_file = optarg;
		else if (c == 'i')
			o->client_id = optarg;
		else if (c == 'd')
			ok = parse_long("step-delay-ms", optarg, 0, 60000, &o->step_delay_ms);
		else if (c == 'r')
			ok = parse_long("result-ttl", optarg, 0, 0x7fffffffL, &o->result_ttl);
		else if (c == 'h') {
			print_usage();
			return 1;
		} else
			return -1; /* getopt_long() has said what is wrong */
	}
	if (ok && optind < argc)
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
	else if (ok && !o->token_file)
		fprintf(stderr, PROG ": --token-file is required (see --help)\n");
	else if (ok && sim__brokers_finish(&o->brokers, host_given, PROG))
		ok = false;
	else
		return ok ? 0 : -1;
	return -1;
}

/* Reads the token file into w->token, trailing whitespace dropped. False (reported) on error. */
static bool read_token(struct worker *w)
{
	FILE *f = fopen(w->o.token_file, "r");
	size_t n;
	bool ok;

	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", w->o.token_file, strerror(errno));
		return false;
	}
	n = fread(w->token, 1, TOKEN_MAX, f);
	ok = !ferror(f) && fgetc(f) == EOF;
	fclose(f);
	while (n && strchr(" \t\r\n", w->token[n - 1]))
		n--;
	w->token[n] = '\0';
	if (!ok || !n)
		fprintf(stderr, PROG ": %s: empty, unreadable or over %d bytes\n", w->o.token_file,
			TOKEN_MAX);
	return ok && n;
}

/* ==== Updates ================================================================================= */

/*
 * Publishes one calculation_update, retained at QoS 1, to rq's progress topic;
 * takes result (may be NULL). error, when not NULL, is added as "error". Any
 * thread. Returns false (logged) if it could not be sent.
 */
static bool publish_update(struct worker *w, const struct calc_request *rq, const char *status,
	int progress, const char *message, cJSON *result, const char *error)
{
	cJSON *u = calc__update_new(rq, status, progress, message, w->o.client_id);
	char *text = NULL;
	int rc = MOSQ_ERR_NOMEM;

	if (u && (!result || cJSON_AddItemToObject(u, "result", result)))
		result = NULL; /* u owns it now */
	if (u && !result && (!error || cJSON_AddStringToObject(u, "error", error)))
		text = cJSON_PrintUnformatted(u);
	if (text) {
		count(w, &w->inflight, 1); /* before: the PUBACK may come at once */
		rc = mosquitto_publish_v5(w->mosq, NULL, rq->progress_topic, (int)strlen(text),
			text, 1, true, w->props);
		if (rc != MOSQ_ERR_SUCCESS)
			count(w, &w->inflight, -1);
	}
	if (rc != MOSQ_ERR_SUCCESS)
		fprintf(stderr, PROG ": %s: %s update not sent: %s\n", rq->progress_topic, status,
			mosquitto_strerror(rc));
	cJSON_free(text);
	cJSON_Delete(result);
	cJSON_Delete(u);
	return rc == MOSQ_ERR_SUCCESS;
}

/* Ends a request with "failed" and the reason (also its "message"). Any thread. */
static void fail_request(
	struct worker *w, const struct calc_request *rq, int progress, const char *why)
{
	fprintf(stderr, PROG ": %s: failed: %s\n", rq->progress_topic, why);
	publish_update(w, rq, "failed", progress, why, NULL, why);
	count(w, &w->failed, 1);
}

/* ==== Running requests ======================================================================== */

/* The predicates wait_for() waits on, under the lock. */
static bool stopping(const struct worker *w)
{
	return w->stopping;
}

static bool unsubscribed(const struct worker *w)
{
	return w->unsubscribed || !w->connected;
}

static bool disconnected(const struct worker *w)
{
	return !w->connected;
}

static bool all_acked(const struct worker *w)
{
	return w->inflight == 0 || !w->connected;
}

/* Waits until done(w) or ms have passed (0: does not wait). Returns done(w). Main thread. */
static bool wait_for(struct worker *w, long ms, bool (*done)(const struct worker *))
{
	struct timespec until;
	bool ok;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000 + (until.tv_nsec + ms % 1000 * 1000000L) / 1000000000L;
	until.tv_nsec = (until.tv_nsec + ms % 1000 * 1000000L) % 1000000000L;
	pthread_mutex_lock(&w->lock);
	while (!(ok = done(w)) && ms > 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* Waits the step delay; a stop ends the wait at once, so the request finishes quickly. */
static void pause_step(struct worker *w)
{
	wait_for(w, w->o.step_delay_ms, stopping);
}

/* Runs a valid request: started, 25, (compute), 50, 75, completed; or failed. Main thread. */
static void run_calculation(struct worker *w, const struct calc_request *rq)
{
	cJSON *result = NULL;
	char why[256];
	int step;

	publish_update(w, rq, "started", 0, "Calculation started", NULL, NULL);
	pause_step(w);
	publish_update(w, rq, "processing", 25, rq->kind->steps[0], NULL, NULL);
	pause_step(w);
	if (rq->kind->run(rq->params, &result, why, sizeof(why)) != RTG_OK) {
		fail_request(w, rq, 25, why);
		return;
	}
	for (step = 1; step < CALC_STEPS; step++) {
		publish_update(
			w, rq, "processing", 25 * (step + 1), rq->kind->steps[step], NULL, NULL);
		pause_step(w);
	}
	publish_update(w, rq, "completed", 100, "Calculation completed", result, NULL);
	count(w, &w->completed, 1);
}

/*
 * Handles one job: runs it, or fails it with refusal (when not NULL, e.g.
 * "worker shutting down") or with what is wrong with it. Any thread; only the
 * main thread runs calculations.
 */
static void handle_job(struct worker *w, const struct job *j, const char *refusal)
{
	struct calc_request rq;
	enum rtg_err rc = calc__request_parse(&rq, j->topic, j->payload, j->len);

	if (!rq.progress_topic) { /* nowhere to answer */
		fprintf(stderr, PROG ": ignoring a message on \"%s\": %s\n", j->topic, rq.why);
		count(w, &w->failed, 1);
	} else if (refusal || rc != RTG_OK) {
		fail_request(w, &rq, 0, refusal ? refusal : rq.why);
	} else {
		run_calculation(w, &rq);
	}
	calc__request_cleanup(&rq);
}

/* ==== MQTT callbacks (network thread) ========================================================= */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct worker *w = obj;

	pthread_mutex_lock(&w->lock);
	w->connected = rc == 0;
	pthread_mutex_unlock(&w->lock);
	sim__link_up(&w->link, rc == 0);
	if (rc) { /* a refused CONNECT (a bad token) is final: we stop, with the reason */
		fprintf(stderr, PROG ": the broker refused the connection: %s\n",
			mosquitto_reason_string(rc));
		raise_flag(w, &w->fatal);
		return;
	}
	rc = mosquitto_subscribe_v5(mosq, NULL, REQUEST_FILTER, 1, 0, NULL);
	if (rc != MOSQ_ERR_SUCCESS) /* the next reconnect tries again */
		fprintf(stderr, PROG ": cannot subscribe %s: %s\n", REQUEST_FILTER,
			mosquitto_strerror(rc));
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct worker *w = obj;
	bool ending;

	UNUSED(mosq);
	pthread_mutex_lock(&w->lock);
	w->connected = false;
	ending = w->fatal || w->stopping;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (rc && !ending)
		fprintf(stderr, PROG ": connection lost (%s); reconnecting\n",
			sim__link_strerror(rc));
}

/* With MQTT 5 the granted QoS is a reason code: 0x80 and above is a refusal. */
static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	struct worker *w = obj;

	UNUSED(mosq);
	UNUSED(mid);
	if (n >= 1 && granted[0] < 0x80) {
		fprintf(stderr, PROG ": subscribed %s as %s\n", REQUEST_FILTER, w->o.client_id);
		return;
	}
	fprintf(stderr, PROG ": subscription to %s refused (%s): does the token have role calc?\n",
		REQUEST_FILTER, n < 1 ? "no answer" : mosquitto_reason_string(granted[0]));
	raise_flag(w, &w->fatal);
}

static void on_unsubscribe(struct mosquitto *mosq, void *obj, int mid)
{
	struct worker *w = obj;

	UNUSED(mosq);
	UNUSED(mid);
	raise_flag(w, &w->unsubscribed);
}

/* A PUBACK; with MQTT 5 it may say the broker refused the update (the ACL). */
static void on_publish(
	struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props)
{
	struct worker *w = obj;

	UNUSED(mosq);
	UNUSED(mid);
	UNUSED(props);
	if (reason >= 0x80)
		fprintf(stderr, PROG ": the broker refused an update: %s\n",
			mosquitto_reason_string(reason));
	pthread_mutex_lock(&w->lock);
	w->inflight -= w->inflight > 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Copies the request into the queue for the main thread; a full queue fails it at once. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct worker *w = obj;
	size_t tlen = strlen(msg->topic) + 1, len = (size_t)msg->payloadlen;
	struct job *j = calloc(1, sizeof(*j) + tlen + len + 1);
	bool full;

	UNUSED(mosq);
	if (!j) {
		fprintf(stderr, PROG ": out of memory: request on %s dropped\n", msg->topic);
		return;
	}
	memcpy(j->topic, msg->topic, tlen);
	j->payload = j->topic + tlen;
	memcpy(j->payload, msg->payload, len); /* calloc() wrote the NUL after it */
	j->len = len;
	pthread_mutex_lock(&w->lock);
	w->received++;
	full = w->queued >= QUEUE_MAX;
	if (!full) {
		*(w->tail ? &w->tail->next : &w->head) = j;
		w->tail = j;
		w->queued++;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	if (full) {
		handle_job(w, j, "worker overloaded; try again");
		free(j);
	}
}

/* ==== Main thread ============================================================================= */

/* Takes the next job, waiting for one; NULL once stopping (or fatal) and drain is false. */
static struct job *next_job(struct worker *w, bool drain)
{
	struct job *j;

	pthread_mutex_lock(&w->lock);
	while (!drain && !w->head && !w->stopping && !w->fatal)
		pthread_cond_wait(&w->cond, &w->lock);
	j = (drain || (!w->stopping && !w->fatal)) ? w->head : NULL;
	if (j) {
		w->head = j->next;
		w->tail = w->head ? w->tail : NULL;
		w->queued--;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

/*
 * After a stop: waits for the UNSUBACK (then no request is on its way), fails
 * the requests still queued, waits for the broker to acknowledge our updates
 * and disconnects. After a fatal error there is nobody to tell: it only frees.
 */
static void shut_down(struct worker *w)
{
	struct job *j;
	bool fatal;
	int rc;

	pthread_mutex_lock(&w->lock);
	fatal = w->fatal;
	pthread_mutex_unlock(&w->lock);
	if (!fatal)
		wait_for(w, WAIT_MS, unsubscribed);
	while ((j = next_job(w, true))) {
		if (!fatal)
			handle_job(w, j, "worker shutting down");
		free(j);
	}
	if (!fatal && !wait_for(w, WAIT_MS, all_acked))
		fprintf(stderr, PROG ": some updates were not acknowledged before exit\n");
	rc = sim__link_disconnect(&w->link); /* MOSQ_ERR_NO_CONN when down: nothing to say */
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
		fprintf(stderr, PROG ": disconnecting: %s\n", mosquitto_strerror(rc));
	wait_for(w, WAIT_MS, disconnected); /* the DISCONNECT goes out from the network thread */
	sim__link_stop(&w->link);
}

/*
 * The signal thread: on SIGINT/SIGTERM sets w->stopping and unsubscribes at
 * once, so that the broker sends new requests to the other workers while this
 * one finishes its current request.
 */
static void *wait_signal(void *arg)
{
	struct worker *w = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigwait(&set, &sig) == 0) {
		raise_flag(w, &w->stopping);
		if (mosquitto_unsubscribe_v5(w->mosq, NULL, REQUEST_FILTER, NULL) !=
			MOSQ_ERR_SUCCESS)
			raise_flag(w, &w->unsubscribed); /* not connected: nothing is coming */
	}
	return NULL;
}

/* Creates the client and starts the network thread (sim_link.c), which connects. */
static bool client_start(struct worker *w)
{
	w->mosq = mosquitto_new(w->o.client_id, true, w);
	if (!w->mosq ||
		mosquitto_int_option(w->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) ||
		mosquitto_username_pw_set(w->mosq, NULL, w->token) ||
		(w->o.result_ttl &&
			mosquitto_property_add_int32(&w->props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
				(uint32_t)w->o.result_ttl))) {
		fprintf(stderr, PROG ": cannot set up the MQTT client\n");
		return false;
	}
	mosquitto_connect_callback_set(w->mosq, on_connect);
	mosquitto_disconnect_callback_set(w->mosq, on_disconnect);
	mosquitto_subscribe_callback_set(w->mosq, on_subscribe);
	mosquitto_unsubscribe_callback_set(w->mosq, on_unsubscribe);
	mosquitto_publish_v5_callback_set(w->mosq, on_publish);
	mosquitto_message_callback_set(w->mosq, on_message);
	return sim__link_start(&w->link, w->mosq, &w->o.brokers, PROG) == 0;
}

/* Blocks SIGINT/SIGTERM in this thread and those it starts (wait_signal() takes them). */
static bool threads_init(struct worker *w)
{
	pthread_condattr_t cattr;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return !pthread_sigmask(SIG_BLOCK, &set, NULL) && !pthread_mutex_init(&w->lock, NULL) &&
		!pthread_condattr_init(&cattr) &&
		!pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) && /* for the timed waits */
		!pthread_cond_init(&w->cond, &cattr);
}

int main(int argc, char *argv[])
{
	static struct worker w = {.o = {.step_delay_ms = 200, .result_ttl = 86400}};
	int args = parse_args(argc, argv, &w.o), status = EXIT_FAILURE;
	char host[64] = "localhost";
	pthread_t sig_thread;
	bool signals;
	struct job *j;

	if (args || !read_token(&w)) {
		sim__brokers_free(&w.o.brokers);
		return args > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	if (!w.o.client_id) {
		if (gethostname(host, sizeof(host) - 1))
			strcpy(host, "localhost");
		snprintf(w.idbuf, sizeof(w.idbuf), "rtg-calc-%s-%ld", host, (long)getpid());
		w.o.client_id = w.idbuf;
	}
	if (!threads_init(&w) || mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		fprintf(stderr, PROG ": cannot set up threads or libmosquitto\n");
	else if (client_start(&w)) {
		/* A signal before the thread exists stays pending until its sigwait(). */
		signals = !pthread_create(&sig_thread, NULL, wait_signal, &w);
		if (!signals)
			raise_flag(&w, &w.fatal);
		while ((j = next_job(&w, false))) {
			handle_job(&w, j, NULL);
			free(j);
		}
		shut_down(&w);
		status = w.fatal ? EXIT_FAILURE : EXIT_SUCCESS;
		if (signals && !pthread_kill(sig_thread, SIGTERM)) /* ends it if no signal came */
			pthread_join(sig_thread, NULL);
	}
	printf(PROG ": %s: %lu requests, %lu completed, %lu failed\n", w.o.client_id, w.received,
		w.completed, w.failed);
	mosquitto_property_free_all(&w.props);
	sim__link_stop(&w.link); /* when it started and shut_down() did not run */
	mosquitto_destroy(w.mosq);
	mosquitto_lib_cleanup();
	sim__brokers_free(&w.o.brokers);
	explicit_bzero(w.token, sizeof(w.token));
	return status;
}
