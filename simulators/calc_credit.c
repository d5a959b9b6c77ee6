/*
 * calc_credit.c - calc__credit_score(): a documented weighted credit model
 * (score 300-850, risk score, contributing factors, recommendations), the
 * shape of seed 000's credit analysis. Kept apart from calc.c, which holds
 * the cash-flow calculations and the parameter helpers used here
 * (calc_int.h). Pure: no MQTT, no I/O; callable from any thread.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "calc.h"
#include "calc_int.h"

/* ==== credit_score ============================================================================ */

enum factor { F_PAYMENT, F_UTILIZATION, F_AGE, F_ACCOUNTS, F_INQUIRIES, F_DTI, F__COUNT };

/* Each factor: input, weight, bound, a description (value * scale, unit, label), advice. */
static const struct {
	const char *name;
	double weight;
	enum calc_bound bound;
	double scale;
	int decimals;
	const char *unit;
	const char *label;
	const char *advice;
} FACTORS[F__COUNT] = {
	{"payment_history", 0.30, CALC_B_FRACTION, 100, 0, "%", "of payments made on time",
		"Pay every bill on time (automatic payments help): payment history weighs most."},
	{"credit_utilization", 0.25, CALC_B_NON_NEGATIVE, 100, 0, "%", "of available credit in use",
		"Bring credit utilization under 30%, ideally under 10%, by paying down balances."},
	{"credit_age_years", 0.15, CALC_B_NON_NEGATIVE, 1, 1, " years", "of credit history",
		"Keep your oldest accounts open: a longer credit history raises the score."},
	{"num_accounts", 0.10, CALC_B_COUNT, 1, 0, "", "open credit accounts",
		"Aim for three to ten well-managed accounts: a healthy mix, not too many."},
	{"recent_inquiries", 0.10, CALC_B_COUNT, 1, 0, "", "recent credit inquiries",
		"Apply for new credit sparingly: each inquiry weighs on the score for about a year."},
	{"debt_to_income", 0.10, CALC_B_ANY, 100, 0, "%", "debt-to-income ratio",
		"Pay debt down below 36% of income before taking on new credit."},
};

/* The sub-score s in [0, 1] of factor f for input v: the formulas above calc__credit_score(). */
static double factor_score(enum factor f, double v)
{
	switch (f) {
	case F_PAYMENT:
		return v * v;
	case F_UTILIZATION:
		return v <= 0.1 ? 1 : fmax(0, (1 - v) / 0.9);
	case F_AGE:
		return fmin(v / 20, 1);
	case F_ACCOUNTS:
		return v < 3 ? v / 3 : v <= 10 ? 1 : fmax(0.6, 1 - 0.04 * (v - 10));
	case F_INQUIRIES:
		return fmax(0, 1 - 0.15 * v);
	default:
		return fmin(1, fmax(0, (0.6 - v) / 0.24));
	}
}

static const char *impact_of(double s)
{
	if (s >= 0.8)
		return "positive";
	return s >= 0.5 ? "neutral" : "negative";
}

/* FICO's published bands. */
static const char *rating_of(double score)
{
	if (score >= 800)
		return "exceptional";
	if (score >= 740)
		return "very good";
	if (score >= 670)
		return "good";
	return score >= 580 ? "fair" : "poor";
}

static const char *risk_level_of(double risk)
{
	if (risk <= 0.2)
		return "low";
	if (risk <= 0.4)
		return "moderate";
	return risk <= 0.6 ? "high" : "very high";
}

/* Adds contributing_factors (name, value, score, weight among those used, impact, text). */
static bool add_factors(cJSON *obj, const double *v, const double *s, int n, double wsum)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "contributing_factors"), *f;
	char text[128];
	int k;

	for (k = 0; arr && k < n; k++) {
		snprintf(text, sizeof(text), "%.*f%s %s", FACTORS[k].decimals,
			v[k] * FACTORS[k].scale, FACTORS[k].unit, FACTORS[k].label);
		f = cJSON_CreateObject();
		if (!cJSON_AddStringToObject(f, "name", FACTORS[k].name) ||
			!calc__add_nums(f,
				(const struct calc_num[]){{"value", v[k]}, {"score", s[k]},
					{"weight", FACTORS[k].weight / wsum}, {NULL, 0}}) ||
			!cJSON_AddStringToObject(f, "impact", impact_of(s[k])) ||
			!cJSON_AddStringToObject(f, "description", text) ||
			!cJSON_AddItemToArray(arr, f)) {
			cJSON_Delete(f);
			return false;
		}
	}
	return arr != NULL;
}

static bool add_string(cJSON *arr, const char *text)
{
	cJSON *item = cJSON_CreateString(text);

	if (arr && item && cJSON_AddItemToArray(arr, item))
		return true;
	cJSON_Delete(item);
	return false;
}

/* Adds recommendations: the advice of each factor scoring below 0.8, most points lost first. */
static bool add_advice(cJSON *obj, const double *s, int n)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "recommendations");
	bool done[F__COUNT] = {false};
	int k, best, given = 0;

	for (;;) {
		best = -1;
		for (k = 0; k < n; k++) {
			if (!done[k] && s[k] < 0.8 &&
				(best < 0 ||
					FACTORS[k].weight * (1 - s[k]) >
						FACTORS[best].weight * (1 - s[best])))
				best = k;
		}
		if (best < 0)
			break;
		done[best] = true;
		if (!add_string(arr, FACTORS[best].advice))
			return false;
		given++;
	}
	return given || add_string(arr, "Keep it up: every factor is strong.");
}

/*
 * credit_score: a documented weighted model in the spirit of the published
 * FICO weights (not FICO's formula). Each factor gets a sub-score s in [0, 1]:
 *
 *   payment_history     h: share paid on time, 0..1   w 0.30   s = h^2 (misses hurt most)
 *   credit_utilization  u >= 0 (above 1: over limit)   w 0.25   s = 1 up to u = 0.1, then
 *                                                                 max(0, (1 - u) / 0.9)
 *   credit_age_years    a >= 0                         w 0.15   s = min(a / 20, 1)
 *   num_accounts        n, whole                       w 0.10   s = n / 3 below 3, 1 for 3..10,
 *                                                                 then max(0.6, 1 - 0.04 (n - 10))
 *   recent_inquiries    q, whole                       w 0.10   s = max(0, 1 - 0.15 q)
 *   debt_to_income      d = "debt" / "income" (both    w 0.10   s = 1 up to d = 0.36, 0 from
 *                       optional, same period)                   d = 0.6, linear between
 *
 *   f = sum(w s) / sum(w) over the factors given;  score = round(300 + 550 f)  (300..850);
 *   risk_score = 1 - f  (0 lowest risk, 1 highest); rating and risk_level are bands of them.
 *
 * A factor's impact is positive for s >= 0.8, neutral for s >= 0.5, else
 * negative; each factor below 0.8 adds its advice, most points lost first.
 */
enum rtg_err calc__credit_score(const cJSON *params, cJSON **result, char *err, size_t errlen)
{
	struct calc_in in = {params, err, errlen, RTG_OK};
	double v[F__COUNT] = {0}, s[F__COUNT], wsum = 0, f = 0, income = 0, debt = 0, sc;
	bool has_income = false, has_debt, ok = calc__start(&in, result);
	cJSON *obj = NULL;
	int k, n;

	for (k = 0; ok && k < F_DTI; k++)
		ok = calc__get_number(&in, FACTORS[k].name, FACTORS[k].bound, &v[k], NULL);
	if (ok && calc__get_number(&in, "income", CALC_B_POSITIVE, &income, &has_income) &&
		calc__get_number(&in, "debt", CALC_B_NON_NEGATIVE, &debt, &has_debt) &&
		(has_income == has_debt ||
			calc__bad(&in, "give \"income\" and \"debt\" together"))) {
		v[F_DTI] = has_income ? debt / income : 0;
		n = has_income ? F__COUNT : F_DTI;
		for (k = 0; k < n; k++) {
			s[k] = factor_score((enum factor)k, v[k]);
			wsum += FACTORS[k].weight;
			f += FACTORS[k].weight * s[k];
		}
		f /= wsum;
		sc = round(300 + 550 * f);
		obj = cJSON_CreateObject();
		ok = calc__add_nums(obj,
			     (const struct calc_num[]){
				     {"score", sc}, {"risk_score", 1 - f}, {NULL, 0}}) &&
			cJSON_AddStringToObject(obj, "rating", rating_of(sc)) &&
			cJSON_AddStringToObject(obj, "risk_level", risk_level_of(1 - f)) &&
			add_factors(obj, v, s, n, wsum) && add_advice(obj, s, n);
	}
	return calc__finish(&in, obj, ok, result);
}
