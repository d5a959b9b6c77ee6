/*
 * notify_sim.c - rtg-notify-sim, per-user notifications for the realtime gateway.
 *
 * Every --interval seconds it picks a demo user and publishes one of notification
 * (user/<u>/notifications), transaction_update (user/<u>/transactions), balance_update
 * (user/<u>/balance, retained), credit_analysis (user/<u>/credit, retained) or
 * risk_score_update (there too, not retained: the topic's value stays the whole
 * analysis), the shapes of seeds 002 and 000; every --announce-interval
 * seconds a system_announcement to system/announcements. Balances and credit scores are
 * random walks per user; nothing is read from a real account. Main thread; libmosquitto's
 * thread only sends.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_common.h"
#include "rtg_util.h"

#define MAX_USERS 1024
#define BATCH_MAX 1000
#define TOPIC_LEN (sizeof("user//notifications") + SIM_NAME_MAX)

enum notify_opt {
	OPT_USERS = SIM_OPT_PRIVATE,
	OPT_INTERVAL,
	OPT_ANNOUNCE_INTERVAL,
};

struct user {
	const char *name; /* points into the --users list */
	double balance;
	int score; /* credit score, 300 to 850 */
	double risk; /* the risk score last published, 0 to 1 */
};

struct notify {
	struct sim_list names;
	double interval;
	double announce_interval;
	struct user *users;
	size_t n;
	/* Two streams: the sequence of user messages does not depend on when the
	 * announcements happen to interleave with it. */
	struct sim_rng rng;
	struct sim_rng announce_rng;
	struct sim_client client;
	uint64_t sent;
};

static const char *const note_types[] = {"transaction", "security", "savings", "info"};
static const char *const merchants[] = {
	"City Grocers", "Coffee Corner", "Metro Transit", "Corner Books", "StreamBox"};
static const char *const devices[] = {
	"Firefox on Linux", "Safari on iPhone", "Chrome on Windows", "the mobile app"};
static const char *const goals[] = {"Holiday", "Emergency fund", "New laptop", "House deposit"};
/* Why a risk score rose, or fell. */
static const char *const risk_up[] = {"Higher card utilization", "New hard inquiry",
	"Late payment reported", "Higher debt-to-income ratio"};
static const char *const risk_down[] = {"Lower card utilization", "On-time payment recorded",
	"Card balance paid down", "Older average account age"};

/* level, title, message */
static const char *const announcements[][3] = {
	{"info", "New feature", "Price alerts can now be set from the dashboard."},
	{"warning", "Scheduled maintenance",
		"Some services will be unavailable on Sunday from 02:00 to 02:30 UTC."},
	{"info", "Market hours", "US markets close early on the day after Thanksgiving."},
	{"critical", "Payment delays",
		"Card payments are delayed and balances may update late. We are on it."},
};

static const struct option longopts[] = {
	{"users", required_argument, NULL, OPT_USERS},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"announce-interval", required_argument, NULL, OPT_ANNOUNCE_INTERVAL},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *fp)
{
	fputs("Usage: rtg-notify-sim --token-file FILE [options]\n"
	      "Publishes simulated per-user messages to the realtime gateway's broker:\n"
	      "  user/<u>/notifications    notification\n"
	      "  user/<u>/transactions     transaction_update\n"
	      "  user/<u>/balance          balance_update, retained\n"
	      "  user/<u>/credit           credit_analysis (retained) and risk_score_update\n"
	      "  system/announcements      system_announcement\n"
	      "The token needs a role that may write user/# and system/announcements (notifier).\n\n"
	      "  --users A,B,C         demo users (default alice,bob)\n"
	      "  --interval S          seconds between two user messages (default 5)\n"
	      "  --announce-interval S seconds between announcements (default 60)\n"
	      "  --count N             exit after N messages, announcements included\n",
		fp);
	sim__usage_common(fp);
}

static int parse_opt(void *ctx, int opt, const char *arg)
{
	struct notify *s = ctx;

	switch (opt) {
	case OPT_USERS:
		sim__list_free(&s->names); /* the last --users wins */
		return sim__parse_list("--users", arg, MAX_USERS, &s->names);
	case OPT_INTERVAL:
		return sim__parse_double("--interval", arg, 0.001, 86400, &s->interval);
	case OPT_ANNOUNCE_INTERVAL:
		return sim__parse_double(
			"--announce-interval", arg, 0.01, 86400, &s->announce_interval);
	default:
		return -1;
	}
}

/* Each user starts from a balance and score drawn from the seed and its name only. */
static enum rtg_err notify_init(struct notify *s, uint64_t seed)
{
	struct sim_rng r;
	size_t i;

	s->n = s->names.n;
	s->users = calloc(s->n, sizeof(*s->users));
	if (!s->users) {
		fprintf(stderr, "%s: out of memory\n", sim__prog());
		return RTG_ERR_NOMEM;
	}
	for (i = 0; i < s->n; i++) {
		sim__rng_seed(&r, sim__rng_derive(seed, s->names.items[i]));
		s->users[i].name = s->names.items[i];
		s->users[i].balance = round(50000.0 + 450000.0 * sim__rng_uniform(&r)) / 100.0;
		s->users[i].score = 580 + (int)sim__rng_below(&r, 200);
		s->users[i].risk = round((850 - s->users[i].score) / 5.5) / 100.0;
	}
	sim__rng_seed(&s->rng, sim__rng_derive(seed, "user"));
	sim__rng_seed(&s->announce_rng, sim__rng_derive(seed, "system/announcements"));
	return RTG_OK;
}

/* ---- building blocks ---------------------------------------------------------------------- */

static double round2(double x)
{
	return round(x * 100.0) / 100.0 + 0.0; /* + 0.0: no "-0" */
}

static const char *pick(struct sim_rng *r, const char *const *list, size_t n)
{
	return list[sim__rng_below(r, n)];
}

/* Writes prefix and 16 hex digits, a unique enough id for a demo. */
static void make_id(struct sim_rng *r, const char *prefix, char *buf, size_t len)
{
	snprintf(buf, len, "%s%016" PRIx64, prefix, sim__rng_next(r));
}

/* A new object with "type" and, under time_key, the time now; or NULL. */
static cJSON *new_msg(const char *type, const char *time_key)
{
	char ts[SIM_ISO8601_LEN];
	cJSON *o;

	if (sim__iso8601(sim__real_ns(), ts, sizeof(ts)) != RTG_OK)
		return NULL;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "type", type) ||
		!cJSON_AddStringToObject(o, time_key, ts)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool add_str(cJSON *o, const char *key, const char *v)
{
	return cJSON_AddStringToObject(o, key, v) != NULL;
}

static bool add_num(cJSON *o, const char *key, double v)
{
	return cJSON_AddNumberToObject(o, key, v) != NULL;
}

/* Appends s to the array a; false, with nothing leaked, on failure. */
static bool push_str(cJSON *a, const char *s)
{
	cJSON *item = cJSON_CreateString(s);

	if (!item || !cJSON_AddItemToArray(a, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Publishes and frees o (NULL: building it ran out of memory). A message the client did
 * not accept is counted there and is no reason to stop, so that gives RTG_OK. */
static enum rtg_err send_obj(struct notify *s, const char *topic, cJSON *o, bool retain)
{
	enum rtg_err rc = RTG_ERR_NOMEM;

	if (o)
		rc = sim__publish_json(&s->client, topic, o, retain);
	cJSON_Delete(o);
	if (rc == RTG_ERR_NOMEM)
		fprintf(stderr, "%s: out of memory\n", sim__prog());
	s->sent++;
	return rc == RTG_ERR_IO ? RTG_OK : rc;
}

/* ---- messages ----------------------------------------------------------------------------- */

/* Fills the title and text of a notification of note_types[kind]. The draws are made one
 * statement at a time: the order of evaluation of function arguments is unspecified, and
 * a seed must give the same run with every compiler. */
static void note_text(
	struct sim_rng *r, size_t kind, char *title, size_t tlen, char *text, size_t xlen)
{
	double amount;
	int percent;

	switch (kind) {
	case 0:
		amount = round2(3.0 + 120.0 * sim__rng_uniform(r));
		snprintf(title, tlen, "Card payment");
		snprintf(text, xlen, "You paid $%.2f at %s.", amount,
			pick(r, merchants, RTG_ARRAY_SIZE(merchants)));
		break;
	case 1:
		snprintf(title, tlen, "New sign-in");
		snprintf(text, xlen,
			"New sign-in to your account from %s. Not you? Change your password.",
			pick(r, devices, RTG_ARRAY_SIZE(devices)));
		break;
	case 2:
		percent = 10 + 5 * (int)sim__rng_below(r, 18);
		snprintf(title, tlen, "Savings goal");
		snprintf(text, xlen, "You have reached %d%% of your %s goal.", percent,
			pick(r, goals, RTG_ARRAY_SIZE(goals)));
		break;
	default:
		snprintf(title, tlen, "Statement ready");
		snprintf(text, xlen, "Your monthly statement is ready to view.");
	}
}

static enum rtg_err publish_notification(struct notify *s, struct user *u)
{
	size_t kind = sim__rng_below(&s->rng, RTG_ARRAY_SIZE(note_types));
	char id[32], title[64], text[160], topic[TOPIC_LEN];
	const char *priority = "low";
	cJSON *o;

	note_text(&s->rng, kind, title, sizeof(title), text, sizeof(text));
	make_id(&s->rng, "ntf_", id, sizeof(id));
	if (kind == 1)
		priority = "high"; /* security */
	else if (kind == 0 || sim__rng_below(&s->rng, 2))
		priority = "normal";
	snprintf(topic, sizeof(topic), "user/%s/notifications", u->name);
	o = new_msg("notification", "created_at");
	if (o &&
		(!add_str(o, "id", id) || !add_str(o, "title", title) ||
			!add_str(o, "message", text) ||
			!add_str(o, "notification_type", note_types[kind]) ||
			!add_str(o, "priority", priority))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(s, topic, o, false);
}

/* Mostly completed, some pending, a few failed; amounts log-normal around $33. */
static enum rtg_err publish_transaction(struct notify *s, struct user *u)
{
	double roll = sim__rng_uniform(&s->rng);
	const char *status = roll < 0.7 ? "completed" : roll < 0.9 ? "pending" : "failed";
	double amount = round2(fmin(fmax(exp(3.5 + sim__rng_normal(&s->rng)), 1.0), 10000.0));
	char id[32], topic[TOPIC_LEN];
	cJSON *o;

	make_id(&s->rng, "txn_", id, sizeof(id));
	snprintf(topic, sizeof(topic), "user/%s/transactions", u->name);
	o = new_msg("transaction_update", "timestamp");
	if (o &&
		(!add_str(o, "transaction_id", id) || !add_str(o, "status", status) ||
			!add_num(o, "amount", amount) || !add_str(o, "currency", "USD"))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(s, topic, o, false);
}

/* The balance walks by about $120 a step and never goes below zero. */
static enum rtg_err publish_balance(struct notify *s, struct user *u)
{
	double change = round2(120.0 * sim__rng_normal(&s->rng));
	char topic[TOPIC_LEN];
	cJSON *o;

	if (u->balance + change < 0.0)
		change = -change;
	u->balance = round2(u->balance + change);
	snprintf(topic, sizeof(topic), "user/%s/balance", u->name);
	o = new_msg("balance_update", "timestamp");
	if (o &&
		(!add_num(o, "balance", u->balance) || !add_str(o, "currency", "USD") ||
			!add_num(o, "change", change))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(s, topic, o, true);
}

/* Adds the advice that the factors call for, and a word of praise when none does. */
static bool add_advice(cJSON *rec, int on_time, int utilization, int age, int inquiries)
{
	bool ok = true;

	if (utilization > 30)
		ok = ok && push_str(rec, "Keep card balances below 30% of their limits");
	if (on_time < 98)
		ok = ok && push_str(rec, "Set up automatic payments so that no due date is missed");
	if (inquiries > 1)
		ok = ok && push_str(rec, "Avoid new credit applications for a few months");
	if (age < 5)
		ok = ok && push_str(rec, "Keep your oldest accounts open");
	if (ok && cJSON_GetArraySize(rec) == 0)
		ok = push_str(rec, "Keep it up: pay on time and keep balances low");
	return ok;
}

/* The score walks by about 5 points a step within 300-850; the risk score (0 to 1, kept
 * as the user's last) follows from it, with some noise. Returns the risk score. */
static double step_score(struct sim_rng *r, struct user *u)
{
	u->score += (int)lround(5.0 * sim__rng_normal(r));
	u->score = u->score < 300 ? 300 : u->score > 850 ? 850 : u->score;
	u->risk =
		round2(fmin(fmax((850 - u->score) / 550.0 + 0.03 * sim__rng_normal(r), 0.0), 1.0));
	return u->risk;
}

/* A score step, with the factors that follow from the score. */
static enum rtg_err publish_credit(struct notify *s, struct user *u)
{
	struct sim_rng *r = &s->rng;
	int gap, on_time, utilization, age, inquiries;
	char factors[4][64], topic[TOPIC_LEN];
	cJSON *o, *f = NULL, *rec = NULL;
	double risk = step_score(r, u);
	bool ok;
	size_t i;

	gap = 850 - u->score;
	on_time = 100 - gap / 20 - (int)sim__rng_below(r, 3);
	utilization = 5 + gap / 6 + (int)sim__rng_below(r, 10);
	age = 1 + (int)sim__rng_below(r, 20);
	inquiries = (int)sim__rng_below(r, 4);
	snprintf(factors[0], sizeof(factors[0]), "Payment history: %d%% on time", on_time);
	snprintf(factors[1], sizeof(factors[1]), "Credit utilization: %d%%", utilization);
	snprintf(factors[2], sizeof(factors[2]), "Credit age: %d year%s", age, age == 1 ? "" : "s");
	snprintf(factors[3], sizeof(factors[3]), "Hard inquiries in the last year: %d", inquiries);
	snprintf(topic, sizeof(topic), "user/%s/credit", u->name);

	o = new_msg("credit_analysis", "timestamp");
	ok = o && add_num(o, "score", u->score) && add_num(o, "risk_score", risk);
	if (ok)
		f = cJSON_AddArrayToObject(o, "factors");
	if (f)
		rec = cJSON_AddArrayToObject(o, "recommendations");
	ok = ok && rec;
	for (i = 0; ok && i < RTG_ARRAY_SIZE(factors); i++)
		ok = push_str(f, factors[i]);
	ok = ok && add_advice(rec, on_time, utilization, age, inquiries);
	if (!ok) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(s, topic, o, true);
}

/* Adds one or two reasons for a risk score that moved by @p delta (one "no change" if it
 * did not move); false if out of memory. */
static bool add_risk_factors(struct sim_rng *r, cJSON *f, double delta)
{
	const char *const *list = delta > 0 ? risk_up : risk_down;
	size_t n = RTG_ARRAY_SIZE(risk_up), first = sim__rng_below(r, n);

	if (delta == 0.0)
		return push_str(f, "No change in credit activity");
	if (!push_str(f, list[first]))
		return false;
	/* a second, different reason half the time */
	return sim__rng_below(r, 2) == 0 ||
		push_str(f, list[(first + 1 + sim__rng_below(r, n - 1)) % n]);
}

/* Seed 000's risk_score_update: a score step as for credit_analysis, published as the new
 * risk score beside the one published before, with the reasons for the move. Not
 * retained: a late subscriber still gets the whole analysis as the topic's value. */
static enum rtg_err publish_risk_score(struct notify *s, struct user *u)
{
	double previous = u->risk, risk = step_score(&s->rng, u);
	char topic[TOPIC_LEN];
	cJSON *o, *f = NULL;
	bool ok;

	snprintf(topic, sizeof(topic), "user/%s/credit", u->name);
	o = new_msg("risk_score_update", "timestamp");
	ok = o && add_num(o, "risk_score", risk) && add_num(o, "previous_score", previous);
	if (ok)
		f = cJSON_AddArrayToObject(o, "factors");
	ok = ok && f && add_risk_factors(&s->rng, f, round2(risk - previous));
	if (!ok) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(s, topic, o, false);
}

static enum rtg_err publish_announcement(struct notify *s)
{
	const char *const *a =
		announcements[sim__rng_below(&s->announce_rng, RTG_ARRAY_SIZE(announcements))];
	cJSON *o = new_msg("system_announcement", "timestamp");

	if (o &&
		(!add_str(o, "title", a[1]) || !add_str(o, "message", a[2]) ||
			!add_str(o, "level", a[0]))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return send_obj(s, "system/announcements", o, false);
}

/* One user message: a random user, and notifications the likeliest kind. */
static enum rtg_err publish_one(struct notify *s)
{
	struct user *u = &s->users[sim__rng_below(&s->rng, s->n)];
	double roll = sim__rng_uniform(&s->rng);

	if (roll < 0.4)
		return publish_notification(s, u);
	if (roll < 0.65)
		return publish_transaction(s, u);
	if (roll < 0.8)
		return publish_balance(s, u);
	if (roll < 0.9)
		return publish_credit(s, u);
	return publish_risk_score(s, u);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static bool done(const struct notify *s, uint64_t count)
{
	return count && s->sent >= count;
}

/* The first user message goes at once, the first announcement after one interval. */
static enum rtg_err run(struct notify *s, uint64_t count)
{
	int64_t now = sim__mono_ns(), a_next, m_next;
	struct sim_rate msgs, ann;
	enum rtg_err rc = RTG_OK;
	uint64_t n;

	sim__rate_init(&msgs, 1.0 / s->interval, now);
	sim__rate_init(
		&ann, 1.0 / s->announce_interval, now + (int64_t)(s->announce_interval * 1e9));
	while (rc == RTG_OK && sim__running(&s->client) && !done(s, count)) {
		now = sim__mono_ns();
		for (n = sim__rate_take(&ann, now, BATCH_MAX); rc == RTG_OK && n && !done(s, count);
			n--)
			rc = publish_announcement(s);
		for (n = sim__rate_take(&msgs, now, BATCH_MAX);
			rc == RTG_OK && n && !done(s, count); n--)
			rc = publish_one(s);
		if (done(s, count))
			break;
		a_next = sim__rate_next(&ann);
		m_next = sim__rate_next(&msgs);
		sim__sleep_until(a_next < m_next ? a_next : m_next);
	}
	return rc;
}

int main(int argc, char *argv[])
{
	struct notify s = {.interval = 5, .announce_interval = 60};
	struct sim_prog prog = {"rtg-notify-sim", longopts, usage, parse_opt, &s};
	struct sim_opts o;
	bool started = false;
	enum rtg_err rc;
	int status;

	sim__set_prog(prog.name);
	status = sim__parse_args(argc, argv, &prog, &o);
	if (status) {
		sim__list_free(&s.names);
		return status > 0 ? EXIT_SUCCESS : SIM_EXIT_USAGE;
	}
	rc = RTG_OK;
	if (!s.names.n && sim__parse_list("--users", "alice,bob", MAX_USERS, &s.names))
		rc = RTG_ERR_NOMEM;
	if (rc == RTG_OK)
		rc = sim__signals_init();
	if (rc == RTG_OK)
		rc = notify_init(&s, o.seed);
	if (rc == RTG_OK) {
		fprintf(stderr, "%s: seed %" PRIu64 ", %zu users, a message every %g s\n",
			prog.name, o.seed, s.n, s.interval);
		rc = sim__client_start(&s.client, &o, 1);
		started = rc == RTG_OK;
	}
	if (rc == RTG_OK)
		rc = run(&s, o.count);
	rc = sim__client_finish(&s.client, rc, started, s.sent, "messages");
	free(s.users);
	sim__list_free(&s.names);
	return rc == RTG_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
