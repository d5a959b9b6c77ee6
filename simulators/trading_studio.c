/*
 * trading_studio.c - the AI studio messages of rtg-trading-sim (seed 004's ai_studio
 * consumers): training progress per job, live metrics, predictions and backtests per model,
 * each user's studio dashboard, the marketplace, and system/health with its workers.
 *
 * Training jobs and backtests advance with each message and start again once they have been
 * reported completed; model metrics are walks back to each model's usual level. No model is
 * trained and nothing is predicted. Pure; see trading_shapes.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "trading_int.h"
#include "rtg_util.h"

#define TRAINING_STEPS 10
#define STALL_CHANCE 0.01 /* a running worker stalls at a health message */
#define BUSY_DEPTH 200 /* a worker with a longer queue is busy */

static const char *const training_steps[TRAINING_STEPS] = {
	"Loading market data",
	"Cleaning data",
	"Feature engineering",
	"Splitting train and test sets",
	"Training model",
	"Tuning hyperparameters",
	"Cross-validating",
	"Evaluating on the test set",
	"Saving artifacts",
	"Registering the model",
};

static const char *const worker_names[TRADING_WORKERS] = {
	"signal-engine", "model-trainer", "backtester", "market-data", "notifier"};

static const char *const model_names[] = {"Momentum Alpha", "NIFTY Mean Reversion",
	"BankNifty Breakout Pro", "Sentiment Fusion", "Options Theta Harvester", "IT Pairs Trader"};
static const char *const authors[] = {"QuantLabs", "Priya S.", "AlphaForge", "Rahul M."};
static const char *const reviews[] = {"Consistent on expiry days", "Good risk controls",
	"Too many signals in sideways markets", "Easy to backtest and deploy"};
static const int horizons[] = {5, 15, 30, 60};

/* ---- state ----------------------------------------------------------------------------------- */

static void backtest_start(struct sim_rng *r, struct trading_model *mo)
{
	mo->bt_progress = 0.0;
	mo->bt_trades = round(trading__between(r, 150, 600));
	mo->win_rate = trading__between(r, 0.45, 0.62);
	mo->sharpe = trading__between(r, 0.6, 2.4);
	mo->max_drawdown = trading__between(r, 0.04, 0.15);
	mo->bt_completed = false;
}

void trading__studio_init(struct trading *t, struct trading_user *u, struct sim_rng *r)
{
	struct trading_model *mo;
	size_t i;

	for (i = 0; i < t->conf.jobs->n; i++) {
		u->jobs[i].progress = trading__round(trading__between(r, 0, 60), 10);
		u->jobs[i].min_per_pct = trading__between(r, 0.1, 0.5);
	}
	for (i = 0; i < t->conf.models->n; i++) {
		mo = &u->models[i];
		mo->base_accuracy = trading__between(r, 0.70, 0.88);
		mo->accuracy = mo->base_accuracy;
		mo->precision = mo->base_accuracy + 0.02;
		mo->recall = mo->base_accuracy - 0.03;
		mo->drift = trading__between(r, 0.05, 0.2);
		mo->latency_ms = trading__between(r, 15, 60);
		backtest_start(r, mo);
		mo->bt_progress = trading__round(trading__between(r, 0, 50), 10);
	}
}

void trading__health_init(struct trading *t)
{
	struct sim_rng *r = &t->rng[TRADING_HEALTH];
	size_t i;

	for (i = 0; i < TRADING_WORKERS; i++) {
		t->workers[i].name = worker_names[i];
		t->workers[i].queue_depth = trading__between(r, 0, 40);
	}
	t->cpu_percent = trading__between(r, 25, 45);
	t->memory_percent = trading__between(r, 55, 70);
}

/* ---- training and models ---------------------------------------------------------------------- */

/* A job advances 3 to 12 % a message; the message after the one that says "completed"
 * starts it again from the beginning. */
enum rtg_err trading__training(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_TRAINING];
	struct trading_user *u = trading__user(t, n);
	const char *job_id = t->conf.jobs->items[trading__item(t, n, t->conf.jobs->n)];
	struct trading_job *j = &u->jobs[trading__item(t, n, t->conf.jobs->n)];
	size_t step;
	cJSON *o;
	bool ok;

	if (j->completed) {
		j->progress = 0.0;
		j->completed = false;
		j->min_per_pct = trading__between(r, 0.1, 0.5);
	}
	j->progress = fmin(100.0, trading__round(j->progress + trading__between(r, 3, 12), 10));
	j->completed = j->progress >= 100.0;
	step = (size_t)(j->progress / (100.0 / TRAINING_STEPS));
	if (step >= TRAINING_STEPS)
		step = TRAINING_STEPS - 1;
	snprintf(m->topic, sizeof(m->topic), "user/%s/studio/training/%s", u->name, job_id);
	o = trading__obj("training_update", now_ns);
	ok = o && trading__str(o, "job_id", job_id) &&
		trading__num(o, "progress_percentage", j->progress) &&
		trading__str(o, "current_step", training_steps[step]) &&
		trading__num(o, "total_steps", TRAINING_STEPS) &&
		trading__num(o, "eta_minutes", ceil((100.0 - j->progress) * j->min_per_pct)) &&
		trading__str(o, "status", j->completed ? "completed" : "running");
	return trading__finish(m, o, ok);
}

enum rtg_err trading__monitoring(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_MONITORING];
	struct trading_user *u = trading__user(t, n);
	size_t i = trading__item(t, n, t->conf.models->n);
	struct trading_model *mo = &u->models[i];
	cJSON *o;
	bool ok;

	mo->accuracy = trading__revert(r, mo->accuracy, mo->base_accuracy, 0.01, 0.5, 0.99);
	mo->precision = trading__revert(r, mo->precision, mo->accuracy + 0.02, 0.015, 0.4, 0.99);
	mo->recall = trading__revert(r, mo->recall, mo->accuracy - 0.03, 0.015, 0.4, 0.99);
	mo->drift = trading__revert(r, mo->drift, 0.12, 0.03, 0.0, 1.0);
	mo->latency_ms = trading__revert(r, mo->latency_ms, 35.0, 4.0, 5.0, 500.0);
	snprintf(m->topic, sizeof(m->topic), "user/%s/studio/monitoring/%s", u->name,
		t->conf.models->items[i]);
	o = trading__obj("monitoring_update", now_ns);
	ok = o && trading__str(o, "model_id", t->conf.models->items[i]) &&
		trading__num(o, "accuracy", trading__round(mo->accuracy, 1e4)) &&
		trading__num(o, "precision", trading__round(mo->precision, 1e4)) &&
		trading__num(o, "recall", trading__round(mo->recall, 1e4)) &&
		trading__num(o, "drift_score", trading__round(mo->drift, 1e3)) &&
		trading__num(o, "latency_ms", trading__round(mo->latency_ms, 10)) &&
		trading__num(o, "requests_per_minute", round(trading__between(r, 80, 600)));
	return trading__finish(m, o, ok);
}

enum rtg_err trading__prediction(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_PREDICTION];
	struct trading_user *u = trading__user(t, n);
	const char *model = t->conf.models->items[trading__item(t, n, t->conf.models->n)];
	const char *sym = t->inst[sim__rng_below(r, TRADING_TRADED)].name;
	bool up = sim__rng_below(r, 2) == 0;
	double confidence = trading__round(trading__between(r, 0.5, 0.95), 100);
	int horizon = horizons[sim__rng_below(r, RTG_ARRAY_SIZE(horizons))];
	cJSON *o;
	bool ok;

	u->predictions_today++;
	snprintf(m->topic, sizeof(m->topic), "user/%s/studio/predictions/%s", u->name, model);
	o = trading__obj("prediction", now_ns);
	ok = o && trading__str(o, "model_id", model) && trading__str(o, "symbol", sym) &&
		trading__str(o, "predicted_direction", up ? "UP" : "DOWN") &&
		trading__num(o, "confidence", confidence) &&
		trading__num(o, "horizon_minutes", horizon);
	return trading__finish(m, o, ok);
}

/* A backtest advances 5 to 20 % a message. Its figures settle as it covers more of the
 * period: the noise on the win rate and the Sharpe ratio shrinks, the drawdown grows. */
enum rtg_err trading__backtest(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_BACKTEST];
	struct trading_user *u = trading__user(t, n);
	size_t i = trading__item(t, n, t->conf.models->n);
	struct trading_model *mo = &u->models[i];
	double left, win, sharpe;
	cJSON *o;
	bool ok;

	if (mo->bt_completed)
		backtest_start(r, mo);
	mo->bt_progress =
		fmin(100.0, trading__round(mo->bt_progress + trading__between(r, 5, 20), 10));
	mo->bt_completed = mo->bt_progress >= 100.0;
	left = 1.0 - mo->bt_progress / 100.0;
	win = trading__clamp(mo->win_rate + 0.05 * left * sim__rng_normal(r), 0.0, 1.0);
	sharpe = mo->sharpe + 0.4 * left * sim__rng_normal(r);
	snprintf(m->topic, sizeof(m->topic), "user/%s/studio/backtest/%s", u->name,
		t->conf.models->items[i]);
	o = trading__obj("backtest_update", now_ns);
	ok = o && trading__str(o, "model_id", t->conf.models->items[i]) &&
		trading__num(o, "progress_percentage", mo->bt_progress) &&
		trading__num(o, "trades", floor(mo->bt_trades * mo->bt_progress / 100.0)) &&
		trading__num(o, "win_rate", trading__round(win, 1e3)) &&
		trading__num(o, "sharpe_ratio", trading__round(sharpe, 100)) &&
		trading__num(o, "max_drawdown",
			trading__round(mo->max_drawdown * sqrt(1.0 - left), 1e3)) &&
		trading__str(o, "status", mo->bt_completed ? "completed" : "running");
	return trading__finish(m, o, ok);
}

/* The user's studio at a glance, from the state the other studio messages report. */
enum rtg_err trading__dashboard(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct trading_user *u = trading__user(t, n);
	double running = 0.0, accuracy = 0.0;
	size_t i;
	cJSON *o;
	bool ok;

	for (i = 0; i < t->conf.jobs->n; i++)
		running += !u->jobs[i].completed;
	for (i = 0; i < t->conf.models->n; i++)
		accuracy += u->models[i].accuracy;
	accuracy /= (double)t->conf.models->n;
	snprintf(m->topic, sizeof(m->topic), "user/%s/studio/dashboard", u->name);
	o = trading__obj("dashboard_update", now_ns);
	ok = o && trading__num(o, "active_models", (double)t->conf.models->n) &&
		trading__num(o, "training_jobs", running) &&
		trading__num(o, "avg_accuracy", trading__round(accuracy, 1e4)) &&
		trading__num(o, "total_predictions_today", (double)u->predictions_today);
	return trading__finish(m, o, ok);
}

/* ---- marketplace and health ------------------------------------------------------------------- */

/* Fills the event, title and message of a marketplace notification about model @p name. */
static const char *market_text(
	struct sim_rng *r, const char *name, char *title, size_t tlen, char *text, size_t xlen)
{
	int price = 499 + 100 * (int)sim__rng_below(r, 25);
	const char *author = authors[sim__rng_below(r, RTG_ARRAY_SIZE(authors))];

	switch (sim__rng_below(r, 3)) {
	case 0:
		snprintf(title, tlen, "New model in the marketplace");
		snprintf(text, xlen, "%s by %s is now available for %d INR a month.", name, author,
			price);
		return "new_model";
	case 1:
		snprintf(title, tlen, "Price drop");
		snprintf(text, xlen, "%s is now %d INR a month (was %d INR).", name, price,
			price + 200 + 100 * (int)sim__rng_below(r, 8));
		return "price_drop";
	default:
		snprintf(title, tlen, "New review");
		snprintf(text, xlen, "%s got a %d-star review from %s: \"%s\"", name,
			2 + (int)sim__rng_below(r, 4), author,
			reviews[sim__rng_below(r, RTG_ARRAY_SIZE(reviews))]);
		return "review";
	}
}

enum rtg_err trading__marketplace(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_MARKETPLACE];
	const char *name = model_names[sim__rng_below(r, RTG_ARRAY_SIZE(model_names))];
	char id[32], title[64], text[192];
	const char *event = market_text(r, name, title, sizeof(title), text, sizeof(text));
	cJSON *o;
	bool ok;

	UNUSED(n);
	snprintf(m->topic, sizeof(m->topic), "studio/marketplace");
	snprintf(id, sizeof(id), "mkt-%" PRIu64, ++t->next_id[TRADING_MARKETPLACE]);
	o = trading__obj("marketplace_notification", now_ns);
	ok = o && trading__str(o, "id", id) && trading__str(o, "title", title) &&
		trading__str(o, "message", text) && trading__str(o, "model_name", name) &&
		trading__str(o, "event", event);
	return trading__finish(m, o, ok);
}

/* Moves one worker: a stalled one recovers half the time, a running one rarely stalls;
 * while stalled its queue grows. Returns its status. */
static const char *worker_step(struct sim_rng *r, struct trading_worker *w)
{
	double roll = sim__rng_uniform(r);

	w->stalled = w->stalled ? roll >= 0.5 : roll < STALL_CHANCE;
	if (w->stalled)
		w->queue_depth += trading__between(r, 20, 80);
	else
		w->queue_depth = trading__revert(r, w->queue_depth, 20.0, 15.0, 0.0, 5000.0);
	w->queue_depth = round(w->queue_depth);
	return w->stalled ? "stalled" : w->queue_depth > BUSY_DEPTH ? "busy" : "running";
}

/* Degraded while a worker is stalled or the machine is nearly full. */
enum rtg_err trading__health(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_HEALTH];
	const char *status[TRADING_WORKERS];
	cJSON *o, *workers = NULL, *w;
	bool ok, degraded = false;
	size_t i;

	UNUSED(n);
	t->cpu_percent = trading__revert(r, t->cpu_percent, 35.0, 6.0, 1.0, 100.0);
	t->memory_percent = trading__revert(r, t->memory_percent, 62.0, 2.0, 5.0, 99.0);
	for (i = 0; i < TRADING_WORKERS; i++) {
		status[i] = worker_step(r, &t->workers[i]);
		degraded = degraded || t->workers[i].stalled;
	}
	degraded = degraded || t->cpu_percent > 85.0 || t->memory_percent > 90.0;
	snprintf(m->topic, sizeof(m->topic), "system/health");
	o = trading__obj("system_health", now_ns);
	ok = o && trading__str(o, "status", degraded ? "degraded" : "healthy");
	if (ok)
		workers = cJSON_AddArrayToObject(o, "workers");
	ok = ok && workers;
	for (i = 0; ok && i < TRADING_WORKERS; i++) {
		w = trading__push_obj(workers);
		ok = w && trading__str(w, "name", t->workers[i].name) &&
			trading__str(w, "status", status[i]) &&
			trading__num(w, "queue_depth", t->workers[i].queue_depth);
	}
	ok = ok && trading__num(o, "cpu_percent", trading__round(t->cpu_percent, 10)) &&
		trading__num(o, "memory_percent", trading__round(t->memory_percent, 10));
	return trading__finish(m, o, ok);
}
