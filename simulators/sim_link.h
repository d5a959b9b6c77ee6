/*
 * sim_link.h - the network thread of the simulators and the calc worker: keeps
 * one libmosquitto client connected to one broker of a list, in order, moving
 * to the next when one refuses, gives no CONNACK in time or is lost, and (with
 * a failback) back to the first once it answers. It replaces
 * mosquitto_loop_start(), whose reconnect blocks (a vanished host held it for
 * minutes) and knows only one host.
 *
 * The program keeps its own callbacks; its on_connect calls sim__link_up().
 * Nothing here publishes or subscribes.
 */
#ifndef SIM_LINK_H
#define SIM_LINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <mosquitto.h>

#include "rtg_broker.h"

/* The brokers and how to use them: the command line's --mqtt-* options. */
struct sim_brokers {
	struct rtg_broker *b; /* n brokers in order */
	int n;
	int failback; /* --mqtt-failback seconds; 0: stay on the broker it has */
	int keepalive; /* --mqtt-keepalive seconds (5-3600) */
	int connect_timeout; /* --mqtt-connect-timeout seconds (1-300) */
	const char *host; /* --mqtt-host, before sim__brokers_finish() */
	int port; /* --mqtt-port */
};

/* The network thread's state; zeroed before sim__link_start(). */
struct sim_link {
	struct mosquitto *mosq;
	const struct sim_brokers *brokers;
	const char *prog; /* prefix of every message */
	pthread_t thread;
	bool started;
	atomic_bool stop; /* sim__link_stop() asked */
	atomic_bool leaving; /* sim__link_disconnect() asked: no new connection */
	atomic_bool up; /* CONNACK accepted on the current connection */
	atomic_int current; /* the broker used or tried */
	int last_up; /* network thread: the broker of the last connection up, -1: none */
	int first_rc, first_errno; /* the first connect, made by sim__link_start() */
};

/* getopt_long() entries and usage lines of the broker options, for the programs' tables. */
#define SIM_BROKER_LONGOPTS(base)                                              \
	{"mqtt-broker", required_argument, NULL, (base)},                      \
		{"mqtt-failback", required_argument, NULL, (base) + 1},        \
		{"mqtt-keepalive", required_argument, NULL, (base) + 2},       \
		{"mqtt-connect-timeout", required_argument, NULL, (base) + 3}, \
		{"mqtt-host", required_argument, NULL, (base) + 4},            \
	{                                                                      \
		"mqtt-port", required_argument, NULL, (base) + 5               \
	}
#define SIM_BROKER_NOPTS 6

/** Prints the usage lines of the broker options. */
void sim__brokers_usage(FILE *fp);

/** Sets the defaults (127.0.0.1:1883, keepalive 5, connect timeout 5, no failback). */
void sim__brokers_init(struct sim_brokers *l);

/**
 * Handles option number @p which (0..SIM_BROKER_NOPTS-1, the order of
 * SIM_BROKER_LONGOPTS) with @p arg. --mqtt-broker may be given several times,
 * each a broker or a comma list; they add up in order.
 * @return 0, or -1 after saying what is wrong on stderr (prefixed with @p prog)
 */
int sim__brokers_option(struct sim_brokers *l, int which, const char *arg, const char *prog);

/**
 * After the command line: without --mqtt-broker, --mqtt-host and --mqtt-port
 * are the one broker; both ways at once is refused.
 * @param host_given --mqtt-host or --mqtt-port was on the command line
 * @return 0, or -1 after saying what is wrong
 */
int sim__brokers_finish(struct sim_brokers *l, bool host_given, const char *prog);

/** Frees the list; a zeroed one is fine. */
void sim__brokers_free(struct sim_brokers *l);

/**
 * Starts the network thread on @p mosq (configured, callbacks set, not
 * connected), with SIGINT and SIGTERM blocked in it. It connects to the first
 * broker, non-blocking, and keeps the client connected as described above.
 * @return 0, or -1 (reported)
 */
int sim__link_start(
	struct sim_link *k, struct mosquitto *mosq, const struct sim_brokers *b, const char *prog);

/**
 * From the program's on_connect (network thread): the CONNACK of the current
 * attempt, @p ok when accepted. A connection on another broker than the last
 * one logs one line naming both.
 */
void sim__link_up(struct sim_link *k, bool ok);

/** Why a connection ended (an on_disconnect code): mosquitto_strerror(), keepalive included. */
const char *sim__link_strerror(int rc);

/**
 * Disconnects for good (the program is ending): the DISCONNECT goes out from
 * the network thread, which then connects nowhere else.
 * @return mosquitto_disconnect()'s result (MOSQ_ERR_NO_CONN when not connected)
 */
int sim__link_disconnect(struct sim_link *k);

/** Stops the thread and joins it. A link never started is fine. */
void sim__link_stop(struct sim_link *k);

#endif /* SIM_LINK_H */
