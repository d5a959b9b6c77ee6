/*
 * test_calc.c - unit tests for the calc worker's math (calc.c, calc_credit.c)
 * and its request/update JSON (calc_request.c).
 *
 * Every expected number is worked out by hand in the comment beside it. Each
 * invalid-parameter case is its own test, driven through invalid_helper() as
 * mosquitto's tests drive tables through match_helper(). No MQTT here.
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

#include "calc.h"
#include "calc_request.h"

/* ==== Helpers ================================================================================= */

/* Runs fn on the JSON text params and returns its result; fails the test on an error. */
static cJSON *run_ok(calc_fn fn, const char *params)
{
	cJSON *p = cJSON_Parse(params), *result = NULL;
	char err[256] = "";
	enum rtg_err rc;

	if (!p)
		fail_msg("bad test JSON: %s", params);
	rc = fn(p, &result, err, sizeof(err));
	cJSON_Delete(p);
	if (rc != RTG_OK || !result)
		fail_msg("%s: expected a result, got error %d: %s", params, rc, err);
	return result;
}

/* Runs fn on params (NULL: no parameters at all) and requires RTG_ERR_INVAL with says in it. */
static void invalid_helper(calc_fn fn, const char *params, const char *says)
{
	cJSON *p = params ? cJSON_Parse(params) : NULL, *result = (cJSON *)1;
	char err[256] = "";
	enum rtg_err rc;

	if (params && !p)
		fail_msg("bad test JSON: %s", params);
	rc = fn(p, &result, err, sizeof(err));
	cJSON_Delete(p);
	if (rc != RTG_ERR_INVAL || result)
		fail_msg("%s: expected RTG_ERR_INVAL and no result, got %d", params, rc);
	if (!strstr(err, says))
		fail_msg("%s: error \"%s\" should contain \"%s\"", params, err, says);
}

static double num(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(item))
		fail_msg("no number \"%s\"", name);
	return item->valuedouble;
}

static void near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.10g, expected %.10g (+-%g)", got, want, tol);
}

/* The credit score for a profile; income < 0 leaves income and debt out. */
static double score_of(double history, double util, double age, int accounts, int inquiries)
{
	char params[256];
	cJSON *r;
	double s;

	snprintf(params, sizeof(params),
		"{\"payment_history\":%g,\"credit_utilization\":%g,\"credit_age_years\":%g,"
		"\"num_accounts\":%d,\"recent_inquiries\":%d}",
		history, util, age, accounts, inquiries);
	r = run_ok(calc__credit_score, params);
	s = num(r, "score");
	near(num(r, "risk_score"), 1 - (s - 300) / 550, 1.0 / 1100 + 1e-9); /* f, from the score */
	cJSON_Delete(r);
	return s;
}

/* ==== npv ===================================================================================== */

static void test_npv_of_the_seed_example_is_minus_4733_28(void **state)
{
	cJSON *r = run_ok(calc__npv,
		"{\"cash_flows\":[100000,120000,140000],"
		"\"discount_rate\":0.10,\"initial_investment\":300000}");

	(void)state;
	/* 100000/1.1 = 90909.09, 120000/1.21 = 99173.55, 140000/1.331 = 105184.07;
	 * sum 295266.72; minus 300000 = -4733.28 */
	near(num(r, "npv"), -4733.283245, 1e-5);
	near(num(r, "total_present_value"), 295266.716754, 1e-5);
	near(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "present_values"), 2)->valuedouble,
		105184.072126, 1e-5);
	near(num(r, "profitability_index"), 295266.716754 / 300000, 1e-9); /* 0.98422 */
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "profitable")));
	cJSON_Delete(r);
}

static void test_npv_without_initial_investment_is_the_sum_of_present_values(void **state)
{
	/* 110/1.1 + 121/1.21 = 100 + 100 = 200 */
	cJSON *r = run_ok(calc__npv, "{\"cash_flows\":[110,121],\"discount_rate\":0.1}");

	(void)state;
	near(num(r, "npv"), 200, 1e-9);
	assert_null(cJSON_GetObjectItem(r, "profitability_index"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "profitable")));
	cJSON_Delete(r);
}

static void test_npv_at_a_zero_rate_is_the_plain_sum(void **state)
{
	/* -250 + 100 + 100 + 100 = 50; a negative flow counts as it is */
	cJSON *r = run_ok(calc__npv,
		"{\"cash_flows\":[100,-50,150,50],\"discount_rate\":0,\"initial_investment\":200}");

	(void)state;
	near(num(r, "npv"), 50, 1e-9);
	cJSON_Delete(r);
}

/* ==== irr ===================================================================================== */

static void test_irr_of_three_500s_on_1000_is_23_38_percent(void **state)
{
	/* 500 (1/(1+r) + 1/(1+r)^2 + 1/(1+r)^3) = 1000: the annuity factor is 2 at r = 23.375% */
	cJSON *r = run_ok(calc__irr, "{\"cash_flows\":[-1000,500,500,500]}");

	(void)state;
	near(num(r, "irr"), 0.2337519285, 1e-9);
	near(num(r, "irr_percent"), 23.37519285, 1e-7);
	near(num(r, "npv_at_irr"), 0, 1e-7);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "multiple_irr_possible")));
	cJSON_Delete(r);
}

static void test_irr_takes_the_initial_investment_apart(void **state)
{
	/* 3000 a year for 5 years on 10000: annuity factor 3.3333 at r = 15.238% */
	cJSON *r = run_ok(calc__irr,
		"{\"initial_investment\":10000,\"cash_flows\":[3000,3000,"
		"3000,3000,3000]}");

	(void)state;
	near(num(r, "irr"), 0.1523823712, 1e-9);
	cJSON_Delete(r);
}

static void test_irr_of_flows_changing_sign_twice_is_the_lowest_root_and_flagged(void **state)
{
	/* -100 + 230x - 132x^2 = 0 with x = 1/(1+r): x = (230 +- 10)/264 = 0.90909 or 0.83333,
	 * r = 10% or 20%; the lowest, 10%, is reported */
	cJSON *r = run_ok(calc__irr, "{\"cash_flows\":[-100,230,-132]}");

	(void)state;
	near(num(r, "irr"), 0.10, 1e-9);
	near(num(r, "sign_changes"), 2, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "multiple_irr_possible")));
	cJSON_Delete(r);
}

/* ==== roi ===================================================================================== */

static void test_roi_of_1000_grown_to_1500_is_50_percent(void **state)
{
	/* (1500 - 1000) / 1000 = 0.5 */
	cJSON *r = run_ok(calc__roi, "{\"initial_investment\":1000,\"final_value\":1500}");

	(void)state;
	near(num(r, "roi"), 0.5, 1e-12);
	near(num(r, "roi_percent"), 50, 1e-9);
	near(num(r, "net_gain"), 500, 1e-9);
	assert_null(cJSON_GetObjectItem(r, "annualized_roi"));
	cJSON_Delete(r);
}

static void test_roi_from_gain_and_cost_annualizes_over_years(void **state)
{
	/* (1500 - 1000) / 1000 = 0.5 over 2 years: sqrt(1.5) - 1 = 0.2247449 a year */
	cJSON *r = run_ok(calc__roi, "{\"cost\":1000,\"gain\":1500,\"years\":2}");

	(void)state;
	near(num(r, "roi"), 0.5, 1e-12);
	near(num(r, "annualized_roi"), 0.2247448714, 1e-9);
	cJSON_Delete(r);
}

static void test_roi_of_a_total_loss_is_minus_100_percent(void **state)
{
	/* (0 - 800) / 800 = -1; annualized (1 - 1)^(1/3) - 1 = -1 */
	cJSON *r = run_ok(calc__roi, "{\"cost\":800,\"final_value\":0,\"years\":3}");

	(void)state;
	near(num(r, "roi"), -1, 1e-12);
	near(num(r, "annualized_roi"), -1, 1e-12);
	cJSON_Delete(r);
}

/* ==== payback_period ========================================================================== */

static void test_payback_of_1000_from_300_400_500_is_2_6_years(void **state)
{
	/* cumulative 300, 700, 1200: 300 left after year 2, 300/500 = 0.6 of year 3 */
	cJSON *r = run_ok(
		calc__payback_period, "{\"initial_investment\":1000,\"cash_flows\":[300,400,500]}");

	(void)state;
	near(num(r, "payback_period"), 2.6, 1e-12);
	near(num(r, "payback_years"), 2, 0);
	near(num(r, "payback_months"), 7.2, 1e-9); /* 0.6 * 12 */
	near(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "cumulative_cash_flows"), 2)->valuedouble,
		1200, 0);
	cJSON_Delete(r);
}

static void test_payback_at_a_year_end_is_a_whole_number(void **state)
{
	/* 500 + 500 = 1000 exactly at the end of year 2 */
	cJSON *r = run_ok(calc__payback_period,
		"{\"initial_investment\":1000,\"cash_flows\":[500,"
		"500,500]}");

	(void)state;
	near(num(r, "payback_period"), 2, 1e-12);
	cJSON_Delete(r);
}

static void test_payback_counts_a_negative_year(void **state)
{
	/* cumulative -200, 500, 1200: 500 left after year 2, 500/700 of year 3 = 2.7142857 */
	cJSON *r = run_ok(calc__payback_period,
		"{\"initial_investment\":1000,\"cash_flows\":[-200,700,700]}");

	(void)state;
	near(num(r, "payback_period"), 2 + 500.0 / 700, 1e-12);
	cJSON_Delete(r);
}

/* ==== loan_amortization ======================================================================= */

static void test_loan_of_200000_at_6_percent_over_30_years_pays_1199_10_a_month(void **state)
{
	/* i = 0.005, N = 360: 200000 * 0.005 / (1 - 1.005^-360) = 1000 / 0.833958 = 1199.10;
	 * paid 360 * 1199.101 = 431676.38, interest 231676.38; month 1: interest 1000.00,
	 * principal 199.10, balance 199800.90 */
	cJSON *r = run_ok(calc__loan_amortization,
		"{\"principal\":200000,\"annual_rate\":0.06,\"years\":30}");
	cJSON *rows = cJSON_GetObjectItem(r, "schedule"), *first = cJSON_GetArrayItem(rows, 0);
	cJSON *last = cJSON_GetObjectItem(r, "last_row");

	(void)state;
	near(num(r, "payment"), 1199.1010503, 1e-6);
	near(num(r, "periods"), 360, 0);
	near(num(r, "total_paid"), 431676.378110, 1e-4);
	near(num(r, "total_interest"), 231676.378110, 1e-4);
	assert_int_equal(cJSON_GetArraySize(rows), 12);
	near(num(first, "interest"), 1000, 1e-9);
	near(num(first, "principal"), 199.1010503, 1e-6);
	near(num(first, "balance"), 199800.8989497, 1e-6);
	near(num(last, "period"), 360, 0);
	near(num(last, "balance"), 0, 0);
	near(num(last, "payment"), 1199.1010503, 1e-4); /* the last one only absorbs rounding */
	cJSON_Delete(r);
}

static void test_loan_at_a_zero_rate_divides_the_principal(void **state)
{
	/* 1200 / 12 = 100 a month, no interest */
	cJSON *r = run_ok(
		calc__loan_amortization, "{\"principal\":1200,\"annual_rate\":0,\"months\":12}");

	(void)state;
	near(num(r, "payment"), 100, 1e-12);
	near(num(r, "total_interest"), 0, 1e-9);
	cJSON_Delete(r);
}

static void test_loan_paid_quarterly_uses_the_quarterly_rate(void **state)
{
	/* i = 0.08 / 4 = 0.02, N = 8: 10000 * 0.02 / (1 - 1.02^-8) = 1365.10 */
	cJSON *r = run_ok(calc__loan_amortization,
		"{\"principal\":10000,\"annual_rate\":0.08,"
		"\"years\":2,\"payments_per_year\":4}");

	(void)state;
	near(num(r, "payment"), 1365.0979913, 1e-6);
	near(num(r, "periods"), 8, 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "schedule")), 8);
	cJSON_Delete(r);
}

/* ==== credit_score ============================================================================ */

static void test_credit_score_of_a_perfect_profile_is_850(void **state)
{
	(void)state;
	/* every sub-score 1: 300 + 550 = 850 */
	near(score_of(1, 0.05, 25, 5, 0), 850, 0);
}

static void test_credit_score_of_the_worst_profile_is_300(void **state)
{
	(void)state;
	/* every sub-score 0 (7 inquiries: 1 - 1.05 -> 0): 300 */
	near(score_of(0, 1, 0, 0, 7), 300, 0);
}

static void test_credit_score_of_a_typical_profile_is_694_or_710_with_income(void **state)
{
	/* s: 0.9^2 = 0.81; (1 - 0.3)/0.9 = 0.7778; 5/20 = 0.25; 1; 1 - 0.3 = 0.7.
	 * f = (0.3*0.81 + 0.25*0.7778 + 0.15*0.25 + 0.1*1 + 0.1*0.7) / 0.9 = 0.644944 / 0.9
	 *   = 0.716605; 300 + 550 f = 694.13 -> 694. With debt/income 1500/5000 = 0.3 (s = 1):
	 * f = 0.744944; 300 + 409.72 = 709.72 -> 710 */
	cJSON *r = run_ok(calc__credit_score,
		"{\"payment_history\":0.9,\"credit_utilization\":0.3,\"credit_age_years\":5,"
		"\"num_accounts\":4,\"recent_inquiries\":2,\"income\":5000,\"debt\":1500}");

	(void)state;
	near(score_of(0.9, 0.3, 5, 4, 2), 694, 0);
	near(num(r, "score"), 710, 0);
	near(num(r, "risk_score"), 1 - 0.744944, 1e-5);
	assert_string_equal(cJSON_GetObjectItem(r, "rating")->valuestring, "good");
	assert_string_equal(cJSON_GetObjectItem(r, "risk_level")->valuestring, "moderate");
	cJSON_Delete(r);
}

static void test_credit_score_explains_factors_and_recommends_the_costliest_first(void **state)
{
	/* points lost w(1 - s): age 0.15*0.75 = 0.1125, utilization 0.25*0.2222 = 0.0556,
	 * inquiries 0.1*0.3 = 0.03; payment history (0.81) and accounts (1) score >= 0.8 */
	cJSON *r = run_ok(calc__credit_score,
		"{\"payment_history\":0.9,\"credit_utilization\":0.3,\"credit_age_years\":5,"
		"\"num_accounts\":4,\"recent_inquiries\":2}");
	cJSON *factors = cJSON_GetObjectItem(r, "contributing_factors");
	cJSON *recs = cJSON_GetObjectItem(r, "recommendations"), *f;
	double weights = 0;

	(void)state;
	assert_int_equal(cJSON_GetArraySize(factors), 5);
	cJSON_ArrayForEach(f, factors) {
		assert_non_null(cJSON_GetObjectItem(f, "name"));
		assert_non_null(cJSON_GetObjectItem(f, "description"));
		weights += num(f, "weight");
	}
	near(weights, 1, 1e-12);
	f = cJSON_GetArrayItem(factors, 2); /* credit_age_years */
	assert_string_equal(cJSON_GetObjectItem(f, "impact")->valuestring, "negative");
	assert_string_equal(
		cJSON_GetObjectItem(f, "description")->valuestring, "5.0 years of credit history");
	assert_int_equal(cJSON_GetArraySize(recs), 3);
	assert_non_null(strstr(cJSON_GetArrayItem(recs, 0)->valuestring, "oldest accounts"));
	assert_non_null(strstr(cJSON_GetArrayItem(recs, 1)->valuestring, "utilization"));
	assert_non_null(strstr(cJSON_GetArrayItem(recs, 2)->valuestring, "new credit"));
	cJSON_Delete(r);
}

static void test_credit_score_rises_with_payment_history(void **state)
{
	double prev = 0, s;
	int i;

	(void)state;
	for (i = 0; i <= 10; i++) {
		s = score_of(i / 10.0, 0.3, 5, 4, 2);
		if (i && s <= prev)
			fail_msg("history %.1f scores %g, not above %g", i / 10.0, s, prev);
		prev = s;
	}
}

static void test_credit_score_falls_with_utilization(void **state)
{
	double prev = 851, s;
	int i;

	(void)state;
	near(score_of(0.95, 0, 5, 4, 2), score_of(0.95, 0.1, 5, 4, 2), 0); /* flat up to 10% */
	for (i = 1; i <= 12; i++) {
		s = score_of(0.95, i / 10.0, 5, 4, 2);
		if (s > prev || (i <= 10 && i > 1 && s == prev))
			fail_msg("utilization %.1f scores %g after %g", i / 10.0, s, prev);
		prev = s;
	}
}

static void test_credit_score_stays_between_300_and_850(void **state)
{
	double s;
	int h, u, a, n;

	(void)state;
	for (h = 0; h <= 4; h++)
		for (u = 0; u <= 6; u++)
			for (a = 0; a <= 40; a += 8)
				for (n = 0; n <= 30; n += 6) {
					s = score_of(h / 4.0, u / 4.0, a, n, n / 3);
					if (s < 300 || s > 850 || s != floor(s))
						fail_msg("score %g out of range", s);
				}
}

/* ==== The table of types ====================================================================== */

static void test_calc_find_knows_every_type_and_nothing_else(void **state)
{
	static const char *const names[] = {
		"npv", "irr", "roi", "payback_period", "loan_amortization", "credit_score"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_non_null(calc__find(names[i]));
		assert_string_equal(calc__find(names[i])->name, names[i]);
		assert_non_null(strstr(calc__names(), names[i]));
	}
	assert_null(calc__find("NPV"));
	assert_null(calc__find(""));
	assert_null(calc__find(NULL));
}

/* ==== Invalid parameters, one test each ======================================================= */

#define INVALID(name, fn, params, says)           \
	static void test_##name(void **state)     \
	{                                         \
		(void)state;                      \
		invalid_helper(fn, params, says); \
	}

INVALID(npv_refuses_missing_parameters, calc__npv, NULL, "\"parameters\" must be an object")
INVALID(npv_refuses_parameters_that_are_an_array, calc__npv, "[1,2]", "must be an object")
INVALID(npv_refuses_missing_cash_flows, calc__npv, "{\"discount_rate\":0.1}",
	"\"cash_flows\" is missing")
INVALID(npv_refuses_cash_flows_that_are_not_an_array, calc__npv,
	"{\"cash_flows\":100,\"discount_rate\":0.1}", "\"cash_flows\" must be an array")
INVALID(npv_refuses_empty_cash_flows, calc__npv, "{\"cash_flows\":[],\"discount_rate\":0.1}",
	"\"cash_flows\" must be an array of 1 to")
INVALID(npv_refuses_a_cash_flow_that_is_not_a_number, calc__npv,
	"{\"cash_flows\":[100,\"200\"],\"discount_rate\":0.1}",
	"\"cash_flows\"[1] must be a number")
INVALID(npv_refuses_missing_discount_rate, calc__npv, "{\"cash_flows\":[100]}",
	"\"discount_rate\" is missing")
INVALID(npv_refuses_a_discount_rate_given_as_text, calc__npv,
	"{\"cash_flows\":[100],\"discount_rate\":\"10%\"}", "\"discount_rate\" must be a number")
INVALID(npv_refuses_a_discount_rate_of_minus_100_percent, calc__npv,
	"{\"cash_flows\":[100],\"discount_rate\":-1}", "greater than -1")
INVALID(npv_refuses_a_negative_initial_investment, calc__npv,
	"{\"cash_flows\":[100],\"discount_rate\":0.1,\"initial_investment\":-5}",
	"\"initial_investment\" must not be negative")
INVALID(npv_refuses_an_overflowing_discount, calc__npv,
	"{\"cash_flows\":[1e300,1e300,1e300],\"discount_rate\":-0.999999999}", "overflow")

INVALID(irr_refuses_flows_that_never_change_sign, calc__irr, "{\"cash_flows\":[100,200,300]}",
	"never change sign")
INVALID(irr_refuses_all_zero_flows, calc__irr, "{\"cash_flows\":[0,0,0]}", "never change sign")
INVALID(irr_refuses_a_single_flow, calc__irr, "{\"cash_flows\":[-100]}", "never change sign")
INVALID(irr_refuses_missing_cash_flows, calc__irr, "{\"initial_investment\":100}",
	"\"cash_flows\" is missing")
INVALID(irr_says_when_no_rate_up_to_10000_percent_solves_it, calc__irr,
	"{\"cash_flows\":[-1,1000000]}", "no IRR between -99% and 10000%")

INVALID(roi_refuses_a_zero_cost, calc__roi, "{\"cost\":0,\"gain\":100}",
	"\"cost\" must be greater than 0")
INVALID(roi_refuses_cost_and_initial_investment_together, calc__roi,
	"{\"cost\":10,\"initial_investment\":10,\"gain\":20}", "not both")
INVALID(roi_refuses_a_missing_final_value, calc__roi, "{\"initial_investment\":100}",
	"\"final_value\" (or \"gain\") is missing")
INVALID(roi_refuses_a_negative_final_value, calc__roi,
	"{\"initial_investment\":100,\"final_value\":-1}", "must not be negative")
INVALID(roi_refuses_zero_years, calc__roi, "{\"cost\":100,\"gain\":150,\"years\":0}",
	"\"years\" must be greater than 0")

INVALID(payback_says_when_the_investment_is_never_paid_back, calc__payback_period,
	"{\"initial_investment\":1000,\"cash_flows\":[100,200,300]}",
	"never paid back: the cash flows add up to 600.00 of the 1000.00 invested")
INVALID(payback_refuses_a_zero_investment, calc__payback_period,
	"{\"initial_investment\":0,\"cash_flows\":[100]}", "greater than 0")
INVALID(payback_refuses_a_missing_investment, calc__payback_period, "{\"cash_flows\":[100]}",
	"\"initial_investment\" is missing")
INVALID(payback_refuses_missing_cash_flows, calc__payback_period, "{\"initial_investment\":10}",
	"\"cash_flows\" is missing")

INVALID(loan_refuses_a_zero_principal, calc__loan_amortization,
	"{\"principal\":0,\"annual_rate\":0.05,\"years\":1}",
	"\"principal\" must be greater than 0")
INVALID(loan_refuses_a_negative_rate, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":-0.01,\"years\":1}", "must not be negative")
INVALID(loan_refuses_a_missing_term, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":0.05}", "\"years\" or \"months\"")
INVALID(loan_refuses_years_and_months_together, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":0.05,\"years\":1,\"months\":12}",
	"\"years\" or \"months\"")
INVALID(loan_refuses_a_term_of_a_fraction_of_payments, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":0.05,\"years\":1.3}",
	"whole number of payments (it is 15.6)")
INVALID(loan_refuses_fractional_payments_per_year, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":0.05,\"years\":1,\"payments_per_year\":1.5}",
	"\"payments_per_year\" must be a whole number")
INVALID(loan_refuses_zero_payments_per_year, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":0.05,\"years\":1,\"payments_per_year\":0}", "1..365")
INVALID(loan_refuses_more_than_10000_payments, calc__loan_amortization,
	"{\"principal\":100,\"annual_rate\":0.05,\"years\":1000}", "more than 10000 payments")

INVALID(credit_refuses_a_payment_history_above_1, calc__credit_score,
	"{\"payment_history\":1.5,\"credit_utilization\":0.3,\"credit_age_years\":5,"
	"\"num_accounts\":4,\"recent_inquiries\":2}",
	"\"payment_history\" must be between 0 and 1")
INVALID(credit_refuses_a_missing_utilization, calc__credit_score,
	"{\"payment_history\":0.9,\"credit_age_years\":5,\"num_accounts\":4,\"recent_inquiries\":2}",
	"\"credit_utilization\" is missing")
INVALID(credit_refuses_negative_inquiries, calc__credit_score,
	"{\"payment_history\":0.9,\"credit_utilization\":0.3,\"credit_age_years\":5,"
	"\"num_accounts\":4,\"recent_inquiries\":-1}",
	"\"recent_inquiries\" must be a whole number")
INVALID(credit_refuses_a_fractional_number_of_accounts, calc__credit_score,
	"{\"payment_history\":0.9,\"credit_utilization\":0.3,\"credit_age_years\":5,"
	"\"num_accounts\":2.5,\"recent_inquiries\":0}",
	"\"num_accounts\" must be a whole number")
INVALID(credit_refuses_income_without_debt, calc__credit_score,
	"{\"payment_history\":0.9,\"credit_utilization\":0.3,\"credit_age_years\":5,"
	"\"num_accounts\":4,\"recent_inquiries\":2,\"income\":5000}",
	"\"income\" and \"debt\" together")
INVALID(credit_refuses_a_zero_income, calc__credit_score,
	"{\"payment_history\":0.9,\"credit_utilization\":0.3,\"credit_age_years\":5,"
	"\"num_accounts\":4,\"recent_inquiries\":2,\"income\":0,\"debt\":10}",
	"\"income\" must be greater than 0")

static void test_npv_refuses_more_than_10000_cash_flows(void **state)
{
	cJSON *params = cJSON_CreateObject(), *flows = cJSON_AddArrayToObject(params, "cash_flows");
	cJSON *result = NULL;
	char err[128];
	int i;

	(void)state;
	for (i = 0; i <= CALC_MAX_FLOWS; i++)
		cJSON_AddItemToArray(flows, cJSON_CreateNumber(1));
	cJSON_AddNumberToObject(params, "discount_rate", 0.1);
	assert_int_equal(calc__npv(params, &result, err, sizeof(err)), RTG_ERR_INVAL);
	assert_null(result);
	assert_non_null(strstr(err, "array of 1 to 10000 numbers"));
	cJSON_Delete(params);
}

/* ==== Requests and updates (calc_request.c) =================================================== */

static void parse_helper(
	const char *topic, const char *body, enum rtg_err want, struct calc_request *rq)
{
	enum rtg_err rc = calc__request_parse(rq, topic, body, strlen(body));

	if (rc != want)
		fail_msg("%s %s: got %d (%s), expected %d", topic, body, rc, rq->why, want);
}

static void test_request_is_answered_on_the_progress_topic_of_its_level(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/alice~c1/request",
		"{\"type\":\"calculate\",\"calculation_type\":\"npv\",\"parameters\":{}}", RTG_OK,
		&rq);
	assert_string_equal(rq.progress_topic, "calc/alice~c1/progress");
	assert_string_equal(rq.user, "alice");
	assert_string_equal(rq.id, "c1");
	assert_string_equal(rq.kind->name, "npv");
	calc__request_cleanup(&rq);
}

static void test_request_echoes_the_ids_of_its_body(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/c42/request",
		"{\"calculation_id\":\"x9\",\"user_id\":\"bob\",\"calculation_type\":\"roi\"}",
		RTG_OK, &rq);
	assert_string_equal(rq.progress_topic, "calc/c42/progress");
	assert_string_equal(rq.id, "x9");
	assert_string_equal(rq.user, "bob");
	assert_null(rq.params);
	calc__request_cleanup(&rq);
}

static void test_request_that_is_not_json_can_still_be_answered(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/alice~c2/request", "not json {", RTG_ERR_INVAL, &rq);
	assert_string_equal(rq.why, "the request is not a JSON object");
	assert_string_equal(rq.progress_topic, "calc/alice~c2/progress");
	assert_string_equal(rq.id, "c2");
	calc__request_cleanup(&rq);
}

static void test_request_without_calculation_type_is_refused(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/a~b/request", "{\"type\":\"calculate\"}", RTG_ERR_INVAL, &rq);
	assert_string_equal(rq.why, "the request has no \"calculation_type\"");
	calc__request_cleanup(&rq);
}

static void test_request_of_an_unknown_type_names_the_known_ones(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/a~b/request", "{\"calculation_type\":\"magic\"}", RTG_ERR_INVAL, &rq);
	assert_non_null(strstr(rq.why, "unknown calculation_type \"magic\" (known: npv, irr"));
	calc__request_cleanup(&rq);
}

static void test_request_with_parameters_that_are_not_an_object_is_refused(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/a~b/request", "{\"calculation_type\":\"npv\",\"parameters\":[1]}",
		RTG_ERR_INVAL, &rq);
	assert_string_equal(rq.why, "\"parameters\" must be an object");
	calc__request_cleanup(&rq);
}

static void test_request_of_another_type_is_refused(void **state)
{
	struct calc_request rq;

	(void)state;
	parse_helper("calc/a~b/request", "{\"type\":\"ping\",\"calculation_type\":\"npv\"}",
		RTG_ERR_INVAL, &rq);
	assert_non_null(strstr(rq.why, "is not \"calculate\""));
	calc__request_cleanup(&rq);
}

static void test_request_on_another_topic_has_nowhere_to_answer(void **state)
{
	static const char *const topics[] = {"calc/a~b/progress", "calc//request",
		"calc/a/b/request", "user/a/request", "calc/a~b/request/x"};
	struct calc_request rq;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		parse_helper(topics[i], "{\"calculation_type\":\"npv\"}", RTG_ERR_INVAL, &rq);
		if (rq.progress_topic)
			fail_msg("%s should have no progress topic", topics[i]);
		calc__request_cleanup(&rq);
	}
}

static void test_update_carries_every_field_and_null_for_what_is_unknown(void **state)
{
	struct calc_request rq;
	cJSON *u;
	const char *ts;

	(void)state;
	parse_helper("calc/solo/request", "[]", RTG_ERR_INVAL, &rq);
	u = calc__update_new(&rq, "failed", 0, "nope", "w1");
	assert_non_null(u);
	assert_string_equal(cJSON_GetObjectItem(u, "type")->valuestring, "calculation_update");
	assert_string_equal(cJSON_GetObjectItem(u, "calculation_id")->valuestring, "solo");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u, "calculation_type")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u, "user_id")));
	assert_string_equal(cJSON_GetObjectItem(u, "status")->valuestring, "failed");
	near(num(u, "progress"), 0, 0);
	assert_string_equal(cJSON_GetObjectItem(u, "message")->valuestring, "nope");
	assert_string_equal(cJSON_GetObjectItem(u, "worker")->valuestring, "w1");
	ts = cJSON_GetObjectItem(u, "timestamp")->valuestring;
	assert_int_equal(strlen(ts), strlen("2025-01-01T00:00:00.000Z"));
	assert_int_equal(ts[strlen(ts) - 1], 'Z');
	cJSON_Delete(u);
	calc__request_cleanup(&rq);
}

/* ==== main ==================================================================================== */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_npv_of_the_seed_example_is_minus_4733_28),
		cmocka_unit_test(test_npv_without_initial_investment_is_the_sum_of_present_values),
		cmocka_unit_test(test_npv_at_a_zero_rate_is_the_plain_sum),
		cmocka_unit_test(test_irr_of_three_500s_on_1000_is_23_38_percent),
		cmocka_unit_test(test_irr_takes_the_initial_investment_apart),
		cmocka_unit_test(
			test_irr_of_flows_changing_sign_twice_is_the_lowest_root_and_flagged),
		cmocka_unit_test(test_roi_of_1000_grown_to_1500_is_50_percent),
		cmocka_unit_test(test_roi_from_gain_and_cost_annualizes_over_years),
		cmocka_unit_test(test_roi_of_a_total_loss_is_minus_100_percent),
		cmocka_unit_test(test_payback_of_1000_from_300_400_500_is_2_6_years),
		cmocka_unit_test(test_payback_at_a_year_end_is_a_whole_number),
		cmocka_unit_test(test_payback_counts_a_negative_year),
		cmocka_unit_test(
			test_loan_of_200000_at_6_percent_over_30_years_pays_1199_10_a_month),
		cmocka_unit_test(test_loan_at_a_zero_rate_divides_the_principal),
		cmocka_unit_test(test_loan_paid_quarterly_uses_the_quarterly_rate),
		cmocka_unit_test(test_credit_score_of_a_perfect_profile_is_850),
		cmocka_unit_test(test_credit_score_of_the_worst_profile_is_300),
		cmocka_unit_test(test_credit_score_of_a_typical_profile_is_694_or_710_with_income),
		cmocka_unit_test(
			test_credit_score_explains_factors_and_recommends_the_costliest_first),
		cmocka_unit_test(test_credit_score_rises_with_payment_history),
		cmocka_unit_test(test_credit_score_falls_with_utilization),
		cmocka_unit_test(test_credit_score_stays_between_300_and_850),
		cmocka_unit_test(test_calc_find_knows_every_type_and_nothing_else),
		cmocka_unit_test(test_npv_refuses_missing_parameters),
		cmocka_unit_test(test_npv_refuses_parameters_that_are_an_array),
		cmocka_unit_test(test_npv_refuses_missing_cash_flows),
		cmocka_unit_test(test_npv_refuses_cash_flows_that_are_not_an_array),
		cmocka_unit_test(test_npv_refuses_empty_cash_flows),
		cmocka_unit_test(test_npv_refuses_a_cash_flow_that_is_not_a_number),
		cmocka_unit_test(test_npv_refuses_missing_discount_rate),
		cmocka_unit_test(test_npv_refuses_a_discount_rate_given_as_text),
		cmocka_unit_test(test_npv_refuses_a_discount_rate_of_minus_100_percent),
		cmocka_unit_test(test_npv_refuses_a_negative_initial_investment),
		cmocka_unit_test(test_npv_refuses_an_overflowing_discount),
		cmocka_unit_test(test_npv_refuses_more_than_10000_cash_flows),
		cmocka_unit_test(test_irr_refuses_flows_that_never_change_sign),
		cmocka_unit_test(test_irr_refuses_all_zero_flows),
		cmocka_unit_test(test_irr_refuses_a_single_flow),
		cmocka_unit_test(test_irr_refuses_missing_cash_flows),
		cmocka_unit_test(test_irr_says_when_no_rate_up_to_10000_percent_solves_it),
		cmocka_unit_test(test_roi_refuses_a_zero_cost),
		cmocka_unit_test(test_roi_refuses_cost_and_initial_investment_together),
		cmocka_unit_test(test_roi_refuses_a_missing_final_value),
		cmocka_unit_test(test_roi_refuses_a_negative_final_value),
		cmocka_unit_test(test_roi_refuses_zero_years),
		cmocka_unit_test(test_payback_says_when_the_investment_is_never_paid_back),
		cmocka_unit_test(test_payback_refuses_a_zero_investment),
		cmocka_unit_test(test_payback_refuses_a_missing_investment),
		cmocka_unit_test(test_payback_refuses_missing_cash_flows),
		cmocka_unit_test(test_loan_refuses_a_zero_principal),
		cmocka_unit_test(test_loan_refuses_a_negative_rate),
		cmocka_unit_test(test_loan_refuses_a_missing_term),
		cmocka_unit_test(test_loan_refuses_years_and_months_together),
		cmocka_unit_test(test_loan_refuses_a_term_of_a_fraction_of_payments),
		cmocka_unit_test(test_loan_refuses_fractional_payments_per_year),
		cmocka_unit_test(test_loan_refuses_zero_payments_per_year),
		cmocka_unit_test(test_loan_refuses_more_than_10000_payments),
		cmocka_unit_test(test_credit_refuses_a_payment_history_above_1),
		cmocka_unit_test(test_credit_refuses_a_missing_utilization),
		cmocka_unit_test(test_credit_refuses_negative_inquiries),
		cmocka_unit_test(test_credit_refuses_a_fractional_number_of_accounts),
		cmocka_unit_test(test_credit_refuses_income_without_debt),
		cmocka_unit_test(test_credit_refuses_a_zero_income),
		cmocka_unit_test(test_request_is_answered_on_the_progress_topic_of_its_level),
		cmocka_unit_test(test_request_echoes_the_ids_of_its_body),
		cmocka_unit_test(test_request_that_is_not_json_can_still_be_answered),
		cmocka_unit_test(test_request_without_calculation_type_is_refused),
		cmocka_unit_test(test_request_of_an_unknown_type_names_the_known_ones),
		cmocka_unit_test(test_request_with_parameters_that_are_not_an_object_is_refused),
		cmocka_unit_test(test_request_of_another_type_is_refused),
		cmocka_unit_test(test_request_on_another_topic_has_nowhere_to_answer),
		cmocka_unit_test(test_update_carries_every_field_and_null_for_what_is_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
