/*
 * sim_common.h - what every data simulator shares: the command line, the MQTT
 * connection, signals, clocks, timestamps, a seeded PRNG and JSON publishing.
 *
 * A simulator parses its options with sim__parse_args(), connects with
 * sim__client_start() (libmosquitto then runs in its own thread and reconnects
 * by itself), publishes from its main thread with sim__publish_json() and ends
 * with sim__client_stop(). sim_common.c has the command line, PRNG, clocks and
 * schedules; sim_mqtt.c the client. Nothing here knows about market data or users.
 */
#ifndef SIM_COMMON_H
#define SIM_COMMON_H

#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>

#include "rtg_err.h"
#include "sim_link.h"

#define SIM_EXIT_USAGE 2 /* exit status for a bad command line */
#define SIM_NS_PER_SEC 1000000000LL
#define SIM_ISO8601_LEN 32 /* "2025-11-18T10:30:00.123Z" and its NUL fit */
#define SIM_NAME_MAX 64 /* longest ticker or user name */

/* getopt_long() codes of the options every simulator takes; a program's own start at
 * SIM_OPT_PRIVATE. */
enum sim_opt {
	SIM_OPT_BROKER = 0x100, /* SIM_BROKER_NOPTS codes: --mqtt-broker, ... (sim_link.h) */
	SIM_OPT_TOKEN_FILE = SIM_OPT_BROKER + SIM_BROKER_NOPTS,
	SIM_OPT_CLIENT_ID,
	SIM_OPT_SEED,
	SIM_OPT_COUNT,
	SIM_OPT_HELP,
	SIM_OPT_PRIVATE
};

/* The common options, after sim__parse_args(). Strings point into argv. */
struct sim_opts {
	struct sim_brokers brokers; /* --mqtt-broker, or --mqtt-host and --mqtt-port; the rest */
	bool host_given; /* --mqtt-host or --mqtt-port */
	const char *token_file; /* --token-file, required */
	const char *client_id; /* --client-id, default "<program>-<pid>" */
	uint64_t seed; /* --seed, or one from the clock (printed at start) */
	bool has_seed;
	uint64_t count; /* --count, 0 = run until a signal */
};

/* A program's description for sim__parse_args(). */
struct sim_prog {
	const char *name; /* "rtg-market-sim": the prefix of every message */
	const struct option *longopts; /* its own options, ended by a zeroed entry */
	void (*usage)(FILE *fp); /* prints its usage; may call sim__usage_common() */
	/* handles one of its own options; returns 0, or -1 after saying what is wrong */
	int (*parse)(void *ctx, int opt, const char *arg);
	void *ctx;
};

/* A comma-separated list of names (tickers, users), each a valid single topic level. */
struct sim_list {
	char **items; /* n names, pointing into buf */
	size_t n;
	char *buf;
};

/* The PRNG: xorshift64* seeded through splitmix64; normal draws by Box-Muller. */
struct sim_rng {
	uint64_t s;
	double spare;
	bool has_spare;
};

/* A fixed-rate schedule with absolute deadlines: event k is due at base + k * period. */
struct sim_rate {
	int64_t base_ns;
	double period_ns;
	uint64_t k;
};

/*
 * The MQTT side of a simulator. The counters are updated from both threads, so they are
 * atomic: published (accepted by libmosquitto), completed (written for QoS 0, PUBACKed
 * for QoS 1), failed (not accepted: no connection, backlog full, error) and refused (the
 * broker answered with a failure reason code, e.g. "not authorized").
 */
struct sim_client {
	struct mosquitto *mosq;
	struct sim_link link; /* the network thread, over the brokers in order */
	const char *token_file;
	int qos;
	bool lib_init; /* mosquitto_lib_init() was called */
	atomic_bool connected;
	atomic_bool fatal; /* the broker refused the connection: stop */
	atomic_bool warned_fail;
	atomic_bool warned_refused;
	atomic_ulong published;
	atomic_ulong completed;
	atomic_ulong failed;
	atomic_ulong refused;
};

/** Sets the program name used in every message. @p name must outlive the program. */
void sim__set_prog(const char *name);

/** The program name set by sim__set_prog(). */
const char *sim__prog(void);

/**
 * Parses argv: the common options and @p prog's own, into @p o (defaults first).
 * The broker list it makes is freed by sim__client_finish(), or here when it
 * does not return 0.
 * @return 0 to go on, 1 if --help printed the usage (exit 0), -1 on a bad command line,
 * already reported on stderr (exit SIM_EXIT_USAGE).
 */
int sim__parse_args(int argc, char *argv[], const struct sim_prog *prog, struct sim_opts *o);

/** Frees what sim__parse_args() allocated (sim__client_finish() calls it). */
void sim__args_free(void);

/** Prints the usage lines of the common options and the exit statuses (the end of --help). */
void sim__usage_common(FILE *fp);

/**
 * Strict number parsing for option @p opt: the whole of @p arg must be a number within
 * [min, max]. @return 0, or -1 after saying what is wrong on stderr.
 */
int sim__parse_long(const char *opt, const char *arg, long min, long max, long *out);
int sim__parse_double(const char *opt, const char *arg, double min, double max, double *out);
int sim__parse_u64(const char *opt, const char *arg, uint64_t *out);

/**
 * Splits the comma list @p arg into at most @p max distinct names, each usable as one
 * MQTT topic level (1..SIM_NAME_MAX bytes, no '/', '+', '#', space or control character).
 * @p out is cleared first. @return 0, or -1 after saying what is wrong. Free with
 * sim__list_free().
 */
int sim__parse_list(const char *opt, const char *arg, size_t max, struct sim_list *out);

/** Releases a list's memory; a zeroed or freed list is fine. */
void sim__list_free(struct sim_list *l);

/** Seeds @p r; every seed, 0 included, gives a distinct usable stream. */
void sim__rng_seed(struct sim_rng *r, uint64_t seed);

/** A seed for the stream named @p name (a ticker, a user) derived from @p seed. */
uint64_t sim__rng_derive(uint64_t seed, const char *name);

/** The next 64 random bits. */
uint64_t sim__rng_next(struct sim_rng *r);

/** Uniform in [0, 1). */
double sim__rng_uniform(struct sim_rng *r);

/** Uniform integer in [0, n); n must be > 0. */
uint64_t sim__rng_below(struct sim_rng *r, uint64_t n);

/** A standard normal draw (mean 0, variance 1), by Box-Muller. */
double sim__rng_normal(struct sim_rng *r);

/**
 * Installs the SIGINT/SIGTERM handlers (they set a flag only) and ignores SIGPIPE.
 * @return RTG_OK, or RTG_ERR_INVAL if sigaction failed (reported).
 */
enum rtg_err sim__signals_init(void);

/** true once SIGINT or SIGTERM arrived. Async-signal-safe. */
bool sim__stopping(void);

/** CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
int64_t sim__mono_ns(void);
int64_t sim__real_ns(void);

/**
 * Sleeps until the CLOCK_MONOTONIC time @p deadline_ns (absolute, so a fixed-rate loop
 * does not drift), returning early once sim__stopping().
 */
void sim__sleep_until(int64_t deadline_ns);

/** Starts a schedule of @p per_sec events a second (> 0), the first due at @p start_ns. */
void sim__rate_init(struct sim_rate *r, double per_sec, int64_t start_ns);

/**
 * Takes the events due at @p now_ns, at most @p max (the caller's batch). A schedule more
 * than a second behind forgets the excess rather than bursting to catch up.
 * @return how many events to do now.
 */
uint64_t sim__rate_take(struct sim_rate *r, int64_t now_ns, uint64_t max);

/** The CLOCK_MONOTONIC deadline of the next event. */
int64_t sim__rate_next(const struct sim_rate *r);

/**
 * Writes the UTC time @p real_ns as ISO-8601 with milliseconds ("...T10:30:00.123Z")
 * into @p buf of @p len (at least SIM_ISO8601_LEN). @return RTG_OK or RTG_ERR_INVAL.
 */
enum rtg_err sim__iso8601(int64_t real_ns, char *buf, size_t len);

/**
 * Reads the token, creates an MQTT v5 client with no username (the plugin takes the
 * token's "sub"), starts the network thread (sim_link.c), which connects to the brokers
 * of o->brokers in order, moves to the next when one is lost and retries a failed round
 * with exponential backoff (1 s to 30 s). A broker that is not up yet is not an error. Every
 * publish uses @p qos (0 or 1): one QoS per client keeps the backlog count exact. @p c
 * is cleared first.
 * @return RTG_OK; RTG_ERR_IO (token unreadable), RTG_ERR_NOMEM or RTG_ERR_INVAL
 * (reported). Call sim__client_stop() in every case.
 */
enum rtg_err sim__client_start(struct sim_client *c, const struct sim_opts *o, int qos);

/**
 * Waits up to two seconds for what is still queued while connected, disconnects, stops
 * the network thread and frees everything. A zeroed client is fine.
 */
void sim__client_stop(struct sim_client *c);

/** false once a signal arrived or the broker refused the connection. */
bool sim__running(struct sim_client *c);

/**
 * Publishes @p obj, printed unformatted, to @p topic with the client's QoS. Never
 * blocks: without a connection a QoS 1 message is queued by libmosquitto (up to a bound)
 * and a QoS 0 message is counted as failed and skipped.
 * @return RTG_OK if accepted, RTG_ERR_NOMEM, or RTG_ERR_IO if not accepted (counted).
 */
enum rtg_err sim__publish_json(struct sim_client *c, const char *topic, cJSON *obj, bool retain);

/** Prints "<prog>: <what>; N published, N unconfirmed, N failed, N refused ..." on stdout. */
void sim__summary(struct sim_client *c, const char *what);

/**
 * The end of a simulator's run: stops the client (sim__client_stop()), frees the broker
 * list of sim__parse_args(), prints the
 * summary with "@p n @p noun" if the client was @p started, and turns @p rc into
 * RTG_ERR_DENIED if the broker refused the connection.
 * @return the run's result
 */
enum rtg_err sim__client_finish(
	struct sim_client *c, enum rtg_err rc, bool started, uint64_t n, const char *noun);

#endif /* SIM_COMMON_H */
