/*
 * trading_shapes.h - the state and the messages of rtg-trading-sim: seed 004's trading desk
 * and AI studio, seed 000's market alerts, each a flat JSON object with "type" and
 * "timestamp" on its canonical topic.
 *
 * Pure: no MQTT, no clock, no I/O. The caller passes the time of each message, so a seed and
 * a time give the same bytes; the unit tests drive it alone. One struct trading per thread.
 * trading_shapes.c keeps the state and the rotation, trading_desk.c builds the per-user
 * trading messages, trading_market.c the market-wide ones (and the option Greeks),
 * trading_studio.c the AI studio's and system/health.
 */
#ifndef TRADING_SHAPES_H
#define TRADING_SHAPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "rtg_err.h"
#include "sim_common.h"

/* The longest topic: "user/<u>/studio/predictions/<model>" with two SIM_NAME_MAX names. */
#define TRADING_TOPIC_MAX (sizeof("user//studio/predictions/") + 2 * SIM_NAME_MAX)

/* The kinds, in the order the rotation publishes them. */
enum trading_kind {
	TRADING_SIGNAL, /* user/<u>/signals: new_signal or signal_update */
	TRADING_PORTFOLIO, /* user/<u>/portfolio, retained */
	TRADING_EXECUTION, /* user/<u>/executions */
	TRADING_SENTIMENT, /* market/sentiment/<SYMBOL>, retained */
	TRADING_RISK, /* user/<u>/risk */
	TRADING_PNL, /* user/<u>/pnl, retained */
	TRADING_FNO, /* market/fno/<SYMBOL>, retained */
	TRADING_TRAINING, /* user/<u>/studio/training/<job>, retained */
	TRADING_MONITORING, /* user/<u>/studio/monitoring/<model>, retained */
	TRADING_PREDICTION, /* user/<u>/studio/predictions/<model> */
	TRADING_BACKTEST, /* user/<u>/studio/backtest/<model>, retained */
	TRADING_DASHBOARD, /* user/<u>/studio/dashboard, retained */
	TRADING_MARKETPLACE, /* studio/marketplace */
	TRADING_HEALTH, /* system/health, retained */
	TRADING_ALERT, /* market/alerts/<TICKER> */
	TRADING_KINDS
};

/* What a simulator is asked to simulate: lists of names, each a valid topic level, none
 * empty. Borrowed: the lists must outlive the struct trading. */
struct trading_conf {
	const struct sim_list *users;
	const struct sim_list *jobs; /* training job ids */
	const struct sim_list *models; /* model ids */
	const struct sim_list *symbols; /* sentiment and F&O symbols */
	const struct sim_list *tickers; /* market alert tickers */
};

/* One message to publish. */
struct trading_msg {
	enum trading_kind kind;
	char topic[TRADING_TOPIC_MAX];
	cJSON *obj; /* the caller's after RTG_OK: free with cJSON_Delete() */
	bool retain;
};

/* The simulator's state; opaque outside trading_*.c. */
struct trading;

/**
 * Creates the state: every user's portfolio, jobs and models, every symbol's price, drawn
 * from @p seed and the names only.
 * @param out set to the new state, or NULL on error; free it with trading__free()
 * @return RTG_OK, RTG_ERR_INVAL (a list missing or empty) or RTG_ERR_NOMEM
 */
enum rtg_err trading__new(const struct trading_conf *conf, uint64_t seed, struct trading **out);

/** Frees @p t; NULL is fine. */
void trading__free(struct trading *t);

/**
 * The next message of the rotation: the kinds in enum order, each kind going round its
 * users and then its jobs, models, symbols or tickers, so that TRADING_KINDS * users *
 * max(jobs, models, symbols, tickers) calls reach every topic. Prices move one step first.
 * @param now_ns the message's time, CLOCK_REALTIME in nanoseconds (>= 0)
 * @param m cleared first; on RTG_OK it holds a new object
 * @return RTG_OK, RTG_ERR_INVAL (@p now_ns out of range) or RTG_ERR_NOMEM
 */
enum rtg_err trading__next(struct trading *t, int64_t now_ns, struct trading_msg *m);

/**
 * One message of @p kind, the next of that kind's round, without moving prices or the
 * rotation (for tests). Same contract as trading__next().
 */
enum rtg_err trading__build(
	struct trading *t, enum trading_kind kind, int64_t now_ns, struct trading_msg *m);

/** The message type @p kind publishes first ("new_signal", "portfolio_update", ...). */
const char *trading__type(enum trading_kind kind);

/* An option's Black-Scholes Greeks. */
struct trading_greeks {
	double price; /* premium */
	double delta;
	double gamma;
	double theta; /* per calendar day */
	double vega; /* per volatility point (1 %) */
};

/**
 * The Black-Scholes (no dividends) price and Greeks of a European call or put.
 * @param spot, strike > 0; @param years to expiry > 0; @param vol a year (0.15 = 15 %) > 0;
 * @param rate continuously compounded, a year
 * @return RTG_OK, or RTG_ERR_INVAL for an argument out of range (@p g is then zeroed)
 */
enum rtg_err trading__greeks(double spot, double strike, double years, double vol, double rate,
	bool call, struct trading_greeks *g);

/**
 * The expiry of an NSE option series at @p now_ns: weekly (NIFTY) the next Tuesday, else
 * monthly the last Tuesday of the month, at the 15:30 IST close (10:00 UTC); a series
 * whose close has passed gives the next one.
 * @param date receives "YYYY-MM-DD" (at least 11 bytes)
 * @param expiry_ns receives the close in nanoseconds since the epoch
 * @return RTG_OK or RTG_ERR_INVAL (@p now_ns negative, @p len too small)
 */
enum rtg_err trading__expiry(
	int64_t now_ns, bool weekly, char *date, size_t len, int64_t *expiry_ns);

#endif /* TRADING_SHAPES_H */
