/*
 * calc.c - the cash-flow calculations of calc.h (npv, irr, roi,
 * payback_period, loan_amortization), the table of calculation types, and
 * the parameter helpers of calc_int.h that calc_credit.c shares.
 *
 * Every function checks its parameters first (present, numbers, finite, in
 * range) and says which one is wrong; then it computes with doubles and builds
 * a new result object. Nothing here rounds money: clients format. No MQTT, no
 * I/O, no globals that change: callable from any thread.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc.h"
#include "calc_int.h"

/* ==== Parameters ============================================================================== */

bool calc__bad(struct calc_in *in, const char *fmt, ...)
{
	va_list ap;

	in->rc = RTG_ERR_INVAL;
	if (in->err && in->errlen) {
		va_start(ap, fmt);
		vsnprintf(in->err, in->errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

bool calc__start(struct calc_in *in, cJSON **result)
{
	*result = NULL;
	if (in->err && in->errlen)
		in->err[0] = '\0';
	return cJSON_IsObject(in->params) || calc__bad(in, "\"parameters\" must be an object");
}

enum rtg_err calc__finish(struct calc_in *in, cJSON *obj, bool ok, cJSON **result)
{
	if (in->rc == RTG_OK && obj && ok) {
		*result = obj;
		return RTG_OK;
	}
	cJSON_Delete(obj);
	if (in->rc == RTG_OK) {
		in->rc = RTG_ERR_NOMEM;
		if (in->err && in->errlen)
			snprintf(in->err, in->errlen, "out of memory");
	}
	return in->rc;
}

static bool check_bound(struct calc_in *in, const char *name, double v, enum calc_bound b)
{
	static const char *const says[] = {
		[CALC_B_NON_NEGATIVE] = "must not be negative",
		[CALC_B_POSITIVE] = "must be greater than 0",
		[CALC_B_RATE] = "must be greater than -1 (-100%)",
		[CALC_B_FRACTION] = "must be between 0 and 1",
		[CALC_B_COUNT] = "must be a whole number, not negative",
	};
	bool ok = b == CALC_B_ANY || (b == CALC_B_NON_NEGATIVE && v >= 0) ||
		(b == CALC_B_POSITIVE && v > 0) || (b == CALC_B_RATE && v > -1) ||
		(b == CALC_B_FRACTION && v >= 0 && v <= 1) ||
		(b == CALC_B_COUNT && v >= 0 && v == floor(v));

	return ok || calc__bad(in, "\"%s\" %s", name, says[b]);
}

bool calc__get_number(
	struct calc_in *in, const char *name, enum calc_bound b, double *out, bool *present)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(in->params, name);

	if (present)
		*present = false;
	if (!item || cJSON_IsNull(item))
		return present || calc__bad(in, "\"%s\" is missing", name);
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
		return calc__bad(in, "\"%s\" must be a number", name);
	if (!check_bound(in, name, item->valuedouble, b))
		return false;
	*out = item->valuedouble;
	if (present)
		*present = true;
	return true;
}

/* Reads one number given under either of two names (not both). */
static bool get_either(
	struct calc_in *in, const char *a, const char *b, enum calc_bound bnd, double *out)
{
	bool has_a, has_b;

	if (!calc__get_number(in, a, bnd, out, &has_a) ||
		!calc__get_number(in, b, bnd, out, &has_b))
		return false;
	if (has_a && has_b)
		return calc__bad(in, "give \"%s\" or \"%s\", not both", a, b);
	return has_a || has_b || calc__bad(in, "\"%s\" (or \"%s\") is missing", a, b);
}

/*
 * Reads params[name] as 1..CALC_MAX_FLOWS finite numbers into a new array of
 * *n doubles with room for one more (irr prepends a flow). The caller
 * free()s *flows whatever the outcome.
 */
static bool get_flows(struct calc_in *in, const char *name, double **flows, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(in->params, name), *item;
	int count = cJSON_GetArraySize(arr);

	*flows = NULL;
	*n = 0;
	if (!arr || cJSON_IsNull(arr))
		return calc__bad(in, "\"%s\" is missing", name);
	if (!cJSON_IsArray(arr) || count == 0 || count > CALC_MAX_FLOWS)
		return calc__bad(
			in, "\"%s\" must be an array of 1 to %d numbers", name, CALC_MAX_FLOWS);
	*flows = calloc((size_t)count + 1, sizeof(**flows));
	if (!*flows)
		return false; /* calc__finish() says out of memory */
	cJSON_ArrayForEach(item, arr) {
		if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
			return calc__bad(in, "\"%s\"[%zu] must be a number", name, *n);
		(*flows)[(*n)++] = item->valuedouble;
	}
	return true;
}

bool calc__add_nums(cJSON *obj, const struct calc_num *nums)
{
	for (; obj && nums->name; nums++) {
		if (!cJSON_AddNumberToObject(obj, nums->name, nums->v))
			return false;
	}
	return obj != NULL;
}

static bool add_array(cJSON *obj, const char *name, const double *v, size_t n)
{
	cJSON *arr = cJSON_CreateDoubleArray(v, (int)n);

	if (arr && cJSON_AddItemToObject(obj, name, arr))
		return true;
	cJSON_Delete(arr);
	return false;
}

/* ==== npv, irr ================================================================================ */

/*
 * npv: net present value of cash flows at the end of years 1..n.
 *
 *   NPV = -I + sum_{t=1..n} CF_t / (1 + r)^t
 *
 * r = "discount_rate" (a fraction, > -1), CF = "cash_flows" (any sign),
 * I = "initial_investment" (optional, >= 0, default 0). Also reports each
 * present value, their total and, when I > 0, the profitability index PV / I.
 */
enum rtg_err calc__npv(const cJSON *params, cJSON **result, char *err, size_t errlen)
{
	struct calc_in in = {params, err, errlen, RTG_OK};
	double rate, inv = 0, pv = 0, *flows = NULL;
	size_t t, n = 0;
	cJSON *obj = NULL;
	bool has_inv, ok = false;

	if (calc__start(&in, result) && get_flows(&in, "cash_flows", &flows, &n) &&
		calc__get_number(&in, "discount_rate", CALC_B_RATE, &rate, NULL) &&
		calc__get_number(&in, "initial_investment", CALC_B_NON_NEGATIVE, &inv, &has_inv)) {
		for (t = 0; t < n; t++) {
			flows[t] /= pow(1 + rate, (double)(t + 1)); /* now the present value */
			pv += flows[t];
		}
		if (isfinite(pv))
			obj = cJSON_CreateObject();
		else
			calc__bad(&in, "the present values overflow at this \"discount_rate\"");
		ok = calc__add_nums(obj,
			     (const struct calc_num[]){{"npv", pv - inv},
				     {"total_present_value", pv}, {"discount_rate", rate},
				     {"initial_investment", inv}, {NULL, 0}}) &&
			add_array(obj, "present_values", flows, n) &&
			(inv <= 0 ||
				cJSON_AddNumberToObject(obj, "profitability_index", pv / inv)) &&
			cJSON_AddBoolToObject(obj, "profitable", pv - inv > 0);
	}
	free(flows);
	return calc__finish(&in, obj, ok, result);
}

/* NPV of flows[t] at t = 0..n-1 at rate r, and its derivative sum -t CF_t / (1 + r)^(t+1). */
static double npv_at(const double *flows, size_t n, double r, double *deriv)
{
	double v = 0, d = 0, f = 1 / (1 + r), disc = 1;
	size_t t;

	for (t = 0; t < n; t++) {
		v += flows[t] * disc;
		d -= (double)t * flows[t] * disc * f;
		disc *= f;
	}
	if (deriv)
		*deriv = d;
	return v;
}

/*
 * Finds the lowest bracket [lo, hi] where the NPV changes sign, scanning
 * ln(1 + r) evenly from r = -99% to r = 10000%. Returns false if none.
 */
static bool bracket(const double *flows, size_t n, double *lo, double *hi)
{
	double x, r, v, prev_r = 0, prev_v = NAN;

	for (x = log(0.01); x <= log(101.0) + 1e-9; x += 0.05) {
		r = expm1(x);
		v = npv_at(flows, n, r, NULL);
		if (!isfinite(v)) /* (1 + r)^-t overflowed: too close to -100% for these flows */
			continue;
		if (v == 0 || (isfinite(prev_v) && (v < 0) != (prev_v < 0))) {
			*lo = v == 0 ? r : prev_r;
			*hi = r;
			return true;
		}
		prev_r = r;
		prev_v = v;
	}
	return false;
}

/*
 * Safeguarded Newton (rtsafe): a Newton step when it lands inside the
 * bracket, else bisection; the bracket shrinks at every step.
 */
static double refine(const double *flows, size_t n, double lo, double hi)
{
	double flo = npv_at(flows, n, lo, NULL), r = (lo + hi) / 2, f, d, next;
	int i;

	if (flo == 0)
		return lo;
	for (i = 0; i < 200; i++) {
		f = npv_at(flows, n, r, &d);
		if (f == 0)
			break;
		if ((f < 0) == (flo < 0)) {
			lo = r;
			flo = f;
		} else {
			hi = r;
		}
		next = r - f / d;
		if (!(next > lo && next < hi)) /* also catches d == 0 and NaN */
			next = (lo + hi) / 2;
		if (fabs(next - r) <= 1e-13 * (1 + fabs(r)))
			return next;
		r = next;
	}
	return r;
}

/* Counts the sign changes in flows, zeros skipped. */
static size_t sign_changes(const double *flows, size_t n)
{
	size_t t, changes = 0;
	int last = 0, sign;

	for (t = 0; t < n; t++) {
		sign = (flows[t] > 0) - (flows[t] < 0);
		changes += sign && last && sign != last;
		last = sign ? sign : last;
	}
	return changes;
}

/*
 * irr: internal rate of return, the r with
 *
 *   sum_{t=0..n-1} CF_t / (1 + r)^t = 0
 *
 * CF = "cash_flows" from t = 0 (the investment is the negative first flow),
 * or [-I, cash_flows...] when "initial_investment" I (>= 0) is given. The
 * flows must change sign, else no IRR exists. With several sign changes
 * several rates may solve it (Descartes): the lowest between -99% and 10000%
 * is reported, and flagged.
 */
enum rtg_err calc__irr(const cJSON *params, cJSON **result, char *err, size_t errlen)
{
	struct calc_in in = {params, err, errlen, RTG_OK};
	double inv = 0, lo = 0, hi = 0, r, *flows = NULL;
	size_t n = 0, changes = 0;
	cJSON *obj = NULL;
	bool has_inv, ok = false;

	if (calc__start(&in, result) && get_flows(&in, "cash_flows", &flows, &n) &&
		calc__get_number(&in, "initial_investment", CALC_B_NON_NEGATIVE, &inv, &has_inv)) {
		if (has_inv) {
			memmove(flows + 1, flows, n++ * sizeof(*flows));
			flows[0] = -inv;
		}
		changes = sign_changes(flows, n);
		if (!changes)
			calc__bad(&in,
				"the cash flows never change sign, so no IRR exists "
				"(the investment must be a negative flow)");
		else if (!bracket(flows, n, &lo, &hi))
			calc__bad(&in, "no IRR between -99%% and 10000%% for these cash flows");
		else
			obj = cJSON_CreateObject();
		r = obj ? refine(flows, n, lo, hi) : 0;
		ok = calc__add_nums(obj,
			     (const struct calc_num[]){{"irr", r}, {"irr_percent", r * 100},
				     {"npv_at_irr", npv_at(flows, n, r, NULL)},
				     {"sign_changes", (double)changes}, {NULL, 0}}) &&
			cJSON_AddBoolToObject(obj, "multiple_irr_possible", changes > 1);
	}
	free(flows);
	return calc__finish(&in, obj, ok, result);
}

/* ==== roi, payback_period ===================================================================== */

/*
 * roi: return on investment.
 *
 *   ROI = (V - C) / C            annualized: (1 + ROI)^(1 / years) - 1
 *
 * C, what the investment cost, is "initial_investment" or "cost" (> 0); V,
 * what it returned in all, is "final_value" or "gain" (>= 0). With "years"
 * (> 0) the compound annual rate is added.
 */
enum rtg_err calc__roi(const cJSON *params, cJSON **result, char *err, size_t errlen)
{
	struct calc_in in = {params, err, errlen, RTG_OK};
	double cost, value, years = 1, roi = 0, annual;
	cJSON *obj = NULL;
	bool has_years, ok = false;

	if (calc__start(&in, result) &&
		get_either(&in, "initial_investment", "cost", CALC_B_POSITIVE, &cost) &&
		get_either(&in, "final_value", "gain", CALC_B_NON_NEGATIVE, &value) &&
		calc__get_number(&in, "years", CALC_B_POSITIVE, &years, &has_years)) {
		roi = (value - cost) / cost;
		annual = pow(1 + roi, 1 / years) - 1;
		obj = cJSON_CreateObject();
		ok = calc__add_nums(obj,
			     (const struct calc_num[]){{"roi", roi}, {"roi_percent", roi * 100},
				     {"net_gain", value - cost}, {"cost", cost},
				     {"final_value", value}, {NULL, 0}}) &&
			(!has_years ||
				calc__add_nums(obj,
					(const struct calc_num[]){{"years", years},
						{"annualized_roi", annual},
						{"annualized_roi_percent", annual * 100},
						{NULL, 0}}));
	}
	return calc__finish(&in, obj, ok, result);
}

/*
 * payback_period: years until the cash flows (at the end of years 1..n) have
 * repaid "initial_investment" I (> 0), interpolated within the year:
 *
 *   C_t = CF_1 + ... + CF_t;  T = the first t with C_t >= I;
 *   payback = (T - 1) + (I - C_{T-1}) / CF_T
 *
 * e.g. I = 1000, CF = 300, 400, 500: C = 300, 700, 1200; T = 3; 2 + 300/500 = 2.6.
 * If C never reaches I the investment is never paid back: an error saying so.
 */
enum rtg_err calc__payback_period(const cJSON *params, cJSON **result, char *err, size_t errlen)
{
	struct calc_in in = {params, err, errlen, RTG_OK};
	double inv, c = 0, payback = -1, *flows = NULL;
	size_t t, n = 0;
	cJSON *obj = NULL;
	bool ok = false;

	if (calc__start(&in, result) &&
		calc__get_number(&in, "initial_investment", CALC_B_POSITIVE, &inv, NULL) &&
		get_flows(&in, "cash_flows", &flows, &n)) {
		for (t = 0; t < n; t++) {
			if (payback < 0 && c + flows[t] >= inv) /* then c < inv, so flows[t] > 0 */
				payback = (double)t + (inv - c) / flows[t];
			c += flows[t];
			flows[t] = c; /* now the cumulative cash flow C_t */
		}
		if (payback >= 0)
			obj = cJSON_CreateObject();
		else
			calc__bad(&in,
				"never paid back: the cash flows add up to %.2f of the %.2f invested",
				c, inv);
		ok = calc__add_nums(obj,
			     (const struct calc_num[]){{"payback_period", payback},
				     {"payback_years", floor(payback)},
				     {"payback_months", (payback - floor(payback)) * 12},
				     {"initial_investment", inv}, {NULL, 0}}) &&
			add_array(obj, "cumulative_cash_flows", flows, n);
	}
	free(flows);
	return calc__finish(&in, obj, ok, result);
}

/* ==== loan_amortization ======================================================================= */

/* Adds one schedule row: appended to the array dst, or as member name of the object dst. */
static bool add_row(cJSON *dst, const char *name, size_t period, double payment, double principal,
	double interest, double bal)
{
	cJSON *row = cJSON_CreateObject();

	if (!calc__add_nums(row,
		    (const struct calc_num[]){{"period", (double)period}, {"payment", payment},
			    {"principal", principal}, {"interest", interest}, {"balance", bal},
			    {NULL, 0}}) ||
		!(name ? cJSON_AddItemToObject(dst, name, row) : cJSON_AddItemToArray(dst, row))) {
		cJSON_Delete(row);
		return false;
	}
	return true;
}

/* The term as a whole number *n of payments: "years" or "months" (one of them), at m a year. */
static bool loan_periods(struct calc_in *in, double m, size_t *n)
{
	double years = 0, months = 0, periods;
	bool has_years, has_months;

	if (!calc__get_number(in, "years", CALC_B_POSITIVE, &years, &has_years) ||
		!calc__get_number(in, "months", CALC_B_POSITIVE, &months, &has_months))
		return false;
	if (has_years == has_months)
		return calc__bad(in, "give the term as \"years\" or \"months\" (one of them)");
	periods = has_years ? years * m : months * m / 12;
	if (fabs(periods - round(periods)) > 1e-6 || round(periods) < 1)
		return calc__bad(
			in, "the term must be a whole number of payments (it is %g)", periods);
	if (periods > CALC_MAX_FLOWS)
		return calc__bad(in, "the term has more than %d payments", CALC_MAX_FLOWS);
	*n = (size_t)round(periods);
	return true;
}

/* Adds the schedule (its first 12 rows) and last_row; returns the total paid, or -1. */
static double add_schedule(cJSON *obj, double p, double i, double a, size_t n)
{
	cJSON *rows = cJSON_AddArrayToObject(obj, "schedule");
	double bal = p, interest, princ, pay, paid = 0;
	size_t k;

	for (k = 1; rows && k <= n; k++) {
		interest = bal * i;
		princ = k < n ? a - interest : bal; /* the last payment clears the balance */
		pay = princ + interest;
		bal = k < n ? bal - princ : 0;
		paid += pay;
		if ((k <= 12 && !add_row(rows, NULL, k, pay, princ, interest, bal)) ||
			(k == n && !add_row(obj, "last_row", k, pay, princ, interest, bal)))
			return -1;
	}
	return rows ? paid : -1;
}

/*
 * loan_amortization: a loan repaid in equal payments.
 *
 *   i = annual_rate / m,  N = years * m (or months * m / 12),
 *   payment A = P i / (1 - (1 + i)^-N)        (A = P / N when i = 0)
 *
 * P = "principal" (> 0), "annual_rate" a fraction (>= 0), m =
 * "payments_per_year" (whole, 1..365, default 12). Each period pays the
 * interest B i on the balance B and the rest of A off it. Reports A,
 * total_paid, total_interest, the first 12 rows of the schedule and the last.
 */
enum rtg_err calc__loan_amortization(const cJSON *params, cJSON **result, char *err, size_t errlen)
{
	struct calc_in in = {params, err, errlen, RTG_OK};
	double p, rate, m = 12, i, a, paid;
	cJSON *obj = NULL;
	bool has_m, ok = false;
	size_t n = 0;

	if (calc__start(&in, result) &&
		calc__get_number(&in, "principal", CALC_B_POSITIVE, &p, NULL) &&
		calc__get_number(&in, "annual_rate", CALC_B_NON_NEGATIVE, &rate, NULL) &&
		calc__get_number(&in, "payments_per_year", CALC_B_COUNT, &m, &has_m) &&
		(m >= 1 && m <= 365 ? true
				    : calc__bad(&in, "\"payments_per_year\" must be 1..365")) &&
		loan_periods(&in, m, &n)) {
		i = rate / m;
		a = i > 0 ? p * i / (1 - pow(1 + i, -(double)n)) : p / (double)n;
		obj = cJSON_CreateObject();
		paid = add_schedule(obj, p, i, a, n);
		ok = paid >= 0 &&
			calc__add_nums(obj,
				(const struct calc_num[]){{"payment", a}, {"periods", (double)n},
					{"period_rate", i}, {"total_paid", paid},
					{"total_interest", paid - p}, {NULL, 0}});
	}
	return calc__finish(&in, obj, ok, result);
}

/* ==== The calculation types =================================================================== */

static const struct calc_kind KINDS[] = {
	{"npv", calc__npv,
		{"Validating cash flows", "Discounting cash flows", "Summing present values"}},
	{"irr", calc__irr, {"Validating cash flows", "Bracketing the rate", "Refining the rate"}},
	{"roi", calc__roi, {"Validating values", "Computing the return", "Annualizing"}},
	{"payback_period", calc__payback_period,
		{"Validating cash flows", "Accumulating cash flows", "Interpolating the payback"}},
	{"loan_amortization", calc__loan_amortization,
		{"Validating loan terms", "Computing the payment", "Building the schedule"}},
	{"credit_score", calc__credit_score,
		{"Validating credit data", "Scoring factors", "Writing recommendations"}},
};

const struct calc_kind *calc__find(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
		if (!strcmp(KINDS[i].name, name))
			return &KINDS[i];
	}
	return NULL;
}

const char *calc__names(void)
{
	return "npv, irr, roi, payback_period, loan_amortization, credit_score";
}
