/*
 * core_stubs.h - a stub transport and a stub broker for the core's unit
 * tests (test_core_*.c), as mosquitto's test/unit/subs_stubs.c stands in for
 * the broker around subs.c.
 *
 * The transport (stub_session_ops) "writes" by popping what the core queued
 * and recording each message's JSON text per session; its socket can be made
 * full. The broker (stub_broker_ops) records every call and assigns mids as
 * transport/bridge.c does. A fixture (struct core_fixture) holds a core with
 * its config, counters and history, and frees the sessions it made. No
 * libwebsockets, no sockets, no clock other than the core's own.
 */
#ifndef RTG_TESTS_CORE_STUBS_H
#define RTG_TESTS_CORE_STUBS_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

/* A session on the stub transport: what it was sent and what the core asked of it. */
struct stub_sess {
	struct session s; /* first: the transport embeds the core's part */
	char **out; /* the JSON text of every message written, oldest first (malloc'd) */
	size_t nout, out_cap;
	bool full; /* the socket takes nothing: can_flush() says false */
	bool flush_fails; /* flush() reports a failed socket */
	unsigned flushes; /* flush() calls */
	unsigned writeables; /* writeable() calls */
	unsigned closes; /* close() calls */
	int close_grace; /* the grace of the last close() */
	unsigned fails; /* fail() calls */
};

extern const struct session_ops stub_session_ops;

/* The stub broker's record, one for the whole test binary (reset by core_fixture_setup). */
#define STUB_BROKER_MAX 64
struct stub_broker {
	bool up; /* what up() answers */
	int next_mid; /* the mid of the last SUBSCRIBE / UNSUBSCRIBE */
	char *subscribed[STUB_BROKER_MAX]; /* filters of every SUBSCRIBE, in order */
	int sub_mid[STUB_BROKER_MAX];
	unsigned nsubscribed;
	char *unsubscribed[STUB_BROKER_MAX]; /* filters of every UNSUBSCRIBE, in order */
	int unsub_mid[STUB_BROKER_MAX];
	unsigned nunsubscribed;
	unsigned published;
	unsigned calls_down; /* subscribe() / unsubscribe() asked while down (refused, -1) */
};

extern struct stub_broker stub_broker;
extern const struct core_broker stub_broker_ops;

/* How many SUBSCRIBE (UNSUBSCRIBE) the broker got for @filter. */
unsigned stub_broker_subscribes(const char *filter);
unsigned stub_broker_unsubscribes(const char *filter);
/* The mid of the last SUBSCRIBE (UNSUBSCRIBE) for @filter; fails the test if none. */
int stub_broker_sub_mid(const char *filter);
int stub_broker_unsub_mid(const char *filter);
/* Forgets every recorded call (keeps up and next_mid). */
void stub_broker_forget(void);

/* A core with its config (the fields session.c reads), counters and history. */
struct core_fixture {
	struct adapter_config cfg;
	struct stats stats;
	struct history hist;
	struct core core;
	struct stub_sess **sess; /* every session made by stub_sess_new(), freed by teardown */
	size_t nsess, sess_cap;
};

/*
 * cmocka setup / teardown: *state becomes a struct core_fixture with
 * queue_max_messages 1024, queue_max_bytes 4 MiB, slow_consumer_timeout 10,
 * a history of 100 messages per topic, and the stub broker up.
 */
int core_fixture_setup(void **state);
int core_fixture_teardown(void **state);

/* A new session on the stub transport, initialised with session__init(). */
struct stub_sess *stub_sess_new(struct core_fixture *f);

/*
 * What the transport's writeable callback would do: writes what the session
 * has queued (ignores full). Returns how many messages were written.
 */
size_t stub_drain(struct stub_sess *ss);

/* Records a broker message in the history and fans it out; returns it (borrowed). */
struct out_msg *stub_publish(struct core_fixture *f, const char *topic, const char *payload);

/* The number member @key of the JSON object @text; fails the test when it has none. */
double stub_json_num(const char *text, const char *key);
/* Whether the string member @key of the JSON object @text equals @want. */
bool stub_json_str_is(const char *text, const char *key, const char *want);
/* Fails the test unless message i written to ss was topic's seq. */
void stub_assert_got(const struct stub_sess *ss, size_t i, const char *topic, unsigned seq);

#endif /* RTG_TESTS_CORE_STUBS_H */
