/*
 * market_sim.c - rtg-market-sim, a market data feed for the realtime gateway.
 *
 * Publishes price_update to market/<TICKER> (retained) at a fixed total rate, round-robin
 * over the tickers, each ticker's price a geometric Brownian motion (price_walk.c) fed by
 * its own seeded stream; market_update to market/indicators and market_status to
 * market/status (both retained) on their own periods; pattern_alert to
 * market/patterns/<TICKER> now and then. It models no order book and no real calendar
 * (NYSE hours in UTC, no holidays). Main thread; libmosquitto's thread only sends.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "price_walk.h"
#include "sim_common.h"
#include "rtg_util.h"

#define MAX_TICKERS 256
#define DEFAULT_TICKERS "AAPL,MSFT,GOOGL,AMZN,TSLA,NVDA,META,NIFTY"
#define BATCH_MAX 1000 /* price updates per wake-up at most, so the timers still run */
#define QOS0_ABOVE_RATE 1000.0 /* above this rate every message goes at QoS 0 */
#define TRADING_DAY_SEC 23400.0 /* 6.5 hours */
#define TRADING_YEAR_SEC (252.0 * TRADING_DAY_SEC)
#define STATUS_PERIOD_NS (60 * SIM_NS_PER_SEC)
#define DAY_SEC 86400
#define NYSE_OPEN_SEC (14 * 3600 + 30 * 60) /* 09:30 EST in UTC */
#define NYSE_CLOSE_SEC (21 * 3600) /* 16:00 EST in UTC */

enum market_opt {
	OPT_TICKERS = SIM_OPT_PRIVATE,
	OPT_RATE,
	OPT_INDICATORS_INTERVAL,
	OPT_PATTERN_INTERVAL,
	OPT_SPEED,
};

/* Start price, drift and volatility per year, shares traded a day. */
struct profile {
	const char *name;
	double price;
	double mu;
	double sigma;
	double daily_volume;
};

static const struct profile profiles[] = {
	{"AAPL", 189.50, 0.10, 0.25, 55e6},
	{"MSFT", 415.20, 0.12, 0.22, 22e6},
	{"GOOGL", 152.80, 0.10, 0.28, 25e6},
	{"AMZN", 178.30, 0.12, 0.30, 40e6},
	{"TSLA", 245.60, 0.15, 0.55, 100e6},
	{"NVDA", 875.40, 0.30, 0.50, 45e6},
	{"META", 495.10, 0.15, 0.35, 15e6},
	{"NIFTY", 22150.00, 0.11, 0.15, 300e6},
};

static const char *const pattern_types[] = {"VCP", "cup_and_handle", "flat_base", "breakout"};

struct ticker {
	const char *name; /* points into the --tickers list */
	char topic[sizeof("market/") + SIM_NAME_MAX];
	char pattern_topic[sizeof("market/patterns/") + SIM_NAME_MAX];
	struct price_walk walk;
	struct sim_rng rng;
	double daily_volume;
	double day_elapsed; /* simulated trading seconds into the ticker's day */
};

/* Seed 001's market_update "data", each a mean-reverting random walk. */
struct indicators {
	double discount_rate;
	double inflation_rate;
	double market_growth;
	double tech_index;
	double ai_adoption_rate;
	struct sim_rng rng;
};

struct market {
	struct sim_list names;
	double rate; /* price updates a second, all tickers together */
	double indicators_interval;
	double pattern_interval;
	double speed; /* simulated trading seconds per real second */
	struct ticker *tickers;
	size_t n;
	size_t next; /* the ticker updated next */
	double dt_sec; /* simulated seconds between two updates of one ticker */
	struct indicators ind;
	struct sim_rng pattern_rng;
	struct sim_client client;
	uint64_t updates;
};

static const struct option longopts[] = {
	{"tickers", required_argument, NULL, OPT_TICKERS},
	{"rate", required_argument, NULL, OPT_RATE},
	{"indicators-interval", required_argument, NULL, OPT_INDICATORS_INTERVAL},
	{"pattern-interval", required_argument, NULL, OPT_PATTERN_INTERVAL},
	{"speed", required_argument, NULL, OPT_SPEED},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *fp)
{
	fputs("Usage: rtg-market-sim --token-file FILE [options]\n"
	      "Publishes simulated market data to the realtime gateway's broker:\n"
	      "  market/<TICKER>           price_update, retained, --rate a second in all\n"
	      "  market/indicators         market_update, retained, every --indicators-interval\n"
	      "  market/status             market_status, retained, at start and every 60 s\n"
	      "                            (open 14:30-21:00 UTC Monday to Friday)\n"
	      "  market/patterns/<TICKER>  pattern_alert, about every --pattern-interval\n"
	      "The token needs a role that may write market/# (publisher).\n\n"
	      "  --tickers A,B,C       tickers (default " DEFAULT_TICKERS ")\n"
	      "  --rate N              price updates a second, round-robin over the tickers\n"
	      "                        (default 2, at most 1000000; above 1000 all go at QoS 0)\n"
	      "  --indicators-interval S  seconds between market_update (default 10)\n"
	      "  --pattern-interval S  mean seconds between pattern alerts (default 30)\n"
	      "  --speed X             simulated trading seconds per real second (default 60)\n"
	      "  --count N             exit after N price updates\n",
		fp);
	sim__usage_common(fp);
}

static int parse_opt(void *ctx, int opt, const char *arg)
{
	struct market *m = ctx;

	switch (opt) {
	case OPT_TICKERS:
		sim__list_free(&m->names); /* the last --tickers wins */
		return sim__parse_list("--tickers", arg, MAX_TICKERS, &m->names);
	case OPT_RATE:
		return sim__parse_double("--rate", arg, 0.01, 1e6, &m->rate);
	case OPT_INDICATORS_INTERVAL:
		return sim__parse_double(
			"--indicators-interval", arg, 0.01, DAY_SEC, &m->indicators_interval);
	case OPT_PATTERN_INTERVAL:
		return sim__parse_double(
			"--pattern-interval", arg, 0.01, DAY_SEC, &m->pattern_interval);
	case OPT_SPEED:
		return sim__parse_double("--speed", arg, 0.0, 1e6, &m->speed);
	default:
		return -1;
	}
}

/* ---- state -------------------------------------------------------------------------------- */

/* A ticker without a profile gets a start price from its name (20 to 500) and middling
 * drift and volatility, so that every run with the same name agrees. */
static void ticker_init(struct ticker *t, const char *name, uint64_t seed)
{
	struct profile p = {
		name, 20.0 + (double)(sim__rng_derive(0, name) % 48000) / 100.0, 0.08, 0.30, 5e6};
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(profiles); i++) {
		if (strcmp(profiles[i].name, name) == 0)
			p = profiles[i];
	}
	t->name = name;
	snprintf(t->topic, sizeof(t->topic), "market/%s", name);
	snprintf(t->pattern_topic, sizeof(t->pattern_topic), "market/patterns/%s", name);
	walk__init(&t->walk, p.price, p.mu, p.sigma);
	/* Its own stream: a ticker's path depends on the seed and its name only, not on the
	 * other tickers, the rate or the timing of the other messages. */
	sim__rng_seed(&t->rng, sim__rng_derive(seed, name));
	t->daily_volume = p.daily_volume;
	t->day_elapsed = 0.0;
}

static enum rtg_err market_init(struct market *m, uint64_t seed)
{
	size_t i;

	m->n = m->names.n;
	m->tickers = calloc(m->n, sizeof(*m->tickers));
	if (!m->tickers) {
		fprintf(stderr, "%s: out of memory\n", sim__prog());
		return RTG_ERR_NOMEM;
	}
	for (i = 0; i < m->n; i++)
		ticker_init(&m->tickers[i], m->names.items[i], seed);
	m->dt_sec = (double)m->n / m->rate * m->speed;
	m->ind = (struct indicators){0.095, 0.024, 0.082, 102.5, 0.352, {0, 0.0, false}};
	sim__rng_seed(&m->ind.rng, sim__rng_derive(seed, "market/indicators"));
	sim__rng_seed(&m->pattern_rng, sim__rng_derive(seed, "market/patterns"));
	return RTG_OK;
}

/* One step of a mean-reverting walk: a tenth of the way back to mean, plus noise. */
static double revert(struct sim_rng *r, double x, double mean, double sd, double lo, double hi)
{
	x += 0.1 * (mean - x) + sd * sim__rng_normal(r);
	return x < lo ? lo : x > hi ? hi : x;
}

static void indicators_step(struct indicators *in)
{
	in->discount_rate = revert(&in->rng, in->discount_rate, 0.095, 0.002, 0.0, 0.25);
	in->inflation_rate = revert(&in->rng, in->inflation_rate, 0.024, 0.001, -0.02, 0.2);
	in->market_growth = revert(&in->rng, in->market_growth, 0.082, 0.003, -0.2, 0.3);
	in->tech_index = revert(&in->rng, in->tech_index, 102.5, 0.8, 10.0, 1000.0);
	in->ai_adoption_rate = revert(&in->rng, in->ai_adoption_rate, 0.4, 0.004, 0.0, 1.0);
}

/* NYSE regular hours taken as 14:30-21:00 UTC on weekdays (US Eastern Standard Time;
 * daylight saving time and holidays are ignored). Returns true if open at t, and sets
 * the next close if open, else the next open; the other one is 0. */
static bool market_hours(time_t t, time_t *next_open, time_t *next_close)
{
	int64_t day = (int64_t)t / DAY_SEC, tod = (int64_t)t % DAY_SEC, d;

	*next_open = 0;
	*next_close = 0;
	/* Day 0, 1970-01-01, was a Thursday: (day + 4) % 7 is 0 on Sundays. */
	if ((day + 4) % 7 >= 1 && (day + 4) % 7 <= 5 && tod >= NYSE_OPEN_SEC &&
		tod < NYSE_CLOSE_SEC) {
		*next_close = (time_t)(day * DAY_SEC + NYSE_CLOSE_SEC);
		return true;
	}
	for (d = day; d < day + 8; d++) {
		if ((d + 4) % 7 >= 1 && (d + 4) % 7 <= 5 && d * DAY_SEC + NYSE_OPEN_SEC > t) {
			*next_open = (time_t)(d * DAY_SEC + NYSE_OPEN_SEC);
			break;
		}
	}
	return false;
}

/* ---- messages ------------------------------------------------------------------------------ */

/* Publishes and frees o (NULL: out of memory while building it). A message the client did
 * not accept is counted there and is no reason to stop, so that gives RTG_OK. */
static enum rtg_err send_obj(struct market *m, const char *topic, cJSON *o, bool retain)
{
	enum rtg_err rc = RTG_ERR_NOMEM;

	if (o)
		rc = sim__publish_json(&m->client, topic, o, retain);
	cJSON_Delete(o);
	if (rc == RTG_ERR_NOMEM)
		fprintf(stderr, "%s: out of memory\n", sim__prog());
	return rc == RTG_ERR_IO ? RTG_OK : rc;
}

/* A new object with "type" and "timestamp" (now), or NULL. */
static cJSON *new_msg(const char *type, int64_t now_ns)
{
	char ts[SIM_ISO8601_LEN];
	cJSON *o;

	if (sim__iso8601(now_ns, ts, sizeof(ts)) != RTG_OK)
		return NULL;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "type", type) ||
		!cJSON_AddStringToObject(o, "timestamp", ts)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool add_num(cJSON *o, const char *key, double v)
{
	return cJSON_AddNumberToObject(o, key, v) != NULL;
}

/* Adds key: the ISO-8601 time t, or null for t == 0. */
static bool add_time(cJSON *o, const char *key, time_t t)
{
	char ts[SIM_ISO8601_LEN];

	if (t == 0)
		return cJSON_AddNullToObject(o, key) != NULL;
	return sim__iso8601((int64_t)t * SIM_NS_PER_SEC, ts, sizeof(ts)) == RTG_OK &&
		cJSON_AddStringToObject(o, key, ts) != NULL;
}

/* Steps the ticker (after starting its next day if the last one is over) and publishes
 * its price_update. "sent_ns" is CLOCK_REALTIME in nanoseconds as an integer literal (a
 * raw value: cJSON's doubles would print 1.7e18 in exponent form), for latency benchmarks. */
static enum rtg_err publish_price(struct market *m, struct ticker *t)
{
	int64_t now = sim__real_ns();
	double lots = t->daily_volume * m->dt_sec / TRADING_DAY_SEC;
	/* Two statements: the order in which arguments are evaluated is unspecified, and a
	 * seed must give the same prices whatever the compiler. */
	double z = sim__rng_normal(&t->rng);
	uint64_t volume = (uint64_t)llround(lots * (0.5 + sim__rng_uniform(&t->rng))) + 1;
	struct price_quote q;
	char ns[24];
	cJSON *o;

	if (t->day_elapsed >= TRADING_DAY_SEC) {
		walk__new_day(&t->walk);
		t->day_elapsed -= TRADING_DAY_SEC;
	}
	walk__step(&t->walk, m->dt_sec / TRADING_YEAR_SEC, z, volume);
	t->day_elapsed += m->dt_sec;
	walk__quote(&t->walk, &q);
	snprintf(ns, sizeof(ns), "%" PRId64, now);
	o = new_msg("price_update", now);
	if (o &&
		(!cJSON_AddStringToObject(o, "ticker", t->name) || !add_num(o, "price", q.price) ||
			!add_num(o, "change", q.change) ||
			!add_num(o, "change_percent", q.change_percent) ||
			!add_num(o, "volume", (double)q.volume) || !add_num(o, "high", q.high) ||
			!add_num(o, "low", q.low) || !add_num(o, "open", q.open) ||
			!cJSON_AddRawToObject(o, "sent_ns", ns))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(m, t->topic, o, true);
}

static double round_to(double x, double scale)
{
	return round(x * scale) / scale + 0.0; /* + 0.0: no "-0" */
}

static enum rtg_err publish_indicators(struct market *m)
{
	struct indicators *in = &m->ind;
	cJSON *o = new_msg("market_update", sim__real_ns());
	cJSON *data = o ? cJSON_AddObjectToObject(o, "data") : NULL;

	indicators_step(in);
	if (o &&
		(!data || !add_num(data, "discount_rate", round_to(in->discount_rate, 1e3)) ||
			!add_num(data, "inflation_rate", round_to(in->inflation_rate, 1e3)) ||
			!add_num(data, "market_growth", round_to(in->market_growth, 1e3)) ||
			!add_num(data, "tech_index", round_to(in->tech_index, 10)) ||
			!add_num(data, "ai_adoption_rate", round_to(in->ai_adoption_rate, 1e3)))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(m, "market/indicators", o, true);
}

static enum rtg_err publish_status(struct market *m)
{
	int64_t now = sim__real_ns();
	time_t next_open, next_close;
	bool open = market_hours((time_t)(now / SIM_NS_PER_SEC), &next_open, &next_close);
	cJSON *o = new_msg("market_status", now);

	if (o &&
		(!cJSON_AddStringToObject(o, "status", open ? "open" : "closed") ||
			!add_time(o, "next_open", next_open) ||
			!add_time(o, "next_close", next_close))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(m, "market/status", o, true);
}

/* A pattern on a random ticker near its price: the entry just above it, the stop 3 to 8 %
 * below the entry, the target 2 to 4 times that risk above. */
static enum rtg_err publish_pattern(struct market *m)
{
	struct sim_rng *r = &m->pattern_rng;
	struct ticker *t = &m->tickers[sim__rng_below(r, m->n)];
	const char *type = pattern_types[sim__rng_below(r, RTG_ARRAY_SIZE(pattern_types))];
	double score = round_to(5.0 + 5.0 * sim__rng_uniform(r), 10);
	double entry = walk__round2(t->walk.price * (1.002 + 0.01 * sim__rng_uniform(r)));
	double stop = walk__round2(entry * (0.97 - 0.05 * sim__rng_uniform(r)));
	double target = walk__round2(entry + (2.0 + 2.0 * sim__rng_uniform(r)) * (entry - stop));
	char text[128 + SIM_NAME_MAX];
	cJSON *o;

	if (stop <= 0.0 || stop >= entry)
		return RTG_OK; /* a penny price leaves no room for a stop */
	snprintf(text, sizeof(text), "%s pattern detected on %s with score %.1f", type, t->name,
		score);
	o = new_msg("pattern_alert", sim__real_ns());
	if (o &&
		(!cJSON_AddStringToObject(o, "ticker", t->name) ||
			!cJSON_AddStringToObject(o, "pattern_type", type) ||
			!add_num(o, "score", score) || !add_num(o, "entry_price", entry) ||
			!add_num(o, "stop_price", stop) || !add_num(o, "target_price", target) ||
			!add_num(o, "risk_reward_ratio",
				walk__round2((target - entry) / (entry - stop))) ||
			!cJSON_AddStringToObject(o, "message", text))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(m, t->pattern_topic, o, false);
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* The next time of a periodic timer; one that fell behind skips what it missed. */
static int64_t next_tick(int64_t prev, int64_t period, int64_t now)
{
	prev += period;
	return prev > now ? prev : now + period;
}

static int64_t pattern_delay(struct market *m)
{
	return (int64_t)(m->pattern_interval * (0.5 + sim__rng_uniform(&m->pattern_rng)) * 1e9);
}

static int64_t min_ns(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Runs the timers that are due, then the price updates that are due, in one batch (at
 * most BATCH_MAX), then sleeps until the earliest deadline. Returns RTG_OK when stopped by
 * --count or a signal. */
static enum rtg_err run(struct market *m, uint64_t count)
{
	int64_t now = sim__mono_ns();
	int64_t ind_period = (int64_t)(m->indicators_interval * 1e9);
	int64_t next_ind = now, next_status = now, next_pattern = now + pattern_delay(m);
	struct sim_rate rate;
	enum rtg_err rc = RTG_OK;
	uint64_t n;

	sim__rate_init(&rate, m->rate, now);
	while (rc == RTG_OK && sim__running(&m->client)) {
		now = sim__mono_ns();
		if (now >= next_status) {
			rc = publish_status(m);
			next_status = next_tick(next_status, STATUS_PERIOD_NS, now);
		}
		if (rc == RTG_OK && now >= next_ind) {
			rc = publish_indicators(m);
			next_ind = next_tick(next_ind, ind_period, now);
		}
		if (rc == RTG_OK && now >= next_pattern) {
			rc = publish_pattern(m);
			next_pattern = now + pattern_delay(m);
		}
		n = sim__rate_take(&rate, now, BATCH_MAX);
		if (count && n > count - m->updates)
			n = count - m->updates;
		for (; rc == RTG_OK && n; n--) {
			rc = publish_price(m, &m->tickers[m->next]);
			m->next = (m->next + 1) % m->n;
			m->updates++;
		}
		if (count && m->updates >= count)
			break;
		sim__sleep_until(min_ns(min_ns(sim__rate_next(&rate), next_ind),
			min_ns(next_status, next_pattern)));
	}
	return rc;
}

int main(int argc, char *argv[])
{
	struct market m = {
		.rate = 2, .indicators_interval = 10, .pattern_interval = 30, .speed = 60};
	struct sim_prog prog = {"rtg-market-sim", longopts, usage, parse_opt, &m};
	struct sim_opts o;
	bool started = false;
	enum rtg_err rc;
	int status;

	sim__set_prog(prog.name);
	status = sim__parse_args(argc, argv, &prog, &o);
	if (status) {
		sim__list_free(&m.names);
		return status > 0 ? EXIT_SUCCESS : SIM_EXIT_USAGE;
	}
	rc = RTG_OK;
	if (!m.names.n && sim__parse_list("--tickers", DEFAULT_TICKERS, MAX_TICKERS, &m.names))
		rc = RTG_ERR_NOMEM;
	if (rc == RTG_OK)
		rc = sim__signals_init();
	if (rc == RTG_OK)
		rc = market_init(&m, o.seed);
	if (rc == RTG_OK) {
		fprintf(stderr, "%s: seed %" PRIu64 ", %zu tickers, %g price updates a second\n",
			prog.name, o.seed, m.n, m.rate);
		rc = sim__client_start(&m.client, &o, m.rate > QOS0_ABOVE_RATE ? 0 : 1);
		started = rc == RTG_OK;
	}
	if (rc == RTG_OK)
		rc = run(&m, o.count);
	rc = sim__client_finish(&m.client, rc, started, m.updates, "price updates");
	free(m.tickers);
	sim__list_free(&m.names);
	return rc == RTG_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
