/*
 * sim_link.c - the simulators' and the calc worker's network thread, with
 * several brokers (declared in sim_link.h).
 *
 * One attempt: mosquitto_connect_async() to the current broker (it sets the
 * host and connects without blocking), then mosquitto_loop() in 100 ms slices
 * until the connection is lost, its CONNACK is overdue, or it is time to fail
 * back. Then the next broker, at once while this round has untried ones, else
 * after a backoff (1 s doubling to 30 s, as libmosquitto's own reconnect did).
 * A broker lost by keepalive is one libmosquitto closed in mosquitto_loop().
 * Network thread, except sim__link_start() and sim__link_stop().
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_link.h"

#define LOOP_MS 100
#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sim__link_strerror(int rc)
{
	if (rc == MOSQ_ERR_KEEPALIVE)
		return "no answer within the keepalive"; /* libmosquitto 2.0.11 has no text for it */
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

void sim__link_up(struct sim_link *k, bool ok)
{
	int cur = atomic_load(&k->current);
	const char *name = k->brokers->b[cur].name;

	if (!ok)
		return;
	if (k->last_up >= 0 && k->last_up != cur)
		fprintf(stderr, "%s: connected to %s, switched from %s\n", k->prog, name,
			k->brokers->b[k->last_up].name);
	k->last_up = cur;
	atomic_store(&k->up, true);
}

/*
 * On another broker than the first for --mqtt-failback seconds: probes the
 * first (again every failback seconds while it does not answer). Returns
 * true once it accepted a TCP connection.
 */
static bool failback_due(struct sim_link *k, long long up_since, int *probe, long long *probe_at)
{
	const struct sim_brokers *l = k->brokers;
	long long now = now_ms(), every = (long long)l->failback * 1000;
	int r;

	if (!l->failback || atomic_load(&k->current) == 0 || now - up_since < every)
		return false;
	if (*probe < 0) {
		if (now < *probe_at)
			return false;
		*probe_at = now;
		*probe = rtg_broker_probe_start(&l->b[0]);
		if (*probe < 0)
			*probe_at = now + every;
		return false;
	}
	r = rtg_broker_probe_result(*probe);
	if (r == 0 && now - *probe_at < (long long)l->connect_timeout * 1000)
		return false;
	close(*probe);
	*probe = -1;
	if (r <= 0) {
		*probe_at = now + every;
		return false;
	}
	fprintf(stderr, "%s: %s answers again: leaving %s for it (--mqtt-failback)\n", k->prog,
		l->b[0].name, l->b[atomic_load(&k->current)].name);
	return true;
}

/*
 * One connection to the current broker, from the connect to its end. Returns
 * whether it came up; *back is set when it ended to fail back to the first.
 */
static bool attempt(struct sim_link *k, bool *back, bool first)
{
	const struct sim_brokers *l = k->brokers;
	const struct rtg_broker *b = &l->b[atomic_load(&k->current)];
	long long deadline = now_ms() + (long long)l->connect_timeout * 1000, up_since = 0;
	long long probe_at = 0;
	int probe = -1, rc;
	bool was_up = false, leaving = false;

	atomic_store(&k->up, false);
	rc = first ? k->first_rc : mosquitto_connect_async(k->mosq, b->host, b->port, l->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", k->prog, b->name,
			rc != MOSQ_ERR_ERRNO ? mosquitto_strerror(rc)
				: first	     ? strerror(k->first_errno)
					     : strerror(errno));
		return false;
	}
	while (!atomic_load(&k->stop)) {
		rc = mosquitto_loop(k->mosq, LOOP_MS, 1);
		if (!was_up && atomic_load(&k->up)) {
			was_up = true;
			up_since = now_ms();
		}
		if (rc != MOSQ_ERR_SUCCESS)
			break; /* lost, refused or left: the program's on_disconnect said so */
		if (!was_up && now_ms() >= deadline) {
			fprintf(stderr, "%s: no answer from %s within %d s\n", k->prog, b->name,
				l->connect_timeout);
			break;
		}
		if (was_up && !leaving && failback_due(k, up_since, &probe, &probe_at)) {
			leaving = *back = true;
			if (mosquitto_disconnect(k->mosq) != MOSQ_ERR_SUCCESS)
				break;
		}
	}
	if (probe >= 0)
		close(probe);
	atomic_store(&k->up, false);
	return was_up;
}

/* Sleeps s seconds in slices, returning early once stopped. */
static void pause_s(struct sim_link *k, int s)
{
	const struct timespec slice = {0, LOOP_MS * 1000000L};
	long long until = now_ms() + (long long)s * 1000;

	while (!atomic_load(&k->stop) && now_ms() < until)
		nanosleep(&slice, NULL);
}

static void *run(void *arg)
{
	struct sim_link *k = arg;
	int n = k->brokers->n, tried = 0, backoff = 0, cur;
	bool back = false, was_up, first = true;

	while (!atomic_load(&k->stop)) {
		back = false;
		was_up = attempt(k, &back, first);
		first = false;
		if (atomic_load(&k->leaving)) {
			while (!atomic_load(&k->stop))
				pause_s(k, 1);
			break;
		}
		if (atomic_load(&k->stop))
			break;
		cur = atomic_load(&k->current);
		if (back) {
			cur = 0;
			tried = 0;
		} else {
			if (was_up) {
				tried = 0;
				backoff = 0;
			}
			cur = (cur + 1) % n;
			if (++tried >= n) {
				tried = 0;
				backoff = backoff ? backoff * 2 : BACKOFF_MIN_S;
				backoff = backoff > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff;
				pause_s(k, backoff);
			}
		}
		atomic_store(&k->current, cur);
	}
	return NULL;
}

int sim__link_start(
	struct sim_link *k, struct mosquitto *mosq, const struct sim_brokers *b, const char *prog)
{
	sigset_t block, old;
	int rc;

	k->mosq = mosq;
	k->brokers = b;
	k->prog = prog;
	k->last_up = -1;
	atomic_store(&k->current, 0);
	/* publishes from other threads are queued and wake mosquitto_loop() */
	rc = mosquitto_threaded_set(mosq, true);
	/* The first connect from here: a publish made before the thread runs is queued on it. */
	k->first_rc = mosquitto_connect_async(mosq, b->b[0].host, b->b[0].port, b->keepalive);
	k->first_errno = errno;
	if (rc == MOSQ_ERR_SUCCESS &&
		(sigemptyset(&block) || sigaddset(&block, SIGINT) || sigaddset(&block, SIGTERM) ||
			pthread_sigmask(SIG_BLOCK, &block, &old)))
		rc = MOSQ_ERR_UNKNOWN;
	if (rc == MOSQ_ERR_SUCCESS) {
		rc = pthread_create(&k->thread, NULL, run, k) ? MOSQ_ERR_UNKNOWN : MOSQ_ERR_SUCCESS;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "%s: cannot start the network thread\n", prog);
		return -1;
	}
	k->started = true;
	return 0;
}

int sim__link_disconnect(struct sim_link *k)
{
	atomic_store(&k->leaving, true);
	return mosquitto_disconnect(k->mosq);
}

void sim__link_stop(struct sim_link *k)
{
	if (!k->started)
		return;
	atomic_store(&k->stop, true);
	pthread_join(k->thread, NULL);
	k->started = false;
}
