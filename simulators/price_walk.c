/*
 * price_walk.c - geometric Brownian motion for one instrument, and its quote.
 *
 * The exact solution of dS = mu S dt + sigma S dW over a step dt is
 * S(t + dt) = S(t) exp((mu - sigma^2 / 2) dt + sigma sqrt(dt) Z), so a walk with
 * sigma = 0 follows S0 exp(mu t) exactly and a price can never reach zero (the clamp
 * only guards against absurd parameters and the limits of a double). It draws no random
 * numbers itself and knows nothing of MQTT or JSON. Any thread.
 */
#include <math.h>

#include "price_walk.h"

static double clamp_price(double p)
{
	if (!(p >= WALK_MIN_PRICE)) /* also NaN */
		return WALK_MIN_PRICE;
	return p > WALK_MAX_PRICE ? WALK_MAX_PRICE : p;
}

/* Adding 0.0 turns -0.0 into 0.0, which would otherwise print as "-0". */
double walk__round2(double x)
{
	return round(x * 100.0) / 100.0 + 0.0;
}

void walk__init(struct price_walk *w, double s0, double mu, double sigma)
{
	w->price = clamp_price(s0);
	w->mu = mu;
	w->sigma = sigma;
	walk__new_day(w);
}

void walk__new_day(struct price_walk *w)
{
	w->open = w->price;
	w->high = w->price;
	w->low = w->price;
	w->volume = 0;
}

void walk__step(struct price_walk *w, double dt, double z, uint64_t volume)
{
	double drift = (w->mu - 0.5 * w->sigma * w->sigma) * dt;

	w->price = clamp_price(w->price * exp(drift + w->sigma * sqrt(dt) * z));
	if (w->price > w->high)
		w->high = w->price;
	if (w->price < w->low)
		w->low = w->price;
	w->volume += volume;
}

void walk__quote(const struct price_walk *w, struct price_quote *q)
{
	/* A price just above the floor could round to 0.00: keep the cent. */
	q->price = fmax(walk__round2(w->price), WALK_MIN_PRICE);
	q->open = fmax(walk__round2(w->open), WALK_MIN_PRICE);
	q->high = fmax(walk__round2(w->high), WALK_MIN_PRICE);
	q->low = fmax(walk__round2(w->low), WALK_MIN_PRICE);
	q->change = walk__round2(q->price - q->open);
	q->change_percent = walk__round2(100.0 * (q->price - q->open) / q->open);
	q->volume = w->volume;
}
