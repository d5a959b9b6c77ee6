/*
 * trading_int.h - what trading_shapes.c lends the message builders (trading_desk.c,
 * trading_market.c, trading_studio.c): the state behind struct trading, and small JSON
 * and number helpers. Internal to the trading shapes; the simulator and the tests use
 * trading_shapes.h. Same thread rule: one struct trading per thread.
 */
#ifndef TRADING_INT_H
#define TRADING_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "price_walk.h"
#include "sim_common.h"
#include "trading_shapes.h"

#define TRADING_TRADED 5 /* the first instruments: NIFTY, BANKNIFTY, RELIANCE, TCS, INFY */
#define TRADING_POSITIONS 3 /* each portfolio holds RELIANCE, TCS and INFY */
#define TRADING_FIRST_POSITION 2 /* ... instruments 2 to 4 */
#define TRADING_RECENT 8 /* signals a user keeps for signal_update */
#define TRADING_WORKERS 5 /* the workers system/health reports */
#define TRADING_DAY_NS (86400LL * SIM_NS_PER_SEC)

/* A tradable name: its price walk and what its options and sentiment look like. */
struct trading_instrument {
	const char *name; /* static, or pointing into the --symbols list */
	struct price_walk walk;
	double strike_step; /* distance between two listed strikes */
	double lot; /* contracts are multiples of it */
	bool weekly; /* weekly option expiries (NIFTY) */
	double base_iv; /* the at-the-money implied volatility it reverts to, in percent */
	double atm_iv; /* the at-the-money implied volatility now, in percent */
	double open_interest; /* contracts open at the money */
	double sentiment; /* -1..1, mean-reverting */
};

/* A signal as published, kept so that a signal_update can revise it. */
struct trading_signal {
	uint64_t id;
	size_t inst;
	bool buy;
	double confidence;
	double entry;
	double target;
	double stop;
	int64_t created_ns;
};

struct trading_position {
	size_t inst;
	double qty;
	double avg_price;
};

/* A training job: advances to 100 %, is reported completed once, then starts again. */
struct trading_job {
	double progress; /* percent */
	double min_per_pct; /* its speed, for the ETA */
	bool completed;
};

/* A deployed model: its live metrics and its current backtest. */
struct trading_model {
	double base_accuracy;
	double accuracy;
	double precision;
	double recall;
	double drift;
	double latency_ms;
	double bt_progress; /* percent */
	double bt_trades; /* trades of the whole backtest */
	double win_rate;
	double sharpe;
	double max_drawdown; /* a fraction of the peak */
	bool bt_completed;
};

struct trading_user {
	const char *name; /* points into the --users list */
	struct trading_position pos[TRADING_POSITIONS];
	double cash;
	double realized;
	double day_open; /* the portfolio's value when the UTC day began */
	struct trading_signal recent[TRADING_RECENT]; /* a ring, newest at next_recent - 1 */
	size_t n_recent;
	size_t next_recent;
	uint64_t predictions_today;
	struct trading_job *jobs; /* one per --jobs name */
	struct trading_model *models; /* one per --models name */
};

struct trading_worker {
	const char *name;
	double queue_depth;
	bool stalled;
};

struct trading {
	struct trading_conf conf;
	struct trading_user *users;
	struct trading_instrument *inst; /* TRADING_TRADED, then the other --symbols */
	size_t n_inst;
	size_t *symbol_inst; /* --symbols entry i is inst[symbol_inst[i]] */
	/* One stream per kind: what one kind publishes does not depend on the others. */
	struct sim_rng rng[TRADING_KINDS];
	struct sim_rng price_rng;
	uint64_t count[TRADING_KINDS]; /* messages built per kind: picks user and item */
	uint64_t tick; /* messages of the rotation */
	uint64_t next_id[TRADING_KINDS]; /* the last id handed out per kind */
	int64_t day; /* the UTC day of the last message */
	double cpu_percent;
	double memory_percent;
	struct trading_worker workers[TRADING_WORKERS];
};

/* ---- helpers (trading_shapes.c) --------------------------------------------------------- */

/** A new object {"type": @p type, "timestamp": ISO-8601 of @p now_ns}, or NULL. */
cJSON *trading__obj(const char *type, int64_t now_ns);

/** Adds a number / a string / an ISO-8601 time; false if out of memory (or a bad time). */
bool trading__num(cJSON *o, const char *key, double v);
bool trading__str(cJSON *o, const char *key, const char *v);
bool trading__time(cJSON *o, const char *key, int64_t ns);

/** Appends a new object to the array @p a and returns it (owned by @p a), or NULL. */
cJSON *trading__push_obj(cJSON *a);

/**
 * Finishes a builder: on @p ok hands @p o to @p m and returns RTG_OK; else deletes @p o
 * and returns RTG_ERR_NOMEM.
 */
enum rtg_err trading__finish(struct trading_msg *m, cJSON *o, bool ok);

/** @p x rounded to 1 / @p scale (100: cents), halves away from zero, never "-0". */
double trading__round(double x, double scale);

/** @p x rounded to NSE's price tick, 0.05. */
double trading__tick(double x);

double trading__clamp(double x, double lo, double hi);

/** One step of a walk back towards @p mean: a tenth of the gap plus noise of @p sd. */
double trading__revert(struct sim_rng *r, double x, double mean, double sd, double lo, double hi);

/** Uniform in [lo, hi). */
double trading__between(struct sim_rng *r, double lo, double hi);

/** The user of the @p n-th message of a kind, and the index of its item among @p items:
 * the users go round first, then the items. */
struct trading_user *trading__user(struct trading *t, uint64_t n);
size_t trading__item(const struct trading *t, uint64_t n, size_t items);

/** A user's portfolio: its value (cash included) and its unrealized P&L. */
double trading__value(const struct trading *t, const struct trading_user *u);
double trading__unrealized(const struct trading *t, const struct trading_user *u);

/* ---- the builders: the n-th message of their kind --------------------------------------- */

typedef enum rtg_err (*trading_build_fn)(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);

enum rtg_err trading__signal(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__portfolio(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__execution(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__risk(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__pnl(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);

enum rtg_err trading__sentiment(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__fno(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__alert(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);

enum rtg_err trading__training(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__monitoring(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__prediction(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__backtest(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__dashboard(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__marketplace(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);
enum rtg_err trading__health(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m);

/** Sets up a user's jobs and models from @p r (trading_studio.c). */
void trading__studio_init(struct trading *t, struct trading_user *u, struct sim_rng *r);

/** Sets up the workers of system/health (trading_studio.c). */
void trading__health_init(struct trading *t);

#endif /* TRADING_INT_H */
