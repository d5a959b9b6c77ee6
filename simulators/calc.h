/*
 * calc.h - the financial calculations the calc worker runs: npv, irr, roi,
 * payback_period, loan_amortization and credit_score.
 *
 * Pure functions of a cJSON "parameters" object: no MQTT, no I/O, no state,
 * so they are safe from any thread and unit-tested on their own. Each one
 * validates its parameters and either returns a new result object or says in
 * one sentence what is wrong. The formulas are documented where they are
 * computed: calc.c (cash flows, loans) and calc_credit.c (credit score).
 */
#ifndef CALC_H
#define CALC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rtg_err.h"

/** Most cash flows (or loan periods) one calculation accepts, to bound its work. */
#define CALC_MAX_FLOWS 10000
/** Progress steps a worker reports between "started" and "completed". */
#define CALC_STEPS 3

/**
 * One calculation.
 * @param params the request's "parameters" object (borrowed; NULL or a
 *        non-object is an error)
 * @param result set to a new object on RTG_OK, else NULL; the caller frees it
 *        with cJSON_Delete()
 * @param err receives a one-sentence reason on error ("\"discount_rate\" must be
 *        greater than -1"); may be NULL when @p errlen is 0
 * @return RTG_OK, RTG_ERR_INVAL (invalid parameters, or no answer exists, such
 *         as an IRR without a sign change), RTG_ERR_NOMEM
 */
typedef enum rtg_err (*calc_fn)(const cJSON *params, cJSON **result, char *err, size_t errlen);

/** The calculations, each a calc_fn; the parameters each reads are in its comment in the .c. */
enum rtg_err calc__npv(const cJSON *params, cJSON **result, char *err, size_t errlen);
enum rtg_err calc__irr(const cJSON *params, cJSON **result, char *err, size_t errlen);
enum rtg_err calc__roi(const cJSON *params, cJSON **result, char *err, size_t errlen);
enum rtg_err calc__payback_period(const cJSON *params, cJSON **result, char *err, size_t errlen);
enum rtg_err calc__loan_amortization(const cJSON *params, cJSON **result, char *err, size_t errlen);
enum rtg_err calc__credit_score(const cJSON *params, cJSON **result, char *err, size_t errlen);

/* A calculation_type: its name, its function, and what a worker says while it runs. */
struct calc_kind {
	const char *name;
	calc_fn run;
	const char *steps[CALC_STEPS]; /* messages at 25, 50 and 75 % */
};

/**
 * Looks up a calculation_type by name (case-sensitive).
 * @return a static entry, or NULL for an unknown name or NULL
 */
const struct calc_kind *calc__find(const char *name);

/** The known calculation_type names as one static string, "npv, irr, ...", for messages. */
const char *calc__names(void);

#endif /* CALC_H */
