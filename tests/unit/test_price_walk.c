/*
 * test_price_walk.c - unit tests for the simulators' arithmetic: the seeded PRNG and its
 * normal draws (sim_common.c), the geometric Brownian motion and the quote bookkeeping
 * (price_walk.c), and the fixed-rate schedule and timestamps that drive the feed.
 *
 * Statistical tests use 100,000 draws and tolerances of about six standard errors, so
 * they are deterministic for the fixed seeds used here and would still pass for others.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "price_walk.h"
#include "sim_common.h"
#include "rtg_util.h"

#define SAMPLES 100000

/* ==== Helpers ================================================================================= */

/* Fails unless |got - want| <= tol. (cmocka's assert_float_equal works in float.) */
#define assert_near(got, want, tol) near_helper((got), (want), (tol), #got)

static void near_helper(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s is %.17g, want %.17g (tolerance %g)", what, got, want, tol);
}

/* Fails unless |got - want| <= tol * |want|. */
static void assert_relative(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol * fabs(want)))
		fail_msg("got %.17g, want %.17g (relative tolerance %g)", got, want, tol);
}

/* Checks a quote against hand-computed values, all in cents or hundredths of a percent. */
static void quote_helper(const struct price_walk *w, double price, double change, double pct,
	double open, double high, double low, uint64_t volume)
{
	struct price_quote q;

	walk__quote(w, &q);
	assert_near(q.price, price, 1e-9);
	assert_near(q.change, change, 1e-9);
	assert_near(q.change_percent, pct, 1e-9);
	assert_near(q.open, open, 1e-9);
	assert_near(q.high, high, 1e-9);
	assert_near(q.low, low, 1e-9);
	assert_int_equal(q.volume, volume);
}

/* ==== The PRNG ================================================================================ */

static void test_rng_is_deterministic_for_a_seed(void **state)
{
	struct sim_rng a, b;
	int i;

	UNUSED(state);
	sim__rng_seed(&a, 42);
	sim__rng_seed(&b, 42);
	for (i = 0; i < 10000; i++)
		assert_int_equal(sim__rng_next(&a), sim__rng_next(&b));
	for (i = 0; i < 1000; i++)
		assert_true(sim__rng_normal(&a) == sim__rng_normal(&b));
}

static void test_rng_differs_between_seeds(void **state)
{
	static const uint64_t seeds[] = {0, 1, 42, 43, UINT64_MAX};
	uint64_t first[RTG_ARRAY_SIZE(seeds)][8];
	struct sim_rng r;
	size_t i, j, k, same;

	UNUSED(state);
	for (i = 0; i < RTG_ARRAY_SIZE(seeds); i++) {
		sim__rng_seed(&r, seeds[i]);
		for (k = 0; k < 8; k++) {
			first[i][k] = sim__rng_next(&r);
			assert_true(first[i][k] != 0); /* seed 0 too gives a live stream */
		}
	}
	for (i = 0; i < RTG_ARRAY_SIZE(seeds); i++) {
		for (j = i + 1; j < RTG_ARRAY_SIZE(seeds); j++) {
			for (same = 0, k = 0; k < 8; k++)
				same += first[i][k] == first[j][k];
			if (same)
				fail_msg("seeds %zu and %zu share %zu of 8 values", i, j, same);
		}
	}
}

static void test_rng_derive_gives_each_name_and_seed_its_own_stream(void **state)
{
	UNUSED(state);
	assert_int_equal(sim__rng_derive(42, "AAPL"), sim__rng_derive(42, "AAPL"));
	assert_true(sim__rng_derive(42, "AAPL") != sim__rng_derive(42, "MSFT"));
	assert_true(sim__rng_derive(42, "AAPL") != sim__rng_derive(43, "AAPL"));
	assert_true(sim__rng_derive(42, "") != sim__rng_derive(42, "A"));
}

static void test_rng_uniform_and_below_stay_in_range(void **state)
{
	struct sim_rng r;
	double u, sum = 0.0;
	int i, hits[10] = {0};

	UNUSED(state);
	sim__rng_seed(&r, 7);
	for (i = 0; i < SAMPLES; i++) {
		u = sim__rng_uniform(&r);
		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
		hits[sim__rng_below(&r, 10)]++;
	}
	assert_near(sum / SAMPLES, 0.5, 0.006);
	for (i = 0; i < 10; i++)
		assert_in_range(hits[i], SAMPLES / 10 - 600, SAMPLES / 10 + 600);
}

/* Mean 0 (standard error 0.003), variance 1 (standard error 0.0045), and 68.27 % of the
 * draws within one standard deviation (standard error 0.0015). */
static void test_normal_draws_have_mean_zero_and_variance_one(void **state)
{
	struct sim_rng r;
	double z, sum = 0.0, sq = 0.0, mean;
	int i, within = 0;

	UNUSED(state);
	sim__rng_seed(&r, 2024);
	for (i = 0; i < SAMPLES; i++) {
		z = sim__rng_normal(&r);
		assert_true(isfinite(z));
		sum += z;
		sq += z * z;
		within += fabs(z) < 1.0;
	}
	mean = sum / SAMPLES;
	assert_near(mean, 0.0, 0.02);
	assert_near(sq / SAMPLES - mean * mean, 1.0, 0.03);
	assert_near((double)within / SAMPLES, 0.6827, 0.01);
}

/* ==== The walk ================================================================================ */

static void test_walk_without_volatility_follows_s0_exp_mu_t(void **state)
{
	static const double mus[] = {0.1, -0.3, 0.0, 2.0};
	struct price_walk w;
	size_t i;
	int k;

	UNUSED(state);
	for (i = 0; i < RTG_ARRAY_SIZE(mus); i++) {
		walk__init(&w, 150.0, mus[i], 0.0);
		for (k = 0; k < 1000; k++) /* t = 1000 * 0.002 = 2 years */
			walk__step(&w, 0.002, k % 2 ? 3.0 : -3.0, 0);
		assert_relative(w.price, 150.0 * exp(mus[i] * 2.0), 1e-9);
	}
}

static void test_walk_with_a_seed_is_reproducible(void **state)
{
	struct price_walk a, b;
	struct sim_rng ra, rb;
	int k;

	UNUSED(state);
	walk__init(&a, 189.5, 0.1, 0.25);
	walk__init(&b, 189.5, 0.1, 0.25);
	sim__rng_seed(&ra, sim__rng_derive(42, "AAPL"));
	sim__rng_seed(&rb, sim__rng_derive(42, "AAPL"));
	for (k = 0; k < 10000; k++) {
		walk__step(&a, 1e-4, sim__rng_normal(&ra), 100);
		walk__step(&b, 1e-4, sim__rng_normal(&rb), 100);
		assert_true(a.price == b.price);
	}
	assert_true(a.high == b.high && a.low == b.low);
	assert_int_equal(a.volume, 1000000);
}

static void test_walk_prices_never_reach_zero(void **state)
{
	struct price_walk w;
	struct price_quote q;
	struct sim_rng r;
	int k;

	UNUSED(state);
	sim__rng_seed(&r, 99);
	walk__init(&w, 1.0, -5.0, 3.0); /* a collapsing penny stock */
	for (k = 0; k < 20000; k++) {
		walk__step(&w, 1.0, sim__rng_normal(&r), 1);
		walk__quote(&w, &q);
		assert_true(w.price >= WALK_MIN_PRICE && q.price >= 0.01 && q.low >= 0.01);
	}
	walk__step(&w, 1.0, NAN, 0);
	assert_true(w.price >= WALK_MIN_PRICE);
	walk__init(&w, 0.0, 0.0, 0.0);
	assert_true(w.price >= WALK_MIN_PRICE);
	walk__init(&w, -5.0, 0.0, 0.0);
	assert_true(w.price >= WALK_MIN_PRICE);
	walk__init(&w, 1e8, 50.0, 0.0); /* and no overflow to infinity */
	walk__step(&w, 100.0, 0.0, 0);
	assert_true(isfinite(w.price) && w.price <= WALK_MAX_PRICE);
}

/* sigma sqrt(dt) = 0.2 * 0.5 = 0.1 and mu = sigma^2 / 2 remove the drift, so the draw
 * z = 10 ln(ratio) multiplies the price by exactly that ratio. */
static void step_by(struct price_walk *w, double ratio, uint64_t volume)
{
	walk__step(w, 0.25, 10.0 * log(ratio), volume);
}

static void test_walk_bookkeeping_over_a_hand_checked_sequence(void **state)
{
	struct price_walk w;

	UNUSED(state);
	walk__init(&w, 100.0, 0.02, 0.2);
	quote_helper(&w, 100.0, 0.0, 0.0, 100.0, 100.0, 100.0, 0);
	step_by(&w, 1.05, 100);
	quote_helper(&w, 105.0, 5.0, 5.0, 100.0, 105.0, 100.0, 100);
	step_by(&w, 0.9, 200);
	quote_helper(&w, 94.5, -5.5, -5.5, 100.0, 105.0, 94.5, 300);
	step_by(&w, 1.2, 300);
	quote_helper(&w, 113.4, 13.4, 13.4, 100.0, 113.4, 94.5, 600);
	walk__new_day(&w);
	quote_helper(&w, 113.4, 0.0, 0.0, 113.4, 113.4, 113.4, 0);
	step_by(&w, 100.0 / 113.4, 50);
	/* -13.4 / 113.4 = -11.8165 % */
	quote_helper(&w, 100.0, -13.4, -11.82, 113.4, 113.4, 100.0, 50);
}

/* Change is computed from the rounded prices, so price - open == change to the cent. */
static void test_walk_quote_rounds_before_it_subtracts(void **state)
{
	struct price_walk w;
	struct price_quote q;

	UNUSED(state);
	walk__init(&w, 99.996, 0.0, 0.0);
	w.price = 101.234;
	w.high = 101.234;
	quote_helper(&w, 101.23, 1.23, 1.23, 100.0, 101.23, 100.0, 0);
	w.price = 99.999;
	walk__quote(&w, &q);
	assert_near(q.change, 0.0, 1e-12);
	assert_false(signbit(q.change)); /* never "-0" in the JSON */
	assert_false(signbit(walk__round2(-0.001)));
}

/* ==== Schedules and timestamps ================================================================ */

static void test_rate_schedule_keeps_a_fixed_rate_and_batches_when_behind(void **state)
{
	const int64_t t0 = 1000 * SIM_NS_PER_SEC;
	struct sim_rate r;
	uint64_t total = 0;
	int64_t t;

	UNUSED(state);
	sim__rate_init(&r, 20000.0, t0);
	assert_int_equal(sim__rate_take(&r, t0 - 1, 1000), 0);
	assert_int_equal(sim__rate_take(&r, t0, 1000), 1); /* the first is due at once */
	assert_int_equal(sim__rate_next(&r), t0 + 50000);
	/* Woken once a millisecond for a second: exactly 20,000 events in all. */
	for (t = t0 + 1000000; t < t0 + SIM_NS_PER_SEC; t += 1000000)
		total += sim__rate_take(&r, t, 1000);
	total += sim__rate_take(&r, t0 + SIM_NS_PER_SEC - 1, 1000);
	assert_int_equal(total + 1, 20000);
	/* 10 ms late: 200 due, handed out in batches of at most 64. */
	t = t0 + SIM_NS_PER_SEC + 10000000;
	assert_int_equal(sim__rate_take(&r, t, 64), 64);
	assert_int_equal(sim__rate_take(&r, t, 1000), 201 - 64);
	assert_int_equal(sim__rate_take(&r, t, 1000), 0);
}

static void test_rate_schedule_forgets_more_than_a_second_of_debt(void **state)
{
	struct sim_rate r;

	UNUSED(state);
	sim__rate_init(&r, 100.0, 0);
	assert_int_equal(sim__rate_take(&r, 60 * SIM_NS_PER_SEC, 1000000), 101);
	assert_int_equal(sim__rate_take(&r, 60 * SIM_NS_PER_SEC, 1000000), 0);
	assert_int_equal(sim__rate_next(&r), 60 * SIM_NS_PER_SEC + 10000000);
}

static void test_iso8601_is_utc_with_milliseconds(void **state)
{
	char buf[SIM_ISO8601_LEN];

	UNUSED(state);
	assert_int_equal(sim__iso8601(0, buf, sizeof(buf)), RTG_OK);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(sim__iso8601(1731925800123456789LL, buf, sizeof(buf)), RTG_OK);
	assert_string_equal(buf, "2024-11-18T10:30:00.123Z");
	assert_int_equal(sim__iso8601(0, buf, 10), RTG_ERR_INVAL);
	assert_int_equal(sim__iso8601(-1, buf, sizeof(buf)), RTG_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_is_deterministic_for_a_seed),
		cmocka_unit_test(test_rng_differs_between_seeds),
		cmocka_unit_test(test_rng_derive_gives_each_name_and_seed_its_own_stream),
		cmocka_unit_test(test_rng_uniform_and_below_stay_in_range),
		cmocka_unit_test(test_normal_draws_have_mean_zero_and_variance_one),
		cmocka_unit_test(test_walk_without_volatility_follows_s0_exp_mu_t),
		cmocka_unit_test(test_walk_with_a_seed_is_reproducible),
		cmocka_unit_test(test_walk_prices_never_reach_zero),
		cmocka_unit_test(test_walk_bookkeeping_over_a_hand_checked_sequence),
		cmocka_unit_test(test_walk_quote_rounds_before_it_subtracts),
		cmocka_unit_test(test_rate_schedule_keeps_a_fixed_rate_and_batches_when_behind),
		cmocka_unit_test(test_rate_schedule_forgets_more_than_a_second_of_debt),
		cmocka_unit_test(test_iso8601_is_utc_with_milliseconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
