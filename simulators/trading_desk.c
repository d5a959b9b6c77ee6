/*
 * trading_desk.c - the per-user trading messages of rtg-trading-sim (seed 004's trading
 * consumers): signals, portfolio, executions, risk alerts and P&L, on user/<u>/...
 *
 * They agree with one another: a filled execution changes the portfolio it is drawn from,
 * and the portfolio and P&L messages are computed from that portfolio at the prices of the
 * moment. Nothing is a real order or account. Pure; see trading_shapes.h for the contract.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "trading_int.h"
#include "rtg_util.h"

#define PARTIAL_FILL_MIN 2 /* a smaller order is filled or not */

/* Risk categories and the threshold (percent) an alert is raised above. */
static const struct {
	const char *name;
	double threshold;
} risks[] = {
	{"exposure", 80},
	{"drawdown", 5},
	{"margin", 90},
	{"concentration", 25},
};

static double ltp(const struct trading *t, size_t inst)
{
	return trading__tick(t->inst[inst].walk.price);
}

/* ---- signals -------------------------------------------------------------------------------- */

/* A new signal on one of the traded five at its price: the target 0.6 to 2 % away, the
 * stop 40 to 60 % of that on the other side. */
static void signal_new(struct trading *t, struct sim_rng *r, struct trading_signal *s, int64_t now)
{
	double move;

	s->id = ++t->next_id[TRADING_SIGNAL];
	s->inst = sim__rng_below(r, TRADING_TRADED);
	s->buy = sim__rng_below(r, 2) == 0;
	s->confidence = trading__round(trading__between(r, 0.55, 0.95), 100);
	s->entry = ltp(t, s->inst);
	move = s->entry * trading__between(r, 0.006, 0.02);
	s->target = trading__tick(s->buy ? s->entry + move : s->entry - move);
	move *= trading__between(r, 0.4, 0.6);
	s->stop = trading__tick(s->buy ? s->entry - move : s->entry + move);
	s->created_ns = now;
}

/* A revision: the confidence moves a little and the stop trails 20 to 50 % of the way
 * towards the entry (never onto it). */
static void signal_revise(struct sim_rng *r, struct trading_signal *s)
{
	double stop = trading__tick(s->stop + trading__between(r, 0.2, 0.5) * (s->entry - s->stop));

	s->confidence = trading__round(
		trading__clamp(s->confidence + 0.05 * sim__rng_normal(r), 0.5, 0.99), 100);
	if (stop != s->entry)
		s->stop = stop;
}

/* One of the user's last n_recent signals (n_recent > 0), at random. */
static struct trading_signal *pick_recent(struct sim_rng *r, struct trading_user *u)
{
	size_t back = 1 + sim__rng_below(r, u->n_recent);

	return &u->recent[(u->next_recent + TRADING_RECENT - back) % TRADING_RECENT];
}

/* About one in three of a user's signals, once it has some, revises one of its last
 * TRADING_RECENT (signal_update, with the same id and created_at); the rest are new. */
enum rtg_err trading__signal(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_SIGNAL];
	struct trading_user *u = trading__user(t, n);
	bool update = u->n_recent > 0 && sim__rng_uniform(r) < 0.35;
	struct trading_signal *s;
	char id[32];
	cJSON *o;
	bool ok;

	if (update) {
		s = pick_recent(r, u);
		signal_revise(r, s);
	} else {
		s = &u->recent[u->next_recent];
		u->next_recent = (u->next_recent + 1) % TRADING_RECENT;
		if (u->n_recent < TRADING_RECENT)
			u->n_recent++;
		signal_new(t, r, s, now_ns);
	}
	snprintf(m->topic, sizeof(m->topic), "user/%s/signals", u->name);
	snprintf(id, sizeof(id), "signal-%" PRIu64, s->id);
	o = trading__obj(update ? "signal_update" : "new_signal", now_ns);
	ok = o && trading__str(o, "id", id) && trading__str(o, "symbol", t->inst[s->inst].name) &&
		trading__str(o, "signal_type", s->buy ? "BUY" : "SELL") &&
		trading__num(o, "confidence_score", s->confidence) &&
		trading__num(o, "entry_price", s->entry) &&
		trading__num(o, "target_price", s->target) &&
		trading__num(o, "stop_loss", s->stop) &&
		trading__time(o, "created_at", s->created_ns);
	return trading__finish(m, o, ok);
}

/* ---- the portfolio -------------------------------------------------------------------------- */

static bool add_position(
	const struct trading *t, cJSON *positions, const struct trading_position *p)
{
	double price = ltp(t, p->inst);
	cJSON *o = trading__push_obj(positions);

	return o && trading__str(o, "symbol", t->inst[p->inst].name) &&
		trading__num(o, "quantity", p->qty) && trading__num(o, "avg_price", p->avg_price) &&
		trading__num(o, "ltp", price) &&
		trading__num(o, "pnl", trading__round((price - p->avg_price) * p->qty, 100));
}

enum rtg_err trading__portfolio(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct trading_user *u = trading__user(t, n);
	double value = trading__value(t, u);
	cJSON *o = trading__obj("portfolio_update", now_ns), *positions = NULL;
	size_t i, count = 0;
	bool ok;

	for (i = 0; i < TRADING_POSITIONS; i++)
		count += u->pos[i].qty > 0;
	snprintf(m->topic, sizeof(m->topic), "user/%s/portfolio", u->name);
	ok = o && trading__num(o, "total_value", trading__round(value, 100)) &&
		trading__num(o, "total_pnl",
			trading__round(u->realized + trading__unrealized(t, u), 100)) &&
		trading__num(o, "daily_pnl", trading__round(value - u->day_open, 100)) &&
		trading__num(o, "position_count", (double)count);
	if (ok)
		positions = cJSON_AddArrayToObject(o, "positions");
	ok = ok && positions;
	for (i = 0; ok && i < TRADING_POSITIONS; i++) {
		if (u->pos[i].qty > 0)
			ok = add_position(t, positions, &u->pos[i]);
	}
	return trading__finish(m, o, ok);
}

/* ---- executions ----------------------------------------------------------------------------- */

/* Books what was filled: a buy averages the price in, a sell realizes its P&L. */
static void book_fill(
	struct trading_user *u, struct trading_position *p, bool buy, double filled, double price)
{
	if (filled <= 0)
		return;
	if (buy) {
		p->avg_price = trading__round(
			(p->avg_price * p->qty + price * filled) / (p->qty + filled), 100);
		p->qty += filled;
		u->cash = trading__round(u->cash - price * filled, 100);
	} else {
		u->realized = trading__round(u->realized + (price - p->avg_price) * filled, 100);
		p->qty -= filled;
		u->cash = trading__round(u->cash + price * filled, 100);
	}
}

/* An order on one of the user's holdings near its price: 80 % filled, 12 % partly filled,
 * the rest rejected, as is a buy the cash cannot pay for. A sell is at most half the
 * holding, so every position stays open. */
enum rtg_err trading__execution(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_EXECUTION];
	struct trading_user *u = trading__user(t, n);
	struct trading_position *p = &u->pos[sim__rng_below(r, TRADING_POSITIONS)];
	bool buy = sim__rng_below(r, 2) == 0 || p->qty < 2;
	double most = buy ? 50 : fmin(floor(p->qty / 2), 50);
	double qty = 1 + (double)sim__rng_below(r, (uint64_t)most);
	double price = trading__tick(ltp(t, p->inst) * (1.0 + 0.0005 * sim__rng_normal(r)));
	double roll = sim__rng_uniform(r), filled = qty;
	const char *status = "FILLED";
	char id[32];
	cJSON *o;
	bool ok;

	if (roll >= 0.92 || (buy && price * qty > u->cash)) {
		status = "REJECTED";
		filled = 0;
	} else if (roll >= 0.8 && qty >= PARTIAL_FILL_MIN) {
		status = "PARTIAL";
		filled = 1 + (double)sim__rng_below(r, (uint64_t)qty - 1);
	}
	book_fill(u, p, buy, filled, price);
	snprintf(m->topic, sizeof(m->topic), "user/%s/executions", u->name);
	snprintf(id, sizeof(id), "ORD%08" PRIu64, ++t->next_id[TRADING_EXECUTION]);
	o = trading__obj("execution_update", now_ns);
	ok = o && trading__str(o, "order_id", id) &&
		trading__str(o, "symbol", t->inst[p->inst].name) &&
		trading__str(o, "side", buy ? "BUY" : "SELL") && trading__num(o, "quantity", qty) &&
		trading__num(o, "filled_quantity", filled) && trading__num(o, "price", price) &&
		trading__str(o, "status", status) && trading__time(o, "executed_at", now_ns);
	return trading__finish(m, o, ok);
}

/* ---- risk and P&L --------------------------------------------------------------------------- */

/* The user's largest holding by value, for a concentration alert. */
static const char *largest(const struct trading *t, const struct trading_user *u)
{
	size_t i, best = 0;

	for (i = 1; i < TRADING_POSITIONS; i++) {
		if (u->pos[i].qty * ltp(t, u->pos[i].inst) >
			u->pos[best].qty * ltp(t, u->pos[best].inst))
			best = i;
	}
	return t->inst[u->pos[best].inst].name;
}

/* The sentence of a risk alert of category risks[c]. */
static void risk_text(const struct trading *t, const struct trading_user *u, size_t c,
	double metric, char *text, size_t len)
{
	double limit = risks[c].threshold;

	switch (c) {
	case 0:
		snprintf(text, len, "Gross exposure is at %.1f%% of your limit (alert at %.0f%%).",
			metric, limit);
		break;
	case 1:
		snprintf(text, len, "Your portfolio is %.1f%% below its peak (alert at %.0f%%).",
			metric, limit);
		break;
	case 2:
		snprintf(text, len, "Margin utilization is at %.1f%% (alert at %.0f%%).", metric,
			limit);
		break;
	default:
		snprintf(text, len, "%s is %.1f%% of your portfolio (alert at %.0f%%).",
			largest(t, u), metric, limit);
	}
}

/* A breach 2 to 45 % above the category's threshold; the further above, the more severe. */
enum rtg_err trading__risk(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_RISK];
	struct trading_user *u = trading__user(t, n);
	size_t c = sim__rng_below(r, RTG_ARRAY_SIZE(risks));
	double threshold = risks[c].threshold;
	double metric = trading__round(threshold * trading__between(r, 1.02, 1.45), 10);
	double ratio = metric / threshold; /* as a reader would work it out, to the last bit */
	const char *severity = ratio < 1.1 ? "low" : ratio < 1.25 ? "medium" : "high";
	char id[32], text[160];
	cJSON *o;
	bool ok;

	risk_text(t, u, c, metric, text, sizeof(text));
	snprintf(m->topic, sizeof(m->topic), "user/%s/risk", u->name);
	snprintf(id, sizeof(id), "risk-%" PRIu64, ++t->next_id[TRADING_RISK]);
	o = trading__obj("risk_alert", now_ns);
	ok = o && trading__str(o, "id", id) && trading__str(o, "severity", severity) &&
		trading__str(o, "category", risks[c].name) && trading__str(o, "message", text) &&
		trading__num(o, "metric", metric) && trading__num(o, "threshold", threshold);
	return trading__finish(m, o, ok);
}

enum rtg_err trading__pnl(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct trading_user *u = trading__user(t, n);
	double unrealized = trading__unrealized(t, u);
	double day = trading__value(t, u) - u->day_open;
	cJSON *o = trading__obj("pnl_update", now_ns);
	bool ok;

	snprintf(m->topic, sizeof(m->topic), "user/%s/pnl", u->name);
	ok = o && trading__num(o, "realized_pnl", u->realized) &&
		trading__num(o, "unrealized_pnl", trading__round(unrealized, 100)) &&
		trading__num(o, "total_pnl", trading__round(u->realized + unrealized, 100)) &&
		trading__num(
			o, "day_change_percent", trading__round(100.0 * day / u->day_open, 100));
	return trading__finish(m, o, ok);
}
