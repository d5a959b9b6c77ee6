/*
 * trading_market.c - the market-wide messages of rtg-trading-sim: sentiment per symbol
 * (market/sentiment/<SYMBOL>), option Greeks per symbol (market/fno/<SYMBOL>), and seed
 * 000's breaking-news alerts (market/alerts/<TICKER>); plus the Black-Scholes Greeks and the
 * NSE expiry calendar they need.
 *
 * The Greeks are textbook Black-Scholes without dividends; the calendar knows Tuesdays and
 * month ends but no exchange holidays. The news is invented. Pure; see trading_shapes.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trading_int.h"
#include "rtg_util.h"

#define RATE 0.065 /* the risk-free rate a year (India, 2025) */
#define YEAR_SEC (365.0 * 86400.0)
#define MIN_YEARS (3600.0 / YEAR_SEC) /* an hour: no Greeks blow up at the close */
#define DAY_SEC 86400
#define CLOSE_UTC_SEC (10 * 3600) /* NSE closes at 15:30 IST */
#define TUESDAY 2 /* (day + 4) % 7 for days since 1970-01-01, a Thursday; 0 is Sunday */
#define TICK 0.05 /* no option trades below NSE's price tick */
#define BULLISH 0.2 /* sentiment scores above this are bullish, below minus this bearish */

static const struct {
	const char *ticker;
	const char *company;
} companies[] = {
	{"AAPL", "Apple"},
	{"MSFT", "Microsoft"},
	{"GOOGL", "Alphabet"},
	{"AMZN", "Amazon"},
	{"TSLA", "Tesla"},
	{"NVDA", "Nvidia"},
	{"META", "Meta"},
};

/* ---- the option maths ------------------------------------------------------------------------ */

/* The standard normal distribution function. */
static double norm_cdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}

enum rtg_err trading__greeks(double spot, double strike, double years, double vol, double rate,
	bool call, struct trading_greeks *g)
{
	double sq, d1, d2, pdf, disc, decay;

	memset(g, 0, sizeof(*g));
	if (!(spot > 0) || !(strike > 0) || !(years > 0) || !(vol > 0) || !isfinite(spot) ||
		!isfinite(strike) || !isfinite(years) || !isfinite(vol) || !isfinite(rate))
		return RTG_ERR_INVAL;
	sq = sqrt(years);
	d1 = (log(spot / strike) + (rate + vol * vol / 2.0) * years) / (vol * sq);
	d2 = d1 - vol * sq;
	pdf = exp(-d1 * d1 / 2.0) / sqrt(2.0 * M_PI);
	disc = strike * exp(-rate * years);
	decay = -spot * pdf * vol / (2.0 * sq);
	if (call) {
		g->price = spot * norm_cdf(d1) - disc * norm_cdf(d2);
		g->delta = norm_cdf(d1);
		g->theta = (decay - rate * disc * norm_cdf(d2)) / 365.0;
	} else {
		g->price = disc * norm_cdf(-d2) - spot * norm_cdf(-d1);
		g->delta = norm_cdf(d1) - 1.0;
		g->theta = (decay + rate * disc * norm_cdf(-d2)) / 365.0;
	}
	g->gamma = pdf / (spot * vol * sq);
	g->vega = spot * pdf * sq / 100.0;
	return RTG_OK;
}

/* Returns true if day d (since the epoch) is the last Tuesday of its month: a week later
 * is another month. */
static bool last_tuesday(int64_t d)
{
	time_t a = (time_t)(d * DAY_SEC), b = (time_t)((d + 7) * DAY_SEC);
	struct tm ta, tb;

	return gmtime_r(&a, &ta) && gmtime_r(&b, &tb) && ta.tm_mon != tb.tm_mon;
}

enum rtg_err trading__expiry(
	int64_t now_ns, bool weekly, char *date, size_t len, int64_t *expiry_ns)
{
	int64_t d = now_ns / SIM_NS_PER_SEC / DAY_SEC, close;
	struct tm tm;
	time_t secs;

	if (now_ns < 0 || len < sizeof("YYYY-MM-DD"))
		return RTG_ERR_INVAL;
	/* A month has a Tuesday in its last week, so this ends within about six weeks. */
	for (;; d++) {
		close = (d * DAY_SEC + CLOSE_UTC_SEC) * SIM_NS_PER_SEC;
		if ((d + 4) % 7 == TUESDAY && close > now_ns && (weekly || last_tuesday(d)))
			break;
	}
	secs = (time_t)(d * DAY_SEC);
	if (!gmtime_r(&secs, &tm))
		return RTG_ERR_INVAL;
	snprintf(date, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	*expiry_ns = close;
	return RTG_OK;
}

/* ---- sentiment and F&O -------------------------------------------------------------------------- */

static struct trading_instrument *symbol(struct trading *t, uint64_t n)
{
	return &t->inst[t->symbol_inst[n % t->conf.symbols->n]];
}

/* The score reverts to neutral with noise; the sources are the articles and posts read. */
enum rtg_err trading__sentiment(
	struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_SENTIMENT];
	struct trading_instrument *in = symbol(t, n);
	double score;
	const char *label;
	cJSON *o;
	bool ok;

	in->sentiment = trading__revert(r, in->sentiment, 0.0, 0.12, -1.0, 1.0);
	score = trading__round(in->sentiment, 100);
	label = score > BULLISH ? "bullish" : score < -BULLISH ? "bearish" : "neutral";
	snprintf(m->topic, sizeof(m->topic), "market/sentiment/%s", in->name);
	o = trading__obj("sentiment_update", now_ns);
	ok = o && trading__str(o, "symbol", in->name) &&
		trading__num(o, "sentiment_score", score) && trading__str(o, "label", label) &&
		trading__num(o, "sources", (double)(20 + sim__rng_below(r, 230)));
	return trading__finish(m, o, ok);
}

/*
 * One listed option near the money: a strike up to two steps from the spot, a call or a
 * put, at the series' expiry. Its volatility is the at-the-money one (a walk back to the
 * symbol's usual level) plus a smile that grows with the distance from the spot; its open
 * interest is highest at the money. "ltp" is its Black-Scholes premium on the tick (one
 * tick at least).
 */
enum rtg_err trading__fno(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_FNO];
	struct trading_instrument *in = symbol(t, n);
	double spot = trading__tick(in->walk.price);
	double strike = round(spot / in->strike_step) * in->strike_step;
	double steps = (double)sim__rng_below(r, 5) - 2.0;
	bool call = sim__rng_below(r, 2) == 0;
	double oi = in->open_interest * exp(-0.35 * fabs(steps)) * trading__between(r, 0.85, 1.15);
	double iv, years;
	struct trading_greeks g;
	int64_t expiry_ns;
	char date[16];
	cJSON *o;
	bool ok;

	if (strike + steps * in->strike_step > 0)
		strike += steps * in->strike_step;
	in->atm_iv = trading__revert(
		r, in->atm_iv, in->base_iv, 0.3, in->base_iv / 3.0, in->base_iv * 3.0);
	iv = trading__round(in->atm_iv * (1.0 + 1.5 * fabs(log(strike / spot))), 100);
	if (trading__expiry(now_ns, in->weekly, date, sizeof(date), &expiry_ns) != RTG_OK)
		return RTG_ERR_INVAL;
	years = fmax((double)(expiry_ns - now_ns) / 1e9 / YEAR_SEC, MIN_YEARS);
	if (trading__greeks(spot, strike, years, iv / 100.0, RATE, call, &g) != RTG_OK)
		return RTG_ERR_INVAL;
	snprintf(m->topic, sizeof(m->topic), "market/fno/%s", in->name);
	o = trading__obj("fno_update", now_ns);
	ok = o && trading__str(o, "symbol", in->name) && trading__str(o, "expiry", date) &&
		trading__num(o, "strike", strike) &&
		trading__str(o, "option_type", call ? "CE" : "PE") && trading__num(o, "iv", iv) &&
		trading__num(o, "delta", trading__round(g.delta, 1e4)) &&
		trading__num(o, "gamma", trading__round(g.gamma, 1e6)) &&
		trading__num(o, "theta", trading__round(g.theta, 100)) &&
		trading__num(o, "vega", trading__round(g.vega, 100)) &&
		trading__num(o, "ltp", fmax(trading__tick(g.price), TICK)) &&
		trading__num(o, "open_interest", round(oi));
	return trading__finish(m, o, ok);
}

/* ---- breaking news ------------------------------------------------------------------------------- */

static const char *company(const char *ticker)
{
	size_t i;

	for (i = 0; i < RTG_ARRAY_SIZE(companies); i++) {
		if (strcmp(companies[i].ticker, ticker) == 0)
			return companies[i].company;
	}
	return ticker;
}

/* Writes the headline and the message of news story @p story about @p co (@p tk) that moved
 * the shares by @p pct percent. Literal formats, one per story: -Wformat=2 checks them. */
static void news(size_t story, const char *co, const char *tk, double pct, char *head, size_t hlen,
	char *text, size_t tlen)
{
	switch (story) {
	case 0:
		snprintf(head, hlen, "%s jumps %.1f%% after earnings beat", co, pct);
		snprintf(text, tlen,
			"%s (%s) reported revenue and earnings above estimates; "
			"the shares are up %.1f%%.",
			co, tk, pct);
		break;
	case 1:
		snprintf(head, hlen, "%s falls %.1f%% after guidance cut", co, pct);
		snprintf(text, tlen,
			"%s (%s) lowered its full-year outlook; the shares are down "
			"%.1f%%.",
			co, tk, pct);
		break;
	case 2:
		snprintf(head, hlen, "Analyst upgrades %s to Buy", co);
		snprintf(text, tlen,
			"A major broker raised %s (%s) to Buy with a higher price "
			"target; the shares are up %.1f%%.",
			co, tk, pct);
		break;
	case 3:
		snprintf(head, hlen, "Regulators open an inquiry into %s", co);
		snprintf(text, tlen,
			"%s (%s) disclosed a regulatory inquiry; the shares are down "
			"%.1f%%.",
			co, tk, pct);
		break;
	default:
		snprintf(head, hlen, "%s announces a share buyback", co);
		snprintf(text, tlen,
			"%s (%s) authorized a new share buyback; the shares are up "
			"%.1f%%.",
			co, tk, pct);
	}
}

/* A story on each ticker in turn; the bigger the move, the more severe. */
enum rtg_err trading__alert(struct trading *t, uint64_t n, int64_t now_ns, struct trading_msg *m)
{
	struct sim_rng *r = &t->rng[TRADING_ALERT];
	const char *tk = t->conf.tickers->items[n % t->conf.tickers->n];
	size_t story = sim__rng_below(r, 5);
	double pct = trading__round(trading__between(r, 0.8, 9.0), 10);
	const char *severity = pct < 2.0 ? "low" : pct < 5.0 ? "medium" : "high";
	char id[32], head[128 + SIM_NAME_MAX], text[256 + 2 * SIM_NAME_MAX];
	cJSON *o;
	bool ok;

	news(story, company(tk), tk, pct, head, sizeof(head), text, sizeof(text));
	snprintf(m->topic, sizeof(m->topic), "market/alerts/%s", tk);
	snprintf(id, sizeof(id), "alert-%" PRIu64, ++t->next_id[TRADING_ALERT]);
	o = trading__obj("market_alert", now_ns);
	ok = o && trading__str(o, "id", id) && trading__str(o, "ticker", tk) &&
		trading__str(o, "severity", severity) && trading__str(o, "headline", head) &&
		trading__str(o, "message", text);
	return trading__finish(m, o, ok);
}
