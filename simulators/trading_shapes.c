/*
 * trading_shapes.c - the state of rtg-trading-sim and its rotation (see trading_shapes.h):
 * the instruments and their price walks, the users' portfolios, the day's bookkeeping, and
 * the helpers the message builders share. The messages themselves are built in
 * trading_desk.c, trading_market.c and trading_studio.c. Pure: no MQTT, no clock, no I/O.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trading_int.h"
#include "rtg_util.h"

#define TICK_YEARS (60.0 / (252.0 * 23400.0)) /* a message moves prices one trading minute */
#define DRIFT 0.10 /* a year, every instrument */

/* An instrument's start: price, volatility a year, strike step, lot, ATM IV (%), ATM open
 * interest (contracts) and whether its options expire weekly. */
struct profile {
	const char *name;
	double price;
	double sigma;
	double strike_step;
	double lot;
	double iv;
	double open_interest;
	bool weekly;
};

/* The traded five, in the order of TRADING_TRADED; NIFTY starts where rtg-market-sim does. */
static const struct profile traded[TRADING_TRADED] = {
	{"NIFTY", 22150.00, 0.15, 50, 75, 13.0, 180000, true},
	{"BANKNIFTY", 47500.00, 0.18, 100, 35, 15.5, 60000, false},
	{"RELIANCE", 2950.00, 0.25, 20, 500, 24.0, 25000, false},
	{"TCS", 3900.00, 0.22, 50, 175, 22.0, 12000, false},
	{"INFY", 1550.00, 0.26, 20, 400, 26.0, 20000, false},
};

static const char *const types[TRADING_KINDS] = {
	[TRADING_SIGNAL] = "new_signal",
	[TRADING_PORTFOLIO] = "portfolio_update",
	[TRADING_EXECUTION] = "execution_update",
	[TRADING_SENTIMENT] = "sentiment_update",
	[TRADING_RISK] = "risk_alert",
	[TRADING_PNL] = "pnl_update",
	[TRADING_FNO] = "fno_update",
	[TRADING_TRAINING] = "training_update",
	[TRADING_MONITORING] = "monitoring_update",
	[TRADING_PREDICTION] = "prediction",
	[TRADING_BACKTEST] = "backtest_update",
	[TRADING_DASHBOARD] = "dashboard_update",
	[TRADING_MARKETPLACE] = "marketplace_notification",
	[TRADING_HEALTH] = "system_health",
	[TRADING_ALERT] = "market_alert",
};

/* The kinds that hold a value (a late subscriber wants the last one) are retained. */
static const bool retained[TRADING_KINDS] = {
	[TRADING_PORTFOLIO] = true,
	[TRADING_SENTIMENT] = true,
	[TRADING_PNL] = true,
	[TRADING_FNO] = true,
	[TRADING_TRAINING] = true,
	[TRADING_MONITORING] = true,
	[TRADING_BACKTEST] = true,
	[TRADING_DASHBOARD] = true,
	[TRADING_HEALTH] = true,
};

static const trading_build_fn builders[TRADING_KINDS] = {
	[TRADING_SIGNAL] = trading__signal,
	[TRADING_PORTFOLIO] = trading__portfolio,
	[TRADING_EXECUTION] = trading__execution,
	[TRADING_SENTIMENT] = trading__sentiment,
	[TRADING_RISK] = trading__risk,
	[TRADING_PNL] = trading__pnl,
	[TRADING_FNO] = trading__fno,
	[TRADING_TRAINING] = trading__training,
	[TRADING_MONITORING] = trading__monitoring,
	[TRADING_PREDICTION] = trading__prediction,
	[TRADING_BACKTEST] = trading__backtest,
	[TRADING_DASHBOARD] = trading__dashboard,
	[TRADING_MARKETPLACE] = trading__marketplace,
	[TRADING_HEALTH] = trading__health,
	[TRADING_ALERT] = trading__alert,
};

const char *trading__type(enum trading_kind kind)
{
	return (unsigned)kind < TRADING_KINDS ? types[kind] : "";
}

/* ---- helpers ------------------------------------------------------------------------------ */

cJSON *trading__obj(const char *type, int64_t now_ns)
{
	cJSON *o = cJSON_CreateObject();

	if (o && trading__str(o, "type", type) && trading__time(o, "timestamp", now_ns))
		return o;
	cJSON_Delete(o);
	return NULL;
}

bool trading__num(cJSON *o, const char *key, double v)
{
	return cJSON_AddNumberToObject(o, key, v) != NULL;
}

bool trading__str(cJSON *o, const char *key, const char *v)
{
	return cJSON_AddStringToObject(o, key, v) != NULL;
}

bool trading__time(cJSON *o, const char *key, int64_t ns)
{
	char ts[SIM_ISO8601_LEN];

	return sim__iso8601(ns, ts, sizeof(ts)) == RTG_OK && trading__str(o, key, ts);
}

cJSON *trading__push_obj(cJSON *a)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

enum rtg_err trading__finish(struct trading_msg *m, cJSON *o, bool ok)
{
	if (!ok || !o) {
		cJSON_Delete(o);
		return RTG_ERR_NOMEM;
	}
	m->obj = o;
	return RTG_OK;
}

double trading__round(double x, double scale)
{
	return round(x * scale) / scale + 0.0; /* + 0.0: no "-0" */
}

double trading__tick(double x)
{
	return trading__round(x, 20.0);
}

double trading__clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

double trading__revert(struct sim_rng *r, double x, double mean, double sd, double lo, double hi)
{
	return trading__clamp(x + 0.1 * (mean - x) + sd * sim__rng_normal(r), lo, hi);
}

double trading__between(struct sim_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * sim__rng_uniform(r);
}

struct trading_user *trading__user(struct trading *t, uint64_t n)
{
	return &t->users[n % t->conf.users->n];
}

size_t trading__item(const struct trading *t, uint64_t n, size_t items)
{
	return (size_t)(n / t->conf.users->n % items);
}

/* A position's value is taken at the last traded price as published: on the tick. */
double trading__value(const struct trading *t, const struct trading_user *u)
{
	double v = u->cash;
	size_t i;

	for (i = 0; i < TRADING_POSITIONS; i++)
		v += u->pos[i].qty * trading__tick(t->inst[u->pos[i].inst].walk.price);
	return v;
}

double trading__unrealized(const struct trading *t, const struct trading_user *u)
{
	const struct trading_position *p;
	double v = 0.0;
	size_t i;

	for (i = 0; i < TRADING_POSITIONS; i++) {
		p = &u->pos[i];
		v += trading__round(
			(trading__tick(t->inst[p->inst].walk.price) - p->avg_price) * p->qty, 100);
	}
	return v;
}

/* ---- the state ------------------------------------------------------------------------------ */

static bool list_ok(const struct sim_list *l)
{
	return l && l->n > 0;
}

/* A symbol without a profile gets a price from its name (100 to 5000) and middling options,
 * so that every run with the same name agrees. */
static void instrument_init(struct trading_instrument *in, const char *name, uint64_t seed)
{
	double price = 100.0 + (double)(sim__rng_derive(0, name) % 490000) / 100.0;
	struct profile p = {name, price, 0.30,
		price > 10000	       ? 100
			: price > 1000 ? 50
				       : 10,
		100, 25.0, 10000, false};
	struct sim_rng r;
	size_t i;

	for (i = 0; i < TRADING_TRADED; i++) {
		if (strcmp(traded[i].name, name) == 0)
			p = traded[i];
	}
	in->name = name;
	walk__init(&in->walk, p.price, DRIFT, p.sigma);
	in->strike_step = p.strike_step;
	in->lot = p.lot;
	in->weekly = p.weekly;
	in->base_iv = p.iv;
	in->atm_iv = p.iv;
	in->open_interest = p.open_interest;
	sim__rng_seed(&r, sim__rng_derive(seed, name));
	in->sentiment = trading__between(&r, -0.3, 0.3);
}

/* The traded five first, then each --symbols name that is not one of them. */
static enum rtg_err instruments_init(struct trading *t, uint64_t seed)
{
	const struct sim_list *syms = t->conf.symbols;
	size_t i, j;

	t->inst = calloc(TRADING_TRADED + syms->n, sizeof(*t->inst));
	t->symbol_inst = calloc(syms->n, sizeof(*t->symbol_inst));
	if (!t->inst || !t->symbol_inst)
		return RTG_ERR_NOMEM;
	for (i = 0; i < TRADING_TRADED; i++)
		instrument_init(&t->inst[i], traded[i].name, seed);
	t->n_inst = TRADING_TRADED;
	for (i = 0; i < syms->n; i++) {
		for (j = 0; j < t->n_inst && strcmp(t->inst[j].name, syms->items[i]); j++)
			;
		if (j == t->n_inst)
			instrument_init(&t->inst[t->n_inst++], syms->items[i], seed);
		t->symbol_inst[i] = j;
	}
	return RTG_OK;
}

/* A portfolio of RELIANCE, TCS and INFY bought a little above or below today's prices, and
 * some cash; then the user's studio (its jobs and models). */
static void user_init(struct trading *t, struct trading_user *u, const char *name, uint64_t seed)
{
	struct trading_position *p;
	struct sim_rng r;
	size_t i;

	sim__rng_seed(&r, sim__rng_derive(seed, name));
	u->name = name;
	for (i = 0; i < TRADING_POSITIONS; i++) {
		p = &u->pos[i];
		p->inst = TRADING_FIRST_POSITION + i;
		p->qty = 5.0 * (double)(2 + sim__rng_below(&r, 24));
		p->avg_price = trading__tick(
			t->inst[p->inst].walk.price * (1.0 + 0.04 * sim__rng_normal(&r)));
	}
	u->cash = round(trading__between(&r, 50000, 200000));
	u->day_open = trading__value(t, u);
	u->predictions_today = 50 + sim__rng_below(&r, 350);
	trading__studio_init(t, u, &r);
}

static enum rtg_err users_init(struct trading *t, uint64_t seed)
{
	const struct sim_list *names = t->conf.users;
	struct trading_user *u;
	size_t i;

	t->users = calloc(names->n, sizeof(*t->users));
	if (!t->users)
		return RTG_ERR_NOMEM;
	for (i = 0; i < names->n; i++) {
		u = &t->users[i];
		u->jobs = calloc(t->conf.jobs->n, sizeof(*u->jobs));
		u->models = calloc(t->conf.models->n, sizeof(*u->models));
		if (!u->jobs || !u->models)
			return RTG_ERR_NOMEM;
		user_init(t, u, names->items[i], seed);
	}
	return RTG_OK;
}

enum rtg_err trading__new(const struct trading_conf *conf, uint64_t seed, struct trading **out)
{
	struct trading *t;
	enum rtg_err rc;
	size_t k;

	*out = NULL;
	if (!conf || !list_ok(conf->users) || !list_ok(conf->jobs) || !list_ok(conf->models) ||
		!list_ok(conf->symbols) || !list_ok(conf->tickers))
		return RTG_ERR_INVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return RTG_ERR_NOMEM;
	t->conf = *conf;
	t->day = -1;
	for (k = 0; k < TRADING_KINDS; k++)
		sim__rng_seed(&t->rng[k], sim__rng_derive(seed, types[k]));
	sim__rng_seed(&t->price_rng, sim__rng_derive(seed, "prices"));
	rc = instruments_init(t, seed);
	if (rc == RTG_OK)
		rc = users_init(t, seed);
	if (rc != RTG_OK) {
		trading__free(t);
		return rc;
	}
	trading__health_init(t);
	*out = t;
	return RTG_OK;
}

void trading__free(struct trading *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->users && i < t->conf.users->n; i++) {
		free(t->users[i].jobs);
		free(t->users[i].models);
	}
	free(t->users);
	free(t->inst);
	free(t->symbol_inst);
	free(t);
}

/* ---- the rotation --------------------------------------------------------------------------- */

/* A new UTC day starts each portfolio's daily P&L and the prediction counts afresh; the
 * first message only notes the day (the values drawn at start stand for the day so far). */
static void roll_day(struct trading *t, int64_t now_ns)
{
	int64_t day = now_ns / TRADING_DAY_NS;
	size_t i;

	if (day == t->day)
		return;
	for (i = 0; t->day >= 0 && i < t->conf.users->n; i++) {
		t->users[i].day_open = trading__value(t, &t->users[i]);
		t->users[i].predictions_today = 0;
	}
	t->day = day;
}

enum rtg_err trading__build(
	struct trading *t, enum trading_kind kind, int64_t now_ns, struct trading_msg *m)
{
	enum rtg_err rc;

	memset(m, 0, sizeof(*m));
	if (!t || (unsigned)kind >= TRADING_KINDS || now_ns < 0)
		return RTG_ERR_INVAL;
	roll_day(t, now_ns);
	m->kind = kind;
	m->retain = retained[kind];
	rc = builders[kind](t, t->count[kind], now_ns, m);
	if (rc == RTG_OK)
		t->count[kind]++;
	return rc;
}

/* Every instrument moves one step of its walk, each draw from the one price stream in a
 * fixed order, so that prices depend on the seed and the number of messages only. */
enum rtg_err trading__next(struct trading *t, int64_t now_ns, struct trading_msg *m)
{
	enum rtg_err rc;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!t)
		return RTG_ERR_INVAL;
	for (i = 0; i < t->n_inst; i++)
		walk__step(&t->inst[i].walk, TICK_YEARS, sim__rng_normal(&t->price_rng), 0);
	rc = trading__build(t, (enum trading_kind)(t->tick % TRADING_KINDS), now_ns, m);
	if (rc == RTG_OK)
		t->tick++;
	return rc;
}
