/*
 * test_trading_shapes.c - unit tests for rtg-trading-sim's messages (trading_shapes.c and
 * its builders): every kind's topic, type, time and retain flag, the rotation's reach, the
 * reproducibility of a seed, the bookkeeping that ties executions, portfolio and P&L
 * together, the progress of jobs and backtests, and the option maths and NSE calendar.
 *
 * Every message is built at a fixed time, so the tests need no clock and no broker. The
 * Black-Scholes figures are the textbook ones (S = K = 100, T = 1, r = 5 %, vol = 20 %).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trading_shapes.h"
#include "rtg_util.h"

#define NS(sec) ((int64_t)(sec)*SIM_NS_PER_SEC)
#define NOW NS(1763442000) /* 2025-11-18T05:00:00Z, a Tuesday */
#define NOW_ISO "2025-11-18T05:00:00.000Z"
#define DAY NS(86400)

/* ==== Helpers ================================================================================= */

/* A simulation and the lists it borrows. */
struct fix {
	struct sim_list users, jobs, models, symbols, tickers;
	struct trading *t;
};

static void list(struct sim_list *l, const char *names)
{
	if (sim__parse_list("--test", names, 64, l))
		fail_msg("bad test list \"%s\"", names);
}

static void start_with(struct fix *f, const char *users, const char *jobs, const char *models,
	const char *symbols, uint64_t seed)
{
	struct trading_conf conf = {&f->users, &f->jobs, &f->models, &f->symbols, &f->tickers};

	memset(f, 0, sizeof(*f));
	list(&f->users, users);
	list(&f->jobs, jobs);
	list(&f->models, models);
	list(&f->symbols, symbols);
	list(&f->tickers, "AAPL,MSFT,ZZNEW");
	assert_int_equal(trading__new(&conf, seed, &f->t), RTG_OK);
	assert_non_null(f->t);
}

static void start(struct fix *f, const char *users, uint64_t seed)
{
	start_with(f, users, "job-1,job-2", "model-1,model-2", "NIFTY,BANKNIFTY", seed);
}

static void stop(struct fix *f)
{
	trading__free(f->t);
	sim__list_free(&f->users);
	sim__list_free(&f->jobs);
	sim__list_free(&f->models);
	sim__list_free(&f->symbols);
	sim__list_free(&f->tickers);
}

/* Builds the next message of kind at now; fails the test unless it is an object. */
static void build(struct fix *f, enum trading_kind kind, int64_t now, struct trading_msg *m)
{
	assert_int_equal(trading__build(f->t, kind, now, m), RTG_OK);
	assert_true(cJSON_IsObject(m->obj));
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("\"%s\" is not a number", key);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		fail_msg("\"%s\" is not a string", key);
	return v->valuestring;
}

static bool on_tick(double price)
{
	return fabs(price * 20.0 - round(price * 20.0)) < 1e-6;
}

/* Fails unless |got - want| <= tol. */
static void near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s is %.10g, want %.10g (tolerance %g)", what, got, want, tol);
}

/* Returns the quantity of symbol in a portfolio_update. */
static double holding(const cJSON *portfolio, const char *symbol)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(portfolio, "positions")) {
		if (strcmp(str(p, "symbol"), symbol) == 0)
			return num(p, "quantity");
	}
	fail_msg("no %s position", symbol);
	return 0;
}

/* ==== Every kind ============================================================================== */

/* The first message of each kind is alice's, of job-1 / model-1 / NIFTY / AAPL. */
static void test_every_kind_has_its_topic_type_time_and_retain_flag(void **state)
{
	static const struct {
		enum trading_kind kind;
		const char *topic;
		const char *type;
		bool retain;
	} want[] = {
		{TRADING_SIGNAL, "user/alice/signals", "new_signal", false},
		{TRADING_PORTFOLIO, "user/alice/portfolio", "portfolio_update", true},
		{TRADING_EXECUTION, "user/alice/executions", "execution_update", false},
		{TRADING_SENTIMENT, "market/sentiment/NIFTY", "sentiment_update", true},
		{TRADING_RISK, "user/alice/risk", "risk_alert", false},
		{TRADING_PNL, "user/alice/pnl", "pnl_update", true},
		{TRADING_FNO, "market/fno/NIFTY", "fno_update", true},
		{TRADING_TRAINING, "user/alice/studio/training/job-1", "training_update", true},
		{TRADING_MONITORING, "user/alice/studio/monitoring/model-1", "monitoring_update",
			true},
		{TRADING_PREDICTION, "user/alice/studio/predictions/model-1", "prediction", false},
		{TRADING_BACKTEST, "user/alice/studio/backtest/model-1", "backtest_update", true},
		{TRADING_DASHBOARD, "user/alice/studio/dashboard", "dashboard_update", true},
		{TRADING_MARKETPLACE, "studio/marketplace", "marketplace_notification", false},
		{TRADING_HEALTH, "system/health", "system_health", true},
		{TRADING_ALERT, "market/alerts/AAPL", "market_alert", false},
	};
	struct trading_msg m;
	struct fix f;
	size_t i;

	UNUSED(state);
	assert_int_equal(RTG_ARRAY_SIZE(want), TRADING_KINDS);
	start(&f, "alice,bob", 1);
	for (i = 0; i < RTG_ARRAY_SIZE(want); i++) {
		build(&f, want[i].kind, NOW, &m);
		assert_int_equal(m.kind, want[i].kind);
		assert_string_equal(m.topic, want[i].topic);
		assert_string_equal(str(m.obj, "type"), want[i].type);
		assert_string_equal(trading__type(want[i].kind), want[i].type);
		assert_string_equal(str(m.obj, "timestamp"), NOW_ISO);
		assert_int_equal(m.retain, want[i].retain);
		cJSON_Delete(m.obj);
	}
	stop(&f);
}

/* Kinds x users x the longest item list reaches every topic, bob's and the third job's. */
static void test_rotation_reaches_every_topic_of_every_user(void **state)
{
	static const char *const must[] = {"user/bob/signals", "user/bob/portfolio",
		"user/bob/executions", "user/bob/risk", "user/bob/pnl",
		"user/bob/studio/training/job-3", "user/alice/studio/training/job-3",
		"user/bob/studio/monitoring/model-2", "user/bob/studio/predictions/model-2",
		"user/bob/studio/backtest/model-2", "user/bob/studio/dashboard",
		"market/sentiment/FINNIFTY", "market/fno/FINNIFTY", "market/fno/BANKNIFTY",
		"market/alerts/ZZNEW", "studio/marketplace", "system/health"};
	char seen[TRADING_KINDS * 2 * 3][TRADING_TOPIC_MAX];
	struct trading_msg m;
	struct fix f;
	size_t i, j;

	UNUSED(state);
	start_with(&f, "alice,bob", "job-1,job-2,job-3", "model-1,model-2",
		"NIFTY,BANKNIFTY,FINNIFTY", 2);
	for (i = 0; i < RTG_ARRAY_SIZE(seen); i++) {
		assert_int_equal(trading__next(f.t, NOW + (int64_t)i, &m), RTG_OK);
		assert_int_equal(m.kind, i % TRADING_KINDS);
		snprintf(seen[i], sizeof(seen[i]), "%s", m.topic);
		cJSON_Delete(m.obj);
	}
	for (j = 0; j < RTG_ARRAY_SIZE(must); j++) {
		for (i = 0; i < RTG_ARRAY_SIZE(seen) && strcmp(seen[i], must[j]); i++)
			;
		if (i == RTG_ARRAY_SIZE(seen))
			fail_msg("no message on %s", must[j]);
	}
	stop(&f);
}

/* Prints n messages of the rotation into one string (the caller frees it). */
static char *run_text(uint64_t seed, size_t n)
{
	size_t len = 0, cap = 1 << 16;
	char *all = calloc(1, cap), *text;
	struct trading_msg m;
	struct fix f;
	size_t i;

	start(&f, "alice,bob", seed);
	for (i = 0; i < n; i++) {
		assert_int_equal(trading__next(f.t, NOW + NS(i), &m), RTG_OK);
		text = cJSON_PrintUnformatted(m.obj);
		assert_non_null(text);
		while (len + strlen(text) + strlen(m.topic) + 3 > cap)
			all = realloc(all, cap *= 2);
		len += (size_t)sprintf(all + len, "%s %s\n", m.topic, text);
		cJSON_free(text);
		cJSON_Delete(m.obj);
	}
	stop(&f);
	return all;
}

static void test_a_seed_gives_the_same_messages_and_another_seed_others(void **state)
{
	char *a = run_text(42, 300), *b = run_text(42, 300), *c = run_text(43, 300);

	UNUSED(state);
	assert_string_equal(a, b);
	assert_true(strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
}

static void test_new_refuses_an_empty_or_missing_list(void **state)
{
	struct sim_list users = {0}, some;
	struct trading_conf conf = {&users, &some, &some, &some, &some};
	struct trading *t = (struct trading *)&some;

	UNUSED(state);
	list(&some, "x");
	assert_int_equal(trading__new(&conf, 1, &t), RTG_ERR_INVAL);
	assert_null(t);
	conf.users = &some;
	conf.tickers = NULL;
	assert_int_equal(trading__new(&conf, 1, &t), RTG_ERR_INVAL);
	assert_null(t);
	trading__free(NULL);
	sim__list_free(&some);
}

/* ==== The trading desk ======================================================================== */

/* New signals count up; an update repeats the id, symbol, entry and created_at of one of the
 * same user's earlier signals. Targets and stops sit on the right sides, on the tick. */
static void test_signal_updates_revise_an_earlier_signal_of_the_same_user(void **state)
{
	char ids[64][32], created[64][32];
	double entries[64];
	size_t n_new = 0, updates = 0, i;
	struct trading_msg m;
	double e, tg, sl;
	struct fix f;
	int k;

	UNUSED(state);
	start(&f, "alice", 3);
	for (k = 0; k < 60; k++) {
		build(&f, TRADING_SIGNAL, NOW + NS(k), &m);
		e = num(m.obj, "entry_price");
		tg = num(m.obj, "target_price");
		sl = num(m.obj, "stop_loss");
		assert_true(on_tick(e) && on_tick(tg) && on_tick(sl));
		if (strcmp(str(m.obj, "signal_type"), "BUY") == 0)
			assert_true(sl < e && e < tg);
		else
			assert_true(tg < e && e < sl);
		assert_true(
			num(m.obj, "confidence_score") > 0 && num(m.obj, "confidence_score") < 1);
		if (strcmp(str(m.obj, "type"), "new_signal") == 0) {
			snprintf(ids[n_new], sizeof(ids[n_new]), "signal-%zu", n_new + 1);
			assert_string_equal(str(m.obj, "id"), ids[n_new]);
			assert_string_equal(str(m.obj, "created_at"), str(m.obj, "timestamp"));
			snprintf(
				created[n_new], sizeof(created[0]), "%s", str(m.obj, "created_at"));
			entries[n_new++] = e;
		} else {
			assert_string_equal(str(m.obj, "type"), "signal_update");
			for (i = 0; i < n_new && strcmp(ids[i], str(m.obj, "id")); i++)
				;
			assert_true(i < n_new);
			assert_string_equal(str(m.obj, "created_at"), created[i]);
			near(e, entries[i], 0, "entry_price");
			updates++;
		}
		cJSON_Delete(m.obj);
	}
	assert_true(updates >= 10 && n_new >= 20);
	stop(&f);
}

/* Each execution changes the holding by what it filled: all, part or (rejected) nothing. */
static void test_an_execution_changes_the_holding_by_what_it_filled(void **state)
{
	struct trading_msg p0, ex, p1;
	size_t statuses[3] = {0};
	double before, filled, qty;
	const char *status;
	struct fix f;
	int k;

	UNUSED(state);
	start(&f, "alice", 4);
	for (k = 0; k < 200; k++) {
		build(&f, TRADING_PORTFOLIO, NOW, &p0);
		build(&f, TRADING_EXECUTION, NOW, &ex);
		build(&f, TRADING_PORTFOLIO, NOW, &p1);
		status = str(ex.obj, "status");
		qty = num(ex.obj, "quantity");
		filled = num(ex.obj, "filled_quantity");
		before = holding(p0.obj, str(ex.obj, "symbol"));
		assert_true(on_tick(num(ex.obj, "price")));
		if (strcmp(status, "FILLED") == 0) {
			assert_true(filled == qty);
			statuses[0]++;
		} else if (strcmp(status, "PARTIAL") == 0) {
			assert_true(filled >= 1 && filled < qty);
			statuses[1]++;
		} else {
			assert_string_equal(status, "REJECTED");
			assert_true(filled == 0);
			statuses[2]++;
		}
		if (strcmp(str(ex.obj, "side"), "SELL") == 0)
			filled = -filled;
		near(holding(p1.obj, str(ex.obj, "symbol")), before + filled, 0, "quantity");
		cJSON_Delete(p0.obj);
		cJSON_Delete(ex.obj);
		cJSON_Delete(p1.obj);
	}
	assert_true(statuses[0] > 100 && statuses[1] > 5 && statuses[2] > 5);
	stop(&f);
}

/* At one moment the portfolio and the P&L tell the same story: each position's P&L is
 * (ltp - avg_price) * quantity, they add up to the unrealized P&L, and the total is
 * realized + unrealized in both messages. */
static void test_portfolio_and_pnl_agree_with_the_positions(void **state)
{
	struct trading_msg m, pf, pnl;
	double sum;
	const cJSON *p;
	struct fix f;
	int k;

	UNUSED(state);
	start(&f, "alice", 5);
	for (k = 0; k < 30; k++) {
		assert_int_equal(trading__next(f.t, NOW, &m), RTG_OK); /* prices move, trades */
		cJSON_Delete(m.obj);
	}
	build(&f, TRADING_PORTFOLIO, NOW, &pf);
	build(&f, TRADING_PNL, NOW, &pnl);
	sum = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(pf.obj, "positions")) {
		near(num(p, "pnl"), (num(p, "ltp") - num(p, "avg_price")) * num(p, "quantity"),
			0.0051, "position pnl");
		assert_true(on_tick(num(p, "ltp")));
		sum += num(p, "pnl");
	}
	assert_int_equal(num(pf.obj, "position_count"),
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pf.obj, "positions")));
	near(num(pnl.obj, "unrealized_pnl"), sum, 1e-6, "unrealized_pnl");
	near(num(pnl.obj, "total_pnl"), num(pnl.obj, "realized_pnl") + sum, 1e-6, "total_pnl");
	near(num(pf.obj, "total_pnl"), num(pnl.obj, "total_pnl"), 1e-6, "portfolio total_pnl");
	cJSON_Delete(pf.obj);
	cJSON_Delete(pnl.obj);
	stop(&f);
}

/* A new UTC day starts the daily P&L and the day's prediction count from zero. */
static void test_a_new_utc_day_resets_the_daily_figures(void **state)
{
	struct trading_msg m;
	struct fix f;

	UNUSED(state);
	start(&f, "alice", 6);
	build(&f, TRADING_PREDICTION, NOW, &m);
	cJSON_Delete(m.obj);
	build(&f, TRADING_DASHBOARD, NOW, &m);
	assert_true(num(m.obj, "total_predictions_today") > 1);
	cJSON_Delete(m.obj);
	build(&f, TRADING_DASHBOARD, NOW + DAY, &m);
	near(num(m.obj, "total_predictions_today"), 0, 0, "predictions after midnight");
	cJSON_Delete(m.obj);
	build(&f, TRADING_PREDICTION, NOW + DAY, &m);
	cJSON_Delete(m.obj);
	build(&f, TRADING_DASHBOARD, NOW + DAY, &m);
	near(num(m.obj, "total_predictions_today"), 1, 0, "one prediction today");
	cJSON_Delete(m.obj);
	build(&f, TRADING_PORTFOLIO, NOW + DAY, &m);
	near(num(m.obj, "daily_pnl"), 0, 0, "daily_pnl after midnight");
	cJSON_Delete(m.obj);
	build(&f, TRADING_PNL, NOW + DAY, &m);
	near(num(m.obj, "day_change_percent"), 0, 0, "day_change_percent after midnight");
	cJSON_Delete(m.obj);
	stop(&f);
}

static void test_risk_alerts_are_breaches_graded_by_their_size(void **state)
{
	struct trading_msg m;
	double ratio;
	const char *sev;
	struct fix f;
	int k;

	UNUSED(state);
	start(&f, "alice", 7);
	for (k = 0; k < 100; k++) {
		build(&f, TRADING_RISK, NOW, &m);
		ratio = num(m.obj, "metric") / num(m.obj, "threshold");
		sev = str(m.obj, "severity");
		assert_true(ratio > 1.0);
		assert_string_equal(sev, ratio < 1.1 ? "low" : ratio < 1.25 ? "medium" : "high");
		assert_non_null(
			strstr("exposure drawdown margin concentration", str(m.obj, "category")));
		assert_true(strlen(str(m.obj, "message")) > 20);
		cJSON_Delete(m.obj);
	}
	stop(&f);
}

/* ==== Market-wide ============================================================================= */

static void test_sentiment_label_follows_the_score(void **state)
{
	struct trading_msg m;
	double s;
	struct fix f;
	int k;

	UNUSED(state);
	start(&f, "alice", 8);
	for (k = 0; k < 200; k++) {
		build(&f, TRADING_SENTIMENT, NOW, &m);
		s = num(m.obj, "sentiment_score");
		assert_true(s >= -1 && s <= 1 && num(m.obj, "sources") >= 20);
		assert_string_equal(str(m.obj, "label"),
			s > 0.2		   ? "bullish"
				: s < -0.2 ? "bearish"
					   : "neutral");
		cJSON_Delete(m.obj);
	}
	stop(&f);
}

/* NIFTY strikes are multiples of 50 within two steps of 22,150; a day after NOW (a
 * Wednesday) the weekly series expires the next Tuesday, and the Greeks have the signs of
 * a long option six days from expiry. (On expiry day a deep put's theta may be positive.) */
static void test_fno_lists_a_strike_near_the_money_with_sound_greeks(void **state)
{
	struct trading_msg m;
	double k_, d;
	struct fix f;
	int k;

	UNUSED(state);
	start_with(&f, "alice", "j", "m", "NIFTY", 9);
	for (k = 0; k < 100; k++) {
		build(&f, TRADING_FNO, NOW + DAY, &m);
		k_ = num(m.obj, "strike");
		d = num(m.obj, "delta");
		if (!(fmod(k_, 50) == 0 && k_ >= 22150 - 100 && k_ <= 22150 + 100))
			fail_msg("strike %g", k_);
		assert_string_equal(str(m.obj, "expiry"), "2025-11-25");
		if (strcmp(str(m.obj, "option_type"), "CE") == 0)
			assert_true(d > 0 && d < 1);
		else
			assert_true(
				d < 0 && d > -1 && strcmp(str(m.obj, "option_type"), "PE") == 0);
		assert_true(num(m.obj, "gamma") > 0 && num(m.obj, "vega") > 0);
		assert_true(num(m.obj, "theta") < 0 && num(m.obj, "iv") > 4);
		assert_true(num(m.obj, "open_interest") > 0 && on_tick(num(m.obj, "ltp")));
		cJSON_Delete(m.obj);
	}
	stop(&f);
}

/* A symbol without a profile lists strikes on a step that fits its price (10 below 1,000,
 * 50 below 10,000), and its options expire monthly. */
static void test_fno_of_an_unknown_symbol_uses_a_step_fitting_its_price(void **state)
{
	struct trading_msg m;
	double k_, step;
	struct fix f;
	int k;

	UNUSED(state);
	start_with(&f, "alice", "j", "m", "ZZIDX", 14);
	for (k = 0; k < 20; k++) {
		build(&f, TRADING_FNO, NOW + DAY, &m);
		assert_string_equal(m.topic, "market/fno/ZZIDX");
		k_ = num(m.obj, "strike");
		step = k_ > 1100 ? 50 : 10;
		if (!(k_ > 0 && fmod(k_, step) == 0 && k_ < 5300))
			fail_msg("strike %g", k_);
		assert_string_equal(str(m.obj, "expiry"), "2025-11-25");
		cJSON_Delete(m.obj);
	}
	stop(&f);
}

static void test_greeks_of_the_textbook_call_and_put(void **state)
{
	struct trading_greeks g;

	UNUSED(state);
	assert_int_equal(trading__greeks(100, 100, 1, 0.2, 0.05, true, &g), RTG_OK);
	near(g.price, 10.450584, 1e-6, "call price");
	near(g.delta, 0.636831, 1e-6, "call delta");
	near(g.gamma, 0.018762, 1e-6, "gamma");
	near(g.vega, 0.375240, 1e-6, "vega");
	near(g.theta, -0.017573, 1e-6, "call theta");
	assert_int_equal(trading__greeks(100, 100, 1, 0.2, 0.05, false, &g), RTG_OK);
	near(g.price, 5.573526, 1e-6, "put price");
	near(g.delta, -0.363169, 1e-6, "put delta");
	near(g.theta, -0.004542, 1e-6, "put theta");
}

static void test_greeks_refuse_a_zero_volatility_time_or_price(void **state)
{
	struct trading_greeks g;

	UNUSED(state);
	assert_int_equal(trading__greeks(100, 100, 1, 0, 0.05, true, &g), RTG_ERR_INVAL);
	assert_true(g.price == 0 && g.delta == 0);
	assert_int_equal(trading__greeks(100, 100, 0, 0.2, 0.05, true, &g), RTG_ERR_INVAL);
	assert_int_equal(trading__greeks(0, 100, 1, 0.2, 0.05, false, &g), RTG_ERR_INVAL);
	assert_int_equal(trading__greeks(100, NAN, 1, 0.2, 0.05, false, &g), RTG_ERR_INVAL);
}

/* expiry_helper: the series at now_sec expires on want. */
static void expiry_helper(int64_t now_sec, bool weekly, const char *want)
{
	char date[16];
	int64_t close;

	assert_int_equal(trading__expiry(NS(now_sec), weekly, date, sizeof(date), &close), RTG_OK);
	assert_string_equal(date, want);
	assert_true(close > NS(now_sec) && close % DAY == NS(10 * 3600));
}

static void test_weekly_expiry_is_the_next_tuesday_close(void **state)
{
	UNUSED(state);
	expiry_helper(1763442000, true, "2025-11-18"); /* Tuesday 05:00 UTC */
	expiry_helper(1763460000 - 1, true, "2025-11-18"); /* a second before the close */
	expiry_helper(1763460000, true, "2025-11-25"); /* at the close */
	expiry_helper(1764115200, true, "2025-12-02"); /* Wednesday 26th */
}

static void test_monthly_expiry_is_the_last_tuesday_of_the_month(void **state)
{
	char date[4];
	int64_t close;

	UNUSED(state);
	expiry_helper(1763442000, false, "2025-11-25");
	expiry_helper(1764115200, false, "2025-12-30");
	expiry_helper(1769904000, false, "2026-02-24");
	assert_int_equal(trading__expiry(-1, true, date, 16, &close), RTG_ERR_INVAL);
	assert_int_equal(trading__expiry(0, true, date, sizeof(date), &close), RTG_ERR_INVAL);
}

static void test_market_alerts_go_round_the_tickers(void **state)
{
	static const char *const topics[] = {
		"market/alerts/AAPL", "market/alerts/MSFT", "market/alerts/ZZNEW"};
	struct trading_msg m;
	struct fix f;
	size_t k;

	UNUSED(state);
	start(&f, "alice", 10);
	for (k = 0; k < 9; k++) {
		build(&f, TRADING_ALERT, NOW, &m);
		assert_string_equal(m.topic, topics[k % 3]);
		assert_string_equal(str(m.obj, "ticker"), topics[k % 3] + strlen("market/alerts/"));
		assert_non_null(strstr(str(m.obj, "message"), str(m.obj, "ticker")));
		assert_non_null(strstr("low medium high", str(m.obj, "severity")));
		assert_true(strlen(str(m.obj, "headline")) > 10);
		cJSON_Delete(m.obj);
	}
	stop(&f);
}

/* ==== The studio ============================================================================== */

/* A job's progress rises to 100 (completed, no time left, the last step), then restarts. */
static void test_training_advances_to_completion_then_starts_again(void **state)
{
	double last = -1, p;
	size_t done = 0, restarts = 0;
	struct trading_msg m;
	struct fix f;
	int k;

	UNUSED(state);
	start_with(&f, "alice", "job-1", "m", "NIFTY", 11);
	for (k = 0; k < 100; k++) {
		build(&f, TRADING_TRAINING, NOW, &m);
		p = num(m.obj, "progress_percentage");
		assert_true(p > 0 && p <= 100 && num(m.obj, "total_steps") == 10);
		if (p < last)
			restarts++;
		if (strcmp(str(m.obj, "status"), "completed") == 0) {
			assert_true(p == 100 && num(m.obj, "eta_minutes") == 0);
			assert_string_equal(str(m.obj, "current_step"), "Registering the model");
			done++;
		} else {
			assert_string_equal(str(m.obj, "status"), "running");
			assert_true(p < 100 && num(m.obj, "eta_minutes") > 0);
		}
		last = p;
		cJSON_Delete(m.obj);
	}
	assert_true(done >= 2 && restarts >= 2 && restarts <= done);
	stop(&f);
}

static void test_backtest_trades_grow_with_progress_and_it_restarts(void **state)
{
	double last_p = -1, last_trades = -1, p;
	size_t restarts = 0;
	struct trading_msg m;
	struct fix f;
	int k;

	UNUSED(state);
	start_with(&f, "alice", "j", "model-1", "NIFTY", 12);
	for (k = 0; k < 60; k++) {
		build(&f, TRADING_BACKTEST, NOW, &m);
		p = num(m.obj, "progress_percentage");
		if (p < last_p)
			restarts++;
		else
			assert_true(num(m.obj, "trades") >= last_trades);
		assert_true(num(m.obj, "win_rate") >= 0 && num(m.obj, "win_rate") <= 1);
		assert_true(num(m.obj, "max_drawdown") >= 0 && num(m.obj, "max_drawdown") < 1);
		assert_string_equal(str(m.obj, "status"), p >= 100 ? "completed" : "running");
		last_p = p;
		last_trades = num(m.obj, "trades");
		cJSON_Delete(m.obj);
	}
	assert_true(restarts >= 2);
	stop(&f);
}

/* A stalled worker makes the system degraded; a healthy system has none. */
static void test_health_is_degraded_exactly_when_a_worker_stalls_or_the_machine_fills(void **state)
{
	size_t degraded = 0;
	struct trading_msg m;
	const cJSON *w;
	bool stalled;
	struct fix f;
	int k;

	UNUSED(state);
	start(&f, "alice", 13);
	for (k = 0; k < 2000; k++) {
		build(&f, TRADING_HEALTH, NOW, &m);
		stalled = false;
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(m.obj, "workers")) {
			stalled = stalled || strcmp(str(w, "status"), "stalled") == 0;
			assert_true(num(w, "queue_depth") >= 0);
		}
		if (strcmp(str(m.obj, "status"), "healthy") == 0) {
			assert_false(stalled);
			assert_true(num(m.obj, "cpu_percent") <= 85.05);
			assert_true(num(m.obj, "memory_percent") <= 90.05);
		} else {
			assert_string_equal(str(m.obj, "status"), "degraded");
			degraded++;
		}
		cJSON_Delete(m.obj);
	}
	assert_true(degraded > 10 && degraded < 1000);
	stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_has_its_topic_type_time_and_retain_flag),
		cmocka_unit_test(test_rotation_reaches_every_topic_of_every_user),
		cmocka_unit_test(test_a_seed_gives_the_same_messages_and_another_seed_others),
		cmocka_unit_test(test_new_refuses_an_empty_or_missing_list),
		cmocka_unit_test(test_signal_updates_revise_an_earlier_signal_of_the_same_user),
		cmocka_unit_test(test_an_execution_changes_the_holding_by_what_it_filled),
		cmocka_unit_test(test_portfolio_and_pnl_agree_with_the_positions),
		cmocka_unit_test(test_a_new_utc_day_resets_the_daily_figures),
		cmocka_unit_test(test_risk_alerts_are_breaches_graded_by_their_size),
		cmocka_unit_test(test_sentiment_label_follows_the_score),
		cmocka_unit_test(test_fno_lists_a_strike_near_the_money_with_sound_greeks),
		cmocka_unit_test(test_fno_of_an_unknown_symbol_uses_a_step_fitting_its_price),
		cmocka_unit_test(test_greeks_of_the_textbook_call_and_put),
		cmocka_unit_test(test_greeks_refuse_a_zero_volatility_time_or_price),
		cmocka_unit_test(test_weekly_expiry_is_the_next_tuesday_close),
		cmocka_unit_test(test_monthly_expiry_is_the_last_tuesday_of_the_month),
		cmocka_unit_test(test_market_alerts_go_round_the_tickers),
		cmocka_unit_test(test_training_advances_to_completion_then_starts_again),
		cmocka_unit_test(test_backtest_trades_grow_with_progress_and_it_restarts),
		cmocka_unit_test(
			test_health_is_degraded_exactly_when_a_worker_stalls_or_the_machine_fills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
