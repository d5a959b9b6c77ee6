/*
 * trading_sim.c - rtg-trading-sim, the trading desk and AI studio of seed 004 and the market
 * alerts of seed 000, simulated for the realtime gateway.
 *
 * Every --interval seconds it publishes the next message of a rotation over fifteen kinds
 * (signals, portfolio, executions, sentiment, risk, P&L, F&O Greeks, training, monitoring,
 * predictions, backtests, studio dashboard, marketplace, system health, market alerts),
 * each a flat JSON object built by trading_shapes.c and its siblings. This file has the
 * command line and the loop only. Main thread; libmosquitto's thread only sends.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_common.h"
#include "trading_shapes.h"
#include "rtg_util.h"

#define MAX_USERS 1024
#define MAX_ITEMS 64 /* jobs, models, symbols, tickers */
#define BATCH_MAX 1000
#define DEFAULT_USERS "alice,bob"
#define DEFAULT_JOBS "job-1,job-2"
#define DEFAULT_MODELS "model-1,model-2"
#define DEFAULT_SYMBOLS "NIFTY,BANKNIFTY"
#define DEFAULT_TICKERS "AAPL,MSFT,GOOGL,AMZN,TSLA"

enum trading_opt {
	OPT_USERS = SIM_OPT_PRIVATE,
	OPT_JOBS,
	OPT_MODELS,
	OPT_SYMBOLS,
	OPT_TICKERS,
	OPT_INTERVAL,
};

/* The list options, in the order of their enum trading_opt codes. */
enum { L_USERS, L_JOBS, L_MODELS, L_SYMBOLS, L_TICKERS, L_COUNT };

static const struct {
	const char *flag;
	const char *def;
	size_t max;
} list_opts[L_COUNT] = {
	[L_USERS] = {"--users", DEFAULT_USERS, MAX_USERS},
	[L_JOBS] = {"--jobs", DEFAULT_JOBS, MAX_ITEMS},
	[L_MODELS] = {"--models", DEFAULT_MODELS, MAX_ITEMS},
	[L_SYMBOLS] = {"--symbols", DEFAULT_SYMBOLS, MAX_ITEMS},
	[L_TICKERS] = {"--tickers", DEFAULT_TICKERS, MAX_ITEMS},
};

struct sim {
	struct sim_list lists[L_COUNT];
	double interval;
	struct trading *t;
	struct sim_client client;
	uint64_t sent;
};

static const struct option longopts[] = {
	{"users", required_argument, NULL, OPT_USERS},
	{"jobs", required_argument, NULL, OPT_JOBS},
	{"models", required_argument, NULL, OPT_MODELS},
	{"symbols", required_argument, NULL, OPT_SYMBOLS},
	{"tickers", required_argument, NULL, OPT_TICKERS},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *fp)
{
	fputs("Usage: rtg-trading-sim --token-file FILE [options]\n"
	      "Publishes simulated trading and AI studio data to the realtime gateway's broker,\n"
	      "one message every --interval, going round these kinds (R: retained):\n"
	      "  user/<u>/signals                     new_signal, signal_update\n"
	      "  user/<u>/portfolio                   portfolio_update, R\n"
	      "  user/<u>/executions                  execution_update\n"
	      "  market/sentiment/<SYMBOL>            sentiment_update, R\n"
	      "  user/<u>/risk                        risk_alert\n"
	      "  user/<u>/pnl                         pnl_update, R\n"
	      "  market/fno/<SYMBOL>                  fno_update, R\n"
	      "  user/<u>/studio/training/<job>       training_update, R\n"
	      "  user/<u>/studio/monitoring/<model>   monitoring_update, R\n"
	      "  user/<u>/studio/predictions/<model>  prediction\n"
	      "  user/<u>/studio/backtest/<model>     backtest_update, R\n"
	      "  user/<u>/studio/dashboard            dashboard_update, R\n"
	      "  studio/marketplace                   marketplace_notification\n"
	      "  system/health                        system_health, R\n"
	      "  market/alerts/<TICKER>               market_alert\n"
	      "The token needs the roles publisher (market/#) and notifier (user/#, studio/#,\n"
	      "system/health): rtg-token --sub trading-sim --roles publisher,notifier ...\n\n"
	      "  --users A,B           demo users (default " DEFAULT_USERS ")\n"
	      "  --jobs A,B            training job ids (default " DEFAULT_JOBS ")\n"
	      "  --models A,B          model ids (default " DEFAULT_MODELS ")\n"
	      "  --symbols A,B         sentiment and F&O symbols (default " DEFAULT_SYMBOLS ")\n"
	      "  --tickers A,B         market alert tickers (default " DEFAULT_TICKERS ")\n"
	      "  --interval S          seconds between two messages (default 1)\n"
	      "  --count N             exit after N messages\n",
		fp);
	sim__usage_common(fp);
}

static int parse_list(struct sim *s, size_t i, const char *arg)
{
	sim__list_free(&s->lists[i]); /* the last one given wins */
	return sim__parse_list(list_opts[i].flag, arg, list_opts[i].max, &s->lists[i]);
}

static int parse_opt(void *ctx, int opt, const char *arg)
{
	struct sim *s = ctx;

	switch (opt) {
	case OPT_USERS:
	case OPT_JOBS:
	case OPT_MODELS:
	case OPT_SYMBOLS:
	case OPT_TICKERS:
		return parse_list(s, (size_t)(opt - OPT_USERS), arg);
	case OPT_INTERVAL:
		return sim__parse_double("--interval", arg, 0.001, 86400, &s->interval);
	default:
		return -1;
	}
}

/* Fills in the lists not given; RTG_ERR_NOMEM is the only way this can fail. */
static enum rtg_err lists_default(struct sim *s)
{
	size_t i;

	for (i = 0; i < L_COUNT; i++) {
		if (!s->lists[i].n && parse_list(s, i, list_opts[i].def))
			return RTG_ERR_NOMEM;
	}
	return RTG_OK;
}

static void lists_free(struct sim *s)
{
	size_t i;

	for (i = 0; i < L_COUNT; i++)
		sim__list_free(&s->lists[i]);
}

/* The two failures of the shapes, in words. */
static const char *why(enum rtg_err rc)
{
	return rc == RTG_ERR_NOMEM ? "out of memory" : "invalid arguments";
}

static enum rtg_err state_new(struct sim *s, uint64_t seed)
{
	struct trading_conf conf = {
		.users = &s->lists[L_USERS],
		.jobs = &s->lists[L_JOBS],
		.models = &s->lists[L_MODELS],
		.symbols = &s->lists[L_SYMBOLS],
		.tickers = &s->lists[L_TICKERS],
	};
	enum rtg_err rc = trading__new(&conf, seed, &s->t);

	if (rc != RTG_OK)
		fprintf(stderr, "%s: cannot set up the simulation: %s\n", sim__prog(), why(rc));
	return rc;
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* Builds and publishes the next message. A message the client did not accept is counted
 * there and is no reason to stop, so that gives RTG_OK. */
static enum rtg_err publish_one(struct sim *s)
{
	struct trading_msg m;
	enum rtg_err rc = trading__next(s->t, sim__real_ns(), &m);

	if (rc == RTG_OK)
		rc = sim__publish_json(&s->client, m.topic, m.obj, m.retain);
	else
		fprintf(stderr, "%s: cannot build a %s message: %s\n", sim__prog(),
			trading__type(m.kind), why(rc));
	cJSON_Delete(m.obj);
	s->sent++;
	return rc == RTG_ERR_IO ? RTG_OK : rc;
}

static bool done(const struct sim *s, uint64_t count)
{
	return count && s->sent >= count;
}

/* The first message goes at once; a schedule that falls behind catches up in batches. */
static enum rtg_err run(struct sim *s, uint64_t count)
{
	struct sim_rate rate;
	enum rtg_err rc = RTG_OK;
	uint64_t n;

	sim__rate_init(&rate, 1.0 / s->interval, sim__mono_ns());
	while (rc == RTG_OK && sim__running(&s->client) && !done(s, count)) {
		for (n = sim__rate_take(&rate, sim__mono_ns(), BATCH_MAX);
			rc == RTG_OK && n && !done(s, count); n--)
			rc = publish_one(s);
		if (done(s, count))
			break;
		sim__sleep_until(sim__rate_next(&rate));
	}
	return rc;
}

int main(int argc, char *argv[])
{
	struct sim s = {.interval = 1};
	struct sim_prog prog = {"rtg-trading-sim", longopts, usage, parse_opt, &s};
	struct sim_opts o;
	bool started = false;
	enum rtg_err rc;
	int status;

	sim__set_prog(prog.name);
	status = sim__parse_args(argc, argv, &prog, &o);
	if (status) {
		lists_free(&s);
		return status > 0 ? EXIT_SUCCESS : SIM_EXIT_USAGE;
	}
	rc = lists_default(&s);
	if (rc == RTG_OK)
		rc = sim__signals_init();
	if (rc == RTG_OK)
		rc = state_new(&s, o.seed);
	if (rc == RTG_OK) {
		fprintf(stderr, "%s: seed %" PRIu64 ", %zu users, a message every %g s\n",
			prog.name, o.seed, s.lists[L_USERS].n, s.interval);
		rc = sim__client_start(&s.client, &o, 1);
		started = rc == RTG_OK;
	}
	if (rc == RTG_OK)
		rc = run(&s, o.count);
	rc = sim__client_finish(&s.client, rc, started, s.sent, "messages");
	trading__free(s.t);
	lists_free(&s);
	return rc == RTG_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
