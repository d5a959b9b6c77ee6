/*
 * price_walk.h - one instrument's price as a geometric Brownian motion, with the day's
 * open, high, low and volume, and the rounded quote a price_update carries.
 *
 * Pure arithmetic: the caller supplies each normal draw and volume, so a walk is exactly
 * as reproducible as the random stream feeding it. No I/O, no allocation, no state
 * beyond the struct; safe from any thread that owns the struct.
 */
#ifndef PRICE_WALK_H
#define PRICE_WALK_H

#include <stdint.h>

#define WALK_MIN_PRICE 0.01 /* a price never falls below one cent */
#define WALK_MAX_PRICE 1e9 /* nor rises without bound when volatility is absurd */

struct price_walk {
	double price; /* full precision, within [WALK_MIN_PRICE, WALK_MAX_PRICE] */
	double open; /* the day's */
	double high;
	double low;
	double mu; /* drift, per year */
	double sigma; /* volatility, per square root of a year */
	uint64_t volume; /* shares traded today */
};

/* What a price_update reports: money in cents, change_percent to 0.01 %. */
struct price_quote {
	double price;
	double change; /* price - open */
	double change_percent; /* 100 * change / open */
	double open;
	double high;
	double low;
	uint64_t volume;
};

/** Starts a walk at @p s0 (clamped to the price range) and begins a day. */
void walk__init(struct price_walk *w, double s0, double mu, double sigma);

/** Begins a trading day: open, high and low become the current price; volume 0. */
void walk__new_day(struct price_walk *w);

/**
 * Advances the walk by @p dt years with the standard normal draw @p z:
 * S <- S * exp((mu - sigma^2 / 2) * dt + sigma * sqrt(dt) * z), clamped to the price
 * range; high and low follow; @p volume shares are added to the day's volume.
 */
void walk__step(struct price_walk *w, double dt, double z, uint64_t volume);

/**
 * Fills @p q from @p w. Price, open, high and low are rounded to cents first, and change
 * and change_percent are computed from those rounded values, so that a reader checking
 * price - open == change finds it true to the cent.
 */
void walk__quote(const struct price_walk *w, struct price_quote *q);

/** @p x rounded to two decimals, halves away from zero. */
double walk__round2(double x);

#endif /* PRICE_WALK_H */
